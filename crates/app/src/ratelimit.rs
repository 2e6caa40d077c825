//! A small in-memory sliding-window rate limiter keyed by strings
//! (client address, user name). One node's memory; a multi-node deployment
//! limits per node.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::Duration;

use mashangban_domain::time::Instant;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, hits: Mutex::new(HashMap::new()) }
    }

    /// Whether `key` is still under its limit (without counting a hit).
    pub fn allows(&self, key: &str, now: Instant) -> bool {
        let Ok(mut hits) = self.hits.lock() else { return true };
        let window = self.window;
        match hits.get_mut(key) {
            Some(q) => {
                while q.front().is_some_and(|t| now - *t >= window) {
                    q.pop_front();
                }
                (q.len() as u32) < self.limit
            }
            None => true,
        }
    }

    /// Counts a hit for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let Ok(mut hits) = self.hits.lock() else { return };
        if hits.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget the oldest windows.
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now - *t < window));
        }
        hits.entry(key.to_owned()).or_default().push_back(now);
    }

    /// Checks and counts in one step; false when over the limit.
    pub fn hit(&self, key: &str, now: Instant) -> bool {
        if !self.allows(key, now) {
            return false;
        }
        self.record(key, now);
        true
    }

    pub fn clear(&self, key: &str) {
        if let Ok(mut hits) = self.hits.lock() {
            hits.remove(key);
        }
    }
}
