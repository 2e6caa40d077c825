//! Holiday data from an Excel workbook (.xlsx): the first sheet, a header row
//! `日期 | 类型 | 名称` (optionally `通知文号`), then one row per date; dates as
//! Excel dates or `YYYY-MM-DD` text, types `放假` or `调休上班`.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};
use chrono::{NaiveDate, NaiveTime};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::{HolidayYear, codes};

/// The most data rows read (a year has about forty).
const MAX_ROWS: usize = 5000;
const HOLIDAY: &str = "放假";
const MAKEUP: &str = "调休上班";

/// Where the columns are, from the header row.
struct Columns {
    date: usize,
    kind: usize,
    name: usize,
    notice: Option<usize>,
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
    let range = first_sheet(bytes)?;
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    let mut rows = range.rows().enumerate().filter(|(_, cells)| !cells.iter().all(is_blank));
    let Some((_, header)) = rows.next() else {
        return Err(invalid("Excel 工作表是空的：第一行应为表头“日期 | 类型 | 名称”，之后每行一个日期"));
    };
    let columns = columns(header)?;
    let mut years: BTreeMap<i32, HolidayYear> = BTreeMap::new();
    for (count, (index, cells)) in rows.enumerate() {
        if count >= MAX_ROWS {
            return Err(invalid(format!("Excel 数据行过多（超过{MAX_ROWS}行）")));
        }
        let entry = entry(cells, &columns, first_row + index + 1)?;
        add(&mut years, entry)?;
    }
    if years.is_empty() {
        return Err(invalid("Excel 工作表只有表头，没有任何日期"));
    }
    let years: Vec<HolidayYear> = years.into_values().collect();
    for year in &years {
        year.validate()?;
    }
    Ok(years)
}

fn first_sheet(bytes: &[u8]) -> Result<Range<Data>, DomainError> {
    let unreadable = |e: &dyn std::fmt::Display| invalid(format!("无法读取 Excel 文件（.xlsx）：{e}"));
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    match workbook.worksheet_range_at(0) {
        Some(Ok(range)) => Ok(range),
        Some(Err(e)) => Err(unreadable(&e)),
        None => Err(invalid("Excel 文件里没有工作表")),
    }
}

fn columns(header: &[Data]) -> Result<Columns, DomainError> {
    let find = |title: &str| header.iter().position(|c| text(c).is_some_and(|t| t.starts_with(title)));
    match (find("日期"), find("类型"), find("名称")) {
        (Some(date), Some(kind), Some(name)) => {
            Ok(Columns { date, kind, name, notice: find("通知文号").or_else(|| find("文号")) })
        }
        _ => Err(invalid("Excel 第一行应为表头“日期 | 类型 | 名称”（可另加一列“通知文号”）")),
    }
}

fn entry(cells: &[Data], columns: &Columns, row: usize) -> Result<Entry, DomainError> {
    let cell = |i: usize| cells.get(i).unwrap_or(&Data::Empty);
    let date = date(cell(columns.date), row)?;
    let makeup = match text(cell(columns.kind)).as_deref() {
        Some(HOLIDAY) => false,
        Some(MAKEUP) => true,
        Some(other) => {
            return Err(invalid(format!("第{row}行的类型“{other}”不正确，应为“{HOLIDAY}”或“{MAKEUP}”")));
        }
        None => return Err(invalid(format!("第{row}行缺少类型（“{HOLIDAY}”或“{MAKEUP}”）"))),
    };
    let name = text(cell(columns.name)).ok_or_else(|| invalid(format!("第{row}行缺少名称（如“春节”）")))?;
    let notice = columns.notice.and_then(|i| text(cell(i)));
    Ok(Entry { date, makeup, name, notice })
}

/// An Excel date (no time of day) or `YYYY-MM-DD` text.
fn date(cell: &Data, row: usize) -> Result<NaiveDate, DomainError> {
    let context = format!("第{row}行的");
    match cell {
        Data::DateTime(dt) if dt.is_datetime() => dt
            .as_datetime()
            .filter(|t| t.time() == NaiveTime::MIN)
            .map(|t| t.date())
            .ok_or_else(|| bad_date(row, "不是一个整天的日期")),
        Data::String(s) | Data::DateTimeIso(s) => super::parse_data_date(s, &context),
        Data::Empty => Err(bad_date(row, "缺少日期")),
        Data::Int(_) | Data::Float(_) => Err(bad_date(row, "是数字；请把单元格设为日期格式，或写成 YYYY-MM-DD 文本")),
        _ => Err(bad_date(row, "应为日期或 YYYY-MM-DD 文本")),
    }
}

fn bad_date(row: usize, what: &str) -> DomainError {
    DomainError::invalid(codes::INVALID_DATE, format!("第{row}行的日期{what}"))
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

/// The trimmed text of a cell; `None` when blank.
fn text(cell: &Data) -> Option<String> {
    let s = match cell {
        Data::Empty => return None,
        Data::String(s) => s.trim().to_owned(),
        other => other.to_string().trim().to_owned(),
    };
    (!s.is_empty()).then_some(s)
}

fn is_blank(cell: &Data) -> bool {
    text(cell).is_none()
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_CALENDAR, message)
}
