//! Re-showing an edit form after a version conflict (409): the form holds the stored values at the
//! current version (the other person's save is what it shows), and beside each field whose typed
//! value differs from the stored one, what the person had typed (「您填写的：…」), with a message
//! that someone else saved meanwhile. Values compare the way their field means them: numbers as
//! decimals (`12.50` is `12.5`), dates as dates, lists and lines item by item, text trimmed.
//!
//! The forms draw the hints with the `typed` macro of `conflict.html`:
//! `{% import "conflict.html" as conflict %}` … `{% call conflict::typed(beside, "name") %}{% endcall %}`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// How a field's typed and stored values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text, trimmed.
    Text,
    /// A number: equal when the decimals are (`12.50` = `12.5`, `+3` = `3`, `1,200` = `1200`).
    /// Text that is no plain decimal (`1e1`, `12元`) compares as text.
    Decimal,
    /// A date: equal when the days are (`2026-09-01` = `2026-9-1` = `2026/09/01`).
    Date,
    /// Lines (a textarea of one item a line): each line trimmed, blank lines and line ends ignored.
    Lines,
    /// A list separated by commas, 、 or spaces (tags): equal when the items are, in order.
    List,
}

/// Whether `typed` means the same as `stored` for a field of `kind`.
pub(super) fn same(kind: Kind, stored: &str, typed: &str) -> bool {
    let (stored, typed) = (stored.trim(), typed.trim());
    if stored == typed {
        return true;
    }
    match kind {
        Kind::Text => false,
        Kind::Decimal => matches!((decimal(stored), decimal(typed)), (Some(a), Some(b)) if a == b),
        Kind::Date => matches!((date(stored), date(typed)), (Some(a), Some(b)) if a == b),
        Kind::Lines => lines(stored).eq(lines(typed)),
        Kind::List => items(stored).eq(items(typed)),
    }
}

/// A plain decimal: optional sign, digits (optionally grouped by `,` in threes), optional fraction.
fn decimal(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return None,
        None => (digits, ""),
    };
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    let int = int.replace(',', "");
    if int.is_empty() || !grouped_ok || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let plain = if frac.is_empty() { int } else { format!("{int}.{frac}") };
    let value = Decimal::from_str_exact(&plain).ok()?;
    Some(if text.starts_with('-') { -value } else { value })
}

fn date(text: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"].iter().find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', '，', '、', ' ', '\u{3000}']).filter(|t| !t.is_empty())
}

/// What a person had typed, by field, where it differs from the stored value: the hints beside the
/// fields of a form re-shown after a conflict.
#[derive(Debug, Default, Clone)]
pub(super) struct Beside {
    typed: BTreeMap<String, String>,
}

impl Beside {
    /// What was typed beside each `(field, kind, stored, typed)` where it differs.
    pub(super) fn of<'a>(fields: impl IntoIterator<Item = (&'a str, Kind, &'a str, &'a str)>) -> Self {
        let mut beside = Self::default();
        for (field, kind, stored, typed) in fields {
            beside.compare(field, kind, stored, typed);
        }
        beside
    }

    /// Notes `typed` beside `field` when it differs from `stored` (compared as `kind`); a blank
    /// typed value reads 「（空）」.
    pub(super) fn compare(&mut self, field: &str, kind: Kind, stored: &str, typed: &str) {
        self.compare_shown(field, kind, stored, typed, typed.trim());
    }

    /// As [`Self::compare`], the typed value read as `shown` (a choice's name for its code).
    pub(super) fn compare_shown(&mut self, field: &str, kind: Kind, stored: &str, typed: &str, shown: &str) {
        if !same(kind, stored, typed) {
            let shown = if typed.trim().is_empty() { "（空）" } else { shown };
            self.typed.insert(field.to_owned(), shown.to_owned());
        }
    }

    /// What was typed in `field`, if it differs from the stored value.
    pub(super) fn get(&self, field: impl AsRef<str>) -> Option<&str> {
        self.typed.get(field.as_ref()).map(String::as_str)
    }
}

/// The message of a version conflict on an edit form: `what` (「该条目」) was saved by someone else
/// meanwhile and is now at `current`.
pub(super) fn changed_meanwhile(what: &str, current: i64) -> String {
    format!(
        "保存前，{what}已被他人修改（现为第{current}版）。下方表单显示的是最新内容，\
         您填写的与之不同的值列在各字段旁；请核对后重新填写仍要修改的内容再保存。"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_as_numbers() {
        for (stored, typed) in
            [("12.5", "12.50"), ("12.5", " 12.5 "), ("3", "+3"), ("3", "3.0"), ("1200", "1,200"), ("-0.5", "-.50")]
        {
            let expected = stored != "-0.5"; // `.50` has no integer part: not a plain decimal
            assert_eq!(same(Kind::Decimal, stored, typed), expected, "{stored} vs {typed}");
        }
        assert!(same(Kind::Decimal, "-0.5", "-0.50"));
        assert!(same(Kind::Decimal, "0", "-0"));
        assert!(!same(Kind::Decimal, "12.5", "12.51"));
        assert!(!same(Kind::Decimal, "10", "1e1"), "an exponent is no plain decimal: shown as typed");
        assert!(!same(Kind::Decimal, "1200", "12,00"), "misgrouped");
        assert!(!same(Kind::Decimal, "12", "12."));
        assert!(!same(Kind::Decimal, "12", "12元"));
        assert!(!same(Kind::Decimal, "", "0"), "blank is no zero");
        assert!(same(Kind::Decimal, "", "  "));
        // More digits than f64 holds apart: a decimal keeps them.
        assert!(!same(Kind::Decimal, "12345678901234567.1", "12345678901234567.2"));
        assert!(same(Kind::Decimal, "0.1", "0.10000000000000000000"));
    }

    #[test]
    fn dates_compare_as_days() {
        assert!(same(Kind::Date, "2026-09-01", "2026-9-1"));
        assert!(same(Kind::Date, "2026-09-01", "2026/09/01"));
        assert!(same(Kind::Date, "2026-09-01", "2026年9月1日"));
        assert!(!same(Kind::Date, "2026-09-01", "2026-09-02"));
        assert!(!same(Kind::Date, "2026-09-01", "2026-13-45"));
        assert!(!same(Kind::Date, "", "2026-09-01"));
    }

    #[test]
    fn text_lines_and_lists() {
        assert!(same(Kind::Text, "工业大道", " 工业大道 "));
        assert!(!same(Kind::Text, "工业大道", "工业大道东"));
        assert!(!same(Kind::Text, "12.5", "12.50"), "text is not a number");
        assert!(same(Kind::Lines, "w01018 mg/L\nw21003 mg/L", " w01018 mg/L \r\n\r\nw21003 mg/L\r\n"));
        assert!(!same(Kind::Lines, "w01018 mg/L\nw21003 mg/L", "w21003 mg/L\nw01018 mg/L"));
        assert!(same(Kind::List, "重点，涉水", "重点,涉水"));
        assert!(same(Kind::List, "重点，涉水", "重点、 涉水"));
        assert!(!same(Kind::List, "重点，涉水", "涉水，重点"));
    }

    #[test]
    fn beside_keeps_only_what_differs() {
        let mut beside = Beside::default();
        beside.compare("amount", Kind::Decimal, "12.5", "12.50");
        beside.compare("name", Kind::Text, "甲", "乙");
        beside.compare("note", Kind::Text, "甲", " ");
        beside.compare_shown("size", Kind::Text, "above", "below", "规下");
        assert_eq!(beside.get("amount"), None);
        assert_eq!(beside.get("name"), Some("乙"));
        assert_eq!(beside.get("note"), Some("（空）"));
        assert_eq!(beside.get("size"), Some("规下"));
        assert!(changed_meanwhile("该条目", 3).contains("现为第3版"));
    }
}
