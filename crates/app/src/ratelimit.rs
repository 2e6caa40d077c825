//! Throttles (限流) of the sign-in and public paths: how many attempts a key
//! (an account, a tracking number, a client address) may make per fixed
//! window.
//!
//! An attempt is *reserved* before it is evaluated — the check and the count
//! are one atomic step — so concurrent attempts cannot all pass a check made
//! before any of them is counted. What turns out not to be a failure (a
//! correct password, a correct check code, an intake refused as invalid) is
//! given back afterwards. Several keys are reserved all or none. On
//! PostgreSQL the counts are kept in the database (`RateLimitStore`), shared
//! by every node; SQLite serves one node and counts in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use mashangban_domain::time::Instant;
use mashangban_store::AttemptSlot;

/// The longest key kept; longer subjects are cut (keys come from outside input).
const MAX_SUBJECT_CHARS: usize = 64;

/// Keys kept in memory before stale windows are dropped.
const MAX_MEMORY_KEYS: usize = 100_000;

/// One kind of attempt and its allowance: `limit` per window of `window_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// Prefix of its keys, e.g. `login.account`.
    pub name: &'static str,
    pub limit: u32,
    pub window_seconds: i64,
}

impl Throttle {
    pub const fn new(name: &'static str, limit: u32, window_seconds: i64) -> Self {
        Self { name, limit, window_seconds }
    }

    /// The start (Unix seconds) of the window `now` falls in.
    pub fn window_start(&self, now: &Instant) -> i64 {
        let size = self.window_seconds.max(1);
        now.timestamp().div_euclid(size) * size
    }

    /// The key of `subject` under this throttle.
    pub fn key(&self, subject: &str) -> String {
        let subject: String = subject.chars().take(MAX_SUBJECT_CHARS).collect();
        format!("{}:{subject}", self.name)
    }
}

/// The slots an attempt holds, to give back if it was not a failure.
#[derive(Debug, Default)]
#[must_use = "an attempt that was not a failure gives its slots back"]
pub struct Attempt {
    pub(crate) slots: Vec<AttemptSlot>,
}

/// Counts kept in this node's memory: `key → (window start, count)`.
#[derive(Default)]
pub struct MemoryCounts {
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl MemoryCounts {
    /// Counts one attempt in every slot, or in none when one is full.
    pub fn take(&self, slots: &[AttemptSlot]) -> bool {
        let Ok(mut counts) = self.counts.lock() else { return false };
        let full = slots.iter().any(|s| match counts.get(&s.key) {
            Some((start, n)) if *start == s.window_start => *n >= s.limit,
            _ => s.limit == 0,
        });
        if full {
            return false;
        }
        if counts.len() > MAX_MEMORY_KEYS {
            // Bound memory under a flood of distinct keys: forget windows that have passed.
            let oldest = slots.iter().map(|s| s.window_start).min().unwrap_or(i64::MIN);
            counts.retain(|_, (start, _)| *start >= oldest);
        }
        for s in slots {
            let entry = counts.entry(s.key.clone()).or_insert((s.window_start, 0));
            if entry.0 != s.window_start {
                *entry = (s.window_start, 0);
            }
            entry.1 += 1;
        }
        true
    }

    /// Gives back one counted attempt of each slot (still in its window).
    pub fn give_back(&self, slots: &[AttemptSlot]) {
        let Ok(mut counts) = self.counts.lock() else { return };
        for s in slots {
            if let Some((start, n)) = counts.get_mut(&s.key)
                && *start == s.window_start
            {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Forgets every attempt of `key`.
    pub fn clear(&self, key: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn slot(key: &str, window_start: i64, limit: u32) -> AttemptSlot {
        AttemptSlot { key: key.into(), window_start, limit }
    }

    #[test]
    fn takes_up_to_the_limit_then_refuses_all_or_none() {
        let m = MemoryCounts::default();
        assert!(m.take(&[slot("a", 0, 2), slot("b", 0, 5)]));
        assert!(m.take(&[slot("a", 0, 2), slot("b", 0, 5)]));
        // "a" is full: "b" is not counted either.
        assert!(!m.take(&[slot("a", 0, 2), slot("b", 0, 5)]));
        assert!(m.take(&[slot("b", 0, 3)]));
        assert!(!m.take(&[slot("b", 0, 3)]));
        // A new window starts from zero.
        assert!(m.take(&[slot("a", 900, 2)]));
    }

    #[test]
    fn given_back_and_cleared_attempts_free_their_slots() {
        let m = MemoryCounts::default();
        assert!(m.take(&[slot("a", 0, 1)]));
        m.give_back(&[slot("a", 0, 1)]);
        assert!(m.take(&[slot("a", 0, 1)]));
        assert!(!m.take(&[slot("a", 0, 1)]));
        m.clear("a");
        assert!(m.take(&[slot("a", 0, 1)]));
        // Giving back in a later window does not free the new one.
        m.give_back(&[slot("a", 900, 1)]);
        assert!(!m.take(&[slot("a", 0, 1)]));
    }

    #[test]
    fn windows_are_fixed_and_keys_bounded() {
        let t = Throttle::new("login.account", 5, 900);
        let at = |s: &str| mashangban_domain::time::parse_instant(s).unwrap();
        assert_eq!(t.window_start(&at("2026-12-03T10:14:59+08:00")), t.window_start(&at("2026-12-03T10:00:00+08:00")));
        assert_ne!(t.window_start(&at("2026-12-03T10:15:00+08:00")), t.window_start(&at("2026-12-03T10:14:59+08:00")));
        assert_eq!(t.key(&"户".repeat(1000)).chars().count(), "login.account:".len() + MAX_SUBJECT_CHARS);
    }
}
