//! 知识库: the standard answers (标准答复) — search, create, edit (each save a
//! new version), deactivate, and every version as it read. Writes go through
//! the functions of `/api/v1/knowledge`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_domain::org::Actor;
use mashangban_store::Store;

use super::{Done, Frame, admin, done, shown, words};
use crate::api::knowledge::{self, ArticleBody, ArticleView, RevisionView, get_article};
use crate::auth::Auth;
use crate::pages::submit::{CategoryGroup, category_groups};
use crate::pages::{Layout, PageResult, render, short_time};
use crate::state::AppState;

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
    state: &AppState<S>,
    actor: &Actor,
    q: String,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: ArticleForm,
) -> PageResult {
    let articles = knowledge::find(state, actor, &q).await?;
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(actor, "/admin/knowledge", notice, error.map(|(_, m)| m));
    let categories = category_groups(&state.categories(), &form.category);
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
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let actor = admin(&auth)?;
    let notice = Done { ok: query.ok }.notice();
    render_list(&state, actor, query.q, notice, None, ArticleForm::default()).await
}

/// `POST /admin/knowledge`: as `POST /api/v1/knowledge`; then to the article.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Form(form): Form<ArticleForm>,
) -> PageResult {
    let actor = admin(&auth)?;
    match knowledge::create(&state, actor, form.body()).await {
        Ok(a) => Ok(done(&format!("/admin/knowledge/{}", a.id), "article")),
        Err(e) => render_list(&state, actor, String::new(), None, Some(shown(e)?), form).await,
    }
}

async fn render_edit<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    id: &str,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: Option<ArticleForm>,
) -> PageResult {
    let article = knowledge::article_view(state, get_article(state, id).await?);
    let revisions = state.store.article_revisions(article.id).await?;
    let revisions = revisions.into_iter().map(|r| knowledge::revision_view(state, r)).collect();
    let form = form.unwrap_or_else(|| ArticleForm::of(&article));
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(actor, "/admin/knowledge", notice, error.map(|(_, m)| m));
    let categories = category_groups(&state.categories(), &form.category);
    Ok(render(status, &EditPage { layout, frame, article, form, categories, revisions }))
}

/// `GET /admin/knowledge/{id}`: the edit form and every version.
pub async fn edit<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult {
    let actor = admin(&auth)?;
    render_edit(&state, actor, &id, q.notice(), None, None).await
}

fn version(form_value: &str) -> i64 {
    // A missing or garbled version can match no article: the store refuses it as changed.
    form_value.trim().parse().unwrap_or(-1)
}

/// `POST /admin/knowledge/{id}`: a new version, as `PUT /api/v1/knowledge/{id}`.
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
    Form(form): Form<ArticleForm>,
) -> PageResult {
    let actor = admin(&auth)?;
    match knowledge::update(&state, actor, &id, version(&form.version), form.body()).await {
        Ok(_) => Ok(done(&format!("/admin/knowledge/{id}"), "article")),
        Err(e) => render_edit(&state, actor, &id, None, Some(shown(e)?), Some(form)).await,
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
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> PageResult {
    let actor = admin(&auth)?;
    let on = form.active == "1";
    match knowledge::set_active(&state, actor, &id, version(&form.version), on).await {
        Ok(_) => Ok(done(&format!("/admin/knowledge/{id}"), if on { "article-on" } else { "article-off" })),
        Err(e) => render_edit(&state, actor, &id, None, Some(shown(e)?), None).await,
    }
}
