//! Automatic dispatch's SQL (自动派单): versions of the rules appended, the newest in force.

use mashangban_domain::dispatch::{AutoRule, AutoRules};
use mashangban_domain::time::Instant;
use mashangban_store::{AutoDispatchStore, AutoDispatchVersion, StoreError, StoreResult};

use crate::rows::json_text;
use crate::settings_versions::{append, newest};
use crate::sql::{Database, Row, job};
use crate::{SqlStore, args};

const TABLE: &str = "auto_dispatch_settings";
const COLUMNS: &str = "version, rules, changed_by, changed_at";

fn version(row: Row) -> StoreResult<AutoDispatchVersion> {
    let mut c = row.cols();
    let version = c.get()?;
    let rules: Vec<AutoRule> = serde_json::from_str(&c.get::<String>()?).map_err(StoreError::backend)?;
    Ok(AutoDispatchVersion {
        version,
        rules: AutoRules::new(rules).map_err(StoreError::backend)?,
        changed_by: c.get()?,
        changed_at: c.get()?,
    })
}

impl<D: Database> AutoDispatchStore for SqlStore<D> {
    async fn auto_dispatch(&self) -> StoreResult<Option<AutoDispatchVersion>> {
        let read = job(move |c| Box::pin(async move { newest(c, TABLE, COLUMNS, 1, version).await }));
        Ok(self.db.read(read).await?.pop())
    }

    async fn auto_dispatch_history(&self, limit: u32) -> StoreResult<Vec<AutoDispatchVersion>> {
        self.db.read(job(move |c| Box::pin(async move { newest(c, TABLE, COLUMNS, limit, version).await }))).await
    }

    async fn save_auto_dispatch(
        &self,
        rules: AutoRules,
        changed_by: String,
        at: Instant,
    ) -> StoreResult<AutoDispatchVersion> {
        let save = job(move |c| {
            Box::pin(async move {
                let values = args![json_text(rules.rules())?, changed_by.as_str(), &at];
                append(c, TABLE, COLUMNS, &values, &at, version).await
            })
        });
        self.db.write(save).await
    }
}
