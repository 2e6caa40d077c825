//! Type checking a syntax tree against a schema of field types.

use super::ast::{BinOp, Expr, ExprKind, Func, Literal, UnaryOp};
use super::error::{ExprError, codes};
use super::lexer::keyword_hint;
use super::value::{ExprType, Schema};

/// The type of a literal.
pub fn literal_type(lit: &Literal) -> ExprType {
    match lit {
        Literal::Number(_) => ExprType::Number,
        Literal::Text(_) => ExprType::Text,
        Literal::Bool(_) => ExprType::Bool,
        Literal::Date(_) => ExprType::Date,
    }
}

/// The static type of `expr` under `schema`.
///
/// # Errors
///
/// `expr_unknown_field` for a name the schema does not have; `expr_type`
/// for operands or arguments of the wrong type. Messages point at the position.
pub fn type_of(expr: &Expr, schema: &dyn Schema) -> Result<ExprType, ExprError> {
    let at = expr.span.start;
    match &expr.kind {
        ExprKind::Lit(lit) => Ok(literal_type(lit)),
        ExprKind::Field(name) => schema.field_type(name).ok_or_else(|| {
            ExprError::at(codes::UNKNOWN_FIELD, at, format!("未知字段「{name}」{}", keyword_hint(name)))
        }),
        ExprKind::Unary(UnaryOp::Neg, e) => {
            want(e, schema, ExprType::Number, "负号后")?;
            Ok(ExprType::Number)
        }
        ExprKind::Unary(UnaryOp::Not, e) => {
            want(e, schema, ExprType::Bool, "not 后")?;
            Ok(ExprType::Bool)
        }
        ExprKind::Binary(op, l, r) => binary(*op, l, r, schema),
        ExprKind::In { subject, list, .. } => in_list(subject, list, schema),
        ExprKind::Call(func, args) => call(*func, args, schema, at),
        ExprKind::Round(x, _) => {
            want(x, schema, ExprType::Number, "round 的第一个参数")?;
            Ok(ExprType::Number)
        }
        ExprKind::Tiers(x, tiers) => {
            want(x, schema, ExprType::Number, "tiers 的第一个参数")?;
            same_types(tiers.iter().map(|(_, v)| v), schema, "各档的值")
        }
    }
}

fn want(e: &Expr, schema: &dyn Schema, wanted: ExprType, place: &str) -> Result<(), ExprError> {
    let got = type_of(e, schema)?;
    if got == wanted {
        Ok(())
    } else {
        Err(ExprError::at(codes::TYPE, e.span.start, format!("{place}应为{}，这里是{}", wanted.label(), got.label())))
    }
}

fn binary(op: BinOp, l: &Expr, r: &Expr, schema: &dyn Schema) -> Result<ExprType, ExprError> {
    let sym = op.symbol();
    if op.is_arithmetic() {
        let lt = type_of(l, schema)?;
        let rt = type_of(r, schema)?;
        if lt != ExprType::Number || rt != ExprType::Number {
            let bad = if lt == ExprType::Number { r } else { l };
            return Err(ExprError::at(
                codes::TYPE,
                bad.span.start,
                format!("「{sym}」两边应为数字，这里是{}与{}", lt.label(), rt.label()),
            ));
        }
        return Ok(ExprType::Number);
    }
    if matches!(op, BinOp::And | BinOp::Or) {
        want(l, schema, ExprType::Bool, &format!("「{sym}」左边"))?;
        want(r, schema, ExprType::Bool, &format!("「{sym}」右边"))?;
        return Ok(ExprType::Bool);
    }
    let lt = type_of(l, schema)?;
    let rt = type_of(r, schema)?;
    if lt != rt {
        return Err(ExprError::at(
            codes::TYPE,
            r.span.start,
            format!("「{sym}」两边类型不同，不能比较：{}与{}", lt.label(), rt.label()),
        ));
    }
    let ordered = matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge);
    if ordered && !matches!(lt, ExprType::Number | ExprType::Date) {
        return Err(ExprError::at(
            codes::TYPE,
            l.span.start,
            format!("「{sym}」只能比较数字或日期，这里是{}", lt.label()),
        ));
    }
    Ok(ExprType::Bool)
}

fn in_list(subject: &Expr, list: &[Literal], schema: &dyn Schema) -> Result<ExprType, ExprError> {
    let ty = type_of(subject, schema)?;
    if let Some(bad) = list.iter().find(|lit| literal_type(lit) != ty) {
        return Err(ExprError::at(
            codes::TYPE,
            subject.span.end,
            format!("列表中的「{bad}」是{}，与左边的{}类型不同", literal_type(bad).label(), ty.label()),
        ));
    }
    Ok(ExprType::Bool)
}

fn call(func: Func, args: &[Expr], schema: &dyn Schema, at: usize) -> Result<ExprType, ExprError> {
    match func {
        Func::If => {
            let [cond, a, b] = args else {
                return Err(ExprError::at(codes::ARITY, at, "函数 if 需要3个参数"));
            };
            want(cond, schema, ExprType::Bool, "if 的条件")?;
            same_types([a, b].into_iter(), schema, "if 的两个结果")
        }
        Func::Min | Func::Max => {
            let ty = same_types(args.iter(), schema, &format!("{} 的参数", func.name()))?;
            if !matches!(ty, ExprType::Number | ExprType::Date) {
                return Err(ExprError::at(
                    codes::TYPE,
                    at,
                    format!("{} 的参数应为数字或日期，这里是{}", func.name(), ty.label()),
                ));
            }
            Ok(ty)
        }
        Func::Abs => {
            for a in args {
                want(a, schema, ExprType::Number, "abs 的参数")?;
            }
            Ok(ExprType::Number)
        }
        Func::Coalesce => same_types(args.iter(), schema, "coalesce 的参数"),
        Func::IsNull => {
            for a in args {
                type_of(a, schema)?;
            }
            Ok(ExprType::Bool)
        }
        Func::Concat => {
            for a in args {
                if type_of(a, schema)? == ExprType::Bool {
                    return Err(ExprError::at(codes::TYPE, a.span.start, "concat 不能拼接是非值，请用 if 转成文本"));
                }
            }
            Ok(ExprType::Text)
        }
    }
}

/// Every expression must have the same type; returns it.
fn same_types<'a>(
    mut exprs: impl Iterator<Item = &'a Expr>,
    schema: &dyn Schema,
    what: &str,
) -> Result<ExprType, ExprError> {
    let Some(first) = exprs.next() else {
        return Err(ExprError::plain(codes::ARITY, format!("{what}不能为空")));
    };
    let ty = type_of(first, schema)?;
    for e in exprs {
        let other = type_of(e, schema)?;
        if other != ty {
            return Err(ExprError::at(
                codes::TYPE,
                e.span.start,
                format!("{what}类型应一致：前面是{}，这里是{}", ty.label(), other.label()),
            ));
        }
    }
    Ok(ty)
}
