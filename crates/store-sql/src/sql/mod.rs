//! The SQL layer both backends share: values, rows, connections and jobs.

mod conn;
mod filter;
mod row;
mod value;

pub use conn::{Args, BoxFuture, Conn, Database, Dialect, Job, job, sqlite_placeholders};
pub use filter::Filter;
pub use row::{Cols, Row, bad};
pub use value::{FromValue, Value};
