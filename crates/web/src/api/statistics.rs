//! The statistics panel (数说): the cards of a period, a value with its
//! history, entering or correcting a value, importing a statistics bureau's
//! release (all rows or none; a refused file is `422 invalid_rows` with every
//! row's problem), the panel as Excel, the blank import template, and a data
//! file of the catalogue and values.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_app::statistics::{
    EntryBody, ImportReport, IndicatorBody, IndicatorDetail, IndicatorView, PanelView, PublicPanelView,
    PublicationView, ValueView,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::api::calendar::read_upload;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

/// The largest release or data file an upload takes.
pub const UPLOAD_LIMIT: usize = mashangban_app::statistics::IMPORT_LIMIT_BYTES;

const PERIOD_QUERY: &[(&str, &str)] = &[("period", "时期：2021-Q3、2021-M05、2021年前三季度等；缺省为最新时期")];

const IMPORT_ERRORS: &[&str] = &[
    "invalid_rows",
    "no_rows",
    "no_file",
    "statistics_catalog_missing",
    "statistics_changed",
    "not_xlsx",
    "malformed_xlsx",
    "header_missing",
    "duplicate_column",
    "too_many_rows",
    "file_too_large",
    "payload_too_large",
];

/// Refusals of an indicator added or changed in the catalogue editor.
const INDICATOR_ERRORS: &[&str] = &[
    "invalid_indicator_code",
    "invalid_indicator_name",
    "invalid_indicator_unit",
    "invalid_indicator_source",
    "invalid_indicator_decimals",
    "duplicate_indicator",
    "duplicate_indicator_name",
    "unknown_parent_indicator",
    "parent_unit_mismatch",
    "indicator_cycle",
    "total_without_parts",
    "invalid_indicator_catalog",
    "version_required",
    "statistics_indicator_not_found",
    "statistics_indicator_changed",
    "statistics_changed",
    "statistics_inconsistent",
];

/// The period of a panel or export.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    #[serde(default)]
    pub period: Option<String>,
}

/// A refused import: the error's code and message and every row's problem.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RefusedImport {
    /// `invalid_rows`.
    pub code: &'static str,
    pub message: String,
    #[serde(flatten)]
    pub report: ImportReport,
}

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadStatistics, Permission::ManageStatistics);
    vec![
        Route::get("/api/v1/statistics/panel", panel::<S>)
            .permission(read)
            .doc("statistics", "数说面板：某一时期各指标的数值、同比、实际增长、两年平均增长、比重、加总核对和卡片语句")
            .query(PERIOD_QUERY)
            .answer::<PanelView>()
            .errors(&["invalid_period", "invalid_query", "statistics_period_not_found", "statistics_inconsistent"]),
        Route::get("/api/v1/statistics/indicators", indicators::<S>)
            .permission(read)
            .doc("statistics", "指标目录（按目录顺序）")
            .answer::<Vec<IndicatorView>>(),
        Route::get("/api/v1/statistics/indicators/{code}", indicator::<S>)
            .permission(read)
            .doc("statistics", "一个指标及其修改历史")
            .answer::<IndicatorDetail>()
            .errors(&["statistics_indicator_not_found"]),
        Route::post("/api/v1/statistics/indicators", add_indicator::<S>)
            .permission(manage)
            .doc("statistics", "新增指标（排在目录末尾）：编码、名称、单位、上级指标等逐项核对，记入指标的修改历史")
            .body::<IndicatorBody>()
            .answer::<IndicatorDetail>()
            .created()
            .errors(INDICATOR_ERRORS),
        Route::put("/api/v1/statistics/indicators/{code}", change_indicator::<S>)
            .permission(manage)
            .doc(
                "statistics",
                "修改指标（编码不可改）：须带读取时的版本号，他人已修改则 409；逐项核对并记入指标的修改历史",
            )
            .body::<IndicatorBody>()
            .answer::<IndicatorDetail>()
            .errors(INDICATOR_ERRORS),
        Route::get("/api/v1/statistics/values/{indicator}/{period}", value::<S>)
            .permission(read)
            .doc("statistics", "某指标某时期的数值及其修改历史（更正保留原值）")
            .answer::<ValueView>()
            .errors(&["invalid_period", "statistics_value_not_found"]),
        Route::post("/api/v1/statistics/values", enter::<S>)
            .permission(manage)
            .doc("statistics", "录入或更正一个数值（与导入同样逐项核对；更正记入历史）")
            .body::<EntryBody>()
            .answer::<ValueView>()
            .errors(&[
                "unknown_indicator",
                "invalid_period",
                "invalid_number",
                "period_out_of_order",
                "invalid_source",
                "invalid_note",
                "statistics_catalog_missing",
                "statistics_changed",
            ]),
        Route::post("/api/v1/statistics/import", import::<S>)
            .permission(manage)
            .doc(
                "statistics",
                "导入统计局发布的数据（.xlsx 或 CSV）：逐行核对，有任何错误行则全部不导入（422 列出每行错误）",
            )
            .multipart()
            .answer::<ImportReport>()
            .errors(IMPORT_ERRORS)
            .body_limit(UPLOAD_LIMIT + 64 * 1024),
        Route::post("/api/v1/statistics/data-file", data_file::<S>)
            .permission(manage)
            .doc("statistics", "上传统计数据文件（TOML：地区、指标目录和数值），保存指标目录并导入数值")
            .multipart()
            .answer::<ImportReport>()
            .errors(&[
                "invalid_statistics",
                "invalid_indicator_catalog",
                "indicator_in_use",
                "invalid_rows",
                "statistics_changed",
                "no_file",
                "payload_too_large",
            ])
            .body_limit(UPLOAD_LIMIT + 64 * 1024),
        Route::get("/api/v1/statistics/export", export::<S>)
            .permission(read)
            .doc("statistics", "导出某一时期的数说面板（Excel）")
            .query(PERIOD_QUERY)
            .errors(&["invalid_period", "invalid_query", "statistics_period_not_found"]),
        Route::post("/api/v1/statistics/periods/{period}/publish", publish::<S>)
            .permission(manage)
            .doc(
                "statistics",
                "公开发布某一时期的数说面板：保存此刻面板的快照，公众页面只显示已发布的快照；再次发布保存更新的快照，历次发布均保留",
            )
            .answer::<PublicationView>()
            .created()
            .errors(&["invalid_period", "statistics_period_not_found", "statistics_changed", "statistics_inconsistent"]),
        Route::get("/api/v1/statistics/publications", publications::<S>)
            .permission(read)
            .doc("statistics", "历次公开发布（最新在前）：时期、数据版本、发布人和时间")
            .answer::<Vec<PublicationView>>(),
        Route::get("/api/v1/public/statistics", public_panel::<S>)
            .public()
            .doc("statistics", "公开的数说面板（无需登录）：某一时期最近一次发布的快照，缺省为已发布的最新时期")
            .query(&[("period", "时期：2021-Q3、2021年前三季度等；缺省为已发布的最新时期")])
            .answer::<PublicPanelView>()
            .errors(&["invalid_period", "invalid_query", "duplicate_parameter", "statistics_not_published"]),
        Route::get("/api/v1/statistics/template", template::<S>)
            .permission(manage)
            .doc("statistics", "空白导入模板（指标列带下拉列表）"),
    ]
}

async fn panel<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<PanelView>> {
    Ok(Json(app.statistics().panel(q.period.as_deref()).await?))
}

async fn indicators<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<Vec<IndicatorView>>> {
    Ok(Json(app.statistics().indicators().await?))
}

async fn indicator<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<IndicatorDetail>> {
    Ok(Json(app.statistics().indicator(&code).await?))
}

async fn add_indicator<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<IndicatorBody>,
) -> ApiResult<(StatusCode, Json<IndicatorDetail>)> {
    Ok((StatusCode::CREATED, Json(app.statistics().add_indicator(&caller, body).await?)))
}

async fn change_indicator<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<IndicatorBody>,
) -> ApiResult<Json<IndicatorDetail>> {
    Ok(Json(app.statistics().change_indicator(&caller, &code, body).await?))
}

async fn value<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path((indicator, period)): Path<(String, String)>,
) -> ApiResult<Json<ValueView>> {
    Ok(Json(app.statistics().value(&indicator, &period).await?))
}

async fn enter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<EntryBody>,
) -> ApiResult<Json<ValueView>> {
    Ok(Json(app.statistics().enter(&caller, body).await?))
}

async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let bytes = read_upload(multipart, UPLOAD_LIMIT).await?;
    Ok(report_response(app.statistics().import(&caller, &bytes).await?))
}

async fn data_file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let bytes = read_upload(multipart, UPLOAD_LIMIT).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| AppError::invalid("invalid_statistics", "统计数据文件须为 UTF-8 编码的文本"))?;
    Ok(report_response(app.statistics().save_data_file(&caller, text).await?))
}

/// A written import is 200 with its report; a refused one 422 `invalid_rows` with every problem.
fn report_response(report: ImportReport) -> Response {
    if report.applied {
        return Json(report).into_response();
    }
    let refused = RefusedImport { code: "invalid_rows", message: report.summary(), report };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(refused)).into_response()
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let (name, bytes) = app.statistics().export(q.period.as_deref()).await?;
    Ok(crate::download::xlsx(bytes, &name, "statistics.xlsx"))
}

async fn publish<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(period): Path<String>,
) -> ApiResult<(StatusCode, Json<PublicationView>)> {
    Ok((StatusCode::CREATED, Json(app.statistics().publish(&caller, &period, None).await?)))
}

async fn publications<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
) -> ApiResult<Json<Vec<PublicationView>>> {
    Ok(Json(app.statistics().publications().await?))
}

/// `GET /api/v1/public/statistics[?period=]`: no sign-in; only what was published.
async fn public_panel<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<PublicPanelView>> {
    Ok(Json(app.statistics().public_panel(q.period.as_deref()).await?))
}

async fn template<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Response> {
    let (name, bytes) = app.statistics().template().await?;
    Ok(crate::download::xlsx(bytes, &name, "statistics.xlsx"))
}
