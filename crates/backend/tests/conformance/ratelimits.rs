//! Throttle counts shared through the database: two nodes count against one
//! limit, a full window refuses all of an attempt's keys or none, and many
//! concurrent attempts take exactly the limit.

use mashangban_store::{AttemptSlot, RateLimitStore};

use crate::support::TestDb;

on_both!(
    two_nodes_count_against_one_limit,
    an_attempt_takes_every_key_or_none,
    concurrent_attempts_take_exactly_the_limit,
    old_windows_are_pruned,
);

fn slot(key: &str, window_start: i64, limit: u32) -> AttemptSlot {
    AttemptSlot { key: key.into(), window_start, limit }
}

async fn two_nodes_count_against_one_limit<T: TestDb>() {
    let db = T::create().await;
    let (a, b) = (db.store(), db.other_node().await);
    let key = || vec![slot("login.account:handler", 900, 3)];
    assert!(a.take_attempts(key()).await.unwrap());
    assert!(b.take_attempts(key()).await.unwrap());
    assert!(a.take_attempts(key()).await.unwrap());
    assert!(!b.take_attempts(key()).await.unwrap(), "the third attempt filled the window for both nodes");
    // An attempt given back on one node frees its slot on the other.
    b.give_back_attempts(key()).await.unwrap();
    assert!(a.take_attempts(key()).await.unwrap());
    assert!(!a.take_attempts(key()).await.unwrap());
    // The next window starts again; a node whose clock is behind counts in the newer window.
    assert!(b.take_attempts(vec![slot("login.account:handler", 1800, 3)]).await.unwrap());
    assert!(a.take_attempts(key()).await.unwrap());
    assert!(a.take_attempts(key()).await.unwrap());
    assert!(!a.take_attempts(key()).await.unwrap());
    // Cleared, the key starts from nothing; a zero limit never admits.
    a.clear_attempts("login.account:handler".into()).await.unwrap();
    assert!(b.take_attempts(key()).await.unwrap());
    assert!(!b.take_attempts(vec![slot("intake.address:1.2.3.4", 900, 0)]).await.unwrap());
}

async fn an_attempt_takes_every_key_or_none<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let both = || vec![slot("lookup.request:ZS1", 0, 5), slot("lookup.address:10.0.0.1", 0, 1)];
    assert!(s.take_attempts(both()).await.unwrap());
    // The address is full: the request's key is not counted either.
    for _ in 0..3 {
        assert!(!s.take_attempts(both()).await.unwrap());
    }
    for _ in 0..4 {
        assert!(s.take_attempts(vec![slot("lookup.request:ZS1", 0, 5)]).await.unwrap());
    }
    assert!(!s.take_attempts(vec![slot("lookup.request:ZS1", 0, 5)]).await.unwrap());
}

async fn concurrent_attempts_take_exactly_the_limit<T: TestDb>() {
    let db = T::create().await;
    let nodes = [db.store(), db.other_node().await];
    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let node = nodes[i % 2].clone();
        set.spawn(async move {
            node.take_attempts(vec![slot("login.address:10.0.0.9", 0, 40), slot("login.account:root", 0, 7)]).await
        });
    }
    let mut taken = 0;
    while let Some(answer) = set.join_next().await {
        taken += usize::from(answer.unwrap().unwrap());
    }
    assert_eq!(taken, 7);
}

async fn old_windows_are_pruned<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    assert!(s.take_attempts(vec![slot("a", 0, 1)]).await.unwrap());
    assert!(s.take_attempts(vec![slot("b", 3600, 1)]).await.unwrap());
    assert_eq!(s.prune_attempts(3600).await.unwrap(), 1);
    assert!(s.take_attempts(vec![slot("a", 0, 1)]).await.unwrap(), "a's window was forgotten");
    assert!(!s.take_attempts(vec![slot("b", 3600, 1)]).await.unwrap(), "b's was kept");
}
