//! Notification administration (通知管理): the outbox with failed deliveries
//! and their retry, templates, webhooks and users' e-mail addresses.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use mashangban_app::accounts::EmailInput;
use mashangban_app::notifications::{
    CreatedWebhook, OutboxView, TEMPLATE_VERSIONS_MAX, TemplateInput, TemplateVersionView, TemplateView, WebhookInput,
    WebhookView,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageNotifications;
    let template = "/api/v1/admin/notification-templates/{key}/{channel}";
    vec![
        Route::get("/api/v1/admin/outbox", outbox::<S>)
            .permission(manage)
            .doc("notifications", "通知发件箱")
            .query(&[("status", "pending/sending/sent/failed"), ("limit", "条数")])
            .answer::<Vec<OutboxView>>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/admin/outbox/{id}/retry", retry::<S>)
            .permission(manage)
            .doc("notifications", "重发失败的通知")
            .answer::<OutboxView>()
            .errors(&["notification_not_found", "notification_not_failed"]),
        Route::get("/api/v1/admin/notification-templates", templates::<S>)
            .permission(manage)
            .doc("notifications", "通知模板")
            .answer::<Vec<TemplateView>>(),
        Route::get(template, get_template::<S>)
            .permission(manage)
            .doc("notifications", "某个通知模板")
            .answer::<TemplateView>()
            .errors(&["not_found"]),
        Route::put(template, put_template::<S>)
            .permission(manage)
            .doc("notifications", "修改通知模板")
            .body::<TemplateInput>()
            .answer::<TemplateView>()
            .errors(&["not_found", "invalid_template"]),
        Route::delete(template, reset_template::<S>)
            .permission(manage)
            .doc("notifications", "通知模板恢复默认（此后的通知使用内置模板）")
            .answer::<TemplateView>()
            .errors(&["not_found"]),
        Route::get("/api/v1/admin/notification-templates/{key}/{channel}/versions", template_versions::<S>)
            .permission(manage)
            .doc("notifications", "通知模板的版本记录（最新在前，最多100个；恢复某个版本即以其内容再次保存）")
            .answer::<Vec<TemplateVersionView>>()
            .errors(&["not_found"]),
        Route::post(
            "/api/v1/admin/notification-templates/{key}/{channel}/versions/{version}/restore",
            restore_template_version::<S>,
        )
        .permission(manage)
        .doc("notifications", "恢复通知模板的某个版本：以其内容再次保存（此后的通知使用），本身记为一个新版本")
        .answer::<TemplateView>()
        .errors(&["not_found", "template_version_not_found", "template_version_deleted", "invalid_template"]),
        Route::get("/api/v1/admin/webhooks", webhooks::<S>)
            .permission(manage)
            .doc("notifications", "合作系统回调（Webhook）")
            .answer::<Vec<WebhookView>>(),
        Route::post("/api/v1/admin/webhooks", create_webhook::<S>)
            .permission(manage)
            .doc("notifications", "新增 Webhook（签名密钥只在此时返回）")
            .body::<WebhookInput>()
            .answer::<CreatedWebhook>()
            .created()
            .errors(&["invalid_url", "invalid_field"]),
        Route::delete("/api/v1/admin/webhooks/{id}", delete_webhook::<S>)
            .permission(manage)
            .doc("notifications", "删除 Webhook")
            .no_content()
            .errors(&["webhook_not_found"]),
        Route::put("/api/v1/admin/users/{username}/email", set_email::<S>)
            .permission(Permission::ManageUsers)
            .doc("notifications", "设置用户电子邮箱")
            .body::<EmailInput>()
            .no_content()
            .errors(&["user_not_found", "invalid_email"]),
    ]
}

/// `GET /api/v1/admin/outbox?status=failed&limit=100`: deliveries, newest first.
async fn outbox<S: Store>(
    State(app): State<App<S>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<OutboxView>>> {
    if let Some(name) = query.keys().find(|k| !matches!(k.as_str(), "status" | "limit")) {
        return Err(AppError::bad_request("unknown_parameter", format!("不认识的参数「{name}」")).into());
    }
    let (status, limit) = (query.get("status").map(String::as_str), query.get("limit").map(String::as_str));
    Ok(Json(app.notifications().outbox(status, limit).await?))
}

/// `POST /api/v1/admin/outbox/{id}/retry`: sends a failed delivery again (same idempotency key).
async fn retry<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> ApiResult<Json<OutboxView>> {
    Ok(Json(app.notifications().retry(&id).await?))
}

/// `GET /api/v1/admin/notification-templates`: every template in force.
async fn templates<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<TemplateView>>> {
    Ok(Json(app.notifications().templates().await?))
}

/// `GET /api/v1/admin/notification-templates/{key}/{channel}`.
async fn get_template<S: Store>(
    State(app): State<App<S>>,
    Path((key, channel)): Path<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.notifications().template(&key, &channel).await?))
}

/// `PUT /api/v1/admin/notification-templates/{key}/{channel}`: used for
/// notices written from now on. Unknown placeholders are refused.
async fn put_template<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((key, channel)): Path<(String, String)>,
    JsonBody(input): JsonBody<TemplateInput>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.notifications().put_template(&caller, &key, &channel, input).await?))
}

/// `DELETE /api/v1/admin/notification-templates/{key}/{channel}`: the built-in template is in force again
/// for notices written from now on; answers it.
async fn reset_template<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((key, channel)): Path<(String, String)>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.notifications().reset_template(&caller, &key, &channel).await?))
}

/// `GET /api/v1/admin/notification-templates/{key}/{channel}/versions`: its saves and removals, newest first.
async fn template_versions<S: Store>(
    State(app): State<App<S>>,
    Path((key, channel)): Path<(String, String)>,
) -> ApiResult<Json<Vec<TemplateVersionView>>> {
    Ok(Json(app.notifications().template_versions(&key, &channel, TEMPLATE_VERSIONS_MAX).await?))
}

/// `POST /api/v1/admin/notification-templates/{key}/{channel}/versions/{version}/restore`: the version's
/// words saved again, as the page's 「恢复此版本」 does; answers the template now in force.
async fn restore_template_version<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((key, channel, version)): Path<(String, String, String)>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.notifications().restore_template_version(&caller, &key, &channel, &version).await?))
}

/// `GET /api/v1/admin/webhooks` (secrets are not shown).
async fn webhooks<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(app.notifications().webhooks().await?))
}

/// `POST /api/v1/admin/webhooks`: answers the secret once.
async fn create_webhook<S: Store>(
    State(app): State<App<S>>,
    JsonBody(input): JsonBody<WebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    Ok((StatusCode::CREATED, Json(app.notifications().create_webhook(input).await?)))
}

/// `DELETE /api/v1/admin/webhooks/{id}`.
async fn delete_webhook<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    app.notifications().delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/admin/users/{username}/email`: `{"email": "…" | null}` → 204.
async fn set_email<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<EmailInput>,
) -> ApiResult<StatusCode> {
    app.accounts().set_email(&caller, &username, input).await?;
    Ok(StatusCode::NO_CONTENT)
}
