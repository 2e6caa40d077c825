//! Money of the fund: yuan with two decimal places (分), kept as integer fen
//! so that the budget guard is integer arithmetic on both databases.

use rust_decimal::Decimal;

use super::codes;
use crate::error::DomainError;

pub use crate::money::{MAX_AMOUNT_FEN, fen_to_yuan};

/// Yuan to fen: refused when negative, with more than two decimal places, or above [`MAX_AMOUNT_FEN`].
pub fn yuan_to_fen(label: &str, yuan: Decimal) -> Result<i64, DomainError> {
    crate::money::to_fen(codes::INVALID_AMOUNT, label, yuan, MAX_AMOUNT_FEN)
}
