//! Attachments of a request: uploaded as multipart (the type sniffed from
//! the bytes), listed, and always served as a download.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use mashangban_app::views::AttachmentView;
use mashangban_app::{App, Settings};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::routes::Route;
use crate::upload::{attachment_too_large, malformed_multipart, read_files};

pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    vec![
        Route::post("/api/v1/requests/{no}/attachments", upload::<S>)
            .doc("attachments", "上传附件（multipart，字段 file）")
            .multipart()
            .answer::<Vec<AttachmentView>>()
            .created()
            .errors(&[
                "request_not_found",
                "unsupported_file_type",
                "empty_file",
                "too_many_attachments",
                "malformed_multipart",
                "no_file",
                "payload_too_large",
            ])
            .body_limit(upload_limit(settings)),
        Route::get("/api/v1/requests/{no}/attachments", list::<S>)
            .doc("attachments", "附件列表")
            .answer::<Vec<AttachmentView>>()
            .errors(&["request_not_found"]),
        Route::get("/api/v1/requests/{no}/attachments/{id}", download::<S>)
            .doc("attachments", "下载附件（始终作为附件下载）")
            .errors(&["request_not_found", "attachment_not_found"]),
    ]
}

/// The body limit of an upload: one attachment and the form's overhead.
pub fn upload_limit(settings: &Settings) -> usize {
    settings.max_attachment_bytes + 64 * 1024
}

/// `POST /api/v1/requests/{no}/attachments` (multipart field `file`, repeatable).
async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Vec<AttachmentView>>)> {
    let multipart = multipart.map_err(|_| malformed_multipart())?;
    let files = read_files(multipart, &attachment_too_large(app.settings().max_attachment_bytes)).await?;
    Ok((StatusCode::CREATED, Json(app.requests().add_files(&caller, &no, files).await?)))
}

/// `GET /api/v1/requests/{no}/attachments`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Vec<AttachmentView>>> {
    Ok(Json(app.requests().attachments(&caller, &no).await?))
}

/// `GET /api/v1/requests/{no}/attachments/{id}`: always a download, never
/// rendered inline, with sniffing off and a sandboxing CSP.
async fn download<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((no, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let file = app.requests().download(&caller, &no, &id).await?;
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    let content_type =
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    let disposition = format!(
        "attachment; filename=\"attachment-{}\"; filename*=UTF-8''{}",
        file.id,
        percent_encode(&file.file_name)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}

/// RFC 5987 encoding for the UTF-8 file name.
pub fn percent_encode(s: &str) -> String {
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
