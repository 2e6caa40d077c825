//! Same-run baselines: what raw SQLite does on this machine at this moment.

use std::path::Path;
use std::time::{Duration, Instant as Clock};

use rusqlite::{Connection, params};

use crate::scenarios::Measured;
use crate::{BenchResult, Ctx};

/// Single-row durable inserts: a fresh file, WAL, `synchronous=FULL`, one
/// INSERT per transaction (autocommit), from one thread (SQLite has one writer).
pub fn durable_inserts(dir: &Path, seconds: f64, max: u64) -> BenchResult<Measured> {
    let path = dir.join("baseline-inserts.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let conn = Connection::open(&path).ctx("open the baseline database")?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE requests (id INTEGER PRIMARY KEY, tracking_no TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
            content TEXT NOT NULL, received_at TEXT NOT NULL);",
    )
    .ctx("baseline schema")?;
    let mut stmt = conn
        .prepare("INSERT INTO requests (tracking_no, title, content, received_at) VALUES (?1, ?2, ?3, ?4)")
        .ctx("prepare")?;
    let content = "我司上月提交经营范围变更申请，至今未办结，请尽快处理。".repeat(4);
    let (started, mut micros) = (Clock::now(), Vec::new());
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut n = 0u64;
    while n < max && Clock::now() < deadline {
        let t0 = Clock::now();
        stmt.execute(params![format!("ZS20260101{n:08}"), "营业执照变更登记迟迟未办结", content, "2026-01-01T10:00:00.000+08:00"])
            .ctx("baseline insert")?;
        micros.push(t0.elapsed().as_micros() as u64);
        n += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(stmt);
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(Measured::from_latencies("raw SQLite single-row durable INSERT (1 thread)", 1, micros, 0, elapsed))
}

/// Per lead unit over requests received in the period: requests, closed,
/// closed on time, followed up, resolved, satisfied, returns, extensions, reopens.
const GROUP_BY: &str = "SELECT lead_unit_id, COUNT(*), SUM(closed_at IS NOT NULL),
       SUM(closed_at IS NOT NULL AND due_at IS NOT NULL AND closed_at <= due_at),
       SUM(rating IS NOT NULL), SUM(resolved = 1),
       SUM(rating IN ('very_satisfied', 'satisfied', 'fairly_satisfied')),
       SUM(return_count), SUM(extension_count), SUM(reopen_count)
    FROM requests WHERE received_at >= ?1 AND received_at < ?2 GROUP BY lead_unit_id";

/// The scoring aggregate as a plain GROUP BY over the requests table, on
/// its own read connection, repeated until `seconds` pass (at least once).
pub fn group_by(db: &Path, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ctx("open for GROUP BY")?;
    conn.execute_batch("PRAGMA cache_size = -16000;").ctx("pragma")?;
    let mut stmt = conn.prepare(GROUP_BY).ctx("prepare GROUP BY")?;
    let (started, mut micros) = (Clock::now(), Vec::new());
    let deadline = started + Duration::from_secs_f64(seconds);
    while micros.is_empty() || (Clock::now() < deadline && (micros.len() as u64) < max) {
        let t0 = Clock::now();
        let rows: Vec<i64> = stmt
            .query_map(params![from, to], |r| r.get::<_, i64>(1))
            .ctx("GROUP BY")?
            .collect::<Result<_, _>>()
            .ctx("GROUP BY")?;
        if rows.is_empty() {
            return Err("the GROUP BY baseline found no requests".into());
        }
        micros.push(t0.elapsed().as_micros() as u64);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Measured::from_latencies("plain SQL GROUP BY over requests (1 connection)", 1, micros, 0, elapsed))
}

/// The closed-in-period condition of the dashboard baseline.
const CLOSED_IN: &str = "closed_at >= ?1 AND closed_at < ?2";

/// The leader dashboard as plain SQL over the requests table: one `GROUP BY`
/// per breakdown (lead unit, town, type, category) with the received and
/// closed figures, and the daily trend of receipts and of closes.
fn dashboard_statements() -> Vec<String> {
    let satisfied = "rating IN ('very_satisfied', 'satisfied', 'fairly_satisfied')";
    let breakdown = |key: &str| {
        format!(
            "SELECT {key}, SUM(received_at >= ?1 AND received_at < ?2), SUM({CLOSED_IN}), SUM({CLOSED_IN} AND due_at IS NOT NULL),
                SUM({CLOSED_IN} AND closed_at <= due_at), SUM({CLOSED_IN} AND {satisfied}), SUM({CLOSED_IN} AND rating IS NOT NULL)
             FROM requests WHERE (received_at >= ?1 AND received_at < ?2) OR ({CLOSED_IN}) GROUP BY 1"
        )
    };
    let mut all: Vec<String> = ["lead_unit_id", "town_id", "kind", "category_id"].into_iter().map(breakdown).collect();
    all.push("SELECT substr(received_at, 1, 10), COUNT(*) FROM requests WHERE received_at >= ?1 AND received_at < ?2 GROUP BY 1".into());
    all.push(format!(
        "SELECT substr(closed_at, 1, 10), COUNT(*), COUNT(due_at), SUM(closed_at <= due_at), SUM({satisfied}), COUNT(rating)
         FROM requests WHERE {CLOSED_IN} GROUP BY 1"
    ));
    all
}

/// The dashboard's aggregate as plain GROUP BYs over the requests table (all
/// six statements per run), on its own read connection, repeated until
/// `seconds` pass (at least once).
pub fn dashboard_group_by(db: &Path, from: &str, to: &str, seconds: f64, max: u64) -> BenchResult<Measured> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ctx("open for GROUP BY")?;
    conn.execute_batch("PRAGMA cache_size = -16000;").ctx("pragma")?;
    let statements = dashboard_statements();
    let (started, mut micros) = (Clock::now(), Vec::new());
    let deadline = started + Duration::from_secs_f64(seconds);
    while micros.is_empty() || (Clock::now() < deadline && (micros.len() as u64) < max) {
        let t0 = Clock::now();
        let mut rows = 0usize;
        for sql in &statements {
            let mut stmt = conn.prepare_cached(sql).ctx("prepare the dashboard GROUP BY")?;
            let found: Vec<i64> =
                stmt.query_map(params![from, to], |r| r.get::<_, i64>(1)).ctx("GROUP BY")?.collect::<Result<_, _>>().ctx("GROUP BY")?;
            rows += found.len();
        }
        if rows == 0 {
            return Err("the dashboard GROUP BY baseline found no requests".into());
        }
        micros.push(t0.elapsed().as_micros() as u64);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Measured::from_latencies("dashboard as plain SQL GROUP BYs over requests (6 statements, 1 connection)", 1, micros, 0, elapsed))
}
