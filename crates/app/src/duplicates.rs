//! Duplicate detection (疑似重复): the open requests that look like the same matter as one the
//! dispatcher is reading — similar words, the same asker or place — for a merge (并单) in one step.
//! The likeness is `mashangban_domain::duplicates`; this reads the candidates.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::duplicates::{Facts, Likeness, Thresholds, Weights, rank, term_ids};
use mashangban_domain::request::{Request, RequestId, State};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{ListFilter, Signal, Store, StoreError, StoreResult, ThresholdsVersion};

use crate::error::AppResult;
use crate::{App, Caller};

/// The most candidates read per look-up (newest first): enough for a town's month of one matter.
const MAX_CANDIDATES: u32 = 500;

/// Likely duplicates listed at most.
pub const LISTED: usize = 5;

/// The duplicate-detection service: `app.duplicates()`.
pub struct Duplicates<'a, S> {
    app: &'a App<S>,
}

/// A request that looks like the same matter.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SimilarRequest {
    pub tracking_no: String,
    pub title: String,
    pub state: String,
    pub state_label: String,
    pub received_at: String,
    /// 0–1, two decimals: the share of words in common, with same asker and place added.
    pub similarity: f64,
    /// 0–1, two decimals: the share of words in common alone.
    pub text: f64,
    pub same_asker: bool,
    pub same_place: bool,
    /// Why, in Chinese.
    pub reasons: Vec<String>,
}

/// How duplicate detection fared on the merges staff made (the demo plants some), under the
/// thresholds and weights it was run with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DuplicateEvaluation {
    /// The similarity threshold, the window and the likeness weights used.
    pub similarity: f64,
    pub window_days: u32,
    pub weights: WeightsView,
    /// Requests merged (并单) into another, received in the period.
    pub merged: u64,
    /// Of those, how many had the request they were merged into among the listed duplicates.
    pub found: u64,
    pub recall: f64,
    /// Of those, how many had it listed first.
    pub found_first: u64,
    /// Likely duplicates listed for the merged requests, all told.
    pub listed: u64,
    /// The share of those that were right: the request merged into, or another merged into it.
    pub precision: f64,
    /// Requests received in the period that nobody merged (the newest 500), checked the same way.
    pub unmerged: u64,
    /// Of those, how many had a likely duplicate listed: the false alarms at most, since some may
    /// be duplicates nobody merged.
    pub unmerged_flagged: u64,
    /// Likely duplicates listed for them, all told.
    pub unmerged_listed: u64,
    /// The share of every listing, for merged and unmerged requests alike, that was right; a listing
    /// for a request nobody merged is right only when the listed one was merged into it.
    pub precision_overall: f64,
}

/// The likeness weights (加分), 0–0.5 each.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct WeightsView {
    /// 相同诉求人：added when the asker is the same (phone or credit code).
    pub same_asker: f64,
    /// 相同地址：added when the address is the same.
    pub same_place: f64,
    /// 同类别同镇街：added when category and town are both the same.
    pub same_category_and_town: f64,
}

impl From<Weights> for WeightsView {
    fn from(w: Weights) -> Self {
        Self { same_asker: w.same_asker, same_place: w.same_place, same_category_and_town: w.same_category_and_town }
    }
}

/// The thresholds as an administrator writes them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsBody {
    /// 疑似重复：a pair at least this alike (0.1–0.95) is listed.
    pub similarity: f64,
    /// 疑似重复：candidates received at most this many days apart (1–90).
    pub window_days: u32,
    /// 热点问题：at least this many requests (2–100).
    pub hot_min_size: u32,
    /// 热点问题：among the requests received in the last this many days (1–31).
    pub hot_window_days: u32,
    /// 热点问题：two requests of one place join when at least this alike (0.1–0.95).
    pub hot_similarity: f64,
    /// 跨镇街热点：two requests of different towns join when their words alone are at least this alike
    /// (0.1–0.95). Optional: absent keeps the version in force.
    #[serde(default)]
    pub cross_town_similarity: Option<f64>,
    /// 相同诉求人加分 (0–0.5). Optional: absent keeps the version in force.
    #[serde(default)]
    pub same_asker: Option<f64>,
    /// 相同地址加分 (0–0.5). Optional: absent keeps the version in force.
    #[serde(default)]
    pub same_place: Option<f64>,
    /// 同类别同镇街加分 (0–0.5). Optional: absent keeps the version in force.
    #[serde(default)]
    pub same_category_and_town: Option<f64>,
}

/// The thresholds in force or of an earlier version, with who saved them and when.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThresholdsView {
    /// None: the built-in defaults, never changed.
    pub version: Option<i64>,
    pub similarity: f64,
    pub window_days: u32,
    pub hot_min_size: u32,
    pub hot_window_days: u32,
    pub hot_similarity: f64,
    pub cross_town_similarity: f64,
    pub weights: WeightsView,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

/// The thresholds in force and their versions (newest first, the one in force included).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThresholdsOverview {
    pub thresholds: ThresholdsView,
    pub history: Vec<ThresholdsView>,
}

/// Versions of the thresholds listed.
const HISTORY: u32 = 20;

fn thresholds_view(t: Thresholds, saved: Option<ThresholdsVersion>) -> ThresholdsView {
    ThresholdsView {
        version: saved.as_ref().map(|v| v.version),
        similarity: t.similarity,
        window_days: t.window_days,
        hot_min_size: t.hot_min_size,
        hot_window_days: t.hot_window_days,
        hot_similarity: t.hot_similarity,
        cross_town_similarity: t.cross_town_similarity,
        weights: t.weights.into(),
        changed_by: saved.as_ref().map(|v| v.changed_by.clone()),
        changed_at: saved.as_ref().map(|v| format_instant(&v.changed_at)),
    }
}

fn version_view(v: ThresholdsVersion) -> ThresholdsView {
    thresholds_view(v.thresholds, Some(v))
}

impl<'a, S: Store> Duplicates<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The thresholds in force: the newest saved version, or the defaults (from the caches, no read).
    pub fn thresholds(&self) -> Thresholds {
        self.app.caches().settings().duplicate_thresholds.as_ref().map(|v| v.thresholds).unwrap_or_default()
    }

    /// The thresholds and their versions (administrators).
    pub async fn overview(&self, caller: &Caller) -> AppResult<ThresholdsOverview> {
        caller.require(Permission::ManageDuplicateThresholds)?;
        let history: Vec<ThresholdsView> =
            self.app.store().duplicate_thresholds_history(HISTORY).await?.into_iter().map(version_view).collect();
        let thresholds = history.first().cloned().unwrap_or_else(|| thresholds_view(Thresholds::default(), None));
        Ok(ThresholdsOverview { thresholds, history })
    }

    /// Saves a new version of the thresholds (administrators), in force at once on every node; the
    /// version records who and when. Refused with a Chinese message when out of bounds.
    pub async fn update(&self, caller: &Caller, body: ThresholdsBody) -> AppResult<ThresholdsView> {
        let actor = caller.require(Permission::ManageDuplicateThresholds)?;
        let now = self.thresholds();
        let t = Thresholds {
            similarity: body.similarity,
            window_days: body.window_days,
            hot_min_size: body.hot_min_size,
            hot_window_days: body.hot_window_days,
            hot_similarity: body.hot_similarity,
            cross_town_similarity: body.cross_town_similarity.unwrap_or(now.cross_town_similarity),
            weights: Weights {
                same_asker: body.same_asker.unwrap_or(now.weights.same_asker),
                same_place: body.same_place.unwrap_or(now.weights.same_place),
                same_category_and_town: body.same_category_and_town.unwrap_or(now.weights.same_category_and_town),
            },
        }
        .checked()?;
        let saved = self.app.store().save_duplicate_thresholds(t, actor.name().to_owned(), self.app.now()).await?;
        self.app.changed(Signal::SettingsChanged).await?;
        Ok(version_view(saved))
    }

    /// The open requests in the caller's scope that look like the same matter as request `no` (in
    /// the caller's scope too: `404 request_not_found` otherwise), most alike first.
    pub async fn similar(&self, caller: &Caller, no: &str) -> AppResult<Vec<SimilarRequest>> {
        let request = self.app.requests().find(caller, no).await?;
        let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
        let t = self.thresholds();
        let (from, to) = window(request.received_at, &t);
        let found = self.likely(&request, &open, (from, Some(to)), &t, &caller.actor.scope()).await?;
        Ok(found.into_iter().map(|(r, l)| similar_view(r, l)).collect())
    }

    /// At intake (受理时): the open requests in the caller's scope received in the window before `request`
    /// (just taken in) that look like the same matter, most alike first — so the operator can merge
    /// (并单) at once. Empty for callers who do not see dispatch suggestions (accounts, the public
    /// portal): an asker never learns of other people's requests.
    pub async fn at_intake(&self, caller: &Caller, request: &Request) -> AppResult<Vec<SimilarRequest>> {
        if !caller.actor.may(Permission::SuggestDispatch) {
            return Ok(Vec::new());
        }
        let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
        let t = self.thresholds();
        let (from, _) = window(request.received_at, &t);
        let found = self.likely(request, &open, (from, None), &t, &caller.actor.scope()).await?;
        Ok(found.into_iter().map(|(r, l)| similar_view(r, l)).collect())
    }

    /// The requests in `states` received in `[from, to)` in the request's town (all towns when it has
    /// none) within `scope`, other than itself, at least as alike as the thresholds say, most alike
    /// first.
    async fn likely(
        &self,
        request: &Request,
        states: &[State],
        (from, to): (Instant, Option<Instant>),
        thresholds: &Thresholds,
        scope: &mashangban_domain::org::Scope,
    ) -> StoreResult<Vec<(Request, Likeness)>> {
        let filter = ListFilter {
            states: states.to_vec(),
            town_id: request.location.town_id,
            received_from: Some(from),
            received_to: to,
            limit: MAX_CANDIDATES,
            ..ListFilter::default()
        };
        let store = self.app.store();
        let cache = Arc::clone(self.app.facts_cache());
        // Candidates' ids and versions first; whole rows only of those whose facts are not held.
        let mut held = Vec::new();
        let mut missing = Vec::new();
        for (id, version) in store.list_versions(&filter, scope).await?.into_iter().filter(|(id, _)| *id != request.id)
        {
            match cache.get(id, version) {
                Some(facts) => held.push((id, facts)),
                None => missing.push(id),
            }
        }
        let read = store.requests_by_ids(&missing, scope).await?;
        let target = request.clone();
        let thresholds = *thresholds;
        let (ranked, mut read) = tokio::task::spawn_blocking(move || {
            held.extend(read.iter().map(|r| (r.id, cache.facts_of(r))));
            // Newest first, as the list gives them: the tie-break among equally alike candidates.
            held.sort_unstable_by_key(|(id, _)| std::cmp::Reverse(*id));
            // Not kept: the requests checked are any, old ones too, and would push out the open
            // requests that are candidates check after check.
            let target = cache.get(target.id, target.version).unwrap_or_else(|| Arc::new(facts(&target)));
            let facts: Vec<&Facts> = held.iter().map(|(_, f)| f.as_ref()).collect();
            let ranked: Vec<(RequestId, Likeness)> =
                rank(&target, &facts, LISTED, &thresholds).into_iter().map(|(i, l)| (held[i].0, l)).collect();
            (ranked, read)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        // The listed few, whole: those read above, the rest now.
        read.retain(|r| ranked.iter().any(|(id, _)| *id == r.id));
        let unread: Vec<RequestId> =
            ranked.iter().map(|(id, _)| *id).filter(|id| read.iter().all(|r| r.id != *id)).collect();
        read.extend(store.requests_by_ids(&unread, scope).await?);
        Ok(ranked
            .into_iter()
            .filter_map(|(id, l)| Some((read.iter().position(|r| r.id == id).map(|i| read.swap_remove(i))?, l)))
            .collect())
    }

    /// For every request merged into another and received from `from` on (the newest [`EVALUATED`]):
    /// whether the one it was merged into — open then — is listed among the likely duplicates of the
    /// requests received in the window before it, under the thresholds and weights `t` (those in
    /// force, or others to try before saving them); and how many of those listed were right. Then the
    /// same for as many requests nobody merged: how many had something listed, and how much.
    pub async fn evaluate(&self, from: Instant, t: &Thresholds) -> StoreResult<DuplicateEvaluation> {
        let merged = self.received_from(from, vec![State::Merged]).await?;
        let (mut found, mut found_first, mut listed_all, mut right) = (0, 0, 0u64, 0u64);
        for request in &merged {
            let Some(parent) = request.merged_into else { continue };
            let listed = self.listed_before(request, t).await?;
            listed_all += listed.len() as u64;
            right += listed.iter().filter(|r| r.id == parent || r.merged_into == Some(parent)).count() as u64;
            if let Some(position) = listed.iter().position(|r| r.id == parent) {
                found += 1;
                if position == 0 {
                    found_first += 1;
                }
            }
        }
        let states = State::ALL.iter().copied().filter(|s| *s != State::Merged).collect();
        let unmerged = self.received_from(from, states).await?;
        let (mut flagged, mut unmerged_listed, mut unmerged_right) = (0, 0u64, 0u64);
        for request in &unmerged {
            let listed = self.listed_before(request, t).await?;
            flagged += u64::from(!listed.is_empty());
            unmerged_listed += listed.len() as u64;
            unmerged_right += listed.iter().filter(|r| r.merged_into == Some(request.id)).count() as u64;
        }
        let merged = merged.len() as u64;
        let share = |n: u64, of: u64| if of == 0 { 0.0 } else { (n as f64 / of as f64 * 10_000.0).round() / 10_000.0 };
        Ok(DuplicateEvaluation {
            similarity: t.similarity,
            window_days: t.window_days,
            weights: t.weights.into(),
            merged,
            found,
            recall: share(found, merged),
            found_first,
            listed: listed_all,
            precision: share(right, listed_all),
            unmerged: unmerged.len() as u64,
            unmerged_flagged: flagged,
            unmerged_listed,
            precision_overall: share(right + unmerged_right, listed_all + unmerged_listed),
        })
    }

    /// The newest [`EVALUATED`] requests in `states` received from `from` on.
    async fn received_from(&self, from: Instant, states: Vec<State>) -> StoreResult<Vec<Request>> {
        let filter = ListFilter { states, received_from: Some(from), limit: EVALUATED, ..ListFilter::default() };
        Ok(self.app.store().list(&filter, &mashangban_domain::org::Scope::All).await?.items)
    }

    /// The likely duplicates of `request`, in any state, among those received in the window before it.
    async fn listed_before(&self, request: &Request, t: &Thresholds) -> StoreResult<Vec<Request>> {
        let (from, _) = window(request.received_at, t);
        let all = mashangban_domain::org::Scope::All;
        let listed = self.likely(request, State::ALL, (from, Some(request.received_at)), t, &all).await?;
        Ok(listed.into_iter().map(|(r, _)| r).collect())
    }
}

/// Requests evaluated of each kind (merged, and nobody merged), newest first: one page of the
/// store's list, which keeps an evaluation on the admin page within seconds.
const EVALUATED: u32 = 500;

/// The candidate window around a receipt.
fn window(received_at: Instant, thresholds: &Thresholds) -> (Instant, Instant) {
    let days = chrono::Duration::days(i64::from(thresholds.window_days));
    (received_at - days, received_at + days)
}

/// Requests whose facts are kept unless configured otherwise: about 1.4 KB each (a request's
/// words and bigrams as 8-byte ids, its address and credit code), so 14 MB at most.
pub const FACTS_CACHE_ENTRIES: usize = 10_000;

/// Shards of the facts cache, each behind its own lock.
const FACTS_CACHE_SHARDS: usize = 16;

/// What likeness read of the requests it compared lately ([`Facts`]: terms as [`term_ids`], the
/// asker's keys, address, town, category), by request id and version. The same open requests are
/// candidates of one check after another: with their facts held, a check reads only the ids and
/// versions of its candidates and the whole rows of those it has not seen in that version, instead
/// of every candidate's row, personal data decrypted, and its text cut into words. A request's
/// version grows with every change to it, so a kept entry is never stale; least recently used go
/// first. No phone number is held in plain form (see [`Facts::phone`]).
pub struct FactsCache {
    shards: Vec<Mutex<FactsShard>>,
}

/// One shard of the facts cache: facts by request id and version.
type FactsShard = LruCache<(RequestId, i64), Arc<Facts>>;

impl FactsCache {
    /// A cache of about `entries` requests (none when 0: every request is read and cut again).
    pub fn new(entries: usize) -> Self {
        let per_shard = NonZeroUsize::new(entries.div_ceil(FACTS_CACHE_SHARDS)).unwrap_or(NonZeroUsize::MIN);
        let keep = entries > 0;
        let shards =
            (0..if keep { FACTS_CACHE_SHARDS } else { 0 }).map(|_| Mutex::new(LruCache::new(per_shard))).collect();
        Self { shards }
    }

    fn shard(&self, id: RequestId) -> Option<std::sync::MutexGuard<'_, FactsShard>> {
        let shard = self.shards.get(id.unsigned_abs() as usize % FACTS_CACHE_SHARDS.max(1))?;
        // A panic while holding a shard leaves a consistent map: keep serving.
        Some(shard.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The facts of request `id` in `version`, if held.
    pub fn get(&self, id: RequestId, version: i64) -> Option<Arc<Facts>> {
        self.shard(id)?.get(&(id, version)).map(Arc::clone)
    }

    /// What likeness reads of a request, kept under its id and version.
    pub fn facts_of(&self, r: &Request) -> Arc<Facts> {
        if let Some(found) = self.get(r.id, r.version) {
            return found;
        }
        let facts = Arc::new(facts(r));
        if let Some(mut shard) = self.shard(r.id) {
            shard.put((r.id, r.version), Arc::clone(&facts));
        }
        facts
    }

    /// Requests held now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What likeness reads of a request: the terms of its title and content, and its other facts.
fn facts(r: &Request) -> Facts {
    Facts::with_term_ids(r, term_ids(mashangban_text::terms(&format!("{}\n{}", r.title, r.content))))
}

impl Default for FactsCache {
    fn default() -> Self {
        Self::new(FACTS_CACHE_ENTRIES)
    }
}

fn similar_view(r: Request, l: Likeness) -> SimilarRequest {
    let two = |x: f64| (x * 100.0).round() / 100.0;
    let mut reasons = vec![format!("文字相同部分 {:.0}%", l.text * 100.0)];
    if l.same_asker {
        reasons.push("同一诉求人（电话或统一社会信用代码相同）".to_owned());
    }
    if l.same_place {
        reasons.push("同一地址".to_owned());
    }
    SimilarRequest {
        tracking_no: r.tracking_no,
        title: r.title,
        state: r.state.as_str().to_owned(),
        state_label: r.state.label().to_owned(),
        received_at: format_instant(&r.received_at),
        similarity: two(l.score),
        text: two(l.text),
        same_asker: l.same_asker,
        same_place: l.same_place,
        reasons,
    }
}

// ---- hot issues ----------------------------------------------------------------------------

/// The most requests read to look for hot issues (newest first): a busy week of a city.
const MAX_HOT_REQUESTS: u32 = 5_000;

/// Requests of a hot issue listed for the drill-down.
const HOT_LISTED: usize = 100;

/// Hot issues answered at most.
const HOT_ISSUES: usize = 20;

/// One day of a hot issue's trend.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct DayCount {
    /// `YYYY-MM-DD`, Asia/Shanghai.
    pub day: String,
    pub count: u64,
}

/// A request of a hot issue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HotRequest {
    pub tracking_no: String,
    pub title: String,
    pub state_label: String,
    pub received_at: String,
}

/// A town a hot issue spans, with how many of its requests are of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HotTown {
    pub code: String,
    pub name: String,
    pub count: u64,
}

/// A hot issue (热点问题): many requests about one matter in one place, or in several towns (跨镇街).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HotIssue {
    /// The title of its most typical request.
    pub title: String,
    /// Its most typical request.
    pub tracking_no: String,
    /// The town's code and name (of its most typical request when it spans several); empty when its
    /// requests gave none (then they share an address).
    pub town: String,
    pub town_name: String,
    /// Whether its requests are of more than one town (跨镇街热点).
    pub cross_town: bool,
    /// The towns its requests are of, most requests first (then by code).
    pub towns: Vec<HotTown>,
    /// The address most of its requests give, if any.
    pub address: Option<String>,
    /// The mean position of those of its requests that have one (WGS-84), for a map.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub count: u64,
    /// Of them, still open.
    pub open: u64,
    /// One entry per day of the window, oldest first.
    pub trend: Vec<DayCount>,
    /// Its requests, newest first (at most 100).
    pub requests: Vec<HotRequest>,
}

/// The hot issues of the last days, in the caller's data scope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HotIssues {
    /// The window: requests received from `from` (inclusive) on, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub window_days: u32,
    pub min_size: u32,
    pub similarity: f64,
    /// Requests of different towns join when their words alone are at least this alike.
    pub cross_town_similarity: f64,
    /// Requests looked at (at most 5,000, the newest).
    pub requests_read: u64,
    /// Largest first, at most 20.
    pub issues: Vec<HotIssue>,
}

impl<S: Store> Duplicates<'_, S> {
    /// The hot issues (热点问题) among the requests in the caller's scope received in the last
    /// `hot_window_days` days: requests of one town (or one address) linked by likeness, requests of
    /// different towns linked when their words are at least `cross_town_similarity` alike (跨镇街), groups
    /// of at least `hot_min_size` (the administrator's thresholds). Requests held by spam screening are
    /// left out. Built from the caller's own list, so neither a count nor a drill-down reaches beyond
    /// it (only city-wide roles read hot issues today; a caller scoped to one town would see only its
    /// town's requests of a matter that spans several).
    ///
    /// At most 5,000 requests are read (newest first); the place pass compares every pair within a
    /// town, the cross-town pass only pairs sharing a rare word (see `hot_clusters`).
    pub async fn hot_issues(&self, caller: &Caller) -> AppResult<HotIssues> {
        let t = self.thresholds();
        let now = self.app.now();
        let today = mashangban_domain::scoring::day_of(&now);
        let first_day = today - chrono::Days::new(u64::from(t.hot_window_days.saturating_sub(1)));
        let from = first_day
            .and_hms_opt(0, 0, 0)
            .and_then(|d| d.and_local_timezone(mashangban_domain::time::shanghai()).single())
            .unwrap_or(now);
        let scope = caller.actor.scope();
        let mut filter =
            ListFilter { received_from: Some(from), screening_held: Some(false), limit: 500, ..ListFilter::default() };
        let mut requests: Vec<Request> = Vec::new();
        loop {
            let page = self.app.store().list(&filter, &scope).await?;
            requests.extend(page.items);
            match page.next_cursor {
                Some(next) if requests.len() < MAX_HOT_REQUESTS as usize => filter.before_id = Some(next),
                _ => break,
            }
        }
        requests.truncate(MAX_HOT_REQUESTS as usize);
        let read = requests.len() as u64;
        let cache = Arc::clone(self.app.facts_cache());
        let (requests, clusters, typical) = tokio::task::spawn_blocking(move || {
            let facts: Vec<Facts> = requests.iter().map(|r| Facts::clone(&cache.facts_of(r))).collect();
            let clusters = mashangban_domain::duplicates::hot_clusters(&facts, &t);
            let typical: Vec<usize> =
                clusters.iter().map(|c| mashangban_domain::duplicates::typical(&facts, c).unwrap_or(c[0])).collect();
            (requests, clusters, typical)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        let org = self.app.caches().org();
        let days: Vec<chrono::NaiveDate> = first_day.iter_days().take_while(|d| *d <= today).collect();
        let issues = clusters
            .iter()
            .zip(typical)
            .take(HOT_ISSUES)
            .map(|(members, typical)| {
                let first = &requests[typical];
                let town = first.location.town_id.and_then(|id| org.get(id));
                let mut per_day: std::collections::BTreeMap<chrono::NaiveDate, u64> = std::collections::BTreeMap::new();
                let mut addresses: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
                let mut towns: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
                let (mut lat, mut lon, mut placed) = (0.0, 0.0, 0.0);
                for &m in members {
                    let r = &requests[m];
                    *per_day.entry(mashangban_domain::scoring::day_of(&r.received_at)).or_insert(0) += 1;
                    if let Some(a) = r.location.address.as_deref() {
                        *addresses.entry(a).or_insert(0) += 1;
                    }
                    if let Some(t) = r.location.town_id {
                        *towns.entry(t).or_insert(0) += 1;
                    }
                    if let Some(p) = &r.location.point {
                        (lat, lon, placed) = (lat + p.lat, lon + p.lon, placed + 1.0);
                    }
                }
                let address = addresses
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .filter(|(_, n)| **n * 2 >= members.len())
                    .map(|(a, _)| (*a).to_owned());
                // Members are in list order: newest first.
                let listed = members
                    .iter()
                    .take(HOT_LISTED)
                    .map(|&m| {
                        let r = &requests[m];
                        HotRequest {
                            tracking_no: r.tracking_no.clone(),
                            title: r.title.clone(),
                            state_label: r.state.label().to_owned(),
                            received_at: format_instant(&r.received_at),
                        }
                    })
                    .collect();
                let mut towns: Vec<HotTown> = towns
                    .into_iter()
                    .filter_map(|(id, count)| {
                        let u = org.get(id)?;
                        Some(HotTown { code: u.code.clone(), name: u.name.clone(), count })
                    })
                    .collect();
                towns.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
                HotIssue {
                    title: first.title.clone(),
                    tracking_no: first.tracking_no.clone(),
                    town: town.map(|u| u.code.clone()).unwrap_or_default(),
                    town_name: town.map(|u| u.name.clone()).unwrap_or_default(),
                    cross_town: towns.len() > 1,
                    towns,
                    address,
                    lat: (placed > 0.0).then(|| lat / placed),
                    lon: (placed > 0.0).then(|| lon / placed),
                    count: members.len() as u64,
                    open: members.iter().filter(|&&m| requests[m].state.is_open()).count() as u64,
                    trend: days
                        .iter()
                        .map(|d| DayCount { day: d.to_string(), count: per_day.get(d).copied().unwrap_or(0) })
                        .collect(),
                    requests: listed,
                }
            })
            .collect();
        Ok(HotIssues {
            from: first_day.to_string(),
            to: today.to_string(),
            window_days: t.hot_window_days,
            min_size: t.hot_min_size,
            similarity: t.hot_similarity,
            cross_town_similarity: t.cross_town_similarity,
            requests_read: read,
            issues,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(id: RequestId, version: i64, content: &str) -> Request {
        use mashangban_domain::request::{Asker, Channel, Contact, Location, RequestKind, Urgency};
        use mashangban_domain::validation::Phone;
        let at = mashangban_domain::time::parse_instant("2026-03-02T09:00:00+08:00").unwrap();
        Request {
            id,
            tracking_no: format!("ZS20260302{id:06}"),
            check_code: "12345678".into(),
            kind: RequestKind::Complaint,
            urgency: Urgency::Normal,
            channel: Channel::Phone,
            asker: Asker::Resident,
            contact: Contact { name: "陈嘉欣".into(), phone: Phone::parse("13800138000").unwrap(), email: None },
            title: "路灯不亮".into(),
            content: content.into(),
            category_id: 1,
            location: Location { town_id: Some(7), address: Some("兴中道 1 号".into()), point: None },
            state: State::Received,
            lead_unit_id: None,
            co_unit_ids: vec![],
            pending_extension: None,
            merged_into: None,
            rating: None,
            resolved: None,
            reopen_count: 0,
            return_count: 0,
            extension_count: 0,
            urge_count: 0,
            reopen_requested_at: None,
            due_at: None,
            deadlines: Default::default(),
            time_limits: None,
            suspended_at: None,
            supervision: None,
            ledger_ref: None,
            submitted_by: None,
            received_at: at,
            updated_at: at,
            closed_at: None,
            unit_work: Default::default(),
            version,
            screening_held: false,
        }
    }

    #[test]
    fn facts_are_kept_per_version_hold_no_phone_and_the_cache_stays_bounded() {
        let cache = FactsCache::new(32);
        let first = request(1, 1, "小区东门路灯坏了两个月");
        let facts = cache.facts_of(&first);
        assert!(Arc::ptr_eq(&facts, &cache.get(1, 1).unwrap()), "held under id and version");
        assert_eq!(facts.terms, term_ids(mashangban_text::terms("路灯不亮\n小区东门路灯坏了两个月")));
        assert_eq!(facts.phone, mashangban_domain::duplicates::phone_key("13800138000"));
        assert_eq!(facts.address.as_deref(), Some("兴中道1号"));
        assert!(cache.get(1, 2).is_none(), "another version is not held");
        let changed = cache.facts_of(&request(1, 2, "小区西门路灯坏了两个月"));
        assert_ne!(changed.terms, facts.terms, "the new version's own facts");
        (2..200).for_each(|n| drop(cache.facts_of(&request(n, 1, "小区东门路灯坏了两个月"))));
        assert!(cache.len() <= 32, "bounded: {}", cache.len());
        let none = FactsCache::new(0);
        assert_eq!(none.facts_of(&first).terms, facts.terms);
        assert!(none.is_empty() && none.get(1, 1).is_none());
    }
}
