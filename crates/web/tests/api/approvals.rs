//! 拿地即开工 through the API and the pages: a project from the land
//! transaction to the construction permit, each step issued by the
//! department owning it; refusals (prerequisite not issued, another
//! department's step, a time in the future, …) with their stable codes and
//! nothing written; the clock and the critical path worked by hand; two
//! concurrent issues of one step of which exactly one passes; the record
//! table and the reports; and the live stream of the groundbreaking wall.

use super::*;

/// The owning units of the bundled plan's steps, each with a handler account.
const OWNERS: &[&str] = &["zwfw-ggzy", "zrzyj", "fgj", "sws", "zjj-spk", "zjj-zaz", "zrzyj-djzx"];

/// (step, owner, issue time) of the 2021 record: the transaction at 09:00:00, the permit at 09:16:00.
const SIXTEEN: &[(&str, &str, &str)] = &[
    ("deal_confirmation", "zwfw-ggzy", "09:01:30"),
    ("project_filing", "fgj", "09:02:30"),
    ("drawing_review", "zjj-spk", "09:03:00"),
    ("transfer_contract", "zrzyj", "09:04:00"),
    ("quality_safety_supervision", "zjj-zaz", "09:05:00"),
    ("land_use_planning_permit", "zrzyj", "09:06:00"),
    ("land_payment_tax", "sws", "09:07:10"),
    ("construction_planning_permit", "zrzyj", "09:08:00"),
    ("property_certificate", "zrzyj-djzx", "09:13:40"),
    ("construction_permit", "zjj-spk", "09:16:00"),
];

fn time(hms: &str) -> String {
    format!("2021-06-18T{hms}+08:00")
}

/// As the API shows a time.
fn shown(hms: &str) -> String {
    format!("2021-06-18T{hms}.000+08:00")
}

struct Desk {
    admin: Session,
    units: std::collections::HashMap<&'static str, Session>,
}

async fn desk(app: &App) -> Desk {
    let mut units = std::collections::HashMap::new();
    for unit in OWNERS {
        units.insert(*unit, unit_handler(app, unit, &format!("h-{unit}")).await);
    }
    Desk { admin: app.login("admin").await, units }
}

async fn new_project(app: &App, who: &Session, name: &str, town: &str) -> i64 {
    let body = json!({ "name": name, "unit": town, "ledger_key": "ZS-2021-001" });
    let (status, view) = app.post("/api/v1/approvals/projects", Some(who), body).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["version"], 0);
    view["id"].as_i64().unwrap()
}

async fn issue(app: &App, d: &Desk, id: i64, step: &str, unit: &str, at: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/approvals/projects/{id}/steps/{step}/issue");
    let body = json!({ "at": time(at), "document_no": format!("{step}〔2021〕1号") });
    app.post(&path, Some(&d.units[unit]), body).await
}

#[tokio::test]
async fn a_project_to_the_permit_with_every_refusal_and_the_clock_by_hand() {
    let app = spawn().await;
    app.set_time(&time("09:00:30"));
    let d = desk(&app).await;
    let id = new_project(&app, &d.admin, "小榄镇智能家电制造中心", "xiaolan").await;

    // Bad projects and who may create them.
    let (status, err) = app.post("/api/v1/approvals/projects", Some(&d.admin), json!({ "name": " " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_project_name")));
    let (status, err) =
        app.post("/api/v1/approvals/projects", Some(&d.admin), json!({ "name": "项目", "unit": "zrzyj" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_district")));
    let (status, _) = app.post("/api/v1/approvals/projects", Some(&d.units["zrzyj"]), json!({ "name": "项目" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Nothing before the transaction; the desk records it.
    let (status, err) = issue(&app, &d, id, "deal_confirmation", "zwfw-ggzy", "09:00:10").await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("transaction_not_recorded")), "{err}");
    let path = format!("/api/v1/approvals/projects/{id}/transaction");
    let (status, view) = app.post(&path, Some(&d.admin), json!({ "at": time("09:00:00"), "version": 0 })).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!((view["running"].as_bool(), view["elapsed_seconds"].as_i64()), (Some(true), Some(30)));
    assert_eq!(view["elapsed_label"], "30秒");
    let (status, err) = app.post(&path, Some(&d.admin), json!({ "at": time("09:00:01") })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("transaction_already_recorded")));

    // An issue before its prerequisites, another department's step, a future time.
    let (status, err) = issue(&app, &d, id, "transfer_contract", "zrzyj", "09:00:20").await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("prerequisite_not_issued")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("签订成交确认书"), "{err}");
    let (status, err) = issue(&app, &d, id, "deal_confirmation", "zrzyj", "09:00:20").await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_step_owner")), "{err}");
    let (status, err) = issue(&app, &d, id, "deal_confirmation", "zwfw-ggzy", "09:01:30").await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("issued_in_future")), "{err}");
    // Malformed input.
    let bad = format!("/api/v1/approvals/projects/{id}/steps/deal_confirmation/issue");
    let (status, err) = app.post(&bad, Some(&d.units["zwfw-ggzy"]), json!({ "at": "昨天", "document_no": "1" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_time")));
    let (status, err) = app.post(&bad, Some(&d.units["zwfw-ggzy"]), json!({ "at": time("09:00:10") })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_document_number")));
    let (status, err) = app.post(&bad, Some(&d.units["zwfw-ggzy"]), json!({ "when": "x" })).await;
    assert!(status.is_client_error(), "{err}");
    let (status, err) = app.post(&bad, Some(&d.admin), json!({ "document_no": "1" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{err}");
    let unknown = format!("/api/v1/approvals/projects/{id}/steps/no_such_step/issue");
    let (status, err) = app.post(&unknown, Some(&d.units["zwfw-ggzy"]), json!({ "document_no": "1" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_step")));
    let (status, err) = app.get("/api/v1/approvals/projects/abc", Some(&d.admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("approval_project_not_found")));
    let (_, view) = app.get(&format!("/api/v1/approvals/projects/{id}"), Some(&d.admin)).await;
    assert_eq!(view["version"], 1, "refusals wrote nothing: {view}");
    assert_eq!(view["log"].as_array().unwrap().len(), 1);

    // The 2021 record, step by step, each by its own department.
    app.set_time(&time("09:30:00"));
    let start = format!("/api/v1/approvals/projects/{id}/steps/deal_confirmation/start");
    let (status, view) = app.post(&start, Some(&d.units["zwfw-ggzy"]), json!({ "at": time("09:00:20") })).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    for (step, unit, at) in SIXTEEN {
        let (status, view) = issue(&app, &d, id, step, unit, at).await;
        assert_eq!(status, StatusCode::OK, "{step}: {view}");
    }
    let (_, view) = app.get(&format!("/api/v1/approvals/projects/{id}"), Some(&d.units["sws"])).await;
    assert_eq!((view["elapsed_seconds"].as_i64(), view["elapsed_label"].as_str()), (Some(960), Some("16分钟")));
    assert_eq!(view["running"], false);
    assert_eq!(view["permit_at"], shown("09:16:00"));
    assert_eq!(view["planned_minutes"], 16);
    // By hand: the permit waited for the property certificate (09:13:40), which
    // waited for the tax (09:07:10), the contract (09:04:00), the deal (09:01:30).
    let path: Vec<(&str, i64)> = view["actual_critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["step"].as_str().unwrap(), l["seconds"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        path,
        [
            ("deal_confirmation", 90),
            ("transfer_contract", 150),
            ("land_payment_tax", 190),
            ("property_certificate", 390),
            ("construction_permit", 140)
        ]
    );
    let steps = view["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["status"] == "issued"));
    let filing = steps.iter().find(|s| s["code"] == "project_filing").unwrap();
    assert_eq!((filing["late"].as_bool(), filing["delay_seconds"].as_i64()), (Some(true), Some(30)));
    let tax = steps.iter().find(|s| s["code"] == "land_payment_tax").unwrap();
    assert_eq!((tax["yours"].as_bool(), tax["owner"]["code"].as_str()), (Some(true), Some("sws")));
    assert_eq!(view["log"].as_array().unwrap().len(), 12);
    assert!(view["log"][1]["recorded_by"].as_str().unwrap().contains("承办人"), "{}", view["log"][1]);
    let (status, err) = issue(&app, &d, id, "construction_permit", "zjj-spk", "09:20:00").await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("already_issued")));

    // A slower project: the record table puts the fastest first; the reports follow.
    let slow = new_project(&app, &d.admin, "翠亨新区智能装备产业园", "nanlang").await;
    app.post(
        &format!("/api/v1/approvals/projects/{slow}/transaction"),
        Some(&d.admin),
        json!({ "at": time("09:00:00") }),
    )
    .await;
    app.set_time(&time("12:00:00"));
    for (step, unit, at) in SIXTEEN {
        let later = if *step == "construction_permit" { "09:27:00" } else { at };
        let (status, view) = issue(&app, &d, slow, step, unit, later).await;
        assert_eq!(status, StatusCode::OK, "{step}: {view}");
    }
    let (_, records) = app.get("/api/v1/approvals/records", Some(&d.units["fgj"])).await;
    let table: Vec<(i64, i64, &str)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rank"].as_i64().unwrap(),
                r["project"]["id"].as_i64().unwrap(),
                r["project"]["elapsed_label"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(table, [(1, id, "16分钟"), (2, slow, "27分钟")]);
    let (_, reports) = app.get("/api/v1/approvals/reports", Some(&d.admin)).await;
    let districts: Vec<(&str, i64)> = reports["by_district"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["unit"]["code"].as_str().unwrap(), r["average_seconds"].as_i64().unwrap()))
        .collect();
    assert_eq!(districts, [("xiaolan", 960), ("nanlang", 27 * 60)]);
    // The permit step took 140 s, then 800 s on the slower project: 940 s of 2580 s.
    let zjj = reports["contributions"].as_array().unwrap().iter().find(|c| c["owner"]["code"] == "zjj-spk").unwrap();
    assert_eq!((zjj["critical_seconds"].as_i64(), zjj["projects"].as_i64()), (Some(940), Some(2)));
    assert_eq!(reports["late_steps"][0]["step"], "project_filing");
    assert_eq!(reports["late_steps"][0]["late"], 2);

    // The pages show the same.
    let Session(cookie) = &d.units["zjj-spk"];
    let page = app.http.get(app.url("/approvals")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("拿地即开工纪录榜") && html.contains("16分钟") && html.contains("27分钟"), "{html}");
    let page = app.http.get(app.url(&format!("/approvals/{id}"))).header("cookie", cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("实际关键路径") && html.contains("不动产首次登记") && html.contains("<svg"), "{html}");
}

#[tokio::test]
async fn the_owning_department_records_on_its_page() {
    let app = spawn().await;
    app.set_time(&time("09:10:00"));
    let d = desk(&app).await;
    let id = new_project(&app, &d.admin, "页面项目", "guzhen").await;
    let http = super::browser::no_redirects();
    let form = |who: &Session, path: String, fields: Vec<(&'static str, String)>| {
        let Session(cookie) = who;
        http.post(app.url(&path)).header("cookie", cookie.clone()).form(&fields).send()
    };
    let res =
        form(&d.admin, format!("/approvals/{id}/transaction"), vec![("at", "2021-06-18T09:00".into())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let fields = vec![("document_no", "中成交〔2021〕8号".to_owned()), ("at", "2021-06-18T09:01:30".into())];
    let res = form(&d.units["zrzyj"], format!("/approvals/{id}/steps/deal_confirmation/issue"), fields.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("其他单位不能记录"));
    let res =
        form(&d.units["zwfw-ggzy"], format!("/approvals/{id}/steps/deal_confirmation/issue"), fields).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, view) = app.get(&format!("/api/v1/approvals/projects/{id}"), Some(&d.admin)).await;
    let deal = &view["steps"][0];
    assert_eq!(
        (deal["issued_at"].as_str(), deal["document_no"].as_str()),
        (Some(shown("09:01:30").as_str()), Some("中成交〔2021〕8号"))
    );
}

#[tokio::test]
async fn two_concurrent_issues_of_one_step_pass_once() {
    let app = spawn().await;
    app.set_time(&time("09:10:00"));
    let d = desk(&app).await;
    let id = new_project(&app, &d.admin, "并发项目", "guzhen").await;
    app.post(
        &format!("/api/v1/approvals/projects/{id}/transaction"),
        Some(&d.admin),
        json!({ "at": time("09:00:00") }),
    )
    .await;
    let tries = (0..10).map(|n| {
        let path = format!("/api/v1/approvals/projects/{id}/steps/deal_confirmation/issue");
        let body = json!({ "at": time("09:01:00"), "document_no": format!("成交〔2021〕{n}号") });
        let who = &d.units["zwfw-ggzy"];
        let app = &app;
        async move { app.post(&path, Some(who), body).await }
    });
    let answers = futures_util::future::join_all(tries).await;
    let passed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(passed, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s != StatusCode::OK)
            .all(|(s, e)| *s == StatusCode::CONFLICT && e["code"] == "already_issued")
    );
    let (_, view) = app.get(&format!("/api/v1/approvals/projects/{id}"), Some(&d.admin)).await;
    assert_eq!((view["version"].as_i64(), view["log"].as_array().unwrap().len()), (Some(2), 2));
}

/// Reads the stream until the next `project` event; answers its data.
async fn next_project(res: &mut reqwest::Response) -> Value {
    next_event(res, "project").await.json()
}

#[tokio::test]
async fn the_live_wall_hears_an_issue_at_once() {
    let app = spawn().await;
    app.set_time(&time("09:10:00"));
    let d = desk(&app).await;
    let ours = new_project(&app, &d.admin, "集中开工一号", "guzhen").await;
    let other = new_project(&app, &d.admin, "集中开工二号", "xiaolan").await;
    for id in [ours, other] {
        app.post(
            &format!("/api/v1/approvals/projects/{id}/transaction"),
            Some(&d.admin),
            json!({ "at": time("09:00:00") }),
        )
        .await;
    }
    let Session(cookie) = &d.units["fgj"];
    let page = app
        .http
        .get(app.url(&format!("/approvals/live?projects={ours},{other}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("approvals-live.js") && html.contains("集中开工二号"), "{html}");
    let bad =
        app.http.get(app.url("/approvals/live/events?projects=1,x")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let url = app.url(&format!("/approvals/live/events?projects={ours},{other}"));
    let mut stream = app.http.get(&url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut first: Vec<i64> = Vec::new();
    for _ in 0..2 {
        first.push(next_project(&mut stream).await["id"].as_i64().unwrap());
    }
    first.sort_unstable();
    assert_eq!(first, [ours, other], "each project once at the start");

    let started = std::time::Instant::now();
    let (status, _) = issue(&app, &d, other, "deal_confirmation", "zwfw-ggzy", "09:01:00").await;
    assert_eq!(status, StatusCode::OK);
    let view = tokio::time::timeout(std::time::Duration::from_secs(5), next_project(&mut stream)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(view["id"], other);
    assert_eq!(view["steps"][0]["status"], "issued");
    assert_eq!(view["running"], true);
    println!("live wall: the issue reached the stream {took:?} after the request was sent");
    assert!(took < std::time::Duration::from_secs(1), "sent at once: {took:?}");
}

#[tokio::test]
async fn the_demo_loads_the_reports_record_table_once() {
    let app = spawn().await;
    let now = mashangban_domain::time::now();
    assert_eq!(mashangban_demo::load_approvals(&app.store, now).await.unwrap(), 4);
    assert_eq!(mashangban_demo::load_approvals(&app.store, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let (_, records) = app.get("/api/v1/approvals/records", Some(&admin)).await;
    let labels: Vec<&str> =
        records.as_array().unwrap().iter().map(|r| r["project"]["elapsed_label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["16分钟", "27分钟", "145分钟"]);
    let (_, projects) = app.get("/api/v1/approvals/projects", Some(&admin)).await;
    let under_way: Vec<&Value> = projects.as_array().unwrap().iter().filter(|p| p["running"] == true).collect();
    assert_eq!(under_way.len(), 1);
    assert_eq!(under_way[0]["issued"], 4);
}

async fn put_template(app: &App, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, "/api/v1/approvals/template", Some(who), Some(body)).await
}

/// The bundled plan with its first step's planned minutes changed (on the critical path).
fn edited_plan(minutes: u32) -> String {
    let bundled = mashangban_domain::approvals::BUNDLED_APPROVAL_PLAN;
    let edited = bundled.replacen("planned_minutes = 2\n", &format!("planned_minutes = {minutes}\n"), 1);
    assert_ne!(edited, bundled);
    edited
}

#[tokio::test]
async fn the_plan_template_is_edited_as_data_and_projects_keep_their_version() {
    let app = spawn().await;
    app.set_time(&time("08:00:00"));
    let d = desk(&app).await;
    let (status, first) = app.get("/api/v1/approvals/template", Some(&d.admin)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!((first["version"].as_i64(), first["in_force"].as_bool()), (Some(1), Some(true)));
    assert_eq!((first["created_by"].as_str(), first["planned_minutes"].as_i64()), (Some("系统（内置模板）"), Some(16)));
    let old = new_project(&app, &d.admin, "按旧模板的项目", "xiaolan").await;

    // A new version: the first step takes 5 minutes instead of 2.
    let (status, err) = put_template(&app, &d.units["zrzyj"], json!({ "body": edited_plan(5) })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{err}");
    app.set_time(&time("08:10:00"));
    let (status, second) = put_template(&app, &d.admin, json!({ "body": edited_plan(5), "base": first["id"] })).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!((second["version"].as_i64(), second["planned_minutes"].as_i64()), (Some(2), Some(19)));
    assert_eq!((second["supersedes"].clone(), second["in_force"].as_bool()), (first["id"].clone(), Some(true)));
    assert_eq!(second["created_at"], shown("08:10:00"));
    assert!(second["created_by"].as_str().unwrap().contains("admin"), "{second}");
    let new = new_project(&app, &d.admin, "按新模板的项目", "xiaolan").await;

    // Bad templates are refused with their codes; nothing is stored.
    let bundled = mashangban_domain::approvals::BUNDLED_APPROVAL_PLAN;
    let cycle = bundled.replacen("prerequisites = []", "prerequisites = [\"construction_permit\"]", 1);
    let unknown_prerequisite = bundled.replacen("prerequisites = []", "prerequisites = [\"no_such_step\"]", 1);
    let unknown_owner = bundled.replacen("owner = \"zwfw-ggzy\"", "owner = \"no-such-unit\"", 1);
    let mut too_many = String::from("code = \"many\"\nname = \"步骤过多\"\n");
    for i in 0..=mashangban_domain::approvals::MAX_STEPS {
        too_many.push_str(&format!(
            "[[step]]\ncode = \"s{i}\"\nname = \"步骤{i}\"\nowner = \"zrzyj\"\nplanned_minutes = 1\n"
        ));
    }
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (cycle, StatusCode::UNPROCESSABLE_ENTITY, "prerequisite_cycle"),
        (unknown_prerequisite, StatusCode::UNPROCESSABLE_ENTITY, "unknown_prerequisite"),
        (unknown_owner, StatusCode::UNPROCESSABLE_ENTITY, "unknown_owner"),
        (too_many, StatusCode::UNPROCESSABLE_ENTITY, "invalid_approval_template"),
        ("code = \"x\"\nname = [".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_approval_template"),
        ("code = \"x\"\nname = \"空\"\n".into(), StatusCode::UNPROCESSABLE_ENTITY, "empty_approval_template"),
    ];
    for (body, want_status, want) in cases {
        let (status, err) = put_template(&app, &d.admin, json!({ "body": body })).await;
        assert_eq!((status, err["code"].as_str()), (want_status, Some(want)), "{err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty() && !m.is_ascii()), "{err}");
    }
    let (status, err) = put_template(&app, &d.admin, json!({ "body": edited_plan(7), "base": first["id"] })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("approval_template_changed")), "{err}");
    let (status, err) = put_template(&app, &d.admin, json!({ "body": "x".repeat(70 * 1024) })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    let (_, current) = app.get("/api/v1/approvals/template", Some(&d.admin)).await;
    assert_eq!(current["id"], second["id"], "refusals stored nothing");

    // The old project keeps the old plan, the new one follows the new plan.
    let (_, old_view) = app.get(&format!("/api/v1/approvals/projects/{old}"), Some(&d.admin)).await;
    let (_, new_view) = app.get(&format!("/api/v1/approvals/projects/{new}"), Some(&d.admin)).await;
    assert_eq!((old_view["template_version"].as_i64(), old_view["planned_minutes"].as_i64()), (Some(1), Some(16)));
    assert_eq!((new_view["template_version"].as_i64(), new_view["planned_minutes"].as_i64()), (Some(2), Some(19)));
    assert_eq!(
        (old_view["steps"][0]["planned_minutes"].as_i64(), new_view["steps"][0]["planned_minutes"].as_i64()),
        (Some(2), Some(5))
    );

    let (_, versions) = app.get("/api/v1/approvals/template/versions", Some(&d.units["zrzyj"])).await;
    let rows: Vec<(i64, i64, bool)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["projects"].as_i64().unwrap(), v["in_force"].as_bool().unwrap()))
        .collect();
    assert_eq!(rows, [(2, 1, true), (1, 1, false)]);
    let path = format!("/api/v1/approvals/template/versions/{}", first["id"]);
    let (_, v1) = app.get(&path, Some(&d.admin)).await;
    assert_eq!((v1["body"].as_str(), v1["in_force"].as_bool()), (Some(bundled), Some(false)));
    let (status, err) = app.get("/api/v1/approvals/template/versions/x", Some(&d.admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("approval_template_not_found")));

    // The page: a refused text stays in the editor with its message; a good one is the next version.
    let http = super::browser::no_redirects();
    let Session(cookie) = &d.admin;
    let typed = bundled.replacen("owner = \"zwfw-ggzy\"", "owner = \"no-such-unit\"", 1).replace('\n', "\r\n");
    let fields = [("body", typed.clone()), ("base", second["id"].to_string())];
    let res = http.post(app.url("/approvals/template")).header("cookie", cookie).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("不在组织架构中") && page.contains("no-such-unit"), "the message and the typed text");
    let fields = [("body", edited_plan(4).replace('\n', "\r\n")), ("base", second["id"].to_string())];
    let res = http.post(app.url("/approvals/template")).header("cookie", cookie).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, third) = app.get("/api/v1/approvals/template", Some(&d.admin)).await;
    assert_eq!((third["version"].as_i64(), third["body"].as_str()), (Some(3), Some(edited_plan(4).as_str())));
    let res = http.get(app.url("/approvals/template")).header("cookie", cookie).send().await.unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("第3版") && page.contains("template-form"), "{page}");
    let Session(cookie) = &d.units["zrzyj"];
    let old_page = app.url(&format!("/approvals/template?version={}", first["id"]));
    let res = http.get(old_page).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("历史版本") && !page.contains("template-form"), "a reader sees no editor");
}

#[tokio::test]
async fn the_record_table_and_reports_export_as_one_workbook_with_the_page_figures() {
    use mashangban_sheet::{Cell, Limits, open_xlsx};
    let app = spawn().await;
    let now = mashangban_domain::time::now();
    mashangban_demo::load_approvals(&app.store, now).await.unwrap();
    let reader = app.login("handler").await;
    let page = app.http.get(app.url("/approvals")).header("cookie", &reader.0).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("href=\"/approvals/export\""), "the overview links the export");
    let (_, reports) = app.get("/api/v1/approvals/reports", Some(&reader)).await;
    for path in ["/approvals/export", "/api/v1/approvals/export"] {
        let res = app.http.get(app.url(path)).header("cookie", &reader.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        let bytes = res.bytes().await.unwrap().to_vec();
        let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
        let names: Vec<String> = book.sheets().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, ["纪录榜", "各区镇用时", "关键路径部门", "超时步骤"]);
        let rows = |book: &mut mashangban_sheet::Workbook, name: &str| -> Vec<Vec<Cell>> {
            let rows: Vec<_> = book.rows_by_name(name).unwrap().map(Result::unwrap).collect();
            // Two preamble lines, the header, then the data (columns from 1, kept from 0 here).
            assert!(matches!(rows[0].get(1), Cell::Text(t) if t.starts_with("拿地即开工")), "{name}: {:?}", rows[0]);
            rows.into_iter().skip(3).map(|r| (1..=9).map(|c| r.get(c).clone()).collect()).collect()
        };
        let records = rows(&mut book, "纪录榜");
        let shown: Vec<(Cell, Cell)> = records.iter().map(|r| (r[0].clone(), r[7].clone())).collect();
        assert_eq!(
            shown,
            [
                (Cell::Number(1.0), Cell::Text("16分钟".into())),
                (Cell::Number(2.0), Cell::Text("27分钟".into())),
                (Cell::Number(3.0), Cell::Text("145分钟".into()))
            ]
        );
        assert_eq!(records[0][6], Cell::Number(960.0));
        assert!(
            matches!(records[0][4], Cell::DateTime(t) if t.to_string() == "2021-06-18 09:00:00"),
            "{:?}",
            records[0][4]
        );
        let districts = rows(&mut book, "各区镇用时");
        assert_eq!(districts.len(), reports["by_district"].as_array().unwrap().len());
        for (row, d) in districts.iter().zip(reports["by_district"].as_array().unwrap()) {
            assert_eq!(row[0], Cell::Text(d["unit"]["name"].as_str().unwrap_or("未指定").to_owned()));
            let average = d["average_seconds"].as_f64().map_or(Cell::Empty, Cell::Number);
            assert_eq!((row[1].clone(), row[4].clone()), (Cell::Number(d["projects"].as_f64().unwrap()), average));
        }
        let contributions = rows(&mut book, "关键路径部门");
        assert!(!contributions.is_empty());
        for (row, c) in contributions.iter().zip(reports["contributions"].as_array().unwrap()) {
            assert_eq!(row[0], Cell::Text(c["owner"]["code"].as_str().unwrap().to_owned()));
            assert_eq!(row[3], Cell::Number(c["critical_seconds"].as_f64().unwrap()));
            assert_eq!(row[5], Cell::Number(c["share_permille"].as_f64().unwrap() / 10.0));
        }
        let late = rows(&mut book, "超时步骤");
        assert_eq!(late.len(), reports["late_steps"].as_array().unwrap().len());
        for (row, l) in late.iter().zip(reports["late_steps"].as_array().unwrap()) {
            assert_eq!(
                (row[0].clone(), row[2].clone()),
                (Cell::Text(l["step"].as_str().unwrap().into()), Cell::Number(l["late"].as_f64().unwrap()))
            );
        }
    }
    let (status, _) = app.get("/api/v1/approvals/export", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A form's fields as a browser posts them: (name, value) in page order.
pub(super) type Fields = Vec<(String, String)>;

/// The fields a browser without script would post from the form `id` of a
/// page: text and hidden inputs, checked boxes and radios, selected options.
pub(super) fn form_fields(html: &str, id: &str) -> Fields {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no form {id}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&#60;", "<")
            .replace("&gt;", ">")
            .replace("&#62;", ">")
            .replace("&amp;", "&")
            .replace("&#38;", "&")
    };
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let has = |tag: &str, name: &str| tag.contains(&format!(" {name}>")) || tag.contains(&format!(" {name} "));
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap() + 1;
        let tag = &rest[..end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value")) {
                let sent = match kind.as_str() {
                    "checkbox" | "radio" => has(tag, "checked"),
                    _ => true,
                };
                if sent {
                    fields.push((name, value));
                }
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[..rest.find("</select>").unwrap()];
            let selected =
                body.split("<option").skip(1).find(|o| o.contains(" selected>")).or(body.split("<option").nth(1));
            fields.push((name, selected.and_then(|o| attr(o, "value")).unwrap_or_default()));
        } else if tag.starts_with("<textarea") {
            let body = &rest[end..rest.find("</textarea>").unwrap()];
            fields.push((attr(tag, "name").unwrap(), unescape(body)));
        }
        rest = &rest[end..];
    }
    fields
}

/// Posts `fields` (as [`form_fields`] reads them) to `path` as `who`: (status, location, body).
pub(super) async fn post_fields(
    app: &App,
    path: &str,
    who: &Session,
    fields: &[(String, String)],
) -> (StatusCode, String, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    super::browser::post_form(app, path, who, &fields).await
}

/// Sets a field (the first of its name), or adds it.
pub(super) fn set(fields: &mut Fields, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

pub(super) fn get<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// The row of the table holding step `code`.
fn row_of(fields: &[(String, String)], code: &str) -> usize {
    let name = fields.iter().find(|(n, v)| n.ends_with("_code") && n.starts_with('s') && v == code).unwrap().0.clone();
    name[1..name.len() - "_code".len()].parse().unwrap()
}

#[tokio::test]
async fn the_plan_template_is_edited_as_a_table_of_rows_without_script() {
    let app = spawn().await;
    app.set_time(&time("08:00:00"));
    let d = desk(&app).await;
    let http = super::browser::no_redirects();
    let Session(cookie) = &d.admin;
    let page = |path: &'static str| {
        let req = http.get(app.url(path)).header("cookie", cookie.clone());
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let post = |fields: Fields| {
        let req = http.post(app.url("/approvals/template/steps")).header("cookie", cookie.clone()).form(&fields);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };
    let in_force = || async { app.get("/api/v1/approvals/template", Some(&d.admin)).await.1 };

    // The table holds the version in force: one row per step, owners chosen, the permit the end step.
    let html = page("/approvals/template").await;
    let fields = form_fields(&html, "steps-form");
    let first = in_force().await;
    assert_eq!(get(&fields, "base"), first["id"].to_string());
    let (deal, permit, filing) = (
        row_of(&fields, "deal_confirmation"),
        row_of(&fields, "construction_permit"),
        row_of(&fields, "project_filing"),
    );
    assert_eq!(
        (get(&fields, &format!("s{deal}_owner")), get(&fields, &format!("s{deal}_minutes"))),
        ("zwfw-ggzy", "2")
    );
    assert_eq!(get(&fields, "end"), permit.to_string());
    let waits: Vec<&str> =
        fields.iter().filter(|(n, _)| *n == format!("s{permit}_pre")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(waits.len(), 4, "{waits:?}");
    assert!(html.contains("zjj-spk") && html.contains("（请选择）"), "owners are a select of the units");
    // With script on, approval-template.js shows 「添加一行」 and the rows' 删除 buttons; without it they stay hidden.
    assert!(html.contains("/assets/js/approval-template.js?v=") && html.contains("id=\"add-row\" hidden>"), "{html}");
    assert!(html.contains("class=\"link remove-row\" aria-label=\"删除第1行\" hidden>"), "{html}");
    // 「更新表格」 shows without script (the script hides it).
    assert!(html.contains("id=\"do-update-rows\">更新表格（不保存）</button>"), "{html}");
    let res = http.get(app.url("/assets/js/approval-template.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let script = res.text().await.unwrap();
    assert!(script.contains("function renumber()") && script.contains("'do-update-rows'"));

    // Saved unchanged: nothing stored.
    let mut save = fields.clone();
    save.push(("op".into(), "save".into()));
    let (status, _) = post(save.clone()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(in_force().await["version"], 1, "the same steps are no new version");

    // A duration edited in the table: the next version, the plan 3 minutes longer.
    set(&mut save, &format!("s{deal}_minutes"), "5");
    let (status, body) = post(save.clone()).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let second = in_force().await;
    assert_eq!((second["version"].as_i64(), second["planned_minutes"].as_i64()), (Some(2), Some(19)));
    assert_eq!(second["step_count"], 10);
    let path = format!("/api/v1/approvals/template/versions/{}", first["id"]);
    assert_eq!(app.get(&path, Some(&d.admin)).await.1["body"], mashangban_domain::approvals::BUNDLED_APPROVAL_PLAN);

    // 「更新表格」 on the table opened before that save: the rows come back on the base they were typed
    // on, not the version now in force, so saving them is refused instead of replacing that version.
    let (status, html) = post(fields.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let mut arranged = form_fields(&html, "steps-form");
    assert_eq!(get(&arranged, "base"), first["id"].to_string());
    arranged.push(("op".into(), "save".into()));
    let (status, body) = post(arranged).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(in_force().await["version"], 2);

    // Refusals: the message beside the row and field, everything typed kept, nothing stored.
    let html = page("/approvals/template").await;
    let mut fields = form_fields(&html, "steps-form");
    fields.push(("op".into(), "save".into()));
    let contract = row_of(&fields, "transfer_contract");
    let refused = |edit: &dyn Fn(&mut Fields)| {
        let mut typed = fields.clone();
        set(&mut typed, &format!("s{contract}_name"), "改过的出让合同");
        edit(&mut typed);
        post(typed)
    };
    let (status, html) = refused(&|f| set(f, &format!("s{deal}_minutes"), "两分钟")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(&format!("id=\"s{deal}-error\">步骤“deal_confirmation”的计划用时应为")), "{html}");
    assert!(html.contains("value=\"两分钟\"") && html.contains("value=\"改过的出让合同\""), "typed values kept");
    assert!(html.contains(&format!("第{}行：", deal + 1)), "the summary names the row");

    let (status, html) = refused(&|f| set(f, &format!("s{contract}_owner"), "no-such-unit")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!("id=\"s{contract}-error\">步骤“改过的出让合同”的负责单位“no-such-unit”不在组织架构中")),
        "{html}"
    );
    assert!(
        html.contains("<option data-unknown value=\"no-such-unit\" selected>no-such-unit（不在组织架构中或已停用）"),
        "kept"
    );

    let (status, html) = refused(&|f| f.push((format!("s{deal}_pre"), permit.to_string()))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("前置关系存在循环") && html.contains(&format!("name=\"s{deal}_pre\" value=\"{permit}\" checked")),
        "{html}"
    );

    let (status, html) = refused(&|f| set(f, "end", &deal.to_string())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!(
            "id=\"s{deal}-error\">步骤“签订成交确认书”被选为终点步骤，但步骤“改过的出让合同”以它为前置步骤"
        )),
        "{html}"
    );

    let (status, html) = refused(&|f| set(f, &format!("s{contract}_code"), "deal_confirmation")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(&format!("id=\"s{contract}-error\">步骤编码“deal_confirmation”重复")), "{html}");

    // An edit made on a version no longer in force: 409, the version in force with what was typed beside it.
    let (status, html) = refused(&|f| set(f, "base", &first["id"].to_string())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("审批计划模板已被他人修改") && html.contains("您填写的：改过的出让合同"), "{html}");
    assert!(!html.contains("value=\"改过的出让合同\""), "the form holds the version in force: {html}");
    assert_eq!(in_force().await["id"], second["id"], "refusals stored nothing");

    // 「更新表格」: the permit moved to the top, the project filing deleted, three blank rows; nothing saved.
    let mut update = fields.clone();
    set(&mut update, "op", "rows");
    set(&mut update, "add", "3");
    set(&mut update, &format!("s{permit}_order"), "1");
    update.push((format!("s{filing}_delete"), "1".into()));
    let (status, html) = post(update).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(in_force().await["id"], second["id"]);
    let mut moved = form_fields(&html, "steps-form");
    assert_eq!(get(&moved, "s0_code"), "construction_permit");
    assert_eq!(get(&moved, "end"), "0");
    assert!(moved.iter().all(|(_, v)| v != "project_filing"), "deleted");
    let blank = (0..20).filter(|n| moved.iter().any(|(f, _)| *f == format!("s{n}_code"))).count();
    assert_eq!(blank, 9 + 2 + 3, "nine steps, the two blank rows and three more");
    // A new step in a blank row, the permit waiting for it.
    for (field, value) in [("code", "fire_review"), ("name", "消防设计审查"), ("owner", "zjj-spk"), ("minutes", "4")]
    {
        set(&mut moved, &format!("s9_{field}"), value);
    }
    moved.push(("s0_pre".into(), "9".into()));
    moved.push(("op".into(), "save".into()));
    let (status, body) = post(moved).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let third = in_force().await;
    assert_eq!((third["version"].as_i64(), third["step_count"].as_i64()), (Some(3), Some(10)));
    let template = mashangban_domain::approvals::parse_template_toml(third["body"].as_str().unwrap()).unwrap();
    assert_eq!(template.steps()[0].code, "construction_permit");
    assert!(template.steps()[0].prerequisites.contains(&"fire_review".to_owned()));
    assert!(!template.steps().iter().any(|s| s.code == "project_filing"));
    assert_eq!(template.end_step().code, "construction_permit");

    // A reader sees no editor and may not post; a malformed table is a 400 page.
    let Session(reader) = &d.units["zrzyj"];
    let res = http.get(app.url("/approvals/template")).header("cookie", reader).send().await.unwrap();
    let html = res.text().await.unwrap();
    assert!(!html.contains("steps-form") && !html.contains("approval-template.js"), "{html}");
    let res =
        http.post(app.url("/approvals/template/steps")).header("cookie", reader).form(&fields).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, _) = post(vec![("s99999_code".into(), "x".into()), ("op".into(), "save".into())]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(in_force().await["id"], third["id"]);
}

#[tokio::test]
async fn two_people_edit_the_template_the_second_sees_the_version_in_force_with_what_they_typed_beside_it() {
    use super::browser::page;
    let app = spawn().await;
    let (a_session, b_session) = (app.login("admin").await, app.login("admin").await);
    let in_force = || async { app.get("/api/v1/approvals/template", Some(&a_session)).await.1 };
    let path = "/approvals/template";
    let steps = "/approvals/template/steps";

    // A and B open the editors on version 1.
    let (_, html) = page(&app, path, &a_session).await;
    let mut a = form_fields(&html, "steps-form");
    let (_, html) = page(&app, path, &b_session).await;
    let mut b = form_fields(&html, "steps-form");
    let b_text = form_fields(&html, "template-form");
    let (contract, deal) = (row_of(&a, "transfer_contract"), row_of(&a, "deal_confirmation"));
    let deal_minutes = get(&b, &format!("s{deal}_minutes")).to_owned();

    // A renames the contract step and saves version 2.
    set(&mut a, &format!("s{contract}_name"), "A改的出让合同");
    a.push(("op".into(), "save".into()));
    let (status, _, body) = post_fields(&app, steps, &a_session, &a).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(in_force().await["version"], 2);

    // B, on version 1: another name for it, the deal's minutes typed as the same number, a new step.
    set(&mut b, &format!("s{contract}_name"), "B改的出让合同");
    set(&mut b, &format!("s{deal}_minutes"), &format!("0{deal_minutes}"));
    let blank = (0..40)
        .find(|n| get(&b, &format!("s{n}_code")).is_empty() && b.iter().any(|(f, _)| *f == format!("s{n}_code")))
        .unwrap();
    for (field, value) in [("code", "fire_review"), ("name", "消防设计审查"), ("owner", "zjj-spk"), ("minutes", "4")]
    {
        set(&mut b, &format!("s{blank}_{field}"), value);
    }
    // The permit waits for it, as the end step must; the contract's pre-review is switched.
    b.push((format!("s{}_pre", row_of(&b, "construction_permit")), blank.to_string()));
    let review = format!("s{contract}_pre_review");
    let reviewed = b.iter().any(|(f, _)| *f == review);
    match reviewed {
        true => b.retain(|(f, _)| *f != review),
        false => b.push((review, "1".into())),
    }
    b.push(("op".into(), "save".into()));
    let (status, _, html) = post_fields(&app, steps, &b_session, &b).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("保存前，审批计划模板已被他人修改（现为第2版）"), "{html}");
    let shown = form_fields(&html, "steps-form");
    assert_eq!(get(&shown, "base"), in_force().await["id"].to_string(), "the table at the version in force");
    let row = row_of(&shown, "transfer_contract");
    assert_eq!(get(&shown, &format!("s{row}_name")), "A改的出让合同");
    assert!(html.contains(&format!("id=\"typed-s{row}_name\">您填写的：B改的出让合同")), "{html}");
    assert!(!html.contains(&format!("id=\"typed-s{}_minutes\"", row_of(&shown, "deal_confirmation"))), "{html}");
    assert!(html.contains("您填写的步骤（最新版本中没有）：fire_review 消防设计审查"), "{html}");
    // The steps the permit waits for and the contract's pre-review, typed, beside the rows; the places
    // and the end step, unchanged, show nothing.
    let permit = row_of(&shown, "construction_permit");
    let waits =
        "construction_planning_permit、fire_review、project_filing、property_certificate、quality_safety_supervision";
    assert!(html.contains(&format!("id=\"typed-s{permit}_pre\">您填写的：{waits}")), "{html}");
    let switched = if reviewed { "不可容缺预审" } else { "可容缺预审" };
    assert!(html.contains(&format!("id=\"typed-s{row}_pre_review\">您填写的：{switched}")), "{html}");
    assert!(!html.contains("_order\">您填写的") && !html.contains("_end\">您填写的"), "{html}");
    assert!(shown.iter().all(|(_, v)| v != "fire_review"), "the form holds the version in force");
    assert_eq!(in_force().await["version"], 2, "nothing of A's overwritten");

    // B retypes the name in the table as shown and saves version 3 on it.
    let mut again = shown;
    set(&mut again, &format!("s{row}_name"), "B改的出让合同");
    again.push(("op".into(), "save".into()));
    let (status, _, body) = post_fields(&app, steps, &b_session, &again).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let third = in_force().await;
    assert_eq!(third["version"], 3);
    let body = app.get(&format!("/api/v1/approvals/template/versions/{}", third["id"]), Some(&a_session)).await.1;
    assert!(body["body"].as_str().unwrap().contains("B改的出让合同"), "{body}");

    // The TOML editor opened on version 1 likewise: the text in force, what was typed beside it.
    let mut text = b_text;
    let typed = get(&text, "body").replace("出让合同", "B的TOML合同");
    set(&mut text, "body", &typed);
    let (status, _, html) = post_fields(&app, path, &b_session, &text).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("审批计划模板已被他人修改（现为第3版）") && html.contains("id=\"typed-body\""), "{html}");
    let shown = form_fields(&html, "template-form");
    assert!(get(&shown, "body").contains("B改的出让合同") && !get(&shown, "body").contains("B的TOML合同"));
    assert_eq!(get(&shown, "base"), third["id"].to_string());
    let (status, _, body) = post_fields(&app, path, &b_session, &shown).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(in_force().await["version"], 3, "the text in force saved again is no new version");
}
