//! The approval plan template (审批计划模板): steps, owners, prerequisites
//! and planned durations, kept as data and validated as a whole.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::codes;
use super::graph::{self, Times};
use crate::error::DomainError;

/// The bundled template of the demo city (`data/approval_plan.toml`).
pub const BUNDLED_APPROVAL_PLAN: &str = include_str!("../../data/approval_plan.toml");

/// Templates longer than this are refused before parsing.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// At most this many steps in one template.
pub const MAX_STEPS: usize = 100;
/// A planned duration may not exceed a year, in minutes.
pub const MAX_PLANNED_MINUTES: u32 = 366 * 24 * 60;

const MAX_CODE_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 100;

/// One approval step (审批事项) as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTemplate {
    /// Stable ASCII code, e.g. `construction_permit`.
    pub code: String,
    /// The approval's name, e.g. `建筑工程施工许可`.
    pub name: String,
    /// The document issued, e.g. `建筑工程施工许可证`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Code of the unit that owns (issues) the step.
    pub owner: String,
    /// Codes of the steps that must be issued first.
    #[serde(default)]
    pub prerequisites: Vec<String>,
    /// Planned minutes from the moment every prerequisite is issued (the
    /// transaction, for a step without prerequisites) to this step's issue.
    pub planned_minutes: u32,
    /// Whether its pre-review (容缺预审) may be done before the land sale.
    #[serde(default)]
    pub pre_review: bool,
}

/// A step's place in the planned schedule, in minutes from the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    pub code: String,
    pub planned_minutes: u32,
    pub earliest_start: u64,
    pub earliest_finish: u64,
    pub latest_start: u64,
    pub latest_finish: u64,
    /// Total float (时差): how many minutes the step may slip without delaying the permit.
    pub slack: u64,
    pub critical: bool,
}

/// The planned critical path (关键路径): the longest chain by planned duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCriticalPath {
    /// Step codes from the first step to the permit.
    pub steps: Vec<String>,
    /// Its length, which is the planned time to the permit.
    pub minutes: u64,
}

/// A validated template: steps in file order, a DAG with one end step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTemplate {
    code: String,
    name: String,
    steps: Vec<StepTemplate>,
    prerequisites: Vec<Vec<usize>>,
    end: usize,
    times: Vec<Times>,
}

impl PlanTemplate {
    /// Validates the steps: at least one and at most [`MAX_STEPS`]; codes and
    /// names well formed; codes unique (`duplicate_step`); every owner given
    /// (`missing_owner`); durations in range (`invalid_planned_duration`);
    /// every prerequisite a step of the template (`unknown_prerequisite`);
    /// no cycle (`prerequisite_cycle`, naming it); exactly one end step, the
    /// one no other step waits for (`multiple_end_steps`).
    pub fn new(code: &str, name: &str, steps: Vec<StepTemplate>) -> Result<Self, DomainError> {
        check_code(code, "模板编码")?;
        check_name(name, "模板名称")?;
        if steps.is_empty() {
            return Err(DomainError::invalid(codes::EMPTY_APPROVAL_TEMPLATE, "审批计划模板没有任何步骤"));
        }
        if steps.len() > MAX_STEPS {
            return Err(invalid(format!("审批计划模板最多{MAX_STEPS}个步骤，实际{}个", steps.len())));
        }
        let index = index_steps(&steps)?;
        let prerequisites = resolve_prerequisites(&steps, &index)?;
        let order = graph::topological_order(&prerequisites).map_err(|cycle| cycle_error(&steps, &cycle))?;
        let end = single_end(&steps, &prerequisites)?;
        let durations: Vec<u64> = steps.iter().map(|s| u64::from(s.planned_minutes)).collect();
        let times = graph::schedule(&order, &prerequisites, &durations);
        Ok(Self { code: code.to_owned(), name: name.to_owned(), steps, prerequisites, end, times })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The steps in the template's own order.
    pub fn steps(&self) -> &[StepTemplate] {
        &self.steps
    }

    /// The index of the step with this code.
    pub fn step_index(&self, code: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.code == code)
    }

    /// The end step (normally the construction permit).
    pub fn end_step(&self) -> &StepTemplate {
        &self.steps[self.end]
    }

    /// Checks every owner against the organisation (`unknown_owner`).
    pub fn validate_owners(&self, is_known_unit: impl Fn(&str) -> bool) -> Result<(), DomainError> {
        match self.steps.iter().find(|s| !is_known_unit(&s.owner)) {
            Some(step) => Err(DomainError::invalid(
                codes::UNKNOWN_OWNER,
                format!("步骤“{}”的负责单位“{}”不在组织架构中", step.name, step.owner),
            )),
            None => Ok(()),
        }
    }

    /// The planned time from the transaction to the permit, in minutes.
    pub fn planned_total_minutes(&self) -> u64 {
        self.times[self.end].earliest_finish
    }

    /// Every step's planned times and slack, in the template's order.
    pub fn schedule(&self) -> Vec<PlannedStep> {
        self.steps
            .iter()
            .zip(&self.times)
            .map(|(step, t)| PlannedStep {
                code: step.code.clone(),
                planned_minutes: step.planned_minutes,
                earliest_start: t.earliest_start,
                earliest_finish: t.earliest_finish,
                latest_start: t.latest_start,
                latest_finish: t.latest_finish,
                slack: t.latest_start - t.earliest_start,
                critical: t.latest_start == t.earliest_start,
            })
            .collect()
    }

    /// The longest chain by planned duration, ending at the permit. On a tie
    /// the prerequisite listed first is followed.
    pub fn planned_critical_path(&self) -> PlannedCriticalPath {
        let chain = graph::chain_back(self.end, &self.prerequisites, |i| self.times[i].earliest_finish);
        PlannedCriticalPath {
            steps: chain.iter().map(|&i| self.steps[i].code.clone()).collect(),
            minutes: self.planned_total_minutes(),
        }
    }

    pub(super) fn prerequisites_of(&self, step: usize) -> &[usize] {
        &self.prerequisites[step]
    }

    pub(super) fn all_prerequisites(&self) -> &[Vec<usize>] {
        &self.prerequisites
    }

    pub(super) fn end(&self) -> usize {
        self.end
    }

    pub(super) fn planned_finish(&self, step: usize) -> u64 {
        self.times[step].earliest_finish
    }

    pub(super) fn planned_slack(&self, step: usize) -> u64 {
        self.times[step].latest_start - self.times[step].earliest_start
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    code: String,
    name: String,
    #[serde(default)]
    step: Vec<StepTemplate>,
}

/// Parses and validates a template in the format of `data/approval_plan.toml`:
/// `code`, `name`, then `[[step]]` blocks with `code`, `name`, optional
/// `document`, `owner`, `prerequisites`, `planned_minutes`, `pre_review`.
/// Text over [`MAX_TEMPLATE_BYTES`] is refused before parsing.
pub fn parse_template_toml(text: &str) -> Result<PlanTemplate, DomainError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(invalid(format!("审批计划模板不能超过{}KB", MAX_TEMPLATE_BYTES / 1024)));
    }
    let raw: RawTemplate = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1));
        let detail = e.message().trim().to_owned();
        match line {
            Some(line) => invalid(format!("审批计划模板第{line}行格式错误：{detail}")),
            None => invalid(format!("审批计划模板格式错误：{detail}")),
        }
    })?;
    PlanTemplate::new(&raw.code, &raw.name, raw.step)
}

fn index_steps(steps: &[StepTemplate]) -> Result<BTreeMap<&str, usize>, DomainError> {
    let mut index = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        check_code(&step.code, "步骤编码")?;
        check_name(&step.name, &format!("步骤“{}”的名称", step.code))?;
        if let Some(document) = &step.document {
            check_name(document, &format!("步骤“{}”的文书名称", step.code))?;
        }
        if step.owner.trim().is_empty() {
            return Err(DomainError::invalid(codes::MISSING_OWNER, format!("步骤“{}”没有指定负责单位", step.name)));
        }
        check_code(&step.owner, &format!("步骤“{}”的负责单位编码", step.name))?;
        if step.planned_minutes > MAX_PLANNED_MINUTES {
            return Err(DomainError::invalid(
                codes::INVALID_PLANNED_DURATION,
                format!("步骤“{}”的计划用时{}分钟超过上限{MAX_PLANNED_MINUTES}分钟", step.name, step.planned_minutes),
            ));
        }
        if index.insert(step.code.as_str(), i).is_some() {
            return Err(DomainError::invalid(codes::DUPLICATE_STEP, format!("步骤编码“{}”重复", step.code)));
        }
    }
    Ok(index)
}

fn resolve_prerequisites(
    steps: &[StepTemplate],
    index: &BTreeMap<&str, usize>,
) -> Result<Vec<Vec<usize>>, DomainError> {
    let mut all = Vec::with_capacity(steps.len());
    for step in steps {
        let mut seen = BTreeSet::new();
        let mut resolved = Vec::with_capacity(step.prerequisites.len());
        for code in &step.prerequisites {
            let Some(&p) = index.get(code.as_str()) else {
                return Err(DomainError::invalid(
                    codes::UNKNOWN_PREREQUISITE,
                    format!("步骤“{}”的前置步骤“{}”不存在", step.name, shorten(code)),
                ));
            };
            if !seen.insert(p) {
                return Err(invalid(format!("步骤“{}”的前置步骤“{code}”重复列出", step.name)));
            }
            resolved.push(p);
        }
        all.push(resolved);
    }
    Ok(all)
}

fn cycle_error(steps: &[StepTemplate], cycle: &[usize]) -> DomainError {
    let names: Vec<&str> = cycle.iter().map(|&i| steps[i].name.as_str()).collect();
    DomainError::invalid(
        codes::PREREQUISITE_CYCLE,
        format!("审批步骤的前置关系存在循环：{}（箭头由前置步骤指向后续步骤）", names.join(" → ")),
    )
}

fn single_end(steps: &[StepTemplate], prerequisites: &[Vec<usize>]) -> Result<usize, DomainError> {
    let required: BTreeSet<usize> = prerequisites.iter().flatten().copied().collect();
    let ends: Vec<usize> = (0..steps.len()).filter(|i| !required.contains(i)).collect();
    match ends.as_slice() {
        [end] => Ok(*end),
        _ => {
            let names: Vec<&str> = ends.iter().map(|&i| steps[i].name.as_str()).collect();
            Err(DomainError::invalid(
                codes::MULTIPLE_END_STEPS,
                format!(
                    "审批计划必须以唯一的步骤（施工许可证）结束，现有{}个终点步骤：{}；请把它们设为终点步骤的前置步骤",
                    ends.len(),
                    names.join("、")
                ),
            ))
        }
    }
}

fn check_code(code: &str, what: &str) -> Result<(), DomainError> {
    let well_formed = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what}“{}”不合规：须为1至{MAX_CODE_CHARS}个小写字母、数字、下划线或连字符",
            shorten(code)
        )))
    }
}

fn check_name(name: &str, what: &str) -> Result<(), DomainError> {
    if name.trim().is_empty() {
        return Err(invalid(format!("{what}不能为空")));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(format!("{what}不能超过{MAX_NAME_CHARS}个字，也不能含控制字符")));
    }
    Ok(())
}

/// Quotes at most 40 characters of outside input in a message.
fn shorten(text: &str) -> String {
    let mut short: String = text.chars().filter(|c| !c.is_control()).take(40).collect();
    if text.chars().count() > 40 {
        short.push('…');
    }
    short
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_APPROVAL_TEMPLATE, message)
}
