//! Health and metrics (运行状态): what the probes (`/healthz`, `/readyz`)
//! and `/metrics` are told. Readiness asks the database for its schema (a
//! round trip), checks the free space under the data directory and reads no
//! request data; the snapshot adds the store's queues and machinery, the
//! scheduler's runs and the alerts an operator should act on.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use mashangban_store::{Machinery, QueueFigures, SchemaState, Store};

use crate::App;

/// One check of readiness.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// `database`, `schema` or `disk`.
    pub name: &'static str,
    pub ok: bool,
    /// What was found, in Chinese.
    pub detail: String,
}

/// Whether this node should receive traffic, with each check.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

/// A background job's runs on this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobRuns {
    pub ok: u64,
    pub failed: u64,
}

/// Counts of the scheduler's runs on this node, by job.
#[derive(Debug, Default)]
pub struct JobCounters(Mutex<BTreeMap<&'static str, JobRuns>>);

impl JobCounters {
    /// Counts one run of `job`.
    pub fn record(&self, job: &'static str, ok: bool) {
        if let Ok(mut runs) = self.0.lock() {
            let entry = runs.entry(job).or_default();
            if ok {
                entry.ok += 1;
            } else {
                entry.failed += 1;
            }
        }
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, JobRuns> {
        self.0.lock().map(|runs| runs.clone()).unwrap_or_default()
    }
}

/// Free space under the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disk {
    pub available_bytes: u64,
    pub min_free_bytes: u64,
}

/// Everything `/metrics` reports besides the HTTP figures, read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was read (the application's clock).
    pub now: mashangban_domain::time::Instant,
    /// None when the database did not answer.
    pub schema: Option<SchemaState>,
    pub queues: Option<QueueFigures>,
    pub machinery: Machinery,
    pub jobs: BTreeMap<&'static str, JobRuns>,
    pub disk: Option<Disk>,
    /// Each alert this program knows, and whether it is firing.
    pub alerts: Vec<(&'static str, bool)>,
}

impl<S: Store> App<S> {
    /// The database answers with a current schema and the data directory has room.
    pub async fn readiness(&self) -> Readiness {
        let mut checks = Vec::with_capacity(3);
        match self.store().schema().await {
            Ok(schema) => {
                checks.push(Check { name: "database", ok: true, detail: "数据库可连接".into() });
                checks.push(schema_check(schema));
            }
            Err(error) => {
                tracing::warn!(%error, "readiness: the database did not answer");
                checks.push(Check { name: "database", ok: false, detail: "数据库无法连接".into() });
            }
        }
        if let Some(disk) = self.disk() {
            checks.push(disk_check(disk));
        }
        Readiness { ready: checks.iter().all(|c| c.ok), checks }
    }

    /// The figures of `/metrics`; a database that does not answer leaves its parts empty.
    pub async fn snapshot(&self) -> Snapshot {
        let schema = self.store().schema().await.ok();
        let queues = match self.store().queue_figures().await {
            Ok(queues) => Some(queues),
            Err(error) => {
                tracing::warn!(%error, "metrics: the queue figures could not be read");
                None
            }
        };
        let disk = self.disk();
        let calendar_missing =
            crate::deadlines::missing_notice_warning(&self.caches().calendar(), crate::deadlines::today(self))
                .is_some();
        let alerts = vec![
            ("database_unreachable", schema.is_none()),
            ("schema_not_current", schema.is_some_and(|s| !s.is_current())),
            ("disk_space_low", disk.is_some_and(|d| d.available_bytes < d.min_free_bytes)),
            ("calendar_next_year_missing", calendar_missing),
            ("outbox_failed", queues.as_ref().is_some_and(|q| q.outbox.iter().any(|(s, n)| s == "failed" && *n > 0))),
        ];
        Snapshot {
            now: self.now(),
            schema,
            queues,
            machinery: self.store().machinery(),
            jobs: self.jobs().snapshot(),
            disk,
            alerts,
        }
    }

    /// Free space under the data directory, when the node has one and it can be read.
    fn disk(&self) -> Option<Disk> {
        let dir = self.settings().data_dir.as_ref()?;
        match fs4::available_space(dir) {
            Ok(available_bytes) => Some(Disk { available_bytes, min_free_bytes: self.settings().min_free_disk_bytes }),
            Err(error) => {
                tracing::warn!(%error, dir = %dir.display(), "free disk space could not be read");
                Some(Disk { available_bytes: 0, min_free_bytes: self.settings().min_free_disk_bytes })
            }
        }
    }
}

fn schema_check(schema: SchemaState) -> Check {
    let detail = match schema.applied.cmp(&schema.known) {
        std::cmp::Ordering::Equal => format!("数据库结构为最新版本（{}）", schema.known),
        std::cmp::Ordering::Less => {
            format!("数据库结构版本 {} 低于程序版本 {}，迁移未完成", schema.applied, schema.known)
        }
        std::cmp::Ordering::Greater => {
            format!("数据库结构版本 {} 高于程序版本 {}，请升级本程序", schema.applied, schema.known)
        }
    };
    Check { name: "schema", ok: schema.is_current(), detail }
}

fn disk_check(disk: Disk) -> Check {
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let ok = disk.available_bytes >= disk.min_free_bytes;
    let detail = format!(
        "数据目录可用空间 {} MiB（下限 {} MiB）{}",
        mib(disk.available_bytes),
        mib(disk.min_free_bytes),
        if ok { "" } else { "，空间不足" }
    );
    Check { name: "disk", ok, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_behind_or_ahead_is_not_ready_and_says_which() {
        assert!(schema_check(SchemaState { applied: 13, known: 13 }).ok);
        let behind = schema_check(SchemaState { applied: 12, known: 13 });
        assert!(!behind.ok && behind.detail.contains("迁移未完成"));
        let ahead = schema_check(SchemaState { applied: 14, known: 13 });
        assert!(!ahead.ok && ahead.detail.contains("请升级"));
    }

    #[test]
    fn disk_below_the_floor_is_not_ready() {
        let gib = 1024 * 1024 * 1024;
        assert!(disk_check(Disk { available_bytes: 2 * gib, min_free_bytes: gib }).ok);
        let low = disk_check(Disk { available_bytes: gib / 2, min_free_bytes: gib });
        assert!(!low.ok && low.detail.contains("空间不足") && low.detail.contains("512 MiB"));
    }

    #[test]
    fn job_counters_count_runs_and_failures() {
        let counters = JobCounters::default();
        counters.record("deadline_scan", true);
        counters.record("deadline_scan", true);
        counters.record("deadline_scan", false);
        assert_eq!(counters.snapshot().get("deadline_scan"), Some(&JobRuns { ok: 2, failed: 1 }));
    }
}
