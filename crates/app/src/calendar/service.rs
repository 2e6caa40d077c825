//! The calendar service: anyone may count (`add`, `days`) and see the
//! covered years; administrators replace holiday years, import files and set
//! the working hours, each change recorded with its author.

use chrono::{NaiveDate, NaiveTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::calendar::{HolidayYear, WorkingHours, codes};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{CalendarAuthor, CalendarChange, CalendarSource, Signal, Store, clock_time};

use super::{Amount, DayInfo, parse_data_date, parse_import};
use crate::error::{AppError, AppResult};
use crate::{App, Caller};

/// The calendar service: `app.calendar()`.
pub struct Calendar<'a, S> {
    app: &'a App<S>,
}

/// A deadline the calculator counted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DueAnswer {
    pub due: String,
}

/// A covered year with its counts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct YearItem {
    pub year: i32,
    /// The State Council notice (通知文号).
    pub notice: Option<String>,
    pub holidays: usize,
    pub makeup_workdays: usize,
    pub updated_at: String,
}

/// A year's holidays and make-up working days, in the shape `PUT` takes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct YearView {
    pub year: i32,
    pub notice: Option<String>,
    pub holidays: Vec<DayView>,
    pub makeup_workdays: Vec<DayView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DayView {
    pub date: String,
    pub name: String,
}

impl From<&HolidayYear> for YearView {
    fn from(y: &HolidayYear) -> Self {
        let days = |days: &[(NaiveDate, String)]| {
            days.iter()
                .map(|(d, name)| DayView { date: d.format("%Y-%m-%d").to_string(), name: name.clone() })
                .collect()
        };
        Self {
            year: y.year,
            notice: y.notice.clone(),
            holidays: days(&y.holidays),
            makeup_workdays: days(&y.makeup_workdays),
        }
    }
}

/// A year as administrators send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YearInput {
    /// Optional; when given it must be the year of the path.
    #[serde(default)]
    pub year: Option<i32>,
    /// The notice's reference (通知文号).
    #[serde(default)]
    pub notice: Option<String>,
    pub holidays: Vec<DayInput>,
    #[serde(default)]
    pub makeup_workdays: Vec<DayInput>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayInput {
    /// `YYYY-MM-DD`.
    #[schemars(extend("format" = "date"))]
    pub date: String,
    pub name: String,
}

impl YearInput {
    fn into_year(self, year: i32) -> AppResult<HolidayYear> {
        if self.year.is_some_and(|y| y != year) {
            return Err(AppError::invalid("invalid_field", format!("请求体中的年份与地址中的年份（{year}）不一致")));
        }
        let days = |days: Vec<DayInput>, what: &str| -> AppResult<Vec<(NaiveDate, String)>> {
            days.into_iter().map(|d| Ok((parse_data_date(&d.date, what)?, d.name))).collect()
        };
        let notice = self.notice.filter(|n| !n.trim().is_empty());
        Ok(HolidayYear {
            year,
            notice,
            holidays: days(self.holidays, "节假日的")?,
            makeup_workdays: days(self.makeup_workdays, "调休上班日的")?,
        })
    }
}

/// The years an import replaced, with their change records.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportAnswer {
    pub years: Vec<i32>,
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActorView {
    pub user_id: Option<i64>,
    pub name: String,
    pub role: String,
}

/// One recorded change of the calendar.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeView {
    pub id: i64,
    pub at: String,
    /// `year` or `working_hours`.
    pub kind: &'static str,
    pub year: Option<i32>,
    pub actor: ActorView,
    pub client_ip: Option<String>,
    /// `bundled`, `json`, `toml` or `xlsx`.
    pub source: &'static str,
    pub holidays: Option<usize>,
    pub makeup_workdays: Option<usize>,
    /// The content before the change; none when there was none.
    pub previous: Option<serde_json::Value>,
    pub current: serde_json::Value,
}

impl From<CalendarChange> for ChangeView {
    fn from(c: CalendarChange) -> Self {
        Self {
            id: c.id,
            at: format_instant(&c.at),
            kind: c.kind.as_str(),
            year: c.year,
            actor: ActorView { user_id: c.actor_user_id, name: c.actor_name, role: c.actor_role },
            client_ip: c.client_ip,
            source: c.source.as_str(),
            holidays: c.holidays,
            makeup_workdays: c.makeup_workdays,
            previous: c.previous,
            current: c.current,
        }
    }
}

/// Working hours as administrators send them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    pub periods: Vec<PeriodInput>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    /// `HH:MM` in +08:00, e.g. `08:30`.
    pub start: String,
    pub end: String,
}

/// The working hours in force.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HoursView {
    pub periods: Vec<PeriodInput>,
    /// Working minutes in one working day.
    pub daily_minutes: i64,
}

impl From<&WorkingHours> for HoursView {
    fn from(hours: &WorkingHours) -> Self {
        let periods =
            hours.periods().iter().map(|(s, e)| PeriodInput { start: clock_time(*s), end: clock_time(*e) }).collect();
        Self { periods, daily_minutes: hours.daily_duration().num_minutes() }
    }
}

impl<'a, S: Store> Calendar<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The work calendar in force.
    pub fn in_force(&self) -> std::sync::Arc<mashangban_domain::calendar::WorkCalendar> {
        self.app.caches().calendar()
    }

    /// The deadline `amount` after `from`.
    pub fn add(&self, from: Instant, amount: Amount) -> AppResult<DueAnswer> {
        let due = super::due(&self.in_force(), from, amount)?;
        Ok(DueAnswer { due: format_instant(&due) })
    }

    /// Every date from `from` to `to`, inclusive.
    pub fn days(&self, from: NaiveDate, to: NaiveDate) -> AppResult<Vec<DayInfo>> {
        super::days(&self.in_force(), from, to)
    }

    /// The covered years with their counts and notice references.
    pub async fn years(&self) -> AppResult<Vec<YearItem>> {
        let infos = self.app.store().calendar_year_infos().await?;
        Ok(infos
            .into_iter()
            .map(|i| YearItem {
                year: i.year,
                notice: i.notice,
                holidays: i.holidays,
                makeup_workdays: i.makeup_workdays,
                updated_at: format_instant(&i.updated_at),
            })
            .collect())
    }

    /// A covered year's holidays and make-up days, or `calendar_year_not_found`.
    pub async fn year(&self, year: i32) -> AppResult<YearView> {
        let stored = self.stored_year(year).await?;
        stored
            .as_ref()
            .map(YearView::from)
            .ok_or_else(|| AppError::not_found("calendar_year_not_found", format!("工作日历没有{year}年的节假日安排")))
    }

    /// A stored year, if covered.
    pub async fn stored_year(&self, year: i32) -> AppResult<Option<HolidayYear>> {
        Ok(self.app.store().calendar_years().await?.into_iter().find(|y| y.year == year))
    }

    /// Replaces one year.
    pub async fn replace_year(
        &self,
        caller: &Caller,
        year: i32,
        input: YearInput,
        source: CalendarSource,
    ) -> AppResult<ChangeView> {
        let year = input.into_year(year)?;
        if year.holidays.is_empty() {
            return Err(AppError::invalid(
                codes::INVALID_CALENDAR,
                format!("{}年没有任何节假日；请列出通知中的全部放假日期", year.year),
            ));
        }
        let changes = self.app.store().replace_calendar_years(vec![year], self.author(caller, source)).await?;
        self.app.changed(Signal::CalendarChanged).await?;
        self.recount(caller).await?;
        changes.into_iter().next().map(ChangeView::from).ok_or_else(AppError::internal)
    }

    /// Imports a file (an .xlsx workbook or TOML): every year in it is replaced, all or none.
    pub async fn import(&self, caller: &Caller, bytes: &[u8]) -> AppResult<ImportAnswer> {
        let (years, source) = parse_import(bytes)?;
        let changes = self.app.store().replace_calendar_years(years, self.author(caller, source)).await?;
        self.app.changed(Signal::CalendarChanged).await?;
        self.recount(caller).await?;
        let years = changes.iter().filter_map(|c| c.year).collect();
        Ok(ImportAnswer { years, changes: changes.into_iter().map(ChangeView::from).collect() })
    }

    /// The latest changes, newest first.
    pub async fn changes(&self, limit: u32) -> AppResult<Vec<ChangeView>> {
        Ok(self.app.store().calendar_changes(limit).await?.into_iter().map(ChangeView::from).collect())
    }

    /// The working hours in force.
    pub fn working_hours(&self) -> HoursView {
        HoursView::from(self.in_force().working_hours())
    }

    /// Replaces the daily working periods.
    pub async fn set_working_hours(&self, caller: &Caller, input: HoursInput) -> AppResult<HoursView> {
        let periods = input
            .periods
            .iter()
            .map(|p| Ok((time_of_day(&p.start)?, time_of_day(&p.end)?)))
            .collect::<AppResult<Vec<_>>>()?;
        let hours = WorkingHours::new(periods)?;
        let author = self.author(caller, CalendarSource::Json);
        self.app.store().set_calendar_working_hours(hours.clone(), author).await?;
        self.app.changed(Signal::CalendarChanged).await?;
        Ok(HoursView::from(&hours))
    }

    /// Recounts the provisional deadlines under the calendar just stored.
    async fn recount(&self, caller: &Caller) -> AppResult<usize> {
        let meta = caller.meta(self.app.now());
        Ok(crate::deadlines::recount_provisional(self.app, &caller.actor, &meta).await?)
    }

    /// The warning for administrators while next year's notice is missing (from 1 November).
    pub fn missing_notice_warning(&self) -> Option<String> {
        crate::deadlines::missing_notice_warning(&self.in_force(), crate::deadlines::today(self.app))
    }

    fn author(&self, caller: &Caller, source: CalendarSource) -> CalendarAuthor {
        CalendarAuthor::new(&caller.actor, &caller.meta(self.app.now()), source)
    }
}

/// `HH:MM` (or `HH:MM:SS`) in +08:00.
fn time_of_day(s: &str) -> AppResult<NaiveTime> {
    let s = s.trim();
    let parsed = match s.len() {
        5 => NaiveTime::parse_from_str(s, "%H:%M").ok(),
        8 => NaiveTime::parse_from_str(s, "%H:%M:%S").ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        AppError::invalid(codes::INVALID_WORKING_HOURS, format!("时间“{s}”不正确，应写成 HH:MM，例如 08:30"))
    })
}
