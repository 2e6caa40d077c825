//! Both databases for the calendar, notification and knowledge suites: a
//! [`SqlStore`] over a fresh SQLite file or a fresh PostgreSQL database.

use std::future::Future;

use chrono::Duration;

use mashangban_domain::org::{Actor, Role, StaffActor};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_store::{Meta, StoreResult};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_postgres::{PgDb, PgOptions};
use mashangban_store_sql::{Database, SqlStore, Value, job};
use mashangban_store_sqlite::{SqliteDb, SqliteOptions};

/// One test's database.
pub struct Env<D> {
    pub store: SqlStore<D>,
    // Dropped last: the stores' connections go before their database.
    keep: Keep,
}

enum Keep {
    File(#[allow(dead_code)] tempfile::TempDir),
    Server(TempDatabase),
}

/// A database a test can open, and reach as a second app node would.
pub trait TestDb: Database + Sized {
    fn open_env() -> impl Future<Output = Env<Self>>;

    /// The store as another node sees it: its own pool on PostgreSQL; on
    /// SQLite, one node per file, the same store.
    fn other_node(env: &Env<Self>) -> impl Future<Output = SqlStore<Self>>;
}

impl TestDb for SqliteDb {
    async fn open_env() -> Env<Self> {
        let dir = tempfile::tempdir().unwrap();
        let store = mashangban_store_sqlite::open(&dir.path().join("t.db"), SqliteOptions::default()).unwrap();
        Env { store, keep: Keep::File(dir) }
    }

    async fn other_node(env: &Env<Self>) -> SqlStore<Self> {
        env.store.clone()
    }
}

impl TestDb for PgDb {
    async fn open_env() -> Env<Self> {
        let db = TempDatabase::create().await.unwrap();
        let store = mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap();
        Env { store, keep: Keep::Server(db) }
    }

    async fn other_node(env: &Env<Self>) -> SqlStore<Self> {
        let Keep::Server(db) = &env.keep else { panic!("a PostgreSQL test has a server database") };
        mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap()
    }
}

/// Runs each named `async fn name<D: TestDb>(env: &Env<D>)` on both
/// databases, as the tests `name::sqlite` and `name::postgres`.
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support_cal::TestDb;

            #[tokio::test]
            async fn sqlite() {
                super::$name(&mashangban_store_sqlite::SqliteDb::open_env().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(&mashangban_store_postgres::PgDb::open_env().await).await;
            }
        }
    )+};
}

/// Runs one statement through the store's own database, for what the store
/// itself never does (checks of triggers, rows written by hand).
pub async fn execute<D: Database>(store: &SqlStore<D>, sql: &'static str, args: Vec<Value>) -> StoreResult<u64> {
    store.database().write(job(move |c| Box::pin(async move { c.execute(sql, &args).await }))).await
}

/// The first column of each row of a query, as text.
pub async fn texts<D: Database>(store: &SqlStore<D>, sql: &'static str, args: Vec<Value>) -> Vec<Option<String>> {
    let read = job(move |c| Box::pin(async move { c.map(sql, &args, |mut r| r.take(0)).await }));
    store.database().read(read).await.unwrap()
}

/// The domain code of a refusal.
pub fn refusal<T: std::fmt::Debug>(result: StoreResult<T>) -> String {
    match result {
        Err(mashangban_store::StoreError::Domain(e)) => e.code.to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

pub fn at(minutes: i64) -> Instant {
    t0() + Duration::minutes(minutes)
}

pub fn meta(minutes: i64) -> Meta {
    Meta { now: at(minutes), client_ip: Some("127.0.0.1".into()) }
}

pub fn staff(role: Role, unit: i64) -> Actor {
    Actor::Staff(StaffActor {
        user_id: Some(1),
        name: "测试".into(),
        role,
        unit_id: unit,
        units: vec![unit],
        town_id: None,
    })
}
