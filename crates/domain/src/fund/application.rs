//! An application's review (申报审核): its states, the actions that move it
//! and what each does to the year's budget. Pure: the store loads the status,
//! applies the transition and writes its effect in one transaction.

use serde::{Deserialize, Serialize};

use super::codes;
use super::money::{fen_to_yuan, yuan_to_fen};
use crate::error::DomainError;
use crate::time::Instant;
use crate::validation::required_text;

/// A reason (adjustment, rejection, answer, payment note) is at most this many characters.
pub const MAX_REASON_CHARS: usize = 500;
/// An objection is at most this many characters.
pub const MAX_OBJECTION_CHARS: usize = 1000;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// 受理: received, awaiting the town's first review.
    Submitted,
    /// 初审通过: the town (镇街) found it complete and eligible.
    TownReviewed,
    /// 复审通过: the department approved the award; the budget is reserved.
    DepartmentReviewed,
    /// 公示中: on public notice; objections may be raised.
    Publicised,
    /// 已拨付: paid.
    Paid,
    /// 不予支持: rejected with a reason.
    Rejected,
}

impl ApplicationState {
    pub const ALL: [Self; 6] =
        [Self::Submitted, Self::TownReviewed, Self::DepartmentReviewed, Self::Publicised, Self::Paid, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::TownReviewed => "town_reviewed",
            Self::DepartmentReviewed => "department_reviewed",
            Self::Publicised => "publicised",
            Self::Paid => "paid",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已受理",
            Self::TownReviewed => "初审通过",
            Self::DepartmentReviewed => "复审通过",
            Self::Publicised => "公示中",
            Self::Paid => "已拨付",
            Self::Rejected => "不予支持",
        }
    }

    /// Whether the award is reserved against the year's budget in this state.
    pub fn holds_reservation(self) -> bool {
        matches!(self, Self::DepartmentReviewed | Self::Publicised)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Paid | Self::Rejected)
    }
}

/// A reviewer's change of the computed award, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub award_fen: i64,
    pub reason: String,
}

impl Adjustment {
    /// Checks the amount (yuan, two decimals) and the reason (`reason_required`).
    pub fn new(award_yuan: rust_decimal::Decimal, reason: &str) -> Result<Self, DomainError> {
        let award_fen = yuan_to_fen("核定金额", award_yuan)?;
        let reason = reason_text("调整理由", reason)?;
        Ok(Self { award_fen, reason })
    }
}

/// A review action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FundAction {
    /// 初审 by the town, optionally adjusting the award.
    TownReview { adjustment: Option<Adjustment> },
    /// 复审 by the department, optionally adjusting the award; reserves it.
    DepartmentReview { adjustment: Option<Adjustment> },
    /// 公示: the notice runs until `ends_at` (the end of its last working day).
    Publicise { ends_at: Instant },
    /// 拨付: payment recorded with a note (voucher number, account).
    Pay { note: String },
    /// 不予支持 with a reason.
    Reject { reason: String },
}

impl FundAction {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TownReview { .. } => "town_review",
            Self::DepartmentReview { .. } => "department_review",
            Self::Publicise { .. } => "publicise",
            Self::Pay { .. } => "pay",
            Self::Reject { .. } => "reject",
        }
    }

    /// The text kept with the action in the history: an adjustment's or rejection's reason, a payment note.
    pub fn note(&self) -> Option<&str> {
        match self {
            Self::TownReview { adjustment } | Self::DepartmentReview { adjustment } => {
                adjustment.as_ref().map(|a| a.reason.as_str())
            }
            Self::Publicise { .. } => None,
            Self::Pay { note } => Some(note),
            Self::Reject { reason } => Some(reason),
        }
    }
}

/// What a transition does to the year's budget, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "effect", content = "fen", rename_all = "snake_case")]
pub enum BudgetEffect {
    None,
    /// Add to the year's reservations, refused if they would exceed the allocation.
    Reserve(i64),
    /// Take a reservation back (a rejection after 复审).
    Release(i64),
    /// Record a reserved award as paid.
    Pay(i64),
}

/// The outcome of an action: the new state and award, and the budget effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub to: ApplicationState,
    pub award_fen: i64,
    pub effect: BudgetEffect,
    pub notice_ends_at: Option<Instant>,
}

/// The part of an application its review reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationStatus {
    pub state: ApplicationState,
    /// The award as it stands (computed, or as last adjusted).
    pub award_fen: i64,
    pub cap_fen: Option<i64>,
    pub notice_ends_at: Option<Instant>,
    /// Objections raised and not yet answered.
    pub open_objections: u32,
}

impl ApplicationStatus {
    /// The transition `action` makes at `now`, or the refusal:
    /// `invalid_fund_transition` out of order, `award_over_cap`,
    /// `zero_award` at 复审, `notice_not_over` and `objections_open` at 拨付,
    /// `reason_required` for blank reasons.
    pub fn apply(&self, action: &FundAction, now: Instant) -> Result<Transition, DomainError> {
        use ApplicationState as S;
        let stay = |to: S, award_fen: i64, effect: BudgetEffect| Transition {
            to,
            award_fen,
            effect,
            notice_ends_at: self.notice_ends_at,
        };
        match (self.state, action) {
            (S::Submitted, FundAction::TownReview { adjustment }) => {
                Ok(stay(S::TownReviewed, self.adjusted(adjustment.as_ref())?, BudgetEffect::None))
            }
            (S::TownReviewed, FundAction::DepartmentReview { adjustment }) => {
                let award = self.adjusted(adjustment.as_ref())?;
                if award == 0 {
                    return Err(DomainError::invalid(codes::ZERO_AWARD, "核定金额为零，请作不予支持处理"));
                }
                Ok(stay(S::DepartmentReviewed, award, BudgetEffect::Reserve(award)))
            }
            (S::DepartmentReviewed, FundAction::Publicise { ends_at }) => {
                if *ends_at <= now {
                    return Err(transition_error("公示截止时间须晚于现在"));
                }
                Ok(Transition {
                    to: S::Publicised,
                    award_fen: self.award_fen,
                    effect: BudgetEffect::None,
                    notice_ends_at: Some(*ends_at),
                })
            }
            (S::Publicised, FundAction::Pay { note }) => {
                reason_text("拨付说明", note)?;
                if self.notice_ends_at.is_none_or(|end| now <= end) {
                    return Err(DomainError::conflict(codes::NOTICE_NOT_OVER, "公示期未满，不能拨付"));
                }
                if self.open_objections > 0 {
                    return Err(DomainError::conflict(
                        codes::OBJECTIONS_OPEN,
                        format!("还有{}条异议未答复，不能拨付", self.open_objections),
                    ));
                }
                Ok(stay(S::Paid, self.award_fen, BudgetEffect::Pay(self.award_fen)))
            }
            (state, FundAction::Reject { reason }) if !state.is_final() => {
                reason_text("不予支持的理由", reason)?;
                let effect =
                    if state.holds_reservation() { BudgetEffect::Release(self.award_fen) } else { BudgetEffect::None };
                Ok(stay(S::Rejected, self.award_fen, effect))
            }
            (state, action) => {
                Err(transition_error(format!("申报处于「{}」状态，不能{}", state.label(), action_label(action))))
            }
        }
    }

    fn adjusted(&self, adjustment: Option<&Adjustment>) -> Result<i64, DomainError> {
        let Some(adjustment) = adjustment else { return Ok(self.award_fen) };
        reason_text("调整理由", &adjustment.reason)?;
        if let Some(cap) = self.cap_fen.filter(|cap| adjustment.award_fen > *cap) {
            return Err(DomainError::invalid(
                codes::AWARD_OVER_CAP,
                format!("核定金额{}元超过本项措施的上限{}元", fen_to_yuan(adjustment.award_fen), fen_to_yuan(cap)),
            ));
        }
        Ok(adjustment.award_fen)
    }
}

/// An objection may be raised while the application is on notice, until the notice ends.
pub fn check_objection(status: &ApplicationStatus, text: &str, now: Instant) -> Result<String, DomainError> {
    let on_notice = status.state == ApplicationState::Publicised && status.notice_ends_at.is_some_and(|end| now <= end);
    if !on_notice {
        return Err(DomainError::conflict(codes::NOT_IN_NOTICE, "只能在公示期内对公示中的申报提出异议"));
    }
    let text = required_text("异议内容", text, MAX_OBJECTION_CHARS)
        .map_err(|e| DomainError::invalid(codes::REASON_REQUIRED, e.message))?;
    Ok(text)
}

/// An objection is answered once, with a text.
pub fn check_answer(already_answered: bool, answer: &str) -> Result<String, DomainError> {
    if already_answered {
        return Err(DomainError::conflict(codes::OBJECTION_ANSWERED, "这条异议已经答复过"));
    }
    reason_text("答复内容", answer)
}

fn reason_text(label: &str, text: &str) -> Result<String, DomainError> {
    required_text(label, text, MAX_REASON_CHARS).map_err(|e| DomainError::invalid(codes::REASON_REQUIRED, e.message))
}

fn transition_error(message: impl Into<String>) -> DomainError {
    DomainError::conflict(codes::INVALID_TRANSITION, message)
}

fn action_label(action: &FundAction) -> &'static str {
    match action {
        FundAction::TownReview { .. } => "初审",
        FundAction::DepartmentReview { .. } => "复审",
        FundAction::Publicise { .. } => "公示",
        FundAction::Pay { .. } => "拨付",
        FundAction::Reject { .. } => "作不予支持处理",
    }
}
