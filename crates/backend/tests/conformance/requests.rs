//! Requests on both databases: tracking numbers, group commit and refused
//! actions under concurrency (also from two nodes), append-only history,
//! attachments, and the rollups against a recomputation.

use std::collections::HashSet;
use std::sync::Arc;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Role, Scope, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, State, Urgency};
use mashangban_domain::time::parse_instant;
use mashangban_domain::validation::{CreditCode, Phone};
use mashangban_store::{
    CalendarAuthor, CalendarSource, CalendarStore, CatalogStore, Command, ListFilter, NewAttachment, NewCategory,
    OrgStore, RequestStore, TimeLimitStore, Upload,
};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{Env, TestDb, execute, meta, refusal, staff, t0, texts};

on_both!(
    tracking_numbers_are_per_day_and_unique,
    concurrent_intakes_on_two_nodes_get_unique_ordered_tracking_numbers,
    refused_actions_among_concurrent_writes_roll_back_alone,
    events_calendar_changes_and_rule_versions_cannot_be_changed,
    attachments_round_trip_and_are_limited,
    rollups_agree_with_a_recomputation_from_the_events,
    counts_urges_and_corrections_are_stored,
    reply_texts_of_many_requests_agree_with_their_histories,
    versions_and_reads_by_id_agree_with_the_list,
    intakes_during_dashboard_rebuilds_are_counted_once,
    screening_verdicts_decisions_repeats_and_settings_are_stored,
    a_request_is_found_with_its_history_in_one_read,
);

/// Three departments, a town and a category.
pub(crate) struct Fixture<D: TestDb> {
    pub(crate) env: Env<D>,
    units: Vec<i64>,
    category: i64,
}

impl<D: TestDb> Fixture<D> {
    pub(crate) async fn new() -> Self {
        let env = D::create().await;
        let store = &env.store;
        store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
        let mut units = Vec::new();
        for code in ["a", "b", "c"] {
            units.push(store.upsert_unit(unit(code, UnitKind::Department, Some("city"))).await.unwrap().id);
        }
        store.upsert_unit(unit("t", UnitKind::Town, Some("city"))).await.unwrap();
        let category = NewCategory {
            code: "x".into(),
            name: "分类".into(),
            parent_code: None,
            lead_unit_code: Some("a".into()),
            keywords: vec![],
        };
        let category = store.upsert_category(category).await.unwrap().id;
        Self { env, units, category }
    }

    pub(crate) fn store(&self) -> &SqlStore<D> {
        &self.env.store
    }

    async fn intake(&self, store: &SqlStore<D>, enterprise: bool, minutes: i64) -> mashangban_domain::request::Request {
        store.intake(self.request(enterprise), &Actor::PublicAsker, &meta(minutes)).await.unwrap()
    }

    pub(crate) fn request(&self, enterprise: bool) -> NewRequest {
        NewRequest {
            kind: RequestKind::Complaint,
            urgency: Urgency::Normal,
            channel: Channel::Web,
            asker: if enterprise {
                Asker::Enterprise {
                    credit_code: CreditCode::parse("91350100M000100Y43").unwrap(),
                    name: "某公司".into(),
                }
            } else {
                Asker::Resident
            },
            contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
            title: "标题".into(),
            content: "内容".into(),
            category_id: self.category,
            location: Location { town_id: None, address: None, point: None },
            ledger_ref: None,
            check_code: "12345678".into(),
            submitted_by: None,
            due_at: Some(t0() + chrono::Duration::days(15)),
            deadlines: Default::default(),
            time_limits: None,
            card: None,
            visit: None,
            screening: None,
        }
    }
}

/// A fresh database with the demo city and `count` requests of its generated history to 2026-06-30.
async fn with_demo_history<D: TestDb>(seed: u64, count: usize) -> Env<D> {
    let env = D::create().await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&env.store, &data).await.unwrap();
    mashangban_demo::load_users(&env.store, &data, "not-a-real-hash").await.unwrap();
    let end = parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed, count, end };
    let made = mashangban_demo::generate_history(&env.store, &data, &options, |_, _| {}).await.unwrap();
    assert_eq!(made, count);
    env
}

fn everything() -> ListFilter {
    ListFilter { limit: 500, ..ListFilter::default() }
}

async fn tracking_numbers_are_per_day_and_unique<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let a = f.intake(s, false, 0).await;
    let b = f.intake(s, false, 1).await;
    let c = f.intake(s, false, 60 * 24).await;
    assert_eq!(
        [a.tracking_no.as_str(), b.tracking_no.as_str(), c.tracking_no.as_str()],
        ["ZS20260302000001", "ZS20260302000002", "ZS20260303000001"]
    );
    let events = s.history(a.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].due_at, a.due_at);
    assert_eq!(s.find(&a.tracking_no, &Scope::All).await.unwrap(), Some(a));
}

/// Group commit on SQLite, two pools on PostgreSQL: no gaps, no duplicates,
/// numbers in the order of the rows.
async fn concurrent_intakes_on_two_nodes_get_unique_ordered_tracking_numbers<D: TestDb>() {
    let f = Arc::new(Fixture::<D>::new().await);
    let other = f.env.other_node().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let f = Arc::clone(&f);
        let store = if i % 2 == 0 { f.store().clone() } else { other.clone() };
        tasks.spawn(async move { f.intake(&store, i % 3 == 0, 0).await.tracking_no });
    }
    let mut numbers = HashSet::new();
    while let Some(number) = tasks.join_next().await {
        numbers.insert(number.unwrap());
    }
    let expected: HashSet<String> = (1..=120).map(|n| format!("ZS20260302{n:06}")).collect();
    assert_eq!(numbers, expected, "no gaps, no duplicates");
    let mut page = other.list(&everything(), &Scope::All).await.unwrap().items;
    assert_eq!(page.len(), 120);
    page.sort_by_key(|r| r.id);
    let by_id: Vec<&str> = page.iter().map(|r| r.tracking_no.as_str()).collect();
    let mut sorted = by_id.clone();
    sorted.sort();
    assert_eq!(by_id, sorted, "tracking numbers follow the order of intake");
}

/// Intakes on two nodes while the dashboard is rebuilt again and again: each
/// is counted once, whether it committed before a rebuild's snapshot (in the
/// rebuild) or after (its pending change folded onto the rebuilt rows).
async fn intakes_during_dashboard_rebuilds_are_counted_once<D: TestDb>() {
    use mashangban_domain::scoring::Period;
    use mashangban_store::{DashboardQuery, DashboardStore};
    let f = Arc::new(Fixture::<D>::new().await);
    for i in 0..150 {
        f.intake(f.store(), i % 2 == 0, 0).await;
    }
    let other = f.env.other_node().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..80 {
        let f = Arc::clone(&f);
        let store = if i % 2 == 0 { f.store().clone() } else { other.clone() };
        tasks.spawn(async move {
            f.intake(&store, i % 3 == 0, 1).await;
        });
    }
    let rebuilds = {
        let store = f.store().clone();
        tokio::spawn(async move {
            for _ in 0..4 {
                store.rebuild_dashboard().await.unwrap();
            }
        })
    };
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    rebuilds.await.unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let q = DashboardQuery {
        period: Period::new(day("2026-03-01"), day("2026-03-31")).unwrap(),
        options: Default::default(),
    };
    let live = other.dashboard(q).await.unwrap();
    assert_eq!(live.totals.received, 230, "{:?}", live.totals);
    assert_eq!(f.store().rebuild_dashboard().await.unwrap().requests, 230);
    assert_eq!(f.store().dashboard(q).await.unwrap(), live);
}

/// A refused action among concurrent intakes (one write batch on SQLite)
/// rolls back alone.
async fn refused_actions_among_concurrent_writes_roll_back_alone<D: TestDb>() {
    let f = Arc::new(Fixture::<D>::new().await);
    let ok = f.intake(f.store(), false, 0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let f = Arc::clone(&f);
        let no = ok.tracking_no.clone();
        tasks.spawn(async move {
            if i % 2 == 0 {
                // Refused: signing a received request.
                let sign = Command {
                    tracking_no: no,
                    scope: Scope::All,
                    actor: staff(Role::Handler, f.units[0]),
                    action: Action::SignFor { comment: None },
                    attachment_ids: vec![],
                    meta: meta(1),
                    calendar: None,
                    expected_version: None,
                };
                f.store().act(sign).await.is_err()
            } else {
                f.intake(f.store(), false, 1).await;
                false
            }
        });
    }
    let mut refused = 0;
    while let Some(was_refused) = tasks.join_next().await {
        refused += usize::from(was_refused.unwrap());
    }
    assert_eq!(refused, 20);
    assert_eq!(f.store().list(&everything(), &Scope::All).await.unwrap().items.len(), 21);
    assert_eq!(f.store().history(ok.id).await.unwrap().len(), 1);
}

async fn events_calendar_changes_and_rule_versions_cannot_be_changed<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    f.intake(s, false, 0).await;
    s.current_rules().await.unwrap();
    let years =
        mashangban_domain::calendar::parse_holidays_toml(mashangban_domain::calendar::BUNDLED_HOLIDAYS).unwrap();
    let author = CalendarAuthor::new(&Actor::System, &meta(0), CalendarSource::Bundled);
    assert!(s.seed_calendar(years, Default::default(), author).await.unwrap());
    for (sql, message) in [
        ("UPDATE events SET comment = 'x'", "append-only"),
        ("DELETE FROM events", "append-only"),
        ("UPDATE calendar_changes SET actor_name = 'x'", "append-only"),
        ("DELETE FROM calendar_changes", "append-only"),
        ("UPDATE time_limit_rules SET created_by = 'x'", "immutable"),
        ("DELETE FROM time_limit_rules", "immutable"),
    ] {
        let error = execute(s, sql, vec![]).await.expect_err(sql);
        assert!(format!("{error:?}").contains(message), "{sql}: {error:?}");
    }
    assert_eq!(texts(s, "SELECT CAST(count(*) AS TEXT) FROM events", vec![]).await, [Some("1".to_owned())]);
}

async fn attachments_round_trip_and_are_limited<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let r = f.intake(s, false, 0).await;
    let upload = |i: u8| Upload {
        tracking_no: r.tracking_no.clone(),
        scope: Scope::All,
        actor: staff(Role::Operator, f.units[0]),
        file: NewAttachment {
            file_name: format!("照片{i}.jpg"),
            content_type: "image/jpeg".into(),
            bytes: vec![0, 255, i, 0x27, 0x5c],
            sha256: "sha".into(),
        },
        meta: meta(i64::from(i)),
    };
    let first = s.add_attachment(upload(1)).await.unwrap();
    let (stored, bytes) = s.attachment_content(r.id, first.id).await.unwrap().unwrap();
    assert_eq!((stored.size, bytes), (5, vec![0, 255, 1, 0x27, 0x5c]));
    for i in 2..=20 {
        s.add_attachment(upload(i)).await.unwrap();
    }
    assert_eq!(refusal(s.add_attachment(upload(21)).await), "too_many_attachments");
    let stored = s.attachments(r.id).await.unwrap();
    assert_eq!(stored.len(), 20);
    let history = s.history(r.id).await.unwrap();
    assert_eq!(history.len(), 21);
    assert_eq!(history.last().unwrap().attachment_ids, vec![stored[19].id]);
    assert_eq!(s.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap().version, r.version + 20);
}

/// The scoring and dashboard rollups kept event by event equal a
/// recomputation from the events (scoring) and a rebuild (both).
async fn rollups_agree_with_a_recomputation_from_the_events<D: TestDb>() {
    use mashangban_domain::calendar::WorkCalendar;
    use mashangban_domain::scoring::{Period, ScoreOptions, score_from_events};
    use mashangban_store::{DashboardQuery, DashboardStore, ScoringStore};
    let env = with_demo_history::<D>(20260301, 150).await;
    let store = &env.store;
    let mut events = Vec::new();
    for request in store.list(&everything(), &Scope::All).await.unwrap().items {
        events.extend(store.history(request.id).await.unwrap());
    }
    let calendar = WorkCalendar::bundled().unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let periods: Vec<Period> =
        [("2024-06-01", "2026-05-31"), ("2025-03-15", "2025-06-10"), ("2026-02-10", "2026-03-09")]
            .iter()
            .map(|(from, to)| Period::new(day(from), day(to)).unwrap())
            .collect();
    let check = || async {
        for p in &periods {
            let report = store.score_report(*p, ScoreOptions::default()).await.unwrap();
            assert_eq!(report, score_from_events(&events, p, &calendar, &ScoreOptions::default()), "{p:?}");
        }
    };
    check().await;
    let whole = store.score_report(periods[0], ScoreOptions::default()).await.unwrap();
    assert!(whole.city.counters.assigned > 100, "{:?}", whole.city.counters);
    let summary = store.rebuild_scoring().await.unwrap();
    assert_eq!((summary.requests, summary.events), (150, events.len() as u64));
    check().await;

    let queries: Vec<DashboardQuery> =
        periods.iter().map(|period| DashboardQuery { period: *period, options: Default::default() }).collect();
    let mut live = Vec::new();
    for q in &queries {
        live.push(store.dashboard(*q).await.unwrap());
    }
    assert!(live[0].totals.received > 140 && live[0].totals.closed > 100, "{:?}", live[0].totals);
    assert_eq!(store.rebuild_dashboard().await.unwrap().requests, 150);
    for (q, before) in queries.iter().zip(&live) {
        assert_eq!(&store.dashboard(*q).await.unwrap(), before);
    }
}

/// The count of a filter ignores its paging; urges and corrections (改类改急)
/// are stored on the row with their events, and a correction to an unknown
/// category or town is refused with nothing written.
async fn counts_urges_and_corrections_are_stored<D: TestDb>() {
    use mashangban_domain::lifecycle::Reclassify;
    use mashangban_domain::time_limit::RecountAnchors;
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let mut numbers = Vec::new();
    for i in 0..7 {
        numbers.push(f.intake(s, i % 2 == 0, i).await.tracking_no);
    }
    let page = ListFilter { limit: 3, offset: 3, ..ListFilter::default() };
    assert_eq!(s.list(&page, &Scope::All).await.unwrap().items.len(), 3);
    assert_eq!(s.count(&page, &Scope::All).await.unwrap(), 7);
    let units = Scope::Units { units: vec![f.units[0]], town: None };
    assert_eq!(s.count(&everything(), &units).await.unwrap(), 0, "the scope counts");

    let act = |action: Action, actor: Actor| Command {
        tracking_no: numbers[0].clone(),
        scope: Scope::All,
        actor,
        action,
        attachment_ids: Vec::new(),
        meta: meta(30),
        calendar: None,
        expected_version: None,
    };
    let dispatcher = staff(Role::Dispatcher, f.units[0]);
    for _ in 0..2 {
        s.act(act(Action::Urge { message: "请加快".into() }, dispatcher.clone())).await.unwrap();
    }
    // An action chosen at a version the request has left is refused in its own transaction.
    let seen = s.find(&numbers[0], &Scope::All).await.unwrap().unwrap();
    let stale = Command {
        expected_version: Some(seen.version - 1),
        ..act(Action::Urge { message: "再催".into() }, dispatcher.clone())
    };
    assert_eq!(refusal(s.act(stale).await), "version_changed");
    assert_eq!(s.find(&numbers[0], &Scope::All).await.unwrap().unwrap(), seen, "nothing written");
    let town = s.list_units().await.unwrap().into_iter().find(|u| u.code == "t").unwrap().id;
    let fix = |category_id: Option<i64>, town_id: Option<i64>| {
        Action::Reclassify(Reclassify {
            kind: Some(RequestKind::Help),
            urgency: Some(Urgency::ActNow),
            category_id,
            town_id,
            reason: "更正".into(),
            rules: None,
            anchors: RecountAnchors { sign_for_from: None, paused: chrono::Duration::zero() },
        })
    };
    let before = s.find(&numbers[0], &Scope::All).await.unwrap().unwrap();
    assert_eq!(refusal(s.act(act(fix(Some(9999), None), dispatcher.clone())).await), "unknown_category");
    assert_eq!(refusal(s.act(act(fix(None, Some(f.units[1])), dispatcher.clone())).await), "unknown_town");
    assert_eq!(s.find(&numbers[0], &Scope::All).await.unwrap().unwrap(), before, "nothing written");
    s.act(act(fix(None, Some(town)), dispatcher.clone())).await.unwrap();
    let other = f.env.other_node().await;
    let after = other.find(&numbers[0], &Scope::All).await.unwrap().unwrap();
    assert_eq!((after.kind, after.urgency, after.location.town_id), (RequestKind::Help, Urgency::ActNow, Some(town)));
    assert_eq!(after.urge_count, 2);
    let kinds: Vec<_> = other.history(after.id).await.unwrap().iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["received", "urged", "urged", "reclassified"]);
    let filter = ListFilter { town_id: Some(town), ..everything() };
    assert_eq!(other.count(&filter, &Scope::All).await.unwrap(), 1);
}

/// The batched read the search index uses agrees with each request's history, across the store's
/// statement chunks (ids it does not know fill the first chunk) and in the asked order of neither.
async fn reply_texts_of_many_requests_agree_with_their_histories<D: TestDb>() {
    use mashangban_domain::request::EventKind;
    use std::collections::BTreeMap;
    let env = with_demo_history::<D>(20260302, 120).await;
    let store = &env.store;
    let requests = store.list(&everything(), &Scope::All).await.unwrap().items;
    assert_eq!(requests.len(), 120);
    let mut expected = BTreeMap::new();
    for request in &requests {
        let replies: Vec<String> = store
            .history(request.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| EventKind::REPLIES.contains(&e.kind))
            .filter_map(|e| e.comment)
            .collect();
        if !replies.is_empty() {
            expected.insert(request.id, replies);
        }
    }
    // The demo history has answered requests with several replies, and unanswered ones.
    assert!(expected.len() > 20 && expected.len() < 120, "{} of 120 answered", expected.len());
    assert!(expected.values().any(|r| r.len() > 1));
    let unknown = 1_000_000..1_000_450;
    let ids: Vec<i64> = unknown.clone().chain(requests.iter().map(|r| r.id)).collect();
    assert_eq!(store.reply_texts(&ids).await.unwrap(), expected);
    // Any subset answers its own part only.
    let some: Vec<i64> = requests.iter().step_by(3).map(|r| r.id).collect();
    let part: BTreeMap<_, _> =
        expected.iter().filter(|(id, _)| some.contains(id)).map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(store.reply_texts(&some).await.unwrap(), part);
    assert!(store.reply_texts(&[]).await.unwrap().is_empty());
    assert!(store.reply_texts(&unknown.collect::<Vec<_>>()).await.unwrap().is_empty());
}

/// What the likely-duplicate check reads: the ids and versions of a filtered list in its order,
/// then whole requests by id (in scope only, across the store's fixed-size id lists).
async fn versions_and_reads_by_id_agree_with_the_list<D: TestDb>() {
    let env = with_demo_history::<D>(20260303, 90).await;
    let store = &env.store;
    let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
    let filters = [
        everything(),
        ListFilter { states: open, limit: 500, ..ListFilter::default() },
        ListFilter { limit: 7, ..everything() },
    ];
    for filter in &filters {
        let listed = store.list(filter, &Scope::All).await.unwrap().items;
        let versions = store.list_versions(filter, &Scope::All).await.unwrap();
        assert_eq!(versions, listed.iter().map(|r| (r.id, r.version)).collect::<Vec<_>>());
        let ids: Vec<i64> = versions.iter().rev().map(|(id, _)| *id).chain([1_000_000]).collect();
        let mut by_id = store.requests_by_ids(&ids, &Scope::All).await.unwrap();
        assert!(by_id.windows(2).all(|w| w[0].id < w[1].id), "in id order, each once");
        by_id.sort_by_key(|r| std::cmp::Reverse(r.id));
        assert_eq!(by_id, listed, "whole, and the unknown id absent");
    }
    let all = store.list(&everything(), &Scope::All).await.unwrap().items;
    assert!(all.iter().any(|r| r.version > 1), "the history changed requests");
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    let town = all.iter().find_map(|r| r.location.town_id).unwrap();
    let scope = Scope::Units { units: vec![town], town: Some(town) };
    let mut in_town = store.requests_by_ids(&ids, &scope).await.unwrap();
    assert!(!in_town.is_empty() && in_town.len() < all.len(), "{} of {}", in_town.len(), all.len());
    in_town.reverse();
    assert_eq!(in_town, store.list(&everything(), &scope).await.unwrap().items, "the scope's own");
    assert!(store.requests_by_ids(&ids, &Scope::Nothing).await.unwrap().is_empty());
    assert!(store.requests_by_ids(&[], &Scope::All).await.unwrap().is_empty());
}

/// Spam screening (垃圾信息甄别): the verdict is stored with the intake and holds the request out of
/// lists that ask for unheld ones; releasing and marking spam write the decision in their event's
/// transaction; repeats are counted by digest and time; settings are versioned; the classifier's
/// examples are the spam decisions and the genuine requests.
async fn screening_verdicts_decisions_repeats_and_settings_are_stored<D: TestDb>() {
    use mashangban_domain::screening::{Decision, Screening, Settings, Verdict};
    use mashangban_store::ScreeningStore;
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let screened = |held: bool, fingerprint: &str| Screening {
        verdict: Verdict {
            score: if held { 0.9 } else { 0.1 }, reasons: vec!["含广告词：会议室出租".into()], held
        },
        fingerprint: fingerprint.into(),
    };
    let mut numbers = Vec::new();
    for (i, held) in [true, true, false].into_iter().enumerate() {
        let mut new = f.request(false);
        new.screening = Some(screened(held, "f1"));
        let r = s.intake(new, &Actor::PublicAsker, &meta(i as i64)).await.unwrap();
        assert_eq!(r.screening_held, held);
        numbers.push((r.id, r.tracking_no));
    }
    let unscreened = f.intake(s, false, 5).await;
    let held = ListFilter { screening_held: Some(true), ..everything() };
    let not_held = ListFilter { screening_held: Some(false), ..everything() };
    assert_eq!(s.count(&held, &Scope::All).await.unwrap(), 2);
    assert_eq!(s.count(&not_held, &Scope::All).await.unwrap(), 2);
    assert_eq!(s.screening_repeats("f1", t0()).await.unwrap(), 3);
    assert_eq!(s.screening_repeats("f1", t0() + chrono::Duration::minutes(2)).await.unwrap(), 1);
    assert_eq!(s.screening_repeats("f2", t0()).await.unwrap(), 0);

    let dispatcher = staff(Role::Dispatcher, f.units[0]);
    let decide = |no: &str, action: Action| Command {
        tracking_no: no.to_owned(),
        scope: Scope::All,
        actor: dispatcher.clone(),
        action,
        attachment_ids: Vec::new(),
        meta: meta(30),
        calendar: None,
        expected_version: None,
    };
    let dispatch = Action::Dispatch { lead: f.units[0], co: vec![], comment: None };
    assert_eq!(refusal(s.act(decide(&numbers[0].1, dispatch.clone())).await), "screening_pending");
    let released = s.act(decide(&numbers[0].1, Action::Release { comment: None })).await.unwrap();
    assert!(!released.screening_held);
    let spam = s.act(decide(&numbers[1].1, Action::MarkSpam { reason: Some("广告".into()) })).await.unwrap();
    assert_eq!((spam.state, spam.screening_held), (mashangban_domain::request::State::Archived, false));
    // A request taken in by staff, never screened, marked spam from the queue.
    s.act(decide(&unscreened.tracking_no, Action::MarkSpam { reason: None })).await.unwrap();
    assert_eq!(s.count(&held, &Scope::All).await.unwrap(), 0);
    let kinds: Vec<_> = s.history(released.id).await.unwrap().iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["received", "screening_released"]);

    let mut records = s.screenings(vec![numbers[0].0, numbers[1].0, numbers[2].0, unscreened.id, 9999]).await.unwrap();
    records.sort_by_key(|r| r.request_id);
    let decisions: Vec<_> = records.iter().map(|r| (r.held, r.decision)).collect();
    assert_eq!(
        decisions,
        [(true, Some(Decision::Released)), (true, Some(Decision::Spam)), (false, None), (false, Some(Decision::Spam))]
    );
    assert_eq!(
        (records[0].score, records[0].reasons.len(), records[1].decided_by.as_deref()),
        (0.9, 1, Some(dispatcher.name()))
    );
    assert!(s.screenings(vec![]).await.unwrap().is_empty());

    let examples = s.screening_examples(None, None, 100).await.unwrap();
    let spam_examples = examples.iter().filter(|e| e.spam).count();
    assert_eq!((spam_examples, examples.len()), (2, 4), "two spam; the released and the unheld are genuine");
    let since = s.screening_examples(Some(t0() + chrono::Duration::minutes(4)), None, 100).await.unwrap();
    assert_eq!(
        since.iter().map(|e| e.spam).collect::<Vec<_>>(),
        [true],
        "received from then on: the one taken in by staff"
    );

    assert_eq!(s.screening_settings().await.unwrap(), None);
    let first = s.save_screening_settings(Settings::default(), "管理员".into(), t0()).await.unwrap();
    let second = Settings { phrases: vec!["时租场地".into()], threshold: 0.7 };
    let saved = s.save_screening_settings(second.clone(), "管理员".into(), t0()).await.unwrap();
    assert_eq!((first.version, saved.version), (1, 2));
    assert_eq!(s.screening_settings().await.unwrap().unwrap().settings, second);
    let history: Vec<i64> = s.screening_settings_history(10).await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(history, [2, 1]);
}

/// The public look-up's one read: the request and its history as `find` and
/// `history` read them; nothing for an unknown number or out of scope.
async fn a_request_is_found_with_its_history_in_one_read<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let r = f.intake(s, false, 0).await;
    let dispatch = Command {
        tracking_no: r.tracking_no.clone(),
        scope: Scope::All,
        actor: staff(Role::Dispatcher, f.units[0]),
        action: Action::Dispatch { lead: f.units[0], co: vec![], comment: None },
        attachment_ids: Vec::new(),
        meta: meta(1),
        calendar: None,
        expected_version: None,
    };
    s.act(dispatch).await.unwrap();
    let (found, events) = s.find_with_history(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
    assert_eq!(Some(&found), s.find(&r.tracking_no, &Scope::All).await.unwrap().as_ref());
    assert_eq!(events, s.history(r.id).await.unwrap());
    assert_eq!(events.len(), 2);
    assert!(s.find_with_history("ZS-NONE", &Scope::All).await.unwrap().is_none());
    let elsewhere = Scope::Units { units: vec![f.units[1]], town: None };
    assert!(s.find_with_history(&r.tracking_no, &elsewhere).await.unwrap().is_none());
}
