//! Visits to enterprises (走访) and walking-office sessions (行走的办公室):
//! plan, record (problems solved on the spot or turned into requests),
//! cancel, read within the enterprise scope, and the reports by cadre, town
//! and month with their Excel export.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::visits::{CancelBody, PlanBody, RecordBody, VisitQuery, VisitReport, VisitView};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::visit::visit_not_found;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

const FILTERS: &[(&str, &str)] = &[
    ("month", "计划走访的年月，如 2026-12"),
    ("town", "镇街编码"),
    ("state", "planned（计划中）、recorded（已走访）或 cancelled（已取消）"),
    ("enterprise", "企业统一社会信用代码"),
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, record, reports) = (Permission::ReadVisits, Permission::RecordVisits, Permission::ReadVisitReports);
    vec![
        Route::get("/api/v1/visits", list::<S>)
            .permission(read)
            .doc("visits", "走访记录（数据范围内；按月份、镇街、状态、企业筛选）")
            .query(FILTERS)
            .answer::<Vec<VisitView>>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/visits", plan::<S>)
            .permission(record)
            .doc("visits", "计划走访或“行走的办公室”（带队人、企业、时间、参加部门）")
            .body::<PlanBody>()
            .answer::<VisitView>()
            .created()
            .errors(&[
                "enterprise_not_found",
                "invalid_time",
                "invalid_visit_lead",
                "walking_office_lead",
                "walking_office_units",
                "unknown_unit",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/visits/reports", report::<S>)
            .permission(reports)
            .doc("visits", "走访统计：按干部、镇街、月份的走访、逾期、问题、现场办结、办结、超期，及应走访未走访")
            .query(FILTERS)
            .answer::<VisitReport>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/visits/reports/export", export::<S>)
            .permission(reports)
            .doc("visits", "导出走访统计（Excel）")
            .query(FILTERS)
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/visits/{id}", detail::<S>)
            .permission(read)
            .doc("visits", "一次走访：记录、每个问题的办理状态和走访的历史")
            .answer::<VisitView>()
            .errors(&["visit_not_found"]),
        Route::post("/api/v1/visits/{id}/record", record_visit::<S>)
            .permission(record)
            .doc("visits", "记录走访：参加人员、纪要、问题（现场办结须写明谁办结、如何办结；其余转为诉求办理）")
            .body::<RecordBody>()
            .answer::<VisitView>()
            .errors(&[
                "visit_not_found",
                "visit_not_planned",
                "visit_in_future",
                "invalid_time",
                "solved_needs_who_and_how",
                "instruction_required",
                "unknown_category",
                "visit_contact_required",
                "too_many_problems",
                "too_many_attendees",
                "invalid_phone",
                "act_now_for_enterprises",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::post("/api/v1/visits/{id}/cancel", cancel::<S>)
            .permission(record)
            .doc("visits", "取消计划中的走访（写明原因）")
            .body::<CancelBody>()
            .answer::<VisitView>()
            .errors(&["visit_not_found", "visit_not_planned", "text_required", "text_too_long"]),
        Route::get("/api/v1/enterprises/{code}/visits", of_enterprise::<S>)
            .permission(read)
            .doc("visits", "某企业的走访记录")
            .answer::<Vec<VisitView>>()
            .errors(&["enterprise_not_found"]),
    ]
}

/// The listing's query parameters.
pub fn visit_query(q: Result<Query<VisitQuery>, QueryRejection>) -> ApiResult<VisitQuery> {
    let Query(q) =
        q.map_err(|_| AppError::bad_request("unknown_parameter", "查询参数只有 month、town、state、enterprise"))?;
    Ok(q)
}

/// A visit id from the path (`404 visit_not_found` for anything else).
pub fn visit_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(visit_not_found()))?)
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<VisitQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<VisitView>>> {
    Ok(Json(app.visits().list(&caller, &visit_query(q)?).await?))
}

async fn plan<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<PlanBody>,
) -> ApiResult<(StatusCode, Json<VisitView>)> {
    Ok((StatusCode::CREATED, Json(app.visits().plan(&caller, body).await?)))
}

async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<VisitView>> {
    Ok(Json(app.visits().get(&caller, visit_id(&id)?).await?))
}

async fn record_visit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RecordBody>,
) -> ApiResult<Json<VisitView>> {
    Ok(Json(app.visits().record(&caller, visit_id(&id)?, body).await?))
}

async fn cancel<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CancelBody>,
) -> ApiResult<Json<VisitView>> {
    Ok(Json(app.visits().cancel(&caller, visit_id(&id)?, body).await?))
}

async fn of_enterprise<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<VisitView>>> {
    Ok(Json(app.visits().of_enterprise(&caller, &code).await?))
}

async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<VisitQuery>, QueryRejection>,
) -> ApiResult<Json<VisitReport>> {
    Ok(Json(app.visits().report(&caller, &visit_query(q)?).await?))
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<VisitQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let bytes = app.visits().report_xlsx(&caller, &visit_query(q)?).await?;
    Ok(crate::download::xlsx(bytes, "走访统计.xlsx", "visits-report.xlsx"))
}
