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
//! by every node, and each node leases attempts from them in chunks
//! ([`Leases`]); SQLite serves one node and counts in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant as Elapsed};

use mashangban_domain::time::Instant;
use mashangban_store::{AttemptLease, AttemptSlot, Granted, RateLimitStore};

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

/// Most attempts of one key a node leases at once.
const MAX_LEASE: u32 = 64;

/// How long a node keeps spare leased attempts after their key's last use.
const LEASE_IDLE: Duration = Duration::from_secs(1);

/// The slots an attempt holds, to give back if it was not a failure.
#[derive(Default)]
#[must_use = "an attempt that was not a failure gives its slots back"]
pub struct Attempt {
    pub(crate) slots: Vec<AttemptSlot>,
    /// The node's leases the attempt was taken from (shared counts): dropped
    /// without being given back, the attempt is used up.
    pub(crate) leases: Option<Arc<Leases>>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Some(leases) = self.leases.take() {
            leases.use_up(&self.slots);
        }
    }
}

/// The attempts this node has leased from the shared counts, to hand out itself.
///
/// Every attempt being evaluated on any node is counted in the database
/// before it is evaluated, as with a single `take_attempts`; but a node
/// leases a key's attempts in chunks (at most an eighth of the limit, so a
/// node's spare leaves room for the others), and an attempt given back (a
/// correct check code or password) returns to the node's spare instead of
/// the database. The common success costs no write and never waits on a
/// row another look-up holds; a failure uses its attempt up. Spare attempts
/// unused for [`LEASE_IDLE`] go back to the database; a node that stops
/// holding some leaves them counted until their window ends.
///
/// A key's lease is held under the window the database counted it in,
/// which is newer than the node's own when another node (or this node's
/// clock, set back) is behind: attempts, releases and returns all name the
/// database's window, so none is lost between two windows.
#[derive(Default)]
pub struct Leases {
    held: Mutex<HashMap<String, Held>>,
}

/// One key's leased attempts on this node, in one window.
struct Held {
    window_start: i64,
    leased: u32,
    in_use: u32,
    last_used: Elapsed,
}

/// What [`Leases::take_spare`] could not take from the node's spare.
pub(crate) struct Shortfall {
    /// The slots it took (to release should the rest not come).
    pub taken: Vec<AttemptSlot>,
    /// What to lease from the database for the others.
    pub wanted: Vec<AttemptLease>,
}

impl Leases {
    /// Takes a spare attempt of every slot that has one; what is missing.
    /// A spare held in a newer window than the slot's serves it (the
    /// database would count the slot in that window too), and the slot taken
    /// names the held window.
    pub(crate) fn take_spare(&self, slots: &[AttemptSlot]) -> Shortfall {
        let mut short = Shortfall { taken: Vec::new(), wanted: Vec::new() };
        let Ok(mut held) = self.held.lock() else {
            short.wanted = slots.iter().map(lease_of).collect();
            return short;
        };
        let now = Elapsed::now();
        for slot in slots {
            match held.get_mut(&slot.key) {
                Some(h) if h.window_start >= slot.window_start && h.leased > h.in_use => {
                    h.in_use += 1;
                    h.last_used = now;
                    short.taken.push(AttemptSlot { window_start: h.window_start, ..slot.clone() });
                }
                _ => short.wanted.push(lease_of(slot)),
            }
        }
        short
    }

    /// Adds what the database `granted` for `wanted` to the spare, one
    /// attempt of each taken at once; the slots taken, each in the window the
    /// database counted it in. A lease in another window than the one held
    /// voids the held one: the database's row has moved on to a newer window
    /// or was cleared, so the old spare is no longer counted there.
    pub(crate) fn add_taking_one(&self, wanted: &[AttemptLease], granted: &[Granted]) -> Vec<AttemptSlot> {
        let taken = wanted
            .iter()
            .zip(granted)
            .map(|(lease, g)| AttemptSlot { window_start: g.window_start, ..lease.slot.clone() })
            .collect();
        let Ok(mut held) = self.held.lock() else { return taken };
        let now = Elapsed::now();
        for (lease, g) in wanted.iter().zip(granted) {
            let fresh = || Held { window_start: g.window_start, leased: 0, in_use: 0, last_used: now };
            let h = held.entry(lease.slot.key.clone()).or_insert_with(fresh);
            if h.window_start != g.window_start {
                *h = fresh();
            }
            h.leased += g.count;
            h.in_use += 1;
            h.last_used = now;
        }
        taken
    }

    /// Gives back attempts that were not failures to the spare.
    pub(crate) fn release(&self, slots: &[AttemptSlot]) {
        self.finish(slots, false);
    }

    /// Uses attempts up (failures): they stay counted in the database.
    fn use_up(&self, slots: &[AttemptSlot]) {
        self.finish(slots, true);
    }

    fn finish(&self, slots: &[AttemptSlot], used_up: bool) {
        let Ok(mut held) = self.held.lock() else { return };
        for slot in slots {
            if let Some(h) = held.get_mut(&slot.key)
                && h.window_start == slot.window_start
                && h.in_use > 0
            {
                h.in_use -= 1;
                if used_up {
                    h.leased = h.leased.saturating_sub(1);
                }
            }
        }
    }

    /// Forgets the lease of `key` (its count was cleared).
    pub(crate) fn clear(&self, key: &str) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(key);
        }
    }

    /// Takes out the spare attempts of keys not used for `idle`, to return to the database.
    fn idle(&self, idle: Duration) -> Vec<AttemptLease> {
        let Ok(mut held) = self.held.lock() else { return Vec::new() };
        let mut returned = Vec::new();
        held.retain(|key, h| {
            if h.in_use > 0 || h.last_used.elapsed() < idle {
                return true;
            }
            if h.leased > 0 {
                let slot = AttemptSlot { key: key.clone(), window_start: h.window_start, limit: 0 };
                returned.push(AttemptLease { slot, count: h.leased });
            }
            false
        });
        returned
    }
}

/// What to lease for `slot`: a chunk of at most an eighth of its limit.
fn lease_of(slot: &AttemptSlot) -> AttemptLease {
    AttemptLease { slot: slot.clone(), count: (slot.limit / 8).clamp(1, MAX_LEASE) }
}

/// Returns idle spare attempts to the database every [`LEASE_IDLE`], until the leases are dropped.
pub(crate) fn spawn_lease_returns<S: RateLimitStore + Send + Sync + 'static>(store: S, leases: Weak<Leases>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(LEASE_IDLE);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(leases) = leases.upgrade() else { return };
            let returned = leases.idle(LEASE_IDLE);
            drop(leases);
            if !returned.is_empty()
                && let Err(error) = store.return_attempts(returned).await
            {
                // They stay counted until their windows end (the safe side).
                tracing::warn!(%error, "spare throttle attempts were not returned");
            }
        }
    });
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

    fn lease(key: &str, window_start: i64, count: u32) -> AttemptLease {
        AttemptLease { slot: slot(key, window_start, 80), count }
    }

    fn granted(count: u32, window_start: i64) -> Granted {
        Granted { count, window_start }
    }

    #[test]
    fn leased_attempts_are_handed_out_given_back_to_the_spare_and_used_up_by_failures() {
        let leases = Arc::new(Leases::default());
        let a = [slot("a", 0, 80)];
        let short = leases.take_spare(&a);
        assert!(short.taken.is_empty());
        assert_eq!(short.wanted, [lease("a", 0, 10)], "an eighth of the limit");
        leases.add_taking_one(&short.wanted, &[granted(2, 0)]);
        let spare = leases.take_spare(&a);
        assert_eq!((spare.taken.len(), spare.wanted.len()), (1, 0), "the second leased attempt");
        assert_eq!(leases.take_spare(&a).wanted.len(), 1, "both in use");
        // One is given back to the spare; the other is a failure, dropped unreturned.
        leases.release(&a);
        drop(Attempt { slots: a.to_vec(), leases: Some(leases.clone()) });
        assert_eq!(leases.take_spare(&a).taken.len(), 1, "the given-back attempt is handed out again");
        assert_eq!(leases.take_spare(&a).wanted.len(), 1, "the failure's is gone");
        leases.release(&a);
        assert!(leases.idle(Duration::from_secs(60)).is_empty(), "used just now");
        assert_eq!(leases.idle(Duration::ZERO), [AttemptLease { slot: slot("a", 0, 0), count: 1 }]);
        assert_eq!(leases.take_spare(&a).wanted.len(), 1, "returned to the database");
    }

    #[test]
    fn a_shortfall_keeps_what_it_took_and_a_new_window_voids_the_old_lease() {
        let leases = Leases::default();
        let (a, b) = (slot("a", 0, 8), slot("b", 0, 8));
        leases.add_taking_one(&[lease("a", 0, 1)], &[granted(1, 0)]);
        leases.release(std::slice::from_ref(&a));
        let short = leases.take_spare(&[a.clone(), b.clone()]);
        assert_eq!((short.taken, short.wanted), (vec![a.clone()], vec![AttemptLease { slot: b, count: 1 }]));
        // The database refused b: a's attempt is released to the spare, unused.
        leases.release(std::slice::from_ref(&a));
        assert_eq!(leases.take_spare(std::slice::from_ref(&a)).taken.len(), 1);
        leases.release(std::slice::from_ref(&a));
        // The next window starts from nothing: the spare of the last one is void.
        leases.add_taking_one(&[lease("a", 900, 1)], &[granted(1, 900)]);
        assert_eq!(leases.take_spare(&[slot("a", 900, 8)]).wanted.len(), 1, "the one leased is in use");
        assert_eq!(leases.take_spare(&[a]).wanted.len(), 1, "an old window's slot finds nothing");
    }

    #[test]
    fn a_slot_behind_the_database_window_is_held_released_and_returned_in_that_window() {
        // The node's clock is in window 0; the database's row is already in window 900.
        let leases = Arc::new(Leases::default());
        let old = [slot("a", 0, 80)];
        let short = leases.take_spare(&old);
        let taken = leases.add_taking_one(&short.wanted, &[granted(3, 900)]);
        assert_eq!(taken, [slot("a", 900, 80)], "the attempt names the window the database counted it in");
        leases.release(&taken);
        // The spare serves a slot of the older window, as the database would count it in the newer one.
        let spare = leases.take_spare(&old);
        assert_eq!((spare.taken.clone(), spare.wanted.len()), (vec![slot("a", 900, 80)], 0));
        drop(Attempt { slots: spare.taken, leases: Some(leases.clone()) });
        // Two of the three remain, and go back to the window they were counted in.
        assert_eq!(leases.idle(Duration::ZERO), [AttemptLease { slot: slot("a", 900, 0), count: 2 }]);
        // A lease the database counted in another window than the one held voids the held spare.
        leases.add_taking_one(&[lease("b", 900, 4)], &[granted(4, 900)]);
        let newer = leases.add_taking_one(&[lease("b", 1800, 4)], &[granted(4, 1800)]);
        leases.release(&newer);
        leases.release(&[slot("b", 900, 80)]);
        assert_eq!(leases.idle(Duration::ZERO), [AttemptLease { slot: slot("b", 1800, 0), count: 4 }]);
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
