//! 生态环境损害赔偿 (ecological-damage compensation): the expert pool and
//! compensation matters opened from enforcement cases — assessment, expert
//! draws, consultation, the agreement, payments, the remediation review and
//! closure — and the report by town.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use mashangban_app::compensation::{
    CompensationReport, DrawBody, ExpertActiveBody, ExpertBody, ExpertView, MatterActionBody, MatterDetail, MatterView,
    OpenMatterBody, ReportQuery, SupervisionQuery, SupervisionView,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::compensation::{expert_not_found, matter_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

/// The matters list's filter.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct MatterQuery {
    /// A stage code.
    #[serde(default)]
    pub stage: Option<String>,
    /// The enterprise's credit code.
    #[serde(default)]
    pub enterprise: Option<String>,
}

const ACTION_ERRORS: &[&str] = &[
    "matter_not_found",
    "matter_changed",
    "matter_closed",
    "illegal_matter_transition",
    "not_case_unit",
    "leader_required",
    "invalid_action",
    "invalid_amount",
    "invalid_date",
    "invalid_instalments",
    "experts_required",
    "appraiser_required",
    "consultation_required",
    "overpayment",
    "not_paid_in_full",
    "remediation_not_passed",
    "passed_required",
    "text_required",
    "text_too_long",
    "invalid_text",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, handle) = (Permission::ReadEnforcement, Permission::HandleEnforcement);
    vec![
        Route::get("/api/v1/compensation/experts", experts::<S>)
            .permission(read)
            .doc("compensation", "专家库：姓名、专业领域、工作单位、是否在库；回避企业只对专家库管理员显示")
            .answer::<Vec<ExpertView>>(),
        Route::post("/api/v1/compensation/experts", add_expert::<S>)
            .permission(Permission::ManageExperts)
            .doc("compensation", "专家入库：姓名、专业领域、工作单位、须回避的企业（统一社会信用代码）")
            .body::<ExpertBody>()
            .answer::<ExpertView>()
            .created()
            .errors(&["text_required", "text_too_long", "invalid_text", "invalid_specialty", "invalid_credit_code", "too_many_conflicts"]),
        Route::post("/api/v1/compensation/experts/{id}/active", set_expert_active::<S>)
            .permission(Permission::ManageExperts)
            .doc("compensation", "专家出库（active=false，不再参加抽取）或重新入库")
            .body::<ExpertActiveBody>()
            .answer::<ExpertView>()
            .errors(&["expert_not_found"]),
        Route::get("/api/v1/compensation/matters", matters::<S>)
            .permission(read)
            .doc("compensation", "赔偿事项（最新在前）：可按阶段、企业筛选；承办人和单位领导只看本单位的")
            .query(&[
                ("stage", "阶段：assessing、consulting、performing、reviewing、closed"),
                ("enterprise", "企业统一社会信用代码"),
            ])
            .answer::<Vec<MatterView>>()
            .errors(&["invalid_parameter", "invalid_stage", "invalid_credit_code"]),
        Route::post("/api/v1/compensation/matters", open::<S>)
            .permission(handle)
            .doc("compensation", "由执法案件启动生态环境损害赔偿：简易程序（专家评估）或一般程序（鉴定机构评估）；一案一事项")
            .body::<OpenMatterBody>()
            .answer::<MatterDetail>()
            .created()
            .errors(&["case_not_found", "case_has_matter", "invalid_procedure", "not_case_unit", "text_too_long", "invalid_text"]),
        Route::get("/api/v1/compensation/matters/{id}", matter::<S>)
            .permission(read)
            .doc("compensation", "赔偿事项详情：评估、抽取记录（可凭种子复现）、协议及缴款计划、全部历史和当前可办操作")
            .answer::<MatterDetail>()
            .errors(&["matter_not_found"]),
        Route::post("/api/v1/compensation/matters/{id}/draw", draw::<S>)
            .permission(handle)
            .doc("compensation", "从专家库随机抽取专家（排除出库、专业不符和与企业有利害关系者），记录种子和候选名单以便复现")
            .body::<DrawBody>()
            .answer::<MatterDetail>()
            .errors(&[
                "matter_not_found",
                "matter_changed",
                "matter_closed",
                "illegal_matter_transition",
                "not_case_unit",
                "invalid_purpose",
                "invalid_specialty",
                "invalid_draw_size",
                "not_enough_experts",
                "appraiser_required",
            ]),
        Route::post("/api/v1/compensation/matters/{id}/actions", act::<S>)
            .permission(handle)
            .doc(
                "compensation",
                "办理赔偿事项：评估（assess）、磋商（consult）、签订协议（sign，单位领导）、缴款（pay）、报告修复完成（report_remediation）、修复效果评估（review）、结案（close，单位领导）、终止（terminate，单位领导）",
            )
            .body::<MatterActionBody>()
            .answer::<MatterDetail>()
            .errors(ACTION_ERRORS),
        Route::get("/api/v1/compensation/report", report::<S>)
            .permission(read)
            .doc("compensation", "赔偿统计：按企业所在镇街汇总事项数、协议数、结案数、协议金额、已缴金额，以及从超标到立案、从立案到签订协议的平均天数")
            .query(&[("from", "起始日期（YYYY-MM-DD，按启动日期）"), ("to", "截止日期（YYYY-MM-DD）")])
            .answer::<CompensationReport>()
            .errors(&["invalid_parameter", "invalid_date"]),
        Route::get("/api/v1/compensation/supervisions", supervisions::<S>)
            .permission(read)
            .doc("compensation", "逾期督办：赔偿协议中逾期未缴的分期赔偿金和逾期未完成的修复义务，每项督办一次，履行后自动办结；承办人和单位领导只看本单位的")
            .query(&[("open", "true 只看未办结的督办")])
            .answer::<Vec<SupervisionView>>()
            .errors(&["invalid_parameter"]),
    ]
}

async fn supervisions<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<SupervisionQuery>,
) -> ApiResult<Json<Vec<SupervisionView>>> {
    Ok(Json(app.compensation().supervisions(&caller, q).await?))
}

fn matter_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(matter_not_found()))?)
}

async fn experts<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<ExpertView>>> {
    Ok(Json(app.compensation().experts(&caller).await?))
}

async fn add_expert<S: Store>(
    State(app): State<App<S>>,
    JsonBody(body): JsonBody<ExpertBody>,
) -> ApiResult<(StatusCode, Json<ExpertView>)> {
    Ok((StatusCode::CREATED, Json(app.compensation().add_expert(body).await?)))
}

async fn set_expert_active<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExpertActiveBody>,
) -> ApiResult<Json<ExpertView>> {
    let id: i64 = id.parse().map_err(|_| AppError::from(expert_not_found()))?;
    Ok(Json(app.compensation().set_expert_active(id, body).await?))
}

async fn matters<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<MatterQuery>,
) -> ApiResult<Json<Vec<MatterView>>> {
    Ok(Json(app.compensation().matters(&caller, q.stage.as_deref(), q.enterprise.as_deref()).await?))
}

async fn open<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<OpenMatterBody>,
) -> ApiResult<(StatusCode, Json<MatterDetail>)> {
    Ok((StatusCode::CREATED, Json(app.compensation().open(&caller, body).await?)))
}

async fn matter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<MatterDetail>> {
    Ok(Json(app.compensation().matter(&caller, matter_id(&id)?).await?))
}

async fn draw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DrawBody>,
) -> ApiResult<Json<MatterDetail>> {
    Ok(Json(app.compensation().draw(&caller, matter_id(&id)?, body).await?))
}

async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MatterActionBody>,
) -> ApiResult<Json<MatterDetail>> {
    Ok(Json(app.compensation().act(&caller, matter_id(&id)?, body).await?))
}

async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Json<CompensationReport>> {
    Ok(Json(app.compensation().report(&caller, q).await?))
}
