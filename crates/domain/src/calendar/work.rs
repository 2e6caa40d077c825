//! The work calendar itself: day kinds and deadline arithmetic.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::codes;
use super::data::{BUNDLED_HOLIDAYS, HolidayYear, parse_holidays_toml, validate_years};
use super::hours::{NANOS_PER_SEC, WorkingHours, nanos_of_day};
use crate::error::DomainError;

/// The largest working-day time limit accepted.
pub const MAX_WORKING_DAYS: u32 = 3650;
/// The largest working-hour time limit accepted.
pub const MAX_WORKING_HOURS: u32 = MAX_WORKING_DAYS * 24;
/// The largest natural time limit accepted, in minutes (3650 days).
pub const MAX_NATURAL_MINUTES: u32 = MAX_WORKING_DAYS * 24 * 60;

const NANOS_PER_HOUR: i64 = 3600 * NANOS_PER_SEC;

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, not a holiday.
    Workday,
    /// Saturday or Sunday, not a holiday and not a make-up working day.
    Weekend,
    /// A day off of a statutory holiday period (any weekday).
    Holiday,
    /// A Saturday or Sunday that is a working day (调休上班).
    MakeupWorkday,
}

impl DayKind {
    /// Whether people work on this day.
    pub fn is_working(self) -> bool {
        matches!(self, Self::Workday | Self::MakeupWorkday)
    }

    /// A short Chinese label for display.
    pub fn label(self) -> &'static str {
        match self {
            Self::Workday => "工作日",
            Self::Weekend => "周末",
            Self::Holiday => "节假日",
            Self::MakeupWorkday => "调休上班日",
        }
    }
}

/// Which clock a time limit runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Wall-clock time; the amount is in minutes.
    Natural,
    /// Working days; the deadline is the end of working hours of the N-th
    /// working day after the day of receipt.
    WorkingDays,
    /// Working hours, counted only inside the daily working periods of working days.
    WorkingHours,
}

/// A time limit such as "5 working days" (`{"clock":"working_days","amount":5}`).
/// For [`Clock::Natural`] the amount is in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeLimit {
    pub clock: Clock,
    pub amount: u32,
}

impl TimeLimit {
    pub const fn natural_minutes(minutes: u32) -> Self {
        Self { clock: Clock::Natural, amount: minutes }
    }

    pub const fn working_days(days: u32) -> Self {
        Self { clock: Clock::WorkingDays, amount: days }
    }

    pub const fn working_hours(hours: u32) -> Self {
        Self { clock: Clock::WorkingHours, amount: hours }
    }

    /// In Chinese, e.g. `5个工作日`, `1个工作小时`, `2小时`.
    pub fn describe(&self) -> String {
        match self.clock {
            Clock::WorkingDays => format!("{}个工作日", self.amount),
            Clock::WorkingHours => format!("{}个工作小时", self.amount),
            Clock::Natural if self.amount.is_multiple_of(60) => format!("{}小时", self.amount / 60),
            Clock::Natural => format!("{}分钟", self.amount),
        }
    }
}

/// The fixed +08:00 offset of Asia/Shanghai.
fn shanghai() -> FixedOffset {
    // 8 hours is always a valid offset; the fallback is unreachable.
    match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => Utc.fix(),
    }
}

/// A work calendar over a contiguous range of years with holiday data, plus
/// the daily working hours. Cheap to share (`Arc`) and immutable.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    offset: FixedOffset,
    hours: WorkingHours,
    first_year: i32,
    last_year: i32,
    /// `num_days_from_ce` of January 1 of `first_year`; day index 0.
    first_ce: i32,
    /// The kind of every covered day, by day index.
    kinds: Vec<DayKind>,
    /// The holiday or make-up name of every covered day, by day index.
    names: Vec<Option<Box<str>>>,
    /// `work_before[i]` = number of working days with index < i (length = days + 1).
    work_before: Vec<u32>,
    /// Day indices of all working days, ascending.
    workdays: Vec<u32>,
    /// The same calendar extended by [`PROVISIONAL_YEARS`] years of weekends
    /// only, for provisional (暂定) deadlines; `None` on that extension itself.
    provisional: Option<Box<WorkCalendar>>,
}

/// How many years past the last notice a provisional deadline may reach.
pub const PROVISIONAL_YEARS: i32 = 15;

/// A deadline and whether it was counted without the holiday notice of its
/// years (暂定, provisional): weekends only, no holidays or make-up days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedDeadline {
    pub at: DateTime<FixedOffset>,
    pub provisional: bool,
}

impl WorkCalendar {
    /// Builds the calendar; the years must be valid and contiguous, and the
    /// calendar covers exactly the first to the last of them.
    pub fn new(years: Vec<HolidayYear>, hours: WorkingHours) -> Result<Self, DomainError> {
        let years = validate_years(years)?;
        let mut calendar = Self::build(&years, hours.clone(), 0)?;
        calendar.provisional = Some(Box::new(Self::build(&years, hours, PROVISIONAL_YEARS)?));
        Ok(calendar)
    }

    /// The table over the given (validated) years plus `extra_years` of
    /// weekends only after them.
    fn build(years: &[HolidayYear], hours: WorkingHours, extra_years: i32) -> Result<Self, DomainError> {
        let (Some(first_year), Some(last_year)) = (years.first().map(|y| y.year), years.last().map(|y| y.year)) else {
            return Err(invalid_calendar("没有任何年份的节假日数据"));
        };
        let (Some(first_day), Some(last_day)) =
            (NaiveDate::from_ymd_opt(first_year, 1, 1), NaiveDate::from_ymd_opt(last_year + extra_years, 12, 31))
        else {
            return Err(invalid_calendar("节假日数据的年份超出可表示范围"));
        };
        let first_ce = first_day.num_days_from_ce();
        let len = usize::try_from(last_day.num_days_from_ce() - first_ce + 1)
            .map_err(|_| invalid_calendar("节假日数据的年份范围无效"))?;

        let mut kinds: Vec<DayKind> = first_day
            .iter_days()
            .take(len)
            .map(|date| match date.weekday() {
                Weekday::Sat | Weekday::Sun => DayKind::Weekend,
                _ => DayKind::Workday,
            })
            .collect();
        let mut names: Vec<Option<Box<str>>> = vec![None; len];
        let slot = |date: NaiveDate| usize::try_from(date.num_days_from_ce() - first_ce).ok();
        for year in years {
            let entries = year
                .holidays
                .iter()
                .map(|e| (e, DayKind::Holiday))
                .chain(year.makeup_workdays.iter().map(|e| (e, DayKind::MakeupWorkday)));
            for ((date, name), kind) in entries {
                let i = slot(*date);
                if let Some(k) = i.and_then(|i| kinds.get_mut(i)) {
                    *k = kind;
                }
                if let Some(n) = i.and_then(|i| names.get_mut(i)) {
                    *n = Some(name.trim().into());
                }
            }
        }

        let mut work_before = Vec::with_capacity(len + 1);
        let mut workdays = Vec::new();
        let mut count: u32 = 0;
        for (i, kind) in kinds.iter().enumerate() {
            work_before.push(count);
            if kind.is_working() {
                let i = u32::try_from(i).map_err(|_| invalid_calendar("节假日数据范围过大"))?;
                workdays.push(i);
                count += 1;
            }
        }
        work_before.push(count);

        let last_year = last_year + extra_years;
        Ok(Self {
            offset: shanghai(),
            hours,
            first_year,
            last_year,
            first_ce,
            kinds,
            names,
            work_before,
            workdays,
            provisional: None,
        })
    }

    /// The calendar of the bundled holiday data with the default working hours.
    pub fn bundled() -> Result<Self, DomainError> {
        Self::new(parse_holidays_toml(BUNDLED_HOLIDAYS)?, WorkingHours::default())
    }

    /// The years this calendar has holiday data for.
    pub fn covered_years(&self) -> RangeInclusive<i32> {
        self.first_year..=self.last_year
    }

    /// Whether the date lies in a covered year.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.covered_years().contains(&date.year())
    }

    pub fn working_hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// The offset all results are expressed in (+08:00).
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// The kind of a date; `calendar_year_not_covered` outside the covered years.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, DomainError> {
        let i = self.index(date)?;
        self.kinds.get(i).copied().ok_or_else(|| self.not_covered(date.year()))
    }

    /// The holiday name (e.g. `春节`) or make-up name (e.g. `春节调休上班`) of a
    /// date; `None` for ordinary days and uncovered dates.
    pub fn day_name(&self, date: NaiveDate) -> Option<&str> {
        let i = self.index_of(date)?;
        self.names.get(i)?.as_deref()
    }

    /// Whether the date is a working day (a workday or a make-up working day).
    pub fn is_workday(&self, date: NaiveDate) -> Result<bool, DomainError> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// Whether the instant lies inside a working period of a working day
    /// (period start inclusive, period end exclusive).
    pub fn is_working_time(&self, t: DateTime<FixedOffset>) -> Result<bool, DomainError> {
        let (i, tod) = self.local(t)?;
        Ok(self.is_working_index(i) && self.hours.contains(tod))
    }

    /// The deadline `n` working days after receipt at `from`: the end of
    /// working hours on the n-th working day after the day of receipt (the
    /// receipt day itself is not counted). Received Fri 2026-02-13 10:00,
    /// 5 working days → Fri 2026-02-27 17:30.
    ///
    /// `n = 0` gives the end of working hours on the receipt day if it is a
    /// working day, else on the next working day. `n` above
    /// [`MAX_WORKING_DAYS`] is `invalid_time_limit`.
    pub fn add_workdays(&self, from: DateTime<FixedOffset>, n: u32) -> Result<DateTime<FixedOffset>, DomainError> {
        if n > MAX_WORKING_DAYS {
            return Err(invalid_limit(format!("工作日时限不能超过{MAX_WORKING_DAYS}个工作日")));
        }
        let (i, _) = self.local(from)?;
        let target = if n == 0 && self.is_working_index(i) {
            i
        } else {
            self.nth_workday_after(i, n.saturating_sub(1) as usize)?
        };
        self.instant(target, self.hours.last_end_nanos())
    }

    /// `hours` working hours after `from`; see [`Self::add_work_duration`].
    pub fn add_workhours(&self, from: DateTime<FixedOffset>, hours: u32) -> Result<DateTime<FixedOffset>, DomainError> {
        if hours > MAX_WORKING_HOURS {
            return Err(invalid_limit(format!("工作时限不能超过{MAX_WORKING_HOURS}个工作小时")));
        }
        self.add_work_duration(from, Duration::hours(i64::from(hours)))
    }

    /// Advances through working time only: lunch breaks, nights, weekends and
    /// holidays are skipped, make-up working days count. From outside working
    /// time, counting starts at the next period start. A result exactly at a
    /// period end stays there (it does not roll to the next period start). A
    /// zero duration gives the start of counting.
    pub fn add_work_duration(
        &self,
        from: DateTime<FixedOffset>,
        duration: Duration,
    ) -> Result<DateTime<FixedOffset>, DomainError> {
        let max = i64::from(MAX_WORKING_HOURS) * NANOS_PER_HOUR;
        let nanos = match duration.num_nanoseconds() {
            Some(n) if n < 0 => return Err(invalid_limit("时限不能为负数")),
            Some(n) if n <= max => n,
            _ => {
                return Err(invalid_limit(format!("工作时限不能超过{MAX_WORKING_HOURS}个工作小时")));
            }
        };
        let (i, tod) = self.next_working(from)?;
        if nanos == 0 {
            return self.instant(i, tod);
        }
        let target = self.position(i, tod)? + nanos;
        self.instant_at_position(target)
    }

    /// Working time elapsed in `[a, b)`; zero if `b <= a`. Both instants must
    /// lie in covered years.
    pub fn working_time_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<Duration, DomainError> {
        if b <= a {
            return Ok(Duration::zero());
        }
        let (ia, ta) = self.local(a)?;
        let (ib, tb) = self.local(b)?;
        Ok(Duration::nanoseconds(self.position(ib, tb)? - self.position(ia, ta)?))
    }

    /// Natural-clock arithmetic: `from + duration`, in +08:00. Needs no
    /// holiday data. Negative or over-long durations are `invalid_time_limit`.
    pub fn add_natural(
        &self,
        from: DateTime<FixedOffset>,
        duration: Duration,
    ) -> Result<DateTime<FixedOffset>, DomainError> {
        if duration < Duration::zero() {
            return Err(invalid_limit("时限不能为负数"));
        }
        if duration > Duration::minutes(i64::from(MAX_NATURAL_MINUTES)) {
            return Err(invalid_limit(format!("自然时限不能超过{MAX_NATURAL_MINUTES}分钟（3650天）")));
        }
        from.with_timezone(&self.offset)
            .checked_add_signed(duration)
            .ok_or_else(|| invalid_limit("截止时间超出可表示的范围"))
    }

    /// The deadline of a time limit counted from `from`.
    pub fn deadline(
        &self,
        from: DateTime<FixedOffset>,
        limit: TimeLimit,
    ) -> Result<DateTime<FixedOffset>, DomainError> {
        match limit.clock {
            Clock::Natural => {
                if limit.amount > MAX_NATURAL_MINUTES {
                    return Err(invalid_limit(format!("自然时限不能超过{MAX_NATURAL_MINUTES}分钟（3650天）")));
                }
                self.add_natural(from, Duration::minutes(i64::from(limit.amount)))
            }
            Clock::WorkingDays => self.add_workdays(from, limit.amount),
            Clock::WorkingHours => self.add_workhours(from, limit.amount),
        }
    }

    /// The deadline of a time limit, provisional (暂定) where the calendar
    /// has no notice for a year it needs: counted then on weekends only, so a
    /// request never goes without a deadline at the turn of a year. Recount
    /// it once the year's notice is loaded.
    pub fn deadline_or_provisional(
        &self,
        from: DateTime<FixedOffset>,
        limit: TimeLimit,
    ) -> Result<CountedDeadline, DomainError> {
        self.or_provisional(|c| c.deadline(from, limit)).map(|(at, provisional)| CountedDeadline { at, provisional })
    }

    /// [`Self::working_time_between`], provisional past the covered years.
    pub fn working_time_between_or_provisional(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<Duration, DomainError> {
        self.or_provisional(|c| c.working_time_between(a, b)).map(|(d, _)| d)
    }

    /// [`Self::add_work_duration`], provisional past the covered years.
    pub fn add_work_duration_or_provisional(
        &self,
        from: DateTime<FixedOffset>,
        duration: Duration,
    ) -> Result<CountedDeadline, DomainError> {
        self.or_provisional(|c| c.add_work_duration(from, duration))
            .map(|(at, provisional)| CountedDeadline { at, provisional })
    }

    /// Runs `count` on this calendar, and on the weekends-only extension
    /// when this one does not cover the years; `true` when extended.
    fn or_provisional<T>(&self, count: impl Fn(&Self) -> Result<T, DomainError>) -> Result<(T, bool), DomainError> {
        match count(self) {
            Err(e) if e.code == codes::CALENDAR_YEAR_NOT_COVERED => match &self.provisional {
                Some(extended) => count(extended).map(|v| (v, true)),
                None => Err(e),
            },
            other => other.map(|v| (v, false)),
        }
    }

    /// The year whose State Council holiday notice administrators should load
    /// now (从11月1日起提醒): next year, from 1 November, when it is not covered.
    pub fn missing_next_year(&self, today: NaiveDate) -> Option<i32> {
        let next = today.year() + 1;
        (today.month() >= 11 && self.last_year < next).then_some(next)
    }

    // ---- internals -------------------------------------------------------

    fn index_of(&self, date: NaiveDate) -> Option<usize> {
        let i = usize::try_from(date.num_days_from_ce() - self.first_ce).ok()?;
        (i < self.kinds.len()).then_some(i)
    }

    fn index(&self, date: NaiveDate) -> Result<usize, DomainError> {
        self.index_of(date).ok_or_else(|| self.not_covered(date.year()))
    }

    fn is_working_index(&self, i: usize) -> bool {
        self.kinds.get(i).is_some_and(|k| k.is_working())
    }

    /// Day index and nanoseconds since local midnight of an instant, in +08:00.
    fn local(&self, t: DateTime<FixedOffset>) -> Result<(usize, i64), DomainError> {
        let local = t.with_timezone(&self.offset).naive_local();
        Ok((self.index(local.date())?, nanos_of_day(local.time())))
    }

    /// The day index of the (k+1)-th working day strictly after day `i`.
    fn nth_workday_after(&self, i: usize, k: usize) -> Result<usize, DomainError> {
        let through = self.work_before.get(i + 1).map(|&c| c as usize);
        through
            .and_then(|c| c.checked_add(k))
            .and_then(|ordinal| self.workdays.get(ordinal))
            .map(|&d| d as usize)
            .ok_or_else(|| self.beyond_coverage())
    }

    /// The first working instant at or after `from`.
    fn next_working(&self, from: DateTime<FixedOffset>) -> Result<(usize, i64), DomainError> {
        let (i, tod) = self.local(from)?;
        if self.is_working_index(i)
            && let Some(t) = self.hours.next_working_tod(tod)
        {
            return Ok((i, t));
        }
        Ok((self.nth_workday_after(i, 0)?, self.hours.first_start_nanos()))
    }

    /// Working nanoseconds from the start of the calendar to the instant.
    fn position(&self, i: usize, tod: i64) -> Result<i64, DomainError> {
        let before = self.work_before.get(i).copied().ok_or_else(|| self.beyond_coverage())?;
        let today = if self.is_working_index(i) { self.hours.worked_before(tod) } else { 0 };
        Ok(i64::from(before) * self.hours.daily_nanos() + today)
    }

    /// The earliest instant whose position is `target` (> 0).
    fn instant_at_position(&self, target: i64) -> Result<DateTime<FixedOffset>, DomainError> {
        let daily = self.hours.daily_nanos();
        let (ordinal, rem) = (target / daily, target % daily);
        let (ordinal, tod) = if rem == 0 {
            // Reached exactly at the end of a working day: stay there.
            (ordinal - 1, self.hours.last_end_nanos())
        } else {
            (ordinal, self.hours.time_after_worked(rem))
        };
        let day =
            usize::try_from(ordinal).ok().and_then(|o| self.workdays.get(o)).ok_or_else(|| self.beyond_coverage())?;
        self.instant(*day as usize, tod)
    }

    /// The instant at day index `i`, `tod` nanoseconds after local midnight.
    fn instant(&self, i: usize, tod: i64) -> Result<DateTime<FixedOffset>, DomainError> {
        let date = i32::try_from(i)
            .ok()
            .and_then(|i| self.first_ce.checked_add(i))
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        let time = u32::try_from(tod / NANOS_PER_SEC)
            .ok()
            .zip(u32::try_from(tod % NANOS_PER_SEC).ok())
            .and_then(|(secs, nanos)| NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos));
        date.zip(time)
            .and_then(|(date, time)| NaiveDateTime::new(date, time).and_local_timezone(self.offset).single())
            .ok_or_else(|| invalid_limit("截止时间超出可表示的范围"))
    }

    fn not_covered(&self, year: i32) -> DomainError {
        DomainError::invalid(
            codes::CALENDAR_YEAR_NOT_COVERED,
            format!(
                "工作日历没有{year}年的节假日安排（现有{}年至{}年），无法判断，请先补充{year}年的数据",
                self.first_year, self.last_year
            ),
        )
    }

    fn beyond_coverage(&self) -> DomainError {
        DomainError::invalid(
            codes::CALENDAR_YEAR_NOT_COVERED,
            format!(
                "截止时间超出工作日历范围（现有{}年至{}年的节假日安排），请先补充{}年的数据",
                self.first_year,
                self.last_year,
                self.last_year + 1
            ),
        )
    }
}

fn invalid_calendar(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_CALENDAR, message)
}

fn invalid_limit(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_TIME_LIMIT, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn cal() -> &'static WorkCalendar {
        static CAL: OnceLock<WorkCalendar> = OnceLock::new();
        CAL.get_or_init(|| WorkCalendar::bundled().unwrap())
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(y: i32, mo: u32, day: u32, h: u32, mi: u32) -> DateTime<FixedOffset> {
        shanghai().with_ymd_and_hms(y, mo, day, h, mi, 0).single().unwrap()
    }

    // ---- day kinds against the notices ------------------------------------

    /// (name, first day off, last day off, make-up working days)
    type Period = (&'static str, NaiveDate, NaiveDate, Vec<NaiveDate>);

    fn periods_2024() -> Vec<Period> {
        vec![
            ("元旦", d(2024, 1, 1), d(2024, 1, 1), vec![]),
            ("春节", d(2024, 2, 10), d(2024, 2, 17), vec![d(2024, 2, 4), d(2024, 2, 18)]),
            ("清明节", d(2024, 4, 4), d(2024, 4, 6), vec![d(2024, 4, 7)]),
            ("劳动节", d(2024, 5, 1), d(2024, 5, 5), vec![d(2024, 4, 28), d(2024, 5, 11)]),
            ("端午节", d(2024, 6, 10), d(2024, 6, 10), vec![]),
            ("中秋节", d(2024, 9, 15), d(2024, 9, 17), vec![d(2024, 9, 14)]),
            ("国庆节", d(2024, 10, 1), d(2024, 10, 7), vec![d(2024, 9, 29), d(2024, 10, 12)]),
        ]
    }

    fn periods_2025() -> Vec<Period> {
        vec![
            ("元旦", d(2025, 1, 1), d(2025, 1, 1), vec![]),
            ("春节", d(2025, 1, 28), d(2025, 2, 4), vec![d(2025, 1, 26), d(2025, 2, 8)]),
            ("清明节", d(2025, 4, 4), d(2025, 4, 6), vec![]),
            ("劳动节", d(2025, 5, 1), d(2025, 5, 5), vec![d(2025, 4, 27)]),
            ("端午节", d(2025, 5, 31), d(2025, 6, 2), vec![]),
            ("国庆节", d(2025, 10, 1), d(2025, 10, 8), vec![d(2025, 9, 28), d(2025, 10, 11)]),
        ]
    }

    fn periods_2026() -> Vec<Period> {
        vec![
            ("元旦", d(2026, 1, 1), d(2026, 1, 3), vec![d(2026, 1, 4)]),
            ("春节", d(2026, 2, 15), d(2026, 2, 23), vec![d(2026, 2, 14), d(2026, 2, 28)]),
            ("清明节", d(2026, 4, 4), d(2026, 4, 6), vec![]),
            ("劳动节", d(2026, 5, 1), d(2026, 5, 5), vec![d(2026, 5, 9)]),
            ("端午节", d(2026, 6, 19), d(2026, 6, 21), vec![]),
            ("中秋节", d(2026, 9, 25), d(2026, 9, 27), vec![]),
            ("国庆节", d(2026, 10, 1), d(2026, 10, 7), vec![d(2026, 9, 20), d(2026, 10, 10)]),
        ]
    }

    fn plain_kind(date: NaiveDate) -> DayKind {
        match date.weekday() {
            Weekday::Sat | Weekday::Sun => DayKind::Weekend,
            _ => DayKind::Workday,
        }
    }

    /// Every day of the year: holidays are holidays (named after their
    /// festival), make-up days are make-up working days, and every other day
    /// (including the days right before and after each period) is a plain
    /// workday or weekend.
    fn check_year(year: i32, periods: &[Period]) {
        let cal = cal();
        let mut expected = BTreeMap::new();
        for (name, first, last, makeups) in periods {
            let before = first.pred_opt().unwrap();
            let after = last.succ_opt().unwrap();
            for date in first.iter_days().take_while(|x| x <= last) {
                assert_eq!(cal.day_kind(date).unwrap(), DayKind::Holiday, "{date}");
                assert!(!cal.is_workday(date).unwrap(), "{date}");
                let got = cal.day_name(date).unwrap();
                assert!(got.contains(name), "{date}: {got} should mention {name}");
                expected.insert(date, DayKind::Holiday);
            }
            for date in makeups {
                assert_eq!(cal.day_kind(*date).unwrap(), DayKind::MakeupWorkday, "{date}");
                assert!(cal.is_workday(*date).unwrap(), "{date}");
                assert!(cal.day_name(*date).unwrap().contains("调休上班"));
                expected.insert(*date, DayKind::MakeupWorkday);
            }
            for edge in [before, after] {
                if edge.year() == year && !makeups.contains(&edge) {
                    assert_eq!(cal.day_kind(edge).unwrap(), plain_kind(edge), "{edge}");
                }
            }
        }
        for date in d(year, 1, 1).iter_days().take_while(|x| x.year() == year) {
            let want = expected.get(&date).copied().unwrap_or_else(|| plain_kind(date));
            assert_eq!(cal.day_kind(date).unwrap(), want, "{date}");
            assert_eq!(cal.is_workday(date).unwrap(), want.is_working(), "{date}");
            if want == DayKind::Workday || want == DayKind::Weekend {
                assert_eq!(cal.day_name(date), None, "{date}");
            }
        }
    }

    #[test]
    fn year_2024_matches_notice() {
        check_year(2024, &periods_2024());
        // New Year's Eve 2024-02-09 was only "encouraged" off: a workday.
        assert_eq!(cal().day_kind(d(2024, 2, 9)).unwrap(), DayKind::Workday);
    }

    #[test]
    fn year_2025_matches_notice() {
        check_year(2025, &periods_2025());
        assert_eq!(cal().day_name(d(2025, 10, 6)), Some("国庆节、中秋节"));
    }

    #[test]
    fn year_2026_matches_notice() {
        check_year(2026, &periods_2026());
        assert_eq!(cal().day_kind(d(2026, 2, 24)).unwrap(), DayKind::Workday);
        assert_eq!(cal().day_name(d(2026, 2, 14)), Some("春节调休上班"));
    }

    #[test]
    fn older_years_spot_checks() {
        let cal = cal();
        // 2020 Spring Festival extended to 02-02; 02-01 is no longer a make-up day.
        for day in 24..=31 {
            assert_eq!(cal.day_kind(d(2020, 1, day)).unwrap(), DayKind::Holiday);
        }
        assert_eq!(cal.day_kind(d(2020, 2, 1)).unwrap(), DayKind::Holiday);
        assert_eq!(cal.day_kind(d(2020, 2, 2)).unwrap(), DayKind::Holiday);
        assert_eq!(cal.day_name(d(2020, 2, 2)), Some("春节（延长）"));
        assert_eq!(cal.day_kind(d(2020, 2, 3)).unwrap(), DayKind::Workday);
        assert_eq!(cal.day_kind(d(2020, 1, 19)).unwrap(), DayKind::MakeupWorkday);
        // The 2023 New Year period starts on Sat 2022-12-31.
        assert_eq!(cal.day_kind(d(2022, 12, 31)).unwrap(), DayKind::Holiday);
        assert_eq!(cal.day_kind(d(2023, 1, 2)).unwrap(), DayKind::Holiday);
        assert_eq!(cal.day_kind(d(2023, 1, 3)).unwrap(), DayKind::Workday);
        assert_eq!(cal.day_kind(d(2023, 10, 8)).unwrap(), DayKind::MakeupWorkday);
        assert_eq!(cal.day_kind(d(2022, 1, 30)).unwrap(), DayKind::MakeupWorkday);
        assert_eq!(cal.day_kind(d(2021, 9, 18)).unwrap(), DayKind::MakeupWorkday);
    }

    #[test]
    fn uncovered_years_are_errors_not_guesses() {
        let cal = cal();
        assert_eq!(cal.covered_years(), 2020..=2026);
        for date in [d(2019, 12, 31), d(2027, 1, 1), d(1970, 1, 1)] {
            assert_eq!(cal.day_kind(date).unwrap_err().code, "calendar_year_not_covered");
            assert_eq!(cal.is_workday(date).unwrap_err().code, "calendar_year_not_covered");
            assert_eq!(cal.day_name(date), None);
            assert!(!cal.covers(date));
        }
        let err = cal.add_workdays(t(2019, 12, 31, 10, 0), 1).unwrap_err();
        assert_eq!(err.code, "calendar_year_not_covered");
        assert!(err.message.contains("2019"));
        // The deadline itself would fall in 2027.
        let err = cal.add_workdays(t(2026, 12, 30, 10, 0), 5).unwrap_err();
        assert_eq!(err.code, "calendar_year_not_covered");
        assert!(err.message.contains("2027"));
        let err = cal.add_workhours(t(2026, 12, 31, 16, 0), 2).unwrap_err();
        assert_eq!(err.code, "calendar_year_not_covered");
        let err = cal.add_workhours(t(2027, 1, 4, 9, 0), 2).unwrap_err();
        assert_eq!(err.code, "calendar_year_not_covered");
        let err = cal.working_time_between(t(2026, 12, 31, 9, 0), t(2027, 1, 4, 9, 0)).unwrap_err();
        assert_eq!(err.code, "calendar_year_not_covered");
        // Still fine right at the edge.
        assert_eq!(cal.add_workhours(t(2026, 12, 31, 16, 30), 1).unwrap(), t(2026, 12, 31, 17, 30));
        assert_eq!(cal.add_workdays(t(2026, 12, 30, 10, 0), 1).unwrap(), t(2026, 12, 31, 17, 30));
        // The natural clock needs no holiday data.
        assert_eq!(cal.add_natural(t(2030, 1, 1, 0, 0), Duration::minutes(90)).unwrap(), t(2030, 1, 1, 1, 30));
    }

    // ---- working days ------------------------------------------------------

    #[test]
    fn worked_example_five_working_days_over_spring_festival() {
        let got = cal().add_workdays(t(2026, 2, 13, 10, 0), 5).unwrap();
        assert_eq!(got, t(2026, 2, 27, 17, 30));
        assert_eq!(got.offset().local_minus_utc(), 8 * 3600);
        let limit = TimeLimit::working_days(5);
        assert_eq!(cal().deadline(t(2026, 2, 13, 10, 0), limit).unwrap(), got);
    }

    #[test]
    fn other_offsets_are_converted_to_shanghai() {
        let utc = FixedOffset::east_opt(0).unwrap();
        // 2026-02-13 02:00Z is 10:00 +08:00.
        let from = utc.with_ymd_and_hms(2026, 2, 13, 2, 0, 0).single().unwrap();
        assert_eq!(cal().add_workdays(from, 5).unwrap(), t(2026, 2, 27, 17, 30));
        // 2026-02-12 17:00Z is already Friday 01:00 in Shanghai.
        let from = utc.with_ymd_and_hms(2026, 2, 12, 17, 0, 0).single().unwrap();
        assert_eq!(cal().add_workdays(from, 1).unwrap(), t(2026, 2, 14, 17, 30));
        let got = cal().add_workhours(from, 1).unwrap();
        assert_eq!(got, t(2026, 2, 13, 9, 30));
        assert_eq!(got.offset().local_minus_utc(), 8 * 3600);
        let got = cal().add_natural(from, Duration::minutes(1)).unwrap();
        assert_eq!(got.offset().local_minus_utc(), 8 * 3600);
        assert_eq!(got, t(2026, 2, 13, 1, 1));
    }

    #[test]
    fn add_workdays_edge_cases() {
        let cal = cal();
        // n = 0: end of the receipt day when it is a working day ...
        assert_eq!(cal.add_workdays(t(2026, 2, 13, 10, 0), 0).unwrap(), t(2026, 2, 13, 17, 30));
        // ... else of the next working day (after the whole Spring Festival).
        assert_eq!(cal.add_workdays(t(2026, 2, 15, 10, 0), 0).unwrap(), t(2026, 2, 24, 17, 30));
        // A make-up Saturday counts as a working day.
        assert_eq!(cal.add_workdays(t(2026, 2, 13, 10, 0), 1).unwrap(), t(2026, 2, 14, 17, 30));
        // Received on a weekend: counting starts on Monday.
        assert_eq!(cal.add_workdays(t(2026, 3, 7, 10, 0), 1).unwrap(), t(2026, 3, 9, 17, 30));
        // National Day 2025 (10-01..10-08) with the make-up Saturday 10-11.
        assert_eq!(cal.add_workdays(t(2025, 9, 30, 16, 0), 1).unwrap(), t(2025, 10, 9, 17, 30));
        assert_eq!(cal.add_workdays(t(2025, 9, 30, 16, 0), 3).unwrap(), t(2025, 10, 11, 17, 30));
        // Crossing a year boundary.
        assert_eq!(cal.add_workdays(t(2025, 12, 31, 9, 0), 1).unwrap(), t(2026, 1, 4, 17, 30));
        // Limits.
        assert_eq!(cal.add_workdays(t(2020, 1, 2, 9, 0), 3651).unwrap_err().code, "invalid_time_limit");
        assert_eq!(cal.add_workdays(t(2020, 1, 2, 9, 0), 3650).unwrap_err().code, "calendar_year_not_covered");
    }

    // ---- working hours -----------------------------------------------------

    #[test]
    fn add_workhours_across_lunch_night_weekend_and_spring_festival() {
        let cal = cal();
        // 2026-03-02 is a Monday.
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 11, 0), 2).unwrap(), t(2026, 3, 2, 15, 0));
        // Ending exactly at a period end stays there.
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 11, 0), 1).unwrap(), t(2026, 3, 2, 12, 0));
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 16, 30), 1).unwrap(), t(2026, 3, 2, 17, 30));
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 8, 30), 7).unwrap(), t(2026, 3, 2, 17, 30));
        // Overnight.
        assert_eq!(cal.add_workhours(t(2026, 3, 3, 17, 0), 1).unwrap(), t(2026, 3, 4, 9, 0));
        // Over a weekend (Fri 03-06 → Mon 03-09).
        assert_eq!(cal.add_workhours(t(2026, 3, 6, 16, 30), 2).unwrap(), t(2026, 3, 9, 9, 30));
        // Spring Festival 2026: Fri 02-13, make-up Sat 02-14, off 02-15..02-23.
        assert_eq!(cal.add_workhours(t(2026, 2, 13, 16, 30), 8).unwrap(), t(2026, 2, 14, 17, 30));
        assert_eq!(cal.add_workhours(t(2026, 2, 13, 16, 30), 9).unwrap(), t(2026, 2, 24, 9, 30));
        // Starting outside working time: at the next period start.
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 12, 30), 1).unwrap(), t(2026, 3, 2, 15, 0));
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 7, 0), 1).unwrap(), t(2026, 3, 2, 9, 30));
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 18, 0), 1).unwrap(), t(2026, 3, 3, 9, 30));
        assert_eq!(cal.add_workhours(t(2026, 3, 8, 10, 0), 1).unwrap(), t(2026, 3, 9, 9, 30));
        assert_eq!(cal.add_workhours(t(2026, 2, 22, 10, 0), 1).unwrap(), t(2026, 2, 24, 9, 30));
        // Zero hours: the start of counting.
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 10, 0), 0).unwrap(), t(2026, 3, 2, 10, 0));
        assert_eq!(cal.add_workhours(t(2026, 3, 2, 17, 30), 0).unwrap(), t(2026, 3, 3, 8, 30));
        // Sub-minute precision survives.
        let from = t(2026, 3, 2, 11, 59) + Duration::milliseconds(30_500);
        assert_eq!(
            cal.add_work_duration(from, Duration::minutes(1)).unwrap(),
            t(2026, 3, 2, 14, 0) + Duration::milliseconds(30_500)
        );
        // Limits.
        let from = t(2026, 3, 2, 10, 0);
        assert_eq!(cal.add_work_duration(from, Duration::seconds(-1)).unwrap_err().code, "invalid_time_limit");
        assert_eq!(cal.add_workhours(from, MAX_WORKING_HOURS + 1).unwrap_err().code, "invalid_time_limit");
        assert_eq!(cal.add_work_duration(from, Duration::MAX).unwrap_err().code, "invalid_time_limit");
    }

    #[test]
    fn working_time_between_basics() {
        let cal = cal();
        let a = t(2026, 3, 2, 8, 30);
        assert_eq!(cal.working_time_between(a, t(2026, 3, 2, 17, 30)).unwrap(), Duration::hours(7));
        assert_eq!(cal.working_time_between(t(2026, 3, 2, 12, 0), t(2026, 3, 2, 14, 0)).unwrap(), Duration::zero());
        assert_eq!(cal.working_time_between(t(2026, 3, 2, 11, 0), t(2026, 3, 2, 15, 0)).unwrap(), Duration::hours(2));
        assert_eq!(cal.working_time_between(a, a).unwrap(), Duration::zero());
        assert_eq!(cal.working_time_between(t(2026, 3, 3, 9, 0), a).unwrap(), Duration::zero());
        // Fri 02-13 + make-up Sat 02-14; the festival contributes nothing.
        assert_eq!(
            cal.working_time_between(t(2026, 2, 13, 8, 30), t(2026, 2, 24, 8, 30)).unwrap(),
            Duration::hours(14)
        );
        // A week of 2026-03 (Mon..Sun).
        assert_eq!(cal.working_time_between(t(2026, 3, 2, 0, 0), t(2026, 3, 9, 0, 0)).unwrap(), Duration::hours(35));
    }

    #[test]
    fn deadline_dispatches_on_clock() {
        let cal = cal();
        let from = t(2026, 2, 13, 10, 0);
        assert_eq!(cal.deadline(from, TimeLimit::natural_minutes(24 * 60)).unwrap(), t(2026, 2, 14, 10, 0));
        assert_eq!(cal.deadline(from, TimeLimit::working_hours(2)).unwrap(), t(2026, 2, 13, 12, 0));
        assert_eq!(cal.deadline(from, TimeLimit::working_days(5)).unwrap(), t(2026, 2, 27, 17, 30));
        assert_eq!(
            cal.deadline(from, TimeLimit::natural_minutes(MAX_NATURAL_MINUTES + 1)).unwrap_err().code,
            "invalid_time_limit"
        );
        assert_eq!(cal.add_natural(from, Duration::minutes(-1)).unwrap_err().code, "invalid_time_limit");
    }

    #[test]
    fn serde_forms_are_snake_case() {
        let limit = TimeLimit::working_days(5);
        let json = serde_json::to_string(&limit).unwrap();
        assert_eq!(json, r#"{"clock":"working_days","amount":5}"#);
        assert_eq!(serde_json::from_str::<TimeLimit>(&json).unwrap(), limit);
        let natural: TimeLimit = serde_json::from_str(r#"{"clock":"natural","amount":30}"#).unwrap();
        assert_eq!(natural, TimeLimit::natural_minutes(30));
        let hours: TimeLimit = serde_json::from_str(r#"{"clock":"working_hours","amount":4}"#).unwrap();
        assert_eq!(hours, TimeLimit::working_hours(4));
        assert_eq!(serde_json::to_string(&DayKind::MakeupWorkday).unwrap(), r#""makeup_workday""#);
        assert_eq!(serde_json::to_string(&DayKind::Workday).unwrap(), r#""workday""#);
        assert_eq!(serde_json::to_string(&DayKind::Weekend).unwrap(), r#""weekend""#);
        assert_eq!(serde_json::to_string(&DayKind::Holiday).unwrap(), r#""holiday""#);
    }

    #[test]
    fn custom_data_and_hours() {
        let years = vec![HolidayYear {
            year: 2026,
            notice: None,
            holidays: vec![(d(2026, 1, 1), "元旦".into())],
            makeup_workdays: vec![(d(2026, 1, 4), "元旦调休上班".into())],
        }];
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let hours = WorkingHours::new(vec![(hm(9, 0), hm(17, 0))]).unwrap();
        let cal = WorkCalendar::new(years, hours).unwrap();
        assert_eq!(cal.covered_years(), 2026..=2026);
        assert_eq!(cal.day_kind(d(2026, 2, 16)).unwrap(), DayKind::Workday);
        assert_eq!(cal.add_workdays(t(2025, 12, 31, 9, 0), 1).unwrap_err().code, "calendar_year_not_covered");
        assert_eq!(cal.add_workdays(t(2026, 1, 2, 10, 0), 1).unwrap(), t(2026, 1, 4, 17, 0));
        assert_eq!(cal.add_workhours(t(2026, 1, 2, 16, 0), 2).unwrap(), t(2026, 1, 4, 10, 0));
        let gap = |y| HolidayYear { year: y, notice: None, holidays: vec![], makeup_workdays: vec![] };
        let err = WorkCalendar::new(vec![gap(2024), gap(2026)], WorkingHours::default()).unwrap_err();
        assert_eq!(err.code, "invalid_calendar");
        assert_eq!(WorkCalendar::new(vec![], WorkingHours::default()).unwrap_err().code, "invalid_calendar");
    }

    // ---- properties ----------------------------------------------------------

    /// Days from 2020-01-01 to 2026-01-01: starting instants stay before 2026
    /// so that results (at most ~200 working days later) stay covered.
    const SPAN_DAYS: i64 = 2192;
    const SPAN_SECS: i64 = SPAN_DAYS * 86_400;

    fn instant(secs: i64, nanos: u32) -> DateTime<FixedOffset> {
        t(2020, 1, 1, 0, 0) + Duration::seconds(secs) + Duration::nanoseconds(i64::from(nanos))
    }

    // ---- provisional deadlines past the notices ---------------------------

    #[test]
    fn past_the_notices_deadlines_are_provisional_on_weekends_only() {
        let cal = WorkCalendar::bundled().unwrap();
        // Inside the covered years: exact, not provisional.
        let inside = cal.deadline_or_provisional(t(2026, 12, 15, 10, 0), TimeLimit::working_days(2)).unwrap();
        assert_eq!(inside, CountedDeadline { at: t(2026, 12, 17, 17, 30), provisional: false });
        // 15 working days from Tue 12-15: 12 in 2026, then Fri 01-01, Mon 01-04, Tue 01-05 (weekends only).
        let past = cal.deadline_or_provisional(t(2026, 12, 15, 10, 0), TimeLimit::working_days(15)).unwrap();
        assert_eq!(past, CountedDeadline { at: t(2027, 1, 5, 17, 30), provisional: true });
        assert_eq!(
            cal.deadline(t(2026, 12, 15, 10, 0), TimeLimit::working_days(15)).unwrap_err().code,
            "calendar_year_not_covered"
        );
        // Received in an uncovered year, working hours across a weekend.
        let hours = cal.deadline_or_provisional(t(2027, 1, 8, 17, 0), TimeLimit::working_hours(1)).unwrap();
        assert_eq!(hours, CountedDeadline { at: t(2027, 1, 11, 9, 0), provisional: true });
        // Natural time needs no notice.
        let natural = cal.deadline_or_provisional(t(2026, 12, 31, 23, 0), TimeLimit::natural_minutes(120)).unwrap();
        assert!(!natural.provisional);
        // The strict calendar still refuses the day kinds of an uncovered year.
        assert_eq!(cal.day_kind(d(2027, 1, 1)).unwrap_err().code, "calendar_year_not_covered");
        // Working time across the boundary is counted provisionally.
        let between = cal.working_time_between_or_provisional(t(2026, 12, 31, 17, 0), t(2027, 1, 1, 9, 0)).unwrap();
        assert_eq!(between, Duration::minutes(60));
    }

    #[test]
    fn next_years_notice_is_asked_for_from_november() {
        let cal = WorkCalendar::bundled().unwrap();
        assert_eq!(cal.missing_next_year(d(2026, 10, 31)), None);
        assert_eq!(cal.missing_next_year(d(2026, 11, 1)), Some(2027));
        assert_eq!(cal.missing_next_year(d(2026, 12, 31)), Some(2027));
        assert_eq!(cal.missing_next_year(d(2025, 11, 1)), None, "2026 is loaded");
    }

    fn arb_instant() -> impl Strategy<Value = DateTime<FixedOffset>> {
        (0..SPAN_SECS, 0u32..1_000_000_000).prop_map(|(s, n)| instant(s, n))
    }

    /// An instant inside working time: a random day plus a random offset into
    /// that day's 7 working hours (non-working days are skipped by assume).
    fn in_working_time(day: i64, offset_ns: i64) -> DateTime<FixedOffset> {
        let (morning, afternoon) = (t(2020, 1, 1, 8, 30), t(2020, 1, 1, 14, 0));
        let half = Duration::minutes(210).num_nanoseconds().unwrap();
        let base = if offset_ns < half { morning } else { afternoon };
        let within = if offset_ns < half { offset_ns } else { offset_ns - half };
        base + Duration::days(day) + Duration::nanoseconds(within)
    }

    fn at_working_time_or_period_end(cal: &WorkCalendar, x: DateTime<FixedOffset>) -> bool {
        let local = x.with_timezone(&cal.offset()).naive_local();
        let working_day = cal.is_workday(local.date()).unwrap();
        let in_period = cal.working_hours().periods().iter().any(|&(s, e)| s <= local.time() && local.time() < e);
        let at_end = cal.working_hours().periods().iter().any(|&(_, e)| e == local.time());
        working_day && (in_period || at_end)
    }

    proptest! {
        #[test]
        fn add_workdays_is_monotonic_in_n(from in arb_instant(), n in 0u32..200) {
            let cal = cal();
            let a = cal.add_workdays(from, n).unwrap();
            let b = cal.add_workdays(from, n + 1).unwrap();
            // Received on a non-working day, n = 0 and n = 1 both give the
            // next working day; otherwise each extra day moves the deadline.
            prop_assert!(a <= b);
            if n > 0 || cal.is_workday(from.date_naive()).unwrap() {
                prop_assert!(a < b);
            }
            // Always the end of working hours on a working day.
            let local = b.naive_local();
            prop_assert!(cal.is_workday(local.date()).unwrap());
            prop_assert_eq!(local.time(), cal.working_hours().day_end());
            prop_assert!(b > from);
        }

        #[test]
        fn add_workdays_is_monotonic_in_from(x in arb_instant(), y in arb_instant(), n in 0u32..200) {
            let cal = cal();
            let (a, b) = if x <= y { (x, y) } else { (y, x) };
            prop_assert!(cal.add_workdays(a, n).unwrap() <= cal.add_workdays(b, n).unwrap());
        }

        #[test]
        fn add_workhours_lands_in_working_time(from in arb_instant(), n in 0u32..800) {
            let cal = cal();
            let got = cal.add_workhours(from, n).unwrap();
            prop_assert!(got >= from);
            prop_assert!(at_working_time_or_period_end(cal, got), "{} -> {}", from, got);
            if n > 0 {
                prop_assert!(cal.working_time_between(from, got).unwrap() == Duration::hours(i64::from(n)));
            }
        }

        #[test]
        fn working_time_between_inverts_add_workhours(
            day in 0i64..SPAN_DAYS,
            offset_ns in 0i64..(7 * 3600 * 1_000_000_000),
            n in 0u32..800,
        ) {
            let cal = cal();
            let from = in_working_time(day, offset_ns);
            prop_assume!(cal.is_workday(from.date_naive()).unwrap());
            prop_assert!(cal.is_working_time(from).unwrap());
            let to = cal.add_workhours(from, n).unwrap();
            prop_assert_eq!(cal.working_time_between(from, to).unwrap(), Duration::hours(i64::from(n)));
        }

        #[test]
        fn add_workhours_is_monotonic(x in arb_instant(), y in arb_instant(), n in 0u32..300) {
            let cal = cal();
            let (a, b) = if x <= y { (x, y) } else { (y, x) };
            prop_assert!(cal.add_workhours(a, n).unwrap() <= cal.add_workhours(b, n).unwrap());
            prop_assert!(cal.add_workhours(a, n).unwrap() <= cal.add_workhours(a, n + 1).unwrap());
        }

        #[test]
        fn working_time_between_is_additive(x in arb_instant(), y in arb_instant(), z in arb_instant()) {
            let cal = cal();
            let mut v = [x, y, z];
            v.sort();
            let [a, b, c] = v;
            let ab = cal.working_time_between(a, b).unwrap();
            let bc = cal.working_time_between(b, c).unwrap();
            prop_assert_eq!(cal.working_time_between(a, c).unwrap(), ab + bc);
            prop_assert!(ab >= Duration::zero());
        }
    }
}
