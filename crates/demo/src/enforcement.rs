//! Enforcement cases in the demo park (环境执法): three of the park's COD
//! alerts opened as cases at different stages (立案; 调查取证; 执行 with a
//! decision), and an inspection with an exceeding sample opened as a case.
//! Deadlines are counted on the bundled work calendar with the default stage
//! limits. Idempotent: nothing is loaded when any case exists, or when the
//! park has no open alerts.

use chrono::Duration;

use mashangban_domain::calendar::{TimeLimit, WorkCalendar};
use mashangban_domain::enforcement::{
    CaseOrigin, CaseStage, Decision, InspectionDraft, InspectionInput, Sample, SampleResult, StageLimits,
};
use mashangban_domain::monitoring::AlertState;
use mashangban_domain::time::Instant;
use mashangban_store::{CaseChange, CaseFilter, EnforcementActor, NewCase, NewInspection, Store};

use crate::DemoError;

/// Opens the demo cases; how many.
pub async fn load_enforcement<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let failed = |e: mashangban_store::StoreError| DemoError(format!("载入环境执法演示数据失败：{e}"));
    let domain = |e: mashangban_domain::DomainError| DemoError(e.message);
    if !store.enforcement_cases(CaseFilter::default(), 1).await.map_err(failed)?.is_empty() {
        return Ok(0);
    }
    let calendar = WorkCalendar::bundled().map_err(domain)?;
    let limits = StageLimits::default();
    let due = |from: Instant, stage: CaseStage| -> Result<Option<Instant>, DemoError> {
        match limits.days(stage) {
            Some(days) => {
                Ok(Some(calendar.deadline_or_provisional(from, TimeLimit::working_days(days)).map_err(domain)?.at))
            }
            None => Ok(None),
        }
    };
    let officer = EnforcementActor { user_id: None, name: "演示数据（执法人员）".into() };
    // The oldest open alert of each of the first three points with one and an enterprise.
    let mut alerts = store.monitoring_alerts(Some(AlertState::Open), None, 5000).await.map_err(failed)?;
    alerts.sort_by_key(|a| a.id);
    let mut picked = Vec::new();
    for alert in alerts {
        if picked.len() == 3
            || picked.iter().any(|(a, _): &(mashangban_store::MonitoringAlert, _)| a.point_id == alert.point_id)
        {
            continue;
        }
        let Some(point) = store.monitoring_point_by_id(alert.point_id).await.map_err(failed)? else { continue };
        if let Some(code) = point.credit_code.clone() {
            picked.push((alert, (point, code)));
        }
    }
    let mut opened = 0;
    for (n, (alert, (point, credit_code))) in picked.into_iter().enumerate() {
        let at = now - Duration::days(3 - n as i64);
        let new = NewCase {
            origin: CaseOrigin::Alert(alert.id),
            credit_code,
            unit_id: point.unit_id,
            summary: format!("{}（{}）：{}", point.name, point.code, alert.description),
            due_at: due(at, CaseStage::Filed)?.unwrap_or(at),
            note: Some("在线监测超标，拟立案调查".into()),
        };
        let case = store.open_case(new, at, officer.clone()).await.map_err(failed)?;
        opened += 1;
        let steps: &[CaseStage] = match n {
            0 => &[],
            1 => &[CaseStage::Investigating],
            _ => &[CaseStage::Investigating, CaseStage::Notified, CaseStage::Decided, CaseStage::Executing],
        };
        let mut from = CaseStage::Filed;
        for (k, to) in steps.iter().copied().enumerate() {
            let moved_at = at + Duration::hours(2 * (k as i64 + 1));
            let decision = (to == CaseStage::Executing)
                .then(|| Decision::new(Some("80000"), "责令立即改正违法行为，罚款捌万元整"))
                .transpose()
                .map_err(domain)?;
            let change = CaseChange { from, to, due_at: due(moved_at, to)?, decision, closed_reason: None, note: None };
            store.change_case(case.id, change, moved_at, officer.clone()).await.map_err(failed)?;
            from = to;
        }
    }
    // An inspection at the first enterprise outlet with an exceeding sample, opened as a case.
    let points = store.monitoring_points().await.map_err(failed)?;
    if let Some(point) = points.iter().find(|p| p.credit_code.is_some()) {
        let credit_code = point.credit_code.clone().unwrap_or_default();
        let input = InspectionInput::new(InspectionDraft {
            inspector: "陈志明、黄丽".into(),
            place: format!("{}及废水处理站", point.name),
            credit_code: credit_code.clone(),
            findings: "废水处理设施曝气池停运，现场采样一个".into(),
            samples: vec![Sample {
                parameter: "化学需氧量".into(),
                value: Some(236.0),
                unit: Some("mg/L".into()),
                lab: "市环境监测站".into(),
                result: SampleResult::Exceeds,
            }],
        })
        .map_err(domain)?;
        let at = now - Duration::days(1);
        let inspection = NewInspection { input, unit_id: point.unit_id, inspected_at: at, point_id: Some(point.id) };
        let saved = store.create_inspection(inspection, at, officer.clone()).await.map_err(failed)?;
        let new = NewCase {
            origin: CaseOrigin::Inspection(saved.id),
            credit_code,
            unit_id: point.unit_id,
            summary: format!("现场检查（{}）：{}", saved.place, saved.findings),
            due_at: due(at, CaseStage::Filed)?.unwrap_or(at),
            note: None,
        };
        store.open_case(new, at + Duration::hours(1), officer).await.map_err(failed)?;
        opened += 1;
    }
    Ok(opened)
}
