//! 组织架构: the org tree, and adding, renaming and deactivating units.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::extract::Form;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::org::UnitInput;
use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, Unit, UnitKind};
use mashangban_store::Store;

use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::pages::{Choice, Layout, PageResult, render, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageOrg;
    vec![
        Route::get("/admin/org", page::<S>).permission(manage).nav(MenuKind::Admin, 10, "组织架构"),
        Route::post("/admin/org", save::<S>).permission(manage).form(),
        Route::post("/admin/org/{code}/active", active::<S>).permission(manage).form(),
    ]
}

/// One unit in the tree, indented by its depth.
pub struct Row {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub kind: &'static str,
    pub depth: usize,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin/org.html")]
struct OrgPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<Row>,
    form: UnitForm,
    kinds: Vec<Choice>,
    parents: Vec<Choice>,
    /// Whether the form edits an existing unit.
    editing: bool,
}

fn kind_label(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::City => "市",
        UnitKind::Department => "市直部门",
        UnitKind::Town => "镇街",
        UnitKind::Subunit => "下属科室",
    }
}

/// The units depth first from the root, children by code.
fn tree(units: &[&Unit]) -> Vec<Row> {
    fn walk(units: &[&Unit], parent: Option<i64>, depth: usize, out: &mut Vec<Row>) {
        let mut children: Vec<&&Unit> = units.iter().filter(|u| u.parent_id == parent).collect();
        children.sort_by_key(|u| (u.kind != UnitKind::Department, u.code.clone()));
        for u in children {
            out.push(Row {
                code: u.code.clone(),
                name: u.name.clone(),
                short_name: u.short_name.clone().unwrap_or_default(),
                kind: kind_label(u.kind),
                depth: depth.min(4),
                active: u.active,
            });
            if depth < 16 {
                walk(units, Some(u.id), depth + 1, out);
            }
        }
    }
    let mut out = Vec::with_capacity(units.len());
    walk(units, None, 0, &mut out);
    out
}

/// The add/edit form's values.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UnitForm {
    code: String,
    name: String,
    short_name: String,
    kind: String,
    parent: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OrgQuery {
    ok: String,
    /// A unit to edit in the form.
    edit: String,
}

async fn render_page<S: Store>(
    app: &App<S>,
    actor: &Actor,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: UnitForm,
    editing: bool,
) -> PageResult {
    let org = app.caches().org();
    let units: Vec<&Unit> = org.units().collect();
    let kinds = [UnitKind::Department, UnitKind::Town, UnitKind::Subunit]
        .iter()
        .map(|k| Choice::new(k.as_str(), kind_label(*k), form.kind == k.as_str()))
        .collect();
    let parents = tree(&units)
        .into_iter()
        .filter(|r| r.active)
        .map(|r| Choice::new(r.code.clone(), format!("{}{}", "　".repeat(r.depth), r.name), form.parent == r.code))
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) =
        Frame::new(app.calendar().missing_notice_warning(), actor, menu, "/admin/org", notice, error.map(|(_, m)| m));
    let page = OrgPage { layout, frame, rows: tree(&units), form, kinds, parents, editing };
    Ok(render(status, &page))
}

/// `GET /admin/org` (`?edit=code` fills the form with a unit).
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<OrgQuery>,
) -> PageResult {
    let actor = &caller.actor;
    let org = app.caches().org();
    let edited = org.units().find(|u| u.code == q.edit);
    let form = edited.map_or_else(
        || UnitForm { kind: UnitKind::Department.as_str().into(), parent: "city".into(), ..UnitForm::default() },
        |u| UnitForm {
            code: u.code.clone(),
            name: u.name.clone(),
            short_name: u.short_name.clone().unwrap_or_default(),
            kind: u.kind.as_str().into(),
            parent: u.parent_id.and_then(|p| org.get(p)).map(|p| p.code.clone()).unwrap_or_default(),
        },
    );
    let notice = Done { ok: q.ok }.notice();
    render_page(&app, actor, &menu, notice, None, form, edited.is_some()).await
}

/// `POST /admin/org`: adds a unit or renames/moves it (by code), as `PUT /api/v1/admin/units/{code}`.
pub async fn save<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<UnitForm>,
) -> PageResult {
    let actor = &caller.actor;
    let input = UnitInput {
        name: form.name.clone(),
        short_name: Some(form.short_name.clone()),
        kind: form.kind.clone(),
        parent: form.parent.clone(),
    };
    match app.org().save_unit(&form.code, input).await {
        Ok(_) => Ok(done("/admin/org", "unit")),
        Err(e) => {
            let editing = app.caches().org().units().any(|u| u.code == form.code.trim());
            render_page(&app, actor, &menu, None, Some(shown(e)?), form, editing).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActiveForm {
    /// `1` to reactivate, anything else deactivates.
    active: String,
}

/// `POST /admin/org/{code}/active`: deactivates (撤销) or reactivates a unit,
/// as `POST /api/v1/admin/units/{code}/active`.
pub async fn active<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult {
    let actor = &caller.actor;
    let on = form.active == "1";
    match app.org().set_unit_active(&code, on).await {
        Ok(_) => Ok(done("/admin/org", if on { "unit-on" } else { "unit-off" })),
        Err(e) => {
            let form =
                UnitForm { kind: UnitKind::Department.as_str().into(), parent: "city".into(), ..UnitForm::default() };
            render_page(&app, actor, &menu, None, Some(shown(e)?), form, false).await
        }
    }
}
