//! The enterprise registry (企业名录, 一企一档): staff read within their
//! enterprise scope, dispatchers and administrators write, import (preview,
//! then all or nothing) and export.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::enterprises::{
    EnterpriseBody, EnterpriseFile, EnterpriseList, EnterpriseUpdate, EnterpriseView, ImportReport, ListQuery,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::api::calendar::read_upload;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

/// The largest workbook an import takes.
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;

const FILTERS: &[(&str, &str)] = &[
    ("town", "镇街编码或名称"),
    ("industry", "行业代码或其前缀（GB/T 4754-2017）"),
    ("size", "above（规上）或 below（规下）"),
    ("q", "企业名称中的字词"),
    ("offset", "跳过的条数"),
    ("limit", "每页条数（最多 500）"),
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadEnterprises, Permission::ManageEnterprises);
    let written = &[
        "invalid_credit_code",
        "unknown_town",
        "invalid_industry",
        "invalid_size",
        "invalid_date",
        "invalid_phone",
        "text_required",
        "text_too_long",
        "invalid_text",
        "too_many_tags",
    ];
    let import_errors = &[
        "invalid_rows",
        "no_rows",
        "no_file",
        "not_xlsx",
        "malformed_xlsx",
        "empty_sheet",
        "header_missing",
        "duplicate_column",
        "too_many_rows",
        "file_too_large",
        "zip_bomb",
        "payload_too_large",
    ];
    vec![
        Route::get("/api/v1/enterprises", list::<S>)
            .permission(read)
            .doc("enterprises", "企业名录（按镇街、行业、规模、名称筛选，分页并给出总数）")
            .query(FILTERS)
            .answer::<EnterpriseList>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/enterprises", create::<S>)
            .permission(manage)
            .doc("enterprises", "登记企业")
            .body::<EnterpriseBody>()
            .answer::<EnterpriseView>()
            .created()
            .errors(&[
                "enterprise_exists",
                "invalid_credit_code",
                "unknown_town",
                "invalid_industry",
                "invalid_size",
                "invalid_date",
                "invalid_phone",
                "text_required",
                "text_too_long",
                "too_many_tags",
            ]),
        Route::get("/api/v1/enterprises/export", export::<S>)
            .permission(read)
            .doc("enterprises", "导出企业名录（Excel，列同导入模板）")
            .query(FILTERS)
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/enterprises/import/preview", preview::<S>)
            .permission(manage)
            .doc("enterprises", "预检导入文件：逐行列出错误，统计新增、更新、不变条数，不写入")
            .multipart()
            .answer::<ImportReport>()
            .errors(import_errors)
            .body_limit(IMPORT_LIMIT + 64 * 1024),
        Route::post("/api/v1/enterprises/import", import::<S>)
            .permission(manage)
            .doc("enterprises", "导入企业名录（按统一社会信用代码新增或更新；有任何错误行则全部不导入）")
            .multipart()
            .answer::<ImportReport>()
            .errors(import_errors)
            .body_limit(IMPORT_LIMIT + 64 * 1024),
        Route::get("/api/v1/enterprises/{code}", detail::<S>)
            .permission(read)
            .doc("enterprises", "某企业的档案、诉求与时间线")
            .answer::<EnterpriseFile>()
            .errors(&["enterprise_not_found"]),
        Route::put("/api/v1/enterprises/{code}", update::<S>)
            .permission(manage)
            .doc("enterprises", "修改企业档案")
            .body::<EnterpriseUpdate>()
            .answer::<EnterpriseView>()
            .errors(written),
    ]
}

fn query(query: Result<Query<ListQuery>, QueryRejection>) -> ApiResult<ListQuery> {
    let Query(query) = query.map_err(|_| {
        AppError::bad_request("unknown_parameter", "查询参数只有 town、industry、size、q、offset、limit")
    })?;
    Ok(query)
}

/// `GET /api/v1/enterprises`: a page in the caller's scope, contacts masked.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<EnterpriseList>> {
    Ok(Json(app.enterprises().list(&caller, &query(q)?).await?))
}

/// `GET /api/v1/enterprises/{code}`: 404 when absent or out of scope.
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<EnterpriseFile>> {
    Ok(Json(app.enterprises().file(&caller, &code).await?))
}

/// `POST /api/v1/enterprises`: 201 with the record.
async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<EnterpriseBody>,
) -> ApiResult<(StatusCode, Json<EnterpriseView>)> {
    Ok((StatusCode::CREATED, Json(app.enterprises().create(&caller, body).await?)))
}

/// `PUT /api/v1/enterprises/{code}`: `409 enterprise_changed` if saved since `version`.
async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<EnterpriseUpdate>,
) -> ApiResult<Json<EnterpriseView>> {
    Ok(Json(app.enterprises().update(&caller, &code, body).await?))
}

/// `POST /api/v1/enterprises/import/preview`: multipart field `file`.
async fn preview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    let bytes = read_upload(multipart, IMPORT_LIMIT).await?;
    Ok(Json(app.enterprises().import(&caller, &bytes, false).await?))
}

/// `POST /api/v1/enterprises/import`: multipart field `file`; all rows or none.
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    let bytes = read_upload(multipart, IMPORT_LIMIT).await?;
    Ok(Json(app.enterprises().import(&caller, &bytes, true).await?))
}

/// `GET /api/v1/enterprises/export`: an .xlsx download.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let bytes = app.enterprises().export(&caller, &query(q)?).await?;
    Ok(crate::download::xlsx(bytes, "企业名录.xlsx", "enterprises.xlsx"))
}
