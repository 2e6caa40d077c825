//! Documents (附件) of the modules that keep files: one table of owners, each
//! with its upload/list path under its module and the permissions of its
//! routes; one download and one withdrawal route for every document. Who may
//! read and add is decided by `app.documents()` from the owning module.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{MatchedPath, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use mashangban_app::documents::{DocumentView, WithdrawBody};
use mashangban_app::requests::NewFile;
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::document::{MAX_BYTES, OwnerKind, unknown_document};
use mashangban_store::{DocumentOwner, Store};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::json::{JsonBody, payload_too_large};
use crate::routes::Route;
use crate::upload::{PartKind, Parts, malformed_multipart, named, read_parts};

/// An owner kind's routes: where its documents are listed and uploaded (API and page), where its
/// page is, who may call them (the module's read and write permissions; none for the fund,
/// whose scope decides) and the code of an owner that is not there.
pub struct OwnerRoutes {
    pub kind: OwnerKind,
    pub api: &'static str,
    pub page: &'static str,
    /// The owner's page, before its id.
    pub detail: &'static str,
    pub read: Option<Permission>,
    pub add: Option<Permission>,
    /// The owner's not-found code first, then its refusals.
    pub errors: &'static [&'static str],
}

/// Every owner kind's routes.
pub const OWNERS: &[OwnerRoutes] = &[
    OwnerRoutes {
        kind: OwnerKind::FundApplication,
        api: "/api/v1/fund/applications/{id}/documents",
        page: "/fund/applications/{id}/documents",
        detail: "/fund/applications/",
        read: None,
        add: Some(Permission::ApplyFund),
        errors: &["fund_application_not_found", "not_applicant", "unknown_material"],
    },
    OwnerRoutes {
        kind: OwnerKind::EnforcementCase,
        api: "/api/v1/enforcement/cases/{id}/documents",
        page: "/enforcement/cases/{id}/documents",
        detail: "/enforcement/cases/",
        read: Some(Permission::ReadEnforcement),
        add: Some(Permission::HandleEnforcement),
        errors: &["case_not_found", "not_case_unit"],
    },
    OwnerRoutes {
        kind: OwnerKind::Inspection,
        api: "/api/v1/enforcement/inspections/{id}/documents",
        page: "/enforcement/inspections/{id}/documents",
        detail: "/enforcement/inspections/",
        read: Some(Permission::ReadEnforcement),
        add: Some(Permission::HandleEnforcement),
        errors: &["inspection_not_found", "not_case_unit"],
    },
    OwnerRoutes {
        kind: OwnerKind::CompensationMatter,
        api: "/api/v1/compensation/matters/{id}/documents",
        page: "/compensation/{id}/documents",
        detail: "/compensation/",
        read: Some(Permission::ReadEnforcement),
        add: Some(Permission::HandleEnforcement),
        errors: &["matter_not_found", "not_case_unit"],
    },
    OwnerRoutes {
        kind: OwnerKind::DirectLineItem,
        api: "/api/v1/direct-line/{id}/documents",
        page: "/direct-line/items/{id}/documents",
        detail: "/direct-line/items/",
        read: Some(Permission::ReadDirectLine),
        add: Some(Permission::HandleDirectLine),
        errors: &["direct_line_not_found", "not_leaders_office"],
    },
    OwnerRoutes {
        kind: OwnerKind::OnsiteRequest,
        api: "/api/v1/onsite/requests/{id}/documents",
        page: "/onsite/{id}/documents",
        detail: "/onsite/",
        read: Some(Permission::ReadOnsite),
        // The centre's staff (onsite.handle) and the asking enterprise (onsite.request): the scope decides.
        add: Some(Permission::ReadOnsite),
        errors: &["onsite_not_found", "not_onsite_party"],
    },
    OwnerRoutes {
        kind: OwnerKind::Visit,
        api: "/api/v1/visits/{id}/documents",
        page: "/visits/{id}/documents",
        detail: "/visits/",
        read: Some(Permission::ReadVisits),
        add: Some(Permission::RecordVisits),
        errors: &["visit_not_found", "not_visit_recorder", "visit_cancelled"],
    },
];

/// The owner kind whose API or page path matched.
pub fn owner_routes(matched: &MatchedPath) -> &'static OwnerRoutes {
    let path = matched.as_str();
    OWNERS.iter().find(|o| o.api == path || o.page == path).unwrap_or(&OWNERS[0])
}

/// The refusals of an upload besides the owner's.
const UPLOAD_ERRORS: &[&str] = &[
    "document_type_refused",
    "document_too_large",
    "too_many_documents",
    "empty_file",
    "no_file",
    "malformed_multipart",
    "unknown_field",
    "text_too_long",
];

/// The body limit of an upload: one largest document and the form's overhead.
pub const UPLOAD_LIMIT: usize = MAX_BYTES + 64 * 1024;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let mut routes = Vec::new();
    for owner in OWNERS {
        let upload = Route::post(owner.api, upload::<S>)
            .doc("documents", "上传附件（multipart：字段 file，可多个；可选 purpose 用途或材料名称）")
            .multipart()
            .body_limit(UPLOAD_LIMIT)
            .answer::<Vec<DocumentView>>()
            .created()
            // Built once per router: the owner's codes and the upload's, for the OpenAPI document.
            .errors(Box::leak([owner.errors, UPLOAD_ERRORS].concat().into_boxed_slice()));
        let list = Route::get(owner.api, list::<S>)
            .doc("documents", "附件列表（不含已撤回的）")
            .answer::<Vec<DocumentView>>()
            // Built once per router: the owner's codes and the upload's, for the OpenAPI document.
            .errors(Box::leak([owner.errors, UPLOAD_ERRORS].concat().into_boxed_slice()));
        routes.push(match owner.add {
            Some(p) => upload.permission(p),
            None => upload,
        });
        routes.push(match owner.read {
            Some(p) => list.permission(p),
            None => list,
        });
    }
    routes.extend(ledger_routes());
    routes.push(
        Route::get("/api/v1/documents/{id}", download::<S>)
            .doc("documents", "下载附件（始终作为附件下载；已撤回的仍可从办理记录下载）")
            .errors(&["unknown_document"]),
    );
    routes.push(
        Route::post("/api/v1/documents/{id}/withdraw", withdraw::<S>)
            .doc("documents", "撤回附件（须填写理由；不再列出，办理记录保留）")
            .body::<WithdrawBody>()
            .answer::<DocumentView>()
            .errors(&[
                "unknown_document",
                "document_withdrawn",
                "not_case_unit",
                "not_applicant",
                "not_leaders_office",
                "not_onsite_party",
                "not_visit_recorder",
                "visit_cancelled",
                "not_ledger_editor",
                "ledger_file_in_use",
                "text_required",
            ]),
    );
    routes
}

/// Where a ledger item's documents are (its type and key in the path).
pub const LEDGER_DOCUMENTS: &str = "/api/v1/ledgers/{type}/items/{key}/documents";

/// A ledger item's refusals besides the upload's.
const LEDGER_ERRORS: &[&str] = &[
    "ledger_type_not_found",
    "ledger_item_not_found",
    "not_ledger_editor",
    "ledger_file_field_unknown",
    "ledger_file_one",
    "ledger_item_changed",
    "ledger_type_changed",
];

/// A ledger item's documents: upload (optionally filling a file field), list, download, withdraw.
fn ledger_routes<S: Store>() -> Vec<Route<S>> {
    let errors: &'static [&'static str] = Box::leak([LEDGER_ERRORS, UPLOAD_ERRORS].concat().into_boxed_slice());
    vec![
        Route::post(LEDGER_DOCUMENTS, ledger_upload::<S>)
            .permission(Permission::EditLedgers)
            .doc(
                "documents",
                "上传台账条目的附件（multipart：字段 file；可选 purpose 用途；可选 field 文件字段编码或名称：只能一个文件，同一事务把该字段设为此附件并记入条目变更历史）",
            )
            .multipart()
            .body_limit(UPLOAD_LIMIT)
            .answer::<Vec<DocumentView>>()
            .created()
            .errors(errors),
        Route::get(LEDGER_DOCUMENTS, ledger_list::<S>)
            .permission(Permission::ReadLedgers)
            .doc("documents", "台账条目的附件（不含已撤回的）")
            .answer::<Vec<DocumentView>>()
            .errors(&["ledger_type_not_found", "ledger_item_not_found"]),
        Route::get("/api/v1/ledgers/{type}/items/{key}/documents/{id}", ledger_download::<S>)
            .permission(Permission::ReadLedgers)
            .doc("documents", "下载台账条目的附件（已撤回的仍可下载）")
            .errors(&["ledger_type_not_found", "ledger_item_not_found", "unknown_document"]),
        Route::post("/api/v1/ledgers/{type}/items/{key}/documents/{id}/withdraw", ledger_withdraw::<S>)
            .permission(Permission::EditLedgers)
            .doc("documents", "撤回台账条目的附件（须填写理由；文件字段正在使用的附件不能撤回）")
            .body::<WithdrawBody>()
            .answer::<DocumentView>()
            .errors(&[
                "ledger_type_not_found",
                "ledger_item_not_found",
                "unknown_document",
                "document_withdrawn",
                "not_ledger_editor",
                "ledger_file_in_use",
                "text_required",
            ]),
    ]
}

/// `POST /api/v1/ledgers/{type}/items/{key}/documents` (multipart `file`, `purpose`, `field`).
async fn ledger_upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Vec<DocumentView>>)> {
    let (files, texts) = read_document_form(multipart, &["purpose", "field"]).await?;
    let (purpose, field) = (texts.get("purpose"), texts.get("field"));
    let added = app
        .ledgers()
        .add_files(&caller, &code, &key, field.map(String::as_str), purpose.map(String::as_str), files)
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// `GET /api/v1/ledgers/{type}/items/{key}/documents`.
async fn ledger_list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key)): Path<(String, String)>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    let owner = app.ledgers().documents_owner(&caller, &code, &key).await?;
    Ok(Json(app.documents().list(&caller, owner).await?))
}

/// The document `id` when it is the item's (`404 unknown_document` otherwise).
async fn ledger_document<S: Store>(app: &App<S>, caller: &Caller, code: &str, key: &str, id: &str) -> ApiResult<i64> {
    let owner = app.ledgers().documents_owner(caller, code, key).await?;
    let id = document_id(id)?;
    match app.store().document(id).await.map_err(AppError::from)? {
        Some(d) if d.owner == owner => Ok(id),
        _ => Err(AppError::from(unknown_document()).into()),
    }
}

/// `GET /api/v1/ledgers/{type}/items/{key}/documents/{id}`.
async fn ledger_download<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let id = ledger_document(&app, &caller, &code, &key, &id).await?;
    send(app.documents().download(&caller, id).await?)
}

/// `POST /api/v1/ledgers/{type}/items/{key}/documents/{id}/withdraw` `{reason}`.
async fn ledger_withdraw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path((code, key, id)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<WithdrawBody>,
) -> ApiResult<Json<DocumentView>> {
    let id = ledger_document(&app, &caller, &code, &key, &id).await?;
    Ok(Json(app.documents().withdraw(&caller, id, body).await?))
}

/// The owner's id from the path (`404` with the owner's code when it is not a number).
pub fn owner(routes: &OwnerRoutes, id: &str) -> Result<DocumentOwner, ApiError> {
    let id = id.trim().parse().map_err(|_| {
        let code = routes.errors.first().copied().unwrap_or("unknown_document");
        ApiError::new(StatusCode::NOT_FOUND, code, "不存在")
    })?;
    Ok(DocumentOwner { kind: routes.kind, id })
}

/// The files and purpose of an upload, each file within [`MAX_BYTES`] (`413 document_too_large`).
pub async fn read_documents(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(Vec<NewFile>, Option<String>), ApiError> {
    let (files, mut texts) = read_document_form(multipart, &["purpose"]).await?;
    Ok((files, texts.remove("purpose")))
}

/// The files and the text fields `texts` of an upload, each file within [`MAX_BYTES`]
/// (`413 document_too_large`).
pub async fn read_document_form(
    multipart: Result<Multipart, MultipartRejection>,
    texts: &[&'static str],
) -> Result<(Vec<NewFile>, BTreeMap<&'static str, String>), ApiError> {
    let mut parts = Parts::default();
    read_document_parts(multipart, &mut parts, named(texts, MAX_BYTES)).await?;
    Ok(parts.into_upload(texts))
}

/// Reads an upload's parts into `parts` as `kind` says (files bounded by the kind, at most
/// [`MAX_BYTES`] for documents): the body limit or a file's bound hit is `413 document_too_large`.
pub async fn read_document_parts(
    multipart: Result<Multipart, MultipartRejection>,
    parts: &mut Parts,
    kind: impl Fn(&str) -> PartKind,
) -> Result<(), ApiError> {
    let multipart = multipart.map_err(|_| malformed_multipart())?;
    read_parts(multipart, "", parts, kind).await.map_err(|e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            let message = mashangban_domain::document::too_large().message;
            payload_too_large().with_code("document_too_large").with_message(message)
        } else {
            e
        }
    })
}

/// `POST {owner}/documents` (multipart `file`, repeatable; `purpose`).
async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    matched: MatchedPath,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Vec<DocumentView>>)> {
    let owner = owner(owner_routes(&matched), &id)?;
    let (files, purpose) = read_documents(multipart).await?;
    let added = app.documents().add(&caller, owner, purpose.as_deref(), files).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// `GET {owner}/documents`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    matched: MatchedPath,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    let owner = owner(owner_routes(&matched), &id)?;
    Ok(Json(app.documents().list(&caller, owner).await?))
}

fn document_id(id: &str) -> Result<i64, AppError> {
    id.trim().parse().map_err(|_| AppError::from(unknown_document()))
}

/// `GET /api/v1/documents/{id}`: always a download with its UTF-8 name, never rendered inline,
/// with sniffing off and a sandboxing CSP.
async fn download<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    send(app.documents().download(&caller, document_id(&id)?).await?)
}

/// A document as a download: its UTF-8 name, never rendered inline, sniffing off, a sandboxing CSP.
fn send(file: mashangban_app::documents::DocumentContent) -> ApiResult<Response> {
    let ascii = format!("document-{}.{}", file.id, file.content_type.extension());
    let mut response = crate::download::file(file.bytes, file.content_type.as_str(), &file.file_name, &ascii);
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}

/// `POST /api/v1/documents/{id}/withdraw` `{reason}`.
async fn withdraw<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WithdrawBody>,
) -> ApiResult<Json<DocumentView>> {
    Ok(Json(app.documents().withdraw(&caller, document_id(&id)?, body).await?))
}
