//! Notifications against a real SMTP sink and an HTTP sink (SMS gateway and
//! webhook receiver) started here; the HTTP sink fails the first attempts of
//! every message and then accepts. The worker runs pass by pass on the test's clock.

use super::*;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use mashangban_app::notify::{self, NotifyConfig, SmsGateway, SmtpConfig, SmtpTls};
use mashangban_store::{NotificationStore, OutboxStatus};

const SECRET: &str = "partner-secret-0123456789";

/// One request the HTTP sink accepted.
#[derive(Clone, Debug)]
pub(super) struct Received {
    path: String,
    key: String,
    headers: HashMap<String, String>,
    pub(super) body: String,
}

#[derive(Default)]
pub(super) struct HttpSink {
    /// Attempts per idempotency key.
    attempts: HashMap<String, usize>,
    pub(super) accepted: Vec<Received>,
    /// Fail this many attempts of every key before accepting.
    fail_first: usize,
    /// Fail everything while true.
    down: bool,
}

pub(super) type Shared<T> = Arc<Mutex<T>>;

pub(super) async fn http_sink(fail_first: usize) -> (String, Shared<HttpSink>) {
    use axum::http::HeaderMap;
    let sink: Shared<HttpSink> = Arc::new(Mutex::new(HttpSink { fail_first, ..HttpSink::default() }));
    let handle = |path: &'static str| {
        let sink = Arc::clone(&sink);
        move |headers: HeaderMap, body: String| async move {
            let key = match headers.get("idempotency-key") {
                Some(k) => k.to_str().unwrap().to_owned(),
                None => serde_json::from_str::<Value>(&body).unwrap()["request_id"].as_str().unwrap().to_owned(),
            };
            let mut s = sink.lock().unwrap();
            let n = {
                let n = s.attempts.entry(key.clone()).or_default();
                *n += 1;
                *n
            };
            if s.down || n <= s.fail_first {
                return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "busy".to_owned());
            }
            let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned())).collect();
            s.accepted.push(Received { path: path.into(), key, headers, body });
            (axum::http::StatusCode::OK, r#"{"code":0,"msg":"ok"}"#.to_owned())
        }
    };
    // What the gateway sent so far, for a browser story that reads its SMS (`GET /sms`).
    let sent = {
        let sink = Arc::clone(&sink);
        move || async move {
            let s = sink.lock().unwrap();
            let sms = s.accepted.iter().filter(|r| r.path == "sms");
            axum::Json(sms.map(|r| serde_json::from_str::<Value>(&r.body).unwrap()).collect::<Vec<_>>())
        }
    };
    let router = axum::Router::new()
        .route("/sms", axum::routing::post(handle("sms")).get(sent))
        .route("/hook", axum::routing::post(handle("hook")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, sink)
}

/// One message the SMTP sink took: envelope recipients and the raw data.
#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    data: String,
}

impl Mail {
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

/// A small SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on a thread.
fn smtp_sink() -> (u16, Shared<Vec<Mail>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Shared<Vec<Mail>> = Arc::default();
    let shared = Arc::clone(&mails);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mails = Arc::clone(&shared);
            std::thread::spawn(move || smtp_session(stream.unwrap(), &mails));
        }
    });
    (port, mails)
}

fn smtp_session(stream: std::net::TcpStream, mails: &Shared<Vec<Mail>>) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |text: &str| out.write_all(format!("{text}\r\n").as_bytes()).is_ok();
    say("220 sink ESMTP");
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let ok = if command.starts_with("EHLO") {
            say("250-sink") && say("250 8BITMIME")
        } else if command.starts_with("RCPT TO:") {
            to.push(line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned());
            say("250 OK")
        } else if command == "DATA" {
            say("354 end with .");
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            mails.lock().unwrap().push(Mail { to: std::mem::take(&mut to), data });
            say("250 OK queued")
        } else if command == "QUIT" {
            say("221 bye");
            return;
        } else {
            say("250 OK")
        };
        if !ok {
            return;
        }
    }
}

/// The SMS gateway of the HTTP sink.
pub(super) fn sms_gateway(http: &str) -> SmsGateway {
    SmsGateway {
        url: format!("{http}/sms"),
        method: "POST".into(),
        headers: [("Content-Type".to_owned(), "application/json".to_owned())].into(),
        body_template: Some(
            r#"{"mobile": "{{phone}}", "content": "{{text}}", "request_id": "{{idempotency_key}}"}"#.into(),
        ),
        success_contains: Some(r#""code":0"#.into()),
    }
}

fn config(http: &str, smtp_port: u16, max_attempts: u32) -> NotifyConfig {
    NotifyConfig {
        sms: Some(sms_gateway(http)),
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(smtp_port),
            tls: SmtpTls::Off,
            username: None,
            password: None,
            from: "马上办 <noreply@12345.example.gov.cn>".into(),
        }),
        max_attempts,
        ..NotifyConfig::default()
    }
}

/// Runs delivery passes, moving the clock an hour after each, until nothing is due.
async fn deliver_all(app: &App, notifier: &Arc<notify::Notifier>, clock: &mut chrono::DateTime<chrono::FixedOffset>) {
    for _ in 0..20 {
        let done = notify::deliver_due(&app.state, notifier).await.unwrap();
        *clock += chrono::Duration::hours(1);
        app.set_time(&clock.to_rfc3339());
        if done.is_empty() {
            return;
        }
    }
    panic!("deliveries never settled");
}

async fn outbox_len(app: &App) -> usize {
    app.store.list_outbox(None, 1000).await.unwrap().len()
}

fn verify(headers: &HashMap<String, String>, body: &str) -> bool {
    let ts = &headers["x-mashangban-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    headers["x-mashangban-signature"] == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn unique(keys: impl Iterator<Item = String>) -> bool {
    let keys: Vec<String> = keys.collect();
    let set: std::collections::HashSet<&String> = keys.iter().collect();
    set.len() == keys.len()
}

#[tokio::test]
async fn every_notice_arrives_once_through_failing_sinks() {
    let app = spawn().await;
    let mut clock = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00").unwrap();
    app.set_time(&clock.to_rfc3339());
    let (http, sink) = http_sink(2).await;
    let (smtp_port, mails) = smtp_sink();
    let notifier = Arc::new(notify::Notifier::new(config(&http, smtp_port, 8)).unwrap());
    app.store.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;

    // Administrators: a unit user's e-mail, a partner webhook, a template.
    let email = json!({ "email": "handler@scjgj.example.gov.cn" });
    let (status, _) =
        app.call(reqwest::Method::PUT, "/api/v1/admin/users/handler/email", Some(&admin), Some(email)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = app
        .call(reqwest::Method::PUT, "/api/v1/admin/users/handler/email", Some(&admin), Some(json!({ "email": "x@y" })))
        .await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
    let (status, _) =
        app.call(reqwest::Method::PUT, "/api/v1/admin/users/handler/email", Some(&handler), Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let hook = json!({ "name": "粤商通", "url": format!("{http}/hook"), "secret": SECRET,
                       "events": ["received", "dispatched", "replied", "closed"] });
    let (status, created) = app.post("/api/v1/admin/webhooks", Some(&admin), hook).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["secret"], SECRET);
    let (_, hooks) = app.get("/api/v1/admin/webhooks", Some(&admin)).await;
    assert!(hooks[0].get("secret").is_none(), "secrets are not listed: {hooks}");

    let path = "/api/v1/admin/notification-templates/asker.closed_rate/sms";
    let bad = json!({ "body": "【马上办】{{tracking_no}}已办结 {{phone}}" });
    let (status, answer) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(bad)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template")));
    let good = json!({ "body": "【马上办】诉求{{tracking_no}}已办结，请为我们打分：{{progress_link}}" });
    let (status, answer) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(good)).await;
    assert_eq!((status, &answer["customized"]), (StatusCode::OK, &json!(true)), "{answer}");
    let (_, all) = app.get("/api/v1/admin/notification-templates", Some(&admin)).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        24,
        "5 asker keys × 2 channels + 4 unit keys + the liaisons' copy + 3 on-site keys × 2 channels + the direct \
         line's answer, the password-reset code and the shared phone's accounts by SMS"
    );

    // The life of a request (an asker without e-mail: SMS only).
    let mut complaint = enterprise_complaint();
    complaint["contact"].as_object_mut().unwrap().remove("email");
    let (no, code) = app.submit(complaint).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj", "co_units": ["zwfw"] })).await;
    app.act(&no, "sign", &handler, json!({})).await;
    let co = unit_handler(&app, "zwfw", "zwfw-handler").await;
    app.act(&no, "co-answer", &co, json!({ "content": "已配合核查。" })).await;
    app.act(&no, "reply", &handler, json!({ "content": "变更登记已办结，请领取\"新执照\"正本。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;

    // A refused action writes no outbox row.
    let before = outbox_len(&app).await;
    let (status, _) = app.post(&format!("/api/v1/requests/{no}/close"), Some(&dispatcher), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) =
        app.post(&format!("/api/v1/requests/{no}/urge"), Some(&handler), json!({ "message": "快" })).await;
    assert!(status.is_client_error());
    assert_eq!(outbox_len(&app).await, before);
    // 4 SMS to the asker, 1 e-mail to the lead unit's handler (zwfw has no address), 4 webhooks.
    assert_eq!(before, 9, "{:#?}", app.store.list_outbox(None, 100).await.unwrap());

    deliver_all(&app, &notifier, &mut clock).await;
    let sent = app.store.list_outbox(Some(OutboxStatus::Sent), 100).await.unwrap();
    assert_eq!(sent.len(), 9);
    assert!(sent.iter().all(|i| i.channel == mashangban_domain::notify::NoticeChannel::Email || i.attempts == 3));

    let s = sink.lock().unwrap().accepted.clone();
    assert!(unique(s.iter().map(|r| r.key.clone())), "nothing twice");
    let sms: Vec<Value> =
        s.iter().filter(|r| r.path == "sms").map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    assert_eq!(sms.len(), 4);
    assert!(sms.iter().all(|m| m["mobile"] == "13800138000"));
    // Deliveries of one batch run concurrently: compare without depending on their order.
    let texts: Vec<&str> = sms.iter().map(|m| m["content"].as_str().unwrap()).collect();
    let link = format!("https://12345.example.gov.cn/track/{no}?code={code}");
    let one = |f: &dyn Fn(&str) -> bool| texts.iter().filter(|t| f(t)).count() == 1;
    assert!(one(&|t| t.starts_with("【马上办】您的诉求已受理") && t.contains(&code) && t.contains(&link)), "{texts:?}");
    assert!(one(&|t| t.contains("已转市市场监管局办理")), "{texts:?}");
    assert!(one(&|t| t.contains("\"新执照\"")), "JSON-escaped and intact: {texts:?}");
    let edited = format!("【马上办】诉求{no}已办结，请为我们打分：{link}");
    assert!(one(&|t| t == edited), "the edited template: {texts:?}");
    let hooks: Vec<&Received> = s.iter().filter(|r| r.path == "hook").collect();
    let events: Vec<Value> = hooks.iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    let mut kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["closed", "dispatched", "received", "replied"]);
    assert!(hooks.iter().all(|r| verify(&r.headers, &r.body) && r.headers["idempotency-key"] == r.key));
    assert!(!verify(&hooks[0].headers, &hooks[1].body), "a signature covers its own body only");

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["handler@scjgj.example.gov.cn"]);
    let mail_row = sent.iter().find(|i| i.recipient == "handler@scjgj.example.gov.cn").unwrap();
    assert_eq!(mails[0].header("Message-ID"), Some(format!("<{}@mashangban>", mail_row.idempotency_key)));
    assert_eq!(mail_row.template_key.as_deref(), Some("unit.new_work"));

    // A sink that stays down: failed after max attempts, shown to administrators, retried by them.
    let notifier = Arc::new(notify::Notifier::new(config(&http, smtp_port, 3)).unwrap());
    sink.lock().unwrap().down = true;
    let (second, _) = app.submit(resident_consultation()).await;
    deliver_all(&app, &notifier, &mut clock).await;
    let (status, failed) = app.get("/api/v1/admin/outbox?status=failed", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let failed = failed.as_array().unwrap().clone();
    assert_eq!(failed.len(), 2, "SMS and webhook of {second}: {failed:#?}");
    assert!(failed.iter().all(|f| f["attempts"] == 3 && f["last_error"].as_str().unwrap().contains("500")));
    let (status, _) = app.get("/api/v1/admin/outbox?status=failed", Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    sink.lock().unwrap().down = false;
    for f in &failed {
        let (status, retried) =
            app.post(&format!("/api/v1/admin/outbox/{}/retry", f["id"]), Some(&admin), json!({})).await;
        assert_eq!((status, &retried["status"]), (StatusCode::OK, &json!("pending")));
    }
    let (status, answer) =
        app.post(&format!("/api/v1/admin/outbox/{}/retry", sent[0].id), Some(&admin), json!({})).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("notification_not_failed")));
    deliver_all(&app, &notifier, &mut clock).await;
    let s = sink.lock().unwrap().accepted.clone();
    assert_eq!(s.len(), 10);
    assert!(unique(s.iter().map(|r| r.key.clone())), "nothing twice after the retry");
    assert!(app.store.list_outbox(Some(OutboxStatus::Failed), 100).await.unwrap().is_empty());

    // A channel without configuration fails at once, for administrators to see.
    let bare = Arc::new(notify::Notifier::new(NotifyConfig::default()).unwrap());
    app.submit(resident_consultation()).await;
    deliver_all(&app, &bare, &mut clock).await;
    let failed = app.store.list_outbox(Some(OutboxStatus::Failed), 100).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].last_error.as_deref(), failed[0].attempts), (Some("未配置短信网关"), 1));
}
