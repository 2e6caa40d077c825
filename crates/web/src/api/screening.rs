//! Spam screening (垃圾信息甄别): the 待甄别 queue and a request's screening for those who take requests
//! in and dispatch them; the phrases, threshold, classifier and evaluation for administrators.
//! Releasing (放行) and marking spam are the request actions `POST /api/v1/requests/{no}/release`
//! and `/mark-spam`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::input::parse_time_param;
use mashangban_app::screening::{
    ClassifierInfo, HeldPage, ScreeningEvaluation, ScreeningOverview, ScreeningView, SettingsBody, SettingsView,
};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageScreening;
    vec![
        Route::get("/api/v1/screening/queue", queue::<S>)
            .permission(Permission::ScreenSubmissions)
            .doc("screening", "待甄别的公众提交（最新的在前），附甄别分数和理由")
            .query(&[("cursor", "下一页：上一页答复中的 next_cursor")])
            .answer::<HeldPage>()
            .errors(&["invalid_cursor", "invalid_query", "duplicate_parameter"]),
        Route::get("/api/v1/screening/requests/{no}", of_request::<S>)
            .permission(Permission::ScreenSubmissions)
            .doc("screening", "某件诉求的甄别结果（未经甄别：null）")
            .answer::<Option<ScreeningView>>()
            .errors(&["request_not_found"]),
        Route::get("/api/v1/screening/settings", overview::<S>)
            .permission(manage)
            .doc("screening", "甄别设置（广告词、阈值）及其历史版本、分类器和待甄别数量")
            .answer::<ScreeningOverview>(),
        Route::put("/api/v1/screening/settings", update::<S>)
            .permission(manage)
            .doc("screening", "修改甄别设置（保存为新版本）")
            .body::<SettingsBody>()
            .answer::<SettingsView>()
            .errors(&["invalid_field", "invalid_threshold", "too_many_phrases", "phrase_too_long", "phrase_too_short"]),
        Route::post("/api/v1/screening/model", retrain::<S>)
            .permission(manage)
            .doc("screening", "用工作人员的甄别结果重新训练分类器")
            .answer::<ClassifierInfo>(),
        Route::get("/api/v1/screening/evaluation", evaluate::<S>)
            .permission(manage)
            .doc("screening", "按时间切分评估甄别：此前的诉求训练，此后的诉求检验误判率和检出率")
            .query(&[("before", "切分日期（2026-01-31）或带时区的时间")])
            .answer::<ScreeningEvaluation>()
            .errors(&["invalid_parameter", "invalid_query", "duplicate_parameter", "screening_history_empty"]),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    cursor: Option<String>,
}

/// `GET /api/v1/screening/queue`.
async fn queue<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<QueueQuery>,
) -> ApiResult<Json<HeldPage>> {
    Ok(Json(app.screening().queue(&caller, q.cursor.as_deref()).await?))
}

/// `GET /api/v1/screening/requests/{no}`.
async fn of_request<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Option<ScreeningView>>> {
    Ok(Json(app.screening().of_request(&caller, &no).await?))
}

/// `GET /api/v1/screening/settings`.
async fn overview<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<ScreeningOverview>> {
    Ok(Json(app.screening().overview(&caller).await?))
}

/// `PUT /api/v1/screening/settings`.
async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<SettingsBody>,
) -> ApiResult<Json<SettingsView>> {
    Ok(Json(app.screening().update(&caller, body).await?))
}

/// `POST /api/v1/screening/model`.
async fn retrain<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<ClassifierInfo>> {
    Ok(Json(app.screening().retrain(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluationQuery {
    before: String,
}

/// `GET /api/v1/screening/evaluation?before=`.
async fn evaluate<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<EvaluationQuery>,
) -> ApiResult<Json<ScreeningEvaluation>> {
    let before = parse_time_param("before", &q.before)?;
    Ok(Json(app.screening().evaluate(before).await?))
}
