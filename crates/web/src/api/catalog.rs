//! The org tree and categories, public so the portal can offer them.

use axum::Json;
use axum::extract::State;

use mashangban_app::App;
use mashangban_app::catalog::CategoryItem;
use mashangban_app::org::UnitItem;
use mashangban_store::Store;

use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/v1/units", units::<S>)
            .public()
            .doc("catalogue", "组织架构（单位与镇街）")
            .answer::<Vec<UnitItem>>(),
        Route::get("/api/v1/categories", categories::<S>)
            .public()
            .doc("catalogue", "诉求分类与派单目录")
            .answer::<Vec<CategoryItem>>(),
    ]
}

/// `GET /api/v1/units`: every active unit with its parent's code.
async fn units<S: Store>(State(app): State<App<S>>) -> Json<Vec<UnitItem>> {
    Json(app.org().units())
}

/// `GET /api/v1/categories`: the category tree with the dispatch catalogue.
async fn categories<S: Store>(State(app): State<App<S>>) -> Json<Vec<CategoryItem>> {
    Json(app.catalog().categories())
}
