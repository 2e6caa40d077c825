//! The embedded SQLite store of mashangban, the default backend.
//!
//! One file under the data directory holds everything, attachments included,
//! so `mashangban backup` (`VACUUM INTO`) copies the whole platform.

pub mod backup;
mod calendar;
mod catalog;
mod cluster;
mod dashboard;
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
