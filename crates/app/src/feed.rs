//! Following the durable change feed (变更流).
//!
//! Every committed change appends a row to the store's feed in its own
//! transaction (see `ChangeStore`). A follower reads the feed after its
//! cursor and hands each batch to its consumer; wake-ups (a local commit, a
//! `NOTIFY` from another node) only make it look sooner, and it also looks on
//! a timer, so a lost wake-up delays a change by at most one interval and
//! never loses it.
//!
//! Two kinds of consumers:
//! - this node's own ([`spawn_node_follower`]): live progress pages and the
//!   caches of the org tree, categories, rules and calendar. It starts at the
//!   feed's head (the caches were just loaded; no page survives a restart).
//! - durable ones ([`follow_durably`], e.g. a search index): a stored cursor
//!   per consumer name, saved after each handled batch, so a restart resumes
//!   where it stopped and nothing is missed or handled twice in a row.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use mashangban_store::{Change, ChangeCursor, ChangeEntity, ChangeStore, Signal, Store, StoreResult};

use crate::App;

/// Changes read per batch.
const BATCH: u32 = 500;
/// How long a follower waits before backing off after a failed read.
const RETRY: Duration = Duration::from_secs(2);

/// Wakes the followers of one node.
#[derive(Clone, Default)]
pub struct FeedWaker {
    notify: Arc<Notify>,
}

impl FeedWaker {
    /// Something was committed: followers look now.
    pub fn wake(&self) {
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub(crate) async fn wait(&self, poll: Duration) {
        let _ = tokio::time::timeout(poll, self.notify.notified()).await;
    }
}

/// How often a follower looks without a wake-up: often where other nodes
/// write to the same database, rarely where this node is the only writer.
fn poll_interval<S: Store>(store: &S) -> Duration {
    if store.subscribe_signals().is_some() { Duration::from_secs(1) } else { Duration::from_secs(5) }
}

/// Reads every change after `cursor` in batches, handing each to `handle`;
/// the cursor after the last change handled.
pub async fn catch_up<S, F, Fut>(store: &S, mut cursor: ChangeCursor, mut handle: F) -> StoreResult<ChangeCursor>
where
    S: ChangeStore,
    F: FnMut(Vec<Change>) -> Fut,
    Fut: Future<Output = StoreResult<()>>,
{
    loop {
        let batch = store.changes_after(cursor, BATCH).await?;
        let Some(last) = batch.last().map(|c| c.cursor) else { return Ok(cursor) };
        let full = batch.len() == BATCH as usize;
        handle(batch).await?;
        cursor = last;
        if !full {
            return Ok(cursor);
        }
    }
}

/// Starts this node's follower: live progress pages hear of every request
/// change, and cached catalogues reload when another node (or this one)
/// changed them.
pub(crate) fn spawn_node_follower<S: Store>(app: App<S>) -> StoreResult<()> {
    tokio::spawn(async move {
        let poll = poll_interval(app.store());
        let mut cursor = loop {
            match app.store().feed_head().await {
                Ok(head) => break head,
                Err(error) => {
                    tracing::warn!(%error, "could not read the change feed's head; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        loop {
            app.feed().wait(poll).await;
            match catch_up(app.store(), cursor, |batch| deliver(&app, batch)).await {
                Ok(next) => cursor = next,
                Err(error) => {
                    tracing::warn!(%error, "could not follow the change feed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    });
    Ok(())
}

/// One batch for this node: each changed request to the live hub, each
/// changed catalogue reloaded once.
async fn deliver<S: Store>(app: &App<S>, batch: Vec<Change>) -> StoreResult<()> {
    let mut reload = Vec::new();
    for change in &batch {
        let signal = match change.entity {
            ChangeEntity::Request => {
                app.live().deliver(&change.key);
                continue;
            }
            ChangeEntity::Approval => {
                if let Ok(id) = change.key.parse() {
                    app.live().deliver_approval(id);
                }
                continue;
            }
            ChangeEntity::Monitoring => {
                if let Ok(id) = change.key.parse() {
                    app.live().deliver_monitoring(id);
                }
                continue;
            }
            ChangeEntity::Inbox => {
                if let Ok(id) = change.key.parse() {
                    app.live().deliver_inbox(id);
                }
                continue;
            }
            ChangeEntity::Catalog => Signal::CatalogChanged,
            ChangeEntity::Rules => Signal::RulesChanged,
            ChangeEntity::Calendar => Signal::CalendarChanged,
            // Ledgers keep no cache and no live page yet.
            ChangeEntity::Ledger => continue,
            // The panel is computed from the store on each view: no cache to reload.
            ChangeEntity::Statistics => continue,
        };
        if !reload.contains(&signal) {
            reload.push(signal);
        }
    }
    for signal in &reload {
        app.caches().apply(app.store(), signal).await?;
    }
    Ok(())
}

/// Runs a durable consumer until the process ends: resumes from its stored
/// cursor (from the start of the retained feed the first time), hands it
/// each batch, and saves the cursor after each batch it handled.
pub fn follow_durably<S, F, Fut>(app: App<S>, name: &'static str, mut handle: F) -> tokio::task::JoinHandle<()>
where
    S: Store,
    F: FnMut(Vec<Change>) -> Fut + Send + 'static,
    Fut: Future<Output = StoreResult<()>> + Send,
{
    tokio::spawn(async move {
        let poll = poll_interval(app.store());
        loop {
            match follow_once(&app, name, &mut handle).await {
                Ok(()) => app.feed().wait(poll).await,
                Err(error) => {
                    tracing::warn!(%error, consumer = name, "a change-feed consumer failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    })
}

/// One catch-up of a durable consumer, saving its cursor batch by batch.
pub async fn follow_once<S, F, Fut>(app: &App<S>, name: &str, handle: &mut F) -> StoreResult<()>
where
    S: Store,
    F: FnMut(Vec<Change>) -> Fut,
    Fut: Future<Output = StoreResult<()>>,
{
    let store = app.store();
    let mut cursor = store.load_cursor(name).await?.unwrap_or_default();
    loop {
        let batch = store.changes_after(cursor, BATCH).await?;
        let Some(last) = batch.last().map(|c| c.cursor) else { return Ok(()) };
        let full = batch.len() == BATCH as usize;
        handle(batch).await?;
        cursor = last;
        store.save_cursor(name, cursor, app.now()).await?;
        if !full {
            return Ok(());
        }
    }
}
