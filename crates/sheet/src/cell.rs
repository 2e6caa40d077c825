//! Typed cell values, Excel's date serials and A1 references.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// One cell's value. Dates come from numbers in a date format, from
/// `t="d"` cells (ISO 8601 text) and, in [`crate::Record`], from date text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// An Excel error value such as `#N/A`.
    Error(String),
}

impl Cell {
    /// Empty, or text of nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as a person would read it, trimmed; `None` when blank.
    /// Whole numbers print without a decimal point (`13912345678`), so codes
    /// and phone numbers typed as numbers read back as typed.
    pub fn as_text(&self) -> Option<String> {
        let text = match self {
            Cell::Empty => return None,
            Cell::Text(s) => s.trim().to_owned(),
            Cell::Number(n) => format_number(*n),
            Cell::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_owned(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(t) => format_datetime(t),
            Cell::Error(e) => e.trim().to_owned(),
        };
        (!text.is_empty()).then_some(text)
    }
}

fn format_datetime(t: &NaiveDateTime) -> String {
    if t.time() == NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else if t.and_utc().timestamp_subsec_millis() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }
}

/// A number as Excel's General format shows it: whole numbers without a
/// decimal point, others to 15 significant digits (`0.1 + 0.2` is `0.3`).
pub fn format_number(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    rounded.to_string()
}

/// The largest serial Excel shows as a date: 9999-12-31.
const MAX_SERIAL: f64 = 2_958_465.999_999;
const MS_PER_DAY: i64 = 86_400_000;

/// The date and time of an Excel serial number in the 1900 date system (or
/// the 1904 one); `None` for negative, non-finite, too large, or Excel's
/// nonexistent 1900-02-29 (serial 60).
pub fn excel_serial_to_datetime(serial: f64, date1904: bool) -> Option<NaiveDateTime> {
    if !serial.is_finite() || !(0.0..=MAX_SERIAL).contains(&serial) {
        return None;
    }
    let ms = (serial * MS_PER_DAY as f64).round() as i64;
    let (days, ms_of_day) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY));
    let base = if date1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1)?
    } else if days < 60 {
        // Serial 1 is 1900-01-01; Excel counts a 1900-02-29 that never was as 60.
        NaiveDate::from_ymd_opt(1899, 12, 31)?
    } else if days == 60 {
        return None;
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    let date = base.checked_add_signed(Duration::days(days))?;
    Some(date.and_time(NaiveTime::MIN) + Duration::milliseconds(ms_of_day))
}

/// The letters of a 1-based column number: 1 → `A`, 16384 → `XFD`.
pub fn column_name(mut column: u32) -> String {
    let mut letters = Vec::new();
    while column > 0 {
        let rem = ((column - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        column = (column - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Excel's largest row and column.
pub(crate) const EXCEL_MAX_ROW: u32 = 1_048_576;
pub(crate) const EXCEL_MAX_COLUMN: u32 = 16_384;

/// Parses an A1 reference (`XFD1048576`, `$B$3`) into (row, column), both 1-based.
/// A reference of only letters (`B`, as in `A:B`) gives row 0.
pub(crate) fn parse_reference(reference: &str) -> Option<(u32, u32)> {
    let s = reference.trim().replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() && digits.is_empty() || letters.len() > 3 || digits.len() > 7 {
        return None;
    }
    let mut column: u32 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        column = column * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1);
    }
    let row = if digits.is_empty() { 0 } else { digits.parse::<u32>().ok()? };
    if column > EXCEL_MAX_COLUMN || row > EXCEL_MAX_ROW || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((row, column))
}

/// An ISO 8601 date or date-time as `t="d"` cells hold it.
pub(crate) fn parse_iso(text: &str) -> Option<Cell> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Cell::Date(date));
    }
    let text = text.trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(Cell::DateTime)
}

/// A date written as text the way people in China write it: `2026-01-01`,
/// `2026/1/1`, `2026.1.1` or `2026年1月1日`.
pub(crate) fn parse_date_text(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let t = t.strip_suffix('日').unwrap_or(t);
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    let all_digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    if y.len() != 4 || !all_digits(y, 4) || !all_digits(m, 2) || !all_digits(d, 2) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serials_follow_excel() {
        let date = |s: f64| excel_serial_to_datetime(s, false).map(|t| t.to_string());
        assert_eq!(date(1.0).as_deref(), Some("1900-01-01 00:00:00"));
        assert_eq!(date(59.0).as_deref(), Some("1900-02-28 00:00:00"));
        assert_eq!(date(60.0), None);
        assert_eq!(date(61.0).as_deref(), Some("1900-03-01 00:00:00"));
        assert_eq!(date(46023.0).as_deref(), Some("2026-01-01 00:00:00"));
        assert_eq!(date(46023.75).as_deref(), Some("2026-01-01 18:00:00"));
        assert_eq!(date(-1.0), None);
        assert_eq!(date(f64::NAN), None);
        assert_eq!(date(3e6), None);
        let t = excel_serial_to_datetime(0.0, true).unwrap();
        assert_eq!(t.to_string(), "1904-01-01 00:00:00");
    }

    #[test]
    fn references_and_columns() {
        assert_eq!(parse_reference("A1"), Some((1, 1)));
        assert_eq!(parse_reference("$AB$12"), Some((12, 28)));
        assert_eq!(parse_reference("XFD1048576"), Some((1_048_576, 16_384)));
        assert_eq!(parse_reference("XFE1"), None);
        assert_eq!(parse_reference("A1048577"), None);
        assert_eq!(parse_reference("A-1"), None);
        assert_eq!(parse_reference(""), None);
        assert_eq!(column_name(1), "A");
        assert_eq!(column_name(28), "AB");
        assert_eq!(column_name(16_384), "XFD");
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(format_number(13_912_345_678.0), "13912345678");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(-2.5), "-2.5");
        assert_eq!(format_number(1e20), "100000000000000000000");
    }

    #[test]
    fn date_text() {
        let d = |s| parse_date_text(s).map(|d| d.to_string());
        assert_eq!(d("2026-01-01").as_deref(), Some("2026-01-01"));
        assert_eq!(d("2026/1/2").as_deref(), Some("2026-01-02"));
        assert_eq!(d("2026年2月3日").as_deref(), Some("2026-02-03"));
        assert_eq!(d("2026-02-30"), None);
        assert_eq!(d("26-1-1"), None);
        assert_eq!(d("2026-1"), None);
    }
}
