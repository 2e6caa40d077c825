//! 行走办 (on-site service) pages: `/onsite`, the requests in the reader's
//! reach (an enterprise its own, a centre its queue) with a stage filter;
//! `/onsite/new`, an enterprise's request (centre, items with counts, people,
//! dates, address, contact); `/onsite/{id}`, a request with its history and
//! the forms of the actions open to the reader; `/onsite/report`, the report
//! per centre. Each calls `app.onsite()`, the service of `/api/v1/onsite/...`.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::onsite::{
    CentreView, ItemCountBody, OnsiteActionBody, OnsiteBody, OnsiteDetail, OnsiteReport, OnsiteView, PeriodQuery,
    ServiceItemView, SessionDay,
};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::document::OwnerKind;
use mashangban_domain::onsite::{OnsiteStage, onsite_not_found};
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time, shown};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, ask, handle) = (Permission::ReadOnsite, Permission::RequestOnsite, Permission::HandleOnsite);
    let mut routes = vec![
        Route::get("/onsite", list::<S>).permission(read).nav(MenuKind::Main, 46, "上门服务"),
        Route::get("/onsite/new", new_form::<S>).permission(ask),
        Route::post("/onsite/new", submit::<S>).permission(ask).form(),
        Route::get("/onsite/report", report::<S>).permission(Permission::ReadOnsiteReports).nav(
            MenuKind::Main,
            47,
            "上门服务统计",
        ),
        Route::get("/onsite/{id}", detail::<S>).permission(read),
    ];
    for path in ["/onsite/{id}/accept", "/onsite/{id}/propose", "/onsite/{id}/refuse", "/onsite/{id}/record"] {
        routes.push(Route::post(path, act::<S>).permission(handle).form());
    }
    for path in ["/onsite/{id}/confirm", "/onsite/{id}/withdraw", "/onsite/{id}/rate"] {
        routes.push(Route::post(path, act::<S>).permission(ask).form());
    }
    routes
}

#[derive(Template)]
#[template(path = "onsite_list.html")]
struct ListPage {
    layout: Layout,
    requests: Vec<OnsiteView>,
    stages: Vec<Choice>,
    /// May ask for a visit (enterprise accounts).
    ask: bool,
}

impl ListPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    stage: Option<String>,
}

/// `GET /onsite[?stage=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let stage = query.stage.unwrap_or_default();
    let page = ListPage {
        layout: Layout::staff("上门服务（行走办）", &caller.actor, &menu),
        requests: app.onsite().list(&caller, Some(&stage)).await?,
        stages: OnsiteStage::ALL.iter().map(|s| Choice::new(s.as_str(), s.label(), s.as_str() == stage)).collect(),
        ask: caller.may(Permission::RequestOnsite),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "onsite_new.html")]
struct NewPage {
    layout: Layout,
    centres: Vec<CentreView>,
    items: Vec<ServiceItemView>,
    error: Option<String>,
    form: HashMap<String, String>,
}

impl NewPage {
    fn value(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }

    fn count_of(&self, item: &i64) -> &str {
        self.value(&format!("count_{item}"))
    }

    fn chosen(&self, centre: &i64) -> bool {
        self.value("centre") == centre.to_string()
    }
}

async fn new_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    status: StatusCode,
    error: Option<String>,
    form: HashMap<String, String>,
) -> PageResult {
    let service = app.onsite();
    let page = NewPage {
        layout: Layout::staff("申请上门服务", &caller.actor, menu),
        centres: service.centres(caller).await?,
        items: service.items(caller).await?,
        error,
        form,
    };
    Ok(render(status, &page))
}

/// `GET /onsite/new`.
async fn new_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    new_page(&app, &caller, &menu, StatusCode::OK, None, HashMap::new()).await
}

/// The numbers typed per item in the fields `<prefix><item id>`; a blank one is left out, or taken
/// as `blank` when given.
fn item_counts(
    form: &HashMap<String, String>,
    prefix: &str,
    blank: Option<u32>,
) -> Result<Vec<ItemCountBody>, AppError> {
    let mut counts = Vec::new();
    for (name, value) in form {
        let Some(id) = name.strip_prefix(prefix) else { continue };
        let item = id.parse().map_err(|_| AppError::invalid("unknown_item", "服务事项不存在"))?;
        let count = match (value.trim(), blank) {
            ("", None) => continue,
            ("", Some(n)) => n,
            (v, _) => v.parse().map_err(|_| AppError::invalid("invalid_count", "人数和数量应为非负整数"))?,
        };
        counts.push(ItemCountBody { item, count });
    }
    counts.sort_by_key(|c| c.item);
    Ok(counts)
}

fn field(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name).cloned().unwrap_or_default()
}

fn some(form: &HashMap<String, String>, name: &str) -> Option<String> {
    form.get(name).filter(|v| !v.trim().is_empty()).cloned()
}

fn body_of(form: &HashMap<String, String>) -> Result<OnsiteBody, AppError> {
    let centre =
        field(form, "centre").trim().parse().map_err(|_| AppError::invalid("centre_required", "请选择政务服务中心"))?;
    let people = field(form, "people")
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("invalid_people", "办理总人数应为正整数"))?;
    Ok(OnsiteBody {
        centre,
        items: item_counts(form, "count_", None)?,
        people,
        dates: ["date1", "date2", "date3"].iter().map(|n| field(form, n)).collect(),
        address: field(form, "address"),
        contact_name: field(form, "contact_name"),
        contact_phone: field(form, "contact_phone"),
        note: some(form, "note"),
    })
}

/// `POST /onsite/new`: to the new request, or the form with the refusal.
async fn submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let result = match body_of(&form) {
        Ok(body) => app.onsite().submit(&caller, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/onsite/{}", d.request.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            new_page(&app, &caller, &menu, status, Some(message), form).await
        }
    }
}

#[derive(Template)]
#[template(path = "onsite_detail.html")]
struct DetailPage {
    layout: Layout,
    detail: OnsiteDetail,
    /// The centre's booked days ahead (for those who accept).
    sessions: Vec<SessionDay>,
    error: Option<String>,
    /// Photos and documents of the session (附件).
    documents: super::documents::Panel,
}

impl DetailPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }

    fn can(&self, action: &str) -> bool {
        self.detail.actions.iter().any(|a| a == action)
    }
}

fn request_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::from(onsite_not_found()))
}

async fn detail_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let service = app.onsite();
    let detail = service.get(caller, id).await?;
    let sessions = if caller.may(Permission::HandleOnsite) {
        service.sessions(caller, detail.request.centre_id, PeriodQuery::default()).await?
    } else {
        Vec::new()
    };
    let documents = super::documents::panel(app, caller, OwnerKind::OnsiteRequest, id, Vec::new()).await?;
    let page = DetailPage {
        documents,
        layout: Layout::staff(format!("上门服务 {}", detail.request.number), &caller.actor, menu),
        detail,
        sessions,
        error,
    };
    Ok(render(status, &page))
}

/// `GET /onsite/{id}`.
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    detail_page(&app, &caller, &menu, request_id(&id)?, StatusCode::OK, None).await
}

fn action_body(form: &HashMap<String, String>) -> Result<OnsiteActionBody, AppError> {
    let version = field(form, "version")
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("invalid_version", "页面已过期，请刷新后重试"))?;
    let rating = match some(form, "rating") {
        Some(r) => Some(r.trim().parse().map_err(|_| AppError::invalid("invalid_rating", "评分应为1~5星"))?),
        None => None,
    };
    let handled = item_counts(form, "handled_", Some(0))?;
    Ok(OnsiteActionBody {
        version,
        date: some(form, "date"),
        team: some(form, "team"),
        note: some(form, "note"),
        reason: some(form, "reason"),
        handled,
        rating,
        comment: some(form, "comment"),
    })
}

/// `POST /onsite/{id}/{action}`: as the API; back to the request, or its page with the refusal.
async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    matched: MatchedPath,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = request_id(&id)?;
    let action = matched.as_str().rsplit('/').next().unwrap_or_default().to_owned();
    let result = match action_body(&form) {
        Ok(body) => app.onsite().act(&caller, id, &action, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/onsite/{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            detail_page(&app, &caller, &menu, id, status, Some(message)).await
        }
    }
}

#[derive(Template)]
#[template(path = "onsite_report.html")]
struct ReportPage {
    layout: Layout,
    report: OnsiteReport,
    from: String,
    to: String,
}

/// `GET /onsite/report[?from=&to=]`.
async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<PeriodQuery>,
) -> PageResult {
    let (from, to) = (query.from.clone().unwrap_or_default(), query.to.clone().unwrap_or_default());
    let page = ReportPage {
        layout: Layout::staff("上门服务统计", &caller.actor, &menu),
        report: app.onsite().report(&caller, query).await?,
        from,
        to,
    };
    Ok(render(StatusCode::OK, &page))
}
