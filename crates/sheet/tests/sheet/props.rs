//! Arbitrary bytes as an upload: refused or read, never a panic, and never
//! more rows than the limits allow.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use mashangban_sheet::{Column, Limits, Report, Table, open};

fn limits() -> Limits {
    Limits::default().rows(200).columns(20).file_bytes(64 * 1024)
}

/// Reads everything the way an import does; answers the rows read.
fn import(bytes: &[u8]) -> usize {
    let Ok(rows) = open(bytes, &limits()) else { return 0 };
    let columns = [Column::required("日期"), Column::optional("名称")];
    let Ok(table) = Table::new(rows, &columns) else { return 0 };
    let mut report = Report::new();
    let mut read = 0;
    for record in table {
        let Ok(record) = record else { break };
        let _ = record.date("日期", &mut report);
        let _ = record.text("名称");
        read += 1;
    }
    let _ = report.into_result();
    read
}

fn valid_workbook() -> Vec<u8> {
    let xml = crate::common::sheet(
        r#"<dimension ref="A1:B3"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" s="0"><v>46023</v></c><c r="B2" t="inlineStr"><is><t>元旦</t></is></c></row></sheetData>"#,
    );
    crate::common::workbook(&xml, &["日期", "名称"])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert!(import(&bytes) < 200);
    }

    #[test]
    fn arbitrary_bytes_after_a_zip_signature(tail in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend(tail);
        prop_assert!(import(&bytes) < 200);
    }

    #[test]
    fn a_workbook_with_bytes_changed(changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut bytes = valid_workbook();
        for (at, value) in changes {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        prop_assert!(import(&bytes) < 200);
    }

    #[test]
    fn arbitrary_sheet_xml(body in "[<>/a-z=\"0-9 :A-Z&;#x]{0,400}") {
        let xml = crate::common::sheet(&format!("<sheetData>{body}</sheetData>"));
        prop_assert!(import(&crate::common::workbook(&xml, &["日期"])) < 200);
    }

    #[test]
    fn arbitrary_csv(text in "[,\"\r\n a-z0-9日期名称=]{0,600}") {
        prop_assert!(import(text.as_bytes()) < 200);
    }
}

#[test]
fn the_valid_workbook_reads() {
    assert_eq!(import(&valid_workbook()), 1);
}
