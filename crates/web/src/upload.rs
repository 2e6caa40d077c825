//! Reading the files of a `multipart/form-data` body (field `file`,
//! repeatable), bounded by the route's body limit. What a file may be is the
//! use case's business (`app.requests()` checks size and type).

use std::collections::BTreeMap;

use axum::extract::Multipart;
use axum::http::StatusCode;

use mashangban_app::requests::NewFile;

use crate::error::ApiError;
use crate::json::payload_too_large;

/// Every `file` field; `too_large` is the message when the body limit is hit.
pub async fn read_files(multipart: Multipart, too_large: &str) -> Result<Vec<NewFile>, ApiError> {
    Ok(read_upload(multipart, too_large, &[]).await?.0)
}

/// Every `file` field and the text fields named in `texts` (each at most 200 characters, the
/// last one given wins); any other field is `400 unknown_field`.
pub async fn read_upload(
    mut multipart: Multipart,
    too_large: &str,
    texts: &[&'static str],
) -> Result<(Vec<NewFile>, BTreeMap<&'static str, String>), ApiError> {
    let mut files = Vec::new();
    let mut values = BTreeMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok((files, values)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(payload_too_large().with_message(too_large));
            }
            Err(_) => return Err(malformed_multipart()),
        };
        if let Some(text) = texts.iter().copied().find(|t| field.name() == Some(*t)) {
            match field.text().await {
                Ok(value) if value.chars().count() <= 200 => values.insert(text, value),
                Ok(_) => return Err(ApiError::bad_request("field_too_long", format!("「{text}」过长"))),
                Err(_) => return Err(malformed_multipart()),
            };
            continue;
        }
        if field.name() != Some("file") {
            return Err(ApiError::bad_request("unknown_field", "上传的文件字段名应为「file」"));
        }
        let name = field.file_name().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(payload_too_large().with_message(too_large));
            }
            Err(_) => return Err(ApiError::bad_request("malformed_multipart", "上传内容格式错误")),
        };
        files.push(NewFile { name, bytes: bytes.to_vec() });
    }
}

pub fn malformed_multipart() -> ApiError {
    ApiError::bad_request("malformed_multipart", "上传内容格式错误（应为 multipart/form-data）")
}

/// The message for an attachment over the size limit.
pub fn attachment_too_large(max_bytes: usize) -> String {
    format!("单个附件不能超过 {} MB", max_bytes / 1024 / 1024)
}
