//! The SQL layer both backends share: values, rows, connections and jobs.

mod conn;
mod row;
mod value;

pub use conn::{Args, BoxFuture, Conn, Database, Dialect, Job, job, sqlite_placeholders};
pub use row::{Cols, Row, bad};
pub use value::{FromValue, Value};
