//! The secretary-mayor direct line (书记市长直通车): the public intake,
//! progress, rating and published replies; the leaders' office's entry of
//! letters and calls, correction, screening and review; the leader's instruction; the lead unit's
//! return (退回) and the office's re-submission, re-dispatch or refusal of the return; the
//! monthly report and its Excel export.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use mashangban_app::direct_line::{
    ConvertBody, CorrectBody, InstructBody, ItemQuery, ItemView, MergeBody, MonthlyReport, PublicItemBody,
    PublicProgress, PublishedView, RateBody, RedispatchBody, RefuseReturnBody, ResubmitBody, ReturnBody, ReviewBody,
    StaffItemBody, SubmitBody, Taken,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::direct_line::item_not_found;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

const INTAKE_ERRORS: &[&str] =
    &["text_required", "text_too_long", "invalid_text", "invalid_phone", "invalid_credit_code", "rate_limited"];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle, instruct, reports) = (
        Permission::ReadDirectLine,
        Permission::HandleDirectLine,
        Permission::InstructDirectLine,
        Permission::ReadDirectLineReports,
    );
    vec![
        Route::post("/api/v1/public/direct-line", submit::<S>)
            .public()
            .doc("direct_line", "书记市长直通车：企业和群众来信（答复编号和查询码）")
            .body::<PublicItemBody>()
            .answer::<Taken>()
            .created()
            .errors(INTAKE_ERRORS),
        Route::get("/api/v1/public/direct-line/published", published::<S>)
            .public()
            .doc("direct_line", "公开的直通车答复（经来信人同意，个人信息脱敏）")
            .answer::<Vec<PublishedView>>(),
        Route::get("/api/v1/public/direct-line/{no}", progress::<S>)
            .public()
            .doc("direct_line", "凭编号和查询码查看直通车来信的办理进度和经审核的答复")
            .query(&[("code", "查询码")])
            .answer::<PublicProgress>()
            .errors(&["direct_line_not_found", "rate_limited"]),
        Route::post("/api/v1/public/direct-line/{no}/rate", rate::<S>)
            .public()
            .doc("direct_line", "来信人评价答复（一次）")
            .body::<RateBody>()
            .answer::<PublicProgress>()
            .errors(&["direct_line_not_found", "direct_line_wrong_state", "already_rated", "rate_limited"]),
        Route::get("/api/v1/direct-line", list::<S>)
            .permission(read)
            .doc("direct_line", "直通车来信（数据范围内；按队列、月份筛选）")
            .query(&[("queue", "new、screened、instructed、returned 或 review"), ("month", "收件年月，如 2026-12")])
            .answer::<Vec<ItemView>>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/direct-line", enter::<S>)
            .permission(handle)
            .doc("direct_line", "市领导办公室录入来信、来电")
            .body::<StaffItemBody>()
            .answer::<ItemView>()
            .created()
            .errors(&[
                "invalid_source",
                "text_required",
                "text_too_long",
                "invalid_text",
                "invalid_phone",
                "invalid_credit_code",
            ]),
        Route::get("/api/v1/direct-line/reports", report::<S>)
            .permission(reports)
            .doc("direct_line", "直通车月报：收件、批示、按时办结、满意率，按主办单位和批示领导")
            .query(&[("month", "年月，如 2026-12；默认本月")])
            .answer::<MonthlyReport>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/direct-line/reports/export", export::<S>)
            .permission(reports)
            .doc("direct_line", "导出直通车月报（Excel）")
            .query(&[("month", "年月，如 2026-12；默认本月")])
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/direct-line/{id}", detail::<S>)
            .permission(read)
            .doc("direct_line", "一件直通车来信：批示、交办的诉求、答复和历史")
            .answer::<ItemView>()
            .errors(&["direct_line_not_found"]),
        Route::post("/api/v1/direct-line/{id}/submit", submit_to_leader::<S>)
            .permission(handle)
            .doc("direct_line", "呈报市领导批示")
            .body::<SubmitBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "text_too_long",
                "invalid_text",
                "invalid_leader",
                "unknown_category",
            ]),
        Route::post("/api/v1/direct-line/{id}/correct", correct::<S>)
            .permission(handle)
            .doc(
                "direct_line",
                "更正待甄别来信的分类、企业（统一社会信用代码，空为个人来信）或标题，每项记入办理记录（原值→新值）",
            )
            .body::<CorrectBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "nothing_to_correct",
                "unknown_category",
                "invalid_credit_code",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::post("/api/v1/direct-line/{id}/merge", merge::<S>)
            .permission(handle)
            .doc("direct_line", "合并到另一件直通车来信")
            .body::<MergeBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "text_too_long",
                "invalid_text",
                "merge_target_invalid",
            ]),
        Route::post("/api/v1/direct-line/{id}/convert", convert::<S>)
            .permission(handle)
            .doc("direct_line", "转为普通诉求（按诉求受理流程派单办理）")
            .body::<ConvertBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "text_too_long",
                "invalid_text",
                "unknown_category",
                "invalid_phone",
            ]),
        Route::post("/api/v1/direct-line/{id}/instruct", instruct_item::<S>)
            .permission(instruct)
            .doc("direct_line", "市领导批示：批示内容、主办和协办单位、办理时限（工作日）；随即交办并督办")
            .body::<InstructBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "instruction_units_required",
                "invalid_time_limit",
                "lead_in_co_units",
                "too_many_co_units",
                "unknown_unit",
                "text_required",
                "text_too_long",
            ]),
        Route::post("/api/v1/direct-line/{id}/return", return_item::<S>)
            .permission(Permission::ReturnDirectLine)
            .doc("direct_line", "主办单位退回批示件（须写明理由）：诉求退单，来信进入市领导办公室「单位退回」队列")
            .body::<ReturnBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "direct_line_return_limit",
                "not_lead_unit",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::post("/api/v1/direct-line/{id}/resubmit", resubmit::<S>)
            .permission(handle)
            .doc("direct_line", "单位退回的来信重新呈报原批示领导，由领导重新批示（原批示留在记录中）")
            .body::<ResubmitBody>()
            .answer::<ItemView>()
            .errors(&["direct_line_not_found", "direct_line_wrong_state", "text_too_long", "invalid_text"]),
        Route::post("/api/v1/direct-line/{id}/redispatch", redispatch::<S>)
            .permission(handle)
            .doc("direct_line", "按原批示改派：批示误写承办单位时，市领导办公室改派其他单位，批示和办理时限不变")
            .body::<RedispatchBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "instruction_units_required",
                "unknown_unit",
                "same_unit",
                "lead_in_co_units",
                "too_many_co_units",
                "text_too_long",
            ]),
        Route::post("/api/v1/direct-line/{id}/refuse-return", refuse_return::<S>)
            .permission(handle)
            .doc(
                "direct_line",
                "驳回单位退回（须写明理由）：批示件退回原主办单位办理，办理时限不变或改为新的时限；可带诉求版本号防止覆盖",
            )
            .body::<RefuseReturnBody>()
            .answer::<ItemView>()
            .errors(&[
                "direct_line_not_found",
                "direct_line_wrong_state",
                "version_changed",
                "text_required",
                "text_too_long",
                "invalid_text",
                "invalid_datetime",
                "invalid_time_limit",
            ]),
        Route::post("/api/v1/direct-line/{id}/review", review::<S>)
            .permission(handle)
            .doc("direct_line", "审核承办单位的答复：同意（答复来信人并办结）或退回重新答复（写明理由）")
            .body::<ReviewBody>()
            .answer::<ItemView>()
            .errors(&["direct_line_not_found", "no_reply_to_review", "text_required", "text_too_long"]),
    ]
}

/// A direct-line item id from the path (`404 direct_line_not_found` for anything else).
pub fn item_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(item_not_found()))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeQuery {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    #[serde(default)]
    pub month: Option<String>,
}

async fn submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<PublicItemBody>,
) -> ApiResult<(StatusCode, Json<Taken>)> {
    Ok((StatusCode::CREATED, Json(app.direct_line().submit(&caller, body).await?)))
}

async fn published<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<PublishedView>>> {
    Ok(Json(app.direct_line().published(50).await?))
}

async fn progress<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(q): Query<CodeQuery>,
) -> ApiResult<Json<PublicProgress>> {
    Ok(Json(app.direct_line().progress(&caller, &no, q.code.as_deref().unwrap_or_default()).await?))
}

async fn rate<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(body): JsonBody<RateBody>,
) -> ApiResult<Json<PublicProgress>> {
    Ok(Json(app.direct_line().rate(&caller, &no, body).await?))
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<ItemQuery>,
) -> ApiResult<Json<Vec<ItemView>>> {
    Ok(Json(app.direct_line().list(&caller, &q).await?))
}

async fn enter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<StaffItemBody>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    Ok((StatusCode::CREATED, Json(app.direct_line().enter(&caller, body).await?)))
}

async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().get(&caller, item_id(&id)?).await?))
}

async fn submit_to_leader<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SubmitBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().submit_to_leader(&caller, item_id(&id)?, body).await?))
}

async fn correct<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CorrectBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().correct(&caller, item_id(&id)?, body).await?))
}

async fn merge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MergeBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().merge(&caller, item_id(&id)?, body).await?))
}

async fn convert<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConvertBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().convert(&caller, item_id(&id)?, body).await?))
}

async fn instruct_item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<InstructBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().instruct(&caller, item_id(&id)?, body).await?))
}

async fn return_item<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReturnBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().return_to_office(&caller, item_id(&id)?, body).await?))
}

async fn resubmit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResubmitBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().resubmit(&caller, item_id(&id)?, body).await?))
}

async fn redispatch<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RedispatchBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().redispatch(&caller, item_id(&id)?, body).await?))
}

async fn refuse_return<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RefuseReturnBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().refuse_return(&caller, item_id(&id)?, body).await?))
}

async fn review<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.direct_line().review(&caller, item_id(&id)?, body).await?))
}

async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Json<MonthlyReport>> {
    Ok(Json(app.direct_line().report(&caller, q.month.as_deref()).await?))
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Response> {
    let bytes = app.direct_line().report_xlsx(&caller, q.month.as_deref()).await?;
    Ok(crate::download::xlsx(bytes, "直通车月报.xlsx", "direct-line-report.xlsx"))
}
