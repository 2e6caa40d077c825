//! SMS (短信) through a configurable HTTP gateway: Chinese SMS providers
//! differ, so the URL, method, headers and body are templates with
//! `{{phone}}`, `{{text}}` and `{{idempotency_key}}`.

use std::collections::BTreeMap;

use serde::Deserialize;

use mashangban_domain::notify::{Vars, render};

use super::url_encode;
use super::worker::SendError;

/// An HTTP SMS gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGateway {
    /// May contain placeholders (URL-encoded), e.g. `https://sms.example.cn/send?mobile={{phone}}`.
    pub url: String,
    /// `POST` (default) or `GET`.
    #[serde(default = "post")]
    pub method: String,
    /// Header values may contain placeholders.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body; values are JSON-escaped when the body is JSON (a `Content-Type`
    /// with `json`, or a body starting with `{`), URL-encoded for a form body.
    #[serde(default)]
    pub body_template: Option<String>,
    /// When set, a 2xx answer counts as sent only if its body contains this
    /// (many gateways answer 200 with an error code inside).
    #[serde(default)]
    pub success_contains: Option<String>,
}

fn post() -> String {
    "POST".into()
}

/// How a placeholder's value is written where it goes.
#[derive(Clone, Copy)]
enum Escape {
    Raw,
    Json,
    Url,
}

fn vars(phone: &str, text: &str, key: &str, escape: Escape) -> Vars {
    let esc = |v: &str| match escape {
        Escape::Raw => v.to_owned(),
        Escape::Url => url_encode(v),
        Escape::Json => {
            let quoted = serde_json::Value::String(v.to_owned()).to_string();
            quoted[1..quoted.len() - 1].to_owned()
        }
    };
    let mut vars = Vars::new();
    vars.insert("phone", esc(phone));
    vars.insert("text", esc(text));
    vars.insert("idempotency_key", esc(key));
    vars
}

impl SmsGateway {
    fn content_type(&self) -> String {
        let found = self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        found.map(|(_, v)| v.to_ascii_lowercase()).unwrap_or_default()
    }

    fn body_escape(&self, body: &str) -> Escape {
        let content_type = self.content_type();
        if content_type.contains("json") || body.trim_start().starts_with('{') {
            Escape::Json
        } else if content_type.contains("x-www-form-urlencoded") {
            Escape::Url
        } else {
            Escape::Raw
        }
    }

    /// Sends one text message.
    pub async fn send(&self, client: &reqwest::Client, phone: &str, text: &str, key: &str) -> Result<(), SendError> {
        let method = reqwest::Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| SendError::permanent(format!("短信网关请求方法「{}」无效", self.method)))?;
        let url = render(&self.url, &vars(phone, text, key, Escape::Url));
        let mut request = client.request(method, url);
        for (name, value) in &self.headers {
            request = request.header(name, render(value, &vars(phone, text, key, Escape::Raw)));
        }
        if let Some(body) = &self.body_template {
            request = request.body(render(body, &vars(phone, text, key, self.body_escape(body))));
        }
        let response = request.send().await.map_err(|e| SendError::transient(format!("短信网关无法连接: {e}")))?;
        let status = response.status();
        let answer = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(SendError::transient(format!("短信网关返回 {status}: {}", short(&answer))));
        }
        match &self.success_contains {
            Some(needle) if !answer.contains(needle.as_str()) => {
                Err(SendError::transient(format!("短信网关未确认发送: {}", short(&answer))))
            }
            _ => Ok(()),
        }
    }
}

/// The first characters of a gateway's answer, for the error shown to administrators.
pub fn short(text: &str) -> String {
    mashangban_domain::notify::excerpt(text, 200)
}
