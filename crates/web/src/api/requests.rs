//! Intake, lists, detail and every action on a request.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;

use mashangban_domain::org::{Actor, Role, Scope};
use mashangban_domain::request::{Channel, NewRequest, Request, RequestKind, State as RequestState};
use mashangban_domain::time::{Instant, parse_instant, shanghai};
use mashangban_domain::time_limit::intake_deadlines;
use mashangban_store::{Command, ListFilter, ListOrder, Meta, Store};

use crate::auth::{self, Auth, Via};
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ActionInput, IntakeContext, IntakeInput};
use crate::json::{JsonBody, RawJson};
use crate::state::AppState;
use crate::views::{self, AttachmentView, EventView, Lookup, RequestView};

#[derive(Serialize)]
pub struct IntakeAnswer {
    tracking_no: String,
    check_code: String,
    /// The public progress page (tracking number + check code, no account needed).
    progress_url: String,
    request: RequestView,
}

/// `POST /api/v1/requests` (staff, accounts, API tokens) and
/// `POST /api/v1/public/requests` (anonymous portal): take in a request.
/// Answers 201 only after the request and its first event are on disk.
pub async fn intake<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(input): JsonBody<IntakeInput>,
) -> ApiResult<(StatusCode, Json<IntakeAnswer>)> {
    let now = state.now();
    let (channel, submitted_by) = intake_channel(&state, &auth, &input, now)?;
    if let Actor::Account(account) = &auth.actor {
        check_own_enterprise(account.credit_code.as_deref(), &input)?;
    }
    let org = state.org();
    let categories = state.categories();
    let check_code = auth::new_check_code();
    let new = input::new_request(
        input,
        IntakeContext { org: &org, categories: &categories, channel, check_code, submitted_by },
    )?;
    let request = take_in(&state, new, auth.actor, auth.client_ip.clone(), now).await?;
    let calendar = state.calendar();
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now };
    let answer = IntakeAnswer {
        tracking_no: request.tracking_no.clone(),
        check_code: request.check_code.clone(),
        progress_url: format!(
            "{}/track/{}?code={}",
            state.config.public_url.trim_end_matches('/'),
            request.tracking_no,
            request.check_code
        ),
        request: views::request_view(&request, &Actor::System, &lookup, None),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Takes in a validated request from any channel (this API, Open311): the
/// deadlines come from the time-limit rules in force, then the store writes it.
pub(crate) async fn take_in<S: Store>(
    state: &AppState<S>,
    mut new: NewRequest,
    actor: Actor,
    client_ip: Option<String>,
    now: Instant,
) -> ApiResult<Request> {
    let rules = state.rules();
    let limits = rules.resolve(new.kind, new.urgency, new.channel, new.asker.is_enterprise());
    let (due_at, deadlines) = intake_deadlines(&state.calendar(), now, &limits);
    (new.due_at, new.deadlines, new.time_limits) = (due_at, deadlines, Some(limits));
    // The anonymous portal records the asker as the actor of the first event.
    let actor = match actor {
        Actor::Anonymous => Actor::PublicAsker,
        actor => actor,
    };
    let meta = Meta { now, client_ip };
    Ok(state.live.published(state.store.intake(new, &actor, &meta).await?))
}

/// Which channel an intake is on, and which account submitted it.
fn intake_channel<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    input: &IntakeInput,
    now: Instant,
) -> ApiResult<(Channel, Option<i64>)> {
    let self_service = |channel: Option<Channel>| match channel {
        None | Some(Channel::Web) => Ok(Channel::Web),
        Some(Channel::Mobile) => Ok(Channel::Mobile),
        Some(other) => Err(ApiError::invalid(
            "channel_not_allowed",
            format!("网上提交的诉求渠道只能是网站或移动端，不能是「{}」", other.label()),
        )),
    };
    match &auth.actor {
        Actor::Staff(staff) if matches!(staff.role, Role::Operator | Role::Dispatcher) => {
            if auth.via == Via::Token {
                return Ok((Channel::Api, None));
            }
            let channel = input
                .channel
                .ok_or_else(|| ApiError::invalid("channel_required", "请选择受理渠道（如 12345热线、服务窗口）"))?;
            Ok((channel, None))
        }
        Actor::Staff(_) => Err(ApiError::forbidden("您的角色不能受理诉求")),
        Actor::Account(account) => Ok((self_service(input.channel)?, Some(account.user_id))),
        _ => {
            let key = auth.client_ip.clone().unwrap_or_default();
            if !state.intake_limiter.hit(&key, now) {
                return Err(ApiError::rate_limited().with_message("提交过于频繁，请稍后再试或拨打12345热线"));
            }
            Ok((self_service(input.channel)?, None))
        }
    }
}

/// An enterprise account submits for its own enterprise only.
fn check_own_enterprise(own: Option<&str>, input: &IntakeInput) -> ApiResult<()> {
    match (&input.asker, own) {
        (input::AskerInput::Enterprise { credit_code, .. }, Some(own))
            if credit_code.trim().eq_ignore_ascii_case(own) =>
        {
            Ok(())
        }
        (input::AskerInput::Resident, None) => Ok(()),
        (_, Some(_)) => Err(ApiError::invalid("asker_mismatch", "企业账号只能以本企业的名义提交诉求")),
        (_, None) => Err(ApiError::invalid("asker_mismatch", "个人账号只能以个人名义提交诉求")),
    }
}

#[derive(Serialize)]
pub struct ListAnswer {
    items: Vec<RequestView>,
    next_cursor: Option<String>,
}

/// `GET /api/v1/requests`: requests in the caller's scope, newest first.
/// Filters: `state` (comma list), `kind`, `channel`, `unit` (lead or co-handling),
/// `lead_unit` (lead only; `none`: not dispatched), `town` (`none`: no town),
/// `category`, `category_group` (a category and those under it), `from`, `to`
/// (received; RFC 3339 or YYYY-MM-DD, `to` exclusive), `closed_from`,
/// `closed_to`, `overdue=true`, `supervised=true`, `credit_code`, `phone`;
/// `sort=newest|deadline`; pagination: `limit` (≤ 500), `cursor`.
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ListAnswer>> {
    let actor = auth.require_login()?;
    let filter = list_filter(&state, &query)?;
    let page = state.store.list(&filter, &actor.scope()).await?;
    let org = state.org();
    let categories = state.categories();
    let calendar = state.calendar();
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    let items = page.items.iter().map(|r| views::request_view(r, actor, &lookup, None)).collect();
    Ok(Json(ListAnswer { items, next_cursor: page.next_cursor.map(|c| c.to_string()) }))
}

pub(crate) fn list_filter<S: Store>(state: &AppState<S>, query: &HashMap<String, String>) -> ApiResult<ListFilter> {
    let mut f = ListFilter { limit: 50, ..ListFilter::default() };
    let org = state.org();
    for (key, value) in query.iter().filter(|(_, v)| !v.trim().is_empty()) {
        let value = value.trim();
        match key.as_str() {
            "state" => {
                f.states =
                    value.split(',').map(|s| parse_code(key, s, RequestState::parse)).collect::<Result<_, _>>()?
            }
            "kind" => f.kind = Some(parse_code(key, value, RequestKind::parse)?),
            "channel" => f.channel = Some(parse_code(key, value, Channel::parse)?),
            "unit" => f.unit_id = Some(input::unit_by_code(&org, value)?),
            "lead_unit" if value == "none" => f.without_lead_unit = true,
            "lead_unit" => f.lead_unit_id = Some(input::unit_by_code(&org, value)?),
            "town" if value == "none" => f.without_town = true,
            "town" => {
                f.town_id = Some(
                    org.by_code(value)
                        .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town)
                        .map(|u| u.id)
                        .ok_or_else(|| ApiError::invalid("unknown_town", format!("镇街「{value}」不存在")))?,
                )
            }
            "category" => {
                f.category_id =
                    Some(
                        state.categories().iter().find(|c| c.code == value).map(|c| c.id).ok_or_else(|| {
                            ApiError::invalid("unknown_category", format!("诉求分类「{value}」不存在"))
                        })?,
                    )
            }
            "category_group" => f.category_ids = category_group(state, value)?,
            "closed_from" => f.closed_from = Some(parse_time_param(key, value)?),
            "closed_to" => f.closed_to = Some(parse_time_param(key, value)?),
            "from" => f.received_from = Some(parse_time_param(key, value)?),
            "to" => f.received_to = Some(parse_time_param(key, value)?),
            "overdue" => {
                if parse_bool(key, value)? {
                    f.overdue_at = Some(state.now());
                }
            }
            "credit_code" => f.credit_code = Some(value.to_uppercase()),
            "phone" => f.contact_phone = Some(mashangban_domain::validation::Phone::parse(value)?.as_str().to_owned()),
            "limit" => {
                f.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| ApiError::bad_request("invalid_parameter", "「limit」应为 1 到 500 的整数"))?
            }
            "sort" => {
                f.order = match value {
                    "newest" => ListOrder::Newest,
                    "deadline" => ListOrder::Deadline,
                    _ => return Err(ApiError::bad_request("invalid_parameter", "「sort」应为 newest 或 deadline")),
                }
            }
            "supervised" => {
                if parse_bool(key, value)? {
                    f.supervised = true;
                }
            }
            "unhappy" => {
                if parse_bool(key, value)? {
                    f.unhappy_follow_up = true;
                }
            }
            "cursor" => {
                f.before_id =
                    Some(value.parse().map_err(|_| ApiError::bad_request("invalid_parameter", "「cursor」不正确"))?)
            }
            other => return Err(ApiError::bad_request("unknown_parameter", format!("不认识的查询参数「{other}」"))),
        }
    }
    Ok(f)
}

/// A category and every category under it, by its code.
fn category_group<S: Store>(state: &AppState<S>, code: &str) -> ApiResult<Vec<i64>> {
    let categories = state.categories();
    let root = categories
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| ApiError::invalid("unknown_category", format!("诉求分类「{code}」不存在")))?;
    let mut group = vec![root.id];
    let mut i = 0;
    while let Some(&parent) = group.get(i) {
        group.extend(categories.iter().filter(|c| c.parent_id == Some(parent)).map(|c| c.id));
        i += 1;
    }
    Ok(group)
}

fn parse_code<T>(key: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> ApiResult<T> {
    parse(value.trim())
        .ok_or_else(|| ApiError::bad_request("invalid_parameter", format!("「{key}」的取值「{value}」不正确")))
}

fn parse_bool(key: &str, value: &str) -> ApiResult<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request("invalid_parameter", format!("「{key}」应为 true 或 false"))),
    }
}

/// An RFC 3339 instant, or a date meaning its start in Asia/Shanghai.
fn parse_time_param(key: &str, value: &str) -> ApiResult<Instant> {
    if let Some(t) = parse_instant(value) {
        return Ok(t);
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(shanghai()).single())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", format!("「{key}」应为日期（2026-01-31）或带时区的时间"))
        })
}

#[derive(Serialize)]
pub struct Detail {
    request: RequestView,
    history: Vec<EventView>,
    attachments: Vec<AttachmentView>,
}

/// `GET /api/v1/requests/{no}`: the request with its whole history.
pub async fn detail<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(no): Path<String>,
) -> ApiResult<Json<Detail>> {
    let actor = auth.require_login()?;
    let request = state.store.find(&no, &actor.scope()).await?.ok_or_else(ApiError::request_not_found)?;
    Ok(Json(detail_of(&state, &request, actor).await?))
}

async fn detail_of<S: Store>(state: &AppState<S>, request: &Request, actor: &Actor) -> ApiResult<Detail> {
    let history = state.store.history(request.id).await?;
    let attachments = state.store.attachments(request.id).await?;
    let merged_into = merged_tracking_no(state, request).await?;
    let org = state.org();
    let categories = state.categories();
    let calendar = state.calendar();
    let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: state.now() };
    Ok(Detail {
        request: views::request_view(request, actor, &lookup, merged_into),
        history: history.iter().map(|e| views::event_view(e, actor, &org)).collect(),
        attachments: attachments.iter().map(views::attachment_view).collect(),
    })
}

pub async fn merged_tracking_no<S: Store>(state: &AppState<S>, request: &Request) -> ApiResult<Option<String>> {
    match request.merged_into {
        Some(id) => Ok(state.store.find_by_id(id, &mashangban_domain::org::Scope::All).await?.map(|p| p.tracking_no)),
        None => Ok(None),
    }
}

/// `POST /api/v1/requests/{no}/{action}`: dispatch, sign, return, redispatch,
/// refuse-return, stage-reply, request-extension, approve-extension,
/// refuse-extension, reply, reject-reply, close, direct-close, follow-up,
/// reopen, merge, withdraw, archive. Answers the request with its history.
pub async fn act<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((no, action)): Path<(String, String)>,
    RawJson(body): RawJson,
) -> ApiResult<Json<Detail>> {
    let actor = auth.require_login()?.clone();
    if !input::ACTION_NAMES.contains(&action.as_str()) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_action", format!("没有名为「{action}」的操作")));
    }
    let (parsed, attachment_ids) = input::parse_action(&action, &body, &state.org())?;
    let scope = actor.scope();
    let action = match parsed {
        ActionInput::Ready(action) => action,
        ActionInput::MergeInto(parent_no) => {
            let parent = state.store.find(parent_no.trim(), &scope).await?.ok_or_else(|| {
                ApiError::invalid("merge_target_not_found", format!("要合并到的主诉求「{parent_no}」不存在"))
            })?;
            mashangban_domain::lifecycle::Action::Merge { parent_id: parent.id }
        }
    };
    let command = Command {
        tracking_no: no.clone(),
        scope: scope.clone(),
        actor: actor.clone(),
        action,
        attachment_ids,
        meta: Meta { now: state.now(), client_ip: auth.client_ip.clone() },
        calendar: Some(state.calendar()),
    };
    let request = match state.store.act(command).await {
        Ok(request) => request,
        Err(e) => return Err(with_current_state(&state, &no, &scope, e.into()).await),
    };
    state.live.publish(&request.tracking_no);
    Ok(Json(detail_of(&state, &request, &actor).await?))
}

/// A refused action (409: the state changed or does not allow it) carries the
/// request's current state and version, so the client can show what happened
/// meanwhile (e.g. another node's user acted first) without a second call.
async fn with_current_state<S: Store>(state: &AppState<S>, no: &str, scope: &Scope, error: ApiError) -> ApiError {
    if error.status != StatusCode::CONFLICT {
        return error;
    }
    match state.store.find(no, scope).await {
        Ok(Some(r)) => error.with_current(serde_json::json!({
            "tracking_no": r.tracking_no,
            "state": r.state.as_str(),
            "state_label": r.state.label(),
            "version": r.version,
            "updated_at": mashangban_domain::time::format_instant(&r.updated_at),
        })),
        _ => error,
    }
}
