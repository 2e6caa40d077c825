//! Creeks (河涌整治): water quality by GB 3838-2002 with its trend, grab
//! samples (one, or an Excel import previewed and then all or nothing), and
//! the plan per creek (一河一策) with its history and an Excel export. Access
//! is the creek ledger's: reading needs `ReadLedgers`, writing `EditLedgers`
//! and the ledger role over the creek (its town or the command office).

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::App;
use mashangban_app::creeks::{CreekWater, IMPORT_BYTES, PlanBody, PlanView, SampleBody, SampleImport, SampleView};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::api::calendar::read_upload;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, edit) = (Permission::ReadLedgers, Permission::EditLedgers);
    let sample_errors: &'static [&'static str] = &[
        "ledger_item_not_found",
        "sample_time_invalid",
        "sample_in_future",
        "sample_unknown_parameter",
        "sample_duplicate_parameter",
        "sample_value_not_number",
        "sample_value_negative",
        "sample_value_out_of_range",
        "sample_empty",
        "text_too_long",
    ];
    let import_errors: &'static [&'static str] = &[
        "ledger_item_not_found",
        "invalid_rows",
        "no_rows",
        "no_file",
        "not_xlsx",
        "malformed_xlsx",
        "empty_sheet",
        "header_missing",
        "too_many_rows",
        "file_too_large",
        "payload_too_large",
    ];
    vec![
        Route::get("/api/v1/creeks/{key}/water", water::<S>)
            .permission(read)
            .doc(
                "creeks",
                "河涌水质：近12个月的采样（人工采样与关联监测点位的日值）及其GB 3838-2002类别、定类项目，当前类别与月度趋势",
            )
            .answer::<CreekWater>()
            .errors(&["ledger_item_not_found"]),
        Route::post("/api/v1/creeks/{key}/samples", add_sample::<S>)
            .permission(edit)
            .doc("creeks", "登记一次人工采样（溶解氧、高锰酸盐指数、COD、BOD5、氨氮、总磷，mg/L），返回其水质类别")
            .body::<SampleBody>()
            .answer::<SampleView>()
            .created()
            .errors(sample_errors),
        Route::get("/api/v1/creeks/samples/template", sample_template::<S>)
            .permission(read)
            .doc("creeks", "人工采样导入模板（Excel）"),
        Route::post("/api/v1/creeks/{key}/samples/import/preview", preview::<S>)
            .permission(edit)
            .doc("creeks", "预检采样导入文件：逐行列出错误（行、列、值、原因）并给出每条采样的类别，不写入")
            .multipart()
            .answer::<SampleImport>()
            .errors(import_errors)
            .body_limit(IMPORT_BYTES + 64 * 1024),
        Route::post("/api/v1/creeks/{key}/samples/import", import::<S>)
            .permission(edit)
            .doc("creeks", "导入人工采样（有任何错误行则全部不导入）")
            .multipart()
            .answer::<SampleImport>()
            .errors(import_errors)
            .body_limit(IMPORT_BYTES + 64 * 1024),
        Route::get("/api/v1/creeks/{key}/plan", plan::<S>)
            .permission(read)
            .doc("creeks", "一河一策：措施、预算合计、责任单位、河长，及每次修改的记录")
            .answer::<PlanView>()
            .errors(&["ledger_item_not_found"]),
        Route::put("/api/v1/creeks/{key}/plan", save_plan::<S>)
            .permission(edit)
            .doc("creeks", "保存一河一策（整份；版本不符时 409），修改前后内容记入历史")
            .body::<PlanBody>()
            .answer::<PlanView>()
            .errors(&[
                "ledger_item_not_found",
                "creek_plan_changed",
                "unknown_unit",
                "text_required",
                "text_too_long",
                "measure_kind_invalid",
                "measure_status_invalid",
                "budget_invalid",
                "date_invalid",
                "too_many_measures",
            ]),
        Route::get("/api/v1/creeks/plans/export", export_plans::<S>)
            .permission(read)
            .doc("creeks", "导出本人管辖范围内全部河涌的一河一策（Excel，每项措施一行）"),
    ]
}

async fn water<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<CreekWater>> {
    Ok(Json(app.creeks().water(&caller, &key).await?))
}

async fn add_sample<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<SampleBody>,
) -> ApiResult<(StatusCode, Json<SampleView>)> {
    Ok((StatusCode::CREATED, Json(app.creeks().add_sample(&caller, &key, body).await?)))
}

async fn sample_template<S: Store>(State(app): State<App<S>>) -> ApiResult<Response> {
    let (name, bytes) = app.creeks().sample_template()?;
    Ok(crate::download::xlsx(bytes, &name, "samples.xlsx"))
}

async fn preview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<SampleImport>> {
    let bytes = read_upload(multipart, IMPORT_BYTES).await?;
    Ok(Json(app.creeks().import_samples(&caller, &key, &bytes, false).await?))
}

async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<SampleImport>> {
    let bytes = read_upload(multipart, IMPORT_BYTES).await?;
    Ok(Json(app.creeks().import_samples(&caller, &key, &bytes, true).await?))
}

async fn plan<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(app.creeks().plan(&caller, &key).await?))
}

async fn save_plan<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<PlanBody>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(app.creeks().save_plan(&caller, &key, body).await?))
}

async fn export_plans<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Response> {
    let (name, bytes) = app.creeks().export_plans(&caller).await?;
    Ok(crate::download::xlsx(bytes, &name, "creek-plans.xlsx"))
}
