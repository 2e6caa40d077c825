#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, TimeZone};

use super::*;
use crate::error::{DomainError, ErrorKind};
use crate::time::{Instant, shanghai};

const DEMO_ORG: &str = include_str!("../../../demo/data/org.toml");

fn at(h: u32, m: u32, s: u32) -> Instant {
    shanghai().with_ymd_and_hms(2021, 6, 18, h, m, s).unwrap()
}

fn bundled() -> Arc<PlanTemplate> {
    Arc::new(parse_template_toml(BUNDLED_APPROVAL_PLAN).unwrap())
}

fn step(code: &str, owner: &str, prerequisites: &[&str], minutes: u32) -> StepTemplate {
    StepTemplate {
        code: code.into(),
        name: format!("步骤{code}"),
        document: None,
        owner: owner.into(),
        prerequisites: prerequisites.iter().map(|p| p.to_string()).collect(),
        planned_minutes: minutes,
        pre_review: false,
    }
}

fn owner_of(template: &PlanTemplate, code: &str) -> String {
    template.steps()[template.step_index(code).unwrap()].owner.clone()
}

fn issue(plan: &mut ApprovalPlan, code: &str, when: Instant) {
    let unit = owner_of(plan.template(), code);
    let action = ApprovalAction::IssueStep { step: code.into(), unit, at: when, document_no: format!("{code}-001") };
    plan.apply(&action, when).unwrap_or_else(|e| panic!("{code}: {e}"));
}

fn transaction(plan: &mut ApprovalPlan, when: Instant) {
    plan.apply(&ApprovalAction::RecordTransaction { at: when }, when).unwrap();
}

/// The 2021 record: the transaction at 09:00:00, the permit at 09:16:00.
fn sixteen_minute_project() -> ApprovalPlan {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(9, 0, 0));
    for (code, time) in [
        ("deal_confirmation", at(9, 1, 30)),
        ("project_filing", at(9, 2, 30)),
        ("drawing_review", at(9, 3, 0)),
        ("transfer_contract", at(9, 4, 0)),
        ("quality_safety_supervision", at(9, 5, 0)),
        ("land_use_planning_permit", at(9, 6, 0)),
        ("land_payment_tax", at(9, 7, 10)),
        ("construction_planning_permit", at(9, 8, 0)),
        ("property_certificate", at(9, 13, 40)),
        ("construction_permit", at(9, 16, 0)),
    ] {
        issue(&mut plan, code, time);
    }
    plan
}

/// The 2020 record: the transaction at 10:00:00, the permit at 12:25:00,
/// held up by the planning permits rather than the property certificate.
fn hundred_forty_five_minute_project() -> ApprovalPlan {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(10, 0, 0));
    for (code, time) in [
        ("deal_confirmation", at(10, 10, 0)),
        ("project_filing", at(10, 20, 0)),
        ("drawing_review", at(10, 30, 0)),
        ("transfer_contract", at(10, 40, 0)),
        ("quality_safety_supervision", at(11, 0, 0)),
        ("land_use_planning_permit", at(11, 5, 0)),
        ("land_payment_tax", at(11, 10, 0)),
        ("property_certificate", at(12, 5, 0)),
        ("construction_planning_permit", at(12, 10, 0)),
        ("construction_permit", at(12, 25, 0)),
    ] {
        issue(&mut plan, code, time);
    }
    plan
}

// ---------- the template ----------

#[test]
fn bundled_template_plans_sixteen_minutes() {
    let template = bundled();
    assert_eq!(template.steps().len(), 10);
    assert_eq!(template.end_step().code, "construction_permit");
    assert_eq!(template.planned_total_minutes(), 16);
    let path = template.planned_critical_path();
    assert_eq!(
        path.steps,
        ["deal_confirmation", "transfer_contract", "land_payment_tax", "property_certificate", "construction_permit"]
    );
    assert_eq!(path.minutes, 16);
}

#[test]
fn bundled_schedule_by_hand() {
    // (code, earliest start, earliest finish, latest start, slack), worked by hand:
    // the permit starts at 14 (property certificate 2+3+3+6); every other
    // chain is measured back from there.
    let expected = [
        ("deal_confirmation", 0, 2, 0, 0),
        ("transfer_contract", 2, 5, 2, 0),
        ("project_filing", 0, 2, 12, 12),
        ("land_payment_tax", 5, 8, 5, 0),
        ("land_use_planning_permit", 5, 8, 9, 4),
        ("construction_planning_permit", 8, 10, 12, 4),
        ("drawing_review", 0, 3, 9, 9),
        ("quality_safety_supervision", 3, 5, 12, 9),
        ("property_certificate", 8, 14, 8, 0),
        ("construction_permit", 14, 16, 14, 0),
    ];
    let schedule = bundled().schedule();
    for ((code, es, ef, ls, slack), planned) in expected.iter().zip(&schedule) {
        assert_eq!(planned.code, *code);
        assert_eq!(
            (planned.earliest_start, planned.earliest_finish, planned.latest_start, planned.slack),
            (*es, *ef, *ls, *slack),
            "{code}"
        );
        assert_eq!(planned.latest_finish, planned.latest_start + u64::from(planned.planned_minutes));
        assert_eq!(planned.critical, *slack == 0);
    }
}

#[test]
fn bundled_owners_are_units_of_the_demo_city() {
    let org: toml::Value = toml::from_str(DEMO_ORG).unwrap();
    let codes: Vec<String> =
        org["unit"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap().to_owned()).collect();
    let template = bundled();
    template.validate_owners(|owner| codes.iter().any(|c| c == owner)).unwrap();
    let err = template.validate_owners(|owner| owner != "sws").unwrap_err();
    assert_eq!(err.code, "unknown_owner");
    assert!(err.message.contains("缴纳土地出让价款及契税"), "{}", err.message);
}

#[test]
fn unknown_prerequisite_is_named() {
    let steps = vec![step("a", "zrzyj", &[], 1), step("b", "zjj", &["a", "x"], 1)];
    let err = PlanTemplate::new("t", "模板", steps).unwrap_err();
    assert_eq!(err.code, "unknown_prerequisite");
    assert!(err.message.contains("“x”"), "{}", err.message);
}

#[test]
fn a_cycle_is_named_step_by_step() {
    let steps = vec![
        step("a", "zrzyj", &["c"], 1),
        step("b", "zrzyj", &["a"], 1),
        step("c", "zrzyj", &["b"], 1),
        step("end", "zjj", &["c"], 1),
    ];
    let err = PlanTemplate::new("t", "模板", steps).unwrap_err();
    assert_eq!(err.code, "prerequisite_cycle");
    assert!(err.message.contains("步骤a → 步骤b → 步骤c → 步骤a"), "{}", err.message);
    let own = vec![step("a", "zrzyj", &["a"], 1)];
    let err = PlanTemplate::new("t", "模板", own).unwrap_err();
    assert_eq!(err.code, "prerequisite_cycle");
    assert!(err.message.contains("步骤a → 步骤a"), "{}", err.message);
}

#[test]
fn the_plan_must_end_in_one_step() {
    let steps = vec![step("a", "zrzyj", &[], 1), step("b", "zjj", &["a"], 1), step("c", "sws", &["a"], 1)];
    let err = PlanTemplate::new("t", "模板", steps).unwrap_err();
    assert_eq!(err.code, "multiple_end_steps");
    assert!(err.message.contains("步骤b、步骤c"), "{}", err.message);
    let single = PlanTemplate::new("t", "模板", vec![step("only", "zjj", &[], 7)]).unwrap();
    assert_eq!(single.planned_total_minutes(), 7);
    assert_eq!(single.planned_critical_path().steps, ["only"]);
}

#[test]
fn other_template_rules() {
    let check = |steps: Vec<StepTemplate>| PlanTemplate::new("t", "模板", steps).unwrap_err().code;
    assert_eq!(check(vec![]), "empty_approval_template");
    assert_eq!(check(vec![step("a", " ", &[], 1)]), "missing_owner");
    assert_eq!(check(vec![step("a", "", &[], 1)]), "missing_owner");
    assert_eq!(check(vec![step("a", "zjj", &[], 1), step("a", "zjj", &[], 1)]), "duplicate_step");
    assert_eq!(check(vec![step("a", "zjj", &[], MAX_PLANNED_MINUTES + 1)]), "invalid_planned_duration");
    assert_eq!(check(vec![step("A b", "zjj", &[], 1)]), "invalid_approval_template");
    assert_eq!(check(vec![step("a", "zjj", &[], 1), step("b", "zjj", &["a", "a"], 1)]), "invalid_approval_template");
    let mut unnamed = step("a", "zjj", &[], 1);
    unnamed.name = "  ".into();
    assert_eq!(check(vec![unnamed]), "invalid_approval_template");
    let many: Vec<StepTemplate> = (0..=MAX_STEPS).map(|i| step(&format!("s{i}"), "zjj", &[], 1)).collect();
    assert_eq!(check(many), "invalid_approval_template");
    assert_eq!(
        PlanTemplate::new("", "模板", vec![step("a", "zjj", &[], 1)]).unwrap_err().code,
        "invalid_approval_template"
    );
}

#[test]
fn template_text_errors() {
    let err = parse_template_toml("code = \"t\"\nname = \n").unwrap_err();
    assert_eq!(err.code, "invalid_approval_template");
    assert!(err.message.contains("第2行"), "{}", err.message);
    let unknown_field = "code = \"t\"\nname = \"模板\"\n[[step]]\ncode = \"a\"\nname = \"甲\"\nowner = \"zjj\"\nplanned_minutes = 1\nminutes = 2\n";
    assert_eq!(parse_template_toml(unknown_field).unwrap_err().code, "invalid_approval_template");
    let negative =
        "code = \"t\"\nname = \"模板\"\n[[step]]\ncode = \"a\"\nname = \"甲\"\nowner = \"zjj\"\nplanned_minutes = -1\n";
    assert_eq!(parse_template_toml(negative).unwrap_err().code, "invalid_approval_template");
    assert_eq!(parse_template_toml("code = \"t\"\nname = \"模板\"\n").unwrap_err().code, "empty_approval_template");
    let huge = format!("# {}\n", "x".repeat(MAX_TEMPLATE_BYTES));
    assert_eq!(parse_template_toml(&huge).unwrap_err().code, "invalid_approval_template");
}

// ---------- the two record projects ----------

#[test]
fn sixteen_minute_project_by_hand() {
    let plan = sixteen_minute_project();
    let clock = plan.clock(at(12, 0, 0)).unwrap();
    assert_eq!(clock.elapsed, Elapsed { seconds: 960 });
    assert_eq!((clock.elapsed.minutes(), clock.elapsed.second_part()), (16, 0));
    assert_eq!(clock.elapsed.to_string(), "16分钟");
    assert!(!clock.running);

    // The permit waited for the property certificate (09:13:40), which waited
    // for the tax (09:07:10), the contract (09:04:00), the deal (09:01:30).
    let path = plan.actual_critical_path().unwrap();
    let links: Vec<(&str, &str, i64)> =
        path.links.iter().map(|l| (l.step.as_str(), l.owner.as_str(), l.seconds)).collect();
    assert_eq!(
        links,
        [
            ("deal_confirmation", "zwfw-ggzy", 90),
            ("transfer_contract", "zrzyj", 150),
            ("land_payment_tax", "sws", 190),
            ("property_certificate", "zrzyj-djzx", 390),
            ("construction_permit", "zjj-spk", 140),
        ]
    );
    assert_eq!(path.total_seconds, 960);
    assert_eq!(path.links[0].from, at(9, 0, 0));
    assert_eq!(path.links[4].from, at(9, 13, 40));
}

#[test]
fn sixteen_minute_project_plan_against_actual() {
    let plan = sixteen_minute_project();
    let reports = plan.step_reports(at(12, 0, 0));
    let get = |code: &str| reports.iter().find(|r| r.code == code).unwrap();

    // Filing: planned to finish at minute 2, issued at 2:30 — the only late step.
    let filing = get("project_filing");
    assert_eq!((filing.actual_finish_seconds, filing.delay_seconds, filing.late), (Some(150), Some(30), true));
    assert_eq!(plan.late_steps(at(12, 0, 0)).iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), ["project_filing"]);

    // Property certificate: ready at 09:07:10 (tax), issued 09:13:40: 390 s
    // against 6 planned minutes, finished at 820 s against 14 minutes planned.
    let property = get("property_certificate");
    assert_eq!(property.ready_at, Some(at(9, 7, 10)));
    assert_eq!(property.actual_seconds, Some(390));
    assert_eq!(property.delay_seconds, Some(820 - 840));
    assert!(property.on_actual_critical_path && property.on_planned_critical_path);
    assert_eq!(property.status, StepStatus::Issued);
    assert_eq!(property.document_no.as_deref(), Some("property_certificate-001"));

    // Free slack: planning permit issued 09:08:00, the permit became ready at
    // 09:13:40 — 340 s to spare; the tax fed the certificate at once.
    assert_eq!(get("construction_planning_permit").free_slack_seconds, Some(340));
    assert_eq!(get("land_payment_tax").free_slack_seconds, Some(0));
    // The contract fed the tax and the land-use permit: both ready at 09:04:00.
    assert_eq!(get("transfer_contract").free_slack_seconds, Some(0));
    // Drawing review 09:03:00 fed the supervision, ready at 09:03:00.
    assert_eq!(get("drawing_review").free_slack_seconds, Some(0));
    assert_eq!(get("quality_safety_supervision").free_slack_seconds, Some(520));
    assert_eq!(get("construction_permit").free_slack_seconds, Some(0));
    assert!(!get("construction_planning_permit").on_actual_critical_path);
    assert_eq!(get("land_use_planning_permit").planned_slack_minutes, 4);
}

#[test]
fn sixteen_minute_project_per_department() {
    let plan = sixteen_minute_project();
    let departments = plan.department_reports(at(12, 0, 0));
    let summary: Vec<(&str, usize, u64, i64, u64, i64)> = departments
        .iter()
        .map(|d| {
            (
                d.owner.as_str(),
                d.steps,
                d.planned_minutes,
                d.actual_seconds,
                d.planned_critical_minutes,
                d.actual_critical_seconds,
            )
        })
        .collect();
    // zrzyj: contract (ready 9:01:30, issued 9:04:00) 150 s; land use (9:04 → 9:06) 120 s;
    // construction planning (9:06 → 9:08) 120 s.
    assert_eq!(
        summary,
        [
            ("zwfw-ggzy", 1, 2, 90, 2, 90),
            ("zrzyj", 3, 8, 390, 3, 150),
            ("fgj", 1, 2, 150, 0, 0),
            ("sws", 1, 3, 190, 3, 190),
            ("zjj-spk", 2, 5, 180 + 140, 2, 140),
            ("zjj-zaz", 1, 2, 120, 0, 0),
            ("zrzyj-djzx", 1, 6, 390, 6, 390),
        ]
    );
    let critical: i64 = departments.iter().map(|d| d.actual_critical_seconds).sum();
    assert_eq!(critical, 960);
    assert_eq!(departments.iter().map(|d| d.late).sum::<usize>(), 1);
}

#[test]
fn hundred_forty_five_minute_project_by_hand() {
    let plan = hundred_forty_five_minute_project();
    let clock = plan.clock(at(18, 0, 0)).unwrap();
    assert_eq!(clock.elapsed.seconds, 145 * 60);
    assert_eq!(clock.elapsed.to_string(), "145分钟");

    // Here the construction planning permit (12:10) came after the property
    // certificate (12:05): the actual path differs from the planned one.
    let path = plan.actual_critical_path().unwrap();
    let links: Vec<(&str, i64)> = path.links.iter().map(|l| (l.step.as_str(), l.seconds)).collect();
    assert_eq!(
        links,
        [
            ("deal_confirmation", 600),
            ("transfer_contract", 1800),
            ("land_use_planning_permit", 1500),
            ("construction_planning_permit", 3900),
            ("construction_permit", 900),
        ]
    );
    assert_eq!(path.total_seconds, 8700);

    let departments = plan.department_reports(at(18, 0, 0));
    let critical: Vec<(&str, i64)> =
        departments.iter().map(|d| (d.owner.as_str(), d.actual_critical_seconds)).collect();
    assert_eq!(
        critical,
        [
            ("zwfw-ggzy", 600),
            ("zrzyj", 7200),
            ("fgj", 0),
            ("sws", 0),
            ("zjj-spk", 900),
            ("zjj-zaz", 0),
            ("zrzyj-djzx", 0)
        ]
    );

    // Every step finished after its planned finish; e.g. the property
    // certificate at 125 min against 14, the permit at 145 against 16.
    let reports = plan.step_reports(at(18, 0, 0));
    assert!(reports.iter().all(|r| r.late));
    let property = reports.iter().find(|r| r.code == "property_certificate").unwrap();
    assert_eq!(property.delay_seconds, Some((125 - 14) * 60));
    assert_eq!(property.free_slack_seconds, Some(300));
    assert!(!property.on_actual_critical_path && property.on_planned_critical_path);
}

#[test]
fn late_steps_across_projects() {
    let plans = [sixteen_minute_project(), hundred_forty_five_minute_project()];
    let counts = late_step_counts(&plans, at(18, 0, 0));
    assert_eq!(counts[0], ("project_filing".to_string(), 2));
    assert_eq!(counts.len(), 10);
    assert!(counts[1..].iter().all(|(_, n)| *n == 1));
}

#[test]
fn a_running_clock_and_overdue_steps() {
    let mut plan = ApprovalPlan::new(bundled());
    assert!(plan.clock(at(9, 0, 0)).is_none());
    assert!(plan.actual_critical_path().is_none());
    let waiting = plan.step_reports(at(9, 0, 0));
    assert!(waiting.iter().all(|r| r.status == StepStatus::Waiting && !r.late && r.delay_seconds.is_none()));

    transaction(&mut plan, at(9, 0, 0));
    let start =
        ApprovalAction::StartStep { step: "deal_confirmation".into(), unit: "zwfw-ggzy".into(), at: at(9, 0, 5) };
    plan.apply(&start, at(9, 0, 5)).unwrap();
    let clock = plan.clock(at(9, 2, 30)).unwrap();
    assert_eq!((clock.elapsed.seconds, clock.running, clock.permit_at), (150, true, None));
    assert_eq!(clock.elapsed.to_string(), "2分30秒");

    let reports = plan.step_reports(at(9, 2, 30));
    let get = |code: &str| reports.iter().find(|r| r.code == code).unwrap();
    assert_eq!(get("deal_confirmation").status, StepStatus::InProgress);
    assert_eq!(get("deal_confirmation").delay_seconds, Some(30));
    assert!(get("deal_confirmation").late);
    assert_eq!(get("drawing_review").status, StepStatus::Ready);
    assert!(!get("drawing_review").late);
    assert_eq!(get("transfer_contract").status, StepStatus::Waiting);
    assert_eq!(get("deal_confirmation").free_slack_seconds, None);
}

#[test]
fn elapsed_is_shown_in_minutes_and_seconds() {
    assert_eq!(Elapsed { seconds: 45 }.to_string(), "45秒");
    assert_eq!(Elapsed { seconds: 0 }.to_string(), "0分钟");
    assert_eq!(Elapsed { seconds: 27 * 60 + 5 }.to_string(), "27分5秒");
}

// ---------- refusals ----------

fn issue_action(code: &str, unit: &str, when: Instant) -> ApprovalAction {
    ApprovalAction::IssueStep {
        step: code.into(),
        unit: unit.into(),
        at: when,
        document_no: "中建施字〔2021〕1号".into(),
    }
}

fn refused(plan: &mut ApprovalPlan, action: ApprovalAction, now: Instant) -> DomainError {
    let before = plan.clone();
    let err = plan.apply(&action, now).unwrap_err();
    assert_eq!(*plan, before, "a refused action changed the plan");
    err
}

#[test]
fn issuing_before_prerequisites_is_refused() {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(9, 0, 0));
    let err = refused(&mut plan, issue_action("transfer_contract", "zrzyj", at(9, 1, 0)), at(9, 1, 0));
    assert_eq!(err.code, "prerequisite_not_issued");
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains("签订成交确认书"), "{}", err.message);

    // A prerequisite issued later than the claimed time does not count.
    issue(&mut plan, "deal_confirmation", at(9, 2, 0));
    let err = refused(&mut plan, issue_action("transfer_contract", "zrzyj", at(9, 1, 59)), at(9, 3, 0));
    assert_eq!(err.code, "prerequisite_not_issued");
    plan.apply(&issue_action("transfer_contract", "zrzyj", at(9, 2, 0)), at(9, 3, 0)).unwrap();

    let err = refused(&mut plan, issue_action("construction_permit", "zjj-spk", at(9, 3, 0)), at(9, 3, 0));
    assert_eq!(err.code, "prerequisite_not_issued");
    for name in ["不动产首次登记", "建设工程规划许可", "工程质量安全监督登记", "企业投资项目备案"]
    {
        assert!(err.message.contains(name), "{}", err.message);
    }
}

#[test]
fn only_the_owner_records_a_step() {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(9, 0, 0));
    let err = refused(&mut plan, issue_action("deal_confirmation", "zrzyj", at(9, 1, 0)), at(9, 1, 0));
    assert_eq!((err.code, err.kind), ("not_step_owner", ErrorKind::Forbidden));
    let start = ApprovalAction::StartStep { step: "drawing_review".into(), unit: "zjj".into(), at: at(9, 1, 0) };
    assert_eq!(refused(&mut plan, start, at(9, 1, 0)).code, "not_step_owner");
    let err = refused(&mut plan, issue_action("no_such_step", "zjj", at(9, 1, 0)), at(9, 1, 0));
    assert_eq!((err.code, err.kind), ("unknown_step", ErrorKind::NotFound));
}

#[test]
fn timestamps_in_the_future_are_refused() {
    let mut plan = ApprovalPlan::new(bundled());
    let now = at(9, 0, 0);
    let err = refused(&mut plan, ApprovalAction::RecordTransaction { at: now + Duration::seconds(6) }, now);
    assert_eq!(err.code, "transaction_in_future");
    transaction(&mut plan, at(8, 59, 0));
    let err = refused(&mut plan, issue_action("drawing_review", "zjj-spk", now + Duration::seconds(6)), now);
    assert_eq!((err.code, err.kind), ("issued_in_future", ErrorKind::Invalid));
    let start = ApprovalAction::StartStep { step: "drawing_review".into(), unit: "zjj-spk".into(), at: at(9, 5, 0) };
    assert_eq!(refused(&mut plan, start, now).code, "started_in_future");
    // Within the allowed clock skew is fine.
    plan.apply(&issue_action("drawing_review", "zjj-spk", now + Duration::seconds(MAX_CLOCK_SKEW_SECONDS)), now)
        .unwrap();
}

#[test]
fn steps_wait_for_the_transaction() {
    let mut plan = ApprovalPlan::new(bundled());
    let err = refused(&mut plan, issue_action("drawing_review", "zjj-spk", at(9, 0, 0)), at(9, 0, 0));
    assert_eq!(err.code, "transaction_not_recorded");
    transaction(&mut plan, at(9, 0, 0));
    let err = refused(&mut plan, issue_action("drawing_review", "zjj-spk", at(8, 59, 59)), at(9, 1, 0));
    assert_eq!(err.code, "before_transaction");
    let start = ApprovalAction::StartStep { step: "drawing_review".into(), unit: "zjj-spk".into(), at: at(8, 0, 0) };
    assert_eq!(refused(&mut plan, start, at(9, 1, 0)).code, "before_transaction");
    let again = ApprovalAction::RecordTransaction { at: at(9, 0, 30) };
    assert_eq!(refused(&mut plan, again, at(9, 1, 0)).code, "transaction_already_recorded");
}

#[test]
fn nothing_happens_twice() {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(9, 0, 0));
    let start = ApprovalAction::StartStep { step: "drawing_review".into(), unit: "zjj-spk".into(), at: at(9, 0, 30) };
    plan.apply(&start, at(9, 1, 0)).unwrap();
    assert_eq!(refused(&mut plan, start.clone(), at(9, 1, 0)).code, "already_started");
    let early = issue_action("drawing_review", "zjj-spk", at(9, 0, 29));
    assert_eq!(refused(&mut plan, early, at(9, 1, 0)).code, "issued_before_start");
    plan.apply(&issue_action("drawing_review", "zjj-spk", at(9, 1, 0)), at(9, 1, 0)).unwrap();
    let err = refused(&mut plan, issue_action("drawing_review", "zjj-spk", at(9, 2, 0)), at(9, 2, 0));
    assert_eq!(err.code, "already_issued");
    assert!(err.message.contains("中建施字〔2021〕1号"), "{}", err.message);
    assert_eq!(refused(&mut plan, start, at(9, 2, 0)).code, "already_issued");
}

#[test]
fn pre_reviews_come_before_the_sale() {
    let mut plan = ApprovalPlan::new(bundled());
    let pre = |step: &str, unit: &str, when| ApprovalAction::RecordPreReview {
        step: step.into(),
        unit: unit.into(),
        at: when,
    };
    let err = refused(&mut plan, pre("deal_confirmation", "zwfw-ggzy", at(8, 0, 0)), at(8, 0, 0));
    assert_eq!(err.code, "pre_review_not_allowed");
    assert_eq!(
        refused(&mut plan, pre("drawing_review", "zjj-spk", at(8, 30, 0)), at(8, 0, 0)).code,
        "pre_reviewed_in_future"
    );
    plan.apply(&pre("drawing_review", "zjj-spk", at(8, 0, 0)), at(8, 0, 0)).unwrap();
    assert_eq!(
        refused(&mut plan, pre("drawing_review", "zjj-spk", at(8, 1, 0)), at(8, 1, 0)).code,
        "already_pre_reviewed"
    );
    let err = refused(&mut plan, ApprovalAction::RecordTransaction { at: at(8, 0, 0) }, at(9, 0, 0));
    assert_eq!(err.code, "transaction_before_pre_review");
    transaction(&mut plan, at(9, 0, 0));
    let err = refused(&mut plan, pre("property_certificate", "zrzyj-djzx", at(9, 0, 0)), at(9, 1, 0));
    assert_eq!(err.code, "pre_review_after_transaction");
    let reports = plan.step_reports(at(9, 1, 0));
    assert_eq!(reports.iter().find(|r| r.code == "drawing_review").unwrap().pre_reviewed_at, Some(at(8, 0, 0)));
}

#[test]
fn document_numbers_are_checked_and_times_kept_to_the_second() {
    let mut plan = ApprovalPlan::new(bundled());
    transaction(&mut plan, at(9, 0, 0));
    for bad in ["", "   ", "文号\n二", &"号".repeat(65)] {
        let action = ApprovalAction::IssueStep {
            step: "drawing_review".into(),
            unit: "zjj-spk".into(),
            at: at(9, 1, 0),
            document_no: bad.to_string(),
        };
        assert_eq!(refused(&mut plan, action, at(9, 1, 0)).code, "invalid_document_number", "{bad:?}");
    }
    let with_millis = at(9, 1, 0) + Duration::milliseconds(999);
    let action = ApprovalAction::IssueStep {
        step: "drawing_review".into(),
        unit: "zjj-spk".into(),
        at: with_millis.with_timezone(&chrono::Utc).fixed_offset(),
        document_no: "  中审字〔2021〕8号 ".into(),
    };
    plan.apply(&action, at(9, 2, 0)).unwrap();
    let issued = plan.step_progress("drawing_review").unwrap().issued.clone().unwrap();
    assert_eq!(issued.at, at(9, 1, 0));
    assert_eq!(issued.at.offset(), &shanghai());
    assert_eq!(issued.document_no, "中审字〔2021〕8号");
    assert_eq!(issued.unit, "zjj-spk");
}

#[test]
fn actions_round_trip_as_json() {
    let action = issue_action("construction_permit", "zjj-spk", at(9, 16, 0));
    let json = serde_json::to_string(&action).unwrap();
    assert!(json.contains("\"action\":\"issue_step\""), "{json}");
    let back: ApprovalAction = serde_json::from_str(&json).unwrap();
    assert_eq!(back, action);
}

// ---------- properties ----------

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A random DAG of up to 7 steps: step `i` may wait for any step before
    /// it; the steps are then listed in a shuffled order, and an end step
    /// waits for every step nothing else waits for.
    fn random_template() -> impl Strategy<Value = (Vec<StepTemplate>, Vec<u32>)> {
        (1usize..=7)
            .prop_flat_map(|n| {
                let masks = proptest::collection::vec(any::<u8>(), n);
                let durations = proptest::collection::vec(0u32..=30, n + 1);
                let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
                (masks, durations, order)
            })
            .prop_map(|(masks, durations, order)| {
                let n = masks.len();
                let prereqs: Vec<Vec<usize>> =
                    (0..n).map(|i| (0..i).filter(|&j| masks[i] & (1 << j) != 0).collect()).collect();
                let required: Vec<bool> = (0..n).map(|j| prereqs.iter().any(|p| p.contains(&j))).collect();
                let mut steps: Vec<StepTemplate> = order
                    .iter()
                    .map(|&i| {
                        let before: Vec<String> = prereqs[i].iter().map(|j| format!("s{j}")).collect();
                        let before: Vec<&str> = before.iter().map(String::as_str).collect();
                        step(&format!("s{i}"), &format!("u{}", i % 3), &before, durations[i])
                    })
                    .collect();
                let ends: Vec<String> = (0..n).filter(|&j| !required[j]).map(|j| format!("s{j}")).collect();
                let ends: Vec<&str> = ends.iter().map(String::as_str).collect();
                steps.push(step("end", "u9", &ends, durations[n]));
                (steps, durations)
            })
    }

    /// Every path from a first step to `code`, by explicit enumeration.
    fn all_path_lengths(steps: &[StepTemplate], code: &str) -> Vec<u64> {
        let s = steps.iter().find(|s| s.code == code).unwrap();
        let own = u64::from(s.planned_minutes);
        if s.prerequisites.is_empty() {
            return vec![own];
        }
        s.prerequisites.iter().flat_map(|p| all_path_lengths(steps, p)).map(|len| len + own).collect()
    }

    /// The longest path from `code` (included) to the end step, by enumeration.
    fn longest_to_end(steps: &[StepTemplate], code: &str) -> u64 {
        let own = u64::from(steps.iter().find(|s| s.code == code).unwrap().planned_minutes);
        let after = steps
            .iter()
            .filter(|s| s.prerequisites.iter().any(|p| p == code))
            .map(|s| longest_to_end(steps, &s.code))
            .max()
            .unwrap_or(0);
        own + after
    }

    fn is_chain(template: &PlanTemplate, chain: &[String]) -> bool {
        let first_is_root =
            chain.first().is_some_and(|c| template.steps()[template.step_index(c).unwrap()].prerequisites.is_empty());
        let linked = chain
            .windows(2)
            .all(|w| template.steps()[template.step_index(&w[1]).unwrap()].prerequisites.contains(&w[0]));
        first_is_root && linked && chain.last().map(String::as_str) == Some("end")
    }

    proptest! {
        #[test]
        fn critical_path_is_the_longest_path((steps, _) in random_template()) {
            let brute = all_path_lengths(&steps, "end").into_iter().max().unwrap();
            let template = PlanTemplate::new("t", "随机", steps).unwrap();
            prop_assert_eq!(template.planned_total_minutes(), brute);
            let path = template.planned_critical_path();
            prop_assert_eq!(path.minutes, brute);
            prop_assert!(is_chain(&template, &path.steps), "{:?}", path.steps);
            let along: u64 = path.steps.iter()
                .map(|c| u64::from(template.steps()[template.step_index(c).unwrap()].planned_minutes)).sum();
            prop_assert_eq!(along, brute);
            let schedule = template.schedule();
            for planned in &schedule {
                prop_assert!(planned.latest_finish <= brute);
                prop_assert_eq!(planned.earliest_finish, planned.earliest_start + u64::from(planned.planned_minutes));
                // Slack is the total less the longest path through the step.
                let into = all_path_lengths(template.steps(), &planned.code).into_iter().max().unwrap();
                let through = into + longest_to_end(template.steps(), &planned.code) - u64::from(planned.planned_minutes);
                prop_assert_eq!(planned.slack, brute - through, "{}", planned.code);
            }
            for code in &path.steps {
                prop_assert_eq!(schedule[template.step_index(code).unwrap()].slack, 0);
            }
        }

        #[test]
        fn actual_path_adds_up_to_the_clock(
            (steps, _) in random_template(),
            delays in proptest::collection::vec(0i64..600, 8),
        ) {
            let template = Arc::new(PlanTemplate::new("t", "随机", steps).unwrap());
            let mut plan = ApprovalPlan::new(template.clone());
            let t0 = at(9, 0, 0);
            plan.apply(&ApprovalAction::RecordTransaction { at: t0 }, t0).unwrap();
            let now = at(23, 0, 0);
            // Issue every step as soon as its prerequisites are issued, plus a delay.
            let mut pending: Vec<usize> = (0..template.steps().len()).collect();
            while !pending.is_empty() {
                let issued = |code: &String| plan.step_progress(code).unwrap().issued.as_ref().map(|x| x.at);
                let Some(position) = pending.iter().position(|&i| {
                    template.steps()[i].prerequisites.iter().all(|p| issued(p).is_some())
                }) else { panic!("no step ready") };
                let i = pending.remove(position);
                let s = &template.steps()[i];
                let ready = s.prerequisites.iter().filter_map(issued).max().unwrap_or(t0);
                let action = ApprovalAction::IssueStep {
                    step: s.code.clone(), unit: s.owner.clone(),
                    at: ready + Duration::seconds(delays[i % delays.len()]), document_no: "文号".into(),
                };
                plan.apply(&action, now).unwrap();
            }
            let clock = plan.clock(now).unwrap();
            let path = plan.actual_critical_path().unwrap();
            prop_assert_eq!(path.total_seconds, clock.elapsed.seconds);
            let chain: Vec<String> = path.links.iter().map(|l| l.step.clone()).collect();
            prop_assert!(is_chain(&template, &chain), "{:?}", chain);
            let departments: i64 = plan.department_reports(now).iter().map(|d| d.actual_critical_seconds).sum();
            prop_assert_eq!(departments, clock.elapsed.seconds);
            for report in plan.step_reports(now) {
                prop_assert!(report.free_slack_seconds.unwrap() >= 0);
                prop_assert!(report.actual_seconds.unwrap() >= 0);
                if report.on_actual_critical_path {
                    prop_assert_eq!(report.free_slack_seconds, Some(0));
                }
            }
        }

        #[test]
        fn template_parser_never_panics(text in "\\PC{0,400}") {
            let _ = parse_template_toml(&text);
        }

        #[test]
        fn mangled_bundled_template_never_panics(start in 0usize..4000, len in 0usize..40, insert in "\\PC{0,20}") {
            let mut text = BUNDLED_APPROVAL_PLAN.to_string();
            let start = (0..=start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = (start..=(start + len).min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(start);
            text.replace_range(start..end, &insert);
            if let Ok(template) = parse_template_toml(&text) {
                prop_assert!(template.planned_critical_path().minutes == template.planned_total_minutes());
            }
        }

        #[test]
        fn random_actions_keep_the_rules(
            actions in proptest::collection::vec((0u8..4, 0usize..11, 0usize..12, -120i64..1200), 0..40),
        ) {
            let template = bundled();
            let units = ["zwfw-ggzy", "zrzyj", "fgj", "sws", "zjj-spk", "zjj-zaz", "zrzyj-djzx", "zjj"];
            let mut plan = ApprovalPlan::new(template.clone());
            let t0 = at(9, 0, 0);
            let now = t0 + Duration::seconds(600);
            for (kind, step_index, unit_index, offset) in actions {
                let step = template.steps().get(step_index).map_or("nope".to_string(), |s| s.code.clone());
                let unit = if unit_index < units.len() { units[unit_index].to_string() }
                    else { template.steps().get(step_index).map_or("zjj".into(), |s| s.owner.clone()) };
                let when = t0 + Duration::seconds(offset);
                let action = match kind {
                    0 => ApprovalAction::RecordTransaction { at: when },
                    1 => ApprovalAction::RecordPreReview { step, unit, at: when },
                    2 => ApprovalAction::StartStep { step, unit, at: when },
                    _ => ApprovalAction::IssueStep { step, unit, at: when, document_no: "号".into() },
                };
                let _ = plan.apply(&action, now);
            }
            for (i, progress) in plan.progress().iter().enumerate() {
                let s = &template.steps()[i];
                if let Some(issue) = &progress.issued {
                    prop_assert_eq!(&issue.unit, &s.owner);
                    prop_assert!(issue.at >= plan.transaction_at().unwrap());
                    prop_assert!(issue.at <= now + Duration::seconds(MAX_CLOCK_SKEW_SECONDS));
                    for p in &s.prerequisites {
                        let before = plan.step_progress(p).unwrap().issued.as_ref().map(|x| x.at);
                        prop_assert!(before.is_some_and(|b| b <= issue.at));
                    }
                }
                if let (Some(pre), Some(t)) = (progress.pre_reviewed_at, plan.transaction_at()) {
                    prop_assert!(pre < t);
                }
            }
            if let (Some(path), Some(clock)) = (plan.actual_critical_path(), plan.clock(now)) {
                prop_assert_eq!(path.total_seconds, clock.elapsed.seconds);
            }
        }
    }
}

// ---- the template as a table of rows ----

fn rows() -> TemplateRows {
    TemplateRows::of(&bundled())
}

fn row_index(rows: &TemplateRows, code: &str) -> usize {
    rows.steps.iter().position(|s| s.code == code).unwrap()
}

fn fault(rows: &TemplateRows) -> TemplateFault {
    rows.template(|_| true).unwrap_err()
}

#[test]
fn rows_of_a_template_read_back_as_the_same_template_and_toml() {
    let rows = rows();
    assert_eq!(rows.end, Some(row_index(&rows, "construction_permit")));
    let back = rows.template(|_| true).unwrap();
    assert!(back.same_as(&bundled()), "the same steps; the prerequisites in row order");
    assert_eq!(back.planned_total_minutes(), 16);
    let text = template_toml(&back).unwrap();
    let reread = parse_template_toml(&text).unwrap();
    assert_eq!(reread, back, "the TOML written reads as the template");
    // Blank rows are skipped; a blank document is none.
    let mut with_blanks = rows.clone();
    with_blanks.add_blank_rows(3);
    assert_eq!(with_blanks.steps.len(), rows.steps.len() + 3);
    assert!(with_blanks.template(|_| true).unwrap().same_as(&back));
    let mut no_document = rows.clone();
    no_document.steps[0].document = "  ".into();
    assert_eq!(no_document.template(|_| true).unwrap().steps()[0].document, None);
}

#[test]
fn a_duration_typed_in_the_table_changes_the_plan() {
    let mut rows = rows();
    let first = row_index(&rows, "deal_confirmation");
    rows.steps[first].planned_minutes = " 5 ".into();
    assert_eq!(rows.template(|_| true).unwrap().planned_total_minutes(), 19);
    for typed in ["", "2.5", "-1", "分钟", "600000"] {
        rows.steps[first].planned_minutes = typed.into();
        let f = fault(&rows);
        assert_eq!(
            (f.error.code, f.step, f.field),
            (codes::INVALID_PLANNED_DURATION, Some(first), Some(StepField::PlannedMinutes)),
            "{typed}"
        );
    }
}

#[test]
fn table_refusals_name_the_row_and_field() {
    let base = rows();
    let permit = row_index(&base, "construction_permit");
    let contract = row_index(&base, "transfer_contract");
    let deal = row_index(&base, "deal_confirmation");

    // A blank row before the offending one: the index is still the table's.
    let mut rows = base.clone();
    rows.steps.insert(0, StepRow::default());
    rows.end = rows.end.map(|e| e + 1);
    for s in &mut rows.steps {
        s.prerequisites = s.prerequisites.iter().map(|p| p + 1).collect();
    }
    rows.steps[contract + 1].code = "deal_confirmation".into();
    let f = fault(&rows);
    assert_eq!((f.error.code, f.step, f.field), (codes::DUPLICATE_STEP, Some(contract + 1), Some(StepField::Code)));

    let mut rows = base.clone();
    rows.steps[deal].prerequisites.insert(permit);
    let f = fault(&rows);
    assert_eq!((f.error.code, f.field), (codes::PREREQUISITE_CYCLE, Some(StepField::Prerequisites)));
    assert!(f.step.is_some() && f.error.message.contains("循环"), "{f:?}");

    let mut rows = base.clone();
    rows.steps[contract].owner = "no-such-unit".into();
    let f = rows.template(|code| code != "no-such-unit").unwrap_err();
    assert_eq!((f.error.code, f.step, f.field), (codes::UNKNOWN_OWNER, Some(contract), Some(StepField::Owner)));

    let mut rows = base.clone();
    rows.steps[contract].owner = String::new();
    let f = fault(&rows);
    assert_eq!((f.error.code, f.step, f.field), (codes::MISSING_OWNER, Some(contract), Some(StepField::Owner)));

    // A prerequisite on a blank row.
    let mut rows = base.clone();
    rows.add_blank_rows(1);
    let blank = rows.steps.len() - 1;
    rows.steps[contract].prerequisites.insert(blank);
    let f = fault(&rows);
    assert_eq!(
        (f.error.code, f.step, f.field),
        (codes::UNKNOWN_PREREQUISITE, Some(contract), Some(StepField::Prerequisites))
    );

    // A new step nobody waits for: two end steps, placed at the last of them.
    let mut rows = base.clone();
    rows.steps.push(StepRow {
        code: "fire_check".into(),
        name: "消防验收".into(),
        owner: "zjj-spk".into(),
        planned_minutes: "3".into(),
        ..StepRow::default()
    });
    let f = fault(&rows);
    assert_eq!((f.error.code, f.step), (codes::MULTIPLE_END_STEPS, Some(rows.steps.len() - 1)));
    // Made to wait for the permit, it is the one end: choosing the permit as the end is refused there.
    rows.steps.last_mut().unwrap().prerequisites.insert(permit);
    let f = fault(&rows);
    assert_eq!((f.error.code, f.step, f.field), (codes::END_STEP_NOT_LAST, Some(permit), Some(StepField::End)));
    assert!(f.error.message.contains("消防验收"), "{}", f.error.message);
    rows.end = Some(rows.steps.len() - 1);
    assert_eq!(rows.template(|_| true).unwrap().end_step().code, "fire_check");

    let mut rows = base.clone();
    rows.code = "Bad Code".into();
    let f = fault(&rows);
    assert_eq!((f.error.code, f.step, f.field), (codes::INVALID_APPROVAL_TEMPLATE, None, None));
}

#[test]
fn rows_are_moved_by_their_number_and_deleted_with_the_references_to_them() {
    let mut rows = rows();
    let n = rows.steps.len();
    let permit = row_index(&rows, "construction_permit");
    let filing = row_index(&rows, "project_filing");
    // The permit to the top, the project filing deleted.
    rows.steps[permit].order = "1".into();
    rows.steps[filing].delete = true;
    let arranged = rows.arranged().unwrap();
    assert_eq!(arranged.steps.len(), n - 1);
    assert_eq!(arranged.steps[0].code, "construction_permit");
    assert_eq!(arranged.steps[1].code, "deal_confirmation", "the row that was first comes after the moved one");
    assert_eq!(arranged.end, Some(0));
    assert!(arranged.steps.iter().all(|s| s.order.is_empty()));
    let codes_of = |r: &TemplateRows, i: usize| -> Vec<String> {
        r.steps[i].prerequisites.iter().map(|&p| r.steps[p].code.clone()).collect()
    };
    let mut waits = codes_of(&arranged, 0);
    waits.sort();
    assert_eq!(waits, ["construction_planning_permit", "property_certificate", "quality_safety_supervision"]);
    let template = arranged.template(|_| true).unwrap();
    assert_eq!(template.steps()[0].code, "construction_permit");
    assert_eq!(template.planned_total_minutes(), 16);

    // Moved down onto a place: after the row already there.
    let mut down = TemplateRows::of(&bundled());
    down.steps[0].order = "3".into();
    let down = down.arranged().unwrap();
    let order: Vec<&str> = down.steps.iter().take(3).map(|s| s.code.as_str()).collect();
    assert_eq!(order, ["transfer_contract", "project_filing", "deal_confirmation"]);

    rows.steps[2].order = "第一".into();
    let f = rows.arranged().unwrap_err();
    assert_eq!((f.step, f.field), (Some(2), Some(StepField::Order)));
}
