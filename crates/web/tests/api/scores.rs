//! Department scoring (考核) through the API: exact counts over a history
//! built step by step, the Excel download, who may read, and the rollups
//! against a recomputation from the raw events of a generated history.

use super::*;

use mashangban_sheet::{Cell, Limits, Row, open_xlsx};

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::org::Scope;
use mashangban_domain::request::Event;
use mashangban_domain::scoring::{Period, ScoreOptions, score_from_events};
use mashangban_store::{ListFilter, RequestStore, ScoringStore};

const MARCH: &str = "/api/v1/scores?from=2026-03-01&to=2026-03-31";

/// Everyone who acts in the story, signed in at the server's current time.
struct Team {
    dispatcher: Session,
    operator: Session,
    handler: Session,
    rsj_handler: Session,
}

impl Team {
    /// Moves the server's clock, then signs everyone in (sessions follow the clock).
    async fn at(app: &App, time: &str) -> Self {
        app.set_time(time);
        Self {
            dispatcher: app.login("dispatcher").await,
            operator: app.login("operator").await,
            handler: app.login("handler").await,
            rsj_handler: app.login("rsj-handler").await,
        }
    }
}

async fn rate(app: &App, no: &str, code: &str, rating: &str, resolved: bool) {
    let body = json!({ "code": code, "rating": rating, "resolved": resolved });
    let (status, view) = app.post(&format!("/api/v1/public/requests/{no}/rate"), None, body).await;
    assert_eq!(status, StatusCode::OK, "rate {no}: {view}");
}

/// (numerator, denominator) of an indicator in a row.
fn nd(row: &Value, indicator: &str) -> (i64, i64) {
    (row[indicator]["numerator"].as_i64().unwrap(), row[indicator]["denominator"].as_i64().unwrap())
}

fn unit_row<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["units"].as_array().unwrap().iter().find(|u| u["unit"]["code"] == code).unwrap_or(&Value::Null)
}

async fn scores(app: &App, query: &str, who: &Session) -> Value {
    let (status, report) = app.get(query, Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {report}");
    report
}

/// The story, all in March 2026 (Mon 2 to Wed 4), sign-for within 1 working
/// day of dispatch (Mon → Tue 17:30):
/// A  scjgj signs in time, extension approved, replies, closed, 满意 + resolved;
///    the duplicate E was merged into it while dispatched.
/// B  scjgj signs late on Wed, closed, 基本满意 + unresolved, reopened, signed
///    in time, closed again, 非常满意 + resolved.
/// C  returned by scjgj at once, re-dispatched to rsj, signed in time, closed, 不满意.
/// D  a consultation closed at intake (no unit), 非常满意 + resolved.
/// E  dispatched to scjgj, merged into A before its sign-for deadline.
/// F  dispatched to scjgj, never signed, withdrawn by the asker on Wed.
async fn build_story(app: &App) {
    unit_handler(app, "rsj", "rsj-handler").await;
    let t = Team::at(app, "2026-03-02T09:00:00+08:00").await;
    let (a, a_code) = app.submit(enterprise_complaint()).await;
    let (b, b_code) = app.submit(enterprise_complaint()).await;
    let (c, c_code) = app.submit(enterprise_complaint()).await;
    let (d, d_code) = app.submit(resident_consultation()).await;
    let (e, _) = app.submit(enterprise_complaint()).await;
    let (f, f_code) = app.submit(enterprise_complaint()).await;
    for no in [&a, &b, &c, &e, &f] {
        app.act(no, "dispatch", &t.dispatcher, json!({ "lead_unit": "scjgj" })).await;
    }
    app.act(&e, "merge", &t.dispatcher, json!({ "into": a })).await;
    app.act(&c, "return", &t.handler, json!({ "reason": "不属于我局职责" })).await;
    app.act(&c, "redispatch", &t.dispatcher, json!({ "lead_unit": "rsj" })).await;
    app.act(&d, "direct-close", &t.operator, json!({ "answer": "可在国家社会保险公共服务平台办理转移。" })).await;
    rate(app, &d, &d_code, "very_satisfied", true).await;

    let t = Team::at(app, "2026-03-02T10:00:00+08:00").await;
    app.act(&a, "sign", &t.handler, json!({})).await;
    app.act(&c, "sign", &t.rsj_handler, json!({})).await;
    let extension = json!({ "new_due": "2026-12-31T17:30:00+08:00", "reason": "需现场核查" });
    app.act(&a, "request-extension", &t.handler, extension).await;
    app.act(&a, "approve-extension", &t.dispatcher, json!({})).await;
    app.act(&a, "stage-reply", &t.handler, json!({ "content": "已联系企业，正在核查。" })).await;

    let t = Team::at(app, "2026-03-02T11:00:00+08:00").await;
    app.act(&a, "reply", &t.handler, json!({ "content": "已办结。" })).await;
    app.act(&c, "reply", &t.rsj_handler, json!({ "content": "已答复。" })).await;
    app.act(&a, "close", &t.dispatcher, json!({})).await;
    app.act(&c, "close", &t.dispatcher, json!({})).await;
    rate(app, &a, &a_code, "satisfied", true).await;
    rate(app, &c, &c_code, "dissatisfied", false).await;

    let t = Team::at(app, "2026-03-04T09:00:00+08:00").await;
    app.act(&b, "sign", &t.handler, json!({})).await;
    let (status, view) =
        app.post(&format!("/api/v1/public/requests/{f}/withdraw"), None, json!({ "code": f_code })).await;
    assert_eq!(status, StatusCode::OK, "{view}");

    let t = Team::at(app, "2026-03-04T10:00:00+08:00").await;
    app.act(&b, "reply", &t.handler, json!({ "content": "已处理。" })).await;
    app.act(&b, "close", &t.dispatcher, json!({})).await;
    rate(app, &b, &b_code, "fairly_satisfied", false).await;
    app.act(&b, "reopen", &t.dispatcher, json!({ "reason": "诉求人反映未解决" })).await;

    let t = Team::at(app, "2026-03-04T11:00:00+08:00").await;
    app.act(&b, "sign", &t.handler, json!({})).await;
    let t = Team::at(app, "2026-03-04T11:30:00+08:00").await;
    app.act(&b, "reply", &t.handler, json!({ "content": "已重新处理。" })).await;
    app.act(&b, "close", &t.dispatcher, json!({})).await;
    rate(app, &b, &b_code, "very_satisfied", true).await;
}

#[tokio::test]
async fn scores_count_a_constructed_history_exactly() {
    let app = spawn().await;
    build_story(&app).await;
    let supervisor = app.login("supervisor").await;
    let report = scores(&app, MARCH, &supervisor).await;
    assert_eq!(report["period"], json!({ "from": "2026-03-01", "to": "2026-03-31" }));
    assert_eq!(report["fairly_satisfied_counts"], true);

    let scjgj = unit_row(&report, "scjgj");
    assert_eq!(nd(scjgj, "on_time_sign_for"), (2, 4), "A and B's second round in time; B late; F past its deadline");
    assert_eq!(nd(scjgj, "response"), (4, 4), "A, B twice, C (returned); E and F dropped");
    assert_eq!(nd(scjgj, "on_time_close"), (3, 3));
    assert_eq!(nd(scjgj, "resolution"), (2, 3));
    assert_eq!(nd(scjgj, "satisfaction"), (3, 3));
    assert_eq!(nd(scjgj, "return_rate"), (1, 6));
    assert_eq!(nd(scjgj, "extension"), (1, 3));
    assert_eq!(nd(scjgj, "repeat"), (2, 3), "B reopened, E merged into A");
    assert_eq!(scjgj["handling_time"]["count"], 3);
    assert_eq!(scjgj["handling_time"]["total_seconds"], 9000, "1 h (A) + 1 h + 0.5 h (B)");

    let rsj = unit_row(&report, "rsj");
    assert_eq!(nd(rsj, "on_time_sign_for"), (1, 1));
    assert_eq!(nd(rsj, "satisfaction"), (0, 1));
    assert_eq!(nd(rsj, "resolution"), (0, 1));
    assert_eq!(rsj["handling_time"]["total_seconds"], 3600);
    assert_eq!(report["units"].as_array().unwrap().len(), 2);
    assert!(scjgj["rank"].as_u64().unwrap() < rsj["rank"].as_u64().unwrap(), "{report}");

    let city = &report["city"];
    assert!(city["unit"].is_null() && city["rank"].is_null());
    assert_eq!(nd(city, "on_time_sign_for"), (3, 5));
    assert_eq!(nd(city, "response"), (5, 5));
    assert_eq!(nd(city, "on_time_close"), (5, 5), "D closed at intake counts for the city");
    assert_eq!(nd(city, "resolution"), (3, 5));
    assert_eq!(nd(city, "satisfaction"), (4, 5));
    assert_eq!(nd(city, "return_rate"), (1, 7));
    assert_eq!(nd(city, "extension"), (1, 4));
    assert_eq!(nd(city, "repeat"), (2, 5));
    assert_eq!(city["handling_time"]["count"], 4);
    assert_eq!(city["handling_time"]["average_hours"], 0.875);

    // 基本满意 left out, by query or by setting.
    let strict = scores(&app, &format!("{MARCH}&fairly_satisfied_counts=false"), &supervisor).await;
    assert_eq!(nd(unit_row(&strict, "scjgj"), "satisfaction"), (2, 3));
    assert_eq!(nd(&strict["city"], "satisfaction"), (3, 5));

    // Each indicator lands in the period of the moment that decides it.
    let monday = scores(&app, "/api/v1/scores?from=2026-03-02&to=2026-03-02", &supervisor).await;
    let scjgj = unit_row(&monday, "scjgj");
    assert_eq!(nd(scjgj, "on_time_sign_for"), (1, 1));
    assert_eq!(nd(scjgj, "response"), (3, 3), "B's sign-for on Wednesday answers Monday's dispatch");
    assert_eq!(nd(scjgj, "repeat"), (1, 1));
    let tuesday = scores(&app, "/api/v1/scores?from=2026-03-03&to=2026-03-03", &supervisor).await;
    assert_eq!(nd(unit_row(&tuesday, "scjgj"), "on_time_sign_for"), (0, 2), "B and F were due on Tuesday");
    assert_eq!(tuesday["units"].as_array().unwrap().len(), 1);
    let april = scores(&app, "/api/v1/scores?from=2026-04-01&to=2026-04-30", &supervisor).await;
    assert!(april["units"].as_array().unwrap().is_empty());
    assert_eq!(nd(&april["city"], "response"), (0, 0));
    assert!(april["city"]["response"]["rate"].is_null());

    // A rebuild from the events gives the same report.
    let admin = app.login("admin").await;
    let (status, summary) = app.post("/api/v1/scores/rebuild", Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["requests"], 6);
    assert_eq!(scores(&app, MARCH, &supervisor).await, report);
}

#[tokio::test]
async fn the_excel_download_is_a_workbook_with_chinese_headers() {
    let app = spawn().await;
    build_story(&app).await;
    let leader = app.login("leader").await;
    let res = app.http.get(app.url(&format!("{MARCH}&format=xlsx"))).header("cookie", &leader.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| res.headers().get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let chinese = "考核_2026-03-01_2026-03-31.xlsx"
        .bytes()
        .map(|b| if b.is_ascii() { (b as char).to_string() } else { format!("%{b:02X}") });
    assert!(disposition.contains(&format!("filename*=UTF-8''{}", chinese.collect::<String>())), "{disposition}");
    let bytes = res.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"PK\x03\x04"), "a zip");

    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let names: Vec<&str> = book.sheets().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["考核排名", "分子分母", "说明"]);
    let sheet =
        |rows: Result<mashangban_sheet::XlsxRows<'_>, _>| -> Vec<Row> { rows.unwrap().map(Result::unwrap).collect() };
    // (row, column) from 0, as the sheet is laid out.
    let cell =
        |rows: &[Row], r: u32, c: u32| rows.iter().find(|row| row.number() == r + 1).map(|row| row.get(c + 1).clone());
    let ranking = sheet(book.rows_by_name("考核排名"));
    let text = |r: u32, c: u32| cell(&ranking, r, c).and_then(|c| c.as_text()).unwrap_or_default();
    assert_eq!(text(0, 0), "排名");
    assert_eq!(text(0, 4), "按时签收率");
    assert_eq!(text(1, 2), "全市");
    assert_eq!(text(2, 1), "scjgj");
    assert_eq!(cell(&ranking, 1, 4), Some(Cell::Number(0.6)));
    let detail = sheet(book.rows_by_name("分子分母"));
    assert_eq!(cell(&detail, 2, 2), Some(Cell::Number(2.0)), "scjgj on-time sign-fors");
    assert_eq!(cell(&detail, 2, 3), Some(Cell::Number(4.0)));
}

#[tokio::test]
async fn who_may_read_scores_and_bad_parameters() {
    let app = spawn().await;
    build_story(&app).await;
    for who in ["supervisor", "leader", "admin", "dispatcher"] {
        let session = app.login(who).await;
        assert_eq!(scores(&app, MARCH, &session).await["units"].as_array().unwrap().len(), 2, "{who}");
    }
    // A unit leader sees their own unit (and the city), nobody else's.
    let unit_leader = app.login("unit-leader").await;
    let own = scores(&app, MARCH, &unit_leader).await;
    let codes: Vec<&str> =
        own["units"].as_array().unwrap().iter().map(|u| u["unit"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["scjgj"]);
    assert_eq!(scores(&app, &format!("{MARCH}&unit=scjgj"), &unit_leader).await, own);
    let (status, err) = app.get(&format!("{MARCH}&unit=rsj"), Some(&unit_leader)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let supervisor = app.login("supervisor").await;
    let only_rsj = scores(&app, &format!("{MARCH}&unit=rsj"), &supervisor).await;
    assert_eq!(only_rsj["units"].as_array().unwrap().len(), 1);

    for who in ["handler", "operator", "enterprise"] {
        let session = app.login(who).await;
        assert_eq!(app.get(MARCH, Some(&session)).await.0, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(app.get(MARCH, None).await.0, StatusCode::UNAUTHORIZED);
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(app.post("/api/v1/scores/rebuild", Some(&dispatcher), json!({})).await.0, StatusCode::FORBIDDEN);

    for (query, code) in [
        ("from=2026-03-31&to=2026-03-01", "invalid_parameter"),
        ("from=2023-01-01&to=2026-01-01", "invalid_parameter"),
        ("from=2026-03-01", "invalid_parameter"),
        ("from=2026-3-1x&to=2026-03-31", "invalid_parameter"),
        ("from=2026-03-01&to=2026-03-31&format=pdf", "invalid_parameter"),
        ("from=2026-03-01&to=2026-03-31&unit=nowhere", "invalid_parameter"),
        ("from=2026-03-01&to=2026-03-31&fairly_satisfied_counts=maybe", "invalid_parameter"),
        ("from=2026-03-01&to=2026-03-31&sort=score", "unknown_parameter"),
    ] {
        let (status, err) = app.get(&format!("/api/v1/scores?{query}"), Some(&supervisor)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    let (_, err) = app.get("/api/v1/scores?from=2023-01-01&to=2026-01-01", Some(&supervisor)).await;
    assert!(err["message"].as_str().unwrap().contains("3年"), "{err}");
}

/// Every event of every request in the store, read back through the store API.
async fn all_events(store: &Backend) -> Vec<Event> {
    let mut events = Vec::new();
    let mut filter = ListFilter { limit: 500, ..ListFilter::default() };
    loop {
        let page = store.list(&filter, &Scope::All).await.unwrap();
        for request in &page.items {
            events.extend(store.history(request.id).await.unwrap());
        }
        match page.next_cursor {
            Some(cursor) => filter.before_id = Some(cursor),
            None => return events,
        }
    }
}

fn period(from: &str, to: &str) -> Period {
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Period::new(day(from), day(to)).unwrap()
}

async fn assert_rollups_agree(store: &Backend, events: &[Event], calendar: &WorkCalendar) {
    let periods = [
        period("2024-06-01", "2026-05-31"),
        period("2025-01-01", "2025-12-31"),
        period("2025-07-01", "2025-09-30"),
        period("2025-03-15", "2025-06-10"),
        period("2026-02-10", "2026-03-09"),
        period("2026-06-01", "2026-08-31"),
        period("2025-11-11", "2025-11-11"),
    ];
    for p in periods {
        for fairly in [true, false] {
            let options = ScoreOptions { fairly_satisfied_counts: fairly, ..ScoreOptions::default() };
            let rollups = store.score_report(p, options).await.unwrap();
            let recomputed = score_from_events(events, &p, calendar, &options);
            assert_eq!(rollups, recomputed, "{p:?}, 基本满意 counts: {fairly}");
        }
    }
}

#[tokio::test]
async fn rollups_agree_with_a_recomputation_from_the_raw_events() {
    let (store, _db) = crate::fresh_store().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&store, &data).await.unwrap();
    mashangban_demo::load_users(&store, &data, &auth::hash_password(PASSWORD).unwrap()).await.unwrap();
    let end = mashangban_domain::time::parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed: 20260301, count: 400, end };
    assert_eq!(mashangban_demo::generate_history(&store, &data, &options, |_, _| {}).await.unwrap(), 400);

    let events = all_events(&store).await;
    let calendar = WorkCalendar::bundled().unwrap();
    let whole = score_from_events(&events, &period("2024-06-01", "2026-05-31"), &calendar, &ScoreOptions::default());
    let c = whole.city.counters;
    assert!(c.assigned > 300 && c.signed_on_time > 0 && c.sign_timed > c.signed_on_time, "{c:?}");
    assert!(c.returned > 0 && c.extended > 0 && c.reopened > 0 && c.merged_duplicates > 0, "{c:?}");
    assert!(c.handled > 0 && c.fairly_satisfied > 0 && whole.units.len() > 5, "{c:?}");
    assert_rollups_agree(&store, &events, &calendar).await;

    let summary = store.rebuild_scoring().await.unwrap();
    assert_eq!((summary.requests, summary.events), (400, events.len() as u64));
    assert!(summary.day_rows > 0 && summary.month_rows > 0 && summary.month_rows < summary.day_rows);
    assert_rollups_agree(&store, &events, &calendar).await;
}

/// The water office gives 古镇镇 three tasks and 小榄镇 one on Friday 4 December 2026; 古镇镇 reports
/// on the first and the office declares it done in time; on Tuesday 8 December the second is
/// overdue, while the third (due 18 December) and 小榄镇's (due 9 December) are not decided yet.
async fn task_story(app: &App) {
    app.set_time("2026-12-04T10:00:00+08:00");
    let office = unit_handler(app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(app, "guzhen", "guzhen-handler").await;
    let tasks = "/api/v1/command/centres/water/tasks";
    let mut ids = Vec::new();
    let assigned =
        [("排口排查", "guzhen", 1), ("排口监测", "guzhen", 1), ("溯源", "guzhen", 10), ("排查", "xiaolan", 3)];
    for (title, unit, days) in assigned {
        let (status, task) =
            app.post(tasks, Some(&office), json!({ "title": title, "unit": unit, "working_days": days })).await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        ids.push(task["id"].as_i64().unwrap());
    }
    let first = format!("/api/v1/command/tasks/{}", ids[0]);
    let (status, r) = app.post(&format!("{first}/report"), Some(&guzhen), json!({ "note": "已排查" })).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) = app.post(&format!("{first}/done"), Some(&office), json!({})).await;
    assert_eq!((status, r["task"]["on_time"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
    app.set_time("2026-12-08T10:00:00+08:00");
}

const DECEMBER: &str = "/api/v1/scores?from=2026-12-01&to=2026-12-31";

#[tokio::test]
async fn tasks_done_on_time_and_overdue_tasks_count_for_their_units_without_weight_by_default() {
    let app = spawn().await;
    task_story(&app).await;
    let supervisor = app.login("supervisor").await;
    let report = scores(&app, DECEMBER, &supervisor).await;
    let guzhen = unit_row(&report, "guzhen");
    assert_eq!(nd(guzhen, "tasks_on_time"), (1, 2), "{report}");
    assert_eq!(guzhen["tasks_on_time"]["rate"], 0.5);
    assert_eq!(guzhen["overdue_tasks"], 1);
    assert_eq!((&guzhen["score"], &guzhen["rank"]), (&Value::Null, &Value::Null), "no weight: not scored");
    assert_eq!(unit_row(&report, "xiaolan"), &Value::Null, "its task is not due yet: nothing counted");
    assert_eq!(nd(&report["city"], "tasks_on_time"), (1, 2));
    assert_eq!(report["task_on_time_weight"], 0);
    let november = scores(&app, "/api/v1/scores?from=2026-11-01&to=2026-11-30", &supervisor).await;
    assert_eq!(nd(&november["city"], "tasks_on_time"), (0, 0));
    assert_eq!(november["city"]["tasks_on_time"]["rate"], Value::Null);

    let (_, html) = crate::browser::page(&app, "/supervise?from=2026-12-01&to=2026-12-31", &supervisor).await;
    assert!(html.contains("<th scope=\"col\">按时完成任务率</th>") && html.contains("50.0%（2 件）"), "{html}");
    assert!(html.contains("按时完成任务率不计入综合得分"), "{html}");

    let res = app.http.get(app.url(&format!("{DECEMBER}&format=xlsx"))).header("cookie", &supervisor.0).send().await;
    let bytes = res.unwrap().bytes().await.unwrap().to_vec();
    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let ranking: Vec<Row> = book.rows_by_name("考核排名").unwrap().map(Result::unwrap).collect();
    let cell = |r: usize, c: u32| ranking[r].get(c + 1).clone();
    let headers = (cell(0, 14).as_text(), cell(0, 15).as_text());
    assert_eq!(headers, (Some("按时完成任务率".into()), Some("超期任务".into())));
    let row = ranking.iter().position(|r| r.get(2).as_text().as_deref() == Some("guzhen")).unwrap();
    assert_eq!((cell(row, 14), cell(row, 15)), (Cell::Number(0.5), Cell::Number(1.0)));
}

#[tokio::test]
async fn an_administrator_set_weight_puts_the_tasks_rate_in_the_composite_score() {
    let config = WebConfig { task_on_time_weight: 20, ..WebConfig::default() };
    let app = spawn_with(config).await;
    task_story(&app).await;
    let supervisor = app.login("supervisor").await;
    let report = scores(&app, DECEMBER, &supervisor).await;
    let guzhen = unit_row(&report, "guzhen");
    assert_eq!((guzhen["score"].as_f64(), guzhen["rank"].as_u64()), (Some(50.0), Some(1)), "{report}");
    assert_eq!(report["task_on_time_weight"], 20);
    let (_, html) = crate::browser::page(&app, "/supervise?from=2026-12-01&to=2026-12-31", &supervisor).await;
    assert!(html.contains("按时完成任务率以权重 20"), "{html}");
}
