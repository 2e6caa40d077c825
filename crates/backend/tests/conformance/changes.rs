//! The durable change feed: appended in each change's transaction, read in
//! commit order after a cursor, never skipping a change that commits late.

use std::time::Duration;

use mashangban_domain::org::{Actor, UnitKind};
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::{
    AutoDispatchStore, ChangeCursor, ChangeEntity, ChangeStore, DuplicateStore, NewUnit, OrgStore, ScreeningStore,
    TimeLimitStore,
};
use mashangban_store_sql::changes::writer_horizon_after;
use mashangban_store_sql::{Dialect, args, job};

use crate::support::{TestDb, minutes};

on_both!(
    catalogue_and_rule_changes_append_in_order_and_cursors_persist,
    a_change_committed_late_is_never_skipped,
    a_writer_newer_than_the_next_id_read_hides_nothing,
    old_changes_are_pruned,
    each_settings_version_saved_is_a_change,
);

fn unit(code: &str) -> NewUnit {
    NewUnit {
        code: code.into(),
        name: format!("单位{code}"),
        short_name: None,
        kind: UnitKind::City,
        parent_code: None,
    }
}

async fn catalogue_and_rule_changes_append_in_order_and_cursors_persist<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let start = s.feed_head().await.unwrap();
    s.upsert_unit(unit("city")).await.unwrap();
    let rules = RuleSet::guangdong_defaults().rules;
    s.publish_rules(rules, &Actor::System, minutes(5)).await.unwrap();
    let changes = s.changes_after(start, 100).await.unwrap();
    let seen: Vec<(ChangeEntity, &str, &str)> =
        changes.iter().map(|c| (c.entity, c.key.as_str(), c.kind.as_str())).collect();
    // Publishing stores the defaults first (version 1, not a change), then version 2.
    assert_eq!(seen, [(ChangeEntity::Catalog, "city", "unit"), (ChangeEntity::Rules, "2", "published")]);
    assert!(changes[0].cursor < changes[1].cursor, "in commit order");
    assert_eq!(s.feed_head().await.unwrap(), changes[1].cursor);
    assert!(s.changes_after(changes[1].cursor, 100).await.unwrap().is_empty());
    assert_eq!(s.changes_after(changes[0].cursor, 100).await.unwrap().len(), 1);
    assert_eq!(s.changes_after(start, 1).await.unwrap().len(), 1, "the limit holds");

    assert_eq!(s.load_cursor("search-index").await.unwrap(), None);
    s.save_cursor("search-index", changes[0].cursor, minutes(6)).await.unwrap();
    s.save_cursor("search-index", changes[1].cursor, minutes(7)).await.unwrap();
    assert_eq!(s.load_cursor("search-index").await.unwrap(), Some(changes[1].cursor));
    assert_eq!(db.other_node().await.load_cursor("search-index").await.unwrap(), Some(changes[1].cursor));
}

/// A change whose transaction started first but commits last is read after
/// the changes committed before it, never skipped by a reader that moved on.
async fn a_change_committed_late_is_never_skipped<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let start = s.feed_head().await.unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (started, has_started) = tokio::sync::oneshot::channel::<()>();
    let sqlite = s.database().dialect() == Dialect::Sqlite;
    // SQLite runs a job by polling it once on the writer thread: it must be released before it starts.
    let release = if sqlite {
        let _ = release.send(());
        None
    } else {
        Some(release)
    };
    let slow = {
        let database = s.database().clone();
        tokio::spawn(async move {
            let write = job(move |c| {
                Box::pin(async move {
                    let sql = "INSERT INTO changes (at, entity, key, kind) VALUES ($1, 'request', 'SLOW', 'received')";
                    c.execute(sql, &args![minutes(1)]).await?;
                    let _ = started.send(());
                    let _ = released.await;
                    Ok(())
                })
            });
            database.write(write).await
        })
    };
    if sqlite {
        // One writer: the second write waits for the first, so there is nothing to overtake.
        slow.await.unwrap().unwrap();
        s.upsert_unit(unit("fast")).await.unwrap();
    } else {
        has_started.await.unwrap();
        s.upsert_unit(unit("fast")).await.unwrap();
        let early = s.changes_after(start, 100).await.unwrap();
        assert!(early.is_empty(), "nothing is read past a transaction still running: {early:?}");
        let _ = release.map(|r| r.send(()));
        slow.await.unwrap().unwrap();
    }
    let keys: Vec<String> = s.changes_after(start, 100).await.unwrap().into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["SLOW", "fast"]);
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// A writer that takes its id after the next id was read is a little above it (PostgreSQL), not an
/// epoch of ids below: the horizon stays at the next id instead of falling under every change and
/// reading the feed as empty. A writer below the next id still holds the horizon at its own id.
async fn a_writer_newer_than_the_next_id_read_hides_nothing<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    if s.database().dialect() == Dialect::Sqlite {
        return;
    }
    s.upsert_unit(unit("city")).await.unwrap();
    let before = s.feed_head().await.unwrap();
    let (took, its_id) = tokio::sync::oneshot::channel::<i64>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let database = s.database().clone();
        tokio::spawn(async move {
            let write = job(move |c| {
                Box::pin(async move {
                    let id: i64 = c.scalar("SELECT txid_current()", &[]).await?;
                    let _ = took.send(id);
                    let _ = released.await;
                    Ok(())
                })
            });
            database.write(write).await
        })
    };
    let id = its_id.await.unwrap();
    let horizon =
        |next: i64| s.database().read(job(move |c| Box::pin(async move { writer_horizon_after(c, next).await })));
    assert_eq!(horizon(id - 1).await.unwrap(), id - 1, "a writer newer than the next id read");
    assert_eq!(horizon(id + 5).await.unwrap(), id, "a writer older than the next id read");
    assert_eq!(s.feed_head().await.unwrap(), before, "the change before the writer stays in the feed");
    let _ = release.send(());
    writer.await.unwrap().unwrap();
}

async fn old_changes_are_pruned<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    s.upsert_unit(unit("city")).await.unwrap();
    s.publish_rules(RuleSet::guangdong_defaults().rules, &Actor::System, minutes(60)).await.unwrap();
    let all = s.changes_after(ChangeCursor::default(), 100).await.unwrap();
    assert_eq!(all.len(), 2);
    // The unit change carries the wall clock; the rules, minutes(60) of the fixed test day.
    let pruned = s.prune_changes(minutes(61)).await.unwrap();
    assert_eq!(pruned, 1, "the rules change is older than minutes(61)");
    let left = s.changes_after(ChangeCursor::default(), 100).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].entity, ChangeEntity::Catalog);
}

/// Every node caches the settings in force; a new version reaches them as a change in the feed,
/// written in the save's transaction.
async fn each_settings_version_saved_is_a_change<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let start = s.feed_head().await.unwrap();
    let who = || "管理员".to_owned();
    s.save_duplicate_thresholds(Default::default(), who(), minutes(1)).await.unwrap();
    s.save_screening_settings(Default::default(), who(), minutes(2)).await.unwrap();
    let rules = mashangban_domain::dispatch::AutoRules::new(Vec::new()).unwrap();
    let saved = s.save_auto_dispatch(rules, who(), minutes(3)).await.unwrap();
    assert_eq!(saved.version, 1);
    let changes = s.changes_after(start, 100).await.unwrap();
    let seen: Vec<(ChangeEntity, &str, &str)> =
        changes.iter().map(|c| (c.entity, c.key.as_str(), c.kind.as_str())).collect();
    assert_eq!(
        seen,
        [
            (ChangeEntity::Settings, "duplicate_thresholds", "saved"),
            (ChangeEntity::Settings, "screening_settings", "saved"),
            (ChangeEntity::Settings, "auto_dispatch_settings", "saved"),
        ]
    );
    assert_eq!(changes[2].at, minutes(3), "at the time of the save");
}
