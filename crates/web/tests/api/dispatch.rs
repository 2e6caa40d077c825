//! Dispatch suggestions (派单建议): the catalogue's unit before any history, a model learned from
//! closed requests after it, a time-split evaluation on the demo history, and who may see them.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::browser::{page, post_form};

/// The demo history (two years before 2026-06-30), generated into the test's store.
async fn with_demo_history(app: &App, count: usize) {
    let data = mashangban_demo::DemoData::bundled().unwrap();
    let end = mashangban_domain::time::parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed: 20261204, count, end };
    assert_eq!(mashangban_demo::generate_history(&app.store, &data, &options, |_, _| {}).await.unwrap(), count);
}

fn first_unit(answer: &Value) -> &str {
    answer["suggestions"][0]["unit"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn before_any_history_the_catalogue_names_the_unit_and_only_dispatchers_see_it() {
    let app = spawn().await;
    let (no, _) = app.submit(enterprise_complaint()).await;
    let dispatcher = app.login("dispatcher").await;
    let (status, answer) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["model"], Value::Null, "nothing closed yet: {answer}");
    assert_eq!(first_unit(&answer), "scjgj", "biz.change is led by scjgj in the catalogue: {answer}");
    assert_eq!(answer["suggestions"][0]["confidence"], 1.0);
    assert!(answer["suggestions"][0]["reasons"][0].as_str().unwrap().contains("派单目录"), "{answer}");

    let (status, answer) = app.get("/api/v1/dispatch/suggestions/NO-SUCH", Some(&dispatcher)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("request_not_found")));
    let handler = app.login("handler").await;
    let (status, _) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), Some(&handler)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a handler does not dispatch");
    let (status, _) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let admin = app.login("admin").await;
    let (status, answer) = app.post("/api/v1/dispatch/model", Some(&admin), Value::Null).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("dispatch_history_empty")));
    let (status, _) = app.post("/api/v1/dispatch/model", Some(&dispatcher), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only administrators retrain");
    let (status, answer) = app.get("/api/v1/dispatch/evaluation?before=yesterday", Some(&admin)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
    let (status, answer) =
        app.get("/api/v1/dispatch/evaluation?before=2026-01-01&before=2026-02-01", Some(&admin)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some("duplicate_parameter")));
}

#[tokio::test]
async fn the_console_suggests_categories_as_the_operator_types_and_the_dispatcher_is_told_of_a_doubtful_one() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let draft = |body: Value| {
        let (app, operator) = (&app, &operator);
        async move { app.post("/api/v1/dispatch/draft", Some(operator), body).await }
    };
    // Before any history, the catalogue's keywords name the category and its unit.
    let (status, answer) =
        draft(serde_json::json!({ "title": "营业执照经营范围变更", "content": "想问一下法定代表人变更怎么办理" }))
            .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["categories"][0]["category"], "biz.change", "three of its keywords: {answer}");
    assert_eq!(answer["categories"][0]["confidence"], 1.0, "no model yet: {answer}");
    let reason = answer["categories"][0]["reasons"][0].as_str().unwrap();
    assert!(reason.starts_with("派单目录关键词：") && reason.contains("法定代表人"), "{answer}");
    assert_eq!(answer["units_for_category"], "biz.change");
    assert_eq!(answer["units"][0]["unit"], "scjgj", "{answer}");
    assert_eq!(answer["model"], Value::Null);
    // Traditional characters are folded; the chosen category, not the suggested one, ranks the units.
    let (_, answer) =
        draft(serde_json::json!({ "title": "公章遺失", "content": "刻章要帶什麼材料", "category": "social.pension" }))
            .await;
    assert_eq!(answer["categories"][0]["category"], "biz.seal", "{answer}");
    assert_eq!(
        (answer["units_for_category"].as_str(), answer["units"][0]["unit"].as_str()),
        (Some("social.pension"), Some("rsj")),
        "{answer}"
    );
    // Nothing to go on: no category, no unit.
    let (status, answer) = draft(serde_json::json!({ "title": "", "content": "你好" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (answer["categories"].clone(), answer["units"].clone()),
        (serde_json::json!([]), serde_json::json!([])),
        "{answer}"
    );

    // Refusals, each with its code.
    for (body, status, code) in [
        (
            serde_json::json!({ "title": "开办", "content": "", "category": "no.such" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_category",
        ),
        (
            serde_json::json!({ "title": "开办", "content": "", "town": "atlantis" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_town",
        ),
        (serde_json::json!({ "title": "开\u{1b}办", "content": "" }), StatusCode::BAD_REQUEST, "control_character"),
        (
            serde_json::json!({ "title": "字".repeat(101), "content": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text_too_long",
        ),
        (
            serde_json::json!({ "title": "开办", "content": "", "kind": "gossip" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            serde_json::json!({ "title": "开办", "content": "", "urgent": true }),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
    ] {
        let (got, answer) = draft(body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (status, _) = app
        .post(
            "/api/v1/dispatch/draft",
            Some(&app.login("handler").await),
            serde_json::json!({ "title": "开办", "content": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a handler neither takes in nor dispatches");
    let (status, _) =
        app.post("/api/v1/dispatch/draft", None, serde_json::json!({ "title": "开办", "content": "" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The console has the panel its script fills.
    let (status, html) = page(&app, "/console", &operator).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"category-suggestions\""), "{html}");

    // A pension question filed under company registration: the dispatcher is told before dispatching.
    let mut misfiled = resident_consultation();
    misfiled["category"] = "biz.register".into();
    let (no, _) = app.submit(misfiled).await;
    let dispatcher = app.login("dispatcher").await;
    let (_, answer) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), Some(&dispatcher)).await;
    assert_eq!(answer["categories"][0]["category"], "social.pension", "{answer}");
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    let hint = html.split("id=\"category-hint\"").nth(1).and_then(|h| h.split("</p>").next()).unwrap_or_default();
    assert!(hint.contains("「养老与工伤保险」") && hint.contains("当前分类为「企业开办登记」"), "{html}");
    // Filed rightly, no hint.
    let (no, _) = app.submit(resident_consultation()).await;
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("id=\"dispatch-suggestions\"") && !html.contains("id=\"category-hint\""), "{html}");
}

#[tokio::test]
async fn learned_from_the_demo_history_the_model_beats_the_busiest_units_on_requests_it_has_not_seen() {
    let app = spawn().await;
    with_demo_history(&app, 800).await;
    let admin = app.login("admin").await;
    let (status, e) = app.get("/api/v1/dispatch/evaluation?before=2026-01-01", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    eprintln!("dispatch evaluation: {e}");
    let (trained, tested) = (e["trained_on"].as_u64().unwrap(), e["tested_on"].as_u64().unwrap());
    assert!(trained > 200 && tested > 50, "{trained} trained, {tested} tested");
    let rate = |way: &str, k: &str| e[way][k].as_f64().unwrap();
    // A constant guess gets the busiest units' share; the platform must do far better.
    assert!(rate("combined", "top1") >= 0.8, "{e}");
    assert!(rate("combined", "top1") > rate("most_frequent", "top1") + 0.3, "{e}");
    assert!(rate("combined", "top3") >= rate("combined", "top1"), "{e}");
    assert!(rate("combined", "top3") >= 0.9, "{e}");
    // The weight given to the catalogue is chosen on held-out history: the blend is never much worse
    // than the catalogue alone, and its second and third names catch more of what the rule misses.
    assert!(rate("combined", "top1") >= rate("catalogue", "top1") - 0.02, "{e}");
    assert!(rate("combined", "top3") >= rate("catalogue", "top3"), "{e}");
    assert!(rate("model", "top1") > rate("most_frequent", "top1") + 0.3, "the model alone learned: {e}");
    // Categories are suggested from the words alone (the category is no feature of that model).
    assert!(rate("categories", "top1") >= 0.8, "{e}");
    assert!(rate("categories", "top3") >= rate("categories", "top1"), "{e}");
    assert!(rate("categories", "top1") >= rate("categories_by_keywords", "top1"), "{e}");
    assert!(!e["per_unit"].as_array().unwrap().is_empty());
    // The demo plants duplicates (merged into an open request of the same matter and town).
    let d = &e["duplicates"];
    assert!(d["merged"].as_u64().unwrap() > 0, "{d}");
    assert!(d["recall"].as_f64().unwrap() >= 0.8, "planted duplicates found: {d}");
    // Requests nobody merged are checked too: some of the demo's template texts repeat in a town, so
    // some are flagged, but far from all; every listing counts in the overall precision.
    let n = |k: &str| d[k].as_u64().unwrap();
    assert!(n("unmerged") > n("merged"), "{d}");
    assert!(n("unmerged_flagged") < n("unmerged") / 2 && n("unmerged_listed") >= n("unmerged_flagged"), "{d}");
    let overall = (d["precision"].as_f64().unwrap() * n("listed") as f64) / (n("listed") + n("unmerged_listed")) as f64;
    assert!((d["precision_overall"].as_f64().unwrap() - overall).abs() < 0.01, "{d}");

    // The administrators' page shows the same evaluation; a date it cannot read is refused on the page.
    let (status, html) = page(&app, "/admin/dispatch?before=2026-01-01", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let row = html.split("id=\"accuracy-combined\"").nth(1).and_then(|r| r.split("</tr>").next()).unwrap();
    let shown = |share: f64| format!("<td>{:.1}%</td>", share * 100.0);
    assert!(row.contains(&shown(rate("combined", "top1"))) && row.contains(&shown(rate("combined", "top3"))), "{row}");
    assert!(html.contains(&format!("此后检验 {tested} 件")), "{html}");
    assert!(html.contains(&format!("id=\"duplicates-unmerged\">{}</span>", n("unmerged"))), "{html}");
    let row = html.split("id=\"accuracy-categories\"").nth(1).and_then(|r| r.split("</tr>").next()).unwrap();
    assert!(row.contains(&shown(rate("categories", "top1"))), "{row}");
    let (status, html) = page(&app, "/admin/dispatch?before=%E6%98%A8%E5%A4%A9", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!html.contains("id=\"dispatch-evaluation\""), "{html}");
    let (status, _) = page(&app, "/admin/dispatch", &app.login("dispatcher").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location, _) = post_form(&app, "/admin/dispatch/model", &admin, &[]).await;
    assert!(status.is_redirection() && location.ends_with("ok=dispatch-model"), "{status} {location}");
    let (_, html) = page(&app, "/admin/dispatch?ok=dispatch-model", &admin).await;
    assert!(
        html.contains("派单模型已按最近已办结的诉求重新训练") && html.contains("id=\"dispatch-model\">学习 "),
        "{html}"
    );

    // Retrained on everything closed, the model explains a new request with its words.
    let (status, info) = app.post("/api/v1/dispatch/model", Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert!(info["examples"].as_u64().unwrap() > trained, "{info}");
    let (status, current) = app.get("/api/v1/dispatch/model", Some(&admin)).await;
    assert_eq!((status, current["examples"].clone()), (StatusCode::OK, info["examples"].clone()));
    // The demo's misrouted requests were returned and re-dispatched: each such correction is learned.
    let corrections = info["corrections"].as_u64().unwrap();
    assert!(corrections >= 20 && corrections < info["examples"].as_u64().unwrap() / 5, "{info}");
    let (_, html) = page(&app, "/admin/dispatch", &admin).await;
    assert!(html.contains(&format!("id=\"dispatch-corrections\">{corrections}</span>")), "{html}");
    let (no, _) = app.submit(enterprise_complaint()).await;
    let dispatcher = app.login("dispatcher").await;
    let (_, answer) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), Some(&dispatcher)).await;
    assert_eq!(answer["model"]["examples"], info["examples"], "{answer}");
    assert_eq!(first_unit(&answer), "scjgj", "{answer}");
    // "营业执照变更登记" reads as registration or change: both are named first, the asker's among them.
    let named: Vec<&str> =
        answer["categories"].as_array().unwrap().iter().map(|c| c["category"].as_str().unwrap()).collect();
    let first_two = &named[..2.min(named.len())];
    assert!(first_two.contains(&"biz.change") && first_two.iter().all(|c| c.starts_with("biz.")), "{answer}");
    assert!(info["categories"].as_u64().unwrap() > 5, "{info}");
    let confidences: Vec<f64> =
        answer["suggestions"].as_array().unwrap().iter().map(|s| s["confidence"].as_f64().unwrap()).collect();
    assert!(confidences.len() > 1 && confidences.windows(2).all(|w| w[0] >= w[1]), "{answer}");
    assert!(confidences.iter().sum::<f64>() <= 1.0 + 1e-9, "{answer}");

    // The dispatcher's page shows them beside the form, the best one selected.
    let (status, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"dispatch-suggestions\"") && html.contains("建议主办单位"), "{html}");
    assert!(html.contains("<option value=\"scjgj\" selected>"), "the best suggestion is preselected");
}

#[tokio::test]
async fn likely_duplicates_are_listed_beside_the_merge_form_and_merged_in_one_click() {
    let app = spawn().await;
    let (first, _) = app.submit(enterprise_complaint()).await;
    let mut again = enterprise_complaint();
    again["contact"] = serde_json::json!({ "name": "黄志强", "phone": "13912340000" });
    again["content"] = "我司上月在市政务服务中心提交的经营范围变更申请至今未办结，请尽快处理。".into();
    let (second, _) = app.submit(again).await;
    let (unrelated, _) = app.submit(resident_consultation()).await;
    let dispatcher = app.login("dispatcher").await;
    let (status, similar) = app.get(&format!("/api/v1/dispatch/similar/{second}"), Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK, "{similar}");
    let listed: Vec<&str> = similar.as_array().unwrap().iter().map(|s| s["tracking_no"].as_str().unwrap()).collect();
    assert_eq!(listed, [first.as_str()], "the same matter, not the pension question: {similar}");
    assert!(similar[0]["similarity"].as_f64().unwrap() >= 0.45, "{similar}");
    assert_eq!(similar[0]["same_asker"], true, "another person of the same enterprise (credit code): {similar}");
    let (_, again) = app.get(&format!("/api/v1/dispatch/similar/{second}"), Some(&dispatcher)).await;
    assert_eq!(again, similar, "the second check, from the facts kept, answers as the first");
    // Dispatched, the first is another version: read again, still listed, with its new state.
    app.act(&first, "dispatch", &dispatcher, serde_json::json!({ "lead_unit": "scjgj" })).await;
    let (_, after) = app.get(&format!("/api/v1/dispatch/similar/{second}"), Some(&dispatcher)).await;
    assert_eq!(after[0]["tracking_no"], first.as_str(), "{after}");
    assert_eq!(after[0]["state"], "dispatched", "{after}");
    let (_, none) = app.get(&format!("/api/v1/dispatch/similar/{unrelated}"), Some(&dispatcher)).await;
    assert_eq!(none, serde_json::json!([]));
    let handler = app.login("handler").await;
    let (status, _) = app.get(&format!("/api/v1/dispatch/similar/{second}"), Some(&handler)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, html) = page(&app, &format!("/work/{second}"), &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"similar-requests\"") && html.contains("并入此件"), "{html}");
    let (status, location, _) =
        post_form(&app, &format!("/work/{second}/merge"), &dispatcher, &[("into", first.as_str())]).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.contains(&second), "{location}");
    let merged = app.detail(&second, &dispatcher).await;
    assert_eq!(merged["request"]["state"], "merged", "{merged}");
    let (_, after) = app.get(&format!("/api/v1/dispatch/similar/{first}"), Some(&dispatcher)).await;
    assert_eq!(after, serde_json::json!([]), "a merged request is no longer open");
}

#[tokio::test]
async fn staff_intake_answers_likely_duplicates_and_the_public_never_sees_them() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let dispatcher = app.login("dispatcher").await;
    let (first, _) = app.submit(enterprise_complaint()).await;
    let (unrelated, _) = app.submit(resident_consultation()).await;
    let mut again = enterprise_complaint();
    again["contact"] = serde_json::json!({ "name": "黄志强", "phone": "13912340000" });
    again["content"] = "我司上月在市政务服务中心提交的经营范围变更申请至今未办结，请尽快处理。".into();

    // The asker of the portal learns nothing of other people's requests.
    let (status, public) = app.post("/api/v1/public/requests", None, again.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{public}");
    assert_eq!(public["duplicates"], serde_json::json!([]), "{public}");

    // The operator taking the call in sees the open request of the same matter with its similarity.
    again["channel"] = "phone".into();
    let (status, intake) = app.post("/api/v1/requests", Some(&operator), again.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{intake}");
    let listed: Vec<&str> =
        intake["duplicates"].as_array().unwrap().iter().map(|s| s["tracking_no"].as_str().unwrap()).collect();
    assert!(listed.contains(&first.as_str()) && !listed.contains(&unrelated.as_str()), "{intake}");
    assert!(!listed.contains(&intake["tracking_no"].as_str().unwrap()), "not itself");
    let best = &intake["duplicates"][0];
    assert!(best["similarity"].as_f64().unwrap() >= 0.45 && best["same_asker"] == true, "{intake}");
    // A different matter has none.
    let mut other = resident_consultation();
    other["channel"] = "phone".into();
    other["title"] = "小区垃圾清运不及时".into();
    other["content"] = "垃圾桶满溢三天无人清运，气味难闻。".into();
    other["contact"] = serde_json::json!({ "name": "郑凯文", "phone": "13700001111" });
    let (status, none) = app.post("/api/v1/requests", Some(&dispatcher), other).await;
    assert_eq!((status, none["duplicates"].clone()), (StatusCode::CREATED, serde_json::json!([])), "{none}");

    // 并单 at once: the new request merged into the one listed.
    let new = intake["tracking_no"].as_str().unwrap();
    let merged = app.act(new, "merge", &dispatcher, serde_json::json!({ "into": first })).await;
    assert_eq!(merged["state"], "merged", "{merged}");

    // The console's answer page lists them to the operator.
    let (status, location, _) = post_form(
        &app,
        "/console",
        &operator,
        &[
            ("channel", "phone"),
            ("kind", "complaint"),
            ("urgency", "normal"),
            ("asker_type", "resident"),
            ("phone", "13912340001"),
            ("contact_name", "黄志强"),
            ("category", "biz.change"),
            ("town", "guzhen"),
            ("title", again["title"].as_str().unwrap()),
            ("content", again["content"].as_str().unwrap()),
        ],
    )
    .await;
    assert!(status.is_redirection(), "{status}");
    let (status, html) = page(&app, &location, &operator).await;
    assert_eq!(status, StatusCode::OK);
    // The portal's report of the same words is listed (the one merged is no longer open).
    let public_no = public["tracking_no"].as_str().unwrap();
    assert!(html.contains("id=\"done-similar\"") && html.contains(public_no), "{html}");
    assert!(!html.contains(&format!("<a class=\"mono\" href=\"/work/{new}\">")), "{html}");
}

#[tokio::test]
async fn a_category_set_for_automatic_dispatch_goes_to_the_first_suggestion_once_a_model_is_trained() {
    let app = spawn().await;
    with_demo_history(&app, 600).await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let put = |body: Value, who: &'static str| {
        let app = &app;
        async move { app.call(reqwest::Method::PUT, "/api/v1/dispatch/auto", Some(&app.login(who).await), Some(body)).await }
    };
    let code = |(status, answer): (StatusCode, Value)| (status, answer["code"].as_str().map(str::to_owned));
    let rules =
        |category: &str, min: f64| serde_json::json!({ "rules": [{ "category": category, "min_confidence": min }] });

    // Refused: an unknown category, a confidence out of range, the same category twice, a dispatcher.
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    assert_eq!(code(put(rules("no.such", 0.9), "admin").await), (unprocessable, Some("unknown_category".into())));
    assert_eq!(
        code(put(rules("biz.change", 1.2), "admin").await),
        (unprocessable, Some("invalid_auto_confidence".into()))
    );
    let twice = serde_json::json!({ "rules": [
        { "category": "biz.change", "min_confidence": 0.9 }, { "category": "biz.change", "min_confidence": 0.8 }
    ] });
    assert_eq!(code(put(twice, "admin").await), (unprocessable, Some("duplicate_auto_category".into())));
    assert_eq!(put(rules("biz.change", 0.9), "dispatcher").await.0, StatusCode::FORBIDDEN);
    let (_, overview) = app.get("/api/v1/dispatch/auto", Some(&admin)).await;
    assert_eq!(overview["current"]["version"], Value::Null, "nothing refused was written: {overview}");

    // Set, but no model trained on this node yet: the catalogue alone is no evidence, a dispatcher decides.
    let (status, saved) = put(rules("biz.change", 0.5), "admin").await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(1)), "{saved}");
    assert_eq!(saved["rules"][0]["category_name"], "企业变更与备案", "{saved}");
    let (waiting, _) = app.submit(enterprise_complaint()).await;
    assert_eq!(app.detail(&waiting, &dispatcher).await["request"]["state"], "received");

    // With a model, a request of the category goes to the unit suggested first, by the platform,
    // and its history says on what suggestion; another category still waits for the dispatcher.
    let (status, _) = app.post("/api/v1/dispatch/model", Some(&admin), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let (no, _) = app.submit(enterprise_complaint()).await;
    let detail = app.detail(&no, &dispatcher).await;
    assert_eq!(detail["request"]["state"], "dispatched", "{detail}");
    assert_eq!(detail["request"]["lead_unit"]["code"], "scjgj", "{detail}");
    let history = detail["history"].as_array().unwrap();
    let dispatched = history.iter().find(|e| e["kind"] == "dispatched").unwrap();
    assert_eq!(dispatched["actor_role"], "system", "{dispatched}");
    let comment = dispatched["comment"].as_str().unwrap();
    assert!(comment.starts_with("自动派单：") && comment.contains("置信度") && comment.contains("第1版"), "{comment}");
    let (other, _) = app.submit(resident_consultation()).await;
    assert_eq!(app.detail(&other, &dispatcher).await["request"]["state"], "received");

    // Scoring keeps the audit: automatic dispatches per unit and the returns of them, out of the score.
    let (second, _) = app.submit(enterprise_complaint()).await;
    assert_eq!(app.detail(&second, &dispatcher).await["request"]["lead_unit"]["code"], "scjgj");
    app.act(&second, "return", &app.login("handler").await, serde_json::json!({ "reason": "不属本局职责" })).await;
    let today = mashangban_domain::scoring::day_of(&mashangban_domain::time::now());
    let supervisor = app.login("supervisor").await;
    let (status, scores) = app.get(&format!("/api/v1/scores?from={today}&to={today}"), Some(&supervisor)).await;
    assert_eq!(status, StatusCode::OK, "{scores}");
    let scjgj = scores["units"].as_array().unwrap().iter().find(|u| u["unit"]["code"] == "scjgj").unwrap();
    let audit = &scjgj["auto_dispatch_returns"];
    assert_eq!((audit["denominator"].as_i64(), audit["numerator"].as_i64()), (Some(2), Some(1)), "{scjgj}");
    assert_eq!(scores["city"]["counters"]["auto_assigned"], 2, "{scores}");
    let (_, html) = page(&app, &format!("/supervise?from={today}&to={today}"), &supervisor).await;
    assert!(html.contains("<td>2（退单 1）</td>"), "{html}");

    // Turned off by an empty version: the next one waits again; both versions are on record.
    assert_eq!(put(serde_json::json!({ "rules": [] }), "admin").await.0, StatusCode::OK);
    let (again, _) = app.submit(enterprise_complaint()).await;
    assert_eq!(app.detail(&again, &dispatcher).await["request"]["state"], "received");
    let (_, overview) = app.get("/api/v1/dispatch/auto", Some(&admin)).await;
    let versions: Vec<i64> =
        overview["history"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [2, 1], "{overview}");

    // The same on the administrators' page: a form per category, a number refused with its name.
    let (status, html) = page(&app, "/admin/dispatch", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"auto-biz.change\"") && html.contains("<span id=\"auto-version\">2</span>"), "{html}");
    let (status, location, _) = post_form(&app, "/admin/dispatch/auto", &admin, &[("biz.change", "0.8")]).await;
    assert!(status.is_redirection() && location.ends_with("ok=dispatch-auto"), "{status} {location}");
    let (status, _, html) = post_form(&app, "/admin/dispatch/auto", &admin, &[("biz.change", "很高")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("自动派单置信度应为小数") && html.contains("value=\"很高\""), "{html}");
    let (_, overview) = app.get("/api/v1/dispatch/auto", Some(&admin)).await;
    assert_eq!(overview["current"]["rules"][0]["min_confidence"], 0.8, "{overview}");
}

/// Intake reads the duplicate thresholds, the screening settings and the automatic-dispatch rules
/// from each node's caches; a version saved on one node reaches the others by the change feed.
#[tokio::test]
async fn settings_saved_on_one_node_are_in_force_on_another_by_the_change_feed() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let other = mashangban_web::AppState::new(app.db.open().await, mashangban_web::WebConfig::default()).await.unwrap();
    let spam = "代办证件，请问养老保险关系如何转移？";
    assert!(!other.screening().assess("养老保险", spam).await.unwrap().verdict.held, "not a phrase yet");
    let versions = |state: &mashangban_web::AppState<mashangban_backend::Backend>| {
        let s = state.caches().settings();
        (
            s.duplicate_thresholds.as_ref().map(|v| v.version),
            s.screening.as_ref().map(|v| v.version),
            s.auto_dispatch.as_ref().map(|v| v.version),
        )
    };
    assert_eq!(versions(&other), (None, None, None));

    let put = |path: &'static str, body: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let (status, saved) = app.call(reqwest::Method::PUT, path, Some(admin), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {saved}");
        }
    };
    let thresholds = json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 3, "hot_window_days": 7, "hot_similarity": 0.3 });
    put("/api/v1/dispatch/thresholds", thresholds).await;
    put("/api/v1/screening/settings", json!({ "phrases": ["代办证件"], "threshold": 0.75 })).await;
    put("/api/v1/dispatch/auto", json!({ "rules": [{ "category": "biz.change", "min_confidence": 0.9 }] })).await;
    assert_eq!(versions(&app.state), (Some(1), Some(1), Some(1)), "in force at once on the node that saved");

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while versions(&other) != (Some(1), Some(1), Some(1)) {
        assert!(tokio::time::Instant::now() < deadline, "the other node never heard: {:?}", versions(&other));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let thresholds = other.duplicates().thresholds();
    assert_eq!((thresholds.window_days, thresholds.hot_min_size), (30, 3));
    assert!(other.screening().assess("养老保险", spam).await.unwrap().verdict.held, "the new phrase holds there too");
}

/// The portal offers categories as the asker types (names only), throttled per address; the form
/// that comes back without a category names them beside the field.
#[tokio::test]
async fn the_portal_suggests_categories_as_the_asker_types_within_an_hourly_allowance() {
    let app = spawn_with(WebConfig {
        public_suggestions_per_hour: 3,
        public_intakes_per_hour: 10_000,
        ..WebConfig::default()
    })
    .await;
    let path = "/api/v1/public/category-suggestions";
    let (status, answer) =
        app.post(path, None, json!({ "title": "营业执照经营范围变更", "content": "法定代表人变更怎么办理" })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["categories"][0]["category"], "biz.change", "{answer}");
    let first = &answer["categories"][0];
    assert!(first.get("confidence").is_none() && first.get("reasons").is_none(), "names only: {answer}");
    // Nothing typed yet: nothing asked of the allowance.
    for _ in 0..5 {
        assert_eq!(
            app.post(path, None, json!({ "title": " ", "content": "" })).await,
            (StatusCode::OK, json!({ "categories": [] }))
        );
    }
    // Refusals, each with its code.
    let (status, answer) = app.post(path, None, json!({ "title": "开办", "content": "x", "town": "nowhere" })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_town")), "{answer}");
    let (status, answer) =
        app.post(path, None, json!({ "title": "开办", "content": "x", "category": "biz.change" })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_field")), "{answer}");
    // The third counted ask is the last of the hour.
    let (status, _) = app.post(path, None, json!({ "title": "公章遗失", "content": "刻章要带什么材料" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = app.post(path, None, json!({ "title": "公章遗失", "content": "刻章要带什么材料" })).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{answer}");

    // The page: the box the script fills, and the form sent without a category names the suggestions.
    let html = reqwest::get(app.url("/submit")).await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"category-suggestions\""), "{html}");
    let form = reqwest::multipart::Form::new()
        .text("asker_type", "resident")
        .text("contact_name", "陈嘉欣")
        .text("phone", "13800138000")
        .text("kind", "consultation")
        .text("category", "")
        .text("title", "公章遗失")
        .text("content", "刻章要带什么材料？");
    let res = crate::browser::no_redirects().post(app.url("/submit")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("请选择诉求分类。按您的描述，可能是：「"), "{html}");
    assert!(html.contains("刻章要带什么材料？"), "what was typed is kept");
}

#[tokio::test]
async fn the_likeness_weights_are_administered_and_change_what_is_listed() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let (first, _) = app.submit(enterprise_complaint()).await;
    // The same enterprise at the same address about something else: few words in common, alike by
    // the asker, the address, and the category and town (0.25 + 0.15 + 0.1 by default).
    let mut other = enterprise_complaint();
    other["title"] = "咨询开具纳税证明".into();
    other["content"] = "请问如何开具上一年度的完税证明？".into();
    let (second, _) = app.submit(other).await;
    let similar = |no: String| {
        let (app, dispatcher) = (&app, &dispatcher);
        async move {
            let (status, v) = app.get(&format!("/api/v1/dispatch/similar/{no}"), Some(dispatcher)).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            v.as_array().unwrap().iter().map(|s| s["tracking_no"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(similar(second.clone()).await, [first.as_str()], "listed under the default weights");
    let (_, overview) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    assert_eq!(
        overview["thresholds"]["weights"],
        serde_json::json!({ "same_asker": 0.25, "same_place": 0.15, "same_category_and_town": 0.1 })
    );

    let put = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move { app.call(reqwest::Method::PUT, "/api/v1/dispatch/thresholds", Some(admin), Some(body)).await }
    };
    let base = serde_json::json!({ "similarity": 0.45, "window_days": 30, "hot_min_size": 5, "hot_window_days": 7, "hot_similarity": 0.3 });
    // Out of bounds: refused, nothing saved.
    for (field, value, code) in [
        ("same_asker", 0.6, "invalid_same_asker_weight"),
        ("same_place", -0.1, "invalid_same_place_weight"),
        ("same_category_and_town", 2.0, "invalid_same_category_and_town_weight"),
        ("cross_town_similarity", 0.99, "invalid_cross_town_similarity"),
    ] {
        let mut bad = base.clone();
        bad[field] = value.into();
        let (status, err) = put(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {err}");
        assert_eq!(err["code"], code, "{err}");
        assert!(err["message"].as_str().unwrap().contains("应在"), "{err}");
    }
    let (_, unchanged) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    assert_eq!(unchanged["history"], serde_json::json!([]), "nothing written by a refusal");

    // Without the extra signals the words alone do not make it the same matter.
    let mut none = base.clone();
    for field in ["same_asker", "same_place", "same_category_and_town"] {
        none[field] = 0.0.into();
    }
    let (status, saved) = put(none).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["weights"]["same_asker"], 0.0);
    assert!(similar(second.clone()).await.is_empty());
    // Weights left out keep the version in force.
    let (status, saved) = put(base.clone()).await;
    assert_eq!((status, saved["version"].as_i64()), (StatusCode::OK, Some(2)), "{saved}");
    assert_eq!(
        saved["weights"],
        serde_json::json!({ "same_asker": 0.0, "same_place": 0.0, "same_category_and_town": 0.0 })
    );
    assert!(similar(second.clone()).await.is_empty());

    // The admin page shows them and saves them; a bad one is refused with what was typed kept.
    let (status, html) = page(&app, "/admin/duplicates", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("相同诉求人加分") && html.contains("name=\"same_asker\" inputmode=\"decimal\" value=\"0.00\""),
        "{html}"
    );
    let mut form = vec![
        ("similarity", "0.45"),
        ("window_days", "30"),
        ("same_asker", "0.5"),
        ("same_place", "0.9"),
        ("same_category_and_town", "0"),
        ("hot_min_size", "5"),
        ("hot_window_days", "7"),
        ("hot_similarity", "0.3"),
        ("cross_town_similarity", "0.5"),
    ];
    let (status, _, html) = post_form(&app, "/admin/duplicates", &admin, &form).await;
    assert!(status.is_client_error(), "{status}");
    assert!(html.contains("相同地址加分应在 0 到 0.5 之间") && html.contains("value=\"0.9\""), "{html}");
    form[3] = ("same_place", "0");
    let (status, _, _) = post_form(&app, "/admin/duplicates", &admin, &form).await;
    assert!(status.is_redirection(), "{status}");
    // The same asker alone (0.5) now lists it again.
    let (_, overview) = app.get("/api/v1/dispatch/thresholds", Some(&admin)).await;
    assert_eq!(overview["thresholds"]["version"], 3, "{overview}");
    assert_eq!(similar(second.clone()).await, [first.as_str()]);
    let (_, listed) = app.get(&format!("/api/v1/dispatch/similar/{second}"), Some(&dispatcher)).await;
    assert_eq!(listed[0]["same_asker"], true, "{listed}");
}

/// Returns as negative evidence (退单): a unit whose return stood is not suggested for that request
/// again — on the API, and beside the redispatch form, which names it — whatever the catalogue or
/// history say; a return the dispatcher refused (退单不予同意) is no evidence.
#[tokio::test]
async fn a_unit_whose_return_stood_is_not_suggested_for_that_request_again() {
    let app = spawn().await;
    with_demo_history(&app, 300).await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let rsj_handler = unit_handler(&app, "rsj", "rsj-handler").await;
    let suggestions = |no: String| {
        let (app, dispatcher) = (&app, &dispatcher);
        async move {
            let (status, answer) = app.get(&format!("/api/v1/dispatch/suggestions/{no}"), Some(dispatcher)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    let units = |answer: &Value| -> Vec<String> {
        answer["suggestions"].as_array().unwrap().iter().map(|s| s["unit"].as_str().unwrap().to_owned()).collect()
    };
    let (no, _) = app.submit(enterprise_complaint()).await;
    assert_eq!(first_unit(&suggestions(no.clone()).await), "scjgj", "the catalogue's unit first");

    // Returned, and the return refused: scjgj stays first.
    app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&no, "return", &handler, json!({ "reason": "不属本局职责" })).await;
    app.act(&no, "refuse-return", &dispatcher, json!({ "reason": "营业执照变更属市场监管局职责" })).await;
    let answer = suggestions(no.clone()).await;
    assert_eq!((first_unit(&answer), answer["returned_by"].as_array().unwrap().len()), ("scjgj", 0), "{answer}");

    // Returned again and waiting for review: scjgj is left out, the others fill the list.
    app.act(&no, "return", &handler, json!({ "reason": "仍不属本局职责" })).await;
    let answer = suggestions(no.clone()).await;
    assert_eq!(answer["returned_by"], json!([{ "code": "scjgj", "name": "市市场监管局" }]), "{answer}");
    let listed = units(&answer);
    assert!(!listed.is_empty() && !listed.contains(&"scjgj".to_owned()), "{answer}");
    let total: f64 = answer["suggestions"].as_array().unwrap().iter().map(|s| s["confidence"].as_f64().unwrap()).sum();
    assert!(total <= 1.02, "the others share what is left: {answer}");
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(
        html.contains("id=\"redispatch-returned\"") && html.contains("已退单的单位不再建议：市市场监管局"),
        "{html}"
    );
    let offered = html.split("id=\"redispatch-suggestions\"").nth(1).unwrap().split("</ol>").next().unwrap();
    assert!(!offered.contains("<strong>市市场监管局</strong>"), "{offered}");

    // Sent on to rsj, which returns it too: both are left out, first return first.
    app.act(&no, "redispatch", &dispatcher, json!({ "lead_unit": "rsj" })).await;
    app.act(&no, "return", &rsj_handler, json!({ "reason": "不属本局职责" })).await;
    let answer = suggestions(no.clone()).await;
    let returned: Vec<&str> =
        answer["returned_by"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(returned, ["scjgj", "rsj"], "{answer}");
    assert!(units(&answer).iter().all(|u| u != "scjgj" && u != "rsj"), "{answer}");

    // Another request of the same category still has scjgj first.
    let (other, _) = app.submit(enterprise_complaint()).await;
    assert_eq!(first_unit(&suggestions(other).await), "scjgj");
}
