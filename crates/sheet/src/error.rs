//! Refusals: a stable machine-readable code and a message in Chinese, plus
//! the problems of every row when the rows themselves were at fault.

use std::fmt;

use mashangban_domain::DomainError;

use crate::cell::column_name;

/// The stable codes of refusals; clients may match on them.
pub mod codes {
    /// The file has no bytes.
    pub const EMPTY_FILE: &str = "empty_file";
    /// The file, or what it decompresses to, is larger than the limit.
    pub const FILE_TOO_LARGE: &str = "file_too_large";
    /// A zip part inflates far beyond its size, or beyond what it declares.
    pub const ZIP_BOMB: &str = "zip_bomb";
    /// More rows than the import allows (or a sheet that declares so many).
    pub const TOO_MANY_ROWS: &str = "too_many_rows";
    /// More columns than the import allows (or a sheet that declares so many).
    pub const TOO_MANY_COLUMNS: &str = "too_many_columns";
    /// A cell holds more characters than Excel itself allows.
    pub const CELL_TOO_LONG: &str = "cell_too_long";
    /// Not an .xlsx workbook (another file type, an old .xls, an encrypted workbook).
    pub const NOT_XLSX: &str = "not_xlsx";
    /// An .xlsx whose parts are damaged (bad XML, a string index out of range, ...).
    pub const MALFORMED_XLSX: &str = "malformed_xlsx";
    /// The workbook has no such worksheet, or its part is missing.
    pub const SHEET_MISSING: &str = "sheet_missing";
    /// The sheet has no rows at all.
    pub const EMPTY_SHEET: &str = "empty_sheet";
    /// No header row with the required column names.
    pub const HEADER_MISSING: &str = "header_missing";
    /// The header names one column twice.
    pub const DUPLICATE_COLUMN: &str = "duplicate_column";
    /// Text in an encoding other than UTF-8, UTF-16 or GB18030 (GBK).
    pub const UNSUPPORTED_ENCODING: &str = "unsupported_encoding";
    /// CSV that cannot be split into fields (an unclosed quote).
    pub const MALFORMED_CSV: &str = "malformed_csv";
    /// Rows with problems; see the problems listed with the refusal.
    pub const INVALID_ROWS: &str = "invalid_rows";
}

/// One problem of one cell (or row), found while reading the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The row number as Excel shows it (1-based).
    pub row: u32,
    /// The column's name as the import knows it (e.g. 日期), or its letter.
    pub column: String,
    /// What the cell holds, as text (shortened when long).
    pub value: String,
    /// Why it is refused, in Chinese.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第{}行", self.row)?;
        if !self.column.is_empty() {
            write!(f, "“{}”", self.column)?;
        }
        write!(f, "：{}", self.reason)?;
        if !self.value.is_empty() {
            write!(f, "（填写的是“{}”）", self.value)?;
        }
        Ok(())
    }
}

/// A refused file: `code` for machines, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetError {
    pub code: &'static str,
    pub message: String,
    /// The rows' problems when `code` is `invalid_rows`; empty otherwise.
    pub problems: Vec<Problem>,
}

impl SheetError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), problems: Vec::new() }
    }
}

impl fmt::Display for SheetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SheetError {}

impl From<SheetError> for DomainError {
    fn from(e: SheetError) -> Self {
        DomainError::invalid(e.code, e.message)
    }
}

pub(crate) fn too_many_rows(row: u32, max: u32) -> SheetError {
    SheetError::new(codes::TOO_MANY_ROWS, format!("数据行数超过上限：第{row}行有内容，本次导入最多 {max} 行"))
}

pub(crate) fn too_many_columns(row: u32, column: u32, max: u32) -> SheetError {
    SheetError::new(
        codes::TOO_MANY_COLUMNS,
        format!(
            "数据列数超过上限：第{row}行的 {} 列有内容，本次导入最多 {max} 列（到 {} 列）",
            column_name(column),
            column_name(max)
        ),
    )
}
