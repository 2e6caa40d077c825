//! Dispatch suggestions (派单建议): the three units most likely to lead a request, with a confidence
//! and the reasons — the dispatch catalogue's rule for its category and the words that the city's
//! closed requests tie to each unit. The model (`mashangban_domain::dispatch`) is trained here from
//! the store, on this node, at start-up, daily and on demand; [`Dispatch::evaluate`] measures it on
//! a time split. The same history teaches a second model the categories (事项分类建议), blended with
//! the catalogue's keyword rules, as a check on the category the asker chose and as the operator types.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::dispatch::{
    Held, Label, Model, Ranked, Tally, Trainer, blend, choose_rule_weight, returning_units, superseded_leads, without,
};
use mashangban_domain::duplicates::Thresholds;
use mashangban_domain::org::Scope;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{self, CategoryId, Channel, Request, RequestId, RequestKind, State};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_domain::validation::optional_text;
use mashangban_store::{ListFilter, Store, StoreError, StoreResult};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::{App, Caller};

mod auto;
mod keywords;

pub use auto::{AutoDispatchBody, AutoDispatchOverview, AutoDispatchView, AutoRuleBody, AutoRuleView};
pub use keywords::{KeywordMatch, KeywordRules};

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
    /// The categories' model: the same history, the category as the label and not a feature.
    categories: Model,
    /// The keyword rule's share against the categories' model, chosen the same way.
    keyword_weight: f64,
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

/// One suggested category (事项分类建议).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategorySuggestion {
    /// The category's code.
    pub category: String,
    pub category_name: String,
    /// 0–1, two decimals: the categories' model, with the keyword rule's share added.
    pub confidence: f64,
    /// Why, in Chinese: the catalogue's keywords found, the words that point to the category.
    pub reasons: Vec<String>,
}

/// The suggestions for a request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Suggestions {
    pub tracking_no: String,
    /// Best first; empty when neither the catalogue nor the history names a unit.
    pub suggestions: Vec<Suggestion>,
    /// The categories its words point to, best first: a check on the category the asker chose
    /// (改类 when the first is another). Empty when neither keywords nor history name one.
    pub categories: Vec<CategorySuggestion>,
    /// The units that returned this request (退单) and whose return stood, first return first: never
    /// suggested for it again, whatever the catalogue or history say.
    pub returned_by: Vec<crate::views::UnitRef>,
    /// The model used; none before the city has closed a dispatched request.
    pub model: Option<ModelInfo>,
}

/// A request still being typed (the operator's console): what the suggestions read of it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DraftBody {
    pub title: String,
    pub content: String,
    /// The category chosen so far (code); without one, the units are suggested for the first
    /// suggested category.
    pub category: Option<String>,
    /// The town (镇街) code, if known.
    pub town: Option<String>,
    /// The request's kind; default consultation.
    pub kind: Option<RequestKind>,
    /// The channel; default phone (12345热线).
    pub channel: Option<Channel>,
}

/// A submission being typed on the portal: what the category suggestions read of it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PublicDraftBody {
    pub title: String,
    pub content: String,
    /// The town (镇街) code, if chosen.
    pub town: Option<String>,
    /// The request's kind, if chosen; default consultation.
    pub kind: Option<RequestKind>,
}

/// A category the asker's words point to, as the portal offers it (names only: no confidence,
/// no units, no words learned from other people's requests).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PublicCategorySuggestion {
    /// The category's code (the submit form's value).
    pub category: String,
    pub category_name: String,
}

/// The portal's category suggestions for a submission being typed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicSuggestions {
    /// Best first, at most three; empty when the words point to no category.
    pub categories: Vec<PublicCategorySuggestion>,
}

/// The suggestions for a draft.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftSuggestions {
    /// Best first.
    pub categories: Vec<CategorySuggestion>,
    /// The category the units were ranked for: the chosen one, else the first suggested; none
    /// when neither.
    pub units_for_category: Option<String>,
    /// Best first.
    pub units: Vec<Suggestion>,
    pub model: Option<ModelInfo>,
}

/// What a model was trained on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModelInfo {
    /// Closed requests learned from.
    pub examples: u64,
    /// Corrections among them: a unit a re-dispatch (改派) took a request from after its return,
    /// whose words then speak less for it.
    pub corrections: u64,
    /// Units it can name.
    pub units: u64,
    /// Distinct words, bigrams and attributes seen.
    pub vocabulary: u64,
    /// The share of confidence the dispatch catalogue's unit gets (0.3–0.9), chosen by which share
    /// named the leading unit first most often on a tenth of the history held out.
    pub rule_weight: f64,
    /// Categories the categories' model can name.
    pub categories: u64,
    /// The share of confidence the catalogue's keyword rule gets against the categories' model.
    pub keyword_weight: f64,
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
    /// Category suggestions against the category each test request ended with: the keyword rule
    /// and the categories' model together.
    pub categories: Accuracy,
    /// The catalogue's keyword rule alone (one guess; none when no keyword is found).
    pub categories_by_keywords: Accuracy,
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

/// What the models read of a request, taken in or still being typed.
pub struct Draft<'a> {
    pub title: &'a str,
    pub content: &'a str,
    pub town: Option<UnitId>,
    pub kind: RequestKind,
    pub channel: Channel,
}

impl<'a> Draft<'a> {
    pub fn of(r: &'a Request) -> Self {
        Self { title: &r.title, content: &r.content, town: r.location.town_id, kind: r.kind, channel: r.channel }
    }

    fn text(&self) -> String {
        format!("{}\n{}", self.title, self.content)
    }

    /// The features the categories' model reads: the index's terms of the title and content (jieba
    /// words and character bigrams, traditional folded to simplified), the town, kind and channel.
    pub fn features(&self) -> Vec<String> {
        let mut features = mashangban_text::terms(&self.text());
        if let Some(town) = self.town {
            features.push(format!("town:{town}"));
        }
        features.push(format!("kind:{}", self.kind.as_str()));
        features.push(format!("channel:{}", self.channel.as_str()));
        features
    }

    /// The features the units' model reads: the above and the category.
    pub fn features_in(&self, category: CategoryId) -> Vec<String> {
        let mut features = self.features();
        features.push(category_feature(category));
        features
    }
}

fn category_feature(category: CategoryId) -> String {
    format!("category:{category}")
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
            corrections: self.model.corrections() as u64,
            units: self.model.label_count() as u64,
            vocabulary: self.model.vocabulary() as u64,
            rule_weight: self.rule_weight,
            categories: self.categories.label_count() as u64,
            keyword_weight: self.keyword_weight,
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
        let returned_by = if request.return_count > 0 {
            returning_units(&self.app.store().history(request.id).await?)
        } else {
            Vec::new()
        };
        Ok(self.suggestions_for(&request, trained.as_deref(), &returned_by))
    }

    /// The suggestions for a request already read, with the model in service (none: the catalogue alone),
    /// leaving out `returned_by`: the units whose returns (退单) of it stood
    /// ([`returning_units`] of its history, which the caller has read when `return_count > 0`).
    pub fn suggestions_for(&self, request: &Request, trained: Option<&Trained>, returned_by: &[UnitId]) -> Suggestions {
        let draft = Draft::of(request);
        let org = self.app.caches().org();
        Suggestions {
            tracking_no: request.tracking_no.clone(),
            suggestions: self.units_for(&draft, request.category_id, trained, returned_by),
            categories: self.categories_for(&draft, trained),
            returned_by: returned_by.iter().filter_map(|&u| crate::views::unit_ref(&org, Some(u))).collect(),
            model: trained.map(Trained::info),
        }
    }

    /// The suggestions for a request still being typed (the operator's console); needs
    /// [`Permission::SuggestDispatch`](mashangban_domain::access::Permission::SuggestDispatch).
    /// Trains a model first if this node has none. Refuses over-long text, control characters and
    /// unknown codes (422), as the intake would.
    pub async fn draft(&self, caller: &Caller, body: DraftBody) -> AppResult<DraftSuggestions> {
        caller.require(mashangban_domain::access::Permission::SuggestDispatch)?;
        let title = optional_text("标题", Some(&body.title), request::TITLE_MAX)?.unwrap_or_default();
        let content = optional_text("内容", Some(&body.content), request::CONTENT_MAX)?.unwrap_or_default();
        let categories = self.app.caches().categories();
        let (chosen, town) = crate::input::resolve_category_and_town(
            &self.app.caches().org(),
            &categories,
            body.category.as_deref(),
            body.town.as_deref(),
        )?;
        let kind = body.kind.unwrap_or(RequestKind::Consultation);
        let channel = body.channel.unwrap_or(Channel::Phone);
        let trained = match self.app.dispatch_models().current() {
            Some(trained) => Some(trained),
            None => self.train_now().await?,
        };
        let trained = trained.as_deref();
        let draft = Draft { title: &title, content: &content, town, kind, channel };
        let suggested = self.categories_for(&draft, trained);
        let category = match chosen {
            Some(id) => categories.iter().find(|c| c.id == id),
            None => suggested.first().and_then(|s| categories.iter().find(|c| c.code == s.category)),
        };
        Ok(DraftSuggestions {
            units_for_category: category.map(|c| c.code.clone()),
            units: category.map(|c| self.units_for(&draft, c.id, trained, &[])).unwrap_or_default(),
            categories: suggested,
            model: trained.map(Trained::info),
        })
    }

    /// The categories the portal offers for a submission being typed (门户分类建议), best first.
    /// Anyone may ask; each client address has an hourly allowance (`429 rate_limited` past it).
    pub async fn public_categories(&self, caller: &Caller, body: PublicDraftBody) -> AppResult<PublicSuggestions> {
        if body.title.trim().is_empty() && body.content.trim().is_empty() {
            return Ok(PublicSuggestions { categories: Vec::new() });
        }
        let throttle = &self.app.limiters().suggest_address;
        let address = caller.client_ip.as_deref().unwrap_or("-");
        if self.app.reserve(&[(throttle, address)]).await?.is_none() {
            return Err(AppError::rate_limited("分类建议请求过于频繁，请稍后再试，或直接在列表中选择分类"));
        }
        let categories = self.categories_of_words(&body.title, &body.content, body.town.as_deref(), body.kind)?;
        Ok(PublicSuggestions { categories })
    }

    /// The leaf categories a portal submission's words point to, by the model in service (the
    /// catalogue's keywords alone while none is): the portal's form offers them as it is typed,
    /// and names them beside the form when it comes back without a category.
    pub fn categories_of_words(
        &self,
        title: &str,
        content: &str,
        town: Option<&str>,
        kind: Option<RequestKind>,
    ) -> AppResult<Vec<PublicCategorySuggestion>> {
        let title = optional_text("标题", Some(title), request::TITLE_MAX)?.unwrap_or_default();
        let content = optional_text("内容", Some(content), request::CONTENT_MAX)?.unwrap_or_default();
        let categories = self.app.caches().categories();
        let (_, town) = crate::input::resolve_category_and_town(&self.app.caches().org(), &categories, None, town)?;
        let kind = kind.unwrap_or(RequestKind::Consultation);
        let draft = Draft { title: &title, content: &content, town, kind, channel: Channel::Web };
        let trained = self.app.dispatch_models().current();
        let leaves: Vec<&str> = categories.iter().filter(|c| c.parent_id.is_some()).map(|c| c.code.as_str()).collect();
        Ok(self
            .categories_for(&draft, trained.as_deref())
            .into_iter()
            .filter(|s| leaves.contains(&s.category.as_str()))
            .map(|s| PublicCategorySuggestion { category: s.category, category_name: s.category_name })
            .collect())
    }

    /// The units suggested for a request of a category, but those `excluded` (they returned it).
    fn units_for(
        &self,
        draft: &Draft<'_>,
        category_id: CategoryId,
        trained: Option<&Trained>,
        excluded: &[UnitId],
    ) -> Vec<Suggestion> {
        let org = self.app.caches().org();
        let categories = self.app.caches().categories();
        let category = categories.iter().find(|c| c.id == category_id);
        let rule = category.and_then(|c| c.default_lead_unit_id);
        let features = draft.features_in(category_id);
        let wanted = SUGGESTIONS + excluded.len();
        let ranked = match trained {
            Some(t) => blend(t.model.rank(&features, wanted), rule, t.rule_weight, wanted),
            None => blend(Vec::new(), rule, 1.0, wanted),
        };
        without(ranked, excluded, SUGGESTIONS)
            .into_iter()
            .filter_map(|r| {
                let unit = org.get(r.label)?;
                let mut reasons = Vec::new();
                if Some(r.label) == rule {
                    let name = category.map_or("", |c| c.name.as_str());
                    reasons.push(format!("派单目录：「{name}」默认由该单位主办"));
                }
                if let Some(words) = words_of(&r) {
                    reasons.push(format!("历史诉求中与该单位相关的词：{words}"));
                }
                if r.evidence.iter().any(|f| f.starts_with("town:")) {
                    reasons.push("该镇街的同类诉求多由该单位办理".to_owned());
                }
                Some(Suggestion {
                    unit: unit.code.clone(),
                    unit_name: unit.name.clone(),
                    confidence: two_decimals(r.probability),
                    reasons,
                })
            })
            .collect()
    }

    /// The categories a request's words point to: the categories' model blended with the
    /// catalogue's keyword rule (the keyword rule alone while no model is trained). Only active
    /// categories are named.
    fn categories_for(&self, draft: &Draft<'_>, trained: Option<&Trained>) -> Vec<CategorySuggestion> {
        let categories = self.app.caches().categories();
        let found = self.app.caches().keyword_rules().best(&draft.text());
        let rule = found.as_ref().map(|m| m.category);
        let ranked = match trained {
            Some(t) => {
                blend(t.categories.rank(&draft.features(), SUGGESTIONS + 2), rule, t.keyword_weight, SUGGESTIONS + 2)
            }
            None => blend(Vec::new(), rule, 1.0, SUGGESTIONS),
        };
        ranked
            .into_iter()
            .filter_map(|r| {
                let category = categories.iter().find(|c| c.id == r.label && c.active)?;
                let mut reasons = Vec::new();
                if let Some(m) = found.as_ref().filter(|m| m.category == r.label) {
                    reasons.push(format!("派单目录关键词：{}", m.keywords.join("、")));
                }
                if let Some(words) = words_of(&r) {
                    reasons.push(format!("历史诉求中与该分类相关的词：{words}"));
                }
                Some(CategorySuggestion {
                    category: category.code.clone(),
                    category_name: category.name.clone(),
                    confidence: two_decimals(r.probability),
                    reasons,
                })
            })
            .take(SUGGESTIONS)
            .collect()
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
        let trained = Arc::new(Trained {
            model: learned.model,
            rule_weight: learned.rule_weight,
            categories: learned.categories,
            keyword_weight: learned.keyword_weight,
            trained_at: self.app.now(),
        });
        slot.current.store(Some(trained.clone()));
        tracing::info!(
            examples = trained.model.examples(),
            units = trained.model.label_count(),
            "dispatch model trained"
        );
        Ok(Some(trained))
    }

    /// Trains on the closed requests received before `before` and tests on those received from
    /// then on (each side at most [`MAX_EXAMPLES`], newest first). Does not touch the model in service.
    /// Duplicate detection is measured under the thresholds and weights in force.
    pub async fn evaluate(&self, before: Instant) -> AppResult<Evaluation> {
        self.evaluate_with(before, &self.app.duplicates().thresholds()).await
    }

    /// [`Self::evaluate`] with duplicate detection measured under `duplicates` (thresholds and likeness
    /// weights to try before an administrator saves them).
    pub async fn evaluate_with(&self, before: Instant, duplicates: &Thresholds) -> AppResult<Evaluation> {
        let Some(Learned { model, rule_weight, led, categories, keyword_weight }) = self.learn(Some(before)).await?
        else {
            return Err(empty_history("该日期之前没有已办结且派过单的诉求，无法训练"));
        };
        let trained_on = model.examples() as u64;
        let mut busiest: Vec<(UnitId, u64)> = led.into_iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let busiest: Vec<UnitId> = busiest.into_iter().take(SUGGESTIONS).map(|(u, _)| u).collect();
        let (mut combined, mut alone, mut catalogue, mut frequent) =
            (Tally::default(), Tally::default(), Tally::default(), Tally::default());
        let (mut category_combined, mut category_keywords) = (Tally::default(), Tally::default());
        self.each_settled(Some(before), None, |r| {
            let actual = r.unit;
            let ranked = model.rank(&r.features, SUGGESTIONS);
            alone.add(actual, &labels(&ranked));
            let rule = self.catalogue_rule(r.category_id);
            combined.add(actual, &labels(&blend(ranked, rule, rule_weight, SUGGESTIONS)));
            catalogue.add(actual, rule.as_slice());
            frequent.add(actual, &busiest);
            let ranked = categories.rank(&r.plain_features, SUGGESTIONS);
            category_combined
                .add(r.category_id, &labels(&blend(ranked, r.keyword_category, keyword_weight, SUGGESTIONS)));
            category_keywords.add(r.category_id, r.keyword_category.as_slice());
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
            categories: accuracy(&category_combined),
            categories_by_keywords: accuracy(&category_keywords),
            combined: accuracy(&combined),
            model: accuracy(&alone),
            catalogue: accuracy(&catalogue),
            most_frequent: accuracy(&frequent),
            per_unit,
            confused,
            duplicates: self.app.duplicates().evaluate(before, duplicates).await?,
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
        let (mut units, mut categories) = (Trainer::default(), Trainer::default());
        let (mut held_units, mut held_categories, mut held_corrections) = (Vec::new(), Vec::new(), Vec::new());
        let mut led: HashMap<UnitId, u64> = HashMap::new();
        let mut read = 0usize;
        self.each_settled(None, before, |r| {
            *led.entry(r.unit).or_default() += 1;
            read += 1;
            if read.is_multiple_of(HOLD_OUT_EVERY) {
                let rule = self.catalogue_rule(r.category_id);
                held_units.push(Held { features: r.features.clone(), rule, label: r.unit });
                let plain = r.plain_features.clone();
                held_categories.push(Held { features: plain, rule: r.keyword_category, label: r.category_id });
                held_corrections.push(r.superseded.clone());
            } else {
                units.add(&r.features, r.unit);
                r.superseded.iter().for_each(|&u| units.add_correction(&r.features, u));
                categories.add(&r.plain_features, r.category_id);
            }
        })
        .await?;
        if read == 0 {
            return Ok(None);
        }
        let rule_weight = choose_rule_weight(&units.model(), &held_units, SUGGESTIONS);
        let keyword_weight = choose_rule_weight(&categories.model(), &held_categories, SUGGESTIONS);
        for (h, superseded) in held_units.iter().zip(&held_corrections) {
            units.add(&h.features, h.label);
            superseded.iter().for_each(|&u| units.add_correction(&h.features, u));
        }
        held_categories.iter().for_each(|h| categories.add(&h.features, h.label));
        Ok(Some(Learned { model: units.model(), rule_weight, led, categories: categories.model(), keyword_weight }))
    }

    /// Calls `each` on up to [`MAX_EXAMPLES`] settled, dispatched requests received in
    /// `[from, to)`, newest first. Features are extracted off the async threads, a page at a time;
    /// the history is read only of the requests that were returned (退单), for their corrections.
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
            let mut superseded: HashMap<RequestId, Vec<UnitId>> = HashMap::new();
            for r in page.items.iter().filter(|r| r.return_count > 0 && r.lead_unit_id.is_some()) {
                superseded.insert(r.id, superseded_leads(&self.app.store().history(r.id).await?));
            }
            let keywords = self.app.caches().keyword_rules();
            let settled = tokio::task::spawn_blocking(move || {
                page.items
                    .iter()
                    .filter_map(|r| {
                        let unit = r.lead_unit_id?;
                        let draft = Draft::of(r);
                        let plain_features = draft.features();
                        let mut features = plain_features.clone();
                        features.push(category_feature(r.category_id));
                        Some(Settled {
                            features,
                            plain_features,
                            unit,
                            superseded: superseded.remove(&r.id).unwrap_or_default(),
                            category_id: r.category_id,
                            keyword_category: keywords.best(&draft.text()).map(|m| m.category),
                        })
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
    categories: Model,
    keyword_weight: f64,
}

/// A settled request as training and evaluation read it.
struct Settled {
    /// The leads re-dispatches took it from ([`superseded_leads`]): corrections for training.
    superseded: Vec<UnitId>,
    /// What the units' model reads (see [`Draft::features_in`]).
    features: Vec<String>,
    /// What the categories' model reads: the same without the category.
    plain_features: Vec<String>,
    /// The unit that finally led it.
    unit: UnitId,
    category_id: CategoryId,
    /// The category the catalogue's keywords name for its text, if any.
    keyword_category: Option<CategoryId>,
}

/// The words (not attributes) among a ranking's evidence, joined for a reason; none without any.
fn words_of(r: &Ranked) -> Option<String> {
    let words: Vec<&str> = r.evidence.iter().map(String::as_str).filter(|f| !f.contains(':')).collect();
    (!words.is_empty()).then(|| words.join("、"))
}

fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn empty_history(message: &str) -> AppError {
    AppError::new(ErrorKind::Conflict, "dispatch_history_empty", message)
}

fn labels(ranked: &[Ranked]) -> Vec<Label> {
    ranked.iter().map(|r| r.label).collect()
}

fn accuracy(t: &Tally) -> Accuracy {
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Accuracy { top1: round(t.top1_rate()), top3: round(t.top3_rate()) }
}
