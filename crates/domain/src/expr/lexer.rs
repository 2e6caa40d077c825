//! Splitting source text into tokens.
//!
//! Full-width ASCII punctuation and letters (`（`, `，`, `＞`, …), `【】`, the
//! ideographic space and Chinese curly quotes are accepted as their ASCII
//! counterparts outside string literals, since people type formulas with a
//! Chinese input method switched on.

use rust_decimal::Decimal;

use super::ast::Span;
use super::error::{ExprError, codes};

/// Longest numeric literal, in characters.
const MAX_NUMBER_CHARS: usize = 40;
/// Longest string literal, in characters.
pub const MAX_STRING_CHARS: usize = 500;
/// Longest field name, in characters.
pub const MAX_IDENT_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(Decimal),
    Str(String),
    /// A bare identifier.
    Ident(String),
    /// A back-quoted field name: never a keyword or function.
    Quoted(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    In,
    True,
    False,
    Eof,
}

impl Tok {
    /// How the token is shown in an error message.
    pub fn describe(&self) -> String {
        match self {
            Self::Num(n) => format!("数字 {n}"),
            Self::Str(_) => "文本常量".to_owned(),
            Self::Ident(s) | Self::Quoted(s) => format!("「{s}」"),
            Self::Eof => "表达式结尾".to_owned(),
            other => format!("「{}」", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Self::LParen => "(",
            Self::RParen => ")",
            Self::LBracket => "[",
            Self::RBracket => "]",
            Self::Comma => ",",
            Self::Plus => "+",
            Self::Minus => "-",
            Self::Star => "*",
            Self::Slash => "/",
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::And => "and",
            Self::Or => "or",
            Self::Not => "not",
            Self::In => "in",
            Self::True => "true",
            Self::False => "false",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// The keyword a bare word stands for, if any. ASCII keywords ignore case;
/// 且/或/非 are keywords only when they stand alone.
fn keyword(word: &str) -> Option<Tok> {
    match word.to_ascii_lowercase().as_str() {
        "and" | "且" => Some(Tok::And),
        "or" | "或" => Some(Tok::Or),
        "not" | "非" => Some(Tok::Not),
        "in" => Some(Tok::In),
        "true" => Some(Tok::True),
        "false" => Some(Tok::False),
        _ => None,
    }
}

/// Whether `name` can be written bare (without back quotes) and read back as the same field name.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else { return false };
    is_ident_start(first) && chars.all(is_ident_continue) && keyword(name).is_none()
}

fn is_fullwidth(c: char) -> bool {
    ('\u{FF01}'..='\u{FF5E}').contains(&c)
}

fn is_ident_start(c: char) -> bool {
    (c.is_alphabetic() || c == '_') && !is_fullwidth(c) && !is_quote(c)
}

fn is_ident_continue(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !is_fullwidth(c) && !is_quote(c)
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’' | '`')
}

/// Maps full-width ASCII and Chinese brackets to ASCII; everything else is unchanged.
fn normalise(c: char) -> char {
    match c {
        '【' => '[',
        '】' => ']',
        '\u{3000}' => ' ',
        '×' => '*',
        '÷' => '/',
        c if is_fullwidth(c) => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

/// Splits `src` (already checked for length) into tokens, ending with `Eof`.
pub fn tokenize(src: &[char]) -> Result<Vec<Token>, ExprError> {
    let mut lexer = Lexer { src, pos: 0, out: Vec::new() };
    lexer.run()?;
    Ok(lexer.out)
}

struct Lexer<'a> {
    src: &'a [char],
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.src.get(self.pos + ahead).map(|&c| normalise(c))
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token { tok, span: Span { start, end: self.pos } });
    }

    fn run(&mut self) -> Result<(), ExprError> {
        while let Some(raw) = self.src.get(self.pos).copied() {
            let start = self.pos;
            let c = normalise(raw);
            if c.is_whitespace() {
                self.pos += 1;
            } else if c.is_ascii_digit() {
                let tok = self.number()?;
                self.push(tok, start);
            } else if matches!(raw, '"' | '\'' | '“' | '‘') {
                let tok = self.string(raw)?;
                self.push(tok, start);
            } else if raw == '`' {
                let tok = self.quoted()?;
                self.push(tok, start);
            } else if is_ident_start(c) {
                let tok = self.word()?;
                self.push(tok, start);
            } else {
                let tok = self.operator(c)?;
                self.push(tok, start);
            }
        }
        let end = self.pos;
        self.out.push(Token { tok: Tok::Eof, span: Span { start: end, end } });
        Ok(())
    }

    fn number(&mut self) -> Result<Tok, ExprError> {
        let start = self.pos;
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            text.push(c);
            self.pos += 1;
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            text.push('.');
            self.pos += 1;
            while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
                text.push(c);
                self.pos += 1;
            }
        }
        if text.chars().count() > MAX_NUMBER_CHARS {
            return Err(ExprError::at(codes::BAD_LITERAL, start, "数字过长"));
        }
        Decimal::from_str_exact(&text)
            .map(Tok::Num)
            .map_err(|_| ExprError::at(codes::BAD_LITERAL, start, "数字超出范围（最多28位有效数字）"))
    }

    fn string(&mut self, open: char) -> Result<Tok, ExprError> {
        let start = self.pos;
        let close = match open {
            '“' => '”',
            '‘' => '’',
            c => c,
        };
        self.pos += 1;
        let mut text = String::new();
        loop {
            let Some(c) = self.src.get(self.pos).copied() else {
                return Err(ExprError::at(codes::SYNTAX, start, "文本常量缺少结束引号"));
            };
            self.pos += 1;
            if c == close {
                break;
            }
            let c = if c == '\\' { self.escape()? } else { c };
            if text.chars().count() >= MAX_STRING_CHARS {
                return Err(ExprError::at(
                    codes::BAD_LITERAL,
                    start,
                    format!("文本常量过长（最多{MAX_STRING_CHARS}个字符）"),
                ));
            }
            text.push(c);
        }
        Ok(Tok::Str(text))
    }

    fn escape(&mut self) -> Result<char, ExprError> {
        let at = self.pos.saturating_sub(1);
        let c = self.src.get(self.pos).copied();
        self.pos += 1;
        match c {
            Some('n') => Ok('\n'),
            Some('r') => Ok('\r'),
            Some('t') => Ok('\t'),
            Some(c @ ('\\' | '"' | '\'' | '”' | '’')) => Ok(c),
            _ => Err(ExprError::at(codes::SYNTAX, at, "无效的转义，只能用 \\\\、\\\"、\\'、\\n、\\r、\\t")),
        }
    }

    fn quoted(&mut self) -> Result<Tok, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut name = String::new();
        loop {
            match self.src.get(self.pos).copied() {
                None => return Err(ExprError::at(codes::SYNTAX, start, "字段名缺少结束的反引号「`」")),
                Some('`') => break,
                Some(c) => name.push(c),
            }
            self.pos += 1;
        }
        self.pos += 1;
        check_ident(&name, start)?;
        Ok(Tok::Quoted(name))
    }

    fn word(&mut self) -> Result<Tok, ExprError> {
        let start = self.pos;
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|&c| is_ident_continue(c)) {
            word.push(c);
            self.pos += 1;
        }
        check_ident(&word, start)?;
        if let Some(kw) = keyword(&word) {
            return Ok(kw);
        }
        Ok(Tok::Ident(word))
    }

    fn operator(&mut self, c: char) -> Result<Tok, ExprError> {
        let next = self.peek(1);
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',' | '、', _) => (Tok::Comma, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('=', Some('=')) => (Tok::Eq, 2),
            ('=', _) => (Tok::Eq, 1),
            ('!', Some('=')) | ('<', Some('>')) => (Tok::Ne, 2),
            ('≠', _) => (Tok::Ne, 1),
            ('<', Some('=')) => (Tok::Le, 2),
            ('≤', _) => (Tok::Le, 1),
            ('<', _) => (Tok::Lt, 1),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('≥', _) => (Tok::Ge, 1),
            ('>', _) => (Tok::Gt, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            _ => {
                let shown = if c.is_control() { format!("U+{:04X}", u32::from(c)) } else { c.to_string() };
                return Err(ExprError::at(codes::SYNTAX, self.pos, format!("无法识别的符号「{shown}」")));
            }
        };
        self.pos += len;
        Ok(tok)
    }
}

/// A hint for a word that begins with 且/或/非 and so may be a keyword written without spaces.
pub fn keyword_hint(word: &str) -> String {
    match word.chars().next() {
        Some(first @ ('且' | '或' | '非')) => format!("；「{first}」作运算符时前后请加空格"),
        _ => String::new(),
    }
}

fn check_ident(name: &str, start: usize) -> Result<(), ExprError> {
    let count = name.chars().count();
    if count == 0 {
        return Err(ExprError::at(codes::SYNTAX, start, "字段名不能为空"));
    }
    if count > MAX_IDENT_CHARS {
        return Err(ExprError::at(codes::BAD_LITERAL, start, format!("字段名过长（最多{MAX_IDENT_CHARS}个字符）")));
    }
    Ok(())
}
