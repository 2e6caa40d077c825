//! 组织架构: the org tree, and adding, renaming and deactivating units.
//! "新增单位" creates only (a code in use is refused, never renamed);
//! "修改" changes an existing unit; "撤销" asks for confirmation first.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
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
    /// A deactivation waiting for the administrator's confirmation.
    confirm: Option<Confirm>,
    /// Why the add/edit form was refused, shown beside it (other refusals are at the top).
    form_error: Option<String>,
}

/// The unit a deactivation (撤销) asks to confirm.
pub struct Confirm {
    pub code: String,
    pub name: String,
    /// Accounts that belong to the unit and can no longer be given it.
    pub users: usize,
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
    /// `1` when the form changes an existing unit ("修改"); otherwise it creates one.
    editing: String,
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
    error: Option<Refusal>,
    form: UnitForm,
    confirm: Option<Confirm>,
) -> PageResult {
    let editing = form.editing == "1";
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
    let status = error.as_ref().map_or(StatusCode::OK, Refusal::status);
    let (top_error, form_error) = match error {
        Some(Refusal::Form((_, message))) => (None, Some(message)),
        Some(Refusal::Page((_, message))) => (Some(message), None),
        None => (None, None),
    };
    let (layout, frame) =
        Frame::new(app.calendar().missing_notice_warning(), actor, menu, "/admin/org", notice, top_error);
    let page = OrgPage { layout, frame, rows: tree(&units), form, kinds, parents, editing, confirm, form_error };
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
            editing: "1".into(),
        },
    );
    let notice = Done { ok: q.ok }.notice();
    render_page(&app, actor, &menu, notice, None, form, None).await
}

/// `POST /admin/org`: adds a unit (`POST /api/v1/admin/units/{code}`, a
/// code in use refused) or, from "修改", changes one (as `PUT`).
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
    let saved = if form.editing == "1" {
        app.org().update_unit(&form.code, input).await
    } else {
        app.org().create_unit(&form.code, input).await
    };
    match saved {
        Ok(_) => Ok(done("/admin/org", "unit")),
        Err(e) => render_page(&app, actor, &menu, None, Some(Refusal::Form(shown(e)?)), form, None).await,
    }
}

/// A refusal with its status and message: of the unit form, or of an action on the tree.
enum Refusal {
    Form((StatusCode, String)),
    Page((StatusCode, String)),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::Form((status, _)) | Self::Page((status, _)) => *status,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActiveForm {
    /// `1` to reactivate, anything else deactivates.
    active: String,
    /// `1` once the administrator confirmed a deactivation.
    confirm: String,
}

/// `POST /admin/org/{code}/active`: deactivates (撤销) or reactivates a unit,
/// as `POST /api/v1/admin/units/{code}/active`. A deactivation without
/// `confirm=1` changes nothing: the page asks to confirm (or says at once
/// why it would be refused).
pub async fn active<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult {
    let actor = &caller.actor;
    let on = form.active == "1";
    let empty =
        || UnitForm { kind: UnitKind::Department.as_str().into(), parent: "city".into(), ..UnitForm::default() };
    if !on && form.confirm != "1" {
        return match to_confirm(&app, &code).await {
            Ok(confirm) => render_page(&app, actor, &menu, None, None, empty(), Some(confirm)).await,
            Err(e) => render_page(&app, actor, &menu, None, Some(Refusal::Page(shown(e)?)), empty(), None).await,
        };
    }
    match app.org().set_unit_active(&code, on).await {
        Ok(_) => Ok(done("/admin/org", if on { "unit-on" } else { "unit-off" })),
        Err(e) => render_page(&app, actor, &menu, None, Some(Refusal::Page(shown(e)?)), empty(), None).await,
    }
}

/// What deactivating `code` would do, or why it would be refused (as the store would refuse it).
async fn to_confirm<S: Store>(app: &App<S>, code: &str) -> Result<Confirm, mashangban_app::AppError> {
    let org = app.caches().org();
    let unit = org
        .units()
        .find(|u| u.code == code)
        .ok_or_else(|| mashangban_app::AppError::not_found("unit_not_found", format!("单位「{code}」不存在")))?;
    let has_active_children = org.units().any(|u| u.parent_id == Some(unit.id) && u.active);
    unit.check_activation(false, has_active_children, true)?;
    let users = app.accounts().users().await?.iter().filter(|u| !u.disabled && u.unit.as_deref() == Some(code)).count();
    Ok(Confirm { code: unit.code.clone(), name: unit.name.clone(), users })
}
