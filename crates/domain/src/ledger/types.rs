//! A checked ledger type: its fields, key rule, code lists and stages, built
//! from a [`LedgerTypeDef`] only if every rule of the format holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::code_rule::{CodeRule, MAX_CODE_CHARS};
use super::codes;
use super::def::{
    CheckAlgorithm, CodeItemDef, CodeListDef, FieldDef, FieldKindName, LedgerTypeDef, MoveDef, SegmentChars,
    SegmentDef, StageDef,
};
use crate::error::DomainError;
use crate::expr::{ExprType, Formula};

/// Largest ledger type file accepted, in bytes.
pub const MAX_TYPE_BYTES: usize = 256 * 1024;
const MAX_FIELDS: usize = 200;
const MAX_STAGES: usize = 50;
const MAX_MOVES: usize = 500;
const MAX_LISTS: usize = 100;
const MAX_LIST_ITEMS: usize = 1000;
const MAX_TEXT_LEN: u32 = 10_000;
const MAX_PRECISION: u32 = 10;
const MAX_SEGMENTS: usize = 20;

/// What a field holds, with its checked attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text { max_len: u32 },
    Integer { min: Option<Decimal>, max: Option<Decimal>, unit: Option<String> },
    Decimal { min: Option<Decimal>, max: Option<Decimal>, precision: u32, unit: Option<String> },
    Date,
    DateTime,
    Choice { list: String },
    Unit,
    Town,
    Enterprise,
    Point,
    File,
    Computed { formula: Formula, precision: Option<u32>, unit: Option<String> },
}

impl FieldKind {
    pub fn name(&self) -> FieldKindName {
        match self {
            Self::Text { .. } => FieldKindName::Text,
            Self::Integer { .. } => FieldKindName::Integer,
            Self::Decimal { .. } => FieldKindName::Decimal,
            Self::Date => FieldKindName::Date,
            Self::DateTime => FieldKindName::Datetime,
            Self::Choice { .. } => FieldKindName::Choice,
            Self::Unit => FieldKindName::Unit,
            Self::Town => FieldKindName::Town,
            Self::Enterprise => FieldKindName::Enterprise,
            Self::Point => FieldKindName::Point,
            Self::File => FieldKindName::File,
            Self::Computed { .. } => FieldKindName::Computed,
        }
    }

    /// The type expressions see, or `None` when expressions cannot read the field.
    pub fn expr_type(&self) -> Option<ExprType> {
        match self {
            Self::Text { .. } | Self::Choice { .. } | Self::Unit | Self::Town | Self::Enterprise | Self::File => {
                Some(ExprType::Text)
            }
            Self::Integer { .. } | Self::Decimal { .. } => Some(ExprType::Number),
            Self::Date => Some(ExprType::Date),
            Self::Computed { formula, .. } => Some(formula.ty()),
            Self::DateTime | Self::Point => None,
        }
    }

    pub fn unit(&self) -> Option<&str> {
        match self {
            Self::Integer { unit, .. } | Self::Decimal { unit, .. } | Self::Computed { unit, .. } => unit.as_deref(),
            _ => None,
        }
    }
}

/// A checked field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub code: String,
    pub label: String,
    pub required: bool,
    pub help: Option<String>,
    pub kind: FieldKind,
}

impl Field {
    pub fn is_computed(&self) -> bool {
        matches!(self.kind, FieldKind::Computed { .. })
    }
}

/// A checked code list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeList {
    pub code: String,
    pub name: String,
    pub items: Vec<CodeItemDef>,
}

impl CodeList {
    /// The item whose code (ASCII case ignored) or name is `text`.
    pub fn find(&self, text: &str) -> Option<&CodeItemDef> {
        self.items
            .iter()
            .find(|i| i.code.eq_ignore_ascii_case(text))
            .or_else(|| self.items.iter().find(|i| i.name == text))
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.items.iter().any(|i| i.code == code)
    }

    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.items.iter().find(|i| i.code == code).map(|i| i.name.as_str())
    }
}

/// A ledger type (台账类型) ready to validate items, check stage moves and compute fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerType {
    def: LedgerTypeDef,
    fields: Vec<Field>,
    by_code: HashMap<String, usize>,
    by_label: HashMap<String, usize>,
    key_field: usize,
    key_rule: Option<CodeRule>,
    lists: BTreeMap<String, CodeList>,
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::LEDGER_TYPE_INVALID, message)
}

/// A stable ASCII code: a lower-case letter, then lower-case letters, digits or `_`; at most 40.
pub fn is_code(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 40
}

fn check_name(what: &str, name: &str, max: usize) -> Result<(), DomainError> {
    let count = name.trim().chars().count();
    if count == 0 || count > max || name.trim() != name {
        return Err(invalid(format!("{what}不能为空、不能有首尾空格，且最多{max}个字符：「{name}」")));
    }
    Ok(())
}

impl LedgerType {
    /// Parses and checks a ledger type file.
    ///
    /// # Errors
    ///
    /// `ledger_type_invalid` with the line of a TOML error, or the rule broken.
    pub fn from_toml(text: &str) -> Result<Self, DomainError> {
        if text.len() > MAX_TYPE_BYTES {
            return Err(invalid(format!("台账类型文件过大（最多{}KB）", MAX_TYPE_BYTES / 1024)));
        }
        let def: LedgerTypeDef = toml::from_str(text).map_err(|e| {
            let line = e.span().and_then(|s| text.get(..s.start)).map(|before| before.matches('\n').count() + 1);
            let detail = e.message().trim().to_owned();
            match line {
                Some(line) => invalid(format!("台账类型文件第{line}行格式错误：{detail}")),
                None => invalid(format!("台账类型文件格式错误：{detail}")),
            }
        })?;
        Self::from_def(def)
    }

    /// The type as a TOML file.
    ///
    /// # Errors
    ///
    /// `ledger_type_invalid` if serialisation fails (it does not for a checked type).
    pub fn to_toml(&self) -> Result<String, DomainError> {
        toml::to_string_pretty(&self.def).map_err(|e| invalid(format!("台账类型无法写出：{e}")))
    }

    /// Checks a definition and builds the type.
    ///
    /// # Errors
    ///
    /// `ledger_type_invalid` naming the rule broken, in Chinese.
    pub fn from_def(def: LedgerTypeDef) -> Result<Self, DomainError> {
        if !is_code(&def.code) {
            return Err(invalid(format!("台账类型编码「{}」应为小写字母开头的字母、数字或下划线", def.code)));
        }
        check_name("台账类型名称", &def.name, 50)?;
        if def.version == 0 {
            return Err(invalid("版本号应从1开始"));
        }
        let lists = build_lists(&def.code_lists)?;
        let fields = build_fields(&def.fields, &lists)?;
        let by_code: HashMap<String, usize> = fields.iter().enumerate().map(|(i, f)| (f.code.clone(), i)).collect();
        let by_label: HashMap<String, usize> = fields.iter().enumerate().map(|(i, f)| (f.label.clone(), i)).collect();
        let Some(&key_field) = by_code.get(&def.key.field) else {
            return Err(invalid(format!("主键字段「{}」不存在", def.key.field)));
        };
        let mut ty = Self { fields, by_code, by_label, key_field, key_rule: None, lists, def };
        ty.check_key_def()?;
        ty.check_stages()?;
        Ok(ty)
    }

    fn check_key_def(&mut self) -> Result<(), DomainError> {
        let key = &self.fields[self.key_field];
        let FieldKind::Text { max_len } = key.kind else {
            return Err(invalid(format!("主键字段「{}」应为文本字段", key.label)));
        };
        if let Some(rule) = &self.def.key.rule {
            check_rule_def(rule.segments.as_slice(), rule.check, &rule.name, self)?;
            let rule = CodeRule { def: rule.clone() };
            if rule.len() > usize::try_from(max_len).unwrap_or(usize::MAX) {
                return Err(invalid(format!("主键字段「{}」的最大长度小于编码规则的长度{}", key.label, rule.len())));
            }
            self.key_rule = Some(rule);
        }
        if let Some(field) = self.fields.get_mut(self.key_field) {
            field.required = true;
        }
        Ok(())
    }

    fn check_stages(&self) -> Result<(), DomainError> {
        let stages = &self.def.stages;
        if stages.len() > MAX_STAGES || self.def.moves.len() > MAX_MOVES {
            return Err(invalid(format!("阶段最多{MAX_STAGES}个，流转最多{MAX_MOVES}条")));
        }
        let mut codes_seen = BTreeSet::new();
        let mut names_seen = BTreeSet::new();
        for stage in stages {
            check_stage(stage, self)?;
            if !codes_seen.insert(stage.code.as_str()) || !names_seen.insert(stage.name.as_str()) {
                return Err(invalid(format!("阶段「{}」（{}）重复", stage.name, stage.code)));
            }
        }
        let mut pairs = BTreeSet::new();
        for mv in &self.def.moves {
            check_move(mv, &codes_seen)?;
            if !pairs.insert((mv.from.as_str(), mv.to.as_str())) {
                return Err(invalid(format!("流转 {} → {} 重复定义", mv.from, mv.to)));
            }
        }
        Ok(())
    }

    pub fn code(&self) -> &str {
        &self.def.code
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn version(&self) -> u32 {
        self.def.version
    }

    /// The definition this type was built from.
    pub fn def(&self) -> &LedgerTypeDef {
        &self.def
    }

    /// Fields in their declared order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn field(&self, code: &str) -> Option<&Field> {
        self.by_code.get(code).and_then(|&i| self.fields.get(i))
    }

    /// A field by its code, or else by its Chinese label (an Excel header).
    pub fn resolve_field(&self, code_or_label: &str) -> Option<&Field> {
        self.field(code_or_label).or_else(|| self.by_label.get(code_or_label).and_then(|&i| self.fields.get(i)))
    }

    pub fn key_field(&self) -> &Field {
        // key_field is an index checked in from_def.
        &self.fields[self.key_field]
    }

    pub fn key_rule(&self) -> Option<&CodeRule> {
        self.key_rule.as_ref()
    }

    pub fn lists(&self) -> &BTreeMap<String, CodeList> {
        &self.lists
    }

    pub fn list(&self, code: &str) -> Option<&CodeList> {
        self.lists.get(code)
    }

    /// Stages in their declared order; the first is where new items start.
    pub fn stages(&self) -> &[StageDef] {
        &self.def.stages
    }

    pub fn stage(&self, code: &str) -> Option<&StageDef> {
        self.def.stages.iter().find(|s| s.code == code)
    }

    pub fn initial_stage(&self) -> Option<&StageDef> {
        self.def.stages.first()
    }

    pub fn moves(&self) -> &[MoveDef] {
        &self.def.moves
    }

    /// The label of a field code, or the code itself when the type has no such field.
    pub fn label_of<'a>(&'a self, code: &'a str) -> &'a str {
        self.field(code).map_or(code, |f| f.label.as_str())
    }
}

fn build_lists(defs: &[CodeListDef]) -> Result<BTreeMap<String, CodeList>, DomainError> {
    if defs.len() > MAX_LISTS {
        return Err(invalid(format!("代码表最多{MAX_LISTS}个")));
    }
    let mut lists = BTreeMap::new();
    for def in defs {
        if !is_code(&def.code) {
            return Err(invalid(format!("代码表编码「{}」应为小写字母开头的字母、数字或下划线", def.code)));
        }
        check_name("代码表名称", &def.name, 50)?;
        if def.items.is_empty() || def.items.len() > MAX_LIST_ITEMS {
            return Err(invalid(format!("代码表「{}」应有1到{MAX_LIST_ITEMS}项", def.name)));
        }
        let mut codes_seen = BTreeSet::new();
        let mut names_seen = BTreeSet::new();
        for item in &def.items {
            let code_ok = !item.code.is_empty()
                && item.code.chars().count() <= 32
                && !item.code.chars().any(|c| c.is_whitespace() || c.is_control());
            if !code_ok {
                return Err(invalid(format!(
                    "代码表「{}」的代码「{}」不能为空、不能含空白，最多32个字符",
                    def.name, item.code
                )));
            }
            check_name(&format!("代码表「{}」的名称", def.name), &item.name, 50)?;
            if !codes_seen.insert(item.code.to_ascii_uppercase()) || !names_seen.insert(item.name.as_str()) {
                return Err(invalid(format!("代码表「{}」中「{} {}」重复", def.name, item.code, item.name)));
            }
        }
        let list = CodeList { code: def.code.clone(), name: def.name.clone(), items: def.items.clone() };
        if lists.insert(def.code.clone(), list).is_some() {
            return Err(invalid(format!("代码表「{}」重复定义", def.code)));
        }
    }
    Ok(lists)
}

fn build_fields(defs: &[FieldDef], lists: &BTreeMap<String, CodeList>) -> Result<Vec<Field>, DomainError> {
    if defs.is_empty() || defs.len() > MAX_FIELDS {
        return Err(invalid(format!("字段应有1到{MAX_FIELDS}个")));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(defs.len());
    let mut labels = BTreeSet::new();
    for def in defs {
        if !is_code(&def.code) || !crate::expr::is_plain_identifier(&def.code) {
            return Err(invalid(format!(
                "字段编码「{}」应为小写字母开头的字母、数字或下划线，且不能是关键字",
                def.code
            )));
        }
        check_name(&format!("字段「{}」的名称", def.code), &def.label, 50)?;
        if fields.iter().any(|f| f.code == def.code) || !labels.insert(def.label.clone()) {
            return Err(invalid(format!("字段「{}」（{}）的编码或名称重复", def.label, def.code)));
        }
        if defs.iter().any(|other| other.code == def.label) {
            return Err(invalid(format!("字段名称「{}」与某个字段的编码相同，引用时会混淆", def.label)));
        }
        let kind = build_kind(def, lists, &fields)?;
        if def.required && matches!(kind, FieldKind::Computed { .. }) {
            return Err(invalid(format!("计算字段「{}」不能设为必填", def.label)));
        }
        fields.push(Field {
            code: def.code.clone(),
            label: def.label.clone(),
            required: def.required,
            help: def.help.clone(),
            kind,
        });
    }
    Ok(fields)
}

/// Which attributes each kind may carry, so a stray one is refused instead of ignored.
fn allowed_attrs(kind: FieldKindName) -> &'static [&'static str] {
    match kind {
        FieldKindName::Text => &["max_len"],
        FieldKindName::Integer => &["min", "max", "unit"],
        FieldKindName::Decimal => &["min", "max", "unit", "precision"],
        FieldKindName::Choice => &["list"],
        FieldKindName::Computed => &["expr", "unit", "precision"],
        _ => &[],
    }
}

fn present_attrs(def: &FieldDef) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |present: bool, name| {
        if present {
            out.push(name);
        }
    };
    add(def.max_len.is_some(), "max_len");
    add(def.min.is_some(), "min");
    add(def.max.is_some(), "max");
    add(def.unit.is_some(), "unit");
    add(def.precision.is_some(), "precision");
    add(def.list.is_some(), "list");
    add(def.expr.is_some(), "expr");
    out
}

fn build_kind(def: &FieldDef, lists: &BTreeMap<String, CodeList>, earlier: &[Field]) -> Result<FieldKind, DomainError> {
    let label = &def.label;
    if let Some(bad) = present_attrs(def).into_iter().find(|a| !allowed_attrs(def.kind).contains(a)) {
        return Err(invalid(format!("字段「{label}」是{}字段，不能设置 {bad}", def.kind.label())));
    }
    if let Some(unit) = &def.unit {
        check_name(&format!("字段「{label}」的单位"), unit, 20)?;
    }
    let kind = match def.kind {
        FieldKindName::Text => {
            let max_len = def
                .max_len
                .filter(|n| (1..=MAX_TEXT_LEN).contains(n))
                .ok_or_else(|| invalid(format!("文本字段「{label}」须设置 max_len（1到{MAX_TEXT_LEN}）")))?;
            FieldKind::Text { max_len }
        }
        FieldKindName::Integer => {
            check_bounds(label, def.min, def.max)?;
            if def.min.is_some_and(|m| !m.fract().is_zero()) || def.max.is_some_and(|m| !m.fract().is_zero()) {
                return Err(invalid(format!("整数字段「{label}」的 min/max 应为整数")));
            }
            FieldKind::Integer { min: def.min, max: def.max, unit: def.unit.clone() }
        }
        FieldKindName::Decimal => {
            check_bounds(label, def.min, def.max)?;
            let precision = def.precision.filter(|p| *p <= MAX_PRECISION).ok_or_else(|| {
                invalid(format!("小数字段「{label}」须设置 precision（小数位数，0到{MAX_PRECISION}）"))
            })?;
            FieldKind::Decimal { min: def.min, max: def.max, precision, unit: def.unit.clone() }
        }
        FieldKindName::Date => FieldKind::Date,
        FieldKindName::Datetime => FieldKind::DateTime,
        FieldKindName::Choice => {
            let list = def.list.clone().unwrap_or_default();
            if !lists.contains_key(&list) {
                return Err(invalid(format!("选项字段「{label}」的代码表「{list}」不存在")));
            }
            FieldKind::Choice { list }
        }
        FieldKindName::Unit => FieldKind::Unit,
        FieldKindName::Town => FieldKind::Town,
        FieldKindName::Enterprise => FieldKind::Enterprise,
        FieldKindName::Point => FieldKind::Point,
        FieldKindName::File => FieldKind::File,
        FieldKindName::Computed => build_computed(def, earlier)?,
    };
    Ok(kind)
}

fn check_bounds(label: &str, min: Option<Decimal>, max: Option<Decimal>) -> Result<(), DomainError> {
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(invalid(format!("字段「{label}」的 min 大于 max")));
    }
    Ok(())
}

/// A computed field reads the fields declared before it, by code or by label, so there are no cycles.
fn build_computed(def: &FieldDef, earlier: &[Field]) -> Result<FieldKind, DomainError> {
    let label = &def.label;
    let Some(source) = &def.expr else {
        return Err(invalid(format!("计算字段「{label}」须设置 expr")));
    };
    let schema = ComputeSchema { earlier };
    let formula = Formula::compile(source, &schema)
        .map_err(|e| DomainError::invalid(e.code, format!("计算字段「{label}」的表达式有误：{}", e.message)))?;
    if let Some(p) = def.precision
        && (formula.ty() != ExprType::Number || p > MAX_PRECISION)
    {
        return Err(invalid(format!("计算字段「{label}」的 precision 只适用于数字结果，且不超过{MAX_PRECISION}")));
    }
    Ok(FieldKind::Computed { formula, precision: def.precision, unit: def.unit.clone() })
}

/// The schema a computed field is checked against: the fields declared before it.
struct ComputeSchema<'a> {
    earlier: &'a [Field],
}

impl crate::expr::Schema for ComputeSchema<'_> {
    fn field_type(&self, name: &str) -> Option<ExprType> {
        self.earlier.iter().find(|f| f.code == name || f.label == name).and_then(|f| f.kind.expr_type())
    }
}

fn check_stage(stage: &StageDef, ty: &LedgerType) -> Result<(), DomainError> {
    if !is_code(&stage.code) {
        return Err(invalid(format!("阶段编码「{}」应为小写字母开头的字母、数字或下划线", stage.code)));
    }
    check_name("阶段名称", &stage.name, 30)?;
    for field in &stage.requires {
        if ty.field(field).is_none() {
            return Err(invalid(format!("阶段「{}」要求的字段「{field}」不存在", stage.name)));
        }
    }
    Ok(())
}

fn check_move(mv: &MoveDef, stages: &BTreeSet<&str>) -> Result<(), DomainError> {
    if !stages.contains(mv.from.as_str()) || !stages.contains(mv.to.as_str()) {
        return Err(invalid(format!("流转 {} → {} 引用了不存在的阶段", mv.from, mv.to)));
    }
    if mv.from == mv.to {
        return Err(invalid(format!("流转 {} → {} 的起止阶段相同", mv.from, mv.to)));
    }
    if mv.roles.is_empty() || mv.roles.iter().any(|r| !is_code(r)) {
        return Err(invalid(format!("流转 {} → {} 须列出允许的角色（小写英文编码）", mv.from, mv.to)));
    }
    if let Some(name) = &mv.name {
        check_name("流转名称", name, 20)?;
    }
    Ok(())
}

fn check_rule_def(
    segments: &[SegmentDef],
    check: Option<CheckAlgorithm>,
    name: &str,
    ty: &LedgerType,
) -> Result<(), DomainError> {
    check_name("编码规则名称", name, 50)?;
    if segments.is_empty() || segments.len() > MAX_SEGMENTS {
        return Err(invalid(format!("编码规则「{name}」应有1到{MAX_SEGMENTS}段")));
    }
    let total: usize = segments.iter().map(|s| usize::from(s.len)).sum::<usize>() + usize::from(check.is_some());
    if total > MAX_CODE_CHARS {
        return Err(invalid(format!("编码规则「{name}」总长度不能超过{MAX_CODE_CHARS}")));
    }
    if check == Some(CheckAlgorithm::Gb32100) && total != 18 {
        return Err(invalid(format!("编码规则「{name}」使用统一社会信用代码校验，总长度应为18")));
    }
    for seg in segments {
        check_segment_def(seg, ty)?;
    }
    Ok(())
}

fn check_segment_def(seg: &SegmentDef, ty: &LedgerType) -> Result<(), DomainError> {
    check_name("编码段名称", &seg.name, 30)?;
    let len = usize::from(seg.len);
    if !(1..=32).contains(&len) || (seg.chars == SegmentChars::Division && len != 6) {
        return Err(invalid(format!("编码段「{}」的长度应为1到32（行政区划代码为6）", seg.name)));
    }
    let fits = |code: &str| {
        code.chars().count() == len
            && code.chars().all(|c| match seg.chars {
                SegmentChars::Digits | SegmentChars::Division => c.is_ascii_digit(),
                SegmentChars::Upper => c.is_ascii_uppercase(),
                SegmentChars::Alnum => c.is_ascii_digit() || c.is_ascii_uppercase(),
            })
    };
    if let Some(literal) = &seg.literal
        && !fits(literal)
    {
        return Err(invalid(format!("编码段「{}」的固定值「{literal}」与长度或字符类型不符", seg.name)));
    }
    if let Some(list) = &seg.list {
        let Some(list) = ty.list(list) else {
            return Err(invalid(format!("编码段「{}」引用的代码表「{list}」不存在", seg.name)));
        };
        if let Some(bad) = list.items.iter().find(|i| !fits(&i.code)) {
            return Err(invalid(format!("代码表「{}」的代码「{}」放不进编码段「{}」", list.name, bad.code, seg.name)));
        }
    }
    if let Some(field) = &seg.equals_field {
        match ty.field(field) {
            Some(f) if !f.is_computed() => {}
            _ => return Err(invalid(format!("编码段「{}」引用的字段「{field}」不存在或是计算字段", seg.name))),
        }
    }
    Ok(())
}
