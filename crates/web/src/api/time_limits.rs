//! The time-limit rule table (时限规则): read by staff, versioned by administrators.

use axum::Json;
use axum::extract::State;

use mashangban_app::App;
use mashangban_app::rules::{PublishInput, VersionView};
use mashangban_domain::access::Permission;
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/v1/time-limits", current::<S>).doc("time limits", "现行时限规则").answer::<RuleSet>(),
        Route::put("/api/v1/time-limits", publish::<S>)
            .permission(Permission::ManageRules)
            .doc("time limits", "发布新版本时限规则")
            .body::<PublishInput>()
            .answer::<RuleSet>()
            .errors(&["invalid_time_limits"]),
        Route::get("/api/v1/time-limits/versions", versions::<S>)
            .permission(Permission::ReadRuleVersions)
            .doc("time limits", "时限规则各版本")
            .answer::<Vec<VersionView>>(),
    ]
}

/// `GET /api/v1/time-limits`: the version in force.
async fn current<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<RuleSet>> {
    Ok(Json(app.rules().current().await?))
}

/// `PUT /api/v1/time-limits`: publishes a new version. Requests already
/// received keep the limits they were given.
async fn publish<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<PublishInput>,
) -> ApiResult<Json<RuleSet>> {
    Ok(Json(app.rules().publish(&caller, input).await?))
}

/// `GET /api/v1/time-limits/versions`: every version, who published it and when.
async fn versions<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<VersionView>>> {
    Ok(Json(app.rules().versions().await?))
}
