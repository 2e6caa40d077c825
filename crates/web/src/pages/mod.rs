//! Server-rendered pages: the public portal (submit, answer, live progress,
//! rating) and the staff pages (sign in, work queue, request detail with its
//! actions, the operator's console). Every page goes through the same store calls, scopes and checks
//! as the API; a page is never the only guard. Templates are in
//! `crates/web/templates/` (askama, escaped by default); CSS and scripts are
//! embedded in the binary and served under `/assets/`.

mod admin;
mod assets;
mod console;
mod dashboard;
mod portal;
mod staff;
mod submit;
mod supervise;
mod track;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use mashangban_store::Store;

use crate::error::ApiError;
use crate::state::AppState;

/// Pages load nothing from elsewhere and run no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Files a portal submission may carry.
pub const MAX_PORTAL_FILES: usize = 5;

pub fn routes<S: Store>(state: &AppState<S>) -> Router<AppState<S>> {
    let submit_limit = state.config.max_attachment_bytes * MAX_PORTAL_FILES + 256 * 1024;
    let submit = Router::new()
        .route("/submit", get(submit::form::<S>).post(submit::post::<S>))
        .route("/track/{no}/materials", post(track::materials::<S>))
        .route("/work/{no}/attachments", post(staff::upload::<S>))
        .layer(DefaultBodyLimit::max(submit_limit));
    let pages = Router::new()
        .route("/", get(portal::home))
        .route("/submitted/{no}", get(portal::submitted::<S>))
        .route("/track", get(track::lookup))
        .route("/track/{no}", get(track::progress::<S>))
        .route("/track/{no}/rate", post(track::rate::<S>))
        .route("/track/{no}/reopen", post(track::reopen::<S>))
        .route("/login", get(staff::login_form).post(staff::login::<S>))
        .route("/logout", post(staff::logout::<S>))
        .route("/console", get(console::form::<S>).post(console::post::<S>))
        .route("/work", get(staff::queue::<S>))
        .route("/dashboard", get(dashboard::page::<S>))
        .route("/supervise", get(supervise::page::<S>))
        .route("/work/{no}", get(staff::detail::<S>))
        .route("/work/{no}/{action}", post(staff::act::<S>))
        .layer(DefaultBodyLimit::max(crate::api::JSON_LIMIT))
        .merge(submit)
        .merge(admin::routes::<S>())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    // The event stream sets its own caching headers and is never compressed.
    pages.route("/track/{no}/events", get(crate::live::events::<S>)).merge(assets::routes::<S>())
}

/// What the base layout needs on every page.
pub struct Layout {
    pub title: String,
    /// The signed-in staff member's name, on staff pages.
    pub staff_name: Option<String>,
    /// A digest of the embedded assets, so their URLs change with them.
    pub assets: &'static str,
    /// Whether to link the operator's console (受理台).
    pub console: bool,
    /// Whether to link the administration pages (系统管理).
    pub admin: bool,
    /// Whether to link the leader dashboard (领导驾驶舱).
    pub dashboard: bool,
    /// Whether to link the supervisor's page (督查督办).
    pub supervise: bool,
}

impl Layout {
    pub fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            staff_name: None,
            assets: assets::version(),
            console: false,
            admin: false,
            dashboard: false,
            supervise: false,
        }
    }

    /// A staff page; operators get the link to their console, administrators to 系统管理.
    pub fn staff(title: impl Into<String>, actor: &mashangban_domain::org::Actor) -> Self {
        Self {
            title: title.into(),
            staff_name: Some(actor.name().to_owned()),
            assets: assets::version(),
            console: actor.has_role(&[mashangban_domain::org::Role::Operator]),
            admin: actor.has_role(&[mashangban_domain::org::Role::Admin]),
            dashboard: actor.has_role(crate::api::dashboard::DASHBOARD_READERS),
            supervise: actor.has_role(supervise::SUPERVISE_ROLES),
        }
    }
}

/// One choice of a `<select>` or radio group.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Self { value: value.into(), label: label.into(), selected }
    }
}

/// Renders a template with a status; a template failure is a plain 500.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, "page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面生成失败，请稍后再试").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

/// A failed page: an error page with the status and the Chinese message, or
/// a redirect to the sign-in page.
pub enum PageError {
    Status(StatusCode, String),
    SignIn,
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::UNAUTHORIZED => Self::SignIn,
            status => Self::Status(status, e.message),
        }
    }
}

impl From<mashangban_store::StoreError> for PageError {
    fn from(e: mashangban_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/login").into_response(),
            Self::Status(status, message) => {
                let page = ErrorPage { layout: Layout::public("出错了"), status: status.as_u16(), message };
                render(status, &page)
            }
        }
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// `2026-11-29T10:00:00.000+08:00` → `2026-11-29 10:00` (the time is always +08:00).
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).map_or_else(|| rfc3339.to_owned(), |s| s.replacen('T', " ", 1))
}

/// A tracking number or check code as typed: letters and digits only.
pub fn plain_code(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_alphanumeric())).then_some(s)
}

/// The fields the portal form and the operator console share with the API's intake.
pub(crate) struct IntakeFields<'a> {
    pub enterprise: bool,
    pub credit_code: &'a str,
    pub enterprise_name: &'a str,
    pub contact_name: &'a str,
    pub phone: &'a str,
    pub category: &'a str,
    pub town: &'a str,
    pub address: &'a str,
    pub title: &'a str,
    pub content: &'a str,
}

impl IntakeFields<'_> {
    /// The body `POST /api/v1/requests` takes for these fields.
    pub(crate) fn input(
        &self,
        kind: mashangban_domain::request::RequestKind,
        urgency: Option<mashangban_domain::request::Urgency>,
        channel: Option<mashangban_domain::request::Channel>,
    ) -> crate::input::IntakeInput {
        use crate::input::{AskerInput, ContactInput, IntakeInput};
        let asker = if self.enterprise {
            AskerInput::Enterprise {
                credit_code: self.credit_code.trim().to_owned(),
                name: self.enterprise_name.to_owned(),
            }
        } else {
            AskerInput::Resident
        };
        let given = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        IntakeInput {
            kind,
            urgency,
            channel,
            asker,
            contact: ContactInput { name: self.contact_name.to_owned(), phone: self.phone.to_owned(), email: None },
            title: self.title.to_owned(),
            content: self.content.to_owned(),
            category: self.category.to_owned(),
            town: given(self.town),
            address: given(self.address),
            location: None,
            ledger_ref: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shortened_and_codes_checked() {
        assert_eq!(short_time("2026-11-29T10:00:00.000+08:00"), "2026-11-29 10:00");
        assert_eq!(short_time("x"), "x");
        assert_eq!(plain_code(" ZS20261129000001 "), Some("ZS20261129000001"));
        assert_eq!(plain_code("ZS/../x"), None);
        assert_eq!(plain_code(""), None);
    }
}
