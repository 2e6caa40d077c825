//! The tantivy tokenizer and the term list for classifiers.

use std::ops::Range;

use tantivy_tokenizer_api::{Token, TokenStream, Tokenizer};

use crate::dict::JIEBA;
use crate::normalize::{Normalized, normalized};
use crate::script::{is_cjk, is_word_char};

/// Letters-and-digits words longer than this many bytes (hashes, base64, keyboard mashing) are not
/// emitted; they still take their position, so phrases do not join across them.
pub const MAX_WORD_BYTES: usize = 64;

/// Which side of the index a [`ChineseTokenizer`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerMode {
    /// Documents: jieba words of three or more characters, every character bigram of each CJK run (a
    /// one-character run gives that character), and each letters-and-digits word.
    Index,
    /// Queries: the same without the jieba words, so that a query matches by its bigrams alone and never
    /// depends on jieba cutting the query the way it cut the document.
    Query,
}

/// A tantivy tokenizer for Chinese text (implements `tantivy_tokenizer_api::Tokenizer`, the API of tantivy
/// 0.27; `cargo tree --workspace -i tantivy-tokenizer-api` must show one version).
///
/// The text is [normalised](crate::normalize) first, so traditional and simplified, full- and half-width,
/// upper- and lowercase match each other. Then:
///
/// - **Positions are ordinal units**, not bytes: each CJK character is one unit and each letters-and-digits
///   word is one unit, counted from 0; a token's position is the unit it starts at. In `营业执照变更` the
///   bigrams `营业 业执 执照 照变 变更` are at 0‥4 and the word `营业执照` at 0, so the query `营业执照变更`
///   (bigrams at 0‥4) is a phrase that matches exactly where the text contains it. Punctuation and spaces
///   take no unit, but no bigram spans them.
/// - **Offsets are byte offsets into the original text** (before normalisation), for highlighting.
///
/// Index with [`ChineseTokenizer::index`] and parse queries with [`ChineseTokenizer::query`] registered
/// under the same name in the `TokenizerManager` given to `QueryParser::new`:
///
/// ```
/// use mashangban_text::ChineseTokenizer;
/// use tantivy::query::QueryParser;
/// use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
/// use tantivy::tokenizer::TokenizerManager;
///
/// let mut schema = Schema::builder();
/// let indexing = TextFieldIndexing::default().set_tokenizer("zh").set_index_option(IndexRecordOption::WithFreqsAndPositions);
/// let body = schema.add_text_field("body", TextOptions::default().set_indexing_options(indexing));
/// let index = tantivy::Index::create_in_ram(schema.build());
/// index.tokenizers().register("zh", ChineseTokenizer::index());
/// let query_tokenizers = TokenizerManager::default();
/// query_tokenizers.register("zh", ChineseTokenizer::query());
/// let parser = QueryParser::new(index.schema(), vec![body], query_tokenizers);
/// assert!(parser.parse_query("營業執照變更 -注销").is_ok());
/// ```
///
/// A query of one CJK character matches that character only where it stands alone (between punctuation,
/// spaces or Latin words); one-character words are not indexed, to keep postings small.
#[derive(Debug, Clone, Copy)]
pub struct ChineseTokenizer {
    mode: TokenizerMode,
}

impl ChineseTokenizer {
    /// The tokenizer for documents.
    pub fn index() -> Self {
        Self { mode: TokenizerMode::Index }
    }

    /// The tokenizer for queries.
    pub fn query() -> Self {
        Self { mode: TokenizerMode::Query }
    }

    /// The tokens of `text`, in position order.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut stream = self.stream(text);
        let mut tokens = Vec::with_capacity(stream.planned.len());
        while stream.advance() {
            tokens.push(stream.current.clone());
        }
        tokens
    }

    fn stream(&self, text: &str) -> ChineseTokenStream {
        let normalized = normalized(text);
        let mut planned = Vec::new();
        for piece in pieces(&normalized.text) {
            match piece.kind {
                PieceKind::Cjk => cjk_tokens(&normalized, &piece, self.mode, &mut planned),
                PieceKind::Word if piece.bytes.len() <= MAX_WORD_BYTES => {
                    planned.push(plan(&normalized, &piece, 0, piece.chars, piece.bytes.clone()));
                }
                PieceKind::Word => {}
            }
        }
        ChineseTokenStream { text: normalized.text, planned, next: 0, current: Token::default() }
    }
}

impl Tokenizer for ChineseTokenizer {
    type TokenStream<'a> = ChineseTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        self.stream(text)
    }
}

/// A token worked out but not yet emitted: its text is a range of the normalised text.
#[derive(Debug)]
struct Planned {
    text: Range<usize>,
    position: usize,
    offset_from: usize,
    offset_to: usize,
}

/// The tokens of one text, worked out up front; emitting one copies its text into the one token buffer.
#[derive(Debug)]
pub struct ChineseTokenStream {
    /// The normalised text.
    text: String,
    planned: Vec<Planned>,
    next: usize,
    current: Token,
}

impl TokenStream for ChineseTokenStream {
    fn advance(&mut self) -> bool {
        let Some(planned) = self.planned.get(self.next) else {
            return false;
        };
        self.next += 1;
        let token = &mut self.current;
        token.text.clear();
        token.text.push_str(self.text.get(planned.text.clone()).unwrap_or_default());
        token.position = planned.position;
        token.offset_from = planned.offset_from;
        token.offset_to = planned.offset_to;
        token.position_length = 1;
        true
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

/// The terms of `text` as the index sees them — jieba words of three or more characters, character
/// bigrams, letters-and-digits words — in position order, repeats kept (term frequency counts). The
/// features for the dispatch classifier, duplicate detection and spam screening that come later.
///
/// `terms("拖欠工资")` gives `["拖欠", "拖欠工资", "欠工", "工资"]`.
pub fn terms(text: &str) -> Vec<String> {
    let stream = ChineseTokenizer::index().stream(text);
    stream.planned.iter().filter_map(|p| stream.text.get(p.text.clone())).map(str::to_string).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceKind {
    /// A run of CJK characters: one unit per character.
    Cjk,
    /// A run of letters and digits: one unit.
    Word,
}

/// A run of normalised text that yields tokens.
#[derive(Debug)]
pub(crate) struct Piece {
    pub kind: PieceKind,
    /// Bytes of the normalised text.
    pub bytes: Range<usize>,
    /// Index of its first character in the normalised text.
    pub first_char: usize,
    /// Its number of characters.
    pub chars: usize,
    /// The position (unit) of its first character.
    pub unit: usize,
}

/// Cuts normalised text into runs of CJK characters and runs of letters and digits; everything else
/// (punctuation, spaces, symbols) separates them.
pub(crate) fn pieces(text: &str) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut unit = 0;
    let mut previous_kind = None;
    for (char_index, (at, c)) in text.char_indices().enumerate() {
        let kind = if is_cjk(c) {
            Some(PieceKind::Cjk)
        } else if is_word_char(c) {
            Some(PieceKind::Word)
        } else {
            None
        };
        match (kind, pieces.last_mut()) {
            (Some(kind), Some(last)) if previous_kind == Some(kind) => {
                last.bytes.end = at + c.len_utf8();
                last.chars += 1;
                if kind == PieceKind::Cjk {
                    unit += 1;
                }
            }
            (Some(kind), _) => {
                pieces.push(Piece { kind, bytes: at..at + c.len_utf8(), first_char: char_index, chars: 1, unit });
                unit += 1;
            }
            (None, _) => {}
        }
        previous_kind = kind;
    }
    pieces
}

/// Bigrams (or the single character) of a CJK run, plus in index mode jieba's words of three or more
/// characters (shorter ones are bigrams already), sorted by position and deduplicated.
fn cjk_tokens(normalized: &Normalized, piece: &Piece, mode: TokenizerMode, out: &mut Vec<Planned>) {
    let run = &normalized.text[piece.bytes.clone()];
    let mut grams: Vec<(usize, usize)> =
        if piece.chars == 1 { vec![(0, 1)] } else { (0..piece.chars - 1).map(|i| (i, 2)).collect() };
    // Byte offset in `run` of each character, and of its end.
    let char_at: Vec<usize> = run.char_indices().map(|(at, _)| at).chain(std::iter::once(run.len())).collect();
    if mode == TokenizerMode::Index && piece.chars > 2 {
        for word in JIEBA.cut_for_search(run, true).iter().filter(|t| t.end - t.start >= 3) {
            grams.push((word.start, word.end - word.start));
            inner_words(run, &char_at, word.start, word.end, &mut grams);
        }
        grams.sort_unstable();
        grams.dedup();
    }
    for (start, len) in grams {
        let (Some(&from), Some(&to)) = (char_at.get(start), char_at.get(start + len)) else { continue };
        out.push(plan(normalized, piece, start, len, piece.bytes.start + from..piece.bytes.start + to));
    }
}

/// Dictionary words of four or more characters inside the word at characters `start..end` of `run`
/// (`营业执照` in `营业执照变更`), which jieba's search mode does not give (it gives two- and three-character
/// ones). Words longer than [`MAX_INNER_SCAN`] characters are not scanned, to bound the work.
fn inner_words(run: &str, char_at: &[usize], start: usize, end: usize, grams: &mut Vec<(usize, usize)>) {
    let len = end - start;
    if !(5..=MAX_INNER_SCAN).contains(&len) {
        return;
    }
    for from in start..end {
        for to in from + 4..=end.min(from + len - 1) {
            if let (Some(&a), Some(&b)) = (char_at.get(from), char_at.get(to))
                && JIEBA.has_word(&run[a..b])
            {
                grams.push((from, to - from));
            }
        }
    }
}

/// The longest word whose inner dictionary words are looked for.
const MAX_INNER_SCAN: usize = 12;

/// The token of `len` characters at character `start` of `piece`, whose text is `text` (bytes of the
/// normalised text).
fn plan(normalized: &Normalized, piece: &Piece, start: usize, len: usize, text: Range<usize>) -> Planned {
    let first = piece.first_char + start;
    let (from, to) = match (normalized.spans.get(first), normalized.spans.get(first + len - 1)) {
        (Some(a), Some(b)) => (a.from, b.to),
        _ => (0, 0),
    };
    let position = if piece.kind == PieceKind::Cjk { piece.unit + start } else { piece.unit };
    Planned { text, position, offset_from: from, offset_to: to.max(from) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text@position` of each token.
    fn shown(tokenizer: ChineseTokenizer, text: &str) -> Vec<String> {
        tokenizer.tokens(text).iter().map(|t| format!("{}@{}", t.text, t.position)).collect()
    }

    #[test]
    fn index_tokens_are_words_bigrams_and_latin_words_at_ordinal_positions() {
        assert_eq!(
            shown(ChineseTokenizer::index(), "营业执照变更"),
            ["营业@0", "营业执照@0", "营业执照变更@0", "业执@1", "执照@2", "照变@3", "变更@4"]
        );
        assert_eq!(shown(ChineseTokenizer::index(), "WiFi信号差，3楼"), ["wifi@0", "信号@1", "号差@2", "3@4", "楼@5"]);
        assert_eq!(shown(ChineseTokenizer::index(), "水"), ["水@0"]);
        assert!(ChineseTokenizer::index().tokens(" ，。!? ").is_empty());
    }

    #[test]
    fn query_tokens_are_bigrams_without_words() {
        assert_eq!(
            shown(ChineseTokenizer::query(), "營業執照變更"),
            ["营业@0", "业执@1", "执照@2", "照变@3", "变更@4"]
        );
        assert_eq!(shown(ChineseTokenizer::query(), "陈嘉欣"), ["陈嘉@0", "嘉欣@1"]);
        assert_eq!(shown(ChineseTokenizer::query(), "ＺＳ20261129000123"), ["zs20261129000123@0"]);
    }

    #[test]
    fn offsets_are_bytes_of_the_original_text() {
        let original = "會議室 ＷｉＦｉ";
        let tokens = ChineseTokenizer::index().tokens(original);
        let spans: Vec<(&str, &str)> =
            tokens.iter().map(|t| (t.text.as_str(), &original[t.offset_from..t.offset_to])).collect();
        assert_eq!(spans, [("会议", "會議"), ("会议室", "會議室"), ("议室", "議室"), ("wifi", "ＷｉＦｉ")]);
    }

    #[test]
    fn long_latin_words_are_dropped_but_keep_their_position() {
        let long = "a".repeat(MAX_WORD_BYTES + 1);
        let ok = "b".repeat(MAX_WORD_BYTES);
        assert_eq!(
            shown(ChineseTokenizer::query(), &format!("{long} {ok} 社保")),
            [format!("{ok}@1"), "社保@2".into()]
        );
    }

    #[test]
    fn terms_are_index_token_texts() {
        assert_eq!(terms("拖欠工资"), ["拖欠", "拖欠工资", "欠工", "工资"]);
        assert_eq!(terms("社保 社保"), ["社保", "社保"]);
        assert!(terms("").is_empty());
    }

    #[test]
    fn a_long_run_without_punctuation_is_linear() {
        let text = "中山市小榄镇工业区噪音扰民严重影响居民休息".repeat(15_000);
        let started = std::time::Instant::now();
        let tokens = ChineseTokenizer::index().tokens(&text);
        assert!(tokens.len() > text.chars().count());
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    }

    proptest! {
        #[test]
        fn tokens_are_ordered_and_offsets_valid(s in "[ ，会會議议室营業业執执照變变更社保陈嘉欣aB1２ＡZ\u{200B}]{0,40}") {
            for mode in [ChineseTokenizer::index(), ChineseTokenizer::query()] {
                let tokens = mode.tokens(&s);
                for pair in tokens.windows(2) {
                    prop_assert!(pair[0].position <= pair[1].position);
                    prop_assert!(pair[0].offset_from <= pair[1].offset_from);
                }
                for t in &tokens {
                    prop_assert!(t.offset_from < t.offset_to && t.offset_to <= s.len());
                    prop_assert!(s.is_char_boundary(t.offset_from) && s.is_char_boundary(t.offset_to));
                    prop_assert!(!t.text.is_empty());
                }
            }
        }

        #[test]
        fn query_bigrams_are_a_subset_of_index_tokens(s in "[会議室营业执照变更社保陈嘉欣，ab12 ]{0,30}") {
            let index: Vec<(String, usize)> = ChineseTokenizer::index().tokens(&s).into_iter().map(|t| (t.text, t.position)).collect();
            for t in ChineseTokenizer::query().tokens(&s) {
                prop_assert!(index.contains(&(t.text.clone(), t.position)), "{:?}", t);
            }
        }

        #[test]
        fn tokenizer_never_panics(s in any::<String>()) {
            let tokens = ChineseTokenizer::index().tokens(&s);
            prop_assert!(tokens.iter().all(|t| t.offset_to <= s.len()));
        }
    }
}
