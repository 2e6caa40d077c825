//! Liaison cadres (领导干部联系企业): leaders assigned to follow enterprises,
//! one lead liaison (牵头) per enterprise and any number of others, each
//! cadre at a level with a visit-frequency rule; and the contact card (联系卡)
//! an enterprise keeps, whose QR code opens the portal's form through a link
//! signed by the server (the signing itself is the application's: it holds
//! the secret).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::org::{Role, UserId};
use crate::validation::{Phone, required_text};

/// The longest post (职务) printed on a card, in characters.
pub const POST_MAX: usize = 40;
/// Cards are valid for this many days from printing unless asked otherwise.
pub const CARD_DAYS_DEFAULT: i64 = 365;
/// The longest validity a card may be printed with (three years).
pub const CARD_DAYS_MAX: i64 = 3 * 366;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// A cadre's level (干部层级), which sets how often they visit (走访频次).
    CadreLevel {
        /// City leader (市领导): once a quarter.
        City = "city" / "市领导",
        /// Head of a city department (部门负责人): once every two months.
        Department = "department" / "部门负责人",
        /// Town or street leader (镇街领导): once a month.
        Town = "town" / "镇街领导",
    }
);

impl CadreLevel {
    /// Days between visits by the default rule (city once a quarter, a
    /// department head every two months, a town leader every month). Visits
    /// are not recorded yet, so no visit is flagged as due from this.
    pub fn visit_interval_days(self) -> u32 {
        match self {
            Self::City => 90,
            Self::Department => 60,
            Self::Town => 30,
        }
    }

    /// The rule in Chinese, e.g. 「每季度至少走访一次」.
    pub fn visit_rule(self) -> &'static str {
        match self {
            Self::City => "每季度至少走访一次",
            Self::Department => "每两个月至少走访一次",
            Self::Town => "每月至少走访一次",
        }
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// How a cadre follows an enterprise.
    LiaisonKind {
        /// The lead liaison (牵头联系), one per enterprise.
        Lead = "lead" / "牵头联系",
        /// Another liaison (联系).
        Member = "member" / "联系",
    }
);

/// The roles a cadre may hold: the liaison cadre role itself, city leaders
/// and unit leaders (department heads, town leaders).
pub const CADRE_ROLES: &[Role] = &[Role::Liaison, Role::CityLeader, Role::UnitLeader];

/// A cadre's profile as it is written: level, post and work phone, as printed on cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadreInput {
    pub user_id: UserId,
    pub level: CadreLevel,
    pub post: String,
    /// Normalised by [`Phone`].
    pub work_phone: String,
}

impl CadreInput {
    /// Checks the typed fields of a profile for the user holding `role`.
    ///
    /// # Errors
    ///
    /// `not_a_cadre`, `text_required`, `text_too_long`, `invalid_text`, `invalid_phone`.
    pub fn new(
        user_id: UserId,
        role: Role,
        level: CadreLevel,
        post: &str,
        work_phone: &str,
    ) -> Result<Self, DomainError> {
        if !CADRE_ROLES.contains(&role) {
            return Err(DomainError::invalid(
                "not_a_cadre",
                format!("「{}」角色不能担任联系干部；联系干部应为联系干部、市领导或单位领导账号", role.label()),
            ));
        }
        Ok(Self {
            user_id,
            level,
            post: required_text("职务", post, POST_MAX)?,
            work_phone: Phone::parse(work_phone)?.as_str().to_owned(),
        })
    }
}

/// What a contact card's signed link claims: this cadre follows this
/// enterprise, until the end of `expires_on` (Asia/Shanghai).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardClaim {
    pub credit_code: String,
    pub liaison_user_id: UserId,
    pub expires_on: NaiveDate,
}

impl CardClaim {
    /// The exact bytes the server signs: a version tag and each field on its own line.
    pub fn signed_text(&self) -> String {
        format!(
            "mashangban-card-v1\n{}\n{}\n{}",
            self.credit_code,
            self.liaison_user_id,
            self.expires_on.format("%Y%m%d")
        )
    }

    /// Reads the link's fields (`e`, `l`, `x`) as they arrive; anything
    /// malformed is the same refusal as a wrong signature.
    ///
    /// # Errors
    ///
    /// `card_invalid`.
    pub fn parse(credit_code: &str, liaison: &str, expires: &str) -> Result<Self, DomainError> {
        let bounded = |s: &str, max: usize| s.len() <= max && !s.is_empty();
        if !bounded(credit_code, 18) || !bounded(liaison, 19) || expires.len() != 8 {
            return Err(card_invalid());
        }
        let liaison_user_id = liaison.parse::<UserId>().map_err(|_| card_invalid())?;
        let expires_on = NaiveDate::parse_from_str(expires, "%Y%m%d").map_err(|_| card_invalid())?;
        Ok(Self { credit_code: credit_code.to_owned(), liaison_user_id, expires_on })
    }

    /// Whether the card is still valid on `today` (the whole expiry day counts).
    pub fn valid_on(&self, today: NaiveDate) -> bool {
        today <= self.expires_on
    }
}

/// `403 card_invalid`: the link was altered or is not one the server signed.
pub fn card_invalid() -> DomainError {
    refused("card_invalid", "联系卡链接无效：链接内容被改动或不完整，请扫描联系卡上的二维码重新打开".into())
}

/// `403 card_expired` (the card page answers 410).
pub fn card_expired(expires_on: NaiveDate) -> DomainError {
    refused(
        "card_expired",
        format!("该联系卡已于 {} 过期，请联系您的联系干部换发新卡，或直接拨打 12345", expires_on.format("%Y-%m-%d")),
    )
}

/// `403 card_withdrawn` (the card page answers 410): the cadre no longer follows the enterprise.
pub fn card_withdrawn() -> DomainError {
    refused("card_withdrawn", "该联系卡所列干部已不再联系贵企业，请向镇街索取新的联系卡，或直接拨打 12345".into())
}

fn refused(code: &'static str, message: String) -> DomainError {
    DomainError { kind: ErrorKind::Forbidden, code, message }
}

/// `404 liaison_not_found`.
pub fn assignment_not_found() -> DomainError {
    DomainError::not_found("liaison_not_found", "没有这条联系干部安排")
}

/// `404 cadre_not_found`: no profile for the user (set the level, post and phone first).
pub fn cadre_not_found() -> DomainError {
    DomainError::not_found("cadre_not_found", "该用户还不是联系干部，请先填写其层级、职务和工作电话")
}

/// `409 liaison_exists`.
pub fn already_assigned(name: &str) -> DomainError {
    DomainError::conflict("liaison_exists", format!("「{name}」已是该企业的联系干部"))
}

/// `409 lead_liaison_exists`: one lead liaison per enterprise.
pub fn lead_exists(name: &str) -> DomainError {
    DomainError::conflict(
        "lead_liaison_exists",
        format!("该企业已有牵头联系干部「{name}」；请先解除其安排，或将新干部安排为一般联系"),
    )
}

/// `409 liaison_ended`: the assignment was ended already.
pub fn assignment_ended() -> DomainError {
    DomainError::conflict("liaison_ended", "这条联系干部安排已经解除")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_leaders_and_liaisons_are_cadres() {
        assert!(CadreInput::new(1, Role::Liaison, CadreLevel::Town, "党委副书记", "0760-88881234").is_ok());
        assert_eq!(
            CadreInput::new(1, Role::Operator, CadreLevel::Town, "话务员", "13800138000").unwrap_err().code,
            "not_a_cadre"
        );
        assert_eq!(
            CadreInput::new(1, Role::CityLeader, CadreLevel::City, " ", "13800138000").unwrap_err().code,
            "text_required"
        );
        assert_eq!(
            CadreInput::new(1, Role::CityLeader, CadreLevel::City, "副市长", "12").unwrap_err().code,
            "invalid_phone"
        );
    }

    #[test]
    fn card_claims_parse_strictly_and_expire_after_their_day() {
        let claim = CardClaim::parse("91350100M000100Y43", "12", "20271231").unwrap();
        assert_eq!(claim.signed_text(), "mashangban-card-v1\n91350100M000100Y43\n12\n20271231");
        assert!(claim.valid_on(NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()));
        assert!(!claim.valid_on(NaiveDate::from_ymd_opt(2028, 1, 1).unwrap()));
        for (e, l, x) in [("", "1", "20271231"), ("X", "a", "20271231"), ("X", "1", "2027123"), ("X", "1", "20271341")]
        {
            assert_eq!(CardClaim::parse(e, l, x).unwrap_err().code, "card_invalid");
        }
        assert_eq!(CardClaim::parse(&"9".repeat(19), "1", "20271231").unwrap_err().code, "card_invalid");
    }

    #[test]
    fn levels_have_documented_visit_rules() {
        assert_eq!(CadreLevel::City.visit_interval_days(), 90);
        assert_eq!(CadreLevel::parse("town").map(CadreLevel::visit_rule), Some("每月至少走访一次"));
    }
}
