//! Ledgers (台账) through the API: a town registers and moves its outlets
//! under the type's state machine and role keys, refusals carry stable codes,
//! every change leaves a history row, another town sees nothing of them (not
//! even in totals), and Excel export → import changes nothing while an import
//! with a bad row writes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{App, Session, spawn, unit_handler};

async fn upload(app: &App, path: &str, who: &Session, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app.http.post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn download(app: &App, path: &str, who: &Session) -> Vec<u8> {
    let res = app.http.get(app.url(path)).header("cookie", &who.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    res.bytes().await.unwrap().to_vec()
}

/// An outlet of `town` with the `n`th sequence number, as a town registers it.
fn outlet(n: u32, town: &str) -> Value {
    json!({ "values": {
        "排污口编码": format!("HE000001442000GY{n:04}"),
        "排污口名称": format!("岐江河{town}{n}号排口"),
        "排污口类型": "工业排污口",
        "受纳水体代码": "HE000001",
        "受纳水体名称": "岐江河",
        "所在镇街": town,
        "所在位置": "工业大道",
        "排查日期": "2026-03-01",
    }})
}

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

#[tokio::test]
async fn a_town_registers_and_moves_its_outlets_and_another_town_sees_none() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let office = unit_handler(&app, "sthjj", "sthjj-handler").await;

    let (status, types) = app.get("/api/v1/ledgers", Some(&guzhen)).await;
    assert_eq!(status, StatusCode::OK, "{types}");
    let codes: Vec<&str> = types.as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["creek", "investment", "outlet", "park", "sewer"]);
    let outlet_type = types.as_array().unwrap().iter().find(|t| t["code"] == "outlet").unwrap();
    assert_eq!(
        (outlet_type["my_roles"].clone(), outlet_type["office"]["code"].clone()),
        (json!(["town"]), json!("sthjj"))
    );
    let (_, office_types) = app.get("/api/v1/ledgers", Some(&office)).await;
    let roles =
        |t: &Value, code: &str| t.as_array().unwrap().iter().find(|x| x["code"] == code).unwrap()["my_roles"].clone();
    assert_eq!(roles(&office_types, "outlet"), json!(["command_office"]));
    assert_eq!(roles(&office_types, "creek"), json!(["unit"]), "the environment bureau is not the water office");
    let operator = app.login("operator").await;
    let (status, denied) = app.get("/api/v1/ledgers", Some(&operator)).await;
    assert_eq!((status, denied["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));

    // Registering: in scope, with the code rule and required fields checked.
    let (status, created) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(1, "古镇镇")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["key"].as_str(), created["stage"].as_str(), created["version"].as_i64()),
        (Some("HE000001442000GY0001"), Some("survey"), Some(1))
    );
    assert_eq!(created["town"]["code"], "guzhen");
    assert_eq!(created["ledger_ref"], "outlet:HE000001442000GY0001");
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(2, "小榄镇")).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("ledger_out_of_scope")), "{e}");
    let mut bad_key = outlet(3, "古镇镇");
    bad_key["values"]["排污口编码"] = json!("HE000001442000NY0003");
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), bad_key).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key_code_invalid")), "{e}");
    let mut no_name = outlet(4, "古镇镇");
    no_name["values"]["排污口名称"] = json!("");
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), no_name).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("field_required")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("排污口名称"));
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(1, "古镇镇")).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("ledger_key_exists")));
    let leader = app.login("leader").await;
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&leader), outlet(5, "古镇镇")).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));

    // Moving: required fields, the state machine, the role keys, the version.
    let item = "/api/v1/ledgers/outlet/items/HE000001442000GY0001";
    let (status, e) = app.post(&format!("{item}/move"), Some(&guzhen), json!({ "version": 1, "to": "monitor" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("stage_fields_missing")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("监测日期"));
    let (status, e) = app.post(&format!("{item}/move"), Some(&guzhen), json!({ "version": 1, "to": "trace" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("stage_move_not_allowed")));
    let (status, e) = put(&app, item, &guzhen, json!({ "version": 0, "values": { "监测日期": "2026-03-05" } })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("ledger_item_changed")));
    let (status, updated) =
        put(&app, item, &guzhen, json!({ "version": 1, "values": { "monitored_on": "2026-03-05", "cod_mg_l": "52" } }))
            .await;
    assert_eq!((status, updated["version"].as_i64()), (StatusCode::OK, Some(2)), "{updated}");
    let cell = |v: &Value, field: &str| {
        v["cells"].as_array().unwrap().iter().find(|c| c["field"] == field).unwrap()["text"].clone()
    };
    assert_eq!(cell(&updated, "over_class_v"), "是", "computed from the COD reading");
    let (status, e) =
        put(&app, item, &guzhen, json!({ "version": 2, "values": { "排污口编码": "HE000001442000GY0009" } })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_key_immutable")));
    let (status, moved) = app
        .post(&format!("{item}/move"), Some(&guzhen), json!({ "version": 2, "to": "monitor", "note": "已采样" }))
        .await;
    assert_eq!(
        (status, moved["stage"].as_str(), moved["version"].as_i64()),
        (StatusCode::OK, Some("monitor"), Some(3)),
        "{moved}"
    );
    let (status, e) = app.post(&format!("{item}/move"), Some(&guzhen), json!({ "version": 3, "to": "survey" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("stage_role_forbidden")), "{e}");
    let (status, back) =
        app.post(&format!("{item}/move"), Some(&office), json!({ "version": 3, "to": "survey" })).await;
    assert_eq!((status, back["stage"].as_str()), (StatusCode::OK, Some("survey")), "the office may send it back");

    // History: one row per change, with the changed cells.
    let (status, detail) = app.get(item, Some(&guzhen)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "updated", "moved", "moved"]);
    let update = &detail["history"][1];
    let fields: Vec<&str> =
        update["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["monitored_on", "cod_mg_l", "over_class_v"]);
    assert_eq!(
        (detail["history"][2]["to_stage"].as_str(), detail["history"][2]["note"].as_str()),
        (Some("监测"), Some("已采样"))
    );
    assert_eq!(detail["history"][3]["ledger_roles"], "指挥部办公室");
    let moves: Vec<&str> = detail["moves"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
    assert_eq!(moves, ["monitor"], "the town's moves out of 排查");
    assert_eq!(detail["may_edit"], true);

    // Another town: not found, and never counted.
    let (status, e) = app.get(item, Some(&xiaolan)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("ledger_item_not_found")));
    let (status, e) = app.post(&format!("{item}/move"), Some(&xiaolan), json!({ "version": 4, "to": "monitor" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("ledger_item_not_found")));
    let (_, list) = app.get("/api/v1/ledgers/outlet/items", Some(&xiaolan)).await;
    assert_eq!((list["total"].as_u64(), list["items"].as_array().unwrap().len()), (Some(0), 0));
    let (_, rollup) = app.get("/api/v1/ledgers/outlet/rollup", Some(&xiaolan)).await;
    assert_eq!(rollup["total"], 0, "{rollup}");
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?outlet_type=GY&stage=survey", Some(&office)).await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?outlet_type=NY", Some(&office)).await;
    assert_eq!(list["total"], 0);
    let (status, e) = app.get("/api/v1/ledgers/outlet/items?colour=red", Some(&office)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_parameter")));
    let (_, rollup) = app.get("/api/v1/ledgers/outlet/rollup", Some(&office)).await;
    assert_eq!((rollup["total"].as_u64(), rollup["rows"][0]["code"].as_str()), (Some(1), Some("guzhen")), "{rollup}");
    assert_eq!(rollup["rows"][0]["counts"][0], 1, "排查");
    let (_, by_type) = app.get("/api/v1/ledgers/outlet/rollup?by=outlet_type", Some(&office)).await;
    assert_eq!(by_type["rows"][0]["name"], "工业排污口");
}

#[tokio::test]
async fn export_then_import_changes_nothing_and_a_bad_row_writes_nothing() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    for n in 1..=3 {
        let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(n, "古镇镇")).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    let exported = download(&app, "/api/v1/ledgers/outlet/export", &guzhen).await;
    let (status, report) =
        upload(&app, "/api/v1/ledgers/outlet/import/preview", &guzhen, "x.xlsx", exported.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["rows"].as_u64(), report["unchanged"].as_u64(), report["problem_count"].as_u64()),
        (Some(3), Some(3), Some(0)),
        "{report}"
    );
    let (status, report) = upload(&app, "/api/v1/ledgers/outlet/import", &guzhen, "x.xlsx", exported).await;
    assert_eq!(
        (status, report["updated"].as_u64(), report["new"].as_u64()),
        (StatusCode::OK, Some(0), Some(0)),
        "{report}"
    );
    let (_, detail) = app.get("/api/v1/ledgers/outlet/items/HE000001442000GY0001", Some(&guzhen)).await;
    assert_eq!(detail["history"].as_array().unwrap().len(), 1, "an unchanged row writes no history");

    // A CSV with one changed row, one new row and one bad row: previewed, refused, nothing written.
    let header = "排污口编码,排污口名称,排污口类型,受纳水体代码,受纳水体名称,所在镇街,所在位置,排查日期";
    let changed = "HE000001442000GY0001,改名后的排口,工业排污口,HE000001,岐江河,古镇镇,工业大道,2026-03-01";
    let new = "HE000001442000GY0007,新排口,GY,HE000001,岐江河,古镇镇,工业大道,2026-03-02";
    let bad = "HE000001442000GY0008,坏排口,工业排污口,HE000001,岐江河,古镇镇,工业大道,2026-02-30";
    let other_town = "HE000001442000GY0009,别镇排口,工业排污口,HE000001,岐江河,小榄镇,工业大道,2026-03-02";
    let csv = format!("{header}\n{changed}\n{new}\n{bad}\n{other_town}\n");
    let (status, report) =
        upload(&app, "/api/v1/ledgers/outlet/import/preview", &guzhen, "x.csv", csv.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["new"].as_u64(), report["updated"].as_u64(), report["problem_count"].as_u64()),
        (Some(1), Some(1), Some(2)),
        "{report}"
    );
    let problem = &report["problems"][0];
    assert_eq!(
        (problem["row"].as_u64(), problem["column"].as_str(), problem["value"].as_str()),
        (Some(4), Some("排查日期"), Some("2026-02-30")),
        "{report}"
    );
    assert_eq!(
        (report["problems"][1]["row"].as_u64(), report["problems"][1]["column"].as_str()),
        (Some(5), Some("排污口编码"))
    );
    let (status, e) = upload(&app, "/api/v1/ledgers/outlet/import", &guzhen, "x.csv", csv.into_bytes()).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{e}");
    let (_, list) = app.get("/api/v1/ledgers/outlet/items", Some(&guzhen)).await;
    assert_eq!(list["total"], 3, "nothing written");

    let csv = format!("{header}\n{changed}\n{new}\n");
    let (status, report) = upload(&app, "/api/v1/ledgers/outlet/import", &guzhen, "x.csv", csv.into_bytes()).await;
    assert_eq!(
        (status, report["applied"].as_bool(), report["new"].as_u64(), report["updated"].as_u64()),
        (StatusCode::OK, Some(true), Some(1), Some(1)),
        "{report}"
    );
    let (_, detail) = app.get("/api/v1/ledgers/outlet/items/HE000001442000GY0001", Some(&guzhen)).await;
    let last = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "imported");
    assert_eq!(last["changes"][0]["after"], "改名后的排口");
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?q=新排口", Some(&guzhen)).await;
    assert_eq!(list["total"], 1);

    let template = download(&app, "/api/v1/ledgers/outlet/template", &guzhen).await;
    assert!(template.starts_with(b"PK"), "an xlsx workbook");
}

#[tokio::test]
async fn administrators_version_types_and_refuse_changes_that_would_invalidate_items() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let body = json!({ "values": { "片区编号": "GZ-01", "所在镇街": "古镇镇", "片区名称": "古镇中心片区", "计划建设里程": "12.5" } });
    let (status, e) = app.post("/api/v1/ledgers/sewer/items", Some(&guzhen), body).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (_, ty) = app.get("/api/v1/ledgers/sewer", Some(&admin)).await;
    let toml = ty["definition"].as_str().unwrap().to_owned();
    let narrowed = toml.replacen("version = 1", "version = 2", 1).replace("max_len = 50", "max_len = 3");
    let (status, e) = put(&app, "/api/v1/ledgers/sewer", &admin, json!({ "version": 1, "definition": narrowed })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("ledger_type_change_refused")), "{e}");
    let (status, e) = put(&app, "/api/v1/ledgers/sewer", &guzhen, json!({ "version": 1, "definition": toml })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let widened = toml.replacen("version = 1", "version = 2", 1).replace("max_len = 50", "max_len = 80");
    let (status, saved) =
        put(&app, "/api/v1/ledgers/sewer", &admin, json!({ "version": 1, "definition": widened })).await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(2)), "{saved}");
    let (_, versions) = app.get("/api/v1/ledgers/sewer/versions", Some(&admin)).await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let (status, e) =
        put(&app, "/api/v1/ledgers/sewer", &admin, json!({ "version": 2, "definition": "code = 1" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_type_invalid")));
}

#[tokio::test]
async fn the_demo_ledgers_load_once_and_each_town_sees_its_share() {
    let app = spawn().await;
    let made = mashangban_demo::load_ledgers(&app.store, 300).await.unwrap();
    assert!(made >= 300, "{made}");
    assert_eq!(mashangban_demo::load_ledgers(&app.store, 300).await.unwrap(), 0, "loading again adds nothing");
    let admin = app.login("admin").await;
    let (_, all) = app.get("/api/v1/ledgers/outlet/rollup", Some(&admin)).await;
    assert_eq!(all["total"].as_u64(), Some(300));
    let stages_used = all["totals"].as_array().unwrap().iter().filter(|n| n.as_u64() > Some(0)).count();
    assert_eq!(stages_used, 5, "outlets in every stage: {all}");
    // Surveyed in 22 of the 23 towns, as in the report; 神湾镇 is still to come.
    let surveyed: Vec<&str> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["total"].as_u64() > Some(0))
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(surveyed.len() == 22 && !surveyed.contains(&"shenwan"), "{surveyed:?}");
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let (_, town) = app.get("/api/v1/ledgers/outlet/rollup", Some(&guzhen)).await;
    let row = all["rows"].as_array().unwrap().iter().find(|r| r["code"] == "guzhen").unwrap().clone();
    assert_eq!(town["total"], row["total"], "the town sees exactly its row of the city's table");
    assert_eq!(town["rows"].as_array().unwrap().len(), 1);
    // A closed outlet's acceptance file is a document of the item, a one-page PDF, uploaded after
    // the item was written: named on the page and in the history.
    let (_, closed) = app.get("/api/v1/ledgers/outlet/items?stage=closed&limit=1", Some(&admin)).await;
    let key = closed["items"][0]["key"].as_str().unwrap().to_owned();
    let (_, detail) = app.get(&format!("/api/v1/ledgers/outlet/items/{key}"), Some(&admin)).await;
    let file = detail["files"].as_array().unwrap().iter().find(|f| f["field"] == "acceptance_file").unwrap();
    let name = file["document"]["file_name"].as_str().unwrap();
    assert!(name.starts_with("demo-acceptance-") && file["other"].is_null(), "{file}");
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["imported", "document_added"], "{detail}");
    let path = format!("/api/v1/documents/{}", file["document"]["id"]);
    let res = app.http.get(app.url(&path)).header("cookie", &admin.0).send().await.unwrap();
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n") && pdf.len() < 4096, "{} bytes", pdf.len());
    for ty in ["creek", "sewer", "park", "investment"] {
        let (_, r) = app.get(&format!("/api/v1/ledgers/{ty}/items"), Some(&admin)).await;
        assert!(r["total"].as_u64().unwrap() > 0, "{ty}: {r}");
    }
    let (_, mine) = app.get("/api/v1/ledgers/outlet/items?limit=1", Some(&guzhen)).await;
    let key = mine["items"][0]["key"].as_str().unwrap().to_owned();
    for page in [
        "/ledgers".to_owned(),
        "/ledgers/outlet?stage=remediate".to_owned(),
        format!("/ledgers/outlet/items/{key}"),
        "/ledgers/outlet/import".to_owned(),
    ] {
        let res = app.http.get(app.url(&page)).header("cookie", &guzhen.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert!(html.contains("入河排污口"), "{page}");
        if page.ends_with("/import") {
            assert!(html.contains(r#"action="/ledgers/outlet/import""#), "{html}");
        }
    }
}
