//! The full-text search index of mashangban (全文检索): one tantivy index per node, on disk under the
//! data directory, over requests.
//!
//! - [`schema`]: the fields (texts tokenized with [`mashangban_text::ChineseTokenizer`]: jieba words and
//!   character bigrams, normalised to simplified characters; codes, units, times and flags for filters,
//!   scope and order) and [`RequestDoc`], a request as a document.
//! - [`query`]: what people type ([`TextQuery`]) and the index query it becomes with the caller's data
//!   scope and every list filter *inside* the query, so counts never include what the caller may not see.
//! - [`SearchIndex`]: the index directory and its generations. The directory holds `CURRENT` (the name
//!   of the generation in service) and one tantivy index per generation. Each commit carries the change
//!   feed's cursor as its payload, so the cursor and the index never disagree: after a crash the index
//!   resumes from the cursor of its last commit. A rebuild writes a new generation beside the one in
//!   service and then points `CURRENT` at it; whoever holds the index (this process or a server beside
//!   the rebuilding command) sees the new name on its next [`SearchIndex::refresh`] and switches.
//!
//! No store access: the application feeds it (`mashangban_app::search`).

pub mod facets;
pub mod query;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenizerManager;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use mashangban_domain::personal_data::Keyring;
use mashangban_store::ChangeCursor;
use mashangban_text::ChineseTokenizer;

pub use facets::Facets;
pub use query::{MAX_QUERY_CHARS, MAX_QUERY_PARTS, QueryError, Search, SearchOrder, TextQuery};
pub use schema::{Fields, PersonTerms, RequestDoc, RequestTexts, handling_units};

/// Memory for one index writer's buffer.
const WRITER_BYTES: usize = 64 << 20;
/// The file naming the generation in service.
const CURRENT: &str = "CURRENT";
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 120;

/// An error of the index (I/O, a damaged index, a lock another process holds).
#[derive(Debug)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "search index: {}", self.0)
    }
}

impl std::error::Error for IndexError {}

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        Self(e.to_string())
    }
}

impl From<std::io::Error> for IndexError {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}

pub type IndexResult<T> = Result<T, IndexError>;

/// One generation: a tantivy index, its reader and (once written to) its writer.
struct Generation {
    name: String,
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
}

impl Generation {
    fn open(root: &Path, name: &str, create: bool) -> IndexResult<Self> {
        let path = root.join(name);
        let index = if create {
            std::fs::create_dir_all(&path)?;
            Index::create_in_dir(&path, schema::schema().0)?
        } else {
            Index::open_in_dir(&path)?
        };
        index.tokenizers().register(schema::TOKENIZER, ChineseTokenizer::index());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { name: name.to_owned(), index, reader, writer: Mutex::new(None) })
    }

    fn cursor(&self, key_id: &str) -> IndexResult<Option<ChangeCursor>> {
        Ok(self.index.load_metas()?.payload.as_deref().and_then(|p| parse_cursor(p, key_id)))
    }

    /// Replaces the documents of `docs` and commits with `cursor` as the payload.
    fn write(&self, docs: Vec<RequestDoc>, cursor: ChangeCursor, shared: &Shared) -> IndexResult<()> {
        let mut guard = self.writer.lock().map_err(|_| IndexError("writer lock poisoned".into()))?;
        if guard.is_none() {
            *guard = Some(self.index.writer_with_num_threads(1, WRITER_BYTES)?);
        }
        let Some(writer) = guard.as_mut() else { return Err(IndexError("no writer".into())) };
        for doc in docs {
            writer.delete_term(Term::from_field_u64(shared.fields.id, doc.id));
            writer.add_document(doc.doc)?;
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&format_cursor(cursor, shared.person.key_id()));
        commit.commit()?;
        drop(guard);
        self.reader.reload()?;
        Ok(())
    }
}

/// What a document holds, in the commit payload beside the cursor and the id of the key names and
/// phones are hashed under. Raise it when [`RequestDoc`] changes what it indexes: an index committed
/// under another version, or under another key, reads as never committed, so the consumer rebuilds it
/// once (2: the sub-units of 二次派单 in `unit` and the names; 3: names and phones hashed; 4: numbers and
/// addresses in the free texts masked, and hashed into `person`).
const DOCS_VERSION: &str = "docs4";

fn format_cursor(c: ChangeCursor, key_id: &str) -> String {
    format!("{DOCS_VERSION}:key:{key_id}:feed:{}:{}", c.tx, c.position)
}

fn parse_cursor(payload: &str, key_id: &str) -> Option<ChangeCursor> {
    let rest = payload.strip_prefix(DOCS_VERSION)?.strip_prefix(":key:")?.strip_prefix(key_id)?;
    let mut parts = rest.strip_prefix(":feed:")?.split(':');
    let tx = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    Some(ChangeCursor { tx, position })
}

struct Shared {
    root: PathBuf,
    fields: Fields,
    person: PersonTerms,
    live: ArcSwap<Generation>,
    /// Serialises refreshes (two threads must not both switch).
    switching: Mutex<()>,
}

/// The search index of this node: cheap to clone; every method blocks (call from a blocking task).
#[derive(Clone)]
pub struct SearchIndex {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("root", &self.shared.root).finish()
    }
}

/// A hit: the request id, its score (0 in newest-first order) and its stored replies.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
    pub replies: Vec<String>,
}

/// How many a search matched, and their facets.
type Counted = (usize, Facets);

/// The answer to a search: one page of hits, how many match in all, and the highlighter.
pub struct Found {
    pub hits: Vec<Hit>,
    pub total: u64,
    /// Counts by state, unit, town, category and month of everything matched (not only the page).
    pub facets: Facets,
    snippets: SnippetGenerator,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Found").field("hits", &self.hits).field("total", &self.total).finish()
    }
}

impl Found {
    /// The best fragment of the first of `texts` where a query word occurs, as HTML: the text escaped,
    /// the words in `<mark>`. `None` when no text holds one (the match was in a name, an address, …).
    pub fn snippet(&self, texts: &[&str]) -> Option<String> {
        texts.iter().find_map(|text| {
            let mut snippet = self.snippets.snippet(text);
            if snippet.is_empty() {
                return None;
            }
            snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
            Some(snippet.to_html())
        })
    }
}

impl SearchIndex {
    /// Opens the index under `root` (created if absent; an empty generation to start with), hashing
    /// names and phones under `keys` (the node's keys of personal data at rest).
    pub fn open(root: impl Into<PathBuf>, keys: Keyring) -> IndexResult<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let generation = match std::fs::read_to_string(root.join(CURRENT)) {
            Ok(name) => {
                remove_stale(&root, name.trim());
                Generation::open(&root, name.trim(), false)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = new_generation_name();
                let generation = Generation::open(&root, &name, true)?;
                write_current(&root, &name)?;
                generation
            }
            Err(e) => return Err(e.into()),
        };
        let shared = Shared {
            root,
            fields: schema::schema().1,
            person: PersonTerms::new(keys),
            live: ArcSwap::from_pointee(generation),
            switching: Mutex::new(()),
        };
        Ok(Self { shared: Arc::new(shared) })
    }

    pub fn fields(&self) -> &Fields {
        &self.shared.fields
    }

    /// The document of `request` with its `texts`, as this index stores it.
    pub fn doc(&self, request: &mashangban_domain::request::Request, texts: &RequestTexts) -> RequestDoc {
        RequestDoc::new(&self.shared.fields, &self.shared.person, request, texts)
    }

    /// The directory of the index.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// The change-feed cursor of the generation in service's last commit; `None` for a new, empty
    /// generation (which must be built from the data, not from the feed, whose old rows are pruned).
    pub fn cursor(&self) -> IndexResult<Option<ChangeCursor>> {
        self.shared.live.load().cursor(self.shared.person.key_id())
    }

    /// Documents in the generation in service.
    pub fn len(&self) -> u64 {
        self.shared.live.load().reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the generation in service on disk.
    pub fn disk_bytes(&self) -> IndexResult<u64> {
        let live = self.shared.live.load();
        dir_bytes(&self.shared.root.join(&live.name))
    }

    /// Adds or replaces `docs` and commits them with `cursor` (the feed position they bring the index
    /// to) in the same commit; searchable when this returns.
    pub fn apply(&self, docs: Vec<RequestDoc>, cursor: ChangeCursor) -> IndexResult<()> {
        self.shared.live.load().write(docs, cursor, &self.shared)
    }

    /// Switches to the generation `CURRENT` names if a rebuild replaced the one in service, and removes
    /// the old one's files. True if it switched.
    pub fn refresh(&self) -> IndexResult<bool> {
        let _one = self.shared.switching.lock().map_err(|_| IndexError("switch lock poisoned".into()))?;
        let name = std::fs::read_to_string(self.shared.root.join(CURRENT))?;
        let name = name.trim();
        let old = self.shared.live.load_full();
        if old.name == name {
            return Ok(false);
        }
        let generation = Generation::open(&self.shared.root, name, false)?;
        self.shared.live.store(Arc::new(generation));
        // Searches still running keep the old files open (mmap); the writer goes with the last reference.
        if let Ok(mut writer) = old.writer.lock() {
            writer.take();
        }
        let old_name = old.name.clone();
        drop(old);
        if let Err(error) = std::fs::remove_dir_all(self.shared.root.join(&old_name)) {
            tracing::debug!(%error, "an old search index generation could not be removed yet");
        }
        Ok(true)
    }

    /// Every distinct term of `field` in the generation in service, at most `limit` (for audits of
    /// what a node's disk holds, and tests).
    pub fn field_terms(&self, field: tantivy::schema::Field, limit: usize) -> IndexResult<Vec<String>> {
        let searcher = self.shared.live.load().reader.searcher();
        let mut terms = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(field)?;
            let mut stream = inverted.terms().stream()?;
            while terms.len() < limit && stream.advance() {
                terms.insert(String::from_utf8_lossy(stream.key()).into_owned());
            }
        }
        Ok(terms.into_iter().collect())
    }

    /// Starts a rebuild: a new generation beside the one in service, which keeps serving.
    pub fn rebuild(&self) -> IndexResult<Rebuild> {
        let name = new_generation_name();
        let generation = Generation::open(&self.shared.root, &name, true)?;
        let writer = generation.index.writer_with_num_threads(1, WRITER_BYTES)?;
        Ok(Rebuild { index: self.clone(), generation, writer, added: 0 })
    }

    /// Searches: one page of hits in the order asked, the total count, and a highlighter.
    pub fn search(&self, search: &Search<'_>) -> IndexResult<Found> {
        let generation = self.shared.live.load();
        let fields = &self.shared.fields;
        let query = query::build(fields, &self.shared.person, search);
        let searcher = generation.reader.searcher();
        let limit = usize::try_from(search.filter.limit.clamp(1, 500)).unwrap_or(50);
        let offset = usize::try_from(search.filter.offset).unwrap_or(0);
        let query = query.as_ref();
        let page_of = TopDocs::with_limit(limit).and_offset(offset);
        let counted = (Count, facets::FacetCollector);
        let (page, (total, facets)): (Vec<(f32, DocAddress)>, Counted) = match search.order {
            SearchOrder::Relevance => searcher.search(query, &(page_of.order_by_score(), counted))?,
            SearchOrder::Newest => {
                let (top, counts): (Vec<(Option<u64>, DocAddress)>, Counted) =
                    searcher.search(query, &(page_of.order_by_fast_field("id", Order::Desc), counted))?;
                (top.into_iter().map(|(_, a)| (0.0, a)).collect(), counts)
            }
        };
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let mut hits = Vec::with_capacity(page.len());
        for (score, address) in page {
            let doc: TantivyDocument = searcher.doc(address)?;
            let id = doc.get_first(fields.id).and_then(|v| v.as_u64()).unwrap_or(0);
            let replies = doc.get_all(fields.replies).filter_map(|v| v.as_str().map(str::to_owned)).collect();
            hits.push(Hit { id: i64::try_from(id).unwrap_or(0), score, replies });
        }
        // The words of every text field (a word may occur only in a reply or the title), rarer ones weigh more.
        let mut terms = std::collections::BTreeSet::new();
        query.query_terms(&mut |term, _| {
            if term.field() != fields.person {
                terms.insert(term.clone());
            }
        });
        let mut weights: std::collections::BTreeMap<String, f32> = std::collections::BTreeMap::new();
        for term in terms {
            let Some(text) = term.value().as_str().map(str::to_owned) else { continue };
            let frequency = searcher.doc_freq(&term)?;
            if frequency > 0 {
                let weight = 1.0 / (1.0 + frequency as f32);
                let entry = weights.entry(text).or_insert(0.0);
                *entry = entry.max(weight);
            }
        }
        let tokenizer = searcher.index().tokenizer_for_field(fields.content)?;
        let snippets = SnippetGenerator::new(weights, tokenizer, fields.content, SNIPPET_CHARS);
        Ok(Found { hits, total, facets, snippets })
    }

    /// The tokenizers queries are cut with (for tests and tools).
    pub fn query_tokenizers() -> TokenizerManager {
        let manager = TokenizerManager::default();
        manager.register(schema::TOKENIZER, ChineseTokenizer::query());
        manager
    }
}

/// A generation being built; nothing of it is served until [`Rebuild::finish`].
pub struct Rebuild {
    index: SearchIndex,
    generation: Generation,
    writer: IndexWriter,
    added: u64,
}

impl Rebuild {
    /// Adds documents (a rebuild reads every request once, so nothing is replaced).
    pub fn add(&mut self, docs: Vec<RequestDoc>) -> IndexResult<()> {
        for doc in docs {
            self.writer.add_document(doc.doc)?;
            self.added += 1;
        }
        Ok(())
    }

    /// Documents added so far.
    pub fn added(&self) -> u64 {
        self.added
    }

    /// Commits with `cursor` — the feed's head read *before* the first request was read, so every
    /// change during the rebuild is applied again afterwards — and points `CURRENT` at the generation.
    /// A process serving the index switches on its next [`SearchIndex::refresh`] and removes the old
    /// generation then; this does not remove it, because another process may still serve it.
    pub fn finish(mut self, cursor: ChangeCursor) -> IndexResult<()> {
        let mut commit = self.writer.prepare_commit()?;
        commit.set_payload(&format_cursor(cursor, self.index.shared.person.key_id()));
        commit.commit()?;
        self.writer.wait_merging_threads()?;
        write_current(&self.index.shared.root, &self.generation.name)?;
        Ok(())
    }
}

/// Removes generations older than the one in service (left by a process that switched while another
/// still served the old one). Newer ones may be rebuilds in progress and are kept.
fn remove_stale(root: &Path, current: &str) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir()
            && name.starts_with("g-")
            && name.as_str() < current
            && let Err(error) = std::fs::remove_dir_all(entry.path())
        {
            tracing::debug!(%error, generation = name, "a stale search index generation could not be removed");
        }
    }
}

fn new_generation_name() -> String {
    let now = chrono::Utc::now();
    format!("g-{}-{}", now.format("%Y%m%dT%H%M%S%.6f"), std::process::id())
}

/// Points `CURRENT` at `name`: written beside and renamed over, so a reader sees the old or the new name.
fn write_current(root: &Path, name: &str) -> IndexResult<()> {
    let temp = root.join(format!("{CURRENT}.{}", std::process::id()));
    std::fs::write(&temp, name)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(&temp, root.join(CURRENT))?;
    Ok(())
}

fn dir_bytes(path: &Path) -> IndexResult<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_an_older_document_version_or_another_key_reads_as_never_committed() {
        let cursor = ChangeCursor { tx: 42, position: 7 };
        assert_eq!(parse_cursor(&format_cursor(cursor, "k2"), "k2"), Some(cursor));
        // Written before names and phones were hashed, or under a key rotated away since: the consumer
        // rebuilds the index once.
        assert_eq!(parse_cursor("feed:42:7", "k2"), None);
        assert_eq!(parse_cursor("docs1:feed:42:7", "k2"), None);
        assert_eq!(parse_cursor("docs2:feed:42:7", "k2"), None);
        assert_eq!(parse_cursor("docs3:key:k2:feed:42:7", "k2"), None);
        assert_eq!(parse_cursor(&format_cursor(cursor, "k1"), "k2"), None);
        assert_eq!(parse_cursor(&format_cursor(cursor, "k2"), "k"), None);
    }
}
