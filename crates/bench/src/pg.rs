//! The PostgreSQL part of a run: a fresh database on the server of the admin
//! URL, migrated by `Backend::open`, filled from the loaded SQLite file by
//! `migrate-data`'s copier (`copy_data`), and its sizes.

use std::path::Path;
use std::time::Instant as Clock;

use mashangban_backend::copy::{CopyOptions, copy_data};
use mashangban_backend::{BackendOptions, DatabaseUrl};
use serde::{Deserialize, Serialize};

use mashangban_store_postgres::testing::with_database;

use crate::{BenchResult, Ctx};

/// The database the PostgreSQL part runs on.
#[derive(Debug, Clone)]
pub struct PgTarget {
    /// A URL of the server with a user allowed to create databases.
    pub admin_url: String,
    /// The benchmark's own database, dropped and created again by each run.
    pub database: String,
    /// The server's pool size (`database_connections`).
    pub connections: usize,
}

impl PgTarget {
    /// The default database of a scale: `mb_bench_<scale>`.
    pub fn for_scale(admin_url: &str, scale: u64, connections: usize) -> Self {
        Self { admin_url: admin_url.to_owned(), database: format!("mb_bench_{scale}"), connections }
    }

    /// The URL of the benchmark's database.
    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.database)
    }

    /// Drops the database if it exists, closing its sessions.
    pub fn drop_database(&self) -> BenchResult<()> {
        let mut admin = connect(&self.admin_url)?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database))
            .pg_ctx("drop the database")
    }

    fn create_database(&self) -> BenchResult<()> {
        self.drop_database()?;
        let mut admin = connect(&self.admin_url)?;
        admin.batch_execute(&format!("CREATE DATABASE \"{}\"", self.database)).pg_ctx("create the database")
    }
}

/// How the loaded SQLite database was copied into PostgreSQL.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PgLoad {
    /// Rows of every table copied by `copy_data` (requests, events, rollups, …).
    pub rows: u64,
    pub requests: u64,
    /// `copy_data`: binary COPY in batches, sequences set, checksums compared.
    pub copy_seconds: f64,
    /// `ANALYZE` of the whole database after the copy.
    pub analyze_seconds: f64,
    pub rows_per_second: f64,
    pub requests_per_second: f64,
    /// `pg_database_size` after the copy and ANALYZE.
    pub db_bytes: u64,
    /// Bytes of title and content.
    pub text_bytes: u64,
    /// (`db_bytes` − `text_bytes`) / requests.
    pub bytes_per_request: f64,
}

/// Creates the database afresh, migrates it, copies `sqlite` into it and
/// analyzes it; times the copy.
pub fn create_and_copy(target: &PgTarget, sqlite: &Path) -> BenchResult<PgLoad> {
    target.create_database()?;
    let url = DatabaseUrl::parse(&target.url())?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ctx("runtime")?;
    let store = rt
        .block_on(mashangban_backend::open(&url, BackendOptions::default()))
        .ctx("migrate the PostgreSQL database")?;
    drop(store);
    drop(rt);
    let from = DatabaseUrl::Sqlite(sqlite.to_path_buf());
    let started = Clock::now();
    let copied = copy_data(&from, &url, &CopyOptions::default(), &mut |_| {})?;
    let copy_seconds = started.elapsed().as_secs_f64();
    let started = Clock::now();
    connect(&target.url())?.batch_execute("ANALYZE").pg_ctx("ANALYZE")?;
    let analyze_seconds = started.elapsed().as_secs_f64();
    let (db_bytes, text_bytes, requests) = sizes(&target.url())?;
    Ok(PgLoad {
        rows: copied.rows_copied,
        requests,
        copy_seconds,
        analyze_seconds,
        rows_per_second: copied.rows_copied as f64 / copy_seconds.max(1e-9),
        requests_per_second: requests as f64 / copy_seconds.max(1e-9),
        db_bytes,
        text_bytes,
        bytes_per_request: db_bytes.saturating_sub(text_bytes) as f64 / requests.max(1) as f64,
    })
}

/// (`pg_database_size`, bytes of title and content, requests).
pub fn sizes(url: &str) -> BenchResult<(u64, u64, u64)> {
    let mut client = connect(url)?;
    let row = client
        .query_one(
            "SELECT pg_database_size(current_database()),
                    COALESCE(SUM(octet_length(title) + octet_length(content)), 0)::BIGINT, COUNT(*) FROM requests",
            &[],
        )
        .pg_ctx("database size")?;
    let value = |i: usize| row.try_get::<_, i64>(i).map(|v| v.max(0) as u64).ctx("database size");
    Ok((value(0)?, value(1)?, value(2)?))
}

/// The server's version and the settings that bound its figures.
pub fn describe(url: &str) -> BenchResult<String> {
    let mut client = connect(url)?;
    let mut show = |name: &str| -> BenchResult<String> {
        client.query_one(&format!("SHOW {name}"), &[]).and_then(|r| r.try_get::<_, String>(0)).pg_ctx(name)
    };
    Ok(format!(
        "PostgreSQL {}, shared_buffers {}, synchronous_commit {}, fsync {}",
        show("server_version")?,
        show("shared_buffers")?,
        show("synchronous_commit")?,
        show("fsync")?
    ))
}

/// CPU seconds (user + system) of the PostgreSQL processes working for
/// `database`: its backends and autovacuum workers, and the server's WAL
/// writer, checkpointer and background writer (shared with any other
/// database of the server). Found by their process titles in `/proc`.
pub fn database_cpu_seconds(database: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter_map(|entry| {
            entry.file_name().to_str().filter(|pid| pid.bytes().all(|b| b.is_ascii_digit())).map(str::to_owned)
        })
        .filter(|pid| works_for(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default(), database))
        .map(|pid| crate::scenarios::cpu_seconds(&pid))
        .sum()
}

/// Whether a process title (`postgres: 15/main: user db 127.0.0.1(5432) idle`) is one of ours.
fn works_for(cmdline: &[u8], database: &str) -> bool {
    let title = String::from_utf8_lossy(cmdline);
    if !title.starts_with("postgres: ") {
        return false;
    }
    ["walwriter", "checkpointer", "background writer"].iter().any(|aux| title.contains(aux))
        || title.split(|c: char| c.is_whitespace() || c == '\0').any(|word| word == database)
}

/// Adds what failed to a PostgreSQL error, with the server's own message.
pub trait PgCtx<T> {
    fn pg_ctx(self, what: &str) -> BenchResult<T>;
}

impl<T> PgCtx<T> for Result<T, postgres::Error> {
    fn pg_ctx(self, what: &str) -> BenchResult<T> {
        self.map_err(|e| match e.as_db_error() {
            Some(db) => format!("{what}: {} ({})", db.message(), db.code().code()),
            None => format!("{what}: {e}"),
        })
    }
}

/// A blocking connection (call it outside any async runtime).
pub fn connect(url: &str) -> BenchResult<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls).map_err(|e| format!("PostgreSQL at {}: {e}", redacted(url)))
}

fn redacted(url: &str) -> String {
    DatabaseUrl::parse(url).map_or_else(|_| url.to_owned(), |u| u.redacted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_processes_of_a_database_are_found_by_their_titles() {
        assert!(works_for(b"postgres: 15/main: postgres mb_bench_1 127.0.0.1(5432) idle", "mb_bench_1"));
        assert!(works_for(b"postgres: 15/main: autovacuum worker mb_bench_1", "mb_bench_1"));
        assert!(works_for(b"postgres: 15/main: walwriter   ", "mb_bench_1"));
        assert!(!works_for(b"postgres: 15/main: postgres mb_bench_10 127.0.0.1(5432) idle", "mb_bench_1"));
        assert!(!works_for(b"postgres: 15/main: logical replication launcher", "mb_bench_1"));
        assert!(!works_for(b"/usr/bin/mb_bench_1", "mb_bench_1"));
    }
}
