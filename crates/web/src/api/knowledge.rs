//! The knowledge base of standard answers (知识库 / 标准答复): staff search
//! and read the answers, administrators write them. The functions below the
//! handlers are what the admin pages call too, so both take the same checks.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use mashangban_domain::org::{Actor, Role};
use mashangban_domain::time::format_instant;
use mashangban_store::{Article, ArticleAuthor, ArticleId, ArticleInput, ArticleRevision, Store, article_not_found};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::state::AppState;

/// Suggestions shown at most.
pub const SEARCH_LIMIT: u32 = 10;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/api/v1/knowledge", get(list::<S>).post(create_handler::<S>))
        .route("/api/v1/knowledge/{id}", get(detail::<S>).put(update_handler::<S>))
        .route("/api/v1/knowledge/{id}/revisions", get(revisions::<S>))
        .route("/api/v1/knowledge/{id}/active", post(active_handler::<S>))
}

/// The line a direct close (直接办结) ends with when the operator read a
/// standard answer, so the request's history names the exact version used.
pub fn citation(id: ArticleId, version: i64) -> String {
    format!("【标准答复 #{id} 第{version}版】")
}

/// An article as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleView {
    pub id: ArticleId,
    pub title: String,
    pub body: String,
    /// The category's code and name, if the article has one.
    pub category: Option<CategoryRef>,
    pub keywords: Vec<String>,
    pub active: bool,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
    /// The line to end a direct close with: see [`citation`].
    pub citation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRef {
    pub code: String,
    pub name: String,
}

fn category_ref<S: Store>(state: &AppState<S>, id: Option<i64>) -> Option<CategoryRef> {
    let categories = state.categories();
    let c = categories.iter().find(|c| Some(c.id) == id)?;
    Some(CategoryRef { code: c.code.clone(), name: c.name.clone() })
}

pub fn article_view<S: Store>(state: &AppState<S>, a: Article) -> ArticleView {
    ArticleView {
        category: category_ref(state, a.category_id),
        updated_at: format_instant(&a.updated_at),
        citation: citation(a.id, a.version),
        id: a.id,
        title: a.title,
        body: a.body,
        keywords: a.keywords,
        active: a.active,
        version: a.version,
        updated_by: a.updated_by,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionView {
    pub version: i64,
    pub title: String,
    pub body: String,
    pub category: Option<CategoryRef>,
    pub keywords: Vec<String>,
    pub active: bool,
    pub at: String,
    pub by: String,
}

pub fn revision_view<S: Store>(state: &AppState<S>, r: ArticleRevision) -> RevisionView {
    RevisionView {
        category: category_ref(state, r.category_id),
        at: format_instant(&r.at),
        version: r.version,
        title: r.title,
        body: r.body,
        keywords: r.keywords,
        active: r.active,
        by: r.by,
    }
}

// ---- reading (staff) -------------------------------------------------------------

/// Staff (people or tokens); enterprise and resident accounts are refused.
fn staff(auth: &Auth) -> ApiResult<&Actor> {
    let actor = auth.require_login()?;
    if actor.role().is_some_and(Role::is_staff) {
        Ok(actor)
    } else {
        Err(ApiError::forbidden("您的角色无权执行此操作"))
    }
}

fn admin(auth: &Auth) -> ApiResult<&Actor> {
    auth.require_role(&[Role::Admin])
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    /// Words of the caller's question; empty lists every article.
    pub q: String,
}

/// The articles a person sees: a search (active only, best first, at most
/// [`SEARCH_LIMIT`]) or, without words, every active article and for
/// administrators the deactivated ones too.
pub async fn find<S: Store>(state: &AppState<S>, actor: &Actor, q: &str) -> ApiResult<Vec<ArticleView>> {
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(ApiError::bad_request("invalid_parameter", "「q」不能超过200个字"));
    }
    let articles = if q.is_empty() {
        let all = state.store.list_articles().await?;
        all.into_iter().filter(|a| a.active || actor.has_role(&[Role::Admin])).collect()
    } else {
        state.store.search_articles(q, SEARCH_LIMIT).await?
    };
    Ok(articles.into_iter().map(|a| article_view(state, a)).collect())
}

/// `GET /api/v1/knowledge?q=`: search or list (staff).
async fn list<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<ArticleView>>> {
    let actor = staff(&auth)?;
    let Query(query) = query.map_err(|_| ApiError::bad_request("unknown_parameter", "查询参数只有「q」"))?;
    Ok(Json(find(&state, actor, &query.q).await?))
}

/// An article by the id in a path; a malformed id is as unknown as a missing one.
pub async fn get_article<S: Store>(state: &AppState<S>, id: &str) -> ApiResult<Article> {
    let id: ArticleId = id.parse().map_err(|_| ApiError::from(article_not_found(0)).with_message("标准答复不存在"))?;
    Ok(state.store.article(id).await?.ok_or_else(|| article_not_found(id))?)
}

/// `GET /api/v1/knowledge/{id}` (staff; a deactivated article only for administrators).
async fn detail<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleView>> {
    let actor = staff(&auth)?;
    let article = get_article(&state, &id).await?;
    if !article.active && !actor.has_role(&[Role::Admin]) {
        return Err(article_not_found(article.id).into());
    }
    Ok(Json(article_view(&state, article)))
}

/// `GET /api/v1/knowledge/{id}/revisions` (staff): every version, newest first,
/// so the text an answer cited can be read again.
async fn revisions<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RevisionView>>> {
    staff(&auth)?;
    let article = get_article(&state, &id).await?;
    let all = state.store.article_revisions(article.id).await?;
    Ok(Json(all.into_iter().map(|r| revision_view(&state, r)).collect()))
}

// ---- writing (administrators) ------------------------------------------------------

/// An article as administrators send it; `category` is a category code.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

impl ArticleBody {
    fn input<S: Store>(self, state: &AppState<S>) -> ApiResult<ArticleInput> {
        let code = self.category.filter(|c| !c.trim().is_empty());
        let category_id = match code {
            Some(code) => Some(
                state
                    .categories()
                    .iter()
                    .find(|c| c.code == code.trim() && c.active)
                    .map(|c| c.id)
                    .ok_or_else(|| ApiError::invalid("unknown_category", format!("分类「{code}」不存在")))?,
            ),
            None => None,
        };
        Ok(ArticleInput { title: self.title, body: self.body, category_id, keywords: self.keywords })
    }
}

/// Creates an article as `actor` (administrators).
pub async fn create<S: Store>(state: &AppState<S>, actor: &Actor, body: ArticleBody) -> ApiResult<Article> {
    let input = body.input(state)?;
    Ok(state.store.create_article(input, ArticleAuthor::new(actor, state.now())).await?)
}

/// Saves a new version of an article that is still at `version`.
pub async fn update<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    id: &str,
    version: i64,
    body: ArticleBody,
) -> ApiResult<Article> {
    let article = get_article(state, id).await?;
    let input = body.input(state)?;
    Ok(state.store.update_article(article.id, version, input, ArticleAuthor::new(actor, state.now())).await?)
}

/// Deactivates (停用) or reactivates an article that is still at `version`.
pub async fn set_active<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    id: &str,
    version: i64,
    active: bool,
) -> ApiResult<Article> {
    let article = get_article(state, id).await?;
    Ok(state.store.set_article_active(article.id, version, active, ArticleAuthor::new(actor, state.now())).await?)
}

/// `POST /api/v1/knowledge` (administrators): 201 with the article.
async fn create_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(body): JsonBody<ArticleBody>,
) -> ApiResult<(StatusCode, Json<ArticleView>)> {
    let actor = admin(&auth)?;
    let article = create(&state, actor, body).await?;
    Ok((StatusCode::CREATED, Json(article_view(&state, article))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// The version the change was made on (optimistic check).
    version: i64,
    title: String,
    body: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

/// `PUT /api/v1/knowledge/{id}` (administrators): `409 article_changed` if
/// someone saved it since `version`.
async fn update_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> ApiResult<Json<ArticleView>> {
    let actor = admin(&auth)?;
    let body = ArticleBody { title: b.title, body: b.body, category: b.category, keywords: b.keywords };
    let article = update(&state, actor, &id, b.version, body).await?;
    Ok(Json(article_view(&state, article)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveBody {
    version: i64,
    active: bool,
}

/// `POST /api/v1/knowledge/{id}/active` (administrators): `{"version", "active": false}` deactivates.
async fn active_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ActiveBody>,
) -> ApiResult<Json<ArticleView>> {
    let actor = admin(&auth)?;
    let article = set_active(&state, actor, &id, b.version, b.active).await?;
    Ok(Json(article_view(&state, article)))
}
