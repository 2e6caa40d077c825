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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let missing: Vec<&str> = [
        ("node", node_available()),
        (CHROMIUM, std::path::Path::new(CHROMIUM).exists()),
        ("node_modules/playwright-core", root.join("node_modules/playwright-core").exists()),
    ]
    .into_iter()
    .filter_map(|(tool, present)| (!present).then_some(tool))
    .collect();
    if !missing.is_empty() {
        assert!(!in_ci(), "CI must have {missing:?} for the browser story (see scripts/test.sh)");
        eprintln!("SKIPPED the browser story: {missing:?} missing (run ./scripts/test.sh, which installs them)");
        return;
    }
    let app = spawn().await;
    let base = app.base.clone();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("e2e/story.mjs")
            .arg(&base)
            .env("E2E_PASSWORD", PASSWORD)
            .current_dir(&root)
            .status()
    });
    let status = run.await.unwrap().expect("node runs");
    assert!(status.success(), "e2e/story.mjs failed ({status}); its output is above");
}

/// Reads the stream until the next `progress` event; answers its id and data.
async fn next_progress(res: &mut reqwest::Response) -> (i64, Value) {
    let mut text = String::new();
    loop {
        let chunk = res.chunk().await.unwrap().expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        let Some(end) = text.find("\n\n") else { continue };
        let event: String = text.drain(..end + 2).collect();
        if !event.contains("event: progress") {
            continue;
        }
        let field = |name: &str| {
            event.lines().filter_map(|l| l.strip_prefix(name)).map(str::trim_start).collect::<Vec<_>>().join("\n")
        };
        return (field("id:").parse().unwrap(), serde_json::from_str(&field("data:")).unwrap());
    }
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
    let (second, view) = tokio::time::timeout(std::time::Duration::from_secs(5), next_progress(&mut stream)).await.unwrap();
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

fn no_redirects() -> reqwest::Client {
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
    let res = http.post(app.url(&format!("/work/{no}/sign"))).header("cookie", &handler).form(&[("comment", "")]).send().await.unwrap();
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
    assert!(html.contains("营业执照&#60;变更&#62;迟迟未办结") || html.contains("营业执照&lt;变更&gt;迟迟未办结"), "kept, escaped");
    let (status, list) = app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing taken in");

    let css = reqwest::get(app.url("/assets/css/app.css")).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
}
