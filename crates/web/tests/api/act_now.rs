//! 企业诉求马上办 on the portal: the enterprise asks for act-now handling on
//! /submit, the act-now limits of the rule table apply, and the answer and
//! progress pages say which limits apply.

use super::*;

use super::browser::no_redirects;

fn portal_form(act_now: bool, asker_type: &str) -> reqwest::multipart::Form {
    let form = reqwest::multipart::Form::new()
        .text("asker_type", asker_type.to_owned())
        .text("credit_code", ENTERPRISE_CODE)
        .text("enterprise_name", "中山市华凯灯饰有限公司")
        .text("contact_name", "陈嘉欣")
        .text("phone", "13800138000")
        .text("kind", "complaint")
        .text("category", "biz.change")
        .text("title", "营业执照变更登记迟迟未办结")
        .text("content", "我司提交经营范围变更申请，至今未办结。");
    if act_now { form.text("act_now", "1") } else { form }
}

async fn submit_form(app: &App, form: reqwest::multipart::Form) -> (String, String) {
    let res = no_redirects().post(app.url("/submit")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let html = no_redirects().get(app.url(&location)).send().await.unwrap().text().await.unwrap();
    (location, html)
}

#[tokio::test]
async fn an_enterprise_asks_for_act_now_on_the_portal_and_gets_its_limits() {
    let app = spawn().await;
    // Mon 2026-03-02 10:00.
    app.set_time("2026-03-02T10:00:00+08:00");
    let form_html = reqwest::get(app.url("/submit")).await.unwrap().text().await.unwrap();
    assert!(form_html.contains("id=\"act-now-zone\"") && form_html.contains("5个工作日"), "the zone names the limits");

    let (location, html) = submit_form(&app, portal_form(true, "enterprise")).await;
    assert!(html.contains("企业诉求“马上办”") && html.contains("首次联系：1个工作小时内"), "answer page: {html}");
    let no = location.trim_start_matches("/submitted/").split('?').next().unwrap().to_owned();
    let dispatcher = app.login("dispatcher").await;
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    assert_eq!(r["urgency"], "act_now");
    assert_eq!(r["due_at"], "2026-03-09T17:30:00.000+08:00", "5 working days, not 15");
    assert_eq!(r["time_limits"]["contact"]["amount"], 1);
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let view = app.progress(&no, &code).await;
    assert_eq!(view["act_now"], true);
    assert!(view["limits"].as_str().unwrap().contains("答复办结：5个工作日内"));
    let track = no_redirects().get(app.url(&format!("/track/{no}?code={code}"))).send().await.unwrap();
    assert!(track.text().await.unwrap().contains("马上办"), "the progress page says so");

    // Without the choice: a complaint's 15 working days.
    let (location, _) = submit_form(&app, portal_form(false, "enterprise")).await;
    let plain = location.trim_start_matches("/submitted/").split('?').next().unwrap().to_owned();
    let r = app.detail(&plain, &dispatcher).await["request"].clone();
    assert_eq!(r["urgency"], "normal");
    assert_eq!(r["due_at"], "2026-03-23T17:30:00.000+08:00");

    // A resident's ticked box does not make an act-now request: 马上办 is for enterprises.
    let (location, _) = submit_form(&app, portal_form(true, "resident")).await;
    let resident = location.trim_start_matches("/submitted/").split('?').next().unwrap().to_owned();
    assert_eq!(app.detail(&resident, &dispatcher).await["request"]["urgency"], "normal");

    // Through the API a resident's act-now is refused with a reason, and nothing is stored.
    let mut body = resident_consultation();
    body["urgency"] = json!("act_now");
    // Counted in the store: the list API answers `total` only for a search.
    let stored = || async {
        let all = mashangban_store::ListFilter::default();
        mashangban_store::RequestStore::count(&app.store, &all, &mashangban_domain::org::Scope::All).await.unwrap()
    };
    let before = stored().await;
    assert!(before >= 2, "the two portal submissions above are stored");
    let (status, err) = app.post("/api/v1/public/requests", None, body).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("act_now_for_enterprises")));
    assert!(err["message"].as_str().unwrap().contains("企业"), "{err}");
    assert_eq!(stored().await, before);
}
