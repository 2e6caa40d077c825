//! Leader dashboard rollups (领导驾驶舱), changed in the transaction that
//! writes each request.
//!
//! `dash_days` and `dash_months` hold [`Measures`] per (day or month,
//! dimension, key). A dashboard sums whole months from `dash_months` and the
//! days at either end from `dash_days`, so its cost depends on the period and
//! the number of keys, not on the requests.
//!
//! How a change reaches the rollups differs: SQLite's single writer upserts
//! the rows directly; on PostgreSQL each request write appends its change to
//! `dash_pending` (appending locks no row another writer needs, where
//! upserting the day's city-wide row made intakes on every node wait for each
//! other) and `mashangban_fold_dashboard()` folds the pending rows in before
//! every dashboard.

use std::collections::HashMap;
use std::sync::LazyLock;

use mashangban_domain::dashboard::{self, Cell, Dashboard, Dimension, Facts, Granularity, Measures, Sums};
use mashangban_domain::request::{Rating, Request, RequestKind};
use mashangban_domain::scoring::{Period, day_key, month_key};
use mashangban_store::backend::{Grain, dashboard_rows, split_period};
use mashangban_store::{DashboardQuery, DashboardRebuild, DashboardStore, StoreResult};

use crate::sql::{Conn, Database, Dialect, Row, Value, job};
use crate::{SqlStore, args};

impl<D: Database> DashboardStore for SqlStore<D> {
    async fn dashboard(&self, query: DashboardQuery) -> StoreResult<Dashboard> {
        if self.db.read(job(|c| Box::pin(rebuild_needed(c)))).await? {
            self.rebuild_dashboard().await?;
        }
        if self.db.dialect() == Dialect::Postgres {
            self.db
                .write(job(|c| Box::pin(async move { c.batch("SELECT mashangban_fold_dashboard()").await })))
                .await?;
        }
        self.db.read(job(move |c| Box::pin(report(c, query)))).await
    }

    async fn rebuild_dashboard(&self) -> StoreResult<DashboardRebuild> {
        self.db.write(job(|c| Box::pin(rebuild(c)))).await
    }
}

/// Called in the transaction that writes a request: `before` is the request
/// as it was (none for an intake), `after` as written.
pub async fn on_change(c: &dyn Conn, before: Option<&Request>, after: &Request) -> StoreResult<()> {
    let before = before.map(Facts::of);
    let cells = dashboard::change(before.as_ref(), &Facts::of(after));
    match c.dialect() {
        Dialect::Sqlite => add_rows(c, cells).await.map(drop),
        Dialect::Postgres => {
            let [days, _] = dashboard_rows(cells);
            for ((day, dim, key), m) in &days {
                c.execute(&PENDING, &row_values(*day, *dim, key, m)).await?;
            }
            Ok(())
        }
    }
}

/// Appends one day row's change to `dash_pending` (PostgreSQL).
static PENDING: LazyLock<String> = LazyLock::new(|| {
    let cols = Measures::COLUMNS;
    let marks: Vec<String> = (1..=cols.len() + 3).map(|i| format!("${i}")).collect();
    format!("INSERT INTO dash_pending (day, dim, key, {}) VALUES ({})", cols.join(", "), marks.join(", "))
});

/// The values of a rollup row: its period key, dimension, key and measures.
fn row_values(period: i64, dim: Dimension, key: &str, m: &Measures) -> Vec<Value> {
    let head = [Value::Int(period), dim.as_str().into(), key.into()];
    head.into_iter().chain(m.values().map(Value::Int)).collect()
}

/// Adds the day and month rows of `cells`, in key order so that concurrent
/// writers lock them in the same order (no deadlock); answers how many of each.
async fn add_rows(c: &dyn Conn, cells: impl IntoIterator<Item = (Cell, Measures)>) -> StoreResult<[u64; 2]> {
    let mut counts = [0; 2];
    for (grain, rows) in Grain::BOTH.into_iter().zip(dashboard_rows(cells)) {
        for ((period, dim, key), m) in &rows {
            c.execute(&UPSERT[grain.index()], &row_values(*period, *dim, key, m)).await?;
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

// ---- dashboards ------------------------------------------------------------

async fn report(c: &dyn Conn, query: DashboardQuery) -> StoreResult<Dashboard> {
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
        "SELECT {k}, dim, key, {cols} FROM {t} WHERE {k} BETWEEN $1 AND $2",
        k = grain.column(),
        t = grain.dashboard_table(),
        cols = Measures::COLUMNS.join(", "),
    )
}

/// Adds the rows of the range to the cells; with `trend`, the city's rows
/// also to the trend (a month's on its first day).
async fn sum_rows(c: &dyn Conn, grain: Grain, range: (i64, i64), sums: &mut Sums, trend: bool) -> StoreResult<()> {
    for row in c.query(&ROWS[grain.index()], &args![range.0, range.1]).await? {
        let mut cols = row.cols();
        let period: i64 = cols.get()?;
        let dim: String = cols.get()?;
        let Some(dim) = Dimension::parse(&dim) else { continue };
        let key: String = cols.get()?;
        let m = measures(&mut cols)?;
        if trend && dim == Dimension::Total {
            sums.days.entry(grain.date_of(period)).or_default().add(&m);
        }
        sums.cells.entry((dim, key)).or_default().add(&m);
    }
    Ok(())
}

async fn daily_trend(c: &dyn Conn, period: &Period, sums: &mut Sums) -> StoreResult<()> {
    let sql = format!(
        "SELECT day, {} FROM dash_days WHERE day BETWEEN $1 AND $2 AND dim = 'total' AND key = ''",
        Measures::COLUMNS.join(", ")
    );
    for row in c.query(&sql, &args![day_key(period.from), day_key(period.to)]).await? {
        let mut cols = row.cols();
        let day = Grain::Day.date_of(cols.get()?);
        sums.days.entry(day).or_default().add(&measures(&mut cols)?);
    }
    Ok(())
}

fn measures(cols: &mut crate::sql::Cols) -> StoreResult<Measures> {
    let mut values = [0i64; 9];
    for v in &mut values {
        *v = cols.get()?;
    }
    Ok(Measures::from_values(values))
}

async fn category_parents(c: &dyn Conn) -> StoreResult<HashMap<i64, Option<i64>>> {
    let rows = c.query("SELECT id, parent_id FROM categories", &[]).await?;
    rows.into_iter().map(|mut r| Ok((r.take(0)?, r.take(1)?))).collect()
}

// ---- rebuild ---------------------------------------------------------------

async fn rebuild_needed(c: &dyn Conn) -> StoreResult<bool> {
    let flag: Option<i64> = c.scalar_opt("SELECT value FROM dash_meta WHERE key = 'rebuild_needed'", &[]).await?;
    Ok(flag.is_some_and(|v| v != 0))
}

/// The columns of the requests table the dashboard reads.
const FACT_COLUMNS: &str = "received_at, closed_at, due_at, rating, lead_unit_id, town_id, kind, category_id";

fn facts(row: Row) -> StoreResult<Facts> {
    let mut c = row.cols();
    Ok(Facts {
        received_at: c.get()?,
        closed_at: c.get()?,
        due_at: c.get()?,
        rating: c.opt_code(Rating::parse)?,
        lead_unit_id: c.get()?,
        town_id: c.get()?,
        kind: c.code(RequestKind::parse)?,
        category_id: c.get()?,
    })
}

/// Deletes the rollups and recomputes them from every request, streamed.
///
/// On PostgreSQL request writers only append to `dash_pending`, and the
/// rebuild never locks it, so intakes and actions go on while it runs. It
/// reads one snapshot (REPEATABLE READ, taken after the rollups are locked
/// against folds): a change committed before the snapshot is in the
/// requests read and its pending rows are deleted with the old rollups; a
/// change committed after is invisible to both, so its pending rows stay and
/// the next fold adds them to the rebuilt rows. A fold waits for the rebuild
/// on the rollup tables before it deletes any pending row.
async fn rebuild(c: &dyn Conn) -> StoreResult<DashboardRebuild> {
    if c.dialect() == Dialect::Postgres {
        c.batch(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
             LOCK TABLE dash_days, dash_months, dash_meta IN EXCLUSIVE MODE;
             DELETE FROM dash_pending;",
        )
        .await?;
    }
    c.batch("DELETE FROM dash_days; DELETE FROM dash_months; DELETE FROM dash_meta;").await?;
    let mut summary = DashboardRebuild::default();
    let mut cells: HashMap<Cell, Measures> = HashMap::new();
    c.for_each(&format!("SELECT {FACT_COLUMNS} FROM requests"), &[], &mut |row| {
        dashboard::add_cells(&mut cells, &facts(row)?, 1);
        summary.requests += 1;
        Ok(())
    })
    .await?;
    [summary.day_rows, summary.month_rows] = add_rows(c, cells).await?;
    Ok(summary)
}
