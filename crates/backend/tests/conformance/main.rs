//! The store written once (`mashangban_store_sql::SqlStore`) against real
//! databases: every test body is generic over the database and runs on
//! SQLite and on PostgreSQL (`MASHANGBAN_TEST_POSTGRES`, see
//! `mashangban_store_postgres::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Debug;
use std::future::Future;

use mashangban_domain::time::{Instant, parse_instant};
use mashangban_store::{StoreError, StoreResult};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_postgres::{PgDb, PgOptions, PgStore};
use mashangban_store_sql::{Database, SqlStore};
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
mod changes;
mod copy;
mod knowledge;
mod notifications;
mod org;
mod time_limits;

/// A fresh, migrated database of one backend.
pub trait TestDb: Sized + Send + Sync + 'static {
    type Db: Database;

    fn create() -> impl Future<Output = Self> + Send;
    /// The store written once, on this database.
    fn store(&self) -> SqlStore<Self::Db>;
    /// The store as another app node sees it (SQLite serves one node: the same store).
    fn other_node(&self) -> impl Future<Output = SqlStore<Self::Db>> + Send;
}

pub struct Sqlite {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl TestDb for Sqlite {
    type Db = SqliteDb;

    async fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store =
            mashangban_store_sqlite::open(&dir.path().join("conformance.db"), SqliteOptions::default()).unwrap();
        Self { store, _dir: dir }
    }

    fn store(&self) -> SqlStore<SqliteDb> {
        self.store.clone()
    }

    async fn other_node(&self) -> SqlStore<SqliteDb> {
        self.store()
    }
}

pub struct Postgres {
    store: PgStore,
    db: TempDatabase,
}

impl TestDb for Postgres {
    type Db = PgDb;

    async fn create() -> Self {
        let db = TempDatabase::create().await.unwrap();
        let store = mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap();
        Self { store, db }
    }

    fn store(&self) -> SqlStore<PgDb> {
        self.store.clone()
    }

    async fn other_node(&self) -> SqlStore<PgDb> {
        mashangban_store_postgres::connect(self.db.url(), PgOptions::default()).await.unwrap()
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
