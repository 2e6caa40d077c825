//! The versioned time-limit rule table (时限规则). Versions are never
//! changed; the highest is in force. Publishers take turns on an advisory
//! lock (PostgreSQL) or the single writer (SQLite), so versions never collide.

use mashangban_domain::org::Actor;
use mashangban_domain::time::{Instant, now};
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::{ChangeEntity, RuleVersion, StoreResult, TimeLimitStore};

use crate::rows::json_text;
use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args, locks};

/// Who stored the defaults on first use.
const DEFAULTS_BY: &str = "系统默认（广东省标准）";

impl<D: Database> TimeLimitStore for SqlStore<D> {
    async fn current_rules(&self) -> StoreResult<RuleSet> {
        if let Some(set) = self.db.read(job(|c| Box::pin(latest(c)))).await? {
            return Ok(set);
        }
        self.db.write(job(|c| Box::pin(store_defaults(c)))).await
    }

    async fn publish_rules(&self, rules: Vec<Rule>, by: &Actor, at: Instant) -> StoreResult<RuleSet> {
        let by = format!("{}（{}）", by.name(), by.role_str());
        self.current_rules().await?;
        self.db.write(job(move |c| Box::pin(async move { publish(c, rules, &by, at).await }))).await
    }

    async fn rule_versions(&self) -> StoreResult<Vec<RuleVersion>> {
        self.current_rules().await?;
        let sql = format!("SELECT {VERSION_COLUMNS} FROM time_limit_rules ORDER BY version DESC");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], rule_version).await }))).await
    }
}

/// The version in force, if any is stored.
async fn latest(c: &dyn Conn) -> StoreResult<Option<RuleSet>> {
    let sql = "SELECT version, rules FROM time_limit_rules ORDER BY version DESC LIMIT 1";
    c.map_opt(sql, &[], |row| {
        let mut c = row.cols();
        Ok(RuleSet { version: c.get()?, rules: c.json()? })
    })
    .await
}

/// First use: stores the defaults as version 1, once however many nodes
/// (or callers) get here together.
async fn store_defaults(c: &dyn Conn) -> StoreResult<RuleSet> {
    locks::publishers(c, locks::RULES).await?;
    if let Some(set) = latest(c).await? {
        return Ok(set);
    }
    let defaults = RuleSet::guangdong_defaults();
    insert(c, &defaults, now(), DEFAULTS_BY).await?;
    Ok(defaults)
}

async fn publish(c: &dyn Conn, rules: Vec<Rule>, by: &str, at: Instant) -> StoreResult<RuleSet> {
    locks::publishers(c, locks::RULES).await?;
    let version = latest(c).await?.map_or(1, |s| s.version + 1);
    let set = RuleSet { version, rules };
    set.validate()?;
    insert(c, &set, at, by).await?;
    crate::changes::append(c, ChangeEntity::Rules, &set.version.to_string(), "published", &at).await?;
    Ok(set)
}

async fn insert(c: &dyn Conn, set: &RuleSet, at: Instant, by: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO time_limit_rules (version, rules, created_at, created_by) VALUES ($1, $2, $3, $4)",
        &args![set.version, json_text(&set.rules)?, at, by],
    )
    .await
    .map(drop)
}

const VERSION_COLUMNS: &str = "version, rules, created_at, created_by";

fn rule_version(row: Row) -> StoreResult<RuleVersion> {
    let mut c = row.cols();
    Ok(RuleVersion { version: c.get()?, rules: c.json()?, created_at: c.get()?, created_by: c.get()? })
}
