//! The enterprise registry (企业名录, 一企一档): one record per enterprise,
//! keyed by its unified social credit code, with its town, industry
//! (GB/T 4754-2017), size and contacts. Requests link to a record by the
//! credit code they carry.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::org::{Actor, Role, UnitId, UserId};
use crate::validation::{CreditCode, Phone, optional_text, required_text};

/// The longest enterprise name, in characters.
pub const NAME_MAX: usize = 100;
pub const ADDRESS_MAX: usize = 200;
pub const INDUSTRY_NAME_MAX: usize = 60;
pub const CONTACT_NAME_MAX: usize = 30;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 20;

/// Reads a credit code as people type or paste it: full-width letters and
/// digits (`９１４４…`) made half-width, spaces (also the ideographic space)
/// and hyphens or dashes anywhere removed, then checked (GB 32100-2015).
///
/// # Errors
///
/// `invalid_credit_code`, saying what is wrong.
pub fn parse_credit_code(input: &str) -> Result<CreditCode, DomainError> {
    CreditCode::parse(&normalize_credit_code(input))
}

/// The credit code's characters without separators, half-width.
pub fn normalize_credit_code(input: &str) -> String {
    input
        .chars()
        .filter_map(|c| match c {
            c if c.is_whitespace() => None,
            '-' | '－' | '—' | '–' | '‐' | '_' => None,
            // Full-width ASCII (U+FF01..U+FF5E) sits 0xFEE0 above its half-width form.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            c => Some(c),
        })
        .collect()
}

/// Size class (规模): above or below the designated size for industry
/// statistics (规模以上/规模以下, 规上/规下).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseSize {
    /// 规上
    Above,
    /// 规下
    Below,
}

impl EnterpriseSize {
    pub const ALL: [Self; 2] = [Self::Above, Self::Below];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Above => "规上",
            Self::Below => "规下",
        }
    }

    /// By code (`above`) or by label (`规上`, `规模以上`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "above" | "规上" | "规模以上" => Some(Self::Above),
            "below" | "规下" | "规模以下" => Some(Self::Below),
            _ => None,
        }
    }
}

/// Checks an industry code of GB/T 4754-2017 (国民经济行业分类): a section
/// letter `A`–`T`, or a division (2 digits, 01–97), group (3) or class (4)
/// code whose first two digits are a division, optionally written after its
/// section letter (`C3874`). Upper-cased and trimmed.
///
/// # Errors
///
/// `invalid_industry`.
pub fn parse_industry_code(input: &str) -> Result<String, DomainError> {
    let code = input.trim().to_ascii_uppercase();
    let section = code.len() == 1 && code.as_bytes()[0].is_ascii_uppercase() && code.as_str() <= "T";
    let digits = code.strip_prefix(|c: char| c.is_ascii_uppercase() && c <= 'T').unwrap_or(&code);
    let numeric = (2..=4).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.get(..2).and_then(|d| d.parse::<u8>().ok()).is_some_and(|d| (1..=97).contains(&d));
    if section || numeric {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            "invalid_industry",
            format!("行业代码「{}」不符合GB/T 4754-2017：应为门类字母A–T，或2至4位数字代码（如 C3874）", input.trim()),
        ))
    }
}

/// An enterprise's record as it is written (create, update, import row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseInput {
    pub credit_code: CreditCode,
    pub name: String,
    /// A unit of kind town (镇街).
    pub town_id: UnitId,
    pub address: Option<String>,
    pub industry_code: Option<String>,
    pub industry_name: Option<String>,
    pub size: Option<EnterpriseSize>,
    pub registered_on: Option<NaiveDate>,
    pub contact_name: Option<String>,
    /// Normalised by [`Phone`].
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
}

/// The free-text fields of a record as typed, before [`EnterpriseText::checked`].
#[derive(Debug, Clone, Default)]
pub struct EnterpriseText<'a> {
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub industry_code: Option<&'a str>,
    pub industry_name: Option<&'a str>,
    pub contact_name: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
    pub tags: &'a [String],
}

/// The checked free-text fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedText {
    pub name: String,
    pub address: Option<String>,
    pub industry_code: Option<String>,
    pub industry_name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
}

impl EnterpriseText<'_> {
    /// Each field trimmed and checked; the first problem refuses the whole.
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text`, `invalid_industry`,
    /// `invalid_phone`, `too_many_tags`.
    pub fn checked(&self) -> Result<CheckedText, DomainError> {
        let industry_code = match self.industry_code.filter(|c| !c.trim().is_empty()) {
            Some(code) => Some(parse_industry_code(code)?),
            None => None,
        };
        let contact_phone = match self.contact_phone.filter(|p| !p.trim().is_empty()) {
            Some(p) => Some(Phone::parse(p)?.as_str().to_owned()),
            None => None,
        };
        Ok(CheckedText {
            name: required_text("企业名称", self.name, NAME_MAX)?,
            address: optional_text("地址", self.address, ADDRESS_MAX)?,
            industry_code,
            industry_name: optional_text("行业名称", self.industry_name, INDUSTRY_NAME_MAX)?,
            contact_name: optional_text("联系人", self.contact_name, CONTACT_NAME_MAX)?,
            contact_phone,
            tags: clean_tags(self.tags)?,
        })
    }
}

/// Tags trimmed, blanks and repeats dropped; at most [`TAGS_MAX`] of at most
/// [`TAG_MAX`] characters. A tag may be separated by `、`, `,` or `，` too.
///
/// # Errors
///
/// `text_too_long`, `invalid_text` or `too_many_tags`.
pub fn clean_tags(tags: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    let words = tags.iter().flat_map(|t| t.split(['、', ',', '，', ';', '；'])).map(str::trim);
    for word in words.filter(|w| !w.is_empty()) {
        let word = required_text("标签", word, TAG_MAX)?;
        if !out.contains(&word) {
            out.push(word);
        }
    }
    if out.len() > TAGS_MAX {
        return Err(DomainError::invalid("too_many_tags", format!("标签不能超过{TAGS_MAX}个")));
    }
    Ok(out)
}

/// Which enterprises an actor may see (数据范围).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterpriseScope {
    All,
    /// The enterprises registered in this town.
    Town(UnitId),
    /// The enterprises this liaison cadre is assigned to now (联系企业).
    Liaison(UserId),
    Nothing,
}

impl EnterpriseScope {
    /// Handlers and unit leaders of a town's units (镇街工作人员) see their
    /// town's enterprises; every other staff role (operators, dispatchers,
    /// supervisors, city leaders, administrators, departments' handlers who
    /// serve the whole city) sees all; a liaison cadre the enterprises assigned
    /// to them. Accounts and strangers see none.
    pub fn of(actor: &Actor) -> Self {
        match actor {
            Actor::Staff(s) if s.role.is_unit_bound() => s.town_id.map_or(Self::All, Self::Town),
            Actor::Staff(s) if s.role == Role::Liaison => s.user_id.map_or(Self::Nothing, Self::Liaison),
            Actor::Staff(_) | Actor::System => Self::All,
            _ => Self::Nothing,
        }
    }

    /// Whether an enterprise in `town_id` followed by the cadres `liaisons` is in scope.
    pub fn permits(self, town_id: UnitId, liaisons: &[UserId]) -> bool {
        match self {
            Self::All => true,
            Self::Town(t) => t == town_id,
            Self::Liaison(user) => liaisons.contains(&user),
            Self::Nothing => false,
        }
    }
}

/// `404 enterprise_not_found` (also for an enterprise out of scope).
pub fn enterprise_not_found(code: &str) -> DomainError {
    DomainError::not_found("enterprise_not_found", format!("企业「{code}」不在名录中"))
}

/// `409 enterprise_exists`.
pub fn enterprise_exists(code: &str) -> DomainError {
    DomainError::conflict("enterprise_exists", format!("统一社会信用代码「{code}」已在名录中，请改为修改"))
}

/// `409 enterprise_changed`: someone saved the record meanwhile.
pub fn enterprise_changed(current: i64) -> DomainError {
    DomainError::conflict("enterprise_changed", format!("该企业档案已被他人修改（现为第{current}版），请刷新后再改"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::org::StaffActor;

    #[test]
    fn pasted_codes_are_normalised_before_the_check() {
        let code = CreditCode::with_check_char("91442000MA4W7K3X5").unwrap();
        let full_width: String =
            code.as_str().chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect::<String>();
        assert_eq!(parse_credit_code(&full_width).unwrap(), code);
        let spaced = format!(" {}-{} {}　", &code.as_str()[..6], &code.as_str()[6..12], &code.as_str()[12..]);
        assert_eq!(parse_credit_code(&spaced.to_lowercase()).unwrap(), code);
        let mut wrong = code.as_str().to_owned();
        wrong.replace_range(17..18, if code.as_str().ends_with('0') { "1" } else { "0" });
        assert_eq!(parse_credit_code(&wrong).unwrap_err().code, "invalid_credit_code");
    }

    #[test]
    fn industry_codes_follow_gb_t_4754() {
        for ok in ["C", "c", "13", "C3874", "3874", "015"] {
            assert!(parse_industry_code(ok).is_ok(), "{ok}");
        }
        for bad in ["U", "00", "98", "12345", "3a", "", "Z13"] {
            assert_eq!(parse_industry_code(bad).unwrap_err().code, "invalid_industry", "{bad}");
        }
    }

    #[test]
    fn tags_split_trim_and_dedupe() {
        let tags = clean_tags(&["专精特新、 高新技术企业".into(), "专精特新".into(), " ".into()]).unwrap();
        assert_eq!(tags, vec!["专精特新", "高新技术企业"]);
        let many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert_eq!(clean_tags(&many).unwrap_err().code, "too_many_tags");
    }

    #[test]
    fn town_staff_see_their_town_and_city_roles_see_all() {
        let staff = |role, town_id| {
            Actor::Staff(StaffActor { user_id: Some(1), name: "x".into(), role, unit_id: 9, units: vec![9], town_id })
        };
        assert_eq!(EnterpriseScope::of(&staff(Role::Handler, Some(5))), EnterpriseScope::Town(5));
        assert_eq!(EnterpriseScope::of(&staff(Role::UnitLeader, Some(5))), EnterpriseScope::Town(5));
        assert_eq!(EnterpriseScope::of(&staff(Role::Handler, None)), EnterpriseScope::All);
        assert_eq!(EnterpriseScope::of(&staff(Role::Supervisor, Some(5))), EnterpriseScope::All);
        assert_eq!(EnterpriseScope::of(&Actor::Anonymous), EnterpriseScope::Nothing);
        assert!(!EnterpriseScope::Town(5).permits(6, &[]));
        let liaison = Actor::Staff(StaffActor {
            user_id: Some(3),
            name: "x".into(),
            role: Role::Liaison,
            unit_id: 9,
            units: vec![9],
            town_id: Some(5),
        });
        assert_eq!(EnterpriseScope::of(&liaison), EnterpriseScope::Liaison(3));
        assert!(EnterpriseScope::Liaison(3).permits(6, &[2, 3]) && !EnterpriseScope::Liaison(3).permits(5, &[2]));
        assert_eq!(EnterpriseSize::parse("规模以上"), Some(EnterpriseSize::Above));
    }
}
