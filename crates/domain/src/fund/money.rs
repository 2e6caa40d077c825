//! Money of the fund: yuan with two decimal places (分), kept as integer fen
//! so that the budget guard is integer arithmetic on both databases.

use rust_decimal::Decimal;

use super::codes;
use crate::error::DomainError;

/// The largest amount accepted anywhere: one trillion yuan, in fen.
pub const MAX_AMOUNT_FEN: i64 = 100_000_000_000_000;

/// Yuan to fen: refused when negative, with more than two decimal places, or above [`MAX_AMOUNT_FEN`].
pub fn yuan_to_fen(label: &str, yuan: Decimal) -> Result<i64, DomainError> {
    let refuse =
        || DomainError::invalid(codes::INVALID_AMOUNT, format!("「{label}」须为不小于0、最多两位小数的金额（元）"));
    if yuan.is_sign_negative() && !yuan.is_zero() {
        return Err(refuse());
    }
    let fen = yuan.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(refuse)?;
    if !fen.fract().is_zero() {
        return Err(refuse());
    }
    let fen = i64::try_from(fen.trunc()).map_err(|_| refuse())?;
    if fen > MAX_AMOUNT_FEN {
        return Err(refuse());
    }
    Ok(fen)
}

/// Fen to yuan with two decimal places.
pub fn fen_to_yuan(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}
