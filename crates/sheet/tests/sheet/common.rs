//! Workbooks made by hand with the zip crate, as an attacker (or a broken
//! exporter) would make them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Write};

use mashangban_sheet::{Cell, Row, SheetError};
use zip::write::SimpleFileOptions;

pub const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
pub const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
pub const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
pub const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
pub const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// A sheet body in the namespace Excel uses.
pub fn sheet(body: &str) -> String {
    format!("{SHEET_START}{body}</worksheet>")
}

/// Shared strings from plain texts.
pub fn shared_strings(texts: &[&str]) -> String {
    let items: String = texts.iter().map(|t| format!("<si><t>{t}</t></si>")).collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">{items}</sst>"#,
        texts.len()
    )
}

/// A package of named parts, deflated.
pub fn zip_parts(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A whole workbook around one sheet's XML, with shared strings.
pub fn workbook(sheet_xml: &str, strings: &[&str]) -> Vec<u8> {
    let sst = shared_strings(strings);
    zip_parts(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/sharedStrings.xml", sst.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml.as_bytes()),
    ])
}

/// All rows, or the first refusal.
pub fn read_all(bytes: &[u8], limits: &mashangban_sheet::Limits) -> Result<Vec<Row>, SheetError> {
    mashangban_sheet::open(bytes, limits)?.collect()
}

/// The refusal's code (panics if the file was accepted).
pub fn refusal(bytes: &[u8], limits: &mashangban_sheet::Limits) -> SheetError {
    match read_all(bytes, limits) {
        Ok(rows) => panic!("accepted with {} rows", rows.len()),
        Err(e) => e,
    }
}

/// The text of a cell as a test expects it.
pub fn text(cell: &Cell) -> String {
    cell.as_text().unwrap_or_default()
}

/// Rewrites the declared uncompressed size of `name` in its local header and
/// in the central directory (a lying central directory).
pub fn lie_about_size(zip: &mut [u8], name: &str, size: u32) {
    let name = name.as_bytes();
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        let sig = &zip[at..at + 4];
        if sig == b"PK\x03\x04" {
            let n = u16::from_le_bytes([zip[at + 26], zip[at + 27]]) as usize;
            if zip.get(at + 30..at + 30 + n) == Some(name) {
                zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        } else if sig == b"PK\x01\x02" {
            let n = u16::from_le_bytes([zip[at + 28], zip[at + 29]]) as usize;
            if zip.get(at + 46..at + 46 + n) == Some(name) {
                zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
    }
    assert_eq!(patched, 2, "the part's local header and central directory entry");
}
