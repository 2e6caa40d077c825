//! The tokenizer in a real tantivy index (in RAM): what staff search for must be found, and only that.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use mashangban_text::ChineseTokenizer;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenizerManager;
use tantivy::{Index, IndexReader, TantivyDocument, doc};

const TOKENIZER: &str = "zh";

const REQUESTS: [(&str, &str, &str); 10] = [
    ("1", "社保断缴怎么补缴", "公司三个月没有给员工缴纳社保，要求补缴。"),
    ("2", "营业执照变更经营范围", "我司需要办理营业执照变更，增加经营范围，请问流程。"),
    ("3", "夜间噪音扰民", "联系人陈嘉欣反映，小榄镇工业区夜间冲床噪音扰民。"),
    ("4", "會議室出租", "時租場地，家教場地，1對1教學，歡迎來電。"),
    ("5", "会议室被占用", "街道会议室周五已被占用，群众无法办事。"),
    ("6", "执照遗失补办", "个体户营业执照丢失，如何补办执照？"),
    ("7", "咨询公积金提取", "陈嘉怡咨询租房提取公积金的条件。"),
    ("8", "营业执照到期", "营业执照到期后能否变更经营范围？"),
    ("9", "WiFi信号差", "工单ＺＳ20261129000123，园区WiFi信号差。"),
    ("10", "排污口偷排", "河涌边的排污口夜间偷排废水，水质发黑。"),
];

struct Fixture {
    reader: IndexReader,
    parser: QueryParser,
    id: Field,
    body: Field,
}

fn fixture() -> Fixture {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let id = builder.add_text_field("id", STRING | STORED);
    let title = builder.add_text_field("title", text.clone());
    let body = builder.add_text_field("body", text);
    let index = Index::create_in_ram(builder.build());
    index.tokenizers().register(TOKENIZER, ChineseTokenizer::index());
    let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, t, b) in REQUESTS {
        writer.add_document(doc!(id => i, title => t, body => b)).unwrap();
    }
    writer.commit().unwrap();
    let query_tokenizers = TokenizerManager::default();
    query_tokenizers.register(TOKENIZER, ChineseTokenizer::query());
    let parser = QueryParser::new(index.schema(), vec![title, body], query_tokenizers);
    Fixture { reader: index.reader().unwrap(), parser, id, body }
}

impl Fixture {
    fn ids(&self, query: &str) -> BTreeSet<String> {
        let query = self.parser.parse_query(query).unwrap();
        let searcher = self.reader.searcher();
        let hits = searcher.search(&query, &TopDocs::with_limit(100).order_by_score()).unwrap();
        hits.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address).unwrap();
                doc.get_first(self.id).and_then(|v| v.as_str()).unwrap().to_string()
            })
            .collect()
    }

    fn highlighted_body(&self, query: &str, id: &str) -> String {
        let query = self.parser.parse_query(query).unwrap();
        let searcher = self.reader.searcher();
        let generator = SnippetGenerator::create(&searcher, &*query, self.body).unwrap();
        let (_, _, body) = REQUESTS.iter().find(|(i, _, _)| *i == id).unwrap();
        generator.snippet(body).to_html()
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn two_character_words_match() {
    let f = fixture();
    assert_eq!(f.ids("社保"), set(&["1"]));
    assert_eq!(f.ids("执照"), set(&["2", "6", "8"]));
    assert_eq!(f.ids("偷排"), set(&["10"]));
    assert_eq!(f.ids("河涌"), set(&["10"]));
}

#[test]
fn names_match_whole_and_not_their_neighbours() {
    let f = fixture();
    assert_eq!(f.ids("陈嘉欣"), set(&["3"]));
    assert_eq!(f.ids("陈嘉怡"), set(&["7"]));
    assert_eq!(f.ids("嘉欣"), set(&["3"]));
    assert_eq!(f.ids("陈嘉"), set(&["3", "7"]));
}

#[test]
fn traditional_and_simplified_find_each_other() {
    let f = fixture();
    assert_eq!(f.ids("會議室"), set(&["4", "5"]));
    assert_eq!(f.ids("会议室"), set(&["4", "5"]));
    assert_eq!(f.ids("场地"), set(&["4"]));
    assert_eq!(f.ids("家教場地"), set(&["4"]));
    assert_eq!(f.ids("营业执照"), set(&["2", "6", "8"]));
    assert_eq!(f.ids("營業執照"), set(&["2", "6", "8"]));
}

#[test]
fn phrases_match_only_adjacent_words() {
    let f = fixture();
    assert_eq!(f.ids("\"营业执照变更\""), set(&["2"]));
    // Without quotes a Chinese literal is a phrase too (it has no spaces to split on).
    assert_eq!(f.ids("营业执照变更"), set(&["2"]));
    assert_eq!(f.ids("变更经营范围"), set(&["2", "8"]));
    assert_eq!(f.ids("\"执照变更\""), set(&["2"]));
    // 8 has 营业执照 … 变更 but not next to each other.
    assert_eq!(f.ids("营业执照 变更"), set(&["2", "6", "8"]), "two literals: either (default OR)");
    assert_eq!(f.ids("+营业执照 +变更"), set(&["2", "8"]));
    // No bigram across punctuation: 变更，增加 does not contain 变更增加.
    assert!(f.ids("变更增加").is_empty());
    assert_eq!(f.ids("增加经营范围"), set(&["2"]));
    // Words apart in the text are not a phrase.
    assert!(f.ids("排污口偷排废水").is_empty());
    assert_eq!(f.ids("偷排废水"), set(&["10"]));
}

#[test]
fn exclusions() {
    let f = fixture();
    assert_eq!(f.ids("会议室 -出租"), set(&["5"]));
    assert_eq!(f.ids("执照 -补办"), set(&["2", "8"]));
    assert_eq!(f.ids("+公积金 -陈嘉欣"), set(&["7"]));
}

#[test]
fn latin_words_and_tracking_numbers() {
    let f = fixture();
    assert_eq!(f.ids("wifi"), set(&["9"]));
    assert_eq!(f.ids("WIFI"), set(&["9"]));
    assert_eq!(f.ids("ZS20261129000123"), set(&["9"]));
    assert_eq!(f.ids("ｚｓ20261129000123"), set(&["9"]));
}

#[test]
fn highlights_point_into_the_original_text() {
    let f = fixture();
    assert_eq!(f.highlighted_body("会议室", "4"), "", "the match is in the title, not the body");
    assert_eq!(f.highlighted_body("会议室", "5"), "街道<b>会议室</b>周五已被占用，群众无法办事");
    // tantivy highlights every occurrence of a query term (here the bigram 场地), phrase or not.
    assert_eq!(f.highlighted_body("家教场地", "4"), "時租<b>場地</b>，<b>家教場地</b>，1對1教學，歡迎來電");
    assert_eq!(f.highlighted_body("陈嘉欣", "3"), "联系人<b>陈嘉欣</b>反映，小榄镇工业区夜间冲床噪音扰民");
    assert!(f.highlighted_body("wifi", "9").contains("园区<b>WiFi</b>信号差"));
}
