//! Scoring rollups (考核) in SQLite, updated in the transaction of each event.
//!
//! `score_days` and `score_months` hold the counters of
//! [`mashangban_domain::scoring::Counter`] per (day, unit) and (month, unit).
//! [`on_event`] replays the request's earlier events with the domain's
//! [`Tracker`] and adds the new event's deltas to both tables; a report sums
//! whole months from `score_months` and the days at either end from
//! `score_days`. Unit 0 stands for "no unit" (counted for the city only).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{Event, RequestId};
use mashangban_domain::scoring::{self, Counter, Counters, Period, Report, ScoreOptions, Tracker, day_key, month_key};
use mashangban_store::backend::{Grain, RollupRows, collect_deltas, month_rows, scoring_calendar, split_period};
use mashangban_store::{Meta, RebuildSummary, ScoringStore, StoreResult};

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

/// Called in the same transaction as every event written, after it is inserted.
pub fn on_event(conn: &Connection, request_id: RequestId, draft: &EventDraft, _meta: &Meta) -> StoreResult<()> {
    if !scoring::event_counts(draft.kind, draft.from_state, draft.to_state) {
        return Ok(());
    }
    let history = history(conn, request_id)?;
    let Some((last, earlier)) = history.split_last() else {
        return Ok(());
    };
    let deltas = Tracker::replay(earlier).deltas(last, scoring_calendar()?);
    let mut days = RollupRows::new();
    collect_deltas(&mut days, &deltas);
    for ((day, unit), counters) in &days {
        add_row(conn, Grain::Day, *day, *unit, counters)?;
        add_row(conn, Grain::Month, day / 100, *unit, counters)?;
    }
    Ok(())
}

fn history(conn: &Connection, request_id: RequestId) -> StoreResult<Vec<Event>> {
    let sql = format!("SELECT {} FROM events WHERE request_id = ?1 ORDER BY seq", rows::EVENT_COLUMNS);
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let events = stmt.query_map([request_id], rows::event).map_err(db_err)?.collect::<Result<_, _>>();
    events.map_err(db_err)
}

fn columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL.iter().map(|c| c.column())
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every counter, per table.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(upsert_sql));

fn upsert_sql(table: Grain) -> String {
    let names: Vec<&str> = columns().collect();
    let marks = vec!["?"; names.len() + 2].join(", ");
    let sets: Vec<String> = names.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO {t} ({k}, unit_id, {cols}) VALUES ({marks}) ON CONFLICT ({k}, unit_id) DO UPDATE SET {sets}",
        t = table.scoring_table(),
        k = table.column(),
        cols = names.join(", "),
        sets = sets.join(", "),
    )
}

fn add_row(conn: &Connection, table: Grain, key: i64, unit: i64, counters: &Counters) -> StoreResult<()> {
    let sql = &UPSERT[table.index()];
    let values = [key, unit].into_iter().chain(Counter::ALL.iter().map(|&c| counters.get(c)));
    conn.prepare_cached(sql).map_err(db_err)?.execute(params_from_iter(values)).map_err(db_err)?;
    Ok(())
}

// ---- reports ---------------------------------------------------------------

fn report(conn: &Connection, period: Period, options: ScoreOptions) -> StoreResult<Report> {
    let mut totals: BTreeMap<Option<UnitId>, Counters> = BTreeMap::new();
    let split = split_period(&period);
    for (from, to) in split.days {
        sum_rows(conn, Grain::Day, day_key(from), day_key(to), &mut totals)?;
    }
    if let Some((from, to)) = split.months {
        sum_rows(conn, Grain::Month, month_key(from), month_key(to), &mut totals)?;
    }
    Ok(Report::from_counters(period, options, &totals))
}

static SUMS: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(sum_sql));

fn sum_sql(table: Grain) -> String {
    let sums: Vec<String> = columns().map(|c| format!("SUM({c})")).collect();
    format!(
        "SELECT unit_id, {sums} FROM {t} WHERE {k} BETWEEN ?1 AND ?2 GROUP BY unit_id",
        sums = sums.join(", "),
        t = table.scoring_table(),
        k = table.column(),
    )
}

fn sum_rows(
    conn: &Connection,
    table: Grain,
    from: i64,
    to: i64,
    totals: &mut BTreeMap<Option<UnitId>, Counters>,
) -> StoreResult<()> {
    let sql = &SUMS[table.index()];
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
    conn.execute_batch("DELETE FROM score_days; DELETE FROM score_months; DELETE FROM score_meta;").map_err(db_err)?;
    let calendar = scoring_calendar()?;
    let mut summary = RebuildSummary::default();
    let mut days = RollupRows::new();
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
        collect_deltas(&mut days, &tracker.step(&event, calendar));
        summary.events += 1;
    }
    let months = month_rows(&days);
    summary.day_rows = insert_rows(conn, Grain::Day, &days)?;
    summary.month_rows = insert_rows(conn, Grain::Month, &months)?;
    Ok(summary)
}

fn insert_rows(conn: &Connection, table: Grain, rows: &RollupRows) -> StoreResult<u64> {
    let mut written = 0;
    for (&(key, unit), counters) in rows.iter().filter(|(_, c)| !c.is_zero()) {
        add_row(conn, table, key, unit, counters)?;
        written += 1;
    }
    Ok(written)
}
