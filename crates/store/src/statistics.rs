//! Storage of the statistics panel (数说): the indicator catalogue (指标目录)
//! and the values by indicator and cumulative period (统计数值), each with an
//! append-only history of its changes. A corrected value keeps the old one in
//! its history row, written in the correction's transaction.
//!
//! Rows are checked by the domain (`mashangban_domain::statistics`) before
//! they get here; the store guards the whole data set with one version
//! number, bumped by every write, so that a write checked against data that
//! changed meanwhile is refused (`409 statistics_changed`) instead of
//! slipping past the checks (a cumulative value falling, say).

use std::future::Future;

use serde::Serialize;

use mashangban_domain::DomainError;
use mashangban_domain::org::UserId;
use std::collections::BTreeMap;

use mashangban_domain::statistics::{Indicator, IndicatorEdit, Observation, Period};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A stored value (统计数值) and who last entered it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticsValue {
    pub observation: Observation,
    /// Where the figure comes from (a release, a department), if stated.
    pub source: Option<String>,
    /// 1 when first entered, bumped by each correction.
    pub version: i64,
    pub entered_at: Instant,
    pub entered_by: String,
}

/// Everything the panel is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatisticsData {
    /// The area every card speaks of, e.g. `全市`.
    pub area: String,
    /// The catalogue in its order; empty until one is saved.
    pub indicators: Vec<Indicator>,
    pub values: Vec<StatisticsValue>,
    /// Bumped by every write; a write names the version it was checked against.
    pub version: i64,
    /// Each indicator's own version: how many changes its history holds (absent: none yet).
    pub indicator_versions: BTreeMap<String, i64>,
}

impl StatisticsData {
    /// An indicator's version (0 before its first recorded change).
    pub fn indicator_version(&self, code: &str) -> i64 {
        self.indicator_versions.get(code).copied().unwrap_or(0)
    }
}

/// What a change did to an indicator of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorAction {
    Added,
    Changed,
    Removed,
}

impl IndicatorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Changed => "changed",
            Self::Removed => "removed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "新增",
            Self::Changed => "修改",
            Self::Removed => "删除",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Added, Self::Changed, Self::Removed].into_iter().find(|a| a.as_str() == s)
    }
}

/// One entry of an indicator's history (append-only): the definition before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorChange {
    pub code: String,
    /// The indicator's version this entry made (from 1).
    pub version: i64,
    pub action: IndicatorAction,
    /// `editor` (the catalogue editor) or `data_file`.
    pub via: String,
    pub before: Option<Indicator>,
    pub after: Option<Indicator>,
    pub at: Instant,
    pub by_name: String,
    pub by_user_id: Option<UserId>,
}

/// A published panel (公开发布) without its snapshot: which period, from which data, who, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicationEntry {
    pub id: i64,
    pub period: Period,
    /// The data set's version the snapshot was computed from.
    pub data_version: i64,
    pub published_at: Instant,
    pub by_name: String,
    pub by_user_id: Option<UserId>,
}

/// A published panel with its snapshot (JSON, as the app made it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsPublication {
    pub entry: PublicationEntry,
    pub panel: String,
}

/// How a value came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatisticsAction {
    /// Entered in the form, first time.
    Entered,
    /// Imported from a release, first time.
    Imported,
    /// A value held before was replaced (from either).
    Corrected,
}

impl StatisticsAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Imported => "imported",
            Self::Corrected => "corrected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Entered => "录入",
            Self::Imported => "导入",
            Self::Corrected => "更正",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Entered, Self::Imported, Self::Corrected].into_iter().find(|a| a.as_str() == s)
    }
}

/// One value to write: created, or replacing the one held for its indicator and period.
#[derive(Debug, Clone, PartialEq)]
pub struct StatisticsWrite {
    pub observation: Observation,
    pub source: Option<String>,
    /// Why it was corrected, if said.
    pub note: Option<String>,
}

/// Who writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsAuthor {
    pub user_id: Option<UserId>,
    /// As shown in the history: `name（role）`.
    pub name: String,
    pub at: Instant,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StatisticsWritten {
    pub new: u64,
    pub corrected: u64,
    /// Rows equal to what is held: nothing written for them, no history.
    pub unchanged: u64,
    /// The data set's version after the write.
    pub version: i64,
}

/// One entry of a value's history (append-only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticsChange {
    pub indicator: String,
    pub period: Period,
    /// The value's version this entry made.
    pub version: i64,
    pub action: StatisticsAction,
    /// The values held before (none when first entered).
    pub before: Option<Observation>,
    pub after: Observation,
    pub source: Option<String>,
    pub note: Option<String>,
    pub at: Instant,
    pub by_name: String,
    pub by_user_id: Option<UserId>,
}

pub trait StatisticsStore {
    /// Saves the area and the catalogue (in this order), replacing those held. The
    /// catalogue must pass `Catalog::new`; an indicator that has values may
    /// not be left out (`409 indicator_in_use`). Bumps the version.
    fn save_statistics_catalog(
        &self,
        area: String,
        indicators: Vec<Indicator>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// The catalogue, every value and the version, read in one snapshot.
    fn statistics_data(&self) -> impl Future<Output = StoreResult<StatisticsData>> + Send;

    /// Writes values, each with a history entry, all in one transaction, if the
    /// data set is still at `expected_version` (`409 statistics_changed`); an
    /// indicator not in the catalogue is refused (`422 unknown_indicator`).
    /// Rows equal to the held value are left alone.
    fn write_statistics_values(
        &self,
        writes: Vec<StatisticsWrite>,
        imported: bool,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> impl Future<Output = StoreResult<StatisticsWritten>> + Send;

    /// Saves a data file in one transaction: the area and catalogue as
    /// [`StatisticsStore::save_statistics_catalog`], then its values as
    /// [`StatisticsStore::write_statistics_values`] (imported). Nothing is kept if either is refused.
    fn save_statistics_data_file(
        &self,
        area: String,
        indicators: Vec<Indicator>,
        writes: Vec<StatisticsWrite>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> impl Future<Output = StoreResult<StatisticsWritten>> + Send;

    /// Adds or changes one indicator of the catalogue with its history entry, in one transaction,
    /// if the data set is still at `expected_version` (`409 statistics_changed`) and a changed
    /// indicator still at `indicator_version` (`409 statistics_indicator_changed`). The catalogue
    /// after the edit must pass `Catalog::edited` (422 with its codes). Answers the indicator's new
    /// version. Bumps the data set's version.
    fn edit_statistics_indicator(
        &self,
        edit: IndicatorEdit,
        indicator_version: Option<i64>,
        expected_version: i64,
        author: StatisticsAuthor,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// The history of one indicator of the catalogue, oldest first.
    fn statistics_indicator_history(
        &self,
        code: &str,
    ) -> impl Future<Output = StoreResult<Vec<IndicatorChange>>> + Send;

    /// Stores a published panel of `period`, computed from the data at `data_version`, if the data
    /// set is still there (`409 statistics_changed`). Older publications are kept.
    fn publish_statistics(
        &self,
        period: Period,
        panel: String,
        data_version: i64,
        author: StatisticsAuthor,
    ) -> impl Future<Output = StoreResult<PublicationEntry>> + Send;

    /// Every publication, newest first (without the snapshots).
    fn statistics_publications(&self) -> impl Future<Output = StoreResult<Vec<PublicationEntry>>> + Send;

    /// The latest publication of `period`, or of the latest period published when `None`.
    fn statistics_publication(
        &self,
        period: Option<Period>,
    ) -> impl Future<Output = StoreResult<Option<StatisticsPublication>>> + Send;

    /// The history of one value, oldest first.
    fn statistics_history(
        &self,
        indicator: &str,
        period: Period,
    ) -> impl Future<Output = StoreResult<Vec<StatisticsChange>>> + Send;
}

pub fn statistics_changed() -> DomainError {
    DomainError::conflict("statistics_changed", "统计数据刚被他人修改，请刷新后重新核对再提交")
}

pub fn indicator_changed(current: i64) -> DomainError {
    DomainError::conflict(
        "statistics_indicator_changed",
        format!("该指标刚被他人修改（现为第{current}版），请刷新后再改"),
    )
}

pub fn indicator_in_use(name: &str) -> DomainError {
    DomainError::conflict("indicator_in_use", format!("指标“{name}”已有数值，不能从指标目录中删除"))
}

pub fn unknown_indicator(code: &str) -> DomainError {
    let shown: String = code.chars().filter(|c| !c.is_control()).take(40).collect();
    DomainError::invalid(
        mashangban_domain::statistics::codes::UNKNOWN_INDICATOR,
        format!("指标目录中没有指标“{shown}”"),
    )
}
