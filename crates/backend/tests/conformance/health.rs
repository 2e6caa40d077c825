//! What probes and `/metrics` read from the store: the schema's state after a round trip, the outbox and
//! change-feed figures from their tables, and the backend's machinery counters.

use mashangban_domain::org::UnitKind;
use mashangban_store::{ChangeStore, HealthStore, NewUnit, OrgStore};
use mashangban_store_sql::Dialect;

use crate::support::{TestDb, minutes};

on_both!(a_migrated_database_is_current_and_its_queues_and_machinery_are_read,);

async fn a_migrated_database_is_current_and_its_queues_and_machinery_are_read<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let schema = s.schema().await.unwrap();
    assert!(schema.is_current() && schema.known >= 9, "{schema:?}");

    let before = s.queue_figures().await.unwrap();
    assert!(before.outbox.iter().all(|(_, n)| *n == 0) && before.outbox_oldest_due.is_none(), "{before:?}");
    let unit =
        NewUnit { code: "city".into(), name: "市".into(), short_name: None, kind: UnitKind::City, parent_code: None };
    s.upsert_unit(unit).await.unwrap();
    let head = s.feed_head().await.unwrap();
    s.save_cursor("probe-reader", mashangban_store::ChangeCursor::default(), minutes(1)).await.unwrap();
    let after = s.queue_figures().await.unwrap();
    assert_eq!(after.feed_head, head.position, "the unit's change is the head");
    assert!(after.feed_head > before.feed_head);
    assert_eq!(after.feed_cursors, [("probe-reader".to_owned(), 0)], "a reader at the start lags by the whole feed");

    let machinery = s.machinery();
    assert!(machinery.pool.max >= 1 && machinery.pool.idle <= machinery.pool.max, "{machinery:?}");
    match s.database().dialect() {
        Dialect::Sqlite => {
            let writer = machinery.writer.expect("SQLite reports its writer thread");
            assert!(writer.batches >= 1 && writer.jobs >= writer.batches, "{writer:?}");
            assert_eq!(writer.queued, 0, "nothing waits once every write has answered");
            assert_eq!(writer.batch_size_buckets.last().copied(), Some(writer.batches), "the buckets are cumulative");
        }
        Dialect::Postgres => assert!(machinery.writer.is_none(), "every PostgreSQL node writes"),
    }
}
