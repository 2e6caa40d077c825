//! The staff inbox (消息提醒) through the API and the pages: a dispatch puts an
//! entry in the target unit's inboxes and no other unit's, urging adds one,
//! marking read lowers the count, the header's count follows live over SSE,
//! the choice of copies is kept; and internal notes (内部备注) never reach the
//! asker, the public progress page or Open311.

use super::*;

use super::browser::{page, post_form};

const PERSONAL: &[&str] = &["陈嘉欣", "13800138000", "chen@huakai.example.cn"];

async fn count(app: &App, who: &Session) -> u64 {
    let (status, body) = app.get("/api/v1/inbox/count", Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["unread"].as_u64().unwrap()
}

#[tokio::test]
async fn a_dispatch_fills_the_target_units_inbox_and_marking_read_lowers_the_count() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await; // 市市场监管局
    let leader = app.login("unit-leader").await; // 市市场监管局
    let other = unit_handler(&app, "rsj", "rsj-handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    for who in [&handler, &leader, &other, &dispatcher] {
        assert_eq!(count(&app, who).await, 0);
    }

    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(count(&app, &handler).await, 1);
    assert_eq!(count(&app, &leader).await, 1);
    assert_eq!(count(&app, &other).await, 0, "another unit hears nothing");
    assert_eq!(count(&app, &dispatcher).await, 0, "no entry for one's own act");
    let res = app.http.get(app.url("/api/v1/inbox")).header("cookie", &handler.0).send().await.unwrap();
    let text = res.text().await.unwrap();
    for personal in PERSONAL {
        assert!(!text.contains(personal), "「{personal}」 in the inbox: {text}");
    }
    let listed: Value = serde_json::from_str(&text).unwrap();
    let entry = &listed["entries"][0];
    assert_eq!((entry["kind"].as_str(), entry["event_kind"].as_str()), (Some("assigned"), Some("dispatched")));
    assert_eq!(entry["tracking_no"], no.as_str());
    assert_eq!(entry["title"], "营业执照变更登记迟迟未办结");
    assert_eq!(entry["link"], format!("/work/{no}"));
    assert_eq!((entry["read"].as_bool(), listed["total"].as_u64()), (Some(false), Some(1)));

    app.act(&no, "urge", &dispatcher, json!({ "message": "请尽快办理" })).await;
    assert_eq!(count(&app, &handler).await, 2);
    let (_, listed) = app.get("/api/v1/inbox", Some(&handler)).await;
    assert_eq!(listed["entries"][0]["kind"], "urged", "newest first");
    let (_, urged) = app.get("/api/v1/inbox?kind=urged", Some(&handler)).await;
    assert_eq!(urged["total"], 1);
    let (_, one) = app.get("/api/v1/inbox?limit=1", Some(&handler)).await;
    let next = one["next_before"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/inbox?limit=1&before={next}"), Some(&handler)).await;
    assert_eq!(rest["entries"][0]["kind"], "assigned", "the next page");

    // Marking read: one, then the rest; another's entry is not touched through one's own inbox.
    let urged_id = listed["entries"][0]["id"].as_i64().unwrap();
    let (status, marked) = app.post("/api/v1/inbox/read", Some(&leader), json!({ "ids": [urged_id] })).await;
    assert_eq!((status, marked["marked"].as_u64()), (StatusCode::OK, Some(0)), "{marked}");
    let (status, marked) = app.post("/api/v1/inbox/read", Some(&handler), json!({ "ids": [urged_id] })).await;
    assert_eq!((status, marked["marked"].as_u64(), marked["unread"].as_u64()), (StatusCode::OK, Some(1), Some(1)));
    assert_eq!(count(&app, &handler).await, 1);
    let (_, unread) = app.get("/api/v1/inbox?unread=true", Some(&handler)).await;
    assert_eq!(unread["entries"].as_array().unwrap().len(), 1);
    let (_, marked) = app.post("/api/v1/inbox/read", Some(&handler), json!({ "all": true })).await;
    assert_eq!(marked["unread"], 0);
    assert_eq!(count(&app, &handler).await, 0);
    assert_eq!(count(&app, &leader).await, 2, "the leader's own entries stay unread");

    // Refusals: each with its code; nothing changes.
    for (query, code) in [
        ("kind=nope", "invalid_parameter"),
        ("limit=0", "invalid_parameter"),
        ("limit=101", "invalid_parameter"),
        ("before=x", "invalid_parameter"),
        ("unread=maybe", "invalid_parameter"),
        ("colour=red", "invalid_query"),
        ("kind=urged&kind=assigned", "duplicate_parameter"),
    ] {
        let (status, err) = app.get(&format!("/api/v1/inbox?{query}"), Some(&leader)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {err}");
    }
    for body in [json!({}), json!({ "ids": [1], "all": true }), json!({ "ids": (0..501).collect::<Vec<_>>() })] {
        let (status, err) = app.post("/api/v1/inbox/read", Some(&leader), body).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    }
    let (status, err) = app.post("/api/v1/inbox/read", Some(&leader), json!({ "ids": "x" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(count(&app, &leader).await, 2);
    let enterprise = app.login("enterprise").await;
    let (status, err) = app.get("/api/v1/inbox", Some(&enterprise)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    assert_eq!(app.get("/api/v1/inbox/count", None).await.0, StatusCode::UNAUTHORIZED);
    // A dispatcher's API token acts as a machine: it has no inbox.
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "zwfw-12345").unwrap();
    let secret = auth::new_api_token();
    let token = NewApiToken {
        name: "派单接口".into(),
        token_hash: auth::hash_secret(&secret),
        role: mashangban_domain::org::Role::Dispatcher,
        unit_id: Some(unit.id),
    };
    app.store.create_api_token(token, crate::tester()).await.unwrap();
    let res = app.http.get(app.url("/api/v1/inbox/count")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "inbox_needs_person");
}

#[tokio::test]
async fn the_inbox_page_lists_marks_read_and_keeps_the_choice_of_copies() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;

    let (status, html) = page(&app, "/inbox", &handler).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("href=\"/work/{no}\"")) && html.contains("新派工单"), "{html}");
    assert!(html.contains("id=\"inbox-count\"") && html.contains("/assets/js/inbox.js"), "the header's live count");
    for personal in PERSONAL {
        assert!(!html.contains(personal), "「{personal}」 on the inbox page");
    }
    let (_, html) = page(&app, "/work", &handler).await;
    assert!(html.contains("href=\"/inbox\""), "the menu links the inbox");
    let (status, html) = page(&app, "/inbox?kind=nope", &handler).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");

    // Mark one read from the page and come back to the same filter.
    let (_, listed) = app.get("/api/v1/inbox", Some(&handler)).await;
    let id = listed["entries"][0]["id"].as_i64().unwrap().to_string();
    let (status, location, _) =
        post_form(&app, "/inbox/read", &handler, &[("id", &id), ("back", "kind=assigned")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/inbox?kind=assigned"));
    assert_eq!(count(&app, &handler).await, 0);

    // Copies: SMS for new work, e-mail for urging; unchecked is no.
    let (status, location, _) =
        post_form(&app, "/inbox/preferences", &handler, &[("sms_assigned", "on"), ("email_urged", "on")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/inbox?saved=1"));
    let (_, prefs) = app.get("/api/v1/inbox/preferences", Some(&handler)).await;
    let chosen: Vec<(String, bool, bool)> = prefs["preferences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["sms"] == true || p["email"] == true)
        .map(|p| (p["kind"].as_str().unwrap().to_owned(), p["sms"] == true, p["email"] == true))
        .collect();
    assert_eq!(chosen, [("assigned".to_owned(), true, false), ("urged".to_owned(), false, true)]);
    let (_, html) = page(&app, "/inbox?saved=1", &handler).await;
    assert!(html.contains("name=\"sms_assigned\" aria-label=\"新派工单短信\" checked"), "kept on the form");
    let (status, saved) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/inbox/preferences",
            Some(&handler),
            Some(json!({ "preferences": [{ "kind": "assigned", "sms": false, "email": true }] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let assigned = saved["preferences"].as_array().unwrap().iter().find(|p| p["kind"] == "assigned").unwrap();
    assert_eq!((assigned["sms"].as_bool(), assigned["email"].as_bool()), (Some(false), Some(true)));
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/inbox/preferences",
            Some(&handler),
            Some(json!({ "preferences": [{ "kind": "nope", "sms": true, "email": true }] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

/// Reads the stream until the next `count` event; answers its number.
async fn next_count(res: &mut reqwest::Response) -> u64 {
    next_event(res, "count").await.data.trim().parse().unwrap()
}

#[tokio::test]
async fn the_header_count_follows_the_inbox_live() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let (other, _) = app.submit(resident_consultation()).await;

    let mut stream = app.http.get(app.url("/inbox/events")).header("cookie", &handler.0).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(next_count(&mut stream).await, 0, "the count at once");

    let wait = std::time::Duration::from_secs(5);
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(tokio::time::timeout(wait, next_count(&mut stream)).await.unwrap(), 1);
    // Work for another unit sends nothing to this badge.
    app.act(&other, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    app.act(&no, "urge", &dispatcher, json!({ "message": "请尽快办理" })).await;
    assert_eq!(tokio::time::timeout(wait, next_count(&mut stream)).await.unwrap(), 2);
    app.post("/api/v1/inbox/read", Some(&handler), json!({ "all": true })).await;
    assert_eq!(tokio::time::timeout(wait, next_count(&mut stream)).await.unwrap(), 0);

    let anonymous = super::browser::no_redirects().get(app.url("/inbox/events")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "signed out: to the sign-in page");
    let enterprise = app.login("enterprise").await;
    assert_eq!(page(&app, "/inbox/events", &enterprise).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn internal_notes_stay_with_staff() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let enterprise = app.login("enterprise").await;
    const NOTE: &str = "内部备注：该企业曾多次投诉，注意口径";

    // A request of the demo enterprise, so its own account can open it.
    let mut own = enterprise_complaint();
    own["asker"]["credit_code"] = json!(mashangban_demo::demo_enterprise().unwrap().0.as_str());
    let (status, answer) = app.post("/api/v1/requests", Some(&enterprise), own).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let no = answer["tracking_no"].as_str().unwrap().to_owned();
    let code = answer["check_code"].as_str().unwrap().to_owned();
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "note", &handler, json!({ "text": NOTE })).await;
    let (status, _, _) = post_form(&app, &format!("/work/{no}/note"), &dispatcher, &[("text", "派单员的备注")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Staff see both notes in the history.
    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    let notes: Vec<&str> =
        history.iter().filter(|e| e["kind"] == "internal_note").map(|e| e["comment"].as_str().unwrap()).collect();
    assert_eq!(notes, [NOTE, "派单员的备注"]);
    let (_, html) = page(&app, &format!("/work/{no}"), &handler).await;
    assert!(html.contains(NOTE) && html.contains("id=\"do-note\""), "on the staff page, with its form");
    let (status, err) = app.post(&format!("/api/v1/requests/{no}/note"), Some(&handler), json!({ "text": " " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));

    // Never to the asker: not the public progress (API, page, live stream), not Open311, not their account.
    let hidden =
        |text: &str| !text.contains("注意口径") && !text.contains("派单员的备注") && !text.contains("internal_note");
    let progress = app.progress(&no, &code).await;
    assert!(hidden(&progress.to_string()), "{progress}");
    assert!(!timeline_kinds(&progress).contains(&"internal_note".to_owned()));
    let track = app.http.get(app.url(&format!("/track/{no}?code={code}"))).send().await.unwrap();
    assert!(hidden(&track.text().await.unwrap()));
    for path in [format!("/open311/v2/requests/{no}.json?extensions=true"), format!("/open311/v2/requests/{no}.xml")] {
        let body = app.http.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(body.contains(&no), "{path}: {body}");
        assert!(hidden(&body), "{path}: {body}");
    }
    let own = app.detail(&no, &enterprise).await;
    assert!(hidden(&own.to_string()), "{own}");
    assert!(own["history"].as_array().unwrap().iter().any(|e| e["kind"] == "dispatched"), "the rest of it stays");
    let (_, html) = page(&app, &format!("/work/{no}"), &enterprise).await;
    assert!(html.contains(&no) && hidden(&html), "the account's page");
    // The asker cannot write one either.
    let (status, _) = app.post(&format!("/api/v1/requests/{no}/note"), Some(&enterprise), json!({ "text": "x" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn history_rows_say_where_it_went_why_and_the_deadlines_before_and_after() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await; // 市市场监管局
    let supervisor = app.login("supervisor").await;
    let rsj = unit_handler(&app, "rsj", "rsj-handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj", "co_units": ["zwfw"] })).await;
    app.act(&no, "return", &handler, json!({ "reason": "不属本局职责" })).await;

    // The 改派 form preselects no unit: the person must choose.
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    let start = html.find("id=\"redispatch-lead_unit\"").unwrap();
    let select = &html[start..start + html[start..].find("</select>").unwrap()];
    assert!(select.contains("<option value=\"\">请选择改派单位</option>"), "{select}");
    assert!(!select.contains(" selected"), "{select}");

    app.act(&no, "redispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    app.act(&no, "sign", &rsj, json!({})).await;
    let due = app.detail(&no, &dispatcher).await["request"]["due_at"].as_str().unwrap().to_owned();
    let later = chrono::DateTime::parse_from_rfc3339(&due).unwrap() + chrono::Duration::days(7);
    app.act(&no, "request-extension", &rsj, json!({ "new_due": later.to_rfc3339(), "reason": "需现场核查" })).await;
    app.act(&no, "approve-extension", &dispatcher, json!({})).await;
    let supervise_due = (later + chrono::Duration::days(1)).to_rfc3339();
    app.act(&no, "supervise", &supervisor, json!({ "instructions": "请限期办结", "due": supervise_due })).await;

    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    let row = |kind: &str| history.iter().find(|e| e["kind"] == kind).unwrap().clone();
    let summary = |kind: &str| row(kind)["summary"].as_str().unwrap_or_default().to_owned();
    let dispatched = summary("dispatched");
    assert!(
        dispatched.contains("派至：") && dispatched.contains("（主办）") && dispatched.contains("协办："),
        "{dispatched}"
    );
    let returned = row("returned");
    assert_eq!(
        (returned["comment_label"].as_str(), returned["comment"].as_str()),
        (Some("退单理由"), Some("不属本局职责"))
    );
    assert!(returned["summary"].as_str().unwrap().starts_with("退单单位："), "{returned}");
    let redispatched = summary("redispatched");
    assert!(redispatched.starts_with("改派：") && redispatched.contains(" → "), "{redispatched}");
    let short = |t: &str| t.chars().take(16).collect::<String>().replace('T', " ");
    let approved = summary("extension_approved");
    let later_text = short(&later.with_timezone(&mashangban_domain::time::shanghai()).to_rfc3339());
    assert_eq!(approved, format!("答复期限：{} → {later_text}", short(&due)));
    assert_eq!(summary("extension_requested"), format!("申请延至：{later_text}"));
    let supervised = row("supervised");
    assert_eq!(supervised["comment_label"], "督办意见");
    assert!(supervised["summary"].as_str().unwrap().starts_with("督办期限："), "{supervised}");
    assert!(row("signed_for")["summary"].is_null(), "a row that changed nothing says nothing");
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("退单理由：</span>不属本局职责"), "the page shows it too");
}
