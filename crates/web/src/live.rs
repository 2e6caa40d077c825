//! Live progress: a broadcast bus that the request handlers publish to after
//! every change they made, and the server-sent-events stream of the public
//! progress page (`GET /track/{no}/events?code=CHECKCODE`).
//!
//! A message only names the request that changed; each subscriber reloads the
//! request itself and sends the asker's masked view when its version is newer
//! than the last one sent. A subscriber that falls behind simply reloads.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use mashangban_domain::org::Scope;
use mashangban_domain::request::Request;
use mashangban_store::{Signal, Store};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::{self, PublicView};

/// How many changes a slow subscriber may fall behind before it reloads.
const CAPACITY: usize = 1024;

/// A progress stream rereads its request this often even when no change was
/// announced, so a change whose signal was lost (another app node's
/// notification during a reconnect) still reaches the page.
const RECHECK: Duration = Duration::from_secs(30);

/// The bus of request changes, shared by every handler of one server.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Arc<str>>,
    /// Changes to announce to the other app nodes (set when the store has any).
    relay: Option<tokio::sync::mpsc::UnboundedSender<Signal>>,
}

impl Default for Live {
    fn default() -> Self {
        Self { sender: broadcast::channel(CAPACITY).0, relay: None }
    }
}

impl Live {
    /// A bus that also hands every change to `relay`, for the other nodes.
    pub fn relaying(relay: tokio::sync::mpsc::UnboundedSender<Signal>) -> Self {
        Self { relay: Some(relay), ..Self::default() }
    }

    /// Tells every subscriber, on this node and the others, that the request
    /// with this tracking number changed.
    pub fn publish(&self, tracking_no: &str) {
        self.publish_here(tracking_no);
        if let Some(relay) = &self.relay {
            let _ = relay.send(Signal::RequestChanged(tracking_no.to_owned()));
        }
    }

    /// Tells this node's subscribers only (a change another node announced).
    pub fn publish_here(&self, tracking_no: &str) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Arc::from(tracking_no));
    }

    /// Publishes a change of `request` and hands it back (for one-line use after a store call).
    pub fn published(&self, request: Request) -> Request {
        self.publish(&request.tracking_no);
        request
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.sender.subscribe()
    }
}

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    pub code: Option<String>,
}

/// Loads a request for its asker exactly as the public API does: a wrong code
/// is the same 404 as no request, and failures per client address are limited.
pub async fn verified<S: Store>(state: &AppState<S>, auth: &Auth, no: &str, code: Option<&str>) -> ApiResult<Request> {
    let now = state.now();
    let key = auth.client_ip.clone().unwrap_or_default();
    if !state.lookup_limiter.allows(&key, now) {
        return Err(ApiError::rate_limited().with_message("查询失败次数过多，请一小时后再试"));
    }
    let code = code.map(str::trim).unwrap_or_default();
    let found = state.store.find(no.trim(), &Scope::All).await?;
    match found {
        Some(r) if !code.is_empty() && constant_time_eq(r.check_code.as_bytes(), code.as_bytes()) => Ok(r),
        _ => {
            state.lookup_limiter.record(&key, now);
            Err(ApiError::not_found().with_code("request_not_found").with_message("受理编号或查询码不正确"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The asker's masked view with the request it was merged into, if any, and
/// the version of what it shows (the request's version plus its parent's, so
/// it grows whenever either changes).
pub async fn public_view_of<S: Store>(state: &AppState<S>, request: &Request) -> ApiResult<(PublicView, i64)> {
    let org = state.org();
    let events = state.store.history(request.id).await?;
    let mut view = views::public_view(request, &events, &org);
    let mut version = request.version;
    let parent = match request.merged_into {
        Some(parent_id) => state.store.find_by_id(parent_id, &Scope::All).await?,
        None => None,
    };
    if let Some(parent) = parent {
        let parent_events = state.store.history(parent.id).await?;
        view.merged_into = Some(Box::new(views::public_view(&parent, &parent_events, &org)));
        version += parent.version;
    }
    Ok((view, version))
}

/// What one progress stream watches and has sent.
struct Watch<S> {
    state: AppState<S>,
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
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let request = verified(&state, &auth, &no, query.code.as_deref()).await?;
    // Subscribe before the first read, so no change can fall in between.
    let receiver = state.live.subscribe();
    let last_sent = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let watch = Watch {
        watched: vec![request.tracking_no.clone()],
        request_id: request.id,
        state,
        receiver,
        last_sent,
        check_now: true,
    };
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive");
    let mut response = Sse::new(stream(watch)).keep_alive(keep_alive).into_response();
    // Tell reverse proxies not to buffer the stream.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
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
    /// passed; false when the bus closed.
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
    async fn newer_view(&mut self) -> ApiResult<Option<Event>> {
        let request =
            self.state.store.find_by_id(self.request_id, &Scope::All).await?.ok_or_else(ApiError::request_not_found)?;
        // Unmerged and not newer: nothing to send, and no need to read the history.
        if request.merged_into.is_none() && self.last_sent.is_some_and(|last| request.version <= last) {
            return Ok(None);
        }
        let (view, version) = public_view_of(&self.state, &request).await?;
        if let Some(parent) = &view.merged_into
            && !self.watched.contains(&parent.tracking_no)
        {
            self.watched.push(parent.tracking_no.clone());
        }
        if self.last_sent.is_some_and(|last| version <= last) {
            return Ok(None);
        }
        self.last_sent = Some(version);
        let event = Event::default().event("progress").id(version.to_string()).json_data(&view);
        Ok(Some(event.map_err(|_| ApiError::internal())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_without_subscribers_is_fine_and_subscribers_hear_changes() {
        let live = Live::default();
        live.publish("ZS20261129000001");
        let mut receiver = live.subscribe();
        live.publish("ZS20261129000002");
        assert_eq!(receiver.try_recv().ok().as_deref(), Some("ZS20261129000002"));
    }
}
