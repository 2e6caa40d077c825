//! Storage of environmental enforcement (环境执法): inspections and
//! enforcement cases with their history. Opening a case from an alert marks
//! the alert escalated (已转办) in the same transaction, so an alert is either
//! dismissed or a case, never both, and two people opening a case from one
//! alert at once get one case. Every change of a case appends to its history
//! in the transaction that makes it.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::enforcement::{CaseOrigin, CaseStage, Decision, InspectionInput, Sample};
use mashangban_domain::org::UserId;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// Who records an inspection or changes a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcementActor {
    pub user_id: Option<UserId>,
    /// As shown in the history: `name（role）`.
    pub name: String,
}

/// A stored inspection (检查记录).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub id: i64,
    /// The inspecting unit.
    pub unit_id: i64,
    pub inspector: String,
    pub inspected_at: Instant,
    pub place: String,
    pub credit_code: String,
    pub point_id: Option<i64>,
    pub findings: String,
    pub samples: Vec<Sample>,
    pub created_at: Instant,
    pub created_by: String,
    /// The case opened from it, if any.
    pub case_id: Option<i64>,
}

/// An inspection to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInspection {
    pub input: InspectionInput,
    pub unit_id: i64,
    pub inspected_at: Instant,
    pub point_id: Option<i64>,
}

/// A stored enforcement case (执法案件).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnforcementCase {
    pub id: i64,
    /// `环执〔2026〕3号`, from the year it was opened and its id.
    pub number: String,
    pub credit_code: String,
    /// The handling unit.
    pub unit_id: i64,
    #[serde(skip)]
    pub origin: CaseOrigin,
    /// The facts it was opened on (the alert's description or the inspection's findings).
    pub summary: String,
    pub stage: CaseStage,
    pub stage_started_at: Instant,
    /// The end of the stage's time limit; none once closed.
    pub stage_due_at: Option<Instant>,
    pub penalty_fen: Option<i64>,
    pub decision: Option<String>,
    pub closed_reason: Option<String>,
    pub opened_at: Instant,
    pub closed_at: Option<Instant>,
    pub version: i64,
}

/// A case to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    pub origin: CaseOrigin,
    /// The enterprise; for an alert case the point's unless given.
    pub credit_code: String,
    pub unit_id: i64,
    pub summary: String,
    /// The end of the 立案 stage's time limit.
    pub due_at: Instant,
    pub note: Option<String>,
}

/// A move of a case, already checked by the domain; the store refuses it
/// when the case is no longer in `from` (`409 case_changed`).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    pub from: CaseStage,
    pub to: CaseStage,
    /// The end of the new stage's time limit (none for 结案).
    pub due_at: Option<Instant>,
    pub decision: Option<Decision>,
    pub closed_reason: Option<String>,
    pub note: Option<String>,
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    /// `opened`, `advanced`, `closed`.
    pub kind: String,
    pub from_stage: Option<CaseStage>,
    pub to_stage: CaseStage,
    pub due_at: Option<Instant>,
    pub at: Instant,
    pub by: String,
    pub note: Option<String>,
}

/// Which cases to list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFilter {
    pub stage: Option<CaseStage>,
    pub credit_code: Option<String>,
    /// Only open cases whose stage deadline is before this instant.
    pub overdue_at: Option<Instant>,
    /// Only cases of these units (unit-bound staff); `None` for all.
    pub units: Option<Vec<i64>>,
}

pub trait EnforcementStore {
    /// Records an inspection. `422 unknown_enterprise`, `unknown_unit`.
    fn create_inspection(
        &self,
        inspection: NewInspection,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<Inspection>> + Send;

    fn inspection(&self, id: i64) -> impl Future<Output = StoreResult<Option<Inspection>>> + Send;

    /// Inspections, newest first, at most `limit` (1..=1000): of one enterprise when given.
    fn inspections(
        &self,
        credit_code: Option<String>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Inspection>>> + Send;

    /// Opens a case at 立案 with its `opened` event. From an alert: the alert
    /// must be open (`409 alert_not_open`) and becomes escalated with an
    /// event and a change-feed row in the same transaction. From an
    /// inspection: one case per inspection (`409 inspection_has_case`).
    /// `404 monitoring_alert_not_found`, `inspection_not_found`; `422 unknown_enterprise`.
    fn open_case(
        &self,
        case: NewCase,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<EnforcementCase>> + Send;

    /// Moves a case with its event. `404 case_not_found`, `409 case_changed`.
    fn change_case(
        &self,
        id: i64,
        change: CaseChange,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<EnforcementCase>> + Send;

    fn enforcement_case(&self, id: i64) -> impl Future<Output = StoreResult<Option<EnforcementCase>>> + Send;

    /// Cases, newest first, at most `limit` (1..=1000).
    fn enforcement_cases(
        &self,
        filter: CaseFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<EnforcementCase>>> + Send;

    /// A case's history, oldest first.
    fn case_events(&self, case_id: i64) -> impl Future<Output = StoreResult<Vec<CaseEvent>>> + Send;
}
