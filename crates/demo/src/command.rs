//! Demo command centres (指挥部): the three bundled centres with targets
//! counted from the demo ledgers (city-wide, and one per town on the sewer
//! areas), a few weeks of creek completions and outlets put under remediation
//! written as real stage moves through the ledger store (so the forecast has a
//! rate to read), and 30 tasks (施工图) across the towns with reports, urges,
//! supervision, some done on time, some late and some overdue. Every change
//! goes through the store with its history entry, timed in the past weeks.
//! Loads once: a second call finds the targets and writes nothing.

use chrono::{Duration, NaiveDate};

use mashangban_domain::calendar::{TimeLimit, WorkCalendar};
use mashangban_domain::command::{self, TargetDef, TaskDef};
use mashangban_domain::ledger::{FieldValue, LedgerType, diff};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_domain::time::Instant;
use mashangban_store::{
    CommandAuthor, LedgerAction, LedgerAuthor, LedgerFilter, LedgerScope, LedgerWrite, Store, TaskChange,
    ledger_item_name,
};

use crate::DemoError;

/// Tasks the demo assigns.
pub const DEMO_TASKS: usize = 30;

fn err(what: &str) -> impl Fn(mashangban_store::StoreError) -> DemoError + '_ {
    move |e| DemoError(format!("{what}：{e}"))
}

fn office(at: Instant) -> CommandAuthor {
    CommandAuthor { user_id: None, name: "指挥部办公室（演示）".into(), at }
}

fn town_author(name: &str, at: Instant) -> CommandAuthor {
    CommandAuthor { user_id: None, name: format!("{name}（演示）"), at }
}

/// Loads the demo targets, creek completions and tasks; answers how many tasks were assigned
/// (0 when already loaded). Needs the org tree and the demo ledgers.
pub async fn load_command<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    store.install_command_centres(command::bundled(), office(now)).await.map_err(err("安装指挥部失败"))?;
    if !store.command_targets("water").await.map_err(err("读取目标失败"))?.is_empty() {
        return Ok(0);
    }
    let org = OrgTree::new(store.list_units().await.map_err(err("读取组织架构失败"))?);
    let mut towns: Vec<(i64, String, String)> = org
        .units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| (u.id, u.code.clone(), u.display_name().to_owned()))
        .collect();
    towns.sort_by(|a, b| a.1.cmp(&b.1));
    if towns.is_empty() {
        return Err(DemoError("组织架构中没有镇街，请先加载组织架构".into()));
    }
    let year_end = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default();
    let start = now - Duration::days(42);

    // Over the last four weeks: six creek completions (整治施工 → 完成整治), and in every town one outlet
    // in a hundred traced and put under remediation (溯源 → 整治), each a real move with its history.
    let completed = |_: usize, on: NaiveDate| vec![("completed_on", FieldValue::Date(on))];
    let creeks = RecentMoves {
        type_code: "creek",
        from: "construct",
        choices: vec![("cluster".into(), "central".into())],
        town_id: None,
        to: "done",
        count: 6,
        set: &completed,
        note: "完成整治（演示）",
        by: "水务局（演示）",
    };
    recent_moves(store, &org, now, creeks).await?;
    let any = LedgerFilter { limit: 1, ..LedgerFilter::default() };
    let outlets =
        store.list_ledger_items("outlet", &any, &LedgerScope::All).await.map_err(err("读取排污口台账失败"))?;
    let remediation = |i: usize, on: NaiveDate| {
        vec![
            ("remediation", FieldValue::Choice(["ban", "merge", "regulate"][i % 3].into())),
            ("responsible_unit", FieldValue::Org("sthjj".into())),
            ("remediation_deadline", FieldValue::Date(on + Duration::days(90))),
        ]
    };
    let per_town = u32::try_from(outlets.total / 100 / towns.len() as u64).unwrap_or(u32::MAX);
    for (town_id, _, _) in &towns {
        let traced = RecentMoves {
            type_code: "outlet",
            from: "trace",
            choices: Vec::new(),
            town_id: Some(*town_id),
            to: "remediate",
            count: per_town.max(1),
            set: &remediation,
            note: "溯源完成，列入整治（演示）",
            by: "生态环境局（演示）",
        };
        recent_moves(store, &org, now, traced).await?;
    }

    // Targets. Half the outlets surveyed are to be traced by year end (a quarter are now).
    let outlet_goal = (outlets.total / 2).max(1);
    let target = |name: &str, ty: &str, stages: &[&str], choice: Option<(&str, &str)>, town, goal| {
        TargetDef::new(
            name,
            ty,
            stages.iter().map(|s| (*s).to_owned()).collect(),
            choice.map(|(f, c)| (f.to_owned(), c.to_owned())),
            town,
            goal,
            year_end,
        )
        .map_err(|e| DemoError(e.message))
    };
    let mut targets = vec![
        (
            "water",
            target(
                "中心组团未达标河涌完成整治",
                "creek",
                &["done", "accepted"],
                Some(("cluster", "central")),
                None,
                20,
            )?,
        ),
        ("water", target("入河排污口完成溯源", "outlet", &["remediate", "closed"], None, None, outlet_goal)?),
        ("parks", target("低效工业园改造项目动工", "park", &["start", "complete", "produce"], None, None, 15)?),
        ("investment", target("招商项目签约", "investment", &["sign", "land", "start", "produce"], None, None, 20)?),
    ];
    for (id, _, name) in &towns {
        targets
            .push(("water", target(&format!("{name}污水片区完成雨污分流"), "sewer", &["done"], None, Some(*id), 1)?));
    }
    for (centre, def) in targets {
        store.create_command_target(centre, def, office(start)).await.map_err(err("写入演示目标失败"))?;
    }

    // Tasks: assigned over six weeks, due in working days on the calendar.
    let calendar = WorkCalendar::bundled().map_err(|e| DemoError(e.message))?;
    let titles = [
        ("water", "完成辖区入河排污口溯源并报送溯源报告"),
        ("water", "推进中心组团未达标河涌截污纳管"),
        ("water", "报送一河一策整治方案批复材料"),
        ("water", "完成污水管网雨污分流片区验收资料"),
        ("parks", "完成低效工业园收储整备"),
        ("parks", "报送工改工项目三年计划"),
        ("investment", "落实签约项目摘牌用地"),
        ("investment", "推动签约项目动工"),
    ];
    let mut assigned = 0u64;
    for i in 0..DEMO_TASKS {
        let (centre, title) = titles[i % titles.len()];
        let (town_id, _, town_name) = &towns[(i * 7) % towns.len()];
        let created = start + Duration::days(i64::try_from(i).unwrap_or(0) * 4 / 3);
        let days = [5u32, 10, 15, 20][i % 4];
        let due = calendar
            .deadline_or_provisional(created, TimeLimit::working_days(days))
            .map_err(|e| DemoError(e.message))?
            .at;
        let def = TaskDef::new(&format!("{town_name}：{title}"), Some("指挥部周例会部署"), *town_id, days, None)
            .map_err(|e| DemoError(e.message))?;
        let task =
            store.create_command_task(centre, def, due, office(created)).await.map_err(err("写入演示任务失败"))?;
        assigned += 1;
        // What happened since, by lot of its index; every step before now.
        let step = |days: i64| created + Duration::days(days);
        let mut changes: Vec<(TaskChange, CommandAuthor)> = Vec::new();
        if i % 5 != 4 {
            changes.push((TaskChange::Report("已部署，正在推进".into()), town_author(town_name, step(2))));
        }
        if i % 3 == 0 {
            changes.push((TaskChange::Urge("请按时间节点推进并报送进展".into()), office(step(4))));
        }
        if i % 7 == 0 {
            changes.push((TaskChange::Supervise("列入指挥部督办事项".into()), office(step(5))));
        }
        if i % 5 != 4 && i % 2 == 0 {
            changes.push((TaskChange::Report("已完成主要工作，附相关材料".into()), town_author(town_name, step(6))));
            // Done on time for most, a few late.
            let done_at = if i % 6 == 0 { due + Duration::days(3) } else { step(8).min(due) };
            changes.push((TaskChange::Done(Some("经核查已完成".into())), office(done_at.max(step(7)))));
        }
        for (change, author) in changes {
            if author.at > now {
                break;
            }
            store.change_command_task(task.id, change, author).await.map_err(err("写入演示任务进展失败"))?;
        }
    }
    Ok(assigned)
}

/// Stage moves the demo writes over the last four weeks, item by item as a person makes them, so
/// the targets counted from the moved-to stage have a rate to forecast from.
struct RecentMoves<'a> {
    type_code: &'a str,
    /// Items in this stage (with these choices, in this town) are moved, in key order.
    from: &'a str,
    choices: Vec<(String, String)>,
    town_id: Option<i64>,
    to: &'a str,
    count: u32,
    /// The values the move sets on the `i`th item moved, on that day.
    set: &'a (dyn Fn(usize, NaiveDate) -> Vec<(&'static str, FieldValue)> + Sync),
    note: &'a str,
    by: &'a str,
}

/// Writes the moves, spread evenly from 27 days ago to a day ago; nothing when the type or the stage
/// is absent.
async fn recent_moves<S: Store>(
    store: &S,
    org: &OrgTree,
    now: Instant,
    moves: RecentMoves<'_>,
) -> Result<(), DemoError> {
    let Some(record) = store.ledger_type(moves.type_code).await.map_err(err("读取台账类型失败"))? else {
        return Ok(());
    };
    let ty = LedgerType::from_toml(&record.definition).map_err(|e| DemoError(e.message))?;
    let Some(to) = ty.stage(moves.to) else { return Ok(()) };
    let filter = LedgerFilter {
        stage: Some(moves.from.into()),
        choices: moves.choices.clone(),
        town_id: moves.town_id,
        limit: moves.count,
        ..LedgerFilter::default()
    };
    let page =
        store.list_ledger_items(moves.type_code, &filter, &LedgerScope::All).await.map_err(err("读取演示台账失败"))?;
    let spread = i64::from(moves.count.max(1));
    for (i, item) in page.items.into_iter().enumerate() {
        let minutes_ago = 27 * 24 * 60 - i64::try_from(i).unwrap_or(0) * (26 * 24 * 60) / spread;
        let at = now - Duration::minutes(minutes_ago);
        let mut values = item.values.clone();
        for (field, value) in (moves.set)(i, at.date_naive()) {
            values.insert(field.into(), value);
        }
        let values = ty
            .revalidate(&values, org)
            .map_err(|errors| DemoError(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("；")))?;
        ty.check_entry(&values, to).map_err(|e| DemoError(e.message))?;
        let write = LedgerWrite {
            id: Some(item.id),
            expected_version: item.version,
            type_code: moves.type_code.into(),
            type_version: record.version,
            key: item.key.clone(),
            name: ledger_item_name(&ty, &values),
            stage: to.code.clone(),
            changes: diff(&ty, &item.values, &values),
            values,
            town_id: item.town_id,
            unit_id: item.unit_id,
            action: LedgerAction::Moved,
            from_stage: Some(moves.from.into()),
            note: Some(moves.note.into()),
        };
        let author = LedgerAuthor {
            user_id: None,
            name: moves.by.into(),
            role: "handler".into(),
            ledger_roles: "command_office".into(),
            at,
        };
        store.write_ledger_items(vec![write], author).await.map_err(err("写入演示台账阶段变更失败"))?;
    }
    Ok(())
}
