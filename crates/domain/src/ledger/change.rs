//! Whether a change of ledger type is safe for the items already stored,
//! needs a migration of those items (recorded as an event by the store), or
//! must be refused because it would invalidate them silently.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codes;
use super::def::FieldKindName;
use super::types::{Field, FieldKind, LedgerType};
use super::validate::FieldError;
use super::value::{FieldValue, OrgLookup, Values};
use crate::error::DomainError;

/// What the stored items of a type hold, per field: enough to judge a type change without
/// reading every item. The store computes it (or builds it with [`StoredSummary::from_items`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSummary {
    pub items: u64,
    /// By field code.
    pub fields: BTreeMap<String, FieldUsage>,
    /// Item counts by stage code.
    pub stages: BTreeMap<String, u64>,
}

/// How one field is used by the stored items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldUsage {
    /// Items with a value.
    pub filled: u64,
    /// Longest text, in characters.
    pub max_chars: u64,
    /// Item counts by choice code.
    pub choices: BTreeMap<String, u64>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    /// Most decimal places in use.
    pub max_scale: u32,
}

impl StoredSummary {
    /// Builds the summary from `(stage, values)` pairs.
    pub fn from_items<'a>(items: impl IntoIterator<Item = (&'a str, &'a Values)>) -> Self {
        let mut summary = Self::default();
        for (stage, values) in items {
            summary.items += 1;
            *summary.stages.entry(stage.to_owned()).or_default() += 1;
            for (code, value) in values {
                summary.fields.entry(code.clone()).or_default().add(value);
            }
        }
        summary
    }

    fn usage(&self, field: &str) -> FieldUsage {
        self.fields.get(field).cloned().unwrap_or_default()
    }
}

impl FieldUsage {
    fn add(&mut self, value: &FieldValue) {
        self.filled += 1;
        let number = match value {
            FieldValue::Text(s) => {
                self.max_chars = self.max_chars.max(u64::try_from(s.chars().count()).unwrap_or(u64::MAX));
                None
            }
            FieldValue::Choice(code) => {
                *self.choices.entry(code.clone()).or_default() += 1;
                None
            }
            FieldValue::Integer(i) => Some(Decimal::from(*i)),
            FieldValue::Decimal(d) => Some(*d),
            _ => None,
        };
        if let Some(n) = number {
            self.min = Some(self.min.map_or(n, |m| m.min(n)));
            self.max = Some(self.max.map_or(n, |m| m.max(n)));
            self.max_scale = self.max_scale.max(n.normalize().scale());
        }
    }
}

/// The overall decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Stored items stay valid as they are.
    Safe,
    /// Stored items must be migrated (see the findings); the store records the migration.
    Migrate,
    /// The change would invalidate stored items.
    Refuse,
}

/// A migration step for stored items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", content = "field", rename_all = "snake_case")]
pub enum Migration {
    /// Remove the field's values.
    DropField(String),
    /// Recompute the computed field.
    RecomputeField(String),
    /// Integer values become decimals.
    IntegerToDecimal(String),
    /// Check every key against the new code rule (refuse the change if any fails).
    RevalidateKeys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "migration", rename_all = "snake_case")]
pub enum ChangeAction {
    Safe,
    Migrate(Migration),
    Refuse,
}

/// One observation about the change, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFinding {
    pub field: Option<String>,
    pub action: ChangeAction,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    pub verdict: Verdict,
    pub findings: Vec<ChangeFinding>,
}

impl ChangeReport {
    /// The migration steps, in order.
    pub fn migrations(&self) -> Vec<&Migration> {
        self.findings
            .iter()
            .filter_map(|f| match &f.action {
                ChangeAction::Migrate(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// `Ok(self)` unless refused.
    ///
    /// # Errors
    ///
    /// `ledger_type_change_refused` (409) listing every reason.
    pub fn into_result(self) -> Result<Self, DomainError> {
        if self.verdict != Verdict::Refuse {
            return Ok(self);
        }
        let reasons: Vec<&str> =
            self.findings.iter().filter(|f| f.action == ChangeAction::Refuse).map(|f| f.message.as_str()).collect();
        Err(DomainError::conflict(codes::TYPE_CHANGE_REFUSED, format!("台账类型不能这样修改：{}", reasons.join("；"))))
    }
}

struct Findings(Vec<ChangeFinding>);

impl Findings {
    fn add(&mut self, field: Option<&str>, action: ChangeAction, message: String) {
        self.0.push(ChangeFinding { field: field.map(str::to_owned), action, message });
    }

    fn safe(&mut self, field: &str, message: String) {
        self.add(Some(field), ChangeAction::Safe, message);
    }

    fn refuse(&mut self, field: Option<&str>, message: String) {
        self.add(field, ChangeAction::Refuse, message);
    }

    fn migrate(&mut self, field: Option<&str>, migration: Migration, message: String) {
        self.add(field, ChangeAction::Migrate(migration), message);
    }
}

/// Judges changing `old` into `new` while items summarised by `stored` exist.
pub fn check_type_change(old: &LedgerType, new: &LedgerType, stored: &StoredSummary) -> ChangeReport {
    let mut f = Findings(Vec::new());
    if old.code() != new.code() {
        f.refuse(None, format!("台账类型编码不能修改（{} → {}）", old.code(), new.code()));
    }
    if new.version() <= old.version() {
        f.refuse(None, format!("新版本号应大于{}，这里是{}", old.version(), new.version()));
    }
    for field in old.fields() {
        match new.field(&field.code) {
            None => removed_field(field, stored, &mut f),
            Some(next) => changed_field(old, field, new, next, stored, &mut f),
        }
    }
    for field in new.fields().iter().filter(|n| old.field(&n.code).is_none()) {
        added_field(field, stored, &mut f);
    }
    key_change(old, new, stored, &mut f);
    stage_change(old, new, stored, &mut f);
    let verdict = if f.0.iter().any(|x| x.action == ChangeAction::Refuse) {
        Verdict::Refuse
    } else if f.0.iter().any(|x| matches!(x.action, ChangeAction::Migrate(_))) {
        Verdict::Migrate
    } else {
        Verdict::Safe
    };
    ChangeReport { verdict, findings: f.0 }
}

fn removed_field(field: &Field, stored: &StoredSummary, f: &mut Findings) {
    let used = stored.usage(&field.code).filled;
    if used == 0 || field.is_computed() {
        f.safe(&field.code, format!("删除字段「{}」（没有台账填写该字段）", field.label));
    } else {
        f.migrate(
            Some(&field.code),
            Migration::DropField(field.code.clone()),
            format!("删除字段「{}」：已有{used}条台账填写了该字段，迁移时清除这些值并记入变更记录", field.label),
        );
    }
}

fn added_field(field: &Field, stored: &StoredSummary, f: &mut Findings) {
    if field.is_computed() {
        f.migrate(
            Some(&field.code),
            Migration::RecomputeField(field.code.clone()),
            format!("新增计算字段「{}」：为已有台账计算", field.label),
        );
    } else if field.required && stored.items > 0 {
        f.refuse(
            Some(&field.code),
            format!(
                "新增必填字段「{}」：已有{}条台账没有该值；请先作为选填字段添加，补齐后再改为必填",
                field.label, stored.items
            ),
        );
    } else {
        f.safe(&field.code, format!("新增字段「{}」", field.label));
    }
}

fn changed_field(
    old_ty: &LedgerType,
    old: &Field,
    new_ty: &LedgerType,
    new: &Field,
    stored: &StoredSummary,
    f: &mut Findings,
) {
    let usage = stored.usage(&old.code);
    let label = &new.label;
    if old.label != new.label {
        f.safe(&new.code, format!("字段名称「{}」改为「{label}」", old.label));
    }
    if new.required && !old.required && usage.filled < stored.items && !new.is_computed() {
        let missing = stored.items - usage.filled;
        f.refuse(Some(&new.code), format!("字段「{label}」改为必填：已有{missing}条台账未填写"));
    }
    if old.kind.name() != new.kind.name() {
        kind_change(old, new, &usage, f);
        return;
    }
    match (&old.kind, &new.kind) {
        (FieldKind::Text { .. }, FieldKind::Text { max_len }) if usage.max_chars > u64::from(*max_len) => {
            f.refuse(
                Some(&new.code),
                format!("字段「{label}」最大长度改为{max_len}：已有台账的值长达{}个字符", usage.max_chars),
            );
        }
        (FieldKind::Integer { unit: old_unit, .. }, FieldKind::Integer { min, max, unit })
        | (FieldKind::Decimal { unit: old_unit, .. }, FieldKind::Decimal { min, max, unit, .. }) => {
            numeric_change(label, &new.code, (old_unit, unit), (*min, *max), &usage, f);
            if let FieldKind::Decimal { precision, .. } = new.kind
                && usage.max_scale > precision
            {
                f.refuse(
                    Some(&new.code),
                    format!("字段「{label}」小数位数改为{precision}：已有台账的值有{}位小数", usage.max_scale),
                );
            }
        }
        (FieldKind::Choice { list: old_list }, FieldKind::Choice { list }) => {
            choice_change(label, &new.code, old_ty, old_list, new_ty, list, &usage, f);
        }
        (
            FieldKind::Computed { formula: a, precision: pa, .. },
            FieldKind::Computed { formula: b, precision: pb, .. },
        ) if a.source() != b.source() || pa != pb => {
            f.migrate(
                Some(&new.code),
                Migration::RecomputeField(new.code.clone()),
                format!("计算字段「{label}」的公式或精度改变：为已有台账重新计算"),
            );
        }
        _ => {}
    }
}

fn kind_change(old: &Field, new: &Field, usage: &FieldUsage, f: &mut Findings) {
    let (from, to) = (old.kind.name(), new.kind.name());
    let label = &new.label;
    if new.is_computed() {
        let message = format!("字段「{label}」改为计算字段：为已有台账计算");
        if usage.filled > 0 && !old.is_computed() {
            f.refuse(Some(&new.code), format!("字段「{label}」改为计算字段会覆盖已有{}条台账填写的值", usage.filled));
        } else {
            f.migrate(Some(&new.code), Migration::RecomputeField(new.code.clone()), message);
        }
    } else if usage.filled == 0 || old.is_computed() {
        f.safe(&new.code, format!("字段「{label}」类型由{}改为{}（没有台账填写该字段）", from.label(), to.label()));
    } else if from == FieldKindName::Integer && to == FieldKindName::Decimal {
        f.migrate(
            Some(&new.code),
            Migration::IntegerToDecimal(new.code.clone()),
            format!("字段「{label}」由整数改为小数：已有{}条台账的值随之转换", usage.filled),
        );
        if let FieldKind::Decimal { min, max, .. } = new.kind {
            numeric_change(label, &new.code, (&None, &None), (min, max), usage, f);
        }
    } else {
        f.refuse(
            Some(&new.code),
            format!(
                "字段「{label}」类型由{}改为{}：已有{}条台账有值，不能直接改类型",
                from.label(),
                to.label(),
                usage.filled
            ),
        );
    }
}

fn numeric_change(
    label: &str,
    code: &str,
    (old_unit, unit): (&Option<String>, &Option<String>),
    (min, max): (Option<Decimal>, Option<Decimal>),
    usage: &FieldUsage,
    f: &mut Findings,
) {
    if usage.filled > 0 && old_unit != unit && old_unit.is_some() {
        let show = |u: &Option<String>| u.clone().unwrap_or_else(|| "无".to_owned());
        f.refuse(
            Some(code),
            format!("字段「{label}」单位由「{}」改为「{}」会改变已有数值的含义", show(old_unit), show(unit)),
        );
    }
    if let (Some(min), Some(stored)) = (min, usage.min)
        && stored < min
    {
        f.refuse(Some(code), format!("字段「{label}」最小值改为{min}：已有台账的值小到{stored}"));
    }
    if let (Some(max), Some(stored)) = (max, usage.max)
        && stored > max
    {
        f.refuse(Some(code), format!("字段「{label}」最大值改为{max}：已有台账的值大到{stored}"));
    }
}

#[allow(clippy::too_many_arguments)]
fn choice_change(
    label: &str,
    code: &str,
    old_ty: &LedgerType,
    old_list: &str,
    new_ty: &LedgerType,
    list: &str,
    usage: &FieldUsage,
    f: &mut Findings,
) {
    let Some(new_list) = new_ty.list(list) else { return };
    for (choice, count) in &usage.choices {
        if !new_list.has_code(choice) {
            let name = old_ty.list(old_list).and_then(|l| l.name_of(choice)).unwrap_or(choice.as_str());
            f.refuse(Some(code), format!("字段「{label}」的选项「{choice} {name}」已被{count}条台账使用，不能删除"));
        }
    }
    let old_list = old_ty.list(old_list);
    let new_count = new_list.items.iter().filter(|i| old_list.is_none_or(|l| !l.has_code(&i.code))).count();
    if new_count > 0 {
        f.safe(code, format!("字段「{label}」新增{new_count}个选项"));
    }
}

fn key_change(old: &LedgerType, new: &LedgerType, stored: &StoredSummary, f: &mut Findings) {
    if stored.items == 0 {
        return;
    }
    let key = &new.key_field().code;
    if old.key_field().code != *key {
        f.refuse(Some(key), format!("已有{}条台账，主键字段不能更换", stored.items));
        return;
    }
    // Adding codes to a list a segment uses cannot invalidate a key; removing one can.
    let codes_removed = old.key_rule().is_some_and(|rule| {
        rule.def.segments.iter().filter_map(|s| s.list.as_deref()).any(|list| {
            let (before, after) = (old.list(list), new.list(list));
            before.is_some_and(|b| b.items.iter().any(|i| after.is_none_or(|a| !a.has_code(&i.code))))
        })
    });
    let rule_changed = old.key_rule().map(|r| &r.def) != new.key_rule().map(|r| &r.def);
    if rule_changed || codes_removed {
        f.migrate(
            Some(key),
            Migration::RevalidateKeys,
            format!("编码规则改变：须用新规则逐条核对已有{}条台账的编码，有不符合的则不能修改", stored.items),
        );
    }
}

fn stage_change(old: &LedgerType, new: &LedgerType, stored: &StoredSummary, f: &mut Findings) {
    for stage in old.stages() {
        let count = stored.stages.get(&stage.code).copied().unwrap_or(0);
        match new.stage(&stage.code) {
            None if count > 0 => {
                f.refuse(None, format!("阶段「{}」下还有{count}条台账，不能删除该阶段", stage.name));
            }
            Some(next) if next.requires.iter().any(|r| !stage.requires.contains(r)) && count > 0 => {
                f.add(
                    None,
                    ChangeAction::Safe,
                    format!("阶段「{}」新增了必填要求：已在该阶段的{count}条台账不受影响，之后转入的须满足", next.name),
                );
            }
            _ => {}
        }
    }
}

/// Migrates one stored item to `new`: drops values of fields the new type does not have, then
/// validates again (converting integers to decimals and recomputing computed fields).
///
/// # Errors
///
/// The item's field errors under the new type: the store refuses the change when any item fails.
pub fn migrate_item(new: &LedgerType, values: &Values, orgs: &dyn OrgLookup) -> Result<Values, Vec<FieldError>> {
    let kept: Values = values
        .iter()
        .filter(|(code, _)| new.field(code).is_some_and(|f| !f.is_computed()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    new.revalidate(&kept, orgs)
}
