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

