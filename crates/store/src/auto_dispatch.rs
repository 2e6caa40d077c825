//! Storage of automatic dispatch (自动派单): which categories go straight to the unit suggested first
//! and at what confidence — versioned, each version with who saved it and when, so every change is on
//! record.

use std::future::Future;

use mashangban_domain::dispatch::AutoRules;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// One version of the automatic dispatch rules.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoDispatchVersion {
    pub version: i64,
    pub rules: AutoRules,
    /// Who saved it (their name).
    pub changed_by: String,
    pub changed_at: Instant,
}

/// Storage of the automatic dispatch rules.
pub trait AutoDispatchStore {
    /// The rules in force (the newest version); None before an administrator saved any.
    fn auto_dispatch(&self) -> impl Future<Output = StoreResult<Option<AutoDispatchVersion>>> + Send;

    /// The newest `limit` versions, newest first.
    fn auto_dispatch_history(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<AutoDispatchVersion>>> + Send;

    /// Saves a new version (one more than the newest) and answers it.
    fn save_auto_dispatch(
        &self,
        rules: AutoRules,
        changed_by: String,
        at: Instant,
    ) -> impl Future<Output = StoreResult<AutoDispatchVersion>> + Send;
}
