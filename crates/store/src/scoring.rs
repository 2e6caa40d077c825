//! Department scoring (考核): rollups kept with the events, rebuildable from them.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::scoring::{Period, Report, ScoreOptions};

use crate::StoreResult;

/// What a rebuild of the rollups went through and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RebuildSummary {
    pub requests: u64,
    pub events: u64,
    /// Rows of (day, unit) counters written.
    pub day_rows: u64,
    /// Rows of (month, unit) counters written.
    pub month_rows: u64,
}

/// Storage of scoring rollups. Every backend updates them in the transaction
/// of each event (with `mashangban_domain::scoring::Tracker`), so a report
/// is a sum of rows and never a scan of the events.
pub trait ScoringStore {
    /// The report over the period, summed from the rollups. Equal to
    /// `mashangban_domain::scoring::score_from_events` over all events.
    fn score_report(&self, period: Period, options: ScoreOptions) -> impl Future<Output = StoreResult<Report>> + Send;

    /// Deletes every rollup and recomputes them from all events, in one write transaction.
    fn rebuild_scoring(&self) -> impl Future<Output = StoreResult<RebuildSummary>> + Send;
}
