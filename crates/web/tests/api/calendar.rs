//! The work calendar: calculator and administration through the API.

use super::*;

/// Percent-encodes the `+` of an offset for a query string.
fn q(instant: &str) -> String {
    instant.replace('+', "%2B")
}

async fn due(app: &App, from: &str, param: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/calendar/add?from={}&{param}", q(from)), None).await
}

async fn due_ok(app: &App, from: &str, param: &str) -> String {
    let (status, body) = due(app, from, param).await;
    assert_eq!(status, StatusCode::OK, "{from} {param}: {body}");
    body["due"].as_str().unwrap().to_owned()
}

async fn put(app: &App, path: &str, who: Option<&Session>, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, who, Some(body)).await
}

async fn upload(app: &App, who: &Session, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let res = app
        .http
        .post(app.url("/api/v1/calendar/import"))
        .header("cookie", &who.0)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn days(app: &App, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/calendar/days?{query}"), None).await
}

fn assert_code(got: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!((got.0, got.1["code"].as_str()), (status, Some(code)), "{}", got.1);
    assert!(!got.1["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn the_worked_example_and_the_spring_festival_through_the_api() {
    let app = spawn().await;
    // Received Fri 2026-02-13 10:00; 5 working days: Sat 02-14 (make-up), 02-24..02-27.
    assert_eq!(due_ok(&app, "2026-02-13T10:00:00+08:00", "workdays=5").await, "2026-02-27T17:30:00.000+08:00");
    // Another offset is converted; an unencoded `+` (a space once decoded) is taken back.
    assert_eq!(due_ok(&app, "2026-02-13T02:00:00Z", "workdays=5").await, "2026-02-27T17:30:00.000+08:00");
    let (status, body) = app.get("/api/v1/calendar/add?from=2026-02-13T10:00:00+08:00&workdays=5", None).await;
    assert_eq!((status, body["due"].as_str()), (StatusCode::OK, Some("2026-02-27T17:30:00.000+08:00")));
    // Working hours skip the festival: 1 h on Fri, 7 h on the make-up Saturday, 1 h on 02-24.
    assert_eq!(due_ok(&app, "2026-02-13T16:30:00+08:00", "workhours=9").await, "2026-02-24T09:30:00.000+08:00");

    let (status, days) = app.get("/api/v1/calendar/days?from=2026-02-13&to=2026-02-24", None).await;
    assert_eq!(status, StatusCode::OK, "{days}");
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 12);
    assert_eq!(days[0], json!({ "date": "2026-02-13", "workday": true, "kind": "workday", "name": null }));
    assert_eq!(
        days[1],
        json!({ "date": "2026-02-14", "workday": true, "kind": "makeup_workday", "name": "春节调休上班" })
    );
    for day in &days[2..11] {
        assert_eq!((day["kind"].as_str(), day["workday"].as_bool()), (Some("holiday"), Some(false)), "{day}");
        assert_eq!(day["name"], "春节");
    }
    assert_eq!(days[2]["date"], "2026-02-15");
    assert_eq!(days[10]["date"], "2026-02-23");
    assert_eq!(days[11], json!({ "date": "2026-02-24", "workday": true, "kind": "workday", "name": null }));
    let (_, weekend) = app.get("/api/v1/calendar/days?from=2026-03-07&to=2026-03-07", None).await;
    assert_eq!(weekend, json!([{ "date": "2026-03-07", "workday": false, "kind": "weekend", "name": null }]));

    // The covered years are public, with counts and notice references.
    let (status, years) = app.get("/api/v1/calendar/years", None).await;
    assert_eq!(status, StatusCode::OK);
    let years = years.as_array().unwrap();
    assert_eq!(
        years.iter().map(|y| y["year"].as_i64().unwrap()).collect::<Vec<_>>(),
        (2020..=2026).collect::<Vec<_>>()
    );
    assert_eq!(years[6]["notice"], "国办发明电〔2025〕7号");
    assert_eq!((years[6]["holidays"].as_i64(), years[6]["makeup_workdays"].as_i64()), (Some(33), Some(6)));
}

#[tokio::test]
async fn every_bad_calculator_input_has_its_code_and_never_a_guess() {
    let app = spawn().await;
    let from = "2026-02-13T10:00:00+08:00";
    let bad = StatusCode::BAD_REQUEST;
    assert_code(app.get("/api/v1/calendar/add?workdays=5", None).await, bad, "invalid_parameter");
    assert_code(app.get("/api/v1/calendar/add?from=2026-02-13&workdays=5", None).await, bad, "invalid_parameter");
    assert_code(app.get("/api/v1/calendar/add?from=tomorrow&workdays=5", None).await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=5&workhours=3").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=-1").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=1.5").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=abc").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=3651").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=99999999999999999999").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workhours=87601").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=1&workdays=2").await, bad, "invalid_parameter");
    assert_code(due(&app, from, "workdays=1&days=2").await, bad, "unknown_parameter");

    let uncovered = StatusCode::UNPROCESSABLE_ENTITY;
    assert_code(due(&app, "2031-03-02T10:00:00+08:00", "workdays=1").await, uncovered, "calendar_year_not_covered");
    assert_code(due(&app, "2019-12-31T10:00:00+08:00", "workhours=1").await, uncovered, "calendar_year_not_covered");
    // The deadline would fall after the last covered year.
    assert_code(due(&app, "2026-12-20T10:00:00+08:00", "workdays=30").await, uncovered, "calendar_year_not_covered");

    assert_code(days(&app, "from=2026-01-01").await, bad, "invalid_parameter");
    assert_code(days(&app, "from=2026-02-30&to=2026-03-01").await, bad, "invalid_parameter");
    assert_code(days(&app, "from=2026-2-3&to=2026-03-01").await, bad, "invalid_parameter");
    assert_code(days(&app, "from=2026-03-01&to=2026-02-01").await, bad, "invalid_parameter");
    assert_code(days(&app, "from=2025-01-01&to=2026-01-02").await, bad, "invalid_parameter");
    assert_code(days(&app, "from=2026-01-01&to=2026-01-02&x=1").await, bad, "unknown_parameter");
    assert_code(days(&app, "from=2019-12-31&to=2020-01-01").await, uncovered, "calendar_year_not_covered");
    // A whole leap year is within the cap.
    let (status, all) = days(&app, "from=2024-01-01&to=2024-12-31").await;
    assert_eq!((status, all.as_array().map(Vec::len)), (StatusCode::OK, Some(366)));
}

/// 2026 as stored, with one more (made-up) holiday on Wed 2026-02-25.
async fn year_2026_with_extra_holiday(app: &App) -> Value {
    let (status, mut year) = app.get("/api/v1/calendar/years/2026", None).await;
    assert_eq!(status, StatusCode::OK, "{year}");
    year["holidays"].as_array_mut().unwrap().push(json!({ "date": "2026-02-25", "name": "测试假日" }));
    year
}

#[tokio::test]
async fn an_admin_replaces_a_year_and_the_calculator_answers_at_once() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let from = "2026-02-13T10:00:00+08:00";
    let body = year_2026_with_extra_holiday(&app).await;

    // Only administrators change the calendar.
    assert_code(
        put(&app, "/api/v1/calendar/years/2026", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let dispatcher = app.login("dispatcher").await;
    let refused = put(&app, "/api/v1/calendar/years/2026", Some(&dispatcher), body.clone()).await;
    assert_code(refused, StatusCode::FORBIDDEN, "permission_denied");
    assert_code(
        app.get("/api/v1/calendar/changes", Some(&dispatcher)).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );
    let refused = app.get("/api/v1/calendar/working-hours", Some(&dispatcher)).await;
    assert_code(refused, StatusCode::FORBIDDEN, "permission_denied");
    assert_eq!(due_ok(&app, from, "workdays=5").await, "2026-02-27T17:30:00.000+08:00");

    let (status, change) = put(&app, "/api/v1/calendar/years/2026", Some(&admin), body).await;
    assert_eq!(status, StatusCode::OK, "{change}");
    assert_eq!((change["year"].as_i64(), change["holidays"].as_i64()), (Some(2026), Some(34)));
    // 02-25 is now off: 02-14, 02-24, 02-26, 02-27 and the make-up Saturday 02-28.
    assert_eq!(due_ok(&app, from, "workdays=5").await, "2026-02-28T17:30:00.000+08:00");
    let (_, day) = app.get("/api/v1/calendar/days?from=2026-02-25&to=2026-02-25", None).await;
    assert_eq!(day[0], json!({ "date": "2026-02-25", "workday": false, "kind": "holiday", "name": "测试假日" }));

    // The change is recorded: who, when, what, and what was there before.
    let (status, changes) = app.get("/api/v1/calendar/changes", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let latest = &changes[0];
    assert_eq!((latest["kind"].as_str(), latest["year"].as_i64()), (Some("year"), Some(2026)));
    assert!(latest["actor"]["name"].as_str().unwrap().contains("吴文杰"), "{latest}");
    assert_eq!(latest["actor"]["role"], "admin");
    assert!(latest["actor"]["user_id"].as_i64().is_some());
    assert_eq!(latest["source"], "json");
    assert_eq!(latest["client_ip"], "127.0.0.1");
    assert!(latest["at"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(latest["previous"]["holidays"].as_array().unwrap().len(), 33);
    assert_eq!(latest["current"]["holidays"].as_array().unwrap().len(), 34);
    assert_eq!(latest["previous"]["notice"], "国办发明电〔2025〕7号");
    // The first start stored the bundled years and hours, recorded as the system's.
    let seeded = changes.as_array().unwrap().iter().filter(|c| c["source"] == "bundled").count();
    assert_eq!(seeded, 8, "7 years and the working hours");

    // Adding the next year extends what the calculator covers.
    let year_2027 = json!({
        "notice": "测试文号",
        "holidays": [
            { "date": "2027-01-01", "name": "元旦" }, { "date": "2027-01-02", "name": "元旦" },
            { "date": "2027-01-03", "name": "元旦" }
        ],
        "makeup_workdays": [{ "date": "2027-01-09", "name": "元旦调休上班" }]
    });
    assert_code(
        due(&app, "2026-12-31T10:00:00+08:00", "workdays=1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "calendar_year_not_covered",
    );
    let (status, _) = put(&app, "/api/v1/calendar/years/2027", Some(&admin), year_2027).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(due_ok(&app, "2026-12-31T10:00:00+08:00", "workdays=1").await, "2027-01-04T17:30:00.000+08:00");
    let (_, years) = app.get("/api/v1/calendar/years", None).await;
    assert_eq!(years.as_array().unwrap().last().unwrap()["notice"], "测试文号");
}

#[tokio::test]
async fn a_refused_year_changes_nothing() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let from = "2026-02-13T10:00:00+08:00";
    let (_, before_changes) = app.get("/api/v1/calendar/changes", Some(&admin)).await;
    let (_, before_year) = app.get("/api/v1/calendar/years/2026", None).await;

    let mut conflicting = year_2026_with_extra_holiday(&app).await;
    conflicting["holidays"].as_array_mut().unwrap().push(json!({ "date": "2026-02-14", "name": "春节" }));
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let put_2026 = |body: Value| put(&app, "/api/v1/calendar/years/2026", Some(&admin), body);
    assert_code(put_2026(conflicting).await, unprocessable, "calendar_conflict");
    let weekday_makeup = json!({ "holidays": [{ "date": "2026-01-01", "name": "元旦" }],
                                 "makeup_workdays": [{ "date": "2026-02-13", "name": "调休" }] });
    assert_code(put_2026(weekday_makeup).await, unprocessable, "invalid_calendar");
    let unreal = json!({ "holidays": [{ "date": "2026-02-30", "name": "春节" }] });
    assert_code(put_2026(unreal).await, unprocessable, "invalid_date");
    let other_year = json!({ "holidays": [{ "date": "2025-12-31", "name": "元旦" }] });
    assert_code(put_2026(other_year).await, unprocessable, "invalid_calendar");
    assert_code(put_2026(json!({ "holidays": [] })).await, unprocessable, "invalid_calendar");
    assert_code(put_2026(json!({ "holidays": [], "extra": 1 })).await, StatusCode::BAD_REQUEST, "unknown_field");
    // A year that would leave a gap (2027 missing) is refused.
    let gap = json!({ "holidays": [{ "date": "2028-01-01", "name": "元旦" }] });
    assert_code(put(&app, "/api/v1/calendar/years/2028", Some(&admin), gap).await, unprocessable, "invalid_calendar");
    let bad_year = put(&app, "/api/v1/calendar/years/20x6", Some(&admin), json!({ "holidays": [] })).await;
    assert_code(bad_year, StatusCode::BAD_REQUEST, "invalid_parameter");

    assert_eq!(app.get("/api/v1/calendar/changes", Some(&admin)).await.1, before_changes);
    assert_eq!(app.get("/api/v1/calendar/years/2026", None).await.1, before_year);
    assert_eq!(due_ok(&app, from, "workdays=5").await, "2026-02-27T17:30:00.000+08:00");
    assert_code(app.get("/api/v1/calendar/years/2028", None).await, StatusCode::NOT_FOUND, "calendar_year_not_found");
}

#[tokio::test]
async fn working_hours_are_stored_validated_and_used() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (status, hours) = app.get("/api/v1/calendar/working-hours", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        hours,
        json!({ "periods": [{ "start": "08:30", "end": "12:00" }, { "start": "14:00", "end": "17:30" }], "daily_minutes": 420 })
    );
    let path = "/api/v1/calendar/working-hours";
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let overlapping =
        json!({ "periods": [{ "start": "08:30", "end": "12:00" }, { "start": "11:00", "end": "17:00" }] });
    assert_code(put(&app, path, Some(&admin), overlapping).await, unprocessable, "invalid_working_hours");
    assert_code(put(&app, path, Some(&admin), json!({ "periods": [] })).await, unprocessable, "invalid_working_hours");
    let garbled = json!({ "periods": [{ "start": "8点", "end": "12:00" }] });
    assert_code(put(&app, path, Some(&admin), garbled).await, unprocessable, "invalid_working_hours");

    let new_hours = json!({ "periods": [{ "start": "09:00", "end": "12:00" }, { "start": "13:30", "end": "17:00" }] });
    let (status, hours) = put(&app, path, Some(&admin), new_hours).await;
    assert_eq!((status, hours["daily_minutes"].as_i64()), (StatusCode::OK, Some(390)), "{hours}");
    assert_eq!(due_ok(&app, "2026-02-13T10:00:00+08:00", "workdays=5").await, "2026-02-27T17:00:00.000+08:00");
    let (_, changes) = app.get("/api/v1/calendar/changes?limit=1", Some(&admin)).await;
    assert_eq!(changes.as_array().unwrap().len(), 1);
    assert_eq!(changes[0]["kind"], "working_hours");
    assert_eq!(changes[0]["previous"]["periods"][0]["start"], "08:30");
    assert_eq!(changes[0]["current"]["periods"][1]["end"], "17:00");
}

/// A workbook in the documented layout for 2027: Excel dates and text dates.
fn workbook_2027(bad_kind: bool) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (col, title) in ["日期", "类型", "名称", "通知文号"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, title).unwrap();
    }
    let rows = [
        ((2027, 1, 1), "放假", "元旦"),
        ((2027, 1, 2), "放假", "元旦"),
        ((2027, 1, 3), if bad_kind { "休息" } else { "放假" }, "元旦"),
        ((2027, 1, 9), "调休上班", "元旦调休上班"),
    ];
    for (i, ((y, m, d), kind, name)) in rows.into_iter().enumerate() {
        let row = i as u32 + 1;
        if i % 2 == 0 {
            let date = ExcelDateTime::from_ymd(y, m, d).unwrap();
            sheet.write_datetime_with_format(row, 0, &date, &date_format).unwrap();
        } else {
            sheet.write_string(row, 0, format!("{y}-{m:02}-{d:02}")).unwrap();
        }
        sheet.write_string(row, 1, kind).unwrap();
        sheet.write_string(row, 2, name).unwrap();
        sheet.write_string(row, 3, "测试文号〔2026〕1号").unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn excel_and_toml_uploads_replace_years() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    assert_code(
        upload(&app, &dispatcher, "2027.xlsx", workbook_2027(false)).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
    );

    let anonymous = app.post("/api/v1/calendar/import", None, json!({})).await;
    assert_code(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated");
    let not_multipart = app.post("/api/v1/calendar/import", Some(&admin), json!({})).await;
    assert_code(not_multipart, StatusCode::BAD_REQUEST, "malformed_multipart");
    let refused = upload(&app, &admin, "2027.xlsx", workbook_2027(true)).await;
    assert_code(refused.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_calendar");
    assert!(refused.1["message"].as_str().unwrap().contains("第4行"), "{}", refused.1);
    assert_code(
        upload(&app, &admin, "x.png", b"\x89PNG\r\n\x1a\n\0\0\0".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_file_type",
    );
    assert_code(
        upload(&app, &admin, "x.toml", b"[[year]]\nyear = \n".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_calendar",
    );

    let (status, answer) = upload(&app, &admin, "2027.xlsx", workbook_2027(false)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["years"], json!([2027]));
    assert_eq!(answer["changes"][0]["source"], "xlsx");
    assert_eq!(
        (answer["changes"][0]["holidays"].as_i64(), answer["changes"][0]["makeup_workdays"].as_i64()),
        (Some(3), Some(1))
    );
    let (_, days) = app.get("/api/v1/calendar/days?from=2027-01-01&to=2027-01-09", None).await;
    let kinds: Vec<&str> = days.as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["holiday", "holiday", "holiday", "workday", "workday", "workday", "workday", "workday", "makeup_workday"]
    );
    let (_, year) = app.get("/api/v1/calendar/years/2027", None).await;
    assert_eq!(year["notice"], "测试文号〔2026〕1号");

    // TOML in the bundled format replaces the same year (here without its make-up day);
    // files may be larger than a JSON body, up to 2 MB.
    let toml = "[[year]]\nyear = 2027\nnotice = \"国办发明电〔2026〕测试号\"\nholidays = [ { date = \"2027-01-01\", name = \"元旦\" } ]\n";
    let padded = format!("{}{toml}", "# 注释\n".repeat(20_000));
    assert!(padded.len() > 100_000);
    assert_code(
        upload(&app, &admin, "big.toml", vec![b'#'; 3 * 1024 * 1024]).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let (status, answer) = upload(&app, &admin, "2027.toml", padded.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["changes"][0]["source"], "toml");
    assert_eq!(answer["changes"][0]["previous"]["makeup_workdays"].as_array().unwrap().len(), 1);
    let (_, day) = app.get("/api/v1/calendar/days?from=2027-01-09&to=2027-01-09", None).await;
    assert_eq!(day[0]["kind"], "weekend");
    let (_, changes) = app.get("/api/v1/calendar/changes?limit=2", Some(&admin)).await;
    assert!(changes[0]["actor"]["name"].as_str().unwrap().contains("吴文杰"));
    assert_eq!((changes[0]["source"].as_str(), changes[1]["source"].as_str()), (Some("toml"), Some("xlsx")));
}

/// A header and one cell at XFD1048576: a few kilobytes that once made the
/// import allocate 512 GiB and abort the server.
fn far_cell_workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, title) in ["日期", "类型", "名称"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, title).unwrap();
    }
    sheet.write_string(1_048_575, 16_383, "远").unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_workbook_with_one_far_cell_is_refused_and_the_server_stays_up() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let far = far_cell_workbook();
    assert!(far.len() < 8 * 1024, "{} bytes", far.len());
    let refused = upload(&app, &admin, "far.xlsx", far).await;
    assert_code(refused.clone(), StatusCode::UNPROCESSABLE_ENTITY, "too_many_rows");
    assert!(refused.1["message"].as_str().unwrap().contains("A1:XFD1048576"), "{}", refused.1);

    // Broken and foreign files are refused with their own codes.
    let mut truncated = workbook_2027(false);
    truncated.truncate(truncated.len() / 2);
    assert_code(upload(&app, &admin, "half.xlsx", truncated).await, StatusCode::UNPROCESSABLE_ENTITY, "not_xlsx");

    // Every problem of the file is reported, and nothing is stored.
    let refused = upload(&app, &admin, "2027.xlsx", workbook_2027(true)).await;
    assert_code(refused.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_calendar");
    assert!(refused.1["message"].as_str().unwrap().contains("“类型”：不正确"), "{}", refused.1);
    let (_, years) = app.get("/api/v1/calendar/years", None).await;
    assert!(!years.to_string().contains("2027"), "{years}");

    // The server is still up and imports a good file.
    let (status, answer) = upload(&app, &admin, "2027.xlsx", workbook_2027(false)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
