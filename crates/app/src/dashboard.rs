//! The leader dashboard (领导驾驶舱): the city's figures over a period, the
//! trend and the breakdowns by lead unit, town, type and top-level category,
//! summed from the store's rollups, with names for their keys. Definitions:
//! `mashangban_domain::dashboard` and `docs/pages.md`.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::dashboard::{Dashboard, Figures, Granularity, Slice, TrendPoint};
use mashangban_domain::org::OrgTree;
use mashangban_domain::request::RequestKind;
use mashangban_domain::scoring::{Period, ScoreOptions};
use mashangban_store::{Category, DashboardQuery, Store};

use crate::App;
use crate::error::AppResult;
use crate::scoring::{parse_date, period, unknown_parameter};

/// The dashboard service: `app.dashboard()`.
pub struct Dashboards<'a, S> {
    app: &'a App<S>,
}

/// The dashboard with names: what the API answers and the page draws.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DashboardView {
    pub period: Period,
    pub fairly_satisfied_counts: bool,
    pub totals: Figures,
    pub granularity: Granularity,
    pub trend: Vec<TrendPoint>,
    /// By lead unit (主办单位); code `""`: not dispatched yet.
    pub units: Vec<SliceView>,
    /// By town (镇街); code `""`: no town given.
    pub towns: Vec<SliceView>,
    /// By request type (类型).
    pub kinds: Vec<SliceView>,
    /// By top-level category (一级分类).
    pub categories: Vec<SliceView>,
}

/// One bar of a breakdown, named.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SliceView {
    /// Unit, town or category code, or the type's code; `""` for none.
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The dashboard rollups rebuilt.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct DashboardRebuild {
    pub requests: u64,
    /// Rows of (day, dimension, key) written.
    pub day_rows: u64,
    /// Rows of (month, dimension, key) written.
    pub month_rows: u64,
}

impl<'a, S: Store> Dashboards<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The default options (whether 基本满意 counts as satisfied).
    pub fn options(&self) -> ScoreOptions {
        self.app.settings().score_options()
    }

    /// Reads `from`, `to` (required) and `fairly_satisfied_counts`.
    pub fn query(&self, params: &HashMap<String, String>) -> AppResult<DashboardQuery> {
        let (mut from, mut to) = (None, None);
        let mut options = self.options();
        for (key, value) in params {
            let value = value.trim();
            match key.as_str() {
                "from" => from = Some(parse_date(key, value)?),
                "to" => to = Some(parse_date(key, value)?),
                "fairly_satisfied_counts" => options.fairly_satisfied_counts = crate::input::parse_bool(key, value)?,
                other => return Err(unknown_parameter(other)),
            }
        }
        Ok(DashboardQuery { period: period(from, to)?, options })
    }

    /// The dashboard of a period, named.
    pub async fn view(&self, query: DashboardQuery) -> AppResult<DashboardView> {
        let d = self.app.store().dashboard(query).await?;
        Ok(DashboardView::new(&d, &self.app.caches().org(), &self.app.caches().categories()))
    }

    /// Recomputes the rollups from the requests.
    pub async fn rebuild(&self) -> AppResult<DashboardRebuild> {
        let r = self.app.store().rebuild_dashboard().await?;
        Ok(DashboardRebuild { requests: r.requests, day_rows: r.day_rows, month_rows: r.month_rows })
    }
}

impl DashboardView {
    fn new(d: &Dashboard, org: &OrgTree, categories: &[Category]) -> Self {
        let unit = |key: &str, none: &str| -> (String, String) {
            match key.parse().ok().and_then(|id| org.get(id)) {
                Some(u) => (u.code.clone(), u.display_name().to_owned()),
                None if key.is_empty() => (String::new(), none.to_owned()),
                None => (key.to_owned(), format!("单位{key}")),
            }
        };
        let kind = |key: &str| (key.to_owned(), RequestKind::parse(key).map_or(key, |k| k.label()).to_owned());
        let category = |key: &str| match categories.iter().find(|c| c.id.to_string() == key) {
            Some(c) => (c.code.clone(), c.name.clone()),
            None => (key.to_owned(), format!("分类{key}")),
        };
        Self {
            period: d.period,
            fairly_satisfied_counts: d.options.fairly_satisfied_counts,
            totals: d.totals,
            granularity: d.granularity,
            trend: d.trend.clone(),
            units: named(&d.units, |k| unit(k, "未派单")),
            towns: named(&d.towns, |k| unit(k, "未填镇街")),
            kinds: named(&d.kinds, kind),
            categories: named(&d.categories, category),
        }
    }
}

fn named(slices: &[Slice], name: impl Fn(&str) -> (String, String)) -> Vec<SliceView> {
    slices
        .iter()
        .map(|s| {
            let (code, name) = name(&s.key);
            SliceView { code, name, figures: s.figures }
        })
        .collect()
}
