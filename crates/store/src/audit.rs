//! Tamper-evident history (防篡改留痕): the SM3 seals written with every
//! request event and every ledger item event (see [`mashangban_domain::audit`]), the anchors that digest
//! every chain's head, and the walk that verifies them.

use std::future::Future;

use mashangban_domain::audit::{Anchor, Report};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// An anchor as kept in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnchor {
    pub at: Instant,
    pub anchor: Anchor,
}

pub trait AuditStore {
    /// Seals, once, the events of requests, ledger items and the other sealed
    /// histories written before their seals existed (every later event is
    /// sealed in its own transaction); how many records it took.
    fn seal_legacy_events(&self, now: Instant) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Digests the chain heads of the events written before `settled` (so no
    /// transaction still open can add an event under the anchor) and keeps
    /// the anchor; None when there are no such events or that anchor is kept already.
    fn record_anchor(
        &self,
        settled: Instant,
        now: Instant,
    ) -> impl Future<Output = StoreResult<Option<StoredAnchor>>> + Send;

    /// The anchors kept, oldest first.
    fn anchors(&self) -> impl Future<Output = StoreResult<Vec<StoredAnchor>>> + Send;

    /// Recomputes every request's chain from its events and checks `anchors`
    /// against the recomputed heads, then every ledger item's chain.
    fn verify_history(&self, anchors: Vec<Anchor>) -> impl Future<Output = StoreResult<Report>> + Send;
}
