//! The leader dashboard (领导驾驶舱) as JSON, and the rebuild of its rollups.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;

use mashangban_app::App;
use mashangban_app::dashboard::{DashboardRebuild, DashboardView};
use mashangban_app::duplicates::HotIssues;
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/v1/dashboard", dashboard::<S>)
            .permission(Permission::ReadDashboard)
            .doc(
                "dashboard",
                "领导驾驶舱：受理量、办结量、按时办结率、满意率，趋势及按单位、镇街、类型、一级分类的分布（全市）",
            )
            .query(&[("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD"), ("fairly_satisfied_counts", "基本满意是否计入满意")])
            .answer::<DashboardView>()
            .errors(&["invalid_parameter", "unknown_parameter"]),
        Route::get("/api/v1/dashboard/hot-issues", hot_issues::<S>)
            .permission(Permission::ReadDashboard)
            .doc(
                "dashboard",
                "热点问题：近期同一镇街（或同一地址）内文字相近的诉求聚成的事项，及不同镇街文字高度相近的诉求聚成的跨镇街热点（cross_town、towns），件数、逐日趋势、位置和诉求清单（数据权限内）",
            )
            .answer::<HotIssues>(),
        Route::post("/api/v1/dashboard/rebuild", rebuild::<S>)
            .permission(Permission::RebuildRollups)
            .doc("dashboard", "由诉求表重建驾驶舱汇总")
            .answer::<DashboardRebuild>(),
    ]
}

/// `GET /api/v1/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD[&fairly_satisfied_counts=true|false]`.
async fn dashboard<S: Store>(
    State(app): State<App<S>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<DashboardView>> {
    let query = app.dashboard().query(&params)?;
    Ok(Json(app.dashboard().view(query).await?))
}

/// `GET /api/v1/dashboard/hot-issues`.
async fn hot_issues<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<HotIssues>> {
    Ok(Json(app.duplicates().hot_issues(&caller).await?))
}

/// `POST /api/v1/dashboard/rebuild`: recomputes the rollups from the requests.
async fn rebuild<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<DashboardRebuild>> {
    Ok(Json(app.dashboard().rebuild().await?))
}
