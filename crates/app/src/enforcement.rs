//! Environmental enforcement (环境执法): inspections (检查记录) and
//! enforcement cases (执法案件) opened from an exceedance alert or an
//! inspection, moved 立案 → 调查取证 → 告知 → 决定 → 执行 → 结案 with a
//! deadline per stage in working days (`Settings::enforcement_stage_days`,
//! counted on the same work calendar as requests' deadlines).
//!
//! Access: `enforcement.read` (handlers and unit leaders see their own
//! unit's cases and inspections, supervisors, city leaders and
//! administrators all); `enforcement.handle` (handlers, unit leaders,
//! administrators) records inspections, opens cases and moves them on, only
//! for their own unit (`403 not_case_unit` / `not_responsible_unit`);
//! deciding and closing are for the unit leader (`403 leader_required`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::DomainError;
use mashangban_domain::access::Permission;
use mashangban_domain::calendar::TimeLimit;
use mashangban_domain::enforcement::{
    CaseOrigin, CaseStage, Decision, InspectionDraft, InspectionInput, Move, Sample, case_not_found, check_move,
    fen_text, inspection_not_found,
};
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::error::ErrorKind;
use mashangban_domain::monitoring::{alert_not_found, point_not_found};
use mashangban_domain::org::{Actor, Role};
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_domain::validation::{CreditCode, optional_text};
use mashangban_store::{
    CaseChange, CaseEvent, CaseFilter, EnforcementActor, EnforcementCase, Inspection, NewCase, NewInspection, Store,
};

use crate::error::{AppError, AppResult};
use crate::monitoring::AlertView;
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The most cases or inspections one list answers.
pub const LIST_MAX: u32 = 500;

/// The enforcement service: `app.enforcement()`.
pub struct Enforcement<'a, S> {
    app: &'a App<S>,
}

/// An inspection as entered.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionBody {
    /// Who inspected (检查人员), e.g. `张三、李四`.
    pub inspector: String,
    /// When (RFC 3339); now when absent.
    #[serde(default)]
    pub inspected_at: Option<String>,
    pub place: String,
    /// The enterprise's credit code, which must be in the registry.
    pub credit_code: String,
    /// A monitoring point's code, when the inspection was at one.
    #[serde(default)]
    pub point: Option<String>,
    /// What was found (检查情况).
    pub findings: String,
    #[serde(default)]
    pub samples: Vec<Sample>,
}

/// An inspection as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InspectionView {
    pub id: i64,
    pub unit: Option<UnitRef>,
    pub inspector: String,
    pub inspected_at: String,
    pub place: String,
    pub credit_code: String,
    pub enterprise_name: Option<String>,
    pub point: Option<String>,
    pub findings: String,
    pub samples: Vec<Sample>,
    pub exceeding_samples: usize,
    pub created_at: String,
    pub created_by: String,
    pub case_id: Option<i64>,
}

/// Opens a case from exactly one of an alert or an inspection.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseBody {
    /// The exceedance alert's id.
    #[serde(default)]
    pub alert: Option<i64>,
    /// The inspection's id.
    #[serde(default)]
    pub inspection: Option<i64>,
    /// The enterprise, for an alert of a point without one (else the point's).
    #[serde(default)]
    pub credit_code: Option<String>,
    /// A note for the history (立案意见).
    #[serde(default)]
    pub note: Option<String>,
}

/// Moves a case to `stage`: the next one, or `closed` early. Leaving
/// 决定 needs `decision` (and `penalty` in yuan, empty for none); closing needs `closed_reason`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    /// `investigating`, `notified`, `decided`, `executing` or `closed`.
    pub stage: String,
    /// The penalty in yuan (`"50000"`), with the decision.
    #[serde(default)]
    pub penalty: Option<String>,
    /// The decision's text (处罚决定).
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub closed_reason: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A list filter: `stage` (a stage code), `overdue` (`true`: open cases past their stage deadline), `enterprise`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct CaseQuery {
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub overdue: Option<String>,
    #[serde(default)]
    pub enterprise: Option<String>,
}

/// A case as listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseView {
    pub id: i64,
    pub number: String,
    pub credit_code: String,
    pub enterprise_name: Option<String>,
    pub unit: Option<UnitRef>,
    /// `alert` or `inspection`.
    pub origin: String,
    pub origin_label: String,
    pub alert_id: Option<i64>,
    pub inspection_id: Option<i64>,
    pub summary: String,
    pub stage: String,
    pub stage_label: String,
    pub stage_started_at: String,
    pub stage_due_at: Option<String>,
    /// The stage's deadline has passed while the case is open.
    pub overdue: bool,
    /// The penalty in yuan (`50000.00`), once decided.
    pub penalty: Option<String>,
    pub decision: Option<String>,
    pub closed_reason: Option<String>,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub version: i64,
}

/// A stage a case may move to next.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StageOption {
    pub stage: String,
    pub label: String,
    /// Its time limit, e.g. `60个工作日`; none for 结案.
    pub limit: Option<String>,
}

/// One entry of a case's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseEventView {
    pub kind: String,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub to_stage_label: String,
    pub due_at: Option<String>,
    pub at: String,
    pub by: String,
    pub note: Option<String>,
}

/// A case with its origin, history and the moves open to it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub alert: Option<AlertView>,
    pub inspection: Option<InspectionView>,
    pub history: Vec<CaseEventView>,
    /// The next stage and, while open and not about to close anyway, early closure.
    pub next: Vec<StageOption>,
}

/// An enterprise's alerts and cases (一企一档).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseEnforcement {
    pub alerts: Vec<AlertView>,
    pub cases: Vec<CaseView>,
    pub inspections: Vec<InspectionView>,
    /// Its ecological-damage compensation matters (生态环境损害赔偿).
    pub matters: Vec<crate::compensation::MatterView>,
}

pub(crate) fn forbidden(code: &'static str, message: &str) -> AppError {
    AppError::from(DomainError { kind: ErrorKind::Forbidden, code, message: message.into() })
}

/// The units whose cases a caller sees: `None` for all.
pub(crate) fn unit_scope(actor: &Actor) -> Option<Vec<i64>> {
    match actor {
        Actor::Staff(s) if s.role.is_unit_bound() => Some(s.units.clone()),
        Actor::Staff(_) | Actor::System => None,
        _ => Some(Vec::new()),
    }
}

pub(crate) fn in_scope(actor: &Actor, unit_id: i64) -> bool {
    unit_scope(actor).is_none_or(|units| units.contains(&unit_id))
}

/// Whether the caller acts for the unit: administrators always, others when it is theirs or below.
pub(crate) fn acts_for(actor: &Actor, unit_id: i64) -> bool {
    match actor {
        Actor::Staff(s) => s.role == Role::Admin || s.units.contains(&unit_id),
        _ => false,
    }
}

impl<'a, S: Store> Enforcement<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Records an inspection for the caller's unit.
    pub async fn record_inspection(&self, caller: &Caller, body: InspectionBody) -> AppResult<InspectionView> {
        let input = InspectionInput::new(InspectionDraft {
            inspector: body.inspector,
            place: body.place,
            credit_code: body.credit_code,
            findings: body.findings,
            samples: body.samples,
        })?;
        let now = self.app.now();
        let inspected_at = match body.inspected_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => now,
            Some(t) => {
                let at = parse_instant(t).ok_or_else(|| {
                    AppError::invalid("invalid_time", "检查时间应为 RFC 3339 格式，如 2026-12-04T09:00:00+08:00")
                })?;
                if at > now {
                    return Err(AppError::invalid("inspection_in_future", "检查时间不能晚于现在"));
                }
                at
            }
        };
        let store = self.app.store();
        let point_id = match body.point.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(code) => Some(store.monitoring_point(code).await?.ok_or_else(point_not_found)?.id),
            None => None,
        };
        let unit_id = caller.actor.unit_id().ok_or_else(|| forbidden("not_case_unit", "只有工作人员才能记录检查"))?;
        let new = NewInspection { input, unit_id, inspected_at, point_id };
        let saved = store.create_inspection(new, now, actor(caller)).await?;
        self.inspection_view(&saved).await
    }

    /// Inspections in the caller's scope, newest first; of one enterprise when given.
    pub async fn inspections(&self, caller: &Caller, credit_code: Option<&str>) -> AppResult<Vec<InspectionView>> {
        let code = match credit_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(CreditCode::parse(c)?.as_str().to_owned()),
            None => None,
        };
        let list = self.app.store().inspections(code, LIST_MAX).await?;
        let mut views = Vec::new();
        for i in list.iter().filter(|i| in_scope(&caller.actor, i.unit_id)) {
            views.push(self.inspection_view(i).await?);
        }
        Ok(views)
    }

    /// One inspection (`404 inspection_not_found`, also outside the caller's scope).
    pub async fn inspection(&self, caller: &Caller, id: i64) -> AppResult<InspectionView> {
        let found = self.app.store().inspection(id).await?.filter(|i| in_scope(&caller.actor, i.unit_id));
        self.inspection_view(&found.ok_or_else(inspection_not_found)?).await
    }

    /// Opens a case at 立案 from an open alert of a point of the caller's unit,
    /// or from an inspection of the caller's unit.
    pub async fn open_case(&self, caller: &Caller, body: OpenCaseBody) -> AppResult<CaseDetail> {
        let note = optional_text("立案意见", body.note.as_deref(), 2000)?;
        let store = self.app.store();
        let (origin, credit_code, unit_id, summary) = match (body.alert, body.inspection) {
            (Some(alert_id), None) => {
                let alert = store.monitoring_alert(alert_id).await?.ok_or_else(alert_not_found)?;
                let point = store.monitoring_point_by_id(alert.point_id).await?.ok_or_else(point_not_found)?;
                if !acts_for(&caller.actor, point.unit_id) {
                    return Err(forbidden("not_responsible_unit", "只有点位的责任单位才能对其报警立案"));
                }
                let given = match body.credit_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    Some(c) => Some(CreditCode::parse(c)?.as_str().to_owned()),
                    None => None,
                };
                let code = given.or(point.credit_code.clone()).ok_or_else(|| {
                    AppError::invalid("enterprise_required", "该点位未关联企业，请填写被立案企业的统一社会信用代码")
                })?;
                let summary = format!("{}（{}）：{}", point.name, point.code, alert.description);
                (CaseOrigin::Alert(alert_id), code, point.unit_id, summary)
            }
            (None, Some(inspection_id)) => {
                if body.credit_code.is_some() {
                    return Err(AppError::invalid("invalid_case_origin", "由检查记录立案时，企业即检查记录中的企业"));
                }
                let found = store.inspection(inspection_id).await?;
                let inspection =
                    found.filter(|i| in_scope(&caller.actor, i.unit_id)).ok_or_else(inspection_not_found)?;
                if !acts_for(&caller.actor, inspection.unit_id) {
                    return Err(forbidden("not_case_unit", "只有检查单位才能由这条检查记录立案"));
                }
                let summary = format!(
                    "{} 现场检查（{}）：{}",
                    format_instant(&inspection.inspected_at),
                    inspection.place,
                    inspection.findings
                );
                (CaseOrigin::Inspection(inspection_id), inspection.credit_code, inspection.unit_id, summary)
            }
            _ => {
                return Err(AppError::invalid(
                    "invalid_case_origin",
                    "请指定一条报警（alert）或一条检查记录（inspection），二者选一",
                ));
            }
        };
        let now = self.app.now();
        let due_at = self
            .due(now, CaseStage::Filed)?
            .ok_or_else(|| AppError::invalid("invalid_stage_limits", "立案阶段缺少时限"))?;
        let new = NewCase { origin, credit_code, unit_id, summary, due_at, note };
        let case = store.open_case(new, now, actor(caller)).await?;
        if let CaseOrigin::Alert(id) = origin
            && let Some(alert) = store.monitoring_alert(id).await?
        {
            self.app.live().publish_monitoring(alert.point_id);
        }
        self.detail(case).await
    }

    /// Moves a case on: the next stage, or 结案 early (leader, with a reason).
    pub async fn advance(&self, caller: &Caller, id: i64, body: AdvanceBody) -> AppResult<CaseDetail> {
        let store = self.app.store();
        let case = self.scoped_case(caller, id).await?;
        if !acts_for(&caller.actor, case.unit_id) {
            return Err(forbidden("not_case_unit", "只有案件的承办单位才能办理"));
        }
        let to = CaseStage::parse(body.stage.trim()).ok_or_else(|| {
            AppError::invalid("invalid_stage", "阶段应为 investigating、notified、decided、executing 或 closed")
        })?;
        let decision = match body.decision.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(text) => Some(Decision::new(body.penalty.as_deref(), text)?),
            None if body.penalty.as_deref().is_some_and(|p| !p.trim().is_empty()) => {
                return Err(AppError::invalid("text_required", "「处罚决定」不能为空"));
            }
            None => None,
        };
        if decision.is_some() && case.stage != CaseStage::Decided {
            return Err(AppError::invalid("decision_not_expected", "处罚决定在离开「决定」阶段时填写"));
        }
        let closed_reason = optional_text("结案理由", body.closed_reason.as_deref(), 2000)?;
        let note = optional_text("办理意见", body.note.as_deref(), 2000)?;
        let role = caller.actor.role().ok_or_else(|| forbidden("not_case_unit", "只有工作人员才能办理案件"))?;
        let m = Move { from: case.stage, to, decision: decision.clone(), closed_reason: closed_reason.clone() };
        check_move(&m, role)?;
        let now = self.app.now();
        let change = CaseChange {
            from: case.stage,
            to,
            due_at: self.due(now, to)?,
            decision,
            closed_reason: if to == CaseStage::Closed { closed_reason } else { None },
            note,
        };
        let saved = store.change_case(id, change, now, actor(caller)).await?;
        self.detail(saved).await
    }

    /// Cases in the caller's scope, newest first.
    pub async fn cases(&self, caller: &Caller, query: CaseQuery) -> AppResult<Vec<CaseView>> {
        let stage = match query.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(CaseStage::parse(s).ok_or_else(|| {
                AppError::invalid(
                    "invalid_stage",
                    "阶段应为 filed、investigating、notified、decided、executing 或 closed",
                )
            })?),
            None => None,
        };
        let overdue = match query.overdue.as_deref().map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(AppError::invalid("invalid_parameter", "overdue 应为 true 或 false")),
        };
        let credit_code = match query.enterprise.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(CreditCode::parse(c)?.as_str().to_owned()),
            None => None,
        };
        let filter = CaseFilter {
            stage,
            credit_code,
            overdue_at: overdue.then(|| self.app.now()),
            units: unit_scope(&caller.actor),
        };
        let cases = self.app.store().enforcement_cases(filter, LIST_MAX).await?;
        self.views(&cases).await
    }

    /// One case with its history (`404 case_not_found`, also outside the caller's scope).
    pub async fn case(&self, caller: &Caller, id: i64) -> AppResult<CaseDetail> {
        let case = self.scoped_case(caller, id).await?;
        self.detail(case).await
    }

    /// An enterprise's alerts (of its points), cases, inspections and compensation matters, for its page (一企一档):
    /// alerts to those who read monitoring, cases and inspections to those who read enforcement.
    pub async fn for_enterprise(&self, caller: &Caller, credit_code: &str) -> AppResult<EnterpriseEnforcement> {
        let mut alerts = Vec::new();
        if caller.may(Permission::ReadMonitoring) {
            // The points are read once; each of the enterprise's points adds one query for its alerts.
            let (monitoring, store) = (self.app.monitoring(), self.app.store());
            let points = store.monitoring_points().await?;
            for point in points.iter().filter(|p| p.credit_code.as_deref() == Some(credit_code)) {
                let found = store.monitoring_alerts(None, Some(point.id), 1000).await?;
                alerts.extend(found.iter().map(|a| monitoring.alert_view(a, point)));
            }
            alerts.sort_by_key(|a| std::cmp::Reverse(a.id));
        }
        let (cases, inspections, matters) = if caller.may(Permission::ReadEnforcement) {
            let query = CaseQuery { enterprise: Some(credit_code.to_owned()), ..CaseQuery::default() };
            (
                self.cases(caller, query).await?,
                self.inspections(caller, Some(credit_code)).await?,
                self.app.compensation().matters(caller, None, Some(credit_code)).await?,
            )
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        Ok(EnterpriseEnforcement { alerts, cases, inspections, matters })
    }

    /// The stage options a case has now.
    pub fn next_stages(&self, stage: CaseStage) -> Vec<StageOption> {
        let limits = self.app.settings().enforcement_stage_days;
        let option = |s: CaseStage| StageOption {
            stage: s.as_str().into(),
            label: s.label().into(),
            limit: limits.days(s).map(|d| TimeLimit::working_days(d).describe()),
        };
        let mut options: Vec<StageOption> = stage.next().into_iter().map(option).collect();
        if stage.is_open() && stage.next() != Some(CaseStage::Closed) {
            options.push(StageOption { label: "提前结案".into(), ..option(CaseStage::Closed) });
        }
        options
    }

    pub(crate) async fn scoped_case(&self, caller: &Caller, id: i64) -> AppResult<EnforcementCase> {
        let found = self.app.store().enforcement_case(id).await?;
        Ok(found.filter(|c| in_scope(&caller.actor, c.unit_id)).ok_or_else(case_not_found)?)
    }

    /// The end of `stage`'s time limit counted from `from` in working days; none for 结案.
    fn due(&self, from: Instant, stage: CaseStage) -> AppResult<Option<Instant>> {
        let Some(days) = self.app.settings().enforcement_stage_days.days(stage) else { return Ok(None) };
        let calendar = self.app.caches().calendar();
        Ok(Some(calendar.deadline_or_provisional(from, TimeLimit::working_days(days))?.at))
    }

    async fn detail(&self, case: EnforcementCase) -> AppResult<CaseDetail> {
        let store = self.app.store();
        let (alert, inspection) = match case.origin {
            CaseOrigin::Alert(id) => (self.app.monitoring().alert(id).await.ok().map(|d| d.alert), None),
            CaseOrigin::Inspection(id) => match store.inspection(id).await? {
                Some(i) => (None, Some(self.inspection_view(&i).await?)),
                None => (None, None),
            },
        };
        let history = store.case_events(case.id).await?.into_iter().map(event_view).collect();
        let next = self.next_stages(case.stage);
        let view = self.views(std::slice::from_ref(&case)).await?.pop().ok_or_else(case_not_found)?;
        Ok(CaseDetail { case: view, alert, inspection, history, next })
    }

    async fn enterprise_names(&self, codes: impl Iterator<Item = &str>) -> AppResult<BTreeMap<String, String>> {
        let mut names = BTreeMap::new();
        for code in codes {
            if names.contains_key(code) {
                continue;
            }
            if let Some(e) = self.app.store().enterprise(code, EnterpriseScope::All).await? {
                names.insert(code.to_owned(), e.name);
            }
        }
        Ok(names)
    }

    async fn views(&self, cases: &[EnforcementCase]) -> AppResult<Vec<CaseView>> {
        let names = self.enterprise_names(cases.iter().map(|c| c.credit_code.as_str())).await?;
        let org = self.app.caches().org();
        let now = self.app.now();
        Ok(cases
            .iter()
            .map(|c| CaseView {
                id: c.id,
                number: c.number.clone(),
                credit_code: c.credit_code.clone(),
                enterprise_name: names.get(&c.credit_code).cloned(),
                unit: unit_ref(&org, Some(c.unit_id)),
                origin: c.origin.kind().as_str().into(),
                origin_label: c.origin.kind().label().into(),
                alert_id: matches!(c.origin, CaseOrigin::Alert(_)).then(|| c.origin.id()),
                inspection_id: matches!(c.origin, CaseOrigin::Inspection(_)).then(|| c.origin.id()),
                summary: c.summary.clone(),
                stage: c.stage.as_str().into(),
                stage_label: c.stage.label().into(),
                stage_started_at: format_instant(&c.stage_started_at),
                stage_due_at: c.stage_due_at.as_ref().map(format_instant),
                overdue: c.stage.is_open() && c.stage_due_at.is_some_and(|due| due < now),
                penalty: c.penalty_fen.map(fen_text),
                decision: c.decision.clone(),
                closed_reason: c.closed_reason.clone(),
                opened_at: format_instant(&c.opened_at),
                closed_at: c.closed_at.as_ref().map(format_instant),
                version: c.version,
            })
            .collect())
    }

    async fn inspection_view(&self, i: &Inspection) -> AppResult<InspectionView> {
        let store = self.app.store();
        let org = self.app.caches().org();
        let name = self.enterprise_names(std::iter::once(i.credit_code.as_str())).await?.remove(&i.credit_code);
        let point = match i.point_id {
            Some(id) => store.monitoring_point_by_id(id).await?.map(|p| p.code),
            None => None,
        };
        Ok(InspectionView {
            id: i.id,
            unit: unit_ref(&org, Some(i.unit_id)),
            inspector: i.inspector.clone(),
            inspected_at: format_instant(&i.inspected_at),
            place: i.place.clone(),
            credit_code: i.credit_code.clone(),
            enterprise_name: name,
            point,
            findings: i.findings.clone(),
            exceeding_samples: i
                .samples
                .iter()
                .filter(|s| s.result == mashangban_domain::enforcement::SampleResult::Exceeds)
                .count(),
            samples: i.samples.clone(),
            created_at: format_instant(&i.created_at),
            created_by: i.created_by.clone(),
            case_id: i.case_id,
        })
    }
}

pub(crate) fn actor(caller: &Caller) -> EnforcementActor {
    EnforcementActor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
    }
}

fn event_view(e: CaseEvent) -> CaseEventView {
    CaseEventView {
        kind: e.kind,
        from_stage: e.from_stage.map(|s| s.as_str().to_owned()),
        to_stage: e.to_stage.as_str().into(),
        to_stage_label: e.to_stage.label().into(),
        due_at: e.due_at.as_ref().map(format_instant),
        at: format_instant(&e.at),
        by: e.by,
        note: e.note,
    }
}
