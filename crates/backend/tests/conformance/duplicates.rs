//! The duplicate and hot-issue thresholds (with the likeness weights) and automatic dispatch: none before an administrator saves any, each save a new
//! version with who and when, the newest in force.

use mashangban_domain::dispatch::{AutoRule, AutoRules};
use mashangban_domain::duplicates::{Thresholds, Weights};
use mashangban_store::{AutoDispatchStore, DuplicateStore};

use crate::support::{TestDb, at};

on_both!(thresholds_are_versioned_with_who_and_when);

async fn thresholds_are_versioned_with_who_and_when<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    assert_eq!(s.duplicate_thresholds().await.unwrap(), None);
    assert!(s.duplicate_thresholds_history(10).await.unwrap().is_empty());
    let first = s.save_duplicate_thresholds(Thresholds::default(), "管理员甲".into(), at(0)).await.unwrap();
    // The likeness weights and the cross-town similarity are kept with the rest.
    let stricter = Thresholds {
        similarity: 0.6,
        window_days: 14,
        hot_min_size: 8,
        hot_window_days: 10,
        hot_similarity: 0.42,
        cross_town_similarity: 0.7,
        weights: Weights { same_asker: 0.3, same_place: 0.0, same_category_and_town: 0.05 },
    }
    .checked()
    .unwrap();
    let second = s.save_duplicate_thresholds(stricter, "管理员乙".into(), at(5)).await.unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert_eq!((second.thresholds, second.changed_by.as_str(), second.changed_at), (stricter, "管理员乙", at(5)));
    // Another node reads the same version in force.
    let other = env.other_node().await;
    assert_eq!(other.duplicate_thresholds().await.unwrap(), Some(second.clone()));
    let history = s.duplicate_thresholds_history(10).await.unwrap();
    assert_eq!(history, [second, first.clone()]);
    assert_eq!(first.thresholds, Thresholds::default());
    assert_eq!(s.duplicate_thresholds_history(1).await.unwrap().len(), 1);
}

on_both!(automatic_dispatch_rules_are_versioned_with_who_and_when);

/// Automatic dispatch (自动派单) is kept the same way: none until saved, each save a version.
async fn automatic_dispatch_rules_are_versioned_with_who_and_when<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    assert_eq!(s.auto_dispatch().await.unwrap(), None);
    let rule = |category: &str, min_confidence| AutoRule { category: category.into(), min_confidence };
    let some = AutoRules::new(vec![rule("traffic", 0.9), rule("biz.change", 0.75)]).unwrap();
    let first = s.save_auto_dispatch(some.clone(), "管理员甲".into(), at(0)).await.unwrap();
    let off = s.save_auto_dispatch(AutoRules::default(), "管理员乙".into(), at(5)).await.unwrap();
    assert_eq!((first.version, off.version), (1, 2));
    assert_eq!((&first.rules, first.changed_by.as_str(), first.changed_at), (&some, "管理员甲", at(0)));
    assert_eq!(env.other_node().await.auto_dispatch().await.unwrap(), Some(off.clone()));
    assert!(off.rules.rules().is_empty());
    assert_eq!(s.auto_dispatch_history(10).await.unwrap(), [off, first]);
    assert_eq!(s.auto_dispatch_history(1).await.unwrap().len(), 1);
}
