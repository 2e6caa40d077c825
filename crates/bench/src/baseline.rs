//! Same-run baselines: what the raw database does on this machine at this
//! moment: SQLite from its file, PostgreSQL on the benchmark's database.
//! Both run the same statements, written once for both dialects.

use std::path::Path;
use std::time::{Duration, Instant as Clock};

use rusqlite::{Connection, params};

use crate::pg::PgCtx;
use crate::scenarios::Measured;
use crate::{BenchResult, Ctx};

/// The SQL dialect a baseline statement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The number of rows meeting `cond` in a group.
    fn count(self, cond: &str) -> String {
        match self {
            Self::Sqlite => format!("SUM({cond})"),
            Self::Postgres => format!("COUNT(*) FILTER (WHERE {cond})"),
        }
    }

    /// `resolved` is 0/1 in SQLite and a BOOLEAN in PostgreSQL.
    fn resolved(self) -> &'static str {
        match self {
            Self::Sqlite => "resolved = 1",
            Self::Postgres => "resolved",
        }
    }

    /// The statement with its `?N` parameters spelled for the dialect.
    fn params(self, sql: String) -> String {
        match self {
            Self::Sqlite => sql,
            Self::Postgres => {
                let mut out = String::with_capacity(sql.len());
                let mut chars = sql.chars().peekable();
                while let Some(c) = chars.next() {
                    let numbered = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
                    out.push(if numbered { '$' } else { c });
                }
                out
            }
        }
    }
}

/// Runs `step` until `seconds` pass or `max` runs are made, at least once;
/// each run is one latency sample.
pub fn repeat(
    name: &str,
    seconds: f64,
    max: u64,
    mut step: impl FnMut(u64) -> BenchResult<()>,
) -> BenchResult<Measured> {
    let (started, mut micros) = (Clock::now(), Vec::new());
    let deadline = started + Duration::from_secs_f64(seconds);
    while micros.is_empty() || (Clock::now() < deadline && (micros.len() as u64) < max) {
        let t0 = Clock::now();
        step(micros.len() as u64)?;
        micros.push(t0.elapsed().as_micros() as u64);
    }
    Ok(Measured::from_latencies(name, 1, micros, 0, started.elapsed().as_secs_f64()))
}

/// The columns of the scratch table of the intake baselines, after its key.
pub const INSERT_COLUMNS: &str =
    "tracking_no TEXT NOT NULL UNIQUE, title TEXT NOT NULL, content TEXT NOT NULL, received_at TEXT NOT NULL";

/// The insert into the scratch table `table` of the intake baselines.
pub fn insert_sql(dialect: Dialect, table: &str) -> String {
    dialect.params(format!("INSERT INTO {table} (tracking_no, title, content, received_at) VALUES (?1, ?2, ?3, ?4)"))
}

/// The name of the disk-flush baseline.
pub const FSYNC_NAME: &str = "fsync: 4 KiB appended, then fdatasync (1 thread)";

/// The disk's flush rate, what every durable commit waits for at least once:
/// a 4 KiB page appended to a fresh file in `dir` and flushed (`fdatasync`),
/// one at a time.
pub fn fsyncs(dir: &Path, seconds: f64, max: u64) -> BenchResult<Measured> {
    use std::io::Write;
    let path = dir.join("baseline-fsync.bin");
    let mut file = std::fs::File::create(&path).ctx("create the fsync baseline's file")?;
    let page = [0x5a_u8; 4096];
    let measured = repeat(FSYNC_NAME, seconds, max, |_| {
        file.write_all(&page).ctx("fsync baseline write")?;
        file.sync_data().ctx("fsync baseline flush")
    });
    drop(file);
    let _ = std::fs::remove_file(&path);
    measured
}

/// The n-th row of the intake baselines: (tracking number, title, content, received).
pub fn insert_row(n: u64) -> (String, &'static str, String, &'static str) {
    let content = "我司上月提交经营范围变更申请，至今未办结，请尽快处理。".repeat(4);
    (format!("ZS20260101{n:08}"), "营业执照变更登记迟迟未办结", content, "2026-01-01T10:00:00.000+08:00")
}

/// Single-row durable inserts: a fresh file, WAL, `synchronous=FULL`, one
/// INSERT per transaction (autocommit), from one thread (SQLite has one writer).
pub fn durable_inserts(dir: &Path, seconds: f64, max: u64) -> BenchResult<Measured> {
    let path = dir.join("baseline-inserts.db");
    let remove = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    remove();
    let conn = Connection::open(&path).ctx("open the baseline database")?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE requests (id INTEGER PRIMARY KEY, {INSERT_COLUMNS});"
    ))
    .ctx("baseline schema")?;
    let mut stmt = conn.prepare(&insert_sql(Dialect::Sqlite, "requests")).ctx("prepare")?;
    let measured = repeat("raw SQLite single-row durable INSERT (1 thread)", seconds, max, |n| {
        let (no, title, content, at) = insert_row(n);
        stmt.execute(params![no, title, content, at]).map(drop).ctx("baseline insert")
    });
    drop(stmt);
    drop(conn);
    remove();
    measured
}

/// Per lead unit over requests received in the period: requests, closed,
/// closed on time, followed up, resolved, satisfied, returns, extensions, reopens.
pub fn group_by_sql(d: Dialect) -> String {
    let satisfied = "rating IN ('very_satisfied', 'satisfied', 'fairly_satisfied')";
    d.params(format!(
        "SELECT lead_unit_id, COUNT(*), {}, {}, {}, {}, {}, SUM(return_count), SUM(extension_count), SUM(reopen_count)
    FROM requests WHERE received_at >= ?1 AND received_at < ?2 GROUP BY lead_unit_id",
        d.count("closed_at IS NOT NULL"),
        d.count("closed_at IS NOT NULL AND due_at IS NOT NULL AND closed_at <= due_at"),
        d.count("rating IS NOT NULL"),
        d.count(d.resolved()),
        d.count(satisfied),
    ))
}

/// The name of the scoring GROUP BY baseline.
pub const GROUP_BY_NAME: &str = "plain SQL GROUP BY over requests (1 connection)";
/// The name of the dashboard GROUP BYs baseline.
pub const DASHBOARD_NAME: &str = "dashboard as plain SQL GROUP BYs over requests (6 statements, 1 connection)";

/// The scoring aggregate as a plain GROUP BY over the requests table, on
/// its own read connection, repeated until `seconds` pass (at least once).
pub fn group_by(db: &Path, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    sqlite_group_bys(db, &[group_by_sql(Dialect::Sqlite)], GROUP_BY_NAME, (from, to), (seconds, max))
}

/// The leader dashboard as plain SQL over the requests table: one `GROUP BY`
/// per breakdown (lead unit, town, type, category) with the received and
/// closed figures, and the daily trend of receipts and of closes.
pub fn dashboard_statements(d: Dialect) -> Vec<String> {
    let closed_in = "closed_at >= ?1 AND closed_at < ?2";
    let satisfied = "rating IN ('very_satisfied', 'satisfied', 'fairly_satisfied')";
    let breakdown = |key: &str| {
        format!(
            "SELECT {key}, {}, {}, {},
                {}, {}, {}
             FROM requests WHERE (received_at >= ?1 AND received_at < ?2) OR ({closed_in}) GROUP BY 1",
            d.count("received_at >= ?1 AND received_at < ?2"),
            d.count(closed_in),
            d.count(&format!("{closed_in} AND due_at IS NOT NULL")),
            d.count(&format!("{closed_in} AND closed_at <= due_at")),
            d.count(&format!("{closed_in} AND {satisfied}")),
            d.count(&format!("{closed_in} AND rating IS NOT NULL")),
        )
    };
    let mut all: Vec<String> = ["lead_unit_id", "town_id", "kind", "category_id"].into_iter().map(breakdown).collect();
    all.push("SELECT substr(received_at, 1, 10), COUNT(*) FROM requests WHERE received_at >= ?1 AND received_at < ?2 GROUP BY 1".into());
    all.push(format!(
        "SELECT substr(closed_at, 1, 10), COUNT(*), COUNT(due_at), {}, {}, COUNT(rating)
         FROM requests WHERE {closed_in} GROUP BY 1",
        d.count("closed_at <= due_at"),
        d.count(satisfied),
    ));
    all.into_iter().map(|sql| d.params(sql)).collect()
}

/// The dashboard's aggregate as plain GROUP BYs over the requests table (all
/// six statements per run), on its own read connection, repeated until
/// `seconds` pass (at least once).
pub fn dashboard_group_by(db: &Path, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    sqlite_group_bys(db, &dashboard_statements(Dialect::Sqlite), DASHBOARD_NAME, (from, to), (seconds, max))
}

/// Runs `statements` (each a GROUP BY whose second column is a count) as
/// one timed sample, on a read-only connection of its own.
fn sqlite_group_bys(
    db: &Path,
    statements: &[String],
    name: &str,
    period: (&str, &str),
    bound: (f64, u64),
) -> BenchResult<Measured> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ctx("open for GROUP BY")?;
    conn.execute_batch("PRAGMA cache_size = -16000;").ctx("pragma")?;
    repeat(name, bound.0, bound.1, |_| {
        let mut rows = 0usize;
        for sql in statements {
            let mut stmt = conn.prepare_cached(sql).ctx("prepare the GROUP BY")?;
            let found: Vec<i64> = stmt
                .query_map(params![period.0, period.1], |r| r.get::<_, i64>(1))
                .ctx("GROUP BY")?
                .collect::<Result<_, _>>()
                .ctx("GROUP BY")?;
            rows += found.len();
        }
        if rows == 0 {
            return Err(format!("the baseline {name:?} found no requests"));
        }
        Ok(())
    })
}

/// Single-row durable inserts into PostgreSQL: a scratch table in the
/// benchmark's database (created and dropped here), one connection,
/// autocommit, `synchronous_commit = on`.
pub fn pg_durable_inserts(url: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    let mut client = crate::pg::connect(url)?;
    let table = "bench_baseline_inserts";
    client
        .batch_execute(&format!(
            "SET synchronous_commit = on; DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, {INSERT_COLUMNS});"
        ))
        .pg_ctx("baseline table")?;
    let stmt = client.prepare(&insert_sql(Dialect::Postgres, table)).pg_ctx("prepare")?;
    let measured = repeat("raw PostgreSQL single-row durable INSERT (1 connection)", seconds, max, |n| {
        let (no, title, content, at) = insert_row(n);
        client.execute(&stmt, &[&no, &title, &content, &at]).map(drop).pg_ctx("baseline insert")
    });
    client.batch_execute(&format!("DROP TABLE {table}")).pg_ctx("drop the baseline table")?;
    measured
}

/// The scoring GROUP BY over PostgreSQL's `requests`, on one connection.
pub fn pg_group_by(url: &str, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    pg_group_bys(url, &[group_by_sql(Dialect::Postgres)], GROUP_BY_NAME, (from, to), (seconds, max))
}

/// The dashboard GROUP BYs over PostgreSQL's `requests`, on one connection.
pub fn pg_dashboard_group_by(url: &str, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    pg_group_bys(url, &dashboard_statements(Dialect::Postgres), DASHBOARD_NAME, (from, to), (seconds, max))
}

fn pg_group_bys(
    url: &str,
    statements: &[String],
    name: &str,
    period: (&str, &str),
    bound: (f64, u64),
) -> BenchResult<Measured> {
    let mut client = crate::pg::connect(url)?;
    let prepared: Vec<postgres::Statement> =
        statements.iter().map(|sql| client.prepare(sql)).collect::<Result<_, _>>().pg_ctx("prepare the GROUP BY")?;
    repeat(name, bound.0, bound.1, |_| {
        let mut rows = 0usize;
        for stmt in &prepared {
            let found = client.query(stmt, &[&period.0, &period.1]).pg_ctx("GROUP BY")?;
            for row in &found {
                row.try_get::<_, i64>(1).pg_ctx("GROUP BY count")?;
            }
            rows += found.len();
        }
        if rows == 0 {
            return Err(format!("the baseline {name:?} found no requests"));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_spelled_for_each_dialect() {
        let sql = insert_sql(Dialect::Postgres, "t");
        assert!(sql.ends_with("VALUES ($1, $2, $3, $4)"), "{sql}");
        assert!(insert_sql(Dialect::Sqlite, "t").ends_with("VALUES (?1, ?2, ?3, ?4)"));
        let pg = group_by_sql(Dialect::Postgres);
        assert!(pg.contains("COUNT(*) FILTER (WHERE resolved)") && !pg.contains('?'), "{pg}");
        assert!(group_by_sql(Dialect::Sqlite).contains("SUM(resolved = 1)"));
        assert!(dashboard_statements(Dialect::Postgres).iter().all(|s| !s.contains('?') && !s.contains("SUM(closed")));
    }
}
