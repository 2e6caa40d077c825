//! The work calendar (工作日历): loading it from the store (storing the
//! bundled years on first start), reading import files (TOML or Excel), the
//! public calculator, and the administration of holiday years and working
//! hours (the [`Calendar`] service, `app.calendar()`). Every change is
//! recorded and put in force on every node at once.

mod service;
mod xlsx;

pub use service::*;

use chrono::NaiveDate;
use serde::Serialize;

use mashangban_domain::DomainError;
use mashangban_domain::calendar::parse_holidays_toml;
use mashangban_domain::calendar::{BUNDLED_HOLIDAYS, DayKind, HolidayYear, WorkCalendar, WorkingHours, codes};
use mashangban_domain::time::{self, Instant};
use mashangban_store::{CalendarAuthor, CalendarSource, CalendarStore, StoreError, StoreResult};

use crate::error::{AppError, AppResult};

/// The longest span `days` lists, in days.
pub const MAX_DAYS_SPAN: i64 = 366;

/// Loads the calendar from the store. On first start (no years or no working
/// hours stored) it stores the bundled holiday years and the default working
/// hours first, recorded as changes by the system.
pub async fn load<S: CalendarStore>(store: &S) -> StoreResult<WorkCalendar> {
    seed_if_empty(store).await?;
    let years = store.calendar_years().await?;
    let hours = store.calendar_working_hours().await?.unwrap_or_default();
    WorkCalendar::new(years, hours)
        .map_err(|e| StoreError::backend(format!("the stored work calendar is unusable: {e}")))
}

async fn seed_if_empty<S: CalendarStore>(store: &S) -> StoreResult<()> {
    let has_years = !store.calendar_year_infos().await?.is_empty();
    let has_hours = store.calendar_working_hours().await?.is_some();
    if has_years && has_hours {
        return Ok(());
    }
    let years = parse_holidays_toml(BUNDLED_HOLIDAYS)
        .map_err(|e| StoreError::backend(format!("the bundled holiday data is invalid: {e}")))?;
    let author = CalendarAuthor {
        user_id: None,
        name: "系统（内置数据）".into(),
        role: "system".into(),
        client_ip: None,
        at: time::now(),
        source: CalendarSource::Bundled,
    };
    if store.seed_calendar(years, WorkingHours::default(), author).await? {
        tracing::info!("stored the bundled work calendar");
    }
    Ok(())
}

/// The author of changes made with `mashangban calendar` on the command line.
pub fn cli_author(source: CalendarSource) -> CalendarAuthor {
    CalendarAuthor {
        user_id: None,
        name: "系统（命令行）".into(),
        role: "system".into(),
        client_ip: None,
        at: time::now(),
        source,
    }
}

/// Reads an import file: an Excel workbook (.xlsx, recognised as a zip) or
/// TOML in the format of the bundled data. The years come back validated
/// and sorted, with the form they came in.
pub fn parse_import(bytes: &[u8]) -> Result<(Vec<HolidayYear>, CalendarSource), DomainError> {
    if bytes.is_empty() {
        return Err(DomainError::invalid("empty_file", "文件是空的"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok((xlsx::parse(bytes)?, CalendarSource::Xlsx));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(unsupported("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再导入"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| unsupported("无法识别的文件：请上传 Excel（.xlsx）或 UTF-8 编码的 TOML 文件"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok((parse_holidays_toml(text)?, CalendarSource::Toml))
}

fn unsupported(message: &str) -> DomainError {
    DomainError::invalid("unsupported_file_type", message)
}

/// A strict `YYYY-MM-DD` date; `None` if it is not written that way or does not exist.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A date of holiday data: `invalid_date` unless written `YYYY-MM-DD` and real.
pub fn parse_data_date(s: &str, context: &str) -> Result<NaiveDate, DomainError> {
    parse_date(s).ok_or_else(|| {
        DomainError::invalid(
            codes::INVALID_DATE,
            format!("{context}日期“{}”不正确：应写成 YYYY-MM-DD（例如 2026-01-01），且必须是真实存在的日期", s.trim()),
        )
    })
}

/// How far the calculator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    WorkingDays(u32),
    WorkingHours(u32),
}

/// The deadline `amount` after `from` (see `WorkCalendar::add_workdays` and
/// `add_workhours`), in +08:00.
pub fn due(calendar: &WorkCalendar, from: Instant, amount: Amount) -> Result<Instant, DomainError> {
    match amount {
        Amount::WorkingDays(n) => calendar.add_workdays(from, n),
        Amount::WorkingHours(n) => calendar.add_workhours(from, n),
    }
}

/// One date as the calculator shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DayInfo {
    pub date: NaiveDate,
    pub workday: bool,
    pub kind: DayKind,
    /// The holiday or make-up name; `None` for plain days.
    pub name: Option<String>,
}

/// Every date from `from` to `to` inclusive; at most [`MAX_DAYS_SPAN`] days
/// (`invalid_parameter`), all in covered years (`calendar_year_not_covered`).
pub fn days(calendar: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> AppResult<Vec<DayInfo>> {
    if to < from {
        return Err(AppError::bad_parameter("结束日期「to」不能早于开始日期「from」"));
    }
    if (to - from).num_days() + 1 > MAX_DAYS_SPAN {
        return Err(AppError::bad_parameter(format!("一次最多查询{MAX_DAYS_SPAN}天，请缩短日期范围")));
    }
    from.iter_days()
        .take_while(|date| *date <= to)
        .map(|date| {
            let kind = calendar.day_kind(date)?;
            let name = calendar.day_name(date).map(str::to_owned);
            Ok(DayInfo { date, workday: kind.is_working(), kind, name })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn import_files_are_recognised_by_content() {
        let code = |bytes: &[u8]| parse_import(bytes).unwrap_err().code;
        assert_eq!(code(b""), "empty_file");
        assert_eq!(code(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]), "unsupported_file_type");
        assert_eq!(code(&[0xFF, 0xFE, 0x00]), "unsupported_file_type");
        assert_eq!(code(b"PK\x03\x04not really a zip"), "not_xlsx");
        let toml = "\u{feff}[[year]]\nyear = 2027\nholidays = [ { date = 2027-01-01, name = \"元旦\" } ]\n";
        let (years, source) = parse_import(toml.as_bytes()).unwrap();
        assert_eq!((years.len(), years[0].year, source), (1, 2027, CalendarSource::Toml));
    }

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date(" 2026-02-14 "), NaiveDate::from_ymd_opt(2026, 2, 14));
        for bad in ["2026-2-14", "2026/02/14", "2026-02-30", "+2026-02-1", "20260214", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_data_date("2026-02-30", "").unwrap_err().code, "invalid_date");
    }

    #[test]
    fn the_span_of_days_is_capped() {
        let calendar = WorkCalendar::bundled().unwrap();
        let d = |s| parse_date(s).unwrap();
        assert_eq!(days(&calendar, d("2024-01-01"), d("2024-12-31")).unwrap().len(), 366);
        assert_eq!(days(&calendar, d("2024-01-01"), d("2025-01-01")).unwrap_err().code, "invalid_parameter");
        assert_eq!(days(&calendar, d("2024-01-02"), d("2024-01-01")).unwrap_err().code, "invalid_parameter");
        let err = days(&calendar, d("2019-12-31"), d("2020-01-01")).unwrap_err();
        assert_eq!((err.kind, err.code), (crate::ErrorKind::Invalid, "calendar_year_not_covered"));
    }
}
