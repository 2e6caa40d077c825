//! Command centres (指挥部) through the API: the bundled centres and their
//! edits, targets and tasks with every refusal (out of scope 404, bad input
//! 422, stale state 409, not the office 403), and the story of issue 14: the
//! water office sets a target on creeks and assigns a task to a town, the
//! town reports, a creek moves stage through the ledger API, and the target's
//! progress, forecast and the town ranking follow.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{App, Session, spawn, unit_handler};

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// A creek of `town` (a town code), in stage 整治施工 once moved with these values.
fn creek(n: u32, town: &str) -> Value {
    json!({ "values": {
        "creek_code": format!("HY442000{n:03}"),
        "name": format!("测试涌{n}号"),
        "town": town,
        "cluster": "central",
        "category": "substandard",
        "river_chief": "陈河长",
        "target_date": "2026-12-31",
        "target_class": "5",
        "measures": "截污纳管、清淤疏浚",
        "budget": "500",
        "responsible_unit": "swuj",
        "plan_approved_on": "2026-03-01",
        "start_on": "2026-04-01",
    }})
}

#[tokio::test]
async fn centres_are_bundled_and_only_administrators_edit_them() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let handler = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let (status, centres) = app.get("/api/v1/command/centres", Some(&handler)).await;
    assert_eq!(status, StatusCode::OK, "{centres}");
    let codes: Vec<&str> = centres.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["investment", "parks", "water"]);
    let water = centres.as_array().unwrap().iter().find(|c| c["code"] == "water").unwrap();
    assert_eq!(water["office"]["code"], "swuj");
    assert_eq!(water["is_office"], false);
    assert!(water["towns"].as_array().unwrap().iter().any(|t| t["code"] == "guzhen"), "every town by default");
    let operator = app.login("operator").await;
    assert_eq!(
        code(&app.get("/api/v1/command/centres", Some(&operator)).await),
        (StatusCode::FORBIDDEN, Some("permission_denied"))
    );
    assert_eq!(
        code(&app.get("/api/v1/command/centres/nosuch", Some(&admin)).await),
        (StatusCode::NOT_FOUND, Some("command_centre_not_found"))
    );

    let body = |version: i64, office: &str| {
        json!({
            "version": version,
            "name": "水污染治理指挥部",
            "commanders": [{ "name": "市长", "title": "总指挥" }],
            "office_unit": office,
            "member_units": ["swuj", "sthjj"],
            "towns": ["guzhen", "xiaolan"],
            "ledger_types": ["creek", "outlet"],
        })
    };
    assert_eq!(
        code(&put(&app, "/api/v1/command/centres/water", &handler, body(1, "swuj")).await),
        (StatusCode::FORBIDDEN, Some("permission_denied"))
    );
    assert_eq!(
        code(&put(&app, "/api/v1/command/centres/water", &admin, body(1, "nosuch")).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
    );
    let (status, saved) = put(&app, "/api/v1/command/centres/water", &admin, body(1, "swuj")).await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(2)), "{saved}");
    let towns: Vec<&str> = saved["towns"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(towns, ["guzhen", "xiaolan"]);
    assert_eq!(
        code(&put(&app, "/api/v1/command/centres/water", &admin, body(1, "swuj")).await),
        (StatusCode::CONFLICT, Some("command_centre_changed"))
    );
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&admin)).await;
    let actions: Vec<&str> = d["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["centre_saved", "centre_installed"], "newest first");
}

#[tokio::test]
async fn tasks_are_assigned_reported_urged_supervised_and_done_within_their_scope() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let tasks = "/api/v1/command/centres/water/tasks";
    let task = |title: &str, unit: &str, days: u32| json!({ "title": title, "unit": unit, "working_days": days });

    assert_eq!(
        code(&app.post(tasks, Some(&guzhen), task("排查", "guzhen", 5)).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    assert_eq!(
        code(&app.post(tasks, Some(&office), task("排查", "guzhen", 0)).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_working_days"))
    );
    assert_eq!(
        code(&app.post(tasks, Some(&office), task("排查", "nosuch", 5)).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
    );
    assert_eq!(
        code(&app.post(tasks, Some(&office), task(" ", "guzhen", 5)).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required"))
    );
    let mut linked = task("排查", "guzhen", 5);
    linked["ledger_ref"] = json!("creek:HY442000999");
    assert_eq!(
        code(&app.post(tasks, Some(&office), linked).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_ledger_item"))
    );
    assert_eq!(
        code(&app.post("/api/v1/command/centres/nosuch/tasks", Some(&office), task("排查", "guzhen", 5)).await),
        (StatusCode::NOT_FOUND, Some("command_centre_not_found"))
    );

    // Five working days from Friday 4 December: Friday 11 December, end of the working day.
    let (status, created) = app.post(tasks, Some(&office), task("古镇镇排口排查", "guzhen", 5)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["due_at"].as_str().unwrap().starts_with("2026-12-11T"), "{created}");
    assert_eq!((created["state"].as_str(), created["overdue"].as_bool()), (Some("assigned"), Some(false)));
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/command/tasks/{id}");

    // Scope: another town sees nothing of it.
    assert_eq!(code(&app.get(&path, Some(&xiaolan)).await), (StatusCode::NOT_FOUND, Some("command_task_not_found")));
    assert_eq!(
        code(&app.post(&format!("{path}/report"), Some(&xiaolan), json!({ "note": "x" })).await),
        (StatusCode::NOT_FOUND, Some("command_task_not_found"))
    );
    let (_, theirs) = app.get(tasks, Some(&xiaolan)).await;
    assert_eq!(theirs, json!([]));
    let (_, ours) = app.get(tasks, Some(&guzhen)).await;
    assert_eq!(ours.as_array().unwrap().len(), 1);
    assert_eq!(ours[0]["may_report"], true);
    assert_eq!(ours[0]["may_manage"], false);
    assert_eq!(code(&app.get("/api/v1/command/tasks/abc", Some(&guzhen)).await).1, Some("command_task_not_found"));
    assert_eq!(code(&app.get(&format!("{tasks}?state=nosuch"), Some(&guzhen)).await).0, StatusCode::BAD_REQUEST);

    // Only the office declares done, and only after a report.
    assert_eq!(
        code(&app.post(&format!("{path}/done"), Some(&guzhen), json!({})).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    assert_eq!(
        code(&app.post(&format!("{path}/done"), Some(&office), json!({})).await),
        (StatusCode::CONFLICT, Some("command_task_not_reported"))
    );
    assert_eq!(
        code(&app.post(&format!("{path}/report"), Some(&guzhen), json!({ "note": "  " })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required"))
    );
    assert_eq!(
        code(&app.post(&format!("{path}/urge"), Some(&guzhen), json!({ "note": "快" })).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    for note in ["已排查 120 个排口", "已排查 260 个排口"] {
        let (status, r) = app.post(&format!("{path}/report"), Some(&guzhen), json!({ "note": note })).await;
        assert_eq!((status, r["task"]["state"].as_str()), (StatusCode::OK, Some("reported")), "{r}");
    }
    let (_, urged) = app.post(&format!("{path}/urge"), Some(&office), json!({ "note": "请加快进度" })).await;
    assert_eq!(urged["task"]["urge_count"], 1);
    let (_, supervised) = app.post(&format!("{path}/supervise"), Some(&office), json!({ "note": "列入督办" })).await;
    assert_eq!(supervised["task"]["supervised"], true);
    let (status, done) = app.post(&format!("{path}/done"), Some(&office), json!({ "note": "完成" })).await;
    assert_eq!((status, done["task"]["state"].as_str()), (StatusCode::OK, Some("done")), "{done}");
    assert_eq!(done["task"]["on_time"], true);
    assert_eq!(
        code(&app.post(&format!("{path}/report"), Some(&guzhen), json!({ "note": "再报" })).await),
        (StatusCode::CONFLICT, Some("command_task_done"))
    );
    assert_eq!(
        code(&app.post(&format!("{path}/urge"), Some(&office), json!({ "note": "再催" })).await),
        (StatusCode::CONFLICT, Some("command_task_done"))
    );
    let (_, detail) = app.get(&path, Some(&guzhen)).await;
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["task_assigned", "task_reported", "task_reported", "task_urged", "task_supervised", "task_done"]
    );
    assert_eq!(detail["history"][1]["note"], "已排查 120 个排口");

    // The town's handlers hear of the task, its urging and its supervision in their inbox; the
    // office, which acted, and another town hear nothing.
    let (_, inbox) = app.get("/api/v1/inbox?kind=command_task", Some(&guzhen)).await;
    let entries = inbox["entries"].as_array().unwrap();
    let events: Vec<&str> = entries.iter().map(|e| e["event_kind"].as_str().unwrap()).collect();
    assert_eq!(events, ["task_supervised", "task_urged", "task_assigned"], "{inbox}");
    let link = format!("/command/tasks/{id}");
    assert_eq!(
        (entries[2]["title"].as_str(), entries[2]["link"].as_str(), &entries[2]["tracking_no"]),
        (Some("古镇镇排口排查"), Some(link.as_str()), &Value::Null)
    );
    assert_eq!(
        (entries[1]["kind_label"].as_str(), entries[1]["event_label"].as_str()),
        (Some("指挥部任务"), Some("任务催办"))
    );
    for other in [&office, &xiaolan] {
        let (_, inbox) = app.get("/api/v1/inbox", Some(other)).await;
        assert_eq!(inbox["total"], 0, "{inbox}");
    }
    let (_, html) = crate::browser::page(&app, "/inbox", &guzhen).await;
    assert!(html.contains(&format!("href=\"{link}\"")) && html.contains("任务督办"), "{html}");

    // A task past its due time is overdue on the dashboard and counts against the town.
    let (_, late) = app.post(tasks, Some(&office), task("小榄镇排口整治", "xiaolan", 1)).await;
    app.set_time("2026-12-20T10:00:00+08:00");
    // Sessions lapse over a fortnight's idleness: sign in again.
    let (office, xiaolan) = (app.login("swuj-handler").await, app.login("xiaolan-handler").await);
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    assert_eq!((d["counts"]["done"].as_u64(), d["counts"]["overdue"].as_u64()), (Some(1), Some(1)), "{}", d["counts"]);
    assert_eq!(d["overdue_tasks"][0]["id"], late["id"]);
    let row = |town: &str| d["ranking"].as_array().unwrap().iter().find(|r| r["town"]["code"] == town).unwrap().clone();
    assert_eq!(
        (row("guzhen")["tasks_on_time"].as_f64(), row("xiaolan")["tasks_on_time"].as_f64()),
        (Some(100.0), Some(0.0))
    );
    assert!(row("guzhen")["rank"].as_u64() < row("xiaolan")["rank"].as_u64());
    let (_, theirs) = app.get("/api/v1/command/centres/water/dashboard", Some(&xiaolan)).await;
    assert_eq!(theirs["tasks"].as_array().unwrap().len(), 1, "a town's dashboard lists its own tasks");
}

#[tokio::test]
async fn a_creek_moving_stage_moves_the_target_and_the_town_ranking() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let targets = "/api/v1/command/centres/water/targets";
    let target = |name: &str, town: Option<&str>, goal: u64| {
        json!({
            "name": name, "ledger_type": "creek", "stages": ["done", "accepted"],
            "choice_field": "cluster", "choice_code": "central",
            "town": town, "goal": goal, "due_on": "2026-12-31",
        })
    };

    // Refusals first.
    assert_eq!(
        code(&app.post(targets, Some(&guzhen), target("x", None, 2)).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    let mut bad = target("x", None, 2);
    bad["stages"] = json!(["nosuch"]);
    assert_eq!(
        code(&app.post(targets, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_stage"))
    );
    assert_eq!(
        code(&app.post(targets, Some(&office), target("x", None, 0)).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_goal"))
    );
    let mut bad = target("x", None, 2);
    bad["ledger_type"] = json!("park");
    assert_eq!(
        code(&app.post(targets, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_ledger_type"))
    );
    let mut bad = target("x", None, 2);
    bad["due_on"] = json!("2026-13-01");
    assert_eq!(
        code(&app.post(targets, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date"))
    );
    let mut bad = target("x", None, 2);
    bad["choice_code"] = json!("nosuch");
    assert_eq!(
        code(&app.post(targets, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_choice"))
    );

    // The office sets a city-wide target and one for the town.
    let (status, city) = app.post(targets, Some(&office), target("中心组团河涌完成整治", None, 2)).await;
    assert_eq!(status, StatusCode::CREATED, "{city}");
    assert_eq!((city["progress"].as_u64(), city["forecast"]["status"].as_str()), (Some(0), Some("stalled")), "{city}");
    assert!(city["condition"].as_str().unwrap().contains("完成整治"), "{city}");
    let (_, town) = app.post(targets, Some(&office), target("古镇镇河涌完成整治", Some("guzhen"), 1)).await;
    assert_eq!(town["town"]["code"], "guzhen");
    let (status, changed) = put(
        &app,
        &format!("/api/v1/command/targets/{}", city["id"]),
        &office,
        json!({ "version": 1, "name": "中心组团河涌完成整治", "ledger_type": "creek", "stages": ["done", "accepted"],
                "choice_field": "cluster", "choice_code": "central", "goal": 3, "due_on": "2026-12-31" }),
    )
    .await;
    assert_eq!((status, changed["goal"].as_u64(), changed["version"].as_i64()), (StatusCode::OK, Some(3), Some(2)));
    let (status, stale) = put(
        &app,
        &format!("/api/v1/command/targets/{}", city["id"]),
        &office,
        json!({ "version": 1, "name": "x", "ledger_type": "creek", "stages": ["done"], "goal": 3, "due_on": "2026-12-31" }),
    )
    .await;
    assert_eq!((status, stale["code"].as_str()), (StatusCode::CONFLICT, Some("command_target_changed")));

    // The town registers a creek under construction; the office assigns a task on it; the town reports.
    let (status, item) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek(1, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let creek_path = "/api/v1/ledgers/creek/items/HY442000001";
    let (status, moved) =
        app.post(&format!("{creek_path}/move"), Some(&guzhen), json!({ "version": 1, "to": "construct" })).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let task =
        json!({ "title": "横涌完成整治", "unit": "guzhen", "working_days": 10, "ledger_ref": "creek:HY442000001" });
    // The parks centre's office may not hang its task on the water centre's creek.
    let parks = unit_handler(&app, "zrzyj", "zrzyj-handler").await;
    let (status, e) = app.post("/api/v1/command/centres/parks/tasks", Some(&parks), task.clone()).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_item_outside_centre")));
    assert!(e["message"].as_str().unwrap().contains("不属于村镇低效工业园改造指挥部的台账"), "{e}");
    let (status, task) = app.post("/api/v1/command/centres/water/tasks", Some(&office), task).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["ledger_link"], "/ledgers/creek/items/HY442000001");
    let (status, _) = app
        .post(&format!("/api/v1/command/tasks/{}/report", task["id"]), Some(&guzhen), json!({ "note": "主体完工" }))
        .await;
    assert_eq!(status, StatusCode::OK);

    let dashboard = "/api/v1/command/centres/water/dashboard";
    let before = app.get(dashboard, Some(&office)).await.1;
    let guzhen_row =
        |d: &Value| d["ranking"].as_array().unwrap().iter().find(|r| r["town"]["code"] == "guzhen").unwrap().clone();
    assert_eq!(before["targets"][0]["progress"], 0);
    assert_eq!(guzhen_row(&before)["target_completion"], 0.0);
    let progress_before = guzhen_row(&before)["ledger_progress"].as_f64().unwrap();

    // The creek is finished: moved through the ledger API.
    let mut values = json!({ "version": 2, "values": { "completed_on": "2026-12-03" } });
    let (status, updated) = put(&app, creek_path, &guzhen, values.take()).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, moved) =
        app.post(&format!("{creek_path}/move"), Some(&guzhen), json!({ "version": 3, "to": "done" })).await;
    assert_eq!(status, StatusCode::OK, "{moved}");

    let after = app.get(dashboard, Some(&office)).await.1;
    let city = &after["targets"][0];
    assert_eq!((city["progress"].as_u64(), city["percent"].as_u64()), (Some(1), Some(33)), "{city}");
    assert_eq!(city["weekly"], json!([1, 0, 0, 0]));
    // One a week with two left: 56 days, after the due date.
    assert_eq!(city["forecast"], json!({ "status": "late", "on": "2027-01-29" }), "{city}");
    let town = &after["targets"][1];
    assert_eq!((town["progress"].as_u64(), town["forecast"]["status"].as_str()), (Some(1), Some("met")));
    let row = guzhen_row(&after);
    assert_eq!(row["target_completion"], 100.0);
    assert!(row["ledger_progress"].as_f64().unwrap() > progress_before, "{row} vs {progress_before}");
    assert_eq!(row["rank"], 1);
    assert!(row["score"].as_f64().unwrap() > guzhen_row(&before)["score"].as_f64().unwrap());
    // Towns with nothing to measure have no score and no place (null, not 0), after every measured town.
    let ranking = after["ranking"].as_array().unwrap();
    let first_unmeasured = ranking.iter().position(|r| r["score"].is_null()).expect("the city's other towns");
    assert!(ranking[..first_unmeasured].iter().all(|r| r["score"].is_number() && r["rank"].is_u64()), "{after}");
    assert!(ranking[first_unmeasured..].iter().all(|r| r["score"].is_null() && r["rank"].is_null()), "{after}");
    let unmeasured = &ranking[first_unmeasured];
    assert_eq!((unmeasured["targets"].as_u64(), unmeasured["ledger_items"].as_u64()), (Some(0), Some(0)));

    // The ranking and the dashboard download as workbooks; the ranking's unmeasured towns read 未计 there too.
    for path in ["/api/v1/command/centres/water/ranking/export", "/api/v1/command/centres/water/dashboard/export"] {
        let res = app.http.get(app.url(path)).header("cookie", &office.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        let bytes = res.bytes().await.unwrap();
        assert_eq!(&bytes[..2], b"PK", "{path}");
        if path.contains("ranking") {
            let mut book = mashangban_sheet::open_xlsx(&bytes, &mashangban_sheet::Limits::default()).unwrap();
            let rows: Vec<mashangban_sheet::Row> = book.rows_by_name("镇街排名").unwrap().map(Result::unwrap).collect();
            let town = unmeasured["town"]["name"].as_str().unwrap();
            let line = rows.iter().find(|r| r.get(2) == &mashangban_sheet::Cell::Text(town.into())).unwrap();
            assert_eq!(line.get(1), &mashangban_sheet::Cell::Text("—".into()), "{line:?}");
            assert_eq!(line.get(9), &mashangban_sheet::Cell::Text("未计".into()), "{line:?}");
        }
    }
    // The pages show the same.
    let page = app.http.get(app.url("/command/water")).header("cookie", &office.0).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("中心组团河涌完成整治") && html.contains("1 / 3") && html.contains("target-form"), "{html}");
    let table = &html[html.find("id=\"ranking-table\"").unwrap()..];
    assert!(table.contains("<td>—</td>") && table.contains("未计"), "unmeasured towns on the page: {table}");
    let town_page = app.http.get(app.url("/command/water")).header("cookie", &guzhen.0).send().await.unwrap();
    assert!(!town_page.text().await.unwrap().contains("target-form"), "the office's forms are the office's");
    let task_page = app
        .http
        .get(app.url(&format!("/command/tasks/{}", task["id"])))
        .header("cookie", &guzhen.0)
        .send()
        .await
        .unwrap();
    let html = task_page.text().await.unwrap();
    assert!(html.contains("主体完工") && html.contains("report-form"), "{html}");
    // The task page's forms post to one route per task; an unknown step is no page.
    let report = format!("/command/tasks/{}/report", task["id"]);
    let (status, location, _) = crate::browser::post_form(&app, &report, &guzhen, &[("note", "附属工程完工")]).await;
    assert!(status.is_redirection() && location.ends_with(&format!("/command/tasks/{}", task["id"])), "{status}");
    let (_, detail) = app.get(&format!("/api/v1/command/tasks/{}", task["id"]), Some(&guzhen)).await;
    assert!(detail.to_string().contains("附属工程完工"), "{detail}");
    let bogus = format!("/command/tasks/{}/bogus", task["id"]);
    let (status, _, _) = crate::browser::post_form(&app, &bogus, &guzhen, &[("note", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_demo_centres_show_targets_with_a_rate_tasks_overdue_and_a_ranking() {
    let app = spawn().await;
    mashangban_demo::load_ledgers(&app.store, 300).await.unwrap();
    let now = mashangban_domain::time::now();
    let made = mashangban_demo::load_command(&app.store, now).await.unwrap();
    assert_eq!(made, mashangban_demo::DEMO_TASKS as u64);
    assert_eq!(mashangban_demo::load_command(&app.store, now).await.unwrap(), 0, "loaded once");
    assert!(mashangban_demo::load_command_reports(&app.store, now).await.unwrap() > 50);
    assert_eq!(mashangban_demo::load_command_reports(&app.store, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let (status, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let creeks = d["targets"].as_array().unwrap().iter().find(|t| t["ledger_type"]["code"] == "creek").unwrap();
    assert!(creeks["per_week"].as_f64().unwrap() > 0.0, "the demo's creek completions give a rate: {creeks}");
    assert!(creeks["progress"].as_u64().unwrap() > 0, "{creeks}");
    // An outlet a town traced and put under remediation in the last weeks: the tracing target has a rate.
    let outlets = d["targets"].as_array().unwrap().iter().find(|t| t["ledger_type"]["code"] == "outlet").unwrap();
    assert_eq!(outlets["goal"].as_u64(), Some(150), "half the 300 outlets loaded: {outlets}");
    assert!(outlets["per_week"].as_f64().unwrap() > 0.0, "{outlets}");
    assert_ne!(outlets["forecast"]["status"], "stalled", "{outlets}");
    assert!(d["counts"]["overdue"].as_u64().unwrap() > 0, "{}", d["counts"]);
    assert!(d["counts"]["done"].as_u64().unwrap() > 0, "{}", d["counts"]);
    assert!(!d["missing_reports"].as_array().unwrap().is_empty(), "some demo reports are missing");
    let pledges = d["pledges"].as_array().unwrap();
    assert_eq!(pledges.len(), 6, "{pledges:?}");
    let (_, forms) = app.get("/api/v1/command/centres/water/report-forms", Some(&admin)).await;
    let periods = forms[0]["periods"].as_array().unwrap();
    assert!(periods.iter().any(|p| p["late"].as_u64().unwrap() > 0), "some filed late: {periods:?}");
    assert!(periods.iter().any(|p| p["filed"].as_u64().unwrap() > 0), "{periods:?}");
    let ranking = d["ranking"].as_array().unwrap();
    assert!(ranking.len() > 5 && ranking[0]["rank"] == 1);
    assert!(ranking.iter().all(|r| r["target_completion"].is_number()), "every town has its sewer target");
    let leader = app.login("leader").await;
    let page = app.http.get(app.url("/dashboard")).header("cookie", &leader.0).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("href=\"/command/water\"") && html.contains("招商引资指挥部"),
        "the leader dashboard links each centre"
    );
    for code in ["parks", "investment"] {
        let (_, d) = app.get(&format!("/api/v1/command/centres/{code}/dashboard"), Some(&admin)).await;
        assert!(!d["targets"].as_array().unwrap().is_empty() && !d["tasks"].as_array().unwrap().is_empty(), "{code}");
    }
}
