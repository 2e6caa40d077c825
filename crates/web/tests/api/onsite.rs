//! 行走办 (on-site service) through the API and the pages: the administrator
//! keeps the catalogue and a centre of one session a day; an enterprise asks
//! for a visit, the centre accepts it on a preferred date, a second
//! enterprise's accept the same day is refused for capacity and proposed
//! another date which that enterprise confirms; the centre records what it
//! handled, the enterprise rates it, the report counts it; neither enterprise
//! sees the other's request, and bad input is refused with its code.

use super::browser::{page, post_form};
use super::*;

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// A second enterprise's account, signed in.
async fn other_enterprise(app: &App) -> Session {
    app.store
        .create_user(NewUser {
            username: "other-enterprise".into(),
            display_name: "中山市明辉照明有限公司".into(),
            role: mashangban_domain::org::Role::Enterprise,
            unit_id: None,
            credit_code: Some(ENTERPRISE_CODE.into()),
            phone: None,
            password_hash: auth::hash_password(PASSWORD).unwrap(),
        })
        .await
        .unwrap();
    app.login("other-enterprise").await
}

fn ask(centre: i64, item: i64, people: u32, dates: &[&str]) -> Value {
    json!({
        "centre": centre, "items": [{ "item": item, "count": people }], "people": people, "dates": dates,
        "address": "古镇镇中兴大道18号综合楼", "contact_name": "陈嘉欣", "contact_phone": "138 0013 8000",
        "note": "上午办理"
    })
}

async fn act(app: &App, id: i64, action: &str, who: &Session, mut body: Value, version: i64) -> (StatusCode, Value) {
    body["version"] = json!(version);
    app.post(&format!("/api/v1/onsite/requests/{id}/{action}"), Some(who), body).await
}

fn version(r: &Value) -> i64 {
    r["version"].as_i64().unwrap()
}

/// The catalogue (居住证办理, 社保卡申领) and a centre of one session a day at 市政数局; their ids.
async fn catalogue(app: &App) -> (i64, i64, i64) {
    let admin = app.login("admin").await;
    let item = |code: &str, name: &str, unit: &str| json!({ "code": code, "name": name, "unit": unit });
    let (status, permit) = app.post("/api/v1/onsite/items", Some(&admin), item("permit", "居住证办理", "sgaj")).await;
    assert_eq!(status, StatusCode::CREATED, "{permit}");
    let (_, card) = app.post("/api/v1/onsite/items", Some(&admin), item("card", "社保卡申领", "rsj")).await;
    let refused = app.post("/api/v1/onsite/items", Some(&admin), item("permit", "重复", "rsj")).await;
    assert_eq!(code_of(&refused), (StatusCode::CONFLICT, Some("duplicate_item_code")));
    let refused = app.post("/api/v1/onsite/items", Some(&admin), item("x1", "无单位", "nowhere")).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit")));
    let centre = |capacity: u32| json!({ "unit": "zwfw", "name": "中山市政务服务中心", "daily_capacity": capacity });
    let refused = app.post("/api/v1/onsite/centres", Some(&admin), centre(0)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_capacity")));
    let (status, c) = app.post("/api/v1/onsite/centres", Some(&admin), centre(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let handler = app.login("handler").await;
    let refused = app.post("/api/v1/onsite/centres", Some(&handler), centre(2)).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    (permit["id"].as_i64().unwrap(), card["id"].as_i64().unwrap(), c["id"].as_i64().unwrap())
}

#[tokio::test]
async fn an_enterprise_asks_the_centre_comes_within_capacity_and_it_is_rated_and_counted() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (permit, card, centre) = catalogue(&app).await;
    let ours = app.login("enterprise").await;
    let theirs = other_enterprise(&app).await;
    let staff = app.login("service-centre").await;

    // Bad input, each refused with its code and nothing written.
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut body = ask(centre, permit, 30, &["2026-12-08"]);
        f(&mut body);
        body
    };
    for (body, code) in [
        (bad(&|b| b["items"][0]["item"] = json!(99_999)), "unknown_item"),
        (bad(&|b| b["people"] = json!(0)), "invalid_people"),
        (bad(&|b| b["people"] = json!(100_000)), "invalid_people"),
        (bad(&|b| b["dates"] = json!(["2026-12-03"])), "date_in_past"),
        (bad(&|b| b["dates"] = json!(["2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"])), "too_many_dates"),
        (bad(&|b| b["address"] = json!("路".repeat(201))), "text_too_long"),
        (bad(&|b| b["contact_phone"] = json!("12")), "invalid_phone"),
        (bad(&|b| b["centre"] = json!(99_999)), "centre_not_found"),
    ] {
        let answer = app.post("/api/v1/onsite/requests", Some(&ours), body).await;
        assert!(answer.0.is_client_error(), "{code}: {}", answer.1);
        assert_eq!(answer.1["code"], code, "{}", answer.1);
    }
    let saturday = app.post("/api/v1/onsite/requests", Some(&ours), bad(&|b| b["dates"] = json!(["2026-12-05"]))).await;
    assert_eq!(code_of(&saturday), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_workday")));
    let (_, none) = app.get("/api/v1/onsite/requests", Some(&staff)).await;
    assert_eq!(none, json!([]), "nothing written");

    // Ours asks for two items on 8 or 9 December; theirs for the 8th only.
    let mut body = ask(centre, permit, 30, &["2026-12-09", "2026-12-08"]);
    body["items"] = json!([{ "item": permit, "count": 30 }, { "item": card, "count": 12 }]);
    let (status, mine) = app.post("/api/v1/onsite/requests", Some(&ours), body).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    assert_eq!((mine["stage"].as_str(), mine["actions"].clone()), (Some("submitted"), json!(["withdraw"])));
    assert_eq!(mine["preferred_dates"], json!(["2026-12-08", "2026-12-09"]));
    assert_eq!(
        (mine["contact_phone"].as_str(), mine["items"][1]["name"].as_str()),
        (Some("13800138000"), Some("社保卡申领"))
    );
    let (_, other) = app.post("/api/v1/onsite/requests", Some(&theirs), ask(centre, permit, 8, &["2026-12-08"])).await;
    let (a, b) = (mine["id"].as_i64().unwrap(), other["id"].as_i64().unwrap());

    // Each enterprise sees its own only; the centre both; other staff nothing.
    let (_, listed) = app.get("/api/v1/onsite/requests", Some(&ours)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let hidden = app.get(&format!("/api/v1/onsite/requests/{b}"), Some(&ours)).await;
    assert_eq!(code_of(&hidden), (StatusCode::NOT_FOUND, Some("onsite_not_found")));
    let refused = act(&app, b, "withdraw", &ours, json!({}), version(&other)).await;
    assert_eq!(code_of(&refused), (StatusCode::NOT_FOUND, Some("onsite_not_found")));
    let (_, queue) = app.get("/api/v1/onsite/requests?stage=submitted", Some(&staff)).await;
    assert_eq!(queue.as_array().unwrap().len(), 2);
    let handler = app.login("handler").await;
    assert_eq!(app.get("/api/v1/onsite/requests", Some(&handler)).await.0, StatusCode::FORBIDDEN);
    let refused = act(&app, a, "accept", &ours, json!({ "date": "2026-12-08", "team": "x" }), version(&mine)).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "the enterprise does not accept its own request");

    // The centre accepts ours on the 8th; theirs that day is over the capacity of one.
    let team = json!({ "date": "2026-12-10", "team": "梁敏、周志坚" });
    let refused = act(&app, a, "accept", &staff, team.clone(), version(&mine)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("date_not_preferred")));
    let (status, mine) =
        act(&app, a, "accept", &staff, json!({ "date": "2026-12-08", "team": "梁敏、周志坚" }), version(&mine)).await;
    assert_eq!(
        (status, mine["stage"].as_str(), mine["date"].as_str()),
        (StatusCode::OK, Some("accepted"), Some("2026-12-08"))
    );
    let stale = act(&app, a, "withdraw", &ours, json!({}), version(&mine) - 1).await;
    assert_eq!(code_of(&stale), (StatusCode::CONFLICT, Some("onsite_changed")));
    let full = act(&app, b, "accept", &staff, json!({ "date": "2026-12-08", "team": "周志坚" }), version(&other)).await;
    assert_eq!(code_of(&full), (StatusCode::CONFLICT, Some("over_capacity")));
    let past =
        act(&app, b, "propose", &staff, json!({ "date": "2026-12-01", "team": "周志坚" }), version(&other)).await;
    assert_eq!(code_of(&past), (StatusCode::UNPROCESSABLE_ENTITY, Some("date_in_past")));
    let (status, other) = act(
        &app,
        b,
        "propose",
        &staff,
        json!({ "date": "2026-12-10", "team": "周志坚", "note": "8日已排满" }),
        version(&other),
    )
    .await;
    assert_eq!((status, other["stage"].as_str()), (StatusCode::OK, Some("proposed")), "{other}");
    let (_, days) =
        app.get(&format!("/api/v1/onsite/centres/{centre}/sessions?from=2026-12-01&to=2026-12-31"), Some(&staff)).await;
    assert_eq!(
        days,
        json!([{ "date": "2026-12-08", "sessions": 1, "capacity": 1 }, { "date": "2026-12-10", "sessions": 1, "capacity": 1 }])
    );
    let (status, other) = act(&app, b, "confirm", &theirs, json!({}), version(&other)).await;
    assert_eq!(
        (status, other["stage"].as_str(), other["date"].as_str()),
        (StatusCode::OK, Some("accepted"), Some("2026-12-10"))
    );

    // Recorded on the day, not before; then rated once.
    let handled =
        json!({ "handled": [{ "item": permit, "count": 28 }, { "item": card, "count": 12 }], "note": "2人材料不全" });
    let early = act(&app, a, "record", &staff, handled.clone(), version(&mine)).await;
    assert_eq!(code_of(&early), (StatusCode::CONFLICT, Some("too_early")));
    app.set_time("2026-12-08T17:00:00+08:00");
    // Sessions idle for four days have ended: sign in again.
    let (staff, ours) = (app.login("service-centre").await, app.login("enterprise").await);
    let missing =
        act(&app, a, "record", &staff, json!({ "handled": [{ "item": permit, "count": 28 }] }), version(&mine)).await;
    assert_eq!(code_of(&missing), (StatusCode::UNPROCESSABLE_ENTITY, Some("handled_required")));
    let (status, mine) = act(&app, a, "record", &staff, handled, version(&mine)).await;
    assert_eq!(
        (status, mine["stage"].as_str(), mine["items"][0]["handled"].as_u64()),
        (StatusCode::OK, Some("held"), Some(28))
    );
    assert_eq!(mine["actions"], json!([]), "the centre has nothing left to do");
    let (_, seen) = app.get(&format!("/api/v1/onsite/requests/{a}"), Some(&ours)).await;
    assert_eq!(seen["actions"], json!(["rate"]));
    let bad_rating = act(&app, a, "rate", &ours, json!({ "rating": 6 }), version(&mine)).await;
    assert_eq!(code_of(&bad_rating), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rating")));
    let (status, mine) =
        act(&app, a, "rate", &ours, json!({ "rating": 5, "comment": "不用跑腿" }), version(&mine)).await;
    assert_eq!((status, mine["stage"].as_str(), mine["rating"].as_u64()), (StatusCode::OK, Some("rated"), Some(5)));
    let again = act(&app, a, "rate", &ours, json!({ "rating": 1 }), version(&mine)).await;
    assert_eq!(code_of(&again), (StatusCode::CONFLICT, Some("illegal_onsite_transition")));
    let kinds: Vec<&str> = mine["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["submitted", "accepted", "held", "rated"]);

    // The report: two requests, one session held with 40 items handled, one rating of 5.
    let (status, report) = app.get("/api/v1/onsite/report?from=2026-12-01&to=2026-12-31", Some(&staff)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let row = &report["rows"][0];
    assert_eq!(row["centre"], "中山市政务服务中心");
    assert_eq!(
        (
            row["requests"].as_u64(),
            row["sessions"].as_u64(),
            row["handled"].as_u64(),
            row["rated"].as_u64(),
            row["satisfaction"].as_f64()
        ),
        (Some(2), Some(1), Some(40), Some(1), Some(5.0))
    );
    let (_, later) = app.get("/api/v1/onsite/report?from=2026-12-09", Some(&staff)).await;
    assert_eq!((later["total"]["requests"].as_u64(), later["total"]["sessions"].as_u64()), (Some(0), Some(0)));
    assert_eq!(app.get("/api/v1/onsite/report", Some(&ours)).await.0, StatusCode::FORBIDDEN);

    // A supervisor oversees with the contact masked.
    let supervisor = app.login("supervisor").await;
    let (_, overseen) = app.get(&format!("/api/v1/onsite/requests/{a}"), Some(&supervisor)).await;
    assert_eq!(overseen["contact_phone"], "138****8000");
}

#[tokio::test]
async fn the_pages_ask_accept_and_show_the_report() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (permit, _, centre) = catalogue(&app).await;
    let ours = app.login("enterprise").await;
    let staff = app.login("service-centre").await;
    let admin = app.login("admin").await;

    let (status, html) = page(&app, "/onsite/new", &ours).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("居住证办理") && html.contains("中山市政务服务中心"), "{html}");
    let (centre, count) = (centre.to_string(), format!("count_{permit}"));
    let mut form = vec![
        ("centre", centre.as_str()),
        (count.as_str(), "20"),
        ("people", "20"),
        ("date1", "2026-12-03"),
        ("address", "古镇镇中兴大道18号"),
        ("contact_name", "陈嘉欣"),
        ("contact_phone", "13800138000"),
    ];
    let (status, _, html) = post_form(&app, "/onsite/new", &ours, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("已过去") && html.contains("古镇镇中兴大道18号"), "the refusal, with the form kept");
    form[3] = ("date1", "2026-12-08");
    let (status, location, _) = post_form(&app, "/onsite/new", &ours, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = location.trim_start_matches("/onsite/").to_owned();

    let (_, queue) = page(&app, "/onsite", &staff).await;
    assert!(queue.contains(&format!("href=\"/onsite/{id}\"")) && queue.contains("待受理"));
    let (_, detail) = page(&app, &location, &staff).await;
    assert!(detail.contains("id=\"accept-form\"") && detail.contains("id=\"propose-form\""));
    let (status, back, _) = post_form(
        &app,
        &format!("{location}/accept"),
        &staff,
        &[("version", "1"), ("date", "2026-12-08"), ("team", "梁敏")],
    )
    .await;
    assert_eq!((status, back.as_str()), (StatusCode::SEE_OTHER, location.as_str()));
    let (_, detail) = page(&app, &location, &ours).await;
    assert!(detail.contains("已受理") && detail.contains("梁敏") && detail.contains("id=\"withdraw-form\""));
    let (status, _, _) = post_form(&app, &format!("{location}/accept"), &ours, &[("version", "2")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, report) = page(&app, "/onsite/report?from=2026-12-01", &staff).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("中山市政务服务中心"));
    let (status, admin_page) = page(&app, "/admin/onsite", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(admin_page.contains("居住证办理") && admin_page.contains("每日可上门场次"));
    let (status, back, _) = post_form(
        &app,
        &format!("/admin/onsite/centres/{centre}"),
        &admin,
        &[("unit", "zwfw"), ("name", "中山市政务服务中心"), ("daily_capacity", "4"), ("active", "true")],
    )
    .await;
    assert_eq!((status, back.as_str()), (StatusCode::SEE_OTHER, "/admin/onsite?ok=onsite-centre"));
    let (_, centres) = app.get("/api/v1/onsite/centres", Some(&ours)).await;
    assert_eq!(centres[0]["daily_capacity"], 4);
}

#[tokio::test]
async fn the_demo_loads_requests_in_every_stage_once() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    let now = mashangban_domain::time::now();
    assert_eq!(mashangban_demo::load_onsite(&app.store, &data, now).await.unwrap(), 6);
    assert_eq!(mashangban_demo::load_onsite(&app.store, &data, now).await.unwrap(), 0, "loaded once");
    let staff = app.login("service-centre").await;
    let (_, list) = app.get("/api/v1/onsite/requests", Some(&staff)).await;
    let stages: std::collections::BTreeSet<&str> =
        list.as_array().unwrap().iter().map(|r| r["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["accepted", "held", "rated", "submitted"].into_iter().collect(), "the city centre's four");
    let ours = app.login("enterprise").await;
    let (_, mine) = app.get("/api/v1/onsite/requests", Some(&ours)).await;
    assert_eq!((mine.as_array().unwrap().len(), mine[0]["stage"].as_str()), (1, Some("rated")));
    let admin = app.login("admin").await;
    let (_, all) = app.get("/api/v1/onsite/requests", Some(&admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 6);
}
