//! Liaison cadres (领导干部联系企业) and contact cards (联系卡): cadres
//! assigned to enterprises (one lead), their scope (their enterprises and
//! those enterprises' requests, 404 for the rest), urging and remarks in the
//! request's history, and a card's signed link that submits a request
//! carrying the cadre — refused when altered or expired; the cards as PDF
//! files, one on an A6 page or a town's four to an A4 page.

use super::*;

use mashangban_domain::validation::CreditCode;

fn code(body: &str) -> String {
    CreditCode::with_check_char(body).unwrap().as_str().to_owned()
}

async fn register(app: &App, admin: &Session, credit_code: &str, name: &str, town: &str) {
    let body = json!({ "credit_code": credit_code, "name": name, "town": town, "contact_phone": "13800138001" });
    let (status, answer) = app.post("/api/v1/enterprises", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn user_id(app: &App, username: &str) -> i64 {
    app.store.find_user(username).await.unwrap().unwrap().id
}

/// The demo liaison cadre's profile, and `ours` (古镇) assigned to them as lead.
async fn setup(app: &App, admin: &Session, ours: &str, theirs: &str) -> (i64, i64) {
    register(app, admin, ours, "中山市古镇星辉灯饰有限公司", "guzhen").await;
    register(app, admin, theirs, "中山市小榄精工五金厂", "xiaolan").await;
    let cadre = user_id(app, "liaison").await;
    let profile = json!({ "level": "town", "post": "古镇镇党委副书记", "work_phone": "0760-22338899" });
    let path = format!("/api/v1/liaisons/cadres/{cadre}");
    let (status, saved) = app.call(reqwest::Method::PUT, &path, Some(admin), Some(profile)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["visit_rule"].as_str(), saved["visit_interval_days"].as_u64()),
        (Some("每月至少走访一次"), Some(30))
    );
    let body = json!({ "user_id": cadre, "kind": "lead" });
    let (status, assigned) = app.post(&format!("/api/v1/enterprises/{ours}/liaisons"), Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
    (cadre, assigned["id"].as_i64().unwrap())
}

fn complaint_of(credit_code: &str, name: &str) -> Value {
    let mut body = enterprise_complaint();
    body["asker"] = json!({ "type": "enterprise", "credit_code": credit_code, "name": name });
    body
}

#[tokio::test]
async fn cadres_are_assigned_one_lead_each_and_every_change_is_kept() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ01"), code("91442000MA5LJAJ02"));
    let (cadre, id) = setup(&app, &admin, &ours, &theirs).await;

    // A second lead, the same cadre twice, a non-cadre and an unknown enterprise are refused.
    let leader = user_id(&app, "leader").await;
    let profile = json!({ "level": "city", "post": "副市长", "work_phone": "0760-88880001" });
    let (status, _) =
        app.call(reqwest::Method::PUT, &format!("/api/v1/liaisons/cadres/{leader}"), Some(&admin), Some(profile)).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/enterprises/{ours}/liaisons");
    let (status, err) = app.post(&path, Some(&admin), json!({ "user_id": leader, "kind": "lead" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("lead_liaison_exists")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("牵头"));
    let (status, err) = app.post(&path, Some(&admin), json!({ "user_id": cadre })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("liaison_exists")));
    let (status, member) = app.post(&path, Some(&admin), json!({ "user_id": leader })).await;
    assert_eq!((status, member["kind"].as_str()), (StatusCode::CREATED, Some("member")), "{member}");
    let operator = user_id(&app, "operator").await;
    let (status, err) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/liaisons/cadres/{operator}"),
            Some(&admin),
            Some(json!({ "level": "town", "post": "话务员", "work_phone": "13800138000" })),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("not_a_cadre")));
    let (status, err) = app.post(&path, Some(&admin), json!({ "user_id": operator })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("cadre_not_found")));
    let unknown = code("91442000MA5LJAJ09");
    let (status, err) =
        app.post(&format!("/api/v1/enterprises/{unknown}/liaisons"), Some(&admin), json!({ "user_id": cadre })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("enterprise_not_found")));
    let (status, err) = app.post(&path, Some(&admin), json!({ "user_id": "x" })).await;
    assert!(status.is_client_error(), "{err}");
    let operator_session = app.login("operator").await;
    assert_eq!(app.post(&path, Some(&operator_session), json!({ "user_id": cadre })).await.0, StatusCode::FORBIDDEN);

    // The enterprise's file lists its cadres, the lead first.
    let (_, file) = app.get(&format!("/api/v1/enterprises/{ours}"), Some(&admin)).await;
    let names: Vec<&str> = file["liaisons"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(names, ["lead", "member"]);

    // Unassigning keeps the row with who and when; twice is refused.
    let end = format!("/api/v1/liaisons/assignments/{id}");
    let (status, ended) = app.call(reqwest::Method::DELETE, &end, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert!(ended["ended_by"].as_str().unwrap().contains("admin"), "{ended}");
    let (status, err) = app.call(reqwest::Method::DELETE, &end, Some(&admin), None).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("liaison_ended")));
    let (status, err) = app.call(reqwest::Method::DELETE, "/api/v1/liaisons/assignments/abc", Some(&admin), None).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("liaison_not_found")));
    let (_, all) = app.get(&format!("/api/v1/enterprises/{ours}/liaisons"), Some(&admin)).await;
    assert_eq!(all["current"].as_array().unwrap().len(), 1);
    assert_eq!(all["history"].as_array().unwrap().len(), 2);
    // Now the leader may take the lead.
    let (status, _) = app.post(&path, Some(&admin), json!({ "user_id": cadre, "kind": "lead" })).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_cadre_sees_their_enterprises_and_their_requests_and_urges_and_remarks() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ11"), code("91442000MA5LJAJ12"));
    setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;

    // Enterprises: only the assigned one; another is 404 as if absent.
    let (status, page) = app.get("/api/v1/enterprises", Some(&liaison)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["credit_code"], ours.as_str());
    assert_eq!(page["items"][0]["contact_phone"], "138****8001", "a cadre sees contacts masked");
    assert_eq!(app.get(&format!("/api/v1/enterprises/{theirs}"), Some(&liaison)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/enterprises/{theirs}/liaisons"), Some(&liaison)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, mine) = app.get("/api/v1/liaisons/mine", Some(&liaison)).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);

    // Requests: their enterprise's, not another's.
    let (no, _) = app.submit(complaint_of(&ours, "中山市古镇星辉灯饰有限公司")).await;
    let (other, _) = app.submit(complaint_of(&theirs, "中山市小榄精工五金厂")).await;
    let (status, list) = app.get("/api/v1/requests", Some(&liaison)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let numbers: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|r| r["tracking_no"].as_str().unwrap()).collect();
    assert_eq!(numbers, [no.as_str()]);
    assert_eq!(app.get(&format!("/api/v1/requests/{other}"), Some(&liaison)).await.0, StatusCode::NOT_FOUND);
    let detail = app.detail(&no, &liaison).await;
    assert_eq!(detail["request"]["asker"]["contact_phone"], "138****8000", "masked for a cadre");

    // Urge and remark: both in the history, with the cadre as actor.
    app.act(&no, "urge", &liaison, json!({ "message": "企业反映急需，请加快办理" })).await;
    app.act(&no, "comment", &liaison, json!({ "text": "已电话联系企业负责人，了解具体情况" })).await;
    let (status, err) =
        app.post(&format!("/api/v1/requests/{no}/comment"), Some(&liaison), json!({ "text": "  " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    let (status, _) =
        app.post(&format!("/api/v1/requests/{other}/urge"), Some(&liaison), json!({ "message": "催" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "out of scope");
    let (status, _) =
        app.post(&format!("/api/v1/requests/{no}/dispatch"), Some(&liaison), json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a cadre follows; dispatchers dispatch");
    let history = app.detail(&no, &app.login("dispatcher").await).await["history"].clone();
    let steps: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["comment"].as_str().unwrap_or_default()))
        .collect();
    assert!(steps.contains(&("urged", "企业反映急需，请加快办理")), "{steps:?}");
    assert!(steps.contains(&("commented", "已电话联系企业负责人，了解具体情况")), "{steps:?}");
    let remark = history.as_array().unwrap().iter().find(|e| e["kind"] == "commented").unwrap();
    assert_eq!(remark["actor_role"], "liaison", "{remark}");

    // Unassigned, the cadre sees neither any more.
    let id = mine[0]["id"].as_i64().unwrap();
    app.call(reqwest::Method::DELETE, &format!("/api/v1/liaisons/assignments/{id}"), Some(&admin), None).await;
    assert_eq!(app.get(&format!("/api/v1/requests/{no}"), Some(&liaison)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/enterprises/{ours}"), Some(&liaison)).await.0, StatusCode::NOT_FOUND);
}

/// The card link's query parameters.
fn link_query(link: &str) -> String {
    link.split_once("/card?").unwrap().1.to_owned()
}

fn with_param(query: &str, key: &str, value: &str) -> String {
    query
        .split('&')
        .map(|kv| if kv.starts_with(&format!("{key}=")) { format!("{key}={value}") } else { kv.to_owned() })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn a_cards_signed_link_submits_a_request_that_carries_the_cadre() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ21"), code("91442000MA5LJAJ22"));
    let (cadre, id) = setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;

    let (status, card) = app.get(&format!("/api/v1/liaisons/assignments/{id}/card"), Some(&liaison)).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(
        (card["hotline"].as_str(), card["assignment"]["post"].as_str()),
        (Some("12345"), Some("古镇镇党委副书记"))
    );
    let query = link_query(card["link"].as_str().unwrap());
    let (status, err) = app.get(&format!("/api/v1/liaisons/assignments/{id}/card?days=9999"), Some(&liaison)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_card_days")));

    // The printable pages.
    for path in [format!("/liaisons/cards/{id}"), "/liaisons/towns/guzhen/cards".to_owned()] {
        let res = app.http.get(app.url(&path)).header("cookie", &admin.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("古镇镇党委副书记") && html.contains("0760-22338899") && html.contains("<svg"), "{path}");
        assert!(html.contains("/assets/css/cards.css"), "{path}");
    }

    // The QR link opens the portal's form prefilled with the enterprise and the cadre.
    let res = app.http.get(app.url(&format!("/card?{query}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("中山市古镇星辉灯饰有限公司") && html.contains(&ours) && html.contains("联系卡"), "{html}");

    // Altered (another enterprise, another cadre, a later expiry, a wrong signature) or expired: refused.
    for (key, value) in
        [("e", theirs.as_str()), ("l", "1"), ("x", "20991231"), ("s", "00000000000000000000000000000000")]
    {
        let res = app.http.get(app.url(&format!("/card?{}", with_param(&query, key, value)))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{key}");
        assert!(res.text().await.unwrap().contains("联系卡链接无效"), "{key}");
    }
    assert_eq!(app.http.get(app.url("/card")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Submitted through the card: the intake event names the cadre, the cadre sees it.
    let form = reqwest::multipart::Form::new()
        .text("asker_type", "enterprise")
        .text("credit_code", theirs.clone()) // the card's enterprise wins over a typed code
        .text("enterprise_name", "中山市古镇星辉灯饰有限公司")
        .text("contact_name", "陈嘉欣")
        .text("phone", "13800138000")
        .text("kind", "complaint")
        .text("category", "biz.change")
        .text("town", "guzhen")
        .text("title", "厂区门口道路积水")
        .text("content", "厂区门口道路下雨即积水，影响货车进出。")
        .text("card_e", ours.clone())
        .text("card_l", cadre.to_string())
        .text("card_x", query.split("x=").nth(1).unwrap()[..8].to_owned())
        .text("card_s", query.split("s=").nth(1).unwrap().to_owned());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.post(app.url("/submit")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let no = location.trim_start_matches("/submitted/").split('?').next().unwrap().to_owned();
    let detail = app.detail(&no, &app.login("dispatcher").await).await;
    assert_eq!(detail["request"]["asker"]["credit_code"], ours.as_str());
    let received = &app.detail(&no, &liaison).await["history"][0];
    assert_eq!(received["kind"], "received");
    assert_eq!(received["details"]["card"]["liaison_user_id"], cadre, "{received}");
    assert_eq!(received["details"]["card"]["liaison_name"], "联系干部 冯海涛");
    let (_, list) = app.get("/api/v1/requests", Some(&liaison)).await;
    assert!(list["items"].as_array().unwrap().iter().any(|r| r["tracking_no"] == no.as_str()));

    // A tampered signature on submission is refused and writes nothing.
    let before =
        app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await.1["items"].as_array().unwrap().len();
    let form = reqwest::multipart::Form::new()
        .text("contact_name", "陈嘉欣")
        .text("phone", "13800138000")
        .text("kind", "complaint")
        .text("category", "biz.change")
        .text("title", "x")
        .text("content", "y")
        .text("card_e", ours.clone())
        .text("card_l", cadre.to_string())
        .text("card_x", "20991231")
        .text("card_s", query.split("s=").nth(1).unwrap().to_owned());
    let res = client.post(app.url("/submit")).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let after =
        app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await.1["items"].as_array().unwrap().len();
    assert_eq!(before, after);

    // Expired: the day after its last day the card is refused with 410.
    let expires = card["expires_on"].as_str().unwrap();
    app.set_time(&format!("{expires}T23:59:00+08:00"));
    assert_eq!(app.http.get(app.url(&format!("/card?{query}"))).send().await.unwrap().status(), StatusCode::OK);
    let next = chrono::NaiveDate::parse_from_str(expires, "%Y-%m-%d").unwrap().succ_opt().unwrap();
    app.set_time(&format!("{next}T00:00:01+08:00"));
    let res = app.http.get(app.url(&format!("/card?{query}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("过期"));
}

#[tokio::test]
async fn a_withdrawn_cadres_card_is_refused_and_a_town_prints_only_its_own() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ31"), code("91442000MA5LJAJ32"));
    let (_, id) = setup(&app, &admin, &ours, &theirs).await;
    let (_, card) = app.get(&format!("/api/v1/liaisons/assignments/{id}/card"), Some(&admin)).await;
    let query = link_query(card["link"].as_str().unwrap());
    app.call(reqwest::Method::DELETE, &format!("/api/v1/liaisons/assignments/{id}"), Some(&admin), None).await;
    let res = app.http.get(app.url(&format!("/card?{query}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("不再联系"));
    // An ended assignment prints no card; another cadre's card is not the liaison's to print.
    let liaison = app.login("liaison").await;
    let (status, err) = app.get(&format!("/api/v1/liaisons/assignments/{id}/card"), Some(&liaison)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("liaison_ended")));
    let leader = user_id(&app, "leader").await;
    let profile = json!({ "level": "city", "post": "副市长", "work_phone": "0760-88880001" });
    app.call(reqwest::Method::PUT, &format!("/api/v1/liaisons/cadres/{leader}"), Some(&admin), Some(profile)).await;
    let (_, other) =
        app.post(&format!("/api/v1/enterprises/{ours}/liaisons"), Some(&admin), json!({ "user_id": leader })).await;
    let other = other["id"].as_i64().unwrap();
    let path = format!("/api/v1/liaisons/assignments/{other}/card");
    assert_eq!(app.get(&path, Some(&liaison)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path, Some(&admin)).await.0, StatusCode::OK);
    // Handlers read, but neither assign nor print.
    let handler = app.login("handler").await;
    assert_eq!(
        app.get(&format!("/api/v1/liaisons/assignments/{id}/card"), Some(&handler)).await.0,
        StatusCode::FORBIDDEN
    );
}

/// `GET path` with the session's cookie: the status, the content type and
/// disposition, and the body.
async fn fetch(app: &App, path: &str, session: &Session) -> (StatusCode, String, String, Vec<u8>) {
    let res = app.http.get(app.url(path)).header("cookie", &session.0).send().await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (status, content_type, disposition) = (res.status(), header("content-type"), header("content-disposition"));
    (status, content_type, disposition, res.bytes().await.unwrap().to_vec())
}

/// A PDF file as the tests read it.
#[derive(Debug, PartialEq)]
struct Pdf {
    bytes: Vec<u8>,
    /// The file with its binary parts (the header's marker, the deflated streams) lossy: its dictionaries.
    text: String,
    /// Its pages' content streams, inflated: what they draw.
    drawn: String,
}

/// A PDF answer's body, checked to be one, with its content streams inflated.
async fn pdf(app: &App, path: &str, session: &Session) -> (String, Pdf) {
    let (status, content_type, disposition, body) = fetch(app, path, session).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"), "{path}");
    assert!(body.starts_with(b"%PDF-") && body.ends_with(b"%%EOF\n"), "{path}");
    let pages = mashangban_pdf::page_contents(&body).unwrap_or_else(|| panic!("{path}: a stream does not inflate"));
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(pages.len(), text.matches("/Filter /FlateDecode").count(), "{path}: every stream deflated");
    (disposition, Pdf { text, drawn: pages.concat(), bytes: body })
}

fn pages(pdf: &Pdf) -> usize {
    pdf.text.matches("/Type /Page ").count()
}

/// Text as the PDF writer sets it: UTF-16 code units in hex.
fn ucs2(s: &str) -> String {
    s.encode_utf16().map(|u| format!("{u:04X}")).collect()
}

/// The text `pdftotext` (poppler-utils) reads from `pdf`, or `None` (with a
/// message) where it is not installed; poppler finds nothing to repair, and
/// `pdfinfo` counts the pages the file says it has.
fn pdftotext(pdf: &Pdf) -> Option<String> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &pdf.bytes).unwrap();
    match std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(file.path()).arg("-").output() {
        Ok(out) => {
            // Poppler repairs what it can and says so on stderr: a sound file makes it say nothing.
            assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
            let info = std::process::Command::new("pdfinfo").arg(file.path()).output().unwrap();
            assert!(info.status.success() && info.stderr.is_empty(), "{}", String::from_utf8_lossy(&info.stderr));
            let info = String::from_utf8(info.stdout).unwrap();
            let count = info.lines().find_map(|l| l.strip_prefix("Pages:")).map(|n| n.trim().parse::<usize>().unwrap());
            assert_eq!(count, Some(pages(pdf)), "{info}");
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) => {
            eprintln!("pdftotext not run ({e}): the card's text is checked in the file only");
            None
        }
    }
}

#[tokio::test]
async fn cards_are_pdf_files_one_on_a6_or_four_to_an_a4_page() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ41"), code("91442000MA5LJAJ42"));
    let (cadre, id) = setup(&app, &admin, &ours, &theirs).await;
    for n in 3..=6 {
        let credit_code = code(&format!("91442000MA5LJAJ4{n}"));
        register(&app, &admin, &credit_code, &format!("中山市古镇第{n}灯饰有限公司"), "guzhen").await;
        let path = format!("/api/v1/enterprises/{credit_code}/liaisons");
        assert_eq!(app.post(&path, Some(&admin), json!({ "user_id": cadre })).await.0, StatusCode::CREATED);
    }
    let liaison = app.login("liaison").await;
    let (_, card) = app.get(&format!("/api/v1/liaisons/assignments/{id}/card?days=30"), Some(&liaison)).await;
    let link = card["link"].as_str().unwrap();

    // One card on an A6 page: the cadre, the post, the phone, the hotline, the signed link.
    let (disposition, one) = pdf(&app, &format!("/liaisons/cards/{id}.pdf?days=30"), &liaison).await;
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"contact-card-{id}.pdf\"; filename*=UTF-8''%E8%81%94%E7%B3%BB%E5%8D%A1-{}-{}.pdf",
            mashangban_web::api::percent_encode("中山市古镇星辉灯饰有限公司"),
            mashangban_web::api::percent_encode("联系干部 冯海涛"),
        )
    );
    assert_eq!(pages(&one), 1);
    assert!(one.text.contains("/MediaBox [0 0 298 420]"));
    for text in ["联系干部 冯海涛", "古镇镇党委副书记", "工作电话", "0760-22338899", "服务热线", "12345（马上办）"]
    {
        assert!(one.drawn.contains(&format!("<{}>", ucs2(text))), "{text}");
    }
    // As the HTML card: the brand and the rule red, the name and the numbers bold (filled and
    // outlined: the standard font has no bold face).
    let line = |text: &str| {
        let hex = format!("<{}>", ucs2(text));
        one.drawn.lines().find(|l| l.contains(&hex)).unwrap_or_else(|| panic!("{text}")).to_owned()
    };
    assert!(
        line("马上办 · 联系卡").starts_with("q 0.75 0.22 0.17 rg 0.75 0.22 0.17 RG ")
            && one.drawn.contains("0.17 RG 24 ")
    );
    for bold in ["马上办 · 联系卡", "联系干部 冯海涛", "0760-22338899", "12345（马上办）"] {
        assert!(line(bold).contains(" w BT /F1 ") && line(bold).contains(" Tf 2 Tr "), "{bold} bold");
    }
    assert!(line("古镇镇党委副书记").starts_with("BT /F1 11 Tf "), "the post plain");
    assert!(one.text.contains(&format!("/URI ({link})")), "the QR code's link is the signed link of the card");
    assert!(one.drawn.contains(&ucs2(&format!("有效期至 {}", card["expires_on"].as_str().unwrap()))));
    if let Some(text) = pdftotext(&one) {
        for seen in ["冯海涛", "古镇镇党委副书记", "中山市古镇星辉灯饰有限公司", "0760-22338899", "12345"]
        {
            assert!(text.contains(seen), "{seen} in {text}");
        }
    }
    // The API gives the same file.
    let (_, from_api) = pdf(&app, &format!("/api/v1/liaisons/assignments/{id}/card.pdf?days=30"), &liaison).await;
    assert_eq!(from_api, one);

    // The town's five cards of the cadre: four to an A4 page with cut lines, two pages.
    let (disposition, town) = pdf(&app, "/liaisons/towns/guzhen/cards.pdf", &liaison).await;
    assert!(disposition.starts_with("attachment; filename=\"contact-cards-guzhen.pdf\"; filename*=UTF-8''"));
    assert_eq!((pages(&town), town.text.matches("/URI (").count()), (2, 5));
    assert!(town.text.contains("/MediaBox [0 0 595 842]") && town.drawn.matches("[3 2] 0 d").count() == 4);
    assert_eq!(town.drawn.matches(&format!("<{}>", ucs2("联系干部 冯海涛"))).count(), 5);
    if let Some(text) = pdftotext(&town) {
        assert!(text.contains("中山市古镇第6灯饰有限公司") && text.contains("冯海涛"), "{text}");
    }
    // The print pages link to their PDF.
    let (_, _, _, html) = fetch(&app, &format!("/liaisons/cards/{id}?days=30"), &liaison).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(&format!("href=\"/liaisons/cards/{id}.pdf?days=30\" download>下载PDF")), "{html}");
    let (_, _, _, html) = fetch(&app, "/liaisons/towns/guzhen/cards", &liaison).await;
    assert!(String::from_utf8(html).unwrap().contains("href=\"/liaisons/towns/guzhen/cards.pdf\" download>下载PDF"));

    // Scope as the pages: another cadre's card is not the liaison's (404), and not in their batch.
    let leader = user_id(&app, "leader").await;
    let profile = json!({ "level": "city", "post": "副市长", "work_phone": "0760-88880001" });
    app.call(reqwest::Method::PUT, &format!("/api/v1/liaisons/cadres/{leader}"), Some(&admin), Some(profile)).await;
    let (_, other) =
        app.post(&format!("/api/v1/enterprises/{ours}/liaisons"), Some(&admin), json!({ "user_id": leader })).await;
    let other = other["id"].as_i64().unwrap();
    for path in
        [format!("/liaisons/cards/{other}"), format!("/liaisons/cards/{other}.pdf"), "/liaisons/cards/x.pdf".into()]
    {
        assert_eq!(fetch(&app, &path, &liaison).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(fetch(&app, "/liaisons/towns/nowhere/cards.pdf", &liaison).await.0, StatusCode::NOT_FOUND);
    assert_eq!(pdf(&app, "/liaisons/towns/guzhen/cards.pdf", &liaison).await.1.text.matches("/URI (").count(), 5);
    let (_, all) = pdf(&app, "/liaisons/towns/guzhen/cards.pdf", &admin).await;
    assert_eq!((pages(&all), all.text.matches("/URI (").count()), (2, 6));
    assert!(all.drawn.contains(&format!("<{}>", ucs2("副市长"))));
    // A town with no cards in scope: one page that says so.
    let (_, none) = pdf(&app, "/liaisons/towns/xiaolan/cards.pdf", &liaison).await;
    assert!(pages(&none) == 1 && none.drawn.contains(&ucs2("没有可打印的联系卡。")));

    // Without the permission to print cards: 403, as the pages.
    let handler = app.login("handler").await;
    for path in [
        format!("/liaisons/cards/{id}"),
        format!("/liaisons/cards/{id}.pdf"),
        "/liaisons/towns/guzhen/cards.pdf".to_owned(),
        format!("/api/v1/liaisons/assignments/{id}/card.pdf"),
    ] {
        assert_eq!(fetch(&app, &path, &handler).await.0, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn the_demo_city_assigns_a_few_hundred_cadres_once() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    let made = mashangban_demo::load_liaisons(&app.store, &data, &hash).await.unwrap();
    assert!((200..=600).contains(&made), "{made}");
    assert_eq!(
        mashangban_demo::load_liaisons(&app.store, &data, &hash).await.unwrap(),
        0,
        "loading again adds nothing"
    );
    // The demo cadre signs in with the demo password and leads the demo enterprise.
    let liaison = app.login("liaison").await;
    let (_, mine) = app.get("/api/v1/liaisons/mine", Some(&liaison)).await;
    let mine = mine.as_array().unwrap();
    let demo_code = mashangban_demo::demo_enterprise().unwrap().0.as_str().to_owned();
    assert!(mine.iter().any(|a| a["credit_code"] == demo_code.as_str() && a["kind"] == "lead"), "{mine:?}");
    let (_, page) = app.get("/api/v1/enterprises?limit=500", Some(&liaison)).await;
    assert_eq!(page["total"].as_u64(), Some(mine.len() as u64));
    let town_cadre = app.login("liaison-xiaolan").await;
    let (_, theirs) = app.get("/api/v1/liaisons/mine", Some(&town_cadre)).await;
    assert!(theirs.as_array().unwrap().iter().all(|a| a["town"]["code"] == "xiaolan"));
}

/// Full-text search keeps a cadre's scope: the index query holds the credit codes of their
/// enterprises in force at the moment of the search, so neither the hits nor the total reveal
/// another enterprise's request, and an unassignment takes effect at once.
#[tokio::test]
async fn a_cadre_searches_only_their_enterprises_requests() {
    let app = spawn_configured(WebConfig::default(), true).await;
    let admin = app.login("admin").await;
    let (ours, theirs) = (code("91442000MA5LJAJ41"), code("91442000MA5LJAJ42"));
    setup(&app, &admin, &ours, &theirs).await;
    let liaison = app.login("liaison").await;
    let dispatcher = app.login("dispatcher").await;
    let (no, _) = app.submit(complaint_of(&ours, "中山市古镇星辉灯饰有限公司")).await;
    app.submit(complaint_of(&theirs, "中山市小榄精工五金厂")).await;
    // "营业执照" is in both requests' titles (`enterprise_complaint`).
    let q = "/api/v1/requests?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7";
    let started = std::time::Instant::now();
    while app.get(q, Some(&dispatcher)).await.1["total"] != 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "never indexed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, found) = app.get(q, Some(&liaison)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!((found["total"].as_u64(), found["items"][0]["tracking_no"].as_str()), (Some(1), Some(no.as_str())));

    let (_, mine) = app.get("/api/v1/liaisons/mine", Some(&liaison)).await;
    let id = mine[0]["id"].as_i64().unwrap();
    app.call(reqwest::Method::DELETE, &format!("/api/v1/liaisons/assignments/{id}"), Some(&admin), None).await;
    assert_eq!(app.get(q, Some(&liaison)).await.1["total"], 0, "unassigned: nothing found, nothing counted");
}
