//! Documents (附件) on the owners' pages: the panel each detail page shows
//! (`templates/documents_panel.html`), the upload form's post for every owner
//! kind of `api::documents::OWNERS` and the withdrawal form's; both redirect
//! back to the owner's page, or show the refusal in Chinese with a way back.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{MatchedPath, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::documents::{COMPENSATION_PURPOSES, DocumentView, VISIT_PURPOSES, WithdrawBody};
use mashangban_app::{App, AppResult, Caller};
use mashangban_domain::document::{MAX_PER_OWNER, OwnerKind, unknown_document};
use mashangban_store::{DocumentOwner, Store};

use super::enforcement::RefusedPage;
use super::{Layout, PageResult, render, short_time, shown};
use crate::api::documents::{OWNERS, OwnerRoutes, UPLOAD_LIMIT, owner, owner_routes, read_documents};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Form, PagePath as Path};
use crate::routes::{Menu, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let mut routes: Vec<Route<S>> = OWNERS
        .iter()
        .map(|o| {
            let route = Route::post(o.page, upload::<S>).multipart().body_limit(UPLOAD_LIMIT);
            match o.add {
                Some(p) => route.permission(p),
                None => route,
            }
        })
        .collect();
    routes.push(Route::post("/documents/{id}/withdraw", withdraw::<S>).form());
    routes
}

/// An owner's documents as its page shows them, with the upload form when the caller may add.
pub struct Panel {
    pub documents: Vec<DocumentView>,
    pub add: bool,
    /// Where the upload form posts.
    pub action: String,
    /// The purposes offered (a fund application's materials, a matter's papers); none: no choice.
    pub purposes: Vec<String>,
    pub max: u32,
}

impl Panel {
    pub fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// The panel of `owner` for the caller (who reads the owner: the page has checked); `materials`
/// are a fund application's, offered as purposes.
pub async fn panel<S: Store>(
    app: &App<S>,
    caller: &Caller,
    kind: OwnerKind,
    id: i64,
    materials: Vec<String>,
) -> AppResult<Panel> {
    let owner = DocumentOwner { kind, id };
    let (documents, rights) = app.documents().for_page(caller, owner).await?;
    let routes = OWNERS.iter().find(|o| o.kind == kind).unwrap_or(&OWNERS[0]);
    let purposes = match kind {
        OwnerKind::CompensationMatter => COMPENSATION_PURPOSES.iter().map(|p| (*p).to_owned()).collect(),
        OwnerKind::Visit => VISIT_PURPOSES.iter().map(|p| (*p).to_owned()).collect(),
        _ => materials,
    };
    Ok(Panel {
        documents,
        add: rights.add,
        action: routes.page.replace("{id}", &id.to_string()),
        purposes,
        max: MAX_PER_OWNER,
    })
}

fn back_to(routes: &OwnerRoutes, id: i64) -> String {
    format!("{}{id}#documents", routes.detail)
}

fn refused(caller: &Caller, menu: &Menu, e: ApiError, back: String) -> PageResult {
    let (status, message) = shown(e)?;
    let page = RefusedPage { layout: Layout::staff("附件未能保存", &caller.actor, menu), message, back };
    Ok(render(status, &page))
}

/// `POST {owner page}/documents` (multipart `file`, `purpose`): back to the owner's page.
async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    axum::Extension(menu): axum::Extension<Arc<Menu>>,
    matched: MatchedPath,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let routes = owner_routes(&matched);
    let owner = owner(routes, &id)?;
    let saved: Result<_, ApiError> = async {
        let (files, purpose) = read_documents(multipart).await?;
        Ok(app.documents().add(&caller, owner, purpose.as_deref(), files).await?)
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to(&back_to(routes, owner.id)).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) => refused(&caller, &menu, e, back_to(routes, owner.id)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WithdrawForm {
    reason: String,
}

/// `POST /documents/{id}/withdraw` (`reason`): back to the owner's page.
async fn withdraw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    axum::Extension(menu): axum::Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> PageResult {
    let id: i64 = id.trim().parse().map_err(|_| ApiError::from(mashangban_app::AppError::from(unknown_document())))?;
    match app.documents().withdraw(&caller, id, WithdrawBody { reason: form.reason }).await {
        Ok(done) => {
            let owner = DocumentOwner { kind: done.owner_kind, id: done.owner_id };
            Ok(Redirect::to(&owner_page(&app, owner).await).into_response())
        }
        Err(e) if e.kind == mashangban_app::ErrorKind::NotFound => Err(ApiError::from(e).into()),
        Err(e) => {
            let back = match app.store().document(id).await {
                Ok(Some(d)) => owner_page(&app, d.owner).await,
                _ => "/".to_owned(),
            };
            refused(&caller, &menu, e.into(), back)
        }
    }
}

/// The owner's page at its documents: a ledger item's by its type and key, the others' by id.
async fn owner_page<S: Store>(app: &App<S>, owner: DocumentOwner) -> String {
    if owner.kind == OwnerKind::LedgerItem {
        return match app.store().ledger_item_by_id(owner.id).await {
            Ok(Some(item)) => {
                format!("/ledgers/{}/items/{}#documents", item.type_code, crate::api::percent_encode(&item.key))
            }
            _ => "/ledgers".to_owned(),
        };
    }
    let routes = OWNERS.iter().find(|o| o.kind == owner.kind).unwrap_or(&OWNERS[0]);
    back_to(routes, owner.id)
}
