//! Scoring rollups (考核) in SQLite, updated in the transaction of each event.
//!
//! `score_days` and `score_months` hold the counters of
//! [`mashangban_domain::scoring::Counter`] per (day, unit) and (month, unit).
//! [`on_event`] replays the request's earlier events with the domain's
//! [`Tracker`] and adds the new event's deltas to both tables; a report sums
//! whole months from `score_months` and the days at either end from
//! `score_days`. Unit 0 stands for "no unit" (counted for the city only).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use mashangban_domain::DomainError;
use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{Event, RequestId};
use mashangban_domain::scoring::{
    self, Counter, Counters, Delta, Period, Report, ScoreOptions, Tracker, day_key, month_key,
};
use mashangban_store::{Meta, RebuildSummary, ScoringStore, StoreError, StoreResult};

use crate::SqliteStore;
use crate::rows::{self, db_err};

impl ScoringStore for SqliteStore {
    async fn score_report(&self, period: Period, options: ScoreOptions) -> StoreResult<Report> {
        if self.db.read(rebuild_needed).await? {
            self.rebuild_scoring().await?;
        }
        self.db.read(move |conn| report(conn, period, options)).await
    }

    async fn rebuild_scoring(&self) -> StoreResult<RebuildSummary> {
        self.db.write(rebuild).await
    }
}

/// The work calendar handling times are counted with: the bundled holiday
/// data. After the calendar data changes, rebuild the rollups.
static CALENDAR: LazyLock<Result<WorkCalendar, DomainError>> = LazyLock::new(WorkCalendar::bundled);

fn calendar() -> StoreResult<&'static WorkCalendar> {
    CALENDAR.as_ref().map_err(|e| StoreError::backend(format!("bundled work calendar: {e}")))
}

/// Called in the same transaction as every event written, after it is inserted.
pub fn on_event(conn: &Connection, request_id: RequestId, draft: &EventDraft, _meta: &Meta) -> StoreResult<()> {
    if !scoring::event_counts(draft.kind, draft.from_state, draft.to_state) {
        return Ok(());
    }
    let history = history(conn, request_id)?;
    let Some((last, earlier)) = history.split_last() else {
        return Ok(());
    };
    let deltas = Tracker::replay(earlier).deltas(last, calendar()?);
    let mut days = HashMap::new();
    collect(&mut days, &deltas);
    for ((day, unit), counters) in &days {
        add_row(conn, Table::Days, *day, *unit, counters)?;
        add_row(conn, Table::Months, day / 100, *unit, counters)?;
    }
    Ok(())
}

fn history(conn: &Connection, request_id: RequestId) -> StoreResult<Vec<Event>> {
    let sql = format!("SELECT {} FROM events WHERE request_id = ?1 ORDER BY seq", rows::EVENT_COLUMNS);
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let events = stmt.query_map([request_id], rows::event).map_err(db_err)?.collect::<Result<_, _>>();
    events.map_err(db_err)
}

/// Counters per (YYYYMMDD, unit id or 0).
type DayRows = HashMap<(i64, i64), Counters>;

fn collect(rows: &mut DayRows, deltas: &[Delta]) {
    for d in deltas {
        rows.entry((day_key(d.day), d.unit.unwrap_or(0))).or_default().add(d.counter, d.amount);
    }
}

#[derive(Debug, Clone, Copy)]
enum Table {
    Days,
    Months,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Days => "score_days",
            Self::Months => "score_months",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Days => "day",
            Self::Months => "month",
        }
    }
}

fn columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL.iter().map(|c| c.column())
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every counter, per table.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| [upsert_sql(Table::Days), upsert_sql(Table::Months)]);

fn upsert_sql(table: Table) -> String {
    let names: Vec<&str> = columns().collect();
    let marks = vec!["?"; names.len() + 2].join(", ");
    let sets: Vec<String> = names.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO {t} ({k}, unit_id, {cols}) VALUES ({marks}) ON CONFLICT ({k}, unit_id) DO UPDATE SET {sets}",
        t = table.name(),
        k = table.key(),
        cols = names.join(", "),
        sets = sets.join(", "),
    )
}

fn add_row(conn: &Connection, table: Table, key: i64, unit: i64, counters: &Counters) -> StoreResult<()> {
    let sql = match table {
        Table::Days => &UPSERT[0],
        Table::Months => &UPSERT[1],
    };
    let values = [key, unit].into_iter().chain(Counter::ALL.iter().map(|&c| counters.get(c)));
    conn.prepare_cached(sql).map_err(db_err)?.execute(params_from_iter(values)).map_err(db_err)?;
    Ok(())
}

// ---- reports ---------------------------------------------------------------

fn report(conn: &Connection, period: Period, options: ScoreOptions) -> StoreResult<Report> {
    let mut totals: BTreeMap<Option<UnitId>, Counters> = BTreeMap::new();
    let split = split(&period);
    for (from, to) in split.days {
        sum_rows(conn, Table::Days, day_key(from), day_key(to), &mut totals)?;
    }
    if let Some((from, to)) = split.months {
        sum_rows(conn, Table::Months, month_key(from), month_key(to), &mut totals)?;
    }
    Ok(Report::from_counters(period, options, &totals))
}

/// A period as whole months plus the days at either end.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    pub days: Vec<(NaiveDate, NaiveDate)>,
    /// The first day of the first and of the last whole month.
    pub months: Option<(NaiveDate, NaiveDate)>,
}

pub(crate) fn split(period: &Period) -> Split {
    let first_full = if period.from.day() == 1 { Some(period.from) } else { next_month(period.from) };
    let after_to = period.to.checked_add_days(Days::new(1));
    let end_full = match after_to {
        Some(next) if next.day() == 1 => next,
        _ => period.to.with_day(1).unwrap_or(period.to),
    };
    match first_full {
        Some(start) if start < end_full => {
            let mut days = Vec::new();
            if period.from < start {
                days.extend(start.pred_opt().map(|d| (period.from, d)));
            }
            if end_full <= period.to {
                days.push((end_full, period.to));
            }
            let last_month = end_full.pred_opt().and_then(|d| d.with_day(1)).unwrap_or(start);
            Split { days, months: Some((start, last_month)) }
        }
        _ => Split { days: vec![(period.from, period.to)], months: None },
    }
}

/// The first day of the month after the day's month.
fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    day.with_day(1)?.checked_add_months(chrono::Months::new(1))
}

static SUMS: LazyLock<[String; 2]> = LazyLock::new(|| [sum_sql(Table::Days), sum_sql(Table::Months)]);

fn sum_sql(table: Table) -> String {
    let sums: Vec<String> = columns().map(|c| format!("SUM({c})")).collect();
    format!(
        "SELECT unit_id, {sums} FROM {t} WHERE {k} BETWEEN ?1 AND ?2 GROUP BY unit_id",
        sums = sums.join(", "),
        t = table.name(),
        k = table.key(),
    )
}

fn sum_rows(
    conn: &Connection,
    table: Table,
    from: i64,
    to: i64,
    totals: &mut BTreeMap<Option<UnitId>, Counters>,
) -> StoreResult<()> {
    let sql = match table {
        Table::Days => &SUMS[0],
        Table::Months => &SUMS[1],
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = stmt.query(params![from, to]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let unit: i64 = row.get(0).map_err(db_err)?;
        let entry = totals.entry((unit != 0).then_some(unit)).or_default();
        for (i, &counter) in Counter::ALL.iter().enumerate() {
            entry.add(counter, row.get::<_, i64>(i + 1).map_err(db_err)?);
        }
    }
    Ok(())
}

// ---- rebuild ---------------------------------------------------------------

fn rebuild_needed(conn: &Connection) -> StoreResult<bool> {
    let flag: Option<i64> = conn
        .query_row("SELECT value FROM score_meta WHERE key = 'rebuild_needed'", [], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    Ok(flag.is_some_and(|v| v != 0))
}

/// Deletes the rollups and recomputes them from every event, oldest first per request.
fn rebuild(conn: &Connection) -> StoreResult<RebuildSummary> {
    conn.execute_batch("DELETE FROM score_days; DELETE FROM score_months; DELETE FROM score_meta;")
        .map_err(db_err)?;
    let calendar = calendar()?;
    let mut summary = RebuildSummary::default();
    let mut days = DayRows::new();
    let sql = format!("SELECT {} FROM events ORDER BY request_id, seq", rows::EVENT_COLUMNS);
    let mut stmt = conn.prepare(&sql).map_err(db_err)?;
    let mut found = stmt.query([]).map_err(db_err)?;
    let mut current: Option<(RequestId, Tracker)> = None;
    while let Some(row) = found.next().map_err(db_err)? {
        let event = rows::event(row).map_err(db_err)?;
        let tracker = match &mut current {
            Some((id, tracker)) if *id == event.request_id => tracker,
            _ => {
                summary.requests += 1;
                &mut current.insert((event.request_id, Tracker::default())).1
            }
        };
        collect(&mut days, &tracker.step(&event, calendar));
        summary.events += 1;
    }
    let mut months = DayRows::new();
    for (&(day, unit), counters) in &days {
        months.entry((day / 100, unit)).or_default().merge(counters);
    }
    summary.day_rows = insert_rows(conn, Table::Days, &days)?;
    summary.month_rows = insert_rows(conn, Table::Months, &months)?;
    Ok(summary)
}

fn insert_rows(conn: &Connection, table: Table, rows: &DayRows) -> StoreResult<u64> {
    let mut written = 0;
    for (&(key, unit), counters) in rows.iter().filter(|(_, c)| !c.is_zero()) {
        add_row(conn, table, key, unit, counters)?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn split_of(from: &str, to: &str) -> Split {
        split(&Period::new(day(from), day(to)).unwrap())
    }

    #[test]
    fn periods_split_into_whole_months_and_edge_days() {
        assert_eq!(
            split_of("2026-01-01", "2026-03-31"),
            Split { days: vec![], months: Some((day("2026-01-01"), day("2026-03-01"))) }
        );
        assert_eq!(
            split_of("2026-01-15", "2026-04-10"),
            Split {
                days: vec![(day("2026-01-15"), day("2026-01-31")), (day("2026-04-01"), day("2026-04-10"))],
                months: Some((day("2026-02-01"), day("2026-03-01")))
            }
        );
        assert_eq!(split_of("2026-01-15", "2026-02-10"), Split { days: vec![(day("2026-01-15"), day("2026-02-10"))], months: None });
        assert_eq!(split_of("2026-02-01", "2026-02-27"), Split { days: vec![(day("2026-02-01"), day("2026-02-27"))], months: None });
        assert_eq!(
            split_of("2026-02-02", "2026-03-31"),
            Split { days: vec![(day("2026-02-02"), day("2026-02-28"))], months: Some((day("2026-03-01"), day("2026-03-01"))) }
        );
    }
}
