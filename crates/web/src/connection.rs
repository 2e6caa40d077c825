//! What becomes of a kept-alive connection (持久连接) after a request whose body the server did not read:
//! a refusal before the body (not signed in, no permission, a wrong content type, a control character in
//! the path, no route) or part way through it (over the route's limit, a bad multipart part).
//!
//! hyper reads on to the next request only when the body is read to its end. Left unread, hyper drains
//! what has already arrived and otherwise closes the connection after the answer — without saying so when
//! the answer's head was written first, so a client that pools connections sends its next request on a
//! socket about to close and sees it reset. RFC 9112 §9.6 asks a server that will close to say
//! `Connection: close` in its last answer, and §9.3 lets it keep the connection only once the message is
//! read whole. So, once for every route, after the answer is made:
//!
//! - the rest of a small body (at most [`DRAIN_LIMIT`] bytes left, arriving within [`DRAIN_TIME`]) is
//!   read and dropped, never kept, and the connection stays usable — cheaper for both sides than a new
//!   connection, and it avoids the reset a close with unread input causes (§9.6, "the TCP reset problem");
//! - anything else — a body refused as too large (413: never read in full), a longer or slower remainder, a
//!   client waiting on `Expect: 100-continue` — gets `Connection: close`, so the client knows the
//!   connection ends with this answer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// The most of an unread body's rest that is read (and dropped) to keep its connection.
pub const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long the rest of a body may take to arrive before the connection is given up instead.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The middleware: drains the small rest of a body the handler left, else answers `Connection: close`.
pub async fn keep_alive_or_close(request: Request, next: Next) -> Response {
    let http1 = matches!(request.version(), Version::HTTP_11 | Version::HTTP_10);
    if !http1 || request.body().is_end_stream() {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let (parts, body) = request.into_parts();
    let shared = Arc::new(Mutex::new(Shared { body: Some(body), read: 0 }));
    let request = Request::from_parts(parts, Body::new(SharedBody(Arc::clone(&shared))));
    let mut response = next.run(request).await;
    let (rest, read) = match shared.lock() {
        Ok(mut state) => (state.body.take(), state.read),
        Err(_) => (None, 0),
    };
    let Some(rest) = rest.filter(|b| !b.is_end_stream()) else { return response };
    let remaining = declared.map(|n| n.saturating_sub(read));
    let drainable = response.status() != StatusCode::PAYLOAD_TOO_LARGE
        && !(expects_continue && read == 0)
        && remaining.is_none_or(|r| r <= DRAIN_LIMIT);
    if !(drainable && drain(rest).await) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads `body` to its end and drops it, unless more than [`DRAIN_LIMIT`] bytes or [`DRAIN_TIME`] pass:
/// whether the end was reached.
async fn drain(mut body: Body) -> bool {
    let to_end = async {
        let mut read = 0u64;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let Ok(frame) = frame else { return false };
            read += frame.data_ref().map_or(0, |d| d.len() as u64);
            if read > DRAIN_LIMIT {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, to_end).await.unwrap_or(false)
}

/// The request body, shared between the handler and [`keep_alive_or_close`], with the bytes read so far.
struct Shared {
    /// `None` once read to its end.
    body: Option<Body>,
    read: u64,
}

/// What the handler reads: the shared body (what it leaves stays there for the middleware).
struct SharedBody(Arc<Mutex<Shared>>);

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Ok(mut state) = self.0.lock() else { return Poll::Ready(None) };
        let Some(body) = state.body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => state.read += frame.data_ref().map_or(0, |d| d.len() as u64),
            Poll::Ready(None) => state.body = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.0.lock().map(|s| s.body.as_ref().is_none_or(HttpBody::is_end_stream)).unwrap_or(true)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.body.as_ref().map(HttpBody::size_hint))
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}
