//! 指挥部定期报送与军令状 pages: a centre's report forms with their recent
//! periods (filed, late, missing, pending per form and period) and the
//! office's form to define one; a period's page with every unit's report,
//! earlier revisions and chases, the chase buttons of the office, the filing
//! form generated from the fields (each field's Chinese refusal next to it),
//! and the Excel download; a centre's pledges with their status and the
//! office's upload form. The office edits and withdraws (撤回) a form and
//! edits and withdraws (作废) a pledge from its card, with the version read;
//! each card shows its history.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use mashangban_app::command::reports::{
    ChaseBody, FilingBody, FormOverview, PeriodDetail, PledgeBody, PledgeInput, PledgeView, ReportFormBody,
    WithdrawBody,
};
use mashangban_app::command::{CentreView, TargetView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::command_reports::{
    Cadence, DOCUMENT_MAX_BYTES, FieldError, FilingStatus, PledgeStatus, ReportField, ReportFieldKind, form_not_found,
};
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, render, short_time, shown};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::routes::{Menu, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, work) = (Permission::ReadCommand, Permission::WorkCommand);
    vec![
        Route::get("/command/{code}/reports", forms::<S>).permission(read),
        Route::post("/command/{code}/reports", create_form::<S>).permission(work).form(),
        Route::post("/command/report-forms/{id}/edit", edit_form::<S>).permission(work).form(),
        Route::post("/command/report-forms/{id}/withdraw", withdraw_form::<S>).permission(work).form(),
        Route::get("/command/reports/{id}/{period}", period::<S>).permission(read),
        Route::get("/command/reports/{id}/{period}/export", export::<S>).permission(read),
        Route::post("/command/reports/{id}/{period}/file", file::<S>).permission(work).form(),
        Route::post("/command/reports/{id}/{period}/chase", chase::<S>).permission(work).form(),
        Route::get("/command/{code}/pledges", pledges::<S>).permission(read),
        Route::post("/command/{code}/pledges", create_pledge::<S>)
            .permission(work)
            .multipart()
            .body_limit(DOCUMENT_MAX_BYTES + 64 * 1024),
        Route::post("/command/pledges/{id}/edit", edit_pledge::<S>).permission(work).form(),
        Route::post("/command/pledges/{id}/withdraw", withdraw_pledge::<S>).permission(work).form(),
    ]
}

fn form_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::from(form_not_found()))
}

// ---- forms ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "command_reports.html")]
struct FormsPage {
    layout: Layout,
    centre: CentreView,
    forms: Vec<FormOverview>,
    may_work: bool,
    message: Option<String>,
    typed: FormFields,
    /// A refused edit or withdrawal: the form's id and the message, shown on its card.
    card_error: Option<(i64, String)>,
}

impl FormsPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The fields as the define form takes them, one a line.
    fn field_lines(&self, fields: &[ReportField]) -> String {
        fields
            .iter()
            .map(|f| {
                let n = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                format!(
                    "{}|{}|{}|{}|{}|{}|{}|{}",
                    f.key,
                    f.label,
                    f.kind.label(),
                    f.unit.clone().unwrap_or_default(),
                    if f.required { "是" } else { "否" },
                    n(f.min),
                    n(f.max),
                    f.max_len.map(|v| v.to_string()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn filer_codes(&self, o: &FormOverview) -> String {
        o.form.filers.iter().map(|u| u.code.as_str()).collect::<Vec<_>>().join(", ")
    }

    fn card_error(&self, id: &i64) -> Option<String> {
        self.card_error.as_ref().filter(|(i, _)| i == id).map(|(_, m)| m.clone())
    }
}

/// The define-a-form form as typed: the fields one a line, `编码|名称|类型|单位|必填|下限|上限`.
#[derive(Default, serde::Deserialize)]
struct FormFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    cadence: String,
    #[serde(default)]
    fields: String,
    #[serde(default)]
    filers: String,
    #[serde(default)]
    due_working_days: String,
    /// The version read (edits only).
    #[serde(default)]
    version: String,
}

fn kind_of(text: &str) -> Option<ReportFieldKind> {
    match text.trim() {
        "text" | "文字" => Some(ReportFieldKind::Text),
        "integer" | "整数" => Some(ReportFieldKind::Integer),
        "decimal" | "小数" => Some(ReportFieldKind::Decimal),
        "date" | "日期" => Some(ReportFieldKind::Date),
        _ => None,
    }
}

impl FormFields {
    fn body(&self) -> Result<ReportFormBody, String> {
        let cadence = Cadence::parse(self.cadence.trim()).ok_or_else(|| "请选择报送周期".to_owned())?;
        let due_working_days =
            self.due_working_days.trim().parse::<u32>().map_err(|_| "报送期限请填写工作日天数".to_owned())?;
        let mut fields = Vec::new();
        for (n, line) in self.fields.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate().take(100) {
            let parts: Vec<&str> = line.split(['|', '｜']).map(str::trim).collect();
            let at = |i: usize| parts.get(i).copied().unwrap_or_default();
            let kind = kind_of(at(2)).ok_or_else(|| {
                format!("第 {} 行栏目的类型须为 文字、整数、小数 或 日期（text、integer、decimal、date）", n + 1)
            })?;
            let number = |i: usize, what: &str| -> Result<Option<f64>, String> {
                match at(i) {
                    "" => Ok(None),
                    v => v.parse::<f64>().map(Some).map_err(|_| format!("第 {} 行栏目的{what}「{v}」不是数字", n + 1)),
                }
            };
            fields.push(ReportField {
                key: at(0).to_owned(),
                label: at(1).to_owned(),
                kind,
                unit: Some(at(3).to_owned()).filter(|u| !u.is_empty()),
                required: matches!(at(4), "是" | "必填" | "1" | "true" | "yes"),
                min: number(5, "下限")?,
                max: number(6, "上限")?,
                max_len: match at(7) {
                    "" => None,
                    v => Some(v.parse::<u32>().map_err(|_| format!("第 {} 行栏目的字数上限「{v}」不是整数", n + 1))?),
                },
            });
        }
        let filers = self
            .filers
            .split([',', '，', ' ', '、', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let version = match self.version.trim() {
            "" => None,
            v => Some(v.parse::<i64>().map_err(|_| "版本号不是数字，请刷新后再改".to_owned())?),
        };
        Ok(ReportFormBody { version, name: self.name.clone(), cadence, fields, filers, due_working_days })
    }
}

#[allow(clippy::too_many_arguments)]
async fn forms_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    code: &str,
    status: StatusCode,
    message: Option<String>,
    typed: FormFields,
    card_error: Option<(i64, String)>,
) -> PageResult {
    let centre = app.command().centre(caller, code).await?;
    let forms = app.command().report_forms(caller, code).await?;
    let page = FormsPage {
        layout: Layout::staff(format!("{}定期报送", centre.name), &caller.actor, menu),
        may_work: caller.may(Permission::WorkCommand) && centre.is_office,
        centre,
        forms,
        message,
        typed,
        card_error,
    };
    Ok(render(status, &page))
}

/// `GET /command/{code}/reports`.
async fn forms<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    forms_page(&app, &caller, &menu, &code, StatusCode::OK, None, FormFields::default(), None).await
}

/// `POST /command/{code}/reports`: defines a form, or shows the refusal with what was typed.
async fn create_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(typed): Form<FormFields>,
) -> PageResult {
    let result = match typed.body() {
        Ok(body) => app.command().create_report_form(&caller, &code, body).await.map(drop).map_err(Some),
        Err(m) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return forms_page(&app, &caller, &menu, &code, status, Some(m), typed, None).await;
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/command/{code}/reports")).into_response()),
        Err(Some(e)) => {
            let (status, message) = shown(e)?;
            forms_page(&app, &caller, &menu, &code, status, Some(message), typed, None).await
        }
        Err(None) => Ok(Redirect::to(&format!("/command/{code}/reports")).into_response()),
    }
}

/// After an edit or a withdrawal of a form: back to the centre's forms at its card, or the page
/// again with the refusal on the card.
async fn after_form_change<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    result: Result<(), crate::error::ApiError>,
) -> PageResult {
    let code = app.command().report_form_centre(id).await?;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/command/{code}/reports#form-{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            forms_page(app, caller, menu, &code, status, None, FormFields::default(), Some((id, message))).await
        }
    }
}

/// `POST /command/report-forms/{id}/edit`: the define form's fields with `version`.
async fn edit_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(typed): Form<FormFields>,
) -> PageResult {
    let id = form_id(&id)?;
    let result = match typed.body() {
        Ok(body) => app.command().update_report_form(&caller, id, body).await.map(drop).map_err(Into::into),
        Err(m) => Err(crate::error::ApiError::from(AppError::invalid("report_form_invalid", m))),
    };
    after_form_change(&app, &caller, &menu, id, result).await
}

#[derive(serde::Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

impl WithdrawForm {
    fn body(self) -> WithdrawBody {
        WithdrawBody { version: self.version.trim().parse().ok(), reason: self.reason }
    }
}

/// `POST /command/report-forms/{id}/withdraw`: `version`, `reason`.
async fn withdraw_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> PageResult {
    let id = form_id(&id)?;
    let result = app.command().withdraw_report_form(&caller, id, form.body()).await.map(drop).map_err(Into::into);
    after_form_change(&app, &caller, &menu, id, result).await
}

// ---- one period -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "command_report_period.html")]
struct PeriodPage {
    layout: Layout,
    d: PeriodDetail,
    centre: CentreView,
    /// The units the caller may file for.
    file_units: Vec<Choice>,
    message: Option<String>,
    /// The values typed, by field key.
    typed: BTreeMap<String, String>,
    note: String,
    /// Each field's refusal, by key.
    errors: BTreeMap<String, String>,
}

impl PeriodPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn typed(&self, key: &str) -> String {
        self.typed.get(key).cloned().unwrap_or_default()
    }

    fn error(&self, key: &str) -> String {
        self.errors.get(key).cloned().unwrap_or_default()
    }

    fn input_type(&self, f: &ReportField) -> &'static str {
        match f.kind {
            ReportFieldKind::Date => "date",
            ReportFieldKind::Integer | ReportFieldKind::Decimal | ReportFieldKind::Text => "text",
        }
    }

    fn value(&self, values: &BTreeMap<String, String>, key: &str) -> String {
        values.get(key).cloned().unwrap_or_default()
    }

    fn status_class(&self, s: &FilingStatus) -> &'static str {
        match s {
            FilingStatus::Filed => "filed",
            FilingStatus::Late => "late",
            FilingStatus::Missing => "missing",
            FilingStatus::Pending => "pending",
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn period_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    period: &str,
    status: StatusCode,
    message: Option<String>,
    typed: BTreeMap<String, String>,
    note: String,
    errors: Vec<FieldError>,
    unit: &str,
) -> PageResult {
    let d = app.command().report_period(caller, id, period).await?;
    let centre = app.command().centre(caller, &d.form.centre_code).await?;
    let file_units = d
        .rows
        .iter()
        .filter(|r| r.may_file)
        .map(|r| Choice::new(r.unit.code.clone(), r.unit.name.clone(), r.unit.code == unit))
        .collect();
    let page = PeriodPage {
        layout: Layout::staff(format!("{}　{}", d.form.name, d.summary.label), &caller.actor, menu),
        d,
        centre,
        file_units,
        message,
        typed,
        note,
        errors: errors.into_iter().map(|e| (e.key, e.message)).collect(),
    };
    Ok(render(status, &page))
}

/// `GET /command/reports/{id}/{period}`.
async fn period<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((id, period)): Path<(String, String)>,
) -> PageResult {
    let id = form_id(&id)?;
    period_page(&app, &caller, &menu, id, &period, StatusCode::OK, None, BTreeMap::new(), String::new(), vec![], "")
        .await
}

/// `GET /command/reports/{id}/{period}/export`.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((id, period)): Path<(String, String)>,
) -> PageResult<Response> {
    let (name, bytes) = app.command().report_period_xlsx(&caller, form_id(&id)?, &period).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-report.xlsx"))
}

/// `POST /command/reports/{id}/{period}/file`: fields `unit`, `note` and `f.<key>` for each field.
async fn file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((id, period)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = form_id(&id)?;
    let (mut unit, mut note, mut values) = (String::new(), String::new(), BTreeMap::new());
    for (name, value) in pairs {
        match name.as_str() {
            "unit" => unit = value,
            "note" => note = value,
            other => {
                if let Some(key) = other.strip_prefix("f.") {
                    values.insert(key.to_owned(), value);
                }
            }
        }
    }
    let errors = app.command().check_report(id, &values).await?;
    let body = FilingBody { unit: unit.clone(), values: values.clone(), note: Some(note.clone()) };
    match app.command().file_report(&caller, id, &period, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/command/reports/{id}/{period}#filed")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            period_page(&app, &caller, &menu, id, &period, status, Some(message), values, note, errors, &unit).await
        }
    }
}

#[derive(serde::Deserialize)]
struct ChaseForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    note: String,
}

/// `POST /command/reports/{id}/{period}/chase`: one unit, or every missing one without `unit`.
async fn chase<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((id, period)): Path<(String, String)>,
    Form(form): Form<ChaseForm>,
) -> PageResult {
    let id = form_id(&id)?;
    let body = ChaseBody {
        unit: Some(form.unit).filter(|u| !u.trim().is_empty()),
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    match app.command().chase(&caller, id, &period, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/command/reports/{id}/{period}#reports")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let empty = BTreeMap::new();
            period_page(&app, &caller, &menu, id, &period, status, Some(message), empty, String::new(), vec![], "")
                .await
        }
    }
}

// ---- pledges ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "command_pledges.html")]
struct PledgesPage {
    layout: Layout,
    centre: CentreView,
    pledges: Vec<PledgeView>,
    targets: Vec<TargetView>,
    units: Vec<Choice>,
    may_work: bool,
    message: Option<String>,
    /// A refused edit or withdrawal: the pledge's id and the message, shown on its row.
    card_error: Option<(i64, String)>,
}

impl PledgesPage {
    fn status_class(&self, s: &PledgeStatus) -> &'static str {
        s.as_str()
    }

    fn signed(&self, p: &PledgeView, target: &i64) -> bool {
        p.targets.iter().any(|t| t.id == *target)
    }

    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn card_error(&self, id: &i64) -> Option<String> {
        self.card_error.as_ref().filter(|(i, _)| i == id).map(|(_, m)| m.clone())
    }

    fn size(&self, bytes: &i64) -> String {
        mashangban_domain::document::size_text(*bytes)
    }
}

async fn pledges_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    code: &str,
    status: StatusCode,
    message: Option<String>,
    card_error: Option<(i64, String)>,
) -> PageResult {
    let centre = app.command().centre(caller, code).await?;
    let pledges = app.command().pledges(code).await?;
    let targets = app.command().targets(code).await?;
    let units = centre
        .towns
        .iter()
        .chain(centre.member_units.iter())
        .map(|u| Choice::new(u.code.clone(), u.name.clone(), false))
        .collect();
    let page = PledgesPage {
        layout: Layout::staff(format!("{}军令状", centre.name), &caller.actor, menu),
        may_work: caller.may(Permission::WorkCommand) && centre.is_office,
        centre,
        pledges,
        targets,
        units,
        message,
        card_error,
    };
    Ok(render(status, &page))
}

/// `GET /command/{code}/pledges`.
async fn pledges<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    pledges_page(&app, &caller, &menu, &code, StatusCode::OK, None, None).await
}

/// `POST /command/{code}/pledges` (multipart: unit, target…, signed_on, signatory, file).
async fn create_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let result: Result<(), crate::error::ApiError> = async {
        let input: PledgeInput = crate::api::command_reports::read_pledge(multipart).await?;
        app.command().create_pledge(&caller, &code, input).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/command/{code}/pledges")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            pledges_page(&app, &caller, &menu, &code, status, Some(message), None).await
        }
    }
}

/// After an edit or a withdrawal of a pledge: back to the centre's pledges at its row, or the page
/// again with the refusal on the row.
async fn after_pledge_change<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    result: Result<(), crate::error::ApiError>,
) -> PageResult {
    let code = app.command().pledge_centre(id).await?;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/command/{code}/pledges#pledge-{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            pledges_page(app, caller, menu, &code, status, None, Some((id, message))).await
        }
    }
}

/// `POST /command/pledges/{id}/edit`: `version`, `target` (repeated), `signed_on`, `signatory`.
async fn edit_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let id = crate::api::command_reports::pledge_id(&id)?;
    let mut body =
        PledgeBody { version: None, targets: Vec::new(), signed_on: String::new(), signatory: String::new() };
    let mut bad_target = None;
    for (name, value) in pairs {
        match name.as_str() {
            "version" => body.version = value.trim().parse().ok(),
            "signed_on" => body.signed_on = value,
            "signatory" => body.signatory = value,
            "target" => match value.trim().parse::<i64>() {
                Ok(t) => body.targets.push(t),
                Err(_) => bad_target = Some(value),
            },
            _ => {}
        }
    }
    let result = match bad_target {
        Some(v) => Err(AppError::bad_parameter(format!("目标编号「{v}」不是数字")).into()),
        None => app.command().update_pledge(&caller, id, body).await.map(drop).map_err(Into::into),
    };
    after_pledge_change(&app, &caller, &menu, id, result).await
}

/// `POST /command/pledges/{id}/withdraw`: `version`, `reason`.
async fn withdraw_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> PageResult {
    let id = crate::api::command_reports::pledge_id(&id)?;
    let result = app.command().withdraw_pledge(&caller, id, form.body()).await.map(drop).map_err(Into::into);
    after_pledge_change(&app, &caller, &menu, id, result).await
}
