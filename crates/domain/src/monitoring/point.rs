//! A monitoring point (监测点位): where a device measures, what it measures,
//! and the limits its readings are held to.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::environment::{Grade, Limit, LimitOverride, Standard, bundled_standards};
use crate::error::DomainError;
use crate::validation::{CreditCode, required_text};

/// Parameters one point measures at most.
pub const MAX_PARAMETERS: usize = 32;
/// Permit limits one point carries at most.
pub const MAX_PERMIT_LIMITS: usize = 32;
/// The longest point code.
const MAX_CODE_LEN: usize = 32;
/// The longest device MN (HJ 212-2017: 24 characters).
const MAX_MN_LEN: usize = 24;
/// The longest device password (HJ 212-2017: 6 characters).
const MAX_PW_LEN: usize = 6;
/// The longest parameter code (HJ 212 pollutant codes are six characters; allow some room).
const MAX_PARAMETER_LEN: usize = 16;
/// The longest unit text.
const MAX_UNIT_LEN: usize = 16;

/// Where a point measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// An enterprise's discharge outlet (企业排放口).
    EnterpriseOutlet,
    /// A park's outlet (园区排放口).
    ParkOutlet,
    /// A section of a creek (河涌断面).
    CreekSection,
}

impl PointKind {
    pub const ALL: [PointKind; 3] = [Self::EnterpriseOutlet, Self::ParkOutlet, Self::CreekSection];

    pub fn code(self) -> &'static str {
        match self {
            Self::EnterpriseOutlet => "enterprise_outlet",
            Self::ParkOutlet => "park_outlet",
            Self::CreekSection => "creek_section",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::EnterpriseOutlet => "企业排放口",
            Self::ParkOutlet => "园区排放口",
            Self::CreekSection => "河涌断面",
        }
    }
}

/// A parameter the point measures (监测因子), by its HJ 212 pollutant code, with the unit it is sent in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasuredParameter {
    /// HJ 212 code, e.g. `w01018` (COD).
    pub code: String,
    /// e.g. `mg/L`.
    pub unit: String,
}

/// A limit from the point's discharge permit (排污许可证) replacing the
/// standard's for one parameter. Exactly one of `max`, `min`, or both for a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitLimit {
    /// The parameter's key (`cod`) or HJ 212 code (`w01018`).
    pub parameter: String,
    /// Upper bound (≤).
    #[serde(default)]
    pub max: Option<f64>,
    /// Lower bound (≥).
    #[serde(default)]
    pub min: Option<f64>,
    /// Where it comes from, e.g. the permit number; shown with every exceedance.
    pub source: String,
}

impl PermitLimit {
    /// The limit it sets, if its bounds make one.
    pub fn limit(&self) -> Option<Limit> {
        let finite = |v: f64| v.is_finite() && v >= 0.0;
        match (self.min, self.max) {
            (None, Some(max)) if finite(max) => Some(Limit::AtMost(max)),
            (Some(min), None) if finite(min) => Some(Limit::AtLeast(min)),
            (Some(low), Some(high)) if finite(low) && finite(high) && low <= high => Some(Limit::Between { low, high }),
            _ => None,
        }
    }

    /// As the domain's check takes it.
    pub fn to_override(&self) -> Option<LimitOverride> {
        Some(LimitOverride { parameter: self.parameter.clone(), limit: self.limit()?, source: self.source.clone() })
    }
}

/// A point as entered, before validation. `unit_id` is the responsible unit
/// (the environment bureau or a town), resolved from its code by the caller.
#[derive(Debug, Clone, Default)]
pub struct PointDraft {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub credit_code: Option<String>,
    pub ledger_item_id: Option<i64>,
    pub mn: String,
    pub standard: String,
    pub grade: u8,
    pub permit_limits: Vec<PermitLimit>,
    pub parameters: Vec<MeasuredParameter>,
    pub unit_id: i64,
    /// Minutes without valid data after which the point is offline and a
    /// 数据缺失 alert is raised; [`DEFAULT_OFFLINE_AFTER_MINUTES`] when absent.
    pub offline_after_minutes: Option<u32>,
}

/// Without valid data for this long a point is offline (two hours: two missed hourly values).
pub const DEFAULT_OFFLINE_AFTER_MINUTES: u32 = 120;
/// The shortest and longest silence a point may be set to tolerate (five minutes to a week).
pub const OFFLINE_AFTER_MINUTES: std::ops::RangeInclusive<u32> = 5..=7 * 24 * 60;

/// A valid point: what the store writes (the device password goes beside it, hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct PointInput {
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub credit_code: Option<String>,
    pub ledger_item_id: Option<i64>,
    pub mn: String,
    pub standard: String,
    pub grade: u8,
    pub permit_limits: Vec<PermitLimit>,
    pub parameters: Vec<MeasuredParameter>,
    pub unit_id: i64,
    pub offline_after_minutes: u32,
}

fn invalid(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::invalid(code, message)
}

/// The hash a device password is stored as: SHA-256 over the MN and the
/// password, so equal passwords of two devices differ in the table.
pub fn device_password_hash(mn: &str, password: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{mn}\u{1f}{password}").as_bytes()))
}

/// `404 monitoring_point_not_found`.
pub fn point_not_found() -> DomainError {
    DomainError::not_found("monitoring_point_not_found", "监测点位不存在")
}

fn is_code_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

fn short(text: &str) -> String {
    text.chars().take(24).collect()
}

impl PointInput {
    /// Validates a draft. Codes: `invalid_point_code`, `text_required` /
    /// `text_too_long` (name), `invalid_point_kind`, `invalid_credit_code`,
    /// `invalid_mn`, `unknown_standard`, `unknown_grade`, `invalid_parameters`,
    /// `invalid_permit_limit`, `invalid_offline_after`.
    pub fn new(draft: PointDraft) -> Result<Self, DomainError> {
        let code = draft.code.trim().to_owned();
        if code.is_empty() || code.len() > MAX_CODE_LEN || !code.chars().all(is_code_char) {
            return Err(invalid("invalid_point_code", "点位编号应为1~32个字母、数字、连字符或下划线"));
        }
        let name = required_text("点位名称", &draft.name, 100)?;
        let kind = PointKind::parse(draft.kind.trim())
            .ok_or_else(|| invalid("invalid_point_kind", "点位类型应为企业排放口、园区排放口或河涌断面"))?;
        let credit_code = match draft.credit_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(CreditCode::parse(c)?.as_str().to_owned()),
            None => None,
        };
        let mn = check_mn(&draft.mn)?;
        let standard = standard_named(&draft.standard)?;
        standard.check_grade(Grade(draft.grade))?;
        let parameters = check_parameters(draft.parameters)?;
        let permit_limits = check_permit_limits(draft.permit_limits)?;
        let offline_after_minutes = draft.offline_after_minutes.unwrap_or(DEFAULT_OFFLINE_AFTER_MINUTES);
        if !OFFLINE_AFTER_MINUTES.contains(&offline_after_minutes) {
            return Err(invalid("invalid_offline_after", "数据缺失报警时限应为5~10080分钟（5分钟至7天）"));
        }
        Ok(PointInput {
            code,
            name,
            kind,
            credit_code,
            ledger_item_id: draft.ledger_item_id,
            mn,
            standard: standard.code.clone(),
            grade: draft.grade,
            permit_limits,
            parameters,
            unit_id: draft.unit_id,
            offline_after_minutes,
        })
    }
}

/// The device identifier (设备唯一标识 MN): 1–24 letters, digits, `-` or `_`.
pub fn check_mn(mn: &str) -> Result<String, DomainError> {
    let mn = mn.trim();
    if mn.is_empty() || mn.len() > MAX_MN_LEN || !mn.chars().all(is_code_char) {
        return Err(invalid("invalid_mn", "设备MN号应为1~24个字母、数字、连字符或下划线"));
    }
    Ok(mn.to_owned())
}

/// The device password (访问密码 PW): 1–6 visible ASCII characters other than `; , = &`.
pub fn check_device_password(pw: &str) -> Result<(), DomainError> {
    let ok = |c: char| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '=' | '&');
    if pw.is_empty() || pw.len() > MAX_PW_LEN || !pw.chars().all(ok) {
        return Err(invalid("invalid_device_password", "设备访问密码应为1~6个可见ASCII字符（不含;,=&）"));
    }
    Ok(())
}

/// A bundled standard by its code (`unknown_standard`).
pub fn standard_named(code: &str) -> Result<&'static Standard, DomainError> {
    bundled_standards()
        .iter()
        .find(|s| s.code == code.trim())
        .ok_or_else(|| invalid("unknown_standard", format!("「{}」不是内置的标准", short(code))))
}

fn check_parameters(parameters: Vec<MeasuredParameter>) -> Result<Vec<MeasuredParameter>, DomainError> {
    if parameters.is_empty() || parameters.len() > MAX_PARAMETERS {
        return Err(invalid("invalid_parameters", format!("监测因子应有1~{MAX_PARAMETERS}项")));
    }
    let mut seen = std::collections::BTreeSet::new();
    parameters
        .into_iter()
        .map(|p| {
            let code = p.code.trim().to_owned();
            let unit = p.unit.trim().to_owned();
            if code.is_empty() || code.len() > MAX_PARAMETER_LEN || !code.chars().all(is_code_char) {
                return Err(invalid("invalid_parameters", format!("监测因子编码「{}」无效", short(&code))));
            }
            if unit.is_empty() || unit.chars().count() > MAX_UNIT_LEN || unit.chars().any(char::is_control) {
                return Err(invalid("invalid_parameters", format!("监测因子「{code}」的单位无效")));
            }
            if !seen.insert(code.clone()) {
                return Err(invalid("invalid_parameters", format!("监测因子「{code}」重复")));
            }
            Ok(MeasuredParameter { code, unit })
        })
        .collect()
}

fn check_permit_limits(limits: Vec<PermitLimit>) -> Result<Vec<PermitLimit>, DomainError> {
    if limits.len() > MAX_PERMIT_LIMITS {
        return Err(invalid("invalid_permit_limit", format!("许可限值不能超过{MAX_PERMIT_LIMITS}项")));
    }
    limits
        .into_iter()
        .map(|l| {
            let parameter = l.parameter.trim().to_owned();
            if parameter.is_empty() || parameter.len() > MAX_PARAMETER_LEN * 2 || !parameter.chars().all(is_code_char) {
                return Err(invalid("invalid_permit_limit", "许可限值的监测因子无效"));
            }
            let source = required_text("许可限值来源", &l.source, 100)
                .map_err(|e| invalid("invalid_permit_limit", e.message))?;
            let limit = PermitLimit { parameter, source, ..l };
            if limit.limit().is_none() {
                return Err(invalid(
                    "invalid_permit_limit",
                    format!("「{}」的许可限值应给出非负的上限、下限或下限不大于上限的范围", limit.parameter),
                ));
            }
            Ok(limit)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::environment::GB_8978_1996;

    pub(crate) fn draft() -> PointDraft {
        PointDraft {
            code: "WS-001".into(),
            name: "华凯化工总排口".into(),
            kind: "enterprise_outlet".into(),
            credit_code: None,
            ledger_item_id: None,
            mn: "88888880000001".into(),
            standard: GB_8978_1996.into(),
            grade: 2,
            permit_limits: vec![PermitLimit {
                parameter: "w01018".into(),
                max: Some(100.0),
                min: None,
                source: "许可证 91442000-001".into(),
            }],
            parameters: vec![MeasuredParameter { code: "w01018".into(), unit: "mg/L".into() }],
            unit_id: 1,
            offline_after_minutes: None,
        }
    }

    fn code_of(d: PointDraft) -> &'static str {
        PointInput::new(d).err().map_or("ok", |e| e.code)
    }

    #[test]
    fn a_valid_point_passes_trimmed() {
        let p = PointInput::new(PointDraft { code: " WS-001 ".into(), ..draft() }).unwrap();
        assert_eq!((p.code.as_str(), p.kind, p.grade), ("WS-001", PointKind::EnterpriseOutlet, 2));
    }

    #[test]
    fn each_bad_field_has_its_code() {
        assert_eq!(code_of(PointDraft { code: "点位".into(), ..draft() }), "invalid_point_code");
        assert_eq!(code_of(PointDraft { name: " ".into(), ..draft() }), "text_required");
        assert_eq!(code_of(PointDraft { kind: "river".into(), ..draft() }), "invalid_point_kind");
        assert_eq!(code_of(PointDraft { credit_code: Some("123".into()), ..draft() }), "invalid_credit_code");
        assert_eq!(code_of(PointDraft { mn: "x".repeat(25), ..draft() }), "invalid_mn");
        assert_eq!(code_of(PointDraft { standard: "GB 1-2000".into(), ..draft() }), "unknown_standard");
        assert_eq!(code_of(PointDraft { grade: 4, ..draft() }), "unknown_grade");
        assert_eq!(code_of(PointDraft { offline_after_minutes: Some(4), ..draft() }), "invalid_offline_after");
        assert_eq!(code_of(PointDraft { offline_after_minutes: Some(10_081), ..draft() }), "invalid_offline_after");
        assert_eq!(PointInput::new(draft()).unwrap().offline_after_minutes, DEFAULT_OFFLINE_AFTER_MINUTES);
        assert_eq!(code_of(PointDraft { parameters: vec![], ..draft() }), "invalid_parameters");
        let twice = vec![MeasuredParameter { code: "w01018".into(), unit: "mg/L".into() }; 2];
        assert_eq!(code_of(PointDraft { parameters: twice, ..draft() }), "invalid_parameters");
        let bad = PermitLimit { parameter: "cod".into(), max: Some(-1.0), min: None, source: "许可证".into() };
        assert_eq!(code_of(PointDraft { permit_limits: vec![bad], ..draft() }), "invalid_permit_limit");
        let range = PermitLimit { parameter: "ph".into(), max: Some(6.0), min: Some(9.0), source: "许可证".into() };
        assert_eq!(code_of(PointDraft { permit_limits: vec![range], ..draft() }), "invalid_permit_limit");
    }

    #[test]
    fn device_passwords_follow_hj212() {
        assert!(check_device_password("123456").is_ok());
        for bad in ["", "1234567", "a;b", "密码"] {
            assert_eq!(check_device_password(bad).unwrap_err().code, "invalid_device_password");
        }
    }
}
