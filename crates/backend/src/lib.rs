//! The storage backend chosen at start from a database URL: the embedded
//! SQLite file (the default) or a shared PostgreSQL database.
//!
//! The web layer is generic over [`Store`](mashangban_store::Store); this enum
//! lets one build of the binary and of the test suite serve either backend
//! without compiling the web layer twice. Every trait method forwards to the
//! chosen store.

mod any;
pub mod copy;

pub use any::AnyDb;

use std::path::{Path, PathBuf};

use mashangban_domain::calendar::{HolidayYear, WorkingHours};
use mashangban_domain::dashboard::Dashboard;
use mashangban_domain::org::{Actor, Role, Scope, Unit, UnitId};
use mashangban_domain::request::{AttachmentId, Event, NewRequest, Request, RequestId};
use mashangban_domain::scoring::{Period, Report, ScoreOptions};
use mashangban_domain::time::Instant;
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::*;
use mashangban_store_postgres::{PgOptions, PgStore};
use mashangban_store_sqlite::{SqliteOptions, SqliteStore};

/// Where the data lives, parsed from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH`, or a bare file path.
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
}

impl Default for BackendOptions {
    fn default() -> Self {
        Self { tracking_prefix: SqliteOptions::default().tracking_prefix, connections: 4 }
    }
}

/// The store of a running platform.
#[derive(Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    /// Opens (creating and migrating as needed) the database at `url`.
    pub async fn open(url: &DatabaseUrl, options: BackendOptions) -> StoreResult<Self> {
        match url {
            DatabaseUrl::Sqlite(path) => Self::open_sqlite(path, options),
            DatabaseUrl::Postgres(url) => {
                let options =
                    PgOptions { tracking_prefix: options.tracking_prefix, pool_size: options.connections.max(2) };
                Ok(Self::Postgres(PgStore::connect(url, options).await?))
            }
        }
    }

    fn open_sqlite(path: &Path, options: BackendOptions) -> StoreResult<Self> {
        let options = SqliteOptions { tracking_prefix: options.tracking_prefix, readers: options.connections.max(1) };
        Ok(Self::Sqlite(SqliteStore::open(path, options)?))
    }

    /// The SQLite store, for what only it can do (online backup to a file).
    pub fn as_sqlite(&self) -> Option<&SqliteStore> {
        match self {
            Self::Sqlite(store) => Some(store),
            Self::Postgres(_) => None,
        }
    }
}

/// Forwards each listed trait method to the chosen store.
macro_rules! delegate {
    ($($trait:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* })*) => {
        $(impl $trait for Backend {
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Self::Sqlite(store) => store.$name($($arg),*).await,
                    Self::Postgres(store) => store.$name($($arg),*).await,
                }
            })*
        })*
    };
}

delegate! {
CalendarStore {
    fn calendar_years(&self) -> StoreResult<Vec<HolidayYear>>;
    fn calendar_year_infos(&self) -> StoreResult<Vec<CalendarYearInfo>>;
    fn calendar_working_hours(&self) -> StoreResult<Option<WorkingHours>>;
    fn seed_calendar(&self, years: Vec<HolidayYear>, hours: WorkingHours, author: CalendarAuthor) -> StoreResult<bool>;
    fn replace_calendar_years(&self, years: Vec<HolidayYear>, author: CalendarAuthor) -> StoreResult<Vec<CalendarChange>>;
    fn set_calendar_working_hours(&self, hours: WorkingHours, author: CalendarAuthor) -> StoreResult<CalendarChange>;
    fn calendar_changes(&self, limit: u32) -> StoreResult<Vec<CalendarChange>>;
}
DashboardStore {
    fn dashboard(&self, query: DashboardQuery) -> StoreResult<Dashboard>;
    fn rebuild_dashboard(&self) -> StoreResult<DashboardRebuild>;
}
KnowledgeStore {
    fn create_article(&self, input: ArticleInput, author: ArticleAuthor) -> StoreResult<Article>;
    fn update_article(&self, id: ArticleId, expected_version: i64, input: ArticleInput, author: ArticleAuthor) -> StoreResult<Article>;
    fn set_article_active(&self, id: ArticleId, expected_version: i64, active: bool, author: ArticleAuthor) -> StoreResult<Article>;
    fn article(&self, id: ArticleId) -> StoreResult<Option<Article>>;
    fn list_articles(&self) -> StoreResult<Vec<Article>>;
    fn article_revisions(&self, id: ArticleId) -> StoreResult<Vec<ArticleRevision>>;
    fn search_articles(&self, query: &str, limit: u32) -> StoreResult<Vec<Article>>;
}
OrgStore {
    fn upsert_unit(&self, unit: NewUnit) -> StoreResult<Unit>;
    fn list_units(&self) -> StoreResult<Vec<Unit>>;
    fn set_unit_active(&self, code: &str, active: bool) -> StoreResult<Unit>;
    fn create_user(&self, user: NewUser) -> StoreResult<User>;
    fn find_user(&self, username: &str) -> StoreResult<Option<User>>;
    fn list_users(&self) -> StoreResult<Vec<User>>;
    fn set_password(&self, username: &str, password_hash: String) -> StoreResult<()>;
    fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<()>;
    fn set_user_role(&self, username: &str, role: Role, unit_id: Option<UnitId>) -> StoreResult<User>;
    fn create_session(&self, session: NewSession) -> StoreResult<()>;
    fn session_user(&self, token_hash: &str, now: Instant) -> StoreResult<Option<User>>;
    fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    fn create_api_token(&self, token: NewApiToken) -> StoreResult<ApiToken>;
    fn api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;
    fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    fn revoke_api_token(&self, id: i64, now: Instant) -> StoreResult<()>;
}
CatalogStore {
    fn upsert_category(&self, category: NewCategory) -> StoreResult<Category>;
    fn list_categories(&self) -> StoreResult<Vec<Category>>;
}
RequestStore {
    fn intake(&self, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request>;
    fn find(&self, tracking_no: &str, scope: &Scope) -> StoreResult<Option<Request>>;
    fn find_by_id(&self, id: RequestId, scope: &Scope) -> StoreResult<Option<Request>>;
    fn history(&self, request_id: RequestId) -> StoreResult<Vec<Event>>;
    fn act(&self, command: Command) -> StoreResult<Request>;
    fn list(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>>;
    fn add_attachment(&self, upload: Upload) -> StoreResult<Attachment>;
    fn attachments(&self, request_id: RequestId) -> StoreResult<Vec<Attachment>>;
    fn attachment_content(&self, request_id: RequestId, id: AttachmentId) -> StoreResult<Option<(Attachment, Vec<u8>)>>;
    fn deadline_candidates(&self, until: Instant, limit: u32) -> StoreResult<Vec<Request>>;
}
TimeLimitStore {
    fn current_rules(&self) -> StoreResult<RuleSet>;
    fn publish_rules(&self, rules: Vec<Rule>, by: &Actor, now: Instant) -> StoreResult<RuleSet>;
    fn rule_versions(&self) -> StoreResult<Vec<RuleVersion>>;
}
NotificationStore {
    fn enable_notifications(&self, link_base: &str) -> StoreResult<()>;
    fn claim_notifications(&self, now: Instant, lease_until: Instant, limit: u32) -> StoreResult<Vec<OutboxItem>>;
    fn notification_sent(&self, id: i64, attempt: u32, now: Instant) -> StoreResult<()>;
    fn notification_retry(&self, id: i64, attempt: u32, next_attempt_at: Instant, error: &str) -> StoreResult<()>;
    fn notification_failed(&self, id: i64, attempt: u32, error: &str) -> StoreResult<()>;
    fn list_outbox(&self, status: Option<OutboxStatus>, limit: u32) -> StoreResult<Vec<OutboxItem>>;
    fn retry_notification(&self, id: i64, now: Instant) -> StoreResult<OutboxItem>;
    fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>>;
    fn put_notification_template(&self, template: StoredTemplate) -> StoreResult<StoredTemplate>;
    fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>>;
    fn create_webhook(&self, webhook: NewWebhook, now: Instant) -> StoreResult<Webhook>;
    fn delete_webhook(&self, id: i64) -> StoreResult<()>;
    fn set_user_email(&self, username: &str, email: Option<String>) -> StoreResult<()>;
}
ScoringStore {
    fn score_report(&self, period: Period, options: ScoreOptions) -> StoreResult<Report>;
    fn rebuild_scoring(&self) -> StoreResult<RebuildSummary>;
}
}

impl ClusterStore for Backend {
    async fn announce(&self, signal: Signal) -> StoreResult<()> {
        match self {
            Self::Sqlite(store) => store.announce(signal).await,
            Self::Postgres(store) => store.announce(signal).await,
        }
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        match self {
            Self::Sqlite(store) => store.subscribe_signals(),
            Self::Postgres(store) => store.subscribe_signals(),
        }
    }

    async fn try_lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        match self {
            Self::Sqlite(store) => store.try_lock_job(job).await,
            Self::Postgres(store) => store.try_lock_job(job).await,
        }
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
