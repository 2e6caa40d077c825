//! JSON body extractors whose every rejection is an [`ApiError`] with its own
//! code: `unsupported_media_type`, `payload_too_large`, `body_incomplete`, and the codes of
//! [`mashangban_app::json::parse_json`] (`malformed_json`, `unknown_field`,
//! `invalid_field`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use mashangban_app::json::parse_json;

use crate::error::ApiError;

/// Like `axum::Json`, but bad input answers with our error codes.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(unread_body)?;
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

/// Whether the body is declared `application/json` (parameters allowed).
fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "请求体必须是 JSON（Content-Type: application/json）",
    )
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "请求体过大")
}

/// The refusal of a body that could not be read: `payload_too_large` over the route's limit,
/// `body_incomplete` when it did not arrive whole (the client hung up, a broken chunked encoding).
pub fn unread_body(rejection: BytesRejection) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => payload_too_large(),
        _ => {
            ApiError::new(StatusCode::BAD_REQUEST, "body_incomplete", "请求体没有完整收到（连接可能中断），请重新发送")
        }
    }
}

/// The raw bytes of a JSON body that may be empty (actions without fields).
/// A non-empty body must be declared JSON.
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = declares_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(unread_body)?;
        if !bytes.is_empty() && !declared_json {
            return Err(not_json());
        }
        Ok(Self(bytes))
    }
}
