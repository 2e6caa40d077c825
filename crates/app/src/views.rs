//! What a request looks like to whoever is looking (masked): the typed
//! answers the API renders as JSON and the pages as HTML.

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::access::Permission;
use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::event::EventDetails;
use mashangban_domain::org::{Actor, OrgTree, UnitId};
use mashangban_domain::request::{Asker, Event, Request};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_domain::time_limit::TimeLimits;
use mashangban_domain::validation::{GeoPoint, mask_credit_code, mask_name, mask_phone};
use mashangban_store::{Attachment, Category};
use mashangban_text::mask as mask_free_text;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitRef {
    pub code: String,
    pub name: String,
}

pub fn unit_ref(org: &OrgTree, id: Option<UnitId>) -> Option<UnitRef> {
    let unit = org.get(id?)?;
    Some(UnitRef { code: unit.code.clone(), name: unit.display_name().to_owned() })
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryRef {
    pub code: String,
    pub name: String,
}

fn category_ref(categories: &[Category], id: i64) -> Option<CategoryRef> {
    categories.iter().find(|c| c.id == id).map(|c| CategoryRef { code: c.code.clone(), name: c.name.clone() })
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AskerView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub enterprise_name: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    /// Hidden from those who may not read personal data.
    pub contact_email: Option<String>,
}

fn asker_view(r: &Request, unmasked: bool) -> AskerView {
    let (kind, enterprise_name, credit_code) = match &r.asker {
        Asker::Enterprise { credit_code, name } => {
            let code = if unmasked { credit_code.as_str().to_owned() } else { mask_credit_code(credit_code.as_str()) };
            ("enterprise", Some(name.clone()), Some(code))
        }
        Asker::Resident => ("resident", None, None),
    };
    AskerView {
        kind,
        enterprise_name,
        credit_code,
        contact_name: if unmasked { r.contact.name.clone() } else { mask_name(&r.contact.name) },
        contact_phone: if unmasked {
            r.contact.phone.as_str().to_owned()
        } else {
            mask_phone(r.contact.phone.as_str())
        },
        contact_email: r.contact.email.clone().filter(|_| unmasked),
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ExtensionView {
    pub requested_due: String,
    pub reason: String,
    pub requested_at: String,
}

/// A request as staff and account holders see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RequestView {
    pub tracking_no: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub urgency: &'static str,
    pub urgency_label: &'static str,
    pub channel: &'static str,
    pub channel_label: &'static str,
    pub state: &'static str,
    pub state_label: &'static str,
    pub asker: AskerView,
    pub title: String,
    pub content: String,
    pub category: Option<CategoryRef>,
    pub town: Option<UnitRef>,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    pub lead_unit: Option<UnitRef>,
    pub co_units: Vec<UnitRef>,
    pub pending_extension: Option<ExtensionView>,
    pub merged_into: Option<String>,
    pub rating: Option<&'static str>,
    pub rating_label: Option<&'static str>,
    pub resolved: Option<bool>,
    pub reopen_count: u32,
    pub return_count: u32,
    pub extension_count: u32,
    /// How many times the request was urged (催办).
    pub urge_count: u32,
    /// What a queue row marks: 马上办 or 紧急, 督办, 催办, 重办, 延期 (see [`badges`]).
    pub badges: Vec<Badge>,
    pub due_at: Option<String>,
    /// The reply deadline is provisional (暂定): counted without the holiday
    /// notice of its year, recounted when that is loaded.
    pub due_provisional: bool,
    /// Every deadline with the time remaining (三个时钟).
    pub deadlines: Vec<DeadlineView>,
    pub time_limits: Option<TimeLimits>,
    pub suspended_at: Option<String>,
    pub supervision: Option<SupervisionView>,
    pub ledger_ref: Option<String>,
    pub received_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub version: i64,
    /// Work inside the handling units (会签, 审核, 二次派单); staff only, absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_work: Option<UnitWorkView>,
    /// In search results only: the best-matching fragment as HTML (text escaped, matched words in
    /// `<mark>`), masked like the rest of the view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

fn ts(t: &Instant) -> String {
    format_instant(t)
}

/// What is in flight inside the handling units (docs/inside-a-unit.md), as staff see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitWorkView {
    /// The co-handling units' deadline for their parts (协办期限); absent: the reply deadline.
    pub co_due: Option<String>,
    /// Each co-handling unit and its part (会签意见), `null` while missing.
    pub co_units: Vec<CoUnitView>,
    /// The reply waiting for the unit leader's review (待审核).
    pub review: Option<ReviewView>,
    /// Assignments within a unit (二次派单), oldest first.
    pub subs: Vec<SubView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CoUnitView {
    pub unit: Option<UnitRef>,
    pub answer: Option<String>,
    pub by: Option<String>,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewView {
    pub content: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubView {
    pub unit: Option<UnitRef>,
    pub sub_unit: Option<UnitRef>,
    pub due: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub assigned_at: String,
    pub reply: Option<String>,
}

fn unit_work_view(r: &Request, org: &OrgTree, unmasked: bool) -> Option<UnitWorkView> {
    let work = &r.unit_work;
    if work.is_empty() && r.co_unit_ids.is_empty() {
        return None;
    }
    let text = |t: &str| maybe_mask(t, unmasked);
    Some(UnitWorkView {
        co_due: work.co_deadline(r).as_ref().map(ts),
        co_units: r
            .co_unit_ids
            .iter()
            .map(|u| {
                let answer = work.co_answers.iter().find(|a| a.unit_id == *u);
                CoUnitView {
                    unit: unit_ref(org, Some(*u)),
                    answer: answer.map(|a| text(&a.content)),
                    by: answer.map(|a| a.by.clone()),
                    at: answer.map(|a| ts(&a.at)),
                }
            })
            .collect(),
        review: work.review.as_ref().map(|v| ReviewView { content: text(&v.content), by: v.by.clone(), at: ts(&v.at) }),
        subs: work
            .subs
            .iter()
            .map(|s| SubView {
                unit: unit_ref(org, Some(s.unit_id)),
                sub_unit: unit_ref(org, Some(s.sub_unit_id)),
                due: ts(&s.due),
                state: s.state.as_str(),
                state_label: s.state.label(),
                assigned_at: ts(&s.assigned_at),
                reply: s.reply.as_deref().map(text),
            })
            .collect(),
    })
}

pub struct Lookup<'a> {
    pub org: &'a OrgTree,
    pub categories: &'a [Category],
    pub calendar: &'a WorkCalendar,
    pub now: Instant,
}

/// One deadline of a request and how much time is left.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeadlineView {
    /// `sign_for`, `contact`, `stage_reply` or `reply`.
    pub kind: &'static str,
    pub label: &'static str,
    pub due_at: String,
    /// Whether the clock still runs for it (the step is not done yet).
    pub running: bool,
    /// Paused while the request is suspended (挂起).
    pub paused: bool,
    /// Working minutes left (negative when overdue) for working-time limits,
    /// natural minutes for natural-time limits; absent when not running.
    pub remaining_minutes: Option<i64>,
    /// The clock the limit counts in (working days, working hours or natural time).
    pub clock: Option<mashangban_domain::calendar::Clock>,
    /// The time left in the limit's own clock, e.g. `剩余 2个工作日3小时` or `已超期 40分钟`.
    pub remaining_text: Option<String>,
    pub overdue: bool,
    /// Provisional (暂定): counted on weekends only, the holiday notice of
    /// its year not loaded yet; recounted when it is.
    pub provisional: bool,
}

/// Whether the request is an enterprise act-now request (企业诉求马上办):
/// act-now urgency is the enterprise service; a resident's falls back to the type's limits.
pub fn is_act_now(r: &Request) -> bool {
    r.urgency == mashangban_domain::request::Urgency::ActNow && r.asker.is_enterprise()
}

/// Whether a deadline of the request is provisional (暂定): the request's
/// deadlines were counted without a notice, and this one lies past the years
/// the calendar covers (a deadline inside them was counted exactly).
pub fn is_provisional(r: &Request, due: Instant, calendar: &WorkCalendar) -> bool {
    r.deadlines.provisional && !calendar.covers(due.with_timezone(&calendar.offset()).date_naive())
}

fn deadline_views(r: &Request, lookup: &Lookup<'_>) -> Vec<DeadlineView> {
    use mashangban_domain::calendar::Clock;
    use mashangban_domain::request::State::*;
    let limits = r.time_limits;
    let before_reply = matches!(r.state, Received | Dispatched | Returned | SignedFor | InProgress | Suspended);
    let before_stage = matches!(r.state, Received | Dispatched | Returned | SignedFor);
    let entries = [
        ("sign_for", "签收期限", r.deadlines.sign_for, r.state == Dispatched, limits.and_then(|l| l.sign_for)),
        ("contact", "首次联系期限", r.deadlines.contact, before_stage, limits.and_then(|l| l.contact)),
        ("stage_reply", "阶段性答复期限", r.deadlines.stage_reply, before_stage, limits.and_then(|l| l.stage_reply)),
        ("reply", "答复期限", r.due_at, before_reply, limits.and_then(|l| l.reply)),
    ];
    entries
        .into_iter()
        .filter_map(|(kind, label, due, running, limit)| {
            let due = due?;
            let paused = running && r.state == Suspended;
            // While suspended the clock stands at the moment of suspension.
            let at = if paused { r.suspended_at.unwrap_or(lookup.now) } else { lookup.now };
            let natural = limit.is_some_and(|l| l.clock == Clock::Natural);
            let remaining = running.then(|| remaining_minutes(lookup.calendar, at, due, natural));
            let clock = limit.map(|l| l.clock);
            let day = lookup.calendar.working_hours().daily_duration().num_minutes();
            let remaining_text = remaining.map(|m| countdown_text(m, clock, day));
            Some(DeadlineView {
                kind,
                label,
                due_at: ts(&due),
                running,
                paused,
                remaining_minutes: remaining,
                clock,
                remaining_text,
                overdue: running && !paused && lookup.now > due,
                provisional: is_provisional(r, due, lookup.calendar),
            })
        })
        .collect()
}

/// Time left (or past, when negative) in the clock a limit counts in:
/// working days of `day_minutes` working minutes, working hours, or natural
/// time (without a clock: hours and minutes).
pub fn countdown_text(minutes: i64, clock: Option<mashangban_domain::calendar::Clock>, day_minutes: i64) -> String {
    use mashangban_domain::calendar::Clock;
    let m = minutes.unsigned_abs() as i64;
    let hours = |m: i64, unit: &str| match (m / 60, m % 60) {
        (0, min) => format!("{min}分钟"),
        (h, 0) => format!("{h}{unit}"),
        (h, min) => format!("{h}{unit}{min}分"),
    };
    let amount = match clock {
        Some(Clock::WorkingDays) if day_minutes > 0 && m >= day_minutes => {
            let rest = m % day_minutes;
            let days = format!("{}个工作日", m / day_minutes);
            if rest == 0 { days } else { format!("{days}{}", hours(rest, "小时")) }
        }
        Some(Clock::WorkingDays | Clock::WorkingHours) => hours(m, "个工作小时"),
        Some(Clock::Natural) => format!("{}（自然时间）", hours(m, "小时")),
        None => hours(m, "小时"),
    };
    if minutes < 0 { format!("已超期 {amount}") } else { format!("剩余 {amount}") }
}

/// A mark on a queue row (徽标).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Badge {
    /// `act_now`, `urgent`, `supervised`, `urged`, `reopened`, `extended` or `extension_pending`.
    pub code: &'static str,
    pub label: String,
    /// More about it (the supervision deadline, the extension asked for), e.g. `督办期限 2026-03-20 17:30`.
    pub detail: Option<String>,
}

/// The marks of a request in a queue: 马上办 (an enterprise's act-now) or
/// 紧急, 督办 while supervised, 催办 with how often, 重办 with how often,
/// 延期 once extended, 延期待审 while an extension waits.
pub fn badges(r: &Request) -> Vec<Badge> {
    use mashangban_domain::request::Urgency;
    let badge = |code, label: String| Badge { code, label, detail: None };
    let minute = mashangban_domain::time::format_minute;
    let times = |label: &str, n: u32| if n > 1 { format!("{label}{n}次") } else { label.to_owned() };
    let mut out = Vec::new();
    if is_act_now(r) {
        out.push(badge("act_now", "马上办".into()));
    } else if r.urgency == Urgency::Urgent {
        out.push(badge("urgent", "紧急".into()));
    }
    if let Some(s) = &r.supervision {
        out.push(Badge {
            detail: Some(format!("督办期限 {}：{}", minute(&s.due), s.instructions)),
            ..badge("supervised", "督办".into())
        });
    }
    if r.urge_count > 0 {
        out.push(badge("urged", times("催办", r.urge_count)));
    }
    if r.reopen_count > 0 {
        out.push(badge("reopened", times("重办", r.reopen_count)));
    }
    if r.extension_count > 0 {
        out.push(badge("extended", times("延期", r.extension_count)));
    }
    if let Some(x) = &r.pending_extension {
        let detail = Some(format!("申请延至 {}", minute(&x.requested_due)));
        out.push(Badge { detail, ..badge("extension_pending", "延期待审".into()) });
    }
    out
}

/// Minutes from `now` to `due`, negative past it, in working or natural time.
pub fn remaining_minutes(calendar: &WorkCalendar, now: Instant, due: Instant, natural: bool) -> i64 {
    let working = |a, b| calendar.working_time_between_or_provisional(a, b).unwrap_or(b - a);
    let span = match (natural, now <= due) {
        (true, _) => due - now,
        (false, true) => working(now, due),
        (false, false) => -working(due, now),
    };
    span.num_minutes()
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SupervisionView {
    pub instructions: String,
    pub due: String,
    pub by: String,
    pub at: String,
    /// Set when the supervision deadline falls on a weekend or a holiday (by the work calendar):
    /// the warning, in Chinese. The deadline stands as given.
    pub due_warning: Option<String>,
}

/// A warning when `due` falls on a day nobody works (a weekend or a statutory holiday; a make-up
/// working day is a working day). In a year the calendar does not cover, Saturdays and Sundays.
pub fn non_working_day_warning(calendar: &WorkCalendar, due: Instant) -> Option<String> {
    use chrono::Datelike;
    use mashangban_domain::calendar::DayKind;
    let date = due.with_timezone(&calendar.offset()).date_naive();
    let (kind, note) = match calendar.day_kind(date) {
        Ok(kind) => (kind, calendar.day_name(date).map(|n| format!("（{n}）")).unwrap_or_default()),
        Err(_) if date.weekday().number_from_monday() >= 6 => {
            (DayKind::Weekend, "（该年节假日安排尚未导入）".to_owned())
        }
        Err(_) => return None,
    };
    (!kind.is_working()).then(|| {
        format!(
            "督办期限 {} 是{}{note}，不是工作日；如需按工作日督办，请改到工作日",
            date.format("%Y-%m-%d"),
            kind.label()
        )
    })
}

pub fn request_view(r: &Request, viewer: &Actor, lookup: &Lookup<'_>, merged_into: Option<String>) -> RequestView {
    let unmasked = viewer.sees_personal_data_of(r.lead_unit_id, &r.co_unit_ids);
    let org = lookup.org;
    RequestView {
        tracking_no: r.tracking_no.clone(),
        kind: r.kind.as_str(),
        kind_label: r.kind.label(),
        urgency: r.urgency.as_str(),
        urgency_label: r.urgency.label(),
        channel: r.channel.as_str(),
        channel_label: r.channel.label(),
        state: r.state.as_str(),
        state_label: r.state.label(),
        asker: asker_view(r, unmasked),
        title: maybe_mask(&r.title, unmasked),
        content: maybe_mask(&r.content, unmasked),
        category: category_ref(lookup.categories, r.category_id),
        town: unit_ref(org, r.location.town_id),
        address: r.location.address.as_deref().map(|a| maybe_mask(a, unmasked)),
        location: r.location.point,
        lead_unit: unit_ref(org, r.lead_unit_id),
        co_units: r.co_unit_ids.iter().filter_map(|u| unit_ref(org, Some(*u))).collect(),
        pending_extension: r.pending_extension.as_ref().map(|e| ExtensionView {
            requested_due: ts(&e.requested_due),
            reason: e.reason.clone(),
            requested_at: ts(&e.requested_at),
        }),
        merged_into,
        rating: r.rating.map(|x| x.as_str()),
        rating_label: r.rating.map(|x| x.label()),
        resolved: r.resolved,
        reopen_count: r.reopen_count,
        return_count: r.return_count,
        extension_count: r.extension_count,
        urge_count: r.urge_count,
        badges: badges(r),
        due_at: r.due_at.as_ref().map(ts),
        due_provisional: r.due_at.is_some_and(|d| is_provisional(r, d, lookup.calendar)),
        deadlines: deadline_views(r, lookup),
        time_limits: r.time_limits,
        suspended_at: r.suspended_at.as_ref().map(ts),
        supervision: r.supervision.as_ref().map(|s| SupervisionView {
            instructions: s.instructions.clone(),
            due: ts(&s.due),
            by: s.by.clone(),
            at: ts(&s.at),
            due_warning: non_working_day_warning(lookup.calendar, s.due),
        }),
        ledger_ref: r.ledger_ref.clone(),
        received_at: ts(&r.received_at),
        updated_at: ts(&r.updated_at),
        closed_at: r.closed_at.as_ref().map(ts),
        version: r.version,
        unit_work: if matches!(viewer, Actor::Staff(_)) { unit_work_view(r, org, unmasked) } else { None },
        snippet: None,
    }
}

/// `text` of request `r` as `viewer` may read it: masked unless they see its personal data.
pub fn masked_for(r: &Request, viewer: &Actor, text: &str) -> String {
    maybe_mask(text, viewer.sees_personal_data_of(r.lead_unit_id, &r.co_unit_ids))
}

/// The first `chars` characters of `text`, HTML-escaped (a snippet without highlighted words).
pub fn escaped_start(text: &str, chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == chars {
            out.push('…');
            break;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn maybe_mask(text: &str, unmasked: bool) -> String {
    if unmasked { text.to_owned() } else { mask_free_text(text) }
}

/// One entry of the history as staff see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub actor_name: String,
    pub actor_role: String,
    pub actor_unit: Option<UnitRef>,
    /// The client address, for supervisors and administrators auditing.
    pub client_ip: Option<String>,
    pub from_state: Option<&'static str>,
    pub to_state: &'static str,
    pub comment: Option<String>,
    /// What the comment is (退单理由, 督办意见, 内部备注…), where the kind says.
    pub comment_label: Option<&'static str>,
    pub details: mashangban_domain::event::EventDetails,
    /// What changed, in words with names for codes (改类改急: each field and
    /// every deadline from and to; 期限重算: the deadlines).
    pub summary: Option<String>,
    pub attachment_ids: Vec<i64>,
    pub due_at: Option<String>,
}

/// `unmasked`: whether the viewer sees the request's personal data ([`Actor::sees_personal_data_of`]).
pub fn event_view(e: &Event, viewer: &Actor, unmasked: bool, org: &OrgTree, categories: &[Category]) -> EventView {
    let auditor = viewer.may(Permission::SeeClientAddresses);
    let staff_actor = !matches!(e.actor_role.as_str(), "asker" | "anonymous" | "enterprise" | "resident");
    // What happened inside the units (who wrote a reviewed reply, co-units left out) stays with staff.
    let internal = matches!(e.details, EventDetails::InsideUnit(_)) && !matches!(viewer, Actor::Staff(_));
    EventView {
        seq: e.seq,
        at: ts(&e.at),
        kind: e.kind.as_str(),
        label: e.kind.label(),
        actor_name: if unmasked || staff_actor { e.actor_name.clone() } else { mask_name(&e.actor_name) },
        actor_role: e.actor_role.clone(),
        actor_unit: unit_ref(org, e.actor_unit_id),
        client_ip: if auditor { e.client_ip.clone() } else { None },
        from_state: e.from_state.map(|s| s.as_str()),
        to_state: e.to_state.as_str(),
        comment: e.comment.as_deref().map(|c| maybe_mask(c, unmasked)),
        comment_label: comment_label(e.kind).filter(|_| e.comment.is_some()),
        details: if internal { EventDetails::None } else { e.details.clone() },
        summary: if internal { None } else { event_summary(&e.details, org, categories) },
        attachment_ids: e.attachment_ids.clone(),
        due_at: e.due_at.as_ref().map(ts),
    }
}

/// What an event's comment is, for the kinds whose comment is not self-evident.
fn comment_label(kind: mashangban_domain::request::EventKind) -> Option<&'static str> {
    use mashangban_domain::request::EventKind as K;
    Some(match kind {
        K::Returned => "退单理由",
        K::ReturnRefused => "驳回理由",
        K::Supervised => "督办意见",
        K::Urged => "催办意见",
        K::ExtensionRequested => "延期理由",
        K::ExtensionRefused => "不同意理由",
        K::ReplyRejected => "退回理由",
        K::Suspended => "挂起原因",
        K::Reopened => "重办理由",
        K::InternalNote => "内部备注",
        K::ReplySentBack => "退回理由",
        K::ReplySubmitted => "送审答复",
        K::CoAnswered => "会签意见",
        K::SubReplied => "下级回复",
        _ => return None,
    })
}

/// Adds the reply deadline before and after to a history row whose event
/// moved it (`before`: the deadline after the previous row), unless its
/// summary already says so.
pub fn note_deadline_change(view: &mut EventView, before: Option<&str>) {
    if view.due_at.as_deref() == before || view.summary.as_deref().is_some_and(|s| s.contains("答复期限")) {
        return;
    }
    let show = |t: Option<&str>| {
        t.map_or_else(|| "无".to_owned(), |t| t.chars().take(16).collect::<String>().replace('T', " "))
    };
    let change = format!("答复期限：{} → {}", show(before), show(view.due_at.as_deref()));
    view.summary = Some(match view.summary.take() {
        Some(s) => format!("{s}；{change}"),
        None => change,
    });
}

/// The changes an event records, in words (see [`EventView::summary`]).
fn event_summary(
    details: &mashangban_domain::event::EventDetails,
    org: &OrgTree,
    categories: &[Category],
) -> Option<String> {
    use mashangban_domain::event::DeadlineSet;
    let deadlines = |before: &DeadlineSet, after: &DeadlineSet| {
        let show = |t: Option<Instant>, provisional: bool| match t {
            Some(t) => {
                let text = mashangban_domain::time::format_minute(&t);
                if provisional { format!("{text}（暂定）") } else { text }
            }
            None => "无".to_owned(),
        };
        [
            ("答复期限", before.due_at, after.due_at),
            ("签收期限", before.sign_due_at, after.sign_due_at),
            ("首次联系期限", before.contact_due_at, after.contact_due_at),
            ("阶段性答复期限", before.stage_due_at, after.stage_due_at),
        ]
        .into_iter()
        .filter(|(label, from, to)| from != to || *label == "答复期限")
        .map(|(label, from, to)| {
            format!("{label}：{} → {}", show(from, before.provisional), show(to, after.provisional))
        })
        .collect::<Vec<_>>()
    };
    let unit = |id: UnitId| org.get(id).map_or_else(|| id.to_string(), |u| u.display_name().to_owned());
    let when = |t: Instant| mashangban_domain::time::format_minute(&t);
    let assignment = |head: String, co: &[UnitId], sign_due: Option<Instant>| {
        let mut parts = vec![head];
        if !co.is_empty() {
            parts.push(format!("协办：{}", co.iter().map(|u| unit(*u)).collect::<Vec<_>>().join("、")));
        }
        if let Some(due) = sign_due {
            parts.push(format!("签收期限：{}", when(due)));
        }
        parts.join("；")
    };
    match details {
        EventDetails::Reclassified(r) => {
            let category =
                |id: i64| categories.iter().find(|c| c.id == id).map_or_else(|| id.to_string(), |c| c.name.clone());
            let town = |id: Option<UnitId>| match id {
                Some(id) => org.get(id).map_or_else(|| id.to_string(), |u| u.display_name().to_owned()),
                None => "无".to_owned(),
            };
            let mut parts = Vec::new();
            if let Some(c) = &r.kind {
                parts.push(format!("类型：{} → {}", c.from.label(), c.to.label()));
            }
            if let Some(c) = &r.urgency {
                parts.push(format!("紧急程度：{} → {}", c.from.label(), c.to.label()));
            }
            if let Some(c) = &r.category_id {
                parts.push(format!("分类：{} → {}", category(c.from), category(c.to)));
            }
            if let Some(c) = &r.town_id {
                parts.push(format!("镇街：{} → {}", town(c.from), town(c.to)));
            }
            parts.extend(deadlines(&r.before, &r.after));
            Some(parts.join("；"))
        }
        EventDetails::DeadlinesRecounted(r) => Some(deadlines(&r.before, &r.after).join("；")),
        EventDetails::Dispatched(d) => {
            Some(assignment(format!("派至：{}（主办）", unit(d.lead_unit_id)), &d.co_unit_ids, d.sign_due_at))
        }
        EventDetails::Redispatched(d) => {
            let from = d.previous_lead_unit_id.map_or_else(|| "无".to_owned(), unit);
            Some(assignment(format!("改派：{from} → {}（主办）", unit(d.lead_unit_id)), &d.co_unit_ids, d.sign_due_at))
        }
        EventDetails::Reassigned(d) => {
            d.lead_unit_id.map(|u| assignment(format!("交回：{}", unit(u)), &[], d.sign_due_at))
        }
        EventDetails::Returned(r) => r.returned_by_unit_id.map(|u| format!("退单单位：{}", unit(u))),
        EventDetails::ExtensionRequested(e) => Some(format!("申请延至：{}", when(e.requested_due))),
        EventDetails::ExtensionApproved(e) => {
            Some(format!("答复期限：{} → {}", e.previous_due.map_or_else(|| "无".to_owned(), when), when(e.new_due)))
        }
        EventDetails::Supervised(d) => Some(format!("督办期限：{}", when(d.due))),
        EventDetails::Noticed(n) => Some(format!("{}期限：{}", n.deadline.label(), when(n.due))),
        EventDetails::InsideUnit(d) => {
            let mut parts = Vec::new();
            if let Some(sub) = d.sub_unit_id {
                let from = d.unit_id.map(unit).unwrap_or_default();
                parts.push(format!("{from} → {}", unit(sub)));
            } else if let Some(u) = d.unit_id {
                parts.push(format!("单位：{}", unit(u)));
            }
            if let Some(due) = d.due {
                parts.push(format!("下级办理期限：{}", when(due)));
            }
            if let Some(review) = &d.reviewed {
                parts.push(format!("经单位领导审核（拟稿：{}）", review.written_by));
                if let Some(c) = &review.comment {
                    parts.push(format!("审核意见：{c}"));
                }
            }
            if !d.co_units_unanswered.is_empty() {
                let names: Vec<String> = d.co_units_unanswered.iter().map(|u| unit(*u)).collect();
                parts.push(format!("协办期限已过，未提交会签意见：{}", names.join("、")));
            }
            (!parts.is_empty()).then(|| parts.join("；"))
        }
        EventDetails::Received(r) => {
            r.visit.as_ref().map(|v| format!("来源：{}（第 {} 号，带队：{}）", v.kind.label(), v.visit_id, v.lead_name))
        }
        _ => None,
    }
}

/// One step of the public timeline (办理进度): what happened, when and by
/// which unit; never who in person, and internal reasoning stays internal.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicStep {
    pub at: String,
    pub kind: &'static str,
    pub label: &'static str,
    pub unit: Option<String>,
    pub comment: Option<String>,
    pub due_at: Option<String>,
}

pub fn public_timeline(events: &[Event], org: &OrgTree) -> Vec<PublicStep> {
    events
        .iter()
        .filter(|e| e.kind.is_public())
        .map(|e| PublicStep {
            at: ts(&e.at),
            kind: e.kind.as_str(),
            label: e.kind.label(),
            unit: public_unit(e, org),
            comment: if e.kind.comment_is_public() { e.comment.as_deref().map(mask_free_text) } else { None },
            due_at: e.due_at.as_ref().map(ts),
        })
        .collect()
}

/// For a dispatch the unit that receives it; otherwise the unit that acted.
fn public_unit(e: &Event, org: &OrgTree) -> Option<String> {
    let target = e.details.assigned_to();
    let id = target.or(e.actor_unit_id)?;
    org.get(id).map(|u| u.display_name().to_owned())
}

/// The asker's view of a request (public progress page), masked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicView {
    pub tracking_no: String,
    pub kind_label: &'static str,
    pub state: &'static str,
    pub state_label: &'static str,
    pub title: String,
    pub content: String,
    pub enterprise_name: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub lead_unit: Option<String>,
    pub received_at: String,
    pub due_at: Option<String>,
    /// The reply deadline is provisional (暂定), to be recounted when the
    /// holiday notice of its year is loaded.
    pub due_provisional: bool,
    /// Handled as an enterprise act-now request (企业诉求马上办).
    pub act_now: bool,
    /// The time limits that apply, in Chinese (kept from receipt).
    pub limits: Option<String>,
    pub closed_at: Option<String>,
    pub rating_label: Option<&'static str>,
    pub resolved: Option<bool>,
    pub can_rate: bool,
    /// Rated unhappily: the asker may ask for the request to be handled again (申请重办),
    /// unless an earlier request waits for its answer.
    pub can_request_reopen: bool,
    /// When the asker's request to reopen was received, while it waits for an answer.
    pub reopen_requested_at: Option<String>,
    /// Still being handled: the asker may add materials (补充材料).
    pub can_add_materials: bool,
    pub can_withdraw: bool,
    pub timeline: Vec<PublicStep>,
    /// For a merged duplicate: the request it follows, with that one's progress.
    pub merged_into: Option<Box<PublicView>>,
    pub merged_children: Vec<String>,
}

pub fn public_view(r: &Request, events: &[Event], org: &OrgTree, calendar: &WorkCalendar) -> PublicView {
    use mashangban_domain::request::{EventKind, State};
    let merged_children = events
        .iter()
        .filter(|e| e.kind == EventKind::MergedChild)
        .filter_map(|e| match &e.details {
            mashangban_domain::event::EventDetails::MergedChild(m) => Some(m.child_tracking_no.clone()),
            _ => None,
        })
        .collect();
    PublicView {
        tracking_no: r.tracking_no.clone(),
        kind_label: r.kind.label(),
        state: r.state.as_str(),
        state_label: r.state.label(),
        title: mask_free_text(&r.title),
        content: mask_free_text(&r.content),
        enterprise_name: match &r.asker {
            Asker::Enterprise { name, .. } => Some(name.clone()),
            Asker::Resident => None,
        },
        contact_name: mask_name(&r.contact.name),
        contact_phone: mask_phone(r.contact.phone.as_str()),
        lead_unit: r.lead_unit_id.and_then(|u| org.get(u)).map(|u| u.display_name().to_owned()),
        received_at: ts(&r.received_at),
        due_at: r.due_at.as_ref().map(ts),
        due_provisional: r.due_at.is_some_and(|d| is_provisional(r, d, calendar)),
        act_now: is_act_now(r),
        limits: r.time_limits.map(|l| l.describe()).filter(|s| !s.is_empty()),
        closed_at: r.closed_at.as_ref().map(ts),
        rating_label: r.rating.map(|x| x.label()),
        resolved: r.resolved,
        can_rate: r.state == State::Closed,
        can_request_reopen: r.state == State::FollowedUp && r.follow_up_unhappy() && r.reopen_requested_at.is_none(),
        reopen_requested_at: r.reopen_requested_at.as_ref().filter(|_| r.state == State::FollowedUp).map(ts),
        can_add_materials: r.state.is_open(),
        can_withdraw: mashangban_domain::lifecycle::Action::Withdraw { reason: None }.allowed_from().contains(&r.state),
        timeline: public_timeline(events, org),
        merged_into: None,
        merged_children,
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: String,
}

pub fn attachment_view(a: &Attachment) -> AttachmentView {
    AttachmentView {
        id: a.id,
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        sha256: a.sha256.clone(),
        uploaded_at: ts(&a.uploaded_at),
    }
}
