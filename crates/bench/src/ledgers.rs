//! The ledger scenario (`mashangban-bench ledgers`): outlets into rivers (入河排污口) generated
//! deterministically from a seed by the demo's outlet generator, each validated by the ledger
//! engine, bulk-loaded straight into SQLite (like the request loader: prepared statements in large
//! transactions, the secondary indexes built afterwards), then measured through the real server over
//! HTTP: lists with two filters, the town × stage rollup (against its plain GROUP BY), a streamed
//! export (the server's RSS growth) and an xlsx import (against raw batched INSERTs of the same rows).
//! See `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant as Clock;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use mashangban_domain::ledger::LedgerType;
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_sheet::write::Export;
use mashangban_store::{
    LedgerAction, LedgerAuthor, LedgerStore, LedgerWrite, OrgStore, ledger_item_name, ledger_placement,
};
use mashangban_store_sql::{SqlStore, StoreOptions};

use crate::report::{self, Machine, Target, mib, ms, target, thousands};
use crate::scenarios::{self, Measured, Scenario};
use crate::server::Server;
use crate::{BenchResult, Ctx, baseline, load};

/// The ledger type measured.
pub const TYPE: &str = "outlet";
/// Items per load transaction.
const COMMIT_EVERY: u64 = 50_000;
/// Rows per INSERT statement of the import baseline.
const BATCH_ROWS: usize = 100;
/// The stage an export selects: a tenth of the generated outlets are in it.
const EXPORT_STAGE: &str = "closed";

/// One run of the ledger scenario.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// Outlets bulk-loaded before the measurements.
    pub items: u64,
    /// Rows of the imported workbook (new outlets).
    pub import_rows: u32,
    /// What every scenario subcommand is run with.
    pub run: crate::RunOptions,
}

impl LedgerOptions {
    pub fn db_path(&self) -> PathBuf {
        self.run.work_dir.join(format!("bench-ledgers-{}.db", self.items))
    }
}

/// The bulk load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerLoad {
    pub items: u64,
    /// History rows written with them (one per item).
    pub events: u64,
    /// Migrations, demo org and users, bundled ledger types through the store.
    pub setup_seconds: f64,
    /// Generating and validating the items and writing them (indexes dropped).
    pub copy_seconds: f64,
    /// Re-creating the dropped indexes.
    pub index_seconds: f64,
    /// `rebuild_ledger_rollups()`: the choice values and counts the store keeps, rebuilt from the items.
    pub rollup_seconds: f64,
    pub items_per_second: f64,
    pub db_bytes: u64,
}

/// What sealing costs the import's writes: the import's new outlets written through the store
/// (`import_ledger_items`, the import's last step) into fresh stores, once sealing each item's
/// event in its SM3 chain as production does and once with `StoreOptions::seal_events` off, in
/// turn, in the same run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SealCost {
    pub rows: u64,
    /// Median seconds of the store import with seals and without, over [`SEAL_ROUNDS`] rounds each.
    pub sealed_seconds: f64,
    pub unsealed_seconds: f64,
}

/// Rounds of each kind of [`SealCost`] import (the order alternates).
const SEAL_ROUNDS: usize = 3;

impl SealCost {
    /// The share of the sealed import's time spent sealing.
    pub fn share(&self) -> f64 {
        1.0 - self.unsealed_seconds / self.sealed_seconds.max(1e-9)
    }
}

/// The import and its baseline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportFigures {
    pub rows: u64,
    pub file_bytes: u64,
    /// `POST …/import/preview`: upload, parse, look up the keys, validate, plan (nothing written).
    pub preview_seconds: f64,
    /// `POST …/import`: the same, then every item written with its history in one transaction.
    pub import_seconds: f64,
    /// Items the import reported as new.
    pub imported: u64,
    /// The same rows as plain batched INSERTs into `ledger_items`, one transaction.
    pub baseline_seconds: f64,
}

impl ImportFigures {
    /// Import throughput over the baseline's.
    pub fn ratio(&self) -> f64 {
        self.baseline_seconds / self.import_seconds.max(1e-9)
    }

    /// The import's four rows of a figures table: the import (`what` was imported, how), its preview
    /// (`checks`: what the preview does), the `baseline` and the ratio.
    pub(crate) fn write_lines(&self, md: &mut String, what: &str, checks: &str, baseline: &str) {
        use std::fmt::Write;
        let per_s = |s: f64| self.rows as f64 / s.max(1e-9);
        let (rows, import) = (thousands(self.rows), self.import_seconds);
        let _ = writeln!(md, "| import of {rows} {what} | {import:.1} s ({:.0} rows/s) |", per_s(import));
        let _ = writeln!(
            md,
            "| of which {checks} (`POST …/import/preview`, timed apart) | {:.1} s |",
            self.preview_seconds
        );
        let base = self.baseline_seconds;
        let _ = writeln!(md, "| baseline: {baseline} | {base:.2} s ({:.0} rows/s) |", per_s(base));
        let _ = writeln!(md, "| import / baseline (throughput) | {:.0}% |", self.ratio() * 100.0);
    }
}

/// The streamed export and the server's memory around it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportFigures {
    /// Items matching the export's filter (the list's total).
    pub items: u64,
    /// Data rows in the workbook received (read back with the import's reader).
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The server's VmRSS just before the export.
    pub rss_before: u64,
    /// The server's VmHWM (peak RSS) after it.
    pub peak_after: u64,
}

impl ExportFigures {
    pub fn growth(&self) -> u64 {
        self.peak_after.saturating_sub(self.rss_before)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerReport {
    pub items: u64,
    pub machine: Machine,
    pub date: String,
    pub commit: String,
    pub command: String,
    pub seconds: f64,
    pub load: LedgerLoad,
    pub scenarios: Vec<Measured>,
    /// The rollup's counts as a plain GROUP BY over `ledger_items`.
    pub rollup_group_by: Measured,
    pub import: ImportFigures,
    pub seals: SealCost,
    pub export: ExportFigures,
    pub rss_peak: u64,
}

/// Loads the outlets, runs every measurement and reports.
pub fn run(opts: &LedgerOptions) -> BenchResult<LedgerReport> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let db = opts.db_path();
    let started = Clock::now();
    load::remove_db(&db)?;
    let (ty, org, towns) = rt.block_on(prepare(&db))?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let mut generator =
        Generator { ty: &ty, org: &org, towns: &towns, rng: StdRng::seed_from_u64(opts.run.seed), next: 1 };
    let mut load = bulk_load(&db, &mut generator, opts.items)?;
    load.setup_seconds = setup_seconds;
    load.rollup_seconds = rt.block_on(rebuild_rollups(&db, load.items))?;
    load.items_per_second =
        opts.items as f64 / (load.copy_seconds + load.index_seconds + load.rollup_seconds).max(1e-9);
    let import_items = generator.items(u64::from(opts.import_rows))?;
    let workbook = import_workbook(&ty, &org, &import_items)?;
    let rollup_group_by = rollup_baseline(&db, opts.run.seconds, opts.run.max_requests)?;

    let url = format!("sqlite://{}", db.display());
    let server = Server::start(&opts.run.server_exe, &url, opts.run.readers, None)?;
    let measured = rt.block_on(measure(opts, &server, &towns, &workbook, &db, &import_items));
    let rss_peak = server.memory().1;
    server.stop();
    let (scenarios, export, mut import) = measured?;
    import.file_bytes = workbook.len() as u64;
    let seals = rt.block_on(seal_cost(opts, &ty, &import_items))?;
    Ok(LedgerReport {
        items: opts.items,
        machine: Machine::read(),
        date: mashangban_domain::time::now().format("%Y-%m-%d %H:%M (+08:00)").to_string(),
        commit: report::commit(),
        command: opts.run.command.clone(),
        seconds: opts.run.seconds,
        load,
        scenarios,
        rollup_group_by,
        import,
        seals,
        export,
        rss_peak,
    })
}

/// The [`SealCost`] of writing `items` as the import writes them.
async fn seal_cost(opts: &LedgerOptions, ty: &LedgerType, items: &[Item]) -> BenchResult<SealCost> {
    let data = mashangban_demo::DemoData::bundled().ctx("demo data")?;
    let author = LedgerAuthor {
        user_id: None,
        name: "基准测试（bench）".into(),
        role: "admin".into(),
        ledger_roles: "admin".into(),
        at: mashangban_domain::time::now(),
    };
    let mut times: [Vec<f64>; 2] = Default::default();
    for round in 0..SEAL_ROUNDS * 2 {
        let sealed = round % 2 == usize::from(round / 2 % 2 == 1);
        let path = opts.run.work_dir.join(format!("bench-ledger-seals-{round}.db"));
        load::remove_db(&path)?;
        let db = mashangban_store_sqlite::SqliteDb::open(&path, 4).ctx("open SQLite")?;
        let options =
            StoreOptions { personal_data: Some(crate::bench_keys()), seal_events: sealed, ..StoreOptions::default() };
        let store = SqlStore::new(db, options);
        mashangban_demo::load_org_and_catalog(&store, &data).await.ctx("demo org")?;
        mashangban_app::ledgers::install_bundled(&store).await.map_err(|e| e.to_string())?;
        let version = store.ledger_type(TYPE).await.ctx("ledger type")?.ok_or("no outlet type")?.version;
        let writes = items
            .iter()
            .map(|item| LedgerWrite {
                id: None,
                expected_version: 0,
                type_code: TYPE.into(),
                type_version: version,
                key: item.key.clone(),
                name: item.name.clone(),
                stage: item.stage.clone(),
                values: item.values.clone(),
                town_id: item.town_id,
                unit_id: item.unit_id,
                action: LedgerAction::Imported,
                from_stage: None,
                changes: mashangban_domain::ledger::diff(ty, &mashangban_domain::ledger::Values::new(), &item.values),
                note: None,
            })
            .collect();
        let t0 = Clock::now();
        let written = store.import_ledger_items(writes, author.clone()).await.ctx("import through the store")?;
        times[usize::from(sealed)].push(t0.elapsed().as_secs_f64());
        if written != items.len() as u64 {
            return Err(format!("the store imported {written} of {} outlets", items.len()));
        }
        drop(store);
        load::remove_db(&path)?;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(SealCost {
        rows: items.len() as u64,
        sealed_seconds: median(&mut times[1]),
        unsealed_seconds: median(&mut times[0]),
    })
}

/// The real store: migrations, demo org and users, the bundled ledger types. Answers the outlet
/// type, the org and the active towns' codes (sorted, as the demo draws them).
async fn prepare(db: &Path) -> BenchResult<(LedgerType, OrgTree, Vec<String>)> {
    let (store, _) = load::open_with_org(db).await?;
    mashangban_app::ledgers::install_bundled(&store).await.map_err(|e| e.to_string())?;
    let org = OrgTree::new(store.list_units().await.ctx("org")?);
    let mut towns: Vec<String> =
        org.units().filter(|u| u.kind == UnitKind::Town && u.active).map(|u| u.code.clone()).collect();
    towns.sort();
    if towns.is_empty() {
        return Err("the demo org has no towns".into());
    }
    let ty = mashangban_domain::ledger::bundled::by_code(TYPE).map_err(|e| e.message)?;
    Ok((ty, org, towns))
}

/// One generated item, validated, ready to write.
struct Item {
    key: String,
    name: Option<String>,
    stage: String,
    values: mashangban_domain::ledger::Values,
    town_id: Option<i64>,
    unit_id: Option<i64>,
}

/// The demo's outlet generator from a seed, each item validated by the ledger engine.
struct Generator<'a> {
    ty: &'a LedgerType,
    org: &'a OrgTree,
    towns: &'a [String],
    rng: StdRng,
    /// The next outlet's number (from 1).
    next: u32,
}

impl Generator<'_> {
    fn item(&mut self) -> BenchResult<Item> {
        let (stage, input) = mashangban_demo::outlet_draft(&mut self.rng, self.next, self.towns);
        self.next += 1;
        let values = self.ty.validate_item(&input, self.org).map_err(|errors| {
            let e: Vec<String> = errors.iter().map(|e| format!("{} {}: {}", e.label, e.value, e.message)).collect();
            format!("generated outlet {} is invalid: {}", self.next - 1, e.join("; "))
        })?;
        let stage = self.ty.known_stage(stage).map_err(|e| e.message)?;
        self.ty.check_entry(&values, stage).map_err(|e| e.message)?;
        let key = self.ty.key_of(&values).ok_or("a generated outlet has no key")?;
        let (town_id, unit_id) = ledger_placement(self.ty, &values, self.org);
        Ok(Item { key, name: ledger_item_name(self.ty, &values), stage: stage.code.clone(), values, town_id, unit_id })
    }

    fn items(&mut self, n: u64) -> BenchResult<Vec<Item>> {
        (0..n).map(|_| self.item()).collect()
    }
}

const ITEM_INSERT_COLUMNS: &str = "type_code, item_key, item_name, stage, item_values, town_id, unit_id, type_version, \
     created_at, updated_at, updated_by";

/// The values of one `ledger_items` row for [`ITEM_INSERT_COLUMNS`].
fn item_row(item: &Item, at: &str) -> BenchResult<[rusqlite::types::Value; 11]> {
    use rusqlite::types::Value as V;
    let opt = |v: Option<i64>| v.map_or(V::Null, V::Integer);
    Ok([
        V::Text(TYPE.into()),
        V::Text(item.key.clone()),
        item.name.clone().map_or(V::Null, V::Text),
        V::Text(item.stage.clone()),
        V::Text(serde_json::to_string(&item.values).ctx("values")?),
        opt(item.town_id),
        opt(item.unit_id),
        V::Integer(1),
        V::Text(at.into()),
        V::Text(at.into()),
        V::Text("基准测试（bench）".into()),
    ])
}

/// The bulk load bypasses the store, so the store rebuilds what its item writes keep (the choice
/// values and the counts); answers the time it took.
async fn rebuild_rollups(db: &Path, items: u64) -> BenchResult<f64> {
    let store = crate::load::open_store(db)?;
    let t0 = Clock::now();
    let counted = store.rebuild_ledger_rollups().await.ctx("rebuild the ledger rollups")?;
    let seconds = t0.elapsed().as_secs_f64();
    if counted != items {
        return Err(format!("the ledger rollups count {counted} items, {items} were loaded"));
    }
    Ok(seconds)
}

/// Writes `count` generated outlets straight into `ledger_items`, each with one `imported` history
/// row (its cell changes left out: the list, rollup and export do not read them), in transactions of
/// [`COMMIT_EVERY`], with the tables' secondary indexes dropped and re-created from their own text.
fn bulk_load(db: &Path, generator: &mut Generator<'_>, count: u64) -> BenchResult<LedgerLoad> {
    let conn = load::open_for_bulk_load(db)?;
    let indexes = load::drop_indexes(&conn, &["ledger_items", "ledger_item_events"])?;
    let at = mashangban_domain::time::format_instant(&mashangban_domain::time::now());
    let t0 = Clock::now();
    {
        let marks: Vec<String> = (1..=11).map(|i| format!("?{i}")).collect();
        let mut insert = conn
            .prepare(&format!("INSERT INTO ledger_items ({ITEM_INSERT_COLUMNS}) VALUES ({})", marks.join(", ")))
            .ctx("prepare")?;
        let mut event = conn
            .prepare(
                "INSERT INTO ledger_item_events (item_id, item_version, at, by_name, by_role, ledger_roles, action,
                    changes, note)
                 VALUES (?1, 1, ?2, '基准测试（bench）', 'system', '', 'imported', '[]', '基准测试批量装载')",
            )
            .ctx("prepare")?;
        conn.execute_batch("BEGIN").ctx("begin")?;
        for n in 1..=count {
            let item = generator.item()?;
            insert.execute(params_from_iter(item_row(&item, &at)?)).ctx("insert an item")?;
            event.execute(rusqlite::params![conn.last_insert_rowid(), at]).ctx("insert its event")?;
            if n % COMMIT_EVERY == 0 {
                conn.execute_batch("COMMIT; BEGIN").ctx("commit")?;
            }
        }
        conn.execute_batch("COMMIT").ctx("commit")?;
    }
    let copy_seconds = t0.elapsed().as_secs_f64();
    let index_seconds = load::finish_bulk_load(&conn, &indexes)?;
    let items: i64 = conn.query_row("SELECT COUNT(*) FROM ledger_items", [], |r| r.get(0)).ctx("count")?;
    let events: i64 = conn.query_row("SELECT COUNT(*) FROM ledger_item_events", [], |r| r.get(0)).ctx("count")?;
    drop(conn);
    Ok(LedgerLoad {
        items: items as u64,
        events: events as u64,
        setup_seconds: 0.0,
        copy_seconds,
        index_seconds,
        rollup_seconds: 0.0,
        items_per_second: count as f64 / (copy_seconds + index_seconds).max(1e-9),
        db_bytes: file_bytes(db),
    })
}

pub(crate) fn file_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The import file: the items under the export's columns, as the export writes them, without files
/// (an import names only documents uploaded to an item, and these items are new), so each in the
/// latest stage up to its own that it may enter without them (an outlet closed with its acceptance
/// file is imported as 整治, its file to be uploaded on its page).
fn import_workbook(ty: &LedgerType, org: &OrgTree, items: &[Item]) -> BenchResult<Vec<u8>> {
    use mashangban_domain::ledger::FieldValue;
    let sheet = |e: mashangban_sheet::SheetError| e.message.to_string();
    let mut export = Export::new(ty.name(), mashangban_app::ledgers::export_columns(ty)).map_err(sheet)?;
    let stages = ty.stages();
    for item in items {
        let mut values = item.values.clone();
        values.retain(|_, v| !matches!(v, FieldValue::File(_)));
        let own = stages.iter().position(|s| s.code == item.stage).unwrap_or(0);
        let stage = stages[..=own]
            .iter()
            .rev()
            .find(|s| ty.check_entry(&values, s).is_ok())
            .map_or(item.stage.as_str(), |s| s.code.as_str());
        export.push(&mashangban_app::ledgers::export_row(ty, &values, stage, org)).map_err(sheet)?;
    }
    export.finish().map_err(sheet)
}

/// The name of the rollup baseline.
pub const ROLLUP_BASELINE: &str = "plain SQL GROUP BY town × stage over ledger_items (1 connection)";
/// The name of the import baseline.
pub const IMPORT_BASELINE: &str = "raw batched INSERTs of the import's rows into ledger_items (1 transaction)";

/// The rollup's counts as a plain GROUP BY on a read-only connection of its own.
fn rollup_baseline(db: &Path, seconds: f64, max: u64) -> BenchResult<Measured> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ctx("open for GROUP BY")?;
    conn.execute_batch("PRAGMA cache_size = -16000;").ctx("pragma")?;
    let sql = "SELECT town_id, stage, COUNT(*) FROM ledger_items WHERE type_code = ?1 GROUP BY town_id, stage";
    baseline::repeat(ROLLUP_BASELINE, seconds, max, |_| {
        let mut stmt = conn.prepare_cached(sql).ctx("prepare the GROUP BY")?;
        let counts: Vec<i64> =
            stmt.query_map([TYPE], |r| r.get(2)).ctx("GROUP BY")?.collect::<Result<_, _>>().ctx("GROUP BY")?;
        if counts.iter().sum::<i64>() == 0 { Err("the rollup baseline counted no items".into()) } else { Ok(()) }
    })
}

/// The import's rows as plain multi-row INSERTs of [`BATCH_ROWS`] rows into `ledger_items`, in one
/// transaction with the store's durability (WAL, `synchronous=FULL`), no validation and no history;
/// timed, then deleted again (untimed) so the import writes the same keys.
fn import_baseline(db: &Path, items: &[Item]) -> BenchResult<f64> {
    let at = mashangban_domain::time::format_instant(&mashangban_domain::time::now());
    let rows: Vec<[rusqlite::types::Value; 11]> = items.iter().map(|i| item_row(i, &at)).collect::<Result<_, _>>()?;
    let mut conn = Connection::open(db).ctx("open for the import baseline")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32000;")
        .ctx("pragmas")?;
    let row_marks = |r: usize| {
        let marks: Vec<String> = (1..=11).map(|c| format!("?{}", r * 11 + c)).collect();
        format!("({})", marks.join(", "))
    };
    let insert = |n: usize| {
        let values: Vec<String> = (0..n).map(row_marks).collect();
        format!("INSERT INTO ledger_items ({ITEM_INSERT_COLUMNS}) VALUES {}", values.join(", "))
    };
    let started = Clock::now();
    let tx = conn.transaction().ctx("begin")?;
    let mut first = None;
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut stmt = tx.prepare_cached(&insert(chunk.len())).ctx("prepare")?;
        stmt.execute(params_from_iter(chunk.iter().flatten())).ctx("baseline insert")?;
        first = first.or(Some(tx.last_insert_rowid() - chunk.len() as i64 + 1));
    }
    tx.commit().ctx("commit")?;
    let seconds = started.elapsed().as_secs_f64();
    conn.execute("DELETE FROM ledger_items WHERE id >= ?1", [first.unwrap_or(i64::MAX)])
        .ctx("remove the baseline rows")?;
    Ok(seconds)
}

/// Signs in as the administrator, then: the export (with the server's RSS around it), the HTTP
/// scenarios, the import baseline, the import's preview and the import.
async fn measure(
    opts: &LedgerOptions,
    server: &Server,
    towns: &[String],
    workbook: &[u8],
    db: &Path,
    import_items: &[Item],
) -> BenchResult<(Vec<Measured>, ExportFigures, ImportFigures)> {
    let client = scenarios::client(4)?;
    let base = format!("http://{}/api/v1/ledgers/{TYPE}", server.addr);
    let admin = scenarios::login(&client, server.addr, "admin", load::PASSWORD).await?;
    let export = export(&client, server, &base, &admin).await?;
    let list = build(&base, &admin, towns);
    let measured =
        scenarios::measure_each(&client, &list, (opts.run.seconds, opts.run.max_requests), &server.pid(), &|| 0.0)
            .await?;
    let baseline_seconds = import_baseline(db, import_items)?;
    let t0 = Clock::now();
    let preview = upload(&client, &format!("{base}/import/preview"), &admin, "outlets.xlsx", workbook).await?;
    let preview_seconds = t0.elapsed().as_secs_f64();
    if preview["problem_count"].as_u64() != Some(0) {
        return Err(format!("the import's preview found problems: {preview}"));
    }
    let t1 = Clock::now();
    let imported = upload(&client, &format!("{base}/import"), &admin, "outlets.xlsx", workbook).await?;
    let import_seconds = t1.elapsed().as_secs_f64();
    let import = ImportFigures {
        rows: imported["rows"].as_u64().unwrap_or(0),
        file_bytes: 0,
        preview_seconds,
        import_seconds,
        imported: imported["new"].as_u64().unwrap_or(0),
        baseline_seconds,
    };
    Ok((measured, export, import))
}

/// The HTTP scenarios: one client each, as a person paging a list or reading the rollup.
fn build(base: &str, cookie: &str, towns: &[String]) -> Vec<Scenario> {
    const STAGES: [&str; 5] = ["survey", "monitor", "trace", "remediate", "closed"];
    const KINDS: [&str; 4] = ["GY", "WS", "NY", "QT"];
    let towns = Arc::new(towns.to_vec());
    let get = |url: String, cookie: &str| {
        let cookie = cookie.to_owned();
        move |c: &reqwest::Client| c.get(url).header("cookie", cookie.as_str())
    };
    let (b, t, k) = (base.to_owned(), Arc::clone(&towns), cookie.to_owned());
    let town_stage: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (town, stage) = (&t[n as usize % t.len()], STAGES[(n as usize / t.len()) % STAGES.len()]);
        get(format!("{b}/items?town={town}&stage={stage}"), &k)(c)
    });
    let (b, t, k) = (base.to_owned(), Arc::clone(&towns), cookie.to_owned());
    let town_kind: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (town, kind) = (&t[n as usize % t.len()], KINDS[(n as usize / t.len()) % KINDS.len()]);
        get(format!("{b}/items?town={town}&outlet_type={kind}"), &k)(c)
    });
    let rollup: scenarios::MakeRequest = {
        let (url, k) = (format!("{base}/rollup"), cookie.to_owned());
        Arc::new(move |c, _| get(url.clone(), &k)(c))
    };
    vec![
        Scenario { name: "ledger list, town + stage filters".into(), clients: 1, expect: 200, make: town_stage },
        Scenario { name: "ledger list, town + choice field filters".into(), clients: 1, expect: 200, make: town_kind },
        Scenario { name: "ledger rollup, town × stage".into(), clients: 1, expect: 200, make: rollup },
    ]
}

/// Exports the items in [`EXPORT_STAGE`] and measures the server's memory around it; the workbook is
/// read back to count its rows.
async fn export(client: &reqwest::Client, server: &Server, base: &str, cookie: &str) -> BenchResult<ExportFigures> {
    let list: serde_json::Value =
        get_json(client, &format!("{base}/items?stage={EXPORT_STAGE}&limit=1"), cookie).await?;
    let items = list["total"].as_u64().ok_or("the list has no total")?;
    let rss_before = server.memory().0;
    let t0 = Clock::now();
    let resp = client
        .get(format!("{base}/export?stage={EXPORT_STAGE}"))
        .header("cookie", cookie)
        .send()
        .await
        .ctx("export")?;
    if !resp.status().is_success() {
        return Err(format!("export: HTTP {}", resp.status()));
    }
    let bytes = resp.bytes().await.ctx("export body")?;
    let seconds = t0.elapsed().as_secs_f64();
    let peak_after = server.memory().1;
    let limits = mashangban_sheet::Limits::default().file_bytes(1 << 30).part_bytes(4 << 30).rows(2_000_000);
    let mut rows = 0u64;
    for row in mashangban_sheet::open(&bytes, &limits).map_err(|e| e.message.to_string())? {
        if !row.map_err(|e| e.message.to_string())?.is_blank() {
            rows += 1;
        }
    }
    Ok(ExportFigures {
        items,
        rows: rows.saturating_sub(1),
        bytes: bytes.len() as u64,
        seconds,
        rss_before,
        peak_after,
    })
}

async fn get_json(client: &reqwest::Client, url: &str, cookie: &str) -> BenchResult<serde_json::Value> {
    let resp = client.get(url).header("cookie", cookie).send().await.ctx("GET")?;
    if !resp.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", resp.status()));
    }
    resp.json().await.ctx("GET body")
}

/// Posts the workbook as the multipart upload the import page sends; answers the JSON report.
pub(crate) async fn upload(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    file_name: &str,
    workbook: &[u8],
) -> BenchResult<serde_json::Value> {
    let part = reqwest::multipart::Part::bytes(workbook.to_vec())
        .file_name(file_name.to_owned())
        .mime_str("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .ctx("part")?;
    let form = reqwest::multipart::Form::new().part("file", part);
    let resp = client.post(url).header("cookie", cookie).multipart(form).send().await.ctx("upload")?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.ctx("upload answer")?;
    if !status.is_success() {
        return Err(format!("POST {url}: HTTP {status}: {body}"));
    }
    Ok(body)
}

impl LedgerReport {
    pub fn scenario(&self, prefix: &str) -> Option<&Measured> {
        self.scenarios.iter().find(|s| s.name.starts_with(prefix))
    }

    /// GROUP BY median over the rollup's median.
    pub fn rollup_speedup(&self) -> f64 {
        self.scenario("ledger rollup").map_or(0.0, |s| self.rollup_group_by.p50_ms / s.p50_ms.max(1e-9))
    }

    /// The targets.
    pub fn targets(&self) -> Vec<Target> {
        let mut out = Vec::new();
        let r = self.import.ratio();
        out.push(target("import / raw batched INSERT", "≥ 40%", format!("{:.0}%", r * 100.0), r >= 0.4));
        for s in self.scenarios.iter().filter(|s| s.name.starts_with("ledger list")) {
            out.push(target(&format!("{} p99", s.name), "< 50 ms", ms(s.p99_ms), s.p99_ms < 50.0));
        }
        if let Some(s) = self.scenario("ledger rollup") {
            out.push(target("rollup p99", "< 20 ms", ms(s.p99_ms), s.p99_ms < 20.0));
            let x = self.rollup_speedup();
            out.push(target("rollup vs GROUP BY (p50)", "≥ 80×", format!("{x:.1}×"), x >= 80.0));
        }
        let g = self.export.growth();
        out.push(target("export: server RSS growth", "< 100 MB", mib(g), g < 100_000_000));
        out
    }

    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut md = String::new();
        let (m, l, i, e) = (&self.machine, &self.load, &self.import, &self.export);
        let _ = writeln!(md, "## Ledgers: {} outlets\n", thousands(self.items));
        report::write_run_head(&mut md, m, &self.date, &self.commit, &self.command);
        let _ = writeln!(
            md,
            "- SQLite; each HTTP scenario: at most {} s, one client, as the administrator (every item in scope), after a short warm-up\n",
            self.seconds
        );
        report::write_scenario_header(&mut md);
        for s in &self.scenarios {
            let (base, ratio) = if s.name.starts_with("ledger rollup") {
                (
                    format!("GROUP BY p50 {}", ms(self.rollup_group_by.p50_ms)),
                    format!("{:.1}× faster", self.rollup_speedup()),
                )
            } else {
                ("—".into(), "—".into())
            };
            let _ = writeln!(md, "{} | {base} | {ratio} |", report::row(s));
        }
        let _ = writeln!(md, "{} | baseline | — |\n", report::row(&self.rollup_group_by));
        let _ = writeln!(md, "| import, export, load and size | value |\n|---|---:|");
        i.write_lines(
            &mut md,
            &format!(
                "new outlets from xlsx ({}), `POST …/import`: parse, validate, write with history",
                mib(i.file_bytes)
            ),
            "parse, key look-up and validation",
            &format!("{IMPORT_BASELINE}, {BATCH_ROWS} rows per statement"),
        );
        let seals = &self.seals;
        let _ = writeln!(
            md,
            "| the import's {} outlets written through the store (`import_ledger_items`, fresh store, median of {SEAL_ROUNDS}): with SM3 seals / without / share spent sealing | {:.2} s / {:.2} s / {:.0}% |",
            thousands(seals.rows),
            seals.sealed_seconds,
            seals.unsealed_seconds,
            seals.share() * 100.0
        );
        let _ = writeln!(
            md,
            "| export `?stage={EXPORT_STAGE}`: items / rows read back / size / time | {} / {} / {} / {:.1} s |",
            thousands(e.items),
            thousands(e.rows),
            mib(e.bytes),
            e.seconds
        );
        let _ = writeln!(
            md,
            "| server RSS before the export (VmRSS) / peak after it (VmHWM) / growth | {} / {} / {} |",
            mib(e.rss_before),
            mib(e.peak_after),
            mib(e.growth())
        );
        let _ = writeln!(md, "| items / history rows bulk-loaded | {} / {} |", thousands(l.items), thousands(l.events));
        let _ = writeln!(
            md,
            "| setup (migrations, org, users, types) + generate, validate and write + index build + rollups rebuilt | {:.1} s + {:.1} s + {:.1} s + {:.1} s ({:.0} items/s) |",
            l.setup_seconds, l.copy_seconds, l.index_seconds, l.rollup_seconds, l.items_per_second
        );
        let _ = writeln!(md, "| database after load (file + WAL, checkpointed) | {} |", mib(l.db_bytes));
        let _ = writeln!(md, "| server peak RSS over the whole run (VmHWM) | {} |\n", mib(self.rss_peak));
        report::write_target_table(&mut md, &self.targets());
        md
    }
}
