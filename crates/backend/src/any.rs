//! One database type for either backend, so the layers above are compiled
//! once. It forwards the few operations of [`Database`]; the store traits
//! themselves are implemented once, over any database, in `store-sql`.

use mashangban_store::{JobLock, Machinery, SchemaState, Signal, StoreResult};
use mashangban_store_postgres::PgDb;
use mashangban_store_sql::sql::{Database, Dialect, Job};
use mashangban_store_sqlite::SqliteDb;

/// The database of a running platform.
#[derive(Clone)]
pub enum AnyDb {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl Database for AnyDb {
    fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(db) => db.dialect(),
            Self::Postgres(db) => db.dialect(),
        }
    }

    async fn read<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        match self {
            Self::Sqlite(db) => db.read(job).await,
            Self::Postgres(db) => db.read(job).await,
        }
    }

    async fn write<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        match self {
            Self::Sqlite(db) => db.write(job).await,
            Self::Postgres(db) => db.write(job).await,
        }
    }

    async fn announce(&self, signal: Signal) -> StoreResult<()> {
        match self {
            Self::Sqlite(db) => db.announce(signal).await,
            Self::Postgres(db) => db.announce(signal).await,
        }
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        match self {
            Self::Sqlite(db) => db.subscribe_signals(),
            Self::Postgres(db) => db.subscribe_signals(),
        }
    }

    async fn try_lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        match self {
            Self::Sqlite(db) => db.try_lock_job(job).await,
            Self::Postgres(db) => db.try_lock_job(job).await,
        }
    }

    async fn schema(&self) -> StoreResult<SchemaState> {
        match self {
            Self::Sqlite(db) => db.schema().await,
            Self::Postgres(db) => db.schema().await,
        }
    }

    fn machinery(&self) -> Machinery {
        match self {
            Self::Sqlite(db) => db.machinery(),
            Self::Postgres(db) => db.machinery(),
        }
    }
}
