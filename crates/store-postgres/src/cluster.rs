//! Signals and job locks between the app nodes sharing the database.
//!
//! Signals: `announce` is `NOTIFY mashangban_signals, '<node-id>|<signal>'`.
//! Every `PgStore` runs one listener task on its own connection (outside the
//! pool) that relays other nodes' signals to a broadcast channel and drops
//! its own. When that connection drops the task reconnects with backoff and
//! then relays every catalogue-wide signal, since any may have been missed.
//!
//! Job locks: `pg_try_advisory_lock(hashtext(job))` on a pooled connection
//! kept inside the [`JobLock`]. Dropping the lock unlocks before the
//! connection goes back to the pool; if unlocking cannot be done, the
//! connection is closed instead, which ends the session and its locks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use mashangban_store::{JobLock, Signal, StoreResult};

use crate::PgDb;
use crate::db::{execute, query_one};

/// The `LISTEN`/`NOTIFY` channel of the signals.
const CHANNEL: &str = "mashangban_signals";
/// Signals kept for a slow subscriber before it starts missing them.
const BUFFER: usize = 256;
/// How long `connect` waits for the listener's first `LISTEN`.
const FIRST_LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// This store's node identity and its signal listener.
pub struct Cluster {
    node_id: String,
    signals: broadcast::Sender<Signal>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The listener's connection closes with its task.
        self.listener.abort();
    }
}

impl Cluster {
    /// Starts the listener and waits (bounded) until it is listening, so
    /// that signals announced once `connect` returns are not missed.
    pub async fn start(config: tokio_postgres::Config) -> Self {
        let node_id = new_node_id();
        let (signals, _) = broadcast::channel(BUFFER);
        let (listening, mut ready) = watch::channel(false);
        let listener = tokio::spawn(listen_forever(config, node_id.clone(), signals.clone(), listening));
        if tokio::time::timeout(FIRST_LISTEN_TIMEOUT, ready.wait_for(|up| *up)).await.is_err() {
            tracing::warn!("the signal listener is not listening yet; it keeps trying in the background");
        }
        Self { node_id, signals, listener }
    }
}

/// Unique per store: process id, start time and a counter.
fn new_node_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}-{nanos:x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

async fn listen_forever(
    config: tokio_postgres::Config,
    node_id: String,
    signals: broadcast::Sender<Signal>,
    listening: watch::Sender<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut reconnecting = false;
    loop {
        let mut listened = false;
        let outcome = listen_once(&config, &node_id, &signals, &listening, reconnecting, &mut listened).await;
        match outcome {
            Ok(()) => tracing::warn!("the signal listener's connection closed; reconnecting"),
            Err(error) => tracing::warn!(%error, "the signal listener failed; reconnecting"),
        }
        if listened {
            backoff = MIN_BACKOFF;
        }
        reconnecting = true;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: `LISTEN`, then relay notifications until it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    node_id: &str,
    signals: &broadcast::Sender<Signal>,
    listening: &watch::Sender<bool>,
    reconnecting: bool,
    listened: &mut bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listen_sql = format!("LISTEN {CHANNEL}");
    let listen = client.batch_execute(&listen_sql);
    tokio::pin!(listen);
    loop {
        tokio::select! {
            result = &mut listen, if !*listened => {
                result?;
                *listened = true;
                listening.send_replace(true);
                if reconnecting {
                    tracing::info!("the signal listener is listening again");
                    for missed in [Signal::CatalogChanged, Signal::RulesChanged, Signal::CalendarChanged, Signal::SettingsChanged] {
                        let _ = signals.send(missed);
                    }
                }
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(n))) => relay(n.payload(), node_id, signals),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}

/// Passes on another node's signal; this node's own and junk are dropped.
fn relay(payload: &str, node_id: &str, signals: &broadcast::Sender<Signal>) {
    let Some((from, text)) = payload.split_once('|') else {
        tracing::debug!(payload, "ignored a malformed signal");
        return;
    };
    if from == node_id {
        return;
    }
    match Signal::decode(text) {
        // No subscriber is not an error.
        Some(signal) => drop(signals.send(signal)),
        None => tracing::debug!(payload, "ignored an unknown signal"),
    }
}

impl PgDb {
    /// `NOTIFY`s the other nodes of a change this node committed.
    pub(crate) async fn announce_signal(&self, signal: Signal) -> StoreResult<()> {
        let client = self.client().await?;
        let payload = format!("{}|{}", self.cluster.node_id, signal.encode());
        execute(&client, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await.map(drop)
    }

    pub(crate) fn signals(&self) -> Option<broadcast::Receiver<Signal>> {
        Some(self.cluster.signals.subscribe())
    }

    /// Takes a job's session advisory lock on a pooled connection, kept until dropped.
    pub(crate) async fn lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        let client = self.client().await?;
        let row = query_one(&client, "SELECT pg_try_advisory_lock(hashtext($1)) AS locked", &[&job]).await?;
        if !row.try_get::<_, bool>("locked").map_err(crate::db::db_err)? {
            return Ok(None);
        }
        Ok(Some(JobLock::holding(HeldJob { client: Some(client), job })))
    }
}

/// A job lock's session: the pooled connection that holds the lock.
struct HeldJob {
    client: Option<deadpool_postgres::Client>,
    job: &'static str,
}

impl Drop for HeldJob {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut unlocking = Unlocking(Some(client));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let job = self.job;
                runtime.spawn(async move { unlocking.unlock(job).await });
            }
            // No runtime to unlock on: close the session instead.
            Err(_) => unlocking.discard(),
        }
    }
}

/// A connection that may still hold a job lock: it returns to the pool only
/// once unlocked and is closed in every other case (an error, a cancelled task).
struct Unlocking(Option<deadpool_postgres::Client>);

impl Unlocking {
    async fn unlock(&mut self, job: &'static str) {
        let Some(client) = &self.0 else {
            return;
        };
        match client.execute("SELECT pg_advisory_unlock(hashtext($1))", &[&job]).await {
            // Back to the pool, holding nothing.
            Ok(_) => drop(self.0.take()),
            Err(error) => tracing::warn!(%error, job, "could not unlock a job lock; closing its connection"),
        }
    }

    fn discard(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

impl Drop for Unlocking {
    fn drop(&mut self) {
        self.discard();
    }
}
