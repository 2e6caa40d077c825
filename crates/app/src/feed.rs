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

use tokio::sync::watch;

use mashangban_store::{Change, ChangeCursor, ChangeEntity, ChangeStore, Signal, Store, StoreResult};

use crate::App;

/// Changes read per batch.
const BATCH: u32 = 500;
/// How long a follower waits before backing off after a failed read.
const RETRY: Duration = Duration::from_secs(2);

/// Wakes the followers of one node. Each follower hears of every wake-up
/// (coalesced), also of those that came while it was busy reading.
#[derive(Clone)]
pub struct FeedWaker {
    generation: Arc<watch::Sender<u64>>,
}

impl Default for FeedWaker {
    fn default() -> Self {
        Self { generation: Arc::new(watch::channel(0).0) }
    }
}

impl FeedWaker {
    /// Something was committed: followers look now.
    pub fn wake(&self) {
        self.generation.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn listen(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// Pauses before looking again after a wake-up that found nothing. On
/// PostgreSQL the change that woke the follower is read only once every older
/// writing transaction has ended (see store-sql's `changes.rs`); such a
/// transaction ends in milliseconds, so waiting for the next poll would add up
/// to a whole interval to a change seen on another node.
const SETTLING: [Duration; 5] = [
    Duration::from_millis(10),
    Duration::from_millis(25),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(250),
];

/// How a follower waits between looks at the feed: for a wake-up or its poll
/// interval, and after a wake-up whose look found nothing, the pauses of
/// [`SETTLING`] first.
pub(crate) struct Pacing {
    wake_ups: watch::Receiver<u64>,
    poll: Duration,
    settling: std::slice::Iter<'static, Duration>,
}

impl Pacing {
    pub(crate) fn new(waker: &FeedWaker, poll: Duration) -> Self {
        Self { wake_ups: waker.listen(), poll, settling: [].iter() }
    }

    /// Waits for a wake-up not yet heard or `poll`, whichever comes first; answers whether it was woken.
    async fn wait(&mut self) -> bool {
        match tokio::time::timeout(self.poll, self.wake_ups.changed()).await {
            Ok(Ok(())) => true,
            Ok(Err(_closed)) => {
                tokio::time::sleep(self.poll).await;
                false
            }
            Err(_elapsed) => false,
        }
    }

    /// Waits until the next look, given what the last one answered (whether
    /// it found a change); a failed look is logged and retried after [`RETRY`].
    pub(crate) async fn after(&mut self, looked: StoreResult<bool>, consumer: &str) {
        match looked {
            Ok(false) if let Some(pause) = self.settling.next() => tokio::time::sleep(*pause).await,
            Ok(_) => {
                let woken = self.wait().await;
                self.settling = if woken { SETTLING.iter() } else { [].iter() };
            }
            Err(error) => {
                tracing::warn!(%error, consumer, "could not follow the change feed; retrying");
                self.settling = [].iter();
                tokio::time::sleep(RETRY).await;
            }
        }
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
        let mut pacing = Pacing::new(app.feed(), poll);
        loop {
            let looked = catch_up(app.store(), cursor, |batch| deliver(&app, batch)).await.map(|next| {
                let moved = next != cursor;
                cursor = next;
                moved
            });
            pacing.after(looked, "node").await;
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
            ChangeEntity::DirectLine => {
                if let Ok(id) = change.key.parse() {
                    app.live().deliver_direct_line(id);
                }
                continue;
            }
            ChangeEntity::Catalog => Signal::CatalogChanged,
            ChangeEntity::Rules => Signal::RulesChanged,
            ChangeEntity::Calendar => Signal::CalendarChanged,
            ChangeEntity::Settings => Signal::SettingsChanged,
            // Each view reads the template in force from the store: no cache to reload.
            ChangeEntity::ApprovalTemplate => continue,
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
        let mut pacing = Pacing::new(app.feed(), poll);
        loop {
            let looked = follow_once(&app, name, &mut handle).await;
            pacing.after(looked, name).await;
        }
    })
}

/// One catch-up of a durable consumer, saving its cursor batch by batch;
/// answers whether it handled any change.
pub async fn follow_once<S, F, Fut>(app: &App<S>, name: &str, handle: &mut F) -> StoreResult<bool>
where
    S: Store,
    F: FnMut(Vec<Change>) -> Fut,
    Fut: Future<Output = StoreResult<()>>,
{
    let store = app.store();
    let start = store.load_cursor(name).await?.unwrap_or_default();
    let mut cursor = start;
    loop {
        let batch = store.changes_after(cursor, BATCH).await?;
        let Some(last) = batch.last().map(|c| c.cursor) else { return Ok(cursor != start) };
        let full = batch.len() == BATCH as usize;
        handle(batch).await?;
        cursor = last;
        store.save_cursor(name, cursor, app.now()).await?;
        if !full {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_secs(1);

    /// The pause `after(looked)` takes, on a clock that only moves when every task waits.
    async fn pause(pacing: &mut Pacing, looked: StoreResult<bool>) -> Duration {
        let start = tokio::time::Instant::now();
        pacing.after(looked, "test").await;
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_up_that_finds_nothing_is_looked_at_again_soon_then_the_poll_resumes() {
        let waker = FeedWaker::default();
        let mut pacing = Pacing::new(&waker, POLL);
        let wake_later = waker.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            wake_later.wake();
        });
        assert_eq!(pause(&mut pacing, Ok(true)).await, Duration::from_millis(300), "woken before the poll");
        // The change that woke it is not readable yet: quick looks, then the poll again.
        for settling in SETTLING {
            assert_eq!(pause(&mut pacing, Ok(false)).await, settling);
        }
        assert_eq!(pause(&mut pacing, Ok(false)).await, POLL);
        // A poll that found nothing is not a wake-up: no quick looks after it.
        assert_eq!(pause(&mut pacing, Ok(false)).await, POLL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_look_that_finds_the_change_ends_the_quick_looks() {
        let waker = FeedWaker::default();
        let mut pacing = Pacing::new(&waker, POLL);
        waker.wake();
        assert_eq!(pause(&mut pacing, Ok(true)).await, Duration::ZERO, "a stored wake-up is taken at once");
        assert_eq!(pause(&mut pacing, Ok(false)).await, SETTLING[0]);
        assert_eq!(pause(&mut pacing, Ok(true)).await, POLL);
        assert_eq!(pause(&mut pacing, Err(mashangban_store::StoreError::backend("test"))).await, RETRY);
    }
}
