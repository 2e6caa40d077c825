//! Command centres (指挥部): the three campaigns' centres (installed at
//! start-up when absent, edited by administrators), their targets counted
//! from the ledgers with a forecast from the last four weeks' stage moves,
//! their tasks (施工图) with due dates in working days on the project's
//! calendar, and the town ranking (沙场赛马), with Excel exports.
//!
//! Who does what: the centre's office (handlers and unit leaders of the
//! office unit or a unit below it) and administrators set targets, assign
//! tasks, urge (催办), supervise (督办) and declare tasks done; the assigned
//! unit or town reports progress. Every reader sees the centres, targets
//! (counts only) and the ranking; tasks are seen by the office, leaders,
//! supervisors and administrators, and by a unit or town only its own (`404
//! command_task_not_found` otherwise).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::TimeLimit;
use mashangban_domain::command::{
    self, CentreDef, CommandAction, Commander, FORECAST_WEEKS, Forecast, TargetDef, TaskDef, TaskState,
    centre_not_found, office_only, target_not_found, task_not_found, task_not_yours,
};
use mashangban_domain::ledger::{FieldKind, LedgerType};
use mashangban_domain::org::{Actor, OrgTree, Role, UnitId, UnitKind};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{
    CentreRecord, CommandAuthor, CommandEvent, LedgerFilter, LedgerScope, RollupBy, Store, TargetRecord, TaskChange,
    TaskFilter, TaskRecord,
};

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

pub mod reports;

/// Tasks a listing answers at most.
pub const TASKS_MAX: u32 = 2000;
/// Stage moves the forecast reads per ledger type at most.
const ARRIVALS_MAX: u32 = 500_000;
/// History entries of a centre shown.
const HISTORY_SHOWN: u32 = 50;

/// Installs the bundled command centres that are not stored yet. Called at start-up.
pub async fn install_bundled<S: Store>(store: &S, at: Instant) -> AppResult<()> {
    let author = CommandAuthor { user_id: None, name: "系统".into(), at };
    Ok(store.install_command_centres(command::bundled(), author).await?)
}

/// The command-centre service: `app.command()`.
pub struct CommandCentres<'a, S> {
    app: &'a App<S>,
}

// ---- inputs -----------------------------------------------------------------------------

/// A centre's new definition (administrators).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreBody {
    /// The version read (`409 command_centre_changed` when stale).
    pub version: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub commanders: Vec<Commander>,
    /// Org code of the office unit (指挥部办公室).
    pub office_unit: String,
    /// Org codes of the member units.
    #[serde(default)]
    pub member_units: Vec<String>,
    /// Org codes of the member towns; none means every town.
    #[serde(default)]
    pub towns: Vec<String>,
    /// Ledger type codes the centre runs.
    #[serde(default)]
    pub ledger_types: Vec<String>,
}

/// A target: count the ledger's items in these stages (and with this choice) to reach `goal` by `due_on`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// Required when changing a target: the version read.
    #[serde(default)]
    pub version: Option<i64>,
    #[schemars(length(max = 100))]
    pub name: String,
    /// A ledger type the centre runs.
    pub ledger_type: String,
    /// Stage codes that count (e.g. `done`, `accepted`).
    pub stages: Vec<String>,
    /// A choice field of the type and the code it must hold (both or neither).
    #[serde(default)]
    pub choice_field: Option<String>,
    #[serde(default)]
    pub choice_code: Option<String>,
    /// Town code for a per-town target; city-wide when absent.
    #[serde(default)]
    pub town: Option<String>,
    pub goal: u64,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// A task to assign.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    #[schemars(length(max = 100))]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Org code of the unit or town it is assigned to.
    pub unit: String,
    /// Working days from now (Chinese working days on the platform's calendar).
    pub working_days: u32,
    /// A ledger item it moves, as `type:key`.
    #[serde(default)]
    pub ledger_ref: Option<String>,
}

/// A progress report, an urge or a supervision.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub note: String,
}

/// Declaring a task done.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneBody {
    #[serde(default)]
    pub note: Option<String>,
}

/// Which tasks a listing answers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TaskQuery {
    /// `assigned`, `reported` or `done`.
    pub state: Option<String>,
    /// Org code of the assigned unit or town.
    pub unit: Option<String>,
    /// `true`: only overdue tasks.
    pub overdue: Option<bool>,
}

// ---- views ------------------------------------------------------------------------------

/// A ledger type a centre runs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LedgerRef {
    pub code: String,
    pub name: String,
}

/// A command centre as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CentreView {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub commanders: Vec<Commander>,
    pub office: UnitRef,
    pub member_units: Vec<UnitRef>,
    /// The member towns (every town when the centre lists none).
    pub towns: Vec<UnitRef>,
    pub ledger_types: Vec<LedgerRef>,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
    /// The caller acts as the centre's office (or is an administrator).
    pub is_office: bool,
}

/// A stage a target counts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StageRef {
    pub code: String,
    pub name: String,
}

/// A target with its progress counted now and its forecast.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetView {
    pub id: i64,
    pub name: String,
    pub ledger_type: LedgerRef,
    pub stages: Vec<StageRef>,
    pub choice_field: Option<String>,
    pub choice_code: Option<String>,
    /// The condition in Chinese: `河涌整治：阶段为「完成整治」或「验收销号」，片区为「中心组团」`.
    pub condition: String,
    /// The town of a per-town target; none city-wide.
    pub town: Option<UnitRef>,
    pub goal: u64,
    pub due_on: String,
    /// Items meeting the condition now.
    pub progress: u64,
    /// Progress as a share of the goal, 0–100 (capped).
    pub percent: u32,
    /// Items that reached the condition in each of the last four weeks, the latest first.
    pub weekly: [u64; FORECAST_WEEKS],
    pub per_week: f64,
    pub forecast: Forecast,
    pub forecast_text: String,
    pub version: i64,
}

/// A task as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskView {
    pub id: i64,
    pub centre_code: String,
    pub title: String,
    pub description: Option<String>,
    pub unit: UnitRef,
    pub working_days: i64,
    pub due_at: String,
    pub ledger_ref: Option<String>,
    /// The ledger item's page, when linked.
    pub ledger_link: Option<String>,
    pub state: TaskState,
    pub state_label: &'static str,
    pub report_count: i64,
    pub urge_count: i64,
    pub supervised: bool,
    pub supervision_note: Option<String>,
    pub done_at: Option<String>,
    /// Done by its due time (done tasks only).
    pub on_time: Option<bool>,
    /// Not done and past its due time.
    pub overdue: bool,
    pub created_at: String,
    pub created_by: String,
    /// The caller may report on it now.
    pub may_report: bool,
    /// The caller may declare it done, urge and supervise it now (the office).
    pub may_manage: bool,
}

/// One entry of a history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CommandEventView {
    pub at: String,
    pub by: String,
    pub action: CommandAction,
    pub action_label: &'static str,
    pub note: Option<String>,
    pub target_id: Option<i64>,
    pub task_id: Option<i64>,
    /// The report form (定期报表) of a form's entry.
    pub form_id: Option<i64>,
    /// The pledge (军令状) of a pledge's entry.
    pub pledge_id: Option<i64>,
}

/// A task with its history (reports, urges, supervision).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskDetail {
    pub task: TaskView,
    pub history: Vec<CommandEventView>,
}

/// A town's place in the ranking (沙场赛马).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RankingRow {
    /// The place among the towns measured; none (未计) for a town with nothing to measure, listed after them.
    pub rank: Option<u32>,
    pub town: UnitRef,
    /// Mean completion of the town's own targets (each capped at 100 %), 0–100; none without targets.
    pub target_completion: Option<f64>,
    /// The town's own targets counted.
    pub targets: u32,
    /// Share of the town's tasks due by now or done that were done on time, 0–100; none without such tasks.
    pub tasks_on_time: Option<f64>,
    /// Tasks counted (done, or not done and overdue).
    pub tasks_counted: u32,
    /// Mean position of the town's items of the centre's ledgers along their stages (first stage 0,
    /// last 100); none without items.
    pub ledger_progress: Option<f64>,
    pub ledger_items: u64,
    /// Mean of the measures the town has, 0–100; none (未计, not 0) without any: no targets of its
    /// own, no task counted and no ledger item.
    pub score: Option<f64>,
}

/// Task counts of a centre in the caller's task scope.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct TaskCounts {
    pub assigned: u32,
    pub reported: u32,
    pub done: u32,
    pub overdue: u32,
}

/// A centre's dashboard.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Dashboard {
    pub centre: CentreView,
    pub targets: Vec<TargetView>,
    pub ranking: Vec<RankingRow>,
    pub counts: TaskCounts,
    pub overdue_tasks: Vec<TaskView>,
    /// Tasks in the caller's scope, soonest due first.
    pub tasks: Vec<TaskView>,
    /// Changes to the centre and its targets, newest first.
    pub history: Vec<CommandEventView>,
    /// Periodic reports past due and not filed, in the caller's scope (定期报送未报).
    pub missing_reports: Vec<reports::MissingReport>,
    /// Responsibility pledges (军令状) with their status.
    pub pledges: Vec<reports::PledgeView>,
    pub as_of: String,
}

// ---- access -----------------------------------------------------------------------------

/// What a person may do with one centre.
#[derive(Debug, Clone)]
struct Access {
    office: bool,
    /// The units whose tasks the person sees; `None` for all.
    task_units: Option<Vec<UnitId>>,
    /// The units the person reports for.
    own_units: Vec<UnitId>,
}

fn access_of(actor: &Actor, office_code: &str, org: &OrgTree) -> Access {
    let Actor::Staff(s) = actor else {
        return Access { office: false, task_units: Some(Vec::new()), own_units: vec![] };
    };
    let in_office = org.by_code(office_code).is_some_and(|office| org.subtree(office.id).contains(&s.unit_id));
    let mut own = s.units.clone();
    if let Some(town) = s.town_id
        && !own.contains(&town)
    {
        own.push(town);
    }
    match s.role {
        Role::Admin => Access { office: true, task_units: None, own_units: own },
        Role::Handler | Role::UnitLeader if in_office => Access { office: true, task_units: None, own_units: own },
        Role::CityLeader | Role::Supervisor => Access { office: false, task_units: None, own_units: Vec::new() },
        Role::Handler | Role::UnitLeader => Access { office: false, task_units: Some(own.clone()), own_units: own },
        _ => Access { office: false, task_units: Some(Vec::new()), own_units: Vec::new() },
    }
}

impl Access {
    fn sees(&self, task: &TaskRecord) -> bool {
        self.task_units.as_ref().is_none_or(|units| units.contains(&task.unit_id))
    }
}

fn author(caller: &Caller, at: Instant) -> CommandAuthor {
    CommandAuthor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
        at,
    }
}

fn sheet_error(e: mashangban_sheet::SheetError) -> AppError {
    AppError::from(DomainError::from(e))
}

/// Counts of one ledger type (under one choice condition) by town × stage.
type Counts = Vec<(Option<UnitId>, String, u64)>;
/// The counts read in one call, by ledger type and choice condition.
type CountCache = HashMap<(String, Option<(String, String)>), Counts>;

impl<'a, S: Store> CommandCentres<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    async fn record(&self, code: &str) -> AppResult<CentreRecord> {
        Ok(self.app.store().command_centre(code).await?.ok_or_else(|| centre_not_found(code))?)
    }

    fn access(&self, caller: &Caller, centre: &CentreRecord) -> Access {
        access_of(&caller.actor, &centre.office_unit_code, &self.app.caches().org())
    }

    /// The centre's towns: those listed, else every active town, by code.
    fn towns(&self, centre: &CentreRecord) -> Vec<UnitRef> {
        let org = self.app.caches().org();
        let mut towns: Vec<UnitRef> = if centre.towns.is_empty() {
            org.units()
                .filter(|u| u.kind == UnitKind::Town && u.active)
                .map(|u| UnitRef { code: u.code.clone(), name: u.display_name().to_owned() })
                .collect()
        } else {
            centre
                .towns
                .iter()
                .filter_map(|c| org.by_code(c))
                .map(|u| UnitRef { code: u.code.clone(), name: u.display_name().to_owned() })
                .collect()
        };
        towns.sort_by(|a, b| a.code.cmp(&b.code));
        towns
    }

    async fn ledger_type(&self, code: &str) -> AppResult<Option<LedgerType>> {
        match self.app.store().ledger_type(code).await? {
            Some(record) => Ok(Some(LedgerType::from_toml(&record.definition)?)),
            None => Ok(None),
        }
    }

    async fn centre_view(&self, centre: &CentreRecord, access: &Access) -> AppResult<CentreView> {
        let org = self.app.caches().org();
        let unit = |code: &str| {
            org.by_code(code).map_or_else(
                || UnitRef { code: code.to_owned(), name: code.to_owned() },
                |u| UnitRef { code: u.code.clone(), name: u.display_name().to_owned() },
            )
        };
        let mut ledger_types = Vec::new();
        for code in &centre.ledger_types {
            let name = self.ledger_type(code).await?.map_or_else(|| code.clone(), |t| t.name().to_owned());
            ledger_types.push(LedgerRef { code: code.clone(), name });
        }
        Ok(CentreView {
            code: centre.code.clone(),
            name: centre.name.clone(),
            description: centre.description.clone(),
            commanders: centre.commanders.clone(),
            office: unit(&centre.office_unit_code),
            member_units: centre.member_units.iter().map(|c| unit(c)).collect(),
            towns: self.towns(centre),
            ledger_types,
            version: centre.version,
            updated_at: format_instant(&centre.updated_at),
            updated_by: centre.updated_by.clone(),
            is_office: access.office,
        })
    }

    // ---- centres ---------------------------------------------------------------------------

    /// Every centre.
    pub async fn centres(&self, caller: &Caller) -> AppResult<Vec<CentreView>> {
        let mut out = Vec::new();
        for centre in self.app.store().command_centres().await? {
            let access = self.access(caller, &centre);
            out.push(self.centre_view(&centre, &access).await?);
        }
        Ok(out)
    }

    pub async fn centre(&self, caller: &Caller, code: &str) -> AppResult<CentreView> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        self.centre_view(&centre, &access).await
    }

    /// Saves a centre's definition (administrators): units, towns and ledger types must exist.
    pub async fn save_centre(&self, caller: &Caller, code: &str, body: CentreBody) -> AppResult<CentreView> {
        self.record(code).await?;
        let def = CentreDef::new(
            code,
            &body.name,
            body.description.as_deref(),
            body.commanders,
            &body.office_unit,
            body.member_units,
            body.towns,
            body.ledger_types,
        )?;
        let org = self.app.caches().org();
        for unit in std::iter::once(&def.office_unit_code).chain(&def.member_units) {
            if org.by_code(unit).is_none() {
                return Err(AppError::invalid("unknown_unit", format!("没有编码为「{unit}」的单位")));
            }
        }
        for town in &def.towns {
            if org.by_code(town).is_none_or(|u| u.kind != UnitKind::Town) {
                return Err(AppError::invalid("unknown_town", format!("没有编码为「{town}」的镇街")));
            }
        }
        for ty in &def.ledger_types {
            if self.app.store().ledger_type(ty).await?.is_none() {
                return Err(AppError::invalid("unknown_ledger_type", format!("没有台账类型「{ty}」")));
            }
        }
        let saved = self.app.store().save_command_centre(def, body.version, author(caller, self.app.now())).await?;
        let access = self.access(caller, &saved);
        self.centre_view(&saved, &access).await
    }

    // ---- targets ---------------------------------------------------------------------------

    async fn target_def(&self, centre: &CentreRecord, body: &TargetBody) -> AppResult<TargetDef> {
        let type_code = body.ledger_type.trim();
        if !centre.ledger_types.iter().any(|t| t == type_code) {
            return Err(AppError::invalid(
                "unknown_ledger_type",
                format!("「{}」不是本指挥部的台账类型", body.ledger_type),
            ));
        }
        let ty = self
            .ledger_type(type_code)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_ledger_type", format!("没有台账类型「{type_code}」")))?;
        for stage in &body.stages {
            if !stage.trim().is_empty() && ty.stage(stage.trim()).is_none() {
                return Err(AppError::invalid("unknown_stage", format!("台账「{}」没有阶段「{stage}」", ty.name())));
            }
        }
        let field = body.choice_field.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let choice_code = body.choice_code.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let choice = match (field, choice_code) {
            (None, None) => None,
            (Some(f), Some(c)) => {
                let list = match ty.field(f).map(|f| &f.kind) {
                    Some(FieldKind::Choice { list }) => ty.list(list),
                    _ => None,
                };
                if !list.is_some_and(|l| l.has_code(c)) {
                    return Err(AppError::invalid(
                        "unknown_choice",
                        format!("台账「{}」没有选项字段「{f}」或其选项「{c}」", ty.name()),
                    ));
                }
                Some((f.to_owned(), c.to_owned()))
            }
            _ => {
                return Err(AppError::invalid("unknown_choice", "选项条件须同时给出字段和选项"));
            }
        };
        let town_id = match body.town.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(code) => {
                let org = self.app.caches().org();
                match org.by_code(code) {
                    Some(u) if u.kind == UnitKind::Town => Some(u.id),
                    _ => return Err(AppError::invalid("unknown_town", format!("没有编码为「{code}」的镇街"))),
                }
            }
        };
        let due_on = NaiveDate::parse_from_str(body.due_on.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("invalid_date", "目标日期请写成 YYYY-MM-DD"))?;
        Ok(TargetDef::new(&body.name, type_code, body.stages.clone(), choice, town_id, body.goal, due_on)?)
    }

    /// Sets a target (the office).
    pub async fn create_target(&self, caller: &Caller, code: &str, body: TargetBody) -> AppResult<TargetView> {
        let centre = self.record(code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let def = self.target_def(&centre, &body).await?;
        let saved = self.app.store().create_command_target(code, def, author(caller, self.app.now())).await?;
        let mut views = self.target_views(vec![saved]).await?;
        views.pop().ok_or_else(AppError::internal)
    }

    /// Changes a target (the office), under its version.
    pub async fn update_target(&self, caller: &Caller, id: i64, body: TargetBody) -> AppResult<TargetView> {
        let found = self.app.store().command_target(id).await?.ok_or_else(target_not_found)?;
        let centre = self.record(&found.centre_code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "修改目标须带上读取时的版本号"))?;
        let def = self.target_def(&centre, &body).await?;
        let saved = self.app.store().update_command_target(id, version, def, author(caller, self.app.now())).await?;
        let mut views = self.target_views(vec![saved]).await?;
        views.pop().ok_or_else(AppError::internal)
    }

    /// A centre's targets with progress and forecast.
    pub async fn targets(&self, code: &str) -> AppResult<Vec<TargetView>> {
        self.record(code).await?;
        let targets = self.app.store().command_targets(code).await?;
        self.target_views(targets).await
    }

    /// Counts by town × stage of a type under a choice condition (cached per call).
    async fn counts(&self, cache: &mut CountCache, ty: &str, choice: &Option<(String, String)>) -> AppResult<Counts> {
        let key = (ty.to_owned(), choice.clone());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let filter = LedgerFilter { choices: choice.iter().cloned().collect(), ..LedgerFilter::default() };
        let cells = self.app.store().ledger_rollup(ty, &filter, &LedgerScope::All, RollupBy::Town).await?;
        let counts: Counts = cells
            .into_iter()
            .map(|c| (c.row.as_deref().and_then(|r| r.parse::<UnitId>().ok()), c.stage, c.count))
            .collect();
        cache.insert(key, counts.clone());
        Ok(counts)
    }

    async fn target_views(&self, targets: Vec<TargetRecord>) -> AppResult<Vec<TargetView>> {
        let now = self.app.now();
        let today = now.date_naive();
        let since = now - Duration::days(7 * FORECAST_WEEKS as i64);
        let org = self.app.caches().org();
        let mut counts_cache = HashMap::new();
        let mut arrivals: HashMap<String, Vec<mashangban_store::LedgerArrival>> = HashMap::new();
        let mut types: HashMap<String, Option<LedgerType>> = HashMap::new();
        let mut out = Vec::new();
        for t in targets {
            if !types.contains_key(&t.ledger_type) {
                let ty = self.ledger_type(&t.ledger_type).await?;
                types.insert(t.ledger_type.clone(), ty);
            }
            let ty = types.get(&t.ledger_type).and_then(Option::as_ref);
            let counts = self.counts(&mut counts_cache, &t.ledger_type, &t.choice).await?;
            let progress: u64 = counts
                .iter()
                .filter(|(town, stage, _)| t.stages.contains(stage) && (t.town_id.is_none() || *town == t.town_id))
                .map(|(_, _, n)| n)
                .sum();
            if !arrivals.contains_key(&t.ledger_type) {
                let moves = self.app.store().ledger_arrivals(&t.ledger_type, since, ARRIVALS_MAX).await?;
                arrivals.insert(t.ledger_type.clone(), moves);
            }
            let mut weekly = [0u64; FORECAST_WEEKS];
            for a in arrivals.get(&t.ledger_type).map(Vec::as_slice).unwrap_or_default() {
                let entered =
                    t.stages.contains(&a.to_stage) && !a.from_stage.as_ref().is_some_and(|f| t.stages.contains(f));
                if !entered || (t.town_id.is_some() && a.town_id != t.town_id) {
                    continue;
                }
                if let Some((field, code)) = &t.choice {
                    let values: serde_json::Value = serde_json::from_str(&a.values).unwrap_or_default();
                    if values[field.as_str()]["v"].as_str() != Some(code.as_str()) {
                        continue;
                    }
                }
                let weeks_ago = usize::try_from((now - a.at).num_days() / 7).unwrap_or(FORECAST_WEEKS);
                if let Some(slot) = weekly.get_mut(weeks_ago) {
                    *slot += 1;
                }
            }
            let goal = u64::try_from(t.goal).unwrap_or(0);
            let forecast = command::forecast(progress, goal, &weekly, today, t.due_on);
            let per_week = command::per_week(&weekly);
            let stage_name = |s: &str| ty.and_then(|ty| ty.stage(s)).map_or_else(|| s.to_owned(), |s| s.name.clone());
            let type_name = ty.map_or_else(|| t.ledger_type.clone(), |ty| ty.name().to_owned());
            let stages: Vec<StageRef> =
                t.stages.iter().map(|s| StageRef { code: s.clone(), name: stage_name(s) }).collect();
            let mut condition = format!(
                "{type_name}：阶段为{}",
                stages.iter().map(|s| format!("「{}」", s.name)).collect::<Vec<_>>().join("或")
            );
            if let Some((field, code)) = &t.choice {
                let (label, shown) = ty
                    .and_then(|ty| {
                        let f = ty.field(field)?;
                        let shown = match &f.kind {
                            FieldKind::Choice { list } => ty.list(list).and_then(|l| l.name_of(code)),
                            _ => None,
                        };
                        Some((f.label.clone(), shown.unwrap_or(code).to_owned()))
                    })
                    .unwrap_or_else(|| (field.clone(), code.clone()));
                condition.push_str(&format!("，{label}为「{shown}」"));
            }
            let percent = (progress.min(goal) * 100).checked_div(goal).map_or(0, |p| u32::try_from(p).unwrap_or(100));
            out.push(TargetView {
                id: t.id,
                name: t.name,
                ledger_type: LedgerRef { code: t.ledger_type.clone(), name: type_name },
                stages,
                choice_field: t.choice.as_ref().map(|c| c.0.clone()),
                choice_code: t.choice.as_ref().map(|c| c.1.clone()),
                condition,
                town: unit_ref(&org, t.town_id),
                goal,
                due_on: t.due_on.format("%Y-%m-%d").to_string(),
                progress,
                percent,
                weekly,
                per_week,
                forecast_text: forecast.text(per_week, t.due_on),
                forecast,
                version: t.version,
            });
        }
        Ok(out)
    }

    // ---- tasks -----------------------------------------------------------------------------

    fn task_view(&self, task: &TaskRecord, access: &Access, org: &OrgTree, now: &Instant) -> TaskView {
        let unit = unit_ref(org, Some(task.unit_id))
            .unwrap_or_else(|| UnitRef { code: task.unit_id.to_string(), name: task.unit_id.to_string() });
        let open = task.state != TaskState::Done;
        TaskView {
            id: task.id,
            centre_code: task.centre_code.clone(),
            title: task.title.clone(),
            description: task.description.clone(),
            unit,
            working_days: task.working_days,
            due_at: format_instant(&task.due_at),
            ledger_link: task
                .ledger_ref
                .as_deref()
                .and_then(|r| r.split_once(':'))
                .map(|(ty, key)| format!("/ledgers/{ty}/items/{key}")),
            ledger_ref: task.ledger_ref.clone(),
            state: task.state,
            state_label: task.state.label(),
            report_count: task.report_count,
            urge_count: task.urge_count,
            supervised: task.supervised_at.is_some(),
            supervision_note: task.supervision_note.clone(),
            done_at: task.done_at.as_ref().map(format_instant),
            on_time: command::done_on_time(task.state, &task.due_at, task.done_at.as_ref()),
            overdue: command::is_overdue(task.state, &task.due_at, now),
            created_at: format_instant(&task.created_at),
            created_by: task.created_by.clone(),
            may_report: open && (access.own_units.contains(&task.unit_id) || access.office),
            may_manage: open && access.office,
        }
    }

    /// Assigns a task (the office): due `working_days` working days from now on the calendar.
    pub async fn create_task(&self, caller: &Caller, code: &str, body: TaskBody) -> AppResult<TaskView> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        if !access.office {
            return Err(office_only().into());
        }
        let org = self.app.caches().org();
        let unit = org
            .by_code(body.unit.trim())
            .filter(|u| u.active)
            .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{}」的单位或镇街", body.unit)))?;
        let ledger_ref = match body.ledger_ref.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => {
                let item = self.app.ledgers().reference(text).await?;
                if !centre.ledger_types.contains(&item.type_code) {
                    return Err(AppError::invalid(
                        "ledger_item_outside_centre",
                        format!("台账条目「{text}」不属于{}的台账", centre.name),
                    ));
                }
                Some(item.reference())
            }
        };
        let def = TaskDef::new(&body.title, body.description.as_deref(), unit.id, body.working_days, ledger_ref)?;
        let now = self.app.now();
        let due =
            self.app.caches().calendar().deadline_or_provisional(now, TimeLimit::working_days(def.working_days))?;
        let saved = self.app.store().create_command_task(code, def, due.at, author(caller, now)).await?;
        Ok(self.task_view(&saved, &access, &org, &now))
    }

    /// Tasks of a centre in the caller's scope.
    pub async fn tasks(&self, caller: &Caller, code: &str, q: &TaskQuery) -> AppResult<Vec<TaskView>> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        let org = self.app.caches().org();
        let now = self.app.now();
        let mut filter = TaskFilter {
            centre_code: Some(code.to_owned()),
            units: access.task_units.clone(),
            limit: TASKS_MAX,
            ..TaskFilter::default()
        };
        if let Some(state) = q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            filter.state = Some(TaskState::parse(state).ok_or_else(|| {
                AppError::bad_parameter("state 只能是 assigned（已交办）、reported（已报进展）或 done（已办结）")
            })?);
        }
        if let Some(unit) = q.unit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let id = org.by_code(unit).map(|u| u.id).ok_or_else(|| AppError::bad_parameter("没有这个单位或镇街"))?;
            filter.units = Some(match filter.units {
                Some(units) => units.into_iter().filter(|u| *u == id).collect(),
                None => vec![id],
            });
        }
        if q.overdue == Some(true) {
            filter.overdue_at = Some(now);
        }
        let tasks = self.app.store().command_tasks(&filter).await?;
        Ok(tasks.iter().map(|t| self.task_view(t, &access, &org, &now)).collect())
    }

    async fn scoped_task(&self, caller: &Caller, id: i64) -> AppResult<(TaskRecord, Access)> {
        let task = self.app.store().command_task(id).await?.ok_or_else(task_not_found)?;
        let centre = self.record(&task.centre_code).await?;
        let access = self.access(caller, &centre);
        if !access.sees(&task) {
            return Err(task_not_found().into());
        }
        Ok((task, access))
    }

    /// A task with its history.
    pub async fn task(&self, caller: &Caller, id: i64) -> AppResult<TaskDetail> {
        let (task, access) = self.scoped_task(caller, id).await?;
        let history = self.app.store().command_task_events(id).await?.iter().map(event_view).collect();
        let org = self.app.caches().org();
        Ok(TaskDetail { task: self.task_view(&task, &access, &org, &self.app.now()), history })
    }

    async fn change(&self, caller: &Caller, id: i64, change: TaskChange, office: bool) -> AppResult<TaskDetail> {
        let (task, access) = self.scoped_task(caller, id).await?;
        if office && !access.office {
            return Err(office_only().into());
        }
        if !office && !access.own_units.contains(&task.unit_id) && !access.office {
            return Err(task_not_yours().into());
        }
        let now = self.app.now();
        self.app.store().change_command_task(id, change, author(caller, now)).await?;
        self.task(caller, id).await
    }

    /// Files a progress report (the assigned unit or town; the office may file one for it).
    pub async fn report(&self, caller: &Caller, id: i64, body: NoteBody) -> AppResult<TaskDetail> {
        let text = command::note("进展情况", &body.note)?;
        self.change(caller, id, TaskChange::Report(text), false).await
    }

    /// Declares a reported task done (the office).
    pub async fn done(&self, caller: &Caller, id: i64, body: DoneBody) -> AppResult<TaskDetail> {
        let note = mashangban_domain::validation::optional_text("办结意见", body.note.as_deref(), command::TEXT_MAX)?;
        self.change(caller, id, TaskChange::Done(note), true).await
    }

    /// Urges a task (催办, the office).
    pub async fn urge(&self, caller: &Caller, id: i64, body: NoteBody) -> AppResult<TaskDetail> {
        let text = command::note("催办意见", &body.note)?;
        self.change(caller, id, TaskChange::Urge(text), true).await
    }

    /// Places a task under supervision (督办, the office).
    pub async fn supervise(&self, caller: &Caller, id: i64, body: NoteBody) -> AppResult<TaskDetail> {
        let text = command::note("督办意见", &body.note)?;
        self.change(caller, id, TaskChange::Supervise(text), true).await
    }

    // ---- ranking and dashboard -------------------------------------------------------------

    /// The town ranking (沙场赛马) of a centre.
    pub async fn ranking(&self, code: &str) -> AppResult<Vec<RankingRow>> {
        let centre = self.record(code).await?;
        let targets = self.app.store().command_targets(code).await?;
        let views = self.target_views(targets).await?;
        self.rank(&centre, &views).await
    }

    async fn rank(&self, centre: &CentreRecord, targets: &[TargetView]) -> AppResult<Vec<RankingRow>> {
        let org = self.app.caches().org();
        let now = self.app.now();
        let all = TaskFilter { centre_code: Some(centre.code.clone()), limit: 10_000, ..TaskFilter::default() };
        let tasks = self.app.store().command_tasks(&all).await?;
        // Ledger progress: per type, the items by town × stage, weighted by the stage's position.
        let mut ledger: BTreeMap<UnitId, (f64, u64)> = BTreeMap::new();
        for code in &centre.ledger_types {
            let Some(ty) = self.ledger_type(code).await? else { continue };
            let last = ty.stages().len().saturating_sub(1).max(1) as f64;
            let position: HashMap<&str, f64> =
                ty.stages().iter().enumerate().map(|(i, s)| (s.code.as_str(), i as f64 / last)).collect();
            let cells = self
                .app
                .store()
                .ledger_rollup(code, &LedgerFilter::default(), &LedgerScope::All, RollupBy::Town)
                .await?;
            for cell in cells {
                let Some(town) = cell.row.as_deref().and_then(|r| r.parse::<UnitId>().ok()) else { continue };
                let entry = ledger.entry(town).or_default();
                entry.0 += position.get(cell.stage.as_str()).copied().unwrap_or(0.0) * cell.count as f64;
                entry.1 += cell.count;
            }
        }
        let mut rows = Vec::new();
        for town in self.towns(centre) {
            let Some(unit) = org.by_code(&town.code) else { continue };
            let own: Vec<&TargetView> =
                targets.iter().filter(|t| t.town.as_ref().is_some_and(|u| u.code == town.code)).collect();
            let target_completion = (!own.is_empty()).then(|| {
                own.iter().map(|t| (t.progress.min(t.goal) as f64) / (t.goal.max(1) as f64)).sum::<f64>() * 100.0
                    / own.len() as f64
            });
            let area = org.subtree(unit.id);
            let (mut on_time, mut counted) = (0u32, 0u32);
            for t in tasks.iter().filter(|t| area.contains(&t.unit_id)) {
                match command::done_on_time(t.state, &t.due_at, t.done_at.as_ref()) {
                    Some(true) => {
                        on_time += 1;
                        counted += 1;
                    }
                    Some(false) => counted += 1,
                    None if command::is_overdue(t.state, &t.due_at, &now) => counted += 1,
                    None => {}
                }
            }
            let tasks_on_time = (counted > 0).then(|| f64::from(on_time) * 100.0 / f64::from(counted));
            let (weighted, items) = ledger.get(&unit.id).copied().unwrap_or_default();
            let ledger_progress = (items > 0).then(|| weighted * 100.0 / items as f64);
            let measures: Vec<f64> =
                [target_completion, tasks_on_time, ledger_progress].into_iter().flatten().collect();
            let score = (!measures.is_empty()).then(|| measures.iter().sum::<f64>() / measures.len() as f64);
            rows.push(RankingRow {
                rank: None,
                town,
                target_completion: target_completion.map(round1),
                targets: u32::try_from(own.len()).unwrap_or(u32::MAX),
                tasks_on_time: tasks_on_time.map(round1),
                tasks_counted: counted,
                ledger_progress: ledger_progress.map(round1),
                ledger_items: items,
                score: score.map(round1),
            });
        }
        place(&mut rows);
        Ok(rows)
    }

    /// A centre's dashboard: targets with progress and forecast, the town ranking, task counts,
    /// overdue tasks and the task list in the caller's scope, and the recent history.
    pub async fn dashboard(&self, caller: &Caller, code: &str) -> AppResult<Dashboard> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        let targets = self.target_views(self.app.store().command_targets(code).await?).await?;
        let ranking = self.rank(&centre, &targets).await?;
        let tasks = self.tasks(caller, code, &TaskQuery::default()).await?;
        let mut counts = TaskCounts::default();
        for t in &tasks {
            match t.state {
                TaskState::Assigned => counts.assigned += 1,
                TaskState::Reported => counts.reported += 1,
                TaskState::Done => counts.done += 1,
            }
            if t.overdue {
                counts.overdue += 1;
            }
        }
        let overdue_tasks = tasks.iter().filter(|t| t.overdue).cloned().collect();
        let history =
            self.app.store().command_centre_events(code, HISTORY_SHOWN).await?.iter().map(event_view).collect();
        let missing_reports = self.missing_reports(caller, code).await?;
        let pledges = self.pledge_views(code, &targets).await?;
        Ok(Dashboard {
            centre: self.centre_view(&centre, &access).await?,
            targets,
            ranking,
            counts,
            overdue_tasks,
            tasks,
            history,
            missing_reports,
            pledges,
            as_of: format_instant(&self.app.now()),
        })
    }

    // ---- Excel -----------------------------------------------------------------------------

    /// The ranking as a workbook: `(file name, bytes)`.
    pub async fn ranking_xlsx(&self, code: &str) -> AppResult<(String, Vec<u8>)> {
        let centre = self.record(code).await?;
        let rows = self.ranking(code).await?;
        let columns = vec![
            WriteColumn::new("名次", Kind::Integer),
            WriteColumn::text("镇街"),
            WriteColumn::new("目标完成率(%)", Kind::Number),
            WriteColumn::new("本镇目标数", Kind::Integer),
            WriteColumn::new("任务按时办结率(%)", Kind::Number),
            WriteColumn::new("计入任务数", Kind::Integer),
            WriteColumn::new("台账推进度(%)", Kind::Number),
            WriteColumn::new("台账条目数", Kind::Integer),
            WriteColumn::new("综合得分", Kind::Number),
        ];
        let title = format!("{}沙场赛马排名（截至{}）", centre.name, self.app.now().format("%Y-%m-%d %H:%M"));
        let mut export = Export::with_preamble("镇街排名", &[title], columns).map_err(sheet_error)?;
        let opt = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Number);
        for r in &rows {
            export
                .push(&[
                    r.rank.map_or_else(|| Cell::Text("—".into()), |n| Cell::Number(f64::from(n))),
                    Cell::Text(r.town.name.clone()),
                    opt(r.target_completion),
                    Cell::Number(f64::from(r.targets)),
                    opt(r.tasks_on_time),
                    Cell::Number(f64::from(r.tasks_counted)),
                    opt(r.ledger_progress),
                    Cell::Number(r.ledger_items as f64),
                    r.score.map_or_else(|| Cell::Text(UNMEASURED.into()), Cell::Number),
                ])
                .map_err(sheet_error)?;
        }
        Ok((format!("{}镇街排名.xlsx", centre.name), export.finish().map_err(sheet_error)?))
    }

    /// The dashboard as a workbook (the targets with progress and forecast, then the tasks in the
    /// caller's scope, one block each): `(file name, bytes)`.
    pub async fn dashboard_xlsx(&self, caller: &Caller, code: &str) -> AppResult<(String, Vec<u8>)> {
        let d = self.dashboard(caller, code).await?;
        let columns = vec![
            WriteColumn::text("类别"),
            WriteColumn::text("名称"),
            WriteColumn::text("范围/承办"),
            WriteColumn::text("条件/状态"),
            WriteColumn::new("目标数", Kind::Integer),
            WriteColumn::new("当前进度", Kind::Integer),
            WriteColumn::new("完成率(%)", Kind::Integer),
            WriteColumn::text("期限"),
            WriteColumn::text("预测/情况"),
        ];
        let title = format!("{}工作台（截至{}）", d.centre.name, self.app.now().format("%Y-%m-%d %H:%M"));
        let mut export = Export::with_preamble("指挥部", &[title], columns).map_err(sheet_error)?;
        for t in &d.targets {
            export
                .push(&[
                    Cell::Text("目标".into()),
                    Cell::Text(t.name.clone()),
                    Cell::Text(t.town.as_ref().map_or_else(|| "全市".to_owned(), |u| u.name.clone())),
                    Cell::Text(t.condition.clone()),
                    Cell::Number(t.goal as f64),
                    Cell::Number(t.progress as f64),
                    Cell::Number(f64::from(t.percent)),
                    Cell::Text(t.due_on.clone()),
                    Cell::Text(t.forecast_text.clone()),
                ])
                .map_err(sheet_error)?;
        }
        for t in &d.tasks {
            let mut situation = format!("报送{}次，催办{}次", t.report_count, t.urge_count);
            if t.supervised {
                situation.push_str("，督办中");
            }
            if t.overdue {
                situation.push_str("，已超期");
            }
            if t.on_time == Some(false) {
                situation.push_str("，超期办结");
            }
            export
                .push(&[
                    Cell::Text("任务".into()),
                    Cell::Text(t.title.clone()),
                    Cell::Text(t.unit.name.clone()),
                    Cell::Text(t.state_label.to_owned()),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Text(short(&t.due_at)),
                    Cell::Text(situation),
                ])
                .map_err(sheet_error)?;
        }
        Ok((format!("{}工作台.xlsx", d.centre.name), export.finish().map_err(sheet_error)?))
    }
}

/// What the ranking shows for a town with nothing to measure, in place of a score.
pub const UNMEASURED: &str = "未计";

/// Orders the ranking — measured towns by score (ties share a place, then by town code), then the
/// towns with nothing to measure, unplaced — and numbers the places.
fn place(rows: &mut [RankingRow]) {
    rows.sort_by(|a, b| {
        let by_score = match (a.score, b.score) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (x, y) => y.is_some().cmp(&x.is_some()),
        };
        by_score.then_with(|| a.town.code.cmp(&b.town.code))
    });
    let mut rank = 0;
    let mut last: Option<f64> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(score) = row.score else { continue };
        if last != Some(score) {
            rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
            last = Some(score);
        }
        row.rank = Some(rank);
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 time.
fn short(rfc3339: &str) -> String {
    rfc3339.get(..16).map_or_else(|| rfc3339.to_owned(), |s| s.replace('T', " "))
}

fn event_view(e: &CommandEvent) -> CommandEventView {
    CommandEventView {
        at: format_instant(&e.at),
        by: e.by_name.clone(),
        action: e.action,
        action_label: e.action.label(),
        note: e.note.clone(),
        target_id: e.target_id,
        task_id: e.task_id,
        form_id: e.form_id,
        pledge_id: e.pledge_id,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::org::{StaffActor, Unit};

    fn org() -> OrgTree {
        let unit = |id, code: &str, kind, parent| Unit {
            id,
            code: code.into(),
            name: code.into(),
            short_name: None,
            kind,
            parent_id: parent,
            active: true,
        };
        OrgTree::new(vec![
            unit(1, "city", UnitKind::City, None),
            unit(2, "swuj", UnitKind::Department, Some(1)),
            unit(3, "swuj-hdk", UnitKind::Subunit, Some(2)),
            unit(4, "guzhen", UnitKind::Town, Some(1)),
        ])
    }

    fn staff(role: Role, unit: i64, town: Option<i64>) -> Actor {
        Actor::Staff(StaffActor {
            user_id: Some(9),
            name: "x".into(),
            role,
            unit_id: unit,
            units: vec![unit],
            town_id: town,
        })
    }

    #[test]
    fn the_office_is_the_office_unit_and_below_and_towns_see_their_own_tasks() {
        let org = org();
        let office = access_of(&staff(Role::Handler, 3, None), "swuj", &org);
        assert!(office.office && office.task_units.is_none());
        let town = access_of(&staff(Role::Handler, 4, Some(4)), "swuj", &org);
        assert!(!town.office);
        assert_eq!(town.task_units, Some(vec![4]));
        let leader = access_of(&staff(Role::CityLeader, 1, None), "swuj", &org);
        assert!(!leader.office && leader.task_units.is_none() && leader.own_units.is_empty());
        assert!(access_of(&staff(Role::Admin, 1, None), "swuj", &org).office);
        assert_eq!(access_of(&staff(Role::Operator, 1, None), "swuj", &org).task_units, Some(vec![]));
    }
}
