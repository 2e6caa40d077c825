//! A worksheet's rows, streamed from its XML one `<row>` at a time.

use std::sync::Arc;

use chrono::NaiveTime;
use quick_xml::events::Event;

use super::Context;
use super::parts::NumberKind;
use super::stream::{XmlStream, attribute, local, malformed};
use crate::cell::{
    Cell, EXCEL_MAX_COLUMN, EXCEL_MAX_ROW, column_name, excel_serial_to_datetime, parse_iso, parse_reference,
};
use crate::error::{SheetError, codes, too_many_columns, too_many_rows};
use crate::row::Row;

/// The rows of one worksheet that hold a value, in order. Memory is one row
/// (its non-empty cells) at a time, whatever the sheet declares.
pub struct XlsxRows<'a> {
    xml: XmlStream<'a>,
    context: Arc<Context>,
    last_row: u32,
    done: bool,
}

/// What an event of the sheet means to us, owned so the stream is free again.
enum Tag {
    Dimension(Option<String>),
    Row { reference: Option<String>, empty: bool },
    Cell { reference: Option<String>, kind: Option<String>, style: Option<String>, empty: bool },
    Child(String),
    End(String),
    Eof,
    Other,
}

impl<'a> XlsxRows<'a> {
    pub(crate) fn new(xml: XmlStream<'a>, context: Arc<Context>) -> Self {
        Self { xml, context, last_row: 0, done: false }
    }

    fn tag(&mut self) -> Result<Tag, SheetError> {
        let tag = match self.xml.next()? {
            Event::Eof => Tag::Eof,
            Event::End(e) => Tag::End(e.local_name().as_ref().to_owned()),
            Event::Start(e) | Event::Empty(e) if local(&e) == "dimension" => {
                Tag::Dimension(attribute(&e, "ref", false))
            }
            Event::Start(e) if local(&e) == "row" => Tag::Row { reference: attribute(&e, "r", false), empty: false },
            Event::Empty(e) if local(&e) == "row" => Tag::Row { reference: attribute(&e, "r", false), empty: true },
            Event::Start(e) if local(&e) == "c" => cell_tag(&e, false),
            Event::Empty(e) if local(&e) == "c" => cell_tag(&e, true),
            Event::Start(e) => Tag::Child(local(&e).to_owned()),
            _ => Tag::Other,
        };
        Ok(tag)
    }

    fn next_row(&mut self) -> Result<Option<Row>, SheetError> {
        loop {
            match self.tag()? {
                Tag::Eof => return Ok(None),
                Tag::End(name) if name == "sheetData" => return Ok(None),
                Tag::Dimension(Some(reference)) => self.check_dimension(&reference)?,
                Tag::Row { reference, empty } => {
                    let number = self.row_number(reference.as_deref())?;
                    if empty {
                        continue;
                    }
                    let cells = self.read_cells(number)?;
                    let row = Row::new(number, cells);
                    if row.is_blank() {
                        continue;
                    }
                    return Ok(Some(row));
                }
                _ => {}
            }
        }
    }

    /// The row's number: its `r`, or the one after the last.
    fn row_number(&mut self, reference: Option<&str>) -> Result<u32, SheetError> {
        let number = match reference {
            Some(r) => r.trim().parse::<u32>().map_err(|_| malformed(self.xml.part(), &format!("的行号“{r}”无效")))?,
            None => self.last_row + 1,
        };
        if number <= self.last_row || number == 0 || number > EXCEL_MAX_ROW {
            return Err(malformed(self.xml.part(), &format!("的行号 {number} 重复、倒序或超出 Excel 的范围")));
        }
        self.last_row = number;
        Ok(number)
    }

    /// The cells of the row just started, up to its end; empty ones left out.
    fn read_cells(&mut self, row: u32) -> Result<Vec<(u32, Cell)>, SheetError> {
        let mut cells = Vec::new();
        let mut last_column = 0u32;
        loop {
            let (reference, kind, style) = match self.tag()? {
                Tag::End(name) if name == "row" => return Ok(cells),
                Tag::Eof => return Err(malformed(self.xml.part(), "在一行结束前就结束了")),
                Tag::Cell { reference, kind, style, empty } => {
                    if empty {
                        last_column = self.column(reference.as_deref(), row, last_column)?;
                        continue;
                    }
                    (reference, kind, style)
                }
                Tag::Child(_) => {
                    self.xml.skip_element()?;
                    continue;
                }
                _ => continue,
            };
            let column = self.column(reference.as_deref(), row, last_column)?;
            last_column = column;
            let (value, inline) = self.cell_content()?;
            let cell = self.cell_value(kind.as_deref(), style.as_deref(), value, inline, row, column)?;
            if cell == Cell::Empty {
                continue;
            }
            if row > self.context.limits.max_rows && !cell.is_blank() {
                return Err(too_many_rows(row, self.context.limits.max_rows));
            }
            if column > self.context.limits.max_columns && !cell.is_blank() {
                return Err(too_many_columns(row, column, self.context.limits.max_columns));
            }
            cells.push((column, cell));
        }
    }

    /// The cell's column: from its reference, or the one after the last.
    fn column(&self, reference: Option<&str>, row: u32, last: u32) -> Result<u32, SheetError> {
        let column = match reference {
            Some(r) => match parse_reference(r) {
                Some((r_row, column)) if r_row == row || r_row == 0 => column,
                _ => return Err(malformed(self.xml.part(), &format!("第{row}行的单元格位置“{r}”无效"))),
            },
            None => last + 1,
        };
        if column <= last || column > EXCEL_MAX_COLUMN {
            return Err(malformed(self.xml.part(), &format!("第{row}行的单元格重复、倒序或超出 Excel 的范围")));
        }
        Ok(column)
    }

    /// The `<v>` and `<is>` text of the cell just started (its formula is skipped).
    fn cell_content(&mut self) -> Result<(Option<String>, Option<String>), SheetError> {
        let max = self.context.limits.max_cell_chars;
        let (mut value, mut inline) = (None, None);
        loop {
            match self.tag()? {
                Tag::End(name) if name == "c" => return Ok((value, inline)),
                Tag::Eof => return Err(malformed(self.xml.part(), "在单元格结束前就结束了")),
                Tag::Child(name) if name == "v" => value = Some(self.xml.element_text(max)?),
                Tag::Child(name) if name == "is" => inline = Some(self.xml.element_text(max)?),
                Tag::Child(_) => self.xml.skip_element()?,
                Tag::Row { .. } | Tag::Cell { .. } => {
                    return Err(malformed(self.xml.part(), "的单元格结构错误"));
                }
                _ => {}
            }
        }
    }

    fn cell_value(
        &self,
        kind: Option<&str>,
        style: Option<&str>,
        value: Option<String>,
        inline: Option<String>,
        row: u32,
        column: u32,
    ) -> Result<Cell, SheetError> {
        let at = || format!("{}{row}", column_name(column));
        let text = |s: String| if s.is_empty() { Cell::Empty } else { Cell::Text(s) };
        let cell = match kind {
            Some("s") => {
                let raw = value.unwrap_or_default();
                let index = raw.trim().parse::<usize>().ok();
                let strings = &self.context.strings;
                match index.and_then(|i| strings.get(i)) {
                    Some(s) => text(s.to_owned()),
                    None => {
                        return Err(malformed(
                            self.xml.part(),
                            &format!(
                                "的单元格 {} 引用了不存在的共享字符串（编号“{raw}”，共有 {} 个）",
                                at(),
                                strings.len()
                            ),
                        ));
                    }
                }
            }
            Some("inlineStr") => text(super::unescape_excel(&inline.or(value).unwrap_or_default()).into_owned()),
            Some("str") => text(super::unescape_excel(&value.unwrap_or_default()).into_owned()),
            Some("b") => match value.as_deref().map(str::trim) {
                Some("1" | "true") => Cell::Bool(true),
                Some("0" | "false") => Cell::Bool(false),
                None | Some("") => Cell::Empty,
                Some(other) => {
                    return Err(malformed(self.xml.part(), &format!("的单元格 {} 的逻辑值“{other}”无效", at())));
                }
            },
            Some("e") => value.map_or(Cell::Empty, Cell::Error),
            Some("d") => match value {
                Some(v) => parse_iso(&v).unwrap_or(Cell::Text(v)),
                None => Cell::Empty,
            },
            None | Some("n") => match value.as_deref().map(str::trim) {
                None | Some("") => Cell::Empty,
                Some(v) => {
                    let n = v
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| malformed(self.xml.part(), &format!("的单元格 {} 的数值“{v}”无效", at())))?;
                    self.number(n, style)
                }
            },
            Some(other) => {
                return Err(malformed(self.xml.part(), &format!("的单元格 {} 的类型“{other}”无效", at())));
            }
        };
        Ok(cell)
    }

    /// A number, or a date when its format shows a date.
    fn number(&self, n: f64, style: Option<&str>) -> Cell {
        let kind = style
            .and_then(|s| s.trim().parse::<usize>().ok())
            .and_then(|s| self.context.kinds.get(s).copied())
            .unwrap_or(NumberKind::Plain);
        if kind != NumberKind::Date {
            return Cell::Number(n);
        }
        match excel_serial_to_datetime(n, self.context.date1904) {
            Some(t) if t.time() == NaiveTime::MIN => Cell::Date(t.date()),
            Some(t) => Cell::DateTime(t),
            None => Cell::Number(n),
        }
    }

    /// A sheet that declares more rows or columns than allowed is refused
    /// before any row is read.
    fn check_dimension(&self, reference: &str) -> Result<(), SheetError> {
        let limits = &self.context.limits;
        let Some((rows, columns)) = reference.rsplit(':').next().and_then(parse_reference) else {
            return Ok(());
        };
        let why = format!(
            "工作表声明的使用范围为 {reference}，超出了本次导入的上限（最多 {} 行、{} 列）；\
             请删除多余的行和列，或把数据复制到新的工作表后再导入",
            limits.max_rows, limits.max_columns
        );
        if rows > limits.max_rows {
            return Err(SheetError::new(codes::TOO_MANY_ROWS, why));
        }
        if columns > limits.max_columns {
            return Err(SheetError::new(codes::TOO_MANY_COLUMNS, why));
        }
        Ok(())
    }
}

fn cell_tag(e: &quick_xml::events::BytesStart<'_>, empty: bool) -> Tag {
    Tag::Cell {
        reference: attribute(e, "r", false),
        kind: attribute(e, "t", false),
        style: attribute(e, "s", false),
        empty,
    }
}

impl Iterator for XlsxRows<'_> {
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
