//! Facets (分面统计): how many of the requests a search matches fall in each state, handling unit,
//! town, category and month. Counted by a collector over the documents the whole query — text, the
//! caller's scope and every filter — matches, so a count never includes a request the caller may not
//! list.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The counts of one search, each keyed by its value (unit, town and category ids; state codes and
/// `YYYY-MM` months). A request handled by several units counts once for each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub states: HashMap<String, u64>,
    pub units: HashMap<u64, u64>,
    pub towns: HashMap<u64, u64>,
    pub categories: HashMap<u64, u64>,
    pub months: HashMap<String, u64>,
}

impl Facets {
    fn add(&mut self, other: Facets) {
        fn merge<K: std::hash::Hash + Eq>(into: &mut HashMap<K, u64>, from: HashMap<K, u64>) {
            for (k, n) in from {
                *into.entry(k).or_insert(0) += n;
            }
        }
        merge(&mut self.states, other.states);
        merge(&mut self.units, other.units);
        merge(&mut self.towns, other.towns);
        merge(&mut self.categories, other.categories);
        merge(&mut self.months, other.months);
    }
}

/// The collector of [`Facets`].
pub(crate) struct FacetCollector;

/// Per segment: the columns and the counts by term ordinal (strings) or value (ids).
pub(crate) struct SegmentFacets {
    state: Option<StrColumn>,
    month: Option<StrColumn>,
    unit: Column<u64>,
    town: Column<u64>,
    category: Column<u64>,
    state_ords: HashMap<u64, u64>,
    month_ords: HashMap<u64, u64>,
    counts: Facets,
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = segment.fast_fields();
        Ok(SegmentFacets {
            state: fast.str("state")?,
            month: fast.str("month")?,
            unit: fast.u64("unit")?,
            town: fast.u64("town")?,
            category: fast.u64("category")?,
            state_ords: HashMap::new(),
            month_ords: HashMap::new(),
            counts: Facets::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Facets>) -> tantivy::Result<Facets> {
        let mut all = Facets::default();
        for fruit in fruits {
            all.add(fruit);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Facets;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(column) = &self.state {
            for ord in column.term_ords(doc) {
                *self.state_ords.entry(ord).or_insert(0) += 1;
            }
        }
        if let Some(column) = &self.month {
            for ord in column.term_ords(doc) {
                *self.month_ords.entry(ord).or_insert(0) += 1;
            }
        }
        let c = &mut self.counts;
        // A unit is listed once per request even if the document names it twice (lead and sub-unit).
        let mut units: Vec<u64> = self.unit.values_for_doc(doc).filter(|&u| u != 0).collect();
        units.sort_unstable();
        units.dedup();
        for unit in units {
            *c.units.entry(unit).or_insert(0) += 1;
        }
        if let Some(town) = self.town.first(doc).filter(|&t| t != 0) {
            *c.towns.entry(town).or_insert(0) += 1;
        }
        if let Some(category) = self.category.first(doc) {
            *c.categories.entry(category).or_insert(0) += 1;
        }
    }

    fn harvest(mut self) -> Facets {
        let named = |column: &Option<StrColumn>, ords: HashMap<u64, u64>| {
            let mut out = HashMap::new();
            let Some(column) = column else { return out };
            let mut text = String::new();
            for (ord, n) in ords {
                text.clear();
                if column.ord_to_str(ord, &mut text).unwrap_or(false) {
                    *out.entry(text.clone()).or_insert(0) += n;
                }
            }
            out
        };
        self.counts.states = named(&self.state, std::mem::take(&mut self.state_ords));
        self.counts.months = named(&self.month, std::mem::take(&mut self.month_ords));
        self.counts
    }
}
