//! The versioned time-limit rule table (时限规则) in PostgreSQL. Publishers
//! on any node serialise on an advisory lock, so versions never collide.

use deadpool_postgres::GenericClient;

use mashangban_domain::org::Actor;
use mashangban_domain::time::{Instant, now};
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::{RuleVersion, StoreError, StoreResult, TimeLimitStore};

use crate::PgStore;
use crate::db::{RULES_LOCK, commit, db_err, execute, lock_xact, query, query_opt};
use crate::rows::{get, instant, ts};

impl TimeLimitStore for PgStore {
    async fn current_rules(&self) -> StoreResult<RuleSet> {
        let mut client = self.client().await?;
        if let Some(set) = latest(&client).await? {
            return Ok(set);
        }
        // First use: store the defaults as version 1, once across nodes.
        let tx = client.transaction().await.map_err(db_err)?;
        lock_xact(&tx, RULES_LOCK).await?;
        if let Some(set) = latest(&tx).await? {
            return Ok(set);
        }
        let defaults = RuleSet::guangdong_defaults();
        insert(&tx, &defaults, now(), "系统默认（广东省标准）").await?;
        commit(tx).await?;
        Ok(defaults)
    }

    async fn publish_rules(&self, rules: Vec<Rule>, by: &Actor, at: Instant) -> StoreResult<RuleSet> {
        let by = format!("{}（{}）", by.name(), by.role_str());
        self.current_rules().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        lock_xact(&tx, RULES_LOCK).await?;
        let version = latest(&tx).await?.map_or(1, |s| s.version + 1);
        let set = RuleSet { version, rules };
        set.validate()?;
        insert(&tx, &set, at, &by).await?;
        commit(tx).await?;
        Ok(set)
    }

    async fn rule_versions(&self) -> StoreResult<Vec<RuleVersion>> {
        self.current_rules().await?;
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT version, rules, created_at, created_by FROM time_limit_rules ORDER BY version DESC",
            &[],
        )
        .await?;
        rows.iter()
            .map(|row| {
                let rules: String = get(row, "rules")?;
                Ok(RuleVersion {
                    version: get(row, "version")?,
                    rules: serde_json::from_str(&rules).map_err(StoreError::backend)?,
                    created_at: instant(row, "created_at")?,
                    created_by: get(row, "created_by")?,
                })
            })
            .collect()
    }
}

async fn latest(c: &impl GenericClient) -> StoreResult<Option<RuleSet>> {
    let row = query_opt(c, "SELECT version, rules FROM time_limit_rules ORDER BY version DESC LIMIT 1", &[]).await?;
    row.map(|row| {
        let rules: String = get(&row, "rules")?;
        Ok(RuleSet {
            version: get(&row, "version")?,
            rules: serde_json::from_str(&rules).map_err(StoreError::backend)?,
        })
    })
    .transpose()
}

async fn insert(c: &impl GenericClient, set: &RuleSet, at: Instant, by: &str) -> StoreResult<()> {
    let rules = serde_json::to_string(&set.rules).map_err(StoreError::backend)?;
    execute(
        c,
        "INSERT INTO time_limit_rules (version, rules, created_at, created_by) VALUES ($1, $2, $3, $4)",
        &[&set.version, &rules, &ts(&at), &by],
    )
    .await
    .map(drop)
}
