//! Holiday data: one [`HolidayYear`] per year, parsed from TOML.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use super::codes;
use crate::error::DomainError;

/// The bundled holiday data (2020–2026), from the yearly State Council
/// General Office notices. Parse it with [`parse_holidays_toml`].
pub const BUNDLED_HOLIDAYS: &str = include_str!("../../data/holidays.toml");

/// Years further apart than this are refused (keeps the day table and its
/// nanosecond arithmetic far from any overflow).
const MAX_SPAN_YEARS: i32 = 100;

/// The holidays and make-up working days of one year, as published in that
/// year's notice (国务院办公厅关于XXXX年部分节假日安排的通知).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayYear {
    pub year: i32,
    /// The notice reference, e.g. `国办发明电〔2025〕7号`.
    pub notice: Option<String>,
    /// Every day off in the holiday periods, weekend days inside a period included.
    pub holidays: Vec<(NaiveDate, String)>,
    /// Saturdays and Sundays that are working days.
    pub makeup_workdays: Vec<(NaiveDate, String)>,
}

impl HolidayYear {
    /// Checks the year's own rules: every date in `year`, named and listed
    /// once; no date both a holiday and a make-up day (`calendar_conflict`);
    /// make-up days on Saturdays or Sundays only (`invalid_calendar`).
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(notice) = &self.notice
            && notice.trim().is_empty()
        {
            return Err(invalid(format!("{}年的通知文号为空；没有文号时请省略该字段", self.year)));
        }
        let mut holidays = BTreeSet::new();
        for (date, name) in &self.holidays {
            self.check_entry(*date, name, "节假日")?;
            if !holidays.insert(*date) {
                return Err(invalid(format!("节假日 {date} 重复列出")));
            }
        }
        let mut makeups = BTreeSet::new();
        for (date, name) in &self.makeup_workdays {
            self.check_entry(*date, name, "调休上班日")?;
            if holidays.contains(date) {
                return Err(DomainError::invalid(
                    codes::CALENDAR_CONFLICT,
                    format!("{date} 既被列为节假日，又被列为调休上班日"),
                ));
            }
            if !makeups.insert(*date) {
                return Err(invalid(format!("调休上班日 {date} 重复列出")));
            }
            if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                return Err(invalid(format!("调休上班日 {date} 不是星期六或星期日；工作日本来就要上班，无需调休")));
            }
        }
        Ok(())
    }

    fn check_entry(&self, date: NaiveDate, name: &str, what: &str) -> Result<(), DomainError> {
        if date.year() != self.year {
            return Err(invalid(format!("{what} {date} 不属于{}年，请放入对应年份", self.year)));
        }
        if name.trim().is_empty() {
            return Err(invalid(format!("{what} {date} 缺少名称")));
        }
        Ok(())
    }
}

/// Validates a whole data set: at least one year, every year valid, no year
/// twice, and the years contiguous (a gap would make the calendar guess).
/// Returns the years sorted.
pub(super) fn validate_years(mut years: Vec<HolidayYear>) -> Result<Vec<HolidayYear>, DomainError> {
    if years.is_empty() {
        return Err(invalid("没有任何年份的节假日数据"));
    }
    for year in &years {
        year.validate()?;
    }
    years.sort_by_key(|y| y.year);
    for pair in years.windows(2) {
        if let [a, b] = pair {
            if a.year == b.year {
                return Err(invalid(format!("{}年的节假日数据出现了两次", a.year)));
            }
            if b.year != a.year + 1 {
                return Err(invalid(format!("缺少{}年的节假日数据；各年份必须连续", a.year + 1)));
            }
        }
    }
    if let (Some(first), Some(last)) = (years.first(), years.last())
        && last.year - first.year >= MAX_SPAN_YEARS
    {
        return Err(invalid(format!("节假日数据跨度不能超过{MAX_SPAN_YEARS}年")));
    }
    Ok(years)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    year: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    holidays: Vec<RawDay>,
    #[serde(default)]
    makeup_workdays: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: toml::Value,
    name: String,
}

/// Parses and validates holiday data in the format of `data/holidays.toml`
/// (`[[year]]` blocks with `year`, optional `notice`, `holidays` and
/// `makeup_workdays`, each entry `{ date = "YYYY-MM-DD", name = "…" }`).
/// A date that does not exist, such as `2026-02-30`, is `invalid_date`.
/// The result is sorted by year.
pub fn parse_holidays_toml(text: &str) -> Result<Vec<HolidayYear>, DomainError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1));
        let detail = e.message().trim().to_owned();
        match line {
            Some(line) => invalid(format!("节假日数据第{line}行格式错误：{detail}")),
            None => invalid(format!("节假日数据格式错误：{detail}")),
        }
    })?;
    let mut years = Vec::with_capacity(raw.year.len());
    for y in raw.year {
        years.push(HolidayYear {
            year: y.year,
            notice: y.notice,
            holidays: convert_days(y.holidays)?,
            makeup_workdays: convert_days(y.makeup_workdays)?,
        });
    }
    validate_years(years)
}

fn convert_days(days: Vec<RawDay>) -> Result<Vec<(NaiveDate, String)>, DomainError> {
    days.into_iter().map(|d| Ok((parse_date_value(&d.date)?, d.name))).collect()
}

/// Accepts a quoted `"YYYY-MM-DD"` string or a bare TOML local date.
fn parse_date_value(value: &toml::Value) -> Result<NaiveDate, DomainError> {
    match value {
        toml::Value::String(s) => parse_iso_date(s),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => parse_iso_date(&dt.to_string()),
        other => Err(DomainError::invalid(
            codes::INVALID_DATE,
            format!("日期“{other}”格式不正确，应写成 YYYY-MM-DD，例如 2026-01-01"),
        )),
    }
}

/// Strict `YYYY-MM-DD`; the date must exist.
fn parse_iso_date(s: &str) -> Result<NaiveDate, DomainError> {
    let bad_format = || {
        DomainError::invalid(codes::INVALID_DATE, format!("日期“{s}”格式不正确，应写成 YYYY-MM-DD，例如 2026-01-01"))
    };
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape_ok {
        return Err(bad_format());
    }
    let num = |range: std::ops::Range<usize>| s.get(range).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad_format());
    };
    let year = i32::try_from(y).map_err(|_| bad_format())?;
    NaiveDate::from_ymd_opt(year, m, d)
        .ok_or_else(|| DomainError::invalid(codes::INVALID_DATE, format!("日期“{s}”不存在，请检查月份和日期")))
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_CALENDAR, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn year_2026(holidays: &[(NaiveDate, &str)], makeups: &[(NaiveDate, &str)]) -> HolidayYear {
        HolidayYear {
            year: 2026,
            notice: None,
            holidays: holidays.iter().map(|(d, n)| (*d, n.to_string())).collect(),
            makeup_workdays: makeups.iter().map(|(d, n)| (*d, n.to_string())).collect(),
        }
    }

    #[test]
    fn bundled_file_parses_and_validates() {
        let years = parse_holidays_toml(BUNDLED_HOLIDAYS).unwrap();
        let numbers: Vec<i32> = years.iter().map(|y| y.year).collect();
        assert_eq!(numbers, (2020..=2026).collect::<Vec<_>>());
        for y in &years {
            y.validate().unwrap();
            assert!(y.notice.as_deref().is_some_and(|n| n.contains("国办发明电")));
        }
        let y2026 = &years[6];
        assert_eq!(y2026.notice.as_deref(), Some("国办发明电〔2025〕7号"));
        // 3 + 9 + 3 + 5 + 3 + 3 + 7 days off, 1 + 2 + 1 + 2 make-up days.
        assert_eq!(y2026.holidays.len(), 33);
        assert_eq!(y2026.makeup_workdays.len(), 6);
    }

    #[test]
    fn nonexistent_date_is_invalid_date() {
        let text = r#"
[[year]]
year = 2026
holidays = [ { date = "2026-02-30", name = "春节" } ]
"#;
        let err = parse_holidays_toml(text).unwrap_err();
        assert_eq!(err.code, "invalid_date");
        assert!(err.message.contains("2026-02-30"), "{}", err.message);
    }

    #[test]
    fn malformed_dates_are_invalid_date() {
        for bad in ["2026-2-3", "2026/02/03", "20260203", "", "2026-02-03T00:00:00"] {
            let text = format!("[[year]]\nyear = 2026\nholidays = [ {{ date = \"{bad}\", name = \"春节\" }} ]\n");
            let err = parse_holidays_toml(&text).unwrap_err();
            assert_eq!(err.code, "invalid_date", "{bad}");
        }
    }

    #[test]
    fn bare_toml_dates_are_accepted() {
        let text = "[[year]]\nyear = 2026\nholidays = [ { date = 2026-01-01, name = \"元旦\" } ]\n";
        let years = parse_holidays_toml(text).unwrap();
        assert_eq!(years[0].holidays, vec![(d(2026, 1, 1), "元旦".to_string())]);
        assert_eq!(years[0].notice, None);
    }

    #[test]
    fn syntax_and_unknown_fields_are_invalid_calendar() {
        let err = parse_holidays_toml("[[year]]\nyear = \n").unwrap_err();
        assert_eq!(err.code, "invalid_calendar");
        assert!(err.message.contains("第2行"), "{}", err.message);
        let err = parse_holidays_toml("[[year]]\nyear = 2026\nholiday = []\n").unwrap_err();
        assert_eq!(err.code, "invalid_calendar");
        assert_eq!(parse_holidays_toml("").unwrap_err().code, "invalid_calendar");
    }

    #[test]
    fn holiday_and_makeup_on_same_date_conflicts() {
        let y = year_2026(&[(d(2026, 2, 14), "春节")], &[(d(2026, 2, 14), "春节调休上班")]);
        assert_eq!(y.validate().unwrap_err().code, "calendar_conflict");
        let text = r#"
[[year]]
year = 2026
holidays = [ { date = "2026-02-14", name = "春节" } ]
makeup_workdays = [ { date = "2026-02-14", name = "春节调休上班" } ]
"#;
        assert_eq!(parse_holidays_toml(text).unwrap_err().code, "calendar_conflict");
    }

    #[test]
    fn makeup_on_a_weekday_is_rejected() {
        // 2026-02-13 is a Friday.
        let y = year_2026(&[], &[(d(2026, 2, 13), "春节调休上班")]);
        let err = y.validate().unwrap_err();
        assert_eq!(err.code, "invalid_calendar");
        assert!(err.message.contains("星期六或星期日"));
        let y = year_2026(&[], &[(d(2026, 2, 14), "春节调休上班")]);
        y.validate().unwrap();
    }

    #[test]
    fn other_rules_are_enforced() {
        let wrong_year = year_2026(&[(d(2025, 12, 31), "元旦")], &[]);
        assert_eq!(wrong_year.validate().unwrap_err().code, "invalid_calendar");
        let duplicate = year_2026(&[(d(2026, 1, 1), "元旦"), (d(2026, 1, 1), "元旦")], &[]);
        assert_eq!(duplicate.validate().unwrap_err().code, "invalid_calendar");
        let dup_makeup = year_2026(&[], &[(d(2026, 1, 4), "元旦调休上班"), (d(2026, 1, 4), "元旦调休上班")]);
        assert_eq!(dup_makeup.validate().unwrap_err().code, "invalid_calendar");
        let unnamed = year_2026(&[(d(2026, 1, 1), "  ")], &[]);
        assert_eq!(unnamed.validate().unwrap_err().code, "invalid_calendar");
        let mut blank_notice = year_2026(&[], &[]);
        blank_notice.notice = Some(" ".into());
        assert_eq!(blank_notice.validate().unwrap_err().code, "invalid_calendar");
    }

    #[test]
    fn year_sets_must_be_unique_and_contiguous() {
        let y = |year| HolidayYear { year, notice: None, holidays: vec![], makeup_workdays: vec![] };
        assert_eq!(validate_years(vec![]).unwrap_err().code, "invalid_calendar");
        assert_eq!(validate_years(vec![y(2024), y(2024)]).unwrap_err().code, "invalid_calendar");
        let gap = validate_years(vec![y(2024), y(2026)]).unwrap_err();
        assert_eq!(gap.code, "invalid_calendar");
        assert!(gap.message.contains("2025"));
        let sorted = validate_years(vec![y(2026), y(2025)]).unwrap();
        assert_eq!(sorted.iter().map(|y| y.year).collect::<Vec<_>>(), vec![2025, 2026]);
    }
}
