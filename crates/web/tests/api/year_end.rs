//! The turn of the year: deadlines past the loaded holiday notices are
//! provisional (暂定), recounted with a recorded event when the year is
//! loaded, and administrators are warned from 1 November.

use super::*;

use super::browser::page;

fn deadline<'a>(request: &'a Value, kind: &str) -> &'a Value {
    request["deadlines"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap_or(&Value::Null)
}

fn year_2027() -> Value {
    json!({
        "notice": "测试文号",
        "holidays": [
            { "date": "2027-01-01", "name": "元旦" }, { "date": "2027-01-02", "name": "元旦" },
            { "date": "2027-01-03", "name": "元旦" }
        ],
        "makeup_workdays": []
    })
}

#[tokio::test]
async fn a_deadline_past_the_calendar_is_provisional_then_recounted_when_the_year_is_loaded() {
    let app = spawn().await;
    // Tue 2026-12-15: a complaint's 15 working days reach into 2027, whose notice is not loaded.
    app.set_time("2026-12-15T10:00:00+08:00");
    let dispatcher = app.login("dispatcher").await;
    let (no, code) = app.submit(enterprise_complaint()).await;
    let r = app.detail(&no, &dispatcher).await["request"].clone();
    // Weekends only: 12 working days to Thu 12-31, then Fri 01-01, Mon 01-04, Tue 01-05.
    assert_eq!(r["due_at"], "2027-01-05T17:30:00.000+08:00");
    assert_eq!(r["due_provisional"], true);
    assert_eq!(deadline(&r, "reply")["provisional"], true);
    assert!(deadline(&r, "reply")["remaining_minutes"].as_i64().unwrap() > 0);
    let view = app.progress(&no, &code).await;
    assert_eq!(view["due_provisional"], true);
    let (_, html) = page(&app, &format!("/work/{no}"), &dispatcher).await;
    assert!(html.contains("暂定"), "the detail page marks the deadline 暂定");

    // A deadline inside the covered years stays exact.
    let (exact, _) = app.submit(resident_consultation()).await;
    let r = app.detail(&exact, &dispatcher).await["request"].clone();
    assert_eq!(r["due_at"], "2026-12-17T17:30:00.000+08:00");
    assert_eq!(r["due_provisional"], false);

    // Dispatched on the last working afternoon: sign-for (1 working day) is provisional too.
    app.set_time("2026-12-31T16:00:00+08:00");
    let (dispatcher, admin) = (app.login("dispatcher").await, app.login("admin").await);
    let r = app.act(&no, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    assert_eq!(deadline(&r, "sign_for")["due_at"], "2027-01-01T17:30:00.000+08:00");
    assert_eq!(deadline(&r, "sign_for")["provisional"], true);

    // The notice is loaded: 01-01 to 01-03 are 元旦. Both deadlines move, in the history.
    let (status, answer) =
        app.call(reqwest::Method::PUT, "/api/v1/calendar/years/2027", Some(&admin), Some(year_2027())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let detail = app.detail(&no, &dispatcher).await;
    let r = &detail["request"];
    assert_eq!(r["due_at"], "2027-01-06T17:30:00.000+08:00");
    assert_eq!(r["due_provisional"], false);
    assert_eq!(deadline(r, "sign_for")["due_at"], "2027-01-04T17:30:00.000+08:00");
    assert_eq!(deadline(r, "sign_for")["provisional"], false);
    let recounts: Vec<&Value> =
        detail["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "deadlines_recounted").collect();
    assert_eq!(recounts.len(), 1, "one recorded recount");
    let event = recounts[0];
    assert_eq!(event["details"]["before"]["due_at"], "2027-01-05T17:30:00.000+08:00");
    assert_eq!(event["details"]["before"]["provisional"], true);
    assert_eq!(event["details"]["after"]["due_at"], "2027-01-06T17:30:00.000+08:00");
    assert_eq!(event["details"]["after"]["sign_due_at"], "2027-01-04T17:30:00.000+08:00");
    assert_eq!(event["details"]["after"]["provisional"], false);
    assert_eq!(event["actor_role"], "admin");
    assert_eq!(event["due_at"], "2027-01-06T17:30:00.000+08:00");
    assert_eq!(app.progress(&no, &code).await["due_provisional"], false);
    // The exact one was left alone.
    let untouched = app.detail(&exact, &dispatcher).await;
    assert!(untouched["history"].as_array().unwrap().iter().all(|e| e["kind"] != "deadlines_recounted"));
    // Loading it again changes nothing and records nothing.
    app.call(reqwest::Method::PUT, "/api/v1/calendar/years/2027", Some(&admin), Some(year_2027())).await;
    let again = app.detail(&no, &dispatcher).await;
    assert_eq!(again["history"].as_array().unwrap().iter().filter(|e| e["kind"] == "deadlines_recounted").count(), 1);
}

#[tokio::test]
async fn administrators_are_warned_from_november_while_next_years_notice_is_missing() {
    let app = spawn().await;
    app.set_time("2026-10-31T10:00:00+08:00");
    let admin = app.login("admin").await;
    let (_, html) = page(&app, "/admin/calendar", &admin).await;
    assert!(!html.contains("calendar-warning"), "not before 1 November");

    app.set_time("2026-11-01T09:00:00+08:00");
    let (admin, leader) = (app.login("admin").await, app.login("leader").await);
    for path in ["/admin/calendar", "/admin/users", "/dashboard"] {
        let (status, html) = page(&app, path, &admin).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("calendar-warning") && html.contains("尚未导入2027年"), "{path} warns the administrator");
    }
    let (_, html) = page(&app, "/dashboard", &leader).await;
    assert!(!html.contains("calendar-warning"), "leaders are not asked to load calendars");

    let (status, _) =
        app.call(reqwest::Method::PUT, "/api/v1/calendar/years/2027", Some(&admin), Some(year_2027())).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = page(&app, "/admin/calendar", &admin).await;
    assert!(!html.contains("calendar-warning"), "loaded: no warning");
}
