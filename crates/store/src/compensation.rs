//! Storage of ecological-damage compensation (生态环境损害赔偿): the expert
//! pool (专家库) and compensation matters with their history. One matter per
//! enforcement case; every change of a matter is written with its history
//! row in one transaction, under a version check, so two people acting on one
//! matter at once cannot both succeed on the same version.

use std::future::Future;

use serde::Serialize;

use chrono::NaiveDate;

use mashangban_domain::compensation::{Candidate, DrawRecord, ExpertInput, Matter, Obligation, Procedure, Specialty};
use mashangban_domain::time::Instant;

use crate::{EnforcementActor, StoreResult};

/// An expert of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expert {
    pub id: i64,
    pub name: String,
    pub specialty: Specialty,
    pub employer: String,
    /// Credit codes of enterprises the expert must not assess (回避).
    pub conflicts: Vec<String>,
    pub active: bool,
    pub created_at: Instant,
    pub version: i64,
}

impl Expert {
    /// What the draw needs to know of the expert.
    pub fn candidate(&self) -> Candidate<'_> {
        Candidate { id: self.id, specialty: self.specialty, active: self.active, conflicts: &self.conflicts }
    }
}

/// The experts of `ids` as shown: `name（specialty）`, or `专家{id}` for one no longer in `pool`.
pub fn expert_names(pool: &[Expert], ids: &[i64]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            pool.iter()
                .find(|e| e.id == *id)
                .map_or_else(|| format!("专家{id}"), |e| format!("{}（{}）", e.name, e.specialty.label()))
        })
        .collect()
}

/// A stored compensation matter (赔偿事项).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterRecord {
    pub id: i64,
    /// `生赔〔2026〕3号`, from the year it was opened and its id.
    pub number: String,
    pub case_id: i64,
    pub credit_code: String,
    /// The handling unit (the case's).
    pub unit_id: i64,
    pub matter: Matter,
    pub stage_started_at: Instant,
    pub opened_at: Instant,
    pub closed_at: Option<Instant>,
    pub version: i64,
}

/// A matter to open from a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMatter {
    pub case_id: i64,
    pub credit_code: String,
    pub unit_id: i64,
    pub procedure: Procedure,
    pub note: Option<String>,
}

/// One history row to write with a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatterEvent {
    /// `opened`, `draw`, `assessed`, `consultation`, `signed`, `payment`, …
    pub kind: String,
    pub note: Option<String>,
    /// A payment's amount or an assessment's damage, in fen.
    pub amount_fen: Option<i64>,
    /// Structured facts, e.g. a draw's seed, eligible and chosen experts (JSON).
    pub detail: Option<String>,
}

impl MatterEvent {
    /// The history row of a draw: the experts by name, and the record to repeat it by.
    pub fn draw(record: &DrawRecord, pool: &[Expert]) -> Self {
        Self {
            kind: "draw".into(),
            note: Some(format!("{}：{}", record.purpose.label(), expert_names(pool, &record.chosen).join("、"))),
            amount_fen: None,
            detail: serde_json::to_string(record).ok(),
        }
    }

    /// The history row of an action other than a draw (whose text names the experts and whose
    /// detail is the draw's record).
    pub fn of(action: &mashangban_domain::compensation::MatterAction) -> Self {
        Self { kind: action.kind().into(), note: action.note(), amount_fen: action.amount_fen(), detail: None }
    }
}

/// One entry of a matter's history as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatterHistoryEntry {
    #[serde(flatten)]
    pub event: MatterEvent,
    /// The stage after the change.
    pub stage: mashangban_domain::compensation::MatterStage,
    pub at: Instant,
    pub by: String,
}

/// Which matters to list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatterFilter {
    pub stage: Option<mashangban_domain::compensation::MatterStage>,
    pub credit_code: Option<String>,
    /// The matter of one enforcement case.
    pub case_id: Option<i64>,
    /// Only matters of these units (unit-bound staff); `None` for all.
    pub units: Option<Vec<i64>>,
}

/// A 督办 of an overdue obligation of a matter's agreement, raised once per
/// (matter, obligation) by the scheduler and resolved when the obligation is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterSupervision {
    pub id: i64,
    pub matter_id: i64,
    pub matter_number: String,
    pub credit_code: String,
    /// The pressed unit (the matter's).
    pub unit_id: i64,
    pub obligation: Obligation,
    pub due: NaiveDate,
    pub raised_at: Instant,
    pub resolved_at: Option<Instant>,
    pub resolution: Option<String>,
}

/// Which 督办 to list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SupervisionFilter {
    pub matter_id: Option<i64>,
    /// Only those not yet resolved.
    pub open_only: bool,
    /// Only of these units; `None` for all.
    pub units: Option<Vec<i64>>,
}

pub trait CompensationStore {
    /// Adds an expert to the pool.
    fn create_expert(&self, expert: ExpertInput, at: Instant) -> impl Future<Output = StoreResult<Expert>> + Send;

    /// Takes an expert out of the pool or back in (`404 expert_not_found`).
    fn set_expert_active(&self, id: i64, active: bool) -> impl Future<Output = StoreResult<Expert>> + Send;

    /// The whole pool, in id order.
    fn experts(&self) -> impl Future<Output = StoreResult<Vec<Expert>>> + Send;

    /// Opens a matter at 损害鉴定评估 with its `opened` row. One matter per
    /// case (`409 case_has_matter`); `404 case_not_found`.
    fn open_matter(
        &self,
        matter: NewMatter,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<MatterRecord>> + Send;

    /// Writes `matter` (already decided by the domain) over version `expected`,
    /// with its history row; open 督办 whose obligation the new matter meets
    /// (`compensation::obligation_met`) are resolved with a `supervision_resolved`
    /// row in the same transaction. `404 matter_not_found`, `409 matter_changed`.
    fn change_matter(
        &self,
        id: i64,
        expected: i64,
        matter: Matter,
        event: MatterEvent,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<MatterRecord>> + Send;

    fn matter(&self, id: i64) -> impl Future<Output = StoreResult<Option<MatterRecord>>> + Send;

    /// Matters, newest first, at most `limit` (1..=1000).
    fn matters(&self, filter: MatterFilter, limit: u32) -> impl Future<Output = StoreResult<Vec<MatterRecord>>> + Send;

    /// A matter's history, oldest first.
    fn matter_history(&self, id: i64) -> impl Future<Output = StoreResult<Vec<MatterHistoryEntry>>> + Send;

    /// Raises a 督办 of an overdue obligation, with a `supervised` history row,
    /// once per (matter, obligation): `None` when raised before (a rescan,
    /// another node). `404 matter_not_found`.
    fn supervise_obligation(
        &self,
        matter_id: i64,
        obligation: Obligation,
        due: NaiveDate,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<Option<MatterSupervision>>> + Send;

    /// 督办 of matters, newest first, at most `limit` (1..=1000).
    fn matter_supervisions(
        &self,
        filter: SupervisionFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<MatterSupervision>>> + Send;
}
