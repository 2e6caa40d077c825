//! Automatic dispatch (自动派单): for the categories an administrator names, a request taken in goes
//! at once to the unit suggested first, when the model in service is at least as confident as the
//! category's rule asks. The dispatch is an event of the platform whose comment says which
//! suggestion, at what confidence, under which version of the rules — so every one can be audited.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::dispatch::{AutoRule, AutoRules};
use mashangban_domain::request::{Channel, Request, State};
use mashangban_domain::time::format_instant;
use mashangban_store::{AutoDispatchVersion, Signal, Store};

use super::Dispatch;
use crate::error::{AppError, AppResult};
use crate::{App, Caller};

/// Versions of the rules an overview lists.
const HISTORY: u32 = 20;

/// One category dispatched automatically, as administrators read it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AutoRuleView {
    pub category: String,
    pub category_name: String,
    /// The confidence the first suggestion needs (0.5–0.99).
    pub min_confidence: f64,
}

/// A version of the rules.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AutoDispatchView {
    /// None: never set (no category is dispatched automatically).
    pub version: Option<i64>,
    pub rules: Vec<AutoRuleView>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

/// The rules in force and their versions (newest first, the one in force included).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AutoDispatchOverview {
    pub current: AutoDispatchView,
    pub history: Vec<AutoDispatchView>,
}

/// One category as an administrator sends it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoRuleBody {
    /// The category's code.
    pub category: String,
    pub min_confidence: f64,
}

/// The whole set of rules (a new version replaces the last; an empty list turns automatic dispatch off).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDispatchBody {
    pub rules: Vec<AutoRuleBody>,
}

impl<S: Store> Dispatch<'_, S> {
    /// The rules in force and their versions (administrators).
    pub async fn auto_overview(&self, caller: &Caller) -> AppResult<AutoDispatchOverview> {
        caller.require(Permission::ManageDispatchModel)?;
        let store = self.app.store();
        let current = store.auto_dispatch().await?.map_or_else(never_set, |v| version_view(self.app, v));
        let history =
            store.auto_dispatch_history(HISTORY).await?.into_iter().map(|v| version_view(self.app, v)).collect();
        Ok(AutoDispatchOverview { current, history })
    }

    /// Saves a new version of the rules (administrators). Every category must exist and be active
    /// (`unknown_category`); confidences within 0.5–0.99 (`invalid_auto_confidence`), no category
    /// twice (`duplicate_auto_category`); nothing is written otherwise.
    pub async fn set_auto(&self, caller: &Caller, body: AutoDispatchBody) -> AppResult<AutoDispatchView> {
        let actor = caller.require(Permission::ManageDispatchModel)?;
        let categories = self.app.caches().categories();
        if body.rules.len() > categories.len() {
            return Err(AppError::invalid("too_many_auto_rules", "自动派单设置的分类数超过了事项分类总数"));
        }
        let mut rules = Vec::with_capacity(body.rules.len());
        for rule in body.rules {
            let code = rule.category.trim();
            if !categories.iter().any(|c| c.code == code && c.active) {
                return Err(AppError::invalid("unknown_category", format!("诉求分类「{code}」不存在或已停用")));
            }
            rules.push(AutoRule { category: code.to_owned(), min_confidence: rule.min_confidence });
        }
        let rules = AutoRules::new(rules)?;
        let saved = self.app.store().save_auto_dispatch(rules, actor.name().to_owned(), self.app.now()).await?;
        self.app.changed(Signal::SettingsChanged).await?;
        Ok(version_view(self.app, saved))
    }

    /// Automatic dispatch of a request just taken in; the request as it now is. Anything that stops
    /// it — no rule for the category, no model trained yet, a first suggestion below the rule, a
    /// failure — leaves the request waiting for a dispatcher, as if there were no rule.
    pub async fn auto_dispatch(&self, request: Request) -> Request {
        match self.try_auto_dispatch(&request).await {
            Ok(Some(dispatched)) => dispatched,
            Ok(None) => request,
            Err(error) => {
                tracing::error!(%error, tracking_no = %request.tracking_no, "automatic dispatch failed; left to the dispatcher");
                request
            }
        }
    }

    async fn try_auto_dispatch(&self, request: &Request) -> AppResult<Option<Request>> {
        // A direct-line request (书记市长直通车) goes by the leader's instruction, never by a rule.
        if request.state != State::Received || request.screening_held || request.channel == Channel::DirectLine {
            return Ok(None);
        }
        let categories = self.app.caches().categories();
        let Some(category) = categories.iter().find(|c| c.id == request.category_id) else { return Ok(None) };
        let in_force = self.app.caches().settings();
        let Some(settings) = in_force.auto_dispatch.as_ref() else { return Ok(None) };
        let Some(min) = settings.rules.min_confidence(&category.code) else { return Ok(None) };
        // Only a model learned from history is evidence enough; the catalogue alone always says 1.0.
        let Some(trained) = self.app.dispatch_models().current() else { return Ok(None) };
        let units = self.units_for(&super::Draft::of(request), request.category_id, Some(trained.as_ref()), &[]);
        let Some(first) = units.into_iter().next().filter(|s| s.confidence >= min) else {
            return Ok(None);
        };
        let Some(lead) = self.app.caches().org().by_code(&first.unit).map(|u| u.id) else { return Ok(None) };
        let why =
            if first.reasons.is_empty() { String::new() } else { format!("；依据：{}", first.reasons.join("；")) };
        let comment = format!(
            "自动派单：派单建议首选「{}」，置信度 {:.2}，达到「{}」的自动派单阈值 {:.2}（第{}版设置）{why}",
            first.unit_name, first.confidence, category.name, min, settings.version
        );
        Ok(Some(self.app.requests().dispatch_as_system(request, lead, comment).await?))
    }
}

fn never_set() -> AutoDispatchView {
    AutoDispatchView { version: None, rules: Vec::new(), changed_by: None, changed_at: None }
}

fn version_view<S: Store>(app: &App<S>, v: AutoDispatchVersion) -> AutoDispatchView {
    let categories = app.caches().categories();
    let name =
        |code: &str| categories.iter().find(|c| c.code == code).map_or_else(|| code.to_owned(), |c| c.name.clone());
    AutoDispatchView {
        version: Some(v.version),
        rules: v
            .rules
            .rules()
            .iter()
            .map(|r| AutoRuleView {
                category: r.category.clone(),
                category_name: name(&r.category),
                min_confidence: r.min_confidence,
            })
            .collect(),
        changed_by: Some(v.changed_by),
        changed_at: Some(format_instant(&v.changed_at)),
    }
}
