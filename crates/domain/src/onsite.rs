//! On-site service (行走办): an enterprise asks a service centre (政务服务中心)
//! to come and handle government services on its premises — items of the
//! service catalogue (服务事项目录) with a count each, the number of people and
//! one to three preferred dates. The centre accepts on a preferred date with a
//! team, within its daily capacity, or proposes another date the enterprise
//! confirms; after the visit the centre records what was handled per item and
//! the enterprise rates the service.
//!
//! Centres are their own records referencing a unit of the org tree (the unit
//! whose staff work the centre's queue), not a unit kind: a centre adds a
//! daily capacity to a unit, and units keep their four kinds.
//!
//! Everything here is pure: [`apply`] decides what an action does to a
//! request, [`check_capacity`] whether a day has room; the store writes the
//! change with its history row in one transaction.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::notify::{TemplateKey, Vars, excerpt};
use crate::validation::{optional_text, required_text};

/// The most items one request names.
pub const MAX_ITEMS: usize = 20;
/// The most people (and the most of one item) one request covers.
pub const MAX_PEOPLE: u32 = 5000;
/// The most preferred dates.
pub const MAX_DATES: usize = 3;
/// How far ahead a date may lie, in days.
pub const MAX_DAYS_AHEAD: i64 = 180;
/// The most sessions a centre holds on one day.
pub const MAX_CAPACITY: u32 = 50;
/// The longest free text (notes, reasons, comments).
pub const MAX_TEXT_CHARS: usize = 1000;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The stage of an on-site service request.
    OnsiteStage {
        Submitted = "submitted" / "待受理",
        /// The centre proposed another date; the enterprise confirms (改期待确认).
        Proposed = "proposed" / "改期待确认",
        Accepted = "accepted" / "已受理",
        /// The centre came and recorded what it handled (已上门).
        Held = "held" / "已上门",
        Rated = "rated" / "已评价",
        Refused = "refused" / "不予受理",
        Withdrawn = "withdrawn" / "已撤回",
    }
);

impl OnsiteStage {
    /// Whether the stage holds a session on its date (counts against the day's capacity).
    pub fn holds_session(self) -> bool {
        matches!(self, Self::Proposed | Self::Accepted | Self::Held | Self::Rated)
    }

    /// The stages that hold a session, as codes (for the store's count).
    pub fn session_codes() -> Vec<&'static str> {
        Self::ALL.iter().filter(|s| s.holds_session()).map(|s| s.as_str()).collect()
    }
}

/// One catalogue item asked for, with how many people need it, and (once held) how many were handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemLine {
    pub item_id: i64,
    pub count: u32,
    pub handled: Option<u32>,
}

/// An on-site service request (行走办申请) as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onsite {
    pub stage: OnsiteStage,
    pub people: u32,
    pub preferred_dates: Vec<NaiveDate>,
    pub items: Vec<ItemLine>,
    /// The session's date: accepted, or proposed by the centre.
    pub date: Option<NaiveDate>,
    /// The centre's team (上门人员).
    pub team: Option<String>,
    pub rating: Option<u8>,
    pub comment: Option<String>,
}

/// A request as asked, before it is stored: what [`OnsiteDraft::check`] makes of the form.
#[derive(Debug, Clone, Default)]
pub struct OnsiteDraft {
    pub people: u32,
    pub dates: Vec<String>,
    /// (catalogue item id, count).
    pub items: Vec<(i64, u32)>,
}

/// A catalogue item as the check of a request needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownItem {
    pub id: i64,
    pub active: bool,
}

fn people_error() -> DomainError {
    DomainError::invalid("invalid_people", format!("办理人数应为1~{MAX_PEOPLE}人"))
}

/// A date `YYYY-MM-DD` (`invalid_date`).
pub fn parse_date(label: &str, text: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("invalid_date", format!("「{label}」应为日期，如 2026-12-31")))
}

/// A session date: not before `today`, at most [`MAX_DAYS_AHEAD`] days ahead, a working day when
/// the calendar knows the year (`is_workday` answers `None` for years it does not cover).
/// Codes: `date_in_past`, `date_too_far`, `not_a_workday`.
pub fn check_date(
    date: NaiveDate,
    today: NaiveDate,
    is_workday: &dyn Fn(NaiveDate) -> Option<bool>,
) -> Result<NaiveDate, DomainError> {
    if date < today {
        return Err(DomainError::invalid("date_in_past", format!("{date} 已过去，请选择今天或以后的日期")));
    }
    if (date - today).num_days() > MAX_DAYS_AHEAD {
        return Err(DomainError::invalid("date_too_far", format!("日期不能晚于{MAX_DAYS_AHEAD}天以后")));
    }
    if is_workday(date) == Some(false) {
        return Err(DomainError::invalid("not_a_workday", format!("{date} 不是工作日，请选择工作日")));
    }
    Ok(date)
}

impl OnsiteDraft {
    /// A new request at 待受理. Codes: `invalid_people`, `items_required`, `too_many_items`,
    /// `unknown_item` (not in the catalogue or no longer offered), `duplicate_item`, `invalid_count`,
    /// `dates_required`, `too_many_dates`, `duplicate_date`, `invalid_date` and those of [`check_date`].
    pub fn check(
        self,
        catalogue: &[KnownItem],
        today: NaiveDate,
        is_workday: &dyn Fn(NaiveDate) -> Option<bool>,
    ) -> Result<Onsite, DomainError> {
        if !(1..=MAX_PEOPLE).contains(&self.people) {
            return Err(people_error());
        }
        if self.items.is_empty() {
            return Err(DomainError::invalid("items_required", "请至少选择一项服务事项"));
        }
        if self.items.len() > MAX_ITEMS {
            return Err(DomainError::invalid("too_many_items", format!("一次最多申请{MAX_ITEMS}项服务事项")));
        }
        let mut items: Vec<ItemLine> = Vec::with_capacity(self.items.len());
        for (item_id, count) in self.items {
            if !catalogue.iter().any(|k| k.id == item_id && k.active) {
                return Err(DomainError::invalid(
                    "unknown_item",
                    format!("服务事项目录中没有编号为{item_id}的在办事项"),
                ));
            }
            if items.iter().any(|l| l.item_id == item_id) {
                return Err(DomainError::invalid("duplicate_item", "同一服务事项只能选择一次"));
            }
            if !(1..=self.people).contains(&count) {
                return Err(DomainError::invalid("invalid_count", "每项的办理人数应为1至申请的总人数"));
            }
            items.push(ItemLine { item_id, count, handled: None });
        }
        let dates = self.dates.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect::<Vec<_>>();
        if dates.is_empty() {
            return Err(DomainError::invalid("dates_required", "请至少填写一个希望上门的日期"));
        }
        if dates.len() > MAX_DATES {
            return Err(DomainError::invalid("too_many_dates", format!("希望上门的日期最多{MAX_DATES}个")));
        }
        let mut preferred: Vec<NaiveDate> = Vec::with_capacity(dates.len());
        for text in dates {
            let date = check_date(parse_date("希望上门日期", text)?, today, is_workday)?;
            if preferred.contains(&date) {
                return Err(DomainError::invalid("duplicate_date", "希望上门的日期不能重复"));
            }
            preferred.push(date);
        }
        preferred.sort_unstable();
        Ok(Onsite {
            stage: OnsiteStage::Submitted,
            people: self.people,
            preferred_dates: preferred,
            items,
            date: None,
            team: None,
            rating: None,
            comment: None,
        })
    }
}

/// Whether a centre with `capacity` sessions a day has room for one more when `booked` are held
/// that day already (`over_capacity`, 409).
pub fn check_capacity(booked: u32, capacity: u32, date: NaiveDate) -> Result<(), DomainError> {
    if booked < capacity {
        Ok(())
    } else {
        Err(DomainError::conflict(
            "over_capacity",
            format!("{date} 已安排{booked}场上门服务，达到每日上限{capacity}场，请另选日期"),
        ))
    }
}

/// A centre's daily capacity as entered (`invalid_capacity`).
pub fn check_capacity_setting(capacity: u32) -> Result<u32, DomainError> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(DomainError::invalid("invalid_capacity", format!("每日可上门场次应为1~{MAX_CAPACITY}")))
    }
}

/// Something done to a request; the centre accepts, proposes, refuses and records; the enterprise
/// confirms, withdraws and rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnsiteAction {
    /// Accepted (受理) on one of the preferred dates with a team.
    Accept { date: NaiveDate, team: String },
    /// Another date proposed (改期), with the team and why.
    Propose { date: NaiveDate, team: String, note: Option<String> },
    /// The enterprise confirms the proposed date.
    Confirm,
    /// Not taken on (不予受理), with the reason.
    Refuse { reason: String },
    /// The enterprise withdraws its request (撤回).
    Withdraw { reason: Option<String> },
    /// What was handled per item on the day (办理情况); `today` is when it is recorded.
    Record { handled: Vec<(i64, u32)>, note: Option<String>, today: NaiveDate },
    /// The enterprise's rating 1–5 with a comment (评价).
    Rate { rating: u8, comment: Option<String> },
}

impl OnsiteAction {
    /// The stable code of the history row.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "accepted",
            Self::Propose { .. } => "proposed",
            Self::Confirm => "confirmed",
            Self::Refuse { .. } => "refused",
            Self::Withdraw { .. } => "withdrawn",
            Self::Record { .. } => "held",
            Self::Rate { .. } => "rated",
        }
    }

    /// Its label in the history.
    pub fn label(&self) -> &'static str {
        history_label(self.kind())
    }

    /// The history row's text.
    pub fn note(&self) -> Option<String> {
        match self {
            Self::Accept { date, team } => Some(format!("上门日期 {date}，上门人员：{team}")),
            Self::Propose { date, team, note } => Some(match note {
                Some(n) => format!("建议改为 {date}，上门人员：{team}；{n}"),
                None => format!("建议改为 {date}，上门人员：{team}"),
            }),
            Self::Confirm => None,
            Self::Refuse { reason } => Some(reason.clone()),
            Self::Withdraw { reason } | Self::Record { note: reason, .. } => reason.clone(),
            Self::Rate { rating, comment } => Some(match comment {
                Some(c) => format!("{rating}星：{c}"),
                None => format!("{rating}星"),
            }),
        }
    }
}

/// What the asking enterprise is told (SMS and e-mail copies) when the centre decides on its request:
/// a notification template (通知模板) and its variables but `link`, which the store adds with the public
/// address; the store renders the template in force when it queues the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseNotice {
    /// `onsite.accepted`, `onsite.proposed` or `onsite.refused`.
    pub template: TemplateKey,
    /// `number`, `centre`, `date` (accepted, proposed; else empty) and `reason_excerpt` (refused; else
    /// empty): the reason masked by the caller's `mask`, then cut to its first 30 characters.
    pub vars: Vars,
}

impl OnsiteAction {
    /// The notice the enterprise gets when the centre accepts, proposes another date or refuses;
    /// none for the other actions (the enterprise's own, and the centre's record of the day).
    /// `mask` hides the personal data of a free text (the reason) before it is cut.
    pub fn enterprise_notice(
        &self,
        number: &str,
        centre: &str,
        mask: &dyn Fn(&str) -> String,
    ) -> Option<EnterpriseNotice> {
        let (template, date, reason) = match self {
            Self::Accept { date, .. } => (TemplateKey::OnsiteAccepted, date.to_string(), String::new()),
            Self::Propose { date, .. } => (TemplateKey::OnsiteProposed, date.to_string(), String::new()),
            Self::Refuse { reason } => (TemplateKey::OnsiteRefused, String::new(), excerpt(&mask(reason), 30)),
            _ => return None,
        };
        let mut vars = Vars::new();
        vars.insert("number", number.to_owned());
        vars.insert("centre", centre.to_owned());
        vars.insert("date", date);
        vars.insert("reason_excerpt", reason);
        Some(EnterpriseNotice { template, vars })
    }
}

/// The label of a history row's kind.
pub fn history_label(kind: &str) -> &'static str {
    match kind {
        "submitted" => "提交申请",
        "accepted" => "受理",
        "proposed" => "建议改期",
        "confirmed" => "确认改期",
        "refused" => "不予受理",
        "withdrawn" => "撤回",
        "held" => "登记办理情况",
        "rated" => "评价",
        "document_added" => "上传附件",
        "document_withdrawn" => "撤回附件",
        _ => "其他",
    }
}

fn wrong_stage(r: &Onsite, action: &OnsiteAction) -> DomainError {
    DomainError::conflict(
        "illegal_onsite_transition",
        format!("申请当前为「{}」，不能「{}」", r.stage.label(), action.label()),
    )
}

/// What `action` makes of `r`. The date of an accept or proposal is checked by [`check_date`] and the
/// day's room by [`check_capacity`] before. Codes: `illegal_onsite_transition` (409),
/// `date_not_preferred`, `date_is_preferred`, `too_early`, `unknown_item`, `handled_required`,
/// `invalid_count`, `invalid_rating` (422).
pub fn apply(r: &Onsite, action: &OnsiteAction) -> Result<Onsite, DomainError> {
    use OnsiteStage::*;
    let mut next = r.clone();
    let at = |stages: &[OnsiteStage]| if stages.contains(&r.stage) { Ok(()) } else { Err(wrong_stage(r, action)) };
    match action {
        OnsiteAction::Accept { date, team } => {
            at(&[Submitted])?;
            if !r.preferred_dates.contains(date) {
                return Err(DomainError::invalid(
                    "date_not_preferred",
                    "受理日期应为企业希望的日期之一，否则请建议改期",
                ));
            }
            (next.date, next.team, next.stage) = (Some(*date), Some(team.clone()), Accepted);
        }
        OnsiteAction::Propose { date, team, .. } => {
            at(&[Submitted])?;
            if r.preferred_dates.contains(date) {
                return Err(DomainError::invalid("date_is_preferred", "这是企业希望的日期，请直接受理"));
            }
            (next.date, next.team, next.stage) = (Some(*date), Some(team.clone()), Proposed);
        }
        OnsiteAction::Confirm => {
            at(&[Proposed])?;
            next.stage = Accepted;
        }
        OnsiteAction::Refuse { .. } => {
            at(&[Submitted, Proposed])?;
            (next.date, next.stage) = (None, Refused);
        }
        OnsiteAction::Withdraw { .. } => {
            at(&[Submitted, Proposed, Accepted])?;
            (next.date, next.stage) = (None, Withdrawn);
        }
        OnsiteAction::Record { handled, today, .. } => {
            at(&[Accepted])?;
            if r.date.is_some_and(|d| *today < d) {
                return Err(DomainError::conflict("too_early", "上门日期未到，不能登记办理情况"));
            }
            next.items = record(&r.items, handled)?;
            next.stage = Held;
        }
        OnsiteAction::Rate { rating, comment } => {
            at(&[Held])?;
            if !(1..=5).contains(rating) {
                return Err(DomainError::invalid("invalid_rating", "评分应为1~5星"));
            }
            (next.rating, next.comment, next.stage) = (Some(*rating), comment.clone(), Rated);
        }
    }
    Ok(next)
}

/// The items with the counts handled: every item asked for once, none other, each at most
/// [`MAX_PEOPLE`].
fn record(items: &[ItemLine], handled: &[(i64, u32)]) -> Result<Vec<ItemLine>, DomainError> {
    if let Some((id, _)) = handled.iter().find(|(id, _)| !items.iter().any(|l| l.item_id == *id)) {
        return Err(DomainError::invalid("unknown_item", format!("本申请没有编号为{id}的服务事项")));
    }
    items
        .iter()
        .map(|line| {
            let mut given = handled.iter().filter(|(id, _)| *id == line.item_id);
            match (given.next(), given.next()) {
                (Some((_, n)), None) if *n <= MAX_PEOPLE => Ok(ItemLine { handled: Some(*n), ..*line }),
                (Some(_), None) => Err(DomainError::invalid("invalid_count", format!("办理数量不能超过{MAX_PEOPLE}"))),
                _ => Err(DomainError::invalid("handled_required", "请为每项服务事项登记一次办理数量")),
            }
        })
        .collect()
}

/// A catalogue item's code (`invalid_item_code`): 2–32 letters, digits, `-` or `_`.
pub fn item_code(code: &str) -> Result<String, DomainError> {
    let code = code.trim();
    let ok = (2..=32).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(DomainError::invalid("invalid_item_code", "事项编码应为2~32位字母、数字、连字符或下划线"))
    }
}

/// A required text of this module (`text_required`, `text_too_long`, `invalid_text`).
pub fn text(label: &str, value: &str, max: usize) -> Result<String, DomainError> {
    required_text(label, value, max)
}

/// An optional text of this module.
pub fn optional(label: &str, value: Option<&str>) -> Result<Option<String>, DomainError> {
    optional_text(label, value, MAX_TEXT_CHARS)
}

pub fn onsite_not_found() -> DomainError {
    DomainError::not_found("onsite_not_found", "没有找到这项上门服务申请")
}

pub fn onsite_changed() -> DomainError {
    DomainError::conflict("onsite_changed", "申请已被他人更新，请刷新后重试")
}

pub fn centre_not_found() -> DomainError {
    DomainError::not_found("centre_not_found", "没有找到这个政务服务中心")
}

pub fn item_not_found() -> DomainError {
    DomainError::not_found("item_not_found", "没有找到这项服务事项")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const CATALOGUE: &[KnownItem] =
        &[KnownItem { id: 1, active: true }, KnownItem { id: 2, active: true }, KnownItem { id: 3, active: false }];

    fn any_day(_: NaiveDate) -> Option<bool> {
        None
    }

    fn draft() -> OnsiteDraft {
        OnsiteDraft { people: 40, dates: vec!["2026-12-10".into(), "2026-12-08".into()], items: vec![(1, 40), (2, 12)] }
    }

    fn submitted() -> Onsite {
        draft().check(CATALOGUE, day("2026-12-04"), &any_day).unwrap()
    }

    fn code<T: std::fmt::Debug>(r: Result<T, DomainError>) -> &'static str {
        r.unwrap_err().code
    }

    #[test]
    fn a_request_is_checked_against_the_catalogue_the_people_and_the_dates() {
        let r = submitted();
        assert_eq!(r.stage, OnsiteStage::Submitted);
        assert_eq!(r.preferred_dates, vec![day("2026-12-08"), day("2026-12-10")], "sorted");
        let today = day("2026-12-04");
        let with = |f: &dyn Fn(&mut OnsiteDraft)| {
            let mut d = draft();
            f(&mut d);
            d.check(CATALOGUE, today, &any_day)
        };
        assert_eq!(code(with(&|d| d.people = 0)), "invalid_people");
        assert_eq!(code(with(&|d| d.people = 100_000)), "invalid_people");
        assert_eq!(code(with(&|d| d.items = vec![(9, 1)])), "unknown_item");
        assert_eq!(code(with(&|d| d.items = vec![(3, 1)])), "unknown_item", "inactive items are not offered");
        assert_eq!(code(with(&|d| d.items = vec![])), "items_required");
        assert_eq!(code(with(&|d| d.items = vec![(1, 1), (1, 2)])), "duplicate_item");
        assert_eq!(code(with(&|d| d.items = vec![(1, 41)])), "invalid_count");
        assert_eq!(code(with(&|d| d.dates = vec!["2026-12-03".into()])), "date_in_past");
        assert_eq!(code(with(&|d| d.dates = vec!["2027-12-03".into()])), "date_too_far");
        assert_eq!(code(with(&|d| d.dates = vec!["12/08".into()])), "invalid_date");
        assert_eq!(code(with(&|d| d.dates = vec![])), "dates_required");
        assert_eq!(code(with(&|d| d.dates = vec!["2026-12-08".into(); 2])), "duplicate_date");
        let four = vec!["2026-12-08".into(), "2026-12-09".into(), "2026-12-10".into(), "2026-12-11".into()];
        assert_eq!(code(with(&|d| d.dates = four.clone())), "too_many_dates");
        let weekend = |d: NaiveDate| Some(d != day("2026-12-12"));
        let mut d = draft();
        d.dates = vec!["2026-12-12".into()];
        assert_eq!(code(d.check(CATALOGUE, today, &weekend)), "not_a_workday");
    }

    #[test]
    fn the_lifecycle_runs_from_submitted_to_rated_and_refuses_the_rest() {
        let r = submitted();
        let accept = |date: &str| OnsiteAction::Accept { date: day(date), team: "窗口两人".into() };
        assert_eq!(code(apply(&r, &accept("2026-12-09"))), "date_not_preferred");
        let accepted = apply(&r, &accept("2026-12-08")).unwrap();
        assert_eq!((accepted.stage, accepted.date), (OnsiteStage::Accepted, Some(day("2026-12-08"))));
        assert_eq!(code(apply(&accepted, &accept("2026-12-08"))), "illegal_onsite_transition");
        assert_eq!(
            code(apply(&accepted, &OnsiteAction::Rate { rating: 5, comment: None })),
            "illegal_onsite_transition"
        );

        let record =
            |handled: Vec<(i64, u32)>, today: &str| OnsiteAction::Record { handled, note: None, today: day(today) };
        assert_eq!(code(apply(&accepted, &record(vec![(1, 40), (2, 10)], "2026-12-07"))), "too_early");
        assert_eq!(code(apply(&accepted, &record(vec![(1, 40)], "2026-12-08"))), "handled_required");
        assert_eq!(code(apply(&accepted, &record(vec![(1, 40), (2, 1), (7, 1)], "2026-12-08"))), "unknown_item");
        let held = apply(&accepted, &record(vec![(1, 38), (2, 12)], "2026-12-08")).unwrap();
        assert_eq!(held.stage, OnsiteStage::Held);
        assert_eq!(held.items.iter().map(|l| l.handled).collect::<Vec<_>>(), vec![Some(38), Some(12)]);
        assert_eq!(code(apply(&held, &OnsiteAction::Withdraw { reason: None })), "illegal_onsite_transition");
        assert_eq!(code(apply(&held, &OnsiteAction::Rate { rating: 6, comment: None })), "invalid_rating");
        let rated = apply(&held, &OnsiteAction::Rate { rating: 5, comment: Some("很方便".into()) }).unwrap();
        assert_eq!((rated.stage, rated.rating), (OnsiteStage::Rated, Some(5)));
        assert_eq!(code(apply(&rated, &OnsiteAction::Rate { rating: 4, comment: None })), "illegal_onsite_transition");
    }

    #[test]
    fn a_proposed_date_is_confirmed_by_the_enterprise_and_refusals_end_it() {
        let r = submitted();
        let propose = |date: &str| OnsiteAction::Propose { date: day(date), team: "两人".into(), note: None };
        assert_eq!(code(apply(&r, &propose("2026-12-08"))), "date_is_preferred");
        let proposed = apply(&r, &propose("2026-12-15")).unwrap();
        assert_eq!((proposed.stage, proposed.date), (OnsiteStage::Proposed, Some(day("2026-12-15"))));
        let confirmed = apply(&proposed, &OnsiteAction::Confirm).unwrap();
        assert_eq!((confirmed.stage, confirmed.date), (OnsiteStage::Accepted, Some(day("2026-12-15"))));
        assert_eq!(code(apply(&r, &OnsiteAction::Confirm)), "illegal_onsite_transition");
        let refused = apply(&proposed, &OnsiteAction::Refuse { reason: "人手不足".into() }).unwrap();
        assert_eq!((refused.stage, refused.date), (OnsiteStage::Refused, None));
        assert_eq!(code(apply(&refused, &OnsiteAction::Confirm)), "illegal_onsite_transition");
        let withdrawn = apply(&confirmed, &OnsiteAction::Withdraw { reason: None }).unwrap();
        assert!(!withdrawn.stage.holds_session() && withdrawn.date.is_none());
    }

    #[test]
    fn the_enterprise_is_told_of_the_centres_decisions_only() {
        use crate::notify::{NoticeChannel, default_template, render};
        let date = day("2026-12-08");
        let keep = |s: &str| s.to_owned();
        let text =
            |n: &EnterpriseNotice| render(&default_template(n.template, NoticeChannel::Sms).unwrap().body, &n.vars);
        let accept = OnsiteAction::Accept { date, team: "麦淑仪".into() };
        let told = accept.enterprise_notice("XZB202612040001", "中山市政务服务中心", &keep).unwrap();
        assert_eq!(told.template, TemplateKey::OnsiteAccepted);
        assert_eq!(
            text(&told),
            "【马上办】您的上门服务申请XZB202612040001已受理：中山市政务服务中心将于2026-12-08上门办理。请登录马上办查看。"
        );
        assert!(!told.vars.values().any(|v| v.contains("麦淑仪")), "the team is not told");
        let propose = OnsiteAction::Propose { date, team: "甲".into(), note: None };
        assert_eq!(propose.enterprise_notice("n", "c", &keep).unwrap().template, TemplateKey::OnsiteProposed);
        // The reason is masked whole, then cut: a phone number at the cut is never half shown.
        let refuse =
            OnsiteAction::Refuse { reason: format!("{}，请致电13912345678", "本月上门场次已满".repeat(2)) };
        let told = refuse.enterprise_notice("n", "c", &|s: &str| s.replace("13912345678", "139****5678")).unwrap();
        assert_eq!(told.vars["reason_excerpt"], "本月上门场次已满本月上门场次已满，请致电139****567…");
        assert!(
            text(&told).contains("不予受理：本月上门场次已满") && text(&told).chars().count() < 90,
            "{}",
            text(&told)
        );
        for quiet in [OnsiteAction::Confirm, OnsiteAction::Withdraw { reason: None }] {
            assert_eq!(quiet.enterprise_notice("n", "c", &keep), None);
        }
    }

    #[test]
    fn a_day_has_room_while_its_sessions_are_fewer_than_the_capacity() {
        let d = day("2026-12-08");
        assert!(check_capacity(0, 1, d).is_ok());
        assert!(check_capacity(2, 3, d).is_ok());
        assert_eq!(code(check_capacity(3, 3, d)), "over_capacity");
        assert_eq!(code(check_capacity(4, 3, d)), "over_capacity");
        assert_eq!(code(check_capacity_setting(0)), "invalid_capacity");
        assert_eq!(check_capacity_setting(MAX_CAPACITY).unwrap(), MAX_CAPACITY);
        assert_eq!(OnsiteStage::session_codes(), vec!["proposed", "accepted", "held", "rated"]);
    }
}
