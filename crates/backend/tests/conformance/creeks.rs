//! Creek samples and plans (河涌水质采样、一河一策) on both databases: samples
//! stored all together and read newest first from a time on, the newest per
//! item, append-only; a plan saved under its version with each change's
//! before and after, a stale version refused.

use std::collections::BTreeMap;

use mashangban_domain::creek::{Measure, MeasureKind, MeasureStatus, Plan};
use mashangban_store::{CreekAuthor, CreekStore, LedgerStore, NewCreekSample};

use crate::ledgers::{area, install, new_write, org, sewer, values};
use crate::support::{TestDb, at, execute, refusal};

on_both!(samples_are_stored_together_and_read_newest_first, plans_keep_every_version_and_refuse_stale_saves);

fn by(minutes: i64) -> CreekAuthor {
    CreekAuthor { user_id: Some(7), name: "测试（handler）".into(), at: at(minutes) }
}

fn sample(minutes: i64, cod: f64) -> NewCreekSample {
    NewCreekSample {
        sampled_at: at(minutes),
        section: Some("上游".into()),
        values: BTreeMap::from([("cod".to_owned(), cod), ("ammonia_nitrogen".to_owned(), 1.2)]),
        source: "manual".into(),
    }
}

/// Two ledger items to hang samples and plans on; their ids.
async fn items<D: TestDb>(s: &mashangban_store_sql::SqlStore<D>) -> (i64, i64) {
    install(s).await;
    let org = org(s).await;
    let ty = sewer();
    let a = new_write(&ty, &org, values(&ty, &org, area(1, "guzhen", None)));
    let b = new_write(&ty, &org, values(&ty, &org, area(2, "xiaolan", None)));
    let written = s
        .write_ledger_items(
            vec![a, b],
            mashangban_store::LedgerAuthor {
                user_id: None,
                name: "t".into(),
                role: "admin".into(),
                ledger_roles: "admin".into(),
                at: at(0),
            },
        )
        .await
        .unwrap();
    (written[0].id, written[1].id)
}

async fn samples_are_stored_together_and_read_newest_first<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (a, b) = items(s).await;
    let stored =
        s.add_creek_samples(a, vec![sample(10, 18.0), sample(30, 25.0), sample(20, 45.0)], by(40)).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|x| x.item_id == a && x.by_name == "测试（handler）" && x.created_at == at(40)));
    s.add_creek_samples(b, vec![sample(5, 10.0)], by(41)).await.unwrap();
    let read = s.creek_samples(a, at(15), 100).await.unwrap();
    assert_eq!(read.iter().map(|x| x.sampled_at).collect::<Vec<_>>(), [at(30), at(20)], "newest first, from 15 on");
    assert_eq!(read[0].values.get("cod"), Some(&25.0));
    assert_eq!(read[0].section.as_deref(), Some("上游"));
    assert_eq!(s.creek_samples(a, at(0), 1).await.unwrap().len(), 1, "limit");
    let latest = s.latest_creek_samples(vec![a, b, 999]).await.unwrap();
    assert_eq!(latest.iter().map(|x| (x.item_id, x.sampled_at)).collect::<Vec<_>>(), [(a, at(30)), (b, at(5))]);
    assert!(s.latest_creek_samples(vec![]).await.unwrap().is_empty());
    // A sample of an item that does not exist is refused, and nothing of its batch is written.
    assert!(s.add_creek_samples(99_999, vec![sample(1, 1.0)], by(50)).await.is_err());
    for sql in ["UPDATE creek_samples SET section = 'x'", "DELETE FROM creek_samples"] {
        let err = execute(s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

fn plan(chief: &str, budgets: &[i64]) -> Plan {
    Plan {
        unit: Some("guzhen".into()),
        chief_name: chief.into(),
        chief_post: "古镇镇镇长".into(),
        measures: budgets
            .iter()
            .map(|b| Measure {
                text: "沿河截污".into(),
                kind: MeasureKind::Interception,
                budget_cents: *b,
                due_on: Some("2026-12-31".into()),
                unit: None,
                status: MeasureStatus::InProgress,
            })
            .collect(),
    }
}

async fn plans_keep_every_version_and_refuse_stale_saves<D: TestDb>() {
    let env = &D::create().await;
    let s = &env.store;
    let (a, b) = items(s).await;
    assert_eq!(s.creek_plan(a).await.unwrap(), None);
    assert_eq!(refusal(s.save_creek_plan(a, plan("张三", &[100]), 1, by(1)).await), "creek_plan_changed");
    let first = s.save_creek_plan(a, plan("张三", &[100]), 0, by(1)).await.unwrap();
    assert_eq!((first.version, first.updated_at, first.plan.total_budget_cents()), (1, at(1), 100));
    assert_eq!(refusal(s.save_creek_plan(a, plan("李四", &[1]), 0, by(2)).await), "creek_plan_changed");
    let second = s.save_creek_plan(a, plan("李四", &[100, 250]), 1, by(3)).await.unwrap();
    assert_eq!((second.version, second.plan.chief_name.as_str(), second.plan.total_budget_cents()), (2, "李四", 350));
    assert_eq!(refusal(s.save_creek_plan(a, plan("王五", &[]), 1, by(4)).await), "creek_plan_changed");
    s.save_creek_plan(b, plan("赵六", &[]), 0, by(5)).await.unwrap();

    let changes = s.creek_plan_changes(a).await.unwrap();
    assert_eq!(changes.iter().map(|c| c.version).collect::<Vec<_>>(), [2, 1], "newest first");
    assert_eq!(changes[0].before.as_ref().map(|p| p.chief_name.as_str()), Some("张三"));
    assert_eq!(changes[0].after.chief_name, "李四");
    assert_eq!((changes[0].at, changes[0].by_user), (at(3), Some(7)));
    assert_eq!(changes[1].before, None);
    let all = s.creek_plans().await.unwrap();
    assert_eq!(all.iter().map(|p| p.item_id).collect::<Vec<_>>(), [a, b]);
    for sql in ["UPDATE creek_plan_changes SET by_name = 'x'", "DELETE FROM creek_plan_changes"] {
        let err = execute(s, sql, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
