//! Documents (附件): files kept for a case, an inspection, a compensation
//! matter, a fund application, a direct-line item, an on-site service
//! request, a visit or a ledger item. The type is decided by the bytes, never by
//! the name or the declared type: PDF, JPEG, PNG, and Word/Excel
//! (DOCX/XLSX: a ZIP package with `[Content_Types].xml` and the main part of
//! its kind). Each file is at most [`MAX_BYTES`]; an owner keeps at most
//! [`MAX_PER_OWNER`] documents that are not withdrawn. Documents are never
//! deleted: a withdrawal (撤回) records who, when and why, and hides the file
//! from lists while the owner's history keeps it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::error::ErrorKind;
use crate::validation::{optional_text, required_text};

/// `812 B`, `35 KB`, `1.2 MB`.
pub fn size_text(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    }
}

/// The largest document.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most documents (not withdrawn) one owner keeps.
pub const MAX_PER_OWNER: u32 = 20;
/// The longest purpose label (用途, e.g. 鉴定评估报告 or a material's name).
pub const PURPOSE_MAX_CHARS: usize = 100;
/// The longest file name kept.
pub const NAME_MAX_CHARS: usize = 100;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What a document belongs to.
    OwnerKind {
        /// A fund application's materials (申报材料).
        FundApplication = "fund_application" / "扶持资金申报",
        /// An enforcement case (执法案件).
        EnforcementCase = "enforcement_case" / "执法案件",
        /// An inspection (检查记录): photos, records.
        Inspection = "inspection" / "检查记录",
        /// A compensation matter (赔偿事项): assessment report, minutes, agreement, remediation assessment.
        CompensationMatter = "compensation_matter" / "损害赔偿事项",
        /// A direct-line item (书记市长直通车): scans of letters (信件扫描件).
        DirectLineItem = "direct_line_item" / "直通车来信",
        /// An on-site service request (行走办): photos and documents of the session.
        OnsiteRequest = "onsite_request" / "上门服务申请",
        /// A visit (走访) or walking-office session: its photos and papers (走访照片).
        Visit = "visit" / "走访记录",
        /// A ledger item (台账条目): the files its file fields name (e.g. 销号验收材料) and others.
        LedgerItem = "ledger_item" / "台账条目",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    /// The types a document may be, by their content type.
    DocumentType {
        Pdf = "application/pdf" / "PDF",
        Jpeg = "image/jpeg" / "JPG 图片",
        Png = "image/png" / "PNG 图片",
        Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document" / "Word 文档",
        Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" / "Excel 表格",
    }
);

impl DocumentType {
    /// The file name extension that matches the type.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
        }
    }
}

/// The type of a file from its first bytes (magic numbers), if it is one we keep.
pub fn sniff(bytes: &[u8]) -> Option<DocumentType> {
    if bytes.starts_with(b"%PDF-") {
        Some(DocumentType::Pdf)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(DocumentType::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(DocumentType::Png)
    } else if bytes.starts_with(b"PK\x03\x04") && contains(bytes, b"[Content_Types].xml") {
        // Entry names are stored uncompressed in the local headers and the central directory.
        if contains(bytes, b"word/document.xml") {
            Some(DocumentType::Docx)
        } else if contains(bytes, b"xl/workbook.xml") {
            Some(DocumentType::Xlsx)
        } else {
            None
        }
    } else {
        None
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A file checked to be kept as a document: its type sniffed, its name cleaned, its digest taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFile {
    pub file_name: String,
    pub content_type: DocumentType,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub content: Vec<u8>,
}

impl DocumentFile {
    /// # Errors
    ///
    /// `empty_file` (422), `document_too_large` (422), `document_type_refused` (422).
    pub fn new(name: Option<&str>, content: Vec<u8>) -> Result<Self, DomainError> {
        if content.is_empty() {
            return Err(DomainError::invalid("empty_file", "上传的文件是空的"));
        }
        if content.len() > MAX_BYTES {
            return Err(too_large());
        }
        let content_type = sniff(&content).ok_or_else(|| {
            DomainError::invalid("document_type_refused", "附件只能是 PDF、JPG、PNG、Word（docx）或 Excel（xlsx）文件")
        })?;
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&content))
        };
        Ok(Self { file_name: clean_name(name, content_type), content_type, sha256, content })
    }
}

/// `document_too_large`: a file over [`MAX_BYTES`].
pub fn too_large() -> DomainError {
    DomainError::invalid("document_too_large", format!("单个附件不能超过 {} MB", MAX_BYTES / 1024 / 1024))
}

/// `too_many_documents`: the owner keeps [`MAX_PER_OWNER`] already.
pub fn too_many() -> DomainError {
    DomainError::invalid("too_many_documents", format!("每项最多保存 {MAX_PER_OWNER} 个附件，请先撤回不需要的附件"))
}

/// `404 unknown_document` (also for a document the caller may not read).
pub fn unknown_document() -> DomainError {
    DomainError::not_found("unknown_document", "附件不存在")
}

/// `409 document_withdrawn`: withdrawn already.
pub fn already_withdrawn() -> DomainError {
    DomainError { kind: ErrorKind::Conflict, code: "document_withdrawn", message: "该附件已撤回".into() }
}

/// The purpose label, trimmed; `None` when empty.
///
/// # Errors
///
/// `text_too_long` when over [`PURPOSE_MAX_CHARS`].
pub fn purpose(text: Option<&str>) -> Result<Option<String>, DomainError> {
    optional_text("用途", text, PURPOSE_MAX_CHARS)
}

/// The reason of a withdrawal, required.
///
/// # Errors
///
/// `text_required`, `text_too_long`.
pub fn withdraw_reason(text: &str) -> Result<String, DomainError> {
    required_text("撤回理由", text, 500)
}

/// A file name safe to store and send back: no directories, no control characters or quotes,
/// at most [`NAME_MAX_CHARS`]; `附件.<ext>` when nothing is left.
fn clean_name(name: Option<&str>, kind: DocumentType) -> String {
    let base = name.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(NAME_MAX_CHARS).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() { format!("附件.{}", kind.extension()) } else { cleaned.to_owned() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(812), "812 B");
        assert_eq!(size_text(35 * 1024), "35 KB");
        assert_eq!(size_text(1_258_291), "1.2 MB");
    }

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    fn zip_with(names: &[&str]) -> Vec<u8> {
        let mut bytes = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
        for name in names {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b"\x00\x01\x02");
        }
        bytes
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n1 0 obj"), Some(DocumentType::Pdf));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(DocumentType::Jpeg));
        assert_eq!(sniff(PNG), Some(DocumentType::Png));
        assert_eq!(sniff(&zip_with(&["[Content_Types].xml", "word/document.xml"])), Some(DocumentType::Docx));
        assert_eq!(sniff(&zip_with(&["[Content_Types].xml", "xl/workbook.xml"])), Some(DocumentType::Xlsx));
    }

    #[test]
    fn text_markup_programs_and_other_zips_are_refused() {
        assert_eq!(sniff("情况说明：排污口位于小榄镇。".as_bytes()), None);
        assert_eq!(sniff(b"<html><script>alert(1)</script></html>"), None);
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00"), None);
        assert_eq!(sniff(b"GIF89a\x01\x00"), None);
        assert_eq!(sniff(&zip_with(&["evil.exe"])), None);
        assert_eq!(sniff(&zip_with(&["[Content_Types].xml", "ppt/presentation.xml"])), None);
        assert_eq!(sniff(b" %PDF-1.7"), None, "the magic number must come first");
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn a_png_named_pdf_is_a_png() {
        let file = DocumentFile::new(Some("现场照片.pdf"), PNG.to_vec()).unwrap();
        assert_eq!(file.content_type, DocumentType::Png);
        assert_eq!(file.file_name, "现场照片.pdf");
        assert_eq!(file.sha256.len(), 64);
    }

    #[test]
    fn empty_large_and_unknown_files_are_refused_with_their_codes() {
        assert_eq!(DocumentFile::new(Some("a.pdf"), Vec::new()).unwrap_err().code, "empty_file");
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(MAX_BYTES + 1, 0);
        assert_eq!(DocumentFile::new(Some("a.pdf"), big).unwrap_err().code, "document_too_large");
        let mut exact = b"%PDF-1.7\n".to_vec();
        exact.resize(MAX_BYTES, 0);
        assert!(DocumentFile::new(Some("a.pdf"), exact).is_ok());
        assert_eq!(DocumentFile::new(Some("a.txt"), b"hello".to_vec()).unwrap_err().code, "document_type_refused");
    }

    #[test]
    fn names_lose_directories_and_control_characters() {
        let file = DocumentFile::new(Some("C:\\tmp\\..\\鉴定\"报告\u{7}.pdf"), b"%PDF-1.4".to_vec()).unwrap();
        assert_eq!(file.file_name, "鉴定报告.pdf");
        let file = DocumentFile::new(Some(" / "), PNG.to_vec()).unwrap();
        assert_eq!(file.file_name, "附件.png");
        let file = DocumentFile::new(None, b"%PDF-1.4".to_vec()).unwrap();
        assert_eq!(file.file_name, "附件.pdf");
    }
}
