//! Duplicate detection (疑似重复): how much two requests look like the same matter — the overlap of
//! their words, the same asker (phone or credit code), the same place (address) — so that the
//! dispatcher can merge (并单) a second report of one matter into the first. Pure: the caller gives
//! each request's terms (the index's words and character bigrams) and facts.
//!
//! Hot issues (热点问题) are the same likeness at a larger scale: clusters of many requests about one
//! matter in a period (one road's flooding, one estate's property dispute) — requests of one place
//! (town or address) linked when alike, requests of different towns linked when their words are very
//! alike (跨镇街热点: a river, a road across a border), and the linked groups of at least a minimum
//! size. The thresholds of both and the likeness weights are administrable ([`Thresholds`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

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
    /// Two requests of different towns join one hot issue (跨镇街热点) when their words alone are at
    /// least this alike (0–1): one matter reported from several towns (a river, a road across a border).
    pub cross_town_similarity: f64,
    /// What the signals besides the words add to a pair's likeness.
    pub weights: Weights,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            similarity: THRESHOLD,
            window_days: 30,
            hot_min_size: 5,
            hot_window_days: 7,
            hot_similarity: 0.3,
            cross_town_similarity: 0.5,
            weights: Weights::default(),
        }
    }
}

/// The likeness weights (加分): what is added to the share of words in common when the asker, the
/// address, or the category and town are the same. Administrable with the thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Added when the asker is the same (same phone or credit code): 相同诉求人.
    pub same_asker: f64,
    /// Added when the address is the same: 相同地址.
    pub same_place: f64,
    /// Added when category and town are both the same: 同类别同镇街.
    pub same_category_and_town: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { same_asker: 0.25, same_place: 0.15, same_category_and_town: 0.1 }
    }
}

/// The bounds an administrator may set: similarity, window days, hot-issue size, hot-issue window,
/// likeness weights.
pub const SIMILARITY_RANGE: (f64, f64) = (0.1, 0.95);
pub const WINDOW_DAYS_RANGE: (u32, u32) = (1, 90);
pub const HOT_MIN_SIZE_RANGE: (u32, u32) = (2, 100);
pub const HOT_WINDOW_DAYS_RANGE: (u32, u32) = (1, 31);
pub const WEIGHT_RANGE: (f64, f64) = (0.0, 0.5);

/// `x` within `range`, kept to two decimals; refused with `code` and a Chinese message naming `name`.
fn two_decimals(code: &'static str, name: &str, x: f64, (lo, hi): (f64, f64)) -> Result<f64, DomainError> {
    if x.is_nan() || !(lo..=hi).contains(&x) {
        return Err(DomainError::invalid(code, format!("{name}应在 {lo} 到 {hi} 之间")));
    }
    Ok((x * 100.0).round() / 100.0)
}

impl Thresholds {
    /// Checks what an administrator submits; similarities and weights are kept to two decimals.
    /// Refusals have stable codes and Chinese messages.
    pub fn checked(self) -> Result<Self, DomainError> {
        let share = |code, name, x| two_decimals(code, name, x, SIMILARITY_RANGE);
        let count = |code: &'static str, name: &str, unit: &str, x: u32, (lo, hi): (u32, u32)| {
            if (lo..=hi).contains(&x) {
                Ok(x)
            } else {
                Err(DomainError::invalid(code, format!("{name}应在 {lo} 到 {hi} {unit}之间")))
            }
        };
        Ok(Self {
            similarity: share("invalid_similarity", "疑似重复的相似度阈值", self.similarity)?,
            window_days: count(
                "invalid_window_days",
                "疑似重复的比对时间窗",
                "天",
                self.window_days,
                WINDOW_DAYS_RANGE,
            )?,
            hot_min_size: count(
                "invalid_hot_min_size",
                "热点问题的最少件数",
                "件",
                self.hot_min_size,
                HOT_MIN_SIZE_RANGE,
            )?,
            hot_window_days: count(
                "invalid_hot_window_days",
                "热点问题的统计时间窗",
                "天",
                self.hot_window_days,
                HOT_WINDOW_DAYS_RANGE,
            )?,
            hot_similarity: share("invalid_hot_similarity", "热点问题的相似度阈值", self.hot_similarity)?,
            cross_town_similarity: share(
                "invalid_cross_town_similarity",
                "跨镇街热点的文字相似度阈值",
                self.cross_town_similarity,
            )?,
            weights: self.weights.checked()?,
        })
    }
}

impl Weights {
    /// Each weight within [`WEIGHT_RANGE`], kept to two decimals.
    pub fn checked(self) -> Result<Self, DomainError> {
        let weight = |code, name, x| two_decimals(code, name, x, WEIGHT_RANGE);
        Ok(Self {
            same_asker: weight("invalid_same_asker_weight", "相同诉求人加分", self.same_asker)?,
            same_place: weight("invalid_same_place_weight", "相同地址加分", self.same_place)?,
            same_category_and_town: weight(
                "invalid_same_category_and_town_weight",
                "同类别同镇街加分",
                self.same_category_and_town,
            )?,
        })
    }
}

/// What duplicate detection reads of a request.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The distinct terms of title and content, as [`term_ids`]: shared, so that a caller may keep
    /// them for a text it will see again.
    pub terms: Arc<[u64]>,
    /// The asker's phone as [`phone_key`]: equal phones give equal keys, and facts kept for later
    /// (the check's cache on each node) hold no phone number in plain form. The key is not secret:
    /// whoever can read the process's memory can try every number against it.
    pub phone: Option<u64>,
    pub credit_code: Option<String>,
    /// Whitespace removed.
    pub address: Option<String>,
    pub town: Option<UnitId>,
    pub category: CategoryId,
}

impl Facts {
    /// The facts of a request whose title and content gave `terms`.
    pub fn of(request: &Request, terms: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        Self::with_term_ids(request, term_ids(terms))
    }

    /// The facts of a request whose title and content gave the [`term_ids`] `terms`.
    pub fn with_term_ids(request: &Request, terms: Arc<[u64]>) -> Self {
        Self {
            terms,
            phone: phone_key(request.contact.phone.as_str()),
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

/// A phone number as likeness compares it: its [`fnv1a`] hash, none for no number. Two different
/// numbers share a key with a chance of about one in 10¹⁹.
pub fn phone_key(phone: &str) -> Option<u64> {
    (!phone.is_empty()).then(|| fnv1a(phone.as_bytes()))
}

/// Terms as likeness compares them: a 64-bit hash (FNV-1a) of each, ascending, each once. Eight
/// bytes a term instead of a heap string, and two texts' overlap is a merge of two sorted slices; a
/// collision of two of one text pair's terms is a chance of about one in 10¹⁴.
pub fn term_ids(terms: impl IntoIterator<Item = impl AsRef<str>>) -> Arc<[u64]> {
    let mut ids: Vec<u64> = terms.into_iter().map(|t| fnv1a(t.as_ref().as_bytes())).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into()
}

/// FNV-1a, 64 bits: short keys, no state, the same in every process.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
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

/// How alike `a` and `b` are, the other signals weighed by `w`.
pub fn likeness(a: &Facts, b: &Facts, w: &Weights) -> Likeness {
    let text = jaccard(common_sorted(&a.terms, &b.terms), a.terms.len(), b.terms.len());
    let same_asker = (a.phone.is_some() && a.phone == b.phone)
        || a.credit_code.as_ref().is_some_and(|c| b.credit_code.as_ref() == Some(c));
    let same_place = a.address.is_some() && a.address == b.address;
    let same_category_and_town = a.category == b.category && a.town.is_some() && a.town == b.town;
    let score = text
        + if same_asker { w.same_asker } else { 0.0 }
        + if same_place { w.same_place } else { 0.0 }
        + if same_category_and_town { w.same_category_and_town } else { 0.0 };
    Likeness { text, same_asker, same_place, score: score.min(1.0) }
}

/// The share of their distinct terms two sets have in common, from the count in common and their sizes.
fn jaccard(common: usize, a: usize, b: usize) -> f64 {
    let union = a + b - common;
    if union == 0 { 0.0 } else { common as f64 / union as f64 }
}

/// The candidates at least [`Thresholds::similarity`] alike to `target` (under the thresholds'
/// weights), most alike first, at most `top`: (index into `candidates`, likeness).
pub fn rank(
    target: &Facts,
    candidates: &[impl std::borrow::Borrow<Facts>],
    top: usize,
    t: &Thresholds,
) -> Vec<(usize, Likeness)> {
    let mut alike: Vec<(usize, Likeness)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (i, likeness(target, c.borrow(), &t.weights)))
        .filter(|(_, l)| l.score >= t.similarity)
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

/// Hot issues among `items` under the thresholds `t`: requests of one place (town, or address
/// without one) linked when their likeness is at least [`Thresholds::hot_similarity`]; requests of
/// different towns linked when their words alone are at least [`Thresholds::cross_town_similarity`]
/// alike (跨镇街); and every group of linked requests (a link of links joins) with at least
/// [`Thresholds::hot_min_size`] members. Each as indices into `items`, ascending; the largest first
/// (then the one whose first member comes first).
///
/// Within a place every pair is compared (quadratic in the place's requests); across towns only the
/// pairs that share one of the rarest words each must have at that threshold (prefix filtering: a
/// pair with a share `s` of its words in common has one in common among the first
/// `n − ⌈s·n⌉ + 1` of either's `n` words, rarest first), so the city-wide pass is quadratic only in
/// the worst case of words every request has.
pub fn hot_clusters(items: &[Facts], t: &Thresholds) -> Vec<Vec<usize>> {
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
    fn join(parent: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (root(parent, a), root(parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    for members in places.values() {
        for (n, &a) in members.iter().enumerate() {
            for &b in &members[n + 1..] {
                if root(&mut parent, a) == root(&mut parent, b) || !same_place(&items[a], &items[b]) {
                    continue;
                }
                if likeness(&items[a], &items[b], &t.weights).score >= t.hot_similarity {
                    join(&mut parent, a, b);
                }
            }
        }
    }
    across_towns(items, t.cross_town_similarity, |a, b| join(&mut parent, a, b));
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let min_size = t.hot_min_size.max(2) as usize;
    let mut clusters: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= min_size).collect();
    clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    clusters
}

/// Calls `link(a, b)` (a < b) for every pair of requests of two different towns whose words alone are
/// at least `threshold` alike, by prefix filtering over the words ordered rarest first.
fn across_towns(items: &[Facts], threshold: f64, mut link: impl FnMut(usize, usize)) {
    let towned = |i: &&Facts| i.town.is_some();
    let mut frequency: HashMap<u64, usize> = HashMap::new();
    for item in items.iter().filter(towned) {
        for term in item.terms.iter() {
            *frequency.entry(*term).or_insert(0) += 1;
        }
    }
    let mut order: Vec<(u64, usize)> = frequency.into_iter().collect();
    order.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let rank: HashMap<u64, u32> = order.iter().zip(0u32..).map(|((term, _), r)| (*term, r)).collect();
    let words: Vec<Vec<u32>> = items
        .iter()
        .map(|item| {
            let mut ids: Vec<u32> = match item.town {
                Some(_) => item.terms.iter().filter_map(|t| rank.get(t).copied()).collect(),
                None => Vec::new(),
            };
            ids.sort_unstable();
            ids
        })
        .collect();
    // Word → the requests (before the one at hand) that have it among their rarest.
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (b, ids) in words.iter().enumerate() {
        if ids.is_empty() {
            continue;
        }
        // The fewest words in common a pair at the threshold has; a hair below so rounding never drops one.
        let needed = ((threshold * ids.len() as f64) - 1e-9).ceil().max(1.0) as usize;
        let prefix = &ids[..(ids.len() + 1).saturating_sub(needed).min(ids.len())];
        let candidates: BTreeSet<usize> = prefix.iter().filter_map(|w| index.get(w)).flatten().copied().collect();
        for a in candidates {
            if items[a].town == items[b].town {
                continue;
            }
            let common = common_sorted(&words[a], ids);
            if jaccard(common, words[a].len(), ids.len()) >= threshold {
                link(a, b);
            }
        }
        for w in prefix {
            index.entry(*w).or_default().push(b);
        }
    }
}

/// How many values two ascending slices have in common.
fn common_sorted<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => (i, j, n) = (i + 1, j + 1, n + 1),
        }
    }
    n
}

/// The member of a cluster most typical of it: the one whose terms are the most common among the
/// members (by the share of its terms' counts), the first on a tie. `None` for an empty cluster.
pub fn typical(items: &[Facts], members: &[usize]) -> Option<usize> {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for &m in members {
        for term in items[m].terms.iter() {
            *counts.entry(*term).or_insert(0) += 1;
        }
    }
    let weight = |m: usize| {
        let terms = &items[m].terms;
        let sum: usize = terms.iter().map(|t| counts.get(t).copied().unwrap_or(0)).sum();
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

    #[test]
    fn term_ids_are_ascending_once_each_and_the_same_for_the_same_words() {
        let ids = term_ids(["路灯", "不亮", "路灯", "夜间"]);
        assert_eq!(ids.len(), 3);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(ids, term_ids(["夜间", "不亮", "路灯"]));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a's published value");
    }

    fn facts(terms: &str, phone: &str, address: Option<&str>, category: CategoryId) -> Facts {
        Facts {
            terms: term_ids(terms.split(' ')),
            phone: phone_key(phone),
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
        let l = likeness(&first, &second, &Weights::default());
        assert_eq!(l.text, 3.0 / 5.0);
        assert!(!l.same_asker && !l.same_place);
        assert!((l.score - 0.7).abs() < 1e-9, "{l:?}");
        assert!(l.is_likely());
        assert!(!likeness(&first, &other, &Weights::default()).is_likely());
        let ranked = rank(&first, &[other.clone(), second.clone()], 5, &Thresholds::default());
        assert_eq!(ranked.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn the_same_asker_or_place_adds_to_a_partial_overlap() {
        let a = facts("噪音 施工 夜间 扰民", "13800000001", Some("岐关西路5号"), 1);
        let b = facts("噪音 装修 周末", "13800000001", None, 3);
        let l = likeness(&a, &b, &Weights::default());
        assert!(l.same_asker && !l.same_place);
        assert!((l.score - (1.0 / 6.0 + Weights::default().same_asker)).abs() < 1e-9);
        assert!(!l.is_likely(), "one shared word and the same caller is not yet the same matter");
        let c = facts("噪音 施工 周末", "13800000001", Some("岐关西路5号"), 1);
        let l = likeness(&a, &c, &Weights::default());
        assert!(l.same_asker && l.same_place && l.is_likely(), "{l:?}");
        assert!(l.score <= 1.0);
    }

    #[test]
    fn empty_texts_share_nothing_and_a_credit_code_names_the_asker() {
        let mut a = facts("", "", None, 1);
        a.terms = term_ids(Vec::<&str>::new());
        let mut b = a.clone();
        assert_eq!(likeness(&a, &b, &Weights::default()).text, 0.0);
        assert!(!likeness(&a, &b, &Weights::default()).same_asker, "no phone is not the same phone");
        a.credit_code = Some("91442000MA4W000000".into());
        b.credit_code = a.credit_code.clone();
        assert!(likeness(&a, &b, &Weights::default()).same_asker);
    }

    fn at(terms: &str, town: Option<UnitId>, address: Option<&str>, phone: &str) -> Facts {
        Facts {
            terms: term_ids(terms.split(' ')),
            phone: phone_key(phone),
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
            // Some of the flooding's words in another town: too few in common to join across towns.
            at("岐江路 积水 严重 排水 泵站 故障", Some(3), None, "13800000010"),
        ];
        let clusters = hot_clusters(&items, &hot(0.3, 3, 0.5));
        assert_eq!(clusters, vec![vec![0, 2, 4, 8], vec![3, 5, 7]]);
        // A larger minimum leaves only the flooding; a stricter likeness splits it.
        assert_eq!(hot_clusters(&items, &hot(0.3, 4, 0.5)), vec![vec![0, 2, 4, 8]]);
        assert!(hot_clusters(&items, &hot(0.9, 3, 0.95)).is_empty());
        // A lower cross-town threshold takes the other town's report in (3 of 8 words with item 4).
        assert_eq!(hot_clusters(&items, &hot(0.3, 3, 0.35))[0], vec![0, 2, 4, 8, 9]);
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
        assert_eq!(hot_clusters(&items, &hot(0.3, 2, 0.5)), vec![vec![0, 1]]);
        assert!(hot_clusters(&items, &hot(0.3, 1, 0.5)).iter().all(|c| c.len() >= 2), "a cluster is never one request");
    }

    #[test]
    fn thresholds_and_weights_are_checked_with_chinese_messages() {
        let with = |f: fn(&mut Thresholds)| {
            let mut t = Thresholds::default();
            f(&mut t);
            t.checked()
        };
        let ok = with(|t| (t.similarity, t.weights.same_place) = (0.456, 0.333)).unwrap();
        assert_eq!((ok.similarity, ok.weights.same_place), (0.46, 0.33));
        assert_eq!(
            with(|t| t.weights = Weights { same_asker: 0.0, same_place: 0.5, same_category_and_town: 0.0 })
                .unwrap()
                .weights
                .same_place,
            0.5
        );
        let code = |r: Result<Thresholds, DomainError>| {
            let e = r.unwrap_err();
            assert!(e.message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{e:?}");
            e.code
        };
        assert_eq!(code(with(|t| t.similarity = 1.5)), "invalid_similarity");
        assert_eq!(code(with(|t| t.similarity = f64::NAN)), "invalid_similarity");
        assert_eq!(code(with(|t| t.window_days = 0)), "invalid_window_days");
        assert_eq!(code(with(|t| t.hot_min_size = 1)), "invalid_hot_min_size");
        assert_eq!(code(with(|t| t.hot_window_days = 32)), "invalid_hot_window_days");
        assert_eq!(code(with(|t| t.hot_similarity = 0.05)), "invalid_hot_similarity");
        assert_eq!(code(with(|t| t.cross_town_similarity = 0.99)), "invalid_cross_town_similarity");
        assert_eq!(code(with(|t| t.weights.same_asker = 0.51)), "invalid_same_asker_weight");
        assert_eq!(code(with(|t| t.weights.same_place = -0.01)), "invalid_same_place_weight");
        assert_eq!(
            code(with(|t| t.weights.same_category_and_town = f64::NAN)),
            "invalid_same_category_and_town_weight"
        );
        assert_eq!(Thresholds::default().checked(), Ok(Thresholds::default()));
    }

    #[test]
    fn a_weight_decides_whether_a_pair_is_likely() {
        // Half the words in common (0.4 with the other six): likely only with the same caller's 0.25.
        let a = facts("噪音 施工 夜间 扰民 工地 凌晨", "13800000001", None, 1);
        let b = facts("噪音 施工 夜间 扰民 装修 周末 楼上 电钻", "13800000001", None, 3);
        let mut t = Thresholds::default();
        let text = likeness(&a, &b, &t.weights).text;
        assert!((text - 0.4).abs() < 1e-9, "{text}");
        assert_eq!(rank(&a, std::slice::from_ref(&b), 5, &t).len(), 1);
        t.weights.same_asker = 0.0;
        assert!(rank(&a, std::slice::from_ref(&b), 5, &t).is_empty(), "the words alone are not enough");
        // Another caller, same category and town: 0.4 + 0.1 is likely; with that weight at 0 it is not.
        let c = facts("噪音 施工 夜间 扰民 装修 周末 楼上 电钻", "13900000009", None, 1);
        t.weights.same_category_and_town = 0.1;
        assert!((likeness(&a, &c, &t.weights).score - 0.5).abs() < 1e-9);
        assert_eq!(rank(&a, std::slice::from_ref(&c), 5, &t).len(), 1);
        t.weights.same_category_and_town = 0.0;
        assert!(rank(&a, std::slice::from_ref(&c), 5, &t).is_empty());
    }

    fn hot(similarity: f64, min_size: u32, cross_town: f64) -> Thresholds {
        Thresholds {
            hot_similarity: similarity,
            hot_min_size: min_size,
            cross_town_similarity: cross_town,
            ..Thresholds::default()
        }
    }

    #[test]
    fn one_rivers_pollution_reported_from_several_towns_is_one_hot_issue_and_near_words_are_not() {
        let items = [
            at("岐江河 河水 发黑 发臭 死鱼 污染", Some(1), Some("石岐岐江河"), "1"),
            at("岐江河 河水 发黑 发臭 污染 严重", Some(2), Some("东区岐江河段"), "2"),
            at("岐江河 河水 发臭 死鱼 污染 排污", Some(3), None, "3"),
            at("路灯 不亮", Some(3), None, "4"),
            at("岐江河 河水 发黑 死鱼 污染", Some(4), None, "5"),
            // Some of its words, fewer than half in common with any of them: another matter.
            at("岐江河 游船 码头 收费 太贵", Some(5), None, "6"),
        ];
        // One report a town: no place has two, yet across towns they are one matter.
        let clusters = hot_clusters(&items, &hot(0.3, 3, 0.5));
        assert_eq!(clusters, vec![vec![0, 1, 2, 4]]);
        // Above the threshold the words are not enough.
        assert!(hot_clusters(&items, &hot(0.3, 3, 0.9)).is_empty());
    }

    #[test]
    fn the_cross_town_pass_finds_every_pair_a_comparison_of_all_pairs_finds() {
        let words = ["河水", "发黑", "发臭", "死鱼", "污染", "排污", "岐江河", "路灯", "不亮", "噪音", "施工"];
        // Deterministic variety: each item takes the words its index's bits pick.
        let items: Vec<Facts> = (1u32..200)
            .map(|n| {
                let terms: Vec<&str> = words
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| (n.wrapping_mul(2_654_435_761) >> b) & 1 == 1)
                    .map(|(_, w)| *w)
                    .collect();
                at(&terms.join(" "), Some(i64::from(n % 7)), None, "1")
            })
            .collect();
        for threshold in [0.1, 0.3, 0.5, 0.67, 0.9] {
            let mut found = Vec::new();
            across_towns(&items, threshold, |a, b| found.push((a, b)));
            found.sort_unstable();
            let mut all = Vec::new();
            for a in 0..items.len() {
                for b in a + 1..items.len() {
                    if items[a].town != items[b].town
                        && likeness(&items[a], &items[b], &Weights::default()).text >= threshold
                    {
                        all.push((a, b));
                    }
                }
            }
            assert!(!all.is_empty(), "{threshold}");
            assert_eq!(found, all, "{threshold}");
        }
    }

    #[test]
    fn a_lower_threshold_lists_more() {
        let a = facts("噪音 施工 夜间 扰民", "13800000001", None, 1);
        let b = facts("噪音 施工 周末", "13900000002", None, 3);
        assert!(rank(&a, std::slice::from_ref(&b), 5, &Thresholds::default()).is_empty());
        let lower = Thresholds { similarity: 0.3, ..Thresholds::default() };
        assert_eq!(rank(&a, std::slice::from_ref(&b), 5, &lower).len(), 1);
    }
}
