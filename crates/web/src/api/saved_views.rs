//! Saved views (保存的视图): one's own named filters of the work page.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use mashangban_app::App;
use mashangban_app::saved_views::{RenameViewInput, SavedViewInput, SavedViewList, SavedViewView};
use mashangban_domain::access::Permission;
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
            .doc("views", "我保存的视图（按名称）")
            .answer::<SavedViewList>()
            .errors(&["views_need_person"]),
        Route::post("/api/v1/views", create::<S>)
            .permission(save)
            .doc("views", "把工作台的筛选条件和搜索词保存为视图（每人最多 20 个，名称最多 30 字）")
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

async fn list<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<SavedViewList>> {
    Ok(Json(app.saved_views().list(&caller).await?))
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
