//! Readings (监测数据) and exceedance alerts (超标报警).

use chrono::{Duration, Timelike};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::environment::{Exceedance, Grade, LimitOverride, Measurement, Standard, check_discharge};
use crate::error::DomainError;
use crate::time::Instant;

/// Readings one batch holds at most (HTTP upload or one receiver insert).
pub const MAX_READINGS_PER_BATCH: usize = 5000;
/// How far ahead of the platform's clock a reading's data time may be (device clocks drift).
const MAX_AHEAD: Duration = Duration::hours(1);
/// How old a reading may be when it arrives (a device resending its backlog after an outage).
const MAX_AGE: Duration = Duration::days(400);

/// The kind of data, by its HJ 212 command (CN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    /// 2011 实时数据.
    RealTime,
    /// 2051 分钟数据.
    Minute,
    /// 2061 小时数据.
    Hour,
    /// 2031 日数据.
    Day,
}

impl ReadingKind {
    pub const ALL: [ReadingKind; 4] = [Self::RealTime, Self::Minute, Self::Hour, Self::Day];

    /// The HJ 212 command number.
    pub fn cn(self) -> i64 {
        match self {
            Self::RealTime => 2011,
            Self::Minute => 2051,
            Self::Hour => 2061,
            Self::Day => 2031,
        }
    }

    pub fn from_cn(cn: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.cn() == cn)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::RealTime => "real_time",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// By code (`minute`) or command number (`2051`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.into_iter().find(|k| k.code() == text || k.cn().to_string() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::RealTime => "实时数据",
            Self::Minute => "分钟数据",
            Self::Hour => "小时数据",
            Self::Day => "日数据",
        }
    }
}

/// The span readings are summarised over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    /// How many leading characters of a stored instant (`2026-12-04T09:00:00.000+08:00`, always in +08:00) name the bucket.
    pub fn prefix_len(self) -> usize {
        match self {
            Self::Hour => 13,
            Self::Day => 10,
        }
    }
}

/// The hour an instant falls in, as stored times begin: `2026-12-04T09` (Asia/Shanghai).
/// The key of the hourly rollup (小时汇总) and of the receiver's hourly counts.
pub fn hour_key(t: &Instant) -> String {
    crate::time::in_shanghai(t).format("%Y-%m-%dT%H").to_string()
}

/// The whole hours inside `[from, to)`: from the first hour boundary at or after `from` to the
/// last at or before `to`; `None` when no whole hour fits. Readings outside them (the
/// partial hours at the edges) are read raw; those inside, from the rollup.
pub fn whole_hours(from: &Instant, to: &Instant) -> Option<(Instant, Instant)> {
    let floor = |t: &Instant| {
        let t = crate::time::in_shanghai(t);
        let into_hour = Duration::seconds(i64::from(t.minute() * 60 + t.second()))
            + Duration::nanoseconds(i64::from(t.nanosecond()));
        t - into_hour
    };
    let start = floor(from);
    let start = if start < *from { start + Duration::hours(1) } else { start };
    let end = floor(to);
    (start < end).then_some((start, end))
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, waiting for someone (待处置).
    Open,
    /// Dismissed with a reason, e.g. a device fault confirmed on site (已排除).
    Dismissed,
    /// Passed on to enforcement (已转办).
    Escalated,
}

impl AlertState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Dismissed => "dismissed",
            Self::Escalated => "escalated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::Dismissed, Self::Escalated].into_iter().find(|s| s.code() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "待处置",
            Self::Dismissed => "已排除",
            Self::Escalated => "已转办",
        }
    }
}

/// `404 monitoring_alert_not_found`.
pub fn alert_not_found() -> DomainError {
    DomainError::not_found("monitoring_alert_not_found", "报警不存在")
}

/// One value to store: a parameter of one data upload of one point's device.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReading {
    pub point_id: i64,
    pub mn: String,
    pub kind: ReadingKind,
    pub data_time: Instant,
    /// HJ 212 pollutant code.
    pub parameter: String,
    /// `-Rtd` for real-time data, `-Avg` otherwise.
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The device's data flag (`N` normal, `F` stopped, `M` maintenance, `D` fault, …).
    pub flag: Option<String>,
    /// The limit the value breaks, decided before storing; an alert is raised
    /// with the reading when it is new (a duplicate raises nothing).
    pub exceedance: Option<Exceedance>,
}

/// Refuses a data time too far ahead of `now` (`reading_in_future`) or too old (`reading_too_old`).
pub fn check_reading_time(data_time: &Instant, now: &Instant) -> Result<(), DomainError> {
    if *data_time > *now + MAX_AHEAD {
        return Err(DomainError::invalid("reading_in_future", "数据时间晚于当前时间超过1小时"));
    }
    if *data_time < *now - MAX_AGE {
        return Err(DomainError::invalid("reading_too_old", "数据时间早于当前时间超过400天"));
    }
    Ok(())
}

/// Checks a value of `parameter` (HJ 212 code, in the unit HJ 212 sends it in)
/// against the point's grade and permit limits. Values the device flags as
/// other than normal (`N`) are not checked: a stopped or faulty device's
/// number is not a discharge. `invalid_value` for a value that is not finite.
pub fn check_reading(
    standard: &Standard,
    grade: u8,
    overrides: &[LimitOverride],
    parameter: &str,
    value: f64,
    flag: Option<&str>,
) -> Result<Option<Exceedance>, DomainError> {
    if flag.is_some_and(|f| f != "N") {
        return Ok(None);
    }
    check_discharge(standard, Grade(grade), &Measurement::from_hj212(standard, parameter, value), overrides)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::environment::{GB_8978_1996, Limit, bundled_standards};

    fn gb8978() -> &'static Standard {
        bundled_standards().iter().find(|s| s.code == GB_8978_1996).unwrap()
    }

    #[test]
    fn kinds_round_trip_by_code_and_command() {
        for k in ReadingKind::ALL {
            assert_eq!(ReadingKind::from_cn(k.cn()), Some(k));
            assert_eq!(ReadingKind::parse(k.code()), Some(k));
            assert_eq!(ReadingKind::parse(&k.cn().to_string()), Some(k));
        }
        assert_eq!(ReadingKind::from_cn(2021), None);
    }

    #[test]
    fn whole_hours_are_the_hour_boundaries_inside_a_range() {
        let t = |s: &str| crate::time::parse_instant(s).unwrap();
        let (a, b) = whole_hours(&t("2026-12-04T09:30:00+08:00"), &t("2026-12-04T12:10:00+08:00")).unwrap();
        assert_eq!((a, b), (t("2026-12-04T10:00:00+08:00"), t("2026-12-04T12:00:00+08:00")));
        let exact = whole_hours(&t("2026-12-04T09:00:00+08:00"), &t("2026-12-04T10:00:00+08:00"));
        assert_eq!(exact, Some((t("2026-12-04T09:00:00+08:00"), t("2026-12-04T10:00:00+08:00"))));
        assert_eq!(whole_hours(&t("2026-12-04T09:00:00.001+08:00"), &t("2026-12-04T10:59:59+08:00")), None);
        // Another offset is moved to Shanghai first: 01:30Z is 09:30 there.
        let (a, _) = whole_hours(&t("2026-12-04T01:30:00Z"), &t("2026-12-05T00:00:00Z")).unwrap();
        assert_eq!(hour_key(&a), "2026-12-04T10");
        assert_eq!(hour_key(&t("2026-12-31T16:59:59Z")), "2027-01-01T00");
    }

    #[test]
    fn cod_over_grade_two_is_an_exceedance_unless_flagged() {
        let over = check_reading(gb8978(), 2, &[], "w01018", 180.0, Some("N")).unwrap().unwrap();
        assert_eq!((over.parameter.as_str(), over.limit), ("cod", Limit::AtMost(150.0)));
        assert!(check_reading(gb8978(), 2, &[], "w01018", 150.0, None).unwrap().is_none());
        assert!(check_reading(gb8978(), 2, &[], "w01018", 900.0, Some("D")).unwrap().is_none());
        let permit = LimitOverride { parameter: "cod".into(), limit: Limit::AtMost(100.0), source: "许可证".into() };
        assert!(check_reading(gb8978(), 2, &[permit], "w01018", 120.0, None).unwrap().is_some());
        assert_eq!(check_reading(gb8978(), 2, &[], "w01018", f64::NAN, None).unwrap_err().code, "invalid_value");
    }

    #[test]
    fn reading_times_are_bounded() {
        let now = crate::time::now();
        assert!(check_reading_time(&now, &now).is_ok());
        assert_eq!(check_reading_time(&(now + Duration::hours(2)), &now).unwrap_err().code, "reading_in_future");
        assert_eq!(check_reading_time(&(now - Duration::days(401)), &now).unwrap_err().code, "reading_too_old");
    }
}
