//! The asker's own endpoints: progress by tracking number + check code
//! (查询码), no account needed; withdraw, rate, add materials.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use serde::Deserialize;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::request::{Rating, Request};
use mashangban_store::{Command, Meta, Store};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::input::optional_comment;
use crate::json::JsonBody;
use crate::live::{CodeQuery, verified};
use crate::state::AppState;
use crate::views::{AttachmentView, PublicView};

/// `GET /api/v1/public/requests/{no}?code=CHECKCODE`: the masked progress.
pub async fn progress<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
) -> ApiResult<Json<PublicView>> {
    let request = verified(&state, &auth, &no, query.code.as_deref()).await?;
    Ok(Json(public_view_of(&state, &request).await?))
}

/// The asker's masked view (with the parent of a merged duplicate).
pub async fn public_view_of<S: Store>(state: &AppState<S>, request: &Request) -> ApiResult<PublicView> {
    Ok(crate::live::public_view_of(state, request).await?.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    code: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/public/requests/{no}/withdraw`: the asker withdraws (撤回).
pub async fn withdraw<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<WithdrawInput>,
) -> ApiResult<Json<PublicView>> {
    let request = verified(&state, &auth, &no, Some(&input.code)).await?;
    let action = Action::Withdraw { reason: optional_comment(input.reason.as_deref())? };
    act_as_asker(&state, &auth, request, action).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequestInput {
    code: String,
    reason: String,
}

/// `POST /api/v1/public/requests/{no}/reopen-request`: after an unhappy
/// follow-up the asker asks for the request to be handled again (申请重办);
/// the dispatcher sees it in the review queue and decides.
pub async fn request_reopen<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<ReopenRequestInput>,
) -> ApiResult<Json<PublicView>> {
    let request = verified(&state, &auth, &no, Some(&input.code)).await?;
    act_as_asker(&state, &auth, request, Action::RequestReopen { reason: input.reason }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateInput {
    code: String,
    rating: Rating,
    resolved: bool,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /api/v1/public/requests/{no}/rate`: the asker rates the answer (评价).
pub async fn rate<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<RateInput>,
) -> ApiResult<Json<PublicView>> {
    let request = verified(&state, &auth, &no, Some(&input.code)).await?;
    let action = Action::FollowUp { rating: input.rating, resolved: input.resolved, comment: input.comment };
    act_as_asker(&state, &auth, request, action).await
}

async fn act_as_asker<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    request: Request,
    action: Action,
) -> ApiResult<Json<PublicView>> {
    let request = asker_acts(state, auth, &request.tracking_no, action).await?;
    Ok(Json(public_view_of(state, &request).await?))
}

/// The verified asker takes an action on their request (API and pages alike);
/// the change is published to live progress pages.
pub(crate) async fn asker_acts<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    tracking_no: &str,
    action: Action,
) -> Result<Request, mashangban_store::StoreError> {
    let command = Command {
        tracking_no: tracking_no.to_owned(),
        scope: Scope::All,
        actor: Actor::PublicAsker,
        action,
        attachment_ids: Vec::new(),
        meta: Meta { now: state.now(), client_ip: auth.client_ip.clone() },
        calendar: Some(state.calendar()),
    };
    let request = state.store.act(command).await?;
    state.live.publish(&request.tracking_no);
    Ok(request)
}

/// `POST /api/v1/public/requests/{no}/attachments?code=CHECKCODE` (multipart
/// field `file`): the asker adds materials (补充材料).
pub async fn upload<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
    Query(query): Query<CodeQuery>,
    multipart: Multipart,
) -> ApiResult<Json<Vec<AttachmentView>>> {
    let request = verified(&state, &auth, &no, query.code.as_deref()).await?;
    let saved =
        super::attachments::store_files(&state, &request.tracking_no, Scope::All, Actor::PublicAsker, &auth, multipart)
            .await?;
    Ok(Json(saved))
}
