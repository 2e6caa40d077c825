//! 行走办 (on-site service) through the API and the pages: the administrator
//! keeps the catalogue and a centre of one session a day; an enterprise asks
//! for a visit, the centre accepts it on a preferred date, a second
//! enterprise's accept the same day is refused for capacity and proposed
//! another date which that enterprise confirms; the centre records what it
//! handled, the enterprise rates it, the report counts it; neither enterprise
//! sees the other's request, and bad input is refused with its code. The
//! session's photos and documents are kept for the centre and the asking
//! enterprise; the enterprise is told (SMS/e-mail outbox rows) when the centre
//! accepts, proposes another date or refuses.

use super::browser::{page, post_form};
use super::*;

use mashangban_domain::notify::NoticeChannel;
use mashangban_store::NotificationStore;

fn code_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// A second enterprise's account, signed in.
async fn other_enterprise(app: &App) -> Session {
    app.store
        .create_user(
            NewUser {
                username: "other-enterprise".into(),
                display_name: "中山市明辉照明有限公司".into(),
                role: mashangban_domain::org::Role::Enterprise,
                unit_id: None,
                credit_code: Some(ENTERPRISE_CODE.into()),
                phone: None,
                password_hash: auth::hash_password(PASSWORD).unwrap(),
            },
            crate::tester(),
        )
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

#[tokio::test]
async fn photos_of_the_session_are_kept_for_the_centre_and_the_enterprise_and_nobody_else() {
    use super::documents::{PDF, PNG, download, listed, upload};
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (permit, _, centre) = catalogue(&app).await;
    let ours = app.login("enterprise").await;
    let theirs = other_enterprise(&app).await;
    let staff = app.login("service-centre").await;
    let supervisor = app.login("supervisor").await;
    let handler = app.login("handler").await;
    let (_, mine) = app.post("/api/v1/onsite/requests", Some(&ours), ask(centre, permit, 30, &["2026-12-08"])).await;
    let a = mine["id"].as_i64().unwrap();
    let (status, _) = act(&app, a, "accept", &staff, json!({ "date": "2026-12-08", "team": "梁敏" }), 1).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/onsite/requests/{a}/documents");

    // The centre adds the session's photo, the enterprise its power of attorney; both read both.
    let photo = upload(&app, &path, &staff, vec![("现场照片.png", PNG.to_vec())], Some("现场照片")).await;
    assert_eq!(photo.0, StatusCode::CREATED, "{}", photo.1);
    let letter = upload(&app, &path, &ours, vec![("授权委托书.pdf", PDF.to_vec())], None).await;
    assert_eq!(letter.0, StatusCode::CREATED, "{}", letter.1);
    assert_eq!(letter.1[0]["owner_kind"], "onsite_request");
    for who in [&staff, &ours, &supervisor] {
        let names: Vec<Value> = listed(&app, &path, who).await.iter().map(|d| d["file_name"].clone()).collect();
        assert_eq!(names, [json!("现场照片.png"), json!("授权委托书.pdf")]);
    }
    let photo_id = photo.1[0]["id"].as_i64().unwrap();
    let fetched = download(&app, photo_id, &ours).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), PNG);

    // Another enterprise, an overseer who only reads, and staff without on-site service.
    let (status, answer) = app.get(&path, Some(&theirs)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("onsite_not_found")));
    let refused = upload(&app, &path, &theirs, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!((refused.0, refused.1["code"].as_str()), (StatusCode::NOT_FOUND, Some("onsite_not_found")));
    assert_eq!(download(&app, photo_id, &theirs).await.status(), StatusCode::NOT_FOUND);
    let refused = upload(&app, &path, &supervisor, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!((refused.0, refused.1["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_onsite_party")));
    assert_eq!(app.get(&path, Some(&handler)).await.0, StatusCode::FORBIDDEN);
    let refused = upload(&app, &path, &ours, vec![("说明.txt", b"hello".to_vec())], None).await;
    assert_eq!(refused.1["code"], "document_type_refused");

    // The enterprise withdraws its own file with a reason; the request's history keeps all three steps.
    let letter_id = letter.1[0]["id"].as_i64().unwrap();
    let (status, _) =
        app.post(&format!("/api/v1/documents/{letter_id}/withdraw"), Some(&theirs), json!({ "reason": "x" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another enterprise cannot withdraw it");
    let (status, gone) = app
        .post(&format!("/api/v1/documents/{letter_id}/withdraw"), Some(&ours), json!({ "reason": "传错文件" }))
        .await;
    assert_eq!((status, gone["withdrawn"].as_bool()), (StatusCode::OK, Some(true)), "{gone}");
    assert_eq!(listed(&app, &path, &staff).await.len(), 1);
    let (_, detail) = app.get(&format!("/api/v1/onsite/requests/{a}"), Some(&staff)).await;
    let steps: Vec<(&str, &str)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["label"].as_str().unwrap(), e["stage_label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("提交申请", "待受理"),
            ("受理", "已受理"),
            ("上传附件", "已受理"),
            ("上传附件", "已受理"),
            ("撤回附件", "已受理")
        ]
    );
    assert_eq!(detail["history"][4]["note"], "撤回附件《授权委托书.pdf》：传错文件");

    // The pages: the panel with its upload form for both sides, without it for the overseer.
    let (_, html) = page(&app, &format!("/onsite/{a}"), &ours).await;
    assert!(html.contains("现场照片.png") && html.contains("id=\"document-form\""), "{html}");
    assert!(html.contains(&format!("action=\"/onsite/{a}/documents\"")));
    let (_, html) = page(&app, &format!("/onsite/{a}"), &supervisor).await;
    assert!(html.contains("现场照片.png") && !html.contains("id=\"document-form\""));
}

/// The outbox rows of on-site decisions.
async fn onsite_rows(app: &App) -> Vec<mashangban_store::OutboxItem> {
    let rows = app.store.list_outbox(None, 1000).await.unwrap();
    rows.into_iter().filter(|r| r.template_key.as_deref().is_some_and(|k| k.starts_with("onsite."))).collect()
}

#[tokio::test]
async fn the_enterprise_is_told_when_the_centre_accepts_proposes_or_refuses() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    app.store.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let (permit, _, centre) = catalogue(&app).await;
    let ours = app.login("enterprise").await;
    let theirs = other_enterprise(&app).await;
    let staff = app.login("service-centre").await;
    let (_, mine) = app.post("/api/v1/onsite/requests", Some(&ours), ask(centre, permit, 30, &["2026-12-08"])).await;
    let (_, other) =
        app.post("/api/v1/onsite/requests", Some(&theirs), ask(centre, permit, 8, &["2026-12-08", "2026-12-09"])).await;
    let (a, b) = (mine["id"].as_i64().unwrap(), other["id"].as_i64().unwrap());
    assert!(onsite_rows(&app).await.is_empty(), "submitting tells nobody");

    // The administrator edits the accepted notice (通知模板): a request's placeholder is refused, the
    // on-site ones are kept and listed with the other templates.
    let admin = app.login("admin").await;
    let path = "/api/v1/admin/notification-templates/onsite.accepted/sms";
    let bad = json!({ "body": "【马上办】{{number}}已受理，查询码{{check_code}}" });
    let refused = app.call(reqwest::Method::PUT, path, Some(&admin), Some(bad)).await;
    assert_eq!(code_of(&refused), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template")));
    assert!(refused.1["message"].as_str().unwrap().contains("check_code"), "{}", refused.1);
    let edited = json!({ "body": "【马上办】{{centre}}已受理上门服务申请{{number}}，{{date}}上门。详情：{{link}}" });
    let (status, saved) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(edited)).await;
    assert_eq!((status, &saved["customized"]), (StatusCode::OK, &json!(true)), "{saved}");
    let (_, all) = app.get("/api/v1/admin/notification-templates", Some(&admin)).await;
    let listed: Vec<(&str, &str, bool)> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["key"].as_str().unwrap().starts_with("onsite."))
        .map(|t| (t["key"].as_str().unwrap(), t["channel"].as_str().unwrap(), t["customized"] == json!(true)))
        .collect();
    let channels = |key| [(key, "sms", key == "onsite.accepted"), (key, "email", false)];
    let expected: Vec<_> =
        ["onsite.accepted", "onsite.proposed", "onsite.refused"].into_iter().flat_map(channels).collect();
    assert_eq!(listed, expected);

    // Accepted: an SMS to the account's phone on file (the demo enterprise's) in the edited words,
    // naming no person.
    let (status, mine) =
        act(&app, a, "accept", &staff, json!({ "date": "2026-12-08", "team": "梁敏、周志坚" }), 1).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let rows = onsite_rows(&app).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let told = &rows[0];
    assert_eq!(
        (told.template_key.as_deref(), told.channel, told.recipient.as_str(), told.event_id),
        (Some("onsite.accepted"), NoticeChannel::Sms, "13926000001", None)
    );
    let number = mine["number"].as_str().unwrap();
    assert_eq!(
        told.body,
        format!(
            "【马上办】中山市政务服务中心已受理上门服务申请{number}，2026-12-08上门。详情：https://12345.example.gov.cn/onsite/{a}"
        )
    );
    for private in ["陈嘉欣", "13800138000", "梁敏"] {
        assert!(!told.body.contains(private), "{private} in {}", told.body);
    }

    // A refused accept (the day is full) tells nobody: the notice is in the change's transaction.
    let full = act(&app, b, "accept", &staff, json!({ "date": "2026-12-08", "team": "周志坚" }), 1).await;
    assert_eq!(code_of(&full), (StatusCode::CONFLICT, Some("over_capacity")));
    assert_eq!(onsite_rows(&app).await.len(), 1);

    // Proposed: the other enterprise's account has no phone on file, so its request's contact phone.
    let (status, other) = act(&app, b, "propose", &staff, json!({ "date": "2026-12-10", "team": "周志坚" }), 1).await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let rows = onsite_rows(&app).await;
    let proposed = rows.iter().find(|r| r.template_key.as_deref() == Some("onsite.proposed")).unwrap();
    assert_eq!(proposed.recipient, "13800138000");
    assert!(proposed.body.contains("2026-12-10") && proposed.body.contains("确认"), "{}", proposed.body);

    // Refused: the reason's start, with a phone number in it masked.
    let (status, _) =
        act(&app, b, "refuse", &staff, json!({ "reason": "人数不足，请致电13912345678预约窗口办理" }), 2).await;
    assert_eq!(status, StatusCode::OK);
    let rows = onsite_rows(&app).await;
    let refused = rows.iter().find(|r| r.template_key.as_deref() == Some("onsite.refused")).unwrap();
    assert!(refused.body.contains("不予受理") && refused.body.contains("139****5678"), "{}", refused.body);
    assert!(!refused.body.contains("13912345678"));
    assert_eq!(rows.len(), 3);

    // The enterprise's own steps tell nobody.
    let (status, _) = act(&app, a, "withdraw", &ours, json!({ "reason": "改期" }), version(&mine)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(onsite_rows(&app).await.len(), 3);
}

#[tokio::test]
async fn the_enterprise_page_lists_its_on_site_service_and_the_report_exports_to_excel() {
    use mashangban_sheet::{Cell, Limits, Row, open_xlsx};
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let (permit, card, centre) = catalogue(&app).await;
    let ours = app.login("enterprise").await;
    let theirs = other_enterprise(&app).await;
    let staff = app.login("service-centre").await;
    let mut body = ask(centre, permit, 30, &["2026-12-08"]);
    body["items"] = json!([{ "item": permit, "count": 30 }, { "item": card, "count": 12 }]);
    let (_, held) = app.post("/api/v1/onsite/requests", Some(&ours), body).await;
    let (_, refused) = app.post("/api/v1/onsite/requests", Some(&ours), ask(centre, card, 5, &["2026-12-09"])).await;
    let (_, other) = app.post("/api/v1/onsite/requests", Some(&theirs), ask(centre, permit, 8, &["2026-12-10"])).await;
    let (h, r) = (held["id"].as_i64().unwrap(), refused["id"].as_i64().unwrap());
    assert_eq!(
        act(&app, h, "accept", &staff, json!({ "date": "2026-12-08", "team": "梁敏" }), 1).await.0,
        StatusCode::OK
    );
    assert_eq!(act(&app, r, "refuse", &staff, json!({ "reason": "超出服务范围" }), 1).await.0, StatusCode::OK);
    app.set_time("2026-12-08T17:00:00+08:00");
    let (staff, ours, admin) =
        (app.login("service-centre").await, app.login("enterprise").await, app.login("admin").await);
    let handled = json!({ "handled": [{ "item": permit, "count": 27 }, { "item": card, "count": 12 }] });
    let (status, done) = act(&app, h, "record", &staff, handled, 2).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, _) = act(&app, h, "rate", &ours, json!({ "rating": 4 }), version(&done)).await;
    assert_eq!(status, StatusCode::OK);

    // 一企一档: the enterprise's requests (not the other enterprise's), with date, items, stage and rating.
    let code = held["credit_code"].as_str().unwrap().to_owned();
    let (status, created) =
        app.post("/api/v1/enterprises", Some(&admin), super::enterprises::record(&code, "guzhen")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/enterprises/{code}/onsite");
    let (status, listed) = app.get(&path, Some(&staff)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let seen: Vec<(&str, Option<u64>)> =
        listed.as_array().unwrap().iter().map(|v| (v["stage"].as_str().unwrap(), v["rating"].as_u64())).collect();
    assert_eq!(seen, [("refused", None), ("rated", Some(4))], "newest first, the other enterprise's left out");
    let supervisor = app.login("supervisor").await;
    let (_, overseen) = app.get(&path, Some(&supervisor)).await;
    assert_eq!(overseen[1]["contact_phone"], "138****8000", "masked for those who oversee");
    let (status, err) = app.get("/api/v1/enterprises/91442000MA4W7K3X0Z/onsite", Some(&staff)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("enterprise_not_found")), "{err}");
    assert_eq!(app.get(&path, Some(&app.login("handler").await)).await.0, StatusCode::FORBIDDEN);
    let (status, html) = page(&app, &format!("/enterprises/{code}"), &supervisor).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"enterprise-onsite\""), "{html}");
    assert!(html.contains(&format!("href=\"/onsite/{h}\"")) && html.contains(&format!("href=\"/onsite/{r}\"")));
    assert!(html.contains("2026-12-08") && html.contains("居住证办理（30人）") && html.contains("4星"), "{html}");
    assert!(!html.contains(other["number"].as_str().unwrap()));
    let (_, html) = page(&app, &format!("/enterprises/{code}"), &app.login("dispatcher").await).await;
    assert!(!html.contains("id=\"onsite\""), "no section for those who do not read on-site service");

    // The report as Excel: the same figures as the JSON report, one row per centre and the total.
    let (_, report) = app.get("/api/v1/onsite/report?from=2026-12-01&to=2026-12-31", Some(&staff)).await;
    assert_eq!(report["total"]["handled"], 39, "{report}");
    let res = app
        .http
        .get(app.url("/api/v1/onsite/report/export?from=2026-12-01&to=2026-12-31"))
        .header("cookie", &staff.0)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("onsite-report.xlsx"));
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let rows: Vec<Row> = book.rows_by_name("上门服务统计").unwrap().map(Result::unwrap).collect();
    let text = |r: &Row, c: u32| r.get(c).as_text().unwrap_or_default().to_owned();
    assert_eq!(text(&rows[0], 1), "上门服务统计（2026-12-01 至 2026-12-31）");
    let header = rows.iter().position(|r| text(r, 1) == "服务中心").expect("header row");
    let data = &rows[header + 1..];
    assert_eq!(data.len(), 2, "the centre and the total");
    for (row, want) in data.iter().zip([&report["rows"][0], &report["total"]]) {
        assert_eq!(text(row, 1), want["centre"].as_str().unwrap());
        for (column, field) in
            [(2, "requests"), (3, "refused"), (4, "withdrawn"), (5, "sessions"), (6, "handled"), (7, "rated")]
        {
            assert_eq!(row.get(column), &Cell::Number(want[field].as_f64().unwrap()), "{field}");
        }
        assert_eq!(row.get(8), &Cell::Number(4.0));
    }
    assert_eq!(data[1].get(2), &Cell::Number(3.0), "three requests in December");
    let (_, html) = page(&app, "/onsite/report?from=2026-12-01&to=2026-12-31", &staff).await;
    assert!(html.contains("/api/v1/onsite/report/export?from=2026-12-01&amp;to=2026-12-31"), "{html}");
    assert_eq!(
        app.http.get(app.url("/api/v1/onsite/report/export")).header("cookie", &ours.0).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}
