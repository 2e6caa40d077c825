//! 环境执法 through the API: a reading over its limit raises an alert, the
//! responsible unit opens a case from it (the alert can then no longer be
//! dismissed), the case moves 立案 → 调查取证 → 告知 → 决定 → 执行 → 结案
//! with each stage's deadline counted in working days on the work calendar,
//! the leader decides and closes, bad moves are refused with their codes;
//! an inspection with an exceeding sample opens a case too; other units see
//! nothing of it; the enterprise's page lists its alerts and cases.

use mashangban_domain::validation::CreditCode;

use super::*;

pub(super) async fn unit_leader(app: &App, unit_code: &str, username: &str) -> Session {
    unit_user(app, unit_code, username, mashangban_domain::org::Role::UnitLeader).await
}

fn percent(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// The deadline the calendar API counts: `workdays` working days after `from`.
async fn due(app: &App, from: &str, workdays: u32) -> String {
    let (status, body) =
        app.get(&format!("/api/v1/calendar/add?from={}&workdays={workdays}", percent(from)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["due"].as_str().unwrap().to_owned()
}

async fn advance(app: &App, id: i64, who: &Session, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/enforcement/cases/{id}/advance"), Some(who), body).await
}

async fn open(app: &App, who: &Session, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/enforcement/cases", Some(who), body).await
}

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// An enterprise with an outlet of the environment bureau (sthjj) and two COD alerts on it; answers
/// the enterprise's credit code and the alerts' ids.
pub(super) async fn park(app: &App) -> (String, Vec<i64>) {
    let admin = app.login("admin").await;
    let credit_code = CreditCode::with_check_char("91442000MA52ENF01").unwrap().as_str().to_owned();
    let enterprise = json!({ "credit_code": credit_code, "name": "中山市华凯化工有限公司", "town": "guzhen" });
    let (status, body) = app.post("/api/v1/enterprises", Some(&admin), enterprise).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let point = json!({
        "code": "WS-001", "name": "华凯化工废水总排口", "kind": "enterprise_outlet", "credit_code": credit_code,
        "mn": "88888880000001", "password": "123456", "standard": "GB 8978-1996", "grade": 2,
        "parameters": [{ "code": "w01018", "unit": "mg/L" }], "unit": "sthjj"
    });
    let (status, body) = app.post("/api/v1/monitoring/points", Some(&admin), point).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let rows = json!({ "readings": [
        { "point": "WS-001", "data_time": "2026-12-04T09:30:00+08:00", "parameter": "w01018", "value": 230.0 },
        { "point": "WS-001", "data_time": "2026-12-04T09:31:00+08:00", "parameter": "w01018", "value": 240.0 },
    ]});
    let (status, report) = app.post("/api/v1/monitoring/readings", Some(&admin), rows).await;
    assert_eq!((status, report["alerts"].as_u64()), (StatusCode::OK, Some(2)), "{report}");
    let (_, alerts) = app.get("/api/v1/monitoring/alerts", Some(&admin)).await;
    let ids: Vec<i64> = alerts.as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    (credit_code, ids)
}

#[tokio::test]
async fn an_alert_becomes_a_case_that_runs_to_its_close() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (credit_code, ids) = park(&app).await;

    let mut handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let mut leader = unit_leader(&app, "sthjj", "l-sthjj").await;
    let mut other = unit_handler(&app, "zrzyj", "h-zrzyj").await;
    let operator = app.login("operator").await;

    // Refusals before anything is opened.
    assert_eq!(
        code_of(&open(&app, &handler, json!({ "alert": ids[0], "inspection": 1 })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_case_origin"))
    );
    assert_eq!(
        code_of(&open(&app, &handler, json!({})).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_case_origin"))
    );
    assert_eq!(
        code_of(&open(&app, &handler, json!({ "alert": 99999 })).await),
        (StatusCode::NOT_FOUND, Some("monitoring_alert_not_found"))
    );
    let refused = app.post("/api/v1/enforcement/cases", Some(&other), json!({ "alert": ids[0] })).await;
    assert_eq!(code_of(&refused), (StatusCode::FORBIDDEN, Some("not_responsible_unit")));
    assert!(refused.1["message"].as_str().unwrap().contains("责任单位"));
    let refused = app.post("/api/v1/enforcement/cases", Some(&operator), json!({ "alert": ids[0] })).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);

    // Opened: 立案 with 7 working days, the alert escalated.
    let (status, case) = open(&app, &handler, json!({ "alert": ids[0], "note": "COD 连续超标，拟立案" })).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let id = case["id"].as_i64().unwrap();
    assert_eq!((case["stage"].as_str(), case["stage_label"].as_str()), (Some("filed"), Some("立案")));
    assert_eq!(case["credit_code"].as_str(), Some(credit_code.as_str()));
    assert_eq!(case["enterprise_name"].as_str(), Some("中山市华凯化工有限公司"));
    assert_eq!(case["alert"]["state"].as_str(), Some("escalated"));
    let opened_at = case["opened_at"].as_str().unwrap().to_owned();
    let filed_due = case["stage_due_at"].as_str().unwrap();
    assert_eq!(filed_due, due(&app, &opened_at, 7).await);
    assert!(filed_due.starts_with("2026-12-15"), "Fri 4 Dec + 7 working days is Tue 15 Dec: {filed_due}");
    assert_eq!(case["next"][0]["stage"].as_str(), Some("investigating"));
    assert_eq!(case["next"][0]["limit"].as_str(), Some("60个工作日"));
    assert_eq!(case["overdue"].as_bool(), Some(false));
    let (_, listed) = app.get("/api/v1/enforcement/cases", Some(&leader)).await;
    assert_eq!(listed[0]["number"], case["number"], "the unit's leader sees it");

    // The alert is taken: neither dismissed nor opened again.
    let dismiss = app
        .post(&format!("/api/v1/monitoring/alerts/{}/dismiss", ids[0]), Some(&handler), json!({ "reason": "设备故障" }))
        .await;
    assert_eq!(code_of(&dismiss), (StatusCode::CONFLICT, Some("alert_not_open")));
    assert_eq!(
        code_of(&open(&app, &handler, json!({ "alert": ids[0] })).await),
        (StatusCode::CONFLICT, Some("alert_not_open"))
    );
    let (_, detail) = app.get(&format!("/api/v1/monitoring/alerts/{}", ids[0]), Some(&handler)).await;
    let kinds: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "escalated"]);

    // Bad moves, each with its code, changing nothing.
    assert_eq!(
        code_of(&advance(&app, id, &handler, json!({ "stage": "decided" })).await),
        (StatusCode::CONFLICT, Some("illegal_case_transition"))
    );
    assert_eq!(
        code_of(&advance(&app, id, &handler, json!({ "stage": "later" })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_stage"))
    );
    assert_eq!(
        code_of(&advance(&app, id, &other, json!({ "stage": "investigating" })).await),
        (StatusCode::NOT_FOUND, Some("case_not_found"))
    );
    assert_eq!(
        code_of(&advance(&app, id, &handler, json!({ "stage": "closed", "closed_reason": "撤销" })).await),
        (StatusCode::FORBIDDEN, Some("leader_required"))
    );
    assert_eq!(
        code_of(&advance(&app, id, &handler, json!({ "stage": "investigating", "bogus": 1 })).await).0,
        StatusCode::BAD_REQUEST
    );

    // Stage by stage, each deadline counted from the move in working days.
    app.set_time("2026-12-07T09:00:00+08:00");
    (handler, leader) = (app.login("h-sthjj").await, app.login("l-sthjj").await);
    let (status, moved) = advance(&app, id, &handler, json!({ "stage": "investigating", "note": "现场取证" })).await;
    assert_eq!((status, moved["stage"].as_str()), (StatusCode::OK, Some("investigating")), "{moved}");
    let started = moved["stage_started_at"].as_str().unwrap().to_owned();
    // 60 working days run into 2027, whose holiday notice the calendar does not have: counted
    // provisionally on weekends only, as requests' deadlines are (the calculator API refuses instead).
    let investigating_due = moved["stage_due_at"].as_str().unwrap();
    assert!(investigating_due.starts_with("2027-03-01"), "{investigating_due}");
    assert!(started.starts_with("2026-12-07"), "{started}");
    let (_, moved) = advance(&app, id, &handler, json!({ "stage": "notified" })).await;
    let started = moved["stage_started_at"].as_str().unwrap().to_owned();
    assert_eq!(moved["stage_due_at"].as_str().unwrap(), due(&app, &started, 10).await);
    let (_, moved) = advance(&app, id, &handler, json!({ "stage": "decided" })).await;
    assert_eq!(moved["stage"].as_str(), Some("decided"));

    // The decision: the leader's, with its text and a valid amount.
    let decision =
        json!({ "stage": "executing", "penalty": "50000", "decision": "责令立即改正违法行为，罚款伍万元整" });
    assert_eq!(
        code_of(&advance(&app, id, &handler, decision.clone()).await),
        (StatusCode::FORBIDDEN, Some("leader_required"))
    );
    assert_eq!(
        code_of(&advance(&app, id, &leader, json!({ "stage": "executing" })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("decision_required"))
    );
    assert_eq!(
        code_of(
            &advance(&app, id, &leader, json!({ "stage": "executing", "penalty": "5万", "decision": "罚款" })).await
        ),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_penalty"))
    );
    let (status, decided) = advance(&app, id, &leader, decision).await;
    assert_eq!((status, decided["penalty"].as_str()), (StatusCode::OK, Some("50000.00")), "{decided}");
    assert_eq!(decided["stage"].as_str(), Some("executing"));

    // Past the execution deadline the case is overdue and the overdue filter finds it.
    app.set_time("2027-06-01T09:00:00+08:00");
    (handler, leader, other) = (app.login("h-sthjj").await, app.login("l-sthjj").await, app.login("h-zrzyj").await);
    let (status, overdue) = app.get("/api/v1/enforcement/cases?overdue=true", Some(&handler)).await;
    assert_eq!(status, StatusCode::OK, "{overdue}");
    assert_eq!(overdue.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), [id]);
    assert_eq!(overdue[0]["overdue"].as_bool(), Some(true));
    let (_, executing) = app.get("/api/v1/enforcement/cases?stage=executing", Some(&leader)).await;
    assert_eq!(executing.as_array().unwrap().len(), 1);
    let (_, filed) = app.get("/api/v1/enforcement/cases?stage=filed", Some(&leader)).await;
    assert_eq!(filed.as_array().unwrap().len(), 0);
    let (status, bad) = app.get("/api/v1/enforcement/cases?stage=soon", Some(&leader)).await;
    assert_eq!((status, bad["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_stage")));
    let (_, theirs) = app.get("/api/v1/enforcement/cases", Some(&other)).await;
    assert_eq!(theirs.as_array().unwrap().len(), 0, "another unit sees none of it");
    assert_eq!(
        code_of(&app.get(&format!("/api/v1/enforcement/cases/{id}"), Some(&other)).await).1,
        Some("case_not_found")
    );

    // Closing needs the reason; after it nothing moves.
    assert_eq!(
        code_of(&advance(&app, id, &leader, json!({ "stage": "closed" })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("closed_reason_required"))
    );
    let (status, closed) =
        advance(&app, id, &leader, json!({ "stage": "closed", "closed_reason": "罚款已缴清，整改到位" })).await;
    assert_eq!(
        (status, closed["stage"].as_str(), closed["overdue"].as_bool()),
        (StatusCode::OK, Some("closed"), Some(false))
    );
    assert!(closed["stage_due_at"].is_null() && closed["next"].as_array().unwrap().is_empty(), "{closed}");
    assert_eq!(
        code_of(&advance(&app, id, &leader, json!({ "stage": "closed", "closed_reason": "再次" })).await),
        (StatusCode::CONFLICT, Some("case_closed"))
    );
    let history = closed["history"].as_array().unwrap();
    let stages: Vec<&str> = history.iter().map(|e| e["to_stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["filed", "investigating", "notified", "decided", "executing", "closed"]);
    assert!(history[4]["note"].as_str().unwrap().contains("罚款50000.00元"), "{history:?}");
    assert!(history[4]["by"].as_str().unwrap().contains("领导"), "{history:?}");

    // The other alert is still open and can be dismissed.
    let dismiss = app
        .post(&format!("/api/v1/monitoring/alerts/{}/dismiss", ids[1]), Some(&handler), json!({ "reason": "重复报警" }))
        .await;
    assert_eq!(dismiss.0, StatusCode::OK, "{}", dismiss.1);
    assert_eq!(
        code_of(&open(&app, &handler, json!({ "alert": ids[1] })).await),
        (StatusCode::CONFLICT, Some("alert_not_open"))
    );

    // An inspection with an exceeding sample opens a case of its own.
    let inspection = json!({
        "inspector": "张三、李四", "inspected_at": "2027-05-31T15:00:00+08:00", "place": "华凯化工废水处理站",
        "credit_code": credit_code, "point": "WS-001", "findings": "废水处理设施未运行，排放口有明显异味",
        "samples": [{ "parameter": "化学需氧量", "value": 260.0, "unit": "mg/L", "lab": "市环境监测站", "result": "exceeds" }]
    });
    let mut bad = inspection.clone();
    bad["samples"][0]["result"] = json!("exceeds");
    bad["samples"][0].as_object_mut().unwrap().remove("value");
    let (status, err) = app.post("/api/v1/enforcement/inspections", Some(&handler), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_samples")), "{err}");
    let mut bad = inspection.clone();
    bad["inspected_at"] = json!("2027-07-01T09:00:00+08:00");
    let (status, err) = app.post("/api/v1/enforcement/inspections", Some(&handler), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("inspection_in_future")));
    let mut bad = inspection.clone();
    bad["credit_code"] = json!(ENTERPRISE_CODE);
    let (status, err) = app.post("/api/v1/enforcement/inspections", Some(&handler), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_enterprise")));
    let (status, recorded) = app.post("/api/v1/enforcement/inspections", Some(&handler), inspection).await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    assert_eq!((recorded["exceeding_samples"].as_u64(), recorded["point"].as_str()), (Some(1), Some("WS-001")));
    let inspection_id = recorded["id"].as_i64().unwrap();
    let (status, from_inspection) = open(&app, &handler, json!({ "inspection": inspection_id })).await;
    assert_eq!(status, StatusCode::CREATED, "{from_inspection}");
    assert_eq!(from_inspection["origin"].as_str(), Some("inspection"));
    assert_eq!(from_inspection["inspection"]["samples"][0]["lab"].as_str(), Some("市环境监测站"));
    assert_eq!(
        code_of(&open(&app, &handler, json!({ "inspection": inspection_id })).await),
        (StatusCode::CONFLICT, Some("inspection_has_case"))
    );
    let (_, listed) =
        app.get(&format!("/api/v1/enforcement/inspections?enterprise={credit_code}"), Some(&leader)).await;
    assert_eq!(listed[0]["case_id"].as_i64(), from_inspection["id"].as_i64());
    let (_, none) = app.get("/api/v1/enforcement/inspections", Some(&other)).await;
    assert_eq!(none.as_array().unwrap().len(), 0);

    // The enterprise's page (一企一档) lists its alerts and cases.
    let (status, page) = super::browser::page(&app, &format!("/enterprises/{credit_code}"), &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(closed["number"].as_str().unwrap()), "the closed case is listed");
    assert!(page.contains(from_inspection["number"].as_str().unwrap()));
    assert!(page.contains("已转办") && page.contains("已排除"), "both alerts with their states");
}

#[tokio::test]
async fn cases_are_opened_and_moved_through_the_pages() {
    use super::browser::{page, post_form};

    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (credit_code, ids) = park(&app).await;
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let leader = unit_leader(&app, "sthjj", "l-sthjj").await;

    // The alerts page offers 立案 beside 排除; the menu has 环境执法.
    let (status, html) = page(&app, "/monitoring/alerts", &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("action=\"/enforcement/cases\"")
            && html.contains(&format!("name=\"alert\" value=\"{}\"", ids[0]))
    );
    assert!(html.contains("href=\"/enforcement/cases\""), "the menu entry");
    let (status, location, _) =
        post_form(&app, "/enforcement/cases", &handler, &[("alert", &ids[0].to_string())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/enforcement/cases/"), "{location}");
    let (status, _, html) = post_form(&app, "/enforcement/cases", &handler, &[("alert", &ids[0].to_string())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("未能立案") && html.contains("已转办"), "the refusal as a page");

    // The case page: its facts, history and the stage form; a refusal stands by the form with the values kept.
    let (status, html) = page(&app, &location, &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("立案") && html.contains("id=\"advance-form\"") && html.contains("调查取证（时限60个工作日）")
    );
    let advance = format!("{location}/advance");
    for stage in ["investigating", "notified", "decided"] {
        let (status, _, _) = post_form(&app, &advance, &handler, &[("stage", stage)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{stage}");
    }
    let form = [("stage", "executing"), ("decision", ""), ("penalty", "80000"), ("note", "集体讨论")];
    let (status, _, html) = post_form(&app, &advance, &leader, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\"") && html.contains("value=\"80000\""), "message by the form, values kept");
    let form = [("stage", "executing"), ("decision", "罚款捌万元"), ("penalty", "80000"), ("note", "")];
    let (status, _, _) = post_form(&app, &advance, &leader, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &location, &leader).await;
    assert!(html.contains("罚款 80000.00 元"), "the decision shown");

    // Lists: filtered by stage; the overdue filter is empty today.
    let (_, html) = page(&app, "/enforcement/cases?stage=executing", &handler).await;
    assert!(html.contains(&format!("href=\"{location}\"")));
    let (_, html) = page(&app, "/enforcement/cases?stage=&overdue=true", &handler).await;
    assert!(html.contains("没有符合条件的案件"));

    // An inspection through its form (a bad sample row refused with the values kept), then 立案 from it.
    let (status, html) = page(&app, &format!("/enforcement/inspections/new?credit_code={credit_code}"), &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("value=\"{credit_code}\"")));
    let mut fields = vec![
        ("credit_code", credit_code.as_str()),
        ("inspector", "张三、李四"),
        ("inspected_at", "2026-12-04T09:30"),
        ("place", "废水处理站"),
        ("point", "WS-001"),
        ("findings", "设施未运行"),
        ("sample_parameter_1", "化学需氧量"),
        ("sample_value_1", "很高"),
        ("sample_unit_1", "mg/L"),
        ("sample_lab_1", "市环境监测站"),
        ("sample_result_1", "exceeds"),
    ];
    let (status, _, html) = post_form(&app, "/enforcement/inspections", &handler, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("第1个采样") && html.contains("设施未运行") && html.contains("value=\"很高\""), "{html}");
    fields[7] = ("sample_value_1", "260");
    let (status, inspection, _) = post_form(&app, "/enforcement/inspections", &handler, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &inspection, &handler).await;
    assert!(html.contains("260 mg/L") && html.contains("超标") && html.contains("name=\"inspection\""), "{html}");
    let id = inspection.rsplit('/').next().unwrap().to_owned();
    let (status, location, _) = post_form(&app, "/enforcement/cases", &handler, &[("inspection", &id)]).await;
    assert_eq!((status, location.starts_with("/enforcement/cases/")), (StatusCode::SEE_OTHER, true));
    let (_, html) = page(&app, &location, &handler).await;
    assert!(html.contains("来源检查记录") && html.contains("市环境监测站"));
}

#[tokio::test]
async fn the_demo_park_has_cases_at_several_stages_once() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let now = mashangban_domain::time::now();
    mashangban_demo::load_monitoring(&app.store, &data, now).await.unwrap();
    assert_eq!(mashangban_demo::load_enforcement(&app.store, now).await.unwrap(), 4);
    assert_eq!(mashangban_demo::load_enforcement(&app.store, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let (_, cases) = app.get("/api/v1/enforcement/cases", Some(&admin)).await;
    let mut stages: Vec<&str> = cases.as_array().unwrap().iter().map(|c| c["stage"].as_str().unwrap()).collect();
    stages.sort_unstable();
    assert_eq!(stages, ["executing", "filed", "filed", "investigating"], "{cases}");
    let executing = cases.as_array().unwrap().iter().find(|c| c["stage"] == "executing").unwrap();
    assert_eq!(executing["penalty"].as_str(), Some("80000.00"));
    let (_, escalated) = app.get("/api/v1/monitoring/alerts?state=escalated", Some(&admin)).await;
    assert_eq!(escalated.as_array().unwrap().len(), 3);
}
