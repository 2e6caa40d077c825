//! The knowledge base of standard answers through `/api/v1/knowledge`: staff
//! search, administrators write with an optimistic version check, every
//! version is kept, and a direct close cites the version it read.

use super::*;

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

fn article() -> Value {
    json!({
        "title": "居住证怎么办理",
        "body": "在本市居住满半年并有合法稳定就业、住所或连续就读的，可携带身份证到居住地派出所或镇街居住证窗口申领居住证。",
        "category": "security.residence",
        "keywords": ["居住证", "积分入学"]
    })
}

#[tokio::test]
async fn staff_find_the_seeded_answers_by_the_callers_words() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let (status, found) = app.get(&format!("/api/v1/knowledge?q={}", "公司想提取公积金"), Some(&operator)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["title"], "住房公积金提取条件和办理渠道");
    assert_eq!(found[0]["category"]["code"], "housing.fund");
    let (_, found) = app.get(&format!("/api/v1/knowledge?q={}", "营业执照怎么办理"), Some(&operator)).await;
    assert_eq!(found[0]["title"], "营业执照怎么办理（企业设立登记）");
    let (_, all) = app.get("/api/v1/knowledge", Some(&operator)).await;
    assert_eq!(all.as_array().unwrap().len(), 6, "the demo city's standard answers");

    assert_eq!(app.get("/api/v1/knowledge", None).await.0, StatusCode::UNAUTHORIZED);
    let enterprise = app.login("enterprise").await;
    assert_eq!(app.get("/api/v1/knowledge?q=社保", Some(&enterprise)).await.0, StatusCode::FORBIDDEN);
    let (status, err) = app.get("/api/v1/knowledge?x=1", Some(&operator)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_parameter")));
    let (status, err) = app.get(&format!("/api/v1/knowledge?q={}", "长".repeat(201)), Some(&operator)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_parameter")));
}

#[tokio::test]
async fn administrators_write_versions_and_stale_or_bad_writes_change_nothing() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let operator = app.login("operator").await;

    assert_eq!(app.post("/api/v1/knowledge", Some(&operator), article()).await.0, StatusCode::FORBIDDEN);
    let (status, created) = app.post("/api/v1/knowledge", Some(&admin), article()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        (created["version"].as_i64(), created["citation"].as_str()),
        (Some(1), Some(format!("【标准答复 #{id} 第1版】").as_str()))
    );
    assert_eq!(created["updated_by"], "管理员 吴文杰（admin）");

    let path = format!("/api/v1/knowledge/{id}");
    let mut edit = article();
    edit["version"] = json!(1);
    edit["body"] = json!("可通过“粤省事”小程序在线申领居住证。");
    let (status, edited) = put(&app, &path, &admin, edit.clone()).await;
    assert_eq!((status, edited["version"].as_i64()), (StatusCode::OK, Some(2)), "{edited}");
    let (status, err) = put(&app, &path, &admin, edit).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("article_changed")), "a stale version");

    let bad = [
        (json!({ "title": " ", "body": "x" }), StatusCode::UNPROCESSABLE_ENTITY, "text_required"),
        (json!({ "title": "x", "body": "长".repeat(3901) }), StatusCode::UNPROCESSABLE_ENTITY, "text_too_long"),
        (
            json!({ "title": "x", "body": "y", "category": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_category",
        ),
        (
            json!({ "title": "x", "body": "y", "keywords": (0..21).map(|i| i.to_string()).collect::<Vec<_>>() }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_keywords",
        ),
        (json!({ "title": "x", "body": "y", "secret": 1 }), StatusCode::BAD_REQUEST, "unknown_field"),
    ];
    for (body, status, code) in bad {
        let (got, err) = app.post("/api/v1/knowledge", Some(&admin), body).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)));
    }
    let (status, err) = app.get("/api/v1/knowledge/abc", Some(&operator)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("article_not_found")));

    let (status, off) =
        app.post(&format!("{path}/active"), Some(&admin), json!({ "version": 2, "active": false })).await;
    assert_eq!((status, off["version"].as_i64(), off["active"].as_bool()), (StatusCode::OK, Some(3), Some(false)));
    assert_eq!(app.get(&path, Some(&operator)).await.0, StatusCode::NOT_FOUND, "staff no longer see it");
    let (_, found) = app.get(&format!("/api/v1/knowledge?q={}", "居住证"), Some(&operator)).await;
    assert!(found.as_array().unwrap().is_empty(), "never suggested once deactivated");
    let (_, all) = app.get("/api/v1/knowledge", Some(&admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 7, "administrators still list it");

    let (status, revisions) = app.get(&format!("{path}/revisions"), Some(&operator)).await;
    assert_eq!(status, StatusCode::OK);
    let versions: Vec<(i64, bool)> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_i64().unwrap(), r["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(versions, vec![(3, false), (2, true), (1, true)]);
    assert_eq!(revisions[2]["body"], article()["body"], "the first text, exactly");
}

#[tokio::test]
async fn a_direct_close_from_the_console_cites_the_answer_it_read() {
    let app = spawn().await;
    let operator = app.login("operator").await;
    let (_, found) = app.get(&format!("/api/v1/knowledge?q={}", "社保参保登记"), Some(&operator)).await;
    let (id, version, body) = (
        found[0]["id"].as_i64().unwrap(),
        found[0]["version"].as_i64().unwrap(),
        found[0]["body"].as_str().unwrap().to_owned(),
    );
    let call = [
        ("channel", "phone"),
        ("kind", "consultation"),
        ("urgency", "normal"),
        ("asker_type", "resident"),
        ("phone", "13912345678"),
        ("contact_name", "李伟明"),
        ("category", "social.pension"),
        ("title", "新公司怎么办社保参保登记"),
        ("content", "刚成立的公司，员工社保参保登记怎么办？"),
        ("article", &id.to_string()),
    ];
    let (status, location, _) = browser::post_form(&app, "/console", &operator, &call).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with(&format!("&article={id}")), "{location}");
    let no = location.trim_start_matches("/console?done=").split('&').next().unwrap().to_owned();
    let (_, html) = browser::page(&app, &location, &operator).await;
    let citation = format!("【标准答复 #{id} 第{version}版】");
    assert!(html.contains(&citation), "the answer is filled with the article and its citation");
    assert!(
        html.contains("id=\"done-suggestions\"") && html.contains("社保参保登记（单位新参保）"),
        "offered without the script too"
    );

    let answer = format!("{body}\n{citation}");
    let (status, _, _) =
        browser::post_form(&app, &format!("/work/{no}/direct-close"), &operator, &[("answer", &answer)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let detail = app.detail(&no, &operator).await;
    assert_eq!(detail["request"]["state"], "closed");
    let events = detail["history"].as_array().unwrap();
    let close = events.iter().rev().find(|e| e["kind"] == "directly_closed").expect("the direct close event");
    assert!(close["comment"].as_str().unwrap().ends_with(&citation), "{close}");
}
