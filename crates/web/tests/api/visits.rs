//! Visits to enterprises (走访) and the walking office (行走的办公室): a
//! cadre plans and records a visit with three problems (one solved on the
//! spot, two turned into requests on the 走访 channel carrying the visit in
//! their intake event); a walking-office session led by a city leader with a
//! department attending, whose problems carry the leader's instruction and
//! are supervised by default; the visit's page follows each problem's
//! state; the scope (a cadre sees the visits of their enterprises, 404 for
//! others); bad input refused with stable codes; the report and its export.

use super::*;

use mashangban_domain::validation::CreditCode;

fn code(body: &str) -> String {
    CreditCode::with_check_char(body).unwrap().as_str().to_owned()
}

async fn register(app: &App, admin: &Session, credit_code: &str, name: &str, town: &str) {
    let body = json!({
        "credit_code": credit_code, "name": name, "town": town,
        "contact_name": "黄志强", "contact_phone": "13800138001"
    });
    let (status, answer) = app.post("/api/v1/enterprises", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn user_id(app: &App, username: &str) -> i64 {
    app.store.find_user(username).await.unwrap().unwrap().id
}

/// `ours` (古镇) assigned to the demo liaison cadre (a town-level cadre); `theirs` (小榄) to nobody.
async fn setup(app: &App, admin: &Session, ours: &str, theirs: &str) {
    register(app, admin, ours, "中山市古镇星辉灯饰有限公司", "guzhen").await;
    register(app, admin, theirs, "中山市小榄精工五金厂", "xiaolan").await;
    let cadre = user_id(app, "liaison").await;
    let profile = json!({ "level": "town", "post": "古镇镇党委副书记", "work_phone": "0760-22338899" });
    let path = format!("/api/v1/liaisons/cadres/{cadre}");
    let (status, saved) = app.call(reqwest::Method::PUT, &path, Some(admin), Some(profile)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let body = json!({ "user_id": cadre, "kind": "lead" });
    let (status, assigned) = app.post(&format!("/api/v1/enterprises/{ours}/liaisons"), Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
}

fn problems() -> Value {
    json!([
        { "text": "新厂房用电报装进度慢", "outcome": "solved_on_site",
          "solved_by": "供电局客户经理李明", "solution": "现场确认接电方案，约定下周三送电" },
        { "text": "厂区门前道路破损，货车进出困难", "outcome": "dispatched", "category": "biz.change" },
        { "text": "招工难，希望协助对接职业院校", "outcome": "dispatched", "category": "biz.change", "kind": "help" }
    ])
}

#[tokio::test]
async fn a_visit_is_planned_and_recorded_and_its_problems_are_followed_until_closed() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5WKTA01"), code("91442000MA5WKTA02"));
    setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;

    // Plan: the caller leads by default; an enterprise out of scope is 404.
    let plan = json!({ "credit_code": ours, "planned_at": "2020-01-02 09:30", "purpose": "了解企业扩产需求" });
    let (status, visit) = app.post("/api/v1/visits", Some(&liaison), plan).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    assert_eq!((visit["state"].as_str(), visit["kind"].as_str()), (Some("planned"), Some("visit")));
    assert_eq!(visit["planned_at"], "2020-01-02T09:30:00.000+08:00");
    assert_eq!(visit["overdue"], true, "planned long ago and not recorded");
    let id = visit["id"].as_i64().unwrap();
    let (status, err) =
        app.post("/api/v1/visits", Some(&liaison), json!({ "credit_code": theirs, "planned_at": "2026-12-01" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("enterprise_not_found")), "{err}");
    let (status, err) =
        app.post("/api/v1/visits", Some(&liaison), json!({ "credit_code": ours, "planned_at": "下周" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time")), "{err}");
    let operator = app.login("operator").await;
    let (status, _) =
        app.post("/api/v1/visits", Some(&operator), json!({ "credit_code": ours, "planned_at": "2026-12-01" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators do not plan visits");

    // Bad records: solved on the spot without how; nothing is written.
    let record = format!("/api/v1/visits/{id}/record");
    let mut bad = problems();
    bad[0]["solution"] = json!("  ");
    let body = json!({ "notes": "走访纪要", "attendees": ["黄志强"], "problems": bad });
    let (status, err) = app.post(&record, Some(&liaison), body).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("solved_needs_who_and_how")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().starts_with("第 1 个问题"), "{err}");
    let mut bad = problems();
    bad[1]["category"] = json!("no.such");
    let (status, err) = app.post(&record, Some(&liaison), json!({ "notes": "纪要", "problems": bad })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_category")), "{err}");
    let (_, still) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    assert_eq!((still["state"].as_str(), still["problems"].as_array().unwrap().len()), (Some("planned"), 0));

    // Record: three problems, one solved on the spot, two turned into requests.
    let body = json!({
        "visited_at": "2020-01-02 10:00", "notes": "企业今年计划扩产，反映三项问题。",
        "attendees": ["黄志强", "古镇经济发展局 陈工"], "problems": problems()
    });
    let (status, recorded) = app.post(&record, Some(&liaison), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{recorded}");
    assert_eq!(recorded["state"], "recorded");
    assert_eq!(recorded["overdue"], false);
    let p = recorded["problems"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert_eq!((p[0]["outcome"].as_str(), p[0]["closed"].as_bool()), (Some("solved_on_site"), Some(true)));
    assert_eq!(p[0]["solved_by"], "供电局客户经理李明");
    for q in &p[1..] {
        assert_eq!((q["outcome"].as_str(), q["request_state"].as_str()), (Some("dispatched"), Some("received")));
        assert_eq!((q["closed"].as_bool(), q["supervised"].as_bool()), (Some(false), Some(false)));
    }
    assert_eq!((recorded["problems_open"].as_u64(), recorded["all_closed"].as_bool()), (Some(2), Some(false)));
    let history: Vec<&str> =
        recorded["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(history, ["planned", "recorded"]);
    let (status, err) = app.post(&record, Some(&liaison), body).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("visit_not_planned")), "{err}");

    // Each request: channel 走访, asker the enterprise, the registry's contact, the visit in its intake.
    let dispatcher = app.login("dispatcher").await;
    let no = p[1]["tracking_no"].as_str().unwrap().to_owned();
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(detail["request"]["channel"], "on_site", "{detail}");
    assert_eq!(detail["request"]["asker"]["credit_code"], ours.as_str());
    assert!(detail["request"]["due_at"].is_string(), "deadlines like any intake");
    let received = &detail["history"][0];
    assert_eq!(received["kind"], "received");
    assert_eq!(received["details"]["visit"]["visit_id"], id, "{received}");
    assert!(received["summary"].as_str().unwrap().contains("走访"), "{received}");

    // Dispatched like any other; the visit's page follows; closed when both are closed.
    for q in &p[1..] {
        let no = q["tracking_no"].as_str().unwrap();
        app.act(no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    }
    let (_, page) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    assert_eq!(page["problems"][1]["request_state"], "dispatched");
    assert_eq!(page["problems"][1]["state_label"], "已派单");
    let handler = app.login("handler").await;
    for q in &p[1..] {
        let no = q["tracking_no"].as_str().unwrap();
        app.act(no, "sign", &handler, json!({})).await;
        app.act(no, "reply", &handler, json!({ "content": "已协调处理。" })).await;
        app.act(no, "close", &dispatcher, json!({})).await;
    }
    let (_, page) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    assert_eq!((page["problems_open"].as_u64(), page["all_closed"].as_bool()), (Some(0), Some(true)), "{page}");

    // Scope: a visit of another enterprise is 404 to the cadre and absent from their list.
    let (status, other) = app
        .post("/api/v1/visits", Some(&dispatcher), json!({ "credit_code": theirs, "planned_at": "2026-12-20" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_i64().unwrap();
    let (status, err) = app.get(&format!("/api/v1/visits/{other_id}"), Some(&liaison)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("visit_not_found")));
    let (status, err) =
        app.post(&format!("/api/v1/visits/{other_id}/cancel"), Some(&liaison), json!({ "reason": "x" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("visit_not_found")));
    let (_, mine) = app.get("/api/v1/visits", Some(&liaison)).await;
    let ids: Vec<i64> = mine.as_array().unwrap().iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [id]);
    let (_, all) = app.get("/api/v1/visits?town=xiaolan", Some(&dispatcher)).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/v1/visits?month=2026-13", Some(&dispatcher)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/visits?x=1", Some(&dispatcher)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/visits/abc", Some(&dispatcher)).await.0, StatusCode::NOT_FOUND);
    let (_, of_ours) = app.get(&format!("/api/v1/enterprises/{ours}/visits"), Some(&liaison)).await;
    assert_eq!(of_ours.as_array().unwrap().len(), 1);
    assert_eq!(app.get(&format!("/api/v1/enterprises/{theirs}/visits"), Some(&liaison)).await.0, StatusCode::NOT_FOUND);

    // Cancel keeps the reason; a cancelled visit is not recorded.
    let (status, cancelled) = app
        .post(&format!("/api/v1/visits/{other_id}/cancel"), Some(&dispatcher), json!({ "reason": "企业停产检修" }))
        .await;
    assert_eq!((status, cancelled["state"].as_str()), (StatusCode::OK, Some("cancelled")), "{cancelled}");
    let (status, err) =
        app.post(&format!("/api/v1/visits/{other_id}/record"), Some(&dispatcher), json!({ "notes": "x" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("visit_not_planned")));

    // The report: by cadre, town and month; the visits due by the level rule; Excel.
    let leader = app.login("leader").await;
    let (status, report) = app.get("/api/v1/visits/reports", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let total = &report["total"];
    assert_eq!(
        (total["visits_made"].as_u64(), total["problems"].as_u64(), total["solved_on_site"].as_u64()),
        (Some(1), Some(3), Some(1)),
        "{report}"
    );
    assert_eq!(total["closed"].as_u64(), Some(2));
    assert_eq!(report["by_month"][0]["name"], "2020-01");
    assert!(report["by_cadre"].as_array().unwrap().iter().any(|r| r["visits_made"] == 1));
    assert_eq!(app.get("/api/v1/visits/reports", Some(&liaison)).await.0, StatusCode::FORBIDDEN);
    let res = app
        .http
        .get(app.url("/api/v1/visits/reports/export?month=2020-01"))
        .header("cookie", &leader.0)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("visits-report.xlsx"));
    assert!(res.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn a_walking_office_session_is_led_by_a_leader_and_its_problems_are_supervised() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5WKTA11"), code("91442000MA5WKTA12"));
    setup(&app, &admin, &ours, &theirs).await;
    let dispatcher = app.login("dispatcher").await;
    let leader = user_id(&app, "leader").await;
    let liaison = user_id(&app, "liaison").await;

    // A town cadre may lead; a department-level cadre may not; departments must attend.
    let plan = |lead: i64, units: Value| {
        json!({ "kind": "walking_office", "credit_code": ours, "planned_at": "2026-11-20 14:00",
                "lead_user_id": lead, "units": units })
    };
    let handler = user_id(&app, "handler").await;
    let (status, err) = app.post("/api/v1/visits", Some(&dispatcher), plan(handler, json!(["scjgj"]))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("walking_office_lead")));
    let (status, err) = app.post("/api/v1/visits", Some(&dispatcher), plan(leader, json!([]))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("walking_office_units")));
    let (status, err) = app.post("/api/v1/visits", Some(&dispatcher), plan(leader, json!(["nope"]))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit")), "{err}");
    let (status, by_town) = app.post("/api/v1/visits", Some(&dispatcher), plan(liaison, json!(["scjgj"]))).await;
    assert_eq!(status, StatusCode::CREATED, "a town-level cadre leads: {by_town}");
    let (status, session) = app.post("/api/v1/visits", Some(&dispatcher), plan(leader, json!(["scjgj"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["kind_label"], "行走的办公室");
    assert_eq!(session["units"][0]["code"], "scjgj");
    let id = session["id"].as_i64().unwrap();

    // Dispatched problems need the leader's instruction.
    let record = format!("/api/v1/visits/{id}/record");
    let (status, err) = app.post(&record, Some(&dispatcher), json!({ "notes": "纪要", "problems": problems() })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("instruction_required")));
    let mut with = problems();
    with[1]["instruction"] = json!("请市交通运输局两周内修复");
    with[2]["instruction"] = json!("请市人社局对接职业院校");
    let body = json!({ "visited_at": "2026-11-20 15:00", "notes": "现场办公", "problems": with });
    let (status, recorded) = app.post(&record, Some(&dispatcher), body).await;
    assert_eq!(status, StatusCode::OK, "{recorded}");
    let p = recorded["problems"].as_array().unwrap();
    assert_eq!(p[1]["instruction"], "请市交通运输局两周内修复");
    assert_eq!((p[1]["supervised"].as_bool(), p[2]["supervised"].as_bool()), (Some(true), Some(true)));

    // The request's history: intake, then supervision by the platform carrying the instruction.
    let detail = app.detail(p[1]["tracking_no"].as_str().unwrap(), &dispatcher).await;
    let kinds: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["received", "supervised"], "{detail}");
    let supervised = &detail["history"][1];
    assert!(supervised["comment"].as_str().unwrap().contains("请市交通运输局两周内修复"), "{supervised}");
    assert!(supervised["comment"].as_str().unwrap().contains("行走的办公室"), "{supervised}");
    assert!(detail["request"]["content"].as_str().unwrap().contains("批示"), "{detail}");
    assert_eq!(detail["history"][0]["details"]["visit"]["kind"], "walking_office");
}

#[tokio::test]
async fn the_pages_plan_record_and_follow_a_visit() {
    use super::browser::{page, post_form};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5WKTA21"), code("91442000MA5WKTA22"));
    setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;

    // The menu has 走访; the plan form comes prefilled from the enterprise's page.
    let (status, html) = page(&app, &format!("/enterprises/{ours}"), &liaison).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/visits\"") && html.contains("走访"), "menu entry");
    assert!(html.contains(&format!("/visits/new?enterprise={ours}")));
    let (status, html) = page(&app, &format!("/visits/new?enterprise={ours}"), &liaison).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("value=\"{ours}\"")));

    // Planning a walking office as a town cadre without departments is refused on the form.
    let form = [("kind", "walking_office"), ("credit_code", ours.as_str()), ("planned_at", "2026-11-02T09:30")];
    let (status, _, html) = post_form(&app, "/visits", &liaison, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("须有部门参加"), "{html}");
    let form = [
        ("kind", "visit"),
        ("credit_code", ours.as_str()),
        ("planned_at", "2026-11-02T09:30"),
        ("purpose", "了解扩产需求"),
        ("units", "scjgj"),
        ("units", "zwfw"),
    ];
    let (status, location, _) = post_form(&app, "/visits", &liaison, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert!(location.starts_with("/visits/"));
    let id = location.trim_start_matches("/visits/").to_owned();
    let (_, visit) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    assert_eq!(visit["units"].as_array().unwrap().len(), 2, "{visit}");

    // Recording: a problem solved on the spot without how is refused, the typed text kept.
    let record = format!("/visits/{id}/record");
    let mut form = vec![
        ("visited_at", "2026-11-02T10:00"),
        ("attendees", "黄志强、陈工"),
        ("notes", "企业反映两项问题"),
        ("p0_text", "用电报装慢"),
        ("p0_outcome", "solved_on_site"),
        ("p0_solved_by", "供电局李工"),
        ("p1_text", "道路破损"),
        ("p1_outcome", "dispatched"),
        ("p1_category", "biz.change"),
    ];
    let (status, _, html) = post_form(&app, &record, &liaison, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("现场办结的问题须写明由谁办结、如何办结"), "{html}");
    assert!(html.contains("道路破损"), "the form keeps what was typed");
    form.push(("p0_solution", "现场确认送电日期"));
    let (status, location, _) = post_form(&app, &record, &liaison, &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/visits/{id}").as_str()));
    let (status, html) = page(&app, &location, &liaison).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已走访") && html.contains("现场办结") && html.contains("已受理"), "{html}");
    assert!(!html.contains("id=\"record-form\""), "a recorded visit has no record form");
    let (_, visit) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    assert_eq!(visit["attendees"], json!(["黄志强", "陈工"]));
    let no = visit["problems"][1]["tracking_no"].as_str().unwrap().to_owned();
    assert!(html.contains(&no));

    // The list, the enterprise's page, the scope and the report.
    let (_, html) = page(&app, "/visits?month=2026-11", &liaison).await;
    assert!(html.contains(&format!("/visits/{id}")));
    let (_, html) = page(&app, &format!("/enterprises/{ours}"), &liaison).await;
    assert!(html.contains(&format!("/visits/{id}")));
    let dispatcher = app.login("dispatcher").await;
    let (_, other) = app
        .post("/api/v1/visits", Some(&dispatcher), json!({ "credit_code": theirs, "planned_at": "2026-11-03" }))
        .await;
    let (status, _) = page(&app, &format!("/visits/{}", other["id"]), &liaison).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&app, "/visits/reports", &liaison).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let leader = app.login("leader").await;
    let (status, html) = page(&app, "/visits/reports?month=2026-11", &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("按干部") && html.contains("按镇街") && html.contains("应走访未走访"), "{html}");
    let (status, _) = page(&app, "/visits/reports/export?month=2026-11&town=", &leader).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_demo_city_has_visits_recorded_cancelled_planned_and_a_walking_office() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    mashangban_demo::load_liaisons(&app.store, &data, &hash).await.unwrap();
    let now = mashangban_domain::time::now();
    let made = mashangban_demo::load_visits(&app.store, now).await.unwrap();
    assert!(made > 50, "{made} demo visits");
    assert_eq!(mashangban_demo::load_visits(&app.store, now).await.unwrap(), 0, "loading again adds nothing");

    let admin = app.login("admin").await;
    let count = |state: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let (status, list) = app.get(&format!("/api/v1/visits?state={state}"), Some(admin)).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            list.as_array().unwrap().clone()
        }
    };
    let recorded = count("recorded").await;
    assert!(recorded.len() > 20, "{} recorded", recorded.len());
    assert!(recorded.iter().all(|v| !v["problems"].as_array().unwrap().is_empty()), "each recorded visit has problems");
    assert!(recorded.iter().any(|v| v["kind"] == "walking_office"), "the city leader's sessions");
    assert!(!count("cancelled").await.is_empty());
    assert!(!count("planned").await.is_empty());
    // The demo cadre sees the visits of the enterprises they lead, on the page too.
    let liaison = app.login("liaison").await;
    let (status, mine) = app.get("/api/v1/visits", Some(&liaison)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!mine.as_array().unwrap().is_empty(), "{mine}");
    let (status, html) = crate::browser::page(&app, "/visits", &liaison).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已走访") && html.contains("计划中"), "{html}");
}

#[tokio::test]
async fn a_visit_keeps_its_photos_for_those_who_see_it_each_upload_in_its_history() {
    use super::browser::{no_redirects, page};
    use super::documents::{PDF, PNG, download, listed, upload};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5WKTA31"), code("91442000MA5WKTA32"));
    setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;
    let plan = json!({ "credit_code": ours, "planned_at": "2026-11-02 09:30", "purpose": "了解扩产需求" });
    let (status, visit) = app.post("/api/v1/visits", Some(&liaison), plan).await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let id = visit["id"].as_i64().unwrap();
    let path = format!("/api/v1/visits/{id}/documents");

    // The cadre adds the visit's photos and its sign-in sheet.
    let files = vec![("车间现场.png", PNG.to_vec()), ("签到表.pdf", PDF.to_vec())];
    let added = upload(&app, &path, &liaison, files, Some("现场照片")).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    assert_eq!((added.1[0]["owner_kind"].as_str(), added.1[0]["purpose"].as_str()), (Some("visit"), Some("现场照片")));
    let photo = added.1[0]["id"].as_i64().unwrap();

    // The town's staff see the visit, so its photos; a supervisor reads every visit but records none.
    let town = unit_handler(&app, "guzhen", "guzhen-handler").await;
    assert_eq!(listed(&app, &path, &town).await.len(), 2);
    let supervisor = app.login("supervisor").await;
    assert_eq!(download(&app, photo, &supervisor).await.status(), StatusCode::OK);
    let refused = upload(&app, &path, &supervisor, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    let withdraw = format!("/api/v1/documents/{photo}/withdraw");
    let (status, err) = app.post(&withdraw, Some(&supervisor), json!({ "reason": "x" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_visit_recorder")), "{err}");
    // Another town's staff do not see the visit: not found, for its list, its files and an upload.
    let other = unit_handler(&app, "xiaolan-zfj", "xiaolan-handler").await;
    let (status, err) = app.get(&path, Some(&other)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("visit_not_found")), "{err}");
    assert_eq!(download(&app, photo, &other).await.status(), StatusCode::NOT_FOUND);
    let refused = upload(&app, &path, &other, vec![("x.png", PNG.to_vec())], None).await;
    assert_eq!((refused.0, refused.1["code"].as_str()), (StatusCode::NOT_FOUND, Some("visit_not_found")));
    let (status, _) =
        app.post(&format!("/api/v1/documents/{photo}/withdraw"), Some(&other), json!({ "reason": "x" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let enterprise = app.login("enterprise").await;
    assert_eq!(app.get(&path, Some(&enterprise)).await.0, StatusCode::FORBIDDEN);

    // A withdrawal leaves the list; the visit's history keeps both uploads and the withdrawal.
    let sheet = added.1[1]["id"].as_i64().unwrap();
    let (status, _) =
        app.post(&format!("/api/v1/documents/{sheet}/withdraw"), Some(&liaison), json!({ "reason": "传错文件" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&app, &path, &liaison).await.len(), 1);
    let (_, shown) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    let steps: Vec<&str> = shown["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(steps, ["planned", "document_added", "document_added", "document_withdrawn"], "{shown}");
    let last = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["label"].as_str(), last["comment"].as_str()),
        (Some("撤回照片或附件"), Some("撤回附件《签到表.pdf》（现场照片）：传错文件"))
    );

    // The visit's page: the panel with its purposes and the upload form for who may record; a form upload.
    let (_, html) = page(&app, &format!("/visits/{id}"), &liaison).await;
    assert!(
        html.contains("车间现场.png") && html.contains("id=\"document-form\"") && html.contains("签到表"),
        "{html}"
    );
    let (_, html) = page(&app, &format!("/visits/{id}"), &supervisor).await;
    assert!(html.contains("车间现场.png") && !html.contains("id=\"document-form\""), "{html}");
    let form = reqwest::multipart::Form::new()
        .text("purpose", "现场照片")
        .part("file", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("座谈会.png"));
    let res = no_redirects()
        .post(app.url(&format!("/visits/{id}/documents")))
        .header("cookie", &liaison.0)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/visits/{id}#documents").as_str());
    assert_eq!(listed(&app, &path, &town).await.len(), 2);

    // Cancelled, the visit's record is closed: nothing added or withdrawn, its documents still listed.
    let (status, _) =
        app.post(&format!("/api/v1/visits/{id}/cancel"), Some(&liaison), json!({ "reason": "企业停产" })).await;
    assert_eq!(status, StatusCode::OK);
    let refused = upload(&app, &path, &liaison, vec![("补拍.png", PNG.to_vec())], Some("现场照片")).await;
    assert_eq!(
        (refused.0, refused.1["code"].as_str()),
        (StatusCode::CONFLICT, Some("visit_cancelled")),
        "{}",
        refused.1
    );
    assert!(refused.1["message"].as_str().unwrap().contains("已取消"), "{}", refused.1);
    let (status, err) = app.post(&withdraw, Some(&liaison), json!({ "reason": "走访取消" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("visit_cancelled")), "{err}");
    assert_eq!(listed(&app, &path, &liaison).await.len(), 2, "nothing stored, nothing withdrawn");
    // The store refuses too, under the visit's lock: a cancellation landing between the module's check
    // and the write cannot let a file in (issue 13).
    {
        use mashangban_store::{DocumentActor, DocumentOwner, DocumentStore, StoreError};
        let owner = DocumentOwner { kind: mashangban_domain::document::OwnerKind::Visit, id };
        let file = mashangban_domain::document::DocumentFile::new(Some("补拍.png"), PNG.to_vec()).unwrap();
        let by = || DocumentActor { user_id: None, name: "测试".into() };
        let at = mashangban_domain::time::now();
        let refused = app.store.add_documents(owner, None, vec![file], 20, by(), at).await;
        assert!(matches!(&refused, Err(StoreError::Domain(e)) if e.code == "visit_cancelled"), "{refused:?}");
        let refused = app.store.withdraw_document(photo, "走访取消".into(), by(), at).await;
        assert!(matches!(&refused, Err(StoreError::Domain(e)) if e.code == "visit_cancelled"), "{refused:?}");
    }
    assert_eq!(listed(&app, &path, &liaison).await.len(), 2, "nothing stored, nothing withdrawn");
    let (_, shown) = app.get(&format!("/api/v1/visits/{id}"), Some(&liaison)).await;
    let steps = shown["history"].as_array().unwrap().iter().filter(|e| e["action"] != "cancelled").count();
    assert_eq!(steps, 5, "planned, three uploads and one withdrawal: {shown}");
    let (_, html) = page(&app, &format!("/visits/{id}"), &liaison).await;
    assert!(html.contains("车间现场.png") && !html.contains("id=\"document-form\""), "no upload form: {html}");
}
