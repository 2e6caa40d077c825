//! The per-cell difference between two versions of an item, for its history.

use serde::{Deserialize, Serialize};

use super::types::LedgerType;
use super::value::{FieldValue, Values};

/// One changed cell: the field, its value before and after (`None` = empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellChange {
    pub field: String,
    pub label: String,
    pub before: Option<FieldValue>,
    pub after: Option<FieldValue>,
    /// A computed field that changed because its inputs did.
    pub computed: bool,
}

/// The cells that differ between `before` and `after`, in the type's field order, then any
/// fields the type no longer has (by code). Equal decimals of different scale (1.5, 1.50) are equal.
pub fn diff(ty: &LedgerType, before: &Values, after: &Values) -> Vec<CellChange> {
    let mut changes = Vec::new();
    let mut push = |code: &str, label: &str, computed: bool| {
        let (b, a) = (before.get(code), after.get(code));
        if b != a {
            changes.push(CellChange {
                field: code.to_owned(),
                label: label.to_owned(),
                before: b.cloned(),
                after: a.cloned(),
                computed,
            });
        }
    };
    for field in ty.fields() {
        push(&field.code, &field.label, field.is_computed());
    }
    let mut extra: Vec<&String> = before.keys().chain(after.keys()).filter(|k| ty.field(k).is_none()).collect();
    extra.sort();
    extra.dedup();
    for code in extra {
        push(code, code, false);
    }
    changes
}
