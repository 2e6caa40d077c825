//! The enterprise registry (企业名录, 一企一档) through `/api/v1/enterprises`:
//! records keyed by the credit code, scoped by town, imported from Excel
//! with a preview and all-or-nothing writes, exported, and linked to the
//! requests carrying the same code.

use super::*;

use mashangban_domain::validation::CreditCode;

use super::browser::no_redirects;

/// A valid credit code made from a 17-character body.
fn code(body: &str) -> String {
    CreditCode::with_check_char(body).unwrap().as_str().to_owned()
}

pub(crate) fn record(credit_code: &str, town: &str) -> Value {
    json!({
        "credit_code": credit_code,
        "name": "中山市古镇华艺灯饰有限公司",
        "town": town,
        "address": "古镇镇东兴东路12号",
        "industry_code": "C3872",
        "industry_name": "照明灯具制造",
        "size": "规上",
        "registered_on": "2012-05-18",
        "contact_name": "梁志华",
        "contact_phone": "13800138001",
        "tags": ["专精特新", "灯饰"]
    })
}

async fn upload(app: &App, path: &str, who: &Session, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("名录.xlsx");
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app.http.post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A workbook as the market regulator sends it: a title row, then the header.
fn workbook(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "中山市市场主体名录（2026年11月）").unwrap();
    for (col, title) in ["统一社会信用代码", "企业名称", "镇街", "行业代码", "规模", "成立日期"].iter().enumerate()
    {
        sheet.write_string(1, col as u16, *title).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        for (col, value) in row.iter().enumerate() {
            sheet.write_string(i as u32 + 2, col as u16, *value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn records_are_keyed_by_a_normalised_credit_code_and_listed_with_filters() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let operator = app.login("operator").await;
    let a = code("91442000MA51AAAA1");
    // Pasted with full-width characters, spaces and hyphens.
    let pasted: String = a.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
    let pasted = format!("{}-{} {}", &pasted[..18], &pasted[18..36], &pasted[36..]);
    let (status, created) = app.post("/api/v1/enterprises", Some(&admin), record(&pasted, "古镇镇")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["credit_code"], a);
    assert_eq!((created["town"]["code"].as_str(), created["size"].as_str()), (Some("guzhen"), Some("above")));

    let (status, err) = app.post("/api/v1/enterprises", Some(&admin), record(&a, "guzhen")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("enterprise_exists")));
    let mut bad = a.clone();
    bad.replace_range(17..18, if a.ends_with('0') { "1" } else { "0" });
    let (status, err) = app.post("/api/v1/enterprises", Some(&admin), record(&bad, "guzhen")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_credit_code")));
    assert!(err["message"].as_str().unwrap().contains("校验位"));
    let (status, err) =
        app.post("/api/v1/enterprises", Some(&admin), record(&code("91442000MA51AAAA2"), "scjgj")).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_town")),
        "a department is no town"
    );
    let mut industry = record(&code("91442000MA51AAAA2"), "guzhen");
    industry["industry_code"] = json!("Z99");
    assert_eq!(app.post("/api/v1/enterprises", Some(&admin), industry).await.1["code"], "invalid_industry");
    assert_eq!(app.post("/api/v1/enterprises", Some(&operator), record(&a, "guzhen")).await.0, StatusCode::FORBIDDEN);

    let mut other = record(&code("91442000MA51BBBB1"), "xiaolan");
    other["name"] = json!("中山市小榄五金制品厂");
    other["size"] = json!("below");
    other["industry_code"] = json!("3311");
    app.post("/api/v1/enterprises", Some(&admin), other).await;

    let (status, page) = app.get("/api/v1/enterprises?limit=1", Some(&operator)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((page["total"].as_u64(), page["items"].as_array().unwrap().len()), (Some(2), 1));
    assert_eq!(page["items"][0]["contact_phone"], "138****8001", "lists mask contacts");
    assert_eq!(page["items"][0]["contact_name"], "梁**");
    for (query, expect) in [
        ("town=xiaolan", "中山市小榄五金制品厂"),
        ("industry=C38", "中山市古镇华艺灯饰有限公司"),
        ("size=规下", "中山市小榄五金制品厂"),
        ("q=华艺", "中山市古镇华艺灯饰有限公司"),
    ] {
        let (_, page) = app.get(&format!("/api/v1/enterprises?{query}"), Some(&operator)).await;
        assert_eq!((page["total"].as_u64(), page["items"][0]["name"].as_str()), (Some(1), Some(expect)), "{query}");
    }
    let (status, err) = app.get("/api/v1/enterprises?size=huge", Some(&operator)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
    assert_eq!(app.get("/api/v1/enterprises?x=1", Some(&operator)).await.1["code"], "unknown_parameter");

    // Update with the optimistic version; a stale one is refused.
    let mut edit = record(&a, "guzhen");
    edit.as_object_mut().unwrap().remove("credit_code");
    edit["version"] = json!(1);
    edit["address"] = json!("古镇镇中兴大道1号");
    let path = format!("/api/v1/enterprises/{a}");
    let (status, saved) = app.call(reqwest::Method::PUT, &path, Some(&admin), Some(edit.clone())).await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(2)), "{saved}");
    let (status, err) = app.call(reqwest::Method::PUT, &path, Some(&admin), Some(edit)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("enterprise_changed")));
    let (_, file) = app.get(&path, Some(&operator)).await;
    assert_eq!(file["enterprise"]["contact_phone"], "13800138001", "operators call enterprises back");
    let leader = app.login("leader").await;
    assert_eq!(app.get(&path, Some(&leader)).await.1["enterprise"]["contact_phone"], "138****8001");
}

#[tokio::test]
async fn town_staff_see_their_own_towns_enterprises_only() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (guzhen, xiaolan) = (code("91442000MA51CCCC1"), code("91442000MA51DDDD1"));
    app.post("/api/v1/enterprises", Some(&admin), record(&guzhen, "guzhen")).await;
    app.post("/api/v1/enterprises", Some(&admin), record(&xiaolan, "xiaolan")).await;

    let town = unit_handler(&app, "xiaolan-zfj", "xiaolan-handler").await;
    let (_, page) = app.get("/api/v1/enterprises", Some(&town)).await;
    assert_eq!((page["total"].as_u64(), page["items"][0]["credit_code"].as_str()), (Some(1), Some(xiaolan.as_str())));
    let (status, err) = app.get(&format!("/api/v1/enterprises/{guzhen}"), Some(&town)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("enterprise_not_found")), "out of scope");
    assert_eq!(app.get(&format!("/api/v1/enterprises/{xiaolan}"), Some(&town)).await.0, StatusCode::OK);
    for who in ["supervisor", "leader", "dispatcher", "handler"] {
        let session = app.login(who).await;
        assert_eq!(app.get("/api/v1/enterprises", Some(&session)).await.1["total"], 2, "{who} sees the whole city");
    }
    let enterprise = app.login("enterprise").await;
    assert_eq!(app.get("/api/v1/enterprises", Some(&enterprise)).await.0, StatusCode::FORBIDDEN);
    let (status, page) = app.get(&format!("/enterprises/{guzhen}"), Some(&town)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
}

#[tokio::test]
async fn an_import_is_previewed_reported_row_by_row_and_written_all_or_nothing() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (a, b, c) = (code("91442000MA51EEEE1"), code("91442000MA51FFFF1"), code("91442000MA51GGGG1"));
    app.post("/api/v1/enterprises", Some(&admin), record(&b, "guzhen")).await;
    let mut wrong = a.clone();
    wrong.replace_range(17..18, if a.ends_with('0') { "1" } else { "0" });
    let bad = workbook(&[
        [&a, "中山市东凤电器有限公司", "东凤镇", "C3856", "规上", "2015-03-02"],
        [&wrong, "中山市错码公司", "东凤镇", "", "", ""],
        [&a, "中山市重复公司", "东凤镇", "", "", ""],
        [&c, "中山市无名镇公司", "无名镇", "", "", ""],
        [&c, "中山市坏日期公司", "小榄镇", "", "规上", "2026-02-30"],
    ]);
    let (status, report) = upload(&app, "/api/v1/enterprises/import/preview", &admin, bad.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let problems: Vec<(u64, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (4, "统一社会信用代码"),
            (5, "统一社会信用代码"),
            (6, "所属镇街"),
            (7, "统一社会信用代码"),
            (7, "成立日期")
        ]
    );
    assert!(report["problems"][1]["reason"].as_str().unwrap().contains("与第3行"), "{report}");
    assert_eq!(report["problems"][0]["value"], wrong);
    assert_eq!((report["applied"].as_bool(), report["rows"].as_u64()), (Some(false), Some(5)));

    let (status, err) = upload(&app, "/api/v1/enterprises/import", &admin, bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("没有导入任何数据"));
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 1, "nothing was written");

    let good = workbook(&[
        [&a, "中山市东凤电器有限公司", "东凤镇", "C3856", "规上", "2015-03-02"],
        [&b, "中山市古镇华艺灯饰有限公司", "古镇", "", "", ""],
        [&c, "中山市小榄精密五金有限公司", "xiaolan", "3311", "规下", "2019/7/1"],
    ]);
    let (_, preview) = upload(&app, "/api/v1/enterprises/import/preview", &admin, good.clone()).await;
    assert_eq!((preview["new"].as_u64(), preview["updated"].as_u64()), (Some(2), Some(1)), "{preview}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 1, "a preview writes nothing");
    let (status, done) = upload(&app, "/api/v1/enterprises/import", &admin, good.clone()).await;
    assert_eq!((status, done["applied"].as_bool(), done["new"].as_u64()), (StatusCode::OK, Some(true), Some(2)));
    let (_, again) = upload(&app, "/api/v1/enterprises/import/preview", &admin, good).await;
    assert_eq!((again["new"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)));
    let (_, c_file) = app.get(&format!("/api/v1/enterprises/{c}"), Some(&admin)).await;
    assert_eq!(c_file["enterprise"]["registered_on"], "2019-07-01");

    let dispatcher = app.login("dispatcher").await;
    let operator = app.login("operator").await;
    let (status, _) = upload(&app, "/api/v1/enterprises/import/preview", &operator, workbook(&[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = upload(&app, "/api/v1/enterprises/import/preview", &dispatcher, workbook(&[])).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_rows")));
    let (status, err) = upload(&app, "/api/v1/enterprises/import", &dispatcher, b"PK\x03\x04junk".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");

    // The export reads back through the same importer, unchanged.
    let res = app.http.get(app.url("/api/v1/enterprises/export")).header("cookie", &admin.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let exported = res.bytes().await.unwrap().to_vec();
    let (_, round) = upload(&app, "/api/v1/enterprises/import/preview", &admin, exported).await;
    assert_eq!((round["unchanged"].as_u64(), round["problem_count"].as_u64()), (Some(3), Some(0)), "{round}");
}

#[tokio::test]
async fn an_enterprises_file_shows_its_requests_by_credit_code() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    // The request comes first: linking is a join by code, nothing to rebuild.
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.post("/api/v1/enterprises", Some(&admin), record(ENTERPRISE_CODE, "guzhen")).await;
    let (status, file) = app.get(&format!("/api/v1/enterprises/{ENTERPRISE_CODE}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["requests"][0]["tracking_no"], no.as_str());
    let kinds: Vec<&str> = file["timeline"].as_array().unwrap().iter().map(|t| t["what"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"诉求受理") && kinds.contains(&"登记入库"), "{kinds:?}");

    let res = app.http.get(app.url(&format!("/enterprises/{ENTERPRISE_CODE}"))).header("cookie", &admin.0).send().await;
    let page = res.unwrap().text().await.unwrap();
    assert!(page.contains("中山市古镇华艺灯饰有限公司") && page.contains(&no) && page.contains("时间线"), "{page}");
    let res = app.http.get(app.url("/enterprises?town=guzhen")).header("cookie", &admin.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(ENTERPRISE_CODE));
}

#[tokio::test]
async fn the_demo_city_registers_its_enterprises_across_the_towns() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    let started = std::time::Instant::now();
    let new = mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    eprintln!("{new} demo enterprises registered in {:?}", started.elapsed());
    assert_eq!(new as usize, mashangban_demo::DEMO_ENTERPRISES);
    assert_eq!(mashangban_demo::load_enterprises(&app.store, &data).await.unwrap(), 0, "loading again adds nothing");
    let leader = app.login("leader").await;
    let (_, page) = app.get("/api/v1/enterprises?town=xiaolan&limit=5", Some(&leader)).await;
    assert!(page["total"].as_u64().unwrap() > 50, "{page}");
    let (code, name) = mashangban_demo::demo_enterprise().unwrap();
    let (status, file) = app.get(&format!("/api/v1/enterprises/{}", code.as_str()), Some(&leader)).await;
    assert_eq!((status, file["enterprise"]["name"].as_str()), (StatusCode::OK, Some(name.as_str())));
}

/// A staff page as the browser gets it: (status, location, body).
async fn page(app: &App, path: &str, who: &Session) -> (StatusCode, String) {
    let res = no_redirects().get(app.url(path)).header("cookie", &who.0).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// A form post as the browser sends it: (status, redirect target, body).
async fn post_form(app: &App, path: &str, who: &Session, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let res = no_redirects().post(app.url(path)).header("cookie", &who.0).form(fields).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status(), location, res.text().await.unwrap())
}

/// The import page's upload (or its confirm form): the page's status and body.
async fn import_form(app: &App, who: &Session, form: reqwest::multipart::Form) -> (StatusCode, String) {
    let res = no_redirects()
        .post(app.url("/enterprises/import"))
        .header("cookie", &who.0)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn staff_register_edit_and_import_through_the_pages_forms() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let operator = app.login("operator").await;
    let a = code("91442000MA51HHHH1");

    // Only those who maintain the registry see the buttons and may open the forms.
    let (_, list) = page(&app, "/enterprises", &admin).await;
    assert!(list.contains("href=\"/enterprises/new\"") && list.contains("href=\"/enterprises/import\""), "{list}");
    let (status, list) = page(&app, "/enterprises", &operator).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains("/enterprises/new") && !list.contains("/enterprises/import"));
    assert_eq!(page(&app, "/enterprises/new", &operator).await.0, StatusCode::FORBIDDEN);
    let fields = [("credit_code", a.as_str()), ("name", "中山市表单灯饰有限公司"), ("town", "guzhen")];
    assert_eq!(post_form(&app, "/enterprises/new", &operator, &fields).await.0, StatusCode::FORBIDDEN);

    // A wrong check character: the Chinese reason beside the form, what was typed kept, nothing stored.
    let mut bad = a.clone();
    bad.replace_range(17..18, if a.ends_with('0') { "1" } else { "0" });
    let typed = [
        ("credit_code", bad.as_str()),
        ("name", "中山市表单灯饰有限公司"),
        ("town", "guzhen"),
        ("address", "古镇镇中兴大道1号"),
        ("size", "above"),
        ("contact_phone", "13800138002"),
        ("tags", "灯饰，专精特新"),
    ];
    let (status, _, body) = post_form(&app, "/enterprises/new", &admin, &typed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("role=\"alert\"") && body.contains("校验位"), "{body}");
    assert!(body.contains(&format!("value=\"{bad}\"")) && body.contains("value=\"古镇镇中兴大道1号\""), "{body}");
    assert!(body.contains("value=\"guzhen\" selected") && body.contains("value=\"above\" selected"), "{body}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 0, "nothing stored");

    // Registered through the form: the same record the API writes.
    let mut good = typed;
    good[0].1 = a.as_str();
    let (status, location, _) = post_form(&app, "/enterprises/new", &admin, &good).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/enterprises/{a}").as_str()));
    let (_, file) = app.get(&format!("/api/v1/enterprises/{a}"), Some(&admin)).await;
    let e = &file["enterprise"];
    assert_eq!(
        (e["name"].as_str(), e["size"].as_str(), e["version"].as_i64()),
        (Some("中山市表单灯饰有限公司"), Some("above"), Some(1))
    );
    assert_eq!(e["tags"], json!(["灯饰", "专精特新"]));
    let (_, shown) = page(&app, &format!("/enterprises/{a}"), &admin).await;
    assert!(shown.contains(&format!("href=\"/enterprises/{a}/edit\"")));
    assert!(
        !page(&app, &format!("/enterprises/{a}"), &operator).await.1.contains("/edit\""),
        "no 编辑 for the operator"
    );

    // Edit: the form carries the version; a save on an old version is refused with what was typed kept.
    let edit = format!("/enterprises/{a}/edit");
    let (status, form) = page(&app, &edit, &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"version\" value=\"1\"") && form.contains("value=\"13800138002\""), "{form}");
    let first = [("version", "1"), ("name", "中山市表单灯饰股份有限公司"), ("town", "guzhen"), ("tags", "灯饰")];
    let (status, location, _) = post_form(&app, &edit, &admin, &first).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/enterprises/{a}")));
    let stale = [("version", "1"), ("name", "中山市过期修改有限公司"), ("town", "xiaolan")];
    let (status, _, body) = post_form(&app, &edit, &admin, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // The stored record at its current version, what was typed beside it.
    assert!(
        body.contains("已被他人修改（现为第2版）") && body.contains("value=\"中山市表单灯饰股份有限公司\""),
        "{body}"
    );
    assert!(body.contains("id=\"typed-name\">您填写的：中山市过期修改有限公司"), "{body}");
    assert!(
        body.contains("value=\"guzhen\" selected") && body.contains("id=\"typed-town\">您填写的：小榄镇"),
        "{body}"
    );
    let (_, file) = app.get(&format!("/api/v1/enterprises/{a}"), Some(&admin)).await;
    assert_eq!(
        (file["enterprise"]["name"].as_str(), file["enterprise"]["version"].as_i64()),
        (Some("中山市表单灯饰股份有限公司"), Some(2))
    );
    let (status, _, body) =
        post_form(&app, &edit, &admin, &[("version", "x"), ("name", "某"), ("town", "guzhen")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Import: a preview with a bad row lists it and writes nothing, with no confirm button.
    let (b, c) = (code("91442000MA51JJJJ1"), code("91442000MA51KKKK1"));
    let part = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("名录.xlsx"))
    };
    let with_bad = workbook(&[
        [&b, "中山市导入一号有限公司", "东凤镇", "", "", ""],
        [&c, "中山市无名镇公司", "无名镇", "", "", ""],
    ]);
    let (status, body) = import_form(&app, &admin, part(with_bad)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("预检结果") && body.contains("错误 1 处") && body.contains("所属镇街"), "{body}");
    assert!(!body.contains("确认导入"), "{body}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 1, "a preview writes nothing");

    // A clean preview carries the file to 确认导入, which writes every row.
    let clean = workbook(&[
        [&b, "中山市导入一号有限公司", "东凤镇", "", "", ""],
        [&c, "中山市导入二号有限公司", "小榄镇", "", "规下", ""],
    ]);
    let (status, body) = import_form(&app, &admin, part(clean)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("新增 2 家") && body.contains("确认导入"), "{body}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 1, "a preview writes nothing");
    let data = body.split("name=\"data\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let confirm = reqwest::multipart::Form::new().text("data", data).text("apply", "1");
    let (status, body) = import_form(&app, &admin, confirm).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("导入完成") && body.contains("新增 2 家"), "{body}");
    assert_eq!(app.get("/api/v1/enterprises", Some(&admin)).await.1["total"], 3);
    let (status, body) = import_form(&app, &admin, reqwest::multipart::Form::new().text("apply", "1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("请选择要导入的文件"), "{body}");
}

#[tokio::test]
async fn two_people_edit_one_record_the_second_sees_the_first_ones_save_with_what_they_typed_beside_it() {
    use super::approvals::{form_fields, get, post_fields, set};
    let app = spawn().await;
    let (a_session, b_session) = (app.login("admin").await, app.login("admin").await);
    let credit = code("91442000MA51MMMM1");
    let (status, created) = app.post("/api/v1/enterprises", Some(&a_session), record(&credit, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let edit = format!("/enterprises/{credit}/edit");

    // A and B open the form on version 1.
    let (_, html) = page(&app, &edit, &a_session).await;
    let mut a = form_fields(&html, "enterprise-form");
    let (_, html) = page(&app, &edit, &b_session).await;
    let mut b = form_fields(&html, "enterprise-form");
    assert_eq!((get(&a, "version"), get(&b, "version")), ("1", "1"));

    // A saves a new address and contact.
    set(&mut a, "address", "古镇镇东兴东路88号");
    set(&mut a, "contact_name", "陈美玲");
    let (status, location, body) = post_fields(&app, &edit, &a_session, &a).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/enterprises/{credit}")), "{body}");

    // B saves on version 1: a new phone, the tags typed differently but meaning the same.
    set(&mut b, "contact_phone", "13900139009");
    set(&mut b, "tags", "专精特新, 灯饰");
    let (status, _, html) = post_fields(&app, &edit, &b_session, &b).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("保存前，该企业档案已被他人修改（现为第2版）"), "{html}");
    assert!(html.contains("name=\"version\" value=\"2\""), "the form at the current version: {html}");
    // The stored values in the form, B's beside each field it differs in.
    assert!(html.contains("value=\"古镇镇东兴东路88号\"") && html.contains("value=\"陈美玲\""), "{html}");
    assert!(html.contains("id=\"typed-address\">您填写的：古镇镇东兴东路12号"), "{html}");
    assert!(html.contains("id=\"typed-contact_name\">您填写的：梁志华"), "{html}");
    assert!(
        html.contains("value=\"13800138001\"") && html.contains("id=\"typed-contact_phone\">您填写的：13900139009")
    );
    for same in ["registered_on", "tags", "name", "town", "size"] {
        assert!(!html.contains(&format!("id=\"typed-{same}\"")), "{same} means the same: {html}");
    }
    // Nothing of A's overwritten.
    let (_, file) = app.get(&format!("/api/v1/enterprises/{credit}"), Some(&a_session)).await;
    let e = &file["enterprise"];
    assert_eq!(
        (e["address"].as_str(), e["contact_phone"].as_str(), e["version"].as_i64()),
        (Some("古镇镇东兴东路88号"), Some("13800138001"), Some(2))
    );

    // B retypes the phone in the form as shown and saves: A's change stays.
    let mut again = form_fields(&html, "enterprise-form");
    set(&mut again, "contact_phone", "13900139009");
    let (status, location, body) = post_fields(&app, &edit, &b_session, &again).await;
    assert_eq!((status, location), (StatusCode::SEE_OTHER, format!("/enterprises/{credit}")), "{body}");
    let (_, file) = app.get(&format!("/api/v1/enterprises/{credit}"), Some(&a_session)).await;
    let e = &file["enterprise"];
    assert_eq!(
        (e["address"].as_str(), e["contact_name"].as_str(), e["contact_phone"].as_str(), e["version"].as_i64()),
        (Some("古镇镇东兴东路88号"), Some("陈美玲"), Some("13900139009"), Some(3))
    );
    assert_eq!(e["tags"], json!(["专精特新", "灯饰"]));
}
