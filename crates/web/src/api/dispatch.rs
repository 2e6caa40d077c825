//! Dispatch suggestions (派单建议) and likely duplicates (疑似重复) of a request for those who dispatch, and
//! the model behind them for administrators (retrain, evaluate on a time split).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::dispatch::{
    AutoDispatchBody, AutoDispatchOverview, AutoDispatchView, DraftBody, DraftSuggestions, Evaluation, ModelInfo,
    Suggestions,
};
use mashangban_app::duplicates::{SimilarRequest, ThresholdsBody, ThresholdsOverview, ThresholdsView};
use mashangban_app::input::parse_time_param;
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let model = Permission::ManageDispatchModel;
    vec![
        Route::get("/api/v1/dispatch/suggestions/{no}", suggestions::<S>)
            .permission(Permission::SuggestDispatch)
            .doc("dispatch", "某件诉求的建议主办单位（至多三个，附置信度和理由）")
            .answer::<Suggestions>()
            .errors(&["request_not_found"]),
        Route::post("/api/v1/dispatch/draft", draft::<S>)
            .permission(Permission::SuggestDispatch)
            .doc("dispatch", "受理时边录入边建议：按标题和内容建议事项分类（至多三个），并为所选或首选分类建议主办单位")
            .body::<DraftBody>()
            .answer::<DraftSuggestions>()
            .errors(&["invalid_field", "unknown_field", "text_too_long", "unknown_category", "unknown_town"]),
        Route::get("/api/v1/dispatch/similar/{no}", similar::<S>)
            .permission(Permission::SuggestDispatch)
            .doc("dispatch", "与某件诉求疑似重复的在办诉求（文字相近、同一诉求人或同一地址），最相近的在前")
            .answer::<Vec<SimilarRequest>>()
            .errors(&["request_not_found"]),
        Route::get("/api/v1/dispatch/model", current::<S>)
            .permission(model)
            .doc("dispatch", "本节点在用的派单模型")
            .answer::<Option<ModelInfo>>(),
        Route::post("/api/v1/dispatch/model", retrain::<S>)
            .permission(model)
            .doc("dispatch", "用最近已办结的诉求重新训练派单模型")
            .answer::<ModelInfo>()
            .errors(&["dispatch_history_empty"]),
        Route::get("/api/v1/dispatch/evaluation", evaluate::<S>)
            .permission(model)
            .doc("dispatch", "按时间切分评估派单模型：此前的诉求训练，此后的诉求检验")
            .query(&[("before", "切分日期（2026-01-31）或带时区的时间")])
            .answer::<Evaluation>()
            .errors(&["invalid_parameter", "invalid_query", "duplicate_parameter", "dispatch_history_empty"]),
        Route::get("/api/v1/dispatch/thresholds", thresholds::<S>)
            .permission(Permission::ManageDuplicateThresholds)
            .doc("dispatch", "疑似重复与热点问题的阈值（相似度、时间窗、最少件数、跨镇街相似度）、相似度加分及其历史版本")
            .answer::<ThresholdsOverview>(),
        Route::put("/api/v1/dispatch/thresholds", set_thresholds::<S>)
            .permission(Permission::ManageDuplicateThresholds)
            .doc(
                "dispatch",
                "修改疑似重复与热点问题的阈值和相似度加分（保存为新版本，记录修改人和时间）；cross_town_similarity、same_asker、same_place、same_category_and_town 可省略，省略的沿用现行版本的值",
            )
            .body::<ThresholdsBody>()
            .answer::<ThresholdsView>()
            .errors(&[
                "invalid_field",
                "invalid_similarity",
                "invalid_window_days",
                "invalid_hot_min_size",
                "invalid_hot_window_days",
                "invalid_hot_similarity",
                "invalid_cross_town_similarity",
                "invalid_same_asker_weight",
                "invalid_same_place_weight",
                "invalid_same_category_and_town_weight",
            ]),
        Route::get("/api/v1/dispatch/auto", auto_rules::<S>)
            .permission(model)
            .doc("dispatch", "自动派单：哪些事项分类在受理后按首选派单建议自动派出、所需置信度，及其历史版本")
            .answer::<AutoDispatchOverview>(),
        Route::put("/api/v1/dispatch/auto", set_auto_rules::<S>)
            .permission(model)
            .doc("dispatch", "修改自动派单设置（保存为新版本，记录修改人和时间；空列表即关闭自动派单）")
            .body::<AutoDispatchBody>()
            .answer::<AutoDispatchView>()
            .errors(&["unknown_category", "invalid_auto_confidence", "duplicate_auto_category", "too_many_auto_rules"]),
    ]
}

/// `GET /api/v1/dispatch/auto`.
async fn auto_rules<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<AutoDispatchOverview>> {
    Ok(Json(app.dispatch().auto_overview(&caller).await?))
}

/// `PUT /api/v1/dispatch/auto`.
async fn set_auto_rules<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<AutoDispatchBody>,
) -> ApiResult<Json<AutoDispatchView>> {
    Ok(Json(app.dispatch().set_auto(&caller, body).await?))
}

/// `GET /api/v1/dispatch/thresholds`.
async fn thresholds<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<ThresholdsOverview>> {
    Ok(Json(app.duplicates().overview(&caller).await?))
}

/// `PUT /api/v1/dispatch/thresholds`.
async fn set_thresholds<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ThresholdsBody>,
) -> ApiResult<Json<ThresholdsView>> {
    Ok(Json(app.duplicates().update(&caller, body).await?))
}

/// `GET /api/v1/dispatch/suggestions/{no}`.
async fn suggestions<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Suggestions>> {
    Ok(Json(app.dispatch().suggest(&caller, &no).await?))
}

/// `POST /api/v1/dispatch/draft`.
async fn draft<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<DraftBody>,
) -> ApiResult<Json<DraftSuggestions>> {
    Ok(Json(app.dispatch().draft(&caller, body).await?))
}

/// `GET /api/v1/dispatch/similar/{no}`.
async fn similar<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Vec<SimilarRequest>>> {
    Ok(Json(app.duplicates().similar(&caller, &no).await?))
}

/// `GET /api/v1/dispatch/model`: none before the first training.
async fn current<S: Store>(State(app): State<App<S>>) -> Json<Option<ModelInfo>> {
    Json(app.dispatch_models().current().map(|t| t.info()))
}

/// `POST /api/v1/dispatch/model`.
async fn retrain<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<ModelInfo>> {
    Ok(Json(app.dispatch().retrain(&caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluationQuery {
    before: String,
}

/// `GET /api/v1/dispatch/evaluation?before=`.
async fn evaluate<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<EvaluationQuery>,
) -> ApiResult<Json<Evaluation>> {
    let before = parse_time_param("before", &q.before)?;
    Ok(Json(app.dispatch().evaluate(before).await?))
}
