//! 环境执法 pages: `/enforcement/cases`, the cases with filters by stage and
//! overdue; `/enforcement/cases/{id}`, a case with its origin, history and
//! the form that moves it on; `/enforcement/inspections/new`, the inspection
//! form (a sample per row); `POST /enforcement/cases`, 立案 from an alert
//! (the button beside 排除 on the alerts page) or an inspection. Each calls
//! the same service as the API.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::enforcement::{
    AdvanceBody, CaseDetail, CaseQuery, CaseView, InspectionBody, InspectionView, OpenCaseBody,
};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::document::OwnerKind;
use mashangban_domain::enforcement::{CaseStage, Sample, SampleResult, case_not_found, inspection_not_found};
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time, shown};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

/// Sample rows the inspection form offers.
const SAMPLE_ROWS: usize = 3;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle) = (Permission::ReadEnforcement, Permission::HandleEnforcement);
    vec![
        Route::get("/enforcement/cases", cases::<S>).permission(read).nav(MenuKind::Main, 49, "环境执法"),
        Route::post("/enforcement/cases", open::<S>).permission(handle).form(),
        Route::get("/enforcement/cases/{id}", case::<S>).permission(read),
        Route::post("/enforcement/cases/{id}/advance", advance::<S>).permission(handle).form(),
        Route::get("/enforcement/inspections", inspections::<S>).permission(read),
        Route::get("/enforcement/inspections/new", inspection_form).permission(handle),
        Route::post("/enforcement/inspections", record::<S>).permission(handle).form(),
        Route::get("/enforcement/inspections/{id}", inspection::<S>).permission(read),
    ]
}

fn opt_time(t: &Option<String>) -> String {
    t.as_deref().map(short_time).unwrap_or_else(|| "—".into())
}

#[derive(Template)]
#[template(path = "enforcement_cases.html")]
struct CasesPage {
    layout: Layout,
    cases: Vec<CaseView>,
    stages: Vec<(&'static str, &'static str)>,
    stage: String,
    overdue: bool,
    handle: bool,
}

impl CasesPage {
    fn selected(&self, code: &str) -> bool {
        self.stage == code
    }

    fn time(&self, t: &str) -> String {
        short_time(t)
    }

    fn due(&self, t: &Option<String>) -> String {
        opt_time(t)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
}

/// `GET /enforcement/cases[?stage=&overdue=true]`.
async fn cases<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let overdue = query.overdue.as_deref() == Some("true");
    let stage = query.stage.clone().unwrap_or_default();
    let cases = app
        .enforcement()
        .cases(
            &caller,
            CaseQuery { stage: Some(stage.clone()), overdue: overdue.then(|| "true".into()), enterprise: None },
        )
        .await?;
    let page = CasesPage {
        layout: Layout::staff("环境执法案件", &caller.actor, &menu),
        cases,
        stages: CaseStage::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        stage,
        overdue,
        handle: caller.may(Permission::HandleEnforcement),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "enforcement_case.html")]
struct CasePage {
    layout: Layout,
    detail: CaseDetail,
    handle: bool,
    error: Option<String>,
    form: AdvanceForm,
    /// The compensation matter opened from the case (生态环境损害赔偿), if any.
    matter: Option<mashangban_app::compensation::MatterView>,
    documents: super::documents::Panel,
}

impl CasePage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }

    fn due(&self, t: &Option<String>) -> String {
        opt_time(t)
    }
}

fn case_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::from(case_not_found()))
}

async fn case_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    error: Option<String>,
    form: AdvanceForm,
) -> PageResult {
    let detail = app.enforcement().case(caller, id).await?;
    let matter = app.compensation().for_case(caller, id).await?;
    let documents = super::documents::panel(app, caller, OwnerKind::EnforcementCase, id, Vec::new()).await?;
    let page = CasePage {
        documents,
        matter,
        layout: Layout::staff(format!("案件 {}", detail.case.number), &caller.actor, menu),
        detail,
        handle: caller.may(Permission::HandleEnforcement),
        error,
        form,
    };
    Ok(render(status, &page))
}

/// `GET /enforcement/cases/{id}`.
async fn case<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    case_page(&app, &caller, &menu, case_id(&id)?, StatusCode::OK, None, AdvanceForm::default()).await
}

/// The stage form, as typed (kept when refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct AdvanceForm {
    stage: String,
    penalty: String,
    decision: String,
    closed_reason: String,
    note: String,
}

fn some(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

/// `POST /enforcement/cases/{id}/advance`: as the API; back to the case.
async fn advance<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<AdvanceForm>,
) -> PageResult {
    let id = case_id(&id)?;
    let body = AdvanceBody {
        stage: form.stage.clone(),
        penalty: some(&form.penalty),
        decision: some(&form.decision),
        closed_reason: some(&form.closed_reason),
        note: some(&form.note),
    };
    match app.enforcement().advance(&caller, id, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/enforcement/cases/{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            case_page(&app, &caller, &menu, id, status, Some(message), form).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OpenForm {
    alert: String,
    inspection: String,
    credit_code: String,
    note: String,
}

#[derive(Template)]
#[template(path = "enforcement_refused.html")]
pub(super) struct RefusedPage {
    pub(super) layout: Layout,
    pub(super) message: String,
    pub(super) back: String,
}

/// `POST /enforcement/cases`: 立案 from an alert or an inspection; to the new case, or the refusal.
async fn open<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<OpenForm>,
) -> PageResult {
    let number = |text: &str| -> Result<Option<i64>, AppError> {
        match text.trim() {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| AppError::invalid("invalid_case_origin", "报警或检查记录编号无效")),
        }
    };
    let back = if form.alert.trim().is_empty() {
        format!("/enforcement/inspections/{}", form.inspection.trim())
    } else {
        "/monitoring/alerts".to_owned()
    };
    let body = (|| -> Result<OpenCaseBody, AppError> {
        Ok(OpenCaseBody {
            alert: number(&form.alert)?,
            inspection: number(&form.inspection)?,
            credit_code: some(&form.credit_code),
            note: some(&form.note),
        })
    })();
    let result = match body {
        Ok(body) => app.enforcement().open_case(&caller, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(case) => Ok(Redirect::to(&format!("/enforcement/cases/{}", case.case.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let page = RefusedPage { layout: Layout::staff("未能立案", &caller.actor, &menu), message, back };
            Ok(render(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "enforcement_inspections.html")]
struct InspectionsPage {
    layout: Layout,
    inspections: Vec<InspectionView>,
    handle: bool,
}

impl InspectionsPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// `GET /enforcement/inspections`.
async fn inspections<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let page = InspectionsPage {
        layout: Layout::staff("检查记录", &caller.actor, &menu),
        inspections: app.enforcement().inspections(&caller, None).await?,
        handle: caller.may(Permission::HandleEnforcement),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "enforcement_inspection.html")]
struct InspectionPage {
    layout: Layout,
    inspection: InspectionView,
    handle: bool,
    documents: super::documents::Panel,
}

impl InspectionPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// `GET /enforcement/inspections/{id}`.
async fn inspection<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::from(inspection_not_found()))?;
    let inspection = app.enforcement().inspection(&caller, id).await?;
    let documents = super::documents::panel(&app, &caller, OwnerKind::Inspection, id, Vec::new()).await?;
    let page = InspectionPage {
        documents,
        layout: Layout::staff("检查记录", &caller.actor, &menu),
        inspection,
        handle: caller.may(Permission::HandleEnforcement),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The inspection form, as typed: fixed fields and up to [`SAMPLE_ROWS`] sample rows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct InspectionForm {
    inspector: String,
    inspected_at: String,
    place: String,
    credit_code: String,
    point: String,
    findings: String,
    /// The sample rows: `sample_parameter_1`, `sample_value_1`, `sample_unit_1`, `sample_lab_1`, `sample_result_1`, …
    #[serde(flatten)]
    samples: std::collections::BTreeMap<String, String>,
}

#[derive(Template)]
#[template(path = "enforcement_inspection_form.html")]
struct InspectionFormPage {
    layout: Layout,
    form: InspectionForm,
    rows: Vec<SampleRow>,
    error: Option<String>,
}

/// One sample row of the form.
struct SampleRow {
    n: usize,
    parameter: String,
    value: String,
    unit: String,
    lab: String,
    result: String,
}

fn rows(form: &InspectionForm) -> Vec<SampleRow> {
    let at = |field: &str, i: usize| form.samples.get(&format!("sample_{field}_{i}")).cloned().unwrap_or_default();
    (1..=SAMPLE_ROWS)
        .map(|i| SampleRow {
            n: i,
            parameter: at("parameter", i),
            value: at("value", i),
            unit: at("unit", i),
            lab: at("lab", i),
            result: at("result", i),
        })
        .collect()
}

/// The samples of the filled rows; a row with only a parameter or a lab is still a row (and refused when incomplete).
fn samples(form: &InspectionForm) -> Result<Vec<Sample>, AppError> {
    let mut samples = Vec::new();
    for (n, row) in rows(form).into_iter().enumerate() {
        if row.parameter.trim().is_empty() && row.lab.trim().is_empty() && row.value.trim().is_empty() {
            continue;
        }
        let refuse = |what: &str| AppError::invalid("invalid_samples", format!("第{}个采样：{what}", n + 1));
        let value = match row.value.trim() {
            "" => None,
            v => Some(v.parse::<f64>().map_err(|_| refuse("检测值应为数字"))?),
        };
        let result = SampleResult::parse(row.result.trim()).ok_or_else(|| refuse("请选择检测结论"))?;
        samples.push(Sample { parameter: row.parameter, value, unit: some(&row.unit), lab: row.lab, result });
    }
    Ok(samples)
}

/// `GET /enforcement/inspections/new[?credit_code=]`.
async fn inspection_form(
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(form): Query<PrefillQuery>,
) -> PageResult {
    let form = InspectionForm { credit_code: form.credit_code.unwrap_or_default(), ..InspectionForm::default() };
    let page = InspectionFormPage {
        layout: Layout::staff("记录现场检查", &caller.actor, &menu),
        rows: rows(&form),
        form,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Default, Deserialize)]
struct PrefillQuery {
    #[serde(default)]
    credit_code: Option<String>,
}

/// `POST /enforcement/inspections`: as the API; to the inspection, or the form with the refusal.
async fn record<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<InspectionForm>,
) -> PageResult {
    let inspected_at = match form.inspected_at.trim() {
        "" => None,
        // `datetime-local` gives `2026-12-04T09:30`: a time in Asia/Shanghai.
        t if t.len() == 16 => Some(format!("{t}:00+08:00")),
        t => Some(t.to_owned()),
    };
    let result = match samples(&form) {
        Ok(samples) => {
            let body = InspectionBody {
                inspector: form.inspector.clone(),
                inspected_at,
                place: form.place.clone(),
                credit_code: form.credit_code.clone(),
                point: some(&form.point),
                findings: form.findings.clone(),
                samples,
            };
            app.enforcement().record_inspection(&caller, body).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&format!("/enforcement/inspections/{}", saved.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let page = InspectionFormPage {
                layout: Layout::staff("记录现场检查", &caller.actor, &menu),
                rows: rows(&form),
                form,
                error: Some(message),
            };
            Ok(render(status, &page))
        }
    }
}
