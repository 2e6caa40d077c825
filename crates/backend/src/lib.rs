//! The storage backend chosen at start from a database URL: the embedded
//! SQLite file (the default) or a shared PostgreSQL database.
//!
//! The store traits are implemented once over any database
//! (`mashangban_store_sql::SqlStore`); [`AnyDb`] is either backend's database,
//! so one build of the web layer, the binary and the test suite serves both.
//! Only the handful of [`Database`](mashangban_store_sql::Database) operations
//! are forwarded; adding a store method needs nothing here.

mod any;
pub mod copy;

pub use any::AnyDb;

use std::path::PathBuf;

use mashangban_store::StoreResult;
use mashangban_store_postgres::PgDb;
use mashangban_store_sql::{SqlStore, StoreOptions};
use mashangban_store_sqlite::SqliteDb;

/// Where the data lives, parsed from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (or `sqlite:PATH`); a bare path is refused, so a mistyped URL never creates a stray file.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`.
    Postgres(String),
}

impl DatabaseUrl {
    /// Reads `sqlite://PATH` (or `sqlite:PATH`) or `postgres://…` (`postgresql://…`).
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("数据库地址缺少文件路径，例如 sqlite://./data/mashangban.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(format!("不支持的数据库地址「{url}」；应为 sqlite://文件路径 或 postgres://用户@主机/库名"))
    }

    /// The URL with any password hidden, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Settings common to both backends.
#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// Prefix of tracking numbers, e.g. `ZS` for Zhongshan.
    pub tracking_prefix: String,
    /// Connections: SQLite readers, or the PostgreSQL pool size.
    pub connections: usize,
    /// The keys of personal data at rest (see `StoreOptions::personal_data`); the default is the
    /// process's ephemeral key, for tests and tools: `mashangban` always passes the configured ring.
    pub personal_data: Option<mashangban_domain::personal_data::Keyring>,
}

impl Default for BackendOptions {
    fn default() -> Self {
        let store = StoreOptions::default();
        Self { tracking_prefix: store.tracking_prefix, connections: 4, personal_data: store.personal_data }
    }
}

/// The store of a running platform, on either database.
pub type Backend = SqlStore<AnyDb>;

/// Opens (creating and migrating as needed) the database at `url`.
pub async fn open(url: &DatabaseUrl, options: BackendOptions) -> StoreResult<Backend> {
    let db = match url {
        DatabaseUrl::Sqlite(path) => AnyDb::Sqlite(SqliteDb::open(path, options.connections.max(1))?),
        DatabaseUrl::Postgres(url) => AnyDb::Postgres(PgDb::connect(url, options.connections.max(2)).await?),
    };
    Ok(SqlStore::new(
        db,
        StoreOptions {
            tracking_prefix: options.tracking_prefix,
            personal_data: options.personal_data,
            seal_events: true,
        },
    ))
}

/// The SQLite database of a store, for what only it can do (online backup to a file).
pub fn as_sqlite(store: &Backend) -> Option<&SqliteDb> {
    match store.database() {
        AnyDb::Sqlite(db) => Some(db),
        AnyDb::Postgres(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_hide_passwords() {
        assert_eq!(DatabaseUrl::parse("sqlite://./d/x.db"), Ok(DatabaseUrl::Sqlite("./d/x.db".into())));
        assert_eq!(DatabaseUrl::parse("sqlite:/tmp/x.db"), Ok(DatabaseUrl::Sqlite("/tmp/x.db".into())));
        let pg = DatabaseUrl::parse("postgres://app:secret@db:5432/mashangban").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pg.redacted(), "postgres://app:***@db:5432/mashangban");
        assert!(matches!(DatabaseUrl::parse("postgresql://db/m"), Ok(DatabaseUrl::Postgres(_))));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("data/x.db").is_err());
    }
}
