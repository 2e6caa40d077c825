//! A support-fund policy (扶持政策): who issued it, its total budget and the
//! allocation of each year, which must add up to the total.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codes;
use super::money::{fen_to_yuan, yuan_to_fen};
use crate::error::DomainError;
use crate::validation::required_text;

/// A policy runs over at most this many years.
pub const MAX_YEARS: usize = 10;
const MAX_NAME_CHARS: usize = 100;
/// The public notice (公示) lasts at most this many working days.
const MAX_NOTICE_DAYS: u32 = 30;

/// One year's allocation (年度资金安排), in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearAllocation {
    pub year: i32,
    pub amount_fen: i64,
}

/// A validated policy; amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    /// The issuing office (发文单位).
    pub issuer: String,
    pub total_fen: i64,
    /// By year, ascending.
    pub allocations: Vec<YearAllocation>,
    /// How many working days the public notice of an award lasts.
    pub notice_working_days: u32,
}

impl Policy {
    /// Checks a policy: name and issuer, amounts in yuan with at most two
    /// decimal places, distinct years 2000–2100 whose allocations add up to
    /// the total exactly (`allocation_sum_mismatch`), a notice of 1–30 working days.
    pub fn new(
        name: &str,
        issuer: &str,
        total_yuan: Decimal,
        allocations: &[(i32, Decimal)],
        notice_working_days: u32,
    ) -> Result<Self, DomainError> {
        let invalid = |e: DomainError| DomainError::invalid(codes::INVALID_POLICY, e.message);
        let name = required_text("政策名称", name, MAX_NAME_CHARS).map_err(invalid)?;
        let issuer = required_text("发文单位", issuer, MAX_NAME_CHARS).map_err(invalid)?;
        let total_fen = yuan_to_fen("资金总额", total_yuan)?;
        if total_fen == 0 {
            return Err(DomainError::invalid(codes::INVALID_AMOUNT, "「资金总额」须大于0"));
        }
        if !(1..=MAX_NOTICE_DAYS).contains(&notice_working_days) {
            return Err(DomainError::invalid(codes::INVALID_POLICY, format!("公示期须为1至{MAX_NOTICE_DAYS}个工作日")));
        }
        let allocations = checked_allocations(allocations)?;
        let sum: i64 = allocations.iter().map(|a| a.amount_fen).sum();
        if sum != total_fen {
            return Err(DomainError::invalid(
                codes::ALLOCATION_SUM_MISMATCH,
                format!("各年度资金安排合计{}元，与资金总额{}元不一致", fen_to_yuan(sum), fen_to_yuan(total_fen)),
            ));
        }
        Ok(Self { name, issuer, total_fen, allocations, notice_working_days })
    }

    /// The allocation of `year`, if the policy has one.
    pub fn allocation(&self, year: i32) -> Option<i64> {
        self.allocations.iter().find(|a| a.year == year).map(|a| a.amount_fen)
    }
}

fn checked_allocations(allocations: &[(i32, Decimal)]) -> Result<Vec<YearAllocation>, DomainError> {
    let refuse = |m: String| DomainError::invalid(codes::INVALID_ALLOCATIONS, m);
    if allocations.is_empty() || allocations.len() > MAX_YEARS {
        return Err(refuse(format!("须安排1至{MAX_YEARS}个年度的资金")));
    }
    let mut out = Vec::with_capacity(allocations.len());
    for &(year, yuan) in allocations {
        if !(2000..=2100).contains(&year) {
            return Err(refuse(format!("年度{year}不在2000至2100年之间")));
        }
        if out.iter().any(|a: &YearAllocation| a.year == year) {
            return Err(refuse(format!("年度{year}重复安排")));
        }
        let amount_fen = yuan_to_fen(&format!("{year}年度资金"), yuan)?;
        out.push(YearAllocation { year, amount_fen });
    }
    out.sort_by_key(|a| a.year);
    Ok(out)
}
