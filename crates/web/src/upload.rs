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
    multipart: Multipart,
    too_large: &str,
    texts: &[&'static str],
) -> Result<(Vec<NewFile>, BTreeMap<&'static str, String>), ApiError> {
    let mut parts = Parts::default();
    read_parts(multipart, too_large, &mut parts, named(texts, usize::MAX)).await?;
    Ok(parts.into_upload(texts))
}

/// How a part of a `multipart/form-data` body is read, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// A file of at most `max_bytes` (more is `413`, refused as the chunks arrive).
    File { max_bytes: usize },
    /// A text of at most `max_chars` characters (`400 field_too_long`).
    Text { max_chars: usize },
    /// Skipped unread.
    Skip,
    /// `400 unknown_field`.
    Refused,
}

/// The parts read: each file and each text with its part's name, in the order sent.
#[derive(Default)]
pub struct Parts {
    pub files: Vec<(String, NewFile)>,
    pub texts: Vec<(String, String)>,
}

impl Parts {
    /// The files (whatever their part's name) and the texts of `names`, the last one given winning.
    pub fn into_upload(self, names: &[&'static str]) -> (Vec<NewFile>, BTreeMap<&'static str, String>) {
        let mut values = BTreeMap::new();
        for (name, value) in self.texts {
            if let Some(known) = names.iter().copied().find(|n| *n == name) {
                values.insert(known, value);
            }
        }
        (self.files.into_iter().map(|(_, file)| file).collect(), values)
    }
}

/// The kinds of an upload's parts: `file` files of at most `max_bytes`, the texts `texts` of at
/// most 200 characters, nothing else.
pub fn named<'t>(texts: &'t [&'static str], max_bytes: usize) -> impl Fn(&str) -> PartKind + 't {
    move |name| match name {
        "file" => PartKind::File { max_bytes },
        _ if texts.contains(&name) => PartKind::Text { max_chars: 200 },
        _ => PartKind::Refused,
    }
}

/// Reads the parts of a body into `parts`, each as `kind` of its name says; `too_large` is the
/// message when the body limit (or a file's bound) is hit. On a refusal `parts` holds what was
/// read before it (a page shows the typed values again).
pub async fn read_parts(
    mut multipart: Multipart,
    too_large: &str,
    parts: &mut Parts,
    kind: impl Fn(&str) -> PartKind,
) -> Result<(), ApiError> {
    let refuse = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            payload_too_large().with_message(too_large)
        } else {
            malformed_multipart()
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(refuse)? {
        let name = field.name().unwrap_or_default().to_owned();
        match kind(&name) {
            PartKind::Skip => {}
            PartKind::Refused => {
                return Err(ApiError::bad_request("unknown_field", "上传的文件字段名应为「file」"));
            }
            PartKind::Text { max_chars } => {
                let value = field.text().await.map_err(refuse)?;
                if value.chars().count() > max_chars {
                    return Err(ApiError::bad_request("field_too_long", format!("「{name}」过长")));
                }
                parts.texts.push((name, value));
            }
            PartKind::File { max_bytes } => {
                let file_name = field.file_name().map(str::to_owned);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(refuse)? {
                    if bytes.len().saturating_add(chunk.len()) > max_bytes {
                        return Err(payload_too_large().with_message(too_large));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                parts.files.push((name, NewFile { name: file_name, bytes }));
            }
        }
    }
    Ok(())
}

pub fn malformed_multipart() -> ApiError {
    ApiError::bad_request("malformed_multipart", "上传内容格式错误（应为 multipart/form-data）")
}

/// The message for an attachment over the size limit.
pub fn attachment_too_large(max_bytes: usize) -> String {
    format!("单个附件不能超过 {} MB", max_bytes / 1024 / 1024)
}
