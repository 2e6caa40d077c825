//! Inside a unit (docs/inside-a-unit.md): co-handling units' parts gate the lead's reply (会签), a
//! reply waits for the unit leader's review where the rule table says so (审核), and a unit assigns a
//! request to a section or village below it (二次派单) — every action and refusal, and what the
//! asker and the public never see.

use super::*;
use mashangban_app::scheduler::{self, SchedulerConfig};
use mashangban_domain::org::Role;

/// The demo enterprise's account submits a complaint, which is dispatched to 市市场监管局 with `co`
/// and signed for by its handler; the tracking number and check code.
async fn dispatched(app: &App, co: &[&str]) -> (String, String) {
    let mut own = enterprise_complaint();
    own["asker"]["credit_code"] = json!(mashangban_demo::demo_enterprise().unwrap().0.as_str());
    let (status, answer) = app.post("/api/v1/requests", Some(&app.login("enterprise").await), own).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let no = answer["tracking_no"].as_str().unwrap().to_owned();
    let code = answer["check_code"].as_str().unwrap().to_owned();
    let dispatcher = app.login("dispatcher").await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj", "co_units": co })).await;
    app.act(&no, "sign", &app.login("handler").await, json!({})).await;
    (no, code)
}

async fn refused(app: &App, no: &str, action: &str, who: &Session, body: Value) -> (StatusCode, String) {
    let (status, answer) = app.post(&format!("/api/v1/requests/{no}/{action}"), Some(who), body).await;
    (status, answer["code"].as_str().unwrap_or_default().to_owned())
}

fn history_kinds(detail: &Value) -> Vec<String> {
    detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

const INSIDE: [&str; 7] = [
    "co_answered",
    "reply_submitted",
    "reply_sent_back",
    "sub_dispatched",
    "sub_signed_for",
    "sub_replied",
    "unit_work",
];

/// Nothing from inside the units reaches the asker: not the public progress (API and page), not
/// Open311, not their own account (API and page).
async fn assert_nothing_inside(app: &App, no: &str, code: &str, secrets: &[&str]) {
    let hidden = |what: &str, text: &str| {
        for secret in INSIDE.iter().chain(secrets) {
            assert!(!text.contains(secret), "{secret} in {what}");
        }
    };
    hidden("the public progress", &app.progress(no, code).await.to_string());
    let get = |path: String| async move { app.http.get(app.url(&path)).send().await.unwrap().text().await.unwrap() };
    hidden("the track page", &get(format!("/track/{no}?code={code}")).await);
    hidden("Open311", &get(format!("/open311/v2/requests/{no}.json?extensions=true")).await);
    let enterprise = app.login("enterprise").await;
    let own = app.detail(no, &enterprise).await;
    assert!(history_kinds(&own).contains(&"dispatched".to_owned()), "the account sees its request");
    hidden("the account's view", &own.to_string());
    let page = app.http.get(app.url(&format!("/work/{no}"))).header("cookie", &enterprise.0).send().await.unwrap();
    hidden("the account's page", &page.text().await.unwrap());
}

#[tokio::test]
async fn the_lead_reply_waits_for_every_co_unit_until_their_deadline() {
    let app = spawn().await;
    app.set_time("2026-12-01T09:00:00+08:00");
    let (no, code) = dispatched(&app, &["swj", "fgj"]).await;
    let handler = app.login("handler").await;
    let commerce = unit_handler(&app, "swj", "swj-handler").await;
    unit_handler(&app, "fgj", "fgj-handler").await;

    // The lead's reply waits for both parts.
    let reply = json!({ "content": "经核查，已督促窗口三个工作日内办结变更登记。" });
    assert_eq!(
        refused(&app, &no, "reply", &handler, reply.clone()).await,
        (StatusCode::CONFLICT, "co_answers_pending".into())
    );
    // Only a co-handling unit gives a part; a part must say something.
    let part = json!({ "content": "商务局意见：该企业外资备案已完成，无需另行办理。" });
    assert_eq!(refused(&app, &no, "co-answer", &handler, part.clone()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        refused(&app, &no, "co-answer", &commerce, json!({ "content": " " })).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "text_required".into())
    );
    app.act(&no, "co-answer", &commerce, json!({ "content": "初稿" })).await;
    let view = app.act(&no, "co-answer", &commerce, part).await;
    let parts = view["unit_work"]["co_units"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    let swj = parts.iter().find(|p| p["unit"]["code"] == "swj").unwrap();
    assert_eq!(swj["answer"], "商务局意见：该企业外资备案已完成，无需另行办理。", "a second part replaces the first");
    assert!(parts.iter().find(|p| p["unit"]["code"] == "fgj").unwrap()["answer"].is_null());
    assert_eq!(refused(&app, &no, "reply", &handler, reply.clone()).await.1, "co_answers_pending");

    // Once the co-units' deadline (here the reply deadline) has passed, the reply goes ahead and
    // records who never answered.
    let due = view["due_at"].as_str().unwrap().to_owned();
    let after = chrono::DateTime::parse_from_rfc3339(&due).unwrap() + chrono::Duration::minutes(1);
    app.set_time(&after.to_rfc3339());
    let (handler, reform) = (app.login("handler").await, app.login("fgj-handler").await);
    let view = app.act(&no, "reply", &handler, reply).await;
    assert_eq!(view["state"], "replied");
    let detail = app.detail(&no, &handler).await;
    let replied = detail["history"].as_array().unwrap().iter().find(|e| e["kind"] == "replied").unwrap().clone();
    let fgj = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "fgj").unwrap();
    assert_eq!(replied["details"]["co_units_unanswered"], json!([fgj.id]));
    assert!(replied["summary"].as_str().unwrap().contains("未提交会签意见"));
    assert_eq!(
        refused(&app, &no, "co-answer", &reform, json!({ "content": "迟到的意见" })).await.1,
        "illegal_transition"
    );

    // The co-units' parts and who left them out stay inside.
    assert_nothing_inside(&app, &no, &code, &["商务局意见", "初稿", "co_units_unanswered", "未提交会签意见"]).await;
}

#[tokio::test]
async fn a_reply_under_review_reaches_the_asker_only_when_the_unit_leader_approves() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (_, current) = app.get("/api/v1/time-limits", Some(&admin)).await;
    let mut rules = current["rules"].as_array().unwrap().clone();
    rules.push(json!({ "kind": "complaint", "review": true }));
    let (status, published) =
        app.call(reqwest::Method::PUT, "/api/v1/time-limits", Some(&admin), Some(json!({ "rules": rules }))).await;
    assert_eq!(status, StatusCode::OK, "{published}");

    let (no, code) = dispatched(&app, &[]).await;
    let handler = app.login("handler").await;
    let leader = app.login("unit-leader").await;
    let draft = json!({ "content": "经核查，已责令窗口三个工作日内办结。" });
    let view = app.act(&no, "reply", &handler, draft.clone()).await;
    assert_eq!(view["state"], "signed_for", "not replied yet");
    assert_eq!(view["time_limits"]["review"], true);
    assert_eq!(view["unit_work"]["review"]["content"], "经核查，已责令窗口三个工作日内办结。");
    assert_eq!(
        refused(&app, &no, "reply", &handler, draft.clone()).await,
        (StatusCode::CONFLICT, "review_pending".into())
    );
    assert_eq!(refused(&app, &no, "approve-reply", &handler, json!({})).await.0, StatusCode::FORBIDDEN);

    // The leader's inbox has it; the leader's desk lists it under 待审核.
    let (_, inbox) = app.get("/api/v1/inbox?kind=review", Some(&leader)).await;
    assert_eq!(inbox["entries"][0]["event_kind"], "reply_submitted", "{inbox}");
    let html = app.http.get(app.url("/work")).header("cookie", &leader.0).send().await.unwrap().text().await.unwrap();
    let review = &html[html.find("id=\"queue-review\"").expect("待审核 on the leader's desk")..];
    assert!(review.contains(&no));
    // The same desk as JSON, for the leader only.
    let (status, desk) = app.get("/api/v1/unit-desk", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{desk}");
    assert_eq!(desk["review"][0]["tracking_no"], no.as_str(), "{desk}");
    assert_eq!(app.get("/api/v1/unit-desk", Some(&handler)).await.0, StatusCode::FORBIDDEN);

    // Sent back with a reason, then written again and approved.
    let (status, code_) = refused(&app, &no, "send-back-reply", &leader, json!({ "reason": " " })).await;
    assert_eq!((status, code_.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "text_required"));
    let view = app.act(&no, "send-back-reply", &leader, json!({ "reason": "请写明具体办结时间和承办科室" })).await;
    let (_, inbox) = app.get("/api/v1/inbox?kind=review", Some(&handler)).await;
    assert_eq!(inbox["entries"][0]["event_kind"], "reply_sent_back", "{inbox}");
    assert!(view["unit_work"].is_null() || view["unit_work"]["review"].is_null());
    assert_eq!(
        refused(&app, &no, "send-back-reply", &leader, json!({ "reason": "再退" })).await.1,
        "no_review_pending"
    );
    assert_eq!(refused(&app, &no, "approve-reply", &leader, json!({})).await.1, "no_review_pending");
    let final_text = "经核查，登记科已于12月5日前办结变更登记，请留意短信通知。";
    app.act(&no, "reply", &handler, json!({ "content": final_text })).await;
    let view = app.act(&no, "approve-reply", &leader, json!({ "comment": "同意" })).await;
    assert_eq!(view["state"], "replied");
    let detail = app.detail(&no, &handler).await;
    let kinds = history_kinds(&detail);
    assert!(kinds.ends_with(&[
        "reply_submitted".into(),
        "reply_sent_back".into(),
        "reply_submitted".into(),
        "replied".into()
    ]));
    let replied = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(replied["comment"], final_text);
    assert!(replied["details"]["reviewed"]["written_by"].as_str().unwrap().contains("黄丽萍"));

    // The asker sees one reply, the approved one; none of the back-and-forth.
    assert_nothing_inside(&app, &no, &code, &["请写明具体办结时间", "三个工作日内办结", "reviewed", "written_by"])
        .await;
    let progress = app.progress(&no, &code).await;
    let replies: Vec<&Value> =
        progress["timeline"].as_array().unwrap().iter().filter(|s| s["kind"] == "replied").collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["comment"], final_text);

    // A leader's own reply needs no review.
    let (other, _) = dispatched(&app, &[]).await;
    let view = app.act(&other, "reply", &leader, json!({ "content": "已办结。" })).await;
    assert_eq!(view["state"], "replied");
}

#[tokio::test]
async fn a_unit_assigns_a_request_to_its_section_which_signs_and_replies_to_the_unit() {
    let app = spawn().await;
    let (no, code) = dispatched(&app, &[]).await;
    let handler = app.login("handler").await;
    let leader = app.login("unit-leader").await;
    let section = unit_handler(&app, "scjgj-djk", "djk-handler").await;
    let other_section = unit_user(&app, "scjgj-xbk", "xbk-leader", Role::UnitLeader).await;
    let elsewhere = unit_handler(&app, "fgj-tzk", "tzk-handler").await;
    let (status, _) = app.get(&format!("/api/v1/requests/{no}"), Some(&section)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not the section's before it is assigned");

    let detail = app.detail(&no, &handler).await;
    let unit_due = chrono::DateTime::parse_from_rfc3339(detail["request"]["due_at"].as_str().unwrap()).unwrap();
    let due = (unit_due - chrono::Duration::days(2)).to_rfc3339();
    let late = (unit_due + chrono::Duration::hours(1)).to_rfc3339();
    let assign = |sub: &str, due: &str| json!({ "sub_unit": sub, "due": due, "comment": "请登记科核实办理进度" });
    for (body, status, code_) in [
        (assign("fgj-tzk", &due), StatusCode::UNPROCESSABLE_ENTITY, "not_a_sub_unit"),
        (assign("scjgj", &due), StatusCode::UNPROCESSABLE_ENTITY, "not_a_sub_unit"),
        (assign("no-such-unit", &due), StatusCode::UNPROCESSABLE_ENTITY, "not_a_sub_unit"),
        (assign("scjgj-djk", &late), StatusCode::UNPROCESSABLE_ENTITY, "sub_due_after_unit_due"),
        (assign("scjgj-djk", "2020-01-01T09:00:00+08:00"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_sub_due"),
        (assign("scjgj-djk", "明天"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_datetime"),
    ] {
        assert_eq!(refused(&app, &no, "sub-dispatch", &handler, body).await, (status, code_.into()));
    }
    assert_eq!(refused(&app, &no, "sub-dispatch", &elsewhere, assign("fgj-tzk", &due)).await.0, StatusCode::NOT_FOUND);
    let view = app.act(&no, "sub-dispatch", &handler, assign("scjgj-djk", &due)).await;
    assert_eq!(view["unit_work"]["subs"][0]["sub_unit"]["code"], "scjgj-djk");
    assert_eq!(view["unit_work"]["subs"][0]["state"], "assigned");
    assert_eq!(
        refused(&app, &no, "sub-dispatch", &handler, assign("scjgj-djk", &due)).await,
        (StatusCode::CONFLICT, "sub_assignment_open".into())
    );

    // The section sees it now, with an entry in its inbox (the other section does not); it cannot
    // answer the asker.
    let (_, inbox) = app.get("/api/v1/inbox", Some(&section)).await;
    assert_eq!(
        (inbox["entries"][0]["kind"].as_str(), inbox["entries"][0]["event_kind"].as_str()),
        (Some("assigned"), Some("sub_dispatched"))
    );
    let detail = app.detail(&no, &section).await;
    assert_eq!(detail["request"]["tracking_no"], no.as_str());
    let (status, _) = app.get(&format!("/api/v1/requests/{no}"), Some(&other_section)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = app.get("/api/v1/requests", Some(&section)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.to_string().contains(&no), "in the section's list");
    assert_eq!(refused(&app, &no, "reply", &section, json!({ "content": "已办" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(refused(&app, &no, "sub-sign", &handler, json!({})).await.0, StatusCode::FORBIDDEN);

    // The leader's desk shows the section's load.
    let html = app.http.get(app.url("/work")).header("cookie", &leader.0).send().await.unwrap().text().await.unwrap();
    let row = &html[html.find("data-unit=\"scjgj-djk\"").expect("the section's row")..];
    assert!(row[..row.find("</tr>").unwrap()].contains("<td class=\"num\">1</td>"));
    let (_, desk) = app.get("/api/v1/unit-desk", Some(&leader)).await;
    let load = desk["sub_units"].as_array().unwrap().iter().find(|s| s["code"] == "scjgj-djk").expect("the section");
    assert_eq!((load["open"].as_u64(), load["overdue"].as_u64()), (Some(1), Some(0)), "{desk}");

    // Its own sign-for, then the reply to its unit.
    let reply = json!({ "content": "登记科：变更材料已补齐，12月5日前办结。" });
    assert_eq!(
        refused(&app, &no, "sub-reply", &section, reply.clone()).await,
        (StatusCode::CONFLICT, "sub_not_signed".into())
    );
    app.act(&no, "sub-sign", &section, json!({})).await;
    assert_eq!(
        refused(&app, &no, "sub-sign", &section, json!({})).await,
        (StatusCode::CONFLICT, "sub_already_signed".into())
    );
    let view = app.act(&no, "sub-reply", &section, reply.clone()).await;
    assert_eq!(view["unit_work"]["subs"][0]["state"], "replied");
    assert_eq!(view["unit_work"]["subs"][0]["reply"], "登记科：变更材料已补齐，12月5日前办结。");
    assert_eq!(view["state"], "signed_for", "the request still waits for the unit's reply");
    assert_eq!(
        refused(&app, &no, "sub-reply", &section, reply).await,
        (StatusCode::CONFLICT, "no_sub_assignment".into())
    );
    let (status, _) = app.get(&format!("/api/v1/requests/{no}"), Some(&section)).await;
    assert_eq!(status, StatusCode::OK, "the section still sees what it worked on");

    let kinds = history_kinds(&app.detail(&no, &handler).await);
    assert!(kinds.ends_with(&["sub_dispatched".into(), "sub_signed_for".into(), "sub_replied".into()]));
    app.act(&no, "reply", &handler, json!({ "content": "已督促办结。" })).await;
    assert_nothing_inside(&app, &no, &code, &["登记科", "请登记科核实"]).await;
}

#[tokio::test]
async fn a_sub_units_deadline_is_noticed_to_the_sub_unit_alone_once_and_never_escalates() {
    let app = spawn().await;
    app.set_time("2026-12-01T09:00:00+08:00"); // Tuesday
    let (no, code) = dispatched(&app, &[]).await;
    let handler = app.login("handler").await;
    unit_handler(&app, "scjgj-djk", "djk-handler").await;
    let config = SchedulerConfig::default();
    // The section has until Wednesday 17:00, well inside the unit's own deadline.
    let due = "2026-12-02T17:00:00+08:00";
    app.act(&no, "sub-dispatch", &handler, json!({ "sub_unit": "scjgj-djk", "due": due })).await;
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0, "nothing near yet");

    // Wednesday 14:00: three working hours left — 临期, to the section.
    app.set_time("2026-12-02T14:00:00+08:00");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 1);
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0, "not twice");
    let section = app.login("djk-handler").await;
    let (_, inbox) = app.get("/api/v1/inbox?kind=due_soon", Some(&section)).await;
    assert_eq!(inbox["entries"][0]["tracking_no"], no.as_str(), "{inbox}");
    let handler = app.login("handler").await;
    let (_, theirs) = app.get("/api/v1/inbox?kind=due_soon", Some(&handler)).await;
    assert_eq!(theirs["total"], 0, "the unit's own deadline is not near: {theirs}");

    // Friday, two working days late: 超期 to the section once; a sub-unit's lateness does not escalate.
    app.set_time("2026-12-04T17:00:00+08:00");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 1);
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0);
    let section = app.login("djk-handler").await;
    let (_, inbox) = app.get("/api/v1/inbox?kind=overdue", Some(&section)).await;
    assert_eq!(inbox["total"], 1, "{inbox}");
    let handler = app.login("handler").await;
    let detail = app.detail(&no, &handler).await;
    let noticed: Vec<&Value> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("due_soon" | "overdue" | "escalated")))
        .collect();
    assert_eq!(noticed.len(), 2, "{noticed:?}");
    assert!(noticed[1]["comment"].as_str().unwrap().contains("下级办理已超过期限"), "{}", noticed[1]);
    let (_, desk) = app.get("/api/v1/unit-desk", Some(&app.login("unit-leader").await)).await;
    let load = desk["sub_units"].as_array().unwrap().iter().find(|s| s["code"] == "scjgj-djk").expect("the section");
    assert_eq!(load["overdue"], 1, "{desk}");

    // Once the section replies, its deadline runs no more.
    app.act(&no, "sub-sign", &section, json!({})).await;
    app.act(&no, "sub-reply", &section, json!({ "content": "登记科：已办结。" })).await;
    app.set_time("2026-12-07T17:00:00+08:00");
    let sent = scheduler::scan(&app.state, &config).await.unwrap();
    let detail = app.detail(&no, &app.login("handler").await).await;
    let sub_notices = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["comment"].as_str().is_some_and(|c| c.contains("下级办理")))
        .count();
    assert_eq!(sub_notices, 2, "nothing more about the section ({sent} notices of the unit's own deadline)");
    assert_nothing_inside(&app, &no, &code, &["下级办理"]).await;
}

#[tokio::test]
async fn a_co_units_deadline_is_noticed_to_it_until_it_gives_its_part_and_never_escalates() {
    let app = spawn().await;
    app.set_time("2026-12-01T09:00:00+08:00"); // Tuesday
    let (no, code) = dispatched(&app, &["swj", "fgj"]).await;
    let commerce = unit_handler(&app, "swj", "swj-handler").await;
    unit_handler(&app, "fgj", "fgj-handler").await;
    let config = SchedulerConfig::default();
    let view = app.detail(&no, &app.login("handler").await).await;
    // Without a co-handling limit of their own, the co-units' deadline is the reply deadline.
    let due = chrono::DateTime::parse_from_rfc3339(view["request"]["due_at"].as_str().unwrap()).unwrap();
    app.act(&no, "co-answer", &commerce, json!({ "content": "商务局意见：无需另行办理。" })).await;

    // An hour before it: 临期 to the lead unit (its reply) and to 发改局, whose part is missing; not to 商务局.
    app.set_time(&(due - chrono::Duration::hours(1)).to_rfc3339());
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 2);
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0, "not twice");
    let total = |who: &'static str, kind: &'static str| {
        let app = &app;
        async move {
            let (_, inbox) = app.get(&format!("/api/v1/inbox?kind={kind}"), Some(&app.login(who).await)).await;
            inbox["total"].as_u64().unwrap()
        }
    };
    assert_eq!(
        (
            total("fgj-handler", "due_soon").await,
            total("swj-handler", "due_soon").await,
            total("handler", "due_soon").await
        ),
        (1, 0, 1)
    );

    // Two working days late: 超期 to 发改局 once; a co-unit's lateness does not escalate.
    app.set_time(&(due + chrono::Duration::days(2)).to_rfc3339());
    scheduler::scan(&app.state, &config).await.unwrap();
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0);
    assert_eq!((total("fgj-handler", "overdue").await, total("swj-handler", "overdue").await), (1, 0));
    let detail = app.detail(&no, &app.login("handler").await).await;
    let co_notices: Vec<&Value> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["comment"].as_str().is_some_and(|c| c.starts_with("协办")))
        .collect();
    assert_eq!(co_notices.len(), 2, "{co_notices:?}");
    assert!(co_notices.iter().all(|e| e["kind"] != "escalated"), "{co_notices:?}");
    assert_nothing_inside(&app, &no, &code, &["协办期限", "协办已超过期限"]).await;
}
