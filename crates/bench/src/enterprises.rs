//! The enterprise desk's scenario (`mashangban-bench enterprises`), issue 13's "Speed": a request
//! history loaded as the main benchmark loads it (`load::load`, `--requests`), then
//!
//! - the registry import: a workbook of generated enterprises (the demo registry's generator: valid
//!   credit codes with their check characters, the demo org's towns, GB/T 4754-2017 classes, sizes,
//!   dates) posted to the import preview and the import over HTTP (parse, validate, write), against
//!   raw batched INSERTs of the same rows into `enterprises` in one transaction, same run; then the
//!   same workbook with every enterprise renamed, re-imported (each record compared and updated),
//!   against raw batched UPDATEs of the same rows' columns, same run;
//! - the enterprise page (一企一档): one enterprise with many requests linked by its credit code,
//!   liaison cadres and recorded visits, its staff page and its API file read over HTTP;
//! - batch card printing: a town's contact cards (联系卡), four to an A4 sheet, over HTTP: the HTML
//!   sheets and the PDF file the server makes (`cards.pdf`), each timed end to end with its size.
//!
//! With `--postgres` the same measurements run again on PostgreSQL: the SQLite database as it is
//! after the load and setup (before its own import) is copied into a fresh PostgreSQL database
//! (`pg::create_and_copy`, as the main benchmark's PostgreSQL part), and the server runs on it.
//!
//! See `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant as Clock;

use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use mashangban_demo::{DemoData, DemoEnterprise, EnterpriseGenerator};
use mashangban_domain::liaison::{CadreInput, CadreLevel, LiaisonKind};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{EnterpriseStore, LiaisonStore, OrgStore};

use crate::ledgers::{ImportFigures, upload};
use crate::load::{self, LoadOptions, LoadStats};
use crate::pg::{self, PgCtx, PgLoad, PgTarget};
use crate::report::{self, Machine, Target, ms, target, thousands};
use crate::scenarios::{self, Measured, Scenario};
use crate::server::Server;
use crate::{BenchResult, Ctx};

/// Rows per INSERT statement of the import baseline.
const BATCH_ROWS: usize = 100;
/// What the re-import and its baseline add to every enterprise's name.
const RENAMED: &str = "（更名）";
/// Rows per UPDATE statement of the re-import baseline (as the store's re-import).
const UPDATE_BATCH_ROWS: usize = 200;
/// Times the batch print is fetched (the median is reported).
const PRINT_ROUNDS: usize = 3;
/// Who the bench writes as.
const BY: &str = "基准测试（bench）";
/// The marker of one card in the printed sheets.
const CARD_MARK: &str = "<article class=\"contact-card\"";

/// One run of the enterprise scenario.
#[derive(Debug, Clone)]
pub struct EnterpriseOptions {
    /// Requests in the history.
    pub requests: u64,
    /// Requests made by the demo generator and copied (as the main benchmark's `--template`).
    pub template: usize,
    /// Rows of the imported workbook (new enterprises).
    pub import_rows: u32,
    /// Requests of the history linked to the page's enterprise by its credit code.
    pub page_requests: u32,
    /// Recorded visits of the page's enterprise.
    pub visits: u32,
    /// Cards of the town whose cards are printed in one batch.
    pub cards: u32,
    /// What every scenario subcommand is run with.
    pub run: crate::RunOptions,
    /// Also on PostgreSQL, in this database (created afresh); `None`: SQLite only.
    pub postgres: Option<PgTarget>,
}

impl EnterpriseOptions {
    pub fn db_path(&self) -> PathBuf {
        self.run.work_dir.join(format!("bench-enterprises-{}.db", self.requests))
    }

    /// The PostgreSQL database of a run at `requests`: `mb_bench_enterprises_<requests>`.
    pub fn pg_target(admin_url: &str, requests: u64, connections: usize) -> PgTarget {
        PgTarget { admin_url: admin_url.to_owned(), database: format!("mb_bench_enterprises_{requests}"), connections }
    }
}

/// What the page's enterprise holds and what its page showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageFigures {
    pub credit_code: String,
    /// Requests carrying its credit code (counted in the database).
    pub requests_linked: u64,
    /// Requests its API file lists (the page shows at most `REQUESTS_SHOWN`).
    pub requests_shown: u64,
    pub visits: u64,
    pub liaisons: u64,
    /// Bytes of the staff page and of the API file.
    pub html_bytes: u64,
    pub json_bytes: u64,
}

/// The same workbook imported again with every enterprise renamed: each record compared and updated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReimportFigures {
    /// Records the re-import reported as updated.
    pub updated: u64,
    pub seconds: f64,
    /// [`UPDATE_BASELINE`]'s time for the same rows.
    pub baseline_seconds: f64,
}

impl ReimportFigures {
    /// Re-import throughput over the baseline's.
    pub fn ratio(&self) -> f64 {
        self.baseline_seconds / self.seconds.max(1e-9)
    }
}

/// The batch print of a town's cards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrintFigures {
    pub town: String,
    /// Cards in the printed sheets (counted in the HTML).
    pub cards: u64,
    pub bytes: u64,
    /// Seconds of each round, in order.
    pub rounds: Vec<f64>,
}

impl PrintFigures {
    pub fn median(&self) -> f64 {
        report::median(&self.rounds)
    }
}

/// The same town's cards as one PDF file made on the server (`GET /liaisons/towns/{town}/cards.pdf`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PdfFigures {
    /// Cards in the file (counted by their QR codes' link areas).
    pub cards: u64,
    /// A4 pages, four cards to a page.
    pub pages: u64,
    pub bytes: u64,
    /// Seconds of each round, in order.
    pub rounds: Vec<f64>,
}

impl PdfFigures {
    pub fn median(&self) -> f64 {
        report::median(&self.rounds)
    }
}

/// What was measured on one database.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseRun {
    /// `SQLite` or `PostgreSQL`.
    pub backend: String,
    pub import: ImportFigures,
    pub reimport: ReimportFigures,
    pub page: PageFigures,
    pub scenarios: Vec<Measured>,
    pub print: PrintFigures,
    pub pdf: PdfFigures,
    /// The server's peak RSS over its run (VmHWM).
    pub rss_peak: u64,
}

/// The PostgreSQL part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct EnterprisePg {
    pub database: String,
    /// Server version and the settings that matter, as the server reports them.
    pub server: String,
    /// The app server's pool size.
    pub connections: usize,
    /// The copy of the SQLite database after the load and setup.
    pub load: PgLoad,
    pub run: EnterpriseRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseReport {
    pub requests: u64,
    pub machine: Machine,
    pub date: String,
    pub commit: String,
    pub command: String,
    pub seconds: f64,
    pub load: LoadStats,
    /// Generating the import's enterprises and writing their workbook (not part of the import).
    pub workbook_seconds: f64,
    /// Cadre, enterprises of the card town, assignments, links and visits through the store.
    pub setup_seconds: f64,
    pub sqlite: EnterpriseRun,
    pub postgres: Option<EnterprisePg>,
}

/// Where the measurements run: the SQLite file, or a PostgreSQL database.
enum Db<'a> {
    Sqlite(&'a Path),
    Postgres(&'a PgTarget),
}

/// Loads the history and the enterprises, runs every measurement and reports.
pub fn run(opts: &EnterpriseOptions) -> BenchResult<EnterpriseReport> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let db = opts.db_path();
    let template = opts.template.min(usize::try_from(opts.requests).unwrap_or(usize::MAX));
    let load = load::load(&LoadOptions { db: db.clone(), scale: opts.requests, template, seed: opts.run.seed }, &rt)?;
    let data = DemoData::bundled().ctx("demo data")?;
    let mut generator = EnterpriseGenerator::new(&data, opts.run.seed);
    let t0 = Clock::now();
    let prepared = rt.block_on(prepare(&db, &mut generator, opts))?;
    let (requests_linked, visits) = link_requests(&db, &prepared.page_code, opts.page_requests)?;
    let setup_seconds = t0.elapsed().as_secs_f64();

    let t1 = Clock::now();
    let rows: Vec<DemoEnterprise> =
        (0..opts.import_rows).map(|_| generator.generate(None)).collect::<Result<_, _>>().ctx("generate")?;
    let workbook = workbook(&prepared.org, &rows)?;
    let renamed: Vec<DemoEnterprise> =
        rows.iter().map(|e| DemoEnterprise { name: format!("{}{RENAMED}", e.name), ..e.clone() }).collect();
    let renamed = self::workbook(&prepared.org, &renamed)?;
    let workbook_seconds = t1.elapsed().as_secs_f64();

    // PostgreSQL gets the database as it is now, before the SQLite run's import writes to it.
    let pg_load = match &opts.postgres {
        Some(target) => {
            eprintln!("mashangban-bench: copying into PostgreSQL database {}", target.database);
            Some(pg::create_and_copy(target, &db)?)
        }
        None => None,
    };
    let on = |db: Db<'_>| {
        let mut run = measure_on(opts, &rt, db, &prepared, &rows, (&workbook, &renamed))?;
        (run.page.requests_linked, run.page.visits) = (requests_linked, visits);
        Ok::<_, String>(run)
    };
    let sqlite = on(Db::Sqlite(&db))?;
    let postgres = match (&opts.postgres, pg_load) {
        (Some(target), Some(load)) => Some(EnterprisePg {
            database: target.database.clone(),
            server: pg::describe(&target.url())?,
            connections: target.connections,
            load,
            run: on(Db::Postgres(target))?,
        }),
        _ => None,
    };
    Ok(EnterpriseReport {
        requests: load.requests,
        machine: Machine::read(),
        date: mashangban_domain::time::now().format("%Y-%m-%d %H:%M (+08:00)").to_string(),
        commit: report::commit(),
        command: opts.run.command.clone(),
        seconds: opts.run.seconds,
        load,
        workbook_seconds,
        setup_seconds,
        sqlite,
        postgres,
    })
}

/// Starts the server on `db`, times the import baseline beside it, then measures over HTTP.
fn measure_on(
    opts: &EnterpriseOptions,
    rt: &tokio::runtime::Runtime,
    db: Db<'_>,
    prepared: &Prepared,
    rows: &[DemoEnterprise],
    workbooks: (&[u8], &[u8]),
) -> BenchResult<EnterpriseRun> {
    let (backend, url, connections) = match &db {
        Db::Sqlite(path) => ("SQLite", format!("sqlite://{}", path.display()), opts.run.readers),
        Db::Postgres(target) => ("PostgreSQL", target.url(), target.connections),
    };
    eprintln!("mashangban-bench: enterprises on {backend}");
    let server = Server::start(&opts.run.server_exe, &url, connections, None)?;
    // Blocking clients (rusqlite, postgres), so outside the runtime.
    let baselines = import_baseline(&db, &prepared.org, rows);
    let database = match &db {
        Db::Sqlite(_) => None,
        Db::Postgres(target) => Some(target.database.clone()),
    };
    let database_cpu = move || database.as_deref().map_or(0.0, pg::database_cpu_seconds);
    let measured = baselines
        .and_then(|baselines| rt.block_on(measure(opts, &server, prepared, workbooks, baselines, &database_cpu)));
    let rss_peak = server.memory().1;
    server.stop();
    let ((mut import, reimport), page, scenarios, print, pdf) = measured?;
    import.file_bytes = workbooks.0.len() as u64;
    Ok(EnterpriseRun { backend: backend.into(), import, reimport, page, scenarios, print, pdf, rss_peak })
}

/// Through the real store: the demo cadre `liaison` as a town leader, `cards` enterprises registered
/// in the first town (by code) with the cadre as each one's lead liaison, and the first of them (the
/// page's enterprise) visited `visits` times.
async fn prepare(
    db: &Path,
    generator: &mut EnterpriseGenerator<'_>,
    opts: &EnterpriseOptions,
) -> BenchResult<Prepared> {
    let store = crate::load::open_store(db)?;
    let org = OrgTree::new(store.list_units().await.ctx("org")?);
    let town = org
        .units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .min_by(|a, b| a.code.cmp(&b.code))
        .ok_or("the demo org has no towns")?
        .clone();
    let now = mashangban_domain::time::now();
    let enterprises: Vec<DemoEnterprise> = (0..opts.cards.max(1))
        .map(|_| generator.generate(Some(&town.code)))
        .collect::<Result<_, _>>()
        .ctx("generate")?;
    let inputs = enterprises.iter().map(|e| e.input(town.id)).collect();
    store.upsert_enterprises(inputs, true, now, BY.into()).await.ctx("register the card town's enterprises")?;
    let cadre = store.find_user("liaison").await.ctx("find the demo cadre")?.ok_or("no demo user `liaison`")?;
    let profile = CadreInput {
        user_id: cadre.id,
        level: CadreLevel::Town,
        post: format!("{}党委委员", town.name),
        work_phone: "076088001234".into(),
    };
    store.save_cadre(profile, now, BY.into()).await.ctx("save the cadre")?;
    for e in &enterprises {
        store.assign(e.credit_code.as_str(), cadre.id, LiaisonKind::Lead, now, BY.into()).await.ctx("assign")?;
    }
    let page_code = enterprises[0].credit_code.as_str().to_owned();
    let lead = (cadre.id, cadre.display_name.as_str());
    mashangban_demo::load_enterprise_visits(&store, &page_code, lead, opts.visits as usize, now)
        .await
        .ctx("record the visits")?;
    Ok(Prepared { org, town: town.code.clone(), page_code })
}

/// What [`prepare`] made: the org, the card town's code and the page enterprise's credit code.
struct Prepared {
    org: OrgTree,
    town: String,
    page_code: String,
}

/// Gives `count` requests of the loaded history, spread over it, the page enterprise's credit code
/// (as requests an enterprise makes carry it); answers how many carry it now and how many recorded
/// visits it has.
fn link_requests(db: &Path, code: &str, count: u32) -> BenchResult<(u64, u64)> {
    let conn = Connection::open(db).ctx("open for the links")?;
    conn.execute(
        "UPDATE requests SET credit_code = ?1 WHERE id IN
           (SELECT id FROM requests WHERE merged_into IS NULL ORDER BY (id * 7919) % 1000003 LIMIT ?2)",
        rusqlite::params![code, count],
    )
    .ctx("link requests")?;
    let (linked, visits): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM requests WHERE credit_code = ?1),
                    (SELECT COUNT(*) FROM visits WHERE credit_code = ?1 AND state = 'recorded')",
            [code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ctx("count")?;
    Ok((linked as u64, visits as u64))
}

/// The import's columns, in the market regulator's list's order.
const HEADERS: [&str; 11] = [
    "统一社会信用代码",
    "企业名称",
    "所属镇街",
    "地址",
    "行业代码",
    "行业名称",
    "企业规模",
    "成立日期",
    "联系人",
    "联系电话",
    "标签",
];

/// The workbook the import reads: one row per enterprise, the town by name.
fn workbook(org: &OrgTree, rows: &[DemoEnterprise]) -> BenchResult<Vec<u8>> {
    let sheet = |e: mashangban_sheet::SheetError| e.message.to_string();
    let columns = HEADERS
        .iter()
        .map(|h| if *h == "成立日期" { WriteColumn::new(*h, Kind::Date) } else { WriteColumn::text(*h) })
        .collect();
    let mut export = Export::new("企业名录", columns).map_err(sheet)?;
    for e in rows {
        let town = org.by_code(&e.town_code).map_or(e.town_code.clone(), |u| u.name.clone());
        let cells = [
            Cell::Text(e.credit_code.as_str().to_owned()),
            Cell::Text(e.name.clone()),
            Cell::Text(town.clone()),
            Cell::Text(format!("{town}工业大道{}号", e.registered_on.format("%j"))),
            Cell::Text(e.industry.0.to_owned()),
            Cell::Text(e.industry.1.to_owned()),
            Cell::Text(e.size.label().to_owned()),
            Cell::Date(e.registered_on),
            Cell::Text(e.contact_name.clone()),
            Cell::Text(e.contact_phone.clone()),
            e.tags.first().map_or(Cell::Empty, |t| Cell::Text(t.clone())),
        ];
        export.push(&cells).map_err(sheet)?;
    }
    export.finish().map_err(sheet)
}

/// The name of the import baseline.
pub const IMPORT_BASELINE: &str = "raw batched INSERTs of the import's rows into enterprises (1 transaction)";

/// The name of the re-import baseline.
pub const UPDATE_BASELINE: &str =
    "raw batched UPDATEs of every column of the same rows, from a VALUES list (1 transaction)";

/// Columns of a baseline row.
const COLUMNS: usize = 14;
/// The columns a re-import may change: a baseline row's first ones (the rest are the stamps).
const UPDATED_COLUMNS: usize = 11;

/// The baselines' times: the INSERTs of the new rows, the UPDATEs renaming them.
#[derive(Debug, Clone, Copy)]
struct BaselineSeconds {
    insert: f64,
    update: f64,
}

/// The import's rows as plain multi-row INSERTs of [`BATCH_ROWS`] rows into `enterprises`, in one
/// transaction with the store's durability (SQLite: WAL, `synchronous=FULL`; PostgreSQL: the
/// server's settings), no validation, no look-up and no encryption of the contact; timed. Then every
/// row renamed as the re-import renames it, by [`UPDATE_BATCH_ROWS`]-row UPDATEs from a VALUES list
/// of every column, in one transaction, no comparison and no history; timed. Then deleted again
/// (untimed) so the import writes the same codes.
fn import_baseline(db: &Db<'_>, org: &OrgTree, rows: &[DemoEnterprise]) -> BenchResult<BaselineSeconds> {
    use rusqlite::types::Value as V;
    let at = stamp();
    let values: Vec<[V; COLUMNS]> = rows
        .iter()
        .map(|e| {
            let town = org.by_code(&e.town_code).ok_or_else(|| format!("no town {}", e.town_code))?;
            Ok([
                V::Text(e.credit_code.as_str().to_owned()),
                V::Text(e.name.clone()),
                V::Integer(town.id),
                V::Text(format!("{}工业大道{}号", town.name, e.registered_on.format("%j"))),
                V::Text(e.industry.0.to_owned()),
                V::Text(e.industry.1.to_owned()),
                V::Text(e.size.as_str().to_owned()),
                V::Text(e.registered_on.format("%Y-%m-%d").to_string()),
                V::Text(e.contact_name.clone()),
                V::Text(e.contact_phone.clone()),
                V::Text(serde_json::to_string(&e.tags).ctx("tags")?),
                V::Text(at.clone()),
                V::Text(at.clone()),
                V::Text(BY.into()),
            ])
        })
        .collect::<BenchResult<_>>()?;
    match db {
        Db::Sqlite(path) => sqlite_baseline(path, &values, rows),
        Db::Postgres(target) => pg_baseline(&target.url(), &values, rows),
    }
}

/// The baseline rows as the re-import writes them: renamed (see [`run`]), the stamps left out.
fn renamed_rows(values: &[[rusqlite::types::Value; COLUMNS]]) -> Vec<[rusqlite::types::Value; UPDATED_COLUMNS]> {
    use rusqlite::types::Value as V;
    values
        .iter()
        .map(|row| {
            let mut out: [V; UPDATED_COLUMNS] = std::array::from_fn(|c| row[c].clone());
            if let V::Text(name) = &out[1] {
                out[1] = V::Text(format!("{name}{RENAMED}"));
            }
            out
        })
        .collect()
}

/// `WITH v (…) AS (VALUES …) UPDATE enterprises … FROM v` of `n` rows (the store's re-import
/// statement), placeholders numbered from 1 with `mark`; the stamps are the last two.
fn update_sql(n: usize, mark: &str) -> String {
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let mut marks: Vec<String> =
                (1..=UPDATED_COLUMNS).map(|c| format!("{mark}{}", r * UPDATED_COLUMNS + c)).collect();
            marks[2] = format!("CAST({} AS BIGINT)", marks[2]);
            format!("({})", marks.join(", "))
        })
        .collect();
    let (at, by) = (n * UPDATED_COLUMNS + 1, n * UPDATED_COLUMNS + 2);
    format!(
        "WITH v (credit_code, name, town_id, address, industry_code, industry_name, size, registered_on,
            contact_name, contact_phone, tags) AS (VALUES {})
         UPDATE enterprises SET name = v.name, town_id = v.town_id, address = v.address,
            industry_code = v.industry_code, industry_name = v.industry_name, size = v.size,
            registered_on = v.registered_on, contact_name = v.contact_name, contact_phone = v.contact_phone,
            tags = v.tags, version = enterprises.version + 1, updated_at = {mark}{at}, updated_by = {mark}{by}
         FROM v WHERE enterprises.credit_code = v.credit_code",
        rows.join(", ")
    )
}

/// `INSERT INTO enterprises (…) VALUES (…), …` of `n` rows, placeholders numbered from 1 with `mark`.
fn insert_sql(n: usize, mark: &str) -> String {
    let rows: Vec<String> = (0..n)
        .map(|r| {
            let marks: Vec<String> = (1..=COLUMNS).map(|c| format!("{mark}{}", r * COLUMNS + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO enterprises (credit_code, name, town_id, address, industry_code, industry_name, size,
            registered_on, contact_name, contact_phone, tags, created_at, updated_at, updated_by) VALUES {}",
        rows.join(", ")
    )
}

fn sqlite_baseline(
    db: &Path,
    values: &[[rusqlite::types::Value; COLUMNS]],
    rows: &[DemoEnterprise],
) -> BenchResult<BaselineSeconds> {
    use rusqlite::types::Value as V;
    let mut conn = Connection::open(db).ctx("open for the import baseline")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32000;")
        .ctx("pragmas")?;
    let started = Clock::now();
    let tx = conn.transaction().ctx("begin")?;
    for chunk in values.chunks(BATCH_ROWS) {
        let mut stmt = tx.prepare_cached(&insert_sql(chunk.len(), "?")).ctx("prepare")?;
        stmt.execute(params_from_iter(chunk.iter().flatten())).ctx("baseline insert")?;
    }
    tx.commit().ctx("commit")?;
    let insert = started.elapsed().as_secs_f64();
    let (renamed, stamps) = (renamed_rows(values), [V::Text(stamp()), V::Text(BY.into())]);
    let started = Clock::now();
    let tx = conn.transaction().ctx("begin")?;
    for chunk in renamed.chunks(UPDATE_BATCH_ROWS) {
        let mut stmt = tx.prepare_cached(&update_sql(chunk.len(), "?")).ctx("prepare")?;
        let changed = stmt.execute(params_from_iter(chunk.iter().flatten().chain(&stamps))).ctx("baseline update")?;
        if changed != chunk.len() {
            return Err(format!("the update baseline changed {changed} of {} rows", chunk.len()));
        }
    }
    tx.commit().ctx("commit")?;
    let update = started.elapsed().as_secs_f64();
    let tx = conn.transaction().ctx("begin")?;
    {
        let mut delete = tx.prepare("DELETE FROM enterprises WHERE credit_code = ?1").ctx("prepare")?;
        for e in rows {
            delete.execute([e.credit_code.as_str()]).ctx("remove a baseline row")?;
        }
    }
    tx.commit().ctx("commit")?;
    Ok(BaselineSeconds { insert, update })
}

/// Now, as the store stamps a change.
fn stamp() -> String {
    mashangban_domain::time::format_instant(&mashangban_domain::time::now())
}

/// [`sqlite_baseline`] on PostgreSQL: the same statements with `$n` placeholders, one transaction.
fn pg_baseline(
    url: &str,
    values: &[[rusqlite::types::Value; COLUMNS]],
    rows: &[DemoEnterprise],
) -> BenchResult<BaselineSeconds> {
    use postgres::types::ToSql;
    use rusqlite::types::Value as V;
    fn param<'a>(v: &'a V, null: &'a Option<String>) -> &'a (dyn ToSql + Sync) {
        match v {
            V::Text(s) => s,
            V::Integer(i) => i,
            _ => null,
        }
    }
    let null: Option<String> = None;
    let mut client = pg::connect(url)?;
    let started = Clock::now();
    let mut tx = client.transaction().pg_ctx("begin")?;
    for chunk in values.chunks(BATCH_ROWS) {
        let params: Vec<&(dyn ToSql + Sync)> = chunk.iter().flatten().map(|v| param(v, &null)).collect();
        tx.execute(insert_sql(chunk.len(), "$").as_str(), &params).pg_ctx("baseline insert")?;
    }
    tx.commit().pg_ctx("commit")?;
    let insert = started.elapsed().as_secs_f64();
    let (renamed, stamps) = (renamed_rows(values), [V::Text(stamp()), V::Text(BY.into())]);
    let started = Clock::now();
    let mut tx = client.transaction().pg_ctx("begin")?;
    for chunk in renamed.chunks(UPDATE_BATCH_ROWS) {
        let params: Vec<&(dyn ToSql + Sync)> = chunk.iter().flatten().chain(&stamps).map(|v| param(v, &null)).collect();
        let changed = tx.execute(update_sql(chunk.len(), "$").as_str(), &params).pg_ctx("baseline update")?;
        if changed != chunk.len() as u64 {
            return Err(format!("the update baseline changed {changed} of {} rows", chunk.len()));
        }
    }
    tx.commit().pg_ctx("commit")?;
    let update = started.elapsed().as_secs_f64();
    let codes: Vec<&str> = rows.iter().map(|e| e.credit_code.as_str()).collect();
    client
        .execute("DELETE FROM enterprises WHERE credit_code = ANY($1)", &[&codes])
        .pg_ctx("remove the baseline's rows")?;
    Ok(BaselineSeconds { insert, update })
}

type Measurements = ((ImportFigures, ReimportFigures), PageFigures, Vec<Measured>, PrintFigures, PdfFigures);

/// Signs in as the administrator (every enterprise in scope), then: the import's preview and the
/// import (against `baseline_seconds`), the re-import of the `renamed` workbook, the page scenarios,
/// the batch print as HTML and as PDF.
async fn measure(
    opts: &EnterpriseOptions,
    server: &Server,
    prepared: &Prepared,
    (workbook, renamed): (&[u8], &[u8]),
    baseline: BaselineSeconds,
    database_cpu: crate::DatabaseCpu<'_>,
) -> BenchResult<Measurements> {
    let (town, page_code) = (prepared.town.as_str(), prepared.page_code.as_str());
    let client = scenarios::client(4)?;
    let root = format!("http://{}", server.addr);
    let admin = scenarios::login(&client, server.addr, "admin", load::PASSWORD).await?;

    let t0 = Clock::now();
    let preview =
        upload(&client, &format!("{root}/api/v1/enterprises/import/preview"), &admin, "企业名录.xlsx", workbook)
            .await?;
    let preview_seconds = t0.elapsed().as_secs_f64();
    if preview["problem_count"].as_u64() != Some(0) {
        let problems = &preview["problems"];
        return Err(format!("the import's preview found problems: {problems}"));
    }
    let t1 = Clock::now();
    let imported =
        upload(&client, &format!("{root}/api/v1/enterprises/import"), &admin, "企业名录.xlsx", workbook).await?;
    let import = ImportFigures {
        rows: imported["rows"].as_u64().unwrap_or(0),
        file_bytes: 0,
        preview_seconds,
        import_seconds: t1.elapsed().as_secs_f64(),
        imported: imported["new"].as_u64().unwrap_or(0),
        baseline_seconds: baseline.insert,
    };
    let t2 = Clock::now();
    let reimported =
        upload(&client, &format!("{root}/api/v1/enterprises/import"), &admin, "企业名录.xlsx", renamed).await?;
    let reimport = ReimportFigures {
        updated: reimported["updated"].as_u64().unwrap_or(0),
        seconds: t2.elapsed().as_secs_f64(),
        baseline_seconds: baseline.update,
    };
    if reimport.updated != import.rows {
        return Err(format!("the re-import updated {} of {} records: {reimported}", reimport.updated, import.rows));
    }

    let page = page_figures(&client, &root, &admin, page_code).await?;
    let list = build(&root, &admin, page_code);
    let measured =
        scenarios::measure_each(&client, &list, (opts.run.seconds, opts.run.max_requests), &server.pid(), database_cpu)
            .await?;
    let print = print_cards(&client, &root, &admin, town).await?;
    let pdf = print_pdf(&client, &root, &admin, town).await?;
    Ok(((import, reimport), page, measured, print, pdf))
}

async fn get_text(client: &reqwest::Client, url: &str, cookie: &str) -> BenchResult<String> {
    let resp = client.get(url).header("cookie", cookie).send().await.ctx("GET")?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", resp.status()));
    }
    resp.text().await.ctx("GET body")
}

/// What the page's enterprise's API file and staff page hold, read once.
async fn page_figures(client: &reqwest::Client, root: &str, cookie: &str, code: &str) -> BenchResult<PageFigures> {
    let json = get_text(client, &format!("{root}/api/v1/enterprises/{code}"), cookie).await?;
    let file: serde_json::Value = serde_json::from_str(&json).ctx("the enterprise's file")?;
    let count = |v: &serde_json::Value| v.as_array().map_or(0, |a| a.len() as u64);
    let html = get_text(client, &format!("{root}/enterprises/{code}"), cookie).await?;
    Ok(PageFigures {
        credit_code: code.to_owned(),
        requests_linked: 0,
        requests_shown: count(&file["requests"]),
        visits: 0,
        liaisons: count(&file["liaisons"]),
        html_bytes: html.len() as u64,
        json_bytes: json.len() as u64,
    })
}

/// The page scenarios: one client each, as a person opening the enterprise's file.
fn build(root: &str, cookie: &str, code: &str) -> Vec<Scenario> {
    let get = |url: String| -> scenarios::MakeRequest {
        let cookie = cookie.to_owned();
        Arc::new(move |c: &reqwest::Client, _| c.get(&url).header("cookie", cookie.as_str()))
    };
    vec![
        Scenario {
            name: "enterprise page (一企一档, staff HTML)".into(),
            clients: 1,
            expect: 200,
            make: get(format!("{root}/enterprises/{code}")),
        },
        Scenario {
            name: "enterprise file API (JSON)".into(),
            clients: 1,
            expect: 200,
            make: get(format!("{root}/api/v1/enterprises/{code}")),
        },
    ]
}

/// Fetches the town's batch print [`PRINT_ROUNDS`] times, end to end (request to last byte).
async fn print_cards(client: &reqwest::Client, root: &str, cookie: &str, town: &str) -> BenchResult<PrintFigures> {
    let mut out = PrintFigures { town: town.to_owned(), ..PrintFigures::default() };
    for _ in 0..PRINT_ROUNDS {
        let t0 = Clock::now();
        let html = get_text(client, &format!("{root}/liaisons/towns/{town}/cards"), cookie).await?;
        out.rounds.push(t0.elapsed().as_secs_f64());
        (out.cards, out.bytes) = (html.matches(CARD_MARK).count() as u64, html.len() as u64);
    }
    Ok(out)
}

/// Fetches the town's cards as one PDF file [`PRINT_ROUNDS`] times, end to end (request to last
/// byte: the server reads the cards, signs their links, draws and deflates every page).
async fn print_pdf(client: &reqwest::Client, root: &str, cookie: &str, town: &str) -> BenchResult<PdfFigures> {
    let url = format!("{root}/liaisons/towns/{town}/cards.pdf");
    let mut out = PdfFigures::default();
    for _ in 0..PRINT_ROUNDS {
        let t0 = Clock::now();
        let resp = client.get(&url).header("cookie", cookie).send().await.ctx("GET")?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        let body = resp.bytes().await.ctx("GET body")?;
        out.rounds.push(t0.elapsed().as_secs_f64());
        if !body.starts_with(b"%PDF-") {
            return Err(format!("GET {url}: not a PDF file"));
        }
        let count = |what: &[u8]| body.windows(what.len()).filter(|w| *w == what).count() as u64;
        (out.cards, out.pages, out.bytes) = (count(b"/Subtype /Link"), count(b"/Type /Page "), body.len() as u64);
    }
    Ok(out)
}

impl EnterpriseRun {
    pub fn scenario(&self, prefix: &str) -> Option<&Measured> {
        self.scenarios.iter().find(|s| s.name.starts_with(prefix))
    }

    /// The targets on this database.
    pub fn targets(&self) -> Vec<Target> {
        let mut out = Vec::new();
        let r = self.import.ratio();
        out.push(target("registry import / raw batched INSERT", "≥ 40%", format!("{:.0}%", r * 100.0), r >= 0.4));
        for s in &self.scenarios {
            out.push(target(&format!("{} p99", s.name), "< 50 ms", ms(s.p99_ms), s.p99_ms < 50.0));
        }
        let p = self.print.median();
        let what = format!("batch print of {} cards (median)", thousands(self.print.cards));
        out.push(target(&what, "< 10 s", format!("{p:.2} s"), p < 10.0));
        let p = self.pdf.median();
        let what = format!("batch print of {} cards as one PDF file (median)", thousands(self.pdf.cards));
        out.push(target(&what, "< 10 s", format!("{p:.2} s"), p < 10.0));
        out
    }

    /// The import, the page and the batch print.
    fn write(&self, md: &mut String) {
        use std::fmt::Write;
        let (i, p, c, f) = (&self.import, &self.page, &self.print, &self.pdf);
        let _ = writeln!(md, "| registry import | value |\n|---|---:|");
        i.write_lines(
            md,
            &format!(
                "new enterprises from xlsx ({:.1} MiB), `POST /api/v1/enterprises/import`: parse, validate, write",
                i.file_bytes as f64 / f64::from(1 << 20)
            ),
            "parse, validation and code look-up",
            &format!("{IMPORT_BASELINE}, {BATCH_ROWS} rows per statement"),
        );
        let r = &self.reimport;
        let per_s = |s: f64| r.updated as f64 / s.max(1e-9);
        let _ = writeln!(
            md,
            "| re-import of the same file with every enterprise renamed ({} updated) | {:.1} s ({:.0} rows/s) |",
            thousands(r.updated),
            r.seconds,
            per_s(r.seconds)
        );
        let base = r.baseline_seconds;
        let _ = writeln!(
            md,
            "| baseline: {UPDATE_BASELINE}, {UPDATE_BATCH_ROWS} rows per statement | {base:.2} s ({:.0} rows/s) |",
            per_s(base)
        );
        let _ = writeln!(md, "| re-import / baseline (throughput) | {:.0}% |", r.ratio() * 100.0);
        md.push('\n');
        let _ = writeln!(
            md,
            "The enterprise's page: {} requests linked by its credit code ({} listed in its file), {} visits, {} liaison; page {} KiB, API file {} KiB.\n",
            thousands(p.requests_linked),
            p.requests_shown,
            p.visits,
            p.liaisons,
            p.html_bytes / 1024,
            p.json_bytes / 1024
        );
        report::write_scenario_header(md);
        for s in &self.scenarios {
            let _ = writeln!(md, "{} | — | — |", report::row(s));
        }
        let rounds = |r: &[f64]| r.iter().map(|s| format!("{s:.2} s")).collect::<Vec<_>>().join(" / ");
        let _ = writeln!(md, "\n| batch card print | value |\n|---|---:|");
        let _ = writeln!(
            md,
            "| town {}'s {} cards as HTML sheets (`GET /liaisons/towns/{{town}}/cards`, {}, four to an A4 sheet), rounds | {} |",
            c.town,
            thousands(c.cards),
            report::mib(c.bytes),
            rounds(&c.rounds)
        );
        let _ = writeln!(
            md,
            "| the same {} cards as one PDF file made on the server (`GET /liaisons/towns/{{town}}/cards.pdf`, {} pages, {} KiB), rounds | {} |",
            thousands(f.cards),
            f.pages,
            f.bytes / 1024,
            rounds(&f.rounds)
        );
        let _ = writeln!(md, "| server peak RSS over its run (VmHWM) | {} |\n", report::mib(self.rss_peak));
    }
}

impl EnterpriseReport {
    /// The SQLite run's scenario.
    pub fn scenario(&self, prefix: &str) -> Option<&Measured> {
        self.sqlite.scenario(prefix)
    }

    /// The targets on SQLite.
    pub fn targets(&self) -> Vec<Target> {
        self.sqlite.targets()
    }

    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let (m, l) = (&self.machine, &self.load);
        let mut md = String::new();
        let _ = writeln!(md, "## Enterprises: {} requests\n", thousands(self.requests));
        report::write_run_head(&mut md, m, &self.date, &self.commit, &self.command);
        let _ = writeln!(
            md,
            "- SQLite; each HTTP scenario: at most {} s, one client, as the administrator (every enterprise in scope), after a short warm-up\n",
            self.seconds
        );
        self.sqlite.write(&mut md);
        let _ = writeln!(md, "| load and size | value |\n|---|---:|");
        let _ = writeln!(
            md,
            "| requests / events loaded (`load::load`, as `--scale`) | {} / {} in {:.1} s |",
            thousands(l.requests),
            thousands(l.events),
            l.total_seconds
        );
        let _ = writeln!(
            md,
            "| setup through the store (card town's enterprises, cadre, assignments, visits) and request links | {:.1} s |",
            self.setup_seconds
        );
        let _ = writeln!(md, "| workbook generated | {:.1} s |", self.workbook_seconds);
        let _ = writeln!(md, "| database after the load | {} |\n", report::mib(l.db_bytes));
        report::write_target_table(&mut md, &self.targets());
        match &self.postgres {
            Some(pg) => pg.write(&mut md),
            None => md.push_str("PostgreSQL: not measured in this run (no `--postgres`).\n\n"),
        }
        md
    }
}

impl EnterprisePg {
    fn write(&self, md: &mut String) {
        use std::fmt::Write;
        let l = &self.load;
        let _ = writeln!(md, "### PostgreSQL\n");
        let _ = writeln!(
            md,
            "- server on the same machine: {}; database `{}`, created by this run; the app server's pool: {} connections",
            self.server, self.database, self.connections
        );
        let _ = writeln!(
            md,
            "- data: the SQLite database above after the load and setup, before its import, copied by `copy_data` (as `mashangban migrate-data`: {} rows in {:.1} s), then `ANALYZE` ({:.1} s); {} after the copy
- server CPU ms/req: the app server + the PostgreSQL processes working for this database\n",
            thousands(l.rows),
            l.copy_seconds,
            l.analyze_seconds,
            report::mib(l.db_bytes)
        );
        self.run.write(md);
        report::write_target_table(md, &self.run.targets());
    }
}
