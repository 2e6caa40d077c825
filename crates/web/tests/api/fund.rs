//! The industry support fund (产业扶持资金) through the API: a policy with its
//! measures kept as data, an enterprise applying, the town's 初审, the
//! department's 复审 with an adjustment, the public notice with an objection
//! and its answer, payment; rejections; and every bad input with its stable
//! code and a Chinese message: missing data, a rule that does not parse,
//! allocations that do not add up, an award over the cap, over the budget.

use super::*;

fn measures() -> Value {
    json!([
        {
            "code": "M01",
            "name": "固定资产投资奖励",
            "fields": [
                { "name": "固定资产投资", "type": "number" },
                { "name": "规上企业", "type": "bool" }
            ],
            "eligibility": "规上企业 且 固定资产投资 >= 20000000",
            "award": "固定资产投资 * 0.05",
            "cap": "5000000"
        },
        {
            "code": "M02",
            "name": "首次认定高新技术企业奖励",
            "fields": [{ "name": "首次认定高新技术企业", "type": "bool" }],
            "eligibility": "首次认定高新技术企业",
            "award": "200000"
        }
    ])
}

pub(super) fn policy(total: &str, allocations: Value) -> Value {
    json!({
        "name": "某街道促进产业高质量发展扶持办法（试行）",
        "issuer": "某街道办事处",
        "total": total,
        "allocations": allocations,
        "notice_working_days": 5,
        "measures": measures()
    })
}

/// A policy created by the administrator; answers it.
pub(super) async fn create_policy(app: &App, admin: &Session, body: Value) -> Value {
    let (status, created) = app.post("/api/v1/fund/policies", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

pub(super) fn measure_id(policy: &Value, code: &str) -> i64 {
    policy["measures"].as_array().unwrap().iter().find(|m| m["code"] == code).unwrap()["id"].as_i64().unwrap()
}

/// Registers the demo enterprise account's enterprise in 古镇; answers its credit code.
pub(super) async fn register_enterprise(app: &App, admin: &Session) -> String {
    let code = app.store.find_user("enterprise").await.unwrap().unwrap().credit_code.unwrap();
    let body = json!({ "credit_code": code, "name": "中山市古镇星辉灯饰有限公司", "town": "guzhen" });
    let (status, answer) = app.post("/api/v1/enterprises", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    code
}

pub(super) async fn apply(app: &App, who: &Session, body: Value) -> i64 {
    let (status, view) = app.post("/api/v1/fund/applications", Some(who), body).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    view["id"].as_i64().unwrap()
}

pub(super) async fn step(app: &App, who: &Session, id: i64, deed: &str, body: Value) -> Value {
    let (status, view) = app.post(&format!("/api/v1/fund/applications/{id}/{deed}"), Some(who), body).await;
    assert_eq!(status, StatusCode::OK, "{deed}: {view}");
    view
}

fn assert_refused(answer: (StatusCode, Value), status: StatusCode, code: &str) -> String {
    assert_eq!((answer.0, answer.1["code"].as_str()), (status, Some(code)), "{}", answer.1);
    answer.1["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_enterprise_applies_and_the_award_goes_through_review_notice_and_payment() {
    let app = spawn().await;
    app.set_time("2023-06-01T10:00:00+08:00");
    let admin = app.login("admin").await;
    let allocations = json!([
        { "year": 2022, "amount": "20000000" },
        { "year": 2023, "amount": "20000000" },
        { "year": 2024, "amount": "20000000" }
    ]);
    let created = create_policy(&app, &admin, policy("60000000", allocations)).await;
    assert_eq!((created["total"].as_str(), created["years"].as_array().unwrap().len()), (Some("60000000.00"), 3));
    register_enterprise(&app, &admin).await;
    let enterprise = app.login("enterprise").await;
    let m01 = measure_id(&created, "M01");

    // The measure's data is checked and the award computed: 120,000,000 × 5 % = 6,000,000, capped at 5,000,000.
    let missing = json!({ "measure_id": m01, "year": 2023, "data": { "固定资产投资": 120000000 } });
    let message = assert_refused(
        app.post("/api/v1/fund/applications", Some(&enterprise), missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_required_data",
    );
    assert_eq!(message, "缺少申报数据：规上企业");
    let small = json!({ "measure_id": m01, "year": 2023, "data": { "固定资产投资": "1000000", "规上企业": true } });
    assert_refused(
        app.post("/api/v1/fund/applications", Some(&enterprise), small).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_eligible",
    );
    let body = json!({
        "measure_id": m01,
        "year": 2023,
        "data": { "固定资产投资": "120,000,000", "规上企业": true },
        "materials": [{ "name": "固定资产投资专项审计报告" }, { "name": "设备购置发票" }]
    });
    let id = apply(&app, &enterprise, body).await;
    let (_, view) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&enterprise)).await;
    assert_eq!(
        (view["state"].as_str(), view["computed"].as_str(), view["award"].as_str(), view["cap"].as_str()),
        (Some("submitted"), Some("6000000.00"), Some("5000000.00"), Some("5000000.00"))
    );
    assert_eq!(view["data"]["固定资产投资"], "120000000");
    assert_eq!(view["materials"].as_array().unwrap().len(), 2);

    // Only the enterprise's own town reviews first; another town does not even see it.
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let (status, _) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&xiaolan)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.get("/api/v1/fund/applications", Some(&xiaolan)).await;
    assert_eq!(listed["total"], 0);
    let dispatcher = app.login("dispatcher").await;
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/department-review"), Some(&dispatcher), json!({})).await,
        StatusCode::CONFLICT,
        "invalid_fund_transition",
    );
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/town-review"), Some(&dispatcher), json!({})).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );
    let department_handler = app.login("handler").await;
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/town-review"), Some(&department_handler), json!({})).await,
        StatusCode::FORBIDDEN,
        "not_town_reviewer",
    );
    step(&app, &guzhen, id, "town-review", json!({ "version": 1 })).await;

    // 复审: an adjustment needs a reason and stays under the cap; it reserves the year's budget.
    let over = json!({ "award": "5000000.01", "reason": "按审计结果" });
    let message = assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/department-review"), Some(&dispatcher), over).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "award_over_cap",
    );
    assert_eq!(message, "核定金额5000000.01元超过本项措施的上限5000000.00元");
    assert_refused(
        app.post(
            &format!("/api/v1/fund/applications/{id}/department-review"),
            Some(&dispatcher),
            json!({ "award": "4500000" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
    );
    let adjusted = json!({ "award": "4500000", "reason": "核减未完成投资部分" });
    let view = step(&app, &dispatcher, id, "department-review", adjusted).await;
    assert_eq!((view["state"].as_str(), view["award"].as_str()), (Some("department_reviewed"), Some("4500000.00")));
    let (_, policies) = app.get("/api/v1/fund/policies", None).await;
    let year = &policies[0]["years"][1];
    assert_eq!((year["year"].as_i64(), year["reserved"].as_str()), (Some(2023), Some("4500000.00")));
    assert_eq!((year["remaining"].as_str(), year["used_percent"].as_str()), (Some("15500000.00"), Some("22.5")));

    // 公示 for five working days: the public list shows the enterprise and the award, nothing personal.
    let view = step(&app, &dispatcher, id, "publicise", json!({})).await;
    assert_eq!(view["notice_ends_at"], "2023-06-08T17:30:00.000+08:00");
    let (status, notices) = app.get("/api/v1/fund/notices", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        notices,
        json!([{
            "application_id": id,
            "enterprise_name": "中山市古镇星辉灯饰有限公司",
            "measure_name": "固定资产投资奖励",
            "year": 2023,
            "award": "4500000.00",
            "notice_ends_at": "2023-06-08T17:30:00.000+08:00",
            "open": true
        }])
    );

    // The portal's /fund page shows the notice and the budget use, without signing in.
    let html = app.http.get(app.url("/fund")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("产业扶持资金公示") && html.contains("中山市古镇星辉灯饰有限公司"), "{html}");
    assert!(
        html.contains("4500000.00")
            && html.contains("15500000.00")
            && html.contains("<code>固定资产投资 * 0.05</code>")
    );

    // Objections: anyone signed in, during the notice; payment waits for the notice and the answers.
    let objection = json!({ "text": "该企业2022年有环保处罚记录" });
    let (status, _) = app.post(&format!("/api/v1/fund/applications/{id}/objections"), None, objection.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let liaison = app.login("liaison").await;
    let (status, raised) =
        app.post(&format!("/api/v1/fund/applications/{id}/objections"), Some(&liaison), objection).await;
    assert_eq!(status, StatusCode::CREATED, "{raised}");
    let pay = json!({ "note": "国库集中支付凭证 2023-118" });
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/pay"), Some(&dispatcher), pay.clone()).await,
        StatusCode::CONFLICT,
        "notice_not_over",
    );
    app.set_time("2023-06-09T09:00:00+08:00");
    let (liaison, dispatcher) = (app.login("liaison").await, app.login("dispatcher").await);
    let enterprise = app.login("enterprise").await;
    let late = json!({ "text": "迟到的异议" });
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/objections"), Some(&liaison), late).await,
        StatusCode::CONFLICT,
        "not_in_notice",
    );
    let message = assert_refused(
        app.post(&format!("/api/v1/fund/applications/{id}/pay"), Some(&dispatcher), pay.clone()).await,
        StatusCode::CONFLICT,
        "objections_open",
    );
    assert_eq!(message, "还有1条异议未答复，不能拨付");
    let objection_id = raised["id"].as_i64().unwrap();
    let answer = json!({ "text": "经核查，处罚已整改完毕，不影响本次申报" });
    let (status, answered) =
        app.post(&format!("/api/v1/fund/objections/{objection_id}/answer"), Some(&dispatcher), answer.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_refused(
        app.post(&format!("/api/v1/fund/objections/{objection_id}/answer"), Some(&dispatcher), answer).await,
        StatusCode::CONFLICT,
        "objection_already_answered",
    );
    let view = step(&app, &dispatcher, id, "pay", pay).await;
    assert_eq!(view["state"], "paid");
    let kinds: Vec<&str> = view["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["submit", "town_review", "department_review", "publicise", "objection", "answer", "pay"]);
    assert_eq!(view["history"][2]["note"], "核减未完成投资部分");

    // The enterprise sees the objection, its author masked; the budget shows the payment.
    let (_, own) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&enterprise)).await;
    let raised_by = own["objections"][0]["raised_by"].as_str().unwrap();
    assert!(!raised_by.contains("冯海涛"), "{raised_by}");
    let (_, policies) = app.get("/api/v1/fund/policies", None).await;
    assert_eq!(policies[0]["years"][1]["paid"], "4500000.00");

    // The staff list page: the town sees its applications, with the export link of the same filter.
    let guzhen = app.login("guzhen-handler").await;
    let html =
        app.http.get(app.url("/fund/applications?state=paid&year=")).header("cookie", &guzhen.0).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("产业扶持资金申报（共 1 件）") && html.contains("已拨付"), "{html}");
    assert!(html.contains("/api/v1/fund/applications/export?state=paid\""), "{html}");
    let (status, _) = app.get("/fund/applications?year=明年", Some(&guzhen)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The Excel export: one row per application with its award, in the reader's scope.
    let rows = export_rows(&app, &dispatcher, "/api/v1/fund/applications/export?year=2023").await;
    assert_eq!(rows[0].get(6).as_text().as_deref(), Some("企业名称"));
    assert_eq!(rows.len(), 2);
    let row = &rows[1];
    assert_eq!(
        (row.get(4).as_text(), row.get(6).as_text(), row.get(9).as_text()),
        (Some("固定资产投资奖励".into()), Some("中山市古镇星辉灯饰有限公司".into()), Some("已拨付".into()))
    );
    assert_eq!((row.get(10), row.get(11)), (&Cell::Number(6_000_000.0), &Cell::Number(4_500_000.0)));
    assert_eq!(export_rows(&app, &xiaolan_again(&app).await, "/api/v1/fund/applications/export").await.len(), 1);
}

use mashangban_sheet::{Cell, Limits, Row, open_xlsx};

/// The rows of an exported workbook's one sheet, the header first.
async fn export_rows(app: &App, who: &Session, path: &str) -> Vec<Row> {
    let res = app.http.get(app.url(path)).header("cookie", &who.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    book.rows_by_name("扶持资金申报").unwrap().map(Result::unwrap).collect()
}

/// The 小榄 handler signed in again (after the clock moved past the session).
async fn xiaolan_again(app: &App) -> Session {
    app.login("xiaolan-handler").await
}

#[tokio::test]
async fn bad_policies_rejections_and_the_budget_refusal() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let admin = app.login("admin").await;

    // A policy whose years do not add up, or whose rule does not parse, is refused whole.
    let short = policy("60000000", json!([{ "year": 2026, "amount": "50000000" }]));
    let message = assert_refused(
        app.post("/api/v1/fund/policies", Some(&admin), short).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "allocation_sum_mismatch",
    );
    assert_eq!(message, "各年度资金安排合计50000000.00元，与资金总额60000000.00元不一致");
    let mut broken = policy("300000", json!([{ "year": 2026, "amount": "300000" }]));
    broken["measures"][0]["eligibility"] = json!("规上企业 且 固定资产投资 >=");
    let message = assert_refused(
        app.post("/api/v1/fund/policies", Some(&admin), broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_eligibility_rule",
    );
    assert!(message.starts_with("资格条件有误："), "{message}");
    let (status, _) = app.get("/api/v1/fund/policies", None).await;
    assert_eq!(status, StatusCode::OK);
    let dispatcher = app.login("dispatcher").await;
    let (status, _) = app
        .post(
            "/api/v1/fund/policies",
            Some(&dispatcher),
            policy("300000", json!([{ "year": 2026, "amount": "300000" }])),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 2026 fits one award of 200,000 yuan.
    let created = create_policy(&app, &admin, policy("300000", json!([{ "year": 2026, "amount": "300000" }]))).await;
    let code = register_enterprise(&app, &admin).await;
    let enterprise = app.login("enterprise").await;
    let m02 = measure_id(&created, "M02");
    let body = json!({ "measure_id": m02, "data": { "首次认定高新技术企业": "是" } });
    for (field, code) in [("外资企业", "unknown_data_field"), ("首次认定高新技术企业", "invalid_data_value")]
    {
        let bad = json!({ "measure_id": m02, "data": { field: "很多" } });
        assert_refused(
            app.post("/api/v1/fund/applications", Some(&enterprise), bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        );
    }
    let other = json!({ "measure_id": m02, "credit_code": "91442000MA52000019", "data": {} });
    assert_eq!(
        app.post("/api/v1/fund/applications", Some(&enterprise), other).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let liaison = app.login("liaison").await;
    let theirs = json!({ "measure_id": m02, "credit_code": code, "data": { "首次认定高新技术企业": true } });
    assert_refused(
        app.post("/api/v1/fund/applications", Some(&liaison), theirs).await,
        StatusCode::FORBIDDEN,
        "fund_not_your_enterprise",
    );
    let (first, second, third) = (
        apply(&app, &enterprise, body.clone()).await,
        apply(&app, &enterprise, body.clone()).await,
        apply(&app, &enterprise, body).await,
    );
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;

    // 不予支持 needs a reason; the town may reject while it is 受理.
    assert_refused(
        app.post(&format!("/api/v1/fund/applications/{third}/reject"), Some(&guzhen), json!({ "note": " " })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
    );
    let view = step(&app, &guzhen, third, "reject", json!({ "note": "同一事项重复申报" })).await;
    assert_eq!((view["state"].as_str(), view["state_label"].as_str()), (Some("rejected"), Some("不予支持")));

    let dispatcher = app.login("dispatcher").await;
    for id in [first, second] {
        step(&app, &guzhen, id, "town-review", json!({})).await;
    }
    step(&app, &dispatcher, first, "department-review", json!({})).await;
    let message = assert_refused(
        app.post(&format!("/api/v1/fund/applications/{second}/department-review"), Some(&dispatcher), json!({})).await,
        StatusCode::CONFLICT,
        "budget_exceeded",
    );
    assert_eq!(message, "2026年度扶持资金余额100000.00元，不足以核定200000.00元");
    let (_, view) = app.get(&format!("/api/v1/fund/applications/{second}"), Some(&dispatcher)).await;
    assert_eq!((view["state"].as_str(), view["history"].as_array().unwrap().len()), (Some("town_reviewed"), 2));

    // Rejecting the approved one gives its money back; the second then fits.
    step(&app, &dispatcher, first, "reject", json!({ "note": "经核查不属于首次认定" })).await;
    step(&app, &dispatcher, second, "department-review", json!({})).await;
    let (_, policies) = app.get("/api/v1/fund/policies", None).await;
    assert_eq!(policies[0]["years"][0]["reserved"], "200000.00");
    let (_, mine) = app.get("/api/v1/fund/applications?state=rejected", Some(&enterprise)).await;
    assert_eq!(mine["total"], 2);
    let (status, _) = app.get("/api/v1/fund/applications?state=approved", Some(&enterprise)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_approvals_at_once_through_the_api_spend_at_most_the_budget() {
    let app = spawn().await;
    app.set_time("2026-03-02T10:00:00+08:00");
    let admin = app.login("admin").await;
    // 2026 fits 150 awards of 200,000 yuan.
    let created =
        create_policy(&app, &admin, policy("30000000", json!([{ "year": 2026, "amount": "30000000" }]))).await;
    register_enterprise(&app, &admin).await;
    let (enterprise, guzhen) = (app.login("enterprise").await, unit_handler(&app, "guzhen", "guzhen-handler").await);
    let body = json!({ "measure_id": measure_id(&created, "M02"), "data": { "首次认定高新技术企业": true } });
    let mut ids = Vec::new();
    for _ in 0..200 {
        let id = apply(&app, &enterprise, body.clone()).await;
        step(&app, &guzhen, id, "town-review", json!({})).await;
        ids.push(id);
    }
    let app = std::sync::Arc::new(app);
    let dispatcher = std::sync::Arc::new(app.login("dispatcher").await);
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let (app, dispatcher) = (app.clone(), dispatcher.clone());
            tokio::spawn(async move {
                app.post(&format!("/api/v1/fund/applications/{id}/department-review"), Some(&dispatcher), json!({}))
                    .await
            })
        })
        .collect();
    let mut approved = 0;
    for task in tasks {
        let (status, answer) = task.await.unwrap();
        match status {
            StatusCode::OK => approved += 1,
            _ => assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("budget_exceeded"))),
        }
    }
    assert_eq!(approved, 150);
    let (_, policies) = app.get("/api/v1/fund/policies", None).await;
    let year = &policies[0]["years"][0];
    assert_eq!((year["reserved"].as_str(), year["remaining"].as_str()), (Some("30000000.00"), Some("0.00")));
}
