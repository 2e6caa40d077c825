//! Coordination between app nodes: the backend's own (signals, job locks).

use mashangban_store::{ClusterStore, JobLock, Signal, StoreResult};

use crate::SqlStore;
use crate::sql::Database;

impl<D: Database> ClusterStore for SqlStore<D> {
    async fn announce(&self, signal: Signal) -> StoreResult<()> {
        self.db.announce(signal).await
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        self.db.subscribe_signals()
    }

    async fn try_lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        self.db.try_lock_job(job).await
    }
}
