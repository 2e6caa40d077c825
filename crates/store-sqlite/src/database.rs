//! The SQLite backend of the shared store: jobs run on the writer thread
//! (group commit) or on the reader pool, over [`SqliteConn`].

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use mashangban_store::{JobLock, Machinery, SchemaState, Signal, StoreError, StoreResult};
use mashangban_store_sql::sql::{BoxFuture, Conn, Database, Dialect, Job, Row, Value, sqlite_placeholders};

use crate::db::{Db, lock};

/// The SQLite database of a [`mashangban_store_sql::SqlStore`]: one node, one file.
#[derive(Clone)]
pub struct SqliteDb {
    pub(crate) db: Db,
}

impl Database for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn read<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.read_locked(move |conn| run_ready(job(&SqliteConn { conn }))).await
    }

    async fn write<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.write_locked(move |conn| run_ready(job(&SqliteConn { conn }))).await
    }

    async fn announce(&self, _signal: Signal) -> StoreResult<()> {
        Ok(())
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        None
    }

    async fn try_lock_job(&self, _job: &'static str) -> StoreResult<Option<JobLock>> {
        Ok(Some(JobLock::granted()))
    }

    async fn schema(&self) -> StoreResult<SchemaState> {
        let applied = self
            .db
            .read(|conn| {
                conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0)).map_err(StoreError::backend)
            })
            .await?;
        Ok(SchemaState {
            applied: u32::try_from(applied).map_err(StoreError::backend)?,
            known: crate::migrations::MIGRATIONS.len() as u32,
        })
    }

    fn machinery(&self) -> Machinery {
        Machinery { writer: Some(self.db.writer_figures()), pool: self.db.reader_figures() }
    }
}

/// Runs a job's future to its end at once: every SQLite operation is
/// synchronous, so the future never waits.
fn run_ready<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::backend("a SQLite job waited on something other than the database")),
    }
}

/// One SQLite connection, locked for each statement (never contended: the
/// thread running the job owns it).
pub struct SqliteConn<'a> {
    conn: &'a Mutex<Connection>,
}

/// Statement texts a thread keeps [`Known`] before it forgets them all (texts
/// built at run time, e.g. `IN` lists, vary without end).
const MAX_KNOWN_STATEMENTS: usize = 1_024;

/// What a thread learned of a statement text: SQLite's form of it, and the
/// names of its result's columns once asked for.
struct Known {
    sqlite_sql: String,
    columns: OnceCell<Arc<[String]>>,
}

thread_local! {
    /// The statements this thread ran, by their text. Jobs run only on the
    /// writer and reader threads, long-lived and each serving one database, so asking SQLite for ~50 column names
    /// and copying them (7 % of a public look-up's CPU) and rewriting the
    /// placeholders happen once per statement text, not once per query.
    static KNOWN: RefCell<HashMap<String, Rc<Known>>> = RefCell::new(HashMap::new());
}

/// This thread's [`Known`] of `sql`, learned now if new.
fn known(sql: &str) -> Rc<Known> {
    KNOWN.with_borrow_mut(|known| {
        if let Some(found) = known.get(sql) {
            return Rc::clone(found);
        }
        if known.len() >= MAX_KNOWN_STATEMENTS {
            known.clear();
        }
        let learned = Rc::new(Known { sqlite_sql: sqlite_placeholders(sql), columns: OnceCell::new() });
        known.insert(sql.to_owned(), Rc::clone(&learned));
        learned
    })
}

/// The names of the columns of `stmt`'s result, from `known` when they are
/// the ones it learned (same count: a statement's columns come from its text
/// and the schema, which migrations change only before any job runs).
fn column_names(known: &Known, stmt: &rusqlite::Statement<'_>) -> Arc<[String]> {
    let fresh = || -> Arc<[String]> { stmt.column_names().into_iter().map(str::to_owned).collect() };
    let columns = known.columns.get_or_init(fresh);
    if columns.len() == stmt.column_count() { Arc::clone(columns) } else { fresh() }
}

impl SqliteConn<'_> {
    fn run<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&mut rusqlite::Statement<'_>, &[Bind<'_>], &Known) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let known = known(sql);
        let conn = lock(self.conn)?;
        let mut stmt = conn.prepare_cached(&known.sqlite_sql).map_err(|e| statement_err(e, sql))?;
        let binds: Vec<Bind<'_>> = args.iter().map(Bind).collect();
        f(&mut stmt, &binds, &known).map_err(|e| statement_err(e, sql))
    }

    fn each(&self, sql: &str, args: &[Value], each: &mut dyn FnMut(Row) -> StoreResult<()>) -> StoreResult<()> {
        let mut outcome = Ok(());
        self.run(sql, args, |stmt, binds, known| {
            let columns = column_names(known, stmt);
            let width = columns.len();
            let mut rows = stmt.query(rusqlite::params_from_iter(binds))?;
            while let Some(row) = rows.next()? {
                let values = (0..width).map(|i| row.get_ref(i).map(value)).collect::<rusqlite::Result<_>>()?;
                if let Err(e) = each(Row::new(Arc::clone(&columns), values)) {
                    outcome = Err(e);
                    break;
                }
            }
            Ok(())
        })?;
        outcome
    }
}

impl Conn for SqliteConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<Vec<Row>>> {
        let mut rows = Vec::new();
        let result = self.each(sql, args, &mut |row| {
            rows.push(row);
            Ok(())
        });
        Box::pin(std::future::ready(result.map(|()| rows)))
    }

    fn execute<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<u64>> {
        let result = self.run(sql, args, |stmt, binds, _| stmt.execute(rusqlite::params_from_iter(binds)));
        Box::pin(std::future::ready(result.map(|n| n as u64)))
    }

    fn for_each<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
        each: &'a mut (dyn FnMut(Row) -> StoreResult<()> + Send),
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(std::future::ready(self.each(sql, args, each)))
    }

    fn batch<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        let result = lock(self.conn).and_then(|c| c.execute_batch(sql).map_err(|e| statement_err(e, sql)));
        Box::pin(std::future::ready(result))
    }
}

fn statement_err(e: rusqlite::Error, sql: &str) -> StoreError {
    let head: String = sql.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
    StoreError::backend(format!("{e} (in: {head} …)"))
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// A value bound to a SQLite statement without copying text or blobs.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}
