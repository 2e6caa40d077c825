//! An award measure (扶持措施): the applicant data it needs, its eligibility
//! rule (资格条件) and award formula (奖励公式) in the expression language,
//! and an optional cap (上限).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::codes;
use super::money::{fen_to_yuan, yuan_to_fen};
use crate::error::DomainError;
use crate::expr::{ExprType, Formula, Schema, Value};
use crate::validation::required_text;

/// A measure asks for at most this many data fields.
pub const MAX_FIELDS: usize = 40;
/// A field's name is at most this many characters.
pub const MAX_FIELD_NAME_CHARS: usize = 40;
/// A text value of the applicant's data is at most this many characters.
pub const MAX_TEXT_VALUE_CHARS: usize = 500;
const MAX_CODE_CHARS: usize = 32;
const MAX_NAME_CHARS: usize = 100;

/// One applicant data field a measure reads (申报数据项).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The name formulas use, e.g. `固定资产投资`.
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ExprType,
    /// An optional field may be left empty (formulas see it as missing).
    #[serde(default)]
    pub optional: bool,
}

/// A measure as submitted, before its formulas are checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureInput {
    pub code: String,
    pub name: String,
    pub fields: Vec<FieldSpec>,
    pub eligibility: String,
    pub award: String,
    /// The cap in yuan; none means the formula alone decides.
    pub cap: Option<Decimal>,
}

/// A checked measure: its formulas compiled against its own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub code: String,
    pub name: String,
    pub fields: Vec<FieldSpec>,
    pub eligibility: Formula,
    pub award: Formula,
    pub cap_fen: Option<i64>,
}

/// What a measure makes of an application's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The formula's value rounded to the fen (half away from zero).
    pub computed_fen: i64,
    /// The award: the computed value, no more than the cap.
    pub award_fen: i64,
    /// Whether the cap cut the computed value.
    pub capped: bool,
}

impl Schema for Measure {
    fn field_type(&self, name: &str) -> Option<ExprType> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.ty)
    }
}

/// The field list as a schema, for compiling before the measure exists.
struct Fields<'a>(&'a [FieldSpec]);

impl Schema for Fields<'_> {
    fn field_type(&self, name: &str) -> Option<ExprType> {
        self.0.iter().find(|f| f.name == name).map(|f| f.ty)
    }
}

impl MeasureInput {
    /// Checks the code (letters, digits, `-`, `_`), name, fields (distinct,
    /// at most [`MAX_FIELDS`]) and cap, and compiles the rule as a yes/no
    /// expression (`invalid_eligibility_rule`) and the formula as a number
    /// (`invalid_award_formula`) over the fields.
    pub fn compile(&self) -> Result<Measure, DomainError> {
        let invalid = |m: String| DomainError::invalid(codes::INVALID_MEASURE, m);
        let code = self.code.trim();
        if code.is_empty()
            || code.chars().count() > MAX_CODE_CHARS
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        {
            return Err(invalid(format!("措施编号须为1至{MAX_CODE_CHARS}个字母、数字、- 或 _")));
        }
        let name = required_text("措施名称", &self.name, MAX_NAME_CHARS).map_err(|e| invalid(e.message))?;
        let fields = checked_fields(&self.fields)?;
        let eligibility = Formula::compile_as(&self.eligibility, &Fields(&fields), ExprType::Bool).map_err(|e| {
            DomainError::invalid(codes::INVALID_ELIGIBILITY_RULE, format!("资格条件有误：{}", e.message))
        })?;
        let award = Formula::compile_as(&self.award, &Fields(&fields), ExprType::Number)
            .map_err(|e| DomainError::invalid(codes::INVALID_AWARD_FORMULA, format!("奖励公式有误：{}", e.message)))?;
        let cap_fen = match self.cap {
            Some(cap) => {
                let fen = yuan_to_fen("奖励上限", cap)?;
                if fen == 0 {
                    return Err(invalid("奖励上限须大于0".into()));
                }
                Some(fen)
            }
            None => None,
        };
        Ok(Measure { code: code.to_owned(), name, fields, eligibility, award, cap_fen })
    }
}

fn checked_fields(fields: &[FieldSpec]) -> Result<Vec<FieldSpec>, DomainError> {
    let invalid = |m: String| DomainError::invalid(codes::INVALID_MEASURE, m);
    if fields.len() > MAX_FIELDS {
        return Err(invalid(format!("申报数据项不能超过{MAX_FIELDS}项")));
    }
    let mut out: Vec<FieldSpec> = Vec::with_capacity(fields.len());
    for field in fields {
        let name = field.name.trim();
        if name.is_empty() || name.chars().count() > MAX_FIELD_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(invalid(format!("数据项名称须为1至{MAX_FIELD_NAME_CHARS}个字")));
        }
        if out.iter().any(|f| f.name == name) {
            return Err(invalid(format!("数据项「{name}」重复")));
        }
        out.push(FieldSpec { name: name.to_owned(), ty: field.ty, optional: field.optional });
    }
    Ok(out)
}

impl Measure {
    /// The measure as submitted (for storage and display).
    pub fn to_input(&self) -> MeasureInput {
        MeasureInput {
            code: self.code.clone(),
            name: self.name.clone(),
            fields: self.fields.clone(),
            eligibility: self.eligibility.source().to_owned(),
            award: self.award.source().to_owned(),
            cap: self.cap_fen.map(fen_to_yuan),
        }
    }

    /// Checks an application's data against the measure and computes the
    /// award: every field known (`unknown_data_field`) and of its type
    /// (`invalid_data_value`), every required one present
    /// (`missing_required_data`, naming them all), the rule satisfied
    /// (`not_eligible`), the formula giving a value ≥ 0
    /// (`award_not_computable`); the award is that value rounded to the fen
    /// and cut to the cap.
    pub fn assess(&self, data: &BTreeMap<String, Value>) -> Result<Assessment, DomainError> {
        self.check_data(data)?;
        let eligible = self.eligibility.eval_bool(data).map_err(|e| {
            DomainError::invalid(codes::NOT_ELIGIBLE, format!("无法判断是否符合申报条件：{}", e.message))
        })?;
        if !eligible {
            return Err(DomainError::invalid(
                codes::NOT_ELIGIBLE,
                format!("申报数据不符合「{}」的申报条件：{}", self.name, self.eligibility.source()),
            ));
        }
        let not_computable = |m: String| DomainError::invalid(codes::AWARD_NOT_COMPUTABLE, m);
        let value = self.award.eval(data).map_err(|e| not_computable(format!("奖励金额无法计算：{}", e.message)))?;
        let Some(yuan) = value.as_number() else {
            return Err(not_computable("奖励公式没有得出金额（所需数据缺失或低于最低档）".into()));
        };
        if yuan.is_sign_negative() && !yuan.is_zero() {
            return Err(not_computable(format!("奖励公式得出负数：{yuan}元")));
        }
        let computed_fen =
            yuan_to_fen("奖励金额", yuan.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))?;
        let award_fen = self.cap_fen.map_or(computed_fen, |cap| computed_fen.min(cap));
        Ok(Assessment { computed_fen, award_fen, capped: award_fen < computed_fen })
    }

    fn check_data(&self, data: &BTreeMap<String, Value>) -> Result<(), DomainError> {
        if let Some(unknown) = data.keys().find(|k| self.field_type(k).is_none()) {
            return Err(DomainError::invalid(
                codes::UNKNOWN_DATA_FIELD,
                format!("「{}」不需要填报「{unknown}」", self.name),
            ));
        }
        for field in &self.fields {
            let value = data.get(&field.name).unwrap_or(&Value::Null);
            if value.ty().is_some_and(|ty| ty != field.ty) {
                return Err(DomainError::invalid(
                    codes::INVALID_DATA_VALUE,
                    format!("「{}」应填{}", field.name, field.ty.label()),
                ));
            }
        }
        let missing: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| !f.optional && data.get(&f.name).is_none_or(Value::is_null))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(DomainError::invalid(
                codes::MISSING_REQUIRED_DATA,
                format!("缺少申报数据：{}", missing.join("、")),
            ));
        }
        Ok(())
    }
}

/// Reads applicant data sent as JSON into values of the measure's field
/// types: numbers as JSON numbers or decimal text, dates as `YYYY-MM-DD`,
/// yes/no as `true`/`false` (or 是/否), text of at most
/// [`MAX_TEXT_VALUE_CHARS`]; `null` and empty text are missing.
pub fn data_from_json(
    measure: &Measure,
    json: &serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<String, Value>, DomainError> {
    let mut data = BTreeMap::new();
    for (name, raw) in json {
        let Some(ty) = measure.field_type(name) else {
            return Err(DomainError::invalid(
                codes::UNKNOWN_DATA_FIELD,
                format!(
                    "「{}」不需要填报「{}」",
                    measure.name,
                    name.chars().take(MAX_FIELD_NAME_CHARS).collect::<String>()
                ),
            ));
        };
        let value = json_value(ty, raw)
            .ok_or_else(|| DomainError::invalid(codes::INVALID_DATA_VALUE, format!("「{name}」应填{}", ty.label())))?;
        if !value.is_null() {
            data.insert(name.clone(), value);
        }
    }
    Ok(data)
}

fn json_value(ty: ExprType, raw: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    let text = match raw {
        J::Null => return Some(Value::Null),
        J::String(s) if s.trim().is_empty() => return Some(Value::Null),
        J::String(s) => Some(s.trim()),
        _ => None,
    };
    match ty {
        ExprType::Number => match raw {
            J::Number(n) => n.to_string().parse::<Decimal>().ok(),
            _ => text.and_then(|t| t.replace(',', "").parse::<Decimal>().ok()),
        }
        .map(Value::Number),
        ExprType::Text => text
            .filter(|t| t.chars().count() <= MAX_TEXT_VALUE_CHARS && !t.chars().any(char::is_control))
            .map(|t| Value::Text(t.to_owned())),
        ExprType::Bool => match (raw, text) {
            (J::Bool(b), _) => Some(Value::Bool(*b)),
            (_, Some("是" | "true")) => Some(Value::Bool(true)),
            (_, Some("否" | "false")) => Some(Value::Bool(false)),
            _ => None,
        },
        ExprType::Date => text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()).map(Value::Date),
    }
}
