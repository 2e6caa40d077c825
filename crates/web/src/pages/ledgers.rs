//! 台账 (`/ledgers`): the ledger types with the person's role in each; a
//! ledger's items (`/ledgers/{type}`) with the API's filters, paging and the
//! town × stage rollup; an item (`/ledgers/{type}/items/{key}`) with its
//! fields, the stage moves the person may make, its history and linked
//! requests; and the import page (upload → preview of every problem →
//! confirm). All from `app.ledgers()`, as `/api/v1/ledgers` answers.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::ledgers::{ImportReport, ItemDetail, ItemList, ListQuery, MoveBody, Rollup, TypeSummary, TypeView};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time, shown};
use crate::api::percent_encode;
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

/// An upload the preview page carries to its confirm form (hex in a hidden field) at most; a
/// larger file is chosen again to confirm.
pub(super) const CARRIED_MAX: usize = 2 * 1024 * 1024;
const IMPORT_LIMIT: usize = crate::api::ledgers::IMPORT_LIMIT;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, edit) = (Permission::ReadLedgers, Permission::EditLedgers);
    vec![
        Route::get("/ledgers", types::<S>).permission(read).nav(MenuKind::Main, 47, "台账"),
        Route::get("/ledgers/{type}", list::<S>).permission(read),
        Route::get("/ledgers/{type}/items/{key}", item::<S>).permission(read),
        Route::post("/ledgers/{type}/items/{key}/move", move_stage::<S>).permission(read).form(),
        Route::get("/ledgers/{type}/import", import_page::<S>).permission(edit),
        Route::post("/ledgers/{type}/import", import::<S>)
            .permission(edit)
            .multipart()
            .body_limit(IMPORT_LIMIT * 2 + 64 * 1024),
    ]
}

#[derive(Template)]
#[template(path = "ledgers.html")]
struct TypesPage {
    layout: Layout,
    types: Vec<TypeSummary>,
}

impl TypesPage {
    fn roles(&self, t: &TypeSummary) -> String {
        role_labels(&t.my_roles)
    }
}

fn role_labels(roles: &[String]) -> String {
    if roles.is_empty() {
        return "只读".into();
    }
    roles.iter().map(|r| mashangban_domain::ledger::roles::label(r)).collect::<Vec<_>>().join("、")
}

/// A choice filter of the list form.
struct ChoiceFilter {
    code: String,
    label: String,
    choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "ledger_items.html")]
struct ListPage {
    layout: Layout,
    ty: TypeView,
    list: ItemList,
    rollup: Rollup,
    stages: Vec<Choice>,
    towns: Vec<Choice>,
    choice_filters: Vec<ChoiceFilter>,
    q: String,
    export_url: String,
    prev_url: Option<String>,
    next_url: Option<String>,
    may_import: bool,
    /// Fields shown as columns besides key, name, town and stage.
    columns: Vec<(String, String)>,
    /// On the creek ledger: each listed creek's current water class (newest sample), by key.
    classes: Option<std::collections::BTreeMap<String, String>>,
}

impl ListPage {
    fn water_class(&self, key: &str) -> String {
        self.classes.as_ref().and_then(|c| c.get(key)).cloned().unwrap_or_else(|| "—".into())
    }

    fn cell(&self, item: &mashangban_app::ledgers::ItemView, field: &str) -> String {
        item.cells.iter().find(|c| c.field == field).map(|c| c.text.clone()).unwrap_or_default()
    }
}

async fn types<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let types = app.ledgers().types(&caller).await?;
    Ok(render(StatusCode::OK, &TypesPage { layout: Layout::staff("台账", &caller.actor, &menu), types }))
}

/// `GET /ledgers/{type}[?stage=&town=&q=&{choice}=&offset=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let ledgers = app.ledgers();
    let ty = ledgers.get_type(&caller, &code).await?;
    let list = ledgers.list(&caller, &code, &query).await?;
    let mut rollup_query = query.clone();
    rollup_query.remove("offset");
    rollup_query.remove("limit");
    let rollup = ledgers.rollup(&caller, &code, &rollup_query).await?;
    let given = |name: &str| query.get(name).map(|s| s.trim().to_owned()).unwrap_or_default();
    let stages = ty.stages.iter().map(|s| Choice::new(&s.code, &s.name, given("stage") == s.code)).collect();
    let org = app.caches().org();
    let mut towns: Vec<Choice> = org
        .units()
        .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town && u.active)
        .map(|u| Choice::new(&u.code, &u.name, given("town") == u.code))
        .collect();
    towns.sort_by(|a, b| a.value.cmp(&b.value));
    let choice_filters = ty
        .fields
        .iter()
        .filter(|f| !f.choices.is_empty())
        .map(|f| ChoiceFilter {
            code: f.code.clone(),
            label: f.label.clone(),
            choices: f.choices.iter().map(|c| Choice::new(&c.code, &c.name, given(&f.code) == c.code)).collect(),
        })
        .collect();
    let params = |offset: Option<u32>| {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(k, v)| k.as_str() != "offset" && !v.trim().is_empty())
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v.trim())))
            .collect();
        if let Some(o) = offset {
            pairs.push(format!("offset={o}"));
        }
        pairs.join("&")
    };
    let next = list.offset + list.limit;
    let next_url = (u64::from(next) < list.total).then(|| format!("/ledgers/{code}?{}", params(Some(next))));
    let prev_url =
        (list.offset > 0).then(|| format!("/ledgers/{code}?{}", params(Some(list.offset.saturating_sub(list.limit)))));
    let columns = ty
        .fields
        .iter()
        .filter(|f| {
            f.code != ty.key_field && f.code != "name" && f.kind != "town" && f.kind != "point" && f.kind != "file"
        })
        .take(4)
        .map(|f| (f.code.clone(), f.label.clone()))
        .collect();
    let classes = if code == mashangban_domain::creek::CREEK_TYPE {
        Some(
            app.creeks()
                .latest_classes_by_key(&caller, &list.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>())
                .await?,
        )
    } else {
        None
    };
    let page = ListPage {
        classes,
        layout: Layout::staff(ty.summary.name.clone(), &caller.actor, &menu),
        export_url: format!("/api/v1/ledgers/{code}/export?{}", params(None)),
        may_import: caller.may(Permission::EditLedgers) && !ty.summary.my_roles.iter().all(|r| r == "leader"),
        q: given("q"),
        ty,
        list,
        rollup,
        stages,
        towns,
        choice_filters,
        prev_url,
        next_url,
        columns,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ledger_item.html")]
struct ItemPage {
    layout: Layout,
    ty: TypeView,
    detail: ItemDetail,
    message: Option<String>,
    /// Water quality and plan, on a creek's page.
    creek: Option<super::creeks::CreekSection>,
}

impl ItemPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, key)): Path<(String, String)>,
) -> PageResult {
    item_page(&app, &caller, &menu, &code, &key, StatusCode::OK, None).await
}

pub(super) async fn item_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    code: &str,
    key: &str,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let ty = app.ledgers().get_type(caller, code).await?;
    let detail = app.ledgers().get(caller, code, key).await?;
    let title = format!("{} {}", ty.summary.name, detail.item.key);
    let creek = if code == mashangban_domain::creek::CREEK_TYPE {
        Some(super::creeks::section(app, caller, key).await?)
    } else {
        None
    };
    let page = ItemPage { layout: Layout::staff(title, &caller.actor, menu), ty, detail, message, creek };
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MoveForm {
    version: String,
    to: String,
    note: String,
}

/// `POST /ledgers/{type}/items/{key}/move`: as the API; back to the item.
async fn move_stage<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, key)): Path<(String, String)>,
    Form(form): Form<MoveForm>,
) -> PageResult {
    let body = MoveBody {
        version: form.version.trim().parse().unwrap_or(-1),
        to: form.to,
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    match app.ledgers().move_stage(&caller, &code, &key, body).await {
        Ok(item) => {
            Ok(Redirect::to(&format!("/ledgers/{code}/items/{}#history", percent_encode(&item.key))).into_response())
        }
        Err(e) if e.code == mashangban_domain::ledger::codes::STAGE_ROLE_FORBIDDEN => {
            item_page(&app, &caller, &menu, &code, &key, StatusCode::FORBIDDEN, Some(e.message)).await
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            item_page(&app, &caller, &menu, &code, &key, status, Some(message)).await
        }
    }
}

#[derive(Template)]
#[template(path = "ledger_import.html")]
struct ImportPage {
    layout: Layout,
    ty: TypeView,
    report: Option<ImportReport>,
    message: Option<String>,
    /// The previewed file, hex-encoded, for the confirm form (small files only).
    carried: Option<String>,
}

async fn import_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    let ty = app.ledgers().get_type(&caller, &code).await?;
    let page = ImportPage {
        layout: Layout::staff(format!("导入{}", ty.summary.name), &caller.actor, &menu),
        ty,
        report: None,
        message: None,
        carried: None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The upload's bytes (field `file`, or `data` carried hex-encoded from the preview) and whether to apply.
pub(super) async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
) -> Result<(Vec<u8>, bool), AppError> {
    let malformed = || AppError::bad_request("no_file", "请选择要导入的文件");
    let mut multipart = multipart.map_err(|_| malformed())?;
    let (mut bytes, mut apply) = (None, false);
    while let Some(field) = multipart.next_field().await.map_err(|_| malformed())? {
        match field.name() {
            Some("file") => {
                let data = field.bytes().await.map_err(|_| AppError::too_large("导入文件过大"))?;
                if !data.is_empty() {
                    bytes = Some(data.to_vec());
                }
            }
            Some("data") => {
                let text = field.text().await.map_err(|_| malformed())?;
                if !text.is_empty() && bytes.is_none() {
                    bytes = Some(hex::decode(text.trim()).map_err(|_| malformed())?);
                }
            }
            Some("apply") => apply = field.text().await.map_err(|_| malformed())? == "1",
            _ => {}
        }
    }
    let bytes = bytes.ok_or_else(malformed)?;
    if bytes.len() > limit {
        return Err(AppError::too_large(format!("导入文件不能超过 {} MB", limit / 1024 / 1024)));
    }
    Ok((bytes, apply))
}

/// `POST /ledgers/{type}/import`: preview (every problem listed), or with `apply=1` the import itself.
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let ty = app.ledgers().get_type(&caller, &code).await?;
    let layout = Layout::staff(format!("导入{}", ty.summary.name), &caller.actor, &menu);
    let read = read_form(multipart, IMPORT_LIMIT).await;
    let outcome = match read {
        Ok((bytes, apply)) => {
            let result = app.ledgers().import(&caller, &code, &bytes, apply).await;
            (result, Some(bytes))
        }
        Err(e) => (Err(e), None),
    };
    match outcome {
        (Ok(report), bytes) => {
            let carried = match (&bytes, report.applied, report.problem_count) {
                (Some(b), false, 0) if b.len() <= CARRIED_MAX => Some(hex::encode(b)),
                _ => None,
            };
            let page = ImportPage { layout, ty, report: Some(report), message: None, carried };
            Ok(render(StatusCode::OK, &page))
        }
        (Err(e), _) => {
            let (status, message) = shown(e)?;
            let page = ImportPage { layout, ty, report: None, message: Some(message), carried: None };
            Ok(render(status, &page))
        }
    }
}
