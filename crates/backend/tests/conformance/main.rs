//! The store written once (`mashangban_store_sql::SqlStore`) against real
//! databases: every test body is generic over the database and runs on
//! SQLite and on PostgreSQL (`MASHANGBAN_TEST_POSTGRES`, see
//! `mashangban_store_postgres::testing`), and `compare` checks that it gives
//! the same answers as each backend's own implementation of the traits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::future::Future;

use mashangban_domain::time::{Instant, parse_instant};
use mashangban_store::{Store, StoreError, StoreResult};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_postgres::{PgDb, PgOptions, PgStore};
use mashangban_store_sql::{Database, SqlStore, StoreOptions};
use mashangban_store_sqlite::{SqliteDb, SqliteOptions, SqliteStore};

/// Makes `name::sqlite` and `name::postgres` tests of each generic body `name::<T: TestDb>()`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name::<$crate::Sqlite>().await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name::<$crate::Postgres>().await
            }
        }
    )*};
}

#[macro_use]
mod support_cal;

mod calendar;
mod catalog;
mod compare;
mod knowledge;
mod notifications;
mod org;
mod time_limits;

/// A fresh, migrated database of one backend.
pub trait TestDb: Sized + Send + Sync + 'static {
    type Db: Database;
    /// The backend's own implementation of the store traits.
    type Old: Store + Clone + Send + Sync + 'static;

    fn create() -> impl Future<Output = Self> + Send;
    /// The store written once, on this database.
    fn store(&self) -> SqlStore<Self::Db>;
    /// The backend's own store on the same database.
    fn old(&self) -> Self::Old;
    /// The store as another app node sees it (SQLite serves one node: the same store).
    fn other_node(&self) -> impl Future<Output = SqlStore<Self::Db>> + Send;
}

pub struct Sqlite {
    old: SqliteStore,
    _dir: tempfile::TempDir,
}

impl TestDb for Sqlite {
    type Db = SqliteDb;
    type Old = SqliteStore;

    async fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let old = SqliteStore::open(&dir.path().join("conformance.db"), SqliteOptions::default()).unwrap();
        Self { old, _dir: dir }
    }

    fn store(&self) -> SqlStore<SqliteDb> {
        SqlStore::new(self.old.database(), StoreOptions::default())
    }

    fn old(&self) -> SqliteStore {
        self.old.clone()
    }

    async fn other_node(&self) -> SqlStore<SqliteDb> {
        self.store()
    }
}

pub struct Postgres {
    old: PgStore,
    db: TempDatabase,
}

impl TestDb for Postgres {
    type Db = PgDb;
    type Old = PgStore;

    async fn create() -> Self {
        let db = TempDatabase::create().await.unwrap();
        let old = PgStore::connect(db.url(), PgOptions::default()).await.unwrap();
        Self { old, db }
    }

    fn store(&self) -> SqlStore<PgDb> {
        SqlStore::new(self.old.database(), StoreOptions::default())
    }

    fn old(&self) -> PgStore {
        self.old.clone()
    }

    async fn other_node(&self) -> SqlStore<PgDb> {
        let node = PgStore::connect(self.db.url(), PgOptions::default()).await.unwrap();
        SqlStore::new(node.database(), StoreOptions::default())
    }
}

pub fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

pub fn minutes(n: i64) -> Instant {
    t0() + chrono::Duration::minutes(n)
}

/// The code of a domain refusal; anything else fails the test.
pub fn refusal<T: Debug>(result: StoreResult<T>) -> &'static str {
    match result {
        Err(StoreError::Domain(e)) => e.code,
        other => panic!("expected a domain refusal, got {other:?}"),
    }
}
