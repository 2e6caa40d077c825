//! Land to construction in minutes (拿地即开工): the parallel approvals
//! (并联审批) between a land transaction (摘牌/成交) and the construction
//! permit (施工许可证), timed to the second.
//!
//! A [`PlanTemplate`] is data (`data/approval_plan.toml`): the steps, the
//! department that owns each, their prerequisites (a DAG with exactly one end
//! step, the permit), a planned duration in minutes and whether the step's
//! pre-review (容缺预审) may be done before the land sale. An
//! [`ApprovalPlan`] is one project's instance: the transaction time, the
//! pre-reviews, and each step's start and issue with its document number,
//! every change refused with a stable code when it breaks a rule.
//!
//! From a plan the module computes the clock from the transaction to the
//! permit, the planned schedule (critical path method: earliest and latest
//! times and slack per step), the actual critical path (the chain of issues
//! that determined the permit time), plan against actual per step and per
//! department, each department's share of the critical path and the steps
//! late against plan. Everything is pure.

mod graph;
mod plan;
mod project;
mod report;
mod rows;
mod template;

pub use plan::{ApprovalAction, ApprovalPlan, IssueRecord, MAX_CLOCK_SKEW_SECONDS, StepProgress};
pub use project::{
    MAX_LEDGER_KEY_CHARS, MAX_PROJECT_NAME_CHARS, ProjectInput, project_changed, project_codes, project_not_found,
    template_changed, template_not_found,
};
pub use report::{
    ActualCriticalPath, CriticalLink, DepartmentReport, Elapsed, PlanClock, StepReport, StepStatus, late_step_counts,
};
pub use rows::{MAX_ROWS, StepRow, TemplateRows};
pub use template::{
    BUNDLED_APPROVAL_PLAN, MAX_PLANNED_MINUTES, MAX_STEPS, MAX_TEMPLATE_BYTES, PlanTemplate, PlannedCriticalPath,
    PlannedStep, StepField, StepTemplate, TemplateFault, parse_template_toml, template_toml,
};

/// Stable error codes returned by this module.
pub mod codes {
    /// The template is malformed (syntax, blank or badly formed fields, too large).
    pub const INVALID_APPROVAL_TEMPLATE: &str = "invalid_approval_template";
    /// The template has no steps.
    pub const EMPTY_APPROVAL_TEMPLATE: &str = "empty_approval_template";
    /// Two steps share a code.
    pub const DUPLICATE_STEP: &str = "duplicate_step";
    /// A prerequisite names no step of the template.
    pub const UNKNOWN_PREREQUISITE: &str = "unknown_prerequisite";
    /// The prerequisites form a cycle; the message names it.
    pub const PREREQUISITE_CYCLE: &str = "prerequisite_cycle";
    /// More than one step is required by no other step: the plan must end in one step.
    pub const MULTIPLE_END_STEPS: &str = "multiple_end_steps";
    /// The step chosen as the end step is one another step waits for.
    pub const END_STEP_NOT_LAST: &str = "end_step_not_last";
    /// A step names no owning department.
    pub const MISSING_OWNER: &str = "missing_owner";
    /// A step's owner is not a unit of the organisation.
    pub const UNKNOWN_OWNER: &str = "unknown_owner";
    /// A planned duration is out of range.
    pub const INVALID_PLANNED_DURATION: &str = "invalid_planned_duration";
    /// No step of the plan has this code.
    pub const UNKNOWN_STEP: &str = "unknown_step";
    /// The acting unit does not own the step.
    pub const NOT_STEP_OWNER: &str = "not_step_owner";
    /// A step is issued while a prerequisite is not issued (or was issued later).
    pub const PREREQUISITE_NOT_ISSUED: &str = "prerequisite_not_issued";
    /// An issue is timestamped after the present moment.
    pub const ISSUED_IN_FUTURE: &str = "issued_in_future";
    /// A start is timestamped after the present moment.
    pub const STARTED_IN_FUTURE: &str = "started_in_future";
    /// A pre-review is timestamped after the present moment.
    pub const PRE_REVIEWED_IN_FUTURE: &str = "pre_reviewed_in_future";
    /// The transaction is timestamped after the present moment.
    pub const TRANSACTION_IN_FUTURE: &str = "transaction_in_future";
    /// A step is started or issued before the land transaction is recorded.
    pub const TRANSACTION_NOT_RECORDED: &str = "transaction_not_recorded";
    /// A step is started or issued at a time before the land transaction.
    pub const BEFORE_TRANSACTION: &str = "before_transaction";
    /// The transaction is recorded a second time.
    pub const TRANSACTION_ALREADY_RECORDED: &str = "transaction_already_recorded";
    /// The transaction would precede a pre-review already recorded.
    pub const TRANSACTION_BEFORE_PRE_REVIEW: &str = "transaction_before_pre_review";
    /// A step is issued a second time.
    pub const ALREADY_ISSUED: &str = "already_issued";
    /// A step is started a second time.
    pub const ALREADY_STARTED: &str = "already_started";
    /// A step is issued at a time before its recorded start.
    pub const ISSUED_BEFORE_START: &str = "issued_before_start";
    /// The step's pre-review may not be done before the land sale.
    pub const PRE_REVIEW_NOT_ALLOWED: &str = "pre_review_not_allowed";
    /// A pre-review is recorded at or after the land transaction.
    pub const PRE_REVIEW_AFTER_TRANSACTION: &str = "pre_review_after_transaction";
    /// A pre-review is recorded a second time.
    pub const ALREADY_PRE_REVIEWED: &str = "already_pre_reviewed";
    /// The document number is blank, too long or has control characters.
    pub const INVALID_DOCUMENT_NUMBER: &str = "invalid_document_number";
}

#[cfg(test)]
mod tests;
