//! E-mail (电子邮件) over SMTP with lettre: plain (a local relay), STARTTLS
//! or TLS. The Message-ID comes from the idempotency key, so a resent
//! message is recognisable as the same one.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use super::worker::SendError;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP, for a relay on the same host or network only.
    Off,
    Starttls,
    Tls,
}

/// An SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25 (off), 587 (starttls), 465 (tls).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "starttls")]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender, e.g. `马上办 <noreply@12345.example.gov.cn>`.
    pub from: String,
}

fn starttls() -> SmtpTls {
    SmtpTls::Starttls
}

/// A connected-on-demand mailer.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(config: &SmtpConfig, timeout: Duration) -> Result<Self, String> {
        let builder = match config.tls {
            SmtpTls::Off => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(|e| e.to_string())?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|e| e.to_string())?,
        };
        let default_port = match config.tls {
            SmtpTls::Off => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        };
        let mut builder = builder.port(config.port.unwrap_or(default_port)).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let from = config.from.parse().map_err(|e| format!("发件人「{}」无效: {e}", config.from))?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Sends one message; its Message-ID is `<idempotency key@mashangban>`.
    pub async fn send(&self, to: &str, subject: &str, body: &str, key: &str) -> Result<(), SendError> {
        let to = to.parse().map_err(|e| SendError::permanent(format!("收件人「{to}」无效: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{key}@mashangban>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError::permanent(format!("邮件无法生成: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!("邮件服务器拒收: {e}"))),
            Err(e) => Err(SendError::transient(format!("邮件发送失败: {e}"))),
        }
    }
}
