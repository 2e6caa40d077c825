//! The demo street's industry support fund: the bundled policy
//! (`data/fund_policy.toml`: 60 million yuan over 2022–2024, ten measures —
//! fixed sums, shares of a base with a cap, tiers) and 40 applications of
//! registry enterprises in every state of the review, each assessed by its
//! measure and walked through the store, which checks every step and the
//! budget. Idempotent: nothing is loaded when any policy exists.

use chrono::{Duration, TimeZone};
use rust_decimal::Decimal;
use serde::Deserialize;

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::fund::{FundAction, Measure, MeasureInput, Policy, data_from_json};
use mashangban_domain::time::{Instant, shanghai};
use mashangban_store::{EnterpriseFilter, FundActor, NewFundApplication, Store, StoreError};

use crate::DemoError;

/// The bundled demo policy.
pub const DEMO_FUND_POLICY: &str = include_str!("../data/fund_policy.toml");
/// How many demo applications are made.
const APPLICATIONS: u32 = 40;

#[derive(Deserialize)]
struct PolicyFile {
    name: String,
    issuer: String,
    total: Decimal,
    notice_working_days: u32,
    allocations: Vec<AllocationRow>,
    measures: Vec<MeasureRow>,
}

#[derive(Deserialize)]
struct AllocationRow {
    year: i32,
    amount: Decimal,
}

#[derive(Deserialize)]
struct MeasureRow {
    #[serde(flatten)]
    input: MeasureInput,
    /// Eligible applicant data the demo applications vary.
    sample: Sample,
}

/// Applicant data as JSON, by field name.
type Sample = serde_json::Map<String, serde_json::Value>;

/// Where a demo application's review stops.
#[derive(Clone, Copy)]
enum Stop {
    Submitted,
    TownReviewed,
    DepartmentReviewed,
    Publicised,
    Paid,
    Rejected,
}

const STOPS: [Stop; 6] =
    [Stop::Paid, Stop::Submitted, Stop::TownReviewed, Stop::Publicised, Stop::DepartmentReviewed, Stop::Rejected];

/// Loads the policy and the applications unless a policy exists; answers how many applications were made.
pub async fn load_fund<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let fail = |what: &'static str| move |e: StoreError| DemoError(format!("{what}失败：{e}"));
    if !store.fund_policies().await.map_err(fail("读取扶持政策"))?.is_empty() {
        return Ok(0);
    }
    let (policy, measures, samples) = bundled_policy()?;
    let created_at = shanghai().with_ymd_and_hms(2022, 1, 10, 9, 0, 0).single().unwrap_or(now);
    let office = FundActor { user_id: None, name: "街道经济发展办（dispatcher）".into() };
    let stored = store
        .create_fund_policy(policy, measures.clone(), created_at, office.clone())
        .await
        .map_err(fail("保存扶持政策"))?;
    let stored_measures = store.fund_measures(stored.id).await.map_err(fail("读取扶持措施"))?;
    let filter = EnterpriseFilter { limit: APPLICATIONS, ..EnterpriseFilter::default() };
    let enterprises = store.list_enterprises(&filter, EnterpriseScope::All).await.map_err(fail("读取企业名录"))?.items;
    let mut made = 0;
    for (i, enterprise) in (0u32..).zip(enterprises) {
        let n = (i as usize) % measures.len();
        let (measure, stored_measure) = (&measures[n], &stored_measures[n]);
        let data = data_from_json(measure, &varied(&samples[n], i)).map_err(|e| DemoError(e.message))?;
        let assessed = measure.assess(&data).map_err(|e| DemoError(format!("{}：{}", measure.code, e.message)))?;
        let year = 2022 + i32::try_from(i % 3).unwrap_or(0);
        let submitted = shanghai()
            .with_ymd_and_hms(year, 3 + i % 9, 1 + i % 27, 10, 0, 0)
            .single()
            .ok_or_else(|| DemoError("演示申报日期有误".into()))?;
        let new = NewFundApplication {
            measure_id: stored_measure.id,
            year,
            credit_code: enterprise.credit_code.clone(),
            data,
            materials: vec![
                mashangban_store::FundMaterial { name: "申报表（加盖公章）".into() },
                mashangban_store::FundMaterial { name: "营业执照复印件".into() },
            ],
            computed_fen: assessed.computed_fen,
            award_fen: assessed.award_fen,
        };
        let by = FundActor { user_id: None, name: format!("{}（enterprise）", enterprise.name) };
        let app = store.submit_fund_application(new, submitted, by).await.map_err(fail("提交演示申报"))?;
        walk(store, app.id, STOPS[(i as usize) % STOPS.len()], submitted, now, &office).await?;
        made += 1;
    }
    Ok(made)
}

/// The bundled policy, its measures and each measure's sample data.
fn bundled_policy() -> Result<(Policy, Vec<Measure>, Vec<Sample>), DemoError> {
    let file: PolicyFile =
        toml::from_str(DEMO_FUND_POLICY).map_err(|e| DemoError(format!("演示扶持政策文件有误：{e}")))?;
    let allocations: Vec<(i32, Decimal)> = file.allocations.iter().map(|a| (a.year, a.amount)).collect();
    let policy = Policy::new(&file.name, &file.issuer, file.total, &allocations, file.notice_working_days)
        .map_err(|e| DemoError(e.message))?;
    let mut measures = Vec::new();
    let mut samples = Vec::new();
    for row in file.measures {
        measures.push(row.input.compile().map_err(|e| DemoError(format!("{}：{}", row.input.code, e.message)))?);
        samples.push(row.sample);
    }
    Ok((policy, measures, samples))
}

/// The sample with its large amounts scaled by 100 %, 110 %, 120 % or 130 %.
fn varied(sample: &Sample, i: u32) -> Sample {
    let factor = Decimal::new(10 + i64::from(i % 4), 1);
    sample
        .iter()
        .map(|(k, v)| {
            let scaled = v
                .as_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .filter(|d| *d >= Decimal::ONE_THOUSAND)
                .map(|d| serde_json::Value::String((d * factor).round_dp(0).to_string()));
            (k.clone(), scaled.unwrap_or_else(|| v.clone()))
        })
        .collect()
}

/// Takes an application through the review up to `stop`. A 复审 the year's
/// budget cannot take leaves it at 初审, as it would in the office.
async fn walk<S: Store>(
    store: &S,
    id: i64,
    stop: Stop,
    submitted: Instant,
    now: Instant,
    office: &FundActor,
) -> Result<(), DemoError> {
    let town = FundActor { user_id: None, name: "镇街经济发展办（handler）".into() };
    let act = |action: FundAction, at: Instant, by: FundActor| async move {
        store.act_on_fund_application(id, action, None, at, by).await
    };
    let fail = |e: StoreError| DemoError(format!("演示申报审核失败：{e}"));
    if matches!(stop, Stop::Submitted) {
        return Ok(());
    }
    if matches!(stop, Stop::Rejected) {
        let reason = "申报企业上年度存在环保行政处罚，不符合办法第五条规定".into();
        act(FundAction::Reject { reason }, submitted + Duration::days(6), town).await.map_err(fail)?;
        return Ok(());
    }
    act(FundAction::TownReview { adjustment: None }, submitted + Duration::days(5), town).await.map_err(fail)?;
    if matches!(stop, Stop::TownReviewed) {
        return Ok(());
    }
    let reviewed =
        act(FundAction::DepartmentReview { adjustment: None }, submitted + Duration::days(12), office.clone()).await;
    match reviewed {
        Err(StoreError::Domain(e)) if e.code == "budget_exceeded" => return Ok(()),
        other => other.map_err(fail)?,
    };
    match stop {
        Stop::Publicised => {
            let at = now - Duration::days(1);
            act(FundAction::Publicise { ends_at: now + Duration::days(6) }, at, office.clone()).await.map_err(fail)?;
        }
        Stop::Paid => {
            let ends_at = submitted + Duration::days(22);
            act(FundAction::Publicise { ends_at }, submitted + Duration::days(15), office.clone())
                .await
                .map_err(fail)?;
            let note = format!("国库集中支付凭证 {id:04} 号");
            act(FundAction::Pay { note }, submitted + Duration::days(30), office.clone()).await.map_err(fail)?;
        }
        _ => {}
    }
    Ok(())
}
