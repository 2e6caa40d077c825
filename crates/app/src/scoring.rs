//! Department scoring (考核): the report of a period for the units the
//! caller may see, and the rebuild of the rollups. Definitions:
//! `docs/scoring.md`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, OrgTree, UnitId};
use mashangban_domain::scoring::{
    Counters, Indicators, Period, Ratio, Report, ScoreOptions, ScoreRow, TaskTally, tally_tasks,
};
use mashangban_domain::time::start_of_day;
use mashangban_store::Store;

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The scoring service: `app.scoring()`.
pub struct Scoring<'a, S> {
    app: &'a App<S>,
}

/// A report's period and options, and the unit asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreQuery {
    pub period: Period,
    /// A unit and those under it; none: every unit the caller may see.
    pub unit: Option<UnitId>,
    pub options: ScoreOptions,
}

/// The report as the caller may see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScoresView {
    pub period: Period,
    pub fairly_satisfied_counts: bool,
    /// The weight of 按时完成任务率 in the composite score (0: not scored).
    pub task_on_time_weight: u32,
    pub city: RowView,
    pub units: Vec<RowView>,
}

/// One unit's (or the city's) scores.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RowView {
    /// Place among all units (1 = best); the city has none.
    pub rank: Option<u32>,
    /// The unit; none for the city.
    pub unit: Option<UnitRef>,
    /// Composite score (综合得分), 0–100.
    pub score: Option<f64>,
    #[serde(flatten)]
    pub indicators: Indicators,
    pub counters: Counters,
}

/// The rollups rebuilt.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct ScoresRebuild {
    pub requests: u64,
    pub events: u64,
    /// Rows of (day, unit) counters written.
    pub day_rows: u64,
    /// Rows of (month, unit) counters written.
    pub month_rows: u64,
}

/// The ratio indicators in column order, by their Chinese names.
pub const RATIO_NAMES: [&str; 8] =
    ["按时签收率", "响应率", "按时办结率", "解决率", "满意率", "退单率", "延期率", "重复诉求率"];

/// The ratio indicators in the order of [`RATIO_NAMES`].
pub fn ratios(i: &Indicators) -> [Ratio; 8] {
    [
        i.on_time_sign_for,
        i.response,
        i.on_time_close,
        i.resolution,
        i.satisfaction,
        i.return_rate,
        i.extension,
        i.repeat,
    ]
}

impl<'a, S: Store> Scoring<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Reads `from`, `to` (required), `unit` and `fairly_satisfied_counts`;
    /// anything else is refused.
    pub fn query(&self, params: &HashMap<String, String>) -> AppResult<ScoreQuery> {
        let (mut from, mut to, mut unit) = (None, None, None);
        let mut options = self.app.settings().score_options();
        let org = self.app.caches().org();
        for (key, value) in params {
            let value = value.trim();
            match key.as_str() {
                "from" => from = Some(parse_date(key, value)?),
                "to" => to = Some(parse_date(key, value)?),
                "unit" => {
                    let id = org.by_code(value).map(|u| u.id);
                    unit = Some(id.ok_or_else(|| AppError::bad_parameter(format!("单位「{value}」不存在")))?)
                }
                "fairly_satisfied_counts" => options.fairly_satisfied_counts = crate::input::parse_bool(key, value)?,
                other => return Err(unknown_parameter(other)),
            }
        }
        Ok(ScoreQuery { period: period(from, to)?, unit, options })
    }

    /// The report of the period: every unit for city-wide readers, a unit
    /// leader's own unit and those under it.
    pub async fn report(&self, caller: &Caller, query: ScoreQuery) -> AppResult<ScoresView> {
        let org = self.app.caches().org();
        let units = visible_units(&caller.actor, &org, query.unit)?;
        let report = self.app.store().score_report(query.period, query.options).await?;
        let tasks = self.task_tallies(query.period).await?;
        Ok(ScoresView::new(&report.with_tasks(&tasks), &org, units.as_deref()))
    }

    /// The units' command-centre tasks (指挥部任务) in the period, as of now.
    async fn task_tallies(&self, period: Period) -> AppResult<BTreeMap<UnitId, TaskTally>> {
        let (from, until) = (start_of_day(period.from), start_of_day(period.to + Duration::days(1)));
        let outcomes = self.app.store().command_task_outcomes(from, until).await?;
        Ok(tally_tasks(&outcomes, &period, self.app.now()))
    }

    /// Recomputes every rollup from the events.
    pub async fn rebuild(&self) -> AppResult<ScoresRebuild> {
        let s = self.app.store().rebuild_scoring().await?;
        Ok(ScoresRebuild { requests: s.requests, events: s.events, day_rows: s.day_rows, month_rows: s.month_rows })
    }
}

/// The period of two dates, both required.
pub fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Period> {
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::bad_parameter("请用「from」和「to」指定统计区间，如 from=2026-01-01&to=2026-03-31"));
    };
    Period::new(from, to).map_err(|e| AppError::bad_parameter(e.message))
}

/// A `YYYY-MM-DD` query parameter.
pub fn parse_date(key: &str, value: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| AppError::bad_parameter(format!("「{key}」应为日期，如 2026-01-31")))
}

pub fn unknown_parameter(name: &str) -> AppError {
    AppError::bad_request("unknown_parameter", format!("不认识的查询参数「{name}」"))
}

/// The units whose rows the actor may see (`None`: all). Unit-bound roles
/// see their own unit and those under it; other readers every unit, or the
/// requested unit and those under it.
fn visible_units(actor: &Actor, org: &OrgTree, requested: Option<UnitId>) -> AppResult<Option<Vec<UnitId>>> {
    match actor {
        Actor::Staff(s) if s.role.is_unit_bound() && actor.may(Permission::ReadScores) => {
            let unit = requested.unwrap_or(s.unit_id);
            if s.units.contains(&unit) {
                Ok(Some(org.subtree(unit)))
            } else {
                Err(AppError::forbidden("单位领导只能查看本单位的考核结果"))
            }
        }
        _ if actor.may(Permission::ReadScores) => Ok(requested.map(|u| org.subtree(u))),
        _ => Err(AppError::forbidden(Permission::ReadScores.refusal())),
    }
}

impl ScoresView {
    fn new(report: &Report, org: &OrgTree, units: Option<&[UnitId]>) -> Self {
        let visible = |row: &&ScoreRow| units.is_none_or(|list| row.unit_id.is_some_and(|u| list.contains(&u)));
        Self {
            period: report.period,
            fairly_satisfied_counts: report.options.fairly_satisfied_counts,
            task_on_time_weight: report.options.task_on_time_weight,
            city: RowView::new(&report.city, org),
            units: report.units.iter().filter(visible).map(|row| RowView::new(row, org)).collect(),
        }
    }
}

impl RowView {
    fn new(row: &ScoreRow, org: &OrgTree) -> Self {
        let unit = row.unit_id.map(|id| {
            unit_ref(org, Some(id)).unwrap_or_else(|| UnitRef { code: id.to_string(), name: format!("单位{id}") })
        });
        Self { rank: row.rank, unit, score: row.score, indicators: row.indicators, counters: row.counters }
    }

    /// The unit's name, 全市 for the city.
    pub fn name(&self) -> &str {
        self.unit.as_ref().map_or("全市", |u| u.name.as_str())
    }

    /// The unit's code, empty for the city.
    pub fn code(&self) -> &str {
        self.unit.as_ref().map_or("", |u| u.code.as_str())
    }
}
