//! The leader dashboard page (`/dashboard`, 领导驾驶舱): KPI cards for today,
//! this week and this month, the trend and the breakdowns of a chosen
//! period, drawn by ECharts (vendored) from JSON in the page, each bar and
//! point linking to the request list behind it, and a table under each chart.
//! The figures come from `app.dashboard()`, as the API's.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;

use crate::extract::PageQuery as Query;
use axum::http::StatusCode;
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use mashangban_app::App;
use mashangban_app::dashboard::{DashboardView, SliceView};
use mashangban_app::duplicates::{DayCount, HotIssues};
use mashangban_domain::access::Permission;
use mashangban_domain::dashboard::{Figures, Granularity};
use mashangban_domain::scoring::{Period, Ratio, ScoreOptions, day_of};
use mashangban_store::{DashboardQuery, Store};

use super::{Layout, PageError, PageResult, render};
use crate::api::percent_encode;
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![Route::get("/dashboard", page::<S>).permission(Permission::ReadDashboard).nav(MenuKind::Main, 30, "驾驶舱")]
}

/// Bars drawn per breakdown chart; the table lists them all.
const CHART_BARS: usize = 15;

/// One KPI card row: a named period and its figures.
pub struct Kpi {
    pub label: &'static str,
    pub period: String,
    pub received: i64,
    pub closed: i64,
    pub on_time: String,
    pub satisfaction: String,
    pub received_url: String,
    pub closed_url: String,
}

/// One chart and its table: names, the two counts, the rates and where each leads.
#[derive(Serialize)]
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    /// `bar` (vertical, the trend) or `hbar` (horizontal, breakdowns).
    pub shape: &'static str,
    pub rows: Vec<ChartRow>,
}

#[derive(Serialize)]
pub struct ChartRow {
    pub name: String,
    pub received: i64,
    pub closed: i64,
    pub on_time: String,
    pub satisfaction: String,
    pub received_url: String,
    pub closed_url: String,
    /// Drawn in the chart (the table lists every row).
    pub drawn: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    from: String,
    to: String,
    kpis: Vec<Kpi>,
    totals: Kpi,
    charts: Vec<Chart>,
    /// The charts as JSON, safe inside `<script type="application/json">`.
    data: String,
    fairly_satisfied_counts: bool,
    /// Quick periods: (label, URL).
    presets: Vec<(&'static str, String)>,
    /// The command centres (指挥部): (code, name), for those who may read them.
    centres: Vec<(String, String)>,
    /// The hot issues (热点问题) of the last days, in the caller's scope.
    hot: HotIssues,
    /// Those with a position, drawn on a map.
    hot_map: HotMap,
}

/// The hot issues at the mean position of their requests, drawn on the server as SVG on plain
/// lon/lat (the ledger maps' projection, fitted to the issues), a circle per issue sized by its
/// count and linked to its typical request; no tiles, no script.
pub struct HotMap {
    pub spots: Vec<HotSpot>,
    /// Hot issues whose requests gave no position (not drawn).
    pub unplaced: usize,
    pub width: f64,
    pub height: f64,
}

pub struct HotSpot {
    pub x: String,
    pub y: String,
    pub r: String,
    /// Where the place's name goes: under the circle.
    pub label_y: String,
    pub href: String,
    pub title: String,
    pub count: u64,
    pub label: String,
}

const HOT_MAP_WIDTH: f64 = 640.0;
const HOT_MAP_HEIGHT: f64 = 360.0;
const HOT_MAP_MARGIN: f64 = 40.0;

impl HotMap {
    fn of(hot: &HotIssues) -> Self {
        use mashangban_app::ledgers::map::Projection;
        let placed: Vec<(&mashangban_app::duplicates::HotIssue, f64, f64)> =
            hot.issues.iter().filter_map(|h| Some((h, h.lon?, h.lat?))).collect();
        let projection = Projection::fit(
            placed.iter().map(|(_, lon, lat)| (*lon, *lat)),
            HOT_MAP_WIDTH,
            HOT_MAP_HEIGHT,
            HOT_MAP_MARGIN,
        );
        let spots = projection.map_or_else(Vec::new, |proj| {
            placed
                .iter()
                .map(|(h, lon, lat)| {
                    let (x, y) = proj.project(*lon, *lat);
                    let r = (6.0 + 3.0 * (h.count as f64).sqrt()).min(30.0);
                    let place = if h.cross_town {
                        format!("跨镇街：{}", h.towns.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("、"))
                    } else if h.town_name.is_empty() {
                        h.address.clone().unwrap_or_default()
                    } else {
                        h.town_name.clone()
                    };
                    HotSpot {
                        x: format!("{x:.1}"),
                        y: format!("{y:.1}"),
                        r: format!("{r:.1}"),
                        label_y: format!("{:.1}", y + r + 14.0),
                        href: format!("/work/{}", h.tracking_no),
                        title: format!("{}（{place}）：{} 件，在办 {} 件", h.title, h.count, h.open),
                        count: h.count,
                        label: place,
                    }
                })
                .collect()
        });
        Self { spots, unplaced: hot.issues.len() - placed.len(), width: HOT_MAP_WIDTH, height: HOT_MAP_HEIGHT }
    }
}

impl DashboardPage {
    /// A hot issue's trend as a row of bars (▁…█), one per day.
    fn spark(&self, trend: &[DayCount]) -> String {
        sparkline(trend)
    }
}

/// One bar character per day, scaled to the largest day.
fn sparkline(trend: &[DayCount]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = trend.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    trend.iter().map(|d| BARS[usize::try_from(d.count * 7 / max).unwrap_or(7).min(7)]).collect()
}

/// `GET /dashboard[?from=YYYY-MM-DD&to=YYYY-MM-DD]` (city leaders,
/// supervisors, administrators): this month unless a period is chosen.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let today = day_of(&app.now());
    let options: ScoreOptions = app.dashboard().options();
    let period = chosen_period(&query, today)?;
    let mut kpis = Vec::new();
    for (label, from) in [("今日", today), ("本周", monday_of(today)), ("本月", today.with_day(1).unwrap_or(today))]
    {
        let view = app.dashboard().view(DashboardQuery { period: Period { from, to: today }, options }).await?;
        kpis.push(kpi(label, &view));
    }
    let view = app.dashboard().view(DashboardQuery { period, options }).await?;
    let charts = charts(&view);
    let mut layout = Layout::staff("领导驾驶舱", &caller.actor, &menu);
    if caller.may(mashangban_domain::access::Permission::ManageCalendar) {
        layout.warning = app.calendar().missing_notice_warning();
    }
    let hot = app.duplicates().hot_issues(&caller).await?;
    let page = DashboardPage {
        layout,
        from: period.from.to_string(),
        to: period.to.to_string(),
        totals: kpi("所选区间", &view),
        kpis,
        data: script_json(&charts),
        charts,
        fairly_satisfied_counts: view.fairly_satisfied_counts,
        presets: presets(today),
        centres: if caller.may(mashangban_domain::access::Permission::ReadCommand) {
            app.command().centres(&caller).await?.into_iter().map(|c| (c.code, c.name)).collect()
        } else {
            Vec::new()
        },
        hot_map: HotMap::of(&hot),
        hot,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The period of `from`/`to`, or this month so far.
pub(super) fn chosen_period(query: &HashMap<String, String>, today: NaiveDate) -> PageResult<Period> {
    let date = |key: &str| -> PageResult<Option<NaiveDate>> {
        match query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| PageError::Status(StatusCode::BAD_REQUEST, format!("日期「{v}」不正确，应如 2026-01-31"))),
        }
    };
    let from = date("from")?.unwrap_or_else(|| today.with_day(1).unwrap_or(today));
    let to = date("to")?.unwrap_or(today);
    Period::new(from, to).map_err(|e| PageError::Status(StatusCode::BAD_REQUEST, e.message))
}

/// 本周, 本月, 本季度, 本年 and 近12个月, each up to today.
fn presets(today: NaiveDate) -> Vec<(&'static str, String)> {
    let quarter_month = (today.month0() / 3) * 3 + 1;
    let starts = [
        ("本周", monday_of(today)),
        ("本月", today.with_day(1).unwrap_or(today)),
        ("本季度", NaiveDate::from_ymd_opt(today.year(), quarter_month, 1).unwrap_or(today)),
        ("本年", NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)),
        ("近12个月", today.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(today)),
    ];
    starts.into_iter().map(|(label, from)| (label, format!("/dashboard?from={from}&to={today}"))).collect()
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday()))).unwrap_or(day)
}

/// `85.0%`, or `—` without a denominator.
pub fn percent(r: &Ratio) -> String {
    r.rate.map_or_else(|| "—".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
}

fn kpi(label: &'static str, view: &DashboardView) -> Kpi {
    let p = view.period;
    let period = if p.from == p.to { p.from.to_string() } else { format!("{} 至 {}", p.from, p.to) };
    let (received_url, closed_url) = links("", p.from, p.to);
    row_figures(&view.totals, |received, closed, on_time, satisfaction| Kpi {
        label,
        period,
        received,
        closed,
        on_time,
        satisfaction,
        received_url,
        closed_url,
    })
}

fn row_figures<T>(f: &Figures, make: impl FnOnce(i64, i64, String, String) -> T) -> T {
    make(f.received, f.closed, percent(&f.on_time), percent(&f.satisfaction))
}

/// The request lists behind a figure: received in the days, and closed in them.
fn links(filter: &str, from: NaiveDate, to: NaiveDate) -> (String, String) {
    let end = to.checked_add_days(Days::new(1)).unwrap_or(to);
    let prefix = if filter.is_empty() { String::new() } else { format!("{filter}&") };
    (format!("/work?{prefix}from={from}&to={end}"), format!("/work?{prefix}closed_from={from}&closed_to={end}"))
}

fn charts(view: &DashboardView) -> Vec<Chart> {
    let p = view.period;
    let trend = view
        .trend
        .iter()
        .map(|point| {
            let name = match view.granularity {
                Granularity::Day => point.from.format("%m-%d").to_string(),
                Granularity::Month => point.from.format("%Y-%m").to_string(),
            };
            chart_row(name, &point.figures, links("", point.from, point.to), true)
        })
        .collect();
    let breakdown = |slices: &[SliceView], param: &str| -> Vec<ChartRow> {
        slices
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let value = if s.code.is_empty() { "none".to_owned() } else { percent_encode(&s.code) };
                chart_row(s.name.clone(), &s.figures, links(&format!("{param}={value}"), p.from, p.to), i < CHART_BARS)
            })
            .collect()
    };
    vec![
        Chart { id: "trend", title: "受理与办结趋势", shape: "bar", rows: trend },
        Chart { id: "units", title: "按主办单位", shape: "hbar", rows: breakdown(&view.units, "lead_unit") },
        Chart { id: "towns", title: "按镇街", shape: "hbar", rows: breakdown(&view.towns, "town") },
        Chart { id: "kinds", title: "按诉求类型", shape: "hbar", rows: breakdown(&view.kinds, "kind") },
        Chart {
            id: "categories",
            title: "按一级分类",
            shape: "hbar",
            rows: breakdown(&view.categories, "category_group"),
        },
    ]
}

fn chart_row(name: String, f: &Figures, (received_url, closed_url): (String, String), drawn: bool) -> ChartRow {
    row_figures(f, |received, closed, on_time, satisfaction| ChartRow {
        name,
        received,
        closed,
        on_time,
        satisfaction,
        received_url,
        closed_url,
        drawn,
    })
}

/// JSON that cannot end its `<script>` element early.
fn script_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "[]".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cover_whole_days_and_json_stays_in_its_element() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let (received, closed) = links("town=none", day("2026-03-01"), day("2026-03-31"));
        assert_eq!(received, "/work?town=none&from=2026-03-01&to=2026-04-01");
        assert_eq!(closed, "/work?town=none&closed_from=2026-03-01&closed_to=2026-04-01");
        assert_eq!(script_json(&"</script>&"), "\"\\u003c/script\\u003e\\u0026\"");
        assert_eq!(monday_of(day("2026-11-29")), day("2026-11-23"));
        let quick = presets(day("2026-11-29"));
        assert_eq!(quick[2], ("本季度", "/dashboard?from=2026-10-01&to=2026-11-29".to_owned()));
        assert_eq!(quick[4].1, "/dashboard?from=2025-11-30&to=2026-11-29");
    }
}
