//! Creek water quality and plans (河涌水质与一河一策), hanging off the creek
//! ledger's items (`creek`).
//!
//! A creek's samples are the readings of the monitoring points linked to its
//! item (creek sections, `ledger_item_id`; daily values, or the day's mean of
//! hourly values) and the grab samples people enter on its page, by the API or
//! from Excel (all or nothing, every row's problems reported in Chinese).
//! Each sample is classed under GB 3838-2002 by the bundled classifier over
//! the six basic items measured; the worst item decides. The creek's current
//! class is its newest sample's; its trend compares the last three months'
//! mean class with the three before.
//!
//! The plan (一河一策): measures with kind, budget (万元), due date,
//! responsible unit and status; the plan's responsible unit and river chief
//! (河长, a public official: name and post shown). Every save keeps the
//! version before and after with who and when.
//!
//! Access is the ledger's: whoever reads creek items reads these, whoever
//! may edit them (town for its own creeks, the command office all) adds
//! samples and saves plans. Out of scope is `ledger_item_not_found`.

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use mashangban_domain::creek::{
    BASIC_PARAMETERS, CREEK_TYPE, MAX_SAMPLES_PER_BATCH, MeasureDraft, MonthClass, Plan, SampleInput, Trend,
    cents_to_wan, check_plan, check_value, class_number, class_of_number, classify_sample, gb3838, monthly_classes,
    parameter_key, plan_changes, trend,
};
use mashangban_domain::environment::{Measurement, WaterAssessment, WaterBody};
use mashangban_domain::ledger::{LedgerType, OrgLookup};
use mashangban_domain::monitoring::{Bucket, PointKind, ReadingKind};
use mashangban_domain::org::OrgTree;
use mashangban_domain::time::{Instant, format_instant};
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_sheet::{Cell, Column, Limits, Record, Report, Table};
use mashangban_store::{
    CreekAuthor, CreekSample, LedgerFilter, LedgerItem, MonitoringPoint, NewCreekSample, ReadingQuery, Store,
};

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// Samples a creek's page and API show at most (newest first).
pub const SAMPLES_SHOWN: u32 = 500;
/// The largest sample workbook.
pub const IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Creeks one export or list lookup covers at most.
const CREEKS_MAX: u32 = 20_000;

/// The creek service: `app.creeks()`.
pub struct Creeks<'a, S> {
    app: &'a App<S>,
}

// ---- inputs and views -------------------------------------------------------------------

/// A grab sample: when (RFC 3339, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD`,
/// Asia/Shanghai), where, and the measured values (mg/L) by item key
/// (`cod`), HJ 212 code (`w01018`) or Chinese name (`化学需氧量`).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleBody {
    pub sampled_at: String,
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub section: Option<String>,
    pub values: BTreeMap<String, Json>,
}

/// One item of a sample with its class.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemClassView {
    /// The item's key, e.g. `ammonia_nitrogen`.
    pub parameter: String,
    pub name: String,
    pub value: f64,
    /// 1–5 for Ⅰ–Ⅴ, 6 for 劣Ⅴ.
    pub class_no: u8,
    pub class: String,
    /// The limit of that class (for 劣Ⅴ the class Ⅴ limit it failed), e.g. `≤1.5`.
    pub limit: Option<String>,
}

/// A sample with its class under GB 3838-2002.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SampleView {
    /// The grab sample's id; none for a monitoring point's day.
    pub id: Option<i64>,
    /// `manual`, `import` or `device`.
    pub source: String,
    pub source_label: String,
    pub sampled_at: String,
    pub section: Option<String>,
    /// The monitoring point's code, for a device's day.
    pub point: Option<String>,
    pub class_no: u8,
    /// e.g. `Ⅳ类`, `劣Ⅴ类`.
    pub class: String,
    /// The items at the worst class, which decided it (定类项目), by Chinese name.
    pub decided_by: Vec<String>,
    pub items: Vec<ItemClassView>,
    pub by: Option<String>,
}

/// One month of the trend.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MonthView {
    /// `2026-03`.
    pub month: String,
    pub samples: usize,
    pub worst_no: Option<u8>,
    pub worst: Option<String>,
    /// The mean class number (1–6).
    pub mean: Option<f64>,
    /// The mean, rounded, as a class.
    pub mean_class: Option<String>,
}

/// A creek's water quality.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreekWater {
    pub key: String,
    pub name: Option<String>,
    pub town: Option<UnitRef>,
    /// The newest sample (the creek's current class).
    pub current: Option<SampleView>,
    /// `improving`, `steady`, `worsening` or `insufficient`.
    pub trend: Trend,
    pub trend_label: String,
    /// The last twelve months, oldest first.
    pub months: Vec<MonthView>,
    /// Samples of the last twelve months, newest first (at most 500).
    pub samples: Vec<SampleView>,
    /// Codes of the monitoring points linked to the creek.
    pub points: Vec<String>,
    pub may_edit: bool,
}

/// A row's problem in an import.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SampleProblem {
    pub row: u32,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// What a sample import found and did (or, previewed, would do).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SampleImport {
    pub applied: bool,
    pub rows: u64,
    pub problem_count: u64,
    pub problems: Vec<SampleProblem>,
    /// The samples read (written when applied), with their classes.
    pub samples: Vec<SampleView>,
}

/// A measure as entered.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureBody {
    #[schemars(length(max = 500))]
    pub text: String,
    /// `interception`/截污, `dredging`/清淤, `replenishment`/补水, `ecological`/生态修复, `other`/其他.
    pub kind: String,
    /// Budget in 万元, at most two decimals.
    #[serde(default)]
    pub budget_wan: f64,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
    /// The responsible unit's code or name.
    #[serde(default)]
    pub unit: Option<String>,
    /// `not_started`/未开始 (default), `in_progress`/实施中, `done`/已完成.
    #[serde(default)]
    pub status: Option<String>,
}

/// A whole plan as saved, made on `version` (0 for the first).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    #[serde(default)]
    pub version: i64,
    /// The plan's responsible unit, code or name.
    #[serde(default)]
    pub unit: Option<String>,
    /// The river chief's name (河长).
    pub chief_name: String,
    /// The river chief's post, e.g. `小榄镇镇长`.
    pub chief_post: String,
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub measures: Vec<MeasureBody>,
}

/// A measure as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MeasureView {
    pub text: String,
    pub kind: String,
    pub kind_label: String,
    pub budget_wan: f64,
    pub due_on: Option<String>,
    pub unit: Option<UnitRef>,
    pub status: String,
    pub status_label: String,
}

/// One save of a plan.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanChangeView {
    pub version: i64,
    pub at: String,
    pub by: String,
    /// What changed, one line each, in Chinese.
    pub changes: Vec<String>,
}

/// A creek's plan (一河一策) with its history, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanView {
    pub key: String,
    pub name: Option<String>,
    /// 0 while no plan was saved.
    pub version: i64,
    pub unit: Option<UnitRef>,
    pub chief_name: String,
    pub chief_post: String,
    pub measures: Vec<MeasureView>,
    /// The sum of the measures' budgets, 万元.
    pub total_budget_wan: f64,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    pub history: Vec<PlanChangeView>,
    pub may_edit: bool,
}

// ---- the service ------------------------------------------------------------------------

mod col {
    pub const TIME: &str = "采样时间";
    pub const SECTION: &str = "采样断面";
}

const IMPORT_COLUMNS: [Column; 8] = [
    Column::required(col::TIME).aliases(&["采样日期", "监测时间"]),
    Column::optional(col::SECTION).aliases(&["断面", "点位"]),
    Column::optional("溶解氧").aliases(&["DO"]),
    Column::optional("高锰酸盐指数").aliases(&["CODMn"]),
    Column::optional("化学需氧量").aliases(&["COD", "化学需氧量（COD）"]),
    Column::optional("五日生化需氧量").aliases(&["BOD5", "五日生化需氧量（BOD5）"]),
    Column::optional("氨氮").aliases(&["NH3-N", "氨氮（NH3-N）"]),
    Column::optional("总磷").aliases(&["TP", "总磷（以P计）"]),
];

fn author(caller: &Caller, at: Instant) -> CreekAuthor {
    CreekAuthor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
        at,
    }
}

fn read_only() -> AppError {
    AppError::forbidden("您对该河涌只有查看权限（本镇街的河涌由本镇街填报，指挥部办公室可填报全部）")
}

fn sample_view(
    assessment: &WaterAssessment,
    source: &str,
    at: &Instant,
    section: Option<String>,
    point: Option<String>,
    id: Option<i64>,
    by: Option<String>,
) -> SampleView {
    let items = assessment
        .items
        .iter()
        .map(|i| ItemClassView {
            parameter: i.key.clone(),
            name: i.name.clone(),
            value: i.value,
            class_no: class_number(i.class),
            class: i.class.label().to_owned(),
            limit: i.limit.map(|l| l.describe()),
        })
        .collect();
    let source_label = match source {
        "manual" => "人工采样",
        "import" => "人工采样（导入）",
        _ => "自动监测",
    };
    SampleView {
        id,
        source: source.to_owned(),
        source_label: source_label.to_owned(),
        sampled_at: format_instant(at),
        section,
        point,
        class_no: class_number(assessment.class),
        class: assessment.class.label().to_owned(),
        decided_by: assessment.decided_by.iter().map(|i| i.name.clone()).collect(),
        items,
        by,
    }
}

fn stored_view(s: &CreekSample) -> Option<SampleView> {
    let a = classify_sample(&s.values).ok()?;
    Some(sample_view(&a, &s.source, &s.sampled_at, s.section.clone(), None, Some(s.id), Some(s.by_name.clone())))
}

fn month_view(m: &MonthClass) -> MonthView {
    MonthView {
        month: m.month.clone(),
        samples: m.samples,
        worst_no: m.worst.map(class_number),
        worst: m.worst.map(|c| c.label().to_owned()),
        mean: m.mean.map(|x| (x * 100.0).round() / 100.0),
        mean_class: m.mean.map(|x| class_of_number(x).label().to_owned()),
    }
}

/// A JSON value as a number: a number, or text that reads as one.
fn json_number(v: &Json) -> (Option<f64>, String) {
    match v {
        Json::Number(n) => (n.as_f64(), n.to_string()),
        Json::String(s) => (s.trim().parse::<f64>().ok(), s.clone()),
        other => (None, other.to_string().chars().take(24).collect()),
    }
}

impl<'a, S: Store> Creeks<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    async fn creek(&self, caller: &Caller, key: &str) -> AppResult<(LedgerType, LedgerItem, bool)> {
        self.app.ledgers().item_in_scope(caller, CREEK_TYPE, key).await
    }

    /// The monitoring points linked to a creek item (creek sections).
    async fn points(&self, item_id: i64) -> AppResult<Vec<MonitoringPoint>> {
        let all = self.app.store().monitoring_points().await?;
        Ok(all.into_iter().filter(|p| p.kind == PointKind::CreekSection && p.ledger_item_id == Some(item_id)).collect())
    }

    /// The days of a point since `from`: each basic item's daily value (a day
    /// reading, else the mean of the day's hourly readings), classed.
    async fn device_days(&self, point: &MonitoringPoint, from: Instant) -> AppResult<Vec<SampleView>> {
        let standard = gb3838()?;
        let store = self.app.store();
        let to = self.app.now();
        let mut days: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for key in BASIC_PARAMETERS {
            let Some(code) = standard.parameter(key, Some(WaterBody::River)).and_then(|p| p.hj212.clone()) else {
                continue;
            };
            if !point.parameters.iter().any(|p| p.code == code) {
                continue;
            }
            let q = |kind| ReadingQuery { point_id: point.id, parameter: code.clone(), kind, from, to };
            for a in store.reading_aggregates(q(ReadingKind::Hour), Bucket::Day).await? {
                let value = Measurement::from_hj212(standard, &code, a.avg).value;
                days.entry(a.bucket.clone()).or_default().insert(key.to_owned(), value);
            }
            for r in store.readings(q(ReadingKind::Day), 1000).await? {
                if r.flag.as_deref().is_some_and(|f| f != "N") {
                    continue;
                }
                let day = format_instant(&r.data_time).chars().take(10).collect::<String>();
                let value = Measurement::from_hj212(standard, &code, r.value).value;
                days.entry(day).or_default().insert(key.to_owned(), value);
            }
        }
        let mut out = Vec::new();
        for (day, values) in days {
            let Some(at) = mashangban_domain::creek::parse_sample_time(&day) else { continue };
            let Ok(a) = classify_sample(&values) else { continue };
            out.push(sample_view(&a, "device", &at, Some(point.name.clone()), Some(point.code.clone()), None, None));
        }
        Ok(out)
    }

    /// A creek's samples of the last twelve months with their classes, its current class and trend.
    pub async fn water(&self, caller: &Caller, key: &str) -> AppResult<CreekWater> {
        let (ty, item, may_edit) = self.creek(caller, key).await?;
        let now = self.app.now();
        let from = now - Duration::days(366);
        let mut samples: Vec<SampleView> = self
            .app
            .store()
            .creek_samples(item.id, from, SAMPLES_SHOWN)
            .await?
            .iter()
            .filter_map(stored_view)
            .collect();
        let points = self.points(item.id).await?;
        for p in &points {
            samples.extend(self.device_days(p, from).await?);
        }
        samples.sort_by(|a, b| b.sampled_at.cmp(&a.sampled_at));
        samples.truncate(SAMPLES_SHOWN as usize);
        let classed: Vec<(Instant, mashangban_domain::environment::WaterClass)> = samples
            .iter()
            .filter_map(|s| {
                let at = mashangban_domain::time::parse_instant(&s.sampled_at)?;
                Some((at, class_of_number(f64::from(s.class_no))))
            })
            .collect();
        let months = monthly_classes(&classed, &now);
        let t = trend(&months);
        let org = self.app.caches().org();
        let _ = ty;
        Ok(CreekWater {
            key: item.key.clone(),
            name: item.name.clone(),
            town: unit_ref(&org, item.town_id),
            current: samples.first().cloned(),
            trend: t,
            trend_label: t.label().to_owned(),
            months: months.iter().map(month_view).collect(),
            samples,
            points: points.iter().map(|p| p.code.clone()).collect(),
            may_edit,
        })
    }

    /// Adds a grab sample (`sample_*` refusals, `403` for a read-only caller).
    pub async fn add_sample(&self, caller: &Caller, key: &str, body: SampleBody) -> AppResult<SampleView> {
        let (_, item, may_edit) = self.creek(caller, key).await?;
        if !may_edit {
            return Err(read_only());
        }
        if body.values.len() > 32 {
            return Err(AppError::invalid("sample_unknown_parameter", "测值项目过多（最多6项评价项目）"));
        }
        let values: Vec<(String, Option<f64>, String)> = body
            .values
            .iter()
            .map(|(k, v)| {
                let (n, raw) = json_number(v);
                (k.clone(), n, raw)
            })
            .collect();
        let now = self.app.now();
        let input = SampleInput::new(&body.sampled_at, body.section.as_deref(), &values, &now)?;
        let new = NewCreekSample {
            sampled_at: input.sampled_at,
            section: input.section,
            values: input.values,
            source: "manual".into(),
        };
        let stored = self.app.store().add_creek_samples(item.id, vec![new], author(caller, now)).await?;
        stored.first().and_then(stored_view).ok_or_else(AppError::internal)
    }

    /// Reads a workbook of samples (采样时间, 采样断面 and the six items by
    /// Chinese name) and checks every row; with `apply`, stores them all in
    /// one transaction only when no row has a problem (`422 invalid_rows`).
    pub async fn import_samples(
        &self,
        caller: &Caller,
        key: &str,
        bytes: &[u8],
        apply: bool,
    ) -> AppResult<SampleImport> {
        let (_, item, may_edit) = self.creek(caller, key).await?;
        if !may_edit {
            return Err(read_only());
        }
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let limits = Limits::default()
            .file_bytes(IMPORT_BYTES as u64)
            .part_bytes(64 * 1024 * 1024)
            .rows(MAX_SAMPLES_PER_BATCH as u32 + 10)
            .columns(50);
        let rows = mashangban_sheet::open(bytes, &limits).map_err(sheet_error)?;
        let table = Table::new(rows, &IMPORT_COLUMNS).map_err(sheet_error)?;
        let now = self.app.now();
        let mut report = Report::new();
        let mut inputs = Vec::new();
        let mut count = 0u64;
        for record in table {
            let record = record.map_err(sheet_error)?;
            if IMPORT_COLUMNS.iter().all(|c| record.cell(c.name).is_blank()) {
                continue;
            }
            count += 1;
            if count > MAX_SAMPLES_PER_BATCH as u64 {
                return Err(AppError::invalid("too_many_rows", format!("一次最多导入{MAX_SAMPLES_PER_BATCH}条采样")));
            }
            if let Some(input) = sample_row(&record, &now, &mut report) {
                inputs.push(input);
            }
        }
        if count == 0 {
            return Err(AppError::invalid("no_rows", "文件只有表头，没有任何采样"));
        }
        let problem_count = report.len() as u64;
        let problems: Vec<SampleProblem> = report
            .problems()
            .iter()
            .map(|p| SampleProblem {
                row: p.row,
                column: p.column.clone(),
                value: p.value.clone(),
                reason: p.reason.clone(),
            })
            .collect();
        if apply && problem_count > 0 {
            let first: Vec<String> =
                problems.iter().take(3).map(|p| format!("第{}行「{}」：{}", p.row, p.column, p.reason)).collect();
            return Err(AppError::invalid(
                "invalid_rows",
                format!("有{problem_count}处错误，全部未导入：{}", first.join("；")),
            ));
        }
        let samples: Vec<SampleView> = if apply {
            let news = inputs
                .into_iter()
                .map(|i| NewCreekSample {
                    sampled_at: i.sampled_at,
                    section: i.section,
                    values: i.values,
                    source: "import".into(),
                })
                .collect();
            let stored = self.app.store().add_creek_samples(item.id, news, author(caller, now)).await?;
            stored.iter().filter_map(stored_view).collect()
        } else {
            inputs
                .iter()
                .filter_map(|i| {
                    let a = classify_sample(&i.values).ok()?;
                    Some(sample_view(&a, "import", &i.sampled_at, i.section.clone(), None, None, None))
                })
                .collect()
        };
        Ok(SampleImport { applied: apply, rows: count, problem_count, problems, samples })
    }

    /// A blank sample workbook: the time, the section and the six items.
    pub fn sample_template(&self) -> AppResult<(String, Vec<u8>)> {
        let columns: Vec<WriteColumn> = IMPORT_COLUMNS
            .iter()
            .map(|c| {
                let title = if c.name == col::TIME || c.name == col::SECTION {
                    c.name.to_owned()
                } else {
                    format!("{}（mg/L）", c.name)
                };
                let kind = if c.name == col::SECTION || c.name == col::TIME { Kind::Text } else { Kind::Number };
                let column = WriteColumn::new(title, kind);
                if c.required { column.required() } else { column }
            })
            .collect();
        let bytes = mashangban_sheet::write::template("水质采样", &columns)
            .map_err(|e| AppError::from(mashangban_domain::DomainError::from(e)))?;
        Ok(("河涌水质采样导入模板.xlsx".to_owned(), bytes))
    }

    /// The current class of each of these creek items that has a sample:
    /// the newest of its grab samples and its linked points' latest readings.
    pub async fn latest_classes(&self, item_ids: &[i64]) -> AppResult<BTreeMap<i64, SampleView>> {
        let mut out: BTreeMap<i64, SampleView> = BTreeMap::new();
        if item_ids.is_empty() {
            return Ok(out);
        }
        let store = self.app.store();
        for s in store.latest_creek_samples(item_ids.to_vec()).await? {
            if let Some(v) = stored_view(&s) {
                out.insert(s.item_id, v);
            }
        }
        let wanted: HashSet<i64> = item_ids.iter().copied().collect();
        let standard = gb3838()?;
        for p in store.monitoring_points().await? {
            let Some(item) = p.ledger_item_id.filter(|i| wanted.contains(i) && p.kind == PointKind::CreekSection)
            else {
                continue;
            };
            let latest = store.latest_readings(p.id).await?;
            let Some(newest) = latest.iter().map(|r| r.data_time).max() else { continue };
            let values: BTreeMap<String, f64> = latest
                .iter()
                .filter(|r| r.flag.as_deref().is_none_or(|f| f == "N"))
                .filter_map(|r| {
                    let key = parameter_key(&r.parameter)?;
                    Some((key.to_owned(), Measurement::from_hj212(standard, &r.parameter, r.value).value))
                })
                .collect();
            let Ok(a) = classify_sample(&values) else { continue };
            let view = sample_view(&a, "device", &newest, Some(p.name.clone()), Some(p.code.clone()), None, None);
            if out.get(&item).is_none_or(|v| v.sampled_at < view.sampled_at) {
                out.insert(item, view);
            }
        }
        Ok(out)
    }

    /// The current class label of each of these creeks (by key) the caller may read that has a sample.
    pub async fn latest_classes_by_key(&self, caller: &Caller, keys: &[String]) -> AppResult<BTreeMap<String, String>> {
        let (_, scope) = self.app.ledgers().scope_of(caller, CREEK_TYPE).await?;
        let items = self.app.store().ledger_items_by_keys(CREEK_TYPE, keys.to_vec()).await?;
        let items: Vec<LedgerItem> = items.into_iter().filter(|i| scope.permits(i.town_id, i.unit_id)).collect();
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let classes = self.latest_classes(&ids).await?;
        Ok(items.iter().filter_map(|i| Some((i.key.clone(), classes.get(&i.id)?.class.clone()))).collect())
    }

    // ---- plans --------------------------------------------------------------------------

    fn plan_view(
        &self,
        item: &LedgerItem,
        stored: Option<mashangban_store::CreekPlan>,
        changes: Vec<mashangban_store::CreekPlanChange>,
        may_edit: bool,
        org: &OrgTree,
    ) -> PlanView {
        let unit = |code: &Option<String>| {
            code.as_deref().and_then(|c| org.by_code(c)).and_then(|u| unit_ref(org, Some(u.id)))
        };
        let plan = stored.as_ref().map(|s| s.plan.clone()).unwrap_or_default();
        PlanView {
            key: item.key.clone(),
            name: item.name.clone(),
            version: stored.as_ref().map_or(0, |s| s.version),
            unit: unit(&plan.unit),
            chief_name: plan.chief_name.clone(),
            chief_post: plan.chief_post.clone(),
            measures: plan
                .measures
                .iter()
                .map(|m| MeasureView {
                    text: m.text.clone(),
                    kind: m.kind.as_str().to_owned(),
                    kind_label: m.kind.label().to_owned(),
                    budget_wan: cents_to_wan(m.budget_cents),
                    due_on: m.due_on.clone(),
                    unit: unit(&m.unit),
                    status: m.status.as_str().to_owned(),
                    status_label: m.status.label().to_owned(),
                })
                .collect(),
            total_budget_wan: cents_to_wan(plan.total_budget_cents()),
            updated_at: stored.as_ref().map(|s| format_instant(&s.updated_at)),
            updated_by: stored.as_ref().map(|s| s.updated_by.clone()),
            history: changes
                .into_iter()
                .map(|c| PlanChangeView {
                    version: c.version,
                    at: format_instant(&c.at),
                    by: c.by_name.clone(),
                    changes: plan_changes(c.before.as_ref(), &c.after),
                })
                .collect(),
            may_edit,
        }
    }

    /// A creek's plan with its history (version 0 and empty while none was saved).
    pub async fn plan(&self, caller: &Caller, key: &str) -> AppResult<PlanView> {
        let (_, item, may_edit) = self.creek(caller, key).await?;
        let store = self.app.store();
        let stored = store.creek_plan(item.id).await?;
        let changes = store.creek_plan_changes(item.id).await?;
        Ok(self.plan_view(&item, stored, changes, may_edit, &self.app.caches().org()))
    }

    /// Saves a creek's whole plan made on `version` (`409 creek_plan_changed`
    /// otherwise); the change is recorded with the plan before and after.
    pub async fn save_plan(&self, caller: &Caller, key: &str, body: PlanBody) -> AppResult<PlanView> {
        let (_, item, may_edit) = self.creek(caller, key).await?;
        if !may_edit {
            return Err(read_only());
        }
        let org = self.app.caches().org();
        let resolve = |text: Option<&str>| -> AppResult<Option<String>> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => match org.find_unit(t) {
                    Some((code, _)) => Ok(Some(code)),
                    None => Err(AppError::invalid(
                        "unknown_unit",
                        format!("「{}」不是组织架构中的单位", t.chars().take(24).collect::<String>()),
                    )),
                },
            }
        };
        if body.measures.len() > mashangban_domain::creek::MAX_MEASURES {
            return Err(AppError::invalid("too_many_measures", "一河一策的措施不能超过50项"));
        }
        let unit = resolve(body.unit.as_deref())?;
        let mut drafts = Vec::with_capacity(body.measures.len());
        for m in body.measures {
            drafts.push(MeasureDraft {
                unit: resolve(m.unit.as_deref())?,
                text: m.text,
                kind: m.kind,
                budget_wan: m.budget_wan,
                due_on: m.due_on,
                status: m.status.unwrap_or_default(),
            });
        }
        let plan: Plan = check_plan(unit, &body.chief_name, &body.chief_post, drafts)?;
        let now = self.app.now();
        let store = self.app.store();
        store.save_creek_plan(item.id, plan, body.version, author(caller, now)).await?;
        let stored = store.creek_plan(item.id).await?;
        let changes = store.creek_plan_changes(item.id).await?;
        Ok(self.plan_view(&item, stored, changes, may_edit, &org))
    }

    /// Every plan of the creeks in the caller's scope as a workbook: one row per measure.
    pub async fn export_plans(&self, caller: &Caller) -> AppResult<(String, Vec<u8>)> {
        let (_, scope) = self.app.ledgers().scope_of(caller, CREEK_TYPE).await?;
        let store = self.app.store();
        let filter = LedgerFilter { limit: CREEKS_MAX, ..LedgerFilter::default() };
        let page = store.list_ledger_items(CREEK_TYPE, &filter, &scope).await?;
        let plans: BTreeMap<i64, mashangban_store::CreekPlan> =
            store.creek_plans().await?.into_iter().map(|p| (p.item_id, p)).collect();
        let org = self.app.caches().org();
        let unit_name = |code: &Option<String>| {
            code.as_deref().and_then(|c| org.by_code(c)).map_or_else(String::new, |u| u.name.clone())
        };
        let columns = vec![
            WriteColumn::text("河涌编号"),
            WriteColumn::text("河涌名称"),
            WriteColumn::text("所在镇街"),
            WriteColumn::text("整治责任单位"),
            WriteColumn::text("河长"),
            WriteColumn::text("河长职务"),
            WriteColumn::new("方案总预算（万元）", Kind::Number),
            WriteColumn::new("措施序号", Kind::Integer),
            WriteColumn::text("措施类型"),
            WriteColumn::text("措施内容"),
            WriteColumn::new("措施预算（万元）", Kind::Number),
            WriteColumn::text("完成期限"),
            WriteColumn::text("措施责任单位"),
            WriteColumn::text("措施状态"),
            WriteColumn::new("方案版本", Kind::Integer),
            WriteColumn::text("更新时间"),
        ];
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let mut export = Export::new("一河一策", columns).map_err(sheet_error)?;
        for item in &page.items {
            let Some(stored) = plans.get(&item.id) else { continue };
            let p = &stored.plan;
            let town = unit_ref(&org, item.town_id).map(|u| u.name).unwrap_or_default();
            let head = |cells: &mut Vec<Cell>| {
                cells.push(Cell::Text(item.key.clone()));
                cells.push(Cell::Text(item.name.clone().unwrap_or_default()));
                cells.push(Cell::Text(town.clone()));
                cells.push(Cell::Text(unit_name(&p.unit)));
                cells.push(Cell::Text(p.chief_name.clone()));
                cells.push(Cell::Text(p.chief_post.clone()));
                cells.push(Cell::Number(cents_to_wan(p.total_budget_cents())));
            };
            let tail = |cells: &mut Vec<Cell>| {
                cells.push(Cell::Number(stored.version as f64));
                cells.push(Cell::Text(format_instant(&stored.updated_at)));
            };
            if p.measures.is_empty() {
                let mut cells = Vec::new();
                head(&mut cells);
                cells.extend((0..7).map(|_| Cell::Empty));
                tail(&mut cells);
                export.push(&cells).map_err(sheet_error)?;
            }
            for (i, m) in p.measures.iter().enumerate() {
                let mut cells = Vec::new();
                head(&mut cells);
                cells.push(Cell::Number((i + 1) as f64));
                cells.push(Cell::Text(m.kind.label().to_owned()));
                cells.push(Cell::Text(m.text.clone()));
                cells.push(Cell::Number(cents_to_wan(m.budget_cents)));
                cells.push(Cell::Text(m.due_on.clone().unwrap_or_default()));
                cells.push(Cell::Text(unit_name(&m.unit)));
                cells.push(Cell::Text(m.status.label().to_owned()));
                tail(&mut cells);
                export.push(&cells).map_err(sheet_error)?;
            }
        }
        Ok(("河涌一河一策.xlsx".to_owned(), export.finish().map_err(sheet_error)?))
    }
}

/// One sample row, or `None` with its problems in the report.
fn sample_row(r: &Record<'_>, now: &Instant, report: &mut Report) -> Option<SampleInput> {
    let before = report.len();
    let at = match r.cell(col::TIME) {
        Cell::Empty => {
            r.problem(col::TIME, "采样时间不能为空", report);
            None
        }
        _ => match r.datetime(col::TIME, report) {
            Some(local) => {
                let text = local.format("%Y-%m-%d %H:%M:%S").to_string();
                match mashangban_domain::creek::parse_sample_time(&text) {
                    Some(at) if at > *now => {
                        r.problem(col::TIME, "采样时间晚于当前时间", report);
                        None
                    }
                    Some(at) => Some(at),
                    None => {
                        r.problem(col::TIME, "应为日期时间，写成 YYYY-MM-DD HH:MM", report);
                        None
                    }
                }
            }
            None => None,
        },
    };
    let section = r.text(col::SECTION);
    let mut values = Vec::new();
    for c in IMPORT_COLUMNS.iter().skip(2) {
        if r.cell(c.name).is_blank() {
            continue;
        }
        let Some(key) = parameter_key(c.name) else { continue };
        if let Some(v) = r.number(c.name, report) {
            match check_value(key, Some(v), &v.to_string()) {
                Ok(v) => values.push((key.to_owned(), Some(v), v.to_string())),
                Err(e) => r.problem(c.name, &e.message, report),
            }
        }
    }
    if report.len() > before {
        return None;
    }
    if values.is_empty() {
        r.problem("评价项目", "至少应有一项评价项目的测值", report);
        return None;
    }
    let at = at?;
    let text = format_instant(&at);
    match SampleInput::new(&text, section.as_deref(), &values, now) {
        Ok(s) => Some(s),
        Err(e) => {
            r.problem(col::SECTION, &e.message, report);
            None
        }
    }
}
