//! Visits to enterprises (走访企业) and the walking office (行走的办公室).
//!
//! A visit is planned (who leads it, which enterprise, when), then recorded:
//! who attended, notes, and the problems raised. Each problem is either
//! solved on the spot (现场办结, with who solved it and how) or becomes a
//! tracked request (channel 走访, asker the enterprise, source the visit),
//! dispatched like any other. A walking-office session is a visit led by a
//! city or town leader with departments attending; its dispatched problems
//! carry the leader's instruction (批示) and are placed under supervision
//! (督办) by default.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::liaison::CadreLevel;
use crate::org::{Role, UnitId, UserId};
use crate::request::{RequestKind, Urgency};
use crate::time::Instant;
use crate::validation::{optional_text, required_text};

/// The longest purpose (走访事由).
pub const PURPOSE_MAX: usize = 200;
/// The longest notes (走访纪要).
pub const NOTES_MAX: usize = 4000;
/// The longest problem text.
pub const PROBLEM_MAX: usize = 2000;
/// The longest solution, instruction or name.
pub const ANSWER_MAX: usize = 1000;
/// Problems one visit may raise.
pub const PROBLEMS_MAX: usize = 30;
/// Attendees named on one record.
pub const ATTENDEES_MAX: usize = 50;
/// Longest attendee name.
pub const ATTENDEE_MAX: usize = 40;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What kind of visit.
    VisitKind {
        /// A cadre's visit to an enterprise (走访).
        Visit = "visit" / "走访",
        /// A walking-office session (行走的办公室): a city or town leader with departments.
        WalkingOffice = "walking_office" / "行走的办公室",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where a visit stands.
    VisitState {
        Planned = "planned" / "计划中",
        Recorded = "recorded" / "已走访",
        Cancelled = "cancelled" / "已取消",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What became of a problem raised on a visit.
    ProblemOutcome {
        /// Became a tracked request, dispatched like any other (转办).
        Dispatched = "dispatched" / "转为诉求办理",
        /// Solved on the spot (现场办结).
        SolvedOnSite = "solved_on_site" / "现场办结",
    }
);

/// A visit as it is planned, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    pub kind: VisitKind,
    pub credit_code: String,
    pub planned_at: Instant,
    pub lead_user_id: UserId,
    pub purpose: Option<String>,
    /// Units (departments) attending; a walking-office session needs at least one.
    pub units: Vec<UnitId>,
}

/// Who leads a visit, as the plan names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lead {
    pub role: Role,
    /// The lead's cadre level, when they have a cadre profile.
    pub level: Option<CadreLevel>,
}

impl NewVisit {
    /// Checks a plan: the lead must be staff; a walking-office session needs a
    /// city or town leader (市领导 or a town-level cadre) and a department attending.
    ///
    /// # Errors
    ///
    /// `invalid_visit_lead`, `walking_office_lead`, `walking_office_units`,
    /// `text_too_long`, `invalid_text`.
    pub fn new(
        kind: VisitKind,
        credit_code: String,
        planned_at: Instant,
        lead_user_id: UserId,
        lead: Lead,
        purpose: Option<&str>,
        mut units: Vec<UnitId>,
    ) -> Result<Self, DomainError> {
        if !lead.role.is_staff() {
            return Err(DomainError::invalid("invalid_visit_lead", "带队人应为工作人员账号"));
        }
        units.sort_unstable();
        units.dedup();
        if kind == VisitKind::WalkingOffice {
            let leader =
                lead.role == Role::CityLeader || matches!(lead.level, Some(CadreLevel::City | CadreLevel::Town));
            if !leader {
                return Err(DomainError::invalid(
                    "walking_office_lead",
                    "“行走的办公室”须由市领导或镇街领导带队；请选择市领导账号或层级为市领导、镇街领导的联系干部",
                ));
            }
            if units.is_empty() {
                return Err(DomainError::invalid(
                    "walking_office_units",
                    "“行走的办公室”须有部门参加，请选择参加的部门",
                ));
            }
        }
        Ok(Self {
            kind,
            credit_code,
            planned_at,
            lead_user_id,
            purpose: optional_text("走访事由", purpose, PURPOSE_MAX)?,
            units,
        })
    }
}

/// A problem raised on a visit, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemInput {
    pub text: String,
    pub outcome: ProblemResolution,
}

/// What is decided about a problem when the visit is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemResolution {
    /// Solved on the spot: who solved it and how.
    SolvedOnSite { solved_by: String, solution: String },
    /// Becomes a request of this category, kind and urgency; on a walking-office
    /// session with the leader's instruction.
    Dispatch { category_code: String, kind: RequestKind, urgency: Urgency, instruction: Option<String> },
}

impl ProblemInput {
    /// Checks one problem of a visit of `kind`.
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text`, `solved_needs_who_and_how`,
    /// `instruction_required`.
    pub fn new(kind: VisitKind, text: &str, outcome: ProblemResolution) -> Result<Self, DomainError> {
        let text = required_text("问题描述", text, PROBLEM_MAX)?;
        let outcome = match outcome {
            ProblemResolution::SolvedOnSite { solved_by, solution } => {
                if solved_by.trim().is_empty() || solution.trim().is_empty() {
                    return Err(solved_needs_who_and_how());
                }
                ProblemResolution::SolvedOnSite {
                    solved_by: required_text("现场办结人", &solved_by, ATTENDEE_MAX)?,
                    solution: required_text("办结情况", &solution, ANSWER_MAX)?,
                }
            }
            ProblemResolution::Dispatch { category_code, kind: request_kind, urgency, instruction } => {
                let instruction = optional_text("领导批示", instruction.as_deref(), ANSWER_MAX)?;
                if kind == VisitKind::WalkingOffice && instruction.is_none() {
                    return Err(DomainError::invalid(
                        "instruction_required",
                        "“行走的办公室”转办的问题须填写带队领导的批示意见",
                    ));
                }
                ProblemResolution::Dispatch { category_code, kind: request_kind, urgency, instruction }
            }
        };
        Ok(Self { text, outcome })
    }
}

/// Checks the attendees' names: trimmed, none empty, at most [`ATTENDEES_MAX`].
///
/// # Errors
///
/// `too_many_attendees`, `text_too_long`, `invalid_text`.
pub fn attendees(names: &[String]) -> Result<Vec<String>, DomainError> {
    if names.len() > ATTENDEES_MAX {
        return Err(DomainError::invalid("too_many_attendees", format!("参加人员最多 {ATTENDEES_MAX} 人")));
    }
    let mut out = Vec::new();
    for name in names {
        if let Some(name) = optional_text("参加人员", Some(name), ATTENDEE_MAX)?
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    Ok(out)
}

/// `422 solved_needs_who_and_how`.
pub fn solved_needs_who_and_how() -> DomainError {
    DomainError::invalid("solved_needs_who_and_how", "现场办结的问题须写明由谁办结、如何办结")
}

/// `422 too_many_problems`.
pub fn too_many_problems() -> DomainError {
    DomainError::invalid("too_many_problems", format!("一次走访最多记录 {PROBLEMS_MAX} 个问题"))
}

/// `404 visit_not_found` (also for a visit out of scope).
pub fn visit_not_found() -> DomainError {
    DomainError::not_found("visit_not_found", "没有这次走访")
}

/// `409 visit_not_planned`: only a planned visit is recorded or cancelled.
pub fn visit_not_planned(state: VisitState) -> DomainError {
    DomainError::conflict(
        "visit_not_planned",
        format!("这次走访当前为「{}」，只能记录或取消计划中的走访", state.label()),
    )
}

/// `409 visit_cancelled`: a cancelled visit's record is closed; its photos and papers are neither
/// added nor withdrawn.
pub fn visit_cancelled() -> DomainError {
    DomainError::conflict("visit_cancelled", "这次走访已取消，不能再上传或撤回照片和附件")
}

/// Whether a visit planned at `planned_at` and still not recorded is overdue
/// on `now` (a day's grace after the planned time).
pub fn is_overdue(state: VisitState, planned_at: &Instant, now: &Instant) -> bool {
    state == VisitState::Planned && *planned_at + chrono::Duration::days(1) < *now
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> Instant {
        crate::time::in_shanghai(&chrono::Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap())
    }

    #[test]
    fn a_walking_office_needs_a_city_or_town_leader_and_departments() {
        let plan = |kind, role, level, units: Vec<i64>| {
            NewVisit::new(kind, "X".into(), t(), 1, Lead { role, level }, None, units).map_err(|e| e.code)
        };
        assert!(plan(VisitKind::Visit, Role::Liaison, Some(CadreLevel::Department), vec![]).is_ok());
        assert_eq!(plan(VisitKind::Visit, Role::Enterprise, None, vec![]).unwrap_err(), "invalid_visit_lead");
        assert_eq!(
            plan(VisitKind::WalkingOffice, Role::Liaison, Some(CadreLevel::Department), vec![3]).unwrap_err(),
            "walking_office_lead"
        );
        assert_eq!(plan(VisitKind::WalkingOffice, Role::CityLeader, None, vec![]).unwrap_err(), "walking_office_units");
        assert!(plan(VisitKind::WalkingOffice, Role::UnitLeader, Some(CadreLevel::Town), vec![3, 3]).is_ok());
        assert_eq!(plan(VisitKind::WalkingOffice, Role::CityLeader, None, vec![4, 3, 4]).unwrap().units, vec![3, 4]);
    }

    #[test]
    fn a_problem_solved_on_the_spot_needs_who_and_how() {
        let solved =
            |who: &str, how: &str| ProblemResolution::SolvedOnSite { solved_by: who.into(), solution: how.into() };
        assert_eq!(
            ProblemInput::new(VisitKind::Visit, "用电报装慢", solved("", "已协调")).unwrap_err().code,
            "solved_needs_who_and_how"
        );
        assert_eq!(
            ProblemInput::new(VisitKind::Visit, "用电报装慢", solved("供电局李工", " ")).unwrap_err().code,
            "solved_needs_who_and_how"
        );
        assert!(ProblemInput::new(VisitKind::Visit, "用电报装慢", solved("供电局李工", "现场确认接电日期")).is_ok());
        assert_eq!(ProblemInput::new(VisitKind::Visit, " ", solved("a", "b")).unwrap_err().code, "text_required");
    }

    #[test]
    fn walking_office_problems_carry_the_instruction() {
        let dispatch = |instruction: Option<&str>| ProblemResolution::Dispatch {
            category_code: "x".into(),
            kind: RequestKind::Help,
            urgency: Urgency::Normal,
            instruction: instruction.map(Into::into),
        };
        assert!(ProblemInput::new(VisitKind::Visit, "道路破损", dispatch(None)).is_ok());
        assert_eq!(
            ProblemInput::new(VisitKind::WalkingOffice, "道路破损", dispatch(Some("  "))).unwrap_err().code,
            "instruction_required"
        );
        assert!(ProblemInput::new(VisitKind::WalkingOffice, "道路破损", dispatch(Some("请交通局一周内修复"))).is_ok());
    }

    #[test]
    fn planned_visits_are_overdue_a_day_after_their_time() {
        let now = t() + chrono::Duration::hours(23);
        assert!(!is_overdue(VisitState::Planned, &t(), &now));
        assert!(is_overdue(VisitState::Planned, &t(), &(t() + chrono::Duration::hours(25))));
        assert!(!is_overdue(VisitState::Recorded, &t(), &(t() + chrono::Duration::days(9))));
        assert_eq!(attendees(&["张三".into(), " 张三 ".into(), "".into()]).unwrap(), vec!["张三".to_string()]);
    }
}
