//! The statistics panel (数说): figures at a glance in the style of a
//! government report — each indicator's value for a cumulative period with
//! its year-on-year, real and two-year average growth, its share of its
//! total, the check that parts add up, and the card's sentence — all
//! computed by the domain (`mashangban_domain::statistics`) from the stored
//! values on each view.
//!
//! Use cases: the panel for a period (JSON, Excel), a value with its history,
//! entering or correcting one value, importing a statistics bureau's release
//! (.xlsx or CSV, every row checked, nothing written unless all are good, in
//! one transaction), the blank import template, and saving a data file (the
//! catalogue and values, the format of `data/statistics_demo.toml`).
//!
//! Access: all staff read (`ReadStatistics`); administrators keep the data
//! (`ManageStatistics`). Every write is checked against the data as read and
//! refused with `409 statistics_changed` if it changed meanwhile.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::statistics::{
    AddUpStatus, Catalog, Dataset, Indicator, IndicatorEdit, MAX_ROW_ERRORS, Period, RowError, StatRow, codes, columns,
    format_amount, format_percent, indicator_not_found, parse_statistics_toml,
};
use mashangban_domain::time::format_instant;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_sheet::{Cell, Column, Limits, Table};
use mashangban_store::{
    IndicatorChange, PublicationEntry, StatisticsAuthor, StatisticsChange, StatisticsData, StatisticsValue,
    StatisticsWrite, StatisticsWritten, Store,
};

use crate::error::{AppError, AppResult};
use crate::{App, Caller};

/// The largest release an import takes.
pub const IMPORT_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// Data rows an import reads at most.
pub const IMPORT_ROWS_MAX: u32 = 20_000;
/// The longest source (来源) and note (更正说明).
const SOURCE_MAX_CHARS: usize = 60;
const NOTE_MAX_CHARS: usize = 200;
/// The source column of imports and templates (the domain's columns are the other five).
pub const SOURCE_COLUMN: &str = "来源";
const IMPORT_COLUMNS: &[Column] = &[
    Column::required(columns::INDICATOR).aliases(&["指标名称", "指标编码"]),
    Column::required(columns::PERIOD).aliases(&["统计时期", "期别"]),
    Column::required(columns::VALUE).aliases(&["本期数", "本期值", "绝对值"]),
    Column::optional(columns::PRICE_INDEX).aliases(&["价格指数（上年同期=100）"]),
    Column::optional(columns::REAL_GROWTH).aliases(&["实际增长", "实际增速（%）"]),
    Column::optional(SOURCE_COLUMN).aliases(&["数据来源"]),
];

/// The statistics service: `app.statistics()`.
pub struct Statistics<'a, S> {
    app: &'a App<S>,
}

/// A period as the panel offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodView {
    /// `2021-Q3`, `2021-M05`.
    pub key: String,
    /// `2021年前三季度`.
    pub label: String,
}

impl PeriodView {
    fn of(period: Period) -> Self {
        Self { key: period.key(), label: period.to_string() }
    }
}

/// One point of a card's chart: the same span in an earlier or this year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PointView {
    pub period: PeriodView,
    pub value: f64,
    /// Year-on-year growth in percent, when the year before has a value.
    pub growth: Option<f64>,
}

/// One card of the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardView {
    pub indicator: String,
    pub name: String,
    pub unit: String,
    /// Decimals the value is printed with.
    pub decimals: u8,
    /// The value, unless only its rates are published.
    pub value: Option<f64>,
    /// The value as the report prints it: `2527.54`.
    pub value_text: Option<String>,
    /// Year-on-year growth in percent (unrounded; the sentence rounds to 0.1).
    pub growth: Option<f64>,
    pub real_growth: Option<f64>,
    pub two_year_average: Option<f64>,
    /// Share of `parent` in percent.
    pub share: Option<f64>,
    pub parent: Option<String>,
    /// "前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，两年平均增长5.1%。"
    pub sentence: String,
    pub source: Option<String>,
    pub entered_by: Option<String>,
    pub entered_at: Option<String>,
    /// The same span in each year held, oldest first (the chart).
    pub series: Vec<PointView>,
}

/// Whether a total's parts add up to it in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AddUpView {
    pub total: String,
    /// `consistent`, `mismatch`, `incomplete`.
    pub status: String,
    pub status_label: String,
    pub total_value: f64,
    pub parts_sum: f64,
    pub difference: f64,
    pub tolerance: f64,
    /// Names of the parts without a value.
    pub missing_parts: Vec<String>,
}

/// The panel (数说) for one period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PanelView {
    pub area: String,
    /// The period shown: the one asked for, else the latest held.
    pub period: Option<PeriodView>,
    /// Every period with a value, latest first.
    pub periods: Vec<PeriodView>,
    pub cards: Vec<CardView>,
    pub add_up: Vec<AddUpView>,
    /// The data set's version (send it back with a write to be told of changes meanwhile).
    pub version: i64,
}

/// An indicator of the catalogue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IndicatorView {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// The total it is a part of (its code).
    pub parent: Option<String>,
    pub source: Option<String>,
    /// Decimals printed, as set (none: the unit's default).
    pub decimals: Option<u8>,
    /// Decimals printed in effect.
    pub decimals_shown: u8,
    /// This total must equal the sum of its parts.
    pub sum_of_parts: bool,
    /// Values accumulate over the year, as set (none: yes except for `%`).
    pub cumulative: Option<bool>,
    /// Whether the card prints the value (false: only its rates are published).
    pub publish_value: bool,
    /// Whether the card states its share of its total.
    pub show_share: bool,
    /// The indicator's own version (send it back with a change; 0 before its first recorded change).
    pub version: i64,
}

impl IndicatorView {
    fn of(i: &Indicator, version: i64) -> Self {
        Self {
            code: i.code.clone(),
            name: i.name.clone(),
            unit: i.unit.clone(),
            parent: i.parent.clone(),
            source: i.source.clone(),
            decimals: i.decimals,
            decimals_shown: i.decimals(),
            sum_of_parts: i.sum_of_parts,
            cumulative: i.cumulative,
            publish_value: i.publish_value,
            show_share: i.show_share,
            version,
        }
    }
}

/// An indicator added to the catalogue (`code` required) or changed (`version` required; the code
/// cannot change). Texts are trimmed; an empty parent or source is none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorBody {
    /// Lower-case letters, digits, `_` and `-`, at most 64 (only when adding).
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub code: Option<String>,
    /// At most 60 characters, unique in the catalogue.
    #[serde(default)]
    #[schemars(length(max = 60))]
    pub name: String,
    /// `亿元`, `万元`, `元`, `%` … (at most 10 characters; a part has its total's unit).
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub unit: String,
    /// 0–4; none: 2 for amounts, 0 for 元, 1 for %.
    #[serde(default)]
    pub decimals: Option<u8>,
    /// The code of the total this indicator is a part of.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub sum_of_parts: bool,
    #[serde(default)]
    pub cumulative: Option<bool>,
    #[serde(default = "yes")]
    pub publish_value: bool,
    #[serde(default)]
    pub show_share: bool,
    #[serde(default)]
    #[schemars(length(max = 60))]
    pub source: Option<String>,
    /// The indicator's version the change was made on (required when changing).
    #[serde(default)]
    pub version: Option<i64>,
}

fn yes() -> bool {
    true
}

impl IndicatorBody {
    fn indicator(&self, code: &str) -> Indicator {
        let text = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        Indicator {
            code: code.trim().to_owned(),
            name: self.name.trim().to_owned(),
            unit: self.unit.trim().to_owned(),
            decimals: self.decimals,
            parent: text(&self.parent),
            sum_of_parts: self.sum_of_parts,
            cumulative: self.cumulative,
            publish_value: self.publish_value,
            show_share: self.show_share,
            source: text(&self.source),
        }
    }
}

/// One entry of an indicator's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IndicatorChangeView {
    pub version: i64,
    /// `added`, `changed`, `removed`.
    pub action: String,
    pub action_label: String,
    /// `editor` (指标目录维护) or `data_file` (统计数据文件).
    pub via: String,
    /// What changed, in Chinese: `名称：A → B；单位：亿元 → 万元`.
    pub summary: String,
    pub at: String,
    pub by: String,
}

/// An indicator with its history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IndicatorDetail {
    #[serde(flatten)]
    pub indicator: IndicatorView,
    /// Oldest first.
    pub history: Vec<IndicatorChangeView>,
}

/// A number given as a JSON number or as text (`"2,527.54"`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberText {
    Number(f64),
    Text(String),
}

impl NumberText {
    fn text(&self) -> String {
        match self {
            // Rust prints the shortest text that reads back as the same number, never an exponent.
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// One value entered or corrected in the form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    /// Indicator code or name.
    #[schemars(length(max = 64))]
    pub indicator: String,
    /// `2021-Q3`, `2021年前三季度`, `2021年1-9月` ….
    #[schemars(length(max = 32))]
    pub period: String,
    pub value: NumberText,
    /// Price index with the same period a year earlier = 100.
    #[serde(default)]
    pub price_index: Option<NumberText>,
    /// A published real growth rate in percent.
    #[serde(default)]
    pub real_growth: Option<NumberText>,
    #[serde(default)]
    #[schemars(length(max = 60))]
    pub source: Option<String>,
    /// Why a value is corrected (kept in its history).
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub note: Option<String>,
    /// The panel's version the value was entered on (`409 statistics_changed` if the data changed since).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A panel as the statistics office published it (公开发布): the snapshot the public pages show.
/// Who entered each value is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublishedPanel {
    pub area: String,
    pub period: PeriodView,
    pub cards: Vec<CardView>,
    pub add_up: Vec<AddUpView>,
}

/// A publication of a period's panel.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicationView {
    pub id: i64,
    pub period: PeriodView,
    /// The data set's version the snapshot was taken of.
    pub data_version: i64,
    pub published_at: String,
    pub by: String,
}

/// The public panel (`GET /api/v1/public/statistics`): the latest snapshot published of a period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicPanelView {
    #[serde(flatten)]
    pub panel: PublishedPanel,
    pub published_at: String,
    /// Every period published, latest first (the period selector).
    pub published_periods: Vec<PeriodView>,
}

/// One entry of a value's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeView {
    pub version: i64,
    /// `entered`, `imported`, `corrected`.
    pub action: String,
    pub action_label: String,
    pub value_before: Option<f64>,
    pub value: f64,
    pub price_index: Option<f64>,
    pub real_growth: Option<f64>,
    pub source: Option<String>,
    pub note: Option<String>,
    pub at: String,
    pub by: String,
}

/// A stored value with its history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ValueView {
    pub indicator: String,
    pub name: String,
    pub unit: String,
    pub period: PeriodView,
    pub value: f64,
    pub price_index: Option<f64>,
    pub real_growth: Option<f64>,
    pub source: Option<String>,
    pub version: i64,
    pub entered_at: String,
    pub entered_by: String,
    /// Oldest first.
    pub history: Vec<ChangeView>,
}

/// One refused cell of an import.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RowProblem {
    /// The row number as Excel shows it.
    pub row: u64,
    pub column: String,
    pub value: String,
    pub code: String,
    pub reason: String,
}

/// What an import or a data file did, or why nothing was written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportReport {
    /// Whether the values were written (only when no row has a problem).
    pub applied: bool,
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    pub problem_count: u64,
    /// At most 500.
    pub problems: Vec<RowProblem>,
    pub new: u64,
    pub corrected: u64,
    pub unchanged: u64,
}

impl ImportReport {
    fn refused(rows: u64, problems: Vec<RowProblem>) -> Self {
        let problem_count = problems.len() as u64;
        Self { applied: false, rows, problem_count, problems, new: 0, corrected: 0, unchanged: 0 }
    }

    fn written(rows: u64, written: StatisticsWritten) -> Self {
        Self {
            applied: true,
            rows,
            problem_count: 0,
            problems: Vec::new(),
            new: written.new,
            corrected: written.corrected,
            unchanged: written.unchanged,
        }
    }

    /// A one-line summary of the first problems, for messages.
    pub fn summary(&self) -> String {
        let first: Vec<String> =
            self.problems.iter().take(3).map(|p| format!("第{}行「{}」：{}", p.row, p.column, p.reason)).collect();
        format!("有{}处错误，全部未导入：{}", self.problem_count, first.join("；"))
    }
}

/// The stored data read into the domain's dataset.
struct Loaded {
    data: StatisticsData,
    dataset: Dataset,
}

impl Loaded {
    fn value(&self, indicator: &str, period: Period) -> Option<&StatisticsValue> {
        self.data.values.iter().find(|v| v.observation.indicator == indicator && v.observation.period == period)
    }
}

impl<'a, S: Store> Statistics<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The catalogue's indicators, in order.
    pub async fn indicators(&self) -> AppResult<Vec<IndicatorView>> {
        let data = self.app.store().statistics_data().await?;
        Ok(data.indicators.iter().map(|i| IndicatorView::of(i, data.indicator_version(&i.code))).collect())
    }

    /// One indicator with its history (`404 statistics_indicator_not_found`).
    pub async fn indicator(&self, code: &str) -> AppResult<IndicatorDetail> {
        let data = self.app.store().statistics_data().await?;
        let held = data.indicators.iter().find(|i| i.code == code).ok_or_else(|| indicator_not_found(code))?;
        let history = self.app.store().statistics_indicator_history(code).await?;
        Ok(IndicatorDetail {
            indicator: IndicatorView::of(held, data.indicator_version(code)),
            history: history.iter().map(indicator_change_view).collect(),
        })
    }

    /// Adds an indicator at the end of the catalogue (the first one makes the catalogue), checked
    /// with the editor's codes; recorded in its history.
    pub async fn add_indicator(&self, caller: &Caller, body: IndicatorBody) -> AppResult<IndicatorDetail> {
        caller.require(Permission::ManageStatistics)?;
        let code = body.code.as_deref().map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| {
            AppError::invalid(codes::INVALID_INDICATOR_CODE, "请填写指标编码（小写字母、数字、下划线或连字符）")
        })?;
        let indicator = body.indicator(code);
        self.edit_catalog(caller, IndicatorEdit::Add(indicator.clone()), None).await?;
        self.indicator(&indicator.code).await
    }

    /// Changes an indicator (everything but its code) if it is still at `body.version`
    /// (`409 statistics_indicator_changed`); recorded in its history with the definition before.
    pub async fn change_indicator(
        &self,
        caller: &Caller,
        code: &str,
        body: IndicatorBody,
    ) -> AppResult<IndicatorDetail> {
        caller.require(Permission::ManageStatistics)?;
        if body.code.as_deref().is_some_and(|c| c.trim() != code) {
            return Err(AppError::invalid(codes::INVALID_INDICATOR_CODE, "指标编码不能修改；如需新编码，请新增指标"));
        }
        let version =
            body.version.ok_or_else(|| AppError::invalid("version_required", "修改指标须带上读取时的版本号"))?;
        self.edit_catalog(caller, IndicatorEdit::Change(body.indicator(code)), Some(version)).await?;
        self.indicator(code).await
    }

    async fn edit_catalog(&self, caller: &Caller, edit: IndicatorEdit, version: Option<i64>) -> AppResult<i64> {
        let data = self.app.store().statistics_data().await?;
        if let IndicatorEdit::Change(changed) = &edit {
            if !data.indicators.iter().any(|i| i.code == changed.code) {
                return Err(indicator_not_found(&changed.code).into());
            }
            let current = data.indicator_version(&changed.code);
            if version.is_some_and(|v| v != current) {
                return Err(mashangban_store::indicator_changed(current).into());
            }
        }
        let catalog = Catalog::edited(&data.indicators, edit.clone())?;
        held_values_pass(&data, &data.area, catalog, "改动后的指标目录")?;
        let by = author(self.app, caller);
        Ok(self.app.store().edit_statistics_indicator(edit, version, data.version, by).await?)
    }

    /// The panel for `period` (a key or Chinese form), else for the latest period held.
    pub async fn panel(&self, period: Option<&str>) -> AppResult<PanelView> {
        let asked = period.map(str::trim).filter(|p| !p.is_empty()).map(Period::parse).transpose()?;
        let loaded = self.load().await?;
        let Some(dataset) = loaded.as_ref() else {
            return Ok(PanelView {
                area: String::new(),
                period: None,
                periods: Vec::new(),
                cards: Vec::new(),
                add_up: Vec::new(),
                version: 0,
            });
        };
        let periods = dataset.dataset.periods();
        let shown = asked.or_else(|| periods.iter().next_back().copied());
        if let Some(p) = asked.filter(|p| !periods.contains(p)) {
            return Err(AppError::not_found("statistics_period_not_found", format!("{p}还没有任何统计数值")));
        }
        Ok(PanelView {
            area: dataset.data.area.clone(),
            period: shown.map(PeriodView::of),
            periods: periods.iter().rev().map(|p| PeriodView::of(*p)).collect(),
            cards: shown.map(|p| cards(dataset, p)).unwrap_or_default(),
            add_up: shown.map(|p| add_up(&dataset.dataset, p)).unwrap_or_default(),
            version: dataset.data.version,
        })
    }

    /// Publishes the panel of `period` (a key or Chinese form) as it is now: its snapshot is what
    /// the public pages show until the period is published again. `404 statistics_period_not_found`
    /// for a period without values; `409 statistics_changed` if the data changed while it was taken
    /// or since the publisher saw it.
    /// `seen`: the data set's version the publisher looked at (the page's form), if any.
    pub async fn publish(&self, caller: &Caller, period: &str, seen: Option<i64>) -> AppResult<PublicationView> {
        caller.require(Permission::ManageStatistics)?;
        let period = Period::parse(period)?;
        let panel = self.panel(Some(&period.key())).await?;
        if seen.is_some_and(|v| v != panel.version) {
            return Err(mashangban_store::statistics_changed().into());
        }
        let snapshot = PublishedPanel {
            area: panel.area,
            period: PeriodView::of(period),
            cards: panel.cards.into_iter().map(|c| CardView { entered_by: None, entered_at: None, ..c }).collect(),
            add_up: panel.add_up,
        };
        let json = serde_json::to_string(&snapshot).map_err(|_| AppError::internal())?;
        let entry = self.app.store().publish_statistics(period, json, panel.version, author(self.app, caller)).await?;
        Ok(publication_view(&entry))
    }

    /// Every publication, newest first.
    pub async fn publications(&self) -> AppResult<Vec<PublicationView>> {
        Ok(self.app.store().statistics_publications().await?.iter().map(publication_view).collect())
    }

    /// The public panel: the latest snapshot published of `period`, or of the latest period published.
    /// `404 statistics_not_published` when there is none: nothing unpublished is ever shown.
    pub async fn public_panel(&self, period: Option<&str>) -> AppResult<PublicPanelView> {
        let asked = period.map(str::trim).filter(|p| !p.is_empty()).map(Period::parse).transpose()?;
        let not_published = || match asked {
            Some(p) => AppError::not_found("statistics_not_published", format!("{p}的统计数据尚未公开发布")),
            None => AppError::not_found("statistics_not_published", "统计数据尚未公开发布"),
        };
        let publication = self.app.store().statistics_publication(asked).await?.ok_or_else(not_published)?;
        let panel: PublishedPanel = serde_json::from_str(&publication.panel).map_err(|e| {
            tracing::error!(%e, "a published statistics panel does not read");
            AppError::internal()
        })?;
        let mut periods: Vec<Period> =
            self.app.store().statistics_publications().await?.iter().map(|p| p.period).collect();
        periods.sort_unstable_by(|a, b| b.cmp(a));
        periods.dedup();
        Ok(PublicPanelView {
            panel,
            published_at: format_instant(&publication.entry.published_at),
            published_periods: periods.into_iter().map(PeriodView::of).collect(),
        })
    }

    /// One stored value with its history (`404 statistics_value_not_found`).
    pub async fn value(&self, indicator: &str, period: &str) -> AppResult<ValueView> {
        let period = Period::parse(period)?;
        let loaded = self.load().await?.ok_or_else(value_not_found)?;
        let definition = loaded.dataset.catalog().find(indicator).ok_or_else(value_not_found)?.clone();
        let stored = loaded.value(&definition.code, period).ok_or_else(value_not_found)?;
        let history = self.app.store().statistics_history(&definition.code, period).await?;
        Ok(ValueView {
            indicator: definition.code.clone(),
            name: definition.name.clone(),
            unit: definition.unit.clone(),
            period: PeriodView::of(period),
            value: stored.observation.value,
            price_index: stored.observation.price_index,
            real_growth: stored.observation.real_growth,
            source: stored.source.clone(),
            version: stored.version,
            entered_at: format_instant(&stored.entered_at),
            entered_by: stored.entered_by.clone(),
            history: history.iter().map(change_view).collect(),
        })
    }

    /// Enters or corrects one value, checked as an imported row is (`422` with the domain's code).
    pub async fn enter(&self, caller: &Caller, body: EntryBody) -> AppResult<ValueView> {
        let source = bounded_text(body.source.as_deref(), SOURCE_MAX_CHARS, "invalid_source", "来源")?;
        let note = bounded_text(body.note.as_deref(), NOTE_MAX_CHARS, "invalid_note", "更正说明")?;
        let loaded = self.load().await?.ok_or_else(catalog_missing)?;
        if body.version.is_some_and(|v| v != loaded.data.version) {
            return Err(mashangban_store::statistics_changed().into());
        }
        let row = StatRow {
            row: 1,
            indicator: body.indicator.clone(),
            period: body.period.clone(),
            value: body.value.text(),
            price_index: body.price_index.as_ref().map(NumberText::text).unwrap_or_default(),
            real_growth: body.real_growth.as_ref().map(NumberText::text).unwrap_or_default(),
        };
        let observation = match loaded.dataset.check_rows(std::slice::from_ref(&row)) {
            Ok(mut checked) => checked.pop().ok_or_else(AppError::internal)?,
            Err(errors) => return Err(entry_error(&errors)),
        };
        let (code, period) = (observation.indicator.clone(), observation.period);
        let source = source.or_else(|| loaded.dataset.catalog().get(&code).and_then(|i| i.source.clone()));
        let write = StatisticsWrite { observation, source, note };
        self.app
            .store()
            .write_statistics_values(vec![write], false, loaded.data.version, author(self.app, caller))
            .await?;
        self.value(&code, &period.key()).await
    }

    /// Reads a release (.xlsx or CSV) and, only if every row passes, writes all of it in one
    /// transaction. A refused file answers the report with `applied = false` and every problem.
    pub async fn import(&self, caller: &Caller, bytes: &[u8]) -> AppResult<ImportReport> {
        let loaded = self.load().await?.ok_or_else(catalog_missing)?;
        let sheet = read_release(bytes)?;
        let rows = sheet.rows.len() as u64;
        if sheet.rows.is_empty() {
            return Err(AppError::invalid("no_rows", "文件中没有数据行"));
        }
        let stat_rows: Vec<StatRow> = sheet.rows.iter().map(|r| r.cells.clone()).collect();
        let mut problems = sheet.problems;
        let observations = match loaded.dataset.check_rows(&stat_rows) {
            Ok(observations) if problems.is_empty() => observations,
            Ok(_) => Vec::new(),
            Err(errors) => {
                problems.extend(errors.iter().map(problem));
                Vec::new()
            }
        };
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.row);
            problems.truncate(MAX_ROW_ERRORS);
            return Ok(ImportReport::refused(rows, problems));
        }
        // check_rows keeps the rows' order, so each observation has its row's source.
        let catalog = loaded.dataset.catalog();
        let writes = observations
            .into_iter()
            .zip(&sheet.rows)
            .map(|(observation, row)| {
                let default = catalog.get(&observation.indicator).and_then(|i| i.source.clone());
                StatisticsWrite { source: row.source.clone().or(default), observation, note: None }
            })
            .collect();
        let written = self
            .app
            .store()
            .write_statistics_values(writes, true, loaded.data.version, author(self.app, caller))
            .await?;
        Ok(ImportReport::written(rows, written))
    }

    /// Saves a data file (the format of `data/statistics_demo.toml`): its area, catalogue and values in one
    /// transaction. The values are checked under the file's catalogue together with the values held; if one
    /// fails, nothing is written (the report lists them, numbered through the file from 1).
    pub async fn save_data_file(&self, caller: &Caller, text: &str) -> AppResult<ImportReport> {
        let file = parse_statistics_toml(text)?;
        let held = self.app.store().statistics_data().await?;
        let dataset = held_values_pass(&held, file.area(), file.catalog().clone(), "文件中的指标目录")?;
        let rows: Vec<StatRow> = file
            .observations()
            .enumerate()
            .map(|(i, o)| StatRow {
                row: i + 1,
                indicator: o.indicator.clone(),
                period: o.period.key(),
                value: o.value.to_string(),
                price_index: o.price_index.map(|p| p.to_string()).unwrap_or_default(),
                real_growth: o.real_growth.map(|g| g.to_string()).unwrap_or_default(),
            })
            .collect();
        let count = rows.len() as u64;
        let observations = match dataset.check_rows(&rows) {
            Ok(observations) => observations,
            Err(errors) => return Ok(ImportReport::refused(count, errors.iter().map(problem).collect())),
        };
        let writes = observations
            .into_iter()
            .map(|o| StatisticsWrite {
                source: file.catalog().get(&o.indicator).and_then(|i| i.source.clone()),
                observation: o,
                note: None,
            })
            .collect();
        let indicators = file.catalog().indicators().to_vec();
        let by = author(self.app, caller);
        let written = self
            .app
            .store()
            .save_statistics_data_file(file.area().to_owned(), indicators, writes, held.version, by)
            .await?;
        Ok(ImportReport::written(count, written))
    }

    /// The blank import template: the columns an import reads, indicator names offered in a drop-down.
    pub async fn template(&self) -> AppResult<(String, Vec<u8>)> {
        let data = self.app.store().statistics_data().await?;
        let columns = vec![
            WriteColumn::text(columns::INDICATOR).required().choices(data.indicators.iter().map(|i| i.name.clone())),
            WriteColumn::text(format!("{}（如2021年前三季度、2021年1-5月）", columns::PERIOD)).required(),
            WriteColumn::new(columns::VALUE, Kind::Number).required(),
            WriteColumn::new(format!("{}（上年同期=100）", columns::PRICE_INDEX), Kind::Number),
            WriteColumn::new(format!("{}（%）", columns::REAL_GROWTH), Kind::Number),
            WriteColumn::text(SOURCE_COLUMN),
        ];
        let bytes = mashangban_sheet::write::template("统计数据", &columns).map_err(sheet_error)?;
        Ok(("数说统计数据导入模板.xlsx".into(), bytes))
    }

    /// The panel of a period as a workbook: one row per card with its rates and sentence.
    pub async fn export(&self, period: Option<&str>) -> AppResult<(String, Vec<u8>)> {
        let panel = self.panel(period).await?;
        let label = panel.period.as_ref().map_or_else(|| "暂无数据".to_owned(), |p| p.label.clone());
        let preamble = vec![
            format!("数说：{}{label}主要统计指标", panel.area),
            format!("导出时间：{}", format_instant(&self.app.now())),
        ];
        let columns = vec![
            WriteColumn::text("指标"),
            WriteColumn::text("时期"),
            WriteColumn::new("数值", Kind::Number),
            WriteColumn::text("单位"),
            WriteColumn::new("同比增长（%）", Kind::Number),
            WriteColumn::new("实际增长（%）", Kind::Number),
            WriteColumn::new("两年平均增长（%）", Kind::Number),
            WriteColumn::new("占比（%）", Kind::Number),
            WriteColumn::text("说明"),
        ];
        let mut export = Export::with_preamble("数说", &preamble, columns).map_err(sheet_error)?;
        for card in &panel.cards {
            let rate = |r: Option<f64>| r.map_or(Cell::Empty, |r| Cell::Number(round1(r)));
            export
                .push(&[
                    Cell::Text(card.name.clone()),
                    Cell::Text(label.clone()),
                    card.value_text.as_ref().and_then(|t| t.parse().ok()).map_or(Cell::Empty, Cell::Number),
                    Cell::Text(card.unit.clone()),
                    rate(card.growth),
                    rate(card.real_growth),
                    rate(card.two_year_average),
                    rate(card.share),
                    Cell::Text(card.sentence.clone()),
                ])
                .map_err(sheet_error)?;
        }
        let key = panel.period.map_or_else(|| "empty".to_owned(), |p| p.key);
        Ok((format!("数说-{key}.xlsx"), export.finish().map_err(sheet_error)?))
    }

    /// The stored data as the domain's dataset; `None` until a catalogue is saved.
    async fn load(&self) -> AppResult<Option<Loaded>> {
        let data = self.app.store().statistics_data().await?;
        if data.indicators.is_empty() {
            return Ok(None);
        }
        let mut dataset = Dataset::new(&data.area, Catalog::new(data.indicators.clone())?)?;
        let observations: Vec<_> = data.values.iter().map(|v| v.observation.clone()).collect();
        if let Err(errors) = dataset.load(&observations) {
            let first = errors.first().map(|e| e.reason.clone()).unwrap_or_default();
            tracing::error!(%first, "stored statistics fail the checks");
            return Err(AppError::new(
                crate::error::ErrorKind::Conflict,
                "statistics_inconsistent",
                format!("已存的统计数值未通过核对，请更正后再查看：{first}"),
            ));
        }
        Ok(Some(Loaded { data, dataset }))
    }
}

/// The data set of `catalog` with the values held loaded into it: `409 statistics_inconsistent` when
/// a held value fails the checks under it (`what` names the catalogue in the message).
fn held_values_pass(held: &StatisticsData, area: &str, catalog: Catalog, what: &str) -> AppResult<Dataset> {
    let mut dataset = Dataset::new(area, catalog)?;
    let values: Vec<_> = held.values.iter().map(|v| v.observation.clone()).collect();
    if let Err(errors) = dataset.load(&values) {
        let first = errors.first().map(|e| e.reason.clone()).unwrap_or_default();
        return Err(AppError::new(
            crate::error::ErrorKind::Conflict,
            "statistics_inconsistent",
            format!("已存的统计数值与{what}不符：{first}"),
        ));
    }
    Ok(dataset)
}

fn publication_view(entry: &PublicationEntry) -> PublicationView {
    PublicationView {
        id: entry.id,
        period: PeriodView::of(entry.period),
        data_version: entry.data_version,
        published_at: format_instant(&entry.published_at),
        by: entry.by_name.clone(),
    }
}

fn indicator_change_view(change: &IndicatorChange) -> IndicatorChangeView {
    IndicatorChangeView {
        version: change.version,
        action: change.action.as_str().into(),
        action_label: change.action.label().into(),
        via: change.via.clone(),
        summary: indicator_change_summary(change.before.as_ref(), change.after.as_ref()),
        at: format_instant(&change.at),
        by: change.by_name.clone(),
    }
}

/// What differs between two definitions, field by field in Chinese; the whole definition when added.
fn indicator_change_summary(before: Option<&Indicator>, after: Option<&Indicator>) -> String {
    let fields = |i: &Indicator| -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "无".into());
        let flag = |b: bool| if b { "是" } else { "否" }.to_owned();
        vec![
            ("名称", i.name.clone()),
            ("单位", i.unit.clone()),
            ("小数位", i.decimals().to_string()),
            ("上级指标", opt(&i.parent)),
            ("各部分之和", flag(i.sum_of_parts)),
            ("累计值", flag(i.is_cumulative())),
            ("显示数值", flag(i.publish_value)),
            ("显示比重", flag(i.show_share)),
            ("来源", opt(&i.source)),
        ]
    };
    match (before, after) {
        (Some(b), Some(a)) => {
            let changed: Vec<String> = fields(b)
                .into_iter()
                .zip(fields(a))
                .filter(|((_, x), (_, y))| x != y)
                .map(|((name, x), (_, y))| format!("{name}：{x} → {y}"))
                .collect();
            if changed.is_empty() { "无变化".into() } else { changed.join("；") }
        }
        (None, Some(a)) | (Some(a), None) => {
            fields(a).into_iter().map(|(name, v)| format!("{name}：{v}")).collect::<Vec<_>>().join("；")
        }
        (None, None) => String::new(),
    }
}

fn cards(loaded: &Loaded, period: Period) -> Vec<CardView> {
    let dataset = &loaded.dataset;
    let years: Vec<Period> =
        dataset.periods().into_iter().filter(|p| p.months == period.months && p.year <= period.year).collect();
    dataset
        .cards(period)
        .into_iter()
        .map(|card| {
            let definition = dataset.catalog().get(&card.indicator);
            let decimals = definition.map_or(2, Indicator::decimals);
            let stored = loaded.value(&card.indicator, period);
            let series = years
                .iter()
                .filter_map(|p| {
                    let value = dataset.value(&card.indicator, *p)?;
                    Some(PointView { period: PeriodView::of(*p), value, growth: dataset.growth(&card.indicator, *p) })
                })
                .collect();
            CardView {
                decimals,
                value: card.publish_value.then_some(card.value),
                value_text: card.publish_value.then(|| format_amount(card.value, decimals)),
                growth: card.growth,
                real_growth: card.real_growth,
                two_year_average: card.two_year_average,
                share: card.share.filter(|_| definition.is_some_and(|d| d.show_share)),
                parent: card.parent_name.clone(),
                source: stored.and_then(|s| s.source.clone()),
                entered_by: stored.map(|s| s.entered_by.clone()),
                entered_at: stored.map(|s| format_instant(&s.entered_at)),
                series,
                indicator: card.indicator,
                name: card.name,
                unit: card.unit,
                sentence: card.sentence,
            }
        })
        .collect()
}

fn add_up(dataset: &Dataset, period: Period) -> Vec<AddUpView> {
    let name = |code: &str| dataset.catalog().get(code).map_or_else(|| code.to_owned(), |i| i.name.clone());
    dataset
        .add_up_checks()
        .into_iter()
        .filter(|c| c.period == period)
        .map(|c| {
            let (status, status_label) = match c.status {
                AddUpStatus::Consistent => ("consistent", "各部分之和与总量一致"),
                AddUpStatus::Mismatch => ("mismatch", "各部分之和与总量不符，请核对"),
                AddUpStatus::Incomplete => ("incomplete", "部分下级指标暂无数值"),
            };
            AddUpView {
                total: name(&c.total),
                status: status.into(),
                status_label: status_label.into(),
                total_value: c.total_value,
                parts_sum: c.parts_sum,
                difference: c.difference,
                tolerance: c.tolerance,
                missing_parts: c.missing_parts.iter().map(|p| name(p)).collect(),
            }
        })
        .collect()
}

fn change_view(change: &StatisticsChange) -> ChangeView {
    ChangeView {
        version: change.version,
        action: change.action.as_str().into(),
        action_label: change.action.label().into(),
        value_before: change.before.as_ref().map(|b| b.value),
        value: change.after.value,
        price_index: change.after.price_index,
        real_growth: change.after.real_growth,
        source: change.source.clone(),
        note: change.note.clone(),
        at: format_instant(&change.at),
        by: change.by_name.clone(),
    }
}

fn author<S: Store>(app: &App<S>, caller: &Caller) -> StatisticsAuthor {
    StatisticsAuthor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
        at: app.now(),
    }
}

fn round1(value: f64) -> f64 {
    format_percent(value).parse().unwrap_or(value)
}

fn problem(e: &RowError) -> RowProblem {
    RowProblem {
        row: e.row as u64,
        column: e.column.into(),
        value: e.value.clone(),
        code: e.code.into(),
        reason: e.reason.clone(),
    }
}

/// A refused entry: the first problem's code, every problem in the message.
fn entry_error(errors: &[RowError]) -> AppError {
    let code = errors.first().map_or(codes::INVALID_NUMBER, |e| e.code);
    let reasons: Vec<String> = errors.iter().map(|e| format!("「{}」{}", e.column, e.reason)).collect();
    AppError::invalid(code, reasons.join("；"))
}

fn bounded_text(text: Option<&str>, max: usize, code: &'static str, what: &str) -> AppResult<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(AppError::invalid(code, format!("{what}不能超过{max}个字，也不能含控制字符")));
    }
    Ok(Some(text.to_owned()))
}

fn value_not_found() -> AppError {
    AppError::not_found("statistics_value_not_found", "没有这个指标在该时期的数值")
}

fn catalog_missing() -> AppError {
    AppError::new(
        crate::error::ErrorKind::Conflict,
        "statistics_catalog_missing",
        "还没有指标目录：请先上传统计数据文件（指标目录）",
    )
}

fn sheet_error(e: mashangban_sheet::SheetError) -> AppError {
    AppError::from(mashangban_domain::DomainError::from(e))
}

/// A data row of a release: the domain's cells and the optional source.
struct ReleaseRow {
    cells: StatRow,
    source: Option<String>,
}

struct Release {
    rows: Vec<ReleaseRow>,
    problems: Vec<RowProblem>,
}

fn limits() -> Limits {
    Limits::default()
        .file_bytes(IMPORT_LIMIT_BYTES as u64)
        .part_bytes(64 * 1024 * 1024)
        .rows(IMPORT_ROWS_MAX + 10)
        .columns(60)
}

/// Reads the release's rows under its header (found by the column names, a title row may come first).
fn read_release(bytes: &[u8]) -> AppResult<Release> {
    let rows = mashangban_sheet::open(bytes, &limits()).map_err(sheet_error)?;
    let table = Table::new(rows, IMPORT_COLUMNS).map_err(sheet_error)?;
    let mut release = Release { rows: Vec::new(), problems: Vec::new() };
    for record in table {
        let record = record.map_err(sheet_error)?;
        let text = |column: &str| record.text(column).unwrap_or_default();
        let cells = StatRow {
            row: record.row() as usize,
            indicator: text(columns::INDICATOR),
            period: text(columns::PERIOD),
            value: text(columns::VALUE),
            price_index: text(columns::PRICE_INDEX),
            real_growth: text(columns::REAL_GROWTH),
        };
        if [&cells.indicator, &cells.period, &cells.value].iter().all(|t| t.is_empty())
            && record.text(SOURCE_COLUMN).is_none()
        {
            continue;
        }
        if release.rows.len() >= IMPORT_ROWS_MAX as usize {
            return Err(AppError::invalid(
                mashangban_sheet::codes::TOO_MANY_ROWS,
                format!("一次最多导入{IMPORT_ROWS_MAX}行，请分批导入"),
            ));
        }
        let source = record.text(SOURCE_COLUMN);
        let bad_source = |s: &&str| s.chars().count() > SOURCE_MAX_CHARS || s.chars().any(char::is_control);
        if let Some(s) = source.as_deref().filter(bad_source)
            && release.problems.len() < MAX_ROW_ERRORS
        {
            release.problems.push(RowProblem {
                row: u64::from(record.row()),
                column: SOURCE_COLUMN.into(),
                value: s.chars().take(40).collect(),
                code: "invalid_source".into(),
                reason: format!("来源不能超过{SOURCE_MAX_CHARS}个字，也不能含控制字符"),
            });
        }
        release.rows.push(ReleaseRow { cells, source });
    }
    Ok(release)
}
