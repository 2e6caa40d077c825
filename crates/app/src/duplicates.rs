//! Duplicate detection (疑似重复): the open requests that look like the same matter as one the
//! dispatcher is reading — similar words, the same asker or place — for a merge (并单) in one step.
//! The likeness is `mashangban_domain::duplicates`; this reads the candidates.

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::duplicates::{Facts, Likeness, rank};
use mashangban_domain::request::{Request, State};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{ListFilter, Store, StoreError, StoreResult};

use crate::error::AppResult;
use crate::{App, Caller};

/// Candidates are requests received at most this many days before the one read (or after it).
pub const WINDOW_DAYS: i64 = 30;

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

/// How duplicate detection fared on the merges staff made (the demo plants some).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DuplicateEvaluation {
    /// Requests merged (并单) into another, received in the period.
    pub merged: u64,
    /// Of those, how many had the request they were merged into among the listed duplicates.
    pub found: u64,
    pub recall: f64,
    /// Of those, how many had it listed first.
    pub found_first: u64,
}

impl<'a, S: Store> Duplicates<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The open requests in the caller's scope that look like the same matter as request `no` (in
    /// the caller's scope too: `404 request_not_found` otherwise), most alike first.
    pub async fn similar(&self, caller: &Caller, no: &str) -> AppResult<Vec<SimilarRequest>> {
        let request = self.app.requests().find(caller, no).await?;
        let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
        let (from, to) = window(request.received_at);
        let found = self.likely(&request, &open, from, Some(to), &caller.actor.scope()).await?;
        Ok(found.into_iter().map(|(r, l)| similar_view(r, l)).collect())
    }

    /// The requests in `states` received in `[from, to)` in the request's town (all towns when it has
    /// none) within `scope`, other than itself, at least likely duplicates, most alike first.
    async fn likely(
        &self,
        request: &Request,
        states: &[State],
        from: Instant,
        to: Option<Instant>,
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
        let candidates: Vec<Request> =
            self.app.store().list(&filter, scope).await?.items.into_iter().filter(|c| c.id != request.id).collect();
        let target = request.clone();
        tokio::task::spawn_blocking(move || {
            let facts = |r: &Request| Facts::of(r, mashangban_text::terms(&format!("{}\n{}", r.title, r.content)));
            let target = facts(&target);
            let all: Vec<Facts> = candidates.iter().map(facts).collect();
            let ranked = rank(&target, &all, LISTED);
            let mut candidates: Vec<Option<Request>> = candidates.into_iter().map(Some).collect();
            ranked.into_iter().filter_map(|(i, l)| Some((candidates[i].take()?, l))).collect()
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// For every request merged into another and received from `from` on (at most 2,000, newest
    /// first): whether the one it was merged into — open then — is listed among the likely duplicates
    /// of the requests received in the window before it.
    pub async fn evaluate(&self, from: Instant) -> StoreResult<DuplicateEvaluation> {
        let filter = ListFilter {
            states: vec![State::Merged],
            received_from: Some(from),
            limit: 2_000,
            ..ListFilter::default()
        };
        let merged = self.app.store().list(&filter, &mashangban_domain::org::Scope::All).await?.items;
        let (mut found, mut found_first) = (0, 0);
        for request in &merged {
            let Some(parent) = request.merged_into else { continue };
            let (from, _) = window(request.received_at);
            let every: Vec<State> = State::ALL.to_vec();
            let listed = self
                .likely(request, &every, from, Some(request.received_at), &mashangban_domain::org::Scope::All)
                .await?;
            if let Some(position) = listed.iter().position(|(r, _)| r.id == parent) {
                found += 1;
                if position == 0 {
                    found_first += 1;
                }
            }
        }
        let merged = merged.len() as u64;
        let recall = if merged == 0 { 0.0 } else { (found as f64 / merged as f64 * 10_000.0).round() / 10_000.0 };
        Ok(DuplicateEvaluation { merged, found, recall, found_first })
    }
}

/// The candidate window around a receipt.
fn window(received_at: Instant) -> (Instant, Instant) {
    let days = chrono::Duration::days(WINDOW_DAYS);
    (received_at - days, received_at + days)
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
