//! The asker's own endpoints: progress by tracking number + check code
//! (查询码), no account needed; withdraw, rate, ask for reopening, add materials.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use serde::Deserialize;

use mashangban_app::dispatch::{PublicDraftBody, PublicSuggestions};
use mashangban_app::input::{RateInput, ReopenRequestInput, WithdrawInput};
use mashangban_app::views::{AttachmentView, PublicView};
use mashangban_app::{App, Settings};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;
use crate::upload::{attachment_too_large, malformed_multipart, read_files};

pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    let steps = &["request_not_found", "illegal_transition", "rate_limited"];
    vec![
        Route::post("/api/v1/public/category-suggestions", category_suggestions::<S>)
            .public()
            .doc("public", "门户填写诉求时按标题和内容建议分类（至多三个，仅分类名称；按来源地址限流）")
            .body::<PublicDraftBody>()
            .answer::<PublicSuggestions>()
            .errors(&["unknown_field", "text_too_long", "invalid_text", "unknown_town", "rate_limited"]),
        Route::get("/api/v1/public/requests/{no}", progress::<S>)
            .public()
            .doc("public", "凭受理编号和查询码查看办理进度（个人信息脱敏）")
            .query(&[("code", "查询码")])
            .answer::<PublicView>()
            .errors(&["request_not_found", "rate_limited"]),
        Route::post("/api/v1/public/requests/{no}/withdraw", withdraw::<S>)
            .public()
            .doc("public", "诉求人撤回")
            .body::<WithdrawInput>()
            .answer::<PublicView>()
            .errors(steps),
        Route::post("/api/v1/public/requests/{no}/rate", rate::<S>)
            .public()
            .doc("public", "诉求人评价")
            .body::<RateInput>()
            .answer::<PublicView>()
            .errors(steps),
        Route::post("/api/v1/public/requests/{no}/reopen-request", request_reopen::<S>)
            .public()
            .doc("public", "诉求人对回访不满意时申请重办")
            .body::<ReopenRequestInput>()
            .answer::<PublicView>()
            .errors(&[
                "request_not_found",
                "illegal_transition",
                "reopen_request_not_allowed",
                "reopen_already_requested",
                "invalid_text",
                "rate_limited",
            ]),
        Route::post("/api/v1/public/requests/{no}/attachments", upload::<S>)
            .public()
            .doc("public", "诉求人补充材料")
            .query(&[("code", "查询码")])
            .multipart()
            .answer::<Vec<AttachmentView>>()
            .errors(&[
                "request_not_found",
                "unsupported_file_type",
                "empty_file",
                "too_many_attachments",
                "payload_too_large",
            ])
            .body_limit(super::attachments::upload_limit(settings)),
    ]
}

/// `?code=CHECKCODE`, and nothing else: an unknown parameter is refused, as on every other endpoint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeQuery {
    #[serde(default)]
    pub code: Option<String>,
}

/// `GET /api/v1/public/requests/{no}?code=CHECKCODE`: the masked progress.
async fn progress<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().progress(&caller, &no, query.code.as_deref()).await?.view))
}

/// `POST /api/v1/public/requests/{no}/withdraw`: the asker withdraws (撤回).
async fn withdraw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<WithdrawInput>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().withdraw(&caller, &no, input).await?.view))
}

/// `POST /api/v1/public/category-suggestions`: the categories the words typed so far point to.
async fn category_suggestions<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<PublicDraftBody>,
) -> ApiResult<Json<PublicSuggestions>> {
    Ok(Json(app.dispatch().public_categories(&caller, body).await?))
}

/// `POST /api/v1/public/requests/{no}/reopen-request`: the asker asks for reopening (申请重办).
async fn request_reopen<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<ReopenRequestInput>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().request_reopen(&caller, &no, input).await?.view))
}

/// `POST /api/v1/public/requests/{no}/rate`: the asker rates the answer (评价).
async fn rate<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<RateInput>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().rate(&caller, &no, input).await?.view))
}

/// `POST /api/v1/public/requests/{no}/attachments?code=CHECKCODE` (multipart
/// field `file`): the asker adds materials (补充材料).
async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Vec<AttachmentView>>> {
    let requests = app.requests();
    // The check code first, so a stranger's upload is refused before it is read.
    let request = requests.verified(&caller, &no, query.code.as_deref()).await?;
    let multipart = multipart.map_err(|_| malformed_multipart())?;
    let files = read_files(multipart, &attachment_too_large(app.settings().max_attachment_bytes)).await?;
    Ok(Json(requests.add_materials(&caller, &request.tracking_no, Some(&request.check_code), files).await?))
}
