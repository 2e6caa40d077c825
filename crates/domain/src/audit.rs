//! Tamper-evident history (防篡改留痕): every request event is sealed with an
//! SM3 hash (GB/T 32905-2016) that chains it to the previous event of its
//! request, and an anchor (锚点) digests the head of every request's chain at
//! a moment, so that deleting a request's last events or a whole request is
//! seen too once the anchor has been kept outside the database. The other
//! histories (ledger items, visits, accounts, …) are chained per record the
//! same way, and the anchor digests their records' heads too ([`HistoryAnchor`]).
//!
//! Pure: the store hands events over as the text it holds ([`SealedEvent`]),
//! in (request, seq) order, and [`Verifier`] names the first altered, missing
//! or unsealed event of each request and checks every anchor.

use sm3::{Digest, Sm3};

use crate::time::{Instant, format_instant, parse_instant};

/// An SM3 digest.
pub type Hash = [u8; 32];

const EVENT_DOMAIN: &[u8] = b"mashangban-event-v1";
const ANCHOR_DOMAIN: &[u8] = b"mashangban-anchor-v1";
const LEDGER_EVENT_DOMAIN: &[u8] = b"mashangban-ledger-event-v1";
const HISTORY_EVENT_DOMAIN: &[u8] = b"mashangban-history-event-v1";
const HISTORY_ANCHOR_DOMAIN: &[u8] = b"mashangban-history-anchor-v1";

/// One stored event as the database holds it: every column as text, so the
/// hash is the same on SQLite and PostgreSQL and after a copy between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRecord {
    pub id: i64,
    pub request_id: i64,
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub actor_role: String,
    pub actor_unit_id: Option<i64>,
    pub client_ip: Option<String>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub comment: Option<String>,
    pub details: String,
    pub attachment_ids: String,
    pub due_at: Option<String>,
}

/// An event with its stored seal (None: never sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    pub event: EventRecord,
    pub seal: Option<String>,
}

/// One of the sealed histories besides requests' (留痕) — ledger items, visits, direct-line items,
/// approval projects, fund applications, on-site service requests, enforcement cases, compensation
/// matters, command centres, monitoring points and alerts — as the seal and the verifier see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryKind {
    /// The history's name in its seals and in the report: its events table, or the table and the
    /// subject where one table holds several histories (`command_events/task`).
    pub name: &'static str,
    /// What it is the history of, in the verification report (e.g. `走访`).
    pub label: &'static str,
    /// Whether events carry a per-record seq (1, 2, …), sealed and checked for gaps; otherwise they
    /// are ordered by row id, which is left out of the seal as a storage detail.
    pub sequential: bool,
    /// The label its seals are made under.
    pub seal_label: SealLabel,
}

/// The label a history's seals are made under, so that a seal of one history never fits another's
/// event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealLabel {
    /// `mashangban-history-event-v1`, with the history's name sealed as the first field.
    Shared,
    /// `mashangban-ledger-event-v1`, without the name: the ledger's own label from before the
    /// ledger joined the shared table, kept so that seals written then still verify unchanged.
    Ledger,
}

/// One stored event of a [`HistoryKind`]: its record, its place, and the other columns as the
/// database holds them, as text in the history's column order (see [`EventRecord`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryEventRecord {
    pub chain_id: i64,
    /// The seq within the record, or the row id.
    pub position: i64,
    pub fields: Vec<Option<String>>,
}

/// A history event with its stored seal (None: never sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHistoryEvent {
    pub event: HistoryEventRecord,
    pub seal: Option<String>,
    /// When the platform recorded it (its `at`, sealed among the fields), which anchors cover
    /// by; None when unreadable, which every anchor covers.
    pub recorded_at: Option<Instant>,
}

/// The seal of an event of `history` after `previous` (None for its record's first event): the
/// history's name (under the shared label), the record, the seq (for a sequential history) and
/// every field, as [`seal`] does for a request's event, so a seal of one history never fits
/// another's event.
pub fn seal_history_event(history: HistoryKind, previous: Option<&Hash>, event: &HistoryEventRecord) -> Hash {
    let mut fields = Vec::with_capacity(event.fields.len() + 3);
    let domain = match history.seal_label {
        SealLabel::Shared => {
            fields.push(Some(history.name.to_owned()));
            HISTORY_EVENT_DOMAIN
        }
        SealLabel::Ledger => LEDGER_EVENT_DOMAIN,
    };
    fields.push(Some(event.chain_id.to_string()));
    if history.sequential {
        fields.push(Some(event.position.to_string()));
    }
    fields.extend(event.fields.iter().cloned());
    seal_fields(domain, previous, &fields)
}

/// The seal of `event` after `previous` (None for a request's first event).
///
/// Each field is length-prefixed (a NULL has its own marker), so no two
/// different events encode alike. The row id is left out: it is a storage
/// detail, and an inserted or removed row shows as a broken chain anyway.
pub fn seal(previous: Option<&Hash>, event: &EventRecord) -> Hash {
    let number = |n: i64| n.to_string();
    seal_fields(
        EVENT_DOMAIN,
        previous,
        &[
            Some(number(event.request_id)),
            Some(number(event.seq)),
            Some(event.at.clone()),
            Some(event.kind.clone()),
            event.actor_user_id.map(number),
            Some(event.actor_name.clone()),
            Some(event.actor_role.clone()),
            event.actor_unit_id.map(number),
            event.client_ip.clone(),
            event.from_state.clone(),
            Some(event.to_state.clone()),
            event.comment.clone(),
            Some(event.details.clone()),
            Some(event.attachment_ids.clone()),
            event.due_at.clone(),
        ],
    )
}

/// SM3 over `domain`, the previous seal (zeros for none) and each field length-prefixed, a NULL
/// with its own marker, so that no two different records encode alike.
fn seal_fields(domain: &[u8], previous: Option<&Hash>, fields: &[Option<String>]) -> Hash {
    let mut h = Sm3::new();
    h.update(domain);
    h.update(previous.unwrap_or(&[0; 32]));
    for field in fields {
        match field {
            Some(text) => {
                h.update((text.len() as u32).to_be_bytes());
                h.update(text.as_bytes());
            }
            None => h.update(u32::MAX.to_be_bytes()),
        }
    }
    h.finalize().into()
}

/// A seal as stored (lower-case hex).
pub fn to_hex(hash: &Hash) -> String {
    hex::encode(hash)
}

/// A stored seal read back; None when it is not 64 hex digits.
pub fn from_hex(text: &str) -> Option<Hash> {
    let mut out = [0; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The heads of every request's chain up to an event id, digested in request
/// order: what an anchor records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Events with an id up to this one are covered.
    pub last_event_id: i64,
    /// Requests with at least one covered event.
    pub requests: u64,
    /// Covered events.
    pub events: u64,
    pub digest: Hash,
    /// The other histories' heads, in anchors kept since they were covered (None in older ones).
    pub histories: Option<HistoryAnchor>,
}

/// The heads of the other histories' records over the events recorded before a moment, digested
/// in (history, record) order: what an anchor records of them, so that deleting a record's last
/// events or all of them shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryAnchor {
    /// Events recorded before this moment are covered.
    pub before: Instant,
    /// Records with at least one covered event.
    pub chains: u64,
    /// Covered events.
    pub events: u64,
    pub digest: Hash,
}

impl Anchor {
    /// One line for the log and for export; [`Anchor::parse_line`] reads it back.
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "last_event={} requests={} events={} sm3={}",
            self.last_event_id,
            self.requests,
            self.events,
            to_hex(&self.digest)
        );
        if let Some(h) = &self.histories {
            line.push_str(&format!(
                " histories_before={} history_chains={} history_events={} history_sm3={}",
                format_instant(&h.before),
                h.chains,
                h.events,
                to_hex(&h.digest)
            ));
        }
        line
    }

    /// Reads a line written by [`Anchor::to_line`], anywhere within a longer
    /// line (a log line with its time and level in front). A line with some of the histories'
    /// fields but not all, or unreadable, is no anchor.
    pub fn parse_line(line: &str) -> Option<Anchor> {
        let field = |name: &str| {
            line.split_whitespace().find_map(|word| word.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        };
        let history_fields =
            [field("histories_before"), field("history_chains"), field("history_events"), field("history_sm3")];
        let histories = match history_fields {
            [None, None, None, None] => None,
            [Some(before), Some(chains), Some(events), Some(digest)] => Some(HistoryAnchor {
                before: parse_instant(before)?,
                chains: chains.parse().ok()?,
                events: events.parse().ok()?,
                digest: from_hex(digest)?,
            }),
            _ => return None,
        };
        Some(Anchor {
            last_event_id: field("last_event")?.parse().ok()?,
            requests: field("requests")?.parse().ok()?,
            events: field("events")?.parse().ok()?,
            digest: from_hex(field("sm3")?)?,
            histories,
        })
    }
}

/// Builds an anchor from (request id, head seq, head seal) in request order.
#[derive(Debug)]
pub struct AnchorBuilder {
    last_event_id: i64,
    requests: u64,
    events: u64,
    hasher: Sm3,
}

impl AnchorBuilder {
    pub fn new(last_event_id: i64) -> Self {
        let mut hasher = Sm3::new();
        hasher.update(ANCHOR_DOMAIN);
        hasher.update(last_event_id.to_be_bytes());
        AnchorBuilder { last_event_id, requests: 0, events: 0, hasher }
    }

    /// A request whose covered chain ends at `seq` with `head` (`seq` events).
    pub fn add_head(&mut self, request_id: i64, seq: i64, head: &Hash) {
        self.requests += 1;
        self.events += u64::try_from(seq).unwrap_or_default();
        self.hasher.update(request_id.to_be_bytes());
        self.hasher.update(seq.to_be_bytes());
        self.hasher.update(head);
    }

    /// The anchor, with the other histories' part when they were digested too.
    pub fn finish(self, histories: Option<HistoryAnchor>) -> Anchor {
        Anchor {
            last_event_id: self.last_event_id,
            requests: self.requests,
            events: self.events,
            digest: self.hasher.finalize().into(),
            histories,
        }
    }
}

/// Builds a [`HistoryAnchor`] from every history's events in (history, record, position) order
/// with their seals — the stored ones when an anchor is kept, the recomputed ones when it is
/// checked — so both sides pick the same heads: per record, the last covered event in its order.
#[derive(Debug)]
pub struct HistoryAnchorBuilder {
    before: Instant,
    chains: u64,
    events: u64,
    hasher: Sm3,
    /// The record being walked: history, record, covered events so far and the head among them.
    current: Option<(&'static str, i64, u64, Option<Hash>)>,
}

impl HistoryAnchorBuilder {
    pub fn new(before: Instant) -> Self {
        let mut hasher = Sm3::new();
        // The moment is not digested: an anchor whose heads are those of the last one kept says
        // nothing new, and its digest shows it.
        hasher.update(HISTORY_ANCHOR_DOMAIN);
        HistoryAnchorBuilder { before, chains: 0, events: 0, hasher, current: None }
    }

    /// The next event of `history`'s record `chain_id`, recorded at `recorded_at`, with its seal.
    pub fn add_event(&mut self, history: &'static str, chain_id: i64, recorded_at: Option<&Instant>, seal: &Hash) {
        if self.current.is_none_or(|(h, chain, _, _)| h != history || chain != chain_id) {
            self.end_record();
            self.current = Some((history, chain_id, 0, None));
        }
        let covered = recorded_at.is_none_or(|at| *at < self.before);
        if let Some((_, _, events, head)) = self.current.as_mut().filter(|_| covered) {
            *events += 1;
            *head = Some(*seal);
        }
    }

    fn end_record(&mut self) {
        let Some((history, chain_id, events, Some(head))) = self.current.take() else { return };
        self.chains += 1;
        self.events += events;
        self.hasher.update((history.len() as u32).to_be_bytes());
        self.hasher.update(history.as_bytes());
        self.hasher.update(chain_id.to_be_bytes());
        self.hasher.update(events.to_be_bytes());
        self.hasher.update(head);
    }

    pub fn finish(mut self) -> HistoryAnchor {
        self.end_record();
        HistoryAnchor {
            before: self.before,
            chains: self.chains,
            events: self.events,
            digest: self.hasher.finalize().into(),
        }
    }
}

/// What verification found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The event's content or its place in the chain no longer matches its seal.
    Altered { request_id: i64, seq: i64, event_id: i64 },
    /// Events are missing before this one (deleted rows).
    Missing { request_id: i64, expected_seq: i64, found_seq: i64 },
    /// The event has no seal: written past the platform.
    Unsealed { request_id: i64, seq: i64, event_id: i64 },
    /// The heads at an anchor's moment differ from what it recorded: events
    /// or whole requests were deleted, or the chains rewritten.
    AnchorMismatch { expected: Anchor, found: Anchor },
    /// An event of another history no longer matches its seal: altered, inserted, or an earlier
    /// event of its record deleted.
    HistoryAltered { history: &'static str, chain_id: i64, position: i64 },
    /// An event of another history has no seal: written past the platform.
    HistoryUnsealed { history: &'static str, chain_id: i64, position: i64 },
    /// Events of a sequential history are missing before this one (deleted rows).
    HistoryMissing { history: &'static str, chain_id: i64, expected: i64, found: i64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Altered { request_id, seq, event_id } => {
                write!(
                    f,
                    "request {request_id} event {seq} (row {event_id}) was altered or inserted: its seal does not match"
                )
            }
            Problem::Missing { request_id, expected_seq, found_seq } => {
                write!(f, "request {request_id} events {expected_seq}..{} were deleted", found_seq - 1)
            }
            Problem::Unsealed { request_id, seq, event_id } => {
                write!(f, "request {request_id} event {seq} (row {event_id}) has no seal: written past the platform")
            }
            Problem::HistoryAltered { history, chain_id, position } => write!(
                f,
                "{history} of record {chain_id}, event {position}, was altered or inserted, or an earlier one \
                 deleted: its seal does not match"
            ),
            Problem::HistoryUnsealed { history, chain_id, position } => {
                write!(f, "{history} of record {chain_id}, event {position}, has no seal: written past the platform")
            }
            Problem::HistoryMissing { history, chain_id, expected, found } => {
                write!(f, "{history} of record {chain_id}: events {expected}..{} were deleted", found - 1)
            }
            Problem::AnchorMismatch { expected, found } => {
                let part = match (expected.digest == found.digest, expected.histories == found.histories) {
                    (true, false) => "the other histories' heads",
                    (false, true) => "the requests' heads",
                    _ => "the requests' and the other histories' heads",
                };
                write!(
                    f,
                    "the anchor at event {} does not match ({part}): recorded {}, found {}",
                    expected.last_event_id,
                    expected.to_line(),
                    found.to_line()
                )
            }
        }
    }
}

/// What a whole verification saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub requests: u64,
    pub events: u64,
    pub anchors_checked: u64,
    /// The other histories walked (ledger items first), in the order fed.
    pub histories: Vec<HistoryCount>,
    /// At most one per request or other record (its first), then the anchors' mismatches.
    pub problems: Vec<Problem>,
}

/// How many records of one other history had events, and how many events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCount {
    pub history: HistoryKind,
    pub chains: u64,
    pub events: u64,
}

/// Most problems a report lists; the count goes on.
pub const MAX_PROBLEMS: usize = 1_000;

/// Recomputes every chain from events fed in (request, seq) order, and the
/// anchors' digests from the recomputed heads.
#[derive(Debug)]
pub struct Verifier {
    anchors: Vec<AnchorCheck>,
    report: Report,
    current: Option<Chain>,
    /// The record of another history being walked.
    other: Option<OtherChain>,
    problems_seen: u64,
}

/// An anchor being checked: what it recorded, and its digests rebuilt from the recomputed heads.
#[derive(Debug)]
struct AnchorCheck {
    expected: Anchor,
    requests: AnchorBuilder,
    histories: Option<HistoryAnchorBuilder>,
}

/// A record of another history being walked: which, its recomputed head, the seq expected next
/// (sequential histories), whether a problem was named.
#[derive(Debug)]
struct OtherChain {
    history: &'static str,
    chain_id: i64,
    head: Hash,
    next_seq: i64,
    broken: bool,
}

/// How a stored seal compares with the one recomputed from the chain.
fn check_seal(stored: Option<&str>, recomputed: &Hash) -> Option<SealFault> {
    match stored.map(from_hex) {
        None => Some(SealFault::Unsealed),
        Some(stored) if stored.as_ref() != Some(recomputed) => Some(SealFault::Altered),
        Some(_) => None,
    }
}

enum SealFault {
    Unsealed,
    Altered,
}

/// The request being walked.
#[derive(Debug)]
struct Chain {
    request_id: i64,
    next_seq: i64,
    head: Option<Hash>,
    broken: bool,
    /// (event id, seq, recomputed seal) of the request's events: the heads
    /// at each anchor are read from here when the request ends.
    links: Vec<(i64, i64, Hash)>,
}

impl Verifier {
    /// A verifier that also checks `anchors` (from the database or from outside).
    pub fn new(anchors: Vec<Anchor>) -> Self {
        let anchors = anchors
            .into_iter()
            .map(|expected| AnchorCheck {
                requests: AnchorBuilder::new(expected.last_event_id),
                histories: expected.histories.as_ref().map(|h| HistoryAnchorBuilder::new(h.before)),
                expected,
            })
            .collect();
        Verifier { anchors, report: Report::default(), current: None, other: None, problems_seen: 0 }
    }

    /// The next event; events must come in (request id, seq) order.
    pub fn feed(&mut self, sealed: &SealedEvent) {
        let event = &sealed.event;
        if self.current.as_ref().is_none_or(|c| c.request_id != event.request_id) {
            self.end_request();
            self.report.requests += 1;
        }
        self.report.events += 1;
        let chain = self.current.get_or_insert_with(|| Chain {
            request_id: event.request_id,
            next_seq: 1,
            head: None,
            broken: false,
            links: Vec::new(),
        });
        let gap = (event.seq != chain.next_seq).then_some(Problem::Missing {
            request_id: event.request_id,
            expected_seq: chain.next_seq,
            found_seq: event.seq,
        });
        // The seal recomputed from the recomputed chain: a rewrite anywhere
        // before shows here and in the anchors, not only at its own row.
        let recomputed = seal(chain.head.as_ref(), event);
        let (request_id, seq, event_id) = (event.request_id, event.seq, event.id);
        let fault = check_seal(sealed.seal.as_deref(), &recomputed).map(|fault| match fault {
            SealFault::Unsealed => Problem::Unsealed { request_id, seq, event_id },
            SealFault::Altered => Problem::Altered { request_id, seq, event_id },
        });
        let problem = gap.or(fault);
        chain.next_seq = event.seq + 1;
        chain.head = Some(recomputed);
        chain.links.push((event.id, event.seq, recomputed));
        if let Some(problem) = problem
            && !chain.broken
        {
            chain.broken = true;
            self.problem(problem);
        }
    }

    /// The next event of `history`; a history's events must come together, in (record, position)
    /// order, and the histories in the order they were when the anchors were kept. A deleted event
    /// shows at the next one of its record (or as a gap in a sequential history); a record's last
    /// events or all of them deleted show at the anchors.
    pub fn feed_history(&mut self, history: HistoryKind, sealed: &SealedHistoryEvent) {
        let event = &sealed.event;
        if self.report.histories.last().is_none_or(|count| count.history != history) {
            self.report.histories.push(HistoryCount { history, chains: 0, events: 0 });
            self.other = None;
        }
        let same = self.other.as_ref().is_some_and(|o| o.history == history.name && o.chain_id == event.chain_id);
        if let Some(count) = self.report.histories.last_mut() {
            count.events += 1;
            count.chains += u64::from(!same);
        }
        let (previous, next_seq, broken) = match self.other.take() {
            Some(o) if same => (Some(o.head), o.next_seq, o.broken),
            _ => (None, 1, false),
        };
        let (chain_id, position) = (event.chain_id, event.position);
        let gap = (history.sequential && position != next_seq).then_some(Problem::HistoryMissing {
            history: history.name,
            chain_id,
            expected: next_seq,
            found: position,
        });
        let recomputed = seal_history_event(history, previous.as_ref(), event);
        for builder in self.anchors.iter_mut().filter_map(|a| a.histories.as_mut()) {
            builder.add_event(history.name, chain_id, sealed.recorded_at.as_ref(), &recomputed);
        }
        let fault = check_seal(sealed.seal.as_deref(), &recomputed).map(|fault| match fault {
            SealFault::Unsealed => Problem::HistoryUnsealed { history: history.name, chain_id, position },
            SealFault::Altered => Problem::HistoryAltered { history: history.name, chain_id, position },
        });
        let problem = gap.or(fault);
        let named = problem.is_some();
        if let Some(problem) = problem.filter(|_| !broken) {
            self.problem(problem);
        }
        self.other = Some(OtherChain {
            history: history.name,
            chain_id,
            head: recomputed,
            next_seq: position + 1,
            broken: broken || named,
        });
    }

    fn problem(&mut self, problem: Problem) {
        self.problems_seen += 1;
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(problem);
        }
    }

    fn end_request(&mut self) {
        let Some(chain) = self.current.take() else { return };
        for check in &mut self.anchors {
            let builder = &mut check.requests;
            let covered = chain.links.iter().take_while(|(id, _, _)| *id <= builder.last_event_id);
            if let Some((_, seq, head)) = covered.last() {
                builder.add_head(chain.request_id, *seq, head);
            }
        }
    }

    /// Ends the walk: the report, with each anchor checked.
    pub fn finish(mut self) -> Report {
        self.end_request();
        for AnchorCheck { expected, requests, histories } in std::mem::take(&mut self.anchors) {
            let found = requests.finish(histories.map(HistoryAnchorBuilder::finish));
            self.report.anchors_checked += 1;
            if found != expected {
                self.problem(Problem::AnchorMismatch { expected, found });
            }
        }
        self.report
    }

    /// Problems found so far, including those past [`MAX_PROBLEMS`].
    pub fn problems_seen(&self) -> u64 {
        self.problems_seen
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(request_id: i64, seq: i64, id: i64) -> EventRecord {
        EventRecord {
            id,
            request_id,
            seq,
            at: format!("2026-12-04T09:0{seq}:00+08:00"),
            kind: if seq == 1 { "submitted".into() } else { "dispatched".into() },
            actor_user_id: (seq > 1).then_some(7),
            actor_name: "派单员".into(),
            actor_role: "dispatcher".into(),
            actor_unit_id: None,
            client_ip: Some("127.0.0.1".into()),
            from_state: None,
            to_state: "received".into(),
            comment: None,
            details: "{}".into(),
            attachment_ids: "[]".into(),
            due_at: None,
        }
    }

    /// Three requests with 3, 2 and 4 events, interleaved by id as a busy
    /// platform writes them, sealed as the store seals them.
    fn history() -> Vec<SealedEvent> {
        let order = [(1, 1), (2, 1), (1, 2), (3, 1), (2, 2), (1, 3), (3, 2), (3, 3), (3, 4)];
        let mut heads = std::collections::HashMap::new();
        let mut out: Vec<SealedEvent> = order
            .iter()
            .enumerate()
            .map(|(i, &(request, seq))| {
                let e = event(request, seq, i as i64 + 1);
                let s = seal(heads.get(&request), &e);
                heads.insert(request, s);
                SealedEvent { event: e, seal: Some(to_hex(&s)) }
            })
            .collect();
        out.sort_by_key(|s| (s.event.request_id, s.event.seq));
        out
    }

    fn anchor_at(events: &[SealedEvent], last_event_id: i64) -> Anchor {
        let mut v = Verifier::new(vec![]);
        let mut b = AnchorBuilder::new(last_event_id);
        let mut heads = std::collections::BTreeMap::new();
        for e in events {
            v.feed(e);
            if e.event.id <= last_event_id {
                heads.insert(e.event.request_id, (e.event.seq, from_hex(e.seal.as_deref().unwrap()).unwrap()));
            }
        }
        for (r, (seq, h)) in heads {
            b.add_head(r, seq, &h);
        }
        b.finish(None)
    }

    fn verify(events: &[SealedEvent], anchors: Vec<Anchor>) -> Report {
        let mut v = Verifier::new(anchors);
        for e in events {
            v.feed(e);
        }
        v.finish()
    }

    #[test]
    fn an_untouched_history_verifies_with_its_anchors() {
        let events = history();
        let anchors = vec![anchor_at(&events, 4), anchor_at(&events, 9)];
        assert_eq!(anchors[0].requests, 3);
        assert_eq!(anchors[0].events, 4);
        assert_eq!(anchors[1].events, 9);
        let report = verify(&events, anchors);
        assert_eq!(report.problems, vec![]);
        assert_eq!((report.requests, report.events, report.anchors_checked), (3, 9, 2));
    }

    #[test]
    fn a_changed_field_is_named_at_its_row() {
        let mut events = history();
        events[1].event.comment = Some("改过".into());
        let report = verify(&events, vec![]);
        assert_eq!(report.problems, vec![Problem::Altered { request_id: 1, seq: 2, event_id: 3 }]);
        // A NULL turned into an empty text is a change too.
        let mut events = history();
        events[0].event.comment = Some(String::new());
        assert_eq!(verify(&events, vec![]).problems.len(), 1);
    }

    #[test]
    fn a_deleted_middle_event_is_named_and_a_deleted_tail_is_caught_by_the_anchor() {
        let events = history();
        let mut middle = events.clone();
        middle.remove(1); // request 1, seq 2
        assert_eq!(
            verify(&middle, vec![]).problems,
            vec![Problem::Missing { request_id: 1, expected_seq: 2, found_seq: 3 }]
        );
        let anchor = anchor_at(&events, 9);
        let mut tail = events.clone();
        tail.pop(); // request 3, seq 4
        assert_eq!(verify(&tail, vec![]).problems, vec![]);
        let problems = verify(&tail, vec![anchor.clone()]).problems;
        assert!(matches!(&problems[..], [Problem::AnchorMismatch { expected, .. }] if *expected == anchor));
        // So is a whole request deleted.
        let whole: Vec<_> = events.iter().filter(|e| e.event.request_id != 2).cloned().collect();
        assert_eq!(verify(&whole, vec![anchor]).problems.len(), 1);
    }

    #[test]
    fn a_rewritten_chain_and_unsealed_rows_are_found() {
        // Resealing an altered event alone breaks the next event's seal.
        let mut events = history();
        events[0].event.actor_name = "别人".into();
        events[0].seal = Some(to_hex(&seal(None, &events[0].event)));
        assert_eq!(verify(&events, vec![]).problems, vec![Problem::Altered { request_id: 1, seq: 2, event_id: 3 }]);
        // An event inserted past the platform has no seal.
        let mut events = history();
        let mut extra = event(2, 3, 10);
        extra.kind = "withdrawn".into();
        events.insert(5, SealedEvent { event: extra, seal: None });
        assert_eq!(verify(&events, vec![]).problems, vec![Problem::Unsealed { request_id: 2, seq: 3, event_id: 10 }]);
        // A garbled seal is an alteration.
        let mut events = history();
        events[2].seal = Some("zz".into());
        assert_eq!(verify(&events, vec![]).problems.len(), 1);
    }

    #[test]
    fn an_anchor_line_reads_back_from_a_log_line() {
        let anchor = anchor_at(&history(), 9);
        let log = format!("2026-12-04T00:00:01+08:00  INFO audit anchor {}", anchor.to_line());
        assert_eq!(Anchor::parse_line(&log), Some(anchor));
        assert_eq!(Anchor::parse_line("last_event=1 requests=1 events=1 sm3=abc"), None);
    }

    #[test]
    fn the_seal_is_sm3() {
        // GB/T 32905-2016 example 1: SM3("abc").
        let digest: Hash = Sm3::digest(b"abc").into();
        assert_eq!(to_hex(&digest), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }

    const LEDGER: HistoryKind =
        HistoryKind {
            name: "ledger_item_events", label: "台账条目", sequential: false, seal_label: SealLabel::Ledger
        };

    /// A ledger item event as the store reads it: the item, the row id, then item version, time,
    /// user, name, role, ledger roles, action, stages, changes and note.
    fn ledger_event(item_id: i64, version: i64, id: i64) -> HistoryEventRecord {
        let text = |s: &str| Some(s.to_owned());
        HistoryEventRecord {
            chain_id: item_id,
            position: id,
            fields: vec![
                Some(version.to_string()),
                Some(format!("2026-12-04T10:0{version}:00.000+08:00")),
                None,
                text("镇街填报员"),
                text("handler"),
                text(""),
                if version == 1 { text("created") } else { text("moved") },
                None,
                if version > 1 { text("closed") } else { None },
                text("[]"),
                None,
            ],
        }
    }

    /// Two items with 3 and 2 events, sealed as the store seals them, in (item, id) order.
    fn ledger_history() -> Vec<SealedHistoryEvent> {
        let mut out = Vec::new();
        for (item, versions, first_id) in [(1, 3, 1), (2, 2, 10)] {
            let mut head = None;
            for v in 1..=versions {
                let e = ledger_event(item, v, first_id + v);
                let s = seal_history_event(LEDGER, head.as_ref(), &e);
                head = Some(s);
                out.push(SealedHistoryEvent { event: e, seal: Some(to_hex(&s)), recorded_at: None });
            }
        }
        out
    }

    #[test]
    fn ledger_chains_verify_and_name_the_first_altered_deleted_or_unsealed_event_of_each_item() {
        let events = ledger_history();
        let report = verify_other(LEDGER, &events);
        let count = HistoryCount { history: LEDGER, chains: 2, events: 5 };
        assert_eq!((report.histories, report.problems), (vec![count], vec![]));
        let named = |item_id, event_id| Problem::HistoryAltered {
            history: "ledger_item_events",
            chain_id: item_id,
            position: event_id,
        };

        // A note written into the first event: named there, once for the item.
        let mut altered = events.clone();
        altered[0].event.fields[10] = Some("已验收".into());
        assert_eq!(verify_other(LEDGER, &altered).problems, vec![named(1, 2)]);

        // The middle event deleted: the next one no longer chains.
        let mut deleted = events.clone();
        deleted.remove(1);
        assert_eq!(verify_other(LEDGER, &deleted).problems, vec![named(1, 4)]);

        // An event added without a seal, and a request's seal does not fit a ledger event.
        let mut unsealed = events.clone();
        unsealed[4].seal = None;
        let request_seal = to_hex(&seal(None, &EventRecord::default()));
        unsealed[0].seal = Some(request_seal);
        assert_eq!(
            verify_other(LEDGER, &unsealed).problems,
            vec![named(1, 2), Problem::HistoryUnsealed { history: "ledger_item_events", chain_id: 2, position: 12 }]
        );
    }

    /// Ledger seals written before the ledger joined `history_seals` (under their own label, without
    /// the history's name) still verify: the values below were computed apart from this code, by
    /// Python's hashlib SM3 over the encoding those seals used.
    #[test]
    fn ledger_seals_are_the_ones_written_before_the_shared_table() {
        let text = |s: &str| Some(s.to_owned());
        let first = HistoryEventRecord {
            chain_id: 7,
            position: 41,
            fields: vec![
                text("2"),
                text("2026-12-04T10:02:00.000+08:00"),
                text("3"),
                text("镇街填报员"),
                text("handler"),
                text("filler"),
                text("moved"),
                text("open"),
                text("closed"),
                text("[]"),
                None,
            ],
        };
        let second = HistoryEventRecord {
            chain_id: 7,
            position: 97,
            fields: vec![
                text("3"),
                text("2026-12-04T10:03:00.000+08:00"),
                None,
                text("镇街填报员"),
                text("handler"),
                text("filler"),
                text("updated"),
                None,
                None,
                text(r#"[{"field":"note"}]"#),
                text("已验收"),
            ],
        };
        let s1 = seal_history_event(LEDGER, None, &first);
        assert_eq!(to_hex(&s1), "f19db6e8940ddfdbbeb216dc03f80e4001db8bc40b715c72946e41991e6a5105");
        let s2 = seal_history_event(LEDGER, Some(&s1), &second);
        assert_eq!(to_hex(&s2), "59d12030f1c9941a3323967fa8a9a3476e10170e5e352ce36ebccf7248a703a0");
        // Under the shared label the same event seals differently.
        let shared = HistoryKind { seal_label: SealLabel::Shared, ..LEDGER };
        assert_ne!(seal_history_event(shared, None, &first), s1);
    }

    const FUND: HistoryKind =
        HistoryKind {
            name: "fund_events", label: "扶持资金申请", sequential: true, seal_label: SealLabel::Shared
        };
    const VISITS: HistoryKind =
        HistoryKind { name: "visit_events", label: "走访", sequential: false, seal_label: SealLabel::Shared };

    /// Record 1 with 3 events and record 2 with 2, sealed as the store seals them; positions are
    /// seqs for a sequential history, row ids otherwise.
    fn other_history(kind: HistoryKind) -> Vec<SealedHistoryEvent> {
        let mut out = Vec::new();
        for (chain_id, events, first_id) in [(1, 3, 10), (2, 2, 20)] {
            let mut head = None;
            for n in 1..=events {
                let event = HistoryEventRecord {
                    chain_id,
                    position: if kind.sequential { n } else { first_id + n },
                    fields: vec![Some(format!("2026-12-0{n}T09:00:00+08:00")), Some("受理".into()), None],
                };
                let s = seal_history_event(kind, head.as_ref(), &event);
                head = Some(s);
                let recorded_at = parse_instant(&format!("2026-12-0{n}T09:00:00+08:00"));
                out.push(SealedHistoryEvent { event, seal: Some(to_hex(&s)), recorded_at });
            }
        }
        out
    }

    fn verify_other(kind: HistoryKind, events: &[SealedHistoryEvent]) -> Report {
        let mut v = Verifier::new(vec![]);
        for e in events {
            v.feed_history(kind, e);
        }
        v.finish()
    }

    #[test]
    fn other_histories_verify_and_name_the_first_altered_missing_or_unsealed_event_of_each_record() {
        for kind in [FUND, VISITS] {
            let events = other_history(kind);
            let report = verify_other(kind, &events);
            let count = HistoryCount { history: kind, chains: 2, events: 5 };
            assert_eq!((report.histories, report.problems), (vec![count], vec![]), "{kind:?}");

            // A NULL filled in: named at its event, once for the record.
            let mut altered = events.clone();
            altered[1].event.fields[2] = Some(String::new());
            let problems = verify_other(kind, &altered).problems;
            let position = altered[1].event.position;
            assert_eq!(problems, vec![Problem::HistoryAltered { history: kind.name, chain_id: 1, position }]);

            // The middle event deleted: a gap in a sequential history, a broken chain otherwise.
            let mut deleted = events.clone();
            deleted.remove(1);
            let expected = if kind.sequential {
                Problem::HistoryMissing { history: kind.name, chain_id: 1, expected: 2, found: 3 }
            } else {
                Problem::HistoryAltered { history: kind.name, chain_id: 1, position: 13 }
            };
            assert_eq!(verify_other(kind, &deleted).problems, vec![expected]);

            // An event without a seal.
            let mut unsealed = events.clone();
            unsealed[4].seal = None;
            let position = unsealed[4].event.position;
            assert_eq!(
                verify_other(kind, &unsealed).problems,
                vec![Problem::HistoryUnsealed { history: kind.name, chain_id: 2, position }]
            );
        }
        // The same event sealed for one history does not fit another's.
        let fund = other_history(FUND);
        let visit = HistoryKind { sequential: true, ..VISITS };
        assert_eq!(verify_other(visit, &fund).problems.len(), 2);
    }

    /// An anchor over the requests' `events` up to event 9 and the other histories' events (each
    /// history's in its order) recorded before `before`, from their stored seals, as the store keeps one.
    fn anchor_with_histories(
        events: &[SealedEvent],
        others: &[(HistoryKind, Vec<SealedHistoryEvent>)],
        before: &str,
    ) -> Anchor {
        let mut histories = HistoryAnchorBuilder::new(parse_instant(before).unwrap());
        for (kind, history) in others {
            for e in history {
                let seal = from_hex(e.seal.as_deref().unwrap()).unwrap();
                histories.add_event(kind.name, e.event.chain_id, e.recorded_at.as_ref(), &seal);
            }
        }
        Anchor { histories: Some(histories.finish()), ..anchor_at(events, 9) }
    }

    fn verify_all(
        events: &[SealedEvent],
        others: &[(HistoryKind, Vec<SealedHistoryEvent>)],
        anchors: Vec<Anchor>,
    ) -> Report {
        let mut v = Verifier::new(anchors);
        for e in events {
            v.feed(e);
        }
        for (kind, history) in others {
            for e in history {
                v.feed_history(*kind, e);
            }
        }
        v.finish()
    }

    #[test]
    fn anchors_cover_the_other_histories_so_a_deleted_last_event_or_record_shows() {
        let events = history();
        let others = vec![(FUND, other_history(FUND)), (VISITS, other_history(VISITS))];
        // Events are recorded on the 1st, 2nd and 3rd: before the 3rd covers two of record 1 and
        // both of record 2, in each history.
        let anchor = anchor_with_histories(&events, &others, "2026-12-03T00:00:00+08:00");
        let histories = anchor.histories.clone().unwrap();
        assert_eq!((histories.chains, histories.events), (4, 8));
        let later = anchor_with_histories(&events, &others, "2026-12-04T00:00:00+08:00");
        assert_eq!(later.histories.as_ref().map(|h| h.events), Some(10));
        assert_eq!(verify_all(&events, &others, vec![anchor.clone(), later.clone()]).problems, vec![]);

        // The uncovered last event of a record deleted: only the later anchor sees it.
        let mut tail = others.clone();
        tail[1].1.remove(2);
        let problems = verify_all(&events, &tail, vec![anchor.clone(), later.clone()]).problems;
        assert!(
            matches!(&problems[..], [Problem::AnchorMismatch { expected, .. }] if *expected == later),
            "{problems:?}"
        );
        assert!(problems[0].to_string().contains("the other histories' heads"), "{}", problems[0]);

        // A whole record deleted (record 2 of the fund history): both anchors see it.
        let mut record = others.clone();
        record[0].1.retain(|e| e.event.chain_id != 2);
        let problems = verify_all(&events, &record, vec![anchor.clone(), later.clone()]).problems;
        assert_eq!(problems.len(), 2, "{problems:?}");

        // An event recorded after both anchors changes neither.
        let mut appended = others.clone();
        let last = appended[1].1.last().unwrap().clone();
        let event = HistoryEventRecord { position: last.event.position + 1, ..last.event.clone() };
        let seal = seal_history_event(VISITS, from_hex(last.seal.as_deref().unwrap()).as_ref(), &event);
        let recorded_at = parse_instant("2026-12-05T09:00:00+08:00");
        appended[1].1.push(SealedHistoryEvent { event, seal: Some(to_hex(&seal)), recorded_at });
        assert_eq!(verify_all(&events, &appended, vec![anchor, later]).problems, vec![]);
    }

    #[test]
    fn an_anchor_with_histories_reads_back_and_a_partial_one_is_refused() {
        let events = history();
        let others = vec![(VISITS, other_history(VISITS))];
        let anchor = anchor_with_histories(&events, &others, "2026-12-03T00:00:00+08:00");
        let line = format!("2026-12-06T09:00:00+08:00 INFO audit anchor at=x {}", anchor.to_line());
        assert_eq!(Anchor::parse_line(&line), Some(anchor.clone()));
        let partial = anchor.to_line().replace(" history_events=", " other=");
        assert_eq!(Anchor::parse_line(&partial), None);
        // A line kept before the histories were anchored reads as before.
        let older = Anchor { histories: None, ..anchor };
        assert_eq!(Anchor::parse_line(&older.to_line()), Some(older));
    }
}
