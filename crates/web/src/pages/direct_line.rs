//! 书记市长直通车: the portal's page (`/direct-line`: the form and the
//! published replies, masked), the asker's progress page with the rating
//! form, the leaders' office's queue with its entry form for letters and
//! calls, an item's page with the steps the person may take (screen,
//! instruct, review), a leader's page of the items put before them (with
//! overdue marks) and the office's queue, both live (`direct_line_live`),
//! and the monthly report with its Excel export. Each form calls the same
//! service as the API.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use mashangban_app::direct_line::{
    ConvertBody, CorrectBody, Decision, InstructBody, ItemQuery, ItemView, MergeBody, MonthlyReport, PublicItemBody,
    PublicProgress, PublishedView, RateBody, RedispatchBody, RefuseReturnBody, ResubmitBody, ReturnBody, ReviewBody,
    StaffItemBody, SubmitBody, Taken,
};
use mashangban_app::{App, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::direct_line::{Addressee, ItemState, Queue, Source};
use mashangban_domain::document::OwnerKind;
use mashangban_domain::request::Rating;
use mashangban_store::Store;

use super::direct_line_live::{self as live, Board, Rows};
use super::{Choice, Layout, PageResult, render, short_time, shown};
use crate::api::direct_line::item_id;
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle, instruct, reports) = (
        Permission::ReadDirectLine,
        Permission::HandleDirectLine,
        Permission::InstructDirectLine,
        Permission::ReadDirectLineReports,
    );
    vec![
        Route::get("/direct-line", portal::<S>).public(),
        Route::post("/direct-line", portal_submit::<S>).public().form(),
        Route::get("/direct-line/track", track::<S>).public(),
        Route::post("/direct-line/track", track_rate::<S>).public().form(),
        Route::get("/direct-line/office", office::<S>).permission(handle).nav(MenuKind::Main, 47, "直通车"),
        Route::post("/direct-line/office", office_enter::<S>).permission(handle).form(),
        Route::get("/direct-line/office/events", live::office_events::<S>).permission(handle),
        Route::get("/direct-line/mine", mine::<S>).permission(instruct).nav(MenuKind::Main, 48, "直通车批示"),
        Route::get("/direct-line/mine/events", live::mine_events::<S>).permission(instruct),
        Route::get("/direct-line/reports", report::<S>).permission(reports),
        Route::get("/direct-line/reports/export", export::<S>).permission(reports),
        Route::get("/direct-line/items/{id}", detail::<S>).permission(read),
        Route::post("/direct-line/items/{id}/submit", submit_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/correct", correct_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/merge", merge_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/convert", convert_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/review", review_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/instruct", instruct_step::<S>).permission(instruct).form(),
        Route::post("/direct-line/items/{id}/return", return_step::<S>).permission(Permission::ReturnDirectLine).form(),
        Route::post("/direct-line/items/{id}/resubmit", resubmit_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/redispatch", redispatch_step::<S>).permission(handle).form(),
        Route::post("/direct-line/items/{id}/refuse-return", refuse_return_step::<S>).permission(handle).form(),
    ]
}

fn given(s: &Option<String>) -> &str {
    s.as_deref().map(str::trim).unwrap_or_default()
}

fn addressees(selected: &str) -> Vec<Choice> {
    Addressee::ALL.iter().map(|a| Choice::new(a.as_str(), a.label(), a.as_str() == selected)).collect()
}

// ---- the portal ----------------------------------------------------------------------------

/// The portal form's fields as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ItemForm {
    source: String,
    addressee: String,
    name: String,
    phone: String,
    credit_code: String,
    title: String,
    content: String,
    publish_consent: Option<String>,
}

impl ItemForm {
    fn body(&self) -> Result<PublicItemBody, String> {
        let addressee = Addressee::parse(self.addressee.trim()).ok_or_else(|| "请选择写给书记还是市长".to_owned())?;
        Ok(PublicItemBody {
            name: self.name.clone(),
            phone: self.phone.clone(),
            credit_code: Some(self.credit_code.clone()).filter(|c| !c.trim().is_empty()),
            title: self.title.clone(),
            content: self.content.clone(),
            addressee,
            publish_consent: self.publish_consent.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "direct_line_portal.html")]
struct PortalPage {
    layout: Layout,
    form: ItemForm,
    addressees: Vec<Choice>,
    message: Option<String>,
    taken: Option<Taken>,
    published: Vec<PublishedView>,
}

impl PortalPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn portal_page<S: Store>(
    app: &App<S>,
    form: ItemForm,
    status: StatusCode,
    message: Option<String>,
    taken: Option<Taken>,
) -> PageResult {
    let page = PortalPage {
        layout: Layout::public("书记市长直通车"),
        addressees: addressees(&form.addressee),
        form,
        message,
        taken,
        published: app.direct_line().published(20).await?,
    };
    Ok(render(status, &page))
}

/// `GET /direct-line`.
async fn portal<S: Store>(State(app): State<App<S>>) -> PageResult {
    portal_page(&app, ItemForm::default(), StatusCode::OK, None, None).await
}

/// `POST /direct-line`: as the public API; the number and check code, or the form again with the refusal.
async fn portal_submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(form): Form<ItemForm>,
) -> PageResult {
    let body = match form.body() {
        Ok(b) => b,
        Err(m) => return portal_page(&app, form, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None).await,
    };
    match app.direct_line().submit(&caller, body).await {
        Ok(taken) => portal_page(&app, ItemForm::default(), StatusCode::OK, None, Some(taken)).await,
        Err(e) => {
            let (status, message) = shown(e)?;
            portal_page(&app, form, status, Some(message), None).await
        }
    }
}

#[derive(Template)]
#[template(path = "direct_line_track.html")]
struct TrackPage {
    layout: Layout,
    no: String,
    code: String,
    message: Option<String>,
    progress: Option<PublicProgress>,
    ratings: Vec<Choice>,
}

impl TrackPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TrackForm {
    no: String,
    code: String,
    rating: String,
    comment: String,
}

async fn track_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    form: &TrackForm,
    message: Option<String>,
    status: StatusCode,
) -> PageResult {
    let mut status = status;
    let mut message = message;
    let progress = if form.no.trim().is_empty() {
        None
    } else {
        match app.direct_line().progress(caller, &form.no, &form.code).await {
            Ok(p) => Some(p),
            Err(e) => {
                let (s, m) = shown(e)?;
                (status, message) = (s, Some(m));
                None
            }
        }
    };
    let page = TrackPage {
        layout: Layout::public("直通车办理进度"),
        no: form.no.trim().to_owned(),
        code: form.code.trim().to_owned(),
        message,
        progress,
        ratings: Rating::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), false)).collect(),
    };
    Ok(render(status, &page))
}

/// `GET /direct-line/track[?no=&code=]`.
async fn track<S: Store>(State(app): State<App<S>>, Auth(caller): Auth, Query(form): Query<TrackForm>) -> PageResult {
    track_page(&app, &caller, &form, None, StatusCode::OK).await
}

/// `POST /direct-line/track`: the asker's rating.
async fn track_rate<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(form): Form<TrackForm>,
) -> PageResult {
    let Some(rating) = Rating::parse(form.rating.trim()) else {
        let m = "请选择评价".to_owned();
        return track_page(&app, &caller, &form, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let comment = Some(form.comment.clone()).filter(|c| !c.trim().is_empty());
    let body = RateBody { code: form.code.clone(), rating, comment };
    match app.direct_line().rate(&caller, &form.no, body).await {
        Ok(_) => track_page(&app, &caller, &form, None, StatusCode::OK).await,
        Err(e) => {
            let (status, message) = shown(e)?;
            track_page(&app, &caller, &form, Some(message), status).await
        }
    }
}

// ---- the office ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "direct_line_office.html")]
struct OfficePage {
    layout: Layout,
    /// The rows (HTML of `direct_line_office_row.html`), kept up to date by `direct-line-live.js`.
    rows: Vec<String>,
    /// The live stream of this list.
    events: String,
    queues: Vec<Choice>,
    form: ItemForm,
    addressees: Vec<Choice>,
    message: Option<String>,
}

async fn office_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    query: &ItemQuery,
    form: ItemForm,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let queue = given(&query.queue);
    let listed = Rows::of(Board::Office, &app.direct_line().list(caller, query).await?)?;
    let page = OfficePage {
        layout: Layout::staff("书记市长直通车", &caller.actor, menu),
        events: listed.events_url(Board::Office, query),
        rows: listed.rows.into_iter().map(|(_, html)| html).collect(),
        queues: Queue::ALL.iter().map(|q| Choice::new(q.as_str(), q.label(), q.as_str() == queue)).collect(),
        addressees: addressees(&form.addressee),
        form,
        message,
    };
    Ok(render(status, &page))
}

/// `GET /direct-line/office[?queue=]`.
async fn office<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ItemQuery>,
) -> PageResult {
    office_page(&app, &caller, &menu, &query, ItemForm::default(), StatusCode::OK, None).await
}

/// `POST /direct-line/office`: a letter or a call entered.
async fn office_enter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<ItemForm>,
) -> PageResult {
    let query = ItemQuery::default();
    let source = Source::parse(form.source.trim()).filter(|s| *s != Source::Portal);
    let (Some(source), Ok(item)) = (source, form.body()) else {
        let m = "请选择来源（来信或来电）和写给书记还是市长".to_owned();
        return office_page(&app, &caller, &menu, &query, form, StatusCode::UNPROCESSABLE_ENTITY, Some(m)).await;
    };
    match app.direct_line().enter(&caller, StaffItemBody { source, item }).await {
        Ok(v) => Ok(Redirect::to(&format!("/direct-line/items/{}", v.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            office_page(&app, &caller, &menu, &query, form, status, Some(message)).await
        }
    }
}

// ---- a leader's items ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "direct_line_mine.html")]
struct MinePage {
    layout: Layout,
    /// The rows (HTML of `direct_line_mine_row.html`), kept up to date by `direct-line-live.js`.
    rows: Vec<String>,
    /// The live stream of this list.
    events: String,
}

/// `GET /direct-line/mine`: every item put before the leader, with progress and overdue marks, live.
async fn mine<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let query = ItemQuery::default();
    let listed = Rows::of(Board::Mine, &app.direct_line().list(&caller, &query).await?)?;
    let page = MinePage {
        layout: Layout::staff("直通车批示件", &caller.actor, &menu),
        events: listed.events_url(Board::Mine, &query),
        rows: listed.rows.into_iter().map(|(_, html)| html).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- an item -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "direct_line_item.html")]
struct ItemPage {
    layout: Layout,
    item: ItemView,
    message: Option<String>,
    screen: bool,
    /// The office's correction form (a new item only).
    correct: bool,
    instruct: bool,
    review: bool,
    /// The lead unit's 退回 form.
    give_back: bool,
    /// The office's forms for an item its lead unit sent back (重新呈报, 按原批示改派).
    returned: bool,
    leaders: Vec<Choice>,
    categories: Vec<Choice>,
    units: Vec<Choice>,
    /// Scans of the letter (信件扫描件) and other documents.
    documents: super::documents::Panel,
}

impl ItemPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn item_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let item = app.direct_line().get(caller, id).await?;
    let office = caller.may(Permission::HandleDirectLine);
    let screen = office && matches!(item.state, ItemState::New | ItemState::Submitted);
    let correct = office && item.state == ItemState::New;
    let instruct = caller.may(Permission::InstructDirectLine)
        && item.state == ItemState::Submitted
        && item.leader_user_id == caller.actor.user_id();
    let review = office && item.queue == Queue::Review;
    let give_back = item.may_return && caller.may(Permission::ReturnDirectLine);
    let returned = office && item.queue == Queue::Returned;
    let leaders = if screen {
        app.direct_line()
            .leaders()
            .await?
            .into_iter()
            .map(|(id, name)| Choice::new(id.to_string(), name, false))
            .collect()
    } else {
        Vec::new()
    };
    let current = item.category.as_ref().map(|c| c.code.as_str());
    let mut categories: Vec<Choice> = app
        .caches()
        .categories()
        .iter()
        .filter(|c| c.active && c.parent_id.is_some())
        .map(|c| Choice::new(c.code.clone(), c.name.clone(), current == Some(c.code.as_str())))
        .collect();
    categories.sort_by(|a, b| a.value.cmp(&b.value));
    let units = mashangban_app::visits::attending_units(&app.caches().org())
        .into_iter()
        .map(|(code, name)| Choice::new(code, name, false))
        .collect();
    let documents = super::documents::panel(app, caller, OwnerKind::DirectLineItem, id, Vec::new()).await?;
    let page = ItemPage {
        documents,
        layout: Layout::staff(format!("直通车：{}", item.title), &caller.actor, menu),
        item,
        message,
        screen,
        correct,
        instruct,
        review,
        give_back,
        returned,
        leaders,
        categories,
        units,
    };
    Ok(render(status, &page))
}

/// `GET /direct-line/items/{id}`.
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    item_page(&app, &caller, &menu, item_id(&id)?, StatusCode::OK, None).await
}

/// Every step's form fields.
#[derive(Default, Deserialize)]
#[serde(default)]
struct StepForm {
    leader_user_id: String,
    credit_code: String,
    title: String,
    category: String,
    comment: String,
    into: String,
    text: String,
    lead_unit: String,
    co_units: String,
    days: String,
    decision: String,
    reason: String,
    /// A `datetime-local` value (Asia/Shanghai).
    due_at: String,
    /// The request's version the page showed.
    version: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

macro_rules! step_handler {
    ($name:ident, $step:literal) => {
        /// `POST /direct-line/items/{id}/…`: the step of that name.
        async fn $name<S: Store>(
            State(app): State<App<S>>,
            Auth(caller): Auth,
            Extension(menu): Extension<Arc<Menu>>,
            Path(id): Path<String>,
            Form(f): Form<StepForm>,
        ) -> PageResult {
            step(&app, &caller, &menu, &id, $step, f).await
        }
    };
}

step_handler!(submit_step, "submit");
step_handler!(correct_step, "correct");
step_handler!(merge_step, "merge");
step_handler!(convert_step, "convert");
step_handler!(review_step, "review");
step_handler!(instruct_step, "instruct");
step_handler!(return_step, "return");
step_handler!(resubmit_step, "resubmit");
step_handler!(redispatch_step, "redispatch");
step_handler!(refuse_return_step, "refuse-return");

/// A step of an item's page (`correct`, `submit`, `merge`, `convert`, `instruct`, `review`, `return`, `resubmit`,
/// `redispatch`, `refuse-return`), each route under its own
/// permission: as the API; back to the item's page, or the page with the refusal.
async fn step<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu, id: &str, step: &str, f: StepForm) -> PageResult {
    let id = item_id(id)?;
    let service = app.direct_line();
    let done = match step {
        "submit" => {
            let leader_user_id = f.leader_user_id.trim().parse().unwrap_or_default();
            let body = SubmitBody { leader_user_id, category: f.category.clone(), comment: opt(&f.comment) };
            service.submit_to_leader(caller, id, body).await
        }
        "correct" => {
            // The form shows every field with its value: the service records only those that change.
            let body = CorrectBody {
                category: opt(&f.category),
                credit_code: Some(f.credit_code.clone()),
                title: Some(f.title.clone()),
            };
            service.correct(caller, id, body).await
        }
        "merge" => service.merge(caller, id, MergeBody { into: f.into.clone(), comment: opt(&f.comment) }).await,
        "convert" => {
            let body = ConvertBody { category: f.category.clone(), kind: None, comment: opt(&f.comment) };
            service.convert(caller, id, body).await
        }
        "instruct" => {
            let co_units = f.co_units.split([',', '，', ' ']).filter_map(opt).collect();
            let body = InstructBody {
                text: f.text.clone(),
                lead_unit: opt(&f.lead_unit),
                co_units,
                days: f.days.trim().parse().ok(),
            };
            service.instruct(caller, id, body).await
        }
        "return" => service.return_to_office(caller, id, ReturnBody { reason: f.reason.clone() }).await,
        "resubmit" => service.resubmit(caller, id, ResubmitBody { comment: opt(&f.comment) }).await,
        "redispatch" => {
            let co_units = f.co_units.split([',', '，', ' ']).filter_map(opt).collect();
            let body = RedispatchBody { lead_unit: opt(&f.lead_unit), co_units, comment: opt(&f.comment) };
            service.redispatch(caller, id, body).await
        }
        "refuse-return" => {
            let due_at = match opt(&f.due_at) {
                Some(local) => match super::staff::local_time(&local) {
                    Some(due) => Some(due),
                    None => {
                        return item_page(
                            app,
                            caller,
                            menu,
                            id,
                            StatusCode::UNPROCESSABLE_ENTITY,
                            Some("请填写完整的日期和时间".into()),
                        )
                        .await;
                    }
                },
                None => None,
            };
            let version = f.version.trim().parse().ok();
            service.refuse_return(caller, id, RefuseReturnBody { reason: f.reason.clone(), due_at, version }).await
        }
        "review" => {
            let decision = if f.decision == "approve" { Decision::Approve } else { Decision::SendBack };
            service.review(caller, id, ReviewBody { decision, comment: opt(&f.comment) }).await
        }
        _ => return Err(super::PageError::Status(StatusCode::NOT_FOUND, "没有这个页面".into())),
    };
    match done {
        Ok(v) => Ok(Redirect::to(&format!("/direct-line/items/{}", v.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            item_page(app, caller, menu, id, status, Some(message)).await
        }
    }
}

// ---- the monthly report --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "direct_line_report.html")]
struct ReportPage {
    layout: Layout,
    report: MonthlyReport,
}

impl ReportPage {
    fn groups(&self) -> [(&'static str, &'static str, &[mashangban_app::direct_line::ReportRow]); 2] {
        [("by-unit", "按主办单位", &self.report.by_unit), ("by-leader", "按批示领导", &self.report.by_leader)]
    }

    fn rate(&self, r: &mashangban_app::direct_line::ReportRow) -> String {
        r.satisfaction.map_or_else(|| "—".to_owned(), |s| format!("{s:.1}%"))
    }
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MonthForm {
    month: Option<String>,
}

/// `GET /direct-line/reports[?month=]`.
async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<MonthForm>,
) -> PageResult {
    let page = ReportPage {
        layout: Layout::staff("直通车月报", &caller.actor, &menu),
        report: app.direct_line().report(&caller, q.month.as_deref()).await?,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /direct-line/reports/export[?month=]`.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<MonthForm>,
) -> PageResult<Response> {
    let bytes = app.direct_line().report_xlsx(&caller, q.month.as_deref()).await?;
    Ok(crate::download::xlsx(bytes, "直通车月报.xlsx", "direct-line-report.xlsx"))
}
