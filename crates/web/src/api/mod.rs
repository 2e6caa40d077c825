//! The JSON API at `/api/v1`.

pub(crate) mod admin;
pub(crate) mod attachments;
pub(crate) mod calendar;
mod catalog;
pub(crate) mod dashboard;
mod docs;
pub(crate) mod knowledge;
mod notifications;
pub(crate) mod public;
pub(crate) mod requests;
pub(crate) mod scores;
mod session;
pub(crate) mod time_limits;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use mashangban_store::Store;

use crate::state::AppState;

/// The largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

pub fn routes<S: Store>(state: &AppState<S>) -> Router<AppState<S>> {
    let upload_limit = state.config.max_attachment_bytes + 64 * 1024;
    let uploads = Router::new()
        .route("/api/v1/requests/{no}/attachments", post(attachments::upload::<S>).get(attachments::list::<S>))
        .route("/api/v1/public/requests/{no}/attachments", post(public::upload::<S>))
        .layer(DefaultBodyLimit::max(upload_limit));
    Router::new()
        .route("/api/v1/auth/login", post(session::login::<S>))
        .route("/api/v1/auth/logout", post(session::logout::<S>))
        .route("/api/v1/auth/me", get(session::me::<S>))
        .route("/api/v1/units", get(catalog::units::<S>))
        .route("/api/v1/categories", get(catalog::categories::<S>))
        .route("/api/v1/requests", post(requests::intake::<S>).get(requests::list::<S>))
        .route("/api/v1/requests/{no}", get(requests::detail::<S>))
        .route("/api/v1/requests/{no}/attachments/{id}", get(attachments::download::<S>))
        .route("/api/v1/requests/{no}/{action}", post(requests::act::<S>))
        .route("/api/v1/public/requests", post(requests::intake::<S>))
        .route("/api/v1/public/requests/{no}", get(public::progress::<S>))
        .route("/api/v1/public/requests/{no}/withdraw", post(public::withdraw::<S>))
        .route("/api/v1/public/requests/{no}/rate", post(public::rate::<S>))
        .route("/api/v1/public/requests/{no}/reopen-request", post(public::request_reopen::<S>))
        .merge(calendar::routes::<S>())
        .merge(scores::routes::<S>())
        .merge(dashboard::routes::<S>())
        .merge(notifications::routes::<S>())
        .merge(time_limits::routes::<S>())
        .merge(knowledge::routes::<S>())
        .merge(admin::routes::<S>())
        .merge(docs::routes::<S>())
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .merge(uploads)
}
