//! The statistics panel (数说) through the API: the demo figures reproduce
//! the report's numbers verbatim in the card sentences; a release imported
//! from a generated workbook with a bad row is refused with every row's
//! problem and nothing written, a good one shows; a correction keeps the old
//! value in the history; who may read and who may write; bad parameters.

use super::*;

/// A workbook as a statistics bureau releases it: a title row, the header, then the rows.
fn release(rows: &[[&str; 4]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "2022年前三季度中山市主要经济指标").unwrap();
    for (col, title) in (0u16..).zip(["指标", "时期", "数值", "价格指数"]) {
        sheet.write_string(1, col, title).unwrap();
    }
    for (row, cells) in (2u32..).zip(rows) {
        for (col, cell) in (0u16..).zip(cells) {
            match cell.parse::<f64>() {
                Ok(n) if col >= 2 => sheet.write_number(row, col, n).unwrap(),
                _ if cell.is_empty() => continue,
                _ => sheet.write_string(row, col, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(app: &App, path: &str, who: &Session, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app.http.post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn with_demo(app: &App) {
    let now = mashangban_domain::time::now();
    assert_eq!(mashangban_demo::load_statistics(&app.store, now).await.unwrap(), 23);
    assert_eq!(mashangban_demo::load_statistics(&app.store, now).await.unwrap(), 0, "loaded once");
}

fn sentences(panel: &Value) -> Vec<String> {
    panel["cards"].as_array().unwrap().iter().map(|c| c["sentence"].as_str().unwrap().to_owned()).collect()
}

fn card<'a>(panel: &'a Value, indicator: &str) -> &'a Value {
    panel["cards"].as_array().unwrap().iter().find(|c| c["indicator"] == indicator).unwrap()
}

#[tokio::test]
async fn the_demo_panel_reads_like_the_report() {
    let app = spawn().await;
    with_demo(&app).await;
    let leader = app.login("leader").await;
    let (status, panel) = app.get("/api/v1/statistics/panel", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{panel}");
    assert_eq!(panel["period"]["key"], "2021-Q3", "the latest period by default");
    assert_eq!(panel["period"]["label"], "2021年前三季度");
    let said = sentences(&panel);
    for expected in [
        "前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，两年平均增长5.1%。",
        "前三季度，全市第一产业增加值为59.44亿元，同比增长25.6%，两年平均增长14.1%。",
        "前三季度，全市第二产业增加值为1283.78亿元，同比增长14.7%，两年平均增长5.7%。",
        "前三季度，全市规模以上工业增加值为1014.28亿元，同比增长15.9%，两年平均增长6.1%。",
        "前三季度，全市固定资产投资同比增长19.4%，两年平均增长21.9%。",
        "前三季度，全市工业投资同比增长40.2%，两年平均增长49.4%，占固定资产投资的比重为21.2%。",
        "前三季度，全市居民人均可支配收入为44889元，同比增长11.9%，扣除价格因素实际增长10.9%。",
    ] {
        assert!(said.iter().any(|s| s == expected), "missing {expected} in {said:#?}");
    }
    let gdp = card(&panel, "gdp");
    assert_eq!(gdp["value_text"], "2527.54");
    assert_eq!(gdp["series"].as_array().unwrap().len(), 3, "2019, 2020 and 2021");
    assert_eq!(card(&panel, "fixed_asset_investment")["value"], Value::Null, "only its rates are published");
    assert_eq!(panel["add_up"][0]["status"], "consistent");
    assert_eq!(panel["periods"].as_array().unwrap().len(), 3);

    // An earlier period, named the Chinese way.
    let (status, earlier) = app.get("/api/v1/statistics/panel?period=2020年前三季度", Some(&leader)).await;
    assert_eq!(status, StatusCode::OK, "{earlier}");
    assert_eq!(card(&earlier, "gdp")["value_text"], "2266.85");

    // The same figures on the page, and in the export.
    let page = app.http.get(app.url("/statistics")).header("cookie", &leader.0).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for expected in said.iter() {
        assert!(html.contains(expected.as_str()), "the page lacks {expected}");
    }
    assert!(html.contains("<svg"), "charts drawn on the server");

    // A card as an image drawn on the server: its figure, its sentence broken into lines, its chart.
    let image = app.http.get(app.url("/statistics/cards/gdp_primary.svg?period=2021-Q3")).header("cookie", &leader.0);
    let image = image.send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/svg+xml; charset=utf-8");
    assert!(image.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let svg = image.text().await.unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert!(svg.contains(">59.44<") && svg.contains("2021年前三季度"), "{svg}");
    let text: String = roxmltree::Document::parse(&svg)
        .unwrap()
        .descendants()
        .filter(|n| n.is_text() && n.parent().is_some_and(|p| p.tag_name().name() == "text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("前三季度，全市第一产业增加值为59.44亿元，同比增长25.6%，两年平均增长14.1%。"), "{text}");
    assert_eq!(svg.matches("<rect").count(), 2 + 3, "background, band and a bar a year");
    let (status, _) = app.get("/statistics/cards/nope.svg", Some(&leader)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The whole panel as one image (the page's 「导出图片」): every card's image, two a row, under the title.
    assert!(html.contains("href=\"/statistics/panel.svg?period=2021-Q3\""), "the page links the panel image");
    let image = app.http.get(app.url("/statistics/panel.svg?period=2021-Q3")).header("cookie", &leader.0);
    let image = image.send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/svg+xml; charset=utf-8");
    assert!(image.headers()["content-disposition"].to_str().unwrap().contains("panel.svg"));
    let svg = image.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!((root.attribute("width"), root.tag_name().name()), (Some("860"), "svg"));
    let placed: Vec<&str> = root.children().filter_map(|n| n.attribute("transform")).collect();
    assert_eq!(placed.len(), panel["cards"].as_array().unwrap().len(), "{placed:?}");
    assert_eq!(&placed[..2], ["translate(20 56)", "translate(440 56)"]);
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text() && n.parent().is_some_and(|p| p.tag_name().name() == "text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("2021年前三季度主要统计指标"), "{text}");
    for expected in said.iter() {
        assert!(text.contains(expected.as_str()), "the panel image lacks {expected}");
    }
    let anonymous = super::browser::no_redirects().get(app.url("/statistics/panel.svg")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "to the sign-in page");
    let export = app.http.get(app.url("/api/v1/statistics/export?period=2021-Q3")).header("cookie", &leader.0);
    let export = export.send().await.unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let bytes = export.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx workbook");
    let rows: Vec<Vec<String>> = mashangban_sheet::open(&bytes, &mashangban_sheet::Limits::default())
        .unwrap()
        .map(|r| r.unwrap().dense(9).iter().map(|c| c.as_text().unwrap_or_default()).collect())
        .collect();
    let gdp_row = rows.iter().find(|r| r[0] == "地区生产总值").unwrap();
    assert_eq!((gdp_row[2].as_str(), gdp_row[4].as_str(), gdp_row[6].as_str()), ("2527.54", "11.5", "5.1"));
}

#[tokio::test]
async fn a_release_with_a_bad_row_writes_nothing_and_a_good_one_shows() {
    let app = spawn().await;
    with_demo(&app).await;
    let admin = app.login("admin").await;
    let bad = release(&[
        ["地区生产总值", "2022年前三季度", "2710.3", ""],
        ["第一产业增加值", "2022年前三季度", "六十", ""],
        ["不存在的指标", "2022-Q3", "1", ""],
        ["居民人均可支配收入", "2022年第五季度", "47000", "101.5"],
    ]);
    let (status, refused) = upload(&app, "/api/v1/statistics/import", &admin, "release.xlsx", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], "invalid_rows");
    assert_eq!(refused["applied"], false);
    let problems: Vec<(i64, String, String)> = refused["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["column"].as_str().unwrap().into(), p["code"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        problems,
        [
            (4, "数值".into(), "invalid_number".into()),
            (5, "指标".into(), "unknown_indicator".into()),
            (6, "时期".into(), "invalid_period".into()),
        ]
    );
    assert!(refused["message"].as_str().unwrap().contains("全部未导入"));
    let (_, panel) = app.get("/api/v1/statistics/panel?period=2021-Q3", Some(&admin)).await;
    assert_eq!(panel["periods"].as_array().unwrap().len(), 3, "nothing of the good row was written");
    let (status, _) = app.get("/api/v1/statistics/panel?period=2022-Q3", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let good = release(&[
        ["地区生产总值", "2022年前三季度", "2,710.30", ""],
        ["gdp_primary", "2022-Q3", "62.5", ""],
        ["居民人均可支配收入", "2022年1-9月", "47363", "102.0"],
    ]);
    let (status, report) = upload(&app, "/api/v1/statistics/import", &admin, "release.xlsx", good).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["applied"].as_bool(), report["new"].as_i64()), (Some(true), Some(3)));
    let (status, panel) = app.get("/api/v1/statistics/panel", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(panel["period"]["key"], "2022-Q3");
    // 2710.30 / 2527.54 − 1 = 7.23 %, √(2710.30 / 2266.85) − 1 = 9.35 %;
    // 47363 / 44889 − 1 = 5.51 %, real 1.0551 / 1.02 − 1 = 3.44 %, √(47363 / 40115) − 1 = 8.66 %.
    let said = sentences(&panel);
    assert!(
        said.contains(&"前三季度，全市地区生产总值为2710.30亿元，同比增长7.2%，两年平均增长9.3%。".to_owned()),
        "{said:#?}"
    );
    assert!(
        said.contains(
            &"前三季度，全市居民人均可支配收入为47363元，同比增长5.5%，扣除价格因素实际增长3.4%，两年平均增长8.7%。"
                .to_owned()
        ),
        "{said:#?}"
    );
    assert_eq!(panel["add_up"][0]["status"], "incomplete", "two of the three industries have no 2022 value");
    assert!(panel["add_up"][0]["missing_parts"].as_array().unwrap().contains(&json!("第二产业增加值")));

    // A cumulative value below the held shorter span of the same year is refused too.
    let shrinking = release(&[["地区生产总值", "2022年1-6月", "2800", ""]]);
    let (status, refused) = upload(&app, "/api/v1/statistics/import", &admin, "r.xlsx", shrinking).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["problems"][0]["code"], "period_out_of_order");

    // Not a workbook; no file.
    let (status, answer) =
        upload(&app, "/api/v1/statistics/import", &admin, "x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1junk".to_vec())
            .await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_xlsx")), "{answer}");
    let template =
        app.http.get(app.url("/api/v1/statistics/template")).header("cookie", &admin.0).send().await.unwrap();
    assert_eq!(template.status(), StatusCode::OK);
    let template = template.bytes().await.unwrap();
    let (status, answer) = upload(&app, "/api/v1/statistics/import", &admin, "t.xlsx", template.to_vec()).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_rows")), "{answer}");
}

#[tokio::test]
async fn a_correction_keeps_the_old_value_in_its_history() {
    let app = spawn().await;
    with_demo(&app).await;
    let admin = app.login("admin").await;
    let (_, panel) = app.get("/api/v1/statistics/panel", Some(&admin)).await;
    let version = panel["version"].as_i64().unwrap();
    let body = json!({
        "indicator": "第一产业增加值", "period": "2021年前三季度", "value": 59.45,
        "note": "统计局修订", "version": version,
    });
    let (status, value) = app.post("/api/v1/statistics/values", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!((value["value"].as_f64(), value["version"].as_i64()), (Some(59.45), Some(2)));
    let history = value["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[0]["action"].as_str(), history[0]["value"].as_f64()), (Some("imported"), Some(59.44)));
    assert_eq!(history[1]["action"], "corrected");
    assert_eq!((history[1]["value_before"].as_f64(), history[1]["note"].as_str()), (Some(59.44), Some("统计局修订")));
    assert!(history[1]["by"].as_str().unwrap().contains("admin"));

    // Sent again on the version it was read at: the data changed meanwhile.
    let (status, answer) = app.post("/api/v1/statistics/values", Some(&admin), body).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("statistics_changed")));

    let (status, read) = app.get("/api/v1/statistics/values/gdp_primary/2021-Q3", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["history"].as_array().unwrap().len(), 2);

    // Refused entries name the field and write nothing.
    for (body, code) in [
        (json!({ "indicator": "gdp", "period": "2021-Q3", "value": "abc" }), "invalid_number"),
        (json!({ "indicator": "gdp", "period": "2021年第五季度", "value": 1 }), "invalid_period"),
        (json!({ "indicator": "nope", "period": "2021-Q3", "value": 1 }), "unknown_indicator"),
        (json!({ "indicator": "gdp", "period": "2021-Q3", "value": 1, "source": "x".repeat(61) }), "invalid_source"),
        (json!({ "indicator": "gdp", "period": "2021-Q2", "value": 9999 }), "period_out_of_order"),
    ] {
        let (status, answer) = app.post("/api/v1/statistics/values", Some(&admin), body).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    let (status, answer) =
        app.post("/api/v1/statistics/values", Some(&admin), json!({ "indicator": "gdp", "period": "2021-Q3" })).await;
    assert!(status.is_client_error(), "{status} {answer}");
    let (_, read) = app.get("/api/v1/statistics/values/gdp/2021-Q3", Some(&admin)).await;
    assert_eq!((read["value"].as_f64(), read["history"].as_array().unwrap().len()), (Some(2527.54), 1));
}

#[tokio::test]
async fn who_may_read_and_who_may_write() {
    let app = spawn().await;
    with_demo(&app).await;
    let (status, answer) = app.get("/api/v1/statistics/panel", None).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let enterprise = app.login("enterprise").await;
    let (status, _) = app.get("/api/v1/statistics/panel", Some(&enterprise)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for reader in ["leader", "operator", "handler", "supervisor"] {
        let who = app.login(reader).await;
        let (status, _) = app.get("/api/v1/statistics/panel", Some(&who)).await;
        assert_eq!(status, StatusCode::OK, "{reader} reads");
        let body = json!({ "indicator": "gdp", "period": "2021-Q3", "value": 1 });
        let (status, answer) = app.post("/api/v1/statistics/values", Some(&who), body).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{reader}");
        let (status, _) = upload(&app, "/api/v1/statistics/import", &who, "r.xlsx", release(&[])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reader} imports");
    }
    let page = app.http.get(app.url("/statistics")).header("cookie", &enterprise.0).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_parameters_have_their_codes() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    // Before any catalogue: an empty panel, and writes say why they cannot be.
    let (status, panel) = app.get("/api/v1/statistics/panel", Some(&admin)).await;
    assert_eq!((status, panel["cards"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let body = json!({ "indicator": "gdp", "period": "2021-Q3", "value": 1 });
    let (status, answer) = app.post("/api/v1/statistics/values", Some(&admin), body).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("statistics_catalog_missing")));
    with_demo(&app).await;
    for (path, status, code) in [
        ("/api/v1/statistics/panel?period=2021-Q5", StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"),
        ("/api/v1/statistics/panel?period=1990-Q1", StatusCode::NOT_FOUND, "statistics_period_not_found"),
        ("/api/v1/statistics/panel?year=2021", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/statistics/panel?period=2021-Q3&period=2020-Q3", StatusCode::BAD_REQUEST, "duplicate_parameter"),
        ("/api/v1/statistics/export?period=x", StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"),
        ("/api/v1/statistics/values/gdp/2019-Q1", StatusCode::NOT_FOUND, "statistics_value_not_found"),
        ("/api/v1/statistics/values/nope/2021-Q3", StatusCode::NOT_FOUND, "statistics_value_not_found"),
    ] {
        let (got, answer) = app.get(path, Some(&admin)).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{path}: {answer}");
    }
    let (status, answer) = app
        .post(
            "/api/v1/statistics/values",
            Some(&admin),
            json!({ "indicator": "gdp", "period": "2021-Q3", "value": 1, "x": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // A data file that does not parse is refused with the domain's code.
    let (status, answer) =
        upload(&app, "/api/v1/statistics/data-file", &admin, "d.toml", b"area = \"\"\n".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "invalid_indicator_catalog");
}

#[tokio::test]
async fn the_keeper_enters_and_imports_through_the_pages() {
    let app = spawn().await;
    with_demo(&app).await;
    let admin = app.login("admin").await;
    let http = super::browser::no_redirects();
    let page = http.get(app.url("/statistics")).header("cookie", &admin.0).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("录入或更正数值") && html.contains("/statistics/import"), "the keeper's form and link");
    let version = app.get("/api/v1/statistics/panel", Some(&admin)).await.1["version"].to_string();

    let post = |fields: Vec<(&'static str, String)>| {
        http.post(app.url("/statistics/values")).header("cookie", &admin.0).form(&fields).send()
    };
    let bad = vec![
        ("indicator", "gdp".into()),
        ("period", "2021-Q3".into()),
        ("value", "二千".into()),
        ("version", version.clone()),
    ];
    let res = post(bad).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("不是数字"), "the reason next to the form");
    let good = vec![
        ("indicator", "gdp".into()),
        ("period", "2022年一季度".into()),
        ("value", "820.5".into()),
        ("version", version.clone()),
    ];
    let res = post(good).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/statistics?period=2022-Q1");
    let (_, value) = app.get("/api/v1/statistics/values/gdp/2022-Q1", Some(&admin)).await;
    assert_eq!((value["value"].as_f64(), value["history"][0]["action"].as_str()), (Some(820.5), Some("entered")));
    // A form opened before that entry, refused for its note (checked before the version): shown
    // again on the version it was typed on, so sending it again is refused, not saved over the entry.
    let stale = |note: &str| {
        let fields = [("indicator", "gdp"), ("period", "2021-Q3"), ("value", "2000"), ("note", note)];
        let mut fields: Vec<(&'static str, String)> = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        fields.push(("version", version.clone()));
        fields
    };
    let res = post(stale(&"注".repeat(300))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let form = &html[html.find("action=\"/statistics/values\"").expect("the entry form")..];
    let typed_on = format!("name=\"version\" value=\"{version}\"");
    assert!(form.contains(&typed_on), "the version it was typed on, not the current one: {form}");
    let res = post(stale("")).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("统计数据已被他人修改"));

    let upload_page = |bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("release.xlsx");
        let form = reqwest::multipart::Form::new().part("file", part);
        http.post(app.url("/statistics/import")).header("cookie", &admin.0).multipart(form).send()
    };
    let res = upload_page(release(&[["地区生产总值", "2022年上半年", "abc", ""]])).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("import-problems") && html.contains("不是数字") && html.contains("全部未导入"), "{html}");
    let res = upload_page(release(&[["地区生产总值", "2022年上半年", "1650.2", ""]])).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("新增 1 个数值"));
    let (_, panel) = app.get("/api/v1/statistics/panel?period=2022-M06", Some(&admin)).await;
    assert_eq!(card(&panel, "gdp")["value_text"], "1650.20");
}

#[tokio::test]
async fn two_keepers_enter_one_value_the_second_sees_the_first_ones_with_what_they_typed_beside_it() {
    use super::approvals::{form_fields, get, post_fields, set};
    use super::browser::page;
    let app = spawn().await;
    with_demo(&app).await;
    let (a_session, b_session) = (app.login("admin").await, app.login("admin").await);
    // A and B open the panel's entry form (the data set's version in it).
    let mut a = form_fields(&page(&app, "/statistics", &a_session).await.1, "entry-heading");
    let mut b = form_fields(&page(&app, "/statistics", &b_session).await.1, "entry-heading");
    let version = get(&a, "version").to_owned();
    assert_eq!(get(&b, "version"), version);

    // A enters the GDP of 2022 Q1.
    for (field, value) in [("indicator", "gdp"), ("period", "2022-Q1"), ("value", "820.5"), ("real_growth", "4.2")] {
        set(&mut a, field, value);
    }
    let (status, location, body) = post_fields(&app, "/statistics/values", &a_session, &a).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/statistics?period=2022-Q1"), "{body}");

    // B enters the same value on the old version, written 820.50, with another growth rate.
    for (field, value) in
        [("indicator", "gdp"), ("period", "2022年一季度"), ("value", "820.50"), ("real_growth", "5.1")]
    {
        set(&mut b, field, value);
    }
    let (status, _, html) = post_fields(&app, "/statistics/values", &b_session, &b).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("保存前，统计数据已被他人修改"), "{html}");
    let shown = form_fields(&html, "entry-heading");
    assert_eq!((get(&shown, "indicator"), get(&shown, "period")), ("gdp", "2022-Q1"));
    assert_eq!((get(&shown, "value"), get(&shown, "real_growth")), ("820.5", "4.2"), "the stored value");
    assert_ne!(get(&shown, "version"), version, "at the current version");
    assert!(!html.contains("id=\"typed-value\""), "820.50 is 820.5: {html}");
    assert!(html.contains("id=\"typed-real_growth\">您填写的：5.1"), "{html}");
    let (_, value) = app.get("/api/v1/statistics/values/gdp/2022-Q1", Some(&a_session)).await;
    assert_eq!((value["real_growth"].as_f64(), value["history"].as_array().unwrap().len()), (Some(4.2), 1));

    // B retypes the growth in the form as shown and saves: a correction of A's entry.
    let mut again = shown;
    set(&mut again, "real_growth", "5.1");
    set(&mut again, "note", "按统计局快报更正");
    let (status, location, body) = post_fields(&app, "/statistics/values", &b_session, &again).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/statistics?period=2022-Q1"), "{body}");
    let (_, value) = app.get("/api/v1/statistics/values/gdp/2022-Q1", Some(&a_session)).await;
    assert_eq!((value["value"].as_f64(), value["real_growth"].as_f64()), (Some(820.5), Some(5.1)));
    let history = value["history"].as_array().unwrap();
    assert_eq!((history.len(), history[1]["action"].as_str()), (2, Some("corrected")), "{value}");
}
