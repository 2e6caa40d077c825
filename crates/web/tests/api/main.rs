//! Story tests through the HTTP API, the way users and client programs use
//! it: a real server on a loopback port over a fresh database per test,
//! loaded with the demo city's organisation, categories and users.
//!
//! The database is a SQLite file by default. With
//! `MASHANGBAN_TEST_BACKEND=postgres` every test gets its own new PostgreSQL
//! database instead (on `MASHANGBAN_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use serde_json::{Value, json};

use mashangban_backend::{Backend, BackendOptions, DatabaseUrl};
use mashangban_store::{NewApiToken, NewUser, OrgStore};
use mashangban_web::{AppState, WebConfig, auth};

const PASSWORD: &str = "test-password-1";
const ENTERPRISE_CODE: &str = "91350100M000100Y43";

struct App {
    base: String,
    http: reqwest::Client,
    store: Backend,
    db: TestDb,
    /// The server's state (for background jobs such as the scheduler).
    state: AppState<Backend>,
    /// The server's clock in Unix milliseconds; 0 means the real time.
    clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// A signed-in person: the session cookie to send.
struct Session(String);

/// A database of its own for one test, removed when dropped.
struct TestDb {
    url: DatabaseUrl,
    _dir: tempfile::TempDir,
    _postgres: Option<mashangban_store_postgres::testing::TempDatabase>,
}

impl TestDb {
    async fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("MASHANGBAN_TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                let pg = mashangban_store_postgres::testing::TempDatabase::create().await.unwrap();
                Self { url: DatabaseUrl::Postgres(pg.url().to_owned()), _dir: dir, _postgres: Some(pg) }
            }
            Ok("sqlite") | Err(_) => {
                Self { url: DatabaseUrl::Sqlite(dir.path().join("test.db")), _dir: dir, _postgres: None }
            }
            Ok(other) => panic!("MASHANGBAN_TEST_BACKEND={other}: use sqlite or postgres"),
        }
    }

    /// Another connection to the same database (as a second process would open it).
    async fn open(&self) -> Backend {
        mashangban_backend::open(&self.url, BackendOptions::default()).await.unwrap()
    }
}

/// A new empty store of the backend under test, and its database.
async fn fresh_store() -> (Backend, TestDb) {
    let db = TestDb::create().await;
    (db.open().await, db)
}

async fn spawn_with(config: WebConfig) -> App {
    spawn_configured(config, false).await
}

/// A server as `spawn_with`, with a full-text index under the test's directory when `search`.
async fn spawn_configured(config: WebConfig, search: bool) -> App {
    let (store, db) = fresh_store().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&store, &data).await.unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    mashangban_demo::load_users(&store, &data, &hash).await.unwrap();
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let mut state = AppState::new(store.clone(), config).await.unwrap().with_clock(controlled_clock(&clock));
    if search {
        let index = mashangban_search::SearchIndex::open(db._dir.path().join("search"), search_keys(&[("s1", 1)]));
        state = state.with_search(index.unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mashangban_web::serve(listener, state.clone(), std::future::pending()));
    App { base, http: reqwest::Client::new(), store, db, state, clock }
}

/// A key ring of personal data: the current key first, each as (id, the byte its key repeats).
fn search_keys(keys: &[(&str, u8)]) -> mashangban_domain::personal_data::Keyring {
    use mashangban_domain::personal_data::{Keyring, PersonalDataKey};
    let mut keys = keys.iter().map(|(id, byte)| PersonalDataKey::new(id, [*byte; 16]).unwrap());
    let current = keys.next().unwrap();
    Keyring::new(current, keys.collect()).unwrap()
}

/// A clock the test moves; at 0 it is the real time.
fn controlled_clock(millis: &std::sync::Arc<std::sync::atomic::AtomicI64>) -> mashangban_app::Clock {
    let millis = std::sync::Arc::clone(millis);
    std::sync::Arc::new(move || match millis.load(std::sync::atomic::Ordering::SeqCst) {
        0 => mashangban_domain::time::now(),
        ms => mashangban_domain::time::in_shanghai(&chrono::DateTime::from_timestamp_millis(ms).unwrap()),
    })
}

/// Who the stories' changes of accounts made straight in the store are by.
/// An account's or a token's history as (action, by) pairs, oldest first.
fn history_entries(history: &Value) -> Vec<(&str, &str)> {
    let entries = history.as_array().unwrap().iter();
    entries.map(|e| (e["action"].as_str().unwrap(), e["by"].as_str().unwrap())).collect()
}

fn tester() -> mashangban_store::AccountBy {
    mashangban_store::AccountBy::named("测试")
}

/// A new handler account of the unit `unit_code`, signed in.
async fn unit_handler(app: &App, unit_code: &str, username: &str) -> Session {
    unit_user(app, unit_code, username, mashangban_domain::org::Role::Handler).await
}

/// A new staff account of `role` at the unit `unit_code`, signed in.
async fn unit_user(app: &App, unit_code: &str, username: &str, role: mashangban_domain::org::Role) -> Session {
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == unit_code).unwrap();
    app.store
        .create_user(
            NewUser {
                username: username.into(),
                display_name: format!("{unit_code} {}", role.label()),
                role,
                unit_id: Some(unit.id),
                credit_code: None,
                phone: None,
                password_hash: auth::hash_password(PASSWORD).unwrap(),
            },
            crate::tester(),
        )
        .await
        .unwrap();
    app.login(username).await
}

async fn spawn() -> App {
    spawn_with(WebConfig { public_intakes_per_hour: 10_000, lookup_failures_per_hour: 10_000, ..WebConfig::default() })
        .await
}

impl App {
    /// Sets the server's clock to an RFC 3339 instant.
    fn set_time(&self, at: &str) {
        let t = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        self.clock.store(t.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(&self, username: &str) -> Session {
        self.login_with(username, PASSWORD).await
    }

    async fn login_with(&self, username: &str, password: &str) -> Session {
        let res = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login {username}");
        let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        Session(cookie.split(';').next().unwrap().to_owned())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<&Session>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(Session(cookie)) = who {
            req = req.header("cookie", cookie);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, who: Option<&Session>) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, who, None).await
    }

    async fn post(&self, path: &str, who: Option<&Session>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, who, Some(body)).await
    }

    /// Takes an action that must succeed; returns the request view.
    async fn act(&self, no: &str, action: &str, who: &Session, body: Value) -> Value {
        let (status, answer) = self.post(&format!("/api/v1/requests/{no}/{action}"), Some(who), body).await;
        assert_eq!(status, StatusCode::OK, "{action} on {no}: {answer}");
        answer["request"].clone()
    }

    /// The public progress page of a request.
    async fn progress(&self, no: &str, code: &str) -> Value {
        let (status, view) = self.get(&format!("/api/v1/public/requests/{no}?code={code}"), None).await;
        assert_eq!(status, StatusCode::OK, "progress of {no}: {view}");
        view
    }

    async fn detail(&self, no: &str, who: &Session) -> Value {
        let (status, detail) = self.get(&format!("/api/v1/requests/{no}"), Some(who)).await;
        assert_eq!(status, StatusCode::OK, "detail of {no}: {detail}");
        detail
    }

    /// Submits on the public portal; returns (tracking number, check code).
    async fn submit(&self, body: Value) -> (String, String) {
        let (status, answer) = self.post("/api/v1/public/requests", None, body).await;
        assert_eq!(status, StatusCode::CREATED, "intake: {answer}");
        (answer["tracking_no"].as_str().unwrap().to_owned(), answer["check_code"].as_str().unwrap().to_owned())
    }
}

fn enterprise_complaint() -> Value {
    json!({
        "kind": "complaint",
        "channel": "mobile",
        "asker": { "type": "enterprise", "credit_code": ENTERPRISE_CODE, "name": "中山市华凯灯饰有限公司" },
        "contact": { "name": "陈嘉欣", "phone": "138 0013 8000", "email": "chen@huakai.example.cn" },
        "title": "营业执照变更登记迟迟未办结",
        "content": "我司于上月在市政务服务中心提交经营范围变更申请，至今未办结，联系电话13800138000。",
        "category": "biz.change",
        "town": "guzhen",
        "address": "古镇镇中兴大道18号",
        "location": { "lat": 22.6131, "lon": 113.1905, "datum": "gcj02" }
    })
}

fn resident_consultation() -> Value {
    json!({
        "kind": "consultation",
        "asker": { "type": "resident" },
        "contact": { "name": "李伟明", "phone": "13912345678" },
        "title": "咨询养老保险转移",
        "content": "从外省调入中山工作，养老保险关系如何转移？",
        "category": "social.pension",
        "town": "xiaolan"
    })
}

/// One server-sent event: its `id:` and `data:` lines (several `data:` lines joined with newlines).
struct SseEvent {
    id: String,
    data: String,
}

impl SseEvent {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Reads a live stream until the next event named `name`. Events are cut from the bytes and decoded
/// whole, since a chunk may end inside a character.
async fn next_event(res: &mut reqwest::Response, name: &str) -> SseEvent {
    let mut bytes = Vec::new();
    loop {
        while let Some(end) = bytes.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = bytes.drain(..end + 2).collect();
            let event = String::from_utf8(raw).unwrap();
            if !event.lines().any(|l| l.strip_prefix("event:").is_some_and(|n| n.trim() == name)) {
                continue;
            }
            let field = |prefix: &str| {
                event.lines().filter_map(|l| l.strip_prefix(prefix)).map(str::trim_start).collect::<Vec<_>>().join("\n")
            };
            return SseEvent { id: field("id:"), data: field("data:") };
        }
        let chunk = res.chunk().await.unwrap().expect("the stream stays open");
        bytes.extend_from_slice(&chunk);
    }
}

fn timeline_kinds(view: &Value) -> Vec<String> {
    view["timeline"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_main_path_and_the_askers_view_at_each_step() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;

    let (no, code) = app.submit(enterprise_complaint()).await;
    assert!(no.starts_with("ZS") && no.len() == 16 && no.chars().all(|c| c.is_ascii_alphanumeric()), "{no}");
    assert_eq!(code.len(), 8);
    let view = app.progress(&no, &code).await;
    assert_eq!(view["state"], "received");
    assert_eq!(view["contact_phone"], "138****8000", "masked");
    assert_eq!(view["contact_name"], "陈**");
    assert!(!view["content"].as_str().unwrap().contains("13800138000"), "phone in text masked");
    assert!(view["due_at"].as_str().unwrap().ends_with("17:30:00.000+08:00"), "15 working days: {}", view["due_at"]);

    // The dispatcher sees it unmasked; the location came in GCJ-02 and is stored as WGS-84.
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(detail["request"]["asker"]["contact_phone"], "13800138000");
    assert_eq!(detail["request"]["asker"]["contact_email"], "chen@huakai.example.cn");
    let lat = detail["request"]["location"]["lat"].as_f64().unwrap();
    assert!((lat - 22.6131).abs() > 1e-4 && (lat - 22.6131).abs() < 0.01, "converted: {lat}");
    assert_eq!(detail["request"]["channel"], "mobile");

    app.act(
        &no,
        "dispatch",
        &dispatcher,
        json!({ "lead_unit": "scjgj", "co_units": ["zwfw"], "comment": "请尽快办理" }),
    )
    .await;
    assert_eq!(app.progress(&no, &code).await["lead_unit"], "市市场监管局");
    app.act(&no, "sign", &handler, json!({})).await;
    app.act(&no, "stage-reply", &handler, json!({ "content": "已联系企业，正在核查材料。" })).await;
    let view = app.progress(&no, &code).await;
    assert_eq!(view["state"], "in_progress");
    let stage = view["timeline"].as_array().unwrap().iter().find(|s| s["kind"] == "stage_reply").unwrap();
    assert_eq!(stage["comment"], "已联系企业，正在核查材料。");
    assert_eq!(stage["unit"], "市市场监管局");

    // The co-handling unit gives its part first (会签, docs/inside-a-unit.md).
    let co = unit_handler(&app, "zwfw", "zwfw-handler").await;
    app.act(&no, "co-answer", &co, json!({ "content": "政务服务中心：已配合核查窗口受理记录。" })).await;
    app.act(&no, "reply", &handler, json!({ "content": "经核实，变更登记已于今日办结，请领取新执照。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;
    let view = app.progress(&no, &code).await;
    assert_eq!(view["state"], "closed");
    assert_eq!(view["can_rate"], true);

    let (status, view) = app
        .post(
            &format!("/api/v1/public/requests/{no}/rate"),
            None,
            json!({ "code": code, "rating": "very_satisfied", "resolved": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], "followed_up");
    assert_eq!(view["rating_label"], "非常满意");
    app.act(&no, "archive", &dispatcher, json!({})).await;

    let kinds = timeline_kinds(&app.progress(&no, &code).await);
    assert_eq!(
        kinds,
        ["received", "dispatched", "signed_for", "stage_reply", "replied", "closed", "followed_up", "archived"]
    );
    // The history is exactly the events, each with who, role, unit and address.
    // Staff also see the co-handling unit's part (会签), which the public timeline leaves out.
    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    assert_eq!(history.len(), 9);
    assert_eq!(history[4]["kind"], "co_answered");
    assert_eq!(history[2]["actor_role"], "handler");
    assert_eq!(history[2]["actor_unit"]["code"], "scjgj");
    assert_eq!(history[2]["client_ip"], "127.0.0.1");
    assert_eq!(history[1]["from_state"], "received");
    assert_eq!(history[1]["to_state"], "dispatched");
}

/// The public look-up is served from each node's cache (docs/deployment.md, `lookup_cache_entries`):
/// a change committed through this node is answered at once, one committed on another node as soon
/// as the change feed brings it, never an older version kept.
#[tokio::test]
async fn a_cached_lookup_answers_changes_here_at_once_and_from_another_node_by_the_change_feed() {
    let app = spawn().await;
    let (no, code) = app.submit(enterprise_complaint()).await;
    // Kept once read after the intake's own change has come round the feed (which forgets it again).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.live().lookups().get(&no).is_err() {
        assert_eq!(app.progress(&no, &code).await["state"], "received");
        assert!(tokio::time::Instant::now() < deadline, "the look-up never kept it");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let dispatcher = app.login("dispatcher").await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(app.progress(&no, &code).await["state"], "dispatched", "forgotten as it committed");

    // A second node over the same database signs it for.
    let other = AppState::new(app.db.open().await, WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mashangban_web::serve(listener, other, std::future::pending()));
    let http = reqwest::Client::new();
    let login = json!({ "username": "handler", "password": PASSWORD });
    let res = http.post(format!("{other_base}/api/v1/auth/login")).json(&login).send().await.unwrap();
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let res = http
        .post(format!("{other_base}/api/v1/requests/{no}/sign"))
        .header("cookie", cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signed on the other node");

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while app.progress(&no, &code).await["state"] != "signed_for" {
        assert!(tokio::time::Instant::now() < deadline, "this node kept the version before the other node's change");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn returns_extensions_reopen_and_their_public_traces() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let rsj_handler = unit_handler(&app, "rsj", "rsj-handler").await;

    // 退单 → 改派: the wrong unit returns it, the dispatcher sends it on.
    let (no, code) = app.submit(resident_consultation()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/return"), Some(&handler), json!({ "reason": "" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    let r = app.act(&no, "return", &handler, json!({ "reason": "养老保险转移属人社局职责" })).await;
    assert_eq!(r["state"], "returned");
    let view = app.progress(&no, &code).await;
    assert!(!timeline_kinds(&view).contains(&"returned".to_owned()), "returns are internal");
    let r = app.act(&no, "redispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    assert_eq!(r["lead_unit"]["code"], "rsj");
    assert_eq!(r["return_count"], 1);
    // The first unit no longer sees it; the new one does.
    assert_eq!(app.get(&format!("/api/v1/requests/{no}"), Some(&handler)).await.0, StatusCode::NOT_FOUND);
    app.act(&no, "sign", &rsj_handler, json!({})).await;

    // 延期: approved moves the deadline the asker sees; refused does not.
    let due_before = app.progress(&no, &code).await["due_at"].as_str().unwrap().to_owned();
    let (status, err) = app
        .post(
            &format!("/api/v1/requests/{no}/request-extension"),
            Some(&rsj_handler),
            json!({ "new_due": "明天", "reason": "需核查" }),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_datetime")));
    app.act(
        &no,
        "request-extension",
        &rsj_handler,
        json!({ "new_due": "2099-12-31T17:30:00+08:00", "reason": "需调取外省档案" }),
    )
    .await;
    let r = app.act(&no, "approve-extension", &dispatcher, json!({ "comment": "同意" })).await;
    assert_eq!(r["due_at"], "2099-12-31T17:30:00.000+08:00");
    assert_eq!(r["extension_count"], 1);
    let view = app.progress(&no, &code).await;
    assert_ne!(view["due_at"].as_str().unwrap(), due_before);
    assert_eq!(view["due_at"], "2099-12-31T17:30:00.000+08:00");
    assert!(timeline_kinds(&view).contains(&"extension_approved".to_owned()));
    app.act(
        &no,
        "request-extension",
        &rsj_handler,
        json!({ "new_due": "2100-06-30T17:30:00+08:00", "reason": "再延" }),
    )
    .await;
    let r = app.act(&no, "refuse-extension", &dispatcher, json!({ "reason": "期限已足够" })).await;
    assert_eq!(r["due_at"], "2099-12-31T17:30:00.000+08:00");
    assert!(r["pending_extension"].is_null());

    // Reply, close, a dissatisfied rating, 重办, and round again.
    app.act(&no, "reply", &rsj_handler, json!({ "content": "可通过国家社会保险公共服务平台申请转移。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;
    let (status, _) = app
        .post(
            &format!("/api/v1/public/requests/{no}/rate"),
            None,
            json!({ "code": code, "rating": "dissatisfied", "resolved": false, "comment": "没有解决" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The asker asks for 重办 with a reason; it shows on their timeline, the state stays until the dispatcher decides.
    let reopen_request = format!("/api/v1/public/requests/{no}/reopen-request");
    let (status, err) = app.post(&reopen_request, None, json!({ "code": code, "reason": " " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, view) = app.post(&reopen_request, None, json!({ "code": code, "reason": "转移手续仍未办好" })).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!((view["state"].as_str(), view["can_request_reopen"].as_bool()), (Some("followed_up"), Some(false)));
    assert!(view["reopen_requested_at"].is_string(), "{view}");
    let step = view["timeline"].as_array().unwrap().iter().find(|s| s["kind"] == "reopen_requested").unwrap().clone();
    assert_eq!(step["comment"], "转移手续仍未办好");
    // A second request before the first is answered is refused with its own code, and nothing is recorded.
    let (status, err) = app.post(&reopen_request, None, json!({ "code": code, "reason": "再次申请" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("reopen_already_requested")), "{err}");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("已申请重办")), "{err}");
    let history = app.detail(&no, &dispatcher).await["history"].clone();
    let asked = history.as_array().unwrap().iter().filter(|e| e["kind"] == "reopen_requested").count();
    assert_eq!(asked, 1, "nothing recorded on refusal");
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/request-reopen"), Some(&dispatcher), json!({ "reason": "x" })).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_denied")),
        "only the asker asks"
    );
    let (_, unhappy) = app.get("/api/v1/requests?unhappy=true", Some(&dispatcher)).await;
    let unhappy: Vec<&str> =
        unhappy["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap()).collect();
    assert_eq!(unhappy, [no.as_str()], "the dispatcher's 回访不满意 list");
    let r = app.act(&no, "reopen", &dispatcher, json!({ "reason": "诉求人反映未解决" })).await;
    assert_eq!((r["state"].as_str(), r["reopen_count"].as_u64()), (Some("dispatched"), Some(1)));
    app.act(&no, "sign", &rsj_handler, json!({})).await;
    app.act(&no, "reply", &rsj_handler, json!({ "content": "已协助办理转移手续。" })).await;
    let r = app.act(&no, "reject-reply", &dispatcher, json!({ "reason": "请补充办理结果" })).await;
    assert_eq!(r["state"], "in_progress");
    app.act(&no, "reply", &rsj_handler, json!({ "content": "转移手续已办结，到账记录已核实。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;
    let kinds = timeline_kinds(&app.progress(&no, &code).await);
    assert_eq!(kinds.iter().filter(|k| *k == "replied").count(), 3);
    assert!(kinds.contains(&"reopened".to_owned()));

    // A refused return goes back to the same unit.
    let (no2, _) = app.submit(enterprise_complaint()).await;
    app.act(&no2, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no2, "return", &handler, json!({ "reason": "不属于我局" })).await;
    let (status, err) = app
        .post(&format!("/api/v1/requests/{no2}/redispatch"), Some(&dispatcher), json!({ "lead_unit": "scjgj" }))
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("same_unit")));
    let r = app.act(&no2, "refuse-return", &dispatcher, json!({ "reason": "变更登记属市场监管职责" })).await;
    assert_eq!((r["state"].as_str(), r["lead_unit"]["code"].as_str()), (Some("dispatched"), Some("scjgj")));
}

#[tokio::test]
async fn two_staff_acting_at_once_one_wins_and_the_other_gets_409_with_the_current_state() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let path = format!("/api/v1/requests/{no}/dispatch");
    let (a, b) = tokio::join!(
        app.post(&path, Some(&dispatcher), json!({ "lead_unit": "scjgj" })),
        app.post(&path, Some(&dispatcher), json!({ "lead_unit": "rsj" })),
    );
    let (won, lost) = if a.0 == StatusCode::OK { (a, b) } else { (b, a) };
    assert_eq!(won.0, StatusCode::OK, "{}", won.1);
    assert_eq!(lost.0, StatusCode::CONFLICT, "{}", lost.1);
    assert!(!lost.1["message"].as_str().unwrap().is_empty());
    assert_eq!(lost.1["current"]["state"], "dispatched", "{}", lost.1);
    assert_eq!(lost.1["current"]["version"], won.1["request"]["version"]);
    // Nothing of the loser was written: one dispatch in the history, to the winner's unit.
    let (_, detail) = app.get(&format!("/api/v1/requests/{no}"), Some(&dispatcher)).await;
    let dispatches = detail["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "dispatched").count();
    assert_eq!(dispatches, 1, "{detail}");
    assert_eq!(detail["request"]["lead_unit"], won.1["request"]["lead_unit"]);
}

#[tokio::test]
async fn merge_direct_close_and_withdraw() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let operator = app.login("operator").await;

    // 并单: the child follows its parent, and each asker sees it.
    let (parent, parent_code) = app.submit(enterprise_complaint()).await;
    let (child, child_code) = app.submit(enterprise_complaint()).await;
    app.act(&parent, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let (status, err) =
        app.post(&format!("/api/v1/requests/{child}/merge"), Some(&dispatcher), json!({ "into": child })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("merge_into_self")));
    let (status, err) = app
        .post(&format!("/api/v1/requests/{child}/merge"), Some(&dispatcher), json!({ "into": "ZS00000000000000" }))
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("merge_target_not_found")));
    let r = app.act(&child, "merge", &dispatcher, json!({ "into": parent })).await;
    assert_eq!((r["state"].as_str(), r["merged_into"].as_str()), (Some("merged"), Some(parent.as_str())));
    let child_view = app.progress(&child, &child_code).await;
    assert_eq!(child_view["merged_into"]["tracking_no"], parent.as_str());
    assert_eq!(child_view["merged_into"]["state"], "dispatched");
    let parent_view = app.progress(&parent, &parent_code).await;
    assert_eq!(parent_view["merged_children"], json!([child]));
    // Nothing more happens to a merged child.
    let (status, err) =
        app.post(&format!("/api/v1/requests/{child}/dispatch"), Some(&dispatcher), json!({ "lead_unit": "rsj" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")));
    assert!(err["message"].as_str().unwrap().contains("已并单"));

    // 直接办结: an operator records a phone consultation and answers it at once.
    let mut call = resident_consultation();
    call["channel"] = json!("phone");
    let (status, answer) = app.post("/api/v1/requests", Some(&operator), call.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["request"]["channel"], "phone");
    let no = answer["tracking_no"].as_str().unwrap().to_owned();
    let r =
        app.act(&no, "direct-close", &operator, json!({ "answer": "可登录国家社会保险公共服务平台申请转移。" })).await;
    assert_eq!(r["state"], "closed");
    let view = app.progress(&no, answer["check_code"].as_str().unwrap()).await;
    assert_eq!(timeline_kinds(&view), ["received", "directly_closed"]);
    assert_eq!(view["timeline"][1]["comment"], "可登录国家社会保险公共服务平台申请转移。");
    // Staff intake must name its channel; complaints cannot be closed at intake.
    call.as_object_mut().unwrap().remove("channel");
    let (status, err) = app.post("/api/v1/requests", Some(&operator), call).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("channel_required")));
    let mut complaint = enterprise_complaint();
    complaint["channel"] = json!("counter");
    let (_, answer) = app.post("/api/v1/requests", Some(&operator), complaint).await;
    let no = answer["tracking_no"].as_str().unwrap();
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/direct-close"), Some(&operator), json!({ "answer": "已答复" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("direct_close_not_allowed")));

    // 撤回 by the asker with the check code; a wrong code is a 404 like no request.
    let (no, code) = app.submit(resident_consultation()).await;
    let (status, err) =
        app.post(&format!("/api/v1/public/requests/{no}/withdraw"), None, json!({ "code": "00000000" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    let (status, view) = app
        .post(
            &format!("/api/v1/public/requests/{no}/withdraw"),
            None,
            json!({ "code": code, "reason": "问题已自行解决" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"], "withdrawn");
    assert_eq!(view["can_withdraw"], false);
}

#[tokio::test]
async fn refused_actions_name_the_state_and_change_nothing() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let before = app.detail(&no, &dispatcher).await;
    for (action, body) in [
        ("sign", json!({})),
        ("reply", json!({ "content": "答复" })),
        ("close", json!({})),
        ("approve-extension", json!({})),
        ("archive", json!({})),
    ] {
        let (status, err) = app.post(&format!("/api/v1/requests/{no}/{action}"), Some(&dispatcher), body).await;
        assert!(status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN, "{action}: {status} {err}");
        if status == StatusCode::CONFLICT {
            assert_eq!(err["code"], "illegal_transition");
            assert!(err["message"].as_str().unwrap().contains("已受理"), "{err}");
        }
    }
    // Not the handler's request yet: invisible.
    let (status, _) = app.post(&format!("/api/v1/requests/{no}/sign"), Some(&handler), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.detail(&no, &dispatcher).await, before);
}

#[tokio::test]
async fn every_bad_input_has_its_own_code_and_changes_nothing() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let operator = app.login("operator").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let before_list = app.get("/api/v1/requests?limit=500", Some(&dispatcher)).await.1;
    let before_detail = app.detail(&no, &dispatcher).await;
    let intake = "/api/v1/public/requests";

    let raw = |body: &'static str, content_type: &'static str| {
        app.http.post(app.url(intake)).header("content-type", content_type).body(body).send()
    };
    let res = raw("{\"kind\": ", "application/json").await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "malformed_json");
    let res = raw("kind=complaint", "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unsupported_media_type");
    let huge = json!({ "content": "诉".repeat(40_000) });
    let (status, err) = app.post(intake, None, huge).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        ("unknown field", json!({ "priority": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
        (
            "bad credit code",
            json!({ "asker": { "type": "enterprise", "credit_code": "91350100M000100Y4A", "name": "某某公司" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_credit_code",
        ),
        (
            "bad phone",
            json!({ "contact": { "name": "陈嘉欣", "phone": "12345" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        ),
        (
            "bad e-mail",
            json!({ "contact": { "name": "陈嘉欣", "phone": "13800138000", "email": "chen@" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            "bad coordinates",
            json!({ "location": { "lat": 95.0, "lon": 113.0 } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_coordinates",
        ),
        ("unknown category", json!({ "category": "no.such" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"),
        ("unknown town", json!({ "town": "atlantis" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_town"),
        ("unknown kind", json!({ "kind": "rant" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        ("empty title", json!({ "title": "   " }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        ("long title", json!({ "title": "长".repeat(101) }), StatusCode::UNPROCESSABLE_ENTITY, "text_too_long"),
        (
            "phone channel from the portal",
            json!({ "channel": "phone" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel_not_allowed",
        ),
    ];
    for (what, patch, status, code) in cases {
        let mut body = enterprise_complaint();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (got, err) = app.post(intake, None, body).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{what}: {err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    // Actions: unknown unit, unknown action, missing permission, not signed in.
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), Some(&dispatcher), json!({ "lead_unit": "nosuch" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit")));
    let (status, err) = app.post(&format!("/api/v1/requests/{no}/teleport"), Some(&dispatcher), json!({})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_action")));
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), Some(&operator), json!({ "lead_unit": "scjgj" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), None, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let (status, err) = app
        .post(
            &format!("/api/v1/requests/{no}/dispatch"),
            Some(&dispatcher),
            json!({ "lead_unit": "scjgj", "urgent": true }),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_field")));
    let (status, err) = app.get("/api/v1/requests?colour=red", Some(&dispatcher)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_parameter")));
    let (status, err) = app.get("/api/v1/requests?state=lost", Some(&dispatcher)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
    let (status, err) = app.get("/api/v1/nowhere", None).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    assert_eq!(app.get("/api/v1/requests?limit=500", Some(&dispatcher)).await.1, before_list);
    assert_eq!(app.detail(&no, &dispatcher).await, before_detail);
}

#[tokio::test]
async fn data_scope_is_enforced_in_every_query() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await; // 市市场监管局
    let enterprise = app.login("enterprise").await;
    let supervisor = app.login("supervisor").await;

    let (ours, _) = app.submit(enterprise_complaint()).await;
    let (theirs, _) = app.submit(resident_consultation()).await;
    app.act(&ours, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&theirs, "dispatch", &dispatcher, json!({ "lead_unit": "rsj", "co_units": ["sgaj"] })).await;

    // The handler of unit A sees and acts on A's request only; B's is 404 everywhere.
    let (_, list) = app.get("/api/v1/requests", Some(&handler)).await;
    let seen: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap()).collect();
    assert_eq!(seen, [ours.as_str()]);
    assert_eq!(app.get(&format!("/api/v1/requests/{theirs}"), Some(&handler)).await.0, StatusCode::NOT_FOUND);
    let (status, err) = app.post(&format!("/api/v1/requests/{theirs}/sign"), Some(&handler), json!({})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    assert_eq!(
        app.get(&format!("/api/v1/requests/{theirs}/attachments"), Some(&handler)).await.0,
        StatusCode::NOT_FOUND
    );

    // A co-handling unit is in scope.
    let (_, list) = app.get("/api/v1/requests?unit=sgaj", Some(&dispatcher)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // The demo enterprise sees nothing of others; a request under its own code it does see.
    let demo_code = mashangban_demo::demo_enterprise().unwrap().0.as_str().to_owned();
    let (_, list) = app.get("/api/v1/requests", Some(&enterprise)).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(app.get(&format!("/api/v1/requests/{ours}"), Some(&enterprise)).await.0, StatusCode::NOT_FOUND);
    let mut own = enterprise_complaint();
    own["asker"]["credit_code"] = json!(demo_code);
    let (status, answer) = app.post("/api/v1/requests", Some(&enterprise), own).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let own_no = answer["tracking_no"].as_str().unwrap();
    let (_, list) = app.get("/api/v1/requests", Some(&enterprise)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.detail(own_no, &enterprise).await["request"]["asker"]["contact_phone"], "13800138000");
    // It cannot submit in another enterprise's name.
    let (status, err) = app.post("/api/v1/requests", Some(&enterprise), enterprise_complaint()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("asker_mismatch")));

    // Supervisors see all, masked.
    let detail = app.detail(&ours, &supervisor).await;
    assert_eq!(detail["request"]["asker"]["contact_phone"], "138****8000");
    assert!(detail["request"]["asker"]["contact_email"].is_null());
    assert!(detail["request"]["check_code"].is_null());
}

#[tokio::test]
async fn sessions_tokens_and_rate_limits() {
    let app = spawn().await;
    // Wrong passwords are limited per account.
    for _ in 0..5 {
        let (status, err) =
            app.post("/api/v1/auth/login", None, json!({ "username": "handler", "password": "wrong-password" })).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    }
    let (status, err) =
        app.post("/api/v1/auth/login", None, json!({ "username": "handler", "password": PASSWORD })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));

    // Logout ends the session.
    let session = app.login("operator").await;
    assert_eq!(app.get("/api/v1/auth/me", Some(&session)).await.1["role"], "operator");
    let (status, _) = app.post("/api/v1/auth/logout", Some(&session), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/auth/me", Some(&session)).await.0, StatusCode::UNAUTHORIZED);

    // A cookie-authenticated change from another site is refused (CSRF).
    let dispatcher = app.login("dispatcher").await;
    let (no, _) = app.submit(resident_consultation()).await;
    let res = app
        .http
        .post(app.url(&format!("/api/v1/requests/{no}/dispatch")))
        .header("cookie", &dispatcher.0)
        .header("origin", "http://evil.example")
        .json(&json!({ "lead_unit": "rsj" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "csrf_rejected");

    // An API token bound to a role and unit; intake by it is on the `api` channel; revoked, it stops working.
    let zwfw = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "zwfw-12345").unwrap();
    let secret = auth::new_api_token();
    let token = app
        .store
        .create_api_token(
            NewApiToken {
                name: "粤商通".into(),
                token_hash: auth::hash_secret(&secret),
                role: mashangban_domain::org::Role::Operator,
                unit_id: Some(zwfw.id),
            },
            tester(),
        )
        .await
        .unwrap();
    let res = app
        .http
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&secret)
        .json(&enterprise_complaint())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["request"]["channel"], "api");
    app.store.revoke_api_token(token.id, tester()).await.unwrap();
    let res = app.http.get(app.url("/api/v1/requests")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_token");
    // Administrators list tokens and read each one's history (接口令牌变更记录); never the secret.
    let admin = app.login("admin").await;
    let (status, tokens) = app.get("/api/v1/admin/api-tokens", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let listed = tokens.as_array().unwrap().iter().find(|t| t["id"] == token.id).expect("the token is listed");
    assert_eq!((listed["name"].as_str(), listed["unit"].as_str()), (Some("粤商通"), Some("zwfw-12345")));
    assert!(listed["revoked_at"].is_string(), "{listed}");
    assert!(!tokens.to_string().contains(&secret) && !tokens.to_string().contains(&auth::hash_secret(&secret)));
    let (status, history) = app.get(&format!("/api/v1/admin/api-tokens/{}/history", token.id), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history_entries(&history), [("created", "测试"), ("revoked", "测试")]);
    assert_eq!(history[0]["detail"], "名称：粤商通；角色：话务员（12345政务服务便民热线中心）");
    assert_eq!(history[1]["action_label"], "吊销令牌");
    let (status, err) = app.get("/api/v1/admin/api-tokens/99999/history", Some(&admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("token_not_found")));
    let (status, err) = app.get("/api/v1/admin/api-tokens/abc/history", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let supervisor = app.login("supervisor").await;
    assert_eq!(app.get("/api/v1/admin/api-tokens", Some(&supervisor)).await.0, StatusCode::FORBIDDEN);
    // The users page lists it, revoked, with its history.
    let (_, html) = crate::browser::page(&app, "/admin/users", &admin).await;
    let table = html.split("id=\"api-tokens\"").nth(1).expect("the tokens table").split("</table>").next().unwrap();
    let row = table.split("<tr").find(|r| r.contains("粤商通")).expect("the token's row");
    assert!(row.contains("已吊销") && row.contains("创建令牌") && row.contains("吊销令牌"), "{row}");
    assert!(!html.contains(&secret), "never the secret");

    // A disabled account cannot sign in and loses its sessions.
    let handler_session = app.login("unit-leader").await;
    app.store.set_user_disabled("unit-leader", true, crate::tester()).await.unwrap();
    assert_eq!(app.get("/api/v1/auth/me", Some(&handler_session)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_endpoints_are_rate_limited() {
    let app =
        spawn_with(WebConfig { public_intakes_per_hour: 2, lookup_failures_per_hour: 3, ..WebConfig::default() }).await;
    let (no, code) = app.submit(resident_consultation()).await;
    app.submit(resident_consultation()).await;
    let (status, err) = app.post("/api/v1/public/requests", None, resident_consultation()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/api/v1/public/requests/{no}?code=99999999"), None).await.0,
            StatusCode::NOT_FOUND
        );
    }
    // Guessing stops even the right code of this request for a while.
    assert_eq!(
        app.get(&format!("/api/v1/public/requests/{no}?code={code}"), None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn attachments_are_sniffed_and_always_downloaded() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (no, code) = app.submit(enterprise_complaint()).await;
    let upload = |name: &'static str, bytes: &'static [u8], path: String, cookie: Option<String>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str("application/octet-stream").unwrap(),
        );
        let mut req = app.http.post(app.url(&path)).multipart(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let staff_path = format!("/api/v1/requests/{no}/attachments");
    let res =
        upload("营业执照.pdf", b"%PDF-1.7\n1 0 obj\n", staff_path.clone(), Some(dispatcher.0.clone())).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved[0]["content_type"], "application/pdf");
    let res =
        upload("page.pdf", b"<html><script>alert(1)</script></html>", staff_path.clone(), Some(dispatcher.0.clone()))
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unsupported_file_type");
    // The asker adds materials with the check code.
    let res = upload(
        "说明.txt",
        "补充说明：已提交全部材料。".as_bytes(),
        format!("/api/v1/public/requests/{no}/attachments?code={code}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let id = saved[0]["id"].as_i64().unwrap();
    let res = app
        .http
        .get(app.url(&format!("/api/v1/requests/{no}/attachments/{id}")))
        .header("cookie", &dispatcher.0)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.7\n1 0 obj\n");
    // Both uploads are events; an action may cite an attachment of this request.
    let r = app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj", "attachment_ids": [id] })).await;
    assert_eq!(r["state"], "dispatched");
    let history = app.detail(&no, &dispatcher).await["history"].clone();
    assert_eq!(history.as_array().unwrap().iter().filter(|e| e["kind"] == "attachment_added").count(), 2);
    assert_eq!(history.as_array().unwrap().last().unwrap()["attachment_ids"], json!([id]));
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/sign"), Some(&dispatcher), json!({ "attachment_ids": [999] })).await;
    assert_eq!(status.as_u16() / 100, 4, "{err}");
}

#[tokio::test]
async fn an_acknowledged_request_is_on_disk_and_lists_page_and_filter() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(app.submit(resident_consultation()).await.0);
    }
    app.submit(enterprise_complaint()).await;
    // A second, independent connection to the database sees every acknowledged request.
    let other = app.db.open().await;
    for no in &numbers {
        let found =
            mashangban_store::RequestStore::find(&other, no, &mashangban_domain::org::Scope::All).await.unwrap();
        assert!(found.is_some(), "{no} on disk");
    }
    // Cursor pagination walks every request once, newest first.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!(
            "/api/v1/requests?limit=2&kind=consultation&town=xiaolan{}",
            if cursor.is_empty() { String::new() } else { format!("&cursor={cursor}") }
        );
        let (status, page) = app.get(&path, Some(&dispatcher)).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(page["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    numbers.reverse();
    assert_eq!(seen, numbers);
    let (_, page) = app.get("/api/v1/requests?kind=complaint&state=received,dispatched", Some(&dispatcher)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = app.get("/api/v1/requests?overdue=true", Some(&dispatcher)).await;
    assert!(page["items"].as_array().unwrap().is_empty());
}

mod accounts;
mod act_now;
mod admin;
mod api_tokens;
mod approvals;
mod browser;
mod calendar;
mod command;
mod command_reports;
mod compensation;
mod connections;
mod creeks;
mod dashboard;
mod deadlines;
mod direct_line;
mod dispatch;
mod documents;
mod enforcement;
mod enterprises;
mod forms;
mod fund;
mod fund_pages;
mod inbox;
mod inside_unit;
mod knowledge;
mod ledger_files;
mod ledger_ops;
mod ledgers;
mod liaison;
mod monitoring;
mod notify;
mod onsite;
mod open311;
mod openapi;
mod ops;
mod queues;
mod scope;
mod scores;
mod screening;
mod search;
mod security;
mod statistics;
mod statistics_office;
mod visits;
mod year_end;
