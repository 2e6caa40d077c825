//! Staff pages: sign in and out (through `app.accounts()`), the work queue,
//! and a request's detail with the actions the person may take. Every read
//! and action goes through `app.requests()` in the person's scope; out of
//! scope is 404 as in the API. An action's form fields are those of its body
//! in the one action list (`mashangban_app::input::ActionInput`).

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use serde::Deserialize;
use serde_json::{Map, Value};

use mashangban_app::bulk::{BulkDispatchInput, BulkOutcome, BulkTarget, BulkUrgeInput};
use mashangban_app::duplicates::SimilarRequest;
use mashangban_app::input::{ActionName, ActionRequest, FieldKind, FormField};
use mashangban_app::requests::{Case, EXPORT_COLUMNS, ExportCursor, csv_line, export_fields};
use mashangban_app::saved_views::{RenameViewInput, SavedViewInput, SavedViewView};
use mashangban_app::screening::ScreeningView;
use mashangban_app::views::{AttachmentView, EventView, RequestView};
use mashangban_app::{App, Caller, Settings};
use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_domain::request::{Channel, Rating, RequestKind, State as RequestState, Urgency};
use mashangban_store::{ListFilter, ListOrder, Store};

use super::{Choice, Layout, PageError, PageResult, render, short_time};
use crate::api::percent_encode;
use crate::auth::{Auth, expired_cookie_header, session_cookie_header};
use crate::error::ApiError;
use crate::routes::{Menu, MenuKind, Route};
use crate::upload::{attachment_too_large, read_files};

pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    vec![
        Route::get("/login", login_form).public(),
        Route::post("/login", login::<S>).public().form(),
        Route::post("/logout", logout::<S>).public().form(),
        Route::get("/work", queue::<S>).nav(MenuKind::Main, 10, "工作台"),
        Route::get("/work/export", export::<S>),
        Route::post("/work/bulk", bulk::<S>).permission(Permission::BulkUrge).form(),
        Route::post("/work/views", save_view::<S>).permission(Permission::SaveViews).form(),
        Route::post("/work/views/{id}/rename", rename_view::<S>).permission(Permission::SaveViews).form(),
        Route::post("/work/views/{id}/delete", delete_view::<S>).permission(Permission::SaveViews).form(),
        Route::get("/work/{no}", detail::<S>),
        Route::post("/work/{no}/{action}", act::<S>).form(),
        Route::post("/work/{no}/attachments", upload::<S>).multipart().body_limit(super::submit::limit(settings)),
    ]
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    error: Option<String>,
    /// Said after one's own password change (`?changed=1`).
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    changed: Option<String>,
}

/// `GET /login`.
pub async fn login_form(Query(query): Query<LoginQuery>) -> Response {
    let notice = query.changed.is_some().then_some("密码已修改，原有登录已全部失效，请用新密码登录");
    render(
        StatusCode::OK,
        &LoginPage { layout: Layout::public("工作人员登录"), username: String::new(), error: None, notice },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`: signs in as the API does (same password check, rate limit
/// and session cookie), then goes to the queue.
pub async fn login<S: Store>(
    State(app): State<App<S>>,
    method: axum::http::Method,
    headers: axum::http::HeaderMap,
    Auth(caller): Auth,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(e) = crate::auth::check_same_origin(&method, &headers) {
        return PageError::from(e).into_response();
    }
    let input =
        mashangban_app::accounts::LoginInput { username: form.username.trim().to_owned(), password: form.password };
    match app.accounts().login(&caller, input).await {
        Ok(signed_in) => {
            let cookie =
                session_cookie_header(&signed_in.secret, signed_in.max_age_seconds, app.settings().secure_cookies);
            with_cookie(Redirect::to("/work").into_response(), &cookie)
        }
        Err(e) => {
            let e = ApiError::from(e);
            let page = LoginPage {
                layout: Layout::public("工作人员登录"),
                username: form.username,
                error: Some(e.message),
                notice: None,
            };
            render(e.status, &page)
        }
    }
}

/// `POST /logout`: ends the session (a cross-site post is refused by the
/// same-origin check of cookie sessions) and goes to the sign-in page.
pub async fn logout<S: Store>(State(app): State<App<S>>, auth: Result<Auth, ApiError>) -> Response {
    let to_login = Redirect::to("/login").into_response();
    let Ok(Auth(caller)) = auth else { return to_login };
    match app.accounts().logout(&caller).await {
        Ok(()) => with_cookie(to_login, &expired_cookie_header()),
        Err(error) => {
            tracing::error!(%error, "could not end a session");
            to_login
        }
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// One row of the queue.
pub struct Row {
    pub view: RequestView,
    pub countdown: Option<Countdown>,
    /// In the 待甄别 queue: the screening score and reasons.
    pub screening: Option<String>,
}

/// The nearest running deadline of a request.
pub struct Countdown {
    pub label: &'static str,
    pub due: String,
    /// The time left in the limit's own clock (working days, working hours or natural time).
    pub text: String,
    pub overdue: bool,
}

/// The running deadline due first (the instants compare across clocks; the
/// minutes left do not: working and natural minutes differ), its time left
/// in its own clock.
pub(super) fn countdown(view: &RequestView) -> Option<Countdown> {
    let (d, minutes) = view
        .deadlines
        .iter()
        .filter_map(|d| d.remaining_minutes.map(|m| (d, m)))
        .min_by(|(a, _), (b, _)| a.due_at.cmp(&b.due_at))?;
    let mut text = d.remaining_text.clone().unwrap_or_default();
    if d.paused {
        text.push_str("（挂起中，计时暂停）");
    }
    let due = if d.provisional { format!("{}（暂定）", short_time(&d.due_at)) } else { short_time(&d.due_at) };
    Some(Countdown { label: d.label, due, text, overdue: minutes < 0 })
}

/// What the 待甄别 queue holds.
const SCREENING_HINT: &str =
    "公众提交中疑似垃圾信息（广告、重复提交等）的诉求，最新的在前：放行后进入待派单，或标记为垃圾信息归档。";

/// Rows per page of a queue.
const PAGE: u32 = 50;
/// Rows per page of an account's 我的诉求 (read on phones as often as not).
const MINE_PAGE: u32 = 20;
/// The last page a queue offers (offset paging).
const MAX_PAGE: u32 = 2000;

/// One part of the work page (a tab of the dispatcher's queues).
struct Section {
    id: &'static str,
    heading: &'static str,
    hint: &'static str,
    rows: Vec<Row>,
    /// The next page.
    more: Option<String>,
    /// The previous page (queues).
    previous: Option<String>,
    /// How many match in all.
    total: Option<u64>,
    /// 第 2 / 5 页 (queues).
    page_text: Option<String>,
    /// The export of the whole list (`format=xlsx|csv` to add); not for search results.
    export: Option<String>,
    /// The bulk actions its rows may be selected for (checkboxes and a form).
    bulk: Option<BulkForm>,
    /// Search results only: the counts by state, unit, town, category and month, each a link that
    /// narrows the search to it.
    facets: Vec<FacetGroup>,
}

/// One facet of a search on the page: its name and its values as links.
struct FacetGroup {
    label: &'static str,
    values: Vec<FacetLink>,
}

struct FacetLink {
    label: String,
    count: u64,
    href: String,
}

/// The facets of a search as links: the query with the facet's parameters replaced by the value's.
fn facet_groups(query: &HashMap<String, String>, facets: &mashangban_app::search::FacetsView) -> Vec<FacetGroup> {
    let group = |label: &'static str, skip: &[&str], counts: &[mashangban_app::search::FacetCount]| {
        let mut skip = skip.to_vec();
        skip.push("cursor");
        let prefix = query_prefix(query, &skip);
        let values = counts
            .iter()
            .map(|c| FacetLink { label: c.label.clone(), count: c.count, href: format!("/work?{prefix}{}", c.filter) })
            .collect();
        FacetGroup { label, values }
    };
    [
        group("状态", &["state"], &facets.state),
        group("办理单位", &["unit"], &facets.unit),
        group("镇街", &["town"], &facets.town),
        group("分类", &["category", "category_group"], &facets.category),
        group("受理月份", &["from", "to"], &facets.month),
    ]
    .into_iter()
    .filter(|g| !g.values.is_empty())
    .collect()
}

/// The bulk actions of a section: dispatch (the 待派单 queue, dispatchers: the units to choose
/// from) and urge (dispatchers and supervisors).
struct BulkForm {
    dispatch: Option<Vec<Choice>>,
    urge: bool,
}

/// The bulk actions `actor` may take on the rows of the section `id`.
fn bulk_form<S: Store>(app: &App<S>, actor: &Actor, id: &str) -> Option<BulkForm> {
    let dispatch = (id == "received" && actor.may(Permission::BulkDispatch)).then(|| unit_choices(app, None));
    let urge = id != "mine" && actor.may(Permission::BulkUrge);
    (dispatch.is_some() || urge).then_some(BulkForm { dispatch, urge })
}

/// The saved views part of the work page.
struct Views {
    /// Whether the person may save views (staff with an account).
    may_save: bool,
    items: Vec<SavedViewView>,
    /// The query parameters a new view would keep (hidden fields of the save form).
    current: Vec<(String, String)>,
    /// A refused save, rename or delete: its message, and the name typed.
    error: Option<String>,
    name: String,
}

/// The filters of the list (those of `GET /api/v1/requests`) as form controls.
struct Filters {
    states: Vec<Choice>,
    kinds: Vec<Choice>,
    channels: Vec<Choice>,
    towns: Vec<Choice>,
    units: Vec<Choice>,
    categories: Vec<Choice>,
    from: String,
    to: String,
    overdue: bool,
    supervised: bool,
    unhappy: bool,
    /// The queue they narrow, if any.
    queue: Option<String>,
}

#[derive(Template)]
#[template(path = "work.html")]
struct QueuePage {
    layout: Layout,
    sections: Vec<Section>,
    /// A filtered list or one queue's pages rather than the person's queues.
    filtered: bool,
    /// The filters in words, e.g. 主办单位：市市场监管局.
    conditions: Vec<String>,
    /// The search words in the box.
    q: String,
    /// The other filters, kept by the search box (hidden fields).
    kept: Vec<(String, String)>,
    filters: Filters,
    views: Views,
    /// A unit leader's sub-units with their load (二次派单).
    sub_units: Vec<mashangban_app::requests::SubUnitLoadView>,
}

impl QueuePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// The queues of a role: (anchor, heading, hint, filter). Work queues are in
/// deadline order: urgent and act-now first, then supervised, then the nearest running deadline.
fn queues(actor: &Actor) -> Vec<(&'static str, &'static str, &'static str, ListFilter)> {
    let states = |states: &[RequestState]| ListFilter {
        states: states.to_vec(),
        order: ListOrder::Deadline,
        limit: PAGE,
        ..ListFilter::default()
    };
    // A direct-line request's return and reply go to the leaders' office (书记市长直通车), not the dispatcher.
    let not_direct_line = |s: &[RequestState]| ListFilter { exclude_channels: vec![Channel::DirectLine], ..states(s) };
    // Submissions held by spam screening wait in their own queue until released.
    let received = ListFilter { screening_held: Some(false), ..states(&[RequestState::Received]) };
    let screening = ListFilter { limit: PAGE, ..mashangban_app::screening::queue_filter() };
    if actor.has_role(&[Role::Dispatcher]) {
        let extension =
            ListFilter { pending_extension: true, ..states(&[RequestState::SignedFor, RequestState::InProgress]) };
        let unhappy = ListFilter { unhappy_follow_up: true, ..states(&[RequestState::FollowedUp]) };
        vec![
            ("received", "待派单", "已受理、等待派单的诉求（疑似垃圾信息另列）。", received),
            ("screening", "待甄别", SCREENING_HINT, screening),
            (
                "returned",
                "退单待审",
                "承办单位退回的诉求：改派或不同意退单。",
                not_direct_line(&[RequestState::Returned]),
            ),
            ("extension", "延期待审", "承办单位申请延期、等待审核的诉求。", extension),
            ("replied", "待办结", "承办单位已答复：办结或退回重办。", not_direct_line(&[RequestState::Replied])),
            ("unhappy", "回访不满意", "诉求人不满意或问题未解决（含诉求人申请重办）：重办或归档。", unhappy),
        ]
    } else if matches!(actor, Actor::Account(_)) {
        // An enterprise's or resident's account: everything they (or their enterprise) submitted.
        let mine = ListFilter { limit: PAGE, ..ListFilter::default() };
        vec![("mine", "我的诉求", "您（或本企业）提交的全部诉求，最新的在前；点开查看办理经过。", mine)]
    } else if actor.has_role(&[Role::Operator]) {
        vec![
            ("received", "已受理待派单", "咨询类可直接办结。", received),
            ("screening", "待甄别", SCREENING_HINT, screening),
            ("closed", "待回访", "已办结、尚未回访的诉求。", states(&[RequestState::Closed])),
        ]
    } else {
        let queue = ListFilter { order: ListOrder::Deadline, limit: PAGE, ..ListFilter::default() };
        vec![(
            "queue",
            "本单位待办（按期限）",
            "剩余时间按期限自己的计时方式：工作日、工作小时（不含周末和法定节假日）或自然时间。",
            queue,
        )]
    }
}

/// `GET /work`: dispatchers see their five queues (待派单, 退单待审, 延期待审,
/// 待办结, 回访不满意), operators what waits at intake and for follow-up, units their
/// queue by nearest deadline; each with its total and a link to its further pages
/// (`queue=<id>&page=<n>`, which the filters narrow). With filters (those of
/// `GET /api/v1/requests`, as form controls or e.g. from a dashboard chart) it is that
/// list instead, newest first; with `q` (the search box) the full-text search with
/// those filters, best match first, with snippets. Always in the person's scope.
pub async fn queue<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    queue_page(&app, &caller, &menu, query, None, StatusCode::OK).await
}

/// A refused change of a saved view, shown beside the views.
struct ViewRefusal {
    message: String,
    name: String,
}

async fn queue_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    query: HashMap<String, String>,
    refusal: Option<ViewRefusal>,
    status: StatusCode,
) -> PageResult {
    let mut rest = query.clone();
    let queue_id = rest.remove("queue").filter(|q| !q.trim().is_empty());
    let page =
        match rest.remove("page").as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => 1,
            Some(p) => p.parse::<u32>().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(|| {
                PageError::Status(StatusCode::BAD_REQUEST, format!("页码应为 1 到 {MAX_PAGE} 的整数"))
            })?,
        };
    let filtered = rest.values().any(|v| !v.trim().is_empty());
    // A unit leader's own desk: replies waiting for review and the sub-units' load (二次派单).
    let desk = if filtered || queue_id.is_some() { None } else { app.requests().unit_desk(caller, PAGE).await? };
    let sections = if let Some(id) = queue_id.as_deref() {
        let (id, heading, hint, base) = queues(&caller.actor)
            .into_iter()
            .find(|(q, ..)| *q == id)
            .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "没有这个待办分类".into()))?;
        let mut filter = if filtered { app.requests().filter(&rest)? } else { ListFilter::default() };
        narrow(&mut filter, &base);
        vec![queue_section(app, caller, (id, heading, hint), filter, page, &rest).await?]
    } else if filtered {
        vec![filtered_section(app, caller, &rest).await?]
    } else {
        let mut sections = Vec::new();
        if let Some(desk) = &desk {
            sections.push(Section {
                id: "review",
                heading: "待审核",
                hint: "本单位承办人已拟好、等待您审核的答复：审核通过后答复诉求人，或退回修改。",
                total: Some(desk.review.len() as u64),
                rows: rows(desk.review.clone()),
                more: None,
                previous: None,
                page_text: None,
                export: None,
                bulk: None,
                facets: Vec::new(),
            });
        }
        for (id, heading, hint, filter) in queues(&caller.actor) {
            sections.push(queue_section(app, caller, (id, heading, hint), filter, 1, &rest).await?);
        }
        sections
    };
    let conditions = if filtered { describe(app, &rest) } else { Vec::new() };
    let views = views_part(app, caller, &query, refusal).await?;
    let q = rest.get("q").map(|q| q.trim().to_owned()).unwrap_or_default();
    let mut kept: Vec<(String, String)> = rest
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "q" | "cursor" | "sort") && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    kept.sort();
    let page = QueuePage {
        layout: Layout::staff("工作台", &caller.actor, menu),
        sections,
        filtered: filtered || queue_id.is_some(),
        conditions,
        q,
        kept,
        filters: filter_form(app, &rest, queue_id),
        views,
        sub_units: desk.map(|d| d.sub_units).unwrap_or_default(),
    };
    Ok(render(status, &page))
}

/// The person's saved views and what a new one would keep (the query without paging).
async fn views_part<S: Store>(
    app: &App<S>,
    caller: &Caller,
    query: &HashMap<String, String>,
    refusal: Option<ViewRefusal>,
) -> PageResult<Views> {
    let may_save = caller.actor.may(Permission::SaveViews) && caller.actor.user_id().is_some();
    let items = if may_save {
        app.saved_views().list(caller, mashangban_domain::saved_view::WORK_LIST).await?.items
    } else {
        Vec::new()
    };
    let mut current: Vec<(String, String)> = query
        .iter()
        .filter(|(k, v)| !mashangban_domain::saved_view::TRANSIENT.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    current.sort();
    let (error, name) = refusal.map_or((None, String::new()), |r| (Some(r.message), r.name));
    Ok(Views { may_save, items, current, error, name })
}

/// A queue's own conditions laid over the filters chosen on the page: its
/// states, flags and order.
fn narrow(filter: &mut ListFilter, base: &ListFilter) {
    if !base.states.is_empty() {
        filter.states = base.states.clone();
    }
    filter.pending_extension |= base.pending_extension;
    filter.unhappy_follow_up |= base.unhappy_follow_up;
    filter.order = base.order;
    filter.before_id = None;
}

/// `?a=1&b=2&` of the query's non-empty parameters, sorted, except `skip`.
fn query_prefix(query: &HashMap<String, String>, skip: &[&str]) -> String {
    let mut pairs: Vec<(&String, &String)> =
        query.iter().filter(|(k, v)| !skip.contains(&k.as_str()) && !v.trim().is_empty()).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={}&", percent_encode(v.trim()))).collect()
}

/// One page of a queue (in its order) with its total and links to the pages around it.
async fn queue_section<S: Store>(
    app: &App<S>,
    caller: &Caller,
    (id, heading, hint): (&'static str, &'static str, &'static str),
    mut filter: ListFilter,
    page: u32,
    rest: &HashMap<String, String>,
) -> PageResult<Section> {
    let size = if id == "mine" { MINE_PAGE } else { PAGE };
    filter.limit = size;
    filter.offset = (page - 1) * size;
    let listing = app.requests().list(caller, &filter).await?;
    let total = app.requests().count(caller, &filter).await?;
    let pages = total.div_ceil(u64::from(size)).max(1);
    let link = |n: u32| format!("/work?{}queue={id}&page={n}", query_prefix(rest, &["queue", "page", "cursor"]));
    let shown = u64::from(filter.offset) + listing.items.len() as u64;
    let rows = if id == "screening" {
        let held = app.screening().with_screenings(listing.items).await?;
        held.into_iter()
            .map(|h| Row {
                countdown: countdown(&h.request),
                screening: Some(format!("甄别分 {:.2}：{}", h.screening.score, h.screening.reasons.join("；"))),
                view: h.request,
            })
            .collect()
    } else {
        rows(listing.items)
    };
    Ok(Section {
        id,
        heading,
        hint,
        bulk: bulk_form(app, &caller.actor, id),
        facets: Vec::new(),
        rows,
        more: (shown < total && page < MAX_PAGE).then(|| link(page + 1)),
        previous: (page > 1).then(|| link(page - 1)),
        total: Some(total),
        page_text: (pages > 1).then(|| format!("第 {page} / {pages} 页")),
        export: Some(format!("/work/export?{}queue={id}&", query_prefix(rest, &["queue", "page", "cursor"]))),
    })
}

/// The queue rows of listed requests.
pub(super) fn rows<R>(items: Vec<(R, RequestView)>) -> Vec<Row> {
    items.into_iter().map(|(_, view)| Row { countdown: countdown(&view), view, screening: None }).collect()
}

/// The filters of a list in words, names for codes (the list itself checks them).
fn describe<S: Store>(app: &App<S>, query: &HashMap<String, String>) -> Vec<String> {
    let (org, categories) = (app.caches().org(), app.caches().categories());
    let unit = |code: &str, none: &str| match code {
        "none" => none.to_owned(),
        code => org.by_code(code).map_or_else(|| code.to_owned(), |u| u.display_name().to_owned()),
    };
    let category =
        |code: &str| categories.iter().find(|c| c.code == code).map_or_else(|| code.to_owned(), |c| c.name.clone());
    let kind = |code: &str| RequestKind::parse(code).map_or(code, |k| k.label()).to_owned();
    let states = |codes: &str| {
        codes.split(',').map(|c| RequestState::parse(c.trim()).map_or(c, |s| s.label())).collect::<Vec<_>>().join("、")
    };
    let channel = |code: &str| Channel::parse(code).map_or(code, |c| c.label()).to_owned();
    let yes = |v: &str| matches!(v, "true" | "1");
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
                "state" => (9, format!("状态：{}", states(value))),
                "channel" => (10, format!("渠道：{}", channel(value))),
                "overdue" if yes(value) => (11, "只看超期".to_owned()),
                "supervised" if yes(value) => (12, "只看督办".to_owned()),
                "unhappy" if yes(value) => (13, "只看回访不满意".to_owned()),
                _ => return None,
            };
            Some((order, text))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, text)| text).collect()
}

/// The filter form's controls, the values of `query` chosen.
fn filter_form<S: Store>(app: &App<S>, query: &HashMap<String, String>, queue: Option<String>) -> Filters {
    let value = |key: &str| query.get(key).map(|v| v.trim().to_owned()).unwrap_or_default();
    let choices = |key: &str, options: Vec<(String, String)>| {
        let chosen = value(key);
        let mut out = vec![Choice::new("", "（全部）", chosen.is_empty())];
        out.extend(options.into_iter().map(|(v, l)| {
            let selected = v == chosen;
            Choice::new(v, l, selected)
        }));
        out
    };
    let (org, categories) = (app.caches().org(), app.caches().categories());
    let mut towns: Vec<(String, String)> = org
        .units()
        .filter(|u| u.active && u.kind == UnitKind::Town)
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    towns.sort();
    towns.push(("none".into(), "未填镇街".into()));
    let mut units: Vec<(String, String)> = unit_choices(app, None).into_iter().map(|c| (c.value, c.label)).collect();
    units.push(("none".into(), "未派单".into()));
    let yes = |key: &str| matches!(value(key).as_str(), "true" | "1");
    Filters {
        states: choices("state", RequestState::ALL.iter().map(|s| (s.as_str().into(), s.label().into())).collect()),
        kinds: choices("kind", RequestKind::ALL.iter().map(|k| (k.as_str().into(), k.label().into())).collect()),
        channels: choices("channel", Channel::ALL.iter().map(|c| (c.as_str().into(), c.label().into())).collect()),
        towns: choices("town", towns),
        units: choices("lead_unit", units),
        categories: choices(
            "category_group",
            categories.iter().filter(|c| c.active).map(|c| (c.code.clone(), c.name.clone())).collect(),
        ),
        from: value("from"),
        to: value("to"),
        overdue: yes("overdue"),
        supervised: yes("supervised"),
        unhappy: yes("unhappy"),
        queue,
    }
}

/// The list of the API's filters, one page of 100 with a link to the next, and how many match.
async fn filtered_section<S: Store>(
    app: &App<S>,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> PageResult<Section> {
    let (mut filter, search) = app.requests().query(query)?;
    if !query.contains_key("limit") {
        filter.limit = 100;
    }
    let next_page =
        |cursor: String| format!("/work?{}cursor={}", query_prefix(query, &["cursor"]), percent_encode(&cursor));
    if let Some(search) = search {
        let found = app.search().requests(caller, &filter, &search).await?;
        return Ok(Section {
            id: "results",
            heading: "搜索结果",
            hint: "按相关度排列（繁简体通用；\"短语\" 按原文顺序，-词 排除）；只含您有权查看的诉求。",
            total: Some(found.total),
            more: found.next_cursor.map(next_page),
            previous: None,
            page_text: None,
            export: None,
            bulk: bulk_form(app, &caller.actor, "results"),
            facets: facet_groups(query, &found.facets),
            rows: rows(found.listing.items),
        });
    }
    let page = app.requests().list(caller, &filter).await?;
    let total = app.requests().count(caller, &filter).await?;
    Ok(Section {
        id: "results",
        heading: "查询结果",
        hint: "按所选条件筛选的诉求，最新受理的在前；时间区间含开始日、不含结束日。",
        rows: rows(page.items),
        more: page.next_cursor.map(|c| next_page(c.to_string())),
        previous: None,
        total: Some(total),
        page_text: None,
        export: Some(format!("/work/export?{}", query_prefix(query, &["cursor", "limit", "sort"]))),
        bulk: bulk_form(app, &caller.actor, "results"),
        facets: Vec::new(),
    })
}

/// `GET /work/export?format=xlsx|csv&queue=…&<filters>`: the whole list the
/// work page shows (a queue with its filters, or the filtered list), in the
/// person's scope and masked as their list is. Excel: the title, the filter
/// in words, who and when above the header, every cell text. CSV (UTF-8
/// with BOM): the header and the rows, streamed page by page as they are read.
pub async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let mut rest = query;
    let format = rest.remove("format").unwrap_or_default();
    let queue_id = rest.remove("queue").filter(|q| !q.trim().is_empty());
    for paging in ["page", "cursor", "limit", "sort"] {
        rest.remove(paging);
    }
    if rest.get("q").is_some_and(|q| !q.trim().is_empty()) {
        return Err(PageError::Status(StatusCode::BAD_REQUEST, "导出不支持全文检索，请改用筛选条件".into()));
    }
    let filtered = rest.values().any(|v| !v.trim().is_empty());
    let (filter, heading) = match queue_id.as_deref() {
        Some(id) => {
            let (_, heading, _, base) = queues(&caller.actor)
                .into_iter()
                .find(|(q, ..)| *q == id)
                .ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "没有这个待办分类".into()))?;
            let mut filter = if filtered { app.requests().filter(&rest)? } else { ListFilter::default() };
            narrow(&mut filter, &base);
            (filter, heading)
        }
        None => (app.requests().filter(&rest)?, "查询结果"),
    };
    let day = app.now().format("%Y%m%d").to_string();
    match format.as_str() {
        "xlsx" | "" => {
            let conditions = describe(&app, &rest);
            let preamble = [
                format!("12345 诉求清单：{heading}"),
                format!("筛选条件：{}", if conditions.is_empty() { "无".to_owned() } else { conditions.join("；") }),
                format!("导出时间：{}　导出人：{}", app.now().format("%Y-%m-%d %H:%M"), caller.actor.name()),
                "个人信息按导出人的查看权限脱敏；编号、电话、信用代码均为文本单元格。".to_owned(),
            ];
            let bytes = app.requests().export_xlsx(&caller, filter, &preamble).await?;
            Ok(crate::download::xlsx(bytes, &format!("诉求清单-{day}.xlsx"), &format!("requests-{day}.xlsx")))
        }
        "csv" => {
            app.requests().check_export(&caller, &filter).await?;
            let head = format!("\u{feff}{}", csv_line(EXPORT_COLUMNS));
            let first =
                futures_util::stream::once(async move { Ok::<_, std::io::Error>(axum::body::Bytes::from(head)) });
            let pages =
                futures_util::stream::unfold(Some((app, caller, ExportCursor::new(filter))), |state| async move {
                    let (app, caller, mut cursor) = state?;
                    match app.requests().export_page(&caller, &mut cursor).await {
                        Ok(Some(views)) => {
                            let chunk: String = views.iter().map(|v| csv_line(&export_fields(v))).collect();
                            Some((Ok(axum::body::Bytes::from(chunk)), Some((app, caller, cursor))))
                        }
                        Ok(None) => None,
                        Err(error) => {
                            tracing::error!(%error, "a CSV export stopped");
                            Some((Err(std::io::Error::other(error.message)), None))
                        }
                    }
                });
            let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(first, pages));
            Ok(crate::download::file(
                body,
                "text/csv; charset=utf-8",
                &format!("诉求清单-{day}.csv"),
                &format!("requests-{day}.csv"),
            ))
        }
        _ => Err(PageError::Status(StatusCode::BAD_REQUEST, "导出格式应为 xlsx 或 csv".into())),
    }
}

/// `POST /work/views` (`name` and the work page's parameters as fields): saves
/// them as a view and opens it; a refusal shows the work page again with the
/// message beside the views and the name kept.
pub async fn save_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let name = form.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let filters: HashMap<String, String> = form.into_iter().filter(|(k, _)| k != "name").collect();
    let input = SavedViewInput { name: name.clone(), list: None, filters: filters.clone().into_iter().collect() };
    match app.saved_views().create(&caller, input).await.map_err(ApiError::from) {
        Ok(view) => Ok(Redirect::to(&view.link).into_response()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            let refusal = ViewRefusal { message: e.message, name };
            queue_page(&app, &caller, &menu, filters, Some(refusal), e.status).await
        }
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

/// `POST /work/views/{id}/rename`: renames one of one's views, back to the work page.
pub async fn rename_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> PageResult {
    let input = RenameViewInput { name: form.name.clone() };
    match app.saved_views().rename(&caller, &id, input).await.map_err(ApiError::from) {
        Ok(_) => Ok(Redirect::to("/work#views").into_response()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            let refusal = ViewRefusal { message: e.message, name: form.name };
            queue_page(&app, &caller, &menu, HashMap::new(), Some(refusal), e.status).await
        }
    }
}

/// `POST /work/views/{id}/delete`: deletes one of one's views, back to the work page.
pub async fn delete_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    match app.saved_views().delete(&caller, &id).await.map_err(ApiError::from) {
        Ok(()) => Ok(Redirect::to("/work#views").into_response()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            let refusal = ViewRefusal { message: e.message, name: String::new() };
            queue_page(&app, &caller, &menu, HashMap::new(), Some(refusal), e.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "work_bulk.html")]
struct BulkPage {
    layout: Layout,
    /// 批量派单 or 批量催办.
    heading: &'static str,
    outcome: Option<BulkOutcome>,
    /// The whole batch refused (nothing done): why.
    error: Option<String>,
}

/// `POST /work/bulk` (`action` = dispatch | urge; `no` = `TRACKING:VERSION` per selected row;
/// `lead_unit` for dispatch, `message` for urge): the bulk action, then per request what happened.
/// The route admits those who may urge in bulk (dispatchers, supervisors); dispatching needs more.
pub async fn bulk<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let first = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned());
    let requests: Vec<BulkTarget> = form
        .iter()
        .filter(|(k, _)| k == "no")
        .map(|(_, v)| match v.split_once(':') {
            Some((no, version)) => BulkTarget { tracking_no: no.to_owned(), version: version.parse().ok() },
            None => BulkTarget { tracking_no: v.clone(), version: None },
        })
        .collect();
    let (heading, done) = match first("action").as_deref() {
        Some("dispatch") if caller.actor.may(Permission::BulkDispatch) => {
            let input = BulkDispatchInput {
                requests,
                lead_unit: first("lead_unit").unwrap_or_default(),
                co_units: Vec::new(),
                comment: first("comment").filter(|c| !c.is_empty()),
            };
            ("批量派单", app.bulk().dispatch(&caller, input).await)
        }
        Some("urge") => {
            let input = BulkUrgeInput { requests, message: first("message").unwrap_or_default() };
            ("批量催办", app.bulk().urge(&caller, input).await)
        }
        Some("dispatch") => return Err(PageError::Status(StatusCode::FORBIDDEN, "您无权批量派单".into())),
        _ => return Err(PageError::Status(StatusCode::UNPROCESSABLE_ENTITY, "请选择批量派单或批量催办".into())),
    };
    let layout = Layout::staff(heading, &caller.actor, &menu);
    Ok(match done.map_err(ApiError::from) {
        Ok(outcome) => render(StatusCode::OK, &BulkPage { layout, heading, outcome: Some(outcome), error: None }),
        Err(e) => render(e.status, &BulkPage { layout, heading, outcome: None, error: Some(e.message) }),
    })
}

/// The actions a page offers, each shown only where the role and state allow it.
#[derive(Default)]
struct Actions {
    /// Every action the person may take now (from `app.requests().open`).
    available: BTreeSet<ActionName>,
    /// The units to dispatch to, the best suggestion (else the category's default lead unit) selected.
    dispatch: Option<Vec<Choice>>,
    /// The units to send a returned request on to.
    redispatch: Option<Vec<Choice>>,
    /// Co-handling units for dispatch and redispatch (multi-select).
    co_units: Vec<Choice>,
    /// The suggested lead units (派单建议) beside the dispatch and redispatch forms, best first.
    suggestions: Vec<SuggestedUnit>,
    /// The category the request's words point to first, when it is not the request's own (分类建议).
    category_hint: Option<CategoryHint>,
    /// The units that returned the request (退单) and are not suggested again, joined with 、.
    returned_by: String,
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
    /// The five levels, for 回访 (or the account's own 评价).
    follow_up: Option<Vec<Choice>>,
    reopen: bool,
    /// The account asks for its own request to be handled again (申请重办).
    request_reopen: bool,
    /// The person is the asker's own account (their forms say 评价, not 回访).
    asker: bool,
    merge: bool,
    withdraw: bool,
    archive: bool,
    suspend: bool,
    resume: bool,
    supervise: bool,
    urge: bool,
    /// 批注 (liaison cadres, supervisors, city leaders).
    comment: bool,
    note: bool,
    /// 改类改急: the choices, the request's current values (or those sent) selected.
    reclassify: Option<Reclassify>,
    /// 会签意见 (staff of a co-handling unit).
    co_answer: bool,
    /// 审核通过 / 审核退回 (the lead unit's leader, while a reply waits).
    review: bool,
    /// 二次派单: the sub-units directly below the person's handling unit.
    sub_dispatch: Option<Vec<Choice>>,
    sub_sign: bool,
    sub_reply: bool,
}

/// A suggested lead unit as the dispatch form shows it.
struct SuggestedUnit {
    code: String,
    name: String,
    /// The confidence as a whole percentage, e.g. "87%".
    percent: String,
    reasons: Vec<String>,
}

/// A category suggested in place of the request's own, as the dispatch form shows it.
struct CategoryHint {
    name: String,
    percent: String,
    reasons: Vec<String>,
    /// The request's category now.
    current: String,
}

/// The suggested lead units of a request the person may dispatch and, when its words point first
/// to another category, that category; from the model in service (the catalogue alone while none
/// is trained: training then starts in the background).
fn suggested<S: Store>(app: &App<S>, case: &Case) -> (Vec<SuggestedUnit>, Option<CategoryHint>, String) {
    let request = &case.request;
    let trained = app.dispatch_models().current();
    if trained.is_none() {
        let app = app.clone();
        tokio::spawn(async move {
            if let Err(error) = app.dispatch().train_now().await {
                tracing::error!(%error, "training the dispatch model failed");
            }
        });
    }
    let suggestions = app.dispatch().suggestions_for(request, trained.as_deref(), &case.returned_by);
    let returned_by = suggestions.returned_by.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join("、");
    let categories = app.caches().categories();
    let current = categories.iter().find(|c| c.id == request.category_id);
    let hint =
        suggestions.categories.into_iter().next().filter(|c| current.is_none_or(|x| x.code != c.category)).map(|c| {
            CategoryHint {
                name: c.category_name,
                percent: whole_percent(c.confidence),
                reasons: c.reasons,
                current: current.map_or_else(String::new, |x| x.name.clone()),
            }
        });
    let units = suggestions
        .suggestions
        .into_iter()
        .map(|s| SuggestedUnit {
            code: s.unit,
            name: s.unit_name,
            percent: whole_percent(s.confidence),
            reasons: s.reasons,
        })
        .collect();
    (units, hint, returned_by)
}

/// A confidence as a whole percentage, e.g. "87%".
fn whole_percent(confidence: f64) -> String {
    format!("{:.0}%", confidence * 100.0)
}

/// The choices of the correction form (改类改急).
struct Reclassify {
    kinds: Vec<Choice>,
    urgencies: Vec<Choice>,
    categories: Vec<Choice>,
    towns: Vec<Choice>,
}

impl Actions {
    /// Whether the page shows the form of this action.
    fn offers(&self, action: &str) -> bool {
        action == "attachments" || ActionName::parse(action).is_ok_and(|a| self.available.contains(&a))
    }

    fn any(&self) -> bool {
        !self.available.is_empty()
    }
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

/// The forms of the actions the person may take, with their choices (and,
/// after a refusal, the values sent).
fn actions<S: Store>(app: &App<S>, actor: &Actor, case: &Case, failed: Option<&Failed>) -> Actions {
    let request = &case.request;
    let has = |a: ActionName| case.available.contains(&a);
    let failed_on = |name: &str| failed.filter(|f| f.action == name);
    let sent = failed_on("dispatch").or_else(|| failed_on("redispatch"));
    let units = |default: Option<i64>| {
        let mut units = unit_choices(app, default);
        if let Some(f) = sent {
            units.iter_mut().for_each(|u| u.selected = f.has("lead_unit", &u.value));
        }
        units
    };
    let categories = app.caches().categories();
    let default = categories.iter().find(|c| c.id == request.category_id).and_then(|c| c.default_lead_unit_id);
    let org = app.caches().org();
    let mut co_units = unit_choices(app, None);
    co_units.iter_mut().for_each(|u| {
        u.selected = sent.map_or_else(
            || request.co_unit_ids.iter().any(|id| org.get(*id).is_some_and(|x| x.code == u.value)),
            |f| f.has("co_units", &u.value),
        );
    });
    let rating = failed_on("follow-up").and_then(|f| f.value("rating")).unwrap_or_default().to_owned();
    let dispatching = has(ActionName::Dispatch) || has(ActionName::Redispatch);
    let may_see_suggestions = dispatching && actor.may(mashangban_domain::access::Permission::SuggestDispatch);
    let (suggestions, category_hint, returned_by) =
        if may_see_suggestions { suggested(app, case) } else { (Vec::new(), None, String::new()) };
    // The best suggestion is preselected; it is the catalogue's unit unless history says otherwise.
    let best = suggestions.first().and_then(|s| org.by_code(&s.code)).map(|u| u.id).or(default);
    Actions {
        dispatch: has(ActionName::Dispatch).then(|| units(best)),
        redispatch: has(ActionName::Redispatch).then(|| units(None)),
        co_units: if dispatching { co_units } else { Vec::new() },
        suggestions,
        category_hint,
        returned_by,
        sign: has(ActionName::Sign),
        return_: has(ActionName::Return),
        refuse_return: has(ActionName::RefuseReturn),
        stage_reply: has(ActionName::StageReply),
        request_extension: has(ActionName::RequestExtension),
        decide_extension: has(ActionName::ApproveExtension),
        reply: has(ActionName::Reply),
        reject_reply: has(ActionName::RejectReply),
        close: has(ActionName::Close),
        direct_close: has(ActionName::DirectClose),
        follow_up: has(ActionName::FollowUp)
            .then(|| Rating::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), rating == r.as_str())).collect()),
        reopen: has(ActionName::Reopen),
        request_reopen: has(ActionName::RequestReopen)
            && request.follow_up_unhappy()
            && request.reopen_requested_at.is_none(),
        asker: matches!(actor, Actor::Account(_)),
        merge: has(ActionName::Merge),
        withdraw: has(ActionName::Withdraw),
        archive: has(ActionName::Archive),
        suspend: has(ActionName::Suspend),
        resume: has(ActionName::Resume),
        supervise: has(ActionName::Supervise),
        urge: has(ActionName::Urge),
        comment: has(ActionName::Comment),
        note: has(ActionName::Note),
        reclassify: has(ActionName::Reclassify).then(|| reclassify_choices(app, case, failed_on("reclassify"))),
        co_answer: has(ActionName::CoAnswer),
        review: has(ActionName::ApproveReply) && request.unit_work.review.is_some(),
        sub_dispatch: has(ActionName::SubDispatch).then(|| {
            let unit = mashangban_domain::unit_work::handling_unit_of(request, actor);
            let sent = failed_on("sub-dispatch");
            let mut subs: Vec<Choice> = org
                .units()
                .filter(|u| u.active && u.kind == UnitKind::Subunit && u.parent_id.is_some() && u.parent_id == unit)
                .map(|u| Choice::new(u.code.clone(), u.name.clone(), sent.is_some_and(|f| f.has("sub_unit", &u.code))))
                .collect();
            subs.sort_by(|a, b| a.value.cmp(&b.value));
            subs
        }),
        sub_sign: has(ActionName::SubSign),
        sub_reply: has(ActionName::SubReply),
        available: case.available.clone(),
    }
}

/// The correction form's choices: the current value of each field selected,
/// or after a refusal the value sent. Act-now (马上办) is offered to enterprises only.
fn reclassify_choices<S: Store>(app: &App<S>, case: &Case, failed: Option<&Failed>) -> Reclassify {
    let request = &case.request;
    let pick = |field: &str, current: &str, value: &str| match failed.and_then(|f| f.value(field)) {
        Some(sent) => sent == value,
        None => current == value,
    };
    let kinds = RequestKind::ALL
        .iter()
        .map(|k| Choice::new(k.as_str(), k.label(), pick("kind", request.kind.as_str(), k.as_str())))
        .collect();
    let urgencies = Urgency::ALL
        .iter()
        .filter(|u| **u != Urgency::ActNow || request.asker.is_enterprise())
        .map(|u| Choice::new(u.as_str(), u.label(), pick("urgency", request.urgency.as_str(), u.as_str())))
        .collect();
    let all = app.caches().categories();
    let current_category = all.iter().find(|c| c.id == request.category_id).map(|c| c.code.clone()).unwrap_or_default();
    let categories = all
        .iter()
        .filter(|c| c.active)
        .map(|c| Choice::new(c.code.clone(), c.name.clone(), pick("category", &current_category, &c.code)))
        .collect();
    let org = app.caches().org();
    let current_town = request.location.town_id.and_then(|t| org.get(t)).map(|u| u.code.clone()).unwrap_or_default();
    let mut towns: Vec<Choice> = org
        .units()
        .filter(|u| u.active && u.kind == UnitKind::Town)
        .map(|u| Choice::new(u.code.clone(), u.name.clone(), pick("town", &current_town, &u.code)))
        .collect();
    towns.sort_by(|a, b| a.value.cmp(&b.value));
    Reclassify { kinds, urgencies, categories, towns }
}

/// Departments, then towns; `default` selected.
fn unit_choices<S: Store>(app: &App<S>, default: Option<i64>) -> Vec<Choice> {
    let org = app.caches().org();
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
    /// Likely duplicates (疑似重复) to merge into, for those who may merge.
    similar: Vec<SimilarRequest>,
    /// The request's spam screening (垃圾信息甄别), for those who screen.
    screening: Option<ScreeningView>,
    failed: Option<Failed>,
    /// The supervision deadline sent falls on a weekend or holiday: the form asks to confirm it.
    supervise_unconfirmed: bool,
}

impl DetailPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The page of the ledger item (台账条目) the request names as `type:key`, if any.
    fn ledger_link(&self) -> Option<String> {
        let (ty, key) = self.r.ledger_ref.as_deref()?.split_once(':')?;
        Some(format!("/ledgers/{}/items/{}", crate::api::percent_encode(ty), crate::api::percent_encode(key)))
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
pub async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Path(no): Path<String>,
) -> PageResult {
    detail_page(&app, &caller, &menu, &no, None, StatusCode::OK).await
}

async fn detail_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    no: &str,
    failed: Option<Failed>,
    status: StatusCode,
) -> PageResult {
    let case = app.requests().open(caller, no).await.map_err(|e| match e.code {
        "request_not_found" => PageError::Status(StatusCode::NOT_FOUND, "诉求不存在，或不在您的办理范围内".into()),
        _ => e.into(),
    })?;
    let actions = actions(app, &caller.actor, &case, failed.as_ref());
    let may_merge = actions.merge && caller.actor.may(mashangban_domain::access::Permission::SuggestDispatch);
    let similar = if may_merge { app.duplicates().similar(caller, no).await? } else { Vec::new() };
    let screens = caller.actor.may(mashangban_domain::access::Permission::ScreenSubmissions);
    let screening = if screens { app.screening().of(&case.request).await? } else { None };
    let detail = case.detail;
    let r = detail.request;
    let supervise_unconfirmed = failed
        .as_ref()
        .filter(|f| f.action == "supervise")
        .is_some_and(|f| supervision_warning(app, &f.values).is_some());
    let page = DetailPage {
        supervise_unconfirmed,
        layout: Layout::staff(format!("诉求 {}", r.tracking_no), &caller.actor, menu),
        countdown: countdown(&r),
        history: detail.history,
        attachments: detail.attachments,
        actions,
        similar,
        screening,
        failed,
        r,
    };
    Ok(render(status, &page))
}

/// The warning for a supervision deadline (the form's `due`) on a weekend or holiday, unless the
/// form confirms it (`non_working_ok`).
fn supervision_warning<S: Store>(app: &App<S>, form: &[(String, String)]) -> Option<String> {
    let first = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if first("non_working_ok") == Some("1") {
        return None;
    }
    let due = mashangban_domain::time::parse_instant(&local_time(first("due")?)?)?;
    mashangban_app::views::non_working_day_warning(&app.caches().calendar(), due)
}

/// `2026-12-01T17:30` (a `datetime-local` input) → `2026-12-01T17:30:00+08:00`.
pub(crate) fn local_time(value: &str) -> Option<String> {
    let value = value.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    Some(format!("{}+08:00", parsed.format("%Y-%m-%dT%H:%M:%S")))
}

/// The action's JSON body from the form, by the fields of its body (read
/// from the action list's schema), or the message for a field the page
/// itself cannot turn into a value.
fn body_of(fields: &[FormField], form: &[(String, String)]) -> Result<Value, String> {
    let first = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut body = Map::new();
    for field in fields {
        let name = field.name.as_str();
        let value = match field.kind {
            FieldKind::Text => Some(first(name).unwrap_or_default().into()),
            FieldKind::Optional => first(name).filter(|v| !v.trim().is_empty()).map(Value::from),
            FieldKind::List => Some(
                form.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| Value::from(v.as_str())).collect(),
            ),
            FieldKind::Time => {
                let time =
                    local_time(first(name).unwrap_or_default()).ok_or_else(|| "请填写完整的日期和时间".to_owned())?;
                Some(time.into())
            }
            FieldKind::YesNo => match first(name) {
                Some("yes") => Some(true.into()),
                Some("no") => Some(false.into()),
                _ => return Err("请选择问题是否已解决".to_owned()),
            },
        };
        if let Some(value) = value {
            body.insert(name.to_owned(), value);
        }
    }
    if fields.iter().any(|f| f.name == "rating") && first("rating").is_none_or(str::is_empty) {
        return Err("请选择满意度".to_owned());
    }
    // The version the page showed: a request changed since is refused rather than acted on unseen.
    if let Some(version) = first("version").map(str::trim).filter(|v| !v.is_empty()) {
        let version: i64 = version.parse().map_err(|_| "页面信息有误，请刷新页面后再提交".to_owned())?;
        body.insert("version".to_owned(), version.into());
    }
    Ok(Value::Object(body))
}

/// `POST /work/{no}/{action}`: the action through `app.requests().act` (the
/// API's parsing, scope, permission and store path), then back to the
/// detail; a refusal shows its message next to the form, the values kept.
pub async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Path((no, action)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let name =
        ActionName::parse(&action).map_err(|_| PageError::Status(StatusCode::NOT_FOUND, "没有这个操作".into()))?;
    let parsed = body_of(name.fields(), &form)
        .and_then(|body| ActionRequest::parse(name.as_str(), body.to_string().as_bytes()).map_err(|e| e.message));
    // A supervision deadline on a day nobody works is asked about once (the API takes it and warns).
    let parsed = match parsed {
        Ok(_) if name == ActionName::Supervise => match supervision_warning(&app, &form) {
            Some(warning) => Err(format!("{warning}。如确需此期限，请勾选确认后再提交。")),
            None => parsed,
        },
        other => other,
    };
    let input = match parsed {
        Ok(input) => input,
        Err(message) => {
            let failed = Failed { action, message, values: form };
            return detail_page(&app, &caller, &menu, &no, Some(failed), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match app.requests().act(&caller, &no, input).await.map_err(ApiError::from) {
        Ok(_) => Ok(Redirect::to(&format!("/work/{no}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            let status = e.status;
            let message = match e.code {
                "version_changed" => STALE_PAGE.to_owned(),
                _ => e.message,
            };
            let failed = Failed { action, message, values: form };
            detail_page(&app, &caller, &menu, &no, Some(failed), status).await
        }
    }
}

/// A form sent from a page older than the request: the page shown again is the new state.
const STALE_PAGE: &str =
    "您打开页面后，此诉求已有新的办理，本次操作未执行。下方已是最新情况，您填写的内容已保留，请确认后再提交。";

/// `POST /work/{no}/attachments` (multipart `file`, several allowed): staff
/// add files (附件) to a request in their scope; each becomes an event.
pub async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Path(no): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let files = match multipart {
        Ok(multipart) => read_files(multipart, &attachment_too_large(app.settings().max_attachment_bytes)).await,
        Err(_) => Err(ApiError::bad_request("malformed_multipart", "上传的文件格式不正确，请重新选择文件")),
    };
    let saved = match files {
        Ok(files) => app.requests().add_files(&caller, &no, files).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/work/{no}#attachments")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::UNAUTHORIZED => Err(e.into()),
        Err(e) => {
            let status = e.status;
            let failed = Failed { action: "attachments".into(), message: e.message, values: Vec::new() };
            detail_page(&app, &caller, &menu, &no, Some(failed), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a form sends, each action's fields make a body or a message, and the
        /// body is parsed or refused with a code: never a panic.
        #[test]
        fn any_form_makes_a_body_or_a_message(
            pairs in proptest::collection::vec(("[a-z_]{1,10}", "\\PC{0,24}"), 0..8),
        ) {
            for name in ActionName::all() {
                if let Ok(body) = body_of(name.fields(), &pairs)
                    && let Err(e) = ActionRequest::parse(name.as_str(), body.to_string().as_bytes())
                {
                    prop_assert!(!e.code.is_empty());
                }
            }
        }
    }

    #[test]
    fn form_fields_become_the_actions_body() {
        let form =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let fields = |name: &str| ActionName::parse(name).map(ActionName::fields).unwrap_or_default();
        let body = body_of(
            fields("dispatch"),
            &form(&[("lead_unit", "rsj"), ("co_units", "zwfw"), ("co_units", "scjgj"), ("comment", " ")]),
        );
        assert_eq!(body, Ok(serde_json::json!({ "lead_unit": "rsj", "co_units": ["zwfw", "scjgj"] })));
        let body = body_of(fields("request-extension"), &form(&[("new_due", "2099-12-31T17:30")]));
        assert_eq!(body, Ok(serde_json::json!({ "new_due": "2099-12-31T17:30:00+08:00", "reason": "" })));
        assert!(body_of(fields("supervise"), &form(&[("due", "")])).is_err());
        assert!(body_of(fields("follow-up"), &form(&[("rating", "satisfied")])).is_err());
        assert!(body_of(fields("follow-up"), &form(&[("resolved", "yes")])).is_err());
        let body = body_of(fields("sign"), &form(&[("version", "7")]));
        assert_eq!(body, Ok(serde_json::json!({ "version": 7 })));
        assert!(body_of(fields("sign"), &form(&[("version", "7x")])).is_err());
        assert_eq!(body_of(fields("sign"), &form(&[("version", "")])), Ok(serde_json::json!({})));
    }
}
