//! The secretary-mayor direct line (书记市长直通车).
//!
//! Enterprises and residents write to the city's Party secretary or mayor
//! on the portal (or the leaders' office enters a letter or a call). The
//! leaders' office (市领导办公室) screens each item: it turns it into an
//! ordinary request, merges it into another item, or puts it before a city
//! leader (呈报). The leader writes an instruction (批示: the text, one lead
//! unit and optional co-units, a time limit in working days); the item is
//! then taken in and dispatched as a request carrying the instruction,
//! supervised (督办). The unit's reply reaches the asker only once the
//! leaders' office approves it on the item; sent back, the unit replies again.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::notify::Vars;
use crate::org::{Actor, Role, UnitId, UserId};
use crate::request::{self, Rating, State};
use crate::validation::{CreditCode, Phone, optional_text, required_text};

/// The longest title.
pub const TITLE_MAX: usize = 100;
/// The longest content.
pub const CONTENT_MAX: usize = 4000;
/// The longest name.
pub const NAME_MAX: usize = 50;
/// The longest instruction, comment or reason.
pub const REMARK_MAX: usize = 2000;
/// The longest time limit of an instruction, in working days.
pub const DAYS_MAX: u32 = 60;
/// Co-units an instruction may name.
pub const CO_UNITS_MAX: usize = 5;
/// The tracking numbers' prefix (直通车).
pub const PREFIX: &str = "ZTC";
/// Refused returns (驳回退回) of one item by the office after which its unit may no longer return it,
/// unless the configuration says otherwise (`direct_line_return_refusals`).
pub const RETURN_REFUSALS_DEFAULT: u32 = 2;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Whom the item is addressed to.
    Addressee {
        Secretary = "secretary" / "书记",
        Mayor = "mayor" / "市长",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// How the item came in.
    Source {
        Portal = "portal" / "网上",
        Letter = "letter" / "来信",
        Call = "call" / "来电",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where an item stands. `handling` items whose request the unit has
    /// replied to are awaiting the office's review (a view, not a state).
    ItemState {
        New = "new" / "待甄别",
        Submitted = "submitted" / "已呈报待批示",
        Converted = "converted" / "已转普通诉求",
        Merged = "merged" / "已合并",
        Handling = "handling" / "批示办理中",
        Answered = "answered" / "已答复",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The leaders' office's queues.
    Queue {
        New = "new" / "待甄别",
        Screened = "screened" / "已甄别",
        Instructed = "instructed" / "已批示",
        /// The lead unit sent the instruction back (退回): the office puts it before the leader again
        /// or re-dispatches it under the same instruction.
        Returned = "returned" / "单位退回",
        Review = "review" / "待审核答复",
    }
);

impl ItemState {
    /// The office's queue an item in this state (its request in `request`) is in.
    pub fn queue(self, request: Option<State>) -> Queue {
        match self {
            Self::New => Queue::New,
            Self::Submitted | Self::Converted | Self::Merged | Self::Answered => Queue::Screened,
            // Replied, or closed on the request's own page before the office reviewed it here.
            Self::Handling if matches!(request, Some(State::Replied | State::Closed)) => Queue::Review,
            Self::Handling if request == Some(State::Returned) => Queue::Returned,
            Self::Handling => Queue::Instructed,
        }
    }
}

/// A new item as taken in, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub source: Source,
    pub addressee: Addressee,
    pub name: String,
    pub phone: Phone,
    pub credit_code: Option<CreditCode>,
    pub title: String,
    pub content: String,
    /// The asker consents to the reply being published (masked) on the portal.
    pub publish_consent: bool,
    pub check_code: String,
    /// The spam screening (垃圾信息甄别) of an item from the portal; letters and calls entered by
    /// the office are not screened. Advisory: every new item waits for the office's 甄别 anyway.
    pub screening: Option<crate::screening::Verdict>,
}

impl NewItem {
    /// Checks an item's fields.
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text`, `invalid_phone`, `invalid_credit_code`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: Source,
        addressee: Addressee,
        name: &str,
        phone: &str,
        credit_code: Option<&str>,
        title: &str,
        content: &str,
        publish_consent: bool,
        check_code: String,
    ) -> Result<Self, DomainError> {
        let credit_code = match credit_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => Some(CreditCode::parse(code)?),
            None => None,
        };
        Ok(Self {
            source,
            addressee,
            name: required_text("姓名", name, NAME_MAX)?,
            phone: Phone::parse(phone)?,
            credit_code,
            title: required_text("标题", title, TITLE_MAX)?,
            content: required_text("内容", content, CONTENT_MAX)?,
            publish_consent,
            check_code,
            screening: None,
        })
    }
}

/// A leader's instruction (批示), checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    pub text: String,
    pub lead: UnitId,
    pub co: Vec<UnitId>,
    pub days: u32,
}

impl Instruction {
    /// # Errors
    ///
    /// `text_required`/`text_too_long` (the text), `instruction_units_required` (no lead unit),
    /// `lead_in_co_units`, `too_many_co_units`, `invalid_time_limit` (not 1 to [`DAYS_MAX`]).
    pub fn new(text: &str, lead: Option<UnitId>, co: &[UnitId], days: Option<u32>) -> Result<Self, DomainError> {
        let text = required_text("批示内容", text, REMARK_MAX)?;
        let lead = lead.ok_or_else(|| DomainError::invalid("instruction_units_required", "批示须指定主办单位"))?;
        let mut units: Vec<UnitId> = Vec::new();
        for &u in co {
            if u == lead {
                return Err(DomainError::invalid("lead_in_co_units", "主办单位不能同时作为协办单位"));
            }
            if !units.contains(&u) {
                units.push(u);
            }
        }
        if units.len() > CO_UNITS_MAX {
            return Err(DomainError::invalid("too_many_co_units", format!("协办单位最多{CO_UNITS_MAX}个")));
        }
        let days = match days {
            Some(d) if (1..=DAYS_MAX).contains(&d) => d,
            _ => {
                return Err(DomainError::invalid(
                    "invalid_time_limit",
                    format!("批示须写明办理时限：1至{DAYS_MAX}个工作日"),
                ));
            }
        };
        Ok(Self { text, lead, co: units, days })
    }
}

/// The office's correction (更正) of an item's fields while it waits for screening: each field given
/// replaces the item's (the category its request will carry, the enterprise it is written for, the
/// title that sums it up). The asker's own words (the content) are never changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Correction {
    pub category_id: Option<request::CategoryId>,
    /// `Some(None)` clears the enterprise (written by a resident after all).
    pub credit_code: Option<Option<CreditCode>>,
    pub title: Option<String>,
}

impl Correction {
    /// A correction of the fields given; an empty credit code clears the enterprise.
    ///
    /// # Errors
    ///
    /// `invalid_credit_code`, `text_required`/`text_too_long`/`invalid_text` (the title),
    /// `nothing_to_correct` (no field given).
    pub fn new(
        category_id: Option<request::CategoryId>,
        credit_code: Option<&str>,
        title: Option<&str>,
    ) -> Result<Self, DomainError> {
        let credit_code = match credit_code.map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(code) => Some(Some(CreditCode::parse(code)?)),
        };
        let title = title.map(|t| required_text("标题", t, TITLE_MAX)).transpose()?;
        if category_id.is_none() && credit_code.is_none() && title.is_none() {
            return Err(nothing_to_correct());
        }
        Ok(Self { category_id, credit_code, title })
    }
}

/// `422 nothing_to_correct`: a correction that changes no field.
pub fn nothing_to_correct() -> DomainError {
    DomainError::invalid("nothing_to_correct", "没有需要更正的内容（分类、企业、标题均与原来相同）")
}

/// A review decision on a unit's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Approve { comment: Option<String> },
    SendBack { reason: String },
}

impl Review {
    /// # Errors
    ///
    /// `text_required` (a send-back without its reason), `text_too_long`.
    pub fn new(approve: bool, text: Option<&str>) -> Result<Self, DomainError> {
        if approve {
            Ok(Self::Approve { comment: optional_text("审核意见", text, REMARK_MAX)? })
        } else {
            Ok(Self::SendBack { reason: required_text("退回理由", text.unwrap_or_default(), REMARK_MAX)? })
        }
    }
}

/// The lead unit's reason for sending an instruction back (退回), required.
///
/// # Errors
///
/// `text_required`, `text_too_long`, `invalid_text`.
pub fn return_reason(reason: &str) -> Result<String, DomainError> {
    required_text("退回理由", reason, REMARK_MAX)
}

/// The office's reason for refusing a unit's return (驳回退回), required: the unit reads it.
///
/// # Errors
///
/// `text_required`, `text_too_long`, `invalid_text`.
pub fn refusal_reason(reason: &str) -> Result<String, DomainError> {
    required_text("驳回理由", reason, REMARK_MAX)
}

/// `403 not_lead_unit`: only the lead unit (主办) sends an instruction back; co-units give their part.
pub fn not_lead_unit() -> DomainError {
    DomainError {
        kind: crate::error::ErrorKind::Forbidden,
        code: "not_lead_unit",
        message: "只有主办单位可以退回批示件；协办单位请向主办单位提交会签意见".into(),
    }
}

/// `409 direct_line_wrong_state` for a return: the request is no longer with the unit unanswered.
pub fn cannot_return(request: State) -> DomainError {
    DomainError::conflict(
        "direct_line_wrong_state",
        format!("批示件的诉求当前为「{}」，只有派单后、答复前的批示件可以退回", request.label()),
    )
}

/// The office's refusals of the current unit's returns (驳回退回) in an item's history (its actions,
/// oldest first): those since the last instruction or re-dispatch, which may have named another unit.
pub fn refused_returns<'a>(actions: impl IntoIterator<Item = &'a str>) -> u32 {
    actions.into_iter().fold(0, |refused, action| match action {
        "instructed" | "reinstructed" | "redispatched" => 0,
        "return_refused" => refused + 1,
        _ => refused,
    })
}

/// Whether the unit may still return an item whose returns the office refused `refused` times, at
/// most `max` allowed: a real 12345 office stops the back-and-forth there; the unit handles the item
/// or asks the office to escalate it.
///
/// # Errors
///
/// `409 direct_line_return_limit`.
pub fn may_return_again(refused: u32, max: u32) -> Result<(), DomainError> {
    if refused < max {
        return Ok(());
    }
    Err(DomainError::conflict(
        "direct_line_return_limit",
        format!(
            "市领导办公室已驳回本单位对该批示件的退回{refused}次，不能再退回：请按批示办理，确有困难的请报市领导办公室协调或升级处理"
        ),
    ))
}

/// A rating and its comment by the asker.
pub fn rating_comment(comment: Option<&str>) -> Result<Option<String>, DomainError> {
    optional_text("评价意见", comment, request::COMMENT_MAX)
}

/// Whether the rating counts as satisfied (满意率: 非常满意, 满意, 基本满意).
pub fn satisfied(rating: Rating) -> bool {
    !rating.is_dissatisfied()
}

/// Which items an actor sees (数据范围).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemScope {
    /// The leaders' office, supervisors and administrators.
    All,
    /// A city leader: the items put before them or instructed by them.
    Leader(UserId),
    /// Handlers and unit leaders: the items whose request their units handle.
    Units(Vec<UnitId>),
    Nothing,
}

impl ItemScope {
    pub fn of(actor: &Actor) -> Self {
        match actor {
            Actor::Staff(s) => match s.role {
                Role::LeadersOffice | Role::Supervisor | Role::Admin => Self::All,
                Role::CityLeader => s.user_id.map_or(Self::Nothing, Self::Leader),
                r if r.is_unit_bound() => Self::Units(s.units.clone()),
                _ => Self::Nothing,
            },
            Actor::System => Self::All,
            _ => Self::Nothing,
        }
    }

    /// Whether an item with these facts is in scope (the store's SQL does the same).
    pub fn permits(&self, leader: Option<UserId>, units: &[UnitId]) -> bool {
        match self {
            Self::All => true,
            Self::Nothing => false,
            Self::Leader(u) => leader == Some(*u),
            Self::Units(mine) => units.iter().any(|u| mine.contains(u)),
        }
    }
}

/// The variables of the SMS the asker gets when the leaders' office approves the answer (答复经审核同意;
/// the notification template `direct_line.answered`): to whom the item was written, its number and check
/// code, and its progress page with the check code (`link`), where the answer is read and rated. The
/// reply's text is not among them (it may name people; the page shows it to the asker).
pub fn answered_vars(addressee: Addressee, tracking_no: &str, check_code: &str, link_base: &str) -> Vars {
    let link = format!("{}/direct-line/track?no={tracking_no}&code={check_code}", link_base.trim_end_matches('/'));
    let mut vars = Vars::new();
    vars.insert("addressee", addressee.label().to_owned());
    vars.insert("tracking_no", tracking_no.to_owned());
    vars.insert("check_code", check_code.to_owned());
    vars.insert("link", link);
    vars
}

/// `404 direct_line_not_found` (also an item out of scope).
pub fn item_not_found() -> DomainError {
    DomainError::not_found("direct_line_not_found", "没有这件直通车来信")
}

/// `409 direct_line_wrong_state`: the step does not fit the item's state.
pub fn wrong_state(state: ItemState, step: &str) -> DomainError {
    DomainError::conflict("direct_line_wrong_state", format!("这件直通车来信当前为「{}」，不能{step}", state.label()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_answered_sms_by_default_says_what_it_said_before_it_was_a_template() {
        use crate::notify::{NoticeChannel, TemplateKey, default_template, render};
        let t = default_template(TemplateKey::DirectLineAnswered, NoticeChannel::Sms).unwrap();
        let vars = answered_vars(Addressee::Mayor, "ZTC202612010001", "87654321", "https://12345.example.gov.cn/");
        assert_eq!(
            render(&t.body, &vars),
            "【马上办】您写给市长的来信ZTC202612010001已有答复，请查看并评价：https://12345.example.gov.cn/direct-line/track?no=ZTC202612010001&code=87654321"
        );
        assert_eq!(default_template(TemplateKey::DirectLineAnswered, NoticeChannel::Email), None);
    }

    #[test]
    fn a_correction_names_at_least_one_field_and_checks_each() {
        assert_eq!(Correction::new(None, None, None).unwrap_err().code, "nothing_to_correct");
        assert_eq!(Correction::new(None, Some("91350100M000100Y44"), None).unwrap_err().code, "invalid_credit_code");
        assert_eq!(Correction::new(None, None, Some("  ")).unwrap_err().code, "text_required");
        let cleared = Correction::new(None, Some(" "), None).unwrap();
        assert_eq!(cleared.credit_code, Some(None), "an empty code clears the enterprise");
        let c = Correction::new(Some(7), Some("91350100M000100Y43"), Some(" 厂区扩建规划许可 ")).unwrap();
        assert_eq!((c.category_id, c.title.as_deref()), (Some(7), Some("厂区扩建规划许可")));
        assert_eq!(c.credit_code.flatten().map(|c| c.as_str().to_owned()).as_deref(), Some("91350100M000100Y43"));
    }

    #[test]
    fn an_instruction_needs_a_unit_and_a_time_limit() {
        assert_eq!(Instruction::new("请办理", None, &[], Some(5)).unwrap_err().code, "instruction_units_required");
        assert_eq!(Instruction::new("请办理", Some(1), &[], None).unwrap_err().code, "invalid_time_limit");
        assert_eq!(Instruction::new("请办理", Some(1), &[], Some(0)).unwrap_err().code, "invalid_time_limit");
        assert_eq!(Instruction::new("请办理", Some(1), &[1], Some(5)).unwrap_err().code, "lead_in_co_units");
        assert_eq!(Instruction::new(" ", Some(1), &[], Some(5)).unwrap_err().code, "text_required");
        let ok = Instruction::new("请尽快办理", Some(1), &[2, 2, 3], Some(10)).unwrap();
        assert_eq!((ok.co, ok.days), (vec![2, 3], 10));
    }

    #[test]
    fn a_send_back_needs_its_reason_and_queues_follow_the_request() {
        assert_eq!(Review::new(false, Some("  ")).unwrap_err().code, "text_required");
        assert_eq!(Review::new(true, None).unwrap(), Review::Approve { comment: None });
        assert_eq!(ItemState::Handling.queue(Some(State::Replied)), Queue::Review);
        assert_eq!(ItemState::Handling.queue(Some(State::InProgress)), Queue::Instructed);
        assert_eq!(ItemState::New.queue(None), Queue::New);
        assert_eq!(ItemState::Handling.queue(Some(State::Returned)), Queue::Returned);
        assert_eq!(return_reason(" ").unwrap_err().code, "text_required");
        assert_eq!(refusal_reason("").unwrap_err().code, "text_required");
    }

    #[test]
    fn scopes_follow_the_role() {
        assert!(ItemScope::Units(vec![3]).permits(None, &[5, 3]));
        assert!(!ItemScope::Units(vec![3]).permits(Some(1), &[5]));
        assert!(ItemScope::Leader(7).permits(Some(7), &[]));
        assert!(!ItemScope::Leader(7).permits(Some(8), &[]));
    }

    #[test]
    fn refused_returns_count_since_the_unit_was_last_named() {
        let history = ["received", "submitted", "instructed", "returned", "return_refused", "returned"];
        assert_eq!(refused_returns(history), 1);
        let twice = ["instructed", "returned", "return_refused", "returned", "return_refused"];
        assert_eq!(refused_returns(twice), 2);
        let moved = ["instructed", "returned", "return_refused", "returned", "redispatched"];
        assert_eq!(refused_returns(moved), 0, "a re-dispatch names another unit: it starts afresh");
        assert!(may_return_again(1, 2).is_ok());
        let e = may_return_again(2, 2).unwrap_err();
        assert_eq!((e.code, e.message.contains("驳回本单位对该批示件的退回2次")), ("direct_line_return_limit", true));
        assert_eq!(may_return_again(0, 0).unwrap_err().code, "direct_line_return_limit", "0 allows no return");
    }
}
