//! 在线监测 pages: `/monitoring`, the points with their status (normal,
//! exceeding, offline); `/monitoring/{code}`, a point with its latest values,
//! an hourly chart of one parameter over the last 24 hours, from its minute
//! data or else its hourly data (inline SVG drawn
//! here, no script), its alerts, its 数据缺失 alerts and its history; `/monitoring/alerts`, the
//! open alerts with the form that dismisses one with a reason, and the open 数据缺失 alerts. The list and
//! the alerts follow `/monitoring/events` (server-sent events, drawn by
//! `monitoring-live.js`): every committed change of a point or its alerts
//! sends the points' status and the open alerts again, without a reload.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use askama::Template;
use axum::extract::State;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use axum::Extension;
use axum::http::StatusCode;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use mashangban_app::monitoring::{
    AggregateView, AlertQuery, AlertView, DismissBody, OutageQuery, OutageView, PointDetail, PointView, SeriesQuery,
};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::environment::{Grade, limit_for};
use mashangban_domain::monitoring::{PermitLimit, alert_not_found, standard_named};
use mashangban_domain::time::format_instant;
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time, shown};
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

/// The chart's drawing area, in SVG user units.
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 200.0;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let read = Permission::ReadMonitoring;
    vec![
        Route::get("/monitoring", overview::<S>).permission(read).nav(MenuKind::Main, 48, "在线监测"),
        Route::get("/monitoring/alerts", alerts::<S>).permission(read),
        Route::get("/monitoring/events", events::<S>).permission(read),
        Route::post("/monitoring/alerts/{id}/dismiss", dismiss::<S>)
            .permission(Permission::HandleMonitoringAlerts)
            .form(),
        Route::get("/monitoring/{code}", point::<S>).permission(read),
    ]
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct OverviewPage {
    layout: Layout,
    points: Vec<PointView>,
    exceeding: usize,
    offline: usize,
}

impl OverviewPage {
    fn time(&self, rfc3339: &Option<String>) -> String {
        rfc3339.as_deref().map(short_time).unwrap_or_else(|| "无数据".into())
    }
}

/// `GET /monitoring`.
async fn overview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let points = app.monitoring().list().await?;
    let count = |status: &str| points.iter().filter(|p| p.status == status).count();
    let page = OverviewPage {
        layout: Layout::staff("在线监测", &caller.actor, &menu),
        exceeding: count("exceeding"),
        offline: count("offline"),
        points,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "monitoring_point.html")]
struct PointPage {
    layout: Layout,
    detail: PointDetail,
    /// The charted parameter and its unit.
    parameter: String,
    unit: String,
    chart: Chart,
    /// May edit and retire the point.
    manage: bool,
}

impl PointPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn opt_time(&self, rfc3339: &Option<String>) -> String {
        rfc3339.as_deref().map(short_time).unwrap_or_default()
    }

    /// A history entry's kind in Chinese.
    fn event_label<'a>(&self, kind: &'a str) -> &'a str {
        match kind {
            "created" => "新建",
            "updated" => "修改",
            "retired" => "停用",
            "offline" => "数据缺失",
            "online" => "数据恢复",
            other => other,
        }
    }
}

/// An hourly min/avg/max chart as SVG shapes: a band from min to max and the average's polyline.
struct Chart {
    /// One `x,y` pair per hour for the average.
    avg_points: String,
    /// The band's polygon: max left to right, then min right to left.
    band_points: String,
    /// The limit's horizontal line (y), when there is an upper limit in range.
    limit_y: Option<f64>,
    limit_label: String,
    /// Axis labels: (y, value).
    y_ticks: Vec<(f64, String)>,
    /// Hour labels: (x, `09时`).
    x_ticks: Vec<(f64, String)>,
    width: f64,
    height: f64,
    empty: bool,
}

#[derive(Debug, Default, Deserialize)]
struct PointQuery {
    #[serde(default)]
    parameter: Option<String>,
}

/// `GET /monitoring/{code}?parameter=w01018`.
async fn point<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Query(query): Query<PointQuery>,
) -> PageResult {
    let monitoring = app.monitoring();
    let detail = monitoring.get(&code).await?;
    let measured = &detail.point.parameters;
    let chosen = query.parameter.filter(|p| measured.iter().any(|m| &m.code == p));
    let Some(parameter) = chosen.or_else(|| measured.first().map(|m| m.code.clone())) else {
        return Err(AppError::internal().into());
    };
    let unit = measured.iter().find(|m| m.code == parameter).map(|m| m.unit.clone()).unwrap_or_default();
    let to = app.now();
    // Minute data when the device sends it, else its hourly data (as uploaded or in the demo).
    let mut aggregates = Vec::new();
    for kind in ["minute", "hour"] {
        let query = SeriesQuery {
            parameter: parameter.clone(),
            kind: Some(kind.into()),
            from: Some(format_instant(&(to - Duration::hours(24)))),
            to: Some(format_instant(&to)),
            bucket: Some("hour".into()),
        };
        aggregates = monitoring.series(&code, query).await?.aggregates;
        if !aggregates.is_empty() {
            break;
        }
    }
    let limit = limit_of(&detail.point, &parameter);
    let chart = chart(&aggregates, limit.as_deref());
    let page = PointPage {
        layout: Layout::staff(format!("监测点位：{}", detail.point.name), &caller.actor, &menu),
        detail,
        parameter,
        unit,
        chart,
        manage: caller.may(Permission::ManageMonitoring),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The limit that applies to `parameter` at the point (its permit's, else its standard's grade), as written (`≤150`).
fn limit_of(point: &PointView, parameter: &str) -> Option<String> {
    let standard = standard_named(&point.standard).ok()?;
    let overrides: Vec<_> = point.permit_limits.iter().filter_map(PermitLimit::to_override).collect();
    limit_for(standard, Grade(point.grade), parameter, &overrides).map(|(limit, _)| limit.describe())
}

/// Draws hourly aggregates; the y axis runs from 0 to the largest max (or the limit, if higher) plus a tenth.
fn chart(hours: &[AggregateView], limit: Option<&str>) -> Chart {
    let upper = limit.and_then(|l| l.strip_prefix('≤')).and_then(|v| v.parse::<f64>().ok());
    let top = hours.iter().map(|h| h.max).chain(upper).fold(0.0_f64, f64::max).max(1.0) * 1.1;
    let step = if hours.len() > 1 { CHART_WIDTH / (hours.len() - 1) as f64 } else { 0.0 };
    let x = |i: usize| i as f64 * step;
    let y = |v: f64| CHART_HEIGHT - (v.max(0.0) / top * CHART_HEIGHT);
    let pair = |i: usize, v: f64| format!("{:.1},{:.1}", x(i), y(v));
    let avg_points = hours.iter().enumerate().map(|(i, h)| pair(i, h.avg)).collect::<Vec<_>>().join(" ");
    let upper_edge = hours.iter().enumerate().map(|(i, h)| pair(i, h.max));
    let lower_edge = hours.iter().enumerate().rev().map(|(i, h)| pair(i, h.min));
    let band_points = upper_edge.chain(lower_edge).collect::<Vec<_>>().join(" ");
    let y_ticks = (0..=4).map(|n| {
        let v = top / 4.0 * f64::from(n);
        (y(v), format!("{v:.1}"))
    });
    let label_every = hours.len().div_ceil(8).max(1);
    let x_ticks = hours
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
        .map(|(i, h)| (x(i), format!("{}时", h.bucket.get(11..13).unwrap_or_default())))
        .collect();
    Chart {
        avg_points,
        band_points,
        limit_y: upper.map(y),
        limit_label: limit.unwrap_or_default().to_owned(),
        y_ticks: y_ticks.collect(),
        x_ticks,
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        empty: hours.is_empty(),
    }
}

#[derive(Template)]
#[template(path = "monitoring_alerts.html")]
struct AlertsPage {
    layout: Layout,
    alerts: Vec<AlertView>,
    /// Open 数据缺失 alerts.
    outages: Vec<OutageView>,
    /// Whether the caller may dismiss (of their own unit's points).
    handle: bool,
    /// Whether the caller may open an enforcement case (立案) from an alert of their own unit's points.
    open_case: bool,
    error: Option<String>,
}

impl AlertsPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn alerts_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let page = AlertsPage {
        layout: Layout::staff("超标报警", &caller.actor, menu),
        alerts: app.monitoring().alerts(AlertQuery::default()).await?,
        outages: app.monitoring().outages(OutageQuery::default()).await?,
        handle: caller.may(Permission::HandleMonitoringAlerts),
        open_case: caller.may(Permission::HandleEnforcement),
        error,
    };
    Ok(render(status, &page))
}

/// `GET /monitoring/alerts`: the open alerts.
async fn alerts<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    alerts_page(&app, &caller, &menu, StatusCode::OK, None).await
}

#[derive(Debug, Default, Deserialize)]
struct DismissForm {
    #[serde(default)]
    reason: String,
}

/// `POST /monitoring/alerts/{id}/dismiss`: as the API; back to the open alerts.
async fn dismiss<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<DismissForm>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::from(alert_not_found()))?;
    match app.monitoring().dismiss(&caller, id, DismissBody { reason: form.reason }).await {
        Ok(_) => Ok(Redirect::to("/monitoring/alerts").into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            alerts_page(&app, &caller, &menu, status, Some(message)).await
        }
    }
}

/// The live pages reread even without a change announced (a lost wake-up) this often.
const RECHECK: StdDuration = StdDuration::from_secs(30);
/// Changes arriving this close together are sent as one event.
const SETTLE: StdDuration = StdDuration::from_millis(50);

/// What the live pages redraw.
#[derive(Serialize)]
struct LiveState {
    points: Vec<PointView>,
    alerts: Vec<AlertView>,
}

/// `GET /monitoring/events`: a `state` event at once, then after every change.
async fn events<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> Result<Response, super::PageError> {
    // Subscribe before the first read, so no change can fall in between.
    let receiver = app.live().subscribe_monitoring();
    let closed = app.live().closed();
    Ok(crate::live::sse_response(live_stream(app, receiver), closed))
}

fn live_stream<S: Store>(
    app: App<S>,
    receiver: broadcast::Receiver<i64>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold((app, receiver, true), |(app, mut receiver, first)| async move {
        if !first && !wait_for_change(&mut receiver).await {
            return None;
        }
        let monitoring = app.monitoring();
        let state = LiveState {
            points: monitoring.list().await.ok()?,
            alerts: monitoring.alerts(AlertQuery::default()).await.ok()?,
        };
        let event = Event::default().event("state").json_data(&state).ok()?;
        Some((Ok(event), (app, receiver, false)))
    })
}

/// Waits for a change (then lets a burst settle) or the recheck; false when the hub closed.
async fn wait_for_change(receiver: &mut broadcast::Receiver<i64>) -> bool {
    tokio::select! {
        received = receiver.recv() => {
            if matches!(received, Err(broadcast::error::RecvError::Closed)) {
                return false;
            }
            tokio::time::sleep(SETTLE).await;
            while receiver.try_recv().is_ok() {}
            true
        }
        () = tokio::time::sleep(RECHECK) => true,
    }
}
