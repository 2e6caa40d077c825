//! Duplicate detection (疑似重复): how much two requests look like the same matter — the overlap of
//! their words, the same asker (phone or credit code), the same place (address) — so that the
//! dispatcher can merge (并单) a second report of one matter into the first. Pure: the caller gives
//! each request's terms (the index's words and character bigrams) and facts.
//!
//! Hot issues (热点问题) are the same likeness at a larger scale: clusters of many requests about one
//! matter in a period (one road's flooding, one estate's property dispute) — requests of one place
//! (town or address) linked when alike, and the linked groups of at least a minimum size. The
//! thresholds of both are administrable ([`Thresholds`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::DomainError;
use crate::org::UnitId;
use crate::request::{CategoryId, Request};

/// A pair scoring at least this is listed as a likely duplicate (the default of
/// [`Thresholds::similarity`]).
pub const THRESHOLD: f64 = 0.45;

/// The thresholds of duplicate and hot-issue detection, as an administrator sets them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A pair at least this alike (0–1) is listed as a likely duplicate.
    pub similarity: f64,
    /// Candidates are received at most this many days apart.
    pub window_days: u32,
    /// A hot issue has at least this many requests.
    pub hot_min_size: u32,
    /// Hot issues are sought among the requests received in this many days.
    pub hot_window_days: u32,
    /// Two requests of one place join one hot issue when at least this alike (0–1).
    pub hot_similarity: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { similarity: THRESHOLD, window_days: 30, hot_min_size: 5, hot_window_days: 7, hot_similarity: 0.3 }
    }
}

/// The bounds an administrator may set: similarity, window days, hot-issue size, hot-issue window.
pub const SIMILARITY_RANGE: (f64, f64) = (0.1, 0.95);
pub const WINDOW_DAYS_RANGE: (u32, u32) = (1, 90);
pub const HOT_MIN_SIZE_RANGE: (u32, u32) = (2, 100);
pub const HOT_WINDOW_DAYS_RANGE: (u32, u32) = (1, 31);

impl Thresholds {
    /// Checks what an administrator submits; similarities are kept to two decimals. Refusals have
    /// stable codes and Chinese messages.
    pub fn new(
        similarity: f64,
        window_days: u32,
        hot_min_size: u32,
        hot_window_days: u32,
        hot_similarity: f64,
    ) -> Result<Self, DomainError> {
        let share = |code: &'static str, name: &str, x: f64| {
            if x.is_nan() || !(SIMILARITY_RANGE.0..=SIMILARITY_RANGE.1).contains(&x) {
                return Err(DomainError::invalid(
                    code,
                    format!("{name}应在 {} 到 {} 之间", SIMILARITY_RANGE.0, SIMILARITY_RANGE.1),
                ));
            }
            Ok((x * 100.0).round() / 100.0)
        };
        let count = |code: &'static str, name: &str, unit: &str, x: u32, (lo, hi): (u32, u32)| {
            if (lo..=hi).contains(&x) {
                Ok(x)
            } else {
                Err(DomainError::invalid(code, format!("{name}应在 {lo} 到 {hi} {unit}之间")))
            }
        };
        Ok(Self {
            similarity: share("invalid_similarity", "疑似重复的相似度阈值", similarity)?,
            window_days: count("invalid_window_days", "疑似重复的比对时间窗", "天", window_days, WINDOW_DAYS_RANGE)?,
            hot_min_size: count("invalid_hot_min_size", "热点问题的最少件数", "件", hot_min_size, HOT_MIN_SIZE_RANGE)?,
            hot_window_days: count(
                "invalid_hot_window_days",
                "热点问题的统计时间窗",
                "天",
                hot_window_days,
                HOT_WINDOW_DAYS_RANGE,
            )?,
            hot_similarity: share("invalid_hot_similarity", "热点问题的相似度阈值", hot_similarity)?,
        })
    }
}

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
    rank_above(target, candidates, top, THRESHOLD)
}

/// [`rank`] with another threshold (the administrator's [`Thresholds::similarity`]).
pub fn rank_above(target: &Facts, candidates: &[Facts], top: usize, threshold: f64) -> Vec<(usize, Likeness)> {
    let mut alike: Vec<(usize, Likeness)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (i, likeness(target, c)))
        .filter(|(_, l)| l.score >= threshold)
        .collect();
    alike.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    alike.truncate(top);
    alike
}

/// Whether two requests are of one place: the same town, or (both without a town) the same address.
fn same_place(a: &Facts, b: &Facts) -> bool {
    match (a.town, b.town) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.address.is_some() && a.address == b.address,
        _ => false,
    }
}

/// Hot issues among `items`: requests of one place (town, or address without one) linked when their
/// likeness is at least `similarity`, and every group of linked requests (a link of links joins) with
/// at least `min_size` members. Each as indices into `items`, ascending; the largest first (then the
/// one whose first member comes first). Pairs are compared only within a place.
pub fn hot_clusters(items: &[Facts], similarity: f64, min_size: usize) -> Vec<Vec<usize>> {
    let mut places: BTreeMap<(Option<UnitId>, Option<&str>), Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let key = match item.town {
            Some(town) => (Some(town), None),
            None => (None, item.address.as_deref()),
        };
        if key != (None, None) {
            places.entry(key).or_default().push(i);
        }
    }
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for members in places.values() {
        for (n, &a) in members.iter().enumerate() {
            for &b in &members[n + 1..] {
                if root(&mut parent, a) == root(&mut parent, b) || !same_place(&items[a], &items[b]) {
                    continue;
                }
                if likeness(&items[a], &items[b]).score >= similarity {
                    let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut clusters: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= min_size.max(2)).collect();
    clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    clusters
}

/// The member of a cluster most typical of it: the one whose terms are the most common among the
/// members (by the share of its terms' counts), the first on a tie. `None` for an empty cluster.
pub fn typical(items: &[Facts], members: &[usize]) -> Option<usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for &m in members {
        for term in &items[m].terms {
            *counts.entry(term.as_str()).or_insert(0) += 1;
        }
    }
    let weight = |m: usize| {
        let terms = &items[m].terms;
        let sum: usize = terms.iter().map(|t| counts.get(t.as_str()).copied().unwrap_or(0)).sum();
        if terms.is_empty() { 0.0 } else { sum as f64 / terms.len() as f64 }
    };
    members
        .iter()
        .copied()
        .fold(None, |best: Option<(usize, f64)>, m| {
            let w = weight(m);
            match best {
                Some((_, bw)) if bw >= w => best,
                _ => Some((m, w)),
            }
        })
        .map(|(m, _)| m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    fn at(terms: &str, town: Option<UnitId>, address: Option<&str>, phone: &str) -> Facts {
        Facts {
            terms: terms.split(' ').map(str::to_owned).collect(),
            phone: phone.into(),
            credit_code: None,
            address: address.map(str::to_owned),
            town,
            category: 9,
        }
    }

    #[test]
    fn one_roads_flooding_and_one_estates_dispute_are_hot_and_scattered_requests_are_not() {
        let items = [
            at("岐江路 积水 严重 下雨 车辆 无法 通行", Some(1), Some("岐江路"), "13800000001"),
            at("工资 拖欠 三个月", Some(1), None, "13800000002"),
            at("岐江路 水浸 积水 通行 困难", Some(1), None, "13800000003"),
            at("物业 停车 收费 上涨 业主 不满 翠景花园", Some(2), None, "13800000004"),
            at("岐江路 积水 严重 下水道 堵塞", Some(1), Some("岐江路口"), "13800000005"),
            at("翠景花园 物业 收费 上涨 业主 投诉", Some(2), None, "13800000006"),
            at("路灯 不亮", Some(2), None, "13800000007"),
            at("翠景花园 业主 物业 停车 收费 纠纷", Some(2), None, "13800000008"),
            at("岐江路 积水 下雨 水浸 车辆", Some(1), None, "13800000009"),
            // The flooding's words in another town: another place, not this hot issue.
            at("岐江路 积水 严重 下雨 车辆 无法 通行", Some(3), None, "13800000010"),
        ];
        let clusters = hot_clusters(&items, 0.3, 3);
        assert_eq!(clusters, vec![vec![0, 2, 4, 8], vec![3, 5, 7]]);
        // A larger minimum leaves only the flooding; a stricter likeness splits it.
        assert_eq!(hot_clusters(&items, 0.3, 4), vec![vec![0, 2, 4, 8]]);
        assert!(hot_clusters(&items, 0.9, 3).is_empty());
        // The typical member of the flooding shares the most common words.
        let typical_member = typical(&items, &clusters[0]).unwrap();
        assert!([0, 8].contains(&typical_member), "{typical_member}");
        assert_eq!(typical(&items, &[]), None);
    }

    #[test]
    fn requests_without_a_town_join_only_at_the_same_address() {
        let items = [
            at("井盖 缺失 危险", None, Some("兴中道1号"), "1"),
            at("井盖 缺失 夜间 危险", None, Some("兴中道1号"), "2"),
            at("井盖 缺失 危险", None, Some("兴中道9号"), "3"),
            at("井盖 缺失 危险", None, None, "4"),
        ];
        assert_eq!(hot_clusters(&items, 0.3, 2), vec![vec![0, 1]]);
        assert!(hot_clusters(&items, 0.3, 1).iter().all(|c| c.len() >= 2), "a cluster is never one request");
    }

    #[test]
    fn thresholds_are_checked_with_chinese_messages() {
        let ok = Thresholds::new(0.456, 30, 5, 7, 0.3).unwrap();
        assert_eq!(ok.similarity, 0.46);
        let code = |r: Result<Thresholds, DomainError>| r.unwrap_err().code;
        assert_eq!(code(Thresholds::new(1.5, 30, 5, 7, 0.3)), "invalid_similarity");
        assert_eq!(code(Thresholds::new(f64::NAN, 30, 5, 7, 0.3)), "invalid_similarity");
        assert_eq!(code(Thresholds::new(0.45, 0, 5, 7, 0.3)), "invalid_window_days");
        assert_eq!(code(Thresholds::new(0.45, 30, 1, 7, 0.3)), "invalid_hot_min_size");
        assert_eq!(code(Thresholds::new(0.45, 30, 5, 32, 0.3)), "invalid_hot_window_days");
        assert_eq!(code(Thresholds::new(0.45, 30, 5, 7, 0.05)), "invalid_hot_similarity");
        let d = Thresholds::default();
        assert_eq!(
            Thresholds::new(d.similarity, d.window_days, d.hot_min_size, d.hot_window_days, d.hot_similarity),
            Ok(d)
        );
    }

    #[test]
    fn a_lower_threshold_lists_more() {
        let a = facts("噪音 施工 夜间 扰民", "13800000001", None, 1);
        let b = facts("噪音 施工 周末", "13900000002", None, 3);
        assert!(rank(&a, std::slice::from_ref(&b), 5).is_empty());
        assert_eq!(rank_above(&a, std::slice::from_ref(&b), 5, 0.3).len(), 1);
    }
}
