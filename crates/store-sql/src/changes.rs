//! The durable change feed: appended in each change's transaction, read by
//! consumers from their stored cursors.

use mashangban_domain::time::Instant;
use mashangban_store::{Change, ChangeCursor, ChangeEntity, ChangeStore, StoreResult};

use crate::sql::{Conn, Database, Dialect, Row, bad, job};
use crate::{SqlStore, args};

/// Records a change in the caller's transaction.
pub async fn append(c: &dyn Conn, entity: ChangeEntity, key: &str, kind: &str, at: &Instant) -> StoreResult<()> {
    c.execute(
        "INSERT INTO changes (at, entity, key, kind) VALUES ($1, $2, $3, $4)",
        &args![at, entity.as_str(), key, kind],
    )
    .await
    .map(drop)
}

/// Records a change at the current time (for changes whose callers carry no clock).
pub async fn append_now(c: &dyn Conn, entity: ChangeEntity, key: &str, kind: &str) -> StoreResult<()> {
    append(c, entity, key, kind, &mashangban_domain::time::now()).await
}

/// The transaction id column and the condition that keeps out rows whose
/// transaction may still be running (PostgreSQL; SQLite commits in order).
fn settled(d: Dialect) -> (&'static str, &'static str) {
    match d {
        Dialect::Sqlite => ("0", "TRUE"),
        Dialect::Postgres => ("tx", "tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
    }
}

fn change(row: Row) -> StoreResult<Change> {
    let mut c = row.cols();
    let cursor = ChangeCursor { position: c.get()?, tx: c.get()? };
    let at = c.get()?;
    let entity: String = c.get()?;
    Ok(Change {
        cursor,
        at,
        entity: ChangeEntity::parse(&entity).ok_or_else(|| bad("change entity", &entity))?,
        key: c.get()?,
        kind: c.get()?,
    })
}

async fn changes_after(c: &dyn Conn, cursor: ChangeCursor, limit: u32) -> StoreResult<Vec<Change>> {
    let (tx, settled) = settled(c.dialect());
    let after = match c.dialect() {
        Dialect::Sqlite => "position > $2",
        Dialect::Postgres => "(tx, position) > ($1, $2)",
    };
    let sql = format!(
        "SELECT position, {tx}, at, entity, key, kind FROM changes WHERE {after} AND {settled}
         ORDER BY {tx}, position LIMIT $3"
    );
    c.map(&sql, &args![cursor.tx, cursor.position, limit.clamp(1, 10_000)], change).await
}

async fn feed_head(c: &dyn Conn) -> StoreResult<ChangeCursor> {
    let (tx, settled) = settled(c.dialect());
    let sql = format!("SELECT position, {tx} FROM changes WHERE {settled} ORDER BY {tx} DESC, position DESC LIMIT 1");
    match c.query_opt(&sql, &[]).await? {
        Some(mut row) => Ok(ChangeCursor { position: row.take(0)?, tx: row.take(1)? }),
        None => Ok(ChangeCursor::default()),
    }
}

impl<D: Database> ChangeStore for SqlStore<D> {
    async fn changes_after(&self, cursor: ChangeCursor, limit: u32) -> StoreResult<Vec<Change>> {
        self.db.read(job(move |c| Box::pin(changes_after(c, cursor, limit)))).await
    }

    async fn feed_head(&self) -> StoreResult<ChangeCursor> {
        self.db.read(job(|c| Box::pin(feed_head(c)))).await
    }

    async fn load_cursor(&self, consumer: &str) -> StoreResult<Option<ChangeCursor>> {
        let consumer = consumer.to_owned();
        let load = job(move |c| {
            Box::pin(async move {
                let sql = "SELECT tx, position FROM change_cursors WHERE consumer = $1";
                c.map_opt(sql, &args![consumer], |mut row| {
                    Ok(ChangeCursor { tx: row.take(0)?, position: row.take(1)? })
                })
                .await
            })
        });
        self.db.read(load).await
    }

    async fn save_cursor(&self, consumer: &str, cursor: ChangeCursor, now: Instant) -> StoreResult<()> {
        let consumer = consumer.to_owned();
        let save = job(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO change_cursors (consumer, tx, position, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (consumer) DO UPDATE SET tx = EXCLUDED.tx, position = EXCLUDED.position,
                        updated_at = EXCLUDED.updated_at",
                    &args![consumer, cursor.tx, cursor.position, &now],
                )
                .await
                .map(drop)
            })
        });
        self.db.write(save).await
    }

    async fn prune_changes(&self, before: Instant) -> StoreResult<u64> {
        let prune = job(move |c| {
            Box::pin(async move { c.execute("DELETE FROM changes WHERE at < $1", &args![&before]).await })
        });
        self.db.write(prune).await
    }
}
