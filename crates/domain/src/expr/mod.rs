//! A small expression language (表达式) shared by ledger computed fields,
//! support-fund eligibility rules and award formulas.
//!
//! Parse once into a syntax tree, type-check it against a [`Schema`] of field
//! types, then evaluate it many times over [`Record`]s. Everything is bounded:
//! [`MAX_SOURCE_CHARS`] characters of source, [`MAX_DEPTH`] levels of
//! nesting, [`MAX_LIST_ITEMS`] items in a list, [`MAX_TIERS`] tiers,
//! [`MAX_ARGS`] arguments. Every refusal has a stable code ([`codes`]) and a
//! Chinese message that names the character position.
//!
//! # The language
//!
//! - **Values.** Numbers are exact decimals (`rust_decimal`, 28 significant
//!   digits), so money and areas never drift; text in `"…"`, `'…'` or
//!   `“…”`; `true`/`false`; dates as `date("2021-12-31")`.
//! - **Fields** by name: `产值 / 面积`, `output / area_mu`. A name that is not
//!   a plain identifier (spaces, brackets, a keyword) goes in back quotes:
//!   `` `产值(万元)` ``.
//! - **Operators**, loosest first: `or` (`或`, `||`); `and` (`且`, `&&`);
//!   `not` (`非`); comparisons `= != < <= > >=` (also `==`, `<>`, `≠`, `≤`,
//!   `≥`) and `x in [..]`, `x not in [..]` over a list of constants;
//!   `+ -`; `* /` (also `×`, `÷`); unary `-`. `且/或/非` must stand apart
//!   (spaces or brackets around them), since they may also begin a field
//!   name. Comparisons do not chain. Full-width brackets, commas and
//!   operators are accepted.
//! - **Functions:** `if(cond, a, b)`, `min(a, b, …)`, `max(a, b, …)`,
//!   `round(x, n)` (half away from zero, 四舍五入, `n` a constant 0–10),
//!   `abs(x)`, `tiers(x, [t1, v1], [t2, v2], …)` (the value of the last tier
//!   whose threshold is ≤ x; thresholds constant and ascending),
//!   `coalesce(a, b, …)`, `isnull(x)`, `concat(a, b, …)`.
//! - **Types** are checked before evaluation: arithmetic on numbers only;
//!   `< <= > >=` on numbers or dates; `=`/`!=` on two values of one type;
//!   `and/or/not` and `if` conditions on booleans; both `if` branches alike.
//!
//! # Missing values (null)
//!
//! A field without a value reads as missing. The rules are explicit:
//! - arithmetic, `round`, `abs`, `min`, `max`, `tiers` and `concat` with a
//!   missing operand give missing; `tiers` below its first threshold gives missing;
//! - every comparison and `in`/`not in` with a missing operand is **false**;
//! - in `and`, `or`, `not` and an `if` condition a missing value counts as
//!   false (so `not (x > 5)` is true when `x` is missing);
//! - `isnull(x)` tests for missing, `coalesce(x, 0)` supplies a default.
//!
//! Division by zero and overflow are errors (`expr_division_by_zero`,
//! `expr_overflow`), never silent values.

mod ast;
mod check;
mod error;
mod eval;
mod lexer;
mod parser;
mod value;

pub use ast::{BinOp, Expr, ExprKind, Func, Literal, Span, UnaryOp};
pub use check::type_of;
pub use error::{ExprError, codes};
pub use eval::eval;
pub use lexer::is_plain_identifier;
pub use parser::parse;
pub use value::{ExprType, Record, Schema, Value};

/// Longest accepted source, in characters.
pub const MAX_SOURCE_CHARS: usize = 2000;
/// Deepest accepted nesting (tree height, and brackets/unary operators while parsing).
pub const MAX_DEPTH: usize = 48;
/// Most items in an `in [..]` list.
pub const MAX_LIST_ITEMS: usize = 200;
/// Most tiers in `tiers(..)`.
pub const MAX_TIERS: usize = 50;
/// Most arguments to a function.
pub const MAX_ARGS: usize = 32;
/// Most decimal places `round` keeps.
pub const MAX_ROUND_PLACES: u32 = 10;

/// A parsed and type-checked expression, ready to evaluate many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    source: String,
    ast: Expr,
    ty: ExprType,
    fields: Vec<String>,
}

impl Formula {
    /// Parses `source` and checks it against `schema`.
    ///
    /// # Errors
    ///
    /// Any parse error, `expr_unknown_field` or `expr_type`.
    pub fn compile(source: &str, schema: &dyn Schema) -> Result<Self, ExprError> {
        let ast = parse(source)?;
        let ty = type_of(&ast, schema)?;
        let fields = ast.fields();
        Ok(Self { source: source.to_owned(), ast, ty, fields })
    }

    /// Like [`Formula::compile`], and the result must be of type `expected`.
    ///
    /// # Errors
    ///
    /// As `compile`, plus `expr_type` when the result type differs.
    pub fn compile_as(source: &str, schema: &dyn Schema, expected: ExprType) -> Result<Self, ExprError> {
        let formula = Self::compile(source, schema)?;
        if formula.ty != expected {
            return Err(ExprError::at(
                codes::TYPE,
                0,
                format!("表达式的结果应为{}，这里是{}", expected.label(), formula.ty.label()),
            ));
        }
        Ok(formula)
    }

    /// The source text as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn ast(&self) -> &Expr {
        &self.ast
    }

    /// The result type.
    pub fn ty(&self) -> ExprType {
        self.ty
    }

    /// The fields the expression reads.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Evaluates over one record.
    ///
    /// # Errors
    ///
    /// `expr_division_by_zero`, `expr_overflow`, or `expr_type` when the record
    /// disagrees with the schema.
    pub fn eval(&self, record: &dyn Record) -> Result<Value, ExprError> {
        eval(&self.ast, record)
    }

    /// Evaluates a condition: true only for `true`; a missing value is false.
    ///
    /// # Errors
    ///
    /// As [`Formula::eval`].
    pub fn eval_bool(&self, record: &dyn Record) -> Result<bool, ExprError> {
        Ok(self.eval(record)?.is_true())
    }
}
