//! Scoring rollups (考核) in PostgreSQL, updated in the transaction of each event.
//!
//! As in the SQLite store: [`on_event`] replays the request's earlier events
//! with the domain's [`Tracker`] and adds the new event's deltas to
//! `score_days` and `score_months` with `INSERT … ON CONFLICT DO UPDATE`.
//! Rows are written in key order (days, then months) so that concurrent
//! writers lock them in one order and cannot deadlock on them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use deadpool_postgres::{GenericClient, Transaction};
use futures_util::StreamExt;

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::org::UnitId;
use mashangban_domain::request::RequestId;
use mashangban_domain::scoring::{self, Counter, Counters, Period, Report, ScoreOptions, Tracker, day_key, month_key};
use mashangban_store::backend::{Grain, RollupRows, collect_deltas, month_rows, scoring_calendar, split_period};
use mashangban_store::{RebuildSummary, ScoringStore, StoreResult};

use crate::PgStore;
use crate::db::{commit, db_err, execute, query, query_opt};
use crate::rows::{self, get};

impl ScoringStore for PgStore {
    async fn score_report(&self, period: Period, options: ScoreOptions) -> StoreResult<Report> {
        let needs_rebuild = {
            let client = self.client().await?;
            rebuild_needed(&client).await?
        };
        if needs_rebuild {
            self.rebuild_scoring().await?;
        }
        let client = self.client().await?;
        report(&client, period, options).await
    }

    async fn rebuild_scoring(&self) -> StoreResult<RebuildSummary> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let summary = rebuild(&tx).await?;
        commit(tx).await?;
        Ok(summary)
    }
}

/// Called in the same transaction as every event written, after it is inserted.
pub async fn on_event(tx: &Transaction<'_>, request_id: RequestId, draft: &EventDraft) -> StoreResult<()> {
    if !scoring::event_counts(draft.kind, draft.from_state, draft.to_state) {
        return Ok(());
    }
    let history = crate::requests::history(tx, request_id).await?;
    let Some((last, earlier)) = history.split_last() else {
        return Ok(());
    };
    let deltas = Tracker::replay(earlier).deltas(last, scoring_calendar()?);
    let mut days = RollupRows::new();
    collect_deltas(&mut days, &deltas);
    let months = month_rows(&days);
    add_rows(tx, Grain::Day, &days).await?;
    add_rows(tx, Grain::Month, &months).await.map(drop)
}

fn columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL.iter().map(|c| c.column())
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every counter, per table.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(upsert_sql));

fn upsert_sql(table: Grain) -> String {
    let names: Vec<&str> = columns().collect();
    let marks: Vec<String> = (1..=names.len() + 2).map(|i| format!("${i}")).collect();
    let sets: Vec<String> =
        names.iter().map(|c| format!("{c} = {t}.{c} + EXCLUDED.{c}", t = table.scoring_table())).collect();
    format!(
        "INSERT INTO {t} ({k}, unit_id, {cols}) VALUES ({marks}) ON CONFLICT ({k}, unit_id) DO UPDATE SET {sets}",
        t = table.scoring_table(),
        k = table.column(),
        cols = names.join(", "),
        marks = marks.join(", "),
        sets = sets.join(", "),
    )
}

/// Adds the non-zero rows, in key order.
async fn add_rows(c: &impl GenericClient, table: Grain, rows: &RollupRows) -> StoreResult<u64> {
    let sql = &UPSERT[table.index()];
    let mut written = 0;
    for (&(key, unit), counters) in rows.iter().filter(|(_, c)| !c.is_zero()) {
        let values: Vec<i64> = [key, unit].into_iter().chain(Counter::ALL.iter().map(|&c| counters.get(c))).collect();
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        execute(c, sql, &params).await?;
        written += 1;
    }
    Ok(written)
}

// ---- reports ---------------------------------------------------------------

async fn report(c: &impl GenericClient, period: Period, options: ScoreOptions) -> StoreResult<Report> {
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
    // SUM over BIGINT is NUMERIC in PostgreSQL; the totals fit in BIGINT.
    let sums: Vec<String> = columns().map(|c| format!("SUM({c})::BIGINT AS {c}")).collect();
    format!(
        "SELECT unit_id, {sums} FROM {t} WHERE {k} BETWEEN $1 AND $2 GROUP BY unit_id",
        sums = sums.join(", "),
        t = table.scoring_table(),
        k = table.column(),
    )
}

async fn sum_rows(
    c: &impl GenericClient,
    table: Grain,
    from: i64,
    to: i64,
    totals: &mut BTreeMap<Option<UnitId>, Counters>,
) -> StoreResult<()> {
    for row in query(c, &SUMS[table.index()], &[&from, &to]).await? {
        let unit: i64 = get(&row, "unit_id")?;
        let entry = totals.entry((unit != 0).then_some(unit)).or_default();
        for &counter in Counter::ALL {
            entry.add(counter, get::<i64>(&row, counter.column())?);
        }
    }
    Ok(())
}

// ---- rebuild ---------------------------------------------------------------

async fn rebuild_needed(c: &impl GenericClient) -> StoreResult<bool> {
    let flag = query_opt(c, "SELECT value FROM score_meta WHERE key = 'rebuild_needed'", &[]).await?;
    Ok(match flag {
        Some(row) => get::<i64>(&row, "value")? != 0,
        None => false,
    })
}

/// Deletes the rollups and recomputes them from every event, oldest first
/// per request. The rollup tables stay locked against event writers until
/// the rebuild commits: an event committed before is in the rebuild, one
/// committed after adds its deltas to the rebuilt rows.
async fn rebuild(tx: &Transaction<'_>) -> StoreResult<RebuildSummary> {
    tx.batch_execute(
        "LOCK TABLE score_days, score_months, score_meta IN EXCLUSIVE MODE;
         DELETE FROM score_days; DELETE FROM score_months; DELETE FROM score_meta;",
    )
    .await
    .map_err(db_err)?;
    let calendar = scoring_calendar()?;
    let mut summary = RebuildSummary::default();
    let mut days = RollupRows::new();
    // Streamed, not collected: the rollups are small, the events are not.
    let sql = format!("SELECT {} FROM events ORDER BY request_id, seq", rows::EVENT_COLUMNS);
    let stmt = tx.prepare_cached(&sql).await.map_err(db_err)?;
    let events = tx.query_raw(&stmt, std::iter::empty::<i64>()).await.map_err(db_err)?;
    let mut events = std::pin::pin!(events);
    let mut current: Option<(RequestId, Tracker)> = None;
    while let Some(row) = events.next().await {
        let event = rows::event(&row.map_err(db_err)?)?;
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
    summary.day_rows = add_rows(tx, Grain::Day, &days).await?;
    summary.month_rows = add_rows(tx, Grain::Month, &months).await?;
    Ok(summary)
}
