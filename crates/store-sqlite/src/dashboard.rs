//! Leader dashboard rollups (领导驾驶舱) in SQLite, updated in the
//! transaction that writes each request.
//!
//! `dash_days` and `dash_months` hold [`Measures`] per (day or month,
//! dimension, key). [`on_change`] adds `dashboard::change(before, after)` to
//! both; a dashboard sums whole months from `dash_months` and the days at
//! either end from `dash_days` (the split of the scoring rollups), so its cost
//! depends on the period and the number of keys, not on the requests.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use mashangban_domain::dashboard::{self, Cell, Dashboard, Dimension, Facts, Granularity, Measures, Sums};
use mashangban_domain::request::{Rating, Request, RequestKind};
use mashangban_domain::scoring::{Period, day_key, month_key};
use mashangban_store::backend::{Grain, dashboard_rows};
use mashangban_store::{DashboardQuery, DashboardRebuild, DashboardStore, StoreResult};

use crate::SqliteStore;
use crate::rows::{self, db_err};
use mashangban_store::backend::split_period as split;

impl DashboardStore for SqliteStore {
    async fn dashboard(&self, query: DashboardQuery) -> StoreResult<Dashboard> {
        if self.db.read(rebuild_needed).await? {
            self.rebuild_dashboard().await?;
        }
        self.db.read(move |conn| report(conn, query)).await
    }

    async fn rebuild_dashboard(&self) -> StoreResult<DashboardRebuild> {
        self.db.write(rebuild).await
    }
}

/// Called in the transaction that writes a request: `before` is the request
/// as it was (none for an intake), `after` as written.
pub fn on_change(conn: &Connection, before: Option<&Request>, after: &Request) -> StoreResult<()> {
    let before = before.map(Facts::of);
    add_rows(conn, dashboard::change(before.as_ref(), &Facts::of(after)))?;
    Ok(())
}

/// Adds the day and month rows of `cells`; answers how many of each.
fn add_rows(conn: &Connection, cells: impl IntoIterator<Item = (Cell, Measures)>) -> StoreResult<[u64; 2]> {
    let mut counts = [0; 2];
    for (grain, rows) in Grain::BOTH.into_iter().zip(dashboard_rows(cells)) {
        for ((period, dim, key), m) in &rows {
            add_row(conn, grain, *period, *dim, key, m)?;
        }
        counts[grain.index()] = rows.len() as u64;
    }
    Ok(counts)
}

/// `INSERT … ON CONFLICT DO UPDATE` adding every measure, per grain.
static UPSERT: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(upsert_sql));

fn upsert_sql(grain: Grain) -> String {
    let cols = Measures::COLUMNS;
    let marks = vec!["?"; cols.len() + 3].join(", ");
    let sets: Vec<String> = cols.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO {t} ({k}, dim, key, {cols}) VALUES ({marks}) ON CONFLICT ({k}, dim, key) DO UPDATE SET {sets}",
        t = grain.dashboard_table(),
        k = grain.column(),
        cols = cols.join(", "),
        sets = sets.join(", "),
    )
}

fn add_row(conn: &Connection, grain: Grain, period: i64, dim: Dimension, key: &str, m: &Measures) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(&UPSERT[grain.index()]).map_err(db_err)?;
    let head = [period.into(), dim.as_str().to_owned().into(), key.to_owned().into()];
    let values = head.into_iter().chain(m.values().map(rusqlite::types::Value::Integer));
    stmt.execute(params_from_iter(values)).map_err(db_err)?;
    Ok(())
}

// ---- dashboards ------------------------------------------------------------

fn report(conn: &Connection, query: DashboardQuery) -> StoreResult<Dashboard> {
    let period = query.period;
    let by_month = dashboard::granularity(&period) == Granularity::Month;
    let mut sums = Sums::default();
    let split = split(&period);
    for (from, to) in &split.days {
        sum_rows(conn, Grain::Day, (day_key(*from), day_key(*to)), &mut sums, by_month)?;
    }
    if let Some((from, to)) = split.months {
        sum_rows(conn, Grain::Month, (month_key(from), month_key(to)), &mut sums, by_month)?;
    }
    if !by_month {
        daily_trend(conn, &period, &mut sums)?;
    }
    sums.category_parents = category_parents(conn)?;
    Ok(Dashboard::build(period, query.options, &sums))
}

static ROWS: LazyLock<[String; 2]> = LazyLock::new(|| Grain::BOTH.map(rows_sql));

fn rows_sql(grain: Grain) -> String {
    format!(
        "SELECT {k}, dim, key, {cols} FROM {t} WHERE {k} BETWEEN ?1 AND ?2",
        k = grain.column(),
        t = grain.dashboard_table(),
        cols = Measures::COLUMNS.join(", "),
    )
}

/// Adds the rows of the range to the cells; with `trend`, the city's rows
/// also to the trend (a month's on its first day).
fn sum_rows(conn: &Connection, grain: Grain, range: (i64, i64), sums: &mut Sums, trend: bool) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(&ROWS[grain.index()]).map_err(db_err)?;
    let mut found = stmt.query(params![range.0, range.1]).map_err(db_err)?;
    while let Some(row) = found.next().map_err(db_err)? {
        let dim: String = row.get(1).map_err(db_err)?;
        let Some(dim) = Dimension::parse(&dim) else { continue };
        let m = measures(row, 3)?;
        if trend && dim == Dimension::Total {
            let day = grain.date_of(row.get(0).map_err(db_err)?);
            sums.days.entry(day).or_default().add(&m);
        }
        sums.cells.entry((dim, row.get(2).map_err(db_err)?)).or_default().add(&m);
    }
    Ok(())
}

fn daily_trend(conn: &Connection, period: &Period, sums: &mut Sums) -> StoreResult<()> {
    let sql = format!(
        "SELECT day, {} FROM dash_days WHERE day BETWEEN ?1 AND ?2 AND dim = 'total' AND key = ''",
        Measures::COLUMNS.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut found = stmt.query(params![day_key(period.from), day_key(period.to)]).map_err(db_err)?;
    while let Some(row) = found.next().map_err(db_err)? {
        let day = Grain::Day.date_of(row.get(0).map_err(db_err)?);
        sums.days.entry(day).or_default().add(&measures(row, 1)?);
    }
    Ok(())
}

fn measures(row: &rusqlite::Row<'_>, first: usize) -> StoreResult<Measures> {
    let mut values = [0i64; 9];
    for (i, v) in values.iter_mut().enumerate() {
        *v = row.get(first + i).map_err(db_err)?;
    }
    Ok(Measures::from_values(values))
}

fn category_parents(conn: &Connection) -> StoreResult<HashMap<i64, Option<i64>>> {
    let mut stmt = conn.prepare_cached("SELECT id, parent_id FROM categories").map_err(db_err)?;
    let found = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?.collect::<Result<_, _>>();
    found.map_err(db_err)
}

// ---- rebuild ---------------------------------------------------------------

fn rebuild_needed(conn: &Connection) -> StoreResult<bool> {
    let flag: Option<i64> = conn
        .query_row("SELECT value FROM dash_meta WHERE key = 'rebuild_needed'", [], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    Ok(flag.is_some_and(|v| v != 0))
}

/// The columns of the requests table the dashboard reads.
const FACT_COLUMNS: &str = "received_at, closed_at, due_at, rating, lead_unit_id, town_id, kind, category_id";

fn facts(row: &rusqlite::Row<'_>) -> rusqlite::Result<Facts> {
    let code = |col: &str| -> rusqlite::Result<String> { row.get(col) };
    let kind = code("kind")?;
    let rating: Option<String> = row.get("rating")?;
    Ok(Facts {
        received_at: rows::instant(row, "received_at")?,
        closed_at: rows::opt_instant(row, "closed_at")?,
        due_at: rows::opt_instant(row, "due_at")?,
        rating: rating.as_deref().map(|r| Rating::parse(r).ok_or_else(|| rows::bad("rating", r))).transpose()?,
        lead_unit_id: row.get("lead_unit_id")?,
        town_id: row.get("town_id")?,
        kind: RequestKind::parse(&kind).ok_or_else(|| rows::bad("kind", &kind))?,
        category_id: row.get("category_id")?,
    })
}

/// Deletes the rollups and recomputes them from every request.
fn rebuild(conn: &Connection) -> StoreResult<DashboardRebuild> {
    conn.execute_batch("DELETE FROM dash_days; DELETE FROM dash_months; DELETE FROM dash_meta;").map_err(db_err)?;
    let mut summary = DashboardRebuild::default();
    let mut cells: HashMap<Cell, Measures> = HashMap::new();
    let mut stmt = conn.prepare(&format!("SELECT {FACT_COLUMNS} FROM requests")).map_err(db_err)?;
    let mut found = stmt.query([]).map_err(db_err)?;
    while let Some(row) = found.next().map_err(db_err)? {
        dashboard::add_cells(&mut cells, &facts(row).map_err(db_err)?, 1);
        summary.requests += 1;
    }
    [summary.day_rows, summary.month_rows] = add_rows(conn, cells)?;
    Ok(summary)
}
