//! The public progress look-up cache (进度查询缓存): the busiest public read,
//! a request with its history by tracking number, kept in memory for the
//! requests askers look up, so that a repeated look-up costs no database
//! round trip (no hop to a reader thread, no rows to map).
//!
//! It is kept exact by the live hub: every change of a request is forgotten
//! here when this node publishes it (right after its commit, before the use
//! case answers) and again when the change feed delivers it (changes made on
//! other nodes, and any write that only the feed reports). A look-up that
//! missed reads the store and fills the cache only if no change of its shard
//! was forgotten meanwhile ([`Ticket`]), so a read that raced a commit never
//! leaves the older version behind.
//!
//! What is cached is the stored record, never a rendered view: the view is
//! built on every look-up from the org tree and calendar in force, the check
//! code is compared on every look-up, and the look-up limits count as before.
//! Each shard is a least-recently-used map; memory is bounded by the entry
//! count (`lookup_cache_entries` in the configuration file, 0 turns it off).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use mashangban_domain::request::{Event, Request};

/// Shards of the cache, each behind its own lock.
const SHARDS: usize = 16;

/// Entries kept unless the configuration says otherwise.
pub const DEFAULT_ENTRIES: usize = 10_000;

/// A request with its history, as the look-up read it.
#[derive(Debug)]
pub struct Looked {
    pub request: Request,
    pub events: Vec<Event>,
}

/// Proof of the shard's state before a store read: a fill is kept only if no
/// change of that shard was forgotten since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    shard: usize,
    generation: u64,
}

struct Shard<V> {
    entries: Option<LruCache<String, Arc<V>>>,
    /// Bumped by every forget: a fill read before it is stale.
    generation: u64,
}

/// The cache of one node: [`Looked`] records by their stored tracking number.
pub struct LookupCache<V = Looked> {
    shards: Vec<Mutex<Shard<V>>>,
}

impl<V> Default for LookupCache<V> {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES)
    }
}

impl<V> LookupCache<V> {
    /// A cache of at most about `entries` requests (none when 0).
    pub fn new(entries: usize) -> Self {
        let per_shard = NonZeroUsize::new(entries.div_ceil(SHARDS));
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Shard { entries: per_shard.map(LruCache::sparse), generation: 0 }))
            .collect();
        Self { shards }
    }

    /// The cached request of `tracking_no`, or the ticket to fill it with after reading the store.
    pub fn get(&self, tracking_no: &str) -> Result<Arc<V>, Ticket> {
        let shard = shard_of(tracking_no);
        let mut guard = self.lock(shard);
        let generation = guard.generation;
        guard.entries.as_mut().and_then(|entries| entries.get(tracking_no).cloned()).ok_or(Ticket { shard, generation })
    }

    /// Keeps what a missed look-up read under its stored tracking number `stored_no`, unless a
    /// change of its shard was forgotten since `ticket` was taken; hands it back either way.
    pub fn fill(&self, ticket: Ticket, stored_no: &str, value: V) -> Arc<V> {
        let value = Arc::new(value);
        // A number typed otherwise than stored is not cached: forgets name the stored one.
        if shard_of(stored_no) == ticket.shard {
            let mut guard = self.lock(ticket.shard);
            if guard.generation == ticket.generation
                && let Some(entries) = guard.entries.as_mut()
            {
                entries.put(stored_no.to_owned(), value.clone());
            }
        }
        value
    }

    /// Drops the request of `tracking_no`: it changed.
    pub fn forget(&self, tracking_no: &str) {
        let mut guard = self.lock(shard_of(tracking_no));
        guard.generation = guard.generation.wrapping_add(1);
        if let Some(entries) = guard.entries.as_mut() {
            entries.pop(tracking_no);
        }
    }

    /// Requests held now.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|s| self.lock(s).entries.as_ref().map_or(0, LruCache::len)).sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Shard<V>> {
        // A panic while holding a shard leaves a consistent map: keep serving.
        self.shards[shard].lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The shard of a tracking number (FNV-1a: short keys, no need for a keyed hash; the keys are
/// tracking numbers the platform made).
fn shard_of(tracking_no: &str) -> usize {
    let hash =
        tracking_no.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    // The low bits of a product see only the low bits of each byte: fold the high ones in.
    ((hash ^ (hash >> 32)) % SHARDS as u64) as usize
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_is_served_until_the_request_changes() {
        let cache = LookupCache::new(100);
        let ticket = cache.get("ZS1").unwrap_err();
        cache.fill(ticket, "ZS1", 1);
        assert_eq!(*cache.get("ZS1").unwrap(), 1);
        cache.forget("ZS1");
        assert!(cache.get("ZS1").is_err(), "a changed request is read again");
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = LookupCache::new(100);
        let ticket = cache.get("ZS1").unwrap_err();
        // The store answered version 1; version 2 committed and was forgotten before the fill.
        cache.forget("ZS1");
        assert_eq!(*cache.fill(ticket, "ZS1", 1), 1, "the reader still gets its answer");
        assert!(cache.get("ZS1").is_err(), "but the older version is not kept");
    }

    #[test]
    fn a_number_typed_otherwise_than_stored_is_not_kept() {
        let cache = LookupCache::<i64>::new(100);
        let typed = (0..100).map(|i| format!("zs{i}")).find(|n| shard_of(n) != shard_of(&n.to_uppercase())).unwrap();
        let ticket = cache.get(&typed).unwrap_err();
        cache.fill(ticket, &typed.to_uppercase(), 1);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_least_recently_looked_up_go_first_and_zero_keeps_nothing() {
        let cache = LookupCache::<i64>::new(SHARDS);
        let same_shard: Vec<String> =
            (0..1000).map(|i| format!("ZS{i}")).filter(|n| shard_of(n) == shard_of("ZS0")).take(2).collect();
        for no in &same_shard {
            let ticket = cache.get(no).unwrap_err();
            cache.fill(ticket, no, 1);
        }
        assert!(cache.get(&same_shard[0]).is_err() && cache.get(&same_shard[1]).is_ok(), "one per shard");
        let off = LookupCache::new(0);
        let ticket = off.get("ZS1").unwrap_err();
        off.fill(ticket, "ZS1", 1);
        assert!(off.get("ZS1").is_err());
    }
}
