//! 垃圾信息甄别: the ad phrases and threshold in force, their versions, the classifier, and saving a
//! new version or retraining through `app.screening()`, as `PUT /api/v1/screening/settings` and
//! `POST /api/v1/screening/model` do.

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::screening::{ScreeningOverview, SettingsBody};
use mashangban_domain::access::Permission;
use mashangban_domain::org::Actor;
use mashangban_store::Store;

use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::pages::{Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

const PATH: &str = "/admin/screening";

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageScreening;
    vec![
        Route::get(PATH, page::<S>).permission(manage).nav(MenuKind::Admin, 45, "垃圾信息甄别"),
        Route::post(PATH, save::<S>).permission(manage).form(),
        // A button: no fields to read.
        Route::post("/admin/screening/model", retrain::<S>).permission(manage),
    ]
}

#[derive(Template)]
#[template(path = "admin/screening.html")]
struct ScreeningPage {
    layout: Layout,
    frame: Frame,
    overview: ScreeningOverview,
    /// The phrases in the form, one per line.
    phrases: String,
    threshold: String,
}

impl ScreeningPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn render_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    sent: Option<SaveForm>,
) -> PageResult {
    let overview = app.screening().overview(caller).await?;
    let (phrases, threshold) = match sent {
        Some(form) => (form.phrases, form.threshold),
        None => (overview.settings.phrases.join("\n"), format!("{:.2}", overview.settings.threshold)),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let actor: &Actor = &caller.actor;
    let (layout, frame) = Frame::new(None, actor, menu, PATH, notice, error.map(|(_, m)| m));
    Ok(render(status, &ScreeningPage { layout, frame, overview, phrases, threshold }))
}

/// `GET /admin/screening`.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<Done>,
) -> PageResult {
    render_page(&app, &caller, &menu, q.notice(), None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SaveForm {
    /// One phrase per line.
    phrases: String,
    threshold: String,
}

/// `POST /admin/screening`: saves a new version of the settings.
pub async fn save<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<SaveForm>,
) -> PageResult {
    let phrases: Vec<String> =
        form.phrases.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let saved = match form.threshold.trim().parse::<f64>() {
        Ok(threshold) => app.screening().update(&caller, SettingsBody { phrases, threshold }).await,
        Err(_) => {
            Err(mashangban_app::error::AppError::invalid("invalid_threshold", "甄别阈值应为 0.5 到 0.99 之间的小数"))
        }
    };
    match saved {
        Ok(_) => Ok(done(PATH, "screening")),
        Err(e) => render_page(&app, &caller, &menu, None, Some(shown(e)?), Some(form)).await,
    }
}

/// `POST /admin/screening/model`: retrains the classifier on this node.
pub async fn retrain<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    match app.screening().retrain(&caller).await {
        Ok(_) => Ok(done(PATH, "screening-model")),
        Err(e) => render_page(&app, &caller, &menu, None, Some(shown(e)?), None).await,
    }
}
