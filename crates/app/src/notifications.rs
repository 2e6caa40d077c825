//! Notification administration (通知管理): the outbox with failed deliveries
//! and their retry, templates, and webhooks to partner systems. The delivery
//! itself is the worker in [`crate::notify`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::notify::{self, NoticeChannel, Template, TemplateKey};
use mashangban_domain::request::EventKind;
use mashangban_domain::time::{Instant, format_instant};
use mashangban_domain::validation::required_text;
use mashangban_store::{NewWebhook, OutboxItem, OutboxStatus, Store, StoredTemplate, TemplateVersion, Webhook};

use crate::accounts::random_secret;
use crate::error::{AppError, AppResult};
use crate::{App, Caller};

/// The notifications service: `app.notifications()`.
pub struct Notifications<'a, S> {
    app: &'a App<S>,
}

/// One delivery in the outbox.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutboxView {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: NoticeChannel,
    /// A phone number, an e-mail address, or a webhook id.
    pub recipient: String,
    pub template_key: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: &'static str,
    pub attempts: u32,
    #[schemars(with = "String")]
    pub next_attempt_at: Instant,
    pub last_error: Option<String>,
    #[schemars(with = "String")]
    pub created_at: Instant,
    #[schemars(with = "Option<String>")]
    pub sent_at: Option<Instant>,
    pub event_id: Option<i64>,
    pub request_id: Option<i64>,
}

impl From<OutboxItem> for OutboxView {
    fn from(i: OutboxItem) -> Self {
        // A password-reset code is for the account's phone only, not for administrators.
        let body = if i.template_key.as_deref().is_some_and(mashangban_domain::password_reset::hides_body) {
            "（密码重置验证码短信，内容不显示）".to_owned()
        } else {
            i.body
        };
        Self {
            id: i.id,
            idempotency_key: i.idempotency_key,
            channel: i.channel,
            recipient: i.recipient,
            template_key: i.template_key,
            subject: i.subject,
            body,
            status: i.status.as_str(),
            attempts: i.attempts,
            next_attempt_at: i.next_attempt_at,
            last_error: i.last_error,
            created_at: i.created_at,
            sent_at: i.sent_at,
            event_id: i.event_id,
            request_id: i.request_id,
        }
    }
}

/// A template in force for a key and channel.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TemplateView {
    pub key: TemplateKey,
    pub channel: NoticeChannel,
    pub subject: Option<String>,
    pub body: String,
    /// What the notice is (Chinese).
    pub label: &'static str,
    /// The placeholders this template may use.
    pub variables: &'static [&'static str],
    /// The placeholders it must use (the password-reset code).
    pub required: &'static [&'static str],
    /// False while the built-in template is in force.
    pub customized: bool,
    /// Whether the words in force differ from the built-in ones (an administrator may have stored the
    /// built-in words again: customized, yet not different).
    pub differs_from_default: bool,
    /// The built-in template, in force again after a reset.
    pub default_subject: Option<String>,
    pub default_body: String,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

/// One version in a template's edit history (版本记录), newest first: the words saved, or the removal
/// of the stored words (恢复默认) that put the built-in ones in force again.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TemplateVersionView {
    pub id: i64,
    /// True for a removal (恢复默认): no words.
    pub deleted: bool,
    pub subject: Option<String>,
    pub body: String,
    pub saved_at: String,
    pub saved_by: String,
}

impl From<TemplateVersion> for TemplateVersionView {
    fn from(v: TemplateVersion) -> Self {
        Self {
            id: v.id,
            deleted: v.deleted,
            subject: v.template.subject,
            body: v.template.body,
            saved_at: format_instant(&v.saved_at),
            saved_by: v.saved_by,
        }
    }
}

/// Versions a template's history answers at most.
pub const TEMPLATE_VERSIONS_MAX: u32 = 100;

/// A template as administrators send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The e-mail subject (SMS has none).
    #[serde(default)]
    pub subject: Option<String>,
    /// The text, with `{{variable}}` placeholders.
    pub body: String,
}

/// A partner system told of events (secrets are not shown).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub active: bool,
    /// Event kind codes; empty means every event.
    pub events: Vec<String>,
    #[schemars(with = "String")]
    pub created_at: Instant,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self { id: w.id, name: w.name, url: w.url, active: w.active, events: w.events, created_at: w.created_at }
    }
}

/// A new webhook with its signing key, shown only now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The partner verifies signatures with it.
    pub secret: String,
}

/// A webhook as administrators send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub name: String,
    /// `http://` or `https://`.
    pub url: String,
    /// The signing key (at least 16 characters); generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// Event kind codes; empty or absent means every event.
    #[serde(default)]
    pub events: Vec<String>,
}

impl<'a, S: Store> Notifications<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Deliveries, newest first; `status` one of the outbox states.
    pub async fn outbox(&self, status: Option<&str>, limit: Option<&str>) -> AppResult<Vec<OutboxView>> {
        let status = match status {
            Some(s) => Some(
                OutboxStatus::parse(s)
                    .ok_or_else(|| AppError::bad_parameter("status 应为 pending、sending、sent 或 failed"))?,
            ),
            None => None,
        };
        let limit = match limit {
            Some(l) => l.parse().map_err(|_| AppError::bad_parameter("limit 应为 1–1000 的整数"))?,
            None => 100,
        };
        let items = self.app.store().list_outbox(status, limit).await?;
        Ok(items.into_iter().map(OutboxView::from).collect())
    }

    /// Sends a failed delivery again (same idempotency key).
    pub async fn retry(&self, id: &str) -> AppResult<OutboxView> {
        let item = self.app.store().retry_notification(id_param(id)?, self.app.now()).await?;
        Ok(item.into())
    }

    /// Every template in force.
    pub async fn templates(&self) -> AppResult<Vec<TemplateView>> {
        let stored = self.app.store().notification_templates().await?;
        let all = TemplateKey::ALL.iter().flat_map(|&key| key.channels().iter().map(move |&channel| (key, channel)));
        Ok(all.filter_map(|(key, channel)| template_view(key, channel, &stored)).collect())
    }

    /// The template in force for a key and channel.
    pub async fn template(&self, key: &str, channel: &str) -> AppResult<TemplateView> {
        let (key, channel) = key_and_channel(key, channel)?;
        let stored = self.app.store().notification_templates().await?;
        template_view(key, channel, &stored).ok_or_else(no_such_template)
    }

    /// Stores a template for notices written from now on; unknown placeholders are refused.
    pub async fn put_template(
        &self,
        caller: &Caller,
        key: &str,
        channel: &str,
        input: TemplateInput,
    ) -> AppResult<TemplateView> {
        let (key, channel) = key_and_channel(key, channel)?;
        let template = notify::validate_template(key, channel, &Template { subject: input.subject, body: input.body })?;
        let stored = StoredTemplate {
            key,
            channel,
            template,
            updated_at: self.app.now(),
            updated_by: caller.actor.name().to_owned(),
        };
        let stored = self.app.store().put_notification_template(stored).await?;
        template_view(key, channel, &[stored]).ok_or_else(AppError::internal)
    }

    /// Puts the built-in template of a key and channel back in force (恢复默认) for notices written from
    /// now on, a version of the history when words were stored; the answer is the built-in template,
    /// whether or not one was stored.
    pub async fn reset_template(&self, caller: &Caller, key: &str, channel: &str) -> AppResult<TemplateView> {
        let (key, channel) = key_and_channel(key, channel)?;
        let by = caller.actor.name();
        self.app.store().reset_notification_template(key, channel, self.app.now(), by).await?;
        template_view(key, channel, &[]).ok_or_else(AppError::internal)
    }

    /// The edit history of a key and channel's template, newest first (at most `limit`, at most
    /// [`TEMPLATE_VERSIONS_MAX`]). Restoring a version ([`Self::restore_template_version`]) is saving its
    /// words again.
    pub async fn template_versions(&self, key: &str, channel: &str, limit: u32) -> AppResult<Vec<TemplateVersionView>> {
        let (key, channel) = key_and_channel(key, channel)?;
        let limit = limit.clamp(1, TEMPLATE_VERSIONS_MAX);
        let versions = self.app.store().notification_template_versions(key, channel, limit).await?;
        Ok(versions.into_iter().map(TemplateVersionView::from).collect())
    }

    /// Restores a version of a key and channel's template (恢复此版本): its words are saved again as
    /// [`Self::put_template`] saves them, in force for notices written from now on and themselves the
    /// newest version. A removal (恢复默认) has no words to restore: refused, as 「恢复默认」 does that.
    pub async fn restore_template_version(
        &self,
        caller: &Caller,
        key: &str,
        channel: &str,
        version: &str,
    ) -> AppResult<TemplateView> {
        let (parsed_key, parsed_channel) = key_and_channel(key, channel)?;
        let id = version.trim().parse::<i64>().map_err(|_| no_such_version())?;
        let found = self.app.store().notification_template_version(parsed_key, parsed_channel, id).await?;
        let found = found.ok_or_else(no_such_version)?;
        if found.deleted {
            return Err(AppError::invalid(
                "template_version_deleted",
                "该版本是恢复默认内容的记录，没有可恢复的内容；如需使用内置内容，请点「恢复默认内容」",
            ));
        }
        let input = TemplateInput { subject: found.template.subject, body: found.template.body };
        self.put_template(caller, key, channel, input).await
    }

    /// Every webhook (secrets are not shown).
    pub async fn webhooks(&self) -> AppResult<Vec<WebhookView>> {
        Ok(self.app.store().webhooks().await?.into_iter().map(WebhookView::from).collect())
    }

    /// Adds a webhook; its secret is answered once.
    pub async fn create_webhook(&self, input: WebhookInput) -> AppResult<CreatedWebhook> {
        let new = webhook_input(input)?;
        let webhook = self.app.store().create_webhook(new, self.app.now()).await?;
        let secret = webhook.secret.clone();
        Ok(CreatedWebhook { webhook: webhook.into(), secret })
    }

    pub async fn delete_webhook(&self, id: &str) -> AppResult<()> {
        Ok(self.app.store().delete_webhook(id_param(id)?).await?)
    }
}

fn no_such_template() -> AppError {
    AppError::not_found("not_found", "请求的地址不存在")
}

fn no_such_version() -> AppError {
    AppError::not_found("template_version_not_found", "该通知模板没有这个版本")
}

fn id_param(raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| no_such_template())
}

fn key_and_channel(key: &str, channel: &str) -> AppResult<(TemplateKey, NoticeChannel)> {
    let key = TemplateKey::parse(key).ok_or_else(no_such_template)?;
    let channel = NoticeChannel::parse(channel).filter(|c| key.channels().contains(c)).ok_or_else(no_such_template)?;
    Ok((key, channel))
}

fn template_view(key: TemplateKey, channel: NoticeChannel, stored: &[StoredTemplate]) -> Option<TemplateView> {
    let found = stored.iter().find(|t| t.key == key && t.channel == channel);
    let default = notify::default_template(key, channel)?;
    let template = found.map_or_else(|| default.clone(), |t| t.template.clone());
    Some(TemplateView {
        key,
        channel,
        differs_from_default: template != default,
        subject: template.subject,
        body: template.body,
        label: key.label(),
        variables: key.variables(),
        required: key.required_variables(),
        default_subject: default.subject,
        default_body: default.body,
        customized: found.is_some(),
        updated_at: found.map(|t| format_instant(&t.updated_at)),
        updated_by: found.map(|t| t.updated_by.clone()),
    })
}

fn webhook_input(input: WebhookInput) -> AppResult<NewWebhook> {
    let name = required_text("名称", &input.name, 100)?;
    let url = input.url.trim().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(AppError::invalid("invalid_url", "Webhook地址应以 http:// 或 https:// 开头"));
    }
    if let Some(bad) = input.events.iter().find(|e| EventKind::parse(e).is_none()) {
        return Err(AppError::invalid("invalid_field", format!("不认识的事件「{bad}」")));
    }
    let secret = match input.secret.map(|s| s.trim().to_owned()) {
        Some(s) if s.len() < 16 => return Err(AppError::invalid("invalid_field", "签名密钥至少16个字符")),
        Some(s) => s,
        None => random_secret(),
    };
    Ok(NewWebhook { name, url, secret, events: input.events })
}
