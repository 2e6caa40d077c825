//! Forms, not raw JSON (issue 12 part 8): the time-limit rules edited in a
//! form and published as a new version; "新增单位" refusing a code in use,
//! kinds that cannot nest, a confirmation before 撤销; over-long and
//! malformed posts on staff pages answered in Chinese with what was typed kept.

use mashangban_domain::access::Access;
use mashangban_domain::org::Role;
use mashangban_web::routes::{Body, Surface};

use super::browser::{no_redirects, page, post_form};
use super::*;

/// A rule table as the form posts it: every row's fields by `r{n}_` name.
const RULE_FORM: &[(&str, &str)] = &[
    ("r0_sign_for_amount", "1"),
    ("r0_sign_for_clock", "working_days"),
    ("r0_reply_amount", "10"),
    ("r0_reply_clock", "working_days"),
    ("r1_kind", "complaint"),
    ("r1_reply_amount", "15"),
    ("r1_reply_clock", "working_days"),
    ("r2_urgency", "urgent"),
    ("r2_sign_for_amount", "30"),
    ("r2_sign_for_clock", "minutes"),
    ("r2_reply_amount", "2"),
    ("r2_reply_clock", "hours"),
    ("r3_urgency", "act_now"),
    ("r3_asker", "enterprise"),
    ("r3_contact_amount", "1"),
    ("r3_contact_clock", "working_hours"),
    ("r3_stage_reply_amount", "3"),
    ("r3_stage_reply_clock", "working_days"),
    ("r3_reply_amount", "5"),
    ("r3_reply_clock", "working_days"),
    ("r3_review", "1"),
    ("r4_kind", "complaint"),
    ("r4_channel", "direct_line"),
    ("r4_reply_amount", "7"),
    ("r4_reply_clock", "working_days"),
    ("r4_co_answer_amount", "3"),
    ("r4_co_answer_clock", "working_days"),
    // A blank new row and a deleted one: neither is published.
    ("r5_kind", ""),
    ("r5_reply_amount", ""),
    ("r5_reply_clock", "working_days"),
    ("r6_kind", "help"),
    ("r6_reply_amount", "9"),
    ("r6_reply_clock", "working_days"),
    ("r6_delete", "1"),
];

async fn rules_version(app: &App, who: &Session) -> i64 {
    app.get("/api/v1/time-limits", Some(who)).await.1["version"].as_i64().unwrap()
}

#[tokio::test]
async fn the_rule_form_publishes_a_new_version_with_the_values_typed() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let version = rules_version(&app, &admin).await;

    let (status, html) = page(&app, "/admin/rules", &admin).await;
    assert_eq!(status, StatusCode::OK);
    for label in ["诉求类型", "紧急程度", "渠道", "诉求人", "签收", "联系诉求人", "阶段性答复", "答复办结", "领导审核"]
    {
        assert!(html.contains(&format!("<th scope=\"col\">{label}</th>")), "{label}");
    }
    assert!(
        html.contains("<option value=\"act_now\">马上办</option>")
            && html.contains("<option value=\"hours\">自然小时</option>")
    );
    assert!(html.contains("name=\"r0_reply_amount\" value=\"10\""), "the rules in force fill the form");
    assert!(html.contains("id=\"rules-json\""), "JSON stays, under 高级");

    let (status, location, _) = post_form(&app, "/admin/rules", &admin, RULE_FORM).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/rules?ok=rules"));
    let (_, after) = app.get("/api/v1/time-limits", Some(&admin)).await;
    let days = |n: u32| json!({ "clock": "working_days", "amount": n });
    let base = json!({ "kind": null, "urgency": null, "channel": null, "enterprise": null, "sign_for": null,
        "contact": null, "stage_reply": null, "reply": null });
    let rule = |fields: Value| {
        let mut rule = base.clone();
        rule.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        rule
    };
    let expected = json!([
        rule(json!({ "sign_for": days(1), "reply": days(10) })),
        rule(json!({ "kind": "complaint", "reply": days(15) })),
        rule(json!({ "urgency": "urgent", "sign_for": { "clock": "natural", "amount": 30 },
            "reply": { "clock": "natural", "amount": 120 } })),
        rule(json!({ "urgency": "act_now", "enterprise": true, "contact": { "clock": "working_hours", "amount": 1 },
            "stage_reply": days(3), "reply": days(5), "review": true })),
        rule(json!({ "kind": "complaint", "channel": "direct_line", "reply": days(7), "co_answer": days(3) })),
    ]);
    assert_eq!((after["version"].as_i64(), &after["rules"]), (Some(version + 1), &expected));
    assert_eq!(app.state.rules().in_force().version, version + 1, "in force for the next intake");
    let (_, versions) = app.get("/api/v1/time-limits/versions", Some(&admin)).await;
    assert_eq!(versions[0]["version"].as_i64(), Some(version + 1), "a version of its own");

    let (_, html) = page(&app, "/admin/rules", &admin).await;
    assert!(html.contains(&format!("<span id=\"rules-version\">{}</span>", version + 1)));
    assert!(html.contains("name=\"r2_reply_amount\" value=\"2\""), "natural hours shown as hours");
    assert!(html.contains("name=\"r2_sign_for_amount\" value=\"30\""));

    // 序号 moves a row: the act-now rule typed as 2 comes second, the rest keep their order.
    let mut moved = RULE_FORM.to_vec();
    moved.push(("r3_order", "2"));
    assert_eq!(post_form(&app, "/admin/rules", &admin, &moved).await.0, StatusCode::SEE_OTHER);
    let (_, reordered) = app.get("/api/v1/time-limits", Some(&admin)).await;
    let urgencies: Vec<_> = reordered["rules"].as_array().unwrap().iter().map(|r| r["urgency"].clone()).collect();
    assert_eq!(urgencies, [Value::Null, json!("act_now"), Value::Null, json!("urgent"), Value::Null]);
    assert_eq!(rules_version(&app, &admin).await, version + 2);
    let version = version + 1;

    // The same form again is one more version, as every publish is.
    assert_eq!(post_form(&app, "/admin/rules", &admin, RULE_FORM).await.0, StatusCode::SEE_OTHER);
    assert_eq!(rules_version(&app, &admin).await, version + 2);
}

#[tokio::test]
async fn a_bad_rule_form_answers_beside_each_field_and_keeps_what_was_typed() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let version = rules_version(&app, &admin).await;

    let mut form = RULE_FORM.to_vec();
    form[3] = ("r0_reply_amount", "十天");
    form[10] = ("r2_reply_amount", "0");
    form[13] = ("r3_asker", "resident");
    form.push(("r7_kind", "consultation"));
    let (status, _, html) = post_form(&app, "/admin/rules", &admin, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"admin-error\""), "{html}");
    assert!(html.contains("id=\"r0-reply-error\">请填写整数，如 5<"), "beside the amount");
    assert!(html.contains("id=\"r2-reply-error\">时限不能为0<"));
    assert!(html.contains("id=\"r3-error\">第4条：“马上办”只适用于企业诉求"));
    assert!(html.contains("id=\"r7-error\">第8条：这一条没有规定任何时限"));
    assert!(html.contains("name=\"r0_reply_amount\" value=\"十天\""), "what was typed is kept");
    assert!(html.contains("<option value=\"resident\" selected>个人</option>"));
    assert!(html.contains("name=\"r6_delete\" value=\"1\" aria-label=\"删除第7条\" checked"));
    assert_eq!(rules_version(&app, &admin).await, version, "nothing published");

    // Rows that hold but a table the domain refuses (no base rule): its message, the rows kept.
    let without_base: Vec<_> = RULE_FORM.iter().copied().filter(|(name, _)| !name.starts_with("r0_")).collect();
    let (status, _, html) = post_form(&app, "/admin/rules", &admin, &without_base).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("时限规则必须包含一条不限条件、规定答复时限的基本规则"));
    assert!(html.contains("name=\"r3_reply_amount\" value=\"7\""), "the rows as typed, in their order");
    let (status, _, html) = post_form(&app, "/admin/rules", &admin, &[("r500_kind", "help")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("时限规则最多200条"));
    assert_eq!(rules_version(&app, &admin).await, version, "still nothing published");
}

fn unit_form<'a>(code: &'a str, name: &'a str, kind: &'a str, parent: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("code", code), ("name", name), ("short_name", ""), ("kind", kind), ("parent", parent)]
}

async fn unit_named(app: &App, code: &str) -> Option<String> {
    let (_, units) = app.get("/api/v1/units", None).await;
    units.as_array().unwrap().iter().find(|u| u["code"] == code).map(|u| u["name"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_new_unit_never_takes_an_existing_code_and_kinds_nest_as_the_tree_does() {
    let app = spawn().await;
    let admin = app.login("admin").await;

    // 新增单位 with 中山市水务局's code: refused, the bureau unchanged, what was typed kept.
    let (status, _, html) =
        post_form(&app, "/admin/org", &admin, &unit_form("swuj", "数据局", "department", "city")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("单位编码「swuj」已被「中山市水务局」使用"), "{html}");
    let beside = html.find("id=\"unit-form-error\"").expect("the refusal beside the unit form");
    assert!(beside > html.find("id=\"unit-form-heading\"").unwrap() && !html.contains("id=\"admin-error\""));
    assert!(html.contains("value=\"数据局\""));
    assert_eq!(unit_named(&app, "swuj").await.as_deref(), Some("中山市水务局"));
    let body = json!({ "name": "数据局", "kind": "department", "parent": "city" });
    let (status, err) = app.post("/api/v1/admin/units/swuj", Some(&admin), body.clone()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("unit_code_taken")));
    assert_eq!(unit_named(&app, "swuj").await.as_deref(), Some("中山市水务局"));
    let (status, created) = app.post("/api/v1/admin/units/sjj", Some(&admin), body).await;
    assert_eq!((status, created["code"].as_str()), (StatusCode::CREATED, Some("sjj")));

    // 修改 changes an existing unit only.
    let mut edit = unit_form("sjj", "中山市数据局", "department", "city");
    edit.push(("editing", "1"));
    assert_eq!(post_form(&app, "/admin/org", &admin, &edit).await.0, StatusCode::SEE_OTHER);
    assert_eq!(unit_named(&app, "sjj").await.as_deref(), Some("中山市数据局"));
    edit[0] = ("code", "nosuch");
    assert_eq!(post_form(&app, "/admin/org", &admin, &edit).await.0, StatusCode::NOT_FOUND);
    assert_eq!(unit_named(&app, "nosuch").await, None, "nothing created");
    // The API's PUT still creates or changes.
    let put = json!({ "name": "市数据局", "kind": "department", "parent": "city" });
    let (status, _) = app.call(reqwest::Method::PUT, "/api/v1/admin/units/sjj", Some(&admin), Some(put)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unit_named(&app, "sjj").await.as_deref(), Some("市数据局"));

    // Kinds that cannot nest: departments and towns under the city, sub-units under them, nothing under a sub-unit.
    let refused = [
        ("k1", "subunit", "city"),
        ("k2", "department", "guzhen"),
        ("k3", "town", "scjgj"),
        ("k4", "subunit", "scjgj-djk"),
    ];
    for (code, kind, parent) in refused {
        let (status, _, html) = post_form(&app, "/admin/org", &admin, &unit_form(code, "新单位", kind, parent)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind} under {parent}");
        assert!(html.contains("类单位不能设在「"), "{kind} under {parent}: {html}");
        assert_eq!(unit_named(&app, code).await, None);
    }
    let (status, _, _) = post_form(&app, "/admin/org", &admin, &unit_form("k5", "海洲村", "subunit", "guzhen")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a village under a town");
    let body = json!({ "name": "市市场监管局", "kind": "subunit", "parent": "guzhen" });
    let (status, err) = app.call(reqwest::Method::PUT, "/api/v1/admin/units/scjgj", Some(&admin), Some(body)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unit_nesting_refused")),
        "its sections could not sit under a sub-unit: {err}"
    );
    assert!(err["message"].as_str().unwrap().contains("不能改为该类型"));
}

#[tokio::test]
async fn deactivating_a_unit_asks_for_confirmation_first() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let body = json!({ "name": "中山市数据局", "kind": "department", "parent": "city" });
    assert_eq!(app.post("/api/v1/admin/units/sjj", Some(&admin), body).await.0, StatusCode::CREATED);

    let (status, _, html) = post_form(&app, "/admin/org/sjj/active", &admin, &[("active", "0")]).await;
    assert_eq!(status, StatusCode::OK, "asks");
    assert!(html.contains("id=\"confirm-deactivate\"") && html.contains("确认撤销「中山市数据局」"));
    assert!(html.contains("name=\"confirm\" value=\"1\""));
    assert!(unit_named(&app, "sjj").await.is_some(), "still active");
    // A unit that could not be deactivated says so at once instead of asking.
    let (status, _, html) = post_form(&app, "/admin/org/scjgj/active", &admin, &[("active", "0")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("请先撤销下级单位") && !html.contains("id=\"confirm-deactivate\""));

    let confirmed = [("active", "0"), ("confirm", "1")];
    let (status, location, _) = post_form(&app, "/admin/org/sjj/active", &admin, &confirmed).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/org?ok=unit-off"));
    assert_eq!(unit_named(&app, "sjj").await, None, "deactivated once confirmed");
    assert_eq!(post_form(&app, "/admin/org/sjj/active", &admin, &[("active", "1")]).await.0, StatusCode::SEE_OTHER);
    assert!(unit_named(&app, "sjj").await.is_some(), "restored without a question");
}

async fn requests_of(app: &App, phone: &str, who: &Session) -> usize {
    let (status, list) = app.get(&format!("/api/v1/requests?phone={phone}"), Some(who)).await;
    assert_eq!(status, StatusCode::OK);
    list["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn an_over_long_console_intake_is_refused_beside_the_form_with_the_text_kept() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let content = "水".repeat(10_000);
    let call = [
        ("channel", "phone"),
        ("kind", "help"),
        ("urgency", "normal"),
        ("asker_type", "resident"),
        ("phone", "13912345670"),
        ("contact_name", "李伟明"),
        ("category", "social.pension"),
        ("town", "xiaolan"),
        ("title", "小区停水三天"),
        ("content", content.as_str()),
    ];
    let (status, _, html) = post_form(&app, "/console", &operator, &call).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"intake-error\">「诉求内容」不能超过4000个字<"), "the domain's own check");
    assert!(html.contains(&content) && html.contains("value=\"小区停水三天\""), "what was typed is kept");
    assert_eq!(requests_of(&app, "13912345670", &operator).await, 0, "nothing stored");

    // Past even the form limit: still Chinese, still nothing stored.
    let huge = "水".repeat(60_000);
    let mut call = call.to_vec();
    call[9] = ("content", huge.as_str());
    let (status, _, html) = post_form(&app, "/console", &operator, &call).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("提交的内容过长") && !html.contains("length limit"), "{html}");
    assert_eq!(requests_of(&app, "13912345670", &operator).await, 0);
}

/// A demo account holding `role`, if the demo has one.
fn account_of(role: Role) -> Option<&'static str> {
    let accounts = [
        (Role::Admin, "admin"),
        (Role::Operator, "operator"),
        (Role::Dispatcher, "dispatcher"),
        (Role::Handler, "handler"),
        (Role::UnitLeader, "unit-leader"),
        (Role::Supervisor, "supervisor"),
        (Role::CityLeader, "leader"),
        (Role::Liaison, "liaison"),
        (Role::LeadersOffice, "leaders-office"),
        (Role::Statistician, "statistics"),
        (Role::Enterprise, "enterprise"),
    ];
    accounts.iter().find(|(r, _)| *r == role).map(|(_, name)| *name)
}

/// A path with each placeholder filled (a value the path extractors take).
fn concrete(path: &str) -> String {
    let known = [("{no}", "ZS00000000000000"), ("{code}", "nosuch"), ("{username}", "nobody"), ("{year}", "2026")];
    let mut path = known.iter().fold(path.to_owned(), |p, (from, to)| p.replace(from, to));
    while let (Some(start), Some(end)) = (path.find('{'), path.find('}')) {
        path.replace_range(start..=end, "1");
    }
    path
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test]
async fn every_staff_page_form_answers_a_malformed_post_in_chinese() {
    let app = spawn().await;
    let http = no_redirects();
    let routes = mashangban_web::routes::all::<Backend>(&WebConfig::default());
    let (mut checked, mut failed) = (0, Vec::new());
    for route in routes {
        // Multipart pages too: a malformed post is refused the same way (and some, like the ledger
        // item's edit form, also take a plain form).
        let is_form = matches!(route.doc.body, Body::Form | Body::Multipart);
        let staff_post = route.surface() == Surface::Page
            && route.method().is_some_and(|m| m.as_str() == "POST")
            && route.access != Access::Public;
        if !is_form || !staff_post {
            continue;
        }
        let role = match route.access {
            Access::Permission(p) => p.roles().iter().copied().find(|r| account_of(*r).is_some()),
            _ => Some(Role::Admin),
        };
        let Some(username) = role.and_then(account_of) else { continue };
        let Session(cookie) = app.login(username).await;
        let path = concrete(route.path);
        let bodies: [(&str, Vec<u8>); 3] = [
            ("text/plain", b"x".to_vec()),
            ("application/x-www-form-urlencoded", b"content=%FF%FE&title=x".to_vec()),
            ("application/x-www-form-urlencoded", vec![b'a'; mashangban_web::extract::FORM_LIMIT + 1]),
        ];
        for (content_type, body) in bodies {
            let res = http
                .post(app.url(&path))
                .header("cookie", &cookie)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            let html = res.text().await.unwrap();
            let chinese = has_chinese(&html) && !html.contains("Failed to") && !html.contains("Content-Type");
            if !status.is_client_error() || !chinese {
                failed.push(format!(
                    "POST {path} ({content_type}) as {username}: {status} {}",
                    &html[..html.len().min(200)]
                ));
            }
            checked += 1;
        }
    }
    assert!(failed.is_empty(), "malformed bodies not refused in Chinese:\n{}", failed.join("\n"));
    assert!(checked > 90, "{checked} checks");
}
