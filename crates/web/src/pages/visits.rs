//! 走访 (`/visits`): the visits in the person's scope (by month, town and
//! state), the plan form (a visit or a walking-office session), a visit's
//! page with every problem's state and the record form, and the report by
//! cadre, town and month with the visits due and its Excel export.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use mashangban_app::App;
use mashangban_app::visits::{CancelBody, PlanBody, ProblemBody, RecordBody, VisitQuery, VisitReport, VisitView};
use mashangban_domain::access::Permission;
use mashangban_domain::document::OwnerKind;
use mashangban_domain::org::UnitKind;
use mashangban_domain::request::{RequestKind, Urgency};
use mashangban_domain::visit::{ProblemOutcome, VisitKind, VisitState};
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time, shown};
use crate::api::visits::visit_id;
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

/// Problem rows on the record form.
const PROBLEM_SLOTS: usize = 5;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, record, reports) = (Permission::ReadVisits, Permission::RecordVisits, Permission::ReadVisitReports);
    vec![
        Route::get("/visits", list::<S>).permission(read).nav(MenuKind::Main, 46, "走访"),
        Route::get("/visits/new", new_form::<S>).permission(record),
        Route::post("/visits", plan::<S>).permission(record).form(),
        Route::get("/visits/reports", report::<S>).permission(reports),
        Route::get("/visits/reports/export", export::<S>).permission(reports),
        Route::get("/visits/{id}", detail::<S>).permission(read),
        Route::post("/visits/{id}/record", record_visit::<S>).permission(record).form(),
        Route::post("/visits/{id}/cancel", cancel::<S>).permission(record).form(),
    ]
}

fn towns<S: Store>(app: &App<S>, selected: &str) -> Vec<Choice> {
    let org = app.caches().org();
    let mut towns: Vec<Choice> = org
        .units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| Choice::new(u.code.clone(), u.display_name().to_owned(), u.code == selected))
        .collect();
    towns.sort_by(|a, b| a.value.cmp(&b.value));
    towns
}

fn given(s: &Option<String>) -> &str {
    s.as_deref().map(str::trim).unwrap_or_default()
}

// ---- list -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits.html")]
struct ListPage {
    layout: Layout,
    visits: Vec<VisitView>,
    month: String,
    towns: Vec<Choice>,
    states: Vec<Choice>,
    record: bool,
    reports: bool,
}

impl ListPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /visits[?month=&town=&state=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<VisitQuery>,
) -> PageResult {
    let visits = app.visits().list(&caller, &query).await?;
    let state = given(&query.state);
    let page = ListPage {
        layout: Layout::staff("走访", &caller.actor, &menu),
        visits,
        month: given(&query.month).to_owned(),
        towns: towns(&app, given(&query.town)),
        states: VisitState::ALL.iter().map(|s| Choice::new(s.as_str(), s.label(), s.as_str() == state)).collect(),
        record: caller.may(Permission::RecordVisits),
        reports: caller.may(Permission::ReadVisitReports),
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- plan -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visit_form.html")]
struct PlanPage {
    layout: Layout,
    message: Option<String>,
    credit_code: String,
    planned_at: String,
    purpose: String,
    kinds: Vec<Choice>,
    leads: Vec<Choice>,
    units: Vec<Choice>,
}

/// The plan form's fields as typed.
#[derive(Default)]
struct PlanFields {
    kind: String,
    credit_code: String,
    planned_at: String,
    lead: String,
    purpose: String,
    units: Vec<String>,
}

impl PlanFields {
    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "kind" => f.kind = value,
                "credit_code" => f.credit_code = value,
                "planned_at" => f.planned_at = value,
                "lead_user_id" => f.lead = value,
                "purpose" => f.purpose = value,
                "units" => f.units.push(value),
                _ => {}
            }
        }
        f
    }
}

#[derive(serde::Deserialize)]
struct NewQuery {
    #[serde(default)]
    enterprise: Option<String>,
}

async fn plan_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    fields: PlanFields,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let leads = app.visits().leads(caller).await?;
    let own = caller.actor.user_id().map(|id| id.to_string()).unwrap_or_default();
    let lead = if fields.lead.is_empty() { own } else { fields.lead.clone() };
    let units = mashangban_app::visits::attending_units(&app.caches().org())
        .into_iter()
        .map(|(code, name)| {
            let selected = fields.units.contains(&code);
            Choice::new(code, name, selected)
        })
        .collect();
    let page = PlanPage {
        layout: Layout::staff("计划走访", &caller.actor, menu),
        message,
        kinds: VisitKind::ALL.iter().map(|k| Choice::new(k.as_str(), k.label(), k.as_str() == fields.kind)).collect(),
        leads: leads.into_iter().map(|(id, name)| Choice::new(id.to_string(), name, id.to_string() == lead)).collect(),
        units,
        credit_code: fields.credit_code,
        planned_at: fields.planned_at,
        purpose: fields.purpose,
    };
    Ok(render(status, &page))
}

/// `GET /visits/new[?enterprise=]`.
async fn new_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<NewQuery>,
) -> PageResult {
    let fields = PlanFields { credit_code: given(&q.enterprise).to_owned(), ..PlanFields::default() };
    plan_page(&app, &caller, &menu, fields, StatusCode::OK, None).await
}

/// `POST /visits`: as the API; to the visit's page, or the form again with the refusal.
async fn plan<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let fields = PlanFields::read(pairs);
    let lead_user_id = match fields.lead.trim() {
        "" => None,
        id => match id.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                let message = Some("请选择带队人".to_owned());
                return plan_page(&app, &caller, &menu, fields, StatusCode::UNPROCESSABLE_ENTITY, message).await;
            }
        },
    };
    let body = PlanBody {
        kind: VisitKind::parse(&fields.kind),
        credit_code: fields.credit_code.clone(),
        planned_at: fields.planned_at.clone(),
        lead_user_id,
        purpose: Some(fields.purpose.clone()),
        units: fields.units.clone(),
    };
    match app.visits().plan(&caller, body).await {
        Ok(v) => Ok(Redirect::to(&format!("/visits/{}", v.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            plan_page(&app, &caller, &menu, fields, status, Some(message)).await
        }
    }
}

// ---- one visit --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    layout: Layout,
    visit: VisitView,
    /// May record or cancel it now.
    record: bool,
    message: Option<String>,
    form: RecordFields,
    categories: Vec<(String, String)>,
    /// The visit's photos and papers (走访照片).
    documents: super::documents::Panel,
}

impl VisitPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// One problem row of the record form, as typed.
#[derive(Default, Clone)]
struct ProblemFields {
    text: String,
    outcome: String,
    solved_by: String,
    solution: String,
    category: String,
    instruction: String,
}

/// The record form's fields as typed.
#[derive(Default)]
struct RecordFields {
    visited_at: String,
    attendees: String,
    notes: String,
    contact_name: String,
    contact_phone: String,
    problems: Vec<ProblemFields>,
}

impl RecordFields {
    fn empty() -> Self {
        Self { problems: vec![ProblemFields::default(); PROBLEM_SLOTS], ..Self::default() }
    }

    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::empty();
        for (name, value) in pairs {
            match name.as_str() {
                "visited_at" => f.visited_at = value,
                "attendees" => f.attendees = value,
                "notes" => f.notes = value,
                "contact_name" => f.contact_name = value,
                "contact_phone" => f.contact_phone = value,
                other => {
                    let Some((slot, field)) = other.strip_prefix('p').and_then(|r| r.split_once('_')) else { continue };
                    let Some(p) = slot.parse::<usize>().ok().and_then(|i| f.problems.get_mut(i)) else { continue };
                    match field {
                        "text" => p.text = value,
                        "outcome" => p.outcome = value,
                        "solved_by" => p.solved_by = value,
                        "solution" => p.solution = value,
                        "category" => p.category = value,
                        "instruction" => p.instruction = value,
                        _ => {}
                    }
                }
            }
        }
        f
    }

    fn body(&self) -> RecordBody {
        let some = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        RecordBody {
            visited_at: some(&self.visited_at),
            attendees: self
                .attendees
                .split(['，', ',', '、', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            notes: self.notes.clone(),
            contact_name: some(&self.contact_name),
            contact_phone: some(&self.contact_phone),
            problems: self
                .problems
                .iter()
                .filter(|p| !p.text.trim().is_empty())
                .map(|p| ProblemBody {
                    text: p.text.clone(),
                    outcome: ProblemOutcome::parse(&p.outcome).unwrap_or(ProblemOutcome::Dispatched),
                    solved_by: some(&p.solved_by),
                    solution: some(&p.solution),
                    category: some(&p.category),
                    kind: Some(RequestKind::Help),
                    urgency: Some(Urgency::Normal),
                    instruction: some(&p.instruction),
                })
                .collect(),
        }
    }
}

async fn visit_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    id: i64,
    form: RecordFields,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let visit = app.visits().get(caller, id).await?;
    let mut categories: Vec<(String, String)> = app
        .caches()
        .categories()
        .iter()
        .filter(|c| c.active && c.parent_id.is_some())
        .map(|c| (c.code.clone(), c.name.clone()))
        .collect();
    categories.sort();
    let documents = super::documents::panel(app, caller, OwnerKind::Visit, id, Vec::new()).await?;
    let page = VisitPage {
        documents,
        layout: Layout::staff(format!("走访：{}", visit.enterprise_name), &caller.actor, menu),
        record: caller.may(Permission::RecordVisits) && visit.state == VisitState::Planned,
        visit,
        message,
        form,
        categories,
    };
    Ok(render(status, &page))
}

/// `GET /visits/{id}`.
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    visit_page(&app, &caller, &menu, visit_id(&id)?, RecordFields::empty(), StatusCode::OK, None).await
}

/// `POST /visits/{id}/record`: as the API; back to the visit's page.
async fn record_visit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = visit_id(&id)?;
    let form = RecordFields::read(pairs);
    match app.visits().record(&caller, id, form.body()).await {
        Ok(v) => Ok(Redirect::to(&format!("/visits/{}", v.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            visit_page(&app, &caller, &menu, id, form, status, Some(message)).await
        }
    }
}

#[derive(serde::Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

/// `POST /visits/{id}/cancel`.
async fn cancel<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> PageResult {
    let id = visit_id(&id)?;
    match app.visits().cancel(&caller, id, CancelBody { reason: form.reason }).await {
        Ok(v) => Ok(Redirect::to(&format!("/visits/{}", v.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            visit_page(&app, &caller, &menu, id, RecordFields::empty(), status, Some(message)).await
        }
    }
}

// ---- report -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visit_report.html")]
struct ReportPage {
    layout: Layout,
    report: VisitReport,
    month: String,
    town: String,
    towns: Vec<Choice>,
}

impl ReportPage {
    /// The three groupings: (element id, heading, rows).
    fn groups(&self) -> [(&'static str, &'static str, &[mashangban_app::visits::ReportRow]); 3] {
        [
            ("by-cadre", "按干部", &self.report.by_cadre),
            ("by-town", "按镇街", &self.report.by_town),
            ("by-month", "按月份", &self.report.by_month),
        ]
    }
}

/// `GET /visits/reports[?month=&town=]`.
async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<VisitQuery>,
) -> PageResult {
    let report = app.visits().report(&caller, &query).await?;
    let page = ReportPage {
        layout: Layout::staff("走访统计", &caller.actor, &menu),
        report,
        month: given(&query.month).to_owned(),
        town: given(&query.town).to_owned(),
        towns: towns(&app, given(&query.town)),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /visits/reports/export[?month=&town=]`: the report as an .xlsx download.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<VisitQuery>,
) -> PageResult<Response> {
    let bytes = app.visits().report_xlsx(&caller, &query).await?;
    Ok(crate::download::xlsx(bytes, "走访统计.xlsx", "visits-report.xlsx"))
}
