//! Staff pages: sign in and out (through the API's own session handlers), the
//! work queue, and a request's detail with the actions the role may take.
//! Every read goes through the store with the actor's scope, every action
//! through the API's action handler; out of scope is 404 as in the API.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, Request as HttpRequest, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower::ServiceExt;

use mashangban_domain::lifecycle::{Action, check_permission};
use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_domain::request::{Request, RequestKind, State as RequestState};
use mashangban_store::{ListFilter, ListOrder, Store};

use super::{Choice, Layout, PageError, PageResult, render, short_time};
use crate::api::attachments::{self, percent_encode};
use crate::api::requests;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::RawJson;
use crate::state::AppState;
use crate::views::{self, AttachmentView, EventView, Lookup, RequestView};

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
pub struct Row {
    pub view: RequestView,
    pub countdown: Option<Countdown>,
}

/// The nearest running deadline of a request.
pub struct Countdown {
    pub label: &'static str,
    pub due: String,
    pub text: String,
    pub overdue: bool,
}

pub(super) fn countdown(view: &RequestView) -> Option<Countdown> {
    let (d, minutes) =
        view.deadlines.iter().filter_map(|d| d.remaining_minutes.map(|m| (d, m))).min_by_key(|(_, m)| *m)?;
    let amount = |m: i64| if m >= 60 { format!("{}小时{}分", m / 60, m % 60) } else { format!("{m}分钟") };
    let text =
        if minutes < 0 { format!("已超期 {}", amount(-minutes)) } else { format!("剩余 {}", amount(minutes)) };
    Some(Countdown { label: d.label, due: short_time(&d.due_at), text, overdue: minutes < 0 })
}

/// One part of the work page (a tab of the dispatcher's queues).
struct Section {
    id: &'static str,
    heading: &'static str,
    hint: &'static str,
    rows: Vec<Row>,
    /// The next page of a filtered list.
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "work.html")]
struct QueuePage {
    layout: Layout,
    sections: Vec<Section>,
    /// A filtered list rather than the person's queues.
    filtered: bool,
    /// The filters in words, e.g. 主办单位：市市场监管局.
    conditions: Vec<String>,
}

impl QueuePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// The queues of a role: (anchor, heading, hint, filter).
fn queues(actor: &Actor) -> Vec<(&'static str, &'static str, &'static str, ListFilter)> {
    let states = |states: &[RequestState]| ListFilter { states: states.to_vec(), limit: 100, ..ListFilter::default() };
    if actor.has_role(&[Role::Dispatcher]) {
        let extension =
            ListFilter { pending_extension: true, ..states(&[RequestState::SignedFor, RequestState::InProgress]) };
        let unhappy = ListFilter { unhappy_follow_up: true, limit: 100, ..ListFilter::default() };
        vec![
            ("received", "待派单", "已受理、等待派单的诉求。", states(&[RequestState::Received])),
            ("returned", "退单待审", "承办单位退回的诉求：改派或不同意退单。", states(&[RequestState::Returned])),
            ("extension", "延期待审", "承办单位申请延期、等待审核的诉求。", extension),
            ("replied", "待办结", "承办单位已答复：办结或退回重办。", states(&[RequestState::Replied])),
            ("unhappy", "回访不满意", "诉求人不满意或问题未解决（含诉求人申请重办）：重办或归档。", unhappy),
        ]
    } else if matches!(actor, Actor::Account(_)) {
        // An enterprise's or resident's account: everything they (or their enterprise) submitted.
        let mine = ListFilter { limit: 100, ..ListFilter::default() };
        vec![("mine", "我的诉求", "您（或本企业）提交的全部诉求，最新的在前；点开查看办理经过。", mine)]
    } else if actor.has_role(&[Role::Operator]) {
        vec![
            ("received", "已受理待派单", "咨询类可直接办结。", states(&[RequestState::Received])),
            ("closed", "待回访", "已办结、尚未回访的诉求。", states(&[RequestState::Closed])),
        ]
    } else {
        let queue = ListFilter { order: ListOrder::Deadline, limit: 100, ..ListFilter::default() };
        vec![("queue", "本单位待办（按期限）", "剩余时间按工作时间计算（不含周末和法定节假日）。", queue)]
    }
}

/// `GET /work`: dispatchers see their five queues (待派单, 退单待审, 延期待审,
/// 待办结, 回访不满意), operators what waits at intake and for follow-up, units their
/// queue by nearest deadline. With filters (those of `GET /api/v1/requests`,
/// e.g. from a dashboard chart) it is that list instead, newest first. Always
/// through the store in the person's scope.
pub async fn queue<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let actor = auth.require_login()?;
    let filtered = query.values().any(|v| !v.trim().is_empty());
    let sections = if filtered {
        vec![filtered_section(&state, actor, &query).await?]
    } else {
        let mut sections = Vec::new();
        for (id, heading, hint, filter) in queues(actor) {
            let rows = rows(&state, actor, &state.store.list(&filter, &actor.scope()).await?.items);
            sections.push(Section { id, heading, hint, rows, more: None });
        }
        sections
    };
    let conditions = if filtered { describe(&state, &query) } else { Vec::new() };
    let page = QueuePage { layout: Layout::staff("工作台", actor), sections, filtered, conditions };
    Ok(render(StatusCode::OK, &page))
}

/// The queue rows of requests, masked for the person.
pub(super) fn rows<S: Store>(state: &AppState<S>, actor: &Actor, requests: &[Request]) -> Vec<Row> {
    let (org, categories, calendar) = (state.org(), state.categories(), state.calendar());
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    requests
        .iter()
        .map(|r| views::request_view(r, actor, &lookup, None))
        .map(|view| Row { countdown: countdown(&view), view })
        .collect()
}

/// The filters of a list in words, names for codes (the list itself checks them).
fn describe<S: Store>(state: &AppState<S>, query: &HashMap<String, String>) -> Vec<String> {
    let (org, categories) = (state.org(), state.categories());
    let unit = |code: &str, none: &str| match code {
        "none" => none.to_owned(),
        code => org.by_code(code).map_or_else(|| code.to_owned(), |u| u.display_name().to_owned()),
    };
    let category =
        |code: &str| categories.iter().find(|c| c.code == code).map_or_else(|| code.to_owned(), |c| c.name.clone());
    let kind = |code: &str| RequestKind::parse(code).map_or(code, |k| k.label()).to_owned();
    let mut out: Vec<(usize, String)> = query
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(key, value)| {
            let value = value.trim();
            let (order, text) = match key.as_str() {
                "lead_unit" => (0, format!("主办单位：{}", unit(value, "未派单"))),
                "unit" => (1, format!("主办或协办单位：{}", unit(value, ""))),
                "town" => (2, format!("镇街：{}", unit(value, "未填镇街"))),
                "kind" => (3, format!("类型：{}", kind(value))),
                "category_group" | "category" => (4, format!("分类：{}", category(value))),
                "from" => (5, format!("受理时间自 {value}")),
                "to" => (6, format!("受理时间至 {value} 前")),
                "closed_from" => (7, format!("办结时间自 {value}")),
                "closed_to" => (8, format!("办结时间至 {value} 前")),
                _ => return None,
            };
            Some((order, text))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, text)| text).collect()
}

/// The list of the API's filters, one page of 100 with a link to the next.
async fn filtered_section<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    query: &HashMap<String, String>,
) -> PageResult<Section> {
    let mut filter = requests::list_filter(state, query)?;
    if !query.contains_key("limit") {
        filter.limit = 100;
    }
    let page = state.store.list(&filter, &actor.scope()).await?;
    let more = page.next_cursor.map(|cursor| {
        let mut pairs: Vec<(&String, &String)> = query.iter().filter(|(k, _)| k.as_str() != "cursor").collect();
        pairs.sort();
        let mut url: String = pairs.iter().map(|(k, v)| format!("{k}={}&", percent_encode(v.trim()))).collect();
        url.push_str(&format!("cursor={cursor}"));
        format!("/work?{url}")
    });
    Ok(Section {
        id: "results",
        heading: "查询结果",
        hint: "按所选条件筛选的诉求，最新受理的在前；时间区间含开始日、不含结束日。",
        rows: rows(state, actor, &page.items),
        more,
    })
}

/// The actions a page offers, each shown only where the role and state allow it.
#[derive(Default)]
struct Actions {
    /// The units to dispatch to, the category's default lead unit selected.
    dispatch: Option<Vec<Choice>>,
    /// The units to send a returned request on to.
    redispatch: Option<Vec<Choice>>,
    /// Co-handling units for dispatch and redispatch (multi-select).
    co_units: Vec<Choice>,
    sign: bool,
    return_: bool,
    refuse_return: bool,
    stage_reply: bool,
    request_extension: bool,
    /// Approve or refuse the pending extension (shown with it).
    decide_extension: bool,
    reply: bool,
    reject_reply: bool,
    close: bool,
    direct_close: bool,
    /// The five levels, for 回访.
    follow_up: Option<Vec<Choice>>,
    reopen: bool,
    merge: bool,
    withdraw: bool,
    archive: bool,
    suspend: bool,
    resume: bool,
    supervise: bool,
    urge: bool,
}

impl Actions {
    /// Whether the page shows the form of this action.
    fn offers(&self, action: &str) -> bool {
        match action {
            "dispatch" => self.dispatch.is_some(),
            "redispatch" => self.redispatch.is_some(),
            "follow-up" => self.follow_up.is_some(),
            "sign" => self.sign,
            "return" => self.return_,
            "refuse-return" => self.refuse_return,
            "stage-reply" => self.stage_reply,
            "request-extension" => self.request_extension,
            "approve-extension" | "refuse-extension" => self.decide_extension,
            "reply" => self.reply,
            "reject-reply" => self.reject_reply,
            "close" => self.close,
            "direct-close" => self.direct_close,
            "reopen" => self.reopen,
            "merge" => self.merge,
            "withdraw" => self.withdraw,
            "archive" => self.archive,
            "suspend" => self.suspend,
            "resume" => self.resume,
            "supervise" => self.supervise,
            "urge" => self.urge,
            "attachments" => true,
            _ => false,
        }
    }

    fn any(&self) -> bool {
        self.dispatch.is_some()
            || self.redispatch.is_some()
            || self.follow_up.is_some()
            || [
                self.sign,
                self.return_,
                self.refuse_return,
                self.stage_reply,
                self.request_extension,
                self.decide_extension,
                self.reply,
                self.reject_reply,
                self.close,
                self.direct_close,
                self.reopen,
                self.merge,
                self.withdraw,
                self.archive,
                self.suspend,
                self.resume,
                self.supervise,
                self.urge,
            ]
            .contains(&true)
    }
}

pub(super) fn may(request: &Request, actor: &Actor, action: &Action) -> bool {
    action.allowed_from().contains(&request.state) && check_permission(request, actor, action).is_ok()
}

/// A failed action: its message and the values sent, shown again by its form.
pub struct Failed {
    pub action: String,
    pub message: String,
    pub values: Vec<(String, String)>,
}

impl Failed {
    fn value(&self, field: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str())
    }

    fn has(&self, field: &str, value: &str) -> bool {
        self.values.iter().any(|(k, v)| k == field && v == value)
    }
}

fn actions<S: Store>(state: &AppState<S>, request: &Request, actor: &Actor, failed: Option<&Failed>) -> Actions {
    use mashangban_domain::request::{Rating, RequestKind};
    let none = String::new;
    let unhappy = request.rating.is_some_and(Rating::is_dissatisfied) || request.resolved == Some(false);
    let pending = request.pending_extension.is_some();
    let failed_on = |name: &str| failed.filter(|f| f.action == name);
    let dispatch = Action::Dispatch { lead: 0, co: Vec::new(), comment: None };
    let redispatch = Action::Redispatch { lead: 0, co: Vec::new(), comment: None };
    let may_dispatch = may(request, actor, &dispatch);
    let may_redispatch = may(request, actor, &redispatch);
    let sent = failed_on("dispatch").or_else(|| failed_on("redispatch"));
    let units = |default: Option<i64>| {
        let mut units = unit_choices(state, default);
        if let Some(f) = sent {
            units.iter_mut().for_each(|u| u.selected = f.has("lead_unit", &u.value));
        }
        units
    };
    let default = state.categories().iter().find(|c| c.id == request.category_id).and_then(|c| c.default_lead_unit_id);
    let mut co_units = unit_choices(state, None);
    co_units.iter_mut().for_each(|u| {
        u.selected = sent.map_or_else(
            || request.co_unit_ids.iter().any(|id| unit_code(state, *id) == u.value),
            |f| f.has("co_units", &u.value),
        );
    });
    let rating = failed_on("follow-up").and_then(|f| f.value("rating")).unwrap_or_default().to_owned();
    Actions {
        dispatch: may_dispatch.then(|| units(default)),
        redispatch: may_redispatch.then(|| units(None)),
        co_units: if may_dispatch || may_redispatch { co_units } else { Vec::new() },
        sign: may(request, actor, &Action::SignFor { comment: None }),
        return_: may(request, actor, &Action::Return { reason: none() }),
        refuse_return: may(request, actor, &Action::RefuseReturn { reason: none() }),
        stage_reply: may(request, actor, &Action::StageReply { content: none() }),
        request_extension: !pending
            && may(request, actor, &Action::RequestExtension { requested_due: state.now(), reason: none() }),
        decide_extension: pending && may(request, actor, &Action::ApproveExtension { comment: None }),
        reply: may(request, actor, &Action::Reply { content: none() }),
        reject_reply: may(request, actor, &Action::RejectReply { reason: none() }),
        close: may(request, actor, &Action::Close { comment: None }),
        direct_close: request.kind == RequestKind::Consultation
            && may(request, actor, &Action::DirectClose { answer: none() }),
        follow_up: may(request, actor, &Action::FollowUp { rating: Rating::Satisfied, resolved: true, comment: None })
            .then(|| Rating::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), rating == r.as_str())).collect()),
        reopen: unhappy && may(request, actor, &Action::Reopen { reason: none() }),
        merge: may(request, actor, &Action::Merge { parent_id: 0 }),
        withdraw: may(request, actor, &Action::Withdraw { reason: None }),
        archive: may(request, actor, &Action::Archive),
        suspend: may(request, actor, &Action::Suspend { reason: none() }),
        resume: may(request, actor, &Action::Resume { comment: None }),
        supervise: may(request, actor, &Action::Supervise { instructions: none(), due: state.now() }),
        urge: may(request, actor, &Action::Urge { message: none() }),
    }
}

fn unit_code<S: Store>(state: &AppState<S>, id: i64) -> String {
    state.org().units().find(|u| u.id == id).map(|u| u.code.clone()).unwrap_or_default()
}

/// Departments, then towns; `default` selected.
fn unit_choices<S: Store>(state: &AppState<S>, default: Option<i64>) -> Vec<Choice> {
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
    attachments: Vec<AttachmentView>,
    actions: Actions,
    failed: Option<Failed>,
}

impl DetailPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The Chinese name of a state code.
    fn state_name(&self, code: &str) -> &'static str {
        RequestState::parse(code).map_or("", |s| s.label())
    }

    /// The message of a failed action, shown next to its form.
    fn error_of(&self, action: &str) -> Option<&str> {
        self.failed.as_ref().filter(|f| f.action == action).map(|f| f.message.as_str())
    }

    /// The message of a failed action whose form is not on the page (the
    /// state changed meanwhile, or the role may not take it).
    fn error_elsewhere(&self) -> Option<&str> {
        self.failed.as_ref().filter(|f| !self.actions.offers(&f.action)).map(|f| f.message.as_str())
    }

    /// The value a failed action sent, to fill its form again.
    fn kept(&self, action: &str, field: &str) -> &str {
        self.failed.as_ref().filter(|f| f.action == action).and_then(|f| f.value(field)).unwrap_or_default()
    }
}

/// `GET /work/{no}`: the request, its history and the actions.
pub async fn detail<S: Store>(State(state): State<AppState<S>>, auth: Auth, Path(no): Path<String>) -> PageResult {
    let actor = auth.require_login()?;
    detail_page(&state, actor, &no, None, StatusCode::OK).await
}

async fn detail_page<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    no: &str,
    failed: Option<Failed>,
    status: StatusCode,
) -> PageResult {
    let not_found = || PageError::Status(StatusCode::NOT_FOUND, "诉求不存在，或不在您的办理范围内".into());
    let request = state.store.find(no, &actor.scope()).await?.ok_or_else(not_found)?;
    let history = state.store.history(request.id).await?;
    let attachments = state.store.attachments(request.id).await?.iter().map(views::attachment_view).collect();
    let merged = requests::merged_tracking_no(state, &request).await?;
    let (org, categories, calendar) = (state.org(), state.categories(), state.calendar());
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    let r = views::request_view(&request, actor, &lookup, merged);
    let page = DetailPage {
        layout: Layout::staff(format!("诉求 {}", r.tracking_no), actor),
        countdown: countdown(&r),
        history: history.iter().map(|e| views::event_view(e, actor, &org)).collect(),
        attachments,
        actions: actions(state, &request, actor, failed.as_ref()),
        failed,
        r,
    };
    Ok(render(status, &page))
}

/// How a form field becomes a field of the API's JSON body.
#[derive(Clone, Copy)]
enum Field {
    /// Required text, sent even when empty (the API names what is missing).
    Text(&'static str),
    /// Optional text, left out when empty.
    Optional(&'static str),
    /// A repeated field (multi-select), sent as an array.
    List(&'static str),
    /// A `datetime-local` value (Asia/Shanghai), sent as RFC 3339.
    Time(&'static str),
    /// `yes` / `no`, sent as a boolean.
    YesNo(&'static str),
}

use Field::{List, Optional, Text, Time, YesNo};

/// The actions these pages offer, and the form fields each sends.
const PAGE_ACTIONS: &[(&str, &[Field])] = &[
    ("dispatch", &[Text("lead_unit"), List("co_units"), Optional("comment")]),
    ("sign", &[Optional("comment")]),
    ("return", &[Text("reason")]),
    ("redispatch", &[Text("lead_unit"), List("co_units"), Optional("comment")]),
    ("refuse-return", &[Text("reason")]),
    ("stage-reply", &[Text("content")]),
    ("request-extension", &[Time("new_due"), Text("reason")]),
    ("approve-extension", &[Optional("comment")]),
    ("refuse-extension", &[Text("reason")]),
    ("reply", &[Text("content")]),
    ("reject-reply", &[Text("reason")]),
    ("close", &[Optional("comment")]),
    ("direct-close", &[Text("answer")]),
    ("follow-up", &[Text("rating"), YesNo("resolved"), Optional("comment")]),
    ("reopen", &[Text("reason")]),
    ("merge", &[Text("into")]),
    ("withdraw", &[Optional("reason")]),
    ("archive", &[]),
    ("suspend", &[Text("reason")]),
    ("resume", &[Optional("comment")]),
    ("supervise", &[Text("instructions"), Time("due")]),
    ("urge", &[Text("message")]),
];

/// `2026-12-01T17:30` (a `datetime-local` input) → `2026-12-01T17:30:00+08:00`.
fn local_time(value: &str) -> Option<String> {
    let value = value.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    Some(format!("{}+08:00", parsed.format("%Y-%m-%dT%H:%M:%S")))
}

/// The API's JSON body from the form, or the message for a field the page
/// itself cannot turn into one.
fn body_of(fields: &[Field], form: &[(String, String)]) -> Result<serde_json::Value, String> {
    let first = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut body = serde_json::Map::new();
    for field in fields {
        match *field {
            Text(name) => {
                body.insert(name.to_owned(), first(name).unwrap_or_default().into());
            }
            Optional(name) => {
                if let Some(v) = first(name).filter(|v| !v.trim().is_empty()) {
                    body.insert(name.to_owned(), v.into());
                }
            }
            List(name) => {
                let all: Vec<serde_json::Value> =
                    form.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str().into()).collect();
                body.insert(name.to_owned(), all.into());
            }
            Time(name) => {
                let value = first(name).unwrap_or_default();
                let time = local_time(value).ok_or_else(|| "请填写完整的日期和时间".to_owned())?;
                body.insert(name.to_owned(), time.into());
            }
            YesNo(name) => match first(name) {
                Some("yes") => {
                    body.insert(name.to_owned(), true.into());
                }
                Some("no") => {
                    body.insert(name.to_owned(), false.into());
                }
                _ => return Err("请选择问题是否已解决".to_owned()),
            },
        }
    }
    if fields.iter().any(|f| matches!(f, Text("rating"))) && first("rating").is_none_or(str::is_empty) {
        return Err("请选择满意度".to_owned());
    }
    Ok(serde_json::Value::Object(body))
}

/// `POST /work/{no}/{action}`: the action through the API's own handler
/// (same parsing, scope, permission and store path), then back to the detail;
/// a refusal shows the API's message next to the form, the values kept.
pub async fn act<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((no, action)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let actor = auth.require_login()?.clone();
    let fields = PAGE_ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, fields)| *fields)
        .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "没有这个操作".into()))?;
    let body = match body_of(fields, &form) {
        Ok(body) => Bytes::from(body.to_string()),
        Err(message) => {
            let failed = Failed { action, message, values: form };
            return detail_page(&state, &actor, &no, Some(failed), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match requests::act(State(state.clone()), auth, Path((no.clone(), action.clone())), RawJson(body)).await {
        Ok(_) => Ok(Redirect::to(&format!("/work/{no}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) if e.code == "csrf_rejected" => Err(e.into()),
        Err(e) => {
            let failed = Failed { action, message: e.message, values: form };
            detail_page(&state, &actor, &no, Some(failed), e.status).await
        }
    }
}

/// `POST /work/{no}/attachments` (multipart `file`, several allowed): staff
/// add files (附件) to a request in their scope, through the API's checks;
/// each becomes an event in the history.
pub async fn upload<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let actor = auth.require_login()?.clone();
    let saved = match multipart {
        Ok(multipart) => attachments::store_files(&state, &no, actor.scope(), actor.clone(), &auth, multipart).await,
        Err(_) => Err(ApiError::bad_request("malformed_multipart", "上传的文件格式不正确，请重新选择文件")),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/work/{no}#attachments")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) if e.code == "csrf_rejected" => Err(e.into()),
        Err(e) => {
            let failed = Failed { action: "attachments".into(), message: e.message, values: Vec::new() };
            detail_page(&state, &actor, &no, Some(failed), e.status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_become_the_apis_body() {
        let form =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let body = body_of(
            &[Text("lead_unit"), List("co_units"), Optional("comment")],
            &form(&[("lead_unit", "rsj"), ("co_units", "zwfw"), ("co_units", "scjgj"), ("comment", " ")]),
        );
        assert_eq!(body, Ok(serde_json::json!({ "lead_unit": "rsj", "co_units": ["zwfw", "scjgj"] })));
        let body = body_of(&[Time("new_due"), Text("reason")], &form(&[("new_due", "2099-12-31T17:30")]));
        assert_eq!(body, Ok(serde_json::json!({ "new_due": "2099-12-31T17:30:00+08:00", "reason": "" })));
        assert!(body_of(&[Time("due")], &form(&[("due", "")])).is_err());
        assert!(body_of(&[Text("rating"), YesNo("resolved")], &form(&[("rating", "satisfied")])).is_err());
    }
}
