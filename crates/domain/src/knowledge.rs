//! The knowledge base of standard answers (知识库 / 标准答复): operators read
//! an answer to a caller and close the consultation on the spot (直接办结);
//! administrators maintain the answers. Every version of an article is kept,
//! so an answer given to a caller can be traced to its exact text. The model
//! and its rules live here; storage is `mashangban_store::KnowledgeStore`.

use serde::Serialize;

use crate::DomainError;
use crate::org::{Actor, UserId};
use crate::request::CategoryId;
use crate::time::Instant;
use crate::validation::required_text;

pub type ArticleId = i64;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 100;
/// The longest answer, in characters: a direct close's answer (at most
/// 4000) must hold it and its citation line.
pub const BODY_MAX: usize = 3900;
/// At most this many keywords, each at most [`KEYWORD_MAX`] characters.
pub const KEYWORDS_MAX: usize = 20;
pub const KEYWORD_MAX: usize = 30;

/// A standard answer (标准答复) as it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub title: String,
    /// The answer read to the caller.
    pub body: String,
    pub category_id: Option<CategoryId>,
    pub keywords: Vec<String>,
    pub active: bool,
    /// 1 when created, one more with every change (edit, deactivation).
    pub version: i64,
    pub updated_at: Instant,
    /// Who made the latest change, as `name（role）`.
    pub updated_by: String,
}

/// One version of an article, exactly as it read. Never changed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArticleRevision {
    pub article_id: ArticleId,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub category_id: Option<CategoryId>,
    pub keywords: Vec<String>,
    pub active: bool,
    pub at: Instant,
    pub by_user_id: Option<UserId>,
    pub by: String,
}

/// The content of an article as an administrator writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleInput {
    pub title: String,
    pub body: String,
    pub category_id: Option<CategoryId>,
    pub keywords: Vec<String>,
}

impl ArticleInput {
    /// Trims and checks every field; keywords are trimmed, blanks and
    /// repeats dropped. The store calls this before writing.
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text` (title, body, a
    /// keyword) or `too_many_keywords`.
    pub fn validated(self) -> Result<Self, DomainError> {
        let title = required_text("标题", &self.title, TITLE_MAX)?;
        let body = required_text("答复内容", &self.body, BODY_MAX)?;
        let keywords = clean_keywords(&self.keywords)?;
        Ok(Self { title, body, category_id: self.category_id, keywords })
    }
}

/// Keywords (of an article or a category) trimmed, blanks and repeats
/// dropped, each at most [`KEYWORD_MAX`] characters, at most [`KEYWORDS_MAX`].
///
/// # Errors
///
/// `text_too_long`, `invalid_text` or `too_many_keywords`.
pub fn clean_keywords(words: &[String]) -> Result<Vec<String>, DomainError> {
    let mut keywords: Vec<String> = Vec::new();
    for word in words.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        let word = required_text("关键词", word, KEYWORD_MAX)?;
        if !keywords.contains(&word) {
            keywords.push(word);
        }
    }
    if keywords.len() > KEYWORDS_MAX {
        return Err(DomainError::invalid("too_many_keywords", format!("关键词不能超过{KEYWORDS_MAX}个")));
    }
    Ok(keywords)
}

/// Who changes the knowledge base and when.
#[derive(Debug, Clone)]
pub struct ArticleAuthor {
    pub user_id: Option<UserId>,
    /// `name（role）`, as the time-limit rules record their publisher.
    pub name: String,
    pub at: Instant,
}

impl ArticleAuthor {
    pub fn new(actor: &Actor, at: Instant) -> Self {
        Self { user_id: actor.user_id(), name: format!("{}（{}）", actor.name(), actor.role_str()), at }
    }
}

/// The words of a caller's question to look for: whole words of Latin
/// letters and digits, and every pair of neighbouring characters of a run of
/// Chinese (there is no word segmentation; a pair is the shortest useful
/// Chinese word, e.g. 社保, 执照). Question words (怎么, 如何, …) are left
/// out. At most 32 terms, each once, in the order found.
pub fn search_terms(query: &str) -> Vec<String> {
    const QUESTION_WORDS: [&str; 14] = [
        "怎么",
        "如何",
        "什么",
        "可以",
        "请问",
        "需要",
        "哪里",
        "我想",
        "一下",
        "多少",
        "是否",
        "能否",
        "为什么",
        "么办",
    ];
    let mut terms: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !QUESTION_WORDS.contains(&t.as_str()) && !terms.contains(&t) && terms.len() < 32 {
            terms.push(t);
        }
    };
    for run in query.split(|c: char| !c.is_alphanumeric()).filter(|r| !r.is_empty()) {
        let chars: Vec<char> = run.chars().collect();
        if chars.iter().all(char::is_ascii_alphanumeric) || chars.len() == 1 {
            push(run.to_lowercase());
        } else {
            chars.windows(2).for_each(|pair| push(pair.iter().collect()));
        }
    }
    terms
}

/// `404 article_not_found`.
pub fn article_not_found(id: ArticleId) -> DomainError {
    DomainError::not_found("article_not_found", format!("标准答复 {id} 不存在"))
}

/// `409 article_changed`: someone saved the article meanwhile.
pub fn article_changed(current: i64) -> DomainError {
    DomainError::conflict("article_changed", format!("该标准答复已被他人修改（现为第{current}版），请刷新后再改"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chinese_questions_become_pairs_and_latin_words_stay_whole() {
        assert_eq!(search_terms("营业执照怎么办"), vec!["营业", "业执", "执照", "照怎"]);
        assert_eq!(search_terms("社保 参保"), vec!["社保", "参保"]);
        assert_eq!(search_terms("USCC 代码"), vec!["uscc", "代码"]);
        assert!(search_terms("  ，。 ").is_empty());
    }

    #[test]
    fn input_is_trimmed_and_checked() {
        let input = ArticleInput {
            title: " 公积金提取 ".into(),
            body: "答复".into(),
            category_id: None,
            keywords: vec![" 公积金 ".into(), "".into(), "公积金".into()],
        };
        let ok = input.clone().validated().unwrap();
        assert_eq!((ok.title.as_str(), ok.keywords), ("公积金提取", vec!["公积金".to_owned()]));
        let empty = ArticleInput { body: " ".into(), ..input.clone() }.validated().unwrap_err();
        assert_eq!(empty.code, "text_required");
        let many = ArticleInput { keywords: (0..21).map(|i| i.to_string()).collect(), ..input }.validated();
        assert_eq!(many.unwrap_err().code, "too_many_keywords");
    }
}
