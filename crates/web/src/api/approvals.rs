//! 拿地即开工 (land to construction in minutes): approval projects, the land
//! transaction, each step's pre-review, start and issue posted by its owning
//! department (from its page or its own system with an API token of its
//! unit), the record table and the reports.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::approvals::{
    ApprovalReports, ProjectBody, ProjectSummary, ProjectView, RecordRow, StepBody, StepDeed, TemplateBody,
    TemplateView, TransactionBody,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::approvals::{project_not_found, template_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::routes::Route;

/// Refusals of a new version of the plan template (the domain's codes).
pub const TEMPLATE_ERRORS: &[&str] = &[
    "approval_template_changed",
    "invalid_approval_template",
    "empty_approval_template",
    "duplicate_step",
    "unknown_prerequisite",
    "prerequisite_cycle",
    "multiple_end_steps",
    "missing_owner",
    "unknown_owner",
    "invalid_planned_duration",
];

/// Refusals of a step's pre-review, start or issue (the domain's codes).
const STEP_ERRORS: &[&str] = &[
    "approval_project_not_found",
    "approval_project_changed",
    "invalid_time",
    "unknown_step",
    "not_step_owner",
    "prerequisite_not_issued",
    "issued_in_future",
    "started_in_future",
    "pre_reviewed_in_future",
    "transaction_not_recorded",
    "before_transaction",
    "already_issued",
    "already_started",
    "issued_before_start",
    "pre_review_not_allowed",
    "pre_review_after_transaction",
    "already_pre_reviewed",
    "invalid_document_number",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadApprovals, Permission::ManageApprovals);
    vec![
        Route::get("/api/v1/approvals/projects", list::<S>)
            .permission(read)
            .doc("approvals", "拿地即开工项目（最新在前）：成交时间、施工许可时间、计时")
            .answer::<Vec<ProjectSummary>>(),
        Route::post("/api/v1/approvals/projects", create::<S>)
            .permission(manage)
            .doc("approvals", "新建拿地即开工项目（按现行审批计划模板，此后不随模板修改而变）")
            .body::<ProjectBody>()
            .answer::<ProjectView>()
            .created()
            .errors(&[
                "invalid_project_name",
                "invalid_credit_code",
                "invalid_ledger_key",
                "unknown_district",
                "unknown_owner",
            ]),
        Route::get("/api/v1/approvals/projects/{id}", get::<S>)
            .permission(read)
            .doc("approvals", "项目详情：各步骤状态、计划与实际、计时、关键路径、各部门用时、办理记录")
            .answer::<ProjectView>()
            .errors(&["approval_project_not_found"]),
        Route::post("/api/v1/approvals/projects/{id}/transaction", transaction::<S>)
            .permission(manage)
            .doc("approvals", "记录土地成交（摘牌）时间：计时开始")
            .body::<TransactionBody>()
            .answer::<ProjectView>()
            .errors(&[
                "approval_project_not_found",
                "approval_project_changed",
                "invalid_time",
                "transaction_in_future",
                "transaction_already_recorded",
                "transaction_before_pre_review",
            ]),
        step(
            "/api/v1/approvals/projects/{id}/steps/{step}/pre-review",
            "记录本单位负责步骤的容缺预审完成（须在土地出让前）",
            pre_review::<S>,
        ),
        step(
            "/api/v1/approvals/projects/{id}/steps/{step}/start",
            "记录本单位负责步骤的开始办理（精确到秒）",
            start::<S>,
        ),
        step(
            "/api/v1/approvals/projects/{id}/steps/{step}/issue",
            "记录本单位负责步骤的核发（精确到秒，附文号）；前置步骤须已核发",
            issue::<S>,
        ),
        Route::get("/api/v1/approvals/template", template::<S>)
            .permission(read)
            .doc("approvals", "现行审批计划模板（新建项目按此版本；TOML 文本）")
            .answer::<TemplateView>(),
        Route::put("/api/v1/approvals/template", save_template::<S>)
            .permission(manage)
            .doc("approvals", "保存审批计划模板的新版本（整体校验；此后新建的项目按新版本，已建项目不变）")
            .body::<TemplateBody>()
            .answer::<TemplateView>()
            .errors(TEMPLATE_ERRORS),
        Route::get("/api/v1/approvals/template/versions", template_versions::<S>)
            .permission(read)
            .doc("approvals", "审批计划模板的历次版本（最新在前）：保存人、时间、按其新建的项目数")
            .answer::<Vec<TemplateView>>(),
        Route::get("/api/v1/approvals/template/versions/{id}", template_version::<S>)
            .permission(read)
            .doc("approvals", "审批计划模板的某一版本")
            .answer::<TemplateView>()
            .errors(&["approval_template_not_found"]),
        Route::get("/api/v1/approvals/export", export::<S>)
            .permission(read)
            .doc("approvals", "导出纪录榜与统计（Excel，每项一个工作表：纪录榜、各区镇用时、关键路径部门、超时步骤）"),
        Route::get("/api/v1/approvals/records", records::<S>)
            .permission(read)
            .doc("approvals", "纪录榜：已取得施工许可的项目，用时最短在前")
            .answer::<Vec<RecordRow>>(),
        Route::get("/api/v1/approvals/reports", reports::<S>)
            .permission(read)
            .doc("approvals", "统计：各区镇用时、各部门在关键路径上的用时占比、最常超时的步骤")
            .answer::<ApprovalReports>(),
    ]
}

/// A route posting a step's pre-review, start or issue.
fn step<S: Store, H: axum::handler::Handler<T, App<S>>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    handler: H,
) -> Route<S> {
    Route::post(path, handler)
        .permission(Permission::RecordApprovals)
        .doc("approvals", summary)
        .body::<StepBody>()
        .answer::<ProjectView>()
        .errors(STEP_ERRORS)
}

/// A project id from the path (`404 approval_project_not_found` for anything else).
pub fn project_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(project_not_found()))?)
}

/// A template version id from the path (`404 approval_template_not_found` for anything else).
pub fn template_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(template_not_found()))?)
}

async fn template<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.approvals().template().await?))
}

async fn save_template<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<TemplateBody>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.approvals().save_template(&caller, body).await?))
}

async fn template_versions<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
) -> ApiResult<Json<Vec<TemplateView>>> {
    Ok(Json(app.approvals().template_versions().await?))
}

async fn template_version<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.approvals().template_version(template_id(&id)?).await?))
}

async fn list<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<Vec<ProjectSummary>>> {
    Ok(Json(app.approvals().list().await?))
}

async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ProjectBody>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    Ok((StatusCode::CREATED, Json(app.approvals().create(&caller, body).await?)))
}

async fn get<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(app.approvals().get(&caller, project_id(&id)?).await?))
}

async fn transaction<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TransactionBody>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(app.approvals().record_transaction(&caller, project_id(&id)?, body).await?))
}

async fn deed<S: Store>(
    app: App<S>,
    caller: mashangban_app::Caller,
    (id, step): (String, String),
    deed: StepDeed,
    body: StepBody,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(app.approvals().record_step(&caller, project_id(&id)?, &step, deed, body).await?))
}

async fn pre_review<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(path): Path<(String, String)>,
    JsonBody(body): JsonBody<StepBody>,
) -> ApiResult<Json<ProjectView>> {
    deed(app, caller, path, StepDeed::PreReview, body).await
}

async fn start<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(path): Path<(String, String)>,
    JsonBody(body): JsonBody<StepBody>,
) -> ApiResult<Json<ProjectView>> {
    deed(app, caller, path, StepDeed::Start, body).await
}

async fn issue<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(path): Path<(String, String)>,
    JsonBody(body): JsonBody<StepBody>,
) -> ApiResult<Json<ProjectView>> {
    deed(app, caller, path, StepDeed::Issue, body).await
}

/// `GET /api/v1/approvals/export`: an .xlsx download.
async fn export<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Response> {
    let bytes = app.approvals().export(&caller).await?;
    Ok(crate::download::xlsx(bytes, "拿地即开工纪录榜与统计.xlsx", "approvals.xlsx"))
}

async fn records<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<Vec<RecordRow>>> {
    Ok(Json(app.approvals().records().await?))
}

async fn reports<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<ApprovalReports>> {
    Ok(Json(app.approvals().reports().await?))
}
