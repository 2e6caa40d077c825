//! Stories from the attack on the running platform (issue 18): each finding
//! fixed, checked the way the attacker tried it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{App, Session, WebConfig, auth, enterprise_complaint, resident_consultation, spawn, spawn_with};
use mashangban_store::{NewApiToken, OrgStore};

/// A complaint taken in on the portal, dispatched to 市市场监管局 and signed for by its handler.
async fn signed_for(app: &App, dispatcher: &Session, handler: &Session) -> (String, String) {
    let (no, code) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "sign", handler, json!({})).await;
    (no, code)
}

/// An API token of `role` at the unit `unit`.
async fn token(app: &App, role: mashangban_domain::org::Role, unit: &str) -> String {
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == unit).unwrap();
    let secret = auth::new_api_token();
    app.store
        .create_api_token(
            NewApiToken {
                name: "测试令牌".into(),
                token_hash: auth::hash_secret(&secret),
                role,
                unit_id: Some(unit.id),
            },
            crate::tester(),
        )
        .await
        .unwrap();
    secret
}

fn assert_staff_refused(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "staff_cannot_act_as_asker", "{body}");
    assert!(body["message"].as_str().unwrap().contains("工作人员"), "{body}");
}

/// Finding 3: staff never read the check code back, and a staff session or token cannot take the
/// asker's steps with it; the asker's rating records where it came from.
#[tokio::test]
async fn staff_never_see_the_check_code_nor_act_as_the_asker() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let leader = app.login("unit-leader").await;
    let (no, code) = signed_for(&app, &dispatcher, &handler).await;

    for who in [&handler, &leader, &dispatcher] {
        let detail = app.detail(&no, who).await;
        assert!(detail["request"].get("check_code").is_none(), "no check code in the detail: {detail}");
        let (status, list) = app.get("/api/v1/requests", Some(who)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!list.to_string().contains(&code), "no check code in the list");
        let (_, html) = super::browser::page(&app, &format!("/work/{no}"), who).await;
        assert!(!html.contains(&code) && !html.contains("查询码"), "no check code on the work page");
    }

    // Knowing the code anyway, the handler cannot withdraw, rate or ask for reopening as the asker.
    let withdraw = format!("/api/v1/public/requests/{no}/withdraw");
    let (status, body) = app.post(&withdraw, Some(&handler), json!({ "code": code })).await;
    assert_staff_refused(status, &body);
    let bearer = token(&app, mashangban_domain::org::Role::Handler, "scjgj").await;
    let res = app.http.post(app.url(&withdraw)).bearer_auth(&bearer).json(&json!({ "code": code })).send().await;
    let res = res.unwrap();
    let status = res.status();
    assert_staff_refused(status, &res.json().await.unwrap());
    assert_eq!(app.progress(&no, &code).await["state"], "signed_for", "nothing changed");

    app.act(&no, "reply", &handler, json!({ "content": "已办结。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;
    let rate = format!("/api/v1/public/requests/{no}/rate");
    let rating = json!({ "code": code, "rating": "very_satisfied", "resolved": true });
    let (status, body) = app.post(&rate, Some(&leader), rating.clone()).await;
    assert_staff_refused(status, &body);
    let (status, body) = app
        .post(
            &format!("/api/v1/public/requests/{no}/reopen-request"),
            Some(&handler),
            json!({ "code": code, "reason": "再办" }),
        )
        .await;
    assert_staff_refused(status, &body);
    assert_eq!(app.progress(&no, &code).await["state"], "closed", "nothing changed");

    // The asker rates; the history says it came from the portal.
    let (status, view) = app.post(&rate, None, rating).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    let rated = history.iter().find(|e| e["kind"] == "followed_up").unwrap();
    assert_eq!(rated["details"]["source"], "portal", "{rated}");
    assert_eq!(rated["actor_role"], "asker");
}

/// Personal data an asker might write into a request's text, each as the attack found it shown.
const WRITTEN: &[&str] = &[
    "chen.jiaxin@huakai.example.cn",
    "１３９１２３４５６７８",
    "wx13912345678",
    "11010519491231002X",
    "6222021234567894",
];

/// Finding 4: Open311 and the public progress page mask e-mail, full-width and glued phones, ID and
/// bank card numbers with the one masking function, round coordinates, and a confidential report's
/// token is as unknown as the report.
#[tokio::test]
async fn public_views_mask_every_kind_of_personal_data() {
    let app = spawn().await;
    let mut body = enterprise_complaint();
    body["content"] = json!(format!(
        "请回复邮箱{}，或致电{}，微信号{}。身份证{}，退款到银行卡{}。",
        WRITTEN[0], WRITTEN[1], WRITTEN[2], WRITTEN[3], WRITTEN[4]
    ));
    body["location"] = json!({ "lat": 22.517_612, "lon": 113.392_634, "datum": "wgs84" });
    let (no, code) = app.submit(body).await;

    let (status, list) = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, one) = app.get(&format!("/open311/v2/requests/{no}.json"), None).await;
    let progress = app.progress(&no, &code).await;
    let page = app.http.get(app.url(&format!("/track/{no}?code={code}"))).send().await.unwrap().text().await.unwrap();
    for (what, text) in
        [("list", list.to_string()), ("one", one.to_string()), ("progress", progress.to_string()), ("page", page)]
    {
        for personal in WRITTEN {
            assert!(!text.contains(personal), "{what} shows 「{personal}」: {text}");
        }
    }
    let description = one[0]["description"].as_str().unwrap();
    assert!(
        description.contains("c***@huakai.example.cn") && description.contains("１３９****５６７８"),
        "{description}"
    );
    assert!(description.contains("wx139****5678") && description.contains("6222********7894"), "{description}");
    assert_eq!((one[0]["lat"].as_f64(), one[0]["long"].as_f64()), (Some(22.518), Some(113.393)));

    // A report (举报) is confidential: its token is as unknown as the report itself.
    let mut report = enterprise_complaint();
    report["kind"] = json!("report");
    let (reported, _) = app.submit(report).await;
    let (status, _) = app.get(&format!("/open311/v2/requests/{reported}.json"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/open311/v2/tokens/{reported}.json"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, token) = app.get(&format!("/open311/v2/tokens/{no}.json"), None).await;
    assert_eq!((status, token[0]["service_request_id"].as_str()), (StatusCode::OK, Some(no.as_str())));
}

/// Finding 5: a NUL byte (or any control character but `\n`, `\r`, `\t` in text) is refused at the
/// boundary with 400 `control_character`, in JSON bodies, paths and query parameters, on both databases.
#[tokio::test]
async fn control_characters_are_refused_at_the_boundary() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let refused = |(status, body): (StatusCode, Value)| {
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("control_character")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("控制字符"));
    };
    refused(app.post("/api/v1/auth/login", None, json!({ "username": "handler\u{0}", "password": "x" })).await);
    let mut body = enterprise_complaint();
    body["content"] = json!("营业执照\u{0}变更");
    refused(app.post("/api/v1/public/requests", None, body).await);
    let mut body = enterprise_complaint();
    body["contact"]["name"] = json!("陈\u{1b}[2J");
    refused(app.post("/api/v1/requests", Some(&dispatcher), body).await);
    refused(app.get("/api/v1/public/requests/ZS20261129000001%00?code=12345678", None).await);
    refused(app.get("/api/v1/requests?credit_code=91350100M000100Y43%00", Some(&dispatcher)).await);
    refused(app.get("/api/v1/requests/ZS%00", Some(&dispatcher)).await);
    refused(app.get("/open311/v2/requests/ZS%00.json", None).await);
    let (status, _) = app.get("/track/ZS%00?code=1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, list) = app.get("/api/v1/requests", Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "nothing stored: {list}");

    // Line breaks and tabs in multi-line text stay allowed.
    let mut body = enterprise_complaint();
    body["content"] = json!("第一行\n第二行\r\n\t第三行");
    app.submit(body).await;
}

/// Finding 8: a town's handler sees the requests located in its town, but the asker's personal data only
/// of those its own unit handles.
#[tokio::test]
async fn a_town_sees_personal_data_only_of_what_it_handles() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let town = super::unit_handler(&app, "guzhen", "guzhen-handler").await;

    // Located in 古镇, handled by 市市场监管局: visible to the town, masked.
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let seen = app.detail(&no, &town).await["request"].clone();
    assert_eq!(seen["asker"]["contact_phone"], "138****8000", "{seen}");
    assert_eq!(seen["asker"]["contact_name"], "陈**");
    assert!(seen["asker"]["contact_email"].is_null());
    assert!(!seen["content"].as_str().unwrap().contains("13800138000"));
    let (_, list) = app.get("/api/v1/requests", Some(&town)).await;
    assert!(!list.to_string().contains("13800138000"), "{list}");

    // Sent to the town itself: its handler sees what it needs to handle it.
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "guzhen" })).await;
    let handled = app.detail(&no, &town).await["request"].clone();
    assert_eq!(handled["asker"]["contact_phone"], "13800138000", "{handled}");

    // Filtering by a phone finds only what the caller sees unmasked, or the masked one would be named.
    let by_phone = "/api/v1/requests?phone=13800138000";
    let numbers = |list: &Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap().to_owned()).collect()
    };
    let (status, list) = app.get(by_phone, Some(&town)).await;
    assert_eq!((status, numbers(&list)), (StatusCode::OK, vec![no.clone()]), "{list}");
    let (_, all) = app.get("/api/v1/requests", Some(&town)).await;
    assert_eq!(numbers(&all).len(), 2, "both are in the town's scope");
    let (_, list) = app.get(by_phone, Some(&dispatcher)).await;
    assert_eq!(numbers(&list).len(), 2, "the dispatcher calls askers back: both");
    let (status, e) = app.get(by_phone, Some(&app.login("supervisor").await)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("phone_filter_forbidden")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("号码"));
}

/// Finding 9: signing in from another site (login CSRF) is refused like any cookie-setting post; no
/// session cookie is set.
#[tokio::test]
async fn signing_in_from_another_site_is_refused() {
    let app = spawn().await;
    let form = [("username", "handler"), ("password", super::PASSWORD)];
    for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")] {
        let res = app.http.post(app.url("/login")).header(header, value).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header}");
        assert!(res.headers().get("set-cookie").is_none(), "{header}: no session");
        let body = json!({ "username": "handler", "password": super::PASSWORD });
        let res = app.http.post(app.url("/api/v1/auth/login")).header(header, value).json(&body).send().await;
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header}");
        assert!(res.headers().get("set-cookie").is_none());
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "csrf_rejected");
    }
    // Same-origin and non-browser clients still sign in.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirects.post(app.url("/login")).header("sec-fetch-site", "same-origin").form(&form).send().await;
    assert!(res.unwrap().headers().get("set-cookie").is_some());
    app.login("handler").await;
}

/// Finding 10 (in part): a known path called with a method it does not take answers the documented
/// JSON error, not an empty 405.
#[tokio::test]
async fn a_wrong_method_answers_json() {
    let app = spawn().await;
    let (status, body) = app.call(reqwest::Method::DELETE, "/api/v1/auth/login", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// Sends `n` copies of a request at once (each its own connection) and counts the answers by status.
async fn burst(
    n: usize,
    request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> std::collections::BTreeMap<u16, usize> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        // A client per attempt: one connection each, as 32 attackers would open.
        let send = request(&reqwest::Client::new()).send();
        set.spawn(async move { send.await.unwrap().status().as_u16() });
    }
    let mut counts = std::collections::BTreeMap::new();
    while let Some(status) = set.join_next().await {
        *counts.entry(status.unwrap()).or_default() += 1;
    }
    counts
}

/// Finding 7: 32 concurrent wrong passwords or check codes are evaluated exactly up to the
/// limit, because each attempt is counted before it is checked; the limits are per account and per
/// tracking number, so others at the same address still get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_are_evaluated_only_up_to_the_limit() {
    let app = spawn_with(WebConfig {
        login_failures_per_15min: 5,
        lookup_failures_per_hour: 10,
        lookup_failures_per_address_hour: 12,
        public_intakes_per_hour: 10_000,
        ..WebConfig::default()
    })
    .await;
    let (guessed, code) = app.submit(resident_consultation()).await;
    let (other, other_code) = app.submit(resident_consultation()).await;

    let login = |c: &reqwest::Client| {
        c.post(app.url("/api/v1/auth/login")).json(&json!({ "username": "handler", "password": "wrong-password" }))
    };
    let answers = burst(32, login).await;
    assert_eq!(answers.get(&401), Some(&5), "exactly the limit evaluated: {answers:?}");
    assert_eq!(answers.get(&429), Some(&27), "{answers:?}");
    // The account is held even with its password; another account at the same address signs in.
    let body = json!({ "username": "handler", "password": super::PASSWORD });
    assert_eq!(app.post("/api/v1/auth/login", None, body).await.0, StatusCode::TOO_MANY_REQUESTS);
    app.login("operator").await;

    let lookup = |c: &reqwest::Client| c.get(app.url(&format!("/api/v1/public/requests/{guessed}?code=00000000")));
    let answers = burst(32, lookup).await;
    assert_eq!(answers.get(&404), Some(&10), "exactly the limit evaluated: {answers:?}");
    assert_eq!(answers.get(&429), Some(&22), "{answers:?}");
    let progress = |no: &str, code: &str| format!("/api/v1/public/requests/{no}?code={code}");
    assert_eq!(app.get(&progress(&guessed, &code), None).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Another request's asker at the same address still reads their progress, and a correct code
    // does not use up the address's allowance.
    for _ in 0..3 {
        assert_eq!(app.get(&progress(&other, &other_code), None).await.0, StatusCode::OK);
    }
    // Spraying wrong codes over other numbers stops at the address's limit (12 = 10 + 2).
    assert_eq!(app.get(&progress(&other, "11111111"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&progress("ZS20991231000001", "11111111"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&progress(&other, "11111111"), None).await.0, StatusCode::TOO_MANY_REQUESTS);
}

/// The same limits hold across two nodes on one PostgreSQL database, where each node leases
/// attempts from the shared counts in chunks: 32 concurrent wrong codes sent to both nodes are
/// evaluated exactly up to the limit, a correct code gives its attempt back to its node's spare,
/// and a spare left idle goes back to the database for the other node. (SQLite serves one node and
/// counts in memory: there is no second node to share with.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_on_two_nodes_are_evaluated_only_up_to_the_limit() {
    if std::env::var("MASHANGBAN_TEST_BACKEND").as_deref() != Ok("postgres") {
        return;
    }
    let config = || WebConfig {
        lookup_failures_per_hour: 10,
        lookup_failures_per_address_hour: 12,
        public_intakes_per_hour: 10_000,
        ..WebConfig::default()
    };
    let app = spawn_with(config()).await;
    let other = super::AppState::new(app.db.open().await, config()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mashangban_web::serve(listener, other, std::future::pending()));
    let (guessed, _) = app.submit(resident_consultation()).await;
    let (second, second_code) = app.submit(resident_consultation()).await;
    let on = |node: usize, no: &str, code: &str| {
        let base = if node == 0 { app.base.clone() } else { other_base.clone() };
        format!("{base}/api/v1/public/requests/{no}?code={code}")
    };

    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let send = reqwest::Client::new().get(on(i % 2, &guessed, "00000000")).send();
        set.spawn(async move { send.await.unwrap().status().as_u16() });
    }
    let mut answers = std::collections::BTreeMap::new();
    while let Some(status) = set.join_next().await {
        *answers.entry(status.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(answers.get(&404), Some(&10), "exactly the limit evaluated over both nodes: {answers:?}");
    assert_eq!(answers.get(&429), Some(&22), "{answers:?}");

    let get = |url: String| {
        let http = app.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    // The first node reads the second request's progress: its attempt goes back to that node's spare.
    assert_eq!(get(on(0, &second, &second_code)).await, StatusCode::OK);
    // The address has 2 failures left: the other node takes one, the first node holds the other.
    assert_eq!(get(on(1, &second, "11111111")).await, StatusCode::NOT_FOUND);
    // Once idle, the first node's spare goes back to the database and the other node uses it up.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match get(on(1, &second, "11111111")).await {
            StatusCode::NOT_FOUND => break,
            StatusCode::TOO_MANY_REQUESTS => {}
            status => panic!("{status}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "the idle spare never went back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // 12 failures from the address: both nodes refuse, even a correct code.
    for node in 0..2 {
        assert_eq!(get(on(node, &second, "11111111")).await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(get(on(node, &second, &second_code)).await, StatusCode::TOO_MANY_REQUESTS);
    }
}

/// Sign-ins keep working when the server's clock is set back behind the window the counts hold (the
/// scoring stories do so): on PostgreSQL the database counts such an attempt in the newer window it
/// holds, and the node holds, gives back and returns the attempt in that same window, so none leaks.
/// 60 sign-ins from one address, more than its 50 failures, all succeed.
#[tokio::test]
async fn sign_ins_keep_working_after_the_clock_is_set_back() {
    let app = spawn().await;
    for (round, at) in
        ["2026-12-07T10:00:00+08:00", "2026-03-02T09:00:00+08:00", "2026-12-07T10:05:00+08:00"].into_iter().enumerate()
    {
        app.set_time(at);
        for i in 0..20 {
            let username = ["dispatcher", "handler", "operator"][(round + i) % 3];
            app.login(username).await;
        }
    }
}

/// Finding 7: refused intakes do not use up the portal's allowance, and 32 concurrent intakes
/// from one address take exactly the allowance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_intakes_take_exactly_the_allowance_and_refusals_take_none() {
    let app = spawn_with(WebConfig { public_intakes_per_hour: 4, ..WebConfig::default() }).await;
    let mut invalid = resident_consultation();
    invalid["category"] = json!("no.such.category");
    for _ in 0..6 {
        let (status, body) = app.post("/api/v1/public/requests", None, invalid.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let intake = |c: &reqwest::Client| c.post(app.url("/api/v1/public/requests")).json(&resident_consultation());
    let answers = burst(32, intake).await;
    assert_eq!(answers.get(&201), Some(&4), "{answers:?}");
    assert_eq!(answers.get(&429), Some(&28), "{answers:?}");
}

/// `X-Forwarded-For` names the client only when the peer is a configured trusted proxy, and then
/// only its right end (what the proxy added) counts.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let intake = |app: &App, forwarded: &'static str| {
        let req = app.http.post(app.url("/api/v1/public/requests")).header("x-forwarded-for", forwarded);
        async move { req.json(&resident_consultation()).send().await.unwrap().status() }
    };
    let config = WebConfig { public_intakes_per_hour: 1, ..WebConfig::default() };

    // No trusted proxy: the header is ignored, every attempt is the peer's.
    let direct = spawn_with(config.clone()).await;
    assert_eq!(intake(&direct, "203.0.113.5").await, StatusCode::CREATED);
    assert_eq!(intake(&direct, "203.0.113.6").await, StatusCode::TOO_MANY_REQUESTS);

    // Behind a trusted proxy each client has its own allowance; a forged left part changes nothing.
    let proxied = spawn_with(WebConfig { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..config }).await;
    assert_eq!(intake(&proxied, "203.0.113.5").await, StatusCode::CREATED);
    assert_eq!(intake(&proxied, "198.51.100.1, 203.0.113.5").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(intake(&proxied, "203.0.113.6, 127.0.0.1").await, StatusCode::CREATED);
    assert_eq!(intake(&proxied, "not-an-address").await, StatusCode::CREATED, "the proxy itself");
    assert_eq!(intake(&proxied, "203.0.113.6").await, StatusCode::TOO_MANY_REQUESTS);
}

/// Finding 10: what axum answered as text/plain answers the documented `{code, message}` JSON: a
/// multipart body without a boundary, a path that is not UTF-8, a query field given twice.
#[tokio::test]
async fn every_api_error_is_json() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (no, code) = app.submit(resident_consultation()).await;
    let json_error = |res: reqwest::Response, status: StatusCode, code: &'static str| async move {
        assert_eq!(res.status(), status);
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("application/json"), "{kind}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    };
    for (path, cookie) in [
        (format!("/api/v1/public/requests/{no}/attachments?code={code}"), None),
        (format!("/api/v1/requests/{no}/attachments"), Some(dispatcher.0.clone())),
    ] {
        let mut req = app.http.post(app.url(&path)).header("content-type", "multipart/form-data").body("--x--");
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        json_error(req.send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_multipart").await;
    }
    let res = app.http.get(app.url("/api/v1/public/requests/%FF%FE?code=1")).send().await.unwrap();
    json_error(res, StatusCode::BAD_REQUEST, "invalid_path").await;
    let res = app.http.get(app.url(&format!("/api/v1/public/requests/{no}?code={code}&code=1"))).send().await;
    json_error(res.unwrap(), StatusCode::BAD_REQUEST, "duplicate_parameter").await;
    let res =
        app.http.get(app.url("/api/v1/requests?kind=complaint&kind=consultation")).header("cookie", &dispatcher.0);
    json_error(res.send().await.unwrap(), StatusCode::BAD_REQUEST, "duplicate_parameter").await;
    // An unknown parameter is refused on the API; the progress page ignores what chat apps append to shared links.
    let res = app.http.get(app.url(&format!("/api/v1/public/requests/{no}?code={code}&phone=13800138000"))).send();
    json_error(res.await.unwrap(), StatusCode::BAD_REQUEST, "invalid_query").await;
    let shared = format!("/track/{no}?code={code}&from=singlemessage&isappinstalled=0");
    assert_eq!(app.http.get(app.url(&shared)).send().await.unwrap().status(), StatusCode::OK);
    // The asker's own look-up is untouched.
    assert_eq!(app.get(&format!("/api/v1/public/requests/{no}?code={code}"), None).await.0, StatusCode::OK);
}

/// The pages refuse a path that is not UTF-8 and a repeated or unreadable query parameter with a
/// Chinese error page, never axum's plain-text answer.
#[tokio::test]
async fn page_path_and_query_errors_are_chinese_pages() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    for (path, says) in [
        ("/work/%FF%FE", "地址中有无法识别的内容"),
        ("/work?page=1&page=2", "查询参数「page」出现了不止一次"),
        ("/work?page=abc", "页码应为 1 到 2000 的整数"),
        ("/track/%FF", "地址中有无法识别的内容"),
        ("/assets/%C0", "地址中有无法识别的内容"),
    ] {
        let res = app.http.get(app.url(path)).header("cookie", &dispatcher.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{path}: {html}");
    }
}

/// Form bodies on the pages are checked for control characters like JSON and URIs: a Chinese error
/// page, nothing stored.
#[tokio::test]
async fn control_characters_in_forms_are_refused_with_a_page() {
    let app = spawn().await;
    let form = [("username", "hand\u{0}ler"), ("password", super::PASSWORD)];
    let res = app.http.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("控制字符"), "{html}");
    let (no, code) = app.submit(resident_consultation()).await;
    let res = app
        .http
        .post(app.url(&format!("/track/{no}/reopen")))
        .form(&[("code", code.as_str()), ("reason", "还是没有解决\u{7}")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("控制字符"));
    // Line breaks in a text area are text, not control characters to refuse.
    let form = [("username", "handler\r\n"), ("password", "wrong")];
    let res = app.http.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::BAD_REQUEST);
}

/// A mistyped check code on the progress page answers the look-up form again with what was typed and a
/// Chinese reason, not a bare error page; the right code still opens the progress.
#[tokio::test]
async fn a_wrong_code_on_the_progress_page_keeps_what_was_typed() {
    let app = spawn().await;
    let (no, code) = app.submit(resident_consultation()).await;
    let res = app.http.get(app.url(&format!("/track/{no}?code=00000000"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("受理编号或查询码不正确"), "{html}");
    assert!(html.contains(&format!("value=\"{no}\"")) && html.contains("value=\"00000000\""), "kept: {html}");
    let res = app.http.get(app.url(&format!("/track/{no}?code={code}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
