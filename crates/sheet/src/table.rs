//! The import layer: a header row found by Chinese column names, typed
//! values per row, and a report of every problem in the file.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::cell::{Cell, column_name, parse_date_text};
use crate::error::{Problem, SheetError, codes};
use crate::row::Row;

/// How many non-blank rows at the top may stand before the header (a title, a note).
const HEADER_SEARCH_ROWS: usize = 5;
/// Problems kept for the answer; the rest are only counted.
const PROBLEMS_KEPT: usize = 1_000;
/// Problems spelled out in the message.
const PROBLEMS_IN_MESSAGE: usize = 5;
/// A cell's value in a problem is cut to this many characters.
const VALUE_CHARS: usize = 40;

/// A column an import reads, by its Chinese name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// Other titles people use for it (e.g. 文号 for 通知文号).
    pub aliases: &'static [&'static str],
    pub required: bool,
}

impl Column {
    pub const fn required(name: &'static str) -> Self {
        Self { name, aliases: &[], required: true }
    }

    pub const fn optional(name: &'static str) -> Self {
        Self { name, aliases: &[], required: false }
    }

    pub const fn aliases(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }

    /// A header cell names this column when, spaces and a required-marker
    /// `*` aside, it is the name or an alias, or begins with one followed by
    /// a note in brackets or after a colon (`日期（YYYY-MM-DD）`).
    fn matches(&self, title: &str) -> bool {
        let title = normalise_title(title);
        std::iter::once(self.name).chain(self.aliases.iter().copied()).any(|name| {
            title == name
                || title
                    .strip_prefix(name)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|c| matches!(c, '(' | '（' | '[' | '【' | ':' | '：'))
        })
    }
}

fn normalise_title(title: &str) -> String {
    let s: String = title.chars().filter(|c| !c.is_whitespace()).collect();
    s.trim_matches(|c| c == '*' || c == '＊').to_owned()
}

/// Rows under a header: each [`Record`] holds the declared columns only.
pub struct Table<'c, I> {
    rows: I,
    columns: &'c [Column],
    /// The 1-based sheet column of each declared column, if present.
    positions: Vec<Option<u32>>,
    header_row: u32,
}

impl<'c, I: Iterator<Item = Result<Row, SheetError>>> Table<'c, I> {
    /// Finds the header among the first non-blank rows: the first that names
    /// every required column. Refused with `empty_sheet`, `header_missing` or
    /// `duplicate_column`.
    pub fn new(mut rows: I, columns: &'c [Column]) -> Result<Self, SheetError> {
        let mut best: Option<(usize, Row)> = None;
        for _ in 0..HEADER_SEARCH_ROWS {
            let Some(row) = rows.next().transpose()? else { break };
            let positions = header_positions(&row, columns)?;
            let complete = columns.iter().zip(&positions).all(|(c, p)| !c.required || p.is_some());
            if complete {
                return Ok(Self { rows, columns, positions, header_row: row.number() });
            }
            let found = positions.iter().filter(|p| p.is_some()).count();
            if best.as_ref().is_none_or(|(n, _)| found > *n) {
                best = Some((found, row));
            }
        }
        match best {
            None => Err(SheetError::new(codes::EMPTY_SHEET, "工作表是空的：没有表头，也没有数据")),
            Some((_, row)) => Err(header_missing(&row, columns)),
        }
    }

    /// The header's row number.
    pub fn header_row(&self) -> u32 {
        self.header_row
    }

    /// Whether the header has this column (optional columns may be absent).
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().zip(&self.positions).any(|(c, p)| c.name == name && p.is_some())
    }
}

fn header_positions(row: &Row, columns: &[Column]) -> Result<Vec<Option<u32>>, SheetError> {
    let mut positions: Vec<Option<u32>> = vec![None; columns.len()];
    for (at, cell) in row.cells() {
        let Some(title) = cell.as_text() else { continue };
        for (slot, column) in positions.iter_mut().zip(columns) {
            if !column.matches(&title) {
                continue;
            }
            if let Some(first) = slot {
                return Err(SheetError::new(
                    codes::DUPLICATE_COLUMN,
                    format!(
                        "表头中“{}”出现了两次（{} 列和 {} 列），请只保留一列",
                        column.name,
                        column_name(*first),
                        column_name(at)
                    ),
                ));
            }
            *slot = Some(at);
        }
    }
    Ok(positions)
}

fn header_missing(row: &Row, columns: &[Column]) -> SheetError {
    let positions = header_positions(row, columns).unwrap_or_default();
    let quote = |names: Vec<&str>| names.iter().map(|n| format!("“{n}”")).collect::<Vec<_>>().join("");
    let required = quote(columns.iter().filter(|c| c.required).map(|c| c.name).collect());
    let missing = quote(
        columns
            .iter()
            .zip(positions.iter().chain(std::iter::repeat(&None)))
            .filter(|(c, p)| c.required && p.is_none())
            .map(|(c, _)| c.name)
            .collect(),
    );
    SheetError::new(
        codes::HEADER_MISSING,
        format!("找不到表头：表头应有{required}这些列，第{}行缺少{missing}", row.number()),
    )
}

impl<'c, I: Iterator<Item = Result<Row, SheetError>>> Iterator for Table<'c, I> {
    type Item = Result<Record<'c>, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = match self.rows.next()? {
            Ok(row) => row,
            Err(e) => return Some(Err(e)),
        };
        let cells = self.positions.iter().map(|p| p.map_or(Cell::Empty, |at| row.get(at).clone())).collect();
        Some(Ok(Record { row: row.number(), cells, columns: self.columns }))
    }
}

/// One data row: the declared columns' cells, typed on request. Problems go
/// to a [`Report`] so the whole file is checked before anything is written.
#[derive(Debug, Clone)]
pub struct Record<'c> {
    row: u32,
    cells: Vec<Cell>,
    columns: &'c [Column],
}

static EMPTY: Cell = Cell::Empty;

impl Record<'_> {
    /// The row number as Excel shows it.
    pub fn row(&self) -> u32 {
        self.row
    }

    /// The cell of a declared column (`Cell::Empty` if absent or unknown).
    pub fn cell(&self, column: &str) -> &Cell {
        self.columns.iter().position(|c| c.name == column).and_then(|i| self.cells.get(i)).unwrap_or(&EMPTY)
    }

    /// The trimmed text of a column; `None` when blank. Whole numbers read
    /// as typed, so codes and phone numbers typed as numbers are kept.
    pub fn text(&self, column: &str) -> Option<String> {
        self.cell(column).as_text()
    }

    /// Text that must be there.
    pub fn required_text(&self, column: &str, report: &mut Report) -> Option<String> {
        let text = self.text(column);
        if text.is_none() {
            self.problem(column, "必须填写", report);
        }
        text
    }

    /// A date: a date cell, a date-time at midnight, or text written
    /// `2026-01-01`, `2026/1/1` or `2026年1月1日`. `None` when blank.
    pub fn date(&self, column: &str, report: &mut Report) -> Option<NaiveDate> {
        let reason = match self.cell(column) {
            Cell::Empty => return None,
            Cell::Date(d) => return Some(*d),
            Cell::DateTime(t) if t.time() == NaiveTime::MIN => return Some(t.date()),
            Cell::DateTime(_) => "应为日期，不能带时间",
            Cell::Text(s) if s.trim().is_empty() => return None,
            Cell::Text(s) => match parse_date_text(s) {
                Some(d) => return Some(d),
                None => "应为真实存在的日期，写成 YYYY-MM-DD（如 2026-01-01）",
            },
            Cell::Number(_) => "是数字；请把单元格设为日期格式，或写成 YYYY-MM-DD 文本",
            _ => "应为日期",
        };
        self.problem(column, reason, report);
        None
    }

    /// A date that must be there.
    pub fn required_date(&self, column: &str, report: &mut Report) -> Option<NaiveDate> {
        if self.cell(column).is_blank() {
            self.problem(column, "必须填写", report);
            return None;
        }
        self.date(column, report)
    }

    /// A date and time: a date-time cell, a date (at midnight), or text
    /// `YYYY-MM-DD HH:MM[:SS]`. `None` when blank.
    pub fn datetime(&self, column: &str, report: &mut Report) -> Option<NaiveDateTime> {
        match self.cell(column) {
            Cell::Empty => None,
            Cell::DateTime(t) => Some(*t),
            Cell::Date(d) => Some(d.and_time(NaiveTime::MIN)),
            Cell::Text(s) if s.trim().is_empty() => None,
            Cell::Text(s) => {
                let s = s.trim();
                let parsed = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                    .or_else(|| parse_date_text(s).map(|d| d.and_time(NaiveTime::MIN)));
                if parsed.is_none() {
                    self.problem(column, "应为日期时间，写成 YYYY-MM-DD HH:MM", report);
                }
                parsed
            }
            _ => {
                self.problem(column, "应为日期时间", report);
                None
            }
        }
    }

    /// A number: a number cell or number text (thousands separators allowed). `None` when blank.
    pub fn number(&self, column: &str, report: &mut Report) -> Option<f64> {
        match self.cell(column) {
            Cell::Empty => None,
            Cell::Number(n) => Some(*n),
            Cell::Text(s) if s.trim().is_empty() => None,
            Cell::Text(s) => {
                let n = s.trim().replace([',', '，'], "").parse::<f64>().ok().filter(|n| n.is_finite());
                if n.is_none() {
                    self.problem(column, "应为数字", report);
                }
                n
            }
            _ => {
                self.problem(column, "应为数字", report);
                None
            }
        }
    }

    /// A whole number. `None` when blank.
    pub fn integer(&self, column: &str, report: &mut Report) -> Option<i64> {
        let n = self.number(column, report)?;
        let whole = (n.fract() == 0.0 && n.abs() < 9.0e15).then_some(n as i64);
        if whole.is_none() {
            self.problem(column, "应为整数", report);
        }
        whole
    }

    /// One of `choices` (as in a drop-down list). `None` when blank.
    pub fn choice<'a>(&self, column: &str, choices: &[&'a str], report: &mut Report) -> Option<&'a str> {
        let text = self.text(column)?;
        let found = choices.iter().find(|c| **c == text).copied();
        if found.is_none() {
            let listed: Vec<String> = choices.iter().map(|c| format!("“{c}”")).collect();
            self.problem(column, &format!("应为{}之一", listed.join("、")), report);
        }
        found
    }

    /// Records a problem of this row's column (for the import's own checks).
    pub fn problem(&self, column: &str, reason: &str, report: &mut Report) {
        let value = self.cell(column).as_text().unwrap_or_default();
        let value = if value.chars().count() > VALUE_CHARS {
            format!("{}…", value.chars().take(VALUE_CHARS).collect::<String>())
        } else {
            value
        };
        report.add(Problem { row: self.row, column: column.to_owned(), value, reason: reason.to_owned() });
    }
}

/// Every problem of a file, so an import can refuse it whole, listing them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    problems: Vec<Problem>,
    total: usize,
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, problem: Problem) {
        self.total += 1;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(problem);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many problems were found (more may have been found than kept).
    pub fn len(&self) -> usize {
        self.total
    }

    /// The first problems found, in file order (at most 1,000).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// `Ok` when nothing was found; otherwise `invalid_rows`, whose message
    /// lists the first few problems and whose `problems` hold them all.
    pub fn into_result(self) -> Result<(), SheetError> {
        if self.is_empty() {
            return Ok(());
        }
        let listed: Vec<String> = self.problems.iter().take(PROBLEMS_IN_MESSAGE).map(ToString::to_string).collect();
        let more = if self.total > PROBLEMS_IN_MESSAGE {
            format!("……（共 {} 处）", self.total)
        } else {
            String::new()
        };
        let message = format!("文件中有 {} 处错误，没有导入任何数据：{}{more}", self.total, listed.join("；"));
        Err(SheetError { code: codes::INVALID_ROWS, message, problems: self.problems })
    }
}
