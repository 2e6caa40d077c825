//! Environmental limits as data (环境标准限值): the bundled water standards
//! (GB 3838-2002 surface water classes Ⅰ–Ⅴ, GB 8978-1996 integrated
//! wastewater discharge grades 1–3, `data/water_standards.toml`), the
//! classification of a water sample ([`classify_water`]) and the check of a
//! discharge reading against the grade that applies to its point, with the
//! point's permit overrides ([`check_discharge`]).
//!
//! Everything here is pure; limits are never code.

mod assess;
mod standard;

pub use assess::{
    Exceedance, ItemClass, LimitOverride, LimitSource, Measurement, WaterAssessment, WaterClass, check_discharge,
    classify_water, limit_for,
};
pub use standard::{
    BUNDLED_STANDARDS, Grade, Limit, Parameter, Standard, StandardKind, Unit, WaterBody, bundled_standards,
    parse_standards_toml,
};

/// The bundled GB 3838-2002 code.
pub const GB_3838_2002: &str = "GB 3838-2002";
/// The bundled GB 8978-1996 code.
pub const GB_8978_1996: &str = "GB 8978-1996";

/// Stable error codes returned by this module.
pub mod codes {
    /// The standards data is malformed or breaks a rule.
    pub const INVALID_STANDARD: &str = "invalid_standard";
    /// A measured value is not a finite number.
    pub const INVALID_VALUE: &str = "invalid_value";
    /// A grade or class does not exist in the standard.
    pub const UNKNOWN_GRADE: &str = "unknown_grade";
    /// The standard is of the wrong kind for the operation.
    pub const WRONG_STANDARD_KIND: &str = "wrong_standard_kind";
    /// No measurement of the sample is an item of the standard.
    pub const NOTHING_ASSESSED: &str = "nothing_assessed";
}
