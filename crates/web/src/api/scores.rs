//! Department scoring (考核) reports: JSON and an Excel download, and the
//! rebuild of the rollups. Definitions: `docs/scoring.md`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use mashangban_app::App;
use mashangban_app::scoring::{RATIO_NAMES, RowView, ScoresRebuild, ScoresView, ratios};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/v1/scores", report::<S>)
            .permission(Permission::ReadScores)
            .doc("scoring", "考核报表与排名（JSON 或 Excel）")
            .query(&[
                ("from", "YYYY-MM-DD"),
                ("to", "YYYY-MM-DD"),
                ("unit", "单位编码"),
                ("format", "xlsx 下载 Excel"),
                ("fairly_satisfied_counts", "基本满意是否计入满意"),
            ])
            .answer::<ScoresView>()
            .errors(&["invalid_parameter", "unknown_unit"]),
        Route::post("/api/v1/scores/rebuild", rebuild::<S>)
            .permission(Permission::RebuildRollups)
            .doc("scoring", "由办理记录重建考核汇总")
            .answer::<ScoresRebuild>(),
    ]
}

/// `GET /api/v1/scores?from=YYYY-MM-DD&to=YYYY-MM-DD[&unit=CODE][&format=xlsx][&fairly_satisfied_counts=…]`.
async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(mut params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let xlsx = match params.remove("format").as_deref().map(str::trim) {
        None | Some("json") => false,
        Some("xlsx") => true,
        Some(_) => return Err(mashangban_app::AppError::bad_parameter("「format」应为 json 或 xlsx").into()),
    };
    let query = app.scoring().query(&params)?;
    let view = app.scoring().report(&caller, query).await?;
    if xlsx { xlsx_response(&view) } else { Ok(Json(view).into_response()) }
}

/// `POST /api/v1/scores/rebuild`: recomputes every rollup from the events.
async fn rebuild<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<ScoresRebuild>> {
    Ok(Json(app.scoring().rebuild().await?))
}

// ---- the Excel download ----------------------------------------------------

fn xlsx_response(view: &ScoresView) -> ApiResult<Response> {
    let bytes = workbook(view).map_err(|e| {
        tracing::error!(error = %e, "could not write the scores workbook");
        ApiError::internal()
    })?;
    let name = format!("考核_{}_{}.xlsx", view.period.from, view.period.to);
    let ascii = format!("scores_{}_{}.xlsx", view.period.from, view.period.to);
    Ok(crate::download::xlsx(bytes, &name, &ascii))
}

fn workbook(view: &ScoresView) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let rows: Vec<&RowView> = std::iter::once(&view.city).chain(view.units.iter()).collect();
    ranking_sheet(book.add_worksheet(), &rows)?;
    detail_sheet(book.add_worksheet(), &rows)?;
    notes_sheet(book.add_worksheet(), view)?;
    book.save_to_buffer()
}

/// Column widths sized to their text: a CJK glyph is about two Latin widths.
struct Widths(Vec<f64>);

impl Widths {
    fn note(&mut self, col: u16, text: &str) {
        let width: usize = text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum();
        let col = usize::from(col);
        if self.0.len() <= col {
            self.0.resize(col + 1, 0.0);
        }
        if let Some(w) = self.0.get_mut(col) {
            *w = w.max(width as f64 + 2.0);
        }
    }

    fn apply(&self, sheet: &mut Worksheet) -> Result<(), XlsxError> {
        for (col, width) in self.0.iter().enumerate() {
            sheet.set_column_width(u16::try_from(col).unwrap_or(u16::MAX), width.max(6.0))?;
        }
        Ok(())
    }
}

/// East Asian wide characters: CJK ideographs, kana, Hangul, full-width forms and punctuation.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Writes a bold header row, frozen, and notes its widths.
fn header(sheet: &mut Worksheet, titles: &[&str], widths: &mut Widths) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (col, title) in (0u16..).zip(titles) {
        sheet.write_string_with_format(0, col, *title, &bold)?;
        widths.note(col, title);
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn write_text(sheet: &mut Worksheet, row: u32, col: u16, text: &str, widths: &mut Widths) -> Result<(), XlsxError> {
    sheet.write_string(row, col, text)?;
    widths.note(col, text);
    Ok(())
}

fn write_opt(sheet: &mut Worksheet, row: u32, col: u16, value: Option<f64>, format: &Format) -> Result<(), XlsxError> {
    match value {
        Some(v) => sheet.write_number_with_format(row, col, v, format).map(|_| ()),
        None => sheet.write_string(row, col, "—").map(|_| ()),
    }
}

/// Sheet 1 (考核排名): rank, unit, score and every rate.
fn ranking_sheet(sheet: &mut Worksheet, rows: &[&RowView]) -> Result<(), XlsxError> {
    sheet.set_name("考核排名")?;
    let mut widths = Widths(Vec::new());
    let mut titles = vec!["排名", "单位编码", "单位", "综合得分"];
    titles.extend(RATIO_NAMES);
    titles.extend(["平均办理时长（工作小时）", "自动派单退单率", "按时完成任务率", "超期任务"]);
    header(sheet, &titles, &mut widths)?;
    let (percent, number) = (Format::new().set_num_format("0.00%"), Format::new().set_num_format("0.00"));
    for (row, r) in (1u32..).zip(rows) {
        write_opt(sheet, row, 0, r.rank.map(f64::from), &Format::new())?;
        write_text(sheet, row, 1, r.code(), &mut widths)?;
        write_text(sheet, row, 2, r.name(), &mut widths)?;
        write_opt(sheet, row, 3, r.score, &number)?;
        for (col, ratio) in (4u16..).zip(ratios(&r.indicators)) {
            write_opt(sheet, row, col, ratio.rate, &percent)?;
        }
        write_opt(sheet, row, 12, r.indicators.handling_time.average_hours, &number)?;
        write_opt(sheet, row, 13, r.indicators.auto_dispatch_returns.rate, &percent)?;
        write_opt(sheet, row, 14, r.indicators.tasks_on_time.rate, &percent)?;
        sheet.write_number(row, 15, r.indicators.overdue_tasks as f64)?;
    }
    widths.apply(sheet)
}

/// Sheet 2 (分子分母): every numerator and denominator, and the handling-time sums.
fn detail_sheet(sheet: &mut Worksheet, rows: &[&RowView]) -> Result<(), XlsxError> {
    sheet.set_name("分子分母")?;
    let mut widths = Widths(Vec::new());
    let mut titles: Vec<String> = vec!["单位编码".into(), "单位".into()];
    for name in RATIO_NAMES {
        titles.push(format!("{name}·分子"));
        titles.push(format!("{name}·分母"));
    }
    titles.extend(
        [
            "办理时长·件数",
            "办理时长·工作小时合计",
            "办理时长·未计入件数",
            "自动派单·件数",
            "自动派单·其中退单",
            "按时完成任务率·分子",
            "按时完成任务率·分母",
            "超期任务",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    header(sheet, &refs, &mut widths)?;
    let hours = Format::new().set_num_format("0.00");
    for (row, r) in (1u32..).zip(rows) {
        write_text(sheet, row, 0, r.code(), &mut widths)?;
        write_text(sheet, row, 1, r.name(), &mut widths)?;
        for (i, ratio) in (0u16..).zip(ratios(&r.indicators)) {
            sheet.write_number(row, 2 + 2 * i, ratio.numerator as f64)?;
            sheet.write_number(row, 3 + 2 * i, ratio.denominator as f64)?;
        }
        let t = r.indicators.handling_time;
        sheet.write_number(row, 18, t.count as f64)?;
        sheet.write_number_with_format(row, 19, t.total_seconds as f64 / 3600.0, &hours)?;
        sheet.write_number(row, 20, t.excluded as f64)?;
        let automatic = r.indicators.auto_dispatch_returns;
        sheet.write_number(row, 21, automatic.denominator as f64)?;
        sheet.write_number(row, 22, automatic.numerator as f64)?;
        let tasks = r.indicators.tasks_on_time;
        sheet.write_number(row, 23, tasks.numerator as f64)?;
        sheet.write_number(row, 24, tasks.denominator as f64)?;
        sheet.write_number(row, 25, r.indicators.overdue_tasks as f64)?;
    }
    widths.apply(sheet)
}

/// What 按时完成任务率 counts and whether it is scored.
fn tasks_note(weight: u32) -> String {
    let scored = if weight == 0 {
        "不计入综合得分".to_owned()
    } else {
        format!("以权重 {weight}（诉求各项合计 100）计入综合得分")
    };
    format!(
        "指挥部交办该单位的任务：到期日或办结日在统计区间内、已办结或已超期的任务中按期办结的比例，{scored}；超期任务为到期日在区间内、已过期仍未办结的任务数"
    )
}

/// Sheet 3 (说明): the period and the options.
fn notes_sheet(sheet: &mut Worksheet, view: &ScoresView) -> Result<(), XlsxError> {
    sheet.set_name("说明")?;
    let mut widths = Widths(Vec::new());
    header(sheet, &["项目", "内容"], &mut widths)?;
    let fairly = if view.fairly_satisfied_counts { "计入满意" } else { "不计入满意" };
    let lines = [
        ("统计区间", format!("{} 至 {}（含首尾，北京时间）", view.period.from, view.period.to)),
        ("基本满意", fairly.to_owned()),
        ("单位数", view.units.len().to_string()),
        ("指标口径", "各项指标均由诉求的办理记录计算，归属当时的主办单位（协办单位不计分），每项按决定它的那一刻所在之日计入统计区间；全市为各单位之和加未派单部分".to_owned()),
        ("按时完成任务", tasks_note(view.task_on_time_weight)),
        ("自动派单", "平台按派单建议自动派给该单位的件数及其中被该单位退单的件数（自动派单退单率），供核查各分类的自动派单阈值，不计入综合得分".to_owned()),
    ];
    for (row, (item, text)) in (1u32..).zip(lines.iter()) {
        write_text(sheet, row, 0, item, &mut widths)?;
        write_text(sheet, row, 1, text, &mut widths)?;
    }
    widths.apply(sheet)
}
