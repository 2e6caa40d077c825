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

/// The field of a step a refusal is about (the page shows the message beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepField {
    Code,
    Name,
    Document,
    Owner,
    Prerequisites,
    PlannedMinutes,
    PreReview,
    /// Whether the step is the end step (the form's choice).
    End,
    /// The row's place in the table (the form's 序号).
    Order,
}

impl StepField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Name => "name",
            Self::Document => "document",
            Self::Owner => "owner",
            Self::Prerequisites => "prerequisites",
            Self::PlannedMinutes => "planned_minutes",
            Self::PreReview => "pre_review",
            Self::End => "end",
            Self::Order => "order",
        }
    }
}

/// A refused template and where it is wrong: the step (its index among the
/// steps given) and the field, when one step is to blame; neither when the
/// template as a whole is (its code or name, no steps, too many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFault {
    pub error: DomainError,
    pub step: Option<usize>,
    pub field: Option<StepField>,
}

impl TemplateFault {
    pub fn at(step: usize, field: StepField, error: DomainError) -> Self {
        Self { error, step: Some(step), field: Some(field) }
    }

    fn whole(error: DomainError) -> Self {
        Self { error, step: None, field: None }
    }
}

impl From<TemplateFault> for DomainError {
    fn from(fault: TemplateFault) -> Self {
        fault.error
    }
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
        Ok(Self::checked(code, name, steps)?)
    }

    /// As [`PlanTemplate::new`], the refusal naming the step and field to blame.
    pub fn checked(code: &str, name: &str, steps: Vec<StepTemplate>) -> Result<Self, TemplateFault> {
        check_code(code, "模板编码").map_err(TemplateFault::whole)?;
        check_name(name, "模板名称").map_err(TemplateFault::whole)?;
        if steps.is_empty() {
            let empty = DomainError::invalid(codes::EMPTY_APPROVAL_TEMPLATE, "审批计划模板没有任何步骤");
            return Err(TemplateFault::whole(empty));
        }
        if steps.len() > MAX_STEPS {
            let message = format!("审批计划模板最多{MAX_STEPS}个步骤，实际{}个", steps.len());
            return Err(TemplateFault::whole(invalid(message)));
        }
        let index = index_steps(&steps)?;
        let prerequisites = resolve_prerequisites(&steps, &index)?;
        let order = graph::topological_order(&prerequisites).map_err(|cycle| {
            TemplateFault::at(
                cycle.first().copied().unwrap_or(0),
                StepField::Prerequisites,
                cycle_error(&steps, &cycle),
            )
        })?;
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
        Ok(self.check_owners(is_known_unit)?)
    }

    /// As [`PlanTemplate::validate_owners`], the refusal naming the step.
    pub fn check_owners(&self, is_known_unit: impl Fn(&str) -> bool) -> Result<(), TemplateFault> {
        match self.steps.iter().position(|s| !is_known_unit(&s.owner)) {
            Some(i) => Err(TemplateFault::at(
                i,
                StepField::Owner,
                DomainError::invalid(
                    codes::UNKNOWN_OWNER,
                    format!("步骤“{}”的负责单位“{}”不在组织架构中", self.steps[i].name, self.steps[i].owner),
                ),
            )),
            None => Ok(()),
        }
    }

    /// Whether `other` says the same: code, name and steps, each step's
    /// prerequisites taken as a set (a table lists them in row order).
    pub fn same_as(&self, other: &PlanTemplate) -> bool {
        let sorted = |t: &PlanTemplate| -> Vec<StepTemplate> {
            t.steps
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    s.prerequisites.sort();
                    s
                })
                .collect()
        };
        self.code == other.code && self.name == other.name && sorted(self) == sorted(other)
    }

    /// The index of the end step.
    pub fn end_index(&self) -> usize {
        self.end
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

/// The template as TOML in the format [`parse_template_toml`] reads (without
/// comments); parsing it answers an equal template.
pub fn template_toml(template: &PlanTemplate) -> Result<String, DomainError> {
    #[derive(Serialize)]
    struct Out<'a> {
        code: &'a str,
        name: &'a str,
        step: &'a [StepTemplate],
    }
    let out = Out { code: &template.code, name: &template.name, step: &template.steps };
    toml::to_string(&out).map_err(|e| invalid(format!("审批计划模板无法写成 TOML：{e}")))
}

fn index_steps(steps: &[StepTemplate]) -> Result<BTreeMap<&str, usize>, TemplateFault> {
    let mut index = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let at = |field| move |error| TemplateFault::at(i, field, error);
        check_code(&step.code, "步骤编码").map_err(at(StepField::Code))?;
        check_name(&step.name, &format!("步骤“{}”的名称", step.code)).map_err(at(StepField::Name))?;
        if let Some(document) = &step.document {
            check_name(document, &format!("步骤“{}”的文书名称", step.code)).map_err(at(StepField::Document))?;
        }
        if step.owner.trim().is_empty() {
            let missing = DomainError::invalid(codes::MISSING_OWNER, format!("步骤“{}”没有指定负责单位", step.name));
            return Err(at(StepField::Owner)(missing));
        }
        check_code(&step.owner, &format!("步骤“{}”的负责单位编码", step.name)).map_err(at(StepField::Owner))?;
        if step.planned_minutes > MAX_PLANNED_MINUTES {
            return Err(at(StepField::PlannedMinutes)(DomainError::invalid(
                codes::INVALID_PLANNED_DURATION,
                format!("步骤“{}”的计划用时{}分钟超过上限{MAX_PLANNED_MINUTES}分钟", step.name, step.planned_minutes),
            )));
        }
        if index.insert(step.code.as_str(), i).is_some() {
            let duplicate = DomainError::invalid(codes::DUPLICATE_STEP, format!("步骤编码“{}”重复", step.code));
            return Err(at(StepField::Code)(duplicate));
        }
    }
    Ok(index)
}

fn resolve_prerequisites(
    steps: &[StepTemplate],
    index: &BTreeMap<&str, usize>,
) -> Result<Vec<Vec<usize>>, TemplateFault> {
    let mut all = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let at = |error| TemplateFault::at(i, StepField::Prerequisites, error);
        let mut seen = BTreeSet::new();
        let mut resolved = Vec::with_capacity(step.prerequisites.len());
        for code in &step.prerequisites {
            let Some(&p) = index.get(code.as_str()) else {
                return Err(at(DomainError::invalid(
                    codes::UNKNOWN_PREREQUISITE,
                    format!("步骤“{}”的前置步骤“{}”不存在", step.name, shorten(code)),
                )));
            };
            if !seen.insert(p) {
                return Err(at(invalid(format!("步骤“{}”的前置步骤“{code}”重复列出", step.name))));
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

/// The one step no other waits for; when there are several, the refusal
/// names them and is placed at the last (the end step is usually listed last:
/// the others are to be its prerequisites).
fn single_end(steps: &[StepTemplate], prerequisites: &[Vec<usize>]) -> Result<usize, TemplateFault> {
    let required: BTreeSet<usize> = prerequisites.iter().flatten().copied().collect();
    let ends: Vec<usize> = (0..steps.len()).filter(|i| !required.contains(i)).collect();
    match ends.as_slice() {
        [end] => Ok(*end),
        _ => {
            let names: Vec<&str> = ends.iter().map(|&i| steps[i].name.as_str()).collect();
            let last = ends.last().copied().unwrap_or(0);
            Err(TemplateFault::at(
                last,
                StepField::Prerequisites,
                DomainError::invalid(
                    codes::MULTIPLE_END_STEPS,
                    format!(
                        "审批计划必须以唯一的步骤（施工许可证）结束，现有{}个终点步骤：{}；请把它们设为终点步骤的前置步骤",
                        ends.len(),
                        names.join("、")
                    ),
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
