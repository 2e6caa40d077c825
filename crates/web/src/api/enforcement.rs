//! 环境执法 (environmental enforcement): inspections (检查记录) and
//! enforcement cases (执法案件) opened from an exceedance alert or an
//! inspection and moved 立案 → 调查取证 → 告知 → 决定 → 执行 → 结案 with
//! deadlines in working days and their history.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use mashangban_app::enforcement::{
    AdvanceBody, CaseDetail, CaseQuery, CaseView, InspectionBody, InspectionView, OpenCaseBody,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::enforcement::{case_not_found, inspection_not_found};
use mashangban_store::Store;
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

/// The inspections list's filter: `enterprise` (credit code).
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct InspectionQuery {
    #[serde(default)]
    pub enterprise: Option<String>,
}

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle) = (Permission::ReadEnforcement, Permission::HandleEnforcement);
    vec![
        Route::get("/api/v1/enforcement/cases", cases::<S>)
            .permission(read)
            .doc("enforcement", "执法案件（最新在前）：可按阶段、是否超期、企业筛选；承办人和单位领导只看本单位案件")
            .query(&[
                ("stage", "阶段：filed、investigating、notified、decided、executing、closed"),
                ("overdue", "true：只看当前阶段已超期的未结案件"),
                ("enterprise", "企业统一社会信用代码"),
            ])
            .answer::<Vec<CaseView>>()
            .errors(&["invalid_parameter", "invalid_stage", "invalid_credit_code"]),
        Route::post("/api/v1/enforcement/cases", open::<S>)
            .permission(handle)
            .doc("enforcement", "立案：由一条待处置的超标报警（alert）或一条检查记录（inspection）立案；报警随即转为“已转办”，不能再排除")
            .body::<OpenCaseBody>()
            .answer::<CaseDetail>()
            .created()
            .errors(&[
                "invalid_case_origin",
                "monitoring_alert_not_found",
                "inspection_not_found",
                "alert_not_open",
                "inspection_has_case",
                "not_responsible_unit",
                "not_case_unit",
                "enterprise_required",
                "unknown_enterprise",
                "invalid_credit_code",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/enforcement/cases/{id}", case::<S>)
            .permission(read)
            .doc("enforcement", "案件详情：来源报警或检查记录、各阶段期限、处罚决定、全部变更历史、可进入的下一阶段")
            .answer::<CaseDetail>()
            .errors(&["case_not_found"]),
        Route::post("/api/v1/enforcement/cases/{id}/advance", advance::<S>)
            .permission(handle)
            .doc(
                "enforcement",
                "推进案件到下一阶段（或由单位领导提前结案）；离开“决定”阶段须填写处罚决定，结案须填写结案理由；新阶段的期限按工作日计算",
            )
            .body::<AdvanceBody>()
            .answer::<CaseDetail>()
            .errors(&[
                "case_not_found",
                "invalid_stage",
                "illegal_case_transition",
                "case_closed",
                "case_changed",
                "decision_required",
                "decision_not_expected",
                "closed_reason_required",
                "invalid_penalty",
                "leader_required",
                "not_case_unit",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/enforcement/inspections", inspections::<S>)
            .permission(read)
            .doc("enforcement", "检查记录（最新在前）；承办人和单位领导只看本单位的")
            .query(&[("enterprise", "企业统一社会信用代码")])
            .answer::<Vec<InspectionView>>()
            .errors(&["invalid_parameter", "invalid_credit_code"]),
        Route::post("/api/v1/enforcement/inspections", record::<S>)
            .permission(handle)
            .doc("enforcement", "记录一次现场检查：检查人员、时间、地点、企业、检查情况、采样及检测结果")
            .body::<InspectionBody>()
            .answer::<InspectionView>()
            .created()
            .errors(&[
                "text_required",
                "text_too_long",
                "invalid_text",
                "invalid_credit_code",
                "invalid_samples",
                "invalid_time",
                "inspection_in_future",
                "monitoring_point_not_found",
                "unknown_enterprise",
                "unknown_unit",
            ]),
        Route::get("/api/v1/enforcement/inspections/{id}", inspection::<S>)
            .permission(read)
            .doc("enforcement", "检查记录详情")
            .answer::<InspectionView>()
            .errors(&["inspection_not_found"]),
    ]
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_parameter", "查询参数无法读取"))?;
    Ok(q)
}

fn case_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(case_not_found()))?)
}

fn inspection_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(inspection_not_found()))?)
}

async fn cases<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<CaseQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<CaseView>>> {
    Ok(Json(app.enforcement().cases(&caller, query(q)?).await?))
}

async fn open<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<OpenCaseBody>,
) -> ApiResult<(StatusCode, Json<CaseDetail>)> {
    Ok((StatusCode::CREATED, Json(app.enforcement().open_case(&caller, body).await?)))
}

async fn case<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(app.enforcement().case(&caller, case_id(&id)?).await?))
}

async fn advance<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AdvanceBody>,
) -> ApiResult<Json<CaseDetail>> {
    Ok(Json(app.enforcement().advance(&caller, case_id(&id)?, body).await?))
}

async fn inspections<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<InspectionQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<InspectionView>>> {
    let q = query(q)?;
    Ok(Json(app.enforcement().inspections(&caller, q.enterprise.as_deref()).await?))
}

async fn record<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<InspectionBody>,
) -> ApiResult<(StatusCode, Json<InspectionView>)> {
    Ok((StatusCode::CREATED, Json(app.enforcement().record_inspection(&caller, body).await?)))
}

async fn inspection<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<InspectionView>> {
    Ok(Json(app.enforcement().inspection(&caller, inspection_id(&id)?).await?))
}
