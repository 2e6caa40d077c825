//! The plan template as a table of rows (the page's editor): each row a step
//! as typed — code, name, document, owner, planned minutes as text, the rows
//! it waits for, whether its pre-review may come before the sale — plus which
//! row is the end step, each row's 序号 and whether it is to be deleted.
//! [`TemplateRows::arranged`] applies the 序号 and deletions, and
//! [`TemplateRows::template`] reads the rows into a [`PlanTemplate`] through
//! the same whole-template check as the TOML text, a refusal naming the row
//! and field it is about.

use std::collections::BTreeSet;

use super::codes;
use super::template::{MAX_PLANNED_MINUTES, MAX_STEPS, PlanTemplate, StepField, StepTemplate, TemplateFault};
use crate::error::DomainError;

/// Rows the table takes at most (the steps and blank rows for new ones).
pub const MAX_ROWS: usize = MAX_STEPS + 20;

/// The highest 序号 the table reads.
const MAX_ORDER: usize = 999;

/// One step as typed in the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepRow {
    pub code: String,
    pub name: String,
    pub document: String,
    pub owner: String,
    /// Planned minutes as typed.
    pub planned_minutes: String,
    /// The rows (indices in the table) this step waits for.
    pub prerequisites: BTreeSet<usize>,
    pub pre_review: bool,
    /// The 序号 typed to move the row (blank: where it is).
    pub order: String,
    pub delete: bool,
}

impl StepRow {
    /// Nothing typed: a new row left empty, skipped.
    pub fn is_blank(&self) -> bool {
        [&self.code, &self.name, &self.document, &self.owner, &self.planned_minutes].iter().all(|v| v.trim().is_empty())
            && self.prerequisites.is_empty()
    }

    /// What the page calls the row in a message: its code, or 「第N行」.
    fn label(&self, row: usize) -> String {
        match self.code.trim() {
            "" => format!("第{}行", row + 1),
            code => code.chars().take(40).collect(),
        }
    }
}

/// The template as a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRows {
    pub code: String,
    pub name: String,
    pub steps: Vec<StepRow>,
    /// The row chosen as the end step, if one is.
    pub end: Option<usize>,
}

impl TemplateRows {
    /// The rows of a template (its end step chosen).
    pub fn of(template: &PlanTemplate) -> Self {
        let steps = template.steps();
        let index = |code: &String| steps.iter().position(|s| &s.code == code);
        let rows = steps
            .iter()
            .map(|s| StepRow {
                code: s.code.clone(),
                name: s.name.clone(),
                document: s.document.clone().unwrap_or_default(),
                owner: s.owner.clone(),
                planned_minutes: s.planned_minutes.to_string(),
                prerequisites: s.prerequisites.iter().filter_map(index).collect(),
                pre_review: s.pre_review,
                order: String::new(),
                delete: false,
            })
            .collect();
        Self {
            code: template.code().to_owned(),
            name: template.name().to_owned(),
            steps: rows,
            end: Some(template.end_index()),
        }
    }

    /// Appends up to `n` blank rows (never beyond [`MAX_ROWS`]).
    pub fn add_blank_rows(&mut self, n: usize) {
        let room = MAX_ROWS.saturating_sub(self.steps.len());
        self.steps.extend(std::iter::repeat_with(StepRow::default).take(n.min(room)));
    }

    /// The rows in the order their 序号 say (a row without one keeps its
    /// place; equal numbers keep the table's order), deleted rows dropped and
    /// every reference to them with them; the 序号 cleared. A row moved up to a
    /// place comes before the row already there, one moved down after it. A 序号 that is not
    /// a number from 1 to 999 is refused at its row.
    pub fn arranged(&self) -> Result<Self, TemplateFault> {
        let mut keyed = Vec::with_capacity(self.steps.len());
        for (i, row) in self.steps.iter().enumerate() {
            let place = match row.order.trim() {
                "" => i + 1,
                typed => typed.parse::<usize>().ok().filter(|n| (1..=MAX_ORDER).contains(n)).ok_or_else(|| {
                    TemplateFault::at(
                        i,
                        StepField::Order,
                        DomainError::invalid(codes::INVALID_APPROVAL_TEMPLATE, format!("序号应为1到{MAX_ORDER}的整数")),
                    )
                })?,
            };
            if !row.delete {
                // A row moved up to a place comes before the row already there, one moved down after it.
                keyed.push(((place, place.cmp(&(i + 1)), i), i));
            }
        }
        keyed.sort();
        let old: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
        let new_index = |i: usize| old.iter().position(|&o| o == i);
        let steps = old
            .iter()
            .map(|&i| {
                let row = &self.steps[i];
                StepRow {
                    prerequisites: row.prerequisites.iter().filter_map(|&p| new_index(p)).collect(),
                    order: String::new(),
                    ..row.clone()
                }
            })
            .collect();
        Ok(Self { code: self.code.clone(), name: self.name.clone(), steps, end: self.end.and_then(new_index) })
    }

    /// The template the rows say (blank rows skipped; 序号 and deletion are
    /// [`TemplateRows::arranged`]'s), checked as a whole like the TOML text
    /// and every owner against `is_known_unit`; the chosen end step must be
    /// the one no other step waits for. A refusal names the row (an index
    /// into these rows) and the field.
    pub fn template(&self, is_known_unit: impl Fn(&str) -> bool) -> Result<PlanTemplate, TemplateFault> {
        let kept: Vec<usize> = (0..self.steps.len()).filter(|&i| !self.steps[i].is_blank()).collect();
        let compact = |row: usize| kept.iter().position(|&k| k == row);
        let mut steps = Vec::with_capacity(kept.len());
        for &i in &kept {
            let row = &self.steps[i];
            let planned_minutes =
                row.planned_minutes.trim().parse::<u32>().ok().filter(|m| *m <= MAX_PLANNED_MINUTES).ok_or_else(
                    || {
                        let message =
                            format!("步骤“{}”的计划用时应为0到{MAX_PLANNED_MINUTES}的整数（分钟）", row.label(i));
                        let error = DomainError::invalid(codes::INVALID_PLANNED_DURATION, message);
                        TemplateFault::at(i, StepField::PlannedMinutes, error)
                    },
                )?;
            let mut prerequisites = Vec::with_capacity(row.prerequisites.len());
            for &p in &row.prerequisites {
                if compact(p).is_none() {
                    let message = format!("步骤“{}”的前置步骤是第{}行，该行是空行或不存在", row.label(i), p + 1);
                    let error = DomainError::invalid(codes::UNKNOWN_PREREQUISITE, message);
                    return Err(TemplateFault::at(i, StepField::Prerequisites, error));
                }
                prerequisites.push(self.steps[p].code.trim().to_owned());
            }
            let document = Some(row.document.trim()).filter(|d| !d.is_empty()).map(str::to_owned);
            steps.push(StepTemplate {
                code: row.code.trim().to_owned(),
                name: row.name.trim().to_owned(),
                document,
                owner: row.owner.trim().to_owned(),
                prerequisites,
                planned_minutes,
                pre_review: row.pre_review,
            });
        }
        let in_rows = |fault: TemplateFault| TemplateFault { step: fault.step.map(|s| kept[s]), ..fault };
        let template = PlanTemplate::checked(self.code.trim(), self.name.trim(), steps).map_err(in_rows)?;
        template.check_owners(is_known_unit).map_err(in_rows)?;
        if let Some(end) = self.end {
            let chosen = compact(end).ok_or_else(|| {
                let error = DomainError::invalid(
                    codes::END_STEP_NOT_LAST,
                    format!("终点步骤选在了第{}行，该行是空行", end + 1),
                );
                TemplateFault::at(end, StepField::End, error)
            })?;
            if chosen != template.end_index() {
                let steps = template.steps();
                let waiting = steps.iter().find(|s| s.prerequisites.contains(&steps[chosen].code));
                let message = match waiting {
                    Some(w) => format!("步骤“{}”被选为终点步骤，但步骤“{}”以它为前置步骤", steps[chosen].name, w.name),
                    None => format!("步骤“{}”被选为终点步骤，但它不是最后一步", steps[chosen].name),
                };
                let error = DomainError::invalid(codes::END_STEP_NOT_LAST, message);
                return Err(TemplateFault::at(end, StepField::End, error));
            }
        }
        Ok(template)
    }
}
