//! Creeks (河涌整治) through the API: grab samples classed under GB 3838-2002
//! (the worst item decides, 劣Ⅴ beyond Ⅴ), the current class and a trend
//! that improves over six months, refusals with stable codes, an Excel (CSV)
//! import all or nothing, the plan (一河一策) with its computed total and every
//! change recorded, a stale save refused, another town refused everything,
//! and the pages showing the class, the chart and the plan.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{App, Session, spawn, unit_handler};

const CREEK: &str = "HY442000001";

fn creek(n: u32, town: &str) -> Value {
    json!({ "values": {
        "creek_code": format!("HY442000{n:03}"),
        "name": format!("测试涌{n}号"),
        "town": town,
        "cluster": "central",
        "category": "substandard",
        "river_chief": "陈河长",
        "target_date": "2026-12-31",
        "target_class": "4",
    }})
}

async fn sample(app: &App, who: &Session, at: &str, values: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/creeks/{CREEK}/samples"), Some(who), json!({ "sampled_at": at, "values": values })).await
}

async fn upload(app: &App, path: &str, who: &Session, text: &str) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("samples.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app.http.post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn put(app: &App, path: &str, body: Value, who: &Session) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

async fn page(app: &App, path: &str, who: &Session) -> String {
    let res = app.http.get(app.url(path)).header("cookie", &who.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn samples_are_classed_the_trend_follows_and_another_town_is_refused() {
    let app = spawn().await;
    app.set_time("2026-06-15T12:00:00+08:00");
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let (status, created) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek(1, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The worst item decides, and each item's class is given with its limit.
    let (status, s) =
        sample(&app, &guzhen, "2026-06-01 09:30", json!({ "溶解氧": 6.5, "cod": "25", "w21011": 0.15 })).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!((s["class_no"].as_u64(), s["class"].as_str()), (Some(4), Some("Ⅳ类")));
    assert_eq!(s["decided_by"], json!(["化学需氧量（COD）"]));
    let items: Vec<(String, u64)> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["parameter"].as_str().unwrap().to_owned(), i["class_no"].as_u64().unwrap()))
        .collect();
    assert_eq!(items, [("cod".into(), 4), ("dissolved_oxygen".into(), 2), ("total_phosphorus".into(), 3)]);
    // Beyond class Ⅴ is 劣Ⅴ.
    let (_, s) = sample(&app, &guzhen, "2026-01-10", json!({ "氨氮": 2.5, "cod": 18 })).await;
    assert_eq!((s["class_no"].as_u64(), s["class"].as_str()), (Some(6), Some("劣Ⅴ类")));
    assert_eq!(s["decided_by"], json!(["氨氮（NH3-N）"]));
    assert_eq!(s["items"][0]["limit"], "≤2", "劣Ⅴ names the class Ⅴ limit it failed");

    // A half-year that gets better: 劣Ⅴ, 劣Ⅴ, Ⅴ, then Ⅳ, Ⅲ, Ⅲ (the June sample above is Ⅳ too).
    for (at, nh3) in [("2026-02-10", 2.2), ("2026-03-10", 1.8), ("2026-04-10", 1.2), ("2026-05-10", 0.9)] {
        let (status, s) = sample(&app, &guzhen, at, json!({ "ammonia_nitrogen": nh3 })).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
    }
    let (_, latest) = sample(&app, &guzhen, "2026-06-10T08:00:00+08:00", json!({ "氨氮": 0.8 })).await;
    assert_eq!(latest["class"], "Ⅲ类");

    let (status, water) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&guzhen)).await;
    assert_eq!(status, StatusCode::OK, "{water}");
    assert_eq!(water["current"]["class"], "Ⅲ类", "the newest sample is the current class");
    assert_eq!(water["samples"].as_array().unwrap().len(), 7);
    let months = water["months"].as_array().unwrap();
    assert_eq!(
        (months.len(), months[0]["month"].as_str(), months[11]["month"].as_str()),
        (12, Some("2025-07"), Some("2026-06"))
    );
    assert_eq!((months[6]["worst"].as_str(), months[11]["worst"].as_str()), (Some("劣Ⅴ类"), Some("Ⅳ类")));
    assert_eq!(months[11]["samples"], 2);
    assert_eq!((water["trend"].as_str(), water["trend_label"].as_str()), (Some("improving"), Some("好转")));
    assert_eq!(water["may_edit"], true);

    // Refusals, each with its code; nothing is written.
    for (values, at, code) in [
        (json!({ "铅": 0.01 }), "2026-06-01", "sample_unknown_parameter"),
        (json!({ "cod": "很高" }), "2026-06-01", "sample_value_not_number"),
        (json!({ "cod": true }), "2026-06-01", "sample_value_not_number"),
        (json!({ "cod": -3 }), "2026-06-01", "sample_value_negative"),
        (json!({ "cod": 10 }), "2026-06-16", "sample_in_future"),
        (json!({ "cod": 10 }), "上周", "sample_time_invalid"),
        (json!({}), "2026-06-01", "sample_empty"),
    ] {
        let (status, e) = sample(&app, &guzhen, at, values.clone()).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{values}: {e}");
        assert!(e["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{e}");
    }
    let (status, e) = app
        .post(
            "/api/v1/creeks/HY442000999/samples",
            Some(&guzhen),
            json!({ "sampled_at": "2026-06-01", "values": { "cod": 1 } }),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("ledger_item_not_found")));
    let (_, water) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&guzhen)).await;
    assert_eq!(water["samples"].as_array().unwrap().len(), 7, "refused samples wrote nothing");

    // Another town sees and writes nothing of this creek.
    for (status, e) in [
        app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&xiaolan)).await,
        app.get(&format!("/api/v1/creeks/{CREEK}/plan"), Some(&xiaolan)).await,
        sample(&app, &xiaolan, "2026-06-01", json!({ "cod": 10 })).await,
        app.call(
            reqwest::Method::PUT,
            &format!("/api/v1/creeks/{CREEK}/plan"),
            Some(&xiaolan),
            Some(json!({ "version": 0, "chief_name": "某", "chief_post": "某职" })),
        )
        .await,
    ] {
        assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("ledger_item_not_found")), "{e}");
    }
    let operator = app.login("operator").await;
    let (status, _) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&operator)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The creek list shows the current class; the item page the class, the chart and the samples.
    let list = page(&app, "/ledgers/creek", &guzhen).await;
    assert!(list.contains("当前水质（最新采样）") && list.contains("Ⅲ类"), "{list}");
    let item = page(&app, &format!("/ledgers/creek/items/{CREEK}"), &guzhen).await;
    assert!(item.contains("<svg") && item.contains("好转") && item.contains("登记人工采样"), "{item}");
    let other = page(&app, "/ledgers/creek", &xiaolan).await;
    assert!(!other.contains(CREEK));
}

#[tokio::test]
async fn an_import_with_a_bad_row_writes_nothing_and_a_good_one_writes_all() {
    let app = spawn().await;
    app.set_time("2026-06-15T12:00:00+08:00");
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let (status, created) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek(1, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/creeks/{CREEK}/samples/import");
    let bad = "采样时间,采样断面,化学需氧量,氨氮\n2026-05-01 09:00,上游,18,0.4\n2026-05-02,下游,abc,-1\n2026-07-01,下游,18,0.4\n";
    let (status, e) = upload(&app, &path, &guzhen, bad).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{e}");
    let (status, preview) = upload(&app, &format!("{path}/preview"), &guzhen, bad).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (preview["applied"].as_bool(), preview["rows"].as_u64(), preview["problem_count"].as_u64()),
        (Some(false), Some(3), Some(3))
    );
    let problems: Vec<(u64, String)> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(problems, [(3, "化学需氧量".into()), (3, "氨氮".into()), (4, "采样时间".into())]);
    let (_, water) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&guzhen)).await;
    assert!(water["samples"].as_array().unwrap().is_empty(), "nothing written: {water}");

    let good = "采样时间,采样断面,COD,氨氮,总磷\n2026-05-01 09:00,上游,14,0.4,0.1\n2026-05-02,下游,35,1.6,0.2\n";
    let (status, done) = upload(&app, &path, &guzhen, good).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let classes: Vec<&str> = done["samples"].as_array().unwrap().iter().map(|s| s["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["Ⅱ类", "Ⅴ类"]);
    let (_, water) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&guzhen)).await;
    assert_eq!(water["samples"].as_array().unwrap().len(), 2);
    assert_eq!(water["current"]["source"], "import");
}

#[tokio::test]
async fn a_plan_totals_its_measures_and_records_every_change() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let admin = app.login("admin").await;
    let (status, created) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek(1, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/creeks/{CREEK}/plan");
    let (status, empty) = app.get(&path, Some(&guzhen)).await;
    assert_eq!(
        (status, empty["version"].as_i64(), empty["total_budget_wan"].as_f64()),
        (StatusCode::OK, Some(0), Some(0.0))
    );
    let body = |version: i64, status: &str| {
        json!({
            "version": version,
            "unit": "guzhen",
            "chief_name": "陈河长",
            "chief_post": "古镇镇镇长",
            "measures": [
                { "text": "沿河截污管网2.3公里", "kind": "截污", "budget_wan": 120.5, "due_on": "2026-10-31", "unit": "swuj", "status": status },
                { "text": "河道清淤", "kind": "dredging", "budget_wan": 30.25 },
            ],
        })
    };
    let (status, plan) = put(&app, &path, body(0, "未开始"), &guzhen).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!((plan["version"].as_i64(), plan["total_budget_wan"].as_f64()), (Some(1), Some(150.75)));
    assert_eq!((plan["chief_name"].as_str(), plan["chief_post"].as_str()), (Some("陈河长"), Some("古镇镇镇长")));
    assert_eq!(plan["measures"][0]["unit"]["code"], "swuj");
    assert_eq!(plan["measures"][1]["status"], "not_started");
    let (status, plan) = put(&app, &path, body(1, "in_progress"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["version"], 2);
    let history = plan["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["version"], 2);
    assert!(history[0]["by"].as_str().unwrap().contains("admin"), "{}", history[0]);
    let change = history[0]["changes"][0].as_str().unwrap();
    assert!(change.starts_with("第1项措施") && change.contains("未开始") && change.contains("实施中"), "{change}");
    assert!(history[1]["changes"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("150.75万元")));

    // A save made on an old version is refused; bad measures have their codes.
    let (status, e) = put(&app, &path, body(1, "done"), &guzhen).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("creek_plan_changed")), "{e}");
    let mut bad = body(2, "done");
    bad["measures"][0]["budget_wan"] = json!(-5);
    assert_eq!(put(&app, &path, bad, &guzhen).await.1["code"], "budget_invalid");
    let mut bad = body(2, "done");
    bad["measures"][0]["kind"] = json!("挖沙");
    assert_eq!(put(&app, &path, bad, &guzhen).await.1["code"], "measure_kind_invalid");
    let mut bad = body(2, "done");
    bad["measures"][0]["unit"] = json!("nowhere");
    assert_eq!(put(&app, &path, bad, &guzhen).await.1["code"], "unknown_unit");
    let (_, plan) = app.get(&path, Some(&guzhen)).await;
    assert_eq!(plan["version"], 2, "refused saves changed nothing");

    // The page shows the plan; the export holds a row per measure.
    let item = page(&app, &format!("/ledgers/creek/items/{CREEK}"), &guzhen).await;
    assert!(item.contains("一河一策") && item.contains("150.75") && item.contains("陈河长"), "{item}");
    let res = app.http.get(app.url("/api/v1/creeks/plans/export")).header("cookie", &admin.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.len() > 1000);
}

#[tokio::test]
async fn the_demo_creeks_have_plans_and_a_year_of_samples_mostly_improving() {
    let app = spawn().await;
    let now = mashangban_domain::time::now();
    mashangban_demo::load_ledgers(&app.store, 300).await.unwrap();
    assert_eq!(mashangban_demo::load_creeks(&app.store, now).await.unwrap(), mashangban_demo::DEMO_CREEK_PLANS);
    assert_eq!(mashangban_demo::load_creeks(&app.store, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let mut trends = Vec::new();
    for n in 1..=6 {
        let (status, water) = app.get(&format!("/api/v1/creeks/HY442000{n:03}/water"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{water}");
        assert!(water["samples"].as_array().unwrap().len() >= 11, "{water}");
        trends.push(water["trend"].as_str().unwrap().to_owned());
    }
    assert_eq!(trends.iter().filter(|t| *t == "improving").count(), 5, "{trends:?}");
    assert_eq!(trends.iter().filter(|t| *t == "worsening").count(), 1, "{trends:?}");
    let (_, plan) = app.get("/api/v1/creeks/HY442000001/plan", Some(&admin)).await;
    assert_eq!((plan["version"].as_i64(), plan["history"].as_array().unwrap().len()), (Some(2), 2));
    assert!(plan["total_budget_wan"].as_f64().unwrap() > 0.0);
}

async fn post_form(app: &App, path: &str, who: &Session, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let res =
        crate::browser::no_redirects().post(app.url(path)).header("cookie", &who.0).form(fields).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status(), location, res.text().await.unwrap())
}

#[tokio::test]
async fn the_page_forms_add_a_sample_and_change_the_plan() {
    let app = spawn().await;
    app.set_time("2026-06-15T12:00:00+08:00");
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let (status, created) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek(1, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let fields = [("sampled_at", "2026-06-01T09:30"), ("section", "桥下"), ("cod", "36"), ("ammonia_nitrogen", "")];
    let (status, location, _) = post_form(&app, &format!("/creeks/{CREEK}/samples"), &guzhen, &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/ledgers/creek/items/HY442000001#water"));
    let (_, water) = app.get(&format!("/api/v1/creeks/{CREEK}/water"), Some(&guzhen)).await;
    assert_eq!((water["current"]["class"].as_str(), water["current"]["section"].as_str()), (Some("Ⅴ类"), Some("桥下")));
    // A refused sample shows the item page with the reason.
    let (status, _, body) =
        post_form(&app, &format!("/creeks/{CREEK}/samples"), &guzhen, &[("sampled_at", "2026-06-01"), ("cod", "-1")])
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("不能为负数"), "{body}");

    let plan = [
        ("version", "0"),
        ("chief_name", "陈河长"),
        ("chief_post", "古镇镇镇长"),
        ("unit", "guzhen"),
        ("new_kind", "dredging"),
        ("new_text", "河道清淤"),
        ("new_budget", "88.5"),
        ("new_due", "2026-09-30"),
        ("new_unit", ""),
        ("new_status", "not_started"),
    ];
    let (status, location, _) = post_form(&app, &format!("/creeks/{CREEK}/plan"), &guzhen, &plan).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/ledgers/creek/items/HY442000001#plan"));
    let change = [("version", "1"), ("chief_name", "陈河长"), ("chief_post", "古镇镇镇长"), ("status_0", "done")];
    let (status, _, _) = post_form(&app, &format!("/creeks/{CREEK}/plan"), &guzhen, &change).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, plan) = app.get(&format!("/api/v1/creeks/{CREEK}/plan"), Some(&guzhen)).await;
    assert_eq!((plan["version"].as_i64(), plan["measures"][0]["status"].as_str()), (Some(2), Some("done")));
    assert_eq!(plan["total_budget_wan"], 88.5);
    let (status, _, body) = post_form(&app, &format!("/creeks/{CREEK}/plan"), &guzhen, &change).await;
    assert_eq!(status, StatusCode::CONFLICT, "a stale form is refused");
    assert!(body.contains("已被他人修改"));
}
