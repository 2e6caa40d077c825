//! Throttle counts shared through the database: nodes lease attempts
//! against one limit, a lease never takes more than the window has left,
//! returned attempts free their slots, and many concurrent leases take
//! exactly the limit.

use mashangban_store::{AttemptLease, AttemptSlot, Granted, RateLimitStore};

use crate::support::TestDb;

on_both!(
    two_nodes_lease_against_one_limit,
    a_lease_takes_what_the_window_has_left,
    concurrent_leases_take_exactly_the_limit,
    old_windows_are_pruned,
);

fn lease(key: &str, window_start: i64, limit: u32, count: u32) -> Vec<AttemptLease> {
    vec![AttemptLease { slot: AttemptSlot { key: key.into(), window_start, limit }, count }]
}

/// How many attempts each lease was granted.
fn counts(granted: Vec<Granted>) -> Vec<u32> {
    granted.iter().map(|g| g.count).collect()
}

async fn two_nodes_lease_against_one_limit<T: TestDb>() {
    let db = T::create().await;
    let (a, b) = (db.store(), db.other_node().await);
    let one = || lease("login.account:handler", 900, 3, 1);
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [1]);
    assert_eq!(counts(b.lease_attempts(one()).await.unwrap()), [1]);
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [1]);
    assert_eq!(
        counts(b.lease_attempts(one()).await.unwrap()),
        [0],
        "the third attempt filled the window for both nodes"
    );
    // An attempt returned by one node frees its slot on the other.
    b.return_attempts(one()).await.unwrap();
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [1]);
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [0]);
    // The next window starts again; a node whose clock is behind counts in the newer window.
    assert_eq!(counts(b.lease_attempts(lease("login.account:handler", 1800, 3, 1)).await.unwrap()), [1]);
    let behind = a.lease_attempts(lease("login.account:handler", 900, 3, 5)).await.unwrap();
    assert_eq!(behind, [Granted { count: 2, window_start: 1800 }], "counted in, and named by, the newer window");
    // A return to a window that has turned frees nothing in the new one; to the window named, it does.
    a.return_attempts(one()).await.unwrap();
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [0]);
    a.return_attempts(lease("login.account:handler", 1800, 3, 1)).await.unwrap();
    assert_eq!(counts(a.lease_attempts(one()).await.unwrap()), [1]);
    // Cleared, the key starts from nothing; a zero limit never admits.
    a.clear_attempts("login.account:handler".into()).await.unwrap();
    assert_eq!(counts(b.lease_attempts(one()).await.unwrap()), [1]);
    assert_eq!(counts(b.lease_attempts(lease("intake.address:1.2.3.4", 900, 0, 1)).await.unwrap()), [0]);
}

async fn a_lease_takes_what_the_window_has_left<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let both = |count| {
        let mut wanted = lease("lookup.request:ZS1", 0, 5, count);
        wanted.extend(lease("lookup.address:10.0.0.1", 0, 100, count));
        wanted
    };
    // Answers come in the order asked, whatever order the rows are locked in.
    assert_eq!(counts(s.lease_attempts(both(4)).await.unwrap()), [4, 4]);
    assert_eq!(counts(s.lease_attempts(both(4)).await.unwrap()), [1, 4], "one left under the request's limit");
    assert_eq!(counts(s.lease_attempts(both(4)).await.unwrap()), [0, 4]);
    // Returning more than was counted leaves zero, not a negative count.
    s.return_attempts(lease("lookup.request:ZS1", 0, 5, 9)).await.unwrap();
    assert_eq!(counts(s.lease_attempts(lease("lookup.request:ZS1", 0, 5, 9)).await.unwrap()), [5]);
}

async fn concurrent_leases_take_exactly_the_limit<T: TestDb>() {
    let db = T::create().await;
    let nodes = [db.store(), db.other_node().await];
    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let node = nodes[i % 2].clone();
        set.spawn(async move { node.lease_attempts(lease("login.account:root", 0, 7, 1 + (i as u32 % 3))).await });
    }
    let mut taken = 0;
    while let Some(answer) = set.join_next().await {
        taken += answer.unwrap().unwrap()[0].count;
    }
    assert_eq!(taken, 7);
}

async fn old_windows_are_pruned<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    assert_eq!(counts(s.lease_attempts(lease("a", 0, 1, 1)).await.unwrap()), [1]);
    assert_eq!(counts(s.lease_attempts(lease("b", 3600, 1, 1)).await.unwrap()), [1]);
    assert_eq!(s.prune_attempts(3600).await.unwrap(), 1);
    assert_eq!(counts(s.lease_attempts(lease("a", 0, 1, 1)).await.unwrap()), [1], "a's window was forgotten");
    assert_eq!(counts(s.lease_attempts(lease("b", 3600, 1, 1)).await.unwrap()), [0], "b's was kept");
}
