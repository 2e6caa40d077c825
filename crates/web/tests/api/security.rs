//! Stories from the attack on the running platform (issue 18): each finding
//! fixed, checked the way the attacker tried it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{App, Session, auth, enterprise_complaint, spawn};
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
        .create_api_token(NewApiToken {
            name: "测试令牌".into(),
            token_hash: auth::hash_secret(&secret),
            role,
            unit_id: Some(unit.id),
            created_at: mashangban_domain::time::now(),
        })
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
    let guzhen = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "guzhen").unwrap();
    app.store
        .create_user(mashangban_store::NewUser {
            username: "guzhen-handler".into(),
            display_name: "古镇承办人".into(),
            role: mashangban_domain::org::Role::Handler,
            unit_id: Some(guzhen.id),
            credit_code: None,
            phone: None,
            password_hash: auth::hash_password(super::PASSWORD).unwrap(),
        })
        .await
        .unwrap();
    let town = app.login("guzhen-handler").await;

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
