//! The history plan: every request of the demo history and every step of
//! its life, with timestamps, decided up front from one seeded random
//! generator. Pure: the same data, seed, count and end give the same plan.
//!
//! The plan speaks of units and categories by code and of earlier requests
//! by index; [`crate::exec`] resolves them against the store.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::duplicates::fnv1a;
use mashangban_domain::org::UnitKind;
use mashangban_domain::request::Deadlines;
use mashangban_domain::request::{Asker, Channel, Contact, Rating, RequestKind, State, Urgency};
use mashangban_domain::time::{Instant, in_shanghai, shanghai};
use mashangban_domain::time_limit::{RuleSet, TimeLimits, intake_deadlines};
use mashangban_domain::validation::{CreditCode, Phone};

use crate::data::{DemoData, Template, UnitDef};
use crate::text::{Fill, month_day};
use crate::{DemoError, HistoryOptions};

/// How far back the history reaches.
const HISTORY_DAYS: i64 = 730;
/// Requests received this close to the end stop somewhere along their path.
const RECENT_DAYS: i64 = 30;
/// Requests older than this are archived once followed up.
const ARCHIVE_AFTER_DAYS: i64 = 90;
/// Duplicates are merged into an open request received at most this long before.
const MERGE_WINDOW_DAYS: i64 = 3;

/// The direct line's requests come only from its own items (`direct_line.rs`), whose returns and
/// re-dispatches go by the leader and the leaders' office, never by this history's dispatcher: the
/// share it once had here (the last 1 in 100) goes to the hotline, so every seed draws as before.
const CHANNELS: [(Channel, u32); 7] = [
    (Channel::Phone, 55),
    (Channel::Web, 18),
    (Channel::Mobile, 15),
    (Channel::Counter, 6),
    (Channel::Api, 3),
    (Channel::OnSite, 2),
    (Channel::Phone, 1),
];

/// Relative weights of the request kinds; a template offers a subset.
const KIND_WEIGHTS: [(RequestKind, u32); 6] = [
    (RequestKind::Consultation, 40),
    (RequestKind::Complaint, 25),
    (RequestKind::Help, 20),
    (RequestKind::Suggestion, 7),
    (RequestKind::Report, 6),
    (RequestKind::Praise, 2),
];

const RATINGS: [(Rating, u32); 5] = [
    (Rating::VerySatisfied, 55),
    (Rating::Satisfied, 28),
    (Rating::FairlySatisfied, 9),
    (Rating::Dissatisfied, 5),
    (Rating::VeryDissatisfied, 3),
];

/// Ratings after a reopened request was handled again.
const SECOND_RATINGS: [(Rating, u32); 5] = [
    (Rating::VerySatisfied, 30),
    (Rating::Satisfied, 40),
    (Rating::FairlySatisfied, 20),
    (Rating::Dissatisfied, 7),
    (Rating::VeryDissatisfied, 3),
];

/// Minutes from midnight and a weight per minute: calls come 08:30–21:00,
/// mostly 9–12 and 14–17.
const CALL_HOURS: [(u32, u32, u32); 5] = [(510, 540, 2), (540, 720, 6), (720, 840, 2), (840, 1020, 5), (1020, 1260, 1)];
/// Counters and on-site visits keep office hours.
const OFFICE_HOURS: [(u32, u32, u32); 2] = [(510, 720, 1), (840, 1050, 1)];

const REFUSE_RETURN_REASONS: [&str; 3] = [
    "经核实，该事项属于你单位职责范围，请继续办理。",
    "退单理由不充分，诉求地址和内容清楚，请按原派单办理。",
    "根据派单目录，该事项由你单位主办，请先行处理，需要其他单位配合的可申请协办。",
];
const REFUSE_EXTENSION_REASONS: [&str; 2] =
    ["延期理由不充分，请在原时限内办结并答复诉求人。", "该事项情形不复杂，不同意延期，请加快办理。"];
const SUSPEND_REASONS: [&str; 3] = [
    "需诉求人补充营业执照副本和相关合同材料，待材料补齐后继续办理。",
    "诉求人暂时无法配合现场核查，约定时间后继续办理。",
    "需诉求人提供具体地址和现场照片，暂缓办理。",
];
const WITHDRAW_REASONS: [&str; 3] =
    ["问题已自行解决，申请撤回。", "已与对方协商解决，不需要再处理。", "反映的情况有误，申请撤回诉求。"];
const PRAISE_COMMENTS: [&str; 4] =
    ["处理很及时，谢谢！", "工作人员态度很好，问题已解决。", "答复清楚明白，满意。", "感谢热线和承办单位的帮助。"];
const CLOSE_COMMENTS: [&str; 2] = ["经审核，答复内容符合要求，予以办结。", "已电话核实答复情况，同意办结。"];

/// A co-handling unit's part of the answer (会签意见), given before the lead replies.
const CO_ANSWERS: [&str; 3] = [
    "本单位已按职责核查，相关情况已书面反馈主办单位。",
    "经核实，本单位职责范围内的事项已配合办理完毕。",
    "本单位意见：同意主办单位的处理意见，将继续配合做好跟踪。",
];

/// Who takes a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    /// The demo operator (话务员).
    Operator,
    /// The demo dispatcher (派单员).
    Dispatcher,
    /// A handler of the unit with this code.
    Unit(String),
    /// The asker, proven by the check code.
    Asker,
    /// A visitor of the public portal.
    Anonymous,
    /// The demo enterprise's account.
    Enterprise,
    /// A machine client of the open API.
    ApiClient,
}

/// An action with units by code and merge parents by plan index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PlannedAction {
    Dispatch {
        lead: String,
        co: Vec<String>,
        comment: Option<String>,
    },
    SignFor,
    Return {
        reason: String,
    },
    Redispatch {
        lead: String,
        comment: Option<String>,
    },
    RefuseReturn {
        reason: String,
    },
    StageReply {
        content: String,
    },
    RequestExtension {
        requested_due: Instant,
        reason: String,
    },
    ApproveExtension,
    RefuseExtension {
        reason: String,
    },
    Reply {
        content: String,
    },
    Close {
        comment: Option<String>,
    },
    DirectClose {
        answer: String,
    },
    FollowUp {
        rating: Rating,
        resolved: bool,
        comment: Option<String>,
    },
    Reopen {
        reason: String,
    },
    Merge {
        parent: usize,
    },
    Withdraw {
        reason: String,
    },
    Archive,
    Suspend {
        reason: String,
    },
    Resume,
    /// A co-handling unit's part (会签意见).
    CoAnswer {
        content: String,
    },
}

impl PlannedAction {
    /// The state after this action, from `state`.
    pub fn next_state(&self, state: State) -> State {
        match self {
            Self::Dispatch { .. } | Self::Redispatch { .. } | Self::RefuseReturn { .. } | Self::Reopen { .. } => {
                State::Dispatched
            }
            Self::SignFor => State::SignedFor,
            Self::Return { .. } => State::Returned,
            Self::StageReply { .. } => State::InProgress,
            Self::RequestExtension { .. }
            | Self::ApproveExtension
            | Self::RefuseExtension { .. }
            | Self::CoAnswer { .. } => state,
            Self::Reply { .. } => State::Replied,
            Self::Close { .. } | Self::DirectClose { .. } => State::Closed,
            Self::FollowUp { .. } => State::FollowedUp,
            Self::Merge { .. } => State::Merged,
            Self::Withdraw { .. } => State::Withdrawn,
            Self::Archive => State::Archived,
            Self::Suspend { .. } => State::Suspended,
            Self::Resume => State::InProgress,
        }
    }

    /// The action's stable name, as `lifecycle::Action::name`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dispatch { .. } => "dispatch",
            Self::SignFor => "sign",
            Self::Return { .. } => "return",
            Self::Redispatch { .. } => "redispatch",
            Self::RefuseReturn { .. } => "refuse-return",
            Self::StageReply { .. } => "stage-reply",
            Self::RequestExtension { .. } => "request-extension",
            Self::ApproveExtension => "approve-extension",
            Self::RefuseExtension { .. } => "refuse-extension",
            Self::Reply { .. } => "reply",
            Self::Close { .. } => "close",
            Self::DirectClose { .. } => "direct-close",
            Self::FollowUp { .. } => "follow-up",
            Self::Reopen { .. } => "reopen",
            Self::Merge { .. } => "merge",
            Self::Withdraw { .. } => "withdraw",
            Self::Archive => "archive",
            Self::Suspend { .. } => "suspend",
            Self::Resume => "resume",
            Self::CoAnswer { .. } => "co-answer",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedStep {
    pub at: Instant,
    pub who: Who,
    pub action: PlannedAction,
}

/// One request of the history: its intake and its steps, in time order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedRequest {
    pub received_at: Instant,
    pub kind: RequestKind,
    pub urgency: Urgency,
    pub channel: Channel,
    pub asker: Asker,
    pub contact: Contact,
    pub title: String,
    pub content: String,
    /// Category code (a leaf of the catalogue).
    pub category: String,
    /// Town code (镇街) of the location.
    pub town: Option<String>,
    pub address: Option<String>,
    pub check_code: String,
    pub due_at: Option<Instant>,
    pub deadlines: Deadlines,
    pub time_limits: TimeLimits,
    pub intake_by: Who,
    pub steps: Vec<PlannedStep>,
    /// Which title/content/reply of the category's template the text is.
    pub text_index: usize,
}

impl PlannedRequest {
    /// The state the plan leaves the request in at `t` (steps at `t` included).
    pub fn state_at(&self, t: Instant) -> State {
        self.steps.iter().take_while(|s| s.at <= t).fold(State::Received, |state, s| s.action.next_state(state))
    }

    /// The state at the end of the plan.
    #[cfg(test)]
    pub fn final_state(&self) -> State {
        self.steps.iter().fold(State::Received, |state, s| s.action.next_state(state))
    }

    /// The request this one is merged into, if it is.
    pub fn merge_parent(&self) -> Option<usize> {
        self.steps.iter().find_map(|s| match s.action {
            PlannedAction::Merge { parent } => Some(parent),
            _ => None,
        })
    }
}

/// Builds the plan. Requests come out in received-time order.
pub(crate) fn build(
    data: &DemoData,
    options: &HistoryOptions,
    calendar: &WorkCalendar,
) -> Result<Vec<PlannedRequest>, DemoError> {
    Generator::new(data, options, calendar)?.run(options.count)
}

/// What a request's path needs to know about it while it is planned.
struct Draft<'a> {
    received_at: Instant,
    kind: RequestKind,
    urgency: Urgency,
    channel: Channel,
    lead: &'a str,
    town: Option<&'a str>,
    template: &'a Template,
    text_index: usize,
    fill: Fill,
    recent: bool,
    /// A duplicate: the earlier request to merge into, and when.
    merge: Option<(usize, Instant)>,
}

/// The steps of one request as they are planned; times only increase.
struct Path {
    steps: Vec<PlannedStep>,
    last: Instant,
    lead: String,
    /// The co-handling units of the current assignment.
    co: Vec<String>,
    due: Option<Instant>,
}

impl Path {
    /// `at`, or a minute after the previous step if that is later.
    fn next(&self, at: Instant) -> Instant {
        at.max(plus_secs(self.last, 60))
    }

    fn push(&mut self, at: Instant, who: Who, action: PlannedAction) {
        let at = self.next(at);
        self.last = at;
        self.steps.push(PlannedStep { at, who, action });
    }

    fn lead_unit(&self) -> Who {
        Who::Unit(self.lead.clone())
    }
}

struct Generator<'a> {
    data: &'a DemoData,
    calendar: &'a WorkCalendar,
    rng: StdRng,
    start: Instant,
    end: Instant,
    towns: Vec<&'a UnitDef>,
    departments: Vec<&'a str>,
    /// The city's name, which enterprise names start with (`中山市`).
    city: &'a str,
    demo_enterprise: (CreditCode, String),
    /// The demo registry (企业名录): enterprise askers are taken from it, by town.
    enterprises: Vec<crate::enterprises::DemoEnterprise>,
    /// By category: the department a dispatcher most often sends it to by mistake.
    confusions: HashMap<&'a str, &'a str>,
}

impl<'a> Generator<'a> {
    fn new(data: &'a DemoData, options: &HistoryOptions, calendar: &'a WorkCalendar) -> Result<Self, DemoError> {
        let end = in_shanghai(&options.end);
        let start = end.checked_sub_signed(Duration::days(HISTORY_DAYS)).unwrap_or(end);
        let departments: Vec<&str> = data.units_of_kind(UnitKind::Department).map(|u| u.code.as_str()).collect();
        Ok(Self {
            data,
            calendar,
            rng: StdRng::seed_from_u64(options.seed),
            start,
            end,
            towns: data.units_of_kind(UnitKind::Town).collect(),
            confusions: confusions(data, &departments),
            departments,
            city: data.units_of_kind(UnitKind::City).next().map_or("", |u| u.name.as_str()),
            demo_enterprise: crate::demo_enterprise()?,
            enterprises: crate::enterprises::demo_enterprises(data)?,
        })
    }

    fn run(mut self, count: usize) -> Result<Vec<PlannedRequest>, DemoError> {
        let receipts = self.receipts(count);
        let mut plan: Vec<PlannedRequest> = Vec::with_capacity(count);
        for (received_at, channel) in receipts {
            let request = self.request(received_at, channel, &plan)?;
            plan.push(request);
        }
        Ok(plan)
    }

    // ---- receipt times ---------------------------------------------------

    /// `count` receipt instants with their channels, in time order.
    fn receipts(&mut self, count: usize) -> Vec<(Instant, Channel)> {
        let (mut working, mut resting) = (Vec::new(), Vec::new());
        let mut day = self.start.date_naive();
        let last = self.end.date_naive();
        while day <= last {
            let is_working =
                self.calendar.is_workday(day).unwrap_or(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
            if is_working {
                working.push(day)
            } else {
                resting.push(day)
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let channel = weighted(&mut self.rng, &CHANNELS).unwrap_or(Channel::Phone);
            let on_working_day = match channel {
                Channel::Counter | Channel::OnSite => 0.97,
                Channel::Phone | Channel::DirectLine => 0.9,
                Channel::Web | Channel::Mobile | Channel::Api => 0.75,
            };
            let hours: &[(u32, u32, u32)] =
                if matches!(channel, Channel::Counter | Channel::OnSite) { &OFFICE_HOURS } else { &CALL_HOURS };
            let mut received = None;
            for _ in 0..32 {
                let pool = if self.rng.gen_bool(on_working_day) { &working } else { &resting };
                let pool = if pool.is_empty() { if working.is_empty() { &resting } else { &working } } else { pool };
                let Some(&day) = pool.choose(&mut self.rng) else { break };
                let secs = time_of_day(&mut self.rng, hours);
                if let Some(t) = local_instant(day, secs)
                    && t > self.start
                    && t <= self.end
                {
                    received = Some(t);
                    break;
                }
            }
            let received = received.unwrap_or_else(|| {
                let back = self.rng.gen_range(60..=3 * 3600);
                plus_secs(self.end, -back)
            });
            out.push((received, channel));
        }
        out.sort_by_key(|(t, _)| *t);
        out
    }

    // ---- one request -----------------------------------------------------

    fn request(
        &mut self,
        received_at: Instant,
        channel: Channel,
        earlier: &[PlannedRequest],
    ) -> Result<PlannedRequest, DemoError> {
        let data = self.data;
        let templates = &data.text.templates;
        let for_demo_enterprise = self.rng.gen_bool(0.03);
        let merge = if self.rng.gen_bool(0.02) { self.merge_target(received_at, earlier) } else { None };
        let duplicate_of = merge.and_then(|(p, _)| earlier.get(p));
        let template = if let Some(parent) = duplicate_of {
            templates
                .iter()
                .find(|t| t.category == parent.category)
                .ok_or_else(|| DemoError(format!("分类「{}」没有模板", parent.category)))?
        } else if for_demo_enterprise {
            let suitable: Vec<&Template> = templates.iter().filter(|t| t.enterprise_share >= 0.5).collect();
            match suitable.choose(&mut self.rng) {
                Some(t) => *t,
                None => pick(&mut self.rng, templates)?,
            }
        } else {
            pick(&mut self.rng, templates)?
        };
        let lead = data
            .category(&template.category)
            .and_then(|c| c.lead.as_deref())
            .ok_or_else(|| DemoError(format!("分类「{}」没有承办单位", template.category)))?;

        let kind_weights: Vec<(RequestKind, u32)> = template
            .kinds
            .iter()
            .map(|k| (*k, KIND_WEIGHTS.iter().find(|(w, _)| w == k).map_or(1, |(_, w)| *w)))
            .collect();
        let mut kind = weighted(&mut self.rng, &kind_weights).unwrap_or(RequestKind::Consultation);
        let mut text_index = self.text_index(template, kind);
        if let Some(parent) = duplicate_of {
            // Someone else reports the same matter.
            kind = parent.kind;
            text_index = parent.text_index;
        }
        let enterprise = for_demo_enterprise || self.rng.gen_bool(template.enterprise_share);
        let urgency = {
            let r: f64 = self.rng.gen_range(0.0..1.0);
            if kind == RequestKind::Praise {
                Urgency::Normal
            } else if enterprise && r < 0.05 {
                Urgency::ActNow
            } else if r < 0.15 && (enterprise || r >= 0.05) {
                Urgency::Urgent
            } else {
                Urgency::Normal
            }
        };

        let mut town = self.towns.choose(&mut self.rng).copied();
        if let Some(parent) = duplicate_of {
            town = parent.town.as_deref().and_then(|code| self.towns.iter().copied().find(|t| t.code == code));
        }
        let street = pick(&mut self.rng, &data.text.streets)?;
        let number = self.rng.gen_range(1..=388);
        let address = format!("{street}{number}号");
        let person =
            format!("{}{}", pick(&mut self.rng, &data.text.surnames)?, pick(&mut self.rng, &data.text.given_names)?);
        let (asker, enterprise_name) = if for_demo_enterprise {
            let (code, name) = self.demo_enterprise.clone();
            (Asker::Enterprise { credit_code: code, name: name.clone() }, name)
        } else if enterprise {
            let (credit_code, name) = self.registered_enterprise(town.map(|t| t.code.as_str()))?;
            (Asker::Enterprise { credit_code, name: name.clone() }, name)
        } else {
            (Asker::Resident, self.enterprise_name()?)
        };
        let received_day = received_at.date_naive();
        let mentioned =
            received_day.checked_sub_signed(Duration::days(self.rng.gen_range(1..=20))).unwrap_or(received_day);
        let amount = if self.rng.gen_bool(0.7) {
            format!("{}万元", self.rng.gen_range(2..=300))
        } else {
            format!("{}.{}万元", self.rng.gen_range(1..=99), self.rng.gen_range(1..=9))
        };
        let fill = Fill {
            enterprise: enterprise_name,
            town: town.map_or_else(String::new, |t| t.name.clone()),
            address: address.clone(),
            name: person.clone(),
            date: month_day(mentioned),
            amount,
        };
        let title = fill.apply(text_at(&template.titles, text_index));
        let content = fill.apply(text_at(&template.contents, text_index));
        let phone = self.mobile()?;
        let check_code = format!("{:08}", self.rng.gen_range(0..100_000_000u32));
        let (due_at, deadlines, time_limits) = self.due(received_at, &asker, kind, urgency, channel);
        let intake_by = match channel {
            Channel::Phone | Channel::Counter | Channel::OnSite | Channel::DirectLine => Who::Operator,
            Channel::Api => Who::ApiClient,
            Channel::Web | Channel::Mobile if for_demo_enterprise => Who::Enterprise,
            Channel::Web | Channel::Mobile => Who::Anonymous,
        };
        let draft = Draft {
            received_at,
            kind,
            urgency,
            channel,
            lead,
            town: town.map(|t| t.code.as_str()),
            template,
            text_index,
            fill,
            recent: self.end.signed_duration_since(received_at) < Duration::days(RECENT_DAYS),
            merge,
        };
        let steps = self.path(&draft, due_at);
        Ok(PlannedRequest {
            received_at,
            kind,
            urgency,
            channel,
            asker,
            contact: Contact { name: person, phone, email: None },
            title,
            content,
            category: template.category.clone(),
            town: town.map(|t| t.code.clone()),
            address: Some(match town {
                Some(t) => format!("{}{address}", t.name),
                None => address,
            }),
            check_code,
            due_at,
            deadlines,
            time_limits,
            intake_by,
            steps,
            text_index,
        })
    }

    /// The title/content pair that suits the kind: the same position in
    /// `kinds` when the template lists one kind per title, else any title
    /// whose wording does not say another kind.
    fn text_index(&mut self, template: &Template, kind: RequestKind) -> usize {
        let n = template.titles.len();
        let fits = |i: usize| template.titles.get(i).and_then(|t| kind_in_title(t)).is_none_or(|k| k == kind);
        if template.kinds.len() == n
            && let Some(i) = template.kinds.iter().position(|k| *k == kind)
            && fits(i)
        {
            return i;
        }
        let candidates: Vec<usize> = (0..n).filter(|&i| fits(i)).collect();
        match candidates.choose(&mut self.rng) {
            Some(&i) => i,
            None => self.rng.gen_range(0..n.max(1)),
        }
    }

    fn enterprise_name(&mut self) -> Result<String, DemoError> {
        let text = &self.data.text;
        Ok(format!(
            "{}{}{}",
            self.city,
            pick(&mut self.rng, &text.enterprise_prefixes)?,
            pick(&mut self.rng, &text.enterprise_suffixes)?
        ))
    }

    /// An enterprise of the registry, of `town` when it has any.
    fn registered_enterprise(&mut self, town: Option<&str>) -> Result<(CreditCode, String), DemoError> {
        let local: Vec<usize> =
            (0..self.enterprises.len()).filter(|&i| Some(self.enterprises[i].town_code.as_str()) == town).collect();
        let index = match local.choose(&mut self.rng) {
            Some(&i) => i,
            None => self.rng.gen_range(0..self.enterprises.len().max(1)),
        };
        let e = self.enterprises.get(index).ok_or_else(|| DemoError("演示企业名录为空".into()))?;
        Ok((e.credit_code.clone(), e.name.clone()))
    }

    fn mobile(&mut self) -> Result<Phone, DemoError> {
        mobile(&mut self.rng)
    }

    /// The time limits and deadlines, by the same default rules as live intake.
    fn due(
        &self,
        received: Instant,
        asker: &Asker,
        kind: RequestKind,
        urgency: Urgency,
        channel: Channel,
    ) -> (Option<Instant>, Deadlines, TimeLimits) {
        let limits = RuleSet::guangdong_defaults().resolve(kind, urgency, channel, asker.is_enterprise());
        let (due, deadlines) = intake_deadlines(self.calendar, received, &limits);
        (due, deadlines, limits)
    }

    // ---- time steps ------------------------------------------------------

    /// Between `min` and `max` working minutes after `t` (natural minutes
    /// where the calendar does not reach).
    fn work_after(&mut self, t: Instant, min: i64, max: i64) -> Instant {
        let secs = self.rng.gen_range(min * 60..=max.max(min) * 60);
        self.calendar.add_work_duration(t, Duration::seconds(secs)).unwrap_or_else(|_| plus_secs(t, secs))
    }

    /// Between `min` and `max` natural minutes after `t`.
    fn natural_after(&mut self, t: Instant, min: i64, max: i64) -> Instant {
        let secs = self.rng.gen_range(min * 60..=max.max(min) * 60);
        plus_secs(t, secs)
    }

    /// Seconds (natural, or working) from the last step to the deadline, if it is still ahead.
    fn time_left(&self, p: &Path, natural: bool) -> Option<i64> {
        let due = p.due.filter(|d| *d > p.last)?;
        let natural_secs = due.signed_duration_since(p.last).num_seconds();
        if natural {
            return Some(natural_secs);
        }
        Some(match self.calendar.working_time_between(p.last, due) {
            Ok(d) => d.num_seconds(),
            Err(_) => natural_secs,
        })
    }

    /// `secs` seconds (natural, or working) after `t`.
    fn advance(&self, t: Instant, secs: i64, natural: bool) -> Instant {
        if natural {
            return plus_secs(t, secs);
        }
        self.calendar.add_work_duration(t, Duration::seconds(secs.max(0))).unwrap_or_else(|_| plus_secs(t, secs))
    }

    // ---- the path --------------------------------------------------------

    fn path(&mut self, r: &Draft<'_>, due: Option<Instant>) -> Vec<PlannedStep> {
        let mut p = Path { steps: Vec::new(), last: r.received_at, lead: r.lead.to_owned(), co: Vec::new(), due };
        self.walk(&mut p, r);
        self.finish(p.steps, r)
    }

    fn walk(&mut self, p: &mut Path, r: &Draft<'_>) {
        // A duplicate of an open request: merged (并单).
        if let Some((parent, at)) = r.merge {
            p.push(at, Who::Dispatcher, PlannedAction::Merge { parent });
            return;
        }
        // Consultations answered on the phone or at the counter (直接办结).
        if r.kind == RequestKind::Consultation
            && matches!(r.channel, Channel::Phone | Channel::Counter)
            && self.rng.gen_bool(0.46)
        {
            let at = p.next(self.natural_after(r.received_at, 3, 20));
            let answer = self.reply_text(r, &p.lead, at);
            p.push(at, Who::Operator, PlannedAction::DirectClose { answer });
            self.follow_up(p, false);
            self.archive(p, r);
            return;
        }
        let withdraw_at_stage = if self.rng.gen_bool(0.02) { Some(self.rng.gen_range(0..3)) } else { None };
        if withdraw_at_stage == Some(0) {
            self.withdraw(p, 10, 600);
            return;
        }

        let quick = r.urgency != Urgency::Normal;
        let at = if quick { self.natural_after(p.last, 3, 30) } else { self.work_after(p.last, 6, 240) };
        let mut co = self.co_units(r);
        let comment = match r.urgency {
            Urgency::Urgent => Some("紧急诉求，请立即联系诉求人并尽快处置。".to_owned()),
            Urgency::ActNow => Some("企业诉求“马上办”，请优先办理。".to_owned()),
            Urgency::Normal => self.rng.gen_bool(0.3).then(|| "请按时限办理并答复诉求人。".to_owned()),
        };
        // Returned (退单): most often the dispatcher sent it to a unit that is not the one for it, which
        // returns it and gets it re-dispatched (改派) to the right one; otherwise the right unit
        // returned it and the return is refused (退单不予同意).
        let returned = self.rng.gen_bool(if r.recent { 0.25 } else { 0.09 });
        let misrouted_to = if returned { self.misroute(r.template, &p.lead) } else { None };
        let misrouted_to = misrouted_to.filter(|_| self.rng.gen_bool(0.8));
        let right = p.lead.clone();
        if let Some(wrong) = &misrouted_to {
            p.lead.clone_from(wrong);
            co.retain(|u| u != wrong);
        }
        p.co.clone_from(&co);
        p.push(at, Who::Dispatcher, PlannedAction::Dispatch { lead: p.lead.clone(), co, comment });
        if returned {
            if self.rng.gen_bool(0.3) {
                self.sign(p, quick);
            }
            let at = self.work_after(p.last, 20, 300);
            let reason = self.pick_text(&self.data.text.return_reasons);
            p.push(at, p.lead_unit(), PlannedAction::Return { reason });
            let at = self.work_after(p.last, 10, 180);
            if misrouted_to.is_some() {
                p.lead = right;
                p.co.clear();
                let comment = Some("根据承办单位退单意见改派。".to_owned());
                p.push(at, Who::Dispatcher, PlannedAction::Redispatch { lead: p.lead.clone(), comment });
            } else {
                let reason = self.pick_str(&REFUSE_RETURN_REASONS);
                p.push(at, Who::Dispatcher, PlannedAction::RefuseReturn { reason });
            }
        }
        if withdraw_at_stage == Some(1) {
            self.withdraw(p, 30, 900);
            return;
        }
        self.sign(p, quick);
        if withdraw_at_stage == Some(2) {
            self.withdraw(p, 60, 2000);
            return;
        }
        self.handle(p, r, quick);
        if self.follow_up(p, true) {
            // Reopened (重办): the unit goes round again.
            self.sign(p, quick);
            self.handle(p, r, quick);
            self.follow_up(p, false);
        }
        self.archive(p, r);
    }

    fn sign(&mut self, p: &mut Path, quick: bool) {
        let at = if quick { self.natural_after(p.last, 5, 30) } else { self.work_after(p.last, 10, 420) };
        p.push(at, p.lead_unit(), PlannedAction::SignFor);
    }

    fn withdraw(&mut self, p: &mut Path, min: i64, max: i64) {
        let at = self.work_after(p.last, min, max);
        let reason = self.pick_str(&WITHDRAW_REASONS);
        p.push(at, Who::Asker, PlannedAction::Withdraw { reason });
    }

    /// From signed-for to closed: stage reply, extension, reply, close.
    fn handle(&mut self, p: &mut Path, r: &Draft<'_>, quick: bool) {
        let natural_deadline = r.urgency == Urgency::Urgent;
        if self.rng.gen_bool(0.4) {
            // Early in the time left, so a stage reply does not make the request late.
            let fraction = self.rng.gen_range(0.1..0.4);
            let at = match self.time_left(p, natural_deadline) {
                Some(left) => self.advance(p.last, (left as f64 * fraction) as i64, natural_deadline),
                None => self.work_after(p.last, 60, 900),
            };
            let content = r.fill.apply(&self.pick_text(&self.data.text.stage_replies));
            p.push(at, p.lead_unit(), PlannedAction::StageReply { content });
        }
        let suspend_rate = if r.recent { 0.12 } else { 0.03 };
        if !natural_deadline && self.rng.gen_bool(suspend_rate) {
            self.suspend(p);
        }
        let extension_rate = if r.recent { 0.2 } else { 0.07 };
        if !natural_deadline
            && let Some(due) = p.due
            && self.rng.gen_bool(extension_rate)
        {
            let fraction = self.rng.gen_range(0.3..0.8);
            let at = match self.time_left(p, false) {
                Some(left) => self.advance(p.last, (left as f64 * fraction) as i64, false),
                None => self.work_after(p.last, 60, 1200),
            };
            let at = p.next(at);
            if let Ok(requested_due) = self.calendar.add_workdays(due, 5)
                && requested_due > at
                && requested_due > due
            {
                let reason = self.pick_text(&self.data.text.extension_reasons);
                p.push(at, p.lead_unit(), PlannedAction::RequestExtension { requested_due, reason });
                let at = self.work_after(p.last, 30, 600);
                if self.rng.gen_bool(0.75) {
                    p.push(at, Who::Dispatcher, PlannedAction::ApproveExtension);
                    p.due = Some(requested_due);
                } else {
                    let reason = self.pick_str(&REFUSE_EXTENSION_REASONS);
                    p.push(at, Who::Dispatcher, PlannedAction::RefuseExtension { reason });
                }
            }
        }
        // The co-handling units give their parts first: the lead's reply waits for them (会签).
        for unit in p.co.clone() {
            let at = if quick { self.natural_after(p.last, 2, 20) } else { self.work_after(p.last, 10, 240) };
            let content = self.pick_str(&CO_ANSWERS);
            p.push(at, Who::Unit(unit), PlannedAction::CoAnswer { content });
        }
        let at = p.next(self.reply_time(p, natural_deadline));
        let content = self.reply_text(r, &p.lead, at);
        p.push(at, p.lead_unit(), PlannedAction::Reply { content });
        let at = if quick { self.natural_after(p.last, 10, 120) } else { self.work_after(p.last, 20, 480) };
        let comment = if self.rng.gen_bool(0.3) { Some(self.pick_str(&CLOSE_COMMENTS)) } else { None };
        p.push(at, Who::Dispatcher, PlannedAction::Close { comment });
    }

    /// Suspended (挂起) for materials from the asker, resumed one to three
    /// working days later; the deadline moves by the working time paused.
    fn suspend(&mut self, p: &mut Path) {
        let at = p.next(self.work_after(p.last, 30, 600));
        let reason = self.pick_str(&SUSPEND_REASONS);
        p.push(at, p.lead_unit(), PlannedAction::Suspend { reason });
        let resumed = self.work_after(p.last, 420, 1260);
        if let Some(due) = p.due {
            let paused = self.calendar.working_time_between(at, resumed).unwrap_or(resumed - at);
            p.due = Some(self.calendar.add_work_duration(due, paused).unwrap_or(due + paused));
        }
        p.push(resumed, p.lead_unit(), PlannedAction::Resume);
    }

    /// Before the deadline, except about 8% that reply late.
    fn reply_time(&mut self, p: &Path, natural_deadline: bool) -> Instant {
        let late = self.rng.gen_bool(0.08);
        match p.due {
            Some(due) if late => {
                let from = due.max(p.last);
                if natural_deadline { self.natural_after(from, 10, 300) } else { self.work_after(from, 30, 1260) }
            }
            Some(due) if due > p.last => {
                let fraction = self.rng.gen_range(0.15..0.95);
                let left = self.time_left(p, natural_deadline).unwrap_or(0);
                self.advance(p.last, (left as f64 * fraction) as i64, natural_deadline)
            }
            Some(_) => self.work_after(p.last, 30, 600),
            None => self.work_after(p.last, 120, 2100),
        }
    }

    /// Follow-up (回访) with a rating; returns whether the dispatcher reopens it.
    fn follow_up(&mut self, p: &mut Path, may_reopen: bool) -> bool {
        let at = self.work_after(p.last, 60, 840);
        let rating =
            if may_reopen { weighted(&mut self.rng, &RATINGS) } else { weighted(&mut self.rng, &SECOND_RATINGS) }
                .unwrap_or(Rating::Satisfied);
        let unhappy = rating.is_dissatisfied();
        let resolved = if unhappy { self.rng.gen_bool(0.35) } else { self.rng.gen_bool(0.96) };
        let comment = if unhappy {
            Some(self.pick_text(&self.data.text.dissatisfied_comments))
        } else if self.rng.gen_bool(0.2) {
            Some(self.pick_str(&PRAISE_COMMENTS))
        } else {
            None
        };
        let who = if self.rng.gen_bool(0.4) { Who::Asker } else { Who::Operator };
        p.push(at, who, PlannedAction::FollowUp { rating, resolved, comment: comment.clone() });
        if may_reopen && unhappy && self.rng.gen_bool(0.03) {
            let at = self.work_after(p.last, 30, 480);
            let reason = match comment {
                Some(c) => format!("回访不满意，重新交办：{c}"),
                None => "回访不满意，诉求人反映问题未解决，请重新办理。".to_owned(),
            };
            p.push(at, Who::Dispatcher, PlannedAction::Reopen { reason });
            return true;
        }
        false
    }

    fn archive(&mut self, p: &mut Path, r: &Draft<'_>) {
        if self.end.signed_duration_since(r.received_at) > Duration::days(ARCHIVE_AFTER_DAYS) {
            let day = self.natural_after(p.last, 10 * 1440, 45 * 1440);
            let at = self.work_after(day, 1, 400);
            p.push(at, Who::Dispatcher, PlannedAction::Archive);
        }
    }

    /// Nothing after the end; recent requests stop somewhere along the way.
    fn finish(&mut self, mut steps: Vec<PlannedStep>, r: &Draft<'_>) -> Vec<PlannedStep> {
        if let Some(cut) = steps.iter().position(|s| s.at > self.end) {
            steps.truncate(cut);
        }
        if r.recent && !steps.is_empty() {
            let len = steps.len();
            let mut keep = self.rng.gen_range(0..=len);
            if self.end.signed_duration_since(r.received_at) > Duration::days(10) {
                keep = keep.max(self.rng.gen_range(0..=len));
            }
            steps.truncate(keep);
        }
        steps
    }

    /// For a duplicate received at `received`: an earlier request received
    /// at most three days before, not itself merged and still open when the
    /// dispatcher merges (10–120 minutes after receipt). The duplicate then
    /// takes its category and text.
    fn merge_target(&mut self, received: Instant, earlier: &[PlannedRequest]) -> Option<(usize, Instant)> {
        let at = self.natural_after(received, 10, 120);
        if at > self.end {
            return None;
        }
        let from = received.checked_sub_signed(Duration::days(MERGE_WINDOW_DAYS))?;
        let candidates: Vec<usize> = earlier
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, e)| e.received_at >= from)
            .filter(|(_, e)| e.kind != RequestKind::Praise && e.merge_parent().is_none() && e.state_at(at).is_open())
            .map(|(i, _)| i)
            .collect();
        candidates.choose(&mut self.rng).map(|&i| (i, at))
    }

    /// 15% of dispatches get one or two co-handling units (协办): the town
    /// of the location and/or another department.
    fn co_units(&mut self, r: &Draft<'_>) -> Vec<String> {
        if !self.rng.gen_bool(0.15) {
            return Vec::new();
        }
        let wanted = self.rng.gen_range(1..=2);
        let mut co = Vec::new();
        if let Some(town) = r.town
            && self.rng.gen_bool(0.6)
        {
            co.push(town.to_owned());
        }
        while co.len() < wanted {
            match self.other_department(r.lead) {
                Some(d) if !co.contains(&d) => co.push(d),
                Some(_) => {}
                None => break,
            }
            if self.departments.len() < 3 {
                break;
            }
        }
        co
    }

    /// Where a dispatcher sends a request of the template's category that `lead` should have: three
    /// times in four the category's usual confusion, so the same mistake repeats as it does in a real
    /// dispatch room (and the corrections have something to learn); otherwise any other department.
    fn misroute(&mut self, template: &Template, lead: &str) -> Option<String> {
        match self.confusions.get(template.category.as_str()) {
            Some(&usual) if usual != lead && self.rng.gen_bool(0.75) => Some(usual.to_owned()),
            _ => self.other_department(lead),
        }
    }

    fn other_department(&mut self, lead: &str) -> Option<String> {
        let others: Vec<&str> = self.departments.iter().copied().filter(|d| *d != lead).collect();
        others.choose(&mut self.rng).map(|d| (*d).to_owned())
    }

    /// The answer to the request: the template's reply to its text, filled
    /// with a date between receipt and `at`.
    fn reply_text(&mut self, r: &Draft<'_>, lead: &str, at: Instant) -> String {
        if r.kind == RequestKind::Praise {
            let unit = self.data.unit(lead).map_or("我单位", |u| u.display_name());
            return format!(
                "感谢您对{unit}工作的肯定与支持，我们已将您的表扬转达相关工作人员，今后将继续提升服务质量。"
            );
        }
        let template = match r.template.replies.get(r.text_index) {
            Some(t) => t.clone(),
            None => self.pick_text(&r.template.replies),
        };
        let day = at.date_naive();
        let back = self.rng.gen_range(0..=3);
        let date = day.checked_sub_signed(Duration::days(back)).unwrap_or(day).max(r.received_at.date_naive());
        r.fill.apply_with_date(&template, &month_day(date))
    }

    fn pick_text(&mut self, list: &[String]) -> String {
        list.choose(&mut self.rng).cloned().unwrap_or_default()
    }

    fn pick_str(&mut self, list: &[&str]) -> String {
        list.choose(&mut self.rng).map(|s| (*s).to_owned()).unwrap_or_default()
    }
}

/// The kind a title's wording says, if it says one.
fn kind_in_title(title: &str) -> Option<RequestKind> {
    [
        ("表扬", RequestKind::Praise),
        ("举报", RequestKind::Report),
        ("投诉", RequestKind::Complaint),
        ("建议", RequestKind::Suggestion),
        ("求助", RequestKind::Help),
        ("咨询", RequestKind::Consultation),
    ]
    .into_iter()
    .find(|(word, _)| title.contains(word))
    .map(|(_, kind)| kind)
}

/// A fictional mobile number `1[3-9]` + 9 digits.
pub(crate) fn mobile(rng: &mut StdRng) -> Result<Phone, DemoError> {
    let number = format!("1{}{:09}", rng.gen_range(3..=9), rng.gen_range(0..1_000_000_000u32));
    Phone::parse(&number).map_err(|e| DemoError(format!("生成的手机号 {number} 无效：{e}")))
}

pub(crate) fn pick<'t, T>(rng: &mut StdRng, list: &'t [T]) -> Result<&'t T, DemoError> {
    list.choose(rng).ok_or_else(|| DemoError("演示数据的素材列表为空".into()))
}

fn text_at(list: &[String], i: usize) -> &str {
    list.get(i).or_else(|| list.first()).map_or("", String::as_str)
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> Option<T> {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return items.first().map(|(v, _)| *v);
    }
    let mut x = rng.gen_range(0..total);
    for &(value, weight) in items {
        if x < weight {
            return Some(value);
        }
        x -= weight;
    }
    None
}

/// Seconds after midnight, drawn from weighted minute ranges.
fn time_of_day(rng: &mut StdRng, segments: &[(u32, u32, u32)]) -> u32 {
    let total: u32 = segments.iter().map(|(a, b, w)| (b - a) * w).sum();
    if total == 0 {
        return 9 * 3600;
    }
    let mut x = rng.gen_range(0..total);
    for &(from, to, weight) in segments {
        let size = (to - from) * weight;
        if x < size {
            return (from + x / weight) * 60 + rng.gen_range(0..60);
        }
        x -= size;
    }
    9 * 3600
}

fn local_instant(day: NaiveDate, secs: u32) -> Option<Instant> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)?;
    day.and_time(time).and_local_timezone(shanghai()).single()
}

pub(crate) fn plus_secs(t: Instant, secs: i64) -> Instant {
    t.checked_add_signed(Duration::seconds(secs)).unwrap_or(t)
}

/// Each leaf category's usual misroute: the lead department its sibling categories most often have
/// that is not its own (a unit with a neighbouring remit: 市场监管局 for a seal that 公安局 makes), the
/// smallest code among equals; a category whose siblings all share its lead gets a department picked
/// by a stable hash of its code.
fn confusions<'a>(data: &'a DemoData, departments: &[&'a str]) -> HashMap<&'a str, &'a str> {
    let mut confusions = HashMap::new();
    for c in &data.categories {
        let Some(lead) = c.lead.as_deref() else { continue };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for sibling in data.categories.iter().filter(|s| s.parent == c.parent) {
            match sibling.lead.as_deref() {
                Some(other) if other != lead && departments.contains(&other) => *counts.entry(other).or_default() += 1,
                _ => {}
            }
        }
        let by_sibling = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(d, _)| *d);
        let others: Vec<&str> = departments.iter().copied().filter(|d| *d != lead).collect();
        let by_hash = (!others.is_empty()).then(|| others[(fnv1a(c.code.as_bytes()) % others.len() as u64) as usize]);
        if let Some(usual) = by_sibling.or(by_hash) {
            confusions.insert(c.code.as_str(), usual);
        }
    }
    confusions
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use chrono::TimeZone;
    use mashangban_domain::lifecycle::{self, Context};
    use mashangban_domain::request::{Location, Request};

    use super::*;
    use crate::exec::{FoundUser, Resolved};

    fn end() -> Instant {
        shanghai().with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap()
    }

    fn plan(seed: u64, count: usize) -> Vec<PlannedRequest> {
        plan_until(seed, count, end())
    }

    fn plan_until(seed: u64, count: usize, end: Instant) -> Vec<PlannedRequest> {
        let data = DemoData::bundled().unwrap();
        let calendar = WorkCalendar::bundled().unwrap();
        build(&data, &HistoryOptions { seed, count, end }, &calendar).unwrap()
    }

    fn texts(r: &PlannedRequest) -> Vec<String> {
        let mut out = vec![r.title.clone(), r.content.clone(), r.contact.name.clone()];
        out.extend(r.address.clone());
        for s in &r.steps {
            match &s.action {
                PlannedAction::Dispatch { comment, .. }
                | PlannedAction::Redispatch { comment, .. }
                | PlannedAction::Close { comment }
                | PlannedAction::FollowUp { comment, .. } => out.extend(comment.clone()),
                PlannedAction::Return { reason }
                | PlannedAction::RefuseReturn { reason }
                | PlannedAction::RequestExtension { reason, .. }
                | PlannedAction::RefuseExtension { reason }
                | PlannedAction::Reopen { reason }
                | PlannedAction::Suspend { reason }
                | PlannedAction::Withdraw { reason } => out.push(reason.clone()),
                PlannedAction::StageReply { content }
                | PlannedAction::Reply { content }
                | PlannedAction::CoAnswer { content } => out.push(content.clone()),
                PlannedAction::DirectClose { answer } => out.push(answer.clone()),
                PlannedAction::SignFor
                | PlannedAction::ApproveExtension
                | PlannedAction::Merge { .. }
                | PlannedAction::Resume
                | PlannedAction::Archive => {}
            }
        }
        out
    }

    #[test]
    fn same_seed_same_plan() {
        let a = plan(7, 600);
        assert_eq!(a, plan(7, 600));
        assert_ne!(a, plan(8, 600));
        assert_eq!(a.len(), 600);
    }

    #[test]
    fn texts_are_filled_and_codes_valid() {
        let registry: HashMap<String, String> = crate::enterprises::demo_enterprises(&DemoData::bundled().unwrap())
            .unwrap()
            .into_iter()
            .map(|e| (e.credit_code.as_str().to_owned(), e.name))
            .collect();
        for r in plan(1, 2000) {
            for t in texts(&r) {
                assert!(!t.trim().is_empty());
                assert!(!t.contains('{') && !t.contains('}'), "unfilled: {t}");
            }
            assert!(r.title.chars().count() <= mashangban_domain::request::TITLE_MAX);
            assert!(r.content.chars().count() <= mashangban_domain::request::CONTENT_MAX);
            if let Asker::Enterprise { credit_code, name } = &r.asker {
                assert_eq!(&CreditCode::parse(credit_code.as_str()).unwrap(), credit_code);
                assert_eq!(credit_code.division_code(), "442000");
                assert!(name.ends_with("公司"));
                assert_eq!(registry.get(credit_code.as_str()), Some(name), "asks as a registered enterprise");
            }
            assert!(r.contact.phone.is_mobile());
            assert_eq!(r.check_code.len(), 8);
            assert!(r.check_code.bytes().all(|b| b.is_ascii_digit()));
            assert!(r.town.is_some());
        }
    }

    #[test]
    fn times_increase_and_stay_before_the_end() {
        let plan = plan(3, 3000);
        let start = end() - Duration::days(HISTORY_DAYS);
        let mut previous = start;
        for r in &plan {
            assert!(r.received_at >= previous, "received in order");
            previous = r.received_at;
            assert!(r.received_at > start && r.received_at <= end());
            let mut last = r.received_at;
            for s in &r.steps {
                assert!(s.at > last, "{} then {} ({})", last, s.at, s.action.name());
                assert!(s.at <= end());
                last = s.at;
            }
        }
    }

    #[test]
    fn every_step_is_allowed_by_the_lifecycle() {
        check_lifecycle(&plan(11, 4000));
    }

    /// Beyond the calendar's years deadlines are provisional (weekends
    /// only); the plan still holds and every request has its deadline.
    #[test]
    fn plans_outside_the_calendar_years_hold_too() {
        let end = shanghai().with_ymd_and_hms(2028, 3, 1, 12, 0, 0).unwrap();
        let plan = plan_until(2, 1500, end);
        let last_notice = shanghai().with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert!(plan.iter().any(|r| r.due_at.is_some_and(|due| due > last_notice)), "provisional deadlines");
        assert!(plan.iter().all(|r| r.steps.last().is_none_or(|s| s.at <= end)));
        check_lifecycle(&plan);
    }

    /// Runs every step through the real lifecycle, in time order across
    /// requests (as the executor does), with fake ids.
    fn check_lifecycle(plan: &[PlannedRequest]) {
        let check_calendar = WorkCalendar::bundled().unwrap();
        let data = DemoData::bundled().unwrap();
        let units: HashMap<String, (i64, String)> = data
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.code.clone(), (i as i64 + 1, u.display_name().to_owned())))
            .collect();
        let categories = data.categories.iter().enumerate().map(|(i, c)| (c.code.clone(), i as i64 + 1)).collect();
        let mut users = HashMap::new();
        users.insert("operator".into(), FoundUser { id: 1, name: "话务员".into(), unit_id: None });
        users.insert("dispatcher".into(), FoundUser { id: 2, name: "派单员".into(), unit_id: None });
        users.insert("enterprise".into(), FoundUser { id: 8, name: "企业".into(), unit_id: None });
        let resolved = Resolved::new(&data, units, categories, &users).unwrap();

        let mut requests: Vec<Request> = plan
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let new = resolved.new_request(p).unwrap();
                Request {
                    id: i as i64 + 1,
                    tracking_no: format!("T{i}"),
                    check_code: new.check_code,
                    kind: new.kind,
                    urgency: new.urgency,
                    channel: new.channel,
                    asker: new.asker,
                    contact: new.contact,
                    title: new.title,
                    content: new.content,
                    category_id: new.category_id,
                    location: Location { town_id: new.location.town_id, address: new.location.address, point: None },
                    state: State::Received,
                    lead_unit_id: None,
                    co_unit_ids: Vec::new(),
                    pending_extension: None,
                    merged_into: None,
                    rating: None,
                    resolved: None,
                    reopen_count: 0,
                    return_count: 0,
                    extension_count: 0,
                    urge_count: 0,
                    reopen_requested_at: None,
                    due_at: new.due_at,
                    deadlines: new.deadlines,
                    time_limits: new.time_limits,
                    suspended_at: None,
                    supervision: None,
                    ledger_ref: None,
                    submitted_by: new.submitted_by,
                    received_at: p.received_at,
                    updated_at: p.received_at,
                    closed_at: None,
                    unit_work: Default::default(),
                    version: 1,
                    screening_held: false,
                }
            })
            .collect();
        let mut all: Vec<(Instant, usize, usize)> = plan
            .iter()
            .enumerate()
            .flat_map(|(i, r)| r.steps.iter().enumerate().map(move |(n, s)| (s.at, i, n)))
            .collect();
        all.sort();
        for (at, i, n) in all {
            let step = &plan[i].steps[n];
            let action = resolved.action(&step.action, |p| Some(p as i64 + 1)).unwrap();
            let actor = resolved.actor(&step.who).unwrap();
            let parent = plan[i].merge_parent().map(|p| requests[p].clone());
            let ctx =
                Context { now: at, merge_parent: parent.as_ref(), calendar: Some(&check_calendar), sub_unit: None };
            let outcome = lifecycle::apply(&requests[i], &actor, &action, &ctx)
                .unwrap_or_else(|e| panic!("request {i} step {n} {}: {e}", step.action.name()));
            requests[i] = outcome.request;
        }
        for (r, p) in requests.iter().zip(plan) {
            assert_eq!(r.state, p.final_state());
        }
    }

    #[test]
    fn the_mix_looks_like_a_hotline() {
        let plan = plan(5, 5000);
        let mut channels = BTreeMap::new();
        let mut kinds = BTreeMap::new();
        let mut states = BTreeMap::new();
        let mut enterprise = 0;
        let mut demo = 0;
        let demo_code = crate::demo_enterprise().unwrap().0;
        for r in &plan {
            *channels.entry(r.channel.as_str()).or_insert(0) += 1;
            *kinds.entry(r.kind.as_str()).or_insert(0) += 1;
            *states.entry(r.final_state().as_str()).or_insert(0) += 1;
            if let Asker::Enterprise { credit_code, .. } = &r.asker {
                enterprise += 1;
                if *credit_code == demo_code {
                    demo += 1;
                }
            }
        }
        let share = |n: i32| f64::from(n) / 5000.0;
        assert!((share(channels["phone"]) - 0.55).abs() < 0.03, "{channels:?}");
        assert!(kinds["consultation"] > kinds["complaint"] && kinds["complaint"] > kinds["praise"], "{kinds:?}");
        assert!((share(demo) - 0.03).abs() < 0.01, "{demo}");
        assert!(enterprise > 1000, "{enterprise}");
        for state in State::ALL {
            assert!(
                states.get(state.as_str()).copied().unwrap_or(0) > 0,
                "no request left {}: {states:?}",
                state.as_str()
            );
        }
        assert!(states["archived"] > 2500, "{states:?}");
    }

    #[test]
    fn misroutes_repeat_the_same_confusion_per_category() {
        // A misroute is a dispatch to one unit and a re-dispatch (改派) to another; most of a category's
        // go to the same wrong unit, so what a correction teaches recurs.
        let mut wrong: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        let requests = plan(5, 5000);
        for r in &requests {
            let dispatched = r.steps.iter().find_map(|s| match &s.action {
                PlannedAction::Dispatch { lead, .. } => Some(lead.as_str()),
                _ => None,
            });
            let redispatched = r.steps.iter().any(|s| matches!(s.action, PlannedAction::Redispatch { .. }));
            if let (Some(lead), true) = (dispatched, redispatched) {
                *wrong.entry(r.category.as_str()).or_default().entry(lead).or_default() += 1;
            }
        }
        let misroutes: usize = wrong.values().flat_map(|units| units.values()).sum();
        let usual: usize = wrong.values().map(|units| units.values().max().copied().unwrap_or(0)).sum();
        assert!(misroutes > 200, "{misroutes}");
        assert!(usual * 10 > misroutes * 7, "{usual} of {misroutes} misroutes to their category's usual unit");
        let data = DemoData::bundled().unwrap();
        let departments: Vec<&str> = data.units_of_kind(UnitKind::Department).map(|u| u.code.as_str()).collect();
        let confusions = confusions(&data, &departments);
        assert_eq!(confusions.get("biz.seal"), Some(&"scjgj"), "a seal (公安局) is mistaken for 市场监管局's");
        assert!(data.categories.iter().filter(|c| c.lead.is_some()).all(|c| confusions.contains_key(c.code.as_str())));
    }
}
