//! Deadlines from the time-limit rules, the paused clock, supervision, the
//! scheduler on a controllable clock, and rule versions.

use super::*;

use mashangban_app::scheduler::{self, SchedulerConfig};

fn deadline<'a>(request: &'a Value, kind: &str) -> &'a Value {
    request["deadlines"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap_or(&Value::Null)
}

fn events_of(detail: &Value, kind: &str) -> usize {
    detail["history"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).count()
}

#[tokio::test]
async fn intake_gets_the_limits_in_force_and_every_deadline() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    // Received Fri 2026-02-13 10:00, before the Spring Festival.
    app.set_time("2026-02-13T10:00:00+08:00");
    let mut act_now = enterprise_complaint();
    act_now["kind"] = json!("help");
    act_now["urgency"] = json!("act_now");
    let (no, _) = app.submit(act_now).await;
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    assert_eq!(r["time_limits"]["version"], 1);
    // The worked example: 5 working days → Fri 2026-02-27 17:30.
    assert_eq!(r["due_at"], "2026-02-27T17:30:00.000+08:00");
    assert_eq!(deadline(&r, "contact")["due_at"], "2026-02-13T11:00:00.000+08:00");
    // 3 working days: Sat 02-14 (make-up), Tue 02-24, Wed 02-25.
    assert_eq!(deadline(&r, "stage_reply")["due_at"], "2026-02-25T17:30:00.000+08:00");
    assert_eq!(deadline(&r, "contact")["remaining_minutes"], 60);
    assert_eq!(deadline(&r, "reply")["running"], true);

    // Urgent: natural time, the holiday counts.
    let mut urgent = resident_consultation();
    urgent["urgency"] = json!("urgent");
    app.set_time("2026-02-17T23:00:00+08:00");
    let (urgent_no, _) = app.submit(urgent).await;
    let r = app.detail(&urgent_no, &dispatcher).await["request"].clone();
    assert_eq!(r["due_at"], "2026-02-18T01:00:00.000+08:00");
    assert_eq!(deadline(&r, "reply")["remaining_minutes"], 120);

    // Dispatch starts the sign-for clock (act-now: 1 working hour), signing stops it.
    app.set_time("2026-02-24T09:00:00+08:00");
    let r = app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(r["deadlines"][0]["kind"], "sign_for");
    assert_eq!(deadline(&r, "sign_for")["due_at"], "2026-02-24T10:00:00.000+08:00");
    let history = app.detail(&no, &dispatcher).await["history"].clone();
    assert_eq!(history[1]["details"]["sign_due_at"], "2026-02-24T10:00:00.000+08:00");
    let r = app.act(&no, "sign", &handler, json!({})).await;
    assert!(deadline(&r, "sign_for").is_null());
}

#[tokio::test]
async fn suspension_pauses_the_clock_and_moves_the_deadline() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    app.set_time("2026-03-02T09:00:00+08:00"); // Monday
    let (no, code) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let r = app.act(&no, "sign", &handler, json!({})).await;
    // 15 working days from Tue 03-03: Mon 03-23.
    assert_eq!(r["due_at"], "2026-03-23T17:30:00.000+08:00");
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/suspend"), Some(&handler), json!({ "reason": " " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    app.set_time("2026-03-03T09:00:00+08:00");
    let r = app.act(&no, "suspend", &handler, json!({ "reason": "请企业补充变更登记申请书原件" })).await;
    assert_eq!(r["state"], "suspended");
    assert_eq!(deadline(&r, "reply")["paused"], true);
    // A week later the clock still shows what was left at suspension.
    app.set_time("2026-03-10T09:00:00+08:00");
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    let left = deadline(&r, "reply")["remaining_minutes"].as_i64().unwrap();
    assert_eq!(left, 14 * 7 * 60 + 7 * 60 - 30, "14 days and the rest of Tue 03-03 after 09:00");
    // Not everything may happen while suspended.
    let (status, _) =
        app.post(&format!("/api/v1/requests/{no}/reply"), Some(&handler), json!({ "content": "答复" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Resumed five working days later: the deadline moves by five working days.
    let r = app.act(&no, "resume", &handler, json!({ "comment": "材料已补齐" })).await;
    assert_eq!(r["state"], "in_progress");
    assert_eq!(r["due_at"], "2026-03-30T17:30:00.000+08:00");
    let view = app.progress(&no, &code).await;
    assert_eq!(view["due_at"], "2026-03-30T17:30:00.000+08:00");
    let kinds: Vec<&str> = view["timeline"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"suspended") && kinds.contains(&"resumed"), "{kinds:?}");
    let history = app.detail(&no, &dispatcher).await["history"].clone();
    let resumed = history.as_array().unwrap().iter().find(|e| e["kind"] == "resumed").unwrap();
    assert_eq!(resumed["details"]["paused_working_minutes"], 5 * 7 * 60);
}

#[tokio::test]
async fn supervision_puts_a_request_at_the_top_of_the_queue() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let supervisor = app.login("supervisor").await;
    app.set_time("2026-04-07T09:00:00+08:00");
    let mut numbers = Vec::new();
    for kind in ["consultation", "complaint", "help"] {
        let mut body = enterprise_complaint();
        body["kind"] = json!(kind);
        let (no, _) = app.submit(body).await;
        app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
        app.act(&no, "sign", &handler, json!({})).await;
        numbers.push(no);
    }
    // Nearest deadline first: the consultation (2 days), the help (10), the complaint (15).
    assert_eq!(queue(&app, &handler).await, [numbers[0].clone(), numbers[2].clone(), numbers[1].clone()]);
    let (status, err) = app
        .post(
            &format!("/api/v1/requests/{}/supervise", numbers[1]),
            Some(&handler),
            json!({ "instructions": "x", "due": "2026-04-10T17:30:00+08:00" }),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let r = app
        .act(&numbers[1], "supervise", &supervisor, json!({ "instructions": "企业反映强烈，请主要领导亲自督办，3日内答复。", "due": "2026-04-10T17:30:00+08:00" }))
        .await;
    assert_eq!(r["supervision"]["due"], "2026-04-10T17:30:00.000+08:00");
    assert_eq!(queue(&app, &handler).await[0], numbers[1]);
    let (_, page) = app.get("/api/v1/requests?supervised=true", Some(&supervisor)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.act(&numbers[1], "urge", &supervisor, json!({ "message": "请加快办理" })).await;
    let detail = app.detail(&numbers[1], &handler).await;
    assert_eq!(events_of(&detail, "supervised") + events_of(&detail, "urged"), 2);
}

#[tokio::test]
async fn act_now_and_urgent_work_comes_first_then_the_overdue() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00"); // Monday
    // A consultation due Wed 03-04 17:30, overdue by Thursday.
    let (overdue, _) = app.submit(resident_consultation()).await;
    // A complaint due in 15 working days.
    let (later, _) = app.submit(enterprise_complaint()).await;
    app.set_time("2026-03-05T10:00:00+08:00");
    let dispatcher = app.login("dispatcher").await;
    // An act-now request due in 5 working days: later than the overdue one, yet first.
    let mut act_now = enterprise_complaint();
    act_now["urgency"] = json!("act_now");
    let (first, _) = app.submit(act_now).await;
    assert_eq!(queue(&app, &dispatcher).await, [first, overdue, later]);
}

/// The handler's work queue, tracking numbers in order.
async fn queue(app: &App, who: &Session) -> Vec<String> {
    let (_, page) = app.get("/api/v1/requests?sort=deadline", Some(who)).await;
    page["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_scheduler_warns_urges_and_escalates_once_even_after_a_restart() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let config = SchedulerConfig::default();
    app.set_time("2026-05-11T09:00:00+08:00"); // Monday
    let (no, _) = app.submit(resident_consultation()).await; // 2 working days: Wed 05-13 17:30
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await; // sign by Tue 05-12 17:30

    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0, "nothing near yet");
    app.set_time("2026-05-12T15:00:00+08:00");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 1, "sign-for due soon");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0, "not twice");
    // A restart: a new state over the same database sends nothing again.
    let restarted =
        AppState::new(app.store.clone(), WebConfig::default()).await.unwrap().with_clock(controlled_clock(&app.clock));
    assert_eq!(scheduler::scan(&restarted, &config).await.unwrap(), 0);

    // Thu 05-14 10:00: sign-for 8.5 working hours late, the reply 1.5.
    app.set_time("2026-05-14T10:00:00+08:00");
    let sent = scheduler::scan(&restarted, &config).await.unwrap();
    assert_eq!(sent, 3, "sign-for overdue + unit leader (7 working hours late); reply overdue");
    // Three working days later both have reached the supervisor.
    app.set_time("2026-05-19T10:00:00+08:00");
    let sent = scheduler::scan(&app.state, &config).await.unwrap();
    assert_eq!(sent, 3, "sign-for → supervisor; reply → unit leader and supervisor");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0);

    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(events_of(&detail, "due_soon"), 1);
    assert_eq!(events_of(&detail, "overdue"), 2);
    assert_eq!(events_of(&detail, "escalated"), 4);
    let escalation = detail["history"].as_array().unwrap().iter().find(|e| e["kind"] == "escalated").unwrap();
    assert_eq!(escalation["actor_role"], "system");
    assert!(escalation["comment"].as_str().unwrap().contains("提级"));
    let (_, list) = app.get("/api/v1/requests?overdue=true", Some(&dispatcher)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Every notice of both deadlines is sent: the request is no longer a candidate, so a city's
    // long-overdue requests do not crowd out new notices.
    let far = mashangban_domain::time::parse_instant("2026-12-31T00:00:00+08:00").unwrap();
    let candidates = mashangban_store::RequestStore::deadline_candidates(&app.store, far, 0, 10).await.unwrap();
    assert!(candidates.is_empty(), "{candidates:?}");
}

#[tokio::test]
async fn a_scan_reads_every_candidate_page_by_page() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let config = SchedulerConfig { batch: 1, ..SchedulerConfig::default() };
    app.set_time("2026-05-11T09:00:00+08:00"); // Monday
    for _ in 0..3 {
        let (no, _) = app.submit(resident_consultation()).await;
        app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    }
    app.set_time("2026-05-12T15:00:00+08:00");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 3, "each sign-for due soon, in one scan");
    assert_eq!(scheduler::scan(&app.state, &config).await.unwrap(), 0);
}

#[tokio::test]
async fn rule_versions_apply_to_new_requests_only() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let operator = app.login("operator").await;
    app.set_time("2026-06-01T09:00:00+08:00");
    let mut direct = enterprise_complaint();
    direct["channel"] = json!("direct_line");
    let (_, before) = app.post("/api/v1/requests", Some(&operator), direct.clone()).await;
    let before_no = before["tracking_no"].as_str().unwrap().to_owned();

    let (_, current) = app.get("/api/v1/time-limits", Some(&admin)).await;
    assert_eq!(current["version"], 1);
    let mut rules = current["rules"].as_array().unwrap().clone();
    rules.push(
        json!({ "kind": "complaint", "channel": "direct_line", "reply": { "clock": "working_days", "amount": 3 } }),
    );
    let (status, err) =
        app.call(reqwest::Method::PUT, "/api/v1/time-limits", Some(&dispatcher), Some(json!({ "rules": rules }))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let (status, err) =
        app.call(reqwest::Method::PUT, "/api/v1/time-limits", Some(&admin), Some(json!({ "rules": [rules[1]] }))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time_limits")));
    let (status, published) =
        app.call(reqwest::Method::PUT, "/api/v1/time-limits", Some(&admin), Some(json!({ "rules": rules }))).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], 2);

    let (_, after) = app.post("/api/v1/requests", Some(&operator), direct).await;
    assert_eq!(after["request"]["time_limits"]["version"], 2);
    assert_eq!(after["request"]["due_at"], "2026-06-04T17:30:00.000+08:00");
    let kept = app.detail(&before_no, &dispatcher).await["request"].clone();
    assert_eq!(kept["time_limits"]["version"], 1);
    // 15 working days around the Dragon Boat Festival (06-19).
    assert_eq!(kept["due_at"], "2026-06-23T17:30:00.000+08:00");
    let (_, versions) = app.get("/api/v1/time-limits/versions", Some(&admin)).await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert!(versions[0]["created_by"].as_str().unwrap().contains("admin"));
}

#[tokio::test]
async fn the_queue_puts_finished_work_last() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    app.set_time("2026-04-07T09:00:00+08:00");
    let (done, _) = app.submit(resident_consultation()).await;
    app.act(&done, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&done, "sign", &handler, json!({})).await;
    app.act(&done, "reply", &handler, json!({ "content": "已答复" })).await;
    app.act(&done, "close", &dispatcher, json!({})).await;
    app.set_time("2026-04-08T09:00:00+08:00");
    let (open, _) = app.submit(enterprise_complaint()).await;
    app.act(&open, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    // The closed consultation's deadline is earlier, but it is not work any more.
    assert_eq!(queue(&app, &handler).await, std::slice::from_ref(&open));
    let (_, page) = app.get("/api/v1/requests?sort=deadline&state=closed,dispatched", Some(&handler)).await;
    let asked: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap()).collect();
    assert_eq!(asked, [open.as_str(), done.as_str()]);
}
