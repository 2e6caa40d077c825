//! Extractors whose every rejection is ours instead of axum's plain-text
//! answer: [`Path`] and [`Query`] answer the API's JSON error (`{code,
//! message}`), [`PagePath`] and [`PageQuery`] the same refusals as a Chinese
//! error page; [`Form`] answers a Chinese error page and refuses control
//! characters in the decoded fields, as JSON bodies and URIs do. A form body
//! over its limit is `413`; one that does not arrive whole is `400`.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, RawFormRejection};
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
        let RawForm(bytes) = RawForm::from_request(req, state).await.map_err(|rejection| match rejection {
            RawFormRejection::BytesRejection(BytesRejection::FailedToBufferBody(
                FailedToBufferBody::LengthLimitError(_),
            )) => unread_body(true),
            RawFormRejection::BytesRejection(_) => unread_body(false),
            _ => PageError::Status(rejection.status(), "提交的内容不是表单，请从页面上提交".into()),
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

/// Reads a form body of at most `limit` bytes, refused as [`Form`] refuses a body it cannot read.
pub async fn read_form_body(body: Body, limit: usize) -> Result<Bytes, PageError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| unread_body(over_limit(&e)))
}

/// The refusal of a form body that could not be read: `413` when it is over the limit, `400` when
/// it did not arrive whole (the connection cut it short, a broken chunked encoding).
fn unread_body(over_limit: bool) -> PageError {
    if over_limit {
        PageError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "提交的内容过长，超出了页面能接收的大小，请删减后重新提交".into(),
        )
    } else {
        PageError::Status(StatusCode::BAD_REQUEST, "提交的内容没有完整收到（连接可能中断），请重新提交".into())
    }
}

/// Whether [`axum::body::to_bytes`] failed on its length limit: `http_body_util::Limited`'s error
/// is in the chain of sources. (Extractors' rejections say so by their variant instead: in theirs
/// the error is boxed once more, hiding its type.)
fn over_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(|e| e.is::<http_body_util::LengthLimitError>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    fn status(refusal: PageError) -> StatusCode {
        match refusal {
            PageError::Status(status, _) => status,
            PageError::SignIn => StatusCode::UNAUTHORIZED,
        }
    }

    /// A body whose stream fails after `first` (as hyper's does when the client hangs up).
    fn cut_short(first: &'static [u8]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(first)),
            Err(std::io::Error::other("connection closed before message completed")),
        ];
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn only_a_body_over_the_limit_is_too_large_and_one_cut_short_is_a_bad_request() {
        assert_eq!(read_form_body(Body::from("a=1"), 3).await.ok(), Some(Bytes::from_static(b"a=1")));
        assert_eq!(
            read_form_body(Body::from("a=12"), 3).await.map_err(status).err(),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(read_form_body(cut_short(b"a="), 100).await.map_err(status).err(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            read_form_body(cut_short(b"a=1234"), 3).await.map_err(status).err(),
            Some(StatusCode::PAYLOAD_TOO_LARGE),
            "over the limit before the stream fails"
        );
    }

    #[tokio::test]
    async fn the_form_extractor_tells_a_long_body_from_one_cut_short_and_from_one_that_is_no_form() {
        let post = |body: Body, content_type: &str| {
            Request::builder().method("POST").uri("/").header("content-type", content_type).body(body).unwrap()
        };
        let form = "application/x-www-form-urlencoded";
        let refused =
            |req: Request| async move { Form::<Vec<(String, String)>>::from_request(req, &()).await.err().map(status) };
        // What the route's body limit makes of the body (axum wraps it in `Limited`).
        let long = Body::new(http_body_util::Limited::new(Body::from("a=12345"), 3));
        assert_eq!(refused(post(Body::from("a=1"), form)).await, None);
        assert_eq!(refused(post(long, form)).await, Some(StatusCode::PAYLOAD_TOO_LARGE));
        assert_eq!(refused(post(cut_short(b"a="), form)).await, Some(StatusCode::BAD_REQUEST));
        assert_eq!(refused(post(Body::from("a=1"), "text/plain")).await, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
