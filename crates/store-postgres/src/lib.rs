//! The PostgreSQL backend of mashangban, for several app nodes (节点) sharing
//! one database. This crate provides the database only ([`PgDb`]: pool,
//! transactions, migrations, signals and job locks); every store trait is
//! implemented once, for both databases, in `mashangban-store-sql`.
//!
//! Design:
//! - **Pool.** A `deadpool-postgres` pool of `tokio-postgres` connections
//!   (plain TCP: TLS termination, e.g. a local proxy, is out of scope for now).
//!   Every write is one transaction at READ COMMITTED; each change to a
//!   request writes its event, scoring rollups and outbox rows in that same
//!   transaction, as the SQLite store does.
//! - **Concurrency.** Where SQLite relies on its single writer, this store
//!   relies on row locks: `act` is an optimistic lock on `requests.version`,
//!   tracking numbers come from an upserted per-day counter row, unique keys
//!   (`ON CONFLICT`) turn double inserts by two nodes into the domain's
//!   refusals, rule and calendar publishers serialise on transaction-scoped
//!   advisory locks, and outbox claims skip rows another node has locked.
//! - **Signals.** Each `PgDb` keeps one dedicated connection that
//!   `LISTEN`s on `mashangban_signals` and relays other nodes' `NOTIFY`s to
//!   a broadcast channel, reconnecting with backoff when it drops.
//! - **Job locks.** Session advisory locks on a connection taken out of the
//!   pool for as long as the lock is held; released when the lock is dropped
//!   (or when the node dies and its session ends). A connection never goes
//!   back to the pool still holding one.
//! - **Migrations.** Embedded SQL files applied at connect, each in its own
//!   transaction and recorded in `schema_migrations`, under a session advisory
//!   lock so that nodes starting together migrate once.
//!
//! The schema mirrors the SQLite one table by table with the same names;
//! timestamps are the same RFC 3339 text, in `COLLATE "C"` columns so that
//! text order is time order. After copying rows in with their ids (e.g. from
//! a SQLite database), run [`PgDb::sync_id_sequences`].
//!
//! Tests create a throwaway database per test with `testing::TempDatabase`.

mod cluster;
mod database;
mod db;
mod migrations;

#[doc(hidden)]
pub mod testing;

pub use database::{PgConn, PgDb};
pub use migrations::IDENTITY_TABLES;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use mashangban_store::{StoreError, StoreResult};
use mashangban_store_sql::{SqlStore, StoreOptions};

/// The store on a PostgreSQL database.
pub type PgStore = SqlStore<PgDb>;

/// How long opening a connection may take before the caller hears an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a caller waits for a free pooled connection before an error
/// (rather than hanging when every connection is busy or holds a job lock).
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Prefix of tracking numbers, e.g. `ZS` for Zhongshan.
    pub tracking_prefix: String,
    /// Most pooled connections, at least 2 (the signal listener has its own besides;
    /// each held job lock keeps one).
    pub pool_size: usize,
    /// The keys of personal data at rest (`StoreOptions::personal_data`; default the process's ephemeral key).
    pub personal_data: Option<mashangban_domain::personal_data::Keyring>,
}

impl Default for PgOptions {
    fn default() -> Self {
        let store = StoreOptions::default();
        Self { tracking_prefix: store.tracking_prefix, pool_size: 16, personal_data: store.personal_data }
    }
}

/// Connects to the database at `url` (`postgres://user@host:port/db`),
/// applies pending migrations and starts the signal listener.
pub async fn connect(url: &str, options: PgOptions) -> StoreResult<PgStore> {
    let db = PgDb::connect(url, options.pool_size).await?;
    Ok(SqlStore::new(
        db,
        StoreOptions {
            tracking_prefix: options.tracking_prefix,
            personal_data: options.personal_data,
            seal_events: true,
        },
    ))
}

impl PgDb {
    /// Connects with a pool of at most `pool_size` connections (at least 2),
    /// migrates, and starts the signal listener.
    pub async fn connect(url: &str, pool_size: usize) -> StoreResult<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::backend(format!("bad PostgreSQL URL: {e}")))?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .build()
            .map_err(StoreError::backend)?;
        {
            let mut client = pool.get().await.map_err(db::pool_err)?;
            migrations::migrate(&mut client).await?;
        }
        let cluster = cluster::Cluster::start(config).await;
        Ok(Self { pool, cluster: Arc::new(cluster) })
    }

    /// Moves every identity sequence past the largest id in its table. Run it
    /// after copying rows with their ids in (e.g. from a SQLite database), so
    /// that new rows do not collide with copied ones.
    pub async fn sync_id_sequences(&self) -> StoreResult<()> {
        let client = self.client().await?;
        for table in migrations::IDENTITY_TABLES {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            );
            client.execute(&sql, &[]).await.map_err(db::db_err)?;
        }
        Ok(())
    }
}
