//! Online monitoring: points with their history, readings deduplicated by
//! (MN, data time, command, parameter) in batches of one transaction, hourly
//! and daily min/avg/max, and the alerts new readings raise (a duplicate
//! raises none), dismissed once with their history.

use mashangban_domain::environment::{GB_8978_1996, bundled_standards};
use mashangban_domain::monitoring::{
    AlertState, Bucket, MeasuredParameter, NewReading, PointDraft, PointInput, ReadingKind, check_reading,
};
use mashangban_domain::org::UnitKind;
use mashangban_store::{
    ChangeCursor, ChangeEntity, ChangeStore, MonitoringActor, MonitoringStore, OrgStore, ReadingQuery, ReceiverCount,
};

use crate::org::unit;
use crate::support::{Env, TestDb, at, execute, refusal, t0};
use mashangban_store::ReadingAggregate;

on_both!(
    points_keep_their_history_and_refuse_clashes,
    readings_are_stored_once_with_aggregates_and_alerts,
    the_hourly_rollup_answers_as_the_readings_do_over_any_range,
    a_retired_point_refuses_its_device_and_every_change,
    receiver_counts_add_up_over_batches_and_hours
);

fn desk() -> MonitoringActor {
    MonitoringActor { user_id: None, name: "环境局（admin）".into() }
}

fn draft(code: &str, mn: &str, unit_id: i64) -> PointDraft {
    PointDraft {
        code: code.into(),
        name: format!("{code} 总排口"),
        kind: "enterprise_outlet".into(),
        mn: mn.into(),
        standard: GB_8978_1996.into(),
        grade: 2,
        parameters: vec![
            MeasuredParameter { code: "w01018".into(), unit: "mg/L".into() },
            MeasuredParameter { code: "w21003".into(), unit: "mg/L".into() },
        ],
        unit_id,
        ..PointDraft::default()
    }
}

async fn bureau<D: TestDb>(env: &Env<D>) -> i64 {
    let s = env.store();
    s.upsert_unit(unit("sthjj", UnitKind::Department, None)).await.unwrap().id
}

/// Point WS-1 (device MN0001) of the environment bureau.
async fn point_ws1<D: TestDb>(env: &Env<D>) -> mashangban_store::MonitoringPoint {
    let unit_id = bureau(env).await;
    let input = PointInput::new(draft("WS-1", "MN0001", unit_id)).unwrap();
    env.store().create_monitoring_point(input, "h".into(), t0(), desk()).await.unwrap()
}

async fn points_keep_their_history_and_refuse_clashes<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let unit_id = bureau(&env).await;
    let p = s
        .create_monitoring_point(PointInput::new(draft("WS-1", "MN0001", unit_id)).unwrap(), "h1".into(), t0(), desk())
        .await
        .unwrap();
    assert_eq!((p.version, p.grade, p.parameters.len(), p.last_reading_at), (1, 2, 2, None));
    let again = PointInput::new(draft("WS-1", "MN0002", unit_id)).unwrap();
    assert_eq!(refusal(s.create_monitoring_point(again, "h".into(), t0(), desk()).await), "monitoring_point_exists");
    let same_mn = PointInput::new(draft("WS-2", "MN0001", unit_id)).unwrap();
    assert_eq!(refusal(s.create_monitoring_point(same_mn, "h".into(), t0(), desk()).await), "monitoring_mn_taken");
    let unknown =
        PointInput::new(PointDraft { credit_code: Some("91350100M000100Y43".into()), ..draft("WS-3", "MN3", unit_id) })
            .unwrap();
    assert_eq!(refusal(s.create_monitoring_point(unknown, "h".into(), t0(), desk()).await), "unknown_enterprise");
    let ledger = PointInput::new(PointDraft { ledger_item_id: Some(999), ..draft("WS-3", "MN3", unit_id) }).unwrap();
    assert_eq!(refusal(s.create_monitoring_point(ledger, "h".into(), t0(), desk()).await), "unknown_ledger_item");

    // An update bumps the version, keeps the password unless given, and is recorded.
    let renamed = PointInput::new(PointDraft { name: "新名称".into(), ..draft("WS-1", "MN0001", unit_id) }).unwrap();
    let stale = s.update_monitoring_point("WS-1", renamed.clone(), None, Some(7), at(1), desk()).await;
    assert_eq!(refusal(stale), "monitoring_point_changed");
    let updated = s.update_monitoring_point("WS-1", renamed, None, Some(1), at(1), desk()).await.unwrap();
    assert_eq!((updated.version, updated.name.as_str()), (2, "新名称"));
    assert_eq!(s.monitoring_device("MN0001").await.unwrap().unwrap().password_hash, "h1");
    let missing = PointInput::new(draft("WS-9", "MN9", unit_id)).unwrap();
    assert_eq!(
        refusal(s.update_monitoring_point("WS-9", missing, None, None, at(1), desk()).await),
        "monitoring_point_not_found"
    );
    let events = s.monitoring_point_events(p.id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created", "updated"]);
    assert_eq!(events[1].note.as_deref(), Some("修改了名称"));
    assert!(execute(&s, "DELETE FROM monitoring_point_events", vec![]).await.is_err(), "history is append-only");
    assert_eq!(s.monitoring_points().await.unwrap().len(), 1);
}

fn reading(point: &mashangban_store::MonitoringPoint, minute: i64, parameter: &str, value: f64) -> NewReading {
    let standard = bundled_standards().iter().find(|s| s.code == GB_8978_1996).unwrap();
    NewReading {
        point_id: point.id,
        mn: point.mn.clone(),
        kind: ReadingKind::Minute,
        data_time: at(minute),
        parameter: parameter.into(),
        value,
        min: None,
        max: None,
        flag: Some("N".into()),
        exceedance: check_reading(standard, point.grade, &[], parameter, value, Some("N")).unwrap(),
    }
}

async fn readings_are_stored_once_with_aggregates_and_alerts<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let point = point_ws1(&env).await;
    // 09:00–10:59, one COD value a minute: 100 + minute; minute 50 is 150 (at the limit), 95 is 195 (over).
    let batch: Vec<NewReading> = (0..120).map(|m| reading(&point, m, "w01018", 100.0 + m as f64)).collect();
    let first = s.insert_readings(batch.clone(), at(121)).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (120, 0));
    let over: Vec<f64> = first.alerts.iter().map(|a| a.value).collect();
    assert_eq!(over.len(), 69, "151..=219 are over 150");
    assert_eq!(first.alerts[0].limit, "≤150");
    assert_eq!(first.alerts[0].state, AlertState::Open);

    // The same batch again, and a batch mixing new and old: duplicates are ignored and raise nothing.
    let again = s.insert_readings(batch, at(122)).await.unwrap();
    assert_eq!((again.inserted, again.duplicates, again.alerts.len()), (0, 120, 0));
    let mixed = vec![reading(&point, 0, "w01018", 999.0), reading(&point, 0, "w21003", 3.0)];
    let mixed = s.insert_readings(mixed, at(123)).await.unwrap();
    assert_eq!((mixed.inserted, mixed.duplicates), (1, 1));
    let hour_kind = NewReading { kind: ReadingKind::Hour, ..reading(&point, 0, "w01018", 150.0) };
    assert_eq!(
        s.insert_readings(vec![hour_kind], at(123)).await.unwrap().inserted,
        1,
        "another command is another key"
    );

    let query = ReadingQuery {
        point_id: point.id,
        parameter: "w01018".into(),
        kind: ReadingKind::Minute,
        from: t0(),
        to: at(120),
    };
    let raw = s.readings(query.clone(), 10_000).await.unwrap();
    assert_eq!(raw.len(), 120);
    assert_eq!((raw[0].value, raw[0].data_time), (100.0, t0()), "the first value stayed");
    let hours = s.reading_aggregates(query.clone(), Bucket::Hour).await.unwrap();
    assert_eq!(hours.iter().map(|h| h.bucket.as_str()).collect::<Vec<_>>(), ["2026-03-02T09", "2026-03-02T10"]);
    assert_eq!((hours[0].count, hours[0].min, hours[0].max), (60, 100.0, 159.0));
    assert!((hours[0].avg - 129.5).abs() < 1e-9);
    assert_eq!((hours[1].min, hours[1].max), (160.0, 219.0));
    let days = s.reading_aggregates(query.clone(), Bucket::Day).await.unwrap();
    assert_eq!((days.len(), days[0].bucket.as_str(), days[0].count), (1, "2026-03-02", 120));
    let later = ReadingQuery { from: at(60), to: at(61), ..query };
    assert_eq!(s.readings(later, 10).await.unwrap().len(), 1, "from is inclusive, to exclusive");

    let latest = s.latest_readings(point.id).await.unwrap();
    assert_eq!(
        latest.iter().map(|r| (r.parameter.as_str(), r.value)).collect::<Vec<_>>(),
        [("w01018", 219.0), ("w21003", 3.0)]
    );
    let stored = s.monitoring_point("WS-1").await.unwrap().unwrap();
    assert_eq!(stored.last_reading_at, Some(at(119)));

    // Dismissing an alert, once.
    let open = s.monitoring_alerts(Some(AlertState::Open), Some(point.id), 1000).await.unwrap();
    assert_eq!(open.len(), 69);
    let id = open[0].id;
    let dismissed = s.dismiss_monitoring_alert(id, "现场核实为仪器故障".into(), at(130), desk()).await.unwrap();
    assert_eq!((dismissed.state, dismissed.closed_at, dismissed.version), (AlertState::Dismissed, Some(at(130)), 2));
    let twice = s.dismiss_monitoring_alert(id, "再次".into(), at(131), desk()).await;
    assert_eq!(refusal(twice), "alert_not_open");
    assert_eq!(
        refusal(s.dismiss_monitoring_alert(id + 1000, "x".into(), at(131), desk()).await),
        "monitoring_alert_not_found"
    );
    let history = s.monitoring_alert_events(id).await.unwrap();
    assert_eq!(history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["opened", "dismissed"]);
    assert_eq!(history[1].note.as_deref(), Some("现场核实为仪器故障"));
    assert_eq!(s.monitoring_alerts(Some(AlertState::Open), None, 1000).await.unwrap().len(), 68);

    // Every alert batch and the dismissal are in the change feed, keyed by the point.
    let changes = s.changes_after(ChangeCursor::default(), 1000).await.unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .filter(|c| c.entity == ChangeEntity::Monitoring && c.key == point.id.to_string())
        .map(|c| c.kind.as_str())
        .collect();
    assert_eq!(kinds, ["created", "alert_opened", "alert_dismissed"]);
}

async fn a_retired_point_refuses_its_device_and_every_change<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let unit_id = bureau(&env).await;
    let input = PointInput::new(draft("WS-1", "MN0001", unit_id)).unwrap();
    s.create_monitoring_point(input.clone(), "h1".into(), t0(), desk()).await.unwrap();
    let stale = s.retire_monitoring_point("WS-1", "拆除".into(), Some(9), at(1), desk()).await;
    assert_eq!(refusal(stale), "monitoring_point_changed");
    let retired = s.retire_monitoring_point("WS-1", "企业关停".into(), Some(1), at(1), desk()).await.unwrap();
    assert_eq!((retired.version, retired.retired_at), (2, Some(at(1))));
    assert!(s.monitoring_device("MN0001").await.unwrap().is_none(), "its device is refused");
    let again = s.retire_monitoring_point("WS-1", "再次".into(), None, at(2), desk()).await;
    assert_eq!(refusal(again), "monitoring_point_retired");
    let update = s.update_monitoring_point("WS-1", input, None, None, at(2), desk()).await;
    assert_eq!(refusal(update), "monitoring_point_retired");
    let missing = s.retire_monitoring_point("WS-9", "x".into(), None, at(2), desk()).await;
    assert_eq!(refusal(missing), "monitoring_point_not_found");
    let events = s.monitoring_point_events(retired.id).await.unwrap();
    let kinds: Vec<(&str, Option<&str>)> = events.iter().map(|e| (e.kind.as_str(), e.note.as_deref())).collect();
    assert_eq!(kinds, [("created", None), ("retired", Some("企业关停"))]);
    assert_eq!(s.monitoring_points().await.unwrap()[0].retired_at, Some(at(1)), "listed, marked retired");
}

async fn receiver_counts_add_up_over_batches_and_hours<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let count = |source: &str, bucket: &str, counter: &str, count: i64| ReceiverCount {
        source: source.into(),
        bucket: bucket.into(),
        counter: counter.into(),
        count,
    };
    // Two nodes' batches in one hour, one the hour before, one of last week; a key twice in a batch.
    s.add_receiver_counts(vec![
        count("MN0001", "2026-12-05T14", "bad_frames", 3),
        count("MN0001", "2026-12-05T14", "bad_frames", 2),
        count("peer:10.0.0.9", "2026-12-05T14", "unknown_device", 7),
    ])
    .await
    .unwrap();
    s.add_receiver_counts(vec![
        count("MN0001", "2026-12-05T14", "bad_frames", 10),
        count("MN0001", "2026-12-05T13", "wrong_password", 1),
    ])
    .await
    .unwrap();
    s.add_receiver_counts(vec![count("MN0001", "2026-11-20T09", "bad_frames", 100)]).await.unwrap();
    s.add_receiver_counts(Vec::new()).await.unwrap();
    // Many keys at once: more than one statement.
    let many: Vec<ReceiverCount> =
        (0..450).map(|n| count(&format!("MN{n:04}X"), "2026-12-05T14", "stored_packets", 1)).collect();
    s.add_receiver_counts(many).await.unwrap();

    let totals = s.receiver_totals("2026-12-05T00".into()).await.unwrap();
    assert_eq!(totals.len(), 450 + 3, "{totals:?}");
    let of = |source: &str| -> Vec<(String, i64)> {
        totals.iter().filter(|(s, _, _)| s == source).map(|(_, c, n)| (c.clone(), *n)).collect()
    };
    assert_eq!(of("MN0001"), [("bad_frames".to_owned(), 15), ("wrong_password".to_owned(), 1)]);
    assert_eq!(of("peer:10.0.0.9"), [("unknown_device".to_owned(), 7)]);
    let week = s.receiver_totals("2026-11-20T00".into()).await.unwrap();
    assert!(week.contains(&("MN0001".into(), "bad_frames".into(), 115)), "{week:?}");
}

/// The aggregates as the readings themselves give them, bucket by bucket.
fn aggregates_of(readings: &[mashangban_store::StoredReading], prefix: usize) -> Vec<ReadingAggregate> {
    let mut buckets: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for r in readings {
        let key = mashangban_domain::time::format_instant(&r.data_time)[..prefix].to_owned();
        buckets.entry(key).or_default().push(r.value);
    }
    buckets
        .into_iter()
        .map(|(bucket, v)| ReadingAggregate {
            bucket,
            count: v.len() as i64,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            avg: v.iter().sum::<f64>() / v.len() as f64,
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
        .collect()
}

async fn the_hourly_rollup_answers_as_the_readings_do_over_any_range<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let point = point_ws1(&env).await;
    // 26 hours of minute values (from 09:00 to 11:00 the next day), in batches of uneven sizes that
    // overlap (each batch repeats the last 7 minutes of the one before, with other values that must
    // be ignored) and carry a repeated key inside themselves; another parameter and the hour command
    // beside them, which the series must not count.
    let value = |m: i64| ((m * 7919) % 1000) as f64 / 10.0;
    let mut start = 0i64;
    let mut size = 1i64;
    while start < 26 * 60 {
        let end = (start + size).min(26 * 60);
        let mut batch: Vec<NewReading> = ((start - 7).max(0)..end)
            .map(|m| reading(&point, m, "w01018", if m < start { 999.0 } else { value(m) }))
            .collect();
        batch.push(reading(&point, end - 1, "w01018", -1.0));
        batch.push(reading(&point, start, "w21003", 5.0));
        batch.push(NewReading { kind: ReadingKind::Hour, ..reading(&point, start, "w01018", 77.0) });
        let stored = s.insert_readings(batch, at(start + 1)).await.unwrap();
        assert_eq!(stored.inserted as i64, end - start + 2, "the new minutes, the other parameter, the hour value");
        start = end;
        size = size * 3 + 1;
    }
    let query = |from: i64, to: i64| ReadingQuery {
        point_id: point.id,
        parameter: "w01018".into(),
        kind: ReadingKind::Minute,
        from: at(from),
        to: at(to),
    };
    // Whole hours, partial hours at one or both edges, inside one hour, empty, a second either side.
    let ranges = [(0, 26 * 60), (30, 26 * 60 - 30), (59, 61), (0, 60), (61, 119), (15, 16), (40, 40), (-60, 2000)];
    for (from, to) in ranges {
        let raw = s.readings(query(from, to), 10_000).await.unwrap();
        for bucket in [Bucket::Hour, Bucket::Day] {
            let rolled = s.reading_aggregates(query(from, to), bucket).await.unwrap();
            let expected = aggregates_of(&raw, bucket.prefix_len());
            assert_eq!(rolled.len(), expected.len(), "{from}..{to} {bucket:?}");
            for (got, want) in rolled.iter().zip(&expected) {
                assert_eq!((&got.bucket, got.count, got.min, got.max), (&want.bucket, want.count, want.min, want.max));
                assert!((got.avg - want.avg).abs() < 1e-9, "{from}..{to} {}: {} vs {}", got.bucket, got.avg, want.avg);
            }
        }
    }
    let whole = s.reading_aggregates(query(0, 26 * 60), Bucket::Day).await.unwrap();
    assert_eq!(whole.iter().map(|d| d.count).collect::<Vec<_>>(), [15 * 60, 11 * 60], "no repeat counted twice");
    assert!(whole.iter().all(|d| d.min >= 0.0 && d.max < 100.0), "the ignored repeats' values are in no sum");
    let hours = ReadingQuery { kind: ReadingKind::Hour, ..query(0, 26 * 60) };
    let hours = s.reading_aggregates(hours, Bucket::Day).await.unwrap();
    assert_eq!(hours.iter().map(|d| (d.count, d.avg)).collect::<Vec<_>>(), [(7, 77.0)], "one value per batch");
}
