//! The whole benchmark at a tiny scale, on SQLite and on PostgreSQL, so the
//! tool never rots. PostgreSQL is the server of `MASHANGBAN_TEST_POSTGRES`
//! (default 127.0.0.1:5432); the run gets a uniquely named database, dropped afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use mashangban_bench::Options;
use mashangban_bench::pg::PgTarget;
use mashangban_bench::report::{self, Run};
use mashangban_store_postgres::testing::TempDatabase;

const NAMES: [&str; 10] = [
    "public progress",
    "uncached progress",
    "request detail",
    "dispatch suggestions",
    "likely duplicates",
    "category and unit suggestions",
    "handler queue",
    "city scoring",
    "leader dashboard",
    "intake",
];

#[test]
fn the_benchmark_runs_end_to_end_at_a_tiny_scale() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let temp = rt.block_on(TempDatabase::create()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        scale: 2_000,
        seconds: 1.0,
        max_requests: 300,
        work_dir: dir.path().to_path_buf(),
        template: 500,
        seed: 7,
        server_exe: PathBuf::from(env!("CARGO_BIN_EXE_mashangban-bench")),
        intake_clients: 64,
        read_clients: 8,
        readers: 2,
        reuse: false,
        command: "smoke".into(),
        postgres: Some(PgTarget {
            admin_url: temp.admin_url().to_owned(),
            database: temp.name().to_owned(),
            connections: 4,
        }),
    };
    let report = mashangban_bench::run(&opts).unwrap();

    assert_eq!(report.load.requests, 2_000);
    assert!(report.load.events > 2_000, "{} events", report.load.events);
    assert!(report.load.rollup_day_rows > 0);
    assert!(report.load.bytes_per_request > 0.0);
    check_run(&report.sqlite, 2_000);

    let pg = report.postgres.as_ref().unwrap();
    assert_eq!(pg.load.requests, report.sqlite.requests_end, "the copy holds what SQLite held");
    assert!(pg.load.rows > pg.load.requests && pg.load.copy_seconds > 0.0 && pg.load.db_bytes > 0, "{pg:?}");
    check_run(&pg.run, report.sqlite.requests_end);
    assert!(pg.run.scenario("intake").unwrap().database_cpu_ms > 0.0, "the PostgreSQL processes' CPU is counted");

    let md = report.markdown();
    for s in &report.sqlite.scenarios {
        assert_eq!(md.matches(&format!("| {} |", s.name)).count(), 2, "{} twice (SQLite, PostgreSQL): {md}", s.name);
    }
    assert!(
        md.contains("### PostgreSQL") && md.contains("single-row PostgreSQL") && !md.contains("no backend yet"),
        "{md}"
    );
    for baseline in [mashangban_bench::baseline::FSYNC_NAME, mashangban_bench::HTTP_NOOP_NAME] {
        assert_eq!(md.matches(&format!("| {baseline} |")).count(), 2, "{baseline} before each backend's scenarios");
    }
    assert!(md.find(mashangban_bench::HTTP_NOOP_NAME) < md.find("| public progress lookup |"), "baselines first");
    let docs = dir.path().join("benchmarks.md");
    report::write_docs(&docs, &report).unwrap();
    report::write_docs(&docs, &report).unwrap();
    let written = std::fs::read_to_string(&docs).unwrap();
    assert_eq!(written.matches("<!-- bench scale=2000 begin -->").count(), 1, "{written}");
    drop(temp);
}

/// Every scenario ran without errors, in order, and the baselines ran.
fn check_run(run: &Run, requests_at_start: u64) {
    let b = &run.backend;
    assert_eq!(run.requests_at_start, requests_at_start, "{b}");
    for name in NAMES {
        let s = run.scenario(name).unwrap_or_else(|| panic!("{b}: no scenario {name}"));
        assert!(s.requests > 0 && s.per_second > 0.0, "{b} {name}: {s:?}");
        assert_eq!(s.errors, 0, "{b} {name}: {s:?}");
        assert!(
            s.p50_ms > 0.0 && s.p50_ms <= s.p95_ms && s.p95_ms <= s.p99_ms && s.p99_ms <= s.max_ms,
            "{b} {name}: {s:?}"
        );
    }
    assert!(run.requests_end >= requests_at_start + run.scenario("intake").unwrap().requests, "{b}");
    assert!(
        run.intake_baseline.per_second > 0.0 && run.group_by.requests > 0 && run.dashboard_group_by.requests > 0,
        "{b}"
    );
    assert!(run.fsync.requests > 0 && run.fsync.per_second > 0.0, "{b}: {:?}", run.fsync);
    let noop = &run.http_noop;
    assert!(noop.requests > 0 && noop.errors == 0 && noop.p50_ms > 0.0, "{b}: {noop:?}");
    assert!(run.lookup_noop_ratio() > 0.0, "{b}");
    assert!(
        run.rss_peak > 0 && run.intake_ratio() > 0.0 && run.scoring_speedup() > 0.0 && run.dashboard_speedup() > 0.0,
        "{b}"
    );
    assert!(run.db_bytes_end > 0, "{b}");
    let t = &run.dispatch_training;
    assert!(t.examples > 0 && t.corrections < t.examples && t.seconds > 0.0, "{b}: the model was trained first: {t:?}");
    for (name, _) in mashangban_bench::OVER_DETAIL {
        assert!(run.over_detail_p99(name).is_some(), "{b}: {name} has its detail baseline");
    }
}

/// The ledger scenario at 2,000 outlets and a 300-row import: every step runs through the real
/// server and the figures are sane (not timed against targets).
#[test]
fn the_ledger_benchmark_runs_at_a_small_scale() {
    use mashangban_bench::ledgers::{self, LedgerOptions};
    let dir = tempfile::tempdir().unwrap();
    let opts = LedgerOptions { items: 2_000, import_rows: 300, run: smoke_run(dir.path(), 0.5, 200) };
    let report = ledgers::run(&opts).unwrap();

    assert_eq!((report.load.items, report.load.events), (2_000, 2_000), "{:?}", report.load);
    for name in ["ledger list, town + stage", "ledger list, town + choice", "ledger rollup"] {
        let s = report.scenario(name).unwrap_or_else(|| panic!("no scenario {name}"));
        assert!(s.requests > 0 && s.errors == 0, "{name}: {s:?}");
        assert!(s.p50_ms > 0.0 && s.p50_ms <= s.p99_ms && s.p99_ms <= s.max_ms, "{name}: {s:?}");
    }
    assert!(report.rollup_group_by.requests > 0 && report.rollup_speedup() > 0.0);

    let e = &report.export;
    assert!((100..=320).contains(&e.items), "about a tenth of the outlets are closed: {e:?}");
    assert_eq!(e.rows, e.items, "the export holds every matching item: {e:?}");
    assert!(e.bytes > 0 && e.peak_after >= e.rss_before && e.rss_before > 0, "{e:?}");

    let i = &report.import;
    assert_eq!((i.rows, i.imported), (300, 300), "every row imported as a new outlet: {i:?}");
    assert!(i.baseline_seconds > 0.0 && i.import_seconds > i.preview_seconds * 0.5 && i.ratio() > 0.0, "{i:?}");
    let conn = rusqlite::Connection::open(opts.db_path()).unwrap();
    let (items, events): (i64, i64) = conn
        .query_row("SELECT (SELECT COUNT(*) FROM ledger_items), (SELECT COUNT(*) FROM ledger_item_events)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((items, events), (2_300, 2_300), "the baseline's rows are gone, the import wrote its history");

    let md = report.markdown();
    assert!(md.contains("## Ledgers: 2,000 outlets") && md.contains(ledgers::ROLLUP_BASELINE), "{md}");
    assert_eq!(report.targets().len(), 6, "{md}");
    let docs = dir.path().join("benchmarks.md");
    report::write_section(&docs, "ledgers=2000", &md).unwrap();
    report::write_section(&docs, "ledgers=2000", &md).unwrap();
    let written = std::fs::read_to_string(&docs).unwrap();
    assert_eq!(written.matches("<!-- bench ledgers=2000 begin -->").count(), 1, "{written}");
}

/// The enterprise scenario at 2,000 requests, a 300-row registry import, 120 linked requests, 6 visits
/// and 12 cards, on SQLite and then on a PostgreSQL copy: every step runs through the real server and
/// the figures are sane (not timed against targets).
#[test]
fn the_enterprise_benchmark_runs_at_a_small_scale() {
    use mashangban_bench::enterprises::{self, EnterpriseOptions};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let temp = rt.block_on(TempDatabase::create()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = PgTarget { admin_url: temp.admin_url().to_owned(), database: temp.name().to_owned(), connections: 4 };
    let opts = EnterpriseOptions {
        requests: 2_000,
        template: 500,
        import_rows: 300,
        page_requests: 120,
        visits: 6,
        cards: 12,
        run: smoke_run(dir.path(), 0.5, 100),
        postgres: Some(target.clone()),
    };
    let report = enterprises::run(&opts).unwrap();
    assert_eq!(report.load.requests, 2_000, "{:?}", report.load);
    let pg = report.postgres.as_ref().unwrap();
    assert!(pg.load.rows > pg.load.requests && pg.load.requests == 2_000, "{:?}", pg.load);

    // What each database holds after its run: the card town's 12 and the import's 300, renamed by the
    // re-import; the baseline's rows are gone, and every contact phone is sealed by the store, none left
    // plain by the baseline.
    let conn = rusqlite::Connection::open(opts.db_path()).unwrap();
    let sqlite_rows: (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE contact_phone NOT LIKE 'v1:%') FROM enterprises
             WHERE version = 2 AND name LIKE '%（更名）' OR version = 1 AND name NOT LIKE '%（更名）'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(sqlite_rows, (300 + 12, 0), "SQLite");
    let row = mashangban_bench::pg::connect(&target.url())
        .unwrap()
        .query_one("SELECT COUNT(*), COUNT(*) FILTER (WHERE contact_phone NOT LIKE 'v1:%') FROM enterprises", &[])
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (300 + 12, 0), "PostgreSQL");

    for run in [&report.sqlite, &pg.run] {
        let b = &run.backend;
        let i = &run.import;
        assert_eq!((i.rows, i.imported), (300, 300), "{b}: every row imported as a new enterprise: {i:?}");
        assert!(i.file_bytes > 300 * 50 && i.baseline_seconds > 0.0 && i.preview_seconds > 0.0, "{b}: {i:?}");
        assert!(i.import_seconds > 0.0 && i.ratio() > 0.0, "{b}: {i:?}");
        let r = &run.reimport;
        assert!(r.updated == 300 && r.seconds > 0.0, "{b}: the renamed file updates every record: {r:?}");
        assert!(r.baseline_seconds > 0.0 && r.ratio() > 0.0, "{b}: the raw UPDATEs ran beside it: {r:?}");

        let p = &run.page;
        assert_eq!((p.requests_linked, p.visits, p.liaisons), (120, 6, 1), "{b}: {p:?}");
        assert_eq!(p.requests_shown, u64::from(mashangban_app::enterprises::REQUESTS_SHOWN), "{b}: {p:?}");
        assert!(p.html_bytes > 1_000 && p.json_bytes > 1_000, "{b}: {p:?}");
        for name in ["enterprise page", "enterprise file API"] {
            let s = run.scenario(name).unwrap_or_else(|| panic!("{b}: no scenario {name}"));
            assert!(s.requests > 0 && s.errors == 0, "{b} {name}: {s:?}");
            assert!(s.p50_ms > 0.0 && s.p50_ms <= s.p99_ms && s.p99_ms <= s.max_ms, "{b} {name}: {s:?}");
        }

        let c = &run.print;
        assert_eq!(c.cards, 12, "{b}: every card of the town printed: {c:?}");
        assert!(c.rounds.len() == 3 && c.rounds.iter().all(|s| *s > 0.0) && c.bytes > 0, "{b}: {c:?}");
        let f = &run.pdf;
        assert_eq!((f.cards, f.pages), (12, 3), "{b}: every card in the PDF file, four to a page: {f:?}");
        assert!(f.rounds.len() == 3 && f.rounds.iter().all(|s| *s > 0.0) && f.bytes > 3 * 1024, "{b}: {f:?}");
        assert!(run.rss_peak > 0, "{b}");
        assert_eq!(run.targets().len(), 5, "{b}");
    }
    assert!(report.scenario("enterprise page").is_some(), "the report's scenarios are SQLite's");

    let md = report.markdown();
    assert!(md.contains("## Enterprises: 2,000 requests") && md.contains(enterprises::IMPORT_BASELINE), "{md}");
    assert_eq!(md.matches(enterprises::UPDATE_BASELINE).count(), 2, "beside each database's re-import: {md}");
    assert!(md.contains("### PostgreSQL") && !md.contains("not measured in this run"), "{md}");
    assert_eq!(md.matches("| the same 12 cards as one PDF file made on the server").count(), 2, "{md}");
    assert_eq!(md.matches("| registry import / raw batched INSERT |").count(), 2, "{md}");
    assert_eq!(report.targets().len(), 5, "{md}");
    let docs = dir.path().join("benchmarks.md");
    report::write_section(&docs, "enterprises=2000", &md).unwrap();
    report::write_section(&docs, "enterprises=2000", &md).unwrap();
    let written = std::fs::read_to_string(&docs).unwrap();
    assert_eq!(written.matches("<!-- bench enterprises=2000 begin -->").count(), 1, "{written}");
    drop(temp);
}

/// The device scenario with 20 devices and a short history: every packet goes through the real
/// receiver and is stored, closed loop and paced, the probe's alerts reach the live page, the
/// aggregates answer (not timed against targets).
#[test]
fn the_device_benchmark_runs_at_a_small_scale() {
    use mashangban_bench::devices::{self, DeviceOptions};
    let dir = tempfile::tempdir().unwrap();
    let opts = DeviceOptions { devices: 20, readings: 30_000, run: smoke_run(dir.path(), 2.5, 50) };
    let report = devices::run(&opts).unwrap();

    assert_eq!((report.load.points, report.load.readings), (21, 30_000), "{:?}", report.load);
    let i = &report.ingest;
    assert!(i.packets.requests > 20 && i.unanswered == 0, "{i:?}");
    // Each device's first packet is untimed, and the probe's packets are stored too: 3 readings each.
    let probe = report.alerts.requests + report.alerts_missed;
    assert_eq!(i.readings_stored, (i.packets.requests + 20 + probe) * 3, "every answered packet is stored: {i:?}");
    assert!(i.readings_per_second > 0.0 && i.server_cpu_ms_per_reading > 0.0, "{i:?}");
    // The paced phase: fewer packets than the closed loop's, each stored, none of a minute sent before.
    let paced = &report.paced;
    assert!(paced.packets.requests > 0 && paced.unanswered == 0, "{paced:?}");
    assert!(paced.packets.per_second < i.packets.per_second, "{paced:?} against {i:?}");
    assert_eq!(
        paced.readings_stored,
        (paced.packets.requests + 20) * 3,
        "no duplicate of the closed loop's: {paced:?}"
    );
    assert!(report.baseline.requests > 0 && report.ingest_ratio() > 0.0);
    assert!(probe >= 2 && report.alerts_missed == 0, "every probe alert shows on the page: {:?}", report.alerts);
    assert!(report.aggregates.requests > 0 && report.aggregates.errors == 0, "{:?}", report.aggregates);

    let conn = rusqlite::Connection::open(opts.db_path()).unwrap();
    let (alerts, old): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM monitoring_alerts WHERE point_id = (SELECT id FROM monitoring_points WHERE code = 'B-00000')),
                    (SELECT COUNT(*) FROM monitoring_readings WHERE data_time < '2020')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((alerts as u64, old), (probe, 0), "an alert per probe exceedance; the baseline's rows are gone");

    let md = report.markdown();
    assert!(md.contains("## Online monitoring: 20 devices") && md.contains(devices::BASELINE_NAME), "{md}");
    assert_eq!(report.targets().len(), 4, "{md}");
}

/// The fuzzer over every OpenAPI operation, Open311 and the pages' form posts, small (SQLite): no 5xx, no
/// non-JSON answer on `/api/`, nothing with a control character stored, the server alive; every operation
/// reached, every kind of mutation sent, page form posts accepted (303) and the server's memory sampled.
#[test]
fn the_fuzzer_finds_no_server_error_or_non_json_answer_in_a_few_thousand_requests() {
    use mashangban_bench::fuzz::{self, FuzzOptions};
    let dir = tempfile::tempdir().unwrap();
    let opts = FuzzOptions {
        requests: 3_000,
        postgres: false,
        seed: 7,
        work_dir: dir.path().to_path_buf(),
        server_exe: PathBuf::from(env!("CARGO_BIN_EXE_mashangban-bench")),
        clients: 4,
        demo_requests: 40,
    };
    let report = fuzz::run(&opts).unwrap();
    let md = report.markdown();
    assert_eq!(report.failure_count, 0, "{md}");
    assert_eq!(report.requests, 3_000, "{md}");
    assert_eq!(report.by_class.iter().sum::<u64>(), 3_000, "every request answered: {md}");
    assert!(report.operations >= 250 && report.operations <= 3_000, "{md}");
    assert_eq!(report.server_errors(), 0, "{md}");
    assert!(report.by_class[1] > 100 && report.by_class[3] > 1_000, "successes and refusals: {md}");
    assert_eq!(report.by_mutation.len(), 17, "every kind of mutation: {md}");
    let surfaces = &report.operations_by_surface;
    assert!(surfaces["open311"] >= 5 && surfaces["page"] >= 80 && surfaces["api"] >= 250, "{md}");
    // Page form posts go through (a 303 other than to sign in), of more than one form (seed 7: 6 posts of 4
    // forms accepted, 122 sent to sign in, of 128 3xx).
    let accepted = |s: &str| report.accepted.get(s).copied().unwrap_or(0);
    assert!(accepted("page") > 0 && report.page_forms_accepted >= 2, "page posts accepted: {md}");
    assert!(accepted("api") > 100 && report.to_sign_in > 0, "{md}");
    assert_eq!(report.stored_control_characters, 0, "{md}");
    assert!(report.memory.samples.len() >= 10 && report.memory.start > 0, "{md}");
    assert_eq!(report.callers.len(), fuzz::CALLERS.len() + 1, "{md}");
    assert!(report.rss_peak > 0, "{md}");
}

/// The shared options of a scenario subcommand's smoke run in `dir`.
fn smoke_run(dir: &std::path::Path, seconds: f64, max_requests: u64) -> mashangban_bench::RunOptions {
    mashangban_bench::RunOptions {
        seconds,
        max_requests,
        work_dir: dir.to_path_buf(),
        seed: 7,
        server_exe: PathBuf::from(env!("CARGO_BIN_EXE_mashangban-bench")),
        readers: 2,
        command: "smoke".into(),
    }
}
