//! Templates and exports: what an Excel user gets, read back with our own reader.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Cursor, Read};

use chrono::NaiveDate;

use mashangban_sheet::write::{Export, Kind, WriteColumn, display_width, template};
use mashangban_sheet::{Cell, Column, Limits, Report, Table, open};

fn part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut out).unwrap();
    out
}

/// The width Excel is told for a 1-based column.
fn column_width(sheet_xml: &str, column: u32) -> f64 {
    let tag = format!(r#"<col min="{column}" max="{column}" width=""#);
    let at = sheet_xml.find(&tag).unwrap_or_else(|| panic!("no width for column {column}: {sheet_xml}")) + tag.len();
    sheet_xml[at..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn display_width_counts_cjk_as_two() {
    assert_eq!(display_width("abc"), 3);
    assert_eq!(display_width("统一社会信用代码"), 16);
    assert_eq!(display_width("（全角）"), 8);
    assert_eq!(display_width("12345６"), 7);
}

#[test]
fn a_blank_template_with_drop_downs_reads_back_as_its_own_header() {
    let streets: Vec<String> = (1..=40).map(|i| format!("石岐街道第{i}社区居民委员会")).collect();
    let columns = [
        WriteColumn::text("统一社会信用代码").required(),
        WriteColumn::new("成立日期", Kind::Date),
        WriteColumn::text("类型").choices(["放假", "调休上班"]).required(),
        WriteColumn::text("社区").choices(streets.clone()),
    ];
    let bytes = template("导入模板", &columns).unwrap();

    let read = [
        Column::required("统一社会信用代码"),
        Column::optional("成立日期"),
        Column::required("类型"),
        Column::optional("社区"),
    ];
    let table = Table::new(open(&bytes, &Limits::default()).unwrap(), &read).unwrap();
    assert_eq!(table.header_row(), 1, "the required marks do not hide the names");
    assert_eq!(table.count(), 0, "a blank template has no data rows");

    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#), "{sheet}");
    assert!(sheet.contains(r#"<formula1>"放假,调休上班"</formula1>"#), "{sheet}");
    assert!(sheet.contains("<formula1>'选项'!$A$1:$A$40</formula1>"), "a long list goes to a hidden sheet: {sheet}");
    assert!(sheet.contains(r#"sqref="C2:C1001""#), "{sheet}");
    // "*统一社会信用代码" is 17 columns wide on screen, the longest street 26.
    assert!(column_width(&sheet, 1) >= 19.0, "{sheet}");
    assert!(column_width(&sheet, 4) >= 28.0, "{sheet}");
    let workbook = part(&bytes, "xl/workbook.xml");
    assert!(workbook.contains(r#"<sheet name="选项" sheetId="2" state="hidden""#), "{workbook}");
    let options = part(&bytes, "xl/worksheets/sheet2.xml");
    assert!(
        options.contains("石岐街道第40社区居民委员会")
            || part(&bytes, "xl/sharedStrings.xml").contains("石岐街道第40社区居民委员会")
    );
    let styles = part(&bytes, "xl/styles.xml");
    assert!(styles.contains(r#"formatCode="@""#), "text columns are formatted as text: {styles}");
}

#[test]
fn an_export_keeps_codes_as_text_and_sizes_chinese_columns() {
    let columns = vec![
        WriteColumn::text("联系电话"),
        WriteColumn::text("单位名称"),
        WriteColumn::new("受理日期", Kind::Date),
        WriteColumn::new("件数", Kind::Integer),
    ];
    let mut export = Export::new("导出", columns).unwrap();
    let received = NaiveDate::from_ymd_opt(2026, 2, 13).unwrap();
    let long_name = "中山市市场监督管理局石岐分局综合执法大队";
    export
        .push(&[Cell::Number(13_912_345_678.0), Cell::Text(long_name.into()), Cell::Date(received), Cell::Number(3.0)])
        .unwrap();
    export.push(&[Cell::Text("0760-88888888".into()), Cell::Empty, Cell::Empty, Cell::Number(0.0)]).unwrap();
    assert_eq!(export.rows(), 2);
    let bytes = export.finish().unwrap();

    let rows: Vec<_> = open(&bytes, &Limits::default()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].get(1), &Cell::Text("13912345678".into()), "a phone given as a number is written as text");
    assert_eq!(rows[2].get(1), &Cell::Text("0760-88888888".into()));
    assert_eq!(rows[1].get(3), &Cell::Date(received));
    assert_eq!(rows[1].get(4), &Cell::Number(3.0));
    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"state="frozen""#), "{sheet}");
    let name_width = column_width(&sheet, 2);
    assert!(name_width >= display_width(long_name) as f64, "{name_width}: a CJK glyph counts two");
    assert!(column_width(&sheet, 1) < name_width);

    let mut report = Report::new();
    let read = [Column::required("联系电话"), Column::optional("受理日期")];
    let records: Vec<_> =
        Table::new(open(&bytes, &Limits::default()).unwrap(), &read).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(records[0].date("受理日期", &mut report), Some(received));
    assert!(report.is_empty());
}

#[test]
fn an_export_holds_several_sheets_each_with_its_own_header_and_rows() {
    let mut export = Export::with_preamble("纪录榜", &["标题".to_owned()], vec![WriteColumn::text("项目")]).unwrap();
    export.push(&[Cell::Text("甲".into())]).unwrap();
    export.push(&[Cell::Text("乙".into())]).unwrap();
    export.next_sheet("统计", &[], vec![WriteColumn::text("区镇"), WriteColumn::new("项目数", Kind::Integer)]).unwrap();
    assert_eq!(export.rows(), 0, "the new sheet's rows");
    export.push(&[Cell::Text("小榄镇".into()), Cell::Number(3.0)]).unwrap();
    assert_eq!(export.rows(), 1);
    let bytes = export.finish().unwrap();

    let mut book = mashangban_sheet::open_xlsx(&bytes, &Limits::default()).unwrap();
    let names: Vec<&str> = book.sheets().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["纪录榜", "统计"]);
    let first: Vec<_> = book.rows(0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(first.len(), 4, "the preamble, the header and two rows");
    assert_eq!((first[1].get(1), first[3].get(1)), (&Cell::Text("项目".into()), &Cell::Text("乙".into())));
    let second: Vec<_> = book.rows(1).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!((second[1].get(1), second[1].get(2)), (&Cell::Text("小榄镇".into()), &Cell::Number(3.0)));
}
