//! Chinese text for mashangban: the one place where search, dispatch suggestions, duplicate detection, spam
//! screening and public masking get their text handling, so that they all agree on what a word is.
//!
//! - [`normalize`] makes text comparable: traditional → simplified characters, full-width → half-width,
//!   compatibility forms folded, whitespace collapsed, lowercase.
//! - [`segment`] cuts normalised text into words with jieba and the city's dictionary (`data/dict.txt`).
//! - [`ChineseTokenizer`] is a tantivy tokenizer (jieba words + character bigrams + Latin/digit words) with
//!   ordinal positions and byte offsets into the original text; [`terms`] gives the same terms as strings.
//! - [`mask`] hides personal data in text shown to the public; [`round_coordinate`] coarsens a location.
//!
//! Pure: no I/O, nothing downloaded; the dictionaries are compiled in and built once, on first use.
//!
//! # Bounds
//!
//! [`normalize`], [`segment`], [`terms`] and the tokenizer read at most [`MAX_TEXT_BYTES`] of their input
//! (cut at a character boundary) and ignore the rest; every step after that is linear in the text.
//! [`mask`] reads all of its input, because text beyond a cap would be shown unmasked; it is a single pass
//! with a bounded look-ahead per candidate, so it is linear too.

mod dict;
mod mask;
mod normalize;
mod script;
mod tokenizer;

pub use dict::{DICTIONARY, segment};
pub use mask::{Hidden, PUBLIC_COORDINATE_DECIMALS, mask, mask_collecting, round_coordinate};
pub use normalize::{ScriptCounts, normalize, script_counts};
pub use tokenizer::{ChineseTokenStream, ChineseTokenizer, TokenizerMode, terms};

/// The most bytes of input that normalisation, segmentation and tokenisation read (1 MiB, about 350,000
/// Chinese characters); the rest is ignored. A request, a reply or a knowledge article is far shorter.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn capped(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_cuts_at_a_char_boundary() {
        assert_eq!(capped("营业执照", 12), "营业执照");
        assert_eq!(capped("营业执照", 7), "营业");
        assert_eq!(capped("营业执照", 2), "");
        assert_eq!(capped("abc", 2), "ab");
    }
}
