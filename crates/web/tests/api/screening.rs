//! Spam screening (垃圾信息甄别): the report's inserted ads hold a public submission out of the
//! dispatcher's queue while the asker sees it received; staff release it or mark it spam, each an
//! event; the administrator's phrases and threshold; false positives on the demo's genuine requests.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::browser::{page, post_form};

/// A genuine consultation with the report's ads inserted, in traditional characters.
fn polluted() -> Value {
    let mut body = resident_consultation();
    body["content"] = json!("从外省调入中山工作，會議室出租，時租場地，家教場地，1對1教學，养老保险关系如何转移？");
    body
}

fn history_kinds(detail: &Value) -> Vec<String> {
    detail["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

/// The 待派单 and 待甄别 sections of the work page.
fn sections(html: &str) -> (&str, &str) {
    let received = html.split_once(r#"id="received""#).unwrap().1;
    let (received, rest) = received.split_once("</section>").unwrap();
    (received, rest.split_once(r#"id="screening""#).unwrap().1.split_once("</section>").unwrap().0)
}

fn queue_numbers(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|h| h["request"]["tracking_no"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn inserted_ads_hold_a_submission_out_of_the_dispatch_queue_while_the_asker_sees_it_received() {
    let app = spawn().await;
    let dispatcher = app.login("dispatcher").await;
    let (genuine, _) = app.submit(resident_consultation()).await;
    let (held, code) = app.submit(polluted()).await;

    // The genuine request is screened and passes; the polluted one is held, with the phrases as reasons.
    let (status, s) = app.get(&format!("/api/v1/screening/requests/{genuine}"), Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!((s["held"].as_bool(), s["score"].as_f64()), (Some(false), Some(0.0)), "{s}");
    let (_, s) = app.get(&format!("/api/v1/screening/requests/{held}"), Some(&dispatcher)).await;
    assert_eq!((s["held"].as_bool(), s["waiting"].as_bool()), (Some(true), Some(true)), "{s}");
    let reasons = s["reasons"].to_string();
    for phrase in ["会议室出租", "时租场地", "家教场地", "1对1教学"] {
        assert!(reasons.contains(phrase), "traditional ads caught as simplified: {reasons}");
    }
    assert!(reasons.contains("繁体"), "{reasons}");

    // The asker's view is unchanged: received, nothing about screening.
    let view = app.progress(&held, &code).await;
    assert_eq!(view["state"], "received");
    assert_eq!(timeline_kinds(&view), ["received"]);
    assert!(!view.to_string().contains("甄别"), "{view}");
    let (status, html) = page(&app, &format!("/track/{held}?code={code}"), &Session(String::new())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已受理") && !html.contains("甄别"), "the progress page shows it received");

    // Held: in the 待甄别 queue, not in 待派单 (API and work page), and not dispatchable.
    let (status, q) = app.get("/api/v1/screening/queue", Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!((queue_numbers(&q), q["total"].as_u64()), (vec![held.clone()], Some(1)), "{q}");
    let (_, html) = page(&app, "/work", &dispatcher).await;
    let (received, screening) = sections(&html);
    assert!(received.contains(&genuine) && !received.contains(&held), "待派单 holds the genuine request only");
    assert!(screening.contains(&held) && screening.contains("会议室出租"), "待甄别 shows the score and reasons");
    let (status, answer) =
        app.post(&format!("/api/v1/requests/{held}/dispatch"), Some(&dispatcher), json!({ "lead_unit": "rsj" })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("screening_pending")), "{answer}");
    let (status, html) = page(&app, &format!("/work/{held}"), &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("do-release") && html.contains("do-mark-spam") && !html.contains("do-dispatch"));

    // Who screens: operators and dispatchers, not handlers.
    let handler = app.login("handler").await;
    let (status, _) = app.get("/api/v1/screening/queue", Some(&handler)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Released (an event in the same history), it is the dispatcher's as any other.
    let (status, _, _) =
        post_form(&app, &format!("/work/{held}/release"), &dispatcher, &[("comment", "正常诉求")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let detail = app.detail(&held, &dispatcher).await;
    assert_eq!(history_kinds(&detail), ["received", "screening_released"]);
    let (_, s) = app.get(&format!("/api/v1/screening/requests/{held}"), Some(&dispatcher)).await;
    assert_eq!((s["decision"].as_str(), s["waiting"].as_bool()), (Some("released"), Some(false)), "{s}");
    let (_, q) = app.get("/api/v1/screening/queue", Some(&dispatcher)).await;
    assert_eq!(q["total"], 0);
    let (status, answer) = app.post(&format!("/api/v1/requests/{held}/release"), Some(&dispatcher), json!({})).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("not_held")), "once only");
    app.act(&held, "dispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    let view = app.progress(&held, &code).await;
    assert_eq!(timeline_kinds(&view), ["received", "dispatched"], "the asker never sees the screening");
}

#[tokio::test]
async fn marked_spam_is_archived_for_good_and_the_classifier_learns_from_it() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let dispatcher = app.login("dispatcher").await;
    // Simplified ads are caught as the traditional ones are.
    let mut ad = resident_consultation();
    ad["title"] = json!("会议室出租");
    ad["content"] = json!("会议室出租，时租场地，舞蹈室出租，欢迎来电。");
    let (no, code) = app.submit(ad).await;
    let (_, s) = app.get(&format!("/api/v1/screening/requests/{no}"), Some(&operator)).await;
    assert_eq!(s["held"], true, "{s}");

    let marked = app.act(&no, "mark-spam", &operator, json!({ "reason": "广告" })).await;
    assert_eq!(marked["state"], "archived");
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(history_kinds(&detail), ["received", "marked_spam"]);
    let (_, s) = app.get(&format!("/api/v1/screening/requests/{no}"), Some(&dispatcher)).await;
    assert_eq!((s["decision"].as_str(), s["decided_by"].is_string()), (Some("spam"), true), "{s}");
    let (status, answer) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), Some(&dispatcher), json!({ "lead_unit": "rsj" })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")));
    let view = app.progress(&no, &code).await;
    assert_eq!(timeline_kinds(&view), ["received"], "the decision is staff's: {view}");
    let (_, all) = app.get("/api/v1/requests?state=received", Some(&dispatcher)).await;
    assert!(!all.to_string().contains(&no), "never in the dispatcher's way again");

    let supervisor = app.login("supervisor").await;
    let (other, _) = app.submit(resident_consultation()).await;
    let (status, _) = app.post(&format!("/api/v1/requests/{other}/mark-spam"), Some(&supervisor), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators and dispatchers screen");

    // The decision reaches the classifier without waiting for the scheduled training (not running here).
    let admin = app.login("admin").await;
    let mut learned = Value::Null;
    for _ in 0..100 {
        let (_, overview) = app.get("/api/v1/screening/settings", Some(&admin)).await;
        learned = overview["classifier"].clone();
        if learned["spam_examples"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(learned["spam_examples"], 1, "trained on the decision at once: {learned}");

    // The classifier trains on decisions: one spam is too few to count in scores.
    let (status, c) = app.post("/api/v1/screening/model", Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!((c["spam_examples"].as_u64(), c["active"].as_bool()), (Some(1), Some(false)), "{c}");
    let (status, _) = app.post("/api/v1/screening/model", Some(&dispatcher), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_administrator_sets_phrases_and_threshold_in_versions() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let (status, o) = app.get("/api/v1/screening/settings", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["settings"]["version"], Value::Null, "the defaults: {o}");
    assert!(o["settings"]["phrases"].to_string().contains("会议室出租"));

    let body = json!({ "phrases": ["代辦證件", "会议室出租", " "], "threshold": 0.75 });
    let (status, v) = app.call(reqwest::Method::PUT, "/api/v1/screening/settings", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["version"].as_i64(), v["threshold"].as_f64()), (Some(1), Some(0.75)), "{v}");
    assert_eq!(v["phrases"], json!(["代办证件", "会议室出租"]), "normalised, blanks dropped");
    let mut body = resident_consultation();
    body["content"] = json!("代办证件，请问养老保险关系如何转移？");
    let (no, _) = app.submit(body).await;
    let (_, s) = app.get(&format!("/api/v1/screening/requests/{no}"), Some(&dispatcher)).await;
    assert_eq!(s["held"], true, "the new phrase holds at once: {s}");

    for (body, code) in [
        (json!({ "phrases": [], "threshold": 0.2 }), "invalid_threshold"),
        (json!({ "phrases": ["长".repeat(31)], "threshold": 0.8 }), "phrase_too_long"),
    ] {
        let (status, e) = app.call(reqwest::Method::PUT, "/api/v1/screening/settings", Some(&admin), Some(body)).await;
        assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{e}");
    }
    let body = json!({ "phrases": [], "threshold": 0.8 });
    let (status, _) = app.call(reqwest::Method::PUT, "/api/v1/screening/settings", Some(&dispatcher), Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin tab saves through the same service.
    let (status, html) = page(&app, "/admin/screening", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("代办证件") && html.contains("screening-versions"));
    let form = [("phrases", "会议室出租\n时租场地"), ("threshold", "0.8")];
    let (status, location, _) = post_form(&app, "/admin/screening", &admin, &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/screening?ok=screening"));
    let (_, o) = app.get("/api/v1/screening/settings", Some(&admin)).await;
    assert_eq!((o["settings"]["version"].as_i64(), o["history"].as_array().unwrap().len()), (Some(2), 2), "{o}");
    let (status, _, html) = post_form(&app, "/admin/screening", &admin, &[("phrases", ""), ("threshold", "x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("阈值"));
}

#[tokio::test]
async fn on_the_demo_history_false_positives_stay_below_half_a_percent() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    let end = mashangban_domain::time::parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed: 20261204, count: 1200, end };
    mashangban_demo::generate_history(&app.store, &data, &options, |_, _| {}).await.unwrap();
    let spam = mashangban_demo::load_spam(&app.store, &data, &options).await.unwrap();
    assert_eq!(spam, mashangban_demo::spam_count(1200));

    let admin = app.login("admin").await;
    let (status, e) = app.get("/api/v1/screening/evaluation?before=2026-01-01", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    eprintln!("screening evaluation: {e}");
    let (genuine, tested_spam) = (e["genuine"].as_u64().unwrap(), e["spam"].as_u64().unwrap());
    assert!(genuine > 200 && tested_spam >= 10, "{e}");
    assert!(e["false_positive_rate"].as_f64().unwrap() < 0.005, "false positives: {e}");
    assert!(e["recall"].as_f64().unwrap() >= 0.9, "recall on the planted spam: {e}");
    assert!(e["recall"].as_f64().unwrap() >= e["rules_recall"].as_f64().unwrap(), "{e}");
    // The dispatch evaluation reports it too.
    let (_, d) = app.get("/api/v1/dispatch/evaluation?before=2026-01-01", Some(&admin)).await;
    assert_eq!(d["screening"]["false_positives"], e["false_positives"], "{d}");

    // The newest held spam waits in the queue; the dispatcher's 待派单 has none of it.
    let dispatcher = app.login("dispatcher").await;
    let (_, q) = app.get("/api/v1/screening/queue", Some(&dispatcher)).await;
    let held = queue_numbers(&q);
    assert!(!held.is_empty(), "{q}");
    let (_, html) = page(&app, "/work", &dispatcher).await;
    let (received, screening) = sections(&html);
    assert!(held.iter().all(|no| !received.contains(no.as_str()) && screening.contains(no.as_str())));
}
