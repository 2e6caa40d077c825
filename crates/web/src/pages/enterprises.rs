//! 企业名录 (`/enterprises`): the registry in the person's enterprise scope
//! with the API's filters, and each enterprise's file (一企一档,
//! `/enterprises/{code}`): its record, its requests with state and deadline,
//! and a timeline, from `app.enterprises()` as `/api/v1/enterprises` answers.
//! For those who maintain the registry: the forms to register
//! (`/enterprises/new`) and edit (`/enterprises/{code}/edit`, optimistic on
//! the version) a record, and the import page (`/enterprises/import`: upload →
//! preview of every row problem → confirm), calling the same app service.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::enterprises::{
    EnterpriseBody, EnterpriseFile, EnterpriseList, EnterpriseUpdate, EnterpriseView, ImportReport, ListQuery,
};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::ledgers::{CARRIED_MAX, read_form};
use super::{Layout, PageResult, conflict, render, short_time, shown};
use crate::api::enterprises::IMPORT_LIMIT;
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadEnterprises, Permission::ManageEnterprises);
    vec![
        Route::get("/enterprises", list::<S>).permission(read).nav(MenuKind::Main, 45, "企业名录"),
        Route::get("/enterprises/new", new_page::<S>).permission(manage),
        Route::post("/enterprises/new", create::<S>).permission(manage).form(),
        Route::get("/enterprises/import", import_page).permission(manage),
        Route::post("/enterprises/import", import::<S>)
            .permission(manage)
            .multipart()
            .body_limit(IMPORT_LIMIT * 2 + 64 * 1024),
        Route::get("/enterprises/{code}", file::<S>).permission(read),
        Route::get("/enterprises/{code}/edit", edit_page::<S>).permission(manage),
        Route::post("/enterprises/{code}/edit", update::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "enterprises.html")]
struct ListPage {
    layout: Layout,
    list: EnterpriseList,
    query: ListQuery,
    towns: Vec<(String, String)>,
    export_url: String,
    next_url: Option<String>,
    /// May register, edit and import.
    manage: bool,
}

#[derive(Template)]
#[template(path = "enterprise.html")]
pub(super) struct FilePage {
    pub layout: Layout,
    pub file: EnterpriseFile,
    /// A refusal of the last assignment form.
    pub message: Option<String>,
    /// May assign and unassign cadres.
    pub manage: bool,
    /// May print contact cards.
    pub print: bool,
    /// The cadres to choose from when assigning.
    pub cadres: Vec<mashangban_app::liaisons::CadreView>,
    /// May edit the record.
    pub edit: bool,
    /// The enterprise's support-fund applications the person may read.
    pub fund: Vec<mashangban_app::fund::ApplicationSummary>,
    /// The enterprise's visits (走访), newest first.
    pub visits: Vec<mashangban_app::visits::VisitView>,
    /// May plan a visit.
    pub plan_visits: bool,
    /// Its alerts (to those who read monitoring), cases and inspections (to those who read enforcement).
    pub enforcement: mashangban_app::enforcement::EnterpriseEnforcement,
    /// Sees the cases section.
    pub cases: bool,
    /// May record an inspection.
    pub inspect: bool,
    /// Its on-site service requests (行走办) in the person's reach, newest first.
    pub onsite: Vec<mashangban_app::onsite::OnsiteView>,
    /// Sees the on-site service section.
    pub read_onsite: bool,
}

impl FilePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /enterprises[?town=&industry=&size=&q=&offset=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let list = app.enterprises().list(&caller, &query).await?;
    let towns = towns(&app);
    let params = |offset: Option<u32>| {
        let mut pairs: Vec<String> =
            [("town", &query.town), ("industry", &query.industry), ("size", &query.size), ("q", &query.q)]
                .iter()
                .filter_map(|(k, v)| {
                    v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", crate::api::percent_encode(v)))
                })
                .collect();
        if let Some(o) = offset {
            pairs.push(format!("offset={o}"));
        }
        pairs.join("&")
    };
    let next = list.offset + list.limit;
    let next_url = (u64::from(next) < list.total).then(|| format!("/enterprises?{}", params(Some(next))));
    let page = ListPage {
        layout: Layout::staff("企业名录", &caller.actor, &menu),
        export_url: format!("/api/v1/enterprises/export?{}", params(None)),
        next_url,
        manage: caller.may(Permission::ManageEnterprises),
        list,
        query,
        towns,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /enterprises/{code}`: 404 when absent or out of the person's scope.
async fn file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    file_page(&app, &caller, &menu, &code, StatusCode::OK, None).await
}

/// The enterprise's file page, with a message of a refused form.
pub(super) async fn file_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    code: &str,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let file = app.enterprises().file(caller, code).await?;
    let manage = caller.may(Permission::ManageLiaisons);
    let cadres = if manage { app.liaisons().cadres(caller).await? } else { Vec::new() };
    let fund_query = mashangban_app::fund::ApplicationQuery {
        credit_code: Some(file.enterprise.credit_code.clone()),
        limit: Some(mashangban_app::fund::PAGE_MAX),
        ..mashangban_app::fund::ApplicationQuery::default()
    };
    let fund = app.fund().list(caller, &fund_query).await?.items;
    let visits =
        if caller.may(Permission::ReadVisits) { app.visits().of_enterprise(caller, code).await? } else { Vec::new() };
    let enforcement = app.enforcement().for_enterprise(caller, &file.enterprise.credit_code).await?;
    let read_onsite = caller.may(Permission::ReadOnsite);
    let onsite = if read_onsite { app.onsite().of_enterprise(caller, code).await? } else { Vec::new() };
    let page = FilePage {
        onsite,
        read_onsite,
        visits,
        plan_visits: caller.may(Permission::RecordVisits),
        enforcement,
        cases: caller.may(Permission::ReadEnforcement),
        inspect: caller.may(Permission::HandleEnforcement),
        layout: Layout::staff(file.enterprise.name.clone(), &caller.actor, menu),
        file,
        message,
        manage,
        print: caller.may(Permission::PrintCards),
        cadres,
        edit: caller.may(Permission::ManageEnterprises),
        fund,
    };
    Ok(render(status, &page))
}

/// The fields of the register and edit forms, as typed (kept when refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RecordForm {
    credit_code: String,
    name: String,
    town: String,
    address: String,
    industry_code: String,
    industry_name: String,
    size: String,
    registered_on: String,
    contact_name: String,
    contact_phone: String,
    /// Separated by commas, 、 or spaces.
    tags: String,
    /// The version the edit was made on (hidden field).
    version: String,
}

/// The text trimmed, or `None` when blank.
pub(super) fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl RecordForm {
    fn of(e: &EnterpriseView) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            credit_code: e.credit_code.clone(),
            name: e.name.clone(),
            town: e.town.code.clone(),
            address: text(&e.address),
            industry_code: text(&e.industry_code),
            industry_name: text(&e.industry_name),
            size: e.size.unwrap_or_default().to_owned(),
            registered_on: text(&e.registered_on),
            contact_name: text(&e.contact_name),
            contact_phone: text(&e.contact_phone),
            tags: e.tags.join("，"),
            version: e.version.to_string(),
        }
    }

    fn tags(&self) -> Vec<String> {
        self.tags.split([',', '，', '、', ' ', '\u{3000}']).filter(|t| !t.is_empty()).map(str::to_owned).collect()
    }

    fn body(&self) -> EnterpriseBody {
        EnterpriseBody {
            credit_code: self.credit_code.clone(),
            name: self.name.trim().to_owned(),
            town: self.town.trim().to_owned(),
            address: optional(&self.address),
            industry_code: optional(&self.industry_code),
            industry_name: optional(&self.industry_name),
            size: optional(&self.size),
            registered_on: optional(&self.registered_on),
            contact_name: optional(&self.contact_name),
            contact_phone: optional(&self.contact_phone),
            tags: self.tags(),
        }
    }

    /// What was typed in `self` beside the `stored` record's fields where it differs (a town by
    /// its name among `towns`).
    fn beside(&self, stored: &Self, towns: &[(String, String)]) -> conflict::Beside {
        use conflict::Kind::{Date, List, Text};
        let mut beside = conflict::Beside::of([
            ("name", Text, stored.name.as_str(), self.name.as_str()),
            ("address", Text, stored.address.as_str(), self.address.as_str()),
            ("industry_code", Text, stored.industry_code.as_str(), self.industry_code.as_str()),
            ("industry_name", Text, stored.industry_name.as_str(), self.industry_name.as_str()),
            ("registered_on", Date, stored.registered_on.as_str(), self.registered_on.as_str()),
            ("contact_name", Text, stored.contact_name.as_str(), self.contact_name.as_str()),
            ("contact_phone", Text, stored.contact_phone.as_str(), self.contact_phone.as_str()),
            ("tags", List, stored.tags.as_str(), self.tags.as_str()),
        ]);
        // The size as its name: the form sends `above`/`below`, the record reads 规上/规下 too.
        let size = |s: &str| {
            match s.trim() {
                "above" | "规上" => "规上",
                "below" | "规下" => "规下",
                other => other,
            }
            .to_owned()
        };
        let typed_size = size(&self.size);
        beside.compare_shown("size", Text, &size(&stored.size), &typed_size, &typed_size);
        let town =
            towns.iter().find(|(code, _)| *code == self.town.trim()).map_or(self.town.trim(), |(_, n)| n.as_str());
        beside.compare_shown("town", Text, &stored.town, &self.town, town);
        beside
    }

    fn update(&self, version: i64) -> EnterpriseUpdate {
        let b = self.body();
        EnterpriseUpdate {
            version,
            name: b.name,
            town: b.town,
            address: b.address,
            industry_code: b.industry_code,
            industry_name: b.industry_name,
            size: b.size,
            registered_on: b.registered_on,
            contact_name: b.contact_name,
            contact_phone: b.contact_phone,
            tags: b.tags,
        }
    }
}

#[derive(Template)]
#[template(path = "enterprise_form.html")]
struct FormPage {
    layout: Layout,
    /// `Some(code)` when editing that record, `None` when registering.
    editing: Option<String>,
    form: RecordForm,
    towns: Vec<(String, String)>,
    message: Option<String>,
    /// After a version conflict, what was typed in the fields it differs in.
    beside: conflict::Beside,
}

fn towns<S: Store>(app: &App<S>) -> Vec<(String, String)> {
    let org = app.caches().org();
    let mut towns: Vec<(String, String)> = org
        .units()
        .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town && u.active)
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    towns.sort();
    towns
}

fn form_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    editing: Option<String>,
    form: RecordForm,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let title = if editing.is_some() { format!("编辑{}", form.name) } else { "登记企业".to_owned() };
    let (towns, beside) = (towns(app), conflict::Beside::default());
    let page = FormPage { layout: Layout::staff(title, &caller.actor, menu), editing, form, towns, message, beside };
    Ok(render(status, &page))
}

/// `GET /enterprises/new`: the empty register form.
async fn new_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    form_page(&app, &caller, &menu, None, RecordForm::default(), StatusCode::OK, None)
}

/// `POST /enterprises/new`: registers, then shows the file; a refusal keeps what was typed.
async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<RecordForm>,
) -> PageResult {
    match app.enterprises().create(&caller, form.body()).await {
        Ok(saved) => Ok(Redirect::to(&format!("/enterprises/{}", saved.credit_code)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            form_page(&app, &caller, &menu, None, form, status, Some(message))
        }
    }
}

/// `GET /enterprises/{code}/edit`: the record in the form, its version hidden.
async fn edit_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    let found = app.enterprises().get(&caller, &code).await?;
    form_page(&app, &caller, &menu, Some(found.credit_code.clone()), RecordForm::of(&found), StatusCode::OK, None)
}

/// `POST /enterprises/{code}/edit`: saves if still at the form's version, then shows the file.
/// After a version conflict the form again with the stored record at its current version and what
/// was typed beside each field it differs in; after another refusal what was typed, at the version
/// it was typed on.
async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(mut form): Form<RecordForm>,
) -> PageResult {
    form.credit_code = code.clone();
    let result = match form.version.trim().parse::<i64>() {
        Ok(version) => app.enterprises().update(&caller, &code, form.update(version)).await,
        Err(_) => Err(mashangban_app::AppError::bad_request("invalid_version", "表单缺少档案版本，请重新打开编辑页")),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&format!("/enterprises/{}", saved.credit_code)).into_response()),
        Err(e) if e.code == ENTERPRISE_CHANGED => {
            let (status, _) = shown(e)?;
            let stored = app.enterprises().get(&caller, &code).await?;
            let message = conflict::changed_meanwhile("该企业档案", stored.version);
            let title = format!("编辑{}", stored.name);
            let (towns, stored) = (towns(&app), RecordForm::of(&stored));
            let beside = form.beside(&stored, &towns);
            let page = FormPage {
                layout: Layout::staff(title, &caller.actor, &menu),
                editing: Some(code),
                form: stored,
                towns,
                message: Some(message),
                beside,
            };
            Ok(render(status, &page))
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            form_page(&app, &caller, &menu, Some(code), form, status, Some(message))
        }
    }
}

/// The code of the refusal of an edit made on a version of the record that is no longer current.
const ENTERPRISE_CHANGED: &str = "enterprise_changed";

#[derive(Template)]
#[template(path = "enterprise_import.html")]
struct ImportPage {
    layout: Layout,
    report: Option<ImportReport>,
    message: Option<String>,
    /// The previewed file, hex-encoded, for the confirm form (small files only).
    carried: Option<String>,
}

/// `GET /enterprises/import`: the upload form.
async fn import_page(Auth(caller): Auth, Extension(menu): Extension<Arc<Menu>>) -> PageResult {
    let layout = Layout::staff("导入企业名录", &caller.actor, &menu);
    Ok(render(StatusCode::OK, &ImportPage { layout, report: None, message: None, carried: None }))
}

/// `POST /enterprises/import`: preview (every row problem listed, nothing
/// written), or with `apply=1` the import itself (all rows or none).
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let layout = Layout::staff("导入企业名录", &caller.actor, &menu);
    let outcome = match read_form(multipart, IMPORT_LIMIT).await {
        Ok((bytes, apply)) => (app.enterprises().import(&caller, &bytes, apply).await, Some(bytes)),
        Err(e) => (Err(e), None),
    };
    match outcome {
        (Ok(report), bytes) => {
            let carried = match (&bytes, report.applied, report.problem_count) {
                (Some(b), false, 0) if b.len() <= CARRIED_MAX => Some(hex::encode(b)),
                _ => None,
            };
            Ok(render(StatusCode::OK, &ImportPage { layout, report: Some(report), message: None, carried }))
        }
        (Err(e), _) => {
            let (status, message) = shown(e)?;
            Ok(render(status, &ImportPage { layout, report: None, message: Some(message), carried: None }))
        }
    }
}
