//! The work calendar (工作日历): which days are working days, the daily
//! working hours, and deadline arithmetic on the natural clock, in working
//! days and in working hours.
//!
//! China's statutory holidays and make-up working days (调休) change every
//! year by a State Council General Office notice, so they are data
//! ([`BUNDLED_HOLIDAYS`], `data/holidays.toml`), never code. The calendar
//! refuses to answer for a year it has no data for (`calendar_year_not_covered`)
//! instead of guessing.
//!
//! All instants are handled in Asia/Shanghai, the fixed offset +08:00; inputs
//! in any other offset are converted first and every result is in +08:00.
//!
//! Everything here is pure. [`WorkCalendar`] precomputes a day table for the
//! covered years at construction, so every deadline is O(1) apart from a scan
//! of the (few) daily working periods.

mod data;
mod hours;
mod work;

pub use data::{BUNDLED_HOLIDAYS, HolidayYear, parse_holidays_toml};
pub use hours::WorkingHours;
pub use work::{
    Clock, CountedDeadline, DayKind, MAX_NATURAL_MINUTES, MAX_WORKING_DAYS, MAX_WORKING_HOURS, PROVISIONAL_YEARS,
    TimeLimit, WorkCalendar,
};

/// Stable error codes returned by this module.
pub mod codes {
    /// The holiday data is malformed or breaks a rule.
    pub const INVALID_CALENDAR: &str = "invalid_calendar";
    /// A date is both a holiday and a make-up working day.
    pub const CALENDAR_CONFLICT: &str = "calendar_conflict";
    /// A date does not exist or is not written as `YYYY-MM-DD`.
    pub const INVALID_DATE: &str = "invalid_date";
    /// The date (or the computed deadline) lies in a year without holiday data.
    pub const CALENDAR_YEAR_NOT_COVERED: &str = "calendar_year_not_covered";
    /// A time limit is negative or too large.
    pub const INVALID_TIME_LIMIT: &str = "invalid_time_limit";
    /// The daily working periods are empty, reversed or overlapping.
    pub const INVALID_WORKING_HOURS: &str = "invalid_working_hours";
}
