//! 时限规则: the rules in force, every version, and publishing a new one
//! through `app.rules()`, as `PUT /api/v1/time-limits` does — from a form
//! with a row per rule ([`rule_form`](super::rule_form)), or as JSON (the
//! API's body) under "高级".

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::json::parse_json;
use mashangban_app::rules::PublishInput;
use mashangban_domain::access::Permission;
use mashangban_domain::calendar::{Clock, TimeLimit};
use mashangban_domain::org::Actor;
use mashangban_domain::time_limit::Rule;
use mashangban_store::Store;

use super::rule_form::{self, RowErrors, RowInput, RowView};
use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::pages::{Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageRules;
    vec![
        Route::get("/admin/rules", page::<S>).permission(manage).nav(MenuKind::Admin, 40, "时限规则"),
        Route::post("/admin/rules", publish::<S>).permission(manage).form(),
        Route::post("/admin/rules/json", publish_json::<S>).permission(manage).form(),
    ]
}

/// A rule as the table shows it; "不限" where the rule matches any value.
pub struct RuleRow {
    pub kind: &'static str,
    pub urgency: &'static str,
    pub channel: &'static str,
    pub asker: &'static str,
    pub sign_for: String,
    pub contact: String,
    pub stage_reply: String,
    pub reply: String,
}

/// A published version.
pub struct VersionRow {
    pub version: i64,
    pub at: String,
    pub by: String,
    pub rules: usize,
}

#[derive(Template)]
#[template(path = "admin/rules.html")]
struct RulesPage {
    layout: Layout,
    frame: Frame,
    version: i64,
    rows: Vec<RuleRow>,
    versions: Vec<VersionRow>,
    /// The rows of the rule form.
    form: Vec<RowView>,
    limits: &'static [(&'static str, &'static str)],
    /// The JSON in the advanced form.
    json: String,
    /// Open the advanced form (it was the one refused).
    json_open: bool,
}

/// What a refused post typed, kept for the page drawn again.
enum Typed {
    Nothing,
    Rows(Vec<RowInput>, Vec<RowErrors>),
    Json(String),
}

fn limit_text(limit: Option<TimeLimit>) -> String {
    match limit {
        None => "—".into(),
        Some(TimeLimit { clock: Clock::Natural, amount }) if amount % 60 == 0 => format!("{}小时", amount / 60),
        Some(TimeLimit { clock: Clock::Natural, amount }) => format!("{amount}分钟"),
        Some(TimeLimit { clock: Clock::WorkingDays, amount }) => format!("{amount}个工作日"),
        Some(TimeLimit { clock: Clock::WorkingHours, amount }) => format!("{amount}个工作小时"),
    }
}

fn rule_row(r: &Rule) -> RuleRow {
    RuleRow {
        kind: r.kind.map_or("不限", |k| k.label()),
        urgency: r.urgency.map_or("不限", |u| u.label()),
        channel: r.channel.map_or("不限", |c| c.label()),
        asker: match r.enterprise {
            None => "不限",
            Some(true) => "企业",
            Some(false) => "个人",
        },
        sign_for: limit_text(r.sign_for),
        contact: limit_text(r.contact),
        stage_reply: limit_text(r.stage_reply),
        reply: limit_text(r.reply),
    }
}

async fn render_page<S: Store>(
    app: &App<S>,
    actor: &Actor,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    typed: Typed,
) -> PageResult {
    let current = app.rules().current().await?;
    let versions = app.rules().versions().await?;
    let current_json =
        || serde_json::to_string_pretty(&serde_json::json!({ "rules": current.rules })).unwrap_or_default();
    let json_open = matches!(typed, Typed::Json(_));
    let (form, json) = match typed {
        Typed::Nothing => (rule_form::views(&rule_form::rows_for(&current.rules), &[]), current_json()),
        Typed::Rows(rows, errors) => (rule_form::views(&rows, &errors), current_json()),
        Typed::Json(json) => (rule_form::views(&rule_form::rows_for(&current.rules), &[]), json),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) =
        Frame::new(app.calendar().missing_notice_warning(), actor, menu, "/admin/rules", notice, error.map(|(_, m)| m));
    let page = RulesPage {
        layout,
        frame,
        version: current.version,
        rows: current.rules.iter().map(rule_row).collect(),
        versions: versions
            .iter()
            .map(|v| VersionRow {
                version: v.version,
                at: short_time(&mashangban_domain::time::format_instant(&v.created_at)),
                by: v.created_by.clone(),
                rules: v.rules.len(),
            })
            .collect(),
        form,
        limits: &rule_form::LIMITS,
        json,
        json_open,
    };
    Ok(render(status, &page))
}

/// `GET /admin/rules`.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<Done>,
) -> PageResult {
    let actor = &caller.actor;
    render_page(&app, actor, &menu, q.notice(), None, Typed::Nothing).await
}

/// `POST /admin/rules`: the rule form, one row per rule (`r{n}_kind`,
/// `r{n}_reply_amount`, `r{n}_reply_clock`, …), published as a new version
/// through `app.rules().publish` when every row holds; otherwise 422 with a
/// message beside each field and the rows as typed.
pub async fn publish<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let actor = &caller.actor;
    let unprocessable = |message: String| Some((StatusCode::UNPROCESSABLE_ENTITY, message));
    let rows = match rule_form::rows_of(pairs) {
        Ok(rows) => rows,
        Err(message) => return render_page(&app, actor, &menu, None, unprocessable(message), Typed::Nothing).await,
    };
    let rules = match rule_form::read(&rows) {
        Ok(rules) => rules,
        Err(errors) => {
            let message = "有几处填写不正确，请按标红处的提示修改后再发布".to_owned();
            return render_page(&app, actor, &menu, None, unprocessable(message), Typed::Rows(rows, errors)).await;
        }
    };
    match app.rules().publish(&caller, PublishInput { rules }).await {
        Ok(_) => Ok(done("/admin/rules", "rules")),
        Err(e) => render_page(&app, actor, &menu, None, Some(shown(e)?), Typed::Rows(rows, Vec::new())).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JsonForm {
    /// `{"rules": [...]}`, the body of `PUT /api/v1/time-limits`.
    rules: String,
}

/// `POST /admin/rules/json`: parses the JSON as the API does, then publishes
/// through `app.rules().publish`.
pub async fn publish_json<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<JsonForm>,
) -> PageResult {
    let actor = &caller.actor;
    let published = match parse_json::<PublishInput>(form.rules.as_bytes()) {
        Ok(input) => app.rules().publish(&caller, input).await,
        Err(e) => Err(e),
    };
    match published {
        Ok(_) => Ok(done("/admin/rules", "rules")),
        Err(e) => render_page(&app, actor, &menu, None, Some(shown(e)?), Typed::Json(form.rules)).await,
    }
}
