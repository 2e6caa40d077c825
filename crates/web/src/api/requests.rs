//! Intake, lists, detail and every action on a request.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use schemars::Schema;
use schemars::generate::SchemaGenerator;
use serde_json::{Value, json};

use mashangban_app::App;
use mashangban_app::input::{ActionInput, ActionRequest, IntakeInput, LIST_PARAMETERS};
use mashangban_app::requests::{Detail, Intake, RequestList, UnitDeskView};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::json::{JsonBody, RawJson};
use crate::routes::Route;

const INTAKE_ERRORS: &[&str] = &[
    "invalid_credit_code",
    "invalid_phone",
    "invalid_email",
    "invalid_coordinates",
    "unknown_category",
    "unknown_town",
    "text_required",
    "text_too_long",
    "channel_required",
    "channel_not_allowed",
    "asker_mismatch",
    "unknown_ledger_item",
];

const ACTION_ERRORS: &[&str] = &[
    "request_not_found",
    "unknown_action",
    "illegal_transition",
    "unknown_unit",
    "same_unit",
    "lead_in_co_units",
    "too_many_co_units",
    "extension_pending",
    "no_extension_pending",
    "invalid_extension_due",
    "invalid_datetime",
    "direct_close_not_allowed",
    "reopen_not_allowed",
    "merge_into_self",
    "merge_target_not_found",
    "merge_target_invalid",
    "invalid_supervision_due",
    "unknown_attachment",
    "text_required",
    "concurrent_update",
    "nothing_changed",
    "act_now_for_enterprises",
    "unknown_category",
    "unknown_town",
    "time_limit_version_missing",
    "direct_line_return_limit",
    "version_changed",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::post("/api/v1/requests", intake::<S>)
            .permission(Permission::Intake)
            .doc("requests", "受理诉求（工作人员、账号、接口令牌）")
            .body::<IntakeInput>()
            .answer::<Intake>()
            .created()
            .errors(INTAKE_ERRORS),
        Route::post("/api/v1/public/requests", intake::<S>)
            .public()
            .doc("public", "门户提交诉求（无需账号，按地址限流）")
            .body::<IntakeInput>()
            .answer::<Intake>()
            .created()
            .errors(&[
                "invalid_credit_code",
                "invalid_phone",
                "invalid_coordinates",
                "unknown_category",
                "unknown_town",
                "text_required",
                "text_too_long",
                "channel_not_allowed",
                "rate_limited",
            ]),
        Route::get("/api/v1/requests", list::<S>)
            .doc("requests", "诉求列表（数据权限内）")
            .query(LIST_PARAMETERS)
            .answer::<RequestList>()
            .errors(&[
                "unknown_parameter",
                "invalid_parameter",
                "unknown_unit",
                "unknown_town",
                "unknown_category",
                "invalid_phone",
                "phone_filter_forbidden",
                "query_too_long",
                "query_too_complex",
                "query_unclosed_quote",
                "query_no_terms",
                "search_unavailable",
            ]),
        Route::get("/api/v1/unit-desk", unit_desk::<S>)
            .permission(Permission::ReadUnitDesk)
            .doc("requests", "单位负责人工作台：本单位待审核的答复（最多100件）和各科室、村居的二次派单负荷")
            .answer::<UnitDeskView>(),
        Route::get("/api/v1/requests/{no}", detail::<S>)
            .doc("requests", "诉求详情与全部办理记录")
            .answer::<Detail>()
            .errors(&["request_not_found"]),
        Route::post("/api/v1/requests/{no}/{action}", act::<S>)
            .doc(
                "requests",
                "办理操作（派单、签收、退单、改派、延期、答复、办结、回访、重办、并单、撤回、挂起、督办、催办、改类改急……）",
            )
            .body_schema(action_bodies)
            .answer::<Detail>()
            .errors(ACTION_ERRORS),
    ]
}

/// `POST /api/v1/requests` (staff, accounts, API tokens) and
/// `POST /api/v1/public/requests` (anonymous portal): take in a request.
/// Answers 201 only after the request and its first event are on disk.
async fn intake<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<IntakeInput>,
) -> ApiResult<(StatusCode, Json<Intake>)> {
    Ok((StatusCode::CREATED, Json(app.requests().intake(&caller, input).await?)))
}

/// `GET /api/v1/requests`: requests in the caller's scope, newest first, or with `q` a full-text search
/// with the same filters (see [`LIST_PARAMETERS`]).
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<RequestList>> {
    match app.requests().query(&query)? {
        (filter, None) => Ok(Json(app.requests().list(&caller, &filter).await?.into())),
        (filter, Some(search)) => Ok(Json(app.search().requests(&caller, &filter, &search).await?.into())),
    }
}

/// `GET /api/v1/unit-desk`.
async fn unit_desk<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<UnitDeskView>> {
    let desk = app.requests().unit_desk(&caller, UNIT_DESK_REVIEW_MAX).await?;
    Ok(Json(desk.ok_or_else(|| ApiError::from(mashangban_app::AppError::forbidden("只有单位负责人有工作台")))?.into()))
}

/// Replies waiting for review the desk's answer lists at most.
const UNIT_DESK_REVIEW_MAX: u32 = 100;

/// `GET /api/v1/requests/{no}`: the request with its whole history.
async fn detail<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Detail>> {
    Ok(Json(app.requests().open(&caller, &no).await?.detail))
}

/// `POST /api/v1/requests/{no}/{action}`: one of the actions of
/// [`ActionInput`], its body as JSON. Answers the request with its history.
async fn act<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((no, action)): Path<(String, String)>,
    RawJson(body): RawJson,
) -> ApiResult<Json<Detail>> {
    let input = ActionRequest::parse(&action, &body)?;
    Ok(Json(app.requests().act(&caller, &no, input).await?))
}

/// The body of an action as clients send it: one of the bodies of
/// [`ActionInput`], the one of the action named in the path.
fn action_bodies(generator: &mut SchemaGenerator) -> Schema {
    let tagged = generator.subschema_for::<ActionInput>().to_value();
    let name = tagged.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(str::to_owned);
    let definition = name.and_then(|n| generator.definitions_mut().remove(&n)).unwrap_or(tagged);
    let variants: Vec<Value> = mashangban_app::input::action_bodies(&definition)
        .into_iter()
        .map(|(action, mut body)| {
            if let Some(map) = body.as_object_mut() {
                map.insert("title".into(), json!(action));
            }
            body
        })
        .collect();
    let description =
        "按路径中的操作名（title）选用其请求体；任何操作都可附带 attachment_ids（已上传附件的编号数组）。";
    Schema::try_from(json!({ "description": description, "oneOf": variants })).unwrap_or_default()
}
