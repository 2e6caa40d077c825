//! The dispatch catalogue's keyword rules (派单目录关键词): each category lists words that mark a
//! request as one of its kind (营业执照 → 企业开办). Matched on the normalised text (traditional
//! folded to simplified, full-width to half-width) with one automaton over every keyword, so that
//! a pass over the history costs one scan per request however many categories the city keeps.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use mashangban_domain::request::CategoryId;
use mashangban_store::Category;

/// Every active category's keywords, ready to match.
pub struct KeywordRules {
    automaton: Option<AhoCorasick>,
    /// Per pattern of the automaton: its category and the keyword as the catalogue writes it.
    patterns: Vec<(CategoryId, String)>,
}

/// The category a text's keywords point to, with the keywords found.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordMatch {
    pub category: CategoryId,
    pub keywords: Vec<String>,
}

impl KeywordRules {
    /// The rules of the active categories that have keywords.
    pub fn new(categories: &[Category]) -> Self {
        let patterns: Vec<(CategoryId, String)> = categories
            .iter()
            .filter(|c| c.active)
            .flat_map(|c| c.keywords.iter().filter(|k| !k.trim().is_empty()).map(|k| (c.id, k.trim().to_owned())))
            .collect();
        let normalised: Vec<String> = patterns.iter().map(|(_, k)| mashangban_text::normalize(k)).collect();
        let automaton = if normalised.is_empty() { None } else { AhoCorasick::new(&normalised).ok() };
        Self { automaton, patterns }
    }

    /// The category with the most distinct keywords in the text (ties: the longer keywords matched,
    /// then the lower id, so that the answer never depends on order); none when no keyword is found.
    pub fn best(&self, text: &str) -> Option<KeywordMatch> {
        let automaton = self.automaton.as_ref()?;
        let text = mashangban_text::normalize(text);
        let mut found: HashMap<CategoryId, Vec<usize>> = HashMap::new();
        for m in automaton.find_overlapping_iter(&text) {
            let pattern = m.pattern().as_usize();
            let (category, _) = self.patterns[pattern];
            let hits = found.entry(category).or_default();
            if !hits.contains(&pattern) {
                hits.push(pattern);
            }
        }
        let weight =
            |hits: &[usize]| (hits.len(), hits.iter().map(|&p| self.patterns[p].1.chars().count()).sum::<usize>());
        let (category, hits) = found.into_iter().max_by(|a, b| weight(&a.1).cmp(&weight(&b.1)).then(b.0.cmp(&a.0)))?;
        let mut keywords: Vec<String> = hits.iter().map(|&p| self.patterns[p].1.clone()).collect();
        keywords.sort();
        Some(KeywordMatch { category, keywords })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn category(id: CategoryId, keywords: &[&str], active: bool) -> Category {
        Category {
            id,
            code: format!("c{id}"),
            name: format!("分类{id}"),
            parent_id: None,
            default_lead_unit_id: None,
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            active,
        }
    }

    #[test]
    fn the_category_with_most_keywords_found_wins_and_traditional_text_matches() {
        let rules = KeywordRules::new(&[
            category(1, &["营业执照", "开办"], true),
            category(2, &["注销", "营业执照"], true),
            category(3, &["路灯"], false),
        ]);
        let found = rules.best("想咨詢開辦公司如何辦理營業執照").unwrap();
        assert_eq!(found, KeywordMatch { category: 1, keywords: vec!["开办".into(), "营业执照".into()] });
        assert_eq!(rules.best("营业执照注销").unwrap().category, 2);
        assert_eq!(rules.best("路灯不亮"), None, "an inactive category's keywords do not count");
        assert_eq!(rules.best("随便说点什么"), None);
    }

    #[test]
    fn ties_go_to_longer_keywords_then_the_lower_id() {
        let rules = KeywordRules::new(&[
            category(5, &["噪音"], true),
            category(4, &["施工噪音"], true),
            category(6, &["噪音"], true),
        ]);
        assert_eq!(rules.best("夜间施工噪音扰民").unwrap().category, 4);
        let rules = KeywordRules::new(&[category(6, &["噪音"], true), category(5, &["噪音"], true)]);
        assert_eq!(rules.best("噪音").unwrap().category, 5);
        assert_eq!(KeywordRules::new(&[]).best("噪音"), None);
    }
}
