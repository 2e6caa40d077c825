//! The administration pages (系统管理): administrators only, same-origin
//! posts only, and every change through the API's own functions.

use super::browser::{no_redirects, page, post_form};
use super::*;

const PAGES: [&str; 9] = [
    "/admin",
    "/admin/notifications",
    "/admin/org",
    "/admin/users",
    "/admin/categories",
    "/admin/rules",
    "/admin/calendar",
    "/admin/knowledge",
    "/admin/knowledge/1",
];

const POSTS: [&str; 19] = [
    "/admin/notifications/asker.accepted/sms",
    "/admin/notifications/asker.accepted/sms/reset",
    "/admin/notifications/asker.accepted/sms/versions/1/restore",
    "/admin/org",
    "/admin/org/scjgj/active",
    "/admin/users",
    "/admin/users/operator/role",
    "/admin/users/operator/disabled",
    "/admin/users/operator/password",
    "/admin/users/api-tokens",
    "/admin/users/api-tokens/1/revoke",
    "/admin/categories",
    "/admin/rules",
    "/admin/rules/json",
    "/admin/calendar/year",
    "/admin/calendar/hours",
    "/admin/knowledge",
    "/admin/knowledge/1",
    "/admin/knowledge/1/active",
];

#[tokio::test]
async fn only_administrators_open_or_post_any_admin_page() {
    let app = spawn().await;
    for who in ["operator", "dispatcher", "supervisor", "leader", "enterprise"] {
        let session = app.login(who).await;
        for path in PAGES {
            assert_eq!(page(&app, path, &session).await.0, StatusCode::FORBIDDEN, "{who} GET {path}");
        }
        for path in POSTS {
            let form =
                [("active", "0"), ("disabled", "1"), ("password", "password-123"), ("role", "admin"), ("unit", "city")];
            assert_eq!(post_form(&app, path, &session, &form).await.0, StatusCode::FORBIDDEN, "{who} POST {path}");
        }
    }
    let res = no_redirects().get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let operator = app.store.find_user("operator").await.unwrap().unwrap();
    assert!(!operator.disabled && operator.role == mashangban_domain::org::Role::Operator, "nothing changed");
    let (_, units) = app.get("/api/v1/units", None).await;
    assert!(units.as_array().unwrap().iter().any(|u| u["code"] == "scjgj"), "no unit deactivated");

    let admin = app.login("admin").await;
    for path in PAGES.iter().skip(1) {
        let (status, html) = page(&app, path, &admin).await;
        assert_eq!(status, StatusCode::OK, "admin GET {path}");
        assert!(html.contains("href=\"/admin/org\">系统管理</a>") || html.contains("系统管理"), "{path}");
    }
    let (_, work) = page(&app, "/work", &admin).await;
    assert!(work.contains("<a href=\"/admin/org\">系统管理</a>"), "the staff navigation links it for admins");
    let (_, work) = page(&app, "/work", &app.login("operator").await).await;
    assert!(!work.contains("/admin/org"), "and only for admins");
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let app = spawn().await;
    let Session(admin) = app.login("admin").await;
    let form = [
        ("username", "mallory"),
        ("display_name", "外站"),
        ("role", "admin"),
        ("unit", "city"),
        ("password", "password-123"),
    ];
    for header in [("sec-fetch-site", "cross-site"), ("origin", "http://evil.example")] {
        let res = no_redirects()
            .post(app.url("/admin/users"))
            .header("cookie", &admin)
            .header(header.0, header.1)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header:?}");
    }
    assert!(app.store.find_user("mallory").await.unwrap().is_none());
}

#[tokio::test]
async fn a_user_created_on_the_page_signs_in_with_the_initial_password() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let mut form = vec![
        ("username", "zhang.san"),
        ("display_name", "张三"),
        ("role", "handler"),
        ("unit", "scjgj"),
        ("phone", "13800138000"),
        ("password", "short"),
    ];
    let (status, _, html) = post_form(&app, "/admin/users", &admin, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"admin-error\"") && html.contains("密码至少8位") && html.contains("value=\"zhang.san\"")
    );
    form[5] = ("password", PASSWORD);
    let (status, location, _) = post_form(&app, "/admin/users", &admin, &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/users?ok=user"));
    let zhang = app.login("zhang.san").await;
    let (_, me) = app.get("/api/v1/auth/me", Some(&zhang)).await;
    assert_eq!(me["role"], "handler", "{me}");
    let (_, html) = page(&app, "/admin/users", &admin).await;
    assert!(html.contains("138****8000") && !html.contains("13800138000"), "phones masked in the list");

    // Role, disabling and the password, each ending the sessions.
    let role = [("role", "dispatcher"), ("unit", "zwfw-12345")];
    assert_eq!(post_form(&app, "/admin/users/zhang.san/role", &admin, &role).await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/auth/me", Some(&zhang)).await.0, StatusCode::UNAUTHORIZED, "signed out by the change");
    let user = app.store.find_user("zhang.san").await.unwrap().unwrap();
    assert_eq!(user.role, mashangban_domain::org::Role::Dispatcher);
    let (status, _, html) =
        post_form(&app, "/admin/users/zhang.san/role", &admin, &[("role", "handler"), ("unit", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("工作人员必须属于一个单位"));
    assert_eq!(
        post_form(&app, "/admin/users/zhang.san/disabled", &admin, &[("disabled", "1")]).await.0,
        StatusCode::SEE_OTHER
    );
    let res = app.post("/api/v1/auth/login", None, json!({ "username": "zhang.san", "password": PASSWORD })).await;
    assert_eq!(res.0, StatusCode::UNAUTHORIZED, "disabled");
    assert_eq!(
        post_form(&app, "/admin/users/zhang.san/disabled", &admin, &[("disabled", "0")]).await.0,
        StatusCode::SEE_OTHER
    );
    let new_password = [("password", "another-password-9")];
    assert_eq!(
        post_form(&app, "/admin/users/zhang.san/password", &admin, &new_password).await.0,
        StatusCode::SEE_OTHER
    );
    let res = app
        .post("/api/v1/auth/login", None, json!({ "username": "zhang.san", "password": "another-password-9" }))
        .await;
    assert_eq!(res.0, StatusCode::OK);
    let (status, _, html) = post_form(&app, "/admin/users/admin/disabled", &admin, &[("disabled", "1")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "never one's own account");
    assert!(html.contains("不能停用自己的账号"));

    // The person's own changes, then the account's history (账号变更记录): every change, who made it,
    // the refused role change absent, phones masked, no password.
    let zhang = app.login_with("zhang.san", "another-password-9").await;
    let contact = json!({ "current_password": "another-password-9", "phone": "13900139000" });
    assert_eq!(
        app.call(reqwest::Method::PUT, "/api/v1/auth/me/contact", Some(&zhang), Some(contact)).await.0,
        StatusCode::OK
    );
    let change = json!({ "current_password": "another-password-9", "new_password": PASSWORD });
    assert_eq!(app.post("/api/v1/auth/me/password", Some(&zhang), change).await.0, StatusCode::NO_CONTENT);
    let admin_name = app.get("/api/v1/auth/me", Some(&admin)).await.1["name"].as_str().unwrap().to_owned();
    let (status, history) = app.get("/api/v1/admin/users/zhang.san/history", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let a = admin_name.as_str();
    assert_eq!(
        crate::history_entries(&history),
        [
            ("created", a),
            ("role_changed", a),
            ("disabled", a),
            ("enabled", a),
            ("password_reset", a),
            ("contact_changed", "张三"),
            ("password_changed", "张三"),
        ]
    );
    assert_eq!(history[0]["action_label"], "新建账号");
    assert_eq!(history[5]["detail"], "手机：138****8000 → 139****9000");
    let text = history.to_string();
    assert!(!text.contains("13800138000") && !text.contains("13900139000") && !text.contains("password-"), "{text}");
    let (status, err) = app.get("/api/v1/admin/users/nobody/history", Some(&admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("user_not_found")));
    let (status, _) = app.get("/api/v1/admin/users/zhang.san/history", Some(&app.login("supervisor").await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The account's page shows it, newest first.
    let (_, html) = page(&app, "/admin/users?edit=zhang.san", &admin).await;
    let table =
        html.split("id=\"account-history\"").nth(1).expect("the history table").split("</table>").next().unwrap();
    assert_eq!(table.matches("<tr>").count(), 1 + 7, "a header and the seven entries");
    let (newest, oldest) = (table.find("本人修改密码").unwrap(), table.find("新建账号").unwrap());
    assert!(newest < oldest, "newest first");
    assert!(table.contains(&admin_name) && table.contains("138****8000 → 139****9000"), "{table}");
    assert!(!html.contains("13800138000") && !html.contains("13900139000"));
}

#[tokio::test]
async fn publishing_rules_on_the_page_puts_a_new_version_in_force() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (_, before) = app.get("/api/v1/time-limits", Some(&admin)).await;
    let version = before["version"].as_i64().unwrap();
    let rules = json!({ "rules": before["rules"] }).to_string();

    let (status, _, html) = post_form(&app, "/admin/rules/json", &admin, &[("rules", "{\"rules\": [")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("JSON 格式错误") && html.contains("id=\"rules-json\""));
    let (status, location, _) = post_form(&app, "/admin/rules/json", &admin, &[("rules", &rules)]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/rules?ok=rules"));
    let (_, after) = app.get("/api/v1/time-limits", Some(&admin)).await;
    assert_eq!(after["version"].as_i64(), Some(version + 1));
    assert_eq!(app.state.rules().in_force().version, version + 1, "in force for the next intake");
    let (_, html) = page(&app, "/admin/rules", &admin).await;
    assert!(html.contains(&format!("<span id=\"rules-version\">{}</span>", version + 1)));
}

#[tokio::test]
async fn units_categories_calendar_and_answers_change_through_the_pages() {
    let app = spawn().await;
    let admin = app.login("admin").await;

    let unit = [
        ("code", "sjj"),
        ("name", "中山市数据局"),
        ("short_name", "市数据局"),
        ("kind", "department"),
        ("parent", "city"),
    ];
    assert_eq!(post_form(&app, "/admin/org", &admin, &unit).await.0, StatusCode::SEE_OTHER);
    let (_, units) = app.get("/api/v1/units", None).await;
    assert!(units.as_array().unwrap().iter().any(|u| u["code"] == "sjj"), "in the cache at once");
    let (status, _, html) = post_form(&app, "/admin/org/city/active", &admin, &[("active", "0")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("请先撤销下级单位"));
    let confirmed = [("active", "0"), ("confirm", "1")];
    assert_eq!(post_form(&app, "/admin/org/sjj/active", &admin, &confirmed).await.0, StatusCode::SEE_OTHER);
    let (_, units) = app.get("/api/v1/units", None).await;
    assert!(!units.as_array().unwrap().iter().any(|u| u["code"] == "sjj"), "deactivated units are offered nowhere");

    let category = [
        ("code", "biz.data"),
        ("name", "公共数据开放"),
        ("parent", "biz"),
        ("lead_unit", "scjgj"),
        ("keywords", "数据，开放 共享"),
    ];
    assert_eq!(post_form(&app, "/admin/categories", &admin, &category).await.0, StatusCode::SEE_OTHER);
    let (_, categories) = app.get("/api/v1/categories", None).await;
    let added = categories.as_array().unwrap().iter().find(|c| c["code"] == "biz.data").cloned().unwrap();
    assert_eq!(
        (added["default_lead_unit"].as_str(), added["keywords"].clone()),
        (Some("scjgj"), json!(["数据", "开放", "共享"]))
    );

    let hours = [("hours", "09:00-12:00 13:30-17:30")];
    assert_eq!(post_form(&app, "/admin/calendar/hours", &admin, &hours).await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.state.calendar().in_force().working_hours().daily_duration().num_minutes(), 7 * 60);
    let (status, _, html) = post_form(&app, "/admin/calendar/hours", &admin, &[("hours", "25:00-26:00")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"admin-error\""));

    let article = [
        ("title", "不动产登记查询"),
        ("body", "可在“粤省事”查询本人名下不动产登记信息。"),
        ("category", ""),
        ("keywords", "不动产，查档"),
    ];
    let (status, location, _) = post_form(&app, "/admin/knowledge", &admin, &article).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = location.split('?').next().unwrap().to_owned();
    let mut edit = article.to_vec();
    edit.push(("version", "1"));
    edit[1] = ("body", "第二版答复。");
    assert_eq!(post_form(&app, &path, &admin, &edit).await.0, StatusCode::SEE_OTHER);
    let (status, _, html) = post_form(&app, &path, &admin, &edit).await;
    assert_eq!(status, StatusCode::CONFLICT, "the page sends the version it showed");
    assert!(html.contains("已被他人修改"));
    let (_, html) = page(&app, &path, &admin).await;
    assert!(
        html.contains("第二版答复。") && html.contains("可在“粤省事”查询本人名下不动产登记信息。"),
        "both versions shown"
    );
}

#[tokio::test]
async fn the_admin_api_takes_the_same_checks_as_the_pages() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let account = |role: &str, unit: Option<&str>, credit_code: Option<&str>| json!({ "username": "acct", "display_name": "账号", "role": role, "unit": unit, "credit_code": credit_code, "password": PASSWORD });
    let refused = [
        (account("handler", None, None), "unit_required"),
        (account("resident", Some("city"), None), "unit_not_allowed"),
        (account("enterprise", None, None), "credit_code_required"),
        (account("enterprise", None, Some("91350100M000100Y4A")), "invalid_credit_code"),
        (account("handler", Some("scjgj"), Some(ENTERPRISE_CODE)), "credit_code_not_allowed"),
        (account("handler", Some("nowhere"), None), "unknown_unit"),
        (account("boss", Some("city"), None), "invalid_role"),
    ];
    for (body, code) in refused {
        let (status, err) = app.post("/api/v1/admin/users", Some(&admin), body).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)));
    }
    let (status, _) =
        app.post("/api/v1/admin/users", Some(&app.login("supervisor").await), account("resident", None, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) =
        app.post("/api/v1/admin/users", Some(&admin), account("enterprise", None, Some(ENTERPRISE_CODE))).await;
    assert_eq!((status, created["role"].as_str()), (StatusCode::CREATED, Some("enterprise")), "{created}");
    let (status, err) = app.post("/api/v1/admin/users", Some(&admin), account("resident", None, None)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("username_taken")));

    // The enterprise account sees its enterprise's requests.
    let (no, _) = app.submit(enterprise_complaint()).await;
    let acct = app.login("acct").await;
    assert_eq!(app.get(&format!("/api/v1/requests/{no}"), Some(&acct)).await.0, StatusCode::OK);

    let path = "/api/v1/admin/users/admin/role";
    let (status, err) =
        app.call(reqwest::Method::PUT, path, Some(&admin), Some(json!({ "role": "supervisor", "unit": "city" }))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("own_admin_role")));
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/admin/units/sub",
            Some(&admin),
            Some(json!({ "name": "科", "kind": "subunit", "parent": "scjgj" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{err}");
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/admin/units/city-x",
            Some(&admin),
            Some(json!({ "name": "市", "kind": "city", "parent": "city" })),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_unit_kind")));
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/admin/units/scjgj",
            Some(&admin),
            Some(json!({ "name": "市市场监管局", "kind": "department", "parent": "scjgj" })),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unit_cycle")));
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/admin/categories/biz",
            Some(&admin),
            Some(json!({ "name": "企业", "parent": "biz.register" })),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("category_cycle")));
}

#[tokio::test]
async fn notification_templates_are_listed_edited_kept_when_refused_and_reset_on_their_page() {
    use mashangban_domain::notify::TemplateKey;
    use mashangban_store::NotificationStore;
    let app = spawn().await;
    app.store.enable_notifications("https://12345.example.gov.cn/").await.unwrap();
    let admin = app.login("admin").await;
    let api = "/api/v1/admin/notification-templates/asker.accepted/sms";
    let (_, default) = app.get(api, Some(&admin)).await;

    // Every key and channel, with its label, its channel, its placeholders and whether it differs.
    let (status, html) = page(&app, "/admin/notifications", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<a href=\"/admin/notifications\" aria-current=\"page\" class=\"current\">通知模板</a>"));
    let mut forms = 0;
    for key in TemplateKey::ALL {
        assert!(html.contains(key.label()), "{key:?}");
        for channel in key.channels() {
            assert!(html.contains(&format!("id=\"form-{}-{}\"", key.as_str(), channel.as_str())), "{key:?}");
            forms += 1;
        }
    }
    assert!(html.contains(&format!("共 {forms} 个通知模板，0 个与默认内容不同")), "{forms}");
    assert!(html.contains("<code>{{code}}</code>（必须包含）"), "the reset code is required");
    assert!(html.contains("<code>{{reason_excerpt}}</code>"), "each key's own placeholders");
    assert!(!html.contains("id=\"reset-"), "nothing to reset yet");

    // A placeholder the notice does not have: 422, the text kept in its form, the refusal beside it.
    let form = "/admin/notifications/asker.accepted/sms";
    let bad = "【马上办】诉求{{tracking_no}}已受理，来电{{phone}}";
    let (status, _, html) = post_form(&app, form, &admin, &[("body", bad)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let at = html.find("id=\"form-asker.accepted-sms\"").unwrap();
    let mine = &html[at..][..html[at..].find("</form>").unwrap()];
    assert!(mine.contains(&format!(">{bad}</textarea>")), "{mine}");
    assert!(mine.contains("id=\"error-asker.accepted-sms\"") && mine.contains("「{{phone}}」不可用"), "{mine}");
    assert_eq!(html.matches("class=\"field-error\"").count(), 1, "beside that form alone");
    assert_eq!(app.get(api, Some(&admin)).await.1, default, "nothing stored");
    // An e-mail without its subject, an unknown template, a cross-site post: refused, nothing stored.
    let mail = "/admin/notifications/asker.accepted/email";
    let (status, _, html) = post_form(&app, mail, &admin, &[("subject", " "), ("body", "{{title}}已受理")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"error-asker.accepted-email\"") && html.contains("{{title}}已受理</textarea>"));
    let (status, _, html) = post_form(&app, "/admin/notifications/no.such/sms", &admin, &[("body", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("id=\"admin-error\""), "shown above the list");
    let (status, _, _) =
        post_form(&app, "/admin/notifications/password_reset.code/email", &admin, &[("body", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the reset code goes by SMS alone");
    let Session(cookie) = &admin;
    let res = no_redirects()
        .post(app.url(form))
        .header("cookie", cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("body", "【马上办】{{tracking_no}}")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(api, Some(&admin)).await.1["customized"], json!(false));

    // Saved: back to its form; the API and the page say it differs; it is what the next asker is sent.
    let good = "【马上办】您的诉求已受理（{{tracking_no}}），查询码{{check_code}}：{{progress_link}}";
    let (status, location, _) = post_form(&app, form, &admin, &[("body", good)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/notifications?ok=template#asker.accepted-sms")
    );
    let (_, saved) = app.get(api, Some(&admin)).await;
    assert_eq!((saved["body"].as_str(), saved["customized"].as_bool()), (Some(good), Some(true)), "{saved}");
    assert_eq!((saved["differs_from_default"].as_bool(), &saved["updated_by"]), (Some(true), &json!("管理员 吴文杰")));
    let (_, html) = page(&app, "/admin/notifications?ok=template", &admin).await;
    assert!(html.contains("id=\"notice\">通知模板已保存"), "the notice");
    assert!(html.contains(&format!("共 {forms} 个通知模板，1 个与默认内容不同")));
    assert!(html.contains("id=\"reset-asker.accepted-sms\"") && html.contains(default["body"].as_str().unwrap()));
    let (no, code) = app.submit(enterprise_complaint()).await;
    let rows = app.store.list_outbox(None, 100).await.unwrap();
    let sms = rows.iter().find(|r| r.template_key.as_deref() == Some("asker.accepted") && r.subject.is_none());
    let expected =
        format!("【马上办】您的诉求已受理（{no}），查询码{code}：https://12345.example.gov.cn/track/{no}?code={code}");
    assert_eq!(sms.map(|r| r.body.as_str()), Some(expected.as_str()), "{rows:#?}");

    // 恢复默认: the built-in words again, on the page and through the API.
    let (status, location, _) = post_form(&app, &format!("{form}/reset"), &admin, &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/notifications?ok=template-reset#asker.accepted-sms")
    );
    let (_, reset) = app.get(api, Some(&admin)).await;
    assert_eq!((reset["body"].clone(), reset["customized"].as_bool()), (default["body"].clone(), Some(false)));
    let (_, html) = page(&app, "/admin/notifications", &admin).await;
    assert!(html.contains(&format!("共 {forms} 个通知模板，0 个与默认内容不同")) && !html.contains("id=\"reset-"));
    // The API's reset is the same step.
    app.call(reqwest::Method::PUT, api, Some(&admin), Some(json!({ "body": good }))).await;
    let (status, answer) = app.call(reqwest::Method::DELETE, api, Some(&admin), None).await;
    assert_eq!((status, answer["customized"].as_bool()), (StatusCode::OK, Some(false)), "{answer}");
    assert_eq!(answer["body"], default["body"]);
    let (status, _) = app.call(reqwest::Method::DELETE, api, Some(&app.login("operator").await), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// (deleted, body, saved by) of each version a template's history answers, newest first.
fn version_rows(listed: &Value) -> Vec<(bool, String, String)> {
    let field = |v: &Value, name: &str| v[name].as_str().unwrap().to_owned();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["deleted"] == json!(true), field(v, "body"), field(v, "saved_by")))
        .collect()
}

/// The unit.urged e-mail template, its subject and two bodies the version tests save.
const URGED_API: &str = "/api/v1/admin/notification-templates/unit.urged/email";
const URGED_SUBJECT: &str = "【马上办】催办 {{tracking_no}}";
const URGED_FIRST: &str = "第一版：{{unit_name}}，请抓紧办理「{{title}}」。";
const URGED_SECOND: &str = "第二版：{{unit_name}}，请于{{deadline}}前办理{{tracking_no}}。";

/// Saves the unit.urged e-mail template with `body` through the API; answers the template.
async fn put_urged(app: &App, admin: &Session, body: &str) -> Value {
    let put = json!({ "subject": URGED_SUBJECT, "body": body });
    let (status, saved) = app.call(reqwest::Method::PUT, URGED_API, Some(admin), Some(put)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    saved
}

#[tokio::test]
async fn every_save_and_reset_of_a_template_is_a_version_listed_by_the_api_and_on_its_page_and_restorable() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let api = URGED_API;
    let versions = format!("{api}/versions");
    let (status, none) = app.get(&versions, Some(&admin)).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])), "the built-in words: no version yet");
    let (_, html) = page(&app, "/admin/notifications", &admin).await;
    assert!(html.contains("id=\"versions-unit.urged-email\"") && html.contains("尚未修改过，使用内置内容"));

    // Two saves, a refused one (no version), and 恢复默认 (a deleted version).
    let (subject, first, second) = (URGED_SUBJECT, URGED_FIRST, URGED_SECOND);
    for body in [first, second] {
        put_urged(&app, &admin, body).await;
    }
    let bad = json!({ "subject": subject, "body": "{{phone}}" });
    assert_eq!(app.call(reqwest::Method::PUT, api, Some(&admin), Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.call(reqwest::Method::DELETE, api, Some(&admin), None).await.0, StatusCode::OK);
    assert_eq!(app.call(reqwest::Method::DELETE, api, Some(&admin), None).await.0, StatusCode::OK);
    let (status, listed) = app.get(&versions, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let who = "管理员 吴文杰".to_owned();
    assert_eq!(
        version_rows(&listed),
        vec![
            (true, String::new(), who.clone()),
            (false, second.into(), who.clone()),
            (false, first.into(), who.clone())
        ],
        "newest first; neither the refused save nor the second reset (nothing stored) is a version: {listed}"
    );
    assert_eq!((listed[1]["subject"].as_str(), listed[0]["subject"].as_str()), (Some(subject), None));
    assert!(listed.as_array().unwrap().iter().all(|v| v["saved_at"].as_str().is_some_and(|t| t.starts_with("20"))));
    let first_id = listed[2]["id"].as_i64().unwrap();

    // Unknown templates and channels, and callers without the permission.
    for path in [
        "/api/v1/admin/notification-templates/no.such/sms/versions",
        "/api/v1/admin/notification-templates/password_reset.code/email/versions",
    ] {
        let (status, err) = app.get(path, Some(&admin)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}");
    }
    assert_eq!(app.get(&versions, Some(&app.login("operator").await)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&versions, None).await.0, StatusCode::UNAUTHORIZED);

    // The page lists them (when, who, 已删除 or the words) with a form to restore an old version; the removal
    // has none.
    let (status, html) = page(&app, "/admin/notifications", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let at = html.find("id=\"versions-unit.urged-email\"").unwrap();
    let mine = &html[at..][..html[at..].find("<section").unwrap_or(html.len() - at)];
    assert_eq!(mine.matches("<tr id=\"version-").count(), 3, "{mine}");
    assert!(mine.contains("已删除") && mine.contains(&who) && mine.contains(first) && mine.contains(second), "{mine}");
    let restore = format!("id=\"restore-{first_id}\"");
    assert!(mine.contains(&restore), "{mine}");
    let deleted_id = listed[0]["id"].as_i64().unwrap();
    assert!(!mine.contains(&format!("id=\"restore-{deleted_id}\"")), "{mine}");
    let action = format!("/admin/notifications/unit.urged/email/versions/{first_id}/restore");
    let form = &mine[..mine.find(&restore).unwrap()];
    assert!(form.ends_with(&format!("action=\"{action}\" ")), "the form posts to the version's restore: {form}");

    // A removal has no words to restore, and a version the template has not is no page: refused by the form.
    let deleted = format!("/admin/notifications/unit.urged/email/versions/{deleted_id}/restore");
    let (status, _, html) = post_form(&app, &deleted, &admin, &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"error-unit.urged-email\">该版本是恢复默认内容的记录"), "beside its form: {html}");
    let other = format!("/admin/notifications/asker.accepted/email/versions/{first_id}/restore");
    let (status, _, html) = post_form(&app, &other, &admin, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("id=\"error-asker.accepted-email\">该通知模板没有这个版本"), "{html}");
    assert_eq!(version_rows(&app.get(&versions, Some(&admin)).await.1).len(), 3, "refusals add no version");

    // Restoring is saving its words again: in force, and itself the newest version.
    let (status, location, _) = post_form(&app, &action, &admin, &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/notifications?ok=template-restored#unit.urged-email")
    );
    let (_, in_force) = app.get(api, Some(&admin)).await;
    assert_eq!((in_force["body"].as_str(), in_force["customized"].as_bool()), (Some(first), Some(true)));
    let (_, listed) = app.get(&versions, Some(&admin)).await;
    assert_eq!(version_rows(&listed).len(), 4);
    assert_eq!(version_rows(&listed)[0], (false, first.to_owned(), who.clone()));
    let (_, html) = page(&app, "/admin/notifications", &admin).await;
    let at = html.find("id=\"versions-unit.urged-email\"").unwrap();
    let mine = &html[at..][..html[at..].find("<section").unwrap_or(html.len() - at)];
    assert_eq!(mine.matches("<tr id=\"version-").count(), 4);
    assert!(mine.contains("<span class=\"tag\">当前</span>"), "the newest save is in force");
}

#[tokio::test]
async fn a_template_version_is_restored_through_the_api_as_a_new_version() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let api = URGED_API;
    let versions = format!("{api}/versions");
    let (subject, first, second) = (URGED_SUBJECT, URGED_FIRST, URGED_SECOND);
    let mut saved = Vec::new();
    for body in [first, second] {
        saved.push(put_urged(&app, &admin, body).await);
    }
    let (_, listed) = app.get(&versions, Some(&admin)).await;
    assert_eq!(version_rows(&listed).len(), 2);
    let first_id = listed[1]["id"].as_i64().unwrap();
    let restore = |id: &str| format!("{api}/versions/{id}/restore");

    // Without the permission, or signed out: refused, nothing changed.
    let path = restore(&first_id.to_string());
    let operator = app.login("operator").await;
    let (status, err) = app.call(reqwest::Method::POST, &path, Some(&operator), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(app.call(reqwest::Method::POST, &path, None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(api, Some(&admin)).await.1["body"], second);

    // Restored: v1's words in force, answered as the template's GET and PUT answer, the newest version.
    let (status, restored) = app.call(reqwest::Method::POST, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    let (_, in_force) = app.get(api, Some(&admin)).await;
    assert_eq!(restored, in_force, "the same shape as the template's GET");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&restored), keys(&saved[0]), "and its PUT");
    assert_eq!(
        (in_force["body"].as_str(), in_force["subject"].as_str(), in_force["customized"].as_bool()),
        (Some(first), Some(subject), Some(true))
    );
    assert_eq!(in_force["updated_by"], "管理员 吴文杰");
    let (_, listed) = app.get(&versions, Some(&admin)).await;
    let who = "管理员 吴文杰".to_owned();
    assert_eq!(
        version_rows(&listed),
        vec![(false, first.into(), who.clone()), (false, second.into(), who.clone()), (false, first.into(), who)],
        "the list grew by the restore: {listed}"
    );
    assert!(listed[0]["id"].as_i64() > listed[1]["id"].as_i64());
    assert_eq!(listed[0]["subject"].as_str(), Some(subject));

    // Versions the template has not, unknown templates, and a removal (no words).
    let first_id = first_id.to_string();
    for path in [
        restore("999999"),
        restore("abc"),
        restore("-1"),
        format!("/api/v1/admin/notification-templates/asker.accepted/email/versions/{first_id}/restore"),
    ] {
        let (status, err) = app.call(reqwest::Method::POST, &path, Some(&admin), None).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("template_version_not_found")),
            "{path}: {err}"
        );
        assert_eq!(err["message"], "该通知模板没有这个版本");
    }
    for path in [
        format!("/api/v1/admin/notification-templates/no.such/email/versions/{first_id}/restore"),
        format!("/api/v1/admin/notification-templates/unit.urged/sms/versions/{first_id}/restore"),
    ] {
        let (status, err) = app.call(reqwest::Method::POST, &path, Some(&admin), None).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}: {err}");
    }
    assert_eq!(app.call(reqwest::Method::DELETE, api, Some(&admin), None).await.0, StatusCode::OK);
    let (_, listed) = app.get(&versions, Some(&admin)).await;
    assert_eq!(listed[0]["deleted"], true);
    let removal = restore(&listed[0]["id"].to_string());
    let (status, err) = app.call(reqwest::Method::POST, &removal, Some(&admin), None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_version_deleted")),
        "{err}"
    );
    assert!(err["message"].as_str().unwrap().contains("恢复默认内容"), "{err}");
    assert_eq!(app.get(&versions, Some(&admin)).await.1.as_array().unwrap().len(), 4, "refusals add no version");
    assert_eq!(app.get(api, Some(&admin)).await.1["customized"], false, "the built-in words stay in force");

    // After the removal an old version brings its words back.
    let (status, restored) = app.call(reqwest::Method::POST, &restore(&first_id), Some(&admin), None).await;
    assert_eq!((status, restored["body"].as_str()), (StatusCode::OK, Some(first)), "{restored}");
    assert_eq!(app.get(&versions, Some(&admin)).await.1.as_array().unwrap().len(), 5);
}
