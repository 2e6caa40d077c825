//! The ledger types bundled with the platform, one TOML file each under
//! `data/ledgers/`: the five ledgers of the report's three command centres.

use super::types::LedgerType;
use crate::error::DomainError;

/// `(file name, contents)` of every bundled ledger type.
pub const FILES: [(&str, &str); 5] = [
    ("outlet.toml", include_str!("../../data/ledgers/outlet.toml")),
    ("creek.toml", include_str!("../../data/ledgers/creek.toml")),
    ("sewer.toml", include_str!("../../data/ledgers/sewer.toml")),
    ("park.toml", include_str!("../../data/ledgers/park.toml")),
    ("investment.toml", include_str!("../../data/ledgers/investment.toml")),
];

/// Parses every bundled type.
///
/// # Errors
///
/// `ledger_type_invalid` naming the file, should a bundled file be broken (the tests make sure it is not).
pub fn all() -> Result<Vec<LedgerType>, DomainError> {
    FILES
        .iter()
        .map(|(name, text)| {
            LedgerType::from_toml(text).map_err(|e| DomainError { message: format!("{name}：{}", e.message), ..e })
        })
        .collect()
}

/// One bundled type by its code (`outlet`, `creek`, `sewer`, `park`, `investment`).
///
/// # Errors
///
/// `ledger_type_invalid` if the bundled file is broken; `ledger_type_not_found` for an unknown code.
pub fn by_code(code: &str) -> Result<LedgerType, DomainError> {
    all()?
        .into_iter()
        .find(|t| t.code() == code)
        .ok_or_else(|| DomainError::not_found("ledger_type_not_found", format!("没有内置的台账类型「{code}」")))
}
