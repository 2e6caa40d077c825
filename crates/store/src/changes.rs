//! The durable change feed (变更流): every committed change appends a row
//! with a monotonic position in the change's own transaction. Consumers keep
//! their own stored cursor and catch up after a restart or a lost wake-up
//! signal; `LISTEN/NOTIFY` between nodes is only a wake-up.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A place in the feed. Changes are ordered by (tx, position): on SQLite `tx`
/// is always 0 and the position is the commit order; on PostgreSQL `tx` is the
/// writing transaction's id (see the `changes` migration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ChangeCursor {
    pub tx: i64,
    pub position: i64,
}

/// What kind of record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEntity {
    /// A request (by tracking number).
    Request,
    /// Units, users' units or categories.
    Catalog,
    /// The time-limit rules.
    Rules,
    /// The work calendar.
    Calendar,
    /// An approval project (by id): 拿地即开工 live pages reload it.
    Approval,
    /// A new version of the approval plan template (by the version's id), in force for new projects.
    ApprovalTemplate,
    /// A ledger item (by `type:key`) or a ledger type (by code).
    Ledger,
    /// A statistics value (by `indicator:period key`) or the indicator catalogue (empty key).
    Statistics,
    /// A monitoring point or one of its alerts (by the point's id): monitoring pages reload it.
    Monitoring,
    /// A person's inbox (by user id): new entries or entries read; the live unread count reloads.
    Inbox,
    /// A direct-line item (直通车来信, by id): every step in its history; the live lists reload it.
    DirectLine,
    /// A versioned settings table (by table name: duplicate thresholds, screening settings,
    /// automatic dispatch rules): a new version is in force.
    Settings,
}

impl ChangeEntity {
    pub const ALL: [ChangeEntity; 12] = [
        Self::Request,
        Self::Catalog,
        Self::Rules,
        Self::Calendar,
        Self::Approval,
        Self::ApprovalTemplate,
        Self::Ledger,
        Self::Statistics,
        Self::Monitoring,
        Self::Inbox,
        Self::DirectLine,
        Self::Settings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Catalog => "catalog",
            Self::Rules => "rules",
            Self::Calendar => "calendar",
            Self::Approval => "approval",
            Self::ApprovalTemplate => "approval_template",
            Self::Ledger => "ledger",
            Self::Statistics => "statistics",
            Self::Monitoring => "monitoring",
            Self::Inbox => "inbox",
            Self::DirectLine => "direct_line",
            Self::Settings => "settings",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub cursor: ChangeCursor,
    pub at: Instant,
    pub entity: ChangeEntity,
    /// The record: a tracking number, an id, or empty for a whole catalogue.
    pub key: String,
    /// How it changed, e.g. an event kind (`dispatched`) or `published`.
    pub kind: String,
}

/// Reading the feed and keeping consumers' cursors.
pub trait ChangeStore {
    /// Committed changes after `cursor`, oldest first, at most `limit`. No
    /// change can commit later with a cursor at or before the last one answered.
    fn changes_after(&self, cursor: ChangeCursor, limit: u32) -> impl Future<Output = StoreResult<Vec<Change>>> + Send;

    /// The cursor of the last change a reader can see now (start here to read
    /// only what happens from now on).
    fn feed_head(&self) -> impl Future<Output = StoreResult<ChangeCursor>> + Send;

    /// A consumer's stored cursor, if it has one.
    fn load_cursor(&self, consumer: &str) -> impl Future<Output = StoreResult<Option<ChangeCursor>>> + Send;

    /// Stores a consumer's cursor (it has handled everything up to it).
    fn save_cursor(
        &self,
        consumer: &str,
        cursor: ChangeCursor,
        now: Instant,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes changes recorded before `before`; how many.
    fn prune_changes(&self, before: Instant) -> impl Future<Output = StoreResult<u64>> + Send;
}
