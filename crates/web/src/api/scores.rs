//! Department scoring (考核) reports: JSON and an Excel download, and the
//! rebuild of the rollups. Definitions: `docs/scoring.md`.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use mashangban_domain::org::{Actor, OrgTree, Role, UnitId};
use mashangban_domain::scoring::{Counters, Indicators, Period, Ratio, Report, ScoreOptions, ScoreRow};
use mashangban_store::{RebuildSummary, Store};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::views::{UnitRef, unit_ref};

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/api/v1/scores", get(report::<S>)).route("/api/v1/scores/rebuild", post(rebuild::<S>))
}

/// Roles that see every unit's scores.
const CITY_READERS: &[Role] = &[Role::Supervisor, Role::CityLeader, Role::Admin, Role::Dispatcher];

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A parsed `GET /api/v1/scores` query.
struct ScoreQuery {
    period: Period,
    unit: Option<UnitId>,
    xlsx: bool,
    options: ScoreOptions,
}

/// `GET /api/v1/scores?from=YYYY-MM-DD&to=YYYY-MM-DD[&unit=CODE][&format=xlsx][&fairly_satisfied_counts=…]`.
async fn report<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let actor = auth.require_login()?;
    let q = parse_query(&query, &state.org(), state.config.fairly_satisfied_counts)?;
    let view = scores_for(&state, actor, q.period, q.options, q.unit).await?;
    if q.xlsx { xlsx_response(&view) } else { Ok(Json(view).into_response()) }
}

/// The report as the API shows it to this actor (JSON, Excel and the supervisor's page).
pub(crate) async fn scores_for<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    period: Period,
    options: ScoreOptions,
    unit: Option<UnitId>,
) -> ApiResult<ScoresView> {
    let org = state.org();
    let units = visible_units(actor, &org, unit)?;
    let report = state.store.score_report(period, options).await?;
    Ok(ScoresView::new(&report, &org, units.as_deref()))
}

/// `POST /api/v1/scores/rebuild` (administrators): recomputes every rollup from the events.
async fn rebuild<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<RebuildSummary>> {
    auth.require_role(&[Role::Admin])?;
    Ok(Json(state.store.rebuild_scoring().await?))
}

fn parse_query(query: &HashMap<String, String>, org: &OrgTree, fairly_default: bool) -> ApiResult<ScoreQuery> {
    let (mut from, mut to, mut unit, mut xlsx) = (None, None, None, false);
    let mut options = ScoreOptions { fairly_satisfied_counts: fairly_default };
    for (key, value) in query {
        let value = value.trim();
        match key.as_str() {
            "from" => from = Some(parse_date(key, value)?),
            "to" => to = Some(parse_date(key, value)?),
            "unit" => {
                unit = Some(org.by_code(value).map(|u| u.id).ok_or_else(|| bad(format!("单位「{value}」不存在")))?)
            }
            "format" => xlsx = parse_format(value)?,
            "fairly_satisfied_counts" => options.fairly_satisfied_counts = parse_bool(key, value)?,
            other => {
                return Err(ApiError::bad_request("unknown_parameter", format!("不认识的查询参数「{other}」")));
            }
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(bad("请用「from」和「to」指定统计区间，如 from=2026-01-01&to=2026-03-31"));
    };
    let period = Period::new(from, to).map_err(|e| bad(e.message))?;
    Ok(ScoreQuery { period, unit, xlsx, options })
}

pub(super) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_parameter", message)
}

pub(super) fn parse_date(key: &str, value: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad(format!("「{key}」应为日期，如 2026-01-31")))
}

fn parse_format(value: &str) -> ApiResult<bool> {
    match value {
        "json" => Ok(false),
        "xlsx" => Ok(true),
        _ => Err(bad("「format」应为 json 或 xlsx")),
    }
}

pub(super) fn parse_bool(key: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(format!("「{key}」应为 true 或 false"))),
    }
}

/// The units whose rows the actor may see (`None`: all). City readers see
/// every unit, or the requested unit and those under it; unit leaders only
/// their own unit and those under it. Everyone else is refused.
fn visible_units(actor: &Actor, org: &OrgTree, requested: Option<UnitId>) -> ApiResult<Option<Vec<UnitId>>> {
    match actor {
        Actor::Staff(s) if CITY_READERS.contains(&s.role) => Ok(requested.map(|u| org.subtree(u))),
        Actor::Staff(s) if s.role == Role::UnitLeader => {
            let unit = requested.unwrap_or(s.unit_id);
            if s.units.contains(&unit) {
                Ok(Some(org.subtree(unit)))
            } else {
                Err(ApiError::forbidden("单位领导只能查看本单位的考核结果"))
            }
        }
        _ => Err(ApiError::forbidden("您的角色无权查看考核结果")),
    }
}

// ---- the JSON view ---------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct ScoresView {
    pub period: Period,
    pub fairly_satisfied_counts: bool,
    pub city: RowView,
    pub units: Vec<RowView>,
}

#[derive(Serialize)]
pub(crate) struct RowView {
    /// Place among all units (1 = best); the city has none.
    pub rank: Option<u32>,
    /// The unit; none for the city.
    pub unit: Option<UnitRef>,
    /// Composite score (综合得分), 0–100.
    pub score: Option<f64>,
    #[serde(flatten)]
    pub indicators: Indicators,
    pub counters: Counters,
}

impl ScoresView {
    fn new(report: &Report, org: &OrgTree, units: Option<&[UnitId]>) -> Self {
        let visible = |row: &&ScoreRow| units.is_none_or(|list| row.unit_id.is_some_and(|u| list.contains(&u)));
        Self {
            period: report.period,
            fairly_satisfied_counts: report.options.fairly_satisfied_counts,
            city: RowView::new(&report.city, org),
            units: report.units.iter().filter(visible).map(|row| RowView::new(row, org)).collect(),
        }
    }
}

impl RowView {
    fn new(row: &ScoreRow, org: &OrgTree) -> Self {
        let unit = row.unit_id.map(|id| {
            unit_ref(org, Some(id)).unwrap_or_else(|| UnitRef { code: id.to_string(), name: format!("单位{id}") })
        });
        Self { rank: row.rank, unit, score: row.score, indicators: row.indicators, counters: row.counters }
    }

    pub(crate) fn name(&self) -> &str {
        self.unit.as_ref().map_or("全市", |u| u.name.as_str())
    }

    fn code(&self) -> &str {
        self.unit.as_ref().map_or("", |u| u.code.as_str())
    }
}

// ---- the Excel download ----------------------------------------------------

/// The ratio indicators in column order, by their Chinese names.
pub(crate) const RATIO_NAMES: [&str; 8] =
    ["按时签收率", "响应率", "按时办结率", "解决率", "满意率", "退单率", "延期率", "重复诉求率"];

pub(crate) fn ratios(i: &Indicators) -> [Ratio; 8] {
    [
        i.on_time_sign_for,
        i.response,
        i.on_time_close,
        i.resolution,
        i.satisfaction,
        i.return_rate,
        i.extension,
        i.repeat,
    ]
}

fn xlsx_response(view: &ScoresView) -> ApiResult<Response> {
    let bytes = workbook(view).map_err(|e| {
        tracing::error!(error = %e, "could not write the scores workbook");
        ApiError::internal()
    })?;
    let name = format!("考核_{}_{}.xlsx", view.period.from, view.period.to);
    let ascii = format!("scores_{}_{}.xlsx", view.period.from, view.period.to);
    let disposition =
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", super::attachments::percent_encode(&name));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX_TYPE));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
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
    titles.push("平均办理时长（工作小时）");
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
    titles.extend(["办理时长·件数", "办理时长·工作小时合计", "办理时长·未计入件数"].map(String::from));
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
    }
    widths.apply(sheet)
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
        ("指标口径", "见 docs/scoring.md：分子、分母、排除项、归属单位与统计区间规则".to_owned()),
    ];
    for (row, (item, text)) in (1u32..).zip(lines.iter()) {
        write_text(sheet, row, 0, item, &mut widths)?;
        write_text(sheet, row, 1, text, &mut widths)?;
    }
    widths.apply(sheet)
}
