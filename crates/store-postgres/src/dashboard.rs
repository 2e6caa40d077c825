//! Leader dashboard rollups (领导驾驶舱) in PostgreSQL: each request write
//! appends `dashboard::change(before, after)` to `dash_pending` in its own
//! transaction (appending locks no row another writer needs, where upserting
//! the day's city-wide row made intakes on every node wait for each other);
//! `mashangban_fold_dashboard()` moves the pending rows into `dash_days` and
//! `dash_months` before every dashboard. A dashboard sums whole months and the
//! days at either end, so its cost depends on the period and the keys, not on
//! the number of requests.

use std::collections::HashMap;
use std::sync::LazyLock;

use deadpool_postgres::{GenericClient, Transaction};
use futures_util::StreamExt;
use tokio_postgres::Row;

use mashangban_domain::dashboard::{self, Cell, Dashboard, Dimension, Facts, Granularity, Measures, Sums};
use mashangban_domain::request::{Rating, Request, RequestKind};
use mashangban_domain::scoring::{Period, day_key, month_key};
use mashangban_store::backend::{Grain, dashboard_rows, split_period};
use mashangban_store::{DashboardQuery, DashboardRebuild, DashboardStore, StoreResult};

use crate::PgStore;
use crate::db::{commit, db_err, execute, query, query_opt};
use crate::rows::{self, bad, get};

impl DashboardStore for PgStore {
    async fn dashboard(&self, query: DashboardQuery) -> StoreResult<Dashboard> {
        let client = self.client().await?;
        if rebuild_needed(&client).await? {
            drop(client);
            self.rebuild_dashboard().await?;
            return report(&self.client().await?, query).await;
        }
        execute(&client, "SELECT mashangban_fold_dashboard()", &[]).await?;
        report(&client, query).await
    }

    async fn rebuild_dashboard(&self) -> StoreResult<DashboardRebuild> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let summary = rebuild(&tx).await?;
        commit(tx).await?;
        Ok(summary)
    }
}

/// Called in the transaction that writes a request: `before` is the request
/// as it was (none for an intake), `after` as written.
pub async fn on_change(tx: &Transaction<'_>, before: Option<&Request>, after: &Request) -> StoreResult<()> {
    let before = before.map(Facts::of);
    let [days, _] = dashboard_rows(dashboard::change(before.as_ref(), &Facts::of(after)));
    for ((day, dim, key), m) in &days {
        let (dim, values) = (dim.as_str(), m.values());
        execute(tx, &PENDING, &row_params(day, &dim, key, &values)).await?;
    }
    Ok(())
}

/// Appends one day row's change to `dash_pending`.
static PENDING: LazyLock<String> = LazyLock::new(|| {
    let cols = Measures::COLUMNS;
    let marks: Vec<String> = (1..=cols.len() + 3).map(|i| format!("${i}")).collect();
    format!("INSERT INTO dash_pending (day, dim, key, {}) VALUES ({})", cols.join(", "), marks.join(", "))
});

/// The parameters of a rollup row: its period key, dimension, key and measures.
fn row_params<'a>(
    period: &'a i64,
    dim: &'a &'static str,
    key: &'a String,
    values: &'a [i64; 9],
) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![period, dim, key];
    params.extend(values.iter().map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync)));
    params
}

/// Adds the day and month rows of `cells`, in key order so that concurrent
/// writers lock them in the same order (no deadlock); answers how many of each.
async fn add_rows(c: &impl GenericClient, cells: impl IntoIterator<Item = (Cell, Measures)>) -> StoreResult<[u64; 2]> {
    let mut counts = [0; 2];
    for (grain, rows) in Grain::BOTH.into_iter().zip(dashboard_rows(cells)) {
        for ((period, dim, key), m) in &rows {
            add_row(c, grain, *period, *dim, key, m).await?;
        }
        counts[grain.index()] = rows.len() as u64;
    }
    Ok(counts)
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every measure, per grain.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(upsert_sql));

fn upsert_sql(grain: Grain) -> String {
    let cols = Measures::COLUMNS;
    let marks: Vec<String> = (1..=cols.len() + 3).map(|i| format!("${i}")).collect();
    let t = grain.dashboard_table();
    let sets: Vec<String> = cols.iter().map(|c| format!("{c} = {t}.{c} + EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO {t} ({k}, dim, key, {cols}) VALUES ({marks}) ON CONFLICT ({k}, dim, key) DO UPDATE SET {sets}",
        k = grain.column(),
        cols = cols.join(", "),
        marks = marks.join(", "),
        sets = sets.join(", "),
    )
}

async fn add_row(
    c: &impl GenericClient,
    grain: Grain,
    period: i64,
    dim: Dimension,
    key: &String,
    m: &Measures,
) -> StoreResult<()> {
    let (values, dim) = (m.values(), dim.as_str());
    execute(c, &UPSERT[grain.index()], &row_params(&period, &dim, key, &values)).await.map(drop)
}

// ---- dashboards ------------------------------------------------------------

async fn report(c: &impl GenericClient, query: DashboardQuery) -> StoreResult<Dashboard> {
    let period = query.period;
    let by_month = dashboard::granularity(&period) == Granularity::Month;
    let mut sums = Sums::default();
    let split = split_period(&period);
    for (from, to) in &split.days {
        sum_rows(c, Grain::Day, (day_key(*from), day_key(*to)), &mut sums, by_month).await?;
    }
    if let Some((from, to)) = split.months {
        sum_rows(c, Grain::Month, (month_key(from), month_key(to)), &mut sums, by_month).await?;
    }
    if !by_month {
        daily_trend(c, &period, &mut sums).await?;
    }
    sums.category_parents = category_parents(c).await?;
    Ok(Dashboard::build(period, query.options, &sums))
}

static ROWS: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(rows_sql));

fn rows_sql(grain: Grain) -> String {
    format!(
        "SELECT {k} AS period, dim, key, {cols} FROM {t} WHERE {k} BETWEEN $1 AND $2",
        k = grain.column(),
        t = grain.dashboard_table(),
        cols = Measures::COLUMNS.join(", "),
    )
}

/// Adds the rows of the range to the cells; with `trend`, the city's rows
/// also to the trend (a month's on its first day).
async fn sum_rows(
    c: &impl GenericClient,
    grain: Grain,
    range: (i64, i64),
    sums: &mut Sums,
    trend: bool,
) -> StoreResult<()> {
    for row in query(c, &ROWS[grain.index()], &[&range.0, &range.1]).await? {
        let dim: String = get(&row, "dim")?;
        let Some(dim) = Dimension::parse(&dim) else { continue };
        let m = measures(&row)?;
        if trend && dim == Dimension::Total {
            sums.days.entry(grain.date_of(get(&row, "period")?)).or_default().add(&m);
        }
        sums.cells.entry((dim, get(&row, "key")?)).or_default().add(&m);
    }
    Ok(())
}

async fn daily_trend(c: &impl GenericClient, period: &Period, sums: &mut Sums) -> StoreResult<()> {
    let sql = format!(
        "SELECT day AS period, {} FROM dash_days WHERE day BETWEEN $1 AND $2 AND dim = 'total' AND key = ''",
        Measures::COLUMNS.join(", ")
    );
    for row in query(c, &sql, &[&day_key(period.from), &day_key(period.to)]).await? {
        sums.days.entry(Grain::Day.date_of(get(&row, "period")?)).or_default().add(&measures(&row)?);
    }
    Ok(())
}

fn measures(row: &Row) -> StoreResult<Measures> {
    let mut values = [0i64; 9];
    for (v, col) in values.iter_mut().zip(Measures::COLUMNS) {
        *v = get(row, col)?;
    }
    Ok(Measures::from_values(values))
}

async fn category_parents(c: &impl GenericClient) -> StoreResult<HashMap<i64, Option<i64>>> {
    let rows = query(c, "SELECT id, parent_id FROM categories", &[]).await?;
    rows.iter().map(|r| Ok((get(r, "id")?, get(r, "parent_id")?))).collect()
}

// ---- rebuild ---------------------------------------------------------------

async fn rebuild_needed(c: &impl GenericClient) -> StoreResult<bool> {
    let flag = query_opt(c, "SELECT value FROM dash_meta WHERE key = 'rebuild_needed'", &[]).await?;
    Ok(match flag {
        Some(row) => get::<i64>(&row, "value")? != 0,
        None => false,
    })
}

fn facts(row: &Row) -> StoreResult<Facts> {
    let kind: String = get(row, "kind")?;
    let rating: Option<String> = get(row, "rating")?;
    Ok(Facts {
        received_at: rows::instant(row, "received_at")?,
        closed_at: rows::opt_instant(row, "closed_at")?,
        due_at: rows::opt_instant(row, "due_at")?,
        rating: rating.as_deref().map(|r| Rating::parse(r).ok_or_else(|| bad("rating", r))).transpose()?,
        lead_unit_id: get(row, "lead_unit_id")?,
        town_id: get(row, "town_id")?,
        kind: RequestKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        category_id: get(row, "category_id")?,
    })
}

/// Deletes the rollups and recomputes them from every request. The rollup
/// tables stay locked against request writers until the rebuild commits: a
/// change committed before is in the rebuild, one committed after adds its
/// difference to the rebuilt rows.
async fn rebuild(tx: &Transaction<'_>) -> StoreResult<DashboardRebuild> {
    tx.batch_execute(
        "LOCK TABLE dash_days, dash_months, dash_meta, dash_pending IN EXCLUSIVE MODE;
         DELETE FROM dash_days; DELETE FROM dash_months; DELETE FROM dash_meta; DELETE FROM dash_pending;",
    )
    .await
    .map_err(db_err)?;
    let mut summary = DashboardRebuild::default();
    let mut cells: HashMap<Cell, Measures> = HashMap::new();
    let sql = "SELECT received_at, closed_at, due_at, rating, lead_unit_id, town_id, kind, category_id FROM requests";
    let stmt = tx.prepare_cached(sql).await.map_err(db_err)?;
    // Streamed, not collected: the rollups are small, the requests are not.
    let found = tx.query_raw(&stmt, std::iter::empty::<i64>()).await.map_err(db_err)?;
    let mut found = std::pin::pin!(found);
    while let Some(row) = found.next().await {
        dashboard::add_cells(&mut cells, &facts(&row.map_err(db_err)?)?, 1);
        summary.requests += 1;
    }
    [summary.day_rows, summary.month_rows] = add_rows(tx, cells).await?;
    Ok(summary)
}
