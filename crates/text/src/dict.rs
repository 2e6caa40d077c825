//! Segmentation with jieba and the city's dictionary.

use std::sync::LazyLock;

use jieba_rs::Jieba;

use crate::normalize::normalize;
use crate::tokenizer::{PieceKind, pieces};

/// The city's words in jieba's format, one `word frequency tag` per line: the demo city's towns, streets,
/// departments and their subunits, the keywords of its request categories, and the 12345 hotline's
/// vocabulary (see `data/README.md` for how it was made and how to extend it). Frequencies are at least
/// those of jieba's own dictionary, so adding a word never makes a common word rarer.
pub const DICTIONARY: &str = include_str!("../data/dict.txt");

/// jieba's default dictionary plus [`DICTIONARY`], built once on first use (about a quarter of a second,
/// 30 MB), then shared by every thread.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
    for entry in dictionary_entries() {
        jieba.add_word(entry.word, Some(entry.freq), Some(entry.tag));
    }
    jieba
});

/// One line of [`DICTIONARY`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub word: &'a str,
    pub freq: usize,
    pub tag: &'a str,
}

/// The well-formed lines of [`DICTIONARY`]; a test checks that there are no others.
pub(crate) fn dictionary_entries() -> impl Iterator<Item = Entry<'static>> {
    DICTIONARY.lines().filter_map(parse_entry)
}

fn parse_entry(line: &str) -> Option<Entry<'_>> {
    let mut fields = line.split_whitespace();
    let word = fields.next()?;
    let freq = fields.next()?.parse().ok().filter(|&f| f > 0)?;
    let tag = fields.next()?;
    fields.next().is_none().then_some(Entry { word, freq, tag })
}

/// Cuts `text` into words: the text is normalised (see [`normalize`](crate::normalize)), runs of Chinese
/// characters are cut by jieba (dictionary words, and the HMM for words it does not know such as names), and
/// each run of letters and digits is one word. Punctuation and spaces are dropped.
///
/// `segment("中山市小榄镇噪音扰民，WiFi信号差")` gives `["中山市", "小榄镇", "噪音扰民", "wifi", "信号", "差"]`.
/// Reads at most [`MAX_TEXT_BYTES`](crate::MAX_TEXT_BYTES) of `text`.
pub fn segment(text: &str) -> Vec<String> {
    let normalized = normalize(text);
    let mut words = Vec::new();
    for piece in pieces(&normalized) {
        let run = &normalized[piece.bytes];
        match piece.kind {
            PieceKind::Cjk => words.extend(JIEBA.cut(run, true).into_iter().map(|t| t.word.to_string())),
            PieceKind::Word => words.push(run.to_string()),
        }
    }
    words
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_dictionary_line_is_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (n, line) in DICTIONARY.lines().enumerate() {
            let entry = parse_entry(line).unwrap_or_else(|| panic!("line {}: {line:?}", n + 1));
            assert!(entry.word.chars().all(crate::script::is_cjk), "line {}: {line:?}", n + 1);
            assert_eq!(normalize(entry.word), entry.word, "line {}: not normalised", n + 1);
            assert!(seen.insert(entry.word), "line {}: {} twice", n + 1, entry.word);
        }
        assert!(seen.len() >= 500, "{} words", seen.len());
        for word in
            ["营业执照", "社保", "公积金", "排污口", "河涌", "噪音扰民", "拖欠工资", "占道经营", "小榄镇", "石岐"]
        {
            assert!(seen.contains(word), "{word} missing");
        }
    }

    #[test]
    fn every_dictionary_word_is_one_word_on_its_own() {
        for entry in dictionary_entries() {
            let cut: Vec<&str> = JIEBA.cut(entry.word, false).iter().map(|t| t.word).collect();
            assert_eq!(cut, [entry.word]);
        }
    }

    #[test]
    fn parse_entry_refuses_malformed_lines() {
        assert_eq!(parse_entry("河涌 800 n"), Some(Entry { word: "河涌", freq: 800, tag: "n" }));
        for bad in ["", "河涌", "河涌 800", "河涌 x n", "河涌 0 n", "河涌 800 n extra", "河涌 -1 n"] {
            assert_eq!(parse_entry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn segment_uses_the_city_dictionary() {
        assert_eq!(segment("中山市小榄镇噪音扰民，WiFi信号差"), ["中山市", "小榄镇", "噪音扰民", "wifi", "信号", "差"]);
        assert_eq!(segment("石岐街道河涌有排污口偷排"), ["石岐街道", "河涌", "有", "排污口", "偷排"]);
        assert_eq!(segment("公司拖欠工资三个月"), ["公司", "拖欠工资", "三个", "月"]);
        assert_eq!(segment("營業執照到期"), ["营业执照", "到期"]);
        assert!(segment(" ，。!").is_empty());
    }

    proptest! {
        #[test]
        fn segment_never_panics_and_loses_no_cjk(s in any::<String>()) {
            let words = segment(&s);
            let cjk_in: usize = normalize(&s).chars().filter(|&c| crate::script::is_cjk(c)).count();
            let cjk_out: usize = words.iter().flat_map(|w| w.chars()).filter(|&c| crate::script::is_cjk(c)).count();
            prop_assert_eq!(cjk_in, cjk_out);
        }
    }
}
