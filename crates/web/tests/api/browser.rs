//! The cross-role story in a real browser: `e2e/story.mjs` (playwright-core
//! driving Debian's Chromium) against a server of this harness. Skipped only
//! outside CI when `node` or `/usr/bin/chromium` is missing; `.ci/run`
//! installs both and runs `npm ci`.

use super::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn node_available() -> bool {
    std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[tokio::test]
async fn the_portal_story_with_live_progress_in_a_browser() {
    run_browser_script("e2e/story.mjs").await;
}

#[tokio::test]
async fn the_admin_pages_and_a_standard_answer_in_the_console_in_a_browser() {
    run_browser_script("e2e/admin.mjs").await;
}

#[tokio::test]
async fn the_leader_dashboard_and_the_supervisor_page_in_a_browser() {
    run_browser_script("e2e/dashboard.mjs").await;
}

#[tokio::test]
async fn the_statistics_panel_reads_like_the_report_in_a_browser() {
    run_browser_script("e2e/statistics.mjs").await;
}

#[tokio::test]
async fn the_handlers_unread_count_goes_up_live_when_work_is_dispatched_in_a_browser() {
    run_browser_script("e2e/inbox.mjs").await;
}

#[tokio::test]
async fn a_direct_line_item_goes_office_leader_units_review_asker_with_the_leaders_page_live_in_a_browser() {
    run_browser_script("e2e/direct_line.mjs").await;
}

#[tokio::test]
async fn a_sub_dispatch_to_a_section_with_review_in_a_browser() {
    run_browser_script_with("e2e/inside_unit.mjs", &["review"]).await;
}

#[tokio::test]
async fn a_cosign_with_two_co_units_in_a_browser() {
    run_browser_script_with("e2e/inside_unit.mjs", &["cosign"]).await;
}

#[tokio::test]
async fn the_water_command_centre_story_targets_tasks_an_imported_outlet_ledger_and_a_linked_request_in_a_browser() {
    run_browser_script("e2e/water.mjs").await;
}

#[tokio::test]
async fn a_project_goes_from_land_transaction_to_construction_permit_with_the_live_wall_in_a_browser() {
    run_browser_script("e2e/approvals.mjs").await;
}

#[tokio::test]
async fn an_enterprise_account_submits_prefilled_then_rates_and_asks_for_reopening_in_a_browser() {
    run_browser_script("e2e/accounts.mjs").await;
}

#[tokio::test]
async fn an_account_resets_its_password_by_an_sms_code_from_the_gateway_in_a_browser() {
    run_browser(script("e2e/password_reset.mjs").with_sms()).await;
}

#[tokio::test]
async fn a_lookup_storm_from_one_address_leaves_other_lookups_and_new_answers_working_in_a_browser() {
    run_browser(script("e2e/lookup_storm.mjs").with_lookup_limits()).await;
}

#[tokio::test]
async fn a_provisional_deadline_is_recounted_when_the_year_is_imported_in_a_browser() {
    // Tue 2026-12-15: a complaint's 15 working days reach into 2027, whose notice is not loaded.
    run_browser(script("e2e/year_end.mjs").at("2026-12-15T10:00:00+08:00")).await;
}

async fn run_browser_script(script: &'static str) {
    run_browser_script_with(script, &[]).await;
}

/// A browser script to run, with its arguments, on a server with or without an SMS gateway, at the real
/// time or a set one, with the portal's look-up limits lifted or as configured by default.
struct Script {
    path: &'static str,
    args: &'static [&'static str],
    sms: bool,
    at: Option<&'static str>,
    lookup_limits: bool,
}

fn script(path: &'static str) -> Script {
    Script { path, args: &[], sms: false, at: None, lookup_limits: false }
}

impl Script {
    /// The server sends SMS through the HTTP sink of the notification tests, by its delivery worker
    /// (polling every second); the script finds the sink's `GET /sms` (what it was sent) in `E2E_SMS_SINK`.
    fn with_sms(self) -> Self {
        Self { sms: true, ..self }
    }

    /// The server's clock stands at this RFC 3339 instant for the whole script.
    fn at(self, instant: &'static str) -> Self {
        Self { at: Some(instant), ..self }
    }

    /// Wrong check codes are limited as a deployment's defaults limit them (other scripts lift the limit,
    /// since all their browsers share one address); the script finds the per-number limit in
    /// `E2E_LOOKUP_LIMIT`.
    fn with_lookup_limits(self) -> Self {
        Self { lookup_limits: true, ..self }
    }
}

async fn run_browser_script_with(script: &'static str, args: &'static [&'static str]) {
    run_browser(Script { args, ..self::script(script) }).await;
}

/// Runs a playwright-core script from `e2e/` against a fresh server; the
/// script gets the base URL as its argument and the staff password in
/// `E2E_PASSWORD` (then its args), and fails on any console error or failed request.
async fn run_browser(script: Script) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let missing: Vec<&str> = [
        ("node", node_available()),
        (CHROMIUM, std::path::Path::new(CHROMIUM).exists()),
        ("node_modules/playwright-core", root.join("node_modules/playwright-core").exists()),
    ]
    .into_iter()
    .filter_map(|(tool, present)| (!present).then_some(tool))
    .collect();
    let Script { path, args, sms, at, lookup_limits } = script;
    if !missing.is_empty() {
        assert!(!in_ci(), "CI must have {missing:?} for the browser tests (see scripts/test.sh)");
        eprintln!("SKIPPED {path}: {missing:?} missing (run ./scripts/test.sh, which installs them)");
        return;
    }
    let defaults = WebConfig::default();
    let lookup_failures_per_hour = if lookup_limits { defaults.lookup_failures_per_hour } else { 10_000 };
    let limits = WebConfig { public_intakes_per_hour: 10_000, lookup_failures_per_hour, ..defaults };
    let app = spawn_with(WebConfig { sms_gateway: sms, ..limits }).await;
    if let Some(instant) = at {
        app.set_time(instant);
    }
    let mut env =
        vec![("E2E_PASSWORD", PASSWORD.to_owned()), ("E2E_LOOKUP_LIMIT", lookup_failures_per_hour.to_string())];
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = if sms {
        let (http, _sink) = super::notify::http_sink(0).await;
        env.push(("E2E_SMS_SINK", format!("{http}/sms")));
        let config = mashangban_app::notify::NotifyConfig {
            sms: Some(super::notify::sms_gateway(&http)),
            poll_seconds: 1,
            ..mashangban_app::notify::NotifyConfig::default()
        };
        Some(mashangban_app::notify::start(app.state.clone(), config, stopped).await.unwrap())
    } else {
        None
    };
    let base = app.base.clone();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node").arg(path).arg(&base).args(args).envs(env).current_dir(&root).status()
    });
    let status = run.await.unwrap().expect("node runs");
    let _ = stop.send(true);
    if let Some(worker) = worker {
        worker.await.unwrap();
    }
    assert!(status.success(), "{path} failed ({status}); its output is above");
}

/// Reads the stream until the next `progress` event; answers its id and data.
async fn next_progress(res: &mut reqwest::Response) -> (i64, Value) {
    let event = next_event(res, "progress").await;
    (event.id.parse().unwrap(), event.json())
}

#[tokio::test]
async fn the_progress_stream_sends_each_change_at_once_and_resumes_by_version() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (no, code) = app.submit(enterprise_complaint()).await;
    let url = app.url(&format!("/track/{no}/events?code={code}"));

    let (status, _) = app.get(&format!("/track/{no}/events?code=00000000"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a wrong check code is refused like the API");

    let mut stream = app.http.get(&url).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(stream.headers().get("content-encoding").is_none(), "never compressed");
    let (first, view) = next_progress(&mut stream).await;
    assert_eq!(view["state"], "received");
    assert_eq!(view["contact_phone"], "138****8000", "the masked public view");

    let started = std::time::Instant::now();
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    let (second, view) =
        tokio::time::timeout(std::time::Duration::from_secs(5), next_progress(&mut stream)).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "sent at once: {:?}", started.elapsed());
    assert!(second > first);
    assert_eq!(view["state"], "dispatched");
    assert_eq!(view["lead_unit"], "市市场监管局");

    // A reconnect that has seen the latest version waits; an older one gets it at once.
    let mut resumed = app.http.get(&url).header("last-event-id", second.to_string()).send().await.unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), next_progress(&mut resumed)).await;
    assert!(quiet.is_err(), "nothing new to send");
    let mut behind = app.http.get(&url).header("last-event-id", first.to_string()).send().await.unwrap();
    let (id, _) = tokio::time::timeout(std::time::Duration::from_secs(3), next_progress(&mut behind)).await.unwrap();
    assert_eq!(id, second);
}

pub(super) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn staff_pages_keep_the_apis_scope_sign_in_and_same_origin_checks() {
    let app = spawn().await;
    let http = no_redirects();
    let res = http.get(app.url("/work")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");

    // The handler's unit (market regulator) does not see a pension question in another town.
    let (no, _) = app.submit(resident_consultation()).await;
    let Session(handler) = app.login("handler").await;
    let res = http.get(app.url(&format!("/work/{no}"))).header("cookie", &handler).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http
        .post(app.url(&format!("/work/{no}/sign")))
        .header("cookie", &handler)
        .form(&[("comment", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let Session(dispatcher) = app.login("dispatcher").await;
    let page = http.get(app.url(&format!("/work/{no}"))).header("cookie", &dispatcher).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text().await.unwrap().contains("13912345678"), "the dispatcher reads personal data");
    let cross_site = http
        .post(app.url(&format!("/work/{no}/dispatch")))
        .header("cookie", &dispatcher)
        .header("sec-fetch-site", "cross-site")
        .form(&[("lead_unit", "rsj")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN, "the API's CSRF check applies");
    assert_eq!(app.detail(&no, &Session(dispatcher)).await["request"]["state"], "received");
}

#[tokio::test]
async fn the_portal_form_shows_each_message_next_to_its_field_and_keeps_the_values() {
    let app = spawn().await;
    let form = reqwest::multipart::Form::new()
        .text("asker_type", "enterprise")
        .text("credit_code", "91350100M000100Y44")
        .text("enterprise_name", "中山市华凯灯饰有限公司")
        .text("contact_name", "陈嘉欣")
        .text("phone", "12345")
        .text("kind", "complaint")
        .text("category", "biz.change")
        .text("title", "营业执照<变更>迟迟未办结")
        .text("content", "");
    let res = no_redirects().post(app.url("/submit")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for field in ["credit_code-error", "phone-error", "content-error"] {
        assert!(html.contains(&format!("id=\"{field}\"")), "{field} shown");
    }
    assert!(!html.contains("id=\"title-error\""));
    assert!(
        html.contains("营业执照&#60;变更&#62;迟迟未办结") || html.contains("营业执照&lt;变更&gt;迟迟未办结"),
        "kept, escaped"
    );
    let (status, list) = app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing taken in");

    let css = reqwest::get(app.url("/assets/css/app.css")).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
}

/// Posts a page form as a signed-in person; answers (status, location, body).
pub(super) async fn post_form(
    app: &App,
    path: &str,
    Session(cookie): &Session,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let res = no_redirects().post(app.url(path)).header("cookie", cookie).form(form).send().await.unwrap();
    let status = res.status();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

/// Opens a page as a signed-in person; answers (status, body).
pub(super) async fn page(app: &App, path: &str, Session(cookie): &Session) -> (StatusCode, String) {
    let res = no_redirects().get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The part of the work page in the section with this id.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start =
        html.find(&format!("<section class=\"queue-section\" id=\"{id}\"")).unwrap_or_else(|| panic!("section {id}"));
    let rest = &html[start..];
    &rest[..rest[1..].find("<section").map_or(rest.len(), |end| end + 1)]
}

#[tokio::test]
async fn a_return_is_reviewed_and_redispatched_through_the_pages() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;

    let (_, queue) = page(&app, "/work", &dispatcher).await;
    assert!(section(&queue, "received").contains(&format!("href=\"/work/{no}\"")), "待派单 lists it");
    let (status, location, _) =
        post_form(&app, &format!("/work/{no}/dispatch"), &dispatcher, &[("lead_unit", "scjgj"), ("co_units", "zwfw")])
            .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("/work/{no}").as_str()));
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(detail["request"]["co_units"][0]["code"], "zwfw", "co-units from the multi-select");

    // The handler's page offers 退单; an empty reason is refused next to the form.
    let (status, html) = page(&app, &format!("/work/{no}"), &handler).await;
    assert_eq!(status, StatusCode::OK);
    for action in ["sign", "return"] {
        assert!(html.contains(&format!("action=\"/work/{no}/{action}\"")), "{action} offered");
    }
    assert!(!html.contains(&format!("action=\"/work/{no}/redispatch\"")), "not the dispatcher's actions");
    let (status, _, html) = post_form(&app, &format!("/work/{no}/return"), &handler, &[("reason", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"return-error\""), "the message stands by the form");
    assert!(!html.trim_start().starts_with('{'), "a page, not the API's JSON");
    let (status, _, _) =
        post_form(&app, &format!("/work/{no}/return"), &handler, &[("reason", "不属于我局职责")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // 退单待审 lists it; redispatching to the same unit is refused with the values kept.
    let (_, queue) = page(&app, "/work", &dispatcher).await;
    assert!(section(&queue, "returned").contains(&format!("href=\"/work/{no}\"")), "退单待审 lists it");
    assert!(!section(&queue, "received").contains(&format!("href=\"/work/{no}\"")));
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(
        html.contains(&format!("action=\"/work/{no}/redispatch\""))
            && html.contains(&format!("action=\"/work/{no}/refuse-return\""))
    );
    let (status, _, html) = post_form(
        &app,
        &format!("/work/{no}/redispatch"),
        &dispatcher,
        &[("lead_unit", "scjgj"), ("comment", "请再核实")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"redispatch-error\""), "same unit refused on the page");
    assert!(html.contains("请再核实"), "the comment is kept");
    let (status, _, _) = post_form(&app, &format!("/work/{no}/redispatch"), &dispatcher, &[("lead_unit", "rsj")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(
        (detail["request"]["state"].as_str(), detail["request"]["lead_unit"]["code"].as_str()),
        (Some("dispatched"), Some("rsj"))
    );
    // The first unit no longer sees it, on the page either.
    assert_eq!(page(&app, &format!("/work/{no}"), &handler).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = post_form(&app, &format!("/work/{no}/sign"), &handler, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_extension_is_asked_for_and_approved_through_the_pages() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(post_form(&app, &format!("/work/{no}/sign"), &handler, &[]).await.0, StatusCode::SEE_OTHER);

    let (_, html) = page(&app, &format!("/work/{no}"), &handler).await;
    for action in ["request-extension", "stage-reply", "reply", "suspend", "return"] {
        assert!(html.contains(&format!("action=\"/work/{no}/{action}\"")), "{action} offered to the lead unit");
    }
    assert!(html.contains("type=\"datetime-local\""));
    // An empty and a past deadline are refused on the page, the values kept.
    let path = format!("/work/{no}/request-extension");
    let (status, _, html) = post_form(&app, &path, &handler, &[("new_due", ""), ("reason", "需调取档案")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"request-extension-error\"") && html.contains("需调取档案"));
    let (status, _, html) =
        post_form(&app, &path, &handler, &[("new_due", "2000-01-01T10:00"), ("reason", "需调取档案")]).await;
    assert!(status.is_client_error(), "{status}");
    assert!(html.contains("id=\"request-extension-error\"") && html.contains("value=\"2000-01-01T10:00\""));
    let (status, _, _) =
        post_form(&app, &path, &handler, &[("new_due", "2099-12-31T17:30"), ("reason", "需调取外省档案")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &format!("/work/{no}"), &handler).await;
    assert!(!html.contains(&format!("action=\"{path}\"")), "no second request while one is pending");

    // 延期待审 lists it; the dispatcher sees the new deadline and reason, and approves.
    let (_, queue) = page(&app, "/work", &dispatcher).await;
    let pending = section(&queue, "extension");
    assert!(pending.contains(&format!("href=\"/work/{no}\"")), "延期待审 lists it");
    assert!(pending.contains("2099-12-31 17:30"));
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("2099-12-31 17:30") && html.contains("需调取外省档案"));
    assert!(
        html.contains(&format!("action=\"/work/{no}/approve-extension\""))
            && html.contains(&format!("action=\"/work/{no}/refuse-extension\""))
    );
    let (status, _, html) =
        post_form(&app, &format!("/work/{no}/refuse-extension"), &dispatcher, &[("reason", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"refuse-extension-error\""));
    let (status, _, _) =
        post_form(&app, &format!("/work/{no}/approve-extension"), &dispatcher, &[("comment", "同意")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    assert_eq!(r["due_at"], "2099-12-31T17:30:00.000+08:00");
    assert!(r["pending_extension"].is_null());
    let (_, queue) = page(&app, "/work", &dispatcher).await;
    assert!(!section(&queue, "extension").contains(&format!("href=\"/work/{no}\"")));

    // Reply, then the dispatcher's 待办结 and a 退回重办 through the page.
    let (status, _, _) =
        post_form(&app, &format!("/work/{no}/reply"), &handler, &[("content", "已办结变更登记。")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, queue) = page(&app, "/work", &dispatcher).await;
    assert!(section(&queue, "replied").contains(&format!("href=\"/work/{no}\"")), "待办结 lists it");
    let (status, _, _) =
        post_form(&app, &format!("/work/{no}/reject-reply"), &dispatcher, &[("reason", "请补充办理结果")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.detail(&no, &dispatcher).await["request"]["state"], "in_progress");
}

#[tokio::test]
async fn the_operator_console_takes_a_call_and_closes_a_consultation() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;

    // Only operators: others get a 403, strangers the sign-in page.
    assert_eq!(page(&app, "/console", &handler).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, "/console", &dispatcher).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post_form(&app, "/console", &handler, &[("channel", "phone")]).await.0, StatusCode::FORBIDDEN);
    let res = no_redirects().get(app.url("/console")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));

    let (status, html) = page(&app, "/console", &operator).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["channel", "kind", "credit_code", "phone", "contact_name", "category", "title", "content"] {
        assert!(html.contains(&format!("<label for=\"{field}\"")), "{field} labelled");
    }
    assert!(html.contains("12345热线") && html.contains("服务窗口"));
    assert!(html.contains("/assets/js/console.js"));

    // The caller's and the enterprise's earlier requests.
    let (earlier, _) = app.submit(resident_consultation()).await;
    let (enterprise_earlier, _) = app.submit(enterprise_complaint()).await;
    let (_, html) = page(&app, "/console?phone=13912345678", &operator).await;
    assert!(html.contains(&earlier) && !html.contains(&enterprise_earlier), "the caller's earlier request");
    let (_, html) = page(&app, &format!("/console?credit_code={ENTERPRISE_CODE}"), &operator).await;
    assert!(html.contains(&enterprise_earlier) && !html.contains(&earlier), "the enterprise's earlier request");
    let (status, list) = app.get("/api/v1/requests?phone=13912345678", Some(&operator)).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (StatusCode::OK, 1), "the script's look-up");

    let call = [
        ("channel", "phone"),
        ("kind", "consultation"),
        ("urgency", "normal"),
        ("asker_type", "resident"),
        ("phone", "13912345678"),
        ("contact_name", "李伟明"),
        ("category", "social.pension"),
        ("town", "xiaolan"),
        ("title", "咨询养老保险转移"),
        ("content", "从外省调入中山工作，养老保险关系如何转移？"),
    ];
    // A refused intake shows the API's message on the page, the values kept.
    let mut bad = call.to_vec();
    bad[4] = ("phone", "12345");
    let (status, _, html) = post_form(&app, "/console", &operator, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"intake-error\"") && html.contains("从外省调入中山工作"));

    let (status, location, _) = post_form(&app, "/console", &operator, &call).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let query = location.strip_prefix("/console?done=").expect("back to the console");
    let (no, code) = query.split_once("&code=").expect("the intake's check code");
    let (no, code) = (no.to_owned(), code.split('&').next().unwrap().to_owned());
    let detail = app.detail(&no, &operator).await;
    assert!(detail["request"]["check_code"].is_null(), "staff never read the check code back");
    assert_eq!(
        (detail["request"]["channel"].as_str(), detail["request"]["state"].as_str()),
        (Some("phone"), Some("received"))
    );
    let (_, html) = page(&app, &location, &operator).await;
    assert!(html.contains(&format!("id=\"done-code\">{code}<")), "the check code to tell the caller");
    let (_, again) = page(&app, &format!("/console?done={no}"), &operator).await;
    assert!(!again.contains("done-code"), "not shown again without the intake's answer");
    assert!(html.contains(&format!("action=\"/work/{no}/direct-close\"")), "直接办结 offered for a consultation");

    // The handler's unit does not see it (another unit, another town).
    assert_eq!(page(&app, &format!("/work/{no}"), &handler).await.0, StatusCode::NOT_FOUND);

    let (status, _, _) = post_form(
        &app,
        &format!("/work/{no}/direct-close"),
        &operator,
        &[("answer", "可登录国家社会保险公共服务平台申请转移。")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.detail(&no, &operator).await["request"]["state"], "closed");

    // 待回访 for the operator, then a follow-up; the dispatcher may reopen an unresolved one.
    let (_, queue) = page(&app, "/work", &operator).await;
    assert!(section(&queue, "closed").contains(&format!("href=\"/work/{no}\"")));
    let (_, html) = page(&app, &format!("/work/{no}"), &operator).await;
    assert!(html.contains("name=\"rating\"") && html.contains("非常不满意"));
    let (status, _, html) =
        post_form(&app, &format!("/work/{no}/follow-up"), &operator, &[("rating", "dissatisfied")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"follow-up-error\"") && html.contains("value=\"dissatisfied\" checked"));
    let form = [("rating", "dissatisfied"), ("resolved", "no"), ("comment", "没有解决")];
    assert_eq!(post_form(&app, &format!("/work/{no}/follow-up"), &operator, &form).await.0, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(
        html.contains(&format!("action=\"/work/{no}/reopen\""))
            && html.contains(&format!("action=\"/work/{no}/archive\""))
    );
    assert_eq!(post_form(&app, &format!("/work/{no}/archive"), &dispatcher, &[]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(app.detail(&no, &operator).await["request"]["state"], "archived");
}

#[tokio::test]
async fn merge_urge_suspend_and_withdraw_forms_go_through_the_api() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let operator = app.login("operator").await;
    let (parent, _) = app.submit(enterprise_complaint()).await;
    let (child, _) = app.submit(enterprise_complaint()).await;

    let (_, html) = page(&app, &format!("/work/{child}"), &dispatcher).await;
    for action in ["dispatch", "merge", "urge"] {
        assert!(html.contains(&format!("action=\"/work/{child}/{action}\"")), "{action} offered");
    }
    assert!(!html.contains(&format!("action=\"/work/{child}/withdraw\"")), "withdraw is the operator's");
    let (status, _, html) =
        post_form(&app, &format!("/work/{child}/merge"), &dispatcher, &[("into", "ZS00000000000000")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"merge-error\"") && html.contains("value=\"ZS00000000000000\""));
    assert_eq!(
        post_form(&app, &format!("/work/{child}/merge"), &dispatcher, &[("into", &parent)]).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.detail(&child, &dispatcher).await["request"]["state"], "merged");

    app.act(&parent, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(
        post_form(&app, &format!("/work/{parent}/urge"), &dispatcher, &[("message", "请尽快签收")]).await.0,
        StatusCode::SEE_OTHER
    );
    app.act(&parent, "sign", &handler, json!({})).await;
    assert_eq!(
        post_form(&app, &format!("/work/{parent}/suspend"), &handler, &[("reason", "等待企业补充材料")]).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, html) = page(&app, &format!("/work/{parent}"), &handler).await;
    assert!(html.contains(&format!("action=\"/work/{parent}/resume\"")));
    assert_eq!(post_form(&app, &format!("/work/{parent}/resume"), &handler, &[]).await.0, StatusCode::SEE_OTHER);
    // A handler's forbidden action is refused by the API, shown on the page.
    let (status, _, html) = post_form(&app, &format!("/work/{parent}/close"), &handler, &[]).await;
    assert!(status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN, "{status}");
    assert!(html.contains("id=\"action-error\""), "shown above, as the page has no such form");
    assert_eq!(
        post_form(&app, &format!("/work/{parent}/withdraw"), &operator, &[("reason", "企业来电撤回")]).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.detail(&parent, &dispatcher).await["request"]["state"], "withdrawn");
}

#[tokio::test]
async fn the_progress_page_takes_materials_and_a_request_to_reopen() {
    let app = spawn().await;
    let (dispatcher, handler) = (app.login("dispatcher").await, app.login("handler").await);
    let (no, code) = app.submit(enterprise_complaint()).await;
    let (status, html) = page(&app, &format!("/track/{no}?code={code}"), &Session(String::new())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<section id=\"materials\" class=\"rate\" aria-labelledby"),
        "open: materials offered, not hidden"
    );
    assert!(html.contains("<section id=\"reopen\" class=\"rate\" hidden"), "no 申请重办 before an unhappy follow-up");

    // 补充材料: two files through the page, stored as the API stores them.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 one".to_vec()).file_name("合同.pdf"))
        .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 two".to_vec()).file_name("发票.pdf"));
    let res = no_redirects()
        .post(app.url(&format!("/track/{no}/materials?code={code}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("已上传 2 个文件"));
    let (_, files) = app.get(&format!("/api/v1/requests/{no}/attachments"), Some(&dispatcher)).await;
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    let wrong =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.pdf"));
    let res = no_redirects()
        .post(app.url(&format!("/track/{no}/materials?code=WRONG123")))
        .multipart(wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a wrong check code uploads nothing");

    // Staff see the files on the request page, add their own there, and out of scope is not found.
    let (_, detail) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(
        detail.contains("附件（2）") && detail.contains(&format!("/api/v1/requests/{no}/attachments/")),
        "listed with links"
    );
    let add = |who: &Session, name: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4 reply".to_vec()).file_name(name));
        no_redirects().post(app.url(&format!("/work/{no}/attachments"))).header("cookie", &who.0).multipart(form).send()
    };
    let res = add(&dispatcher, "受理意见.pdf").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, detail) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(detail.contains("附件（3）") && detail.contains("受理意见.pdf"));
    assert_eq!(
        add(&handler, "越权.pdf").await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "not yet dispatched to the handler's unit"
    );

    // Closed and rated unhappy: the page offers 申请重办, refuses an empty reason, records a real one.
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "sign", &handler, json!({})).await;
    app.act(&no, "reply", &handler, json!({ "content": "已办理。" })).await;
    app.act(&no, "close", &dispatcher, json!({})).await;
    let rate = json!({ "code": code, "rating": "very_dissatisfied", "resolved": false });
    assert_eq!(app.post(&format!("/api/v1/public/requests/{no}/rate"), None, rate).await.0, StatusCode::OK);
    let reopen = format!("/track/{no}/reopen");
    let res =
        no_redirects().post(app.url(&reopen)).form(&[("code", code.as_str()), ("reason", "")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = no_redirects()
        .post(app.url(&reopen))
        .form(&[("code", code.as_str()), ("reason", "变更登记仍未办好")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("已收到您的重办申请") && html.contains("申请重办"), "confirmed on the page");
    assert!(html.contains("id=\"reopen-waiting\">") && html.contains("id=\"reopen-form\" hidden"), "waiting, no form");
    // A second request before the first is answered is refused beside the form.
    let res = no_redirects()
        .post(app.url(&reopen))
        .form(&[("code", code.as_str()), ("reason", "再次申请")])
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("请勿重复申请"), "{html}");
    let view = app.progress(&no, &code).await;
    assert!(timeline_kinds(&view).contains(&"reopen_requested".to_owned()));
    let (_, work) = page(&app, "/work", &dispatcher).await;
    assert!(section(&work, "unhappy").contains(&no), "in the dispatcher's 回访不满意 queue");
    assert!(!section(&work, "replied").contains(&no));
}

#[tokio::test]
async fn a_signed_in_enterprise_sees_all_its_requests_and_no_others() {
    let app = spawn().await;
    let enterprise = app.login("enterprise").await;
    let (code, name) = mashangban_demo::demo_enterprise().unwrap();
    let mut body = enterprise_complaint();
    body["asker"] = json!({ "type": "enterprise", "credit_code": code.as_str(), "name": name });
    // Submitted on the public portal by someone of the enterprise, not through the account.
    let (ours, _) = app.submit(body).await;
    let (theirs, _) = app.submit(resident_consultation()).await;
    let (status, html) = page(&app, "/work", &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    let mine = section(&html, "mine");
    assert!(mine.contains("我的诉求") && mine.contains(&ours), "its enterprise's request is listed");
    assert!(!html.contains(&theirs), "another asker's request is not");
    assert_eq!(page(&app, &format!("/work/{ours}"), &enterprise).await.0, StatusCode::OK);
    assert_eq!(page(&app, &format!("/work/{theirs}"), &enterprise).await.0, StatusCode::NOT_FOUND);
}
