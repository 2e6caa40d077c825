//! Time in mashangban is Asia/Shanghai (+08:00); China has no daylight saving.

use chrono::{DateTime, FixedOffset, Offset, SecondsFormat, Utc};

/// The fixed +08:00 offset of Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    // 8 hours is always a valid offset; the fallback is unreachable.
    match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => Utc.fix(),
    }
}

/// An instant as mashangban stores and shows it.
pub type Instant = DateTime<FixedOffset>;

/// The current instant in +08:00.
pub fn now() -> Instant {
    Utc::now().with_timezone(&shanghai())
}

/// Converts any instant to +08:00.
pub fn in_shanghai<Tz: chrono::TimeZone>(t: &DateTime<Tz>) -> Instant {
    t.with_timezone(&shanghai())
}

/// RFC 3339 with milliseconds and `+08:00`; sorts lexicographically in time order.
pub fn format_instant(t: &Instant) -> String {
    in_shanghai(t).to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// An instant as histories and notices show it: `YYYY-MM-DD HH:MM` in Asia/Shanghai.
pub fn format_minute(t: &Instant) -> String {
    in_shanghai(t).format("%Y-%m-%d %H:%M").to_string()
}

/// Parses an RFC 3339 instant and moves it to +08:00.
pub fn parse_instant(s: &str) -> Option<Instant> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| in_shanghai(&t))
}

/// The first instant of a calendar day in Asia/Shanghai.
pub fn start_of_day(day: chrono::NaiveDate) -> Instant {
    use chrono::TimeZone;
    shanghai().from_utc_datetime(&(day.and_time(chrono::NaiveTime::MIN) - chrono::Duration::hours(8)))
}
