//! Ecological-damage compensation in the demo park (生态环境损害赔偿): an
//! expert pool of 18, and two matters. One follows an inspection nine months
//! ago that found a company discharging COD far over its grade-2 limit: its
//! case ran to 执行, and the simple procedure — experts drawn, damage
//! assessed at 122,000 yuan, two consultation rounds, the agreement paid in
//! two instalments, the remediation reviewed by drawn experts — is closed, as
//! in the report this product comes from. The other, under the ordinary
//! procedure, is in consultation on the demo's decided alert case. Every step
//! goes through the domain's rules and the store as the service's do.
//! Idempotent: nothing is loaded when the pool has experts.

use chrono::{Duration, NaiveDate};

use mashangban_domain::compensation::{
    self as domain, Agreement, DrawPurpose, DrawRecord, ExpertInput, MatterAction, Procedure, Specialty,
};
use mashangban_domain::enforcement::{
    CaseOrigin, CaseStage, Decision, InspectionDraft, InspectionInput, Sample, SampleResult,
};
use mashangban_domain::time::Instant;
use mashangban_store::{
    CaseChange, CaseFilter, EnforcementActor, Expert, MatterEvent, MatterRecord, NewCase, NewInspection, NewMatter,
    Store,
};

use crate::DemoError;

const EXPERTS: [(&str, Specialty, &str); 18] = [
    ("梁志远", Specialty::Water, "中山大学环境科学与工程学院"),
    ("何淑仪", Specialty::Water, "广东省环境科学研究院"),
    ("黄伟强", Specialty::Water, "华南理工大学环境与能源学院"),
    ("陈嘉欣", Specialty::Water, "广东省水利水电科学研究院"),
    ("林国栋", Specialty::Water, "中山市环境监测站"),
    ("吴丽华", Specialty::Air, "广东工业大学环境科学与工程学院"),
    ("郑浩然", Specialty::Air, "生态环境部华南环境科学研究所"),
    ("罗婉婷", Specialty::Soil, "广东省生态环境技术研究所"),
    ("谢振华", Specialty::Soil, "中国科学院广州地球化学研究所"),
    ("冯晓东", Specialty::Ecology, "中山大学生命科学学院"),
    ("邓美玲", Specialty::Ecology, "华南农业大学林学与风景园林学院"),
    ("许家豪", Specialty::Engineering, "广东省环境保护工程研究设计院"),
    ("曾文斌", Specialty::Engineering, "中山市环境工程有限公司"),
    ("彭雅琪", Specialty::Law, "广东环宇律师事务所"),
    ("蔡志明", Specialty::Law, "中山大学法学院"),
    ("潘秀英", Specialty::Economics, "广东中联资产评估有限公司"),
    ("杜俊杰", Specialty::Economics, "暨南大学经济学院"),
    ("钟思远", Specialty::Water, "中山市华凯环保科技有限公司"),
];

/// Loads the pool and the two matters; how many matters.
pub async fn load_compensation<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let failed = |e: mashangban_store::StoreError| DemoError(format!("载入生态环境损害赔偿演示数据失败：{e}"));
    let domain_err = |e: mashangban_domain::DomainError| DemoError(e.message);
    if !store.experts().await.map_err(failed)?.is_empty() {
        return Ok(0);
    }
    let points = store.monitoring_points().await.map_err(failed)?;
    let Some(point) = points.iter().find(|p| p.credit_code.is_some()) else { return Ok(0) };
    let credit_code = point.credit_code.clone().unwrap_or_default();
    for (n, (name, specialty, employer)) in EXPERTS.iter().enumerate() {
        // The last works for an environmental firm that serves the park's first enterprise: never drawn for it.
        let conflicts = if n == EXPERTS.len() - 1 { vec![credit_code.clone()] } else { Vec::new() };
        let input =
            ExpertInput { name: (*name).into(), specialty: *specialty, employer: (*employer).into(), conflicts };
        store.create_expert(input, now - Duration::days(400)).await.map_err(failed)?;
    }
    let pool = store.experts().await.map_err(failed)?;
    let officer = EnforcementActor { user_id: None, name: "演示数据（执法人员）".into() };
    let leader = EnforcementActor { user_id: None, name: "演示数据（生态环境局领导）".into() };
    let mut loaded = 0;

    // 1. The inspection nine months ago, its case to 执行, and the closed simple-procedure matter.
    let start = now - Duration::days(270);
    let input = InspectionInput::new(InspectionDraft {
        inspector: "陈志明、黄丽".into(),
        place: format!("{}及雨水排放口", point.name),
        credit_code: credit_code.clone(),
        findings: "废水经雨水排放口直排岐江河支流，现场采样两个".into(),
        samples: vec![sample("化学需氧量", 612.0, SampleResult::Exceeds), sample("氨氮", 48.5, SampleResult::Exceeds)],
    })
    .map_err(domain_err)?;
    let inspection = NewInspection { input, unit_id: point.unit_id, inspected_at: start, point_id: Some(point.id) };
    let inspection = store.create_inspection(inspection, start, officer.clone()).await.map_err(failed)?;
    let case = NewCase {
        origin: CaseOrigin::Inspection(inspection.id),
        credit_code: credit_code.clone(),
        unit_id: point.unit_id,
        summary: format!("现场检查（{}）：{}", inspection.place, inspection.findings),
        due_at: start + Duration::days(9),
        note: Some("超标排放第二类污染物，拟立案调查".into()),
    };
    let case = store.open_case(case, start + Duration::hours(3), officer.clone()).await.map_err(failed)?;
    let mut from = CaseStage::Filed;
    for (k, to) in [CaseStage::Investigating, CaseStage::Notified, CaseStage::Decided, CaseStage::Executing]
        .into_iter()
        .enumerate()
    {
        let at = start + Duration::days(7 * (k as i64 + 1));
        let decision = (to == CaseStage::Executing)
            .then(|| Decision::new(Some("200000"), "责令改正违法行为，罚款贰拾万元整"))
            .transpose()
            .map_err(domain_err)?;
        let change =
            CaseChange { from, to, due_at: Some(at + Duration::days(20)), decision, closed_reason: None, note: None };
        store.change_case(case.id, change, at, officer.clone()).await.map_err(failed)?;
        from = to;
    }
    let opened = start + Duration::days(30);
    let new = NewMatter {
        case_id: case.id,
        credit_code: credit_code.clone(),
        unit_id: point.unit_id,
        procedure: Procedure::Simple,
        note: Some("损害事实清楚、数额不大，适用简易程序".into()),
    };
    let mut m = store.open_matter(new, opened, officer.clone()).await.map_err(failed)?;
    let day = |d: i64| opened + Duration::days(d);
    let date = |d: i64| day(d).date_naive();
    m = drawn(store, m, &pool, DrawPurpose::Assessment, 20_260_315, day(2), &officer).await?;
    let assessment = MatterAction::Assess {
        damage_fen: 12_260_000,
        report: "专家组评估：超标废水造成支流约1.2公里水体化学需氧量、氨氮超过地表水Ⅳ类标准，\
                 应急监测、清淤和生态修复费用合计122,600元"
            .into(),
        appraiser: None,
    };
    for (d, action) in [
        (9, assessment),
        (
            16,
            MatterAction::Consult {
                minutes: "第一轮磋商：企业对损害数额无异议，请求分期缴纳，并提出自行开展修复".into(),
            },
        ),
        (
            23,
            MatterAction::Consult {
                minutes: "第二轮磋商：商定分两期缴纳，企业负责补种水生植物、清淤300米，接受专家评估修复效果".into(),
            },
        ),
    ] {
        m = step(store, m, &action, false, day(d), &officer).await?;
    }
    let plan = [(date(55), "60000".to_owned()), (date(115), "62600".to_owned())].map(|(d, a)| (d.to_string(), a));
    let agreement = Agreement::new(
        "122600",
        &date(25).to_string(),
        &plan,
        "补种水生植物2,000平方米，清淤河道300米，完成后申请修复效果评估",
        &date(150).to_string(),
    )
    .map_err(domain_err)?;
    m = step(store, m, &MatterAction::Sign(agreement), true, day(25), &leader).await?;
    m = step(store, m, &pay(6_000_000, date(50)), false, day(50), &officer).await?;
    m = step(
        store,
        m,
        &MatterAction::ReportRemediation { note: "水生植物补种和河道清淤已完成".into() },
        false,
        day(140),
        &officer,
    )
    .await?;
    m = drawn(store, m, &pool, DrawPurpose::Review, 20_261_102, day(142), &officer).await?;
    let review = MatterAction::Review {
        passed: true,
        opinion: "连续两个月监测，支流断面化学需氧量、氨氮达到地表水Ⅲ类，修复达标".into(),
    };
    m = step(store, m, &review, false, day(160), &officer).await?;
    m = step(store, m, &pay(6_260_000, date(112)), false, day(162), &officer).await?;
    step(store, m, &MatterAction::Close { note: Some("赔偿金缴清，修复效果评估通过".into()) }, true, day(165), &leader)
        .await?;
    loaded += 1;

    // 2. The decided alert case of the demo park: an ordinary-procedure matter in consultation.
    let cases = store
        .enforcement_cases(CaseFilter { stage: Some(CaseStage::Executing), ..CaseFilter::default() }, 10)
        .await
        .map_err(failed)?;
    if let Some(alert_case) = cases.iter().find(|c| c.id != case.id && matches!(c.origin, CaseOrigin::Alert(_))) {
        let at = alert_case.opened_at + Duration::hours(8);
        let new = NewMatter {
            case_id: alert_case.id,
            credit_code: alert_case.credit_code.clone(),
            unit_id: alert_case.unit_id,
            procedure: Procedure::Ordinary,
            note: Some("损害范围待鉴定，适用一般程序".into()),
        };
        let m = store.open_matter(new, at, officer.clone()).await.map_err(failed)?;
        let assess = MatterAction::Assess {
            damage_fen: 35_800_000,
            report: "鉴定评估报告：超标排放期间下游断面水质受损，生态环境损害数额358,000元".into(),
            appraiser: Some("广东省环境科学研究院（生态环境损害鉴定评估机构）".into()),
        };
        let m = step(store, m, &assess, false, at + Duration::hours(4), &officer).await?;
        let consult = MatterAction::Consult {
            minutes: "第一轮磋商：企业对鉴定结论提出异议，申请补充说明".into()
        };
        step(store, m, &consult, false, at + Duration::hours(6), &officer).await?;
        loaded += 1;
    }
    Ok(loaded)
}

fn sample(parameter: &str, value: f64, result: SampleResult) -> Sample {
    Sample {
        parameter: parameter.into(),
        value: Some(value),
        unit: Some("mg/L".into()),
        lab: "市环境监测站".into(),
        result,
    }
}

fn pay(amount_fen: i64, paid_on: NaiveDate) -> MatterAction {
    MatterAction::Pay { amount_fen, paid_on }
}

fn failed(e: mashangban_store::StoreError) -> DemoError {
    DemoError(format!("载入生态环境损害赔偿演示数据失败：{e}"))
}

/// One action through the domain's rules and the store.
async fn step<S: Store>(
    store: &S,
    m: MatterRecord,
    action: &MatterAction,
    leader: bool,
    at: Instant,
    by: &EnforcementActor,
) -> Result<MatterRecord, DemoError> {
    let next = domain::apply(&m.matter, action, leader).map_err(|e| DemoError(e.message))?;
    store.change_matter(m.id, m.version, next, MatterEvent::of(action), at, by.clone()).await.map_err(failed)
}

/// Three water experts drawn with a fixed seed (the demo is reproducible), recorded as the service records a draw.
async fn drawn<S: Store>(
    store: &S,
    m: MatterRecord,
    pool: &[Expert],
    purpose: DrawPurpose,
    seed: u64,
    at: Instant,
    by: &EnforcementActor,
) -> Result<MatterRecord, DemoError> {
    let candidates: Vec<_> = pool.iter().map(Expert::candidate).collect();
    let record = DrawRecord::make(purpose, &candidates, vec![Specialty::Water], &m.credit_code, 3, seed)
        .map_err(|e| DemoError(e.message))?;
    let action = MatterAction::Draw { purpose, experts: record.chosen.clone() };
    let next = domain::apply(&m.matter, &action, false).map_err(|e| DemoError(e.message))?;
    let event = MatterEvent::draw(&record, pool);
    store.change_matter(m.id, m.version, next, event, at, by.clone()).await.map_err(failed)
}
