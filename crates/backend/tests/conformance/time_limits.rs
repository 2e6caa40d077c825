//! The versioned time-limit rule table (时限规则).

use mashangban_domain::org::Actor;
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::TimeLimitStore;

use crate::support::{TestDb, minutes, refusal};

on_both!(
    the_defaults_are_version_1_and_publishing_adds_versions,
    concurrent_rule_publishers_get_distinct_versions,
    nodes_asking_for_the_rules_at_once_store_the_defaults_once,
);

async fn the_defaults_are_version_1_and_publishing_adds_versions<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let defaults = RuleSet::guangdong_defaults();
    assert_eq!(s.current_rules().await.unwrap(), defaults);
    assert_eq!(defaults.version, 1);
    let mut rules = defaults.rules.clone();
    rules.truncate(rules.len() - 1);
    let published = s.publish_rules(rules.clone(), &Actor::System, minutes(10)).await.unwrap();
    assert_eq!(published, RuleSet { version: 2, rules: rules.clone() });
    assert_eq!(s.current_rules().await.unwrap(), published);
    assert_eq!(refusal(s.publish_rules(vec![], &Actor::System, minutes(20)).await), "invalid_time_limits");
    let versions = s.rule_versions().await.unwrap();
    let summary: Vec<(i64, usize, &str)> =
        versions.iter().map(|v| (v.version, v.rules.len(), v.created_by.as_str())).collect();
    assert_eq!(summary, [(2, rules.len(), "系统（system）"), (1, defaults.rules.len(), "系统默认（广东省标准）")]);
    assert_eq!(versions[0].created_at, minutes(10));
    assert_eq!(versions[1].rules, defaults.rules);
    // The backend's own store reads and continues the same versions.
    assert_eq!(db.store().current_rules().await.unwrap(), published);
    db.store().publish_rules(defaults.rules.clone(), &Actor::System, minutes(30)).await.unwrap();
    assert_eq!(s.current_rules().await.unwrap(), RuleSet { version: 3, rules: defaults.rules });
    assert_eq!(
        format!("{:?}", s.rule_versions().await.unwrap()),
        format!("{:?}", db.store().rule_versions().await.unwrap())
    );
}

/// Ported from the PostgreSQL store's tests: publishers take turns.
async fn concurrent_rule_publishers_get_distinct_versions<T: TestDb>() {
    let db = T::create().await;
    let (s, other) = (db.store(), db.other_node().await);
    let rules = s.current_rules().await.unwrap().rules;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let store = if i % 2 == 0 { s.clone() } else { other.clone() };
        let rules = rules.clone();
        tasks.spawn(async move { store.publish_rules(rules, &Actor::System, minutes(i)).await.unwrap().version });
    }
    let mut versions = tasks.join_all().await;
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5, 6, 7]);
    assert_eq!(other.rule_versions().await.unwrap().len(), 7);
}

async fn nodes_asking_for_the_rules_at_once_store_the_defaults_once<T: TestDb>() {
    let db = T::create().await;
    let (s, other) = (db.store(), db.other_node().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.spawn(async move { store.current_rules().await.unwrap() });
    }
    for set in tasks.join_all().await {
        assert_eq!(set, RuleSet::guangdong_defaults());
    }
    assert_eq!(s.rule_versions().await.unwrap().len(), 1);
}
