//! Versioned settings tables (duplicate thresholds, screening settings, automatic dispatch): a save
//! appends the next version with who saved it and when; the newest is in force, the rest is history.

use mashangban_domain::time::Instant;
use mashangban_store::{ChangeEntity, StoreError, StoreResult};

use crate::args;
use crate::sql::{Conn, Row, Value};

/// The newest `limit` versions of `table` (its `columns`, `version` first), newest first.
pub(crate) async fn newest<T>(
    c: &dyn Conn,
    table: &str,
    columns: &str,
    limit: u32,
    read: impl Fn(Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!("SELECT {columns} FROM {table} ORDER BY version DESC LIMIT $1");
    c.map(&sql, &args![i64::from(limit)], read).await
}

/// Appends the next version of `table`: `values` for its `columns` (`version` first, not given),
/// saved `at`, with its change-feed row (every node's cache of the settings reloads from it).
pub(crate) async fn append<T>(
    c: &dyn Conn,
    table: &str,
    columns: &str,
    values: &[Value],
    at: &Instant,
    read: impl Fn(Row) -> StoreResult<T>,
) -> StoreResult<T> {
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({columns}) SELECT COALESCE(MAX(version), 0) + 1, {} FROM {table} RETURNING {columns}",
        placeholders.join(", ")
    );
    let saved = c
        .map_opt(&sql, values, read)
        .await?
        .ok_or_else(|| StoreError::backend(format!("{table}: version not saved")))?;
    crate::changes::append(c, ChangeEntity::Settings, table, "saved", at).await?;
    Ok(saved)
}
