//! The embedded SQLite store of mashangban, the default backend.
//!
//! One file under the data directory holds everything, attachments included,
//! so `mashangban backup` (`VACUUM INTO`) copies the whole platform.

mod calendar;
mod catalog;
mod cluster;
mod dashboard;
mod database;
mod db;
mod knowledge;
mod migrations;
mod notifications;
mod org;
mod outbox;
mod requests;
mod rows;
mod scoring;
mod time_limits;

use std::path::Path;

use mashangban_store::{StoreError, StoreResult};

pub use database::{SqliteConn, SqliteDb};
pub use db::Db;

/// Settings of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Prefix of tracking numbers, e.g. `ZS` for Zhongshan.
    pub tracking_prefix: String,
    /// Reader connections.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { tracking_prefix: "ZS".into(), readers: 4 }
    }
}

/// The SQLite implementation of every store trait.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    options: std::sync::Arc<SqliteOptions>,
}

impl SqliteStore {
    /// Opens the database file, creating and migrating it on first start.
    pub fn open(path: &Path, options: SqliteOptions) -> StoreResult<Self> {
        let db = Db::open(path, options.readers)?;
        Ok(Self { db, options: std::sync::Arc::new(options) })
    }

    /// This store's database for the shared SQL store (`mashangban_store_sql::SqlStore`).
    pub fn database(&self) -> SqliteDb {
        SqliteDb { db: self.db.clone() }
    }

    /// Writes a consistent online copy of the whole database to `dest`
    /// (`VACUUM INTO`); the server keeps running. Starting on the copy restores it.
    pub async fn backup(&self, dest: &Path) -> StoreResult<u64> {
        if dest.exists() {
            return Err(StoreError::backend(format!("{} already exists; choose a new file", dest.display())));
        }
        let source = self.db.path().to_path_buf();
        let dest = dest.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let conn = rusqlite::Connection::open(&source).map_err(StoreError::backend)?;
            conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(StoreError::backend)?;
            let target = dest.to_string_lossy().to_string();
            conn.execute("VACUUM INTO ?1", [&target]).map_err(StoreError::backend)?;
            std::fs::metadata(&dest).map(|m| m.len()).map_err(StoreError::backend)
        })
        .await
        .map_err(StoreError::backend)?
    }
}
