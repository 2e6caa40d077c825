//! The industry support fund's pages: an enterprise applies through the form
//! rendered from the measure's data fields (a refusal shown in Chinese, what
//! was typed kept), a liaison cadre applies for an assigned enterprise, the
//! town and the office review on the application's page (a refused step —
//! over the cap, over the budget, notice not over — shown next to its form),
//! an objection is raised and answered, the award is paid; the report by
//! measure, town and industry and its Excel export; the enterprise's file
//! lists its applications; readers outside the scope get 404.

use super::browser::{page, post_form};
use super::fund::{create_policy, measure_id, policy, register_enterprise};
use super::*;

use mashangban_sheet::{Cell, Limits, open_xlsx};

/// The id of the application a successful apply form redirected to.
fn landed(status: StatusCode, location: &str, body: &str) -> i64 {
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    location.strip_prefix("/fund/applications/").and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{location}"))
}

/// Posts a step's form; asserts the redirect back to the application's page.
async fn step_ok(app: &App, who: &Session, id: i64, deed: &str, form: &[(&str, &str)]) {
    let (status, location, body) = post_form(app, &format!("/fund/applications/{id}/{deed}"), who, form).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("/fund/applications/{id}").as_str()),
        "{deed}: {body}"
    );
}

/// Posts a step's form that must be refused; answers the page.
async fn step_refused(
    app: &App,
    who: &Session,
    id: i64,
    deed: &str,
    form: &[(&str, &str)],
    status: StatusCode,
) -> String {
    let (got, _, body) = post_form(app, &format!("/fund/applications/{id}/{deed}"), who, form).await;
    assert_eq!(got, status, "{deed}: {body}");
    body
}

/// Assigns the demo liaison cadre to the enterprise.
async fn assign_liaison(app: &App, admin: &Session, code: &str) {
    let cadre = app.store.find_user("liaison").await.unwrap().unwrap().id;
    let profile = json!({ "level": "town", "post": "古镇镇党委副书记", "work_phone": "0760-22338899" });
    let path = format!("/api/v1/liaisons/cadres/{cadre}");
    let (status, saved) = app.call(reqwest::Method::PUT, &path, Some(admin), Some(profile)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let body = json!({ "user_id": cadre, "kind": "lead" });
    let (status, assigned) = app.post(&format!("/api/v1/enterprises/{code}/liaisons"), Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
}

#[tokio::test]
async fn applying_reviewing_objecting_and_paying_through_the_pages() {
    let app = spawn().await;
    app.set_time("2023-06-01T10:00:00+08:00");
    let admin = app.login("admin").await;
    // 2023 fits 300,000 yuan: one M02 award (200,000), never an M01 one (up to 5,000,000).
    let created = create_policy(&app, &admin, policy("300000", json!([{ "year": 2023, "amount": "300000" }]))).await;
    let (m01, m02) = (measure_id(&created, "M01"), measure_id(&created, "M02"));
    let code = register_enterprise(&app, &admin).await;
    let enterprise = app.login("enterprise").await;

    // The list offers 申报; the form lists the measures, then renders the chosen one's fields.
    let (status, html) = page(&app, "/fund/applications", &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/fund/apply\""), "{html}");
    let (status, html) = page(&app, "/fund/apply", &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("申报产业扶持资金") && html.contains(&format!("/fund/apply?measure={m01}")), "{html}");
    let (status, html) = page(&app, &format!("/fund/apply?measure={m01}"), &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("申报：固定资产投资奖励") && html.contains("规上企业 且 固定资产投资 &#62;= 20000000"),
        "{html}"
    );
    assert!(html.contains("name=\"d_固定资产投资\"") && html.contains("name=\"d_规上企业\""), "{html}");
    assert!(html.contains("<option value=\"2023\" selected>2023年度</option>"), "{html}");
    let (status, _) = page(&app, "/fund/apply?measure=999", &enterprise).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Missing data is refused in Chinese, the typed values kept; then it lands on the application's page.
    let m01_text = m01.to_string();
    let missing =
        [("measure_id", m01_text.as_str()), ("year", "2023"), ("d_固定资产投资", "120,000,000"), ("d_规上企业", "")];
    let (status, _, html) = post_form(&app, "/fund/apply", &enterprise, &missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("缺少申报数据：规上企业") && html.contains("value=\"120,000,000\""), "{html}");
    let full = [
        ("measure_id", m01_text.as_str()),
        ("year", "2023"),
        ("d_固定资产投资", "120,000,000"),
        ("d_规上企业", "是"),
        ("materials", "固定资产投资专项审计报告\n\n设备购置发票"),
    ];
    let (status, location, body) = post_form(&app, "/fund/apply", &enterprise, &full).await;
    let big = landed(status, &location, &body);
    let (status, html) = page(&app, &location, &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("申报 {big}：固定资产投资奖励")) && html.contains("已受理"), "{html}");
    assert!(html.contains("6000000.00 元") && html.contains("<strong>5000000.00 元</strong>"), "{html}");
    assert!(html.contains("<td>固定资产投资</td><td>120000000</td>") && html.contains("设备购置发票"), "{html}");
    assert!(!html.contains("do-town-review") && !html.contains("do-reject"), "the enterprise reviews nothing: {html}");
    assert!(html.contains("申报受理"), "history: {html}");

    // A liaison cadre applies for an assigned enterprise only.
    let liaison = app.login("liaison").await;
    let (_, html) = page(&app, &format!("/fund/apply?measure={m02}"), &liaison).await;
    assert!(html.contains("您没有联系的企业"), "{html}");
    assign_liaison(&app, &admin, &code).await;
    let (_, html) = page(&app, &format!("/fund/apply?measure={m02}"), &liaison).await;
    assert!(html.contains(&format!("<option value=\"{code}\">中山市古镇星辉灯饰有限公司")), "{html}");
    let m02_text = m02.to_string();
    let unassigned = mashangban_domain::validation::CreditCode::with_check_char("91442000MA5LJAJ02").unwrap();
    let other =
        [("measure_id", m02_text.as_str()), ("credit_code", unassigned.as_str()), ("d_首次认定高新技术企业", "是")];
    let (status, _, html) = post_form(&app, "/fund/apply", &liaison, &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("只能为您联系的企业代为申报"), "{html}");
    let theirs = [
        ("measure_id", m02_text.as_str()),
        ("credit_code", code.as_str()),
        ("year", "2023"),
        ("d_首次认定高新技术企业", "是"),
    ];
    let (status, location, body) = post_form(&app, "/fund/apply", &liaison, &theirs).await;
    let small = landed(status, &location, &body);
    // Reviewers do not apply.
    let dispatcher = app.login("dispatcher").await;
    assert_eq!(page(&app, "/fund/apply", &dispatcher).await.0, StatusCode::FORBIDDEN);

    // Another town neither sees nor reviews it: 404.
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let (status, html) = page(&app, &format!("/fund/applications/{big}"), &xiaolan).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("没有这份申报"), "{html}");
    assert!(
        step_refused(&app, &xiaolan, big, "town-review", &[], StatusCode::NOT_FOUND).await.contains("没有这份申报")
    );
    assert_eq!(page(&app, "/fund/applications/abc", &guzhen).await.0, StatusCode::NOT_FOUND);

    // 初审 by the town: an adjustment over the cap is refused next to its form, the values kept.
    let (_, html) = page(&app, &format!("/fund/applications/{big}"), &guzhen).await;
    assert!(html.contains("do-town-review") && html.contains("do-reject") && !html.contains("do-department-review"));
    let over = [("award", "6000000"), ("reason", "按审计报告"), ("version", "1")];
    let html = step_refused(&app, &guzhen, big, "town-review", &over, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(html.contains("id=\"town-review-error\">核定金额6000000.00元超过本项措施的上限5000000.00元"), "{html}");
    assert!(html.contains("value=\"6000000\"") && html.contains(">按审计报告</textarea>"), "{html}");
    step_ok(&app, &guzhen, big, "town-review", &[("award", ""), ("reason", ""), ("version", "1")]).await;
    step_ok(&app, &guzhen, small, "town-review", &[]).await;
    // A stale form is refused.
    let html = step_refused(&app, &guzhen, big, "town-review", &[("version", "1")], StatusCode::CONFLICT).await;
    assert!(html.contains("id=\"action-error\""), "{html}");

    // 复审 over the budget: a Chinese page with what is left, nothing changed; the enterprise may not review.
    let (status, _, html) =
        post_form(&app, &format!("/fund/applications/{big}/department-review"), &enterprise, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    let html = step_refused(&app, &dispatcher, big, "department-review", &[], StatusCode::CONFLICT).await;
    assert!(
        html.contains("id=\"department-review-error\">2023年度扶持资金余额300000.00元，不足以核定5000000.00元"),
        "{html}"
    );
    let html = step_refused(&app, &dispatcher, big, "reject", &[("note", " ")], StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(html.contains("id=\"reject-error\""), "{html}");
    step_ok(&app, &dispatcher, big, "reject", &[("note", "超出年度资金安排，下一年度再行申报")]).await;
    let (_, html) = page(&app, &format!("/fund/applications/{big}"), &enterprise).await;
    assert!(html.contains("不予支持") && html.contains("超出年度资金安排，下一年度再行申报"), "{html}");

    // 复审 with an adjustment, 公示, an objection, payment refused until the notice ends and the answer.
    let html = step_refused(
        &app,
        &dispatcher,
        small,
        "department-review",
        &[("award", "150000")],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("id=\"department-review-error\"") && html.contains("value=\"150000\""), "{html}");
    step_ok(&app, &dispatcher, small, "department-review", &[("award", "150000"), ("reason", "核减重复计算部分")])
        .await;
    step_ok(&app, &dispatcher, small, "publicise", &[]).await;
    let (_, html) = page(&app, &format!("/fund/applications/{small}"), &guzhen).await;
    assert!(html.contains("公示中") && html.contains("2023-06-08 17:30") && html.contains("do-object"), "{html}");
    let (status, location, _) = post_form(
        &app,
        &format!("/fund/applications/{small}/objections"),
        &guzhen,
        &[("text", "该企业2022年有环保处罚记录")],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("/fund/applications/{small}#objections").as_str())
    );
    let (status, _, _) =
        post_form(&app, &format!("/fund/applications/{small}/objections"), &xiaolan, &[("text", "无关的人")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Anyone signed in objects from the public notice, which shows nothing personal.
    let html = app.http.get(app.url("/fund")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("href=\"/fund/notices/{small}/objection\">提出异议")), "{html}");
    let notice = format!("/fund/notices/{small}/objection");
    let (status, html) = page(&app, &notice, &xiaolan).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("中山市古镇星辉灯饰有限公司") && html.contains("150000.00 元") && html.contains("do-object"));
    assert!(!html.contains(&code), "no credit code on the notice: {html}");
    let (status, _, html) = post_form(&app, &notice, &xiaolan, &[("text", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"object-error\""), "{html}");
    let (status, location, _) = post_form(&app, &notice, &xiaolan, &[("text", "申报数据与统计年报不符")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, format!("{notice}?done=1").as_str()));
    let (_, html) = page(&app, &location, &xiaolan).await;
    assert!(html.contains("异议已提交"), "{html}");
    assert_eq!(page(&app, &format!("/fund/notices/{big}/objection"), &xiaolan).await.0, StatusCode::NOT_FOUND);
    let html =
        step_refused(&app, &dispatcher, small, "pay", &[("note", "国库集中支付凭证 2023-118")], StatusCode::CONFLICT)
            .await;
    assert!(html.contains("id=\"pay-error\">公示期未满，不能拨付"), "{html}");
    assert!(html.contains(">国库集中支付凭证 2023-118</textarea>"), "{html}");

    app.set_time("2023-06-09T09:00:00+08:00");
    let (dispatcher, enterprise) = (app.login("dispatcher").await, app.login("enterprise").await);
    let guzhen = app.login("guzhen-handler").await;
    let html =
        step_refused(&app, &dispatcher, small, "pay", &[("note", "国库集中支付凭证 2023-118")], StatusCode::CONFLICT)
            .await;
    assert!(html.contains("还有2条异议未答复，不能拨付"), "{html}");
    let (_, detail) = app.get(&format!("/api/v1/fund/applications/{small}"), Some(&dispatcher)).await;
    let objection = detail["objections"][0]["id"].as_i64().unwrap();
    let public = detail["objections"][1]["id"].as_i64().unwrap();
    assert_eq!(detail["objections"][1]["text"], "申报数据与统计年报不符");
    let small_text = small.to_string();
    let (status, _, html) = post_form(
        &app,
        &format!("/fund/objections/{objection}/answer"),
        &dispatcher,
        &[("application", small_text.as_str()), ("text", "")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"answer-error\""), "{html}");
    let (status, _, _) = post_form(
        &app,
        &format!("/fund/objections/{objection}/answer"),
        &guzhen,
        &[("application", small_text.as_str()), ("text", "已核查")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the office answers");
    let (status, location, _) = post_form(
        &app,
        &format!("/fund/objections/{objection}/answer"),
        &dispatcher,
        &[("application", small_text.as_str()), ("text", "经核查，处罚已整改完毕，不影响本次申报")],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, format!("/fund/applications/{small}#objections").as_str())
    );
    let (status, _, _) = post_form(
        &app,
        &format!("/fund/objections/{public}/answer"),
        &dispatcher,
        &[("application", small_text.as_str()), ("text", "申报数据已与统计部门核对一致")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    step_ok(&app, &dispatcher, small, "pay", &[("note", "国库集中支付凭证 2023-118")]).await;
    let (_, html) = page(&app, &format!("/fund/applications/{small}"), &enterprise).await;
    assert!(html.contains("已拨付") && html.contains("国库集中支付凭证 2023-118"), "{html}");
    assert!(
        html.contains("经核查，处罚已整改完毕") && !html.contains("guzhen 承办人</strong>"),
        "masked objector: {html}"
    );
    let kinds =
        ["申报受理", "初审通过", "复审通过", "发布公示", "提出异议", "提出异议", "答复异议", "答复异议", "拨付"];
    let mut rest = html.as_str();
    for kind in kinds {
        let at = rest.find(&format!("<td>{kind}</td>")).unwrap_or_else(|| panic!("{kind} in order: {html}"));
        rest = &rest[at + 1..];
    }

    // The report: by measure, town and industry against the year's allocation, for the office all of it.
    let (status, html) = page(&app, "/fund/reports", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("2023年度扶持资金统计") && html.contains("300000.00 元"), "{html}");
    let measure_row = "<td>M02</td><td>首次认定高新技术企业奖励</td><td>1</td><td>0</td><td>1</td><td class=\"amount\">150000.00</td><td>1</td><td class=\"amount\">150000.00</td><td>0</td><td>50.0%</td>";
    assert!(html.contains(measure_row), "{html}");
    let m01_row = "<td>M01</td><td>固定资产投资奖励</td><td>1</td><td>0</td><td>0</td><td class=\"amount\">0.00</td><td>0</td><td class=\"amount\">0.00</td><td>1</td><td>0.0%</td>";
    assert!(html.contains(m01_row), "{html}");
    assert!(html.contains("<td>guzhen</td>") && html.contains("未登记行业"), "{html}");
    assert!(html.contains("<th>合计</th><th>2</th><th>0</th><th>1</th>"), "{html}");
    let (_, html) = page(&app, "/fund/reports", &xiaolan_again(&app).await).await;
    assert!(html.contains("<th>合计</th><th>0</th>"), "another town counts none of them: {html}");
    assert_eq!(page(&app, "/fund/reports?year=明年", &dispatcher).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(page(&app, "/fund/reports?year=2031", &dispatcher).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let policy_id = created["id"].as_i64().unwrap();
    let res = no_redirects_get(&app, &format!("/fund/reports/export?policy={policy_id}&year=2023"), &dispatcher).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
    let rows: Vec<_> = book.rows_by_name("扶持资金统计").unwrap().map(Result::unwrap).collect();
    let m02_row = rows.iter().find(|r| r.get(2).as_text().as_deref() == Some("M02")).expect("the M02 row");
    assert_eq!(m02_row.get(1).as_text().as_deref(), Some("按措施"));
    assert_eq!((m02_row.get(7), m02_row.get(11)), (&Cell::Number(150_000.0), &Cell::Number(50.0)));
    let total = rows.iter().find(|r| r.get(1).as_text().as_deref() == Some("合计")).expect("the total row");
    assert_eq!(total.get(4), &Cell::Number(2.0));

    // The enterprise's file lists its applications with links, in the reader's scope.
    let (status, html) = page(&app, &format!("/enterprises/{code}"), &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("扶持资金申报（2）") && html.contains(&format!("href=\"/fund/applications/{small}\"")),
        "{html}"
    );
}

/// The 小榄 handler signed in again (after the clock moved past the session).
async fn xiaolan_again(app: &App) -> Session {
    app.login("xiaolan-handler").await
}

async fn no_redirects_get(app: &App, path: &str, who: &Session) -> reqwest::Response {
    super::browser::no_redirects().get(app.url(path)).header("cookie", &who.0).send().await.unwrap()
}

/// One report row as the page renders it (a `td` row; the total a `th` row).
fn page_row(t: &Value, cell: &str) -> String {
    let text = |k: &str| t[k].as_str().map_or_else(|| t[k].to_string(), str::to_owned);
    let (key, name) = if cell == "th" { (String::new(), "合计".to_owned()) } else { (text("key"), text("name")) };
    format!(
        "<tr><{cell}>{key}</{cell}><{cell}>{name}</{cell}><{cell}>{}</{cell}><{cell}>{}</{cell}><{cell}>{}</{cell}><{cell} class=\"amount\">{}</{cell}><{cell}>{}</{cell}><{cell} class=\"amount\">{}</{cell}><{cell}>{}</{cell}><{cell}>{}%</{cell}></tr>",
        text("applications"),
        text("in_review"),
        text("approved"),
        text("approved_amount"),
        text("paid"),
        text("paid_amount"),
        text("rejected"),
        text("share_percent"),
    )
}

/// One report row as the Excel export holds it: group, key, name, then the figures as numbers.
fn sheet_row(group: &str, t: &Value) -> Vec<Cell> {
    let count = |k: &str| Cell::Number(t[k].as_u64().unwrap() as f64);
    let number = |k: &str| Cell::Number(t[k].as_str().unwrap().parse().unwrap());
    vec![
        Cell::Text(group.into()),
        Cell::Text(t["key"].as_str().unwrap().into()),
        Cell::Text(t["name"].as_str().unwrap().into()),
        count("applications"),
        count("in_review"),
        count("approved"),
        number("approved_amount"),
        count("paid"),
        number("paid_amount"),
        count("rejected"),
        number("share_percent"),
    ]
}

#[tokio::test]
async fn the_report_as_json_holds_the_figures_of_the_page_and_the_excel_export() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let dispatcher = app.login("dispatcher").await;
    let (status, body) = app.get("/api/v1/fund/reports", Some(&dispatcher)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("fund_policy_not_found")),
        "no policy yet"
    );
    assert_eq!(mashangban_demo::load_fund(&app.store, mashangban_domain::time::now()).await.unwrap(), 40);

    // No parameters: the newest policy and the current year (or its last year before), as the page.
    let (status, report) = app.get("/api/v1/fund/reports", Some(&dispatcher)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let policy = report["policy_id"].as_i64().unwrap();
    let (_, html) = page(&app, "/fund/reports", &dispatcher).await;
    let heading = format!("{} {}年度扶持资金统计", report["policy_name"].as_str().unwrap(), report["year"]);
    assert!(html.contains(&heading), "{heading}: {html}");

    let years: Vec<i64> =
        report["choices"][0]["years"].as_array().unwrap().iter().map(|y| y.as_i64().unwrap()).collect();
    assert_eq!(years.len(), 3, "{report}");
    let mut groups_seen = 0;
    for year in years {
        let (status, report) =
            app.get(&format!("/api/v1/fund/reports?policy={policy}&year={year}"), Some(&dispatcher)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["year"], year);
        // The page's `period` parameter reads the same.
        let (_, same) = app.get(&format!("/api/v1/fund/reports?period={policy}:{year}"), Some(&dispatcher)).await;
        assert_eq!(same, report);

        let (status, html) = page(&app, &format!("/fund/reports?policy={policy}&year={year}"), &dispatcher).await;
        assert_eq!(status, StatusCode::OK);
        let budget = &report["budget"];
        for key in ["allocation", "reserved", "paid", "remaining"] {
            let shown = format!("<dd class=\"amount\">{} 元", budget[key].as_str().unwrap());
            assert!(html.contains(&shown), "{key} {shown}: {html}");
        }
        let res =
            no_redirects_get(&app, &format!("/fund/reports/export?policy={policy}&year={year}"), &dispatcher).await;
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.bytes().await.unwrap().to_vec();
        let mut book = open_xlsx(&bytes, &Limits::default()).unwrap();
        let sheet: Vec<Vec<Cell>> = book
            .rows_by_name("扶持资金统计")
            .unwrap()
            .map(Result::unwrap)
            .map(|r| (1..=11).map(|c| r.get(c).clone()).collect())
            .filter(|r: &Vec<Cell>| {
                matches!(&r[0], Cell::Text(g) if ["按措施", "按镇街", "按行业", "合计"].contains(&g.as_str()))
            })
            .collect();
        let mut expected = Vec::new();
        for (group, field) in [("按措施", "by_measure"), ("按镇街", "by_town"), ("按行业", "by_industry")] {
            let rows = report[field].as_array().unwrap();
            assert!(!rows.is_empty(), "{year} {field}: {report}");
            for t in rows {
                assert!(html.contains(&page_row(t, "td")), "{year} {group} {t}: {html}");
                expected.push(sheet_row(group, t));
                groups_seen += 1;
            }
            // Each section adds up to the total.
            for figure in ["applications", "in_review", "approved", "paid", "rejected"] {
                let sum: u64 = rows.iter().map(|t| t[figure].as_u64().unwrap()).sum();
                assert_eq!(sum, report["total"][figure].as_u64().unwrap(), "{year} {field} {figure}");
            }
        }
        assert!(html.contains(&page_row(&report["total"], "th")), "{year} total: {html}");
        expected.push(sheet_row("合计", &report["total"]));
        assert_eq!(sheet, expected, "{year}: the Excel rows are the JSON rows");
    }
    assert!(groups_seen > 9, "{groups_seen} groups over the years");

    // The reader's scope: a town's handler counts only its town's applications, as on the page.
    let guzhen = app.login("town-handler").await;
    let (status, theirs) = app.get(&format!("/api/v1/fund/reports?policy={policy}&year=2023"), Some(&guzhen)).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    let (_, all) = app.get(&format!("/api/v1/fund/reports?policy={policy}&year=2023"), Some(&dispatcher)).await;
    assert!(theirs["total"]["applications"].as_u64() < all["total"]["applications"].as_u64(), "{theirs}");
    assert!(theirs["by_town"].as_array().unwrap().iter().all(|t| t["key"] == "guzhen"), "{theirs}");
    let (_, html) = page(&app, &format!("/fund/reports?policy={policy}&year=2023"), &guzhen).await;
    assert!(html.contains(&page_row(&theirs["total"], "th")), "{html}");

    // Bad parameters: 400 with stable codes; an unknown policy 404, a year without allocation 422.
    for (query, code) in [
        ("year=明年", "invalid_parameter"),
        ("policy=abc", "invalid_parameter"),
        ("period=1:x", "invalid_parameter"),
        ("sort=name", "invalid_query"),
        ("year=2023&year=2024", "duplicate_parameter"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/fund/reports?{query}"), Some(&dispatcher)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}: {body}");
    }
    let (status, body) = app.get("/api/v1/fund/reports?policy=999999", Some(&dispatcher)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("fund_policy_not_found")), "{body}");
    let (status, body) = app.get(&format!("/api/v1/fund/reports?policy={policy}&year=2031"), Some(&dispatcher)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_allocation_for_year")));
    assert_eq!(app.get("/api/v1/fund/reports", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_step_taken_on_an_application_someone_else_moved_shows_it_as_it_stands_with_what_was_typed() {
    use super::approvals::{form_fields, get, post_fields, set};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let created = create_policy(&app, &admin, policy("300000", json!([{ "year": 2026, "amount": "300000" }]))).await;
    register_enterprise(&app, &admin).await;
    let enterprise = app.login("enterprise").await;
    let body = json!({ "measure_id": measure_id(&created, "M02"), "data": { "首次认定高新技术企业": "是" } });
    let id = super::fund::apply(&app, &enterprise, body).await;
    let path = format!("/fund/applications/{id}");
    let town_a = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let town_b = app.login("guzhen-handler").await;

    // Two town handlers open the page; A reviews first.
    let (_, html) = page(&app, &path, &town_b).await;
    let mut b_review = form_fields(&html, "town-review-heading");
    assert_eq!(get(&b_review, "version"), "1");
    step_ok(&app, &town_a, id, "town-review", &[("award", ""), ("reason", ""), ("version", "1")]).await;
    // B's review on version 1: the form is gone (the step is done); what B typed is listed under the message.
    set(&mut b_review, "award", "150000");
    set(&mut b_review, "reason", "按审计核减");
    let (status, _, html) = post_fields(&app, &format!("{path}/town-review"), &town_b, &b_review).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("id=\"action-error\">保存前，该申报已被他人处理（现为第2版，初审通过）"), "{html}");
    assert!(html.contains("您填写的调整核定金额：150000") && html.contains("您填写的调整理由：按审计核减"), "{html}");
    let (_, view) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&admin)).await;
    assert_eq!((view["award"].as_str(), view["version"].as_i64()), (Some("200000.00"), Some(2)), "{view}");

    // Two office reviewers on version 2: A reviews, B (still offered 不予支持) rejects on version 2.
    let (office_a, office_b) = (app.login("dispatcher").await, app.login("dispatcher").await);
    let (_, html) = page(&app, &path, &office_b).await;
    let mut b_reject = form_fields(&html, "reject-heading");
    let (_, html) = page(&app, &path, &office_a).await;
    let mut a_review = form_fields(&html, "department-review-heading");
    set(&mut a_review, "award", "");
    let (status, _, body) = post_fields(&app, &format!("{path}/department-review"), &office_a, &a_review).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    set(&mut b_reject, "note", "材料不全");
    let (status, _, html) = post_fields(&app, &format!("{path}/reject"), &office_b, &b_reject).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    // The reject form again at the current version, as it stands (no reason), B's reason beside it.
    assert!(html.contains("id=\"reject-error\">保存前，该申报已被他人修改（现为第3版）"), "{html}");
    assert!(html.contains("id=\"typed-reject-note\">您填写的：材料不全"), "{html}");
    let shown = form_fields(&html, "reject-heading");
    assert_eq!((get(&shown, "version"), get(&shown, "note")), ("3", ""));
    let (_, view) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&admin)).await;
    assert_eq!(view["state"], "department_reviewed", "A's review kept: {view}");

    // B confirms the rejection from the form as shown.
    let mut again = shown;
    set(&mut again, "note", "材料不全");
    let (status, _, body) = post_fields(&app, &format!("{path}/reject"), &office_b, &again).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, view) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&admin)).await;
    assert_eq!((view["state"].as_str(), view["version"].as_i64()), (Some("rejected"), Some(4)), "{view}");
}
