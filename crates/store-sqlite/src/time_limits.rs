//! The versioned time-limit rule table in SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use mashangban_domain::org::Actor;
use mashangban_domain::time::{Instant, now, parse_instant};
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::{RuleVersion, StoreError, StoreResult, TimeLimitStore};

use crate::SqliteStore;
use crate::rows::{db_err, ts};

impl TimeLimitStore for SqliteStore {
    async fn current_rules(&self) -> StoreResult<RuleSet> {
        if let Some(set) = self.db.read(latest).await? {
            return Ok(set);
        }
        // First use: store the defaults as version 1 (idempotent under races).
        self.db
            .write(|conn| {
                if let Some(set) = latest(conn)? {
                    return Ok(set);
                }
                let defaults = RuleSet::guangdong_defaults();
                insert(conn, &defaults, now(), "系统默认（广东省标准）")?;
                Ok(defaults)
            })
            .await
    }

    async fn publish_rules(&self, rules: Vec<Rule>, by: &Actor, at: Instant) -> StoreResult<RuleSet> {
        let by = format!("{}（{}）", by.name(), by.role_str());
        self.current_rules().await?;
        self.db
            .write(move |conn| {
                let version = latest(conn)?.map_or(1, |s| s.version + 1);
                let set = RuleSet { version, rules };
                set.validate()?;
                insert(conn, &set, at, &by)?;
                Ok(set)
            })
            .await
    }

    async fn rule_versions(&self) -> StoreResult<Vec<RuleVersion>> {
        self.current_rules().await?;
        self.db
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT version, rules, created_at, created_by FROM time_limit_rules ORDER BY version DESC",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    })
                    .map_err(db_err)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(version, rules, at, by)| {
                        Ok(RuleVersion {
                            version,
                            rules: serde_json::from_str(&rules).map_err(StoreError::backend)?,
                            created_at: parse_instant(&at).ok_or_else(|| StoreError::backend("bad rule timestamp"))?,
                            created_by: by,
                        })
                    })
                    .collect()
            })
            .await
    }
}

fn latest(conn: &Connection) -> StoreResult<Option<RuleSet>> {
    let row: Option<(i64, String)> = conn
        .query_row("SELECT version, rules FROM time_limit_rules ORDER BY version DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(db_err)?;
    row.map(|(version, rules)| {
        Ok(RuleSet { version, rules: serde_json::from_str(&rules).map_err(StoreError::backend)? })
    })
    .transpose()
}

fn insert(conn: &Connection, set: &RuleSet, at: Instant, by: &str) -> StoreResult<()> {
    let rules = serde_json::to_string(&set.rules).map_err(StoreError::backend)?;
    conn.execute(
        "INSERT INTO time_limit_rules (version, rules, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
        params![set.version, rules, ts(&at), by],
    )
    .map_err(db_err)?;
    Ok(())
}
