//! What operators' probes and `/metrics` read from the store (运行状态): the
//! schema's version against this program's, the backend's machinery (the
//! SQLite writer's queue and batches, the PostgreSQL pool), and the queues
//! kept in tables (the notification outbox, the change feed and its readers).

use std::future::Future;

use mashangban_domain::time::Instant;

use crate::StoreResult;

/// The schema versions: applied to the database and known to this program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    pub applied: u32,
    pub known: u32,
}

impl SchemaState {
    /// Every migration this program knows is applied (and none newer).
    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}

/// The upper bounds of the writer's batch-size histogram (jobs per transaction).
pub const BATCH_SIZE_BOUNDS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// Counters of the backend's machinery, read without a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machinery {
    /// SQLite: the writer thread's figures; None for PostgreSQL (every node writes).
    pub writer: Option<WriterFigures>,
    /// Connections: SQLite readers or the PostgreSQL pool.
    pub pool: PoolFigures,
}

/// The SQLite writer thread (group commit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterFigures {
    /// Jobs handed to the writer and not yet taken into a transaction.
    pub queued: u64,
    /// Transactions committed or rolled back.
    pub batches: u64,
    /// Jobs run in them.
    pub jobs: u64,
    /// Batches per size bucket, cumulative, one per bound of [`BATCH_SIZE_BOUNDS`].
    pub batch_size_buckets: [u64; BATCH_SIZE_BOUNDS.len()],
}

/// A connection pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolFigures {
    /// The most connections the pool opens.
    pub max: u64,
    /// Connections open now.
    pub open: u64,
    /// Open connections not in use.
    pub idle: u64,
    /// Callers waiting for a connection.
    pub waiting: u64,
}

/// The queues kept in tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Unfinished notification deliveries by status (`failed`, `pending`, `sending`; sent ones are not counted).
    pub outbox: Vec<(String, u64)>,
    /// When the oldest pending delivery fell due; None when none is pending.
    pub outbox_oldest_due: Option<Instant>,
    /// The change feed's newest position (0 when empty).
    pub feed_head: i64,
    /// Each stored cursor of the change feed: consumer, its position.
    pub feed_cursors: Vec<(String, i64)>,
}

pub trait HealthStore {
    /// The schema's state, after a round trip to the database (so an answer means it is reachable).
    fn schema(&self) -> impl Future<Output = StoreResult<SchemaState>> + Send;

    /// The backend's machinery, from counters in memory.
    fn machinery(&self) -> Machinery;

    /// The outbox and the change feed.
    fn queue_figures(&self) -> impl Future<Output = StoreResult<QueueFigures>> + Send;
}
