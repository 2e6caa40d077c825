//! Dispatch suggestions (派单建议): which units most likely lead a new request, learned from the
//! requests the city has closed, and combined with the dispatch catalogue (派单目录).
//!
//! The model is a naive Bayes classifier over a request's features — its words and character
//! bigrams, category, town, kind and channel, given here as strings — with each feature counted once
//! per request. It is trained in a pass over the examples and ranks units in time linear in the
//! features of one request, so it runs inside the platform with nothing else installed. Pure: the
//! caller turns text into features and reads the history.
//!
//! A correction teaches twice: the request counts for the unit that finally led it, and against each
//! unit a re-dispatch (改派) after its return (退单) took it from ([`superseded_leads`]). Such
//! a unit's counts of the request's features are lowered by one (never below none), so that words a
//! unit keeps returning stop speaking for it.
//!
//! A model ranks labels: lead units, or — trained on the same history without the category among
//! the features — categories (事项分类), to suggest one where the asker's choice is in doubt.
//! Both are i64 ids ([`Label`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::event::EventDetails;
use crate::org::UnitId;
use crate::request::{Event, EventKind};

/// What a model ranks: a unit's id ([`UnitId`]) or a category's ([`crate::request::CategoryId`]).
pub type Label = i64;

/// Additive (Lidstone) smoothing of the per-unit feature counts.
const ALPHA: f64 = 0.5;

/// The shares of the probability mass a catalogue rule may be given against the model (see
/// [`blend`]); [`choose_rule_weight`] picks one per training by what held-out history says.
pub const RULE_WEIGHTS: [f64; 4] = [0.3, 0.5, 0.7, 0.9];

/// A closed request as the model learns from it: its features, the unit that finally led it —
/// after any return (退单) or re-dispatch (改派) — and the units it was taken from on the way.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<String>,
    pub unit: UnitId,
    /// The leads a re-dispatch replaced ([`superseded_leads`]): negative evidence.
    pub superseded: Vec<UnitId>,
}

/// A label (unit or category) the model ranks, with its probability and the features that most favour it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub label: Label,
    /// The posterior probability, 0–1, over the labels the model knows.
    pub probability: f64,
    /// Up to five of the request's features that speak most for this label against the others ranked.
    pub evidence: Vec<String>,
}

/// A trained model.
#[derive(Debug, Clone, Default)]
pub struct Model {
    labels: Vec<Label>,
    /// ln P(unit).
    log_prior: Vec<f64>,
    /// ln P(feature | unit) of a feature never seen with the unit.
    log_unseen: Vec<f64>,
    /// Per feature: the units it was seen with and ln((count + α) / α), its gain over unseen.
    features: HashMap<String, Vec<(u32, f32)>>,
    examples: usize,
    corrections: usize,
}

/// Counts examples one at a time, so that a long history is learned without holding it.
#[derive(Debug, Default)]
pub struct Trainer {
    label_index: HashMap<Label, u32>,
    labels: Vec<Label>,
    docs_per_label: Vec<u64>,
    features_per_label: Vec<u64>,
    counts: HashMap<String, HashMap<u32, u32>>,
    /// Per feature: the labels corrected away from on requests with it, and how often.
    corrected: HashMap<String, HashMap<Label, u32>>,
    corrections: usize,
    total: usize,
}

impl Trainer {
    /// Learns one closed request: its features (a repeat counts once) and its label (the unit that
    /// led it, or its category).
    pub fn add(&mut self, features: &[String], label: Label) {
        let u = *self.label_index.entry(label).or_insert_with(|| {
            self.labels.push(label);
            self.docs_per_label.push(0);
            self.features_per_label.push(0);
            u32::try_from(self.labels.len() - 1).unwrap_or(u32::MAX)
        });
        self.docs_per_label[u as usize] += 1;
        self.total += 1;
        for feature in distinct(features) {
            *self.counts.entry(feature.to_owned()).or_default().entry(u).or_default() += 1;
            self.features_per_label[u as usize] += 1;
        }
    }

    /// Learns that a request with these features was wrongly given to `label`: a re-dispatch took it
    /// away ([`superseded_leads`]). Each feature then counts once less for the label when the model is
    /// made, whenever the label's own examples are added.
    pub fn add_correction(&mut self, features: &[String], label: Label) {
        self.corrections += 1;
        for feature in distinct(features) {
            *self.corrected.entry(feature.to_owned()).or_default().entry(label).or_default() += 1;
        }
    }

    /// The number of examples added.
    pub fn examples(&self) -> usize {
        self.total
    }

    /// The model of what was added so far; more may be added after.
    pub fn model(&self) -> Model {
        let vocabulary = self.counts.len() as f64;
        let total = self.total.max(1) as f64;
        let log_prior = self.docs_per_label.iter().map(|&d| (d as f64 / total).ln()).collect();
        let log_unseen =
            self.features_per_label.iter().map(|&n| (ALPHA / (n as f64 + ALPHA * vocabulary.max(1.0))).ln()).collect();
        let features = self
            .counts
            .iter()
            .map(|(feature, by_unit)| {
                let corrected = self.corrected.get(feature);
                let against =
                    |u: u32| corrected.and_then(|c| c.get(&self.labels[u as usize])).copied().unwrap_or_default();
                let mut gains: Vec<(u32, f32)> = by_unit
                    .iter()
                    .map(|(&u, &c)| (u, c.saturating_sub(against(u))))
                    .filter(|(_, c)| *c > 0)
                    .map(|(u, c)| (u, ((f64::from(c) + ALPHA) / ALPHA).ln() as f32))
                    .collect();
                gains.sort_unstable_by_key(|(u, _)| *u);
                (feature.clone(), gains)
            })
            .collect();
        Model {
            labels: self.labels.clone(),
            log_prior,
            log_unseen,
            features,
            examples: self.total,
            corrections: self.corrections,
        }
    }
}

impl Model {
    /// Learns from the examples (see [`Trainer`]).
    pub fn train<'a>(examples: impl IntoIterator<Item = &'a Example>) -> Self {
        let mut trainer = Trainer::default();
        for e in examples {
            trainer.add(&e.features, e.unit);
            e.superseded.iter().for_each(|&u| trainer.add_correction(&e.features, u));
        }
        trainer.model()
    }

    /// The number of examples learned from.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// The number of corrections learned: units a request was taken from by a re-dispatch.
    pub fn corrections(&self) -> usize {
        self.corrections
    }

    /// The number of labels (units or categories) the model can name.
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// The number of distinct features seen.
    pub fn vocabulary(&self) -> usize {
        self.features.len()
    }

    /// The `top` most likely labels (lead units or categories) for a request with these features, most likely first.
    /// Features the model never saw are ignored; with none known the ranking is by how often each
    /// unit led. Empty when the model learned nothing.
    pub fn rank(&self, features: &[String], top: usize) -> Vec<Ranked> {
        if self.labels.is_empty() || top == 0 {
            return Vec::new();
        }
        let known: Vec<(&str, &[(u32, f32)])> =
            distinct(features).filter_map(|f| self.features.get(f).map(|gains| (f, gains.as_slice()))).collect();
        let mut scores: Vec<f64> = self
            .log_prior
            .iter()
            .zip(&self.log_unseen)
            .map(|(prior, unseen)| prior + unseen * known.len() as f64)
            .collect();
        for (_, gains) in &known {
            for (u, gain) in *gains {
                scores[*u as usize] += f64::from(*gain);
            }
        }
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = scores.iter().map(|s| (s - best).exp()).collect();
        let sum: f64 = weights.iter().sum();
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(self.labels[*a].cmp(&self.labels[*b])));
        order.truncate(top);
        let gain_of = |gains: &[(u32, f32)], u: usize| {
            gains.binary_search_by_key(&(u as u32), |(x, _)| *x).map_or(0.0, |i| f64::from(gains[i].1))
        };
        order
            .iter()
            .map(|&u| {
                // A feature speaks for u by how much more likely it makes u than the other ranked units.
                let mut evidence: Vec<(f64, &str)> = known
                    .iter()
                    .map(|(f, gains)| {
                        let here = self.log_unseen[u] + gain_of(gains, u);
                        let others = order.iter().filter(|&&o| o != u);
                        let (sum, n) = others
                            .fold((0.0, 0usize), |(s, n), &o| (s + self.log_unseen[o] + gain_of(gains, o), n + 1));
                        (if n == 0 { here } else { here - sum / n as f64 }, *f)
                    })
                    .filter(|(lift, _)| *lift > 0.0)
                    .collect();
                evidence.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
                Ranked {
                    label: self.labels[u],
                    probability: weights[u] / sum,
                    evidence: evidence.into_iter().take(5).map(|(_, f)| f.to_owned()).collect(),
                }
            })
            .collect()
    }
}

/// The model's ranking combined with the catalogue's rule for the request's category: the rule's
/// unit gains `rule_weight` of the probability mass, the model keeps the rest. With no rule the
/// model stands alone; with no model the rule's unit alone is named, with probability 1.
pub fn blend(ranked: Vec<Ranked>, rule: Option<UnitId>, rule_weight: f64, top: usize) -> Vec<Ranked> {
    let Some(rule) = rule else {
        return ranked.into_iter().take(top).collect();
    };
    let model_weight = if ranked.is_empty() { 0.0 } else { 1.0 - rule_weight };
    let mut out: Vec<Ranked> =
        ranked.into_iter().map(|r| Ranked { probability: r.probability * model_weight, ..r }).collect();
    match out.iter_mut().find(|r| r.label == rule) {
        Some(r) => r.probability += 1.0 - model_weight,
        None => out.push(Ranked { label: rule, probability: 1.0 - model_weight, evidence: Vec::new() }),
    }
    out.sort_by(|a, b| b.probability.total_cmp(&a.probability).then(a.label.cmp(&b.label)));
    out.truncate(top);
    out
}

/// The units that returned a request (退单) and whose return stood — the dispatcher sent it on (改派)
/// or is about to, rather than refusing the return (退单不予同意) — in the order they returned it, each
/// once. They are the request's negative evidence: not to be suggested for it again.
pub fn returning_units(history: &[Event]) -> Vec<UnitId> {
    let mut units: Vec<UnitId> = Vec::new();
    let mut pending: Option<UnitId> = None;
    for event in history {
        match (&event.kind, &event.details) {
            (EventKind::Returned, EventDetails::Returned(r)) => pending = r.returned_by_unit_id,
            (EventKind::ReturnRefused, _) => pending = None,
            (EventKind::Redispatched, _) => units.extend(pending.take()),
            _ => {}
        }
    }
    units.extend(pending);
    let mut seen = std::collections::HashSet::new();
    units.retain(|u| seen.insert(*u));
    units
}

/// The units a re-dispatch (改派) took the request from after their return (退单), in order, each
/// once, leaving out the unit that leads it in the end. They are what the model learns the request
/// was not for. A re-dispatch recorded without its previous lead replaced the last one dispatched.
pub fn superseded_leads(history: &[Event]) -> Vec<UnitId> {
    let mut lead: Option<UnitId> = None;
    let mut units: Vec<UnitId> = Vec::new();
    for event in history {
        match &event.details {
            EventDetails::Dispatched(d) => lead = Some(d.lead_unit_id),
            EventDetails::Redispatched(d) => {
                units.extend(d.previous_lead_unit_id.or(lead).filter(|&u| u != d.lead_unit_id));
                lead = Some(d.lead_unit_id);
            }
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    units.retain(|u| Some(*u) != lead && seen.insert(*u));
    units
}

/// `ranked` without the units in `excluded`, the others' probabilities scaled up to what they are
/// given that the excluded are wrong (P(u | not excluded) = P(u) / (1 − P(excluded))), then the first `top`.
pub fn without(ranked: Vec<Ranked>, excluded: &[Label], top: usize) -> Vec<Ranked> {
    let gone: f64 = ranked.iter().filter(|r| excluded.contains(&r.label)).map(|r| r.probability).sum();
    let left = 1.0 - gone;
    ranked
        .into_iter()
        .filter(|r| !excluded.contains(&r.label))
        .map(|r| Ranked {
            probability: if left > f64::EPSILON { (r.probability / left).min(1.0) } else { r.probability },
            ..r
        })
        .take(top)
        .collect()
}

/// A held-out request for choosing the rule's weight: its features, the rule's label (its
/// category's catalogue unit, or the category its keywords name) and its label (the unit that led
/// it, or its category).
#[derive(Debug, Clone)]
pub struct Held {
    pub features: Vec<String>,
    pub rule: Option<Label>,
    pub label: Label,
}

/// The weight of [`RULE_WEIGHTS`] whose blend names the leading unit first most often on the
/// held-out requests (then in the first three most often; ties go to the heavier rule, which a
/// person can check against the catalogue). With nothing held out, the heaviest.
pub fn choose_rule_weight(model: &Model, held: &[Held], top: usize) -> f64 {
    let ranked: Vec<Vec<Ranked>> = held.iter().map(|h| model.rank(&h.features, top)).collect();
    let mut best = (RULE_WEIGHTS[RULE_WEIGHTS.len() - 1], 0, 0);
    for &weight in RULE_WEIGHTS.iter().rev() {
        let mut tally = Tally::default();
        for (h, r) in held.iter().zip(&ranked) {
            let units: Vec<UnitId> = blend(r.clone(), h.rule, weight, top).iter().map(|x| x.label).collect();
            tally.add(h.label, &units);
        }
        if (tally.top1, tally.top3) > (best.1, best.2) {
            best = (weight, tally.top1, tally.top3);
        }
    }
    best.0
}

/// Accuracy counts of suggestions against the units that actually led.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub total: u64,
    pub top1: u64,
    pub top3: u64,
    /// Per actual unit: (requests, right first).
    pub per_unit: HashMap<UnitId, (u64, u64)>,
    /// (actual, suggested first) → requests, for wrong first suggestions.
    pub confused: HashMap<(UnitId, UnitId), u64>,
}

impl Tally {
    /// Counts one request: the unit that led it and the suggestions, best first.
    pub fn add(&mut self, actual: UnitId, suggested: &[UnitId]) {
        self.total += 1;
        let entry = self.per_unit.entry(actual).or_default();
        entry.0 += 1;
        match suggested.first() {
            Some(first) if *first == actual => {
                self.top1 += 1;
                entry.1 += 1;
            }
            Some(first) => *self.confused.entry((actual, *first)).or_default() += 1,
            None => {}
        }
        if suggested.iter().take(3).any(|u| *u == actual) {
            self.top3 += 1;
        }
    }

    /// Top-1 accuracy, 0–1 (0 with nothing counted).
    pub fn top1_rate(&self) -> f64 {
        ratio(self.top1, self.total)
    }

    /// Top-3 accuracy, 0–1.
    pub fn top3_rate(&self) -> f64 {
        ratio(self.top3, self.total)
    }

    /// The most frequent wrong first suggestions, most first: (actual, suggested, requests).
    pub fn most_confused(&self, n: usize) -> Vec<(UnitId, UnitId, u64)> {
        let mut pairs: Vec<_> = self.confused.iter().map(|(&(a, s), &c)| (a, s, c)).collect();
        pairs.sort_by(|x, y| y.2.cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
        pairs.truncate(n);
        pairs
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// The features in first-seen order, each once.
fn distinct(features: &[String]) -> impl Iterator<Item = &str> {
    let mut seen = std::collections::HashSet::new();
    features.iter().map(String::as_str).filter(move |f| seen.insert(*f))
}

/// The confidence an administrator may require for automatic dispatch (自动派单).
pub const AUTO_CONFIDENCE_RANGE: (f64, f64) = (0.5, 0.99);

/// Automatic dispatch of one category: a request of it, once taken in, goes at once to the unit
/// suggested first when that suggestion's confidence is at least `min_confidence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoRule {
    /// The category's code.
    pub category: String,
    /// 0.5–0.99, two decimals.
    pub min_confidence: f64,
}

/// The categories dispatched automatically, as an administrator sets them; none by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoRules(Vec<AutoRule>);

impl AutoRules {
    /// Checks what an administrator submits (each confidence in [`AUTO_CONFIDENCE_RANGE`], no
    /// category twice); confidences are kept to two decimals, rules sorted by category. Whether
    /// each category exists is for the caller, who holds the catalogue.
    pub fn new(rules: Vec<AutoRule>) -> Result<Self, DomainError> {
        let (lo, hi) = AUTO_CONFIDENCE_RANGE;
        let mut checked = Vec::with_capacity(rules.len());
        for rule in rules {
            let x = rule.min_confidence;
            if x.is_nan() || !(lo..=hi).contains(&x) {
                return Err(DomainError::invalid(
                    "invalid_auto_confidence",
                    format!("「{}」的自动派单置信度应在 {lo} 到 {hi} 之间", rule.category),
                ));
            }
            checked.push(AutoRule { min_confidence: (x * 100.0).round() / 100.0, ..rule });
        }
        checked.sort_by(|a, b| a.category.cmp(&b.category));
        if let Some(twice) = checked.windows(2).find(|w| w[0].category == w[1].category) {
            return Err(DomainError::invalid(
                "duplicate_auto_category",
                format!("事项分类「{}」的自动派单设置重复", twice[0].category),
            ));
        }
        Ok(Self(checked))
    }

    pub fn rules(&self) -> &[AutoRule] {
        &self.0
    }

    /// The confidence a suggestion needs for a request of `category` to be dispatched
    /// automatically; none when the category is dispatched by people.
    pub fn min_confidence(&self, category: &str) -> Option<f64> {
        self.0.iter().find(|r| r.category == category).map(|r| r.min_confidence)
    }

    /// Whether a first suggestion of `confidence` dispatches a request of `category`.
    pub fn dispatches(&self, category: &str, confidence: f64) -> bool {
        self.min_confidence(category).is_some_and(|min| confidence >= min)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn example(words: &str, unit: UnitId) -> Example {
        Example { features: words.split(' ').map(str::to_owned).collect(), unit, superseded: Vec::new() }
    }

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    fn history() -> Vec<Example> {
        let mut h = Vec::new();
        for _ in 0..20 {
            h.push(example("工资 拖欠 劳动 cat:labour", 1));
            h.push(example("噪音 施工 夜间 cat:noise", 2));
            h.push(example("污水 河涌 排放 cat:water", 3));
        }
        h.push(example("工资 河涌 cat:labour", 3)); // a noisy label
        h
    }

    fn happened(kind: EventKind, returned_by: Option<UnitId>) -> Event {
        let details = match kind {
            EventKind::Returned => EventDetails::Returned(crate::event::Returned { returned_by_unit_id: returned_by }),
            _ => EventDetails::None,
        };
        happened_with(kind, details, returned_by)
    }

    fn dispatched(kind: EventKind, lead: UnitId, previous: Option<UnitId>) -> Event {
        use crate::event::{Dispatched, Redispatched};
        let (co_unit_ids, sign_due_at) = (Vec::new(), None);
        let details = match kind {
            EventKind::Dispatched => {
                EventDetails::Dispatched(Dispatched { lead_unit_id: lead, co_unit_ids, sign_due_at })
            }
            _ => EventDetails::Redispatched(Redispatched {
                lead_unit_id: lead,
                co_unit_ids,
                previous_lead_unit_id: previous,
                sign_due_at,
            }),
        };
        happened_with(kind, details, None)
    }

    fn happened_with(kind: EventKind, details: EventDetails, actor_unit_id: Option<UnitId>) -> Event {
        Event {
            id: 0,
            request_id: 1,
            seq: 0,
            at: crate::time::parse_instant("2026-12-01T10:00:00+08:00").unwrap(),
            kind,
            actor_user_id: None,
            actor_name: String::new(),
            actor_role: String::new(),
            actor_unit_id,
            client_ip: None,
            from_state: None,
            to_state: crate::request::State::Received,
            comment: None,
            details,
            attachment_ids: Vec::new(),
            due_at: None,
        }
    }

    #[test]
    fn the_units_whose_returns_stood_are_negative_evidence_once_each_and_refused_returns_are_not() {
        use EventKind::{Dispatched, Received, Redispatched, ReturnRefused, Returned};
        let history = [
            happened(Received, None),
            happened(Dispatched, None),
            happened(Returned, Some(7)),
            happened(ReturnRefused, None),
            happened(Returned, Some(7)),
            happened(Redispatched, None),
            happened(Returned, Some(9)),
            happened(Redispatched, None),
            happened(Returned, Some(7)),
            happened(Redispatched, None),
        ];
        assert_eq!(returning_units(&history), [7, 9]);
        assert_eq!(returning_units(&history[..4]), Vec::<UnitId>::new(), "a refused return is no evidence");
        assert_eq!(returning_units(&history[..7]), [7, 9], "a return awaiting review counts");
    }

    #[test]
    fn the_leads_a_redispatch_replaced_are_corrections_once_each_and_the_final_lead_is_not() {
        use EventKind::{Dispatched, Received, Redispatched, ReturnRefused, Returned};
        let history = [
            happened(Received, None),
            dispatched(Dispatched, 7, None),
            happened(Returned, Some(7)),
            happened(ReturnRefused, None),
            happened(Returned, Some(7)),
            dispatched(Redispatched, 9, Some(7)),
            dispatched(Redispatched, 7, None), // an older event, with no previous lead recorded
            dispatched(Redispatched, 5, Some(7)),
        ];
        assert_eq!(superseded_leads(&history), [7, 9]);
        assert_eq!(superseded_leads(&history[..5]), Vec::<UnitId>::new(), "a return alone corrects nothing");
        assert_eq!(superseded_leads(&history[..7]), [9], "the unit that leads in the end is no correction");
    }

    #[test]
    fn a_correction_takes_the_words_away_from_the_unit_it_was_taken_from() {
        // Unit 4 leads dust complaints about construction; noisy construction belongs to unit 2, and
        // six such requests were taken from unit 4 by a re-dispatch.
        let mut h = history();
        h.extend((0..6).map(|_| example("施工 噪音 扬尘", 4)));
        let asked = words("施工 噪音 扬尘");
        assert_eq!(Model::train(&h).rank(&asked, 1)[0].label, 4);
        let corrected = Example { superseded: vec![4], ..example("施工 噪音 夜间", 2) };
        h.extend((0..6).map(|_| corrected.clone()));
        let uncorrected: Vec<Example> = h.iter().map(|e| Example { superseded: Vec::new(), ..e.clone() }).collect();
        assert_eq!(
            Model::train(&uncorrected).rank(&asked, 1)[0].label,
            4,
            "six more for unit 2 alone do not outweigh it"
        );
        let after = Model::train(&h);
        assert_eq!(after.rank(&asked, 1)[0].label, 2, "the corrections do");
        assert_eq!((after.examples(), after.corrections()), (73, 6));
        assert_eq!(after.rank(&words("扬尘"), 1)[0].label, 4, "words never corrected still speak for the unit");
        // A correction away from a unit that never led the words, or never led at all, changes nothing.
        let stray = example("工资 拖欠", 1);
        let (mut with_stray, mut plain) = (history(), history());
        with_stray.push(Example { superseded: vec![2, 99], ..stray.clone() });
        plain.push(stray);
        let asked = words("工资 拖欠 噪音");
        assert_eq!(Model::train(&with_stray).rank(&asked, 3), Model::train(&plain).rank(&asked, 3));
    }

    #[test]
    fn without_the_returning_units_the_others_keep_their_order_and_share_their_mass() {
        let ranked = |pairs: &[(Label, f64)]| -> Vec<Ranked> {
            pairs.iter().map(|&(label, probability)| Ranked { label, probability, evidence: Vec::new() }).collect()
        };
        let left = without(ranked(&[(7, 0.6), (3, 0.3), (2, 0.08), (5, 0.02)]), &[7], 2);
        assert_eq!(left.iter().map(|r| r.label).collect::<Vec<_>>(), [3, 2]);
        assert!((left[0].probability - 0.75).abs() < 1e-9 && (left[1].probability - 0.2).abs() < 1e-9, "{left:?}");
        let all_gone = without(ranked(&[(7, 1.0)]), &[7], 3);
        assert!(all_gone.is_empty());
    }

    #[test]
    fn the_unit_whose_words_these_are_comes_first_with_the_words_as_evidence() {
        let model = Model::train(&history());
        assert_eq!((model.examples(), model.label_count()), (61, 3));
        let ranked = model.rank(&words("拖欠 工资 三个月 cat:labour"), 3);
        assert_eq!(ranked.iter().map(|r| r.label).collect::<Vec<_>>(), [1, 3, 2]);
        assert!(ranked[0].probability > 0.99, "{ranked:?}");
        let total: f64 = ranked.iter().map(|r| r.probability).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(ranked[0].evidence.contains(&"拖欠".to_owned()), "{:?}", ranked[0].evidence);
        assert!(!ranked[0].evidence.contains(&"三个月".to_owned()), "an unknown word is no evidence");
        let water = model.rank(&words("河涌 污水"), 1);
        assert_eq!(water[0].label, 3);
    }

    #[test]
    fn with_nothing_known_the_busiest_unit_leads_and_an_empty_model_names_none() {
        let mut h = history();
        h.push(example("噪音", 2));
        let model = Model::train(&h);
        assert_eq!(model.rank(&words("完全 陌生"), 1)[0].label, 2);
        assert!(Model::train(&[]).rank(&words("工资"), 3).is_empty());
        assert!(model.rank(&words("工资"), 0).is_empty());
    }

    #[test]
    fn repeated_features_count_once() {
        let model = Model::train(&history());
        let once = model.rank(&words("工资 噪音"), 3);
        let thrice = model.rank(&words("工资 工资 工资 噪音"), 3);
        assert_eq!(once, thrice);
    }

    #[test]
    fn the_catalogue_rule_shares_the_mass_and_stands_alone_without_a_model() {
        let model = Model::train(&history());
        let ranked = model.rank(&words("噪音 施工"), 3);
        let blended = blend(ranked.clone(), Some(3), 0.3, 3);
        let p = |unit| blended.iter().find(|r| r.label == unit).map(|r| r.probability).unwrap_or_default();
        assert!((p(3) - (0.3 + ranked[2].probability * 0.7)).abs() < 1e-9);
        assert_eq!(blended[0].label, 2, "the model's near-certainty outweighs a light rule");
        assert_eq!(blend(ranked.clone(), Some(3), 0.9, 3)[0].label, 3, "but not a heavy one");
        let alone = blend(Vec::new(), Some(7), 0.3, 3);
        assert_eq!(alone, [Ranked { label: 7, probability: 1.0, evidence: Vec::new() }]);
        assert_eq!(blend(ranked.clone(), None, 0.3, 2), ranked[..2]);
    }

    #[test]
    fn the_rule_weighs_what_held_out_history_says_it_is_worth() {
        let model = Model::train(&history());
        let held =
            |words: &str, rule, unit| Held { features: super::tests::words(words), rule: Some(rule), label: unit };
        // The catalogue names unit 3 for noise complaints, but they were led by unit 2: trust the model.
        let wrong_rule: Vec<Held> = (0..5).map(|_| held("噪音 施工", 3, 2)).collect();
        assert_eq!(choose_rule_weight(&model, &wrong_rule, 3), 0.3);
        // Where the catalogue is right against the words, trust it.
        let right_rule: Vec<Held> = (0..5).map(|_| held("噪音 施工", 3, 3)).collect();
        assert_eq!(choose_rule_weight(&model, &right_rule, 3), 0.9);
        assert_eq!(choose_rule_weight(&model, &[], 3), 0.9);
    }

    #[test]
    fn a_tally_counts_first_and_top_three_hits_and_the_confused_pairs() {
        let mut t = Tally::default();
        t.add(1, &[1, 2, 3]);
        t.add(1, &[2, 1]);
        t.add(2, &[3, 4, 5, 2]);
        t.add(2, &[]);
        assert_eq!((t.total, t.top1, t.top3), (4, 1, 2));
        assert_eq!((t.top1_rate(), t.top3_rate()), (0.25, 0.5));
        assert_eq!(t.per_unit[&1], (2, 1));
        assert_eq!(t.most_confused(5), [(1, 2, 1), (2, 3, 1)]);
        assert_eq!(Tally::default().top1_rate(), 0.0);
    }

    #[test]
    fn automatic_dispatch_takes_a_category_only_at_or_above_its_confidence() {
        let rule = |category: &str, min_confidence| AutoRule { category: category.into(), min_confidence };
        let rules = AutoRules::new(vec![rule("traffic", 0.9), rule("biz.change", 0.856)]).unwrap();
        assert_eq!(rules.rules()[0], rule("biz.change", 0.86), "sorted, two decimals");
        assert!(rules.dispatches("traffic", 0.9) && rules.dispatches("traffic", 0.95));
        assert!(!rules.dispatches("traffic", 0.89) && !rules.dispatches("noise", 1.0));
        assert_eq!(AutoRules::default().min_confidence("traffic"), None);
        for bad in [0.49, 0.995, f64::NAN] {
            let refused = AutoRules::new(vec![rule("traffic", bad)]).unwrap_err();
            assert_eq!(refused.code, "invalid_auto_confidence", "{bad}");
        }
        let refused = AutoRules::new(vec![rule("traffic", 0.9), rule("traffic", 0.8)]).unwrap_err();
        assert_eq!(refused.code, "duplicate_auto_category");
    }
}
