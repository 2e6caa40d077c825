//! CSV files as Chinese Excel users save them: UTF-8 with or without a BOM,
//! GB18030 (GBK, the default of "CSV (逗号分隔)" on a Chinese Windows), or
//! UTF-16 with a BOM. Every field is text; [`crate::Record`] types it.

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

use crate::cell::Cell;
use crate::error::{SheetError, codes, too_many_columns, too_many_rows};
use crate::limits::{Limits, human_bytes};
use crate::row::Row;

/// Decodes text: UTF-8 first (a BOM is dropped), then UTF-16 by its BOM,
/// then GB18030. Text with NUL characters is not a CSV file.
pub fn decode_text(bytes: &[u8]) -> Result<String, SheetError> {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        std::str::from_utf8(rest).map(str::to_owned).ok()
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        UTF_16LE.decode_without_bom_handling_and_without_replacement(rest).map(|t| t.into_owned())
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        UTF_16BE.decode_without_bom_handling_and_without_replacement(rest).map(|t| t.into_owned())
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        Some(text.to_owned())
    } else {
        GB18030.decode_without_bom_handling_and_without_replacement(bytes).map(|t| t.into_owned())
    };
    match text {
        Some(text) if !text.contains('\0') => Ok(text),
        _ => Err(SheetError::new(
            codes::UNSUPPORTED_ENCODING,
            "无法识别文件的文字编码：请上传 Excel 工作簿（.xlsx），或 UTF-8 / GBK 编码的 CSV 文件",
        )),
    }
}

/// Opens CSV text held in memory, bounded by `limits` like a workbook.
pub fn open_csv(bytes: &[u8], limits: &Limits) -> Result<CsvRows, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::new(codes::EMPTY_FILE, "文件是空的"));
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(SheetError::new(
            codes::FILE_TOO_LARGE,
            format!("文件过大（{}），不能超过 {}", human_bytes(bytes.len() as u64), human_bytes(limits.max_file_bytes)),
        ));
    }
    Ok(CsvRows { text: decode_text(bytes)?, position: 0, record: 0, limits: *limits, done: false })
}

/// The records of a CSV file as rows; blank lines count as rows (as Excel
/// numbers them) but are not yielded.
pub struct CsvRows {
    text: String,
    position: usize,
    record: u32,
    limits: Limits,
    done: bool,
}

impl CsvRows {
    fn next_row(&mut self) -> Result<Option<Row>, SheetError> {
        while self.position < self.text.len() {
            self.record = self.record.saturating_add(1);
            let fields = self.record_fields()?;
            let cells: Vec<(u32, Cell)> = fields
                .into_iter()
                .zip(1u32..)
                .filter(|(f, _)| !f.is_empty())
                .map(|(f, column)| (column, Cell::Text(unwrap_formula_text(f))))
                .collect();
            let row = Row::new(self.record, cells);
            if row.is_blank() {
                continue;
            }
            if self.record > self.limits.max_rows {
                return Err(too_many_rows(self.record, self.limits.max_rows));
            }
            return Ok(Some(row));
        }
        Ok(None)
    }

    /// The fields of the record at `position`, which then moves past it.
    fn record_fields(&mut self) -> Result<Vec<String>, SheetError> {
        let (row, limits) = (self.record, self.limits);
        let rest = self.text.get(self.position..).unwrap_or("");
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut field_chars = 0usize;
        let mut quoted = false;
        let mut at_field_start = true;
        let mut chars = rest.char_indices().peekable();
        let mut consumed = rest.len();
        while let Some((i, c)) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek().is_some_and(|(_, n)| *n == '"') {
                        chars.next();
                    } else {
                        quoted = false;
                        continue;
                    }
                }
            } else {
                match c {
                    ',' => {
                        push_field(&mut fields, &mut field, row, &limits)?;
                        (field_chars, at_field_start) = (0, true);
                        continue;
                    }
                    '\r' | '\n' => {
                        consumed = i + 1;
                        if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
                            consumed += 1;
                        }
                        break;
                    }
                    '"' if at_field_start => {
                        (quoted, at_field_start) = (true, false);
                        continue;
                    }
                    _ => {}
                }
            }
            at_field_start = false;
            field_chars += 1;
            if field_chars > limits.max_cell_chars {
                return Err(SheetError::new(
                    codes::CELL_TOO_LONG,
                    format!("第{row}行有字段超过 {} 个字符", limits.max_cell_chars),
                ));
            }
            field.push(c);
        }
        if quoted {
            return Err(SheetError::new(codes::MALFORMED_CSV, format!("CSV 第{row}行的引号没有闭合")));
        }
        push_field(&mut fields, &mut field, row, &limits)?;
        self.position += consumed;
        Ok(fields)
    }
}

fn push_field(fields: &mut Vec<String>, field: &mut String, row: u32, limits: &Limits) -> Result<(), SheetError> {
    let column = fields.len() as u32 + 1;
    if column > limits.max_columns && !field.trim().is_empty() {
        return Err(too_many_columns(row, column, limits.max_columns));
    }
    if column > crate::cell::EXCEL_MAX_COLUMN {
        return Err(too_many_columns(row, column, limits.max_columns));
    }
    fields.push(std::mem::take(field));
    Ok(())
}

/// `="00123"`, Excel's way of keeping leading zeros in CSV, is the text `00123`.
fn unwrap_formula_text(field: String) -> String {
    match field.strip_prefix("=\"").and_then(|f| f.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.to_owned(),
        _ => field,
    }
}

impl Iterator for CsvRows {
    type Item = Result<Row, SheetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_row();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}
