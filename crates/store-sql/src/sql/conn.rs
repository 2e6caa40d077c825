//! The closed set of operations a backend executes, and the jobs that use them.
//!
//! Every statement is written once, with PostgreSQL-style placeholders
//! (`$1`, `$2`, …) and SQL both databases read the same way (`TRUE`/`FALSE`,
//! `ON CONFLICT … DO NOTHING/UPDATE`, `RETURNING`). The few fragments that
//! differ come from [`Dialect`]. A job is an async function over `&dyn Conn`;
//! the SQLite backend runs it on its writer thread (its futures are always
//! ready), the PostgreSQL backend awaits it on a pooled connection.

use std::future::Future;
use std::pin::Pin;

use mashangban_store::{JobLock, Machinery, SchemaState, Signal, StoreError, StoreResult};

use super::row::Row;
use super::value::{FromValue, Value};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which database a statement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The smaller of two values (`MIN(a, b)` is an aggregate in PostgreSQL).
    pub fn least(self, a: &str, b: &str) -> String {
        match self {
            Self::Sqlite => format!("MIN({a}, {b})"),
            Self::Postgres => format!("LEAST({a}, {b})"),
        }
    }

    /// The greater of two values (`MAX(a, b)` is an aggregate in PostgreSQL).
    pub fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Self::Sqlite => format!("MAX({a}, {b})"),
            Self::Postgres => format!("GREATEST({a}, {b})"),
        }
    }

    /// Whether `needle` occurs in `haystack`, as 1 or 0.
    pub fn contains_as_int(self, haystack: &str, needle: &str) -> String {
        match self {
            Self::Sqlite => format!("(instr({haystack}, {needle}) > 0)"),
            Self::Postgres => format!("(strpos({haystack}, {needle}) > 0)::int"),
        }
    }

    /// ` FOR UPDATE OF alias` where row locks exist; SQLite's single writer
    /// already excludes every other writer.
    pub fn lock_rows(self, alias: &str) -> String {
        match self {
            Self::Sqlite => String::new(),
            Self::Postgres => format!(" FOR UPDATE OF {alias}"),
        }
    }

    /// The statement that waits for the transaction-scoped advisory lock
    /// `$1` (released at commit), so publishers on several nodes take turns;
    /// none on SQLite, whose single writer runs one job at a time.
    pub fn advisory_xact_lock(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("SELECT pg_advisory_xact_lock($1)"),
        }
    }
}

/// One connection, inside a transaction for writes or a snapshot for reads.
pub trait Conn: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// Every row of a query.
    fn query<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<Vec<Row>>>;

    /// Runs a statement; the number of rows it changed.
    fn execute<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<u64>>;

    /// Streams the rows of a query to `each` without collecting them.
    fn for_each<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
        each: &'a mut (dyn FnMut(Row) -> StoreResult<()> + Send),
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Runs several statements without arguments.
    fn batch<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, StoreResult<()>>;

    /// The key ring of personal data at rest; the store's connections carry it
    /// (`personal_data::Keyed`), a backend's own connections do not.
    fn personal_data(&self) -> Option<&mashangban_domain::personal_data::Keyring> {
        None
    }

    /// Whether request events are sealed (`StoreOptions::seal_events`; the store's connections carry it).
    fn seals_events(&self) -> bool {
        true
    }
}

impl dyn Conn + '_ {
    /// The first row, if any.
    pub async fn query_opt(&self, sql: &str, args: &[Value]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, args).await?.into_iter().next())
    }

    /// The only row; an error if there is none.
    pub async fn query_one(&self, sql: &str, args: &[Value]) -> StoreResult<Row> {
        self.query_opt(sql, args).await?.ok_or_else(|| StoreError::backend(format!("no row from: {sql}")))
    }

    /// The first column of the only row.
    pub async fn scalar<T: FromValue>(&self, sql: &str, args: &[Value]) -> StoreResult<T> {
        self.query_one(sql, args).await?.take(0)
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar_opt<T: FromValue>(&self, sql: &str, args: &[Value]) -> StoreResult<Option<T>> {
        self.query_opt(sql, args).await?.map(|mut row| row.take(0)).transpose()
    }

    /// Every row mapped by `f`.
    pub async fn map<T>(&self, sql: &str, args: &[Value], f: impl Fn(Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        self.query(sql, args).await?.into_iter().map(f).collect()
    }

    /// The first row mapped by `f`, if any.
    pub async fn map_opt<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl Fn(Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.query_opt(sql, args).await?.map(f).transpose()
    }
}

/// A unit of work on one connection.
pub type Job<T> = Box<dyn for<'c> FnOnce(&'c dyn Conn) -> BoxFuture<'c, StoreResult<T>> + Send>;

/// Boxes a closure as a [`Job`], e.g. `job(move |c| Box::pin(act(c, command)))`.
pub fn job<T, F>(f: F) -> Job<T>
where
    F: for<'c> FnOnce(&'c dyn Conn) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    Box::new(f)
}

/// What a backend provides: jobs run in transactions, and coordination
/// between the app nodes sharing the database.
pub trait Database: Clone + Send + Sync + 'static {
    fn dialect(&self) -> Dialect;

    /// Runs `job` on a consistent read-only view.
    fn read<T: Send + 'static>(&self, job: Job<T>) -> impl Future<Output = StoreResult<T>> + Send;

    /// Runs `job` in a write transaction; answers once it is committed
    /// durably, or with the job's error after rolling it back.
    fn write<T: Send + 'static>(&self, job: Job<T>) -> impl Future<Output = StoreResult<T>> + Send;

    /// Tells the other nodes about a change this node has committed.
    fn announce(&self, signal: Signal) -> impl Future<Output = StoreResult<()>> + Send;

    /// The signals the other nodes announce; None when the backend serves one node.
    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>>;

    /// Takes the cluster-wide lock of a background job unless another node holds it.
    fn try_lock_job(&self, job: &'static str) -> impl Future<Output = StoreResult<Option<JobLock>>> + Send;

    /// The applied schema version and this program's, read from the database.
    fn schema(&self) -> impl Future<Output = StoreResult<SchemaState>> + Send;

    /// The writer's and the pool's counters.
    fn machinery(&self) -> Machinery;
}

/// Arguments of a statement built at run time, numbered `$1`, `$2`… in push order.
#[derive(Debug, Default, Clone)]
pub struct Args(Vec<Value>);

impl Args {
    /// Adds a value; its placeholder.
    pub fn push(&mut self, value: impl Into<Value>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }

    /// Adds each value; their placeholders separated by commas, for `IN (…)`.
    /// An empty list is `NULL`, so `x IN (NULL)` matches nothing.
    pub fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> String {
        let marks: Vec<String> = values.into_iter().map(|v| self.push(v)).collect();
        if marks.is_empty() { "NULL".into() } else { marks.join(", ") }
    }

    pub fn values(&self) -> &[Value] {
        &self.0
    }
}

/// Statement arguments: `args![a, b]` is `[Value::from(a), Value::from(b)]`.
#[macro_export]
macro_rules! args {
    () => { [] as [$crate::Value; 0] };
    ($($v:expr),+ $(,)?) => { [$($crate::Value::from($v)),+] };
}

/// Rewrites `$n` placeholders as SQLite's `?n`, leaving string literals,
/// quoted names and comments alone.
pub fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_literals_only() {
        assert_eq!(
            sqlite_placeholders("SELECT $1, $12 FROM t WHERE a = '$1' AND b = $2"),
            "SELECT ?1, ?12 FROM t WHERE a = '$1' AND b = ?2"
        );
        assert_eq!(sqlite_placeholders("SELECT \"$1\" || 'it''s $3' , $3"), "SELECT \"$1\" || 'it''s $3' , ?3");
        assert_eq!(sqlite_placeholders("SELECT $a"), "SELECT $a");
    }

    #[test]
    fn lists_number_their_placeholders_in_order() {
        let mut args = Args::default();
        assert_eq!(args.push(1), "$1");
        assert_eq!(args.list([2, 3]), "$2, $3");
        assert_eq!(args.list(Vec::<i64>::new()), "NULL");
        assert_eq!(args.values(), &[Value::Int(1), Value::Int(2), Value::Int(3)]);
    }
}
