//! The demo city's visits (走访) and walking-office sessions (行走的办公室): each liaison cadre's
//! visits to the enterprises they lead over the last months — most recorded with the problems solved
//! on the spot, some cancelled, the next ones planned — and a few sessions the city leader led with
//! departments. The same on every run; loaded after the liaison assignments.

use chrono::{Duration, Timelike};

use mashangban_domain::org::Actor;
use mashangban_domain::time::Instant;
use mashangban_domain::visit::{NewVisit, VisitKind};
use mashangban_store::{AssignmentFilter, Meta, RecordedProblem, Resolution, Store, VisitFilter, VisitRecord};

use crate::DemoError;

/// Enterprises each cadre visits.
const PER_CADRE: usize = 4;

/// Problems raised on visits and how they were solved on the spot: (problem, solved by, solution).
const PROBLEMS: &[(&str, &str, &str)] = &[
    ("企业反映新厂房用电报装进度慢，影响设备调试", "中山供电局客户经理", "现场协调供电局，明确下周完成报装验收"),
    ("咨询高新技术企业认定的申报条件和时间", "市科技局", "现场讲解认定条件和申报时间节点，发放政策指引"),
    ("希望了解稳岗补贴的申领流程", "市人社局", "现场指导通过粤省事提交申请，已受理"),
    ("厂区门口道路破损，货车进出困难", "镇城建办", "已安排维修队本周修补路面"),
    ("员工子女入学政策咨询", "镇教育办", "现场说明积分入学政策和报名时间"),
    ("消防验收资料准备有疑问", "镇消防救援所", "现场逐项核对资料清单，约定复核时间"),
    ("出口退税办理时间较长，资金周转紧张", "市税务局", "现场核实进度，承诺十个工作日内办结"),
    ("希望对接本地配套供应商", "市工信局", "现场推荐三家本地配套企业，约定对接会"),
];

/// Notes of recorded visits, by turn.
const NOTES: &[&str] = &[
    "了解企业生产经营和订单情况，企业运行平稳。",
    "走访企业车间和研发中心，听取企业发展规划和困难诉求。",
    "与企业负责人座谈，宣讲惠企政策，收集意见建议。",
    "了解企业用工和扩产计划，现场协调相关事项。",
];

/// Loads the visits unless any exist (idempotent): answers how many were made.
pub async fn load_visits<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    // Times on the hour: counted from the start of today.
    let now = now - Duration::seconds(i64::from(now.num_seconds_from_midnight()));
    let fail = |what: &'static str| move |e: mashangban_store::StoreError| DemoError(format!("{what}失败：{e}"));
    let any = VisitFilter { limit: 1, ..VisitFilter::in_scope(mashangban_domain::enterprise::EnterpriseScope::All) };
    if !store.visits(&any).await.map_err(fail("读取走访记录"))?.is_empty() {
        return Ok(0);
    }
    let mut cadres = Vec::new();
    for user in store.list_users().await.map_err(fail("读取账号"))? {
        if user.username == "liaison" || user.username.starts_with("liaison-") {
            cadres.push(user);
        }
    }
    cadres.sort_by(|a, b| a.username.cmp(&b.username));
    let mut made = 0u64;
    let mut turn = 0usize;
    for cadre in &cadres {
        let filter =
            AssignmentFilter { user_id: Some(cadre.id), limit: PER_CADRE as u32, ..AssignmentFilter::default() };
        let assignments = store.assignments(&filter).await.map_err(fail("读取联系干部安排"))?;
        for (k, a) in assignments.iter().enumerate() {
            turn += 1;
            // Visits every few weeks back from now; the last of each cadre is still to come.
            let planned_at = now - Duration::days(7 * (1 + (turn % 20) as i64)) + Duration::hours(10);
            let upcoming = k + 1 == assignments.len();
            let visit = NewVisit {
                kind: VisitKind::Visit,
                credit_code: a.credit_code.clone(),
                planned_at: if upcoming {
                    now + Duration::days(3 + (turn % 10) as i64) + Duration::hours(10)
                } else {
                    planned_at
                },
                lead_user_id: cadre.id,
                purpose: Some("了解企业经营情况，收集困难诉求".to_owned()),
                units: Vec::new(),
            };
            let saved = plan(store, visit, planned_at - Duration::days(5), &cadre.display_name).await?;
            made += 1;
            if upcoming {
                continue;
            }
            if turn.is_multiple_of(7) {
                let reason = "企业负责人临时出差，改期再访".to_owned();
                store
                    .cancel_visit(saved, all(), reason, planned_at - Duration::days(1), cadre.display_name.clone())
                    .await
                    .map_err(fail("取消走访"))?;
                continue;
            }
            record(store, saved, planned_at + Duration::hours(1), turn, 1 + turn % 2).await?;
        }
    }
    made += walking_office(store, now).await?;
    Ok(made)
}

/// `count` visits of one enterprise led by the cadre `lead` (`(user id, name)`), a week apart back
/// from `now`, each recorded with one or two problems solved on the spot; answers how many were made.
/// The benchmarks' enterprise with a long history of visits.
pub async fn load_enterprise_visits<S: Store>(
    store: &S,
    credit_code: &str,
    lead: (mashangban_domain::org::UserId, &str),
    count: usize,
    now: Instant,
) -> Result<u64, DemoError> {
    for turn in 0..count {
        let planned_at = now - Duration::days(7 * (turn as i64 + 1));
        let visit = NewVisit {
            kind: VisitKind::Visit,
            credit_code: credit_code.to_owned(),
            planned_at,
            lead_user_id: lead.0,
            purpose: Some("了解企业经营情况，收集困难诉求".to_owned()),
            units: Vec::new(),
        };
        let saved = plan(store, visit, planned_at - Duration::days(5), lead.1).await?;
        record(store, saved, planned_at + Duration::hours(1), turn, 1 + turn % 2).await?;
    }
    Ok(count as u64)
}

/// Three sessions the city leader led with departments at larger enterprises.
async fn walking_office<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let fail = |what: &'static str| move |e: mashangban_store::StoreError| DemoError(format!("{what}失败：{e}"));
    let Some(leader) = store.find_user("leader").await.map_err(fail("查找演示账号"))? else { return Ok(0) };
    let units = store.list_units().await.map_err(fail("读取组织架构"))?;
    let attending: Vec<i64> =
        units.iter().filter(|u| ["scjgj", "rsj", "zrzyj", "gxj"].contains(&u.code.as_str())).map(|u| u.id).collect();
    let filter = AssignmentFilter { user_id: Some(leader.id), limit: 3, ..AssignmentFilter::default() };
    let mut made = 0;
    for (k, a) in store.assignments(&filter).await.map_err(fail("读取联系干部安排"))?.iter().enumerate() {
        let planned_at = now - Duration::days(30 * (k as i64 + 1)) + Duration::hours(9);
        let visit = NewVisit {
            kind: VisitKind::WalkingOffice,
            credit_code: a.credit_code.clone(),
            planned_at,
            lead_user_id: leader.id,
            purpose: Some("行走的办公室：带队现场办公，协调解决企业扩产中的问题".to_owned()),
            units: attending.clone(),
        };
        let saved = plan(store, visit, planned_at - Duration::days(7), &leader.display_name).await?;
        record(store, saved, planned_at + Duration::hours(2), k * 3, 3).await?;
        made += 1;
    }
    Ok(made)
}

async fn plan<S: Store>(store: &S, visit: NewVisit, at: Instant, by: &str) -> Result<i64, DemoError> {
    let saved =
        store.plan_visit(visit, all(), at, by.to_owned()).await.map_err(|e| DemoError(format!("安排走访失败：{e}")))?;
    Ok(saved.id)
}

/// Records a visit with `problems` problems solved on the spot, picked from `turn` on.
async fn record<S: Store>(store: &S, id: i64, at: Instant, turn: usize, problems: usize) -> Result<(), DemoError> {
    let problems = (0..problems)
        .map(|i| {
            let (text, solved_by, solution) = PROBLEMS[(turn + i) % PROBLEMS.len()];
            RecordedProblem {
                text: text.to_owned(),
                resolution: Resolution::SolvedOnSite { solved_by: solved_by.to_owned(), solution: solution.to_owned() },
            }
        })
        .collect();
    let record = VisitRecord {
        visited_at: at,
        attendees: vec!["企业负责人".to_owned(), "企业行政经理".to_owned()],
        notes: NOTES[turn % NOTES.len()].to_owned(),
        problems,
    };
    store
        .record_visit(id, all(), record, &Actor::System, &Meta { now: at, client_ip: None })
        .await
        .map_err(|e| DemoError(format!("记录走访失败：{e}")))?;
    Ok(())
}

fn all() -> mashangban_domain::enterprise::EnterpriseScope {
    mashangban_domain::enterprise::EnterpriseScope::All
}
