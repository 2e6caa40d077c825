//! Dispatch suggestions (派单建议): the three units most likely to lead a request, with a confidence
//! and the reasons — the dispatch catalogue's rule for its category and the words that the city's
//! closed requests tie to each unit. The model (`mashangban_domain::dispatch`) is trained here from
//! the store, on this node, at start-up, daily and on demand; [`Dispatch::evaluate`] measures it on
//! a time split.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::dispatch::{Held, Model, Ranked, Tally, Trainer, blend, choose_rule_weight};
use mashangban_domain::org::Scope;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{CategoryId, Request, State};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{ListFilter, Store, StoreError, StoreResult};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::{App, Caller};

mod auto;

pub use auto::{AutoDispatchBody, AutoDispatchOverview, AutoDispatchView, AutoRuleBody, AutoRuleView};

/// Suggestions given per request.
pub const SUGGESTIONS: usize = 3;

/// The most closed requests one training (or one side of an evaluation) reads, newest first.
pub const MAX_EXAMPLES: usize = 100_000;

/// Requests read per store query while training.
const PAGE: u32 = 500;

/// The states of a request whose lead unit is final: the label the model learns.
const SETTLED: [State; 3] = [State::Closed, State::FollowedUp, State::Archived];

/// The model in service on this node, and a lock so that one training runs at a time.
#[derive(Default)]
pub struct ModelSlot {
    current: ArcSwapOption<Trained>,
    training: tokio::sync::Mutex<()>,
}

/// A model with what it was trained on.
pub struct Trained {
    model: Model,
    /// The catalogue rule's share against the model, chosen on held-out history.
    rule_weight: f64,
    trained_at: Instant,
}

/// Every tenth request read is held out to choose the rule's weight, then learned too.
const HOLD_OUT_EVERY: usize = 10;

/// The dispatch service: `app.dispatch()`.
pub struct Dispatch<'a, S> {
    app: &'a App<S>,
}

/// One suggested lead unit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Suggestion {
    /// The unit's code.
    pub unit: String,
    pub unit_name: String,
    /// 0–1, two decimals: the model's probability, with the catalogue rule's share added.
    pub confidence: f64,
    /// Why, in Chinese: the catalogue rule, the words that point to the unit.
    pub reasons: Vec<String>,
}

/// The suggestions for a request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Suggestions {
    pub tracking_no: String,
    /// Best first; empty when neither the catalogue nor the history names a unit.
    pub suggestions: Vec<Suggestion>,
    /// The model used; none before the city has closed a dispatched request.
    pub model: Option<ModelInfo>,
}

/// What a model was trained on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModelInfo {
    /// Closed requests learned from.
    pub examples: u64,
    /// Units it can name.
    pub units: u64,
    /// Distinct words, bigrams and attributes seen.
    pub vocabulary: u64,
    /// The share of confidence the dispatch catalogue's unit gets (0.3–0.9), chosen by which share
    /// named the leading unit first most often on a tenth of the history held out.
    pub rule_weight: f64,
    pub trained_at: String,
}

/// Top-1 and top-3 accuracy of one way of suggesting.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct Accuracy {
    pub top1: f64,
    pub top3: f64,
}

/// One unit's share of right first suggestions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitAccuracy {
    pub unit: String,
    pub unit_name: String,
    pub requests: u64,
    pub top1: f64,
}

/// A frequent wrong first suggestion.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Confusion {
    /// The unit that led the request.
    pub actual: String,
    /// The unit suggested first.
    pub suggested: String,
    pub requests: u64,
}

/// A time-split evaluation: trained on requests received before `before`, tested on the closed
/// requests received from then on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Evaluation {
    pub before: String,
    pub trained_on: u64,
    pub tested_on: u64,
    /// The catalogue rule's share chosen in training (see [`ModelInfo::rule_weight`]).
    pub rule_weight: f64,
    /// What the platform suggests: the model and the catalogue together.
    pub combined: Accuracy,
    /// The model alone.
    pub model: Accuracy,
    /// The catalogue's rule alone (its category's default lead unit; one guess).
    pub catalogue: Accuracy,
    /// Always naming the units that led most often in training: the floor any model must beat.
    pub most_frequent: Accuracy,
    /// Per unit that led test requests, most requests first.
    pub per_unit: Vec<UnitAccuracy>,
    /// The ten most frequent wrong first suggestions of `combined`.
    pub confused: Vec<Confusion>,
    /// Duplicate detection on the requests merged (并单) from `before` on.
    pub duplicates: crate::duplicates::DuplicateEvaluation,
    /// Spam screening on the requests received from `before` on: false positives on genuine ones,
    /// recall on those staff marked spam; none when nothing was received since.
    pub screening: Option<crate::screening::ScreeningEvaluation>,
}

/// The features of a request: the index's terms of its title and content (jieba words and
/// character bigrams, traditional folded to simplified), and its category, town, kind and channel.
pub fn features(r: &Request) -> Vec<String> {
    let mut features = mashangban_text::terms(&format!("{}\n{}", r.title, r.content));
    features.push(format!("category:{}", r.category_id));
    if let Some(town) = r.location.town_id {
        features.push(format!("town:{town}"));
    }
    features.push(format!("kind:{}", r.kind.as_str()));
    features.push(format!("channel:{}", r.channel.as_str()));
    features
}

impl ModelSlot {
    /// The model in service, if one was trained.
    pub fn current(&self) -> Option<Arc<Trained>> {
        self.current.load_full()
    }
}

impl Trained {
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            examples: self.model.examples() as u64,
            units: self.model.unit_count() as u64,
            vocabulary: self.model.vocabulary() as u64,
            rule_weight: self.rule_weight,
            trained_at: format_instant(&self.trained_at),
        }
    }
}

impl<'a, S: Store> Dispatch<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The suggested lead units of a request in the caller's scope (`404 request_not_found`
    /// otherwise). Trains a model first if this node has none.
    pub async fn suggest(&self, caller: &Caller, no: &str) -> AppResult<Suggestions> {
        let request = self.app.requests().find(caller, no).await?;
        let trained = match self.app.dispatch_models().current() {
            Some(trained) => Some(trained),
            None => self.train_now().await?,
        };
        Ok(self.suggestions_for(&request, trained.as_deref()))
    }

    /// The suggestions for a request already read, with the model in service (none: the catalogue alone).
    pub fn suggestions_for(&self, request: &Request, trained: Option<&Trained>) -> Suggestions {
        let ranked = self.rank(request, trained);
        let org = self.app.caches().org();
        let categories = self.app.caches().categories();
        let category = categories.iter().find(|c| c.id == request.category_id);
        let rule = category.and_then(|c| c.default_lead_unit_id);
        let suggestions = ranked
            .into_iter()
            .filter_map(|r| {
                let unit = org.get(r.unit)?;
                let mut reasons = Vec::new();
                if Some(r.unit) == rule {
                    let name = category.map_or("", |c| c.name.as_str());
                    reasons.push(format!("派单目录：「{name}」默认由该单位主办"));
                }
                let words: Vec<&str> = r.evidence.iter().map(String::as_str).filter(|f| !f.contains(':')).collect();
                if !words.is_empty() {
                    reasons.push(format!("历史诉求中与该单位相关的词：{}", words.join("、")));
                }
                if r.evidence.iter().any(|f| f.starts_with("town:")) {
                    reasons.push("该镇街的同类诉求多由该单位办理".to_owned());
                }
                Some(Suggestion {
                    unit: unit.code.clone(),
                    unit_name: unit.name.clone(),
                    confidence: (r.probability * 100.0).round() / 100.0,
                    reasons,
                })
            })
            .collect();
        Suggestions { tracking_no: request.tracking_no.clone(), suggestions, model: trained.map(Trained::info) }
    }

    /// The model's ranking blended with the catalogue's rule for the request's category.
    fn rank(&self, request: &Request, trained: Option<&Trained>) -> Vec<Ranked> {
        let rule = self.catalogue_rule(request.category_id);
        match trained {
            Some(t) => blend(t.model.rank(&features(request), SUGGESTIONS), rule, t.rule_weight, SUGGESTIONS),
            None => blend(Vec::new(), rule, 1.0, SUGGESTIONS),
        }
    }

    /// The category's default lead unit in the dispatch catalogue.
    fn catalogue_rule(&self, category: CategoryId) -> Option<UnitId> {
        self.app.caches().categories().iter().find(|c| c.id == category).and_then(|c| c.default_lead_unit_id)
    }

    /// Retrains the model from the newest closed requests (administrators).
    pub async fn retrain(&self, caller: &Caller) -> AppResult<ModelInfo> {
        caller.require(mashangban_domain::access::Permission::ManageDispatchModel)?;
        let trained = self.train_now().await?;
        trained.map(|t| t.info()).ok_or_else(|| empty_history("还没有已办结且派过单的诉求，无法训练派单模型"))
    }

    /// Trains from up to [`MAX_EXAMPLES`] of the newest closed requests and puts the model in
    /// service; none when there is nothing to learn from. One training runs at a time: a caller
    /// that waited for another's gets that one's model.
    pub async fn train_now(&self) -> StoreResult<Option<Arc<Trained>>> {
        let slot = self.app.dispatch_models();
        let before = slot.current().map(|t| t.trained_at);
        let _one_at_a_time = slot.training.lock().await;
        if let Some(current) = slot.current().filter(|t| Some(t.trained_at) != before) {
            return Ok(Some(current));
        }
        let Some(learned) = self.learn(None).await? else {
            return Ok(None);
        };
        let trained =
            Arc::new(Trained { model: learned.model, rule_weight: learned.rule_weight, trained_at: self.app.now() });
        slot.current.store(Some(trained.clone()));
        tracing::info!(
            examples = trained.model.examples(),
            units = trained.model.unit_count(),
            "dispatch model trained"
        );
        Ok(Some(trained))
    }

    /// Trains on the closed requests received before `before` and tests on those received from
    /// then on (each side at most [`MAX_EXAMPLES`], newest first). Does not touch the model in service.
    pub async fn evaluate(&self, before: Instant) -> AppResult<Evaluation> {
        let Some(Learned { model, rule_weight, led }) = self.learn(Some(before)).await? else {
            return Err(empty_history("该日期之前没有已办结且派过单的诉求，无法训练"));
        };
        let trained_on = model.examples() as u64;
        let mut busiest: Vec<(UnitId, u64)> = led.into_iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let busiest: Vec<UnitId> = busiest.into_iter().take(SUGGESTIONS).map(|(u, _)| u).collect();
        let (mut combined, mut alone, mut catalogue, mut frequent) =
            (Tally::default(), Tally::default(), Tally::default(), Tally::default());
        self.each_settled(Some(before), None, |r| {
            let actual = r.unit;
            let ranked = model.rank(&r.features, SUGGESTIONS);
            alone.add(actual, &units(&ranked));
            let rule = self.catalogue_rule(r.category_id);
            combined.add(actual, &units(&blend(ranked, rule, rule_weight, SUGGESTIONS)));
            catalogue.add(actual, rule.as_slice());
            frequent.add(actual, &busiest);
        })
        .await?;
        if combined.total == 0 {
            return Err(empty_history("该日期之后没有已办结且派过单的诉求，无法评估"));
        }
        let org = self.app.caches().org();
        let code = |u: UnitId| org.get(u).map_or_else(|| u.to_string(), |x| x.code.clone());
        let name = |u: UnitId| org.get(u).map_or_else(String::new, |x| x.name.clone());
        let mut per_unit: Vec<UnitAccuracy> = combined
            .per_unit
            .iter()
            .map(|(&u, &(requests, right))| UnitAccuracy {
                unit: code(u),
                unit_name: name(u),
                requests,
                top1: right as f64 / requests as f64,
            })
            .collect();
        per_unit.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.unit.cmp(&b.unit)));
        let confused = combined
            .most_confused(10)
            .into_iter()
            .map(|(a, s, n)| Confusion { actual: code(a), suggested: code(s), requests: n })
            .collect();
        Ok(Evaluation {
            before: format_instant(&before),
            trained_on,
            tested_on: combined.total,
            rule_weight,
            combined: accuracy(&combined),
            model: accuracy(&alone),
            catalogue: accuracy(&catalogue),
            most_frequent: accuracy(&frequent),
            per_unit,
            confused,
            duplicates: self.app.duplicates().evaluate(before).await?,
            screening: match self.app.screening().evaluate(before).await {
                Ok(screening) => Some(screening),
                Err(e) if e.code == "screening_history_empty" => None,
                Err(e) => return Err(e),
            },
        })
    }

    /// Learns from the settled requests received before `before` (all when none): a model, the
    /// rule's weight chosen on every [`HOLD_OUT_EVERY`]th request held out (then learned too), and
    /// how many each unit led. None when there is nothing to learn from.
    async fn learn(&self, before: Option<Instant>) -> StoreResult<Option<Learned>> {
        let mut trainer = Trainer::default();
        let mut held = Vec::new();
        let mut led: HashMap<UnitId, u64> = HashMap::new();
        let mut read = 0usize;
        self.each_settled(None, before, |r| {
            *led.entry(r.unit).or_default() += 1;
            read += 1;
            if read.is_multiple_of(HOLD_OUT_EVERY) {
                let rule = self.catalogue_rule(r.category_id);
                held.push(Held { features: r.features.clone(), rule, unit: r.unit });
            } else {
                trainer.add(&r.features, r.unit);
            }
        })
        .await?;
        if read == 0 {
            return Ok(None);
        }
        let rule_weight = choose_rule_weight(&trainer.model(), &held, SUGGESTIONS);
        held.iter().for_each(|h| trainer.add(&h.features, h.unit));
        Ok(Some(Learned { model: trainer.model(), rule_weight, led }))
    }

    /// Calls `each` on up to [`MAX_EXAMPLES`] settled, dispatched requests received in
    /// `[from, to)`, newest first. Features are extracted off the async threads, a page at a time.
    async fn each_settled(
        &self,
        received_from: Option<Instant>,
        received_to: Option<Instant>,
        mut each: impl FnMut(&Settled),
    ) -> StoreResult<()> {
        let mut filter =
            ListFilter { states: SETTLED.to_vec(), received_from, received_to, limit: PAGE, ..ListFilter::default() };
        let mut seen = 0;
        loop {
            let page = self.app.store().list(&filter, &Scope::All).await?;
            let next = page.next_cursor;
            let settled = tokio::task::spawn_blocking(move || {
                page.items
                    .iter()
                    .filter_map(|r| {
                        let unit = r.lead_unit_id?;
                        Some(Settled { features: features(r), unit, category_id: r.category_id })
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
            for r in &settled {
                each(r);
                seen += 1;
                if seen >= MAX_EXAMPLES {
                    return Ok(());
                }
            }
            match next {
                Some(next) => filter.before_id = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// What [`Dispatch::learn`] learned.
struct Learned {
    model: Model,
    rule_weight: f64,
    /// Requests led per unit.
    led: HashMap<UnitId, u64>,
}

/// A settled request as training and evaluation read it.
struct Settled {
    features: Vec<String>,
    /// The unit that finally led it.
    unit: UnitId,
    category_id: CategoryId,
}

fn empty_history(message: &str) -> AppError {
    AppError::new(ErrorKind::Conflict, "dispatch_history_empty", message)
}

fn units(ranked: &[Ranked]) -> Vec<UnitId> {
    ranked.iter().map(|r| r.unit).collect()
}

fn accuracy(t: &Tally) -> Accuracy {
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Accuracy { top1: round(t.top1_rate()), top3: round(t.top3_rate()) }
}
