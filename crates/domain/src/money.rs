//! Money: yuan with two decimal places (分), kept as integer fen so that sums
//! and budget guards are integer arithmetic on both databases.

use rust_decimal::Decimal;

use crate::error::DomainError;

/// The largest amount accepted anywhere: one trillion yuan, in fen.
pub const MAX_AMOUNT_FEN: i64 = 100_000_000_000_000;

/// Yuan to fen: refused with `code` when negative, with more than two decimal
/// places, or above `max_fen`; the message names the field (`label`).
pub fn to_fen(code: &'static str, label: &str, yuan: Decimal, max_fen: i64) -> Result<i64, DomainError> {
    let refuse = || DomainError::invalid(code, format!("「{label}」须为不小于0、最多两位小数的金额（元）"));
    if yuan.is_sign_negative() && !yuan.is_zero() {
        return Err(refuse());
    }
    let fen = yuan.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(refuse)?;
    if !fen.fract().is_zero() {
        return Err(refuse());
    }
    let fen = i64::try_from(fen.trunc()).map_err(|_| refuse())?;
    if fen > max_fen {
        return Err(refuse());
    }
    Ok(fen)
}

/// [`to_fen`] of a typed amount (`"50000"`, `" 12.5 "`); text that is no number is refused the same way.
pub fn parse_fen(code: &'static str, label: &str, yuan: &str, max_fen: i64) -> Result<i64, DomainError> {
    let value: Decimal = yuan
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid(code, format!("「{label}」须为不小于0、最多两位小数的金额（元）")))?;
    to_fen(code, label, value, max_fen)
}

/// Fen to yuan with two decimal places.
pub fn fen_to_yuan(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// Fen as yuan with two decimals: `50000.00`.
pub fn fen_text(fen: i64) -> String {
    fen_to_yuan(fen).to_string()
}
