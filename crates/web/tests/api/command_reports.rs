//! A command centre's periodic reports (定期报送) and pledges (军令状)
//! through the API and the pages: the office defines a weekly form, towns
//! file (one on time and corrected, one late), a unit that never files is
//! listed missing, chased by the office and by the scheduler once, and sees
//! the chases; a wrong unit, a future period and bad fields are refused with
//! nothing written; pledges are met, missed or pending from their targets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{App, Session, spawn, unit_handler};

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

fn weekly_form() -> Value {
    json!({
        "name": "污水管网建设周报",
        "cadence": "weekly",
        "fields": [
            { "key": "km_built", "label": "本周建成管网", "kind": "decimal", "unit": "公里", "required": true, "min": 0, "max": 100 },
            { "key": "outlets_closed", "label": "本周销号排口", "kind": "integer", "required": true, "min": 0 },
            { "key": "inspected_on", "label": "巡查日期", "kind": "date" },
            { "key": "problems", "label": "存在问题", "kind": "text", "max_len": 200 },
        ],
        "filers": ["guzhen", "xiaolan", "sthjj"],
        "due_working_days": 2,
    })
}

fn report(unit: &str, km: &str, closed: &str) -> Value {
    json!({ "unit": unit, "values": { "km_built": km, "outlets_closed": closed, "inspected_on": "2026-11-18" } })
}

async fn rows(app: &App, path: &str, who: &Session) -> Vec<Value> {
    let (status, d) = app.get(path, Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d["rows"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], unit: &str) -> &'a Value {
    rows.iter().find(|r| r["unit"]["code"] == unit).unwrap_or_else(|| panic!("no row of {unit}"))
}

/// The four people signed in again (after the clock moved past their sessions).
async fn signed_in_again(app: &App) -> (Session, Session, Session, Session) {
    (
        app.login("swuj-handler").await,
        app.login("guzhen-handler").await,
        app.login("xiaolan-handler").await,
        app.login("sthjj-handler").await,
    )
}

#[tokio::test]
async fn units_file_weekly_reports_the_missing_are_chased_and_see_the_chase() {
    let app = spawn().await;
    app.set_time("2026-11-16T09:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    unit_handler(&app, "sthjj", "sthjj-handler").await;
    let forms = "/api/v1/command/centres/water/report-forms";

    // Only the office defines forms, and only sound ones.
    assert_eq!(
        code(&app.post(forms, Some(&guzhen), weekly_form()).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    let mut bad = weekly_form();
    bad["fields"][1]["key"] = json!("km_built");
    assert_eq!(
        code(&app.post(forms, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("report_form_invalid"))
    );
    let mut bad = weekly_form();
    bad["filers"] = json!(["nosuch"]);
    assert_eq!(
        code(&app.post(forms, Some(&office), bad).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit"))
    );
    let (status, form) = app.post(forms, Some(&office), weekly_form()).await;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let id = form["id"].as_i64().unwrap();
    let filers: Vec<&str> = form["filers"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(filers, ["guzhen", "xiaolan", "sthjj"]);
    // Without filers named, the centre's member units and towns file.
    let mut all = weekly_form();
    all["filers"] = json!([]);
    all["name"] = json!("月报");
    all["cadence"] = json!("monthly");
    let (_, monthly) = app.post(forms, Some(&office), all).await;
    assert!(monthly["filers"].as_array().unwrap().len() > 10, "{monthly}");

    let w47 = format!("/api/v1/command/report-forms/{id}/periods/2026-W47");
    let file = format!("{w47}/filings");
    // Friday of week 47: guzhen files on time; a future week, a wrong unit and bad fields are refused.
    app.set_time("2026-11-20T15:00:00+08:00");
    let (office, guzhen, _, _) = signed_in_again(&app).await;
    assert_eq!(
        code(
            &app.post(
                &format!("/api/v1/command/report-forms/{id}/periods/2026-W48/filings"),
                Some(&guzhen),
                report("guzhen", "1.5", "2")
            )
            .await
        ),
        (StatusCode::CONFLICT, Some("report_period_not_open"))
    );
    assert_eq!(
        code(
            &app.post(
                &format!("/api/v1/command/report-forms/{id}/periods/2026-13/filings"),
                Some(&guzhen),
                report("guzhen", "1", "2")
            )
            .await
        ),
        (StatusCode::NOT_FOUND, Some("report_period_not_found"))
    );
    assert_eq!(
        code(
            &app.post(
                "/api/v1/command/report-forms/999999/periods/2026-W47/filings",
                Some(&guzhen),
                report("guzhen", "1", "2")
            )
            .await
        ),
        (StatusCode::NOT_FOUND, Some("report_form_not_found"))
    );
    assert_eq!(
        code(&app.post(&file, Some(&guzhen), report("xiaolan", "1.5", "2")).await),
        (StatusCode::FORBIDDEN, Some("report_not_yours"))
    );
    let (status, refused) = app.post(&file, Some(&guzhen), report("guzhen", "-1", "1.5")).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("report_field_invalid")));
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("「本周建成管网」不能小于 0公里") && message.contains("「本周销号排口」须为整数"),
        "{message}"
    );
    let mut unknown = report("guzhen", "1", "1");
    unknown["values"]["bogus"] = json!("1");
    assert_eq!(
        code(&app.post(&file, Some(&guzhen), unknown).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("report_field_invalid"))
    );
    assert!(row(&rows(&app, &w47, &office).await, "guzhen")["current"].is_null(), "nothing written");
    let (status, filed) = app.post(&file, Some(&guzhen), report("guzhen", "1.50", "2")).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(
        (filed["revision"].as_i64(), filed["late"].as_bool(), filed["values"]["km_built"].as_str()),
        (Some(1), Some(false), Some("1.5"))
    );

    // Thursday of week 48, past week 47's due time (two working days after Sunday): xiaolan files
    // late, guzhen corrects (a second revision, the first kept); sthjj never files.
    app.set_time("2026-11-26T10:00:00+08:00");
    let (office, guzhen, xiaolan, sthjj) = signed_in_again(&app).await;
    let (_, late) = app.post(&file, Some(&xiaolan), report("xiaolan", "0.8", "1")).await;
    assert_eq!(late["late"], true, "{late}");
    let (_, corrected) = app.post(&file, Some(&guzhen), report("guzhen", "1.7", "2")).await;
    assert_eq!((corrected["revision"].as_i64(), corrected["late"].as_bool()), (Some(2), Some(true)));
    let all = rows(&app, &w47, &office).await;
    let g = row(&all, "guzhen");
    assert_eq!(
        (g["status"].as_str(), g["current"]["values"]["km_built"].as_str()),
        (Some("filed"), Some("1.7")),
        "on time by its first filing"
    );
    assert_eq!(g["earlier"][0]["values"]["km_built"], "1.5");
    assert_eq!(row(&all, "xiaolan")["status"], "late");
    assert_eq!(row(&all, "sthjj")["status"], "missing");
    let (_, overview) = app.get(forms, Some(&office)).await;
    let w = overview[0]["periods"].as_array().unwrap().iter().find(|p| p["period"] == "2026-W47").unwrap().clone();
    assert_eq!((w["filed"].as_u64(), w["late"].as_u64(), w["missing"].as_u64()), (Some(1), Some(1), Some(1)), "{w}");

    // The dashboard lists the missing report; the office chases it; a filed one is not chased.
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    let missing = d["missing_reports"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!((missing[0]["unit"]["code"].as_str(), missing[0]["period"].as_str()), (Some("sthjj"), Some("2026-W47")));
    let chase = format!("{w47}/chase");
    assert_eq!(
        code(&app.post(&chase, Some(&guzhen), json!({ "unit": "sthjj" })).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    assert_eq!(
        code(&app.post(&chase, Some(&office), json!({ "unit": "guzhen" })).await),
        (StatusCode::CONFLICT, Some("report_not_missing"))
    );
    let (status, chased) =
        app.post(&chase, Some(&office), json!({ "unit": "sthjj", "note": "请今日内报送第47周周报" })).await;
    assert_eq!(status, StatusCode::OK, "{chased}");
    assert_eq!(chased["chased"][0]["code"], "sthjj");

    // The scheduler chases a report falling due unfiled once, whatever the number of scans.
    let first = mashangban_app::command::reports::chase_due_reports(&app.state).await.unwrap();
    assert_eq!(first, 1, "sthjj's week 47");
    assert_eq!(mashangban_app::command::reports::chase_due_reports(&app.state).await.unwrap(), 0, "once");

    // The unit sees its own report only, with both chases; the dashboard counts them.
    let mine = rows(&app, &w47, &sthjj).await;
    assert_eq!(mine.len(), 1);
    let chases = mine[0]["chases"].as_array().unwrap();
    assert_eq!(chases.len(), 2, "{chases:?}");
    assert_eq!(
        (chases[0]["note"].as_str(), chases[1]["automatic"].as_bool()),
        (Some("请今日内报送第47周周报"), Some(true))
    );
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&sthjj)).await;
    assert_eq!(d["missing_reports"][0]["chases"], 2);
    // Each chase reached the unit's inbox (催报), once; the chasing office and the towns that filed got none.
    let (_, inbox) = app.get("/api/v1/inbox?kind=report_chased", Some(&sthjj)).await;
    let entries = inbox["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{inbox}");
    assert_eq!(
        (entries[0]["title"].as_str(), entries[0]["link"].as_str(), entries[0]["event_label"].as_str()),
        (Some("污水管网建设周报（2026-W47）"), Some(format!("/command/reports/{id}/2026-W47").as_str()), Some("催报"))
    );
    for other in [&office, &guzhen] {
        let (_, inbox) = app.get("/api/v1/inbox?kind=report_chased", Some(other)).await;
        assert_eq!(inbox["total"], 0, "{inbox}");
    }
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&guzhen)).await;
    assert!(d["missing_reports"].as_array().unwrap().is_empty(), "not guzhen's");
    assert_eq!(rows(&app, &w47, &guzhen).await.len(), 1);

    // Excel of the period, Chinese headers.
    let res = app.http.get(app.url(&format!("{w47}/export"))).header("cookie", &office.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = mashangban_sheet::open_xlsx(&bytes, &mashangban_sheet::Limits::default()).unwrap();
    let sheet: Vec<mashangban_sheet::Row> = book.rows_by_name("报表").unwrap().map(Result::unwrap).collect();
    let text = format!("{sheet:?}");
    assert!(text.contains("本周建成管网（公里）") && text.contains("逾期报送"), "{text}");

    // Pages: the period page with the generated form; a bad value comes back in Chinese next to its field.
    let (status, html) = crate::browser::page(&app, &format!("/command/reports/{id}/2026-W48"), &guzhen).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"f.km_built\"") && html.contains("本周建成管网（公里） *"), "{html}");
    let post = format!("/command/reports/{id}/2026-W48/file");
    let (status, _, html) = crate::browser::post_form(
        &app,
        &post,
        &guzhen,
        &[("unit", "guzhen"), ("f.km_built", "abc"), ("f.outlets_closed", "3")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"e-km_built\"") && html.contains("须为数字"), "{html}");
    let (status, location, _) = crate::browser::post_form(
        &app,
        &post,
        &guzhen,
        &[("unit", "guzhen"), ("f.km_built", "2"), ("f.outlets_closed", "3"), ("note", "按计划推进")],
    )
    .await;
    assert!(status.is_redirection() && location.contains("2026-W48"), "{status}");
    let (status, html) = crate::browser::page(&app, "/command/water/reports", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("污水管网建设周报") && html.contains("report-form-define"), "{html}");
    let (_, html) = crate::browser::page(&app, "/command/water", &office).await;
    assert!(html.contains("id=\"missing-reports\""), "the dashboard shows the missing report");
}

async fn pledge(
    app: &App,
    who: &Session,
    unit: &str,
    targets: &[i64],
    bytes: &'static [u8],
    name: &'static str,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("unit", unit.to_owned())
        .text("signed_on", "2026-03-01")
        .text("signatory", "镇长")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str("application/octet-stream").unwrap(),
        );
    for t in targets {
        form = form.text("target", t.to_string());
    }
    let res = app
        .http
        .post(app.url("/api/v1/command/centres/water/pledges"))
        .header("cookie", &who.0)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pledges_are_met_missed_or_pending_from_their_targets() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    // One creek of guzhen under construction.
    let creek = json!({ "values": {
        "creek_code": "HY442000001", "name": "测试涌", "town": "guzhen", "cluster": "central", "category": "substandard",
        "river_chief": "陈河长", "target_date": "2026-12-31", "target_class": "5", "measures": "截污纳管",
        "budget": "500", "responsible_unit": "swuj", "plan_approved_on": "2026-03-01", "start_on": "2026-04-01",
    }});
    let (status, item) = app.post("/api/v1/ledgers/creek/items", Some(&guzhen), creek).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let (status, moved) = app
        .post("/api/v1/ledgers/creek/items/HY442000001/move", Some(&guzhen), json!({ "version": 1, "to": "construct" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let targets = "/api/v1/command/centres/water/targets";
    let target = |name: &str, stage: &str, due: &str| json!({ "name": name, "ledger_type": "creek", "stages": [stage], "town": "guzhen", "goal": 1, "due_on": due });
    let (_, met) = app.post(targets, Some(&office), target("古镇镇河涌开工", "construct", "2026-12-31")).await;
    let (_, pending) = app.post(targets, Some(&office), target("古镇镇河涌完成整治", "done", "2026-12-31")).await;
    let (_, missed) = app.post(targets, Some(&office), target("古镇镇河涌十一月完成整治", "done", "2026-11-30")).await;
    let [met, pending, missed] = [&met, &pending, &missed].map(|t| t["id"].as_i64().unwrap());

    let pdf: &'static [u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    assert_eq!(
        code(&pledge(&app, &guzhen, "guzhen", &[met], pdf, "军令状.pdf").await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    assert_eq!(
        code(&pledge(&app, &office, "guzhen", &[met], b"<html>hi</html>", "军令状.html").await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unsupported_file_type"))
    );
    assert_eq!(
        code(&pledge(&app, &office, "guzhen", &[999_999], pdf, "军令状.pdf").await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_target"))
    );
    assert_eq!(
        code(&pledge(&app, &office, "guzhen", &[], pdf, "军令状.pdf").await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pledge_targets_required"))
    );
    let (_, before) = app.get("/api/v1/command/centres/water/pledges", Some(&office)).await;
    assert!(before.as_array().unwrap().is_empty(), "nothing written");

    let (status, p1) = pledge(&app, &office, "guzhen", &[met], pdf, "古镇镇军令状.pdf").await;
    assert_eq!(status, StatusCode::CREATED, "{p1}");
    assert_eq!((p1["status"].as_str(), p1["targets"][0]["status"].as_str()), (Some("met"), Some("met")));
    let png: &'static [u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    let (_, p2) = pledge(&app, &office, "guzhen", &[met, pending], png, "scan.png").await;
    assert_eq!(p2["status"], "pending", "{p2}");
    let (_, p3) = pledge(&app, &office, "xiaolan", &[pending, missed], pdf, "小榄镇军令状.pdf").await;
    assert_eq!(p3["status"], "missed", "{p3}");
    assert_eq!(p3["targets"][1]["status"], "missed");

    let (_, list) = app.get("/api/v1/command/centres/water/pledges", Some(&guzhen)).await;
    let statuses: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["met", "pending", "missed"]);
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    assert_eq!(d["pledges"].as_array().unwrap().len(), 3);

    // The signed document comes back as uploaded.
    let res =
        app.http.get(app.url(p1["document_link"].as_str().unwrap())).header("cookie", &guzhen.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(&res.bytes().await.unwrap()[..], pdf);
    assert_eq!(
        code(&app.get("/api/v1/command/pledges/999999/document", Some(&guzhen)).await),
        (StatusCode::NOT_FOUND, Some("pledge_not_found"))
    );
    let (status, html) = crate::browser::page(&app, "/command/water/pledges", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("古镇镇军令状.pdf") && html.contains("pledge-form") && html.contains("未兑现"), "{html}");
}

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

fn actions(history: &Value) -> Vec<&str> {
    history.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn forms_are_edited_within_what_filed_reports_allow_and_withdrawn_forms_are_not_chased() {
    let app = spawn().await;
    app.set_time("2026-11-16T09:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    unit_handler(&app, "guzhen", "guzhen-handler").await;
    unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    unit_handler(&app, "sthjj", "sthjj-handler").await;
    let forms = "/api/v1/command/centres/water/report-forms";
    let (status, form) = app.post(forms, Some(&office), weekly_form()).await;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let id = form["id"].as_i64().unwrap();
    assert_eq!(form["version"], 1);
    let path = format!("/api/v1/command/report-forms/{id}");

    // Nothing filed yet: the label, the due days and a field's bounds change, recorded from → to.
    let mut body = weekly_form();
    body["version"] = json!(1);
    body["fields"][0]["label"] = json!("本周新建管网");
    body["fields"][1]["max"] = json!(500);
    body["due_working_days"] = json!(3);
    let (status, changed) = put(&app, &path, &office, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["version"].as_i64(), changed["due_working_days"].as_i64()), (Some(2), Some(3)));
    // A stale version, no version, a town, a supervisor (no right to work), bad input: refused.
    assert_eq!(
        code(&put(&app, &path, &office, body.clone()).await),
        (StatusCode::CONFLICT, Some("report_form_changed"))
    );
    let mut unversioned = body.clone();
    unversioned["version"] = Value::Null;
    assert_eq!(
        code(&put(&app, &path, &office, unversioned).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("version_required"))
    );
    body["version"] = json!(2);
    let guzhen = app.login("guzhen-handler").await;
    assert_eq!(
        code(&put(&app, &path, &guzhen, body.clone()).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    let supervisor = app.login("supervisor").await;
    assert_eq!(
        code(&put(&app, &path, &supervisor, body.clone()).await),
        (StatusCode::FORBIDDEN, Some("permission_denied"))
    );
    let mut empty = body.clone();
    empty["fields"] = json!([]);
    assert_eq!(
        code(&put(&app, &path, &office, empty).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("report_form_invalid"))
    );
    assert_eq!(
        code(&put(&app, "/api/v1/command/report-forms/999999", &office, body.clone()).await),
        (StatusCode::NOT_FOUND, Some("report_form_not_found"))
    );

    // guzhen files week 47 (km, count and date; no problems text).
    app.set_time("2026-11-20T15:00:00+08:00");
    let (office, guzhen, _, _) = signed_in_again(&app).await;
    let file = format!("{path}/periods/2026-W47/filings");
    let (status, filed) = app.post(&file, Some(&guzhen), report("guzhen", "1.5", "2")).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");

    // Now removing or retyping a field the report holds, changing a unit or the cadence, or dropping
    // guzhen from the filers is refused with nothing written.
    let refused = |change: &dyn Fn(&mut Value)| {
        let mut b = body.clone();
        change(&mut b);
        b
    };
    let cases = [
        refused(&|b: &mut Value| {
            b["fields"].as_array_mut().unwrap().remove(0);
        }),
        refused(&|b: &mut Value| b["fields"][1]["kind"] = json!("decimal")),
        refused(&|b: &mut Value| b["fields"][0]["unit"] = json!("米")),
        refused(&|b: &mut Value| b["cadence"] = json!("monthly")),
        refused(&|b: &mut Value| b["filers"] = json!(["xiaolan", "sthjj"])),
    ];
    let expected = [
        "已有 1 份报表填报，不能删除",
        "类型由整数改为小数",
        "计量单位由「公里」改为「米」",
        "报送周期由每周改为每月",
        "已报送过本表，不能从报送单位中移除",
    ];
    for (b, words) in cases.into_iter().zip(expected) {
        let (status, answer) = put(&app, &path, &office, b).await;
        assert_eq!((status, answer["code"].as_str()), (StatusCode::CONFLICT, Some("report_form_in_use")), "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(words), "{answer}");
    }
    // What no report uses may go: the problems field; the filed report stays as filed.
    let mut fine = body.clone();
    fine["fields"].as_array_mut().unwrap().pop();
    let (status, changed) = put(&app, &path, &office, fine).await;
    assert_eq!((status, changed["version"].as_i64()), (StatusCode::OK, Some(3)), "{changed}");
    let w47 = format!("{path}/periods/2026-W47");
    assert_eq!(row(&rows(&app, &w47, &office).await, "guzhen")["current"]["values"]["km_built"], "1.5");

    // The history of the form, newest first, says what changed.
    let (_, overview) = app.get(forms, Some(&office)).await;
    let history = &overview[0]["history"];
    assert_eq!(actions(history), ["report_form_changed", "report_form_changed", "report_form_defined"], "{history}");
    let first_change = history[1]["note"].as_str().unwrap();
    assert!(
        first_change.contains("名称「本周建成管网」→「本周新建管网」")
            && first_change.contains("报送期限：周期结束后 2 → 3 个工作日")
            && first_change.contains("上限 无 → 500"),
        "{first_change}"
    );
    assert!(history[0]["note"].as_str().unwrap().contains("删除栏目「存在问题」"), "{history}");

    // The page's edit form: a stale version comes back on the form's card; a current one is saved.
    let page_edit = format!("/command/report-forms/{id}/edit");
    let lines = "km_built|本周新建管网|小数|公里|是|0|100\noutlets_closed|本周销号排口|整数||是|0|500\ninspected_on|巡查日期|日期||否||";
    let typed = |version: &'static str| {
        [
            ("version", version),
            ("name", "污水管网建设周报"),
            ("cadence", "weekly"),
            ("fields", lines),
            ("filers", "guzhen, xiaolan, sthjj"),
            ("due_working_days", "4"),
        ]
    };
    let (status, _, html) = crate::browser::post_form(&app, &page_edit, &office, &typed("2")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains(&format!("id=\"form-{id}-error\"")) && html.contains("已被他人修改"), "{html}");
    let (status, location, _) = crate::browser::post_form(&app, &page_edit, &office, &typed("3")).await;
    assert!(status.is_redirection() && location.ends_with(&format!("#form-{id}")), "{status} {location}");
    let (_, overview) = app.get(forms, Some(&office)).await;
    assert_eq!(overview[0]["form"]["version"], 4);
    assert_eq!(overview[0]["history"][0]["note"], "「污水管网建设周报」第4版：报送期限：周期结束后 3 → 4 个工作日");

    // Past due: xiaolan and sthjj are missing; the office withdraws the form (reason required).
    app.set_time("2026-11-30T10:00:00+08:00");
    let (office, guzhen, _, _) = signed_in_again(&app).await;
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    assert_eq!(d["missing_reports"].as_array().unwrap().len(), 2, "{}", d["missing_reports"]);
    let withdraw = format!("{path}/withdraw");
    assert_eq!(
        code(&app.post(&withdraw, Some(&office), json!({ "version": 4, "reason": " " })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required"))
    );
    assert_eq!(
        code(&app.post(&withdraw, Some(&guzhen), json!({ "version": 4, "reason": "停用" })).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    assert_eq!(
        code(&app.post(&withdraw, Some(&office), json!({ "version": 2, "reason": "停用" })).await),
        (StatusCode::CONFLICT, Some("report_form_changed"))
    );
    let (status, gone) =
        app.post(&withdraw, Some(&office), json!({ "version": 4, "reason": "并入月报，不再单独报送" })).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["withdrawn"]["reason"], "并入月报，不再单独报送");
    assert!(gone["withdrawn"]["by"].as_str().unwrap().contains("swuj"), "{gone}");

    // No longer chased, listed missing, filed or changed; what was filed stays readable.
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    assert!(d["missing_reports"].as_array().unwrap().is_empty(), "{}", d["missing_reports"]);
    assert_eq!(d["history"][0]["action"], "report_form_withdrawn", "{}", d["history"]);
    assert_eq!(mashangban_app::command::reports::chase_due_reports(&app.state).await.unwrap(), 0);
    assert_eq!(
        code(&app.post(&format!("{w47}/chase"), Some(&office), json!({})).await),
        (StatusCode::CONFLICT, Some("report_form_withdrawn"))
    );
    assert_eq!(
        code(&app.post(&file, Some(&guzhen), report("guzhen", "1.7", "2")).await),
        (StatusCode::CONFLICT, Some("report_form_withdrawn"))
    );
    body["version"] = json!(5);
    assert_eq!(code(&put(&app, &path, &office, body).await), (StatusCode::CONFLICT, Some("report_form_withdrawn")));
    let kept = rows(&app, &w47, &office).await;
    assert_eq!(row(&kept, "guzhen")["current"]["revision"], 1);
    assert!(kept.iter().all(|r| r["may_file"] == false && r["may_chase"] == false));
    let (_, overview) = app.get(forms, Some(&office)).await;
    assert_eq!(actions(&overview[0]["history"])[0], "report_form_withdrawn");

    // The page shows the withdrawal and the history; no edit buttons on a withdrawn form.
    let (status, html) = crate::browser::page(&app, "/command/water/reports", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("（已撤回）") && html.contains("并入月报") && html.contains("变更记录"), "{html}");
    assert!(!html.contains(&format!("report-form-edit-{id}")), "{html}");
}

#[tokio::test]
async fn pledges_are_edited_and_a_withdrawn_one_is_neither_met_nor_missed() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let office = unit_handler(&app, "swuj", "swuj-handler").await;
    let guzhen = unit_handler(&app, "guzhen", "guzhen-handler").await;
    let targets = "/api/v1/command/centres/water/targets";
    let target = |name: &str, due: &str| json!({ "name": name, "ledger_type": "creek", "stages": ["done"], "town": "guzhen", "goal": 1, "due_on": due });
    let (_, missed) = app.post(targets, Some(&office), target("古镇镇十一月河涌整治", "2026-11-30")).await;
    let (_, pending) = app.post(targets, Some(&office), target("古镇镇年底河涌整治", "2026-12-31")).await;
    let [missed, pending] = [&missed, &pending].map(|t| t["id"].as_i64().unwrap());
    let pdf: &'static [u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    let (status, p) = pledge(&app, &office, "guzhen", &[missed], pdf, "古镇镇军令状.pdf").await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!((p["status"].as_str(), p["version"].as_i64()), (Some("missed"), Some(1)));
    assert_eq!(actions(&p["history"]), ["pledge_recorded"]);
    assert!(p["history"][0]["note"].as_str().unwrap().contains("古镇镇的军令状"), "{p}");
    let path = format!("/api/v1/command/pledges/{}", p["id"]);

    let edit = |version: i64, targets: &[i64], signed_on: &str| json!({ "version": version, "targets": targets, "signed_on": signed_on, "signatory": "古镇镇镇长" });
    assert_eq!(
        code(&put(&app, &path, &guzhen, edit(1, &[missed], "2026-03-01")).await),
        (StatusCode::FORBIDDEN, Some("command_office_only"))
    );
    let supervisor = app.login("supervisor").await;
    assert_eq!(
        code(&put(&app, &path, &supervisor, edit(1, &[missed], "2026-03-01")).await),
        (StatusCode::FORBIDDEN, Some("permission_denied"))
    );
    assert_eq!(
        code(&put(&app, &path, &office, edit(1, &[999_999], "2026-03-01")).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_target"))
    );
    assert_eq!(
        code(&put(&app, &path, &office, edit(1, &[missed], "2026-13-01")).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date"))
    );
    assert_eq!(
        code(&put(&app, &path, &office, edit(1, &[], "2026-03-01")).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pledge_targets_required"))
    );
    assert_eq!(
        code(&put(&app, "/api/v1/command/pledges/999999", &office, edit(1, &[missed], "2026-03-01")).await),
        (StatusCode::NOT_FOUND, Some("pledge_not_found"))
    );
    let (status, changed) = put(&app, &path, &office, edit(1, &[missed, pending], "2026-03-02")).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["version"].as_i64(), changed["targets"].as_array().unwrap().len()), (Some(2), 2));
    assert_eq!(actions(&changed["history"]), ["pledge_changed", "pledge_recorded"]);
    let note = changed["history"][0]["note"].as_str().unwrap();
    assert!(
        note.contains("新增所签目标「古镇镇年底河涌整治」")
            && note.contains("签署日期：2026-03-01 → 2026-03-02")
            && note.contains("签署人：镇长 → 古镇镇镇长"),
        "{note}"
    );
    assert_eq!(
        code(&put(&app, &path, &office, edit(1, &[missed], "2026-03-01")).await),
        (StatusCode::CONFLICT, Some("pledge_changed"))
    );

    // The page's edit form with a stale version: refused on the pledge's row.
    let page_edit = format!("/command/pledges/{}/edit", p["id"]);
    let missed_text = missed.to_string();
    let typed = [("version", "1"), ("target", missed_text.as_str()), ("signed_on", "2026-03-02"), ("signatory", "x")];
    let (status, _, html) = crate::browser::post_form(&app, &page_edit, &office, &typed).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains(&format!("id=\"pledge-{}-error\"", p["id"])) && html.contains("已被他人修改"), "{html}");

    // Withdrawn (作废): kept and shown, neither met nor missed.
    let withdraw = format!("{path}/withdraw");
    assert_eq!(
        code(&app.post(&withdraw, Some(&office), json!({ "version": 2 })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required"))
    );
    assert_eq!(
        code(&app.post(&withdraw, Some(&office), json!({ "reason": "重签" })).await),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("version_required"))
    );
    let (status, gone) =
        app.post(&withdraw, Some(&office), json!({ "version": 2, "reason": "目标调整，重新签署" })).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!((gone["status"].as_str(), gone["status_label"].as_str()), (Some("withdrawn"), Some("已作废")));
    assert_eq!(gone["withdrawn"]["reason"], "目标调整，重新签署");
    let (_, list) = app.get("/api/v1/command/centres/water/pledges", Some(&guzhen)).await;
    assert_eq!(list[0]["status"], "withdrawn", "{list}");
    let (_, d) = app.get("/api/v1/command/centres/water/dashboard", Some(&office)).await;
    let counted: Vec<&str> = d["pledges"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(counted, ["withdrawn"], "no longer missed");
    assert_eq!(d["history"][0]["action"], "pledge_withdrawn", "{}", d["history"]);
    assert_eq!(
        code(&put(&app, &path, &office, edit(3, &[missed], "2026-03-01")).await),
        (StatusCode::CONFLICT, Some("pledge_withdrawn"))
    );
    assert_eq!(
        code(&app.post(&withdraw, Some(&office), json!({ "version": 3, "reason": "再次" })).await),
        (StatusCode::CONFLICT, Some("pledge_withdrawn"))
    );
    let (status, html) = crate::browser::page(&app, "/command/water/pledges", &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("已作废") && html.contains("目标调整，重新签署") && html.contains("变更记录"), "{html}");
}
