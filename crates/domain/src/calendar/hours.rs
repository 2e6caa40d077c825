//! Daily working hours (作息时间): the working periods of one working day.

use chrono::{Duration, NaiveTime, Timelike};

use super::codes;
use crate::error::DomainError;

pub(super) const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The working periods of a working day, in +08:00 local time, e.g. the
/// default 08:30–12:00 and 14:00–17:30. Always non-empty, each period
/// non-empty, in order and non-overlapping (touching is allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
    /// The same periods as nanoseconds from midnight.
    spans: Vec<(i64, i64)>,
    /// Working nanoseconds per working day.
    daily: i64,
}

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

impl Default for WorkingHours {
    /// 08:30–12:00 and 14:00–17:30 (7 hours).
    fn default() -> Self {
        let periods = vec![(hm(8, 30), hm(12, 0)), (hm(14, 0), hm(17, 30))];
        let spans: Vec<(i64, i64)> = periods.iter().map(|(s, e)| (nanos_of_day(*s), nanos_of_day(*e))).collect();
        let daily = spans.iter().map(|(s, e)| e - s).sum();
        Self { periods, spans, daily }
    }
}

impl WorkingHours {
    /// Validates and builds working hours (`invalid_working_hours`).
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, DomainError> {
        let invalid = |m: String| DomainError::invalid(codes::INVALID_WORKING_HOURS, m);
        if periods.is_empty() {
            return Err(invalid("工作时间至少要有一个时段".into()));
        }
        let mut spans = Vec::with_capacity(periods.len());
        let mut previous_end: Option<NaiveTime> = None;
        for (start, end) in &periods {
            if start.nanosecond() >= 1_000_000_000 || end.nanosecond() >= 1_000_000_000 {
                return Err(invalid("工作时段不能使用闰秒时刻".into()));
            }
            if start >= end {
                return Err(invalid(format!(
                    "工作时段 {}–{} 的开始时间必须早于结束时间",
                    start.format("%H:%M"),
                    end.format("%H:%M")
                )));
            }
            if let Some(prev) = previous_end
                && *start < prev
            {
                return Err(invalid(format!(
                    "工作时段 {}–{} 与前一时段重叠或顺序颠倒；请按时间先后排列且互不重叠",
                    start.format("%H:%M"),
                    end.format("%H:%M")
                )));
            }
            previous_end = Some(*end);
            spans.push((nanos_of_day(*start), nanos_of_day(*end)));
        }
        let daily = spans.iter().map(|(s, e)| e - s).sum();
        Ok(Self { periods, spans, daily })
    }

    /// The periods, in order.
    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Start of the first period (the start of a working day).
    pub fn day_start(&self) -> NaiveTime {
        self.periods.first().map_or(NaiveTime::MIN, |p| p.0)
    }

    /// End of the last period (the end of a working day; working-day deadlines land here).
    pub fn day_end(&self) -> NaiveTime {
        self.periods.last().map_or(NaiveTime::MIN, |p| p.1)
    }

    /// Working time in one working day.
    pub fn daily_duration(&self) -> Duration {
        Duration::nanoseconds(self.daily)
    }

    pub(super) fn daily_nanos(&self) -> i64 {
        self.daily
    }

    pub(super) fn first_start_nanos(&self) -> i64 {
        self.spans.first().map_or(0, |s| s.0)
    }

    pub(super) fn last_end_nanos(&self) -> i64 {
        self.spans.last().map_or(0, |s| s.1)
    }

    /// Working nanoseconds of a working day elapsed before time of day `tod`.
    pub(super) fn worked_before(&self, tod: i64) -> i64 {
        self.spans.iter().map(|&(s, e)| (tod.min(e) - s).max(0)).sum()
    }

    /// The earliest time of day at which `worked` working nanoseconds
    /// (0 < worked <= daily) have elapsed; a total reached exactly at a period
    /// end gives that period end.
    pub(super) fn time_after_worked(&self, worked: i64) -> i64 {
        let mut before = 0;
        for &(s, e) in &self.spans {
            let len = e - s;
            if worked <= before + len {
                return s + (worked - before);
            }
            before += len;
        }
        self.last_end_nanos()
    }

    /// The first working instant at or after `tod` on a working day, or
    /// `None` when the day's working time is over.
    pub(super) fn next_working_tod(&self, tod: i64) -> Option<i64> {
        self.spans.iter().find(|&&(_, e)| tod < e).map(|&(s, _)| tod.max(s))
    }

    /// Whether `tod` lies inside a period (start inclusive, end exclusive).
    pub(super) fn contains(&self, tod: i64) -> bool {
        self.spans.iter().any(|&(s, e)| s <= tod && tod < e)
    }
}

/// Nanoseconds since midnight; a leap second counts as the last nanosecond
/// of its second.
pub(super) fn nanos_of_day(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * NANOS_PER_SEC + i64::from(t.nanosecond().min(999_999_999))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn default_is_0830_to_1200_and_1400_to_1730() {
        let h = WorkingHours::default();
        assert_eq!(h.periods(), &[(hm(8, 30), hm(12, 0)), (hm(14, 0), hm(17, 30))]);
        assert_eq!(h.daily_duration(), Duration::hours(7));
        assert_eq!(h.day_start(), hm(8, 30));
        assert_eq!(h.day_end(), hm(17, 30));
        assert_eq!(WorkingHours::new(h.periods().to_vec()).unwrap(), h);
    }

    #[test]
    fn invalid_periods_are_rejected() {
        let code = |p: Vec<(NaiveTime, NaiveTime)>| WorkingHours::new(p).unwrap_err().code;
        assert_eq!(code(vec![]), "invalid_working_hours");
        assert_eq!(code(vec![(hm(12, 0), hm(8, 30))]), "invalid_working_hours");
        assert_eq!(code(vec![(hm(9, 0), hm(9, 0))]), "invalid_working_hours");
        assert_eq!(code(vec![(hm(8, 30), hm(12, 0)), (hm(11, 0), hm(17, 30))]), "invalid_working_hours");
        assert_eq!(code(vec![(hm(14, 0), hm(17, 30)), (hm(8, 30), hm(12, 0))]), "invalid_working_hours");
        // Touching periods are fine.
        WorkingHours::new(vec![(hm(8, 0), hm(12, 0)), (hm(12, 0), hm(16, 0))]).unwrap();
    }

    #[test]
    fn in_day_arithmetic() {
        let h = WorkingHours::default();
        let n = |hh: u32, mm: u32| nanos_of_day(hm(hh, mm));
        assert_eq!(h.worked_before(n(8, 0)), 0);
        assert_eq!(h.worked_before(n(12, 0)), n(3, 30));
        assert_eq!(h.worked_before(n(13, 0)), n(3, 30));
        assert_eq!(h.worked_before(n(15, 0)), n(4, 30));
        assert_eq!(h.worked_before(n(23, 0)), n(7, 0));
        assert_eq!(h.time_after_worked(n(3, 30)), n(12, 0));
        assert_eq!(h.time_after_worked(n(3, 30) + 1), n(14, 0) + 1);
        assert_eq!(h.time_after_worked(n(7, 0)), n(17, 30));
        assert_eq!(h.next_working_tod(n(7, 0)), Some(n(8, 30)));
        assert_eq!(h.next_working_tod(n(12, 0)), Some(n(14, 0)));
        assert_eq!(h.next_working_tod(n(10, 0)), Some(n(10, 0)));
        assert_eq!(h.next_working_tod(n(17, 30)), None);
    }
}
