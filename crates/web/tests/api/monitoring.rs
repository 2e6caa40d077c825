//! 在线监测 through the API and over HJ 212 TCP: a monitoring point created
//! (its password never shown), readings uploaded as JSON and CSV (a bad row
//! refuses the whole batch, a duplicate is stored once), hourly aggregates,
//! an exceedance raising an alert that the responsible unit dismisses; and
//! the receiver on a real socket: valid packets stored once and answered
//! 9014, a bad CRC, a wrong password, an unknown device and random bytes
//! refused with nothing stored, a half-sent frame stalling nobody.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use mashangban_app::monitoring::receiver::{ReceiverConfig, ReceiverStats, run};
use mashangban_hj212::{Command, Cp, DataFlag, FrameReader, Packet, PacketFlag, Pollutant, Qn, SystemCode};

use super::*;

const MN: &str = "88888880000001";
const PW: &str = "123456";

fn point_body(code: &str, mn: &str) -> Value {
    json!({
        "code": code,
        "name": "华凯化工有限公司废水总排口",
        "kind": "enterprise_outlet",
        "mn": mn,
        "password": PW,
        "standard": "GB 8978-1996",
        "grade": 2,
        "permit_limits": [{ "parameter": "w21003", "max": 10.0, "source": "排污许可证 914420001" }],
        "parameters": [{ "code": "w01018", "unit": "mg/L" }, { "code": "w21003", "unit": "mg/L" }],
        "unit": "sthjj"
    })
}

/// The current minute, minus `back` minutes, as RFC 3339.
fn minute(back: i64) -> chrono::DateTime<chrono::FixedOffset> {
    let now = mashangban_domain::time::now();
    now.duration_trunc(TimeDelta::minutes(1)).unwrap() - TimeDelta::minutes(back)
}

async fn series(app: &App, who: &Session, code: &str, parameter: &str, extra: &str) -> Value {
    let from = (minute(0) - TimeDelta::hours(3)).to_rfc3339();
    let to = (minute(0) + TimeDelta::minutes(5)).to_rfc3339();
    let path = format!(
        "/api/v1/monitoring/points/{code}/series?parameter={parameter}&from={}&to={}{extra}",
        percent(&from),
        percent(&to)
    );
    let (status, body) = app.get(&path, Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn post_bytes(app: &App, path: &str, who: &Session, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let Session(cookie) = who;
    let res = app
        .http
        .post(app.url(path))
        .header("cookie", cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null))
}

fn percent(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn points_uploads_aggregates_and_alerts_through_the_api() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (status, point) = app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
    assert_eq!(status, StatusCode::CREATED, "{point}");
    assert_eq!((point["status"].as_str(), point["grade_name"].as_str()), (Some("offline"), Some("二级标准")));
    assert!(!point.to_string().contains(PW) && point.get("password").is_none(), "the password is never shown: {point}");

    // Refusals, each with its code; nothing of them stored.
    let mut bad = point_body("WS-002", "MN2");
    bad["kind"] = json!("river");
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_point_kind")));
    let mut bad = point_body("WS-002", "MN2");
    bad["unit"] = json!("nowhere");
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_unit")));
    let mut bad = point_body("WS-002", "MN2");
    bad["password"] = json!("1234567");
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_device_password")));
    let mut bad = point_body("WS-002", "MN2");
    bad["grade"] = json!(9);
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), bad).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_grade")));
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", "MN3")).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("monitoring_point_exists")));
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-003", MN)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("monitoring_mn_taken")));
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let (status, _) = app.post("/api/v1/monitoring/points", Some(&handler), point_body("WS-004", "MN4")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = app.get("/api/v1/monitoring/points/NOPE", Some(&admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("monitoring_point_not_found")));
    let (_, list) = app.get("/api/v1/monitoring/points", Some(&handler)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // An update without a password keeps it; the history names what changed.
    let mut renamed = point_body("WS-001", MN);
    renamed["name"] = json!("华凯化工总排口");
    renamed.as_object_mut().unwrap().remove("password");
    renamed["version"] = json!(1);
    let (status, view) = app.post("/api/v1/monitoring/points/WS-001", Some(&admin), renamed).await;
    assert_eq!((status, view["version"].as_i64()), (StatusCode::OK, Some(2)), "{view}");

    // A JSON batch with one bad row stores nothing.
    let t = |back: i64| minute(back).to_rfc3339();
    let rows = json!({ "readings": [
        { "point": "WS-001", "data_time": t(3), "parameter": "w01018", "value": 120.0 },
        { "point": "WS-001", "data_time": t(2), "parameter": "w99999", "value": 1.0 },
        { "point": "NOPE", "data_time": "昨天", "parameter": "w01018", "value": 1.0 },
    ]});
    let (status, err) = app.post("/api/v1/monitoring/readings", Some(&admin), rows).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("第2行") && message.contains("第3行"), "{message}");
    let s = series(&app, &admin, "WS-001", "w01018", "").await;
    assert_eq!(s["readings"].as_array().unwrap().len(), 0, "nothing written: {s}");

    // A good batch: one COD value over the grade-2 limit of 150 and ammonia over the permit's 10.
    let rows = json!({ "readings": [
        { "point": "WS-001", "data_time": t(3), "parameter": "w01018", "value": 120.0, "min": 110.0, "max": 130.0 },
        { "point": "WS-001", "kind": "2051", "data_time": t(2), "parameter": "w01018", "value": 180.0, "flag": "N" },
        { "point": "WS-001", "data_time": t(2), "parameter": "w21003", "value": 12.0 },
        { "point": "WS-001", "data_time": t(1), "parameter": "w01018", "value": 900.0, "flag": "D" },
    ]});
    let (status, report) = app.post("/api/v1/monitoring/readings", Some(&admin), rows.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["inserted"].as_u64(), report["alerts"].as_u64()), (Some(4), Some(2)), "{report}");
    let (_, again) = app.post("/api/v1/monitoring/readings", Some(&admin), rows).await;
    assert_eq!(
        (again["inserted"].as_u64(), again["duplicates"].as_u64(), again["alerts"].as_u64()),
        (Some(0), Some(4), Some(0))
    );

    // CSV, with a row refused first, then accepted.
    let csv = format!("point,kind,data_time,parameter,value\nWS-001,minute,{},w01018,abc\n", t(0));
    let (status, err) = post_bytes(&app, "/api/v1/monitoring/readings", &admin, "text/csv", csv.into_bytes()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{err}");
    let csv = format!("点位编号,数据时间,监测因子,数值\nWS-001,{},w01018,100\n", t(0));
    let (status, report) = post_bytes(&app, "/api/v1/monitoring/readings", &admin, "text/csv", csv.into_bytes()).await;
    assert_eq!((status, report["inserted"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    let (status, err) = post_bytes(&app, "/api/v1/monitoring/readings", &admin, "text/plain", b"x".to_vec()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));

    // Raw readings and hourly min/avg/max.
    let s = series(&app, &admin, "WS-001", "w01018", "").await;
    let values: Vec<f64> = s["readings"].as_array().unwrap().iter().map(|r| r["value"].as_f64().unwrap()).collect();
    assert_eq!(values, [120.0, 180.0, 900.0, 100.0]);
    let s = series(&app, &admin, "WS-001", "w01018", "&bucket=hour").await;
    let total: i64 = s["aggregates"].as_array().unwrap().iter().map(|a| a["count"].as_i64().unwrap()).sum();
    let max = s["aggregates"].as_array().unwrap().iter().map(|a| a["max"].as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!((total, max), (4, 900.0), "{s}");
    let (status, err) =
        app.get("/api/v1/monitoring/points/WS-001/series?parameter=w01018&bucket=week", Some(&admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_bucket")));

    // Two alerts (the faulty value raised none); the point is exceeding.
    let (_, alerts) = app.get("/api/v1/monitoring/alerts", Some(&handler)).await;
    let alerts = alerts.as_array().unwrap().clone();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let cod = alerts.iter().find(|a| a["parameter"] == "w01018").unwrap();
    assert_eq!((cod["value"].as_f64(), cod["limit"].as_str()), (Some(180.0), Some("≤150")));
    let ammonia = alerts.iter().find(|a| a["parameter"] == "w21003").unwrap();
    assert!(ammonia["description"].as_str().unwrap().contains("排污许可证"), "{ammonia}");
    let (_, detail) = app.get("/api/v1/monitoring/points/WS-001", Some(&handler)).await;
    assert_eq!((detail["status"].as_str(), detail["open_alerts"].as_u64()), (Some("exceeding"), Some(2)), "{detail}");
    assert_eq!(detail["latest"].as_array().unwrap().len(), 2);
    assert_eq!(detail["history"].as_array().unwrap().len(), 2);
    // Each alert reached the responsible unit's inbox (超标报警); another unit got none.
    let (_, inbox) = app.get("/api/v1/inbox?kind=monitoring_alert", Some(&handler)).await;
    let entries = inbox["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{inbox}");
    assert!(entries.iter().all(|e| e["link"] == "/monitoring/WS-001" && e["event_label"] == "超标报警"), "{inbox}");
    assert!(entries.iter().any(|e| e["title"].as_str().unwrap().starts_with("华凯化工总排口（WS-001）")), "{inbox}");
    let other = unit_handler(&app, "zrzyj", "h-zrzyj").await;
    let (_, inbox) = app.get("/api/v1/inbox?kind=monitoring_alert", Some(&other)).await;
    assert_eq!(inbox["total"], 0, "{inbox}");
    // A further exceeding value of a parameter with an open alert opens an alert but tells no one again.
    let more = json!({ "readings": [{ "point": "WS-001", "data_time": t(0), "parameter": "w21003", "value": 13.0 }] });
    let (_, report) = app.post("/api/v1/monitoring/readings", Some(&admin), more).await;
    assert_eq!(report["alerts"].as_u64(), Some(1), "{report}");
    let (_, inbox) = app.get("/api/v1/inbox?kind=monitoring_alert", Some(&handler)).await;
    assert_eq!(inbox["total"], 2, "{inbox}");

    // Only the responsible unit dismisses, with a reason, once.
    let id = cod["id"].as_i64().unwrap();
    let path = format!("/api/v1/monitoring/alerts/{id}/dismiss");
    let (status, err) = app.post(&path, Some(&other), json!({ "reason": "设备故障" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_responsible_unit")));
    let (status, err) = app.post(&path, Some(&handler), json!({ "reason": " " })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    let (status, done) = app.post(&path, Some(&handler), json!({ "reason": "现场核实为采样管堵塞，已修复" })).await;
    assert_eq!((status, done["state"].as_str()), (StatusCode::OK, Some("dismissed")), "{done}");
    let kinds: Vec<&str> = done["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "dismissed"]);
    let (status, err) = app.post(&path, Some(&handler), json!({ "reason": "再次" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("alert_not_open")));
    let (status, err) = app.post("/api/v1/monitoring/alerts/x/dismiss", Some(&handler), json!({ "reason": "x" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("monitoring_alert_not_found")));
    let (_, open) = app.get("/api/v1/monitoring/alerts?state=open", Some(&handler)).await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    let (_, all) = app.get("/api/v1/monitoring/alerts?state=all&point=WS-001", Some(&handler)).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
}

/// A running receiver on a loopback port, stopped when dropped.
struct Receiver {
    addr: std::net::SocketAddr,
    stats: ReceiverStats,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn receiver(app: &App) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The app's own counters, which the park pages show.
    let stats = app.state.receiver_stats().clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = ReceiverConfig { read_timeout: Duration::from_secs(5), ..ReceiverConfig::default() };
    tokio::spawn(run(app.state.clone(), listener, config, stats.clone(), stopped));
    Receiver { addr, stats, _stop: stop }
}

/// A minute-data packet of `mn` at `back` minutes ago, asking for an answer.
fn minute_data(mn: &str, pw: &str, back: i64, cod: f64) -> Vec<u8> {
    let time = minute(back);
    let mut packet = Packet::new(SystemCode::WATER_POLLUTION_SOURCE, Command::MinuteData, pw, mn);
    packet.qn = Some(Qn::from_time(&time));
    packet.flag = Some(PacketFlag::new(PacketFlag::VERSION_2017, true, false));
    let mut p = Pollutant::new("w01018");
    p.avg = Some(cod);
    p.min = Some(cod - 1.0);
    p.max = Some(cod + 1.0);
    p.flag = Some(DataFlag::Normal);
    let mut unknown = Pollutant::new("w99001");
    unknown.avg = Some(1.0);
    packet.cp = Cp { data_time: Some(time), pollutants: vec![p, unknown], params: vec![] };
    packet.to_frame().unwrap()
}

/// Reads one answer frame (within two seconds), or `None` when none comes.
async fn answer(stream: &mut TcpStream) -> Option<Packet> {
    let mut reader = FrameReader::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        if let Some(frame) = reader.feed(&buf[..n]).into_iter().next() {
            return Some(frame.unwrap().packet().unwrap());
        }
    }
}

async fn no_answer(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(read.is_err(), "expected no answer, got {read:?}");
}

#[tokio::test]
async fn the_hj212_receiver_stores_valid_packets_once_and_refuses_the_rest() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (status, _) = app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
    assert_eq!(status, StatusCode::CREATED);
    let rx = receiver(&app).await;

    // A half-sent frame on another connection stalls nobody.
    let mut slow = TcpStream::connect(rx.addr).await.unwrap();
    let half = minute_data(MN, PW, 9, 100.0);
    slow.write_all(&half[..half.len() / 2]).await.unwrap();

    // Made once and resent below as it is: made again, a minute turning over in between would give
    // the resend another data time, a new reading.
    let first = minute_data(MN, PW, 3, 120.0);
    let mut device = TcpStream::connect(rx.addr).await.unwrap();
    device.write_all(&first).await.unwrap();
    let reply = answer(&mut device).await.expect("a data answer");
    assert_eq!((reply.cn, reply.mn.as_str()), (Command::DataAnswer, MN));

    // Bad CRC: refused, no answer.
    let mut corrupt = minute_data(MN, PW, 2, 500.0);
    let at = corrupt.len() - 3;
    corrupt[at] = if corrupt[at] == b'0' { b'1' } else { b'0' };
    device.write_all(&corrupt).await.unwrap();
    no_answer(&mut device).await;
    // Wrong password: refused, answered 9011 QnRtn=3.
    device.write_all(&minute_data(MN, "654321", 2, 500.0)).await.unwrap();
    let reply = answer(&mut device).await.expect("a request answer");
    assert_eq!((reply.cn, reply.cp.param("QnRtn")), (Command::RequestAnswer, Some("3")));
    // Unknown device: refused, no answer.
    device.write_all(&minute_data("UNKNOWN0001", PW, 2, 500.0)).await.unwrap();
    no_answer(&mut device).await;
    // The same packet twice (a resend) and an exceedance.
    for _ in 0..2 {
        device.write_all(&first).await.unwrap();
        assert_eq!(answer(&mut device).await.unwrap().cn, Command::DataAnswer);
    }
    device.write_all(&minute_data(MN, PW, 1, 210.0)).await.unwrap();
    assert_eq!(answer(&mut device).await.unwrap().cn, Command::DataAnswer);

    let s = series(&app, &admin, "WS-001", "w01018", "").await;
    let values: Vec<f64> = s["readings"].as_array().unwrap().iter().map(|r| r["value"].as_f64().unwrap()).collect();
    assert_eq!(values, [120.0, 210.0], "exactly the valid packets, once: {s}");
    assert_eq!(s["readings"][0]["min"].as_f64(), Some(119.0));
    let (_, alerts) = app.get("/api/v1/monitoring/alerts", Some(&admin)).await;
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["value"].as_f64(), Some(210.0));
    let counts = rx.stats.device(MN);
    assert_eq!((counts.stored_packets, counts.wrong_password, counts.bad_frames), (4, 1, 1), "{counts:?}");
    // Unknown MNs are counted by the peer's address: made-up MNs cannot grow the counters.
    assert_eq!(rx.stats.device("UNKNOWN0001").unknown_device, 0);
    assert_eq!(rx.stats.device("peer:127.0.0.1").unknown_device, 1);
    drop(slow);
}

#[test]
fn random_bytes_never_crash_the_receiver_nor_store_anything() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, rx) = runtime.block_on(async {
        let app = spawn().await;
        let admin = app.login("admin").await;
        app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
        let rx = receiver(&app).await;
        (app, rx)
    });
    let noise = prop::collection::vec(any::<u8>(), 0..1500);
    // Noise, and noise around pieces of a real frame (its head, a tampered copy).
    let frame = minute_data(MN, PW, 1, 300.0);
    let pieces = prop::collection::vec(
        prop_oneof![
            noise.clone().boxed(),
            Just(b"##".to_vec()).boxed(),
            Just(b"##0100".to_vec()).boxed(),
            (0..frame.len()).prop_map(move |cut| frame[..cut].to_vec()).boxed(),
        ],
        1..6,
    );
    let config = ProptestConfig { cases: 24, ..ProptestConfig::default() };
    proptest::test_runner::TestRunner::new(config)
        .run(&pieces, |pieces| {
            runtime.block_on(async {
                let mut stream = TcpStream::connect(rx.addr).await.unwrap();
                for piece in &pieces {
                    let _ = stream.write_all(piece).await;
                }
                let _ = stream.shutdown().await;
                let mut sink = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut sink)).await;
            });
            Ok(())
        })
        .unwrap();
    runtime.block_on(async {
        let admin = app.login("admin").await;
        let s = series(&app, &admin, "WS-001", "w01018", "").await;
        assert_eq!(s["readings"].as_array().unwrap().len(), 0, "nothing stored from noise");
        // The receiver still serves.
        let mut device = TcpStream::connect(rx.addr).await.unwrap();
        device.write_all(&minute_data(MN, PW, 2, 100.0)).await.unwrap();
        assert_eq!(answer(&mut device).await.unwrap().cn, Command::DataAnswer);
    });
}

#[tokio::test]
async fn the_pages_show_status_the_hourly_chart_and_dismiss_on_a_form() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
    let t = |back: i64| minute(back).to_rfc3339();
    let rows = json!({ "readings": [
        { "point": "WS-001", "data_time": t(65), "parameter": "w01018", "value": 90.0 },
        { "point": "WS-001", "data_time": t(64), "parameter": "w01018", "value": 110.0 },
        { "point": "WS-001", "data_time": t(1), "parameter": "w01018", "value": 240.0 },
    ]});
    let (status, report) = app.post("/api/v1/monitoring/readings", Some(&admin), rows).await;
    assert_eq!((status, report["alerts"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let Session(cookie) = &handler;
    let page = |path: &'static str| app.http.get(app.url(path)).header("cookie", cookie.clone()).send();

    let html = page("/monitoring").await.unwrap().text().await.unwrap();
    assert!(html.contains("WS-001") && html.contains("monitor-exceeding") && html.contains("1条报警"), "{html}");
    let html = page("/monitoring/WS-001").await.unwrap().text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("<polyline") && html.contains("限值 ≤150"), "{html}");
    assert!(html.contains("240") && !html.contains(PW), "{html}");
    let html = page("/monitoring/alerts").await.unwrap().text().await.unwrap();
    assert!(html.contains("华凯化工有限公司废水总排口") && html.contains("排除"), "{html}");

    let (_, alerts) = app.get("/api/v1/monitoring/alerts", Some(&admin)).await;
    let id = alerts[0]["id"].as_i64().unwrap();
    let path = format!("/monitoring/alerts/{id}/dismiss");
    let http = super::browser::no_redirects();
    let Session(other) = unit_handler(&app, "zrzyj", "h-zrzyj").await;
    let res = http.post(app.url(&path)).header("cookie", other).form(&[("reason", "故障")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http.post(app.url(&path)).header("cookie", cookie.clone()).form(&[("reason", "")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = http
        .post(app.url(&path))
        .header("cookie", cookie.clone())
        .form(&[("reason", "仪器故障")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = page("/monitoring/alerts").await.unwrap().text().await.unwrap();
    assert!(html.contains("没有待处置的报警"), "{html}");
}

/// The next `state` event of a live stream.
async fn next_state(res: &mut reqwest::Response) -> Value {
    next_event(res, "state").await.json()
}

#[tokio::test]
async fn an_exceedance_reaches_the_live_pages_at_once() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
    let Session(cookie) = app.login("leader").await;
    let html = app.http.get(app.url("/monitoring/alerts")).header("cookie", &cookie).send().await.unwrap();
    assert!(html.text().await.unwrap().contains("monitoring-live.js"));
    let mut stream = app.http.get(app.url("/monitoring/events")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let first = next_state(&mut stream).await;
    assert_eq!(
        (first["points"][0]["status"].as_str(), first["alerts"].as_array().map(Vec::len)),
        (Some("offline"), Some(0))
    );

    let rx = receiver(&app).await;
    let mut device = TcpStream::connect(rx.addr).await.unwrap();
    let started = std::time::Instant::now();
    device.write_all(&minute_data(MN, PW, 1, 400.0)).await.unwrap();
    let state = tokio::time::timeout(Duration::from_secs(5), next_state(&mut stream)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(state["points"][0]["status"], "exceeding", "{state}");
    assert_eq!(state["alerts"][0]["value"].as_f64(), Some(400.0));
    println!("monitoring live: the exceedance reached the stream {took:?} after the packet was sent");
    assert!(took < Duration::from_secs(1), "an alert within a second: {took:?}");
}

#[tokio::test]
async fn the_demo_park_loads_sixty_points_with_a_week_of_hourly_data_once() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    let now = mashangban_domain::time::now();
    let loaded = mashangban_demo::load_monitoring(&app.store, &data, now).await.unwrap();
    assert_eq!(loaded, mashangban_demo::DEMO_POINTS as u64);
    assert_eq!(mashangban_demo::load_monitoring(&app.store, &data, now).await.unwrap(), 0, "loaded once");
    let admin = app.login("admin").await;
    let (_, points) = app.get("/api/v1/monitoring/points", Some(&admin)).await;
    let points = points.as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert!(points.iter().any(|p| p["kind"] == "creek_section") && points.iter().any(|p| p["credit_code"].is_string()));
    let (_, alerts) = app.get("/api/v1/monitoring/alerts", Some(&admin)).await;
    let alerts = alerts.as_array().unwrap();
    assert!(alerts.len() >= 5 && alerts.iter().all(|a| a["parameter"] == "w01018"), "{alerts:?}");
    let (_, day) = app
        .get("/api/v1/monitoring/points/HG-001/series?parameter=w01018&kind=hour&bucket=day&from=2000-01-01T00:00:00%2B08:00", Some(&admin))
        .await;
    assert_eq!(day["code"].as_str(), Some("invalid_span"), "{day}");
    let Session(cookie) = &admin;
    let html = app.http.get(app.url("/monitoring/HG-001")).header("cookie", cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("<polyline") && html.contains("限值 ≤150"), "{html}");
    // The demo devices' password works on the receiver.
    let rx = receiver(&app).await;
    let mut device = TcpStream::connect(rx.addr).await.unwrap();
    let mn = mashangban_demo::demo_mn(2);
    device.write_all(&minute_data(&mn, mashangban_demo::DEMO_DEVICE_PASSWORD, 1, 50.0)).await.unwrap();
    assert_eq!(answer(&mut device).await.unwrap().cn, Command::DataAnswer);
}

#[tokio::test]
async fn the_device_simulator_sends_minute_data_that_is_stored_and_answered() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    mashangban_demo::load_monitoring(&app.store, &data, mashangban_domain::time::now()).await.unwrap();
    let rx = receiver(&app).await;
    let run = mashangban_demo::DeviceRun {
        addr: rx.addr.to_string(),
        count: 5,
        interval: Duration::from_millis(10),
        rounds: Some(3),
        exceedance_chance: 1.0,
        fault_chance: 0.0,
    };
    let tally = mashangban_demo::run_devices(run).await.unwrap();
    assert_eq!((tally.sent, tally.answered, tally.exceedances), (15, 15, 15));
    let counts = rx.stats.device(&mashangban_demo::demo_mn(1));
    assert_eq!((counts.stored_packets, counts.readings_received), (3, 9), "{counts:?}");
    let admin = app.login("admin").await;
    let s = series(&app, &admin, "HG-001", "w01018", "").await;
    assert_eq!(s["readings"].as_array().unwrap().len(), 3, "{s}");
    let (_, alerts) = app.get("/api/v1/monitoring/alerts?point=HG-001", Some(&admin)).await;
    // Three from the demo's hourly history, three from the simulator's minute data.
    let kinds: Vec<&str> = alerts.as_array().unwrap().iter().map(|a| a["data_time"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 6, "{alerts}");
}

#[tokio::test]
async fn a_point_without_valid_data_raises_one_missing_data_alert_until_data_returns() {
    use mashangban_app::monitoring::raise_missing_data;

    let app = spawn().await;
    app.set_time("2026-12-04T08:00:00+08:00");
    let admin = app.login("admin").await;
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let mut body = point_body("WS-001", MN);
    body["offline_after_minutes"] = json!(3);
    let (status, err) = app.post("/api/v1/monitoring/points", Some(&admin), body.clone()).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_offline_after")));
    body["offline_after_minutes"] = json!(60);
    let (status, point) = app.post("/api/v1/monitoring/points", Some(&admin), body).await;
    assert_eq!((status, point["offline_after_minutes"].as_u64()), (StatusCode::CREATED, Some(60)), "{point}");
    assert_eq!(raise_missing_data(&app.state).await.unwrap(), 0, "a new point has its set time to report");

    let upload = |time: &str, flag: &str| {
        json!({ "readings": [{ "point": "WS-001", "data_time": format!("2026-12-04T{time}:00+08:00"),
            "parameter": "w01018", "value": 60.0, "flag": flag }] })
    };
    app.set_time("2026-12-04T08:31:00+08:00");
    let (status, report) = app.post("/api/v1/monitoring/readings", Some(&admin), upload("08:30", "N")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, point) = app.get("/api/v1/monitoring/points/WS-001", Some(&admin)).await;
    assert_eq!(point["status"].as_str(), Some("normal"), "{point}");

    // Only values the device flags as faulty arrive: 75 minutes after the last valid one it is missing data.
    app.set_time("2026-12-04T09:26:00+08:00");
    app.post("/api/v1/monitoring/readings", Some(&admin), upload("09:25", "D")).await;
    assert_eq!(raise_missing_data(&app.state).await.unwrap(), 0);
    app.set_time("2026-12-04T09:45:00+08:00");
    assert_eq!(raise_missing_data(&app.state).await.unwrap(), 1);
    assert_eq!(raise_missing_data(&app.state).await.unwrap(), 0, "once while it lasts");
    let (status, open) = app.get("/api/v1/monitoring/outages", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(
        (open[0]["kind"].as_str(), open[0]["unit"]["code"].as_str(), open[0]["open"].as_bool()),
        (Some("flagged"), Some("sthjj"), Some(true))
    );
    let (_, point) = app.get("/api/v1/monitoring/points/WS-001", Some(&admin)).await;
    assert_eq!(point["status"].as_str(), Some("offline"), "{point}");
    assert!(point["history"].as_array().unwrap().iter().any(|e| e["kind"] == "offline"), "{point}");
    // The responsible unit was told (数据缺失), once.
    let (_, inbox) = app.get("/api/v1/inbox?kind=monitoring_alert", Some(&handler)).await;
    assert_eq!(inbox["total"], 1, "{inbox}");
    let entry = &inbox["entries"][0];
    assert_eq!((entry["event_label"].as_str(), entry["link"].as_str()), (Some("数据缺失"), Some("/monitoring/WS-001")));
    assert!(entry["title"].as_str().unwrap().contains("设备标记异常"), "{entry}");
    let (_, html) = super::browser::page(&app, "/monitoring/alerts", &admin).await;
    assert!(html.contains("id=\"open-outages\"") && html.contains("设备标记异常"), "{html}");
    let bad = app.get("/api/v1/monitoring/outages?state=closed", Some(&admin)).await;
    assert_eq!((bad.0, bad.1["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_state")));

    // Valid data ends it; silence raises a new one later.
    app.post("/api/v1/monitoring/readings", Some(&admin), upload("09:44", "N")).await;
    let (_, open) = app.get("/api/v1/monitoring/outages", Some(&admin)).await;
    assert_eq!(open, json!([]));
    let (_, all) = app.get("/api/v1/monitoring/outages?state=all&point=WS-001", Some(&admin)).await;
    assert!(all[0]["recovered_at"].is_string(), "{all}");
    let (_, point) = app.get("/api/v1/monitoring/points/WS-001", Some(&admin)).await;
    assert_eq!(point["status"].as_str(), Some("normal"), "{point}");
    assert!(point["history"].as_array().unwrap().iter().any(|e| e["kind"] == "online"), "{point}");
    app.set_time("2026-12-04T11:00:00+08:00");
    assert_eq!(raise_missing_data(&app.state).await.unwrap(), 1);
    let (_, open) = app.get("/api/v1/monitoring/outages", Some(&admin)).await;
    assert_eq!(open[0]["kind"].as_str(), Some("silent"), "{open}");
    assert_eq!(point["outages"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_demo_park_page_shows_its_enterprises_points_trends_and_refused_packets() {
    let app = spawn().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_enterprises(&app.store, &data).await.unwrap();
    mashangban_demo::load_monitoring(&app.store, &data, mashangban_domain::time::now()).await.unwrap();
    let admin = app.login("admin").await;
    let (status, parks) = app.get("/api/v1/monitoring/parks", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{parks}");
    let park = &parks[0];
    assert_eq!(
        (park["code"].as_str(), park["points"].as_u64(), park["enterprises"].as_u64()),
        (Some(mashangban_demo::DEMO_PARK), Some(60), Some(28)),
        "{park}"
    );
    assert_eq!(park["facilities"].as_array().map(Vec::len), Some(3));

    // A device with a wrong password is refused and counted on the park's page.
    let rx = receiver(&app).await;
    let mut device = TcpStream::connect(rx.addr).await.unwrap();
    let mn = mashangban_demo::demo_mn(3);
    device.write_all(&minute_data(&mn, "999999", 1, 50.0)).await.unwrap();
    answer(&mut device).await.unwrap();
    assert_eq!(rx.stats.device(&mn).wrong_password, 1);
    assert!(rx.stats.flush(&app.state).await, "the counts reach the database");

    let (status, page) = app.get("/api/v1/monitoring/parks/HG", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["point_list"].as_array().map(Vec::len), Some(60));
    assert_eq!(page["enterprise_list"].as_array().map(Vec::len), Some(28));
    let trend = page["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 14);
    assert!(trend.iter().any(|t| t["hourly_values"].as_i64().unwrap() > 0), "{trend:?}");
    assert!(trend.iter().map(|t| t["alerts"].as_u64().unwrap()).sum::<u64>() >= 1, "{trend:?}");
    let refused = page["devices"].as_array().unwrap().iter().find(|d| d["mn"] == mn.as_str()).unwrap().clone();
    assert_eq!((refused["refused"].as_u64(), refused["wrong_password"].as_u64()), (Some(1), Some(1)), "{refused}");
    assert_eq!(page["shows_enforcement"].as_bool(), Some(true));
    let (_, html) = super::browser::page(&app, "/parks/HG", &admin).await;
    assert!(
        html.contains("化工园区污水处理厂")
            && html.contains("data-scope=\"park\"")
            && html.contains("id=\"trend-alerts\""),
        "{html}"
    );
    let (_, list) = super::browser::page(&app, "/parks", &admin).await;
    assert!(list.contains("href=\"/parks/HG\""), "{list}");

    // Kept by the monitoring desk only; unknown points refuse the whole change.
    let dispatcher = app.login("dispatcher").await;
    let body = json!({ "name": "新材料园区", "unit": "sthjj", "points": ["HG-001", "NOPE"] });
    let (status, err) =
        app.call(reqwest::Method::PUT, "/api/v1/monitoring/parks/XC", Some(&dispatcher), Some(body.clone())).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_point")), "{err}");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    assert_eq!(
        app.call(reqwest::Method::PUT, "/api/v1/monitoring/parks/XC", Some(&handler), Some(body)).await.0,
        StatusCode::FORBIDDEN
    );
    let body = json!({ "name": "新材料园区", "unit": "sthjj", "points": ["HG-001"] });
    let (status, moved) =
        app.call(reqwest::Method::PUT, "/api/v1/monitoring/parks/XC", Some(&dispatcher), Some(body)).await;
    assert_eq!((status, moved["points"].as_u64()), (StatusCode::OK, Some(1)), "{moved}");
    let (_, hg) = app.get("/api/v1/monitoring/parks/HG", Some(&admin)).await;
    assert_eq!(hg["points"].as_u64(), Some(59), "the point moved to the new park");
    assert_eq!(app.get("/api/v1/monitoring/parks/NONE", Some(&admin)).await.0, StatusCode::NOT_FOUND);
}

/// A receiver of a second node over the same database, stopped when dropped.
async fn receiver_of(state: &mashangban_web::AppState<mashangban_backend::Backend>) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = ReceiverStats::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let config = ReceiverConfig {
        read_timeout: Duration::from_secs(5),
        flush_every: Duration::from_millis(100),
        ..ReceiverConfig::default()
    };
    tokio::spawn(run(state.clone(), listener, config, stats.clone(), stopped));
    Receiver { addr, stats, _stop: stop }
}

/// The durable counts of `source` as the API answers them.
async fn counts_of(app: &App, who: &Session, source: &str) -> Value {
    let (status, all) = app.get("/api/v1/monitoring/receiver-counts?days=1", Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    all.as_array().unwrap().iter().find(|c| c["source"] == source).cloned().unwrap_or(Value::Null)
}

/// Waits (up to five seconds) until the durable `counter` of `source` is `expected`.
async fn wait_for_count(app: &App, who: &Session, source: &str, counter: &str, expected: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let counts = counts_of(app, who, source).await;
        if counts[counter].as_u64() == Some(expected) || tokio::time::Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn refused_packets_are_counted_in_the_database_summed_over_nodes_and_kept_over_a_restart() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let (status, _) = app.post("/api/v1/monitoring/points", Some(&admin), point_body("WS-001", MN)).await;
    assert_eq!(status, StatusCode::CREATED);
    let park = json!({ "name": "化工园区", "unit": "sthjj", "points": ["WS-001"] });
    let (status, _) = app.call(reqwest::Method::PUT, "/api/v1/monitoring/parks/HG", Some(&admin), Some(park)).await;
    assert_eq!(status, StatusCode::OK);

    // Two nodes, each with its receiver, over one database.
    let first = receiver_of(&app.state).await;
    let second_node =
        mashangban_web::AppState::new(app.db.open().await, mashangban_web::WebConfig::default()).await.unwrap();
    let second = receiver_of(&second_node).await;

    let mut device = TcpStream::connect(first.addr).await.unwrap();
    device.write_all(&minute_data(MN, PW, 3, 120.0)).await.unwrap();
    assert_eq!(answer(&mut device).await.unwrap().cn, Command::DataAnswer);
    // A flood of garbage on the known device's connection: counted, one row per counter and hour.
    let mut corrupt = minute_data(MN, PW, 2, 500.0);
    let at = corrupt.len() - 3;
    corrupt[at] = if corrupt[at] == b'0' { b'1' } else { b'0' };
    for _ in 0..200 {
        device.write_all(&corrupt).await.unwrap();
    }
    device.write_all(&minute_data(MN, "654321", 2, 500.0)).await.unwrap();
    assert_eq!(answer(&mut device).await.unwrap().cn, Command::RequestAnswer);
    for n in 0..3 {
        device.write_all(&minute_data(&format!("FAKE{n:010}"), PW, 2, 500.0)).await.unwrap();
    }
    no_answer(&mut device).await;

    let mut other = TcpStream::connect(second.addr).await.unwrap();
    for _ in 0..2 {
        other.write_all(&minute_data(MN, "000000", 2, 500.0)).await.unwrap();
        assert_eq!(answer(&mut other).await.unwrap().cn, Command::RequestAnswer);
    }
    other.write_all(&minute_data(MN, PW, 4, 110.0)).await.unwrap();
    assert_eq!(answer(&mut other).await.unwrap().cn, Command::DataAnswer);

    // Summed over both nodes once each has flushed.
    let device_counts = wait_for_count(&app, &admin, MN, "wrong_password", 3).await;
    assert_eq!(device_counts["point_code"].as_str(), Some("WS-001"), "{device_counts}");
    wait_for_count(&app, &admin, MN, "bad_frames", 200).await;
    let device_counts = wait_for_count(&app, &admin, MN, "stored_packets", 2).await;
    assert_eq!(
        (
            device_counts["wrong_password"].as_u64(),
            device_counts["bad_frames"].as_u64(),
            device_counts["stored_packets"].as_u64(),
            device_counts["refused"].as_u64(),
        ),
        (Some(3), Some(200), Some(2), Some(203)),
        "{device_counts}"
    );
    let peer = wait_for_count(&app, &admin, "peer:127.0.0.1", "unknown_device", 3).await;
    assert_eq!((peer["unknown_device"].as_u64(), peer["point_code"].as_str()), (Some(3), None), "{peer}");
    for n in 0..3 {
        assert!(counts_of(&app, &admin, &format!("FAKE{n:010}")).await.is_null(), "no source per made-up MN");
    }
    // The park's page shows the sum of both nodes.
    let (_, page) = app.get("/api/v1/monitoring/parks/HG", Some(&admin)).await;
    let row = page["devices"].as_array().unwrap().iter().find(|d| d["mn"] == MN).unwrap().clone();
    assert_eq!(
        (row["wrong_password"].as_u64(), row["refused"].as_u64(), row["stored_packets"].as_u64()),
        (Some(3), Some(203), Some(2)),
        "{row}"
    );
    let (_, html) = super::browser::page(&app, "/parks/HG", &admin).await;
    assert!(html.contains("各节点"), "the page says the counts are of every node");

    // A restart of the first node's receiver: the counts stay and new ones add to them.
    drop(device);
    drop(first);
    let restarted = receiver_of(&app.state).await;
    let mut device = TcpStream::connect(restarted.addr).await.unwrap();
    device.write_all(&minute_data(MN, "111111", 2, 500.0)).await.unwrap();
    assert_eq!(answer(&mut device).await.unwrap().cn, Command::RequestAnswer);
    let after = wait_for_count(&app, &admin, MN, "wrong_password", 4).await;
    assert_eq!((after["wrong_password"].as_u64(), after["bad_frames"].as_u64()), (Some(4), Some(200)), "{after}");
    assert_eq!(restarted.stats.device(MN).wrong_password, 1, "this node's own count starts again");

    let (status, err) = app.get("/api/v1/monitoring/receiver-counts?days=0", Some(&admin)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_days")));
}

/// Form fields as posted.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// The form fields of a valid point, with `extra` replacing some.
fn point_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("code", "WS-101"),
        ("name", "华凯化工废水总排口"),
        ("kind", "enterprise_outlet"),
        ("credit_code", ""),
        ("ledger_item_id", ""),
        ("mn", "88888880000101"),
        ("password", "123456"),
        ("standard", "GB 8978-1996"),
        ("grade", "2"),
        ("unit", "sthjj"),
        ("offline_after_minutes", "120"),
        ("parameters", "w01018 mg/L\r\nw21003 mg/L"),
        ("permit_limits", "w21003 ≤10 排污许可证 914420001"),
    ];
    for (key, value) in extra {
        if let Some(field) = fields.iter_mut().find(|(k, _)| k == key) {
            field.1 = value;
        } else {
            fields.push((key, value));
        }
    }
    fields
}

#[tokio::test]
async fn points_are_created_edited_and_retired_through_the_forms_with_refusals_kept_and_history() {
    use super::browser::{page, post_form};
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let credit_code =
        mashangban_domain::validation::CreditCode::with_check_char("91442000MA52ENF01").unwrap().as_str().to_owned();
    let enterprise = json!({ "credit_code": credit_code, "name": "中山市华凯化工有限公司", "town": "guzhen" });
    assert_eq!(app.post("/api/v1/enterprises", Some(&admin), enterprise).await.0, StatusCode::CREATED);

    let (status, html) = page(&app, "/monitoring/points/new", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"point-form\"") && html.contains("GB 3838-2002"), "{html}");

    // Each refusal: the API's code and status, the Chinese message, what was typed kept, never the password.
    let cases: [(Fields, &str); 8] = [
        (&[("code", "坏 编号")], "点位编号应为"),
        (&[("mn", "")], "MN"),
        (&[("credit_code", "91350100M000100Y43")], "企业名录中没有"),
        (&[("parameters", "w01018")], "监测因子第1行"),
        (&[("permit_limits", "w21003 10 许可证")], "许可限值第1行"),
        (&[("grade", "9")], "级"),
        (&[("unit", "nowhere")], "不是组织架构中的部门或镇街"),
        (&[("offline_after_minutes", "2")], "数据缺失报警时限"),
    ];
    for (extra, message) in cases {
        let (status, _, html) = post_form(&app, "/monitoring/points/new", &dispatcher, &point_form(extra)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {html}");
        assert!(html.contains("id=\"form-error\"") && html.contains(message), "{extra:?}: {html}");
        assert!(html.contains("value=\"华凯化工废水总排口\""), "the name typed is kept: {extra:?}");
        assert!(html.contains("w21003 ≤10 排污许可证 914420001") || extra[0].0 == "permit_limits", "{extra:?}");
        assert!(!html.contains("123456") && html.contains("需重新填写"), "the password is never shown back");
    }
    let (_, points) = app.get("/api/v1/monitoring/points", Some(&admin)).await;
    assert_eq!(points.as_array().map(Vec::len), Some(0), "nothing written by a refused form");

    // Created: the lines become the API's parameters and permit limits.
    let fields = point_form(&[("credit_code", credit_code.as_str())]);
    let (status, location, _) = post_form(&app, "/monitoring/points/new", &dispatcher, &fields).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/monitoring/WS-101"));
    let (_, detail) = app.get("/api/v1/monitoring/points/WS-101", Some(&admin)).await;
    assert_eq!(detail["parameters"][1], json!({ "code": "w21003", "unit": "mg/L" }), "{detail}");
    assert_eq!(
        detail["permit_limits"][0],
        json!({ "parameter": "w21003", "max": 10.0, "min": null, "source": "排污许可证 914420001" })
    );
    assert_eq!(detail["credit_code"].as_str(), Some(credit_code.as_str()));
    assert!(detail.get("password").is_none() && !detail.to_string().contains("123456"));
    // The same code again: the API's conflict.
    let (status, _, html) = post_form(&app, "/monitoring/points/new", &dispatcher, &fields).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("已存在"), "{html}");

    // Searched by park and by enterprise.
    let park = json!({ "name": "化工园区", "unit": "sthjj", "points": ["WS-101"] });
    app.call(reqwest::Method::PUT, "/api/v1/monitoring/parks/HG", Some(&admin), Some(park)).await;
    let other = point_form(&[("code", "WS-102"), ("mn", "88888880000102"), ("name", "城东河涌断面")]);
    assert_eq!(post_form(&app, "/monitoring/points/new", &dispatcher, &other).await.0, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, "/monitoring/points?park=HG", &admin).await;
    assert!(html.contains("data-code=\"WS-101\"") && !html.contains("data-code=\"WS-102\""), "{html}");
    assert!(html.contains("中山市华凯化工有限公司"), "with the enterprise's name");
    let (_, html) = page(&app, "/monitoring/points?q=%E5%8D%8E%E5%87%AF", &admin).await; // 华凯
    assert!(html.contains("data-code=\"WS-101\"") && !html.contains("data-code=\"WS-102\""), "{html}");
    let (_, html) = page(&app, &format!("/monitoring/points?q={}", &credit_code[..10]), &admin).await;
    assert!(html.contains("data-code=\"WS-101\"") && !html.contains("data-code=\"WS-102\""), "{html}");
    let (_, html) = page(&app, "/monitoring/points", &admin).await;
    assert!(html.contains("data-code=\"WS-101\"") && html.contains("data-code=\"WS-102\""), "{html}");

    // Edited: the form shows the point without its password; the change is in the history.
    let (status, html) = page(&app, "/monitoring/points/WS-101/edit", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("w21003 ≤10 排污许可证 914420001") && html.contains("value=\"88888880000101\""));
    assert!(!html.contains("123456") && html.contains("留空则保留原密码"), "{html}");
    let version = detail["version"].as_i64().unwrap().to_string();
    let edit = point_form(&[
        ("password", ""),
        ("credit_code", credit_code.as_str()),
        ("name", "华凯化工废水总排口（改造后）"),
        ("version", &version),
    ]);
    let (status, location, html) = post_form(&app, "/monitoring/points/WS-101/edit", &dispatcher, &edit).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/monitoring/WS-101"), "{html}");
    // At the old version: the conflict, the stored point with what was typed beside it.
    let stale = point_form(&[("password", ""), ("name", "又一次修改"), ("version", &version)]);
    let (status, _, html) = post_form(&app, "/monitoring/points/WS-101/edit", &dispatcher, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("已被他人修改") && html.contains("value=\"华凯化工废水总排口（改造后）\""), "{html}");
    assert!(html.contains("id=\"typed-name\">您填写的：又一次修改"), "{html}");
    // A new MN without the password.
    let new_mn = point_form(&[("password", ""), ("mn", "88888880000199")]);
    let (status, _, html) = post_form(&app, "/monitoring/points/WS-101/edit", &dispatcher, &new_mn).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("更换设备MN号时须同时填写设备访问密码") && html.contains("88888880000199"), "{html}");

    // Retired: a reason is required; then the device is refused and nothing can change.
    let (status, _, html) =
        post_form(&app, "/monitoring/points/WS-101/retire", &dispatcher, &[("reason", " "), ("version", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"retire-error\"") && html.contains("停用原因"), "{html}");
    let reason = [("reason", "企业关停，设备拆除"), ("version", "")];
    let (status, location, _) = post_form(&app, "/monitoring/points/WS-101/retire", &dispatcher, &reason).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/monitoring/WS-101"));
    let (_, detail) = app.get("/api/v1/monitoring/points/WS-101", Some(&admin)).await;
    assert_eq!(detail["status"].as_str(), Some("retired"), "{detail}");
    let history: Vec<(&str, Option<&str>)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["note"].as_str()))
        .collect();
    assert_eq!(
        history,
        [("created", None), ("updated", Some("修改了名称")), ("retired", Some("企业关停，设备拆除"))],
        "{detail}"
    );
    let (_, html) = page(&app, "/monitoring/WS-101", &admin).await;
    assert!(html.contains("已停用") && html.contains("企业关停，设备拆除") && html.contains(">停用<"), "{html}");
    let (status, _, html) = post_form(&app, "/monitoring/points/WS-101/edit", &dispatcher, &edit).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("点位已停用"), "{html}");
    let (status, err) =
        app.post("/api/v1/monitoring/points/WS-101/retire", Some(&admin), json!({ "reason": "再次" })).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("monitoring_point_retired")));
    let (_, html) = page(&app, "/monitoring/points/WS-101/edit", &dispatcher).await;
    assert!(html.contains("id=\"point-retired\"") && !html.contains("id=\"point-form\""), "{html}");
    // Out of the list unless asked for; uploads to it are refused.
    let (_, html) = page(&app, "/monitoring/points", &admin).await;
    assert!(!html.contains("data-code=\"WS-101\""), "{html}");
    let (_, html) = page(&app, "/monitoring/points?retired=1", &admin).await;
    assert!(html.contains("data-code=\"WS-101\""), "{html}");
    let rows = json!({ "readings": [{ "point": "WS-101", "kind": "minute", "data_time": minute(1).to_rfc3339(),
        "parameter": "w01018", "value": 50.0 }] });
    let (status, err) = app.post("/api/v1/monitoring/readings", Some(&admin), rows).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rows")), "{err}");

    // Its device is refused like an unknown one.
    let rx = receiver(&app).await;
    let mut device = TcpStream::connect(rx.addr).await.unwrap();
    device.write_all(&minute_data("88888880000101", "123456", 1, 50.0)).await.unwrap();
    no_answer(&mut device).await;
    assert_eq!(rx.stats.device("peer:127.0.0.1").unknown_device, 1);

    // Handlers read the list but have no forms.
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let (status, html) = page(&app, "/monitoring/points", &handler).await;
    assert!(status == StatusCode::OK && !html.contains("/monitoring/points/new"), "{html}");
    assert_eq!(page(&app, "/monitoring/points/new", &handler).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_people_edit_one_point_the_second_sees_the_first_ones_save_with_what_they_typed_beside_it() {
    use super::approvals::{form_fields, get, post_fields, set};
    use super::browser::page;
    let app = spawn().await;
    let (a_session, b_session) = (app.login("admin").await, app.login("admin").await);
    let (status, point) = app.post("/api/v1/monitoring/points", Some(&a_session), point_body("WS-201", MN)).await;
    assert_eq!(status, StatusCode::CREATED, "{point}");
    let edit = "/monitoring/points/WS-201/edit";

    // A and B open the form.
    let mut a = form_fields(&page(&app, edit, &a_session).await.1, "point-form");
    let mut b = form_fields(&page(&app, edit, &b_session).await.1, "point-form");
    let version = get(&a, "version").to_owned();
    assert_eq!(get(&b, "version"), version);

    // A renames the point and tightens its permit limit.
    set(&mut a, "name", "华凯化工废水总排口（A改）");
    set(&mut a, "permit_limits", "w21003 ≤8 排污许可证 914420001");
    let (status, location, html) = post_fields(&app, edit, &a_session, &a).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/monitoring/WS-201"), "{html}");

    // B, on the old version: another name; the parameters and alarm time typed differently but the same.
    set(&mut b, "name", "华凯化工废水总排口（B改）");
    set(&mut b, "parameters", " w01018 mg/L \r\n\r\nw21003 mg/L\r\n");
    set(&mut b, "offline_after_minutes", "0120");
    set(&mut b, "password", "654321");
    let (status, _, html) = post_fields(&app, edit, &b_session, &b).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("保存前，该点位已被他人修改") && html.contains("设备访问密码需重新填写"), "{html}");
    assert!(!html.contains("654321"), "the password is never shown");
    assert!(html.contains("value=\"华凯化工废水总排口（A改）\""), "{html}");
    assert!(html.contains("id=\"typed-name\">您填写的：华凯化工废水总排口（B改）"), "{html}");
    assert!(html.contains(">w21003 ≤8 排污许可证 914420001</textarea>"), "{html}");
    assert!(html.contains("id=\"typed-permit_limits\">您填写的：w21003 ≤10 排污许可证 914420001"), "{html}");
    for same in ["parameters", "offline_after_minutes", "mn", "kind", "standard", "grade", "unit"] {
        assert!(!html.contains(&format!("id=\"typed-{same}\"")), "{same} means the same: {html}");
    }
    let shown = form_fields(&html, "point-form");
    assert_ne!(get(&shown, "version"), version, "the form at the current version");
    let (_, detail) = app.get("/api/v1/monitoring/points/WS-201", Some(&a_session)).await;
    assert_eq!(detail["name"], "华凯化工废水总排口（A改）", "A's save kept: {detail}");
    assert_eq!(detail["permit_limits"][0]["max"], 8.0);

    // B retypes the name in the form as shown and saves: A's limit stays.
    let mut again = shown;
    set(&mut again, "name", "华凯化工废水总排口（B改）");
    let (status, location, html) = post_fields(&app, edit, &b_session, &again).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/monitoring/WS-201"), "{html}");
    let (_, detail) = app.get("/api/v1/monitoring/points/WS-201", Some(&a_session)).await;
    assert_eq!(detail["name"], "华凯化工废水总排口（B改）");
    assert_eq!(detail["permit_limits"][0]["max"], 8.0, "{detail}");
}
