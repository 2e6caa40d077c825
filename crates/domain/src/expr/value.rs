//! Types and values of the expression language.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The static type of an expression or a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprType {
    /// An exact decimal (integers included).
    Number,
    Text,
    Bool,
    Date,
}

impl ExprType {
    /// The type's name in Chinese, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Number => "数字",
            Self::Text => "文本",
            Self::Bool => "是非值",
            Self::Date => "日期",
        }
    }
}

/// A value an expression produces or reads from a field. `Null` is a missing value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    Null,
    Number(Decimal),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value's type, or `None` for `Null`.
    pub fn ty(&self) -> Option<ExprType> {
        match self {
            Self::Null => None,
            Self::Number(_) => Some(ExprType::Number),
            Self::Text(_) => Some(ExprType::Text),
            Self::Bool(_) => Some(ExprType::Bool),
            Self::Date(_) => Some(ExprType::Date),
        }
    }

    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            Self::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A condition's truth: only `Bool(true)` is true; a missing value counts as false.
    pub fn is_true(&self) -> bool {
        matches!(self, Self::Bool(true))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("（空）"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
            Self::Bool(true) => f.write_str("是"),
            Self::Bool(false) => f.write_str("否"),
            Self::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

/// Where an expression reads its field values from.
pub trait Record {
    /// The field's value; `Value::Null` when it is missing.
    fn value(&self, field: &str) -> Value;
}

impl Record for std::collections::BTreeMap<String, Value> {
    fn value(&self, field: &str) -> Value {
        self.get(field).cloned().unwrap_or(Value::Null)
    }
}

impl Record for std::collections::HashMap<String, Value> {
    fn value(&self, field: &str) -> Value {
        self.get(field).cloned().unwrap_or(Value::Null)
    }
}

/// The fields an expression may name and their types.
pub trait Schema {
    fn field_type(&self, name: &str) -> Option<ExprType>;
}

impl Schema for std::collections::BTreeMap<String, ExprType> {
    fn field_type(&self, name: &str) -> Option<ExprType> {
        self.get(name).copied()
    }
}

impl Schema for std::collections::HashMap<String, ExprType> {
    fn field_type(&self, name: &str) -> Option<ExprType> {
        self.get(name).copied()
    }
}
