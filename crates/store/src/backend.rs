//! Logic every storage backend shares, so that backends differ only in SQL:
//! the events written at intake and on upload, tracking numbers, the
//! refusals a write path can answer with, the scoring rollups' keys, and the
//! outbox rows of an event's notices ([`deliveries`]).

pub mod deliveries;

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{Datelike, Days, NaiveDate};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::dashboard::{Cell, Dimension, Measures};
use mashangban_domain::event::{self, EventDetails};
use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::request::{EventKind, NewRequest, Request, State};
use mashangban_domain::scoring::{Counters, Delta, Period, day_key, month_key};
use mashangban_domain::time::Instant;

use crate::{NewAttachment, StoreError, StoreResult};

/// The most attachments one request may carry.
pub const MAX_ATTACHMENTS: i64 = 20;

// ---- requests ----------------------------------------------------------------

/// The day key of tracking numbers: the receiving day in Asia/Shanghai, `YYYYMMDD`.
pub fn tracking_day(received_at: &Instant) -> String {
    received_at.format("%Y%m%d").to_string()
}

/// `ZS` + the receiving day + a daily sequence of at least six digits.
pub fn tracking_no(prefix: &str, day: &str, seq: i64) -> String {
    format!("{prefix}{day}{seq:06}")
}

/// The first event of a request (受理), written with it at intake.
pub fn received_event(new: &NewRequest) -> EventDraft {
    EventDraft {
        kind: EventKind::Received,
        from_state: None,
        to_state: State::Received,
        comment: None,
        details: EventDetails::Received(event::Received {
            channel: new.channel,
            time_limits: new.time_limits,
            contact_due_at: new.deadlines.contact,
            stage_due_at: new.deadlines.stage_reply,
            card: new.card.clone(),
            visit: new.visit.clone(),
        }),
        due_at: new.due_at,
    }
}

/// The event recording an uploaded file; the request's state does not change.
pub fn attachment_added_event(request: &Request, file: &NewAttachment) -> EventDraft {
    EventDraft {
        kind: EventKind::AttachmentAdded,
        from_state: Some(request.state),
        to_state: request.state,
        comment: None,
        details: EventDetails::AttachmentAdded(event::AttachmentAdded {
            file_name: file.file_name.clone(),
            size: file.bytes.len() as u64,
        }),
        due_at: request.due_at,
    }
}

// ---- refusals ----------------------------------------------------------------

/// The request changed since it was read (optimistic lock).
pub fn concurrent_update() -> StoreError {
    DomainError::conflict("concurrent_update", "该诉求刚被他人修改，请刷新后重试").into()
}

/// A scheduler notice (时限提醒) recorded before, e.g. by another node.
pub fn notice_already_sent() -> StoreError {
    DomainError::conflict("notice_already_sent", "该时限提醒已发送过").into()
}

pub fn username_taken(username: &str) -> StoreError {
    DomainError::conflict("username_taken", format!("用户名「{username}」已被使用")).into()
}

pub fn too_many_attachments() -> StoreError {
    DomainError::invalid("too_many_attachments", format!("每件诉求最多上传{MAX_ATTACHMENTS}个附件")).into()
}

// ---- org ----------------------------------------------------------------------

pub fn unit_not_found(code: &str) -> StoreError {
    DomainError::not_found("unit_not_found", format!("单位「{code}」不存在")).into()
}

/// A unit with this code exists: creating one refuses instead of renaming it.
pub fn unit_code_taken(code: &str, name: &str) -> StoreError {
    DomainError::conflict(
        "unit_code_taken",
        format!("单位编码「{code}」已被「{name}」使用，请换一个编码；要修改该单位请点其“修改”"),
    )
    .into()
}

pub fn unknown_attachment(id: i64) -> StoreError {
    DomainError::invalid("unknown_attachment", format!("附件 {id} 不属于该诉求")).into()
}

/// A request's category that does not exist or is inactive.
pub fn unknown_category(id: i64) -> StoreError {
    DomainError::invalid("unknown_category", format!("诉求分类（编号 {id}）不存在")).into()
}

/// A request's town (镇街) that does not exist or is inactive.
pub fn unknown_town(id: i64) -> StoreError {
    DomainError::invalid("unknown_town", format!("镇街（编号 {id}）不存在")).into()
}

/// A handling unit (承办单位) that does not exist, is inactive or is the city.
pub fn unknown_handling_unit(id: i64) -> StoreError {
    DomainError::invalid("unknown_unit", format!("承办单位（编号 {id}）不存在或已停用")).into()
}

pub fn unknown_parent_unit(code: &str) -> StoreError {
    DomainError::invalid("unknown_unit", format!("上级单位「{code}」不存在")).into()
}

/// A new user's unit that does not exist.
pub fn unknown_user_unit() -> StoreError {
    DomainError::invalid("unknown_unit", "所属单位不存在").into()
}

pub fn unknown_parent_category(code: &str) -> StoreError {
    DomainError::invalid("unknown_category", format!("上级分类「{code}」不存在")).into()
}

/// A category's default lead unit (默认承办单位) that does not exist.
pub fn unknown_lead_unit(code: &str) -> StoreError {
    DomainError::invalid("unknown_unit", format!("默认承办单位「{code}」不存在")).into()
}

pub fn user_not_found(username: &str) -> StoreError {
    DomainError::not_found("user_not_found", format!("用户「{username}」不存在")).into()
}

pub fn token_not_found(id: i64) -> StoreError {
    DomainError::not_found("token_not_found", format!("令牌 {id} 不存在")).into()
}

pub fn token_already_revoked(id: i64) -> StoreError {
    DomainError::conflict("token_already_revoked", format!("令牌 {id} 已吊销")).into()
}

pub fn webhook_not_found(id: i64) -> StoreError {
    DomainError::not_found("webhook_not_found", format!("Webhook（编号 {id}）不存在")).into()
}

pub fn notification_not_found(id: i64) -> StoreError {
    DomainError::not_found("notification_not_found", format!("通知（编号 {id}）不存在")).into()
}

/// Only failed notifications may be retried by hand.
pub fn notification_not_failed() -> StoreError {
    DomainError::conflict("notification_not_failed", "只有发送失败的通知可以重新发送").into()
}

// ---- scoring rollups ---------------------------------------------------------

/// The work calendar handling times are counted with: the bundled holiday
/// data. After the calendar data changes, rebuild the rollups.
static SCORING_CALENDAR: LazyLock<Result<WorkCalendar, DomainError>> = LazyLock::new(WorkCalendar::bundled);

pub fn scoring_calendar() -> StoreResult<&'static WorkCalendar> {
    SCORING_CALENDAR.as_ref().map_err(|e| StoreError::backend(format!("bundled work calendar: {e}")))
}

/// Counters per (YYYYMMDD or YYYYMM, unit id or 0 for "no unit"), sorted so
/// that every writer touches rollup rows in the same order.
pub type RollupRows = BTreeMap<(i64, i64), Counters>;

/// Adds deltas to their (day, unit) rows.
pub fn collect_deltas(rows: &mut RollupRows, deltas: &[Delta]) {
    for d in deltas {
        rows.entry((day_key(d.day), d.unit.unwrap_or(0))).or_default().add(d.counter, d.amount);
    }
}

/// The (month, unit) rows of (day, unit) rows.
pub fn month_rows(days: &RollupRows) -> RollupRows {
    let mut months: HashMap<(i64, i64), Counters> = HashMap::new();
    for (&(day, unit), counters) in days {
        months.entry((day / 100, unit)).or_default().merge(counters);
    }
    months.into_iter().collect()
}

/// A period as whole months plus the days at either end, so a report sums
/// month rows for the middle and day rows for the edges.
#[derive(Debug, PartialEq)]
pub struct PeriodSplit {
    pub days: Vec<(NaiveDate, NaiveDate)>,
    /// The first day of the first and of the last whole month.
    pub months: Option<(NaiveDate, NaiveDate)>,
}

pub fn split_period(period: &Period) -> PeriodSplit {
    let first_full = if period.from.day() == 1 { Some(period.from) } else { next_month(period.from) };
    let after_to = period.to.checked_add_days(Days::new(1));
    let end_full = match after_to {
        Some(next) if next.day() == 1 => next,
        _ => period.to.with_day(1).unwrap_or(period.to),
    };
    match first_full {
        Some(start) if start < end_full => {
            let mut days = Vec::new();
            if period.from < start {
                days.extend(start.pred_opt().map(|d| (period.from, d)));
            }
            if end_full <= period.to {
                days.push((end_full, period.to));
            }
            let last_month = end_full.pred_opt().and_then(|d| d.with_day(1)).unwrap_or(start);
            PeriodSplit { days, months: Some((start, last_month)) }
        }
        _ => PeriodSplit { days: vec![(period.from, period.to)], months: None },
    }
}

/// The first day of the month after the day's month.
fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    day.with_day(1)?.checked_add_months(chrono::Months::new(1))
}

// ---- rollup grains ---------------------------------------------------------------

/// A rollup table's grain: one row per day (`YYYYMMDD`) or per month (`YYYYMM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Month,
}

impl Grain {
    pub const BOTH: [Grain; 2] = [Grain::Day, Grain::Month];

    /// The key column (`day`, `month`).
    pub fn column(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// The scoring rollups' table of this grain (`score_days`, `score_months`).
    pub fn scoring_table(self) -> &'static str {
        match self {
            Self::Day => "score_days",
            Self::Month => "score_months",
        }
    }

    /// The dashboard's table of this grain (`dash_days`, `dash_months`).
    pub fn dashboard_table(self) -> &'static str {
        match self {
            Self::Day => "dash_days",
            Self::Month => "dash_months",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::Day => 0,
            Self::Month => 1,
        }
    }

    /// A key of this grain as a date (a month's first day).
    pub fn date_of(self, key: i64) -> NaiveDate {
        let (y, m, d) = match self {
            Self::Day => (key / 10_000, key / 100 % 100, key % 100),
            Self::Month => (key / 100, key % 100, 1),
        };
        let date = |y: i64, m: i64, d: i64| {
            NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
        };
        date(y, m, d).unwrap_or_default()
    }
}

/// A dashboard rollup row's key: (day or month key, dimension, key within it).
pub type DashboardRowKey = (i64, Dimension, String);

/// The day rows and the month rows that `cells` add to the dashboard
/// rollups, each in key order (so PostgreSQL writers lock rows in one order).
pub fn dashboard_rows(cells: impl IntoIterator<Item = (Cell, Measures)>) -> [BTreeMap<DashboardRowKey, Measures>; 2] {
    let (mut days, mut months) = (BTreeMap::new(), BTreeMap::new());
    for ((day, dim, key), m) in cells {
        months.entry((month_key(day), dim, key.clone())).or_insert_with(Measures::default).add(&m);
        days.entry((day_key(day), dim, key)).or_insert_with(Measures::default).add(&m);
    }
    [days, months]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn split_of(from: &str, to: &str) -> PeriodSplit {
        split_period(&Period::new(day(from), day(to)).unwrap())
    }

    #[test]
    fn periods_split_into_whole_months_and_edge_days() {
        assert_eq!(
            split_of("2026-01-01", "2026-03-31"),
            PeriodSplit { days: vec![], months: Some((day("2026-01-01"), day("2026-03-01"))) }
        );
        assert_eq!(
            split_of("2026-01-15", "2026-04-10"),
            PeriodSplit {
                days: vec![(day("2026-01-15"), day("2026-01-31")), (day("2026-04-01"), day("2026-04-10"))],
                months: Some((day("2026-02-01"), day("2026-03-01")))
            }
        );
        assert_eq!(
            split_of("2026-01-15", "2026-02-10"),
            PeriodSplit { days: vec![(day("2026-01-15"), day("2026-02-10"))], months: None }
        );
        assert_eq!(
            split_of("2026-02-01", "2026-02-27"),
            PeriodSplit { days: vec![(day("2026-02-01"), day("2026-02-27"))], months: None }
        );
        assert_eq!(
            split_of("2026-02-02", "2026-03-31"),
            PeriodSplit {
                days: vec![(day("2026-02-02"), day("2026-02-28"))],
                months: Some((day("2026-03-01"), day("2026-03-01")))
            }
        );
    }

    #[test]
    fn tracking_numbers_pad_the_daily_sequence() {
        assert_eq!(tracking_no("ZS", "20260302", 7), "ZS20260302000007");
        assert_eq!(tracking_no("ZS", "20260302", 1_234_567), "ZS202603021234567");
    }
}
