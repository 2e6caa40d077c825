//! The index's fields and how a request becomes a document.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::PreTokenizedString;

use mashangban_domain::org::UnitId;
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{Request, State};
use mashangban_domain::time::{Instant, shanghai};
use mashangban_text::{ChineseTokenizer, mask_collecting};

/// The tokenizer name the text fields are indexed with ([`mashangban_text::ChineseTokenizer`]).
pub const TOKENIZER: &str = "zh";

/// The fields of the index, by handle.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The request id (u64): the key documents are replaced by, and the newest-first order.
    pub id: Field,
    pub title: Field,
    pub content: Field,
    /// Replies and stage replies (stored, for snippets).
    pub replies: Field,
    pub enterprise: Field,
    pub address: Field,
    /// Category, unit and town names.
    pub names: Field,
    /// Tracking number and ledger reference.
    pub refs: Field,
    /// The asker's name and phone as keyed hashes of their tokens ([`PersonTerms`]): matched only
    /// where the caller sees personal data.
    pub person: Field,
    pub state: Field,
    pub kind: Field,
    pub channel: Field,
    /// Lead and co-handling units (the scope's and `unit=`'s).
    pub unit: Field,
    /// The lead unit, 0 when not dispatched.
    pub lead_unit: Field,
    /// The town, 0 when none.
    pub town: Field,
    pub category: Field,
    /// The submitting account, 0 when none.
    pub submitted_by: Field,
    pub credit_code: Field,
    /// The asker's phone as one keyed hash ([`PersonTerms::phone`]), for `contact_phone=`.
    pub phone: Field,
    /// Microseconds since the epoch.
    pub received: Field,
    pub updated: Field,
    pub closed: Field,
    pub due: Field,
    /// `YYYY-MM` of the receipt in Asia/Shanghai.
    pub month: Field,
    pub open: Field,
    pub supervised: Field,
    pub pending_extension: Field,
    pub unhappy: Field,
    /// Held by spam screening (待甄别).
    pub screening_held: Field,
}

impl Fields {
    /// The text fields that anyone in scope may match, with their boosts.
    pub fn public_text(&self) -> [(Field, f32); 7] {
        [
            (self.title, 3.0),
            (self.content, 1.0),
            (self.replies, 1.0),
            (self.enterprise, 2.0),
            (self.address, 1.0),
            (self.names, 1.0),
            (self.refs, 2.0),
        ]
    }
}

/// The schema and its field handles.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(indexing);
    let stored_text = text.clone().set_stored();
    let code = STRING | FAST;
    let number = INDEXED | FAST;
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        content: b.add_text_field("content", text.clone()),
        replies: b.add_text_field("replies", stored_text),
        enterprise: b.add_text_field("enterprise", text.clone()),
        address: b.add_text_field("address", text.clone()),
        names: b.add_text_field("names", text.clone()),
        refs: b.add_text_field("refs", text.clone()),
        person: b.add_text_field("person", text),
        state: b.add_text_field("state", code.clone()),
        kind: b.add_text_field("kind", code.clone()),
        channel: b.add_text_field("channel", code.clone()),
        unit: b.add_u64_field("unit", number.clone()),
        lead_unit: b.add_u64_field("lead_unit", number.clone()),
        town: b.add_u64_field("town", number.clone()),
        category: b.add_u64_field("category", number.clone()),
        submitted_by: b.add_u64_field("submitted_by", number.clone()),
        credit_code: b.add_text_field("credit_code", STRING),
        phone: b.add_text_field("phone", STRING),
        received: b.add_i64_field("received", number.clone()),
        updated: b.add_i64_field("updated", number.clone()),
        closed: b.add_i64_field("closed", number.clone()),
        due: b.add_i64_field("due", number.clone()),
        month: b.add_text_field("month", code),
        open: b.add_bool_field("open", number.clone()),
        supervised: b.add_bool_field("supervised", number.clone()),
        pending_extension: b.add_bool_field("pending_extension", number.clone()),
        unhappy: b.add_bool_field("unhappy", number.clone()),
        screening_held: b.add_bool_field("screening_held", number),
    };
    (b.build(), fields)
}

/// Ids are positive; a negative one (never stored) maps to 0, which no request has.
pub(crate) fn id_value(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

/// An instant as the index stores it.
pub(crate) fn micros(at: &Instant) -> i64 {
    at.timestamp_micros()
}

/// How the asker's name and phone (个人信息), and the numbers and e-mail addresses written into a
/// request's free texts, enter the index: each token as its keyed hash (HMAC-SM3
/// under the look-up key of personal data at rest, with a label of its own, so it never equals the
/// store's look-up hash of the same phone), so the files on a node's disk hold no name and no phone
/// while a search for them still matches. Documents are hashed under the current key; a query is
/// hashed under every key of the ring, so what was indexed before a rotation is still found while the
/// index rebuilds (its commits name the key, see `SearchIndex::cursor`).
#[derive(Debug, Clone)]
pub struct PersonTerms {
    keys: Keyring,
}

/// What a name's or phone's token is hashed over before the token.
const PERSON_LABEL: &str = "search.person\u{0}";
const PHONE_LABEL: &str = "search.phone\u{0}";
/// Hex digits kept of a hash: 128 bits, so two tokens never share a term.
const TERM_HEX: usize = 32;

impl PersonTerms {
    pub fn new(keys: Keyring) -> Self {
        Self { keys }
    }

    /// The id of the key documents are hashed under.
    pub fn key_id(&self) -> &str {
        self.keys.current().id()
    }

    /// The term of `value` under `label` and the current key: the hash's first [`TERM_HEX`] hex digits.
    fn current(&self, label: &str, value: &str) -> String {
        let mut hash = self.keys.lookup_hash(&format!("{label}{value}"));
        hash.truncate(TERM_HEX);
        hash
    }

    /// The terms of `value` under `label`, one per key of the ring, in the ring's order.
    fn every_key(&self, label: &str, value: &str) -> Vec<String> {
        let mut hashes = self.keys.lookup_hashes(&format!("{label}{value}"));
        hashes.iter_mut().for_each(|h| h.truncate(TERM_HEX));
        hashes
    }

    /// A name or phone as the index stores it: the index tokenizer's tokens, each text hashed.
    fn tokens(&self, text: &str) -> PreTokenizedString {
        let mut tokens = ChineseTokenizer::index().tokens(text);
        for token in &mut tokens {
            token.text = self.current(PERSON_LABEL, &token.text);
        }
        PreTokenizedString { text: String::new(), tokens }
    }

    /// A phone as the `phone` field stores it (current key).
    pub fn phone(&self, phone: &str) -> String {
        self.current(PHONE_LABEL, phone)
    }

    /// The terms a phone may be stored under: one per key of the ring.
    pub fn phone_terms(&self, phone: &str) -> Vec<String> {
        self.every_key(PHONE_LABEL, phone)
    }

    /// The terms a query token of a name or phone may be stored under: one per key of the ring, in the
    /// ring's order (so the n-th terms of a phrase's tokens are all under one key).
    pub fn token_terms(&self, token: &str) -> Vec<String> {
        self.every_key(PERSON_LABEL, token)
    }
}

/// The texts of a request that live outside its row: names resolved from the caches and the replies
/// from its history.
#[derive(Debug, Clone, Default)]
pub struct RequestTexts {
    /// Replies and stage replies (答复、阶段性答复), oldest first.
    pub replies: Vec<String>,
    /// Category (with its parents), lead and co-handling unit and town names.
    pub names: Vec<String>,
}

/// A request as the index stores it.
#[derive(Debug, Clone)]
pub struct RequestDoc {
    pub(crate) doc: TantivyDocument,
    pub(crate) id: u64,
}

impl RequestDoc {
    /// The document of `request` with its `texts`; the asker's name and phone hashed by `person`.
    pub fn new(fields: &Fields, person: &PersonTerms, request: &Request, texts: &RequestTexts) -> Self {
        let f = fields;
        let r = request;
        let mut d = TantivyDocument::default();
        let id = id_value(r.id);
        d.add_u64(f.id, id);
        // Numbers and addresses written into the free texts (a phone in the content, an ID number in a
        // reply) are masked in those fields, as the public views show them, and hashed into `person`.
        let mut hidden = Vec::new();
        let mut masked = |text: &str| {
            let (masked, found) = mask_collecting(text);
            hidden.extend(found);
            masked
        };
        d.add_text(f.title, masked(&r.title));
        d.add_text(f.content, masked(&r.content));
        for reply in &texts.replies {
            d.add_text(f.replies, masked(reply));
        }
        if let mashangban_domain::request::Asker::Enterprise { name, credit_code } = &r.asker {
            d.add_text(f.enterprise, name);
            d.add_text(f.credit_code, credit_code.as_str());
        }
        if let Some(address) = &r.location.address {
            d.add_text(f.address, address);
        }
        for name in &texts.names {
            d.add_text(f.names, name);
        }
        d.add_text(f.refs, &r.tracking_no);
        if let Some(ledger) = &r.ledger_ref {
            d.add_text(f.refs, ledger);
        }
        d.add_pre_tokenized_text(f.person, person.tokens(&r.contact.name));
        d.add_pre_tokenized_text(f.person, person.tokens(r.contact.phone.as_str()));
        for h in &hidden {
            d.add_pre_tokenized_text(f.person, person.tokens(&h.written));
            if h.canonical != h.written {
                d.add_pre_tokenized_text(f.person, person.tokens(&h.canonical));
            }
        }
        d.add_text(f.phone, person.phone(r.contact.phone.as_str()));
        d.add_text(f.state, r.state.as_str());
        d.add_text(f.kind, r.kind.as_str());
        d.add_text(f.channel, r.channel.as_str());
        // As the store's `request_units`: lead, co-handling and every sub-unit assigned within a unit
        // (二次派单), so the scope and `unit=` of a search find what the list finds.
        for unit in handling_units(r) {
            d.add_u64(f.unit, id_value(unit));
        }
        d.add_u64(f.lead_unit, r.lead_unit_id.map_or(0, id_value));
        d.add_u64(f.town, r.location.town_id.map_or(0, id_value));
        d.add_u64(f.category, id_value(r.category_id));
        d.add_u64(f.submitted_by, r.submitted_by.map_or(0, id_value));
        d.add_i64(f.received, micros(&r.received_at));
        d.add_i64(f.updated, micros(&r.updated_at));
        if let Some(at) = &r.closed_at {
            d.add_i64(f.closed, micros(at));
        }
        if let Some(at) = &r.due_at {
            d.add_i64(f.due, micros(at));
        }
        d.add_text(f.month, month_of(&r.received_at));
        d.add_bool(f.open, r.state.is_open());
        d.add_bool(f.supervised, r.supervision.is_some());
        d.add_bool(f.pending_extension, r.pending_extension.is_some());
        d.add_bool(f.unhappy, r.state == State::FollowedUp && r.follow_up_unhappy());
        d.add_bool(f.screening_held, r.screening_held);
        Self { doc: d, id }
    }
}

/// `YYYY-MM` of an instant in Asia/Shanghai.
pub fn month_of(at: &Instant) -> String {
    at.with_timezone(&shanghai()).format("%Y-%m").to_string()
}

/// The units a request is handled by: lead, co-handling, and the sub-units of assignments within a
/// unit (二次派单), open or replied.
pub fn handling_units(r: &Request) -> impl Iterator<Item = UnitId> + '_ {
    let subs = r.unit_work.subs.iter().map(|s| s.sub_unit_id);
    r.lead_unit_id.into_iter().chain(r.co_unit_ids.iter().copied()).chain(subs)
}
