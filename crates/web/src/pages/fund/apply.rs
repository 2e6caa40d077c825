//! 申报 (`/fund/apply`): an enterprise account, or a liaison cadre for an
//! enterprise assigned to them, picks a measure (`?measure=`), fills the data
//! fields the measure defines (a number, text, date or 是/否 for each, marked
//! 选填 where optional), the budget year and the materials list, and posts;
//! `app.fund().apply` checks and assesses it as the API does. A refusal
//! (missing data, not eligible, …) shows the form again with the Chinese
//! message, what was typed kept; success goes to the application's page.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::fund::{ApplyBody, MaterialBody, MeasureView, PolicyView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::fund::measure_not_found;
use mashangban_domain::org::Actor;
use mashangban_store::Store;

use super::super::{Choice, Layout, PageResult, render, shown};
use crate::auth::Auth;
use crate::extract::{Form, PageQuery as Query};
use crate::routes::Menu;

/// The prefix of a data field's form name: `d_固定资产投资`.
const DATA_PREFIX: &str = "d_";

#[derive(Template)]
#[template(path = "fund_apply.html")]
struct ApplyPage {
    layout: Layout,
    /// Every policy with its measures, to pick one.
    policies: Vec<PolicyView>,
    /// The measure chosen, with its policy's name.
    chosen: Option<(MeasureView, String)>,
    years: Vec<Choice>,
    /// The enterprises a cadre may apply for (none for an enterprise account).
    enterprises: Vec<Choice>,
    /// The enterprise account's own credit code.
    own: Option<String>,
    /// The data as typed, by field name.
    values: BTreeMap<String, String>,
    materials: String,
    error: Option<String>,
}

impl ApplyPage {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn input_name(&self, name: &str) -> String {
        format!("{DATA_PREFIX}{name}")
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ChooseQuery {
    #[serde(default)]
    measure: Option<String>,
}

/// What was typed, to show again.
#[derive(Default)]
struct Typed {
    year: Option<i32>,
    credit_code: String,
    values: BTreeMap<String, String>,
    materials: String,
}

async fn apply_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    measure: Option<i64>,
    status: StatusCode,
    error: Option<String>,
    typed: Typed,
) -> PageResult {
    let fund = app.fund();
    let policies = fund.policies().await?;
    let chosen = match measure {
        Some(id) => {
            let measure = fund.measure(id).await?;
            let policy = policies
                .iter()
                .find(|p| p.id == measure.policy_id)
                .ok_or_else(|| AppError::from(measure_not_found()))?;
            Some((measure, policy.name.clone()))
        }
        None => None,
    };
    let this_year = chrono::Datelike::year(&app.now());
    let year = typed.year.unwrap_or(this_year);
    let years = chosen
        .as_ref()
        .and_then(|(m, _)| policies.iter().find(|p| p.id == m.policy_id))
        .map(|p| p.years.iter().map(|y| Choice::new(y.year.to_string(), format!("{}年度", y.year), y.year == year)))
        .into_iter()
        .flatten()
        .collect();
    let own = match &caller.actor {
        Actor::Account(account) => account.credit_code.clone(),
        _ => None,
    };
    let mut enterprises: Vec<Choice> = Vec::new();
    if own.is_none() {
        for a in app.liaisons().mine(caller).await? {
            if !enterprises.iter().any(|c| c.value == a.credit_code) {
                let selected = a.credit_code == typed.credit_code;
                enterprises.push(Choice::new(a.credit_code.clone(), a.enterprise_name.clone(), selected));
            }
        }
    }
    let page = ApplyPage {
        layout: Layout::staff("申报产业扶持资金", &caller.actor, menu),
        policies,
        chosen,
        years,
        enterprises,
        own,
        values: typed.values,
        materials: typed.materials,
        error,
    };
    Ok(render(status, &page))
}

fn measure_id(text: &str) -> Result<i64, AppError> {
    text.trim().parse().map_err(|_| measure_not_found().into())
}

/// `GET /fund/apply[?measure=]`: the measures to choose from, or the chosen measure's form.
pub(super) async fn form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<ChooseQuery>,
) -> PageResult {
    let measure = q.measure.as_deref().filter(|m| !m.trim().is_empty()).map(measure_id).transpose()?;
    apply_page(&app, &caller, &menu, measure, StatusCode::OK, None, Typed::default()).await
}

/// `POST /fund/apply`: as `POST /api/v1/fund/applications`; on to the application's page.
pub(super) async fn submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    let measure = measure_id(field("measure_id"))?;
    let mut typed = Typed {
        credit_code: field("credit_code").trim().to_owned(),
        materials: field("materials").to_owned(),
        ..Typed::default()
    };
    let mut data = serde_json::Map::new();
    for (name, value) in &fields {
        if let Some(name) = name.strip_prefix(DATA_PREFIX) {
            typed.values.insert(name.to_owned(), value.clone());
            data.insert(name.to_owned(), serde_json::Value::String(value.trim().to_owned()));
        }
    }
    let year = match field("year").trim() {
        "" => None,
        y => match y.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                let message = "申报年度须为数字，如 2023".to_owned();
                return apply_page(
                    &app,
                    &caller,
                    &menu,
                    Some(measure),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(message),
                    typed,
                )
                .await;
            }
        },
    };
    typed.year = year;
    let materials = typed
        .materials
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|name| MaterialBody { name: name.to_owned() })
        .collect();
    let credit_code = Some(typed.credit_code.clone()).filter(|c| !c.is_empty());
    let body = ApplyBody { measure_id: measure, year, credit_code, data, materials };
    match app.fund().apply(&caller, body).await {
        Ok(view) => Ok(Redirect::to(&format!("/fund/applications/{}", view.summary.id)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            apply_page(&app, &caller, &menu, Some(measure), status, Some(message), typed).await
        }
    }
}
