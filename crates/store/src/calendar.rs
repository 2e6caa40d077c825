//! The work calendar (工作日历) as stored data: holidays and make-up working
//! days per year, replaced a year at a time, every change recorded.

use std::future::Future;

use serde::Serialize;

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::{HolidayYear, WorkingHours, codes};
use mashangban_domain::org::{Actor, UserId};
use mashangban_domain::time::{Instant, format_instant, parse_instant};

use crate::{Meta, StoreError, StoreResult};

/// Storage of the work calendar: the holiday years, the daily working hours
/// and the append-only record of every change to them.
pub trait CalendarStore {
    /// Every stored holiday year, sorted by year; empty before the first seed.
    fn calendar_years(&self) -> impl Future<Output = StoreResult<Vec<HolidayYear>>> + Send;

    /// A summary of every stored year, sorted by year.
    fn calendar_year_infos(&self) -> impl Future<Output = StoreResult<Vec<CalendarYearInfo>>> + Send;

    /// The stored working hours; `None` before any were stored.
    fn calendar_working_hours(&self) -> impl Future<Output = StoreResult<Option<WorkingHours>>> + Send;

    /// In one transaction, stores `years` if no year is stored yet and
    /// `hours` if no working hours are, recording each as a change. Returns
    /// whether anything was written (a second call writes nothing).
    fn seed_calendar(
        &self,
        years: Vec<HolidayYear>,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Replaces each given year entirely (notice, holidays, make-up days) in
    /// one transaction, recording one change per year with its previous
    /// content. Every year must pass [`HolidayYear::validate`], appear once,
    /// and the stored years must stay contiguous; otherwise nothing changes.
    fn replace_calendar_years(
        &self,
        years: Vec<HolidayYear>,
        author: CalendarAuthor,
    ) -> impl Future<Output = StoreResult<Vec<CalendarChange>>> + Send;

    /// Replaces the working hours, recording the change.
    fn set_calendar_working_hours(
        &self,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> impl Future<Output = StoreResult<CalendarChange>> + Send;

    /// The recorded changes, newest first, at most `limit`.
    fn calendar_changes(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<CalendarChange>>> + Send;
}

/// One stored year at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarYearInfo {
    pub year: i32,
    /// The notice reference (通知文号), e.g. `国办发明电〔2025〕7号`.
    pub notice: Option<String>,
    pub holidays: usize,
    pub makeup_workdays: usize,
    pub updated_at: Instant,
}

mashangban_domain::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "snake_case")]
    /// The form a calendar change came in.
    CalendarSource {
        /// The data bundled with the program, stored on first start.
        Bundled = "bundled" / "内置数据",
        /// A JSON body of the API.
        Json = "json" / "JSON",
        /// A TOML file in the bundled format.
        Toml = "toml" / "TOML 文件",
        /// An Excel workbook (.xlsx).
        Xlsx = "xlsx" / "Excel 工作簿",
    }
);

/// Who changes the calendar, when, from where and with what input.
#[derive(Debug, Clone)]
pub struct CalendarAuthor {
    pub user_id: Option<UserId>,
    pub name: String,
    /// The actor's role as in the audit trail (`admin`, `system`, ...).
    pub role: String,
    pub client_ip: Option<String>,
    pub at: Instant,
    pub source: CalendarSource,
}

impl CalendarAuthor {
    pub fn new(actor: &Actor, meta: &Meta, source: CalendarSource) -> Self {
        Self {
            user_id: actor.user_id(),
            name: actor.name().to_owned(),
            role: actor.role_str().to_owned(),
            client_ip: meta.client_ip.clone(),
            at: meta.now,
            source,
        }
    }
}

/// What a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarChangeKind {
    /// One year's holidays and make-up days.
    Year,
    /// The daily working hours.
    WorkingHours,
}

impl CalendarChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Year => "year",
            Self::WorkingHours => "working_hours",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Year, Self::WorkingHours].into_iter().find(|k| k.as_str() == s)
    }
}

/// One recorded change of the calendar. Never updated or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarChange {
    pub id: i64,
    pub at: Instant,
    pub kind: CalendarChangeKind,
    /// The year replaced; `None` for working hours.
    pub year: Option<i32>,
    pub actor_user_id: Option<UserId>,
    pub actor_name: String,
    pub actor_role: String,
    pub client_ip: Option<String>,
    pub source: CalendarSource,
    /// Holidays and make-up days of the year after the change.
    pub holidays: Option<usize>,
    pub makeup_workdays: Option<usize>,
    /// The content before the change (JSON); `None` when there was none.
    pub previous: Option<serde_json::Value>,
    /// The content after the change (JSON).
    pub current: serde_json::Value,
}

/// The JSON form of a year in change records, the same shape the API takes:
/// `{"year", "notice", "holidays": [{"date", "name"}], "makeup_workdays": [...]}`.
pub fn year_json(year: &HolidayYear) -> serde_json::Value {
    let days = |days: &[(chrono::NaiveDate, String)]| -> Vec<serde_json::Value> {
        days.iter()
            .map(|(date, name)| serde_json::json!({ "date": date.format("%Y-%m-%d").to_string(), "name": name }))
            .collect()
    };
    serde_json::json!({
        "year": year.year,
        "notice": year.notice,
        "holidays": days(&year.holidays),
        "makeup_workdays": days(&year.makeup_workdays),
    })
}

/// The JSON form of working hours in change records, the same shape the API
/// takes: `{"periods": [{"start": "08:30", "end": "12:00"}, ...]}`.
pub fn working_hours_json(hours: &WorkingHours) -> serde_json::Value {
    let periods: Vec<serde_json::Value> = hours
        .periods()
        .iter()
        .map(|(start, end)| serde_json::json!({ "start": clock_time(*start), "end": clock_time(*end) }))
        .collect();
    serde_json::json!({ "periods": periods })
}

/// A time of day as `HH:MM`, or `HH:MM:SS` when it has seconds.
pub fn clock_time(t: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    if t.second() == 0 && t.nanosecond() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

// ---- shared by the backends ----------------------------------------------------

/// How backends store a time of day of the working hours.
pub const CLOCK_TIME_FORMAT: &str = "%H:%M:%S";

/// A stored date: `YYYY-MM-DD`.
pub fn format_calendar_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn parse_calendar_date(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::backend(format!("bad date in database: {s:?}")))
}

pub fn parse_clock_time(s: &str) -> StoreResult<NaiveTime> {
    NaiveTime::parse_from_str(s, CLOCK_TIME_FORMAT)
        .map_err(|_| StoreError::backend(format!("bad time in database: {s:?}")))
}

/// Years given to replace: at least one, each valid and given once.
pub fn check_calendar_years(years: &[HolidayYear]) -> StoreResult<()> {
    let invalid = |message: String| StoreError::from(DomainError::invalid(codes::INVALID_CALENDAR, message));
    if years.is_empty() {
        return Err(invalid("没有任何年份的节假日数据".into()));
    }
    let mut seen = BTreeSet::new();
    for year in years {
        year.validate()?;
        if !seen.insert(year.year) {
            return Err(invalid(format!("{}年的节假日数据出现了两次", year.year)));
        }
    }
    Ok(())
}

/// A change about to be recorded in `calendar_changes`.
#[derive(Debug, Clone)]
pub struct NewCalendarChange {
    pub kind: CalendarChangeKind,
    pub year: Option<i32>,
    /// Holidays and make-up days after the change.
    pub counts: Option<(usize, usize)>,
    pub previous: Option<serde_json::Value>,
    pub current: serde_json::Value,
}

impl NewCalendarChange {
    /// The change of one year, from its content before (if any) to `year`.
    pub fn year(previous: Option<&HolidayYear>, year: &HolidayYear) -> Self {
        Self {
            kind: CalendarChangeKind::Year,
            year: Some(year.year),
            counts: Some((year.holidays.len(), year.makeup_workdays.len())),
            previous: previous.map(year_json),
            current: year_json(year),
        }
    }

    /// The change of the working hours, from those before (if any) to `hours`.
    pub fn working_hours(previous: Option<&WorkingHours>, hours: &WorkingHours) -> Self {
        Self {
            kind: CalendarChangeKind::WorkingHours,
            year: None,
            counts: None,
            previous: previous.map(working_hours_json),
            current: working_hours_json(hours),
        }
    }

    /// The change as recorded under `id`, its time as stored (milliseconds),
    /// so that it equals what is read back.
    pub fn recorded(self, id: i64, author: &CalendarAuthor) -> CalendarChange {
        let (holidays, makeup_workdays) = self.counts.unzip();
        CalendarChange {
            id,
            at: parse_instant(&format_instant(&author.at)).unwrap_or(author.at),
            kind: self.kind,
            year: self.year,
            actor_user_id: author.user_id,
            actor_name: author.name.clone(),
            actor_role: author.role.clone(),
            client_ip: author.client_ip.clone(),
            source: author.source,
            holidays,
            makeup_workdays,
            previous: self.previous,
            current: self.current,
        }
    }
}
