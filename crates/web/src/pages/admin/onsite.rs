//! 上门服务目录: the service catalogue of on-site service (行走办) and the
//! service centres with their daily capacity, through `app.onsite()` as
//! `POST`/`PUT /api/v1/onsite/items` and `/api/v1/onsite/centres` do.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::onsite::{CentreBody, CentreView, ServiceItemBody, ServiceItemView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::onsite::{centre_not_found, item_not_found};
use mashangban_store::Store;

use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::pages::{Choice, Layout, PageResult, render, shown};
use crate::routes::{Menu, MenuKind, Route};

const PATH: &str = "/admin/onsite";

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageOnsiteCatalog;
    vec![
        Route::get(PATH, page::<S>).permission(manage).nav(MenuKind::Admin, 55, "上门服务目录"),
        Route::post("/admin/onsite/items", add_item::<S>).permission(manage).form(),
        Route::post("/admin/onsite/items/{id}", update_item::<S>).permission(manage).form(),
        Route::post("/admin/onsite/centres", add_centre::<S>).permission(manage).form(),
        Route::post("/admin/onsite/centres/{id}", update_centre::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "admin/onsite.html")]
struct CataloguePage {
    layout: Layout,
    frame: Frame,
    items: Vec<ServiceItemView>,
    centres: Vec<CentreView>,
    /// Active units, `code` and name.
    units: Vec<Choice>,
}

async fn render_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let service = app.onsite();
    let org = app.caches().org();
    let units = org.units().filter(|u| u.active).map(|u| Choice::new(u.code.clone(), u.name.clone(), false)).collect();
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(None, &caller.actor, menu, PATH, notice, error.map(|(_, m)| m));
    let page = CataloguePage {
        layout,
        frame,
        items: service.items(caller).await?,
        centres: service.centres(caller).await?,
        units,
    };
    Ok(render(status, &page))
}

/// `GET /admin/onsite`.
async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<Done>,
) -> PageResult {
    render_page(&app, &caller, &menu, q.notice(), None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemForm {
    code: String,
    name: String,
    unit: String,
    active: String,
}

impl ItemForm {
    fn body(self) -> ServiceItemBody {
        ServiceItemBody { code: self.code, name: self.name, unit: self.unit, active: Some(self.active != "false") }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CentreForm {
    unit: String,
    name: String,
    daily_capacity: String,
    active: String,
}

impl CentreForm {
    fn body(self) -> Result<CentreBody, AppError> {
        let daily_capacity = self
            .daily_capacity
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("invalid_capacity", "每日可上门场次应为1~50"))?;
        Ok(CentreBody { unit: self.unit, name: self.name, daily_capacity, active: Some(self.active != "false") })
    }
}

/// Back to the page with the notice, or the page with the refusal.
async fn after<S: Store, T>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    result: Result<T, AppError>,
    notice: &str,
) -> PageResult {
    match result {
        Ok(_) => Ok(done(PATH, notice)),
        Err(e) => render_page(app, caller, menu, None, Some(shown(e)?)).await,
    }
}

/// `POST /admin/onsite/items`.
async fn add_item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<ItemForm>,
) -> PageResult {
    let result = app.onsite().add_item(form.body()).await;
    after(&app, &caller, &menu, result, "onsite-item").await
}

/// `POST /admin/onsite/items/{id}`.
async fn update_item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ItemForm>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::from(item_not_found()))?;
    let result = app.onsite().update_item(id, form.body()).await;
    after(&app, &caller, &menu, result, "onsite-item").await
}

/// `POST /admin/onsite/centres`.
async fn add_centre<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<CentreForm>,
) -> PageResult {
    let result = match form.body() {
        Ok(body) => app.onsite().add_centre(body).await,
        Err(e) => Err(e),
    };
    after(&app, &caller, &menu, result, "onsite-centre").await
}

/// `POST /admin/onsite/centres/{id}`.
async fn update_centre<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<CentreForm>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| AppError::from(centre_not_found()))?;
    let result = match form.body() {
        Ok(body) => app.onsite().update_centre(id, body).await,
        Err(e) => Err(e),
    };
    after(&app, &caller, &menu, result, "onsite-centre").await
}
