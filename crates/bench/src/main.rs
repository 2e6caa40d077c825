//! `mashangban-bench`: load a synthetic history and measure the server.
//!
//! `mashangban-bench --scale 100k --seconds 10 --write-docs`
//! `mashangban-bench --scale 100k --postgres postgres://postgres@127.0.0.1:5432/postgres`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use mashangban_bench::enterprises::EnterpriseOptions;
use mashangban_bench::ledgers::LedgerOptions;
use mashangban_bench::pg::PgTarget;
use mashangban_bench::{Options, RunOptions, report, server};

#[derive(Parser)]
#[command(name = "mashangban-bench", about = "Benchmarks of mashangban over HTTP on loopback")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Requests in the history: a number, or 100k / 1m / 10m.
    #[arg(long, default_value = "100k", value_parser = parse_scale)]
    scale: u64,
    /// Time bound of each scenario, in seconds.
    #[arg(long, global = true, default_value_t = 10.0)]
    seconds: f64,
    /// Request bound of each scenario.
    #[arg(long, global = true, default_value_t = 1_000_000)]
    max_requests: u64,
    /// Where databases and raw results go.
    #[arg(long, global = true, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Requests made by the demo generator through the store; the rest are time-shifted copies.
    #[arg(long, default_value_t = 5_000)]
    template: usize,
    #[arg(long, global = true, default_value_t = 12345)]
    seed: u64,
    #[arg(long, default_value_t = 64)]
    intake_clients: usize,
    #[arg(long, default_value_t = 32)]
    read_clients: usize,
    /// Reader connections of the server's store.
    #[arg(long, global = true, default_value_t = 4)]
    readers: usize,
    /// Also run on PostgreSQL: the admin URL of a server whose user may create
    /// databases; the run uses a fresh database `mb_bench_<scale>` there.
    #[arg(long, value_name = "ADMIN_URL")]
    postgres: Option<String>,
    /// Pool size of the server on PostgreSQL.
    #[arg(long, default_value_t = 16)]
    pg_connections: usize,
    /// Reuse the SQLite database an earlier run loaded at this scale.
    #[arg(long)]
    reuse: bool,
    /// Delete the databases (SQLite file, PostgreSQL database) at the end.
    #[arg(long, global = true)]
    delete_db: bool,
    /// Update this scale's section of the docs file.
    #[arg(long, global = true)]
    write_docs: bool,
    #[arg(long, global = true, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// The ledger scenario: bulk-load outlets (入河排污口), then measure lists, the rollup, an
    /// export and an xlsx import over HTTP (SQLite). `--seconds`, `--work-dir`, `--seed`,
    /// `--readers`, `--delete-db`, `--write-docs` and `--docs` apply.
    Ledgers {
        /// Outlets bulk-loaded: a number, or 100k / 1m.
        #[arg(long, default_value = "1m", value_parser = parse_scale)]
        items: u64,
        /// Rows of the imported workbook (the import takes at most 50,000).
        #[arg(long, default_value_t = 50_000)]
        import_rows: u32,
    },
    /// The enterprise desk (issue 13): a request history loaded as `--scale` loads it, then an xlsx
    /// import of new enterprises through the registry import over HTTP against raw batched INSERTs
    /// of the same rows, an enterprise's page (一企一档) with its linked requests and visits, and a
    /// town's contact cards printed in one batch, as HTML sheets and as one PDF file (SQLite, and
    /// PostgreSQL with `--postgres`). `--seconds`, `--work-dir`, `--seed`, `--readers`,
    /// `--delete-db`, `--write-docs` and `--docs` apply.
    Enterprises {
        /// Requests in the history: a number, or 100k / 1m.
        #[arg(long, default_value = "1m", value_parser = parse_scale)]
        requests: u64,
        /// Requests made by the demo generator through the store; the rest are time-shifted copies.
        #[arg(long, default_value_t = 5_000)]
        template: usize,
        /// Rows of the imported workbook (the import takes at most 100,000).
        #[arg(long, default_value_t = 100_000)]
        import_rows: u32,
        /// Requests linked to the page's enterprise.
        #[arg(long, default_value_t = 500)]
        page_requests: u32,
        /// Recorded visits of the page's enterprise.
        #[arg(long, default_value_t = 50)]
        visits: u32,
        /// Contact cards printed in one batch (one town's).
        #[arg(long, default_value_t = 500)]
        cards: u32,
        /// Also run on PostgreSQL: the admin URL of a server whose user may create databases; the
        /// run copies its SQLite database after the setup into a fresh database
        /// `mb_bench_enterprises_<requests>` there (dropped by `--delete-db`).
        #[arg(long, value_name = "ADMIN_URL")]
        postgres: Option<String>,
        /// Pool size of the server on PostgreSQL.
        #[arg(long, default_value_t = 16)]
        pg_connections: usize,
    },
    /// The cost of SM4 and SM3 per intake: durable intakes through the store with the asker's
    /// contact encrypted (SM4-GCM, HMAC-SM3 phone hash) and the event sealed (SM3 chain), against
    /// either or both off, same run, fresh databases (`--work-dir`); prints a markdown table.
    PersonalData {
        /// Intakes per run.
        #[arg(long, default_value_t = 20_000)]
        intakes: u64,
        /// Concurrent intakes.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Runs per mode (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Also on PostgreSQL (fresh databases through MASHANGBAN_TEST_POSTGRES or 127.0.0.1:5432).
        #[arg(long)]
        pg: bool,
    },
    /// The online-monitoring scenario: monitoring points with their devices and a history of minute
    /// readings (a year of one point's), then the HJ 212 receiver under as many concurrent device
    /// connections, each sending its next minute packet once the last is answered, against raw
    /// batched INSERTs of readings, then paced at half that rate for the latency of a receiver that
    /// is not saturated; alert latency to a watching page; a year's hourly aggregates
    /// (SQLite). `--seconds`, `--work-dir`, `--seed`, `--readers`, `--delete-db`, `--write-docs`
    /// and `--docs` apply.
    Devices {
        /// Devices connected at once (each its own point).
        #[arg(long, default_value_t = 2_000)]
        devices: usize,
        /// Readings stored before the measurements: a number, or 10m / 100m.
        #[arg(long, default_value = "10m", value_parser = parse_scale)]
        readings: u64,
    },
    /// Fuzzing over HTTP: every operation of the server's OpenAPI document called with generated
    /// requests (valid-looking bodies from the schemas, then mutations) anonymously and as demo
    /// roles, on a fresh demo database (`--work-dir`); fails on any 5xx, a non-JSON answer on
    /// `/api/`, no answer or the server dying. Deterministic from `--seed`.
    Fuzz {
        /// Requests to send.
        #[arg(long, default_value_t = 100_000)]
        requests: u64,
        /// On PostgreSQL (a fresh database through MASHANGBAN_TEST_POSTGRES or 127.0.0.1:5432), not SQLite.
        #[arg(long)]
        pg: bool,
        /// Concurrent requests.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Demo requests generated before the run.
        #[arg(long, default_value_t = 300)]
        demo_requests: usize,
    },
    /// Run the server under test (used by the benchmark itself).
    Serve {
        /// `sqlite://PATH` or `postgres://…`.
        #[arg(long)]
        database_url: String,
        /// SQLite reader connections, or the PostgreSQL pool size.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Keep a full-text index in this directory (rebuilt at start).
        #[arg(long)]
        search_dir: Option<PathBuf>,
        /// Also run the HJ 212 receiver of monitoring devices (its address printed as `HJ212 <addr>`).
        #[arg(long)]
        hj212: bool,
    },
}

fn parse_scale(s: &str) -> Result<u64, String> {
    let s = s.trim().to_ascii_lowercase().replace(['_', ','], "");
    let (num, mul) = match s.strip_suffix('k') {
        Some(n) => (n, 1_000),
        None => match s.strip_suffix('m') {
            Some(n) => (n, 1_000_000),
            None => (s.as_str(), 1),
        },
    };
    num.parse::<u64>().map(|n| n * mul).ok().filter(|&n| n > 0).ok_or_else(|| format!("bad scale {s:?}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Serve { database_url, connections, search_dir, hj212 }) => {
            server::serve_child(database_url, *connections, search_dir.as_deref(), *hj212)
        }
        Some(Command::Devices { devices, readings }) => devices_run(&cli, *devices, *readings),
        Some(Command::Ledgers { items, import_rows }) => ledgers(&cli, *items, *import_rows),
        Some(Command::Enterprises {
            requests,
            template,
            import_rows,
            page_requests,
            visits,
            cards,
            postgres,
            pg_connections,
        }) => run_options(&cli).and_then(|run| {
            enterprises(
                &cli,
                &EnterpriseOptions {
                    requests: *requests,
                    template: *template,
                    import_rows: *import_rows,
                    page_requests: *page_requests,
                    visits: *visits,
                    cards: *cards,
                    run,
                    postgres: postgres
                        .as_deref()
                        .map(|url| EnterpriseOptions::pg_target(url, *requests, *pg_connections)),
                },
            )
        }),
        Some(Command::PersonalData { intakes, clients, rounds, pg }) => {
            let opts = mashangban_bench::personal_data::PersonalDataOptions {
                work_dir: cli.work_dir.clone(),
                intakes: *intakes,
                clients: *clients,
                rounds: *rounds,
                postgres: *pg,
            };
            std::fs::create_dir_all(&opts.work_dir)
                .map_err(|e| format!("{}: {e}", opts.work_dir.display()))
                .and_then(|()| mashangban_bench::personal_data::run(&opts))
                .map(|table| println!("{table}"))
        }
        Some(Command::Fuzz { requests, pg, clients, demo_requests }) => {
            fuzz(&cli, *requests, *pg, *clients, *demo_requests)
        }
        None => bench(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(cli: &Cli) -> Result<(), String> {
    let server_exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = Options {
        scale: cli.scale,
        seconds: cli.seconds,
        max_requests: cli.max_requests,
        work_dir: cli.work_dir.clone(),
        template: cli.template,
        seed: cli.seed,
        server_exe,
        intake_clients: cli.intake_clients,
        read_clients: cli.read_clients,
        readers: cli.readers,
        reuse: cli.reuse,
        command: format!("target/release/mashangban-bench {}", args.join(" ")),
        postgres: cli.postgres.as_deref().map(|url| PgTarget::for_scale(url, cli.scale, cli.pg_connections)),
    };
    eprintln!("mashangban-bench: scale {} in {}", report::thousands(opts.scale), opts.work_dir.display());
    let result = mashangban_bench::run(&opts);
    if cli.delete_db {
        delete_databases(&opts);
    }
    let report = result?;
    write_report(cli, &report, &opts.scale.to_string(), &report.docs_marker(), &report.markdown())
}

fn ledgers(cli: &Cli, items: u64, import_rows: u32) -> Result<(), String> {
    let opts = LedgerOptions { items, import_rows, run: run_options(cli)? };
    eprintln!("mashangban-bench: ledgers, {} outlets in {}", report::thousands(items), opts.run.work_dir.display());
    let result = mashangban_bench::ledgers::run(&opts);
    let report = finish_sqlite_run(cli, &opts.db_path(), result)?;
    write_report(cli, &report, &format!("ledgers-{items}"), &format!("ledgers={items}"), &report.markdown())
}

/// The options every SQLite scenario subcommand shares, from the command line.
fn run_options(cli: &Cli) -> Result<RunOptions, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    Ok(RunOptions {
        seconds: cli.seconds,
        max_requests: cli.max_requests,
        work_dir: cli.work_dir.clone(),
        seed: cli.seed,
        server_exe: std::env::current_exe().map_err(|e| format!("own executable: {e}"))?,
        readers: cli.readers,
        command: format!("target/release/mashangban-bench {}", args.join(" ")),
    })
}

fn enterprises(cli: &Cli, opts: &EnterpriseOptions) -> Result<(), String> {
    eprintln!(
        "mashangban-bench: enterprises, {} requests, {} enterprises imported, in {}",
        report::thousands(opts.requests),
        report::thousands(u64::from(opts.import_rows)),
        opts.run.work_dir.display()
    );
    let result = mashangban_bench::enterprises::run(opts);
    if cli.delete_db
        && let Some(Err(e)) = opts.postgres.as_ref().map(PgTarget::drop_database)
    {
        eprintln!("could not drop the PostgreSQL database: {e}");
    }
    let report = finish_sqlite_run(cli, &opts.db_path(), result)?;
    let marker = format!("enterprises={}", opts.requests);
    write_report(cli, &report, &format!("enterprises-{}", opts.requests), &marker, &report.markdown())
}

/// Deletes the run's SQLite file when `--delete-db` asks, whether the run succeeded or not.
fn finish_sqlite_run<R>(cli: &Cli, db: &std::path::Path, result: Result<R, String>) -> Result<R, String> {
    if cli.delete_db {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    result
}

/// Writes the report as `report-{name}.json` in the work directory, prints its `markdown` and, with
/// `--write-docs`, puts it in the docs' section `marker`.
fn write_report<R: serde::Serialize>(
    cli: &Cli,
    report: &R,
    name: &str,
    marker: &str,
    markdown: &str,
) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(cli.work_dir.join(format!("report-{name}.json")), json).map_err(|e| e.to_string())?;
    println!("{markdown}");
    if cli.write_docs {
        report::write_section(&cli.docs, marker, markdown)?;
        eprintln!("updated {}", cli.docs.display());
    }
    Ok(())
}

fn devices_run(cli: &Cli, devices: usize, readings: u64) -> Result<(), String> {
    let opts = mashangban_bench::devices::DeviceOptions { devices, readings, run: run_options(cli)? };
    eprintln!(
        "mashangban-bench: devices, {} devices, {} readings stored, in {}",
        report::thousands(devices as u64),
        report::thousands(readings),
        opts.run.work_dir.display()
    );
    std::fs::create_dir_all(&opts.run.work_dir).map_err(|e| format!("{}: {e}", opts.run.work_dir.display()))?;
    let result = mashangban_bench::devices::run(&opts);
    let report = finish_sqlite_run(cli, &opts.db_path(), result)?;
    write_report(cli, &report, &format!("devices-{devices}"), &format!("devices={devices}"), &report.markdown())
}

fn fuzz(cli: &Cli, requests: u64, pg: bool, clients: usize, demo_requests: usize) -> Result<(), String> {
    let opts = mashangban_bench::fuzz::FuzzOptions {
        requests,
        postgres: pg,
        seed: cli.seed,
        work_dir: cli.work_dir.clone(),
        server_exe: std::env::current_exe().map_err(|e| format!("own executable: {e}"))?,
        clients,
        demo_requests,
    };
    std::fs::create_dir_all(&cli.work_dir).map_err(|e| format!("{}: {e}", cli.work_dir.display()))?;
    let report = mashangban_bench::fuzz::run(&opts)?;
    println!("{}", report.markdown());
    let name = format!("fuzz-{}", report.backend.to_lowercase());
    std::fs::write(
        cli.work_dir.join(format!("report-{name}.json")),
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    match report.failure_count {
        0 => Ok(()),
        n => Err(format!("{n} failures (the first {} above)", report.failures.len())),
    }
}

/// Removes the SQLite file and drops the PostgreSQL database of the run.
fn delete_databases(opts: &Options) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", opts.db_path().display()));
    }
    if let Some(Err(e)) = opts.postgres.as_ref().map(PgTarget::drop_database) {
        eprintln!("could not drop the PostgreSQL database: {e}");
    }
}
