//! Queries, transactions and errors: thin helpers over `deadpool-postgres`.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use mashangban_store::{StoreError, StoreResult, backend};

/// The session advisory lock held while migrating (the publishers' keys, in
/// `mashangban_store_sql::locks`, are its neighbours; all lie above the
/// 32-bit range of `hashtext`, so they never meet a job lock).
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

pub async fn query(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&stmt, params).await.map_err(db_err)
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
