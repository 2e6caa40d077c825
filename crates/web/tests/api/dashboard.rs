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

fn report(title: &str, content: &str, town: &str, phone: &str) -> Value {
    json!({
        "kind": "complaint",
        "asker": { "type": "resident" },
        "contact": { "name": "市民", "phone": phone },
        "title": title,
        "content": content,
        "category": "biz.change",
        "town": town,
    })
}

#[tokio::test]
async fn hot_issues_cluster_one_places_matter_with_a_daily_trend_and_the_thresholds_apply() {
    let app = spawn().await;
    let leader = app.login("leader").await;
    let admin = app.login("admin").await;
    let flooding = [
        ("岐江路水浸严重", "暴雨后岐江路积水严重，车辆无法通行。"),
        ("岐江路积水无法通行", "岐江路一下雨就积水，今天积水还没退，无法通行。"),
        ("岐江路下水道堵塞积水", "岐江路下水道堵塞，暴雨后积水严重。"),
        ("反映岐江路积水", "岐江路积水问题每次下雨都出现，今天积水严重。"),
    ];
    let mut planted = Vec::new();
    for (day, (title, content)) in flooding.iter().enumerate() {
        app.set_time(&format!("2026-07-0{}T10:00:00+08:00", day + 1));
        let mut body = report(title, content, "guzhen", &format!("1390000000{day}"));
        // Three of the four say where (a few metres apart on 岐江路); one does not.
        if day > 0 {
            body["location"] = json!({ "lat": 22.6100 + 0.0001 * day as f64, "lon": 113.1900 });
        }
        planted.push(app.submit(body).await.0);
    }
    // A few of its words in another town (too few for a cross-town join), and another matter in the same
    // town, are not part of it.
    let (elsewhere, _) =
        app.submit(report("岐江路排水泵站故障", "岐江路排水泵站故障，请尽快维修。", "xiaolan", "13700000001")).await;
    let (other, _) =
        app.submit(report("营业执照变更迟迟未办", "提交变更材料已两周未办结。", "guzhen", "13700000002")).await;
    app.set_time("2026-07-05T09:00:00+08:00");

    // The default minimum (5) is not reached by four requests.
    let (status, hot) = app.get("/api/v1/dashboard/hot-issues", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{hot}");
    assert_eq!((hot["from"].as_str(), hot["to"].as_str()), (Some("2026-06-29"), Some("2026-07-05")), "{hot}");
    assert_eq!(hot["issues"], json!([]), "{hot}");

    // The administrator lowers it: one hot issue of four, its trend one a day.
    let body = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 3, "hot_window_days": 7, "hot_similarity": 0.3 });
    let (status, saved) = app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, hot) = app.get("/api/v1/dashboard/hot-issues", Some(&leader)).await;
    let issues = hot["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{hot}");
    let issue = &issues[0];
    assert_eq!(
        (issue["count"].as_u64(), issue["open"].as_u64(), issue["town"].as_str()),
        (Some(4), Some(4), Some("guzhen"))
    );
    let trend: Vec<u64> = issue["trend"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).collect();
    assert_eq!(trend, [0, 0, 1, 1, 1, 1, 0], "{issue}");
    let mut listed: Vec<String> =
        issue["requests"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap().to_owned()).collect();
    listed.sort();
    let mut expected = planted.clone();
    expected.sort();
    assert_eq!(listed, expected, "the drill-down lists exactly its requests");
    assert!(!listed.contains(&elsewhere) && !listed.contains(&other));
    assert!(planted.contains(&issue["tracking_no"].as_str().unwrap().to_owned()));

    // A narrower window leaves the older ones out; the dashboard page shows the issue with its links.
    let body = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 3, "hot_window_days": 2, "hot_similarity": 0.3 });
    app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(&admin), Some(body)).await;
    let (_, narrow) = app.get("/api/v1/dashboard/hot-issues", Some(&leader)).await;
    assert_eq!(narrow["issues"], json!([]), "only one of them in the last two days: {narrow}");
    let body = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 3, "hot_window_days": 7, "hot_similarity": 0.3 });
    app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(&admin), Some(body)).await;
    let (status, html) = page(&app, "/dashboard", &leader).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"hot-issues\"") && html.contains(&format!("/work/{}", planted[0])), "{html}");
    // On the map: one circle at the mean position of those that said where, linked to the typical request.
    let map = html.split("id=\"hot-map\"").nth(1).and_then(|m| m.split("</svg>").next()).expect("a hot-issue map");
    assert_eq!(map.matches("<circle").count(), 1, "{map}");
    assert!(map.contains(&format!("href=\"/work/{}\"", issue["tracking_no"].as_str().unwrap())), "{map}");
    assert!(map.contains("：4 件，在办 4 件") && map.contains(">古镇镇<"), "{map}");
    let (lat, lon) = (issue["lat"].as_f64().unwrap(), issue["lon"].as_f64().unwrap());
    assert!((lat - 22.6102).abs() < 1e-9 && (lon - 113.19).abs() < 1e-9, "the mean of the three: {issue}");

    // Who may read: as the dashboard.
    let handler = app.login("handler").await;
    assert_eq!(app.get("/api/v1/dashboard/hot-issues", Some(&handler)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_thresholds_are_administered_checked_and_versioned() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let (status, overview) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert_eq!(overview["thresholds"]["version"], Value::Null);
    assert_eq!(overview["thresholds"]["similarity"], 0.45);
    assert_eq!(overview["history"], json!([]));
    assert_eq!(app.get("/api/v1/dispatch/thresholds", Some(&dispatcher)).await.0, StatusCode::FORBIDDEN);

    let put = |body: Value, who: &'static str| {
        let app = &app;
        async move {
            let who = app.login(who).await;
            app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(&who), Some(body)).await
        }
    };
    let good = json!({ "similarity": 0.9, "window_days": 14, "hot_min_size": 4, "hot_window_days": 10, "hot_similarity": 0.35 });
    assert_eq!(put(good.clone(), "dispatcher").await.0, StatusCode::FORBIDDEN);
    for (field, value, code) in [
        ("similarity", json!(1.5), "invalid_similarity"),
        ("window_days", json!(0), "invalid_window_days"),
        ("hot_min_size", json!(1), "invalid_hot_min_size"),
        ("hot_window_days", json!(40), "invalid_hot_window_days"),
        ("hot_similarity", json!(0.01), "invalid_hot_similarity"),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        let (status, err) = put(bad, "admin").await;
        assert!(status.is_client_error(), "{field}: {status} {err}");
        assert_eq!(err["code"], code, "{err}");
        assert!(err["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{err}");
    }
    let mut unknown = good.clone();
    unknown["colour"] = json!("red");
    assert!(put(unknown, "admin").await.0.is_client_error());
    let (_, after_refusals) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    assert_eq!(after_refusals["history"], json!([]), "nothing written by a refusal");

    let (status, saved) = put(good, "admin").await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!((saved["version"].as_i64(), saved["similarity"].as_f64()), (Some(1), Some(0.9)));
    assert!(saved["changed_by"].as_str().is_some_and(|b| !b.is_empty()) && saved["changed_at"].is_string());

    // In force at once: with 0.9 the second report of one matter is no longer listed at intake.
    let (first, _) = app.submit(enterprise_complaint()).await;
    let mut again = enterprise_complaint();
    again["channel"] = "phone".into();
    // Another asker, no address: alike by its words (and category and town) alone, about 0.8.
    again["asker"] = json!({ "type": "resident" });
    again["contact"] = json!({ "name": "黄志强", "phone": "13912340000" });
    again["content"] = "我司上月在市政务服务中心提交的经营范围变更申请至今未办结，请尽快处理。".into();
    again.as_object_mut().unwrap().remove("address");
    again.as_object_mut().unwrap().remove("location");
    let operator = app.login("operator").await;
    let (_, intake) = app.post("/api/v1/requests", Some(&operator), again.clone()).await;
    assert_eq!(intake["duplicates"], json!([]), "{first}: {intake}");
    // Under the default threshold it would be listed.
    let body = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 5, "hot_window_days": 7, "hot_similarity": 0.3 });
    assert_eq!(put(body, "admin").await.0, StatusCode::OK);
    let (_, intake) = app.post("/api/v1/requests", Some(&operator), again).await;
    let listed: Vec<&str> =
        intake["duplicates"].as_array().unwrap().iter().map(|d| d["tracking_no"].as_str().unwrap()).collect();
    assert!(listed.contains(&first.as_str()), "{intake}");

    // The admin page shows the version and saves another; a bad number is refused on the page.
    let (status, html) = page(&app, "/admin/duplicates", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<span id=\"thresholds-version\">2</span>"), "{html}");
    let form = [
        ("similarity", "0.5"),
        ("window_days", "20"),
        ("hot_min_size", "6"),
        ("hot_window_days", "7"),
        ("hot_similarity", "0.3"),
        ("cross_town_similarity", "0.5"),
        ("same_asker", "0.25"),
        ("same_place", "0.15"),
        ("same_category_and_town", "0.1"),
    ];
    let (status, _, _) = super::browser::post_form(&app, "/admin/duplicates", &admin, &form).await;
    assert!(status.is_redirection(), "{status}");
    let mut bad = form;
    bad[0] = ("similarity", "很高");
    let (status, _, html) = super::browser::post_form(&app, "/admin/duplicates", &admin, &bad).await;
    assert!(status.is_client_error(), "{status}");
    assert!(html.contains("应为小数"), "{html}");
    let (_, overview) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    let versions: Vec<i64> =
        overview["history"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [3, 2, 1]);
    assert_eq!(overview["thresholds"]["hot_min_size"], 6);
}

#[tokio::test]
async fn one_matter_reported_from_several_towns_is_one_cross_town_hot_issue() {
    let app = spawn().await;
    let leader = app.login("leader").await;
    let admin = app.login("admin").await;
    // One waterway's pollution, one report from each of three towns: no town has two.
    let reports = [
        ("鸡鸦水道河水发黑发臭", "鸡鸦水道河水发黑发臭，河面漂着死鱼，怀疑上游工厂偷排污水，请尽快查处。", "guzhen"),
        ("鸡鸦水道河水发黑有死鱼", "鸡鸦水道河水发黑发臭，河面漂着很多死鱼，怀疑有工厂偷排污水，请查处。", "xiaolan"),
        ("鸡鸦水道河水污染", "鸡鸦水道河水发黑发臭，河面死鱼很多，怀疑上游工厂偷排污水，请尽快查处。", "huangpu"),
    ];
    app.set_time("2026-07-03T10:00:00+08:00");
    let mut planted = Vec::new();
    for (n, (title, content, town)) in reports.iter().enumerate() {
        let mut body = report(title, content, town, &format!("1360000000{n}"));
        body["category"] = "water.river".into();
        planted.push(app.submit(body).await.0);
    }
    // The river's name and little else, in a fourth town: another matter.
    let mut ferry = report("鸡鸦水道渡口收费太贵", "鸡鸦水道渡口过河收费太贵，希望降价。", "sanjiao", "13600000009");
    ferry["category"] = "water.river".into();
    let (ferry, _) = app.submit(ferry).await;
    app.set_time("2026-07-04T09:00:00+08:00");
    let put = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(admin), Some(body)).await }
    };
    let body = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 3, "hot_window_days": 7, "hot_similarity": 0.3 });
    assert_eq!(put(body.clone()).await.0, StatusCode::OK);

    let (status, hot) = app.get("/api/v1/dashboard/hot-issues", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{hot}");
    assert_eq!(hot["cross_town_similarity"], 0.5, "the default: {hot}");
    let issues = hot["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{hot}");
    let issue = &issues[0];
    assert_eq!((issue["cross_town"].as_bool(), issue["count"].as_u64()), (Some(true), Some(3)), "{issue}");
    let mut towns: Vec<&str> = issue["towns"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    towns.sort_unstable();
    assert_eq!(towns, ["guzhen", "huangpu", "xiaolan"], "{issue}");
    assert!(issue["towns"].as_array().unwrap().iter().all(|t| t["count"] == 1), "{issue}");
    let mut listed: Vec<String> =
        issue["requests"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap().to_owned()).collect();
    listed.sort();
    let mut expected = planted.clone();
    expected.sort();
    assert_eq!(listed, expected, "the drill-down lists exactly its requests, not the ferry {ferry}");

    // The dashboard marks it 跨镇街 with the towns it spans.
    let (status, html) = page(&app, "/dashboard", &leader).await;
    assert_eq!(status, StatusCode::OK);
    let table = html.split("id=\"table-hot\"").nth(1).unwrap();
    assert!(
        table.contains("跨镇街") && table.contains("古镇镇") && table.contains("小榄镇") && table.contains("黄圃镇"),
        "{table}"
    );

    // A stricter cross-town similarity: their words are alike, not the same; no hot issue.
    let mut strict = body.clone();
    strict["cross_town_similarity"] = 0.9.into();
    assert_eq!(put(strict).await.0, StatusCode::OK);
    let (_, hot) = app.get("/api/v1/dashboard/hot-issues", Some(&leader)).await;
    assert_eq!(hot["issues"], json!([]), "{hot}");

    // Hot issues are read city-wide only: a town's leader (whose scope is the town) may not.
    let town_leader = app.login("town-leader").await;
    assert_eq!(app.get("/api/v1/dashboard/hot-issues", Some(&town_leader)).await.0, StatusCode::FORBIDDEN);
}
