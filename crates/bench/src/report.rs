//! The report: figures, targets met or missed, markdown, and the section of
//! `docs/benchmarks.md` for the scale.

use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::load::LoadStats;
use crate::pg::PgLoad;
use crate::scenarios::Measured;
use crate::{BenchResult, Ctx};

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_bytes: u64,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
            .map_or_else(|| "unknown CPU".to_owned(), |s| s.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kb: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self { cpu, cores, memory_bytes: kb * 1024 }
    }
}

/// `git rev-parse --short HEAD`, marked when the working tree has changes.
pub fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) if git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()) => {
            format!("{head} (with uncommitted changes)")
        }
        Some(head) => head,
        None => "unknown".into(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scale: u64,
    pub machine: Machine,
    pub date: String,
    pub commit: String,
    pub command: String,
    pub seconds: f64,
    pub max_requests: u64,
    pub load: LoadStats,
    /// The database came from an earlier run's load.
    pub reused: bool,
    pub sqlite: Run,
    /// The same scenarios on a PostgreSQL copy of the SQLite database.
    pub postgres: Option<PgRun>,
}

/// One backend's scenarios, same-run baselines, server memory and size.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// `SQLite` or `PostgreSQL`.
    pub backend: String,
    pub requests_at_start: u64,
    pub scenarios: Vec<Measured>,
    /// The disk's flush rate, same run.
    pub fsync: Measured,
    /// The cheapest HTTP round trip against the same server, same run.
    pub http_noop: Measured,
    pub intake_baseline: Measured,
    pub group_by: Measured,
    /// The dashboard's aggregate as plain GROUP BYs over the requests table.
    pub dashboard_group_by: Measured,
    pub rss_after_start: u64,
    pub rss_end: u64,
    pub rss_peak: u64,
    pub db_bytes_end: u64,
    pub requests_end: u64,
    /// The full-text index the server built from the requests at start.
    pub search_index: Option<IndexFigures>,
    /// The dispatch model trained before the scenarios.
    pub dispatch_training: TrainingFigures,
}

/// The dispatch model's training (`POST /api/v1/dispatch/model`): requests learned from, the
/// corrections among them, seconds end to end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrainingFigures {
    pub examples: u64,
    pub corrections: u64,
    pub seconds: f64,
}

/// A full-text index build: requests indexed, seconds, bytes on disk.
#[derive(Debug, Clone, Serialize)]
pub struct IndexFigures {
    pub requests: u64,
    pub seconds: f64,
    pub bytes: u64,
}

/// The PostgreSQL part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct PgRun {
    pub database: String,
    /// Server version and the settings that matter, as the server reports them.
    pub server: String,
    /// The app server's pool size.
    pub connections: usize,
    pub load: PgLoad,
    pub run: Run,
}

/// One target of the issue, checked against this run.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub what: String,
    pub target: &'static str,
    pub measured: String,
    pub met: bool,
}

/// Progress look-ups wanted per HTTP no-op round trip of the same run: the
/// look-up target (20,000/s) as a share of what the machine answers with no
/// work behind the route, so a slow day reads the same.
pub const LOOKUP_NOOP_RATIO_TARGET: (&str, f64) = ("≥ 50%", 0.5);

pub(crate) fn target(what: &str, target: &'static str, measured: String, met: bool) -> Target {
    Target { what: what.to_owned(), target, measured, met }
}

impl Run {
    pub fn scenario(&self, prefix: &str) -> Option<&Measured> {
        self.scenarios.iter().find(|s| s.name.starts_with(prefix))
    }

    fn named(&self, name: &str) -> Option<&Measured> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// For a scenario that reads a request as the detail does and then works on it (the dispatch
    /// suggestions, the likely duplicates): the detail under the same load, and what the scenario's
    /// p99 adds to the detail's, none below zero.
    pub fn over_detail_p99(&self, name: &str) -> Option<(&Measured, f64)> {
        let (_, detail) = crate::OVER_DETAIL.iter().find(|(s, _)| *s == name)?;
        let (s, detail) = (self.named(name)?, self.named(detail)?);
        Some((detail, (s.p99_ms - detail.p99_ms).max(0.0)))
    }

    /// Intake throughput over the same-run single-row throughput of the same database.
    pub fn intake_ratio(&self) -> f64 {
        self.scenario("intake").map_or(0.0, |s| s.per_second / self.intake_baseline.per_second.max(1e-9))
    }

    /// Progress look-ups per second over the same run's HTTP no-ops per second.
    pub fn lookup_noop_ratio(&self) -> f64 {
        self.scenario("public progress").map_or(0.0, |s| s.per_second / self.http_noop.per_second.max(1e-9))
    }

    /// Server CPU per progress look-up over server CPU per HTTP no-op (the app's own work, in no-op round trips).
    pub fn lookup_noop_cpu(&self) -> f64 {
        self.scenario("public progress")
            .map_or(0.0, |s| (s.server_cpu_ms + s.database_cpu_ms) / self.http_noop.server_cpu_ms.max(1e-9))
    }

    /// GROUP BY median over scoring-report median.
    pub fn scoring_speedup(&self) -> f64 {
        self.scenario("city scoring").map_or(0.0, |s| self.group_by.p50_ms / s.p50_ms.max(1e-9))
    }

    /// Dashboard GROUP BYs median over dashboard median.
    pub fn dashboard_speedup(&self) -> f64 {
        self.scenario("leader dashboard").map_or(0.0, |s| self.dashboard_group_by.p50_ms / s.p50_ms.max(1e-9))
    }

    /// The targets; `bytes_per_request` is the database's size per request beyond its text.
    pub fn targets(&self, bytes_per_request: f64) -> Vec<Target> {
        let mut out = Vec::new();
        if let Some(s) = self.scenario("intake") {
            out.push(target(
                "intake throughput",
                "≥ 5,000 /s",
                format!("{:.0} /s", s.per_second),
                s.per_second >= 5000.0,
            ));
            out.push(target("intake p99", "< 50 ms", ms(s.p99_ms), s.p99_ms < 50.0));
            let r = self.intake_ratio();
            let what = format!("intake / single-row {}", self.backend);
            out.push(target(&what, "≥ 50%", format!("{:.0}%", r * 100.0), r >= 0.5));
        }
        if let Some(s) = self.scenario("public progress") {
            out.push(target(
                "progress lookups",
                "≥ 20,000 /s",
                format!("{:.0} /s", s.per_second),
                s.per_second >= 20_000.0,
            ));
            out.push(target("progress lookup p99", "< 10 ms", ms(s.p99_ms), s.p99_ms < 10.0));
            let r = self.lookup_noop_ratio();
            let (wanted, at_least) = LOOKUP_NOOP_RATIO_TARGET;
            out.push(target("progress lookups / HTTP no-op", wanted, format!("{:.0}%", r * 100.0), r >= at_least));
        }
        if let Some(s) = self.scenario("city scoring") {
            out.push(target("scoring report p99", "< 20 ms", ms(s.p99_ms), s.p99_ms < 20.0));
            let x = self.scoring_speedup();
            out.push(target("scoring vs GROUP BY (p50)", "≥ 80×", format!("{x:.0}×"), x >= 80.0));
        }
        if let Some(s) = self.scenario("leader dashboard") {
            out.push(target("dashboard p99", "< 20 ms", ms(s.p99_ms), s.p99_ms < 20.0));
            let x = self.dashboard_speedup();
            out.push(target("dashboard vs GROUP BY (p50)", "≥ 80×", format!("{x:.0}×"), x >= 80.0));
        }
        // Per request, as the issue puts it: with one client alone, so that the figure is what the
        // suggestion or the check costs its caller, not the queue behind 31 other clients.
        for (name, what) in [
            (crate::SUGGESTIONS_ALONE_NAME, "dispatch suggestion p99 beyond the request detail's, one client"),
            (crate::SIMILAR_ALONE_NAME, "duplicate check p99 beyond the request detail's, one client"),
        ] {
            if let Some((_, extra)) = self.over_detail_p99(name) {
                out.push(target(what, "< 5 ms", ms(extra), extra < 5.0));
            }
        }
        out.push(target("server peak RSS", "< 1 GB", mib(self.rss_peak), self.rss_peak < 1 << 30));
        let b = bytes_per_request;
        out.push(target("database bytes per request beyond its text", "< 3 KB", format!("{b:.0} B"), b < 3072.0));
        out
    }

    /// The same-run baselines that characterise the machine today, before
    /// the scenarios: every ratio below is to one of them.
    fn write_baselines(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "| same-run baseline | clients | requests | errors | throughput /s | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/req | client CPU ms/req |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for b in [&self.fsync, &self.intake_baseline, &self.http_noop] {
            let _ = writeln!(md, "{} |", row(b));
        }
        md.push('\n');
    }

    fn write_scenarios(&self, md: &mut String) {
        self.write_baselines(md);
        write_scenario_header(md);
        for s in &self.scenarios {
            let (base, ratio) = if s.name.starts_with("intake") {
                (
                    format!("{:.0} /s single-row {}", self.intake_baseline.per_second, self.backend),
                    format!("{:.0}%", self.intake_ratio() * 100.0),
                )
            } else if s.name.starts_with("public progress") {
                (
                    format!("no-op {:.0} /s, {:.3} ms CPU", self.http_noop.per_second, self.http_noop.server_cpu_ms),
                    format!("{:.0}%, CPU {:.1}×", self.lookup_noop_ratio() * 100.0, self.lookup_noop_cpu()),
                )
            } else if s.name.starts_with("city scoring") {
                (format!("GROUP BY p50 {}", ms(self.group_by.p50_ms)), format!("{:.0}× faster", self.scoring_speedup()))
            } else if s.name.starts_with("leader dashboard") {
                (
                    format!("GROUP BYs p50 {}", ms(self.dashboard_group_by.p50_ms)),
                    format!("{:.0}× faster", self.dashboard_speedup()),
                )
            } else if let Some((detail, extra)) = self.over_detail_p99(&s.name) {
                (format!("detail p99 {}", ms(detail.p99_ms)), format!("p99 +{} over the detail's", ms(extra)))
            } else if let (true, Some(list)) =
                (s.name.starts_with("search"), self.scenario("request list, town filter"))
            {
                (
                    format!("list p95 {}", ms(list.p95_ms)),
                    format!("p95 {:.1}× the list's", s.p95_ms / list.p95_ms.max(1e-9)),
                )
            } else {
                ("—".into(), "—".into())
            };
            let _ = writeln!(md, "{} | {base} | {ratio} |", row(s));
        }
        for b in [&self.group_by, &self.dashboard_group_by] {
            let _ = writeln!(md, "{} | baseline | — |", row(b));
        }
        md.push('\n');
        let t = &self.dispatch_training;
        let _ = writeln!(
            md,
            "Dispatch model trained before the scenarios (`POST /api/v1/dispatch/model`, end to end): {} requests learned ({} corrections) in {:.1} s.\n",
            thousands(t.examples),
            thousands(t.corrections),
            t.seconds
        );
        if let Some(i) = &self.search_index {
            let _ = writeln!(
                md,
                "Full-text index built at start: {} requests in {:.1} s ({:.0} requests/s), {} on disk ({:.0} B per request).\n",
                thousands(i.requests),
                i.seconds,
                i.requests as f64 / i.seconds.max(1e-9),
                mib(i.bytes),
                i.bytes as f64 / (i.requests.max(1) as f64)
            );
        }
    }

    fn write_targets(&self, md: &mut String, bytes_per_request: f64) {
        write_target_table(md, &self.targets(bytes_per_request));
    }
}

/// The targets as a Markdown table, met or missed, then a blank line.
pub(crate) fn write_target_table(md: &mut String, targets: &[Target]) {
    let _ = writeln!(md, "| target | wanted | measured | |\n|---|---|---:|---|");
    for t in targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.what,
            t.target,
            t.measured,
            if t.met { "met" } else { "**missed**" }
        );
    }
    md.push('\n');
}

impl Report {
    /// The SQLite targets.
    pub fn targets(&self) -> Vec<Target> {
        self.sqlite.targets(self.load.bytes_per_request)
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "## {} requests\n", thousands(self.scale));
        self.write_context(&mut md);
        self.sqlite.write_scenarios(&mut md);
        self.write_load(&mut md);
        self.sqlite.write_targets(&mut md, self.load.bytes_per_request);
        match &self.postgres {
            Some(pg) => pg.write(&mut md),
            None => md.push_str("PostgreSQL: not measured in this run (no `--postgres`).\n\n"),
        }
        md
    }

    fn write_context(&self, md: &mut String) {
        let m = &self.machine;
        let _ = writeln!(md, "- machine: {} cores ({}), {} memory", m.cores, m.cpu, gib(m.memory_bytes));
        let _ = writeln!(md, "- date: {}; commit: {}", self.date, self.commit);
        let _ = writeln!(md, "- command: `cargo build --release -p mashangban-bench && {}`", self.command);
        let _ = writeln!(
            md,
            "- each scenario: at most {} s and {} requests, after a short warm-up; {} requests stored when the scenarios started{}\n",
            self.seconds,
            thousands(self.max_requests),
            thousands(self.sqlite.requests_at_start),
            if self.reused { " (database loaded by an earlier run)" } else { "" }
        );
    }

    fn write_load(&self, md: &mut String) {
        let (l, r) = (&self.load, &self.sqlite);
        let _ = writeln!(md, "| load and size | value |\n|---|---:|");
        let _ = writeln!(md, "| requests / events loaded | {} / {} |", thousands(l.requests), thousands(l.events));
        let _ = writeln!(
            md,
            "| template (demo generator through the store) | {} requests in {:.1} s |",
            thousands(l.template_requests),
            l.template_seconds
        );
        let _ = writeln!(md, "| bulk copy + index build | {:.1} s + {:.1} s |", l.copy_seconds, l.index_seconds);
        let _ = writeln!(
            md,
            "| bulk load rate | {:.0} requests/s, {:.0} events/s |",
            l.requests_per_second, l.events_per_second
        );
        let _ = writeln!(
            md,
            "| rollups rebuilt and read back: scoring from events (`rebuild_scoring`), dashboard from requests | {:.1} s (scoring: {} day rows, {} month rows) |",
            l.rebuild_seconds, l.rollup_day_rows, l.rollup_month_rows
        );
        let _ = writeln!(
            md,
            "| of which the dashboard rollups (`rebuild_dashboard`) | {:.1} s ({} day rows, {} month rows) |",
            l.dashboard_rebuild_seconds, l.dashboard_day_rows, l.dashboard_month_rows
        );
        let _ = writeln!(md, "| whole load | {:.1} s |", l.total_seconds);
        let _ = writeln!(md, "| database after load (file + WAL, checkpointed) | {} |", mib(l.db_bytes));
        let _ = writeln!(md, "| title + content text | {} |", mib(l.text_bytes));
        let _ = writeln!(md, "| database bytes per request beyond its text | {:.0} B |", l.bytes_per_request);
        let _ = writeln!(
            md,
            "| database after the scenarios | {} for {} requests |",
            mib(r.db_bytes_end),
            thousands(r.requests_end)
        );
        let _ = writeln!(
            md,
            "| server RSS: started / at the end / peak (VmHWM) | {} / {} / {} |\n",
            mib(r.rss_after_start),
            mib(r.rss_end),
            mib(r.rss_peak)
        );
    }
}

impl PgRun {
    fn write(&self, md: &mut String) {
        let (l, r) = (&self.load, &self.run);
        let _ = writeln!(md, "### PostgreSQL\n");
        let _ = writeln!(
            md,
            "- server on the same machine: {}; database `{}`, created by this run",
            self.server, self.database
        );
        let _ = writeln!(
            md,
            "- data: the SQLite database above after its scenarios, copied by `copy_data` (as `mashangban migrate-data`), then `ANALYZE`; {} requests stored when the scenarios started; the app server's pool: {} connections
- server CPU ms/req: the app server + the PostgreSQL processes working for this database (its backends, WAL writer, checkpointer, background writer)\n",
            thousands(r.requests_at_start),
            self.connections
        );
        r.write_scenarios(md);
        let _ = writeln!(md, "| load and size | value |\n|---|---:|");
        let _ = writeln!(
            md,
            "| rows copied (every table) / requests | {} / {} |",
            thousands(l.rows),
            thousands(l.requests)
        );
        let _ = writeln!(
            md,
            "| copy (`copy_data`: binary COPY in 2,000-row batches, sequences set, checksums of both sides) | {:.1} s |",
            l.copy_seconds
        );
        let _ =
            writeln!(md, "| copy rate | {:.0} rows/s, {:.0} requests/s |", l.rows_per_second, l.requests_per_second);
        let _ = writeln!(md, "| `ANALYZE` after the copy | {:.1} s |", l.analyze_seconds);
        let _ = writeln!(md, "| database after the copy (`pg_database_size`) | {} |", mib(l.db_bytes));
        let _ = writeln!(
            md,
            "| database bytes per request / beyond its text | {:.0} B / {:.0} B |",
            l.db_bytes as f64 / l.requests.max(1) as f64,
            l.bytes_per_request
        );
        let end_per_request = r.db_bytes_end as f64 / r.requests_end.max(1) as f64;
        let _ = writeln!(
            md,
            "| database after the scenarios | {} for {} requests ({end_per_request:.0} B per request) |",
            mib(r.db_bytes_end),
            thousands(r.requests_end)
        );
        let _ = writeln!(
            md,
            "| server RSS: started / at the end / peak (VmHWM) | {} / {} / {} |\n",
            mib(r.rss_after_start),
            mib(r.rss_end),
            mib(r.rss_peak)
        );
        r.write_targets(md, l.bytes_per_request);
    }
}

/// The lines a scenario's section opens with under its title: the machine, the date and commit, the
/// command.
pub(crate) fn write_run_head(md: &mut String, m: &Machine, date: &str, commit: &str, command: &str) {
    let _ = writeln!(
        md,
        "- machine: {} cores ({}), {:.1} GiB memory",
        m.cores,
        m.cpu,
        m.memory_bytes as f64 / f64::from(1 << 30)
    );
    let _ = writeln!(md, "- date: {date}; commit: {commit}");
    let _ = writeln!(md, "- command: `cargo build --release -p mashangban-bench && {command}`");
}

/// The head of a scenario table, whose rows are [`row`] plus a baseline and a ratio cell.
pub(crate) fn write_scenario_header(md: &mut String) {
    let _ = writeln!(
        md,
        "| scenario | clients | requests | errors | throughput /s | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/req | client CPU ms/req | baseline | ratio |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
}

pub(crate) fn row(s: &Measured) -> String {
    let server_cpu = if s.database_cpu_ms > 0.0 {
        format!("{:.2} + {:.2}", s.server_cpu_ms, s.database_cpu_ms)
    } else {
        format!("{:.2}", s.server_cpu_ms)
    };
    format!(
        "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {server_cpu} | {:.2}",
        s.name,
        s.clients,
        thousands(s.requests),
        s.errors,
        s.per_second,
        ms(s.p50_ms),
        ms(s.p95_ms),
        ms(s.p99_ms),
        ms(s.max_ms),
        s.client_cpu_ms
    )
}

pub(crate) fn ms(v: f64) -> String {
    if v < 10.0 { format!("{v:.2}") } else { format!("{v:.0}") }
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const DOC_HEAD: &str = "# Benchmarks\n\nWritten by `mashangban-bench --write-docs`; see the end of the file for what the figures mean.\n\n<!-- bench sections end -->\n";

/// Puts the report's section into the docs file, replacing the section of the same scale.
pub fn write_docs(path: &Path, report: &Report) -> BenchResult<()> {
    write_section(path, &report.docs_marker(), &report.markdown())
}

impl Report {
    /// The marker of its section in the docs file.
    pub fn docs_marker(&self) -> String {
        format!("scale={}", self.scale)
    }
}

/// Puts `markdown` into the docs file between the markers `<!-- bench {marker} begin/end -->`,
/// replacing what they held, or before the end of the sections when they are new.
pub fn write_section(path: &Path, marker: &str, markdown: &str) -> BenchResult<()> {
    let mut doc = std::fs::read_to_string(path).unwrap_or_else(|_| DOC_HEAD.to_owned());
    let begin = format!("<!-- bench {marker} begin -->");
    let end = format!("<!-- bench {marker} end -->");
    let section = format!("{begin}\n{markdown}{end}\n");
    match (doc.find(&begin), doc.find(&end)) {
        (Some(b), Some(e)) if e > b => doc.replace_range(b..e + end.len() + 1, &section),
        _ => match doc.find("<!-- bench sections end -->") {
            Some(at) => doc.insert_str(at, &format!("{section}\n")),
            None => doc.push_str(&format!("\n{section}")),
        },
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx("docs directory")?;
    }
    std::fs::write(path, doc).ctx("write the docs")
}

/// The middle of `values` (the upper of the two middles of an even count); 0 when there are none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
