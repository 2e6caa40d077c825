//! Figures at a glance (数说): statistical indicators by cumulative period,
//! their year-on-year, real and two-year average growth, shares, the check
//! that parts add up to their total, and each card's sentence in the style
//! of a government report ("前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，…").
//!
//! The catalogue ([`Catalog`]) names each indicator, its unit and the total
//! it is part of; a [`Dataset`] holds values by indicator and [`Period`]
//! (a year and a span from January). Values come from a data file
//! ([`parse_statistics_toml`], the demo in `data/statistics_demo.toml`) or
//! from a statistics bureau's release row by row ([`Dataset::import`]): every
//! row is checked and nothing is kept unless all are good. Everything is pure.

mod card;
mod catalog;
mod compute;
mod dataset;
mod period;

pub use card::{AddUpCheck, AddUpStatus, Card};
pub use catalog::{Catalog, Indicator, IndicatorEdit, MAX_INDICATORS, indicator_not_found};
pub use compute::{
    add_up_tolerance, format_amount, format_percent, growth_percent, growth_phrase, real_growth_percent, share_percent,
    two_year_average_percent,
};
pub use dataset::{
    BUNDLED_STATISTICS, Dataset, MAX_ROW_ERRORS, MAX_ROWS, MAX_STATISTICS_BYTES, Observation, RowError, StatRow,
    columns, parse_statistics_toml,
};
pub use period::Period;

/// Stable error codes returned by this module.
pub mod codes {
    /// The data file is malformed (syntax, area, too large).
    pub const INVALID_STATISTICS: &str = "invalid_statistics";
    /// The indicator catalogue breaks a rule (codes, names, units, parents).
    pub const INVALID_INDICATOR_CATALOG: &str = "invalid_indicator_catalog";
    /// A row names an indicator the catalogue does not have.
    pub const UNKNOWN_INDICATOR: &str = "unknown_indicator";
    /// A period cannot be read.
    pub const INVALID_PERIOD: &str = "invalid_period";
    /// A cell is not a number, or out of range.
    pub const INVALID_NUMBER: &str = "invalid_number";
    /// The same indicator and period appear twice.
    pub const DUPLICATE_VALUE: &str = "duplicate_value";
    /// A cumulative value falls as the span grows: the periods are mixed up.
    pub const PERIOD_OUT_OF_ORDER: &str = "period_out_of_order";
    /// The editor's refusals of one indicator (422), each rule its own code.
    pub const INVALID_INDICATOR_CODE: &str = "invalid_indicator_code";
    pub const INVALID_INDICATOR_NAME: &str = "invalid_indicator_name";
    pub const INVALID_INDICATOR_UNIT: &str = "invalid_indicator_unit";
    pub const INVALID_INDICATOR_SOURCE: &str = "invalid_indicator_source";
    pub const INVALID_INDICATOR_DECIMALS: &str = "invalid_indicator_decimals";
    /// An indicator's code is taken.
    pub const DUPLICATE_INDICATOR: &str = "duplicate_indicator";
    /// An indicator's name is taken (imports find indicators by name).
    pub const DUPLICATE_INDICATOR_NAME: &str = "duplicate_indicator_name";
    /// The total an indicator names is not in the catalogue.
    pub const UNKNOWN_PARENT_INDICATOR: &str = "unknown_parent_indicator";
    /// A part's unit differs from its total's (no share could be taken).
    pub const PARENT_UNIT_MISMATCH: &str = "parent_unit_mismatch";
    /// The parts relation would loop (an indicator its own ancestor).
    pub const INDICATOR_CYCLE: &str = "indicator_cycle";
    /// A total declared the sum of its parts has none.
    pub const TOTAL_WITHOUT_PARTS: &str = "total_without_parts";
    /// No indicator with this code (404).
    pub const INDICATOR_NOT_FOUND: &str = "statistics_indicator_not_found";
    /// More rows than one import takes.
    pub const TOO_MANY_ROWS: &str = "too_many_rows";
}

#[cfg(test)]
mod tests;
