//! Enterprise and resident accounts (issue 12 part 9): the portal form
//! prefilled from the account and the submission linked to it, 我的诉求 with
//! its pages, rating and asking to reopen the account's own requests without
//! a check code, and password reset by an SMS code through a real local SMS
//! gateway (the HTTP sink of the notification tests).

use super::*;

use std::sync::Arc;

use mashangban_app::notify::{self, NotifyConfig};
use mashangban_app::password_resets::ANSWER_FLOOR;
use mashangban_domain::org::Role;

use super::browser::{no_redirects, page, post_form};
use super::notify::{HttpSink, Shared, http_sink, sms_gateway};

/// A new enterprise or resident account with a phone on file (not signed in).
async fn account(app: &App, username: &str, role: Role, credit_code: Option<&str>, phone: Option<&str>) {
    app.store
        .create_user(
            NewUser {
                username: username.into(),
                display_name: format!("{username} 账号"),
                role,
                unit_id: None,
                credit_code: credit_code.map(str::to_owned),
                phone: phone.map(str::to_owned),
                password_hash: auth::hash_password(PASSWORD).unwrap(),
            },
            crate::tester(),
        )
        .await
        .unwrap();
}

fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start =
        html.find(&format!("<section class=\"queue-section\" id=\"{id}\"")).unwrap_or_else(|| panic!("section {id}"));
    let rest = &html[start..];
    &rest[..rest[1..].find("<section").map_or(rest.len(), |end| end + 1)]
}

/// Submits the portal's form as a signed-in person; answers (status, location, body).
async fn submit_page(app: &App, who: &Session, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let form = fields.iter().fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k.to_string(), v.to_string()));
    let res = no_redirects().post(app.url("/submit")).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status(), location, res.text().await.unwrap())
}

/// Dispatches, answers and closes a request as staff.
async fn answer_and_close(app: &App, no: &str) {
    let (dispatcher, handler) = (app.login("dispatcher").await, app.login("handler").await);
    app.act(no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(no, "sign", &handler, json!({})).await;
    app.act(no, "reply", &handler, json!({ "content": "经核实，已协调办理。" })).await;
    app.act(no, "close", &dispatcher, json!({})).await;
}

#[tokio::test]
async fn an_account_submits_on_the_portal_prefilled_and_finds_it_as_its_own() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (code, name) = mashangban_demo::demo_enterprise().unwrap();
    // The enterprise's record in the registry (一企一档) names its contact.
    let record = json!({ "credit_code": code.as_str(), "name": name, "town": "guzhen",
        "contact_name": "梁志华", "contact_phone": "13800138001" });
    assert_eq!(app.post("/api/v1/enterprises", Some(&admin), record).await.0, StatusCode::CREATED);
    account(&app, "huakai", Role::Enterprise, Some(code.as_str()), Some("13926000001")).await;
    let enterprise = app.login("huakai").await;

    let (status, html) = page(&app, "/submit", &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"account-banner\"") && html.contains("huakai 账号"), "says whose account");
    for value in [code.as_str(), name.as_str(), "梁志华", "13926000001"] {
        assert!(html.contains(&format!("value=\"{value}\"")), "prefilled with {value}");
    }
    let (_, profile) = app.get("/api/v1/my/profile", Some(&enterprise)).await;
    assert_eq!(profile["enterprise"]["credit_code"], code.as_str());
    assert_eq!((profile["contact_name"].as_str(), profile["phone"].as_str()), (Some("梁志华"), Some("13926000001")));
    // The portal's header knows the account: 我的诉求 instead of the staff 工作台, on every portal page.
    for path in ["/", "/submit", "/track"] {
        let (_, html) = page(&app, path, &enterprise).await;
        let header = html.split("</header>").next().unwrap();
        assert!(header.contains("href=\"/work?queue=mine\">我的诉求") && header.contains("huakai"), "{path}: {header}");
        assert!(!header.contains(">工作台<") && !header.contains("工作人员登录"), "{path}: {header}");
    }
    // Anonymous visitors get the empty form and the public header; staff have no asker profile.
    let anonymous = reqwest::get(app.url("/submit")).await.unwrap().text().await.unwrap();
    assert!(!anonymous.contains("account-banner") && !anonymous.contains("梁志华"));
    assert!(anonymous.contains("工作人员登录") && !anonymous.contains("我的诉求</a>"));
    let (status, _) = app.get("/api/v1/my/profile", Some(&app.login("dispatcher").await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The submission is the account's, in the enterprise's name whatever the radio said.
    let fields = [
        ("asker_type", "resident"),
        ("credit_code", "91350100M000100Y43"),
        ("enterprise_name", name.as_str()),
        ("contact_name", "梁志华"),
        ("phone", "13926000001"),
        ("kind", "complaint"),
        ("category", "biz.change"),
        ("title", "厂房消防验收排期过长"),
        ("content", "申请消防验收已一个月，仍未安排现场检查。"),
    ];
    let (status, location, body) = submit_page(&app, &enterprise, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let no = location.split('/').nth(2).unwrap().split('?').next().unwrap().to_owned();
    let detail = app.detail(&no, &enterprise).await;
    assert_eq!(detail["request"]["asker"]["credit_code"], code.as_str());
    assert_eq!(detail["request"]["channel"], "web");
    let (_, work) = page(&app, "/work", &enterprise).await;
    assert!(section(&work, "mine").contains(&no), "in 我的诉求");
    let history = app.detail(&no, &admin).await["history"].clone();
    assert_eq!(history[0]["actor_role"], "enterprise", "taken in as the account: {}", history[0]);
}

#[tokio::test]
async fn my_requests_come_in_pages_of_twenty_with_the_true_total() {
    let app = spawn().await;
    let resident = app.login_as_new_resident("li-weiming").await;
    for n in 0..45 {
        let mut body = resident_consultation();
        body["title"] = json!(format!("咨询养老保险转移（{n}）"));
        let (status, answer) = app.post("/api/v1/requests", Some(&resident), body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let (_, first) = page(&app, "/work", &resident).await;
    let mine = section(&first, "mine");
    assert!(mine.contains("共 45 件") && mine.contains("第 1 / 3 页"), "{mine}");
    assert_eq!(mine.matches("class=\"queue-item\"").count(), 20);
    assert!(mine.contains("rel=\"next\"") && mine.contains("page=2"), "next page linked");
    let (_, last) = page(&app, "/work?queue=mine&page=3", &resident).await;
    let mine = section(&last, "mine");
    assert!(mine.contains("第 3 / 3 页") && mine.contains("rel=\"prev\"") && !mine.contains("rel=\"next\""));
    assert_eq!(mine.matches("class=\"queue-item\"").count(), 5);
}

impl App {
    /// A new resident account with a phone, signed in.
    async fn login_as_new_resident(&self, username: &str) -> Session {
        account(self, username, Role::Resident, None, Some("13912345678")).await;
        self.login(username).await
    }
}

#[tokio::test]
async fn an_account_rates_and_asks_to_reopen_only_its_own_requests() {
    let app = spawn().await;
    let enterprise = app.login("enterprise").await;
    let resident = app.login_as_new_resident("li-weiming").await;
    let dispatcher = app.login("dispatcher").await;
    let (code, name) = mashangban_demo::demo_enterprise().unwrap();
    let mut own = enterprise_complaint();
    own["asker"] = json!({ "type": "enterprise", "credit_code": code.as_str(), "name": name });
    let (status, answer) = app.post("/api/v1/requests", Some(&enterprise), own.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let no = answer["tracking_no"].as_str().unwrap().to_owned();
    // The same enterprise's request sent anonymously: in its list, but not the account's to rate.
    let (theirs, _) = app.submit(own).await;
    answer_and_close(&app, &no).await;
    answer_and_close(&app, &theirs).await;

    let rate = |no: &str| format!("/api/v1/my/requests/{no}/rate");
    let unhappy = json!({ "rating": "dissatisfied", "resolved": false, "comment": "仍未解决" });
    let (status, err) = app.post(&rate(&no), Some(&dispatcher), unhappy.clone()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "staff refused");
    assert_eq!(app.post(&rate(&no), None, unhappy.clone()).await.0, StatusCode::UNAUTHORIZED);
    for (who, which) in [(&enterprise, &theirs), (&resident, &no)] {
        let (status, err) = app.post(&rate(which), Some(who), unhappy.clone()).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    }
    // Nor through the generic action, nor offered on its page.
    let (status, _) =
        app.post(&format!("/api/v1/requests/{theirs}/follow-up"), Some(&enterprise), unhappy.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = page(&app, &format!("/work/{theirs}"), &enterprise).await;
    assert!(!html.contains("id=\"do-follow-up\""), "no rating form on another's request");
    let (_, html) = page(&app, &format!("/work/{no}"), &enterprise).await;
    assert!(html.contains("评价办理结果") && html.contains("id=\"do-follow-up\""));

    let (status, view) = app.post(&rate(&no), Some(&enterprise), unhappy.clone()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!((view["state"].as_str(), view["rating_label"].as_str()), (Some("followed_up"), Some("不满意")));
    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    let rated = history.last().unwrap();
    assert_eq!((rated["kind"].as_str(), rated["actor_role"].as_str()), (Some("followed_up"), Some("enterprise")));
    assert!(rated.to_string().contains("\"account\""), "the rating's source is the account: {rated}");

    // 申请重办 from the account's page, through the same rule as the public one.
    let reopen = format!("/api/v1/my/requests/{no}/reopen-request");
    let (status, err) = app.post(&reopen, Some(&enterprise), json!({ "reason": " " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    let (_, html) = page(&app, &format!("/work/{no}"), &enterprise).await;
    assert!(html.contains("id=\"do-request-reopen\""), "the page offers it");
    let (status, location, _) =
        post_form(&app, &format!("/work/{no}/request-reopen"), &enterprise, &[("reason", "企业仍无法办理变更")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/work/{no}").as_str()));
    let (status, err) = app.post(&reopen, Some(&enterprise), json!({ "reason": "再次申请" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("reopen_already_requested")));
    let (_, html) = page(&app, &format!("/work/{no}"), &enterprise).await;
    assert!(!html.contains("id=\"do-request-reopen\""), "not offered twice");
    let history = app.detail(&no, &dispatcher).await["history"].as_array().unwrap().clone();
    let asked = history.last().unwrap();
    assert_eq!((asked["kind"].as_str(), asked["actor_role"].as_str()), (Some("reopen_requested"), Some("enterprise")));
}

/// A server with an SMS gateway (the HTTP sink), its notifier, and the clock at a fixed hour.
async fn with_sms() -> (App, Shared<HttpSink>, Arc<notify::Notifier>) {
    let app = spawn_with(WebConfig {
        sms_gateway: true,
        public_intakes_per_hour: 10_000,
        lookup_failures_per_hour: 10_000,
        ..WebConfig::default()
    })
    .await;
    let (http, sink) = http_sink(0).await;
    let config = NotifyConfig { sms: Some(sms_gateway(&http)), ..NotifyConfig::default() };
    app.set_time("2026-12-04T10:00:00+08:00");
    (app, sink, Arc::new(notify::Notifier::new(config).unwrap()))
}

/// Runs a delivery pass and answers the codes of the SMS sent so far, with their phones.
async fn codes_sent(app: &App, notifier: &Arc<notify::Notifier>, sink: &Shared<HttpSink>) -> Vec<(String, String)> {
    notify::deliver_due(&app.state, notifier).await.unwrap();
    let accepted = sink.lock().unwrap().accepted.clone();
    accepted
        .iter()
        .map(|r| {
            let sms: Value = serde_json::from_str(&r.body).unwrap();
            let text = sms["content"].as_str().unwrap();
            let code: String = text.split("验证码为").nth(1).unwrap().chars().take(6).collect();
            assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
            (sms["mobile"].as_str().unwrap().to_owned(), code)
        })
        .collect()
}

async fn sign_in(app: &App, username: &str, password: &str) -> StatusCode {
    app.post("/api/v1/auth/login", None, json!({ "username": username, "password": password })).await.0
}

#[tokio::test]
async fn a_password_is_reset_by_an_sms_code_through_the_gateway() {
    let (app, sink, notifier) = with_sms().await;
    account(&app, "li-weiming", Role::Resident, None, Some("13912340001")).await;
    account(&app, "no-phone", Role::Resident, None, None).await;
    let old_session = app.login("li-weiming").await;
    let send = |account: &str| json!({ "account": account });

    // The answer is the same for an account with a phone, one without, and none at all.
    let (status, sent) = app.post("/api/v1/auth/password-reset", None, send("li-weiming")).await;
    assert_eq!(status, StatusCode::OK);
    for other in ["no-phone", "nobody-at-all"] {
        assert_eq!(app.post("/api/v1/auth/password-reset", None, send(other)).await, (StatusCode::OK, sent.clone()));
    }
    let codes = codes_sent(&app, &notifier, &sink).await;
    assert_eq!(codes.len(), 1, "one SMS, to the account with a phone");
    let (phone, first) = codes[0].clone();
    assert_eq!(phone, "13912340001");
    // Administrators see the delivery, not the code.
    let (_, outbox) = app.get("/api/v1/admin/outbox", Some(&app.login("admin").await)).await;
    let row = outbox.as_array().unwrap().iter().find(|r| r["template_key"] == "password_reset.code").unwrap();
    assert!(!row["body"].as_str().unwrap().contains(&first) && row["status"] == "sent", "{row}");
    // Asking again within a minute sends nothing new.
    app.post("/api/v1/auth/password-reset", None, send("li-weiming")).await;
    assert_eq!(codes_sent(&app, &notifier, &sink).await.len(), 1);

    // Wrong codes are refused; the fifth spends the code, so even the right one is refused after.
    let confirm = |code: &str, password: &str| json!({ "account": "li-weiming", "code": code, "password": password });
    let wrong = if first == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (status, err) =
            app.post("/api/v1/auth/password-reset/confirm", None, confirm(wrong, "new-password-1")).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reset_code_invalid")));
    }
    let (status, _) = app.post("/api/v1/auth/password-reset/confirm", None, confirm(&first, "new-password-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "out of attempts");

    // A new code, asked for by the phone on file, expires after ten minutes.
    app.set_time("2026-12-04T10:02:00+08:00");
    app.post("/api/v1/auth/password-reset", None, send("13912340001")).await;
    let second = codes_sent(&app, &notifier, &sink).await[1].1.clone();
    app.set_time("2026-12-04T10:12:01+08:00");
    let (status, _) = app.post("/api/v1/auth/password-reset/confirm", None, confirm(&second, "new-password-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "expired");

    // A third code sets the new password and ends the account's sessions.
    app.post("/api/v1/auth/password-reset", None, send("li-weiming")).await;
    let third = codes_sent(&app, &notifier, &sink).await[2].1.clone();
    let (status, err) = app.post("/api/v1/auth/password-reset/confirm", None, confirm(&third, "short")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")));
    assert_eq!(app.get("/api/v1/auth/me", Some(&old_session)).await.0, StatusCode::OK);
    let (status, body) = app.post("/api/v1/auth/password-reset/confirm", None, confirm(&third, "new-password-1")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(app.get("/api/v1/auth/me", Some(&old_session)).await.0, StatusCode::UNAUTHORIZED, "sessions ended");
    assert_eq!(sign_in(&app, "li-weiming", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&app, "li-weiming", "new-password-1").await, StatusCode::OK);
    let (status, _) = app.post("/api/v1/auth/password-reset/confirm", None, confirm(&third, "new-password-2")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a code works once");

    // Requests for codes are limited per name typed (whether or not it exists).
    for _ in 0..4 {
        assert_eq!(app.post("/api/v1/auth/password-reset", None, send("nobody-at-all")).await.0, StatusCode::OK);
    }
    let (status, err) = app.post("/api/v1/auth/password-reset", None, send("nobody-at-all")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
}

#[tokio::test]
async fn the_reset_sms_is_worded_by_the_template_in_force_and_must_carry_the_code() {
    let (app, sink, notifier) = with_sms().await;
    account(&app, "li-weiming", Role::Resident, None, Some("13912340001")).await;
    let admin = app.login("admin").await;
    let path = "/api/v1/admin/notification-templates/password_reset.code/sms";
    let (status, listed) = app.get(path, Some(&admin)).await;
    assert_eq!((status, listed["customized"].as_bool()), (StatusCode::OK, Some(false)), "{listed}");
    assert_eq!(listed["variables"], json!(["code", "minutes"]));
    assert!(listed["body"].as_str().unwrap().starts_with("【马上办】您的密码重置验证码为{{code}}"), "{listed}");

    // Refused: no code (nobody could reset), or another notice's placeholder; nothing is stored.
    for (body, says) in [
        ("【马上办】请重新获取验证码，{{minutes}}分钟内有效", "{{code}}"),
        ("【马上办】验证码为{{code}}，编号{{tracking_no}}", "{{tracking_no}}"),
    ] {
        let (status, err) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(json!({ "body": body }))).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template")));
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
    }
    assert_eq!(app.get(path, Some(&admin)).await.1["customized"], json!(false));

    let edited = "【马上办】找回密码验证码为{{code}}，{{minutes}}分钟内有效，请勿告诉任何人。";
    let (status, saved) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(json!({ "body": edited }))).await;
    assert_eq!((status, &saved["customized"]), (StatusCode::OK, &json!(true)), "{saved}");

    // The gateway is sent the edited words with the code; the outbox view still hides them.
    app.post("/api/v1/auth/password-reset", None, json!({ "account": "li-weiming" })).await;
    let codes = codes_sent(&app, &notifier, &sink).await;
    assert_eq!(codes.len(), 1);
    let sent: Value = serde_json::from_str(&sink.lock().unwrap().accepted[0].body).unwrap();
    let code = &codes[0].1;
    assert_eq!(sent["content"], format!("【马上办】找回密码验证码为{code}，10分钟内有效，请勿告诉任何人。"));
    let (_, outbox) = app.get("/api/v1/admin/outbox", Some(&admin)).await;
    let bodies: Vec<&str> = outbox.as_array().unwrap().iter().map(|r| r["body"].as_str().unwrap()).collect();
    assert!(bodies.iter().all(|b| !b.contains(code.as_str())), "{bodies:?}");
    let confirm = json!({ "account": "li-weiming", "code": code, "password": "new-password-1" });
    assert_eq!(app.post("/api/v1/auth/password-reset/confirm", None, confirm).await.0, StatusCode::NO_CONTENT);
}

/// Accounts' phones and direct-line askers are stored encrypted (docs/personal-data.md; the raw columns are
/// checked in the store's conformance tests): signing in, a reset asked for by the phone on file (found by its
/// keyed hash) and the asker's look-up of a direct-line item still work.
#[tokio::test]
async fn sign_in_reset_by_phone_and_the_askers_look_up_work_on_encrypted_personal_data() {
    let (app, sink, notifier) = with_sms().await;
    account(&app, "chen-jiaxin", Role::Resident, None, Some("13912340009")).await;
    assert_eq!(sign_in(&app, "chen-jiaxin", PASSWORD).await, StatusCode::OK);
    let user = app.store.find_user("chen-jiaxin").await.unwrap().unwrap();
    assert_eq!(user.phone.as_deref(), Some("13912340009"));

    app.post("/api/v1/auth/password-reset", None, json!({ "account": "13912340009" })).await;
    let codes = codes_sent(&app, &notifier, &sink).await;
    assert_eq!(codes.len(), 1, "the account was found by its phone");
    let (phone, code) = codes[0].clone();
    assert_eq!(phone, "13912340009");
    let confirm = json!({ "account": "chen-jiaxin", "code": code, "password": "new-password-1" });
    let (status, body) = app.post("/api/v1/auth/password-reset/confirm", None, confirm).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(sign_in(&app, "chen-jiaxin", "new-password-1").await, StatusCode::OK);

    let letter = json!({
        "name": "张建国", "phone": "13800138011", "addressee": "mayor", "title": "规划许可迟迟未批",
        "content": "我厂扩建项目的规划许可已申请三个月仍未批复。", "publish_consent": false
    });
    let (status, taken) = app.post("/api/v1/public/direct-line", None, letter).await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    let (no, check) = (taken["tracking_no"].as_str().unwrap(), taken["check_code"].as_str().unwrap());
    let (status, progress) = app.get(&format!("/api/v1/public/direct-line/{no}?code={check}"), None).await;
    assert_eq!((status, progress["tracking_no"].as_str()), (StatusCode::OK, Some(no)), "{progress}");
    let office = app.login("leaders-office").await;
    let (_, items) = app.get("/api/v1/direct-line", Some(&office)).await;
    let item = items.as_array().unwrap().iter().find(|i| i["tracking_no"] == no).unwrap();
    assert_eq!((item["name"].as_str(), item["phone"].as_str()), (Some("张建国"), Some("13800138011")), "{item}");
}

#[tokio::test]
async fn a_phone_several_accounts_share_gets_their_names_not_a_code_and_every_answer_takes_as_long() {
    let (app, sink, notifier) = with_sms().await;
    account(&app, "zhang-shop", Role::Resident, None, Some("13912340002")).await;
    account(&app, "zhang-home", Role::Resident, None, Some("13912340002")).await;
    let send = |account: &str| json!({ "account": account });
    // The shared phone twice within the minute, nobody, and one of the accounts by name.
    for account in ["13912340002", "13912340002", "nobody-at-all", "zhang-shop"] {
        let started = std::time::Instant::now();
        let (status, body) = app.post("/api/v1/auth/password-reset", None, send(account)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(started.elapsed() >= ANSWER_FLOOR, "{account}: answered before the floor");
    }
    notify::deliver_due(&app.state, &notifier).await.unwrap();
    let sent: Vec<(String, String)> = sink
        .lock()
        .unwrap()
        .accepted
        .iter()
        .map(|r| {
            let sms: Value = serde_json::from_str(&r.body).unwrap();
            (sms["mobile"].as_str().unwrap().to_owned(), sms["content"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "one SMS naming the accounts (the second ask within the minute dropped), one code: {sent:?}"
    );
    let named = sent.iter().find(|(_, text)| text.contains("2个账号")).expect("the shared phone's SMS");
    assert_eq!(named.0, "13912340002");
    assert!(
        named.1.contains("zhang-shop") && named.1.contains("zhang-home") && !named.1.contains("验证码为"),
        "{named:?}"
    );
    let code: String = sent.iter().find_map(|(_, t)| t.split("验证码为").nth(1)).unwrap().chars().take(6).collect();
    // A code is for one account: typed with the shared phone it is refused, with the username it works.
    let confirm = |account: &str| json!({ "account": account, "code": code, "password": "new-password-1" });
    let (status, err) = app.post("/api/v1/auth/password-reset/confirm", None, confirm("13912340002")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reset_code_invalid")));
    let (status, body) = app.post("/api/v1/auth/password-reset/confirm", None, confirm("zhang-shop")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(sign_in(&app, "zhang-shop", "new-password-1").await, StatusCode::OK);
    assert_eq!(sign_in(&app, "zhang-home", PASSWORD).await, StatusCode::OK, "the other account untouched");
}

#[tokio::test]
async fn the_shared_phone_sms_is_worded_by_the_template_in_force_and_must_name_the_accounts() {
    let (app, sink, notifier) = with_sms().await;
    account(&app, "wang-shop", Role::Resident, None, Some("13912340003")).await;
    account(&app, "wang-home", Role::Resident, None, Some("13912340003")).await;
    let admin = app.login("admin").await;
    let path = "/api/v1/admin/notification-templates/password_reset.shared_phone/sms";
    let (status, listed) = app.get(path, Some(&admin)).await;
    assert_eq!((status, listed["customized"].as_bool()), (StatusCode::OK, Some(false)), "{listed}");
    assert_eq!((&listed["variables"], &listed["required"]), (&json!(["accounts", "count"]), &json!(["accounts"])));

    // Refused without the accounts (nobody would know which username to type); nothing is stored.
    let without = json!({ "body": "【马上办】本手机号登记了{{count}}个账号，请输入用户名。" });
    let (status, err) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(without)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template")));
    assert!(err["message"].as_str().unwrap().contains("{{accounts}}"), "{err}");
    assert_eq!(app.get(path, Some(&admin)).await.1["customized"], json!(false));

    let edited = "【马上办】此手机号对应账号：{{accounts}}（共{{count}}个），请用其中一个用户名找回密码。";
    let (status, saved) = app.call(reqwest::Method::PUT, path, Some(&admin), Some(json!({ "body": edited }))).await;
    assert_eq!((status, &saved["customized"]), (StatusCode::OK, &json!(true)), "{saved}");

    // The gateway is sent the edited words with the accounts; the outbox view hides them.
    app.post("/api/v1/auth/password-reset", None, json!({ "account": "13912340003" })).await;
    notify::deliver_due(&app.state, &notifier).await.unwrap();
    let accepted = sink.lock().unwrap().accepted.clone();
    assert_eq!(accepted.len(), 1);
    let sent: Value = serde_json::from_str(&accepted[0].body).unwrap();
    assert_eq!(sent["mobile"], "13912340003");
    assert_eq!(
        sent["content"],
        "【马上办】此手机号对应账号：wang-shop、wang-home（共2个），请用其中一个用户名找回密码。"
    );
    let (_, outbox) = app.get("/api/v1/admin/outbox", Some(&admin)).await;
    let row = outbox.as_array().unwrap().iter().find(|r| r["template_key"] == "password_reset.shared_phone");
    let body = row.map(|r| r["body"].as_str().unwrap());
    assert!(body.is_some_and(|b| !b.contains("wang-shop")), "{outbox}");
}

#[tokio::test]
async fn the_reset_pages_walk_through_both_steps_and_say_when_sms_is_not_configured() {
    let plain = spawn().await;
    let html = reqwest::get(plain.url("/password-reset")).await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"reset-unavailable\"") && html.contains("未配置短信网关"));
    let login = reqwest::get(plain.url("/login")).await.unwrap().text().await.unwrap();
    assert!(login.contains("href=\"/password-reset\""), "忘记密码 on the sign-in page");
    let (status, err) = plain.post("/api/v1/auth/password-reset", None, json!({ "account": "operator" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("sms_reset_unavailable")));

    // Staff may reset too when their phone is on file.
    let (app, sink, notifier) = with_sms().await;
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "scjgj").unwrap();
    app.store
        .create_user(
            NewUser {
                username: "scjgj-clerk".into(),
                display_name: "市监承办人".into(),
                role: Role::Handler,
                unit_id: Some(unit.id),
                credit_code: None,
                phone: Some("13712340002".into()),
                password_hash: auth::hash_password(PASSWORD).unwrap(),
            },
            crate::tester(),
        )
        .await
        .unwrap();
    let http = no_redirects();
    let res = http.post(app.url("/password-reset")).form(&[("account", "scjgj-clerk")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"reset-code-form\"") && html.contains("value=\"scjgj-clerk\""), "the code step");
    let code = codes_sent(&app, &notifier, &sink).await[0].1.clone();
    let confirm = |code: String, again: &'static str| {
        vec![
            ("account", "scjgj-clerk".to_owned()),
            ("code", code),
            ("password", "clerk-password-9".to_owned()),
            ("password_again", again.to_owned()),
        ]
    };
    let res = http.post(app.url("/password-reset/confirm")).form(&confirm(code.clone(), "typo")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("两次输入的新密码不一致"));
    let res =
        http.post(app.url("/password-reset/confirm")).form(&confirm(code, "clerk-password-9")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("id=\"reset-done\""));
    assert_eq!(sign_in(&app, "scjgj-clerk", "clerk-password-9").await, StatusCode::OK);
}

#[tokio::test]
async fn a_person_sets_their_own_phone_email_and_password_with_the_current_password() {
    let app = spawn().await;
    let handler = app.login("handler").await;
    let contact = |body: Value| app.call(reqwest::Method::PUT, "/api/v1/auth/me/contact", Some(&handler), Some(body));
    let (status, me) = app.get("/api/v1/auth/me/account", Some(&handler)).await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("handler")), "{me}");

    // The current password is required, and bad values are refused; nothing changes.
    let (status, err) = contact(json!({ "current_password": "not-my-password", "phone": "13912340003" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password_wrong")));
    let (status, err) = contact(json!({ "current_password": PASSWORD, "phone": "1391234" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_phone")));
    let (status, err) = contact(json!({ "current_password": PASSWORD, "email": "not an address" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
    assert_eq!(app.get("/api/v1/auth/me/account", Some(&handler)).await.1, me, "unchanged");

    // Set both: the inbox's SMS and e-mail copies now have somewhere to go.
    let (status, me) =
        contact(json!({ "current_password": PASSWORD, "phone": "13912340003", "email": "handler@example.gov.cn" }))
            .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["phone"].as_str(), me["email"].as_str()), (Some("139****0003"), Some("handler@example.gov.cn")));
    let (_, preferences) = app.get("/api/v1/inbox/preferences", Some(&handler)).await;
    assert_eq!((preferences["phone"].as_str(), preferences["has_email"].as_bool()), (Some("139****0003"), Some(true)));
    // Left out keeps, empty clears.
    let (_, me) = contact(json!({ "current_password": PASSWORD, "email": "" })).await;
    assert_eq!((me["phone"].as_str(), me["email"].as_str()), (Some("139****0003"), None), "{me}");
    let (status, html) = page(&app, "/account", &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("139****0003") && !html.contains("13912340003"), "masked on the page");

    // A new password: the current one is checked, every session ends, the new one signs in.
    let change = |current: &str, new: &str| {
        app.post(
            "/api/v1/auth/me/password",
            Some(&handler),
            json!({ "current_password": current, "new_password": new }),
        )
    };
    assert_eq!(change(PASSWORD, "short").await.1["code"], "weak_password");
    assert_eq!(change("not-my-password", "handler-new-pass").await.1["code"], "current_password_wrong");
    assert_eq!(change(PASSWORD, "handler-new-pass").await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/auth/me", Some(&handler)).await.0, StatusCode::UNAUTHORIZED, "sessions ended");
    assert_eq!(sign_in(&app, "handler", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&app, "handler", "handler-new-pass").await, StatusCode::OK);
}
