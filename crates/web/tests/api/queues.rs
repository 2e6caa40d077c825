//! The daily work of a 12345 centre: 改类改急 (correcting kind, urgency,
//! category and town after intake, deadlines counted again under the rules
//! in force at receipt), and the queues (badges, countdowns, totals, paging,
//! filters).

use std::collections::HashMap;

use super::*;

use super::browser::{page, post_form};

fn events_of<'a>(detail: &'a Value, kind: &str) -> Vec<&'a Value> {
    detail["history"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).collect()
}

fn deadline<'a>(request: &'a Value, kind: &str) -> &'a Value {
    request["deadlines"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_correction_counts_the_deadlines_again_under_the_rules_kept_at_receipt() {
    let app = spawn().await;
    // Mon 2026-03-02 10:00: an enterprise complaint, 15 working days.
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, admin) = (app.login("dispatcher").await, app.login("admin").await);
    let (no, code) = app.submit(enterprise_complaint()).await;
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    assert_eq!(r["due_at"], "2026-03-23T17:30:00.000+08:00");
    assert_eq!(r["time_limits"]["version"], 1);

    // A new rule version after receipt: help in 3 working days. It must not apply to this request.
    let (_, current) = app.get("/api/v1/time-limits", Some(&admin)).await;
    let mut rules = current["rules"].as_array().unwrap().clone();
    rules.push(json!({ "kind": "help", "reply": { "clock": "working_days", "amount": 3 } }));
    let (status, published) =
        app.call(reqwest::Method::PUT, "/api/v1/time-limits", Some(&admin), Some(json!({ "rules": rules }))).await;
    assert_eq!((status, published["version"].as_i64()), (StatusCode::OK, Some(2)), "{published}");

    // 改急: the enterprise's complaint is 马上办 and a 求助: the act-now limits of version 1.
    let body = json!({ "kind": "help", "urgency": "act_now", "reason": "企业来电说明为办事求助，按马上办处理" });
    let r = app.act(&no, "reclassify", &dispatcher, body).await;
    assert_eq!((r["kind"].as_str(), r["urgency"].as_str()), (Some("help"), Some("act_now")));
    assert_eq!(r["due_at"], "2026-03-09T17:30:00.000+08:00", "5 working days from receipt");
    assert_eq!(r["time_limits"]["version"], 1);
    assert_eq!(r["time_limits"]["contact"]["amount"], 1);
    assert!(deadline(&r, "contact")["due_at"].as_str().unwrap().starts_with("2026-03-02T"), "{r}");
    assert_eq!(deadline(&r, "stage_reply")["due_at"], "2026-03-05T17:30:00.000+08:00");
    let detail = app.detail(&no, &dispatcher).await;
    let fixes = events_of(&detail, "reclassified");
    assert_eq!(fixes.len(), 1, "one recorded correction");
    let e = fixes[0];
    assert_eq!(e["details"]["kind"], json!({ "from": "complaint", "to": "help" }));
    assert_eq!(e["details"]["urgency"], json!({ "from": "normal", "to": "act_now" }));
    assert!(e["details"].get("category_id").is_none(), "unchanged fields are not listed");
    assert_eq!(e["details"]["before"]["due_at"], "2026-03-23T17:30:00.000+08:00");
    assert_eq!(e["details"]["after"]["due_at"], "2026-03-09T17:30:00.000+08:00");
    assert!(e["details"]["before"]["contact_due_at"].is_null());
    assert!(e["details"]["after"]["contact_due_at"].is_string());
    assert_eq!(e["due_at"], "2026-03-09T17:30:00.000+08:00");
    assert_eq!(e["comment"], "企业来电说明为办事求助，按马上办处理");
    let summary = e["summary"].as_str().unwrap();
    assert!(summary.contains("类型：投诉 → 求助") && summary.contains("紧急程度：一般 → 马上办"), "{summary}");
    assert!(summary.contains("答复期限：2026-03-23 17:30 → 2026-03-09 17:30"), "{summary}");
    assert_eq!(app.progress(&no, &code).await["act_now"], true, "the asker's page says 马上办");

    // Back to normal: help under version 1 is 10 working days (version 2 would say 3), no contact deadline.
    let body = json!({ "urgency": "normal", "category": "biz.register", "town": "xiaolan", "reason": "误选马上办" });
    let r = app.act(&no, "reclassify", &dispatcher, body).await;
    assert_eq!(r["due_at"], "2026-03-16T17:30:00.000+08:00");
    assert!(deadline(&r, "contact").is_null(), "{r}");
    assert_eq!((r["category"]["code"].as_str(), r["town"]["code"].as_str()), (Some("biz.register"), Some("xiaolan")));
    let detail = app.detail(&no, &dispatcher).await;
    let e = events_of(&detail, "reclassified")[1].clone();
    assert!(e["details"]["category_id"]["from"].is_i64() && e["details"]["town_id"]["to"].is_i64(), "{e}");
    let summary = e["summary"].as_str().unwrap();
    assert!(summary.contains("镇街：古镇镇 → 小榄镇") || summary.contains("镇街：古镇 → 小榄"), "{summary}");

    // Dispatched, then made urgent: sign-for is counted again from the dispatch (30 natural minutes).
    app.set_time("2026-03-02T14:00:00+08:00");
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.set_time("2026-03-02T14:10:00+08:00");
    let r = app.act(&no, "reclassify", &dispatcher, json!({ "urgency": "urgent", "reason": "涉及安全隐患" })).await;
    assert_eq!(deadline(&r, "sign_for")["due_at"], "2026-03-02T14:30:00.000+08:00");
    assert_eq!(r["due_at"], "2026-03-02T12:00:00.000+08:00", "2 natural hours from receipt");
}

#[tokio::test]
async fn corrections_are_refused_with_a_code_and_change_nothing() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, operator) = (app.login("dispatcher").await, app.login("operator").await);
    let (no, _) = app.submit(resident_consultation()).await;
    let before = app.detail(&no, &dispatcher).await;
    let path = format!("/api/v1/requests/{no}/reclassify");
    let cases = [
        (json!({ "urgency": "act_now", "reason": "r" }), StatusCode::UNPROCESSABLE_ENTITY, "act_now_for_enterprises"),
        (json!({ "kind": "consultation", "reason": "r" }), StatusCode::UNPROCESSABLE_ENTITY, "nothing_changed"),
        (json!({ "category": "no.such", "reason": "r" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"),
        (json!({ "town": "atlantis", "reason": "r" }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_town"),
        (json!({ "kind": "help", "reason": " " }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        (json!({ "kind": "help", "reason": "r", "extra": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
    ];
    for (body, status, code) in cases {
        let (got, err) = app.post(&path, Some(&dispatcher), body.clone()).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_ascii()), "a Chinese message: {err}");
    }
    assert_eq!(app.detail(&no, &dispatcher).await, before, "nothing stored on refusal");

    // A handler may not; an operator may until the request is dispatched.
    let handler = unit_handler(&app, "rsj", "rsj-handler").await;
    let (status, _) = app.post(&path, Some(&handler), json!({ "kind": "help", "reason": "r" })).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");
    app.act(&no, "reclassify", &operator, json!({ "kind": "help", "reason": "来电人所述为求助" })).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    let (status, err) = app.post(&path, Some(&operator), json!({ "kind": "suggestion", "reason": "r" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");

    // Closed: no correction.
    let (closed, _) = app.submit(resident_consultation()).await;
    app.act(&closed, "direct-close", &operator, json!({ "answer": "已电话答复" })).await;
    let (status, err) = app
        .post(
            &format!("/api/v1/requests/{closed}/reclassify"),
            Some(&dispatcher),
            json!({ "kind": "help", "reason": "r" }),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")), "{err}");
}

#[tokio::test]
async fn the_correction_form_on_the_request_page() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let dispatcher = app.login("dispatcher").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("id=\"do-reclassify\"") && html.contains("value=\"act_now\""), "the form offers 马上办");
    let form =
        [("kind", "complaint"), ("urgency", "normal"), ("category", "biz.change"), ("town", "guzhen"), ("reason", "x")];
    let (status, _, html) = post_form(&app, &format!("/work/{no}/reclassify"), &dispatcher, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"reclassify-error\"") && html.contains("没有需要更正的内容"),
        "the refusal beside the form"
    );
    let form = [
        ("kind", "complaint"),
        ("urgency", "urgent"),
        ("category", "biz.change"),
        ("town", "guzhen"),
        ("reason", "涉及安全"),
    ];
    let (status, location, _) = post_form(&app, &format!("/work/{no}/reclassify"), &dispatcher, &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/work/{no}").as_str()));
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("改类改急") && html.contains("紧急程度：一般 → 紧急"), "the history row says what changed");

    // A resident's request is not offered 马上办.
    let (resident, _) = app.submit(resident_consultation()).await;
    let (_, html) = page(&app, &format!("/work/{resident}"), &dispatcher).await;
    assert!(html.contains("id=\"do-reclassify\"") && !html.contains("value=\"act_now\""));
}

/// The part of the work page in the section with this id.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start =
        html.find(&format!("<section class=\"queue-section\" id=\"{id}\"")).unwrap_or_else(|| panic!("section {id}"));
    let rest = &html[start..];
    &rest[..rest[1..].find("<section").map_or(rest.len(), |end| end + 1)]
}

/// The queue row (list item) of a request in a page.
fn row<'a>(html: &'a str, no: &str) -> &'a str {
    let at = html.find(&format!("/work/{no}\"")).unwrap_or_else(|| panic!("row of {no}"));
    let rest = &html[at..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn queues_have_real_totals_and_pages() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let dispatcher = app.login("dispatcher").await;
    let mut numbers = Vec::new();
    for i in 0..53 {
        // Each in its own words: the same text again and again is held by spam screening as a flood.
        let mut body = resident_consultation();
        body["content"] = serde_json::json!(format!("从外省调入中山工作，养老保险关系如何转移？（第{i}位来电人）"));
        numbers.push(app.submit(body).await.0);
    }
    let (_, html) = page(&app, "/work", &dispatcher).await;
    let received = section(&html, "received");
    assert!(received.contains("待派单（共 53 件）"), "{received}");
    assert_eq!(received.matches("class=\"queue-item\"").count(), 50, "one page of 50");
    assert!(received.contains("rel=\"next\"") && received.contains("queue=received&#38;page=2"), "{received}");
    let (status, html) = page(&app, "/work?queue=received&page=2", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    let second = section(&html, "received");
    assert_eq!(second.matches("class=\"queue-item\"").count(), 3, "the last three");
    assert!(second.contains("第 2 / 2 页") && second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    // Every request appears once over the two pages.
    let (_, first) = page(&app, "/work?queue=received&page=1", &dispatcher).await;
    for no in &numbers {
        assert_eq!(first.matches(no.as_str()).count().min(1) + second.matches(no.as_str()).count().min(1), 1, "{no}");
    }
    // The filters narrow the queue; the form shows them.
    app.submit(enterprise_complaint()).await;
    let (_, html) = page(&app, "/work?queue=received&kind=complaint", &dispatcher).await;
    assert!(section(&html, "received").contains("待派单（共 1 件）"));
    assert!(html.contains("id=\"filter-form\"") && html.contains("<option value=\"complaint\" selected>"));
    let (_, html) = page(&app, "/work?kind=consultation&town=xiaolan", &dispatcher).await;
    assert!(section(&html, "results").contains("查询结果（共 53 件）"), "a filtered list has its total too");
    let (status, _) = page(&app, "/work?queue=received&page=0", &dispatcher).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = page(&app, "/work?queue=nonsense", &dispatcher).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn queue_rows_carry_badges_and_a_countdown_in_the_limits_clock() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, supervisor, handler) =
        (app.login("dispatcher").await, app.login("supervisor").await, app.login("handler").await);
    let operator = app.login("operator").await;
    // A: supervised, urged twice, extended.
    let (a, _) = app.submit(enterprise_complaint()).await;
    app.act(&a, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&a, "sign", &handler, json!({})).await;
    let due = "2026-03-20T17:30:00+08:00";
    app.act(&a, "supervise", &supervisor, json!({ "instructions": "请于期限内办结", "due": due })).await;
    app.act(&a, "urge", &dispatcher, json!({ "message": "请加快" })).await;
    app.act(&a, "urge", &supervisor, json!({ "message": "再催" })).await;
    let asked = json!({ "new_due": "2026-03-31T17:30:00+08:00", "reason": "需现场核查" });
    app.act(&a, "request-extension", &handler, asked).await;
    app.act(&a, "approve-extension", &dispatcher, json!({})).await;
    // B: reopened after an unhappy follow-up, urgent.
    let mut urgent = enterprise_complaint();
    urgent["urgency"] = json!("urgent");
    let (b, _) = app.submit(urgent).await;
    app.act(&b, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&b, "sign", &handler, json!({})).await;
    app.act(&b, "reply", &handler, json!({ "content": "已处理" })).await;
    app.act(&b, "close", &dispatcher, json!({})).await;
    app.act(&b, "follow-up", &operator, json!({ "rating": "dissatisfied", "resolved": false })).await;
    app.act(&b, "reopen", &dispatcher, json!({ "reason": "未解决" })).await;

    let r = app.detail(&a, &dispatcher).await["request"].clone();
    let codes: Vec<&str> = r["badges"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["supervised", "urged", "extended"], "{r}");
    assert_eq!(r["urge_count"], 2);

    let (_, html) = page(&app, "/work", &handler).await;
    let queue = section(&html, "queue");
    let row_a = row(queue, &a);
    let supervised = "data-badge=\"supervised\" title=\"督办期限 2026-03-20 17:30：请于期限内办结\">督办";
    for badge in [supervised, "data-badge=\"urged\">催办2次", "data-badge=\"extended\">延期"] {
        assert!(row_a.contains(badge), "{badge} in {row_a}");
    }
    assert!(row_a.contains("个工作日"), "a working-day limit counts down in working days: {row_a}");
    let row_b = row(queue, &b);
    assert!(row_b.contains("data-badge=\"urgent\">紧急") && row_b.contains("data-badge=\"reopened\">重办"), "{row_b}");
    assert!(row_b.contains("自然时间"), "an urgent limit counts natural time: {row_b}");
    assert!(queue.find(&b).unwrap() < queue.find(&a).unwrap(), "urgent work first");
}

#[tokio::test]
async fn exports_are_text_cells_masked_as_the_list_is() {
    use mashangban_sheet::{Cell, Limits, Row, open_xlsx};
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, supervisor) = (app.login("dispatcher").await, app.login("supervisor").await);
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.submit(resident_consultation()).await;
    let Session(cookie) = &supervisor;
    let res = app
        .http
        .get(app.url("/work/export?queue=queue&kind=complaint&format=xlsx"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''"));
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let rows: Vec<Row> = book.rows_by_name("诉求清单").unwrap().map(Result::unwrap).collect();
    let text = |r: &Row, c: u32| r.get(c).as_text().unwrap_or_default();
    assert!(text(&rows[0], 1).contains("本单位待办") || text(&rows[0], 1).contains("诉求清单"), "the title");
    assert!(rows.iter().any(|r| text(r, 1) == "筛选条件：类型：投诉"), "the filter in the header rows");
    let header = rows.iter().position(|r| text(r, 1) == "受理编号").expect("header row");
    let data: Vec<&Row> = rows[header + 1..].iter().collect();
    assert_eq!(data.len(), 1, "only the complaint");
    let column = |title: &str| (1..=20).find(|c| text(&rows[header], *c) == title).unwrap();
    assert_eq!(data[0].get(column("受理编号")), &Cell::Text(no.clone()));
    let phone = data[0].get(column("联系电话"));
    assert!(matches!(phone, Cell::Text(p) if p.contains('*') && p.starts_with("138")), "masked text: {phone:?}");
    let code = data[0].get(column("统一社会信用代码"));
    assert!(matches!(code, Cell::Text(c) if c.contains('*')), "masked text: {code:?}");
    assert!(!text(data[0], column("联系人")).contains("陈嘉欣"));

    // The dispatcher's CSV of the filtered list: unmasked for them, streamed with a BOM.
    let Session(cookie) = &dispatcher;
    let res =
        app.http.get(app.url("/work/export?kind=complaint&format=csv")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert!(lines.next().unwrap().starts_with("受理编号,状态,类型"));
    let line = lines.next().unwrap();
    assert!(line.starts_with(&no) && line.contains("13800138000") && line.contains(ENTERPRISE_CODE), "{line}");
    assert!(lines.next().is_none());
    let (status, _) = page(&app, "/work/export?format=pdf", &dispatcher).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn history_kinds(detail: &Value) -> Vec<String> {
    detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

fn results_by_no(outcome: &Value) -> HashMap<String, Value> {
    outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["tracking_no"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

#[tokio::test]
async fn bulk_dispatch_and_urge_answer_per_request() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, supervisor, handler) =
        (app.login("dispatcher").await, app.login("supervisor").await, app.login("handler").await);
    let (a, _) = app.submit(enterprise_complaint()).await;
    let (b, _) = app.submit(enterprise_complaint()).await;
    let (c, _) = app.submit(enterprise_complaint()).await;
    let (other, _) = app.submit(resident_consultation()).await;
    let version = |r: &Value| r["request"]["version"].as_i64().unwrap();
    let va = version(&app.detail(&a, &dispatcher).await);
    let vc = version(&app.detail(&c, &dispatcher).await);
    // b moved on meanwhile (dispatched alone); c is sent with a version it no longer has.
    app.act(&b, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    let body = json!({
        "requests": [
            { "tracking_no": a, "version": va },
            { "tracking_no": b },
            { "tracking_no": c, "version": vc + 5 },
        ],
        "lead_unit": "scjgj",
        "comment": "批量派单",
    });
    let (status, outcome) = app.post("/api/v1/bulk/dispatch", Some(&dispatcher), body).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!((outcome["done"].as_u64(), outcome["failed"].as_u64()), (Some(1), Some(2)), "{outcome}");
    let results = results_by_no(&outcome);
    assert_eq!((results[&a]["ok"].as_bool(), results[&a]["state"].as_str()), (Some(true), Some("dispatched")));
    assert_eq!(results[&b]["code"], "illegal_transition");
    assert_eq!(
        (results[&c]["code"].as_str(), results[&c]["state"].as_str()),
        (Some("version_changed"), Some("received"))
    );
    assert!(results[&c]["message"].as_str().is_some_and(|m| !m.is_ascii()), "a Chinese reason");
    // Each dispatched request has its own event; the refused ones are unchanged.
    let detail_a = app.detail(&a, &dispatcher).await;
    assert_eq!(detail_a["request"]["lead_unit"]["code"], "scjgj");
    assert_eq!(history_kinds(&detail_a).iter().filter(|k| *k == "dispatched").count(), 1);
    assert_eq!(app.detail(&b, &dispatcher).await["request"]["lead_unit"]["code"], "rsj");
    let detail_c = app.detail(&c, &dispatcher).await;
    assert_eq!((detail_c["request"]["state"].as_str(), version(&detail_c)), (Some("received"), vc));

    // Refused as a whole, nothing done: two categories, an unknown unit, none or too many named.
    let two = json!({ "requests": [{ "tracking_no": c }, { "tracking_no": other }], "lead_unit": "scjgj" });
    let (status, err) = app.post("/api/v1/bulk/dispatch", Some(&dispatcher), two).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bulk_mixed_categories")));
    assert_eq!(app.detail(&c, &dispatcher).await["request"]["state"], "received");
    let cases = [
        (json!({ "requests": [{ "tracking_no": c }], "lead_unit": "nope" }), "unknown_unit"),
        (json!({ "requests": [], "lead_unit": "scjgj" }), "bulk_empty"),
        (
            json!({ "requests": (0..51).map(|i| json!({ "tracking_no": format!("ZS{i}") })).collect::<Vec<_>>(), "lead_unit": "scjgj" }),
            "bulk_too_many",
        ),
    ];
    for (body, code) in cases {
        let (status, err) = app.post("/api/v1/bulk/dispatch", Some(&dispatcher), body).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{err}");
    }
    // Who may: dispatchers dispatch; dispatchers and supervisors urge.
    let one = json!({ "requests": [{ "tracking_no": c }], "lead_unit": "scjgj" });
    assert_eq!(app.post("/api/v1/bulk/dispatch", Some(&supervisor), one).await.0, StatusCode::FORBIDDEN);
    let urge = json!({ "requests": [{ "tracking_no": a }], "message": "请加快" });
    assert_eq!(app.post("/api/v1/bulk/urge", Some(&handler), urge).await.0, StatusCode::FORBIDDEN);

    let urge = json!({
        "requests": [{ "tracking_no": a }, { "tracking_no": c }, { "tracking_no": "ZS20990101999999" }, { "tracking_no": a }],
        "message": "请抓紧办理",
    });
    let (status, outcome) = app.post("/api/v1/bulk/urge", Some(&supervisor), urge).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["results"].as_array().unwrap().len(), 3, "a request named twice is urged once");
    let results = results_by_no(&outcome);
    assert_eq!((results[&a]["ok"].as_bool(), results[&c]["ok"].as_bool()), (Some(true), Some(true)));
    assert_eq!(results["ZS20990101999999"]["code"], "request_not_found");
    let detail_a = app.detail(&a, &dispatcher).await;
    assert_eq!(detail_a["request"]["urge_count"], 1);
    let urged: Vec<&Value> = detail_a["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "urged").collect();
    assert_eq!((urged.len(), urged[0]["comment"].as_str()), (1, Some("请抓紧办理")));
    let (status, err) = app
        .post("/api/v1/bulk/urge", Some(&supervisor), json!({ "requests": [{ "tracking_no": a }], "message": " " }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err["results"][0]["code"], "text_required", "a blank message is refused per request: {err}");
}

#[tokio::test]
async fn saved_views_are_each_persons_own_and_bounded() {
    let app = spawn().await;
    let (dispatcher, operator) = (app.login("dispatcher").await, app.login("operator").await);
    let body =
        json!({ "name": " 超期投诉 ", "filters": { "kind": "complaint", "overdue": "true", "page": "2", "town": "" } });
    let (status, view) = app.post("/api/v1/views", Some(&dispatcher), body).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["name"], "超期投诉");
    assert_eq!(view["filters"], json!({ "kind": "complaint", "overdue": "true" }), "paging and blanks are not kept");
    assert_eq!(view["link"], "/work?kind=complaint&overdue=true");
    let id = view["id"].as_i64().unwrap();
    let search = json!({ "name": "噪音", "filters": { "q": "噪音 扰民", "queue": "received" } });
    let (status, searched) = app.post("/api/v1/views", Some(&dispatcher), search).await;
    assert_eq!(status, StatusCode::CREATED, "{searched}");
    assert_eq!(searched["link"], "/work?q=%E5%99%AA%E9%9F%B3%20%E6%89%B0%E6%B0%91&queue=received");

    let long = "视".repeat(31);
    let cases = [
        (json!({ "name": "超期投诉", "filters": { "kind": "help" } }), StatusCode::CONFLICT, "view_name_taken"),
        (json!({ "name": long, "filters": { "kind": "help" } }), StatusCode::UNPROCESSABLE_ENTITY, "name_too_long"),
        (json!({ "name": " ", "filters": { "kind": "help" } }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        (json!({ "name": "空", "filters": { "page": "3" } }), StatusCode::UNPROCESSABLE_ENTITY, "view_empty"),
        (json!({ "name": "镇", "filters": { "town": "atlantis" } }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_town"),
        (json!({ "name": "怪", "filters": { "bogus": "1" } }), StatusCode::BAD_REQUEST, "unknown_parameter"),
        (json!({ "name": "x", "filters": {}, "extra": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
    ];
    for (body, status, code) in cases {
        let (got, err) = app.post("/api/v1/views", Some(&dispatcher), body.clone()).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_ascii()), "a Chinese message: {err}");
    }

    // Another person sees none of them and cannot touch them.
    let (_, theirs) = app.get("/api/v1/views", Some(&operator)).await;
    assert_eq!(theirs["items"], json!([]));
    let rename = |name: &str| json!({ "name": name });
    let path = format!("/api/v1/views/{id}/name");
    let (status, err) = app.call(reqwest::Method::PUT, &path, Some(&operator), Some(rename("我的"))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("view_not_found")));
    let (status, _) = app.call(reqwest::Method::DELETE, &format!("/api/v1/views/{id}"), Some(&operator), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, err) = app.call(reqwest::Method::PUT, &path, Some(&dispatcher), Some(rename("噪音"))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("view_name_taken")));
    let (status, renamed) = app.call(reqwest::Method::PUT, &path, Some(&dispatcher), Some(rename("超期的投诉"))).await;
    assert_eq!((status, renamed["name"].as_str()), (StatusCode::OK, Some("超期的投诉")));
    let (_, mine) = app.get("/api/v1/views", Some(&dispatcher)).await;
    let names: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!((names.len(), mine["max"].as_u64()), (2, Some(20)));
    let (status, _) = app.call(reqwest::Method::DELETE, &format!("/api/v1/views/{id}"), Some(&dispatcher), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(reqwest::Method::DELETE, &format!("/api/v1/views/{id}"), Some(&dispatcher), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // At most 20 each.
    for i in 0..19 {
        let (status, err) = app
            .post(
                "/api/v1/views",
                Some(&dispatcher),
                json!({ "name": format!("视图{i}"), "filters": { "kind": "help" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{err}");
    }
    let (status, err) = app
        .post("/api/v1/views", Some(&dispatcher), json!({ "name": "第二十一个", "filters": { "kind": "help" } }))
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("too_many_views")), "{err}");
    let (status, _) = app
        .post("/api/v1/views", Some(&operator), json!({ "name": "第二十一个", "filters": { "kind": "help" } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the limit is per person");
}

#[tokio::test]
async fn the_work_page_saves_views_and_acts_in_bulk() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, supervisor) = (app.login("dispatcher").await, app.login("supervisor").await);
    let (a, _) = app.submit(enterprise_complaint()).await;
    let (b, _) = app.submit(enterprise_complaint()).await;

    // Save the filtered list as a view; it is a link on the work page; rename and delete it.
    let (_, html) = page(&app, "/work?kind=complaint&page=1", &dispatcher).await;
    assert!(html.contains("id=\"save-view\"") && html.contains("name=\"kind\" value=\"complaint\""), "the save form");
    let (status, _, html) = post_form(&app, "/work/views", &dispatcher, &[("kind", "complaint"), ("name", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"view-error\"") && html.contains("请填写视图名称"), "the refusal beside the views");
    let (status, location, _) =
        post_form(&app, "/work/views", &dispatcher, &[("kind", "complaint"), ("name", "全部投诉")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/work?kind=complaint"));
    let (_, html) = page(&app, "/work", &dispatcher).await;
    assert!(html.contains("href=\"/work?kind=complaint\"") && html.contains(">全部投诉</a>"), "the view's link");
    let (_, mine) = app.get("/api/v1/views", Some(&dispatcher)).await;
    let id = mine["items"][0]["id"].as_i64().unwrap();
    let (status, location, _) =
        post_form(&app, &format!("/work/views/{id}/rename"), &dispatcher, &[("name", "投诉件")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/work#views"));
    let (_, html) = page(&app, "/work", &dispatcher).await;
    assert!(html.contains(">投诉件</a>") && !html.contains(">全部投诉</a>"));
    let long = "长".repeat(31);
    let (status, _, html) =
        post_form(&app, &format!("/work/views/{id}/rename"), &dispatcher, &[("name", long.as_str())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("视图名称最多 30 个字"));
    let (status, _, _) = post_form(&app, &format!("/work/views/{id}/delete"), &dispatcher, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!page(&app, "/work", &dispatcher).await.1.contains(">投诉件</a>"));

    // Bulk: checkboxes in 待派单 with the dispatch form; a supervisor's queue offers urging only.
    let (_, html) = page(&app, "/work", &dispatcher).await;
    let received = section(&html, "received");
    let version = app.detail(&a, &dispatcher).await["request"]["version"].as_i64().unwrap();
    let pick_a = format!("{a}:{version}");
    assert!(received.contains(&format!("value=\"{pick_a}\" form=\"bulk-received\"")), "{received}");
    assert!(received.contains("id=\"bulk-received-dispatch\"") && received.contains("id=\"bulk-received-urge\""));
    let (_, html) = page(&app, "/work", &supervisor).await;
    let queue = section(&html, "queue");
    assert!(queue.contains("id=\"bulk-queue-urge\"") && !queue.contains("bulk-queue-dispatch"), "{queue}");

    let pick_b = format!("{b}:{}", version + 1);
    let form = [("action", "dispatch"), ("lead_unit", "scjgj"), ("no", pick_a.as_str()), ("no", pick_b.as_str())];
    let (status, _, html) = post_form(&app, "/work/bulk", &dispatcher, &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"bulk-results\"") && html.contains("成功 1 件，未办理 1 件"), "{html}");
    assert!(html.contains("诉求已有新的办理"), "b was picked at an older version: {html}");
    assert_eq!(app.detail(&a, &dispatcher).await["request"]["state"], "dispatched");
    assert_eq!(app.detail(&b, &dispatcher).await["request"]["state"], "received");
    let (status, _, html) =
        post_form(&app, "/work/bulk", &dispatcher, &[("action", "dispatch"), ("lead_unit", "scjgj")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"bulk-error\"") && html.contains("请至少勾选一件诉求"));
    let form = [("action", "dispatch"), ("lead_unit", "scjgj"), ("no", b.as_str())];
    assert_eq!(post_form(&app, "/work/bulk", &supervisor, &form).await.0, StatusCode::FORBIDDEN);
    let form = [("action", "urge"), ("message", "请按期办结"), ("no", a.as_str()), ("no", b.as_str())];
    let (status, _, html) = post_form(&app, "/work/bulk", &supervisor, &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("成功 2 件"), "{html}");
    assert_eq!(app.detail(&b, &dispatcher).await["request"]["urge_count"], 1);
}

#[tokio::test]
async fn a_supervision_deadline_on_a_day_off_is_warned_about() {
    let app = spawn().await;
    // Mon 2026-03-02.
    app.set_time("2026-03-02T10:00:00+08:00");
    let (dispatcher, supervisor) = (app.login("dispatcher").await, app.login("supervisor").await);
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let supervise = |due: &str| json!({ "instructions": "请按期办结", "due": due });
    // Saturday: taken, and warned about.
    let r = app.act(&no, "supervise", &supervisor, supervise("2026-03-07T17:30:00+08:00")).await;
    let warning = r["supervision"]["due_warning"].as_str().unwrap_or_default().to_owned();
    assert!(warning.contains("2026-03-07") && warning.contains("周末"), "{r}");
    assert_eq!(r["supervision"]["due"], "2026-03-07T17:30:00.000+08:00", "the deadline stands as given");
    // National Day is a holiday; a Friday is a working day.
    let r = app.act(&no, "supervise", &supervisor, supervise("2026-10-02T17:30:00+08:00")).await;
    assert!(r["supervision"]["due_warning"].as_str().is_some_and(|w| w.contains("节假日")), "{r}");
    let r = app.act(&no, "supervise", &supervisor, supervise("2026-03-06T17:30:00+08:00")).await;
    assert!(r["supervision"]["due_warning"].is_null(), "{r}");

    // The form asks once, then takes it; the request page marks it.
    let path = format!("/work/{no}/supervise");
    let form = [("instructions", "周末前办结"), ("due", "2026-03-08T12:00")];
    let (status, _, html) = post_form(&app, &path, &supervisor, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"supervise-error\"") && html.contains("不是工作日"), "{html}");
    assert!(html.contains("id=\"supervise-confirm\"") && html.contains("value=\"2026-03-08T12:00\""), "kept");
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    assert_eq!(r["supervision"]["due"], "2026-03-06T17:30:00.000+08:00", "nothing changed before the confirmation");
    let form = [("instructions", "周末前办结"), ("due", "2026-03-08T12:00"), ("non_working_ok", "1")];
    let (status, _, _) = post_form(&app, &path, &supervisor, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &format!("/work/{no}"), &supervisor).await;
    assert!(html.contains("id=\"supervision-due-warning\"") && html.contains("id=\"supervise-warning\""), "{html}");
}

/// The version a work page's action forms carry (their hidden `version` field).
fn form_version(html: &str) -> String {
    let at = html.find("name=\"version\" value=\"").expect("a version field") + "name=\"version\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_form_from_a_page_older_than_the_request_is_refused_and_keeps_what_was_typed() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    let seen = form_version(&html);

    // A colleague corrects the urgency while the first page is still open.
    let body = json!({ "urgency": "urgent", "reason": "涉及安全" });
    let (status, _) = app.post(&format!("/api/v1/requests/{no}/reclassify"), Some(&dispatcher), body).await;
    assert_eq!(status, StatusCode::OK);

    let form = [("version", seen.as_str()), ("lead_unit", "rsj"), ("comment", "请核实企业反映的社保问题")];
    let (status, _, html) = post_form(&app, &format!("/work/{no}/dispatch"), &dispatcher, &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        html.contains("id=\"dispatch-error\"") && html.contains("已有新的办理，本次操作未执行"),
        "said beside the form"
    );
    assert!(html.contains(">请核实企业反映的社保问题</textarea>"), "what was typed is kept");
    assert!(html.contains("紧急程度：一般 → 紧急"), "the page shown again is the new state");
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(detail["request"]["state"], "received", "not dispatched");
    assert!(events_of(&detail, "dispatched").is_empty());

    // Sent again from the page shown now, it is taken.
    let fresh = form_version(&html);
    assert_ne!(fresh, seen);
    let form = [("version", fresh.as_str()), ("lead_unit", "rsj"), ("comment", "请核实企业反映的社保问题")];
    let (status, location, _) = post_form(&app, &format!("/work/{no}/dispatch"), &dispatcher, &form).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/work/{no}")));
    assert_eq!(app.detail(&no, &dispatcher).await["request"]["state"], "dispatched");
}
