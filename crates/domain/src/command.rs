//! Command centres (指挥部): the city's campaigns run from ledgers (台账).
//!
//! A centre has commanders (总指挥), an office (指挥部办公室, a unit), member
//! units and towns and the ledger types it runs. Its **targets** (目标) are
//! counts of ledger items meeting a condition (stage in a set, optionally a
//! choice field's value) to reach by a date, city-wide or per town; progress is
//! always counted from the ledger, never typed. The **forecast** reads the
//! last four weeks' arrivals (stage moves into the condition) and says whether
//! the target will be met at that rate, and when. **Tasks** (施工图) are
//! assigned to a unit or a town with a due date counted in working days,
//! reported on, urged (催办) and supervised (督办) by the office, and done by
//! the office.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::time::Instant;
use crate::validation::{optional_text, required_text};

/// Longest centre or target name, task title.
pub const NAME_MAX: usize = 100;
/// Longest description, report, note.
pub const TEXT_MAX: usize = 2000;
/// Commanders, member units, towns or ledger types a centre names at most.
pub const LIST_MAX: usize = 50;
/// Stages a target's condition names at most.
pub const STAGES_MAX: usize = 20;
/// The largest goal of a target.
pub const GOAL_MAX: u64 = 10_000_000;
/// The most working days a task may be given.
pub const TASK_DAYS_MAX: u32 = 250;
/// Weeks of history the forecast reads.
pub const FORECAST_WEEKS: usize = 4;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where a task (施工图任务) stands.
    TaskState {
        /// Assigned, nothing reported yet (已交办).
        Assigned = "assigned" / "已交办",
        /// At least one progress report filed (已报进展).
        Reported = "reported" / "已报进展",
        /// Declared done by the office (已办结).
        Done = "done" / "已办结",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What a history entry of a centre, a target or a task records.
    CommandAction {
        CentreInstalled = "centre_installed" / "指挥部建立",
        CentreSaved = "centre_saved" / "指挥部信息修改",
        TargetSet = "target_set" / "设定目标",
        TargetChanged = "target_changed" / "修改目标",
        TaskAssigned = "task_assigned" / "交办任务",
        TaskReported = "task_reported" / "报送进展",
        TaskDone = "task_done" / "办结",
        TaskUrged = "task_urged" / "催办",
        TaskSupervised = "task_supervised" / "督办",
        /// A report form defined (定义报表).
        ReportFormDefined = "report_form_defined" / "定义报表",
        /// A report form changed, with what changed from and to.
        ReportFormChanged = "report_form_changed" / "修改报表",
        /// A report form withdrawn (撤回报表): kept, no longer filed or chased.
        ReportFormWithdrawn = "report_form_withdrawn" / "撤回报表",
        /// A pledge (军令状) recorded.
        PledgeRecorded = "pledge_recorded" / "登记军令状",
        /// A pledge changed, with what changed from and to.
        PledgeChanged = "pledge_changed" / "修改军令状",
        /// A pledge withdrawn (作废): kept, no longer met or missed.
        PledgeWithdrawn = "pledge_withdrawn" / "作废军令状",
    }
);

/// A commander (总指挥 or 副总指挥): a name and a title, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commander {
    pub name: String,
    pub title: String,
}

/// A centre's definition, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentreDef {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub commanders: Vec<Commander>,
    /// Org code of the office unit.
    pub office_unit_code: String,
    /// Org codes of the member units (departments).
    pub member_units: Vec<String>,
    /// Org codes of the member towns.
    pub towns: Vec<String>,
    /// Ledger type codes the centre runs.
    pub ledger_types: Vec<String>,
}

fn list_of(label: &str, items: Vec<String>) -> Result<Vec<String>, DomainError> {
    if items.len() > LIST_MAX {
        return Err(DomainError::invalid("too_many_items", format!("「{label}」最多 {LIST_MAX} 项")));
    }
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = required_text(label, &item, 64)?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

impl CentreDef {
    /// Checks a definition's texts and lists (the codes are checked against the org tree and the
    /// ledger types by the application).
    ///
    /// # Errors
    ///
    /// `invalid_centre_code`, `text_required`, `text_too_long`, `invalid_text`, `too_many_items`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        code: &str,
        name: &str,
        description: Option<&str>,
        commanders: Vec<Commander>,
        office_unit_code: &str,
        member_units: Vec<String>,
        towns: Vec<String>,
        ledger_types: Vec<String>,
    ) -> Result<Self, DomainError> {
        let code = code.trim();
        let valid_code = !code.is_empty()
            && code.len() <= 32
            && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_code {
            return Err(DomainError::invalid("invalid_centre_code", "指挥部编码须为 1 至 32 位小写字母、数字或下划线"));
        }
        if commanders.len() > LIST_MAX {
            return Err(DomainError::invalid("too_many_items", format!("「总指挥」最多 {LIST_MAX} 人")));
        }
        let commanders = commanders
            .into_iter()
            .map(|c| {
                Ok(Commander {
                    name: required_text("总指挥姓名", &c.name, 40)?,
                    title: required_text("职务", &c.title, 60)?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        Ok(Self {
            code: code.to_owned(),
            name: required_text("指挥部名称", name, NAME_MAX)?,
            description: optional_text("说明", description, TEXT_MAX)?,
            commanders,
            office_unit_code: required_text("指挥部办公室", office_unit_code, 64)?,
            member_units: list_of("成员单位", member_units)?,
            towns: list_of("成员镇街", towns)?,
            ledger_types: list_of("台账类型", ledger_types)?,
        })
    }
}

/// A target's definition, checked: `count(items of ledger_type with stage in stages [and choice]) ≥
/// goal by due_on`, city-wide or in one town.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDef {
    pub name: String,
    pub ledger_type: String,
    pub stages: Vec<String>,
    /// `(field code, choice code)`.
    pub choice: Option<(String, String)>,
    /// The town (unit id) for a per-town target; none city-wide.
    pub town_id: Option<i64>,
    pub goal: u64,
    pub due_on: NaiveDate,
}

impl TargetDef {
    /// Checks the texts, the stage list and the goal (stage and field codes are checked against
    /// the ledger type by the application).
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `target_stages_required`, `too_many_items`, `invalid_goal`.
    pub fn new(
        name: &str,
        ledger_type: &str,
        stages: Vec<String>,
        choice: Option<(String, String)>,
        town_id: Option<i64>,
        goal: u64,
        due_on: NaiveDate,
    ) -> Result<Self, DomainError> {
        let name = required_text("目标名称", name, NAME_MAX)?;
        let mut clean: Vec<String> = Vec::new();
        for s in stages {
            let s = s.trim().to_owned();
            if !s.is_empty() && !clean.contains(&s) {
                clean.push(s);
            }
        }
        if clean.is_empty() {
            return Err(DomainError::invalid("target_stages_required", "请至少选择一个计入目标的阶段"));
        }
        if clean.len() > STAGES_MAX {
            return Err(DomainError::invalid("too_many_items", format!("计入目标的阶段最多 {STAGES_MAX} 个")));
        }
        if goal == 0 || goal > GOAL_MAX {
            return Err(DomainError::invalid("invalid_goal", format!("目标数须在 1 至 {GOAL_MAX} 之间")));
        }
        let choice = match choice {
            Some((f, c)) if !f.trim().is_empty() && !c.trim().is_empty() => {
                Some((f.trim().to_owned(), c.trim().to_owned()))
            }
            _ => None,
        };
        Ok(Self { name, ledger_type: ledger_type.trim().to_owned(), stages: clean, choice, town_id, goal, due_on })
    }
}

/// A task as it is assigned, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDef {
    pub title: String,
    pub description: Option<String>,
    /// The unit or town (unit id) it is assigned to.
    pub unit_id: i64,
    pub working_days: u32,
    /// `type:key` of a ledger item it moves, if any.
    pub ledger_ref: Option<String>,
}

impl TaskDef {
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text`, `invalid_working_days`.
    pub fn new(
        title: &str,
        description: Option<&str>,
        unit_id: i64,
        working_days: u32,
        ledger_ref: Option<String>,
    ) -> Result<Self, DomainError> {
        if working_days == 0 || working_days > TASK_DAYS_MAX {
            return Err(DomainError::invalid(
                "invalid_working_days",
                format!("办理时限须为 1 至 {TASK_DAYS_MAX} 个工作日"),
            ));
        }
        Ok(Self {
            title: required_text("任务名称", title, NAME_MAX)?,
            description: optional_text("任务内容", description, TEXT_MAX)?,
            unit_id,
            working_days,
            ledger_ref,
        })
    }
}

/// A checked note (report, urge, supervise): required, at most [`TEXT_MAX`].
///
/// # Errors
///
/// `text_required`, `text_too_long`, `invalid_text`.
pub fn note(label: &str, text: &str) -> Result<String, DomainError> {
    required_text(label, text, TEXT_MAX)
}

/// Whether a task not done is past its due time.
pub fn is_overdue(state: TaskState, due_at: &Instant, now: &Instant) -> bool {
    state != TaskState::Done && now > due_at
}

/// Whether a task was (or, not done yet, still can be) done on time.
pub fn done_on_time(state: TaskState, due_at: &Instant, done_at: Option<&Instant>) -> Option<bool> {
    match (state, done_at) {
        (TaskState::Done, Some(at)) => Some(at <= due_at),
        _ => None,
    }
}

/// What the last weeks' rate says of a target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Forecast {
    /// Progress has reached the goal.
    Met,
    /// The due date has passed short of the goal.
    Missed,
    /// Nothing arrived in the last four weeks: at that rate it is never met.
    Stalled,
    /// At the rate it is met on `on`, on or before the due date.
    OnTrack { on: NaiveDate },
    /// At the rate it is met on `on`, after the due date.
    Late { on: NaiveDate },
}

impl Forecast {
    /// The forecast in Chinese, for the dashboard.
    pub fn text(&self, per_week: f64, due_on: NaiveDate) -> String {
        let rate = format!("近四周平均每周 {per_week:.1} 个");
        match self {
            Self::Met => "已完成目标".to_owned(),
            Self::Missed => format!("已过目标日期 {due_on}，未完成"),
            Self::Stalled => format!("{rate}，按此进度无法完成"),
            Self::OnTrack { on } => format!("{rate}，预计 {on} 完成，可按期完成"),
            Self::Late { on } => format!("{rate}，预计 {on} 才能完成，晚于目标日期 {due_on}"),
        }
    }
}

/// The forecast of a target at `progress` of `goal` due on `due_on`, on `today`, from the counts of
/// items that reached the condition in each of the last four weeks (`weekly[0]` the latest). At
/// the four weeks' average daily rate the remainder takes `ceil(remaining × 28 / sum)` days.
pub fn forecast(
    progress: u64,
    goal: u64,
    weekly: &[u64; FORECAST_WEEKS],
    today: NaiveDate,
    due_on: NaiveDate,
) -> Forecast {
    if progress >= goal {
        return Forecast::Met;
    }
    if today > due_on {
        return Forecast::Missed;
    }
    let arrived: u64 = weekly.iter().sum();
    if arrived == 0 {
        return Forecast::Stalled;
    }
    let days_window = 7 * FORECAST_WEEKS as u64;
    let remaining = goal - progress;
    let days = remaining.saturating_mul(days_window).div_ceil(arrived);
    let Some(on) = i64::try_from(days).ok().and_then(|d| today.checked_add_signed(chrono::Duration::days(d))) else {
        return Forecast::Stalled;
    };
    if on <= due_on { Forecast::OnTrack { on } } else { Forecast::Late { on } }
}

/// The average arrivals per week of the window.
pub fn per_week(weekly: &[u64; FORECAST_WEEKS]) -> f64 {
    let sum: u64 = weekly.iter().sum();
    sum as f64 / FORECAST_WEEKS as f64
}

/// `404 command_centre_not_found`.
pub fn centre_not_found(code: &str) -> DomainError {
    DomainError::not_found("command_centre_not_found", format!("指挥部「{code}」不存在"))
}

/// `404 command_target_not_found`.
pub fn target_not_found() -> DomainError {
    DomainError::not_found("command_target_not_found", "没有这个目标")
}

/// `404 command_task_not_found` (also for a task out of scope).
pub fn task_not_found() -> DomainError {
    DomainError::not_found("command_task_not_found", "没有这项任务")
}

/// `409 command_centre_changed`.
pub fn centre_changed(current: i64) -> DomainError {
    DomainError::conflict(
        "command_centre_changed",
        format!("指挥部信息已被他人修改（当前第{current}版），请刷新后再改"),
    )
}

/// `409 command_target_changed`.
pub fn target_changed(current: i64) -> DomainError {
    DomainError::conflict("command_target_changed", format!("目标已被他人修改（当前第{current}版），请刷新后再改"))
}

/// `409 command_task_done`: a done task takes no more reports, urges or supervision.
pub fn task_done() -> DomainError {
    DomainError::conflict("command_task_done", "这项任务已办结")
}

/// `409 command_task_not_reported`: only a task with a progress report is declared done.
pub fn task_not_reported() -> DomainError {
    DomainError::conflict("command_task_not_reported", "任务尚未报送进展，不能办结")
}

/// `403 command_office_only`: targets, task assignment, done, urge and supervise are the office's.
pub fn office_only() -> DomainError {
    DomainError {
        kind: ErrorKind::Forbidden,
        code: "command_office_only",
        message: "只有指挥部办公室可以这样做".into(),
    }
}

/// `403 command_task_not_yours`: only the assigned unit or town reports on a task.
pub fn task_not_yours() -> DomainError {
    DomainError {
        kind: ErrorKind::Forbidden,
        code: "command_task_not_yours",
        message: "只有承办单位（镇街）可以报送这项任务的进展".into(),
    }
}

/// The three command centres of the brief (§4), installed at start-up when absent; administrators
/// edit them afterwards. No towns listed means every town of the city takes part.
pub fn bundled() -> Vec<CentreDef> {
    let commander = |name: &str, title: &str| Commander { name: name.into(), title: title.into() };
    let codes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        CentreDef {
            code: "water".into(),
            name: "水污染治理指挥部".into(),
            description: Some("入河排污口排查整治、未达标河涌与重点河涌一河一策整治、污水管网建设".into()),
            commanders: vec![commander("市长", "总指挥"), commander("分管副市长", "常务副总指挥")],
            office_unit_code: "swuj".into(),
            member_units: codes(&["sthjj", "swuj", "zjj", "zrzyj"]),
            towns: Vec::new(),
            ledger_types: codes(&["outlet", "creek", "sewer"]),
        },
        CentreDef {
            code: "parks".into(),
            name: "村镇低效工业园改造指挥部".into(),
            description: Some("村镇低效工业园改造：工改工、工改综合、工改MO，项目长制，镇街三年计划".into()),
            commanders: vec![commander("市委书记", "总指挥"), commander("市长", "总指挥")],
            office_unit_code: "zrzyj".into(),
            member_units: codes(&["zrzyj", "gxj", "zjj", "fgj"]),
            towns: Vec::new(),
            ledger_types: codes(&["park"]),
        },
        CentreDef {
            code: "investment".into(),
            name: "招商引资指挥部".into(),
            description: Some("招商项目从线索、洽谈、签约、摘牌、动工到投产；三个国内招商组和一个境外招商组".into()),
            commanders: vec![commander("市委书记", "总指挥"), commander("市长", "总指挥")],
            office_unit_code: "swj".into(),
            member_units: codes(&["swj", "fgj", "gxj", "zrzyj"]),
            towns: Vec::new(),
            ledger_types: codes(&["investment"]),
        },
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_target_already_met_is_met_whatever_the_rate_or_date() {
        assert_eq!(forecast(78, 78, &[0; 4], d("2027-01-05"), d("2026-12-31")), Forecast::Met);
        assert_eq!(forecast(80, 78, &[1, 2, 3, 4], d("2026-12-01"), d("2026-12-31")), Forecast::Met);
    }

    #[test]
    fn a_zero_rate_never_meets_the_target() {
        assert_eq!(forecast(10, 78, &[0, 0, 0, 0], d("2026-12-01"), d("2026-12-31")), Forecast::Stalled);
        assert!(Forecast::Stalled.text(0.0, d("2026-12-31")).contains("无法完成"));
    }

    #[test]
    fn met_exactly_on_the_due_date_is_on_track() {
        // 28 arrivals in four weeks is one a day; 30 left from 2026-12-01 → 2026-12-31.
        let f = forecast(48, 78, &[7, 7, 7, 7], d("2026-12-01"), d("2026-12-31"));
        assert_eq!(f, Forecast::OnTrack { on: d("2026-12-31") });
        // One more left and it is a day late.
        let f = forecast(47, 78, &[7, 7, 7, 7], d("2026-12-01"), d("2026-12-31"));
        assert_eq!(f, Forecast::Late { on: d("2027-01-01") });
    }

    #[test]
    fn the_remainder_rounds_up_to_whole_days() {
        // 3 arrivals in 28 days; 1 left takes ceil(28 / 3) = 10 days.
        assert_eq!(
            forecast(9, 10, &[0, 1, 1, 1], d("2026-12-01"), d("2026-12-31")),
            Forecast::OnTrack { on: d("2026-12-11") }
        );
    }

    #[test]
    fn past_the_due_date_short_of_the_goal_is_missed() {
        assert_eq!(forecast(70, 78, &[7, 7, 7, 7], d("2027-01-01"), d("2026-12-31")), Forecast::Missed);
        // On the due date itself one left at one a day arrives the day after: late, not yet missed.
        assert_eq!(
            forecast(77, 78, &[7, 7, 7, 7], d("2026-12-31"), d("2026-12-31")),
            Forecast::Late { on: d("2027-01-01") }
        );
    }

    #[test]
    fn targets_and_tasks_are_checked() {
        let e = TargetDef::new("x", "creek", vec![" ".into()], None, None, 5, d("2026-12-31")).unwrap_err();
        assert_eq!(e.code, "target_stages_required");
        let e = TargetDef::new("x", "creek", vec!["done".into()], None, None, 0, d("2026-12-31")).unwrap_err();
        assert_eq!(e.code, "invalid_goal");
        let t =
            TargetDef::new("x", "creek", vec!["done".into(), "done".into()], None, None, 5, d("2026-12-31")).unwrap();
        assert_eq!(t.stages, ["done"]);
        assert_eq!(TaskDef::new("t", None, 1, 0, None).unwrap_err().code, "invalid_working_days");
        assert_eq!(TaskDef::new(" ", None, 1, 5, None).unwrap_err().code, "text_required");
        assert_eq!(
            CentreDef::new("Bad", "n", None, vec![], "swuj", vec![], vec![], vec![]).unwrap_err().code,
            "invalid_centre_code"
        );
    }

    #[test]
    fn overdue_and_on_time() {
        let due = crate::time::parse_instant("2026-12-10T17:30:00+08:00").unwrap();
        let later = crate::time::parse_instant("2026-12-11T09:00:00+08:00").unwrap();
        assert!(is_overdue(TaskState::Assigned, &due, &later));
        assert!(!is_overdue(TaskState::Done, &due, &later));
        assert_eq!(done_on_time(TaskState::Done, &due, Some(&later)), Some(false));
        assert_eq!(done_on_time(TaskState::Done, &due, Some(&due)), Some(true));
        assert_eq!(done_on_time(TaskState::Reported, &due, None), None);
    }
}
