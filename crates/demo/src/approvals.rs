//! The demo city's 拿地即开工 projects: the report's record table — a project
//! that went from its land transaction to its construction permit in 145
//! minutes (2020), one in 27 and one in 16 (2021) — and one whose steps are
//! still being issued, every action recorded through the store, which checks
//! each against the plan. Idempotent: nothing is loaded when any project exists.

use chrono::{Duration, TimeZone};

use mashangban_domain::approvals::{ApprovalAction, BUNDLED_APPROVAL_PLAN, ProjectInput, parse_template_toml};
use mashangban_domain::time::{Instant, shanghai};
use mashangban_store::{ApprovalRecorder, Store};

use crate::DemoError;

/// (step, minutes and seconds after the transaction) of each issue.
type Schedule = &'static [(&'static str, i64)];

const HUNDRED_FORTY_FIVE: Schedule = &[
    ("deal_confirmation", 10 * 60),
    ("project_filing", 20 * 60),
    ("drawing_review", 30 * 60),
    ("transfer_contract", 40 * 60),
    ("quality_safety_supervision", 60 * 60),
    ("land_use_planning_permit", 65 * 60),
    ("land_payment_tax", 70 * 60),
    ("property_certificate", 125 * 60),
    ("construction_planning_permit", 130 * 60),
    ("construction_permit", 145 * 60),
];

const TWENTY_SEVEN: Schedule = &[
    ("deal_confirmation", 2 * 60),
    ("project_filing", 3 * 60),
    ("drawing_review", 3 * 60 + 30),
    ("transfer_contract", 6 * 60),
    ("quality_safety_supervision", 6 * 60 + 30),
    ("land_use_planning_permit", 9 * 60),
    ("land_payment_tax", 10 * 60),
    ("construction_planning_permit", 12 * 60),
    ("property_certificate", 22 * 60),
    ("construction_permit", 27 * 60),
];

const SIXTEEN: Schedule = &[
    ("deal_confirmation", 90),
    ("project_filing", 150),
    ("drawing_review", 3 * 60),
    ("transfer_contract", 4 * 60),
    ("quality_safety_supervision", 5 * 60),
    ("land_use_planning_permit", 6 * 60),
    ("land_payment_tax", 7 * 60 + 10),
    ("construction_planning_permit", 8 * 60),
    ("property_certificate", 13 * 60 + 40),
    ("construction_permit", 16 * 60),
];

/// The project under way: issued so far, the transaction `IN_PROGRESS_MINUTES` before the end.
const IN_PROGRESS: Schedule =
    &[("deal_confirmation", 80), ("project_filing", 100), ("drawing_review", 150), ("transfer_contract", 4 * 60)];
const IN_PROGRESS_MINUTES: i64 = 6;

/// Steps pre-reviewed (容缺预审) the day before a 2021 land sale.
const PRE_REVIEWED: &[&str] = &[
    "project_filing",
    "drawing_review",
    "land_use_planning_permit",
    "construction_planning_permit",
    "quality_safety_supervision",
    "property_certificate",
    "construction_permit",
];

struct DemoProject {
    name: &'static str,
    town: &'static str,
    ledger_key: &'static str,
    transaction: Instant,
    schedule: Schedule,
    pre_review: bool,
}

/// Loads the demo projects unless there are any; answers how many were made.
/// `end` is the present moment: the project under way had its transaction just before.
pub async fn load_approvals<S: Store>(store: &S, end: Instant) -> Result<u64, DemoError> {
    let fail = |what: &'static str| move |e: mashangban_store::StoreError| DemoError(format!("{what}失败：{e}"));
    if !store.approval_projects(1).await.map_err(fail("读取审批项目"))?.is_empty() {
        return Ok(0);
    }
    let stored = match store.current_approval_template().await.map_err(fail("读取审批计划模板"))? {
        Some(current) => current,
        None => {
            let seeder = ApprovalRecorder { user_id: None, name: "系统（内置模板）".to_owned() };
            store
                .save_approval_template(BUNDLED_APPROVAL_PLAN.to_owned(), None, end - Duration::days(800), seeder)
                .await
                .map_err(fail("保存审批计划模板"))?
        }
    };
    // The demo's schedules follow the bundled template, which is the one in force on a new database.
    let template = parse_template_toml(&stored.body).map_err(|e| DemoError(e.to_string()))?;
    let units = store.list_units().await.map_err(fail("读取组织架构"))?;
    let unit_id = |code: &str| units.iter().find(|u| u.code == code).map(|u| u.id);
    let day = |y, m, d, h| shanghai().with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap_or(end);
    let projects = [
        DemoProject {
            name: "中山翠亨新区智能装备产业园一期",
            town: "nanlang",
            ledger_key: "ZS-ZS-2020-031",
            transaction: day(2020, 9, 16, 10),
            schedule: HUNDRED_FORTY_FIVE,
            pre_review: false,
        },
        DemoProject {
            name: "中山港高端医疗器械生产基地",
            town: "zhongshangang",
            ledger_key: "ZS-ZS-2021-007",
            transaction: day(2021, 3, 25, 9),
            schedule: TWENTY_SEVEN,
            pre_review: true,
        },
        DemoProject {
            name: "小榄镇智能家电制造中心",
            town: "xiaolan",
            ledger_key: "ZS-ZS-2021-019",
            transaction: day(2021, 6, 18, 9),
            schedule: SIXTEEN,
            pre_review: true,
        },
        DemoProject {
            name: "古镇灯饰照明总部经济大楼",
            town: "guzhen",
            ledger_key: "ZS-ZS-2026-002",
            transaction: end - Duration::minutes(IN_PROGRESS_MINUTES),
            schedule: IN_PROGRESS,
            pre_review: true,
        },
    ];
    let mut made = 0;
    for p in projects {
        let input = ProjectInput::new(p.name, None, Some(p.ledger_key), unit_id(p.town).or(unit_id("city")))
            .map_err(|e| DemoError(e.to_string()))?;
        let created_at = p.transaction - Duration::days(3);
        let desk = ApprovalRecorder { user_id: None, name: "招商服务窗口（演示数据）".into() };
        let project = store
            .create_approval_project(input, stored.id, created_at, desk.clone())
            .await
            .map_err(fail("新建审批项目"))?;
        let owner =
            |step: &str| template.step_index(step).map(|i| template.steps()[i].owner.clone()).unwrap_or_default();
        let by =
            |unit: &str| ApprovalRecorder { user_id: None, name: format!("{unit} 审批系统（演示数据）") };
        let mut actions: Vec<(ApprovalAction, Instant, ApprovalRecorder)> = Vec::new();
        if p.pre_review {
            for (i, step) in PRE_REVIEWED.iter().enumerate() {
                let at = p.transaction - Duration::days(1) + Duration::minutes(i64::try_from(i).unwrap_or(0) * 20);
                let unit = owner(step);
                actions.push((
                    ApprovalAction::RecordPreReview { step: (*step).into(), unit: unit.clone(), at },
                    at,
                    by(&unit),
                ));
            }
        }
        actions.push((ApprovalAction::RecordTransaction { at: p.transaction }, p.transaction, desk));
        for (n, (step, seconds)) in p.schedule.iter().enumerate() {
            let at = p.transaction + Duration::seconds(*seconds);
            let unit = owner(step);
            let document_no = format!(
                "中审〔{}〕{}号",
                p.transaction.format("%Y"),
                project.id * 100 + i64::try_from(n).unwrap_or(0) + 1
            );
            let start = at - Duration::seconds((*seconds).min(45));
            actions.push((
                ApprovalAction::StartStep { step: (*step).into(), unit: unit.clone(), at: start },
                start,
                by(&unit),
            ));
            actions.push((
                ApprovalAction::IssueStep { step: (*step).into(), unit: unit.clone(), at, document_no },
                at,
                by(&unit),
            ));
        }
        // Starts before their prerequisites' issue are fine; keep the log in time order.
        actions.sort_by_key(|(_, at, _)| *at);
        for (action, at, recorder) in actions {
            store.record_approval_action(project.id, action, None, at, recorder).await.map_err(fail("记录审批事项"))?;
        }
        made += 1;
    }
    Ok(made)
}
