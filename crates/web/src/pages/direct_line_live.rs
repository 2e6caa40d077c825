//! The live lists of the direct line (直通车实时列表): a city leader's page of
//! the items put before them (`/direct-line/mine`) and the leaders' office's
//! queue (`/direct-line/office`) follow server-sent events
//! (`/direct-line/mine/events`, `/direct-line/office/events`, under the
//! pages' own permissions) and redraw the rows that changed without a reload.
//!
//! The rows are rendered by the page's own row template, from the same
//! scoped and masked list as the page (`app.direct_line().list`), so an event
//! carries nothing the page would not show. A stream keeps the rows the page
//! has; when an item changes (the `direct_line` change feed, which also
//! records every event of the request an item became — a unit signs or
//! replies, the scheduler urges — as a change of the item), it re-reads that
//! item alone through the same list query (`app.direct_line().listed`) and
//! places, replaces or removes its row, so a change costs one item, a list
//! that does not show it hears nothing, and a list the change brings it into
//! (a reply puts it in the office's 待审核答复 queue) gets its row at once. It
//! reads the whole list again when an instruction's time limit passes (the
//! row turns 超期), when the feed lagged, for a list at its cap, and every
//! [`RECHECK`] in case a wake-up was lost. Each `rows` event carries the
//! list's order and the rows whose HTML changed; its `id` is a digest of the
//! whole list, which the page also carries (`since`), so a page that is up
//! to date gets nothing at connect or reconnect.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
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
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use mashangban_app::direct_line::{ItemQuery, ItemView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::direct_line::ItemState;
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_store::{ITEMS_MAX, Store};

use super::{PageError, short_time};
use crate::auth::Auth;
use crate::extract::PageQuery as Query;

/// A stream reloads its list this often even when nothing was announced.
const RECHECK: Duration = Duration::from_secs(30);
/// Changes arriving this close together (an instruction changes the item and its request) are sent as one event.
const SETTLE: Duration = Duration::from_millis(50);
/// More changed items than this at once are read as the whole list.
const REFRESH_MAX: usize = 32;

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

/// One item's row as the page shows it, rendered by the page's row template.
fn render(board: Board, i: &ItemView) -> Result<String, AppError> {
    let html = match board {
        Board::Mine => MineRow { i }.render(),
        Board::Office => OfficeRow { i }.render(),
    };
    html.map_err(|error| {
        tracing::error!(%error, "direct-line row template failed");
        AppError::internal()
    })
}

/// A digest of a whole list (its order and rows): the page's and each event's version.
fn digest<'a>(rows: impl IntoIterator<Item = (i64, &'a str)>) -> String {
    let mut digest = Sha256::new();
    for (id, html) in rows {
        digest.update(id.to_be_bytes());
        digest.update(html.as_bytes());
    }
    hex::encode(digest.finalize()).chars().take(16).collect()
}

/// A list as the page shows it: each item's row (HTML, rendered by the
/// page's row template) in the page's order.
pub struct Rows {
    pub rows: Vec<(i64, String)>,
}

impl Rows {
    pub fn of(board: Board, items: &[ItemView]) -> Result<Self, AppError> {
        let rows = items.iter().map(|i| render(board, i).map(|h| (i.id, h))).collect::<Result<_, _>>()?;
        Ok(Self { rows })
    }

    /// A digest of the whole list (order and rows): the page's and each event's version.
    pub fn digest(&self) -> String {
        digest(self.rows.iter().map(|(id, html)| (*id, html.as_str())))
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
    let mut watch = Watch { app, caller, board, filter, items, kept: HashMap::new(), order: Vec::new() };
    // A bad filter is refused here, as on the page, before any stream starts.
    let listed = watch.app.direct_line().list(&watch.caller, &watch.filter).await?;
    // Every row, unless the page is known to have them.
    let first = watch.replace(&listed, true)?;
    let first = if since.is_some_and(|s| s == watch.digest()) { None } else { first };
    let closed = watch.app.live().closed();
    Ok(crate::live::sse_response(stream(watch, first), closed))
}

/// One row of a live list as its stream keeps it.
struct Kept {
    html: String,
    /// Where the row sorts (the list's order, newest first): received at, then id.
    received: Instant,
    /// The instruction's time limit while it has yet to pass (instructed and not overdue).
    due: Option<Instant>,
}

impl Kept {
    fn of(board: Board, i: &ItemView) -> Result<Self, AppError> {
        let received = parse_instant(&i.created_at).ok_or_else(|| {
            tracing::error!(id = i.id, created_at = %i.created_at, "direct-line item with an unreadable time");
            AppError::internal()
        })?;
        let pending = i.state == ItemState::Handling && !i.overdue;
        Ok(Self {
            html: render(board, i)?,
            received,
            due: i.due_at.as_deref().filter(|_| pending).and_then(parse_instant),
        })
    }
}

/// What a stream does on waking.
enum Wake {
    /// Reads the whole list again.
    Reload,
    /// Reads these items again, each through the list's own filters.
    Items(HashSet<i64>),
}

/// What one live list watches; the rows the page has.
struct Watch<S> {
    app: App<S>,
    caller: Caller,
    board: Board,
    filter: ItemQuery,
    /// Changed items (their own steps and their requests' events, from the change feed).
    items: broadcast::Receiver<i64>,
    /// The rows the page has, by item id, and their order.
    kept: HashMap<i64, Kept>,
    order: Vec<i64>,
}

fn stream<S: Store>(
    watch: Watch<S>,
    first: Option<Event>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold((watch, first), |(mut watch, first)| async move {
        if let Some(event) = first {
            return Some((Ok(event), (watch, None)));
        }
        loop {
            let sent = match watch.wait().await? {
                Wake::Reload => watch.reload().await,
                Wake::Items(ids) => watch.refresh(ids).await,
            };
            // The store failed: end; the browser reconnects.
            if let Some(event) = sent.ok()? {
                return Some((Ok(event), (watch, None)));
            }
        }
    })
}

impl<S: Store> Watch<S> {
    /// The digest of the rows kept (the page's version once they are sent).
    fn digest(&self) -> String {
        digest(self.order.iter().map(|id| (*id, self.kept.get(id).map_or("", |k| k.html.as_str()))))
    }

    /// The event that sends the list's order and the rows `changed`.
    fn event(&self, changed: impl IntoIterator<Item = i64>) -> Option<Event> {
        let rows = changed.into_iter().filter_map(|id| Some((id, self.kept.get(&id)?.html.as_str()))).collect();
        Event::default().event("rows").id(self.digest()).json_data(Patch { order: self.order.clone(), rows }).ok()
    }

    /// Reads the whole list again and sends what changed.
    async fn reload(&mut self) -> Result<Option<Event>, AppError> {
        let listed = self.app.direct_line().list(&self.caller, &self.filter).await?;
        self.replace(&listed, false)
    }

    /// Keeps `listed` as the list; the event that brings the page to it (every row when `all`),
    /// none when the page has it.
    fn replace(&mut self, listed: &[ItemView], all: bool) -> Result<Option<Event>, AppError> {
        let mut kept = HashMap::with_capacity(listed.len());
        let mut changed = Vec::new();
        for i in listed {
            let row = Kept::of(self.board, i)?;
            if all || self.kept.get(&i.id).is_none_or(|k| k.html != row.html) {
                changed.push(i.id);
            }
            kept.insert(i.id, row);
        }
        let order: Vec<i64> = listed.iter().map(|i| i.id).collect();
        let moved = order != self.order;
        (self.kept, self.order) = (kept, order);
        Ok(if all || moved || !changed.is_empty() { self.event(changed) } else { None })
    }

    /// Reads the items `ids` again through the list's own filters and places, replaces or removes
    /// their rows; the event with the rows that changed, none when none did. A list at its cap, where
    /// a new item may push out the last, is read whole.
    async fn refresh(&mut self, ids: HashSet<i64>) -> Result<Option<Event>, AppError> {
        if self.order.len() >= ITEMS_MAX as usize || ids.len() > REFRESH_MAX {
            return self.reload().await;
        }
        let mut changed = Vec::new();
        let mut moved = false;
        for id in ids {
            let listed = self.app.direct_line().listed(&self.caller, &self.filter, id).await?;
            let row = listed.map(|i| Kept::of(self.board, &i)).transpose()?;
            let old = self.kept.remove(&id);
            let Some(row) = row else {
                if old.is_some() {
                    self.order.retain(|x| *x != id);
                    moved = true;
                }
                continue;
            };
            match old {
                Some(old) if old.html == row.html => {}
                Some(_) => changed.push(id),
                None => {
                    let key = (row.received, id);
                    let at = self.order.partition_point(|x| self.kept.get(x).is_some_and(|k| (k.received, *x) > key));
                    self.order.insert(at, id);
                    moved = true;
                    changed.push(id);
                }
            }
            self.kept.insert(id, row);
        }
        Ok(if moved || !changed.is_empty() { self.event(changed) } else { None })
    }

    /// How long until the soonest time limit of a listed item passes.
    fn next_due(&self) -> Option<Duration> {
        let now = self.app.now();
        self.kept.values().filter_map(|k| k.due).filter_map(|due| (due - now).to_std().ok()).min()
    }

    /// Waits until listed items may have changed (then lets a burst settle), a time limit passes,
    /// or [`RECHECK`]; `None` when the hub closed. A lost wake-up (a lagging feed) reads the list whole.
    async fn wait(&mut self) -> Option<Wake> {
        let pause = self.next_due().map_or(RECHECK, |due| due.min(RECHECK) + SETTLE);
        let mut ids = HashSet::new();
        let mut lagged = false;
        tokio::select! {
            received = self.items.recv() => match received {
                Ok(id) => { ids.insert(id); }
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return None,
            },
            () = tokio::time::sleep(pause) => return Some(Wake::Reload),
        }
        tokio::time::sleep(SETTLE).await;
        loop {
            match self.items.try_recv() {
                Ok(id) => {
                    ids.insert(id);
                }
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => break,
            }
        }
        Some(if lagged { Wake::Reload } else { Wake::Items(ids) })
    }
}
