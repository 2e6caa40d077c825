//! Probes and metrics for operators (运维): `/healthz` (the process answers),
//! `/readyz` (the database answers with a current schema and the data
//! directory has room; 503 otherwise) and `/metrics` in the Prometheus text
//! format, for loopback and the addresses `metrics_allow` names.
//!
//! HTTP figures are counted here by a layer over every route: requests by
//! method, route template (never the raw path, so the series stay few) and
//! status, and a latency histogram per route. The rest is read from the
//! application at scrape time ([`mashangban_app::health::Snapshot`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use mashangban_app::App;
use mashangban_app::health::Snapshot;
use mashangban_store::{BATCH_SIZE_BOUNDS, Store};

use crate::ApiError;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BOUNDS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// The probe and metrics routes.
pub fn routes<S: Store>() -> Router<App<S>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
}

/// The HTTP figures of this server.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    series: Mutex<HashMap<(String, String), RouteSeries>>,
}

#[derive(Debug, Default, Clone)]
struct RouteSeries {
    statuses: BTreeMap<u16, u64>,
    /// Not cumulative: requests whose latency fell at or under the bound of the same index and above
    /// the one before; the last slot holds those over every bound.
    buckets: [u64; LATENCY_BOUNDS.len() + 1],
    sum_seconds: f64,
}

impl HttpMetrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut series) = self.series.lock() else { return };
        let entry = series.entry((method.to_owned(), route.to_owned())).or_default();
        *entry.statuses.entry(status).or_default() += 1;
        let bucket = LATENCY_BOUNDS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BOUNDS.len());
        entry.buckets[bucket] += 1;
        entry.sum_seconds += seconds;
    }

    fn sorted(&self) -> Vec<((String, String), RouteSeries)> {
        let mut all: Vec<_> = self.series.lock().map(|s| s.clone().into_iter().collect()).unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The layer that counts every answer by its route template.
pub async fn count(Extension(metrics): Extension<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    // A method is any token a client sends: those outside the standard ones share one series, so the
    // figures' memory stays bounded by the routes.
    let method = match *request.method() {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::DELETE | Method::PATCH | Method::OPTIONS => {
            request.method().as_str()
        }
        _ => "OTHER",
    }
    .to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, |p| p.as_str()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn readyz<S: Store>(State(app): State<App<S>>) -> Response {
    let readiness = app.readiness().await;
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}

async fn metrics<S: Store>(
    State(app): State<App<S>>,
    Extension(http): Extension<Arc<HttpMetrics>>,
    request: Request,
) -> Response {
    let settings = app.settings();
    let client = crate::auth::client_address(request.extensions(), request.headers(), &settings.trusted_proxies)
        .and_then(|c| c.parse::<IpAddr>().ok());
    if !client.is_some_and(|ip| ip.is_loopback() || settings.metrics_allow.contains(&ip)) {
        return ApiError::new(StatusCode::FORBIDDEN, "metrics_not_allowed", "此地址无权读取运行指标（metrics_allow）")
            .into_response();
    }
    let snapshot = app.snapshot().await;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    (headers, exposition(&http, &snapshot)).into_response()
}

/// The Prometheus text exposition of every figure.
pub fn exposition(http: &HttpMetrics, snapshot: &Snapshot) -> String {
    let mut out = Text::default();
    write_http(&mut out, http);
    write_store(&mut out, snapshot);
    write_jobs_and_alerts(&mut out, snapshot);
    out.0
}

fn write_http(out: &mut Text, http: &HttpMetrics) {
    let series = http.sorted();
    out.family("mashangban_http_requests_total", "counter", "HTTP requests answered, by method, route and status.");
    for ((method, route), s) in &series {
        for (status, n) in &s.statuses {
            let status = status.to_string();
            out.sample(
                "mashangban_http_requests_total",
                &[("method", method), ("route", route), ("status", &status)],
                *n,
            );
        }
    }
    let name = "mashangban_http_request_duration_seconds";
    out.family(name, "histogram", "Time to the response head, by method and route.");
    for ((method, route), s) in &series {
        let labels = [("method", method.as_str()), ("route", route.as_str())];
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BOUNDS.iter().enumerate() {
            cumulative += s.buckets[i];
            out.bucket(name, &labels, &bound.to_string(), cumulative);
        }
        let count = cumulative + s.buckets[LATENCY_BOUNDS.len()];
        out.bucket(name, &labels, "+Inf", count);
        out.sample(&format!("{name}_sum"), &labels, s.sum_seconds);
        out.sample(&format!("{name}_count"), &labels, count);
    }
}

fn write_store(out: &mut Text, snapshot: &Snapshot) {
    if let Some(schema) = snapshot.schema {
        out.gauge("mashangban_schema_version_applied", "The database's schema version.", schema.applied);
        out.gauge("mashangban_schema_version_known", "The newest schema version this program knows.", schema.known);
    }
    if let Some(writer) = &snapshot.machinery.writer {
        out.gauge("mashangban_sqlite_writer_queue", "Writes waiting for the SQLite writer thread.", writer.queued);
        let name = "mashangban_sqlite_writer_batch_size";
        out.family(name, "histogram", "Jobs committed per SQLite write transaction (group commit).");
        for (bound, n) in BATCH_SIZE_BOUNDS.iter().zip(writer.batch_size_buckets) {
            out.bucket(name, &[], &bound.to_string(), n);
        }
        out.bucket(name, &[], "+Inf", writer.batches);
        out.sample(&format!("{name}_sum"), &[], writer.jobs);
        out.sample(&format!("{name}_count"), &[], writer.batches);
    }
    let pool = &snapshot.machinery.pool;
    out.gauge(
        "mashangban_db_pool_max",
        "The most database connections (SQLite readers or the PostgreSQL pool).",
        pool.max,
    );
    out.gauge("mashangban_db_pool_open", "Database connections open.", pool.open);
    out.gauge("mashangban_db_pool_idle", "Open database connections not in use.", pool.idle);
    out.gauge("mashangban_db_pool_waiting", "Callers waiting for a database connection.", pool.waiting);
    let Some(queues) = &snapshot.queues else { return };
    out.family("mashangban_outbox_deliveries", "gauge", "Notification deliveries in the outbox, by status.");
    for (status, n) in &queues.outbox {
        out.sample("mashangban_outbox_deliveries", &[("status", status)], *n);
    }
    let oldest = queues.outbox_oldest_due.map_or(0, |due| (snapshot.now - due).num_seconds().max(0));
    out.gauge("mashangban_outbox_oldest_pending_seconds", "How long the oldest pending delivery has been due.", oldest);
    out.gauge("mashangban_change_feed_head", "The change feed's newest position.", queues.feed_head);
    let name = "mashangban_change_feed_lag";
    out.family(name, "gauge", "Change-feed positions a stored cursor is behind the head, by consumer.");
    for (consumer, position) in &queues.feed_cursors {
        out.sample(name, &[("consumer", consumer)], (queues.feed_head - position).max(0));
    }
    if let Some(disk) = snapshot.disk {
        out.gauge("mashangban_data_dir_available_bytes", "Free bytes under the data directory.", disk.available_bytes);
    }
}

fn write_jobs_and_alerts(out: &mut Text, snapshot: &Snapshot) {
    let name = "mashangban_scheduler_runs_total";
    out.family(name, "counter", "Background job runs on this node, by job and outcome.");
    for (job, runs) in &snapshot.jobs {
        out.sample(name, &[("job", job), ("outcome", "ok")], runs.ok);
        out.sample(name, &[("job", job), ("outcome", "failed")], runs.failed);
    }
    let name = "mashangban_alert";
    out.family(name, "gauge", "1 while an alert is firing: a condition an operator must act on.");
    for (alert, firing) in &snapshot.alerts {
        out.sample(name, &[("alert", alert)], u8::from(*firing));
    }
}

/// The text being written.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        self.labels(labels, None);
        let _ = writeln!(self.0, " {value}");
    }

    fn bucket(&mut self, name: &str, labels: &[(&str, &str)], le: &str, count: u64) {
        self.0.push_str(name);
        self.0.push_str("_bucket");
        self.labels(labels, Some(le));
        let _ = writeln!(self.0, " {count}");
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        let all: Vec<(&str, &str)> = labels.iter().copied().chain(le.map(|le| ("le", le))).collect();
        if all.is_empty() {
            return;
        }
        self.0.push('{');
        for (i, (key, value)) in all.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let _ = write!(self.0, "{key}=\"{}\"", escape(value));
        }
        self.0.push('}');
    }
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_into_cumulative_buckets_and_labels_are_escaped() {
        let http = HttpMetrics::default();
        http.observe("GET", "/api/v1/requests/{no}", 200, 0.0004);
        http.observe("GET", "/api/v1/requests/{no}", 404, 0.03);
        http.observe("GET", "/api/v1/requests/{no}", 200, 42.0);
        http.observe("POST", "a\"b\\c\nd", 201, 0.002);
        let mut out = Text::default();
        write_http(&mut out, &http);
        let text = out.0;
        let get = r#"method="GET",route="/api/v1/requests/{no}""#;
        assert!(text.contains(&format!("mashangban_http_requests_total{{{get},status=\"200\"}} 2\n")), "{text}");
        assert!(text.contains(&format!("mashangban_http_requests_total{{{get},status=\"404\"}} 1\n")));
        assert!(text.contains(&format!("mashangban_http_request_duration_seconds_bucket{{{get},le=\"0.001\"}} 1\n")));
        assert!(text.contains(&format!("mashangban_http_request_duration_seconds_bucket{{{get},le=\"0.05\"}} 2\n")));
        assert!(text.contains(&format!("mashangban_http_request_duration_seconds_bucket{{{get},le=\"10\"}} 2\n")));
        assert!(text.contains(&format!("mashangban_http_request_duration_seconds_bucket{{{get},le=\"+Inf\"}} 3\n")));
        assert!(text.contains(&format!("mashangban_http_request_duration_seconds_count{{{get}}} 3\n")));
        assert!(text.contains(r#"route="a\"b\\c\nd""#), "{text}");
    }
}
