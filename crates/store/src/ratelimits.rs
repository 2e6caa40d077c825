//! Throttle counts (限流计数) kept in the database: attempts per key per fixed
//! window, so that every app node on one PostgreSQL database counts against
//! one limit instead of one limit each.

use std::future::Future;

use crate::StoreResult;

/// One key's allowance in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptSlot {
    /// The throttle's name and its subject, e.g. `login.account:alice`.
    pub key: String,
    /// The window's start, Unix seconds.
    pub window_start: i64,
    /// Attempts the window allows.
    pub limit: u32,
}

/// Counting attempts atomically across nodes.
pub trait RateLimitStore {
    /// Counts one attempt in every slot, each only while it is under its
    /// limit in its window, or in none of them; whether it was counted. The
    /// check and the count are one atomic step.
    fn take_attempts(&self, slots: Vec<AttemptSlot>) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Gives back one counted attempt of each slot whose window is still the stored one.
    fn give_back_attempts(&self, slots: Vec<AttemptSlot>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Forgets every attempt of `key`.
    fn clear_attempts(&self, key: String) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes the counts of windows that started before `window_start`; how many.
    fn prune_attempts(&self, window_start: i64) -> impl Future<Output = StoreResult<u64>> + Send;
}
