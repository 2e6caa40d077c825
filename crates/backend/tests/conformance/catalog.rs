//! Categories (事项分类) and the dispatch catalogue.

use std::collections::HashMap;

use mashangban_domain::org::UnitKind;
use mashangban_store::{CatalogStore, Category, NewCategory, NewUnit, OrgStore};

use crate::org::org;
use crate::support::{TestDb, refusal};

on_both!(
    categories_are_upserted_by_code_with_known_parents_and_lead_units,
    the_demo_org_and_catalogue_load_alike_and_twice
);

fn category(code: &str, parent: Option<&str>, lead: Option<&str>, keywords: &[&str]) -> NewCategory {
    NewCategory {
        code: code.into(),
        name: format!("分类{code}"),
        parent_code: parent.map(str::to_owned),
        lead_unit_code: lead.map(str::to_owned),
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
    }
}

async fn categories_are_upserted_by_code_with_known_parents_and_lead_units<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    let top = s.upsert_category(category("env", None, None, &[])).await.unwrap();
    assert_eq!((top.parent_id, top.default_lead_unit_id, top.active), (None, None, true));
    assert!(top.keywords.is_empty());
    let leaf = s.upsert_category(category("noise", Some("env"), Some("a"), &["噪音", "施工"])).await.unwrap();
    assert_eq!((leaf.parent_id, leaf.default_lead_unit_id), (Some(top.id), Some(units[0])));
    assert_eq!(leaf.keywords, ["噪音", "施工"]);
    let moved = s.upsert_category(category("noise", None, Some("b"), &["夜间噪音"])).await.unwrap();
    assert_eq!((moved.id, moved.parent_id, moved.default_lead_unit_id), (leaf.id, None, Some(units[1])));
    assert_eq!(moved.keywords, ["夜间噪音"]);
    assert_eq!(refusal(s.upsert_category(category("x", Some("nowhere"), None, &[])).await), "unknown_category");
    assert_eq!(refusal(s.upsert_category(category("x", None, Some("nowhere"), &[])).await), "unknown_unit");
    let listed = s.list_categories().await.unwrap();
    assert_eq!(format!("{listed:?}"), format!("{:?}", [top, moved]));
    assert_eq!(format!("{:?}", db.store().list_categories().await.unwrap()), format!("{listed:?}"));
}

/// The stored org and catalogue as the inputs that make them.
async fn as_inputs(s: &(impl OrgStore + CatalogStore)) -> (Vec<NewUnit>, Vec<NewCategory>) {
    let units = s.list_units().await.unwrap();
    let unit_codes: HashMap<i64, String> = units.iter().map(|u| (u.id, u.code.clone())).collect();
    let categories = s.list_categories().await.unwrap();
    let category_codes: HashMap<i64, String> = categories.iter().map(|c| (c.id, c.code.clone())).collect();
    let units = units
        .into_iter()
        .map(|u| NewUnit {
            parent_code: u.parent_id.map(|p| unit_codes[&p].clone()),
            code: u.code,
            name: u.name,
            short_name: u.short_name,
            kind: u.kind,
        })
        .collect();
    let categories = categories
        .into_iter()
        .map(|c: Category| NewCategory {
            parent_code: c.parent_id.map(|p| category_codes[&p].clone()),
            lead_unit_code: c.default_lead_unit_id.map(|u| unit_codes[&u].clone()),
            code: c.code,
            name: c.name,
            keywords: c.keywords,
        })
        .collect();
    (units, categories)
}

async fn load(s: &(impl OrgStore + CatalogStore), (units, categories): &(Vec<NewUnit>, Vec<NewCategory>)) {
    for u in units {
        s.upsert_unit(u.clone()).await.unwrap();
    }
    for c in categories {
        s.upsert_category(c.clone()).await.unwrap();
    }
}

/// Ported from the PostgreSQL store's tests: the demo city loaded by the
/// backend's own store into one database and by the new store into another
/// reads alike, and loading it again changes nothing.
async fn the_demo_org_and_catalogue_load_alike_and_twice<T: TestDb>() {
    let (by_old, by_new) = (T::create().await, T::create().await);
    let data = mashangban_demo::DemoData::bundled().unwrap();
    mashangban_demo::load_org_and_catalog(&by_old.store(), &data).await.unwrap();
    let demo = as_inputs(&by_old.store()).await;
    assert!(demo.0.len() > 20 && demo.1.len() > 20, "the demo city is loaded");
    assert!(demo.0.iter().any(|u| u.kind == UnitKind::Town));
    let s = by_new.store();
    load(&s, &demo).await;
    let units = s.list_units().await.unwrap();
    let categories = format!("{:?}", s.list_categories().await.unwrap());
    assert_eq!(units, by_old.store().list_units().await.unwrap());
    assert_eq!(categories, format!("{:?}", by_old.store().list_categories().await.unwrap()));
    load(&s, &demo).await;
    assert_eq!(s.list_units().await.unwrap(), units);
    assert_eq!(format!("{:?}", s.list_categories().await.unwrap()), categories);
}
