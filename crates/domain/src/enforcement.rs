//! Environmental enforcement (环境执法): inspections (检查记录) and
//! enforcement cases (执法案件).
//!
//! A case starts from an exceedance alert of online monitoring or from an
//! inspection, and moves one stage at a time 立案 → 调查取证 → 告知 → 决定 →
//! 执行 → 结案. Each stage has a time limit in working days ([`StageLimits`],
//! data with defaults), counted on the work calendar from the moment the
//! stage is entered. Leaving 决定 needs the decision (penalty and text);
//! making the decision and closing are for the unit's leader. A case may also
//! be closed early (撤销/终止) from any open stage by the leader, with a reason.
//! Everything here is pure; the store records each change with its history.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::org::Role;
use crate::validation::{CreditCode, optional_text, required_text};

/// Samples one inspection carries at most.
pub const MAX_SAMPLES: usize = 50;
/// The longest findings text.
pub const MAX_FINDINGS_CHARS: usize = 4000;
/// The longest reason, decision text or note.
pub const MAX_TEXT_CHARS: usize = 2000;
/// The largest penalty, in fen (one billion yuan).
pub const MAX_PENALTY_FEN: i64 = 100_000_000_000;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The stage an enforcement case is in.
    CaseStage {
        /// Filed (立案).
        Filed = "filed" / "立案",
        /// Investigation and evidence (调查取证).
        Investigating = "investigating" / "调查取证",
        /// Notice of the intended penalty and the right to be heard (告知).
        Notified = "notified" / "告知",
        /// Decision (决定).
        Decided = "decided" / "决定",
        /// Execution of the decision (执行).
        Executing = "executing" / "执行",
        /// Closed (结案).
        Closed = "closed" / "结案",
    }
);

impl CaseStage {
    /// The stage after this one; `None` once closed.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Filed => Some(Self::Investigating),
            Self::Investigating => Some(Self::Notified),
            Self::Notified => Some(Self::Decided),
            Self::Decided => Some(Self::Executing),
            Self::Executing => Some(Self::Closed),
            Self::Closed => None,
        }
    }

    pub fn is_open(self) -> bool {
        self != Self::Closed
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where a case came from.
    CaseOriginKind {
        /// An exceedance alert of online monitoring (超标报警).
        Alert = "alert" / "超标报警",
        /// An on-site inspection (现场检查).
        Inspection = "inspection" / "现场检查",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What the laboratory found for a sample.
    SampleResult {
        /// Over the limit (超标).
        Exceeds = "exceeds" / "超标",
        /// Within the limit (达标).
        Complies = "complies" / "达标",
        /// Not yet analysed (待检).
        Pending = "pending" / "待检",
    }
);

/// Where a case came from: the alert or the inspection, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOrigin {
    Alert(i64),
    Inspection(i64),
}

impl CaseOrigin {
    pub fn kind(self) -> CaseOriginKind {
        match self {
            Self::Alert(_) => CaseOriginKind::Alert,
            Self::Inspection(_) => CaseOriginKind::Inspection,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Alert(id) | Self::Inspection(id) => id,
        }
    }
}

/// Working days allowed for each open stage, counted from entering it.
/// Defaults follow the usual rhythm of an environmental penalty case
/// (生态环境行政处罚办法): 7 for filing review, 60 for the investigation, 10
/// for the notice and hearing period, 15 for the decision, 60 for execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageLimits {
    pub filed: u32,
    pub investigating: u32,
    pub notified: u32,
    pub decided: u32,
    pub executing: u32,
}

impl Default for StageLimits {
    fn default() -> Self {
        Self { filed: 7, investigating: 60, notified: 10, decided: 15, executing: 60 }
    }
}

impl StageLimits {
    /// The working days of a stage; `None` for 结案 (no deadline).
    pub fn days(&self, stage: CaseStage) -> Option<u32> {
        match stage {
            CaseStage::Filed => Some(self.filed),
            CaseStage::Investigating => Some(self.investigating),
            CaseStage::Notified => Some(self.notified),
            CaseStage::Decided => Some(self.decided),
            CaseStage::Executing => Some(self.executing),
            CaseStage::Closed => None,
        }
    }

    /// Each limit 1–365 working days (`invalid_stage_limits`).
    pub fn validate(&self) -> Result<(), DomainError> {
        let all = [self.filed, self.investigating, self.notified, self.decided, self.executing];
        if all.iter().any(|d| !(1..=365).contains(d)) {
            return Err(DomainError::invalid("invalid_stage_limits", "各阶段时限应为1~365个工作日"));
        }
        Ok(())
    }
}

/// A laboratory sample of an inspection (采样及检测结果).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// What was measured, e.g. `化学需氧量` or `w01018`.
    pub parameter: String,
    /// The measured value; absent while pending.
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
    /// The laboratory (检测机构).
    pub lab: String,
    pub result: SampleResult,
}

/// An inspection as entered.
#[derive(Debug, Clone, Default)]
pub struct InspectionDraft {
    pub inspector: String,
    pub place: String,
    pub credit_code: String,
    pub findings: String,
    pub samples: Vec<Sample>,
}

/// A valid inspection (the time, point and unit are checked by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionInput {
    pub inspector: String,
    pub place: String,
    pub credit_code: String,
    pub findings: String,
    pub samples: Vec<Sample>,
}

impl InspectionInput {
    /// Codes: `text_required` / `text_too_long` / `invalid_text` (inspector,
    /// place, findings), `invalid_credit_code`, `invalid_samples`.
    pub fn new(draft: InspectionDraft) -> Result<Self, DomainError> {
        let inspector = required_text("检查人员", &draft.inspector, 100)?;
        let place = required_text("检查地点", &draft.place, 200)?;
        let credit_code = CreditCode::parse(draft.credit_code.trim())?.as_str().to_owned();
        let findings = required_text("检查情况", &draft.findings, MAX_FINDINGS_CHARS)?;
        if draft.samples.len() > MAX_SAMPLES {
            return Err(invalid_samples(format!("采样不能超过{MAX_SAMPLES}个")));
        }
        let samples =
            draft.samples.into_iter().enumerate().map(|(i, s)| check_sample(i + 1, s)).collect::<Result<_, _>>()?;
        Ok(Self { inspector, place, credit_code, findings, samples })
    }

    /// Whether a sample came back over the limit.
    pub fn has_exceeding_sample(&self) -> bool {
        self.samples.iter().any(|s| s.result == SampleResult::Exceeds)
    }
}

fn invalid_samples(message: impl Into<String>) -> DomainError {
    DomainError::invalid("invalid_samples", message)
}

fn check_sample(n: usize, s: Sample) -> Result<Sample, DomainError> {
    let text = |label: &str, v: &str, max: usize| {
        required_text(label, v, max).map_err(|e| invalid_samples(format!("第{n}个采样：{}", e.message)))
    };
    let parameter = text("检测项目", &s.parameter, 50)?;
    let lab = text("检测机构", &s.lab, 100)?;
    let unit = optional_text("单位", s.unit.as_deref(), 16)
        .map_err(|e| invalid_samples(format!("第{n}个采样：{}", e.message)))?;
    if s.value.is_some_and(|v| !v.is_finite() || v < 0.0) {
        return Err(invalid_samples(format!("第{n}个采样的检测值应为不小于0的数")));
    }
    if s.value.is_none() && s.result != SampleResult::Pending {
        return Err(invalid_samples(format!("第{n}个采样已有结论，应填写检测值")));
    }
    Ok(Sample { parameter, value: s.value, unit, lab, result: s.result })
}

/// The decision of a case (处罚决定): the penalty in fen (0 for none) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub penalty_fen: i64,
    pub text: String,
}

impl Decision {
    /// `penalty` in yuan (`"50000"`, at most two decimals; empty for none).
    /// Codes: `invalid_penalty`, `text_required` / `text_too_long`.
    pub fn new(penalty: Option<&str>, text: &str) -> Result<Self, DomainError> {
        let penalty_fen = match penalty.map(str::trim).filter(|p| !p.is_empty()) {
            None => 0,
            Some(p) => penalty_fen(p)?,
        };
        let text = required_text("处罚决定", text, MAX_TEXT_CHARS)?;
        Ok(Self { penalty_fen, text })
    }
}

/// A penalty in yuan as fen: not negative, two decimals at most, at most [`MAX_PENALTY_FEN`].
pub fn penalty_fen(yuan: &str) -> Result<i64, DomainError> {
    crate::money::parse_fen("invalid_penalty", "罚款金额", yuan, MAX_PENALTY_FEN)
}

pub use crate::money::fen_text;

/// A requested move of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: CaseStage,
    pub to: CaseStage,
    /// The decision, required to leave 决定.
    pub decision: Option<Decision>,
    /// Required to close.
    pub closed_reason: Option<String>,
}

/// Whether `role` may make the move, and whether it is a legal one: only the
/// next stage, or 结案 from any open stage (early closure); the decision to
/// leave 决定 and a reason to close; the leader (or an administrator) decides
/// and closes. Codes: `case_closed`, `illegal_case_transition` (409),
/// `decision_required`, `closed_reason_required` (422), `leader_required` (403).
pub fn check_move(m: &Move, role: Role) -> Result<(), DomainError> {
    if !m.from.is_open() {
        return Err(DomainError::conflict("case_closed", "案件已结案，不能再变更"));
    }
    let next = m.from.next();
    let early_close = m.to == CaseStage::Closed && next != Some(CaseStage::Closed);
    if next != Some(m.to) && !early_close {
        let allowed = next.map(CaseStage::label).unwrap_or_default();
        return Err(DomainError::conflict(
            "illegal_case_transition",
            format!("案件当前处于「{}」阶段，只能进入「{allowed}」或提前结案", m.from.label()),
        ));
    }
    let leader = matches!(role, Role::UnitLeader | Role::Admin);
    if (m.from == CaseStage::Decided || m.to == CaseStage::Closed) && !leader {
        return Err(DomainError {
            kind: ErrorKind::Forbidden,
            code: "leader_required",
            message: "作出处罚决定和结案须由单位领导办理".into(),
        });
    }
    if m.from == CaseStage::Decided && m.to == CaseStage::Executing && m.decision.is_none() {
        return Err(DomainError::invalid("decision_required", "离开「决定」阶段须填写处罚决定（罚款金额和决定内容）"));
    }
    if m.to == CaseStage::Closed && m.closed_reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(DomainError::invalid("closed_reason_required", "结案须填写结案理由"));
    }
    Ok(())
}

/// `404 case_not_found`.
pub fn case_not_found() -> DomainError {
    DomainError::not_found("case_not_found", "执法案件不存在")
}

/// `404 inspection_not_found`.
pub fn inspection_not_found() -> DomainError {
    DomainError::not_found("inspection_not_found", "检查记录不存在")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn mv(from: CaseStage, to: CaseStage) -> Move {
        Move { from, to, decision: None, closed_reason: None }
    }

    fn code(m: &Move, role: Role) -> &'static str {
        check_move(m, role).err().map_or("ok", |e| e.code)
    }

    #[test]
    fn a_case_moves_forward_one_stage_at_a_time() {
        use CaseStage::*;
        assert_eq!(code(&mv(Filed, Investigating), Role::Handler), "ok");
        assert_eq!(code(&mv(Investigating, Notified), Role::Handler), "ok");
        assert_eq!(code(&mv(Notified, Decided), Role::Handler), "ok");
        assert_eq!(code(&mv(Filed, Notified), Role::Handler), "illegal_case_transition");
        assert_eq!(code(&mv(Notified, Investigating), Role::UnitLeader), "illegal_case_transition");
        assert_eq!(code(&mv(Filed, Filed), Role::UnitLeader), "illegal_case_transition");
        assert_eq!(code(&mv(Closed, Filed), Role::Admin), "case_closed");
        assert_eq!(code(&mv(Closed, Closed), Role::Admin), "case_closed");
    }

    #[test]
    fn the_decision_and_closing_need_the_leader_and_their_data() {
        use CaseStage::*;
        let decision = Decision::new(Some("50000"), "责令改正，罚款五万元").unwrap();
        let decide = Move { decision: Some(decision), ..mv(Decided, Executing) };
        assert_eq!(code(&decide, Role::Handler), "leader_required");
        assert_eq!(code(&decide, Role::UnitLeader), "ok");
        assert_eq!(code(&mv(Decided, Executing), Role::UnitLeader), "decision_required");
        assert_eq!(code(&mv(Executing, Closed), Role::Handler), "leader_required");
        assert_eq!(code(&mv(Executing, Closed), Role::UnitLeader), "closed_reason_required");
        let close = Move { closed_reason: Some("罚款已缴清，整改完成".into()), ..mv(Executing, Closed) };
        assert_eq!(code(&close, Role::UnitLeader), "ok");
        // Early closure from an open stage, by the leader, with a reason.
        let drop = Move { closed_reason: Some("经调查不构成违法".into()), ..mv(Investigating, Closed) };
        assert_eq!(code(&drop, Role::Admin), "ok");
        assert_eq!(code(&drop, Role::Handler), "leader_required");
    }

    #[test]
    fn penalties_are_yuan_with_two_decimals() {
        assert_eq!(penalty_fen("50000").unwrap(), 5_000_000);
        assert_eq!(penalty_fen(" 12.5 ").unwrap(), 1250);
        for bad in ["-1", "1.234", "abc", "", "10000000000"] {
            assert_eq!(penalty_fen(bad).unwrap_err().code, "invalid_penalty", "{bad}");
        }
        assert_eq!(fen_text(5_000_050), "50000.50");
        assert_eq!(Decision::new(None, "不予处罚").unwrap().penalty_fen, 0);
        assert_eq!(Decision::new(Some("1"), " ").unwrap_err().code, "text_required");
    }

    #[test]
    fn stage_limits_are_data_with_defaults() {
        let limits = StageLimits::default();
        assert_eq!((limits.days(CaseStage::Filed), limits.days(CaseStage::Closed)), (Some(7), None));
        assert!(limits.validate().is_ok());
        assert_eq!(StageLimits { notified: 0, ..limits }.validate().unwrap_err().code, "invalid_stage_limits");
        assert_eq!(CaseStage::ALL.len(), 6);
        assert_eq!(CaseStage::parse("decided").map(CaseStage::label), Some("决定"));
    }

    fn inspection() -> InspectionDraft {
        InspectionDraft {
            inspector: "张三、李四".into(),
            place: "华凯化工废水总排口".into(),
            credit_code: "91350100M000100Y43".into(),
            findings: "废水处理设施未正常运行".into(),
            samples: vec![Sample {
                parameter: "化学需氧量".into(),
                value: Some(230.0),
                unit: Some("mg/L".into()),
                lab: "市环境监测站".into(),
                result: SampleResult::Exceeds,
            }],
        }
    }

    #[test]
    fn inspections_are_checked_field_by_field() {
        let ok = InspectionInput::new(inspection()).unwrap();
        assert!(ok.has_exceeding_sample());
        let code = |d: InspectionDraft| InspectionInput::new(d).err().map_or("ok", |e| e.code);
        assert_eq!(code(InspectionDraft { inspector: " ".into(), ..inspection() }), "text_required");
        assert_eq!(code(InspectionDraft { credit_code: "123".into(), ..inspection() }), "invalid_credit_code");
        let mut d = inspection();
        d.samples[0].value = None;
        assert_eq!(code(d), "invalid_samples");
        let mut d = inspection();
        d.samples[0].value = Some(f64::NAN);
        assert_eq!(code(d), "invalid_samples");
        let mut d = inspection();
        d.samples[0].lab = String::new();
        let err = InspectionInput::new(d).unwrap_err();
        assert!(err.message.starts_with("第1个采样"), "{}", err.message);
        let mut d = inspection();
        d.samples[0].result = SampleResult::Pending;
        d.samples[0].value = None;
        assert!(!InspectionInput::new(d).unwrap().has_exceeding_sample());
    }
}
