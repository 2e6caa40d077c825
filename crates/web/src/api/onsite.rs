//! 行走办 (on-site service): the service catalogue and the centres with their
//! daily capacity (administrators), an enterprise's requests — submit,
//! confirm a proposed date, withdraw, rate — the centre's work on them —
//! accept within capacity, propose another date, refuse, record what was
//! handled — the report per centre (JSON and Excel) and an enterprise's
//! requests for its page (一企一档).

use axum::Json;
use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use mashangban_app::onsite::{
    CentreBody, CentreView, OnsiteActionBody, OnsiteBody, OnsiteDetail, OnsiteReport, OnsiteView, PeriodQuery,
    ServiceItemBody, ServiceItemView, SessionDay,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::onsite::{centre_not_found, item_not_found, onsite_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

const TAG: &str = "onsite";

/// The requests list's filter.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct OnsiteQuery {
    /// A stage code.
    #[serde(default)]
    pub stage: Option<String>,
}

const ITEM_ERRORS: &[&str] =
    &["invalid_item_code", "unknown_unit", "duplicate_item_code", "text_required", "text_too_long", "invalid_text"];
const CENTRE_ERRORS: &[&str] =
    &["unknown_unit", "duplicate_centre", "invalid_capacity", "text_required", "text_too_long", "invalid_text"];
const ACTION_ERRORS: &[&str] = &[
    "onsite_not_found",
    "onsite_changed",
    "illegal_onsite_transition",
    "text_required",
    "text_too_long",
    "invalid_text",
];
const BOOKING_ERRORS: &[&str] = &[
    "onsite_not_found",
    "onsite_changed",
    "illegal_onsite_transition",
    "date_required",
    "invalid_date",
    "date_in_past",
    "date_too_far",
    "not_a_workday",
    "date_not_preferred",
    "date_is_preferred",
    "over_capacity",
    "text_required",
    "text_too_long",
    "invalid_text",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, ask, handle, manage) =
        (Permission::ReadOnsite, Permission::RequestOnsite, Permission::HandleOnsite, Permission::ManageOnsiteCatalog);
    let action =
        |path: &'static str, permission: Permission, summary: &'static str, errors: &'static [&'static str]| {
            Route::post(path, act::<S>)
                .permission(permission)
                .doc(TAG, summary)
                .body::<OnsiteActionBody>()
                .answer::<OnsiteDetail>()
                .errors(errors)
        };
    vec![
        Route::get("/api/v1/onsite/items", items::<S>)
            .permission(read)
            .doc(TAG, "服务事项目录（在办事项；管理员也看到已停办的）")
            .answer::<Vec<ServiceItemView>>(),
        Route::post("/api/v1/onsite/items", add_item::<S>)
            .permission(manage)
            .doc(TAG, "新增服务事项：编码、名称、主管部门（单位编码）")
            .body::<ServiceItemBody>()
            .answer::<ServiceItemView>()
            .created()
            .errors(ITEM_ERRORS),
        Route::put("/api/v1/onsite/items/{id}", update_item::<S>)
            .permission(manage)
            .doc(TAG, "修改服务事项，或停办（active=false）")
            .body::<ServiceItemBody>()
            .answer::<ServiceItemView>()
            .errors(&[
                "item_not_found",
                "invalid_item_code",
                "unknown_unit",
                "duplicate_item_code",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/onsite/centres", centres::<S>)
            .permission(read)
            .doc(TAG, "政务服务中心及其每日可上门场次")
            .answer::<Vec<CentreView>>(),
        Route::post("/api/v1/onsite/centres", add_centre::<S>)
            .permission(manage)
            .doc(TAG, "新设政务服务中心：所属单位（每个单位一个）、名称、每日可上门场次（1~50）")
            .body::<CentreBody>()
            .answer::<CentreView>()
            .created()
            .errors(CENTRE_ERRORS),
        Route::put("/api/v1/onsite/centres/{id}", update_centre::<S>)
            .permission(manage)
            .doc(TAG, "修改政务服务中心的名称、单位、每日可上门场次或停用")
            .body::<CentreBody>()
            .answer::<CentreView>()
            .errors(&[
                "centre_not_found",
                "unknown_unit",
                "duplicate_centre",
                "invalid_capacity",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/onsite/centres/{id}/sessions", sessions::<S>)
            .permission(read)
            .doc(TAG, "政务服务中心每天已安排的上门场次与每日上限（默认今后30天）")
            .query(&[("from", "起始日期（YYYY-MM-DD）"), ("to", "截止日期（YYYY-MM-DD）")])
            .answer::<Vec<SessionDay>>()
            .errors(&["centre_not_found", "invalid_parameter", "invalid_date", "invalid_period"]),
        Route::post("/api/v1/onsite/requests", submit::<S>)
            .permission(ask)
            .doc(TAG, "企业申请上门服务：服务中心、服务事项及人数、总人数、1~3个希望上门的日期（工作日，不早于今天）、地址和联系人")
            .body::<OnsiteBody>()
            .answer::<OnsiteDetail>()
            .created()
            .errors(&[
                "centre_not_found",
                "credit_code_required",
                "invalid_people",
                "items_required",
                "too_many_items",
                "unknown_item",
                "duplicate_item",
                "invalid_count",
                "dates_required",
                "too_many_dates",
                "duplicate_date",
                "invalid_date",
                "date_in_past",
                "date_too_far",
                "not_a_workday",
                "invalid_phone",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/onsite/requests", list::<S>)
            .permission(read)
            .doc(TAG, "上门服务申请（最新在前）：企业只看本企业的，服务中心只看本中心的")
            .query(&[("stage", "阶段：submitted、proposed、accepted、held、rated、refused、withdrawn")])
            .answer::<Vec<OnsiteView>>()
            .errors(&["invalid_parameter", "invalid_stage"]),
        Route::get("/api/v1/onsite/requests/{id}", detail::<S>)
            .permission(read)
            .doc(TAG, "上门服务申请详情：事项、日期、办理情况、评价、全部历史和当前可办操作")
            .answer::<OnsiteDetail>()
            .errors(&["onsite_not_found"]),
        action("/api/v1/onsite/requests/{id}/accept", handle, "受理：在企业希望的日期之一上门，填写上门人员；当天已排满则拒绝（over_capacity）", BOOKING_ERRORS),
        action("/api/v1/onsite/requests/{id}/propose", handle, "建议改期：另选日期和上门人员，待企业确认；同样受每日上限约束", BOOKING_ERRORS),
        action("/api/v1/onsite/requests/{id}/refuse", handle, "不予受理，须写明理由", ACTION_ERRORS),
        action(
            "/api/v1/onsite/requests/{id}/record",
            handle,
            "登记办理情况：每项服务事项实际办理的数量（上门当天或以后）",
            &[
                "onsite_not_found",
                "onsite_changed",
                "illegal_onsite_transition",
                "too_early",
                "too_many_items",
                "unknown_item",
                "handled_required",
                "invalid_count",
                "text_too_long",
                "invalid_text",
            ],
        ),
        action("/api/v1/onsite/requests/{id}/confirm", ask, "企业确认服务中心建议的日期", ACTION_ERRORS),
        action("/api/v1/onsite/requests/{id}/withdraw", ask, "企业撤回申请（上门前）", ACTION_ERRORS),
        action(
            "/api/v1/onsite/requests/{id}/rate",
            ask,
            "企业评价上门服务：1~5星和评语",
            &[
                "onsite_not_found",
                "onsite_changed",
                "illegal_onsite_transition",
                "invalid_rating",
                "text_too_long",
                "invalid_text",
            ],
        ),
        Route::get("/api/v1/onsite/report", report::<S>)
            .permission(Permission::ReadOnsiteReports)
            .doc(TAG, "上门服务统计：按服务中心汇总申请数、不予受理和撤回数、上门场次、办理事项数、评价数和平均满意度")
            .query(&[("from", "起始日期（YYYY-MM-DD）"), ("to", "截止日期（YYYY-MM-DD）")])
            .answer::<OnsiteReport>()
            .errors(&["invalid_parameter", "invalid_date"]),
        Route::get("/api/v1/onsite/report/export", export::<S>)
            .permission(Permission::ReadOnsiteReports)
            .doc(TAG, "导出上门服务统计（Excel，一行一个服务中心，末行合计）")
            .query(&[("from", "起始日期（YYYY-MM-DD）"), ("to", "截止日期（YYYY-MM-DD）")])
            .errors(&["invalid_parameter", "invalid_date"]),
        Route::get("/api/v1/enterprises/{code}/onsite", of_enterprise::<S>)
            .permission(read)
            .doc(TAG, "某企业的上门服务申请（一企一档；服务中心只看本中心的）")
            .answer::<Vec<OnsiteView>>()
            .errors(&["enterprise_not_found"]),
    ]
}

fn id_of(id: &str, not_found: fn() -> mashangban_domain::error::DomainError) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(not_found()))?)
}

async fn items<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<ServiceItemView>>> {
    Ok(Json(app.onsite().items(&caller).await?))
}

async fn add_item<S: Store>(
    State(app): State<App<S>>,
    JsonBody(body): JsonBody<ServiceItemBody>,
) -> ApiResult<(StatusCode, Json<ServiceItemView>)> {
    Ok((StatusCode::CREATED, Json(app.onsite().add_item(body).await?)))
}

async fn update_item<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ServiceItemBody>,
) -> ApiResult<Json<ServiceItemView>> {
    Ok(Json(app.onsite().update_item(id_of(&id, item_not_found)?, body).await?))
}

async fn centres<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<CentreView>>> {
    Ok(Json(app.onsite().centres(&caller).await?))
}

async fn add_centre<S: Store>(
    State(app): State<App<S>>,
    JsonBody(body): JsonBody<CentreBody>,
) -> ApiResult<(StatusCode, Json<CentreView>)> {
    Ok((StatusCode::CREATED, Json(app.onsite().add_centre(body).await?)))
}

async fn update_centre<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CentreBody>,
) -> ApiResult<Json<CentreView>> {
    Ok(Json(app.onsite().update_centre(id_of(&id, centre_not_found)?, body).await?))
}

async fn sessions<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<Vec<SessionDay>>> {
    Ok(Json(app.onsite().sessions(&caller, id_of(&id, centre_not_found)?, q).await?))
}

async fn submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<OnsiteBody>,
) -> ApiResult<(StatusCode, Json<OnsiteDetail>)> {
    Ok((StatusCode::CREATED, Json(app.onsite().submit(&caller, body).await?)))
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<OnsiteQuery>,
) -> ApiResult<Json<Vec<OnsiteView>>> {
    Ok(Json(app.onsite().list(&caller, q.stage.as_deref()).await?))
}

async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<OnsiteDetail>> {
    Ok(Json(app.onsite().get(&caller, id_of(&id, onsite_not_found)?).await?))
}

/// Every action route: the declared path's last segment names the action.
async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    matched: MatchedPath,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OnsiteActionBody>,
) -> ApiResult<Json<OnsiteDetail>> {
    let action = matched.as_str().rsplit('/').next().unwrap_or_default();
    Ok(Json(app.onsite().act(&caller, id_of(&id, onsite_not_found)?, action, body).await?))
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let bytes = app.onsite().report_xlsx(&caller, q).await?;
    Ok(crate::download::xlsx(bytes, "上门服务统计.xlsx", "onsite-report.xlsx"))
}

async fn of_enterprise<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<OnsiteView>>> {
    Ok(Json(app.onsite().of_enterprise(&caller, &code).await?))
}

async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<OnsiteReport>> {
    Ok(Json(app.onsite().report(&caller, q).await?))
}
