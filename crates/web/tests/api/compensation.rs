//! 生态环境损害赔偿 through the API and the pages: experts enter the pool,
//! a case's unit opens a simple-procedure matter, experts are drawn (never
//! one with a conflict of interest, and the draw can be repeated from its
//! seed), the damage is assessed, consulted on and agreed in two instalments,
//! paid, the remediation reviewed by drawn experts and the matter closed by
//! the leader; each refusal with its code; other units see nothing.

use super::enforcement::{park, unit_leader};
use super::*;

async fn act(app: &App, id: i64, who: &Session, mut body: Value, version: i64) -> (StatusCode, Value) {
    body["version"] = json!(version);
    app.post(&format!("/api/v1/compensation/matters/{id}/actions"), Some(who), body).await
}

async fn draw(app: &App, id: i64, who: &Session, purpose: &str, count: u32, version: i64) -> (StatusCode, Value) {
    let body = json!({ "purpose": purpose, "count": count, "specialties": ["water"], "version": version });
    app.post(&format!("/api/v1/compensation/matters/{id}/draw"), Some(who), body).await
}

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

fn version(matter: &Value) -> i64 {
    matter["version"].as_i64().unwrap()
}

/// Four water experts (one with a conflict with the enterprise) and a soil expert.
async fn pool(app: &App, credit_code: &str) {
    let admin = app.login("admin").await;
    for (name, specialty, conflicts) in [
        ("王水清", "water", vec![credit_code]),
        ("李清河", "water", vec![]),
        ("陈碧波", "water", vec![]),
        ("赵江", "water", vec![]),
        ("孙厚土", "soil", vec![]),
    ] {
        let body = json!({ "name": name, "specialty": specialty, "employer": "中山大学", "conflicts": conflicts });
        let (status, expert) = app.post("/api/v1/compensation/experts", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{expert}");
    }
    let bad = json!({ "name": "钱", "specialty": "music", "employer": "x" });
    let refused = app.post("/api/v1/compensation/experts", Some(&admin), bad).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_specialty")));
}

#[tokio::test]
async fn a_simple_procedure_runs_from_expert_draw_to_closure() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (credit_code, ids) = park(&app).await;
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let leader = unit_leader(&app, "sthjj", "l-sthjj").await;
    let other = unit_handler(&app, "zrzyj", "h-zrzyj").await;
    pool(&app, &credit_code).await;
    let refused = app.post("/api/v1/compensation/experts", Some(&handler), json!({})).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "only the pool's keepers add experts");
    let (_, experts) = app.get("/api/v1/compensation/experts", Some(&handler)).await;
    assert_eq!(experts.as_array().unwrap().len(), 5);
    assert!(experts[0]["conflicts"].is_null(), "conflicts are shown to the pool's keepers only");

    let (status, case) = app.post("/api/v1/enforcement/cases", Some(&handler), json!({ "alert": ids[0] })).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let case_id = case["id"].as_i64().unwrap();

    // Opened once, by the case's unit only.
    let open = |procedure: &str| json!({ "case": case_id, "procedure": procedure, "note": "适用简易程序" });
    let refused = app.post("/api/v1/compensation/matters", Some(&handler), open("fast")).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_procedure")));
    let refused = app.post("/api/v1/compensation/matters", Some(&other), open("simple")).await;
    assert_eq!(code_of(&refused), (StatusCode::NOT_FOUND, Some("case_not_found")));
    let (status, matter) = app.post("/api/v1/compensation/matters", Some(&handler), open("simple")).await;
    assert_eq!(status, StatusCode::CREATED, "{matter}");
    let id = matter["id"].as_i64().unwrap();
    assert_eq!((matter["stage"].as_str(), matter["procedure_label"].as_str()), (Some("assessing"), Some("简易程序")));
    assert_eq!(matter["actions"], json!(["draw", "assess", "terminate"]));
    let again = app.post("/api/v1/compensation/matters", Some(&handler), open("simple")).await;
    assert_eq!(code_of(&again), (StatusCode::CONFLICT, Some("case_has_matter")));

    // Experts first; the conflicted expert is never among the three eligible water experts.
    let assess =
        json!({ "action": "assess", "damage": "122000.50", "report": "专家评估：COD 超标排放造成岐江河段水体损害" });
    let refused = act(&app, id, &handler, assess.clone(), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("experts_required")));
    let refused = draw(&app, id, &handler, "assessment", 4, version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::CONFLICT, Some("not_enough_experts")));
    let (status, matter) = draw(&app, id, &handler, "assessment", 3, version(&matter)).await;
    assert_eq!(status, StatusCode::OK, "{matter}");
    let drawn = matter["assessment_experts"].as_array().unwrap();
    assert_eq!(drawn.len(), 3);
    assert!(drawn.iter().all(|n| !n.as_str().unwrap().contains("王水清")), "{drawn:?}");
    assert_eq!(
        (matter["draws"][0]["eligible"].as_u64(), matter["draws"][0]["reproduced"].as_bool()),
        (Some(3), Some(true))
    );

    let stale = act(&app, id, &handler, assess.clone(), version(&matter) - 1).await;
    assert_eq!(code_of(&stale), (StatusCode::CONFLICT, Some("matter_changed")));
    let (status, matter) = act(&app, id, &handler, assess, version(&matter)).await;
    assert_eq!(
        (status, matter["stage"].as_str(), matter["damage"].as_str()),
        (StatusCode::OK, Some("consulting"), Some("122000.50"))
    );

    // The agreement: the leader signs after a consultation round.
    let sign = json!({
        "action": "sign", "amount": "122000.50", "signed_on": "2026-12-04",
        "instalments": [{ "due": "2026-12-31", "amount": "60000" }, { "due": "2027-03-31", "amount": "62000.50" }],
        "remediation": "补种水生植物，清淤河道300米", "remediation_due": "2027-03-31"
    });
    let refused = act(&app, id, &handler, sign.clone(), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::FORBIDDEN, Some("leader_required")));
    let refused = act(&app, id, &leader, sign.clone(), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("consultation_required")));
    let consult = json!({ "action": "consult", "minutes": "第一轮磋商：企业认可损害数额，请求分期缴纳" });
    let (_, matter) = act(&app, id, &handler, consult, version(&matter)).await;
    let mut short = sign.clone();
    short["instalments"][1]["amount"] = json!("62000");
    let refused = act(&app, id, &leader, short, version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_instalments")));
    let (status, matter) = act(&app, id, &leader, sign, version(&matter)).await;
    assert_eq!((status, matter["stage"].as_str()), (StatusCode::OK, Some("performing")), "{matter}");
    assert_eq!(matter["agreement"]["schedule"].as_array().unwrap().len(), 2);

    // Payments: never more than owed, never in the future.
    let pay = |amount: &str, on: &str| json!({ "action": "pay", "amount": amount, "paid_on": on });
    let refused = act(&app, id, &handler, pay("130000", "2026-12-04"), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("overpayment")));
    let refused = act(&app, id, &handler, pay("100", "2026-12-05"), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date")));
    let (_, matter) = act(&app, id, &handler, pay("60000", "2026-12-04"), version(&matter)).await;
    assert_eq!((matter["paid"].as_str(), matter["outstanding"].as_str()), (Some("60000.00"), Some("62000.50")));
    assert_eq!(matter["agreement"]["schedule"][0]["paid"].as_str(), Some("60000.00"));

    // The remediation is reviewed by drawn experts; closing needs it passed and everything paid.
    let report = json!({ "action": "report_remediation", "note": "水生植物补种完成，清淤完成" });
    let (_, matter) = act(&app, id, &handler, report, version(&matter)).await;
    assert_eq!(matter["stage"].as_str(), Some("reviewing"));
    let review = json!({ "action": "review", "passed": true, "opinion": "水质恢复至 III 类，修复达标" });
    let refused = act(&app, id, &handler, review.clone(), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("experts_required")));
    let (_, matter) = draw(&app, id, &handler, "review", 3, version(&matter)).await;
    let (_, matter) = act(&app, id, &handler, review, version(&matter)).await;
    let close = json!({ "action": "close", "note": "协议履行完毕" });
    let refused = act(&app, id, &leader, close.clone(), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_paid_in_full")));
    let (_, matter) = act(&app, id, &handler, pay("62000.50", "2026-12-04"), version(&matter)).await;
    let (status, matter) = act(&app, id, &leader, close, version(&matter)).await;
    assert_eq!((status, matter["stage"].as_str()), (StatusCode::OK, Some("closed")), "{matter}");
    let kinds: Vec<&str> = matter["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "draw",
            "assessed",
            "consultation",
            "signed",
            "payment",
            "remediation_reported",
            "draw",
            "reviewed",
            "payment",
            "closed"
        ]
    );
    let refused = act(&app, id, &handler, pay("1", "2026-12-04"), version(&matter)).await;
    assert_eq!(code_of(&refused), (StatusCode::CONFLICT, Some("matter_closed")));

    // Scope and the report.
    assert_eq!(app.get(&format!("/api/v1/compensation/matters/{id}"), Some(&other)).await.0, StatusCode::NOT_FOUND);
    let (_, listed) = app.get("/api/v1/compensation/matters", Some(&other)).await;
    assert_eq!(listed, json!([]));
    let (status, report) = app.get("/api/v1/compensation/report?from=2026-12-01&to=2026-12-31", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let total = &report["total"];
    assert_eq!((total["matters"].as_u64(), total["closed"].as_u64()), (Some(1), Some(1)));
    assert_eq!((total["agreed"].as_str(), total["paid"].as_str()), (Some("122000.50"), Some("122000.50")));
    assert!(total["days_to_case"].as_f64().is_some(), "{report}");
    assert_eq!(report["rows"][0]["town"].as_str(), Some("古镇镇"));
    let (_, empty) = app.get("/api/v1/compensation/report?from=2027-01-01", Some(&leader)).await;
    assert_eq!(empty["total"]["matters"].as_u64(), Some(0));
    let bad = app.get("/api/v1/compensation/report?from=12/01", Some(&leader)).await;
    assert_eq!(code_of(&bad), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date")));
}

#[tokio::test]
async fn matters_are_opened_and_handled_through_the_pages() {
    use super::browser::{page, post_form};

    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (credit_code, ids) = park(&app).await;
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let leader = unit_leader(&app, "sthjj", "l-sthjj").await;
    let admin = app.login("admin").await;

    // The pool through its form: a refusal keeps what was typed.
    let fields = [("name", "周工"), ("specialty", "water"), ("employer", "省环科院"), ("conflicts", "123")];
    let (status, _, html) = post_form(&app, "/compensation/experts", &admin, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\"") && html.contains("value=\"省环科院\""), "{html}");
    let fields =
        [("name", "周工"), ("specialty", "water"), ("employer", "省环科院"), ("conflicts", credit_code.as_str())];
    let (status, location, _) = post_form(&app, "/compensation/experts", &admin, &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/compensation/experts"));
    let (_, html) = page(&app, "/compensation/experts", &admin).await;
    assert!(html.contains("周工") && html.contains("出库") && html.contains(&credit_code));

    // From the case page to an ordinary-procedure matter.
    let (_, case) = app.post("/api/v1/enforcement/cases", Some(&handler), json!({ "alert": ids[1] })).await;
    let case_page = format!("/enforcement/cases/{}", case["id"]);
    let (_, html) = page(&app, &case_page, &handler).await;
    assert!(html.contains("action=\"/compensation\"") && html.contains("启动生态环境损害赔偿"), "{html}");
    let open = [("case", &case["id"].to_string()[..]), ("procedure", "ordinary"), ("note", "")];
    let (status, location, _) = post_form(&app, "/compensation", &handler, &open).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/compensation/"), "{location}");
    let (status, _, html) = post_form(&app, "/compensation", &handler, &open).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("未能启动赔偿") && html.contains("已有赔偿事项"));
    let (_, html) = page(&app, &case_page, &handler).await;
    assert!(html.contains(&format!("href=\"{location}\"")), "the case links to its matter");

    // The assessment form: the ordinary procedure asks for the appraiser; a refusal keeps the values.
    let (_, html) = page(&app, &location, &handler).await;
    assert!(
        html.contains("id=\"assess-form\"")
            && html.contains("name=\"appraiser\"")
            && !html.contains("id=\"draw-form\"")
    );
    let version = |html: &str| {
        let needle = "name=\"version\" value=\"";
        let at = html.find(needle).unwrap() + needle.len();
        html[at..].split('"').next().unwrap().to_owned()
    };
    let v = version(&html);
    let fields =
        [("action", "assess"), ("version", v.as_str()), ("damage", "88000"), ("report", "鉴定报告"), ("appraiser", "")];
    let actions = format!("{location}/actions");
    let (status, _, html) = post_form(&app, &actions, &handler, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("一般程序须填写鉴定机构") && html.contains("value=\"88000\""), "{html}");
    let fields = [
        ("action", "assess"),
        ("version", v.as_str()),
        ("damage", "88000"),
        ("report", "鉴定报告"),
        ("appraiser", "省环境科学研究院"),
    ];
    let (status, _, _) = post_form(&app, &actions, &handler, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &location, &leader).await;
    assert!(html.contains("88000.00 元") && html.contains("id=\"consult-form\"") && html.contains("id=\"sign-form\""));
    let v = version(&html);
    let fields = [("action", "terminate"), ("version", v.as_str()), ("reason", "磋商不成，移送检察机关提起诉讼")];
    let (status, _, _) = post_form(&app, &actions, &leader, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, "/compensation", &leader).await;
    assert!(
        html.contains("结案")
            && html.contains("compensation-report")
            && html.contains("href=\"/compensation/experts\"")
    );
}

#[tokio::test]
async fn the_demo_park_has_a_closed_simple_procedure_and_one_in_consultation() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let now = mashangban_domain::time::now();
    mashangban_demo::load_monitoring(&app.store, &data, now).await.unwrap();
    mashangban_demo::load_enforcement(&app.store, now).await.unwrap();
    assert_eq!(mashangban_demo::load_compensation(&app.store, now).await.unwrap(), 2);
    assert_eq!(mashangban_demo::load_compensation(&app.store, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let (_, experts) = app.get("/api/v1/compensation/experts", Some(&admin)).await;
    assert_eq!(experts.as_array().unwrap().len(), 18);
    let (_, matters) = app.get("/api/v1/compensation/matters", Some(&admin)).await;
    let stages: Vec<&str> = matters.as_array().unwrap().iter().map(|m| m["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["consulting", "closed"], "{matters}");
    let closed = &matters[1];
    assert_eq!((closed["agreed"].as_str(), closed["paid"].as_str()), (Some("122600.00"), Some("122600.00")));
    let (_, detail) = app.get(&format!("/api/v1/compensation/matters/{}", closed["id"]), Some(&admin)).await;
    let draws = detail["draws"].as_array().unwrap();
    assert_eq!(draws.len(), 2, "assessment and review");
    for d in draws {
        assert_eq!(d["reproduced"].as_bool(), Some(true), "{d}");
        let names = d["experts"].to_string();
        assert!(!names.contains("钟思远"), "the expert with a conflict is never drawn: {names}");
    }
    let (_, report) = app.get("/api/v1/compensation/report", Some(&admin)).await;
    assert_eq!(report["total"]["matters"].as_u64(), Some(2));
    let enterprise = closed["credit_code"].as_str().unwrap();
    let (status, html) = super::browser::page(&app, &format!("/enterprises/{enterprise}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"compensation-matters\"") && html.contains(closed["number"].as_str().unwrap()));
    assert_eq!(report["total"]["agreed"].as_str(), Some("122600.00"));
}

/// A signed matter: two instalments (due 2026-12-31 and 2027-03-31) and the remediation due 2027-03-31.
async fn signed_matter(app: &App, handler: &Session, leader: &Session) -> Value {
    let (credit_code, ids) = park(app).await;
    pool(app, &credit_code).await;
    let (_, case) = app.post("/api/v1/enforcement/cases", Some(handler), json!({ "alert": ids[0] })).await;
    let open = json!({ "case": case["id"], "procedure": "simple" });
    let (_, matter) = app.post("/api/v1/compensation/matters", Some(handler), open).await;
    let id = matter["id"].as_i64().unwrap();
    let (_, matter) = draw(app, id, handler, "assessment", 3, version(&matter)).await;
    let assess = json!({ "action": "assess", "damage": "122000.50", "report": "专家评估意见" });
    let (_, matter) = act(app, id, handler, assess, version(&matter)).await;
    let consult = json!({ "action": "consult", "minutes": "企业认可损害数额" });
    let (_, matter) = act(app, id, handler, consult, version(&matter)).await;
    let sign = json!({
        "action": "sign", "amount": "122000.50", "signed_on": "2026-12-04",
        "instalments": [{ "due": "2026-12-31", "amount": "60000" }, { "due": "2027-03-31", "amount": "62000.50" }],
        "remediation": "补种水生植物，清淤河道300米", "remediation_due": "2027-03-31"
    });
    let (status, matter) = act(app, id, leader, sign, version(&matter)).await;
    assert_eq!(status, StatusCode::OK, "{matter}");
    matter
}

fn kinds_of(matter: &Value, kind: &str) -> usize {
    matter["history"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).count()
}

#[tokio::test]
async fn overdue_payments_and_remediation_are_supervised_once_and_resolved_when_met() {
    use mashangban_app::compensation::supervise_overdue;

    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let leader = unit_leader(&app, "sthjj", "l-sthjj").await;
    unit_handler(&app, "zrzyj", "h-zrzyj").await; // another unit, which sees none of it
    let matter = signed_matter(&app, &handler, &leader).await;
    let id = matter["id"].as_i64().unwrap();
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 0, "nothing due yet");

    // The first instalment is due on 12-31: pressed on the next day, once.
    app.set_time("2026-12-31T20:00:00+08:00");
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 0, "due today is not overdue");
    app.set_time("2027-01-01T09:00:00+08:00");
    // Sessions end while the clock jumps weeks ahead: sign in again.
    let (handler, other) = (app.login("h-sthjj").await, app.login("h-zrzyj").await);
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 1);
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 0, "once per obligation");
    let (status, open) = app.get("/api/v1/compensation/supervisions?open=true", Some(&handler)).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(
        (open[0]["obligation"].as_str(), open[0]["due"].as_str(), open[0]["unit"]["code"].as_str()),
        (Some("instalment:1"), Some("2026-12-31"), Some("sthjj"))
    );
    let (_, none) = app.get("/api/v1/compensation/supervisions", Some(&other)).await;
    assert_eq!(none, json!([]), "other units see none");
    // The handling unit was told in its inbox (督办), once; another unit was not.
    let (_, inbox) = app.get("/api/v1/inbox?kind=supervised", Some(&handler)).await;
    assert_eq!(inbox["total"], 1, "{inbox}");
    let entry = &inbox["entries"][0];
    let number = matter["number"].as_str().unwrap();
    assert_eq!(
        (entry["event_label"].as_str(), entry["link"].as_str(), entry["title"].as_str()),
        (
            Some("赔偿履行督办"),
            Some(format!("/compensation/{id}").as_str()),
            Some(format!("{number}：第1期赔偿金应于2026-12-31履行，已逾期").as_str())
        )
    );
    let (_, inbox) = app.get("/api/v1/inbox?kind=supervised", Some(&other)).await;
    assert_eq!(inbox["total"], 0, "{inbox}");
    let bad = app.get("/api/v1/compensation/supervisions?open=perhaps", Some(&handler)).await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    let (_, matter) = app.get(&format!("/api/v1/compensation/matters/{id}"), Some(&handler)).await;
    assert_eq!(kinds_of(&matter, "supervised"), 1);
    assert_eq!(matter["supervisions"][0]["open"].as_bool(), Some(true));
    let (_, html) = super::browser::page(&app, "/compensation", &handler).await;
    assert!(html.contains("id=\"supervisions\"") && html.contains("第1期赔偿金"), "{html}");

    // Paying the instalment resolves its 督办 in the same change.
    let pay = json!({ "action": "pay", "amount": "60000", "paid_on": "2027-01-01" });
    let (_, matter) = act(&app, id, &handler, pay, version(&matter)).await;
    assert_eq!(kinds_of(&matter, "supervision_resolved"), 1, "{matter}");
    assert_eq!(matter["supervisions"][0]["open"].as_bool(), Some(false));
    let (_, open) = app.get("/api/v1/compensation/supervisions?open=true", Some(&handler)).await;
    assert_eq!(open, json!([]));
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 0, "a paid instalment is not pressed again");

    // The second instalment and the remediation lapse together.
    app.set_time("2027-04-01T09:00:00+08:00");
    let handler = app.login("h-sthjj").await;
    assert_eq!(supervise_overdue(&app.state).await.unwrap(), 2);
    let report = json!({ "action": "report_remediation", "note": "修复完成" });
    let (_, matter) = act(&app, id, &handler, report, version(&matter)).await;
    let open: Vec<&str> = matter["supervisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["open"] == true)
        .map(|s| s["obligation"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["instalment:2"], "the remediation's 督办 is resolved by the report");
    let pay = json!({ "action": "pay", "amount": "62000.50", "paid_on": "2027-04-01" });
    let (_, matter) = act(&app, id, &handler, pay, version(&matter)).await;
    assert!(matter["supervisions"].as_array().unwrap().iter().all(|s| s["open"] == false), "{matter}");
    assert_eq!((kinds_of(&matter, "supervised"), kinds_of(&matter, "supervision_resolved")), (3, 3));
    let (_, html) = super::browser::page(&app, &format!("/compensation/{id}"), &handler).await;
    assert!(html.contains("逾期督办") && html.contains("已办结"), "{html}");
}
