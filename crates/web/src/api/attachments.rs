//! Attachments: uploaded as multipart, content-type sniffed from the bytes
//! against an allow-list, stored in the database, always served as a download.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use mashangban_domain::org::{Actor, Scope};
use mashangban_store::{NewAttachment, Store, Upload};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::json::payload_too_large;
use crate::state::AppState;
use crate::views::{self, AttachmentView};

/// Files we accept, by sniffed type: pictures, documents, recordings of calls, video.
const ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/heif",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/x-ole-storage",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
    "audio/mpeg",
    "audio/amr",
    "audio/x-wav",
    "audio/m4a",
    "audio/aac",
    "video/mp4",
    "video/quicktime",
];

/// The content type of a file from its bytes, if it is one we accept.
/// Plain UTF-8 text is accepted as `text/plain` unless it looks like markup.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if let Some(kind) = infer::get(bytes) {
        return ALLOWED_TYPES.iter().copied().find(|t| *t == kind.mime_type());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let head = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    let markup = head.starts_with('<') || head.contains("<script") || head.contains("<html") || head.contains("<svg");
    let control = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!markup && !control && !text.is_empty()).then_some("text/plain; charset=utf-8")
}

/// A file name safe to store and to send back: no paths, no control characters.
pub(crate) fn clean_file_name(name: Option<&str>) -> String {
    let base = name.unwrap_or("附件").rsplit(['/', '\\']).next().unwrap_or("附件");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(100).collect();
    if cleaned.trim().is_empty() { "附件".into() } else { cleaned.trim().to_owned() }
}

/// Saves every `file` field of a multipart body to the request.
pub async fn store_files<S: Store>(
    state: &AppState<S>,
    tracking_no: &str,
    scope: Scope,
    actor: Actor,
    auth: &Auth,
    mut multipart: Multipart,
) -> ApiResult<Vec<AttachmentView>> {
    let mut saved = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(state)),
            Err(_) => {
                return Err(ApiError::bad_request(
                    "malformed_multipart",
                    "上传内容格式错误（应为 multipart/form-data）",
                ));
            }
        };
        if field.name() != Some("file") {
            return Err(ApiError::bad_request("unknown_field", "上传的文件字段名应为「file」"));
        }
        let file_name = clean_file_name(field.file_name());
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(state)),
            Err(_) => return Err(ApiError::bad_request("malformed_multipart", "上传内容格式错误")),
        };
        if bytes.is_empty() {
            return Err(ApiError::invalid("empty_file", format!("文件「{file_name}」是空的")));
        }
        if bytes.len() > state.config.max_attachment_bytes {
            return Err(too_large(state));
        }
        let content_type = sniff(&bytes).ok_or_else(|| {
            ApiError::invalid(
                "unsupported_file_type",
                format!("不支持的文件类型：「{file_name}」。可上传图片、PDF、Office 文档、录音、视频或纯文本"),
            )
        })?;
        let upload = Upload {
            tracking_no: tracking_no.to_owned(),
            scope: scope.clone(),
            actor: actor.clone(),
            file: NewAttachment {
                file_name,
                content_type: content_type.to_owned(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.to_vec(),
            },
            meta: mashangban_store::Meta { now: state.now(), client_ip: auth.client_ip.clone() },
        };
        saved.push(views::attachment_view(&state.store.add_attachment(upload).await?));
        state.live.publish(tracking_no);
    }
    if saved.is_empty() {
        return Err(ApiError::bad_request("no_file", "没有收到文件（字段名「file」）"));
    }
    Ok(saved)
}

fn too_large<S>(state: &AppState<S>) -> ApiError {
    payload_too_large().with_message(format!("单个附件不能超过 {} MB", state.config.max_attachment_bytes / 1024 / 1024))
}

/// `POST /api/v1/requests/{no}/attachments` (multipart field `file`, repeatable).
pub async fn upload<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Vec<AttachmentView>>)> {
    let actor = auth.require_login()?.clone();
    let saved = store_files(&state, &no, actor.scope(), actor, &auth, multipart).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `GET /api/v1/requests/{no}/attachments`.
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Vec<AttachmentView>>> {
    let actor = auth.require_login()?;
    let request = state.store.find(&no, &actor.scope()).await?.ok_or_else(ApiError::request_not_found)?;
    let all = state.store.attachments(request.id).await?;
    Ok(Json(all.iter().map(views::attachment_view).collect()))
}

/// `GET /api/v1/requests/{no}/attachments/{id}`: always a download, never
/// rendered inline, with sniffing off and a sandboxing CSP.
pub async fn download<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((no, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = auth.require_login()?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found().with_code("attachment_not_found"))?;
    let request = state.store.find(&no, &actor.scope()).await?.ok_or_else(ApiError::request_not_found)?;
    let (meta, bytes) = state
        .store
        .attachment_content(request.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found().with_code("attachment_not_found").with_message("附件不存在"))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let content_type =
        HeaderValue::from_str(&meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    let disposition =
        format!("attachment; filename=\"attachment-{id}\"; filename*=UTF-8''{}", percent_encode(&meta.file_name));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}

/// RFC 5987 encoding for the UTF-8 file name.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_accepts_documents_and_refuses_markup_and_programs() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]), Some("image/png"));
        assert_eq!(sniff("情况说明：排污口位于小榄镇。".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"<html><script>alert(1)</script></html>"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00"), None);
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_file_name(Some("C:\\证明\\营业执照.pdf")), "营业执照.pdf");
        assert_eq!(clean_file_name(Some("a\u{0}b\"c.txt")), "abc.txt");
        assert_eq!(clean_file_name(None), "附件");
    }
}
