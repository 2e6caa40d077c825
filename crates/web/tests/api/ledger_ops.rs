//! Ledger list operations through the API and the pages: bulk stage moves
//! (all or nothing, each item through the single move's rules, with its own
//! history), saved views of a ledger's list, and the map of points.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::browser::{page, post_form};
use crate::{App, Session, enterprise_complaint, spawn, unit_handler};

/// An outlet of `town` with the `n`th sequence number, at `lon`, `lat`; monitored when `monitored`.
fn outlet(n: u32, town: &str, monitored: bool, point: Option<(f64, f64)>) -> Value {
    let mut body = json!({ "values": {
        "排污口编码": format!("HE000001442000GY{n:04}"),
        "排污口名称": format!("岐江河{town}{n}号排口"),
        "排污口类型": "工业排污口",
        "受纳水体代码": "HE000001",
        "受纳水体名称": "岐江河",
        "所在镇街": town,
        "所在位置": "工业大道",
        "排查日期": "2026-03-01",
    }});
    if monitored {
        body["values"]["监测日期"] = json!("2026-03-05");
    }
    if let Some((lon, lat)) = point {
        body["values"]["坐标"] = json!({ "lon": lon, "lat": lat });
    }
    body
}

fn key(n: u32) -> String {
    format!("HE000001442000GY{n:04}")
}

async fn item(app: &App, n: u32, who: &Session) -> Value {
    let (status, detail) = app.get(&format!("/api/v1/ledgers/outlet/items/{}", key(n)), Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

fn actions(detail: &Value) -> Vec<String> {
    detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap().to_owned()).collect()
}

async fn bulk(app: &App, who: &Session, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/ledgers/outlet/bulk-move", Some(who), body).await
}

fn refused(answer: &Value) -> Vec<(String, String)> {
    answer["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_bulk_move_is_all_or_nothing_through_the_single_moves_rules() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let office = unit_handler(&app, "sthjj", "sthjj-handler").await;
    for (n, monitored) in [(1, true), (2, true), (3, false)] {
        let (status, e) =
            app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(n, "古镇镇", monitored, None)).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    let chosen = |versions: [i64; 3]| {
        json!([
            { "key": key(1), "version": versions[0] },
            { "key": key(2), "version": versions[1] },
            { "key": key(3), "version": versions[2] },
        ])
    };

    // One item lacks the target stage's field: every refusal listed, nothing written.
    let (status, answer) =
        bulk(&app, &guzhen, json!({ "to": "monitor", "note": "批量", "items": chosen([1, 1, 1]) })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_bulk_refused")));
    assert_eq!(refused(&answer), [(key(3), "stage_fields_missing".to_owned())], "{answer}");
    assert!(answer["refused"][0]["reason"].as_str().unwrap().contains("监测日期"), "{answer}");
    for n in 1..=3 {
        let d = item(&app, n, &guzhen).await;
        assert_eq!((d["item"]["stage"].as_str(), d["item"]["version"].as_i64()), (Some("survey"), Some(1)));
        assert_eq!(actions(&d), ["created"], "nothing written");
    }

    // The field filled in (version 2); a list read before that change is stale for it.
    let (status, e) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/ledgers/outlet/items/{}", key(3)),
            Some(&guzhen),
            Some(json!({ "version": 1, "values": { "监测日期": "2026-03-06" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let (status, answer) = bulk(&app, &guzhen, json!({ "to": "monitor", "items": chosen([1, 1, 1]) })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused(&answer), [(key(3), "ledger_item_changed".to_owned())], "{answer}");
    assert_eq!(item(&app, 1, &guzhen).await["item"]["stage"], "survey");

    // Another town's handler finds none of them; a move the town may not make is refused per item.
    let (status, answer) = bulk(&app, &xiaolan, json!({ "to": "monitor", "items": chosen([1, 1, 2]) })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused(&answer).iter().all(|(_, c)| c == "ledger_item_not_found"), "{answer}");
    assert_eq!(refused(&answer).len(), 3);

    // All right now: moved in one go, each with its own history entry and the note.
    let (status, moved) =
        bulk(&app, &guzhen, json!({ "to": "monitor", "note": "已批量采样", "items": chosen([1, 1, 2]) })).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!((moved["moved"].as_u64(), moved["to_name"].as_str()), (Some(3), Some("监测")));
    for n in 1..=3 {
        let d = item(&app, n, &guzhen).await;
        assert_eq!(d["item"]["stage"], "monitor");
        assert_eq!(actions(&d).last().map(String::as_str), Some("moved"));
        let last = d["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["note"].as_str(), last["from_stage"].as_str()), (Some("已批量采样"), Some("排查")));
    }

    // Sending back to 排查 is the office's move only: the town is refused for every item.
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?stage=monitor", Some(&guzhen)).await;
    let read_at = list["read_at"].as_str().unwrap().to_owned();
    let filters = json!({ "stage": "monitor", "town": "guzhen" });
    let (status, answer) = bulk(&app, &guzhen, json!({ "to": "survey", "filters": filters, "read_at": read_at })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(refused(&answer).len(), 3);
    assert!(refused(&answer).iter().all(|(_, c)| c == "stage_role_forbidden"), "{answer}");
    assert_eq!(item(&app, 2, &guzhen).await["item"]["stage"], "monitor");

    // The office, by filters: an item changed after the list was read refuses the whole move.
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?stage=monitor", Some(&office)).await;
    let read_at = list["read_at"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let version = item(&app, 2, &office).await["item"]["version"].as_i64().unwrap();
    let (status, e) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/ledgers/outlet/items/{}", key(2)),
            Some(&office),
            Some(json!({ "version": version, "values": { "所在位置": "工业大道东" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let (status, answer) = bulk(&app, &office, json!({ "to": "survey", "filters": filters, "read_at": read_at })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(refused(&answer), [(key(2), "ledger_item_changed".to_owned())]);
    let (_, list) = app.get("/api/v1/ledgers/outlet/items?stage=monitor", Some(&office)).await;
    let read_at = list["read_at"].as_str().unwrap().to_owned();
    let (status, moved) =
        bulk(&app, &office, json!({ "to": "survey", "note": "退回", "filters": filters, "read_at": read_at })).await;
    assert_eq!((status, moved["moved"].as_u64()), (StatusCode::OK, Some(3)), "{moved}");
    assert_eq!(
        item(&app, 3, &office).await["history"].as_array().unwrap().last().unwrap()["ledger_roles"],
        "指挥部办公室"
    );

    // Bounds and malformed calls.
    let many: Vec<Value> = (0..1001).map(|n| json!({ "key": key(n), "version": 1 })).collect();
    let (status, e) = bulk(&app, &office, json!({ "to": "monitor", "items": many })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_bulk_too_many")));
    let (status, e) = bulk(&app, &office, json!({ "to": "monitor" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_bulk_empty")));
    let (status, e) = bulk(&app, &office, json!({ "to": "monitor", "filters": {} })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("read_at_required")));
    let (status, e) = bulk(&app, &office, json!({ "to": "nowhere", "items": chosen([1, 1, 1]) })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("stage_unknown")));
    let (status, e) =
        bulk(&app, &office, json!({ "to": "monitor", "filters": { "colour": "red" }, "read_at": read_at })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_parameter")));
}

#[tokio::test]
async fn the_list_page_moves_the_chosen_items_and_shows_every_refusal() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    for (n, monitored) in [(1, true), (2, false)] {
        let (status, e) =
            app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(n, "古镇镇", monitored, None)).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    let (status, html) = page(&app, "/ledgers/outlet?stage=survey", &guzhen).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("批量变更阶段") && html.contains(&format!("value=\"{}:1\"", key(1))), "{html}");
    assert!(html.contains("name=\"f.stage\" value=\"survey\""));

    let (one, two) = (format!("{}:1", key(1)), format!("{}:1", key(2)));
    let form = [("scope", "chosen"), ("to", "monitor"), ("note", ""), ("item", one.as_str()), ("item", two.as_str())];
    let (status, _, html) = post_form(&app, "/ledgers/outlet/bulk-move", &guzhen, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"bulk-refused\"") && html.contains("监测日期"), "{html}");
    assert_eq!(item(&app, 1, &guzhen).await["item"]["stage"], "survey", "nothing moved");

    let form = [("scope", "chosen"), ("to", "monitor"), ("note", "页面批量"), ("item", one.as_str())];
    let (status, _, html) = post_form(&app, "/ledgers/outlet/bulk-move", &guzhen, &form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已将1条转入「监测」"), "{html}");
    assert_eq!(item(&app, 1, &guzhen).await["item"]["stage"], "monitor");
}

#[tokio::test]
async fn ledger_views_are_per_type_each_persons_own_and_checked_like_the_list() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let office = unit_handler(&app, "sthjj", "sthjj-handler").await;

    let (status, v) = app
        .post(
            "/api/v1/views",
            Some(&guzhen),
            json!({ "name": "古镇排查中", "list": "ledger:outlet", "filters": { "stage": "survey", "offset": "50" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!((v["list"].as_str(), v["link"].as_str()), (Some("ledger:outlet"), Some("/ledgers/outlet?stage=survey")));
    let id = v["id"].as_i64().unwrap();
    // The same name is free on the work page and on another ledger; it is taken in this one.
    let (status, e) = app
        .post("/api/v1/views", Some(&guzhen), json!({ "name": "古镇排查中", "filters": { "kind": "complaint" } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (status, e) = app
        .post(
            "/api/v1/views",
            Some(&guzhen),
            json!({ "name": "古镇排查中", "list": "ledger:creek", "filters": { "q": "河" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (status, e) = app
        .post(
            "/api/v1/views",
            Some(&guzhen),
            json!({ "name": "古镇排查中", "list": "ledger:outlet", "filters": { "stage": "monitor" } }),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("view_name_taken")));
    // Filters checked as the list checks them.
    for (filters, code) in [
        (json!({ "stage": "nowhere" }), "invalid_parameter"),
        (json!({ "colour": "red" }), "unknown_parameter"),
        (json!({ "outlet_type": "XX" }), "invalid_parameter"),
        (json!({ "offset": "10" }), "view_empty"),
    ] {
        let (status, e) = app
            .post("/api/v1/views", Some(&guzhen), json!({ "name": "坏", "list": "ledger:outlet", "filters": filters }))
            .await;
        assert_eq!(e["code"].as_str(), Some(code), "{filters}: {status} {e}");
    }
    let (status, e) = app
        .post("/api/v1/views", Some(&guzhen), json!({ "name": "x", "list": "ledger:nothing", "filters": { "q": "a" } }))
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("ledger_type_not_found")));
    let (status, e) = app
        .post("/api/v1/views", Some(&guzhen), json!({ "name": "x", "list": "ledger", "filters": { "q": "a" } }))
        .await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_list")));

    // Lists: per ledger, per person; the work page's list keeps only its own.
    let names = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
    };
    let (_, mine) = app.get("/api/v1/views?list=ledger:outlet", Some(&guzhen)).await;
    assert_eq!(names(&mine), ["古镇排查中"]);
    let (_, work) = app.get("/api/v1/views", Some(&guzhen)).await;
    assert_eq!(work["items"][0]["link"], "/work?kind=complaint", "{work}");
    assert_eq!(names(&work).len(), 1);
    let (_, theirs) = app.get("/api/v1/views?list=ledger:outlet", Some(&office)).await;
    assert!(names(&theirs).is_empty(), "another person sees none of them");
    let (status, e) = app.call(reqwest::Method::DELETE, &format!("/api/v1/views/{id}"), Some(&office), None).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("view_not_found")));

    // The page: links, save, rename, delete.
    let (status, html) = page(&app, "/ledgers/outlet", &guzhen).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/ledgers/outlet?stage=survey\"") && html.contains("古镇排查中"), "{html}");
    let (status, location, _) = post_form(
        &app,
        "/ledgers/outlet/views",
        &guzhen,
        &[("name", "工业排口"), ("outlet_type", "GY"), ("town", "guzhen")],
    )
    .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/ledgers/outlet?outlet_type=GY&town=guzhen"));
    let (status, _, html) =
        post_form(&app, "/ledgers/outlet/views", &guzhen, &[("name", "工业排口"), ("stage", "monitor")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("id=\"view-error\"") && html.contains("工业排口"), "{html}");
    let (status, location, _) =
        post_form(&app, &format!("/ledgers/outlet/views/{id}/rename"), &guzhen, &[("name", "排查")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/ledgers/outlet#views"));
    let (status, _, _) = post_form(&app, &format!("/ledgers/outlet/views/{id}/delete"), &guzhen, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, mine) = app.get("/api/v1/views?list=ledger:outlet", Some(&guzhen)).await;
    assert_eq!(names(&mine), ["工业排口"]);
}

#[tokio::test]
async fn the_map_answers_the_filtered_points_and_draws_them_without_script() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let office = unit_handler(&app, "sthjj", "sthjj-handler").await;
    let points = [(1, "古镇镇", Some((113.19, 22.61))), (2, "古镇镇", Some((113.21, 22.63))), (3, "古镇镇", None)];
    for (n, town, point) in points {
        let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(n, town, true, point)).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    let (status, e) = app
        .post("/api/v1/ledgers/outlet/items", Some(&xiaolan), outlet(4, "小榄镇", true, Some((113.25, 22.67))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (status, e) = bulk(&app, &guzhen, json!({ "to": "monitor", "items": [{ "key": key(2), "version": 1 }] })).await;
    assert_eq!(status, StatusCode::OK, "{e}");

    let (status, map) = app.get("/api/v1/ledgers/outlet/map", Some(&office)).await;
    assert_eq!(status, StatusCode::OK, "{map}");
    assert_eq!((map["matching"].as_u64(), map["truncated"].as_bool()), (Some(4), Some(false)), "{map}");
    let keys: Vec<&str> = map["points"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [key(1), key(2), key(4)], "the item without a point is left out");
    let first = &map["points"][0];
    assert!(
        (first["lon"].as_f64().unwrap() - 113.19).abs() < 1e-6 && (first["lat"].as_f64().unwrap() - 22.61).abs() < 1e-6
    );
    assert_eq!((first["stage"].as_str(), first["town"]["code"].as_str()), (Some("survey"), Some("guzhen")));
    assert_eq!(map["points"][1]["stage_name"], "监测");

    // Filters and scope as the list's.
    let (_, map) = app.get("/api/v1/ledgers/outlet/map?stage=monitor", Some(&office)).await;
    assert_eq!(map["points"].as_array().unwrap().len(), 1);
    let (_, map) = app.get("/api/v1/ledgers/outlet/map", Some(&xiaolan)).await;
    assert_eq!((map["matching"].as_u64(), map["points"][0]["key"].as_str()), (Some(1), Some(key(4).as_str())));
    let (status, e) = app.get("/api/v1/ledgers/outlet/map?colour=red", Some(&office)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_parameter")));
    let (status, e) = app.get("/api/v1/ledgers/creek/map", Some(&office)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_no_point_field")));

    // The page: an SVG with a link per point, a legend by stage, the towns' names.
    let (status, html) = page(&app, "/ledgers/outlet/map", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg") && html.contains("id=\"ledger-map\""), "{html}");
    assert_eq!(html.matches("<a href=\"/ledgers/outlet/items/").count(), 3, "a linked dot per point: {html}");
    assert!(html.contains(&format!("href=\"/ledgers/outlet/items/{}\"", key(4))));
    assert!(html.contains("排查（2）") && html.contains("监测（1）"), "the legend counts by stage");
    assert!(html.contains(">古镇镇</text>") && html.contains(">小榄镇</text>"), "{html}");
    let figure = &html[html.find("<figure").unwrap()..html.find("</figure>").unwrap()];
    assert!(!figure.contains("<script") && figure.contains("<a href="), "drawn by the server, links without script");
    let (_, html) = page(&app, "/ledgers/outlet", &office).await;
    assert!(html.contains("href=\"/ledgers/outlet/map?\""), "the list links its map");
}

#[tokio::test]
async fn a_map_of_thousands_draws_dots_by_stage_and_links_each_town_to_its_own_map() {
    let app = spawn().await;
    mashangban_demo::load_ledgers(&app.store, 2_100).await.unwrap();
    let office = unit_handler(&app, "sthjj", "sthjj-handler").await;
    let (status, html) = page(&app, "/ledgers/outlet/map?stage=", &office).await;
    assert_eq!(status, StatusCode::OK);
    let figure = &html[html.find("<figure").unwrap()..html.find("<figcaption").unwrap()];
    // Every stage a path of dots, 2,100 dots in all, and no link or title per dot.
    let layers: Vec<&str> = figure.split("class=\"dot-layer\" d=\"").skip(1).collect();
    assert_eq!(layers.len(), 5, "{figure}");
    let dots: usize = layers.iter().map(|l| l[..l.find('"').unwrap()].matches("h0").count()).sum();
    assert_eq!(dots, 2_100);
    assert!(!figure.contains("/ledgers/outlet/items/") && !figure.contains("<circle"), "no dot of its own");
    assert!(html.contains("未逐点链接") && html.len() < 200_000, "{} bytes", html.len());
    // Each town's label opens that town's map, which is small enough to link every dot.
    assert!(figure.contains("<a href=\"/ledgers/outlet/map?town=guzhen\"><text"), "{figure}");
    let (_, html) = page(&app, "/ledgers/outlet/map?town=guzhen", &office).await;
    let linked = html.matches("<a href=\"/ledgers/outlet/items/").count();
    assert!(linked > 50 && linked < 2_000 && !html.contains("dot-layer"), "{linked}");
}

#[tokio::test]
async fn the_item_page_edits_fields_with_history_and_a_request_taken_in_at_the_console_links_to_the_item() {
    let app = spawn().await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let (status, e) = app.post("/api/v1/ledgers/outlet/items", Some(&guzhen), outlet(1, "古镇镇", false, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let path = format!("/ledgers/outlet/items/{}", key(1));

    // The form: every field but the key, computed fields and files, with the item's values.
    let (status, html) = page(&app, &path, &guzhen).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"edit-form\"") && html.contains("name=\"f.monitored_on\""), "{html}");
    assert!(html.contains("name=\"f.location\" value=\"工业大道\"") && html.contains("<option value=\"GY\" selected>"));
    assert!(html.contains("<option value=\"guzhen\" selected>古镇镇</option>"), "the town field chooses a town");
    assert!(!html.contains("name=\"f.outlet_code\"") && !html.contains("name=\"f.over_class_v\""));
    assert!(!html.contains("name=\"f.acceptance_file\""));
    let leader = app.login("leader").await;
    assert!(!page(&app, &path, &leader).await.1.contains("id=\"edit-form\""), "a reader has no form");

    // Saved: the changed fields in the history; a bad value and a stale version write nothing.
    let edit = format!("{path}/edit");
    let form = [("version", "1"), ("f.monitored_on", "2026-03-05"), ("f.cod_mg_l", "52"), ("f.location", "工业大道")];
    let (status, location, _) = post_form(&app, &edit, &guzhen, &form).await;
    assert!(status.is_redirection() && location.ends_with(&format!("{path}#history")), "{status} {location}");
    let detail = item(&app, 1, &guzhen).await;
    assert_eq!(detail["item"]["version"], 2);
    let last = &detail["history"][1];
    let fields: Vec<&str> = last["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!((last["action"].as_str(), fields), (Some("updated"), vec!["monitored_on", "cod_mg_l", "over_class_v"]));
    let (status, _, html) = post_form(&app, &edit, &guzhen, &[("version", "2"), ("f.cod_mg_l", "很多")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("class=\"notice error\"") && html.contains("化学需氧量"), "{html}");
    let (status, _, _) = post_form(&app, &edit, &guzhen, &[("version", "1"), ("f.cod_mg_l", "60")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(item(&app, 1, &guzhen).await["item"]["version"], 2, "nothing written");
    let (status, _, _) = post_form(&app, &edit, &xiaolan, &[("version", "2"), ("f.cod_mg_l", "60")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another town's item");

    // The operator names the outlet at the console; the request and the item link to each other.
    let operator = app.login("operator").await;
    let ledger_ref = format!("outlet:{}", key(1));
    let intake = [
        ("channel", "phone"),
        ("kind", "complaint"),
        ("urgency", "normal"),
        ("asker_type", "resident"),
        ("phone", "13912345678"),
        ("contact_name", "梁先生"),
        ("category", "env.wastewater"),
        ("town", "guzhen"),
        ("ledger_ref", ledger_ref.as_str()),
        ("title", "排污口排出黑水"),
        ("content", "工业大道排污口每天傍晚排出黑水，请查处。"),
    ];
    // A 台账编号 naming no item is refused, at the console with the reason, and nothing is taken in.
    let mut typo = intake;
    typo[8] = ("ledger_ref", "outlet:HE000001442000GY9999");
    let (status, _, html) = post_form(&app, "/console", &operator, &typo).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("没有台账条目「outlet:HE000001442000GY9999」"), "{html}");
    for wrong in ["HE000001442000GY0001", "creek:HE000001442000GY0001", "nosuch:x"] {
        let mut body = enterprise_complaint();
        body["ledger_ref"] = json!(wrong);
        let (status, e) = app.post("/api/v1/requests", Some(&operator), body).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_ledger_item")),
            "{e}"
        );
    }
    let (_, listed) = app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "nothing taken in: {listed}");
    let (status, location, html) = post_form(&app, "/console", &operator, &intake).await;
    assert!(status.is_redirection(), "{status} {html}");
    let no = location.split("done=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let (_, html) = page(&app, &format!("/console?ledger_ref={ledger_ref}"), &operator).await;
    assert!(html.contains(&format!("value=\"{ledger_ref}\"")), "the console fills in the item from a link");
    let dispatcher = app.login("dispatcher").await;
    let (status, e) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), Some(&dispatcher), json!({ "lead_unit": "guzhen" })).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let (_, request) = app.get(&format!("/api/v1/requests/{no}"), Some(&guzhen)).await;
    assert_eq!(request["request"]["ledger_ref"], ledger_ref.as_str(), "{request}");
    let (_, html) = page(&app, &format!("/work/{no}"), &guzhen).await;
    assert!(html.contains(&format!("id=\"ledger-link\" href=\"{path}\"")), "{html}");
    let (_, html) = page(&app, &path, &guzhen).await;
    assert!(html.contains(&format!("href=\"/work/{no}\"")), "the item lists the request");
}
