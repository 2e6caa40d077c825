//! Server-rendered pages: the public portal (submit, answer, live progress,
//! rating) and the staff pages (sign in, work queue, request detail with its
//! actions, the operator's console, dashboards, administration). Each page
//! reads its form, calls a service of the app and renders the typed answer;
//! access is declared on its route (with its menu entry) and enforced before
//! it runs. Templates are in `crates/web/templates/` (askama, escaped by
//! default); CSS and scripts are embedded and served under `/assets/`.

mod accounts;
mod admin;
mod approval_template;
mod approvals;
pub(crate) mod assets;
mod command;
mod command_reports;
mod compensation;
mod conflict;
mod console;
mod creeks;
mod dashboard;
mod direct_line;
mod direct_line_live;
pub(crate) mod documents;
mod enforcement;
mod enterprises;
mod fund;
mod inbox;
mod ledgers;
mod liaisons;
mod monitoring;
mod monitoring_points;
mod my_account;
mod onsite;
mod parks;
mod portal;
mod staff;
mod statistics;
mod submit;
mod supervise;
mod track;
mod visits;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use mashangban_app::{AppError, Settings};
use mashangban_domain::access::Permission;
use mashangban_domain::org::Actor;
use mashangban_store::Store;

use crate::error::ApiError;
use crate::routes::{Menu, MenuKind, NavEntry, Route};

/// Pages load nothing from elsewhere and run no inline script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Files a portal submission may carry.
pub const MAX_PORTAL_FILES: usize = 5;

/// Every page route, with the staff menu entries.
pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    let mut routes =
        vec![Route::get("/", portal::home).public(), Route::get("/submitted/{no}", portal::submitted::<S>).public()];
    routes.extend(submit::routes::<S>(settings));
    routes.extend(accounts::routes::<S>());
    routes.extend(my_account::routes::<S>());
    routes.extend(track::routes::<S>(settings));
    routes.extend(staff::routes::<S>(settings));
    routes.extend(console::routes::<S>());
    routes.extend(dashboard::routes::<S>());
    routes.extend(supervise::routes::<S>());
    routes.extend(enterprises::routes::<S>());
    routes.extend(ledgers::routes::<S>());
    routes.extend(creeks::routes::<S>());
    routes.extend(command::routes::<S>());
    routes.extend(command_reports::routes::<S>());
    routes.extend(liaisons::routes::<S>());
    routes.extend(approvals::routes::<S>());
    routes.extend(statistics::routes::<S>());
    routes.extend(monitoring::routes::<S>());
    routes.extend(monitoring_points::routes::<S>());
    routes.extend(parks::routes::<S>());
    routes.extend(enforcement::routes::<S>());
    routes.extend(compensation::routes::<S>());
    routes.extend(onsite::routes::<S>());
    routes.extend(fund::routes::<S>());
    routes.extend(documents::routes::<S>());
    routes.extend(visits::routes::<S>());
    routes.extend(inbox::routes::<S>());
    routes.extend(direct_line::routes::<S>());
    routes.extend(admin::routes::<S>());
    routes.extend(assets::routes::<S>());
    routes
}

/// The headers of every page: a strict CSP, and no caching of personal data.
pub fn headers<S: Clone + Send + Sync + 'static>(
    handler: axum::routing::MethodRouter<S>,
) -> axum::routing::MethodRouter<S> {
    use tower_http::set_header::SetResponseHeaderLayer;
    let csp = SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    let no_store = SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    handler.layer::<_, std::convert::Infallible>(csp).layer::<_, std::convert::Infallible>(no_store)
}

/// What the base layout needs on every page.
pub struct Layout {
    pub title: String,
    /// The signed-in person's name, on staff pages.
    pub staff_name: Option<String>,
    /// A digest of the embedded assets, so their URLs change with them.
    pub assets: &'static str,
    /// The menu entries the person may open.
    pub nav: Vec<NavLink>,
    /// A warning for administrators above the page (next year's holiday notice missing).
    pub warning: Option<String>,
    /// Whether the header shows the live unread count of the person's inbox.
    pub inbox: bool,
}

impl Layout {
    /// The largest form body a page takes, for the page's own check before sending (`forms.js`).
    pub fn form_limit(&self) -> usize {
        crate::extract::FORM_LIMIT
    }

    pub fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            staff_name: None,
            assets: assets::version(),
            nav: Vec::new(),
            warning: None,
            inbox: false,
        }
    }

    /// A staff page: the main menu the person may use, and 系统管理 when any
    /// of its sections is theirs. An enterprise or resident account gets the
    /// portal's way in instead of the staff 工作台: 提交诉求, 我的诉求, 查询进度.
    pub fn staff(title: impl Into<String>, actor: &Actor, menu: &Menu) -> Self {
        let mut nav: Vec<NavLink> = menu.for_actor(MenuKind::Main, actor).iter().map(NavLink::from).collect();
        if let Some(first) = menu.for_actor(MenuKind::Admin, actor).first() {
            nav.push(NavLink { label: "系统管理", path: first.path });
        }
        if matches!(actor, Actor::Account(_)) {
            nav.retain(|n| n.path != "/work");
            nav.splice(0..0, ACCOUNT_NAV.iter().copied());
        }
        let inbox = nav.iter().any(|n| n.path == "/inbox");
        Self {
            title: title.into(),
            staff_name: Some(actor.name().to_owned()),
            assets: assets::version(),
            nav,
            warning: None,
            inbox,
        }
    }

    /// A page of the portal: as [`Layout::staff`] for someone signed in (an
    /// account sees its 我的诉求 in the header), else the public header.
    pub fn portal(title: impl Into<String>, actor: &Actor, menu: &Menu) -> Self {
        match actor {
            Actor::Staff(_) | Actor::Account(_) => Self::staff(title, actor, menu),
            _ => Self::public(title),
        }
    }
}

/// A link of the header's menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavLink {
    pub label: &'static str,
    pub path: &'static str,
}

impl From<&NavEntry> for NavLink {
    fn from(entry: &NavEntry) -> Self {
        Self { label: entry.label, path: entry.path }
    }
}

/// The header of a signed-in enterprise or resident account.
const ACCOUNT_NAV: [NavLink; 3] = [
    NavLink { label: "提交诉求", path: "/submit" },
    NavLink { label: "我的诉求", path: "/work?queue=mine" },
    NavLink { label: "查询进度", path: "/track" },
];

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
#[derive(Debug)]
pub enum PageError {
    Status(StatusCode, String),
    SignIn,
}

impl PageError {
    pub fn forbidden(permission: Permission) -> Self {
        Self::Status(StatusCode::FORBIDDEN, permission.refusal())
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::UNAUTHORIZED => Self::SignIn,
            status => Self::Status(status, e.message),
        }
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
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

/// A refusal to show next to a form (status and message), or — signed out,
/// forbidden, cross-site — an error of the whole page.
pub fn shown(e: impl Into<ApiError>) -> Result<(StatusCode, String), PageError> {
    let e: ApiError = e.into();
    if e.status == StatusCode::UNAUTHORIZED || e.code == "csrf_rejected" || e.status == StatusCode::FORBIDDEN {
        return Err(e.into());
    }
    Ok((e.status, e.message))
}

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
    /// The ledger item (台账条目) as `type:key`; blank for none.
    pub ledger_ref: &'a str,
}

impl IntakeFields<'_> {
    /// The intake these fields make.
    pub(crate) fn input(
        &self,
        kind: mashangban_domain::request::RequestKind,
        urgency: Option<mashangban_domain::request::Urgency>,
        channel: Option<mashangban_domain::request::Channel>,
    ) -> mashangban_app::input::IntakeInput {
        use mashangban_app::input::{AskerInput, ContactInput, IntakeInput};
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
            ledger_ref: given(self.ledger_ref),
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
