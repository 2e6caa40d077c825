//! Times on the wire: `yyyyMMddHHmmss` (DataTime, SampleTime, SystemTime…)
//! and the request number QN `yyyyMMddHHmmsszzz`, both in China time (+08:00,
//! no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, Timelike, Utc};

use crate::error::Error;

/// An instant as HJ 212 carries it, in +08:00.
pub type Time = DateTime<FixedOffset>;

/// The fixed +08:00 offset of China time.
pub fn china() -> FixedOffset {
    // 8 hours is always a valid offset; the fallback is unreachable.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Parses a wire time for `field`: 14 digits `yyyyMMddHHmmss`, or 17 digits
/// with milliseconds, which some HJ/T 212-2005 devices send as DataTime.
/// Anything else, or a date that does not exist, is `bad_time`.
pub fn parse_time(field: &str, value: &str) -> Result<Time, Error> {
    let bad = || Error::time(field, value);
    let digits = value.as_bytes();
    if !(digits.len() == 14 || digits.len() == 17) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let num = |from: usize, to: usize| value.get(from..to).and_then(|s| s.parse::<u32>().ok()).ok_or_else(bad);
    let year = i32::try_from(num(0, 4)?).map_err(|_| bad())?;
    let millis = if digits.len() == 17 { num(14, 17)? } else { 0 };
    let (month, day, hour, minute, second) = (num(4, 6)?, num(6, 8)?, num(8, 10)?, num(10, 12)?, num(12, 14)?);
    let naive: NaiveDateTime = NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_milli_opt(hour, minute, second, millis))
        .ok_or_else(bad)?;
    naive.and_local_timezone(china()).single().ok_or_else(bad)
}

/// Formats `t` as `yyyyMMddHHmmss` in +08:00. Sub-second parts are dropped:
/// the standard's DataTime has whole seconds.
pub fn format_time(t: &Time) -> String {
    t.with_timezone(&china()).format("%Y%m%d%H%M%S").to_string()
}

/// The request number (请求编码) QN: `yyyyMMddHHmmsszzz`, the millisecond
/// timestamp that names one command exchange and is echoed in its answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Qn(String);

impl Qn {
    /// Parses a QN: exactly 17 digits (`bad_field` otherwise) naming a real
    /// instant (`bad_time` otherwise).
    pub fn parse(value: &str) -> Result<Self, Error> {
        if value.len() != 17 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::field("QN", "请求编码应为17位数字（yyyyMMddHHmmsszzz）"));
        }
        parse_time("QN", value)?;
        Ok(Qn(value.to_owned()))
    }

    /// The QN of instant `t` (in +08:00, to the millisecond).
    pub fn from_time(t: &Time) -> Self {
        let t = t.with_timezone(&china());
        let millis = (t.nanosecond() / 1_000_000).min(999);
        Qn(format!("{}{millis:03}", format_time(&t)))
    }

    /// The QN as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant the QN names.
    pub fn time(&self) -> Option<Time> {
        parse_time("QN", &self.0).ok()
    }
}

impl std::fmt::Display for Qn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_wire_times() {
        let t = parse_time("DataTime", "20160801085857").unwrap();
        assert_eq!(t.to_rfc3339(), "2016-08-01T08:58:57+08:00");
        assert_eq!(format_time(&t), "20160801085857");
        let ms = parse_time("DataTime", "20160824003817000").unwrap();
        assert_eq!(ms.to_rfc3339(), "2016-08-24T00:38:17+08:00");
    }

    #[test]
    fn refuses_impossible_and_malformed_times() {
        for bad in [
            "20160230120000",
            "20161301000000",
            "20160801246000",
            "20160801235960",
            "2016080108585",
            "2016-08-01 08:5",
            "",
            "201608010858570",
            "２０１６０８０１０８５８５７",
        ] {
            let err = parse_time("DataTime", bad).unwrap_err();
            assert_eq!(err.code(), "bad_time", "{bad}");
        }
    }

    #[test]
    fn qn_round_trips_and_validates() {
        let qn = Qn::parse("20160801085857223").unwrap();
        assert_eq!(Qn::from_time(&qn.time().unwrap()), qn);
        assert_eq!(Qn::parse("2016080108585722").unwrap_err().code(), "bad_field");
        assert_eq!(Qn::parse("32016080108585722").unwrap_err().code(), "bad_time");
    }
}
