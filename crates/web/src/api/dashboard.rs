//! The leader dashboard (领导驾驶舱) as JSON: the city's figures over a
//! period, the trend and the breakdowns by lead unit, town, type and
//! top-level category, summed from the store's rollups. Definitions:
//! `mashangban_domain::dashboard` and `docs/pages.md`.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Serialize;

use mashangban_domain::dashboard::{Dashboard, Figures, Granularity, Slice, TrendPoint};
use mashangban_domain::org::{Actor, OrgTree, Role};
use mashangban_domain::request::RequestKind;
use mashangban_domain::scoring::{Period, ScoreOptions};
use mashangban_store::{Category, DashboardQuery, DashboardRebuild, Store};

use super::scores::{bad, parse_bool, parse_date};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/api/v1/dashboard", get(dashboard::<S>)).route("/api/v1/dashboard/rebuild", post(rebuild::<S>))
}

/// Roles that see the whole city's dashboard.
pub const DASHBOARD_READERS: &[Role] = &[Role::CityLeader, Role::Supervisor, Role::Admin];

/// Refuses everyone but the city-wide readers: a unit-bound role must not see the city.
pub fn require_reader(actor: &Actor) -> ApiResult<()> {
    if actor.has_role(DASHBOARD_READERS) {
        Ok(())
    } else {
        Err(ApiError::forbidden("全市驾驶舱仅向市领导、督办员和管理员开放"))
    }
}

/// `GET /api/v1/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD[&fairly_satisfied_counts=true|false]`.
async fn dashboard<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<DashboardView>> {
    let actor = auth.require_login()?;
    require_reader(actor)?;
    let query = parse_query(&query, state.config.fairly_satisfied_counts)?;
    Ok(Json(dashboard_view(&state, query).await?))
}

/// `POST /api/v1/dashboard/rebuild` (administrators): recomputes the rollups from the requests.
async fn rebuild<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<DashboardRebuild>> {
    auth.require_role(&[Role::Admin])?;
    Ok(Json(state.store.rebuild_dashboard().await?))
}

fn parse_query(query: &HashMap<String, String>, fairly_default: bool) -> ApiResult<DashboardQuery> {
    let (mut from, mut to) = (None, None);
    let mut options = ScoreOptions { fairly_satisfied_counts: fairly_default };
    for (key, value) in query {
        let value = value.trim();
        match key.as_str() {
            "from" => from = Some(parse_date(key, value)?),
            "to" => to = Some(parse_date(key, value)?),
            "fairly_satisfied_counts" => options.fairly_satisfied_counts = parse_bool(key, value)?,
            other => return Err(ApiError::bad_request("unknown_parameter", format!("不认识的查询参数「{other}」"))),
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(bad("请用「from」和「to」指定统计区间，如 from=2026-01-01&to=2026-03-31"));
    };
    let period = Period::new(from, to).map_err(|e| bad(e.message))?;
    Ok(DashboardQuery { period, options })
}

/// The dashboard with names: what the API answers and the page draws.
#[derive(Serialize)]
pub struct DashboardView {
    pub period: Period,
    pub fairly_satisfied_counts: bool,
    pub totals: Figures,
    pub granularity: Granularity,
    pub trend: Vec<TrendPoint>,
    /// By lead unit (主办单位); code `""`: not dispatched yet.
    pub units: Vec<SliceView>,
    /// By town (镇街); code `""`: no town given.
    pub towns: Vec<SliceView>,
    /// By request type (类型).
    pub kinds: Vec<SliceView>,
    /// By top-level category (一级分类).
    pub categories: Vec<SliceView>,
}

/// One bar of a breakdown, named.
#[derive(Serialize)]
pub struct SliceView {
    /// Unit, town or category code, or the type's code; `""` for none.
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The store's dashboard for the query, with the names of its keys.
pub async fn dashboard_view<S: Store>(state: &AppState<S>, query: DashboardQuery) -> ApiResult<DashboardView> {
    let d = state.store.dashboard(query).await?;
    Ok(DashboardView::new(&d, &state.org(), &state.categories()))
}

impl DashboardView {
    fn new(d: &Dashboard, org: &OrgTree, categories: &[Category]) -> Self {
        let unit = |key: &str, none: &str| -> (String, String) {
            match key.parse().ok().and_then(|id| org.get(id)) {
                Some(u) => (u.code.clone(), u.display_name().to_owned()),
                None if key.is_empty() => (String::new(), none.to_owned()),
                None => (key.to_owned(), format!("单位{key}")),
            }
        };
        let kind = |key: &str| (key.to_owned(), RequestKind::parse(key).map_or(key, |k| k.label()).to_owned());
        let category = |key: &str| match categories.iter().find(|c| c.id.to_string() == key) {
            Some(c) => (c.code.clone(), c.name.clone()),
            None => (key.to_owned(), format!("分类{key}")),
        };
        Self {
            period: d.period,
            fairly_satisfied_counts: d.options.fairly_satisfied_counts,
            totals: d.totals,
            granularity: d.granularity,
            trend: d.trend.clone(),
            units: named(&d.units, |k| unit(k, "未派单")),
            towns: named(&d.towns, |k| unit(k, "未填镇街")),
            kinds: named(&d.kinds, kind),
            categories: named(&d.categories, category),
        }
    }
}

fn named(slices: &[Slice], name: impl Fn(&str) -> (String, String)) -> Vec<SliceView> {
    slices
        .iter()
        .map(|s| {
            let (code, name) = name(&s.key);
            SliceView { code, name, figures: s.figures }
        })
        .collect()
}
