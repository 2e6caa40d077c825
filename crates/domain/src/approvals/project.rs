//! An approval project (审批项目): a land parcel's project whose approvals
//! between the land transaction and the construction permit are timed. Its
//! links to the enterprise registry and the investment ledger are plain
//! optional references for now (the registry's credit code, a ledger item's
//! key); the district or town (区/镇街) is a unit of the organisation.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::org::UnitId;
use crate::validation::CreditCode;

/// A project's name is at most this many characters.
pub const MAX_PROJECT_NAME_CHARS: usize = 100;
/// A ledger item's key is at most this many characters.
pub const MAX_LEDGER_KEY_CHARS: usize = 64;

/// Stable error codes of approval projects.
pub mod project_codes {
    /// No approval project has this id.
    pub const APPROVAL_PROJECT_NOT_FOUND: &str = "approval_project_not_found";
    /// The project's name is blank, too long or has control characters.
    pub const INVALID_PROJECT_NAME: &str = "invalid_project_name";
    /// The ledger item's key is badly formed.
    pub const INVALID_LEDGER_KEY: &str = "invalid_ledger_key";
    /// No stored plan template has this id.
    pub const APPROVAL_TEMPLATE_NOT_FOUND: &str = "approval_template_not_found";
    /// The project was changed meanwhile (a stale version).
    pub const APPROVAL_PROJECT_CHANGED: &str = "approval_project_changed";
    /// The plan template in force changed since the version the edit was made on.
    pub const APPROVAL_TEMPLATE_CHANGED: &str = "approval_template_changed";
}

/// A new project as validated: trimmed name, a well-formed credit code and ledger key when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInput {
    pub name: String,
    pub credit_code: Option<String>,
    pub ledger_key: Option<String>,
    /// The district or town (区/镇街) the parcel lies in.
    pub unit_id: Option<UnitId>,
}

impl ProjectInput {
    /// Checks and normalises the fields: `invalid_project_name`,
    /// `invalid_credit_code`, `invalid_ledger_key`.
    pub fn new(
        name: &str,
        credit_code: Option<&str>,
        ledger_key: Option<&str>,
        unit_id: Option<UnitId>,
    ) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_PROJECT_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                project_codes::INVALID_PROJECT_NAME,
                format!("项目名称不能为空，不能超过{MAX_PROJECT_NAME_CHARS}个字，也不能含控制字符"),
            ));
        }
        let credit_code = match credit_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => Some(CreditCode::parse(code)?.as_str().to_owned()),
            None => None,
        };
        let ledger_key = match ledger_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(key) => {
                let well_formed = key.chars().count() <= MAX_LEDGER_KEY_CHARS
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
                if !well_formed {
                    return Err(DomainError::invalid(
                        project_codes::INVALID_LEDGER_KEY,
                        format!("台账编号须为1至{MAX_LEDGER_KEY_CHARS}个字母、数字或 - _ . /"),
                    ));
                }
                Some(key.to_owned())
            }
            None => None,
        };
        Ok(Self { name: name.to_owned(), credit_code, ledger_key, unit_id })
    }
}

/// `404 approval_project_not_found`.
pub fn project_not_found() -> DomainError {
    DomainError::not_found(project_codes::APPROVAL_PROJECT_NOT_FOUND, "没有这个审批项目")
}

/// `404 approval_template_not_found`.
pub fn template_not_found() -> DomainError {
    DomainError::not_found(project_codes::APPROVAL_TEMPLATE_NOT_FOUND, "没有这个审批计划模板")
}

/// `409 approval_template_changed`.
pub fn template_changed() -> DomainError {
    DomainError::conflict(
        project_codes::APPROVAL_TEMPLATE_CHANGED,
        "审批计划模板已被他人修改，请在最新版本的基础上重新编辑",
    )
}

/// `409 approval_project_changed`.
pub fn project_changed() -> DomainError {
    DomainError::conflict(project_codes::APPROVAL_PROJECT_CHANGED, "项目已被他人更新，请刷新后重试")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_and_trimmed() {
        let ok = ProjectInput::new("  中山翠亨新区某项目 ", Some(" "), Some("INV-2021-001"), Some(3)).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.credit_code, ok.ledger_key.as_deref()),
            ("中山翠亨新区某项目", None, Some("INV-2021-001"))
        );
        assert_eq!(ProjectInput::new(" ", None, None, None).unwrap_err().code, "invalid_project_name");
        assert_eq!(ProjectInput::new(&"项".repeat(101), None, None, None).unwrap_err().code, "invalid_project_name");
        assert_eq!(ProjectInput::new("项目", None, Some("有 空格"), None).unwrap_err().code, "invalid_ledger_key");
        assert_eq!(ProjectInput::new("项目", Some("123"), None, None).unwrap_err().code, "invalid_credit_code");
    }
}
