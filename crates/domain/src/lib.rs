//! The domain core of mashangban (马上办): the request lifecycle, the
//! organisation and its access rules, and input validation. No I/O: every
//! function here is pure, so the rules can be tested exhaustively and shared
//! by every storage backend and the web layer.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod calendar;
pub mod command;
pub mod command_reports;
pub mod compensation;
pub mod creek;
pub mod dashboard;
pub mod direct_line;
pub mod dispatch;
pub mod document;
pub mod duplicates;
pub mod enforcement;
pub mod enterprise;
pub mod environment;
pub mod error;
pub mod event;
pub mod expr;
pub mod fund;
pub mod inbox;
pub mod knowledge;
pub mod labelled;
pub mod ledger;
pub mod liaison;
pub mod lifecycle;
pub mod money;
pub mod monitoring;
pub mod notify;
pub mod onsite;
pub mod org;
pub mod password_reset;
pub mod personal_data;
pub mod request;
pub mod saved_view;
pub mod scoring;
pub mod screening;
pub mod statistics;
pub mod time;
pub mod time_limit;
pub mod unit_work;
pub mod validation;
pub mod visit;

pub use error::{DomainError, ErrorKind};
