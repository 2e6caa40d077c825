//! Both databases for every suite: a [`SqlStore`] over a fresh SQLite file
//! or a fresh PostgreSQL database, and the shared fixtures.

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

impl<D: TestDb> Env<D> {
    /// The store written once, on this database.
    pub fn store(&self) -> SqlStore<D> {
        self.store.clone()
    }

    /// The store as another app node sees it.
    pub async fn other_node(&self) -> SqlStore<D> {
        D::other_node(self).await
    }
}

enum Keep {
    File(#[allow(dead_code)] tempfile::TempDir),
    Server(TempDatabase),
}

/// A database a test can open, and reach as a second app node would.
pub trait TestDb: Database + Sized + Send + Sync + 'static {
    fn create() -> impl Future<Output = Env<Self>> + Send;

    /// The store as another node sees it: its own pool on PostgreSQL; on
    /// SQLite, one node per file, the same store.
    fn other_node(env: &Env<Self>) -> impl Future<Output = SqlStore<Self>> + Send;
}

impl TestDb for SqliteDb {
    async fn create() -> Env<Self> {
        let dir = tempfile::tempdir().unwrap();
        let store = mashangban_store_sqlite::open(&dir.path().join("t.db"), SqliteOptions::default()).unwrap();
        Env { store, keep: Keep::File(dir) }
    }

    async fn other_node(env: &Env<Self>) -> SqlStore<Self> {
        env.store.clone()
    }
}

impl TestDb for PgDb {
    async fn create() -> Env<Self> {
        let db = TempDatabase::create().await.unwrap();
        let store = mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap();
        Env { store, keep: Keep::Server(db) }
    }

    async fn other_node(env: &Env<Self>) -> SqlStore<Self> {
        let Keep::Server(db) = &env.keep else { panic!("a PostgreSQL test has a server database") };
        mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap()
    }
}

/// Makes `name::sqlite` and `name::postgres` tests of each generic body `name::<D: TestDb>()`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name::<mashangban_store_sqlite::SqliteDb>().await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name::<mashangban_store_postgres::PgDb>().await
            }
        }
    )*};
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

/// The code of a domain refusal; anything else fails the test.
pub fn refusal<T: std::fmt::Debug>(result: StoreResult<T>) -> &'static str {
    match result {
        Err(mashangban_store::StoreError::Domain(e)) => e.code,
        other => panic!("expected a domain refusal, got {other:?}"),
    }
}

/// Who the tests' changes of accounts are by.
pub fn tester() -> mashangban_store::AccountBy {
    mashangban_store::AccountBy::named("测试")
}

pub fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

pub fn at(minutes: i64) -> Instant {
    t0() + Duration::minutes(minutes)
}

/// The same as [`at`], named as the older suites name it.
pub fn minutes(n: i64) -> Instant {
    at(n)
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
