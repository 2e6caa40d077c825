//! Ecological-damage compensation (生态环境损害赔偿): the expert pool (专家库)
//! and compensation matters opened from enforcement cases — assessment by an
//! appraiser or by drawn experts, consultation rounds, the agreement with its
//! payment schedule, payments, the remediation review and closure. See
//! docs/monitoring.md, "Compensation".
//!
//! Access follows the enforcement case the matter comes from: whoever reads
//! the case reads its matter (`enforcement.read`, unit-bound staff only their
//! unit's), whoever handles it acts (`enforcement.handle`, the case's unit);
//! signing, closing and terminating are for the unit's leader. The pool is
//! read by `enforcement.read` and kept by `compensation.experts`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::compensation::{
    self as domain, Agreement, DrawPurpose, DrawRecord, ExpertDraft, ExpertInput, InstalmentStatus, MatterAction,
    MatterStage, Procedure, Specialty, fen, fen_text, history_label, matter_changed, matter_not_found,
};
use mashangban_domain::enforcement::case_not_found;
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::org::Role;
use mashangban_domain::time::{Instant, format_instant};
use mashangban_domain::validation::CreditCode;
use mashangban_store::{
    EnforcementActor, Expert, MatterEvent, MatterFilter, MatterHistoryEntry, MatterRecord, MatterSupervision,
    NewMatter, Store, StoreError, SupervisionFilter, expert_names,
};

use crate::enforcement::{actor as enforcement_actor, acts_for, forbidden, in_scope, unit_scope};
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The most matters one list answers.
pub const LIST_MAX: u32 = 500;

/// The compensation service: `app.compensation()`.
pub struct Compensation<'a, S> {
    app: &'a App<S>,
}

/// An expert as entered.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertBody {
    pub name: String,
    /// `water`, `air`, `soil`, `ecology`, `engineering`, `law` or `economics`.
    pub specialty: String,
    /// The expert's employer (工作单位).
    pub employer: String,
    /// Credit codes of enterprises the expert must not assess (回避).
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// Takes an expert out of the pool (`false`) or back in.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertActiveBody {
    pub active: bool,
}

/// An expert as shown; the conflicts only to those who keep the pool.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExpertView {
    pub id: i64,
    pub name: String,
    pub specialty: String,
    pub specialty_label: String,
    pub employer: String,
    pub conflicts: Option<Vec<String>>,
    pub active: bool,
}

/// Opens a matter from an enforcement case.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenMatterBody {
    /// The enforcement case's id.
    pub case: i64,
    /// `simple` (简易程序, experts assess) or `ordinary` (一般程序, an appraisal institution).
    pub procedure: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Draws experts for the assessment (simple procedure, at 损害鉴定评估) or the
/// remediation review (at 修复效果评估).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawBody {
    /// `assessment` or `review`.
    pub purpose: String,
    /// How many experts (3–9).
    pub count: usize,
    /// Specialties to draw from; any when empty.
    #[serde(default)]
    pub specialties: Vec<String>,
    /// The matter's version the draw is made on.
    pub version: i64,
}

/// One instalment as entered: a date and an amount in yuan.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalmentBody {
    /// `YYYY-MM-DD`.
    pub due: String,
    /// Yuan, at most two decimals.
    pub amount: String,
}

/// An action on a matter, with the version it is made on. Which fields apply
/// depends on `action`:
/// `assess` (damage, report, appraiser for the ordinary procedure), `consult` (minutes),
/// `sign` (amount, signed_on, instalments, remediation, remediation_due), `pay` (amount, paid_on),
/// `report_remediation` (note), `review` (passed, opinion), `close` (note), `terminate` (reason).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatterActionBody {
    pub action: String,
    pub version: i64,
    /// The damage in yuan (损害数额).
    #[serde(default)]
    pub damage: Option<String>,
    #[serde(default)]
    pub report: Option<String>,
    /// The appraisal institution (鉴定机构).
    #[serde(default)]
    pub appraiser: Option<String>,
    #[serde(default)]
    pub minutes: Option<String>,
    /// The agreement's amount or a payment's, in yuan.
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub signed_on: Option<String>,
    #[serde(default)]
    pub instalments: Vec<InstalmentBody>,
    /// The remediation obligations (修复义务).
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub remediation_due: Option<String>,
    #[serde(default)]
    pub paid_on: Option<String>,
    #[serde(default)]
    pub passed: Option<bool>,
    #[serde(default)]
    pub opinion: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A matter as listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatterView {
    pub id: i64,
    pub number: String,
    pub case_id: i64,
    pub case_number: Option<String>,
    pub credit_code: String,
    pub enterprise_name: Option<String>,
    pub unit: Option<UnitRef>,
    pub procedure: String,
    pub procedure_label: String,
    pub stage: String,
    pub stage_label: String,
    pub stage_started_at: String,
    /// The assessed damage in yuan.
    pub damage: Option<String>,
    /// The agreed amount in yuan.
    pub agreed: Option<String>,
    pub paid: String,
    pub outstanding: String,
    /// An instalment is past due and not paid in full, or the remediation is past its date.
    pub overdue: bool,
    pub consultations: u32,
    pub remediation_passed: bool,
    pub closed_reason: Option<String>,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub version: i64,
}

/// A draw as shown, with the experts' names and whether repeating it gives the same experts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DrawView {
    pub purpose: String,
    pub purpose_label: String,
    pub at: String,
    pub by: String,
    pub seed: String,
    pub eligible: usize,
    pub experts: Vec<String>,
    pub reproduced: bool,
}

/// One entry of a matter's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatterEventView {
    pub kind: String,
    pub label: String,
    pub stage_label: String,
    pub at: String,
    pub by: String,
    pub amount: Option<String>,
    pub note: Option<String>,
}

/// The agreement as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AgreementView {
    pub amount: String,
    pub signed_on: NaiveDate,
    pub remediation: String,
    pub remediation_due: NaiveDate,
    pub schedule: Vec<InstalmentView>,
}

/// An instalment with what was paid towards it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InstalmentView {
    pub due: NaiveDate,
    pub amount: String,
    pub paid: String,
    pub overdue: bool,
}

/// A matter with its assessment, agreement, draws and history, and the actions open now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MatterDetail {
    #[serde(flatten)]
    pub matter: MatterView,
    pub assessment: Option<String>,
    pub appraiser: Option<String>,
    pub assessment_experts: Vec<String>,
    pub review_experts: Vec<String>,
    pub agreement: Option<AgreementView>,
    pub draws: Vec<DrawView>,
    pub history: Vec<MatterEventView>,
    /// Action codes open in the current stage.
    pub actions: Vec<String>,
    /// 督办 of overdue obligations, newest first (open and resolved).
    pub supervisions: Vec<SupervisionView>,
}

/// A 督办 of an overdue obligation (an instalment or the remediation) of a matter's agreement.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SupervisionView {
    pub id: i64,
    pub matter_id: i64,
    pub matter_number: String,
    pub credit_code: String,
    /// The pressed unit (the matter's).
    pub unit: Option<UnitRef>,
    /// `instalment:N` or `remediation`.
    pub obligation: String,
    pub obligation_label: String,
    pub due: NaiveDate,
    pub raised_at: String,
    /// Not yet resolved.
    pub open: bool,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

/// Which 督办 to list: `open=true` for unresolved ones only.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisionQuery {
    #[serde(default)]
    pub open: Option<bool>,
}

/// The report's period: `from` and `to` as `YYYY-MM-DD` (opened in the period; all when absent).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct ReportQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// Figures of one town (by the enterprise's town) or of the whole city.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ReportRow {
    pub town: String,
    pub matters: u32,
    pub agreements: u32,
    pub closed: u32,
    pub agreed: String,
    pub paid: String,
    /// Mean calendar days from the exceedance (or inspection) to the case.
    pub days_to_case: Option<f64>,
    /// Mean calendar days from the case to the signed agreement.
    pub days_to_agreement: Option<f64>,
    #[serde(skip)]
    agreed_fen: i64,
    #[serde(skip)]
    paid_fen: i64,
    #[serde(skip)]
    to_case: Vec<f64>,
    #[serde(skip)]
    to_agreement: Vec<f64>,
}

/// Cases and agreements by town for a period, with a city total.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CompensationReport {
    pub rows: Vec<ReportRow>,
    pub total: ReportRow,
}

fn leader(caller: &Caller) -> bool {
    matches!(caller.actor.role(), Some(Role::UnitLeader | Role::Admin))
}

fn day(label: &str, text: Option<&str>) -> AppResult<NaiveDate> {
    let text = text.map(str::trim).filter(|t| !t.is_empty()).unwrap_or_default();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::invalid("invalid_date", format!("「{label}」应为日期，如 2026-12-31")))
}

fn required(label: &str, text: Option<&str>) -> AppResult<String> {
    Ok(domain::text(label, text.unwrap_or_default())?)
}

fn days_between(from: &Instant, to: &Instant) -> f64 {
    (to.timestamp() - from.timestamp()) as f64 / 86_400.0
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| (values.iter().sum::<f64>() / values.len() as f64 * 10.0).round() / 10.0)
}

impl<'a, S: Store> Compensation<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The pool; conflicts only to those who keep it.
    pub async fn experts(&self, caller: &Caller) -> AppResult<Vec<ExpertView>> {
        let keeps = caller.may(mashangban_domain::access::Permission::ManageExperts);
        let experts = self.app.store().experts().await?;
        Ok(experts.iter().map(|e| expert_view(e, keeps)).collect())
    }

    /// Adds an expert to the pool.
    pub async fn add_expert(&self, body: ExpertBody) -> AppResult<ExpertView> {
        let input = ExpertInput::new(ExpertDraft {
            name: body.name,
            specialty: body.specialty,
            employer: body.employer,
            conflicts: body.conflicts,
        })?;
        let saved = self.app.store().create_expert(input, self.app.now()).await?;
        Ok(expert_view(&saved, true))
    }

    /// Takes an expert out of the pool or back in.
    pub async fn set_expert_active(&self, id: i64, body: ExpertActiveBody) -> AppResult<ExpertView> {
        let saved = self.app.store().set_expert_active(id, body.active).await?;
        Ok(expert_view(&saved, true))
    }

    /// Opens a matter from a case of the caller's unit.
    pub async fn open(&self, caller: &Caller, body: OpenMatterBody) -> AppResult<MatterDetail> {
        let procedure = Procedure::parse(body.procedure.trim()).ok_or_else(|| {
            AppError::invalid("invalid_procedure", "程序应为 simple（简易程序）或 ordinary（一般程序）")
        })?;
        let note = domain::optional("启动意见", body.note.as_deref())?;
        let store = self.app.store();
        let case = store
            .enforcement_case(body.case)
            .await?
            .filter(|c| in_scope(&caller.actor, c.unit_id))
            .ok_or_else(case_not_found)?;
        if !acts_for(&caller.actor, case.unit_id) {
            return Err(forbidden("not_case_unit", "只有案件的承办单位才能启动赔偿"));
        }
        let new = NewMatter { case_id: case.id, credit_code: case.credit_code, unit_id: case.unit_id, procedure, note };
        let saved = store.open_matter(new, self.app.now(), enforcement_actor(caller)).await?;
        self.detail(caller, saved).await
    }

    /// Draws experts from the pool with a fresh seed, recorded with the eligible list.
    pub async fn draw(&self, caller: &Caller, id: i64, body: DrawBody) -> AppResult<MatterDetail> {
        let record = self.acting(caller, id).await?;
        let purpose = DrawPurpose::parse(body.purpose.trim()).ok_or_else(|| {
            AppError::invalid("invalid_purpose", "抽取用途应为 assessment（损害评估）或 review（修复效果评估）")
        })?;
        let mut specialties = Vec::new();
        for s in &body.specialties {
            let s = Specialty::parse(s.trim())
                .ok_or_else(|| AppError::invalid("invalid_specialty", format!("没有「{s}」这个专业领域")))?;
            if !specialties.contains(&s) {
                specialties.push(s);
            }
        }
        let pool = self.app.store().experts().await?;
        let seed = rand::thread_rng().next_u64();
        let candidates: Vec<_> = pool.iter().map(Expert::candidate).collect();
        let drawn = DrawRecord::make(purpose, &candidates, specialties, &record.credit_code, body.count, seed)?;
        let action = MatterAction::Draw { purpose, experts: drawn.chosen.clone() };
        let event = MatterEvent::draw(&drawn, &pool);
        self.change(caller, record, body.version, &action, event).await
    }

    /// Takes an action on a matter (see [`MatterActionBody`]).
    pub async fn act(&self, caller: &Caller, id: i64, body: MatterActionBody) -> AppResult<MatterDetail> {
        let record = self.acting(caller, id).await?;
        let action = match body.action.trim() {
            "assess" => MatterAction::Assess {
                damage_fen: fen("损害数额", body.damage.as_deref().unwrap_or_default())?,
                report: required("评估意见", body.report.as_deref())?,
                appraiser: domain::optional("鉴定机构", body.appraiser.as_deref())?,
            },
            "consult" => MatterAction::Consult { minutes: required("磋商纪要", body.minutes.as_deref())? },
            "sign" => {
                let plan: Vec<(String, String)> =
                    body.instalments.iter().map(|i| (i.due.clone(), i.amount.clone())).collect();
                MatterAction::Sign(Agreement::new(
                    body.amount.as_deref().unwrap_or_default(),
                    body.signed_on.as_deref().unwrap_or_default(),
                    &plan,
                    body.remediation.as_deref().unwrap_or_default(),
                    body.remediation_due.as_deref().unwrap_or_default(),
                )?)
            }
            "pay" => {
                let amount_fen = fen("缴款金额", body.amount.as_deref().unwrap_or_default())?;
                let paid_on = day("缴款日期", body.paid_on.as_deref())?;
                if paid_on > self.app.now().date_naive() {
                    return Err(AppError::invalid("invalid_date", "缴款日期不能晚于今天"));
                }
                MatterAction::Pay { amount_fen, paid_on }
            }
            "report_remediation" => {
                MatterAction::ReportRemediation { note: required("修复情况", body.note.as_deref())? }
            }
            "review" => MatterAction::Review {
                passed: body
                    .passed
                    .ok_or_else(|| AppError::invalid("passed_required", "请选择修复效果评估是否通过"))?,
                opinion: required("专家评估意见", body.opinion.as_deref())?,
            },
            "close" => MatterAction::Close { note: domain::optional("结案意见", body.note.as_deref())? },
            "terminate" => MatterAction::Terminate { reason: required("终止理由", body.reason.as_deref())? },
            _ => {
                return Err(AppError::invalid(
                    "invalid_action",
                    "操作应为 assess、consult、sign、pay、report_remediation、review、close 或 terminate",
                ));
            }
        };
        let event = MatterEvent::of(&action);
        self.change(caller, record, body.version, &action, event).await
    }

    /// Matters in the caller's scope, newest first; of one stage or enterprise when given.
    pub async fn matters(
        &self,
        caller: &Caller,
        stage: Option<&str>,
        enterprise: Option<&str>,
    ) -> AppResult<Vec<MatterView>> {
        let stage = match stage.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(MatterStage::parse(s).ok_or_else(|| {
                AppError::invalid("invalid_stage", "阶段应为 assessing、consulting、performing、reviewing 或 closed")
            })?),
            None => None,
        };
        let credit_code = match enterprise.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(CreditCode::parse(c)?.as_str().to_owned()),
            None => None,
        };
        let filter = MatterFilter { stage, credit_code, case_id: None, units: unit_scope(&caller.actor) };
        let list = self.app.store().matters(filter, LIST_MAX).await?;
        self.views(&list).await
    }

    /// The matter of an enforcement case in the caller's scope, if one was opened.
    pub async fn for_case(&self, caller: &Caller, case_id: i64) -> AppResult<Option<MatterView>> {
        let filter =
            MatterFilter { case_id: Some(case_id), units: unit_scope(&caller.actor), ..MatterFilter::default() };
        let found = self.app.store().matters(filter, 1).await?;
        Ok(self.views(&found).await?.pop())
    }

    /// One matter (`404 matter_not_found`, also outside the caller's scope).
    pub async fn matter(&self, caller: &Caller, id: i64) -> AppResult<MatterDetail> {
        let record = self.scoped(caller, id).await?;
        self.detail(caller, record).await
    }

    /// Matters and agreements by the enterprise's town, for matters opened in the period.
    pub async fn report(&self, caller: &Caller, query: ReportQuery) -> AppResult<CompensationReport> {
        let from = match query.from.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(day("起始日期", Some(t))?),
            None => None,
        };
        let to = match query.to.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(day("截止日期", Some(t))?),
            None => None,
        };
        let store = self.app.store();
        let filter = MatterFilter { units: unit_scope(&caller.actor), ..MatterFilter::default() };
        let list = store.matters(filter, 1000).await?;
        let org = self.app.caches().org();
        let mut rows: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut total = ReportRow { town: "全市".into(), ..ReportRow::default() };
        let mut towns: BTreeMap<String, String> = BTreeMap::new();
        for m in &list {
            let opened = m.opened_at.date_naive();
            if from.is_some_and(|f| opened < f) || to.is_some_and(|t| opened > t) {
                continue;
            }
            // One look-up per enterprise, however many matters it has.
            let town = match towns.get(&m.credit_code) {
                Some(town) => town.clone(),
                None => {
                    let enterprise = store.enterprise(&m.credit_code, EnterpriseScope::All).await?;
                    let town = enterprise
                        .and_then(|e| unit_ref(&org, Some(e.town_id)))
                        .map_or_else(|| "（未知镇街）".to_owned(), |u| u.name);
                    towns.insert(m.credit_code.clone(), town.clone());
                    town
                }
            };
            let (to_case, to_agreement) = self.durations(m).await?;
            for row in [
                rows.entry(town.clone()).or_insert_with(|| ReportRow { town: town.clone(), ..ReportRow::default() }),
                &mut total,
            ] {
                row.matters += 1;
                if let Some(a) = &m.matter.agreement {
                    row.agreements += 1;
                    row.agreed_fen += a.amount_fen;
                }
                row.closed += u32::from(m.matter.stage == MatterStage::Closed);
                row.paid_fen += m.matter.paid_fen;
                row.to_case.extend(to_case);
                row.to_agreement.extend(to_agreement);
            }
        }
        let finish = |mut r: ReportRow| {
            r.agreed = fen_text(r.agreed_fen);
            r.paid = fen_text(r.paid_fen);
            r.days_to_case = mean(&r.to_case);
            r.days_to_agreement = mean(&r.to_agreement);
            r
        };
        Ok(CompensationReport { rows: rows.into_values().map(finish).collect(), total: finish(total) })
    }

    /// Days from the exceedance (or the inspection) to the case, and from the case to the agreement.
    async fn durations(&self, m: &MatterRecord) -> AppResult<(Option<f64>, Option<f64>)> {
        let store = self.app.store();
        let Some(case) = store.enforcement_case(m.case_id).await? else { return Ok((None, None)) };
        let start = match case.origin {
            mashangban_domain::enforcement::CaseOrigin::Alert(id) => {
                store.monitoring_alert(id).await?.map(|a| a.data_time)
            }
            mashangban_domain::enforcement::CaseOrigin::Inspection(id) => {
                store.inspection(id).await?.map(|i| i.inspected_at)
            }
        };
        let to_case = start.map(|s| days_between(&s, &case.opened_at));
        let signed = if m.matter.agreement.is_some() {
            store.matter_history(m.id).await?.into_iter().find(|e| e.event.kind == "signed").map(|e| e.at)
        } else {
            None
        };
        Ok((to_case, signed.map(|s| days_between(&case.opened_at, &s))))
    }

    pub(crate) async fn scoped(&self, caller: &Caller, id: i64) -> AppResult<MatterRecord> {
        let found = self.app.store().matter(id).await?;
        Ok(found.filter(|m| in_scope(&caller.actor, m.unit_id)).ok_or_else(matter_not_found)?)
    }

    async fn acting(&self, caller: &Caller, id: i64) -> AppResult<MatterRecord> {
        let record = self.scoped(caller, id).await?;
        if !acts_for(&caller.actor, record.unit_id) {
            return Err(forbidden("not_case_unit", "只有案件的承办单位才能办理赔偿事项"));
        }
        Ok(record)
    }

    async fn change(
        &self,
        caller: &Caller,
        record: MatterRecord,
        version: i64,
        action: &MatterAction,
        event: MatterEvent,
    ) -> AppResult<MatterDetail> {
        if version != record.version {
            return Err(matter_changed().into());
        }
        let next = domain::apply(&record.matter, action, leader(caller))?;
        let saved = self
            .app
            .store()
            .change_matter(record.id, version, next, event, self.app.now(), enforcement_actor(caller))
            .await?;
        self.detail(caller, saved).await
    }

    async fn views(&self, list: &[MatterRecord]) -> AppResult<Vec<MatterView>> {
        let store = self.app.store();
        let org = self.app.caches().org();
        let today = self.app.now().date_naive();
        let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut views = Vec::with_capacity(list.len());
        for m in list {
            if !names.contains_key(&m.credit_code) {
                let name = store.enterprise(&m.credit_code, EnterpriseScope::All).await?.map(|e| e.name);
                names.insert(m.credit_code.clone(), name);
            }
            let case_number = store.enforcement_case(m.case_id).await?.map(|c| c.number);
            let x = &m.matter;
            let open = x.stage.is_open();
            let overdue = open
                && x.agreement.as_ref().is_some_and(|a| {
                    domain::schedule(a, x.paid_fen, today).iter().any(|i| i.overdue)
                        || (a.remediation_due < today && !x.remediation_passed)
                });
            views.push(MatterView {
                id: m.id,
                number: m.number.clone(),
                case_id: m.case_id,
                case_number,
                credit_code: m.credit_code.clone(),
                enterprise_name: names.get(&m.credit_code).cloned().flatten(),
                unit: unit_ref(&org, Some(m.unit_id)),
                procedure: x.procedure.as_str().into(),
                procedure_label: x.procedure.label().into(),
                stage: x.stage.as_str().into(),
                stage_label: x.stage.label().into(),
                stage_started_at: format_instant(&m.stage_started_at),
                damage: x.damage_fen.map(fen_text),
                agreed: x.agreement.as_ref().map(|a| fen_text(a.amount_fen)),
                paid: fen_text(x.paid_fen),
                outstanding: fen_text(x.outstanding_fen()),
                overdue,
                consultations: x.consultations,
                remediation_passed: x.remediation_passed,
                closed_reason: x.closed_reason.clone(),
                opened_at: format_instant(&m.opened_at),
                closed_at: m.closed_at.as_ref().map(format_instant),
                version: m.version,
            });
        }
        Ok(views)
    }

    async fn detail(&self, caller: &Caller, record: MatterRecord) -> AppResult<MatterDetail> {
        let store = self.app.store();
        let pool = store.experts().await?;
        let history = store.matter_history(record.id).await?;
        let view = self.views(std::slice::from_ref(&record)).await?.pop().ok_or_else(matter_not_found)?;
        let today = self.app.now().date_naive();
        let x = &record.matter;
        let agreement = x.agreement.as_ref().map(|a| AgreementView {
            amount: fen_text(a.amount_fen),
            signed_on: a.signed_on,
            remediation: a.remediation.clone(),
            remediation_due: a.remediation_due,
            schedule: domain::schedule(a, x.paid_fen, today).iter().map(instalment_view).collect(),
        });
        let draws = history.iter().filter_map(|e| draw_view(e, &pool)).collect();
        let actions = if acts_for(&caller.actor, record.unit_id) { actions(x.stage) } else { Vec::new() };
        let filter = SupervisionFilter { matter_id: Some(record.id), ..SupervisionFilter::default() };
        let org = self.app.caches().org();
        let supervisions =
            store.matter_supervisions(filter, 1000).await?.iter().map(|s| supervision_view(s, &org)).collect();
        Ok(MatterDetail {
            matter: view,
            assessment: x.assessment.clone(),
            appraiser: x.appraiser.clone(),
            assessment_experts: expert_names(&pool, &x.assessment_experts),
            review_experts: expert_names(&pool, &x.review_experts),
            agreement,
            draws,
            history: history.iter().map(event_view).collect(),
            actions,
            supervisions,
        })
    }

    /// 督办 of matters in the caller's scope, newest first (unresolved only with `open=true`).
    pub async fn supervisions(&self, caller: &Caller, query: SupervisionQuery) -> AppResult<Vec<SupervisionView>> {
        let filter = SupervisionFilter {
            matter_id: None,
            open_only: query.open.unwrap_or(false),
            units: unit_scope(&caller.actor),
        };
        let list = self.app.store().matter_supervisions(filter, LIST_MAX).await?;
        let org = self.app.caches().org();
        Ok(list.iter().map(|s| supervision_view(s, &org)).collect())
    }
}

/// Who raises 督办 in a matter's history.
fn system_actor() -> EnforcementActor {
    EnforcementActor { user_id: None, name: "系统".into() }
}

/// The scheduler's 督办: every obligation of an open agreement that is past due and not met
/// raises one 督办 on the matter's unit, recorded in the matter's history (a rescan, a restart
/// or another node finds the record and raises nothing again). Returns how many were raised now.
pub async fn supervise_overdue<S: Store>(app: &App<S>) -> AppResult<usize> {
    let today = crate::deadlines::today(app);
    let mut raised = 0;
    for stage in [MatterStage::Performing, MatterStage::Reviewing] {
        let filter = MatterFilter { stage: Some(stage), ..MatterFilter::default() };
        for m in app.store().matters(filter, 1000).await? {
            for (obligation, due) in domain::overdue_obligations(&m.matter, today) {
                match app.store().supervise_obligation(m.id, obligation, due, app.now(), system_actor()).await {
                    Ok(Some(_)) => raised += 1,
                    Ok(None) => {}
                    Err(StoreError::Domain(e)) if e.code == "matter_not_found" => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(raised)
}

/// [`supervise_overdue`] unless another node is doing it now.
pub async fn supervise_overdue_if_leading<S: Store>(app: &App<S>) -> AppResult<usize> {
    match app.store().try_lock_job("compensation-supervision").await? {
        Some(_lock) => supervise_overdue(app).await,
        None => Ok(0),
    }
}

fn supervision_view(s: &MatterSupervision, org: &mashangban_domain::org::OrgTree) -> SupervisionView {
    SupervisionView {
        id: s.id,
        matter_id: s.matter_id,
        matter_number: s.matter_number.clone(),
        credit_code: s.credit_code.clone(),
        unit: unit_ref(org, Some(s.unit_id)),
        obligation: s.obligation.code(),
        obligation_label: s.obligation.label(),
        due: s.due,
        raised_at: format_instant(&s.raised_at),
        open: s.resolved_at.is_none(),
        resolved_at: s.resolved_at.as_ref().map(format_instant),
        resolution: s.resolution.clone(),
    }
}

/// The action codes of a stage (the domain still checks each).
fn actions(stage: MatterStage) -> Vec<String> {
    let codes: &[&str] = match stage {
        MatterStage::Assessing => &["draw", "assess", "terminate"],
        MatterStage::Consulting => &["consult", "sign", "terminate"],
        MatterStage::Performing => &["pay", "report_remediation", "terminate"],
        MatterStage::Reviewing => &["draw", "review", "pay", "close", "terminate"],
        MatterStage::Closed => &[],
    };
    codes.iter().map(|c| (*c).to_owned()).collect()
}

fn expert_view(e: &Expert, keeps: bool) -> ExpertView {
    ExpertView {
        id: e.id,
        name: e.name.clone(),
        specialty: e.specialty.as_str().into(),
        specialty_label: e.specialty.label().into(),
        employer: e.employer.clone(),
        conflicts: keeps.then(|| e.conflicts.clone()),
        active: e.active,
    }
}

fn instalment_view(i: &InstalmentStatus) -> InstalmentView {
    InstalmentView { due: i.due, amount: fen_text(i.amount_fen), paid: fen_text(i.paid_fen), overdue: i.overdue }
}

fn draw_view(e: &MatterHistoryEntry, pool: &[Expert]) -> Option<DrawView> {
    let record: DrawRecord = serde_json::from_str(e.event.detail.as_deref()?).ok()?;
    let reproduced =
        domain::draw(&record.eligible, record.chosen.len(), record.seed).ok().as_ref() == Some(&record.chosen);
    Some(DrawView {
        purpose: record.purpose.as_str().into(),
        purpose_label: record.purpose.label().into(),
        at: format_instant(&e.at),
        by: e.by.clone(),
        seed: record.seed.to_string(),
        eligible: record.eligible.len(),
        experts: expert_names(pool, &record.chosen),
        reproduced,
    })
}

fn event_view(e: &MatterHistoryEntry) -> MatterEventView {
    MatterEventView {
        kind: e.event.kind.clone(),
        label: history_label(&e.event.kind).into(),
        stage_label: e.stage.label().into(),
        at: format_instant(&e.at),
        by: e.by.clone(),
        amount: e.event.amount_fen.map(fen_text),
        note: e.event.note.clone(),
    }
}
