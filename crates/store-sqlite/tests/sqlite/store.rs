//! The SQLite store against a real database file: atomic actions, refused
//! actions that change nothing, scope in SQL agreeing with the domain's rule,
//! group commit under concurrency, readers that survive a panicking job,
//! online backup, and the dashboard rollups against a direct count over the
//! requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Barrier};

use chrono::Duration;
use proptest::prelude::*;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Role, Scope, StaffActor, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, Rating, RequestKind, Urgency};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_domain::validation::{CreditCode, Phone};
use mashangban_store::{
    CatalogStore, Command, DashboardQuery, DashboardStore, ListFilter, Meta, NewCategory, NewUnit, OrgStore,
    RequestStore, StoreError, StoreResult,
};
use mashangban_store_sqlite::{Db, SqliteOptions, SqliteStore};

struct Fixture {
    store: SqliteStore,
    units: Vec<i64>,
    town: i64,
    category: i64,
    _dir: tempfile::TempDir,
}

fn t0() -> Instant {
    parse_instant("2026-03-02T09:00:00+08:00").unwrap()
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = mashangban_store_sqlite::open(&dir.path().join("s.db"), SqliteOptions::default()).unwrap();
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
    Fixture { store, units, town, category, _dir: dir }
}

fn new_request(f: &Fixture, enterprise: bool, town: bool, submitted_by: Option<i64>) -> NewRequest {
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
        category_id: f.category,
        location: Location { town_id: town.then_some(f.town), address: None, point: None },
        ledger_ref: None,
        check_code: "12345678".into(),
        submitted_by,
        due_at: Some(t0() + Duration::days(15)),
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
    Meta { now: t0() + Duration::minutes(minutes), client_ip: Some("127.0.0.1".into()) }
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

#[tokio::test]
async fn backup_is_a_consistent_copy_that_opens() {
    let f = fixture().await;
    let r = f.store.intake(new_request(&f, true, true, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let outcome = f.store.database().backup(&copy).await.unwrap();
    assert!(outcome.bytes > 0 && outcome.removed_leftover.is_none());
    assert!(!dir.path().join("backup.db.partial").exists(), "the temporary name is gone");
    assert!(f.store.database().backup(&copy).await.is_err(), "never overwrites");
    let restored = mashangban_store_sqlite::open(&copy, SqliteOptions::default()).unwrap();
    let found = restored.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
    assert_eq!(found, r);
    assert_eq!(restored.history(r.id).await.unwrap().len(), 1);
}

/// A read job that panics or fails answers its caller with an error, and
/// every one of the readers goes on serving: each reader is made to panic
/// once (inside a transaction it leaves open), then all of them serve at once.
#[tokio::test]
async fn a_panicking_or_failing_read_leaves_every_reader_serving() {
    const READERS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("readers.db"), READERS).unwrap();
    let failed = db.read(|_| -> StoreResult<i64> { Err(StoreError::backend("refused")) }).await;
    assert!(failed.unwrap_err().to_string().contains("refused"));

    // The barrier holds each job until all are running, so each reader takes exactly one.
    let all_at_once = Arc::new(Barrier::new(READERS));
    let panics = on_every_reader(&db, READERS, &all_at_once, |conn| {
        conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;").unwrap();
        panic!("a read job that panics");
    });
    for answer in within_ten_seconds(panics).await {
        assert!(answer.unwrap_err().to_string().contains("panicked"));
    }
    let served = on_every_reader(&db, READERS, &all_at_once, |conn| {
        assert!(conn.is_autocommit(), "the panicked job's transaction was ended");
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0)).map_err(StoreError::backend)
    });
    for answer in within_ten_seconds(served).await {
        answer.unwrap();
    }
    // A reader answers before it counts itself idle again: give the last ones a moment to.
    let settled = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut figures = db.reader_figures();
    while figures.idle < READERS as u64 && std::time::Instant::now() < settled {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        figures = db.reader_figures();
    }
    assert_eq!((figures.open, figures.idle, figures.waiting), (READERS as u64, READERS as u64, 0));
}

/// Runs `job` as `n` concurrent reads, each starting once all `n` run.
fn on_every_reader(
    db: &Db,
    n: usize,
    all_at_once: &Arc<Barrier>,
    job: fn(&rusqlite::Connection) -> StoreResult<i64>,
) -> Vec<tokio::task::JoinHandle<StoreResult<i64>>> {
    (0..n)
        .map(|_| {
            let (db, all_at_once) = (db.clone(), Arc::clone(all_at_once));
            tokio::spawn(async move {
                db.read(move |conn| {
                    all_at_once.wait();
                    job(conn)
                })
                .await
            })
        })
        .collect()
}

/// The answers of `reads`; a reader that stopped serving fails the test instead of hanging it.
async fn within_ten_seconds(reads: Vec<tokio::task::JoinHandle<StoreResult<i64>>>) -> Vec<StoreResult<i64>> {
    let mut answers = Vec::new();
    for read in reads {
        answers.push(tokio::time::timeout(std::time::Duration::from_secs(10), read).await.unwrap().unwrap());
    }
    answers
}

fn rusqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

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
        Action::RequestExtension { requested_due: t0() + Duration::days(40), reason: "需核查".into() },
        Action::ApproveExtension { comment: None },
        Action::Reply { content: "已办理".into() },
        Action::Close { comment: None },
        Action::FollowUp { rating: Rating::Dissatisfied, resolved: false, comment: None },
        Action::Reopen { reason: "不满意".into() },
        Action::Withdraw { reason: None },
        Action::Archive,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Through the real store: a refused action leaves the row and the history
    /// exactly as they were; a taken one adds exactly one event.
    #[test]
    fn refused_actions_change_nothing_in_the_database(steps in prop::collection::vec((0usize..6, 0usize..15), 1..25)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture().await;
            let r = f.store.intake(new_request(&f, false, false, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
            let actors = actors(&f.units);
            let actions = actions(&f.units);
            for (i, (a, b)) in steps.into_iter().enumerate() {
                let before = f.store.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
                let history = f.store.history(r.id).await.unwrap();
                let result = f.store.act(command(&r.tracking_no, actors[a].clone(), actions[b].clone(), i as i64 + 1)).await;
                let after = f.store.find(&r.tracking_no, &Scope::All).await.unwrap().unwrap();
                let history_after = f.store.history(r.id).await.unwrap();
                match result {
                    Ok(returned) => {
                        assert_eq!(returned, after);
                        assert_eq!(history_after.len(), history.len() + 1);
                        assert_eq!(history_after.last().unwrap().to_state, after.state);
                    }
                    Err(_) => {
                        assert_eq!(after, before);
                        assert_eq!(history_after, history);
                    }
                }
            }
        });
    }

    /// The scope rule in SQL agrees with the domain's reference rule.
    #[test]
    fn sql_scope_agrees_with_the_domain_rule(
        shapes in prop::collection::vec((0usize..4, 0usize..4, any::<bool>(), any::<bool>(), 0usize..3), 1..12),
        viewer in 0usize..6,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture().await;
            let dispatcher = staff(Role::Dispatcher, f.units[0]);
            for (i, (lead, co, enterprise, town, submitter)) in shapes.iter().enumerate() {
                let submitted_by = [None, Some(7), Some(8)][*submitter];
                let r = f.store.intake(new_request(&f, *enterprise, *town, submitted_by), &Actor::PublicAsker, &meta(i as i64)).await.unwrap();
                if *lead < 3 {
                    let co = if *co < 3 && co != lead { vec![f.units[*co]] } else { vec![] };
                    f.store
                        .act(command(&r.tracking_no, dispatcher.clone(), Action::Dispatch { lead: f.units[*lead], co, comment: None }, i as i64))
                        .await
                        .unwrap();
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
            let all = f.store.list(&ListFilter { limit: 500, ..ListFilter::default() }, &Scope::All).await.unwrap().items;
            let visible = f.store.list(&ListFilter { limit: 500, ..ListFilter::default() }, scope).await.unwrap().items;
            let expected: Vec<_> = all.iter().filter(|r| scope.permits(&r.scope_facts())).map(|r| r.id).collect();
            let got: Vec<_> = visible.iter().map(|r| r.id).collect();
            assert_eq!(got, expected);
            for r in &all {
                let found = f.store.find(&r.tracking_no, scope).await.unwrap();
                assert_eq!(found.is_some(), scope.permits(&r.scope_facts()));
            }
        });
    }
}

// ---- dashboard rollups -------------------------------------------------------

/// Per key: received, closed, closed with a deadline, closed on time, satisfied, rated.
type Counts = std::collections::BTreeMap<String, [i64; 6]>;

/// The dimensions and the SQL expression of their key over the requests table.
const DIMENSIONS: [(&str, &str); 5] = [
    ("total", "''"),
    ("unit", "CAST(COALESCE(lead_unit_id, '') AS TEXT)"),
    ("town", "CAST(COALESCE(town_id, '') AS TEXT)"),
    ("kind", "kind"),
    ("category", "CAST(category_id AS TEXT)"),
];

/// The figures of one dimension counted straight from the requests table.
fn direct_counts(conn: &rusqlite::Connection, key: &str, from: &str, to: &str) -> Counts {
    let mut out = Counts::new();
    let received =
        format!("SELECT {key}, COUNT(*) FROM requests WHERE substr(received_at, 1, 10) BETWEEN ?1 AND ?2 GROUP BY 1");
    let mut stmt = conn.prepare(&received).unwrap();
    for row in stmt.query_map([from, to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).unwrap() {
        let (k, n) = row.unwrap();
        out.entry(k).or_default()[0] = n;
    }
    let closed = format!(
        "SELECT {key}, COUNT(*), COUNT(due_at), COALESCE(SUM(closed_at <= due_at), 0),
            COALESCE(SUM(rating IN ('very_satisfied', 'satisfied', 'fairly_satisfied')), 0), COUNT(rating)
         FROM requests WHERE closed_at IS NOT NULL AND substr(closed_at, 1, 10) BETWEEN ?1 AND ?2 GROUP BY 1"
    );
    let mut stmt = conn.prepare(&closed).unwrap();
    let rows = stmt
        .query_map([from, to], |r| {
            Ok((r.get::<_, String>(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))
        })
        .unwrap();
    for row in rows {
        let (k, [c, wd, ot, sat, rated]) = row.unwrap();
        let e = out.entry(k).or_default();
        e[1..].copy_from_slice(&[c, wd, ot, sat, rated]);
    }
    out
}

fn figures_counts(f: &mashangban_domain::dashboard::Figures) -> [i64; 6] {
    [
        f.received,
        f.closed,
        f.on_time.denominator,
        f.on_time.numerator,
        f.satisfaction.numerator,
        f.satisfaction.denominator,
    ]
}

/// The dashboard's figures of one dimension, in the same shape.
fn dashboard_counts(d: &mashangban_domain::dashboard::Dashboard, dim: &str) -> Counts {
    let slices = match dim {
        "total" => {
            return [(String::new(), figures_counts(&d.totals))].into_iter().filter(|(_, v)| v != &[0; 6]).collect();
        }
        "unit" => &d.units,
        "town" => &d.towns,
        "kind" => &d.kinds,
        _ => &d.categories,
    };
    slices.iter().map(|s| (s.key.clone(), figures_counts(&s.figures))).collect()
}

async fn assert_dashboard_matches_requests(f: &Fixture, conn: &rusqlite::Connection) {
    let periods = [
        ("2026-03-01", "2026-03-31"),
        ("2026-03-02", "2026-03-02"),
        ("2026-02-15", "2027-01-20"),
        ("2025-12-01", "2028-06-30"),
    ];
    for (from, to) in periods {
        let period = mashangban_domain::scoring::Period::new(from.parse().unwrap(), to.parse().unwrap()).unwrap();
        let d = f.store.dashboard(DashboardQuery { period, options: Default::default() }).await.unwrap();
        for (dim, key) in DIMENSIONS {
            assert_eq!(dashboard_counts(&d, dim), direct_counts(conn, key, from, to), "{dim} over {from}..{to}");
        }
        let trend_received: i64 = d.trend.iter().map(|p| p.figures.received).sum();
        let trend_closed: i64 = d.trend.iter().map(|p| p.figures.closed).sum();
        assert_eq!((trend_received, trend_closed), (d.totals.received, d.totals.closed), "trend over {from}..{to}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// After any mix of actions on several requests over months (each taken
    /// by the role that may take it, so requests get closed, late or on time,
    /// rated and reopened), the rollups give exactly what a count over the
    /// requests table gives, before and after a rebuild.
    #[test]
    fn dashboard_rollups_equal_a_direct_count_over_the_requests(
        shapes in prop::collection::vec((any::<bool>(), any::<bool>()), 1..5),
        steps in prop::collection::vec((0usize..5, 0usize..30, 0i64..12_000), 1..60),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let f = fixture().await;
            let mut requests = Vec::new();
            for (i, (enterprise, town)) in shapes.iter().enumerate() {
                let r = f.store.intake(new_request(&f, *enterprise, *town, None), &Actor::PublicAsker, &meta(i as i64 * 700)).await.unwrap();
                requests.push(r.tracking_no);
            }
            let mut actions = actions(&f.units);
            actions.push(Action::FollowUp { rating: Rating::Satisfied, resolved: true, comment: None });
            actions.push(Action::FollowUp { rating: Rating::FairlySatisfied, resolved: true, comment: None });
            let mut minutes = 0;
            for (r, b, wait) in steps {
                minutes += wait;
                let no = &requests[r % requests.len()];
                let current = f.store.find(no, &Scope::All).await.unwrap().unwrap();
                // Most steps take the request on its way (so many get closed); the others are any action.
                let action = actions.get(b).cloned().unwrap_or_else(|| next_action(current.state, b, &f.units));
                let actor = actor_for(&action, current.lead_unit_id, &f.units);
                let _ = f.store.act(command(no, actor, action, minutes)).await;
            }
            let conn = rusqlite_open(&f._dir.path().join("s.db"));
            assert_dashboard_matches_requests(&f, &conn).await;
            let summary = f.store.rebuild_dashboard().await.unwrap();
            assert_eq!(summary.requests, requests.len() as u64);
            assert_dashboard_matches_requests(&f, &conn).await;
        });
    }
}

/// The next step of a request's ordinary way; `pick` varies the rating.
fn next_action(state: mashangban_domain::request::State, pick: usize, units: &[i64]) -> Action {
    use mashangban_domain::request::State as S;
    let ratings = [
        Rating::VerySatisfied,
        Rating::Satisfied,
        Rating::FairlySatisfied,
        Rating::Dissatisfied,
        Rating::VeryDissatisfied,
    ];
    match state {
        S::Received => Action::Dispatch { lead: units[pick % 2], co: vec![], comment: None },
        S::Dispatched => Action::SignFor { comment: None },
        S::SignedFor | S::InProgress => Action::Reply { content: "已办理".into() },
        S::Replied => Action::Close { comment: None },
        S::Closed => {
            Action::FollowUp { rating: ratings[pick % ratings.len()], resolved: !pick.is_multiple_of(3), comment: None }
        }
        S::FollowedUp => Action::Reopen { reason: "不满意".into() },
        _ => Action::Archive,
    }
}

/// The role that takes an action: the lead unit's handler, the operator for
/// follow-ups, the asker for withdrawals, else the dispatcher.
fn actor_for(action: &Action, lead: Option<i64>, units: &[i64]) -> Actor {
    match action {
        Action::SignFor { .. }
        | Action::Return { .. }
        | Action::StageReply { .. }
        | Action::RequestExtension { .. }
        | Action::Reply { .. } => staff(Role::Handler, lead.unwrap_or(units[0])),
        Action::FollowUp { .. } => staff(Role::Operator, units[0]),
        Action::Withdraw { .. } => Actor::PublicAsker,
        _ => staff(Role::Dispatcher, units[0]),
    }
}

#[tokio::test]
async fn a_database_from_before_the_dashboard_is_backfilled_on_first_use() {
    let f = fixture().await;
    f.store.intake(new_request(&f, false, true, None), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let path = f._dir.path().join("s.db");
    let conn = rusqlite_open(&path);
    conn.execute_batch("DELETE FROM dash_days; DELETE FROM dash_months; INSERT INTO dash_meta (key, value) VALUES ('rebuild_needed', 1);")
        .unwrap();
    let period =
        mashangban_domain::scoring::Period::new("2026-03-01".parse().unwrap(), "2026-03-31".parse().unwrap()).unwrap();
    let d = f.store.dashboard(DashboardQuery { period, options: Default::default() }).await.unwrap();
    assert_eq!(d.totals.received, 1);
    assert_eq!(d.towns.len(), 1);
    let flag: i64 = conn.query_row("SELECT COUNT(*) FROM dash_meta", [], |r| r.get(0)).unwrap();
    assert_eq!(flag, 0);
}
