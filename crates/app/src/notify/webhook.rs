//! Webhooks for partner systems: `POST` of the event JSON, signed with
//! HMAC-SHA256 over `timestamp + "." + body` with the webhook's secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::sms::short;
use super::worker::SendError;

pub const TIMESTAMP_HEADER: &str = "X-Mashangban-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Mashangban-Signature";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body)).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this branch is never taken.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts one event to a partner system; any 2xx answer counts as delivered.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    timestamp: i64,
    body: &str,
    key: &str,
) -> Result<(), SendError> {
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(secret, timestamp, body))
        .header(IDEMPOTENCY_HEADER, key)
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| SendError::transient(format!("Webhook无法连接: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let answer = response.text().await.unwrap_or_default();
    Err(SendError::transient(format!("Webhook返回 {status}: {}", short(&answer))))
}
