//! Writing workbooks over rust_xlsxwriter: blank import templates (header
//! styled and frozen, text columns formatted as text, drop-down lists) and
//! exports streamed row by row in constant memory. Column widths are
//! computed here, counting a CJK glyph as two (Excel's autofit counts one).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, ExcelDateTime, Format, FormatAlign, FormatBorder, Formula,
    Workbook, Worksheet, XlsxError,
};

use crate::cell::{Cell, format_number};
use crate::error::SheetError;

/// Code of a failure to produce a workbook (a server-side fault, not the user's).
pub const WRITE_FAILED: &str = "write_failed";
/// Excel's limit for a drop-down list written inline (characters with commas).
const INLINE_LIST_LIMIT: usize = 255;
const MAX_WIDTH: usize = 60;
const MIN_WIDTH: usize = 6;
/// Rows below the header a template's formats and drop-downs cover.
pub const TEMPLATE_ROWS: u32 = 1_000;
const EXCEL_MAX_ROWS: u32 = 1_048_576;
const OPTIONS_SHEET: &str = "选项";

/// What a column holds, which decides its number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, also codes, ID numbers and phone numbers (kept as text, never
    /// turned into numbers that lose leading zeros or digits).
    Text,
    Number,
    Integer,
    Date,
    DateTime,
}

/// A column of a template or export.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteColumn {
    pub title: String,
    pub kind: Kind,
    /// The allowed values, offered as a drop-down list in templates.
    pub choices: Vec<String>,
    /// Marked with `*` in templates (the reader ignores the mark).
    pub required: bool,
}

impl WriteColumn {
    pub fn new(title: impl Into<String>, kind: Kind) -> Self {
        Self { title: title.into(), kind, choices: Vec::new(), required: false }
    }

    pub fn text(title: impl Into<String>) -> Self {
        Self::new(title, Kind::Text)
    }

    pub fn choices<S: Into<String>>(self, choices: impl IntoIterator<Item = S>) -> Self {
        Self { choices: choices.into_iter().map(Into::into).collect(), ..self }
    }

    pub fn required(self) -> Self {
        Self { required: true, ..self }
    }

    fn header(&self, template: bool) -> String {
        if template && self.required { format!("*{}", self.title) } else { self.title.clone() }
    }

    fn least_width(&self) -> usize {
        match self.kind {
            Kind::Date => 11,
            Kind::DateTime => 17,
            _ => MIN_WIDTH,
        }
    }
}

/// Display width: East Asian wide and full-width characters count two.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// A column width in Excel's units for text of this display width.
fn width_for(display: usize) -> f64 {
    (display + 2).clamp(MIN_WIDTH, MAX_WIDTH) as f64
}

fn failed(e: XlsxError) -> SheetError {
    SheetError::new(WRITE_FAILED, format!("生成 Excel 文件失败（{e}）"))
}

/// The formats of a sheet: header, and one per column kind.
struct Formats {
    header: Format,
    text: Format,
    integer: Format,
    date: Format,
    datetime: Format,
    general: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            text: Format::new().set_num_format("@"),
            integer: Format::new().set_num_format("0"),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            general: Format::new(),
        }
    }

    fn of(&self, kind: Kind) -> &Format {
        match kind {
            Kind::Text => &self.text,
            Kind::Integer => &self.integer,
            Kind::Date => &self.date,
            Kind::DateTime => &self.datetime,
            Kind::Number => &self.general,
        }
    }
}

fn write_header(
    sheet: &mut Worksheet,
    columns: &[WriteColumn],
    formats: &Formats,
    template: bool,
) -> Result<(), XlsxError> {
    write_header_at(sheet, 0, columns, formats, template)
}

fn write_header_at(
    sheet: &mut Worksheet,
    row: u32,
    columns: &[WriteColumn],
    formats: &Formats,
    template: bool,
) -> Result<(), XlsxError> {
    for (col, column) in (0u16..).zip(columns) {
        sheet.write_string_with_format(row, col, column.header(template), &formats.header)?;
    }
    sheet.set_freeze_panes(row + 1, 0)?;
    Ok(())
}

/// A blank import template: the header (required columns marked `*`),
/// styled and frozen; text columns formatted as text, date columns as dates,
/// and a drop-down list on every column with choices, for `TEMPLATE_ROWS` rows.
pub fn template(sheet_name: &str, columns: &[WriteColumn]) -> Result<Vec<u8>, SheetError> {
    let mut book = Workbook::new();
    let formats = Formats::new();
    let mut options_used = 0u16;
    let mut validations = Vec::new();
    for (col, column) in (0u16..).zip(columns) {
        if column.choices.is_empty() {
            continue;
        }
        let validation = if fits_inline(column) {
            DataValidation::new().allow_list_strings(&column.choices).map_err(failed)?
        } else {
            // Too long for Excel's inline list: the choices go to a hidden sheet.
            let range = options_range(options_used, column.choices.len());
            options_used += 1;
            DataValidation::new().allow_list_formula(Formula::new(range))
        };
        let validation = validation
            .set_error_title("输入有误")
            .map_err(failed)?
            .set_error_message(format!("“{}”请从下拉列表中选择", column.title))
            .map_err(failed)?
            .set_error_style(DataValidationErrorStyle::Stop);
        validations.push((col, validation));
    }
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(failed)?;
    write_header(sheet, columns, &formats, true).map_err(failed)?;
    for (col, column) in (0u16..).zip(columns) {
        let widest = column.choices.iter().map(|c| display_width(c)).max().unwrap_or(0);
        let width = display_width(&column.header(true)).max(widest).max(column.least_width());
        sheet.set_column_width(col, width_for(width)).map_err(failed)?;
        sheet.set_column_format(col, formats.of(column.kind)).map_err(failed)?;
    }
    for (col, validation) in &validations {
        sheet.add_data_validation(1, *col, TEMPLATE_ROWS, *col, validation).map_err(failed)?;
    }
    if options_used > 0 {
        let options = book.add_worksheet();
        options.set_name(OPTIONS_SHEET).map_err(failed)?;
        let long_lists = columns.iter().filter(|c| !c.choices.is_empty() && !fits_inline(c));
        for (col, column) in (0u16..).zip(long_lists) {
            for (row, choice) in (0u32..).zip(&column.choices) {
                options.write_string(row, col, choice).map_err(failed)?;
            }
        }
        options.set_hidden(true);
    }
    book.save_to_buffer().map_err(failed)
}

fn fits_inline(column: &WriteColumn) -> bool {
    display_width(&column.choices.join(",")) <= INLINE_LIST_LIMIT && !column.choices.iter().any(|c| c.contains(','))
}

/// `'选项'!$A$1:$A$N` for the `index`th long list.
fn options_range(index: u16, len: usize) -> String {
    let letter = crate::cell::column_name(u32::from(index) + 1);
    format!("='{OPTIONS_SHEET}'!${letter}$1:${letter}${}", len.max(1))
}

/// An export written row by row in constant memory (rows go to a temporary
/// file, not to memory), with widths sized to the data at the end. A workbook
/// may hold several sheets, written one after the other ([`Export::next_sheet`]).
pub struct Export {
    book: Workbook,
    formats: Formats,
    /// The sheets started, the one written to last.
    sheets: Vec<ExportSheet>,
}

/// One sheet of an export.
struct ExportSheet {
    columns: Vec<WriteColumn>,
    widths: Vec<usize>,
    next_row: u32,
    /// The row of the column header (after the preamble lines).
    header_row: u32,
}

impl Export {
    /// Starts the sheet with its header, styled and frozen.
    pub fn new(sheet_name: &str, columns: Vec<WriteColumn>) -> Result<Self, SheetError> {
        Self::with_preamble(sheet_name, &[], columns)
    }

    /// Starts the sheet with lines of text above the header (a title, the
    /// filter the rows were chosen by, when), one per row in the first
    /// column, then the header, styled and frozen below them.
    pub fn with_preamble(sheet_name: &str, preamble: &[String], columns: Vec<WriteColumn>) -> Result<Self, SheetError> {
        let mut export = Self { book: Workbook::new(), formats: Formats::new(), sheets: Vec::new() };
        export.next_sheet(sheet_name, preamble, columns)?;
        Ok(export)
    }

    /// Starts another sheet as [`Export::with_preamble`] does; rows pushed
    /// from now on go to it (the sheets before it are finished).
    pub fn next_sheet(
        &mut self,
        sheet_name: &str,
        preamble: &[String],
        columns: Vec<WriteColumn>,
    ) -> Result<(), SheetError> {
        let sheet = self.book.add_worksheet_with_constant_memory().map_err(failed)?;
        sheet.set_name(sheet_name).map_err(failed)?;
        let bold = Format::new().set_bold();
        let mut row = 0u32;
        for line in preamble {
            let format = if row == 0 { &bold } else { &self.formats.general };
            sheet.write_string_with_format(row, 0, line, format).map_err(failed)?;
            row += 1;
        }
        write_header_at(sheet, row, &columns, &self.formats, false).map_err(failed)?;
        let widths = columns.iter().map(|c| display_width(&c.title).max(c.least_width())).collect();
        self.sheets.push(ExportSheet { columns, widths, next_row: row + 1, header_row: row });
        Ok(())
    }

    /// Rows written so far to the current sheet, the header and preamble not counted.
    pub fn rows(&self) -> u32 {
        self.sheets.last().map_or(0, |s| s.next_row - s.header_row - 1)
    }

    /// Appends a row to the current sheet (cells past the columns are
    /// ignored). Text columns get text cells whatever the value, so codes
    /// keep their digits.
    pub fn push(&mut self, cells: &[Cell]) -> Result<(), SheetError> {
        let index = self.sheets.len().saturating_sub(1);
        let Some(part) = self.sheets.last_mut() else {
            return Err(failed(XlsxError::UnknownWorksheetNameOrIndex(String::new())));
        };
        if part.next_row >= EXCEL_MAX_ROWS {
            return Err(SheetError::new(
                crate::error::codes::TOO_MANY_ROWS,
                format!("导出的数据超过 Excel 一个工作表的上限（{} 行），请缩小范围", EXCEL_MAX_ROWS - 1),
            ));
        }
        let row = part.next_row;
        let sheet = self.book.worksheet_from_index(index).map_err(failed)?;
        for ((col, column), cell) in (0u16..).zip(&part.columns).zip(cells) {
            let shown = write_cell(sheet, row, col, column.kind, cell, &self.formats).map_err(failed)?;
            if let Some(width) = part.widths.get_mut(usize::from(col)) {
                *width = (*width).max(shown);
            }
        }
        part.next_row += 1;
        Ok(())
    }

    /// The finished workbook.
    pub fn finish(mut self) -> Result<Vec<u8>, SheetError> {
        for (index, part) in self.sheets.iter().enumerate() {
            let sheet = self.book.worksheet_from_index(index).map_err(failed)?;
            for (col, width) in (0u16..).zip(&part.widths) {
                sheet.set_column_width(col, width_for(*width)).map_err(failed)?;
            }
        }
        self.book.save_to_buffer().map_err(failed)
    }
}

/// One line of a CSV file (RFC 4180, CRLF): fields with a comma, quote or
/// line break are quoted, and a field a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let field = field.as_ref();
        let guarded;
        let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            guarded = format!("'{field}");
            guarded.as_str()
        } else {
            field
        };
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push_str("\r\n");
    line
}

/// Writes one cell; answers the display width of what it shows.
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    kind: Kind,
    cell: &Cell,
    formats: &Formats,
) -> Result<usize, XlsxError> {
    let format = formats.of(kind);
    match (kind, cell) {
        (_, Cell::Empty) => return Ok(0),
        (Kind::Text, other) => {
            let text = other.as_text().unwrap_or_default();
            sheet.write_string_with_format(row, col, &text, format)?;
            return Ok(display_width(&text));
        }
        (_, Cell::Text(s)) | (_, Cell::Error(s)) => {
            sheet.write_string(row, col, s)?;
            return Ok(display_width(s));
        }
        (_, Cell::Number(n)) => {
            sheet.write_number_with_format(row, col, *n, format)?;
            return Ok(format_number(*n).len());
        }
        (_, Cell::Bool(b)) => {
            sheet.write_boolean(row, col, *b)?;
        }
        (_, Cell::Date(d)) => {
            let format = if kind == Kind::DateTime { &formats.datetime } else { &formats.date };
            sheet.write_datetime_with_format(row, col, excel_date(d)?, format)?;
        }
        (_, Cell::DateTime(t)) => {
            sheet.write_datetime_with_format(row, col, excel_datetime(t)?, &formats.datetime)?;
        }
    }
    Ok(cell.as_text().map_or(0, |t| display_width(&t)))
}

fn excel_date(d: &NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: &NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond() / 1_000_000) / 1000.0;
    excel_date(&t.date())?.and_hms(t.hour() as u16, t.minute() as u8, seconds)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_quote_what_needs_it_and_defuse_formulas() {
        assert_eq!(
            csv_line(&["a", "b,c", "say \"hi\"", "两行\n文字"]),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"两行\n文字\"\r\n"
        );
        assert_eq!(csv_line(&["=1+1", "+86 138", "@x", "13800138000"]), "'=1+1,'+86 138,'@x,13800138000\r\n");
        assert_eq!(csv_line::<&str>(&[]), "\r\n");
    }

    #[test]
    fn a_preamble_goes_above_the_header() {
        let mut export =
            Export::with_preamble("诉求", &["标题".to_owned(), "筛选：无".to_owned()], vec![WriteColumn::text("编号")])
                .map_err(|e| e.message)
                .expect("export");
        export.push(&[Cell::Text("0012".into())]).map_err(|e| e.message).expect("row");
        assert_eq!(export.rows(), 1);
        assert!(export.finish().is_ok_and(|b| b.starts_with(b"PK")));
    }
}
