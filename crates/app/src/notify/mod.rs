//! Notification delivery (通知发送), a use case run by time: a worker sends the outbox rows the store
//! wrote with each event — SMS through a configurable HTTP gateway, e-mail
//! over SMTP, signed webhooks to partner systems — with retries and
//! exponential backoff. Every delivery carries its idempotency key.

pub mod email;
pub mod sms;
pub mod webhook;
pub mod worker;

use std::time::Duration;

use serde::Deserialize;

use mashangban_store::Store;

use crate::App;

pub use email::{SmtpConfig, SmtpTls};
pub use sms::SmsGateway;
pub use worker::{Delivered, Notifier, SendError, deliver_due};

/// Settings of notification delivery (the `[notify]` table of the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The SMS gateway; without one, SMS rows fail with 「未配置短信网关」.
    pub sms: Option<SmsGateway>,
    /// The SMTP server; without one, e-mail rows fail with 「未配置邮件服务器」.
    pub smtp: Option<SmtpConfig>,
    /// Attempts before a delivery is given up (failed).
    pub max_attempts: u32,
    /// Rows claimed per pass.
    pub batch: u32,
    /// Seconds between passes.
    pub poll_seconds: u64,
    /// The first retry waits this long; each further one twice as long.
    pub backoff_base_seconds: u64,
    /// The longest wait between attempts.
    pub backoff_max_seconds: u64,
    /// A claimed row whose worker vanished is due again after this long.
    pub lease_seconds: u64,
    /// Timeout of one HTTP or SMTP send.
    pub timeout_seconds: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            sms: None,
            smtp: None,
            max_attempts: 8,
            batch: 50,
            poll_seconds: 5,
            backoff_base_seconds: 30,
            backoff_max_seconds: 3600,
            lease_seconds: 300,
            timeout_seconds: 15,
        }
    }
}

/// Enables notices on the store (with progress links under the public URL)
/// and runs delivery passes until `stop` fires.
pub async fn start<S: Store>(
    app: App<S>,
    config: NotifyConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let notifier = std::sync::Arc::new(Notifier::new(config).map_err(|e| format!("通知配置有误: {e}"))?);
    app.store().enable_notifications(&app.settings().public_url).await.map_err(|e| e.to_string())?;
    let pause = Duration::from_secs(notifier.config().poll_seconds.max(1));
    Ok(tokio::spawn(async move {
        loop {
            match deliver_due(&app, &notifier).await {
                Ok(d) if d.is_empty() => {}
                Ok(d) => {
                    tracing::info!(sent = d.sent, retried = d.retried, failed = d.failed, "notifications delivered")
                }
                Err(error) => tracing::error!(%error, "notification delivery pass failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}

/// Percent-encodes a value for a URL query or a form body (RFC 3986 unreserved kept).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
