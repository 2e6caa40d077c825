//! The work calendar (工作日历): `calendar_years`, `calendar_days`,
//! `calendar_working_periods` and the append-only `calendar_changes`.
//!
//! Every write first takes the calendar's serialising lock (on PostgreSQL a
//! transaction-scoped advisory lock), so two administrators, or two nodes
//! seeding at start, take turns: the second sees what the first wrote.

use std::collections::BTreeMap;

use mashangban_domain::calendar::{HolidayYear, WorkCalendar, WorkingHours};
use mashangban_store::{
    CLOCK_TIME_FORMAT, CalendarAuthor, CalendarChange, CalendarChangeKind, CalendarSource, CalendarStore,
    CalendarYearInfo, ChangeEntity, NewCalendarChange, StoreError, StoreResult, check_calendar_years,
    format_calendar_date, parse_calendar_date, parse_clock_time,
};

use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

const HOLIDAY: &str = "holiday";
const MAKEUP: &str = "makeup_workday";

impl<D: Database> CalendarStore for SqlStore<D> {
    async fn calendar_years(&self) -> StoreResult<Vec<HolidayYear>> {
        self.db.read(job(|c| Box::pin(read_years(c)))).await
    }

    async fn calendar_year_infos(&self) -> StoreResult<Vec<CalendarYearInfo>> {
        let sql = format!("SELECT {YEAR_INFO_COLUMNS} FROM calendar_years y ORDER BY y.year");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], year_info).await }))).await
    }

    async fn calendar_working_hours(&self) -> StoreResult<Option<WorkingHours>> {
        self.db.read(job(|c| Box::pin(read_hours(c)))).await
    }

    async fn seed_calendar(
        &self,
        years: Vec<HolidayYear>,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<bool> {
        let seeding = job(move |c| {
            Box::pin(async move {
                serialise(c).await?;
                seed(c, &years, &hours, &author).await
            })
        });
        self.db.write(seeding).await
    }

    async fn replace_calendar_years(
        &self,
        years: Vec<HolidayYear>,
        author: CalendarAuthor,
    ) -> StoreResult<Vec<CalendarChange>> {
        let replace = job(move |c| {
            Box::pin(async move {
                serialise(c).await?;
                replace_years(c, &years, &author).await
            })
        });
        self.db.write(replace).await
    }

    async fn set_calendar_working_hours(
        &self,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<CalendarChange> {
        let set = job(move |c| {
            Box::pin(async move {
                serialise(c).await?;
                write_hours(c, &hours, &author).await
            })
        });
        self.db.write(set).await
    }

    async fn calendar_changes(&self, limit: u32) -> StoreResult<Vec<CalendarChange>> {
        let sql = format!("SELECT {CHANGE_COLUMNS} FROM calendar_changes ORDER BY id DESC LIMIT $1");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &args![limit], change).await }))).await
    }
}

/// Waits until no other calendar write is running (PostgreSQL).
async fn serialise(c: &dyn Conn) -> StoreResult<()> {
    crate::locks::publishers(c, crate::locks::CALENDAR).await
}

// ---- reading ---------------------------------------------------------------

async fn read_years(c: &dyn Conn) -> StoreResult<Vec<HolidayYear>> {
    let mut years: BTreeMap<i32, HolidayYear> = BTreeMap::new();
    for row in c.query("SELECT year, notice FROM calendar_years ORDER BY year", &[]).await? {
        let mut r = row.cols();
        let year: i32 = r.get()?;
        years.insert(year, HolidayYear { year, notice: r.get()?, holidays: Vec::new(), makeup_workdays: Vec::new() });
    }
    for row in c.query("SELECT date, year, kind, name FROM calendar_days ORDER BY date", &[]).await? {
        let mut r = row.cols();
        let (date, year, kind): (String, i32, String) = (r.get()?, r.get()?, r.get()?);
        let entry = (parse_calendar_date(&date)?, r.get()?);
        match (years.get_mut(&year), kind.as_str()) {
            (Some(y), HOLIDAY) => y.holidays.push(entry),
            (Some(y), MAKEUP) => y.makeup_workdays.push(entry),
            _ => return Err(StoreError::backend(format!("bad calendar day in database: {date} {kind}"))),
        }
    }
    Ok(years.into_values().collect())
}

async fn read_year(c: &dyn Conn, year: i32) -> StoreResult<Option<HolidayYear>> {
    Ok(read_years(c).await?.into_iter().find(|y| y.year == year))
}

const YEAR_INFO_COLUMNS: &str = "y.year, y.notice, y.updated_at,
    (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'holiday'),
    (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'makeup_workday')";

fn year_info(row: Row) -> StoreResult<CalendarYearInfo> {
    let mut c = row.cols();
    Ok(CalendarYearInfo {
        year: c.get()?,
        notice: c.get()?,
        updated_at: c.get()?,
        holidays: c.get()?,
        makeup_workdays: c.get()?,
    })
}

async fn read_hours(c: &dyn Conn) -> StoreResult<Option<WorkingHours>> {
    let sql = "SELECT start_time, end_time FROM calendar_working_periods ORDER BY position";
    let periods = c
        .map(sql, &[], |row| {
            let mut c = row.cols();
            Ok((parse_clock_time(&c.get::<String>()?)?, parse_clock_time(&c.get::<String>()?)?))
        })
        .await?;
    if periods.is_empty() {
        return Ok(None);
    }
    WorkingHours::new(periods).map(Some).map_err(|e| StoreError::backend(format!("bad working hours in database: {e}")))
}

const CHANGE_COLUMNS: &str = "id, at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source, holidays, \
    makeup_workdays, previous, current";

fn change(row: Row) -> StoreResult<CalendarChange> {
    let mut c = row.cols();
    Ok(CalendarChange {
        id: c.get()?,
        at: c.get()?,
        kind: c.code(CalendarChangeKind::parse)?,
        year: c.get()?,
        actor_user_id: c.get()?,
        actor_name: c.get()?,
        actor_role: c.get()?,
        client_ip: c.get()?,
        source: c.code(CalendarSource::parse)?,
        holidays: c.get()?,
        makeup_workdays: c.get()?,
        previous: c.opt_json()?,
        current: c.json()?,
    })
}

// ---- writing ---------------------------------------------------------------

/// Stores what is missing; under the lock, two nodes starting together seed once.
async fn seed(c: &dyn Conn, years: &[HolidayYear], hours: &WorkingHours, author: &CalendarAuthor) -> StoreResult<bool> {
    let has_years = c.query_opt("SELECT 1 FROM calendar_years LIMIT 1", &[]).await?.is_some();
    let mut wrote = false;
    if !has_years {
        replace_years(c, years, author).await?;
        wrote = true;
    }
    if read_hours(c).await?.is_none() {
        write_hours(c, hours, author).await?;
        wrote = true;
    }
    Ok(wrote)
}

async fn replace_years(
    c: &dyn Conn,
    years: &[HolidayYear],
    author: &CalendarAuthor,
) -> StoreResult<Vec<CalendarChange>> {
    check_calendar_years(years)?;
    let mut changes = Vec::with_capacity(years.len());
    for year in years {
        let previous = read_year(c, year.year).await?;
        write_year(c, year, author).await?;
        changes.push(record_change(c, NewCalendarChange::year(previous.as_ref(), year), author).await?);
    }
    check_contiguous(c).await?;
    Ok(changes)
}

/// The stored years must still make a calendar (contiguous, within range).
async fn check_contiguous(c: &dyn Conn) -> StoreResult<()> {
    WorkCalendar::new(read_years(c).await?, WorkingHours::default())?;
    Ok(())
}

async fn write_year(c: &dyn Conn, year: &HolidayYear, author: &CalendarAuthor) -> StoreResult<()> {
    let notice = year.notice.as_deref().map(str::trim);
    c.execute(
        "INSERT INTO calendar_years (year, notice, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (year) DO UPDATE SET notice = EXCLUDED.notice, updated_at = EXCLUDED.updated_at",
        &args![year.year, notice, &author.at],
    )
    .await?;
    c.execute("DELETE FROM calendar_days WHERE year = $1", &args![year.year]).await?;
    let days = year.holidays.iter().map(|d| (d, HOLIDAY)).chain(year.makeup_workdays.iter().map(|d| (d, MAKEUP)));
    for ((date, name), kind) in days {
        c.execute(
            "INSERT INTO calendar_days (date, year, kind, name) VALUES ($1, $2, $3, $4)",
            &args![format_calendar_date(*date), year.year, kind, name.trim()],
        )
        .await?;
    }
    Ok(())
}

async fn write_hours(c: &dyn Conn, hours: &WorkingHours, author: &CalendarAuthor) -> StoreResult<CalendarChange> {
    let previous = read_hours(c).await?;
    c.execute("DELETE FROM calendar_working_periods", &[]).await?;
    for (position, (start, end)) in hours.periods().iter().enumerate() {
        c.execute(
            "INSERT INTO calendar_working_periods (position, start_time, end_time) VALUES ($1, $2, $3)",
            &args![position, start.format(CLOCK_TIME_FORMAT).to_string(), end.format(CLOCK_TIME_FORMAT).to_string()],
        )
        .await?;
    }
    record_change(c, NewCalendarChange::working_hours(previous.as_ref(), hours), author).await
}

async fn record_change(
    c: &dyn Conn,
    change: NewCalendarChange,
    author: &CalendarAuthor,
) -> StoreResult<CalendarChange> {
    let (holidays, makeup_workdays) = change.counts.unzip();
    let id: i64 = c
        .scalar(
            "INSERT INTO calendar_changes (at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source,
                holidays, makeup_workdays, previous, current)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &args![
                &author.at,
                change.kind.as_str(),
                change.year,
                author.user_id,
                author.name.as_str(),
                author.role.as_str(),
                author.client_ip.as_deref(),
                author.source.as_str(),
                holidays,
                makeup_workdays,
                change.previous.as_ref().map(serde_json::Value::to_string),
                change.current.to_string(),
            ],
        )
        .await?;
    let key = change.year.map(|y| y.to_string()).unwrap_or_default();
    crate::changes::append(c, ChangeEntity::Calendar, &key, change.kind.as_str(), &author.at).await?;
    Ok(change.recorded(id, author))
}
