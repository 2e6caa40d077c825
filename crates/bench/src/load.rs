//! The bulk loader: a real database (migrations, demo org, catalogue and
//! users, a template history made by the demo generator through the store's
//! lifecycle), then copies of the template written straight into SQLite with
//! prepared statements in large transactions, moved in time, with fresh
//! tracking numbers, check codes and phones. Finally the scoring rollups are
//! rebuilt by the store and a few rows are read back through it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant as Clock;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use mashangban_domain::org::Scope;
use mashangban_store::{DashboardRebuild, DashboardStore, ListFilter, RebuildSummary, RequestStore, ScoringStore};
use mashangban_store_sqlite::{SqliteOptions, SqliteStore};

use crate::shift::{self, DAY_MS, Shiftable};
use crate::{BenchResult, Ctx};

/// Requests per load transaction.
const COMMIT_EVERY: u64 = 50_000;
/// The password of every demo user in a benchmark database.
pub const PASSWORD: &str = "mashangban-bench";

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub db: PathBuf,
    pub scale: u64,
    /// Requests made by the demo generator and copied.
    pub template: usize,
    pub seed: u64,
}

/// What the load did and how fast.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadStats {
    pub requests: u64,
    pub events: u64,
    pub template_requests: u64,
    pub template_seconds: f64,
    /// Copying rows (requests, events, request units) with the indexes dropped.
    pub copy_seconds: f64,
    /// Re-creating the dropped indexes.
    pub index_seconds: f64,
    pub rebuild_seconds: f64,
    pub total_seconds: f64,
    /// Copied requests per second of copy + index time.
    pub requests_per_second: f64,
    pub events_per_second: f64,
    pub rollup_day_rows: u64,
    pub rollup_month_rows: u64,
    /// Rebuilding the dashboard rollups from the requests (part of `rebuild_seconds`).
    #[serde(default)]
    pub dashboard_rebuild_seconds: f64,
    #[serde(default)]
    pub dashboard_day_rows: u64,
    #[serde(default)]
    pub dashboard_month_rows: u64,
    pub db_bytes: u64,
    pub text_bytes: u64,
    /// (database bytes − title and content bytes) / requests.
    pub bytes_per_request: f64,
}

/// Loads a fresh database at `opts.db`.
pub fn load(opts: &LoadOptions, rt: &tokio::runtime::Runtime) -> BenchResult<LoadStats> {
    let started = Clock::now();
    remove_db(&opts.db)?;
    let template = opts.template.min(usize::try_from(opts.scale).unwrap_or(usize::MAX)).max(1);
    let t0 = Clock::now();
    rt.block_on(make_template(&opts.db, template, opts.seed))?;
    let template_seconds = t0.elapsed().as_secs_f64();
    let conn = open_for_bulk_load(&opts.db)?;
    let tpl = Template::read(&conn)?;
    let indexes = drop_indexes(&conn, &["requests", "events", "request_units"])?;
    let t1 = Clock::now();
    let copied = copy_all(&conn, &tpl, opts.scale, opts.seed)?;
    let copy_seconds = t1.elapsed().as_secs_f64();
    let index_seconds = finish_bulk_load(&conn, &indexes)?;
    drop(conn);
    let t3 = Clock::now();
    let (summary, dashboard, dashboard_seconds) = rt.block_on(rebuild_and_verify(&opts.db))?;
    let rebuild_seconds = t3.elapsed().as_secs_f64();
    let (db_bytes, text_bytes, requests, events) = sizes(&opts.db)?;
    let bulk = (copy_seconds + index_seconds).max(1e-9);
    Ok(LoadStats {
        requests,
        events,
        template_requests: tpl.requests.len() as u64,
        template_seconds,
        copy_seconds,
        index_seconds,
        rebuild_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        requests_per_second: copied.0 as f64 / bulk,
        events_per_second: copied.1 as f64 / bulk,
        rollup_day_rows: summary.day_rows,
        rollup_month_rows: summary.month_rows,
        dashboard_rebuild_seconds: dashboard_seconds,
        dashboard_day_rows: dashboard.day_rows,
        dashboard_month_rows: dashboard.month_rows,
        db_bytes,
        text_bytes,
        bytes_per_request: db_bytes.saturating_sub(text_bytes) as f64 / requests.max(1) as f64,
    })
}

pub(crate) fn remove_db(db: &Path) -> BenchResult<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).ctx("remove an old database")?;
        }
    }
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).ctx("create the work directory")?;
    }
    Ok(())
}

/// The real store: migrations, demo org, catalogue, users, and `count` requests of history.
async fn make_template(db: &Path, count: usize, seed: u64) -> BenchResult<()> {
    let (store, data) = open_with_org(db).await?;
    let options = mashangban_demo::HistoryOptions { seed, count, end: mashangban_domain::time::now() };
    mashangban_demo::generate_history(&store, &data, &options, |_, _| {}).await.ctx("demo history")?;
    Ok(())
}

/// Opens the real store at `db` (migrations applied), with the bench's key of personal data.
pub(crate) fn open_store(db: &Path) -> BenchResult<SqliteStore> {
    let options = SqliteOptions { personal_data: Some(crate::bench_keys()), ..SqliteOptions::default() };
    mashangban_store_sqlite::open(db, options).ctx("open the store")
}

/// Opens the real store at `db` (migrations) and fills the demo org, catalogue and users (password
/// [`PASSWORD`]).
pub(crate) async fn open_with_org(db: &Path) -> BenchResult<(SqliteStore, mashangban_demo::DemoData)> {
    let store = open_store(db)?;
    let data = mashangban_demo::DemoData::bundled().ctx("demo data")?;
    mashangban_demo::load_org_and_catalog(&store, &data).await.ctx("demo org")?;
    let hash = mashangban_web::auth::hash_password(PASSWORD).map_err(|e| e.message.to_string())?;
    mashangban_demo::load_users(&store, &data, &hash).await.ctx("demo users")?;
    Ok((store, data))
}

/// A connection for a bulk load: WAL, no fsync, a large cache (durability comes back in
/// [`finish_bulk_load`]).
pub(crate) fn open_for_bulk_load(db: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(db).ctx("open the database for the bulk load")?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;",
    )
    .ctx("load pragmas")?;
    Ok(conn)
}

/// Re-creates the indexes [`drop_indexes`] dropped, then puts durability back and checkpoints;
/// answers the seconds the indexes took.
pub(crate) fn finish_bulk_load(conn: &Connection, indexes: &[String]) -> BenchResult<f64> {
    let started = Clock::now();
    for sql in indexes {
        conn.execute_batch(sql).ctx("re-create an index")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -32000; PRAGMA wal_checkpoint(TRUNCATE);")
        .ctx("restore pragmas")?;
    Ok(seconds)
}

/// The store's own indexes on the bulk-loaded tables (not the UNIQUE ones), dropped for the load.
pub(crate) fn drop_indexes(conn: &Connection, tables: &[&str]) -> BenchResult<Vec<String>> {
    let names: Vec<String> = tables.iter().map(|t| format!("'{t}'")).collect();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({})",
            names.join(", ")
        ))
        .ctx("list indexes")?;
    let found: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx("list indexes")?
        .collect::<Result<_, _>>()
        .ctx("index")?;
    for (name, _) in &found {
        conn.execute_batch(&format!("DROP INDEX \"{name}\"")).ctx("drop an index")?;
    }
    Ok(found.into_iter().map(|(_, sql)| sql).collect())
}

enum Cell {
    Value(Value),
    Shift(Shiftable),
}

fn cell(v: Value) -> Cell {
    match &v {
        Value::Text(s) => Shiftable::parse(s).map_or(Cell::Value(v), Cell::Shift),
        _ => Cell::Value(v),
    }
}

struct TRequest {
    id: i64,
    cells: Vec<Cell>,
    received_ms: i64,
    in_merge: bool,
    events: Vec<TEvent>,
    units: Vec<(i64, String)>,
}

struct TEvent {
    cells: Vec<Cell>,
    /// Details of merge events, whose ids and tracking numbers are rewritten per copy.
    merge_details: Option<serde_json::Value>,
}

struct Template {
    request_cols: Vec<String>,
    event_cols: Vec<String>,
    requests: Vec<TRequest>,
    /// Template tracking number → index in `requests`.
    by_tracking: HashMap<String, usize>,
    prefix: String,
    /// Ids of a copy are the template's plus copy × stride.
    stride: i64,
    counters: HashMap<String, i64>,
}

fn col(cols: &[String], name: &str) -> BenchResult<usize> {
    cols.iter().position(|c| c == name).ok_or_else(|| format!("column {name} not found"))
}

fn read_rows(conn: &Connection, sql: &str) -> BenchResult<(Vec<String>, Vec<Vec<Value>>)> {
    let mut stmt = conn.prepare(sql).ctx("read the template")?;
    let cols: Vec<String> = stmt.column_names().iter().map(|s| (*s).to_owned()).collect();
    let n = cols.len();
    let rows = stmt
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>())
        .ctx("read the template")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("read the template")?;
    Ok((cols, rows))
}

impl Template {
    fn read(conn: &Connection) -> BenchResult<Self> {
        let (request_cols, rows) = read_rows(conn, "SELECT * FROM requests ORDER BY id")?;
        let (id_c, no_c, recv_c, merged_c) = (
            col(&request_cols, "id")?,
            col(&request_cols, "tracking_no")?,
            col(&request_cols, "received_at")?,
            col(&request_cols, "merged_into")?,
        );
        let mut requests = Vec::with_capacity(rows.len());
        let mut index = HashMap::new();
        let mut by_tracking = HashMap::new();
        let mut prefix = String::from("ZS");
        for row in rows {
            let id = as_int(&row[id_c]);
            let no = as_text(&row[no_c]);
            prefix = no.get(..no.len().saturating_sub(14)).unwrap_or("ZS").to_owned();
            let received_ms = Shiftable::parse(&as_text(&row[recv_c])).and_then(|s| s.first_instant()).unwrap_or(0);
            let in_merge = !matches!(row[merged_c], Value::Null);
            index.insert(id, requests.len());
            by_tracking.insert(no, requests.len());
            let cells = row.into_iter().map(cell).collect();
            requests.push(TRequest { id, cells, received_ms, in_merge, events: Vec::new(), units: Vec::new() });
        }
        let (all_event_cols, events) = read_rows(conn, "SELECT * FROM events ORDER BY request_id, seq")?;
        let (eid_c, req_c, kind_c, details_c) = (
            col(&all_event_cols, "id")?,
            col(&all_event_cols, "request_id")?,
            col(&all_event_cols, "kind")?,
            col(&all_event_cols, "details")?,
        );
        for row in events {
            let Some(&i) = index.get(&as_int(&row[req_c])) else { continue };
            let kind = as_text(&row[kind_c]);
            let merge = kind == "merged_into" || kind == "merged_child";
            let merge_details = if merge { serde_json::from_str(&as_text(&row[details_c])).ok() } else { None };
            if merge {
                requests[i].in_merge = true;
            }
            let cells = row.into_iter().enumerate().filter(|(c, _)| *c != eid_c).map(|(_, v)| cell(v)).collect();
            requests[i].events.push(TEvent { cells, merge_details });
        }
        let mut stmt = conn.prepare("SELECT request_id, unit_id, role FROM request_units").ctx("read request units")?;
        let units: Vec<(i64, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx("units")?
            .collect::<Result<_, _>>()
            .ctx("units")?;
        for (req, unit, role) in units {
            if let Some(&i) = index.get(&req) {
                requests[i].units.push((unit, role));
            }
        }
        let mut stmt = conn.prepare("SELECT day, last FROM tracking_counters").ctx("read counters")?;
        let counters = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("counters")?
            .collect::<Result<_, _>>()
            .ctx("counters")?;
        let stride = requests.iter().map(|r| r.id).max().unwrap_or(0);
        let event_cols = all_event_cols.into_iter().enumerate().filter(|(c, _)| *c != eid_c).map(|(_, n)| n).collect();
        if requests.is_empty() {
            return Err("the demo generator made no requests".into());
        }
        Ok(Self { request_cols, event_cols, requests, by_tracking, prefix, stride, counters })
    }
}

fn as_int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        _ => 0,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    }
}

/// The time offset of copy `c`: back by whole weeks (weekdays stay weekdays) and up to an hour.
fn offset_of(copy: i64) -> i64 {
    -((copy % 8) * 7 * DAY_MS + (copy * 7919 % 3600) * 1000)
}

struct Writer<'c> {
    request: rusqlite::Statement<'c>,
    event: rusqlite::Statement<'c>,
    unit: rusqlite::Statement<'c>,
    rng: StdRng,
    buf: String,
}

fn insert_sql(table: &str, cols: &[String]) -> String {
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", cols.join(", "), marks.join(", "))
}

/// Copies the template until `scale` requests exist; returns (requests, events) written.
fn copy_all(conn: &Connection, tpl: &Template, scale: u64, seed: u64) -> BenchResult<(u64, u64)> {
    let mut w = Writer {
        request: conn.prepare(&insert_sql("requests", &tpl.request_cols)).ctx("prepare")?,
        event: conn.prepare(&insert_sql("events", &tpl.event_cols)).ctx("prepare")?,
        unit: conn
            .prepare("INSERT INTO request_units (request_id, unit_id, role) VALUES (?1, ?2, ?3)")
            .ctx("prepare")?,
        rng: StdRng::seed_from_u64(seed),
        buf: String::new(),
    };
    let mut counters = tpl.counters.clone();
    let per_copy = tpl.requests.len() as u64;
    let (mut done, mut events, mut since_commit) = (per_copy, 0u64, 0u64);
    conn.execute_batch("BEGIN").ctx("begin")?;
    let mut copy = 1i64;
    while done < scale {
        let left = scale - done;
        let chosen: Vec<usize> = if left >= per_copy {
            (0..tpl.requests.len()).collect()
        } else {
            (0..tpl.requests.len()).filter(|&i| !tpl.requests[i].in_merge).take(left as usize).collect()
        };
        if chosen.is_empty() {
            break;
        }
        let (r, e) = copy_one(&mut w, tpl, copy, &chosen, &mut counters)?;
        done += r;
        events += e;
        since_commit += r;
        if since_commit >= COMMIT_EVERY {
            conn.execute_batch("COMMIT; BEGIN").ctx("commit")?;
            since_commit = 0;
        }
        copy += 1;
    }
    write_counters(conn, &counters)?;
    conn.execute_batch("COMMIT").ctx("commit")?;
    Ok((done - per_copy, events))
}

fn write_counters(conn: &Connection, counters: &HashMap<String, i64>) -> BenchResult<()> {
    let mut stmt = conn
        .prepare("INSERT INTO tracking_counters (day, last) VALUES (?1, ?2) ON CONFLICT (day) DO UPDATE SET last = MAX(last, excluded.last)")
        .ctx("prepare counters")?;
    for (day, last) in counters {
        stmt.execute(rusqlite::params![day, last]).ctx("write counters")?;
    }
    Ok(())
}

fn copy_one(
    w: &mut Writer<'_>,
    tpl: &Template,
    copy: i64,
    chosen: &[usize],
    counters: &mut HashMap<String, i64>,
) -> BenchResult<(u64, u64)> {
    let offset = offset_of(copy);
    let mut numbers = vec![String::new(); tpl.requests.len()];
    for &i in chosen {
        let day = shift::day_key(tpl.requests[i].received_ms + offset);
        let seq = counters.entry(day.clone()).or_insert(0);
        *seq += 1;
        numbers[i] = format!("{}{day}{:06}", tpl.prefix, *seq);
    }
    let mut events = 0;
    for &i in chosen {
        let req = &tpl.requests[i];
        let new_id = req.id + copy * tpl.stride;
        insert_request(w, tpl, req, new_id, &numbers[i], copy, offset)?;
        for ev in &req.events {
            insert_event(w, tpl, ev, new_id, copy, offset, &numbers)?;
            events += 1;
        }
        for (unit, role) in &req.units {
            w.unit.execute(rusqlite::params![new_id, unit, role]).ctx("insert a request unit")?;
        }
    }
    Ok((chosen.len() as u64, events))
}

/// A mobile number keeps its first seven digits; the last four vary per copy.
fn vary_phone(phone: &str, copy: i64, id: i64) -> String {
    if phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}{:04}", &phone[..7], (copy * 7919 + id * 31) % 10_000)
    } else {
        phone.to_owned()
    }
}

fn bind_cell(
    stmt: &mut rusqlite::Statement<'_>,
    idx: usize,
    cell: &Cell,
    offset: i64,
    buf: &mut String,
) -> BenchResult<()> {
    match cell {
        Cell::Value(v) => stmt.raw_bind_parameter(idx, v),
        Cell::Shift(s) => {
            s.render(offset, buf);
            stmt.raw_bind_parameter(idx, buf.as_str())
        }
    }
    .ctx("bind")
}

fn insert_request(
    w: &mut Writer<'_>,
    tpl: &Template,
    req: &TRequest,
    new_id: i64,
    number: &str,
    copy: i64,
    offset: i64,
) -> BenchResult<()> {
    for (c, name) in tpl.request_cols.iter().enumerate() {
        let idx = c + 1;
        let bound = match (name.as_str(), &req.cells[c]) {
            ("id", _) => w.request.raw_bind_parameter(idx, new_id),
            ("tracking_no", _) => w.request.raw_bind_parameter(idx, number),
            ("check_code", _) => {
                w.request.raw_bind_parameter(idx, format!("{:08}", w.rng.gen_range(0..100_000_000u32)))
            }
            ("contact_phone", Cell::Value(Value::Text(p))) => {
                w.request.raw_bind_parameter(idx, vary_phone(p, copy, req.id))
            }
            ("merged_into", Cell::Value(Value::Integer(p))) => w.request.raw_bind_parameter(idx, p + copy * tpl.stride),
            (_, cell) => {
                bind_cell(&mut w.request, idx, cell, offset, &mut w.buf)?;
                Ok(())
            }
        };
        bound.ctx("bind a request column")?;
    }
    w.request.raw_execute().ctx("insert a request")?;
    Ok(())
}

fn insert_event(
    w: &mut Writer<'_>,
    tpl: &Template,
    ev: &TEvent,
    new_id: i64,
    copy: i64,
    offset: i64,
    numbers: &[String],
) -> BenchResult<()> {
    for (c, name) in tpl.event_cols.iter().enumerate() {
        let idx = c + 1;
        match (name.as_str(), &ev.merge_details) {
            ("request_id", _) => w.event.raw_bind_parameter(idx, new_id).ctx("bind")?,
            ("details", Some(details)) => {
                let moved = remap_merge(details, tpl, copy, numbers);
                w.event.raw_bind_parameter(idx, moved).ctx("bind")?;
            }
            _ => bind_cell(&mut w.event, idx, &ev.cells[c], offset, &mut w.buf)?,
        }
    }
    w.event.raw_execute().ctx("insert an event")?;
    Ok(())
}

/// A merge event's details pointing at the other request of the same copy.
fn remap_merge(details: &serde_json::Value, tpl: &Template, copy: i64, numbers: &[String]) -> String {
    let mut d = details.clone();
    if let Some(map) = d.as_object_mut() {
        for key in ["parent_id", "child_id"] {
            if let Some(id) = map.get(key).and_then(serde_json::Value::as_i64) {
                map.insert(key.into(), (id + copy * tpl.stride).into());
            }
        }
        for key in ["parent_tracking_no", "child_tracking_no"] {
            let new = map
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(|no| tpl.by_tracking.get(no))
                .map(|&i| numbers[i].clone());
            if let Some(new) = new {
                map.insert(key.into(), new.into());
            }
        }
    }
    d.to_string()
}

/// Rebuilds both rollups (the bulk copy bypasses the store) and reads a few
/// requests back; answers the two summaries and the dashboard rebuild's seconds.
async fn rebuild_and_verify(db: &Path) -> BenchResult<(RebuildSummary, DashboardRebuild, f64)> {
    let store = open_store(db)?;
    let summary = store.rebuild_scoring().await.ctx("rebuild the scoring rollups")?;
    let t0 = Clock::now();
    let dashboard = store.rebuild_dashboard().await.ctx("rebuild the dashboard rollups")?;
    let dashboard_seconds = t0.elapsed().as_secs_f64();
    verify(&store, db).await?;
    Ok((summary, dashboard, dashboard_seconds))
}

/// Reads a few loaded requests back through the real store.
async fn verify(store: &SqliteStore, db: &Path) -> BenchResult<()> {
    let conn = Connection::open(db).ctx("open for checks")?;
    let samples: Vec<(String, i64, i64)> = {
        let mut stmt = conn
            .prepare(
                "SELECT r.tracking_no, r.id, (SELECT COUNT(*) FROM events e WHERE e.request_id = r.id)
                 FROM requests r WHERE r.id IN (SELECT id FROM requests ORDER BY id DESC LIMIT 3)
                 OR r.id IN (SELECT id FROM requests ORDER BY random() LIMIT 5)",
            )
            .ctx("sample")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ctx("sample")?
            .collect::<Result<_, _>>()
            .ctx("sample")?
    };
    for (no, id, count) in samples {
        let found = store.find(&no, &Scope::All).await.ctx("find a loaded request")?;
        let found = found.ok_or_else(|| format!("loaded request {no} not found through the store"))?;
        let history = store.history(found.id).await.ctx("history of a loaded request")?;
        if found.id != id || history.len() as i64 != count {
            return Err(format!("loaded request {no}: {} events read back, {count} stored", history.len()));
        }
    }
    let page = store.list(&ListFilter { limit: 50, ..ListFilter::default() }, &Scope::All).await.ctx("list")?;
    if page.items.is_empty() {
        return Err("the store lists no loaded requests".into());
    }
    Ok(())
}

/// (file + WAL bytes after a checkpoint, title + content bytes, requests, events).
pub fn sizes(db: &Path) -> BenchResult<(u64, u64, u64, u64)> {
    let conn = Connection::open(db).ctx("open for sizes")?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").ctx("checkpoint")?;
    let (text, requests): (i64, i64) = conn
        .query_row(
            "SELECT COALESCE(SUM(length(CAST(title AS BLOB)) + length(CAST(content AS BLOB))), 0), COUNT(*) FROM requests",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ctx("text bytes")?;
    let events: i64 =
        conn.query_row("SELECT MAX(id) FROM events", [], |r| r.get::<_, Option<i64>>(0)).ctx("events")?.unwrap_or(0);
    drop(conn);
    let mut bytes = 0;
    for suffix in ["", "-wal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        bytes += std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).unwrap_or(0);
    }
    Ok((bytes, text as u64, requests as u64, events as u64))
}
