//! Bulk actions on the queues (批量办理): dispatch several requests of one
//! category to one unit, urge several. The answer says per request what happened.

use axum::Json;
use axum::extract::State;

use mashangban_app::App;
use mashangban_app::bulk::{BulkDispatchInput, BulkOutcome, BulkUrgeInput};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::post("/api/v1/bulk/dispatch", dispatch::<S>)
            .permission(Permission::BulkDispatch)
            .doc(
                "requests",
                "批量派单：同一分类的多件诉求（最多 50 件）派给同一单位；逐件办理、逐件记录，答复逐件说明结果",
            )
            .body::<BulkDispatchInput>()
            .answer::<BulkOutcome>()
            .errors(&["bulk_empty", "bulk_too_many", "bulk_mixed_categories", "unknown_unit"]),
        Route::post("/api/v1/bulk/urge", urge::<S>)
            .permission(Permission::BulkUrge)
            .doc("requests", "批量催办（最多 50 件）；逐件办理、逐件记录，答复逐件说明结果")
            .body::<BulkUrgeInput>()
            .answer::<BulkOutcome>()
            .errors(&["bulk_empty", "bulk_too_many"]),
    ]
}

async fn dispatch<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<BulkDispatchInput>,
) -> ApiResult<Json<BulkOutcome>> {
    Ok(Json(app.bulk().dispatch(&caller, input).await?))
}

async fn urge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<BulkUrgeInput>,
) -> ApiResult<Json<BulkOutcome>> {
    Ok(Json(app.bulk().urge(&caller, input).await?))
}
