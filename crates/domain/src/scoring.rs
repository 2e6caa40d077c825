//! Department scoring (考核): the indicators, how each event moves their
//! counters, and the reference computation of a report from raw events.
//!
//! Every indicator is a ratio of two counters (or, for the handling time, a
//! sum over a count). A request's events are replayed in order by a
//! [`Tracker`]; each event yields [`Delta`]s — "add `amount` to `counter` of
//! `unit` on `day`". The storage rollups add exactly these deltas to their
//! daily rows when the event is written, and [`score_from_events`] adds them
//! in memory, so both paths share one definition. The definitions in words
//! are in `docs/scoring.md`.
//!
//! Days are calendar days in Asia/Shanghai. A delta may land on a day other
//! than the event's own (the sign-for deadline, or the day of the dispatch
//! it answers): that is how each indicator is attributed to the period of the
//! moment that decides it.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::error::DomainError;
use crate::event::EventDetails;
use crate::org::UnitId;
use crate::request::{Event, EventKind, Rating, RequestId, State};
use crate::time::{Instant, in_shanghai};

/// Declares the counters: an enum to name one, and a struct holding all.
macro_rules! counters {
    ($($(#[$meta:meta])* $field:ident => $variant:ident),+ $(,)?) => {
        /// One counter of the rollups; its column name is the field name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Counter { $($variant),+ }

        impl Counter {
            pub const ALL: &'static [Counter] = &[$(Counter::$variant),+];

            /// The column (and JSON field) name.
            pub fn column(self) -> &'static str {
                match self { $(Counter::$variant => stringify!($field)),+ }
            }
        }

        /// Every counter of one unit (or the city) over some days.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
        pub struct Counters { $($(#[$meta])* pub $field: i64),+ }

        impl Counters {
            pub fn get(&self, counter: Counter) -> i64 {
                match counter { $(Counter::$variant => self.$field),+ }
            }

            fn slot(&mut self, counter: Counter) -> &mut i64 {
                match counter { $(Counter::$variant => &mut self.$field),+ }
            }
        }
    };
}

counters! {
    /// Assignments (派单/改派/驳回退单/重办): events that put the request in
    /// front of a lead unit for sign-for; on the day of the assignment.
    assigned => Assigned,
    /// Assignments the unit answered, by signing for or returning them; on the day of the assignment.
    answered => Answered,
    /// Assignments ended by withdrawal or merge before any answer; on the day of the assignment.
    dropped => Dropped,
    /// Assignments with a sign-for deadline, signed for or past it (按时签收率 denominator).
    sign_timed => SignTimed,
    /// Of those, signed for at or before the deadline.
    signed_on_time => SignedOnTime,
    /// Sign-fors (签收); on the day of the sign-for.
    signed => Signed,
    /// Returns (退单) by the unit.
    returned => Returned,
    /// Approved extensions (同意延期).
    extended => Extended,
    /// Closes (办结 and 直接办结).
    closed => Closed,
    /// Closes with a reply deadline in force.
    closed_with_due => ClosedWithDue,
    /// Of those, replied (or directly closed) at or before the deadline.
    closed_on_time => ClosedOnTime,
    /// Follow-ups (回访).
    followed_up => FollowedUp,
    /// Follow-ups where the asker said the matter was resolved.
    resolved => Resolved,
    /// Follow-ups rated 非常满意.
    very_satisfied => VerySatisfied,
    /// Follow-ups rated 满意.
    satisfied => Satisfied,
    /// Follow-ups rated 基本满意.
    fairly_satisfied => FairlySatisfied,
    /// Follow-ups rated 不满意.
    dissatisfied => Dissatisfied,
    /// Follow-ups rated 非常不满意.
    very_dissatisfied => VeryDissatisfied,
    /// Reopened requests (重办).
    reopened => Reopened,
    /// Duplicates merged into a request the unit leads (并单).
    merged_duplicates => MergedDuplicates,
    /// Closes with a measured handling time.
    handled => Handled,
    /// Their working time from sign-for to reply, in seconds.
    handling_seconds => HandlingSeconds,
    /// Closes whose handling time could not be measured (a year the calendar does not cover).
    handling_uncovered => HandlingUncovered,
    /// Assignments made by automatic dispatch (自动派单, the platform as actor); on the day of the
    /// assignment, to the assigned unit. An audit figure: in no rate of the composite score.
    auto_assigned => AutoAssigned,
    /// Of those, returned (退单) by the unit; on the day of the return, to the assigned unit.
    auto_returned => AutoReturned,
}

impl Counters {
    pub fn add(&mut self, counter: Counter, amount: i64) {
        *self.slot(counter) += amount;
    }

    pub fn merge(&mut self, other: &Counters) {
        for &c in Counter::ALL {
            self.add(c, other.get(c));
        }
    }

    pub fn is_zero(&self) -> bool {
        Counter::ALL.iter().all(|&c| self.get(c) == 0)
    }

    /// Follow-ups with a rating (满意率 denominator).
    pub fn rated(&self) -> i64 {
        self.very_satisfied + self.satisfied + self.fairly_satisfied + self.dissatisfied + self.very_dissatisfied
    }
}

/// "Add `amount` to `counter` of `unit` on `day`." `unit` is `None` for what
/// no unit answers for (a request closed at intake); it counts for the city.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub day: NaiveDate,
    pub unit: Option<UnitId>,
    pub counter: Counter,
    pub amount: i64,
}

/// The calendar day of an instant in Asia/Shanghai.
pub fn day_of(t: &Instant) -> NaiveDate {
    in_shanghai(t).date_naive()
}

/// An assignment waiting for the unit's answer (sign-for or return).
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    unit: Option<UnitId>,
    day: NaiveDate,
    sign_due: Option<Instant>,
    /// Made by automatic dispatch.
    automatic: bool,
}

/// The unit's work on the current assignment.
#[derive(Debug, Clone, Default, PartialEq)]
struct Round {
    first_sign: Option<Instant>,
    /// The latest reply and the reply deadline in force when it was given.
    last_reply: Option<(Instant, Option<Instant>)>,
    suspended_since: Option<Instant>,
    /// Suspensions (挂起) that ended, which the handling time leaves out.
    pauses: Vec<(Instant, Instant)>,
}

/// What scoring needs to remember of one request while its events are
/// replayed in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracker {
    lead: Option<UnitId>,
    /// The reply deadline in force after the latest event.
    due: Option<Instant>,
    pending: Option<Pending>,
    round: Round,
}

impl Tracker {
    /// The tracker after the given events (oldest first).
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut tracker = Self::default();
        for e in events {
            tracker.advance(e);
        }
        tracker
    }

    /// The deltas of the next event, then remembers it.
    pub fn step(&mut self, event: &Event, calendar: &WorkCalendar) -> Vec<Delta> {
        let deltas = self.deltas(event, calendar);
        self.advance(event);
        deltas
    }

    /// What the event adds to the counters, given the events before it.
    pub fn deltas(&self, e: &Event, calendar: &WorkCalendar) -> Vec<Delta> {
        let mut out = Out { day: day_of(&e.at), list: Vec::new() };
        match e.kind {
            EventKind::SignedFor => self.on_sign(e.at, &mut out),
            EventKind::Returned => self.on_return(e, &mut out),
            EventKind::Withdrawn | EventKind::MergedInto => self.on_drop(e.at, &mut out),
            EventKind::ExtensionApproved => out.today(self.lead, Counter::Extended, 1),
            EventKind::Closed => self.on_close(e.at, calendar, &mut out),
            EventKind::DirectlyClosed => self.on_direct_close(e.at, &mut out),
            EventKind::FollowedUp => self.on_follow_up(e, &mut out),
            EventKind::Reopened => out.today(self.lead, Counter::Reopened, 1),
            EventKind::MergedChild => out.today(self.lead, Counter::MergedDuplicates, 1),
            _ => {}
        }
        if starts_assignment(e) {
            let unit = self.lead_after(e);
            out.today(unit, Counter::Assigned, 1);
            if is_automatic(e) {
                out.today(unit, Counter::AutoAssigned, 1);
            }
            if let Some(due) = sign_due(e) {
                // Counted as not signed in time until a sign-for in time moves it.
                out.on(day_of(&due), unit, Counter::SignTimed, 1);
            }
        }
        out.list
    }

    /// Remembers the event.
    pub fn advance(&mut self, e: &Event) {
        let lead = self.lead_after(e);
        match e.kind {
            EventKind::SignedFor => {
                self.pending = None;
                self.round.first_sign.get_or_insert(e.at);
            }
            EventKind::Returned | EventKind::Withdrawn | EventKind::MergedInto => self.pending = None,
            EventKind::Replied => self.round.last_reply = Some((e.at, self.due)),
            _ => {}
        }
        self.track_suspension(e);
        if starts_assignment(e) {
            self.pending =
                Some(Pending { unit: lead, day: day_of(&e.at), sign_due: sign_due(e), automatic: is_automatic(e) });
            self.round = Round::default();
        }
        self.lead = lead;
        self.due = e.due_at;
    }

    fn track_suspension(&mut self, e: &Event) {
        let was = e.from_state == Some(State::Suspended);
        let is = e.to_state == State::Suspended;
        if is && !was {
            self.round.suspended_since = Some(e.at);
        } else if was
            && !is
            && let Some(since) = self.round.suspended_since.take()
        {
            self.round.pauses.push((since, e.at));
        }
    }

    /// The lead unit after the event: dispatches and re-dispatches name it.
    fn lead_after(&self, e: &Event) -> Option<UnitId> {
        match e.kind {
            EventKind::Dispatched | EventKind::Redispatched => e.details.dispatched_to().or(self.lead),
            _ => self.lead,
        }
    }

    fn on_sign(&self, at: Instant, out: &mut Out) {
        let Some(p) = &self.pending else {
            out.today(self.lead, Counter::Signed, 1);
            return;
        };
        out.today(p.unit, Counter::Signed, 1);
        out.on(p.day, p.unit, Counter::Answered, 1);
        if let Some(due) = p.sign_due.filter(|due| at <= *due) {
            out.on(day_of(&due), p.unit, Counter::SignTimed, -1);
            out.today(p.unit, Counter::SignTimed, 1);
            out.today(p.unit, Counter::SignedOnTime, 1);
        }
    }

    fn on_return(&self, e: &Event, out: &mut Out) {
        let by = match &e.details {
            EventDetails::Returned(r) => r.returned_by_unit_id.or(self.lead),
            _ => self.lead,
        };
        out.today(by, Counter::Returned, 1);
        if let Some(p) = &self.pending {
            out.on(p.day, p.unit, Counter::Answered, 1);
            if p.automatic {
                out.today(p.unit, Counter::AutoReturned, 1);
            }
            self.cancel_sign_due(e.at, out);
        }
    }

    /// Withdrawn or merged: an unanswered assignment leaves the response
    /// rate, and its sign-for deadline counts only if it had already passed.
    fn on_drop(&self, at: Instant, out: &mut Out) {
        if let Some(p) = &self.pending {
            out.on(p.day, p.unit, Counter::Dropped, 1);
            self.cancel_sign_due(at, out);
        }
    }

    /// An assignment ended unsigned before its sign-for deadline: not timed.
    fn cancel_sign_due(&self, at: Instant, out: &mut Out) {
        if let Some(p) = &self.pending
            && let Some(due) = p.sign_due.filter(|due| at <= *due)
        {
            out.on(day_of(&due), p.unit, Counter::SignTimed, -1);
        }
    }

    fn on_close(&self, at: Instant, calendar: &WorkCalendar, out: &mut Out) {
        out.today(self.lead, Counter::Closed, 1);
        let (replied_at, due) = self.round.last_reply.unwrap_or((at, self.due));
        if let Some(due) = due {
            out.today(self.lead, Counter::ClosedWithDue, 1);
            if replied_at <= due {
                out.today(self.lead, Counter::ClosedOnTime, 1);
            }
        }
        if let (Some(signed), Some((replied, _))) = (self.round.first_sign, self.round.last_reply) {
            match handling_seconds(calendar, signed, replied, &self.round.pauses) {
                Some(seconds) => {
                    out.today(self.lead, Counter::Handled, 1);
                    out.today(self.lead, Counter::HandlingSeconds, seconds);
                }
                None => out.today(self.lead, Counter::HandlingUncovered, 1),
            }
        }
    }

    fn on_direct_close(&self, at: Instant, out: &mut Out) {
        out.today(self.lead, Counter::Closed, 1);
        if let Some(due) = self.due {
            out.today(self.lead, Counter::ClosedWithDue, 1);
            if at <= due {
                out.today(self.lead, Counter::ClosedOnTime, 1);
            }
        }
    }

    fn on_follow_up(&self, e: &Event, out: &mut Out) {
        out.today(self.lead, Counter::FollowedUp, 1);
        if let EventDetails::FollowedUp(f) = &e.details {
            if f.resolved {
                out.today(self.lead, Counter::Resolved, 1);
            }
            out.today(self.lead, rating_counter(f.rating), 1);
        }
    }
}

/// Deltas being collected for one event happening on `day`.
struct Out {
    day: NaiveDate,
    list: Vec<Delta>,
}

impl Out {
    fn on(&mut self, day: NaiveDate, unit: Option<UnitId>, counter: Counter, amount: i64) {
        self.list.push(Delta { day, unit, counter, amount });
    }

    fn today(&mut self, unit: Option<UnitId>, counter: Counter, amount: i64) {
        self.on(self.day, unit, counter, amount);
    }
}

/// Whether an event of this kind and transition can move a counter; the
/// rollups skip the others without reading the request's history.
pub fn event_counts(kind: EventKind, from: Option<State>, to: State) -> bool {
    use EventKind::*;
    matches!(
        kind,
        SignedFor
            | Returned
            | Withdrawn
            | MergedInto
            | ExtensionApproved
            | Closed
            | DirectlyClosed
            | FollowedUp
            | Reopened
            | MergedChild
    ) || is_assignment(from, to)
}

/// Whether the transition puts the request in front of the lead unit for a
/// sign-for: dispatch, re-dispatch, refused return, reopen to a unit.
fn is_assignment(from: Option<State>, to: State) -> bool {
    to == State::Dispatched && from != Some(State::Dispatched)
}

fn starts_assignment(e: &Event) -> bool {
    is_assignment(e.from_state, e.to_state)
}

/// Whether the event is an automatic dispatch (自动派单): a dispatch the platform itself made.
fn is_automatic(e: &Event) -> bool {
    e.kind == EventKind::Dispatched && e.actor_role == crate::org::Actor::System.role_str()
}

/// The sign-for deadline the assignment event carries, if known.
fn sign_due(e: &Event) -> Option<Instant> {
    e.details.sign_due_at()
}

fn rating_counter(rating: Rating) -> Counter {
    match rating {
        Rating::VerySatisfied => Counter::VerySatisfied,
        Rating::Satisfied => Counter::Satisfied,
        Rating::FairlySatisfied => Counter::FairlySatisfied,
        Rating::Dissatisfied => Counter::Dissatisfied,
        Rating::VeryDissatisfied => Counter::VeryDissatisfied,
    }
}

/// Working seconds from sign-for to reply, less the suspensions; `None`
/// where the calendar does not cover the dates.
fn handling_seconds(calendar: &WorkCalendar, from: Instant, to: Instant, pauses: &[(Instant, Instant)]) -> Option<i64> {
    let mut total = calendar.working_time_between(from, to).ok()?;
    for (a, b) in pauses {
        total -= calendar.working_time_between(*a, *b).ok()?;
    }
    Some(total.num_seconds().max(0))
}

// ---- periods, options and reports ---------------------------------------

/// The longest period a report may cover, in months.
pub const MAX_PERIOD_MONTHS: u32 = 36;

/// A period of whole days, both ends included (Asia/Shanghai).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// `invalid_period` if `from` is after `to` or the span exceeds three years.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, DomainError> {
        if from > to {
            return Err(DomainError::invalid("invalid_period", format!("开始日期 {from} 晚于结束日期 {to}")));
        }
        let limit = from.checked_add_months(Months::new(MAX_PERIOD_MONTHS));
        if limit.is_none_or(|limit| to >= limit) {
            return Err(DomainError::invalid(
                "invalid_period",
                format!("统计区间不能超过{}年（{from} 至 {to}）", MAX_PERIOD_MONTHS / 12),
            ));
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// How a report is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreOptions {
    /// Whether 基本满意 counts as satisfied.
    pub fairly_satisfied_counts: bool,
    /// The weight of 按时完成任务率 in the composite score, beside the request rates' 100; 0 (the
    /// default) leaves it out.
    #[serde(default)]
    pub task_on_time_weight: u32,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self { fairly_satisfied_counts: true, task_on_time_weight: 0 }
    }
}

/// A ratio indicator: numerator, denominator and their quotient (none when
/// the denominator is zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Ratio {
    pub numerator: i64,
    pub denominator: i64,
    pub rate: Option<f64>,
}

impl Ratio {
    fn new(numerator: i64, denominator: i64) -> Self {
        let rate = (denominator > 0).then(|| numerator as f64 / denominator as f64);
        Self { numerator, denominator, rate }
    }
}

/// The average handling time (平均办理时长) in working hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HandlingTime {
    /// Closes measured.
    pub count: i64,
    pub total_seconds: i64,
    pub average_hours: Option<f64>,
    /// Closes left out because the calendar does not cover their dates.
    pub excluded: i64,
}

/// Every indicator of one unit or the city.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Indicators {
    /// 按时签收率.
    pub on_time_sign_for: Ratio,
    /// 响应率.
    pub response: Ratio,
    /// 按时办结率.
    pub on_time_close: Ratio,
    /// 解决率.
    pub resolution: Ratio,
    /// 满意率.
    pub satisfaction: Ratio,
    /// 退单率.
    pub return_rate: Ratio,
    /// 延期率.
    pub extension: Ratio,
    /// 重复诉求率.
    pub repeat: Ratio,
    /// 平均办理时长.
    pub handling_time: HandlingTime,
    /// 自动派单退单率: automatic assignments the unit returned, of its automatic assignments. An
    /// audit of automatic dispatch (a high rate says a category's threshold is too low), not of
    /// the unit: in no composite score.
    pub auto_dispatch_returns: Ratio,
    /// 按时完成任务率: the unit's command-centre tasks done by their due time, of those decided in the
    /// period (see [`TaskTally`]).
    pub tasks_on_time: Ratio,
    /// 超期未完成任务: the unit's tasks due in the period, not done and past due now.
    pub overdue_tasks: i64,
}

impl Indicators {
    /// The indicators of request counters alone (no tasks).
    pub fn of(c: &Counters, options: &ScoreOptions) -> Self {
        Self::with_tasks(c, &TaskTally::default(), options)
    }

    /// The indicators of request counters and the unit's tasks.
    pub fn with_tasks(c: &Counters, tasks: &TaskTally, options: &ScoreOptions) -> Self {
        let fairly = if options.fairly_satisfied_counts { c.fairly_satisfied } else { 0 };
        Self {
            on_time_sign_for: Ratio::new(c.signed_on_time, c.sign_timed),
            response: Ratio::new(c.answered, c.assigned - c.dropped),
            on_time_close: Ratio::new(c.closed_on_time, c.closed_with_due),
            resolution: Ratio::new(c.resolved, c.followed_up),
            satisfaction: Ratio::new(c.very_satisfied + c.satisfied + fairly, c.rated()),
            return_rate: Ratio::new(c.returned, c.assigned),
            extension: Ratio::new(c.extended, c.signed),
            repeat: Ratio::new(c.reopened + c.merged_duplicates, c.closed),
            handling_time: HandlingTime {
                count: c.handled,
                total_seconds: c.handling_seconds,
                average_hours: (c.handled > 0).then(|| c.handling_seconds as f64 / 3600.0 / c.handled as f64),
                excluded: c.handling_uncovered,
            },
            auto_dispatch_returns: Ratio::new(c.auto_returned, c.auto_assigned),
            tasks_on_time: Ratio::new(tasks.on_time, tasks.decided),
            overdue_tasks: tasks.overdue_open,
        }
    }

    /// The composite score (综合得分, 0–100): the weighted mean of the rates
    /// that have a denominator, "lower is better" rates taken as 1 − rate.
    /// The tasks' rate enters with the options' weight (none by default).
    pub fn score(&self, options: &ScoreOptions) -> Option<f64> {
        let parts = [
            (self.on_time_sign_for, 10.0, false),
            (self.response, 10.0, false),
            (self.on_time_close, 20.0, false),
            (self.resolution, 20.0, false),
            (self.satisfaction, 20.0, false),
            (self.return_rate, 5.0, true),
            (self.extension, 5.0, true),
            (self.repeat, 10.0, true),
            (self.tasks_on_time, f64::from(options.task_on_time_weight), false),
        ];
        let (mut sum, mut weights) = (0.0, 0.0);
        for (ratio, weight, lower_is_better) in parts {
            if let Some(rate) = ratio.rate.filter(|_| weight > 0.0) {
                let good = if lower_is_better { 1.0 - rate.min(1.0) } else { rate.min(1.0) };
                sum += weight * good;
                weights += weight;
            }
        }
        (weights > 0.0).then(|| (sum / weights * 10_000.0).round() / 100.0)
    }
}

/// One row of a report: a unit (or the city, `unit_id: None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    pub unit_id: Option<UnitId>,
    /// Place in the ranking (1 = best; equal scores share a place); none without a score.
    pub rank: Option<u32>,
    pub score: Option<f64>,
    pub indicators: Indicators,
    pub counters: Counters,
    pub tasks: TaskTally,
}

impl ScoreRow {
    fn new(unit_id: Option<UnitId>, counters: Counters, tasks: TaskTally, options: &ScoreOptions) -> Self {
        let indicators = Indicators::with_tasks(&counters, &tasks, options);
        Self { unit_id, rank: None, score: indicators.score(options), indicators, counters, tasks }
    }
}

/// A scoring report: the city and every unit with something to count, ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    pub options: ScoreOptions,
    pub city: ScoreRow,
    pub units: Vec<ScoreRow>,
}

impl Report {
    /// Builds the report from the summed counters per unit (`None`: no unit).
    /// The city is the sum of all; units whose counters are all zero are left out.
    pub fn from_counters(period: Period, options: ScoreOptions, totals: &BTreeMap<Option<UnitId>, Counters>) -> Self {
        Self::from_parts(period, options, totals, &BTreeMap::new())
    }

    /// Builds the report from the request counters and the task tallies per unit. Units with
    /// neither counters nor tasks are left out.
    pub fn from_parts(
        period: Period,
        options: ScoreOptions,
        totals: &BTreeMap<Option<UnitId>, Counters>,
        tasks: &BTreeMap<UnitId, TaskTally>,
    ) -> Self {
        let mut city = Counters::default();
        for c in totals.values() {
            city.merge(c);
        }
        let mut city_tasks = TaskTally::default();
        for t in tasks.values() {
            city_tasks.merge(t);
        }
        let mut units_seen: Vec<UnitId> = totals.keys().flatten().chain(tasks.keys()).copied().collect();
        units_seen.sort_unstable();
        units_seen.dedup();
        let mut units: Vec<ScoreRow> = units_seen
            .into_iter()
            .map(|u| {
                let counters = totals.get(&Some(u)).copied().unwrap_or_default();
                (u, counters, tasks.get(&u).copied().unwrap_or_default())
            })
            .filter(|(_, c, t)| !c.is_zero() || !t.is_zero())
            .map(|(u, c, t)| ScoreRow::new(Some(u), c, t, &options))
            .collect();
        rank(&mut units);
        Self { period, options, city: ScoreRow::new(None, city, city_tasks, &options), units }
    }

    /// The same report with the units' tasks counted (its rows' tasks replaced), re-scored and re-ranked.
    pub fn with_tasks(self, tasks: &BTreeMap<UnitId, TaskTally>) -> Self {
        let mut without_unit = self.city.counters;
        let mut totals = BTreeMap::new();
        for row in &self.units {
            for &c in Counter::ALL {
                without_unit.add(c, -row.counters.get(c));
            }
            totals.insert(row.unit_id, row.counters);
        }
        totals.insert(None, without_unit);
        Self::from_parts(self.period, self.options, &totals, tasks)
    }
}

// ---- command-centre tasks -------------------------------------------------

/// A command-centre task (指挥部任务, 施工图) as scoring reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The unit or town it is assigned to.
    pub unit: UnitId,
    pub due_at: Instant,
    /// When it was declared done (已办结), if it was.
    pub done_at: Option<Instant>,
}

/// A unit's tasks in a period, as of `now`: those due in the period or done in it count once
/// decided — done (on time when done at or before the due time), or not done past due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskTally {
    /// Tasks decided (按时完成任务率 denominator).
    pub decided: i64,
    /// Of those, done by their due time.
    pub on_time: i64,
    /// Tasks due in the period, not done and past due now (超期未完成).
    pub overdue_open: i64,
}

impl TaskTally {
    /// Counts one task of the unit, as of `now`.
    pub fn add(&mut self, task: &TaskOutcome, period: &Period, now: Instant) {
        let due_in_period = period.contains(day_of(&task.due_at));
        match task.done_at {
            Some(done) if due_in_period || period.contains(day_of(&done)) => {
                self.decided += 1;
                self.on_time += i64::from(done <= task.due_at);
            }
            Some(_) => {}
            None if due_in_period && task.due_at < now => {
                self.decided += 1;
                self.overdue_open += 1;
            }
            None => {}
        }
    }

    pub fn merge(&mut self, other: &TaskTally) {
        self.decided += other.decided;
        self.on_time += other.on_time;
        self.overdue_open += other.overdue_open;
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The tallies of the tasks' units over the period, as of `now`; units with nothing counted are left out.
pub fn tally_tasks(tasks: &[TaskOutcome], period: &Period, now: Instant) -> BTreeMap<UnitId, TaskTally> {
    let mut out: BTreeMap<UnitId, TaskTally> = BTreeMap::new();
    for task in tasks {
        out.entry(task.unit).or_default().add(task, period, now);
    }
    out.retain(|_, t| !t.is_zero());
    out
}

/// Sorts by score (best first, unscored last, then unit id) and numbers the
/// places; equal scores share a place (1, 2, 2, 4).
fn rank(rows: &mut [ScoreRow]) {
    rows.sort_by(|a, b| match (a.score, b.score) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.unit_id.cmp(&b.unit_id)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.unit_id.cmp(&b.unit_id),
    });
    let mut previous: Option<(f64, u32)> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(score) = row.score else { continue };
        let place = match previous {
            Some((s, p)) if s == score => p,
            _ => u32::try_from(i + 1).unwrap_or(u32::MAX),
        };
        row.rank = Some(place);
        previous = Some((score, place));
    }
}

/// Adds deltas that fall in the period to the per-unit totals.
pub fn accumulate(totals: &mut BTreeMap<Option<UnitId>, Counters>, period: &Period, deltas: &[Delta]) {
    for d in deltas.iter().filter(|d| period.contains(d.day)) {
        totals.entry(d.unit).or_default().add(d.counter, d.amount);
    }
}

/// The reference computation: the report over `period` from raw events (of
/// any requests, in any order), replaying each request's events by `seq`.
pub fn score_from_events(events: &[Event], period: &Period, calendar: &WorkCalendar, options: &ScoreOptions) -> Report {
    let mut by_request: BTreeMap<RequestId, Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_request.entry(e.request_id).or_default().push(e);
    }
    let mut totals = BTreeMap::new();
    for history in by_request.values_mut() {
        history.sort_by_key(|e| e.seq);
        let mut tracker = Tracker::default();
        for e in history.iter() {
            accumulate(&mut totals, period, &tracker.step(e, calendar));
        }
    }
    Report::from_counters(*period, *options, &totals)
}

/// A day as the integer `YYYYMMDD`, the rollups' key.
pub fn day_key(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 10_000 + i64::from(day.month()) * 100 + i64::from(day.day())
}

/// A month as the integer `YYYYMM`.
pub fn month_key(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 100 + i64::from(day.month())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use serde_json::json;

    fn at(s: &str) -> Instant {
        parse_instant(&format!("{s}+08:00")).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    struct History {
        request_id: RequestId,
        events: Vec<Event>,
        state: State,
        due: Option<Instant>,
    }

    impl History {
        fn new(request_id: RequestId, received: &str, due: Option<&str>) -> Self {
            let mut h = Self { request_id, events: Vec::new(), state: State::Received, due: due.map(at) };
            h.push(received, EventKind::Received, State::Received, json!({}));
            h
        }

        fn push(&mut self, when: &str, kind: EventKind, to: State, details: serde_json::Value) -> &mut Self {
            let seq = self.events.len() as i64 + 1;
            let from = if seq == 1 { None } else { Some(self.state) };
            self.events.push(Event {
                id: self.request_id * 100 + seq,
                request_id: self.request_id,
                seq,
                at: at(when),
                kind,
                actor_user_id: None,
                actor_name: "t".into(),
                actor_role: "t".into(),
                actor_unit_id: None,
                client_ip: None,
                from_state: from,
                to_state: to,
                comment: None,
                details: EventDetails::read(kind, details),
                attachment_ids: vec![],
                due_at: self.due,
            });
            self.state = to;
            self
        }

        fn dispatch(&mut self, when: &str, unit: UnitId, sign_due: Option<&str>) -> &mut Self {
            let due = sign_due.map(|s| crate::time::format_instant(&at(s)));
            self.push(
                when,
                EventKind::Dispatched,
                State::Dispatched,
                json!({ "lead_unit_id": unit, "sign_due_at": due }),
            )
        }
    }

    fn report(histories: &[&History], from: &str, to: &str) -> Report {
        let events: Vec<Event> = histories.iter().flat_map(|h| h.events.clone()).collect();
        let calendar = WorkCalendar::bundled().unwrap();
        score_from_events(&events, &Period::new(day(from), day(to)).unwrap(), &calendar, &ScoreOptions::default())
    }

    fn unit(r: &Report, id: UnitId) -> &ScoreRow {
        r.units.iter().find(|u| u.unit_id == Some(id)).unwrap()
    }

    #[test]
    fn a_full_round_counts_in_every_indicator() {
        let mut h = History::new(1, "2026-03-02T09:00:00", Some("2026-03-10T17:30:00"));
        h.dispatch("2026-03-02T10:00:00", 7, Some("2026-03-02T14:30:00"))
            .push("2026-03-02T11:00:00", EventKind::SignedFor, State::SignedFor, json!({}))
            .push("2026-03-03T09:00:00", EventKind::Replied, State::Replied, json!({}))
            .push("2026-03-03T10:00:00", EventKind::Closed, State::Closed, json!({}))
            .push(
                "2026-03-04T10:00:00",
                EventKind::FollowedUp,
                State::FollowedUp,
                json!({ "rating": "fairly_satisfied", "resolved": true }),
            );
        let r = report(&[&h], "2026-03-01", "2026-03-31");
        let i = unit(&r, 7).indicators;
        assert_eq!((i.on_time_sign_for.numerator, i.on_time_sign_for.denominator), (1, 1));
        assert_eq!((i.response.numerator, i.response.denominator), (1, 1));
        assert_eq!((i.on_time_close.numerator, i.on_time_close.denominator), (1, 1));
        assert_eq!((i.resolution.numerator, i.resolution.denominator), (1, 1));
        assert_eq!((i.satisfaction.numerator, i.satisfaction.denominator), (1, 1));
        // 11:00–12:00 and 14:00–17:30 on Monday, 08:30–09:00 on Tuesday: 5 working hours.
        assert_eq!(i.handling_time.count, 1);
        assert_eq!(i.handling_time.total_seconds, 5 * 3600);
        assert_eq!(r.city.counters, unit(&r, 7).counters);
        assert_eq!(r.city.score, unit(&r, 7).score);
        let strict = score_from_events(
            &h.events,
            &Period::new(day("2026-03-01"), day("2026-03-31")).unwrap(),
            &WorkCalendar::bundled().unwrap(),
            &ScoreOptions { fairly_satisfied_counts: false, ..ScoreOptions::default() },
        );
        assert_eq!(strict.city.indicators.satisfaction.numerator, 0);
    }

    #[test]
    fn automatic_dispatches_and_the_returns_of_them_are_counted_apart_and_leave_the_score_alone() {
        let automatic = |h: &mut History| h.events.last_mut().unwrap().actor_role = "system".into();
        // Automatically dispatched to 7, returned by 7, re-dispatched by a person to 8.
        let mut returned = History::new(1, "2026-03-02T09:00:00", None);
        returned.dispatch("2026-03-02T09:00:01", 7, None);
        automatic(&mut returned);
        returned
            .push("2026-03-03T10:00:00", EventKind::Returned, State::Returned, json!({ "returned_by_unit_id": 7 }))
            .push("2026-03-03T11:00:00", EventKind::Redispatched, State::Dispatched, json!({ "lead_unit_id": 8 }))
            .push("2026-03-03T12:00:00", EventKind::Returned, State::Returned, json!({ "returned_by_unit_id": 8 }));
        // Automatically dispatched to 7 and kept.
        let mut kept = History::new(2, "2026-03-02T09:00:00", None);
        kept.dispatch("2026-03-02T09:00:01", 7, None);
        automatic(&mut kept);
        kept.push("2026-03-02T10:00:00", EventKind::SignedFor, State::SignedFor, json!({}));
        // Dispatched by a person to 7 and returned: no automatic figure.
        let mut manual = History::new(3, "2026-03-02T09:00:00", None);
        manual.dispatch("2026-03-02T09:30:00", 7, None).push(
            "2026-03-02T10:00:00",
            EventKind::Returned,
            State::Returned,
            json!({ "returned_by_unit_id": 7 }),
        );
        let r = report(&[&returned, &kept, &manual], "2026-03-01", "2026-03-31");
        let seven = unit(&r, 7);
        assert_eq!((seven.counters.auto_assigned, seven.counters.auto_returned), (2, 1));
        let ratio = seven.indicators.auto_dispatch_returns;
        assert_eq!((ratio.numerator, ratio.denominator, ratio.rate), (1, 2, Some(0.5)));
        assert_eq!((seven.counters.assigned, seven.counters.returned), (3, 2));
        let eight = unit(&r, 8);
        assert_eq!((eight.counters.auto_assigned, eight.counters.auto_returned), (0, 0), "a person's re-dispatch");
        assert_eq!(eight.indicators.auto_dispatch_returns.rate, None);
        assert_eq!((r.city.counters.auto_assigned, r.city.counters.auto_returned), (2, 1));

        // The same histories with every dispatch made by a person score the units the same.
        let by_people = |h: &History| {
            let mut h = History { request_id: h.request_id, events: h.events.clone(), state: h.state, due: h.due };
            h.events.iter_mut().for_each(|e| e.actor_role = "t".into());
            h
        };
        let people =
            report(&[&by_people(&returned), &by_people(&kept), &by_people(&manual)], "2026-03-01", "2026-03-31");
        assert_eq!(unit(&people, 7).score, seven.score);
        assert_eq!(unit(&people, 7).counters.auto_assigned, 0);
    }

    #[test]
    fn a_late_sign_for_counts_on_the_deadline_day_and_an_early_return_not_at_all() {
        let mut late = History::new(1, "2026-03-02T09:00:00", None);
        late.dispatch("2026-03-02T10:00:00", 7, Some("2026-03-02T14:30:00")).push(
            "2026-03-05T09:00:00",
            EventKind::SignedFor,
            State::SignedFor,
            json!({}),
        );
        let mut returned = History::new(2, "2026-03-02T09:00:00", None);
        returned
            .dispatch("2026-03-02T10:00:00", 7, Some("2026-03-03T10:00:00"))
            .push("2026-03-02T11:00:00", EventKind::Returned, State::Returned, json!({ "returned_by_unit_id": 7 }))
            .push(
                "2026-03-02T12:00:00",
                EventKind::Redispatched,
                State::Dispatched,
                json!({ "lead_unit_id": 8, "sign_due_at": null }),
            );
        let r = report(&[&late, &returned], "2026-03-02", "2026-03-02");
        let seven = unit(&r, 7).indicators;
        assert_eq!((seven.on_time_sign_for.numerator, seven.on_time_sign_for.denominator), (0, 1));
        assert_eq!((seven.response.numerator, seven.response.denominator), (2, 2));
        assert_eq!((seven.return_rate.numerator, seven.return_rate.denominator), (1, 2));
        let eight = unit(&r, 8).indicators;
        assert_eq!((eight.response.numerator, eight.response.denominator), (0, 1));
        assert_eq!(eight.on_time_sign_for.denominator, 0);
        // The late sign-for on March 5 adds no second count.
        let later = report(&[&late], "2026-03-03", "2026-03-31");
        assert_eq!(unit(&later, 7).indicators.on_time_sign_for.denominator, 0);
        assert_eq!(unit(&later, 7).counters.signed, 1);
    }

    #[test]
    fn withdrawal_before_the_deadline_drops_the_assignment_and_merges_count_as_repeats() {
        let mut parent = History::new(1, "2026-03-02T09:00:00", None);
        parent.dispatch("2026-03-02T10:00:00", 7, Some("2026-03-03T10:00:00"));
        let mut child = History::new(2, "2026-03-02T09:30:00", None);
        child.dispatch("2026-03-02T10:00:00", 7, Some("2026-03-03T10:00:00")).push(
            "2026-03-02T11:00:00",
            EventKind::MergedInto,
            State::Merged,
            json!({ "parent_id": 1 }),
        );
        parent.push("2026-03-02T11:00:00", EventKind::MergedChild, State::Dispatched, json!({ "child_id": 2 }));
        parent.push("2026-03-02T15:00:00", EventKind::Withdrawn, State::Withdrawn, json!({}));
        let r = report(&[&parent, &child], "2026-03-01", "2026-03-31");
        let i = unit(&r, 7).indicators;
        assert_eq!((i.response.numerator, i.response.denominator), (0, 0));
        assert_eq!(i.on_time_sign_for.denominator, 0);
        assert_eq!((i.repeat.numerator, i.repeat.denominator), (1, 0));
        assert_eq!(unit(&r, 7).counters.assigned, 2);
    }

    #[test]
    fn suspensions_are_left_out_of_the_handling_time() {
        let mut h = History::new(1, "2026-03-02T09:00:00", Some("2026-03-20T17:30:00"));
        h.dispatch("2026-03-02T10:00:00", 7, None)
            .push("2026-03-02T11:00:00", EventKind::SignedFor, State::SignedFor, json!({}))
            .push("2026-03-02T11:30:00", EventKind::Suspended, State::Suspended, json!({}))
            .push("2026-03-03T11:30:00", EventKind::Resumed, State::InProgress, json!({}))
            .push("2026-03-03T12:00:00", EventKind::Replied, State::Replied, json!({}))
            .push("2026-03-03T15:00:00", EventKind::Closed, State::Closed, json!({}));
        let r = report(&[&h], "2026-03-01", "2026-03-31");
        let t = unit(&r, 7).indicators.handling_time;
        assert_eq!(t.total_seconds, 3600, "30 minutes before, 30 after the suspension");
        assert_eq!(unit(&r, 7).indicators.on_time_close.numerator, 1);
    }

    fn task(unit: UnitId, due: &str, done: Option<&str>) -> TaskOutcome {
        TaskOutcome { unit, due_at: at(due), done_at: done.map(at) }
    }

    #[test]
    fn tasks_count_once_decided_in_the_period_they_fall_due_or_are_done_in() {
        let march = Period::new(day("2026-03-01"), day("2026-03-31")).unwrap();
        let now = at("2026-03-20T12:00:00");
        let tasks = [
            // Done exactly at its due time: on time.
            task(7, "2026-03-10T17:30:00", Some("2026-03-10T17:30:00")),
            // Done a second late: decided, not on time.
            task(7, "2026-03-11T17:30:00", Some("2026-03-11T17:30:01")),
            // Due today later than now and still open: not decided yet.
            task(7, "2026-03-20T17:30:00", None),
            // Due earlier today and open: overdue.
            task(7, "2026-03-20T11:59:59", None),
            // Due in February, done late in March: counts in March (done in it).
            task(7, "2026-02-27T17:30:00", Some("2026-03-02T09:00:00")),
            // Due in February and done then: not in March.
            task(7, "2026-02-26T17:30:00", Some("2026-02-26T09:00:00")),
            // Due in April, done early in March: on time, in March.
            task(7, "2026-04-03T17:30:00", Some("2026-03-05T09:00:00")),
            // Due in February, still open: overdue, but not due in March.
            task(7, "2026-02-20T17:30:00", None),
            // Another unit's task not decided yet: the unit has nothing counted.
            task(8, "2026-03-31T17:30:00", None),
        ];
        let tallies = tally_tasks(&tasks, &march, now);
        assert_eq!(tallies.get(&7), Some(&TaskTally { decided: 5, on_time: 2, overdue_open: 1 }));
        assert_eq!(tallies.get(&8), None, "no decided task: no value");

        let r = Report::from_parts(march, ScoreOptions::default(), &BTreeMap::new(), &tallies);
        let seven = unit(&r, 7);
        assert_eq!(seven.indicators.tasks_on_time.rate, Some(0.4));
        assert_eq!(seven.indicators.overdue_tasks, 1);
        assert_eq!(seven.score, None, "tasks carry no weight by default");
        assert_eq!(r.city.tasks, tallies[&7]);
        assert_eq!(
            crate::time::format_instant(&crate::time::start_of_day(day("2026-03-01"))),
            "2026-03-01T00:00:00.000+08:00"
        );
        let none = Report::from_parts(march, ScoreOptions::default(), &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(none.city.indicators.tasks_on_time.rate, None);
    }

    #[test]
    fn the_tasks_rate_enters_the_score_only_with_a_weight() {
        let march = Period::new(day("2026-03-01"), day("2026-03-31")).unwrap();
        let mut closes = Counters::default();
        closes.add(Counter::Closed, 1);
        closes.add(Counter::ClosedWithDue, 1);
        closes.add(Counter::ClosedOnTime, 1);
        let totals = BTreeMap::from([(Some(7), closes), (Some(8), closes)]);
        let tasks = BTreeMap::from([(7, TaskTally { decided: 2, on_time: 1, overdue_open: 1 })]);
        let plain = Report::from_counters(march, ScoreOptions::default(), &totals);
        let unweighted = plain.clone().with_tasks(&tasks);
        assert_eq!(unit(&unweighted, 7).score, unit(&plain, 7).score, "weight 0 keeps today's score");
        assert_eq!(unit(&unweighted, 7).score, Some(100.0));
        assert_eq!(unweighted.city.counters, plain.city.counters);
        let weighted = ScoreOptions { task_on_time_weight: 20, ..ScoreOptions::default() };
        let r = Report::from_counters(march, weighted, &totals).with_tasks(&tasks);
        // On-time close 20 × 1, no repeat request 10 × 1, tasks 20 × 0.5: 40 / 50.
        assert_eq!(unit(&r, 7).score, Some(80.0));
        assert_eq!(unit(&r, 8).score, Some(100.0), "no tasks: the request rates alone");
        let ranks: Vec<_> = r.units.iter().map(|u| (u.unit_id, u.rank)).collect();
        assert_eq!(ranks, [(Some(8), Some(1)), (Some(7), Some(2))]);
    }

    #[test]
    fn periods_are_checked_and_ranks_shared() {
        assert!(Period::new(day("2026-02-01"), day("2026-01-31")).is_err());
        assert!(Period::new(day("2024-01-01"), day("2026-12-31")).is_ok());
        assert!(Period::new(day("2024-01-01"), day("2027-01-01")).is_err());
        let mut a = Counters::default();
        a.add(Counter::Closed, 2);
        a.add(Counter::ClosedWithDue, 2);
        a.add(Counter::ClosedOnTime, 1);
        let mut b = a;
        b.add(Counter::ClosedOnTime, 1);
        let totals = BTreeMap::from([(Some(1), a), (Some(2), a), (Some(3), b), (None, Counters::default())]);
        let r = Report::from_counters(
            Period::new(day("2026-01-01"), day("2026-01-31")).unwrap(),
            ScoreOptions::default(),
            &totals,
        );
        let ranks: Vec<_> = r.units.iter().map(|u| (u.unit_id, u.rank)).collect();
        assert_eq!(ranks, [(Some(3), Some(1)), (Some(1), Some(2)), (Some(2), Some(2))]);
        assert_eq!(r.city.counters.closed, 6);
        assert_eq!(day_key(day("2026-03-05")), 20260305);
        assert_eq!(month_key(day("2026-03-05")), 202603);
    }
}
