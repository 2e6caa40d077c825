//! Files made to hurt: each is refused with its code, early, without
//! allocating what it declares. Peak memory of the bomb tests is measured
//! outside the tests (see docs/spreadsheets.md), not asserted on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Write};
use std::sync::OnceLock;

use crate::common::{CONTENT_TYPES, ROOT_RELS, WORKBOOK, WORKBOOK_RELS, read_all, refusal, sheet, workbook, zip_parts};
use mashangban_sheet::{Limits, codes, open, open_xlsx};
use zip::write::SimpleFileOptions;

/// What the calendar import allows: a few thousand rows, a few columns.
fn import_limits() -> Limits {
    Limits::default().rows(10_000).columns(64).file_bytes(2 * 1024 * 1024)
}

const HEADER_ROW: &str =
    r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>"#;
const HEADER: [&str; 3] = ["日期", "类型", "名称"];

#[test]
fn one_cell_at_xfd1048576_allocates_nothing_per_declared_cell() {
    let far = r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
    let declared = sheet(&format!(r#"<dimension ref="A1:XFD1048576"/><sheetData>{HEADER_ROW}{far}</sheetData>"#));
    let bytes = workbook(&declared, &HEADER);
    assert!(bytes.len() < 2_500, "a workbook of {} bytes", bytes.len());
    let e = refusal(&bytes, &import_limits());
    assert_eq!(e.code, codes::TOO_MANY_ROWS);
    assert!(e.message.contains("A1:XFD1048576"), "{}", e.message);
    // Refused before the first row is read.
    let mut rows = open(&bytes, &import_limits()).unwrap();
    assert_eq!(rows.next().unwrap().unwrap_err().code, codes::TOO_MANY_ROWS);
    assert!(rows.next().is_none());

    // With the default limits too (1,000,000 rows): the dimension is still beyond.
    assert_eq!(refusal(&bytes, &Limits::default()).code, codes::TOO_MANY_ROWS);

    // No dimension (or an honest one): the far cell itself is refused as it streams by.
    let undeclared = sheet(&format!("<sheetData>{HEADER_ROW}{far}</sheetData>"));
    let bytes = workbook(&undeclared, &HEADER);
    let mut rows = open_xlsx(&bytes, &import_limits()).unwrap().into_first_sheet().unwrap();
    assert_eq!(rows.next().unwrap().unwrap().number(), 1, "the header streams first");
    assert_eq!(rows.next().unwrap().unwrap_err().code, codes::TOO_MANY_ROWS);

    let wide = sheet(&format!(r#"<sheetData>{HEADER_ROW}<row r="2"><c r="XFD2"><v>1</v></c></row></sheetData>"#));
    let e = refusal(&workbook(&wide, &HEADER), &import_limits());
    assert_eq!(e.code, codes::TOO_MANY_COLUMNS);
    assert!(e.message.contains("XFD"), "{}", e.message);
    let declared_wide = sheet(&format!(r#"<dimension ref="A1:XFD3"/><sheetData>{HEADER_ROW}</sheetData>"#));
    assert_eq!(refusal(&workbook(&declared_wide, &HEADER), &import_limits()).code, codes::TOO_MANY_COLUMNS);

    // A styled but empty cell far away (as formatting leaves) is not a value: passed over.
    let styled =
        sheet(&format!(r#"<sheetData>{HEADER_ROW}<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>"#));
    assert_eq!(read_all(&workbook(&styled, &HEADER), &import_limits()).unwrap().len(), 1);
}

/// 1.5 GB of whitespace inside `<sheetData>`, deflated to about 1.5 MB.
fn whitespace_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflate = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ] {
            zip.start_file(name, deflate).unwrap();
            zip.write_all(data.as_bytes()).unwrap();
        }
        zip.start_file("xl/worksheets/sheet1.xml", deflate.compression_level(Some(9))).unwrap();
        zip.write_all(crate::common::SHEET_START.as_bytes()).unwrap();
        zip.write_all(br#"<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>"#).unwrap();
        let spaces = vec![b' '; 1024 * 1024];
        for _ in 0..1_536 {
            zip.write_all(&spaces).unwrap();
        }
        zip.write_all(b"</sheetData></worksheet>").unwrap();
        zip.finish().unwrap().into_inner()
    })
}

#[test]
fn a_deflate_bomb_is_refused_by_its_declared_size_before_inflating() {
    let bomb = whitespace_bomb();
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    let e = refusal(bomb, &Limits::default().file_bytes(4 * 1024 * 1024));
    assert_eq!(e.code, codes::ZIP_BOMB, "{}", e.message);
    assert!(e.message.contains("压缩炸弹"), "{}", e.message);
}

#[test]
fn a_lying_central_directory_is_refused_at_the_first_byte_past_its_claim() {
    let mut bomb = whitespace_bomb().to_vec();
    crate::common::lie_about_size(&mut bomb, "xl/worksheets/sheet1.xml", 4_096);
    let e = refusal(&bomb, &Limits::default().file_bytes(4 * 1024 * 1024));
    assert_eq!(e.code, codes::ZIP_BOMB, "{}", e.message);
    assert!(e.message.contains("超过了它声明的大小"), "{}", e.message);
}

#[test]
fn whitespace_within_the_declared_size_cannot_grow_the_parser() {
    let spaces = " ".repeat(8 * 1024 * 1024);
    let xml = sheet(&format!("<sheetData>{HEADER_ROW}{spaces}</sheetData>"));
    let e = refusal(&workbook(&xml, &HEADER), &Limits::default());
    assert_eq!(e.code, codes::MALFORMED_XLSX);
    assert!(e.message.contains("超过 1 MB"), "{}", e.message);
}

#[test]
fn a_million_and_one_rows_are_refused() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflate = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ] {
        zip.start_file(name, deflate).unwrap();
        zip.write_all(data.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", deflate.compression_level(Some(1))).unwrap();
    zip.write_all(crate::common::SHEET_START.as_bytes()).unwrap();
    zip.write_all(b"<sheetData>").unwrap();
    let mut chunk = String::new();
    for n in 1..=1_000_001u32 {
        chunk.push_str(&format!(r#"<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>"#));
        if chunk.len() > 1 << 20 {
            zip.write_all(chunk.as_bytes()).unwrap();
            chunk.clear();
        }
    }
    zip.write_all(chunk.as_bytes()).unwrap();
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut rows = open(&bytes, &Limits::default()).unwrap();
    let mut read = 0u32;
    let error = loop {
        match rows.next() {
            Some(Ok(_)) => read += 1,
            Some(Err(e)) => break e,
            None => panic!("all {read} rows accepted"),
        }
    };
    assert_eq!((read, error.code), (1_000_000, codes::TOO_MANY_ROWS), "{}", error.message);
}

#[test]
fn damaged_parts_are_refused_with_their_codes() {
    let limits = Limits::default();
    let malformed = [
        sheet(r#"<sheetData><row r="1"><c r="A1"><v>1</v>"#),
        sheet(r#"<sheetData><row r="1"><c r="A1"><v>1<</v></c></row></sheetData>"#),
        sheet(r#"<sheetData><row r="1"><c r="A1"><v>abc</v></c></row></sheetData>"#),
        sheet(
            r#"<sheetData><row r="2"><c r="A2"><v>1</v></c></row><row r="1"><c r="A1"><v>1</v></c></row></sheetData>"#,
        ),
        sheet(r#"<sheetData><row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c></row></sheetData>"#),
        sheet(r#"<sheetData><row r="1"><c r="A7"><v>1</v></c></row></sheetData>"#),
        sheet(r#"<sheetData><row r="1"><c r="A1" t="b"><v>2</v></c></row></sheetData>"#),
        sheet(r#"<sheetData><row r="1"><c r="A1" t="x"><v>2</v></c></row></sheetData>"#),
        sheet(r#"<sheetData><row r="1"><c r="A1" t="s"><v>&bogus;</v></c></row></sheetData>"#),
        sheet(&format!("<sheetData>{}</sheetData>", "<a>".repeat(100))),
    ];
    for xml in &malformed {
        let e = refusal(&workbook(xml, &HEADER), &limits);
        assert_eq!(e.code, codes::MALFORMED_XLSX, "{xml}: {}", e.message);
    }
    let out_of_range = sheet(r#"<sheetData><row r="1"><c r="A1" t="s"><v>3</v></c></row></sheetData>"#);
    let e = refusal(&workbook(&out_of_range, &HEADER), &limits);
    assert_eq!(e.code, codes::MALFORMED_XLSX);
    assert!(e.message.contains("共享字符串") && e.message.contains("A1"), "{}", e.message);
    let invalid_utf8 = zip_parts(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        (
            "xl/worksheets/sheet1.xml",
            b"<worksheet><sheetData><row><c><v>\xff\xfe</v></c></row></sheetData></worksheet>",
        ),
    ]);
    assert_eq!(refusal(&invalid_utf8, &limits).code, codes::MALFORMED_XLSX);
}

#[test]
fn missing_sheets_and_non_workbooks() {
    let limits = Limits::default();
    let no_sheet_part = zip_parts(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
    ]);
    assert_eq!(refusal(&no_sheet_part, &limits).code, codes::SHEET_MISSING);
    let no_sheets = WORKBOOK.replace(r#"<sheet name="Sheet1" sheetId="1" r:id="rId1"/>"#, "");
    let empty_book = zip_parts(&[("xl/workbook.xml", no_sheets.as_bytes())]);
    assert_eq!(refusal(&empty_book, &limits).code, codes::SHEET_MISSING);
    let no_workbook = zip_parts(&[("hello.txt", b"hello")]);
    assert_eq!(refusal(&no_workbook, &limits).code, codes::NOT_XLSX);
    let mut truncated = workbook(&sheet("<sheetData/>"), &HEADER);
    truncated.truncate(truncated.len() / 2);
    assert_eq!(refusal(&truncated, &limits).code, codes::NOT_XLSX);
    let xls = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0];
    assert_eq!(refusal(&xls, &limits).code, codes::NOT_XLSX);
    assert_eq!(open_xlsx(b"PK\x03\x04 not really", &limits).err().unwrap().code, codes::NOT_XLSX);
    assert_eq!(open_xlsx(b"hello", &limits).err().unwrap().code, codes::NOT_XLSX);
    assert_eq!(refusal(b"", &limits).code, codes::EMPTY_FILE);
    let big = workbook(&sheet("<sheetData/>"), &HEADER);
    assert_eq!(refusal(&big, &limits.file_bytes(100)).code, codes::FILE_TOO_LARGE);
    // Shared strings larger than the import holds in memory.
    let many: Vec<String> = (0..20_000).map(|i| format!("字符串{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = refusal(&workbook(&sheet("<sheetData/>"), &many), &limits.part_bytes(64 * 1024));
    assert_eq!(e.code, codes::FILE_TOO_LARGE, "{}", e.message);
}

#[test]
fn an_unsupported_compression_method_is_refused() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in [
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/worksheets/sheet1.xml", "<worksheet/>"),
    ] {
        zip.start_file(name, stored).unwrap();
        zip.write_all(data.as_bytes()).unwrap();
    }
    let mut bytes = zip.finish().unwrap().into_inner();
    // Method 12 (bzip2) in the workbook part's local and central headers.
    let name = b"xl/workbook.xml";
    for at in 0..bytes.len() - 46 {
        let (local, central) = (&bytes[at..at + 4] == b"PK\x03\x04", &bytes[at..at + 4] == b"PK\x01\x02");
        let (method_at, name_at) = if local {
            (8, 30)
        } else if central {
            (10, 46)
        } else {
            continue;
        };
        if bytes.get(at + name_at..at + name_at + name.len()) == Some(name) {
            bytes[at + method_at] = 12;
        }
    }
    assert_eq!(refusal(&bytes, &Limits::default()).code, codes::NOT_XLSX);
}
