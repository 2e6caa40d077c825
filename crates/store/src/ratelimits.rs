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

/// Several attempts of one slot leased to a node, or given back by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLease {
    pub slot: AttemptSlot,
    /// How many attempts.
    pub count: u32,
}

/// What a lease counted: how many attempts, and in which window. The
/// database counts in the newer of the asked window and the one it holds
/// (a node whose clock is behind still counts against the current window),
/// so the node keeps its lease under the window the database names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub count: u32,
    /// The window counted in, Unix seconds.
    pub window_start: i64,
}

/// Counting attempts atomically across nodes.
pub trait RateLimitStore {
    /// Counts up to `count` attempts of each lease's slot for one node to
    /// hand out itself, each only while its window is under its limit; how
    /// many were counted and in which window, lease by lease (0 where the
    /// window is full). The check and the count are one atomic step per slot.
    fn lease_attempts(&self, wanted: Vec<AttemptLease>) -> impl Future<Output = StoreResult<Vec<Granted>>> + Send;

    /// Gives back leased attempts that were not used up, each lease in its
    /// window only (a window that has turned started again anyway).
    fn return_attempts(&self, leases: Vec<AttemptLease>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Forgets every attempt of `key`.
    fn clear_attempts(&self, key: String) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes the counts of windows that started before `window_start`; how many.
    fn prune_attempts(&self, window_start: i64) -> impl Future<Output = StoreResult<u64>> + Send;
}
