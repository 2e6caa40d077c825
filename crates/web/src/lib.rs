//! The HTTP layer of mashangban: the `/api/v1` JSON API, the HTML pages,
//! Open311 and the live progress stream, as thin adapters over the
//! application layer (`mashangban_app`): parse HTTP, call a service, render.
//! Every route is declared once in [`routes`] with its access, which the
//! router, the guard, the OpenAPI document and the staff menu all read.

pub mod api;
pub mod auth;
pub mod card_pdf;
pub mod connection;
pub mod download;
pub mod error;
pub mod extract;
pub mod json;
pub mod live;
pub mod open311;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod routes;
pub mod upload;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use mashangban_store::Store;

pub use error::{ApiError, ApiResult};
pub use mashangban_app::App;

/// The application under its former name, for callers that build a server
/// (the benchmarks, the PostgreSQL store tests).
pub type AppState<S> = App<S>;

/// The application's settings under their former name.
pub type WebConfig = mashangban_app::Settings;

/// The whole application.
pub fn router<S: Store>(app: App<S>) -> Router {
    let declared = routes::all::<S>(app.settings());
    routes::router(&app, declared)
        .merge(ops::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(axum::middleware::from_fn(refuse_control_characters_in_uri))
        .layer(axum::middleware::from_fn(api_errors_are_json))
        .layer(compression(app.settings().compression_level))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(ops::count))
        .layer(axum::Extension(std::sync::Arc::new(ops::HttpMetrics::default())))
        .layer(axum::middleware::from_fn(connection::keep_alive_or_close))
        .with_state(app)
}

/// Pages, JSON and CSV answers of 1 KiB and more are compressed (brotli or gzip, as the client accepts)
/// at `level` (`Settings::compression_level`, a fast 4 unless configured; 0: not at all), since each is
/// compressed as it is sent; the assets come compressed already
/// (`pages::assets`), and live streams, images and spreadsheets (already zipped) are left alone. A
/// compressed HTTPS answer leaks the length of a secret only when the same secret is sent many times
/// beside text an attacker chooses (BREACH); the one secret in a body, the check code on the answer page,
/// is new with every submission.
fn compression(level: u8) -> CompressionLayer<impl Predicate> {
    let enabled = level > 0;
    let worth_compressing = SizeAbove::new(1024)
        .and(move |_: StatusCode, _: Version, _: &HeaderMap, _: &Extensions| enabled)
        .and(NotForContentType::SSE)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("application/vnd.openxmlformats"))
        .and(NotForContentType::const_new("application/zip"));
    CompressionLayer::new().quality(CompressionLevel::Precise(i32::from(level))).compress_when(worth_compressing)
}

/// Refuses a request whose path or query holds a control character once percent-decoded (`%00` in a
/// tracking number, an Open311 id or a filter): 400 `control_character` before any handler or store sees
/// it. JSON bodies are checked where they are parsed (`mashangban_app::json::parse_json`).
async fn refuse_control_characters_in_uri(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let uri = request.uri();
    let parts = [percent_decoded(uri.path()), percent_decoded(uri.query().unwrap_or_default())];
    if parts.iter().any(|part| part.chars().any(char::is_control)) {
        return ApiError::from(mashangban_app::json::control_character()).into_response();
    }
    next.run(request).await
}

/// Every `/api/` error answers the `{code, message}` body. The extractors of
/// `crate::extract` and `crate::json` already answer so; this catches what is
/// left of axum's plain-text rejections (a body over the route's limit, a
/// rejection of an extractor a handler still takes from axum) by its status.
async fn api_errors_are_json(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return response;
    }
    tracing::debug!(%status, "a non-JSON error answer on the API replaced by its JSON form");
    let (code, message) = match status.as_u16() {
        400 => ("bad_request", "请求格式不正确"),
        404 => ("not_found", "资源不存在"),
        405 => ("method_not_allowed", "不支持的请求方法"),
        413 => ("payload_too_large", "请求体过大"),
        415 => ("unsupported_media_type", "不支持的请求内容类型"),
        422 => ("invalid_input", "请求内容无法识别"),
        429 => ("rate_limited", "请求过于频繁，请稍后再试"),
        s if s >= 500 => ("internal_error", "服务器内部错误，请稍后再试"),
        _ => ("bad_request", "请求无法处理"),
    };
    ApiError::new(status, code, message).into_response()
}

/// `text` with its `%XX` escapes decoded (invalid UTF-8 as U+FFFD, which is not a control character).
fn percent_decoded(text: &str) -> std::borrow::Cow<'_, str> {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy()
}

/// No route: Open311 answers in its own format, everything else as the API does.
async fn fallback(method: Method, uri: Uri) -> Response {
    if uri.path().starts_with("/open311/") {
        return open311::unknown(uri).await;
    }
    if method == Method::GET || method == Method::POST {
        ApiError::not_found().into_response()
    } else {
        ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "不支持的请求方法")
            .into_response()
    }
}

/// A path that exists, called with a method it does not take: the API's JSON error (axum's own answer
/// has an empty body).
async fn method_not_allowed() -> Response {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "不支持的请求方法").into_response()
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    app: App<S>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = app.live().clone();
    let shutdown = async move {
        shutdown.await;
        // Live streams never end by themselves; the graceful shutdown waits for every connection.
        live.close_streams();
    };
    // The first dashboard would otherwise wait seconds for ECharts to be compressed.
    tokio::task::spawn_blocking(pages::assets::warm);
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
