//! Spam screening (垃圾信息甄别) of public submissions — the portal and its API, accounts, and
//! machine clients relaying the public (API tokens, Open311): every such intake is scored by
//! `mashangban_domain::screening` from its normalised text, a look-up of repeats and this node's
//! classifier; one scoring at or above the threshold is taken in held (待甄别) — with its tracking
//! number, shown to the asker as received — and stays out of the dispatcher's 待派单 queue until an
//! operator or dispatcher releases it (放行) or marks it spam (垃圾信息, archived). Both decisions
//! are lifecycle actions (`release`, `mark-spam`): events in the request's history, in the same
//! transaction as the decision's row, and the examples the classifier learns from at its next
//! training (scheduled, or on demand). The classifier is the dispatch model's naive Bayes
//! (`mashangban_domain::dispatch::Model`) over two classes.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::dispatch::{Model, Trainer};
use mashangban_domain::org::{Actor, UnitId};
use mashangban_domain::request::{Request, State};
use mashangban_domain::screening::{self, Screening, Settings, Signals};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{ListFilter, ScreeningExample, ScreeningRecord, Signal, Store, StoreError, StoreResult};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::views::RequestView;
use crate::{App, Caller, Via};

/// The class labels of the classifier.
const GENUINE: UnitId = 0;
const SPAM: UnitId = 1;

/// The classifier speaks only once it has seen this many spam examples.
pub const MIN_SPAM_EXAMPLES: usize = 10;

/// The most examples of each class one training reads, newest first.
pub const MAX_EXAMPLES: u32 = 20_000;

/// Held submissions per page of the queue.
pub const QUEUE_PAGE: u32 = 50;

/// Versions of the settings listed.
const HISTORY: u32 = 20;

/// This node's classifier: `app.screening_slot()`.
#[derive(Default)]
pub struct ScreeningSlot {
    model: ArcSwapOption<SpamModel>,
    training: tokio::sync::Mutex<()>,
    /// A training is queued behind the running one (see `train_soon`).
    queued: std::sync::atomic::AtomicBool,
}

/// A trained classifier.
pub struct SpamModel {
    model: Model,
    spam: u64,
    genuine: u64,
    trained_at: Instant,
}

impl SpamModel {
    /// The probability that a text with these features is spam; None while the model has seen too
    /// few spam examples to say.
    fn probability(&self, features: &[String]) -> Option<f64> {
        if self.spam < MIN_SPAM_EXAMPLES as u64 || self.genuine == 0 {
            return None;
        }
        self.model.rank(features, 2).into_iter().find(|r| r.label == SPAM).map(|r| r.probability)
    }

    fn info(&self) -> ClassifierInfo {
        ClassifierInfo {
            spam_examples: self.spam,
            genuine_examples: self.genuine,
            vocabulary: self.model.vocabulary() as u64,
            trained_at: format_instant(&self.trained_at),
            active: self.spam >= MIN_SPAM_EXAMPLES as u64 && self.genuine > 0,
        }
    }
}

/// What the classifier was trained on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClassifierInfo {
    /// Requests staff marked spam.
    pub spam_examples: u64,
    /// Genuine requests: released, or never held.
    pub genuine_examples: u64,
    pub vocabulary: u64,
    pub trained_at: String,
    /// Whether it counts in scores (it needs at least ten spam examples).
    pub active: bool,
}

/// A text as screening reads it.
struct Analysed {
    /// Normalised, whitespace removed.
    compact: String,
    scripts: mashangban_text::ScriptCounts,
    fingerprint: String,
}

fn analyse(title: &str, content: &str) -> Analysed {
    let raw = format!("{title}\n{content}");
    let compact = screening::compact(&mashangban_text::normalize(&raw));
    let fingerprint = screening::fingerprint(&compact);
    Analysed { scripts: mashangban_text::script_counts(&raw), compact, fingerprint }
}

fn features(title: &str, content: &str) -> Vec<String> {
    mashangban_text::terms(&format!("{title}\n{content}"))
}

/// Whether an intake by this caller is a public submission, which is screened: the portal
/// (anonymous), askers' accounts, and machine clients (API tokens, Open311) relaying the public.
/// Staff recording a call or a visit in person are not screened.
pub fn is_public_submission(caller: &Caller) -> bool {
    match caller.actor {
        Actor::Anonymous | Actor::PublicAsker | Actor::Account(_) => true,
        Actor::Staff(_) => caller.via == Via::Token,
        Actor::System => false,
    }
}

/// A held submission in the 待甄别 queue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HeldRequest {
    pub request: RequestView,
    pub screening: ScreeningView,
}

/// One page of the 待甄别 queue, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HeldPage {
    pub items: Vec<HeldRequest>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// Held submissions waiting in all.
    pub total: u64,
}

/// A request's screening.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScreeningView {
    /// 0–1.
    pub score: f64,
    /// Why, in Chinese: the phrases found, links, phone numbers, mixed scripts, repeats, the classifier.
    pub reasons: Vec<String>,
    /// Held at intake (待甄别).
    pub held: bool,
    /// Held now: waiting for staff.
    pub waiting: bool,
    pub screened_at: String,
    /// `released` (放行) or `spam` (垃圾信息), once decided.
    pub decision: Option<screening::Decision>,
    pub decision_label: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

fn screening_view(r: &ScreeningRecord, waiting: bool) -> ScreeningView {
    ScreeningView {
        score: r.score,
        reasons: r.reasons.clone(),
        held: r.held,
        waiting,
        screened_at: format_instant(&r.screened_at),
        decision: r.decision,
        decision_label: r.decision.map(|d| d.label().to_owned()),
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.as_ref().map(format_instant),
    }
}

/// The settings as an administrator reads and writes them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Ad phrases (广告词), one per entry; traditional and simplified match alike. At most 500, each
    /// 2–30 characters.
    pub phrases: Vec<String>,
    /// The score at or above which a submission is held, 0.5–0.99.
    pub threshold: f64,
}

/// The settings in force with their version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SettingsView {
    /// None: the built-in defaults, never changed.
    pub version: Option<i64>,
    pub phrases: Vec<String>,
    pub threshold: f64,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

/// The settings, their earlier versions and the classifier.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScreeningOverview {
    pub settings: SettingsView,
    /// Newest first, the one in force included.
    pub history: Vec<SettingsView>,
    /// This node's classifier; none before its first training.
    pub classifier: Option<ClassifierInfo>,
    /// Held submissions waiting now.
    pub waiting: u64,
}

/// How screening fares on requests received from `before` on, with a classifier trained on the
/// decisions before it: false positives on genuine requests and recall on those staff marked spam.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScreeningEvaluation {
    pub before: String,
    pub threshold: f64,
    pub trained_on_spam: u64,
    pub trained_on_genuine: u64,
    /// Genuine requests tested (released, or never held), and how many would be held.
    pub genuine: u64,
    pub false_positives: u64,
    pub false_positive_rate: f64,
    /// Requests staff marked spam tested, and how many would be held.
    pub spam: u64,
    pub caught: u64,
    pub recall: f64,
    /// The same with the rules alone (no classifier).
    pub rules_false_positive_rate: f64,
    pub rules_recall: f64,
    /// Up to five titles of genuine requests that would be held, to see why.
    pub false_positive_titles: Vec<String>,
}

/// The filter of the 待甄别 queue: received requests held by screening, newest first.
pub fn queue_filter() -> ListFilter {
    ListFilter { states: vec![State::Received], screening_held: Some(true), ..ListFilter::default() }
}

/// The spam-screening service: `app.screening()`.
pub struct Screenings<'a, S> {
    app: &'a App<S>,
}

impl<'a, S: Store> Screenings<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    // ---- intake -----------------------------------------------------------------------------

    /// Screens a public submission: its verdict and the digest of its text, for the intake to store.
    /// Costs one indexed look-up (repeats); the settings are in the caches.
    pub async fn assess(&self, title: &str, content: &str) -> StoreResult<Screening> {
        let in_force = self.app.caches().settings();
        let defaults = Settings::default();
        let settings = in_force.screening.as_ref().map_or(&defaults, |v| &v.settings);
        let analysed = analyse(title, content);
        let since = self.app.now() - chrono::Duration::hours(screening::REPEAT_WINDOW_HOURS);
        let repeats = self.app.store().screening_repeats(&analysed.fingerprint, since).await?;
        let classifier =
            self.app.screening_slot().model.load_full().and_then(|m| m.probability(&features(title, content)));
        let signals = Signals {
            text: &analysed.compact,
            traditional_chars: analysed.scripts.traditional,
            simplified_chars: analysed.scripts.simplified,
            repeats,
            classifier,
        };
        let verdict = screening::screen(&signals, settings);
        Ok(Screening { verdict, fingerprint: analysed.fingerprint })
    }

    // ---- the queue --------------------------------------------------------------------------

    /// The held submissions in the caller's scope, newest first, with their scores and reasons.
    pub async fn queue(&self, caller: &Caller, cursor: Option<&str>) -> AppResult<HeldPage> {
        let before_id = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse().map_err(|_| AppError::invalid("invalid_cursor", "cursor 应为上一页给出的编号"))?),
            None => None,
        };
        let filter = ListFilter { before_id, limit: QUEUE_PAGE, ..queue_filter() };
        let listing = self.app.requests().list(caller, &filter).await?;
        let total = self.app.requests().count(caller, &queue_filter()).await?;
        let items = self.with_screenings(listing.items).await?;
        Ok(HeldPage { items, next_cursor: listing.next_cursor.map(|c| c.to_string()), total })
    }

    /// The listed requests with their screenings (in the listing's order).
    pub async fn with_screenings(&self, items: Vec<(Request, RequestView)>) -> AppResult<Vec<HeldRequest>> {
        let ids = items.iter().map(|(r, _)| r.id).collect();
        let records = self.app.store().screenings(ids).await?;
        Ok(items
            .into_iter()
            .filter_map(|(r, view)| {
                let record = records.iter().find(|s| s.request_id == r.id)?;
                Some(HeldRequest { request: view, screening: screening_view(record, r.screening_held) })
            })
            .collect())
    }

    /// A request's screening, if it was screened or decided (`404 request_not_found` out of scope).
    pub async fn of_request(&self, caller: &Caller, no: &str) -> AppResult<Option<ScreeningView>> {
        let request = self.app.requests().find(caller, no).await?;
        self.of(&request).await
    }

    /// The screening of a request already read.
    pub async fn of(&self, request: &Request) -> AppResult<Option<ScreeningView>> {
        let records = self.app.store().screenings(vec![request.id]).await?;
        Ok(records.first().map(|r| screening_view(r, request.screening_held)))
    }

    // ---- settings ---------------------------------------------------------------------------

    /// The settings, their versions, the classifier and the queue's size (administrators).
    pub async fn overview(&self, caller: &Caller) -> AppResult<ScreeningOverview> {
        caller.require(mashangban_domain::access::Permission::ManageScreening)?;
        let history: Vec<SettingsView> =
            self.app.store().screening_settings_history(HISTORY).await?.into_iter().map(version_view).collect();
        let settings = history.first().cloned().unwrap_or_else(|| default_view(Settings::default()));
        let waiting = self.app.store().count(&queue_filter(), &mashangban_domain::org::Scope::All).await?;
        let classifier = self.app.screening_slot().model.load_full().map(|m| m.info());
        Ok(ScreeningOverview { settings, history, classifier, waiting })
    }

    /// Saves a new version of the settings (administrators); in force on this node at once, on
    /// the others as soon as they read the change feed.
    pub async fn update(&self, caller: &Caller, body: SettingsBody) -> AppResult<SettingsView> {
        let actor = caller.require(mashangban_domain::access::Permission::ManageScreening)?;
        let settings = screening::settings(&body.phrases, body.threshold, mashangban_text::normalize)?;
        let saved = self.app.store().save_screening_settings(settings, actor.name().to_owned(), self.app.now()).await?;
        self.app.changed(Signal::SettingsChanged).await?;
        Ok(version_view(saved))
    }

    // ---- the classifier ---------------------------------------------------------------------

    /// Retrains the classifier now (administrators).
    pub async fn retrain(&self, caller: &Caller) -> AppResult<ClassifierInfo> {
        caller.require(mashangban_domain::access::Permission::ManageScreening)?;
        Ok(self.train_now().await?.info())
    }

    /// Trains this node's classifier from the newest decisions and genuine requests and puts it in
    /// service. One training runs at a time.
    pub async fn train_now(&self) -> StoreResult<Arc<SpamModel>> {
        let _one_at_a_time = self.app.screening_slot().training.lock().await;
        self.train_holding_the_lock().await
    }

    /// Trains beside the caller: after a staff decision (release, mark spam), so it reaches this
    /// node's classifier at once, and on the scheduler's quarter hour. A training is queued behind
    /// the one running, and requests made before it starts reading join it, so a burst of decisions
    /// costs at most two trainings. Other nodes learn a decision at their next periodic training.
    pub fn train_soon(&self) {
        use std::sync::atomic::Ordering;
        if self.app.screening_slot().queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.app.clone();
        tokio::spawn(async move {
            let slot = app.screening_slot();
            let _one_at_a_time = slot.training.lock().await;
            slot.queued.store(false, Ordering::Release);
            let trained = app.screening().train_holding_the_lock().await;
            app.jobs().record("screening_training", trained.is_ok());
            if let Err(error) = trained {
                tracing::error!(%error, "training the screening classifier failed");
            }
        });
    }

    async fn train_holding_the_lock(&self) -> StoreResult<Arc<SpamModel>> {
        let slot = self.app.screening_slot();
        let examples = self.app.store().screening_examples(None, None, MAX_EXAMPLES).await?;
        let model = Arc::new(learn(examples, self.app.now()).await?);
        slot.model.store(Some(model.clone()));
        tracing::info!(spam = model.spam, genuine = model.genuine, "screening classifier trained");
        Ok(model)
    }

    /// Trains on the requests received before `before` and screens those received from then on
    /// (repeats are not counted: the look-up needs the time of each submission's own intake). Does
    /// not touch the classifier in service.
    pub async fn evaluate(&self, before: Instant) -> AppResult<ScreeningEvaluation> {
        let store = self.app.store();
        let model = learn(store.screening_examples(None, Some(before), MAX_EXAMPLES).await?, before).await?;
        let tested = store.screening_examples(Some(before), None, MAX_EXAMPLES).await?;
        let settings = self.app.caches().settings().screening.as_ref().map(|v| v.settings.clone()).unwrap_or_default();
        let (trained_on_spam, trained_on_genuine) = (model.spam, model.genuine);
        let outcome = tokio::task::spawn_blocking(move || {
            let mut tally = EvaluationTally::default();
            for e in &tested {
                let analysed = analyse(&e.title, &e.content);
                let mut signals = Signals {
                    text: &analysed.compact,
                    traditional_chars: analysed.scripts.traditional,
                    simplified_chars: analysed.scripts.simplified,
                    repeats: 0,
                    classifier: None,
                };
                let rules = screening::screen(&signals, &settings).held;
                signals.classifier = model.probability(&features(&e.title, &e.content));
                let held = screening::screen(&signals, &settings).held;
                tally.add(e, held, rules);
            }
            (tally, settings.threshold)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        let (t, threshold) = outcome;
        if t.genuine == 0 {
            return Err(AppError::new(ErrorKind::Conflict, "screening_history_empty", "该日期之后没有可评估的诉求"));
        }
        let rate = |part: u64, whole: u64| if whole == 0 { 0.0 } else { round4(part as f64 / whole as f64) };
        Ok(ScreeningEvaluation {
            before: format_instant(&before),
            threshold,
            trained_on_spam,
            trained_on_genuine,
            genuine: t.genuine,
            false_positives: t.false_positives,
            false_positive_rate: rate(t.false_positives, t.genuine),
            spam: t.spam,
            caught: t.caught,
            recall: rate(t.caught, t.spam),
            rules_false_positive_rate: rate(t.rules_false_positives, t.genuine),
            rules_recall: rate(t.rules_caught, t.spam),
            false_positive_titles: t.false_positive_titles,
        })
    }
}

#[derive(Default)]
struct EvaluationTally {
    genuine: u64,
    false_positives: u64,
    rules_false_positives: u64,
    spam: u64,
    caught: u64,
    rules_caught: u64,
    false_positive_titles: Vec<String>,
}

impl EvaluationTally {
    fn add(&mut self, e: &ScreeningExample, held: bool, rules: bool) {
        if e.spam {
            self.spam += 1;
            self.caught += u64::from(held);
            self.rules_caught += u64::from(rules);
        } else {
            self.genuine += 1;
            self.false_positives += u64::from(held);
            self.rules_false_positives += u64::from(rules);
            if held && self.false_positive_titles.len() < 5 {
                self.false_positive_titles.push(e.title.clone());
            }
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Trains a classifier off the async threads.
async fn learn(examples: Vec<ScreeningExample>, at: Instant) -> StoreResult<SpamModel> {
    tokio::task::spawn_blocking(move || {
        let mut trainer = Trainer::default();
        let (mut spam, mut genuine) = (0, 0);
        for e in &examples {
            let class = if e.spam { SPAM } else { GENUINE };
            trainer.add(&features(&e.title, &e.content), class);
            if e.spam { spam += 1 } else { genuine += 1 }
        }
        SpamModel { model: trainer.model(), spam, genuine, trained_at: at }
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))
}

fn version_view(v: mashangban_store::ScreeningSettingsVersion) -> SettingsView {
    SettingsView {
        version: Some(v.version),
        phrases: v.settings.phrases,
        threshold: v.settings.threshold,
        changed_by: Some(v.changed_by),
        changed_at: Some(format_instant(&v.changed_at)),
    }
}

fn default_view(s: Settings) -> SettingsView {
    SettingsView { version: None, phrases: s.phrases, threshold: s.threshold, changed_by: None, changed_at: None }
}
