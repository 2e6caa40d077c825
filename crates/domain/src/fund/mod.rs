//! The industry support fund (产业扶持资金): a policy (政策) with a total
//! budget split into per-year allocations, its award measures (扶持措施) kept
//! as data, and the review of enterprises' applications (申报).
//!
//! A [`Measure`] names the applicant data it needs (fields with the types of
//! the expression language's [`crate::expr::Schema`]), an eligibility rule
//! (资格条件, a boolean expression) and an award formula (奖励公式, a number
//! expression: a fixed sum, a share of a base, `tiers(..)`, `min(..)`), and
//! an optional cap (上限). [`Measure::assess`] checks an application's data
//! and computes its award; hand-worked examples are in the tests.
//!
//! An application moves 受理 submitted → 初审 town_reviewed → 复审
//! department_reviewed → 公示 publicised → 拨付 paid, or to 不予支持
//! rejected with a reason from any open state ([`ApplicationStatus::apply`]).
//! Every transition says what it does to the year's budget
//! ([`BudgetEffect`]): 复审 reserves the award, 拨付 turns the reservation
//! into a payment, a rejection after 复审 releases it. The store applies the
//! effect with a guard that never lets reservations exceed the allocation.
//! Amounts are yuan with two decimal places (分), stored as integer fen.

mod application;
mod measure;
mod money;
mod policy;

pub use application::{
    Adjustment, ApplicationState, ApplicationStatus, BudgetEffect, FundAction, MAX_OBJECTION_CHARS, MAX_REASON_CHARS,
    Transition, check_answer, check_objection,
};
pub use measure::{
    Assessment, FieldSpec, MAX_FIELD_NAME_CHARS, MAX_FIELDS, MAX_TEXT_VALUE_CHARS, Measure, MeasureInput,
    data_from_json,
};
pub use money::{MAX_AMOUNT_FEN, fen_to_yuan, yuan_to_fen};
pub use policy::{MAX_YEARS, Policy, YearAllocation};

use crate::error::DomainError;

/// Stable error codes of the support fund.
pub mod codes {
    /// The policy's name or issuer is blank, too long or has control characters.
    pub const INVALID_POLICY: &str = "invalid_fund_policy";
    /// The per-year allocations are missing, repeat a year, or a year is out of range.
    pub const INVALID_ALLOCATIONS: &str = "invalid_fund_allocations";
    /// The per-year allocations do not add up to the total budget.
    pub const ALLOCATION_SUM_MISMATCH: &str = "allocation_sum_mismatch";
    /// An amount is negative, has more than two decimal places or is too large.
    pub const INVALID_AMOUNT: &str = "invalid_fund_amount";
    /// The measure's code, name, fields or cap are malformed.
    pub const INVALID_MEASURE: &str = "invalid_fund_measure";
    /// The eligibility rule does not parse or is not a yes/no expression over the measure's fields.
    pub const INVALID_ELIGIBILITY_RULE: &str = "invalid_eligibility_rule";
    /// The award formula does not parse or is not a number expression over the measure's fields.
    pub const INVALID_AWARD_FORMULA: &str = "invalid_award_formula";
    /// The application lacks data the measure requires.
    pub const MISSING_REQUIRED_DATA: &str = "missing_required_data";
    /// The application carries a field the measure does not know.
    pub const UNKNOWN_DATA_FIELD: &str = "unknown_data_field";
    /// A data value is not of the field's type.
    pub const INVALID_DATA_VALUE: &str = "invalid_data_value";
    /// The applicant's data does not satisfy the measure's eligibility rule.
    pub const NOT_ELIGIBLE: &str = "not_eligible";
    /// The award formula gives no value, a negative value, or fails (division by zero).
    pub const AWARD_NOT_COMPUTABLE: &str = "award_not_computable";
    /// An adjusted award is above the measure's cap.
    pub const AWARD_OVER_CAP: &str = "award_over_cap";
    /// An award of zero is approved (reject instead).
    pub const ZERO_AWARD: &str = "zero_award";
    /// A reason (adjustment, rejection, answer) is blank or too long.
    pub const REASON_REQUIRED: &str = "reason_required";
    /// The action is not allowed in the application's state.
    pub const INVALID_TRANSITION: &str = "invalid_fund_transition";
    /// Payment before the public notice has ended.
    pub const NOTICE_NOT_OVER: &str = "notice_not_over";
    /// Payment while an objection is unanswered.
    pub const OBJECTIONS_OPEN: &str = "objections_open";
    /// An objection outside the public notice period.
    pub const NOT_IN_NOTICE: &str = "not_in_notice";
    /// An objection answered a second time.
    pub const OBJECTION_ANSWERED: &str = "objection_already_answered";
    /// The year's remaining allocation cannot take this award.
    pub const BUDGET_EXCEEDED: &str = "budget_exceeded";
    /// The policy has no allocation for the application's year.
    pub const NO_ALLOCATION_FOR_YEAR: &str = "no_allocation_for_year";
    /// No policy has this id.
    pub const POLICY_NOT_FOUND: &str = "fund_policy_not_found";
    /// No measure has this id.
    pub const MEASURE_NOT_FOUND: &str = "fund_measure_not_found";
    /// A policy has a measure with this code already.
    pub const DUPLICATE_MEASURE: &str = "duplicate_fund_measure";
    /// No application has this id (or it is out of the reader's scope).
    pub const APPLICATION_NOT_FOUND: &str = "fund_application_not_found";
    /// The application changed meanwhile (a stale version).
    pub const APPLICATION_CHANGED: &str = "fund_application_changed";
    /// No objection has this id.
    pub const OBJECTION_NOT_FOUND: &str = "fund_objection_not_found";
}

/// `404 fund_policy_not_found`.
pub fn policy_not_found() -> DomainError {
    DomainError::not_found(codes::POLICY_NOT_FOUND, "没有这项扶持政策")
}

/// `404 fund_measure_not_found`.
pub fn measure_not_found() -> DomainError {
    DomainError::not_found(codes::MEASURE_NOT_FOUND, "没有这项扶持措施")
}

/// `409 duplicate_fund_measure`.
pub fn duplicate_measure(code: &str) -> DomainError {
    DomainError::conflict(codes::DUPLICATE_MEASURE, format!("本政策已有编号为「{code}」的措施"))
}

/// `404 fund_application_not_found`.
pub fn application_not_found() -> DomainError {
    DomainError::not_found(codes::APPLICATION_NOT_FOUND, "没有这份申报")
}

/// `409 fund_application_changed`.
pub fn application_changed() -> DomainError {
    DomainError::conflict(codes::APPLICATION_CHANGED, "申报已被他人处理，请刷新后重试")
}

/// `404 fund_objection_not_found`.
pub fn objection_not_found() -> DomainError {
    DomainError::not_found(codes::OBJECTION_NOT_FOUND, "没有这条异议")
}

/// `422 no_allocation_for_year`.
pub fn no_allocation_for_year(year: i32) -> DomainError {
    DomainError::invalid(codes::NO_ALLOCATION_FOR_YEAR, format!("本政策没有安排{year}年度的资金"))
}

/// `409 budget_exceeded`: the year's remaining allocation cannot take `award_fen`.
pub fn budget_exceeded(year: i32, award_fen: i64, remaining_fen: i64) -> DomainError {
    DomainError::conflict(
        codes::BUDGET_EXCEEDED,
        format!(
            "{year}年度扶持资金余额{}元，不足以核定{}元",
            money::fen_to_yuan(remaining_fen),
            money::fen_to_yuan(award_fen)
        ),
    )
}

#[cfg(test)]
mod tests;
