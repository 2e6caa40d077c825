//! Throughput of normalisation, segmentation, tokenisation and masking on request-like text.
//!
//! `cargo run --release -p mashangban-text --example throughput` prints MB/s (of UTF-8 input) per function.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use mashangban_text::{ChineseTokenizer, mask, normalize, segment, terms};
use tantivy_tokenizer_api::{TokenStream, Tokenizer};

const SAMPLES: [&str; 6] = [
    "我司位于小榄镇工业大道，近三个月用电负荷增加，申请专变增容，供电局一直未安排现场勘查，影响新生产线投产，请协调加快办理。",
    "联系人陈嘉欣反映：石岐街道康华路某餐饮店夜间油烟和噪音扰民，多次向物业反映无果，希望城管执法部门尽快处理。电话13912345678。",
    "公司拖欠工资三个月，涉及员工四十余人，老板失联，请求劳动保障监察部门介入，督促企业支付工资和经济补偿金。",
    "會議室出租，時租場地，家教場地，1對1教學，環境優雅，交通便利，歡迎來電預約：0760-88881234。",
    "河涌边的排污口夜间偷排废水，水质发黑发臭，附近居民深受其害，请生态环境局安排执法检查并公开处理结果。",
    "Ｗｅ ｎｅｅｄ ＶＡＴ invoice 数电票开具指导，企业统一社会信用代码91442000MA4UQ1234X，工单ZS20261129000123。",
];

fn corpus(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 512);
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(SAMPLES[i % SAMPLES.len()]);
        text.push('\n');
        i += 1;
    }
    text
}

/// Runs `f` over each document and returns MB/s of input.
fn measure(docs: &[String], f: impl Fn(&str) -> usize) -> f64 {
    let started = Instant::now();
    let mut out = 0;
    for doc in docs {
        out += f(doc);
    }
    black_box(out);
    let bytes: usize = docs.iter().map(String::len).sum();
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn main() {
    // Build the dictionaries before timing.
    let started = Instant::now();
    black_box(normalize("預熱"));
    println!("zhconv zh-Hans converter built in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
    let started = Instant::now();
    black_box(segment("预热"));
    println!("jieba + city dictionary built in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);

    // Documents of about 1 KB (a typical request with a reply) totalling 8 MB.
    let docs: Vec<String> = (0..8000).map(|_| corpus(1000)).collect();
    let total: usize = docs.iter().map(String::len).sum();
    println!("corpus: {} documents, {:.1} MB", docs.len(), total as f64 / 1e6);
    println!("normalize       {:6.1} MB/s", measure(&docs, |d| normalize(d).len()));
    println!("segment         {:6.1} MB/s", measure(&docs, |d| segment(d).len()));
    println!("terms           {:6.1} MB/s", measure(&docs, |d| terms(d).len()));
    for (name, tokenizer) in [("index", ChineseTokenizer::index()), ("query", ChineseTokenizer::query())] {
        let rate = measure(&docs, |d| {
            // As tantivy reads it: one token buffer, refilled.
            let mut tokenizer = tokenizer;
            let mut stream = tokenizer.token_stream(d);
            let mut n = 0;
            while stream.advance() {
                n += stream.token().text.len();
            }
            n
        });
        println!("stream ({name})  {rate:6.1} MB/s");
    }
    println!("mask            {:6.1} MB/s", measure(&docs, |d| mask(d).len()));
}
