//! Environmental enforcement: inspections, cases opened from an alert (the
//! alert escalated in the same transaction, never both dismissed and a case,
//! one case when two nodes open it at once) or from an inspection (once),
//! moved stage by stage with each change in the append-only history.

use mashangban_domain::compensation::{
    self as compensation, Agreement, DrawPurpose, ExpertDraft, ExpertInput, MatterAction, MatterStage, Procedure,
};
use mashangban_domain::enforcement::{
    CaseOrigin, CaseStage, Decision, InspectionDraft, InspectionInput, Sample, SampleResult,
};
use mashangban_domain::enterprise::EnterpriseInput;
use mashangban_domain::environment::{GB_8978_1996, bundled_standards};
use mashangban_domain::monitoring::{
    AlertState, MeasuredParameter, NewReading, PointDraft, PointInput, ReadingKind, check_reading,
};
use mashangban_domain::org::UnitKind;
use mashangban_domain::validation::CreditCode;
use mashangban_store::{
    CaseChange, CaseFilter, ChangeCursor, ChangeEntity, ChangeStore, CompensationStore, EnforcementActor,
    EnforcementStore, EnterpriseStore, MatterEvent, MatterFilter, MonitoringActor, MonitoringStore, NewCase,
    NewInspection, NewMatter, OrgStore,
};
use mashangban_store_sql::SqlStore;

use crate::org::unit;
use crate::support::{Env, TestDb, at, execute, refusal, t0};

on_both!(
    a_case_from_an_alert_escalates_it_and_moves_stage_by_stage,
    two_nodes_opening_one_alert_make_one_case,
    an_inspection_opens_one_case,
    a_compensation_matter_is_written_with_its_history_over_its_version,
    two_nodes_opening_compensation_for_one_case_make_one_matter,
    documents_are_counted_per_owner_withdrawn_once_and_kept
);

fn officer() -> EnforcementActor {
    EnforcementActor { user_id: None, name: "执法员（handler）".into() }
}

struct Setup {
    unit_id: i64,
    credit_code: String,
    point: mashangban_store::MonitoringPoint,
}

async fn setup<D: TestDb>(s: &SqlStore<D>) -> Setup {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let town = s.upsert_unit(unit("guzhen", UnitKind::Town, Some("city"))).await.unwrap().id;
    let unit_id = s.upsert_unit(unit("sthjj", UnitKind::Department, Some("city"))).await.unwrap().id;
    let input = EnterpriseInput {
        credit_code: CreditCode::with_check_char("91442000MA5200001").unwrap(),
        name: "华凯化工".into(),
        town_id: town,
        address: None,
        industry_code: None,
        industry_name: None,
        size: None,
        registered_on: None,
        contact_name: None,
        contact_phone: None,
        tags: vec![],
    };
    let credit_code = s.create_enterprise(input, t0(), "测试".into()).await.unwrap().credit_code;
    let draft = PointDraft {
        code: "WS-1".into(),
        name: "华凯化工总排口".into(),
        kind: "enterprise_outlet".into(),
        credit_code: Some(credit_code.clone()),
        mn: "MN0001".into(),
        standard: GB_8978_1996.into(),
        grade: 2,
        parameters: vec![MeasuredParameter { code: "w01018".into(), unit: "mg/L".into() }],
        unit_id,
        ..PointDraft::default()
    };
    let desk = MonitoringActor { user_id: None, name: "环境局".into() };
    let point = s.create_monitoring_point(PointInput::new(draft).unwrap(), "h".into(), t0(), desk).await.unwrap();
    Setup { unit_id, credit_code, point }
}

/// Stores COD values over the grade-2 limit of 150, one a minute from `minute`; answers the alerts' ids.
async fn exceed<D: TestDb>(
    s: &SqlStore<D>,
    point: &mashangban_store::MonitoringPoint,
    minute: i64,
    n: i64,
) -> Vec<i64> {
    let standard = bundled_standards().iter().find(|s| s.code == GB_8978_1996).unwrap();
    let readings = (0..n)
        .map(|m| NewReading {
            point_id: point.id,
            mn: point.mn.clone(),
            kind: ReadingKind::Minute,
            data_time: at(minute + m),
            parameter: "w01018".into(),
            value: 200.0,
            min: None,
            max: None,
            flag: None,
            exceedance: check_reading(standard, point.grade, &[], "w01018", 200.0, None).unwrap(),
        })
        .collect();
    s.insert_readings(readings, at(minute + n)).await.unwrap().alerts.iter().map(|a| a.id).collect()
}

fn new_case(origin: CaseOrigin, setup: &Setup) -> NewCase {
    NewCase {
        origin,
        credit_code: setup.credit_code.clone(),
        unit_id: setup.unit_id,
        summary: "COD 超标".into(),
        due_at: at(60 * 24 * 9),
        note: Some("拟立案调查".into()),
    }
}

fn step(from: CaseStage, to: CaseStage, due_minutes: Option<i64>) -> CaseChange {
    CaseChange { from, to, due_at: due_minutes.map(at), decision: None, closed_reason: None, note: None }
}

async fn a_case_from_an_alert_escalates_it_and_moves_stage_by_stage<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let setup = setup(&s).await;
    let alerts = exceed(&s, &setup.point, 0, 2).await;
    let mut cursor = ChangeCursor::default();
    cursor = s.changes_after(cursor, 1000).await.unwrap().last().map_or(cursor, |c| c.cursor);

    // Unknown enterprise or alert: refused, nothing written.
    let stranger =
        NewCase { credit_code: "91350100M000100Y43".into(), ..new_case(CaseOrigin::Alert(alerts[0]), &setup) };
    assert_eq!(refusal(s.open_case(stranger, at(10), officer()).await), "unknown_enterprise");
    assert_eq!(
        refusal(s.open_case(new_case(CaseOrigin::Alert(999), &setup), at(10), officer()).await),
        "monitoring_alert_not_found"
    );

    let case = s.open_case(new_case(CaseOrigin::Alert(alerts[0]), &setup), at(10), officer()).await.unwrap();
    assert_eq!((case.stage, case.origin, case.version), (CaseStage::Filed, CaseOrigin::Alert(alerts[0]), 1));
    assert_eq!(case.number, format!("环执〔2026〕{}号", case.id));
    assert_eq!(case.stage_due_at, Some(at(60 * 24 * 9)));

    // The alert is escalated with its event and a change-feed row, and can be neither dismissed nor opened again.
    let alert = s.monitoring_alert(alerts[0]).await.unwrap().unwrap();
    assert_eq!(alert.state, AlertState::Escalated);
    let kinds: Vec<String> = s.monitoring_alert_events(alerts[0]).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["opened", "escalated"]);
    let changes = s.changes_after(cursor, 1000).await.unwrap();
    assert!(changes.iter().any(|c| c.entity == ChangeEntity::Monitoring && c.kind == "alert_escalated"), "{changes:?}");
    let desk = MonitoringActor { user_id: None, name: "环境局".into() };
    assert_eq!(
        refusal(s.dismiss_monitoring_alert(alerts[0], "设备故障".into(), at(11), desk.clone()).await),
        "alert_not_open"
    );
    assert_eq!(
        refusal(s.open_case(new_case(CaseOrigin::Alert(alerts[0]), &setup), at(11), officer()).await),
        "alert_not_open"
    );
    // And a dismissed alert cannot become a case.
    s.dismiss_monitoring_alert(alerts[1], "现场核实为设备故障".into(), at(11), desk).await.unwrap();
    assert_eq!(
        refusal(s.open_case(new_case(CaseOrigin::Alert(alerts[1]), &setup), at(12), officer()).await),
        "alert_not_open"
    );

    // Stage by stage; a stale `from` is refused.
    let moved = s
        .change_case(case.id, step(CaseStage::Filed, CaseStage::Investigating, Some(100_000)), at(20), officer())
        .await
        .unwrap();
    assert_eq!((moved.stage, moved.version, moved.stage_started_at), (CaseStage::Investigating, 2, at(20)));
    let stale = s.change_case(case.id, step(CaseStage::Filed, CaseStage::Investigating, None), at(21), officer()).await;
    assert_eq!(refusal(stale), "case_changed");
    s.change_case(case.id, step(CaseStage::Investigating, CaseStage::Notified, Some(200_000)), at(30), officer())
        .await
        .unwrap();
    s.change_case(case.id, step(CaseStage::Notified, CaseStage::Decided, Some(300_000)), at(40), officer())
        .await
        .unwrap();
    let decision = Decision::new(Some("50000"), "责令立即改正，罚款五万元").unwrap();
    let decide =
        CaseChange { decision: Some(decision), ..step(CaseStage::Decided, CaseStage::Executing, Some(400_000)) };
    let decided = s.change_case(case.id, decide, at(50), officer()).await.unwrap();
    assert_eq!((decided.penalty_fen, decided.decision.as_deref()), (Some(5_000_000), Some("责令立即改正，罚款五万元")));
    let close = CaseChange {
        closed_reason: Some("罚款已缴清".into()),
        ..step(CaseStage::Executing, CaseStage::Closed, None)
    };
    let closed = s.change_case(case.id, close, at(60), officer()).await.unwrap();
    assert_eq!((closed.stage, closed.closed_at, closed.stage_due_at), (CaseStage::Closed, Some(at(60)), None));
    assert_eq!(closed.penalty_fen, Some(5_000_000), "the decision stays");

    let history = s.case_events(case.id).await.unwrap();
    let stages: Vec<(&str, Option<CaseStage>, CaseStage)> =
        history.iter().map(|e| (e.kind.as_str(), e.from_stage, e.to_stage)).collect();
    assert_eq!(stages.len(), 6);
    assert_eq!(stages[0], ("opened", None, CaseStage::Filed));
    assert_eq!(stages[5], ("closed", Some(CaseStage::Executing), CaseStage::Closed));
    assert_eq!(history[0].note.as_deref(), Some("拟立案调查"));
    assert!(history[4].note.as_deref().unwrap().contains("罚款50000.00元"), "{:?}", history[4].note);
    assert!(execute(&s, "DELETE FROM enforcement_case_events", vec![]).await.is_err(), "history is append-only");
    assert!(execute(&s, "UPDATE enforcement_case_events SET note = 'x'", vec![]).await.is_err());

    // Lists: by stage, enterprise, unit and overdue.
    let second = exceed(&s, &setup.point, 100, 1).await;
    let open = s.open_case(new_case(CaseOrigin::Alert(second[0]), &setup), at(110), officer()).await.unwrap();
    let all = s.enforcement_cases(CaseFilter::default(), 100).await.unwrap();
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), [open.id, case.id]);
    let filed = CaseFilter { stage: Some(CaseStage::Filed), ..CaseFilter::default() };
    assert_eq!(s.enforcement_cases(filed, 100).await.unwrap().len(), 1);
    let overdue = CaseFilter { overdue_at: Some(at(60 * 24 * 10)), ..CaseFilter::default() };
    assert_eq!(s.enforcement_cases(overdue, 100).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>(), [open.id]);
    let not_yet = CaseFilter { overdue_at: Some(at(200)), ..CaseFilter::default() };
    assert!(s.enforcement_cases(not_yet, 100).await.unwrap().is_empty());
    let elsewhere = CaseFilter { units: Some(vec![setup.unit_id + 100]), ..CaseFilter::default() };
    assert!(s.enforcement_cases(elsewhere, 100).await.unwrap().is_empty());
    let mine = CaseFilter {
        units: Some(vec![setup.unit_id]),
        credit_code: Some(setup.credit_code.clone()),
        ..CaseFilter::default()
    };
    assert_eq!(s.enforcement_cases(mine, 100).await.unwrap().len(), 2);
}

async fn two_nodes_opening_one_alert_make_one_case<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let (a, b) = (env.store(), env.other_node().await);
    let setup = setup(&a).await;
    let alerts = exceed(&a, &setup.point, 0, 1).await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let case = new_case(CaseOrigin::Alert(alerts[0]), &setup);
        tasks.push(tokio::spawn(async move { store.open_case(case, at(10), officer()).await }));
    }
    let mut opened = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => opened += 1,
            Err(e) => assert_eq!(refusal::<()>(Err(e)), "alert_not_open"),
        }
    }
    assert_eq!(opened, 1);
    assert_eq!(a.enforcement_cases(CaseFilter::default(), 100).await.unwrap().len(), 1);
    let events = a.monitoring_alert_events(alerts[0]).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "escalated").count(), 1);
}

async fn an_inspection_opens_one_case<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let setup = setup(&s).await;
    let draft = |code: &str| InspectionDraft {
        inspector: "张三、李四".into(),
        place: "华凯化工废水处理站".into(),
        credit_code: code.into(),
        findings: "废水处理设施未运行，排放口有异味".into(),
        samples: vec![Sample {
            parameter: "化学需氧量".into(),
            value: Some(260.0),
            unit: Some("mg/L".into()),
            lab: "市环境监测站".into(),
            result: SampleResult::Exceeds,
        }],
    };
    let new = |code: &str, unit_id: i64| NewInspection {
        input: InspectionInput::new(draft(code)).unwrap(),
        unit_id,
        inspected_at: at(5),
        point_id: Some(setup.point.id),
    };
    assert_eq!(
        refusal(s.create_inspection(new("91350100M000100Y43", setup.unit_id), at(6), officer()).await),
        "unknown_enterprise"
    );
    assert_eq!(refusal(s.create_inspection(new(&setup.credit_code, 9999), at(6), officer()).await), "unknown_unit");
    let inspection = s.create_inspection(new(&setup.credit_code, setup.unit_id), at(6), officer()).await.unwrap();
    assert_eq!((inspection.samples.len(), inspection.case_id, inspection.point_id), (1, None, Some(setup.point.id)));
    assert_eq!(inspection.samples[0].result, SampleResult::Exceeds);

    let case = s.open_case(new_case(CaseOrigin::Inspection(inspection.id), &setup), at(10), officer()).await.unwrap();
    assert_eq!(case.origin, CaseOrigin::Inspection(inspection.id));
    assert_eq!(s.inspection(inspection.id).await.unwrap().unwrap().case_id, Some(case.id));
    let again = s.open_case(new_case(CaseOrigin::Inspection(inspection.id), &setup), at(11), officer()).await;
    assert_eq!(refusal(again), "inspection_has_case");
    assert_eq!(
        refusal(s.open_case(new_case(CaseOrigin::Inspection(999), &setup), at(11), officer()).await),
        "inspection_not_found"
    );
    let listed = s.inspections(Some(setup.credit_code.clone()), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(s.inspections(Some("91350100M000100Y43".into()), 10).await.unwrap().is_empty());

    // Early closure straight from 立案.
    let close = CaseChange {
        from: CaseStage::Filed,
        to: CaseStage::Closed,
        due_at: None,
        decision: None,
        closed_reason: Some("经复核不予立案".into()),
        note: None,
    };
    let closed = s.change_case(case.id, close, at(20), officer()).await.unwrap();
    assert_eq!((closed.stage, closed.closed_reason.as_deref()), (CaseStage::Closed, Some("经复核不予立案")));
}

fn new_matter(case_id: i64, setup: &Setup) -> NewMatter {
    NewMatter {
        case_id,
        credit_code: setup.credit_code.clone(),
        unit_id: setup.unit_id,
        procedure: Procedure::Simple,
        note: Some("简易程序".into()),
    }
}

async fn a_compensation_matter_is_written_with_its_history_over_its_version<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let s = env.store();
    let setup = setup(&s).await;
    let expert = |name: &str, conflicts: Vec<String>| ExpertInput {
        name: name.into(),
        specialty: compensation::Specialty::Water,
        employer: "中山大学".into(),
        conflicts,
    };
    let first = s.create_expert(expert("王工", vec![setup.credit_code.clone()]), at(1)).await.unwrap();
    s.create_expert(expert("李工", vec![]), at(1)).await.unwrap();
    assert_eq!((first.conflicts.clone(), first.active, first.version), (vec![setup.credit_code.clone()], true, 1));
    let out = s.set_expert_active(first.id, false).await.unwrap();
    assert_eq!((out.active, out.version), (false, 2));
    assert_eq!(refusal(s.set_expert_active(999, false).await), "expert_not_found");
    assert_eq!(s.experts().await.unwrap().len(), 2);
    assert!(ExpertInput::new(ExpertDraft { name: "x".into(), ..ExpertDraft::default() }).is_err());

    let alerts = exceed(&s, &setup.point, 0, 1).await;
    let case = s.open_case(new_case(CaseOrigin::Alert(alerts[0]), &setup), at(10), officer()).await.unwrap();
    assert_eq!(refusal(s.open_matter(new_matter(999, &setup), at(11), officer()).await), "case_not_found");
    let opened = s.open_matter(new_matter(case.id, &setup), at(11), officer()).await.unwrap();
    assert_eq!(opened.number, format!("生赔〔2026〕{}号", opened.id));
    assert_eq!((opened.matter.stage, opened.version, opened.case_id), (MatterStage::Assessing, 1, case.id));
    assert_eq!(refusal(s.open_matter(new_matter(case.id, &setup), at(12), officer()).await), "case_has_matter");

    // A change decided on version 1 is written once; the same version again is refused, nothing written.
    let draw = MatterAction::Draw { purpose: DrawPurpose::Assessment, experts: vec![3, 1, 2] };
    let drawn = compensation::apply(&opened.matter, &draw, false).unwrap();
    let saved = s.change_matter(opened.id, 1, drawn.clone(), MatterEvent::of(&draw), at(20), officer()).await.unwrap();
    assert_eq!((saved.version, saved.matter.assessment_experts.clone()), (2, vec![3, 1, 2]));
    assert_eq!(saved.stage_started_at, opened.stage_started_at, "the stage did not change");
    let stale = s.change_matter(opened.id, 1, drawn, MatterEvent::of(&draw), at(21), officer()).await;
    assert_eq!(refusal(stale), "matter_changed");

    let assess = MatterAction::Assess { damage_fen: 12_200_050, report: "评估".into(), appraiser: None };
    let m = compensation::apply(&saved.matter, &assess, false).unwrap();
    let m = s.change_matter(opened.id, 2, m, MatterEvent::of(&assess), at(30), officer()).await.unwrap();
    assert_eq!(
        (m.matter.stage, m.matter.damage_fen, m.stage_started_at),
        (MatterStage::Consulting, Some(12_200_050), at(30))
    );
    let consult = MatterAction::Consult { minutes: "第一轮".into() };
    let next = compensation::apply(&m.matter, &consult, false).unwrap();
    let m = s.change_matter(opened.id, 3, next, MatterEvent::of(&consult), at(40), officer()).await.unwrap();
    let plan = vec![("2026-12-31".to_owned(), "60000".to_owned()), ("2027-06-30".to_owned(), "62000.50".to_owned())];
    let agreement = Agreement::new("122000.50", "2026-12-01", &plan, "补种水生植物", "2027-05-31").unwrap();
    let sign = MatterAction::Sign(agreement.clone());
    let next = compensation::apply(&m.matter, &sign, true).unwrap();
    let m = s.change_matter(opened.id, 4, next, MatterEvent::of(&sign), at(50), officer()).await.unwrap();
    assert_eq!(m.matter.agreement.as_ref(), Some(&agreement), "the agreement round-trips");
    let pay = MatterAction::Pay { amount_fen: 6_000_000, paid_on: agreement.signed_on };
    let next = compensation::apply(&m.matter, &pay, false).unwrap();
    let m = s.change_matter(opened.id, 5, next, MatterEvent::of(&pay), at(60), officer()).await.unwrap();
    assert_eq!((m.matter.paid_fen, m.matter.outstanding_fen()), (6_000_000, 6_200_050));

    let history = s.matter_history(opened.id).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.event.kind.as_str()).collect();
    assert_eq!(kinds, ["opened", "draw", "assessed", "consultation", "signed", "payment"]);
    assert_eq!(history.last().unwrap().stage, MatterStage::Performing);
    assert!(execute(&s, "DELETE FROM compensation_events", vec![]).await.is_err(), "history is append-only");
    assert!(execute(&s, "UPDATE compensation_events SET note = 'x'", vec![]).await.is_err());

    let listed = s.matters(MatterFilter::default(), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    let performing = MatterFilter { stage: Some(MatterStage::Performing), ..MatterFilter::default() };
    assert_eq!(s.matters(performing, 10).await.unwrap().len(), 1);
    let elsewhere = MatterFilter { units: Some(vec![setup.unit_id + 100]), ..MatterFilter::default() };
    assert!(s.matters(elsewhere, 10).await.unwrap().is_empty());
    let by_case = MatterFilter { case_id: Some(case.id), ..MatterFilter::default() };
    assert_eq!(s.matters(by_case, 10).await.unwrap()[0].id, opened.id);
}

async fn two_nodes_opening_compensation_for_one_case_make_one_matter<D: TestDb>() {
    let env: Env<D> = D::create().await;
    let (a, b) = (env.store(), env.other_node().await);
    let setup = setup(&a).await;
    let alerts = exceed(&a, &setup.point, 0, 1).await;
    let case = a.open_case(new_case(CaseOrigin::Alert(alerts[0]), &setup), at(10), officer()).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let matter = new_matter(case.id, &setup);
        tasks.push(tokio::spawn(async move { store.open_matter(matter, at(20), officer()).await }));
    }
    let mut opened = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => opened += 1,
            Err(e) => assert_eq!(refusal::<()>(Err(e)), "case_has_matter"),
        }
    }
    assert_eq!(opened, 1);
    let matter = a.matters(MatterFilter::default(), 10).await.unwrap().remove(0);
    assert_eq!(a.matter_history(matter.id).await.unwrap().len(), 1);
}

/// Documents of a case and an inspection: at most the limit not withdrawn, each upload and
/// withdrawal in the case's history, withdrawn once, never changed or deleted.
async fn documents_are_counted_per_owner_withdrawn_once_and_kept<D: TestDb>() {
    use mashangban_domain::document::{DocumentFile, OwnerKind};
    use mashangban_store::{DocumentActor, DocumentOwner, DocumentStore};

    let env: Env<D> = D::create().await;
    let s = env.store();
    let setup = setup(&s).await;
    let draft = InspectionDraft {
        inspector: "张三".into(),
        place: "华凯化工".into(),
        credit_code: setup.credit_code.clone(),
        findings: "废水处理设施未运行".into(),
        samples: vec![],
    };
    let new = NewInspection {
        input: InspectionInput::new(draft).unwrap(),
        unit_id: setup.unit_id,
        inspected_at: at(5),
        point_id: None,
    };
    let inspection = s.create_inspection(new, at(6), officer()).await.unwrap();
    let case = s.open_case(new_case(CaseOrigin::Inspection(inspection.id), &setup), at(10), officer()).await.unwrap();
    let by = DocumentActor { user_id: None, name: "执法员（handler）".into() };
    let pdf = |name: &str| DocumentFile::new(Some(name), b"%PDF-1.7\n".to_vec()).unwrap();
    let owner = DocumentOwner { kind: OwnerKind::EnforcementCase, id: case.id };
    let elsewhere = DocumentOwner { kind: OwnerKind::Inspection, id: inspection.id };

    let added = s.add_documents(owner, Some("笔录".into()), vec![pdf("a.pdf"), pdf("b.pdf")], 3, by.clone(), at(11));
    let added = added.await.unwrap();
    assert_eq!(added.iter().map(|d| d.file_name.as_str()).collect::<Vec<_>>(), ["a.pdf", "b.pdf"]);
    assert_eq!((added[0].byte_size, added[0].purpose.as_deref(), added[0].uploaded_at), (9, Some("笔录"), at(11)));
    s.add_documents(elsewhere, None, vec![pdf("c.pdf")], 1, by.clone(), at(11)).await.unwrap();
    let refused = s.add_documents(owner, None, vec![pdf("c.pdf"), pdf("d.pdf")], 3, by.clone(), at(12)).await;
    assert_eq!(refusal(refused), "too_many_documents");
    let missing = DocumentOwner { kind: OwnerKind::CompensationMatter, id: 999 };
    assert_eq!(
        refusal(s.add_documents(missing, None, vec![pdf("x.pdf")], 3, by.clone(), at(12)).await),
        "unknown_document"
    );
    assert_eq!(s.documents(owner).await.unwrap().len(), 2, "nothing written by the refusals");

    let done = s.withdraw_document(added[0].id, "错传".into(), by.clone(), at(13)).await.unwrap();
    assert_eq!((done.withdrawn_at, done.withdrawn_reason.as_deref()), (Some(at(13)), Some("错传")));
    assert_eq!(
        refusal(s.withdraw_document(added[0].id, "再撤".into(), by.clone(), at(14)).await),
        "document_withdrawn"
    );
    assert_eq!(refusal(s.withdraw_document(9999, "无".into(), by.clone(), at(14)).await), "unknown_document");
    s.add_documents(owner, None, vec![pdf("c.pdf"), pdf("d.pdf")], 3, by.clone(), at(15)).await.unwrap();
    assert_eq!(s.documents(owner).await.unwrap().len(), 4, "the withdrawn one is still there");
    assert_eq!(s.document_content(added[1].id).await.unwrap().as_deref(), Some(&b"%PDF-1.7\n"[..]));

    let kinds: Vec<String> = s.case_events(case.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    let documents: Vec<&str> = kinds.iter().map(String::as_str).filter(|k| k.starts_with("document")).collect();
    assert_eq!(
        documents,
        ["document_added", "document_added", "document_withdrawn", "document_added", "document_added"]
    );
    for sql in [
        "UPDATE documents SET file_name = 'x.pdf'",
        "UPDATE documents SET withdrawn_reason = 'x' WHERE withdrawn_at IS NOT NULL",
        "DELETE FROM documents",
    ] {
        let err = execute(&s, sql, vec![]).await.unwrap_err();
        assert!(
            err.to_string().contains("documents are append-only") || err.to_string().contains("stays withdrawn"),
            "{sql}: {err}"
        );
    }
}
