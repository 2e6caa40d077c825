//! The time-limit rule table (时限规则): read by staff, versioned by administrators.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;

use mashangban_domain::org::Role;
use mashangban_domain::time_limit::{Rule, RuleSet};
use mashangban_store::{RuleVersion, Signal, Store};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::state::AppState;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/api/v1/time-limits", get(current::<S>).put(publish::<S>))
        .route("/api/v1/time-limits/versions", get(versions::<S>))
}

/// `GET /api/v1/time-limits`: the version in force.
async fn current<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<RuleSet>> {
    auth.require_login()?;
    Ok(Json(state.store.current_rules().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    pub rules: Vec<Rule>,
}

/// `PUT /api/v1/time-limits`: publishes a new version (administrators).
/// Requests already received keep the limits they were given.
async fn publish<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(input): JsonBody<PublishInput>,
) -> ApiResult<Json<RuleSet>> {
    Ok(Json(publish_rules(&state, &auth, input).await?))
}

/// Publishes a new version and puts it in force (administrators); the API and
/// the admin page both call this.
pub async fn publish_rules<S: Store>(state: &AppState<S>, auth: &Auth, input: PublishInput) -> ApiResult<RuleSet> {
    let actor = auth.require_role(&[Role::Admin])?;
    let published = state.store.publish_rules(input.rules, actor, state.now()).await?;
    state.set_rules(published.clone());
    state.store.announce(Signal::RulesChanged).await?;
    Ok(published)
}

/// `GET /api/v1/time-limits/versions`: every version, who published it and when.
async fn versions<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<Vec<RuleVersion>>> {
    auth.require_role(&[Role::Admin, Role::Supervisor])?;
    Ok(Json(state.store.rule_versions().await?))
}
