//! Notification administration (通知管理): the outbox with failed deliveries
//! and their retry, templates, webhooks and users' e-mail addresses. Administrators only.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use mashangban_domain::notify::{self, NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::{Actor, Role};
use mashangban_store::{NewWebhook, OutboxItem, OutboxStatus, Store, StoredTemplate, Webhook};

use crate::auth::{self, Auth};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::state::AppState;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/api/v1/admin/outbox", get(outbox::<S>))
        .route("/api/v1/admin/outbox/{id}/retry", post(retry::<S>))
        .route("/api/v1/admin/notification-templates", get(templates::<S>))
        .route("/api/v1/admin/notification-templates/{key}/{channel}", get(template::<S>).put(put_template::<S>))
        .route("/api/v1/admin/webhooks", get(webhooks::<S>).post(create_webhook::<S>))
        .route("/api/v1/admin/webhooks/{id}", axum::routing::delete(delete_webhook::<S>))
        .route("/api/v1/admin/users/{username}/email", put(set_email::<S>))
}

fn admin(auth: &Auth) -> ApiResult<&Actor> {
    auth.require_role(&[Role::Admin])
}

fn id_param(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `GET /api/v1/admin/outbox?status=failed&limit=100`: deliveries, newest first.
async fn outbox<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<OutboxItem>>> {
    admin(&auth)?;
    if let Some(name) = query.keys().find(|k| !matches!(k.as_str(), "status" | "limit")) {
        return Err(ApiError::bad_request("unknown_parameter", format!("不认识的参数「{name}」")));
    }
    let status = match query.get("status") {
        Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", "status 应为 pending、sending、sent 或 failed")
        })?),
        None => None,
    };
    let limit = match query.get("limit") {
        Some(l) => l.parse().map_err(|_| ApiError::bad_request("invalid_parameter", "limit 应为 1–1000 的整数"))?,
        None => 100,
    };
    Ok(Json(state.store.list_outbox(status, limit).await?))
}

/// `POST /api/v1/admin/outbox/{id}/retry`: sends a failed delivery again (same idempotency key).
async fn retry<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<OutboxItem>> {
    admin(&auth)?;
    Ok(Json(state.store.retry_notification(id_param(&id)?, state.now()).await?))
}

/// A template in force for a key and channel.
#[derive(Serialize)]
struct TemplateView {
    key: TemplateKey,
    channel: NoticeChannel,
    subject: Option<String>,
    body: String,
    /// The placeholders this template may use.
    variables: &'static [&'static str],
    /// False while the built-in template is in force.
    customized: bool,
    updated_at: Option<String>,
    updated_by: Option<String>,
}

fn template_view(key: TemplateKey, channel: NoticeChannel, stored: &[StoredTemplate]) -> Option<TemplateView> {
    let found = stored.iter().find(|t| t.key == key && t.channel == channel);
    let template = match found {
        Some(t) => t.template.clone(),
        None => notify::default_template(key, channel)?,
    };
    Some(TemplateView {
        key,
        channel,
        subject: template.subject,
        body: template.body,
        variables: key.variables(),
        customized: found.is_some(),
        updated_at: found.map(|t| mashangban_domain::time::format_instant(&t.updated_at)),
        updated_by: found.map(|t| t.updated_by.clone()),
    })
}

/// `GET /api/v1/admin/notification-templates`: every template in force.
async fn templates<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<Vec<TemplateView>>> {
    admin(&auth)?;
    let stored = state.store.notification_templates().await?;
    let all = TemplateKey::ALL.iter().flat_map(|&key| key.channels().iter().map(move |&channel| (key, channel)));
    Ok(Json(all.filter_map(|(key, channel)| template_view(key, channel, &stored)).collect()))
}

fn key_and_channel(key: &str, channel: &str) -> ApiResult<(TemplateKey, NoticeChannel)> {
    let key = TemplateKey::parse(key).ok_or_else(ApiError::not_found)?;
    let channel =
        NoticeChannel::parse(channel).filter(|c| key.channels().contains(c)).ok_or_else(ApiError::not_found)?;
    Ok((key, channel))
}

/// `GET /api/v1/admin/notification-templates/{key}/{channel}`.
async fn template<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((key, channel)): Path<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    admin(&auth)?;
    let (key, channel) = key_and_channel(&key, &channel)?;
    let stored = state.store.notification_templates().await?;
    template_view(key, channel, &stored).map(Json).ok_or_else(ApiError::not_found)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    #[serde(default)]
    subject: Option<String>,
    body: String,
}

/// `PUT /api/v1/admin/notification-templates/{key}/{channel}`: `{"subject"?, "body"}`;
/// used for notices written from now on. Unknown placeholders are refused.
async fn put_template<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path((key, channel)): Path<(String, String)>,
    JsonBody(input): JsonBody<TemplateInput>,
) -> ApiResult<Json<TemplateView>> {
    let actor = admin(&auth)?;
    let (key, channel) = key_and_channel(&key, &channel)?;
    let template = notify::validate_template(key, channel, &Template { subject: input.subject, body: input.body })?;
    let stored =
        StoredTemplate { key, channel, template, updated_at: state.now(), updated_by: actor.name().to_owned() };
    let stored = state.store.put_notification_template(stored).await?;
    template_view(key, channel, &[stored]).map(Json).ok_or_else(ApiError::internal)
}

/// `GET /api/v1/admin/webhooks` (secrets are not shown).
async fn webhooks<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<Vec<Webhook>>> {
    admin(&auth)?;
    Ok(Json(state.store.webhooks().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookInput {
    name: String,
    url: String,
    /// The signing key; generated when absent.
    #[serde(default)]
    secret: Option<String>,
    /// Event kind codes; empty or absent means every event.
    #[serde(default)]
    events: Vec<String>,
}

#[derive(Serialize)]
struct CreatedWebhook {
    #[serde(flatten)]
    webhook: Webhook,
    /// Shown only now: the partner verifies signatures with it.
    secret: String,
}

/// `POST /api/v1/admin/webhooks`: `{"name", "url", "secret"?, "events"?}`; answers the secret once.
async fn create_webhook<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(input): JsonBody<WebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    admin(&auth)?;
    let new = webhook_input(input)?;
    let webhook = state.store.create_webhook(new, state.now()).await?;
    let secret = webhook.secret.clone();
    Ok((StatusCode::CREATED, Json(CreatedWebhook { webhook, secret })))
}

fn webhook_input(input: WebhookInput) -> ApiResult<NewWebhook> {
    let name = mashangban_domain::validation::required_text("名称", &input.name, 100)?;
    let url = input.url.trim().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(ApiError::invalid("invalid_url", "Webhook地址应以 http:// 或 https:// 开头"));
    }
    if let Some(bad) = input.events.iter().find(|e| mashangban_domain::request::EventKind::parse(e).is_none()) {
        return Err(ApiError::invalid("invalid_field", format!("不认识的事件「{bad}」")));
    }
    let secret = match input.secret.map(|s| s.trim().to_owned()) {
        Some(s) if s.len() < 16 => return Err(ApiError::invalid("invalid_field", "签名密钥至少16个字符")),
        Some(s) => s,
        None => auth::random_secret(),
    };
    Ok(NewWebhook { name, url, secret, events: input.events })
}

/// `DELETE /api/v1/admin/webhooks/{id}`.
async fn delete_webhook<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    admin(&auth)?;
    state.store.delete_webhook(id_param(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailInput {
    /// The address, or null to clear it.
    email: Option<String>,
}

/// `PUT /api/v1/admin/users/{username}/email`: `{"email": "…" | null}`.
async fn set_email<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<EmailInput>,
) -> ApiResult<StatusCode> {
    admin(&auth)?;
    let email = input.email.filter(|e| !e.trim().is_empty()).map(|e| notify::parse_email(&e)).transpose()?;
    state.store.set_user_email(&username, email).await?;
    Ok(StatusCode::NO_CONTENT)
}
