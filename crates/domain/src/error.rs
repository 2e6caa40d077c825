//! Domain errors: a stable machine-readable code plus a message in plain Chinese.

use std::fmt;

/// What kind of failure this is; the web layer maps it to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is invalid (a field fails validation). HTTP 422.
    Invalid,
    /// The actor may not do this. HTTP 403.
    Forbidden,
    /// The thing does not exist or is out of the actor's scope. HTTP 404.
    NotFound,
    /// The action is not allowed in the current state, or the data changed meanwhile. HTTP 409.
    Conflict,
}

/// A refused operation. `code` is a stable identifier clients may match on;
/// `message` is for people and is written in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, code, message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Forbidden, code: "permission_denied", message: message.into() }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::NotFound, code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, code, message: message.into() }
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for DomainError {}
