//! The live lists of the direct line (直通车实时列表): a city leader's page of
//! the items put before them (`/direct-line/mine`) and the leaders' office's
//! queue (`/direct-line/office`) follow server-sent events
//! (`/direct-line/mine/events`, `/direct-line/office/events`, under the
//! pages' own permissions) and redraw the rows that changed without a reload.
//!
//! The rows are rendered by the page's own row template, from the same
//! scoped and masked list as the page (`app.direct_line().list`), so an event
//! carries nothing the page would not show. A stream reloads the list when an
//! item changes (the `direct_line` change feed), when one of the requests
//! the listed items became changes (a unit signs or replies, the scheduler
//! urges), when an instruction's time limit passes (the row turns 超期), and
//! every [`RECHECK`] in case a wake-up was lost. Each `rows` event carries the
//! list's order and the rows whose HTML changed; its `id` is a digest of the
//! whole list, which the page also carries (`since`), so a page that is up
//! to date gets nothing at connect or reconnect.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::response::sse::Event;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use mashangban_app::direct_line::{ItemQuery, ItemView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::direct_line::ItemState;
use mashangban_domain::time::parse_instant;
use mashangban_store::Store;

use super::{PageError, short_time};
use crate::auth::Auth;
use crate::extract::PageQuery as Query;

/// A stream reloads its list this often even when nothing was announced.
const RECHECK: Duration = Duration::from_secs(30);
/// Changes arriving this close together (an instruction changes the item and its request) are sent as one event.
const SETTLE: Duration = Duration::from_millis(50);

/// Which list a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// 直通车批示件: a leader's items.
    Mine,
    /// 书记市长直通车: the office's queue.
    Office,
}

impl Board {
    fn events_path(self) -> &'static str {
        match self {
            Self::Mine => "/direct-line/mine/events",
            Self::Office => "/direct-line/office/events",
        }
    }
}

#[derive(Template)]
#[template(path = "direct_line_mine_row.html")]
struct MineRow<'a> {
    i: &'a ItemView,
}

impl MineRow<'_> {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

#[derive(Template)]
#[template(path = "direct_line_office_row.html")]
struct OfficeRow<'a> {
    i: &'a ItemView,
}

impl OfficeRow<'_> {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// A list as the page shows it: each item's row (HTML, rendered by the
/// page's row template) in the page's order.
pub struct Rows {
    pub rows: Vec<(i64, String)>,
}

impl Rows {
    pub fn of(board: Board, items: &[ItemView]) -> Result<Self, AppError> {
        let rows = items
            .iter()
            .map(|i| {
                let html = match board {
                    Board::Mine => MineRow { i }.render(),
                    Board::Office => OfficeRow { i }.render(),
                };
                html.map(|h| (i.id, h)).map_err(|error| {
                    tracing::error!(%error, "direct-line row template failed");
                    AppError::internal()
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rows })
    }

    /// A digest of the whole list (order and rows): the page's and each event's version.
    pub fn digest(&self) -> String {
        let mut digest = Sha256::new();
        for (id, html) in &self.rows {
            digest.update(id.to_be_bytes());
            digest.update(html.as_bytes());
        }
        hex::encode(digest.finalize()).chars().take(16).collect()
    }

    /// The page's stream address: the list's filters and its digest.
    pub fn events_url(&self, board: Board, query: &ItemQuery) -> String {
        let mut pairs = Vec::new();
        for (name, value) in [("queue", &query.queue), ("month", &query.month)] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                pairs.push((name, v.to_owned()));
            }
        }
        pairs.push(("since", self.digest()));
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}?{encoded}", board.events_path())
    }
}

/// The query of a stream: the page's filters and the digest of the list the page shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveQuery {
    queue: Option<String>,
    month: Option<String>,
    since: Option<String>,
}

/// What one `rows` event carries.
#[derive(Serialize)]
struct Patch<'a> {
    /// Every item id of the list, in order (rows not named here are removed).
    order: Vec<i64>,
    /// The rows that are new or changed, by item id.
    rows: HashMap<i64, &'a str>,
}

/// `GET /direct-line/mine/events`: the leader's items, live.
pub async fn mine_events<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<LiveQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    // The leader's page has no filters.
    let query = LiveQuery { queue: None, month: None, ..query };
    events(app, caller, Board::Mine, query, &headers).await
}

/// `GET /direct-line/office/events?queue=&month=`: the office's queue, live.
pub async fn office_events<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<LiveQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    events(app, caller, Board::Office, query, &headers).await
}

async fn events<S: Store>(
    app: App<S>,
    caller: Caller,
    board: Board,
    query: LiveQuery,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    // A reconnect names the last event's version; the first connection the page's.
    let since = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(query.since);
    let filter = ItemQuery { queue: query.queue, month: query.month };
    // Subscribe before the first read, so no change can fall in between.
    let items = app.live().subscribe_direct_line();
    let requests = app.live().subscribe();
    let mut watch = Watch {
        app,
        caller,
        board,
        filter,
        items,
        requests,
        sent: HashMap::new(),
        order: Vec::new(),
        watched: HashSet::new(),
        next_due: None,
        first: true,
    };
    // A bad filter is refused here, as on the page, before any stream starts.
    let rows = watch.load().await?;
    if since.is_some_and(|s| s == rows.digest()) {
        watch.seed(&rows);
        watch.first = false;
    }
    let closed = watch.app.live().closed();
    Ok(crate::live::sse_response(stream(watch, rows), closed))
}

/// What one live list watches and has sent.
struct Watch<S> {
    app: App<S>,
    caller: Caller,
    board: Board,
    filter: ItemQuery,
    items: broadcast::Receiver<i64>,
    requests: broadcast::Receiver<Arc<str>>,
    /// The rows the page has, by item id, and their order.
    sent: HashMap<i64, String>,
    order: Vec<i64>,
    /// The tracking numbers of the requests the listed items became.
    watched: HashSet<String>,
    /// How long until the soonest time limit of a listed item passes.
    next_due: Option<Duration>,
    /// Nothing sent yet and the page is not known to be up to date: send every row.
    first: bool,
}

fn stream<S: Store>(watch: Watch<S>, rows: Rows) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold((watch, Some(rows)), |(mut watch, mut loaded)| async move {
        loop {
            let rows = match loaded.take() {
                Some(rows) => rows,
                None => {
                    if !watch.wait().await {
                        return None;
                    }
                    // The store failed: end; the browser reconnects.
                    watch.load().await.ok()?
                }
            };
            if let Some(event) = watch.patch(&rows) {
                return Some((Ok(event), (watch, None)));
            }
        }
    })
}

impl<S: Store> Watch<S> {
    /// The list now, as the page would show it; notes what to watch.
    async fn load(&mut self) -> Result<Rows, AppError> {
        let items = self.app.direct_line().list(&self.caller, &self.filter).await?;
        let now = self.app.now();
        self.watched = items.iter().filter_map(|i| i.request.as_ref().map(|r| r.tracking_no.clone())).collect();
        self.next_due = items
            .iter()
            .filter(|i| i.state == ItemState::Handling && !i.overdue)
            .filter_map(|i| parse_instant(i.due_at.as_deref()?))
            .filter_map(|due| (due - now).to_std().ok())
            .min();
        Rows::of(self.board, &items)
    }

    fn seed(&mut self, rows: &Rows) {
        self.sent = rows.rows.iter().cloned().collect();
        self.order = rows.rows.iter().map(|(id, _)| *id).collect();
    }

    /// The event that brings the page from what it has to `rows`; none when it has them.
    fn patch(&mut self, rows: &Rows) -> Option<Event> {
        let order: Vec<i64> = rows.rows.iter().map(|(id, _)| *id).collect();
        let changed: HashMap<i64, &str> = rows
            .rows
            .iter()
            .filter(|(id, html)| self.first || self.sent.get(id) != Some(html))
            .map(|(id, html)| (*id, html.as_str()))
            .collect();
        if !self.first && changed.is_empty() && order == self.order {
            return None;
        }
        let event = Event::default().event("rows").id(rows.digest()).json_data(Patch { order, rows: changed }).ok()?;
        self.first = false;
        self.seed(rows);
        Some(event)
    }

    /// Waits until the list may have changed (then lets a burst settle), a
    /// time limit passes, or [`RECHECK`]; false when the hub closed.
    async fn wait(&mut self) -> bool {
        let pause = self.next_due.map_or(RECHECK, |due| due.min(RECHECK) + SETTLE);
        let recheck = tokio::time::sleep(pause);
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                received = self.items.recv() => match received {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                received = self.requests.recv() => match received {
                    Ok(no) if self.watched.contains(&*no) => break,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                () = &mut recheck => return true,
            }
        }
        tokio::time::sleep(SETTLE).await;
        while self.items.try_recv().is_ok() {}
        while self.requests.try_recv().is_ok() {}
        true
    }
}
