//! Demo creek water quality and plans (河涌水质、一河一策): for the first
//! eight demo creeks a plan with three or four measures (saved, then one
//! measure's status moved on, so the history has two versions), and for
//! the first six a year of monthly grab samples — five getting better from
//! 劣Ⅴ towards Ⅲ–Ⅳ, one getting worse — so their trends read 好转 and 变差.
//! Written through the store (one batch of samples per creek); loads once:
//! a second call finds the first creek's plan and writes nothing.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate, TimeZone};

use mashangban_domain::creek::{CREEK_TYPE, Measure, MeasureKind, MeasureStatus, Plan};
use mashangban_domain::org::OrgTree;
use mashangban_domain::time::{Instant, shanghai};
use mashangban_store::{CreekAuthor, LedgerFilter, LedgerScope, NewCreekSample, Store};

use crate::DemoError;

/// Creeks that get a plan.
pub const DEMO_CREEK_PLANS: usize = 8;
/// Creeks that get a year of samples.
const SAMPLED: usize = 6;

fn err(what: &str) -> impl Fn(mashangban_store::StoreError) -> DemoError + '_ {
    move |e| DemoError(format!("{what}：{e}"))
}

/// Values (mg/L) inside class `c` (1–6) for dissolved oxygen, COD, ammonia nitrogen, total phosphorus.
fn values_of(c: usize, wobble: f64) -> BTreeMap<String, f64> {
    let i = c.clamp(1, 6) - 1;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    BTreeMap::from([
        ("dissolved_oxygen".to_owned(), round([8.0, 6.6, 5.5, 4.0, 2.6, 1.5][i] + wobble * 0.2)),
        ("cod".to_owned(), round([12.0, 14.0, 18.0, 26.0, 36.0, 48.0][i] - wobble)),
        ("ammonia_nitrogen".to_owned(), round([0.1, 0.4, 0.85, 1.3, 1.8, 2.6][i] - wobble * 0.05)),
        ("total_phosphorus".to_owned(), round([0.02, 0.08, 0.15, 0.25, 0.35, 0.5][i] - wobble * 0.01)),
    ])
}

/// Twelve monthly classes, oldest first: better with time, or worse for `worsening`.
fn course(n: usize, worsening: bool) -> [usize; 12] {
    let better = [
        [6, 6, 6, 6, 5, 6, 5, 5, 4, 4, 4, 3],
        [6, 6, 5, 6, 5, 5, 5, 4, 4, 4, 3, 3],
        [5, 6, 5, 5, 5, 4, 5, 4, 4, 3, 4, 3],
        [6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4, 4],
        [5, 5, 5, 5, 4, 5, 4, 4, 4, 3, 3, 3],
    ];
    if worsening { [3, 3, 4, 3, 4, 4, 4, 4, 5, 5, 6, 5] } else { better[n % better.len()] }
}

fn plan_of(n: usize, town_name: &str) -> Plan {
    let m = |text: &str, kind, wan: i64, due: &str, status| Measure {
        text: text.into(),
        kind,
        budget_cents: wan * 100,
        due_on: Some(due.into()),
        unit: Some("swuj".into()),
        status,
    };
    let mut measures = vec![
        m(
            "沿河截污管网建设及错混接改造",
            MeasureKind::Interception,
            480 + 40 * n as i64,
            "2026-09-30",
            MeasureStatus::InProgress,
        ),
        m("河道清淤疏浚", MeasureKind::Dredging, 160 + 10 * n as i64, "2026-06-30", MeasureStatus::Done),
        m("引水补水与闸泵联调", MeasureKind::Replenishment, 90, "2026-12-31", MeasureStatus::NotStarted),
    ];
    if n.is_multiple_of(2) {
        measures.push(m(
            "岸线生态修复与水生植物种植",
            MeasureKind::Ecological,
            210,
            "2026-12-31",
            MeasureStatus::NotStarted,
        ));
    }
    let surnames = ["陈", "李", "黄", "梁", "何", "林", "吴", "郑"];
    let given = ["志明", "国强", "建华", "伟东", "振华", "永强", "海峰", "德明"];
    Plan {
        unit: Some("swuj".into()),
        chief_name: format!("{}{}", surnames[n % 8], given[(n * 3) % 8]),
        chief_post: if n.is_multiple_of(2) { format!("{town_name}党委书记") } else { format!("{town_name}镇长") },
        measures,
    }
}

/// Loads the demo plans and samples; answers how many creeks got a plan (0 when already loaded).
/// Needs the demo ledgers.
pub async fn load_creeks<S: Store>(store: &S, now: Instant) -> Result<usize, DemoError> {
    let filter = LedgerFilter { limit: 40, ..LedgerFilter::default() };
    let page =
        store.list_ledger_items(CREEK_TYPE, &filter, &LedgerScope::All).await.map_err(err("读取演示河涌失败"))?;
    let mut creeks = page.items;
    creeks.sort_by(|a, b| a.key.cmp(&b.key));
    let Some(first) = creeks.first() else { return Ok(0) };
    if store.creek_plan(first.id).await.map_err(err("读取一河一策失败"))?.is_some() {
        return Ok(0);
    }
    let org = OrgTree::new(store.list_units().await.map_err(err("读取组织架构失败"))?);
    let office =
        |at: Instant| CreekAuthor { user_id: None, name: "水污染治理指挥部办公室（演示）".into(), at };
    for (n, item) in creeks.iter().take(DEMO_CREEK_PLANS).enumerate() {
        let town = item.town_id.and_then(|t| org.get(t)).map_or_else(String::new, |u| u.display_name().to_owned());
        let mut plan = plan_of(n, &town);
        store
            .save_creek_plan(item.id, plan.clone(), 0, office(now - Duration::days(120)))
            .await
            .map_err(err("写入一河一策失败"))?;
        if let Some(m) = plan.measures.first_mut() {
            m.status = if n.is_multiple_of(3) { MeasureStatus::Done } else { MeasureStatus::InProgress };
            m.budget_cents += 2500;
        }
        store
            .save_creek_plan(item.id, plan, 1, office(now - Duration::days(20)))
            .await
            .map_err(err("修改一河一策失败"))?;
    }
    let local = now.with_timezone(&shanghai());
    let this_month = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local.date_naive());
    for (n, item) in creeks.iter().take(SAMPLED).enumerate() {
        let classes = course(n, n == SAMPLED - 1);
        let mut samples = Vec::new();
        for (i, class) in classes.iter().enumerate() {
            let month = this_month.checked_sub_months(Months::new(11 - i as u32)).unwrap_or(this_month);
            let day = month.with_day(((n % 5) + 3) as u32).unwrap_or(month).and_hms_opt(9, 30, 0).unwrap_or_default();
            let Some(at) = shanghai().from_local_datetime(&day).single() else { continue };
            if at > now {
                continue;
            }
            samples.push(NewCreekSample {
                sampled_at: at,
                section: Some(if i.is_multiple_of(2) { "上游断面".into() } else { "下游断面".into() }),
                values: values_of(*class, ((i + n) % 3) as f64 * 0.5),
                source: "manual".into(),
            });
        }
        store.add_creek_samples(item.id, samples, office(now)).await.map_err(err("写入演示水质采样失败"))?;
    }
    Ok(DEMO_CREEK_PLANS.min(creeks.len()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::creek::{class_number, classify_sample};

    #[test]
    fn the_values_of_each_class_fall_in_that_class() {
        for c in 1..=6 {
            for wobble in [0.0, 0.5, 1.0] {
                let a = classify_sample(&values_of(c, wobble)).unwrap();
                assert_eq!(usize::from(class_number(a.class)), c, "class {c} wobble {wobble}");
            }
        }
    }

    #[test]
    fn courses_improve_except_the_worsening_one() {
        let mean = |s: &[usize]| s.iter().sum::<usize>() as f64 / s.len() as f64;
        for n in 0..5 {
            let c = course(n, false);
            assert!(mean(&c[9..]) <= mean(&c[6..9]) - 0.5, "{c:?}");
        }
        let c = course(0, true);
        assert!(mean(&c[9..]) >= mean(&c[6..9]) + 0.5);
    }
}
