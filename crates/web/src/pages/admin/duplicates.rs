//! 疑似重复与热点问题: the thresholds and likeness weights (加分) in force, their versions, and saving a new version through
//! `app.duplicates()`, as `PUT /api/v1/dispatch/thresholds` does.

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::duplicates::{ThresholdsBody, ThresholdsOverview};
use mashangban_app::error::AppError;
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::pages::{Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

const PATH: &str = "/admin/duplicates";

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageDuplicateThresholds;
    vec![
        Route::get(PATH, page::<S>).permission(manage).nav(MenuKind::Admin, 47, "疑似重复与热点"),
        Route::post(PATH, save::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "admin/duplicates.html")]
struct ThresholdsPage {
    layout: Layout,
    frame: Frame,
    overview: ThresholdsOverview,
    form: SaveForm,
}

impl ThresholdsPage {
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
    let overview = app.duplicates().overview(caller).await?;
    let t = &overview.thresholds;
    let form = sent.unwrap_or_else(|| SaveForm {
        similarity: format!("{:.2}", t.similarity),
        window_days: t.window_days.to_string(),
        hot_min_size: t.hot_min_size.to_string(),
        hot_window_days: t.hot_window_days.to_string(),
        hot_similarity: format!("{:.2}", t.hot_similarity),
        cross_town_similarity: format!("{:.2}", t.cross_town_similarity),
        same_asker: format!("{:.2}", t.weights.same_asker),
        same_place: format!("{:.2}", t.weights.same_place),
        same_category_and_town: format!("{:.2}", t.weights.same_category_and_town),
    });
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(None, &caller.actor, menu, PATH, notice, error.map(|(_, m)| m));
    Ok(render(status, &ThresholdsPage { layout, frame, overview, form }))
}

/// `GET /admin/duplicates`.
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
    similarity: String,
    window_days: String,
    hot_min_size: String,
    hot_window_days: String,
    hot_similarity: String,
    cross_town_similarity: String,
    same_asker: String,
    same_place: String,
    same_category_and_town: String,
}

impl SaveForm {
    /// The numbers of the form; a field that is not a number is refused with its name.
    fn body(&self) -> Result<ThresholdsBody, AppError> {
        let share = |v: &str, name: &str| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| AppError::invalid("invalid_field", format!("「{name}」应为小数，如 0.45")))
        };
        let days = |v: &str, name: &str| {
            v.trim().parse::<u32>().map_err(|_| AppError::invalid("invalid_field", format!("「{name}」应为整数")))
        };
        Ok(ThresholdsBody {
            similarity: share(&self.similarity, "疑似重复相似度")?,
            window_days: days(&self.window_days, "比对时间窗")?,
            hot_min_size: days(&self.hot_min_size, "热点最少件数")?,
            hot_window_days: days(&self.hot_window_days, "热点统计天数")?,
            hot_similarity: share(&self.hot_similarity, "热点相似度")?,
            cross_town_similarity: Some(share(&self.cross_town_similarity, "跨镇街热点相似度")?),
            same_asker: Some(share(&self.same_asker, "相同诉求人加分")?),
            same_place: Some(share(&self.same_place, "相同地址加分")?),
            same_category_and_town: Some(share(&self.same_category_and_town, "同类别同镇街加分")?),
        })
    }
}

/// `POST /admin/duplicates`: saves a new version of the thresholds.
pub async fn save<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<SaveForm>,
) -> PageResult {
    let saved = match form.body() {
        Ok(body) => app.duplicates().update(&caller, body).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(done(PATH, "duplicates")),
        Err(e) => render_page(&app, &caller, &menu, None, Some(shown(e)?), Some(form)).await,
    }
}
