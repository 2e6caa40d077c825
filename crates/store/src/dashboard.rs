//! The leader dashboard (领导驾驶舱): rollups kept with every change of a
//! request, rebuildable from the requests.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::dashboard::Dashboard;
use mashangban_domain::scoring::{Period, ScoreOptions};

use crate::StoreResult;

/// A dashboard to compute: a period of whole days (Asia/Shanghai) and the
/// satisfaction rule's option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardQuery {
    pub period: Period,
    pub options: ScoreOptions,
}

/// What a rebuild of the dashboard rollups went through and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DashboardRebuild {
    pub requests: u64,
    /// Rows of (day, dimension, key) written.
    pub day_rows: u64,
    /// Rows of (month, dimension, key) written.
    pub month_rows: u64,
}

/// Storage of the dashboard rollups. Every backend adds
/// `mashangban_domain::dashboard::change(before, after)` to its day and month
/// rollups in the transaction that writes a request (intake and every
/// action), so a dashboard is a sum of rows and never a scan of the requests.
pub trait DashboardStore {
    /// The dashboard of the period: whole months from the month rollups plus
    /// the days at either end from the day rollups; the trend from the city's
    /// day rows. Equal to a `GROUP BY` over the requests as they are now.
    fn dashboard(&self, query: DashboardQuery) -> impl Future<Output = StoreResult<Dashboard>> + Send;

    /// Deletes the dashboard rollups and recomputes them from every request,
    /// in one write transaction.
    fn rebuild_dashboard(&self) -> impl Future<Output = StoreResult<DashboardRebuild>> + Send;
}
