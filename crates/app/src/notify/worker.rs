//! The delivery worker: claims due outbox rows, sends each on its channel and
//! marks it sent, due again after a backoff, or failed after the last attempt.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;

use mashangban_domain::notify::NoticeChannel;
use mashangban_domain::time::Instant;
use mashangban_store::{OutboxItem, Store, StoreResult};

use super::NotifyConfig;
use super::email::Mailer;
use crate::App;

/// Why a send did not succeed. Permanent failures are not retried.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true }
    }
}

/// The configured channels, built once.
pub struct Notifier {
    config: NotifyConfig,
    http: reqwest::Client,
    mailer: Option<Mailer>,
}

impl Notifier {
    pub fn new(config: NotifyConfig) -> Result<Self, String> {
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
        let mailer = config.smtp.as_ref().map(|smtp| Mailer::new(smtp, timeout)).transpose()?;
        Ok(Self { config, http, mailer })
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// When attempt number `attempts` (1, 2, ...) failed: base × 2^(attempts-1), capped.
    pub fn backoff(&self, attempts: u32) -> Span {
        let factor = 1u64 << attempts.saturating_sub(1).min(20);
        let seconds = self.config.backoff_base_seconds.saturating_mul(factor).min(self.config.backoff_max_seconds);
        Span::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
    }

    async fn send<S: Store>(&self, store: &S, item: &OutboxItem, now: Instant) -> Result<(), SendError> {
        let key = item.idempotency_key.as_str();
        match item.channel {
            NoticeChannel::Sms => {
                let gateway = self.config.sms.as_ref().ok_or_else(|| SendError::permanent("未配置短信网关"))?;
                gateway.send(&self.http, &item.recipient, &item.body, key).await
            }
            NoticeChannel::Email => {
                let mailer = self.mailer.as_ref().ok_or_else(|| SendError::permanent("未配置邮件服务器（SMTP）"))?;
                mailer.send(&item.recipient, item.subject.as_deref().unwrap_or("马上办通知"), &item.body, key).await
            }
            NoticeChannel::Webhook => {
                let id = item.recipient.parse().map_err(|_| SendError::permanent("Webhook编号无效"))?;
                let hook = store.webhook(id).await.map_err(|e| SendError::transient(e.to_string()))?;
                let hook = hook.filter(|h| h.active).ok_or_else(|| SendError::permanent("Webhook已删除或已停用"))?;
                super::webhook::send(&self.http, &hook.url, &hook.secret, now.timestamp(), &item.body, key).await
            }
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Delivered {
    pub fn is_empty(&self) -> bool {
        self.sent + self.retried + self.failed == 0
    }
}

enum Outcome {
    Sent,
    Retried,
    Failed,
}

/// One pass: claims up to `batch` due rows, sends them concurrently and marks each.
pub async fn deliver_due<S: Store>(app: &App<S>, notifier: &Arc<Notifier>) -> StoreResult<Delivered> {
    let now = app.now();
    let lease = Span::seconds(i64::try_from(notifier.config.lease_seconds).unwrap_or(300));
    let items = app.store().claim_notifications(now, now + lease, notifier.config.batch.max(1)).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for item in items {
        let (store, notifier) = (app.store().clone(), Arc::clone(notifier));
        tasks.spawn(async move { deliver_one(&store, &notifier, &item, now).await });
    }
    let mut done = Delivered::default();
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(mashangban_store::StoreError::backend)?? {
            Outcome::Sent => done.sent += 1,
            Outcome::Retried => done.retried += 1,
            Outcome::Failed => done.failed += 1,
        }
    }
    Ok(done)
}

async fn deliver_one<S: Store>(
    store: &S,
    notifier: &Notifier,
    item: &OutboxItem,
    now: Instant,
) -> StoreResult<Outcome> {
    match notifier.send(store, item, now).await {
        Ok(()) => {
            store.notification_sent(item.id, item.attempts, now).await?;
            Ok(Outcome::Sent)
        }
        Err(e) if e.permanent || item.attempts >= notifier.config.max_attempts => {
            tracing::warn!(id = item.id, key = %item.idempotency_key, error = %e.message, "notification failed");
            store.notification_failed(item.id, item.attempts, &e.message).await?;
            Ok(Outcome::Failed)
        }
        Err(e) => {
            let next = now + notifier.backoff(item.attempts);
            store.notification_retry(item.id, item.attempts, next, &e.message).await?;
            Ok(Outcome::Retried)
        }
    }
}
