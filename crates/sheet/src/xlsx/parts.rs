//! The small parts read before any row: relationships, the workbook's sheet
//! list, the styles (which cells are dates) and the shared strings.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::stream::{XmlStream, attribute, local, malformed};
use crate::error::SheetError;

/// One relationship of a part: where it points and what it is.
pub(crate) struct Relationship {
    pub id: String,
    pub kind: String,
    pub target: String,
}

/// The relationships of `source` (e.g. `xl/workbook.xml`), targets resolved to part names.
pub(crate) fn relationships(xml: &mut XmlStream<'_>, source: &str) -> Result<Vec<Relationship>, SheetError> {
    let mut out = Vec::new();
    loop {
        match xml.next()? {
            Event::Eof => return Ok(out),
            Event::Start(e) | Event::Empty(e) if local(&e) == "Relationship" => {
                if attribute(&e, "TargetMode", false).is_some_and(|m| m.eq_ignore_ascii_case("External")) {
                    continue;
                }
                let (Some(id), Some(kind), Some(target)) =
                    (attribute(&e, "Id", false), attribute(&e, "Type", false), attribute(&e, "Target", false))
                else {
                    continue;
                };
                out.push(Relationship { id, kind, target: resolve_target(source, &target) });
            }
            _ => {}
        }
    }
}

/// A target relative to its source part's folder (`worksheets/sheet1.xml`
/// from `xl/workbook.xml` is `xl/worksheets/sheet1.xml`), or absolute (`/xl/...`).
pub(crate) fn resolve_target(source: &str, target: &str) -> String {
    let target = target.replace('\\', "/");
    let mut parts: Vec<&str> = if let Some(absolute) = target.strip_prefix('/') {
        return normalise(absolute.split('/').collect());
    } else {
        source.rsplit_once('/').map(|(dir, _)| dir.split('/').collect()).unwrap_or_default()
    };
    parts.extend(target.split('/'));
    normalise(parts)
}

fn normalise(parts: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

/// A sheet as the workbook lists it.
pub(crate) struct SheetEntry {
    pub name: String,
    pub relationship: String,
    pub hidden: bool,
}

/// The workbook's sheets in order, and whether it counts dates from 1904.
pub(crate) fn workbook(xml: &mut XmlStream<'_>) -> Result<(Vec<SheetEntry>, bool), SheetError> {
    let mut sheets = Vec::new();
    let mut date1904 = false;
    loop {
        match xml.next()? {
            Event::Eof => return Ok((sheets, date1904)),
            Event::Start(e) | Event::Empty(e) => match local(&e) {
                "workbookPr" => {
                    date1904 = attribute(&e, "date1904", false).is_some_and(|v| v == "1" || v == "true");
                }
                "sheet" => {
                    let name = attribute(&e, "name", false).unwrap_or_default();
                    let hidden = attribute(&e, "state", false).is_some_and(|s| s != "visible");
                    if let Some(relationship) = attribute(&e, "id", true) {
                        sheets.push(SheetEntry { name, relationship, hidden });
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// How a cell's number format shows its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Plain,
    /// A date, possibly with a time of day.
    Date,
    /// A time of day or a duration alone: left a number.
    Time,
}

/// The kind of every cell format (`s` attribute of a cell indexes this).
pub(crate) fn styles(xml: &mut XmlStream<'_>) -> Result<Vec<NumberKind>, SheetError> {
    let mut custom: HashMap<u32, NumberKind> = HashMap::new();
    let mut kinds = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        match xml.next()? {
            Event::Eof => return Ok(kinds),
            Event::Start(e) | Event::Empty(e) if local(&e) == "numFmt" => {
                let id = attribute(&e, "numFmtId", false).and_then(|v| v.parse::<u32>().ok());
                if let (Some(id), Some(code)) = (id, attribute(&e, "formatCode", false)) {
                    custom.insert(id, classify_format(&code));
                }
            }
            Event::Start(e) if local(&e) == "cellXfs" => in_cell_xfs = true,
            Event::End(e) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Event::Start(e) | Event::Empty(e) if in_cell_xfs && local(&e) == "xf" => {
                let id = attribute(&e, "numFmtId", false).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                kinds.push(custom.get(&id).copied().unwrap_or_else(|| builtin_format(id)));
            }
            _ => {}
        }
    }
}

/// Excel's built-in formats, as a Chinese (zh-CN) Excel shows them: 14–17,
/// 22, 27–31, 36, 50–54, 57, 58 are dates; 18–21, 32–35, 45–47, 55, 56 times.
fn builtin_format(id: u32) -> NumberKind {
    match id {
        14..=17 | 22 | 27..=31 | 36 | 50..=54 | 57 | 58 => NumberKind::Date,
        18..=21 | 32..=35 | 45..=47 | 55 | 56 => NumberKind::Time,
        _ => NumberKind::Plain,
    }
}

/// Whether a format code shows a date: quoted text, escapes, `[...]`
/// (colours, locales) and fill characters are ignored; `y`, `d`, `e` (year)
/// or `m` without `h`/`s` mean a date; `h`, `s` alone a time.
pub(crate) fn classify_format(code: &str) -> NumberKind {
    let section = code.split(';').next().unwrap_or("");
    if section.eq_ignore_ascii_case("general") || section == "@" {
        return NumberKind::Plain;
    }
    let mut letters = String::new();
    let mut elapsed = false;
    let mut chars = section.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                }
            }
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                elapsed |= matches!(inner.to_ascii_lowercase().chars().next(), Some('h' | 'm' | 's'));
            }
            'E' | 'e' if matches!(chars.peek(), Some('+' | '-')) => {}
            c => letters.push(c.to_ascii_lowercase()),
        }
    }
    let has = |c: char| letters.contains(c);
    let time = has('h') || has('s') || elapsed;
    if has('y') || has('d') || has('e') || (has('m') && !time) {
        NumberKind::Date
    } else if time {
        NumberKind::Time
    } else {
        NumberKind::Plain
    }
}

/// The shared strings, in one buffer: memory is the text plus 4 bytes a string.
#[derive(Default)]
pub(crate) struct SharedStrings {
    text: String,
    ends: Vec<u32>,
}

impl SharedStrings {
    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)? as usize;
        let start = match index.checked_sub(1) {
            Some(previous) => *self.ends.get(previous)? as usize,
            None => 0,
        };
        self.text.get(start..end)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    fn push(&mut self, s: &str) -> Result<(), ()> {
        self.text.push_str(s);
        let end = u32::try_from(self.text.len()).map_err(|_| ())?;
        self.ends.push(end);
        Ok(())
    }
}

/// Reads `<sst>`: each `<si>` is one string (rich-text runs joined, phonetic runs left out).
pub(crate) fn shared_strings(xml: &mut XmlStream<'_>, max_chars: usize) -> Result<SharedStrings, SheetError> {
    let mut strings = SharedStrings::default();
    loop {
        let is_item = match xml.next()? {
            Event::Eof => return Ok(strings),
            Event::Start(e) => local(&e) == "si",
            Event::Empty(e) => {
                if local(&e) == "si" {
                    strings.push("").map_err(|()| too_many_strings(xml.part()))?;
                }
                false
            }
            _ => false,
        };
        if is_item {
            let raw = xml.element_text(max_chars)?;
            strings.push(&super::unescape_excel(&raw)).map_err(|()| too_many_strings(xml.part()))?;
        }
    }
}

fn too_many_strings(part: &str) -> SheetError {
    malformed(part, "的共享字符串超过 4 GB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(classify_format("yyyy-mm-dd"), NumberKind::Date);
        assert_eq!(classify_format("yyyy\"年\"m\"月\"d\"日\""), NumberKind::Date);
        assert_eq!(classify_format("[$-804]yyyy/m/d h:mm"), NumberKind::Date);
        assert_eq!(classify_format("h:mm:ss"), NumberKind::Time);
        assert_eq!(classify_format("[h]:mm"), NumberKind::Time);
        assert_eq!(classify_format("mm:ss"), NumberKind::Time);
        assert_eq!(classify_format("General"), NumberKind::Plain);
        assert_eq!(classify_format("0.00E+00"), NumberKind::Plain);
        assert_eq!(classify_format("#,##0.00_);[Red](#,##0.00)"), NumberKind::Plain);
        assert_eq!(classify_format("\"day\" 0"), NumberKind::Plain);
        assert_eq!(classify_format("mmm"), NumberKind::Date);
        assert_eq!(builtin_format(14), NumberKind::Date);
        assert_eq!(builtin_format(31), NumberKind::Date);
        assert_eq!(builtin_format(20), NumberKind::Time);
        assert_eq!(builtin_format(49), NumberKind::Plain);
    }

    #[test]
    fn targets() {
        assert_eq!(resolve_target("xl/workbook.xml", "worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
        assert_eq!(resolve_target("xl/workbook.xml", "/xl/worksheets/sheet2.xml"), "xl/worksheets/sheet2.xml");
        assert_eq!(resolve_target("", "xl/workbook.xml"), "xl/workbook.xml");
        assert_eq!(resolve_target("xl/workbook.xml", "../x/../y.xml"), "y.xml");
    }
}
