//! Queries, transactions and errors: thin helpers over `deadpool-postgres`.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use mashangban_store::{StoreError, StoreResult, backend};

/// Keys of transaction-scoped advisory locks that serialise publishers.
/// Above the 32-bit range of `hashtext`, so they never meet a job lock.
pub const RULES_LOCK: i64 = 0x6d62_0000_0001;
pub const CALENDAR_LOCK: i64 = 0x6d62_0000_0002;
/// The session advisory lock held while migrating.
pub const MIGRATION_LOCK: i64 = 0x6d62_0000_0003;

/// Maps a driver error into the store's error. Lock contention that
/// PostgreSQL resolves by aborting a transaction (deadlock, serialisation
/// failure) is the same refusal as a lost optimistic lock: retry.
pub fn db_err(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE => {
            backend::concurrent_update()
        }
        _ => StoreError::backend(describe(&e)),
    }
}

/// A failure to get a pooled connection, with the server's own reason
/// (e.g. `database "x" does not exist`) rather than the pool's summary.
pub fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::backend(format!("cannot connect: {}", describe(&e))),
        other => StoreError::backend(format!("no database connection: {other}")),
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// Whether `e` is a unique violation of the named constraint.
pub fn is_unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION) && e.as_db_error().and_then(|db| db.constraint()) == Some(constraint)
}

pub async fn query(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&stmt, params).await.map_err(db_err)
}

pub async fn query_opt(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query_opt(&stmt, params).await.map_err(db_err)
}

pub async fn query_one(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Row> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query_one(&stmt, params).await.map_err(db_err)
}

/// Runs a statement; the number of rows it changed.
pub async fn execute(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.execute(&stmt, params).await.map_err(db_err)
}

/// Waits for the transaction-scoped advisory lock `key` (released at commit).
pub async fn lock_xact(tx: &Transaction<'_>, key: i64) -> StoreResult<()> {
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&key]).await.map(drop)
}

pub async fn commit(tx: Transaction<'_>) -> StoreResult<()> {
    tx.commit().await.map_err(db_err)
}

/// Parameters of a query built at run time, numbered `$1`, `$2`... in push order.
#[derive(Default)]
pub struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    /// Adds a value; its placeholder.
    pub fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}
