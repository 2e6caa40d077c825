//! The secretary-mayor direct line (书记市长直通车): an item from the portal
//! goes office → leader → units → office review → asker; the leader's
//! instruction dispatches a supervised request carrying it; the unit's reply
//! reaches the asker only when the office approves it (a sent-back reply
//! never does); screening (convert, merge); refusals with stable codes; the
//! item scope (another unit's handler 404, a resident 403); the monthly
//! report's figures recomputed here; the published page masks personal data;
//! the asker's SMS when the answer is approved; the office's scans of a letter.

use super::*;

use mashangban_domain::org::Role;
use mashangban_store::NotificationStore;

async fn user_id(app: &App, username: &str) -> i64 {
    app.store.find_user(username).await.unwrap().unwrap().id
}

fn letter(title: &str, consent: bool) -> Value {
    json!({
        "name": "张建国", "phone": "13800138011", "addressee": "mayor",
        "title": title,
        "content": "我厂扩建项目的规划许可已申请三个月仍未批复，请市长关心。联系电话13800138011，张建国。",
        "publish_consent": consent
    })
}

async fn take_in(app: &App, body: Value) -> (String, String) {
    let (status, taken) = app.post("/api/v1/public/direct-line", None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    (taken["tracking_no"].as_str().unwrap().to_owned(), taken["check_code"].as_str().unwrap().to_owned())
}

async fn item_of(app: &App, office: &Session, no: &str) -> Value {
    let (status, items) = app.get("/api/v1/direct-line", Some(office)).await;
    assert_eq!(status, StatusCode::OK, "{items}");
    items.as_array().unwrap().iter().find(|i| i["tracking_no"] == no).cloned().unwrap_or(Value::Null)
}

async fn progress(app: &App, no: &str, code: &str) -> Value {
    let (status, p) = app.get(&format!("/api/v1/public/direct-line/{no}?code={code}"), None).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    p
}

/// The outbox rows telling askers their answer is approved.
async fn answered(app: &App) -> Vec<mashangban_store::OutboxItem> {
    let rows = app.store.list_outbox(None, 1000).await.unwrap();
    rows.into_iter().filter(|r| r.template_key.as_deref() == Some("direct_line.answered")).collect()
}

#[tokio::test]
async fn an_item_goes_office_leader_units_review_asker_and_is_published_masked() {
    let app = spawn().await;
    app.store.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let dispatcher = app.login("dispatcher").await;

    // Intake on the portal: a tracking number and check code usable on the progress page.
    let (no, code) = take_in(&app, letter("扩建项目规划许可迟迟未批", true)).await;
    assert!(no.starts_with("ZTC"), "{no}");
    let p = progress(&app, &no, &code).await;
    assert_eq!(p["status_label"], "已收到，正在研究", "{p}");
    let (status, err) = app.get(&format!("/api/v1/public/direct-line/{no}?code=00000000"), None).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("direct_line_not_found")), "{err}");

    // The office's queue of new items shows the asker unmasked; the item is new.
    let (status, new) = app.get("/api/v1/direct-line?queue=new", Some(&office)).await;
    assert_eq!(status, StatusCode::OK, "{new}");
    let item = new.as_array().unwrap().iter().find(|i| i["tracking_no"] == no.as_str()).unwrap().clone();
    assert_eq!((item["name"].as_str(), item["phone"].as_str()), (Some("张建国"), Some("13800138011")));
    assert_eq!(item["screening"]["suspected"], false, "screened as portal requests are, and genuine: {item}");
    let id = item["id"].as_i64().unwrap();

    // Put before the leader (呈报).
    let leader_id = user_id(&app, "leader").await;
    let body =
        json!({ "leader_user_id": leader_id, "category": "biz.change", "comment": "涉及规划审批，建议请市长批示" });
    let (status, submitted) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    assert_eq!((status, submitted["state"].as_str()), (StatusCode::OK, Some("submitted")), "{submitted}");
    // A second submission of the same item is refused by its state.
    let body = json!({ "leader_user_id": leader_id, "category": "biz.change" });
    let (status, err) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{err}");

    // The leader sees it (masked) and instructs; an instruction needs a unit and a time limit.
    let (status, seen) = app.get(&format!("/api/v1/direct-line/{id}"), Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["screening"].is_null(), "the screening is advice for the office: {seen}");
    assert_eq!(seen["phone"], "138****8011", "{seen}");
    let path = format!("/api/v1/direct-line/{id}/instruct");
    let (status, err) = app.post(&path, Some(&leader), json!({ "text": "请市场监管局牵头办理", "days": 5 })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("instruction_units_required")));
    let (status, err) = app.post(&path, Some(&leader), json!({ "text": "请办理", "lead_unit": "scjgj" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time_limit")));
    let (status, _) =
        app.post(&path, Some(&office), json!({ "text": "请办理", "lead_unit": "scjgj", "days": 5 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the office does not instruct");
    let body = json!({ "text": "请市场监管局牵头，自然资源局配合，5个工作日内答复企业", "lead_unit": "scjgj",
                       "co_units": ["zrzyj"], "days": 5 });
    let (status, instructed) = app.post(&path, Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    assert_eq!((instructed["state"].as_str(), instructed["queue"].as_str()), (Some("handling"), Some("instructed")));
    assert_eq!(instructed["lead_unit"]["code"], "scjgj");
    assert_eq!(instructed["days"], 5);
    assert!(instructed["due_at"].is_string(), "{instructed}");
    let request = instructed["request"].clone();
    assert_eq!((request["state"].as_str(), request["supervised"].as_bool()), (Some("dispatched"), Some(true)));
    let rno = request["tracking_no"].as_str().unwrap().to_owned();

    // The request carries the instruction in its detail and history, is supervised and on the direct-line channel.
    let detail = app.detail(&rno, &dispatcher).await;
    assert_eq!(detail["request"]["channel"], "direct_line", "{detail}");
    assert!(detail["request"]["content"].as_str().unwrap().contains("批示"), "{detail}");
    assert!(detail["request"]["content"].as_str().unwrap().contains(&no), "the request links back to the item");
    let kinds: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["received", "dispatched", "supervised"], "{detail}");
    assert!(detail["history"][1]["comment"].as_str().unwrap().contains("5个工作日内答复企业"), "{detail}");
    assert!(detail["history"][2]["comment"].as_str().unwrap().contains("书记市长直通车"), "{detail}");

    // Scope: the lead unit's handler sees the item; another unit's handler gets 404.
    let (status, _) = app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await;
    assert_eq!(status, StatusCode::OK);
    let other = unit_handler(&app, "swj", "swj-handler").await;
    let (status, err) = app.get(&format!("/api/v1/direct-line/{id}"), Some(&other)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("direct_line_not_found")), "{err}");
    let (status, listed) = app.get("/api/v1/direct-line", Some(&other)).await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (StatusCode::OK, Some(0)));

    // The unit replies: the item awaits review, the asker sees nothing of the reply.
    app.act(&rno, "sign", &handler, json!({})).await;
    let co = unit_handler(&app, "zrzyj", "zrzyj-handler").await;
    app.act(&rno, "co-answer", &co, json!({ "content": "自然资源局：规划条件已核。" })).await;
    app.act(&rno, "reply", &handler, json!({ "content": "初步答复：正在核查。" })).await;
    let awaiting = item_of(&app, &office, &no).await;
    assert_eq!(awaiting["queue"], "review", "{awaiting}");
    assert_eq!(awaiting["request"]["last_reply"], "初步答复：正在核查。");
    let p = progress(&app, &no, &code).await;
    assert_eq!((p["reply"].clone(), p["status_label"].as_str()), (Value::Null, Some("市领导已批示，正在办理")), "{p}");

    // Sent back (a reason is required): the unit is told through the request and replies again.
    let review = format!("/api/v1/direct-line/{id}/review");
    let (status, err) = app.post(&review, Some(&office), json!({ "decision": "send_back" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")), "{err}");
    let body = json!({ "decision": "send_back", "comment": "答复未说明办理时限，请补充" });
    let (status, back) = app.post(&review, Some(&office), body).await;
    assert_eq!((status, back["queue"].as_str()), (StatusCode::OK, Some("instructed")), "{back}");
    let detail = app.detail(&rno, &handler).await;
    let last = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "reply_rejected", "{last}");
    assert!(last["comment"].as_str().unwrap().contains("请补充"), "{last}");
    let (status, err) = app.post(&review, Some(&office), json!({ "decision": "approve" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("no_reply_to_review")), "{err}");
    let reply = "经核查，规划许可已于今日批复，联系电话13800138011的张建国先生可到窗口领取。";
    app.act(&rno, "reply", &handler, json!({ "content": reply })).await;
    assert_eq!(progress(&app, &no, &code).await["reply"], Value::Null);

    assert!(answered(&app).await.is_empty(), "the asker hears nothing before the office approves");

    // The administrator words the asker's SMS (通知模板): a placeholder it does not have is refused.
    let admin = app.login("admin").await;
    let template = "/api/v1/admin/notification-templates/direct_line.answered/sms";
    let bad = json!({ "body": "【马上办】来信{{tracking_no}}已答复：{{reply_excerpt}}" });
    let (status, err) = app.call(reqwest::Method::PUT, template, Some(&admin), Some(bad)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template")), "{err}");
    let (status, err) = app.get("/api/v1/admin/notification-templates/direct_line.answered/email", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "SMS only: {err}");
    let edited =
        json!({ "body": "【马上办】您给{{addressee}}的来信（{{tracking_no}}）已办理答复，查看与评价：{{link}}" });
    let (status, saved) = app.call(reqwest::Method::PUT, template, Some(&admin), Some(edited)).await;
    assert_eq!((status, &saved["customized"]), (StatusCode::OK, &json!(true)), "{saved}");

    // Approved: the asker sees the reply, the request is closed, the asker rates once.
    let (status, approved) = app.post(&review, Some(&office), json!({ "decision": "approve" })).await;
    assert_eq!((status, approved["state"].as_str()), (StatusCode::OK, Some("answered")), "{approved}");
    // The asker is told by SMS in the approval's transaction: the number and the progress page, not the reply.
    let told = answered(&app).await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!((told[0].recipient.as_str(), told[0].event_id), ("13800138011", None));
    let link = format!("https://12345.example.gov.cn/direct-line/track?no={no}&code={code}");
    assert_eq!(told[0].body, format!("【马上办】您给市长的来信（{no}）已办理答复，查看与评价：{link}"));
    assert!(!told[0].body.contains("张建国") && !told[0].body.contains("规划许可"), "{}", told[0].body);
    assert_eq!(app.detail(&rno, &dispatcher).await["request"]["state"], "closed");
    let p = progress(&app, &no, &code).await;
    assert_eq!((p["reply"].as_str(), p["may_rate"].as_bool()), (Some(reply), Some(true)), "{p}");
    let rate = format!("/api/v1/public/direct-line/{no}/rate");
    let (status, rated) = app.post(&rate, None, json!({ "code": code, "rating": "satisfied" })).await;
    assert_eq!((status, rated["rating_label"].as_str()), (StatusCode::OK, Some("满意")), "{rated}");
    let (status, err) = app.post(&rate, None, json!({ "code": code, "rating": "satisfied" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("already_rated")), "{err}");

    // The leader's list shows it with its progress; the history has every step.
    let (_, mine) = app.get("/api/v1/direct-line", Some(&leader)).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let actions: Vec<&str> =
        approved["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["received", "submitted", "instructed", "sent_back", "approved"]);

    // Published (the asker consented): name and phone masked, in the text too.
    let (status, published) = app.get("/api/v1/public/direct-line/published", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = published.to_string();
    assert!(text.contains(&no), "{published}");
    assert!(!text.contains("13800138011") && !text.contains("张建国"), "{published}");
    assert!(text.contains("138****8011") && text.contains("张*"), "{published}");
    let (status, html) = super::browser::page(&app, "/direct-line", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&no) && !html.contains("13800138011") && !html.contains("张建国"));
}

#[tokio::test]
async fn intake_refusals_screening_and_who_may_do_what() {
    let app = spawn().await;
    let office = app.login("leaders-office").await;

    // Bad input: stable codes, nothing stored.
    let cases = [
        (json!({ "phone": "12345" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone"),
        (json!({ "title": "长".repeat(101) }), StatusCode::UNPROCESSABLE_ENTITY, "text_too_long"),
        (json!({ "content": "  " }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        (json!({ "credit_code": "91350100M000100Y44" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_credit_code"),
        (json!({ "addressee": "governor" }), StatusCode::UNPROCESSABLE_ENTITY, ""),
        (json!({ "extra": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
    ];
    for (change, want, code) in cases {
        let mut body = letter("标题", false);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = app.post("/api/v1/public/direct-line", None, body).await;
        assert!(status.is_client_error(), "{change}: {status} {err}");
        if !code.is_empty() {
            assert_eq!((status, err["code"].as_str()), (want, Some(code)), "{change}: {err}");
        }
    }
    let (_, all) = app.get("/api/v1/direct-line", Some(&office)).await;
    assert_eq!(all.as_array().unwrap().len(), 0, "{all}");

    // The office enters a call; a letter from an enterprise is converted into an ordinary request.
    let mut call = letter("来电反映园区道路积水", false);
    call["source"] = json!("call");
    let (status, entered) = app.post("/api/v1/direct-line", Some(&office), call).await;
    assert_eq!((status, entered["source"].as_str()), (StatusCode::CREATED, Some("call")), "{entered}");
    assert!(entered["screening"].is_null(), "what the office enters is not screened: {entered}");
    // A portal letter with inserted ads is taken in like any other and marked for the office's 甄别.
    let mut ad = letter("会议室出租", false);
    ad["content"] = json!("会议室出租，时租场地，舞蹈室出租，欢迎来电。");
    let (ad_no, _) = take_in(&app, ad).await;
    let flagged = item_of(&app, &office, &ad_no).await;
    assert_eq!((flagged["state"].as_str(), flagged["screening"]["suspected"].as_bool()), (Some("new"), Some(true)));
    assert!(!flagged["screening"]["reasons"].as_array().unwrap().is_empty(), "{flagged}");
    let id = entered["id"].as_i64().unwrap();
    let body = json!({ "category": "biz.change", "comment": "属一般诉求，按程序办理" });
    let (status, converted) = app.post(&format!("/api/v1/direct-line/{id}/convert"), Some(&office), body).await;
    assert_eq!((status, converted["state"].as_str()), (StatusCode::OK, Some("converted")), "{converted}");
    let rno_converted = converted["request"]["tracking_no"].as_str().unwrap().to_owned();
    let dispatcher = app.login("dispatcher").await;
    let detail = app.detail(&rno_converted, &dispatcher).await;
    assert_eq!(
        (detail["request"]["state"].as_str(), detail["request"]["channel"].as_str()),
        (Some("received"), Some("phone"))
    );
    let (status, err) = app
        .post(&format!("/api/v1/direct-line/{id}/convert"), Some(&office), json!({ "category": "biz.change" }))
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{err}");

    // Merge: into another item; not into itself or an unknown number.
    let (first, _) = take_in(&app, letter("企业用工难", false)).await;
    let (second, code2) = take_in(&app, letter("企业用工难（重复）", false)).await;
    let second_id = item_of(&app, &office, &second).await["id"].as_i64().unwrap();
    let merge = format!("/api/v1/direct-line/{second_id}/merge");
    let (status, err) = app.post(&merge, Some(&office), json!({ "into": second })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("merge_target_invalid")));
    let (status, merged) = app.post(&merge, Some(&office), json!({ "into": first })).await;
    assert_eq!((status, merged["merged_into"].as_str()), (StatusCode::OK, Some(first.as_str())), "{merged}");
    assert_eq!(progress(&app, &second, &code2).await["merged_into"], first.as_str());

    // Who may do what: a resident cannot screen (403); a dispatcher cannot read the items (403);
    // an unknown item is 404 for the office.
    app.store
        .create_user(
            NewUser {
                username: "resident-1".into(),
                display_name: "市民".into(),
                role: Role::Resident,
                unit_id: None,
                credit_code: None,
                phone: None,
                password_hash: auth::hash_password(PASSWORD).unwrap(),
            },
            crate::tester(),
        )
        .await
        .unwrap();
    let resident = app.login("resident-1").await;
    let first_id = item_of(&app, &office, &first).await["id"].as_i64().unwrap();
    let (status, _) = app
        .post(&format!("/api/v1/direct-line/{first_id}/convert"), Some(&resident), json!({ "category": "biz.change" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/direct-line", Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = app.get("/api/v1/direct-line/999999", Some(&office)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("direct_line_not_found")));
    // Only the leader an item was put before instructs it.
    let leader_id = user_id(&app, "leader").await;
    let body = json!({ "leader_user_id": leader_id, "category": "biz.change" });
    app.post(&format!("/api/v1/direct-line/{first_id}/submit"), Some(&office), body).await;
    let other_leader = unit_user(&app, "city", "leader-2", Role::CityLeader).await;
    let body = json!({ "text": "请办理", "lead_unit": "scjgj", "days": 3 });
    let (status, _) =
        app.post(&format!("/api/v1/direct-line/{first_id}/instruct"), Some(&other_leader), body.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an item put before someone else is out of the leader's scope");

    // A reply closed on the request's own page (the office or the dispatcher may) still waits for the
    // office's approval on the item before the asker sees it.
    let leader = app.login("leader").await;
    let (status, v) = app.post(&format!("/api/v1/direct-line/{first_id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let rno = v["request"]["tracking_no"].as_str().unwrap().to_owned();
    let handler = app.login("handler").await;
    app.act(&rno, "sign", &handler, json!({})).await;
    app.act(&rno, "reply", &handler, json!({ "content": "已协调职业院校。" })).await;
    app.act(&rno, "close", &office, json!({})).await;
    let closed = item_of(&app, &office, &first).await;
    assert_eq!((closed["state"].as_str(), closed["queue"].as_str()), (Some("handling"), Some("review")), "{closed}");
    let (status, answered) = app
        .post(&format!("/api/v1/direct-line/{first_id}/review"), Some(&office), json!({ "decision": "approve" }))
        .await;
    assert_eq!((status, answered["reply"].as_str()), (StatusCode::OK, Some("已协调职业院校。")), "{answered}");
    // The office and the leader dispatch direct-line requests only: an ordinary request stays the dispatcher's.
    let dispatch = format!("/api/v1/requests/{rno_converted}/dispatch");
    for who in [&office, &leader] {
        let (status, err) = app.post(&dispatch, Some(who), json!({ "lead_unit": "scjgj" })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    }
}

#[tokio::test]
async fn the_monthly_report_matches_the_items_recomputed_here() {
    let app = spawn().await;
    app.set_time("2026-11-03T09:00:00+08:00");
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await;
    let leader_id = user_id(&app, "leader").await;
    // Three items in November: one instructed and answered on time (rated 不满意), one instructed
    // and left open past its limit, one converted.
    let mut ids = Vec::new();
    for t in ["一", "二", "三"] {
        let (no, code) = take_in(&app, letter(&format!("来信{t}"), false)).await;
        ids.push((no.clone(), item_of(&app, &office, &no).await["id"].as_i64().unwrap(), code));
    }
    let mut codes = Vec::new();
    for (_, id, _) in &ids[..2] {
        let body = json!({ "leader_user_id": leader_id, "category": "biz.change" });
        let (status, _) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
        assert_eq!(status, StatusCode::OK);
        let body = json!({ "text": "请办理", "lead_unit": "scjgj", "days": 3 });
        let (status, v) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        codes.push(v["request"]["tracking_no"].as_str().unwrap().to_owned());
    }
    let (status, _) = app
        .post(&format!("/api/v1/direct-line/{}/convert", ids[2].1), Some(&office), json!({ "category": "biz.change" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.act(&codes[0], "sign", &handler, json!({})).await;
    app.act(&codes[0], "reply", &handler, json!({ "content": "已办理。" })).await;
    let (status, _) = app
        .post(&format!("/api/v1/direct-line/{}/review", ids[0].1), Some(&office), json!({ "decision": "approve" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let rate = format!("/api/v1/public/direct-line/{}/rate", ids[0].0);
    let (status, _) = app.post(&rate, None, json!({ "code": ids[0].2, "rating": "dissatisfied" })).await;
    assert_eq!(status, StatusCode::OK);
    app.set_time("2026-11-20T09:00:00+08:00");
    let (office, leader) = (app.login("leaders-office").await, app.login("leader").await);

    let (status, report) = app.get("/api/v1/direct-line/reports?month=2026-11", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, items) = app.get("/api/v1/direct-line?month=2026-11", Some(&office)).await;
    let items = items.as_array().unwrap();
    let count = |f: &dyn Fn(&Value) -> bool| items.iter().filter(|i| f(i)).count() as u64;
    let total = &report["total"];
    assert_eq!(total["received"].as_u64(), Some(count(&|_| true)));
    assert_eq!(total["instructed"].as_u64(), Some(count(&|i| i["instruction"].is_string())));
    assert_eq!(total["answered"].as_u64(), Some(count(&|i| i["state"] == "answered")));
    assert_eq!(total["overdue"].as_u64(), Some(count(&|i| i["overdue"] == true)));
    assert_eq!(
        total["closed_on_time"].as_u64(),
        Some(count(&|i| i["answered_at"].is_string() && i["answered_at"].as_str() <= i["due_at"].as_str()))
    );
    assert_eq!((total["received"].as_u64(), total["instructed"].as_u64()), (Some(3), Some(2)));
    assert_eq!((total["closed_on_time"].as_u64(), total["overdue"].as_u64()), (Some(1), Some(1)));
    assert_eq!(report["by_unit"][0]["name"], "市市场监管局", "{report}");
    assert_eq!(report["by_unit"][0]["instructed"], 2);
    assert_eq!(report["by_leader"].as_array().unwrap().len(), 1);
    assert_eq!(total["rated"].as_u64(), Some(count(&|i| i["rating"].is_string())));
    assert_eq!((total["rated"].as_u64(), total["satisfied"].as_u64()), (Some(1), Some(0)));
    assert_eq!(total["satisfaction"].as_f64(), Some(0.0), "one rating, dissatisfied");
    assert_eq!(report["by_leader"][0]["rated"], 1);
    // Another month is empty; a bad month is refused.
    let (_, october) = app.get("/api/v1/direct-line/reports?month=2026-10", Some(&office)).await;
    assert_eq!(october["total"]["received"], 0);
    let (status, err) = app.get("/api/v1/direct-line/reports?month=11月", Some(&office)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")), "{err}");
    // The Excel export.
    let res = app
        .http
        .get(app.url("/api/v1/direct-line/reports/export?month=2026-11"))
        .header("cookie", &office.0)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn the_pages_take_in_screen_and_show_the_queue() {
    use super::browser::{page, post_form};
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let res = app
        .http
        .post(app.url("/direct-line"))
        .form(&[
            ("addressee", "secretary"),
            ("name", "李小红"),
            ("phone", "13912345678"),
            ("title", "小区旁工地夜间施工扰民"),
            ("content", "工地每晚施工到凌晨，请书记关注。"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"taken-no\""), "{html}");
    let (status, queue) = page(&app, "/direct-line/office?queue=new", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.contains("小区旁工地夜间施工扰民") && queue.contains("李小红"));
    let id = item_of(&app, &office, "").await;
    assert_eq!(id, Value::Null);
    let (_, items) = app.get("/api/v1/direct-line", Some(&office)).await;
    let id = items[0]["id"].as_i64().unwrap();
    let (status, location, _) =
        post_form(&app, &format!("/direct-line/items/{id}/convert"), &office, &[("category", "biz.change")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/direct-line/items/{id}").as_str()));
    let (status, item) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(item.contains("已转普通诉求"), "{item}");
    let leader = app.login("leader").await;
    let (status, _) = page(&app, "/direct-line/mine", &leader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, report) = page(&app, "/direct-line/reports", &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("直通车月报"));
    let (status, _) = page(&app, "/direct-line/office", &leader).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_office_keeps_scans_of_a_letter_that_those_who_read_the_item_read() {
    use super::browser::page;
    use super::documents::{PDF, PNG, download, listed, upload};
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let supervisor = app.login("supervisor").await;
    let handler = app.login("handler").await;
    let enterprise = app.login("enterprise").await;
    let mut body = letter("来信反映厂区周边道路破损", false);
    body["source"] = json!("letter");
    let (status, entered) = app.post("/api/v1/direct-line", Some(&office), body).await;
    assert_eq!(status, StatusCode::CREATED, "{entered}");
    let id = entered["id"].as_i64().unwrap();
    let path = format!("/api/v1/direct-line/{id}/documents");

    // The office adds the letter's scans (信件扫描件), two pages in one upload.
    let added = upload(
        &app,
        &path,
        &office,
        vec![("来信第1页.png", PNG.to_vec()), ("来信第2页.pdf", PDF.to_vec())],
        Some("信件扫描件"),
    )
    .await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    assert_eq!(
        (added.1[0]["owner_kind"].as_str(), added.1[1]["purpose"].as_str()),
        (Some("direct_line_item"), Some("信件扫描件"))
    );
    let scan = added.1[0]["id"].as_i64().unwrap();

    // The supervisor reads every item, so its scans; adding is the office's.
    assert_eq!(listed(&app, &path, &supervisor).await.len(), 2);
    assert_eq!(download(&app, scan, &supervisor).await.status(), StatusCode::OK);
    let refused = upload(&app, &path, &supervisor, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    let (status, err) =
        app.post(&format!("/api/v1/documents/{scan}/withdraw"), Some(&supervisor), json!({ "reason": "x" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_leaders_office")), "{err}");
    // The leader before it is put before them, a unit's handler before it is instructed: not found.
    for who in [&leader, &handler] {
        let (status, err) = app.get(&path, Some(who)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("direct_line_not_found")), "{err}");
        assert_eq!(download(&app, scan, who).await.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(app.get(&path, Some(&enterprise)).await.0, StatusCode::FORBIDDEN);
    // Once put before the leader, the leader reads the scans too.
    let leader_id = user_id(&app, "leader").await;
    let body = json!({ "leader_user_id": leader_id, "category": "biz.change" });
    let (status, _) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&app, &path, &leader).await.len(), 2);
    let refused = upload(&app, &path, &leader, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);

    // A withdrawal leaves the list; the item's history keeps the uploads and the withdrawal.
    let second = added.1[1]["id"].as_i64().unwrap();
    let (status, _) =
        app.post(&format!("/api/v1/documents/{second}/withdraw"), Some(&office), json!({ "reason": "重复扫描" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&app, &path, &office).await.len(), 1);
    let (_, item) = app.get(&format!("/api/v1/direct-line/{id}"), Some(&office)).await;
    let steps: Vec<&str> = item["history"].as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(steps, ["收件", "上传附件", "上传附件", "呈报", "撤回附件"], "{item}");
    let last = item["history"].as_array().unwrap().last().unwrap()["comment"].clone();
    assert_eq!(last, "撤回附件《来信第2页.pdf》（信件扫描件）：重复扫描");

    // The item's page: the panel, with the upload form for the office only.
    let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert!(html.contains("来信第1页.png") && html.contains("id=\"document-form\""), "{html}");
    let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &leader).await;
    assert!(html.contains("来信第1页.png") && !html.contains("id=\"document-form\""));
}

#[tokio::test]
async fn the_demo_items_load_once_in_every_state() {
    let app = spawn().await;
    let now = mashangban_domain::time::now();
    assert_eq!(mashangban_demo::load_direct_line(&app.store, now).await.unwrap(), 36);
    assert_eq!(mashangban_demo::load_direct_line(&app.store, now).await.unwrap(), 0, "loaded once");
    let office = app.login("leaders-office").await;
    let (status, items) = app.get("/api/v1/direct-line", Some(&office)).await;
    assert_eq!(status, StatusCode::OK);
    let items = items.as_array().unwrap();
    for state in ["new", "submitted", "converted", "merged", "handling", "answered"] {
        assert!(items.iter().any(|i| i["state"] == state), "no {state} item");
    }
    for queue in ["new", "screened", "instructed", "review"] {
        assert!(items.iter().any(|i| i["queue"] == queue), "no item in the {queue} queue");
    }
    assert!(items.iter().any(|i| i["overdue"] == true), "some instructed items are past their limit");
    assert!(items.iter().any(|i| i["rating"].is_string()));
}

/// Reads the stream until the next `rows` event: its id (the list's digest) and data.
async fn next_rows(res: &mut reqwest::Response) -> (String, Value) {
    let event = next_event(res, "rows").await;
    let data = event.json();
    (event.id, data)
}

/// The next `rows` event within a few seconds.
async fn rows_soon(res: &mut reqwest::Response) -> (String, Value) {
    tokio::time::timeout(std::time::Duration::from_secs(5), next_rows(res)).await.expect("a rows event")
}

/// No `rows` event for half a second.
async fn quiet(res: &mut reqwest::Response, what: &str) {
    let heard = tokio::time::timeout(std::time::Duration::from_millis(500), next_rows(res)).await;
    assert!(heard.is_err(), "{what}: {heard:?}");
}

/// The row of item `id` that a `rows` event sends.
fn row(patch: &Value, id: i64) -> String {
    patch["rows"][id.to_string()].as_str().unwrap_or_else(|| panic!("row {id} in {patch}")).to_owned()
}

async fn stream(app: &App, path: &str, Session(cookie): &Session) -> reqwest::Response {
    let res = app.http.get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    res
}

/// The leader's page's stream address, from its table.
fn events_of(html: &str) -> String {
    let start = html.find("data-events=\"").expect("the live table") + "data-events=\"".len();
    html[start..][..html[start..].find('"').unwrap()].replace("&amp;", "&").replace("&#38;", "&")
}

#[tokio::test]
async fn the_leaders_page_and_the_offices_queue_follow_every_step_live_in_scope_and_masked() {
    use super::browser::{no_redirects, page};
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let other_leader = unit_user(&app, "city", "leader-2", Role::CityLeader).await;

    // Who may follow which list: the pages' own permissions.
    assert_eq!(page(&app, "/direct-line/mine/events", &office).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, "/direct-line/office/events", &leader).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, "/direct-line/mine/events", &handler).await.0, StatusCode::FORBIDDEN);
    let anonymous = no_redirects().get(app.url("/direct-line/mine/events")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "signed out: to the sign-in page");
    assert_eq!(page(&app, "/direct-line/office/events?queue=junk", &office).await.0, StatusCode::BAD_REQUEST);

    // The leader's page is up to date: its stream sends nothing at connect. The office's stream
    // without a digest sends the whole (empty) list at once.
    let (status, html) = page(&app, "/direct-line/mine", &leader).await;
    assert_eq!(status, StatusCode::OK);
    let events = events_of(&html);
    assert!(events.starts_with("/direct-line/mine/events?since="), "{events}");
    let mut mine = stream(&app, &events, &leader).await;
    quiet(&mut mine, "an up-to-date page gets nothing at connect").await;
    let mut queue = stream(&app, "/direct-line/office/events", &office).await;
    let (_, patch) = rows_soon(&mut queue).await;
    assert_eq!(patch["order"], json!([]), "{patch}");
    let mut others = stream(&app, "/direct-line/mine/events", &other_leader).await;
    assert_eq!(rows_soon(&mut others).await.1["order"], json!([]));

    // A letter on the portal: the office's row at once, the asker's name as the office's page shows it.
    let (no, code) = take_in(&app, letter("扩建项目规划许可迟迟未批", false)).await;
    let (_, patch) = rows_soon(&mut queue).await;
    let id = patch["order"][0].as_i64().unwrap();
    let r = row(&patch, id);
    assert!(r.contains(&no) && r.contains("张建国") && r.contains("待甄别"), "{r}");
    quiet(&mut mine, "not yet put before the leader").await;

    // Put before the leader: the row appears on the leader's page.
    let leader_id = user_id(&app, "leader").await;
    let body = json!({ "leader_user_id": leader_id, "category": "biz.change" });
    let (status, _) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    assert_eq!(status, StatusCode::OK);
    let (digest, patch) = rows_soon(&mut mine).await;
    assert_eq!(patch["order"], json!([id]), "{patch}");
    let r = row(&patch, id);
    assert!(r.contains(&no) && r.contains("已呈报待批示"), "{r}");
    assert!(!r.contains("张建国") && !r.contains("13800138011"), "nothing the leader's page does not show: {r}");
    assert!(rows_soon(&mut queue).await.1.to_string().contains("已呈报待批示"));

    // Instructed: the request, 督办 and the time limit on the row; the unit's steps follow.
    let body = json!({ "text": "请市场监管局牵头办理", "lead_unit": "scjgj", "days": 5 });
    let (status, instructed) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();
    let (_, patch) = rows_soon(&mut mine).await;
    let r = row(&patch, id);
    assert!(r.contains("批示办理中") && r.contains(&rno) && r.contains("已派单") && r.contains("督办"), "{r}");
    assert!(!r.contains("超期"), "{r}");
    app.act(&rno, "sign", &handler, json!({})).await;
    assert!(row(&rows_soon(&mut mine).await.1, id).contains("已签收"));
    app.act(&rno, "reply", &handler, json!({ "content": "规划许可已批复。" })).await;
    assert!(row(&rows_soon(&mut mine).await.1, id).contains("已答复"));
    let office_row = loop {
        let (_, patch) = rows_soon(&mut queue).await;
        let r = row(&patch, id);
        if r.contains("待审核答复") {
            break r;
        }
    };
    assert!(office_row.contains("批示办理中"), "{office_row}");

    // Another leader's list never heard of it; a reconnect from an older version gets the rows again.
    quiet(&mut others, "another leader's page").await;
    let resumed = app.http.get(app.url("/direct-line/mine/events")).header("cookie", &leader.0);
    let mut resumed = resumed.header("last-event-id", &digest).send().await.unwrap();
    let (_, behind) = rows_soon(&mut resumed).await;
    assert!(row(&behind, id).contains("已答复"), "a reconnect behind gets the rows that changed: {behind}");

    // The office approves: the leader's row says 已答复 for the item; the asker sees the answer.
    let (status, _) =
        app.post(&format!("/api/v1/direct-line/{id}/review"), Some(&office), json!({ "decision": "approve" })).await;
    assert_eq!(status, StatusCode::OK);
    let (_, patch) = rows_soon(&mut mine).await;
    let r = row(&patch, id);
    assert!(r.contains("<td class=\"item-state\">已答复") && r.contains("已办结"), "{r}");
    assert_eq!(progress(&app, &no, &code).await["reply"], "规划许可已批复。");
}

/// A new letter from the portal; its id, as the office lists it.
async fn new_item(app: &App, office: &Session, title: &str) -> i64 {
    let (no, _) = take_in(app, letter(title, false)).await;
    item_of(app, office, &no).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn an_instructed_item_turns_overdue_on_the_leaders_page_when_its_time_limit_passes() {
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let id = new_item(&app, &office, "厂区道路破损").await;
    let body = json!({ "leader_user_id": user_id(&app, "leader").await, "category": "biz.change" });
    app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    let body = json!({ "text": "请办理", "lead_unit": "scjgj", "days": 1 });
    let (status, instructed) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();

    // Two seconds before the time limit the row is not overdue; the stream looks again when it passes.
    let due = chrono::DateTime::parse_from_rfc3339(instructed["due_at"].as_str().unwrap()).unwrap();
    app.set_time(&(due - chrono::Duration::seconds(2)).to_rfc3339());
    let leader = app.login("leader").await; // the session of days ago has lapsed
    let mut mine = stream(&app, "/direct-line/mine/events", &leader).await;
    let (_, patch) = rows_soon(&mut mine).await;
    assert!(!row(&patch, id).contains("超期"), "{patch}");
    app.set_time(&(due + chrono::Duration::hours(1)).to_rfc3339());
    let (_, patch) = rows_soon(&mut mine).await;
    let r = row(&patch, id);
    assert!(r.contains("<span class=\"tag warn\">超期</span>") && r.contains(&rno), "{r}");
}

/// Puts a new item before the leader `username`; its id.
async fn before_leader(app: &App, office: &Session, title: &str, username: &str) -> i64 {
    let id = new_item(app, office, title).await;
    let body = json!({ "leader_user_id": user_id(app, username).await, "category": "biz.change" });
    let (status, answer) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(office), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

/// The digest of the leader's page as it renders now.
async fn page_digest(app: &App, leader: &Session) -> String {
    let (status, html) = super::browser::page(app, "/direct-line/mine", leader).await;
    assert_eq!(status, StatusCode::OK);
    events_of(&html).split("since=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn a_change_to_one_item_sends_that_row_alone_and_only_to_the_list_that_shows_it() {
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let a = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let b = unit_user(&app, "city", "leader-2", Role::CityLeader).await;
    let older = before_leader(&app, &office, "厂区道路破损", "leader").await;
    let newer = before_leader(&app, &office, "用电报装缓慢", "leader").await;
    let theirs = before_leader(&app, &office, "排污许可延期", "leader-2").await;

    // Both pages up to date: nothing at connect.
    let mut mine = stream(&app, &format!("/direct-line/mine/events?since={}", page_digest(&app, &a).await), &a).await;
    let mut other = stream(&app, &format!("/direct-line/mine/events?since={}", page_digest(&app, &b).await), &b).await;
    quiet(&mut mine, "A's page is up to date").await;
    quiet(&mut other, "B's page is up to date").await;

    // Leader A instructs the older item: A's stream sends that row alone, the order unchanged, and
    // the version the page would carry now; B's stream stays quiet.
    let body = json!({ "text": "请市场监管局牵头办理", "lead_unit": "scjgj", "days": 5 });
    let (status, instructed) = app.post(&format!("/api/v1/direct-line/{older}/instruct"), Some(&a), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();
    let (digest, patch) = rows_soon(&mut mine).await;
    assert_eq!(patch["order"], json!([newer, older]), "{patch}");
    assert_eq!(patch["rows"].as_object().unwrap().len(), 1, "the changed row alone: {patch}");
    assert!(row(&patch, older).contains("批示办理中") && row(&patch, older).contains(&rno), "{patch}");
    assert_eq!(digest, page_digest(&app, &a).await, "the event's version is the page's");
    quiet(&mut other, "B's list does not show A's item").await;

    // The unit signs for the request the item became: again that row alone, to A only.
    app.act(&rno, "sign", &handler, json!({})).await;
    let (digest, patch) = rows_soon(&mut mine).await;
    assert_eq!(patch["rows"].as_object().unwrap().len(), 1, "{patch}");
    assert!(row(&patch, older).contains("已签收"), "{patch}");
    assert_eq!(digest, page_digest(&app, &a).await);
    quiet(&mut other, "B's list does not show the request's item").await;

    // A new item put before A takes its place at the top: its row alone, the new order.
    let newest = before_leader(&app, &office, "招工补贴未到账", "leader").await;
    let (digest, patch) = rows_soon(&mut mine).await;
    assert_eq!(patch["order"], json!([newest, newer, older]), "{patch}");
    assert_eq!(patch["rows"].as_object().unwrap().len(), 1, "{patch}");
    assert!(row(&patch, newest).contains("已呈报待批示"), "{patch}");
    assert_eq!(digest, page_digest(&app, &a).await);
    quiet(&mut other, "B's list does not show A's new item").await;

    // B instructs B's item: B hears of that row alone, A does not.
    let body = json!({ "text": "请办理", "lead_unit": "scjgj", "days": 5 });
    let (status, answer) = app.post(&format!("/api/v1/direct-line/{theirs}/instruct"), Some(&b), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (digest, patch) = rows_soon(&mut other).await;
    assert_eq!(patch["order"], json!([theirs]), "{patch}");
    assert!(row(&patch, theirs).contains("批示办理中"), "{patch}");
    assert_eq!(digest, page_digest(&app, &b).await);
    quiet(&mut mine, "A's list does not show B's item").await;

    // An item that leaves a filtered list: the office's queue of new letters drops it on 呈报.
    let fresh = new_item(&app, &office, "园区路灯损坏").await;
    let mut new_queue = stream(&app, "/direct-line/office/events?queue=new", &office).await;
    assert_eq!(rows_soon(&mut new_queue).await.1["order"], json!([fresh]));
    let body = json!({ "leader_user_id": user_id(&app, "leader").await, "category": "biz.change" });
    app.post(&format!("/api/v1/direct-line/{fresh}/submit"), Some(&office), body).await;
    let (_, patch) = rows_soon(&mut new_queue).await;
    assert_eq!(patch, json!({ "order": [], "rows": {} }));
    let (_, patch) = rows_soon(&mut mine).await;
    assert_eq!(patch["order"], json!([fresh, newest, newer, older]), "{patch}");
}

/// The next `rows` event within `within`, or the failure naming `what`.
async fn rows_within(res: &mut reqwest::Response, within: std::time::Duration, what: &str) -> Value {
    tokio::time::timeout(within, next_rows(res)).await.unwrap_or_else(|_| panic!("{what} within {within:?}")).1
}

#[tokio::test]
async fn a_units_reply_brings_the_item_into_the_offices_review_queue_at_once_not_at_the_recheck() {
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let id = before_leader(&app, &office, "厂房消防验收迟迟未办", "leader").await;
    let body = json!({ "text": "请市场监管局牵头办理", "lead_unit": "scjgj", "days": 5 });
    let (status, instructed) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();
    app.act(&rno, "sign", &handler, json!({})).await;

    // The office's 待审核答复 queue is empty and its 已批示 queue shows the item.
    let mut review = stream(&app, "/direct-line/office/events?queue=review", &office).await;
    assert_eq!(rows_soon(&mut review).await.1, json!({ "order": [], "rows": {} }));
    let mut instructed = stream(&app, "/direct-line/office/events?queue=instructed", &office).await;
    assert_eq!(rows_soon(&mut instructed).await.1["order"], json!([id]));

    // The unit replies on the request's page (a step of the request, not of the item): the review queue
    // gets the row within a few seconds — the recheck is 30 s away — and the instructed queue drops it.
    let soon = std::time::Duration::from_secs(3);
    let replied = std::time::Instant::now();
    app.act(&rno, "reply", &handler, json!({ "content": "已安排现场核查，三个工作日内书面答复企业。" })).await;
    let patch = rows_within(&mut review, soon, "the review queue's row").await;
    assert_eq!(patch["order"], json!([id]), "{patch}");
    let r = row(&patch, id);
    assert!(r.contains("待审核答复") && r.contains("厂房消防验收迟迟未办"), "{r}");
    let patch = rows_within(&mut instructed, soon, "the instructed queue's removal").await;
    assert_eq!(patch, json!({ "order": [], "rows": {} }));
    assert!(replied.elapsed() < soon, "{:?}", replied.elapsed());

    // The office sends the reply back (an item step): the row leaves the review queue and returns to
    // the instructed one, at once too.
    let body = json!({ "decision": "send_back", "comment": "请写明核查结论" });
    let (status, back) = app.post(&format!("/api/v1/direct-line/{id}/review"), Some(&office), body).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(rows_within(&mut review, soon, "the review queue's removal").await, json!({ "order": [], "rows": {} }));
    assert_eq!(rows_within(&mut instructed, soon, "the instructed queue's row").await["order"], json!([id]));
}

#[tokio::test]
async fn the_office_corrects_a_new_items_category_enterprise_and_title_each_recorded_from_and_to() {
    use super::browser::{page, post_form};
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let id = new_item(&app, &office, "规划许可").await;
    let path = format!("/api/v1/direct-line/{id}/correct");

    // Refusals: nothing given, a bad code, an unknown category, an empty title; the leader may not.
    let refused = [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_correct"),
        (json!({ "credit_code": "91350100M000100Y44" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_credit_code"),
        (json!({ "category": "no.such" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"),
        (json!({ "title": " " }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        (json!({ "title": "原标题", "extra": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
    ];
    for (body, status, code) in refused {
        let (got, err) = app.post(&path, Some(&office), body.clone()).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}: {err}");
    }
    let (status, _) = app.post(&path, Some(&leader), json!({ "title": "别的标题" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the office corrects");
    // The same values again change nothing.
    let (status, err) = app.post(&path, Some(&office), json!({ "title": "规划许可", "credit_code": "" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("nothing_to_correct")));

    // Category, enterprise and title: one event each with the old value and the new.
    let body =
        json!({ "category": "biz.change", "credit_code": "91350100M000100Y43", "title": "扩建项目规划许可迟迟未批" });
    let (status, corrected) = app.post(&path, Some(&office), body).await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert_eq!(corrected["category"]["code"], "biz.change", "{corrected}");
    assert_eq!(corrected["credit_code"], "91350100M000100Y43");
    assert_eq!(corrected["title"], "扩建项目规划许可迟迟未批");
    assert!(corrected["content"].as_str().unwrap().starts_with("我厂扩建项目"), "the asker's words stay");
    let steps: Vec<(String, String)> = corrected["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "corrected")
        .map(|e| (e["label"].as_str().unwrap().to_owned(), e["comment"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps.iter().all(|(label, _)| label == "更正"), "{steps:?}");
    assert!(steps[0].1.starts_with("分类：（未定） → "), "{steps:?}");
    assert_eq!(steps[1].1, "企业：（个人来信） → 91350100M000100Y43");
    assert_eq!(steps[2].1, "标题：规划许可 → 扩建项目规划许可迟迟未批");

    // Clearing the enterprise is a correction too; the page's form corrects as the API does.
    let (status, cleared) = app.post(&path, Some(&office), json!({ "credit_code": "" })).await;
    assert_eq!((status, cleared["credit_code"].clone()), (StatusCode::OK, Value::Null), "{cleared}");
    let (status, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"correct-form\"") && html.contains("企业：91350100M000100Y43 → （个人来信）"), "{html}");
    let form = [("category", "biz.change"), ("credit_code", ""), ("title", "扩建项目规划许可三个月未批")];
    let (status, location, _) = post_form(&app, &format!("/direct-line/items/{id}/correct"), &office, &form).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/direct-line/items/{id}")));
    let form = [("category", "biz.change"), ("credit_code", ""), ("title", "扩建项目规划许可三个月未批")];
    let (status, _, html) = post_form(&app, &format!("/direct-line/items/{id}/correct"), &office, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "nothing changed: the page says so");
    assert!(html.contains("没有需要更正的内容"), "{html}");

    // Put before the leader: the item is no longer corrected.
    let body = json!({ "leader_user_id": user_id(&app, "leader").await, "category": "biz.change" });
    let (status, _) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app.post(&path, Some(&office), json!({ "title": "再改" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{err}");
}

/// A new portal item put before the demo leader and instructed to `lead` (with `co`) for `days`;
/// its id and the instructed item.
async fn instructed_item(
    app: &App,
    office: &Session,
    leader: &Session,
    title: &str,
    lead: &str,
    co: &[&str],
) -> (i64, Value) {
    let id = new_item(app, office, title).await;
    let body = json!({ "leader_user_id": user_id(app, "leader").await, "category": "biz.change" });
    let (status, _) = app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(office), body).await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({ "text": "请市场监管局牵头办理", "lead_unit": lead, "co_units": co, "days": 5 });
    let (status, instructed) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(leader), body).await;
    assert_eq!(status, StatusCode::OK, "{instructed}");
    (id, instructed)
}

fn actions(item: &Value) -> Vec<String> {
    item["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn refused(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

#[tokio::test]
async fn a_lead_unit_returns_an_instruction_the_leader_re_instructs_another_unit_and_the_asker_never_sees_the_return() {
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await; // 市场监管局: the unit the leader named first
    let co = unit_handler(&app, "zrzyj", "zrzyj-handler").await;
    let unit_b = unit_handler(&app, "swj", "swj-handler").await; // 商务局: the right unit

    let (no, code) = take_in(&app, letter("外贸企业出口退税迟迟未到账", false)).await;
    let id = item_of(&app, &office, &no).await["id"].as_i64().unwrap();
    let body = json!({ "leader_user_id": user_id(&app, "leader").await, "category": "biz.change" });
    app.post(&format!("/api/v1/direct-line/{id}/submit"), Some(&office), body).await;
    let body = json!({ "text": "请市场监管局牵头，自然资源局配合，尽快答复企业", "lead_unit": "scjgj",
                       "co_units": ["zrzyj"], "days": 5 });
    let (status, first) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rno = first["request"]["tracking_no"].as_str().unwrap().to_owned();
    let first_due = first["due_at"].as_str().unwrap().to_owned();

    // The office's live list, up to date before the return.
    let mut queue = stream(&app, "/direct-line/office/events", &office).await;
    assert!(row(&rows_soon(&mut queue).await.1, id).contains("已批示"));

    // Who may not send it back, and a return without its reason.
    let path = format!("/api/v1/direct-line/{id}/return");
    let reason = json!({ "reason": "出口退税由税务部门和商务局办理，不属本局职责" });
    let answer = app.post(&path, Some(&co), reason.clone()).await;
    assert_eq!(refused(&answer), (StatusCode::FORBIDDEN, Some("not_lead_unit")), "a co-unit: {}", answer.1);
    let other = unit_handler(&app, "rsj", "rsj-handler").await;
    let answer = app.post(&path, Some(&other), reason.clone()).await;
    assert_eq!(refused(&answer), (StatusCode::NOT_FOUND, Some("direct_line_not_found")), "another unit");
    let answer = app.post(&path, Some(&office), reason.clone()).await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "the office does not return: {}", answer.1);
    let answer = app.post(&path, Some(&handler), json!({ "reason": "  " })).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")), "{}", answer.1);
    let answer = app.post(&path, Some(&handler), json!({})).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")), "{}", answer.1);
    // Not returned yet: the office's steps for a returned item are refused by the state.
    let answer = app.post(&format!("/api/v1/direct-line/{id}/resubmit"), Some(&office), json!({})).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);
    let shown = app.get(&format!("/api/v1/direct-line/{id}"), Some(&co)).await.1;
    assert_eq!(shown["may_return"], false, "{shown}");
    assert_eq!(app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await.1["may_return"], true);

    // The lead unit signs for it, then sends it back with its reason.
    app.act(&rno, "sign", &handler, json!({})).await;
    let (status, back) = app.post(&path, Some(&handler), reason.clone()).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!((back["state"].as_str(), back["queue"].as_str()), (Some("handling"), Some("returned")), "{back}");
    assert_eq!(back["request"]["state"], "returned");
    let last = back["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["label"].as_str()), (Some("returned"), Some("单位退回")), "{last}");
    let text = last["comment"].as_str().unwrap();
    assert!(text.contains("市场监督管理局") && text.contains("不属本局职责"), "which unit and why: {last}");
    assert!(last["by"].as_str().unwrap().contains("承办人"), "who: {last}");
    // The request's own history has the return (退单) with the reason, by the same person.
    let detail = app.detail(&rno, &office).await;
    let returned = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(returned["kind"], "returned", "{detail}");
    assert!(returned["comment"].as_str().unwrap().contains("不属本局职责"), "{returned}");
    // Once returned, it cannot be returned again.
    let answer = app.post(&path, Some(&handler), reason.clone()).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);

    // The office sees it in its 单位退回 queue and its live list; the asker sees nothing of it.
    let r = loop {
        let r = row(&rows_soon(&mut queue).await.1, id);
        if r.contains("单位退回") {
            break r;
        }
    };
    assert!(r.contains(&no), "{r}");
    let (status, returned) = app.get("/api/v1/direct-line?queue=returned", Some(&office)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(returned.as_array().unwrap().iter().map(|i| i["id"].as_i64()).collect::<Vec<_>>(), [Some(id)]);
    let p = progress(&app, &no, &code).await;
    assert_eq!(p["status_label"], "市领导已批示，正在办理", "{p}");
    assert!(!p.to_string().contains("退回"), "{p}");

    // The dispatcher does not re-dispatch a direct-line request: the leader's instruction does.
    let redispatch =
        app.post(&format!("/api/v1/requests/{rno}/redispatch"), Some(&dispatcher), json!({ "lead_unit": "swj" })).await;
    assert_eq!(redispatch.0, StatusCode::FORBIDDEN, "{}", redispatch.1);
    let refuse = app
        .post(&format!("/api/v1/requests/{rno}/refuse-return"), Some(&dispatcher), json!({ "reason": "请办理" }))
        .await;
    assert_eq!(refuse.0, StatusCode::FORBIDDEN, "{}", refuse.1);
    // Nor does it wait in the dispatcher's 退单待审 queue, which only the office can act on.
    let (_, html) = crate::browser::page(&app, "/work", &dispatcher).await;
    assert!(html.contains("id=\"returned\"") && !html.contains(rno.as_str()), "no dispatcher queue lists it: {html}");

    // The office puts it before the leader again; the asker still reads 办理中.
    let (status, again) = app
        .post(
            &format!("/api/v1/direct-line/{id}/resubmit"),
            Some(&office),
            json!({ "comment": "主办单位退回，请重新批示" }),
        )
        .await;
    assert_eq!((status, again["state"].as_str()), (StatusCode::OK, Some("submitted")), "{again}");
    assert_eq!(progress(&app, &no, &code).await["status_label"], "市领导已批示，正在办理");
    let answer = app.post(&format!("/api/v1/direct-line/{id}/resubmit"), Some(&office), json!({})).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);

    // The leader re-instructs to 商务局 with a new time limit: the same request, re-dispatched.
    let body = json!({ "text": "请商务局牵头办理，3个工作日内答复", "lead_unit": "swj", "days": 3 });
    let (status, second) = app.post(&format!("/api/v1/direct-line/{id}/instruct"), Some(&leader), body).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!((second["state"].as_str(), second["queue"].as_str()), (Some("handling"), Some("instructed")));
    assert_eq!((second["lead_unit"]["code"].as_str(), second["days"].as_i64()), (Some("swj"), Some(3)));
    assert_eq!(second["co_units"], json!([]), "{second}");
    assert_eq!(second["request"]["tracking_no"], rno.as_str(), "the same request");
    assert_eq!(second["request"]["state"], "dispatched");
    assert_ne!(second["due_at"].as_str(), Some(first_due.as_str()), "a new time limit");
    assert_eq!(second["request"]["due_at"], second["due_at"], "the request's due date is the new limit");
    assert!(second["instruction"].as_str().unwrap().contains("商务局"));
    assert_eq!(actions(&second), ["received", "submitted", "instructed", "returned", "resubmitted", "reinstructed"]);
    let old = &second["history"][2]["comment"];
    assert!(old.as_str().unwrap().contains("请市场监管局牵头"), "the old instruction stays in the history: {old}");
    let detail = app.detail(&rno, &office).await;
    let kinds: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["received", "dispatched", "supervised", "signed_for", "returned", "redispatched", "supervised"]);
    assert!(detail["history"][5]["comment"].as_str().unwrap().contains("请商务局牵头"), "{detail}");

    // The first unit no longer sees it; 商务局 signs for and replies; it cannot return it once replied.
    let answer = app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await;
    assert_eq!(refused(&answer), (StatusCode::NOT_FOUND, Some("direct_line_not_found")));
    app.act(&rno, "sign", &unit_b, json!({})).await;
    let reply = "经商务局协调，退税款已于今日到账。";
    app.act(&rno, "reply", &unit_b, json!({ "content": reply })).await;
    let answer = app.post(&path, Some(&unit_b), reason.clone()).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);
    assert_eq!(progress(&app, &no, &code).await["reply"], Value::Null);

    // The office approves; the asker sees the answer.
    let (status, done) =
        app.post(&format!("/api/v1/direct-line/{id}/review"), Some(&office), json!({ "decision": "approve" })).await;
    assert_eq!((status, done["state"].as_str()), (StatusCode::OK, Some("answered")), "{done}");
    let p = progress(&app, &no, &code).await;
    assert_eq!((p["reply"].as_str(), p["status_label"].as_str()), (Some(reply), Some("已答复")), "{p}");
}

#[tokio::test]
async fn the_office_re_dispatches_under_the_same_instruction_and_a_return_on_the_requests_own_page_is_in_the_items_history()
 {
    use super::browser::{page, post_form};
    let app = spawn().await;
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let (id, instructed) = instructed_item(&app, &office, &leader, "厂区门口道路积水", "scjgj", &[]).await;
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();

    // The item's page offers the lead unit its 退回 form; the request's own 退单 records it on the item too.
    let (status, html) = page(&app, &format!("/direct-line/items/{id}"), &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"return-form\""), "{html}");
    let (status, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert!(
        status == StatusCode::OK && !html.contains("id=\"return-form\"") && !html.contains("id=\"redispatch-form\"")
    );
    let (status, _, html) =
        post_form(&app, &format!("/direct-line/items/{id}/return"), &handler, &[("reason", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"form-error\"") && html.contains("退回理由"), "{html}");
    app.act(&rno, "return", &handler, json!({ "reason": "道路积水属住建局职责" })).await;
    let item = app.get(&format!("/api/v1/direct-line/{id}"), Some(&office)).await.1;
    assert_eq!(item["queue"], "returned", "{item}");
    assert_eq!(actions(&item).last().map(String::as_str), Some("returned"));
    assert!(item["history"].as_array().unwrap().last().unwrap()["comment"].as_str().unwrap().contains("住建局职责"));

    // The office's page shows its two ways on; a re-dispatch to the same unit is refused.
    let (status, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"resubmit-form\"") && html.contains("id=\"redispatch-form\""), "{html}");
    let path = format!("/api/v1/direct-line/{id}/redispatch");
    let answer = app.post(&path, Some(&office), json!({})).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("instruction_units_required")));
    let answer = app.post(&path, Some(&office), json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("same_unit")), "{}", answer.1);
    let answer = app.post(&path, Some(&leader), json!({ "lead_unit": "zjj" })).await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "the office's step: {}", answer.1);

    // Re-dispatched by the office's form: the instruction and its time limit stay; the new unit has it.
    let (status, location, _) = post_form(
        &app,
        &format!("/direct-line/items/{id}/redispatch"),
        &office,
        &[("lead_unit", "swj"), ("comment", "经请示，批示中的承办单位系笔误")],
    )
    .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/direct-line/items/{id}").as_str()));
    let item = app.get(&format!("/api/v1/direct-line/{id}"), Some(&office)).await.1;
    assert_eq!((item["queue"].as_str(), item["lead_unit"]["code"].as_str()), (Some("instructed"), Some("swj")));
    assert_eq!(
        (item["instruction"].clone(), item["due_at"].clone()),
        (instructed["instruction"].clone(), instructed["due_at"].clone())
    );
    assert_eq!(actions(&item), ["received", "submitted", "instructed", "returned", "redispatched"]);
    assert!(item["history"][4]["comment"].as_str().unwrap().contains("笔误"), "{item}");
    let detail = app.detail(&rno, &office).await;
    assert_eq!(detail["request"]["state"], "dispatched");
    assert_eq!(detail["history"].as_array().unwrap().last().unwrap()["kind"], "redispatched", "{detail}");
    let answer = app.post(&path, Some(&office), json!({ "lead_unit": "zjj" })).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "no longer returned");
    let swj = unit_handler(&app, "swj", "swj-handler").await;
    assert_eq!(app.get(&format!("/api/v1/direct-line/{id}"), Some(&swj)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_office_refuses_a_units_return_the_unit_keeps_it_with_the_reason_and_its_due_date_or_a_new_one() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00"); // Monday
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let (id, instructed) = instructed_item(&app, &office, &leader, "个体户营业执照变更办理慢", "scjgj", &[]).await;
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();
    let due = instructed["due_at"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/direct-line/{id}/refuse-return");
    let reason = "营业执照变更登记属市场监管职责，请按批示办理";

    // Not returned yet.
    let answer = app.post(&path, Some(&office), json!({ "reason": reason })).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);
    let back = json!({ "reason": "个体户变更由行政审批局办理" });
    let (status, returned) = app.post(&format!("/api/v1/direct-line/{id}/return"), Some(&handler), back.clone()).await;
    assert_eq!((status, returned["queue"].as_str()), (StatusCode::OK, Some("returned")), "{returned}");
    let version = returned["request"]["version"].as_i64().unwrap();

    // Only the office refuses, with a reason, on the request as it saw it, to a due date in the future.
    let answer = app.post(&path, Some(&handler), json!({ "reason": reason })).await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "the unit: {}", answer.1);
    let answer = app.post(&path, Some(&leader), json!({ "reason": reason })).await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "the leader: {}", answer.1);
    let answer = app.post(&path, Some(&office), json!({ "reason": " " })).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")), "{}", answer.1);
    let answer = app.post(&path, Some(&office), json!({ "reason": reason, "version": version - 1 })).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("version_changed")), "{}", answer.1);
    let past = json!({ "reason": reason, "due_at": "2026-03-01T17:30:00+08:00" });
    let answer = app.post(&path, Some(&office), past).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time_limit")), "{}", answer.1);
    let answer = app.post(&path, Some(&office), json!({ "reason": reason, "due_at": "下周五" })).await;
    assert_eq!(refused(&answer), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_datetime")), "{}", answer.1);
    let item = app.get(&format!("/api/v1/direct-line/{id}"), Some(&office)).await.1;
    assert_eq!(actions(&item), ["received", "submitted", "instructed", "returned"], "nothing written by a refusal");

    // Refused: back to the same unit, due as before; the reason in both histories.
    let (status, item) = app.post(&path, Some(&office), json!({ "reason": reason, "version": version })).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!((item["queue"].as_str(), item["lead_unit"]["code"].as_str()), (Some("instructed"), Some("scjgj")));
    assert_eq!(item["due_at"].as_str(), Some(due.as_str()));
    let last = item["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["label"].as_str()), (Some("return_refused"), Some("驳回退回")), "{last}");
    let text = last["comment"].as_str().unwrap();
    assert!(text.contains("市场监督管理局") && text.contains(reason) && !text.contains("时限"), "{last}");
    assert!(last["by"].as_str().unwrap().contains("市领导办公室"), "who: {last}");
    let detail = app.detail(&rno, &handler).await;
    assert_eq!(
        (detail["request"]["state"].as_str(), detail["request"]["due_at"].as_str()),
        (Some("dispatched"), Some(due.as_str()))
    );
    let event = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((event["kind"].as_str(), event["comment"].as_str()), (Some("return_refused"), Some(reason)), "{event}");
    // The unit reads the office's reason on the item and may sign for it again; refused twice: not returned.
    let seen = app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await.1;
    assert!(seen["history"].to_string().contains(reason) && seen["may_return"] == true, "{seen}");
    let answer = app.post(&path, Some(&office), json!({ "reason": reason })).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_wrong_state")), "{}", answer.1);

    // Returned again and refused with a new due date: the item's, the request's and its 督办 due move.
    app.post(&format!("/api/v1/direct-line/{id}/return"), Some(&handler), back).await;
    let later = "2026-03-20T17:30:00.000+08:00";
    let (status, item) = app.post(&path, Some(&office), json!({ "reason": reason, "due_at": later })).await;
    assert_eq!((status, item["due_at"].as_str()), (StatusCode::OK, Some(later)), "{item}");
    assert!(
        item["history"].as_array().unwrap().last().unwrap()["comment"].as_str().unwrap().contains("2026-03-20 17:30")
    );
    let detail = app.detail(&rno, &office).await;
    assert_eq!(detail["request"]["due_at"].as_str(), Some(later), "{detail}");
    assert_eq!(detail["request"]["supervision"]["due"].as_str(), Some(later), "{detail}");

    // Refused twice, the default limit: the unit can no longer return it, on the item's page or the
    // request's own; nothing is written and everyone's view of the item says so.
    assert_eq!((item["return_refusals"].as_u64(), item["returns_closed"].as_bool()), (Some(2), Some(true)));
    let again = json!({ "reason": "仍认为不属本局职责" });
    let answer = app.post(&format!("/api/v1/direct-line/{id}/return"), Some(&handler), again.clone()).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_return_limit")), "{}", answer.1);
    assert!(answer.1["message"].as_str().unwrap().contains("不能再退回：请按批示办理"), "{}", answer.1);
    let answer = app.post(&format!("/api/v1/requests/{rno}/return"), Some(&handler), again).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_return_limit")), "{}", answer.1);
    let seen = app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await.1;
    assert_eq!((seen["may_return"].as_bool(), seen["queue"].as_str()), (Some(false), Some("instructed")), "{seen}");
    assert_eq!(actions(&seen).last().map(String::as_str), Some("return_refused"), "nothing written: {seen}");
    assert_eq!(app.detail(&rno, &office).await["request"]["state"].as_str(), Some("dispatched"));
}

#[tokio::test]
async fn the_limit_on_refused_returns_is_configured_and_counts_refusals_on_the_requests_own_page_too() {
    use super::browser::page;
    let config = WebConfig { direct_line_return_refusals: 3, public_intakes_per_hour: 10_000, ..WebConfig::default() };
    let app = spawn_with(config).await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let (id, instructed) = instructed_item(&app, &office, &leader, "餐饮店食品经营许可办理慢", "scjgj", &[]).await;
    let rno = instructed["request"]["tracking_no"].as_str().unwrap().to_owned();
    let item_path = format!("/api/v1/direct-line/{id}");
    let back = json!({ "reason": "餐饮许可由行政审批局办理" });
    let refusal = json!({ "reason": "属市场监管职责，请按批示办理" });

    // The request's own 驳回退单 by the office is the same step, in the item's history and its count.
    app.act(&rno, "return", &handler, back.clone()).await;
    app.act(&rno, "refuse-return", &office, refusal.clone()).await;
    let item = app.get(&item_path, Some(&office)).await.1;
    assert_eq!(actions(&item).last().map(String::as_str), Some("return_refused"), "{item}");
    assert_eq!((item["return_refusals"].as_u64(), item["return_refusals_max"].as_u64()), (Some(1), Some(3)));
    let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert!(
        html.contains("id=\"return-refusals\"") && html.contains("已驳回主办单位的退回 1 次（至多 3 次）"),
        "{html}"
    );

    // Two more rounds, the last refusal flagged on the office's form before it is made.
    for round in 2..=3 {
        app.post(&format!("{item_path}/return"), Some(&handler), back.clone()).await;
        let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
        assert_eq!(html.contains("id=\"last-refusal\""), round == 3, "round {round}: {html}");
        let (status, item) = app.post(&format!("{item_path}/refuse-return"), Some(&office), refusal.clone()).await;
        assert_eq!((status, item["return_refusals"].as_u64()), (StatusCode::OK, Some(round)), "{item}");
    }

    // Closed to the unit: no return form on its page but the reason why; the office's page says so too.
    let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &handler).await;
    assert!(!html.contains("id=\"return-form\"") && html.contains("id=\"returns-closed\""), "{html}");
    assert!(html.contains("主办单位不能再退回，须按批示办理"), "{html}");
    let (_, html) = page(&app, &format!("/direct-line/items/{id}"), &office).await;
    assert!(html.contains("已驳回主办单位的退回 3 次（至多 3 次）") && html.contains("主办单位不能再退回，须办理"));
    let answer = app.post(&format!("/api/v1/requests/{rno}/return"), Some(&handler), back).await;
    assert_eq!(refused(&answer), (StatusCode::CONFLICT, Some("direct_line_return_limit")), "{}", answer.1);
    // The unit still handles it: it signs for it and replies.
    app.act(&rno, "sign", &handler, json!({})).await;
    app.act(&rno, "reply", &handler, json!({ "content": "已为该餐饮店办结食品经营许可。" })).await;
}

#[tokio::test]
async fn the_office_refuses_a_return_on_the_items_page_with_a_new_due_date() {
    use super::browser::{page, post_form};
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let office = app.login("leaders-office").await;
    let leader = app.login("leader").await;
    let handler = app.login("handler").await; // 市场监管局
    let (id, _) = instructed_item(&app, &office, &leader, "食品经营许可证延续", "scjgj", &[]).await;
    let url = format!("/direct-line/items/{id}");
    let (_, html) = page(&app, &url, &office).await;
    assert!(!html.contains("id=\"refuse-return-form\""), "not returned: no form");
    let back = json!({ "reason": "许可延续由行政审批局办理" });
    app.post(&format!("/api/v1/direct-line/{id}/return"), Some(&handler), back).await;

    let (status, html) = page(&app, &url, &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"refuse-return-form\"") && html.contains("驳回退回"), "{html}");
    let (_, html) = page(&app, &url, &handler).await;
    assert!(!html.contains("id=\"refuse-return-form\""), "the unit has no such form");
    let form = format!("{url}/refuse-return");
    let (status, _, html) = post_form(&app, &form, &office, &[("reason", " "), ("due_at", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"form-error\"") && html.contains("驳回理由"), "{html}");
    let (status, _, html) = post_form(&app, &form, &office, &[("reason", "请办理"), ("due_at", "3月20日")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写完整的日期和时间"), "{html}");
    let (status, _, html) = post_form(&app, &form, &handler, &[("reason", "请办理")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");

    let fields = [("reason", "食品经营许可延续属市场监管职责"), ("due_at", "2026-03-20T17:30"), ("version", "")];
    let (status, location, _) = post_form(&app, &form, &office, &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, url.as_str()));
    let item = app.get(&format!("/api/v1/direct-line/{id}"), Some(&handler)).await.1;
    assert_eq!(
        (item["queue"].as_str(), item["due_at"].as_str()),
        (Some("instructed"), Some("2026-03-20T17:30:00.000+08:00"))
    );
    let (_, html) = page(&app, &url, &handler).await;
    assert!(html.contains("驳回退回") && html.contains("食品经营许可延续属市场监管职责"), "the unit reads why: {html}");
}
