//! Code rules (编码规则) for ledger keys: fixed-length segments, each with a
//! character class and optionally a literal, a code list or a field it must
//! equal, then an optional check character.

use super::def::{CheckAlgorithm, CodeRuleDef, SegmentChars, SegmentDef};
use crate::validation::CreditCode;

/// Longest code a rule may describe.
pub const MAX_CODE_CHARS: usize = 64;

const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Province-level prefixes of GB/T 2260 administrative-division codes.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// A checked code rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRule {
    pub def: CodeRuleDef,
}

/// Looks up what a segment's cross-checks need: a code list's codes, and another field's value as text.
pub trait RuleContext {
    fn list_has(&self, list: &str, code: &str) -> bool;
    fn field_text(&self, field: &str) -> Option<String>;
    fn field_label(&self, field: &str) -> String;
}

impl CodeRule {
    /// Total length, the check character included.
    pub fn len(&self) -> usize {
        self.def.segments.iter().map(|s| usize::from(s.len)).sum::<usize>() + usize::from(self.def.check.is_some())
    }

    /// Whether the rule describes no characters at all (never true for a validated rule).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Normalises a code as people type it: trimmed, ASCII letters upper-cased.
    pub fn normalise(code: &str) -> String {
        code.trim().to_ascii_uppercase()
    }

    /// Checks a normalised code. The error is a Chinese reason naming the segment and its positions.
    pub fn check(&self, code: &str, ctx: &dyn RuleContext) -> Result<(), String> {
        let chars: Vec<char> = code.chars().take(MAX_CODE_CHARS + 1).collect();
        if chars.len() != self.len() {
            return Err(format!("{}应为{}位，这里是{}位", self.def.name, self.len(), code.chars().count()));
        }
        let mut at = 0;
        for seg in &self.def.segments {
            let len = usize::from(seg.len);
            let part: String = chars.get(at..at + len).unwrap_or_default().iter().collect();
            check_segment(seg, &part, at, ctx)?;
            at += len;
        }
        if let Some(algorithm) = self.def.check {
            self.check_char(algorithm, &chars, at)?;
        }
        Ok(())
    }

    fn check_char(&self, algorithm: CheckAlgorithm, chars: &[char], at: usize) -> Result<(), String> {
        let body: String = chars.get(..at).unwrap_or_default().iter().collect();
        let given = chars.get(at).copied();
        let expected = check_character(algorithm, &body);
        if expected.is_some() && expected == given {
            Ok(())
        } else {
            Err(format!("{}第{}位是校验位，校验不通过，请核对是否抄错", self.def.name, at + 1))
        }
    }

    /// Appends the check character to `body` (the segments), for generating codes.
    /// Returns `body` unchanged when the rule has no check, `None` when `body` cannot carry one.
    pub fn complete(&self, body: &str) -> Option<String> {
        match self.def.check {
            None => Some(body.to_owned()),
            Some(algorithm) => check_character(algorithm, body).map(|c| format!("{body}{c}")),
        }
    }
}

fn positions(at: usize, len: usize) -> String {
    if len == 1 { format!("第{}位", at + 1) } else { format!("第{}–{}位", at + 1, at + len) }
}

fn check_segment(seg: &SegmentDef, part: &str, at: usize, ctx: &dyn RuleContext) -> Result<(), String> {
    let place = format!("{}「{}」", positions(at, usize::from(seg.len)), seg.name);
    if !chars_ok(seg.chars, part) {
        return Err(format!("{place}应为{}，这里是「{part}」", chars_label(seg.chars, seg.len)));
    }
    if let Some(literal) = &seg.literal
        && literal != part
    {
        return Err(format!("{place}应为「{literal}」，这里是「{part}」"));
    }
    if let Some(list) = &seg.list
        && !ctx.list_has(list, part)
    {
        return Err(format!("{place}「{part}」不在代码表中"));
    }
    if seg.nonzero && part.chars().all(|c| c == '0') {
        return Err(format!("{place}不能全为0"));
    }
    if let Some(field) = &seg.equals_field {
        match ctx.field_text(field) {
            Some(value) if CodeRule::normalise(&value) == part => {}
            Some(value) => {
                return Err(format!("{place}「{part}」与字段「{}」的值「{value}」不一致", ctx.field_label(field)));
            }
            None => return Err(format!("{place}须与字段「{}」一致，但该字段未填写", ctx.field_label(field))),
        }
    }
    Ok(())
}

fn chars_ok(chars: SegmentChars, part: &str) -> bool {
    match chars {
        SegmentChars::Digits => part.bytes().all(|b| b.is_ascii_digit()),
        SegmentChars::Upper => part.bytes().all(|b| b.is_ascii_uppercase()),
        SegmentChars::Alnum => part.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
        SegmentChars::Division => {
            part.len() == 6
                && part.bytes().all(|b| b.is_ascii_digit())
                && PROVINCES.contains(&part.get(..2).unwrap_or(""))
        }
    }
}

fn chars_label(chars: SegmentChars, len: u8) -> String {
    match chars {
        SegmentChars::Digits => format!("{len}位数字"),
        SegmentChars::Upper => format!("{len}位大写字母"),
        SegmentChars::Alnum => format!("{len}位数字或大写字母"),
        SegmentChars::Division => "6位行政区划代码（前两位为有效的省级代码）".to_owned(),
    }
}

/// The check character for `body` under `algorithm`, or `None` when `body` has a character the algorithm does not take.
pub fn check_character(algorithm: CheckAlgorithm, body: &str) -> Option<char> {
    match algorithm {
        CheckAlgorithm::Iso7064Mod37_36 => mod37_36(body),
        CheckAlgorithm::Iso7064Mod11_2 => mod11_2(body),
        CheckAlgorithm::Gb32100 => {
            let full = CreditCode::with_check_char(body)?;
            full.as_str().chars().last()
        }
    }
}

/// ISO 7064 MOD 37,36 hybrid: `p = 36`; per character `s = (p + v) mod 36` (0 → 36), `p = 2s mod 37`;
/// the check character makes `(p + c) mod 36 = 1`.
fn mod37_36(body: &str) -> Option<char> {
    let mut p: u32 = 36;
    for c in body.chars() {
        let v = ALNUM.iter().position(|&a| char::from(a) == c)?;
        let mut s = (p + u32::try_from(v).ok()?) % 36;
        if s == 0 {
            s = 36;
        }
        p = (2 * s) % 37;
    }
    let check = (37 - p) % 36;
    ALNUM.get(usize::try_from(check).ok()?).map(|&b| char::from(b))
}

/// ISO 7064 MOD 11-2: weights 2^(n−i) mod 11 from the right; check `(12 − Σ mod 11) mod 11`, 10 written `X`.
fn mod11_2(body: &str) -> Option<char> {
    let mut sum: u32 = 0;
    for c in body.chars() {
        let d = c.to_digit(10)?;
        sum = (sum * 2 + d) % 11;
    }
    let check = (12 - (sum * 2) % 11) % 11;
    if check == 10 { Some('X') } else { char::from_digit(check, 10) }
}
