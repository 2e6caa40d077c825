//! 派单模型: the dispatch model in service on this node, retraining it, a time-split evaluation
//! (trained before a date, tested after it) and the categories dispatched automatically (自动派单),
//! through `app.dispatch()`, as `GET /api/v1/dispatch/evaluation`, `POST /api/v1/dispatch/model` and
//! `PUT /api/v1/dispatch/auto` do.

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::Caller;
use mashangban_app::dispatch::{AutoDispatchBody, AutoDispatchOverview, AutoRuleBody, Evaluation, ModelInfo};
use mashangban_app::error::AppError;
use mashangban_app::input::parse_time_param;
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Frame, done};
use crate::auth::Auth;
use crate::pages::{PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

const PATH: &str = "/admin/dispatch";

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let model = Permission::ManageDispatchModel;
    vec![
        Route::get(PATH, page::<S>).permission(model).nav(MenuKind::Admin, 46, "派单模型"),
        Route::post("/admin/dispatch/model", retrain::<S>).permission(model).form(),
        Route::post("/admin/dispatch/auto", save_auto::<S>).permission(model).form(),
    ]
}

#[derive(Template)]
#[template(path = "admin/dispatch.html")]
struct DispatchPage {
    layout: crate::pages::Layout,
    frame: Frame,
    model: Option<ModelInfo>,
    /// The split date as typed.
    before: String,
    evaluation: Option<Evaluation>,
    org: Arc<mashangban_domain::org::OrgTree>,
    auto: AutoDispatchOverview,
    /// Each active leaf category with its confidence as shown in the form (blank: by people).
    auto_form: Vec<AutoField>,
}

/// One category's row of the automatic dispatch form.
struct AutoField {
    code: String,
    name: String,
    value: String,
}

impl DispatchPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// A share as a percentage with one decimal.
    fn pct(&self, share: &f64) -> String {
        format!("{:.1}%", share * 100.0)
    }

    /// A unit's name by its code (the code itself for a unit no longer in the tree).
    fn unit(&self, code: &str) -> String {
        self.org.by_code(code).map_or_else(|| code.to_owned(), |u| u.name.clone())
    }
}

/// `?before=` (the split date) and `?ok=` after retraining.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DispatchQuery {
    before: String,
    ok: String,
}

/// `GET /admin/dispatch[?before=2026-06-30]`: the model, and with a date the evaluation on it. A date
/// that cannot be read, or a split with nothing to train or test on, is shown as the page's error.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<DispatchQuery>,
) -> PageResult {
    let before = q.before.trim().to_owned();
    let evaluated = match before.as_str() {
        "" => Ok(None),
        date => match parse_time_param("before", date) {
            Ok(at) => app.dispatch().evaluate(at).await.map(Some),
            Err(e) => Err(e),
        },
    };
    let (evaluation, error) = match evaluated {
        Ok(evaluation) => (evaluation, None),
        Err(e) => (None, Some(shown(e)?)),
    };
    let notice = NOTICES.iter().find(|(key, _)| *key == q.ok).map(|(_, text)| *text);
    render_page(&app, &caller, &menu, Shown { notice, error, before, evaluation, sent: None }).await
}

/// What one rendering of the page shows besides the model and the rules.
struct Shown {
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    before: String,
    evaluation: Option<Evaluation>,
    /// The automatic dispatch form as sent, when it was refused.
    sent: Option<Vec<(String, String)>>,
}

impl Shown {
    fn refused(error: (StatusCode, String), sent: Option<Vec<(String, String)>>) -> Self {
        Self { notice: None, error: Some(error), before: String::new(), evaluation: None, sent }
    }
}

const NOTICES: &[(&str, &str)] = &[
    ("dispatch-model", "派单模型已按最近已办结的诉求重新训练。"),
    ("dispatch-auto", "新版本自动派单设置已保存，此后受理的诉求即按新设置自动派单。"),
];

async fn render_page<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu, view: Shown) -> PageResult {
    let auto = app.dispatch().auto_overview(caller).await?;
    let categories = app.caches().categories();
    let auto_form = categories
        .iter()
        .filter(|c| c.active && !categories.iter().any(|child| child.parent_id == Some(c.id)))
        .map(|c| {
            let value = match &view.sent {
                Some(sent) => sent.iter().find(|(k, _)| *k == c.code).map(|(_, v)| v.clone()).unwrap_or_default(),
                None => auto
                    .current
                    .rules
                    .iter()
                    .find(|r| r.category == c.code)
                    .map(|r| format!("{:.2}", r.min_confidence))
                    .unwrap_or_default(),
            };
            AutoField { code: c.code.clone(), name: c.name.clone(), value }
        })
        .collect();
    let status = view.error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(None, &caller.actor, menu, PATH, view.notice, view.error.map(|(_, m)| m));
    let model = app.dispatch_models().current().map(|t| t.info());
    let org = app.caches().org();
    let (before, evaluation) = (view.before, view.evaluation);
    Ok(render(status, &DispatchPage { layout, frame, model, before, evaluation, org, auto, auto_form }))
}

/// `POST /admin/dispatch/model`: retrains the model in service from the newest closed requests.
pub async fn retrain<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    match app.dispatch().retrain(&caller).await {
        Ok(_) => Ok(done(PATH, "dispatch-model")),
        Err(e) => render_page(&app, &caller, &menu, Shown::refused(shown(e)?, None)).await,
    }
}

/// `POST /admin/dispatch/auto`: a confidence per category code (blank: dispatched by people) saved
/// as a new version of the rules; a value that is not a number is refused with the category's name.
pub async fn save_auto<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(sent): Form<Vec<(String, String)>>,
) -> PageResult {
    let saved = match auto_body(&app, &sent) {
        Ok(body) => app.dispatch().set_auto(&caller, body).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(done(PATH, "dispatch-auto")),
        Err(e) => render_page(&app, &caller, &menu, Shown::refused(shown(e)?, Some(sent))).await,
    }
}

/// The rules of the form: every non-blank field, by category code.
fn auto_body<S: Store>(app: &App<S>, sent: &[(String, String)]) -> Result<AutoDispatchBody, AppError> {
    let categories = app.caches().categories();
    let mut rules = Vec::new();
    for (code, value) in sent.iter().filter(|(_, v)| !v.trim().is_empty()) {
        let name = categories.iter().find(|c| c.code == *code).map_or(code.as_str(), |c| c.name.as_str());
        let min_confidence = value
            .trim()
            .parse::<f64>()
            .map_err(|_| AppError::invalid("invalid_field", format!("「{name}」的自动派单置信度应为小数，如 0.9")))?;
        rules.push(AutoRuleBody { category: code.clone(), min_confidence });
    }
    Ok(AutoDispatchBody { rules })
}
