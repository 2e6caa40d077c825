//! The work calendar (工作日历) in PostgreSQL: `calendar_years`,
//! `calendar_days`, `calendar_working_periods` and the append-only
//! `calendar_changes`. Every write holds the calendar's advisory lock, so
//! two administrators (or two nodes seeding at start) take turns.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use mashangban_domain::calendar::{HolidayYear, WorkCalendar, WorkingHours};
use mashangban_store::{
    CLOCK_TIME_FORMAT, CalendarAuthor, CalendarChange, CalendarChangeKind, CalendarSource, CalendarStore,
    CalendarYearInfo, NewCalendarChange, StoreError, StoreResult, check_calendar_years, format_calendar_date,
    parse_calendar_date, parse_clock_time,
};

use crate::PgStore;
use crate::db::{CALENDAR_LOCK, commit, db_err, execute, lock_xact, query, query_one};
use crate::rows::{self, bad, code, count, get, instant, opt_count, ts};

const HOLIDAY: &str = "holiday";
const MAKEUP: &str = "makeup_workday";

impl CalendarStore for PgStore {
    async fn calendar_years(&self) -> StoreResult<Vec<HolidayYear>> {
        let client = self.client().await?;
        read_years(&client).await
    }

    async fn calendar_year_infos(&self) -> StoreResult<Vec<CalendarYearInfo>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT y.year, y.notice, y.updated_at,
                (SELECT count(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'holiday') AS holidays,
                (SELECT count(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'makeup_workday') AS makeups
             FROM calendar_years y ORDER BY y.year",
            &[],
        )
        .await?;
        rows::all(&rows, |r| {
            Ok(CalendarYearInfo {
                year: get(r, "year")?,
                notice: get(r, "notice")?,
                updated_at: instant(r, "updated_at")?,
                holidays: count(r, "holidays")?,
                makeup_workdays: count(r, "makeups")?,
            })
        })
    }

    async fn calendar_working_hours(&self) -> StoreResult<Option<WorkingHours>> {
        let client = self.client().await?;
        read_hours(&client).await
    }

    async fn seed_calendar(
        &self,
        years: Vec<HolidayYear>,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_xact(&tx, CALENDAR_LOCK).await?;
        let wrote = seed(&tx, &years, &hours, &author).await?;
        commit(tx).await?;
        Ok(wrote)
    }

    async fn replace_calendar_years(
        &self,
        years: Vec<HolidayYear>,
        author: CalendarAuthor,
    ) -> StoreResult<Vec<CalendarChange>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_xact(&tx, CALENDAR_LOCK).await?;
        let changes = replace_years(&tx, &years, &author).await?;
        commit(tx).await?;
        Ok(changes)
    }

    async fn set_calendar_working_hours(
        &self,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<CalendarChange> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_xact(&tx, CALENDAR_LOCK).await?;
        let change = write_hours(&tx, &hours, &author).await?;
        commit(tx).await?;
        Ok(change)
    }

    async fn calendar_changes(&self, limit: u32) -> StoreResult<Vec<CalendarChange>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT id, at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source,
                    holidays, makeup_workdays, previous, current
             FROM calendar_changes ORDER BY id DESC LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        rows::all(&rows, change_row)
    }
}

// ---- reading ---------------------------------------------------------------

async fn read_years(c: &impl GenericClient) -> StoreResult<Vec<HolidayYear>> {
    let mut years: BTreeMap<i32, HolidayYear> = BTreeMap::new();
    for row in query(c, "SELECT year, notice FROM calendar_years ORDER BY year", &[]).await? {
        let year: i32 = get(&row, "year")?;
        let notice = get(&row, "notice")?;
        years.insert(year, HolidayYear { year, notice, holidays: Vec::new(), makeup_workdays: Vec::new() });
    }
    for row in query(c, "SELECT date, year, kind, name FROM calendar_days ORDER BY date", &[]).await? {
        let (date, year, kind): (String, i32, String) = (get(&row, "date")?, get(&row, "year")?, get(&row, "kind")?);
        let entry = (parse_calendar_date(&date)?, get(&row, "name")?);
        match (years.get_mut(&year), kind.as_str()) {
            (Some(y), HOLIDAY) => y.holidays.push(entry),
            (Some(y), MAKEUP) => y.makeup_workdays.push(entry),
            _ => return Err(StoreError::backend(format!("bad calendar day in database: {date} {kind}"))),
        }
    }
    Ok(years.into_values().collect())
}

async fn read_year(c: &impl GenericClient, year: i32) -> StoreResult<Option<HolidayYear>> {
    Ok(read_years(c).await?.into_iter().find(|y| y.year == year))
}

async fn read_hours(c: &impl GenericClient) -> StoreResult<Option<WorkingHours>> {
    let rows = query(c, "SELECT start_time, end_time FROM calendar_working_periods ORDER BY position", &[]).await?;
    let mut periods = Vec::new();
    for row in rows {
        periods.push((
            parse_clock_time(&get::<String>(&row, "start_time")?)?,
            parse_clock_time(&get::<String>(&row, "end_time")?)?,
        ));
    }
    if periods.is_empty() {
        return Ok(None);
    }
    WorkingHours::new(periods).map(Some).map_err(|e| StoreError::backend(format!("bad working hours in database: {e}")))
}

fn change_row(r: &Row) -> StoreResult<CalendarChange> {
    let previous: Option<String> = get(r, "previous")?;
    let current: String = get(r, "current")?;
    Ok(CalendarChange {
        id: get(r, "id")?,
        at: instant(r, "at")?,
        kind: code(r, "kind", CalendarChangeKind::parse)?,
        year: get(r, "year")?,
        actor_user_id: get(r, "actor_user_id")?,
        actor_name: get(r, "actor_name")?,
        actor_role: get(r, "actor_role")?,
        client_ip: get(r, "client_ip")?,
        source: code(r, "source", CalendarSource::parse)?,
        holidays: opt_count(r, "holidays")?,
        makeup_workdays: opt_count(r, "makeup_workdays")?,
        previous: previous.map(|p| serde_json::from_str(&p).map_err(|_| bad("previous", &p))).transpose()?,
        current: serde_json::from_str(&current).map_err(|_| bad("current", &current))?,
    })
}

// ---- writing ---------------------------------------------------------------

async fn seed(
    tx: &Transaction<'_>,
    years: &[HolidayYear],
    hours: &WorkingHours,
    author: &CalendarAuthor,
) -> StoreResult<bool> {
    let has_years = !query(tx, "SELECT 1 FROM calendar_years LIMIT 1", &[]).await?.is_empty();
    let mut wrote = false;
    if !has_years {
        replace_years(tx, years, author).await?;
        wrote = true;
    }
    if read_hours(tx).await?.is_none() {
        write_hours(tx, hours, author).await?;
        wrote = true;
    }
    Ok(wrote)
}

async fn replace_years(
    tx: &Transaction<'_>,
    years: &[HolidayYear],
    author: &CalendarAuthor,
) -> StoreResult<Vec<CalendarChange>> {
    check_calendar_years(years)?;
    let mut changes = Vec::with_capacity(years.len());
    for year in years {
        let previous = read_year(tx, year.year).await?;
        write_year(tx, year, author).await?;
        changes.push(record_change(tx, NewCalendarChange::year(previous.as_ref(), year), author).await?);
    }
    check_contiguous(tx).await?;
    Ok(changes)
}

/// The stored years must still make a calendar (contiguous, within range).
async fn check_contiguous(c: &impl GenericClient) -> StoreResult<()> {
    WorkCalendar::new(read_years(c).await?, WorkingHours::default())?;
    Ok(())
}

async fn write_year(tx: &Transaction<'_>, year: &HolidayYear, author: &CalendarAuthor) -> StoreResult<()> {
    let notice = year.notice.as_deref().map(str::trim);
    execute(
        tx,
        "INSERT INTO calendar_years (year, notice, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (year) DO UPDATE SET notice = EXCLUDED.notice, updated_at = EXCLUDED.updated_at",
        &[&year.year, &notice, &ts(&author.at)],
    )
    .await?;
    execute(tx, "DELETE FROM calendar_days WHERE year = $1", &[&year.year]).await?;
    let days = year.holidays.iter().map(|d| (d, HOLIDAY)).chain(year.makeup_workdays.iter().map(|d| (d, MAKEUP)));
    for ((date, name), kind) in days {
        execute(
            tx,
            "INSERT INTO calendar_days (date, year, kind, name) VALUES ($1, $2, $3, $4)",
            &[&format_calendar_date(*date), &year.year, &kind, &name.trim()],
        )
        .await?;
    }
    Ok(())
}

async fn write_hours(
    tx: &Transaction<'_>,
    hours: &WorkingHours,
    author: &CalendarAuthor,
) -> StoreResult<CalendarChange> {
    let previous = read_hours(tx).await?;
    execute(tx, "DELETE FROM calendar_working_periods", &[]).await?;
    for (position, (start, end)) in hours.periods().iter().enumerate() {
        let position = i64::try_from(position).map_err(StoreError::backend)?;
        execute(
            tx,
            "INSERT INTO calendar_working_periods (position, start_time, end_time) VALUES ($1, $2, $3)",
            &[&position, &start.format(CLOCK_TIME_FORMAT).to_string(), &end.format(CLOCK_TIME_FORMAT).to_string()],
        )
        .await?;
    }
    record_change(tx, NewCalendarChange::working_hours(previous.as_ref(), hours), author).await
}

async fn record_change(
    tx: &Transaction<'_>,
    change: NewCalendarChange,
    author: &CalendarAuthor,
) -> StoreResult<CalendarChange> {
    let count = |n: Option<usize>| n.map(i64::try_from).transpose().map_err(StoreError::backend);
    let (holidays, makeup_workdays) = change.counts.unzip();
    let row = query_one(
        tx,
        "INSERT INTO calendar_changes (at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source,
                                       holidays, makeup_workdays, previous, current)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        &[
            &ts(&author.at),
            &change.kind.as_str(),
            &change.year,
            &author.user_id,
            &author.name,
            &author.role,
            &author.client_ip,
            &author.source.as_str(),
            &count(holidays)?,
            &count(makeup_workdays)?,
            &change.previous.as_ref().map(serde_json::Value::to_string),
            &change.current.to_string(),
        ],
    )
    .await?;
    Ok(change.recorded(get(&row, "id")?, author))
}
