//! Throttle counts in the `rate_limits` table: one row per key holding its
//! current window and the attempts counted in it. A node leases several
//! attempts at once and hands them out itself, so the row is written per
//! lease, not per attempt. A lease is counted only while the window is under
//! its limit, atomically on both databases (SQLite's single writer;
//! PostgreSQL's row lock on the key).

use mashangban_store::{AttemptLease, Granted, RateLimitStore, StoreResult};

use crate::sql::{Conn, Database};
use crate::{SqlStore, args, job};

/// Counts up to `lease.count` attempts of its slot while the window has
/// room; how many, and in the window the row holds (the newer of the asked
/// one and its own). The first statement locks the key's row (creating it,
/// or starting its newer window) and reads what the window has counted.
async fn lease_one(c: &dyn Conn, lease: &AttemptLease) -> StoreResult<Granted> {
    let slot = &lease.slot;
    if slot.limit == 0 || lease.count == 0 {
        return Ok(Granted { count: 0, window_start: slot.window_start });
    }
    let row = c
        .query_one(
            "INSERT INTO rate_limits (key, window_start, attempts) VALUES ($1, $2, 0)
             ON CONFLICT (key) DO UPDATE SET
                attempts = CASE WHEN EXCLUDED.window_start > rate_limits.window_start THEN 0
                                ELSE rate_limits.attempts END,
                window_start = CASE WHEN EXCLUDED.window_start > rate_limits.window_start
                                    THEN EXCLUDED.window_start ELSE rate_limits.window_start END
             RETURNING attempts, window_start",
            &args![slot.key.clone(), slot.window_start],
        )
        .await?;
    let mut cols = row.cols();
    let (counted, window_start): (i64, i64) = (cols.get()?, cols.get()?);
    let granted = (i64::from(slot.limit) - counted).clamp(0, i64::from(lease.count));
    if granted > 0 {
        c.execute("UPDATE rate_limits SET attempts = attempts + $2 WHERE key = $1", &args![slot.key.clone(), granted])
            .await?;
    }
    Ok(Granted { count: u32::try_from(granted).unwrap_or(0), window_start })
}

impl<D: Database> RateLimitStore for SqlStore<D> {
    async fn lease_attempts(&self, wanted: Vec<AttemptLease>) -> StoreResult<Vec<Granted>> {
        // Rows locked in key order (so two leases over the same keys cannot deadlock); answers in the order asked.
        let mut order: Vec<usize> = (0..wanted.len()).collect();
        order.sort_by(|&a, &b| wanted[a].slot.key.cmp(&wanted[b].slot.key));
        let lease = job(move |c| {
            Box::pin(async move {
                let mut granted = vec![Granted { count: 0, window_start: 0 }; wanted.len()];
                for i in order {
                    granted[i] = lease_one(c, &wanted[i]).await?;
                }
                Ok(granted)
            })
        });
        self.db.write(lease).await
    }

    async fn return_attempts(&self, mut leases: Vec<AttemptLease>) -> StoreResult<()> {
        leases.sort_by(|a, b| a.slot.key.cmp(&b.slot.key));
        let give_back = job(move |c| {
            Box::pin(async move {
                for lease in &leases {
                    c.execute(
                        "UPDATE rate_limits SET attempts = CASE WHEN attempts > $3 THEN attempts - $3 ELSE 0 END
                         WHERE key = $1 AND window_start = $2",
                        &args![lease.slot.key.clone(), lease.slot.window_start, i64::from(lease.count)],
                    )
                    .await?;
                }
                Ok(())
            })
        });
        self.db.write(give_back).await
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
