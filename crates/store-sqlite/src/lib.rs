//! The embedded SQLite backend of mashangban, the default.
//!
//! One file under the data directory holds everything, attachments included,
//! so `mashangban backup` (`VACUUM INTO`) copies the whole platform. This crate
//! provides the database only — the writer thread with group commit, the
//! reader pool, migrations and backups ([`SqliteDb`]); every store trait is
//! implemented once, for both databases, in `mashangban-store-sql`.

pub mod backup;
mod database;
mod db;
mod migrations;

use std::path::Path;

use mashangban_store::{StoreError, StoreResult};
use mashangban_store_sql::{SqlStore, StoreOptions};

pub use database::{SqliteConn, SqliteDb};
pub use db::Db;

/// The store on a SQLite file.
pub type SqliteStore = SqlStore<SqliteDb>;

/// Settings of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Prefix of tracking numbers, e.g. `ZS` for Zhongshan.
    pub tracking_prefix: String,
    /// Reader connections.
    pub readers: usize,
    /// The keys of personal data at rest (`StoreOptions::personal_data`; default the process's ephemeral key).
    pub personal_data: Option<mashangban_domain::personal_data::Keyring>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        let store = StoreOptions::default();
        Self { tracking_prefix: store.tracking_prefix, readers: 4, personal_data: store.personal_data }
    }
}

/// Opens the database file, creating and migrating it on first start.
pub fn open(path: &Path, options: SqliteOptions) -> StoreResult<SqliteStore> {
    let db = SqliteDb::open(path, options.readers)?;
    Ok(SqlStore::new(
        db,
        StoreOptions {
            tracking_prefix: options.tracking_prefix,
            personal_data: options.personal_data,
            seal_events: true,
        },
    ))
}

impl SqliteDb {
    /// Opens (creating and migrating) the database file with `readers` reader connections.
    pub fn open(path: &Path, readers: usize) -> StoreResult<Self> {
        Ok(Self { db: Db::open(path, readers)? })
    }

    /// Writes a consistent online copy of the whole database to `dest`
    /// (`VACUUM INTO`) while the server keeps running: to `dest.partial`
    /// first, checked (`PRAGMA integrity_check`), synced, then renamed, so
    /// `dest` is either complete or absent. A temporary file an interrupted
    /// backup left is cleared (and named in the outcome).
    pub async fn backup(&self, dest: &Path) -> StoreResult<backup::BackupOutcome> {
        let source = self.db.path().to_path_buf();
        let dest = dest.to_path_buf();
        tokio::task::spawn_blocking(move || backup::backup(&source, &dest)).await.map_err(StoreError::backend)?
    }
}
