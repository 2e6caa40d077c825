//! The industry support fund (产业扶持资金): policies and measures, an
//! enterprise's application (or its liaison cadre's on its behalf), the
//! review steps, objections during the public notice and their answers, and
//! the public notice itself.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};

use crate::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::fund::{
    ApplicationList, ApplicationQuery, ApplicationView, ApplyBody, DecisionBody, Deed, FundReportView, MeasureBody,
    MeasureView, NoticeRow, ObjectionView, PolicyBody, PolicyView, ReportParams, ReviewBody, TextBody,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::fund::{application_not_found, objection_not_found, policy_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::routes::Route;

const TAG: &str = "fund";

/// Refusals of a measure's definition.
const MEASURE_ERRORS: &[&str] = &[
    "invalid_fund_measure",
    "invalid_eligibility_rule",
    "invalid_award_formula",
    "invalid_fund_amount",
    "duplicate_fund_measure",
];

/// Refusals of a review step.
const STEP_ERRORS: &[&str] = &[
    "fund_application_not_found",
    "fund_application_changed",
    "invalid_fund_transition",
    "invalid_fund_amount",
    "award_over_cap",
    "zero_award",
    "reason_required",
    "budget_exceeded",
    "notice_not_over",
    "objections_open",
    "not_town_reviewer",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/v1/fund/policies", policies::<S>)
            .public()
            .doc(TAG, "产业扶持政策：资金总额、各年度安排与使用、扶持措施（条件与公式）")
            .answer::<Vec<PolicyView>>(),
        Route::post("/api/v1/fund/policies", create_policy::<S>)
            .permission(Permission::ManageFund)
            .doc(TAG, "新建扶持政策及其措施：各年度资金合计须等于总额，条件与公式须能解析")
            .body::<PolicyBody>()
            .answer::<PolicyView>()
            .created()
            .errors(&[
                "invalid_fund_policy",
                "invalid_fund_allocations",
                "allocation_sum_mismatch",
                "invalid_fund_amount",
                "invalid_fund_measure",
                "invalid_eligibility_rule",
                "invalid_award_formula",
                "duplicate_fund_measure",
            ]),
        Route::get("/api/v1/fund/policies/{id}", policy::<S>)
            .public()
            .doc(TAG, "一项扶持政策")
            .answer::<PolicyView>()
            .errors(&["fund_policy_not_found"]),
        Route::post("/api/v1/fund/policies/{id}/measures", add_measure::<S>)
            .permission(Permission::ManageFund)
            .doc(TAG, "为政策增加一项扶持措施")
            .body::<MeasureBody>()
            .answer::<MeasureView>()
            .created()
            .errors(MEASURE_ERRORS),
        Route::get("/api/v1/fund/applications", list::<S>)
            .doc(TAG, "申报列表（企业只见本企业，联系干部见所联系企业，镇街见本镇街）")
            .query(&[
                ("policy", "政策编号"),
                ("measure", "措施编号"),
                ("state", "状态：submitted、town_reviewed、department_reviewed、publicised、paid、rejected"),
                ("year", "申报年度"),
                ("town", "镇街的单位代码"),
                ("credit_code", "统一社会信用代码"),
                ("limit", "每页条数（1–500）"),
                ("offset", "跳过条数"),
            ])
            .answer::<ApplicationList>(),
        Route::get("/api/v1/fund/applications/export", export::<S>)
            .doc(TAG, "导出申报与核定金额（Excel），筛选条件同列表")
            .query(&[
                ("policy", "政策编号"),
                ("measure", "措施编号"),
                ("state", "状态"),
                ("year", "申报年度"),
                ("town", "镇街的单位代码"),
                ("credit_code", "统一社会信用代码"),
            ])
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/fund/reports", report::<S>)
            .doc(
                TAG,
                "扶持资金统计：某政策某年度的资金安排与使用，及可见范围内的申报按措施、镇街、行业汇总（与统计页面和 Excel 相同）",
            )
            .query(&[
                ("policy", "政策编号；缺省为最新的政策"),
                ("year", "预算年度；缺省为当年（或政策此前的最后一年）"),
                ("period", "政策与年度合写为「政策编号:年度」，如 3:2023（统计页面的选择框），与 policy、year 二选一"),
            ])
            .answer::<FundReportView>()
            .errors(&[
                "invalid_parameter",
                "invalid_query",
                "duplicate_parameter",
                "fund_policy_not_found",
                "no_allocation_for_year",
            ]),
        Route::post("/api/v1/fund/applications", apply::<S>)
            .permission(Permission::ApplyFund)
            .doc(TAG, "申报：按措施所需数据填报，自动判断条件并按公式计算奖励")
            .body::<ApplyBody>()
            .answer::<ApplicationView>()
            .created()
            .errors(&[
                "fund_measure_not_found",
                "enterprise_not_found",
                "invalid_credit_code",
                "credit_code_required",
                "fund_not_your_enterprise",
                "fund_account_without_enterprise",
                "no_allocation_for_year",
                "missing_required_data",
                "unknown_data_field",
                "invalid_data_value",
                "not_eligible",
                "award_not_computable",
                "invalid_fund_materials",
            ]),
        Route::get("/api/v1/fund/applications/{id}", get::<S>)
            .doc(TAG, "申报详情：数据、材料、办理记录、异议")
            .answer::<ApplicationView>()
            .errors(&["fund_application_not_found"]),
        step(
            "/api/v1/fund/applications/{id}/town-review",
            "初审通过（企业所在镇街），可调整金额并说明理由",
            Permission::ReviewFundTown,
            town_review::<S>,
        ),
        step(
            "/api/v1/fund/applications/{id}/department-review",
            "复审通过（主管部门），核定金额占用当年度资金，余额不足即拒绝",
            Permission::ReviewFundDepartment,
            department_review::<S>,
        ),
        decision("/api/v1/fund/applications/{id}/publicise", "发布公示（按政策规定的工作日数）", publicise::<S>),
        decision("/api/v1/fund/applications/{id}/pay", "记录拨付（公示期满且异议均已答复）", pay::<S>),
        // The town may reject while an application is 受理, the department at any open step: checked by the service.
        Route::post("/api/v1/fund/applications/{id}/reject", reject::<S>)
            .doc(TAG, "不予支持（须说明理由），已占用资金随即释放")
            .body::<DecisionBody>()
            .answer::<ApplicationView>()
            .errors(STEP_ERRORS),
        Route::post("/api/v1/fund/applications/{id}/objections", object::<S>)
            .doc(TAG, "对公示中的申报提出异议（须登录，公示期内）")
            .body::<TextBody>()
            .answer::<ObjectionView>()
            .created()
            .errors(&["fund_application_not_found", "not_in_notice", "reason_required"]),
        Route::post("/api/v1/fund/objections/{id}/answer", answer::<S>)
            .permission(Permission::ReviewFundDepartment)
            .doc(TAG, "答复异议")
            .body::<TextBody>()
            .answer::<ObjectionView>()
            .errors(&["fund_objection_not_found", "objection_already_answered", "reason_required"]),
        Route::get("/api/v1/fund/notices", notices::<S>)
            .public()
            .doc(TAG, "公示：企业名称、措施、拟扶持金额与公示截止时间（不含个人信息）")
            .answer::<Vec<NoticeRow>>(),
    ]
}

fn step<S: Store, H: axum::handler::Handler<T, App<S>>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    permission: Permission,
    handler: H,
) -> Route<S> {
    Route::post(path, handler)
        .permission(permission)
        .doc(TAG, summary)
        .body::<ReviewBody>()
        .answer::<ApplicationView>()
        .errors(STEP_ERRORS)
}

fn decision<S: Store, H: axum::handler::Handler<T, App<S>>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    handler: H,
) -> Route<S> {
    Route::post(path, handler)
        .permission(Permission::ReviewFundDepartment)
        .doc(TAG, summary)
        .body::<DecisionBody>()
        .answer::<ApplicationView>()
        .errors(STEP_ERRORS)
}

fn id_of(id: &str, missing: fn() -> mashangban_domain::DomainError) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(missing()))?)
}

async fn policies<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<PolicyView>>> {
    Ok(Json(app.fund().policies().await?))
}

async fn create_policy<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    Ok((StatusCode::CREATED, Json(app.fund().create_policy(&caller, body).await?)))
}

async fn policy<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> ApiResult<Json<PolicyView>> {
    Ok(Json(app.fund().policy(id_of(&id, policy_not_found)?).await?))
}

async fn add_measure<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MeasureBody>,
) -> ApiResult<(StatusCode, Json<MeasureView>)> {
    let id = id_of(&id, policy_not_found)?;
    Ok((StatusCode::CREATED, Json(app.fund().add_measure(&caller, id, body).await?)))
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<ApplicationQuery>, QueryRejection>,
) -> ApiResult<Json<ApplicationList>> {
    Ok(Json(app.fund().list(&caller, &query(q)?).await?))
}

fn query(q: Result<Query<ApplicationQuery>, QueryRejection>) -> ApiResult<ApplicationQuery> {
    let Query(query) = q.map_err(|_| {
        AppError::bad_request(
            "unknown_parameter",
            "查询参数只有 policy、measure、state、year、town、credit_code、limit、offset，且须为相应的数字或代码",
        )
    })?;
    Ok(query)
}

/// `GET /api/v1/fund/applications/export`: an .xlsx download.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<ApplicationQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let bytes = app.fund().export(&caller, &query(q)?).await?;
    Ok(crate::download::xlsx(bytes, "扶持资金申报.xlsx", "fund-applications.xlsx"))
}

async fn apply<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ApplyBody>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    Ok((StatusCode::CREATED, Json(app.fund().apply(&caller, body).await?)))
}

async fn get<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(app.fund().get(&caller, id_of(&id, application_not_found)?).await?))
}

async fn act<S: Store>(
    app: App<S>,
    caller: mashangban_app::Caller,
    id: &str,
    deed: Deed,
    review: ReviewBody,
    decision: DecisionBody,
) -> ApiResult<Json<ApplicationView>> {
    let id = id_of(id, application_not_found)?;
    Ok(Json(app.fund().act(&caller, id, deed, review, decision).await?))
}

async fn town_review<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<Json<ApplicationView>> {
    act(app, caller, &id, Deed::TownReview, body, DecisionBody::default()).await
}

async fn department_review<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<Json<ApplicationView>> {
    act(app, caller, &id, Deed::DepartmentReview, body, DecisionBody::default()).await
}

async fn publicise<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> ApiResult<Json<ApplicationView>> {
    act(app, caller, &id, Deed::Publicise, ReviewBody::default(), body).await
}

async fn pay<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> ApiResult<Json<ApplicationView>> {
    act(app, caller, &id, Deed::Pay, ReviewBody::default(), body).await
}

async fn reject<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> ApiResult<Json<ApplicationView>> {
    act(app, caller, &id, Deed::Reject, ReviewBody::default(), body).await
}

async fn object<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextBody>,
) -> ApiResult<(StatusCode, Json<ObjectionView>)> {
    let id = id_of(&id, application_not_found)?;
    Ok((StatusCode::CREATED, Json(app.fund().object(&caller, id, body).await?)))
}

async fn answer<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TextBody>,
) -> ApiResult<Json<ObjectionView>> {
    Ok(Json(app.fund().answer(&caller, id_of(&id, objection_not_found)?, body).await?))
}

/// `GET /api/v1/fund/reports`: the report of the page and its Excel export, as JSON.
async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    crate::extract::Query(params): crate::extract::Query<ReportParams>,
) -> ApiResult<Json<FundReportView>> {
    let report = app.fund().report(&caller, &params.query()?).await?;
    Ok(Json(report.ok_or_else(|| AppError::from(policy_not_found()))?))
}

async fn notices<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<NoticeRow>>> {
    Ok(Json(app.fund().notices().await?))
}
