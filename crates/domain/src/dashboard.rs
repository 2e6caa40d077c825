//! The leader dashboard (领导驾驶舱): what each request adds to its figures,
//! and the dashboard of a period built from summed rollup cells.
//!
//! Every figure is a count over the requests as they are now, so a plain
//! `GROUP BY` over the requests table gives the same answer (the benchmark's
//! baseline and the store tests do exactly that):
//!
//! - 受理量 `received`: requests received on the day (`received_at`);
//! - 办结量 `closed`: requests closed now (`closed_at` set: 办结 or 直接办结,
//!   cleared by a reopen) on the day of `closed_at`;
//! - 按时办结率: of those with a reply deadline (`due_at`), closed at or before it;
//! - 满意率: of those closed with a follow-up rating, rated 非常满意 or 满意
//!   (and 基本满意 when [`ScoreOptions::fairly_satisfied_counts`]), with the
//!   satisfaction rule of [`crate::scoring::Indicators`].
//!
//! Breakdowns are by the lead unit now (主办单位; none before dispatch), the
//! town (镇街), the type (类型) and the category; the dashboard folds leaf
//! categories into their top-level category. The on-time rule differs on
//! purpose from department scoring (考核), which judges a unit's last reply
//! event: the dashboard counts requests and the time the asker's matter was
//! closed. See `docs/pages.md`.
//!
//! A request contributes one cell per dimension on its receipt day and, once
//! closed, one per dimension on its close day. [`change`] is the difference
//! a change of a request makes: the stores add it to their day and month
//! rollups in the transaction that writes the request.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::org::UnitId;
use crate::request::{CategoryId, Rating, Request, RequestKind};
use crate::scoring::{Counters, Indicators, Period, Ratio, ScoreOptions, day_of};
use crate::time::Instant;

/// What a dashboard breaks its figures down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The whole city (key `""`).
    Total,
    /// The lead unit's id (`""`: not dispatched).
    Unit,
    /// The town's id (`""`: no town given).
    Town,
    /// The request type's code (`complaint`, …).
    Kind,
    /// The (leaf) category's id.
    Category,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [Self::Total, Self::Unit, Self::Town, Self::Kind, Self::Category];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Unit => "unit",
            Self::Town => "town",
            Self::Kind => "kind",
            Self::Category => "category",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The counts of one rollup cell (a day or month, dimension and key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Measures {
    pub received: i64,
    pub closed: i64,
    pub closed_with_due: i64,
    pub closed_on_time: i64,
    pub very_satisfied: i64,
    pub satisfied: i64,
    pub fairly_satisfied: i64,
    pub dissatisfied: i64,
    pub very_dissatisfied: i64,
}

impl Measures {
    /// The column names, in the order of [`Measures::values`].
    pub const COLUMNS: [&'static str; 9] = [
        "received",
        "closed",
        "closed_with_due",
        "closed_on_time",
        "very_satisfied",
        "satisfied",
        "fairly_satisfied",
        "dissatisfied",
        "very_dissatisfied",
    ];

    pub fn values(&self) -> [i64; 9] {
        [
            self.received,
            self.closed,
            self.closed_with_due,
            self.closed_on_time,
            self.very_satisfied,
            self.satisfied,
            self.fairly_satisfied,
            self.dissatisfied,
            self.very_dissatisfied,
        ]
    }

    pub fn from_values(v: [i64; 9]) -> Self {
        let [
            received,
            closed,
            closed_with_due,
            closed_on_time,
            very_satisfied,
            satisfied,
            fairly_satisfied,
            dissatisfied,
            very_dissatisfied,
        ] = v;
        Self {
            received,
            closed,
            closed_with_due,
            closed_on_time,
            very_satisfied,
            satisfied,
            fairly_satisfied,
            dissatisfied,
            very_dissatisfied,
        }
    }

    fn zip(&self, other: &Self, f: impl Fn(i64, i64) -> i64) -> Self {
        let (a, b) = (self.values(), other.values());
        Self::from_values(std::array::from_fn(|i| f(a[i], b[i])))
    }

    pub fn add(&mut self, other: &Self) {
        *self = self.zip(other, |a, b| a + b);
    }

    pub fn subtract(&mut self, other: &Self) {
        *self = self.zip(other, |a, b| a - b);
    }

    pub fn is_zero(&self) -> bool {
        self.values().iter().all(|&v| v == 0)
    }

    /// The figures shown, with scoring's on-time and satisfaction rules.
    pub fn figures(&self, options: &ScoreOptions) -> Figures {
        let counters = Counters {
            closed: self.closed,
            closed_with_due: self.closed_with_due,
            closed_on_time: self.closed_on_time,
            very_satisfied: self.very_satisfied,
            satisfied: self.satisfied,
            fairly_satisfied: self.fairly_satisfied,
            dissatisfied: self.dissatisfied,
            very_dissatisfied: self.very_dissatisfied,
            ..Counters::default()
        };
        let indicators = Indicators::of(&counters, options);
        Figures {
            received: self.received,
            closed: self.closed,
            on_time: indicators.on_time_close,
            satisfaction: indicators.satisfaction,
        }
    }
}

/// The dashboard's figures for the city, a slice or a point of the trend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    /// 受理量.
    pub received: i64,
    /// 办结量.
    pub closed: i64,
    /// 按时办结率: closed on time / closed with a deadline.
    pub on_time: Ratio,
    /// 满意率: satisfied / rated.
    pub satisfaction: Ratio,
}

/// What of a request the dashboard counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub received_at: Instant,
    pub closed_at: Option<Instant>,
    pub due_at: Option<Instant>,
    pub rating: Option<Rating>,
    pub lead_unit_id: Option<UnitId>,
    pub town_id: Option<UnitId>,
    pub kind: RequestKind,
    pub category_id: CategoryId,
}

impl Facts {
    pub fn of(r: &Request) -> Self {
        Self {
            received_at: r.received_at,
            closed_at: r.closed_at,
            due_at: r.due_at,
            rating: r.rating,
            lead_unit_id: r.lead_unit_id,
            town_id: r.location.town_id,
            kind: r.kind,
            category_id: r.category_id,
        }
    }

    /// The key of the request in each dimension.
    pub fn keys(&self) -> [(Dimension, String); 5] {
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            (Dimension::Total, String::new()),
            (Dimension::Unit, id(self.lead_unit_id)),
            (Dimension::Town, id(self.town_id)),
            (Dimension::Kind, self.kind.as_str().to_owned()),
            (Dimension::Category, self.category_id.to_string()),
        ]
    }

    /// What the request adds on each day: its receipt and, once closed, its close.
    pub fn by_day(&self) -> Vec<(NaiveDate, Measures)> {
        let mut out = vec![(day_of(&self.received_at), Measures { received: 1, ..Measures::default() })];
        if let Some(closed_at) = self.closed_at {
            let mut m = Measures { closed: 1, ..Measures::default() };
            if let Some(due) = self.due_at {
                m.closed_with_due = 1;
                m.closed_on_time = i64::from(closed_at <= due);
            }
            match self.rating {
                Some(Rating::VerySatisfied) => m.very_satisfied = 1,
                Some(Rating::Satisfied) => m.satisfied = 1,
                Some(Rating::FairlySatisfied) => m.fairly_satisfied = 1,
                Some(Rating::Dissatisfied) => m.dissatisfied = 1,
                Some(Rating::VeryDissatisfied) => m.very_dissatisfied = 1,
                None => {}
            }
            out.push((day_of(&closed_at), m));
        }
        out
    }
}

/// A rollup cell: (day, dimension, key).
pub type Cell = (NaiveDate, Dimension, String);

/// Adds (`sign` 1) or takes away (−1) what a request contributes to each cell.
pub fn add_cells(cells: &mut HashMap<Cell, Measures>, facts: &Facts, sign: i64) {
    let keys = facts.keys();
    for (day, measures) in facts.by_day() {
        for (dim, key) in &keys {
            let cell = cells.entry((day, *dim, key.clone())).or_default();
            if sign >= 0 { cell.add(&measures) } else { cell.subtract(&measures) }
        }
    }
}

/// What changing a request from `before` (none: a new request) to `after`
/// changes in each cell; cells that do not change are left out.
pub fn change(before: Option<&Facts>, after: &Facts) -> HashMap<Cell, Measures> {
    let mut cells = HashMap::new();
    if before == Some(after) {
        return cells;
    }
    add_cells(&mut cells, after, 1);
    if let Some(before) = before {
        add_cells(&mut cells, before, -1);
    }
    cells.retain(|_, m| !m.is_zero());
    cells
}

/// How the trend is drawn: a point per day, or per month for long periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Month,
}

/// Periods longer than this many days draw their trend by month.
pub const DAILY_TREND_MAX_DAYS: u64 = 92;

/// One point of the trend: the days it covers and their figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrendPoint {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One bar of a breakdown: the key (unit or town id, type code, category
/// id; `""` for none) and its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    pub key: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The dashboard of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub period: Period,
    pub options: ScoreOptions,
    pub totals: Figures,
    pub granularity: Granularity,
    pub trend: Vec<TrendPoint>,
    /// By lead unit (主办单位).
    pub units: Vec<Slice>,
    /// By town (镇街).
    pub towns: Vec<Slice>,
    /// By request type (类型).
    pub kinds: Vec<Slice>,
    /// By top-level category (一级分类).
    pub categories: Vec<Slice>,
}

/// What a store sums for a dashboard.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    /// Per (dimension, key) over the whole period.
    pub cells: BTreeMap<(Dimension, String), Measures>,
    /// The city's figures per day of the period (days without any left
    /// out); when the trend is drawn by month, a whole month's may stand on
    /// its first day.
    pub days: BTreeMap<NaiveDate, Measures>,
    /// Each category's parent, to fold leaves into top-level categories.
    pub category_parents: HashMap<CategoryId, Option<CategoryId>>,
}

impl Dashboard {
    pub fn build(period: Period, options: ScoreOptions, sums: &Sums) -> Self {
        let slices = |dim: Dimension| -> Vec<Slice> {
            let mut cells: BTreeMap<String, Measures> = BTreeMap::new();
            for ((d, key), m) in sums.cells.iter().filter(|((d, _), _)| *d == dim) {
                let key =
                    if *d == Dimension::Category { top_category(key, &sums.category_parents) } else { key.clone() };
                cells.entry(key).or_default().add(m);
            }
            let mut out: Vec<Slice> = cells
                .into_iter()
                .filter(|(_, m)| !m.is_zero())
                .map(|(key, m)| Slice { key, figures: m.figures(&options) })
                .collect();
            out.sort_by(|a, b| b.figures.received.cmp(&a.figures.received).then(a.key.cmp(&b.key)));
            out
        };
        let totals = sums.cells.get(&(Dimension::Total, String::new())).copied().unwrap_or_default();
        let (granularity, trend) = trend(&period, &options, &sums.days);
        Self {
            period,
            options,
            totals: totals.figures(&options),
            granularity,
            trend,
            units: slices(Dimension::Unit),
            towns: slices(Dimension::Town),
            kinds: slices(Dimension::Kind),
            categories: slices(Dimension::Category),
        }
    }
}

/// The top-level category of a leaf category's key (itself if unknown).
fn top_category(key: &str, parents: &HashMap<CategoryId, Option<CategoryId>>) -> String {
    let Ok(mut id) = key.parse::<CategoryId>() else { return key.to_owned() };
    for _ in 0..16 {
        match parents.get(&id) {
            Some(Some(parent)) => id = *parent,
            _ => break,
        }
    }
    id.to_string()
}

/// A point per day up to [`DAILY_TREND_MAX_DAYS`], else per month.
pub fn granularity(period: &Period) -> Granularity {
    let span = (period.to - period.from).num_days().unsigned_abs() + 1;
    if span > DAILY_TREND_MAX_DAYS { Granularity::Month } else { Granularity::Day }
}

/// The trend: `days` holds the city's figures per day, or for a trend by
/// month possibly a whole month's on its first day.
fn trend(
    period: &Period,
    options: &ScoreOptions,
    days: &BTreeMap<NaiveDate, Measures>,
) -> (Granularity, Vec<TrendPoint>) {
    let granularity = granularity(period);
    let mut points = Vec::new();
    let mut from = period.from;
    while from <= period.to {
        let to = match granularity {
            Granularity::Day => from,
            Granularity::Month => end_of_month(from).min(period.to),
        };
        let mut sum = Measures::default();
        for (_, m) in days.range(from..=to) {
            sum.add(m);
        }
        points.push(TrendPoint { from, to, figures: sum.figures(options) });
        let Some(next) = to.checked_add_days(Days::new(1)) else { break };
        from = next;
    }
    (granularity, points)
}

fn end_of_month(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day.with_day(1).and_then(|d| d.checked_add_months(chrono::Months::new(1))).and_then(|d| d.pred_opt()).unwrap_or(day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn facts() -> Facts {
        Facts {
            received_at: at("2026-03-02T09:00:00+08:00"),
            closed_at: None,
            due_at: Some(at("2026-03-09T17:30:00+08:00")),
            rating: None,
            lead_unit_id: None,
            town_id: Some(7),
            kind: RequestKind::Complaint,
            category_id: 12,
        }
    }

    #[test]
    fn a_change_moves_only_what_changed() {
        let new = change(None, &facts());
        assert_eq!(new.len(), 5);
        assert!(new.values().all(|m| m.received == 1 && m.closed == 0));

        let dispatched = Facts { lead_unit_id: Some(3), ..facts() };
        let moved = change(Some(&facts()), &dispatched);
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(moved.len(), 2);
        assert_eq!(moved[&(day, Dimension::Unit, String::new())].received, -1);
        assert_eq!(moved[&(day, Dimension::Unit, "3".into())].received, 1);

        let closed = Facts {
            closed_at: Some(at("2026-03-10T10:00:00+08:00")),
            rating: Some(Rating::Satisfied),
            ..dispatched.clone()
        };
        let close = change(Some(&dispatched), &closed);
        let close_day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let m = close[&(close_day, Dimension::Total, String::new())];
        assert_eq!((m.closed, m.closed_with_due, m.closed_on_time, m.satisfied), (1, 1, 0, 1));
        assert!(change(Some(&closed), &closed).is_empty());
    }

    #[test]
    fn the_dashboard_folds_categories_and_draws_long_trends_by_month() {
        let mut cells = HashMap::new();
        add_cells(&mut cells, &facts(), 1);
        add_cells(
            &mut cells,
            &Facts { category_id: 13, closed_at: Some(at("2026-04-01T10:00:00+08:00")), ..facts() },
            1,
        );
        let mut sums = Sums::default();
        for ((day, dim, key), m) in cells {
            sums.cells.entry((dim, key)).or_default().add(&m);
            if dim == Dimension::Total {
                sums.days.entry(day).or_default().add(&m);
            }
        }
        sums.category_parents = HashMap::from([(12, Some(10)), (13, Some(10)), (10, None)]);
        let period =
            Period::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())
                .unwrap();
        let d = Dashboard::build(period, ScoreOptions::default(), &sums);
        assert_eq!(
            (d.totals.received, d.totals.closed, d.totals.on_time.numerator, d.totals.on_time.denominator),
            (2, 1, 0, 1)
        );
        assert_eq!(d.categories.len(), 1);
        assert_eq!((d.categories[0].key.as_str(), d.categories[0].figures.received), ("10", 2));
        assert_eq!(d.granularity, Granularity::Month);
        assert_eq!(d.trend.len(), 4);
        assert_eq!((d.trend[0].figures.received, d.trend[1].figures.closed), (2, 1));
        assert_eq!(d.units[0].key, "");
    }
}
