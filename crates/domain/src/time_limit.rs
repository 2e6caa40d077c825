//! Time limits (办理时限): a rule table keyed by type × urgency × channel ×
//! enterprise-or-resident, giving the deadlines for sign-for, first contact,
//! stage reply and reply. Rules are versioned; a request keeps the limits of
//! the version in force when it was received.

use serde::{Deserialize, Serialize};

use crate::calendar::{
    Clock, CountedDeadline, MAX_NATURAL_MINUTES, MAX_WORKING_DAYS, MAX_WORKING_HOURS, TimeLimit, WorkCalendar,
};
use crate::error::DomainError;
use crate::request::{Channel, Deadlines, Request, RequestKind, Urgency};
use crate::time::Instant;

/// One row of the rule table. Empty keys match anything; empty limits leave
/// the value to less specific rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub kind: Option<RequestKind>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// `true` for enterprises, `false` for residents.
    #[serde(default)]
    pub enterprise: Option<bool>,
    #[serde(default)]
    pub sign_for: Option<TimeLimit>,
    #[serde(default)]
    pub contact: Option<TimeLimit>,
    #[serde(default)]
    pub stage_reply: Option<TimeLimit>,
    #[serde(default)]
    pub reply: Option<TimeLimit>,
    /// The co-handling units' limit for their parts (会签/协办期限), counted
    /// from dispatch and never past the reply deadline; without it the reply
    /// deadline is theirs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_answer: Option<TimeLimit>,
    /// Whether a handler's reply waits for the unit leader's review (审核)
    /// before it reaches the asker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<bool>,
}

impl Rule {
    fn matches(&self, kind: RequestKind, urgency: Urgency, channel: Channel, enterprise: bool) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self.urgency.is_none_or(|u| u == urgency)
            && self.channel.is_none_or(|c| c == channel)
            && self.enterprise.is_none_or(|e| e == enterprise)
    }

    fn specificity(&self) -> usize {
        [self.kind.is_some(), self.urgency.is_some(), self.channel.is_some(), self.enterprise.is_some()]
            .into_iter()
            .filter(|k| *k)
            .count()
    }
}

impl TimeLimits {
    /// The limits an asker is promised, in Chinese: `首次联系：1个工作小时内；…；办结：5个工作日内`.
    pub fn describe(&self) -> String {
        [("首次联系", self.contact), ("阶段性答复", self.stage_reply), ("答复办结", self.reply)]
            .into_iter()
            .filter_map(|(what, limit)| limit.map(|l| format!("{what}：{}内", l.describe())))
            .collect::<Vec<_>>()
            .join("；")
    }
}

/// Checks one limit of a rule: more than zero and at most ten years on its
/// clock (`invalid_time_limits`, the message saying which).
pub fn check_limit(limit: TimeLimit) -> Result<(), DomainError> {
    if limit.amount == 0 {
        return Err(DomainError::invalid("invalid_time_limits", "时限不能为0"));
    }
    let max = match limit.clock {
        Clock::Natural => MAX_NATURAL_MINUTES,
        Clock::WorkingDays => MAX_WORKING_DAYS,
        Clock::WorkingHours => MAX_WORKING_HOURS,
    };
    if limit.amount > max {
        let longest = TimeLimit { clock: limit.clock, amount: max }.describe();
        return Err(DomainError::invalid("invalid_time_limits", format!("时限过长：最多{longest}")));
    }
    Ok(())
}

/// A version of the rule table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleSet {
    pub version: i64,
    pub rules: Vec<Rule>,
}

/// The limits that apply to one request, as resolved at receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeLimits {
    /// The rule-set version they come from.
    pub version: i64,
    pub sign_for: Option<TimeLimit>,
    pub contact: Option<TimeLimit>,
    pub stage_reply: Option<TimeLimit>,
    pub reply: Option<TimeLimit>,
    /// The co-handling units' limit for their parts (会签/协办期限).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_answer: Option<TimeLimit>,
    /// Replies wait for the unit leader's review (审核).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
}

const fn rule(kind: Option<RequestKind>, urgency: Option<Urgency>, enterprise: Option<bool>) -> Rule {
    Rule {
        kind,
        urgency,
        channel: None,
        enterprise,
        sign_for: None,
        contact: None,
        stage_reply: None,
        reply: None,
        co_answer: None,
        review: None,
    }
}

impl RuleSet {
    /// Guangdong's defaults (version 1): 咨询 2 working days, 求助 and 建议
    /// 10, 投诉 and 举报 15; sign-for within 1 working day; enterprise
    /// act-now (马上办): contact within 1 working hour, stage reply within 3
    /// working days, closed within 5; urgent: sign-for within 30 natural
    /// minutes and reply within 2 natural hours, holidays included.
    pub fn guangdong_defaults() -> Self {
        use RequestKind::*;
        let days = TimeLimit::working_days;
        let by_kind = |kind, n| Rule { reply: Some(days(n)), ..rule(Some(kind), None, None) };
        let rules = vec![
            Rule { sign_for: Some(days(1)), reply: Some(days(10)), ..rule(None, None, None) },
            by_kind(Consultation, 2),
            by_kind(Help, 10),
            by_kind(Suggestion, 10),
            by_kind(Praise, 10),
            by_kind(Complaint, 15),
            by_kind(Report, 15),
            Rule {
                sign_for: Some(TimeLimit::natural_minutes(30)),
                reply: Some(TimeLimit::natural_minutes(120)),
                ..rule(None, Some(Urgency::Urgent), None)
            },
            Rule {
                sign_for: Some(TimeLimit::working_hours(1)),
                contact: Some(TimeLimit::working_hours(1)),
                stage_reply: Some(days(3)),
                reply: Some(days(5)),
                ..rule(None, Some(Urgency::ActNow), Some(true))
            },
        ];
        Self { version: 1, rules }
    }

    /// Checks a table an administrator wrote: every request must get a reply limit.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !self.rules.iter().any(|r| r.specificity() == 0 && r.reply.is_some()) {
            return Err(DomainError::invalid(
                "invalid_time_limits",
                "时限规则必须包含一条不限条件、规定答复时限的基本规则",
            ));
        }
        let limits =
            self.rules.iter().flat_map(|r| [r.sign_for, r.contact, r.stage_reply, r.reply, r.co_answer]).flatten();
        for limit in limits {
            check_limit(limit)?;
        }
        Ok(())
    }

    /// Resolves each limit from the most specific matching rule that sets it;
    /// between equally specific rules the later one wins.
    pub fn resolve(&self, kind: RequestKind, urgency: Urgency, channel: Channel, enterprise: bool) -> TimeLimits {
        let mut matching: Vec<(usize, usize, &Rule)> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches(kind, urgency, channel, enterprise))
            .map(|(i, r)| (r.specificity(), i, r))
            .collect();
        matching.sort_by_key(|(specificity, index, _)| std::cmp::Reverse((*specificity, *index)));
        let pick = |field: fn(&Rule) -> Option<TimeLimit>| matching.iter().find_map(|(_, _, r)| field(r));
        TimeLimits {
            version: self.version,
            sign_for: pick(|r| r.sign_for),
            contact: pick(|r| r.contact),
            stage_reply: pick(|r| r.stage_reply),
            reply: pick(|r| r.reply),
            co_answer: pick(|r| r.co_answer),
            review: matching.iter().find_map(|(_, _, r)| r.review).unwrap_or(false),
        }
    }
}

/// A deadline counted from `from`, provisional (暂定) where the calendar has
/// no holiday notice for its years; `None` only when there is no limit (or
/// the deadline lies beyond even the provisional years).
pub fn deadline(calendar: &WorkCalendar, from: Instant, limit: Option<TimeLimit>) -> Option<CountedDeadline> {
    calendar.deadline_or_provisional(from, limit?).ok()
}

/// The deadlines counted from receipt: the reply deadline and the others but sign-for.
pub fn intake_deadlines(
    calendar: &WorkCalendar,
    received: Instant,
    limits: &TimeLimits,
) -> (Option<Instant>, Deadlines) {
    let reply = deadline(calendar, received, limits.reply);
    let contact = deadline(calendar, received, limits.contact);
    let stage_reply = deadline(calendar, received, limits.stage_reply);
    let deadlines = Deadlines {
        sign_for: None,
        contact: contact.map(|d| d.at),
        stage_reply: stage_reply.map(|d| d.at),
        provisional: [reply, contact, stage_reply].iter().flatten().any(|d| d.provisional),
    };
    (reply.map(|d| d.at), deadlines)
}

/// Where a recount of a request's deadlines starts from (what the history says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecountAnchors {
    /// The assignment (dispatch, re-dispatch, refused return, reopen) that started the sign-for clock.
    pub sign_for_from: Option<Instant>,
    /// The working time the request has been suspended in all, by which resumption moved its deadlines.
    pub paused: chrono::Duration,
}

/// The deadlines of a request counted again under `calendar` (the year's
/// notice now loaded): reply, contact and stage reply from receipt with the
/// limits kept at receipt, moved by the time paused; sign-for from its
/// assignment. A reply deadline set by an approved extension is the date the
/// dispatcher agreed to and stays. Deadlines the request does not have stay absent,
/// except a missing reply deadline, which is counted (no request without one).
pub fn recount_deadlines(
    request: &Request,
    calendar: &WorkCalendar,
    anchors: &RecountAnchors,
) -> (Option<Instant>, Deadlines) {
    count_again(request, calendar, anchors, Present::AsBefore)
}

/// The deadlines of a request whose kind or urgency was corrected (改类改急):
/// counted as [`recount_deadlines`] counts them — from receipt, moved by the
/// time paused, sign-for from its assignment, an extension's date kept — but
/// under the limits now in `request.time_limits` (resolved from the rule
/// version in force at receipt), so a contact or stage-reply deadline exists
/// exactly when those limits set one.
pub fn reclassified_deadlines(
    request: &Request,
    calendar: &WorkCalendar,
    anchors: &RecountAnchors,
) -> (Option<Instant>, Deadlines) {
    count_again(request, calendar, anchors, Present::AsLimits)
}

/// Which of the contact and stage-reply deadlines a count gives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Present {
    /// Those the request already has (a recount under a new calendar).
    AsBefore,
    /// Those its limits set (new limits after a correction).
    AsLimits,
}

fn count_again(
    request: &Request,
    calendar: &WorkCalendar,
    anchors: &RecountAnchors,
    present: Present,
) -> (Option<Instant>, Deadlines) {
    let Some(limits) = request.time_limits else { return (request.due_at, request.deadlines) };
    let mut provisional = false;
    let mut from_receipt = |limit: Option<TimeLimit>| {
        let counted = deadline(calendar, request.received_at, limit)?;
        let moved = if anchors.paused > chrono::Duration::zero() {
            calendar.add_work_duration_or_provisional(counted.at, anchors.paused).ok()?
        } else {
            counted
        };
        provisional |= moved.provisional;
        Some(moved.at)
    };
    let due_at = if request.extension_count > 0 && request.due_at.is_some() {
        request.due_at
    } else {
        from_receipt(limits.reply)
    };
    let (contact, stage_reply) = match present {
        Present::AsBefore => (
            request.deadlines.contact.and_then(|_| from_receipt(limits.contact)),
            request.deadlines.stage_reply.and_then(|_| from_receipt(limits.stage_reply)),
        ),
        Present::AsLimits => (from_receipt(limits.contact), from_receipt(limits.stage_reply)),
    };
    let sign_for = match (request.deadlines.sign_for, anchors.sign_for_from) {
        (Some(_), Some(from)) => deadline(calendar, from, limits.sign_for).map(|d| {
            provisional |= d.provisional;
            d.at
        }),
        (kept, _) => kept,
    };
    (due_at, Deadlines { sign_for, contact, stage_reply, provisional })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn limits(kind: RequestKind, urgency: Urgency, enterprise: bool) -> TimeLimits {
        RuleSet::guangdong_defaults().resolve(kind, urgency, Channel::Phone, enterprise)
    }

    #[test]
    fn defaults_follow_guangdong() {
        use RequestKind::*;
        let reply = |kind, urgency, enterprise| limits(kind, urgency, enterprise).reply;
        assert_eq!(reply(Consultation, Urgency::Normal, false), Some(TimeLimit::working_days(2)));
        assert_eq!(reply(Help, Urgency::Normal, true), Some(TimeLimit::working_days(10)));
        assert_eq!(reply(Complaint, Urgency::Normal, false), Some(TimeLimit::working_days(15)));
        assert_eq!(reply(Complaint, Urgency::Urgent, false), Some(TimeLimit::natural_minutes(120)));
        assert_eq!(reply(Report, Urgency::ActNow, true), Some(TimeLimit::working_days(5)));
        // Act-now is an enterprise service; a resident's falls back to the type.
        assert_eq!(reply(Report, Urgency::ActNow, false), Some(TimeLimit::working_days(15)));
        let act_now = limits(Help, Urgency::ActNow, true);
        assert_eq!(act_now.contact, Some(TimeLimit::working_hours(1)));
        assert_eq!(act_now.stage_reply, Some(TimeLimit::working_days(3)));
        assert_eq!(limits(Help, Urgency::Urgent, false).sign_for, Some(TimeLimit::natural_minutes(30)));
        assert_eq!(limits(Help, Urgency::Normal, false).sign_for, Some(TimeLimit::working_days(1)));
        assert_eq!(limits(Help, Urgency::Normal, false).contact, None);
        assert!(RuleSet::guangdong_defaults().validate().is_ok());
    }

    #[test]
    fn worked_example() {
        let calendar = WorkCalendar::bundled().unwrap();
        let received = parse_instant("2026-02-13T10:00:00+08:00").unwrap();
        let (due, _) = intake_deadlines(&calendar, received, &limits(RequestKind::Help, Urgency::ActNow, true));
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-02-27T17:30:00+08:00".to_owned()));
        // Sat 02-14 is a make-up working day: the first of the two.
        let (due, _) =
            intake_deadlines(&calendar, received, &limits(RequestKind::Consultation, Urgency::Normal, false));
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-02-24T17:30:00+08:00".to_owned()));
        // Urgent counts natural time, holidays included.
        let holiday = parse_instant("2026-02-17T23:00:00+08:00").unwrap();
        let (due, _) = intake_deadlines(&calendar, holiday, &limits(RequestKind::Help, Urgency::Urgent, false));
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-02-18T01:00:00+08:00".to_owned()));
    }

    #[test]
    fn deadlines_past_the_notices_are_provisional() {
        let bundled = WorkCalendar::bundled().unwrap();
        let received = parse_instant("2026-12-15T10:00:00+08:00").unwrap();
        let limits = limits(RequestKind::Help, Urgency::ActNow, true);
        let (due, deadlines) = intake_deadlines(&bundled, received, &limits);
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2026-12-22T17:30:00+08:00".to_owned()));
        assert!(!deadlines.provisional, "5 working days stay in 2026");
        let complaint = super::RuleSet::guangdong_defaults().resolve(
            RequestKind::Complaint,
            Urgency::Normal,
            Channel::Phone,
            false,
        );
        let (due, deadlines) = intake_deadlines(&bundled, received, &complaint);
        assert_eq!(due.map(|d| d.to_rfc3339()), Some("2027-01-05T17:30:00+08:00".to_owned()));
        assert!(deadlines.provisional);
    }

    #[test]
    fn specific_rules_win_and_tables_are_validated() {
        let mut set = RuleSet::guangdong_defaults();
        set.version = 2;
        set.rules.push(Rule {
            channel: Some(Channel::DirectLine),
            reply: Some(TimeLimit::working_days(3)),
            ..rule(Some(RequestKind::Complaint), None, None)
        });
        let direct = set.resolve(RequestKind::Complaint, Urgency::Normal, Channel::DirectLine, false);
        assert_eq!((direct.version, direct.reply), (2, Some(TimeLimit::working_days(3))));
        let phone = set.resolve(RequestKind::Complaint, Urgency::Normal, Channel::Phone, false);
        assert_eq!(phone.reply, Some(TimeLimit::working_days(15)));
        let without_base = RuleSet { version: 3, rules: set.rules[1..].to_vec() };
        assert_eq!(without_base.validate().unwrap_err().code, "invalid_time_limits");
        let zero = Rule { contact: Some(TimeLimit::working_hours(0)), ..rule(None, None, None) };
        set.rules.push(zero);
        assert_eq!(set.validate().unwrap_err().message, "时限不能为0");
        assert_eq!(check_limit(TimeLimit::working_days(3651)).unwrap_err().message, "时限过长：最多3650个工作日");
        assert_eq!(
            check_limit(TimeLimit::natural_minutes(MAX_NATURAL_MINUTES + 1)).unwrap_err().message,
            "时限过长：最多87600小时"
        );
        assert!(check_limit(TimeLimit::working_hours(MAX_WORKING_HOURS)).is_ok());
    }
}
