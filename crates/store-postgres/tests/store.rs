//! The PostgreSQL store against a real server (see `testing::TempDatabase`):
//! the SQLite store's behaviours that apply here, and what several app nodes
//! on one database need: optimistic locking, tracking numbers, outbox claims,
//! job locks, signals and migrations under concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_postgres::NoTls;

use mashangban_domain::DomainError;
use mashangban_domain::lifecycle::{Action, DeadlineKind, DeadlineNotice, NoticeLevel};
use mashangban_domain::org::{Actor, Role, Scope, StaffActor, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, Rating, RequestKind, Urgency};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_domain::validation::{CreditCode, Phone};
use mashangban_store::{
    CatalogStore, ClusterStore, Command, ListFilter, Meta, NewCategory, NewUnit, NewUser, NotificationStore, OrgStore,
    RequestStore, Signal, StoreError,
};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_postgres::{PgOptions, PgStore};

struct Fixture {
    store: PgStore,
    units: Vec<i64>,
    town: i64,
    category: i64,
    // Dropped last: the stores' connections go before their database.
    db: TempDatabase,
}

fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

async fn connect(db: &TempDatabase) -> PgStore {
    mashangban_store_postgres::connect(db.url(), PgOptions::default()).await.unwrap()
}

/// A plain connection to the test database, for what the store never does.
async fn raw(db: &TempDatabase) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

async fn fixture() -> Fixture {
    let db = TempDatabase::create().await.unwrap();
    let store = connect(&db).await;
    let unit = |code: &str, kind: UnitKind, parent: Option<&str>| NewUnit {
        code: code.into(),
        name: format!("单位{code}"),
        short_name: None,
        kind,
        parent_code: parent.map(str::to_owned),
    };
    store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let mut units = Vec::new();
    for code in ["a", "b", "c"] {
        units.push(store.upsert_unit(unit(code, UnitKind::Department, Some("city"))).await.unwrap().id);
    }
    let town = store.upsert_unit(unit("t", UnitKind::Town, Some("city"))).await.unwrap().id;
    let category = store
        .upsert_category(NewCategory {
            code: "x".into(),
            name: "分类".into(),
            parent_code: None,
            lead_unit_code: Some("a".into()),
            keywords: vec![],
        })
        .await
        .unwrap()
        .id;
    Fixture { store, units, town, category, db }
}

fn new_request(f: &Fixture, enterprise: bool, town: bool, submitted_by: Option<i64>) -> NewRequest {
    request_in(f.category, town.then_some(f.town), enterprise, submitted_by)
}

fn request_in(category: i64, town: Option<i64>, enterprise: bool, submitted_by: Option<i64>) -> NewRequest {
    NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: if enterprise {
            Asker::Enterprise {
                credit_code: CreditCode::parse("91350100M000100Y43").unwrap(), name: "某公司".into()
            }
        } else {
            Asker::Resident
        },
        contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
        title: "标题".into(),
        content: "内容".into(),
        category_id: category,
        location: Location { town_id: town, address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by,
        due_at: Some(t0() + Span::days(15)),
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    }
}

fn staff(role: Role, unit: i64) -> Actor {
    Actor::Staff(StaffActor {
        user_id: Some(1),
        name: "测试".into(),
        role,
        unit_id: unit,
        units: vec![unit],
        town_id: None,
    })
}

fn meta(minutes: i64) -> Meta {
    Meta { now: t0() + Span::minutes(minutes), client_ip: Some("127.0.0.1".into()) }
}

fn command(no: &str, actor: Actor, action: Action, minutes: i64) -> Command {
    Command {
        tracking_no: no.into(),
        scope: Scope::All,
        actor,
        action,
        attachment_ids: vec![],
        meta: meta(minutes),
        calendar: None,
        expected_version: None,
    }
}

fn all(limit: u32) -> ListFilter {
    ListFilter { limit, ..ListFilter::default() }
}

fn refusal_code(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Domain(DomainError { code, .. })) => code.to_string(),
        other => panic!("expected a domain refusal, got {other:?}"),
    }
}

// ---- behaviours shared with the SQLite store ----------------------------------

/// What the conformance suite checks on both databases, plus TRUNCATE, which only PostgreSQL has.
#[tokio::test]
async fn events_cannot_be_truncated() {
    let f = fixture().await;
    f.store.intake(new_request(&f, false, false, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let conn = raw(&f.db).await;
    let err = conn.batch_execute("TRUNCATE events CASCADE").await.expect_err("TRUNCATE");
    let text = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert!(text.contains("append-only"), "{text}");
    let events: i64 = conn.query_one("SELECT count(*) FROM events", &[]).await.unwrap().get(0);
    assert_eq!(events, 1);
}

#[tokio::test]
async fn id_sequences_move_past_copied_rows() {
    let f = fixture().await;
    let conn = raw(&f.db).await;
    conn.batch_execute("INSERT INTO units (id, code, name, kind) VALUES (500, 'copied', '复制来的单位', 'department')")
        .await
        .unwrap();
    f.store.database().sync_id_sequences().await.unwrap();
    let unit = NewUnit {
        code: "new".into(),
        name: "新单位".into(),
        short_name: None,
        kind: UnitKind::Department,
        parent_code: None,
    };
    assert_eq!(f.store.upsert_unit(unit).await.unwrap().id, 501);
}

/// A table with an identity `id` left out of `IDENTITY_TABLES` would keep its sequence at 1 after a
/// copy from SQLite, and its next insert would collide with a copied row.
#[tokio::test]
async fn every_identity_table_has_its_sequence_moved_after_a_copy() {
    let f = fixture().await;
    let conn = raw(&f.db).await;
    let rows = conn
        .query(
            "SELECT table_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
            &[],
        )
        .await
        .unwrap();
    // PostgreSQL's own working table of dashboard changes is never copied (empty after an export's preparation).
    let mut with_identity: Vec<String> =
        rows.iter().map(|r| r.get::<_, String>(0)).filter(|t| t != "dash_pending").collect();
    let mut listed: Vec<String> = mashangban_store_postgres::IDENTITY_TABLES.iter().map(|t| (*t).to_owned()).collect();
    with_identity.sort();
    listed.sort();
    assert_eq!(listed, with_identity);
}

// ---- several nodes on one database ------------------------------------------------

#[tokio::test]
async fn concurrent_acts_on_one_version_let_exactly_one_through() {
    let f = fixture().await;
    let other = connect(&f.db).await;
    let r = f.store.intake(new_request(&f, false, false, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
    // Hold the row so both acts read version 1, then queue behind the lock.
    let mut blocker = raw(&f.db).await;
    let tx = blocker.transaction().await.unwrap();
    tx.execute("SELECT 1 FROM requests WHERE id = $1 FOR UPDATE", &[&r.id]).await.unwrap();
    let dispatch = |lead: i64| {
        command(
            &r.tracking_no,
            staff(Role::Dispatcher, f.units[0]),
            Action::Dispatch { lead, co: vec![], comment: None },
            1,
        )
    };
    let first = tokio::spawn({
        let store = f.store.clone();
        let cmd = dispatch(f.units[0]);
        async move { store.act(cmd).await }
    });
    let second = tokio::spawn({
        let store = other.clone();
        let cmd = dispatch(f.units[1]);
        async move { store.act(cmd).await }
    });
    wait_for_lock_waiters(&f.db, 2).await;
    tx.commit().await.unwrap();
    let results = [first.await.unwrap(), second.await.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let loser = results.into_iter().find(|r| r.is_err()).unwrap();
    assert_eq!(refusal_code(loser), "concurrent_update");
    let history = f.store.history(r.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(f.store.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap().version, r.version + 1);
}

/// Waits until `n` sessions of the test database wait for a row lock.
async fn wait_for_lock_waiters(db: &TempDatabase, n: i64) {
    let conn = raw(db).await;
    for _ in 0..500 {
        let waiting: i64 = conn
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} sessions never waited for the lock");
}

#[tokio::test]
async fn a_deadline_notice_recorded_by_two_nodes_is_sent_once() {
    let f = fixture().await;
    let other = connect(&f.db).await;
    let r = f.store.intake(new_request(&f, false, false, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let notice = DeadlineNotice::of_request(DeadlineKind::Reply, NoticeLevel::DueSoon, r.due_at.unwrap());
    let cmd = command(&r.tracking_no, Actor::System, Action::Notice { notice }, 5);
    let (a, b) = tokio::join!(f.store.act(cmd.clone()), other.act(cmd));
    assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert_eq!(refusal_code(loser), "notice_already_sent");
    assert_eq!(f.store.history(r.id).await.unwrap().len(), 2);
}

/// Tries to take the job lock for up to 2 s: releasing is asynchronous.
async fn lock_eventually(store: &PgStore, job: &'static str) -> mashangban_store::JobLock {
    for _ in 0..200 {
        if let Some(lock) = store.try_lock_job(job).await.unwrap() {
            return lock;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the job lock {job} was never released");
}

#[tokio::test]
async fn a_job_lock_is_held_by_one_node_until_dropped_or_its_node_ends() {
    let db = TempDatabase::create().await.unwrap();
    let a = connect(&db).await;
    let b = connect(&db).await;
    let held = a.try_lock_job("deadline-scan").await.unwrap().expect("free at first");
    assert!(b.try_lock_job("deadline-scan").await.unwrap().is_none());
    assert!(a.try_lock_job("deadline-scan").await.unwrap().is_none(), "not twice on one node either");
    assert!(b.try_lock_job("outbox").await.unwrap().is_some(), "other jobs are free");
    drop(held);
    let by_b = lock_eventually(&b, "deadline-scan").await;
    drop(by_b);

    // The whole store goes, with the lock.
    let held = lock_eventually(&a, "deadline-scan").await;
    drop(a);
    drop(held);
    let by_b = lock_eventually(&b, "deadline-scan").await;
    drop(by_b);

    // A node dies: its session ends and the server releases the lock.
    let c = connect(&db).await;
    let _held_by_c = lock_eventually(&c, "deadline-scan").await;
    assert!(b.try_lock_job("deadline-scan").await.unwrap().is_none());
    let admin = raw(&db).await;
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap();
    drop(lock_eventually(&b, "deadline-scan").await);

    // Unlocked connections went back to the pool holding nothing.
    for _ in 0..20 {
        let lock = lock_eventually(&b, "outbox").await;
        drop(lock);
    }
    drop((b, c));
}

async fn receive(rx: &mut tokio::sync::broadcast::Receiver<Signal>) -> Signal {
    tokio::time::timeout(Duration::from_secs(1), rx.recv()).await.expect("a signal within 1 s").unwrap()
}

#[tokio::test]
async fn signals_reach_the_other_nodes_and_not_their_sender() {
    let db = TempDatabase::create().await.unwrap();
    let a = connect(&db).await;
    let b = connect(&db).await;
    let mut at_a = a.subscribe_signals().unwrap();
    let mut at_b = b.subscribe_signals().unwrap();
    let changed = Signal::RequestChanged("ZS20260302000001".into());
    a.announce(changed.clone()).await.unwrap();
    assert_eq!(receive(&mut at_b).await, changed);
    // A's own signal came first on A's listener; the first A hears is B's.
    b.announce(Signal::CatalogChanged).await.unwrap();
    assert_eq!(receive(&mut at_a).await, Signal::CatalogChanged);
    // B's own signal came before A's next one on B's listener; B hears A's.
    a.announce(Signal::RulesChanged).await.unwrap();
    assert_eq!(receive(&mut at_b).await, Signal::RulesChanged);
    assert!(at_a.try_recv().is_err() && at_b.try_recv().is_err());
}

#[tokio::test]
async fn the_signal_listener_reconnects_and_resyncs() {
    let db = TempDatabase::create().await.unwrap();
    let a = connect(&db).await;
    let b = connect(&db).await;
    let mut at_b = b.subscribe_signals().unwrap();
    raw(&db)
        .await
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await
        .unwrap();
    // Whatever was missed meanwhile, the catalogue-wide signals say "reload".
    let first = tokio::time::timeout(Duration::from_secs(3), at_b.recv()).await.expect("a resync").unwrap();
    assert_eq!(first, Signal::CatalogChanged);
    a.announce(Signal::RulesChanged).await.unwrap();
    let mut heard = Vec::new();
    while heard.len() < 4 {
        heard.push(receive(&mut at_b).await);
    }
    assert_eq!(
        heard,
        vec![Signal::RulesChanged, Signal::CalendarChanged, Signal::SettingsChanged, Signal::RulesChanged]
    );
}

#[tokio::test]
async fn migrations_run_once_and_again_are_a_no_op() {
    let db = TempDatabase::create().await.unwrap();
    // Three nodes starting at once.
    let (a, b, c) = tokio::join!(connect(&db), connect(&db), connect(&db));
    a.upsert_unit(NewUnit {
        code: "city".into(),
        name: "市".into(),
        short_name: None,
        kind: UnitKind::City,
        parent_code: None,
    })
    .await
    .unwrap();
    drop((a, b, c));
    let again = connect(&db).await;
    assert_eq!(again.list_units().await.unwrap().len(), 1);
    let versions: Vec<i64> = raw(&db)
        .await
        .query("SELECT version FROM schema_migrations ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // A migration's version is its file's number (numbers may leave gaps between branches).
    let mut files: Vec<i64> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..4].parse().unwrap())
        .collect();
    files.sort_unstable();
    assert_eq!(versions, files, "each migration once, in order");
}

#[tokio::test]
async fn rollups_written_by_concurrent_nodes_equal_a_rebuild() {
    use mashangban_domain::scoring::{Period, ScoreOptions};
    use mashangban_store::ScoringStore;
    let f = Arc::new(fixture().await);
    let other = connect(&f.db).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let f = Arc::clone(&f);
        let store = if i % 2 == 0 { f.store.clone() } else { other.clone() };
        tasks.spawn(async move {
            let r =
                store.intake(new_request(&f, false, i % 3 == 0, None), &Actor::PublicAsker, &meta(i)).await.unwrap();
            let lead = f.units[(i % 3) as usize];
            let dispatch = Action::Dispatch { lead, co: vec![], comment: None };
            store.act(command(&r.tracking_no, staff(Role::Dispatcher, f.units[0]), dispatch, i + 1)).await.unwrap();
            let sign = command(&r.tracking_no, staff(Role::Handler, lead), Action::SignFor { comment: None }, i + 30);
            store.act(sign).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let period = Period::new(day("2026-03-01"), day("2026-03-31")).unwrap();
    let live = f.store.score_report(period, ScoreOptions::default()).await.unwrap();
    assert_eq!(live.city.counters.assigned, 60, "{:?}", live.city.counters);
    f.store.rebuild_scoring().await.unwrap();
    assert_eq!(other.score_report(period, ScoreOptions::default()).await.unwrap(), live);

    // The dashboard's changes, appended by both nodes and folded on read, equal a rebuild from the requests.
    use mashangban_store::{DashboardQuery, DashboardStore};
    let q = DashboardQuery { period, options: Default::default() };
    let folded = other.dashboard(q).await.unwrap();
    assert_eq!(folded.totals.received, 60, "{:?}", folded.totals);
    f.store.rebuild_dashboard().await.unwrap();
    assert_eq!(f.store.dashboard(q).await.unwrap(), folded);
}

/// The web layer, unchanged, on PostgreSQL: a public intake, a dispatch and
/// a sign-for through the HTTP API, and the asker's progress page.
#[tokio::test]
async fn the_web_layer_runs_unchanged_on_postgres() {
    use serde_json::{Value, json};
    let db = TempDatabase::create().await.unwrap();
    let store = connect(&db).await;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&store, &data).await.unwrap();
    let password = "test-password-1";
    let hash = mashangban_web::auth::hash_password(password).unwrap();
    mashangban_demo::load_users(&store, &data, &hash).await.unwrap();
    let state = mashangban_web::AppState::new(store.clone(), mashangban_web::WebConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mashangban_web::serve(listener, state, std::future::pending()));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, cookie: Option<&str>, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}{path}"));
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let cookie =
                res.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
            (status, res.json::<Value>().await.unwrap_or(Value::Null), cookie)
        }
    };
    let login = |username: &'static str| {
        let body = json!({ "username": username, "password": password });
        let call = &call;
        async move { call(reqwest::Method::POST, "/api/v1/auth/login", None, Some(body)).await.2.unwrap() }
    };
    let intake = json!({
        "kind": "complaint",
        "channel": "mobile",
        "asker": { "type": "resident" },
        "contact": { "name": "李伟明", "phone": "13912345678" },
        "title": "路灯不亮",
        "content": "小榄镇升平路路灯连续一周不亮，夜间出行不便。",
        "category": "biz.change",
        "town": "xiaolan"
    });
    let (status, answer, _) = call(reqwest::Method::POST, "/api/v1/public/requests", None, Some(intake)).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{answer}");
    let no = answer["tracking_no"].as_str().unwrap().to_owned();
    let code = answer["check_code"].as_str().unwrap().to_owned();
    let dispatcher = login("dispatcher").await;
    let dispatch = json!({ "lead_unit": "scjgj" });
    let (status, answer, _) =
        call(reqwest::Method::POST, &format!("/api/v1/requests/{no}/dispatch"), Some(&dispatcher), Some(dispatch))
            .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    let handler = login("handler").await;
    let (status, answer, _) =
        call(reqwest::Method::POST, &format!("/api/v1/requests/{no}/sign"), Some(&handler), Some(json!({}))).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    assert_eq!(answer["request"]["state"], "signed_for");
    let (status, view, _) =
        call(reqwest::Method::GET, &format!("/api/v1/public/requests/{no}?code={code}"), None, None).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{view}");
    let request = store.find(&no, &Scope::All).await.unwrap().unwrap();
    assert_eq!(store.history(request.id).await.unwrap().len(), 3);
}

// ---- properties -------------------------------------------------------------------

fn actors(units: &[i64]) -> Vec<Actor> {
    vec![
        staff(Role::Operator, units[0]),
        staff(Role::Dispatcher, units[0]),
        staff(Role::Handler, units[0]),
        staff(Role::Handler, units[1]),
        staff(Role::Supervisor, units[0]),
        Actor::PublicAsker,
    ]
}

fn actions(units: &[i64]) -> Vec<Action> {
    vec![
        Action::Dispatch { lead: units[0], co: vec![units[2]], comment: None },
        Action::Dispatch { lead: 9999, co: vec![], comment: None },
        Action::SignFor { comment: None },
        Action::Return { reason: "不属于本单位".into() },
        Action::Redispatch { lead: units[1], co: vec![], comment: None, due: None },
        Action::RefuseReturn { reason: "属于贵单位".into(), due: None },
        Action::StageReply { content: "核查中".into() },
        Action::RequestExtension { requested_due: t0() + Span::days(40), reason: "需核查".into() },
        Action::ApproveExtension { comment: None },
        Action::Reply { content: "已办理".into() },
        Action::Close { comment: None },
        Action::FollowUp { rating: Rating::Dissatisfied, resolved: false, comment: None },
        Action::Reopen { reason: "不满意".into() },
        Action::Withdraw { reason: None },
        Action::Archive,
    ]
}

/// One database for all cases (a database per case would be slow); each case
/// works on requests of its own.
fn with_fixture(cases: u32, mut body: impl FnMut(&tokio::runtime::Runtime, &Fixture, &mut TestRunner)) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let f = runtime.block_on(fixture());
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    body(&runtime, &f, &mut runner);
    runtime.block_on(async move { drop(f) });
}

/// Through the real store: a refused action leaves the row and the history
/// exactly as they were; a taken one adds exactly one event.
#[test]
fn refused_actions_change_nothing_in_the_database() {
    with_fixture(24, |runtime, f, runner| {
        let strategy = prop::collection::vec((0usize..6, 0usize..15), 1..25);
        runner
            .run(&strategy, |steps| {
                runtime.block_on(async {
                    let r = f
                        .store
                        .intake(new_request(f, false, false, None), &Actor::PublicAsker, &meta(0))
                        .await
                        .unwrap();
                    let (actors, actions) = (actors(&f.units), actions(&f.units));
                    for (i, (a, b)) in steps.into_iter().enumerate() {
                        let before = f.store.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
                        let history = f.store.history(r.id).await.unwrap();
                        let cmd = command(&r.tracking_no, actors[a].clone(), actions[b].clone(), i as i64 + 1);
                        let result = f.store.act(cmd).await;
                        let after = f.store.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
                        let history_after = f.store.history(r.id).await.unwrap();
                        match result {
                            Ok(returned) => {
                                assert_eq!(returned, after);
                                assert_eq!(history_after.len(), history.len() + 1);
                                assert_eq!(history_after.last().unwrap().to_state, after.state);
                            }
                            Err(StoreError::Backend(e)) => panic!("backend error: {e}"),
                            Err(_) => {
                                assert_eq!(after, before);
                                assert_eq!(history_after, history);
                            }
                        }
                    }
                });
                Ok(())
            })
            .unwrap();
    });
}

/// The scope rule in SQL agrees with the domain's reference rule, over every
/// request the cases have written so far.
#[test]
fn sql_scope_agrees_with_the_domain_rule() {
    with_fixture(16, |runtime, f, runner| {
        let shapes = prop::collection::vec((0usize..4, 0usize..4, any::<bool>(), any::<bool>(), 0usize..3), 1..8);
        runner
            .run(&(shapes, 0usize..6), |(shapes, viewer)| {
                runtime.block_on(async {
                    let dispatcher = staff(Role::Dispatcher, f.units[0]);
                    for (i, (lead, co, enterprise, town, submitter)) in shapes.iter().enumerate() {
                        let submitted_by = [None, Some(7), Some(8)][*submitter];
                        let new = new_request(f, *enterprise, *town, submitted_by);
                        let r = f.store.intake(new, &Actor::PublicAsker, &meta(i as i64)).await.unwrap();
                        if *lead < 3 {
                            let co = if *co < 3 && co != lead { vec![f.units[*co]] } else { vec![] };
                            let dispatch = Action::Dispatch { lead: f.units[*lead], co, comment: None };
                            f.store.act(command(&r.tracking_no, dispatcher.clone(), dispatch, i as i64)).await.unwrap();
                        }
                    }
                    let scopes = [
                        Scope::Units { units: vec![f.units[0]], town: None },
                        Scope::Units { units: vec![f.units[1], f.units[2]], town: None },
                        Scope::Units { units: vec![f.units[2]], town: Some(f.town) },
                        Scope::Asker { user_id: 7, credit_code: None },
                        Scope::Asker { user_id: 8, credit_code: Some("91350100M000100Y43".into()) },
                        Scope::Nothing,
                    ];
                    let scope = &scopes[viewer];
                    let everything = f.store.list(&all(500), &Scope::All).await.unwrap().items;
                    let visible = f.store.list(&all(500), scope).await.unwrap().items;
                    let expected: Vec<_> =
                        everything.iter().filter(|r| scope.permits(&r.scope_facts())).map(|r| r.id).collect();
                    let got: Vec<_> = visible.iter().map(|r| r.id).collect();
                    assert_eq!(got, expected);
                    for r in everything.iter().take(20) {
                        let found = f.store.find(&r.tracking_no, scope).await.unwrap();
                        assert_eq!(found.is_some(), scope.permits(&r.scope_facts()));
                    }
                });
                Ok(())
            })
            .unwrap();
    });
}

// ---- the same answers as the SQLite store ---------------------------------------------

/// Units, town and category of a fresh store, the same in every backend.
async fn setup<S: mashangban_store::Store>(store: &S) -> (Vec<i64>, i64, i64) {
    let unit = |code: &str, kind: UnitKind, parent: Option<&str>| NewUnit {
        code: code.into(),
        name: format!("单位{code}"),
        short_name: None,
        kind,
        parent_code: parent.map(str::to_owned),
    };
    store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let mut units = Vec::new();
    for code in ["a", "b", "c"] {
        units.push(store.upsert_unit(unit(code, UnitKind::Department, Some("city"))).await.unwrap().id);
    }
    let town = store.upsert_unit(unit("t", UnitKind::Town, Some("city"))).await.unwrap().id;
    let category = NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: Some("a".into()),
        keywords: vec![],
    };
    (units, town, store.upsert_category(category).await.unwrap().id)
}

/// Every action a step may take, including the side paths.
fn parity_actions(units: &[i64], parent: i64) -> Vec<Action> {
    let mut all = actions(units);
    all.extend([
        Action::Supervise { instructions: "限期办结".into(), due: t0() + Span::days(3) },
        Action::Urge { message: "请加快办理".into() },
        Action::Suspend { reason: "等待第三方检测".into() },
        Action::Resume { comment: None },
        Action::Merge { parent_id: parent },
    ]);
    all
}

fn outcome(
    result: Result<mashangban_domain::request::Request, StoreError>,
) -> Result<mashangban_domain::request::Request, String> {
    result.map_err(|e| match e {
        StoreError::Domain(e) => e.code.to_string(),
        StoreError::Backend(e) => panic!("backend error: {e}"),
    })
}

/// The same steps on a SQLite and a PostgreSQL store give the same answers,
/// the same rows and histories, and the same lists in both orders.
#[test]
fn answers_equal_those_of_the_sqlite_store() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut runner = TestRunner::new(Config { cases: 8, ..Config::default() });
    let requests = prop::collection::vec((any::<bool>(), any::<bool>(), 1i64..40), 3..7);
    let steps = prop::collection::vec((0usize..6, 0usize..6, 0usize..20), 1..40);
    runner
        .run(&(requests, steps), |(requests, steps)| {
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let lite = mashangban_store_sqlite::open(&dir.path().join("p.db"), Default::default()).unwrap();
                let db = TempDatabase::create().await.unwrap();
                let pg = connect(&db).await;
                let (units, town, category) = setup(&lite).await;
                assert_eq!(setup(&pg).await, (units.clone(), town, category));
                let hook = mashangban_store::NewWebhook {
                    name: "伙伴".into(),
                    url: "https://p.example/h".into(),
                    secret: "s".into(),
                    events: vec![],
                };
                let handler = NewUser {
                    username: "handler".into(),
                    display_name: "办理人".into(),
                    role: Role::Handler,
                    unit_id: Some(units[0]),
                    credit_code: None,
                    phone: None,
                    password_hash: "x".into(),
                };
                lite.enable_notifications("https://12345.example.gov.cn").await.unwrap();
                pg.enable_notifications("https://12345.example.gov.cn").await.unwrap();
                lite.create_webhook(hook.clone(), t0()).await.unwrap();
                pg.create_webhook(hook, t0()).await.unwrap();
                lite.create_user(handler.clone(), mashangban_store::AccountBy::named("测试")).await.unwrap();
                pg.create_user(handler, mashangban_store::AccountBy::named("测试")).await.unwrap();
                lite.set_user_email(
                    "handler",
                    Some("h@a.example.cn".into()),
                    mashangban_store::AccountBy::named("测试"),
                )
                .await
                .unwrap();
                pg.set_user_email("handler", Some("h@a.example.cn".into()), mashangban_store::AccountBy::named("测试"))
                    .await
                    .unwrap();
                let mut numbers = Vec::new();
                for (i, (enterprise, in_town, due_days)) in requests.iter().enumerate() {
                    let new = NewRequest {
                        due_at: Some(t0() + Span::days(*due_days)),
                        ..request_in(category, in_town.then_some(town), *enterprise, Some(7))
                    };
                    let a = lite.intake(new.clone(), &Actor::PublicAsker, &meta(i as i64)).await.unwrap();
                    let b = pg.intake(new, &Actor::PublicAsker, &meta(i as i64)).await.unwrap();
                    assert_eq!(a, b);
                    numbers.push(a.tracking_no);
                }
                let parent = lite.find(&numbers[0], &Scope::All).await.unwrap().unwrap().id;
                let (actors, actions) = (actors(&units), parity_actions(&units, parent));
                // A replied, a suspended and a supervised request first, then random steps.
                let last = numbers.len() - 1;
                let prefix = [(0, 1, 0), (0, 2, 2), (0, 2, 9), (1, 1, 0), (1, 2, 2), (1, 2, 17), (last, 4, 15)];
                for (i, (r, a, b)) in prefix.into_iter().chain(steps).enumerate() {
                    let no = &numbers[r % numbers.len()];
                    let cmd = command(no, actors[a].clone(), actions[b].clone(), 100 + i as i64);
                    assert_eq!(outcome(lite.act(cmd.clone()).await), outcome(pg.act(cmd).await), "step {i}");
                }
                for no in &numbers {
                    let a = lite.find(no, &Scope::All).await.unwrap().unwrap();
                    assert_eq!(Some(&a), pg.find(no, &Scope::All).await.unwrap().as_ref());
                    assert_eq!(lite.history(a.id).await.unwrap(), pg.history(a.id).await.unwrap());
                }
                let filters = [
                    ListFilter { limit: 3, ..ListFilter::default() },
                    ListFilter { limit: 50, order: mashangban_store::ListOrder::Deadline, ..ListFilter::default() },
                    ListFilter { limit: 50, unit_id: Some(units[0]), ..ListFilter::default() },
                    ListFilter { limit: 50, overdue_at: Some(t0() + Span::days(20)), ..ListFilter::default() },
                    ListFilter { limit: 50, supervised: true, pending_extension: false, ..ListFilter::default() },
                    ListFilter {
                        limit: 50,
                        states: vec![mashangban_domain::request::State::Dispatched],
                        ..ListFilter::default()
                    },
                ];
                for filter in &filters {
                    let (a, b) =
                        (lite.list(filter, &Scope::All).await.unwrap(), pg.list(filter, &Scope::All).await.unwrap());
                    assert_eq!((a.items, a.next_cursor), (b.items, b.next_cursor), "{filter:?}");
                }
                let outbox = |items: Vec<mashangban_store::OutboxItem>| -> Vec<String> {
                    items
                        .into_iter()
                        .map(|i| {
                            format!(
                                "{} {} {} {:?} {:?} {}",
                                i.id, i.idempotency_key, i.recipient, i.template_key, i.subject, i.body
                            )
                        })
                        .collect()
                };
                let lite_outbox = outbox(lite.list_outbox(None, 1000).await.unwrap());
                assert!(!lite_outbox.is_empty());
                assert_eq!(lite_outbox, outbox(pg.list_outbox(None, 1000).await.unwrap()));
                use mashangban_store::ScoringStore;
                let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
                let march = mashangban_domain::scoring::Period::new(day("2026-03-01"), day("2026-03-31")).unwrap();
                let options = mashangban_domain::scoring::ScoreOptions::default();
                assert_eq!(
                    lite.score_report(march, options).await.unwrap(),
                    pg.score_report(march, options).await.unwrap()
                );
                use mashangban_store::{DashboardQuery, DashboardStore};
                let spring = mashangban_domain::scoring::Period::new(day("2026-01-01"), day("2026-06-30")).unwrap();
                for period in [march, spring] {
                    let q = DashboardQuery { period, options: Default::default() };
                    assert_eq!(lite.dashboard(q).await.unwrap(), pg.dashboard(q).await.unwrap(), "{period:?}");
                }
                let until = t0() + Span::days(60);
                assert_eq!(
                    lite.deadline_candidates(until, 0, 50).await.unwrap(),
                    pg.deadline_candidates(until, 0, 50).await.unwrap()
                );
                drop(pg);
            });
            Ok(())
        })
        .unwrap();
}
