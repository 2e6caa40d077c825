//! Spam screening (垃圾信息甄别) of what the public submits: a score from rules — administrable ad
//! phrases, links, floods of phone numbers, traditional characters inside simplified text, the same
//! text submitted again and again — and from a classifier trained on staff decisions
//! ([`crate::dispatch::Model`] with two classes). A submission that scores at or above the threshold
//! is held for staff (待甄别): taken in as usual, with its tracking number, and invisible to the
//! dispatcher's queue until staff release it or mark it spam. Pure: the caller normalises the text
//! (`mashangban_text::normalize`), counts scripts, looks up repeats and asks the classifier.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The score at or above which a submission is held, unless the administrator set another.
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// The threshold an administrator may set: low enough to hold something, high enough that a
/// single weak signal (a link) does not hold everything.
pub const THRESHOLD_RANGE: (f64, f64) = (0.5, 0.99);

/// The most phrases, and the longest phrase in characters.
pub const MAX_PHRASES: usize = 500;
pub const PHRASE_MAX_CHARS: usize = 30;

/// The phrases a new installation starts with: the ads that polluted the report this product is built
/// from (會議室出租, 家教場地, 1對1教學, 時租場地, dance studios, fiction fragments) and common spam of
/// public channels. Written in simplified characters; a phrase matches its traditional form too,
/// because both sides are normalised.
pub const DEFAULT_PHRASES: &[&str] = &[
    "会议室出租",
    "家教场地",
    "1对1教学",
    "一对一教学",
    "时租场地",
    "场地出租",
    "按小时出租",
    "舞蹈室出租",
    "舞蹈工作室",
    "瑜伽室出租",
    "培训教室出租",
    "最新章节",
    "免费阅读",
    "全文阅读",
    "兼职日结",
    "贷款秒批",
];

/// The weight of each rule: the score is `1 − Π(1 − weight)` over the rules that fire, so one ad
/// phrase holds a submission by itself while a link or a repeat alone does not.
pub const PHRASE_WEIGHT: f64 = 0.9;
pub const LINK_WEIGHT: f64 = 0.5;
pub const LINKS_WEIGHT: f64 = 0.7;
pub const PHONES_WEIGHT: f64 = 0.6;
pub const PHONE_FLOOD_WEIGHT: f64 = 0.9;
pub const MIXED_SCRIPT_WEIGHT: f64 = 0.6;
pub const REPEAT_WEIGHT: f64 = 0.5;
pub const REPEAT_FLOOD_WEIGHT: f64 = 0.8;
/// The classifier's probability counts with this weight, beside a rule that fired (see [`screen`]).
pub const CLASSIFIER_WEIGHT: f64 = 0.9;

/// Distinct phone numbers from which a text is a flood (and from which a heavy one).
pub const PHONES: usize = 3;
pub const PHONE_FLOOD: usize = 5;
/// Traditional characters (with simplified ones beside them) that make a text mixed.
pub const MIXED_SCRIPT_CHARS: usize = 3;
/// Earlier submissions of the same text within [`REPEAT_WINDOW_HOURS`] that count as a repeat.
pub const REPEATS: u32 = 2;
pub const REPEAT_FLOOD: u32 = 9;
pub const REPEAT_WINDOW_HOURS: i64 = 24;

/// What the administrator sets: the phrases and the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Normalised (simplified, lowercase, half-width), without spaces; distinct; in the order given.
    pub phrases: Vec<String>,
    pub threshold: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { phrases: DEFAULT_PHRASES.iter().map(|p| (*p).to_owned()).collect(), threshold: DEFAULT_THRESHOLD }
    }
}

/// What the caller found out about a submission.
#[derive(Debug, Clone, Default)]
pub struct Signals<'a> {
    /// The title and content, normalised (`mashangban_text::normalize`) with whitespace removed.
    pub text: &'a str,
    /// Characters written in traditional form, and characters written in a form only simplified
    /// Chinese has (`mashangban_text::script_counts`).
    pub traditional_chars: usize,
    pub simplified_chars: usize,
    /// Earlier public submissions of the same text within [`REPEAT_WINDOW_HOURS`].
    pub repeats: u32,
    /// The classifier's probability that this is spam, if a classifier was trained.
    pub classifier: Option<f64>,
}

/// The outcome: the score (0–1), the reasons in Chinese, and whether to hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub score: f64,
    pub reasons: Vec<String>,
    pub held: bool,
}

/// A submission's screening as it is stored with the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    pub verdict: Verdict,
    /// A digest of the normalised text, for the look-up of repeats.
    pub fingerprint: String,
}

/// The text screening reads: the normalised title and content (`mashangban_text::normalize` of
/// `title\ncontent`) with every space removed, so that `會 議 室` reads as `会议室`.
pub fn compact(normalized: &str) -> String {
    normalized.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The digest of a compact text by which repeats are looked up (32 hex digits of its SHA-256).
pub fn fingerprint(compact: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(compact.as_bytes())[..16])
}

/// Scores a submission against the settings.
pub fn screen(signals: &Signals<'_>, settings: &Settings) -> Verdict {
    let mut weights: Vec<f64> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let found = phrases_in(signals.text, &settings.phrases);
    if !found.is_empty() {
        // Each further phrase adds as the first did.
        weights.extend(found.iter().map(|_| PHRASE_WEIGHT));
        reasons.push(format!("含广告词：{}", found.join("、")));
    }
    let links = count_links(signals.text);
    if links > 0 {
        weights.push(if links > 1 { LINKS_WEIGHT } else { LINK_WEIGHT });
        reasons.push(format!("含网址 {links} 个"));
    }
    let phones = count_phone_numbers(signals.text);
    if phones >= PHONES {
        weights.push(if phones >= PHONE_FLOOD { PHONE_FLOOD_WEIGHT } else { PHONES_WEIGHT });
        reasons.push(format!("含电话号码 {phones} 个"));
    }
    if signals.traditional_chars >= MIXED_SCRIPT_CHARS && signals.simplified_chars >= MIXED_SCRIPT_CHARS {
        weights.push(MIXED_SCRIPT_WEIGHT);
        reasons.push(format!("简体文本中夹杂繁体字 {} 个", signals.traditional_chars));
    }
    if signals.repeats >= REPEATS {
        weights.push(if signals.repeats >= REPEAT_FLOOD { REPEAT_FLOOD_WEIGHT } else { REPEAT_WEIGHT });
        reasons.push(format!("{REPEAT_WINDOW_HOURS} 小时内已重复提交 {} 次", signals.repeats));
    }
    // The classifier corroborates: it raises a rule's signal, never holds alone. Naive Bayes on a
    // few hundred spam decisions against thousands of genuine requests is over-confident about the
    // genuine text an ad was inserted into (measured on the demo: 6 % false positives alone).
    if let Some(p) = signals.classifier.filter(|p| *p >= 0.5 && !weights.is_empty()) {
        weights.push(CLASSIFIER_WEIGHT * p);
        reasons.push(format!("与已标记的垃圾信息相似（分类器概率 {p:.2}）"));
    }
    let score = 1.0 - weights.iter().fold(1.0, |kept, w| kept * (1.0 - w.clamp(0.0, 1.0)));
    let score = (score * 1000.0).round() / 1000.0;
    Verdict { score, reasons, held: score >= settings.threshold }
}

/// The phrases that occur in the text, each once, in the order of the settings.
pub fn phrases_in<'p>(text: &str, phrases: &'p [String]) -> Vec<&'p str> {
    phrases.iter().map(String::as_str).filter(|p| !p.is_empty() && text.contains(*p)).collect()
}

/// Top-level domains that make `name.tld` a link.
const TLDS: [&str; 14] =
    ["com", "cn", "net", "org", "top", "xyz", "cc", "vip", "info", "me", "tv", "shop", "site", "io"];

/// Links: `http://`, `https://` and `www.` prefixes, and bare `name.tld` with a known domain.
pub fn count_links(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let prefix = ["http://", "https://", "www."].iter().find(|p| rest.starts_with(**p)).map(|p| p.len());
        let end = match prefix {
            Some(len) => Some(i + len + host_len(&rest[len..])),
            None if bytes[i].is_ascii_alphanumeric() && (i == 0 || !is_host_byte(bytes[i - 1])) => {
                let len = host_len(rest);
                let host = rest[..len].split('/').next().unwrap_or("");
                let tld = host.rsplit('.').next().unwrap_or("");
                (host.contains('.') && TLDS.contains(&tld)).then_some(i + len)
            }
            None => None,
        };
        match end {
            Some(end) => {
                count += 1;
                i = end.max(i + 1);
            }
            None => i += 1,
        }
        while i < bytes.len() && !text.is_char_boundary(i) {
            i += 1;
        }
    }
    count
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

fn host_len(text: &str) -> usize {
    let len = text.bytes().take_while(|b| is_host_byte(*b) || *b == b'/').count();
    // A trailing dot ends the sentence, not the host.
    text[..len].trim_end_matches('.').len()
}

/// Distinct phone-like numbers: runs of 7 to 12 digits (hyphens inside a run join it), such as
/// mobiles (11 digits), landlines with or without the area code, and QQ numbers.
pub fn count_phone_numbers(text: &str) -> usize {
    let mut numbers: Vec<String> = Vec::new();
    let mut run = String::new();
    let mut close = |run: &mut String| {
        if (7..=12).contains(&run.len()) && !numbers.contains(run) {
            numbers.push(run.clone());
        }
        run.clear();
    };
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_digit() {
            run.push(*c);
        } else if *c == '-' && !run.is_empty() && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            continue;
        } else {
            close(&mut run);
        }
    }
    close(&mut run);
    numbers.len()
}

/// Checks and normalises what an administrator submits: `normalize` is the text normaliser
/// (`mashangban_text::normalize`), applied to each phrase with spaces removed; blank lines and repeats
/// are dropped.
pub fn settings(
    phrases: &[String],
    threshold: f64,
    normalize: impl Fn(&str) -> String,
) -> Result<Settings, DomainError> {
    if !(THRESHOLD_RANGE.0..=THRESHOLD_RANGE.1).contains(&threshold) || threshold.is_nan() {
        return Err(DomainError::invalid(
            "invalid_threshold",
            format!("甄别阈值应在 {} 到 {} 之间", THRESHOLD_RANGE.0, THRESHOLD_RANGE.1),
        ));
    }
    if phrases.len() > MAX_PHRASES {
        return Err(DomainError::invalid("too_many_phrases", format!("广告词最多 {MAX_PHRASES} 条")));
    }
    let mut out: Vec<String> = Vec::with_capacity(phrases.len());
    for phrase in phrases {
        if phrase.chars().count() > PHRASE_MAX_CHARS {
            return Err(DomainError::invalid(
                "phrase_too_long",
                format!("广告词「{}…」超过 {PHRASE_MAX_CHARS} 个字", phrase.chars().take(10).collect::<String>()),
            ));
        }
        let normal: String = normalize(phrase).chars().filter(|c| !c.is_whitespace()).collect();
        if normal.chars().count() >= 2 && !out.contains(&normal) {
            out.push(normal);
        } else if !normal.is_empty() && normal.chars().count() < 2 {
            return Err(DomainError::invalid("phrase_too_short", format!("广告词「{phrase}」太短，至少 2 个字")));
        }
    }
    Ok(Settings { phrases: out, threshold: (threshold * 100.0).round() / 100.0 })
}

/// What staff decided about a held submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Released (放行): a genuine request, now in the dispatcher's queue.
    Released,
    /// Marked spam (垃圾信息): archived, never dispatched.
    Spam,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Released => "released",
            Self::Spam => "spam",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "released" => Some(Self::Released),
            "spam" => Some(Self::Spam),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Released => "已放行",
            Self::Spam => "垃圾信息",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn verdict(text: &str) -> Verdict {
        screen(&Signals { text, ..Signals::default() }, &Settings::default())
    }

    #[test]
    fn one_ad_phrase_holds_even_inside_a_genuine_request() {
        let v = verdict("我公司门前道路积水严重请尽快处理会议室出租时租场地欢迎来电");
        assert!(v.held, "{v:?}");
        assert!(v.reasons[0].contains("会议室出租") && v.reasons[0].contains("时租场地"), "{v:?}");
        assert!(v.score > 0.98);
    }

    #[test]
    fn a_genuine_request_scores_nothing() {
        let v = verdict("我公司位于火炬开发区，门前道路积水严重，影响员工通行，请尽快处理。联系电话13800138000。");
        assert_eq!(v, Verdict { score: 0.0, reasons: vec![], held: false });
    }

    #[test]
    fn a_link_alone_does_not_hold_but_links_with_phones_do() {
        let one = verdict("详情见www.example.com");
        assert_eq!((one.score, one.held), (0.5, false));
        let flood = verdict("http://a.top 13800138000 13900139000 020-88886666 0760-8888666 13700137000");
        assert!(flood.held, "{flood:?}");
        assert_eq!(count_links("http://a.top，b.example.cn/x 和 foo.bar 以及 1.5万元"), 2);
        assert_eq!(count_links("中山.市"), 0);
    }

    #[test]
    fn phone_numbers_are_counted_once_each_and_amounts_are_not_numbers() {
        assert_eq!(count_phone_numbers("13800138000、13800138000、0760-88886666"), 2);
        assert_eq!(count_phone_numbers("拖欠货款300万元，2026年3月"), 0);
        assert_eq!(count_phone_numbers("编号zs20261129000123"), 0, "a tracking number is too long");
    }

    #[test]
    fn mixed_scripts_repeats_and_the_classifier_add_up() {
        let mixed = Signals { text: "x", traditional_chars: 5, simplified_chars: 40, ..Signals::default() };
        let v = screen(&mixed, &Settings::default());
        assert_eq!((v.score, v.held), (0.6, false));
        let pure_traditional = Signals { text: "x", traditional_chars: 30, simplified_chars: 0, ..Signals::default() };
        assert_eq!(screen(&pure_traditional, &Settings::default()).score, 0.0, "a text all in traditional is fine");
        let both = Signals { repeats: 2, ..mixed.clone() };
        assert!(screen(&both, &Settings::default()).held);
        let alone = Signals { text: "x", classifier: Some(0.99), ..Signals::default() };
        assert_eq!(screen(&alone, &Settings::default()).score, 0.0, "the classifier alone never holds");
        let corroborated = Signals { classifier: Some(0.99), ..mixed.clone() };
        assert!(screen(&corroborated, &Settings::default()).held);
        let unsure = Signals { classifier: Some(0.4), ..mixed.clone() };
        assert!(!screen(&unsure, &Settings::default()).held);
    }

    #[test]
    fn settings_are_normalised_and_bounded() {
        let norm = |s: &str| s.to_lowercase();
        let s = settings(&["会议 室出租".into(), "".into(), "会议室出租".into(), "AB".into()], 0.756, norm).unwrap();
        assert_eq!(s.phrases, ["会议室出租", "ab"]);
        assert_eq!(s.threshold, 0.76);
        assert_eq!(settings(&[], 0.3, norm).unwrap_err().code, "invalid_threshold");
        assert_eq!(settings(&[], f64::NAN, norm).unwrap_err().code, "invalid_threshold");
        assert_eq!(settings(&["a".into()], 0.8, norm).unwrap_err().code, "phrase_too_short");
        assert_eq!(settings(&["长".repeat(31)], 0.8, norm).unwrap_err().code, "phrase_too_long");
    }
}
