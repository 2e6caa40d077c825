//! Storage of the thresholds of duplicate and hot-issue detection (疑似重复与热点问题的阈值): versioned,
//! each version with who saved it and when, so every change is on record.

use std::future::Future;

use mashangban_domain::duplicates::Thresholds;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// One version of the thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdsVersion {
    pub version: i64,
    pub thresholds: Thresholds,
    /// Who saved it (their name).
    pub changed_by: String,
    pub changed_at: Instant,
}

/// Storage of the duplicate and hot-issue thresholds.
pub trait DuplicateStore {
    /// The thresholds in force (the newest version); None before an administrator saved any.
    fn duplicate_thresholds(&self) -> impl Future<Output = StoreResult<Option<ThresholdsVersion>>> + Send;

    /// The newest `limit` versions, newest first.
    fn duplicate_thresholds_history(
        &self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ThresholdsVersion>>> + Send;

    /// Saves a new version (one more than the newest) and answers it.
    fn save_duplicate_thresholds(
        &self,
        thresholds: Thresholds,
        changed_by: String,
        at: Instant,
    ) -> impl Future<Output = StoreResult<ThresholdsVersion>> + Send;
}
