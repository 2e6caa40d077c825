//! 事项分类与派单目录: the category tree with each leaf's default lead unit
//! and keywords; adding and editing a category.

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::catalog::CategoryInput;
use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, UnitKind};
use mashangban_store::{Category, Store};

use super::{Done, Frame, done, words};
use crate::auth::Auth;
use crate::pages::{Choice, Layout, PageResult, render, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageCatalog;
    vec![
        Route::get("/admin/categories", page::<S>).permission(manage).nav(MenuKind::Admin, 30, "事项分类与派单目录"),
        Route::post("/admin/categories", save::<S>).permission(manage).form(),
    ]
}

/// One category in the tree.
pub struct Row {
    pub code: String,
    pub name: String,
    pub group: bool,
    pub lead_unit: String,
    pub keywords: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/categories.html")]
struct CategoriesPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<Row>,
    form: CategoryForm,
    parents: Vec<Choice>,
    units: Vec<Choice>,
    editing: bool,
}

/// The add/edit form's values.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CategoryForm {
    code: String,
    name: String,
    parent: String,
    lead_unit: String,
    /// Separated by commas (，、) or spaces.
    keywords: String,
}

/// Top-level groups, each followed by its children.
fn rows<S: Store>(app: &App<S>, categories: &[Category]) -> Vec<Row> {
    let org = app.caches().org();
    let row = |c: &Category, group: bool| Row {
        code: c.code.clone(),
        name: c.name.clone(),
        group,
        lead_unit: c.default_lead_unit_id.and_then(|id| org.get(id)).map(|u| u.name.clone()).unwrap_or_default(),
        keywords: c.keywords.join("、"),
        active: c.active,
    };
    let mut out = Vec::new();
    for top in categories.iter().filter(|c| c.parent_id.is_none()) {
        out.push(row(top, true));
        out.extend(categories.iter().filter(|c| c.parent_id == Some(top.id)).map(|c| row(c, false)));
    }
    out
}

async fn render_page<S: Store>(
    app: &App<S>,
    actor: &Actor,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: CategoryForm,
    editing: bool,
) -> PageResult {
    let categories = app.caches().categories();
    let parents = categories
        .iter()
        .filter(|c| c.parent_id.is_none() && c.code != form.code)
        .map(|c| Choice::new(c.code.clone(), c.name.clone(), c.code == form.parent))
        .collect();
    let org = app.caches().org();
    let mut units: Vec<Choice> = org
        .units()
        .filter(|u| u.active && matches!(u.kind, UnitKind::Department | UnitKind::Town))
        .map(|u| Choice::new(u.code.clone(), u.name.clone(), u.code == form.lead_unit))
        .collect();
    units.sort_by(|a, b| a.value.cmp(&b.value));
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(
        app.calendar().missing_notice_warning(),
        actor,
        menu,
        "/admin/categories",
        notice,
        error.map(|(_, m)| m),
    );
    let page = CategoriesPage { layout, frame, rows: rows(app, &categories), form, parents, units, editing };
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CategoriesQuery {
    ok: String,
    edit: String,
}

/// `GET /admin/categories` (`?edit=code` fills the form with a category).
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<CategoriesQuery>,
) -> PageResult {
    let actor = &caller.actor;
    let categories = app.caches().categories();
    let org = app.caches().org();
    let edited = categories.iter().find(|c| c.code == q.edit);
    let form = edited.map_or_else(CategoryForm::default, |c| CategoryForm {
        code: c.code.clone(),
        name: c.name.clone(),
        parent: c
            .parent_id
            .and_then(|p| categories.iter().find(|x| x.id == p))
            .map(|p| p.code.clone())
            .unwrap_or_default(),
        lead_unit: c.default_lead_unit_id.and_then(|id| org.get(id)).map(|u| u.code.clone()).unwrap_or_default(),
        keywords: c.keywords.join("，"),
    });
    render_page(&app, actor, &menu, Done { ok: q.ok }.notice(), None, form, edited.is_some()).await
}

/// `POST /admin/categories`: as `PUT /api/v1/admin/categories/{code}`.
pub async fn save<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<CategoryForm>,
) -> PageResult {
    let actor = &caller.actor;
    let input = CategoryInput {
        name: form.name.clone(),
        parent: Some(form.parent.clone()),
        lead_unit: Some(form.lead_unit.clone()),
        keywords: words(&form.keywords),
    };
    match app.catalog().save_category(&form.code, input).await {
        Ok(_) => Ok(done("/admin/categories", "category")),
        Err(e) => {
            let editing = app.caches().categories().iter().any(|c| c.code == form.code.trim());
            render_page(&app, actor, &menu, None, Some(shown(e)?), form, editing).await
        }
    }
}
