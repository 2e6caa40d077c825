//! The org tree and categories, public so the portal can offer them.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use mashangban_store::Store;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize)]
pub struct UnitItem {
    code: String,
    name: String,
    short_name: Option<String>,
    kind: &'static str,
    parent: Option<String>,
}

/// `GET /api/v1/units`: every active unit with its parent's code.
pub async fn units<S: Store>(State(state): State<AppState<S>>) -> ApiResult<Json<Vec<UnitItem>>> {
    let org = state.org();
    let mut items: Vec<UnitItem> = org
        .units()
        .filter(|u| u.active)
        .map(|u| UnitItem {
            code: u.code.clone(),
            name: u.name.clone(),
            short_name: u.short_name.clone(),
            kind: u.kind.as_str(),
            parent: u.parent_id.and_then(|p| org.get(p)).map(|p| p.code.clone()),
        })
        .collect();
    items.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Json(items))
}

#[derive(Serialize)]
pub struct CategoryItem {
    code: String,
    name: String,
    parent: Option<String>,
    /// The suggested lead unit (派单目录).
    default_lead_unit: Option<String>,
    keywords: Vec<String>,
}

/// `GET /api/v1/categories`: the category tree with the dispatch catalogue.
pub async fn categories<S: Store>(State(state): State<AppState<S>>) -> ApiResult<Json<Vec<CategoryItem>>> {
    let org = state.org();
    let categories = state.categories();
    let items = categories
        .iter()
        .filter(|c| c.active)
        .map(|c| CategoryItem {
            code: c.code.clone(),
            name: c.name.clone(),
            parent: c.parent_id.and_then(|p| categories.iter().find(|x| x.id == p)).map(|p| p.code.clone()),
            default_lead_unit: c.default_lead_unit_id.and_then(|u| org.get(u)).map(|u| u.code.clone()),
            keywords: c.keywords.clone(),
        })
        .collect();
    Ok(Json(items))
}
