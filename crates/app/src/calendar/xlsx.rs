//! Holiday data from an Excel workbook (.xlsx): the first sheet, a header row
//! `日期 | 类型 | 名称` (optionally `通知文号`), then one row per date; dates as
//! Excel dates or `YYYY-MM-DD` text, types `放假` or `调休上班`.
//!
//! Read through `mashangban_sheet`, bounded before anything is allocated; every
//! row is checked and all problems are reported together, nothing stored unless
//! the whole file is valid.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::{HolidayYear, codes};
use mashangban_sheet::{Cell, Column, Limits, Record, Report, SheetError, Table, open_xlsx};

/// The most data rows read (a year has about forty).
const MAX_ROWS: usize = 5000;
const HOLIDAY: &str = "放假";
const MAKEUP: &str = "调休上班";
const DATE: &str = "日期";
const KIND: &str = "类型";
const NAME: &str = "名称";
const NOTICE: &str = "通知文号";

const COLUMNS: [Column; 4] = [
    Column::required(DATE),
    Column::required(KIND),
    Column::required(NAME),
    Column::optional(NOTICE).aliases(&["文号"]),
];

/// What a holiday workbook may hold: a few thousand rows, a few columns, a
/// few megabytes (the upload limit is 2 MB).
fn limits() -> Limits {
    Limits::default().file_bytes(4 * 1024 * 1024).part_bytes(32 * 1024 * 1024).rows(10_000).columns(64)
}

/// One data row.
struct Entry {
    date: NaiveDate,
    makeup: bool,
    name: String,
    notice: Option<String>,
}

/// Parses and validates the workbook; the years come back sorted.
pub(super) fn parse(bytes: &[u8]) -> Result<Vec<HolidayYear>, DomainError> {
    let rows = open_xlsx(bytes, &limits())?.into_first_sheet()?;
    let table = Table::new(rows, &COLUMNS).map_err(header_error)?;
    let mut report = Report::new();
    let mut entries = Vec::new();
    for (count, record) in table.enumerate() {
        if count >= MAX_ROWS {
            return Err(invalid(format!("Excel 数据行过多（超过{MAX_ROWS}行）")));
        }
        if let Some(entry) = entry(&record?, &mut report) {
            entries.push(entry);
        }
    }
    if !report.is_empty() {
        return Err(rows_error(report));
    }
    if entries.is_empty() {
        return Err(invalid("Excel 工作表只有表头，没有任何日期"));
    }
    let mut years: BTreeMap<i32, HolidayYear> = BTreeMap::new();
    for entry in entries {
        add(&mut years, entry)?;
    }
    let years: Vec<HolidayYear> = years.into_values().collect();
    for year in &years {
        year.validate()?;
    }
    Ok(years)
}

/// An empty sheet or a missing header keeps the calendar's own code and wording.
fn header_error(e: SheetError) -> DomainError {
    use mashangban_sheet::codes::{EMPTY_SHEET, HEADER_MISSING};
    match e.code {
        EMPTY_SHEET => invalid("Excel 工作表是空的：第一行应为表头“日期 | 类型 | 名称”，之后每行一个日期"),
        HEADER_MISSING => {
            invalid(format!("Excel 第一行应为表头“日期 | 类型 | 名称”（可另加一列“通知文号”）；{}", e.message))
        }
        _ => e.into(),
    }
}

/// All rows' problems in one refusal: `invalid_date` when the first is a date's, else `invalid_calendar`.
fn rows_error(report: Report) -> DomainError {
    let code = match report.problems().first() {
        Some(p) if p.column == DATE => codes::INVALID_DATE,
        _ => codes::INVALID_CALENDAR,
    };
    match report.into_result() {
        Err(e) => DomainError::invalid(code, e.message),
        Ok(()) => invalid("Excel 文件有错误"),
    }
}

fn entry(record: &Record<'_>, report: &mut Report) -> Option<Entry> {
    let date = date(record, report);
    let makeup = match record.text(KIND).as_deref() {
        Some(HOLIDAY) => Some(false),
        Some(MAKEUP) => Some(true),
        Some(_) => {
            record.problem(KIND, &format!("不正确，应为“{HOLIDAY}”或“{MAKEUP}”"), report);
            None
        }
        None => {
            record.problem(KIND, &format!("缺少类型（“{HOLIDAY}”或“{MAKEUP}”）"), report);
            None
        }
    };
    let name = record.text(NAME);
    if name.is_none() {
        record.problem(NAME, "缺少名称（如“春节”）", report);
    }
    Some(Entry { date: date?, makeup: makeup?, name: name?, notice: record.text(NOTICE) })
}

/// An Excel date (no time of day) or `YYYY-MM-DD` text.
fn date(record: &Record<'_>, report: &mut Report) -> Option<NaiveDate> {
    let reason = match record.cell(DATE) {
        Cell::Date(d) => return Some(*d),
        Cell::DateTime(t) if t.time() == NaiveTime::MIN => return Some(t.date()),
        Cell::DateTime(_) => "不是一个整天的日期",
        Cell::Text(s) => match super::parse_date(s) {
            Some(d) => return Some(d),
            None => "应写成 YYYY-MM-DD（例如 2026-01-01），且必须是真实存在的日期",
        },
        Cell::Empty => "缺少日期",
        Cell::Number(_) => "是数字；请把单元格设为日期格式，或写成 YYYY-MM-DD 文本",
        _ => "应为日期或 YYYY-MM-DD 文本",
    };
    record.problem(DATE, reason, report);
    None
}

fn add(years: &mut BTreeMap<i32, HolidayYear>, entry: Entry) -> Result<(), DomainError> {
    use chrono::Datelike;
    let year = entry.date.year();
    let y = years.entry(year).or_insert_with(|| HolidayYear {
        year,
        notice: None,
        holidays: Vec::new(),
        makeup_workdays: Vec::new(),
    });
    match (&y.notice, entry.notice) {
        (Some(a), Some(b)) if *a != b => {
            return Err(invalid(format!("{year}年的通知文号前后不一致：“{a}”和“{b}”")));
        }
        (None, Some(b)) => y.notice = Some(b),
        _ => {}
    }
    let list = if entry.makeup { &mut y.makeup_workdays } else { &mut y.holidays };
    list.push((entry.date, entry.name));
    Ok(())
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_CALENDAR, message)
}
