//! What people type, and the index query it becomes together with the caller's scope and the list
//! filters.
//!
//! The query language is small on purpose (no field names, no operators a caller could use to reach
//! fields they may not match): words separated by spaces must all match, `"…"` keeps a phrase with its
//! spaces, and a leading `-` excludes a word or phrase. Each word or phrase is cut by the query tokenizer
//! into character bigrams and Latin/digit words and matched as a phrase of those, so `营业执照` matches
//! exactly where the text holds it, in simplified or traditional characters.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use mashangban_domain::org::Scope;
use mashangban_domain::request::State;
use mashangban_store::{ListFilter, ListOrder};
use mashangban_text::ChineseTokenizer;

use crate::schema::{Fields, PersonTerms, id_value, micros};

/// The most characters of a query.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words and phrases (included and excluded) in a query.
pub const MAX_QUERY_PARTS: usize = 12;

/// A query refused: a stable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub code: &'static str,
    pub message: String,
}

impl QueryError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for QueryError {}

/// One word or phrase: its query tokens with their positions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    tokens: Vec<(usize, String)>,
}

/// A parsed query: what must match and what must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    include: Vec<Part>,
    exclude: Vec<Part>,
}

impl TextQuery {
    /// Parses what a person typed. Refuses (with a stable code) a query longer than
    /// [`MAX_QUERY_CHARS`] (`query_too_long`), with more than [`MAX_QUERY_PARTS`] parts
    /// (`query_too_complex`), with an unclosed quote (`query_unclosed_quote`), or with nothing to look
    /// for (`query_no_terms`: only punctuation, or only exclusions).
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let text = text.trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::new("query_too_long", format!("搜索词最多 {MAX_QUERY_CHARS} 个字")));
        }
        let mut raw: Vec<(bool, String)> = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let mut excluded = false;
            if c == '-' || c == '－' {
                excluded = true;
                chars.next();
            }
            let mut part = String::new();
            if matches!(chars.peek(), Some('"' | '“' | '”' | '＂')) {
                chars.next();
                let mut closed = false;
                for c in chars.by_ref() {
                    if matches!(c, '"' | '“' | '”' | '＂') {
                        closed = true;
                        break;
                    }
                    part.push(c);
                }
                if !closed {
                    return Err(QueryError::new("query_unclosed_quote", "搜索词中的引号没有配对"));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    part.push(c);
                    chars.next();
                }
            }
            raw.push((excluded, part));
        }
        if raw.len() > MAX_QUERY_PARTS {
            return Err(QueryError::new("query_too_complex", format!("搜索词最多 {MAX_QUERY_PARTS} 个词或短语")));
        }
        let tokenizer = ChineseTokenizer::query();
        let mut query = TextQuery { include: Vec::new(), exclude: Vec::new() };
        for (excluded, text) in raw {
            let tokens: Vec<(usize, String)> =
                tokenizer.tokens(&text).into_iter().map(|t| (t.position, t.text)).collect();
            let Some(first) = tokens.first().map(|t| t.0) else { continue };
            let part = Part { tokens: tokens.into_iter().map(|(p, t)| (p - first, t)).collect() };
            if excluded { query.exclude.push(part) } else { query.include.push(part) }
        }
        if query.include.is_empty() {
            return Err(QueryError::new("query_no_terms", "搜索词中没有可查找的字词（排除词之外至少要有一个词）"));
        }
        Ok(query)
    }
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// Best match first (the default with a query).
    #[default]
    Relevance,
    /// Newest first (by request id), with the list's `cursor`.
    Newest,
}

/// A search over requests by a caller.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    pub text: &'a TextQuery,
    /// Every list filter; its `order` is not used (see `order`), its `before_id` is the cursor of the
    /// newest-first order and its `limit`/`offset` the page.
    pub filter: &'a ListFilter,
    /// The caller's data scope (数据权限).
    pub scope: &'a Scope,
    /// Where the caller sees personal data (`Actor::personal_data_scope`): the asker's name and phone
    /// are matched only there.
    pub personal: &'a Scope,
    /// With `Scope::Liaison`: the credit codes of the cadre's enterprises in force now (联系企业), which
    /// the caller reads from the store at query time, as the store's own scope rule does.
    pub liaison_codes: &'a [String],
    pub order: SearchOrder,
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(queries.into_iter().map(|q| (Occur::Should, q)).collect()))
}

fn u64_terms(field: Field, values: impl IntoIterator<Item = i64>) -> Box<dyn Query> {
    any_of(values.into_iter().map(|v| term_query(Term::from_field_u64(field, id_value(v)))).collect())
}

/// The scope rule (`Scope::permits`) as an index query; `None` when it admits everything.
pub fn scope_query(f: &Fields, scope: &Scope, liaison_codes: &[String]) -> Option<Box<dyn Query>> {
    match scope {
        Scope::All => None,
        Scope::Nothing => Some(Box::new(EmptyQuery)),
        Scope::Units { units, town } => {
            let mut any = vec![u64_terms(f.unit, units.iter().copied())];
            if let Some(town) = town {
                any.push(term_query(Term::from_field_u64(f.town, id_value(*town))));
            }
            Some(any_of(any))
        }
        Scope::Asker { user_id, credit_code } => {
            let mut any = vec![term_query(Term::from_field_u64(f.submitted_by, id_value(*user_id)))];
            if let Some(code) = credit_code {
                any.push(term_query(Term::from_field_text(f.credit_code, code)));
            }
            Some(any_of(any))
        }
        Scope::Liaison { .. } => Some(any_of(
            liaison_codes.iter().map(|code| term_query(Term::from_field_text(f.credit_code, code))).collect(),
        )),
    }
}

/// One part as a term or a phrase of `terms` (its tokens as one field stores them).
fn phrase(part: &Part, terms: impl Fn(&str) -> Term) -> Box<dyn Query> {
    if let [(_, token)] = part.tokens.as_slice() {
        Box::new(TermQuery::new(terms(token), IndexRecordOption::WithFreqs))
    } else {
        Box::new(PhraseQuery::new_with_offset(part.tokens.iter().map(|(p, t)| (*p, terms(t))).collect()))
    }
}

/// One part over the person field: its tokens hashed as [`PersonTerms`] stores them, one phrase per
/// key of the ring.
fn person_query(f: &Fields, person: &PersonTerms, part: &Part) -> Box<dyn Query> {
    let hashed: Vec<Vec<String>> = part.tokens.iter().map(|(_, t)| person.token_terms(t)).collect();
    let keys = hashed.first().map_or(0, Vec::len);
    let per_key = (0..keys)
        .map(|k| {
            let tokens = part.tokens.iter().zip(&hashed).map(|((p, _), h)| (*p, h[k].clone())).collect();
            phrase(&Part { tokens }, |t| Term::from_field_text(f.person, t))
        })
        .collect();
    any_of(per_key)
}

/// One part over `fields`: any field holding its tokens as a phrase.
fn part_query(f: &Fields, person: &PersonTerms, part: &Part, fields: &[(Field, f32)]) -> Box<dyn Query> {
    let per_field = fields
        .iter()
        .map(|&(field, boost)| {
            let query = if field == f.person {
                person_query(f, person, part)
            } else {
                phrase(part, |t| Term::from_field_text(field, t))
            };
            if boost == 1.0 { query } else { Box::new(BoostQuery::new(query, boost)) as Box<dyn Query> }
        })
        .collect();
    any_of(per_field)
}

/// Every included part over `fields`, no excluded part over the public fields.
fn text_over(
    (f, person): (&Fields, &PersonTerms),
    text: &TextQuery,
    fields: &[(Field, f32)],
    public: &[(Field, f32)],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        text.include.iter().map(|p| (Occur::Must, part_query(f, person, p, fields))).collect();
    clauses.extend(text.exclude.iter().map(|p| (Occur::MustNot, part_query(f, person, p, public))));
    Box::new(BooleanQuery::new(clauses))
}

/// The text part: the public fields anywhere in scope, and also the person fields where the caller
/// sees personal data.
fn text_query(f: &Fields, person: &PersonTerms, search: &Search<'_>) -> Box<dyn Query> {
    let Search { text, personal, liaison_codes, .. } = *search;
    let fp = (f, person);
    let public = f.public_text();
    let mut all = public.to_vec();
    all.push((f.person, 2.0));
    match personal {
        Scope::All => text_over(fp, text, &all, &public),
        Scope::Nothing => text_over(fp, text, &public, &public),
        scope => {
            let mut personal_branch = vec![(Occur::Must, text_over(fp, text, &all, &public))];
            if let Some(q) = scope_query(f, scope, liaison_codes) {
                personal_branch.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>));
            }
            any_of(vec![text_over(fp, text, &public, &public), Box::new(BooleanQuery::new(personal_branch))])
        }
    }
}

fn range(field: Field, from: Option<i64>, to: Option<i64>, to_inclusive: bool) -> Box<dyn Query> {
    let lower = from.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(field, v)));
    let upper = match to {
        None => Bound::Unbounded,
        Some(v) if to_inclusive => Bound::Included(Term::from_field_i64(field, v)),
        Some(v) => Bound::Excluded(Term::from_field_i64(field, v)),
    };
    Box::new(RangeQuery::new(lower, upper))
}

fn flag(field: Field) -> Box<dyn Query> {
    term_query(Term::from_field_bool(field, true))
}

/// The list filter (see `store-sql`'s `filter_sql`, which this mirrors) as index clauses. Every field
/// of [`ListFilter`] is named, so a new filter does not compile until it is handled here.
pub fn filter_clauses(
    f: &Fields,
    person: &PersonTerms,
    filter: &ListFilter,
    order: SearchOrder,
) -> Vec<(Occur, Box<dyn Query>)> {
    let ListFilter {
        states,
        kind,
        exclude_kinds,
        channel,
        exclude_channels,
        unit_id,
        town_id,
        category_id,
        received_from,
        received_to,
        overdue_at,
        credit_code,
        contact_phone,
        supervised,
        pending_extension,
        unhappy_follow_up,
        before_id,
        limit: _,
        order: list_order,
        category_ids,
        updated_after,
        updated_before,
        offset: _,
        lead_unit_id,
        without_lead_unit,
        without_town,
        closed_from,
        closed_to,
        due_from,
        screening_held,
    } = filter;
    let mut must: Vec<Box<dyn Query>> = Vec::new();
    let mut must_not: Vec<Box<dyn Query>> = Vec::new();
    let text = |field: Field, value: &str| term_query(Term::from_field_text(field, value));
    let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
    let states = if states.is_empty() && *list_order == ListOrder::Deadline { &open } else { states };
    if !states.is_empty() {
        must.push(any_of(states.iter().map(|s| text(f.state, s.as_str())).collect()));
    }
    if let Some(k) = kind {
        must.push(text(f.kind, k.as_str()));
    }
    for k in exclude_kinds {
        must_not.push(text(f.kind, k.as_str()));
    }
    if let Some(c) = channel {
        must.push(text(f.channel, c.as_str()));
    }
    for c in exclude_channels {
        must_not.push(text(f.channel, c.as_str()));
    }
    let mut unit = |field: Field, value: Option<i64>| {
        if let Some(v) = value {
            must.push(term_query(Term::from_field_u64(field, id_value(v))));
        }
    };
    unit(f.unit, *unit_id);
    unit(f.lead_unit, *lead_unit_id);
    unit(f.town, *town_id);
    unit(f.category, *category_id);
    if *without_lead_unit {
        must.push(term_query(Term::from_field_u64(f.lead_unit, 0)));
    }
    if *without_town {
        must.push(term_query(Term::from_field_u64(f.town, 0)));
    }
    if !category_ids.is_empty() {
        must.push(u64_terms(f.category, category_ids.iter().copied()));
    }
    if let Some(code) = credit_code {
        must.push(text(f.credit_code, code));
    }
    if let Some(phone) = contact_phone {
        must.push(any_of(person.phone_terms(phone).iter().map(|t| text(f.phone, t)).collect()));
    }
    let at = |t: &Option<mashangban_domain::time::Instant>| t.as_ref().map(micros);
    if received_from.is_some() || received_to.is_some() {
        must.push(range(f.received, at(received_from), at(received_to), false));
    }
    if closed_from.is_some() || closed_to.is_some() {
        must.push(range(f.closed, at(closed_from), at(closed_to), false));
    }
    if due_from.is_some() {
        must.push(range(f.due, at(due_from), None, false));
    }
    // `updated_after` is exclusive: from one microsecond later.
    if updated_after.is_some() || updated_before.is_some() {
        must.push(range(f.updated, at(updated_after).map(|v| v.saturating_add(1)), at(updated_before), false));
    }
    if let Some(now) = overdue_at {
        must.push(range(f.due, None, Some(micros(now)), false));
        must.push(flag(f.open));
    }
    match screening_held {
        Some(true) => must.push(flag(f.screening_held)),
        Some(false) => must_not.push(flag(f.screening_held)),
        None => {}
    }
    if *supervised {
        must.push(flag(f.supervised));
    }
    if *pending_extension {
        must.push(flag(f.pending_extension));
    }
    if *unhappy_follow_up {
        must.push(flag(f.unhappy));
    }
    if let (Some(before), SearchOrder::Newest) = (before_id, order) {
        let upper = Bound::Excluded(Term::from_field_u64(f.id, id_value(*before)));
        must.push(Box::new(RangeQuery::new(Bound::Unbounded, upper)));
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    clauses.extend(must.into_iter().map(|q| (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>)));
    clauses.extend(must_not.into_iter().map(|q| (Occur::MustNot, q)));
    clauses
}

/// The whole query of a search: text, scope and filters. Only the text scores.
pub fn build(f: &Fields, person: &PersonTerms, search: &Search<'_>) -> Box<dyn Query> {
    let mut clauses = vec![(Occur::Must, text_query(f, person, search))];
    if let Some(scope) = scope_query(f, search.scope, search.liaison_codes) {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(scope, 0.0)) as Box<dyn Query>));
    }
    clauses.extend(filter_clauses(f, person, search.filter, search.order));
    Box::new(BooleanQuery::new(clauses))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shown(q: &TextQuery) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let show = |parts: &[Part]| {
            parts.iter().map(|p| p.tokens.iter().map(|(at, t)| format!("{t}@{at}")).collect()).collect()
        };
        (show(&q.include), show(&q.exclude))
    }

    #[test]
    fn words_phrases_and_exclusions() {
        let q = TextQuery::parse(r#"營業執照 "噪音 扰民" -注销 ＷｉＦｉ"#).unwrap();
        let (include, exclude) = shown(&q);
        assert_eq!(include, [vec!["营业@0", "业执@1", "执照@2"], vec!["噪音@0", "扰民@2"], vec!["wifi@0"]]);
        assert_eq!(exclude, [vec!["注销@0"]]);
    }

    #[test]
    fn refusals_have_stable_codes() {
        let code = |q: &str| TextQuery::parse(q).unwrap_err().code;
        assert_eq!(code(&"字".repeat(MAX_QUERY_CHARS + 1)), "query_too_long");
        assert_eq!(code("\"噪音"), "query_unclosed_quote");
        assert_eq!(code("，。！"), "query_no_terms");
        assert_eq!(code("-噪音"), "query_no_terms");
        assert_eq!(code(&vec!["社保"; MAX_QUERY_PARTS + 1].join(" ")), "query_too_complex");
        assert!(TextQuery::parse(&"字".repeat(MAX_QUERY_CHARS)).is_ok());
    }
}
