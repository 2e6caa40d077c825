//! What a plan shows: the clock, the actual critical path, plan against
//! actual per step and per department, and the steps late against plan.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::graph;
use super::plan::ApprovalPlan;
use crate::time::Instant;

/// A span of whole seconds, shown in minutes and seconds as the report does
/// ("16分钟", "145分钟", "2分30秒").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Elapsed {
    pub seconds: i64,
}

impl Elapsed {
    /// Whole minutes.
    pub fn minutes(self) -> i64 {
        self.seconds.div_euclid(60)
    }

    /// The seconds beyond the whole minutes.
    pub fn second_part(self) -> i64 {
        self.seconds.rem_euclid(60)
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.minutes(), self.second_part()) {
            (minutes, 0) => write!(f, "{minutes}分钟"),
            (0, seconds) => write!(f, "{seconds}秒"),
            (minutes, seconds) => write!(f, "{minutes}分{seconds}秒"),
        }
    }
}

/// The clock from the land transaction to the construction permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanClock {
    pub transaction_at: Instant,
    pub permit_at: Option<Instant>,
    /// To the permit, or to `now` while it runs.
    pub elapsed: Elapsed,
    pub running: bool,
}

/// One step of the actual critical path and the time it added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriticalLink {
    pub step: String,
    pub owner: String,
    /// When the step could begin: the issue of the prerequisite it waited
    /// for last, or the transaction.
    pub from: Instant,
    pub to: Instant,
    pub seconds: i64,
}

/// The chain of issues that determined the permit time: from the permit,
/// back through the prerequisite issued last each time, to the transaction.
/// The links' seconds add up to the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActualCriticalPath {
    pub links: Vec<CriticalLink>,
    pub total_seconds: i64,
}

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for the transaction or a prerequisite (待前置).
    Waiting,
    /// Every prerequisite is issued; not yet started (可办理).
    Ready,
    /// Started, not issued (办理中).
    InProgress,
    /// Issued (已核发).
    Issued,
}

impl StepStatus {
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Waiting => "待前置",
            StepStatus::Ready => "可办理",
            StepStatus::InProgress => "办理中",
            StepStatus::Issued => "已核发",
        }
    }
}

/// Plan against actual for one step. Planned times are minutes from the
/// transaction (critical path method); actual times are seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub code: String,
    pub name: String,
    pub owner: String,
    pub status: StepStatus,
    pub pre_reviewed_at: Option<Instant>,
    pub started_at: Option<Instant>,
    pub issued_at: Option<Instant>,
    pub document_no: Option<String>,
    pub planned_minutes: u32,
    pub planned_start_minute: u64,
    pub planned_finish_minute: u64,
    /// Planned total float in minutes.
    pub planned_slack_minutes: u64,
    pub on_planned_critical_path: bool,
    /// When the transaction and every prerequisite had happened.
    pub ready_at: Option<Instant>,
    /// From ready to issue: the time the step itself took.
    pub actual_seconds: Option<i64>,
    /// From the transaction to the issue.
    pub actual_finish_seconds: Option<i64>,
    /// Actual finish minus planned finish once issued (negative: early);
    /// for a step not yet issued, how far `now` is past its planned finish.
    pub delay_seconds: Option<i64>,
    /// Issued after its planned finish, or not issued and past it.
    pub late: bool,
    /// How much later the step could have been issued without making any
    /// successor wait longer (0 for the permit); known once a successor is ready.
    pub free_slack_seconds: Option<i64>,
    pub on_actual_critical_path: bool,
}

/// Plan against actual for one owning unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentReport {
    pub owner: String,
    pub steps: usize,
    pub issued: usize,
    pub late: usize,
    /// Sum of the planned durations of its steps.
    pub planned_minutes: u64,
    /// Sum of the actual durations (ready to issue) of its issued steps.
    pub actual_seconds: i64,
    /// Planned minutes it holds on the planned critical path.
    pub planned_critical_minutes: u64,
    /// Seconds it added to the actual critical path.
    pub actual_critical_seconds: i64,
}

impl ApprovalPlan {
    /// The clock, once the transaction is recorded.
    pub fn clock(&self, now: Instant) -> Option<PlanClock> {
        let transaction_at = self.transaction_at()?;
        let permit_at = self.permit_issued_at();
        let until = permit_at.unwrap_or(now);
        let seconds = (until - transaction_at).num_seconds().max(0);
        Some(PlanClock { transaction_at, permit_at, elapsed: Elapsed { seconds }, running: permit_at.is_none() })
    }

    /// The actual critical path, once the permit is issued. On a tie the
    /// prerequisite listed first is followed.
    pub fn actual_critical_path(&self) -> Option<ActualCriticalPath> {
        let transaction_at = self.transaction_at()?;
        self.permit_issued_at()?;
        let template = self.template();
        let chain = graph::chain_back(template.end(), template.all_prerequisites(), |i| self.issued_at(i));
        let mut links = Vec::with_capacity(chain.len());
        let mut from = transaction_at;
        for step in chain {
            let to = self.issued_at(step)?;
            let definition = &template.steps()[step];
            let seconds = (to - from).num_seconds();
            links.push(CriticalLink {
                step: definition.code.clone(),
                owner: definition.owner.clone(),
                from,
                to,
                seconds,
            });
            from = to;
        }
        let total_seconds = links.iter().map(|l| l.seconds).sum();
        Some(ActualCriticalPath { links, total_seconds })
    }

    /// Plan against actual for every step, in the template's order.
    pub fn step_reports(&self, now: Instant) -> Vec<StepReport> {
        let template = self.template();
        let planned_chain = template.planned_critical_path().steps;
        let actual_chain: Vec<String> =
            self.actual_critical_path().map(|p| p.links.into_iter().map(|l| l.step).collect()).unwrap_or_default();
        let ready: Vec<Option<Instant>> = (0..template.steps().len()).map(|i| self.ready_at(i)).collect();
        let successors = graph::successors_of(template.all_prerequisites());
        template
            .steps()
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let progress = &self.progress()[i];
                let issued_at = self.issued_at(i);
                let planned_finish_minute = template.planned_finish(i);
                let delay_seconds = self.delay(i, planned_finish_minute, now);
                StepReport {
                    code: step.code.clone(),
                    name: step.name.clone(),
                    owner: step.owner.clone(),
                    status: status(issued_at, progress.started_at, ready[i]),
                    pre_reviewed_at: progress.pre_reviewed_at,
                    started_at: progress.started_at,
                    issued_at,
                    document_no: progress.issued.as_ref().map(|issue| issue.document_no.clone()),
                    planned_minutes: step.planned_minutes,
                    planned_start_minute: planned_finish_minute - u64::from(step.planned_minutes),
                    planned_finish_minute,
                    planned_slack_minutes: template.planned_slack(i),
                    on_planned_critical_path: planned_chain.contains(&step.code),
                    ready_at: ready[i],
                    actual_seconds: seconds_between(ready[i], issued_at),
                    actual_finish_seconds: seconds_between(self.transaction_at(), issued_at),
                    delay_seconds,
                    late: delay_seconds.is_some_and(|d| d > 0),
                    free_slack_seconds: free_slack(i == template.end(), issued_at, &successors[i], &ready),
                    on_actual_critical_path: actual_chain.contains(&step.code),
                }
            })
            .collect()
    }

    /// Plan against actual per owning unit, in order of first appearance in the template.
    pub fn department_reports(&self, now: Instant) -> Vec<DepartmentReport> {
        let steps = self.step_reports(now);
        let critical = self.actual_critical_path();
        let mut order: Vec<String> = Vec::new();
        let mut by_owner: BTreeMap<String, DepartmentReport> = BTreeMap::new();
        for step in &steps {
            let report = by_owner.entry(step.owner.clone()).or_insert_with(|| {
                order.push(step.owner.clone());
                empty_department(&step.owner)
            });
            report.steps += 1;
            report.issued += usize::from(step.issued_at.is_some());
            report.late += usize::from(step.late);
            report.planned_minutes += u64::from(step.planned_minutes);
            report.actual_seconds += step.actual_seconds.unwrap_or(0);
            if step.on_planned_critical_path {
                report.planned_critical_minutes += u64::from(step.planned_minutes);
            }
        }
        for link in critical.iter().flat_map(|c| &c.links) {
            if let Some(report) = by_owner.get_mut(&link.owner) {
                report.actual_critical_seconds += link.seconds;
            }
        }
        order.iter().filter_map(|owner| by_owner.remove(owner)).collect()
    }

    /// The steps late against plan at `now`.
    pub fn late_steps(&self, now: Instant) -> Vec<StepReport> {
        self.step_reports(now).into_iter().filter(|s| s.late).collect()
    }

    /// When the transaction and every prerequisite of `step` had happened.
    fn ready_at(&self, step: usize) -> Option<Instant> {
        let mut ready = self.transaction_at()?;
        for &p in self.template().prerequisites_of(step) {
            ready = ready.max(self.issued_at(p)?);
        }
        Some(ready)
    }

    fn delay(&self, step: usize, planned_finish_minute: u64, now: Instant) -> Option<i64> {
        let transaction_at = self.transaction_at()?;
        let planned = i64::try_from(planned_finish_minute).ok()?.checked_mul(60)?;
        match self.issued_at(step) {
            Some(issued) => Some((issued - transaction_at).num_seconds() - planned),
            None => Some((now - transaction_at).num_seconds() - planned).filter(|&overdue| overdue > 0),
        }
    }
}

/// Across projects, how often each step (by code) was late; the most often first.
pub fn late_step_counts(plans: &[ApprovalPlan], now: Instant) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for plan in plans {
        for step in plan.late_steps(now) {
            *counts.entry(step.code).or_default() += 1;
        }
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

fn status(issued: Option<Instant>, started: Option<Instant>, ready: Option<Instant>) -> StepStatus {
    match (issued, started, ready) {
        (Some(_), _, _) => StepStatus::Issued,
        (None, Some(_), _) => StepStatus::InProgress,
        (None, None, Some(_)) => StepStatus::Ready,
        (None, None, None) => StepStatus::Waiting,
    }
}

fn seconds_between(from: Option<Instant>, to: Option<Instant>) -> Option<i64> {
    Some((to? - from?).num_seconds())
}

/// The least gap between this step's issue and the readiness of a successor.
fn free_slack(is_end: bool, issued: Option<Instant>, successors: &[usize], ready: &[Option<Instant>]) -> Option<i64> {
    let issued = issued?;
    if is_end {
        return Some(0);
    }
    successors.iter().filter_map(|&s| ready[s]).map(|r| (r - issued).num_seconds()).min()
}

fn empty_department(owner: &str) -> DepartmentReport {
    DepartmentReport {
        owner: owner.to_owned(),
        steps: 0,
        issued: 0,
        late: 0,
        planned_minutes: 0,
        actual_seconds: 0,
        planned_critical_minutes: 0,
        actual_critical_seconds: 0,
    }
}
