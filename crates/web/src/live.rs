//! The server-sent-events stream of the public progress page
//! (`GET /track/{no}/events?code=CHECKCODE`): it subscribes to the app's
//! live hub and sends the asker's masked view when its version is newer than
//! the last one sent. A subscriber that falls behind simply reloads.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;

use mashangban_app::{App, AppError, AppResult};
use mashangban_store::Store;

use crate::api::CodeQuery;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};

/// A progress stream rereads its request this often even when no change was
/// announced, so a change whose signal was lost (another app node's
/// notification during a reconnect) still reaches the page.
const RECHECK: Duration = Duration::from_secs(30);

/// What one progress stream watches and has sent.
struct Watch<S> {
    app: App<S>,
    request_id: i64,
    /// The request's tracking number and, once merged, its parent's.
    watched: Vec<String>,
    receiver: broadcast::Receiver<Arc<str>>,
    last_sent: Option<i64>,
    /// Check at once, before waiting for a change (start and reconnect).
    check_now: bool,
}

/// `GET /track/{no}/events?code=CHECKCODE`: the progress page's live stream.
/// Each `progress` event carries the masked public view as JSON, with the
/// version it shows as its `id`; a reconnect with `Last-Event-ID` gets the
/// current view at once only when it is newer.
pub async fn events<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let request = app.requests().verified(&caller, &no, query.code.as_deref()).await?;
    // Subscribe before the first read, so no change can fall in between.
    let receiver = app.live().subscribe();
    let last_sent = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let watch = Watch {
        watched: vec![request.tracking_no.clone()],
        request_id: request.id,
        app,
        receiver,
        last_sent,
        check_now: true,
    };
    let closed = watch.app.live().closed();
    Ok(sse_response(stream(watch), closed))
}

/// A live stream as a server-sent-events answer: kept alive through proxies,
/// not buffered by them, and ended when the server stops (`closed`).
pub fn sse_response(
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
    closed: impl std::future::Future<Output = ()> + Send + 'static,
) -> Response {
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive");
    let mut response = Sse::new(events.take_until(closed)).keep_alive(keep_alive).into_response();
    // Tell reverse proxies not to buffer the stream.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn stream<S: Store>(watch: Watch<S>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(watch, |mut watch| async move {
        loop {
            if !watch.check_now && !watch.wait_for_change().await {
                return None;
            }
            watch.check_now = false;
            match watch.newer_view().await {
                Ok(Some(event)) => return Some((Ok(event), watch)),
                Ok(None) => {}
                // The request vanished or the store failed: end; the browser reconnects.
                Err(_) => return None,
            }
        }
    })
}

impl<S: Store> Watch<S> {
    /// Waits until a watched request may have changed, or [`RECHECK`] has
    /// passed; false when the hub closed.
    async fn wait_for_change(&mut self) -> bool {
        let recheck = tokio::time::sleep(RECHECK);
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(no) if self.watched.iter().any(|w| **w == *no) => return true,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                () = &mut recheck => return true,
            }
        }
    }

    /// The current view as an event, if it is newer than the last one sent.
    async fn newer_view(&mut self) -> AppResult<Option<Event>> {
        let request = self.app.requests().watched(self.request_id).await?;
        // Unmerged and not newer: nothing to send, and no need to read the history.
        if request.merged_into.is_none() && self.last_sent.is_some_and(|last| request.version <= last) {
            return Ok(None);
        }
        let progress = self.app.requests().progress_of(request).await?;
        if let Some(parent) = &progress.view.merged_into
            && !self.watched.contains(&parent.tracking_no)
        {
            self.watched.push(parent.tracking_no.clone());
        }
        if self.last_sent.is_some_and(|last| progress.version <= last) {
            return Ok(None);
        }
        self.last_sent = Some(progress.version);
        let event = Event::default().event("progress").id(progress.version.to_string()).json_data(&progress.view);
        Ok(Some(event.map_err(|_| AppError::internal())?))
    }
}
