//! The statistics panel's storage: the catalogue, values with their
//! append-only history (a correction keeps the old value), writes guarded by
//! the data set's version, and a write that fails part-way leaving nothing.

use mashangban_domain::statistics::{BUNDLED_STATISTICS, IndicatorEdit, Observation, Period, parse_statistics_toml};
use mashangban_store::{
    ChangeEntity, ChangeStore, IndicatorAction, StatisticsAction, StatisticsAuthor, StatisticsStore, StatisticsWrite,
};

use crate::support::{Env, TestDb, at, execute, refusal};

on_both!(
    values_are_stored_and_corrections_keep_their_history,
    writes_are_all_or_nothing_and_guarded_by_version,
    catalogue_edits_keep_their_history_and_are_guarded,
    publications_are_snapshots_kept_in_order
);

fn office(minutes: i64) -> StatisticsAuthor {
    StatisticsAuthor { user_id: Some(3), name: "统计员（admin）".into(), at: at(minutes) }
}

fn q3(year: i32) -> Period {
    Period::new(year, 9).unwrap()
}

fn write(indicator: &str, period: Period, value: f64) -> StatisticsWrite {
    StatisticsWrite {
        observation: Observation { indicator: indicator.into(), period, value, price_index: None, real_growth: None },
        source: Some("中山市统计局".into()),
        note: None,
    }
}

/// Saves the demo catalogue; answers the data set's version after it.
async fn with_catalog<D: TestDb>(env: &Env<D>) -> i64 {
    let demo = parse_statistics_toml(BUNDLED_STATISTICS).unwrap();
    env.store()
        .save_statistics_catalog("全市".into(), demo.catalog().indicators().to_vec(), 0, office(0))
        .await
        .unwrap()
}

async fn values_are_stored_and_corrections_keep_their_history<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let empty = s.statistics_data().await.unwrap();
    assert_eq!((empty.indicators.len(), empty.values.len(), empty.version), (0, 0, 0));
    assert_eq!(empty.area, "全市");
    let version = with_catalog(&env).await;
    assert_eq!(version, 1);
    let head = s.feed_head().await.unwrap();

    let mut income = write("disposable_income_per_capita", q3(2021), 44889.0);
    income.observation.price_index = Some(100.9);
    let first = s
        .write_statistics_values(vec![write("gdp", q3(2021), 2527.0), income.clone()], false, version, office(1))
        .await
        .unwrap();
    assert_eq!((first.new, first.corrected, first.unchanged, first.version), (2, 0, 0, 2));

    let mut fixed = write("gdp", q3(2021), 2527.54);
    fixed.note = Some("按统计局正式发布数更正".into());
    let second = s.write_statistics_values(vec![fixed, income], true, 2, office(2)).await.unwrap();
    assert_eq!((second.new, second.corrected, second.unchanged), (0, 1, 1), "the same value is left alone");

    let data = s.statistics_data().await.unwrap();
    assert_eq!(data.indicators.len(), 8);
    assert_eq!(data.indicators[0].code, "gdp", "the catalogue keeps its order");
    assert_eq!(data.version, 3);
    let gdp = data.values.iter().find(|v| v.observation.indicator == "gdp").unwrap();
    assert_eq!((gdp.observation.value, gdp.version, gdp.entered_at), (2527.54, 2, at(2)));
    let income = data.values.iter().find(|v| v.observation.indicator == "disposable_income_per_capita").unwrap();
    assert_eq!((income.observation.price_index, income.version), (Some(100.9), 1));

    let history = s.statistics_history("gdp", q3(2021)).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].action, history[0].before.as_ref(), history[0].after.value),
        (StatisticsAction::Entered, None, 2527.0)
    );
    assert_eq!(history[1].action, StatisticsAction::Corrected);
    assert_eq!(history[1].before.as_ref().map(|b| b.value), Some(2527.0), "the old value is kept");
    assert_eq!((history[1].after.value, history[1].version), (2527.54, 2));
    assert_eq!(history[1].note.as_deref(), Some("按统计局正式发布数更正"));
    assert_eq!(
        (history[1].by_name.as_str(), history[1].by_user_id, history[1].at),
        ("统计员（admin）", Some(3), at(2))
    );

    let feed: Vec<(String, String)> = s
        .changes_after(head, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.entity == ChangeEntity::Statistics)
        .map(|c| (c.key, c.kind))
        .collect();
    let expected =
        [("gdp:2021-Q3", "entered"), ("disposable_income_per_capita:2021-Q3", "entered"), ("gdp:2021-Q3", "corrected")];
    assert_eq!(feed, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    for sql in ["UPDATE statistics_value_history SET note = 'x'", "DELETE FROM statistics_value_history"] {
        let err = execute(&s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }

    // An indicator with values cannot leave the catalogue; one without can.
    let demo = parse_statistics_toml(BUNDLED_STATISTICS).unwrap();
    let without_gdp: Vec<_> =
        demo.catalog().indicators().iter().filter(|i| i.code == "industry_above_size").cloned().collect();
    assert_eq!(
        refusal(s.save_statistics_catalog("全市".into(), without_gdp.clone(), 3, office(3)).await),
        "indicator_in_use"
    );
    let mut only_used: Vec<_> = demo.catalog().indicators().to_vec();
    only_used.retain(|i| i.code != "industry_above_size");
    assert_eq!(s.save_statistics_catalog("全市".into(), only_used, 3, office(3)).await.unwrap(), 4);
    assert_eq!(s.statistics_data().await.unwrap().indicators.len(), 7);
}

async fn writes_are_all_or_nothing_and_guarded_by_version<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let version = with_catalog(&env).await;
    s.write_statistics_values(vec![write("gdp", q3(2020), 2266.85)], true, version, office(1)).await.unwrap();

    // Checked against version 1, but the data set is at 2 now: refused, nothing written.
    let stale = vec![write("gdp", q3(2021), 2527.54)];
    assert_eq!(refusal(s.write_statistics_values(stale, true, version, office(2)).await), "statistics_changed");

    // The third row names an unknown indicator: the first two are rolled back with it.
    let rows =
        vec![write("gdp", q3(2021), 2527.54), write("gdp", q3(2020), 1.0), write("no_such_indicator", q3(2021), 1.0)];
    assert_eq!(refusal(s.write_statistics_values(rows, true, 2, office(3)).await), "unknown_indicator");
    let data = s.statistics_data().await.unwrap();
    assert_eq!(data.version, 2, "the version bump was rolled back too");
    let values: Vec<(Period, f64)> = data.values.iter().map(|v| (v.observation.period, v.observation.value)).collect();
    assert_eq!(values, [(q3(2020), 2266.85)]);
    assert_eq!(s.statistics_history("gdp", q3(2020)).await.unwrap().len(), 1);
    assert!(s.statistics_history("gdp", q3(2021)).await.unwrap().is_empty());

    // A catalogue saved against an old version is refused too.
    let demo = parse_statistics_toml(BUNDLED_STATISTICS).unwrap();
    let catalog = demo.catalog().indicators().to_vec();
    assert_eq!(
        refusal(s.save_statistics_catalog("全市".into(), catalog.clone(), 1, office(4)).await),
        "statistics_changed"
    );
    let mut broken = catalog;
    broken[1].parent = Some("missing".into());
    assert_eq!(
        refusal(s.save_statistics_catalog("全市".into(), broken, 2, office(4)).await),
        "invalid_indicator_catalog"
    );
}

async fn catalogue_edits_keep_their_history_and_are_guarded<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let version = with_catalog(&env).await;
    let data = s.statistics_data().await.unwrap();
    // A catalogue saved whole (a data file) records each indicator as added.
    assert_eq!(data.indicator_version("gdp"), 1);
    let history = s.statistics_indicator_history("gdp").await.unwrap();
    assert_eq!((history[0].action, history[0].via.as_str()), (IndicatorAction::Added, "data_file"));

    let mut primary = data.indicators.iter().find(|i| i.code == "gdp_primary").unwrap().clone();
    let before = primary.clone();
    primary.name = "第一产业增加值（农林牧渔业）".into();
    let edited =
        s.edit_statistics_indicator(IndicatorEdit::Change(primary.clone()), Some(1), version, office(1)).await.unwrap();
    assert_eq!(edited, 2);
    let history = s.statistics_indicator_history("gdp_primary").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!((history[1].action, history[1].via.as_str()), (IndicatorAction::Changed, "editor"));
    assert_eq!((history[1].before.as_ref(), history[1].after.as_ref()), (Some(&before), Some(&primary)));

    // The data set moved on: an edit checked against the old version is refused, nothing written.
    let mut again = primary.clone();
    again.unit = "万元".into();
    assert_eq!(
        refusal(s.edit_statistics_indicator(IndicatorEdit::Change(again.clone()), Some(2), version, office(2)).await),
        "statistics_changed"
    );
    // The indicator moved on: an edit made on its old version is refused.
    let now = version + 1;
    assert_eq!(
        refusal(s.edit_statistics_indicator(IndicatorEdit::Change(primary.clone()), Some(1), now, office(2)).await),
        "statistics_indicator_changed"
    );
    // The catalogue's rules are checked by the store too: a cycle is refused.
    let mut gdp = s.statistics_data().await.unwrap().indicators[0].clone();
    gdp.parent = Some("gdp_primary".into());
    assert_eq!(
        refusal(s.edit_statistics_indicator(IndicatorEdit::Change(gdp), Some(1), now, office(2)).await),
        "indicator_cycle"
    );
    let mut added = primary.clone();
    added.code = "gdp_primary_farming".into();
    added.name = "农业增加值".into();
    added.parent = Some("gdp_primary".into());
    let v = s.edit_statistics_indicator(IndicatorEdit::Add(added.clone()), None, now, office(3)).await.unwrap();
    assert_eq!(v, 1);
    let data = s.statistics_data().await.unwrap();
    assert_eq!(data.indicators.last(), Some(&added), "added at the end");
    assert_eq!((data.version, data.indicator_version("gdp_primary")), (now + 1, 2));
    for sql in ["UPDATE statistics_indicator_history SET by_name = 'x'", "DELETE FROM statistics_indicator_history"] {
        let err = execute(&s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }

    // A data file leaving an indicator out records its removal.
    let kept: Vec<_> = data.indicators.iter().filter(|i| i.code != "gdp_primary_farming").cloned().collect();
    s.save_statistics_catalog("全市".into(), kept, data.version, office(4)).await.unwrap();
    let history = s.statistics_indicator_history("gdp_primary_farming").await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.action).collect::<Vec<_>>(),
        [IndicatorAction::Added, IndicatorAction::Removed]
    );
    assert_eq!(history[1].after, None);
}

async fn publications_are_snapshots_kept_in_order<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    assert_eq!(s.statistics_publication(None).await.unwrap(), None);
    let version = with_catalog(&env).await;
    let first = s.publish_statistics(q3(2021), "{\"v\":1}".into(), version, office(1)).await.unwrap();
    assert_eq!((first.period, first.data_version), (q3(2021), version));
    // Published from data that has moved on: refused.
    assert_eq!(
        refusal(s.publish_statistics(q3(2021), "{}".into(), version - 1, office(2)).await),
        "statistics_changed"
    );
    s.publish_statistics(q3(2020), "{\"v\":2}".into(), version, office(2)).await.unwrap();
    let latest = s.publish_statistics(q3(2021), "{\"v\":3}".into(), version, office(3)).await.unwrap();
    let shown = s.statistics_publication(Some(q3(2021))).await.unwrap().unwrap();
    assert_eq!((shown.entry, shown.panel.as_str()), (latest.clone(), "{\"v\":3}"), "the newest of the period");
    let default = s.statistics_publication(None).await.unwrap().unwrap();
    assert_eq!(default.entry.period, q3(2021), "the latest period by default");
    assert_eq!(s.statistics_publication(Some(q3(2019))).await.unwrap(), None);
    let all = s.statistics_publications().await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        [latest.id, all[1].id, first.id],
        "newest first, all kept"
    );
    for sql in ["UPDATE statistics_publications SET panel = 'x'", "DELETE FROM statistics_publications"] {
        let err = execute(&s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
