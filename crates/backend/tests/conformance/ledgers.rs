//! Ledgers (台账) on both databases: types installed once and versioned,
//! items written with their history in one job (stale versions refused, a
//! batch all or nothing), scope and filters in lists and rollups with real
//! totals, and type changes refused or migrating items with an event.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value as Json, json};

use mashangban_domain::ledger::{LedgerType, Values, bundled, diff};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_store::{
    ChangeStore, LedgerAction, LedgerAuthor, LedgerFilter, LedgerScope, LedgerStore, LedgerWrite, NewLedgerType,
    OrgStore, RollupBy, RollupCell, ledger_item_name, ledger_placement,
};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{TestDb, at, execute, refusal};
use mashangban_store::{LedgerItem, StoreResult};

on_both!(
    bundled_types_install_once_and_keep_their_versions,
    items_keep_their_history_and_refuse_stale_writes,
    a_batch_is_all_or_nothing,
    lists_and_rollups_count_only_the_scope_and_the_filter,
    type_changes_are_refused_or_migrate_items_with_an_event,
    kept_counts_and_choice_values_follow_every_write,
);

fn author(minutes: i64) -> LedgerAuthor {
    LedgerAuthor {
        user_id: Some(7),
        name: "测试（handler）".into(),
        role: "handler".into(),
        ledger_roles: "town".into(),
        at: at(minutes),
    }
}

pub(crate) async fn install<D: TestDb>(s: &SqlStore<D>) {
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
}

/// The city with two towns and a department; the org tree.
pub(crate) async fn org<D: TestDb>(s: &SqlStore<D>) -> Arc<OrgTree> {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    s.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap();
    s.upsert_unit(unit("xiaolan", UnitKind::Town, Some("city"))).await.unwrap();
    s.upsert_unit(unit("swuj", UnitKind::Department, Some("city"))).await.unwrap();
    Arc::new(OrgTree::new(s.list_units().await.unwrap()))
}

pub(crate) fn sewer() -> LedgerType {
    bundled::by_code("sewer").unwrap()
}

pub(crate) fn values(ty: &LedgerType, org: &OrgTree, input: Json) -> Values {
    let input: BTreeMap<String, Json> = serde_json::from_value(input).unwrap();
    ty.validate_item(&input, org).unwrap()
}

pub(crate) fn area(n: u32, town: &str, unit: Option<&str>) -> Json {
    json!({ "area_code": format!("A{n:03}"), "town": town, "area_name": format!("片区{n}"), "planned_km": "10.5",
            "responsible_unit": unit })
}

pub(crate) fn new_write(ty: &LedgerType, org: &OrgTree, v: Values) -> LedgerWrite {
    let (town_id, unit_id) = ledger_placement(ty, &v, org);
    LedgerWrite {
        id: None,
        expected_version: 0,
        type_code: ty.code().into(),
        type_version: 1,
        key: ty.key_of(&v).unwrap(),
        name: ledger_item_name(ty, &v),
        stage: "intercept".into(),
        changes: diff(ty, &Values::new(), &v),
        values: v,
        town_id,
        unit_id,
        action: LedgerAction::Created,
        from_stage: None,
        note: None,
    }
}

async fn bundled_types_install_once_and_keep_their_versions<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    install(s).await;
    let types = s.ledger_types().await.unwrap();
    let codes: Vec<&str> = types.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(codes, ["creek", "investment", "outlet", "park", "sewer"]);
    assert!(types.iter().all(|t| t.version == 1));
    let versions = s.ledger_type_versions("outlet").await.unwrap();
    assert_eq!(versions.len(), 1, "installing again adds no version");
    assert_eq!(LedgerType::from_toml(&versions[0].definition).unwrap(), bundled::by_code("outlet").unwrap());
    let office = s.set_ledger_office("outlet", Some("sthjj".into()), author(1)).await.unwrap();
    assert_eq!(office.office_unit_code.as_deref(), Some("sthjj"));
    assert_eq!(refusal(s.set_ledger_office("nope", None, author(1)).await), "ledger_type_not_found");
    for sql in ["UPDATE ledger_type_versions SET definition = 'x'", "DELETE FROM ledger_type_versions"] {
        let err = execute(s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

async fn items_keep_their_history_and_refuse_stale_writes<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    let org = org(s).await;
    let ty = sewer();
    let head = s.feed_head().await.unwrap();
    let v = values(&ty, &org, area(1, "guzhen", Some("swuj")));
    let created = s.write_ledger_items(vec![new_write(&ty, &org, v.clone())], author(0)).await.unwrap().remove(0);
    assert_eq!((created.key.as_str(), created.version, created.stage.as_str()), ("A001", 1, "intercept"));
    assert_eq!(created.town_id, org.by_code("guzhen").map(|u| u.id));
    assert_eq!(created.unit_id, org.by_code("swuj").map(|u| u.id));
    assert_eq!(created.values, v);
    assert_eq!(created.name.as_deref(), Some("片区1"));
    assert_eq!(
        refusal(s.write_ledger_items(vec![new_write(&ty, &org, v.clone())], author(1)).await),
        "ledger_key_exists"
    );

    let mut changed = v.clone();
    changed.insert("built_km".into(), mashangban_domain::ledger::FieldValue::Decimal("3.25".parse().unwrap()));
    ty.compute(&mut changed).unwrap();
    let update = LedgerWrite {
        id: Some(created.id),
        expected_version: 1,
        action: LedgerAction::Updated,
        changes: diff(&ty, &v, &changed),
        values: changed.clone(),
        ..new_write(&ty, &org, changed.clone())
    };
    let updated = s.write_ledger_items(vec![update.clone()], author(2)).await.unwrap().remove(0);
    assert_eq!(updated.version, 2);
    assert_eq!(refusal(s.write_ledger_items(vec![update.clone()], author(3)).await), "ledger_item_changed");
    let stale_type = LedgerWrite { expected_version: 2, type_version: 9, ..update };
    assert_eq!(refusal(s.write_ledger_items(vec![stale_type], author(3)).await), "ledger_type_changed");

    let events = s.ledger_item_events(created.id).await.unwrap();
    let seen: Vec<(LedgerAction, i64, usize)> =
        events.iter().map(|e| (e.action, e.item_version, e.changes.len())).collect();
    assert_eq!(seen, [(LedgerAction::Created, 1, 6), (LedgerAction::Updated, 2, 2)], "built km and the remaining km");
    let fields: Vec<&str> = events[1].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["built_km", "remaining_km"]);
    assert_eq!((events[1].by_user_id, events[1].by_name.as_str(), events[1].at), (Some(7), "测试（handler）", at(2)));
    let feed = s.changes_after(head, 100).await.unwrap();
    let ledger: Vec<(&str, &str)> = feed
        .iter()
        .filter(|c| c.entity == mashangban_store::ChangeEntity::Ledger)
        .map(|c| (c.key.as_str(), c.kind.as_str()))
        .collect();
    assert_eq!(ledger, [("sewer:A001", "created"), ("sewer:A001", "updated")]);
    for sql in ["UPDATE ledger_item_events SET note = 'x'", "DELETE FROM ledger_item_events"] {
        let err = execute(s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let found = s.ledger_item("sewer", "A001", &LedgerScope::All).await.unwrap().unwrap();
    assert_eq!(found, updated);
    let guzhen = org.by_code("guzhen").unwrap().id;
    let xiaolan = org.by_code("xiaolan").unwrap().id;
    assert!(s.ledger_item("sewer", "A001", &LedgerScope::Town(guzhen)).await.unwrap().is_some());
    assert_eq!(s.ledger_item("sewer", "A001", &LedgerScope::Town(xiaolan)).await.unwrap(), None);
    assert_eq!(s.ledger_item("sewer", "A001", &LedgerScope::Units(vec![guzhen])).await.unwrap(), None);
}

async fn a_batch_is_all_or_nothing<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    let org = org(s).await;
    let ty = sewer();
    let first = new_write(&ty, &org, values(&ty, &org, area(1, "guzhen", None)));
    s.write_ledger_items(vec![first.clone()], author(0)).await.unwrap();
    let second = new_write(&ty, &org, values(&ty, &org, area(2, "guzhen", None)));
    let batch = vec![second, first];
    assert_eq!(refusal(s.write_ledger_items(batch, author(1)).await), "ledger_key_exists");
    let page =
        s.list_ledger_items("sewer", &LedgerFilter { limit: 10, ..LedgerFilter::default() }, &LedgerScope::All).await;
    assert_eq!(page.unwrap().total, 1, "the batch's first item was not kept");
}

async fn lists_and_rollups_count_only_the_scope_and_the_filter<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    let org = org(s).await;
    let ty = sewer();
    let mut writes = Vec::new();
    for n in 1..=7 {
        let town = if n <= 4 { "guzhen" } else { "xiaolan" };
        let unit = (n % 2 == 0).then_some("swuj");
        writes.push(new_write(&ty, &org, values(&ty, &org, area(n, town, unit))));
    }
    writes[0].stage = "separate".into();
    s.write_ledger_items(writes, author(0)).await.unwrap();
    let guzhen = org.by_code("guzhen").unwrap().id;
    let swuj = org.by_code("swuj").unwrap().id;
    let all = LedgerFilter { limit: 2, ..LedgerFilter::default() };
    let page = s.list_ledger_items("sewer", &all, &LedgerScope::Town(guzhen)).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!((keys, page.total), (vec!["A001", "A002"], 4), "a page of two, the real total of the town");
    let second = LedgerFilter { offset: 2, ..all.clone() };
    let page = s.list_ledger_items("sewer", &second, &LedgerScope::Town(guzhen)).await.unwrap();
    assert_eq!(page.items[0].key, "A003");
    let units = s.list_ledger_items("sewer", &all, &LedgerScope::Units(vec![swuj])).await.unwrap();
    assert_eq!(units.total, 3, "A002, A004, A006");
    let nothing = s.list_ledger_items("sewer", &all, &LedgerScope::Nothing).await.unwrap();
    assert_eq!(nothing.total, 0);
    let text = LedgerFilter { text: Some("片区7".into()), ..all.clone() };
    assert_eq!(s.list_ledger_items("sewer", &text, &LedgerScope::All).await.unwrap().total, 1);
    let stage = LedgerFilter { stage: Some("separate".into()), ..all.clone() };
    assert_eq!(s.list_ledger_items("sewer", &stage, &LedgerScope::All).await.unwrap().total, 1);
    let other_type = s.list_ledger_items("creek", &all, &LedgerScope::All).await.unwrap();
    assert_eq!(other_type.total, 0);

    // An export's batches: by key after the last one read, under the same scope and filter, paging ignored.
    let keys = |items: Vec<mashangban_store::LedgerItem>| items.into_iter().map(|i| i.key).collect::<Vec<_>>();
    let town = LedgerScope::Town(guzhen);
    let first = s.ledger_items_after("sewer", &second, &town, None, 3).await.unwrap();
    assert_eq!(keys(first), ["A001", "A002", "A003"], "the filter's offset and limit do not page a batch");
    let next = s.ledger_items_after("sewer", &all, &town, Some("A003".into()), 3).await.unwrap();
    assert_eq!(keys(next), ["A004"], "the rest of the town, fewer than asked: the last batch");
    let intercept = LedgerFilter { stage: Some("intercept".into()), ..all.clone() };
    let batch = s.ledger_items_after("sewer", &intercept, &LedgerScope::All, Some("A002".into()), 10).await.unwrap();
    assert_eq!(keys(batch), ["A003", "A004", "A005", "A006", "A007"]);
    assert!(s.ledger_items_after("sewer", &all, &LedgerScope::Nothing, None, 10).await.unwrap().is_empty());

    let rollup = s.ledger_rollup("sewer", &all, &LedgerScope::All, RollupBy::Town).await.unwrap();
    let cell = |row: i64, stage: &str, count| RollupCell { row: Some(row.to_string()), stage: stage.into(), count };
    let xiaolan = org.by_code("xiaolan").unwrap().id;
    let mut expected = vec![cell(guzhen, "intercept", 3), cell(guzhen, "separate", 1), cell(xiaolan, "intercept", 3)];
    expected.sort_by(|a, b| (&a.row, &a.stage).cmp(&(&b.row, &b.stage)));
    assert_eq!(rollup, expected);
    let scoped = s.ledger_rollup("sewer", &all, &LedgerScope::Town(guzhen), RollupBy::Town).await.unwrap();
    assert_eq!(scoped.iter().map(|c| c.count).sum::<u64>(), 4, "a rollup never counts what the scope hides");

    // Choice fields: outlets by type.
    let outlet = bundled::by_code("outlet").unwrap();
    let mut writes = Vec::new();
    for (n, kind) in [(1, "GY"), (2, "GY"), (3, "NY")] {
        let v = values(
            &outlet,
            &org,
            json!({ "outlet_code": format!("HE000001442000{kind}000{n}"), "name": format!("排口{n}"),
                    "outlet_type": kind, "receiving_water_code": "HE000001", "receiving_water_name": "岐江河",
                    "town": "guzhen", "location": "工业大道", "surveyed_on": "2026-03-01" }),
        );
        writes.push(LedgerWrite { stage: "survey".into(), ..new_write(&outlet, &org, v) });
    }
    s.write_ledger_items(writes, author(0)).await.unwrap();
    let gy = LedgerFilter { choices: vec![("outlet_type".into(), "GY".into())], ..all.clone() };
    assert_eq!(s.list_ledger_items("outlet", &gy, &LedgerScope::All).await.unwrap().total, 2);
    let by_type = s.ledger_rollup("outlet", &all, &LedgerScope::All, RollupBy::Choice("outlet_type".into()));
    let by_type: Vec<(Option<String>, u64)> = by_type.await.unwrap().into_iter().map(|c| (c.row, c.count)).collect();
    assert_eq!(by_type, [(Some("GY".into()), 2), (Some("NY".into()), 1)]);
}

async fn type_changes_are_refused_or_migrate_items_with_an_event<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    let org = org(s).await;
    let ty = sewer();
    let v = values(&ty, &org, area(1, "guzhen", Some("swuj")));
    s.write_ledger_items(vec![new_write(&ty, &org, v)], author(0)).await.unwrap();
    let toml = ty.to_toml().unwrap();

    // Narrowing the area name below what is stored is refused; nothing changes.
    let narrowed = toml.replacen("version = 1", "version = 2", 1).replace("max_len = 50", "max_len = 2");
    let narrowed = LedgerType::from_toml(&narrowed).unwrap();
    let refused = s.save_ledger_type(narrowed, 1, Arc::clone(&org), author(1)).await;
    assert_eq!(refusal(refused), "ledger_type_change_refused");
    assert_eq!(s.ledger_type("sewer").await.unwrap().unwrap().version, 1);

    // Dropping a field with values migrates the item, with an event.
    let mut def = ty.def().clone();
    def.version = 2;
    def.fields.retain(|f| f.code != "responsible_unit");
    let dropped = LedgerType::from_def(def).unwrap();
    assert_eq!(
        refusal(s.save_ledger_type(dropped.clone(), 0, Arc::clone(&org), author(1)).await),
        "ledger_type_changed"
    );
    let saved = s.save_ledger_type(dropped, 1, Arc::clone(&org), author(2)).await.unwrap();
    assert_eq!((saved.record.version, saved.migrated_items), (2, 1));
    let item = s.ledger_item("sewer", "A001", &LedgerScope::All).await.unwrap().unwrap();
    assert_eq!((item.version, item.type_version, item.unit_id), (2, 2, None));
    assert!(!item.values.contains_key("responsible_unit"));
    let events = s.ledger_item_events(item.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.action, LedgerAction::Migrated);
    assert_eq!(last.changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["responsible_unit"]);
    let versions = s.ledger_type_versions("sewer").await.unwrap();
    assert_eq!(versions.iter().map(|v| (v.version, v.migrated_items)).collect::<Vec<_>>(), [(2, 1), (1, 0)]);
    assert!(versions[0].report.as_deref().unwrap().contains("migrate"));
}

/// An outlet's values: type by `n`, town and discharge mode as given (`None`: left empty).
fn outlet_values(ty: &LedgerType, org: &OrgTree, n: u32, town: &str, mode: Option<&str>) -> Values {
    let kind = ["GY", "WS", "NY", "QT"][n as usize % 4];
    values(
        ty,
        org,
        json!({ "outlet_code": format!("HE000001442000{kind}{n:04}"), "name": format!("排口{n}"),
                "outlet_type": kind, "receiving_water_code": "HE000001", "receiving_water_name": "岐江河",
                "town": town, "location": "工业大道", "surveyed_on": "2026-03-01", "discharge_mode": mode }),
    )
}

/// The rollups read from the kept counts equal those counted over the items, and lists filtered by a
/// choice equal the items filtered here, for every scope, filter and grouping.
async fn assert_counts_match<D: TestDb>(s: &SqlStore<D>, org: &OrgTree, step: &str) {
    let guzhen = org.by_code("guzhen").unwrap().id;
    let xiaolan = org.by_code("xiaolan").unwrap().id;
    let swuj = org.by_code("swuj").unwrap().id;
    let scopes = [
        LedgerScope::All,
        LedgerScope::Town(guzhen),
        LedgerScope::Town(xiaolan),
        LedgerScope::Units(vec![swuj]),
        LedgerScope::Nothing,
    ];
    let choice = |field: &str, code: &str| vec![(field.to_owned(), code.to_owned())];
    let filters = [
        LedgerFilter::default(),
        LedgerFilter { stage: Some("monitor".into()), ..LedgerFilter::default() },
        LedgerFilter { town_id: Some(guzhen), ..LedgerFilter::default() },
        LedgerFilter { choices: choice("outlet_type", "GY"), ..LedgerFilter::default() },
        LedgerFilter { choices: choice("discharge_mode", "continuous"), ..LedgerFilter::default() },
        LedgerFilter {
            stage: Some("survey".into()),
            town_id: Some(xiaolan),
            choices: choice("discharge_mode", "intermittent"),
            ..LedgerFilter::default()
        },
        LedgerFilter {
            choices: vec![("outlet_type".into(), "WS".into()), ("discharge_mode".into(), "continuous".into())],
            ..LedgerFilter::default()
        },
        LedgerFilter { unit_id: Some(swuj), ..LedgerFilter::default() },
        LedgerFilter { text: Some("排口1".into()), ..LedgerFilter::default() },
    ];
    let bys = [
        RollupBy::Town,
        RollupBy::Choice("outlet_type".into()),
        RollupBy::Choice("discharge_mode".into()),
        RollupBy::Choice("remediation".into()),
    ];
    let all = s.ledger_items_after("outlet", &LedgerFilter::default(), &LedgerScope::All, None, 10_000).await.unwrap();
    for scope in &scopes {
        for filter in &filters {
            for by in &bys {
                let kept = s.ledger_rollup("outlet", filter, scope, by.clone()).await.unwrap();
                let counted = s.ledger_rollup_counted("outlet", filter, scope, by.clone()).await.unwrap();
                assert_eq!(kept, counted, "{step}: {scope:?} {filter:?} {by:?}");
            }
            let matches = |i: &&LedgerItem| {
                scope.permits(i.town_id, i.unit_id)
                    && filter.stage.as_ref().is_none_or(|st| &i.stage == st)
                    && filter.town_id.is_none_or(|t| i.town_id == Some(t))
                    && filter.unit_id.is_none_or(|u| i.unit_id == Some(u))
                    && filter.text.as_ref().is_none_or(|t| i.key.contains(t) || i.name.as_ref().is_some_and(|n| n.contains(t)))
                    && filter.choices.iter().all(|(f, code)| {
                        matches!(i.values.get(f), Some(mashangban_domain::ledger::FieldValue::Choice(c)) if c == code)
                    })
            };
            let expected: Vec<&str> = all.iter().filter(matches).map(|i| i.key.as_str()).collect();
            let page = LedgerFilter { limit: 3, offset: 1, ..filter.clone() };
            let listed = s.list_ledger_items("outlet", &page, scope).await.unwrap();
            let keys: Vec<&str> = listed.items.iter().map(|i| i.key.as_str()).collect();
            let want: Vec<&str> = expected.iter().skip(1).take(3).copied().collect();
            assert_eq!((listed.total, keys), (expected.len() as u64, want), "{step}: list {scope:?} {filter:?}");
        }
    }
}

async fn kept_counts_and_choice_values_follow_every_write<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    install(s).await;
    let org = org(s).await;
    let ty = bundled::by_code("outlet").unwrap();
    let towns = ["guzhen", "xiaolan"];
    let modes = [None, Some("continuous"), Some("intermittent")];
    let swuj = org.by_code("swuj").unwrap().id;

    // Creates: two towns, four types, three discharge modes, some items with no town.
    let mut writes = Vec::new();
    for n in 1..=24u32 {
        let v = outlet_values(&ty, &org, n, towns[n as usize % 2], modes[n as usize % 3]);
        let mut w = LedgerWrite { stage: "survey".into(), ..new_write(&ty, &org, v) };
        if n % 7 == 0 {
            w.town_id = None;
        }
        if n % 5 == 0 {
            w.unit_id = Some(swuj);
        }
        writes.push(w);
    }
    s.write_ledger_items(writes, author(0)).await.unwrap();
    assert_counts_match(s, &org, "created").await;

    // Moves and changes: stage moves, a new town, a new discharge mode, a mode emptied.
    let items = s.ledger_items_after("outlet", &LedgerFilter::default(), &LedgerScope::All, None, 100).await.unwrap();
    let mut writes = Vec::new();
    for (n, item) in items.iter().enumerate().filter(|(n, _)| n % 3 != 2) {
        let (town, mode) = (towns[(n + 1) % 2], modes[(n + 2) % 3]);
        let number: u32 = item.key[16..].parse().unwrap();
        let v = if n % 2 == 0 { item.values.clone() } else { outlet_values(&ty, &org, number, town, mode) };
        let stage = ["survey", "monitor", "trace", "remediate", "closed"][n % 5];
        let mut w = LedgerWrite {
            id: Some(item.id),
            expected_version: item.version,
            key: item.key.clone(),
            stage: stage.into(),
            from_stage: Some(item.stage.clone()),
            action: LedgerAction::Moved,
            changes: diff(&ty, &item.values, &v),
            ..new_write(&ty, &org, v)
        };
        if n % 2 == 0 {
            (w.town_id, w.unit_id) = (item.town_id, item.unit_id);
        }
        writes.push(w);
    }
    s.write_ledger_items(writes, author(1)).await.unwrap();
    assert_counts_match(s, &org, "moved").await;

    // An import: new items in bulk, and a changed one.
    let first = s.ledger_item("outlet", &items[2].key, &LedgerScope::All).await.unwrap().unwrap();
    let number: u32 = first.key[16..].parse().unwrap();
    let changed = outlet_values(&ty, &org, number, "xiaolan", Some("intermittent"));
    let mut writes = vec![LedgerWrite {
        id: Some(first.id),
        expected_version: first.version,
        action: LedgerAction::Imported,
        changes: diff(&ty, &first.values, &changed),
        stage: "monitor".into(),
        ..new_write(&ty, &org, changed)
    }];
    for n in 101..=160u32 {
        let v = outlet_values(&ty, &org, n, towns[n as usize % 2], modes[n as usize % 3]);
        writes.push(LedgerWrite { action: LedgerAction::Imported, ..new_write(&ty, &org, v) });
    }
    let head = s.feed_head().await.unwrap();
    assert_eq!(s.import_ledger_items(writes, author(2)).await.unwrap(), 61);
    assert_counts_match(s, &org, "imported").await;
    let imported = s.ledger_item("outlet", "HE000001442000GY0104", &LedgerScope::All).await.unwrap().unwrap();
    let events = s.ledger_item_events(imported.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action, events[0].item_version, events[0].at), (LedgerAction::Imported, 1, at(2)));
    assert_eq!(events[0].changes, diff(&ty, &Values::new(), &imported.values), "every cell's before and after");
    let feed = s.changes_after(head, 1000).await.unwrap();
    assert_eq!(feed.iter().filter(|c| c.kind == "imported").count(), 61, "a change-feed row per item");

    // An import with a key taken since the look-up writes nothing, the counts included.
    let before = s.ledger_rollup("outlet", &LedgerFilter::default(), &LedgerScope::All, RollupBy::Town).await.unwrap();
    let mut writes = Vec::new();
    for n in [201u32, 101] {
        let v = outlet_values(&ty, &org, n, "guzhen", None);
        writes.push(LedgerWrite { action: LedgerAction::Imported, ..new_write(&ty, &org, v) });
    }
    assert_eq!(refusal(s.import_ledger_items(writes, author(3)).await), "ledger_key_exists");
    let after = s.ledger_rollup("outlet", &LedgerFilter::default(), &LedgerScope::All, RollupBy::Town).await.unwrap();
    assert_eq!(before, after);
    assert!(s.ledger_item("outlet", "HE000001442000WS0201", &LedgerScope::All).await.unwrap().is_none());
    assert_counts_match(s, &org, "refused import").await;

    // A type change that drops a choice field migrates every item: its values and counts go.
    let mut def = ty.def().clone();
    def.version = 2;
    def.fields.retain(|f| f.code != "discharge_mode");
    let saved = s.save_ledger_type(LedgerType::from_def(def).unwrap(), 1, Arc::clone(&org), author(4)).await.unwrap();
    assert!(saved.migrated_items > 0);
    assert_counts_match(s, &org, "type changed").await;
    let modes =
        LedgerFilter { choices: vec![("discharge_mode".into(), "continuous".into())], ..LedgerFilter::default() };
    assert_eq!(s.list_ledger_items("outlet", &modes, &LedgerScope::All).await.unwrap().total, 0);

    // The kept tables are what the rollups read: emptied, they answer nothing; rebuilt, the same again.
    let (none, everyone) = (LedgerFilter::default(), LedgerScope::All);
    let by_town = || s.ledger_rollup("outlet", &none, &everyone, RollupBy::Town);
    let kept: StoreResult<_> = by_town().await;
    execute(s, "DELETE FROM ledger_rollups", vec![]).await.unwrap();
    execute(s, "DELETE FROM ledger_item_choices", vec![]).await.unwrap();
    assert!(by_town().await.unwrap().is_empty());
    assert_eq!(s.rebuild_ledger_rollups().await.unwrap(), 24 + 60);
    assert_eq!(by_town().await.unwrap(), kept.unwrap());
    assert_counts_match(s, &org, "rebuilt").await;
}
