//! Visits to enterprises (走访) and the walking office (行走的办公室): plan a
//! visit (who leads, which enterprise, when), record it (attendees, notes,
//! problems), each problem solved on the spot (现场办结) or turned into a
//! request taken in through the requests' own intake (channel 走访, asker the
//! enterprise, its deadlines from the time-limit rules) in the record's
//! transaction. A walking-office session's requests carry the leader's
//! instruction and are placed under supervision (督办) by default. The
//! enterprise scope decides who sees which visits (a liaison cadre: the
//! visits of their enterprises and those they lead; `404` otherwise).
//! Reports by cadre, town and month, with the visits due by the cadre level
//! rule (市领导 90 / 部门 60 / 镇街 30 days), and their Excel export.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::event::VisitSource;
use mashangban_domain::org::{OrgTree, UnitKind, UserId};
use mashangban_domain::request::{self, Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::time::{Instant, format_instant, in_shanghai, shanghai};
use mashangban_domain::validation::{CreditCode, Phone, required_text};
use mashangban_domain::visit::{
    self, Lead, NewVisit, PROBLEMS_MAX, ProblemInput, ProblemOutcome, ProblemResolution, VisitKind, VisitState,
    visit_not_found,
};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{AssignmentFilter, RecordedProblem, Resolution, Store, Visit, VisitFilter, VisitRecord};

use crate::enterprises::author;
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The visits service: `app.visits()`.
pub struct Visits<'a, S> {
    app: &'a App<S>,
}

/// A visit as it is planned.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// `visit` (走访, default) or `walking_office` (行走的办公室).
    #[serde(default)]
    pub kind: Option<VisitKind>,
    /// The enterprise's 统一社会信用代码.
    pub credit_code: String,
    /// When: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM` (Asia/Shanghai), or RFC 3339.
    pub planned_at: String,
    /// Who leads it (user id); the caller by default.
    #[serde(default)]
    pub lead_user_id: Option<UserId>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub purpose: Option<String>,
    /// Codes of the units (departments) attending; a walking-office session needs one at least.
    #[serde(default)]
    pub units: Vec<String>,
}

/// A visit's record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// When it took place (as `planned_at`); now by default.
    #[serde(default)]
    pub visited_at: Option<String>,
    /// Names of the people present.
    #[serde(default)]
    pub attendees: Vec<String>,
    #[schemars(length(max = 4000))]
    pub notes: String,
    /// The enterprise's contact for the requests raised; the registry's contact by default.
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub problems: Vec<ProblemBody>,
}

/// A problem raised on the visit.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemBody {
    pub text: String,
    /// `solved_on_site` (现场办结: `solved_by` and `solution` required) or `dispatched` (转为诉求).
    pub outcome: ProblemOutcome,
    #[serde(default)]
    pub solved_by: Option<String>,
    #[serde(default)]
    pub solution: Option<String>,
    /// Category code of the request (dispatched problems).
    #[serde(default)]
    pub category: Option<String>,
    /// Kind of the request; `help` (求助) by default.
    #[serde(default)]
    pub kind: Option<RequestKind>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// The leading cadre's instruction (批示); required on a walking-office session.
    #[serde(default)]
    pub instruction: Option<String>,
}

/// Why a planned visit is cancelled.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
}

/// Which visits a listing answers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VisitQuery {
    /// `YYYY-MM`: visits planned in that month.
    pub month: Option<String>,
    /// Town code.
    pub town: Option<String>,
    /// `planned`, `recorded` or `cancelled`.
    pub state: Option<String>,
    /// Credit code of an enterprise.
    pub enterprise: Option<String>,
}

/// A visit as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VisitView {
    pub id: i64,
    pub kind: VisitKind,
    pub kind_label: &'static str,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town: Option<UnitRef>,
    pub planned_at: String,
    pub lead_user_id: UserId,
    pub lead_name: String,
    pub purpose: Option<String>,
    pub units: Vec<UnitRef>,
    pub state: VisitState,
    pub state_label: &'static str,
    /// Planned, and a day past its time without a record.
    pub overdue: bool,
    pub attendees: Vec<String>,
    pub notes: Option<String>,
    pub visited_at: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub problems: Vec<ProblemView>,
    /// Problems not yet closed (their request still open).
    pub problems_open: usize,
    /// Recorded and every problem closed.
    pub all_closed: bool,
    /// The visit's history (empty in listings).
    pub history: Vec<VisitEventView>,
}

/// A problem and where it stands.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProblemView {
    pub seq: i64,
    pub text: String,
    pub outcome: ProblemOutcome,
    pub outcome_label: &'static str,
    pub solved_by: Option<String>,
    pub solution: Option<String>,
    pub instruction: Option<String>,
    pub tracking_no: Option<String>,
    /// The request's state code (dispatched problems).
    pub request_state: Option<&'static str>,
    /// 现场办结 or the request's state in Chinese.
    pub state_label: &'static str,
    pub due_at: Option<String>,
    pub supervised: bool,
    pub closed: bool,
    /// Its request is open past its deadline.
    pub overdue: bool,
}

/// One step of a visit's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VisitEventView {
    pub at: String,
    pub by: String,
    pub action: String,
    pub label: &'static str,
    pub comment: Option<String>,
}

/// What a report row counts.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ReportRow {
    /// The cadre's name, the town's name or the month (`YYYY-MM`).
    pub name: String,
    pub visits_planned: u32,
    pub visits_made: u32,
    /// Planned visits a day past their time without a record.
    pub visits_overdue: u32,
    pub problems: u32,
    pub solved_on_site: u32,
    /// Requests raised on visits and closed since.
    pub closed: u32,
    /// Requests raised on visits still open past their deadline.
    pub overdue: u32,
}

/// A cadre whose visit of an enterprise is due by the level rule.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DueVisit {
    pub user_id: UserId,
    pub cadre_name: String,
    pub level_label: &'static str,
    pub visit_rule: &'static str,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town: Option<UnitRef>,
    /// The last recorded visit the cadre led, `YYYY-MM-DD`.
    pub last_visit: Option<String>,
    /// The day the next visit was due, `YYYY-MM-DD`.
    pub due_on: String,
}

/// Visits by cadre, town and month, and the visits due.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VisitReport {
    /// The month reported (`YYYY-MM`), or every month.
    pub month: Option<String>,
    pub by_cadre: Vec<ReportRow>,
    pub by_town: Vec<ReportRow>,
    pub by_month: Vec<ReportRow>,
    pub total: ReportRow,
    pub due: Vec<DueVisit>,
}

impl<'a, S: Store> Visits<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Plans a visit of an enterprise in the caller's scope.
    pub async fn plan(&self, caller: &Caller, body: PlanBody) -> AppResult<VisitView> {
        let kind = body.kind.unwrap_or(VisitKind::Visit);
        let found = self.app.enterprises().record(caller, &body.credit_code).await?;
        let planned_at = parse_time(&body.planned_at, "planned_at")?;
        let lead_user_id = match body.lead_user_id.or_else(|| caller.actor.user_id()) {
            Some(id) => id,
            None => return Err(AppError::invalid("invalid_visit_lead", "请选择带队人")),
        };
        let lead_user = self
            .app
            .store()
            .list_users()
            .await?
            .into_iter()
            .find(|u| u.id == lead_user_id && !u.disabled)
            .ok_or_else(|| AppError::invalid("invalid_visit_lead", "带队人账号不存在或已停用"))?;
        let level = self.app.store().cadre(lead_user_id).await?.map(|c| c.level);
        let org = self.app.caches().org();
        let mut units = Vec::new();
        for code in body.units.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            units.push(crate::input::unit_by_code(&org, code)?);
        }
        let lead = Lead { role: lead_user.role, level };
        let visit =
            NewVisit::new(kind, found.credit_code, planned_at, lead_user_id, lead, body.purpose.as_deref(), units)?;
        let scope = EnterpriseScope::of(&caller.actor);
        let saved = self.app.store().plan_visit(visit, scope, self.app.now(), author(caller)).await?;
        Ok(self.view(saved, &org))
    }

    /// Who may lead a visit, for the plan form: the caller, every cadre (with
    /// their level) and every city leader, by name.
    pub async fn leads(&self, caller: &Caller) -> AppResult<Vec<(UserId, String)>> {
        let users = self.app.store().list_users().await?;
        let cadres = self.app.store().cadres().await?;
        let mut out: Vec<(UserId, String)> = Vec::new();
        if let Some(me) = caller.actor.user_id() {
            out.push((me, format!("{}（本人）", caller.actor.name())));
        }
        for c in cadres {
            if !out.iter().any(|(id, _)| *id == c.user_id) {
                out.push((c.user_id, format!("{}（{}，{}）", c.name, c.level.label(), c.post)));
            }
        }
        for u in users.into_iter().filter(|u| u.role == mashangban_domain::org::Role::CityLeader && !u.disabled) {
            if !out.iter().any(|(id, _)| *id == u.id) {
                out.push((u.id, format!("{}（市领导）", u.display_name)));
            }
        }
        Ok(out)
    }

    /// A visit in the caller's scope (`404 visit_not_found` otherwise).
    pub async fn get(&self, caller: &Caller, id: i64) -> AppResult<VisitView> {
        let found =
            self.app.store().visit(id, EnterpriseScope::of(&caller.actor)).await?.ok_or_else(visit_not_found)?;
        Ok(self.view(found, &self.app.caches().org()))
    }

    /// Visits in the caller's scope matching the query, newest plan first.
    pub async fn list(&self, caller: &Caller, query: &VisitQuery) -> AppResult<Vec<VisitView>> {
        let filter = self.filter(caller, query)?;
        let org = self.app.caches().org();
        Ok(self.app.store().visits(&filter).await?.into_iter().map(|v| self.view(v, &org)).collect())
    }

    /// The visits of one enterprise in the caller's scope (the enterprise's page).
    pub async fn of_enterprise(&self, caller: &Caller, code: &str) -> AppResult<Vec<VisitView>> {
        let found = self.app.enterprises().record(caller, code).await?;
        let query = VisitQuery { enterprise: Some(found.credit_code), ..VisitQuery::default() };
        self.list(caller, &query).await
    }

    /// Records a planned visit: its problems, each solved on the spot or
    /// taken in as a request, in one transaction.
    pub async fn record(&self, caller: &Caller, id: i64, body: RecordBody) -> AppResult<VisitView> {
        let scope = EnterpriseScope::of(&caller.actor);
        let current = self.app.store().visit(id, scope).await?.ok_or_else(visit_not_found)?;
        if current.state != VisitState::Planned {
            return Err(visit::visit_not_planned(current.state).into());
        }
        if body.problems.len() > PROBLEMS_MAX {
            return Err(visit::too_many_problems().into());
        }
        let now = self.app.now();
        let visited_at = match body.visited_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => parse_time(s, "visited_at")?,
            None => now,
        };
        if visited_at > now + Duration::minutes(5) {
            return Err(AppError::invalid("visit_in_future", "走访时间不能晚于现在；尚未走访的请保持计划状态"));
        }
        let notes = required_text("走访纪要", &body.notes, visit::NOTES_MAX)?;
        let attendees = visit::attendees(&body.attendees)?;
        let mut problems = Vec::new();
        let needs_contact = body.problems.iter().any(|p| p.outcome == ProblemOutcome::Dispatched);
        let contact = if needs_contact { Some(self.contact(caller, &current, &body).await?) } else { None };
        let categories = self.app.caches().categories();
        for (index, p) in body.problems.into_iter().enumerate() {
            let n = index + 1;
            let resolution = match p.outcome {
                ProblemOutcome::SolvedOnSite => ProblemResolution::SolvedOnSite {
                    solved_by: p.solved_by.unwrap_or_default(),
                    solution: p.solution.unwrap_or_default(),
                },
                ProblemOutcome::Dispatched => ProblemResolution::Dispatch {
                    category_code: p.category.unwrap_or_default().trim().to_owned(),
                    kind: p.kind.unwrap_or(RequestKind::Help),
                    urgency: p.urgency.unwrap_or(Urgency::Normal),
                    instruction: p.instruction,
                },
            };
            let checked = ProblemInput::new(current.kind, &p.text, resolution).map_err(|e| numbered(n, e))?;
            let resolution = match checked.outcome {
                ProblemResolution::SolvedOnSite { solved_by, solution } => {
                    Resolution::SolvedOnSite { solved_by, solution }
                }
                ProblemResolution::Dispatch { category_code, kind, urgency, instruction } => {
                    let category =
                        categories.iter().find(|c| c.code == category_code && c.active).ok_or_else(|| {
                            AppError::invalid(
                                "unknown_category",
                                format!("第 {n} 个问题：请选择诉求分类（「{category_code}」不存在）"),
                            )
                        })?;
                    let content = match &instruction {
                        Some(i) => format!("{}\n\n【{}批示】{i}", checked.text, current.lead_name),
                        None => checked.text.clone(),
                    };
                    let mut new = NewRequest {
                        kind,
                        urgency,
                        channel: Channel::OnSite,
                        asker: Asker::Enterprise {
                            credit_code: CreditCode::parse(&current.credit_code)?,
                            name: current.enterprise_name.clone(),
                        },
                        contact: contact.clone().ok_or_else(AppError::internal)?,
                        title: title_of(&checked.text),
                        content: truncate(&content, request::CONTENT_MAX),
                        category_id: category.id,
                        location: Location { town_id: Some(current.town_id), address: None, point: None },
                        ledger_ref: None,
                        check_code: crate::requests::new_check_code(),
                        submitted_by: None,
                        due_at: None,
                        deadlines: Default::default(),
                        time_limits: None,
                        card: None,
                        visit: Some(VisitSource {
                            visit_id: current.id,
                            kind: current.kind,
                            lead_name: current.lead_name.clone(),
                        }),
                        screening: None,
                    };
                    request::check_act_now(new.urgency, &new.asker)?;
                    self.app.requests().set_deadlines(&mut new);
                    let supervise = match (current.kind, &instruction) {
                        (VisitKind::WalkingOffice, Some(i)) => {
                            Some(format!("行走的办公室（{}带队）批示：{i}", current.lead_name))
                        }
                        _ => None,
                    };
                    Resolution::Dispatch { request: Box::new(new), instruction, supervise }
                }
            };
            problems.push(RecordedProblem { text: checked.text, resolution });
        }
        let record = VisitRecord { visited_at, attendees, notes, problems };
        let (saved, requests) =
            self.app.store().record_visit(id, scope, record, &caller.actor, &caller.meta(now)).await?;
        for r in requests {
            self.app.live().published(r);
        }
        Ok(self.view(saved, &self.app.caches().org()))
    }

    /// Cancels a planned visit.
    pub async fn cancel(&self, caller: &Caller, id: i64, body: CancelBody) -> AppResult<VisitView> {
        let reason = required_text("取消原因", &body.reason, visit::ANSWER_MAX)?;
        let scope = EnterpriseScope::of(&caller.actor);
        let saved = self.app.store().cancel_visit(id, scope, reason, self.app.now(), author(caller)).await?;
        Ok(self.view(saved, &self.app.caches().org()))
    }

    /// The contact named on the record, else the registry's (its full, unmasked value).
    async fn contact(&self, caller: &Caller, current: &Visit, body: &RecordBody) -> AppResult<Contact> {
        let blank = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let registry = self.app.enterprises().record(caller, &current.credit_code).await?;
        let name = blank(&body.contact_name).or(registry.contact_name);
        let phone = blank(&body.contact_phone).or(registry.contact_phone);
        let (Some(name), Some(phone)) = (name, phone) else {
            return Err(AppError::invalid(
                "visit_contact_required",
                "转为诉求的问题需要企业联系人和电话：企业档案中没有，请在记录中填写",
            ));
        };
        Ok(Contact {
            name: required_text("联系人姓名", &name, request::NAME_MAX)?,
            phone: Phone::parse(&phone)?,
            email: None,
        })
    }

    fn filter(&self, caller: &Caller, q: &VisitQuery) -> AppResult<VisitFilter> {
        let blank = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut filter = VisitFilter::in_scope(EnterpriseScope::of(&caller.actor));
        if let Some(month) = blank(&q.month) {
            let (from, until) = month_range(&month)?;
            (filter.from, filter.until) = (Some(from), Some(until));
        }
        if let Some(code) = blank(&q.town) {
            let org = self.app.caches().org();
            let town = org
                .by_code(&code)
                .filter(|u| u.kind == UnitKind::Town)
                .ok_or_else(|| AppError::bad_parameter(format!("「town」镇街「{code}」不存在")))?;
            filter.town_id = Some(town.id);
        }
        if let Some(state) = blank(&q.state) {
            filter.state = Some(
                VisitState::parse(&state)
                    .ok_or_else(|| AppError::bad_parameter("「state」应为 planned、recorded 或 cancelled"))?,
            );
        }
        filter.credit_code = blank(&q.enterprise);
        Ok(filter)
    }

    fn view(&self, v: Visit, org: &OrgTree) -> VisitView {
        view(v, org, self.app.now())
    }

    // ---- reports ----------------------------------------------------------------------

    /// Visits in the caller's scope by cadre, town and month (a month or all),
    /// and the cadres whose visits are due by their level's rule.
    pub async fn report(&self, caller: &Caller, query: &VisitQuery) -> AppResult<VisitReport> {
        let now = self.app.now();
        let filter = self.filter(caller, query)?;
        let org = self.app.caches().org();
        let visits = self.app.store().visits(&filter).await?;
        let mut by_cadre: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut by_town: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut by_month: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut total = ReportRow { name: "合计".into(), ..ReportRow::default() };
        for v in visits.iter().filter(|v| v.state != VisitState::Cancelled) {
            let town = org.get(v.town_id).map_or_else(|| v.town_id.to_string(), |u| u.display_name().to_owned());
            let month = in_shanghai(&v.planned_at).format("%Y-%m").to_string();
            for row in [
                by_cadre.entry(v.lead_name.clone()).or_insert_with(|| named(&v.lead_name)),
                by_town.entry(town.clone()).or_insert_with(|| named(&town)),
                by_month.entry(month.clone()).or_insert_with(|| named(&month)),
                &mut total,
            ] {
                count(row, v, now);
            }
        }
        let due = if query.month.as_deref().is_none_or(|m| m.trim().is_empty()) {
            self.due(caller, &visits, now, &org).await?
        } else {
            self.due(caller, &self.app.store().visits(&VisitFilter::in_scope(filter.scope)).await?, now, &org).await?
        };
        let month = query.month.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
        Ok(VisitReport {
            month,
            by_cadre: by_cadre.into_values().collect(),
            by_town: by_town.into_values().collect(),
            by_month: by_month.into_values().rev().collect(),
            total,
            due,
        })
    }

    /// The assignments in the caller's scope whose cadre's last recorded
    /// visit (or the assignment, if never visited) is older than the level's interval.
    async fn due(&self, caller: &Caller, visits: &[Visit], now: Instant, org: &OrgTree) -> AppResult<Vec<DueVisit>> {
        let scope = EnterpriseScope::of(&caller.actor);
        let assignments = self
            .app
            .store()
            .assignments(&AssignmentFilter { limit: crate::liaisons::LIST_MAX, ..AssignmentFilter::default() })
            .await?;
        let mut last: BTreeMap<(UserId, &str), Instant> = BTreeMap::new();
        for v in visits.iter().filter(|v| v.state == VisitState::Recorded) {
            let at = v.visited_at.unwrap_or(v.planned_at);
            let entry = last.entry((v.lead_user_id, v.credit_code.as_str())).or_insert(at);
            if at > *entry {
                *entry = at;
            }
        }
        let today = in_shanghai(&now).date_naive();
        let mut due = Vec::new();
        for a in assignments.into_iter().filter(|a| scope.permits(a.town_id, &[a.user_id])) {
            let last_visit = last.get(&(a.user_id, a.credit_code.as_str())).copied();
            let since = last_visit.unwrap_or(a.assigned_at);
            let due_on = in_shanghai(&since).date_naive() + Duration::days(i64::from(a.level.visit_interval_days()));
            if due_on <= today {
                due.push(DueVisit {
                    user_id: a.user_id,
                    cadre_name: a.cadre_name,
                    level_label: a.level.label(),
                    visit_rule: a.level.visit_rule(),
                    credit_code: a.credit_code,
                    enterprise_name: a.enterprise_name,
                    town: unit_ref(org, Some(a.town_id)),
                    last_visit: last_visit.map(|t| in_shanghai(&t).format("%Y-%m-%d").to_string()),
                    due_on: due_on.format("%Y-%m-%d").to_string(),
                });
            }
        }
        due.sort_by(|a, b| (a.due_on.as_str(), a.user_id).cmp(&(b.due_on.as_str(), b.user_id)));
        Ok(due)
    }

    /// The report as an Excel workbook: one sheet-like block per grouping.
    pub async fn report_xlsx(&self, caller: &Caller, query: &VisitQuery) -> AppResult<Vec<u8>> {
        let report = self.report(caller, query).await?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let columns = vec![
            WriteColumn::text("分组"),
            WriteColumn::text("名称"),
            WriteColumn::new("计划走访", Kind::Integer),
            WriteColumn::new("已走访", Kind::Integer),
            WriteColumn::new("逾期未走访", Kind::Integer),
            WriteColumn::new("发现问题", Kind::Integer),
            WriteColumn::new("现场办结", Kind::Integer),
            WriteColumn::new("已办结诉求", Kind::Integer),
            WriteColumn::new("超期诉求", Kind::Integer),
        ];
        let title = match &report.month {
            Some(m) => format!("走访统计（{m}）"),
            None => "走访统计（全部月份）".to_owned(),
        };
        let mut export = Export::with_preamble("走访统计", &[title], columns).map_err(sheet_error)?;
        let groups = [("按干部", &report.by_cadre), ("按镇街", &report.by_town), ("按月份", &report.by_month)];
        for (group, rows) in groups {
            for r in rows.iter() {
                export.push(&report_cells(group, r)).map_err(sheet_error)?;
            }
        }
        export.push(&report_cells("合计", &report.total)).map_err(sheet_error)?;
        export.finish().map_err(sheet_error)
    }
}

fn report_cells(group: &str, r: &ReportRow) -> Vec<Cell> {
    let n = |v: u32| Cell::Number(f64::from(v));
    vec![
        Cell::Text(group.to_owned()),
        Cell::Text(r.name.clone()),
        n(r.visits_planned),
        n(r.visits_made),
        n(r.visits_overdue),
        n(r.problems),
        n(r.solved_on_site),
        n(r.closed),
        n(r.overdue),
    ]
}

fn named(name: &str) -> ReportRow {
    ReportRow { name: name.to_owned(), ..ReportRow::default() }
}

/// Adds a visit (not cancelled) to a row.
fn count(row: &mut ReportRow, v: &Visit, now: Instant) {
    row.visits_planned += 1;
    if v.state == VisitState::Recorded {
        row.visits_made += 1;
    }
    if visit::is_overdue(v.state, &v.planned_at, &now) {
        row.visits_overdue += 1;
    }
    for p in &v.problems {
        row.problems += 1;
        match &p.request {
            None => row.solved_on_site += 1,
            Some(r) if !r.state.is_open() => row.closed += 1,
            Some(r) if r.due_at.is_some_and(|d| d < now) => row.overdue += 1,
            Some(_) => {}
        }
    }
}

fn view(v: Visit, org: &OrgTree, now: Instant) -> VisitView {
    let problems: Vec<ProblemView> = v
        .problems
        .into_iter()
        .map(|p| {
            let request = p.request.as_ref();
            let closed = request.is_none_or(|r| !r.state.is_open());
            ProblemView {
                seq: p.seq,
                text: p.text,
                outcome: p.outcome,
                outcome_label: p.outcome.label(),
                solved_by: p.solved_by,
                solution: p.solution,
                instruction: p.instruction,
                tracking_no: request.map(|r| r.tracking_no.clone()),
                request_state: request.map(|r| r.state.as_str()),
                state_label: request.map_or(ProblemOutcome::SolvedOnSite.label(), |r| r.state.label()),
                due_at: request.and_then(|r| r.due_at.as_ref()).map(format_instant),
                supervised: request.is_some_and(|r| r.supervised),
                closed,
                overdue: !closed && request.and_then(|r| r.due_at).is_some_and(|d| d < now),
            }
        })
        .collect();
    let problems_open = problems.iter().filter(|p| !p.closed).count();
    let event_label = |a: &str| match a {
        "planned" => "计划走访",
        "recorded" => "记录走访",
        "cancelled" => "取消走访",
        "document_added" => "上传照片或附件",
        "document_withdrawn" => "撤回照片或附件",
        _ => "其他",
    };
    VisitView {
        id: v.id,
        kind: v.kind,
        kind_label: v.kind.label(),
        town: unit_ref(org, Some(v.town_id)),
        credit_code: v.credit_code,
        enterprise_name: v.enterprise_name,
        planned_at: format_instant(&v.planned_at),
        lead_user_id: v.lead_user_id,
        lead_name: v.lead_name,
        purpose: v.purpose,
        units: v.units.iter().filter_map(|u| unit_ref(org, Some(*u))).collect(),
        state: v.state,
        state_label: v.state.label(),
        overdue: visit::is_overdue(v.state, &v.planned_at, &now),
        attendees: v.attendees,
        notes: v.notes,
        visited_at: v.visited_at.as_ref().map(format_instant),
        cancel_reason: v.cancel_reason,
        created_at: format_instant(&v.created_at),
        created_by: v.created_by,
        all_closed: v.state == VisitState::Recorded && problems_open == 0,
        problems_open,
        problems,
        history: v
            .events
            .into_iter()
            .map(|e| VisitEventView {
                at: format_instant(&e.at),
                by: e.by,
                label: event_label(&e.action),
                action: e.action,
                comment: e.comment,
            })
            .collect(),
    }
}

/// `第 n 个问题：` before a problem's refusal.
fn numbered(n: usize, e: mashangban_domain::DomainError) -> AppError {
    AppError::from(mashangban_domain::DomainError { message: format!("第 {n} 个问题：{}", e.message), ..e })
}

/// A request title from the problem text: its first line, at most 40 characters.
fn title_of(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    let title: String = first.chars().take(40).collect();
    if title.is_empty() { "走访发现的问题".to_owned() } else { title }
}

/// At most `max` characters of `text`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DDTHH:MM` in Asia/Shanghai, or RFC 3339.
pub fn parse_time(s: &str, field: &str) -> AppResult<Instant> {
    let s = s.trim();
    if let Some(t) = mashangban_domain::time::parse_instant(s) {
        return Ok(t);
    }
    let local = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN)));
    local
        .and_then(|t| shanghai().from_local_datetime(&t).single())
        .ok_or_else(|| AppError::invalid("invalid_time", format!("「{field}」应为日期时间，如 2026-12-04 09:30")))
}

/// The first instant of a month (`YYYY-MM`) and of the next, in Asia/Shanghai.
pub(crate) fn month_range(month: &str) -> AppResult<(Instant, Instant)> {
    let bad = || AppError::bad_parameter("「month」应为年月，如 2026-12");
    let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    let at = |d: NaiveDate| shanghai().from_local_datetime(&d.and_time(NaiveTime::MIN)).single().ok_or_else(bad);
    Ok((at(first)?, at(next)?))
}

/// Units a walking-office session may invite: active departments and towns' units.
pub fn attending_units(org: &OrgTree) -> Vec<(String, String)> {
    let mut units: Vec<(String, String)> = org
        .units()
        .filter(|u| u.active && u.kind != UnitKind::City)
        .map(|u| (u.code.clone(), u.display_name().to_owned()))
        .collect();
    units.sort();
    units
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_and_months_parse_in_shanghai() {
        let t = parse_time("2026-12-04 09:30", "planned_at").unwrap();
        assert_eq!(format_instant(&t), "2026-12-04T09:30:00.000+08:00");
        assert_eq!(format_instant(&parse_time("2026-12-04", "x").unwrap()), "2026-12-04T00:00:00.000+08:00");
        assert_eq!(parse_time("明天", "x").unwrap_err().code, "invalid_time");
        let (from, until) = month_range("2026-12").unwrap();
        assert_eq!(format_instant(&from), "2026-12-01T00:00:00.000+08:00");
        assert_eq!(format_instant(&until), "2027-01-01T00:00:00.000+08:00");
        assert!(month_range("2026-13").is_err());
        assert_eq!(title_of("第一行问题\n细节"), "第一行问题");
    }
}
