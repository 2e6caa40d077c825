//! Command centres (指挥部) on both databases: bundled centres installed
//! once, centre and target edits under their versions, tasks judged on their
//! state under the row lock, every change with its history entry (append
//! only), task filters by scope, state and overdue, and the ledger stage moves
//! the forecast reads.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde_json::{Value as Json, json};

use mashangban_domain::command::{self, CommandAction, TargetDef, TaskDef, TaskState};
use mashangban_domain::ledger::{Values, bundled, diff};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_store::{
    CommandAuthor, CommandStore, LedgerAction, LedgerAuthor, LedgerStore, LedgerWrite, NewLedgerType, OrgStore,
    TaskChange, TaskFilter, ledger_item_name, ledger_placement,
};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{TestDb, at, execute, refusal};

on_both!(
    centres_targets_and_tasks_keep_their_history,
    arrivals_are_the_stage_moves_of_a_type_since_a_time,
    two_nodes_installing_centres_at_once_number_them_apart
);

fn author(minutes: i64) -> CommandAuthor {
    CommandAuthor { user_id: Some(7), name: "测试（handler）".into(), at: at(minutes) }
}

async fn setup<D: TestDb>(s: &SqlStore<D>) -> OrgTree {
    let types = bundled::all()
        .unwrap()
        .into_iter()
        .map(|t| NewLedgerType {
            code: t.code().into(),
            name: t.name().into(),
            definition: t.to_toml().unwrap(),
            office_unit_code: None,
        })
        .collect();
    s.install_ledger_types(types).await.unwrap();
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    s.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap();
    s.upsert_unit(unit("xiaolan", UnitKind::Town, Some("city"))).await.unwrap();
    s.upsert_unit(unit("swuj", UnitKind::Department, Some("city"))).await.unwrap();
    s.install_command_centres(command::bundled(), author(0)).await.unwrap();
    OrgTree::new(s.list_units().await.unwrap())
}

/// A new centre takes the number after the greatest (its history chain's id): two nodes
/// installing different centres at the same moment must each get their own.
async fn two_nodes_installing_centres_at_once_number_them_apart<D: TestDb>() {
    let env = &D::create().await;
    let other = env.other_node().await;
    let water = command::bundled().into_iter().find(|c| c.code == "water").unwrap();
    let named = |code: String| command::CentreDef { code, ..water.clone() };
    // Without turns, PostgreSQL gives both the same number within a few rounds (unique index).
    for round in 0..20 {
        let (a, b) = tokio::join!(
            env.store.install_command_centres(vec![named(format!("a{round}"))], author(round)),
            other.install_command_centres(vec![named(format!("b{round}"))], author(round)),
        );
        a.unwrap();
        b.unwrap();
    }
    assert_eq!(env.store.command_centres().await.unwrap().len(), 40);
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn centres_targets_and_tasks_keep_their_history<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let org = setup(s).await;
    s.install_command_centres(command::bundled(), author(1)).await.unwrap();
    let centres = s.command_centres().await.unwrap();
    let codes: Vec<&str> = centres.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["investment", "parks", "water"]);
    let events = s.command_centre_events("water", 10).await.unwrap();
    assert_eq!(events.len(), 1, "installed once");
    assert_eq!(events[0].action, CommandAction::CentreInstalled);

    // Centres under their version.
    let mut def = command::bundled().into_iter().find(|c| c.code == "water").unwrap();
    def.towns = vec!["guzhen".into()];
    assert_eq!(refusal(s.save_command_centre(def.clone(), 2, author(2)).await), "command_centre_changed");
    let saved = s.save_command_centre(def.clone(), 1, author(2)).await.unwrap();
    assert_eq!((saved.version, saved.towns.clone()), (2, vec!["guzhen".to_owned()]));
    def.code = "nosuch".into();
    assert_eq!(refusal(s.save_command_centre(def, 1, author(2)).await), "command_centre_not_found");

    // Targets under their version.
    let guzhen = org.by_code("guzhen").unwrap().id;
    let target =
        TargetDef::new("片区完成雨污分流", "sewer", vec!["done".into()], None, Some(guzhen), 5, day("2026-12-31"))
            .unwrap();
    let t = s.create_command_target("water", target.clone(), author(3)).await.unwrap();
    assert_eq!((t.goal, t.town_id, t.stages.clone(), t.version), (5, Some(guzhen), vec!["done".to_owned()], 1));
    assert_eq!(refusal(s.create_command_target("nosuch", target.clone(), author(3)).await), "command_centre_not_found");
    let mut changed = target.clone();
    changed.goal = 8;
    changed.choice = Some(("x".into(), "y".into()));
    let t2 = s.update_command_target(t.id, 1, changed.clone(), author(4)).await.unwrap();
    assert_eq!((t2.goal, t2.version, t2.choice.clone()), (8, 2, Some(("x".to_owned(), "y".to_owned()))));
    assert_eq!(refusal(s.update_command_target(t.id, 1, changed.clone(), author(5)).await), "command_target_changed");
    assert_eq!(refusal(s.update_command_target(999, 1, changed, author(5)).await), "command_target_not_found");
    assert_eq!(s.command_targets("water").await.unwrap(), vec![t2]);
    let actions: Vec<CommandAction> =
        s.command_centre_events("water", 10).await.unwrap().iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            CommandAction::TargetChanged,
            CommandAction::TargetSet,
            CommandAction::CentreSaved,
            CommandAction::CentreInstalled
        ]
    );

    // Tasks: judged on their state, every change recorded.
    let xiaolan = org.by_code("xiaolan").unwrap().id;
    let due = at(60 * 24 * 7);
    let task = s
        .create_command_task("water", TaskDef::new("排查", None, guzhen, 5, None).unwrap(), due, author(10))
        .await
        .unwrap();
    assert_eq!((task.state, task.due_at, task.report_count), (TaskState::Assigned, due, 0));
    let other = s
        .create_command_task("water", TaskDef::new("整治", Some("说明"), xiaolan, 1, None).unwrap(), at(30), author(10))
        .await
        .unwrap();
    assert_eq!(
        refusal(s.change_command_task(task.id, TaskChange::Done(None), author(11)).await),
        "command_task_not_reported"
    );
    s.change_command_task(task.id, TaskChange::Report("进展一".into()), author(12)).await.unwrap();
    let reported = s.change_command_task(task.id, TaskChange::Report("进展二".into()), author(13)).await.unwrap();
    assert_eq!((reported.state, reported.report_count), (TaskState::Reported, 2));
    let urged = s.change_command_task(task.id, TaskChange::Urge("加快".into()), author(14)).await.unwrap();
    assert_eq!(urged.urge_count, 1);
    let supervised = s.change_command_task(task.id, TaskChange::Supervise("督办".into()), author(15)).await.unwrap();
    assert_eq!((supervised.supervised_at, supervised.supervision_note.as_deref()), (Some(at(15)), Some("督办")));
    let done = s.change_command_task(task.id, TaskChange::Done(Some("好".into())), author(16)).await.unwrap();
    assert_eq!((done.state, done.done_at), (TaskState::Done, Some(at(16))));
    assert_eq!(
        refusal(s.change_command_task(task.id, TaskChange::Report("x".into()), author(17)).await),
        "command_task_done"
    );
    assert_eq!(
        refusal(s.change_command_task(999, TaskChange::Urge("x".into()), author(17)).await),
        "command_task_not_found"
    );
    let history = s.command_task_events(task.id).await.unwrap();
    let actions: Vec<CommandAction> = history.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            CommandAction::TaskAssigned,
            CommandAction::TaskReported,
            CommandAction::TaskReported,
            CommandAction::TaskUrged,
            CommandAction::TaskSupervised,
            CommandAction::TaskDone
        ]
    );
    assert_eq!((history[1].note.as_deref(), history[1].at, history[1].by_user_id), (Some("进展一"), at(12), Some(7)));

    // Filters: scope, state, overdue.
    let all = TaskFilter { centre_code: Some("water".into()), limit: 100, ..TaskFilter::default() };
    let ids = |tasks: Vec<mashangban_store::TaskRecord>| tasks.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(s.command_tasks(&all).await.unwrap()), [other.id, task.id], "soonest due first");
    let mine = TaskFilter { units: Some(vec![guzhen]), ..all.clone() };
    assert_eq!(ids(s.command_tasks(&mine).await.unwrap()), [task.id]);
    let nobody = TaskFilter { units: Some(vec![]), ..all.clone() };
    assert!(s.command_tasks(&nobody).await.unwrap().is_empty());
    let overdue = TaskFilter { overdue_at: Some(at(60)), ..all.clone() };
    assert_eq!(ids(s.command_tasks(&overdue).await.unwrap()), [other.id]);
    let done_only = TaskFilter { state: Some(TaskState::Done), ..all.clone() };
    assert_eq!(ids(s.command_tasks(&done_only).await.unwrap()), [task.id]);
    let parks = TaskFilter { centre_code: Some("parks".into()), ..all };
    assert!(s.command_tasks(&parks).await.unwrap().is_empty());

    // The history is append-only.
    assert!(execute(s, "UPDATE command_events SET note = 'x'", vec![]).await.is_err());
    assert!(execute(s, "DELETE FROM command_events", vec![]).await.is_err());
}

async fn arrivals_are_the_stage_moves_of_a_type_since_a_time<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let org = setup(s).await;
    let ty = bundled::by_code("sewer").unwrap();
    let input: BTreeMap<String, Json> = serde_json::from_value(json!({
        "area_code": "A001", "town": "guzhen", "area_name": "片区1", "planned_km": "10.5",
        "responsible_unit": "swuj", "intercept_done_on": "2026-06-01",
    }))
    .unwrap();
    let v = ty.validate_item(&input, &org).unwrap();
    let (town_id, unit_id) = ledger_placement(&ty, &v, &org);
    let ledger_author = |minutes: i64| LedgerAuthor {
        user_id: Some(7),
        name: "测试".into(),
        role: "handler".into(),
        ledger_roles: "town".into(),
        at: at(minutes),
    };
    let create = LedgerWrite {
        id: None,
        expected_version: 0,
        type_code: "sewer".into(),
        type_version: 1,
        key: ty.key_of(&v).unwrap(),
        name: ledger_item_name(&ty, &v),
        stage: "intercept".into(),
        changes: diff(&ty, &Values::new(), &v),
        values: v.clone(),
        town_id,
        unit_id,
        action: LedgerAction::Created,
        from_stage: None,
        note: None,
    };
    let item = s.write_ledger_items(vec![create.clone()], ledger_author(0)).await.unwrap().remove(0);
    let moved = LedgerWrite {
        id: Some(item.id),
        expected_version: 1,
        stage: "separate".into(),
        changes: Vec::new(),
        action: LedgerAction::Moved,
        from_stage: Some("intercept".into()),
        ..create
    };
    s.write_ledger_items(vec![moved], ledger_author(60)).await.unwrap();

    let arrivals = s.ledger_arrivals("sewer", at(0), 100).await.unwrap();
    assert_eq!(arrivals.len(), 1, "creation is no arrival");
    let a = &arrivals[0];
    assert_eq!(
        (a.at, a.from_stage.as_deref(), a.to_stage.as_str(), a.town_id),
        (at(60), Some("intercept"), "separate", org.by_code("guzhen").map(|u| u.id))
    );
    let values: Json = serde_json::from_str(&a.values).unwrap();
    assert_eq!(values["area_code"]["v"], "A001");
    assert!(
        s.ledger_arrivals("sewer", at(61), 100).await.unwrap().is_empty(),
        "since is inclusive of later moves only"
    );
    assert!(s.ledger_arrivals("creek", at(0) - Duration::days(1), 100).await.unwrap().is_empty(), "of that type only");
}
