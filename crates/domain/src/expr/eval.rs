//! Evaluating a (type-checked) syntax tree over one record.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

use super::ast::{BinOp, Expr, ExprKind, Func, Literal, UnaryOp};
use super::error::{ExprError, codes};
use super::value::{Record, Value};

/// Evaluates `expr` over `record`. Missing values follow the rules in the module docs.
///
/// # Errors
///
/// `expr_division_by_zero`, `expr_overflow`, or `expr_type` when the record
/// holds a value of another type than the schema the expression was checked against.
pub fn eval(expr: &Expr, record: &dyn Record) -> Result<Value, ExprError> {
    match &expr.kind {
        ExprKind::Lit(lit) => Ok(literal_value(lit)),
        ExprKind::Field(name) => Ok(record.value(name)),
        ExprKind::Unary(UnaryOp::Neg, e) => match eval(e, record)? {
            Value::Null => Ok(Value::Null),
            v => Ok(Value::Number(-number(&v)?)),
        },
        ExprKind::Unary(UnaryOp::Not, e) => Ok(Value::Bool(!eval(e, record)?.is_true())),
        ExprKind::Binary(op, l, r) => binary(*op, l, r, record),
        ExprKind::In { subject, list, negated } => {
            let v = eval(subject, record)?;
            if v.is_null() {
                return Ok(Value::Bool(false));
            }
            let found = list.iter().any(|lit| literal_value(lit) == v);
            Ok(Value::Bool(found != *negated))
        }
        ExprKind::Call(func, args) => call(*func, args, record),
        ExprKind::Round(x, places) => match eval(x, record)? {
            Value::Null => Ok(Value::Null),
            v => Ok(Value::Number(number(&v)?.round_dp_with_strategy(*places, RoundingStrategy::MidpointAwayFromZero))),
        },
        ExprKind::Tiers(x, tiers) => {
            let v = eval(x, record)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            let n = number(&v)?;
            match tiers.iter().rev().find(|(threshold, _)| *threshold <= n) {
                Some((_, value)) => eval(value, record),
                None => Ok(Value::Null),
            }
        }
    }
}

pub fn literal_value(lit: &Literal) -> Value {
    match lit {
        Literal::Number(n) => Value::Number(*n),
        Literal::Text(s) => Value::Text(s.clone()),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Date(d) => Value::Date(*d),
    }
}

fn number(v: &Value) -> Result<Decimal, ExprError> {
    v.as_number().ok_or_else(|| mismatch(v))
}

fn mismatch(v: &Value) -> ExprError {
    let got = v.ty().map_or("空值", |t| t.label());
    ExprError::plain(codes::TYPE, format!("字段的值类型与定义不符（这里是{got}「{v}」）"))
}

fn binary(op: BinOp, l: &Expr, r: &Expr, record: &dyn Record) -> Result<Value, ExprError> {
    match op {
        BinOp::And => {
            let left = eval(l, record)?.is_true();
            Ok(Value::Bool(left && eval(r, record)?.is_true()))
        }
        BinOp::Or => {
            let left = eval(l, record)?.is_true();
            Ok(Value::Bool(left || eval(r, record)?.is_true()))
        }
        _ => {
            let a = eval(l, record)?;
            let b = eval(r, record)?;
            if op.is_arithmetic() { arithmetic(op, &a, &b) } else { compare(op, &a, &b) }
        }
    }
}

fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Result<Value, ExprError> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    let (x, y) = (number(a)?, number(b)?);
    let result = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        _ => {
            if y.is_zero() {
                return Err(ExprError::plain(codes::DIVISION_BY_ZERO, format!("除数为零：{x} / {y}")));
            }
            x.checked_div(y)
        }
    };
    result
        .map(Value::Number)
        .ok_or_else(|| ExprError::plain(codes::OVERFLOW, format!("计算结果超出范围：{x} {} {y}", op.symbol())))
}

/// Comparisons with a missing value are false, whatever the operator.
fn compare(op: BinOp, a: &Value, b: &Value) -> Result<Value, ExprError> {
    let ordering = match (a, b) {
        (Value::Null, _) | (_, Value::Null) => return Ok(Value::Bool(false)),
        (Value::Number(x), Value::Number(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (x, _) => return Err(mismatch(x)),
    };
    let holds = match op {
        BinOp::Eq => ordering == Ordering::Equal,
        BinOp::Ne => ordering != Ordering::Equal,
        BinOp::Lt => ordering == Ordering::Less,
        BinOp::Le => ordering != Ordering::Greater,
        BinOp::Gt => ordering == Ordering::Greater,
        _ => ordering != Ordering::Less,
    };
    Ok(Value::Bool(holds))
}

fn call(func: Func, args: &[Expr], record: &dyn Record) -> Result<Value, ExprError> {
    match func {
        Func::If => {
            let [cond, a, b] = args else {
                return Err(ExprError::plain(codes::ARITY, "函数 if 需要3个参数"));
            };
            if eval(cond, record)?.is_true() { eval(a, record) } else { eval(b, record) }
        }
        Func::Min | Func::Max => extreme(func == Func::Max, args, record),
        Func::Abs => match args.first().map(|a| eval(a, record)).transpose()? {
            None | Some(Value::Null) => Ok(Value::Null),
            Some(v) => Ok(Value::Number(number(&v)?.abs())),
        },
        Func::Coalesce => {
            for a in args {
                let v = eval(a, record)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
        Func::IsNull => Ok(Value::Bool(args.first().map(|a| eval(a, record)).transpose()?.is_none_or(|v| v.is_null()))),
        Func::Concat => {
            let mut out = String::new();
            for a in args {
                match eval(a, record)? {
                    Value::Null => return Ok(Value::Null),
                    v => out.push_str(&v.to_string()),
                }
            }
            Ok(Value::Text(out))
        }
    }
}

/// `min`/`max`: missing if any argument is missing.
fn extreme(want_max: bool, args: &[Expr], record: &dyn Record) -> Result<Value, ExprError> {
    let mut best: Option<Value> = None;
    for a in args {
        let v = eval(a, record)?;
        let better = match (&best, &v) {
            (_, Value::Null) => return Ok(Value::Null),
            (None, _) => true,
            (Some(Value::Number(b)), Value::Number(x)) => (x > b) == want_max && x != b,
            (Some(Value::Date(b)), Value::Date(x)) => (x > b) == want_max && x != b,
            (Some(_), x) => return Err(mismatch(x)),
        };
        if better {
            best = Some(v);
        }
    }
    Ok(best.unwrap_or(Value::Null))
}
