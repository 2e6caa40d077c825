//! Throttle counts in the `rate_limits` table: one row per key holding its
//! current window and the attempts counted in it. A conditional upsert counts
//! an attempt only while the window is under its limit, atomically on both
//! databases (SQLite's single writer; PostgreSQL's row lock on the key).

use mashangban_store::{AttemptSlot, RateLimitStore, StoreResult};

use crate::sql::{Conn, Database};
use crate::{SqlStore, args, job};

/// Counts one attempt of `slot` unless its window is full; whether it did.
/// A later window starts again from one; an earlier one (a node whose clock
/// is behind) counts in the stored window.
async fn take_one(c: &dyn Conn, slot: &AttemptSlot) -> StoreResult<bool> {
    if slot.limit == 0 {
        return Ok(false);
    }
    let row = c
        .query_opt(
            "INSERT INTO rate_limits (key, window_start, attempts) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                attempts = CASE WHEN EXCLUDED.window_start > rate_limits.window_start THEN 1
                                ELSE rate_limits.attempts + 1 END,
                window_start = CASE WHEN EXCLUDED.window_start > rate_limits.window_start
                                    THEN EXCLUDED.window_start ELSE rate_limits.window_start END
             WHERE EXCLUDED.window_start > rate_limits.window_start OR rate_limits.attempts < $3
             RETURNING attempts",
            &args![slot.key.clone(), slot.window_start, i64::from(slot.limit)],
        )
        .await?;
    Ok(row.is_some())
}

async fn give_back(c: &dyn Conn, slots: &[AttemptSlot]) -> StoreResult<()> {
    for slot in slots {
        c.execute(
            "UPDATE rate_limits SET attempts = attempts - 1 WHERE key = $1 AND window_start = $2 AND attempts > 0",
            &args![slot.key.clone(), slot.window_start],
        )
        .await?;
    }
    Ok(())
}

impl<D: Database> RateLimitStore for SqlStore<D> {
    async fn take_attempts(&self, mut slots: Vec<AttemptSlot>) -> StoreResult<bool> {
        // Keys in one order, so two attempts never wait on each other's rows crosswise.
        slots.sort_by(|a, b| a.key.cmp(&b.key));
        let take = job(move |c| {
            Box::pin(async move {
                for (i, slot) in slots.iter().enumerate() {
                    if !take_one(c, slot).await? {
                        give_back(c, &slots[..i]).await?;
                        return Ok(false);
                    }
                }
                Ok(true)
            })
        });
        self.db.write(take).await
    }

    async fn give_back_attempts(&self, mut slots: Vec<AttemptSlot>) -> StoreResult<()> {
        slots.sort_by(|a, b| a.key.cmp(&b.key));
        self.db.write(job(move |c| Box::pin(async move { give_back(c, &slots).await }))).await
    }

    async fn clear_attempts(&self, key: String) -> StoreResult<()> {
        let clear = job(move |c| {
            Box::pin(async move { c.execute("DELETE FROM rate_limits WHERE key = $1", &args![key]).await.map(drop) })
        });
        self.db.write(clear).await
    }

    async fn prune_attempts(&self, window_start: i64) -> StoreResult<u64> {
        let prune = job(move |c| {
            Box::pin(
                async move { c.execute("DELETE FROM rate_limits WHERE window_start < $1", &args![window_start]).await },
            )
        });
        self.db.write(prune).await
    }
}
