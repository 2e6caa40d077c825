//! The knowledge base of standard answers (知识库 / 标准答复): staff search
//! and read, administrators write. The worked example of an API module: the
//! routes with their access and types, then one thin handler per route.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::knowledge::{ArticleActive, ArticleBody, ArticleUpdate, ArticleView, RevisionView};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadKnowledge, Permission::ManageKnowledge);
    let written = &["text_required", "text_too_long", "invalid_text", "too_many_keywords", "unknown_category"];
    vec![
        Route::get("/api/v1/knowledge", list::<S>)
            .permission(read)
            .doc("knowledge", "检索或列出标准答复")
            .query(&[("q", "提问的词语；为空时列出全部")])
            .answer::<Vec<ArticleView>>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/knowledge", create::<S>)
            .permission(manage)
            .doc("knowledge", "新增标准答复")
            .body::<ArticleBody>()
            .answer::<ArticleView>()
            .created()
            .errors(written),
        Route::get("/api/v1/knowledge/{id}", detail::<S>)
            .permission(read)
            .doc("knowledge", "某条标准答复")
            .answer::<ArticleView>()
            .errors(&["article_not_found"]),
        Route::put("/api/v1/knowledge/{id}", update::<S>)
            .permission(manage)
            .doc("knowledge", "修改标准答复（保存为新版本）")
            .body::<ArticleUpdate>()
            .answer::<ArticleView>()
            .errors(&[
                "article_not_found",
                "article_changed",
                "text_required",
                "text_too_long",
                "invalid_text",
                "too_many_keywords",
                "unknown_category",
            ]),
        Route::get("/api/v1/knowledge/{id}/revisions", revisions::<S>)
            .permission(read)
            .doc("knowledge", "标准答复的全部版本")
            .answer::<Vec<RevisionView>>()
            .errors(&["article_not_found"]),
        Route::post("/api/v1/knowledge/{id}/active", active::<S>)
            .permission(manage)
            .doc("knowledge", "停用或恢复标准答复")
            .body::<ArticleActive>()
            .answer::<ArticleView>()
            .errors(&["article_not_found", "article_changed"]),
    ]
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ListQuery {
    /// Words of the caller's question; empty lists every article.
    q: String,
}

/// `GET /api/v1/knowledge?q=`: search or list.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<ArticleView>>> {
    let Query(query) = query.map_err(|_| AppError::bad_request("unknown_parameter", "查询参数只有「q」"))?;
    Ok(Json(app.knowledge().find(&caller, &query.q).await?))
}

/// `GET /api/v1/knowledge/{id}` (a deactivated article only for those who manage them).
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleView>> {
    Ok(Json(app.knowledge().get(&caller, &id).await?))
}

/// `GET /api/v1/knowledge/{id}/revisions`: every version, newest first.
async fn revisions<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> ApiResult<Json<Vec<RevisionView>>> {
    Ok(Json(app.knowledge().revisions(&id).await?))
}

/// `POST /api/v1/knowledge`: 201 with the article.
async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ArticleBody>,
) -> ApiResult<(StatusCode, Json<ArticleView>)> {
    Ok((StatusCode::CREATED, Json(app.knowledge().create(&caller, body).await?)))
}

/// `PUT /api/v1/knowledge/{id}`: `409 article_changed` if someone saved it since `version`.
async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(update): JsonBody<ArticleUpdate>,
) -> ApiResult<Json<ArticleView>> {
    Ok(Json(app.knowledge().update(&caller, &id, update).await?))
}

/// `POST /api/v1/knowledge/{id}/active`: `{"version", "active": false}` deactivates.
async fn active<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<ArticleActive>,
) -> ApiResult<Json<ArticleView>> {
    Ok(Json(app.knowledge().set_active(&caller, &id, change).await?))
}
