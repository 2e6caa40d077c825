//! A park under online monitoring (智慧园区): its code and name, the unit
//! responsible for it, the shared facilities its enterprises use (共性工厂:
//! a central wastewater plant, a shared plating or spraying centre, …) and
//! which monitoring points belong to it. Its enterprises are those of its points.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::validation::{optional_text, required_text};

/// The most shared facilities one park lists.
pub const MAX_FACILITIES: usize = 50;
/// The most points one park names.
pub const MAX_PARK_POINTS: usize = 2_000;

/// A shared facility (共性工厂) of a park.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Facility {
    pub name: String,
    /// What it is, e.g. `集中污水处理厂`, `共性喷涂中心`.
    pub kind: String,
    /// Capacity, operator or anything else worth knowing.
    #[serde(default)]
    pub note: Option<String>,
}

/// A park as entered; `unit_id` resolved from its code by the caller.
#[derive(Debug, Clone, Default)]
pub struct ParkDraft {
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    pub description: Option<String>,
    pub facilities: Vec<Facility>,
    /// Codes of its monitoring points.
    pub points: Vec<String>,
}

/// A valid park.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkInput {
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    pub description: Option<String>,
    pub facilities: Vec<Facility>,
    pub points: Vec<String>,
}

impl ParkInput {
    /// Codes: `invalid_park_code`, `text_required` / `text_too_long`, `invalid_facilities`, `too_many_points`.
    pub fn new(draft: ParkDraft) -> Result<Self, DomainError> {
        let code = draft.code.trim().to_owned();
        if code.is_empty()
            || code.len() > 32
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        {
            return Err(DomainError::invalid("invalid_park_code", "园区编号应为1~32个字母、数字、连字符或下划线"));
        }
        let name = required_text("园区名称", &draft.name, 100)?;
        let description = optional_text("园区简介", draft.description.as_deref(), 2000)?;
        if draft.facilities.len() > MAX_FACILITIES {
            return Err(DomainError::invalid("invalid_facilities", format!("共性工厂最多{MAX_FACILITIES}个")));
        }
        let mut facilities = Vec::with_capacity(draft.facilities.len());
        for f in draft.facilities {
            facilities.push(Facility {
                name: required_text("共性工厂名称", &f.name, 100)?,
                kind: required_text("共性工厂类型", &f.kind, 50)?,
                note: optional_text("共性工厂说明", f.note.as_deref(), 500)?,
            });
        }
        if draft.points.len() > MAX_PARK_POINTS {
            return Err(DomainError::invalid("too_many_points", format!("一个园区最多{MAX_PARK_POINTS}个点位")));
        }
        let mut points: Vec<String> =
            draft.points.iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
        points.sort();
        points.dedup();
        Ok(Self { code, name, unit_id: draft.unit_id, description, facilities, points })
    }
}

/// `404 monitoring_park_not_found`.
pub fn park_not_found() -> DomainError {
    DomainError::not_found("monitoring_park_not_found", "园区不存在")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_park_is_checked_and_its_points_deduplicated() {
        let facility =
            Facility { name: "园区污水处理厂".into(), kind: "集中污水处理厂".into(), note: None };
        let draft = ParkDraft {
            code: "HG".into(),
            name: "化工园区".into(),
            unit_id: 1,
            facilities: vec![facility.clone()],
            points: vec!["HG-002".into(), " HG-001".into(), "HG-002".into(), " ".into()],
            ..ParkDraft::default()
        };
        let park = ParkInput::new(draft.clone()).unwrap();
        assert_eq!(park.points, ["HG-001", "HG-002"]);
        let code = |d: ParkDraft| ParkInput::new(d).unwrap_err().code;
        assert_eq!(code(ParkDraft { code: "园区".into(), ..draft.clone() }), "invalid_park_code");
        assert_eq!(code(ParkDraft { name: " ".into(), ..draft.clone() }), "text_required");
        let blank = Facility { kind: String::new(), ..facility.clone() };
        assert_eq!(code(ParkDraft { facilities: vec![blank], ..draft.clone() }), "text_required");
        let many = vec![facility; MAX_FACILITIES + 1];
        assert_eq!(code(ParkDraft { facilities: many, ..draft }), "invalid_facilities");
    }
}
