//! The time-limit rules (时限规则): the version in force, every version, and
//! publishing a new one (requests already received keep the limits they were
//! given). Publishing puts the new rules in force on every node.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::time::Instant;
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::{RuleVersion, Signal, Store};

use crate::error::AppResult;
use crate::{App, Caller};

/// The rules service: `app.rules()`.
pub struct Rules<'a, S> {
    app: &'a App<S>,
}

/// A new version as administrators send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    pub rules: Vec<Rule>,
}

/// A published version, who published it and when.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionView {
    pub version: i64,
    pub rules: Vec<Rule>,
    #[schemars(with = "String")]
    pub created_at: Instant,
    pub created_by: String,
}

impl From<RuleVersion> for VersionView {
    fn from(v: RuleVersion) -> Self {
        Self { version: v.version, rules: v.rules, created_at: v.created_at, created_by: v.created_by }
    }
}

impl<'a, S: Store> Rules<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The rules in force (from the cache: no database read).
    pub fn in_force(&self) -> Arc<RuleSet> {
        self.app.caches().rules()
    }

    /// The version in force, read from the store.
    pub async fn current(&self) -> AppResult<RuleSet> {
        Ok(self.app.store().current_rules().await?)
    }

    /// Every version, newest first.
    pub async fn versions(&self) -> AppResult<Vec<VersionView>> {
        Ok(self.app.store().rule_versions().await?.into_iter().map(VersionView::from).collect())
    }

    /// Publishes a new version and puts it in force.
    pub async fn publish(&self, caller: &Caller, input: PublishInput) -> AppResult<RuleSet> {
        let published = self.app.store().publish_rules(input.rules, &caller.actor, self.app.now()).await?;
        self.app.changed(Signal::RulesChanged).await?;
        Ok(published)
    }
}
