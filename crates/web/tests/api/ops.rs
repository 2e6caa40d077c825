//! Probes and metrics: `/healthz`, `/readyz` with each check, and `/metrics` for loopback and allowed
//! addresses only, counting requests by route template.

use super::*;

#[tokio::test]
async fn probes_say_alive_and_ready_and_a_full_disk_makes_the_node_unready() {
    let app = spawn().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));

    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "schema"], "no data directory configured: no disk check");
    assert!(body["checks"][1]["detail"].as_str().unwrap().contains("最新版本"));

    // A node whose data directory has less room than its floor is taken out of rotation.
    let dir = tempfile::tempdir().unwrap();
    let full = spawn_with(WebConfig {
        data_dir: Some(dir.path().to_path_buf()),
        min_free_disk_bytes: u64::MAX,
        ..WebConfig::default()
    })
    .await;
    let (status, body) = full.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    let disk = body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "disk").unwrap();
    assert_eq!(disk["ok"], false);
    assert!(disk["detail"].as_str().unwrap().contains("空间不足"), "{disk}");
}

async fn metrics_text(app: &App, forwarded_for: Option<&str>) -> (StatusCode, String) {
    let mut request = app.http.get(app.url("/metrics"));
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_the_store() {
    let app = spawn().await;
    let (no, code) = app.submit(resident_consultation()).await;
    let _ = app.progress(&no, &code).await;
    let (status, _) = app.get("/api/v1/public/requests/ZS20990101999999?code=0000", None).await;
    assert!(status.is_client_error());
    let _ = app.get("/no/such/page", None).await;
    // Methods are any token a client makes up: they share one series rather than one each.
    for method in ["FUZZ1", "FUZZ2"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let _ = app.http.request(method, app.url("/healthz")).send().await.unwrap();
    }

    let (status, text) = metrics_text(&app, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // One series per route template, whatever the tracking number.
    let templates: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mashangban_http_requests_total{") && l.contains("/public/requests/"))
        .collect();
    assert!(!templates.is_empty() && templates.iter().all(|l| l.contains('{') && !l.contains(&no)), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(!text.contains("FUZZ") && text.contains(r#"method="OTHER",route="/healthz",status="405"} 2"#), "{text}");
    assert!(text.contains("# TYPE mashangban_http_request_duration_seconds histogram"));
    let applied = sample(&text, "mashangban_schema_version_applied");
    assert!(applied >= 1.0 && applied == sample(&text, "mashangban_schema_version_known"), "{text}");
    assert!(sample(&text, "mashangban_change_feed_head") >= 1.0, "the intake appended to the change feed");
    assert!(sample(&text, "mashangban_db_pool_max") >= 1.0);
    assert_eq!(sample(&text, r#"mashangban_alert{alert="database_unreachable"}"#), 0.0);
    assert_eq!(sample(&text, r#"mashangban_alert{alert="schema_not_current"}"#), 0.0);
    if std::env::var("MASHANGBAN_TEST_BACKEND").as_deref() != Ok("postgres") {
        // The SQLite writer committed the intake (and the demo load) in at least one batch.
        assert!(sample(&text, "mashangban_sqlite_writer_batch_size_count") >= 1.0, "{text}");
        assert_eq!(sample(&text, "mashangban_sqlite_writer_queue"), 0.0);
    }
}

#[tokio::test]
async fn metrics_answer_loopback_and_allowed_addresses_only() {
    let behind_proxy = spawn_with(WebConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        metrics_allow: vec!["10.0.0.9".parse().unwrap()],
        ..WebConfig::default()
    })
    .await;
    // A public client forwarded by the proxy is not the proxy.
    let (status, text) = metrics_text(&behind_proxy, Some("203.0.113.7")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "metrics_not_allowed");
    // The monitoring host named in metrics_allow is let in.
    let (status, _) = metrics_text(&behind_proxy, Some("10.0.0.9")).await;
    assert_eq!(status, StatusCode::OK);
    // Without a trusted proxy the header is ignored: the loopback peer is the client.
    let direct = spawn().await;
    assert_eq!(metrics_text(&direct, Some("203.0.113.7")).await.0, StatusCode::OK);
}

/// The value of the sample line that starts with `series` followed by a space.
fn sample(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

/// Brotli-decodes `bytes`.
fn unbrotli(bytes: &[u8]) -> String {
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut brotli::Decompressor::new(bytes, 4096), &mut plain).unwrap();
    plain
}

/// Gzip-decodes `bytes`.
fn gunzip(bytes: &[u8]) -> String {
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut plain).unwrap();
    plain
}

/// GETs `path` with `Accept-Encoding: accept`; answers the content coding and the raw body.
async fn fetch_encoded(app: &App, path: &str, accept: Option<&str>) -> (Option<String>, Vec<u8>) {
    let mut request = app.http.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let coding = response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
    (coding, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn answers_come_compressed_as_the_client_accepts_but_never_a_live_stream() {
    let app = spawn().await;
    let echarts = "/assets/vendor/echarts/echarts.min.js";
    let (coding, plain) = fetch_encoded(&app, echarts, None).await;
    assert_eq!(coding, None, "no Accept-Encoding, the plain file");
    let plain = String::from_utf8(plain).unwrap();

    let (coding, br) = fetch_encoded(&app, echarts, Some("gzip, deflate, br, zstd")).await;
    assert_eq!(coding.as_deref(), Some("br"));
    assert_eq!(unbrotli(&br), plain);
    assert!(br.len() * 3 < plain.len(), "ECharts {} → {} bytes", plain.len(), br.len());
    let (coding, gz) = fetch_encoded(&app, echarts, Some("gzip;q=1, br;q=0.5")).await;
    assert_eq!(coding.as_deref(), Some("gzip"));
    assert_eq!(gunzip(&gz), plain);
    let (coding, _) = fetch_encoded(&app, echarts, Some("br;q=0, gzip;q=0")).await;
    assert_eq!(coding, None, "q=0 refuses a coding");

    // Dynamic answers: a large JSON document is compressed as it is sent; a small one is not.
    let (_, document) = fetch_encoded(&app, "/api/openapi.json", None).await;
    let (coding, gz) = fetch_encoded(&app, "/api/openapi.json", Some("gzip")).await;
    assert_eq!(coding.as_deref(), Some("gzip"));
    assert_eq!(gunzip(&gz).as_bytes(), document.as_slice());
    let (coding, br) = fetch_encoded(&app, "/", Some("br")).await;
    assert_eq!(coding.as_deref(), Some("br"), "the portal page");
    assert!(unbrotli(&br).contains("</html>"));
    let (coding, _) = fetch_encoded(&app, "/healthz", Some("gzip, br")).await;
    assert_eq!(coding, None, "under 1 KiB");

    // The live progress stream is sent as it happens, never held back by an encoder.
    let (no, code) = app.submit(resident_consultation()).await;
    let stream = app
        .http
        .get(app.url(&format!("/track/{no}/events?code={code}")))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert!(stream.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn compression_level_0_sends_dynamic_answers_plain_and_9_compresses_them_smaller_than_1() {
    let level = |compression_level| spawn_with(WebConfig { compression_level, ..WebConfig::default() });
    let (off, fastest, hardest) = (level(0).await, level(1).await, level(9).await);
    let (coding, plain) = fetch_encoded(&off, "/api/openapi.json", Some("gzip, br")).await;
    assert_eq!(coding, None, "level 0: the document as it is");
    let (coding, _) = fetch_encoded(&off, "/assets/vendor/echarts/echarts.min.js", Some("br")).await;
    assert_eq!(coding.as_deref(), Some("br"), "the assets come compressed ahead of time either way");
    let (coding, one) = fetch_encoded(&fastest, "/api/openapi.json", Some("gzip")).await;
    assert_eq!(coding.as_deref(), Some("gzip"));
    let (_, nine) = fetch_encoded(&hardest, "/api/openapi.json", Some("gzip")).await;
    assert_eq!(gunzip(&one).as_bytes(), plain.as_slice());
    assert_eq!(gunzip(&nine).as_bytes(), plain.as_slice());
    assert!(nine.len() < one.len(), "level 9 {} bytes, level 1 {}", nine.len(), one.len());
}
