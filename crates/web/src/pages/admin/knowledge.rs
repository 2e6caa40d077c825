//! 知识库: the standard answers (标准答复) — search, create, edit (each save a
//! new version), deactivate, and every version as it read, through
//! `app.knowledge()` as `/api/v1/knowledge` does. The worked example of a
//! module's pages: routes with their permission and menu entry, then handlers
//! that read a form, call the service and render.

use std::sync::Arc;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use serde::Deserialize;

use mashangban_app::knowledge::{ArticleActive, ArticleBody, ArticleUpdate, ArticleView, RevisionView};
use mashangban_app::{App, Caller};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Done, Frame, done, words};
use crate::auth::Auth;
use crate::pages::submit::{CategoryGroup, category_groups};
use crate::pages::{Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageKnowledge;
    vec![
        Route::get("/admin/knowledge", list::<S>).permission(manage).nav(MenuKind::Admin, 60, "知识库"),
        Route::post("/admin/knowledge", create::<S>).permission(manage).form(),
        Route::get("/admin/knowledge/{id}", edit::<S>).permission(manage),
        Route::post("/admin/knowledge/{id}", update::<S>).permission(manage).form(),
        Route::post("/admin/knowledge/{id}/active", active::<S>).permission(manage).form(),
    ]
}

/// The article form's values (kept when refused).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArticleForm {
    /// The version the edit was made on.
    version: String,
    title: String,
    body: String,
    category: String,
    /// Separated by commas (，、) or spaces.
    keywords: String,
}

impl ArticleForm {
    fn body(&self) -> ArticleBody {
        ArticleBody {
            title: self.title.clone(),
            body: self.body.clone(),
            category: Some(self.category.clone()),
            keywords: words(&self.keywords),
        }
    }

    fn of(a: &ArticleView) -> Self {
        Self {
            version: a.version.to_string(),
            title: a.title.clone(),
            body: a.body.clone(),
            category: a.category.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
            keywords: a.keywords.join("，"),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/knowledge.html")]
struct ListPage {
    layout: Layout,
    frame: Frame,
    q: String,
    articles: Vec<ArticleView>,
    form: ArticleForm,
    categories: Vec<CategoryGroup>,
}

impl ListPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

#[derive(Template)]
#[template(path = "admin/article.html")]
struct EditPage {
    layout: Layout,
    frame: Frame,
    article: ArticleView,
    form: ArticleForm,
    categories: Vec<CategoryGroup>,
    revisions: Vec<RevisionView>,
}

impl EditPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

async fn render_list<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    q: String,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: ArticleForm,
) -> PageResult {
    let articles = app.knowledge().find(caller, &q).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(
        app.calendar().missing_notice_warning(),
        &caller.actor,
        menu,
        "/admin/knowledge",
        notice,
        error.map(|(_, m)| m),
    );
    let categories = category_groups(&app.caches().categories(), &form.category);
    Ok(render(status, &ListPage { layout, frame, q, articles, form, categories }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    ok: String,
    q: String,
}

/// `GET /admin/knowledge?q=`: the articles (or a search), and the new-article form.
pub async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let notice = Done { ok: query.ok }.notice();
    render_list(&app, &caller, &menu, query.q, notice, None, ArticleForm::default()).await
}

/// `POST /admin/knowledge`: as `POST /api/v1/knowledge`; then to the article.
pub async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<ArticleForm>,
) -> PageResult {
    match app.knowledge().create(&caller, form.body()).await {
        Ok(a) => Ok(done(&format!("/admin/knowledge/{}", a.id), "article")),
        Err(e) => render_list(&app, &caller, &menu, String::new(), None, Some(shown(e)?), form).await,
    }
}

async fn render_edit<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: &str,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: Option<ArticleForm>,
) -> PageResult {
    let article = app.knowledge().get(caller, id).await?;
    let revisions = app.knowledge().revisions(id).await?;
    let form = form.unwrap_or_else(|| ArticleForm::of(&article));
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(
        app.calendar().missing_notice_warning(),
        &caller.actor,
        menu,
        "/admin/knowledge",
        notice,
        error.map(|(_, m)| m),
    );
    let categories = category_groups(&app.caches().categories(), &form.category);
    Ok(render(status, &EditPage { layout, frame, article, form, categories, revisions }))
}

/// `GET /admin/knowledge/{id}`: the edit form and every version.
pub async fn edit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    render_edit(&app, &caller, &menu, &id, q.notice(), None, None).await
}

fn version(form_value: &str) -> i64 {
    // A missing or garbled version can match no article: the store refuses it as changed.
    form_value.trim().parse().unwrap_or(-1)
}

/// `POST /admin/knowledge/{id}`: a new version, as `PUT /api/v1/knowledge/{id}`.
pub async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ArticleForm>,
) -> PageResult {
    let body = form.body();
    let update = ArticleUpdate {
        version: version(&form.version),
        title: body.title,
        body: body.body,
        category: body.category,
        keywords: body.keywords,
    };
    match app.knowledge().update(&caller, &id, update).await {
        Ok(_) => Ok(done(&format!("/admin/knowledge/{id}"), "article")),
        Err(e) => render_edit(&app, &caller, &menu, &id, None, Some(shown(e)?), Some(form)).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActiveForm {
    version: String,
    /// `1` reactivates, anything else deactivates.
    active: String,
}

/// `POST /admin/knowledge/{id}/active`: as `POST /api/v1/knowledge/{id}/active`.
pub async fn active<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult {
    let on = form.active == "1";
    let change = ArticleActive { version: version(&form.version), active: on };
    match app.knowledge().set_active(&caller, &id, change).await {
        Ok(_) => Ok(done(&format!("/admin/knowledge/{id}"), if on { "article-on" } else { "article-off" })),
        Err(e) => render_edit(&app, &caller, &menu, &id, None, Some(shown(e)?), None).await,
    }
}
