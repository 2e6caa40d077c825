//! Files to save (下载): an answer with its content type and a file name in
//! UTF-8 (RFC 6266 `filename*`), with an ASCII fallback for old clients.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::api::percent_encode;

/// The content type of an Excel workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `body` as a file named `name` (`ascii` where UTF-8 names are not understood).
pub fn file(body: impl Into<Body>, content_type: &'static str, name: &str, ascii: &str) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", percent_encode(name));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A PDF document as a file named `name`.
pub fn pdf(bytes: Vec<u8>, name: &str, ascii: &str) -> Response {
    file(bytes, "application/pdf", name, ascii)
}

/// A workbook as a file named `name`.
pub fn xlsx(bytes: Vec<u8>, name: &str, ascii: &str) -> Response {
    file(bytes, XLSX_TYPE, name, ascii)
}
