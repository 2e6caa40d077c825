//! API errors: an HTTP status and `{"code", "message", "current"?}` with a
//! stable code and a plain-Chinese message. A use case's [`AppError`] maps
//! here by its kind; the few errors only HTTP knows (415, 405) are made here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use mashangban_app::{AppError, CurrentState, ErrorKind};
use mashangban_domain::DomainError;
use mashangban_store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// What the client needs to recover, e.g. the request's current state after a 409.
    pub current: Option<Box<CurrentState>>,
}

/// The body of every error answer.
#[derive(Serialize, JsonSchema)]
pub struct ErrorBody<'a> {
    /// A stable code clients may match on.
    pub code: &'a str,
    /// What went wrong, in Chinese.
    pub message: &'a str,
    /// After a refused action (409): the request's state now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<&'a CurrentState>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), current: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated() -> Self {
        AppError::unauthenticated().into()
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::forbidden(message).into()
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "请求的地址不存在")
    }

    pub fn internal() -> Self {
        AppError::internal().into()
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// The HTTP status of each kind of refusal.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self { status: status_of(e.kind), code: e.code, message: e.message, current: e.current }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code, message: &self.message, current: self.current.as_deref() };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
