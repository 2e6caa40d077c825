//! The catalogue editor (`/statistics/catalogue`, for those who keep the
//! statistics): every indicator with its edit form and an add form. Forms
//! post to `/statistics/catalogue` (add) and `/statistics/catalogue/{code}`
//! (change) and call the service of `POST`/`PUT /api/v1/statistics/indicators`;
//! a refusal renders the page again with the message next to that form and
//! what was typed kept.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::statistics::{IndicatorBody, IndicatorView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::statistics::codes;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::pages::{Choice, Layout, PageResult, render, shown};
use crate::routes::Menu;

/// An indicator's form as posted (checkboxes are sent only when ticked).
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct IndicatorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    decimals: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    sum_of_parts: Option<String>,
    /// `""` (the unit's default), `yes` or `no`.
    #[serde(default)]
    cumulative: String,
    #[serde(default)]
    publish_value: Option<String>,
    #[serde(default)]
    show_share: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    version: Option<i64>,
}

impl IndicatorForm {
    /// The form of a held indicator, filled with what it holds.
    fn of(i: &IndicatorView) -> Self {
        let tick = |b: bool| b.then(|| "on".to_owned());
        Self {
            code: i.code.clone(),
            name: i.name.clone(),
            unit: i.unit.clone(),
            decimals: i.decimals.map(|d| d.to_string()).unwrap_or_default(),
            parent: i.parent.clone().unwrap_or_default(),
            sum_of_parts: tick(i.sum_of_parts),
            cumulative: match i.cumulative {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            publish_value: tick(i.publish_value),
            show_share: tick(i.show_share),
            source: i.source.clone().unwrap_or_default(),
            version: Some(i.version),
        }
    }

    /// A new indicator's form: its value printed by default.
    fn blank() -> Self {
        Self { publish_value: Some("on".into()), ..Self::default() }
    }

    fn body(&self) -> Result<IndicatorBody, AppError> {
        let decimals = match self.decimals.trim() {
            "" => None,
            d => Some(d.parse::<u8>().map_err(|_| {
                AppError::invalid(codes::INVALID_INDICATOR_DECIMALS, "小数位数须为0至4的整数，或留空按单位默认")
            })?),
        };
        let cumulative = match self.cumulative.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        Ok(IndicatorBody {
            code: text(&self.code),
            name: self.name.clone(),
            unit: self.unit.clone(),
            decimals,
            parent: text(&self.parent),
            sum_of_parts: self.sum_of_parts.is_some(),
            cumulative,
            publish_value: self.publish_value.is_some(),
            show_share: self.show_share.is_some(),
            source: text(&self.source),
            version: self.version,
        })
    }

    /// The parent choices: none, then every other indicator.
    fn parents(&self, all: &[IndicatorView]) -> Vec<Choice> {
        let mut choices = vec![Choice::new("", "无（不是其他指标的组成部分）", self.parent.is_empty())];
        choices.extend(
            all.iter()
                .filter(|i| i.code != self.code)
                .map(|i| Choice::new(i.code.clone(), format!("{}（{}）", i.name, i.code), i.code == self.parent)),
        );
        choices
    }
}

/// One indicator on the page: what it holds, its form, the form's parent choices and its refusal.
struct Row {
    indicator: IndicatorView,
    form: IndicatorForm,
    parents: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "statistics_catalogue.html")]
struct CataloguePage {
    layout: Layout,
    rows: Vec<Row>,
    indicators: Vec<IndicatorView>,
    add: IndicatorForm,
    add_parents: Vec<Choice>,
    add_error: Option<String>,
    /// A refusal whose form is not on the page (an indicator no longer held).
    error: Option<String>,
}

impl CataloguePage {
    fn parent_name(&self, code: &Option<String>) -> String {
        let Some(code) = code else { return "—".into() };
        self.indicators.iter().find(|i| &i.code == code).map_or_else(|| code.clone(), |i| i.name.clone())
    }
}

/// Which form a refusal belongs to.
enum Refused {
    None,
    Add(IndicatorForm, String),
    Change(String, IndicatorForm, String),
}

async fn page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    status: StatusCode,
    refused: Refused,
) -> PageResult {
    let indicators = app.statistics().indicators().await?;
    let (mut add, mut add_error) = (IndicatorForm::blank(), None);
    let (mut changed, mut error) = (None, None);
    match refused {
        Refused::None => {}
        Refused::Add(form, message) => (add, add_error) = (form, Some(message)),
        Refused::Change(code, _, message) if !indicators.iter().any(|i| i.code == code) => error = Some(message),
        Refused::Change(code, form, message) => changed = Some((code, form, message)),
    }
    let rows = indicators
        .iter()
        .map(|i| {
            let (form, error) = match &changed {
                Some((code, form, message)) if *code == i.code => (form.clone(), Some(message.clone())),
                _ => (IndicatorForm::of(i), None),
            };
            Row { indicator: i.clone(), parents: form.parents(&indicators), form, error }
        })
        .collect();
    let add_parents = add.parents(&indicators);
    let page = CataloguePage {
        layout: Layout::staff("指标目录维护", &caller.actor, menu),
        rows,
        indicators,
        add_parents,
        add,
        add_error,
        error,
    };
    Ok(render(status, &page))
}

/// `GET /statistics/catalogue`.
pub(super) async fn catalogue<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    page(&app, &caller, &menu, StatusCode::OK, Refused::None).await
}

/// `POST /statistics/catalogue`: adds an indicator; back to its place on the page.
pub(super) async fn add<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<IndicatorForm>,
) -> PageResult {
    let outcome = match form.body() {
        Ok(body) => app.statistics().add_indicator(&caller, body).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(added) => {
            Ok(Redirect::to(&format!("/statistics/catalogue#indicator-{}", added.indicator.code)).into_response())
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            page(&app, &caller, &menu, status, Refused::Add(form, message)).await
        }
    }
}

/// `POST /statistics/catalogue/{code}`: changes an indicator; back to its place on the page.
pub(super) async fn change<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<IndicatorForm>,
) -> PageResult {
    let outcome = match form.body() {
        Ok(body) => app.statistics().change_indicator(&caller, &code, IndicatorBody { code: None, ..body }).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/statistics/catalogue#indicator-{code}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let form = IndicatorForm { code: code.clone(), ..form };
            page(&app, &caller, &menu, status, Refused::Change(code, form, message)).await
        }
    }
}
