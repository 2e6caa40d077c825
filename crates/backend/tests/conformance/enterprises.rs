//! The enterprise registry (企业名录) on both databases: stale and
//! out-of-scope edits refused (also between two nodes), imports counted before
//! they are applied and all or nothing.

use std::sync::Arc;

use mashangban_domain::enterprise::{EnterpriseInput, EnterpriseScope, EnterpriseSize};
use mashangban_domain::org::UnitKind;
use mashangban_domain::validation::CreditCode;
use mashangban_store::{EnterpriseFilter, EnterpriseStore, OrgStore, UpsertCounts};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{TestDb, at, refusal};

on_both!(
    edits_need_the_current_version_and_the_scope,
    two_nodes_editing_one_version_let_exactly_one_through,
    an_import_counts_before_it_writes_and_is_all_or_nothing,
    a_large_import_writes_every_row_in_batches,
);

/// Two towns; answers their ids.
pub(crate) async fn towns<D: TestDb>(store: &SqlStore<D>) -> (i64, i64) {
    store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let a = store.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap().id;
    let b = store.upsert_unit(unit("xiaolan", UnitKind::Town, Some("city"))).await.unwrap().id;
    (a, b)
}

pub(crate) fn input(n: u32, name: &str, town_id: i64) -> EnterpriseInput {
    EnterpriseInput {
        credit_code: CreditCode::with_check_char(&format!("91442000MA51{n:05}")).unwrap(),
        name: name.into(),
        town_id,
        address: None,
        industry_code: None,
        industry_name: None,
        size: None,
        registered_on: None,
        contact_name: None,
        contact_phone: Some("13800138000".into()),
        tags: vec![],
    }
}

pub(crate) fn by() -> String {
    "测试（admin）".into()
}

async fn edits_need_the_current_version_and_the_scope<D: TestDb>() {
    let env = D::create().await;
    let s = &env.store;
    let (guzhen, xiaolan) = towns(s).await;
    let created = s.create_enterprise(input(1, "华艺灯饰", guzhen), at(0), by()).await.unwrap();
    assert_eq!((created.version, created.town_id, created.updated_at), (1, guzhen, at(0)));
    assert_eq!(refusal(s.create_enterprise(input(1, "重复", guzhen), at(1), by()).await), "enterprise_exists");
    let code = created.credit_code.clone();
    let moved = s.update_enterprise(input(1, "华艺灯饰", xiaolan), 1, EnterpriseScope::All, at(2), by()).await.unwrap();
    assert_eq!((moved.version, moved.town_id, moved.created_at, moved.updated_at), (2, xiaolan, at(0), at(2)));
    let unchanged = s.update_enterprise(input(1, "华艺灯饰", xiaolan), 2, EnterpriseScope::All, at(3), by()).await;
    assert_eq!(unchanged.unwrap().version, 2, "an edit that changes nothing writes nothing");
    let stale = s.update_enterprise(input(1, "旧版", xiaolan), 1, EnterpriseScope::All, at(4), by()).await;
    assert_eq!(refusal(stale), "enterprise_changed");
    let elsewhere = s.update_enterprise(input(1, "别镇", xiaolan), 2, EnterpriseScope::Town(guzhen), at(4), by());
    assert_eq!(refusal(elsewhere.await), "enterprise_not_found");
    assert_eq!(s.enterprise(&code, EnterpriseScope::Town(guzhen)).await.unwrap(), None);
    assert_eq!(s.enterprise(&code, EnterpriseScope::Nothing).await.unwrap(), None);
    assert_eq!(s.enterprise(&code, EnterpriseScope::Town(xiaolan)).await.unwrap().unwrap().name, "华艺灯饰");
}

async fn two_nodes_editing_one_version_let_exactly_one_through<D: TestDb>() {
    let env = D::create().await;
    let (guzhen, _) = towns(&env.store).await;
    env.store.create_enterprise(input(1, "华艺灯饰", guzhen), at(0), by()).await.unwrap();
    let nodes = [env.store(), env.other_node().await];
    let edits = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = nodes
        .into_iter()
        .enumerate()
        .map(|(i, store)| {
            let edits = Arc::clone(&edits);
            tokio::spawn(async move {
                edits.wait().await;
                let edit = input(1, &format!("第{i}次改名"), guzhen);
                store.update_enterprise(edit, 1, EnterpriseScope::All, at(1), by()).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let loser = results.into_iter().find(|r| r.is_err()).unwrap();
    assert_eq!(refusal(loser), "enterprise_changed");
}

async fn an_import_counts_before_it_writes_and_is_all_or_nothing<D: TestDb>() {
    let env = D::create().await;
    let s = &env.store;
    let (guzhen, xiaolan) = towns(s).await;
    s.create_enterprise(input(1, "华艺灯饰", guzhen), at(0), by()).await.unwrap();
    s.create_enterprise(input(2, "小榄五金", xiaolan), at(0), by()).await.unwrap();
    let file = vec![input(1, "华艺灯饰", guzhen), input(2, "小榄五金制品", xiaolan), input(3, "新企业", guzhen)];
    let expected = UpsertCounts { new: 1, updated: 1, unchanged: 1 };
    let all = EnterpriseFilter { limit: 100, ..EnterpriseFilter::default() };
    assert_eq!(s.upsert_enterprises(file.clone(), false, at(1), by()).await.unwrap(), expected);
    assert_eq!(s.list_enterprises(&all, EnterpriseScope::All).await.unwrap().total, 2, "a preview writes nothing");

    // A row naming a town that does not exist fails the whole file.
    let mut broken = file.clone();
    broken.push(input(4, "无镇企业", 999_999));
    assert!(s.upsert_enterprises(broken, true, at(1), by()).await.is_err());
    let page = s.list_enterprises(&all, EnterpriseScope::All).await.unwrap();
    assert_eq!(page.total, 2);
    assert!(page.items.iter().all(|e| e.version == 1), "{page:?}");

    assert_eq!(s.upsert_enterprises(file, true, at(2), by()).await.unwrap(), expected);
    let page = s.list_enterprises(&all, EnterpriseScope::All).await.unwrap();
    let rows: Vec<(&str, i64)> = page.items.iter().map(|e| (e.name.as_str(), e.version)).collect();
    assert_eq!(page.total, 3);
    assert!(rows.contains(&("华艺灯饰", 1)) && rows.contains(&("小榄五金制品", 2)) && rows.contains(&("新企业", 1)));
    let town = EnterpriseFilter { town_id: Some(guzhen), ..all.clone() };
    assert_eq!(s.list_enterprises(&town, EnterpriseScope::All).await.unwrap().total, 2);
    assert_eq!(s.list_enterprises(&all, EnterpriseScope::Town(xiaolan)).await.unwrap().total, 1);
}

/// More new rows than one INSERT carries (the store writes them 200 to a statement), mixed with an
/// update: every row is written whole, the last batch's too, and a failure in the last batch undoes
/// the first.
async fn a_large_import_writes_every_row_in_batches<D: TestDb>() {
    let env = D::create().await;
    let s = &env.store;
    let (guzhen, xiaolan) = towns(s).await;
    s.create_enterprise(input(1, "华艺灯饰", guzhen), at(0), by()).await.unwrap();
    let mut file: Vec<EnterpriseInput> = (2..=451).map(|n| input(n, &format!("企业{n}"), xiaolan)).collect();
    file.push(input(1, "华艺灯饰有限公司", guzhen));
    let mut broken = file.clone();
    broken.push(input(999, "无镇企业", 999_999));
    assert!(s.upsert_enterprises(broken, true, at(1), by()).await.is_err());
    let all = EnterpriseFilter { limit: 500, ..EnterpriseFilter::default() };
    assert_eq!(s.list_enterprises(&all, EnterpriseScope::All).await.unwrap().total, 1, "all or nothing");

    let counts = s.upsert_enterprises(file, true, at(2), by()).await.unwrap();
    assert_eq!(counts, UpsertCounts { new: 450, updated: 1, unchanged: 0 });
    let page = s.list_enterprises(&all, EnterpriseScope::Town(xiaolan)).await.unwrap();
    assert_eq!(page.total, 450);
    let last = input(451, "", 0).credit_code;
    let stored = s.enterprise(last.as_str(), EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.town_id, stored.version), ("企业451", xiaolan, 1));
    assert_eq!(stored.contact_phone.as_deref(), Some("13800138000"));
    let first = s.enterprise(input(1, "", 0).credit_code.as_str(), EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((first.name.as_str(), first.version), ("华艺灯饰有限公司", 2));

    // A re-import that changes 400 of the 450 records: updated in batches, every column, all or nothing.
    let changed = |n: u32| {
        let mut e = input(n, &format!("企业{n}（更名）"), guzhen);
        e.address = Some(format!("古镇镇曹二路{n}号"));
        e.industry_code = Some("C3872".into());
        e.industry_name = Some("照明灯具制造".into());
        e.size = Some(EnterpriseSize::Above);
        e.registered_on = chrono::NaiveDate::from_ymd_opt(2020, 1, 2);
        e.contact_name = Some("区志强".into());
        e.contact_phone = Some(format!("139{n:08}"));
        e.tags = vec!["灯饰".into()];
        e
    };
    let reimport: Vec<EnterpriseInput> =
        (2..=451).map(|n| if n <= 401 { changed(n) } else { input(n, &format!("企业{n}"), xiaolan) }).collect();
    let mut broken = reimport.clone();
    broken[399].town_id = 999_999;
    assert!(s.upsert_enterprises(broken, true, at(3), by()).await.is_err());
    let untouched = s.enterprise(input(2, "", 0).credit_code.as_str(), EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((untouched.name.as_str(), untouched.version), ("企业2", 1), "all or nothing");
    let counts = s.upsert_enterprises(reimport.clone(), true, at(4), by()).await.unwrap();
    assert_eq!(counts, UpsertCounts { new: 0, updated: 400, unchanged: 50 });
    for n in [2, 200, 401] {
        let e = s.enterprise(input(n, "", 0).credit_code.as_str(), EnterpriseScope::All).await.unwrap().unwrap();
        assert!(e.holds(&changed(n)), "{n}: {e:?}");
        assert_eq!((e.version, e.updated_at, e.created_at), (2, at(4), at(2)), "{n}");
    }
    assert_eq!(s.list_enterprises(&all, EnterpriseScope::Town(xiaolan)).await.unwrap().total, 50);
    let again = s.upsert_enterprises(reimport, true, at(5), by()).await.unwrap();
    assert_eq!(again, UpsertCounts { new: 0, updated: 0, unchanged: 450 });
}
