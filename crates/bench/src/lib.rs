//! Benchmarks of mashangban (马上办): a synthetic history bulk-loaded at a
//! chosen scale, HTTP scenarios on loopback against the real server in a
//! child process, same-run SQLite baselines, the same on a PostgreSQL copy
//! with PostgreSQL baselines, and a markdown report.
//! See `docs/benchmarks.md`.

pub mod baseline;
pub mod devices;
pub mod enterprises;
pub mod fuzz;
pub mod ledgers;
pub mod load;
pub mod personal_data;
pub mod pg;
pub mod report;
pub mod scenarios;
pub mod server;
pub mod shift;

use std::path::PathBuf;
use std::sync::Arc;

use rand::Rng;
use rusqlite::Connection;

use load::{LoadOptions, LoadStats};
use pg::PgTarget;
use report::{PgRun, Report, Run};
use scenarios::{Measured, Scenario};
use server::Server;

pub type BenchResult<T> = Result<T, String>;

/// The key of personal data at rest of every bench database: fixed, because the history is loaded by
/// this process and served by a child (a process's ephemeral key would differ between them).
pub fn bench_keys() -> mashangban_domain::personal_data::Keyring {
    let key = mashangban_domain::personal_data::PersonalDataKey::new("bench", [0x42; 16]);
    let ring = key.and_then(|key| mashangban_domain::personal_data::Keyring::new(key, Vec::new()));
    ring.unwrap_or_else(|_| mashangban_domain::personal_data::Keyring::ephemeral())
}

/// Adds what failed to an error.
pub trait Ctx<T> {
    fn ctx(self, what: &str) -> BenchResult<T>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> BenchResult<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// One benchmark run.
#[derive(Debug, Clone)]
pub struct Options {
    pub scale: u64,
    /// Time bound of each scenario.
    pub seconds: f64,
    /// Request bound of each scenario.
    pub max_requests: u64,
    pub work_dir: PathBuf,
    /// Requests the demo generator makes through the store; the rest are copies.
    pub template: usize,
    pub seed: u64,
    /// The executable whose `serve` subcommand runs the server (this binary).
    pub server_exe: PathBuf,
    pub intake_clients: usize,
    pub read_clients: usize,
    /// Reader connections of the server's store.
    pub readers: usize,
    /// Reuse a database loaded by an earlier run at the same scale.
    pub reuse: bool,
    /// The command line, for the report.
    pub command: String,
    /// Where the PostgreSQL part runs; None skips it.
    pub postgres: Option<PgTarget>,
}

impl Options {
    pub fn db_path(&self) -> PathBuf {
        self.work_dir.join(format!("bench-{}.db", self.scale))
    }

    fn load_stats_path(&self) -> PathBuf {
        self.work_dir.join(format!("bench-{}.load.json", self.scale))
    }
}

/// Loads (or reuses) the database, runs every scenario and baseline on it
/// and then on PostgreSQL when asked, and reports.
pub fn run(opts: &Options) -> BenchResult<Report> {
    let db = opts.db_path();
    let setup = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let (load, reused) = load_or_reuse(opts, &setup)?;
    drop(setup);
    let inputs = Inputs::read(&db)?;
    let baselines = Baselines {
        fsync: baseline::fsyncs(&opts.work_dir, opts.seconds, opts.max_requests)?,
        intake: baseline::durable_inserts(&opts.work_dir, opts.seconds, opts.max_requests)?,
        group_by: baseline::group_by(&db, &inputs.from_ts, &inputs.to_ts, opts.seconds, opts.max_requests)?,
        dashboard: baseline::dashboard_group_by(&db, &inputs.from_ts, &inputs.to_ts, opts.seconds, opts.max_requests)?,
    };
    print_baseline(&baselines.fsync);
    print_baseline(&baselines.intake);
    let url = format!("sqlite://{}", db.display());
    let sqlite = measure(opts, "SQLite", (&url, opts.readers), (&inputs, &|| 0.0), baselines, || {
        load::sizes(&db).map(|(bytes, _, requests, _)| (bytes, requests))
    })?;
    let postgres = opts.postgres.as_ref().map(|target| run_postgres(opts, target)).transpose()?;
    Ok(Report {
        scale: opts.scale,
        machine: report::Machine::read(),
        date: mashangban_domain::time::now().format("%Y-%m-%d %H:%M (+08:00)").to_string(),
        commit: report::commit(),
        command: opts.command.clone(),
        seconds: opts.seconds,
        max_requests: opts.max_requests,
        load,
        reused,
        sqlite,
        postgres,
    })
}

/// Copies the SQLite database into a fresh PostgreSQL database, then measures
/// the PostgreSQL baselines and the same scenarios on it.
fn run_postgres(opts: &Options, target: &PgTarget) -> BenchResult<PgRun> {
    let db = opts.db_path();
    eprintln!("mashangban-bench: copying into PostgreSQL database {}", target.database);
    let load = pg::create_and_copy(target, &db)?;
    let inputs = Inputs::read(&db)?;
    let url = target.url();
    let (from, to, seconds, max) = (&inputs.from_ts, &inputs.to_ts, opts.seconds, opts.max_requests);
    let baselines = Baselines {
        fsync: baseline::fsyncs(&opts.work_dir, seconds, max)?,
        intake: baseline::pg_durable_inserts(&url, seconds, max)?,
        group_by: baseline::pg_group_by(&url, from, to, seconds, max)?,
        dashboard: baseline::pg_dashboard_group_by(&url, from, to, seconds, max)?,
    };
    print_baseline(&baselines.fsync);
    print_baseline(&baselines.intake);
    let server = pg::describe(&url)?;
    let database_cpu = || pg::database_cpu_seconds(&target.database);
    let run = measure(opts, "PostgreSQL", (&url, target.connections), (&inputs, &database_cpu), baselines, || {
        pg::sizes(&url).map(|(bytes, _, requests)| (bytes, requests))
    })?;
    Ok(PgRun { database: target.database.clone(), server, connections: target.connections, load, run })
}

/// The same-run baselines of one database (the HTTP no-op is measured
/// against its server, with the scenarios).
struct Baselines {
    fsync: Measured,
    intake: Measured,
    group_by: Measured,
    dashboard: Measured,
}

/// CPU seconds so far of the database server's processes (0 for SQLite).
pub type DatabaseCpu<'a> = &'a (dyn Fn() -> f64 + Sync);

/// Runs the server child on the database at `server.0` (with `server.1`
/// connections), drives every scenario against it (`scenario.0` with the
/// database CPU `scenario.1`), and reads the database's (bytes, requests) afterwards with `size`.
fn measure(
    opts: &Options,
    backend: &str,
    server: (&str, usize),
    scenario: (&Inputs, DatabaseCpu<'_>),
    baselines: Baselines,
    size: impl FnOnce() -> BenchResult<(u64, u64)>,
) -> BenchResult<Run> {
    let (inputs, database_cpu) = scenario;
    let search_dir = opts.work_dir.join(format!("search-{}-{}", opts.scale, backend.to_lowercase()));
    let server = Server::start(&opts.server_exe, server.0, server.1, Some(&search_dir))?;
    let indexed = server.indexed;
    let result = drive(opts, &server, inputs, database_cpu);
    let (rss_end, rss_peak) = server.memory();
    server.stop();
    let (scenarios, http_noop, rss_after_start, dispatch_training) = result?;
    let (db_bytes_end, requests_end) = size()?;
    Ok(Run {
        backend: backend.to_owned(),
        requests_at_start: inputs.requests,
        scenarios,
        fsync: baselines.fsync,
        http_noop,
        intake_baseline: baselines.intake,
        group_by: baselines.group_by,
        dashboard_group_by: baselines.dashboard,
        rss_after_start,
        rss_end,
        rss_peak,
        db_bytes_end,
        requests_end,
        search_index: indexed.map(|(requests, seconds, bytes)| report::IndexFigures { requests, seconds, bytes }),
        dispatch_training,
    })
}

fn load_or_reuse(opts: &Options, rt: &tokio::runtime::Runtime) -> BenchResult<(LoadStats, bool)> {
    let stats_path = opts.load_stats_path();
    if opts.reuse
        && opts.db_path().exists()
        && let Ok(text) = std::fs::read_to_string(&stats_path)
    {
        return Ok((serde_json::from_str(&text).ctx("read the earlier load's figures")?, true));
    }
    let stats = load::load(
        &LoadOptions { db: opts.db_path(), scale: opts.scale, template: opts.template, seed: opts.seed },
        rt,
    )?;
    let json = serde_json::to_string_pretty(&stats).ctx("load figures")?;
    std::fs::write(&stats_path, json).ctx("write the load figures")?;
    Ok((stats, false))
}

/// What the scenarios need from the database, read before they start.
struct Inputs {
    requests: u64,
    samples: Vec<(String, String)>,
    /// Distinct requests in id order, more than a node's look-up cache holds: each looked up once.
    cold_samples: Vec<(String, String)>,
    categories: Vec<String>,
    towns: Vec<String>,
    /// The whole period, as days for the API and as instants for SQL.
    from_day: String,
    to_day: String,
    from_ts: String,
    to_ts: String,
}

impl Inputs {
    fn read(db: &std::path::Path) -> BenchResult<Self> {
        let conn = Connection::open(db).ctx("open for inputs")?;
        let max_id: i64 = conn.query_row("SELECT MAX(id) FROM requests", [], |r| r.get(0)).ctx("max id")?;
        let requests: i64 = conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0)).ctx("count")?;
        let mut rng = rand::thread_rng();
        let mut stmt = conn.prepare("SELECT tracking_no, check_code FROM requests WHERE id = ?1").ctx("sample")?;
        let mut samples = Vec::new();
        for _ in 0..20_000 {
            if samples.len() >= 10_000 {
                break;
            }
            let id = rng.gen_range(1..=max_id.max(1));
            if let Ok(s) = stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))) {
                samples.push(s);
            }
        }
        drop(stmt);
        let mut stmt = conn.prepare("SELECT tracking_no, check_code FROM requests ORDER BY id LIMIT ?1").ctx("cold")?;
        let cold_samples = stmt
            .query_map([COLD_SAMPLES], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("cold samples")?
            .collect::<Result<Vec<(String, String)>, _>>()
            .ctx("cold samples")?;
        drop(stmt);
        let categories =
            strings(&conn, "SELECT code FROM categories WHERE default_lead_unit_id IS NOT NULL AND active = 1")?;
        let towns = strings(&conn, "SELECT code FROM units WHERE kind = 'town' AND active = 1")?;
        let first: String =
            conn.query_row("SELECT MIN(received_at) FROM requests", [], |r| r.get(0)).ctx("first day")?;
        let today = mashangban_domain::time::now().date_naive();
        let earliest = today.checked_sub_months(chrono::Months::new(36)).and_then(|d| d.succ_opt()).unwrap_or(today);
        let first = chrono::NaiveDate::parse_from_str(first.get(..10).unwrap_or(""), "%Y-%m-%d")
            .ctx("first day")?
            .max(earliest);
        let after = today.succ_opt().unwrap_or(today);
        if samples.is_empty() || categories.is_empty() {
            return Err("the database has no requests or categories".into());
        }
        Ok(Self {
            requests: requests as u64,
            samples,
            cold_samples,
            categories,
            towns,
            from_day: first.to_string(),
            to_day: today.to_string(),
            from_ts: format!("{first}T00:00:00.000+08:00"),
            to_ts: format!("{after}T00:00:00.000+08:00"),
        })
    }
}

fn strings(conn: &Connection, sql: &str) -> BenchResult<Vec<String>> {
    let mut stmt = conn.prepare(sql).ctx("prepare")?;
    let found: Vec<String> = stmt.query_map([], |r| r.get(0)).ctx("query")?.collect::<Result<_, _>>().ctx("query")?;
    Ok(found)
}

/// What [`drive`] measured: the scenarios, the HTTP no-op, the server's RSS before the first, and
/// the dispatch model's training.
type Driven = (Vec<Measured>, Measured, u64, report::TrainingFigures);

/// Trains the dispatch model (timed: the scenarios that suggest need one in service), runs the HTTP
/// no-op baseline, then the scenarios, on a runtime of their own.
fn drive(opts: &Options, server: &Server, inputs: &Inputs, database_cpu: DatabaseCpu<'_>) -> BenchResult<Driven> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("client runtime")?;
    let (measured, training, rss) = rt.block_on(async {
        let client = scenarios::client(opts.intake_clients.max(opts.read_clients))?;
        let addr = server.addr;
        let rss = server.memory().0;
        let training = train_dispatch(&client, addr).await?;
        let handler = scenarios::login(&client, addr, "handler", load::PASSWORD).await?;
        let dispatcher = scenarios::login(&client, addr, "dispatcher", load::PASSWORD).await?;
        let supervisor = scenarios::login(&client, addr, "supervisor", load::PASSWORD).await?;
        let mut list = vec![http_noop(opts, addr)];
        list.extend(build(opts, inputs, addr, &handler, &dispatcher, &supervisor));
        let measured =
            scenarios::measure_each(&client, &list, (opts.seconds, opts.max_requests), &server.pid(), database_cpu)
                .await?;
        Ok::<_, String>((measured, training, rss))
    })?;
    let mut measured = measured.into_iter();
    let noop = measured.next().ok_or("the HTTP no-op was not measured")?;
    print_baseline(&noop);
    Ok((measured.collect(), noop, rss, training))
}

/// Trains the dispatch model as an administrator does (`POST /api/v1/dispatch/model`), timed, so
/// that the suggestion scenarios find one in service rather than training on their first call.
async fn train_dispatch(client: &reqwest::Client, addr: std::net::SocketAddr) -> BenchResult<report::TrainingFigures> {
    let admin = scenarios::login(client, addr, "admin", load::PASSWORD).await?;
    let started = std::time::Instant::now();
    let resp = client
        .post(format!("http://{addr}/api/v1/dispatch/model"))
        .header("cookie", admin.as_str())
        .send()
        .await
        .ctx("train the dispatch model")?;
    let status = resp.status();
    let info: serde_json::Value = resp.json().await.ctx("the dispatch model's answer")?;
    if !status.is_success() {
        return Err(format!("training the dispatch model: HTTP {status}: {info}"));
    }
    let count = |k: &str| info[k].as_u64().unwrap_or(0);
    Ok(report::TrainingFigures {
        examples: count("examples"),
        corrections: count("corrections"),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Shows a baseline that characterises the machine as soon as it is measured, before the scenarios.
fn print_baseline(m: &Measured) {
    eprintln!("mashangban-bench: baseline {}: {:.0} /s, p50 {} ms", m.name, m.per_second, report::ms(m.p50_ms));
}

/// The name of the HTTP no-op baseline.
pub const HTTP_NOOP_NAME: &str = "HTTP no-op round trip (GET /healthz)";

/// The cheapest round trip the server answers (`/healthz`: routing, the
/// metrics layer, a tiny JSON body, no store), with as many clients as the
/// read scenarios: what HTTP on loopback costs on this machine today.
fn http_noop(opts: &Options, addr: std::net::SocketAddr) -> Scenario {
    let url = format!("http://{addr}/healthz");
    let make: scenarios::MakeRequest = Arc::new(move |c, _| c.get(url.as_str()));
    Scenario { name: HTTP_NOOP_NAME.into(), clients: opts.read_clients, expect: 200, make }
}

fn build(
    opts: &Options,
    inputs: &Inputs,
    addr: std::net::SocketAddr,
    handler: &str,
    dispatcher: &str,
    supervisor: &str,
) -> Vec<Scenario> {
    let base = format!("http://{addr}");
    let samples = Arc::new(inputs.samples.clone());
    let (b, s) = (base.clone(), Arc::clone(&samples));
    let lookups: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (no, code) = &s[(n as usize * 7919) % s.len()];
        c.get(format!("{b}/api/v1/public/requests/{no}?code={code}"))
    });
    let (b, cold) = (base.clone(), Arc::new(inputs.cold_samples.clone()));
    let cold_lookups: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (no, code) = &cold[n as usize % cold.len()];
        c.get(format!("{b}/api/v1/public/requests/{no}?code={code}"))
    });
    let (b, s, cookie) = (base.clone(), Arc::clone(&samples), dispatcher.to_owned());
    let detail: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (no, _) = &s[(n as usize * 104_729) % s.len()];
        c.get(format!("{b}/api/v1/requests/{no}")).header("cookie", cookie.as_str())
    });
    let (b, s, cookie) = (base.clone(), Arc::clone(&samples), dispatcher.to_owned());
    let suggestions: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (no, _) = &s[(n as usize * 104_729) % s.len()];
        c.get(format!("{b}/api/v1/dispatch/suggestions/{no}")).header("cookie", cookie.as_str())
    });
    let (b, s, cookie) = (base.clone(), Arc::clone(&samples), dispatcher.to_owned());
    let similar: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (no, _) = &s[(n as usize * 104_729) % s.len()];
        c.get(format!("{b}/api/v1/dispatch/similar/{no}")).header("cookie", cookie.as_str())
    });
    let (b, cookie) = (base.clone(), handler.to_owned());
    let queue: scenarios::MakeRequest =
        Arc::new(move |c, _| c.get(format!("{b}/api/v1/requests?sort=deadline")).header("cookie", cookie.as_str()));
    let url = format!("{base}/api/v1/scores?from={}&to={}", inputs.from_day, inputs.to_day);
    let cookie = supervisor.to_owned();
    let scores: scenarios::MakeRequest = Arc::new(move |c, _| c.get(url.as_str()).header("cookie", cookie.as_str()));
    let url = format!("{base}/api/v1/dashboard?from={}&to={}", inputs.from_day, inputs.to_day);
    let cookie = supervisor.to_owned();
    let dashboard: scenarios::MakeRequest = Arc::new(move |c, _| c.get(url.as_str()).header("cookie", cookie.as_str()));
    let town_list = Arc::new(inputs.towns.clone());
    let town = move |n: u64| town_list.get((n as usize * 7) % town_list.len().max(1)).cloned().unwrap_or_default();
    let (b, cookie, t) = (base.clone(), dispatcher.to_owned(), town.clone());
    let draft: scenarios::MakeRequest = Arc::new(move |c, n| {
        c.post(format!("{b}/api/v1/dispatch/draft")).header("cookie", cookie.as_str()).json(&draft_body(n, &t(n)))
    });
    let (b, cookie, t) = (base.clone(), dispatcher.to_owned(), town.clone());
    let list: scenarios::MakeRequest =
        Arc::new(move |c, n| c.get(format!("{b}/api/v1/requests?town={}", t(n))).header("cookie", cookie.as_str()));
    let (b, cookie, t) = (base.clone(), dispatcher.to_owned(), town.clone());
    // The same list as a browser asks for it: the answer compressed as it is sent (its cost is the ratio).
    let list_compressed: scenarios::MakeRequest = Arc::new(move |c, n| {
        c.get(format!("{b}/api/v1/requests?town={}", t(n)))
            .header("cookie", cookie.as_str())
            .header("accept-encoding", "gzip, deflate, br")
    });
    let (b, cookie, t) = (base.clone(), dispatcher.to_owned(), town.clone());
    let search: scenarios::MakeRequest = Arc::new(move |c, n| {
        let (q, town) = (SEARCH_WORDS[n as usize % SEARCH_WORDS.len()], t(n));
        c.get(format!("{b}/api/v1/requests"))
            .query(&[("q", q), ("town", town.as_str())])
            .header("cookie", cookie.as_str())
    });
    let (b, cookie) = (base.clone(), handler.to_owned());
    let search_scoped: scenarios::MakeRequest = Arc::new(move |c, n| {
        let q = SEARCH_WORDS[n as usize % SEARCH_WORDS.len()];
        c.get(format!("{b}/api/v1/requests")).query(&[("q", q)]).header("cookie", cookie.as_str())
    });
    let (b, cats, towns) = (base, Arc::new(inputs.categories.clone()), Arc::new(inputs.towns.clone()));
    let intake: scenarios::MakeRequest =
        Arc::new(move |c, n| c.post(format!("{b}/api/v1/public/requests")).json(&intake_body(n, &cats, &towns)));
    let r = opts.read_clients;
    vec![
        Scenario { name: "public progress lookup".into(), clients: r, expect: 200, make: lookups },
        Scenario {
            name: "uncached progress lookup (each request once)".into(),
            clients: r,
            expect: 200,
            make: cold_lookups,
        },
        Scenario { name: DETAIL_NAME.into(), clients: r, expect: 200, make: Arc::clone(&detail) },
        Scenario { name: SUGGESTIONS_NAME.into(), clients: r, expect: 200, make: Arc::clone(&suggestions) },
        Scenario { name: SIMILAR_NAME.into(), clients: r, expect: 200, make: Arc::clone(&similar) },
        // The same three with nobody else asking: what each request costs its caller, not the wait
        // behind the other clients (32 of them keep both cores busy, so that wait is most of a p99).
        Scenario { name: DETAIL_ALONE_NAME.into(), clients: 1, expect: 200, make: detail },
        Scenario { name: SUGGESTIONS_ALONE_NAME.into(), clients: 1, expect: 200, make: suggestions },
        Scenario { name: SIMILAR_ALONE_NAME.into(), clients: 1, expect: 200, make: similar },
        Scenario {
            name: "category and unit suggestions of a draft (console)".into(),
            clients: r,
            expect: 200,
            make: draft,
        },
        Scenario { name: "handler queue page (sort=deadline)".into(), clients: 1, expect: 200, make: queue },
        Scenario { name: "city scoring report, whole period".into(), clients: 1, expect: 200, make: scores },
        Scenario { name: "leader dashboard, whole period".into(), clients: 1, expect: 200, make: dashboard },
        Scenario { name: "request list, town filter (dispatcher)".into(), clients: r, expect: 200, make: list },
        Scenario {
            name: "request list, town filter, br/gzip accepted".into(),
            clients: r,
            expect: 200,
            make: list_compressed,
        },
        Scenario {
            name: "search 1–3 words + town filter (dispatcher)".into(), clients: r, expect: 200, make: search
        },
        Scenario { name: "search 1–3 words (handler's scope)".into(), clients: r, expect: 200, make: search_scoped },
        Scenario { name: "intake (durable 201)".into(), clients: opts.intake_clients, expect: 201, make: intake },
    ]
}

/// Requests the uncached look-ups go through, one after the other: many more than the server's
/// look-up cache keeps (`lookup_cache_entries`, 10,000), so each is a miss, as for a request nobody
/// looked up lately.
const COLD_SAMPLES: i64 = 200_000;

/// The request detail's scenario: the baseline of the two below.
pub const DETAIL_NAME: &str = "request detail (dispatcher)";
/// The dispatch suggestions' scenario (the request detail's read, plus the model's ranking).
pub const SUGGESTIONS_NAME: &str = "dispatch suggestions of a request (dispatcher)";
/// The likely duplicates' scenario (the request detail's read, plus the likeness search).
pub const SIMILAR_NAME: &str = "likely duplicates of a request (dispatcher)";
/// The same three scenarios, each with one client alone.
pub const DETAIL_ALONE_NAME: &str = "request detail, one client alone (dispatcher)";
pub const SUGGESTIONS_ALONE_NAME: &str = "dispatch suggestions of a request, one client alone (dispatcher)";
pub const SIMILAR_ALONE_NAME: &str = "likely duplicates of a request, one client alone (dispatcher)";

/// Each scenario that reads a request as the detail does and then works on it, with the detail
/// scenario of the same load.
pub const OVER_DETAIL: [(&str, &str); 4] = [
    (SUGGESTIONS_NAME, DETAIL_NAME),
    (SIMILAR_NAME, DETAIL_NAME),
    (SUGGESTIONS_ALONE_NAME, DETAIL_ALONE_NAME),
    (SIMILAR_ALONE_NAME, DETAIL_ALONE_NAME),
];

/// What an operator has typed so far: a title and content of one of a few matters, in a town.
fn draft_body(n: u64, town: &str) -> serde_json::Value {
    const DRAFTS: [(&str, &str); 4] = [
        ("工地夜间施工噪音扰民", "小区旁边的工地每天晚上十一点以后还在施工，噪音很大，影响休息，请有关部门查处。"),
        ("公司拖欠工资三个月", "我在一家制衣厂上班，老板已经拖欠工资三个月，多次讨要无果，请求劳动监察部门帮助。"),
        ("营业执照经营范围变更", "我司需要变更营业执照的经营范围，想咨询需要准备哪些材料，能否网上办理。"),
        ("河涌有污水直排发臭", "村里河涌最近有工厂排放污水，水体发黑发臭，请环保部门尽快处理。"),
    ];
    let (title, content) = DRAFTS[n as usize % DRAFTS.len()];
    serde_json::json!({ "title": title, "content": content, "town": town })
}

/// One- to three-word queries of the kinds people type (some match many requests, some few).
const SEARCH_WORDS: [&str; 6] = ["路灯", "噪音 扰民", "营业执照 变更", "拖欠工资", "停车 收费 物业", "社保"];

fn intake_body(n: u64, categories: &[String], towns: &[String]) -> serde_json::Value {
    const KINDS: [&str; 5] = ["complaint", "consultation", "help", "report", "suggestion"];
    let category = &categories[(n as usize * 31) % categories.len()];
    let mut body = serde_json::json!({
        "kind": KINDS[n as usize % KINDS.len()],
        "channel": "mobile",
        "asker": {"type": "resident"},
        "contact": {"name": "陈嘉欣", "phone": format!("138{:08}", n % 100_000_000)},
        "title": format!("小区路灯长期不亮，夜间出行不便（{n}）"),
        "content": "我住的小区东门至菜市场一段路灯已经坏了两个多月，晚上一片漆黑，老人和孩子出行很不安全，多次向物业反映没有结果，请相关部门尽快维修。",
        "category": category,
    });
    if let (Some(map), false) = (body.as_object_mut(), towns.is_empty()) {
        map.insert("town".into(), towns[(n as usize * 13) % towns.len()].clone().into());
    }
    body
}

/// What every SQLite scenario subcommand (`ledgers`, `devices`, `enterprises`) is run with,
/// besides its own sizes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Time bound of each HTTP scenario (and of each baseline that is timed).
    pub seconds: f64,
    /// Request bound of each scenario.
    pub max_requests: u64,
    pub work_dir: std::path::PathBuf,
    pub seed: u64,
    /// The executable whose `serve` subcommand runs the server (this binary).
    pub server_exe: std::path::PathBuf,
    /// Reader connections of the server's store.
    pub readers: usize,
    /// The command line, for the report.
    pub command: String,
}
