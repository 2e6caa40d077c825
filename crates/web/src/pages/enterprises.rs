//! 企业名录 (`/enterprises`): the registry in the person's enterprise scope
//! with the API's filters, and each enterprise's file (一企一档,
//! `/enterprises/{code}`): its record, its requests with state and deadline,
//! and a timeline, from `app.enterprises()` as `/api/v1/enterprises` answers.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use mashangban_app::App;
use mashangban_app::enterprises::{EnterpriseFile, EnterpriseList, ListQuery};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time};
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let read = Permission::ReadEnterprises;
    vec![
        Route::get("/enterprises", list::<S>).permission(read).nav(MenuKind::Main, 45, "企业名录"),
        Route::get("/enterprises/{code}", file::<S>).permission(read),
    ]
}

#[derive(Template)]
#[template(path = "enterprises.html")]
struct ListPage {
    layout: Layout,
    list: EnterpriseList,
    query: ListQuery,
    towns: Vec<(String, String)>,
    export_url: String,
    next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "enterprise.html")]
pub(super) struct FilePage {
    pub layout: Layout,
    pub file: EnterpriseFile,
    /// A refusal of the last assignment form.
    pub message: Option<String>,
    /// May assign and unassign cadres.
    pub manage: bool,
    /// May print contact cards.
    pub print: bool,
    /// The cadres to choose from when assigning.
    pub cadres: Vec<mashangban_app::liaisons::CadreView>,
}

impl FilePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /enterprises[?town=&industry=&size=&q=&offset=]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let list = app.enterprises().list(&caller, &query).await?;
    let org = app.caches().org();
    let mut towns: Vec<(String, String)> = org
        .units()
        .filter(|u| u.kind == mashangban_domain::org::UnitKind::Town && u.active)
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    towns.sort();
    let params = |offset: Option<u32>| {
        let mut pairs: Vec<String> =
            [("town", &query.town), ("industry", &query.industry), ("size", &query.size), ("q", &query.q)]
                .iter()
                .filter_map(|(k, v)| {
                    v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", crate::api::percent_encode(v)))
                })
                .collect();
        if let Some(o) = offset {
            pairs.push(format!("offset={o}"));
        }
        pairs.join("&")
    };
    let next = list.offset + list.limit;
    let next_url = (u64::from(next) < list.total).then(|| format!("/enterprises?{}", params(Some(next))));
    let page = ListPage {
        layout: Layout::staff("企业名录", &caller.actor, &menu),
        export_url: format!("/api/v1/enterprises/export?{}", params(None)),
        next_url,
        list,
        query,
        towns,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /enterprises/{code}`: 404 when absent or out of the person's scope.
async fn file<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    file_page(&app, &caller, &menu, &code, StatusCode::OK, None).await
}

/// The enterprise's file page, with a message of a refused form.
pub(super) async fn file_page<S: Store>(
    app: &App<S>,
    caller: &mashangban_app::Caller,
    menu: &Menu,
    code: &str,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let file = app.enterprises().file(caller, code).await?;
    let manage = caller.may(Permission::ManageLiaisons);
    let cadres = if manage { app.liaisons().cadres(caller).await? } else { Vec::new() };
    let page = FilePage {
        layout: Layout::staff(file.enterprise.name.clone(), &caller.actor, menu),
        file,
        message,
        manage,
        print: caller.may(Permission::PrintCards),
        cadres,
    };
    Ok(render(status, &page))
}
