//! The industry support fund on the portal (`/fund`, public): each policy
//! with its budget and what is used of it per year, its measures with their
//! conditions and formulas, and the public notice (公示) of awards — the
//! enterprise, the measure and the award only, nothing personal; and the
//! applications in the reader's scope (`/fund/applications`, signed in) with
//! filters and the Excel export; an application's page with the review steps
//! as forms ([`detail`]); the apply form ([`apply`]); and the report by
//! measure, town and industry against the year's allocation
//! (`/fund/reports`, with its Excel export). Every page calls `app.fund()`,
//! the service of `/api/v1/fund/...`.

mod apply;
mod detail;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::fund::{
    ApplicationQuery, ApplicationSummary, FundReportView, NoticeRow, PolicyView, ReportParams, ReportQuery, TallyView,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::fund::ApplicationState;
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time};
use crate::auth::Auth;
use crate::extract::PageQuery as Query;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (apply, town, office) = (Permission::ApplyFund, Permission::ReviewFundTown, Permission::ReviewFundDepartment);
    vec![
        Route::get("/fund", overview::<S>).public(),
        Route::get("/fund/applications", applications::<S>).nav(MenuKind::Main, 48, "扶持资金"),
        Route::get("/fund/applications/{id}", detail::page::<S>),
        Route::post("/fund/applications/{id}/town-review", detail::town_review::<S>).permission(town).form(),
        Route::post("/fund/applications/{id}/department-review", detail::department_review::<S>)
            .permission(office)
            .form(),
        Route::post("/fund/applications/{id}/publicise", detail::publicise::<S>).permission(office).form(),
        Route::post("/fund/applications/{id}/pay", detail::pay::<S>).permission(office).form(),
        // The town may reject while an application is 受理, the office at any open step: checked by the service.
        Route::post("/fund/applications/{id}/reject", detail::reject::<S>).form(),
        Route::post("/fund/applications/{id}/objections", detail::object::<S>).form(),
        Route::get("/fund/notices/{id}/objection", detail::objection_form::<S>),
        Route::post("/fund/notices/{id}/objection", detail::objection_submit::<S>).form(),
        Route::post("/fund/objections/{id}/answer", detail::answer::<S>).permission(office).form(),
        Route::get("/fund/apply", apply::form::<S>).permission(apply),
        Route::post("/fund/apply", apply::submit::<S>).permission(apply).form(),
        Route::get("/fund/reports", reports::<S>),
        Route::get("/fund/reports/export", report_export::<S>),
    ]
}

#[derive(Template)]
#[template(path = "fund_applications.html")]
struct ApplicationsPage {
    layout: Layout,
    items: Vec<ApplicationSummary>,
    total: u64,
    states: Vec<Choice>,
    year: String,
    /// The export link with the same filters.
    export: String,
    /// May apply (enterprise accounts, liaison cadres).
    apply: bool,
}

impl ApplicationsPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /fund/applications[?state=&year=]`: the applications the person may see, newest first (500 at most).
async fn applications<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(form): Query<HashMap<String, String>>,
) -> PageResult {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let year = field("year")
        .map(|y| y.parse::<i32>().map_err(|_| AppError::bad_parameter("年度须为数字，如 2023")))
        .transpose()?;
    let query = ApplicationQuery {
        state: field("state"),
        year,
        limit: Some(mashangban_app::fund::PAGE_MAX),
        ..ApplicationQuery::default()
    };
    let list = app.fund().list(&caller, &query).await?;
    let state = query.state.clone().unwrap_or_default();
    let states = ApplicationState::ALL
        .iter()
        .map(|s| Choice { value: s.as_str().into(), label: s.label().into(), selected: s.as_str() == state })
        .collect();
    let year = query.year.map(|y| y.to_string()).unwrap_or_default();
    let mut filters = Vec::new();
    if !state.is_empty() {
        filters.push(format!("state={state}"));
    }
    if !year.is_empty() {
        filters.push(format!("year={year}"));
    }
    let export = format!("/api/v1/fund/applications/export?{}", filters.join("&"));
    let page = ApplicationsPage {
        layout: Layout::staff("产业扶持资金申报", &caller.actor, &menu),
        items: list.items,
        total: list.total,
        states,
        year,
        export,
        apply: caller.may(Permission::ApplyFund),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "fund.html")]
struct FundPage {
    layout: Layout,
    policies: Vec<PolicyView>,
    notices: Vec<NoticeRow>,
}

impl FundPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /fund`: the policies, their budget use and measures, and the awards on notice.
async fn overview<S: Store>(State(app): State<App<S>>) -> PageResult {
    let fund = app.fund();
    let page = FundPage {
        layout: Layout::public("产业扶持资金"),
        policies: fund.policies().await?,
        notices: fund.notices().await?,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "fund_reports.html")]
struct ReportsPage {
    layout: Layout,
    report: Option<FundReportView>,
    /// The export link of the same policy and year.
    export: String,
}

impl ReportsPage {
    /// The report's three tables: (id, caption, rows).
    fn sections(&self) -> Vec<(&'static str, &'static str, &[TallyView])> {
        let Some(r) = &self.report else { return Vec::new() };
        vec![
            ("by-measure", "按扶持措施", r.by_measure.as_slice()),
            ("by-town", "按镇街", r.by_town.as_slice()),
            ("by-industry", "按行业（GB/T 4754）", r.by_industry.as_slice()),
        ]
    }

    /// The policy and year choices as `policy:year` options.
    fn choices(&self) -> Vec<Choice> {
        let Some(report) = &self.report else { return Vec::new() };
        report
            .choices
            .iter()
            .flat_map(|p| {
                p.years.iter().map(move |y| {
                    let selected = p.policy_id == report.policy_id && *y == report.year;
                    Choice::new(format!("{}:{y}", p.policy_id), format!("{} {y}年度", p.policy_name), selected)
                })
            })
            .collect()
    }
}

/// The report's policy and year from `?policy=&year=` or `?period=policy:year` (the page's select), read
/// as the API reads them.
fn report_query(form: &HashMap<String, String>) -> Result<ReportQuery, AppError> {
    let field = |name: &str| form.get(name).cloned();
    ReportParams { policy: field("policy"), year: field("year"), period: field("period") }.query()
}

/// `GET /fund/reports[?policy=&year=]`: a policy's year by measure, town and industry, in the reader's scope.
async fn reports<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(form): Query<HashMap<String, String>>,
) -> PageResult {
    let query = report_query(&form)?;
    let report = app.fund().report(&caller, &query).await?;
    let export = report
        .as_ref()
        .map(|r| format!("/fund/reports/export?policy={}&year={}", r.policy_id, r.year))
        .unwrap_or_default();
    let page = ReportsPage { layout: Layout::staff("产业扶持资金统计", &caller.actor, &menu), report, export };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /fund/reports/export?policy=&year=`: the report as an .xlsx download.
async fn report_export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(form): Query<HashMap<String, String>>,
) -> PageResult<Response> {
    let query = report_query(&form)?;
    let bytes = app.fund().report_export(&caller, &query).await?;
    Ok(crate::download::xlsx(bytes, "扶持资金统计.xlsx", "fund-report.xlsx"))
}
