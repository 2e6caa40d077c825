//! The ledger engine (台账): ledger types defined as data, item validation,
//! code rules, computed fields, stage moves, type-change checks and per-cell
//! diffs. Pure: storage, HTTP and pages stand on this.
//!
//! A ledger type is a TOML file ([`def::LedgerTypeDef`]): its code, Chinese
//! name and version; the key field and its code rule (fixed-length segments
//! plus an optional check character, [`code_rule`]); fields of twelve kinds
//! (text, integer, decimal with unit and precision, date, date-time, choice
//! from a code list, unit, town, enterprise by credit code, WGS-84 point,
//! file reference, computed by a [`crate::expr`] expression); stages with
//! the fields each requires before entry; moves between stages with the roles
//! that may make them; and the code lists. [`LedgerType::from_toml`] refuses
//! a file that breaks any rule of the format, with a Chinese message.
//!
//! - [`LedgerType::validate_item`]: input values (JSON, by field code or
//!   Chinese label) → typed [`Values`] with computed fields, or every
//!   [`FieldError`] (field, label, value, code, Chinese reason). An Excel
//!   import calls it per row.
//! - [`LedgerType::check_move`]: the stage machine, with stable codes
//!   `stage_move_not_allowed`, `stage_role_forbidden`, `stage_fields_missing`.
//! - [`check_type_change`]: given the old type, the new one and a
//!   [`StoredSummary`] of the items, is the change safe, does it need a
//!   migration ([`migrate_item`]), or must it be refused.
//! - [`diff`]: the changed cells of an item, for its history.
//! - [`bundled`]: the five ledger types of the report, from `data/ledgers/`.

pub mod bundled;
mod change;
pub mod code_rule;
pub mod def;
mod diff;
mod stage;
mod types;
mod validate;
mod value;

pub use change::{
    ChangeAction, ChangeFinding, ChangeReport, FieldUsage, Migration, StoredSummary, Verdict, check_type_change,
    migrate_item,
};
pub use code_rule::CodeRule;
pub use def::{CheckAlgorithm, FieldKindName, LedgerTypeDef};
pub use diff::{CellChange, diff};
pub use types::{CodeList, Field, FieldKind, LedgerType, MAX_TYPE_BYTES};
pub use validate::FieldError;
pub use value::{FieldValue, MAX_INPUT_CHARS, OrgLookup, Values};

/// Role keys used by the bundled ledger types' moves. The permission model
/// maps people to these keys; a move lists the keys that may make it.
pub mod roles {
    /// System administrator (系统管理员): corrections, e.g. reopening a closed item.
    pub const ADMIN: &str = "admin";
    /// The command centre's office (指挥部办公室): sees and moves every item of its ledgers.
    pub const COMMAND_OFFICE: &str = "command_office";
    /// A command centre's leader (总指挥/指挥部领导): sign-offs such as signing a project.
    pub const LEADER: &str = "leader";
    /// A town (镇街): moves the items of its own town.
    pub const TOWN: &str = "town";
    /// A responsible unit or department (责任单位/职能部门): moves the items assigned to it.
    pub const UNIT: &str = "unit";

    /// The Chinese name of a role key, or the key itself when unknown.
    pub fn label(key: &str) -> String {
        match key {
            ADMIN => "系统管理员",
            COMMAND_OFFICE => "指挥部办公室",
            LEADER => "指挥部领导",
            TOWN => "镇街",
            UNIT => "责任单位",
            other => return other.to_owned(),
        }
        .to_owned()
    }
}

/// Stable error codes of the ledger engine.
pub mod codes {
    /// A ledger type file breaks a rule of the format.
    pub const LEDGER_TYPE_INVALID: &str = "ledger_type_invalid";
    /// A type change would invalidate stored items.
    pub const TYPE_CHANGE_REFUSED: &str = "ledger_type_change_refused";
    /// A required field is empty.
    pub const FIELD_REQUIRED: &str = "field_required";
    /// An input key names no field of the type.
    pub const FIELD_UNKNOWN: &str = "field_unknown";
    /// A field is given twice (by code and by label).
    pub const FIELD_DUPLICATE: &str = "field_duplicate";
    /// Text longer than the field allows.
    pub const FIELD_TOO_LONG: &str = "field_too_long";
    /// Not a number, or not an integer.
    pub const FIELD_NOT_NUMBER: &str = "field_not_number";
    /// A number outside the field's min/max.
    pub const FIELD_OUT_OF_RANGE: &str = "field_out_of_range";
    /// More decimal places than the field's precision.
    pub const FIELD_TOO_PRECISE: &str = "field_too_precise";
    /// Not a valid date or date-time.
    pub const FIELD_BAD_DATE: &str = "field_bad_date";
    /// Not a code (or name) of the field's code list.
    pub const FIELD_BAD_CHOICE: &str = "field_bad_choice";
    /// No such unit or town, or a unit where a town is wanted.
    pub const FIELD_UNKNOWN_ORG: &str = "field_unknown_org";
    /// Not a valid WGS-84 point.
    pub const FIELD_BAD_POINT: &str = "field_bad_point";
    /// Otherwise malformed (control characters, a list where one value is wanted, a bad file reference).
    pub const FIELD_INVALID: &str = "field_invalid";
    /// The key breaks the code rule.
    pub const KEY_CODE_INVALID: &str = "key_code_invalid";
    /// No such stage in the type.
    pub const STAGE_UNKNOWN: &str = "stage_unknown";
    /// The state machine has no such move.
    pub const STAGE_MOVE_NOT_ALLOWED: &str = "stage_move_not_allowed";
    /// The move exists but none of the person's roles may make it.
    pub const STAGE_ROLE_FORBIDDEN: &str = "stage_role_forbidden";
    /// The target stage requires fields the item does not have.
    pub const STAGE_FIELDS_MISSING: &str = "stage_fields_missing";
}

/// `422 ledger_file_not_found`: a file field set to something that is not a document of the item
/// (another item's, a withdrawn one, an id that names nothing, or any value at all on an item not
/// registered yet, which has no documents).
pub fn file_not_found(label: &str, reference: &str) -> crate::DomainError {
    let shown = value::shorten(reference);
    crate::DomainError::invalid(
        "ledger_file_not_found",
        format!("「{label}」只能是本条目已上传且未撤回的附件（「{shown}」不是）；请在条目页上传文件"),
    )
}

/// `409 ledger_file_in_use`: withdrawing the document a file field names.
pub fn file_in_use(label: &str) -> crate::DomainError {
    crate::DomainError::conflict(
        "ledger_file_in_use",
        format!("该附件是条目「{label}」的当前文件，不能撤回；请先为该字段上传新文件或清空该字段"),
    )
}
