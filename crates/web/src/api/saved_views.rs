//! Saved views (保存的视图): one's own named filters of the work page.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use mashangban_app::saved_views::{RenameViewInput, SavedViewInput, SavedViewList, SavedViewView};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::saved_view::WORK_LIST;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let save = Permission::SaveViews;
    vec![
        Route::get("/api/v1/views", list::<S>)
            .permission(save)
            .doc("views", "我保存的某个列表的视图（按名称）：工作台（list=work，默认）或某类台账（list=ledger:台账类型）")
            .query(&[("list", "列表：work（工作台，默认）或 ledger:{台账类型}，如 ledger:outlet")])
            .answer::<SavedViewList>()
            .errors(&["views_need_person", "unknown_list", "invalid_parameter"]),
        Route::post("/api/v1/views", create::<S>)
            .permission(save)
            .doc(
                "views",
                "把工作台的筛选条件和搜索词，或某类台账列表的筛选条件（list=ledger:台账类型），保存为视图（每人每个列表最多 20 个，名称最多 30 字）",
            )
            .body::<SavedViewInput>()
            .answer::<SavedViewView>()
            .created()
            .errors(&[
                "views_need_person",
                "text_required",
                "name_too_long",
                "invalid_name",
                "view_empty",
                "too_many_parameters",
                "text_too_long",
                "unknown_parameter",
                "invalid_parameter",
                "unknown_unit",
                "unknown_town",
                "unknown_category",
                "too_many_views",
                "view_name_taken",
                "unknown_list",
                "ledger_type_not_found",
                "permission_denied",
            ]),
        Route::put("/api/v1/views/{id}/name", rename::<S>)
            .permission(save)
            .doc("views", "重命名视图")
            .body::<RenameViewInput>()
            .answer::<SavedViewView>()
            .errors(&["views_need_person", "view_not_found", "text_required", "name_too_long", "view_name_taken"]),
        Route::delete("/api/v1/views/{id}", delete::<S>)
            .permission(save)
            .doc("views", "删除视图")
            .no_content()
            .errors(&["views_need_person", "view_not_found"]),
    ]
}

#[derive(serde::Deserialize)]
struct ListParams {
    list: Option<String>,
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<SavedViewList>> {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_parameter", "查询参数无法读取"))?;
    let list = q.list.as_deref().filter(|l| !l.trim().is_empty()).unwrap_or(WORK_LIST);
    Ok(Json(app.saved_views().list(&caller, list).await?))
}

async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<SavedViewInput>,
) -> ApiResult<(StatusCode, Json<SavedViewView>)> {
    Ok((StatusCode::CREATED, Json(app.saved_views().create(&caller, input).await?)))
}

async fn rename<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RenameViewInput>,
) -> ApiResult<Json<SavedViewView>> {
    Ok(Json(app.saved_views().rename(&caller, &id, input).await?))
}

async fn delete<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.saved_views().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
