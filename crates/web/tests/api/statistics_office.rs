//! The statistics office (统计人员, demo account `statistics`): it keeps the
//! catalogue through the editor (API and page: every change in the
//! indicator's history, stale versions refused, bad input refused with its
//! own code in Chinese and nothing written) and publishes the panel; the
//! public sees exactly the published snapshot — a correction made after
//! publishing stays out of sight until the period is published again.

use super::browser::{page, post_form};
use super::*;

async fn with_demo(app: &App) {
    let now = mashangban_domain::time::now();
    assert_eq!(mashangban_demo::load_statistics(&app.store, now).await.unwrap(), 23);
}

fn card<'a>(panel: &'a Value, indicator: &str) -> &'a Value {
    panel["cards"].as_array().unwrap().iter().find(|c| c["indicator"] == indicator).unwrap()
}

async fn catalogue(app: &App, who: &Session) -> Vec<Value> {
    let (status, list) = app.get("/api/v1/statistics/indicators", Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

/// An anonymous visitor's page: (status, body).
async fn public_page(app: &App, path: &str) -> (StatusCode, String) {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_statistics_office_keeps_the_catalogue_and_nothing_of_requests() {
    let app = spawn().await;
    with_demo(&app).await;
    let office = app.login("statistics").await;
    let (_, me) = app.get("/api/v1/auth/me", Some(&office)).await;
    assert_eq!((me["role"].as_str(), me["role_label"].as_str()), (Some("statistician"), Some("统计人员")), "{me}");
    // No request scope (a request the dispatcher sees is not theirs), and none of the other staff modules.
    let (no, _) = app.submit(resident_consultation()).await;
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(app.get(&format!("/api/v1/requests/{no}"), Some(&dispatcher)).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/requests/{no}"), Some(&office)).await.0, StatusCode::NOT_FOUND);
    let (status, requests) = app.get("/api/v1/requests", Some(&office)).await;
    assert_eq!(status, StatusCode::OK, "{requests}");
    assert_eq!(requests["items"].as_array().map(Vec::len), Some(0), "{requests}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&office)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/knowledge", Some(&office)).await.0, StatusCode::FORBIDDEN);

    let held = catalogue(&app, &office).await;
    assert_eq!(held.len(), 8);
    assert!(held.iter().all(|i| i["version"] == 1), "the data file recorded each as added: {held:?}");
    let (_, gdp) = app.get("/api/v1/statistics/indicators/gdp", Some(&office)).await;
    assert_eq!(
        (gdp["history"][0]["action"].as_str(), gdp["history"][0]["via"].as_str()),
        (Some("added"), Some("data_file"))
    );

    // Add an indicator: at the end of the catalogue, with its history.
    let body = json!({
        "code": "high_tech_investment", "name": "高技术制造业投资", "unit": "亿元",
        "parent": "industrial_investment", "publish_value": false, "show_share": true, "source": "中山市统计局",
    });
    let (status, added) = app.post("/api/v1/statistics/indicators", Some(&office), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!((added["version"].as_i64(), added["parent"].as_str()), (Some(1), Some("industrial_investment")));
    assert_eq!(
        (added["history"][0]["action"].as_str(), added["history"][0]["via"].as_str()),
        (Some("added"), Some("editor"))
    );
    assert!(added["history"][0]["by"].as_str().unwrap().contains("statistician"), "{added}");
    assert_eq!(catalogue(&app, &office).await.last().unwrap()["code"], "high_tech_investment");

    // Change an indicator's name: the panel speaks with it, the history keeps the old one.
    let change = json!({
        "name": "第一产业增加值（农林牧渔业）", "unit": "亿元", "parent": "gdp", "source": "中山市统计局", "version": 1,
    });
    let (status, changed) = put(&app, "/api/v1/statistics/indicators/gdp_primary", &office, change.clone()).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 2);
    let summary = changed["history"][1]["summary"].as_str().unwrap();
    assert_eq!(summary, "名称：第一产业增加值 → 第一产业增加值（农林牧渔业）");
    let (_, panel) = app.get("/api/v1/statistics/panel", Some(&office)).await;
    assert_eq!(
        card(&panel, "gdp_primary")["sentence"],
        "前三季度，全市第一产业增加值（农林牧渔业）为59.44亿元，同比增长25.6%，两年平均增长14.1%。"
    );
    // Sent again on the version it was read at: someone changed it meanwhile.
    let (status, answer) = put(&app, "/api/v1/statistics/indicators/gdp_primary", &office, change).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("statistics_indicator_changed")));
    assert!(answer["message"].as_str().unwrap().contains("第2版"), "{answer}");

    // Bad input: 422 with each rule's code and a Chinese message, and nothing written.
    let version_before = panel["version"].as_i64().unwrap();
    let new = |patch: Value| {
        let mut body = json!({ "code": "tertiary_services", "name": "服务业增加值", "unit": "亿元" });
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    let refused = [
        (new(json!({ "code": "Services 2" })), "invalid_indicator_code"),
        (json!({ "name": "服务业增加值", "unit": "亿元" }), "invalid_indicator_code"),
        (new(json!({ "name": "" })), "invalid_indicator_name"),
        (new(json!({ "name": "长".repeat(61) })), "invalid_indicator_name"),
        (new(json!({ "unit": "" })), "invalid_indicator_unit"),
        (new(json!({ "code": "gdp" })), "duplicate_indicator"),
        (new(json!({ "name": "地区生产总值" })), "duplicate_indicator_name"),
        (new(json!({ "parent": "nosuch" })), "unknown_parent_indicator"),
        (new(json!({ "parent": "gdp", "unit": "万元" })), "parent_unit_mismatch"),
        (new(json!({ "decimals": 7 })), "invalid_indicator_decimals"),
        (new(json!({ "sum_of_parts": true })), "total_without_parts"),
    ];
    for (body, code) in refused {
        let (status, answer) = app.post("/api/v1/statistics/indicators", Some(&office), body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}: {answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{message}");
    }
    let gdp_now = &catalogue(&app, &office).await[0];
    let cycle = json!({ "name": "地区生产总值", "unit": "亿元", "parent": "gdp_primary", "sum_of_parts": true, "version": gdp_now["version"] });
    let (status, answer) = put(&app, "/api/v1/statistics/indicators/gdp", &office, cycle).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("indicator_cycle")),
        "{answer}"
    );
    let no_version = json!({ "name": "地区生产总值", "unit": "亿元" });
    let (status, answer) = put(&app, "/api/v1/statistics/indicators/gdp", &office, no_version).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("version_required")));
    let (status, answer) = put(
        &app,
        "/api/v1/statistics/indicators/nosuch",
        &office,
        json!({ "name": "x", "unit": "亿元", "version": 1 }),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("statistics_indicator_not_found")));
    let renamed_code = json!({ "code": "gdp_one", "name": "第一产业", "unit": "亿元", "parent": "gdp", "version": 2 });
    let (status, answer) = put(&app, "/api/v1/statistics/indicators/gdp_primary", &office, renamed_code).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_indicator_code")));
    let (_, panel) = app.get("/api/v1/statistics/panel", Some(&office)).await;
    assert_eq!(panel["version"].as_i64(), Some(version_before), "nothing written by the refusals");
    assert_eq!(catalogue(&app, &office).await.len(), 9);

    // Who may: administrators too; other staff read only.
    let leader = app.login("leader").await;
    let (status, _) = app.post("/api/v1/statistics/indicators", Some(&leader), new(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = app.login("admin").await;
    let (status, answer) = app.post("/api/v1/statistics/indicators", Some(&admin), new(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _) = app.get("/api/v1/statistics/indicators/tertiary_services", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_catalogue_page_edits_with_refusals_beside_their_forms() {
    let app = spawn().await;
    with_demo(&app).await;
    let office = app.login("statistics").await;
    let (status, html) = page(&app, "/statistics", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/statistics/catalogue\""), "linked for the keeper");
    let leader = app.login("leader").await;
    assert!(!page(&app, "/statistics", &leader).await.1.contains("/statistics/catalogue"), "not for readers");
    assert_eq!(page(&app, "/statistics/catalogue", &leader).await.0, StatusCode::FORBIDDEN);

    let (status, html) = page(&app, "/statistics/catalogue", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<td>gdp_primary</td><td>第一产业增加值</td><td>亿元</td><td>地区生产总值</td>"), "{html}");
    assert!(html.contains("action=\"/statistics/catalogue/gdp_primary\"") && html.contains("id=\"add-form\""));

    // A refused addition: the message beside the add form, what was typed kept, nothing written.
    let bad = [("code", "Tech!"), ("name", "高技术制造业投资"), ("unit", "亿元"), ("parent", "industrial_investment")];
    let (status, _, html) = post_form(&app, "/statistics/catalogue", &office, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"add-error\"") && html.contains("指标编码“Tech!”不合规"), "{html}");
    assert!(html.contains("value=\"高技术制造业投资\"") && html.contains("value=\"Tech!\""), "typed values kept");
    assert_eq!(catalogue(&app, &office).await.len(), 8);
    let good = [
        ("code", "high_tech_investment"),
        ("name", "高技术制造业投资"),
        ("unit", "亿元"),
        ("parent", "industrial_investment"),
        ("show_share", "on"),
        ("source", "中山市统计局"),
    ];
    let (status, location, _) = post_form(&app, "/statistics/catalogue", &office, &good).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/statistics/catalogue#indicator-high_tech_investment")
    );
    let added = catalogue(&app, &office).await.pop().unwrap();
    assert_eq!((added["publish_value"].as_bool(), added["show_share"].as_bool()), (Some(false), Some(true)), "{added}");

    // A change on a stale version: refused beside that indicator's form, the typed name kept.
    let edit = |name: &'static str, version: &'static str| {
        [
            ("name", name),
            ("unit", "亿元"),
            ("parent", "gdp"),
            ("publish_value", "on"),
            ("source", "中山市统计局"),
            ("version", version),
        ]
    };
    let (status, location, _) =
        post_form(&app, "/statistics/catalogue/gdp_primary", &office, &edit("第一产业增加值（农业）", "1")).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/statistics/catalogue#indicator-gdp_primary"));
    let (status, _, html) = post_form(&app, "/statistics/catalogue/gdp_primary", &office, &edit("第一产业", "1")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("id=\"indicator-gdp_primary-error\"") && html.contains("请刷新后再改"), "{html}");
    assert!(html.contains("value=\"第一产业\""), "the typed name kept");
    let (status, _, html) = post_form(&app, "/statistics/catalogue/gdp_primary", &office, &edit("", "2")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"indicator-gdp_primary-error\"") && html.contains("名称不能为空"), "{html}");
    let (_, detail) = app.get("/api/v1/statistics/indicators/gdp_primary", Some(&office)).await;
    assert_eq!((detail["name"].as_str(), detail["version"].as_i64()), (Some("第一产业增加值（农业）"), Some(2)));
    assert_eq!(detail["history"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_public_sees_only_what_was_published() {
    let app = spawn().await;
    with_demo(&app).await;
    let office = app.login("statistics").await;

    // Nothing published: 404 on the API and the page; the portal links to it.
    let (status, answer) = app.get("/api/v1/public/statistics", None).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("statistics_not_published")));
    let (status, html) = public_page(&app, "/public/statistics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("尚未公开发布") && !html.contains("2527.54"), "{html}");
    assert!(public_page(&app, "/").await.1.contains("href=\"/public/statistics\""), "linked from the portal home");

    let (status, published) = app.post("/api/v1/statistics/periods/2021-Q3/publish", Some(&office), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["period"]["key"], "2021-Q3");
    assert!(published["by"].as_str().unwrap().contains("statistician"), "{published}");
    let (status, public) = app.get("/api/v1/public/statistics", None).await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["period"]["key"], "2021-Q3");
    assert_eq!(card(&public, "gdp")["value_text"], "2527.54");
    assert_eq!(card(&public, "gdp")["entered_by"], Value::Null, "who entered it stays inside");
    assert_eq!(public["published_periods"].as_array().unwrap().len(), 1);
    let (status, answer) = app.get("/api/v1/public/statistics?period=2020-Q3", None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("statistics_not_published")),
        "held, not published"
    );

    // A correction after publishing: the staff panel shows it, the public the published figure.
    let (_, panel) = app.get("/api/v1/statistics/panel", Some(&office)).await;
    let body = json!({ "indicator": "gdp", "period": "2021-Q3", "value": 2530.1, "note": "统计局修订", "version": panel["version"] });
    let (status, corrected) = app.post("/api/v1/statistics/values", Some(&office), body).await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    let (_, panel) = app.get("/api/v1/statistics/panel", Some(&office)).await;
    assert_eq!(card(&panel, "gdp")["value_text"], "2530.10");
    let (_, public) = app.get("/api/v1/public/statistics?period=2021年前三季度", None).await;
    assert_eq!(card(&public, "gdp")["value_text"], "2527.54", "not public until published again");
    let (status, html) = public_page(&app, "/public/statistics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("前三季度，全市地区生产总值为2527.54亿元") && !html.contains("2530.10"), "{html}");
    assert!(!html.contains("/statistics/cards/"), "no links into the staff pages");
    let (_, html) = page(&app, "/statistics", &office).await;
    assert!(html.contains("此后数据已有改动，尚未再次发布"), "{html}");

    // Published again (through the page's form): the public sees the correction.
    let version = panel["version"].to_string();
    let stale = (panel["version"].as_i64().unwrap() - 1).to_string();
    let (status, _, html) =
        post_form(&app, "/statistics/periods/2021-Q3/publish", &office, &[("version", stale.as_str())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("id=\"publish-error\""), "{html}");
    let (status, location, _) =
        post_form(&app, "/statistics/periods/2021-Q3/publish", &office, &[("version", version.as_str())]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/statistics?period=2021-Q3#publish"));
    let (_, public) = app.get("/api/v1/public/statistics", None).await;
    assert_eq!(card(&public, "gdp")["value_text"], "2530.10");
    let (_, html) = public_page(&app, "/public/statistics?period=2021-Q3").await;
    assert!(html.contains("全市地区生产总值为2530.10亿元"), "{html}");
    app.post("/api/v1/statistics/periods/2020年前三季度/publish", Some(&office), json!({})).await;
    let (_, html) = public_page(&app, "/public/statistics").await;
    assert!(html.contains("<option value=\"2020-Q3\">2020年前三季度</option>"), "published periods only: {html}");
    assert!(!html.contains("<option value=\"2019-Q3\""), "{html}");
    let (_, history) = app.get("/api/v1/statistics/publications", Some(&office)).await;
    assert_eq!(history.as_array().unwrap().len(), 3, "every publication kept: {history}");

    // Bad input and who may publish.
    for (path, status, code) in [
        ("/api/v1/statistics/periods/2021-Q5/publish", StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"),
        ("/api/v1/statistics/periods/1990-Q1/publish", StatusCode::NOT_FOUND, "statistics_period_not_found"),
    ] {
        let (got, answer) = app.post(path, Some(&office), json!({})).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{path}: {answer}");
    }
    for (path, status, code) in [
        ("/api/v1/public/statistics?period=x", StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"),
        ("/api/v1/public/statistics?year=2021", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/public/statistics?period=2021-Q3&period=2020-Q3", StatusCode::BAD_REQUEST, "duplicate_parameter"),
    ] {
        let (got, answer) = app.get(path, None).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{path}: {answer}");
    }
    let leader = app.login("leader").await;
    let (status, _) = app.post("/api/v1/statistics/periods/2021-Q3/publish", Some(&leader), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
