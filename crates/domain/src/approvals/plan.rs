//! One project's approval plan (项目审批计划): the transaction time and each
//! step's pre-review, start and issue, changed only through checked actions.

use std::sync::Arc;

use chrono::{Duration, Timelike};
use serde::{Deserialize, Serialize};

use super::codes;
use super::template::PlanTemplate;
use crate::error::{DomainError, ErrorKind};
use crate::time::{Instant, in_shanghai};

/// A department's clock may run this many seconds ahead of ours before its
/// timestamps count as in the future.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 5;

const MAX_DOCUMENT_NUMBER_CHARS: usize = 64;

/// The issue of a step (核发): when, by which unit, under which document number (文号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRecord {
    pub at: Instant,
    pub unit: String,
    pub document_no: String,
}

/// What has happened to one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProgress {
    /// When the pre-review (容缺预审) was completed, before the land sale.
    pub pre_reviewed_at: Option<Instant>,
    /// When the owning department started (受理) the step.
    pub started_at: Option<Instant>,
    pub issued: Option<IssueRecord>,
}

/// A change to a plan, as a department's system or page sends it. Times are
/// kept to the second (fractions are dropped) in +08:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ApprovalAction {
    /// The land transaction (摘牌/成交): the clock starts.
    RecordTransaction { at: Instant },
    /// A pre-review completed before the land sale.
    RecordPreReview { step: String, unit: String, at: Instant },
    /// The owning department starts the step.
    StartStep { step: String, unit: String, at: Instant },
    /// The owning department issues the step's document.
    IssueStep { step: String, unit: String, at: Instant, document_no: String },
}

/// A project's plan: a template and what has happened so far. A stored plan
/// is restored by applying its recorded actions in order, each with the time
/// it was recorded as `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPlan {
    template: Arc<PlanTemplate>,
    transaction_at: Option<Instant>,
    progress: Vec<StepProgress>,
}

impl ApprovalPlan {
    /// A fresh plan: nothing recorded yet.
    pub fn new(template: Arc<PlanTemplate>) -> Self {
        let progress = vec![StepProgress::default(); template.steps().len()];
        Self { template, transaction_at: None, progress }
    }

    pub fn template(&self) -> &PlanTemplate {
        &self.template
    }

    pub fn transaction_at(&self) -> Option<Instant> {
        self.transaction_at
    }

    /// Progress of each step, in the template's order.
    pub fn progress(&self) -> &[StepProgress] {
        &self.progress
    }

    /// Progress of the step with this code.
    pub fn step_progress(&self, code: &str) -> Option<&StepProgress> {
        self.template.step_index(code).map(|i| &self.progress[i])
    }

    /// When the end step (the permit) was issued.
    pub fn permit_issued_at(&self) -> Option<Instant> {
        self.issued_at(self.template.end())
    }

    pub(super) fn issued_at(&self, step: usize) -> Option<Instant> {
        self.progress[step].issued.as_ref().map(|issue| issue.at)
    }

    /// Checks `action` against the plan at `now` and records it, or refuses
    /// it with a stable code and changes nothing.
    pub fn apply(&mut self, action: &ApprovalAction, now: Instant) -> Result<(), DomainError> {
        match action {
            ApprovalAction::RecordTransaction { at } => self.record_transaction(to_second(*at), now),
            ApprovalAction::RecordPreReview { step, unit, at } => {
                self.record_pre_review(step, unit, to_second(*at), now)
            }
            ApprovalAction::StartStep { step, unit, at } => self.start_step(step, unit, to_second(*at), now),
            ApprovalAction::IssueStep { step, unit, at, document_no } => {
                self.issue_step(step, unit, to_second(*at), document_no, now)
            }
        }
    }

    fn record_transaction(&mut self, at: Instant, now: Instant) -> Result<(), DomainError> {
        if let Some(recorded) = self.transaction_at {
            return Err(conflict(
                codes::TRANSACTION_ALREADY_RECORDED,
                format!("本项目已于{}记录土地成交", show(recorded)),
            ));
        }
        if in_future(at, now) {
            return Err(invalid(codes::TRANSACTION_IN_FUTURE, format!("成交时间{}晚于当前时间", show(at))));
        }
        let latest_pre_review = self.progress.iter().filter_map(|p| p.pre_reviewed_at).max();
        if let Some(pre_review) = latest_pre_review.filter(|&t| t >= at) {
            return Err(invalid(
                codes::TRANSACTION_BEFORE_PRE_REVIEW,
                format!("成交时间{}不晚于已记录的容缺预审时间{}；预审须在土地出让前完成", show(at), show(pre_review)),
            ));
        }
        self.transaction_at = Some(at);
        Ok(())
    }

    fn record_pre_review(&mut self, code: &str, unit: &str, at: Instant, now: Instant) -> Result<(), DomainError> {
        let step = self.owned_step(code, unit)?;
        let name = &self.template.steps()[step].name;
        if !self.template.steps()[step].pre_review {
            return Err(invalid(codes::PRE_REVIEW_NOT_ALLOWED, format!("“{name}”不能在土地出让前开展容缺预审")));
        }
        if in_future(at, now) {
            return Err(invalid(codes::PRE_REVIEWED_IN_FUTURE, format!("“{name}”的预审时间{}晚于当前时间", show(at))));
        }
        if let Some(transaction) = self.transaction_at.filter(|&t| at >= t) {
            return Err(invalid(
                codes::PRE_REVIEW_AFTER_TRANSACTION,
                format!(
                    "“{name}”的预审时间{}不早于成交时间{}；容缺预审须在土地出让前完成",
                    show(at),
                    show(transaction)
                ),
            ));
        }
        if let Some(done) = self.progress[step].pre_reviewed_at {
            return Err(conflict(codes::ALREADY_PRE_REVIEWED, format!("“{name}”已于{}完成预审", show(done))));
        }
        self.progress[step].pre_reviewed_at = Some(at);
        Ok(())
    }

    fn start_step(&mut self, code: &str, unit: &str, at: Instant, now: Instant) -> Result<(), DomainError> {
        let step = self.owned_step(code, unit)?;
        let name = &self.template.steps()[step].name;
        if in_future(at, now) {
            return Err(invalid(codes::STARTED_IN_FUTURE, format!("“{name}”的开始时间{}晚于当前时间", show(at))));
        }
        self.check_after_transaction(at, name)?;
        let progress = &self.progress[step];
        if let Some(issue) = &progress.issued {
            return Err(conflict(codes::ALREADY_ISSUED, format!("“{name}”已于{}核发", show(issue.at))));
        }
        if let Some(started) = progress.started_at {
            return Err(conflict(codes::ALREADY_STARTED, format!("“{name}”已于{}开始办理", show(started))));
        }
        self.progress[step].started_at = Some(at);
        Ok(())
    }

    fn issue_step(
        &mut self,
        code: &str,
        unit: &str,
        at: Instant,
        document_no: &str,
        now: Instant,
    ) -> Result<(), DomainError> {
        let step = self.owned_step(code, unit)?;
        let name = &self.template.steps()[step].name;
        let document_no = check_document_number(document_no, name)?;
        if in_future(at, now) {
            return Err(invalid(codes::ISSUED_IN_FUTURE, format!("“{name}”的核发时间{}晚于当前时间", show(at))));
        }
        self.check_after_transaction(at, name)?;
        let progress = &self.progress[step];
        if let Some(issue) = &progress.issued {
            return Err(conflict(
                codes::ALREADY_ISSUED,
                format!("“{name}”已于{}核发，文号{}", show(issue.at), issue.document_no),
            ));
        }
        if let Some(started) = progress.started_at.filter(|&s| at < s) {
            return Err(invalid(
                codes::ISSUED_BEFORE_START,
                format!("“{name}”的核发时间{}早于开始办理时间{}", show(at), show(started)),
            ));
        }
        self.check_prerequisites_issued(step, at)?;
        self.progress[step].issued = Some(IssueRecord { at, unit: unit.to_owned(), document_no });
        Ok(())
    }

    /// The step's index, if `unit` owns it.
    fn owned_step(&self, code: &str, unit: &str) -> Result<usize, DomainError> {
        let Some(step) = self.template.step_index(code) else {
            return Err(DomainError::not_found(codes::UNKNOWN_STEP, "审批计划中没有这个步骤"));
        };
        let owner = &self.template.steps()[step].owner;
        if unit != owner {
            return Err(DomainError {
                kind: ErrorKind::Forbidden,
                code: codes::NOT_STEP_OWNER,
                message: format!("“{}”由单位“{owner}”负责办理，其他单位不能记录", self.template.steps()[step].name),
            });
        }
        Ok(step)
    }

    fn check_after_transaction(&self, at: Instant, name: &str) -> Result<(), DomainError> {
        let Some(transaction) = self.transaction_at else {
            return Err(conflict(codes::TRANSACTION_NOT_RECORDED, format!("尚未记录土地成交，不能办理“{name}”")));
        };
        if at < transaction {
            return Err(invalid(
                codes::BEFORE_TRANSACTION,
                format!("“{name}”的时间{}早于土地成交时间{}", show(at), show(transaction)),
            ));
        }
        Ok(())
    }

    /// Every prerequisite must have been issued at or before `at`.
    fn check_prerequisites_issued(&self, step: usize, at: Instant) -> Result<(), DomainError> {
        let steps = self.template.steps();
        let missing: Vec<&str> = self
            .template
            .prerequisites_of(step)
            .iter()
            .filter(|&&p| self.issued_at(p).is_none_or(|issued| issued > at))
            .map(|&p| steps[p].name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(conflict(
            codes::PREREQUISITE_NOT_ISSUED,
            format!("“{}”的前置步骤在{}时尚未核发：{}", steps[step].name, show(at), missing.join("、")),
        ))
    }
}

fn check_document_number(document_no: &str, name: &str) -> Result<String, DomainError> {
    let trimmed = document_no.trim();
    let well_formed = !trimmed.is_empty()
        && trimmed.chars().count() <= MAX_DOCUMENT_NUMBER_CHARS
        && !trimmed.chars().any(char::is_control);
    if well_formed {
        Ok(trimmed.to_owned())
    } else {
        Err(invalid(
            codes::INVALID_DOCUMENT_NUMBER,
            format!("“{name}”的文号不能为空，不能超过{MAX_DOCUMENT_NUMBER_CHARS}个字，也不能含控制字符"),
        ))
    }
}

/// Drops the fraction of a second and moves the instant to +08:00.
fn to_second(at: Instant) -> Instant {
    let at = in_shanghai(&at);
    at.with_nanosecond(0).unwrap_or(at)
}

fn in_future(at: Instant, now: Instant) -> bool {
    at > now + Duration::seconds(MAX_CLOCK_SKEW_SECONDS)
}

fn show(at: Instant) -> String {
    in_shanghai(&at).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn invalid(code: &'static str, message: String) -> DomainError {
    DomainError::invalid(code, message)
}

fn conflict(code: &'static str, message: String) -> DomainError {
    DomainError::conflict(code, message)
}
