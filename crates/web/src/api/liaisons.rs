//! Liaison cadres (领导干部联系企业) and contact cards (联系卡): cadres'
//! profiles and assignments kept by dispatchers and administrators, each
//! enterprise's cadres and their history within the enterprise scope, a
//! cadre's own enterprises, and the signed links of cards (also as a PDF card).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use mashangban_app::liaisons::{AssignBody, AssignmentView, CadreBody, CadreView, CardView, EnterpriseLiaisons};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::liaison::assignment_not_found;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::JsonBody;
use crate::routes::Route;

const CARD_QUERY: &[(&str, &str)] = &[("days", "链接有效天数（默认 365，最多 1098）")];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage, print) = (Permission::ReadEnterprises, Permission::ManageLiaisons, Permission::PrintCards);
    vec![
        Route::get("/api/v1/liaisons/cadres", cadres::<S>)
            .permission(manage)
            .doc("liaisons", "联系干部名单（层级、职务、工作电话、走访频次、联系企业数）")
            .answer::<Vec<CadreView>>(),
        Route::put("/api/v1/liaisons/cadres/{user_id}", save_cadre::<S>)
            .permission(manage)
            .doc("liaisons", "设置联系干部的层级、职务和工作电话（印在联系卡上）")
            .body::<CadreBody>()
            .answer::<CadreView>()
            .errors(&[
                "cadre_not_found",
                "not_a_cadre",
                "text_required",
                "text_too_long",
                "invalid_text",
                "invalid_phone",
            ]),
        Route::get("/api/v1/liaisons/mine", mine::<S>)
            .permission(read)
            .doc("liaisons", "我联系的企业（本人作为联系干部的安排）")
            .answer::<Vec<AssignmentView>>(),
        Route::get("/api/v1/enterprises/{code}/liaisons", of_enterprise::<S>)
            .permission(read)
            .doc("liaisons", "某企业的联系干部（现任，及全部安排的历史：谁在何时安排、解除）")
            .answer::<EnterpriseLiaisons>()
            .errors(&["enterprise_not_found"]),
        Route::post("/api/v1/enterprises/{code}/liaisons", assign::<S>)
            .permission(manage)
            .doc("liaisons", "为企业安排联系干部（牵头联系每企业一名）")
            .body::<AssignBody>()
            .answer::<AssignmentView>()
            .created()
            .errors(&["enterprise_not_found", "cadre_not_found", "liaison_exists", "lead_liaison_exists"]),
        Route::delete("/api/v1/liaisons/assignments/{id}", unassign::<S>)
            .permission(manage)
            .doc("liaisons", "解除联系干部安排（保留记录：谁在何时解除）")
            .answer::<AssignmentView>()
            .errors(&["liaison_not_found", "liaison_ended"]),
        Route::get("/api/v1/liaisons/assignments/{id}/card", card::<S>)
            .permission(print)
            .doc("liaisons", "联系卡：干部姓名、职务、工作电话、热线和二维码的签名链接")
            .query(CARD_QUERY)
            .answer::<CardView>()
            .errors(&["liaison_not_found", "liaison_ended", "invalid_card_days", "invalid_parameter"]),
        Route::get("/api/v1/liaisons/assignments/{id}/card.pdf", card_pdf::<S>)
            .permission(print)
            .doc("liaisons", "联系卡 PDF（A6 一张，内容同上，二维码为矢量图）")
            .query(CARD_QUERY)
            .errors(&["liaison_not_found", "liaison_ended", "invalid_card_days", "invalid_parameter"]),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardQuery {
    pub days: Option<String>,
}

/// The `days` parameter.
pub fn card_days(q: Result<Query<CardQuery>, QueryRejection>) -> ApiResult<Option<i64>> {
    let Query(q) = q.map_err(|_| AppError::bad_request("unknown_parameter", "查询参数只有 days"))?;
    match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => Ok(Some(d.parse().map_err(|_| AppError::bad_parameter("「days」应为天数"))?)),
    }
}

/// An assignment id from the path (`404 liaison_not_found` for anything else).
pub fn assignment_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(assignment_not_found()))?)
}

async fn cadres<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<CadreView>>> {
    Ok(Json(app.liaisons().cadres(&caller).await?))
}

async fn save_cadre<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<CadreBody>,
) -> ApiResult<Json<CadreView>> {
    let user_id = user_id.parse().map_err(|_| AppError::from(mashangban_domain::liaison::cadre_not_found()))?;
    Ok(Json(app.liaisons().save_cadre(&caller, user_id, body).await?))
}

async fn mine<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<AssignmentView>>> {
    Ok(Json(app.liaisons().mine(&caller).await?))
}

async fn of_enterprise<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<EnterpriseLiaisons>> {
    Ok(Json(app.liaisons().of_enterprise(&caller, &code).await?))
}

async fn assign<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<(StatusCode, Json<AssignmentView>)> {
    Ok((StatusCode::CREATED, Json(app.liaisons().assign(&caller, &code, body).await?)))
}

async fn unassign<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AssignmentView>> {
    Ok(Json(app.liaisons().unassign(&caller, assignment_id(&id)?).await?))
}

async fn card<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    q: Result<Query<CardQuery>, QueryRejection>,
) -> ApiResult<Json<CardView>> {
    Ok(Json(app.liaisons().card(&caller, assignment_id(&id)?, card_days(q)?).await?))
}

async fn card_pdf<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    q: Result<Query<CardQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let card = app.liaisons().card(&caller, assignment_id(&id)?, card_days(q)?).await?;
    Ok(crate::card_pdf::download(&card))
}
