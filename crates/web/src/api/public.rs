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
use crate::error::{ApiError, ApiResult};
use crate::input::optional_comment;
use crate::json::JsonBody;
use crate::state::AppState;
use crate::views::{self, AttachmentView, PublicView};

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: Option<String>,
}

/// Loads a request for its asker; a wrong code is the same 404 as no
/// request, and failures per client address are limited against guessing.
async fn verified<S: Store>(state: &AppState<S>, auth: &Auth, no: &str, code: Option<&str>) -> ApiResult<Request> {
    let now = state.now();
    let key = auth.client_ip.clone().unwrap_or_default();
    if !state.lookup_limiter.allows(&key, now) {
        return Err(ApiError::rate_limited().with_message("查询失败次数过多，请一小时后再试"));
    }
    let code = code.map(str::trim).unwrap_or_default();
    let found = state.store.find(no.trim(), &Scope::All).await?;
    match found {
        Some(r) if !code.is_empty() && constant_time_eq(r.check_code.as_bytes(), code.as_bytes()) => Ok(r),
        _ => {
            state.lookup_limiter.record(&key, now);
            Err(ApiError::not_found().with_code("request_not_found").with_message("受理编号或查询码不正确"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

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

pub async fn public_view_of<S: Store>(state: &AppState<S>, request: &Request) -> ApiResult<PublicView> {
    let org = state.org();
    let events = state.store.history(request.id).await?;
    let mut view = views::public_view(request, &events, &org);
    let parent = match request.merged_into {
        Some(parent_id) => state.store.find_by_id(parent_id, &Scope::All).await?,
        None => None,
    };
    if let Some(parent) = parent {
        let parent_events = state.store.history(parent.id).await?;
        view.merged_into = Some(Box::new(views::public_view(&parent, &parent_events, &org)));
    }
    Ok(view)
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
    let command = Command {
        tracking_no: request.tracking_no,
        scope: Scope::All,
        actor: Actor::PublicAsker,
        action,
        attachment_ids: Vec::new(),
        meta: Meta { now: state.now(), client_ip: auth.client_ip.clone() },
        calendar: Some(state.calendar()),
    };
    let request = state.store.act(command).await?;
    Ok(Json(public_view_of(state, &request).await?))
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
