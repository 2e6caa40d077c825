//! Recursive-descent parser: tokens to [`Expr`], bounded in length and depth.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::ast::{BinOp, Expr, ExprKind, Func, Literal, Span, UnaryOp};
use super::error::{ExprError, codes};
use super::lexer::{Tok, Token, keyword_hint, tokenize};
use super::{MAX_ARGS, MAX_DEPTH, MAX_LIST_ITEMS, MAX_ROUND_PLACES, MAX_SOURCE_CHARS, MAX_TIERS};

/// Parses source text into a syntax tree, without looking at any schema.
///
/// # Errors
///
/// `expr_too_long`, `expr_syntax`, `expr_too_deep`, `expr_bad_literal`,
/// `expr_unknown_function`, `expr_arity`, each with a Chinese message that
/// names the position.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    // Bound by bytes before collecting characters: a char is at most 4 bytes.
    if src.len() > MAX_SOURCE_CHARS * 4 || src.chars().count() > MAX_SOURCE_CHARS {
        return Err(ExprError::plain(codes::TOO_LONG, format!("表达式过长（最多{MAX_SOURCE_CHARS}个字符）")));
    }
    let chars: Vec<char> = src.chars().collect();
    let tokens = tokenize(&chars)?;
    let mut parser = Parser { tokens, pos: 0, depth: 0 };
    if parser.peek() == &Tok::Eof {
        return Err(ExprError::plain(codes::SYNTAX, "表达式为空"));
    }
    let expr = parser.expr()?;
    if parser.peek() != &Tok::Eof {
        return Err(parser.unexpected("运算符或表达式结尾"));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

const EOF_TOKEN: Token = Token { tok: Tok::Eof, span: Span { start: 0, end: 0 } };

impl Parser {
    fn token(&self) -> &Token {
        self.tokens.get(self.pos).or_else(|| self.tokens.last()).unwrap_or(&EOF_TOKEN)
    }

    fn peek(&self) -> &Tok {
        &self.token().tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.tokens.get(self.pos + ahead).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn start(&self) -> usize {
        self.token().span.start
    }

    fn prev_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)).map_or(0, |t| t.span.end)
    }

    fn advance(&mut self) -> Token {
        let token = self.token().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn unexpected(&self, wanted: &str) -> ExprError {
        let hint = match self.peek() {
            Tok::Ident(word) => keyword_hint(word),
            _ => String::new(),
        };
        ExprError::at(codes::SYNTAX, self.start(), format!("此处应为{wanted}，却是{}{hint}", self.peek().describe()))
    }

    fn expect(&mut self, tok: &Tok, wanted: &str) -> Result<(), ExprError> {
        if self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::at(
                codes::TOO_DEEP,
                self.start(),
                format!("表达式嵌套过深（最多{MAX_DEPTH}层），请拆分或简化"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn node(&self, kind: ExprKind, start: usize) -> Result<Expr, ExprError> {
        Expr::new(kind, Span { start, end: self.prev_end() })
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let mut left = self.and_expr()?;
        while self.peek() == &Tok::Or {
            self.advance();
            let right = self.and_expr()?;
            left = self.node(ExprKind::Binary(BinOp::Or, Box::new(left), Box::new(right)), start)?;
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let mut left = self.not_expr()?;
        while self.peek() == &Tok::And {
            self.advance();
            let right = self.not_expr()?;
            left = self.node(ExprKind::Binary(BinOp::And, Box::new(left), Box::new(right)), start)?;
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, ExprError> {
        if self.peek() != &Tok::Not {
            return self.cmp_expr();
        }
        let start = self.start();
        self.advance();
        self.enter()?;
        let inner = self.not_expr()?;
        self.leave();
        self.node(ExprKind::Unary(UnaryOp::Not, Box::new(inner)), start)
    }

    fn cmp_expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let left = self.add_expr()?;
        let expr = if let Some(op) = comparison(self.peek()) {
            self.advance();
            let right = self.add_expr()?;
            self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start)?
        } else if self.peek() == &Tok::In || (self.peek() == &Tok::Not && self.peek_at(1) == &Tok::In) {
            let negated = self.peek() == &Tok::Not;
            self.advance();
            if negated {
                self.advance();
            }
            let list = self.literal_list()?;
            self.node(ExprKind::In { subject: Box::new(left), list, negated }, start)?
        } else {
            return Ok(left);
        };
        if comparison(self.peek()).is_some() || self.peek() == &Tok::In {
            return Err(ExprError::at(codes::SYNTAX, self.start(), "比较不能连写，请用 and 连接两个比较"));
        }
        Ok(expr)
    }

    fn add_expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let mut left = self.mul_expr()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.mul_expr()?;
            left = self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start)?;
        }
    }

    fn mul_expr(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.unary()?;
            left = self.node(ExprKind::Binary(op, Box::new(left), Box::new(right)), start)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.peek() != &Tok::Minus {
            return self.primary();
        }
        let start = self.start();
        self.advance();
        self.enter()?;
        let inner = self.unary()?;
        self.leave();
        self.node(ExprKind::Unary(UnaryOp::Neg, Box::new(inner)), start)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let start = self.start();
        let kind = match self.peek().clone() {
            Tok::Num(n) => ExprKind::Lit(Literal::Number(n)),
            Tok::Str(s) => ExprKind::Lit(Literal::Text(s)),
            Tok::True => ExprKind::Lit(Literal::Bool(true)),
            Tok::False => ExprKind::Lit(Literal::Bool(false)),
            Tok::Quoted(name) => ExprKind::Field(name),
            Tok::Ident(name) if self.peek_at(1) == &Tok::LParen => {
                self.advance();
                return self.call(&name, start);
            }
            Tok::Ident(name) => ExprKind::Field(name),
            Tok::LParen => {
                self.advance();
                self.enter()?;
                let inner = self.expr()?;
                self.expect(&Tok::RParen, "右括号「)」")?;
                self.leave();
                return Ok(inner);
            }
            _ => return Err(self.unexpected("数字、文本、字段、函数或左括号")),
        };
        self.advance();
        self.node(kind, start)
    }

    fn call(&mut self, name: &str, start: usize) -> Result<Expr, ExprError> {
        let lower = name.to_ascii_lowercase();
        self.expect(&Tok::LParen, "左括号「(」")?;
        self.enter()?;
        let kind = match lower.as_str() {
            "round" => self.round_args()?,
            "tiers" => self.tiers_args()?,
            "date" => ExprKind::Lit(Literal::Date(self.date_arg()?)),
            _ => {
                let Some(func) = Func::ALL.into_iter().find(|f| f.name() == lower) else {
                    return Err(ExprError::at(
                        codes::UNKNOWN_FUNCTION,
                        start,
                        format!(
                            "未知函数「{name}」；可用的函数：if、min、max、round、abs、tiers、coalesce、isnull、concat、date"
                        ),
                    ));
                };
                let args = self.args(func, start)?;
                ExprKind::Call(func, args)
            }
        };
        self.expect(&Tok::RParen, "右括号「)」")?;
        self.leave();
        self.node(kind, start)
    }

    fn args(&mut self, func: Func, start: usize) -> Result<Vec<Expr>, ExprError> {
        let mut args = Vec::new();
        if self.peek() != &Tok::RParen {
            loop {
                if args.len() >= MAX_ARGS {
                    return Err(ExprError::at(codes::ARITY, start, format!("函数参数过多（最多{MAX_ARGS}个）")));
                }
                args.push(self.expr()?);
                if self.peek() != &Tok::Comma {
                    break;
                }
                self.advance();
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let wanted = if min == max { format!("{min}个") } else { format!("至少{min}个") };
            return Err(ExprError::at(
                codes::ARITY,
                start,
                format!("函数 {} 需要{wanted}参数，却给了{}个", func.name(), args.len()),
            ));
        }
        Ok(args)
    }

    fn round_args(&mut self) -> Result<ExprKind, ExprError> {
        let x = self.expr()?;
        self.expect(&Tok::Comma, "逗号和保留的小数位数")?;
        let at = self.start();
        let places = match self.peek() {
            Tok::Num(n) if n.scale() == 0 && *n <= Decimal::from(MAX_ROUND_PLACES) => u32::try_from(*n).ok(),
            _ => None,
        };
        let Some(places) = places else {
            return Err(ExprError::at(
                codes::ARITY,
                at,
                format!("round 的第二个参数应为0到{MAX_ROUND_PLACES}之间的整数（保留的小数位数）"),
            ));
        };
        self.advance();
        Ok(ExprKind::Round(Box::new(x), places))
    }

    fn tiers_args(&mut self) -> Result<ExprKind, ExprError> {
        let x = self.expr()?;
        let mut tiers: Vec<(Decimal, Expr)> = Vec::new();
        while self.peek() == &Tok::Comma {
            self.advance();
            let at = self.start();
            if tiers.len() >= MAX_TIERS {
                return Err(ExprError::at(codes::BAD_LITERAL, at, format!("分档过多（最多{MAX_TIERS}档）")));
            }
            self.expect(&Tok::LBracket, "分档「[起点, 值]」")?;
            self.enter()?;
            let threshold = self.signed_number("分档起点（数字）")?;
            if tiers.last().is_some_and(|(prev, _)| *prev >= threshold) {
                return Err(ExprError::at(codes::BAD_LITERAL, at, "分档起点应从小到大排列，且不能重复"));
            }
            self.expect(&Tok::Comma, "逗号")?;
            let value = self.expr()?;
            self.expect(&Tok::RBracket, "右方括号「]」")?;
            self.leave();
            tiers.push((threshold, value));
        }
        if tiers.is_empty() {
            return Err(self.unexpected("至少一个分档「, [起点, 值]」"));
        }
        Ok(ExprKind::Tiers(Box::new(x), tiers))
    }

    fn date_arg(&mut self) -> Result<NaiveDate, ExprError> {
        let at = self.start();
        let Tok::Str(text) = self.peek().clone() else {
            return Err(self.unexpected("日期文本，如 date(\"2021-12-31\")"));
        };
        self.advance();
        parse_date(&text)
            .ok_or_else(|| ExprError::at(codes::BAD_LITERAL, at, format!("「{text}」不是有效日期，应写作 YYYY-MM-DD")))
    }

    fn signed_number(&mut self, wanted: &str) -> Result<Decimal, ExprError> {
        let negative = self.peek() == &Tok::Minus;
        if negative {
            self.advance();
        }
        let Tok::Num(n) = *self.peek() else {
            return Err(self.unexpected(wanted));
        };
        self.advance();
        Ok(if negative { -n } else { n })
    }

    fn literal_list(&mut self) -> Result<Vec<Literal>, ExprError> {
        self.expect(&Tok::LBracket, "列表「[…]」")?;
        self.enter()?;
        let mut list = Vec::new();
        loop {
            if list.len() >= MAX_LIST_ITEMS {
                return Err(ExprError::at(
                    codes::BAD_LITERAL,
                    self.start(),
                    format!("列表过长（最多{MAX_LIST_ITEMS}项）"),
                ));
            }
            list.push(self.literal()?);
            if self.peek() != &Tok::Comma {
                break;
            }
            self.advance();
        }
        self.expect(&Tok::RBracket, "逗号或右方括号「]」")?;
        self.leave();
        Ok(list)
    }

    fn literal(&mut self) -> Result<Literal, ExprError> {
        let lit = match self.peek().clone() {
            Tok::Minus | Tok::Num(_) => return self.signed_number("常量").map(Literal::Number),
            Tok::Str(s) => Literal::Text(s),
            Tok::True => Literal::Bool(true),
            Tok::False => Literal::Bool(false),
            Tok::Ident(name) if name.eq_ignore_ascii_case("date") && self.peek_at(1) == &Tok::LParen => {
                self.advance();
                self.advance();
                let date = self.date_arg()?;
                self.expect(&Tok::RParen, "右括号「)」")?;
                return Ok(Literal::Date(date));
            }
            _ => return Err(self.unexpected("列表中的常量（数字、文本、true/false 或 date(\"…\")）")),
        };
        self.advance();
        Ok(lit)
    }
}

fn comparison(tok: &Tok) -> Option<BinOp> {
    Some(match tok {
        Tok::Eq => BinOp::Eq,
        Tok::Ne => BinOp::Ne,
        Tok::Lt => BinOp::Lt,
        Tok::Le => BinOp::Le,
        Tok::Gt => BinOp::Gt,
        Tok::Ge => BinOp::Ge,
        _ => return None,
    })
}

/// A strict `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}
