//! Reading real workbooks (written by rust_xlsxwriter, as Excel would) and CSV files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

use crate::common::{read_all, text};
use mashangban_sheet::{Cell, Column, Limits, Report, Table, codes, open, open_csv, open_xlsx};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn typed_workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("企业名录").unwrap();
    let date_format = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let time_format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    sheet.write_string(0, 0, "统一社会信用代码").unwrap();
    sheet.write_string(0, 1, "成立日期").unwrap();
    sheet.write_string(0, 2, "注册资本").unwrap();
    sheet.write_string(0, 3, "是否规上").unwrap();
    sheet.write_string(1, 0, "91350100M000100Y43").unwrap();
    let founded = ExcelDateTime::from_ymd(2026, 2, 13).unwrap();
    sheet.write_datetime_with_format(1, 1, &founded, &date_format).unwrap();
    sheet.write_number(1, 2, 1250.5).unwrap();
    sheet.write_boolean(1, 3, true).unwrap();
    let at = ExcelDateTime::from_ymd(2026, 2, 13).unwrap().and_hms(9, 30, 0).unwrap();
    sheet.write_datetime_with_format(2, 1, &at, &time_format).unwrap();
    sheet.write_number(2, 2, 13_912_345_678.0).unwrap();
    sheet.write_formula(2, 3, Formula::new("=1+1").set_result("2")).unwrap();
    // A row of nothing but a styled blank, then a sparse row far below.
    sheet.write_blank(4, 2, &Format::new().set_bold()).unwrap();
    sheet.write_string(9, 200, "远处").unwrap();
    book.add_worksheet().set_name("第二页").unwrap().write_string(0, 0, "第二页的内容").unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn typed_cells_from_a_real_workbook() {
    let bytes = typed_workbook();
    let rows = read_all(&bytes, &Limits::default()).unwrap();
    let numbers: Vec<u32> = rows.iter().map(|r| r.number()).collect();
    assert_eq!(numbers, [1, 2, 3, 10], "blank rows are not yielded");
    assert_eq!(text(rows[0].get(1)), "统一社会信用代码");
    assert_eq!(rows[1].get(1), &Cell::Text("91350100M000100Y43".into()));
    assert_eq!(rows[1].get(2), &Cell::Date(date(2026, 2, 13)), "a Chinese date format");
    assert_eq!(rows[1].get(3), &Cell::Number(1250.5));
    assert_eq!(rows[1].get(4), &Cell::Bool(true));
    assert_eq!(rows[2].get(2), &Cell::DateTime(date(2026, 2, 13).and_hms_opt(9, 30, 0).unwrap()));
    assert_eq!(text(rows[2].get(3)), "13912345678", "a phone typed as a number reads as typed");
    assert_eq!(rows[2].get(4), &Cell::Number(2.0), "a formula's cached result");
    assert_eq!(text(rows[3].get(201)), "远处");
    assert_eq!(rows[3].cells().count(), 1, "a sparse row holds one cell");
    assert_eq!(rows[3].dense(4), vec![Cell::Empty; 4], "dense only up to the width asked for");

    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let names: Vec<&str> = book.sheets().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["企业名录", "第二页"]);
    let second: Vec<_> = book.rows_by_name("第二页").unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(text(second[0].get(1)), "第二页的内容");
    assert_eq!(book.rows_by_name("没有").err().unwrap().code, codes::SHEET_MISSING);
}

#[test]
fn a_hundred_thousand_rows_stream() {
    // Constant-memory mode writes inline strings, so this also reads `inlineStr`.
    let mut export = mashangban_sheet::write::Export::new(
        "数据",
        vec![
            mashangban_sheet::write::WriteColumn::text("编号"),
            mashangban_sheet::write::WriteColumn::new("数值", mashangban_sheet::write::Kind::Number),
        ],
    )
    .unwrap();
    for i in 0..100_000u32 {
        export.push(&[Cell::Text(format!("{i:06}")), Cell::Number(f64::from(i) * 0.5)]).unwrap();
    }
    let bytes = export.finish().unwrap();
    let mut count = 0u32;
    let mut sum = 0.0;
    for row in open(&bytes, &Limits::default()).unwrap() {
        let row = row.unwrap();
        count += 1;
        if row.number() == 1 {
            continue;
        }
        let i = row.number() - 2;
        assert_eq!(row.get(1), &Cell::Text(format!("{i:06}")), "leading zeros kept");
        if let Cell::Number(n) = row.get(2) {
            sum += n;
        }
    }
    assert_eq!(count, 100_001);
    assert_eq!(sum, (0..100_000u32).map(|i| f64::from(i) * 0.5).sum::<f64>());
}

#[test]
fn csv_in_utf8_with_bom_and_in_gbk() {
    let text = "日期,类型,名称\r\n2027-01-01,放假,\"元旦, 新年\"\r\n\r\n\"2027-01-09\",调休上班,\"说\"\"明\"\"\n第二行\"\n=\"00123\",x,\n";
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "the GBK bytes are not UTF-8");
    for bytes in [text.as_bytes().to_vec(), bom, gbk.into_owned()] {
        let rows: Vec<_> = open(&bytes, &Limits::default()).unwrap().collect::<Result<_, _>>().unwrap();
        let numbers: Vec<u32> = rows.iter().map(|r| r.number()).collect();
        assert_eq!(numbers, [1, 2, 4, 5], "a blank line counts as a row, as Excel shows it");
        assert_eq!(crate::common::text(rows[0].get(1)), "日期");
        assert_eq!(crate::common::text(rows[1].get(3)), "元旦, 新年");
        assert_eq!(crate::common::text(rows[2].get(3)), "说\"明\"\n第二行");
        assert_eq!(rows[3].get(1), &Cell::Text("00123".into()));
    }
    let rows = open_csv(b"a,\"b\n", &Limits::default()).unwrap();
    let refused = rows.collect::<Result<Vec<_>, _>>().err().unwrap();
    assert_eq!(refused.code, codes::MALFORMED_CSV);
    for binary in [&b"\xff\xff\xff"[..], b"a,b\0c\n"] {
        let refused = open(binary, &Limits::default()).err().unwrap();
        assert_eq!(refused.code, codes::UNSUPPORTED_ENCODING);
    }
    let wide = format!("{}x\n", ",".repeat(50));
    let refused = read_all(wide.as_bytes(), &Limits::default().columns(10)).err().unwrap();
    assert_eq!(refused.code, codes::TOO_MANY_COLUMNS);
    let long = "x".repeat(40_000);
    assert_eq!(read_all(long.as_bytes(), &Limits::default()).err().unwrap().code, codes::CELL_TOO_LONG);
}

const HOLIDAY_COLUMNS: [Column; 4] = [
    Column::required("日期"),
    Column::required("类型"),
    Column::required("名称"),
    Column::optional("通知文号").aliases(&["文号"]),
];

#[test]
fn a_table_reports_every_problem_of_the_file() {
    let csv = "2027年节假日安排\n\n *日期（YYYY-MM-DD）,类型 ,名称,文号,备注\n\
               2027-01-01,放假,元旦,国办发明电〔2026〕1号,\n\
               2027-02-30,放假,春节,,\n\
               2027/1/9,休息,,,\n\
               46400,调休上班,春节调休,,\n";
    let rows = open(csv.as_bytes(), &Limits::default()).unwrap();
    let table = Table::new(rows, &HOLIDAY_COLUMNS).unwrap();
    assert_eq!(table.header_row(), 3, "a title row above the header is passed over");
    assert!(table.has("通知文号"), "found by its alias");
    let mut report = Report::new();
    let mut good = Vec::new();
    for record in table {
        let record = record.unwrap();
        let date = record.required_date("日期", &mut report);
        let kind = record.choice("类型", &["放假", "调休上班"], &mut report);
        let name = record.required_text("名称", &mut report);
        if let (Some(date), Some(kind), Some(name)) = (date, kind, name) {
            good.push((date, kind, name, record.text("通知文号")));
        }
    }
    assert_eq!(good.len(), 1);
    assert_eq!(good[0].3.as_deref(), Some("国办发明电〔2026〕1号"));
    assert_eq!(report.len(), 4);
    let error = report.into_result().unwrap_err();
    assert_eq!(error.code, codes::INVALID_ROWS);
    let found: Vec<(u32, &str)> = error.problems.iter().map(|p| (p.row, p.column.as_str())).collect();
    assert_eq!(found, [(5, "日期"), (6, "类型"), (6, "名称"), (7, "日期")]);
    assert_eq!(error.problems[1].value, "休息");
    assert!(error.message.contains("第6行“类型”：应为“放假”、“调休上班”之一（填写的是“休息”）"), "{}", error.message);
    assert!(error.problems[3].reason.contains("YYYY-MM-DD"), "a serial number as text is not taken for a date");
}

#[test]
fn header_refusals() {
    let refuse =
        |csv: &str| Table::new(open(csv.as_bytes(), &Limits::default()).unwrap(), &HOLIDAY_COLUMNS).err().unwrap();
    let missing = refuse("日期,名称\n2027-01-01,元旦\n");
    assert_eq!(missing.code, codes::HEADER_MISSING);
    assert!(missing.message.contains("缺少“类型”"), "{}", missing.message);
    assert_eq!(refuse("日期,类型,名称,日期\n").code, codes::DUPLICATE_COLUMN);
    assert_eq!(refuse("\n\n ,\n").code, codes::EMPTY_SHEET);
    // A header below more than five other rows is not looked for.
    assert_eq!(refuse("a\nb\nc\nd\ne\n日期,类型,名称\n").code, codes::HEADER_MISSING);
}

#[test]
fn typed_values_from_workbook_cells() {
    let bytes = typed_workbook();
    let columns = [Column::required("统一社会信用代码"), Column::optional("成立日期"), Column::optional("注册资本")];
    let table = Table::new(open(&bytes, &Limits::default()).unwrap(), &columns).unwrap();
    let mut report = Report::new();
    let records: Vec<_> = table.collect::<Result<_, _>>().unwrap();
    assert_eq!(records[0].date("成立日期", &mut report), Some(date(2026, 2, 13)));
    assert_eq!(records[0].number("注册资本", &mut report), Some(1250.5));
    assert_eq!(records[0].integer("注册资本", &mut report), None);
    assert_eq!(records[1].date("成立日期", &mut report), None, "09:30 is not a whole day");
    assert_eq!(records[1].integer("注册资本", &mut report), Some(13_912_345_678));
    assert_eq!(
        records[1].datetime("成立日期", &mut report).map(|t| t.to_string()).as_deref(),
        Some("2026-02-13 09:30:00")
    );
    let reasons: Vec<String> = report.problems().iter().map(|p| p.reason.clone()).collect();
    assert_eq!(reasons, ["应为整数", "应为日期，不能带时间"]);
}
