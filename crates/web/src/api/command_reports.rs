//! Periodic reports (定期报送) and responsibility pledges (军令状) of a
//! command centre: forms defined, changed and withdrawn by the office, a
//! form's periods with each unit's report, filing and correcting, chasing
//! (催报) missing reports, a period's Excel export, and the pledges with their
//! signed documents, changed and withdrawn (作废) by the office.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::command::reports::{
    ChaseBody, ChaseResult, FilingBody, FilingView, FormOverview, PeriodDetail, PledgeBody, PledgeInput, PledgeUpload,
    PledgeView, ReportFormBody, ReportFormView, WithdrawBody,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::command_reports::{DOCUMENT_MAX_BYTES, form_not_found, pledge_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::json::{JsonBody, payload_too_large};
use crate::routes::Route;

const FILING_ERRORS: &[&str] = &[
    "report_form_not_found",
    "report_form_withdrawn",
    "report_form_changed",
    "report_period_not_found",
    "report_period_not_open",
    "report_not_yours",
    "report_unit_not_filer",
    "report_field_invalid",
    "unknown_unit",
    "text_too_long",
    "invalid_text",
];

const PLEDGE_ERRORS: &[&str] = &[
    "command_centre_not_found",
    "command_office_only",
    "unknown_unit",
    "unknown_target",
    "invalid_date",
    "pledge_targets_required",
    "too_many_items",
    "text_required",
    "text_too_long",
    "empty_file",
    "unsupported_file_type",
    "document_too_large",
    "payload_too_large",
    "malformed_multipart",
    "unknown_field",
    "invalid_parameter",
];

const WITHDRAW_FORM_ERRORS: &[&str] = &[
    "report_form_not_found",
    "report_form_changed",
    "report_form_withdrawn",
    "command_office_only",
    "version_required",
    "text_required",
    "text_too_long",
    "invalid_text",
];

const WITHDRAW_PLEDGE_ERRORS: &[&str] = &[
    "pledge_not_found",
    "pledge_changed",
    "pledge_withdrawn",
    "command_office_only",
    "version_required",
    "text_required",
    "text_too_long",
    "invalid_text",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, work) = (Permission::ReadCommand, Permission::WorkCommand);
    vec![
        Route::get("/api/v1/command/centres/{code}/report-forms", forms::<S>)
            .permission(read)
            .doc("command", "指挥部的定期报表及近期各期报送情况（按报、逾期、未报、待报；单位和镇街只看本单位的）")
            .answer::<Vec<FormOverview>>()
            .errors(&["command_centre_not_found"]),
        Route::post("/api/v1/command/centres/{code}/report-forms", create_form::<S>)
            .permission(work)
            .doc(
                "command",
                "定义定期报表（指挥部办公室）：名称、周期（每周/每月）、栏目（文字、整数、带单位的小数、日期；必填、上下限）、报送单位（默认成员单位和镇街）、周期结束后几个工作日内报送",
            )
            .body::<ReportFormBody>()
            .answer::<ReportFormView>()
            .created()
            .errors(&[
                "command_centre_not_found",
                "command_office_only",
                "report_form_invalid",
                "unknown_unit",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::put("/api/v1/command/report-forms/{id}", update_form::<S>)
            .permission(work)
            .doc(
                "command",
                "修改定期报表（指挥部办公室；带上读取时的版本号）。已有报送时，改周期、删除或改类型、改计量单位已填报的栏目、移除已报送的单位会被拒绝（report_form_in_use），已报送的报表保持原样；修改记入指挥部历史",
            )
            .body::<ReportFormBody>()
            .answer::<ReportFormView>()
            .errors(&[
                "report_form_not_found",
                "report_form_changed",
                "report_form_withdrawn",
                "report_form_in_use",
                "version_required",
                "command_office_only",
                "report_form_invalid",
                "unknown_unit",
                "text_required",
                "text_too_long",
                "invalid_text",
            ]),
        Route::post("/api/v1/command/report-forms/{id}/withdraw", withdraw_form::<S>)
            .permission(work)
            .doc(
                "command",
                "撤回定期报表（指挥部办公室；带上版本号和理由）：保留报表和已报送的内容，不再报送、不再催报，记入指挥部历史",
            )
            .body::<WithdrawBody>()
            .answer::<ReportFormView>()
            .errors(WITHDRAW_FORM_ERRORS),
        Route::get("/api/v1/command/report-forms/{id}/periods/{period}", period::<S>)
            .permission(read)
            .doc("command", "一期报表：各报送单位的报送情况、历次修订和催报记录（期别如 2026-W49 或 2026-12）")
            .answer::<PeriodDetail>()
            .errors(&["report_form_not_found", "report_period_not_found"]),
        Route::post("/api/v1/command/report-forms/{id}/periods/{period}/filings", file::<S>)
            .permission(work)
            .doc("command", "报送本单位本期报表（再次报送即为更正，保留旧版本；逾期可报，标记为逾期）")
            .body::<FilingBody>()
            .answer::<FilingView>()
            .created()
            .errors(FILING_ERRORS),
        Route::post("/api/v1/command/report-forms/{id}/periods/{period}/chase", chase::<S>)
            .permission(work)
            .doc("command", "催报（指挥部办公室）：催一个未报单位，或不指定单位催全部未报单位")
            .body::<ChaseBody>()
            .answer::<ChaseResult>()
            .errors(&[
                "report_form_not_found",
                "report_form_withdrawn",
                "report_period_not_found",
                "command_office_only",
                "report_not_missing",
                "report_unit_not_filer",
                "unknown_unit",
                "text_too_long",
                "invalid_text",
            ]),
        Route::get("/api/v1/command/report-forms/{id}/periods/{period}/export", export::<S>)
            .permission(read)
            .doc("command", "导出一期报表（Excel，中文表头）")
            .errors(&["report_form_not_found", "report_period_not_found"]),
        Route::get("/api/v1/command/centres/{code}/pledges", pledges::<S>)
            .permission(read)
            .doc("command", "军令状：签署单位或镇街、所签目标、签署日期和签署人，按目标计算已兑现、未兑现或进行中")
            .answer::<Vec<PledgeView>>()
            .errors(&["command_centre_not_found"]),
        Route::post("/api/v1/command/centres/{code}/pledges", create_pledge::<S>)
            .permission(work)
            .doc(
                "command",
                "登记军令状（指挥部办公室；multipart：unit、target（可重复）、signed_on、signatory、file：签署件 PDF/JPG/PNG，不超过 10 MB）",
            )
            .multipart()
            .body::<PledgeUpload>()
            .answer::<PledgeView>()
            .created()
            .errors(PLEDGE_ERRORS)
            .body_limit(DOCUMENT_MAX_BYTES + 64 * 1024),
        Route::put("/api/v1/command/pledges/{id}", update_pledge::<S>)
            .permission(work)
            .doc(
                "command",
                "修改军令状（指挥部办公室；带上读取时的版本号）：所签目标、签署日期、签署人。签署单位和签署件不能改，有误请作废后重新登记；修改记入指挥部历史",
            )
            .body::<PledgeBody>()
            .answer::<PledgeView>()
            .errors(&[
                "pledge_not_found",
                "pledge_changed",
                "pledge_withdrawn",
                "version_required",
                "command_office_only",
                "unknown_target",
                "invalid_date",
                "pledge_targets_required",
                "too_many_items",
                "text_required",
                "text_too_long",
            ]),
        Route::post("/api/v1/command/pledges/{id}/withdraw", withdraw_pledge::<S>)
            .permission(work)
            .doc(
                "command",
                "作废军令状（指挥部办公室；带上版本号和理由）：保留并显示为已作废，不再计入兑现或未兑现，记入指挥部历史",
            )
            .body::<WithdrawBody>()
            .answer::<PledgeView>()
            .errors(WITHDRAW_PLEDGE_ERRORS),
        Route::get("/api/v1/command/pledges/{id}/document", document::<S>)
            .permission(read)
            .doc("command", "下载军令状签署件")
            .errors(&["pledge_not_found"]),
    ]
}

fn form_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(form_not_found()))?)
}

async fn forms<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<FormOverview>>> {
    Ok(Json(app.command().report_forms(&caller, &code).await?))
}

async fn create_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<ReportFormBody>,
) -> ApiResult<(StatusCode, Json<ReportFormView>)> {
    Ok((StatusCode::CREATED, Json(app.command().create_report_form(&caller, &code, body).await?)))
}

async fn update_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReportFormBody>,
) -> ApiResult<Json<ReportFormView>> {
    Ok(Json(app.command().update_report_form(&caller, form_id(&id)?, body).await?))
}

async fn withdraw_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WithdrawBody>,
) -> ApiResult<Json<ReportFormView>> {
    Ok(Json(app.command().withdraw_report_form(&caller, form_id(&id)?, body).await?))
}

/// A pledge id from the path (`404 pledge_not_found` when not a number).
pub(crate) fn pledge_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(pledge_not_found()))?)
}

async fn update_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PledgeBody>,
) -> ApiResult<Json<PledgeView>> {
    Ok(Json(app.command().update_pledge(&caller, pledge_id(&id)?, body).await?))
}

async fn withdraw_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WithdrawBody>,
) -> ApiResult<Json<PledgeView>> {
    Ok(Json(app.command().withdraw_pledge(&caller, pledge_id(&id)?, body).await?))
}

async fn period<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((id, period)): Path<(String, String)>,
) -> ApiResult<Json<PeriodDetail>> {
    Ok(Json(app.command().report_period(&caller, form_id(&id)?, &period).await?))
}

async fn file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((id, period)): Path<(String, String)>,
    JsonBody(body): JsonBody<FilingBody>,
) -> ApiResult<(StatusCode, Json<FilingView>)> {
    Ok((StatusCode::CREATED, Json(app.command().file_report(&caller, form_id(&id)?, &period, body).await?)))
}

async fn chase<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((id, period)): Path<(String, String)>,
    JsonBody(body): JsonBody<ChaseBody>,
) -> ApiResult<Json<ChaseResult>> {
    Ok(Json(app.command().chase(&caller, form_id(&id)?, &period, body).await?))
}

async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((id, period)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (name, bytes) = app.command().report_period_xlsx(&caller, form_id(&id)?, &period).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-report.xlsx"))
}

async fn pledges<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<PledgeView>>> {
    Ok(Json(app.command().pledges(&code).await?))
}

/// Reads the pledge's multipart fields: unit, target (repeatable), signed_on, signatory, file.
pub async fn read_pledge(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<PledgeInput> {
    let too_large = || payload_too_large().with_message("军令状文件不能超过 10 MB");
    let malformed = || ApiError::bad_request("malformed_multipart", "上传内容格式错误（应为 multipart/form-data）");
    let mut multipart = multipart.map_err(|_| malformed())?;
    let mut input = PledgeInput::default();
    let mut file_seen = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(malformed()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if file_seen {
                return Err(AppError::bad_parameter("一份军令状只能上传一个签署件").into());
            }
            file_seen = true;
            input.document_name = field.file_name().map(str::to_owned);
            let bytes = match field.bytes().await {
                Ok(bytes) => bytes,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                Err(_) => return Err(malformed()),
            };
            if bytes.len() > DOCUMENT_MAX_BYTES {
                return Err(too_large());
            }
            input.document = bytes.to_vec();
            continue;
        }
        let text = match field.text().await {
            Ok(text) if text.chars().count() <= 200 => text,
            Ok(_) => return Err(AppError::bad_parameter(format!("「{name}」过长")).into()),
            Err(_) => return Err(malformed()),
        };
        match name.as_str() {
            "unit" => input.unit = text,
            "signed_on" => input.signed_on = text,
            "signatory" => input.signatory = text,
            "target" => {
                if input.target_ids.len() >= 200 {
                    return Err(AppError::bad_parameter("所签目标过多").into());
                }
                let id = text
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_parameter(format!("目标编号「{}」不是数字", text.trim())))?;
                input.target_ids.push(id);
            }
            _ => {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    "军令状只有 unit、target、signed_on、signatory 和 file 几个字段",
                ));
            }
        }
    }
    Ok(input)
}

async fn create_pledge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<PledgeView>)> {
    let input = read_pledge(multipart).await?;
    Ok((StatusCode::CREATED, Json(app.command().create_pledge(&caller, &code, input).await?)))
}

/// The static content type of a stored document type (the three allowed).
pub fn document_content_type(stored: &str) -> &'static str {
    match stored {
        "application/pdf" => "application/pdf",
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

async fn document<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (name, kind, bytes) = app.command().pledge_document(pledge_id(&id)?).await?;
    let ascii = match kind.as_str() {
        "application/pdf" => "pledge.pdf",
        "image/png" => "pledge.png",
        _ => "pledge.jpg",
    };
    Ok(crate::download::file(bytes, document_content_type(&kind), &name, ascii))
}
