//! What probes and `/metrics` read: the schema's state and the machinery from
//! the backend, the outbox and the change feed from their tables.

use mashangban_domain::time::Instant;
use mashangban_store::{HealthStore, Machinery, QueueFigures, SchemaState, StoreResult};

use crate::sql::{Conn, Database, job};
use crate::{SqlStore, args};

async fn queue_figures(c: &dyn Conn) -> StoreResult<QueueFigures> {
    let mut outbox = Vec::new();
    // Sent rows are history (millions in a year): only the unfinished are counted, through the status index.
    let unfinished = "SELECT status, COUNT(*) FROM outbox WHERE status IN ('pending', 'sending', 'failed') \
                      GROUP BY status ORDER BY status";
    for row in c.query(unfinished, &args![]).await? {
        let mut cols = row.cols();
        let status: String = cols.get()?;
        let count: i64 = cols.get()?;
        outbox.push((status, u64::try_from(count).unwrap_or_default()));
    }
    let outbox_oldest_due: Option<Instant> =
        c.scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'", &args![]).await?;
    let feed_head = crate::changes::feed_head(c).await?.position;
    let mut feed_cursors = Vec::new();
    for row in c.query("SELECT consumer, position FROM change_cursors ORDER BY consumer", &args![]).await? {
        let mut cols = row.cols();
        feed_cursors.push((cols.get()?, cols.get()?));
    }
    Ok(QueueFigures { outbox, outbox_oldest_due, feed_head, feed_cursors })
}

impl<D: Database> HealthStore for SqlStore<D> {
    async fn schema(&self) -> StoreResult<SchemaState> {
        self.db.schema().await
    }

    fn machinery(&self) -> Machinery {
        self.db.machinery()
    }

    async fn queue_figures(&self) -> StoreResult<QueueFigures> {
        self.db.read(job(|c| Box::pin(queue_figures(c)))).await
    }
}
