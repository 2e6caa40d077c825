//! Normalisation: one comparable form for text that arrives in many.

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use zhconv::{Variant, ZhConverter};

use crate::script::is_default_ignorable;
use crate::{MAX_TEXT_BYTES, capped};

/// The traditional → simplified converter (MediaWiki `zh-Hans` table), built once.
static TO_SIMPLIFIED: LazyLock<&'static ZhConverter> = LazyLock::new(|| zhconv::get_builtin_converter(Variant::ZhHans));

/// The simplified → traditional converter (MediaWiki `zh-Hant` table), built on first use; only
/// [`script_counts`] needs it.
static TO_TRADITIONAL: LazyLock<&'static ZhConverter> =
    LazyLock::new(|| zhconv::get_builtin_converter(Variant::ZhHant));

/// How many Han characters of a text are written in each script.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    /// Characters written in a traditional form: simplification changes them (`會`, `議`).
    pub traditional: usize,
    /// Characters written in a form only simplified Chinese has: conversion to traditional changes
    /// them (`会`, `议`). Characters both scripts share (`室`, `出`) count in neither.
    pub simplified: usize,
}

/// Counts the traditional and the simplified-only characters of `text` (at most [`MAX_TEXT_BYTES`]),
/// run by run of Han characters, each run converted once each way. A simplified text with a
/// traditional fragment inserted (an ad, a fiction excerpt) has many of both; a text written all in
/// one script has few of the other.
pub fn script_counts(text: &str) -> ScriptCounts {
    let text = capped(text, MAX_TEXT_BYTES);
    let mut counts = ScriptCounts::default();
    let mut run = String::new();
    let count_run = |run: &mut String, counts: &mut ScriptCounts| {
        if run.is_empty() {
            return;
        }
        counts.traditional += differing(run, &TO_SIMPLIFIED);
        counts.simplified += differing(run, &TO_TRADITIONAL);
        run.clear();
    };
    for c in text.chars() {
        if matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}') {
            run.push(c);
        } else {
            count_run(&mut run, &mut counts);
        }
    }
    count_run(&mut run, &mut counts);
    counts
}

/// How many characters of a Han run the converter changes: compared character by character when the
/// conversion keeps the run's length, else each character converted alone.
fn differing(run: &str, converter: &ZhConverter) -> usize {
    let converted = converter.convert(run);
    if converted.chars().count() == run.chars().count() {
        return run.chars().zip(converted.chars()).filter(|(a, b)| a != b).count();
    }
    let mut one = [0u8; 4];
    run.chars().filter(|c| converter.convert(c.encode_utf8(&mut one)).chars().ne(std::iter::once(*c))).count()
}

/// Makes text comparable, so that the same words written differently index, match and classify alike:
///
/// - traditional characters become simplified (`會議室` → `会议室`), by phrase where the table has one
///   (`乾淨` → `干净` but `乾隆` stays), with zhconv's MediaWiki `zh-Hans` table — script only, no regional
///   vocabulary (`軟體` → `软体`, not `软件`);
/// - full-width ASCII becomes half-width (`ＡＢＣ１２３` → `abc123`) and other compatibility forms fold as
///   in Unicode NFKC, character by character (`①` → `1`, `㎡` → `m2`, compatibility ideographs to their
///   unified form);
/// - Latin and other cased letters become lowercase;
/// - invisible characters (zero-width spaces and joiners, bidi controls, soft hyphens) are dropped;
/// - runs of whitespace and control characters become one space, and the ends are trimmed.
///
/// Punctuation stays (normalised to its NFKC form), so sentence boundaries survive for segmentation.
/// Reads at most [`MAX_TEXT_BYTES`] of `text`. Idempotent: `normalize(normalize(s)) == normalize(s)` holds
/// for text the conversion tables treat consistently (checked by a property test on mixed input).
pub fn normalize(text: &str) -> String {
    normalized(text).text
}

/// A byte range of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub from: usize,
    pub to: usize,
}

/// Normalised text with, for each of its characters, the bytes of the original text it came from, so that
/// tokens found in the normalised text can be highlighted in the original.
#[derive(Debug)]
pub(crate) struct Normalized {
    pub text: String,
    /// One span per character of `text`, in order.
    pub spans: Vec<Span>,
}

/// Normalises `text` (see [`normalize`]) and keeps where each character came from.
pub(crate) fn normalized(text: &str) -> Normalized {
    let text = capped(text, MAX_TEXT_BYTES);
    let folded = fold(text);
    if folded.text.is_ascii() {
        return folded;
    }
    to_simplified(&folded)
}

/// The character-by-character stage: width and compatibility folding, lowercase, invisible characters
/// dropped, whitespace collapsed.
fn fold(text: &str) -> Normalized {
    let mut out = Normalized { text: String::with_capacity(text.len()), spans: Vec::with_capacity(text.len()) };
    // The span of the first whitespace character of a run not yet written (a run at the start is dropped).
    let mut pending_space: Option<Span> = None;
    for (at, c) in text.char_indices() {
        let span = Span { from: at, to: at + c.len_utf8() };
        fold_char(c, |folded| {
            if folded.is_whitespace() || folded.is_control() {
                if !out.text.is_empty() && pending_space.is_none() {
                    pending_space = Some(span);
                }
            } else if !is_default_ignorable(folded) {
                if let Some(space) = pending_space.take() {
                    out.push(' ', space);
                }
                out.push(folded, span);
            }
        });
    }
    out
}

/// Calls `emit` with the folded form of `c` (one or more characters). Common characters take a fast path
/// that gives the same result as NFKC + lowercase.
fn fold_char(c: char, mut emit: impl FnMut(char)) {
    match c {
        _ if c.is_ascii() => emit(c.to_ascii_lowercase()),
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' => emit(c),
        // Full-width ASCII variants sit 0xFEE0 above their ASCII forms.
        '\u{FF01}'..='\u{FF5E}' => emit(char::from_u32(u32::from(c) - 0xFEE0).map_or(c, |a| a.to_ascii_lowercase())),
        _ => {
            for decomposed in std::iter::once(c).nfkc() {
                decomposed.to_lowercase().for_each(&mut emit);
            }
        }
    }
}

impl Normalized {
    fn push(&mut self, c: char, span: Span) {
        self.text.push(c);
        self.spans.push(span);
    }
}

/// Converts traditional characters to simplified, run by run of non-ASCII text (the converter's phrases
/// never contain ASCII), keeping each character's span. A run whose conversion keeps its length — all
/// but a few phrase rules — maps character to character; otherwise every character of the converted run
/// points at the whole original run.
fn to_simplified(folded: &Normalized) -> Normalized {
    let source = folded.text.as_str();
    let mut out =
        Normalized { text: String::with_capacity(source.len()), spans: Vec::with_capacity(folded.spans.len()) };
    let bytes = source.as_bytes();
    let (mut at, mut char_index) = (0, 0);
    while at < bytes.len() {
        let run_end =
            bytes[at..].iter().position(|&b| b.is_ascii() != bytes[at].is_ascii()).map_or(bytes.len(), |n| at + n);
        let run = &source[at..run_end];
        let run_chars = if bytes[at].is_ascii() { run.len() } else { run.chars().count() };
        let run_spans = &folded.spans[char_index..char_index + run_chars];
        if bytes[at].is_ascii() {
            out.text.push_str(run);
            out.spans.extend_from_slice(run_spans);
        } else {
            convert_run(run, run_spans, &mut out);
        }
        at = run_end;
        char_index += run_chars;
    }
    out
}

fn convert_run(run: &str, run_spans: &[Span], out: &mut Normalized) {
    let before = out.text.len();
    TO_SIMPLIFIED.convert_to(run, &mut out.text);
    let converted_chars = out.text[before..].chars().count();
    if converted_chars == run_spans.len() {
        out.spans.extend_from_slice(run_spans);
    } else if let (Some(first), Some(last)) = (run_spans.first(), run_spans.last()) {
        let whole = Span { from: first.from, to: last.to };
        out.spans.extend(std::iter::repeat_n(whole, converted_chars));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(normalize("會議室出租"), "会议室出租");
        assert_eq!(normalize("家教場地，1對1教學，時租場地"), "家教场地,1对1教学,时租场地");
        assert_eq!(normalize("營業執照變更"), "营业执照变更");
        assert_eq!(normalize("乾淨的環境"), "干净的环境");
        assert_eq!(normalize("乾隆"), "乾隆", "a phrase rule keeps 乾 where it is not 干");
        assert_eq!(normalize("軟體"), "软体", "script only, no regional vocabulary");
        assert_eq!(normalize("已经是简体"), "已经是简体");
    }

    #[test]
    fn scripts_are_counted_so_that_a_traditional_insert_shows() {
        let mixed = script_counts("我们公司门前的道路积水严重。會議室出租，時租場地，歡迎來電。");
        assert!(mixed.traditional >= 7 && mixed.simplified >= 4, "{mixed:?}");
        let simplified = script_counts("我们公司门前的道路积水严重，请尽快处理。");
        assert_eq!(simplified.traditional, 0);
        assert!(simplified.simplified >= 4);
        let traditional = script_counts("我們公司門前的道路積水嚴重，請儘快處理。");
        assert_eq!(traditional.simplified, 0, "{traditional:?}");
        assert_eq!(script_counts("abc 123"), ScriptCounts::default());
    }

    #[test]
    fn width_case_and_compatibility_forms_fold() {
        assert_eq!(normalize("ＡＢＣ　１３９１２３４５６７８"), "abc 13912345678");
        assert_eq!(normalize("WeChat：ZS20261129000123"), "wechat:zs20261129000123");
        assert_eq!(normalize("①号楼 ５０㎡"), "1号楼 50m2");
        // U+F9A8 is a CJK compatibility ideograph for 令.
        assert_eq!(normalize("\u{F9A8}"), "令");
    }

    #[test]
    fn whitespace_collapses_and_invisible_characters_go() {
        assert_eq!(normalize("  营业\t\n执照 \r\n 变更  "), "营业 执照 变更");
        assert_eq!(normalize("会\u{200B}议\u{FEFF}室\u{00AD}"), "会议室");
        assert_eq!(normalize("a\u{0000}\u{0007}b"), "a b");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{3000}\u{200B} "), "");
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let original = "  會議室 ＡＢ";
        let n = normalized(original);
        assert_eq!(n.text, "会议室 ab");
        assert_eq!(n.text.chars().count(), n.spans.len());
        let back: Vec<&str> = n.spans.iter().map(|s| &original[s.from..s.to]).collect();
        assert_eq!(back, ["會", "議", "室", " ", "Ａ", "Ｂ"]);
    }

    #[test]
    fn input_beyond_the_cap_is_ignored() {
        let long = "会".repeat(MAX_TEXT_BYTES / 3 + 10);
        assert_eq!(normalize(&long).len(), MAX_TEXT_BYTES / 3 * 3);
    }

    proptest! {
        #[test]
        fn spans_cover_every_char_and_lie_on_boundaries(s in "[ \\t\\n　会會議议室ＡＢａb１2①㎡\u{200B}\u{0301}é乾淨，。!]{0,40}") {
            let n = normalized(&s);
            prop_assert_eq!(n.text.chars().count(), n.spans.len());
            for span in &n.spans {
                prop_assert!(span.from < span.to && span.to <= s.len());
                prop_assert!(s.is_char_boundary(span.from) && s.is_char_boundary(span.to));
            }
            prop_assert!(n.spans.windows(2).all(|w| w[0].from <= w[1].from));
        }

        #[test]
        fn normalize_is_idempotent(s in "[ \\t\\n　会會議议室营業业執执照變变更ＡＢａb１2①㎡\u{200B}，。!]{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn normalize_never_panics(s in any::<String>()) {
            let n = normalized(&s);
            prop_assert_eq!(n.text.chars().count(), n.spans.len());
            prop_assert!(!n.text.starts_with(' ') && !n.text.ends_with(' '));
        }
    }
}
