//! Storage of 拿地即开工 approvals: plan templates (TOML text, versioned),
//! approval projects and each project's log of actions. The plan state is
//! never stored: it is rebuilt from the actions through the domain
//! ([`mashangban_domain::approvals::ApprovalPlan`]), and a new action is
//! checked against the rebuilt plan and appended in one transaction, with the
//! project's row locked, so that of two concurrent actions only one that the
//! plan allows can pass.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::approvals::{ApprovalAction, ProjectInput};
use mashangban_domain::org::{UnitId, UserId};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// One stored version of a plan template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredApprovalTemplate {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub name: String,
    /// The template as TOML (see `mashangban_domain::approvals::parse_template_toml`).
    pub body: String,
    pub created_at: Instant,
    /// Who saved it, as `name（role）`; the bundled template's seed reads `系统（内置模板）`.
    pub created_by: String,
    /// The version in force it replaced (`None` for the first one stored).
    pub supersedes: Option<i64>,
}

/// An approval project (审批项目).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalProject {
    pub id: i64,
    pub name: String,
    pub credit_code: Option<String>,
    pub ledger_key: Option<String>,
    /// The district or town (区/镇街).
    pub unit_id: Option<UnitId>,
    pub template_id: i64,
    /// How many actions are recorded (bumped with each).
    pub version: i64,
    /// Copied from the actions for listing: the land transaction and the permit's issue.
    pub transaction_at: Option<Instant>,
    pub permit_at: Option<Instant>,
    pub created_at: Instant,
    pub created_by: String,
}

/// Who records an action or creates a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecorder {
    /// `None` for an API token acting as a department's system.
    pub user_id: Option<UserId>,
    /// As shown in the log: `name（role）`.
    pub name: String,
}

/// One recorded action of a project's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRecord {
    pub project_id: i64,
    /// 1, 2, … in the order recorded.
    pub seq: i64,
    pub action: ApprovalAction,
    /// When it was recorded (the `now` the plan checked it against).
    pub recorded_at: Instant,
    pub recorded_by: String,
    pub recorded_by_user: Option<UserId>,
}

pub trait ApprovalStore {
    /// Stores a template's text as the version in force (the next version of
    /// its code, replacing the one in force), unless the version in force
    /// already reads exactly so (then that one is answered). With `base`, the
    /// version in force must still be that one (`409 approval_template_changed`);
    /// of two saves on the same version in force only one is stored, the other
    /// is refused alike (or answered the stored one when it reads the same).
    /// The text must parse (`invalid_approval_template` and the template codes).
    fn save_approval_template(
        &self,
        body: String,
        base: Option<i64>,
        at: Instant,
        by: ApprovalRecorder,
    ) -> impl Future<Output = StoreResult<StoredApprovalTemplate>> + Send;

    fn approval_template(&self, id: i64) -> impl Future<Output = StoreResult<Option<StoredApprovalTemplate>>> + Send;

    /// The version in force: the last one stored (`None` before the first).
    fn current_approval_template(&self) -> impl Future<Output = StoreResult<Option<StoredApprovalTemplate>>> + Send;

    /// Stored versions, newest first, at most `limit` (1..=500).
    fn approval_templates(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<StoredApprovalTemplate>>> + Send;

    /// Creates a project on a stored template (`404 approval_template_not_found`
    /// when it is not), with nothing recorded yet.
    fn create_approval_project(
        &self,
        input: ProjectInput,
        template_id: i64,
        at: Instant,
        by: ApprovalRecorder,
    ) -> impl Future<Output = StoreResult<ApprovalProject>> + Send;

    fn approval_project(&self, id: i64) -> impl Future<Output = StoreResult<Option<ApprovalProject>>> + Send;

    /// Projects, newest first, at most `limit` (1..=5000).
    fn approval_projects(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<ApprovalProject>>> + Send;

    /// The logs of these projects, each oldest first.
    fn approval_records(&self, project_ids: &[i64]) -> impl Future<Output = StoreResult<Vec<ApprovalRecord>>> + Send;

    /// Locks the project, rebuilds its plan from its log, checks `action`
    /// against it at `now` (the domain's refusals, nothing written on one) and
    /// appends it with the project's next version and a change-feed row, in
    /// one transaction. With `expected_version`, a project changed meanwhile
    /// is refused (`409 approval_project_changed`). `404 approval_project_not_found`.
    fn record_approval_action(
        &self,
        project_id: i64,
        action: ApprovalAction,
        expected_version: Option<i64>,
        now: Instant,
        by: ApprovalRecorder,
    ) -> impl Future<Output = StoreResult<(ApprovalProject, ApprovalRecord)>> + Send;
}
