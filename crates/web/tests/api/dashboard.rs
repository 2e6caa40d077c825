//! The leader dashboard (领导驾驶舱) through the API and its pages: figures
//! equal to what was done, breakdowns, the drill-down lists behind them, who
//! may read, and bad periods.

use super::*;

use super::browser::page;

const MARCH: &str = "/api/v1/dashboard?from=2026-03-01&to=2026-03-31";

async fn dashboard(app: &App, query: &str, who: &Session) -> Value {
    let (status, d) = app.get(query, Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {d}");
    d
}

/// (received, closed, on-time numerator/denominator, satisfaction numerator/denominator) of a slice.
fn figures(v: &Value) -> [i64; 6] {
    let n = |a: &str, b: &str| v[a][b].as_i64().unwrap();
    [
        v["received"].as_i64().unwrap(),
        v["closed"].as_i64().unwrap(),
        n("on_time", "numerator"),
        n("on_time", "denominator"),
        n("satisfaction", "numerator"),
        n("satisfaction", "denominator"),
    ]
}

fn slice<'a>(d: &'a Value, list: &str, code: &str) -> &'a Value {
    d[list].as_array().unwrap().iter().find(|s| s["code"] == code).unwrap_or_else(|| panic!("{list} {code} in {d}"))
}

/// In March 2026: A (complaint, 古镇) dispatched to scjgj, replied, closed,
/// rated 满意; B (consultation, 小榄) closed at intake, rated 不满意; C
/// (complaint, 古镇) still waiting for dispatch. Returns their numbers.
async fn march_story(app: &App) -> [String; 3] {
    app.set_time("2026-03-02T09:00:00+08:00");
    let (dispatcher, operator) = (app.login("dispatcher").await, app.login("operator").await);
    let (a, a_code) = app.submit(enterprise_complaint()).await;
    let (b, b_code) = app.submit(resident_consultation()).await;
    let (c, _) = app.submit(enterprise_complaint()).await;
    app.act(&a, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&b, "direct-close", &operator, json!({ "answer": "可在线办理转移。" })).await;
    app.set_time("2026-03-03T10:00:00+08:00");
    let (dispatcher, handler) = (app.login("dispatcher").await, app.login("handler").await);
    app.act(&a, "sign", &handler, json!({})).await;
    app.act(&a, "reply", &handler, json!({ "content": "已办理。" })).await;
    app.act(&a, "close", &dispatcher, json!({})).await;
    for (no, code, rating) in [(&a, &a_code, "satisfied"), (&b, &b_code, "dissatisfied")] {
        let body = json!({ "code": code, "rating": rating, "resolved": true });
        let (status, view) = app.post(&format!("/api/v1/public/requests/{no}/rate"), None, body).await;
        assert_eq!(status, StatusCode::OK, "rate {no}: {view}");
    }
    [a, b, c]
}

#[tokio::test]
async fn the_dashboard_counts_what_was_done_and_breaks_it_down() {
    let app = spawn().await;
    march_story(&app).await;
    let leader = app.login("leader").await;
    let d = dashboard(&app, MARCH, &leader).await;
    assert_eq!(d["period"], json!({ "from": "2026-03-01", "to": "2026-03-31" }));
    assert_eq!(figures(&d["totals"]), [3, 2, 2, 2, 1, 2], "{d}");
    assert_eq!(d["granularity"], "day");
    assert_eq!(d["trend"].as_array().unwrap().len(), 31);
    assert_eq!(figures(&d["trend"][1]), [3, 1, 1, 1, 0, 1], "2 March: three received, B closed at intake");
    assert_eq!(figures(&d["trend"][2]), [0, 1, 1, 1, 1, 1], "3 March: A closed");

    assert_eq!(figures(slice(&d, "units", "scjgj")), [1, 1, 1, 1, 1, 1]);
    let none = slice(&d, "units", "");
    assert_eq!((none["name"].as_str(), figures(none)), (Some("未派单"), [2, 1, 1, 1, 0, 1]));
    assert_eq!(figures(slice(&d, "towns", "guzhen"))[..2], [2, 1]);
    assert_eq!(figures(slice(&d, "towns", "xiaolan"))[..2], [1, 1]);
    assert_eq!(slice(&d, "kinds", "complaint")["name"], "投诉");
    assert_eq!(figures(slice(&d, "kinds", "consultation"))[..2], [1, 1]);
    assert_eq!(
        figures(slice(&d, "categories", "biz"))[..2],
        [2, 1],
        "biz.change folds into 企业开办与变更's top level"
    );
    assert_eq!(figures(slice(&d, "categories", "social"))[..2], [1, 1]);

    let strict = dashboard(&app, &format!("{MARCH}&fairly_satisfied_counts=false"), &leader).await;
    assert_eq!(strict["fairly_satisfied_counts"], false);
    let april = dashboard(&app, "/api/v1/dashboard?from=2026-04-01&to=2026-04-30", &leader).await;
    assert_eq!(figures(&april["totals"]), [0, 0, 0, 0, 0, 0]);
    assert!(april["units"].as_array().unwrap().is_empty());
    let year = dashboard(&app, "/api/v1/dashboard?from=2026-01-15&to=2026-12-31", &leader).await;
    assert_eq!((year["granularity"].as_str(), year["trend"].as_array().unwrap().len()), (Some("month"), 12));
    assert_eq!(figures(&year["trend"][2]), [3, 2, 2, 2, 1, 2]);

    let admin = app.login("admin").await;
    let (status, rebuilt) = app.post("/api/v1/dashboard/rebuild", Some(&admin), json!({})).await;
    assert_eq!((status, rebuilt["requests"].as_u64()), (StatusCode::OK, Some(3)), "{rebuilt}");
    assert_eq!(dashboard(&app, MARCH, &leader).await, d, "a rebuild gives the same figures");
}

#[tokio::test]
async fn every_bar_leads_to_the_requests_behind_it() {
    let app = spawn().await;
    let [a, b, c] = march_story(&app).await;
    let leader = app.login("leader").await;
    let list = |query: &'static str| {
        let (app, leader) = (&app, &leader);
        async move {
            let (status, answer) = app.get(&format!("/api/v1/requests?{query}"), Some(leader)).await;
            assert_eq!(status, StatusCode::OK, "{query}: {answer}");
            let mut nos: Vec<String> = answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["tracking_no"].as_str().unwrap().to_owned())
                .collect();
            nos.sort();
            nos
        }
    };
    assert_eq!(list("lead_unit=scjgj&from=2026-03-01&to=2026-04-01").await, vec![a.clone()]);
    assert_eq!(list("lead_unit=none&from=2026-03-01&to=2026-04-01").await, vec![b.clone(), c.clone()]);
    assert_eq!(list("closed_from=2026-03-03&closed_to=2026-03-04").await, vec![a.clone()]);
    assert_eq!(list("town=xiaolan&closed_from=2026-03-01&closed_to=2026-04-01").await, vec![b.clone()]);
    assert_eq!(list("category_group=biz&from=2026-03-01&to=2026-04-01").await, vec![a.clone(), c.clone()]);
    assert_eq!(list("kind=consultation&from=2026-03-01&to=2026-04-01").await, vec![b.clone()]);
    assert!(list("lead_unit=scjgj&from=2026-04-01&to=2026-05-01").await.is_empty());

    let (status, html) = page(&app, "/dashboard?from=2026-03-01&to=2026-03-31", &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"dashboard-data\"")
            && html.contains("/work?lead_unit=scjgj&#38;from=2026-03-01&#38;to=2026-04-01")
    );
    assert!(html.contains("/assets/vendor/echarts/echarts.min.js"));
    let (status, html) = page(&app, "/work?lead_unit=none&from=2026-03-01&to=2026-04-01", &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&b) && html.contains(&c) && !html.contains(&a), "the drill-down list");
    assert!(html.contains("主办单位：未派单") && html.contains("受理时间自 2026-03-01"), "the filters in words");
    let (status, _) = page(&app, "/work?lead_unit=nowhere", &leader).await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn only_city_wide_roles_see_the_dashboard_and_periods_are_checked() {
    let app = spawn().await;
    for who in ["leader", "supervisor", "admin"] {
        let session = app.login(who).await;
        dashboard(&app, MARCH, &session).await;
        assert_eq!(page(&app, "/dashboard", &session).await.0, StatusCode::OK, "{who}");
    }
    for who in ["handler", "unit-leader", "dispatcher", "operator"] {
        let session = app.login(who).await;
        let (status, answer) = app.get(MARCH, Some(&session)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("permission_denied")),
            "{who}: {answer}"
        );
        assert_eq!(page(&app, "/dashboard", &session).await.0, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(page(&app, "/supervise", &session).await.0, StatusCode::FORBIDDEN, "{who}");
    }
    let (status, _) = app.get(MARCH, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let leader = app.login("leader").await;
    for (query, code) in [
        ("from=2026-13-01&to=2026-03-31", "invalid_parameter"),
        ("from=2026-03-31&to=2026-03-01", "invalid_parameter"),
        ("from=2026-01-01&to=2029-01-01", "invalid_parameter"),
        ("from=2026-03-01", "invalid_parameter"),
        ("from=2026-03-01&to=2026-03-31&unit=scjgj", "unknown_parameter"),
        ("from=2026-03-01&to=2026-03-31&fairly_satisfied_counts=maybe", "invalid_parameter"),
    ] {
        let (status, answer) = app.get(&format!("/api/v1/dashboard?{query}"), Some(&leader)).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {answer}");
    }
    assert_eq!(page(&app, "/dashboard?from=2026-13-01", &leader).await.0, StatusCode::BAD_REQUEST);
    let (status, answer) = app.post("/api/v1/dashboard/rebuild", Some(&leader), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
}

#[tokio::test]
async fn the_supervisor_page_lists_overdue_work_and_the_scores() {
    let app = spawn().await;
    let [a, _, c] = march_story(&app).await;
    app.set_time("2026-06-01T10:00:00+08:00");
    let dispatcher = app.login("dispatcher").await;
    let (d, _) = app.submit(enterprise_complaint()).await;
    app.act(&d, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let supervisor = app.login("supervisor").await;
    let (status, html) = page(&app, "/supervise?from=2026-03-01&to=2026-03-31", &supervisor).await;
    assert_eq!(status, StatusCode::OK);
    let overdue = &html[html.find("id=\"overdue\"").unwrap()..html.find("id=\"due-soon\"").unwrap()];
    assert!(overdue.contains(&c), "C waits for dispatch past its deadline");
    assert!(!overdue.contains(&a) && !overdue.contains(&d), "closed and fresh work are not overdue");
    assert!(overdue.contains(&format!("action=\"/work/{c}/urge\"")), "one-click 催办 for the supervisor");
    let scores = &html[html.find("id=\"scores-table\"").unwrap()..];
    assert!(scores.contains("全市") && scores.contains("市市场监管局"), "{scores}");
    assert!(html.contains("/api/v1/scores?from=2026-03-01&#38;to=2026-03-31&#38;format=xlsx"));
    let nav = &html[..html.find("<main").unwrap()];
    assert!(nav.contains("href=\"/supervise\"") && nav.contains("href=\"/dashboard\""));
}
