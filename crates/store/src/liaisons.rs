//! Storage of liaison cadres (联系干部): each cadre's profile (level, post,
//! work phone) and their assignments to enterprises. An assignment is never
//! deleted: unassigning ends it with who and when, so the rows are the
//! history of who assigned whom when.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::liaison::{CadreInput, CadreLevel, LiaisonKind};
use mashangban_domain::org::{UnitId, UserId};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A cadre's profile with their account's name and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cadre {
    pub user_id: UserId,
    pub name: String,
    pub unit_id: Option<UnitId>,
    pub level: CadreLevel,
    pub post: String,
    pub work_phone: String,
    /// Assignments in force.
    pub enterprises: u64,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One assignment of a cadre to an enterprise, in force or ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub credit_code: String,
    pub enterprise_name: String,
    pub town_id: UnitId,
    pub user_id: UserId,
    pub cadre_name: String,
    pub level: CadreLevel,
    pub post: String,
    pub work_phone: String,
    pub kind: LiaisonKind,
    pub assigned_at: Instant,
    /// Who assigned, as `name（role）`.
    pub assigned_by: String,
    pub ended_at: Option<Instant>,
    pub ended_by: Option<String>,
}

/// Which assignments a listing answers.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub credit_code: Option<String>,
    pub user_id: Option<UserId>,
    /// Enterprises registered in this town.
    pub town_id: Option<UnitId>,
    /// Ended ones too (the history), newest first; else only those in force, by enterprise.
    pub with_ended: bool,
    pub limit: u32,
}

pub trait LiaisonStore {
    /// Writes a cadre's profile (`404 cadre_not_found` unless the user exists).
    fn save_cadre(&self, input: CadreInput, at: Instant, by: String)
    -> impl Future<Output = StoreResult<Cadre>> + Send;

    /// Every cadre, by name.
    fn cadres(&self) -> impl Future<Output = StoreResult<Vec<Cadre>>> + Send;

    /// One cadre's profile.
    fn cadre(&self, user_id: UserId) -> impl Future<Output = StoreResult<Option<Cadre>>> + Send;

    /// Assigns a cadre to an enterprise: `404 enterprise_not_found`,
    /// `404 cadre_not_found`, `409 liaison_exists` (already assigned),
    /// `409 lead_liaison_exists` (a second lead).
    fn assign(
        &self,
        credit_code: &str,
        user_id: UserId,
        kind: LiaisonKind,
        at: Instant,
        by: String,
    ) -> impl Future<Output = StoreResult<Assignment>> + Send;

    /// Ends an assignment (`404 liaison_not_found`, `409 liaison_ended`).
    fn unassign(&self, id: i64, at: Instant, by: String) -> impl Future<Output = StoreResult<Assignment>> + Send;

    /// One assignment, in force or ended.
    fn assignment(&self, id: i64) -> impl Future<Output = StoreResult<Option<Assignment>>> + Send;

    /// Assignments matching the filter (at most `limit`, 1..=5000).
    fn assignments(&self, filter: &AssignmentFilter) -> impl Future<Output = StoreResult<Vec<Assignment>>> + Send;
}
