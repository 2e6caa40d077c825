//! Storage of command centres (指挥部): their definitions, targets, tasks
//! (施工图) and one append-only history of every change to any of them,
//! written in the change's own job. Progress reports, urges (催办) and
//! supervision (督办) of a task are history entries with their text. The
//! stage moves the forecast reads come from the ledgers' own history.

use std::future::Future;

use chrono::NaiveDate;

use mashangban_domain::command::{CentreDef, CommandAction, Commander, TargetDef, TaskDef, TaskState};
use mashangban_domain::org::UnitId;
use mashangban_domain::scoring::TaskOutcome;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A command centre as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreRecord {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub commanders: Vec<Commander>,
    pub office_unit_code: String,
    pub member_units: Vec<String>,
    pub towns: Vec<String>,
    pub ledger_types: Vec<String>,
    /// 1 when installed, one more with every saved change.
    pub version: i64,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// A target as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRecord {
    pub id: i64,
    pub centre_code: String,
    pub name: String,
    pub ledger_type: String,
    pub stages: Vec<String>,
    pub choice: Option<(String, String)>,
    pub town_id: Option<UnitId>,
    pub goal: i64,
    pub due_on: NaiveDate,
    pub version: i64,
    pub created_at: Instant,
    pub created_by: String,
    pub updated_at: Instant,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub id: i64,
    pub centre_code: String,
    pub title: String,
    pub description: Option<String>,
    pub unit_id: UnitId,
    pub working_days: i64,
    pub due_at: Instant,
    pub ledger_ref: Option<String>,
    pub state: TaskState,
    pub report_count: i64,
    pub urge_count: i64,
    pub supervised_at: Option<Instant>,
    pub supervision_note: Option<String>,
    pub done_at: Option<Instant>,
    pub created_at: Instant,
    pub created_by: String,
    pub updated_at: Instant,
}

/// One entry of the history of a centre, a target or a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEvent {
    pub id: i64,
    pub centre_code: String,
    pub target_id: Option<i64>,
    pub task_id: Option<i64>,
    /// The report form of a form's entry.
    pub form_id: Option<i64>,
    /// The pledge of a pledge's entry.
    pub pledge_id: Option<i64>,
    pub at: Instant,
    pub by_user_id: Option<i64>,
    pub by_name: String,
    pub action: CommandAction,
    pub note: Option<String>,
}

/// Who changes a centre, a target or a task, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAuthor {
    pub user_id: Option<i64>,
    /// `name（role）`.
    pub name: String,
    pub at: Instant,
}

/// Which tasks a listing answers.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub centre_code: Option<String>,
    /// Tasks assigned to one of these units only; `None` for every unit.
    pub units: Option<Vec<UnitId>>,
    pub state: Option<TaskState>,
    /// Not done and due before this instant.
    pub overdue_at: Option<Instant>,
    pub limit: u32,
}

/// What is done to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskChange {
    /// A progress report by the assigned unit (assigned or reported → reported).
    Report(String),
    /// Declared done by the office (reported → done), with an optional note.
    Done(Option<String>),
    /// Urged (催办) by the office.
    Urge(String),
    /// Placed under supervision (督办) by the office.
    Supervise(String),
}

/// A ledger item's arrival in a stage, from its history (a `moved` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerArrival {
    pub at: Instant,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub town_id: Option<UnitId>,
    /// The item's values now, as JSON text (for a target's choice condition).
    pub values: String,
}

pub trait CommandStore {
    /// Installs each centre not stored yet (version 1, with a `centre_installed` entry); stored
    /// centres are left as they are.
    fn install_command_centres(
        &self,
        centres: Vec<CentreDef>,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Every centre, by code.
    fn command_centres(&self) -> impl Future<Output = StoreResult<Vec<CentreRecord>>> + Send;

    fn command_centre(&self, code: &str) -> impl Future<Output = StoreResult<Option<CentreRecord>>> + Send;

    /// Replaces a centre's definition if still at `expected_version` (`404
    /// command_centre_not_found`, `409 command_centre_changed`), with a history entry.
    fn save_command_centre(
        &self,
        def: CentreDef,
        expected_version: i64,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<CentreRecord>> + Send;

    /// The centre's targets, oldest first.
    fn command_targets(&self, centre_code: &str) -> impl Future<Output = StoreResult<Vec<TargetRecord>>> + Send;

    fn command_target(&self, id: i64) -> impl Future<Output = StoreResult<Option<TargetRecord>>> + Send;

    /// Sets a new target of a centre, with a history entry.
    fn create_command_target(
        &self,
        centre_code: &str,
        def: TargetDef,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<TargetRecord>> + Send;

    /// Replaces a target if still at `expected_version` (`404 command_target_not_found`, `409
    /// command_target_changed`), with a history entry.
    fn update_command_target(
        &self,
        id: i64,
        expected_version: i64,
        def: TargetDef,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<TargetRecord>> + Send;

    /// Assigns a task due at `due_at`, with a history entry.
    fn create_command_task(
        &self,
        centre_code: &str,
        def: TaskDef,
        due_at: Instant,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<TaskRecord>> + Send;

    fn command_task(&self, id: i64) -> impl Future<Output = StoreResult<Option<TaskRecord>>> + Send;

    /// Tasks matching the filter, soonest due first.
    fn command_tasks(&self, filter: &TaskFilter) -> impl Future<Output = StoreResult<Vec<TaskRecord>>> + Send;

    /// Changes a task under its row lock, judged on its state now (`404 command_task_not_found`,
    /// `409 command_task_done`, `409 command_task_not_reported`), with a history entry.
    fn change_command_task(
        &self,
        id: i64,
        change: TaskChange,
        author: CommandAuthor,
    ) -> impl Future<Output = StoreResult<TaskRecord>> + Send;

    /// Every task due or done in `[from, until)`, for scoring (考核).
    fn command_task_outcomes(
        &self,
        from: Instant,
        until: Instant,
    ) -> impl Future<Output = StoreResult<Vec<TaskOutcome>>> + Send;

    /// A task's history, oldest first.
    fn command_task_events(&self, task_id: i64) -> impl Future<Output = StoreResult<Vec<CommandEvent>>> + Send;

    /// The history of a centre and its targets (not its tasks'), newest first, at most `limit`.
    fn command_centre_events(
        &self,
        centre_code: &str,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<CommandEvent>>> + Send;

    /// Stage moves of items of a ledger type since `since`, oldest first, at most `limit`.
    fn ledger_arrivals(
        &self,
        type_code: &str,
        since: Instant,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<LedgerArrival>>> + Send;
}
