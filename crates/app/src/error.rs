//! Errors of the use cases: a kind (the web layer turns it into an HTTP
//! status), a stable machine-readable `code`, a plain-Chinese `message` and,
//! for a refused action, the request's `current` state. Nothing here leaks
//! internals: storage failures are logged and become `internal_error`.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::DomainError;
use mashangban_domain::request::Request;
use mashangban_domain::time::format_instant;
use mashangban_store::StoreError;

/// What kind of failure an [`AppError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A well-formed input that fails validation (HTTP 422).
    Invalid,
    /// Malformed input: bad parameters, malformed JSON, unknown fields (HTTP 400).
    BadRequest,
    /// Not signed in, or an invalid credential (HTTP 401).
    Unauthenticated,
    /// The caller may not do this (HTTP 403).
    Forbidden,
    /// Absent, or out of the caller's scope (HTTP 404).
    NotFound,
    /// Not allowed in the current state, or changed meanwhile (HTTP 409).
    Conflict,
    /// Too large (HTTP 413).
    TooLarge,
    /// Too many attempts (HTTP 429).
    RateLimited,
    /// Our fault (HTTP 500).
    Internal,
}

/// The state of a request after a refused action (409), so a client can show
/// what changed meanwhile without a second call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CurrentState {
    pub tracking_no: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub version: i64,
    pub updated_at: String,
}

impl CurrentState {
    pub fn of(r: &Request) -> Self {
        Self {
            tracking_no: r.tracking_no.clone(),
            state: r.state.as_str(),
            state_label: r.state.label(),
            version: r.version,
            updated_at: format_instant(&r.updated_at),
        }
    }
}

/// A refused or failed use case.
#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    /// What the client needs to recover, e.g. the request's state after a 409.
    pub current: Option<Box<CurrentState>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), current: None }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    /// `invalid_parameter`: a query parameter that cannot be read.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::bad_request("invalid_parameter", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", "请先登录")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "permission_denied", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    pub fn request_not_found() -> Self {
        StoreError::request_not_found().into()
    }

    /// `export_too_large` (422): more rows match than one export writes. Refused rather than
    /// cut short, so no one takes a partial list for the whole.
    pub fn export_too_large(matched: u64, max: u64) -> Self {
        Self::invalid(
            "export_too_large",
            format!("符合条件的共 {matched} 条，超过一次导出的上限 {max} 条，请缩小筛选范围后分批导出"),
        )
    }

    /// Refuses with [`Self::export_too_large`] when `matched` is over `max`.
    pub fn check_export_size(matched: u64, max: u64) -> AppResult<()> {
        if matched > max { Err(Self::export_too_large(matched, max)) } else { Ok(()) }
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, "payload_too_large", message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, "rate_limited", message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal_error", "服务器内部错误，请稍后再试")
    }

    /// Adds the request's current state (shown as `current`).
    pub fn with_current(mut self, current: CurrentState) -> Self {
        self.current = Some(Box::new(current));
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        use mashangban_domain::ErrorKind as Domain;
        let kind = match e.kind {
            Domain::Invalid => ErrorKind::Invalid,
            Domain::Forbidden => ErrorKind::Forbidden,
            Domain::NotFound => ErrorKind::NotFound,
            Domain::Conflict => ErrorKind::Conflict,
        };
        Self::new(kind, e.code, e.message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(e) => e.into(),
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "storage failure");
                Self::internal()
            }
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_export_at_its_cap_runs_and_one_row_more_is_refused() {
        assert!(AppError::check_export_size(200_000, 200_000).is_ok());
        let refused = AppError::check_export_size(200_001, 200_000).unwrap_err();
        assert_eq!((refused.kind, refused.code), (ErrorKind::Invalid, "export_too_large"));
        assert!(refused.message.contains("200001") && refused.message.contains("200000"), "{}", refused.message);
    }
}
