//! Demo periodic reports (定期报送) and pledges (军令状) of the command
//! centres: each centre gets a weekly report form defined six weeks ago with
//! its member units and towns filing; the last five weeks are filed through
//! the store as they would have been — most on time, some late, a few
//! corrected, some never (those past due are missing). The water centre's
//! per-town sewer targets are pledged by several towns with a signed
//! document. Loads once: a second call finds the forms and writes nothing.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveTime};

use mashangban_domain::calendar::{TimeLimit, WorkCalendar};
use mashangban_domain::command_reports::{Cadence, Period, PledgeDef, ReportField, ReportFieldKind, ReportFormDef};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_domain::time::{Instant, shanghai};
use mashangban_store::{CommandAuthor, NewFiling, Store};

use crate::DemoError;

fn err(what: &str) -> impl Fn(mashangban_store::StoreError) -> DemoError + '_ {
    move |e| DemoError(format!("{what}：{e}"))
}

fn author(name: &str, at: Instant) -> CommandAuthor {
    CommandAuthor { user_id: None, name: format!("{name}（演示）"), at }
}

fn field(key: &str, label: &str, kind: ReportFieldKind, unit: Option<&str>, required: bool) -> ReportField {
    ReportField {
        key: key.into(),
        label: label.into(),
        kind,
        unit: unit.map(str::to_owned),
        required,
        min: matches!(kind, ReportFieldKind::Integer | ReportFieldKind::Decimal).then_some(0.0),
        max: None,
        max_len: (kind == ReportFieldKind::Text).then_some(500),
    }
}

/// The weekly form of each centre: name and fields.
fn forms() -> Vec<(&'static str, &'static str, Vec<ReportField>)> {
    use ReportFieldKind::{Decimal, Integer, Text};
    vec![
        (
            "water",
            "水污染治理工作周报",
            vec![
                field("outlets_surveyed", "本周排查排口", Integer, Some("个"), true),
                field("outlets_remediated", "本周整治排口", Integer, Some("个"), true),
                field("sewer_km", "本周建成管网", Decimal, Some("公里"), true),
                field("problems", "存在问题及下步计划", Text, None, false),
            ],
        ),
        (
            "parks",
            "村镇低效工业园改造周报",
            vec![
                field("projects_started", "本周动工项目", Integer, Some("个"), true),
                field("area_cleared", "本周完成收储整备", Decimal, Some("亩"), true),
                field("problems", "存在问题及下步计划", Text, None, false),
            ],
        ),
        (
            "investment",
            "招商引资工作周报",
            vec![
                field("leads", "本周新增线索", Integer, Some("个"), true),
                field("signed_amount", "本周签约金额", Decimal, Some("亿元"), true),
                field("problems", "存在问题及下步计划", Text, None, false),
            ],
        ),
    ]
}

/// Loads the demo forms, filings and pledges; answers how many reports were filed (0 when already
/// loaded). Needs the org tree and the demo command centres' targets (`load_command`).
pub async fn load_command_reports<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    if !store.report_forms("water").await.map_err(err("读取报表失败"))?.is_empty() {
        return Ok(0);
    }
    let org = OrgTree::new(store.list_units().await.map_err(err("读取组织架构失败"))?);
    let calendar = WorkCalendar::bundled().map_err(|e| DemoError(e.message))?;
    let defined = now - Duration::days(42);
    let mut filed = 0u64;
    for (code, name, fields) in forms() {
        let Some(centre) = store.command_centre(code).await.map_err(err("读取指挥部失败"))? else { continue };
        let mut filers: Vec<i64> = centre.member_units.iter().filter_map(|c| org.by_code(c)).map(|u| u.id).collect();
        let mut towns: Vec<(String, i64)> = org
            .units()
            .filter(|u| u.kind == UnitKind::Town && u.active)
            .filter(|u| centre.towns.is_empty() || centre.towns.contains(&u.code))
            .map(|u| (u.code.clone(), u.id))
            .collect();
        towns.sort();
        filers.extend(towns.iter().map(|(_, id)| *id));
        let def = ReportFormDef::new(name, Cadence::Weekly, fields.clone(), filers.clone(), 2)
            .map_err(|e| DemoError(e.message))?;
        let form = store
            .create_report_form(code, def, author("指挥部办公室", defined))
            .await
            .map_err(err("写入演示报表失败"))?;
        // The last five whole weeks and this one.
        let mut period = Period::containing(Cadence::Weekly, now.date_naive());
        let mut weeks = Vec::new();
        for _ in 0..6 {
            weeks.push(period);
            period = period.previous();
        }
        weeks.reverse();
        for (w, period) in weeks.iter().enumerate() {
            let start_of_next = (period.end + Duration::days(1))
                .and_time(NaiveTime::MIN)
                .and_local_timezone(shanghai())
                .single()
                .ok_or_else(|| DemoError("时间换算失败".into()))?;
            let due = calendar
                .deadline_or_provisional(start_of_next, TimeLimit::working_days(2))
                .map_err(|e| DemoError(e.message))?
                .at;
            for (i, unit) in filers.iter().enumerate() {
                let lot = i * 7 + w * 3;
                if lot % 9 == 4 {
                    continue; // never filed: missing once past due
                }
                let late = lot % 6 == 1;
                let at = if late {
                    due + Duration::days(2)
                } else {
                    start_of_next + Duration::hours(9 + i64::try_from(i % 8).unwrap_or(0))
                };
                if at > now {
                    continue;
                }
                let unit_name = org.get(*unit).map_or_else(|| "单位".to_owned(), |u| u.display_name().to_owned());
                let values = demo_values(&fields, lot);
                let filing = NewFiling {
                    form_id: form.id,
                    period: period.key(),
                    unit_id: *unit,
                    values: values.clone(),
                    note: None,
                    late: at > due,
                    form_version: form.version,
                };
                store.file_report(filing, author(&unit_name, at)).await.map_err(err("写入演示报送失败"))?;
                filed += 1;
                if lot % 10 == 3 && at + Duration::hours(4) <= now {
                    let mut corrected = values;
                    corrected.insert("problems".into(), "更正：补报本周数据".into());
                    let filing = NewFiling {
                        form_id: form.id,
                        period: period.key(),
                        unit_id: *unit,
                        values: corrected,
                        note: Some("更正上报数据".into()),
                        late: at + Duration::hours(4) > due,
                        form_version: form.version,
                    };
                    store
                        .file_report(filing, author(&unit_name, at + Duration::hours(4)))
                        .await
                        .map_err(err("写入演示更正失败"))?;
                }
            }
        }
    }
    pledges(store, &org, now).await?;
    Ok(filed)
}

fn demo_values(fields: &[ReportField], lot: usize) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for f in fields {
        let value = match f.kind {
            ReportFieldKind::Integer => Some(((lot * 13) % 17 + 1).to_string()),
            ReportFieldKind::Decimal => Some(format!("{}.{}", (lot * 7) % 5, (lot * 3) % 10)),
            ReportFieldKind::Text if lot.is_multiple_of(4) => Some("按计划推进，暂无困难".to_owned()),
            ReportFieldKind::Text | ReportFieldKind::Date => None,
        };
        if let Some(v) = value {
            values.insert(f.key.clone(), v);
        }
    }
    values
}

/// A small signed document (a one-page PDF) for a pledge.
fn signed_pdf(town: &str) -> Vec<u8> {
    crate::pdf::one_page(
        &format!("{town}军令状（演示）"),
        &[format!("责任单位：{town}"), "按期完成年度治水目标任务。".into()],
    )
}

/// Six towns pledge their sewer targets and the city's creek target of the water centre.
async fn pledges<S: Store>(store: &S, org: &OrgTree, now: Instant) -> Result<(), DemoError> {
    let targets = store.command_targets("water").await.map_err(err("读取目标失败"))?;
    let creek = targets.iter().find(|t| t.ledger_type == "creek" && t.town_id.is_none()).map(|t| t.id);
    let signed_on = (now - Duration::days(180)).date_naive();
    for t in targets.iter().filter(|t| t.town_id.is_some() && t.ledger_type == "sewer").take(6) {
        let Some(town) = t.town_id.and_then(|id| org.get(id)) else { continue };
        let mut ids = vec![t.id];
        ids.extend(creek);
        let def = PledgeDef::new(
            town.id,
            ids,
            signed_on,
            &format!("{}主要负责人", town.display_name()),
            &format!("{}军令状.pdf", town.display_name()),
            signed_pdf(town.display_name()),
        )
        .map_err(|e| DemoError(e.message))?;
        store
            .create_pledge("water", def, author("指挥部办公室", now - Duration::days(179)))
            .await
            .map_err(err("写入演示军令状失败"))?;
    }
    Ok(())
}
