//! 拿地即开工 (land to construction in minutes): approval projects, each
//! step's pre-review, start and issue recorded to the second by the
//! department that owns it (on its page or from its own system through the
//! API), the clock from the land transaction to the construction permit, the
//! planned and actual critical paths, the record table across projects and
//! the reports (time to permit by district, departments' contributions to
//! the critical path, steps most often late).
//!
//! Access: everyone on the staff reads (`ReadApprovals`); administrators and
//! dispatchers — the investment office's desk — create projects and record
//! the land transaction (`ManageApprovals`); handlers and unit leaders record
//! the steps their own unit owns (`RecordApprovals`; another unit's step is
//! `403 not_step_owner`, decided by the domain). Every refusal of an action
//! is the domain's code; nothing is written on a refusal.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::approvals::{
    ApprovalAction, ApprovalPlan, BUNDLED_APPROVAL_PLAN, PlanTemplate, ProjectInput, StepField, StepStatus,
    TemplateRows, late_step_counts, parse_template_toml, project_not_found, template_not_found, template_toml,
};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{ApprovalProject, ApprovalRecord, ApprovalRecorder, Store, StoredApprovalTemplate};

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// Projects read at most for the record table and the reports.
pub const MAX_PROJECTS: u32 = 2000;
/// Projects one live page follows at most.
pub const MAX_LIVE_PROJECTS: usize = 20;

/// The approvals service: `app.approvals()`.
pub struct Approvals<'a, S> {
    app: &'a App<S>,
}

/// A new project. `unit` is the code of its district or town (区/镇街).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectBody {
    #[schemars(length(max = 100))]
    pub name: String,
    /// The enterprise's unified social credit code (统一社会信用代码), if known.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The investment ledger item's key (招商台账编号), if any.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub ledger_key: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
}

/// The land transaction (摘牌/成交): the clock starts.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionBody {
    /// RFC 3339, kept to the second; the present moment when absent.
    #[serde(default)]
    pub at: Option<String>,
    /// The project's version the action was made on (optional optimistic check).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A step's pre-review, start or issue, by its owning department.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// RFC 3339, kept to the second; the present moment when absent.
    #[serde(default)]
    pub at: Option<String>,
    /// The document number (文号); required to issue.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub document_no: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// What is done to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepDeed {
    PreReview,
    Start,
    Issue,
}

impl StepDeed {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pre-review" => Some(Self::PreReview),
            "start" => Some(Self::Start),
            "issue" => Some(Self::Issue),
            _ => None,
        }
    }
}

/// A project in lists: where it stands and its clock.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectSummary {
    pub id: i64,
    pub name: String,
    pub credit_code: Option<String>,
    pub ledger_key: Option<String>,
    /// The district or town.
    pub unit: Option<UnitRef>,
    pub version: i64,
    pub transaction_at: Option<String>,
    pub permit_at: Option<String>,
    /// From the transaction to the permit, or to now while it runs.
    pub elapsed_seconds: Option<i64>,
    /// As the report writes it: 「16分钟」, 「2分30秒」.
    pub elapsed_label: Option<String>,
    pub running: bool,
    pub step_count: usize,
    pub issued: usize,
    pub created_at: String,
    pub created_by: String,
}

/// One step of a project: plan against actual.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepView {
    pub code: String,
    pub name: String,
    pub document: Option<String>,
    pub owner: UnitRef,
    pub prerequisites: Vec<String>,
    /// `waiting`, `ready`, `in_progress`, `issued`.
    pub status: String,
    pub status_label: String,
    pub pre_review_allowed: bool,
    pub pre_reviewed_at: Option<String>,
    pub started_at: Option<String>,
    pub issued_at: Option<String>,
    pub document_no: Option<String>,
    pub planned_minutes: u32,
    pub planned_start_minute: u64,
    pub planned_finish_minute: u64,
    pub planned_slack_minutes: u64,
    pub on_planned_critical_path: bool,
    pub ready_at: Option<String>,
    /// From ready to issue.
    pub actual_seconds: Option<i64>,
    /// From the transaction to the issue.
    pub actual_finish_seconds: Option<i64>,
    /// Actual finish less planned finish (negative: early); for a step not
    /// yet issued, how far past its planned finish it is.
    pub delay_seconds: Option<i64>,
    pub late: bool,
    pub on_actual_critical_path: bool,
    /// Whether the caller's unit owns the step and may record it.
    pub yours: bool,
}

/// One link of the actual critical path.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CriticalLinkView {
    pub step: String,
    pub name: String,
    pub owner: UnitRef,
    pub from: String,
    pub to: String,
    pub seconds: i64,
}

/// Plan against actual for one owning unit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DepartmentView {
    pub owner: UnitRef,
    pub steps: usize,
    pub issued: usize,
    pub late: usize,
    pub planned_minutes: u64,
    pub actual_seconds: i64,
    pub planned_critical_minutes: u64,
    pub actual_critical_seconds: i64,
}

/// One recorded action, as the log shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordView {
    pub seq: i64,
    /// `record_transaction`, `record_pre_review`, `start_step`, `issue_step`.
    pub action: String,
    pub action_label: String,
    pub step: Option<String>,
    pub step_name: Option<String>,
    pub unit: Option<UnitRef>,
    pub at: String,
    pub document_no: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
}

/// A project with its steps, clock, critical paths, departments and log.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub summary: ProjectSummary,
    pub template_code: String,
    pub template_name: String,
    pub template_version: i64,
    /// The planned time to the permit (critical path method), in minutes.
    pub planned_minutes: u64,
    pub planned_critical_path: Vec<String>,
    /// Once the permit is issued: the chain of issues that determined its time.
    pub actual_critical_path: Option<Vec<CriticalLinkView>>,
    pub steps: Vec<StepView>,
    pub departments: Vec<DepartmentView>,
    pub log: Vec<RecordView>,
    /// The server's time of this view, for running clocks.
    pub now: String,
}

/// One row of the record table (纪录榜): projects with their permit, fastest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordRow {
    pub rank: usize,
    pub project: ProjectSummary,
}

/// Time to the permit in one district or town.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DistrictReport {
    /// None: projects without a district.
    pub unit: Option<UnitRef>,
    pub projects: usize,
    pub permitted: usize,
    pub fastest_seconds: Option<i64>,
    pub average_seconds: Option<i64>,
    pub slowest_seconds: Option<i64>,
}

/// One department's share of the actual critical paths of permitted projects.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContributionReport {
    pub owner: UnitRef,
    /// Permitted projects whose critical path passed through it.
    pub projects: usize,
    pub critical_seconds: i64,
    /// Its share of all critical-path seconds, in per mille.
    pub share_permille: i64,
}

/// How often a step was late against plan.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LateStepReport {
    pub step: String,
    pub name: String,
    pub late: usize,
}

/// The reports across projects.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApprovalReports {
    pub by_district: Vec<DistrictReport>,
    pub contributions: Vec<ContributionReport>,
    pub late_steps: Vec<LateStepReport>,
}

/// A new version of the plan template, as TOML (the format of `data/approval_plan.toml`).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// At most 64 KB: `code`, `name`, then `[[step]]` blocks with `code`, `name`, `document`, `owner`,
    /// `prerequisites`, `planned_minutes`, `pre_review`.
    pub body: String,
    /// The id of the version in force the edit was made on (optional optimistic check:
    /// `409 approval_template_changed` when another version was saved meanwhile).
    #[serde(default)]
    pub base: Option<i64>,
}

/// One stored version of the plan template.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TemplateView {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub name: String,
    /// The TOML text.
    pub body: String,
    pub created_at: String,
    pub created_by: String,
    /// The version it replaced.
    pub supersedes: Option<i64>,
    /// Whether new projects are created on it (the last version saved).
    pub in_force: bool,
    pub step_count: usize,
    /// Planned minutes from the transaction to the permit.
    pub planned_minutes: u64,
    /// Projects created on it so far.
    pub projects: usize,
}

/// A refused save of the template's table: why, and the row (an index into
/// the rows given) and field it is about when one is to blame.
#[derive(Debug, Clone)]
pub struct TemplateRefusal {
    pub error: AppError,
    pub row: Option<usize>,
    pub field: Option<StepField>,
}

impl From<AppError> for TemplateRefusal {
    fn from(error: AppError) -> Self {
        Self { error, row: None, field: None }
    }
}

/// Versions of the plan template listed at most.
pub const MAX_TEMPLATE_VERSIONS: u32 = 200;

/// Who seeds the bundled template.
const SEEDER: &str = "系统（内置模板）";

/// A project's plan rebuilt from its log.
pub struct Rebuilt {
    pub project: ApprovalProject,
    pub plan: ApprovalPlan,
    pub records: Vec<ApprovalRecord>,
    pub template_version: i64,
}

impl<'a, S: Store> Approvals<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Creates a project on the plan template in force (the bundled one,
    /// stored on first use, until an administrator saves another version).
    /// The project keeps that version whatever is saved later.
    pub async fn create(&self, caller: &Caller, body: ProjectBody) -> AppResult<ProjectView> {
        let org = self.app.caches().org();
        let unit_id = match body.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(code) => match org.by_code(code) {
                Some(u) if u.active && matches!(u.kind, UnitKind::Town | UnitKind::City) => Some(u.id),
                _ => {
                    return Err(AppError::invalid(
                        "unknown_district",
                        format!("「{}」不是组织架构中的区或镇街", shorten(code)),
                    ));
                }
            },
        };
        let input = ProjectInput::new(&body.name, body.credit_code.as_deref(), body.ledger_key.as_deref(), unit_id)?;
        let stored = self.template_in_force().await?;
        parse_template_toml(&stored.body)?.validate_owners(|code| org.by_code(code).is_some_and(|u| u.active))?;
        let project =
            self.app.store().create_approval_project(input, stored.id, self.app.now(), recorder(caller)).await?;
        self.app.live().publish_approval(project.id);
        self.get(caller, project.id).await
    }

    /// The version of the plan template in force, the bundled one stored first when none is.
    async fn template_in_force(&self) -> AppResult<StoredApprovalTemplate> {
        if let Some(current) = self.app.store().current_approval_template().await? {
            return Ok(current);
        }
        let seeder = ApprovalRecorder { user_id: None, name: SEEDER.to_owned() };
        let bundled = BUNDLED_APPROVAL_PLAN.to_owned();
        Ok(self.app.store().save_approval_template(bundled, None, self.app.now(), seeder).await?)
    }

    /// The plan template in force.
    pub async fn template(&self) -> AppResult<TemplateView> {
        let current = self.template_in_force().await?;
        self.template_views(vec![current], None).await?.pop().ok_or_else(AppError::internal)
    }

    /// One stored version (`404 approval_template_not_found`).
    pub async fn template_version(&self, id: i64) -> AppResult<TemplateView> {
        let current = self.template_in_force().await?;
        let stored = self.app.store().approval_template(id).await?.ok_or_else(template_not_found)?;
        self.template_views(vec![stored], Some(current.id)).await?.pop().ok_or_else(AppError::internal)
    }

    /// The stored versions, newest (the one in force) first.
    pub async fn template_versions(&self) -> AppResult<Vec<TemplateView>> {
        let current = self.template_in_force().await?;
        let stored = self.app.store().approval_templates(MAX_TEMPLATE_VERSIONS).await?;
        self.template_views(stored, Some(current.id)).await
    }

    /// Saves a new version of the plan template, in force for projects created
    /// from now on (projects already created keep theirs). The whole template
    /// is validated (the domain's codes) and every owner must be an active unit
    /// of the organisation (`unknown_owner`). Text equal to the version in
    /// force stores nothing and answers it.
    pub async fn save_template(&self, caller: &Caller, body: TemplateBody) -> AppResult<TemplateView> {
        let template = parse_template_toml(&body.body)?;
        let org = self.app.caches().org();
        template.validate_owners(|code| org.by_code(code).is_some_and(|u| u.active))?;
        self.store_template(caller, body.body, body.base).await
    }

    /// Saves the template edited as a table (the page's editor): the rows
    /// go through the same whole-template check and owner check as the TOML
    /// text, and are stored as TOML; a refusal names the row and field.
    /// Rows saying what the version in force says store nothing; `base`
    /// works as for [`Approvals::save_template`].
    pub async fn save_template_rows(
        &self,
        caller: &Caller,
        rows: &TemplateRows,
        base: Option<i64>,
    ) -> Result<TemplateView, TemplateRefusal> {
        let org = self.app.caches().org();
        let template = rows
            .template(|code| org.by_code(code).is_some_and(|u| u.active))
            .map_err(|fault| TemplateRefusal { error: fault.error.into(), row: fault.step, field: fault.field })?;
        let body = template_toml(&template).map_err(AppError::from)?;
        Ok(self.store_template(caller, body, base).await?)
    }

    /// Stores a checked text as the version in force (or answers the version
    /// in force when it says the same).
    async fn store_template(&self, caller: &Caller, body: String, base: Option<i64>) -> AppResult<TemplateView> {
        let stored = self.app.store().save_approval_template(body, base, self.app.now(), recorder(caller)).await?;
        self.template_views(vec![stored], None).await?.pop().ok_or_else(AppError::internal)
    }

    /// Views of stored versions; the one in force is `current` (each of them when `None`).
    async fn template_views(
        &self,
        stored: Vec<StoredApprovalTemplate>,
        current: Option<i64>,
    ) -> AppResult<Vec<TemplateView>> {
        let projects = self.app.store().approval_projects(MAX_PROJECTS).await?;
        stored.into_iter().map(|t| template_view(t, current, &projects)).collect()
    }

    /// Records the land transaction.
    pub async fn record_transaction(&self, caller: &Caller, id: i64, body: TransactionBody) -> AppResult<ProjectView> {
        let at = self.time(body.at.as_deref())?;
        self.record(caller, id, ApprovalAction::RecordTransaction { at }, body.version).await
    }

    /// Records a step's pre-review, start or issue for the caller's unit.
    pub async fn record_step(
        &self,
        caller: &Caller,
        id: i64,
        step: &str,
        deed: StepDeed,
        body: StepBody,
    ) -> AppResult<ProjectView> {
        let at = self.time(body.at.as_deref())?;
        let org = self.app.caches().org();
        let unit = caller.actor.unit_id().and_then(|u| org.get(u)).map(|u| u.code.clone()).unwrap_or_default();
        let (step, unit) = (step.to_owned(), unit);
        let action = match deed {
            StepDeed::PreReview => ApprovalAction::RecordPreReview { step, unit, at },
            StepDeed::Start => ApprovalAction::StartStep { step, unit, at },
            StepDeed::Issue => {
                ApprovalAction::IssueStep { step, unit, at, document_no: body.document_no.unwrap_or_default() }
            }
        };
        self.record(caller, id, action, body.version).await
    }

    async fn record(
        &self,
        caller: &Caller,
        id: i64,
        action: ApprovalAction,
        version: Option<i64>,
    ) -> AppResult<ProjectView> {
        let now = self.app.now();
        self.app.store().record_approval_action(id, action, version, now, recorder(caller)).await?;
        self.app.live().publish_approval(id);
        self.get(caller, id).await
    }

    /// A project with everything it shows.
    pub async fn get(&self, caller: &Caller, id: i64) -> AppResult<ProjectView> {
        let project = self.app.store().approval_project(id).await?.ok_or_else(project_not_found)?;
        let mut rebuilt = self.rebuild(vec![project]).await?;
        let one = rebuilt.pop().ok_or_else(AppError::internal)?;
        Ok(self.view(caller, one))
    }

    /// Several projects (the live page), in the order asked; unknown ids are left out.
    pub async fn several(&self, caller: &Caller, ids: &[i64]) -> AppResult<Vec<ProjectView>> {
        let mut projects = Vec::new();
        for &id in ids.iter().take(MAX_LIVE_PROJECTS) {
            if let Some(p) = self.app.store().approval_project(id).await? {
                projects.push(p);
            }
        }
        Ok(self.rebuild(projects).await?.into_iter().map(|r| self.view(caller, r)).collect())
    }

    /// Every project, newest first.
    pub async fn list(&self) -> AppResult<Vec<ProjectSummary>> {
        let now = self.app.now();
        let org = self.app.caches().org();
        Ok(self.all().await?.iter().map(|r| summary(r, &org, now)).collect())
    }

    /// The record table: projects holding their permit, fastest first.
    pub async fn records(&self) -> AppResult<Vec<RecordRow>> {
        let now = self.app.now();
        let org = self.app.caches().org();
        let mut done: Vec<ProjectSummary> = self
            .all()
            .await?
            .iter()
            .filter(|r| r.plan.permit_issued_at().is_some())
            .map(|r| summary(r, &org, now))
            .collect();
        done.sort_by_key(|s| (s.elapsed_seconds, s.id));
        Ok(done.into_iter().enumerate().map(|(i, project)| RecordRow { rank: i + 1, project }).collect())
    }

    /// Time to permit by district, departments' contributions to the critical path, steps most often late.
    pub async fn reports(&self) -> AppResult<ApprovalReports> {
        let now = self.app.now();
        let org = self.app.caches().org();
        let all = self.all().await?;
        let mut districts: BTreeMap<Option<i64>, Vec<Option<i64>>> = BTreeMap::new();
        for r in &all {
            let clock = r.plan.permit_issued_at().and(r.plan.clock(now)).map(|c| c.elapsed.seconds);
            districts.entry(r.project.unit_id).or_default().push(clock);
        }
        let mut by_district: Vec<DistrictReport> = districts
            .into_iter()
            .map(|(unit, clocks)| {
                let done: Vec<i64> = clocks.iter().flatten().copied().collect();
                let count = i64::try_from(done.len()).unwrap_or(i64::MAX);
                DistrictReport {
                    unit: unit_ref(&org, unit),
                    projects: clocks.len(),
                    permitted: done.len(),
                    fastest_seconds: done.iter().min().copied(),
                    average_seconds: (count > 0).then(|| done.iter().sum::<i64>() / count),
                    slowest_seconds: done.iter().max().copied(),
                }
            })
            .collect();
        by_district.sort_by_key(|d| (d.average_seconds.is_none(), d.average_seconds));

        let mut contributions: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for r in &all {
            let Some(path) = r.plan.actual_critical_path() else { continue };
            let mut owners: BTreeMap<&str, i64> = BTreeMap::new();
            for link in &path.links {
                *owners.entry(link.owner.as_str()).or_default() += link.seconds;
            }
            for (owner, seconds) in owners {
                let entry = contributions.entry(owner.to_owned()).or_default();
                entry.0 += 1;
                entry.1 += seconds;
            }
        }
        let total: i64 = contributions.values().map(|(_, s)| s).sum();
        let mut contributions: Vec<ContributionReport> = contributions
            .into_iter()
            .map(|(owner, (projects, seconds))| ContributionReport {
                owner: unit_by_code(&org, &owner),
                projects,
                critical_seconds: seconds,
                share_permille: if total > 0 { seconds * 1000 / total } else { 0 },
            })
            .collect();
        contributions.sort_by(|a, b| b.critical_seconds.cmp(&a.critical_seconds).then(a.owner.code.cmp(&b.owner.code)));

        let plans: Vec<ApprovalPlan> = all.iter().map(|r| r.plan.clone()).collect();
        let names: BTreeMap<String, String> = all
            .iter()
            .flat_map(|r| r.plan.template().steps().iter().map(|s| (s.code.clone(), s.name.clone())))
            .collect();
        let late_steps = late_step_counts(&plans, now)
            .into_iter()
            .map(|(step, late)| LateStepReport { name: names.get(&step).cloned().unwrap_or_default(), step, late })
            .collect();
        Ok(ApprovalReports { by_district, contributions, late_steps })
    }

    /// The record table and the reports as one Excel workbook, a sheet each
    /// (纪录榜, 各区镇用时, 关键路径部门, 超时步骤), holding the figures the overview page shows.
    #[allow(clippy::cast_precision_loss)] // seconds and counts below 2^53
    pub async fn export(&self, caller: &Caller) -> AppResult<Vec<u8>> {
        let records = self.records().await?;
        let reports = self.reports().await?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let made = format!("导出人：{}；导出时间：{}", caller.actor.name(), format_instant(&self.app.now()));
        let preamble = |title: &str| [format!("拿地即开工{title}"), made.clone()];
        let seconds = |s: i64| Cell::Number(s as f64);
        let maybe = |s: Option<i64>| s.map_or(Cell::Empty, seconds);
        let label = |s: Option<i64>| s.map_or(Cell::Empty, |s| Cell::Text(duration_label(s)));
        let unit = |u: &Option<UnitRef>| Cell::Text(u.as_ref().map_or_else(|| "未指定".to_owned(), |u| u.name.clone()));
        let count = |n: usize| Cell::Number(n as f64);

        let columns = vec![
            WriteColumn::new("名次", Kind::Integer),
            WriteColumn::new("项目编号", Kind::Integer),
            WriteColumn::text("项目"),
            WriteColumn::text("区镇"),
            WriteColumn::new("土地成交", Kind::DateTime),
            WriteColumn::new("核发施工许可证", Kind::DateTime),
            WriteColumn::new("用时（秒）", Kind::Integer),
            WriteColumn::text("用时"),
        ];
        let mut export =
            Export::with_preamble("纪录榜", &preamble("纪录榜（用时最短在前）"), columns).map_err(sheet_error)?;
        for r in &records {
            let p = &r.project;
            let row = [
                count(r.rank),
                seconds(p.id),
                Cell::Text(p.name.clone()),
                unit(&p.unit),
                local_time(p.transaction_at.as_deref()),
                local_time(p.permit_at.as_deref()),
                maybe(p.elapsed_seconds),
                label(p.elapsed_seconds),
            ];
            export.push(&row).map_err(sheet_error)?;
        }

        let columns = vec![
            WriteColumn::text("区镇"),
            WriteColumn::new("项目数", Kind::Integer),
            WriteColumn::new("已取得施工许可", Kind::Integer),
            WriteColumn::new("最短（秒）", Kind::Integer),
            WriteColumn::new("平均（秒）", Kind::Integer),
            WriteColumn::new("最长（秒）", Kind::Integer),
            WriteColumn::text("最短"),
            WriteColumn::text("平均"),
            WriteColumn::text("最长"),
        ];
        export.next_sheet("各区镇用时", &preamble("各区镇取得施工许可的用时"), columns).map_err(sheet_error)?;
        for d in &reports.by_district {
            let row = [
                unit(&d.unit),
                count(d.projects),
                count(d.permitted),
                maybe(d.fastest_seconds),
                maybe(d.average_seconds),
                maybe(d.slowest_seconds),
                label(d.fastest_seconds),
                label(d.average_seconds),
                label(d.slowest_seconds),
            ];
            export.push(&row).map_err(sheet_error)?;
        }

        let columns = vec![
            WriteColumn::text("部门代码"),
            WriteColumn::text("部门"),
            WriteColumn::new("经过的项目", Kind::Integer),
            WriteColumn::new("关键路径用时（秒）", Kind::Integer),
            WriteColumn::text("关键路径用时"),
            WriteColumn::new("占比（%）", Kind::Number),
        ];
        export.next_sheet("关键路径部门", &preamble("各部门在实际关键路径上的用时"), columns).map_err(sheet_error)?;
        for c in &reports.contributions {
            let row = [
                Cell::Text(c.owner.code.clone()),
                Cell::Text(c.owner.name.clone()),
                count(c.projects),
                seconds(c.critical_seconds),
                label(Some(c.critical_seconds)),
                Cell::Number(c.share_permille as f64 / 10.0),
            ];
            export.push(&row).map_err(sheet_error)?;
        }

        let columns = vec![
            WriteColumn::text("步骤编码"),
            WriteColumn::text("步骤"),
            WriteColumn::new("超时项目数", Kind::Integer),
        ];
        export.next_sheet("超时步骤", &preamble("最常超时的步骤"), columns).map_err(sheet_error)?;
        for l in &reports.late_steps {
            export
                .push(&[Cell::Text(l.step.clone()), Cell::Text(l.name.clone()), count(l.late)])
                .map_err(sheet_error)?;
        }
        export.finish().map_err(sheet_error)
    }

    async fn all(&self) -> AppResult<Vec<Rebuilt>> {
        let projects = self.app.store().approval_projects(MAX_PROJECTS).await?;
        self.rebuild(projects).await
    }

    /// Rebuilds each project's plan from its log, as the store checked it.
    pub async fn rebuild(&self, projects: Vec<ApprovalProject>) -> AppResult<Vec<Rebuilt>> {
        let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
        let mut logs: BTreeMap<i64, Vec<ApprovalRecord>> = BTreeMap::new();
        for record in self.app.store().approval_records(&ids).await? {
            logs.entry(record.project_id).or_default().push(record);
        }
        let mut templates: BTreeMap<i64, (Arc<PlanTemplate>, i64)> = BTreeMap::new();
        let mut rebuilt = Vec::with_capacity(projects.len());
        for project in projects {
            if let std::collections::btree_map::Entry::Vacant(slot) = templates.entry(project.template_id) {
                let stored =
                    self.app.store().approval_template(project.template_id).await?.ok_or_else(AppError::internal)?;
                slot.insert((Arc::new(parse_template_toml(&stored.body)?), stored.version));
            }
            let (template, template_version) =
                templates.get(&project.template_id).cloned().ok_or_else(AppError::internal)?;
            let mut plan = ApprovalPlan::new(template);
            let records = logs.remove(&project.id).unwrap_or_default();
            for record in &records {
                if let Err(error) = plan.apply(&record.action, record.recorded_at) {
                    tracing::error!(project = project.id, %error, "a stored approval action does not apply");
                    return Err(AppError::internal());
                }
            }
            rebuilt.push(Rebuilt { project, plan, records, template_version });
        }
        Ok(rebuilt)
    }

    fn view(&self, caller: &Caller, r: Rebuilt) -> ProjectView {
        let now = self.app.now();
        let org = self.app.caches().org();
        let summary = summary(&r, &org, now);
        let template = r.plan.template();
        let own_unit = caller.actor.unit_id().and_then(|u| org.get(u)).map(|u| u.code.clone());
        let name_of = |code: &str| template.step_index(code).map(|i| template.steps()[i].name.clone());
        let steps = r
            .plan
            .step_reports(now)
            .into_iter()
            .zip(template.steps())
            .map(|(s, t)| StepView {
                owner: unit_by_code(&org, &s.owner),
                yours: own_unit.as_deref() == Some(s.owner.as_str()),
                document: t.document.clone(),
                prerequisites: t.prerequisites.clone(),
                status: status_code(s.status).to_owned(),
                status_label: s.status.label().to_owned(),
                pre_review_allowed: t.pre_review,
                pre_reviewed_at: s.pre_reviewed_at.as_ref().map(format_instant),
                started_at: s.started_at.as_ref().map(format_instant),
                issued_at: s.issued_at.as_ref().map(format_instant),
                ready_at: s.ready_at.as_ref().map(format_instant),
                code: s.code,
                name: s.name,
                document_no: s.document_no,
                planned_minutes: s.planned_minutes,
                planned_start_minute: s.planned_start_minute,
                planned_finish_minute: s.planned_finish_minute,
                planned_slack_minutes: s.planned_slack_minutes,
                on_planned_critical_path: s.on_planned_critical_path,
                actual_seconds: s.actual_seconds,
                actual_finish_seconds: s.actual_finish_seconds,
                delay_seconds: s.delay_seconds,
                late: s.late,
                on_actual_critical_path: s.on_actual_critical_path,
            })
            .collect();
        let actual_critical_path = r.plan.actual_critical_path().map(|path| {
            path.links
                .into_iter()
                .map(|l| CriticalLinkView {
                    name: name_of(&l.step).unwrap_or_default(),
                    owner: unit_by_code(&org, &l.owner),
                    from: format_instant(&l.from),
                    to: format_instant(&l.to),
                    seconds: l.seconds,
                    step: l.step,
                })
                .collect()
        });
        let departments = r
            .plan
            .department_reports(now)
            .into_iter()
            .map(|d| DepartmentView {
                owner: unit_by_code(&org, &d.owner),
                steps: d.steps,
                issued: d.issued,
                late: d.late,
                planned_minutes: d.planned_minutes,
                actual_seconds: d.actual_seconds,
                planned_critical_minutes: d.planned_critical_minutes,
                actual_critical_seconds: d.actual_critical_seconds,
            })
            .collect();
        let log = r
            .records
            .iter()
            .map(|record| {
                let (action, label, step, unit, at, document_no) = match &record.action {
                    ApprovalAction::RecordTransaction { at } => {
                        ("record_transaction", "土地成交", None, None, at, None)
                    }
                    ApprovalAction::RecordPreReview { step, unit, at } => {
                        ("record_pre_review", "容缺预审", Some(step), Some(unit), at, None)
                    }
                    ApprovalAction::StartStep { step, unit, at } => {
                        ("start_step", "开始办理", Some(step), Some(unit), at, None)
                    }
                    ApprovalAction::IssueStep { step, unit, at, document_no } => {
                        ("issue_step", "核发", Some(step), Some(unit), at, Some(document_no.clone()))
                    }
                };
                RecordView {
                    seq: record.seq,
                    action: action.to_owned(),
                    action_label: label.to_owned(),
                    step_name: step.and_then(|s| name_of(s)),
                    step: step.cloned(),
                    unit: unit.map(|u| unit_by_code(&org, u)),
                    at: format_instant(at),
                    document_no,
                    recorded_at: format_instant(&record.recorded_at),
                    recorded_by: record.recorded_by.clone(),
                }
            })
            .collect();
        ProjectView {
            summary,
            template_code: template.code().to_owned(),
            template_name: template.name().to_owned(),
            template_version: r.template_version,
            planned_minutes: template.planned_total_minutes(),
            planned_critical_path: template.planned_critical_path().steps,
            actual_critical_path,
            steps,
            departments,
            log,
            now: format_instant(&now),
        }
    }

    /// An RFC 3339 time from the body, or now.
    fn time(&self, at: Option<&str>) -> AppResult<Instant> {
        match at.map(str::trim).filter(|a| !a.is_empty()) {
            None => Ok(self.app.now()),
            Some(text) if text.len() <= 40 => parse_instant(text).ok_or_else(bad_time),
            Some(_) => Err(bad_time()),
        }
    }
}

fn template_view(
    stored: StoredApprovalTemplate,
    current: Option<i64>,
    projects: &[ApprovalProject],
) -> AppResult<TemplateView> {
    let template = parse_template_toml(&stored.body)?;
    Ok(TemplateView {
        projects: projects.iter().filter(|p| p.template_id == stored.id).count(),
        in_force: current.is_none_or(|c| c == stored.id),
        step_count: template.steps().len(),
        planned_minutes: template.planned_total_minutes(),
        created_at: format_instant(&stored.created_at),
        id: stored.id,
        code: stored.code,
        version: stored.version,
        name: stored.name,
        body: stored.body,
        created_by: stored.created_by,
        supersedes: stored.supersedes,
    })
}

/// An RFC 3339 time as the Shanghai wall-clock time a sheet shows.
fn local_time(rfc3339: Option<&str>) -> Cell {
    rfc3339
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(Cell::Empty, |t| Cell::DateTime(t.with_timezone(&mashangban_domain::time::shanghai()).naive_local()))
}

/// Seconds as the report writes them: 「16分钟」, 「2分30秒」.
pub fn duration_label(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.abs();
    match (s / 60, s % 60) {
        (m, 0) => format!("{sign}{m}分钟"),
        (0, r) => format!("{sign}{r}秒"),
        (m, r) => format!("{sign}{m}分{r}秒"),
    }
}

fn bad_time() -> AppError {
    AppError::invalid("invalid_time", "时间格式应为 RFC 3339，例如 2021-06-18T09:16:00+08:00")
}

fn recorder(caller: &Caller) -> ApprovalRecorder {
    ApprovalRecorder {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
    }
}

fn summary(r: &Rebuilt, org: &OrgTree, now: Instant) -> ProjectSummary {
    let p = &r.project;
    let clock = r.plan.clock(now);
    ProjectSummary {
        id: p.id,
        name: p.name.clone(),
        credit_code: p.credit_code.clone(),
        ledger_key: p.ledger_key.clone(),
        unit: unit_ref(org, p.unit_id),
        version: p.version,
        transaction_at: r.plan.transaction_at().as_ref().map(format_instant),
        permit_at: r.plan.permit_issued_at().as_ref().map(format_instant),
        elapsed_seconds: clock.as_ref().map(|c| c.elapsed.seconds),
        elapsed_label: clock.as_ref().map(|c| c.elapsed.to_string()),
        running: clock.as_ref().is_some_and(|c| c.running),
        step_count: r.plan.progress().len(),
        issued: r.plan.progress().iter().filter(|s| s.issued.is_some()).count(),
        created_at: format_instant(&p.created_at),
        created_by: p.created_by.clone(),
    }
}

fn unit_by_code(org: &OrgTree, code: &str) -> UnitRef {
    match org.by_code(code) {
        Some(u) => UnitRef { code: u.code.clone(), name: u.display_name().to_owned() },
        None => UnitRef { code: code.to_owned(), name: code.to_owned() },
    }
}

fn status_code(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Waiting => "waiting",
        StepStatus::Ready => "ready",
        StepStatus::InProgress => "in_progress",
        StepStatus::Issued => "issued",
    }
}

fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}
