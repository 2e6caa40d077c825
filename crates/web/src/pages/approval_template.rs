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
use mashangban_domain::approvals::project_codes::APPROVAL_TEMPLATE_CHANGED;
use mashangban_domain::approvals::{
    MAX_ROWS, MAX_STEPS, MAX_TEMPLATE_BYTES, StepField, StepRow, StepTemplate, TemplateRows, parse_template_toml,
};
use mashangban_store::Store;

use super::{Choice, Layout, PageError, PageResult, conflict, render, short_time, shown};
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
    /// After a version conflict of the table: what was typed beside the stored template's code,
    /// name (`code`, `name`) and rows' fields (`s{n}_{field}`, rows matched by step code) where it
    /// differs.
    beside: conflict::Beside,
    /// After a version conflict of the table: the typed steps whose code the stored template has
    /// not (`code name`).
    typed_rows: Vec<String>,
    /// After a version conflict of the text: the text typed, when it differs from the stored one.
    typed_text: Option<String>,
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
    /// The key of this row's `field` among what was typed beside it.
    fn key(&self, field: &str) -> String {
        format!("s{}_{field}", self.n)
    }

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
    /// A version conflict of the table: the rows typed.
    TableChanged(TemplateRows),
    /// A version conflict of the text: the text typed.
    TextChanged(String),
}

/// What was typed in `typed` beside the `stored` rows' fields where it differs (rows matched by
/// step code; an owner by its unit's name among `units`; a row's place, the steps it waits for and
/// the end step as the typed table arranges them, its moves and deletions applied), and the typed
/// steps the stored template has not.
fn rows_beside(
    stored: &TemplateRows,
    typed: &TemplateRows,
    units: &[(String, String)],
) -> (conflict::Beside, Vec<String>) {
    use conflict::Kind::{Decimal, Text};
    let mut beside = conflict::Beside::default();
    // A table that cannot be arranged (an unreadable 序号) shows no places; its other fields still compare.
    let arranged = typed.arranged().ok();
    beside.compare("code", Text, &stored.code, &typed.code);
    beside.compare("name", Text, &stored.name, &typed.name);
    let mut missing = Vec::new();
    for row in typed.steps.iter().filter(|r| !r.code.trim().is_empty() || !r.name.trim().is_empty()) {
        let Some(n) = stored.steps.iter().position(|s| !s.code.trim().is_empty() && s.code.trim() == row.code.trim())
        else {
            if !row.delete {
                missing.push(format!("{} {}", row.code.trim(), row.name.trim()).trim().to_owned());
            }
            continue;
        };
        let s = &stored.steps[n];
        let key = |field: &str| format!("s{n}_{field}");
        beside.compare(&key("name"), Text, &s.name, &row.name);
        beside.compare(&key("document"), Text, &s.document, &row.document);
        let owner =
            units.iter().find(|(code, _)| *code == row.owner.trim()).map_or(row.owner.trim(), |(_, n)| n.as_str());
        beside.compare_shown(&key("owner"), Text, &s.owner, &row.owner, owner);
        beside.compare(&key("minutes"), Decimal, &s.planned_minutes, &row.planned_minutes);
        let review = |on: bool| if on { "可容缺预审" } else { "不可容缺预审" };
        beside.compare(&key("pre_review"), Text, review(s.pre_review), review(row.pre_review));
        let placed = arranged.as_ref().and_then(|a| Some((a, a.steps.iter().position(|r| r.code.trim() == s.code)?)));
        if let Some((a, at)) = placed {
            let place = |i: usize| format!("第{}步", i + 1);
            beside.compare(&key("order"), Text, &place(n), &place(at));
            beside.compare(&key("pre"), Text, &waits_for(stored, n), &waits_for(a, at));
            let end =
                |rows: &TemplateRows, i: usize| if rows.end == Some(i) { "终点步骤" } else { "非终点步骤" };
            beside.compare(&key("end"), Text, end(stored, n), end(a, at));
        }
        if row.delete {
            beside.compare(&key("delete"), Text, "", "删除此步骤");
        }
    }
    (beside, missing)
}

/// The codes of the steps row `i` waits for, sorted, as the page names them (「无」 for none).
fn waits_for(rows: &TemplateRows, i: usize) -> String {
    let mut codes: Vec<&str> =
        rows.steps[i].prerequisites.iter().filter_map(|&p| rows.steps.get(p)).map(|r| r.code.trim()).collect();
    codes.sort_unstable();
    if codes.is_empty() { "无".to_owned() } else { codes.join("、") }
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
        let units = active_units(app);
        let of_shown = || {
            let mut rows = parsed.as_ref().map(TemplateRows::of).unwrap_or_default();
            rows.add_blank_rows(NEW_ROWS);
            rows
        };
        let of_shown = || Typed { rows: of_shown(), error: None, base: None };
        // What was typed stays on the version it was typed on, so that saving it after someone
        // else's save meets that save (409) instead of silently replacing it.
        let stored_text = || Text { body: shown.body.clone(), error: None, base: current.id };
        // After a conflict the editors hold the version in force, what was typed beside it.
        let changed = || conflict::changed_meanwhile("审批计划模板", current.version);
        let mut typed_beside = (conflict::Beside::default(), Vec::new(), None);
        let (table, text) = match typed {
            Shown::Version => (of_shown(), stored_text()),
            Shown::Table(typed) => (typed, stored_text()),
            Shown::Text(body, message, base) => {
                (of_shown(), Text { body, error: Some(message), base: base.unwrap_or(current.id) })
            }
            Shown::TableChanged(rows) => {
                let mut table = of_shown();
                let (beside, missing) = rows_beside(&table.rows, &rows, &units);
                typed_beside = (beside, missing, None);
                table.error = Some((None, None, changed()));
                (table, stored_text())
            }
            Shown::TextChanged(body) => {
                let differs = !conflict::same(conflict::Kind::Lines, &shown.body, &body);
                typed_beside.2 = differs.then_some(body);
                (of_shown(), Text { error: Some(changed()), ..stored_text() })
            }
        };
        let mut editor = editor(&units, current.id, table, text);
        (editor.beside, editor.typed_rows, editor.typed_text) = typed_beside;
        Some(editor)
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

/// (code, name) of the organisation's active units, the owners a step may have.
fn active_units<S: Store>(app: &App<S>) -> Vec<(String, String)> {
    let org = app.caches().org();
    let mut units: Vec<(String, String)> =
        org.units().filter(|u| u.active).map(|u| (u.code.clone(), u.display_name().to_owned())).collect();
    units.sort();
    units
}

/// The editors for the rows typed (or shown) and the TOML text, with the active `units` to choose
/// owners from; `current` is the version in force.
fn editor(units: &[(String, String)], current: i64, typed: Typed, text: Text) -> Editor {
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
        beside: conflict::Beside::default(),
        typed_rows: Vec::new(),
        typed_text: None,
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
        Err(e) if e.code == APPROVAL_TEMPLATE_CHANGED => {
            let (status, _) = shown(e)?;
            template_page(&app, &caller, &menu, None, status, Shown::TextChanged(text)).await
        }
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
        Err(TemplateRefusal { error, .. }) if error.code == APPROVAL_TEMPLATE_CHANGED => {
            let (status, _) = shown(error)?;
            template_page(&app, &caller, &menu, None, status, Shown::TableChanged(rows)).await
        }
        Err(TemplateRefusal { error, row, field }) => {
            let (status, message) = shown(error)?;
            template_page(&app, &caller, &menu, None, status, typed(rows, Some((row, field, message)))).await
        }
    }
}
