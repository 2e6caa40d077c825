//! The syntax tree, and printing it back to source text.
//!
//! Printing puts parentheses only where precedence needs them, so printing
//! then parsing gives the same tree (spans aside), and the printed text never
//! nests deeper than the tree did.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::{ExprError, codes};
use super::lexer::is_plain_identifier;

/// A character range `[start, end)` in the source, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A constant written in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Number(Decimal),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::And => "and",
            Self::Or => "or",
        }
    }

    fn precedence(self) -> u8 {
        match self {
            Self::Or => PREC_OR,
            Self::And => PREC_AND,
            Self::Eq | Self::Ne | Self::Lt | Self::Le | Self::Gt | Self::Ge => PREC_CMP,
            Self::Add | Self::Sub => PREC_ADD,
            Self::Mul | Self::Div => PREC_MUL,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == PREC_CMP
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(self, Self::Add | Self::Sub | Self::Mul | Self::Div)
    }
}

/// The functions taking ordinary expression arguments. `round`, `tiers` and
/// `date` have their own node shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `if(cond, a, b)`.
    If,
    /// `min(a, b, …)`.
    Min,
    /// `max(a, b, …)`.
    Max,
    /// `abs(x)`.
    Abs,
    /// `coalesce(a, b, …)`: the first value that is not missing.
    Coalesce,
    /// `isnull(x)`: whether the value is missing.
    IsNull,
    /// `concat(a, b, …)`: text joined from the values.
    Concat,
}

impl Func {
    pub const ALL: [Func; 7] = [Self::If, Self::Min, Self::Max, Self::Abs, Self::Coalesce, Self::IsNull, Self::Concat];

    pub fn name(self) -> &'static str {
        match self {
            Self::If => "if",
            Self::Min => "min",
            Self::Max => "max",
            Self::Abs => "abs",
            Self::Coalesce => "coalesce",
            Self::IsNull => "isnull",
            Self::Concat => "concat",
        }
    }

    /// The allowed argument counts, inclusive.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Self::If => (3, 3),
            Self::Abs | Self::IsNull => (1, 1),
            Self::Min | Self::Max | Self::Coalesce => (2, super::MAX_ARGS),
            Self::Concat => (1, super::MAX_ARGS),
        }
    }
}

/// An expression node. Equality ignores spans and heights.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    height: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    Field(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x in [..]` / `x not in [..]`.
    In {
        subject: Box<Expr>,
        list: Vec<Literal>,
        negated: bool,
    },
    Call(Func, Vec<Expr>),
    /// `round(x, places)`, half away from zero (四舍五入).
    Round(Box<Expr>, u32),
    /// `tiers(x, [t1, v1], [t2, v2], …)`: the value of the last tier whose threshold is ≤ x.
    Tiers(Box<Expr>, Vec<(Decimal, Expr)>),
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    /// Builds a node, refusing trees taller than [`super::MAX_DEPTH`].
    pub fn new(kind: ExprKind, span: Span) -> Result<Self, ExprError> {
        let height = 1 + kind.children().map(|c| c.height).max().unwrap_or(0);
        if height > super::MAX_DEPTH {
            return Err(ExprError::at(
                codes::TOO_DEEP,
                span.start,
                format!("表达式嵌套过深（最多{}层），请拆分或简化", super::MAX_DEPTH),
            ));
        }
        Ok(Self { kind, span, height })
    }

    /// The number of node levels from here down.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Every field name the expression reads, in order of first appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        if let ExprKind::Field(name) = &self.kind {
            if !out.contains(name) {
                out.push(name.clone());
            }
            return;
        }
        for child in self.kind.children() {
            child.collect_fields(out);
        }
    }

    fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Binary(op, _, _) => op.precedence(),
            ExprKind::Unary(UnaryOp::Not, _) => PREC_NOT,
            ExprKind::Unary(UnaryOp::Neg, _) => PREC_NEG,
            ExprKind::In { .. } => PREC_CMP,
            _ => PREC_ATOM,
        }
    }

    fn write_at(&self, f: &mut fmt::Formatter<'_>, min_prec: u8) -> fmt::Result {
        let wrap = self.precedence() < min_prec;
        if wrap {
            f.write_str("(")?;
        }
        self.write_bare(f)?;
        if wrap {
            f.write_str(")")?;
        }
        Ok(())
    }

    fn write_bare(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Lit(lit) => write!(f, "{lit}"),
            ExprKind::Field(name) => write_field(f, name),
            ExprKind::Unary(UnaryOp::Neg, e) => {
                f.write_str("-")?;
                e.write_at(f, PREC_NEG)
            }
            ExprKind::Unary(UnaryOp::Not, e) => {
                f.write_str("not ")?;
                e.write_at(f, PREC_NOT)
            }
            ExprKind::Binary(op, l, r) => {
                let p = op.precedence();
                // Left-associative chains print flat; comparisons do not chain.
                let left_min = if op.is_comparison() { p + 1 } else { p };
                l.write_at(f, left_min)?;
                write!(f, " {} ", op.symbol())?;
                r.write_at(f, p + 1)
            }
            ExprKind::In { subject, list, negated } => {
                subject.write_at(f, PREC_ADD)?;
                f.write_str(if *negated { " not in [" } else { " in [" })?;
                write_list(f, list)?;
                f.write_str("]")
            }
            ExprKind::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.write_at(f, 0)?;
                }
                f.write_str(")")
            }
            ExprKind::Round(x, places) => {
                f.write_str("round(")?;
                x.write_at(f, 0)?;
                write!(f, ", {places})")
            }
            ExprKind::Tiers(x, tiers) => {
                f.write_str("tiers(")?;
                x.write_at(f, 0)?;
                for (threshold, value) in tiers {
                    write!(f, ", [{threshold}, ")?;
                    value.write_at(f, 0)?;
                    f.write_str("]")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl ExprKind {
    /// The direct sub-expressions.
    pub fn children(&self) -> Box<dyn Iterator<Item = &Expr> + '_> {
        match self {
            Self::Lit(_) | Self::Field(_) => Box::new(std::iter::empty()),
            Self::Unary(_, e) | Self::Round(e, _) => Box::new(std::iter::once(e.as_ref())),
            Self::In { subject, .. } => Box::new(std::iter::once(subject.as_ref())),
            Self::Binary(_, l, r) => Box::new([l.as_ref(), r.as_ref()].into_iter()),
            Self::Call(_, args) => Box::new(args.iter()),
            Self::Tiers(x, tiers) => Box::new(std::iter::once(x.as_ref()).chain(tiers.iter().map(|(_, v)| v))),
        }
    }
}

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_CMP: u8 = 4;
const PREC_ADD: u8 = 5;
const PREC_MUL: u8 = 6;
const PREC_NEG: u8 = 7;
const PREC_ATOM: u8 = 8;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_at(f, 0)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => write_string(f, s),
            Self::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Self::Date(d) => write!(f, "date(\"{}\")", d.format("%Y-%m-%d")),
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &[Literal]) -> fmt::Result {
    for (i, lit) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{lit}")?;
    }
    Ok(())
}

fn write_field(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if is_plain_identifier(name) { f.write_str(name) } else { write!(f, "`{name}`") }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
