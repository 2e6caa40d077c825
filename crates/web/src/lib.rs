//! The HTTP layer of mashangban: the `/api/v1` JSON API, authentication and
//! the public progress look-up. Thin by design: handlers parse, call the
//! store (which calls the domain), and render views.

pub mod api;
pub mod auth;
pub mod calendar;
mod cluster;
pub mod error;
pub mod input;
pub mod json;
pub mod live;
pub mod notify;
pub mod open311;
pub mod openapi;
pub mod pages;
pub mod ratelimit;
pub mod scheduler;
pub mod state;
pub mod views;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use mashangban_store::Store;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, WebConfig};

/// The whole application.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    api::routes(&state)
        .merge(open311::routes(&state))
        .merge(pages::routes(&state))
        .fallback(fallback)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn fallback(method: axum::http::Method) -> impl IntoResponse {
    if method == axum::http::Method::GET || method == axum::http::Method::POST {
        ApiError::not_found()
    } else {
        ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "不支持的请求方法")
    }
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
