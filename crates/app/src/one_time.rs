//! One-time hand-over of a secret made by a form post (Post/Redirect/Get, issue 18): the post leaves the
//! secret here under a random ticket and answers 303 to a page naming only the ticket; that page takes it
//! out, once, for the same signed-in session. The secret is never in a URL, a cookie or the database in clear.
//!
//! Held in this node's memory only: the `GET` after the 303 normally reaches the same node; on another node
//! (or after a restart) the secret is not there and the page says it cannot be shown again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::accounts::CreatedApiToken;
use crate::caller::Caller;

/// How long a secret waits for its page.
pub const HOLD_FOR: Duration = Duration::from_secs(5 * 60);
/// The most secrets waiting at once on a node; beyond it the oldest is dropped.
pub const MOST_HELD: usize = 64;

/// Values waiting to be shown once, each to the owner that left it, for a short while.
#[derive(Debug)]
pub struct OneTime<T> {
    held: Mutex<HashMap<String, Held<T>>>,
    hold_for: Duration,
    most: usize,
}

#[derive(Debug)]
struct Held<T> {
    owner: String,
    since: Instant,
    value: T,
}

impl<T> OneTime<T> {
    pub fn new(hold_for: Duration, most: usize) -> Self {
        Self { held: Mutex::new(HashMap::new()), hold_for, most: most.max(1) }
    }

    /// Leaves `value` for `owner`; the ticket (128 random bits, hex) that takes it back.
    pub fn put(&self, owner: &str, value: T) -> String {
        self.put_at(owner, value, Instant::now())
    }

    /// The value under `ticket`, removed, if `owner` left it and it has not expired. Anyone else's
    /// attempt finds nothing and leaves it in place.
    pub fn take(&self, owner: &str, ticket: &str) -> Option<T> {
        self.take_at(owner, ticket, Instant::now())
    }

    /// How many values wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put_at(&self, owner: &str, value: T, now: Instant) -> String {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let ticket = hex::encode(bytes);
        let mut held = self.lock();
        held.retain(|_, h| now.saturating_duration_since(h.since) < self.hold_for);
        while held.len() >= self.most {
            let Some(oldest) = held.iter().min_by_key(|(_, h)| h.since).map(|(k, _)| k.clone()) else { break };
            held.remove(&oldest);
        }
        held.insert(ticket.clone(), Held { owner: owner.to_owned(), since: now, value });
        ticket
    }

    fn take_at(&self, owner: &str, ticket: &str, now: Instant) -> Option<T> {
        let mut held = self.lock();
        if held.get(ticket).is_none_or(|h| h.owner != owner) {
            return None;
        }
        let h = held.remove(ticket)?;
        (now.saturating_duration_since(h.since) < self.hold_for).then_some(h.value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held<T>>> {
        // A panic while holding the lock leaves a usable map (each step keeps it whole).
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T> Default for OneTime<T> {
    fn default() -> Self {
        Self::new(HOLD_FOR, MOST_HELD)
    }
}

/// API tokens created on the users page, waiting for the page that shows their secret once.
#[derive(Debug, Default)]
pub struct CreatedTokens(OneTime<CreatedApiToken>);

impl CreatedTokens {
    /// Leaves `created` for the caller's signed-in session; the ticket the redirect names.
    pub fn hold(&self, caller: &Caller, created: CreatedApiToken) -> String {
        self.0.put(&owner(caller), created)
    }

    /// The token under `ticket` if this session left it here, on this node, in the last few minutes and
    /// nobody took it yet; `None` otherwise (shown already, expired, another session or node).
    pub fn take(&self, caller: &Caller, ticket: &str) -> Option<CreatedApiToken> {
        self.0.take(&owner(caller), ticket)
    }
}

/// Who may take a held value: the signed-in person and their session (a cookie's hash, never the cookie).
fn owner(caller: &Caller) -> String {
    let person = caller.actor.user_id().map_or_else(|| caller.actor.name().to_owned(), |id| id.to_string());
    format!("{person} {}", caller.session_hash.as_deref().unwrap_or("-"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_taken_once_by_its_owner_only() {
        let held = OneTime::new(Duration::from_secs(60), 8);
        let ticket = held.put("alice", "secret");
        assert_eq!(ticket.len(), 32);
        assert_eq!(held.take("bob", &ticket), None, "another owner");
        assert_eq!(held.take("alice", "nosuch"), None);
        assert_eq!(held.take("alice", &ticket), Some("secret"), "left in place by bob's attempt");
        assert_eq!(held.take("alice", &ticket), None, "once");
        assert!(held.is_empty());
        assert_ne!(held.put("alice", "a"), held.put("alice", "b"), "tickets differ");
    }

    #[test]
    fn a_value_expires_and_the_oldest_goes_beyond_the_cap() {
        let held = OneTime::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        let old = held.put_at("a", 1, t0);
        assert_eq!(held.take_at("a", &old, t0 + Duration::from_secs(60)), None, "expired");
        assert!(held.is_empty(), "and dropped");
        let tickets: Vec<String> = (0..5).map(|i| held.put_at("a", i, t0 + Duration::from_secs(i))).collect();
        assert_eq!(held.len(), 3, "bounded");
        assert_eq!(held.take_at("a", &tickets[0], t0 + Duration::from_secs(6)), None, "the oldest went first");
        assert_eq!(held.take_at("a", &tickets[1], t0 + Duration::from_secs(6)), None);
        assert_eq!(held.take_at("a", &tickets[4], t0 + Duration::from_secs(6)), Some(4));
        // Expired ones go before any live one.
        let late = held.put_at("a", 9, t0 + Duration::from_secs(100));
        assert_eq!(held.len(), 1, "the expired were dropped on the way");
        assert_eq!(held.take_at("a", &late, t0 + Duration::from_secs(101)), Some(9));
    }
}
