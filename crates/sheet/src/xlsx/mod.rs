//! .xlsx workbooks: the zip's central directory checked first, then the
//! small parts, then the chosen sheet's rows streamed.

mod parts;
mod sheet;
mod stream;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use parts::{NumberKind, SharedStrings};
use stream::{PartInfo, XmlStream};
use zip::CompressionMethod;

pub use sheet::XlsxRows;

use crate::error::{SheetError, codes};
use crate::limits::{Limits, human_bytes};

/// More parts than any real workbook has (each sheet, drawing, comment is one).
const MAX_PARTS: usize = 10_000;
/// A part inflating more than this many times its compressed size, beyond
/// the limits, is called a zip bomb rather than merely too large.
const BOMB_RATIO: u64 = 100;

pub(crate) fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// The OLE compound file of an old .xls, or of an encrypted .xlsx.
pub(crate) fn looks_like_ole(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

pub(crate) fn legacy_or_encrypted() -> SheetError {
    SheetError::new(
        codes::NOT_XLSX,
        "这是旧版 Excel（.xls）文件或设置了打开密码的工作簿：请在 Excel 中取消密码并另存为 .xlsx 后再导入",
    )
}

fn not_xlsx(why: &str) -> SheetError {
    SheetError::new(codes::NOT_XLSX, format!("不是有效的 Excel 工作簿（.xlsx）：{why}"))
}

/// A worksheet as the workbook lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    pub name: String,
    pub hidden: bool,
    /// The part holding its cells; `None` for a chart sheet or a missing part.
    part: Option<String>,
}

/// What cells need while rows stream: shared strings, date formats, the date system.
pub(crate) struct Context {
    pub strings: SharedStrings,
    pub kinds: Vec<NumberKind>,
    pub date1904: bool,
    pub limits: Limits,
}

/// An opened workbook: its sheet list, shared strings and styles read, no rows yet.
pub struct Workbook<'a> {
    bytes: &'a [u8],
    parts: HashMap<String, PartInfo>,
    sheets: Vec<SheetInfo>,
    context: Arc<Context>,
    /// Declared bytes of the parts read so far, against `max_total_bytes`.
    used: u64,
}

/// Opens an .xlsx workbook held in memory, refusing it before allocating if
/// the file or any part it needs is larger than `limits` allow.
pub fn open_xlsx<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Workbook<'a>, SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::new(codes::EMPTY_FILE, "文件是空的"));
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(SheetError::new(
            codes::FILE_TOO_LARGE,
            format!("文件过大（{}），不能超过 {}", human_bytes(bytes.len() as u64), human_bytes(limits.max_file_bytes)),
        ));
    }
    if looks_like_ole(bytes) {
        return Err(legacy_or_encrypted());
    }
    if !looks_like_zip(bytes) {
        return Err(not_xlsx("请上传 Excel 2007 及以后版本保存的 .xlsx 文件"));
    }
    let parts = central_directory(bytes)?;
    let mut book = Workbook {
        bytes,
        parts,
        sheets: Vec::new(),
        context: Arc::new(Context {
            strings: SharedStrings::default(),
            kinds: Vec::new(),
            date1904: false,
            limits: *limits,
        }),
        used: 0,
    };
    book.read_structure()?;
    Ok(book)
}

/// Every file entry of the zip, by lower-case name (part names ignore case).
fn central_directory(bytes: &[u8]) -> Result<HashMap<String, PartInfo>, SheetError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_xlsx("文件的压缩结构已损坏或不完整"))?;
    if archive.len() > MAX_PARTS {
        return Err(not_xlsx(&format!("压缩包中的文件超过 {MAX_PARTS} 个")));
    }
    let mut parts = HashMap::new();
    for index in 0..archive.len() {
        let file = archive.by_index_raw(index).map_err(|_| not_xlsx("文件的压缩结构已损坏或不完整"))?;
        if file.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(file.name_raw()).replace('\\', "/").trim_start_matches('/').to_owned();
        let method = file.compression();
        let (stored, deflated) = (method == CompressionMethod::Stored, method == CompressionMethod::DEFLATE);
        if file.encrypted() || !(stored || deflated) {
            // Not readable by us; refused only if a needed part is one of these.
            parts.entry(name.to_lowercase()).or_insert(PartInfo {
                name,
                data_start: usize::MAX,
                compressed: 0,
                declared: 0,
                deflated: false,
            });
            continue;
        }
        let data_start = file.data_start().and_then(|s| usize::try_from(s).ok());
        let compressed = usize::try_from(file.compressed_size()).ok();
        let (Some(data_start), Some(compressed)) = (data_start, compressed) else {
            return Err(not_xlsx("文件的压缩结构已损坏或不完整"));
        };
        let info = PartInfo { name: name.clone(), data_start, compressed, declared: file.size(), deflated };
        parts.entry(name.to_lowercase()).or_insert(info);
    }
    Ok(parts)
}

impl<'a> Workbook<'a> {
    /// The worksheets in workbook order.
    pub fn sheets(&self) -> &[SheetInfo] {
        &self.sheets
    }

    /// Rows of the sheet at `index` (0 is the first, as Excel orders the tabs).
    pub fn rows(&mut self, index: usize) -> Result<XlsxRows<'a>, SheetError> {
        let sheet = self
            .sheets
            .get(index)
            .ok_or_else(|| SheetError::new(codes::SHEET_MISSING, format!("工作簿中没有第 {} 个工作表", index + 1)))?;
        let part = sheet.part.clone().ok_or_else(|| {
            SheetError::new(codes::SHEET_MISSING, format!("工作表“{}”不是普通工作表，或它的内容缺失", sheet.name))
        })?;
        let xml = self.stream(&part, false)?;
        Ok(XlsxRows::new(xml, Arc::clone(&self.context)))
    }

    /// Rows of the sheet named `name`.
    pub fn rows_by_name(&mut self, name: &str) -> Result<XlsxRows<'a>, SheetError> {
        let index = self
            .sheets
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| SheetError::new(codes::SHEET_MISSING, format!("工作簿中没有名为“{name}”的工作表")))?;
        self.rows(index)
    }

    /// Rows of the first sheet.
    pub fn into_first_sheet(mut self) -> Result<XlsxRows<'a>, SheetError> {
        if self.sheets.is_empty() {
            return Err(SheetError::new(codes::SHEET_MISSING, "Excel 文件里没有工作表"));
        }
        self.rows(0)
    }

    /// Reads the package and workbook relationships, the sheet list, styles and shared strings.
    fn read_structure(&mut self) -> Result<(), SheetError> {
        let root = self.relationships("")?;
        let workbook_part = root
            .iter()
            .find(|r| r.kind.ends_with("/officeDocument"))
            .map(|r| r.target.clone())
            .filter(|t| self.has(t))
            .unwrap_or_else(|| "xl/workbook.xml".to_owned());
        if !self.has(&workbook_part) {
            return Err(not_xlsx("缺少工作簿内容（xl/workbook.xml）"));
        }
        let relations = self.relationships(&workbook_part)?;
        let (entries, date1904) = parts::workbook(&mut self.stream(&workbook_part, false)?)?;
        let target = |id: &str, kind: &str| {
            relations.iter().find(|r| r.id == id && r.kind.ends_with(kind)).map(|r| r.target.clone())
        };
        self.sheets = entries
            .iter()
            .map(|e| SheetInfo {
                name: e.name.clone(),
                hidden: e.hidden,
                part: target(&e.relationship, "/worksheet").filter(|p| self.has(p)),
            })
            .collect();
        let by_kind = |kind: &str, fallback: &str| {
            relations.iter().find(|r| r.kind.ends_with(kind)).map(|r| r.target.clone()).or(Some(fallback.to_owned()))
        };
        let kinds = match by_kind("/styles", "xl/styles.xml").filter(|p| self.has(p)) {
            Some(part) => parts::styles(&mut self.stream(&part, false)?)?,
            None => Vec::new(),
        };
        let max_chars = self.context.limits.max_cell_chars;
        let strings = match by_kind("/sharedStrings", "xl/sharedStrings.xml").filter(|p| self.has(p)) {
            Some(part) => parts::shared_strings(&mut self.stream(&part, true)?, max_chars)?,
            None => SharedStrings::default(),
        };
        self.context = Arc::new(Context { strings, kinds, date1904, limits: self.context.limits });
        Ok(())
    }

    fn has(&self, part: &str) -> bool {
        self.parts.contains_key(&part.to_lowercase())
    }

    /// The relationships of `source` (`""` for the package), none if it has no rels part.
    fn relationships(&mut self, source: &str) -> Result<Vec<parts::Relationship>, SheetError> {
        let rels = match source.rsplit_once('/') {
            Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
            None if source.is_empty() => "_rels/.rels".to_owned(),
            None => format!("_rels/{source}.rels"),
        };
        if !self.has(&rels) {
            return Ok(Vec::new());
        }
        parts::relationships(&mut self.stream(&rels, false)?, source)
    }

    /// Opens a part for reading once its declared size passes the limits.
    fn stream(&mut self, name: &str, shared_strings: bool) -> Result<XmlStream<'a>, SheetError> {
        let info = self
            .parts
            .get(&name.to_lowercase())
            .ok_or_else(|| SheetError::new(codes::SHEET_MISSING, format!("Excel 文件缺少 {name}")))?;
        if info.data_start == usize::MAX {
            return Err(not_xlsx(&format!("{} 使用了不支持的压缩方式或已加密", info.name)));
        }
        let limits = &self.context.limits;
        let limit = if shared_strings { limits.max_shared_strings_bytes } else { limits.max_part_bytes };
        self.used = self.used.saturating_add(info.declared);
        if info.declared > limit || self.used > limits.max_total_bytes {
            return Err(too_large_part(info, limit.min(limits.max_total_bytes)));
        }
        XmlStream::open(self.bytes, info)
    }
}

fn too_large_part(info: &PartInfo, limit: u64) -> SheetError {
    let ratio = info.declared / (info.compressed as u64).max(1);
    let (code, what): (&'static str, Cow<'_, str>) = if ratio > BOMB_RATIO {
        (codes::ZIP_BOMB, Cow::Owned(format!("压缩比高达 {ratio} 倍，疑似“压缩炸弹”，已拒绝")))
    } else {
        (codes::FILE_TOO_LARGE, Cow::Borrowed("请分成几个文件导入"))
    };
    SheetError::new(
        code,
        format!(
            "文件中的 {} 解压后有 {}，超过上限 {}：{what}",
            info.name,
            human_bytes(info.declared),
            human_bytes(limit)
        ),
    )
}

/// Excel's escapes in text: `_x000D_` is a carriage return, `_x005F_` an underscore.
pub(crate) fn unescape_excel(text: &str) -> Cow<'_, str> {
    if !text.contains("_x") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let code = tail.get(2..6).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match (code, tail.get(6..7)) {
            (Some(hex), Some("_")) => {
                let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
                out.push(c);
                rest = &tail[7..];
            }
            _ => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_escapes() {
        assert_eq!(unescape_excel("a_x000D_b"), "a\rb");
        assert_eq!(unescape_excel("_x005F_x000D_"), "_x000D_");
        assert_eq!(unescape_excel("_x12"), "_x12");
        assert_eq!(unescape_excel("中_x4E2D_"), "中中");
    }
}
