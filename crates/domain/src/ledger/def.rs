//! The ledger type file format (TOML), as serde types.
//!
//! These are what an administrator edits and what is stored with each
//! version; [`super::LedgerType::from_def`] checks them and builds the
//! validated type. Unknown keys are refused so a typo cannot pass silently.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One ledger type as written in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerTypeDef {
    /// Stable ASCII code, e.g. `outlet`.
    pub code: String,
    /// Chinese name, e.g. `入河排污口`.
    pub name: String,
    /// Increases with every change.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub key: KeyDef,
    #[serde(rename = "field")]
    pub fields: Vec<FieldDef>,
    #[serde(rename = "stage", default)]
    pub stages: Vec<StageDef>,
    #[serde(rename = "move", default)]
    pub moves: Vec<MoveDef>,
    #[serde(rename = "code_list", default)]
    pub code_lists: Vec<CodeListDef>,
}

/// The key field (the item's code, unique within the ledger) and its code rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDef {
    /// A text field of this type.
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<CodeRuleDef>,
}

/// A code rule (编码规则): fixed-length segments, then an optional check character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRuleDef {
    /// Chinese name of the rule, shown in messages.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "segment")]
    pub segments: Vec<SegmentDef>,
    /// A check character appended after the segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckAlgorithm>,
}

/// One segment of a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    /// Chinese name, e.g. `行政区划代码`.
    pub name: String,
    /// Length in characters.
    pub len: u8,
    pub chars: SegmentChars,
    /// The segment is exactly this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// The segment is a code of this code list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// The segment equals this field's value (its code, for a choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals_field: Option<String>,
    /// The segment may not be all zeros (sequence numbers start at 1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nonzero: bool,
}

/// Characters a segment may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentChars {
    /// `0-9`.
    Digits,
    /// `A-Z`.
    Upper,
    /// `0-9A-Z`.
    Alnum,
    /// A 6-digit administrative-division code (GB/T 2260) with a valid province prefix.
    Division,
}

/// Check-character algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckAlgorithm {
    /// ISO 7064 MOD 37,36 hybrid system (GB/T 17710) over `0-9A-Z`; check character `0-9A-Z`.
    Iso7064Mod37_36,
    /// ISO 7064 MOD 11-2 over digits; check character `0-9X` (as in the resident ID number).
    Iso7064Mod11_2,
    /// The Unified Social Credit Code check (GB 32100-2015); the whole code is 18 characters.
    Gb32100,
}

/// Kinds of field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKindName {
    Text,
    Integer,
    Decimal,
    Date,
    Datetime,
    Choice,
    /// A unit of the org tree, by org code.
    Unit,
    /// A town (镇街), by org code.
    Town,
    /// An enterprise, by its Unified Social Credit Code.
    Enterprise,
    /// A WGS-84 point.
    Point,
    /// A stored file, by reference.
    File,
    /// Computed from other fields by an expression.
    Computed,
}

impl FieldKindName {
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "文本",
            Self::Integer => "整数",
            Self::Decimal => "小数",
            Self::Date => "日期",
            Self::Datetime => "日期时间",
            Self::Choice => "代码选项",
            Self::Unit => "单位",
            Self::Town => "镇街",
            Self::Enterprise => "企业（统一社会信用代码）",
            Self::Point => "坐标点",
            Self::File => "文件",
            Self::Computed => "计算字段",
        }
    }
}

/// One field. Which optional attributes apply depends on `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Stable ASCII code, e.g. `area_mu`.
    pub code: String,
    /// Chinese label, e.g. `面积`; also the Excel column header, so unique.
    pub label: String,
    pub kind: FieldKindName,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Text: the most characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// Integer, decimal: the smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Decimal>,
    /// Integer, decimal: the largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// Integer, decimal, computed: the unit shown, e.g. `万元`, `亩`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Decimal: the most decimal places; computed: round the result to this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Choice: the code list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Computed: the expression (see [`crate::expr`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
}

/// A stage (阶段) of the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    pub code: String,
    pub name: String,
    /// Fields that must have a value before an item may enter this stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

/// An allowed move between stages and the roles that may make it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveDef {
    pub from: String,
    pub to: String,
    /// Role keys (see [`super::roles`]).
    pub roles: Vec<String>,
    /// What the move is called, e.g. `退回`; defaults to the target stage's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A code list (代码表).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeListDef {
    pub code: String,
    pub name: String,
    #[serde(rename = "item")]
    pub items: Vec<CodeItemDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeItemDef {
    pub code: String,
    pub name: String,
}
