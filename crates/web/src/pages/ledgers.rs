//! 台账 (`/ledgers`): the ledger types with the person's role in each; a
//! ledger's items (`/ledgers/{type}`) with the API's filters, paging and the
//! town × stage rollup; an item (`/ledgers/{type}/items/{key}`) with its
//! fields, the stage moves the person may make, its history and linked
//! requests; and the import page (upload → preview of every problem →
//! confirm). All from `app.ledgers()`, as `/api/v1/ledgers` answers.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{FromRequest, Multipart, Request, State};

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::json::is_refused_control;
use mashangban_app::ledgers::{
    BulkItem, BulkMoveBody, BulkOutcome, BulkRefusal, FieldFile, ImportReport, ItemDetail, ItemList, ItemUpdate,
    ListQuery, MoveBody, Rollup, TypeSummary, TypeView,
};
use mashangban_app::saved_views::{RenameViewInput, SavedViewInput, SavedViewView};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::saved_view::ViewList;
use mashangban_store::Store;

use super::{Choice, Layout, PageError, PageResult, conflict, render, short_time, shown};
use crate::api::documents::read_document_form;
use crate::api::percent_encode;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::{Menu, MenuKind, Route};
use crate::upload::{PartKind, Parts, malformed_multipart, read_parts};

/// An upload the preview page carries to its confirm form (hex in a hidden field) at most; a
/// larger file is chosen again to confirm.
pub(super) const CARRIED_MAX: usize = 2 * 1024 * 1024;
const IMPORT_LIMIT: usize = crate::api::ledgers::IMPORT_LIMIT;
/// File fields whose files one edit form carries at the largest a document may be.
const EDIT_FILES: usize = 3;
/// The largest edit form: its values and [`EDIT_FILES`] files of the largest size.
const EDIT_LIMIT: usize = EDIT_FILES * mashangban_domain::document::MAX_BYTES + crate::extract::FORM_LIMIT;
/// The refusal of an edit form over [`EDIT_LIMIT`] or with a file over a document's size.
const EDIT_TOO_LARGE: &str = "所选文件过大：每个文件不超过 10 MB，一次保存的文件合计不超过 30 MB";

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, edit) = (Permission::ReadLedgers, Permission::EditLedgers);
    vec![
        Route::get("/ledgers", types::<S>).permission(read).nav(MenuKind::Main, 47, "台账"),
        Route::get("/ledgers/{type}", list::<S>).permission(read),
        Route::post("/ledgers/{type}/bulk-move", bulk_move::<S>).permission(read).form(),
        Route::get("/ledgers/{type}/map", map_page::<S>).permission(read),
        Route::post("/ledgers/{type}/views", save_view::<S>).permission(Permission::SaveViews).form(),
        Route::post("/ledgers/{type}/views/{id}/rename", rename_view::<S>).permission(Permission::SaveViews).form(),
        Route::post("/ledgers/{type}/views/{id}/delete", delete_view::<S>).permission(Permission::SaveViews).form(),
        Route::get("/ledgers/{type}/items/{key}", item::<S>).permission(read),
        Route::post("/ledgers/{type}/items/{key}/move", move_stage::<S>).permission(read).form(),
        Route::post("/ledgers/{type}/items/{key}/edit", edit_item::<S>)
            .permission(edit)
            .multipart()
            .body_limit(EDIT_LIMIT),
        Route::post("/ledgers/{type}/items/{key}/documents", upload_file::<S>)
            .permission(edit)
            .multipart()
            .body_limit(crate::api::documents::UPLOAD_LIMIT),
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
    /// Whether the person holds a ledger role key (may make some moves): the bulk controls.
    may_move: bool,
    /// The list's filters (no paging), carried by the bulk form as `f.{name}` fields.
    current: Vec<(String, String)>,
    /// What the last bulk move did, or why it was refused.
    notice: Option<String>,
    error: Option<String>,
    refused: Vec<BulkRefusal>,
    /// One's saved views of this ledger's list, and whether one may save views.
    may_save_view: bool,
    views: Vec<SavedViewView>,
    view_error: Option<String>,
    view_name: String,
    /// The map of the same filters, for a type with a point field.
    map_url: Option<String>,
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

/// The filter controls of a ledger's list and map, as the query chose them.
struct Controls {
    stages: Vec<Choice>,
    towns: Vec<Choice>,
    choice_filters: Vec<ChoiceFilter>,
    q: String,
}

fn controls<S: Store>(app: &App<S>, ty: &TypeView, query: &ListQuery) -> Controls {
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
    Controls { stages, towns, choice_filters, q: given("q") }
}

/// What a bulk move left to show on the list page.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    refused: Vec<BulkRefusal>,
    view_error: Option<String>,
    view_name: String,
}

/// `GET /ledgers/{type}[?stage=&town=&q=&{choice}=&offset=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    list_page(&app, &caller, &menu, &code, query, StatusCode::OK, Outcome::default()).await
}

async fn list_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    code: &str,
    query: ListQuery,
    status: StatusCode,
    outcome: Outcome,
) -> PageResult {
    let ledgers = app.ledgers();
    let ty = ledgers.get_type(caller, code).await?;
    let list = ledgers.list(caller, code, &query).await?;
    let mut rollup_query = query.clone();
    rollup_query.remove("offset");
    rollup_query.remove("limit");
    let rollup = ledgers.rollup(caller, code, &rollup_query).await?;
    let may_save_view = caller.may(Permission::SaveViews) && caller.actor.user_id().is_some();
    let views = if may_save_view {
        app.saved_views().list(caller, &ViewList::Ledger(code.to_owned()).key()).await?.items
    } else {
        Vec::new()
    };
    let current: Vec<(String, String)> = rollup_query
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    let Controls { stages, towns, choice_filters, q } = controls(app, &ty, &query);
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
                .latest_classes_by_key(caller, &list.items.iter().map(|i| i.key.clone()).collect::<Vec<_>>())
                .await?,
        )
    } else {
        None
    };
    let page = ListPage {
        layout: Layout::staff(ty.summary.name.clone(), &caller.actor, menu),
        may_move: !ty.summary.my_roles.is_empty(),
        current,
        notice: outcome.notice,
        error: outcome.error,
        refused: outcome.refused,
        may_save_view,
        views,
        view_error: outcome.view_error,
        view_name: outcome.view_name,
        map_url: ty.fields.iter().any(|f| f.kind == "point").then(|| format!("/ledgers/{code}/map?{}", params(None))),
        classes,
        export_url: format!("/api/v1/ledgers/{code}/export?{}", params(None)),
        may_import: caller.may(Permission::EditLedgers) && !ty.summary.my_roles.iter().all(|r| r == "leader"),
        q,
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
    Ok(render(status, &page))
}

/// `POST /ledgers/{type}/bulk-move` (`to`, `note`, `scope` = `chosen` with `item` =
/// `key:version` fields, or `all` with the list's filters as `f.{name}` fields and `read_at`):
/// as the API; the list page again with what was done or every refused item.
async fn bulk_move<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let filters: ListQuery =
        form.iter().filter_map(|(k, v)| k.strip_prefix("f.").map(|k| (k.to_owned(), v.clone()))).collect();
    let all = field("scope") == "all";
    let mut items = Vec::new();
    let mut malformed = false;
    if !all {
        for (_, v) in form.iter().filter(|(k, _)| k == "item").take(mashangban_app::ledgers::BULK_MAX + 1) {
            match v.rsplit_once(':').and_then(|(key, version)| Some((key, version.trim().parse().ok()?))) {
                Some((key, version)) => items.push(BulkItem { key: key.to_owned(), version }),
                None => malformed = true,
            }
        }
    }
    let body = BulkMoveBody {
        to: field("to"),
        note: Some(field("note")).filter(|n| !n.is_empty()),
        items,
        filters: all.then(|| filters.clone()),
        read_at: all.then(|| field("read_at")),
    };
    let result = if malformed {
        Err(AppError::bad_request("invalid_parameter", "所选条目无法读取，请刷新后重试"))
    } else {
        app.ledgers().bulk_move(&caller, &code, body).await
    };
    let (status, outcome) = match result {
        Ok(BulkOutcome::Moved(m)) => (
            StatusCode::OK,
            Outcome { notice: Some(format!("已将{}条转入「{}」。", m.moved, m.to_name)), ..Outcome::default() },
        ),
        Ok(BulkOutcome::Refused(r)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Outcome { error: Some(r.message), refused: r.refused, ..Outcome::default() },
        ),
        Err(e) => {
            let (status, message) = shown(e)?;
            (status, Outcome { error: Some(message), ..Outcome::default() })
        }
    };
    // The list again with the filters it was read with (a bad filter shows the list unfiltered).
    let query = if app.ledgers().list(&caller, &code, &filters).await.is_ok() { filters } else { ListQuery::new() };
    list_page(&app, &caller, &menu, &code, query, status, outcome).await
}

/// `POST /ledgers/{type}/views` (`name` and the list's filters as fields): saves them as one's
/// view of this ledger's list and opens it; a refusal shows the list again with the message.
async fn save_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let name = form.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let filters: ListQuery = form.into_iter().filter(|(k, _)| k != "name").collect();
    let list = ViewList::Ledger(code.clone()).key();
    let input = SavedViewInput { name: name.clone(), list: Some(list), filters: filters.clone() };
    match app.saved_views().create(&caller, input).await {
        Ok(view) => Ok(Redirect::to(&view.link).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let query =
                if app.ledgers().list_filters(&code, &filters).await.is_ok() { filters } else { ListQuery::new() };
            let outcome = Outcome { view_error: Some(message), view_name: name, ..Outcome::default() };
            list_page(&app, &caller, &menu, &code, query, status, outcome).await
        }
    }
}

#[derive(Deserialize)]
struct RenameForm {
    name: String,
}

/// `POST /ledgers/{type}/views/{id}/rename`: renames one of one's views, back to the list.
async fn rename_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<RenameForm>,
) -> PageResult {
    match app.saved_views().rename(&caller, &id, RenameViewInput { name: form.name.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("/ledgers/{code}#views")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let outcome = Outcome { view_error: Some(message), view_name: form.name, ..Outcome::default() };
            list_page(&app, &caller, &menu, &code, ListQuery::new(), status, outcome).await
        }
    }
}

/// `POST /ledgers/{type}/views/{id}/delete`: deletes one of one's views, back to the list.
async fn delete_view<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, id)): Path<(String, String)>,
) -> PageResult {
    match app.saved_views().delete(&caller, &id).await {
        Ok(()) => Ok(Redirect::to(&format!("/ledgers/{code}#views")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let outcome = Outcome { view_error: Some(message), ..Outcome::default() };
            list_page(&app, &caller, &menu, &code, ListQuery::new(), status, outcome).await
        }
    }
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
    /// The fields the person may change here (none without the right to edit).
    edit_fields: Vec<EditField>,
    /// The item's version the edit form carries: the one its values were read or typed on.
    edit_version: i64,
    /// After a version conflict, what was typed in the fields it differs in.
    beside: conflict::Beside,
    /// An upload's refusal, shown beside the file forms.
    files_message: Option<String>,
    /// The item's documents (附件) and the general upload form.
    documents: super::documents::Panel,
}

/// A field of the item's edit form (修改字段), with its value in input form.
struct EditField {
    code: String,
    /// The label, with the unit of a decimal.
    label: String,
    required: bool,
    help: Option<String>,
    /// `text`, `date` or `select` (a choice field's code list, or the towns).
    input: &'static str,
    value: String,
    choices: Vec<Choice>,
    /// How its typed and stored values compare after a version conflict.
    compared: conflict::Kind,
}

impl EditField {
    /// The field's input set to `value` (a choice field's option selected).
    fn set(&mut self, value: &str) {
        value.clone_into(&mut self.value);
        for c in &mut self.choices {
            c.selected = c.value == value;
        }
    }

    /// `value` as a person reads it: a choice's name for its code, 「（空）」 for nothing.
    fn shown(&self, value: &str) -> String {
        let value = value.trim();
        if value.is_empty() {
            return "（空）".to_owned();
        }
        self.choices.iter().find(|c| c.value == value).map_or_else(|| value.to_owned(), |c| c.label.clone())
    }
}

/// The item's fields a person edits on its page: all but the key (immutable), computed fields
/// and files (uploaded through the API), each with the item's value in input form; town fields
/// choose among `towns` (code, name).
fn edit_fields(ty: &TypeView, detail: &ItemDetail, towns: &[(String, String)]) -> Vec<EditField> {
    if !detail.may_edit {
        return Vec::new();
    }
    let value_of = |code: &str| match detail.item.values.get(code) {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(point)) => format!("{},{}", point["lat"], point["lon"]),
        Some(other) => other.to_string(),
    };
    ty.fields
        .iter()
        .filter(|f| f.code != ty.key_field && !matches!(f.kind.as_str(), "computed" | "file"))
        .map(|f| {
            let value = value_of(&f.code);
            let options: Vec<(&str, &str)> = match f.kind.as_str() {
                "town" => towns.iter().map(|(code, name)| (code.as_str(), name.as_str())).collect(),
                _ => f.choices.iter().map(|c| (c.code.as_str(), c.name.as_str())).collect(),
            };
            let choices = options.into_iter().map(|(code, name)| Choice::new(code, name, code == value)).collect();
            EditField {
                code: f.code.clone(),
                label: f.unit.as_ref().map_or_else(|| f.label.clone(), |u| format!("{}（{u}）", f.label)),
                required: f.required,
                help: f.help.clone(),
                input: match f.kind.as_str() {
                    "date" => "date",
                    "choice" | "town" => "select",
                    _ => "text",
                },
                value,
                choices,
                compared: match f.kind.as_str() {
                    "decimal" | "integer" => conflict::Kind::Decimal,
                    "date" => conflict::Kind::Date,
                    _ => conflict::Kind::Text,
                },
            }
        })
        .collect()
}

impl ItemPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The edit form after a refusal other than a conflict: the values as typed (`field code` →
    /// text) at the version they were typed on, so that resubmitting them after someone else's
    /// save meets that save (409) instead of overwriting it.
    fn keep_typed(&mut self, typed: &TypedValues, version: i64) {
        self.edit_version = version;
        for f in &mut self.edit_fields {
            if let Some(serde_json::Value::String(value)) = typed.get(&f.code) {
                f.set(value);
            }
        }
    }

    /// The edit form after a version conflict: the stored values at the current version (the other
    /// person's change is what the form holds), with what was typed beside each field it differs in.
    fn show_typed_beside(&mut self, typed: &TypedValues) {
        for f in &self.edit_fields {
            if let Some(serde_json::Value::String(value)) = typed.get(&f.code) {
                self.beside.compare_shown(&f.code, f.compared, &f.value, value, &f.shown(value));
            }
        }
    }
}

/// The edit form's values as typed: field code → text.
type TypedValues = std::collections::BTreeMap<String, serde_json::Value>;

/// The code of the refusal of a save on a version of the item that is no longer current.
const ITEM_CHANGED: &str = "ledger_item_changed";

async fn item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, key)): Path<(String, String)>,
) -> PageResult {
    item_page(&app, &caller, &menu, &code, &key, StatusCode::OK, None).await
}

/// `POST /ledgers/{type}/items/{key}/documents` (multipart `file`, `field`, `purpose`): the API's
/// upload; back to the item's files, or the page with the refusal beside the forms.
async fn upload_file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, key)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let saved: Result<_, ApiError> = async {
        let (files, texts) = read_document_form(multipart, &["purpose", "field"]).await?;
        let (purpose, field) = (texts.get("purpose").map(String::as_str), texts.get("field").map(String::as_str));
        let anchor = if field.is_some_and(|f| !f.trim().is_empty()) { "files" } else { "documents" };
        app.ledgers().add_files(&caller, &code, &key, field, purpose, files).await?;
        Ok(anchor)
    }
    .await;
    match saved {
        Ok(anchor) => {
            Ok(Redirect::to(&format!("/ledgers/{code}/items/{}#{anchor}", percent_encode(key.trim()))).into_response())
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let mut page = item_view(&app, &caller, &menu, &code, &key, None).await?;
            page.files_message = Some(message);
            Ok(render(status, &page))
        }
    }
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
    let page = item_view(app, caller, menu, code, key, message).await?;
    Ok(render(status, &page))
}

async fn item_view<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    code: &str,
    key: &str,
    message: Option<String>,
) -> PageResult<ItemPage> {
    let ty = app.ledgers().get_type(caller, code).await?;
    let detail = app.ledgers().get(caller, code, key).await?;
    let title = format!("{} {}", ty.summary.name, detail.item.key);
    let creek = if code == mashangban_domain::creek::CREEK_TYPE {
        Some(super::creeks::section(app, caller, key).await?)
    } else {
        None
    };
    let mut towns: Vec<(String, String)> = app
        .caches()
        .org()
        .units()
        .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town && u.active)
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    towns.sort();
    let edit_fields = edit_fields(&ty, &detail, &towns);
    let edit_version = detail.item.version;
    let documents = super::documents::Panel {
        documents: detail.documents.clone(),
        add: detail.may_edit,
        action: format!("/ledgers/{code}/items/{}/documents", percent_encode(&detail.item.key)),
        purposes: Vec::new(),
        max: mashangban_domain::document::MAX_PER_OWNER,
    };
    Ok(ItemPage {
        layout: Layout::staff(title, &caller.actor, menu),
        ty,
        detail,
        message,
        creek,
        edit_fields,
        edit_version,
        beside: conflict::Beside::default(),
        files_message: None,
        documents,
    })
}

/// `POST /ledgers/{type}/items/{key}/edit`: the edit form's `version`, `f.{field}` values and
/// `file.{field}` files (multipart), or the values alone urlencoded (API clients, older forms),
/// saved together as [`mashangban_app::ledgers::Ledgers::update_with_files`] (a blank value
/// clears); back to the item's history, or the form again with the refusal: after a version
/// conflict the stored values with the typed ones beside them, otherwise the typed values at the
/// version they were typed on.
async fn edit_item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((code, key)): Path<(String, String)>,
    request: Request,
) -> PageResult {
    let (form, read) = read_edit_form(request).await?;
    let mut version = -1;
    let mut values = TypedValues::new();
    for (name, value) in &form.fields {
        match name.strip_prefix("f.") {
            Some(field) => {
                values.insert(field.to_owned(), serde_json::Value::String(value.clone()));
            }
            None if name == "version" => version = value.trim().parse().unwrap_or(-1),
            None => {}
        }
    }
    // A body refused as it was read (a file too large) had its files cut off.
    let chose_files = !form.files.is_empty() || read.is_err();
    let refused: ApiError = match read {
        Err(e) => e,
        Ok(()) => {
            let update = ItemUpdate { version, values: values.clone() };
            match app.ledgers().update_with_files(&caller, &code, &key, update, form.files).await {
                Ok(item) => {
                    let to = format!("/ledgers/{code}/items/{}#history", percent_encode(&item.key));
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(e) => e.into(),
            }
        }
    };
    let conflict = refused.code == ITEM_CHANGED;
    let (status, mut message) = shown(refused)?;
    let mut page = item_view(&app, &caller, &menu, &code, &key, None).await?;
    if conflict {
        message = conflict::changed_meanwhile("该条目", page.detail.item.version);
        page.show_typed_beside(&values);
    } else {
        page.keep_typed(&values, version);
    }
    if chose_files {
        message = format!("{}。所选文件未保存，请重新选择。", message.trim_end_matches('。'));
    }
    page.message = Some(message);
    Ok(render(status, &page))
}

/// The edit form as sent: its text fields in order and the files chosen for file fields.
#[derive(Default)]
struct EditForm {
    fields: Vec<(String, String)>,
    files: Vec<FieldFile>,
}

/// Reads the edit form: urlencoded (bounded as every page form; a body that is not a form is an
/// error page), or multipart with each file bounded as a document and the whole by the route's
/// limit. A multipart body refused partway answers the fields read before the refusal with it.
async fn read_edit_form(request: Request) -> PageResult<(EditForm, Result<(), ApiError>)> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let (head, body) = request.into_parts();
        // Bounded by the form limit rather than the route's (which makes room for files).
        let bytes = crate::extract::read_form_body(body, crate::extract::FORM_LIMIT).await?;
        let request = Request::from_parts(head, axum::body::Body::from(bytes));
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, &()).await?;
        return Ok((EditForm { fields, files: Vec::new() }, Ok(())));
    }
    let mut parts = Parts::default();
    let read = match Multipart::from_request(request, &()).await {
        Err(_) => Err(malformed_multipart()),
        Ok(multipart) => read_parts(multipart, EDIT_TOO_LARGE, &mut parts, edit_part)
            .await
            .map_err(|e| if e.status == StatusCode::PAYLOAD_TOO_LARGE { e.with_code("document_too_large") } else { e }),
    };
    if parts.texts.iter().any(|(name, value)| name.chars().chain(value.chars()).any(is_refused_control)) {
        return Err(PageError::Status(
            StatusCode::BAD_REQUEST,
            "输入中含有不允许的控制字符（如 NUL），请删除后重新提交".into(),
        ));
    }
    let files = parts
        .files
        .into_iter()
        .filter_map(|(name, file)| {
            let field = name.strip_prefix("file.")?;
            // A file input left empty sends an empty part without a file name.
            let unchosen = file.bytes.is_empty() && file.name.as_deref().is_none_or(str::is_empty);
            (!unchosen).then(|| FieldFile { field: field.to_owned(), file })
        })
        .collect();
    Ok((EditForm { fields: parts.texts, files }, read))
}

/// How the edit form's parts are read: values as texts, `file.{field}` as documents, the rest skipped.
fn edit_part(name: &str) -> PartKind {
    if name == "version" || name.starts_with("f.") {
        PartKind::Text { max_chars: crate::extract::FORM_LIMIT }
    } else if name.starts_with("file.") {
        PartKind::File { max_bytes: mashangban_domain::document::MAX_BYTES }
    } else {
        PartKind::Skip
    }
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

/// The stages' colours on the map, by the stage's position (repeated past eight).
const STAGE_COLOURS: [&str; 8] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const MAP_WIDTH: f64 = 960.0;
const MAP_HEIGHT: f64 = 640.0;
const MAP_MARGIN: f64 = 24.0;
/// From this many points on, the map draws each stage's points as one path of round dots, without a
/// link and a title each: 40,500 linked circles are about 10 MB of HTML and hide one another. The town
/// labels then link to the town's own map.
const DENSE_FROM: usize = 2_000;

/// A point drawn on the map.
struct Dot {
    x: String,
    y: String,
    colour: &'static str,
    href: String,
    title: String,
}

/// A town's label at the centre of its points; on a dense map, a link to the town's own map.
struct TownLabel {
    x: String,
    y: String,
    name: String,
    href: Option<String>,
}

/// A stage's points on a dense map: one path of zero-length segments that round caps draw as dots.
struct DotLayer {
    colour: &'static str,
    path: String,
}

/// A stage in the legend.
struct LegendEntry {
    colour: &'static str,
    name: String,
    count: usize,
}

#[derive(Template)]
#[template(path = "ledger_map.html")]
struct MapPage {
    layout: Layout,
    ty: TypeView,
    map: mashangban_app::ledgers::map::MapPoints,
    dots: Vec<Dot>,
    layers: Vec<DotLayer>,
    dense_from: usize,
    labels: Vec<TownLabel>,
    legend: Vec<LegendEntry>,
    width: f64,
    height: f64,
    stages: Vec<Choice>,
    towns: Vec<Choice>,
    choice_filters: Vec<ChoiceFilter>,
    q: String,
    list_url: String,
    json_url: String,
}

/// The filters of `query` as a query string without paging, with `town` in place of the query's own
/// when given.
fn map_params(query: &ListQuery, town: Option<&str>) -> String {
    let kept = query
        .iter()
        .filter(|(k, v)| !["offset", "limit"].contains(&k.as_str()) && !v.trim().is_empty())
        .filter(|(k, _)| town.is_none() || k.as_str() != "town")
        .map(|(k, v)| (k.as_str(), v.trim()));
    let params: Vec<String> = kept
        .chain(town.map(|t| ("town", t)))
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    params.join("&")
}

/// `GET /ledgers/{type}/map[?filters]`: the items' points as server-rendered SVG on plain lon/lat
/// (equirectangular, fitted to the points' extent), coloured by stage with a legend, each town's
/// name at the centre of its points, each point a link to its item; no script needed.
async fn map_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    use mashangban_app::ledgers::map::{Projection, town_centres};
    let ty = app.ledgers().get_type(&caller, &code).await?;
    let map = app.ledgers().map(&caller, &code, &query).await?;
    let Controls { stages, towns, choice_filters, q } = controls(&app, &ty, &query);
    let colour = |stage: &str| {
        let i = map.stages.iter().position(|s| s.code == stage).unwrap_or(STAGE_COLOURS.len() - 1);
        STAGE_COLOURS[i % STAGE_COLOURS.len()]
    };
    let projection = Projection::fit(map.points.iter().map(|p| (p.lon, p.lat)), MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN);
    let dense = map.points.len() >= DENSE_FROM;
    let (mut dots, mut layers, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(proj) = projection {
        if dense {
            layers = map
                .stages
                .iter()
                .map(|s| DotLayer { colour: colour(&s.code), path: String::new() })
                .collect::<Vec<_>>();
            for p in &map.points {
                let (x, y) = proj.project(p.lon, p.lat);
                let i = map.stages.iter().position(|s| s.code == p.stage).unwrap_or(0);
                if let Some(layer) = layers.get_mut(i) {
                    let _ = write!(layer.path, "M{x:.1} {y:.1}h0");
                }
            }
            layers.retain(|l| !l.path.is_empty());
        } else {
            for p in &map.points {
                let (x, y) = proj.project(p.lon, p.lat);
                dots.push(Dot {
                    x: format!("{x:.1}"),
                    y: format!("{y:.1}"),
                    colour: colour(&p.stage),
                    href: format!("/ledgers/{code}/items/{}", percent_encode(&p.key)),
                    title: format!("{} {}（{}）", p.key, p.name.as_deref().unwrap_or_default(), p.stage_name),
                });
            }
        }
        for centre in town_centres(&map.points) {
            let (x, y) = proj.project(centre.lon, centre.lat);
            let href = dense.then(|| format!("/ledgers/{code}/map?{}", map_params(&query, Some(&centre.town.code))));
            labels.push(TownLabel { x: format!("{x:.1}"), y: format!("{y:.1}"), name: centre.town.name, href });
        }
    }
    let legend = map
        .stages
        .iter()
        .map(|s| LegendEntry {
            colour: colour(&s.code),
            name: s.name.clone(),
            count: map.points.iter().filter(|p| p.stage == s.code).count(),
        })
        .collect();
    let params = map_params(&query, None);
    let page = MapPage {
        layout: Layout::staff(format!("{}地图", ty.summary.name), &caller.actor, &menu),
        list_url: format!("/ledgers/{code}?{params}"),
        json_url: format!("/api/v1/ledgers/{code}/map?{params}"),
        ty,
        map,
        dots,
        layers,
        dense_from: DENSE_FROM,
        labels,
        legend,
        width: MAP_WIDTH,
        height: MAP_HEIGHT,
        stages,
        towns,
        choice_filters,
        q,
    };
    Ok(render(StatusCode::OK, &page))
}
