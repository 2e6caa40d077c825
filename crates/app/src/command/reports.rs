//! Periodic reports (定期报送) and responsibility pledges (军令状) of a
//! command centre: `app.command()` grows the forms, filings, chases (催报),
//! the missing-report list, the automatic chase the scheduler runs, the
//! period's Excel export, and the pledges with their met / missed / pending
//! status computed from the targets.
//!
//! Forms and pledges are edited and withdrawn (撤回 a form, 作废 a pledge) by
//! the office with the version read, each change a history entry of the
//! centre saying what changed, from and to. A withdrawn form takes no reports
//! and is not chased (its periods end at the withdrawal); a withdrawn pledge
//! is shown 已作废, neither met nor missed. An edit a form's filed reports
//! forbid is refused (`409 report_form_in_use`, see
//! [`check_form_change`](mashangban_domain::command_reports::check_form_change)).
//!
//! Who does what, as for tasks: the office (and administrators) define, edit
//! and withdraw forms, chase, and record, edit and withdraw pledges; a unit or town files its own reports (the office
//! may file for it); office, administrators, city leaders and supervisors see
//! every unit's reports, a unit or town only its own.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::calendar::TimeLimit;
use mashangban_domain::command::office_only;
use mashangban_domain::command_reports::{
    self as reports, Cadence, FieldError, FilingStatus, FormShape, Period, PledgeChange, PledgeDef, PledgeStatus,
    ReportField, ReportFieldKind, ReportFormDef, form_not_found, form_withdrawn, not_a_filer, not_missing,
    period_not_open, pledge_not_found, pledge_withdrawn, report_not_yours,
};
use mashangban_domain::org::{UnitId, UnitKind};
use mashangban_domain::time::{Instant, format_instant, shanghai};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{
    ChaseRecord, CommandAuthor, CommandEvent, FilingRecord, NewFiling, PledgeRecord, ReportFormRecord, Store,
    StoreError, TargetRecord, Withdrawal,
};

use super::{Access, CommandCentres, CommandEventView, TargetView, author, event_view, sheet_error};
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The note of the scheduler's chase.
const AUTO_CHASE_NOTE: &str = "报表已过报送期限仍未报送，系统自动催报，请尽快报送";

// ---- inputs -----------------------------------------------------------------------------

/// A report form to define or change (the office).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFormBody {
    /// Required when changing a form: the version read.
    #[serde(default)]
    pub version: Option<i64>,
    #[schemars(length(max = 100))]
    pub name: String,
    pub cadence: Cadence,
    pub fields: Vec<ReportField>,
    /// Org codes of the units and towns that must file; none means the centre's member units and
    /// towns.
    #[serde(default)]
    pub filers: Vec<String>,
    /// Working days after the period ends the report is due (1–30).
    pub due_working_days: u32,
}

/// A report to file for a period.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingBody {
    /// Org code of the unit or town filing (its own).
    pub unit: String,
    /// Field key → value as text (`12`, `3.5`, `2026-12-01`).
    pub values: BTreeMap<String, String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A chase (催报) of one missing report, or of every missing one of the period.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaseBody {
    /// Org code of the unit to chase; none chases every unit missing the period's report.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A withdrawal (撤回 a form, 作废 a pledge): the version read and why.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// The version read.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why (required, at most 500 characters).
    #[serde(default)]
    pub reason: String,
}

/// A pledge's change: the targets signed for, the date, the signatory. The unit and the signed
/// document are what was signed; a wrong one is withdrawn and recorded anew.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeBody {
    /// The version read.
    #[serde(default)]
    pub version: Option<i64>,
    /// The centre's target ids signed for.
    pub targets: Vec<i64>,
    /// `YYYY-MM-DD`.
    pub signed_on: String,
    pub signatory: String,
}

// ---- views ------------------------------------------------------------------------------

/// Who withdrew a form or a pledge, when and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WithdrawalView {
    pub at: String,
    pub by: String,
    pub reason: String,
}

fn withdrawal_view(w: &Withdrawal) -> WithdrawalView {
    WithdrawalView { at: format_instant(&w.at), by: w.by.clone(), reason: w.reason.clone() }
}

/// The history entries of one form or pledge among a centre's, newest first.
fn history_of(events: &[CommandEvent], keep: impl Fn(&CommandEvent) -> bool) -> Vec<CommandEventView> {
    events.iter().rev().filter(|e| keep(e)).map(event_view).collect()
}

/// A report form as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReportFormView {
    pub id: i64,
    pub centre_code: String,
    pub name: String,
    pub cadence: Cadence,
    pub cadence_label: &'static str,
    pub fields: Vec<ReportField>,
    pub filers: Vec<UnitRef>,
    pub due_working_days: i64,
    pub created_at: String,
    pub created_by: String,
    /// Name it when changing or withdrawing the form.
    pub version: i64,
    /// Withdrawn (已撤回): no more reports, no chases.
    pub withdrawn: Option<WithdrawalView>,
}

/// A period of a form with its counts in the caller's scope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PeriodSummary {
    /// `2026-W49` or `2026-12`.
    pub period: String,
    pub label: String,
    pub start: String,
    pub end: String,
    pub due_at: String,
    pub past_due: bool,
    pub filed: u32,
    pub late: u32,
    pub missing: u32,
    pub pending: u32,
}

/// A form with its recent periods, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FormOverview {
    pub form: ReportFormView,
    pub periods: Vec<PeriodSummary>,
    /// Its definition, changes and withdrawal, newest first.
    pub history: Vec<CommandEventView>,
}

/// One revision of a report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FilingView {
    pub revision: i64,
    pub values: BTreeMap<String, String>,
    pub note: Option<String>,
    pub late: bool,
    pub filed_at: String,
    pub by: String,
}

/// A chase (催报).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChaseView {
    pub at: String,
    pub by: String,
    pub note: String,
    /// By the system when the report fell due unfiled.
    pub automatic: bool,
}

/// A unit's report for a period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitReport {
    pub unit: UnitRef,
    pub status: FilingStatus,
    pub status_label: &'static str,
    /// The latest revision.
    pub current: Option<FilingView>,
    /// Earlier revisions, newest first.
    pub earlier: Vec<FilingView>,
    pub chases: Vec<ChaseView>,
    /// The caller may file (or correct) it.
    pub may_file: bool,
    /// The caller may chase it (the office, while missing).
    pub may_chase: bool,
}

/// A form's period: every filer's report in the caller's scope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PeriodDetail {
    pub form: ReportFormView,
    pub summary: PeriodSummary,
    pub rows: Vec<UnitReport>,
    pub is_office: bool,
}

/// Who a chase reached.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChaseResult {
    pub chased: Vec<UnitRef>,
}

/// A report past due and not filed, for the dashboard.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MissingReport {
    pub form_id: i64,
    pub form_name: String,
    pub period: String,
    pub label: String,
    pub due_at: String,
    pub unit: UnitRef,
    pub chases: u32,
}

/// A target a pledge signed for, with its status.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PledgedTarget {
    pub id: i64,
    pub name: String,
    pub town: Option<UnitRef>,
    pub goal: u64,
    pub progress: u64,
    pub due_on: String,
    pub status: PledgeStatus,
    pub status_label: &'static str,
    pub forecast_text: String,
}

/// A pledge (军令状) with its status computed from its targets.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PledgeView {
    pub id: i64,
    pub centre_code: String,
    pub unit: UnitRef,
    pub signed_on: String,
    pub signatory: String,
    pub targets: Vec<PledgedTarget>,
    pub status: PledgeStatus,
    pub status_label: &'static str,
    pub document_name: String,
    pub document_type: String,
    pub document_size: i64,
    pub document_link: String,
    pub created_at: String,
    pub created_by: String,
    /// Name it when changing or withdrawing the pledge.
    pub version: i64,
    /// Withdrawn (已作废): shown, neither met nor missed.
    pub withdrawn: Option<WithdrawalView>,
    /// Its recording, changes and withdrawal, newest first.
    pub history: Vec<CommandEventView>,
}

/// A pledge to record: the document's bytes come with it.
#[derive(Debug, Clone, Default)]
pub struct PledgeInput {
    /// Org code of the signing unit or town.
    pub unit: String,
    pub target_ids: Vec<i64>,
    /// `YYYY-MM-DD`.
    pub signed_on: String,
    pub signatory: String,
    pub document_name: Option<String>,
    pub document: Vec<u8>,
}

/// The schema of the pledge upload (multipart fields), for the API's documentation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PledgeUpload {
    /// Org code of the signing unit or town.
    pub unit: String,
    /// A target id; repeat the field for each target signed for.
    pub target: Vec<i64>,
    /// `YYYY-MM-DD`.
    pub signed_on: String,
    pub signatory: String,
    /// The signed document: PDF, JPG or PNG, at most 10 MB.
    pub file: String,
}

// ---- helpers ----------------------------------------------------------------------------

/// When a period's report falls due: `days` working days after the period's last day.
pub(crate) fn due_at<S: Store>(app: &App<S>, period: &Period, days: i64) -> AppResult<Instant> {
    let next = period.end + chrono::Duration::days(1);
    let from = next.and_time(NaiveTime::MIN).and_local_timezone(shanghai()).single().ok_or_else(AppError::internal)?;
    let days = u32::try_from(days).unwrap_or(1);
    Ok(app.caches().calendar().deadline_or_provisional(from, TimeLimit::working_days(days))?.at)
}

fn filing_view(f: &FilingRecord) -> FilingView {
    FilingView {
        revision: f.revision,
        values: f.values.clone(),
        note: f.note.clone(),
        late: f.late,
        filed_at: format_instant(&f.filed_at),
        by: f.by_name.clone(),
    }
}

fn chase_view(c: &ChaseRecord) -> ChaseView {
    ChaseView { at: format_instant(&c.at), by: c.by_name.clone(), note: c.note.clone(), automatic: c.automatic }
}

fn system_author(at: Instant) -> CommandAuthor {
    CommandAuthor { user_id: None, name: "系统".into(), at }
}

/// A form's filers the caller sees.
fn visible_filers(form: &ReportFormRecord, access: &Access) -> Vec<UnitId> {
    form.filers.iter().copied().filter(|u| access.task_units.as_ref().is_none_or(|units| units.contains(u))).collect()
}

/// The first filing's lateness and the count of filings of each (period, unit).
fn first_filings(filings: &[FilingRecord]) -> HashMap<(&str, UnitId), bool> {
    let mut out = HashMap::new();
    for f in filings {
        out.entry((f.period.as_str(), f.unit_id)).or_insert(f.late);
    }
    out
}

impl<S: Store> CommandCentres<'_, S> {
    fn form_view(&self, form: &ReportFormRecord) -> ReportFormView {
        let org = self.app.caches().org();
        ReportFormView {
            id: form.id,
            centre_code: form.centre_code.clone(),
            name: form.name.clone(),
            cadence: form.cadence,
            cadence_label: form.cadence.label(),
            fields: form.fields.clone(),
            filers: form.filers.iter().filter_map(|u| unit_ref(&org, Some(*u))).collect(),
            due_working_days: form.due_working_days,
            created_at: format_instant(&form.created_at),
            created_by: form.created_by.clone(),
            version: form.version,
            withdrawn: form.withdrawn.as_ref().map(withdrawal_view),
        }
    }

    async fn form_record(&self, id: i64) -> AppResult<ReportFormRecord> {
        Ok(self.app.store().report_form(id).await?.ok_or_else(form_not_found)?)
    }

    /// The periods of a form shown, newest first: from its creation to today, or to its withdrawal.
    fn form_periods(&self, form: &ReportFormRecord) -> Vec<Period> {
        let today = self.app.now().date_naive();
        let last = form.withdrawn.as_ref().map_or(today, |w| w.at.date_naive().min(today));
        reports::periods(form.cadence, form.created_at.date_naive(), last, reports::PERIODS_SHOWN)
    }

    /// The unit ids of the filers named, or the centre's member units and towns when none is named.
    fn resolve_filers(&self, centre: &mashangban_store::CentreRecord, named: &[String]) -> AppResult<Vec<UnitId>> {
        let org = self.app.caches().org();
        let mut filers = Vec::new();
        if named.is_empty() {
            for unit in &centre.member_units {
                if let Some(u) = org.by_code(unit).filter(|u| u.active) {
                    filers.push(u.id);
                }
            }
            for town in self.towns(centre) {
                if let Some(u) = org.by_code(&town.code) {
                    filers.push(u.id);
                }
            }
        } else {
            for code in named {
                let unit = org
                    .by_code(code.trim())
                    .filter(|u| u.active)
                    .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{code}」的单位或镇街")))?;
                filers.push(unit.id);
            }
        }
        Ok(filers)
    }

    /// A unit's name for a history note.
    fn unit_name(&self, id: UnitId) -> String {
        self.app.caches().org().get(id).map_or_else(|| id.to_string(), |u| u.display_name().to_owned())
    }

    fn summary(
        &self,
        form: &ReportFormRecord,
        period: &Period,
        units: &[UnitId],
        first: &HashMap<(&str, UnitId), bool>,
    ) -> AppResult<PeriodSummary> {
        let due = due_at(self.app, period, form.due_working_days)?;
        let past_due = self.app.now() > due;
        let key = period.key();
        let mut s = PeriodSummary {
            period: key.clone(),
            label: period.label(),
            start: period.start.format("%Y-%m-%d").to_string(),
            end: period.end.format("%Y-%m-%d").to_string(),
            due_at: format_instant(&due),
            past_due,
            filed: 0,
            late: 0,
            missing: 0,
            pending: 0,
        };
        for unit in units {
            match reports::status(first.get(&(key.as_str(), *unit)).copied(), past_due) {
                FilingStatus::Filed => s.filed += 1,
                FilingStatus::Late => s.late += 1,
                FilingStatus::Missing => s.missing += 1,
                FilingStatus::Pending => s.pending += 1,
            }
        }
        Ok(s)
    }

    // ---- forms -------------------------------------------------------------------------

    /// Defines a report form (the office). Filers default to the centre's member units and towns.
    pub async fn create_report_form(
        &self,
        caller: &Caller,
        code: &str,
        body: ReportFormBody,
    ) -> AppResult<ReportFormView> {
        let centre = self.record(code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let filers = self.resolve_filers(&centre, &body.filers)?;
        let def = ReportFormDef::new(&body.name, body.cadence, body.fields, filers, body.due_working_days)?;
        let saved = self.app.store().create_report_form(code, def, author(caller, self.app.now())).await?;
        Ok(self.form_view(&saved))
    }

    /// Changes a form (the office), with the version read. A change its filed reports forbid is
    /// refused (`409 report_form_in_use`); the history entry says what changed, from and to.
    pub async fn update_report_form(
        &self,
        caller: &Caller,
        form_id: i64,
        body: ReportFormBody,
    ) -> AppResult<ReportFormView> {
        let form = self.form_record(form_id).await?;
        let centre = self.record(&form.centre_code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "修改报表须带上读取时的版本号"))?;
        if form.withdrawn.is_some() {
            return Err(form_withdrawn().into());
        }
        let filers = self.resolve_filers(&centre, &body.filers)?;
        let def = ReportFormDef::new(&body.name, body.cadence, body.fields, filers, body.due_working_days)?;
        let shape = FormShape {
            name: &form.name,
            cadence: form.cadence,
            fields: &form.fields,
            filers: &form.filers,
            due_working_days: form.due_working_days,
        };
        let note = reports::form_change_note(&shape, &def, &|u| self.unit_name(u));
        let saved =
            self.app.store().update_report_form(form_id, version, def, note, author(caller, self.app.now())).await?;
        Ok(self.form_view(&saved))
    }

    /// Withdraws a form (撤回, the office), with the version read and a reason: kept and shown,
    /// no more reports, no more chases.
    pub async fn withdraw_report_form(
        &self,
        caller: &Caller,
        form_id: i64,
        body: WithdrawBody,
    ) -> AppResult<ReportFormView> {
        let form = self.form_record(form_id).await?;
        let centre = self.record(&form.centre_code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "撤回报表须带上读取时的版本号"))?;
        let reason = reports::withdrawal_reason("撤回理由", &body.reason)?;
        let saved =
            self.app.store().withdraw_report_form(form_id, version, reason, author(caller, self.app.now())).await?;
        Ok(self.form_view(&saved))
    }

    /// A centre's forms, each with its recent periods counted in the caller's scope.
    pub async fn report_forms(&self, caller: &Caller, code: &str) -> AppResult<Vec<FormOverview>> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        let events = self.app.store().report_events(code).await?;
        let mut out = Vec::new();
        for form in self.app.store().report_forms(code).await? {
            let units = visible_filers(&form, &access);
            let filings = self.app.store().report_filings(form.id, None, Some(&units)).await?;
            let first = first_filings(&filings);
            let periods = self
                .form_periods(&form)
                .iter()
                .map(|p| self.summary(&form, p, &units, &first))
                .collect::<AppResult<Vec<_>>>()?;
            let history = history_of(&events, |e| e.form_id == Some(form.id));
            out.push(FormOverview { form: self.form_view(&form), periods, history });
        }
        Ok(out)
    }

    /// A form's period: each filer's report in the caller's scope, with revisions and chases.
    pub async fn report_period(&self, caller: &Caller, form_id: i64, period: &str) -> AppResult<PeriodDetail> {
        let form = self.form_record(form_id).await?;
        let centre = self.record(&form.centre_code).await?;
        let access = self.access(caller, &centre);
        let period = Period::parse(form.cadence, period)?;
        let key = period.key();
        let units = visible_filers(&form, &access);
        let filings = self.app.store().report_filings(form.id, Some(&key), Some(&units)).await?;
        let chases = self.app.store().report_chases(form.id, Some(&key), Some(&units)).await?;
        let first = first_filings(&filings);
        let summary = self.summary(&form, &period, &units, &first)?;
        let today = self.app.now().date_naive();
        let org = self.app.caches().org();
        let mut rows = Vec::new();
        for unit in &units {
            let Some(unit_view) = unit_ref(&org, Some(*unit)) else { continue };
            let mut mine: Vec<FilingView> = filings.iter().filter(|f| f.unit_id == *unit).map(filing_view).collect();
            mine.reverse();
            let status = reports::status(first.get(&(key.as_str(), *unit)).copied(), summary.past_due);
            let current = if mine.is_empty() { None } else { Some(mine.remove(0)) };
            rows.push(UnitReport {
                unit: unit_view,
                status,
                status_label: status.label(),
                current,
                earlier: mine,
                chases: chases.iter().filter(|c| c.unit_id == *unit).map(chase_view).collect(),
                may_file: form.withdrawn.is_none()
                    && period.is_open(today)
                    && (access.office || access.own_units.contains(unit)),
                may_chase: form.withdrawn.is_none() && access.office && status == FilingStatus::Missing,
            });
        }
        Ok(PeriodDetail { form: self.form_view(&form), summary, rows, is_office: access.office })
    }

    /// Files a unit's report for a period (the unit itself, or the office for it). A second filing
    /// is a correction: a new revision, the old kept. Late filings are taken and marked late.
    pub async fn file_report(
        &self,
        caller: &Caller,
        form_id: i64,
        period: &str,
        body: FilingBody,
    ) -> AppResult<FilingView> {
        let form = self.form_record(form_id).await?;
        let centre = self.record(&form.centre_code).await?;
        let access = self.access(caller, &centre);
        let period = Period::parse(form.cadence, period)?;
        let org = self.app.caches().org();
        let unit = org
            .by_code(body.unit.trim())
            .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{}」的单位或镇街", body.unit)))?;
        if !access.office && !access.own_units.contains(&unit.id) {
            return Err(report_not_yours().into());
        }
        if form.withdrawn.is_some() {
            return Err(form_withdrawn().into());
        }
        if !form.filers.contains(&unit.id) {
            return Err(not_a_filer(unit.display_name()).into());
        }
        let now = self.app.now();
        if !period.is_open(now.date_naive()) {
            return Err(period_not_open(&period.label()).into());
        }
        let values = reports::check_values(&form.fields, &body.values).map_err(|e| reports::fields_invalid(&e))?;
        let note = mashangban_domain::validation::optional_text("备注", body.note.as_deref(), 2000)?;
        let late = now > due_at(self.app, &period, form.due_working_days)?;
        let filing = NewFiling {
            form_id,
            period: period.key(),
            unit_id: unit.id,
            values,
            note,
            late,
            form_version: form.version,
        };
        let saved = self.app.store().file_report(filing, author(caller, now)).await?;
        Ok(filing_view(&saved))
    }

    /// The fields' refusals of a report, for a form page to show each next to its field.
    pub async fn check_report(&self, form_id: i64, values: &BTreeMap<String, String>) -> AppResult<Vec<FieldError>> {
        let form = self.form_record(form_id).await?;
        Ok(reports::check_values(&form.fields, values).err().unwrap_or_default())
    }

    /// Chases (催报) one missing report or every missing one of a period (the office). Each chase is
    /// recorded and shown to the unit with its report.
    pub async fn chase(&self, caller: &Caller, form_id: i64, period: &str, body: ChaseBody) -> AppResult<ChaseResult> {
        let form = self.form_record(form_id).await?;
        let centre = self.record(&form.centre_code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        if form.withdrawn.is_some() {
            return Err(form_withdrawn().into());
        }
        let note = match body.note.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(n) => mashangban_domain::command::note("催报意见", n)?,
            None => "请尽快报送本期报表".to_owned(),
        };
        let period = Period::parse(form.cadence, period)?;
        let key = period.key();
        let org = self.app.caches().org();
        let missing = self.missing_units(&form, &period, &form.filers).await?;
        let targets: Vec<UnitId> = match body.unit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(code) => {
                let unit = org
                    .by_code(code)
                    .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{code}」的单位或镇街")))?;
                if !form.filers.contains(&unit.id) {
                    return Err(not_a_filer(unit.display_name()).into());
                }
                if !missing.contains(&unit.id) {
                    return Err(not_missing().into());
                }
                vec![unit.id]
            }
            None => {
                if missing.is_empty() {
                    return Err(not_missing().into());
                }
                missing
            }
        };
        let now = self.app.now();
        let mut chased = Vec::new();
        for unit in targets {
            self.app.store().chase_report(form.id, &key, unit, &note, false, author(caller, now)).await?;
            chased.extend(unit_ref(&org, Some(unit)));
        }
        Ok(ChaseResult { chased })
    }

    /// The filers among `units` missing the period's report (past due, nothing filed).
    async fn missing_units(
        &self,
        form: &ReportFormRecord,
        period: &Period,
        units: &[UnitId],
    ) -> AppResult<Vec<UnitId>> {
        if self.app.now() <= due_at(self.app, period, form.due_working_days)? {
            return Ok(Vec::new());
        }
        let filings = self.app.store().report_filings(form.id, Some(&period.key()), Some(units)).await?;
        Ok(units.iter().copied().filter(|u| !filings.iter().any(|f| f.unit_id == *u)).collect())
    }

    /// The reports past due and unfiled of a centre's forms in the caller's scope, over each form's
    /// recent periods, most recent period first.
    pub async fn missing_reports(&self, caller: &Caller, code: &str) -> AppResult<Vec<MissingReport>> {
        let centre = self.record(code).await?;
        let access = self.access(caller, &centre);
        let org = self.app.caches().org();
        let mut out = Vec::new();
        for form in self.app.store().report_forms(code).await?.into_iter().filter(|f| f.withdrawn.is_none()) {
            let units = visible_filers(&form, &access);
            let filings = self.app.store().report_filings(form.id, None, Some(&units)).await?;
            let chases = self.app.store().report_chases(form.id, None, Some(&units)).await?;
            let first = first_filings(&filings);
            for period in self.form_periods(&form) {
                let due = due_at(self.app, &period, form.due_working_days)?;
                if self.app.now() <= due {
                    continue;
                }
                let key = period.key();
                for unit in &units {
                    if first.contains_key(&(key.as_str(), *unit)) {
                        continue;
                    }
                    let Some(unit_view) = unit_ref(&org, Some(*unit)) else { continue };
                    let n = chases.iter().filter(|c| c.period == key && c.unit_id == *unit).count();
                    out.push(MissingReport {
                        form_id: form.id,
                        form_name: form.name.clone(),
                        period: key.clone(),
                        label: period.label(),
                        due_at: format_instant(&due),
                        unit: unit_view,
                        chases: u32::try_from(n).unwrap_or(u32::MAX),
                    });
                }
            }
        }
        Ok(out)
    }

    /// One period's reports as a workbook (Chinese headers: 单位, 状态, the fields with their units,
    /// 备注, 报送时间, 报送人, 版本): `(file name, bytes)`.
    pub async fn report_period_xlsx(
        &self,
        caller: &Caller,
        form_id: i64,
        period: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        let d = self.report_period(caller, form_id, period).await?;
        let mut columns = vec![WriteColumn::text("单位（镇街）"), WriteColumn::text("报送情况")];
        for f in &d.form.fields {
            let header = match &f.unit {
                Some(u) => format!("{}（{u}）", f.label),
                None => f.label.clone(),
            };
            columns.push(match f.kind {
                ReportFieldKind::Integer => WriteColumn::new(&header, Kind::Integer),
                ReportFieldKind::Decimal => WriteColumn::new(&header, Kind::Number),
                ReportFieldKind::Text | ReportFieldKind::Date => WriteColumn::text(&header),
            });
        }
        for h in ["备注", "报送时间", "报送人", "版本", "催报次数"] {
            columns.push(WriteColumn::text(h));
        }
        let title = format!("{}　{}（报送期限 {}）", d.form.name, d.summary.label, short(&d.summary.due_at));
        let mut export = Export::with_preamble("报表", &[title], columns).map_err(sheet_error)?;
        for row in &d.rows {
            let mut cells = vec![Cell::Text(row.unit.name.clone()), Cell::Text(row.status_label.to_owned())];
            for f in &d.form.fields {
                let value = row.current.as_ref().and_then(|c| c.values.get(&f.key));
                cells.push(match (value, f.kind) {
                    (None, _) => Cell::Empty,
                    (Some(v), ReportFieldKind::Integer | ReportFieldKind::Decimal) => {
                        v.parse::<f64>().map_or_else(|_| Cell::Text(v.clone()), Cell::Number)
                    }
                    (Some(v), _) => Cell::Text(v.clone()),
                });
            }
            let current = row.current.as_ref();
            cells.push(current.and_then(|c| c.note.clone()).map_or(Cell::Empty, Cell::Text));
            cells.push(current.map_or(Cell::Empty, |c| Cell::Text(short(&c.filed_at))));
            cells.push(current.map_or(Cell::Empty, |c| Cell::Text(c.by.clone())));
            cells.push(current.map_or(Cell::Empty, |c| Cell::Text(format!("第{}版", c.revision))));
            cells.push(Cell::Text(row.chases.len().to_string()));
            export.push(&cells).map_err(sheet_error)?;
        }
        let name = format!("{}{}.xlsx", d.form.name, d.summary.period);
        Ok((name, export.finish().map_err(sheet_error)?))
    }

    // ---- pledges -----------------------------------------------------------------------

    /// Records a pledge (the office): the signing unit or town, the centre's targets it signed for,
    /// the date, the signatory and the signed document (PDF, JPG or PNG, at most 10 MB).
    pub async fn create_pledge(&self, caller: &Caller, code: &str, input: PledgeInput) -> AppResult<PledgeView> {
        let centre = self.record(code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        let org = self.app.caches().org();
        let unit = org
            .by_code(input.unit.trim())
            .filter(|u| u.active && matches!(u.kind, UnitKind::Town | UnitKind::Department | UnitKind::Subunit))
            .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{}」的单位或镇街", input.unit)))?;
        let targets = self.app.store().command_targets(code).await?;
        known_targets(&targets, &input.target_ids)?;
        let signed_on = self.signed_on(&input.signed_on)?;
        if input.document.len() > reports::DOCUMENT_MAX_BYTES {
            return Err(AppError::too_large("军令状文件不能超过 10 MB"));
        }
        let def = PledgeDef::new(
            unit.id,
            input.target_ids,
            signed_on,
            &input.signatory,
            input.document_name.as_deref().unwrap_or_default(),
            input.document,
        )?;
        let saved = self.app.store().create_pledge(code, def, author(caller, self.app.now())).await?;
        self.one_pledge_view(&saved, targets).await
    }

    fn signed_on(&self, text: &str) -> AppResult<chrono::NaiveDate> {
        let signed_on = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("invalid_date", "签署日期请写成 YYYY-MM-DD"))?;
        if signed_on > self.app.now().date_naive() {
            return Err(AppError::invalid("invalid_date", "签署日期不能晚于今天"));
        }
        Ok(signed_on)
    }

    async fn one_pledge_view(&self, p: &PledgeRecord, targets: Vec<TargetRecord>) -> AppResult<PledgeView> {
        let views = self.target_views(targets).await?;
        let events = self.app.store().report_events(&p.centre_code).await?;
        Ok(self.pledge_view(p, &views, &events))
    }

    async fn pledge_for_change(&self, caller: &Caller, id: i64) -> AppResult<(PledgeRecord, Vec<TargetRecord>)> {
        let pledge = self.app.store().pledge(id).await?.ok_or_else(pledge_not_found)?;
        let centre = self.record(&pledge.centre_code).await?;
        if !self.access(caller, &centre).office {
            return Err(office_only().into());
        }
        if pledge.withdrawn.is_some() {
            return Err(pledge_withdrawn().into());
        }
        let targets = self.app.store().command_targets(&pledge.centre_code).await?;
        Ok((pledge, targets))
    }

    /// Changes a pledge (the office), with the version read: the targets signed for, the date and
    /// the signatory; the history entry says what changed, from and to.
    pub async fn update_pledge(&self, caller: &Caller, id: i64, body: PledgeBody) -> AppResult<PledgeView> {
        let (pledge, targets) = self.pledge_for_change(caller, id).await?;
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "修改军令状须带上读取时的版本号"))?;
        known_targets(&targets, &body.targets)?;
        let change = PledgeChange::new(body.targets, self.signed_on(&body.signed_on)?, &body.signatory)?;
        let old = PledgeChange {
            target_ids: pledge.target_ids.clone(),
            signed_on: pledge.signed_on,
            signatory: pledge.signatory.clone(),
        };
        let name = |id: i64| targets.iter().find(|t| t.id == id).map_or_else(|| id.to_string(), |t| t.name.clone());
        let note = format!(
            "{}的军令状：{}",
            self.unit_name(pledge.unit_id),
            reports::pledge_change_note(&old, &change, &name)
        );
        let saved = self.app.store().update_pledge(id, version, change, note, author(caller, self.app.now())).await?;
        self.one_pledge_view(&saved, targets).await
    }

    /// Withdraws a pledge (作废, the office), with the version read and a reason: kept and shown,
    /// neither met nor missed.
    pub async fn withdraw_pledge(&self, caller: &Caller, id: i64, body: WithdrawBody) -> AppResult<PledgeView> {
        let (_, targets) = self.pledge_for_change(caller, id).await?;
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "作废军令状须带上读取时的版本号"))?;
        let reason = reports::withdrawal_reason("作废理由", &body.reason)?;
        let saved = self.app.store().withdraw_pledge(id, version, reason, author(caller, self.app.now())).await?;
        self.one_pledge_view(&saved, targets).await
    }

    fn pledge_view(&self, p: &PledgeRecord, targets: &[TargetView], events: &[CommandEvent]) -> PledgeView {
        let org = self.app.caches().org();
        let today = self.app.now().date_naive();
        let signed: Vec<PledgedTarget> = p
            .target_ids
            .iter()
            .filter_map(|id| targets.iter().find(|t| t.id == *id))
            .map(|t| {
                let due = chrono::NaiveDate::parse_from_str(&t.due_on, "%Y-%m-%d").unwrap_or(today);
                let status = reports::target_status(t.progress, t.goal, due, today);
                PledgedTarget {
                    id: t.id,
                    name: t.name.clone(),
                    town: t.town.clone(),
                    goal: t.goal,
                    progress: t.progress,
                    due_on: t.due_on.clone(),
                    status,
                    status_label: status.label(),
                    forecast_text: t.forecast_text.clone(),
                }
            })
            .collect();
        let statuses: Vec<PledgeStatus> = signed.iter().map(|t| t.status).collect();
        let status = if p.withdrawn.is_some() { PledgeStatus::Withdrawn } else { reports::pledge_status(&statuses) };
        PledgeView {
            id: p.id,
            centre_code: p.centre_code.clone(),
            unit: unit_ref(&org, Some(p.unit_id))
                .unwrap_or_else(|| UnitRef { code: p.unit_id.to_string(), name: p.unit_id.to_string() }),
            signed_on: p.signed_on.format("%Y-%m-%d").to_string(),
            signatory: p.signatory.clone(),
            targets: signed,
            status,
            status_label: status.label(),
            document_name: p.document_name.clone(),
            document_type: p.document_type.clone(),
            document_size: p.document_size,
            document_link: format!("/api/v1/command/pledges/{}/document", p.id),
            created_at: format_instant(&p.created_at),
            created_by: p.created_by.clone(),
            version: p.version,
            withdrawn: p.withdrawn.as_ref().map(withdrawal_view),
            history: history_of(events, |e| e.pledge_id == Some(p.id)),
        }
    }

    /// A centre's pledges with their status (every reader).
    pub async fn pledges(&self, code: &str) -> AppResult<Vec<PledgeView>> {
        self.record(code).await?;
        let targets = self.target_views(self.app.store().command_targets(code).await?).await?;
        self.pledge_views(code, &targets).await
    }

    pub(super) async fn pledge_views(&self, code: &str, targets: &[TargetView]) -> AppResult<Vec<PledgeView>> {
        let pledges = self.app.store().pledges(code).await?;
        let events = self.app.store().report_events(code).await?;
        Ok(pledges.iter().map(|p| self.pledge_view(p, targets, &events)).collect())
    }

    /// The centre code of a form (`404 report_form_not_found`).
    pub async fn report_form_centre(&self, form_id: i64) -> AppResult<String> {
        Ok(self.form_record(form_id).await?.centre_code)
    }

    /// The centre code of a pledge (`404 pledge_not_found`).
    pub async fn pledge_centre(&self, id: i64) -> AppResult<String> {
        Ok(self.app.store().pledge(id).await?.ok_or_else(pledge_not_found)?.centre_code)
    }

    /// A pledge's signed document: `(file name, content type, bytes)`.
    pub async fn pledge_document(&self, id: i64) -> AppResult<(String, String, Vec<u8>)> {
        let pledge = self.app.store().pledge(id).await?.ok_or_else(pledge_not_found)?;
        let bytes = self.app.store().pledge_document(id).await?.ok_or_else(pledge_not_found)?;
        Ok((pledge.document_name, pledge.document_type, bytes))
    }
}

fn short(rfc3339: &str) -> String {
    super::short(rfc3339)
}

/// `422 unknown_target` unless every id is one of the centre's targets.
fn known_targets(targets: &[TargetRecord], ids: &[i64]) -> AppResult<()> {
    match ids.iter().find(|id| !targets.iter().any(|t| t.id == **id)) {
        Some(id) => Err(AppError::invalid("unknown_target", format!("本指挥部没有编号为 {id} 的目标"))),
        None => Ok(()),
    }
}

/// The scheduler's chase: every report of every centre's forms that is past due and unfiled, over
/// each form's recent periods, is chased once (recorded; a rescan, a restart or another node finds
/// the record and chases nothing again). Returns how many were chased now.
pub async fn chase_due_reports<S: Store>(app: &App<S>) -> AppResult<usize> {
    let now = app.now();
    let service = app.command();
    let mut chased = 0;
    for centre in app.store().command_centres().await? {
        for form in app.store().report_forms(&centre.code).await?.into_iter().filter(|f| f.withdrawn.is_none()) {
            let filings = app.store().report_filings(form.id, None, None).await?;
            let first = first_filings(&filings);
            for period in service.form_periods(&form) {
                if now <= due_at(app, &period, form.due_working_days)? {
                    continue;
                }
                let key = period.key();
                for unit in &form.filers {
                    if first.contains_key(&(key.as_str(), *unit)) {
                        continue;
                    }
                    match app
                        .store()
                        .chase_report(form.id, &key, *unit, AUTO_CHASE_NOTE, true, system_author(now))
                        .await
                    {
                        Ok(Some(_)) => chased += 1,
                        Ok(None) => {}
                        // Withdrawn (or gone) since it was read.
                        Err(StoreError::Domain(e))
                            if matches!(e.code, "report_form_not_found" | "report_form_withdrawn") => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }
    Ok(chased)
}

/// [`chase_due_reports`] unless another node is doing it now.
pub async fn chase_due_reports_if_leading<S: Store>(app: &App<S>) -> AppResult<usize> {
    match app.store().try_lock_job("report-chase").await? {
        Some(_lock) => chase_due_reports(app).await,
        None => Ok(0),
    }
}
