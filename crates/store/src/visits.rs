//! Storage of visits to enterprises (走访) and walking-office sessions
//! (行走的办公室): the plan, the record with its problems, and the visit's
//! own history (planned, recorded, cancelled). Recording a visit writes the
//! problems and, for each problem not solved on the spot, a new request with
//! its intake event, in one transaction.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::org::{Actor, UnitId, UserId};
use mashangban_domain::request::{NewRequest, Request, RequestId, State};
use mashangban_domain::time::Instant;
use mashangban_domain::visit::{NewVisit, ProblemOutcome, VisitKind, VisitState};

use crate::{Meta, StoreResult};

/// A visit with its problems and, when loaded alone, its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    pub id: i64,
    pub kind: VisitKind,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town_id: UnitId,
    pub planned_at: Instant,
    pub lead_user_id: UserId,
    pub lead_name: String,
    pub purpose: Option<String>,
    /// Units (departments) attending.
    pub units: Vec<UnitId>,
    pub state: VisitState,
    pub attendees: Vec<String>,
    pub notes: Option<String>,
    pub visited_at: Option<Instant>,
    pub cancel_reason: Option<String>,
    pub created_at: Instant,
    pub created_by: String,
    pub updated_at: Instant,
    pub problems: Vec<Problem>,
    /// Empty in listings.
    pub events: Vec<VisitEvent>,
}

/// A problem raised on a visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub id: i64,
    /// 1, 2, … in the order recorded.
    pub seq: i64,
    pub text: String,
    pub outcome: ProblemOutcome,
    pub solved_by: Option<String>,
    pub solution: Option<String>,
    pub instruction: Option<String>,
    /// The request it became (dispatched problems).
    pub request: Option<ProblemRequest>,
}

/// Where a problem's request stands now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemRequest {
    pub id: RequestId,
    pub tracking_no: String,
    pub state: State,
    pub due_at: Option<Instant>,
    pub supervised: bool,
}

/// One step of a visit's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitEvent {
    pub at: Instant,
    /// `name（role）`.
    pub by: String,
    /// `planned`, `recorded` or `cancelled`.
    pub action: String,
    pub comment: Option<String>,
}

/// Which visits a listing answers.
#[derive(Debug, Clone)]
pub struct VisitFilter {
    pub scope: EnterpriseScope,
    pub credit_code: Option<String>,
    pub town_id: Option<UnitId>,
    pub lead_user_id: Option<UserId>,
    pub state: Option<VisitState>,
    /// Planned at or after.
    pub from: Option<Instant>,
    /// Planned before.
    pub until: Option<Instant>,
    pub limit: u32,
}

impl VisitFilter {
    /// Every visit in `scope`, up to the most a listing answers.
    pub fn in_scope(scope: EnterpriseScope) -> Self {
        Self {
            scope,
            credit_code: None,
            town_id: None,
            lead_user_id: None,
            state: None,
            from: None,
            until: None,
            limit: 5000,
        }
    }
}

/// A visit's record as the store writes it.
#[derive(Debug, Clone)]
pub struct VisitRecord {
    pub visited_at: Instant,
    pub attendees: Vec<String>,
    pub notes: String,
    pub problems: Vec<RecordedProblem>,
}

/// A problem as the store writes it.
#[derive(Debug, Clone)]
pub struct RecordedProblem {
    pub text: String,
    pub resolution: Resolution,
}

/// A problem's outcome as the store writes it.
#[derive(Debug, Clone)]
pub enum Resolution {
    SolvedOnSite {
        solved_by: String,
        solution: String,
    },
    /// The request to take in (its deadlines resolved). `supervise` places it
    /// under supervision (督办) by the platform with these instructions, due
    /// at the request's deadline.
    Dispatch {
        request: Box<NewRequest>,
        instruction: Option<String>,
        supervise: Option<String>,
    },
}

pub trait VisitStore {
    /// Plans a visit of an enterprise in `scope` (`404 enterprise_not_found`).
    fn plan_visit(
        &self,
        visit: NewVisit,
        scope: EnterpriseScope,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<Visit>> + Send;

    /// One visit in `scope`, with its problems and history.
    fn visit(&self, id: i64, scope: EnterpriseScope) -> impl Future<Output = StoreResult<Option<Visit>>> + Send;

    /// Visits matching the filter, newest plan first, with their problems.
    fn visits(&self, filter: &VisitFilter) -> impl Future<Output = StoreResult<Vec<Visit>>> + Send;

    /// Records a planned visit in `scope`: its problems and, for those to
    /// dispatch, their requests with intake events (and supervision), all in
    /// one transaction. `404 visit_not_found`, `409 visit_not_planned`.
    /// Answers the visit and the requests taken in.
    fn record_visit(
        &self,
        id: i64,
        scope: EnterpriseScope,
        record: VisitRecord,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Visit, Vec<Request>)>> + Send;

    /// Cancels a planned visit (`404 visit_not_found`, `409 visit_not_planned`).
    fn cancel_visit(
        &self,
        id: i64,
        scope: EnterpriseScope,
        reason: String,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<Visit>> + Send;
}
