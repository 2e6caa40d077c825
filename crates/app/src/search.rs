//! Full-text search (全文检索) over requests: the service behind `q=` on the request lists, the consumer
//! that keeps this node's index up to date from the durable change feed, and the rebuild.
//!
//! **The cursor lives in the index.** Each commit of the index carries the feed cursor it brings the
//! index to (tantivy's commit payload), so the two are written together: a crash between indexing and
//! saving a cursor cannot happen, and each node — every PostgreSQL node keeps its own index under its
//! own data directory — resumes from its own index's cursor, never from a shared `change_cursors` row
//! that another node advanced (and that would let this node's index skip changes).
//!
//! **A new index is built from the data**, not from the feed (whose old rows are pruned): when the index
//! in service has never been committed, the consumer rebuilds it first. `mashangban search reindex`
//! rebuilds into a new generation while the old one serves, then swaps (see `mashangban_search`).

use std::collections::BTreeSet;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::org::Scope;
use mashangban_domain::request::{Request, RequestId, State};
use mashangban_search::{
    Facets, Found, IndexError, RequestDoc, RequestTexts, Search, SearchIndex, SearchOrder, TextQuery,
};
use mashangban_store::{AssignmentFilter, Change, ChangeEntity, ListFilter, Store, StoreError, StoreResult};

use crate::error::{AppError, AppResult};
use crate::requests::Listing;
use crate::views::{self, Lookup};
use crate::{App, Caller};

/// Requests read per page while rebuilding.
const REBUILD_PAGE: u32 = 500;
/// How often the indexer looks at the feed without a wake-up: a wake-up can be taken by another
/// follower of this node, and a change should be searchable within about a second of its commit.
const POLL: Duration = Duration::from_millis(500);
/// The deepest page a relevance-ordered search reaches (offset), to bound the work of one query.
pub const MAX_OFFSET: u32 = 10_000;

/// What a search asks besides the list filter.
#[derive(Debug, Clone)]
pub struct SearchInput {
    pub text: TextQuery,
    pub order: SearchOrder,
}

/// One page of search results.
pub struct SearchListing {
    /// The requests with their views (each with its snippet).
    pub listing: Listing,
    /// How many requests in the caller's scope match, in all.
    pub total: u64,
    /// The `cursor` of the next page (an offset in relevance order, a request id in newest-first).
    pub next_cursor: Option<String>,
    /// Counts of everything matched by state, unit, town, category and month.
    pub facets: FacetsView,
}

/// The most values listed per facet (the largest counts).
pub const FACET_VALUES: usize = 20;

/// One value of a facet with its count: what a click adds to the list's filter.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct FacetCount {
    /// The value as the list's parameter takes it (a state, unit, town or category code; a month
    /// `YYYY-MM`).
    pub value: String,
    pub label: String,
    pub count: u64,
    /// The query parameters that narrow the list to this value, e.g. `town=guzhen` or
    /// `from=2026-11-01&to=2026-12-01`.
    pub filter: String,
}

/// The facets (分面统计) of a search, counted inside the index query under the caller's scope and
/// filters: they never count a request the caller could not list. Largest counts first (months newest
/// first), at most [`FACET_VALUES`] each; a request handled by several units counts for each.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct FacetsView {
    pub state: Vec<FacetCount>,
    pub unit: Vec<FacetCount>,
    pub town: Vec<FacetCount>,
    pub category: Vec<FacetCount>,
    pub month: Vec<FacetCount>,
}

fn largest_first(mut counts: Vec<FacetCount>) -> Vec<FacetCount> {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counts.truncate(FACET_VALUES);
    counts
}

/// The month after `YYYY-MM`, as `YYYY-MM-01`.
fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m >= 12 { format!("{}-01-01", y + 1) } else { format!("{y}-{:02}-01", m + 1) })
}

/// The facets with codes and Chinese names (ids no longer known are left out).
fn facets_view<S: Store>(app: &App<S>, facets: &Facets) -> FacetsView {
    let caches = app.caches();
    let (org, categories) = (caches.org(), caches.categories());
    let units = |counts: &std::collections::HashMap<u64, u64>, parameter: &str| {
        let listed = counts.iter().filter_map(|(&id, &count)| {
            let unit = org.get(i64::try_from(id).ok()?)?;
            let filter = format!("{parameter}={}", unit.code);
            Some(FacetCount { value: unit.code.clone(), label: unit.name.clone(), count, filter })
        });
        largest_first(listed.collect())
    };
    let state = facets.states.iter().filter_map(|(code, &count)| {
        let state = State::parse(code)?;
        let filter = format!("state={code}");
        Some(FacetCount { value: code.clone(), label: state.label().to_owned(), count, filter })
    });
    let category = facets.categories.iter().filter_map(|(&id, &count)| {
        let c = categories.iter().find(|c| i64::try_from(id).is_ok_and(|id| c.id == id))?;
        let filter = format!("category={}", c.code);
        Some(FacetCount { value: c.code.clone(), label: c.name.clone(), count, filter })
    });
    let mut month: Vec<FacetCount> = facets
        .months
        .iter()
        .filter_map(|(m, &count)| {
            let filter = format!("from={m}-01&to={}", next_month(m)?);
            Some(FacetCount { value: m.clone(), label: m.replacen('-', "年", 1) + "月", count, filter })
        })
        .collect();
    month.sort_by(|a, b| b.value.cmp(&a.value));
    month.truncate(FACET_VALUES);
    FacetsView {
        state: largest_first(state.collect()),
        unit: units(&facets.units, "unit"),
        town: units(&facets.towns, "town"),
        category: largest_first(category.collect()),
        month,
    }
}

/// The search service: `app.search()`.
pub struct Searching<'a, S> {
    app: &'a App<S>,
}

fn index_error(e: IndexError) -> AppError {
    tracing::error!(error = %e, "search index failure");
    AppError::internal()
}

fn blocking_error(e: tokio::task::JoinError) -> AppError {
    tracing::error!(error = %e, "search task failed");
    AppError::internal()
}

impl<'a, S: Store> Searching<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    fn index(&self) -> AppResult<&SearchIndex> {
        self.app
            .search_index()
            .ok_or_else(|| AppError::bad_request("search_unavailable", "本节点未启用全文检索（未配置索引目录）"))
    }

    /// Requests in the caller's scope whose text matches `input` and that pass every filter of
    /// `filter` — scope and filters are part of the index query, so `total` counts only what the
    /// caller may see — masked for them, each with a highlighted snippet.
    pub async fn requests(
        &self,
        caller: &Caller,
        filter: &ListFilter,
        input: &SearchInput,
    ) -> AppResult<SearchListing> {
        let index = self.index()?.clone();
        let scope = crate::requests::list_scope(caller, filter)?;
        let personal = caller.actor.personal_data_scope();
        let liaison_codes = self.liaison_codes(&scope).await?;
        let (owned, text, order) = (filter.clone(), input.text.clone(), input.order);
        let found: Found = tokio::task::spawn_blocking(move || {
            let liaison_codes = &liaison_codes;
            index.search(&Search {
                text: &text,
                filter: &owned,
                scope: &scope,
                personal: &personal,
                liaison_codes,
                order,
            })
        })
        .await
        .map_err(blocking_error)?
        .map_err(index_error)?;
        let scope = crate::requests::list_scope(caller, filter)?;
        let mut rows = Vec::with_capacity(found.hits.len());
        for hit in &found.hits {
            // Loaded in scope again: a hit the index has not yet seen leave the caller's scope is dropped.
            if let Some(request) = self.app.store().find_by_id(hit.id, &scope).await? {
                rows.push((request, hit));
            }
        }
        let caches = self.app.caches();
        let (org, categories, calendar) = (caches.org(), caches.categories(), caches.calendar());
        let lookup = Lookup { org: &org, categories: &categories, calendar: &calendar, now: self.app.now() };
        let items = rows
            .into_iter()
            .map(|(request, hit)| {
                let mut view = views::request_view(&request, &caller.actor, &lookup, None);
                let replies: Vec<String> =
                    hit.replies.iter().map(|r| views::masked_for(&request, &caller.actor, r)).collect();
                let snippet = {
                    let mut texts: Vec<&str> = vec![&view.content];
                    texts.extend(replies.iter().map(String::as_str));
                    texts.push(&view.title);
                    found.snippet(&texts).unwrap_or_else(|| views::escaped_start(&view.content, 80))
                };
                view.snippet = Some(snippet);
                (request, view)
            })
            .collect();
        let shown = u64::try_from(found.hits.len()).unwrap_or(0);
        let next_cursor = match input.order {
            SearchOrder::Relevance => {
                let next = u64::from(filter.offset) + shown;
                (shown > 0 && next < found.total && next <= u64::from(MAX_OFFSET)).then(|| next.to_string())
            }
            SearchOrder::Newest => {
                let full = shown >= u64::from(filter.limit.clamp(1, 500));
                found.hits.last().filter(|_| full && shown < found.total).map(|h| h.id.to_string())
            }
        };
        let facets = facets_view(self.app, &found.facets);
        Ok(SearchListing { listing: Listing { items, next_cursor: None }, total: found.total, next_cursor, facets })
    }
}

impl<S: Store> Searching<'_, S> {
    /// A cadre's enterprises in force now (the store's `Scope::Liaison` rule, read at query time).
    async fn liaison_codes(&self, scope: &Scope) -> AppResult<Vec<String>> {
        let Scope::Liaison { user_id } = scope else { return Ok(Vec::new()) };
        let filter = AssignmentFilter { user_id: Some(*user_id), limit: 5000, ..AssignmentFilter::default() };
        let assignments = self.app.store().assignments(&filter).await?;
        Ok(assignments.into_iter().map(|a| a.credit_code).collect())
    }
}

// ---- feeding the index ---------------------------------------------------------------------

/// The texts of a request the index needs besides its row: names from the caches, and its replies
/// (read for many requests at once by [`docs_of`]).
fn texts_of<S: Store>(app: &App<S>, request: &Request, replies: Vec<String>) -> RequestTexts {
    let caches = app.caches();
    let (org, categories) = (caches.org(), caches.categories());
    let mut names = Vec::new();
    let mut category = categories.iter().find(|c| c.id == request.category_id);
    while let Some(c) = category {
        names.push(c.name.clone());
        category = c.parent_id.and_then(|p| categories.iter().find(|x| x.id == p));
        if names.len() > 8 {
            break;
        }
    }
    let units = mashangban_search::handling_units(request).chain(request.location.town_id);
    names.extend(units.filter_map(|u| org.get(u)).map(|u| u.name.clone()));
    RequestTexts { replies, names }
}

/// The documents of a page of requests: their reply texts read in one store call, not one history
/// per request (which held a full reindex to about 2,000 requests a second).
async fn docs_of<S: Store>(app: &App<S>, index: &SearchIndex, requests: &[Request]) -> StoreResult<Vec<RequestDoc>> {
    let ids: Vec<RequestId> = requests.iter().map(|r| r.id).collect();
    let mut replies = app.store().reply_texts(&ids).await?;
    Ok(requests
        .iter()
        .map(|request| {
            let texts = texts_of(app, request, replies.remove(&request.id).unwrap_or_default());
            index.doc(request, &texts)
        })
        .collect())
}

fn store_error(e: IndexError) -> StoreError {
    StoreError::Backend(e.to_string())
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, IndexError> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Backend(e.to_string()))?.map_err(store_error)
}

/// Indexes one batch of the feed: each changed request read again (as it stands now) and replaced, in
/// one commit that carries the batch's last cursor.
async fn apply_batch<S: Store>(app: &App<S>, index: &SearchIndex, batch: Vec<Change>) -> StoreResult<()> {
    let Some(cursor) = batch.last().map(|c| c.cursor) else { return Ok(()) };
    let keys: BTreeSet<&str> =
        batch.iter().filter(|c| c.entity == ChangeEntity::Request).map(|c| c.key.as_str()).collect();
    let mut requests = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(request) = app.store().find(key, &Scope::All).await? {
            requests.push(request);
        }
    }
    let docs = docs_of(app, index, &requests).await?;
    let index = index.clone();
    blocking(move || index.apply(docs, cursor)).await
}

/// Rebuilds the index from every request into a new generation while the one in service keeps
/// serving, then names it in `CURRENT`: the indexer of a process serving this index switches to it on
/// its next round (within half a second) and removes the old generation. `progress(done, about)` is
/// called after each page (`about` is the highest request id, an upper bound of the count). Answers the
/// number indexed.
pub async fn rebuild<S: Store>(
    app: &App<S>,
    index: &SearchIndex,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> StoreResult<u64> {
    let head = app.store().feed_head().await?;
    let idx = index.clone();
    let mut rebuild = blocking(move || idx.rebuild()).await?;
    let mut filter = ListFilter { limit: REBUILD_PAGE, ..ListFilter::default() };
    let mut about = 0;
    loop {
        let page = app.store().list(&filter, &Scope::All).await?;
        if about == 0 {
            about = page.items.first().map_or(0, |r| u64::try_from(r.id).unwrap_or(0));
        }
        let docs = docs_of(app, index, &page.items).await?;
        rebuild = blocking(move || {
            let mut rebuild = rebuild;
            rebuild.add(docs).map(|()| rebuild)
        })
        .await?;
        progress(rebuild.added(), about.max(rebuild.added()));
        match page.next_cursor {
            Some(next) => filter.before_id = Some(next),
            None => break,
        }
    }
    let added = rebuild.added();
    blocking(move || rebuild.finish(head)).await?;
    Ok(added)
}

/// One round of the consumer: switch to a rebuilt generation if there is one, build a never-committed
/// index from the data, then index every change after the index's cursor; answers whether it indexed anything.
pub async fn index_once<S: Store>(app: &App<S>, index: &SearchIndex) -> StoreResult<bool> {
    let idx = index.clone();
    blocking(move || idx.refresh()).await?;
    let idx = index.clone();
    let Some(cursor) = blocking(move || idx.cursor()).await? else {
        let built = rebuild(app, index, &|_, _| {}).await?;
        tracing::info!(requests = built, "search index built");
        let idx = index.clone();
        blocking(move || idx.refresh()).await?;
        return Ok(true);
    };
    let next = crate::feed::catch_up(app.store(), cursor, |batch| apply_batch(app, index, batch)).await?;
    Ok(next != cursor)
}

/// Starts this node's indexer: runs [`index_once`] whenever the feed may have moved (woken by local
/// commits and other nodes' signals, and on the feed's poll interval).
pub(crate) fn spawn_indexer<S: Store>(app: App<S>, index: SearchIndex) {
    tokio::spawn(async move {
        let mut pacing = crate::feed::Pacing::new(app.feed(), POLL);
        loop {
            let looked = index_once(&app, &index).await;
            pacing.after(looked, "search").await;
        }
    });
}
