//! 生态环境损害赔偿 pages: `/compensation`, the matters with the report by
//! town; `/compensation/{id}`, a matter with its assessment, draws, agreement,
//! payment schedule and history, and the forms its stage allows;
//! `/compensation/experts`, the expert pool. `POST /compensation` opens a
//! matter from an enforcement case (the button on the case's page). Each
//! calls the same service as the API.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::compensation::{
    CompensationReport, DrawBody, ExpertActiveBody, ExpertBody, ExpertView, InstalmentBody, MatterActionBody,
    MatterDetail, MatterView, OpenMatterBody, ReportQuery, SupervisionQuery, SupervisionView,
};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::compensation::{MatterStage, Specialty, expert_not_found, matter_not_found};
use mashangban_domain::document::OwnerKind;
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time, shown};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle) = (Permission::ReadEnforcement, Permission::HandleEnforcement);
    vec![
        Route::get("/compensation", matters::<S>).permission(read).nav(MenuKind::Main, 50, "损害赔偿"),
        Route::post("/compensation", open::<S>).permission(handle).form(),
        Route::get("/compensation/experts", experts::<S>).permission(read),
        Route::post("/compensation/experts", add_expert::<S>).permission(Permission::ManageExperts).form(),
        Route::post("/compensation/experts/{id}/active", set_active::<S>).permission(Permission::ManageExperts).form(),
        Route::get("/compensation/{id}", matter::<S>).permission(read),
        Route::post("/compensation/{id}/draw", draw::<S>).permission(handle).form(),
        Route::post("/compensation/{id}/actions", act::<S>).permission(handle).form(),
    ]
}

#[derive(Template)]
#[template(path = "compensation_matters.html")]
struct MattersPage {
    layout: Layout,
    matters: Vec<MatterView>,
    report: CompensationReport,
    /// Unresolved 督办 of overdue obligations.
    supervisions: Vec<SupervisionView>,
    stages: Vec<(&'static str, &'static str)>,
    stage: String,
}

impl MattersPage {
    fn selected(&self, code: &str) -> bool {
        self.stage == code
    }

    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    stage: Option<String>,
}

/// `GET /compensation[?stage=]`.
async fn matters<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let stage = query.stage.unwrap_or_default();
    let service = app.compensation();
    let page = MattersPage {
        layout: Layout::staff("生态环境损害赔偿", &caller.actor, &menu),
        matters: service.matters(&caller, Some(&stage), None).await?,
        report: service.report(&caller, ReportQuery::default()).await?,
        supervisions: service.supervisions(&caller, SupervisionQuery { open: Some(true) }).await?,
        stages: MatterStage::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        stage,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "compensation_matter.html")]
struct MatterPage {
    layout: Layout,
    detail: MatterDetail,
    specialties: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    form: ActionForm,
    documents: super::documents::Panel,
}

impl MatterPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }

    fn can(&self, action: &str) -> bool {
        self.detail.actions.iter().any(|a| a == action)
    }
}

fn matter_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::from(matter_not_found()))
}

async fn matter_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    form: ActionForm,
) -> PageResult {
    let detail = app.compensation().matter(caller, id).await?;
    let documents = super::documents::panel(app, caller, OwnerKind::CompensationMatter, id, Vec::new()).await?;
    let page = MatterPage {
        documents,
        layout: Layout::staff(format!("赔偿事项 {}", detail.matter.number), &caller.actor, menu),
        detail,
        specialties: Specialty::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        error,
        form,
    };
    Ok(render(status, &page))
}

/// `GET /compensation/{id}`.
async fn matter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    matter_page(&app, &caller, &menu, matter_id(&id)?, StatusCode::OK, None, ActionForm::default()).await
}

/// Every form of the matter page, as typed (kept when refused). The payment
/// schedule is a text area, one instalment per line: `2026-06-30 60000`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    action: String,
    version: String,
    damage: String,
    report: String,
    appraiser: String,
    minutes: String,
    amount: String,
    signed_on: String,
    schedule: String,
    remediation: String,
    remediation_due: String,
    paid_on: String,
    passed: String,
    opinion: String,
    note: String,
    reason: String,
    purpose: String,
    count: String,
    specialty: String,
}

fn some(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

fn version(form: &ActionForm) -> Result<i64, AppError> {
    form.version.trim().parse().map_err(|_| AppError::invalid("invalid_version", "页面已过期，请刷新后重试"))
}

/// The schedule's lines as instalments: a date and an amount per line.
fn instalments(schedule: &str) -> Result<Vec<InstalmentBody>, AppError> {
    let lines: Vec<&str> = schedule.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() > mashangban_domain::compensation::MAX_INSTALMENTS {
        return Err(AppError::invalid("invalid_instalments", "分期不能超过24期"));
    }
    lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(due), Some(amount), None) => Ok(InstalmentBody { due: due.into(), amount: amount.into() }),
                _ => Err(AppError::invalid(
                    "invalid_instalments",
                    format!("缴款计划第{}行应为“日期 金额”，如 2026-06-30 60000", n + 1),
                )),
            }
        })
        .collect()
}

fn action_body(form: &ActionForm) -> Result<MatterActionBody, AppError> {
    let passed = match form.passed.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    Ok(MatterActionBody {
        action: form.action.clone(),
        version: version(form)?,
        damage: some(&form.damage),
        report: some(&form.report),
        appraiser: some(&form.appraiser),
        minutes: some(&form.minutes),
        amount: some(&form.amount),
        signed_on: some(&form.signed_on),
        instalments: instalments(&form.schedule)?,
        remediation: some(&form.remediation),
        remediation_due: some(&form.remediation_due),
        paid_on: some(&form.paid_on),
        passed,
        opinion: some(&form.opinion),
        note: some(&form.note),
        reason: some(&form.reason),
    })
}

/// `POST /compensation/{id}/actions`: as the API; back to the matter, or the form with the refusal.
async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = matter_id(&id)?;
    let result = match action_body(&form) {
        Ok(body) => app.compensation().act(&caller, id, body).await,
        Err(e) => Err(e),
    };
    after(&app, &caller, &menu, id, result, form).await
}

/// `POST /compensation/{id}/draw`: draws experts; back to the matter.
async fn draw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = matter_id(&id)?;
    let body = version(&form).map(|version| DrawBody {
        purpose: form.purpose.clone(),
        count: form.count.trim().parse().unwrap_or(0),
        specialties: some(&form.specialty).into_iter().collect(),
        version,
    });
    let result = match body {
        Ok(body) => app.compensation().draw(&caller, id, body).await,
        Err(e) => Err(e),
    };
    after(&app, &caller, &menu, id, result, form).await
}

async fn after<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    result: Result<MatterDetail, AppError>,
    form: ActionForm,
) -> PageResult {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/compensation/{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            matter_page(app, caller, menu, id, status, Some(message), form).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OpenForm {
    case: String,
    procedure: String,
    note: String,
}

/// `POST /compensation`: opens a matter from a case; to the matter, or back to the case with the refusal.
async fn open<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<OpenForm>,
) -> PageResult {
    let case: i64 =
        form.case.trim().parse().map_err(|_| AppError::from(mashangban_domain::enforcement::case_not_found()))?;
    let body = OpenMatterBody { case, procedure: form.procedure.clone(), note: some(&form.note) };
    match app.compensation().open(&caller, body).await {
        Ok(m) => Ok(Redirect::to(&format!("/compensation/{}", m.matter.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let page = super::enforcement::RefusedPage {
                layout: Layout::staff("未能启动赔偿", &caller.actor, &menu),
                message,
                back: format!("/enforcement/cases/{case}"),
            };
            Ok(render(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "compensation_experts.html")]
struct ExpertsPage {
    layout: Layout,
    experts: Vec<ExpertView>,
    specialties: Vec<(&'static str, &'static str)>,
    manage: bool,
    error: Option<String>,
    form: ExpertForm,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ExpertForm {
    name: String,
    specialty: String,
    employer: String,
    /// Credit codes, one per line or separated by commas.
    conflicts: String,
}

async fn experts_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    status: StatusCode,
    error: Option<String>,
    form: ExpertForm,
) -> PageResult {
    let page = ExpertsPage {
        layout: Layout::staff("专家库", &caller.actor, menu),
        experts: app.compensation().experts(caller).await?,
        specialties: Specialty::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        manage: caller.may(Permission::ManageExperts),
        error,
        form,
    };
    Ok(render(status, &page))
}

/// `GET /compensation/experts`.
async fn experts<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    experts_page(&app, &caller, &menu, StatusCode::OK, None, ExpertForm::default()).await
}

/// `POST /compensation/experts`: adds an expert; back to the pool, or the form with the refusal.
async fn add_expert<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<ExpertForm>,
) -> PageResult {
    let body = ExpertBody {
        name: form.name.clone(),
        specialty: form.specialty.clone(),
        employer: form.employer.clone(),
        conflicts: form
            .conflicts
            .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    match app.compensation().add_expert(body).await {
        Ok(_) => Ok(Redirect::to("/compensation/experts").into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            experts_page(&app, &caller, &menu, status, Some(message), form).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActiveForm {
    active: String,
}

/// `POST /compensation/experts/{id}/active`: out of the pool or back in.
async fn set_active<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::from(expert_not_found()))?;
    app.compensation().set_expert_active(id, ExpertActiveBody { active: form.active == "true" }).await?;
    Ok(Redirect::to("/compensation/experts").into_response())
}
