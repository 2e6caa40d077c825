//! Scoring rollups (考核), updated in the transaction of each event.
//!
//! `score_days` and `score_months` hold the counters of
//! [`mashangban_domain::scoring::Counter`] per (day, unit) and (month, unit).
//! [`on_event`] replays the request's earlier events with the domain's
//! [`Tracker`] and adds the new event's deltas to both tables, in key order
//! (days, then months) so concurrent PostgreSQL writers lock rows in one
//! order and cannot deadlock. A report sums whole months from `score_months`
//! and the days at either end from `score_days`. Unit 0 stands for "no unit"
//! (counted for the city only).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::RequestId;
use mashangban_domain::scoring::{self, Counter, Counters, Period, Report, ScoreOptions, Tracker, day_key, month_key};
use mashangban_store::backend::{Grain, RollupRows, collect_deltas, month_rows, scoring_calendar, split_period};
use mashangban_store::{RebuildSummary, ScoringStore, StoreResult};

use crate::requests::query::history;
use crate::sql::{Conn, Database, Dialect, Value, job};
use crate::{SqlStore, args, rows};

impl<D: Database> ScoringStore for SqlStore<D> {
    async fn score_report(&self, period: Period, options: ScoreOptions) -> StoreResult<Report> {
        if self.db.read(job(|c| Box::pin(rebuild_needed(c)))).await? {
            self.rebuild_scoring().await?;
        }
        self.db.read(job(move |c| Box::pin(report(c, period, options)))).await
    }

    async fn rebuild_scoring(&self) -> StoreResult<RebuildSummary> {
        self.db.write(job(|c| Box::pin(rebuild(c)))).await
    }
}

/// Called in the same transaction as every event written, after it is inserted.
pub async fn on_event(c: &dyn Conn, request_id: RequestId, draft: &EventDraft) -> StoreResult<()> {
    if !scoring::event_counts(draft.kind, draft.from_state, draft.to_state) {
        return Ok(());
    }
    let history = history(c, request_id).await?;
    let Some((last, earlier)) = history.split_last() else {
        return Ok(());
    };
    let deltas = Tracker::replay(earlier).deltas(last, scoring_calendar()?);
    let mut days = RollupRows::new();
    collect_deltas(&mut days, &deltas);
    let months = month_rows(&days);
    add_rows(c, Grain::Day, &days).await?;
    add_rows(c, Grain::Month, &months).await.map(drop)
}

fn columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL.iter().map(|c| c.column())
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every counter, per table.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(upsert_sql));

fn upsert_sql(table: Grain) -> String {
    let names: Vec<&str> = columns().collect();
    let marks: Vec<String> = (1..=names.len() + 2).map(|i| format!("${i}")).collect();
    let t = table.scoring_table();
    let sets: Vec<String> = names.iter().map(|c| format!("{c} = {t}.{c} + EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO {t} ({k}, unit_id, {cols}) VALUES ({marks}) ON CONFLICT ({k}, unit_id) DO UPDATE SET {sets}",
        k = table.column(),
        cols = names.join(", "),
        marks = marks.join(", "),
        sets = sets.join(", "),
    )
}

/// Adds the non-zero rows, in key order; answers how many.
async fn add_rows(c: &dyn Conn, table: Grain, rows: &RollupRows) -> StoreResult<u64> {
    let mut written = 0;
    for (&(key, unit), counters) in rows.iter().filter(|(_, counters)| !counters.is_zero()) {
        let values: Vec<Value> =
            [key, unit].into_iter().chain(Counter::ALL.iter().map(|&c| counters.get(c))).map(Value::Int).collect();
        c.execute(&UPSERT[table.index()], &values).await?;
        written += 1;
    }
    Ok(written)
}

// ---- reports ---------------------------------------------------------------

async fn report(c: &dyn Conn, period: Period, options: ScoreOptions) -> StoreResult<Report> {
    let mut totals: BTreeMap<Option<UnitId>, Counters> = BTreeMap::new();
    let split = split_period(&period);
    for (from, to) in split.days {
        sum_rows(c, Grain::Day, day_key(from), day_key(to), &mut totals).await?;
    }
    if let Some((from, to)) = split.months {
        sum_rows(c, Grain::Month, month_key(from), month_key(to), &mut totals).await?;
    }
    Ok(Report::from_counters(period, options, &totals))
}

static SUMS: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(sum_sql));

fn sum_sql(table: Grain) -> String {
    let sums: Vec<String> = columns().map(|c| format!("CAST(SUM({c}) AS BIGINT)")).collect();
    format!(
        "SELECT unit_id, {sums} FROM {t} WHERE {k} BETWEEN $1 AND $2 GROUP BY unit_id",
        sums = sums.join(", "),
        t = table.scoring_table(),
        k = table.column(),
    )
}

async fn sum_rows(
    c: &dyn Conn,
    table: Grain,
    from: i64,
    to: i64,
    totals: &mut BTreeMap<Option<UnitId>, Counters>,
) -> StoreResult<()> {
    for row in c.query(&SUMS[table.index()], &args![from, to]).await? {
        let mut cols = row.cols();
        let unit: i64 = cols.get()?;
        let entry = totals.entry((unit != 0).then_some(unit)).or_default();
        for &counter in Counter::ALL {
            entry.add(counter, cols.get()?);
        }
    }
    Ok(())
}

// ---- rebuild ---------------------------------------------------------------

async fn rebuild_needed(c: &dyn Conn) -> StoreResult<bool> {
    let flag: Option<i64> = c.scalar_opt("SELECT value FROM score_meta WHERE key = 'rebuild_needed'", &[]).await?;
    Ok(flag.is_some_and(|v| v != 0))
}

/// Deletes the rollups and recomputes them from every event, oldest first
/// per request, streamed (the rollups are small, the events are not). On
/// PostgreSQL the rollup tables stay locked against event writers until the
/// rebuild commits: an event committed before is in the rebuild, one
/// committed after adds its deltas to the rebuilt rows.
async fn rebuild(c: &dyn Conn) -> StoreResult<RebuildSummary> {
    if c.dialect() == Dialect::Postgres {
        c.batch("LOCK TABLE score_days, score_months, score_meta IN EXCLUSIVE MODE").await?;
    }
    c.batch("DELETE FROM score_days; DELETE FROM score_months; DELETE FROM score_meta;").await?;
    let calendar = scoring_calendar()?;
    let mut summary = RebuildSummary::default();
    let mut days = RollupRows::new();
    let mut current: Option<(RequestId, Tracker)> = None;
    let sql = format!("SELECT {} FROM events ORDER BY request_id, seq", rows::EVENT_COLUMNS);
    c.for_each(&sql, &[], &mut |row| {
        let event = rows::event(row)?;
        let tracker = match &mut current {
            Some((id, tracker)) if *id == event.request_id => tracker,
            _ => {
                summary.requests += 1;
                &mut current.insert((event.request_id, Tracker::default())).1
            }
        };
        collect_deltas(&mut days, &tracker.step(&event, calendar));
        summary.events += 1;
        Ok(())
    })
    .await?;
    let months = month_rows(&days);
    summary.day_rows = add_rows(c, Grain::Day, &days).await?;
    summary.month_rows = add_rows(c, Grain::Month, &months).await?;
    Ok(summary)
}
