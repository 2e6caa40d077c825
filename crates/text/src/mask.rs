//! Masking (脱敏) of personal data in text shown to the public.

/// Decimal places a public view keeps of a latitude or longitude: 0.001° is about 111 m north–south and
/// about 100 m east–west at the demo city's latitude (22.5° N).
pub const PUBLIC_COORDINATE_DECIMALS: u32 = 3;

/// The most groups one number may be written in (`+86 139 1234 5678` is four, a 19-digit card five).
const MAX_GROUPS: usize = 6;

/// Hides personal data in free text meant for the public (Open311, the public progress page, anything an
/// anonymous reader sees). One function, so every public view hides the same things.
///
/// **Masked**, keeping a recognisable shape:
/// - e-mail addresses: the local part becomes its first character and `***` (`a***@example.com`); the
///   domain stays. A local part of one character becomes `***`.
/// - mobile numbers (11 digits, `1[3-9]…`) in ASCII or full-width digits, written whole or grouped
///   3-4-4, 3-8, 7-4 or 4-3-4 with spaces or dashes, behind `+86`/`86`/`0086` or not, also when glued to
///   letters or Chinese (`wx13912345678`, `微信13912345678`, WeChat IDs): digits 4–7 become `*`
///   (`139****5678`, `139-****-5678`).
/// - landlines with an area code (`0760-88881234`, `0760 8888 1234`, `076088881234`, `020-1234567`), with
///   an extension or not: the area code and the last four digits stay (`0760-****1234`).
/// - resident ID numbers (居民身份证号): 18 characters only when the GB 11643 check character is right and
///   the region and birth date are plausible; 15-digit old numbers when region and date are: the first and
///   last four stay (`4420**********123X`).
/// - bank card numbers: 13–19 digits, whole or in groups of four, that pass the Luhn check and do not touch
///   a Latin letter: the first and last four stay (`6222***********1234`).
///
/// Every hidden digit becomes one `*`, so a number keeps its length and separators.
///
/// **Deliberately not masked**: tracking numbers (`ZS20261129000123`: the digits touch letters and are not
/// 11 long), dates and times, money amounts and other decimals (`1234567.89`), enterprise credit codes
/// (统一社会信用代码 such as `91350100M000100Y43`, also all-digit ones with a valid GB 32100 check
/// character, which are public registration data), landlines without an area code (indistinguishable from
/// dates and counts), the hotline's own numbers (`12345`), numbers written in Chinese characters, and
/// names (a free text's names cannot be told from other words reliably; the asker's name field is masked
/// where it is shown).
///
/// Reads all of `text` (a cap would show the rest unmasked) in one pass with a bounded look-ahead of at
/// most six digit groups per position, so the work is linear. Idempotent: masked text masks to itself.
pub fn mask(text: &str) -> String {
    mask_collecting(text).0
}

/// A piece of personal data that [`mask_collecting`] hid, for a search index that must find a request by
/// it without holding it in plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// As written, from its first digit (`86 139 1234 5678` of `+86 139 1234 5678`), full-width folded to
    /// ASCII; a number's letters (an ID number's `x`) in upper case.
    pub written: String,
    /// One spelling for every way of writing it: a mobile's 11 digits without a country code, the digits of
    /// a landline or a bank card, an ID number's digits with an upper-case `X`, an e-mail address in lower
    /// case.
    pub canonical: String,
}

/// [`mask`], and what it hid, in the order of the text.
pub fn mask_collecting(text: &str) -> (String, Vec<Hidden>) {
    let original: Vec<char> = text.chars().collect();
    let folded: Vec<char> = original.iter().map(|&c| fold(c)).collect();
    let mut edits = Vec::new();
    let in_email = find_emails(&folded, &mut edits);
    let groups = digit_groups(&folded, &in_email);
    find_numbers(&folded, &groups, &mut edits);
    apply(&original, edits)
}

/// Rounds a latitude or longitude to `decimals` places (at most 9) for public views; see
/// [`PUBLIC_COORDINATE_DECIMALS`]. A value that is not finite comes back unchanged.
pub fn round_coordinate(degrees: f64, decimals: u32) -> f64 {
    if !degrees.is_finite() {
        return degrees;
    }
    let factor = 10f64.powi(decimals.min(9) as i32);
    let rounded = (degrees * factor).round() / factor;
    if rounded.is_finite() { rounded } else { degrees.round() }
}

/// Full-width ASCII as ASCII and any whitespace as a space, for recognising; the output keeps the
/// original characters.
fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ if c.is_whitespace() => ' ',
        _ => c,
    }
}

/// A change to the text: the characters in `from..to` are replaced, to hide `hidden`.
#[derive(Debug)]
struct Edit {
    from: usize,
    to: usize,
    with: Replacement,
    hidden: Hidden,
}

#[derive(Debug)]
enum Replacement {
    /// Keep the first character, then `***`.
    LocalPart,
    /// Each digit becomes `*`, other characters stay.
    Digits,
}

fn apply(original: &[char], mut edits: Vec<Edit>) -> (String, Vec<Hidden>) {
    edits.sort_by_key(|e| e.from);
    let mut out = String::with_capacity(original.len() + 8);
    let mut hidden = Vec::new();
    let mut at = 0;
    for edit in edits {
        if edit.from < at {
            continue;
        }
        out.extend(&original[at..edit.from]);
        let part = &original[edit.from..edit.to];
        let masked_already = part.len() > 1 && part[1..].iter().all(|&c| c == '*');
        if !(matches!(edit.with, Replacement::LocalPart) && masked_already) {
            hidden.push(edit.hidden);
        }
        match edit.with {
            // Masked already (`a***`, `***`): as it is.
            Replacement::LocalPart if masked_already => out.extend(part),
            Replacement::LocalPart if part.len() > 1 => {
                out.push(part[0]);
                out.push_str("***");
            }
            Replacement::LocalPart => out.push_str("***"),
            Replacement::Digits => out.extend(part.iter().map(|&c| if fold(c).is_ascii_digit() { '*' } else { c })),
        }
        at = edit.to;
    }
    out.extend(&original[at..]);
    (out, hidden)
}

// ---------------------------------------------------------------------------
// E-mail addresses
// ---------------------------------------------------------------------------

/// A character of an address's local part; `*` too, so that a masked address (`a***@example.com`) is still
/// an address and its domain's digits are not taken for a number.
fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '*')
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

/// Each `@` with a local part before it and a domain with a dot and an alphabetic top-level label of two or
/// more letters after it; returns which characters belong to an address (its digits are not numbers). The
/// scans stop at the neighbouring `@`, so the work stays linear.
fn find_emails(folded: &[char], edits: &mut Vec<Edit>) -> Vec<bool> {
    let mut in_email = vec![false; folded.len()];
    let mut previous_at = 0;
    for at in (0..folded.len()).filter(|&i| folded[i] == '@') {
        let local_from = (previous_at..at).rev().take_while(|&i| is_local_char(folded[i])).last();
        previous_at = at + 1;
        let (Some(local_from), Some(end)) = (local_from, domain_end(folded, at + 1)) else { continue };
        let written: String = folded[local_from..end].iter().collect();
        let hidden = Hidden { canonical: written.to_lowercase(), written };
        edits.push(Edit { from: local_from, to: at, with: Replacement::LocalPart, hidden });
        in_email[local_from..end].iter_mut().for_each(|b| *b = true);
    }
    in_email
}

/// The end of a domain starting at `from`, if there is one.
fn domain_end(folded: &[char], from: usize) -> Option<usize> {
    let mut end = from;
    while end < folded.len() && is_domain_char(folded[end]) && folded[end] != '@' {
        end += 1;
    }
    while end > from && matches!(folded[end - 1], '.' | '-') {
        end -= 1;
    }
    let domain: String = folded[from..end].iter().collect();
    let (_, tld) = domain.rsplit_once('.')?;
    (tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()) && !domain.contains("..")).then_some(end)
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// A run of digits, possibly masked already. `from..to` are the characters of its digits (without
/// decorating stars); `digits` is their text in ASCII.
#[derive(Debug, Clone)]
struct Group {
    from: usize,
    to: usize,
    digits: String,
    /// Joined to the next group by one or two separators (see [`separated_by_joint`]).
    joined_to_next: bool,
    /// Part of a decimal number (a `.` and a digit on either side): never part of a match.
    decimal: bool,
    /// Masked already, or joined to a group that is: never part of a match. A group is masked when it holds
    /// stars between its digits, a run of three or more at an edge, or only stars (three or more). One or
    /// two stars at an edge are decoration (`**13912345678**`). Masking hides at least three digits in a
    /// row, and every group of a masked number is joined to one of these, so masked text masks to itself.
    blocked: bool,
}

/// The digit runs of the text outside e-mail addresses. A run may hold stars, so that a masked number
/// keeps the runs it had and masking is idempotent.
fn digit_groups(folded: &[char], in_email: &[bool]) -> Vec<Group> {
    let usable = |i: usize| !in_email.get(i).copied().unwrap_or(true);
    let digit = |i: usize| folded.get(i).is_some_and(char::is_ascii_digit) && usable(i);
    let digit_or_star = |i: usize| folded.get(i).is_some_and(|&c| c.is_ascii_digit() || c == '*') && usable(i);
    // Runs of digits and stars with a digit or three stars, as (start, end) including stars.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < folded.len() {
        let start = i;
        while digit_or_star(i) {
            i += 1;
        }
        if i - start >= 3 || (start..i).any(digit) {
            runs.push((start, i));
        }
        i = i.max(start + 1);
    }
    let mut masked = Vec::with_capacity(runs.len());
    let mut groups: Vec<Group> = Vec::with_capacity(runs.len());
    for &(start, end) in &runs {
        let from = (start..end).find(|&k| digit(k)).unwrap_or(start);
        let to = (start..end).rev().find(|&k| digit(k)).map_or(start, |k| k + 1);
        masked.push(from - start >= 3 || end - to >= 3 || (from..to).any(|k| !digit(k)) || from == to);
        let decimal = (from >= 2 && folded[from - 1] == '.' && digit(from - 2))
            || (folded.get(to) == Some(&'.') && digit(to + 1));
        groups.push(Group {
            from,
            to,
            digits: folded[from..to].iter().collect(),
            joined_to_next: false,
            decimal,
            blocked: false,
        });
    }
    for (k, pair) in runs.windows(2).enumerate() {
        groups[k].joined_to_next = separated_by_joint(&folded[pair[0].1..pair[1].0]);
    }
    for k in 0..groups.len() {
        let joined_before = k > 0 && groups[k - 1].joined_to_next && masked[k - 1];
        let joined_after = groups[k].joined_to_next && masked.get(k + 1).copied().unwrap_or(false);
        groups[k].blocked = masked[k] || joined_before || joined_after;
    }
    groups
}

/// Whether the characters between two digit runs join them into one number: a space, a dash or the
/// closing parenthesis of an area code (`(0760) 8888 1234`), one of them or two different ones.
fn separated_by_joint(between: &[char]) -> bool {
    let separator = |c: &char| matches!(c, ' ' | '-' | ')');
    match between {
        [a] => separator(a),
        [a, b] => separator(a) && separator(b) && a != b,
        _ => false,
    }
}

/// Recognises one kind of number at the start of a chain of joined groups: how many groups it takes and
/// which digits to hide.
type Matcher = fn(&[char], &[Group]) -> Option<(usize, Hide)>;

/// The kinds of number, for their canonical spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ResidentId,
    Mobile,
    Other,
}

/// The matchers, strongest first: an ID number with a check character, then a mobile, a landline, an
/// old ID number, a bank card.
const MATCHERS: [(Matcher, Kind); 5] = [
    (resident_id_18, Kind::ResidentId),
    (mobile, Kind::Mobile),
    (landline, Kind::Other),
    (resident_id_15, Kind::Other),
    (bank_card, Kind::Other),
];

/// What a match hides, by digit index within the matched digits.
#[derive(Debug, Clone, Copy)]
struct Hide {
    /// First hidden digit.
    from: usize,
    /// One past the last hidden digit.
    to: usize,
}

/// At each group, the best match among the chains of up to [`MAX_GROUPS`] groups starting there; a match
/// consumes its groups.
fn find_numbers(folded: &[char], groups: &[Group], edits: &mut Vec<Edit>) {
    let mut i = 0;
    while i < groups.len() {
        match best_match(folded, &groups[i..]) {
            Some((used, hide, kind)) => {
                edits.push(digits_edit(folded, &groups[i..i + used], hide, kind));
                i += used;
            }
            None => i += 1,
        }
    }
}

/// The number of groups, the digits to hide and the kind of the strongest match (see [`MATCHERS`]) at the
/// start of `groups`.
fn best_match(folded: &[char], groups: &[Group]) -> Option<(usize, Hide, Kind)> {
    let mut n = 0;
    while n < groups.len().min(MAX_GROUPS) && !groups[n].decimal && !groups[n].blocked {
        n += 1;
        if !groups[n - 1].joined_to_next {
            break;
        }
    }
    let chain = &groups[..n];
    if chain.is_empty() {
        return None;
    }
    MATCHERS.iter().find_map(|(m, kind)| m(folded, chain).map(|(used, hide)| (used, hide, *kind)))
}

fn digits_edit(folded: &[char], groups: &[Group], hide: Hide, kind: Kind) -> Edit {
    // `hide` counts digits; find the characters they are at.
    let mut seen = 0;
    let (mut from, mut to) = (usize::MAX, 0);
    for g in groups {
        for (k, at) in (g.from..g.to).enumerate() {
            let index = seen + k;
            if index == hide.from {
                from = at;
            }
            if index + 1 == hide.to {
                to = at + 1;
            }
        }
        seen += g.to - g.from;
    }
    Edit { from: from.min(to), to, with: Replacement::Digits, hidden: hidden_number(folded, groups, kind) }
}

/// A matched number as written and in its canonical spelling (see [`Hidden`]).
fn hidden_number(folded: &[char], groups: &[Group], kind: Kind) -> Hidden {
    let n = groups.len();
    let mut digits = joined(groups, n);
    let mut end = groups[n - 1].to;
    match kind {
        Kind::Mobile => digits = digits.split_off(digits.len() - 11),
        Kind::ResidentId if digits.len() == 17 => {
            digits.push('X');
            end += 1;
        }
        Kind::ResidentId | Kind::Other => {}
    }
    let written = folded[groups[0].from..end].iter().collect::<String>().to_uppercase();
    Hidden { written, canonical: digits }
}

/// The digits of the first `n` groups.
fn joined(groups: &[Group], n: usize) -> String {
    groups[..n].iter().map(|g| g.digits.as_str()).collect()
}

fn lengths(groups: &[Group]) -> Vec<usize> {
    groups.iter().map(|g| g.digits.len()).collect()
}

fn touches_letter(folded: &[char], groups: &[Group], n: usize) -> bool {
    let before = groups[0].from.checked_sub(1).and_then(|i| folded.get(i));
    let after = folded.get(groups[n - 1].to);
    before.is_some_and(char::is_ascii_alphabetic) || after.is_some_and(char::is_ascii_alphabetic)
}

/// 17 digits and a check character (a digit, or `X` right after the digits), whole or grouped 6-8-4 or
/// 6-4-4-4, with a valid region, birth date and GB 11643 check character. Letters may touch it: the check
/// character is strong evidence.
fn resident_id_18(folded: &[char], groups: &[Group]) -> Option<(usize, Hide)> {
    for n in 1..=groups.len().min(4) {
        let digits = joined(groups, n);
        let shape = lengths(&groups[..n]);
        let x_after = folded.get(groups[n - 1].to).is_some_and(|c| c.eq_ignore_ascii_case(&'x'));
        let (body, check) = match digits.len() {
            18 => (&digits[..17], char::from(digits.as_bytes()[17])),
            17 if x_after => (digits.as_str(), 'X'),
            _ => continue,
        };
        let grouped_ok = matches!(shape.as_slice(), [_] | [6, 8, _] | [6, 4, 4, _]);
        if grouped_ok && plausible_id(&body[..2], &body[6..14]) && id_check_char(body) == Some(check) {
            return Some((n, Hide { from: 4, to: 14 }));
        }
    }
    None
}

/// 15 digits (the first-generation number: region, `YYMMDD` of a 20th-century birth, sequence), whole,
/// with a valid region and date, not touching a letter.
fn resident_id_15(folded: &[char], groups: &[Group]) -> Option<(usize, Hide)> {
    let digits = &groups.first()?.digits;
    (digits.len() == 15
        && !touches_letter(folded, groups, 1)
        && plausible_id(&digits[..2], &format!("19{}", &digits[6..12])))
    .then_some((1, Hide { from: 4, to: 11 }))
}

/// Whether `province` is a provincial region code and `date` a valid `YYYYMMDD` date of 1900–2099.
fn plausible_id(province: &str, date: &str) -> bool {
    const PROVINCES: [u8; 35] = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62,
        63, 64, 65, 71, 81, 82, 83,
    ];
    let number = |s: &str, range: std::ops::Range<usize>| s.get(range).and_then(|s| s.parse::<u32>().ok());
    let (Some(province), Some(year), Some(month), Some(day)) =
        (number(province, 0..2), number(date, 0..4), number(date, 4..6), number(date, 6..8))
    else {
        return false;
    };
    let province_ok = u8::try_from(province).is_ok_and(|p| PROVINCES.contains(&p));
    province_ok && (1900..=2099).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in(year, month)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The GB 11643 (ISO 7064 MOD 11-2) check character of 17 digits.
fn id_check_char(body: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    if body.len() != 17 {
        return None;
    }
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    CHECK.get((sum % 11) as usize).copied()
}

fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// A mobile: 11 digits grouped 11, 3-4-4, 3-8, 7-4 or 4-3-4, optionally behind a country code `86` or
/// `0086` (its own group or glued on). May touch letters (`wx13912345678`).
fn mobile(_folded: &[char], groups: &[Group]) -> Option<(usize, Hide)> {
    const SHAPES: [&[usize]; 5] = [&[11], &[3, 4, 4], &[3, 8], &[7, 4], &[4, 3, 4]];
    let first = &groups.first()?.digits;
    // Country code as its own group.
    let skip = usize::from(matches!(first.as_str(), "86" | "0086") && groups.len() > 1);
    for shape in SHAPES {
        let n = skip + shape.len();
        if groups.len() < n || lengths(&groups[skip..n]) != shape {
            continue;
        }
        let prefix_digits = if skip == 1 { first.len() } else { 0 };
        if is_mobile(&joined(groups, n)[prefix_digits..]) {
            return Some((n, Hide { from: prefix_digits + 3, to: prefix_digits + 7 }));
        }
    }
    // Country code glued on: 8613912345678, 008613912345678.
    for prefix in ["86", "0086"] {
        if first.len() == 11 + prefix.len() && first.starts_with(prefix) && is_mobile(&first[prefix.len()..]) {
            return Some((1, Hide { from: prefix.len() + 3, to: prefix.len() + 7 }));
        }
    }
    None
}

/// An area code (`0` and 2–3 digits: 3 digits for `010` and `02x`, 4 for the rest) and a 7–8 digit local
/// number, whole, grouped 3-4 or 4-4, or glued to the area code; an extension group after it stays visible.
fn landline(_folded: &[char], groups: &[Group]) -> Option<(usize, Hide)> {
    let first = &groups.first()?.digits;
    let area_len = if matches!(first.as_bytes().get(1), Some(b'1' | b'2')) { 3 } else { 4 };
    let is_area = |s: &str| s.len() == area_len && s.starts_with('0') && !s.starts_with("00");
    if is_area(first) {
        let (n, local) = match lengths(&groups[1..groups.len().min(3)]).as_slice() {
            [local @ 7..=8, ..] => (2, *local),
            [head @ 3..=4, 4] => (3, head + 4),
            _ => return None,
        };
        return Some((n, Hide { from: area_len, to: area_len + local - 4 }));
    } else if is_area(first.get(..area_len)?) && (7..=8).contains(&(first.len() - area_len)) {
        return Some((1, Hide { from: area_len, to: first.len() - 4 }));
    }
    None
}

/// 13–19 digits, whole or in groups of four (the last 1–4), passing the Luhn check, not touching a letter,
/// and not a valid all-digit credit code.
fn bank_card(folded: &[char], groups: &[Group]) -> Option<(usize, Hide)> {
    for n in (1..=groups.len().min(5)).rev() {
        let shape = lengths(&groups[..n]);
        let grouped =
            n == 1 || shape.split_last().is_some_and(|(last, rest)| rest.iter().all(|&l| l == 4) && *last <= 4);
        let digits = joined(groups, n);
        if grouped
            && (13..=19).contains(&digits.len())
            && luhn_valid(&digits)
            && !is_credit_code(&digits)
            && !touches_letter(folded, groups, n)
        {
            return Some((n, Hide { from: 4, to: digits.len() - 4 }));
        }
    }
    None
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An 18-digit unified social credit code (统一社会信用代码) with a valid GB 32100 check character.
fn is_credit_code(digits: &str) -> bool {
    const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    if digits.len() != 18 {
        return false;
    }
    let values: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    values.get(17) == Some(&check)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid 18-character ID with the given first 17 digits.
    fn with_check(body: &str) -> String {
        format!("{body}{}", id_check_char(body).unwrap())
    }

    #[test]
    fn mobiles_in_any_width_and_grouping() {
        for (input, masked) in [
            ("13912345678", "139****5678"),
            ("电话13912345678请回电", "电话139****5678请回电"),
            ("１３９１２３４５６７８", "１３９****５６７８"),
            ("13９1234５678", "13９****５678"),
            ("139-1234-5678", "139-****-5678"),
            ("139 1234 5678", "139 ****-5678".replace('-', " ").as_str()),
            ("１３９－１２３４－５６７８", "１３９－****－５６７８"),
            ("139-12345678", "139-****5678"),
            ("1391234 5678", "139**** 5678"),
            ("+86 139 1234 5678", "+86 139 **** 5678"),
            ("+86-13912345678", "+86-139****5678"),
            ("8613912345678", "86139****5678"),
            ("008613912345678", "0086139****5678"),
            ("wx13912345678", "wx139****5678"),
            ("微信13912345678", "微信139****5678"),
            ("WeChat:wxid_13912345678,", "WeChat:wxid_139****5678,"),
            ("QQ13912345678abc", "QQ139****5678abc"),
            ("2026-03-15 13912345678", "2026-03-15 139****5678"),
        ] {
            assert_eq!(mask(input), masked, "{input}");
        }
    }

    #[test]
    fn what_is_hidden_is_collected_as_written_and_in_one_spelling() {
        let id = "44200019900104123X";
        let text = format!(
            "电话+86 139 1234 5678，座机（０７６０）８８８８１２３４，身份证{}x，邮箱 Zhang.San@Example.com，\
             卡号6222021234567890128，单号ZS20261129000123",
            &id[..17]
        );
        let (masked, hidden) = mask_collecting(&text);
        assert_eq!(masked, mask(&text));
        let pairs: Vec<(&str, &str)> = hidden.iter().map(|h| (h.written.as_str(), h.canonical.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("86 139 1234 5678", "13912345678"),
                ("0760)88881234", "076088881234"),
                ("44200019900104123X", id),
                ("Zhang.San@Example.com", "zhang.san@example.com"),
                ("6222021234567890128", "6222021234567890128"),
            ]
        );
        assert_eq!(mask_collecting(&masked).1, [], "masked text hides nothing more");
    }

    #[test]
    fn landlines_with_an_area_code() {
        for (input, masked) in [
            ("0760-88881234", "0760-****1234"),
            ("座机0760 8888 1234", "座机0760 ****-1234".replace('-', " ").as_str()),
            ("076088881234", "0760****1234"),
            ("020-1234567", "020-***4567"),
            ("(0760)88881234", "(0760)****1234"),
            ("（０７６０）８８８８１２３４", "（０７６０）****１２３４"),
            ("0760-88881234-801", "0760-****1234-801"),
            ("0760-88881234转801", "0760-****1234转801"),
        ] {
            assert_eq!(mask(input), masked, "{input}");
        }
    }

    #[test]
    fn resident_ids_only_with_a_valid_check_character() {
        let id = "44200019900104123X";
        assert_eq!(id_check_char(&id[..17]), Some('X'));
        assert_eq!(mask(&format!("身份证{id}。")), "身份证4420**********123X。");
        assert_eq!(mask("身份证44200019900104123x"), "身份证4420**********123x");
        assert_eq!(mask("４４２０００１９９００１０４１２３Ｘ"), "４４２０**********１２３Ｘ");
        let digit_id = with_check("44062019851231002");
        assert_eq!(mask(&digit_id), format!("4406**********{}", &digit_id[14..]));
        assert_eq!(mask(&format!("id{digit_id}")), format!("id4406**********{}", &digit_id[14..]));
        assert_eq!(mask("440620 19851231 002X"), "440620 19851231 002X", "wrong check character: not an ID");
        let grouped = with_check("44062019851231002");
        let spaced = format!("{} {} {}", &grouped[..6], &grouped[6..14], &grouped[14..]);
        assert_eq!(mask(&spaced), format!("4406** ******** {}", &grouped[14..]));
        // Wrong check character, impossible dates, unknown region: left alone (unless a bank card).
        for not_an_id in ["440620199001011234", "44062019901301123X", "99062019900101123X"] {
            assert!(mask(not_an_id).starts_with(&not_an_id[..6]), "{not_an_id}");
            assert_ne!(mask(not_an_id), format!("4406**********{}", &not_an_id[14..]));
        }
        // 15-digit first-generation number: region 440620, born 1985-12-31.
        assert_eq!(mask("旧身份证440620851231002"), "旧身份证4406*******1002");
        assert_eq!(mask("440620851341002"), "440620851341002", "month 13");
    }

    #[test]
    fn bank_cards_passing_luhn() {
        assert!(luhn_valid("6222021234567890128"));
        assert_eq!(mask("卡号6222021234567890128"), "卡号6222***********0128");
        assert_eq!(mask("6217 0011 1234 5677"), "6217 **** **** 5677");
        assert_eq!(mask("9558801234567890128"), "9558***********0128");
        assert_eq!(mask("6222021234567890127"), "6222021234567890127", "fails Luhn");
        assert_eq!(mask("AB6222021234567890128"), "AB6222021234567890128", "touches letters");
    }

    #[test]
    fn email_addresses() {
        for (input, masked) in [
            ("邮箱abc.def@example.com，谢谢", "邮箱a***@example.com，谢谢"),
            ("x@example.com", "***@example.com"),
            ("ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ", "ａ***＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            ("13912345678@qq.com", "1***@qq.com"),
            ("mail: Zhang.San+12345@mail.zs.gov.cn.", "mail: Z***@mail.zs.gov.cn."),
        ] {
            assert_eq!(mask(input), masked, "{input}");
        }
        for not_an_address in ["user@localhost", "@example.com", "a@b.c", "价格@100元", "a@123.45"] {
            assert_eq!(mask(not_an_address), not_an_address);
        }
    }

    #[test]
    fn leaves_public_and_harmless_numbers_alone() {
        for text in [
            "快递单号ZS20261129000123，工单ZS2026112900012345。",
            "2026-03-15 14:30，2026年3月15日，20260315，2026/03/15。",
            "投资1200万元，合计￥1,234,567.89元，金额12345678901234.56元，占地3.5公顷。",
            "信用代码91350100M000100Y43、91110108551385082Q、914420001234500223。",
            "拨打12345热线或110，门牌号12号，邮编528400，房号1302。",
            "坐标22.517123,113.392456",
            "版本v1.2.3，IP 192.168.1.1",
            "",
        ] {
            assert_eq!(mask(text), text);
        }
        assert!(luhn_valid("914420001234500223"), "the credit code above would pass as a card");
        assert!(is_credit_code("914420001234500223"));
    }

    #[test]
    fn masked_text_stays_as_it_is() {
        assert_eq!(mask("**13912345678**"), "**139****5678**", "stars as decoration");
        let text = "陈先生13912345678、0760-88881234，邮箱chen@example.com，卡号6217 0011 1234 5677，\
                    身份证44200019900104123X。";
        let once = mask(text);
        let expected = "陈先生139****5678、0760-****1234，邮箱c***@example.com，卡号6217 **** **** 5677，\
                        身份证4420**********123X。";
        assert_eq!(once, expected);
        assert_eq!(mask(&once), once);
    }

    #[test]
    fn rounds_coordinates_for_public_views() {
        assert_eq!(round_coordinate(22.517_123, PUBLIC_COORDINATE_DECIMALS), 22.517);
        assert_eq!(round_coordinate(113.392_556, 3), 113.393);
        assert_eq!(round_coordinate(-33.868_88, 2), -33.87);
        assert_eq!(round_coordinate(22.5, 40), 22.5);
        assert!(round_coordinate(f64::NAN, 3).is_nan());
        assert_eq!(round_coordinate(f64::INFINITY, 3), f64::INFINITY);
        assert_eq!(round_coordinate(1e300, 3), 1e300);
    }

    #[test]
    fn huge_input_stays_linear() {
        let chunk = "电话13912345678，邮箱a@b.com，金额1234.5元，号码1 2 3 4 5 6 7 8 9 0。";
        let text = chunk.repeat(20_000);
        let started = std::time::Instant::now();
        let masked = mask(&text);
        assert_eq!(masked.matches("139****5678").count(), 20_000);
        // Generous: the point is that this is not quadratic (which would take minutes).
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        let ats = "@".repeat(200_000) + "a@example.com";
        assert!(mask(&ats).ends_with("***@example.com"));
    }

    fn digit_count(s: &str) -> usize {
        s.chars().filter(|&c| fold(c).is_ascii_digit()).count()
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "1[3-9][0-9]{9}",
            "[１-９][０-９]{10}",
            "0[1-9][0-9]{1,2}[- ]?[0-9]{7,8}",
            "(\\+86 ?)?1[3-9][0-9][- ]?[0-9]{4}[- ][0-9]{4}",
            "[0-9]{13,19}",
            "[0-9]{4}( [0-9]{4}){3}",
            "[0-9]{17}[0-9Xx]",
            "[a-zA-Z0-9._+-]{1,8}@[a-z0-9-]{1,8}\\.[a-z]{2,4}",
            "[0-9]{1,6}",
            "[0-9０-９*() .@xX\\-]{1,12}",
            "[中文电话号码微信元，。：a-zA-Z \\-+*.@Xx()（）　]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn mask_is_idempotent_and_never_adds_digits(parts in prop::collection::vec(piece(), 0..10)) {
            let input = parts.concat();
            let once = mask(&input);
            prop_assert!(digit_count(&once) <= digit_count(&input));
            prop_assert_eq!(mask(&once), once.clone());
        }

        #[test]
        fn mask_hides_every_planted_mobile(prefix in "[a-z微信电话，。 ]{0,4}", mobile in "1[3-9][0-9]{9}", suffix in "[a-z，。 ]{0,4}") {
            let masked = mask(&format!("{prefix}{mobile}{suffix}"));
            prop_assert!(!masked.contains(&mobile), "{}", masked);
            let shape = format!("{}****{}", &mobile[..3], &mobile[7..]);
            prop_assert!(masked.contains(&shape), "{}", masked);
        }

        #[test]
        fn mask_never_panics(s in any::<String>()) {
            let once = mask(&s);
            prop_assert!(digit_count(&once) <= digit_count(&s));
            prop_assert_eq!(mask(&once), once.clone());
        }
    }
}
