//! Validating an item's values against its type (what an Excel import calls
//! per row), checking the key's code rule, and computing computed fields.

use std::collections::BTreeMap;

use rust_decimal::RoundingStrategy;
use serde::Serialize;
use serde_json::Value as Json;

use super::code_rule::{CodeRule, RuleContext};
use super::codes;
use super::types::{FieldKind, LedgerType};
use super::value::{FieldValue, InputContext, OrgLookup, Values, parse_input, shorten};
use crate::expr::{self, Record};

/// Most input entries accepted for one item (fields plus stray columns).
const MAX_INPUT_ENTRIES: usize = 400;

/// One refused field of one item: what the import's error report shows (the caller adds the row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field code, or the input key when it names no field.
    pub field: String,
    /// The field's Chinese label (the Excel column header).
    pub label: String,
    /// The input as given, shortened to 50 characters.
    pub value: String,
    pub code: &'static str,
    /// Why, in Chinese.
    pub message: String,
}

impl LedgerType {
    /// Validates an item's input values, keyed by field code or Chinese label. Returns the typed
    /// values with computed fields filled in, or every field error found (nothing partial).
    ///
    /// Empty strings and nulls are missing values. Values given for computed fields are ignored
    /// (an exported sheet can be imported back). Unknown keys are errors.
    ///
    /// # Errors
    ///
    /// One [`FieldError`] per refused field.
    pub fn validate_item(
        &self,
        input: &BTreeMap<String, Json>,
        orgs: &dyn OrgLookup,
    ) -> Result<Values, Vec<FieldError>> {
        let mut errors = Vec::new();
        if input.len() > MAX_INPUT_ENTRIES {
            errors.push(self.error("", "", codes::FIELD_UNKNOWN, format!("列数过多（最多{MAX_INPUT_ENTRIES}列）")));
            return Err(errors);
        }
        let by_code = self.route_input(input, &mut errors);
        let ctx = InputContext { lists: self.lists(), orgs };
        let mut values = Values::new();
        for field in self.fields().iter().filter(|f| !f.is_computed()) {
            let raw = by_code.get(field.code.as_str()).copied();
            match raw.map(|json| parse_input(&field.kind, json, &ctx)).transpose() {
                Ok(Some(Some(value))) => {
                    values.insert(field.code.clone(), value);
                }
                Ok(_) if field.required => {
                    errors.push(self.error(&field.code, "", codes::FIELD_REQUIRED, "必填项未填写"));
                }
                Ok(_) => {}
                Err(issue) => errors.push(self.error(&field.code, &shown(raw), issue.code, issue.reason)),
            }
        }
        match self.check_key(&values) {
            Ok(Some(normalised)) => {
                values.insert(self.key_field().code.clone(), FieldValue::Text(normalised));
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        if errors.is_empty()
            && let Err(mut e) = self.compute(&mut values)
        {
            errors.append(&mut e);
        }
        if errors.is_empty() { Ok(values) } else { Err(errors) }
    }

    /// Validates typed values again, e.g. after an edit or under a new version of the type.
    ///
    /// # Errors
    ///
    /// As [`LedgerType::validate_item`].
    pub fn revalidate(&self, values: &Values, orgs: &dyn OrgLookup) -> Result<Values, Vec<FieldError>> {
        let input: BTreeMap<String, Json> = values.iter().map(|(k, v)| (k.clone(), v.to_input())).collect();
        self.validate_item(&input, orgs)
    }

    /// Maps input keys (codes or labels) to field codes; unknown and doubled keys become errors.
    fn route_input<'a>(
        &self,
        input: &'a BTreeMap<String, Json>,
        errors: &mut Vec<FieldError>,
    ) -> BTreeMap<&str, &'a Json> {
        let mut by_code: BTreeMap<&str, &Json> = BTreeMap::new();
        for (key, json) in input {
            match self.resolve_field(key.trim()) {
                Some(field) => {
                    if by_code.insert(field.code.as_str(), json).is_some() {
                        let message = format!("「{}」出现了两次（按编码和名称各一次）", field.label);
                        errors.push(self.error(&field.code, &shown(Some(json)), codes::FIELD_DUPLICATE, message));
                    }
                }
                None => {
                    let mut e = self.error(key, &shown(Some(json)), codes::FIELD_UNKNOWN, "台账没有这个字段");
                    e.label = shorten(key);
                    errors.push(e);
                }
            }
        }
        by_code
    }

    /// Checks the key against the code rule, when the type has one; returns the normalised key.
    fn check_key(&self, values: &Values) -> Result<Option<String>, FieldError> {
        let key = self.key_field();
        let (Some(rule), Some(FieldValue::Text(code))) = (self.key_rule(), values.get(&key.code)) else {
            return Ok(None);
        };
        let normalised = CodeRule::normalise(code);
        let ctx = ItemRuleContext { ty: self, values };
        match rule.check(&normalised, &ctx) {
            Ok(()) => Ok(Some(normalised)),
            Err(reason) => Err(self.error(&key.code, code, codes::KEY_CODE_INVALID, reason)),
        }
    }

    /// Computes every computed field from the others, in declared order. A missing result removes the value.
    ///
    /// # Errors
    ///
    /// One [`FieldError`] per field whose expression fails (e.g. `expr_division_by_zero`).
    pub fn compute(&self, values: &mut Values) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for field in self.fields() {
            let FieldKind::Computed { formula, precision, .. } = &field.kind else { continue };
            let result = formula.eval(&ValuesRecord { ty: self, values });
            match result {
                Ok(value) => match to_field_value(value, *precision) {
                    Some(v) => {
                        values.insert(field.code.clone(), v);
                    }
                    None => {
                        values.remove(&field.code);
                    }
                },
                Err(e) => {
                    values.remove(&field.code);
                    errors.push(self.error(&field.code, "", e.code, format!("无法计算：{}", e.message)));
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// The item's key, normalised.
    pub fn key_of(&self, values: &Values) -> Option<String> {
        match values.get(&self.key_field().code) {
            Some(FieldValue::Text(code)) if self.key_rule().is_some() => Some(CodeRule::normalise(code)),
            Some(v) => Some(v.as_text()),
            None => None,
        }
    }

    /// A value as people read it: choice names instead of codes, units appended.
    pub fn display_value(&self, field: &str, value: &FieldValue) -> String {
        let kind = self.field(field).map(|f| &f.kind);
        match (kind, value) {
            (Some(FieldKind::Choice { list }), FieldValue::Choice(code)) => {
                self.list(list).and_then(|l| l.name_of(code)).map_or_else(|| code.clone(), str::to_owned)
            }
            (Some(kind), FieldValue::Integer(_) | FieldValue::Decimal(_)) => match kind.unit() {
                Some(unit) => format!("{}{unit}", value.as_text()),
                None => value.as_text(),
            },
            _ => value.as_text(),
        }
    }

    fn error(&self, field: &str, value: &str, code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            label: self.label_of(field).to_owned(),
            value: shorten(value),
            code,
            message: message.into(),
        }
    }
}

fn shown(raw: Option<&Json>) -> String {
    match raw {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => shorten(s),
        Some(other) => shorten(&other.to_string()),
    }
}

fn to_field_value(value: expr::Value, precision: Option<u32>) -> Option<FieldValue> {
    Some(match value {
        expr::Value::Null => return None,
        expr::Value::Number(n) => FieldValue::Decimal(match precision {
            Some(p) => n.round_dp_with_strategy(p, RoundingStrategy::MidpointAwayFromZero),
            None => n.normalize(),
        }),
        expr::Value::Text(s) => FieldValue::Text(s),
        expr::Value::Bool(b) => FieldValue::Bool(b),
        expr::Value::Date(d) => FieldValue::Date(d),
    })
}

/// Item values as an expression record, by field code or label.
struct ValuesRecord<'a> {
    ty: &'a LedgerType,
    values: &'a Values,
}

impl Record for ValuesRecord<'_> {
    fn value(&self, name: &str) -> expr::Value {
        self.ty
            .resolve_field(name)
            .and_then(|f| self.values.get(&f.code))
            .map_or(expr::Value::Null, FieldValue::to_expr)
    }
}

struct ItemRuleContext<'a> {
    ty: &'a LedgerType,
    values: &'a Values,
}

impl RuleContext for ItemRuleContext<'_> {
    fn list_has(&self, list: &str, code: &str) -> bool {
        self.ty.list(list).is_some_and(|l| l.has_code(code))
    }

    fn field_text(&self, field: &str) -> Option<String> {
        self.values.get(field).map(FieldValue::as_text)
    }

    fn field_label(&self, field: &str) -> String {
        self.ty.label_of(field).to_owned()
    }
}
