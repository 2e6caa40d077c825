//! Storage of the industry support fund (产业扶持资金): policies with their
//! per-year budget rows, measures (formulas kept as source text), applications
//! with their data and materials, their history and the objections raised
//! during the public notice.
//!
//! The budget guard lives here: a transition that reserves money adds it to
//! the year's row with one conditional `UPDATE … SET reserved_fen =
//! reserved_fen + $amount WHERE … AND reserved_fen + $amount <= allocation_fen`
//! and is refused (`409 budget_exceeded`, nothing written) when no row
//! changed. The row lock the UPDATE takes serialises concurrent reservations
//! on PostgreSQL, whichever node they come from; SQLite's single writer runs
//! one at a time.

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use mashangban_domain::expr::Value;
use mashangban_domain::fund::{ApplicationState, FieldSpec, FundAction, Measure, Policy};
use mashangban_domain::org::{UnitId, UserId};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// One year of a policy's budget, in fen. `reserved_fen` counts every award
/// approved at 复审 and not released, paid ones included; `paid_fen` those paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FundBudgetYear {
    pub year: i32,
    pub allocation_fen: i64,
    pub reserved_fen: i64,
    pub paid_fen: i64,
}

/// A stored policy with its budget rows by year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundPolicy {
    pub id: i64,
    pub name: String,
    pub issuer: String,
    pub total_fen: i64,
    pub notice_working_days: u32,
    pub budgets: Vec<FundBudgetYear>,
    pub created_at: Instant,
    pub created_by: String,
}

/// A stored measure; its formulas as source text (compile with `MeasureInput::compile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundMeasure {
    pub id: i64,
    pub policy_id: i64,
    pub code: String,
    pub name: String,
    pub fields: Vec<FieldSpec>,
    pub eligibility: String,
    pub award: String,
    pub cap_fen: Option<i64>,
}

/// One item of an application's materials list (申报材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FundMaterial {
    pub name: String,
}

/// Who acts, as shown in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundActor {
    pub user_id: Option<UserId>,
    /// `name（role）`.
    pub name: String,
}

/// A new application, checked and assessed by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFundApplication {
    pub measure_id: i64,
    /// The budget year (申报年度).
    pub year: i32,
    pub credit_code: String,
    pub data: BTreeMap<String, Value>,
    pub materials: Vec<FundMaterial>,
    pub computed_fen: i64,
    pub award_fen: i64,
}

/// An application as stored, with its enterprise's name, town and industry from the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundApplication {
    pub id: i64,
    pub policy_id: i64,
    pub measure_id: i64,
    pub measure_code: String,
    pub measure_name: String,
    pub cap_fen: Option<i64>,
    pub year: i32,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town_id: UnitId,
    pub industry_code: Option<String>,
    pub data: BTreeMap<String, Value>,
    pub materials: Vec<FundMaterial>,
    pub state: ApplicationState,
    pub computed_fen: i64,
    pub award_fen: i64,
    pub notice_ends_at: Option<Instant>,
    /// Objections raised and not answered.
    pub open_objections: u32,
    /// 1 when submitted, one more with every action.
    pub version: i64,
    pub submitted_at: Instant,
    pub submitted_by: String,
    pub updated_at: Instant,
}

/// One entry of an application's history (办理记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundEvent {
    pub application_id: i64,
    pub seq: i64,
    /// `submit`, an action's kind (`town_review`, …), `objection` or `answer`.
    pub kind: String,
    pub from_state: Option<ApplicationState>,
    pub to_state: ApplicationState,
    pub award_fen: i64,
    pub note: Option<String>,
    pub at: Instant,
    pub by: String,
    pub by_user: Option<UserId>,
}

/// An objection raised during the public notice (公示异议) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundObjection {
    pub id: i64,
    pub application_id: i64,
    pub text: String,
    pub raised_at: Instant,
    pub raised_by: String,
    pub raised_by_user: Option<UserId>,
    pub answer: Option<String>,
    pub answered_at: Option<Instant>,
    pub answered_by: Option<String>,
}

/// Whose applications a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundScope {
    All,
    /// Enterprises registered in this town.
    Town(UnitId),
    /// Enterprises assigned to this liaison cadre.
    Liaison(UserId),
    /// One enterprise's own (its portal account).
    Enterprise(String),
    Nothing,
}

/// Which applications a listing answers, and which page.
#[derive(Debug, Clone, Default)]
pub struct FundFilter {
    pub policy_id: Option<i64>,
    pub measure_id: Option<i64>,
    pub state: Option<ApplicationState>,
    pub year: Option<i32>,
    pub town_id: Option<UnitId>,
    pub credit_code: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// What a group of a fund report gathers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FundGroup {
    /// Every application of the report.
    Total,
    Measure {
        id: i64,
        code: String,
        name: String,
    },
    /// The enterprises' town.
    Town(UnitId),
    /// The enterprises' industry code (GB/T 4754); none when not recorded.
    Industry(Option<String>),
}

/// One group of a fund report: how many applications stand where, and the money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundTally {
    pub group: FundGroup,
    pub applications: u64,
    /// 受理 or 初审通过: not decided yet.
    pub in_review: u64,
    /// Approved at 复审 and not rejected since (复审通过, 公示中, 已拨付): their awards are reserved.
    pub approved: u64,
    pub approved_fen: i64,
    pub paid: u64,
    pub paid_fen: i64,
    pub rejected: u64,
}

/// A policy's applications of one budget year in a reader's scope, counted by measure, town and industry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundReport {
    pub total: FundTally,
    pub by_measure: Vec<FundTally>,
    pub by_town: Vec<FundTally>,
    pub by_industry: Vec<FundTally>,
}

pub trait FundStore {
    /// Stores a policy and its measures, with one budget row per year, in one transaction.
    fn create_fund_policy(
        &self,
        policy: Policy,
        measures: Vec<Measure>,
        at: Instant,
        by: FundActor,
    ) -> impl Future<Output = StoreResult<FundPolicy>> + Send;

    /// Adds a measure to a policy (`404 fund_policy_not_found`, `409 duplicate_fund_measure`).
    fn add_fund_measure(
        &self,
        policy_id: i64,
        measure: Measure,
    ) -> impl Future<Output = StoreResult<FundMeasure>> + Send;

    /// Every policy with its budget rows, newest first.
    fn fund_policies(&self) -> impl Future<Output = StoreResult<Vec<FundPolicy>>> + Send;

    fn fund_policy(&self, id: i64) -> impl Future<Output = StoreResult<Option<FundPolicy>>> + Send;

    /// A policy's measures by code.
    fn fund_measures(&self, policy_id: i64) -> impl Future<Output = StoreResult<Vec<FundMeasure>>> + Send;

    fn fund_measure(&self, id: i64) -> impl Future<Output = StoreResult<Option<FundMeasure>>> + Send;

    /// Stores an application in state submitted with its first history entry
    /// (`404 enterprise_not_found` unless the credit code is in the registry,
    /// `422 no_allocation_for_year` unless the policy has the year).
    fn submit_fund_application(
        &self,
        new: NewFundApplication,
        at: Instant,
        by: FundActor,
    ) -> impl Future<Output = StoreResult<FundApplication>> + Send;

    /// An application in scope.
    fn fund_application(
        &self,
        id: i64,
        scope: FundScope,
    ) -> impl Future<Output = StoreResult<Option<FundApplication>>> + Send;

    /// Applications in scope matching the filter, newest first, one page, with the total.
    fn fund_applications(
        &self,
        filter: &FundFilter,
        scope: FundScope,
    ) -> impl Future<Output = StoreResult<(Vec<FundApplication>, u64)>> + Send;

    /// An application's history, oldest first.
    fn fund_events(&self, application_id: i64) -> impl Future<Output = StoreResult<Vec<FundEvent>>> + Send;

    /// Locks the application, checks `action` against its state at `now`
    /// (the domain's refusals), applies the budget effect under the guard
    /// (`409 budget_exceeded`), and writes the new state and the history
    /// entry, in one transaction. `expected_version` refuses a stale view
    /// (`409 fund_application_changed`). `404 fund_application_not_found`.
    fn act_on_fund_application(
        &self,
        id: i64,
        action: FundAction,
        expected_version: Option<i64>,
        now: Instant,
        by: FundActor,
    ) -> impl Future<Output = StoreResult<FundApplication>> + Send;

    /// Records an objection while the application is on notice (`409 not_in_notice`), with a history entry.
    fn raise_fund_objection(
        &self,
        application_id: i64,
        text: String,
        now: Instant,
        by: FundActor,
    ) -> impl Future<Output = StoreResult<FundObjection>> + Send;

    /// Answers an objection once (`409 objection_already_answered`,
    /// `404 fund_objection_not_found`), with a history entry on its application.
    fn answer_fund_objection(
        &self,
        objection_id: i64,
        answer: String,
        now: Instant,
        by: FundActor,
    ) -> impl Future<Output = StoreResult<FundObjection>> + Send;

    /// An application's objections, oldest first.
    fn fund_objections(&self, application_id: i64) -> impl Future<Output = StoreResult<Vec<FundObjection>>> + Send;

    /// The applications of a policy's budget year in scope, counted (one
    /// `GROUP BY` per dimension): in total, by measure (by code), by town and
    /// by industry (by code, none last).
    fn fund_report(
        &self,
        policy_id: i64,
        year: i32,
        scope: FundScope,
    ) -> impl Future<Output = StoreResult<FundReport>> + Send;
}
