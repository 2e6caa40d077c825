//! The approval plan template's page (`/approvals/template`): the version
//! shown as a table of steps, the versions, and for `approvals.manage` the
//! editor — the steps as a form of rows (code, name, document, owner chosen
//! from the organisation's active units, planned minutes, prerequisites as
//! checkboxes of the other rows, pre-review, the end step, 序号 to move a row,
//! 删除 to drop it), posted whole to `/approvals/template/steps` without
//! script. 「更新表格」 applies the 序号 and deletions and adds blank rows
//! without saving; 「保存为新版本」 saves through the same whole-template
//! check and stale-edit check (`base`) as the API, a refusal shown beside the
//! row and field it is about with everything typed kept. The TOML text stays
//! as the advanced editor (`POST /approvals/template`). With script on,
//! `approval-template.js` adds and removes rows in the browser (「添加一行」,
//! 删除 at once); the form still posts whole and the server stays the judge.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::approvals::{TemplateBody, TemplateRefusal, TemplateView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::approvals::{
    MAX_ROWS, MAX_STEPS, MAX_TEMPLATE_BYTES, StepField, StepRow, StepTemplate, TemplateRows, parse_template_toml,
};
use mashangban_store::Store;

use super::{Choice, Layout, PageError, PageResult, render, short_time, shown};
use crate::api::approvals::template_id;
use crate::auth::Auth;
use crate::extract::{Form, PageQuery as Query};
use crate::routes::Menu;

/// Blank rows offered for new steps.
const NEW_ROWS: usize = 2;
/// Blank rows 「更新表格」 adds at most at once.
const MAX_ADD: usize = 20;

#[derive(Template)]
#[template(path = "approval_template.html")]
struct TemplatePage {
    layout: Layout,
    /// The version shown (the one in force unless `?version=` names another).
    shown: TemplateView,
    steps: Vec<StepTemplate>,
    versions: Vec<TemplateView>,
    /// The editor, for `approvals.manage`.
    editor: Option<Editor>,
    max_steps: usize,
    /// Rows the table takes at most (the script adds no more).
    max_rows: usize,
    max_kb: usize,
}

impl TemplatePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// The editors: the table (main) and the TOML text (advanced).
struct Editor {
    /// The version in force the table's rows were typed (or read) on.
    base: i64,
    /// The version in force the text was typed (or read) on.
    text_base: i64,
    code: String,
    name: String,
    rows: Vec<RowView>,
    /// A refusal of the template as a whole, or of a row (then also beside it).
    table_error: Option<String>,
    /// The text in the TOML editor: the version shown, or what was typed when refused.
    text: String,
    text_error: Option<String>,
}

/// One row of the table as the template draws it.
struct RowView {
    /// The row's index in the field names.
    n: usize,
    /// Its number as people count.
    number: usize,
    code: String,
    name: String,
    document: String,
    minutes: String,
    pre_review: bool,
    end: bool,
    order: String,
    delete: bool,
    owners: Vec<Choice>,
    /// The owner typed when it is no active unit (kept selected, marked).
    unknown_owner: Option<String>,
    /// The other rows, checked when this one waits for them.
    prerequisites: Vec<Choice>,
    /// The field a refusal is about and its message.
    error: Option<(&'static str, String)>,
}

impl RowView {
    /// The message for `field` of this row, if the refusal is about it.
    fn err(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    fn invalid(&self, field: &str) -> bool {
        self.err(field).is_some()
    }
}

/// What the table's editor shows: the rows (as typed, or of the version shown) and a refusal.
struct Typed {
    rows: TemplateRows,
    error: Option<(Option<usize>, Option<StepField>, String)>,
    /// The version in force the rows were typed on, if typed.
    base: Option<i64>,
}

/// Which editor holds what was typed (the text with its refusal and the base it was typed on).
enum Shown {
    Version,
    Table(Typed),
    Text(String, String, Option<i64>),
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TemplateQuery {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TemplateForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    base: Option<i64>,
}

/// The page; `typed` is what an editor holds after a refusal or 「更新表格」.
async fn template_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    version: Option<i64>,
    status: StatusCode,
    typed: Shown,
) -> PageResult {
    let approvals = app.approvals();
    let current = approvals.template().await?;
    let shown = match version {
        Some(id) if id != current.id => approvals.template_version(id).await?,
        _ => current.clone(),
    };
    let parsed = parse_template_toml(&shown.body).ok();
    let steps = parsed.as_ref().map(|t| t.steps().to_vec()).unwrap_or_default();
    let editor = if caller.may(Permission::ManageApprovals) {
        let of_shown = || {
            let mut rows = parsed.as_ref().map(TemplateRows::of).unwrap_or_default();
            rows.add_blank_rows(NEW_ROWS);
            rows
        };
        let of_shown = || Typed { rows: of_shown(), error: None, base: None };
        // What was typed stays on the version it was typed on, so that saving it after someone
        // else's save meets that save (409) instead of silently replacing it.
        let (table, text) = match typed {
            Shown::Version => (of_shown(), Text { body: shown.body.clone(), error: None, base: current.id }),
            Shown::Table(typed) => (typed, Text { body: shown.body.clone(), error: None, base: current.id }),
            Shown::Text(body, message, base) => {
                (of_shown(), Text { body, error: Some(message), base: base.unwrap_or(current.id) })
            }
        };
        Some(editor(app, current.id, table, text))
    } else {
        None
    };
    let page = TemplatePage {
        layout: Layout::staff("审批计划模板", &caller.actor, menu),
        versions: approvals.template_versions().await?,
        shown,
        steps,
        editor,
        max_steps: MAX_STEPS,
        max_rows: MAX_ROWS,
        max_kb: MAX_TEMPLATE_BYTES / 1024,
    };
    Ok(render(status, &page))
}

/// What the TOML editor shows: the text (typed, or of the version shown), its refusal and base.
struct Text {
    body: String,
    error: Option<String>,
    base: i64,
}

/// The editors for the rows typed (or shown) and the TOML text; `current` is the version in force.
fn editor<S: Store>(app: &App<S>, current: i64, typed: Typed, text: Text) -> Editor {
    let org = app.caches().org();
    let mut units: Vec<(String, String)> =
        org.units().filter(|u| u.active).map(|u| (u.code.clone(), u.display_name().to_owned())).collect();
    units.sort();
    let Typed { rows, error, base } = typed;
    let (error_row, error_field, message) = match error {
        Some((row, field, message)) => (row, field, Some(message)),
        None => (None, None, None),
    };
    let label = |i: usize, row: &StepRow| match (row.code.trim(), row.name.trim()) {
        ("", "") => format!("第{}行", i + 1),
        ("", name) => format!("{}. {name}", i + 1),
        (code, _) => format!("{}. {code}", i + 1),
    };
    let views = rows
        .steps
        .iter()
        .enumerate()
        .map(|(n, row)| {
            let mut owners = vec![Choice::new("", "（请选择）", row.owner.is_empty())];
            owners.extend(
                units.iter().map(|(code, name)| Choice::new(code, format!("{name}（{code}）"), *code == row.owner)),
            );
            let unknown_owner =
                Some(&row.owner).filter(|o| !o.is_empty() && !units.iter().any(|(code, _)| code == *o)).cloned();
            let prerequisites = rows
                .steps
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != n)
                .map(|(m, other)| Choice::new(m.to_string(), label(m, other), row.prerequisites.contains(&m)))
                .collect();
            RowView {
                n,
                number: n + 1,
                code: row.code.clone(),
                name: row.name.clone(),
                document: row.document.clone(),
                minutes: row.planned_minutes.clone(),
                pre_review: row.pre_review,
                end: rows.end == Some(n),
                order: if row.order.is_empty() { (n + 1).to_string() } else { row.order.clone() },
                delete: row.delete,
                owners,
                unknown_owner,
                prerequisites,
                error: match (error_row, &message) {
                    (Some(r), Some(m)) if r == n => Some((error_field.map_or("row", StepField::as_str), m.clone())),
                    _ => None,
                },
            }
        })
        .collect();
    let table_error = message.map(|m| match error_row {
        Some(r) => format!("第{}行：{m}", r + 1),
        None => m,
    });
    Editor {
        base: base.unwrap_or(current),
        text_base: text.base,
        code: rows.code,
        name: rows.name,
        rows: views,
        table_error,
        text: text.body,
        text_error: text.error,
    }
}

/// `GET /approvals/template[?version=id]`.
pub(super) async fn template<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<TemplateQuery>,
) -> PageResult {
    let version = match q.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Some(template_id(v)?),
        None => None,
    };
    template_page(&app, &caller, &menu, version, StatusCode::OK, Shown::Version).await
}

/// `POST /approvals/template`: the TOML text, as the API; the typed text is kept on a refusal.
pub(super) async fn save_template<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<TemplateForm>,
) -> PageResult {
    // Browsers send CRLF line ends from a textarea; the template is stored as typed otherwise.
    let text = form.body.replace("\r\n", "\n");
    match app.approvals().save_template(&caller, TemplateBody { body: text.clone(), base: form.base }).await {
        Ok(_) => Ok(Redirect::to("/approvals/template").into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            template_page(&app, &caller, &menu, None, status, Shown::Text(text, message, form.base)).await
        }
    }
}

/// The table as posted: the rows, the version it was made on, and what to do.
struct TableForm {
    rows: TemplateRows,
    base: Option<i64>,
    /// 「保存为新版本」 (otherwise 「更新表格」).
    save: bool,
    /// Blank rows to add on 「更新表格」.
    add: usize,
}

/// Reads the posted table: `code`, `name`, `base`, `end` (a row), `op`,
/// `add`, and per row `s{n}_code`, `_name`, `_document`, `_owner`,
/// `_minutes`, `_pre` (repeated: the rows it waits for), `_pre_review`,
/// `_order`, `_delete`. A row beyond [`MAX_ROWS`] or a number that is no
/// number is a malformed form.
fn read_table(pairs: Vec<(String, String)>) -> Result<TableForm, PageError> {
    let malformed = || PageError::Status(StatusCode::BAD_REQUEST, "表格内容不完整或格式不正确，请返回重新填写".into());
    let row_number = |text: &str| text.trim().parse::<usize>().ok().filter(|n| *n < MAX_ROWS).ok_or_else(malformed);
    let mut rows = TemplateRows::default();
    let (mut base, mut save, mut add) = (None, false, 0);
    for (key, value) in pairs {
        match key.as_str() {
            "code" => rows.code = value,
            "name" => rows.name = value,
            "base" => base = Some(value.trim().parse().map_err(|_| malformed())?),
            "end" => rows.end = Some(row_number(&value)?),
            "op" => save = value == "save",
            "add" => add = value.trim().parse::<usize>().unwrap_or(0).min(MAX_ADD),
            _ => {
                let Some((n, field)) = key.strip_prefix('s').and_then(|k| k.split_once('_')) else { continue };
                let n = row_number(n)?;
                if rows.steps.len() <= n {
                    rows.steps.resize_with(n + 1, StepRow::default);
                }
                let row = &mut rows.steps[n];
                match field {
                    "code" => row.code = value,
                    "name" => row.name = value,
                    "document" => row.document = value,
                    "owner" => row.owner = value,
                    "minutes" => row.planned_minutes = value,
                    "pre" => {
                        row.prerequisites.insert(row_number(&value)?);
                    }
                    "pre_review" => row.pre_review = value == "1",
                    "order" => row.order = value,
                    "delete" => row.delete = value == "1",
                    _ => {}
                }
            }
        }
    }
    Ok(TableForm { rows, base, save, add })
}

/// `POST /approvals/template/steps`: the table. 「更新表格」 moves, deletes
/// and adds rows and shows the table again; 「保存为新版本」 saves it.
pub(super) async fn save_table<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = read_table(pairs)?;
    let typed = |rows, error| Shown::Table(Typed { rows, error, base: form.base });
    let mut rows = match form.rows.arranged() {
        Ok(rows) => rows,
        Err(fault) => {
            let (status, message) = shown(AppError::from(fault.error))?;
            let kept = typed(form.rows, Some((fault.step, fault.field, message)));
            return template_page(&app, &caller, &menu, None, status, kept).await;
        }
    };
    if !form.save {
        rows.add_blank_rows(form.add);
        return template_page(&app, &caller, &menu, None, StatusCode::OK, typed(rows, None)).await;
    }
    match app.approvals().save_template_rows(&caller, &rows, form.base).await {
        Ok(_) => Ok(Redirect::to("/approvals/template").into_response()),
        Err(TemplateRefusal { error, row, field }) => {
            let (status, message) = shown(error)?;
            template_page(&app, &caller, &menu, None, status, typed(rows, Some((row, field, message)))).await
        }
    }
}
