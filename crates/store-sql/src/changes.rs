//! The durable change feed: appended in each change's transaction, read by
//! consumers from their stored cursors.

use mashangban_domain::time::Instant;
use mashangban_store::{Change, ChangeCursor, ChangeEntity, ChangeStore, StoreResult};

use crate::sql::{Args, Conn, Database, Dialect, Row, bad, job};
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

/// The next transaction id to be assigned (PostgreSQL), read before the
/// writers below: every id under it was assigned by then.
const NEXT_XID: &str = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint";

/// The oldest transaction of this database that may still write a change
/// (PostgreSQL), given the next id read just before ($1): every transaction
/// with a smaller id has ended, so its rows, if committed, are in any snapshot
/// taken after this is read, and no row can appear below it later. Read-only
/// transactions (reports, `pg_dump`) have no id and hold nothing back; neither
/// do other databases of the cluster. `backend_xid` is 32 bits: each is placed
/// at its signed distance from the next id, since one assigned after that was
/// read is a little above it, not an epoch below. Ids above the next id are
/// not waited for: they are above the horizon anyway.
const WRITER_HORIZON: &str = "
    SELECT LEAST($1, MIN($1 + (a.backend_xid::text::bigint - ($1 & 4294967295) + 6442450944) % 4294967296
                          - 2147483648))
    FROM pg_stat_activity a WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL";

/// The writer horizon, in two statements so that the next id is read first:
/// in one, a writer could take its id between the two reads and be missed.
async fn writer_horizon(c: &dyn Conn) -> StoreResult<i64> {
    let next: i64 = c.scalar(NEXT_XID, &[]).await?;
    writer_horizon_after(c, next).await
}

/// The writer horizon given the next transaction id as read before it
/// (PostgreSQL): never above `next`, and never below it by more than the
/// age of the oldest writer still running.
pub async fn writer_horizon_after(c: &dyn Conn, next: i64) -> StoreResult<i64> {
    c.scalar(WRITER_HORIZON, &args![next]).await
}

/// The condition that keeps out changes that may still be joined by earlier
/// ones, with its arguments pushed: none on SQLite (one writer commits in
/// position order); on PostgreSQL, transactions below the writer horizon,
/// read in a statement of its own before the changes' snapshot is taken.
async fn settled(c: &dyn Conn, args: &mut Args) -> StoreResult<String> {
    match c.dialect() {
        Dialect::Sqlite => Ok("TRUE".into()),
        Dialect::Postgres => {
            let horizon = writer_horizon(c).await?;
            Ok(format!("tx < {}", args.push(horizon)))
        }
    }
}

/// The transaction id column and the feed's order, oldest first.
fn order(d: Dialect) -> (&'static str, &'static str, &'static str) {
    match d {
        Dialect::Sqlite => ("0", "position", "position DESC"),
        Dialect::Postgres => ("tx", "tx, position", "tx DESC, position DESC"),
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
    let (tx, order, _) = order(c.dialect());
    let mut args = Args::default();
    let settled = settled(c, &mut args).await?;
    let after = match c.dialect() {
        Dialect::Sqlite => format!("position > {}", args.push(cursor.position)),
        Dialect::Postgres => format!("(tx, position) > ({}, {})", args.push(cursor.tx), args.push(cursor.position)),
    };
    let limit = args.push(limit.clamp(1, 10_000));
    let sql = format!(
        "SELECT position, {tx}, at, entity, key, kind FROM changes WHERE {after} AND {settled} ORDER BY {order} LIMIT {limit}"
    );
    c.map(&sql, args.values(), change).await
}

pub(crate) async fn feed_head(c: &dyn Conn) -> StoreResult<ChangeCursor> {
    let (tx, _, latest_first) = order(c.dialect());
    let mut args = Args::default();
    let settled = settled(c, &mut args).await?;
    let sql = format!("SELECT position, {tx} FROM changes WHERE {settled} ORDER BY {latest_first} LIMIT 1");
    match c.query_opt(&sql, args.values()).await? {
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
