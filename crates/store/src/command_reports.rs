//! Storage of a command centre's periodic reports (定期报送) and
//! responsibility pledges (军令状). Filings and chases (催报) are append-only:
//! a correction is a new revision of a unit's report for the period, and each
//! chase is a row of its own. An automatic chase is recorded at most once per
//! form, period and unit, so the scheduler's scans on any node after any
//! restart chase a missing report once.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;

use mashangban_domain::command_reports::{Cadence, PledgeChange, PledgeDef, ReportField, ReportFormDef};
use mashangban_domain::org::UnitId;
use mashangban_domain::time::Instant;

use crate::{CommandAuthor, CommandEvent, StoreResult};

/// A report form as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFormRecord {
    pub id: i64,
    pub centre_code: String,
    pub name: String,
    pub cadence: Cadence,
    pub fields: Vec<ReportField>,
    pub filers: Vec<UnitId>,
    pub due_working_days: i64,
    pub created_at: Instant,
    pub created_by: String,
    /// One more with each edit; an edit or a withdrawal names the version read.
    pub version: i64,
    pub withdrawn: Option<Withdrawal>,
}

/// Who withdrew a form (撤回) or a pledge (作废), when and why; the row is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub at: Instant,
    /// `name（role）`.
    pub by: String,
    pub reason: String,
}

/// One revision of a unit's report for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingRecord {
    pub id: i64,
    pub form_id: i64,
    /// The period's key (`2026-W49`, `2026-12`).
    pub period: String,
    pub unit_id: UnitId,
    /// 1 for the first filing, one more with each correction.
    pub revision: i64,
    pub values: BTreeMap<String, String>,
    pub note: Option<String>,
    /// Filed after the period's due time.
    pub late: bool,
    pub filed_at: Instant,
    pub by_user_id: Option<i64>,
    pub by_name: String,
}

/// A report to file: the values already checked against the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFiling {
    pub form_id: i64,
    pub period: String,
    pub unit_id: UnitId,
    pub values: BTreeMap<String, String>,
    pub note: Option<String>,
    pub late: bool,
    /// The version of the form the values were checked against: a filing racing an edit of the
    /// form is refused (`409 report_form_changed`).
    pub form_version: i64,
}

/// A chase (催报) of a missing report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaseRecord {
    pub id: i64,
    pub form_id: i64,
    pub period: String,
    pub unit_id: UnitId,
    pub note: String,
    /// By the scheduler when the report fell due unfiled.
    pub automatic: bool,
    pub at: Instant,
    pub by_user_id: Option<i64>,
    pub by_name: String,
}

/// A pledge (军令状) as stored, without its document's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeRecord {
    pub id: i64,
    pub centre_code: String,
    pub unit_id: UnitId,
    pub target_ids: Vec<i64>,
    pub signed_on: NaiveDate,
    pub signatory: String,
    pub document_name: String,
    pub document_type: String,
    pub document_size: i64,
    pub document_sha256: String,
    pub created_at: Instant,
    pub created_by: String,
    pub version: i64,
    pub withdrawn: Option<Withdrawal>,
}

pub trait CommandReportStore {
    /// Defines a report form of a centre (`404 command_centre_not_found`), recorded in the centre's
    /// history in the same transaction.
    fn create_report_form(
        &self,
        centre_code: &str,
        def: ReportFormDef,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<ReportFormRecord>> + Send;

    /// The centre's forms, oldest first.
    fn report_forms(&self, centre_code: &str) -> impl Future<Output = StoreResult<Vec<ReportFormRecord>>> + Send;

    fn report_form(&self, id: i64) -> impl Future<Output = StoreResult<Option<ReportFormRecord>>> + Send;

    /// Changes a form read at `expected_version`, refusing a change its filed reports forbid
    /// (`check_form_change`, read in this transaction), with the history entry `note`.
    /// `404 report_form_not_found`, `409 report_form_changed`, `409 report_form_withdrawn`,
    /// `409 report_form_in_use`.
    fn update_report_form(
        &self,
        id: i64,
        expected_version: i64,
        def: ReportFormDef,
        note: String,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<ReportFormRecord>> + Send;

    /// Withdraws a form (撤回) read at `expected_version`: kept, marked, recorded.
    /// `404 report_form_not_found`, `409 report_form_changed`, `409 report_form_withdrawn`.
    fn withdraw_report_form(
        &self,
        id: i64,
        expected_version: i64,
        reason: String,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<ReportFormRecord>> + Send;

    /// Files a unit's report for a period as its next revision (`404 report_form_not_found`,
    /// `409 report_form_withdrawn`, `409 report_form_changed` when the form is no longer at
    /// `form_version`).
    fn file_report(
        &self,
        filing: NewFiling,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<FilingRecord>> + Send;

    /// Every revision of the form's filings, of one period or all (`None`), of these units or all,
    /// by period, unit and revision.
    fn report_filings(
        &self,
        form_id: i64,
        period: Option<&str>,
        units: Option<&[UnitId]>,
    ) -> impl Future<Output = StoreResult<Vec<FilingRecord>>> + Send;

    /// Records a chase of a unit's report for a period. An automatic chase already recorded for the
    /// same form, period and unit is not recorded again: `None`.
    fn chase_report(
        &self,
        form_id: i64,
        period: &str,
        unit_id: UnitId,
        note: &str,
        automatic: bool,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<Option<ChaseRecord>>> + Send;

    /// The form's chases, of one period or all, of these units or all, oldest first.
    fn report_chases(
        &self,
        form_id: i64,
        period: Option<&str>,
        units: Option<&[UnitId]>,
    ) -> impl Future<Output = StoreResult<Vec<ChaseRecord>>> + Send;

    /// Records a pledge with its signed document (`404 command_centre_not_found`), recorded in the
    /// centre's history in the same transaction.
    fn create_pledge(
        &self,
        centre_code: &str,
        def: PledgeDef,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<PledgeRecord>> + Send;

    /// The centre's pledges, oldest first.
    fn pledges(&self, centre_code: &str) -> impl Future<Output = StoreResult<Vec<PledgeRecord>>> + Send;

    fn pledge(&self, id: i64) -> impl Future<Output = StoreResult<Option<PledgeRecord>>> + Send;

    /// Changes a pledge read at `expected_version` (its targets, date, signatory) with the history
    /// entry `note`. `404 pledge_not_found`, `409 pledge_changed`, `409 pledge_withdrawn`.
    fn update_pledge(
        &self,
        id: i64,
        expected_version: i64,
        change: PledgeChange,
        note: String,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<PledgeRecord>> + Send;

    /// Withdraws a pledge (作废) read at `expected_version`: kept, marked, recorded.
    /// `404 pledge_not_found`, `409 pledge_changed`, `409 pledge_withdrawn`.
    fn withdraw_pledge(
        &self,
        id: i64,
        expected_version: i64,
        reason: String,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<PledgeRecord>> + Send;

    /// The history entries of a centre's report forms and pledges, oldest first.
    fn report_events(&self, centre_code: &str) -> impl Future<Output = StoreResult<Vec<CommandEvent>>> + Send;

    /// A pledge's signed document's bytes.
    fn pledge_document(&self, id: i64) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;
}
