//! On-site service in the demo city (行走办): a catalogue of six items, two
//! service centres (the city's, three sessions a day, worked by the
//! `service-centre` account; 古镇's, two a day) and six requests from demo
//! enterprises in every stage — one held and rated by the demo enterprise
//! itself, one held awaiting its rating, one accepted, one with a proposed
//! date, one waiting, one refused. Each step goes through the domain's rules
//! and the store as the service's do. Idempotent: nothing is loaded when the
//! catalogue has items.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use mashangban_domain::onsite::{KnownItem, Onsite, OnsiteAction, OnsiteDraft, apply};
use mashangban_domain::time::Instant;
use mashangban_store::{
    EnforcementActor, NewOnsite, OnsiteChange, OnsiteEvent, ServiceCentreInput, ServiceItemInput, Store, StoreError,
};

use crate::{DemoData, DemoError};

/// Code, name, unit code.
const ITEMS: [(&str, &str, &str); 6] = [
    ("residence-permit", "居住证办理", "sgaj"),
    ("social-card", "社保卡申领", "rsj"),
    ("housing-fund", "公积金开户", "gjj"),
    ("tax-registration", "税务登记", "sws"),
    ("medical-insurance", "医保参保登记", "ybj"),
    ("licence-change", "营业执照变更登记", "scjgj"),
];

fn failed(e: StoreError) -> DemoError {
    DemoError(format!("载入上门服务演示数据失败：{e}"))
}

/// The `n`th working day (Monday to Friday) after `from` (before it when `n` is negative).
fn workday(from: NaiveDate, n: i64) -> NaiveDate {
    let step = if n < 0 { -1 } else { 1 };
    let (mut date, mut left) = (from, n.abs());
    while left > 0 {
        date += Duration::days(step);
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    date
}

/// One demo request: who, how many, which items (index, count), submitted how many working days
/// before today, and its preferred dates as working days after submission.
struct Plan {
    enterprise: usize,
    centre: usize,
    people: u32,
    items: &'static [(usize, u32)],
    submitted: i64,
    dates: &'static [i64],
}

const PLANS: [Plan; 6] = [
    Plan { enterprise: 0, centre: 0, people: 86, items: &[(0, 60), (1, 86)], submitted: 25, dates: &[8, 9] },
    Plan { enterprise: 1, centre: 0, people: 40, items: &[(1, 40), (2, 40)], submitted: 12, dates: &[8] },
    Plan { enterprise: 2, centre: 0, people: 25, items: &[(0, 25)], submitted: 3, dates: &[6, 7] },
    Plan { enterprise: 3, centre: 1, people: 18, items: &[(3, 1), (5, 1), (4, 18)], submitted: 2, dates: &[5] },
    Plan { enterprise: 4, centre: 0, people: 120, items: &[(0, 120), (1, 80)], submitted: 1, dates: &[9, 10, 11] },
    Plan { enterprise: 5, centre: 1, people: 6, items: &[(2, 6)], submitted: 4, dates: &[3] },
];

/// Loads the catalogue, the centres and the requests; how many requests.
pub async fn load_onsite<S: Store>(store: &S, data: &DemoData, now: Instant) -> Result<u64, DemoError> {
    if !store.service_items().await.map_err(failed)?.is_empty() {
        return Ok(0);
    }
    let units = store.list_units().await.map_err(failed)?;
    let unit = |code: &str| units.iter().find(|u| u.code == code && u.active).map(|u| u.id);
    let mut items = Vec::new();
    for (code, name, unit_code) in ITEMS {
        let Some(unit_id) = unit(unit_code) else { continue };
        let input = ServiceItemInput { code: code.into(), name: name.into(), unit_id, active: true };
        items.push(store.create_service_item(input).await.map_err(failed)?);
    }
    let mut centres = Vec::new();
    for (unit_code, name, daily_capacity) in [("zwfw", "中山市政务服务中心", 3), ("guzhen", "古镇镇行政服务中心", 2)]
    {
        let Some(unit_id) = unit(unit_code) else { continue };
        let input = ServiceCentreInput { unit_id, name: name.into(), daily_capacity, active: true };
        centres.push(store.create_centre(input).await.map_err(failed)?);
    }
    let enterprises = crate::demo_enterprises(data)?;
    if items.len() < ITEMS.len() || centres.len() < 2 || enterprises.len() < 6 {
        return Ok(0);
    }
    let catalogue: Vec<KnownItem> = items.iter().map(|i| KnownItem { id: i.id, active: true }).collect();
    let today = now.date_naive();
    let centre_staff = EnforcementActor { user_id: None, name: "演示数据（政务服务中心）".into() };
    let mut loaded = 0;
    for (n, plan) in PLANS.iter().enumerate() {
        let e = &enterprises[plan.enterprise];
        let day = workday(today, -plan.submitted);
        let at = now - Duration::days((today - day).num_days()) - Duration::hours(2);
        let draft = OnsiteDraft {
            people: plan.people,
            dates: plan.dates.iter().map(|d| workday(day, *d).to_string()).collect(),
            items: plan.items.iter().map(|(i, count)| (items[*i].id, *count)).collect(),
        };
        let onsite = draft.check(&catalogue, day, &|_| None).map_err(|e| DemoError(e.message))?;
        let asker = EnforcementActor { user_id: None, name: format!("{}（enterprise）", e.name) };
        let new = NewOnsite {
            centre_id: centres[plan.centre].id,
            credit_code: e.credit_code.as_str().to_owned(),
            enterprise_name: e.name.clone(),
            submitted_by: None,
            address: format!("{}厂区综合楼一楼会议室", e.name),
            contact_name: e.contact_name.clone(),
            contact_phone: e.contact_phone.clone(),
            note: Some("员工集中办理，请安排在上午".into()),
            onsite,
        };
        let record = store.submit_onsite(new, at, asker.clone()).await.map_err(failed)?;
        let mut state = (record.onsite.clone(), record.version);
        for (action, by) in steps(n, &state.0, today) {
            let who = if by { &centre_staff } else { &asker };
            // Accepting comes hours after asking; recording on the day's evening, rating the day after.
            let when = match (&action, state.0.date) {
                (OnsiteAction::Record { .. }, Some(d)) => {
                    now - Duration::days((today - d).num_days()) + Duration::hours(1)
                }
                (OnsiteAction::Rate { .. }, Some(d)) => now - Duration::days((today - d).num_days() - 1),
                _ => at + Duration::hours(3),
            };
            state = step(store, record.id, state, &action, when.min(now), who).await?;
        }
        loaded += 1;
    }
    Ok(loaded)
}

/// The actions of the `n`th plan, each with whether the centre (true) or the enterprise takes it.
fn steps(n: usize, o: &Onsite, today: NaiveDate) -> Vec<(OnsiteAction, bool)> {
    let first = o.preferred_dates.first().copied().unwrap_or(today);
    let accept = OnsiteAction::Accept { date: first, team: "窗口工作人员梁敏、周志坚".into() };
    let record =
        |handled: Vec<(i64, u32)>| OnsiteAction::Record {
            handled, note: Some("现场受理，材料齐全".into()), today
        };
    let all: Vec<(i64, u32)> = o.items.iter().map(|l| (l.item_id, l.count)).collect();
    let fewer: Vec<(i64, u32)> = o.items.iter().map(|l| (l.item_id, l.count.saturating_sub(2))).collect();
    match n {
        0 => vec![
            (accept, true),
            (record(fewer), true),
            (OnsiteAction::Rate { rating: 5, comment: Some("不用跑腿，一上午办完".into()) }, false),
        ],
        1 => vec![(accept, true), (record(all), true)],
        2 => vec![(accept, true)],
        3 => vec![(
            OnsiteAction::Propose {
                date: workday(first, 2),
                team: "古镇镇行政服务中心综合窗口".into(),
                note: Some("希望日期当天已排满".into()),
            },
            true,
        )],
        5 => vec![(OnsiteAction::Refuse { reason: "公积金开户可在网上办理，已电话指导企业".into() }, true)],
        _ => Vec::new(),
    }
}

async fn step<S: Store>(
    store: &S,
    id: i64,
    (onsite, version): (Onsite, i64),
    action: &OnsiteAction,
    at: Instant,
    by: &EnforcementActor,
) -> Result<(Onsite, i64), DemoError> {
    let next = apply(&onsite, action).map_err(|e| DemoError(e.message))?;
    let booking =
        matches!(action, OnsiteAction::Accept { .. } | OnsiteAction::Propose { .. }).then_some(next.date).flatten();
    let event = OnsiteEvent { kind: action.kind().into(), note: action.note() };
    let change = OnsiteChange { expected: version, onsite: next, booking, event, notice: None };
    let saved = store.change_onsite(id, change, at, by.clone()).await.map_err(failed)?;
    Ok((saved.onsite, saved.version))
}
