//! 通知模板: every notification template (通知模板) with what it is, its
//! channel, the placeholders it may use, the words in force and whether they
//! differ from the built-in ones; a form per template to change its words and
//! one to put the built-in words back (恢复默认), through `app.notifications()`
//! as `PUT` and `DELETE /api/v1/admin/notification-templates/{key}/{channel}`
//! do, under the same permission. A refused text stays in its form with the
//! refusal beside it. Each template lists its latest versions (版本记录: when,
//! who, the words or 已删除); 「恢复此版本」 posts to the version's restore,
//! which saves its words again as a new version through the same service step
//! as `POST /api/v1/admin/notification-templates/{key}/{channel}/versions/{version}/restore`.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use mashangban_app::notifications::{TemplateInput, TemplateVersionView, TemplateView};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::notify::{NoticeChannel, excerpt};
use mashangban_store::Store;

use super::{Done, Frame};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::pages::{Layout, PageResult, render, shown};
use crate::routes::{Menu, MenuKind, Route};

const PATH: &str = "/admin/notifications";

/// Versions each template lists on the page (the API answers up to 100).
const VERSIONS_SHOWN: u32 = 20;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageNotifications;
    vec![
        Route::get(PATH, page::<S>).permission(manage).nav(MenuKind::Admin, 57, "通知模板"),
        Route::post("/admin/notifications/{key}/{channel}", save::<S>).permission(manage).form(),
        Route::post("/admin/notifications/{key}/{channel}/reset", reset::<S>).permission(manage).form(),
        Route::post("/admin/notifications/{key}/{channel}/versions/{version}/restore", restore::<S>)
            .permission(manage)
            .form(),
    ]
}

/// One template as the page shows it: its form's words (the refused ones after a refusal) and the refusal.
struct Row {
    t: TemplateView,
    /// `{key}-{channel}`: the anchor and ids of its form.
    anchor: String,
    subject: String,
    body: String,
    error: Option<String>,
    /// Its latest versions, newest first.
    versions: Vec<Version>,
}

/// A version as the page lists it, with the start of its words.
struct Version {
    v: TemplateVersionView,
    excerpt: String,
}

impl Row {
    fn channel_label(&self) -> &'static str {
        channel_label(self.t.channel)
    }

    fn is_email(&self) -> bool {
        self.t.channel == NoticeChannel::Email
    }

    fn required(&self, name: &str) -> bool {
        self.t.required.contains(&name)
    }
}

fn channel_label(channel: NoticeChannel) -> &'static str {
    match channel {
        NoticeChannel::Sms => "短信",
        NoticeChannel::Email => "电子邮件",
        NoticeChannel::Webhook => "Webhook",
    }
}

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct TemplatesPage {
    layout: Layout,
    frame: Frame,
    rows: Vec<Row>,
    /// How many differ from the built-in words.
    changed: usize,
}

/// A refused step on a template: the words a refused save sent (kept in its form; None keeps the words in
/// force) and the refusal.
struct Refused {
    key: String,
    channel: String,
    form: Option<TemplateForm>,
    message: String,
}

async fn render_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    notice: Option<&'static str>,
    refused: Option<(StatusCode, Refused)>,
) -> PageResult {
    let all = app.notifications().templates().await?;
    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let mut refused = refused.map(|(_, r)| r);
    let mut rows = Vec::with_capacity(all.len());
    for t in all {
        let anchor = format!("{}-{}", t.key.as_str(), t.channel.as_str());
        let mine = refused.take_if(|r| r.key == t.key.as_str() && r.channel == t.channel.as_str());
        let versions = app
            .notifications()
            .template_versions(t.key.as_str(), t.channel.as_str(), VERSIONS_SHOWN)
            .await?
            .into_iter()
            .map(|v| Version { excerpt: excerpt(&v.body, 40), v })
            .collect();
        let (form, error) = mine.map_or((None, None), |r| (r.form, Some(r.message)));
        let (subject, body) = match form {
            Some(f) => (f.subject, f.body),
            None => (t.subject.clone().unwrap_or_default(), t.body.clone()),
        };
        let row = Row { anchor, subject, body, error, versions, t };
        rows.push(row);
    }
    // A refusal that no form shows (an unknown template) goes above the list.
    let error = refused.map(|r| r.message);
    let (layout, frame) = Frame::new(None, &caller.actor, menu, PATH, notice, error);
    let changed = rows.iter().filter(|r| r.t.differs_from_default).count();
    Ok(render(status, &TemplatesPage { layout, frame, rows, changed }))
}

/// `GET /admin/notifications`.
async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<Done>,
) -> PageResult {
    render_page(&app, &caller, &menu, q.notice(), None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TemplateForm {
    subject: String,
    body: String,
}

/// A 303 back to the page at the template's form, with the notice `ok` (the key and channel are known ones).
fn back(key: &str, channel: &str, ok: &str) -> Response {
    Redirect::to(&format!("{PATH}?ok={ok}#{key}-{channel}")).into_response()
}

/// `POST /admin/notifications/{key}/{channel}`: stores the words for notices written from now on.
async fn save<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((key, channel)): Path<(String, String)>,
    Form(form): Form<TemplateForm>,
) -> PageResult {
    let subject = Some(form.subject.clone()).filter(|_| channel == NoticeChannel::Email.as_str());
    let input = TemplateInput { subject, body: form.body.clone() };
    match app.notifications().put_template(&caller, &key, &channel, input).await {
        Ok(_) => Ok(back(&key, &channel, "template")),
        Err(e) => {
            let (status, message) = shown(e)?;
            let refused = Refused { key, channel, form: Some(form), message };
            render_page(&app, &caller, &menu, None, Some((status, refused))).await
        }
    }
}

/// `POST /admin/notifications/{key}/{channel}/reset`: the built-in words again (恢复默认).
async fn reset<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((key, channel)): Path<(String, String)>,
) -> PageResult {
    let done = app.notifications().reset_template(&caller, &key, &channel).await;
    after_step(&app, &caller, &menu, (key, channel), done.map(drop), "template-reset").await
}

/// `POST /admin/notifications/{key}/{channel}/versions/{version}/restore`: 恢复此版本, a new version with
/// its words.
async fn restore<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((key, channel, version)): Path<(String, String, String)>,
) -> PageResult {
    let done = app.notifications().restore_template_version(&caller, &key, &channel, &version).await;
    after_step(&app, &caller, &menu, (key, channel), done.map(drop), "template-restored").await
}

/// After a step on a template without words of its own (reset, restore): back to its form with the notice
/// `ok`, or the page with the refusal beside the form (above the list for an unknown template).
async fn after_step<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    (key, channel): (String, String),
    done: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match done {
        Ok(()) => Ok(back(&key, &channel, ok)),
        Err(e) => {
            let (status, message) = shown(e)?;
            let refused = Refused { key, channel, form: None, message };
            render_page(app, caller, menu, None, Some((status, refused))).await
        }
    }
}
