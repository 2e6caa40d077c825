//! 智慧园区 pages: `/parks`, the parks with their points' status; `/parks/{code}`,
//! one park — its enterprises, points with live status, today's alerts, open
//! 数据缺失 alerts, open cases and compensation matters, shared facilities
//! (共性工厂), two-week trends and refused packets per device. The points'
//! status and the park's open alerts follow `/monitoring/events` (drawn by
//! `monitoring-live.js`) without a reload. All from `app.monitoring()`, as
//! `/api/v1/monitoring/parks` answers.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use mashangban_app::App;
use mashangban_app::monitoring::parks::{ParkDashboard, ParkView};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time};
use crate::auth::Auth;
use crate::extract::PagePath as Path;
use crate::routes::{Menu, MenuKind, Route};

/// The trend chart's drawing area, in SVG user units.
const TREND_WIDTH: f64 = 560.0;
const TREND_HEIGHT: f64 = 120.0;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let read = Permission::ReadMonitoring;
    vec![
        Route::get("/parks", parks::<S>).permission(read).nav(MenuKind::Main, 49, "智慧园区"),
        Route::get("/parks/{code}", park::<S>).permission(read),
    ]
}

#[derive(Template)]
#[template(path = "parks.html")]
struct ParksPage {
    layout: Layout,
    parks: Vec<ParkView>,
}

/// `GET /parks`.
async fn parks<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let page = ParksPage {
        layout: Layout::staff("智慧园区", &caller.actor, &menu),
        parks: app.monitoring().parks().await?,
    };
    Ok(render(StatusCode::OK, &page))
}

/// One bar of a trend chart.
struct Bar {
    x: f64,
    y: f64,
    height: f64,
    day: String,
    value: String,
}

#[derive(Template)]
#[template(path = "park.html")]
struct ParkPage {
    layout: Layout,
    d: ParkDashboard,
    /// Data completeness (percent of hourly values) and alerts per day.
    completeness: Vec<Bar>,
    alerts: Vec<Bar>,
    bar_width: f64,
    width: f64,
    height: f64,
}

impl ParkPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn opt_time(&self, rfc3339: &Option<String>) -> String {
        rfc3339.as_deref().map(short_time).unwrap_or_else(|| "无数据".into())
    }
}

/// Bars for `values` scaled to `max` (at least 1), one per day.
fn bars(days: &[(String, f64, String)], max: f64) -> Vec<Bar> {
    let step = TREND_WIDTH / days.len().max(1) as f64;
    let max = max.max(1.0);
    days.iter()
        .enumerate()
        .map(|(i, (day, v, label))| {
            let height = (v / max * (TREND_HEIGHT - 16.0)).max(0.0);
            Bar {
                x: (i as f64 * step * 10.0).round() / 10.0,
                y: ((TREND_HEIGHT - height) * 10.0).round() / 10.0,
                height: (height * 10.0).round() / 10.0,
                day: day.get(5..).unwrap_or(day).to_owned(),
                value: label.clone(),
            }
        })
        .collect()
}

/// `GET /parks/{code}`.
async fn park<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    let d = app.monitoring().park(&caller, &code).await?;
    let completeness: Vec<(String, f64, String)> =
        d.trend.iter().map(|t| (t.day.clone(), t.completeness, format!("{}%", t.completeness))).collect();
    let alerts: Vec<(String, f64, String)> =
        d.trend.iter().map(|t| (t.day.clone(), t.alerts as f64, t.alerts.to_string())).collect();
    let most = alerts.iter().map(|(_, v, _)| *v).fold(0.0, f64::max);
    let page = ParkPage {
        layout: Layout::staff(&d.park.name, &caller.actor, &menu),
        completeness: bars(&completeness, 100.0),
        alerts: bars(&alerts, most),
        bar_width: (TREND_WIDTH / d.trend.len().max(1) as f64 * 0.7 * 10.0).round() / 10.0,
        width: TREND_WIDTH,
        height: TREND_HEIGHT,
        d,
    };
    Ok(render(StatusCode::OK, &page))
}
