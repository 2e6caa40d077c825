//! Errors of the expression language: a stable code, a Chinese message and,
//! where there is one, the 1-based character position the message points at.

use std::fmt;

use crate::error::DomainError;

/// Stable error codes of the expression language.
pub mod codes {
    /// The text is not a well-formed expression.
    pub const SYNTAX: &str = "expr_syntax";
    /// A field name the schema does not know.
    pub const UNKNOWN_FIELD: &str = "expr_unknown_field";
    /// A function name the language does not have.
    pub const UNKNOWN_FUNCTION: &str = "expr_unknown_function";
    /// A function called with the wrong number or shape of arguments.
    pub const ARITY: &str = "expr_arity";
    /// Operands or arguments of the wrong type (e.g. a date added to text).
    pub const TYPE: &str = "expr_type";
    /// The source text is longer than [`super::MAX_SOURCE_CHARS`].
    pub const TOO_LONG: &str = "expr_too_long";
    /// Nesting deeper than [`super::MAX_DEPTH`].
    pub const TOO_DEEP: &str = "expr_too_deep";
    /// A literal out of range: a number beyond 28 significant digits, a date that does not exist, a list too long.
    pub const BAD_LITERAL: &str = "expr_bad_literal";
    /// Division by zero during evaluation.
    pub const DIVISION_BY_ZERO: &str = "expr_division_by_zero";
    /// A result beyond the range of an exact decimal during evaluation.
    pub const OVERFLOW: &str = "expr_overflow";
}

/// A refused expression, or a failed evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub code: &'static str,
    /// For people, in Chinese; includes the position when there is one.
    pub message: String,
    /// The 1-based character position in the source the error points at.
    pub position: Option<usize>,
}

impl ExprError {
    /// An error at a 0-based character offset; the message gets the 1-based position in front.
    pub(crate) fn at(code: &'static str, offset: usize, detail: impl fmt::Display) -> Self {
        let position = offset + 1;
        Self { code, message: format!("第{position}个字符处：{detail}"), position: Some(position) }
    }

    /// An error without a position (evaluation, whole-source limits).
    pub(crate) fn plain(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), position: None }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ExprError {}

impl From<ExprError> for DomainError {
    fn from(e: ExprError) -> Self {
        DomainError::invalid(e.code, e.message)
    }
}
