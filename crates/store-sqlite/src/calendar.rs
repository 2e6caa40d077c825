//! The work calendar in SQLite: `calendar_years`, `calendar_days`,
//! `calendar_working_periods` and the append-only `calendar_changes`.

use std::collections::BTreeMap;

use rusqlite::{Connection, Row, params};

use mashangban_domain::calendar::{HolidayYear, WorkCalendar, WorkingHours};
use mashangban_domain::time::parse_instant;
use mashangban_store::{
    CLOCK_TIME_FORMAT, CalendarAuthor, CalendarChange, CalendarChangeKind, CalendarSource, CalendarStore,
    CalendarYearInfo, NewCalendarChange, StoreError, StoreResult, check_calendar_years, format_calendar_date,
    parse_calendar_date, parse_clock_time,
};

use crate::SqliteStore;
use crate::rows::{db_err, ts};

const HOLIDAY: &str = "holiday";
const MAKEUP: &str = "makeup_workday";

impl CalendarStore for SqliteStore {
    async fn calendar_years(&self) -> StoreResult<Vec<HolidayYear>> {
        self.db.read(read_years).await
    }

    async fn calendar_year_infos(&self) -> StoreResult<Vec<CalendarYearInfo>> {
        self.db.read(read_year_infos).await
    }

    async fn calendar_working_hours(&self) -> StoreResult<Option<WorkingHours>> {
        self.db.read(read_hours).await
    }

    async fn seed_calendar(
        &self,
        years: Vec<HolidayYear>,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<bool> {
        self.db.write(move |conn| seed(conn, &years, &hours, &author)).await
    }

    async fn replace_calendar_years(
        &self,
        years: Vec<HolidayYear>,
        author: CalendarAuthor,
    ) -> StoreResult<Vec<CalendarChange>> {
        self.db.write(move |conn| replace_years(conn, &years, &author)).await
    }

    async fn set_calendar_working_hours(
        &self,
        hours: WorkingHours,
        author: CalendarAuthor,
    ) -> StoreResult<CalendarChange> {
        self.db.write(move |conn| write_hours(conn, &hours, &author)).await
    }

    async fn calendar_changes(&self, limit: u32) -> StoreResult<Vec<CalendarChange>> {
        self.db.read(move |conn| read_changes(conn, limit)).await
    }
}

// ---- reading ---------------------------------------------------------------

fn read_years(conn: &Connection) -> StoreResult<Vec<HolidayYear>> {
    let mut years: BTreeMap<i32, HolidayYear> = BTreeMap::new();
    let mut stmt = conn.prepare_cached("SELECT year, notice FROM calendar_years ORDER BY year").map_err(db_err)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, Option<String>>(1)?))).map_err(db_err)?;
    for row in rows {
        let (year, notice) = row.map_err(db_err)?;
        years.insert(year, HolidayYear { year, notice, holidays: Vec::new(), makeup_workdays: Vec::new() });
    }
    let mut stmt =
        conn.prepare_cached("SELECT date, year, kind, name FROM calendar_days ORDER BY date").map_err(db_err)?;
    let rows = stmt.query_map([], day_row).map_err(db_err)?;
    for row in rows {
        let (date, year, kind, name) = row.map_err(db_err)?;
        let entry = (parse_calendar_date(&date)?, name);
        match (years.get_mut(&year), kind.as_str()) {
            (Some(y), HOLIDAY) => y.holidays.push(entry),
            (Some(y), MAKEUP) => y.makeup_workdays.push(entry),
            _ => return Err(StoreError::backend(format!("bad calendar day in database: {date} {kind}"))),
        }
    }
    Ok(years.into_values().collect())
}

type DayRow = (String, i32, String, String);

fn day_row(r: &Row<'_>) -> rusqlite::Result<DayRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn read_year(conn: &Connection, year: i32) -> StoreResult<Option<HolidayYear>> {
    Ok(read_years(conn)?.into_iter().find(|y| y.year == year))
}

fn read_year_infos(conn: &Connection) -> StoreResult<Vec<CalendarYearInfo>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT y.year, y.notice, y.updated_at,
                (SELECT count(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'holiday'),
                (SELECT count(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'makeup_workday')
             FROM calendar_years y ORDER BY y.year",
        )
        .map_err(db_err)?;
    let rows = stmt.query_map([], year_info_row).map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

fn year_info_row(r: &Row<'_>) -> rusqlite::Result<CalendarYearInfo> {
    let updated_at: String = r.get(2)?;
    Ok(CalendarYearInfo {
        year: r.get(0)?,
        notice: r.get(1)?,
        updated_at: parse_instant(&updated_at).ok_or_else(|| bad("timestamp", &updated_at))?,
        holidays: r.get(3)?,
        makeup_workdays: r.get(4)?,
    })
}

fn read_hours(conn: &Connection) -> StoreResult<Option<WorkingHours>> {
    let mut stmt = conn
        .prepare_cached("SELECT start_time, end_time FROM calendar_working_periods ORDER BY position")
        .map_err(db_err)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db_err)?;
    let mut periods = Vec::new();
    for row in rows {
        let (start, end) = row.map_err(db_err)?;
        periods.push((parse_clock_time(&start)?, parse_clock_time(&end)?));
    }
    if periods.is_empty() {
        return Ok(None);
    }
    WorkingHours::new(periods).map(Some).map_err(|e| StoreError::backend(format!("bad working hours in database: {e}")))
}

fn read_changes(conn: &Connection, limit: u32) -> StoreResult<Vec<CalendarChange>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source,
                    holidays, makeup_workdays, previous, current
             FROM calendar_changes ORDER BY id DESC LIMIT ?1",
        )
        .map_err(db_err)?;
    let rows = stmt.query_map([limit], change_row).map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

fn change_row(r: &Row<'_>) -> rusqlite::Result<CalendarChange> {
    let at: String = r.get("at")?;
    let kind: String = r.get("kind")?;
    let source: String = r.get("source")?;
    let previous: Option<String> = r.get("previous")?;
    let current: String = r.get("current")?;
    Ok(CalendarChange {
        id: r.get("id")?,
        at: parse_instant(&at).ok_or_else(|| bad("timestamp", &at))?,
        kind: CalendarChangeKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        year: r.get("year")?,
        actor_user_id: r.get("actor_user_id")?,
        actor_name: r.get("actor_name")?,
        actor_role: r.get("actor_role")?,
        client_ip: r.get("client_ip")?,
        source: CalendarSource::parse(&source).ok_or_else(|| bad("source", &source))?,
        holidays: r.get("holidays")?,
        makeup_workdays: r.get("makeup_workdays")?,
        previous: previous.map(|p| serde_json::from_str(&p).map_err(|_| bad("previous", &p))).transpose()?,
        current: serde_json::from_str(&current).map_err(|_| bad("current", &current))?,
    })
}

// ---- writing ---------------------------------------------------------------

fn seed(conn: &Connection, years: &[HolidayYear], hours: &WorkingHours, author: &CalendarAuthor) -> StoreResult<bool> {
    let has_years: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM calendar_years)", [], |r| r.get(0)).map_err(db_err)?;
    let mut wrote = false;
    if !has_years {
        replace_years(conn, years, author)?;
        wrote = true;
    }
    if read_hours(conn)?.is_none() {
        write_hours(conn, hours, author)?;
        wrote = true;
    }
    Ok(wrote)
}

fn replace_years(
    conn: &Connection,
    years: &[HolidayYear],
    author: &CalendarAuthor,
) -> StoreResult<Vec<CalendarChange>> {
    check_calendar_years(years)?;
    let mut changes = Vec::with_capacity(years.len());
    for year in years {
        let previous = read_year(conn, year.year)?;
        write_year(conn, year, author)?;
        changes.push(record_change(conn, NewCalendarChange::year(previous.as_ref(), year), author)?);
    }
    check_contiguous(conn)?;
    Ok(changes)
}

/// The stored years must still make a calendar (contiguous, within range).
fn check_contiguous(conn: &Connection) -> StoreResult<()> {
    WorkCalendar::new(read_years(conn)?, WorkingHours::default())?;
    Ok(())
}

fn write_year(conn: &Connection, year: &HolidayYear, author: &CalendarAuthor) -> StoreResult<()> {
    let notice = year.notice.as_deref().map(str::trim);
    conn.execute(
        "INSERT INTO calendar_years (year, notice, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (year) DO UPDATE SET notice = excluded.notice, updated_at = excluded.updated_at",
        params![year.year, notice, ts(&author.at)],
    )
    .map_err(db_err)?;
    conn.execute("DELETE FROM calendar_days WHERE year = ?1", [year.year]).map_err(db_err)?;
    let mut insert = conn
        .prepare_cached("INSERT INTO calendar_days (date, year, kind, name) VALUES (?1, ?2, ?3, ?4)")
        .map_err(db_err)?;
    let days = year.holidays.iter().map(|d| (d, HOLIDAY)).chain(year.makeup_workdays.iter().map(|d| (d, MAKEUP)));
    for ((date, name), kind) in days {
        insert.execute(params![format_calendar_date(*date), year.year, kind, name.trim()]).map_err(db_err)?;
    }
    Ok(())
}

fn write_hours(conn: &Connection, hours: &WorkingHours, author: &CalendarAuthor) -> StoreResult<CalendarChange> {
    let previous = read_hours(conn)?;
    conn.execute("DELETE FROM calendar_working_periods", []).map_err(db_err)?;
    let mut insert = conn
        .prepare_cached("INSERT INTO calendar_working_periods (position, start_time, end_time) VALUES (?1, ?2, ?3)")
        .map_err(db_err)?;
    for (position, (start, end)) in hours.periods().iter().enumerate() {
        let position = i64::try_from(position).map_err(StoreError::backend)?;
        insert
            .execute(params![
                position,
                start.format(CLOCK_TIME_FORMAT).to_string(),
                end.format(CLOCK_TIME_FORMAT).to_string()
            ])
            .map_err(db_err)?;
    }
    record_change(conn, NewCalendarChange::working_hours(previous.as_ref(), hours), author)
}

fn record_change(conn: &Connection, change: NewCalendarChange, author: &CalendarAuthor) -> StoreResult<CalendarChange> {
    let (holidays, makeup_workdays) = change.counts.unzip();
    conn.execute(
        "INSERT INTO calendar_changes (at, kind, year, actor_user_id, actor_name, actor_role, client_ip, source,
                                       holidays, makeup_workdays, previous, current)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            ts(&author.at),
            change.kind.as_str(),
            change.year,
            author.user_id,
            author.name,
            author.role,
            author.client_ip,
            author.source.as_str(),
            holidays,
            makeup_workdays,
            change.previous.as_ref().map(serde_json::Value::to_string),
            change.current.to_string(),
        ],
    )
    .map_err(db_err)?;
    Ok(change.recorded(conn.last_insert_rowid(), author))
}

// ---- values ------------------------------------------------------------------

fn bad(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad calendar {what} in database: {value:?}").into(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::SqliteOptions;
    use chrono::NaiveDate;
    use mashangban_domain::calendar::{BUNDLED_HOLIDAYS, parse_holidays_toml};

    fn author(source: CalendarSource) -> CalendarAuthor {
        CalendarAuthor {
            user_id: Some(7),
            name: "管理员".into(),
            role: "admin".into(),
            client_ip: Some("127.0.0.1".into()),
            at: mashangban_domain::time::now(),
            source,
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn year(y: i32, holidays: &[&str], makeups: &[&str]) -> HolidayYear {
        HolidayYear {
            year: y,
            notice: Some(format!("测试〔{y}〕1号")),
            holidays: holidays.iter().map(|s| (d(s), "节日".to_owned())).collect(),
            makeup_workdays: makeups.iter().map(|s| (d(s), "调休上班".to_owned())).collect(),
        }
    }

    async fn seeded() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), SqliteOptions::default()).unwrap();
        let years = parse_holidays_toml(BUNDLED_HOLIDAYS).unwrap();
        assert!(store.seed_calendar(years, WorkingHours::default(), author(CalendarSource::Bundled)).await.unwrap());
        (dir, store)
    }

    #[tokio::test]
    async fn seeding_round_trips_and_happens_once() {
        let (_dir, store) = seeded().await;
        assert_eq!(store.calendar_years().await.unwrap(), parse_holidays_toml(BUNDLED_HOLIDAYS).unwrap());
        assert_eq!(store.calendar_working_hours().await.unwrap(), Some(WorkingHours::default()));
        let again = store.seed_calendar(vec![], WorkingHours::default(), author(CalendarSource::Bundled));
        assert!(!again.await.unwrap());
        assert_eq!(store.calendar_changes(100).await.unwrap().len(), 8);
        let infos = store.calendar_year_infos().await.unwrap();
        assert_eq!((infos[6].year, infos[6].holidays, infos[6].makeup_workdays), (2026, 33, 6));
    }

    #[tokio::test]
    async fn a_batch_of_years_is_replaced_all_or_nothing() {
        let (_dir, store) = seeded().await;
        let before = store.calendar_years().await.unwrap();
        let good = year(2027, &["2027-01-01"], &["2027-01-09"]);
        let conflicting = year(2026, &["2026-02-14"], &["2026-02-14"]);
        let err = store.replace_calendar_years(vec![good.clone(), conflicting], author(CalendarSource::Toml)).await;
        assert!(matches!(err, Err(StoreError::Domain(e)) if e.code == "calendar_conflict"));
        let gap = year(2029, &["2029-01-01"], &[]);
        let err = store.replace_calendar_years(vec![good.clone(), gap], author(CalendarSource::Toml)).await;
        assert!(matches!(err, Err(StoreError::Domain(e)) if e.code == "invalid_calendar"));
        let twice = store.replace_calendar_years(vec![good.clone(), good.clone()], author(CalendarSource::Toml)).await;
        assert!(matches!(twice, Err(StoreError::Domain(e)) if e.code == "invalid_calendar"));
        assert_eq!(store.calendar_years().await.unwrap(), before);
        assert_eq!(store.calendar_changes(100).await.unwrap().len(), 8);

        let changes = store.replace_calendar_years(vec![good.clone()], author(CalendarSource::Toml)).await.unwrap();
        assert_eq!((changes[0].year, changes[0].previous.is_none()), (Some(2027), true));
        assert_eq!(store.calendar_years().await.unwrap().last(), Some(&good));
        let latest = &store.calendar_changes(1).await.unwrap()[0];
        assert_eq!(latest, &changes[0]);
        assert_eq!((latest.actor_user_id, latest.source), (Some(7), CalendarSource::Toml));
    }

    #[tokio::test]
    async fn changes_can_be_neither_updated_nor_deleted() {
        let (dir, _store) = seeded().await;
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        let update = conn.execute("UPDATE calendar_changes SET actor_name = 'x'", []);
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = conn.execute("DELETE FROM calendar_changes", []);
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        let both = conn.execute(
            "INSERT INTO calendar_days (date, year, kind, name) VALUES ('2026-02-14', 2026, 'holiday', 'x')",
            [],
        );
        assert!(both.is_err(), "a date is a holiday or a make-up day, not both");
    }
}
