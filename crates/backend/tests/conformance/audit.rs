//! Tamper-evident history: every event is sealed in its own transaction,
//! events older than the seals are sealed once, anchors digest the heads, and
//! verification names an altered event, an event written past the platform
//! and a broken anchor.

use mashangban_domain::audit::Problem;
use mashangban_domain::org::{Role, Scope};
use mashangban_domain::time::parse_instant;
use mashangban_store::{AuditStore, ListFilter, NewApiToken, OrgStore, RequestStore};
use mashangban_store_sql::{Dialect, SqlStore};

use crate::support::{TestDb, execute, texts};

on_both!(a_platform_history_verifies_and_tampering_is_named);
on_both!(ledger_histories_are_sealed_and_tampering_is_named);
on_both!(the_other_histories_are_sealed_and_tampering_is_named);
on_both!(anchors_cover_the_other_histories_so_a_deleted_record_shows);

/// Lets the test change what the platform never changes, as an attacker with the database would.
async fn allow_tampering<D: TestDb>(store: &SqlStore<D>) {
    lift_guards(store, &[("events", "no_update"), ("event_seals", "no_delete")]).await;
}

/// Turns off the append-only triggers `{table}_{guard}`, as someone holding the database would.
async fn lift_guards<D: TestDb>(store: &SqlStore<D>, guards: &[(&str, &str)]) {
    for (table, guard) in guards {
        let sql = match store.database().dialect() {
            Dialect::Sqlite => format!("DROP TRIGGER {table}_{guard}"),
            Dialect::Postgres => format!("ALTER TABLE {table} DISABLE TRIGGER {table}_{guard}"),
        };
        execute(store, leak(sql), vec![]).await.unwrap();
    }
}

/// The demo's organisation, catalogue and users, with its enterprises when `enterprises`: what every
/// other demo record needs.
async fn load_people<D: TestDb>(store: &SqlStore<D>, enterprises: bool) -> mashangban_demo::DemoData {
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(store, &data).await.unwrap();
    mashangban_demo::load_users(store, &data, "not-a-real-hash").await.unwrap();
    if enterprises {
        mashangban_demo::load_enterprises(store, &data).await.unwrap();
    }
    data
}

async fn event_count<D: TestDb>(store: &SqlStore<D>) -> u64 {
    texts(store, "SELECT CAST(COUNT(*) AS TEXT) FROM events", vec![]).await[0].as_deref().unwrap().parse().unwrap()
}

async fn a_platform_history_verifies_and_tampering_is_named<D: TestDb>() {
    let env = D::create().await;
    let store = &env.store;
    let data = load_people(store, false).await;
    let end = parse_instant("2026-06-30T18:00:00+08:00").unwrap();
    let options = mashangban_demo::HistoryOptions { seed: 20261204, count: 40, end };
    mashangban_demo::generate_history(store, &data, &options, |_, _| {}).await.unwrap();
    let events = event_count(store).await;
    assert!(events > 100, "{events}");

    // Every event the platform wrote is sealed and chains.
    let report = store.verify_history(vec![]).await.unwrap();
    assert_eq!((report.requests, report.events, report.problems.clone()), (40, events, vec![]));

    // A history written before seals existed is sealed once, to the same seals.
    let seals = texts(store, "SELECT seal FROM event_seals ORDER BY event_id", vec![]).await;
    allow_tampering(store).await;
    execute(store, "DELETE FROM event_seals", vec![]).await.unwrap();
    execute(
        store,
        "UPDATE audit_state SET legacy_upto = (SELECT MAX(id) FROM events), legacy_sealed_at = NULL",
        vec![],
    )
    .await
    .unwrap();
    let report = store.verify_history(vec![]).await.unwrap();
    assert_eq!(report.problems.len(), 40);
    assert!(matches!(report.problems[0], Problem::Unsealed { seq: 1, .. }), "{:?}", report.problems[0]);
    let now = parse_instant("2026-12-04T09:00:00+08:00").unwrap();
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), 40);
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), 0, "sealed once");
    assert_eq!(texts(store, "SELECT seal FROM event_seals ORDER BY event_id", vec![]).await, seals);

    // An anchor over the settled history, kept once.
    let settled = parse_instant("2027-01-01T00:00:00+08:00").unwrap();
    let anchor = store.record_anchor(settled, now).await.unwrap().unwrap().anchor;
    assert_eq!((anchor.requests, anchor.events), (40, events));
    assert!(store.record_anchor(settled, now).await.unwrap().is_none());
    assert_eq!(store.anchors().await.unwrap().len(), 1);
    let report = store.verify_history(vec![anchor.clone()]).await.unwrap();
    assert_eq!((report.anchors_checked, report.problems.len()), (1, 0));

    // A comment changed in place: named at its row, and the anchor no longer matches.
    let victim = texts(store, "SELECT CAST(MIN(id) AS TEXT) FROM events WHERE seq = 2", vec![]).await;
    let victim: i64 = victim[0].as_deref().unwrap().parse().unwrap();
    execute(store, "UPDATE events SET comment = '已妥善处理' WHERE id = $1", vec![victim.into()]).await.unwrap();
    let report = store.verify_history(vec![anchor.clone()]).await.unwrap();
    assert!(
        matches!(&report.problems[..], [Problem::Altered { seq: 2, event_id, .. }, Problem::AnchorMismatch { .. }]
            if *event_id == victim),
        "{:?}",
        report.problems
    );

    // An event inserted past the platform has no seal; the next one the platform writes chains through it.
    let request = store.list(&ListFilter { limit: 1, ..ListFilter::default() }, &Scope::All).await.unwrap().items;
    let request = &request[0];
    execute(
        store,
        "INSERT INTO events (request_id, seq, at, kind, actor_name, actor_role, to_state)
         VALUES ($1, (SELECT MAX(seq) + 1 FROM events WHERE request_id = $1), '2026-07-01T09:00:00.000+08:00',
                 'commented', '冒名者', 'dispatcher', $2)",
        vec![request.id.into(), request.state.as_str().into()],
    )
    .await
    .unwrap();
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert!(
        problems.iter().any(|p| matches!(p, Problem::Unsealed { request_id, .. } if *request_id == request.id)),
        "{problems:?}"
    );
}

async fn count<D: TestDb>(store: &SqlStore<D>, sql: &'static str) -> u64 {
    texts(store, sql, vec![]).await[0].as_deref().unwrap().parse().unwrap()
}

/// Ledger item events are sealed as request events are: in their transaction (items written in
/// bulk, a file uploaded for a field), once after the fact for those older than the seals, and a
/// note changed in place or an event written past the platform is named.
async fn ledger_histories_are_sealed_and_tampering_is_named<D: TestDb>() {
    let env = D::create().await;
    let store = &env.store;
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(store, &data).await.unwrap();
    let items = mashangban_demo::load_ledgers(store, 300).await.unwrap();
    let events = count(store, "SELECT CAST(COUNT(*) AS TEXT) FROM ledger_item_events").await;
    let uploads =
        count(store, "SELECT CAST(COUNT(*) AS TEXT) FROM ledger_item_events WHERE action = 'document_added'").await;
    assert!(uploads > 10 && events == items + uploads, "{items} items, {events} events, {uploads} uploads");

    let report = store.verify_history(vec![]).await.unwrap();
    assert_eq!(report.problems, vec![]);
    let ledger = report.histories.iter().find(|c| c.history.name == "ledger_item_events").unwrap();
    assert_eq!((ledger.chains, ledger.events), (items, events));

    // Sealed once after the fact, to the same seals.
    const LEDGER_SEALS: &str =
        "SELECT seal FROM history_seals WHERE history = 'ledger_item_events' ORDER BY chain_id, position";
    let seals = texts(store, LEDGER_SEALS, vec![]).await;
    assert_eq!(seals.len() as u64, events);
    lift_guards(store, &[("ledger_item_events", "no_update"), ("history_seals", "no_delete")]).await;
    execute(store, "DELETE FROM history_seals WHERE history = 'ledger_item_events'", vec![]).await.unwrap();
    execute(
        store,
        "INSERT INTO history_legacy (history, chain_id, upto)
         SELECT 'ledger_item_events', item_id, MAX(id) FROM ledger_item_events GROUP BY item_id",
        vec![],
    )
    .await
    .unwrap();
    let report = store.verify_history(vec![]).await.unwrap();
    assert_eq!(report.problems.len() as u64, items);
    assert!(
        report.problems.iter().all(|p| matches!(p, Problem::HistoryUnsealed { history: "ledger_item_events", .. })),
        "{:?}",
        report.problems
    );
    let now = parse_instant("2026-12-04T09:00:00+08:00").unwrap();
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), items);
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), 0, "sealed once");
    assert_eq!(texts(store, LEDGER_SEALS, vec![]).await, seals);

    // A 销号 note written into an event afterwards: named at its row.
    let victim =
        count(store, "SELECT CAST(MIN(id) AS TEXT) FROM ledger_item_events WHERE action = 'document_added'").await;
    execute(store, "UPDATE ledger_item_events SET note = '已验收' WHERE id = $1", vec![(victim as i64).into()])
        .await
        .unwrap();
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert!(
        matches!(&problems[..], [Problem::HistoryAltered { history: "ledger_item_events", position, .. }]
            if *position == victim as i64),
        "{problems:?}"
    );

    // An event inserted past the platform has no seal.
    execute(
        store,
        "INSERT INTO ledger_item_events (item_id, item_version, at, by_name, by_role, ledger_roles, action, changes)
         SELECT MAX(id), 1, '2026-12-05T09:00:00.000+08:00', '冒名者', 'handler', '', 'updated', '[]' FROM ledger_items",
        vec![],
    )
    .await
    .unwrap();
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert!(
        problems.iter().any(|p| matches!(p, Problem::HistoryUnsealed { history: "ledger_item_events", .. })),
        "{problems:?}"
    );
}

/// The command centres' history entries of the centre itself.
const CENTRE_ENTRIES: &str = "e.target_id IS NULL AND e.task_id IS NULL AND e.form_id IS NULL AND e.pledge_id IS NULL";

/// The sealed histories besides requests', in the order verification walks them: (name, the
/// events as `e` with what they join, which of them are the history's, record, position column).
const OTHER_HISTORIES: &[(&str, &str, &str, &str, &str)] = &[
    ("ledger_item_events", "ledger_item_events e", "TRUE", "e.item_id", "id"),
    ("visit_events", "visit_events e", "TRUE", "e.visit_id", "id"),
    ("direct_line_events", "direct_line_events e", "TRUE", "e.item_id", "id"),
    ("approval_actions", "approval_actions e", "TRUE", "e.project_id", "seq"),
    ("fund_events", "fund_events e", "TRUE", "e.application_id", "seq"),
    ("onsite_events", "onsite_events e", "TRUE", "e.request_id", "seq"),
    ("enforcement_case_events", "enforcement_case_events e", "TRUE", "e.case_id", "seq"),
    ("compensation_events", "compensation_events e", "TRUE", "e.matter_id", "seq"),
    (
        "command_events/centre",
        "command_events e JOIN command_centres o ON o.code = e.centre_code",
        CENTRE_ENTRIES,
        "o.id",
        "id",
    ),
    ("command_events/target", "command_events e", "e.target_id IS NOT NULL", "e.target_id", "id"),
    ("command_events/task", "command_events e", "e.task_id IS NOT NULL", "e.task_id", "id"),
    ("command_events/form", "command_events e", "e.form_id IS NOT NULL", "e.form_id", "id"),
    ("command_events/pledge", "command_events e", "e.pledge_id IS NOT NULL", "e.pledge_id", "id"),
    ("monitoring_point_events", "monitoring_point_events e", "TRUE", "e.point_id", "id"),
    ("monitoring_alert_events", "monitoring_alert_events e", "TRUE", "e.alert_id", "id"),
    ("account_events", "account_events e", "TRUE", "e.user_id", "id"),
    ("api_token_events", "api_token_events e", "TRUE", "e.token_id", "id"),
];

/// Ledger items, visits, direct-line items, approval projects, fund applications, on-site service
/// requests, enforcement cases, compensation matters, command centres (their own entries, targets,
/// tasks, report forms, pledges), monitoring points and alerts, accounts and API tokens: every
/// event sealed in its transaction, events older than the seals sealed once after the fact to the
/// same seals, and a changed field, a deleted event and an event written past the platform named.
async fn the_other_histories_are_sealed_and_tampering_is_named<D: TestDb>() {
    let env = D::create().await;
    let store = &env.store;
    let now = parse_instant("2026-12-04T09:00:00+08:00").unwrap();
    let data = load_people(store, true).await;
    mashangban_demo::load_ledgers(store, 300).await.unwrap();
    mashangban_demo::load_command(store, now).await.unwrap();
    mashangban_demo::load_command_reports(store, now).await.unwrap();
    mashangban_demo::load_liaisons(store, &data, "not-a-real-hash").await.unwrap();
    mashangban_demo::load_visits(store, now).await.unwrap();
    mashangban_demo::load_approvals(store, now).await.unwrap();
    mashangban_demo::load_monitoring(store, &data, now).await.unwrap();
    mashangban_demo::load_enforcement(store, now).await.unwrap();
    mashangban_demo::load_compensation(store, now).await.unwrap();
    mashangban_demo::load_fund(store, now).await.unwrap();
    mashangban_demo::load_onsite(store, &data, now).await.unwrap();
    mashangban_demo::load_direct_line(store, now).await.unwrap();
    let token =
        NewApiToken { name: "对接系统".into(), token_hash: "h".into(), role: Role::Dispatcher, unit_id: None };
    let by = mashangban_store::AccountBy { at: now, user_id: None, name: "命令行".into() };
    let token = store.create_api_token(token, by.clone()).await.unwrap();
    store.revoke_api_token(token.id, by).await.unwrap();

    let report = store.verify_history(vec![]).await.unwrap();
    assert_eq!(report.problems, vec![]);
    let walked: Vec<(&str, u64, u64)> = report.histories.iter().map(|c| (c.history.name, c.chains, c.events)).collect();
    let mut stored = Vec::new();
    let mut records = 0;
    for &(name, events, subject, chain, _) in OTHER_HISTORIES {
        let from = format!("FROM {events} WHERE {subject}");
        let chains = count(store, leak(format!("SELECT CAST(COUNT(DISTINCT {chain}) AS TEXT) {from}"))).await;
        let events = count(store, leak(format!("SELECT CAST(COUNT(*) AS TEXT) {from}"))).await;
        assert!(chains > 0, "the demo writes {name}");
        records += chains;
        stored.push((name, chains, events));
    }
    assert_eq!(walked, stored);
    let seals = texts(store, "SELECT seal FROM history_seals ORDER BY history, chain_id, position", vec![]).await;
    assert_eq!(seals.len() as u64, stored.iter().map(|(_, _, events)| events).sum::<u64>());

    // As if every event predated the seals: listed per record as the migration lists them.
    lift_guards(
        store,
        &[("history_seals", "no_delete"), ("visit_events", "no_update"), ("onsite_events", "no_delete")],
    )
    .await;
    execute(store, "DELETE FROM history_seals", vec![]).await.unwrap();
    for &(name, events, subject, chain, position) in OTHER_HISTORIES {
        let sql = format!(
            "INSERT INTO history_legacy (history, chain_id, upto) SELECT '{name}', {chain}, MAX(e.{position})
             FROM {events} WHERE {subject} GROUP BY {chain}"
        );
        execute(store, leak(sql), vec![]).await.unwrap();
    }
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert_eq!(problems.len() as u64, records);
    assert!(problems.iter().all(|p| matches!(p, Problem::HistoryUnsealed { .. })), "{problems:?}");
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), records);
    assert_eq!(store.seal_legacy_events(now).await.unwrap(), 0, "sealed once");
    let resealed = texts(store, "SELECT seal FROM history_seals ORDER BY history, chain_id, position", vec![]).await;
    assert_eq!(resealed, seals);

    // A visit's comment rewritten: named at its event.
    let victim = count(store, "SELECT CAST(MIN(id) AS TEXT) FROM visit_events").await as i64;
    execute(store, "UPDATE visit_events SET comment = '走访顺利' WHERE id = $1", vec![victim.into()]).await.unwrap();
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert!(
        matches!(&problems[..], [Problem::HistoryAltered { history: "visit_events", position, .. }] if *position == victim),
        "{problems:?}"
    );

    // An on-site request's first event deleted: the gap is named.
    let request = count(store, "SELECT CAST(MIN(request_id) AS TEXT) FROM onsite_events WHERE seq = 2").await as i64;
    execute(store, "DELETE FROM onsite_events WHERE request_id = $1 AND seq = 1", vec![request.into()]).await.unwrap();
    // A fund event written past the platform has no seal.
    execute(
        store,
        "INSERT INTO fund_events (application_id, seq, kind, from_state, to_state, award_fen, at, by_name)
         SELECT application_id, MAX(seq) + 1, 'paid', 'approved', 'paid', 1, '2026-12-05T09:00:00.000+08:00', '冒名者'
         FROM fund_events GROUP BY application_id ORDER BY application_id LIMIT 1",
        vec![],
    )
    .await
    .unwrap();
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems.iter().any(|p| matches!(p,
        Problem::HistoryMissing { history: "onsite_events", chain_id, expected: 1, found: 2 } if *chain_id == request))
    );
    assert!(problems.iter().any(|p| matches!(p, Problem::HistoryUnsealed { history: "fund_events", .. })));

    // A note rewritten in each of the command centres' and monitoring histories, and an account's
    // and an API token's entry rewritten: named at its event.
    let guards = [
        ("command_events", "no_update"),
        ("monitoring_point_events", "no_update"),
        ("monitoring_alert_events", "no_update"),
        ("account_events", "no_update"),
        ("api_token_events", "no_update"),
    ];
    lift_guards(store, &guards).await;
    let mut victims = Vec::new();
    for &(name, events, subject, _, _) in &OTHER_HISTORIES[8..] {
        let victim = count(store, leak(format!("SELECT CAST(MAX(e.id) AS TEXT) FROM {events} WHERE {subject}"))).await;
        let table = events.split(' ').next().unwrap();
        let column = if matches!(table, "account_events" | "api_token_events") { "detail" } else { "note" };
        let sql = format!("UPDATE {table} SET {column} = '篡改' WHERE id = $1");
        execute(store, leak(sql), vec![(victim as i64).into()]).await.unwrap();
        victims.push((name, victim as i64));
    }
    let problems = store.verify_history(vec![]).await.unwrap().problems;
    assert_eq!(problems.len(), 3 + victims.len(), "{problems:?}");
    for (name, victim) in victims {
        assert!(
            problems.iter().any(|p| matches!(p,
                Problem::HistoryAltered { history, position, .. } if *history == name && *position == victim)),
            "{name} {victim}: {problems:?}"
        );
    }
}

/// The anchor digests the other histories' records too: a visit whose every event is deleted (with
/// its seals, as a careful attacker would), or a project's last approval action, leaves no broken
/// chain to name, but no longer matches the anchor kept before.
async fn anchors_cover_the_other_histories_so_a_deleted_record_shows<D: TestDb>() {
    let env = D::create().await;
    let store = &env.store;
    let now = parse_instant("2026-12-04T09:00:00+08:00").unwrap();
    let data = load_people(store, true).await;
    mashangban_demo::load_liaisons(store, &data, "not-a-real-hash").await.unwrap();
    mashangban_demo::load_visits(store, now).await.unwrap();
    mashangban_demo::load_approvals(store, now).await.unwrap();

    // No request yet: the anchor is kept for the other histories alone, and once.
    let settled = parse_instant("2027-01-01T00:00:00+08:00").unwrap();
    let anchor = store.record_anchor(settled, now).await.unwrap().unwrap().anchor;
    assert_eq!((anchor.requests, anchor.events), (0, 0));
    let histories = anchor.histories.clone().unwrap();
    let visits = count(store, "SELECT CAST(COUNT(DISTINCT visit_id) AS TEXT) FROM visit_events").await;
    let projects = count(store, "SELECT CAST(COUNT(DISTINCT project_id) AS TEXT) FROM approval_actions").await;
    let accounts = count(store, "SELECT CAST(COUNT(DISTINCT user_id) AS TEXT) FROM account_events").await;
    assert!(visits > 0 && projects > 0, "the demo writes visits and approvals");
    assert_eq!(histories.chains, visits + projects + accounts);
    assert!(store.record_anchor(settled, now).await.unwrap().is_none(), "nothing new to anchor");
    let kept: Vec<_> = store.anchors().await.unwrap().into_iter().map(|a| a.anchor).collect();
    assert_eq!(kept, vec![anchor.clone()]);
    assert_eq!(mashangban_domain::audit::Anchor::parse_line(&anchor.to_line()), Some(anchor.clone()));
    let report = store.verify_history(kept).await.unwrap();
    assert_eq!((report.anchors_checked, report.problems), (1, vec![]));

    // A whole visit deleted, with its seals.
    lift_guards(store, &[("visit_events", "no_delete"), ("history_seals", "no_delete")]).await;
    let visit = count(store, "SELECT CAST(MIN(visit_id) AS TEXT) FROM visit_events").await as i64;
    execute(store, "DELETE FROM visit_events WHERE visit_id = $1", vec![visit.into()]).await.unwrap();
    execute(store, "DELETE FROM history_seals WHERE history = 'visit_events' AND chain_id = $1", vec![visit.into()])
        .await
        .unwrap();
    let problems = store.verify_history(vec![anchor.clone()]).await.unwrap().problems;
    assert!(
        matches!(&problems[..], [Problem::AnchorMismatch { expected, found }]
            if *expected == anchor && found.histories.as_ref().unwrap().chains == histories.chains - 1
                && found.digest == anchor.digest),
        "{problems:?}"
    );
    assert!(problems[0].to_string().contains("the other histories' heads"), "{}", problems[0]);

    // A project's last approval action deleted: a shorter chain is no gap, but the anchor sees it.
    let env2 = D::create().await;
    let store2 = &env2.store;
    load_people(store2, false).await;
    mashangban_demo::load_approvals(store2, now).await.unwrap();
    let anchor = store2.record_anchor(settled, now).await.unwrap().unwrap().anchor;
    lift_guards(store2, &[("approval_actions", "no_delete")]).await;
    execute(
        store2,
        "DELETE FROM approval_actions WHERE (project_id, seq) = (SELECT project_id, MAX(seq) FROM approval_actions
             WHERE project_id = (SELECT MIN(project_id) FROM approval_actions) GROUP BY project_id)",
        vec![],
    )
    .await
    .unwrap();
    let problems = store2.verify_history(vec![anchor]).await.unwrap().problems;
    assert!(matches!(&problems[..], [Problem::AnchorMismatch { .. }]), "{problems:?}");
}

/// A statement built at run time, for the helpers that take `&'static str`.
fn leak(sql: String) -> &'static str {
    Box::leak(sql.into_boxed_str())
}
