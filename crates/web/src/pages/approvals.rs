//! 拿地即开工 (`/approvals`): the projects with the record table (纪录榜) and
//! the reports; a project's page with its steps as a table and a timeline
//! graph (planned against actual, the critical path marked), and the forms
//! with which the owning department records a step's pre-review, start and
//! issue (with its document number) and the investment desk records the land
//! transaction; and the live page of a collective groundbreaking
//! (`/approvals/live?projects=1,2,3`), on which every project's steps turn
//! green as they are issued and the clocks run, without a reload (server-sent
//! events from `/approvals/live/events`, drawn by `approvals-live.js`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use axum::Extension;
use axum::http::StatusCode;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use mashangban_app::approvals::{
    ApprovalReports, MAX_LIVE_PROJECTS, ProjectBody, ProjectSummary, ProjectView, RecordRow, StepBody, StepDeed,
    TransactionBody, duration_label,
};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::org::UnitKind;
use mashangban_store::Store;

use super::{Layout, PageResult, approval_template, render, short_time, shown};
use crate::api::approvals::project_id;
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

/// A live stream rereads its projects this often even without a change
/// announced (a lost wake-up), and the page redraws its clocks meanwhile.
const RECHECK: Duration = Duration::from_secs(30);

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage, record) = (Permission::ReadApprovals, Permission::ManageApprovals, Permission::RecordApprovals);
    vec![
        Route::get("/approvals", overview::<S>).permission(read).nav(MenuKind::Main, 47, "拿地即开工"),
        Route::post("/approvals", create::<S>).permission(manage).form(),
        Route::get("/approvals/live", live::<S>).permission(read),
        Route::get("/approvals/export", export::<S>).permission(read),
        Route::get("/approvals/template", approval_template::template::<S>).permission(read),
        Route::post("/approvals/template", approval_template::save_template::<S>).permission(manage).form(),
        Route::post("/approvals/template/steps", approval_template::save_table::<S>).permission(manage).form(),
        Route::get("/approvals/live/events", events::<S>).permission(read),
        Route::get("/approvals/{id}", project::<S>).permission(read),
        Route::post("/approvals/{id}/transaction", transaction::<S>).permission(manage).form(),
        Route::post("/approvals/{id}/steps/{step}/{deed}", step::<S>).permission(record).form(),
    ]
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct OverviewPage {
    layout: Layout,
    projects: Vec<ProjectSummary>,
    records: Vec<RecordRow>,
    reports: ApprovalReports,
    manage: bool,
    /// (code, name) of the districts and towns a project may lie in.
    districts: Vec<(String, String)>,
    error: Option<String>,
    form: CreateForm,
}

impl OverviewPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn dur(&self, seconds: &Option<i64>) -> String {
        maybe_duration(seconds)
    }

    fn secs(&self, seconds: &i64) -> String {
        duration(seconds)
    }

    fn live_link(&self) -> String {
        let ids: Vec<String> = self.projects.iter().take(MAX_LIVE_PROJECTS).map(|p| p.id.to_string()).collect();
        format!("/approvals/live?projects={}", ids.join(","))
    }
}

/// Seconds as the report writes them: 「16分钟」, 「2分30秒」.
fn duration(seconds: &i64) -> String {
    duration_label(*seconds)
}

fn maybe_duration(seconds: &Option<i64>) -> String {
    seconds.as_ref().map(duration).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "approval.html")]
struct ProjectPage {
    layout: Layout,
    view: ProjectView,
    manage: bool,
    record: bool,
    error: Option<String>,
    /// The graph: one bar pair per step.
    bars: Vec<Bar>,
    /// The graph's width in minutes.
    scale_minutes: u64,
}

impl ProjectPage {
    fn time(&self, rfc3339: &str) -> String {
        second_time(rfc3339)
    }

    fn opt_time(&self, rfc3339: &Option<String>) -> String {
        rfc3339.as_deref().map(second_time).unwrap_or_default()
    }

    fn dur(&self, seconds: &Option<i64>) -> String {
        maybe_duration(seconds)
    }

    fn secs(&self, seconds: &i64) -> String {
        duration(seconds)
    }
}

/// One step of the timeline graph, in SVG user units (one unit a minute × 10).
struct Bar {
    name: String,
    y: u64,
    planned_x: u64,
    planned_width: u64,
    actual: Option<(u64, u64)>,
    class: &'static str,
}

/// `2021-06-18T09:16:00+08:00` → `2021-06-18 09:16:00`.
fn second_time(rfc3339: &str) -> String {
    rfc3339.get(..19).map(|t| t.replacen('T', " ", 1)).unwrap_or_else(|| rfc3339.to_owned())
}

#[derive(Debug, Default, Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    ledger_key: String,
    #[serde(default)]
    unit: String,
}

async fn overview_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    status: StatusCode,
    error: Option<String>,
    form: CreateForm,
) -> PageResult {
    let approvals = app.approvals();
    let org = app.caches().org();
    let mut districts: Vec<(String, String)> = org
        .units()
        .filter(|u| u.active && u.kind == UnitKind::Town)
        .map(|u| (u.code.clone(), u.display_name().to_owned()))
        .collect();
    districts.sort();
    let page = OverviewPage {
        layout: Layout::staff("拿地即开工", &caller.actor, menu),
        projects: approvals.list().await?,
        records: approvals.records().await?,
        reports: approvals.reports().await?,
        manage: caller.may(Permission::ManageApprovals),
        districts,
        error,
        form,
    };
    Ok(render(status, &page))
}

/// `GET /approvals`.
async fn overview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    overview_page(&app, &caller, &menu, StatusCode::OK, None, CreateForm::default()).await
}

/// `GET /approvals/export`: the record table and the reports as an .xlsx download.
async fn export<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> PageResult<Response> {
    let bytes = app.approvals().export(&caller).await?;
    Ok(crate::download::xlsx(bytes, "拿地即开工纪录榜与统计.xlsx", "approvals.xlsx"))
}

/// `POST /approvals`: as the API; on to the new project's page.
async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<CreateForm>,
) -> PageResult {
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let body = ProjectBody {
        name: form.name.clone(),
        credit_code: opt(&form.credit_code),
        ledger_key: opt(&form.ledger_key),
        unit: opt(&form.unit),
    };
    match app.approvals().create(&caller, body).await {
        Ok(view) => Ok(Redirect::to(&format!("/approvals/{}", view.summary.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            overview_page(&app, &caller, &menu, status, Some(message), form).await
        }
    }
}

async fn project_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let view = app.approvals().get(caller, id).await?;
    let (bars, scale_minutes) = bars(&view);
    let page = ProjectPage {
        layout: Layout::staff(format!("拿地即开工：{}", view.summary.name), &caller.actor, menu),
        manage: caller.may(Permission::ManageApprovals),
        record: caller.may(Permission::RecordApprovals),
        view,
        error,
        bars,
        scale_minutes,
    };
    Ok(render(status, &page))
}

/// The timeline graph: each step's planned span (grey) and actual span
/// (green on time, red late) in minutes from the transaction.
fn bars(view: &ProjectView) -> (Vec<Bar>, u64) {
    let actual_end = view.steps.iter().filter_map(|s| s.actual_finish_seconds).max().unwrap_or(0);
    let scale = view.planned_minutes.max(u64::try_from(actual_end).unwrap_or(0).div_ceil(60)).max(1);
    let bars = view
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let minute_tenths = |seconds: i64| u64::try_from(seconds).unwrap_or(0) / 6;
            let actual = match (&s.ready_at, s.actual_finish_seconds, s.actual_seconds) {
                (Some(_), Some(finish), Some(took)) => {
                    let start = minute_tenths(finish - took);
                    Some((start, minute_tenths(finish).saturating_sub(start).max(2)))
                }
                _ => None,
            };
            Bar {
                name: s.name.clone(),
                y: u64::try_from(i).unwrap_or(0) * 28,
                planned_x: s.planned_start_minute * 10,
                planned_width: (u64::from(s.planned_minutes) * 10).max(2),
                actual,
                class: if s.late {
                    "late"
                } else if s.on_actual_critical_path {
                    "critical"
                } else {
                    "done"
                },
            }
        })
        .collect();
    (bars, scale * 10)
}

/// `GET /approvals/{id}`.
async fn project<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    project_page(&app, &caller, &menu, project_id(&id)?, StatusCode::OK, None).await
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    at: String,
    #[serde(default)]
    document_no: String,
    #[serde(default)]
    version: Option<i64>,
}

/// A `datetime-local` value (`2021-06-18T09:16` or with seconds) in +08:00, or blank for now.
fn form_time(at: &str) -> Option<String> {
    let at = at.trim();
    if at.is_empty() {
        return None;
    }
    let with_seconds = if at.len() == 16 { format!("{at}:00") } else { at.to_owned() };
    Some(if with_seconds.contains('+') || with_seconds.ends_with('Z') {
        with_seconds
    } else {
        format!("{with_seconds}+08:00")
    })
}

/// `POST /approvals/{id}/transaction`.
async fn transaction<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = project_id(&id)?;
    let body = TransactionBody { at: form_time(&form.at), version: form.version };
    match app.approvals().record_transaction(&caller, id, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/approvals/{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            project_page(&app, &caller, &menu, id, status, Some(message)).await
        }
    }
}

/// `POST /approvals/{id}/steps/{step}/{pre-review|start|issue}`.
async fn step<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((id, step, deed)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = project_id(&id)?;
    let Some(deed) = StepDeed::parse(&deed) else {
        return Err(AppError::not_found("not_found", "没有这个操作").into());
    };
    let document_no = Some(form.document_no.clone()).filter(|_| deed == StepDeed::Issue);
    let body = StepBody { at: form_time(&form.at), document_no, version: form.version };
    match app.approvals().record_step(&caller, id, &step, deed, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/approvals/{id}#step-{step}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            project_page(&app, &caller, &menu, id, status, Some(message)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct LiveQuery {
    #[serde(default)]
    projects: String,
}

/// The project ids of `?projects=1,2,3` (at most [`MAX_LIVE_PROJECTS`]; junk is refused).
fn live_ids(q: &LiveQuery) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::new();
    for part in q.projects.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = part.parse().map_err(|_| AppError::bad_parameter("「projects」应为以逗号分隔的项目编号"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_LIVE_PROJECTS {
            return Err(AppError::bad_parameter(format!("一次最多跟踪{MAX_LIVE_PROJECTS}个项目")));
        }
    }
    Ok(ids)
}

#[derive(Template)]
#[template(path = "approvals_live.html")]
struct LivePage {
    layout: Layout,
    projects: Vec<ProjectView>,
    ids: String,
}

impl LivePage {
    fn time(&self, rfc3339: &Option<String>) -> String {
        rfc3339.as_deref().map(second_time).unwrap_or_default()
    }
}

/// `GET /approvals/live?projects=1,2,3`: the groundbreaking wall (集中开工).
async fn live<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<LiveQuery>,
) -> PageResult {
    let mut ids = live_ids(&q)?;
    if ids.is_empty() {
        ids = app.approvals().list().await?.iter().take(MAX_LIVE_PROJECTS).map(|p| p.id).collect();
    }
    let projects = app.approvals().several(&caller, &ids).await?;
    let ids = projects.iter().map(|p| p.summary.id.to_string()).collect::<Vec<_>>().join(",");
    let page = LivePage { layout: Layout::staff("集中开工：审批实况", &caller.actor, &menu), projects, ids };
    Ok(render(StatusCode::OK, &page))
}

/// What one live stream watches and has sent.
struct Watch<S> {
    app: App<S>,
    caller: Caller,
    ids: Vec<i64>,
    receiver: broadcast::Receiver<i64>,
    /// The version last sent of each project.
    sent: Vec<Option<i64>>,
    /// Projects to check now (all at the start, after a lag or a recheck).
    due: Vec<i64>,
}

/// `GET /approvals/live/events?projects=1,2,3`: a `project` event with the
/// project's view as JSON whenever one of them changes (and each at the start).
async fn events<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<LiveQuery>,
) -> Result<Response, super::PageError> {
    let ids = live_ids(&q)?;
    // Subscribe before the first read, so no change can fall in between.
    let receiver = app.live().subscribe_approvals();
    let closed = app.live().closed();
    let watch = Watch { app, caller, sent: vec![None; ids.len()], due: ids.clone(), ids, receiver };
    Ok(crate::live::sse_response(stream(watch), closed))
}

fn stream<S: Store>(watch: Watch<S>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(watch, |mut watch| async move {
        loop {
            while let Some(id) = watch.due.pop() {
                match watch.newer(id).await {
                    Ok(Some(event)) => return Some((Ok(event), watch)),
                    Ok(None) => {}
                    Err(_) => return None,
                }
            }
            if !watch.wait().await {
                return None;
            }
        }
    })
}

impl<S: Store> Watch<S> {
    /// Waits for a change of a watched project (or the recheck); false when the hub closed.
    async fn wait(&mut self) -> bool {
        let recheck = tokio::time::sleep(RECHECK);
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(id) if self.ids.contains(&id) => {
                        self.due.push(id);
                        return true;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.due = self.ids.clone();
                        return true;
                    }
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                () = &mut recheck => {
                    self.due = self.ids.clone();
                    return true;
                }
            }
        }
    }

    /// The project's view as an event, if it is newer than the last one sent.
    async fn newer(&mut self, id: i64) -> Result<Option<Event>, AppError> {
        let Some(index) = self.ids.iter().position(|&i| i == id) else { return Ok(None) };
        let mut views = self.app.approvals().several(&self.caller, &[id]).await?;
        let Some(view) = views.pop() else { return Ok(None) };
        if self.sent[index].is_some_and(|v| view.summary.version <= v) {
            return Ok(None);
        }
        self.sent[index] = Some(view.summary.version);
        Ok(Some(Event::default().event("project").json_data(&view).map_err(|_| AppError::internal())?))
    }
}
