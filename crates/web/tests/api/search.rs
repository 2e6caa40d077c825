//! Full-text search (`q=` on `GET /api/v1/requests`): Chinese words and names, traditional and
//! simplified characters, phrases and exclusions, the data scope inside the index query, a change
//! searchable soon after its commit, and a rebuild while the index serves.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use mashangban_domain::org::Scope;
use mashangban_store::ListFilter;

use super::*;

async fn spawn_searching() -> App {
    let config =
        WebConfig { public_intakes_per_hour: 10_000, lookup_failures_per_hour: 10_000, ..WebConfig::default() };
    spawn_configured(config, true).await
}

fn encode(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `GET /api/v1/requests?q=…&extra` as `who`.
async fn search(app: &App, who: &Session, q: &str, extra: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/requests?q={}{extra}", encode(q)), Some(who)).await
}

/// The tracking numbers found and the total.
async fn found(app: &App, who: &Session, q: &str, extra: &str) -> (Vec<String>, u64) {
    let (status, list) = search(app, who, q, extra).await;
    assert_eq!(status, StatusCode::OK, "q={q}{extra}: {list}");
    let nos = list["items"].as_array().unwrap().iter().map(|i| i["tracking_no"].as_str().unwrap().to_owned()).collect();
    (nos, list["total"].as_u64().unwrap())
}

/// Polls until the search finds what `done` accepts, for at most five seconds; how long it took.
async fn until_found(app: &App, who: &Session, q: &str, done: impl Fn(&[String]) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let (nos, _) = found(app, who, q, "").await;
        if done(&nos) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "q={q} never found what was expected: {nos:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn request(title: &str, content: &str, name: &str, town: &str) -> Value {
    json!({
        "kind": "complaint",
        "asker": { "type": "resident" },
        "contact": { "name": name, "phone": "13912345678" },
        "title": title,
        "content": content,
        "category": "biz.change",
        "town": town,
    })
}

#[tokio::test]
async fn words_names_scripts_phrases_exclusions_and_filters() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let (licence, _) = app.submit(enterprise_complaint()).await;
    let (pension, _) = app.submit(resident_consultation()).await;
    // Written in traditional characters; found by simplified ones and the other way round.
    let (parking, _) = app
        .submit(request("社區停車場收費不合理", "小區停車場每月漲價，物業不公示收費標準。", "黃志強", "xiaolan"))
        .await;
    until_found(&app, &dispatcher, "停车场", |n| n.contains(&parking)).await;

    // Two-character words match; so do simplified and traditional spellings of each other.
    assert_eq!(found(&app, &dispatcher, "执照", "").await, (vec![licence.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "營業執照", "").await, (vec![licence.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "物业", "").await, (vec![parking.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "养老保险", "").await, (vec![pension.clone()], 1));
    // Names: the asker's (the dispatcher sees personal data), the enterprise's.
    assert_eq!(found(&app, &dispatcher, "陈嘉欣", "").await, (vec![licence.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "黄志强", "").await, (vec![parking.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "华凯灯饰", "").await, (vec![licence.clone()], 1));
    // Every word must match; a phrase keeps its order; an exclusion removes.
    assert_eq!(found(&app, &dispatcher, "执照 停车场", "").await.1, 0);
    assert_eq!(found(&app, &dispatcher, "\"变更登记\"", "").await, (vec![licence.clone()], 1));
    assert_eq!(found(&app, &dispatcher, "\"登记变更\"", "").await.1, 0);
    assert_eq!(found(&app, &dispatcher, "收费 -物业", "").await.1, 0);
    // A tracking number finds its request.
    assert_eq!(found(&app, &dispatcher, &licence, "").await, (vec![licence.clone()], 1));
    // Filters combine with the words, inside the index query.
    assert_eq!(found(&app, &dispatcher, "执照", "&town=guzhen").await.1, 1);
    assert_eq!(found(&app, &dispatcher, "执照", "&town=xiaolan").await.1, 0);
    assert_eq!(found(&app, &dispatcher, "执照", "&state=closed").await.1, 0);
    assert_eq!(found(&app, &dispatcher, "执照", "&state=received&kind=complaint").await.1, 1);
    assert_eq!(found(&app, &dispatcher, "执照", "&lead_unit=none&sort=newest").await.1, 1);

    // The snippet: the text escaped, the words marked.
    let (_, list) = search(&app, &dispatcher, "经营范围", "").await;
    let snippet = list["items"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("<mark>经营</mark><mark>范围</mark>") || snippet.contains("<mark>经营范围</mark>"),
        "{snippet}"
    );
    // Without q the list has neither total nor snippets.
    let (_, list) = app.get("/api/v1/requests", Some(&dispatcher)).await;
    assert!(list.get("total").is_none() && list["items"][0].get("snippet").is_none(), "{list}");

    // Relevance pages: the cursor is an offset.
    let (_, first) = search(&app, &dispatcher, "收费", "&limit=1").await;
    assert_eq!(first["total"], 1);
    assert!(first["next_cursor"].is_null());

    // Bad queries: 400 with a stable code and a Chinese message.
    let bad = |q: String, extra: &'static str| {
        let app = &app;
        let dispatcher = &dispatcher;
        async move {
            let (status, err) = search(app, dispatcher, &q, extra).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {err}");
            assert!(err["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
            err["code"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(bad("执".repeat(201), "").await, "query_too_long");
    assert_eq!(bad("\"执照".into(), "").await, "query_unclosed_quote");
    assert_eq!(bad("，。！".into(), "").await, "query_no_terms");
    assert_eq!(bad("-执照".into(), "").await, "query_no_terms");
    assert_eq!(bad("执照".into(), "&sort=deadline").await, "invalid_parameter");
    assert_eq!(bad("执照".into(), "&cursor=x").await, "invalid_parameter");
    assert_eq!(bad("执照".into(), "&color=red").await, "unknown_parameter");
}

#[tokio::test]
async fn a_handler_never_finds_another_units_request_nor_counts_it() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let scjgj = app.login("handler").await;
    let rsj = unit_handler(&app, "rsj", "rsj-handler").await;
    let (ours, _) = app.submit(request("厂房噪音扰民", "夜间施工噪音严重", "周晓明", "guzhen")).await;
    let (theirs, _) = app.submit(request("工地噪音投诉", "周末噪音影响休息", "吴美玲", "guzhen")).await;
    app.act(&ours, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&theirs, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    until_found(&app, &dispatcher, "噪音", |n| n.len() == 2).await;
    // Each dispatch reaches the index on its own: wait for both before asserting on either.
    until_found(&app, &scjgj, "噪音", |n| n == [ours.clone()]).await;
    until_found(&app, &rsj, "噪音", |n| n == [theirs.clone()]).await;

    assert_eq!(found(&app, &scjgj, "噪音", "").await, (vec![ours.clone()], 1));
    assert_eq!(found(&app, &rsj, "噪音", "").await, (vec![theirs.clone()], 1));
    // Not by the other request's own words, its asker's name or its tracking number either.
    assert_eq!(found(&app, &scjgj, "工地", "").await.1, 0);
    assert_eq!(found(&app, &scjgj, "吴美玲", "").await.1, 0);
    assert_eq!(found(&app, &scjgj, &theirs, "").await.1, 0);
    // A filter naming the other unit finds nothing rather than revealing a count.
    assert_eq!(found(&app, &scjgj, "噪音", "&lead_unit=rsj").await.1, 0);
    // Newest-first order answers the same set.
    assert_eq!(found(&app, &scjgj, "噪音", "&sort=newest").await, (vec![ours.clone()], 1));
    // The dispatcher sees both.
    assert_eq!(found(&app, &dispatcher, "噪音", "").await.1, 2);
    assert_eq!(found(&app, &dispatcher, "噪音", "&phone=13912345678").await.1, 2);
    // The town sees both, masked (neither is its to handle): a phone filter must not tell whose they are.
    let town = unit_handler(&app, "guzhen", "guzhen-handler").await;
    until_found(&app, &town, "噪音", |n| n.len() == 2).await;
    assert_eq!(found(&app, &town, "噪音", "&phone=13912345678").await.1, 0);
}

#[tokio::test]
async fn a_section_finds_in_full_text_what_its_unit_assigned_to_it() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let section = unit_handler(&app, "scjgj-djk", "djk-handler").await;
    let (no, _) = app.submit(request("营业执照变更登记迟迟未办", "提交变更材料已两周", "周晓明", "guzhen")).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "sign", &handler, json!({})).await;
    until_found(&app, &handler, "变更登记", |n| n == [no.clone()]).await;
    assert_eq!(found(&app, &section, "变更登记", "").await.1, 0, "not the section's before it is assigned");
    let detail = app.detail(&no, &handler).await;
    let due = chrono::DateTime::parse_from_rfc3339(detail["request"]["due_at"].as_str().unwrap()).unwrap();
    let assign = json!({ "sub_unit": "scjgj-djk", "due": (due - chrono::Duration::days(1)).to_rfc3339() });
    app.act(&no, "sub-dispatch", &handler, assign).await;
    // The section's scope in the index is its list's: it finds the request, by its words and by its own name.
    until_found(&app, &section, "变更登记", |n| n == [no.clone()]).await;
    assert_eq!(found(&app, &section, "变更登记", "&unit=scjgj-djk").await.0, vec![no.clone()]);
    until_found(&app, &dispatcher, "登记注册科", |n| n.contains(&no)).await;
}

#[tokio::test]
async fn a_change_is_searchable_soon_after_its_commit_and_the_cursor_is_in_the_index() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app
        .submit(request("路灯不亮", "岐江路段路灯连续三晚不亮，邻居138 0013 8000也反映过", "郑凯文", "guzhen"))
        .await;
    let took = until_found(&app, &dispatcher, "路灯", |n| n == [no.clone()]).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A reply's words become searchable, and the new state filters.
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "sign", &handler, json!({})).await;
    let reply = "已更换镇流器，路灯恢复照明。如有问题请致电0760-88881234。";
    app.act(&no, "reply", &handler, json!({ "content": reply })).await;
    until_found(&app, &dispatcher, "镇流器", |n| n == [no.clone()]).await;
    assert_eq!(found(&app, &dispatcher, "路灯", "&state=replied").await.1, 1);
    assert_eq!(found(&app, &dispatcher, "路灯", "&state=received").await.1, 0);
    let (_, list) = search(&app, &dispatcher, "镇流器", "").await;
    assert!(list["items"][0]["snippet"].as_str().unwrap().contains("<mark>"), "{list}");

    // The cursor is committed with the index: a second opening (a restart) reads it back with the
    // documents.
    let index = app.state.search_index().unwrap();
    let reopened = mashangban_search::SearchIndex::open(index.root(), search_keys(&[("s1", 1)])).unwrap();
    assert_eq!(reopened.cursor().unwrap(), index.cursor().unwrap());
    assert!(reopened.cursor().unwrap().is_some());
    assert_eq!(reopened.len(), 1);

    // The asker's name and phone are on the node's disk only as keyed hashes, and still found.
    let fields = index.fields();
    let words = index.field_terms(fields.content, 1000).unwrap();
    assert!(words.iter().any(|t| t == "路灯"), "the public words are plain: {words:?}");
    let person = index.field_terms(fields.person, 1000).unwrap();
    let phone = index.field_terms(fields.phone, 1000).unwrap();
    assert!(person.len() >= 3 && phone.len() == 1, "{person:?} {phone:?}");
    for term in person.iter().chain(&phone) {
        assert!(term.len() == 32 && term.bytes().all(|b| b.is_ascii_hexdigit()), "a plain term: {term}");
    }
    until_found(&app, &dispatcher, "郑凯文", |n| n == [no.clone()]).await;
    until_found(&app, &dispatcher, "13912345678", |n| n == [no.clone()]).await;
    assert_eq!(found(&app, &dispatcher, "路灯", "&phone=13912345678").await.1, 1);
    assert_eq!(found(&app, &dispatcher, "路灯", "&phone=13912345679").await.1, 0);

    // Numbers written into the content and replies are masked there and hashed with the names: found,
    // as written or in one spelling, by staff who see personal data, and by no one else.
    let replies = index.field_terms(fields.replies, 1000).unwrap();
    for term in words.iter().chain(&replies) {
        assert!(term.bytes().filter(u8::is_ascii_digit).count() < 7, "a number in plain: {term}");
    }
    for written in ["138 0013 8000", "13800138000", "0760-88881234", "076088881234"] {
        assert_eq!(found(&app, &dispatcher, written, "").await.0, vec![no.clone()], "{written}");
    }
    let town = unit_handler(&app, "guzhen", "guzhen-handler").await;
    until_found(&app, &town, "路灯", |n| n == [no.clone()]).await;
    for written in ["138 0013 8000", "0760-88881234"] {
        assert_eq!(found(&app, &town, written, "").await.1, 0, "{written}: not by staff who see it masked");
    }

    // After a rotation (s2 current, s1 previous) the index reads as never committed, so the indexer
    // rebuilds it; until then what was hashed under s1 is still found.
    let rotated = mashangban_search::SearchIndex::open(index.root(), search_keys(&[("s2", 2), ("s1", 1)])).unwrap();
    assert_eq!(rotated.cursor().unwrap(), None);
    let filter = ListFilter { contact_phone: Some("13912345678".into()), limit: 10, ..ListFilter::default() };
    let text = mashangban_search::TextQuery::parse("郑凯文").unwrap();
    let search = mashangban_search::Search {
        text: &text,
        filter: &filter,
        scope: &Scope::All,
        personal: &Scope::All,
        liaison_codes: &[],
        order: mashangban_search::SearchOrder::Relevance,
    };
    assert_eq!(rotated.search(&search).unwrap().total, 1);
    let unknown = mashangban_search::SearchIndex::open(index.root(), search_keys(&[("s3", 3)])).unwrap();
    assert_eq!(unknown.search(&search).unwrap().total, 0, "under a key it was not hashed with, nothing is found");
}

#[tokio::test]
async fn a_rebuild_while_serving_keeps_answering_and_then_swaps() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let mut nos = Vec::new();
    for i in 0..30 {
        let (no, _) =
            app.submit(request(&format!("供水管道漏水第{i}处"), "自来水管破裂，路面积水", "何丽华", "guzhen")).await;
        nos.push(no);
    }
    until_found(&app, &dispatcher, "漏水", |n| n.len() == 30).await;
    let index = app.state.search_index().unwrap().clone();
    let generations = |index: &mashangban_search::SearchIndex| {
        std::fs::read_dir(index.root()).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count()
    };
    assert_eq!(generations(&index), 1);

    // Searches keep answering everything while the rebuild runs beside them.
    let state = app.state.clone();
    let rebuilding = {
        let index = index.clone();
        tokio::spawn(async move { mashangban_app::search::rebuild(&state, &index, &|_, _| {}).await.unwrap() })
    };
    while !rebuilding.is_finished() {
        assert_eq!(found(&app, &dispatcher, "漏水", "&limit=100").await.1, 30);
    }
    assert_eq!(rebuilding.await.unwrap(), 30);
    // The indexer switches to the new generation and removes the old one.
    let started = Instant::now();
    while generations(&index) != 1 || index.cursor().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(5), "not switched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found(&app, &dispatcher, "漏水", "&limit=100").await.1, 30);
    // And keeps indexing changes after the swap.
    let (late, _) = app.submit(request("井盖缺失", "人行道井盖缺失，夜间危险", "何丽华", "guzhen")).await;
    until_found(&app, &dispatcher, "井盖", |n| n == [late.clone()]).await;
}

#[tokio::test]
async fn the_work_page_has_a_search_box_over_the_same_service() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let (licence, _) = app.submit(enterprise_complaint()).await;
    until_found(&app, &dispatcher, "执照", |n| n == [licence.clone()]).await;
    let (status, html) = super::browser::page(&app, "/work", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"role="search""#) && html.contains(r#"name="q""#), "the box");
    let (status, html) =
        super::browser::page(&app, &format!("/work?q={}&town=guzhen", encode("營業執照")), &dispatcher).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("搜索结果（共 1 件）"), "{html}");
    assert!(html.contains(&format!("/work/{licence}")));
    assert!(html.contains("<mark>"), "the snippet is highlighted");
    assert!(html.contains(r#"name="town" value="guzhen""#), "the filters are kept by the box");
    let (status, html) = super::browser::page(&app, &format!("/work?q={}", encode("\"执照")), &dispatcher).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("引号没有配对"), "{html}");
}

#[tokio::test]
async fn facets_count_what_the_caller_can_list_and_nothing_of_another_units() {
    let app = spawn_searching().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (a, _) = app.submit(request("厂房噪音扰民", "夜间施工噪音严重", "周晓明", "guzhen")).await;
    let (b, _) = app.submit(request("商铺音响噪音", "门口音响噪音很大", "吴美玲", "xiaolan")).await;
    let (c, _) = app.submit(request("工地噪音投诉", "周末噪音影响休息", "何丽华", "guzhen")).await;
    for (no, unit) in [(&a, "scjgj"), (&b, "scjgj"), (&c, "rsj")] {
        app.act(no, "dispatch", &dispatcher, json!({ "lead_unit": unit })).await;
    }
    app.act(&b, "sign", &handler, json!({})).await;
    until_found(&app, &handler, "噪音", |n| n.len() == 2).await;
    until_found(&app, &dispatcher, "噪音", |n| n.len() == 3).await;
    // Wait until the sign has reached the index too (the state facet counts it).
    let started = Instant::now();
    while found(&app, &handler, "噪音", "&state=signed_for").await.1 != 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "the sign never reached the index");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (_, list) = search(&app, &handler, "噪音", "").await;
    let facets = list["facets"].clone();
    let counts = |name: &str| -> Vec<(String, u64)> {
        facets[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["value"].as_str().unwrap().to_owned(), f["count"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(list["total"], 2);
    assert_eq!(counts("unit"), [("scjgj".to_owned(), 2)], "rsj's request is not counted: {facets}");
    let mut towns = counts("town");
    towns.sort();
    assert_eq!(towns, [("guzhen".to_owned(), 1), ("xiaolan".to_owned(), 1)]);
    let mut states = counts("state");
    states.sort();
    assert_eq!(states.iter().map(|s| s.1).sum::<u64>(), 2);
    assert!(states.contains(&("signed_for".to_owned(), 1)), "{states:?}");
    assert_eq!(counts("category"), [("biz.change".to_owned(), 2)]);
    assert_eq!(counts("month").iter().map(|m| m.1).sum::<u64>(), 2);
    assert!(facets["town"].as_array().unwrap().iter().all(|t| !t["label"].as_str().unwrap().is_empty()));
    // Every value's filter lists exactly as many requests as it counts.
    for name in ["state", "unit", "town", "category", "month"] {
        for value in facets[name].as_array().unwrap() {
            let filter = value["filter"].as_str().unwrap();
            let (nos, total) = found(&app, &handler, "噪音", &format!("&{filter}")).await;
            let count = value["count"].as_u64().unwrap();
            assert_eq!((nos.len() as u64, total), (count, count), "{name}: {filter}");
        }
    }
    // The dispatcher's facets count all three.
    let (_, all) = search(&app, &dispatcher, "噪音", "").await;
    let units: u64 = all["facets"]["unit"].as_array().unwrap().iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert_eq!(units, 3, "{}", all["facets"]);

    // Another unit's new matching request changes none of the handler's counts.
    let (d, _) = app.submit(request("夜间噪音", "广场舞噪音扰民", "郑凯文", "xiaolan")).await;
    app.act(&d, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    let started = Instant::now();
    while found(&app, &dispatcher, "噪音", "&lead_unit=rsj").await.1 != 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "the dispatch never reached the index");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, again) = search(&app, &handler, "噪音", "").await;
    assert_eq!(again["facets"], facets);
    assert_eq!(again["total"], 2);
    // Without q the list has no facets; the work page shows them as links.
    let (_, plain) = app.get("/api/v1/requests", Some(&handler)).await;
    assert!(plain.get("facets").is_none());
    let (status, html) = super::browser::page(&app, &format!("/work?q={}", encode("噪音")), &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="facets""#) && html.contains("town=xiaolan"), "{html}");
    assert!(!html.contains("unit=rsj"), "{html}");
}
