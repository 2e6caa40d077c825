//! Extractors whose every rejection is ours instead of axum's plain-text
//! answer: [`Path`] and [`Query`] answer the API's JSON error (`{code,
//! message}`), [`PagePath`] and [`PageQuery`] the same refusals as a Chinese
//! error page; [`Form`] answers a Chinese error page and refuses control
//! characters in the decoded fields, as JSON bodies and URIs do.

use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use mashangban_app::json::is_refused_control;

use crate::error::ApiError;
use crate::pages::PageError;

/// Like `axum::extract::Path`: a segment that is not UTF-8 once decoded (or
/// does not parse) answers 400 `invalid_path`.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path(parts, state).await.map(Self).map_err(|(code, message)| ApiError::bad_request(code, message))
    }
}

/// Like `axum::extract::Query`: a parameter given twice answers 400
/// `duplicate_parameter` (it would otherwise be read as one of the two,
/// silently); one that does not parse answers 400 `invalid_query`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        query(parts, state).await.map(Self).map_err(|(code, message)| ApiError::bad_request(code, message))
    }
}

/// [`Path`] for the pages: the same refusals as a Chinese error page.
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path(parts, state).await.map(Self).map_err(|(_, message)| PageError::Status(StatusCode::BAD_REQUEST, message))
    }
}

/// [`Query`] for the pages: the same refusals as a Chinese error page.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        query(parts, state).await.map(Self).map_err(|(_, message)| PageError::Status(StatusCode::BAD_REQUEST, message))
    }
}

/// A refusal's stable code and Chinese message.
type Refusal = (&'static str, String);

async fn path<S: Send + Sync, T: DeserializeOwned + Send>(parts: &mut Parts, state: &S) -> Result<T, Refusal> {
    match axum::extract::Path::<T>::from_request_parts(parts, state).await {
        Ok(axum::extract::Path(value)) => Ok(value),
        Err(_) => Err(("invalid_path", "地址中有无法识别的内容（须为 UTF-8 编码的文字）".into())),
    }
}

async fn query<S: Send + Sync, T: DeserializeOwned + Send>(parts: &mut Parts, state: &S) -> Result<T, Refusal> {
    if let Some(name) = repeated_name(parts.uri.query().unwrap_or_default().as_bytes()) {
        return Err(("duplicate_parameter", format!("查询参数「{name}」出现了不止一次")));
    }
    match axum::extract::Query::<T>::from_request_parts(parts, state).await {
        Ok(axum::extract::Query(value)) => Ok(value),
        Err(_) => Err(("invalid_query", "查询参数不正确（名称或取值无法识别）".into())),
    }
}

/// The decoded `name=value` pairs of a query or form body (`+` is a space).
fn pairs(bytes: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    let decode = |part: &[u8]| {
        let spaced: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
        percent_encoding::percent_decode(&spaced).decode_utf8_lossy().into_owned()
    };
    bytes.split(|b| *b == b'&').filter(|pair| !pair.is_empty()).map(move |pair| {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = decode(halves.next().unwrap_or_default());
        let value = decode(halves.next().unwrap_or_default());
        (name, value)
    })
}

/// Whether every name and value of a form body is UTF-8 once percent-decoded
/// (a lossy decoding would silently put U+FFFD in what is stored).
fn decodes_as_utf8(bytes: &[u8]) -> bool {
    bytes.split(|b| *b == b'&' || *b == b'=').all(|part| {
        let decoded: std::borrow::Cow<'_, [u8]> = percent_encoding::percent_decode(part).into();
        std::str::from_utf8(&decoded).is_ok()
    })
}

/// The first parameter name given more than once, if any.
fn repeated_name(query: &[u8]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    pairs(query).map(|(name, _)| name).find(|name| !seen.insert(name.clone()))
}

/// The largest HTML form body a page takes (unless its route sets another):
/// room for every text field well past its limit in characters (a Chinese
/// character is 9 bytes percent-encoded), so what refuses an over-long text
/// is the field's own check — a Chinese message beside the form with what
/// was typed kept — and not the byte limit.
pub const FORM_LIMIT: usize = 512 * 1024;

/// Like `axum::Form` for the pages: a body that is not a form, is larger
/// than the route's limit, is not UTF-8 once decoded, has a field holding a
/// control character (other than line breaks and tabs) or does not fit the
/// form answers a Chinese error page.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawForm(bytes) = RawForm::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            match status {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    PageError::Status(status, "提交的内容过长，超出了页面能接收的大小，请删减后重新提交".into())
                }
                _ => PageError::Status(status, "提交的内容不是表单，请从页面上提交".into()),
            }
        })?;
        if !decodes_as_utf8(&bytes) {
            return Err(PageError::Status(
                StatusCode::BAD_REQUEST,
                "提交的内容中有无法识别的文字（须为 UTF-8 编码），请从页面上重新提交".into(),
            ));
        }
        if pairs(&bytes).any(|(name, value)| name.chars().chain(value.chars()).any(is_refused_control)) {
            return Err(PageError::Status(
                StatusCode::BAD_REQUEST,
                "输入中含有不允许的控制字符（如 NUL），请删除后重新提交".into(),
            ));
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            PageError::Status(StatusCode::BAD_REQUEST, "表单内容不完整或格式不正确，请返回重新填写".into())
        })?;
        Ok(Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_and_repeats_found() {
        let got: Vec<_> = pairs(b"a=1+2&b=%E4%B8%AD&&c").collect();
        assert_eq!(got, [("a".into(), "1 2".into()), ("b".into(), "中".into()), ("c".into(), String::new())]);
        assert_eq!(repeated_name(b"code=1&no=2&code=3"), Some("code".into()));
        assert_eq!(repeated_name(b"c%6Fde=1&code=3"), Some("code".into()), "decoded before comparing");
        assert_eq!(repeated_name(b"a=1&b=2"), None);
    }

    #[test]
    fn bodies_that_are_not_utf8_once_decoded_are_found() {
        assert!(decodes_as_utf8(b"a=%E4%B8%AD&b=x+y&&c"));
        assert!(!decodes_as_utf8(b"a=%FF"));
        assert!(!decodes_as_utf8(b"%E4%B8=1"), "a cut character");
        assert!(!decodes_as_utf8(&[b'a', b'=', 0xE4]), "raw bytes too");
    }
}
