//! A JSON body extractor whose every rejection is an [`ApiError`] with its own code.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like `axum::Json`, but bad input answers with our error codes:
/// `unsupported_media_type`, `payload_too_large`, `malformed_json`,
/// `unknown_field`, `invalid_field`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| payload_too_large())?;
        parse_json(&bytes).map(JsonBody)
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

/// Parses JSON with error codes that tell malformed JSON from wrong fields.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.is_empty() { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request("malformed_json", format!("JSON 格式错误（第{}行第{}列）", e.line(), e.column()))
            }
            Category::Data => {
                let text = e.to_string();
                if text.starts_with("unknown field") {
                    let field = text.split('`').nth(1).unwrap_or("?");
                    ApiError::bad_request("unknown_field", format!("不认识的字段「{field}」"))
                } else {
                    ApiError::invalid("invalid_field", format!("字段内容不正确：{}", translate_serde(&text)))
                }
            }
        }
    })
}

/// Turns serde's English into a short Chinese hint, keeping the field name.
fn translate_serde(text: &str) -> String {
    let field = text.split('`').nth(1).unwrap_or("");
    let text = text.split(" at line").next().unwrap_or(text);
    if text.starts_with("missing field") {
        format!("缺少必填字段「{field}」")
    } else if text.starts_with("unknown variant") {
        format!("「{field}」不是可选的取值")
    } else if text.starts_with("invalid type") {
        format!("字段类型不正确（{text}）")
    } else {
        text.to_owned()
    }
}

/// The raw bytes of a JSON body that may be empty (actions without fields).
/// A non-empty body must be declared JSON.
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = declares_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|_| payload_too_large())?;
        if !bytes.is_empty() && !declared_json {
            return Err(not_json());
        }
        Ok(Self(bytes))
    }
}
