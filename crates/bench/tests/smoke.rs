//! The whole benchmark at a tiny scale, so the tool never rots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use mashangban_bench::{Options, report};

#[test]
fn the_benchmark_runs_end_to_end_at_a_tiny_scale() {
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
    };
    let report = mashangban_bench::run(&opts).unwrap();

    assert_eq!(report.load.requests, 2_000);
    assert!(report.load.events > 2_000, "{} events", report.load.events);
    assert!(report.load.rollup_day_rows > 0);
    assert!(report.load.bytes_per_request > 0.0);
    let names = ["public progress", "request detail", "handler queue", "city scoring", "intake"];
    for name in names {
        let s = report.scenario(name).unwrap_or_else(|| panic!("no scenario {name}"));
        assert!(s.requests > 0 && s.per_second > 0.0, "{name}: {s:?}");
        assert_eq!(s.errors, 0, "{name}: {s:?}");
        assert!(s.p50_ms > 0.0 && s.p50_ms <= s.p95_ms && s.p95_ms <= s.p99_ms && s.p99_ms <= s.max_ms, "{name}: {s:?}");
    }
    assert!(report.requests_end >= 2_000 + report.scenario("intake").unwrap().requests);
    assert!(report.intake_baseline.per_second > 0.0 && report.group_by.requests > 0);
    assert!(report.rss_peak > 0 && report.intake_ratio() > 0.0 && report.scoring_speedup() > 0.0);

    let md = report.markdown();
    for name in names {
        assert!(md.contains(name), "{md}");
    }
    let docs = dir.path().join("benchmarks.md");
    report::write_docs(&docs, &report).unwrap();
    report::write_docs(&docs, &report).unwrap();
    let written = std::fs::read_to_string(&docs).unwrap();
    assert_eq!(written.matches("<!-- bench scale=2000 begin -->").count(), 1, "{written}");
}
