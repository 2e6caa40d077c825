//! Saved views (保存的视图): one person's own, the limit and the unique name
//! checked in the write, renames and deletes of another person's refused.

use std::collections::BTreeMap;

use mashangban_domain::org::{Role, UnitKind};
use mashangban_store::{NewUser, OrgStore, SavedViewStore};

use crate::org::unit;
use crate::support::{Env, TestDb, at, refusal};

on_both!(views_are_each_persons_own_bounded_and_uniquely_named);

async fn user<D: TestDb>(env: &Env<D>, name: &str) -> i64 {
    let city = env.store.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap().id;
    let new = NewUser {
        username: name.into(),
        display_name: name.into(),
        role: Role::Dispatcher,
        unit_id: Some(city),
        credit_code: None,
        phone: None,
        password_hash: "x".into(),
    };
    env.store.create_user(new, crate::support::tester()).await.unwrap().id
}

fn filters(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn views_are_each_persons_own_bounded_and_uniquely_named<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (me, other) = (user(env, "me").await, user(env, "other").await);
    let kept = filters(&[("kind", "complaint"), ("q", "噪音 扰民")]);
    let v = s.create_saved_view(me, "work".into(), "投诉".into(), kept.clone(), 3, at(0)).await.unwrap();
    assert_eq!((v.user_id, v.name.as_str(), &v.filters, v.created_at, v.updated_at), (me, "投诉", &kept, at(0), at(0)));
    assert_eq!(
        refusal(s.create_saved_view(me, "work".into(), "投诉".into(), filters(&[("kind", "help")]), 3, at(1)).await),
        "view_name_taken"
    );
    // The same name is another person's to use.
    s.create_saved_view(other, "work".into(), "投诉".into(), filters(&[("kind", "help")]), 3, at(1)).await.unwrap();
    s.create_saved_view(me, "work".into(), "b".into(), filters(&[("town", "xiaolan")]), 3, at(2)).await.unwrap();
    s.create_saved_view(me, "work".into(), "a".into(), filters(&[("overdue", "true")]), 3, at(3)).await.unwrap();
    assert_eq!(
        refusal(s.create_saved_view(me, "work".into(), "c".into(), filters(&[("kind", "help")]), 3, at(4)).await),
        "too_many_views"
    );
    let names: Vec<String> = s.saved_views(me, "work").await.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["a", "b", "投诉"], "by name");

    assert_eq!(refusal(s.rename_saved_view(other, v.id, "mine".into(), at(5)).await), "view_not_found");
    assert_eq!(refusal(s.rename_saved_view(me, v.id, "a".into(), at(5)).await), "view_name_taken");
    let renamed = s.rename_saved_view(me, v.id, "投诉（全部）".into(), at(5)).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at, renamed.updated_at), ("投诉（全部）", at(0), at(5)));
    assert_eq!(
        s.rename_saved_view(me, v.id, "投诉（全部）".into(), at(6)).await.unwrap().updated_at,
        at(6),
        "its own name"
    );
    assert_eq!(refusal(s.delete_saved_view(other, v.id).await), "view_not_found");
    s.delete_saved_view(me, v.id).await.unwrap();
    assert_eq!(refusal(s.delete_saved_view(me, v.id).await), "view_not_found");
    assert_eq!(s.saved_views(me, "work").await.unwrap().len(), 2);
    assert_eq!(s.saved_views(other, "work").await.unwrap().len(), 1);

    // Each list has its own names and its own limit; a view keeps its list through a rename.
    let outlets = "ledger:outlet";
    let o =
        s.create_saved_view(me, outlets.into(), "a".into(), filters(&[("stage", "survey")]), 3, at(7)).await.unwrap();
    assert_eq!((o.list.as_str(), o.name.as_str()), (outlets, "a"), "the name a is the work page's, not the ledger's");
    for name in ["b", "c"] {
        s.create_saved_view(me, outlets.into(), name.into(), filters(&[("town", "guzhen")]), 3, at(8)).await.unwrap();
    }
    assert_eq!(
        refusal(s.create_saved_view(me, outlets.into(), "d".into(), filters(&[("q", "x")]), 3, at(9)).await),
        "too_many_views"
    );
    assert_eq!(refusal(s.rename_saved_view(me, o.id, "b".into(), at(9)).await), "view_name_taken");
    let renamed = s.rename_saved_view(me, o.id, "投诉（全部）".into(), at(9)).await.unwrap();
    assert_eq!(renamed.list, outlets, "a name the work page has is free in the ledger's list");
    let names: Vec<String> = s.saved_views(me, outlets).await.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["b", "c", "投诉（全部）"]);
    let names: Vec<String> = s.saved_views(me, "work").await.unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["a", "b"], "the work page's views are untouched");
    assert!(s.saved_views(other, outlets).await.unwrap().is_empty());
}
