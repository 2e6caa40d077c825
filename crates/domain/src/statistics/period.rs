//! Reporting periods: a year and a cumulative span from January (1-3月,
//! 1-6月, 前三季度, 全年 …).

use std::fmt;

use serde::Serialize;

use super::codes;
use crate::error::DomainError;

const MIN_YEAR: i32 = 1949;
const MAX_YEAR: i32 = 2100;
/// Period text longer than this is refused before it is looked at.
const MAX_PERIOD_CHARS: usize = 32;

/// A cumulative period: January to `months` of `year`. Quarterly figures
/// are the spans of 3, 6, 9 and 12 months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Period {
    pub year: i32,
    pub months: u8,
}

impl Period {
    /// A period, if the year is in range and `months` is 1 to 12.
    pub fn new(year: i32, months: u8) -> Option<Self> {
        ((MIN_YEAR..=MAX_YEAR).contains(&year) && (1..=12).contains(&months)).then_some(Self { year, months })
    }

    /// The same span a number of years earlier.
    pub fn years_before(self, years: i32) -> Option<Self> {
        Self::new(self.year - years, self.months)
    }

    /// The span as reports name it: 一季度, 上半年, 前三季度, 全年 for whole
    /// quarters, otherwise 1月 or 1-5月.
    pub fn label(self) -> String {
        match self.months {
            3 => "一季度".into(),
            6 => "上半年".into(),
            9 => "前三季度".into(),
            12 => "全年".into(),
            _ => self.month_label(),
        }
    }

    /// The span in months: 1月, 1-9月, 1-12月.
    pub fn month_label(self) -> String {
        if self.months == 1 { "1月".into() } else { format!("1-{}月", self.months) }
    }

    /// The stable key used in data files: `2021-Q3` for whole quarters, `2021-M05` otherwise.
    pub fn key(self) -> String {
        if self.months.is_multiple_of(3) {
            format!("{}-Q{}", self.year, self.months / 3)
        } else {
            format!("{}-M{:02}", self.year, self.months)
        }
    }

    /// Parses `2021-Q3`, `2021Q3`, `2021-M09`, or the Chinese forms
    /// `2021年前三季度`, `2021年1-9月`, `2021年1—9月`, `2021年一季度`,
    /// `2021年第一季度`, `2021年上半年`, `2021年全年`, `2021年1月`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_PERIOD_CHARS {
            return Err(bad_period(text));
        }
        let (year, rest) = split_year(text).ok_or_else(|| bad_period(text))?;
        let months = span_months(rest).ok_or_else(|| bad_period(text))?;
        Self::new(year, months).ok_or_else(|| bad_period(text))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}年{}", self.year, self.label())
    }
}

/// Four ASCII digits, then `-`, `年` or nothing.
fn split_year(text: &str) -> Option<(i32, &str)> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = digits.parse().ok()?;
    let rest = &text[4..];
    let rest = rest.strip_prefix('-').or_else(|| rest.strip_prefix('年')).unwrap_or(rest);
    Some((year, rest))
}

fn span_months(rest: &str) -> Option<u8> {
    if let Some(q) = rest.strip_prefix('Q') {
        return quarter_months(q.parse::<u8>().ok()?);
    }
    if let Some(m) = rest.strip_prefix('M') {
        return valid_digits(m, 2).and_then(|m| month(m.parse().ok()?));
    }
    match rest {
        "一季度" | "第一季度" => return Some(3),
        "上半年" => return Some(6),
        "前三季度" => return Some(9),
        "全年" => return Some(12),
        _ => {}
    }
    let span = rest.strip_suffix('月')?;
    let end = match span.split_once(['-', '—', '–', '~', '～', '至']) {
        Some(("1", end)) => end,
        Some(_) => return None,
        None if span == "1" => "1",
        None => return None,
    };
    valid_digits(end, 2).and_then(|m| month(m.parse().ok()?))
}

fn valid_digits(text: &str, max_len: usize) -> Option<&str> {
    (!text.is_empty() && text.len() <= max_len && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

fn quarter_months(q: u8) -> Option<u8> {
    (1..=4).contains(&q).then_some(q * 3)
}

fn month(m: u8) -> Option<u8> {
    (1..=12).contains(&m).then_some(m)
}

fn bad_period(text: &str) -> DomainError {
    let shown: String = text.chars().filter(|c| !c.is_control()).take(MAX_PERIOD_CHARS).collect();
    DomainError::invalid(
        codes::INVALID_PERIOD,
        format!(
            "时期“{shown}”无法识别，应写成 2021-Q3、2021-M09、2021年前三季度或2021年1-9月（年份{MIN_YEAR}至{MAX_YEAR}）"
        ),
    )
}
