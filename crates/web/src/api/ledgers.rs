//! Ledgers (台账): types, items in the caller's ledger scope, stage moves,
//! rollups, and Excel/CSV import (preview, then all or nothing), export and
//! blank templates. Which moves a person may make is the type's data; the
//! routes require only reading or editing ledgers.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use mashangban_app::ledgers::map::MapPoints;
use mashangban_app::ledgers::{
    BulkMoveBody, BulkMoved, BulkOutcome, ImportReport, ItemBody, ItemDetail, ItemList, ItemUpdate, ItemView,
    ListQuery, MoveBody, OfficeBody, Rollup, TypeSave, TypeSummary, TypeVersionView, TypeView,
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
pub const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

const FILTERS: &[(&str, &str)] = &[
    ("stage", "阶段编码或名称"),
    ("town", "镇街编码或名称"),
    ("unit", "责任单位编码或名称"),
    ("q", "编号或名称中的字词"),
    ("offset", "跳过的条数"),
    ("limit", "每页条数（最多 500）"),
    ("{选项字段编码}", "按该台账任一选项字段的代码或名称筛选，如 outlet_type=IN"),
];

const ROLLUP_FILTERS: &[(&str, &str)] = &[
    ("by", "行维度：town（镇街，默认）或选项字段编码"),
    ("stage", "阶段编码或名称"),
    ("town", "镇街编码或名称"),
    ("unit", "责任单位编码或名称"),
    ("q", "编号或名称中的字词"),
    ("{选项字段编码}", "按该台账任一选项字段筛选"),
];

const MAP_FILTERS: &[(&str, &str)] = &[
    ("stage", "阶段编码或名称"),
    ("town", "镇街编码或名称"),
    ("unit", "责任单位编码或名称"),
    ("q", "编号或名称中的字词"),
    ("{选项字段编码}", "按该台账任一选项字段筛选"),
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, edit, manage) = (Permission::ReadLedgers, Permission::EditLedgers, Permission::ManageLedgerTypes);
    let field_errors: &'static [&'static str] = &[
        "ledger_type_not_found",
        "field_required",
        "field_unknown",
        "field_duplicate",
        "field_too_long",
        "field_not_number",
        "field_out_of_range",
        "field_too_precise",
        "field_bad_date",
        "field_bad_choice",
        "field_unknown_org",
        "field_bad_point",
        "field_invalid",
        "key_code_invalid",
        "stage_unknown",
        "stage_fields_missing",
        "stage_role_forbidden",
        "ledger_out_of_scope",
        "ledger_key_exists",
        "ledger_type_changed",
    ];
    let import_errors: &'static [&'static str] = &[
        "ledger_type_not_found",
        "invalid_rows",
        "no_rows",
        "no_file",
        "not_xlsx",
        "malformed_xlsx",
        "empty_sheet",
        "header_missing",
        "too_many_rows",
        "file_too_large",
        "zip_bomb",
        "payload_too_large",
        "ledger_item_changed",
        "ledger_type_changed",
    ];
    vec![
        Route::get("/api/v1/ledgers", types::<S>)
            .permission(read)
            .doc("ledgers", "台账类型，以及本人对每类台账的角色")
            .answer::<Vec<TypeSummary>>(),
        Route::get("/api/v1/ledgers/{type}", type_detail::<S>)
            .permission(read)
            .doc("ledgers", "某类台账的字段、编码规则、阶段与流转")
            .answer::<TypeView>()
            .errors(&["ledger_type_not_found"]),
        Route::put("/api/v1/ledgers/{type}", save_type::<S>)
            .permission(manage)
            .doc("ledgers", "保存台账类型的新版本（会使已有条目失效的修改被拒绝，需迁移的条目随之迁移并记录）")
            .body::<TypeSave>()
            .answer::<TypeView>()
            .errors(&[
                "ledger_type_not_found",
                "ledger_type_invalid",
                "ledger_type_change_refused",
                "ledger_type_changed",
            ]),
        Route::get("/api/v1/ledgers/{type}/versions", type_versions::<S>)
            .permission(read)
            .doc("ledgers", "台账类型的全部版本")
            .answer::<Vec<TypeVersionView>>()
            .errors(&["ledger_type_not_found"]),
        Route::put("/api/v1/ledgers/{type}/office", set_office::<S>)
            .permission(manage)
            .doc("ledgers", "指定台账的指挥部办公室（单位）")
            .body::<OfficeBody>()
            .answer::<TypeView>()
            .errors(&["ledger_type_not_found", "unknown_unit"]),
        Route::get("/api/v1/ledgers/{type}/items", list::<S>)
            .permission(read)
            .doc("ledgers", "台账条目（按阶段、镇街、单位、任一选项字段、编号或名称筛选，分页并给出总数）")
            .query(FILTERS)
            .answer::<ItemList>()
            .errors(&["ledger_type_not_found", "invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/ledgers/{type}/items", create::<S>)
            .permission(edit)
            .doc("ledgers", "登记台账条目")
            .body::<ItemBody>()
            .answer::<ItemView>()
            .created()
            .errors(field_errors),
        Route::get("/api/v1/ledgers/{type}/rollup", rollup::<S>)
            .permission(read)
            .doc("ledgers", "台账统计：按镇街（或选项字段）× 阶段计数")
            .query(ROLLUP_FILTERS)
            .answer::<Rollup>()
            .errors(&["ledger_type_not_found", "invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/ledgers/{type}/bulk-move", bulk_move::<S>)
            .permission(read)
            .doc(
                "ledgers",
                "批量变更阶段：勾选的条目（各带列表所示版本）或符合筛选条件的全部条目（带列表读取时间），每条按单条流转的规则检查并各记历史，同一事务写入；任何一条被拒则全部不变更，422 ledger_bulk_refused 的 refused 列出每条被拒条目的编号、代码与原因；一次最多 1000 条",
            )
            .body::<BulkMoveBody>()
            .answer::<BulkMoved>()
            .errors(&[
                "ledger_type_not_found",
                "ledger_bulk_refused",
                "ledger_bulk_too_many",
                "ledger_bulk_empty",
                "ledger_bulk_target",
                "ledger_bulk_duplicate",
                "read_at_required",
                "invalid_read_at",
                "invalid_parameter",
                "unknown_parameter",
                "stage_unknown",
                "text_too_long",
                "ledger_item_changed",
                "ledger_type_changed",
            ]),
        Route::get("/api/v1/ledgers/{type}/map", map::<S>)
            .permission(read)
            .doc("ledgers", "地图：符合筛选条件且有坐标的条目（编号、名称、阶段、镇街、经纬度；最多 50000 个，超出时 truncated）")
            .query(MAP_FILTERS)
            .answer::<MapPoints>()
            .errors(&["ledger_type_not_found", "ledger_no_point_field", "invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/ledgers/{type}/export", export::<S>)
            .permission(read)
            .doc("ledgers", "导出台账（Excel，中文表头，编码为文本；可再导入）")
            .query(FILTERS)
            .errors(&["ledger_type_not_found", "invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/ledgers/{type}/template", template::<S>)
            .permission(read)
            .doc("ledgers", "空白导入模板（选项字段带下拉列表）")
            .errors(&["ledger_type_not_found"]),
        Route::post("/api/v1/ledgers/{type}/import/preview", preview::<S>)
            .permission(edit)
            .doc("ledgers", "预检导入文件：逐行列出错误（行、列、值、原因），统计新增、更新、不变条数，不写入")
            .multipart()
            .answer::<ImportReport>()
            .errors(import_errors)
            .body_limit(IMPORT_LIMIT + 64 * 1024),
        Route::post("/api/v1/ledgers/{type}/import", import::<S>)
            .permission(edit)
            .doc("ledgers", "导入台账（按编号新增或更新，每条记录历史；有任何错误行则全部不导入）")
            .multipart()
            .answer::<ImportReport>()
            .errors(import_errors)
            .body_limit(IMPORT_LIMIT + 64 * 1024),
        Route::get("/api/v1/ledgers/{type}/items/{key}", detail::<S>)
            .permission(read)
            .doc("ledgers", "台账条目、可做的流转、变更历史与关联诉求")
            .answer::<ItemDetail>()
            .errors(&["ledger_type_not_found", "ledger_item_not_found"]),
        Route::put("/api/v1/ledgers/{type}/items/{key}", update::<S>)
            .permission(edit)
            .doc("ledgers", "修改台账条目（只改所给字段；版本不符时 409）")
            .body::<ItemUpdate>()
            .answer::<ItemView>()
            .errors(&[
                "ledger_type_not_found",
                "ledger_item_not_found",
                "ledger_item_changed",
                "ledger_key_immutable",
                "field_required",
                "field_bad_choice",
                "field_not_number",
                "field_invalid",
                "key_code_invalid",
                "stage_fields_missing",
                "ledger_out_of_scope",
            ]),
        Route::post("/api/v1/ledgers/{type}/items/{key}/move", move_stage::<S>)
            .permission(read)
            .doc("ledgers", "阶段流转（按台账类型规定的流转与角色）")
            .body::<MoveBody>()
            .answer::<ItemView>()
            .errors(&[
                "ledger_type_not_found",
                "ledger_item_not_found",
                "ledger_item_changed",
                "stage_unknown",
                "stage_move_not_allowed",
                "stage_role_forbidden",
                "stage_fields_missing",
                "text_too_long",
            ]),
    ]
}

fn filters(query: Result<Query<ListQuery>, QueryRejection>) -> ApiResult<ListQuery> {
    let Query(query) = query.map_err(|_| AppError::bad_request("invalid_parameter", "查询参数无法读取"))?;
    Ok(query)
}

async fn types<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<TypeSummary>>> {
    Ok(Json(app.ledgers().types(&caller).await?))
}

async fn type_detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<TypeView>> {
    Ok(Json(app.ledgers().get_type(&caller, &code).await?))
}

async fn save_type<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<TypeSave>,
) -> ApiResult<Json<TypeView>> {
    Ok(Json(app.ledgers().save_type(&caller, &code, body).await?))
}

async fn type_versions<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<TypeVersionView>>> {
    Ok(Json(app.ledgers().type_versions(&code).await?))
}

async fn set_office<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<OfficeBody>,
) -> ApiResult<Json<TypeView>> {
    Ok(Json(app.ledgers().set_office(&caller, &code, body).await?))
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<ItemList>> {
    Ok(Json(app.ledgers().list(&caller, &code, &filters(q)?).await?))
}

async fn rollup<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Rollup>> {
    Ok(Json(app.ledgers().rollup(&caller, &code, &filters(q)?).await?))
}

async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<ItemBody>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    Ok((StatusCode::CREATED, Json(app.ledgers().create(&caller, &code, body).await?)))
}

async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key)): Path<(String, String)>,
) -> ApiResult<Json<ItemDetail>> {
    Ok(Json(app.ledgers().get(&caller, &code, &key).await?))
}

async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<ItemUpdate>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.ledgers().update(&caller, &code, &key, body).await?))
}

async fn move_stage<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<MoveBody>,
) -> ApiResult<Json<ItemView>> {
    Ok(Json(app.ledgers().move_stage(&caller, &code, &key, body).await?))
}

async fn bulk_move<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<BulkMoveBody>,
) -> ApiResult<Response> {
    Ok(match app.ledgers().bulk_move(&caller, &code, body).await? {
        BulkOutcome::Moved(moved) => Json(moved).into_response(),
        BulkOutcome::Refused(refused) => (StatusCode::UNPROCESSABLE_ENTITY, Json(refused)).into_response(),
    })
}

async fn map<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<MapPoints>> {
    Ok(Json(app.ledgers().map(&caller, &code, &filters(q)?).await?))
}

async fn preview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    let bytes = read_upload(multipart, IMPORT_LIMIT).await?;
    Ok(Json(app.ledgers().import(&caller, &code, &bytes, false).await?))
}

async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportReport>> {
    let bytes = read_upload(multipart, IMPORT_LIMIT).await?;
    Ok(Json(app.ledgers().import(&caller, &code, &bytes, true).await?))
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let (name, bytes) = app.ledgers().export(&caller, &code, &filters(q)?).await?;
    Ok(crate::download::xlsx(bytes, &name, "ledger.xlsx"))
}

async fn template<S: Store>(State(app): State<App<S>>, Path(code): Path<String>) -> ApiResult<Response> {
    let (name, bytes) = app.ledgers().template(&code).await?;
    Ok(crate::download::xlsx(bytes, &name, "ledger.xlsx"))
}
