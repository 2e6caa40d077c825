//! Notifications (通知): the outbox, templates, webhooks and e-mail addresses.
//!
//! Outbox rows are written by each backend in the transaction of the event
//! that causes them (see `mashangban_domain::notify`); these methods are for
//! the delivery worker and the administrators.

use std::future::Future;

use serde::{Deserialize, Serialize};

use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::time::Instant;

use crate::StoreResult;

mashangban_domain::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    /// Where a delivery stands.
    OutboxStatus {
        Pending = "pending" / "待发送",
        /// Claimed by a worker until its lease (`next_attempt_at`) ends.
        Sending = "sending" / "发送中",
        Sent = "sent" / "已发送",
        /// Given up after the configured attempts; an administrator may retry it.
        Failed = "failed" / "发送失败",
    }
);

/// One delivery in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub idempotency_key: String,
    pub channel: NoticeChannel,
    /// A phone number, an e-mail address, or a webhook id.
    pub recipient: String,
    pub template_key: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: Instant,
    pub last_error: Option<String>,
    pub created_at: Instant,
    pub sent_at: Option<Instant>,
    pub event_id: Option<i64>,
    pub request_id: Option<i64>,
}

/// A template an administrator stored for a key and channel.
#[derive(Debug, Clone, Serialize)]
pub struct StoredTemplate {
    pub key: TemplateKey,
    pub channel: NoticeChannel,
    pub template: Template,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One version in the edit history of a template (版本记录): the words an administrator saved, or the
/// stored words removed so that the built-in ones are in force again (`deleted`, with no words).
#[derive(Debug, Clone, Serialize)]
pub struct TemplateVersion {
    pub id: i64,
    pub key: TemplateKey,
    pub channel: NoticeChannel,
    pub template: Template,
    pub deleted: bool,
    pub saved_at: Instant,
    pub saved_by: String,
}

/// A partner system told of events (webhook).
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key; shown once when the webhook is created.
    #[serde(skip)]
    pub secret: String,
    pub active: bool,
    /// Event kind codes; empty means every event.
    pub events: Vec<String>,
    pub created_at: Instant,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub name: String,
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
}

/// Storage of notifications.
pub trait NotificationStore {
    /// Starts writing notices with events (from now on), with progress links under `link_base`.
    fn enable_notifications(&self, link_base: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Claims up to `limit` due rows (pending, or sending with an ended lease):
    /// each becomes `sending` with one more attempt and a lease until `lease_until`.
    fn claim_notifications(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OutboxItem>>> + Send;
    /// Marks a claimed row sent. `attempt` is the claim's attempt count; a stale claim changes nothing.
    fn notification_sent(&self, id: i64, attempt: u32, now: Instant) -> impl Future<Output = StoreResult<()>> + Send;
    /// Puts a claimed row back as pending until `next_attempt_at`.
    fn notification_retry(
        &self,
        id: i64,
        attempt: u32,
        next_attempt_at: Instant,
        error: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Gives a claimed row up (failed).
    fn notification_failed(&self, id: i64, attempt: u32, error: &str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Rows by status (all when None), newest first.
    fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OutboxItem>>> + Send;
    /// Makes a failed row pending again with fresh attempts (administrators).
    fn retry_notification(&self, id: i64, now: Instant) -> impl Future<Output = StoreResult<OutboxItem>> + Send;

    /// The templates administrators stored (the built-in ones fill the rest).
    fn notification_templates(&self) -> impl Future<Output = StoreResult<Vec<StoredTemplate>>> + Send;
    /// Stores a template, with its version (its words, `updated_at`, `updated_by`) in the same transaction.
    fn put_notification_template(
        &self,
        template: StoredTemplate,
    ) -> impl Future<Output = StoreResult<StoredTemplate>> + Send;
    /// Removes the stored template of a key and channel, so the built-in one is in force again, with a
    /// deleted version (saved `at` by `by`) in the same transaction; false (and no version) when none was
    /// stored.
    fn reset_notification_template(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        at: Instant,
        by: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The newest `limit` versions of a key and channel's template, newest first.
    fn notification_template_versions(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<TemplateVersion>>> + Send;
    /// One version of a key and channel's template by its id; None when that template has no such version.
    fn notification_template_version(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<TemplateVersion>>> + Send;

    fn webhooks(&self) -> impl Future<Output = StoreResult<Vec<Webhook>>> + Send;
    fn webhook(&self, id: i64) -> impl Future<Output = StoreResult<Option<Webhook>>> + Send;
    fn create_webhook(&self, webhook: NewWebhook, now: Instant) -> impl Future<Output = StoreResult<Webhook>> + Send;
    /// Deletes a webhook; its undelivered rows fail when their turn comes.
    fn delete_webhook(&self, id: i64) -> impl Future<Output = StoreResult<()>> + Send;

    /// Sets or clears a user's e-mail address (for unit notices), with an entry of the user's
    /// history naming `by`.
    fn set_user_email(
        &self,
        username: &str,
        email: Option<String>,
        by: crate::AccountBy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
