//! Duplicate detection (疑似重复): how much two requests look like the same matter — the overlap of
//! their words, the same asker (phone or credit code), the same place (address) — so that the
//! dispatcher can merge (并单) a second report of one matter into the first. Pure: the caller gives
//! each request's terms (the index's words and character bigrams) and facts.

use std::collections::BTreeSet;

use crate::org::UnitId;
use crate::request::{CategoryId, Request};

/// A pair scoring at least this is listed as a likely duplicate.
pub const THRESHOLD: f64 = 0.45;

/// Added to the text overlap when the asker is the same (same phone or credit code).
const SAME_ASKER: f64 = 0.25;

/// Added when the address is the same.
const SAME_PLACE: f64 = 0.15;

/// Added when category and town are both the same.
const SAME_CATEGORY_AND_TOWN: f64 = 0.1;

/// What duplicate detection reads of a request.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The distinct terms of title and content.
    pub terms: BTreeSet<String>,
    pub phone: String,
    pub credit_code: Option<String>,
    /// Whitespace removed.
    pub address: Option<String>,
    pub town: Option<UnitId>,
    pub category: CategoryId,
}

impl Facts {
    /// The facts of a request whose title and content gave `terms`.
    pub fn of(request: &Request, terms: impl IntoIterator<Item = String>) -> Self {
        Self {
            terms: terms.into_iter().collect(),
            phone: request.contact.phone.as_str().to_owned(),
            credit_code: request.asker.credit_code().map(str::to_owned),
            address: request
                .location
                .address
                .as_deref()
                .map(|a| a.chars().filter(|c| !c.is_whitespace()).collect::<String>())
                .filter(|a| !a.is_empty()),
            town: request.location.town_id,
            category: request.category_id,
        }
    }
}

/// How alike two requests are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Likeness {
    /// The share of their distinct terms the two have in common (Jaccard), 0–1.
    pub text: f64,
    pub same_asker: bool,
    pub same_place: bool,
    /// The text overlap with the other signals added, at most 1.
    pub score: f64,
}

impl Likeness {
    /// Whether the pair is listed as a likely duplicate.
    pub fn is_likely(&self) -> bool {
        self.score >= THRESHOLD
    }
}

/// How alike `a` and `b` are.
pub fn likeness(a: &Facts, b: &Facts) -> Likeness {
    let common = a.terms.intersection(&b.terms).count();
    let union = a.terms.len() + b.terms.len() - common;
    let text = if union == 0 { 0.0 } else { common as f64 / union as f64 };
    let same_asker = (!a.phone.is_empty() && a.phone == b.phone)
        || a.credit_code.as_ref().is_some_and(|c| b.credit_code.as_ref() == Some(c));
    let same_place = a.address.is_some() && a.address == b.address;
    let same_category_and_town = a.category == b.category && a.town.is_some() && a.town == b.town;
    let score = text
        + if same_asker { SAME_ASKER } else { 0.0 }
        + if same_place { SAME_PLACE } else { 0.0 }
        + if same_category_and_town { SAME_CATEGORY_AND_TOWN } else { 0.0 };
    Likeness { text, same_asker, same_place, score: score.min(1.0) }
}

/// The candidates at least [`THRESHOLD`] alike to `target`, most alike first, at most `top`:
/// (index into `candidates`, likeness).
pub fn rank(target: &Facts, candidates: &[Facts], top: usize) -> Vec<(usize, Likeness)> {
    let mut alike: Vec<(usize, Likeness)> =
        candidates.iter().enumerate().map(|(i, c)| (i, likeness(target, c))).filter(|(_, l)| l.is_likely()).collect();
    alike.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    alike.truncate(top);
    alike
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(terms: &str, phone: &str, address: Option<&str>, category: CategoryId) -> Facts {
        Facts {
            terms: terms.split(' ').map(str::to_owned).collect(),
            phone: phone.into(),
            credit_code: None,
            address: address.map(str::to_owned),
            town: Some(7),
            category,
        }
    }

    #[test]
    fn the_same_words_from_another_person_are_alike_and_other_words_are_not() {
        let first = facts("路灯 不亮 晚上 漆黑", "13800000001", Some("兴中道1号"), 1);
        let second = facts("路灯 不亮 漆黑 危险", "13900000002", Some("兴中道9号"), 1);
        let other = facts("工资 拖欠 三个月", "13900000003", None, 2);
        let l = likeness(&first, &second);
        assert_eq!(l.text, 3.0 / 5.0);
        assert!(!l.same_asker && !l.same_place);
        assert!((l.score - 0.7).abs() < 1e-9, "{l:?}");
        assert!(l.is_likely());
        assert!(!likeness(&first, &other).is_likely());
        let ranked = rank(&first, &[other.clone(), second.clone()], 5);
        assert_eq!(ranked.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn the_same_asker_or_place_adds_to_a_partial_overlap() {
        let a = facts("噪音 施工 夜间 扰民", "13800000001", Some("岐关西路5号"), 1);
        let b = facts("噪音 装修 周末", "13800000001", None, 3);
        let l = likeness(&a, &b);
        assert!(l.same_asker && !l.same_place);
        assert!((l.score - (1.0 / 6.0 + SAME_ASKER)).abs() < 1e-9);
        assert!(!l.is_likely(), "one shared word and the same caller is not yet the same matter");
        let c = facts("噪音 施工 周末", "13800000001", Some("岐关西路5号"), 1);
        let l = likeness(&a, &c);
        assert!(l.same_asker && l.same_place && l.is_likely(), "{l:?}");
        assert!(l.score <= 1.0);
    }

    #[test]
    fn empty_texts_share_nothing_and_a_credit_code_names_the_asker() {
        let mut a = facts("", "", None, 1);
        a.terms.clear();
        let mut b = a.clone();
        assert_eq!(likeness(&a, &b).text, 0.0);
        assert!(!likeness(&a, &b).same_asker, "no phone is not the same phone");
        a.credit_code = Some("91442000MA4W000000".into());
        b.credit_code = a.credit_code.clone();
        assert!(likeness(&a, &b).same_asker);
    }
}
