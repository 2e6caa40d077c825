//! The one spreadsheet reader every import of mashangban uses (calendar
//! today; enterprise registry, ledgers and statistics next), and the helpers
//! that write templates and exports.
//!
//! Reading is bounded before anything is allocated from what a file declares:
//! the file size, each zip part's declared and actual decompressed size (a
//! part that inflates past its declared size is a zip bomb), the sheet's
//! declared dimension, its rows, columns and cell lengths ([`Limits`]). Rows
//! are streamed from the sheet XML ([`Rows`]); nothing holds a dense range, so
//! a single cell at XFD1048576 costs one cell. CSV (UTF-8, with or without a
//! BOM, or GB18030 as Chinese Excel saves it) yields the same [`Row`]s.
//!
//! [`Table`] finds a header row by Chinese column names (with aliases) and
//! gives typed values per row; problems go into a [`Report`] for the whole file,
//! so an import writes nothing unless every row is valid. Every refusal has a
//! stable code ([`codes`]) and a message in Chinese.

mod cell;
mod csv;
mod error;
mod limits;
mod row;
mod table;
pub mod write;
mod xlsx;

pub use cell::{Cell, column_name, excel_serial_to_datetime, format_number};
pub use csv::{CsvRows, decode_text, open_csv};
pub use error::{Problem, SheetError, codes};
pub use limits::Limits;
pub use row::Row;
pub use table::{Column, Record, Report, Table};
pub use xlsx::{SheetInfo, Workbook, XlsxRows, open_xlsx};

/// Rows of an upload, whichever form it came in.
pub enum Rows<'a> {
    Xlsx(Box<XlsxRows<'a>>),
    Csv(CsvRows),
}

/// The form an upload came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Rows<'_> {
    pub fn format(&self) -> Format {
        match self {
            Rows::Xlsx(_) => Format::Xlsx,
            Rows::Csv(_) => Format::Csv,
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Xlsx(rows) => rows.next(),
            Rows::Csv(rows) => rows.next(),
        }
    }
}

/// Opens an upload by its content: an .xlsx workbook (its first sheet) or CSV
/// text. An old binary .xls (or an encrypted workbook) is refused as `not_xlsx`.
pub fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Rows<'a>, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::new(codes::EMPTY_FILE, "文件是空的"));
    }
    if xlsx::looks_like_zip(bytes) {
        let workbook = open_xlsx(bytes, limits)?;
        return Ok(Rows::Xlsx(Box::new(workbook.into_first_sheet()?)));
    }
    if xlsx::looks_like_ole(bytes) {
        return Err(xlsx::legacy_or_encrypted());
    }
    Ok(Rows::Csv(open_csv(bytes, limits)?))
}
