//! The industry support fund on the portal (`/fund`, public): each policy
//! with its budget and what is used of it per year, its measures with their
//! conditions and formulas, and the public notice (公示) of awards — the
//! enterprise, the measure and the award only, nothing personal; and the
//! applications in the reader's scope (`/fund/applications`, signed in) with
//! filters and the Excel export. Applying and the review steps go through the
//! JSON API (`/api/v1/fund/...`).

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use mashangban_app::fund::{ApplicationQuery, ApplicationSummary, NoticeRow, PolicyView};
use mashangban_app::{App, AppError};
use mashangban_domain::fund::ApplicationState;
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time};
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/fund", overview::<S>).public(),
        Route::get("/fund/applications", applications::<S>).nav(MenuKind::Main, 48, "扶持资金"),
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
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> PageResult {
    let Query(form) = q.map_err(|_| AppError::bad_parameter("筛选条件有误"))?;
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
