//! Staff pages: sign in and out (through the API's own session handlers), the
//! work queue, and a request's detail with the actions the role may take.
//! Every read goes through the store with the actor's scope, every action
//! through the API's action handler; out of scope is 404 as in the API.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, Request as HttpRequest, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower::ServiceExt;

use mashangban_domain::lifecycle::{Action, check_permission};
use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_domain::request::{Request, State as RequestState};
use mashangban_store::{ListFilter, ListOrder, Store};

use super::{Choice, Layout, PageError, PageResult, render, short_time};
use crate::api::requests;
use crate::auth::Auth;
use crate::json::RawJson;
use crate::state::AppState;
use crate::views::{self, EventView, Lookup, RequestView};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    error: Option<String>,
}

/// `GET /login`.
pub async fn login_form() -> Response {
    render(StatusCode::OK, &LoginPage { layout: Layout::public("工作人员登录"), username: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`: signs in through `POST /api/v1/auth/login` itself (same
/// password check, rate limit and session cookie), then goes to the queue.
pub async fn login<S: Store>(State(state): State<AppState<S>>, auth: Auth, Form(form): Form<LoginForm>) -> Response {
    let body = serde_json::json!({ "username": form.username.trim(), "password": form.password });
    let answer = call_api(&state, Method::POST, "/api/v1/auth/login", &auth, HeaderMap::new(), body.to_string()).await;
    if answer.status() == StatusCode::OK {
        let mut response = Redirect::to("/work").into_response();
        if let Some(cookie) = answer.headers().get(header::SET_COOKIE) {
            response.headers_mut().insert(header::SET_COOKIE, cookie.clone());
        }
        return response;
    }
    let status = answer.status();
    let error = Some(api_message(answer).await);
    render(status, &LoginPage { layout: Layout::public("工作人员登录"), username: form.username, error })
}

/// `POST /logout`: ends the session through `POST /api/v1/auth/logout` (with
/// the browser's own headers, so its same-origin check applies).
pub async fn logout<S: Store>(State(state): State<AppState<S>>, auth: Auth, headers: HeaderMap) -> Response {
    let answer = call_api(&state, Method::POST, "/api/v1/auth/logout", &auth, headers, String::new()).await;
    let mut response = Redirect::to("/login").into_response();
    if let Some(cookie) = answer.headers().get(header::SET_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// Sends one request through the API's router, from the same client address.
async fn call_api<S: Store>(
    state: &AppState<S>,
    method: Method,
    path: &str,
    auth: &Auth,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut request = HttpRequest::new(Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap_or_default();
    *request.headers_mut() = headers;
    request.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    if let Some(ip) = auth.client_ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()) {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    let api = crate::api::routes(state).with_state(state.clone());
    match api.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The Chinese message of an API error answer.
async fn api_message(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "登录失败，请稍后再试".to_owned())
}

/// One row of the queue.
struct Row {
    view: RequestView,
    countdown: Option<Countdown>,
}

/// The nearest running deadline of a request.
pub struct Countdown {
    pub label: &'static str,
    pub due: String,
    pub text: String,
    pub overdue: bool,
}

fn countdown(view: &RequestView) -> Option<Countdown> {
    let (d, minutes) = view
        .deadlines
        .iter()
        .filter_map(|d| d.remaining_minutes.map(|m| (d, m)))
        .min_by_key(|(_, m)| *m)?;
    let amount = |m: i64| if m >= 60 { format!("{}小时{}分", m / 60, m % 60) } else { format!("{m}分钟") };
    let text = if minutes < 0 { format!("已超期 {}", amount(-minutes)) } else { format!("剩余 {}", amount(minutes)) };
    Some(Countdown { label: d.label, due: short_time(&d.due_at), text, overdue: minutes < 0 })
}

#[derive(Template)]
#[template(path = "work.html")]
struct QueuePage {
    layout: Layout,
    heading: &'static str,
    rows: Vec<Row>,
}

/// `GET /work`: dispatchers see what waits to be dispatched (received and
/// returned); units their queue by nearest deadline. Always in scope.
pub async fn queue<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> PageResult {
    let actor = auth.require_login()?;
    let dispatching = actor.has_role(&[Role::Dispatcher, Role::Operator]);
    let (filter, heading) = if dispatching {
        let states = vec![RequestState::Received, RequestState::Returned];
        (ListFilter { states, limit: 100, ..ListFilter::default() }, "待派单（已受理、退单待审）")
    } else {
        (ListFilter { order: ListOrder::Deadline, limit: 100, ..ListFilter::default() }, "本单位待办（按期限）")
    };
    let page = state.store.list(&filter, &actor.scope()).await?;
    let (org, categories, calendar) = (state.org(), state.categories(), state.calendar());
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    let rows = page
        .items
        .iter()
        .map(|r| views::request_view(r, actor, &lookup, None))
        .map(|view| Row { countdown: countdown(&view), view })
        .collect();
    let page = QueuePage { layout: Layout::staff("工作台", actor.name()), heading, rows };
    Ok(render(StatusCode::OK, &page))
}

/// The actions a page offers, each shown only where the role and state allow it.
#[derive(Default)]
struct Actions {
    /// The units to dispatch to, the category's default lead unit selected.
    dispatch: Option<Vec<Choice>>,
    sign: bool,
    stage_reply: bool,
    reply: bool,
    close: bool,
}

impl Actions {
    fn any(&self) -> bool {
        self.dispatch.is_some() || self.sign || self.stage_reply || self.reply || self.close
    }
}

fn may(request: &Request, actor: &Actor, action: &Action) -> bool {
    action.allowed_from().contains(&request.state) && check_permission(request, actor, action).is_ok()
}

fn actions<S: Store>(state: &AppState<S>, request: &Request, actor: &Actor) -> Actions {
    let dispatch = Action::Dispatch { lead: 0, co: Vec::new(), comment: None };
    Actions {
        dispatch: may(request, actor, &dispatch).then(|| dispatch_units(state, request)),
        sign: may(request, actor, &Action::SignFor { comment: None }),
        stage_reply: may(request, actor, &Action::StageReply { content: String::new() }),
        reply: may(request, actor, &Action::Reply { content: String::new() }),
        close: may(request, actor, &Action::Close { comment: None }),
    }
}

fn dispatch_units<S: Store>(state: &AppState<S>, request: &Request) -> Vec<Choice> {
    let default = state.categories().iter().find(|c| c.id == request.category_id).and_then(|c| c.default_lead_unit_id);
    let org = state.org();
    let mut units: Vec<_> = org
        .units()
        .filter(|u| u.active && matches!(u.kind, UnitKind::Department | UnitKind::Town))
        .map(|u| (u.kind == UnitKind::Town, Choice::new(u.code.clone(), u.name.clone(), Some(u.id) == default)))
        .collect();
    units.sort_by(|a, b| (a.0, &a.1.value).cmp(&(b.0, &b.1.value)));
    units.into_iter().map(|(_, c)| c).collect()
}

#[derive(Template)]
#[template(path = "work_detail.html")]
struct DetailPage {
    layout: Layout,
    r: RequestView,
    countdown: Option<Countdown>,
    history: Vec<EventView>,
    attachments: usize,
    actions: Actions,
    error: Option<String>,
}

impl DetailPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The Chinese name of a state code.
    fn state_name(&self, code: &str) -> &'static str {
        RequestState::parse(code).map_or("", |s| s.label())
    }
}

/// `GET /work/{no}`: the request, its history and the actions.
pub async fn detail<S: Store>(State(state): State<AppState<S>>, auth: Auth, Path(no): Path<String>) -> PageResult {
    let actor = auth.require_login()?;
    detail_page(&state, actor, &no, None).await
}

async fn detail_page<S: Store>(state: &AppState<S>, actor: &Actor, no: &str, error: Option<String>) -> PageResult {
    let not_found = || PageError::Status(StatusCode::NOT_FOUND, "诉求不存在，或不在您的办理范围内".into());
    let request = state.store.find(no, &actor.scope()).await?.ok_or_else(not_found)?;
    let history = state.store.history(request.id).await?;
    let attachments = state.store.attachments(request.id).await?.len();
    let merged = requests::merged_tracking_no(state, &request).await?;
    let (org, categories, calendar) = (state.org(), state.categories(), state.calendar());
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    let r = views::request_view(&request, actor, &lookup, merged);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = DetailPage {
        layout: Layout::staff(format!("诉求 {}", r.tracking_no), actor.name()),
        countdown: countdown(&r),
        history: history.iter().map(|e| views::event_view(e, actor, &org)).collect(),
        attachments,
        actions: actions(state, &request, actor),
        error,
        r,
    };
    Ok(render(status, &page))
}

/// The actions these pages offer, and the form fields each sends.
const PAGE_ACTIONS: &[(&str, &[&str])] = &[
    ("dispatch", &["lead_unit", "comment"]),
    ("sign", &["comment"]),
    ("stage-reply", &["content"]),
    ("reply", &["content"]),
    ("close", &["comment"]),
];

/// `POST /work/{no}/{action}`: the action through the API's own handler
/// (same parsing, scope, permission and store path), then back to the detail.
pub async fn act<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((no, action)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let actor = auth.require_login()?.clone();
    let fields = PAGE_ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, fields)| *fields)
        .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "没有这个操作".into()))?;
    let body: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter_map(|f| form.get(*f).filter(|v| !v.trim().is_empty()).map(|v| ((*f).to_owned(), v.clone().into())))
        .collect();
    let body = Bytes::from(serde_json::Value::Object(body).to_string());
    match requests::act(State(state.clone()), auth, Path((no.clone(), action)), RawJson(body)).await {
        Ok(_) => Ok(Redirect::to(&format!("/work/{no}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => detail_page(&state, &actor, &no, Some(e.message)).await,
    }
}
