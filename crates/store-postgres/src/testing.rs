//! Test support: a throwaway database per test on a real PostgreSQL server.
//!
//! The server is the one at `MASHANGBAN_TEST_POSTGRES` (an admin URL; default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each [`TempDatabase`] is a
//! fresh, uniquely named database, dropped with `WITH (FORCE)` when the value
//! is dropped, so a test run leaves nothing behind.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::NoTls;

use mashangban_store::{StoreError, StoreResult};

/// The environment variable naming the admin URL of the test server.
pub const ENV: &str = "MASHANGBAN_TEST_POSTGRES";
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for as long as this value does.
pub struct TempDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TempDatabase {
    /// Creates an empty database named `mb_test_<pid>_<unix-nanos>_<counter>`.
    pub async fn create() -> StoreResult<Self> {
        let admin_url = std::env::var(ENV).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
        let name = unique_name();
        run_admin(&admin_url, &format!("CREATE DATABASE \"{name}\"")).await?;
        let url = with_database(&admin_url, &name);
        Ok(Self { admin_url, name, url })
    }

    /// The URL of the database, for `PgStore::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server's admin database (to inspect or kill sessions).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TempDatabase {
    /// Drops the database from a thread of its own with its own runtime, so
    /// this works inside and outside a tokio runtime; failures are reported, never raised.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropper = std::thread::Builder::new().name("drop-test-db".into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match runtime {
                Ok(runtime) => runtime.block_on(run_admin(&admin_url, &sql)),
                Err(e) => Err(StoreError::backend(e)),
            }
        });
        let outcome = match dropper.map(|thread| thread.join()) {
            Ok(Ok(Ok(()))) => return,
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(_)) => "the dropping thread failed".to_owned(),
            Err(e) => format!("no thread to drop it: {e}"),
        };
        // Reported, never raised (a panic in drop during unwinding aborts).
        let _ = writeln!(std::io::stderr(), "could not drop test database {}: {outcome}", self.name);
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("mb_test_{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `url` with its database replaced by `name` (query parameters kept).
/// `url` with its database name replaced by `name` (user, host, port and options kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// Runs one statement on the admin database with a connection of its own.
async fn run_admin(admin_url: &str, sql: &str) -> StoreResult<()> {
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|e| StoreError::backend(format!("test PostgreSQL at {admin_url} ({ENV}): {e}")))?;
    let driver = tokio::spawn(connection);
    let result = client.batch_execute(sql).await.map_err(crate::db::db_err);
    drop(client);
    let _ = driver.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h:5433", "x"), "postgresql://h:5433/x");
    }
}
