use std::fmt;

use mashangban_domain::DomainError;

/// A storage failure: either a refusal the domain or the data explains
/// (shown to the user), or a backend fault (logged, answered with 500).
#[derive(Debug, Clone)]
pub enum StoreError {
    Domain(DomainError),
    Backend(String),
}

impl StoreError {
    pub fn backend(e: impl fmt::Display) -> Self {
        Self::Backend(e.to_string())
    }

    pub fn request_not_found() -> Self {
        Self::Domain(DomainError::not_found("request_not_found", "诉求不存在或您无权查看"))
    }
}

impl From<DomainError> for StoreError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(e) => e.fmt(f),
            Self::Backend(e) => write!(f, "storage backend error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}
