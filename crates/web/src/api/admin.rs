//! System administration (系统管理) of the org tree, users and roles, and
//! the category catalogue.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode, header};

use mashangban_app::App;
use mashangban_app::accounts::{
    AccountEventView, ApiTokenInput, ApiTokenView, CreatedApiToken, DisabledInput, NewUserInput, PasswordInput,
    RoleInput, UserView,
};
use mashangban_app::catalog::{CategoryInput, CategoryView};
use mashangban_app::org::{ActiveInput, UnitInput};
use mashangban_domain::access::Permission;
use mashangban_domain::org::Unit;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let users = Permission::ManageUsers;
    vec![
        Route::put("/api/v1/admin/units/{code}", put_unit::<S>)
            .permission(Permission::ManageOrg)
            .doc("administration", "新增或修改单位")
            .body::<UnitInput>()
            .answer::<Unit>()
            .errors(&[
                "invalid_code",
                "text_required",
                "text_too_long",
                "invalid_unit_kind",
                "unknown_unit",
                "unit_cycle",
                "unit_nesting_refused",
            ]),
        Route::post("/api/v1/admin/units/{code}", create_unit::<S>)
            .permission(Permission::ManageOrg)
            .doc("administration", "新增单位（编码已存在则拒绝，不修改原单位）")
            .body::<UnitInput>()
            .answer::<Unit>()
            .created()
            .errors(&[
                "invalid_code",
                "text_required",
                "text_too_long",
                "invalid_unit_kind",
                "unknown_unit",
                "unit_nesting_refused",
                "unit_code_taken",
            ]),
        Route::post("/api/v1/admin/units/{code}/active", unit_active::<S>)
            .permission(Permission::ManageOrg)
            .doc("administration", "撤销或恢复单位")
            .body::<ActiveInput>()
            .answer::<Unit>()
            .errors(&["unit_not_found", "unit_has_children", "parent_unit_inactive"]),
        Route::get("/api/v1/admin/users", list_users::<S>)
            .permission(users)
            .doc("administration", "用户列表（手机号脱敏）")
            .answer::<Vec<UserView>>(),
        Route::post("/api/v1/admin/users", create_user::<S>)
            .permission(users)
            .doc("administration", "新增用户（含初始密码）")
            .body::<NewUserInput>()
            .answer::<UserView>()
            .created()
            .errors(&[
                "invalid_code",
                "text_required",
                "invalid_role",
                "unknown_unit",
                "unit_required",
                "unit_not_allowed",
                "invalid_phone",
                "invalid_credit_code",
                "credit_code_required",
                "credit_code_not_allowed",
                "weak_password",
                "invalid_password",
                "username_taken",
            ]),
        Route::put("/api/v1/admin/users/{username}/role", change_role::<S>)
            .permission(users)
            .doc("administration", "修改用户角色与单位")
            .body::<RoleInput>()
            .answer::<UserView>()
            .errors(&[
                "user_not_found",
                "invalid_role",
                "unknown_unit",
                "unit_required",
                "unit_not_allowed",
                "unit_inactive",
                "own_admin_role",
            ]),
        Route::put("/api/v1/admin/users/{username}/disabled", set_disabled::<S>)
            .permission(users)
            .doc("administration", "停用或启用用户")
            .body::<DisabledInput>()
            .no_content()
            .errors(&["user_not_found", "own_account"]),
        Route::put("/api/v1/admin/users/{username}/password", reset_password::<S>)
            .permission(users)
            .doc("administration", "重置用户密码")
            .body::<PasswordInput>()
            .no_content()
            .errors(&["user_not_found", "weak_password", "invalid_password"]),
        Route::get("/api/v1/admin/users/{username}/history", user_history::<S>)
            .permission(users)
            .doc("administration", "用户账号变更记录（谁在何时改了什么；手机号与邮箱脱敏，不含密码）")
            .answer::<Vec<AccountEventView>>()
            .errors(&["user_not_found"]),
        Route::get("/api/v1/admin/api-tokens", list_api_tokens::<S>)
            .permission(users)
            .doc("administration", "接口令牌列表（不含密钥）")
            .answer::<Vec<ApiTokenView>>(),
        Route::post("/api/v1/admin/api-tokens", create_api_token::<S>)
            .permission(users)
            .doc("administration", "新建接口令牌（绑定工作人员角色与单位；密钥只在此应答中出现一次，只存其散列）")
            .body::<ApiTokenInput>()
            .answer::<CreatedApiToken>()
            .created()
            .errors(&[
                "text_required",
                "text_too_long",
                "invalid_text",
                "invalid_role",
                "token_role_not_staff",
                "unit_required",
                "unknown_unit",
            ]),
        Route::post("/api/v1/admin/api-tokens/{id}/revoke", revoke_api_token::<S>)
            .permission(users)
            .doc("administration", "吊销接口令牌（立即生效，此后用它调用接口一律 401）")
            .no_content()
            .errors(&["token_not_found", "token_already_revoked"]),
        Route::get("/api/v1/admin/api-tokens/{id}/history", api_token_history::<S>)
            .permission(users)
            .doc("administration", "接口令牌变更记录（谁在何时创建、吊销）")
            .answer::<Vec<AccountEventView>>()
            .errors(&["token_not_found"]),
        Route::put("/api/v1/admin/categories/{code}", put_category::<S>)
            .permission(Permission::ManageCatalog)
            .doc("administration", "新增或修改事项分类与派单目录")
            .body::<CategoryInput>()
            .answer::<CategoryView>()
            .errors(&[
                "invalid_code",
                "text_required",
                "text_too_long",
                "too_many_keywords",
                "unknown_category",
                "unknown_unit",
                "category_cycle",
            ]),
    ]
}

/// `PUT /api/v1/admin/units/{code}`: `{"name", "short_name"?, "kind", "parent"}`.
async fn put_unit<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
    JsonBody(input): JsonBody<UnitInput>,
) -> ApiResult<Json<Unit>> {
    Ok(Json(app.org().save_unit(&code, input).await?))
}

/// `POST /api/v1/admin/units/{code}`: creates a unit, refusing a code in use.
async fn create_unit<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
    JsonBody(input): JsonBody<UnitInput>,
) -> ApiResult<(StatusCode, Json<Unit>)> {
    Ok((StatusCode::CREATED, Json(app.org().create_unit(&code, input).await?)))
}

/// `POST /api/v1/admin/units/{code}/active`: `{"active": false}` deactivates.
async fn unit_active<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
    JsonBody(input): JsonBody<ActiveInput>,
) -> ApiResult<Json<Unit>> {
    Ok(Json(app.org().set_unit_active(&code, input.active).await?))
}

/// `GET /api/v1/admin/users`: every account, phones masked.
async fn list_users<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(app.accounts().users().await?))
}

/// `POST /api/v1/admin/users`: 201 with the account.
async fn create_user<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<NewUserInput>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(app.accounts().create_user(&caller, input).await?)))
}

/// `GET /api/v1/admin/users/{username}/history`: the account's history, oldest first.
async fn user_history<S: Store>(
    State(app): State<App<S>>,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<AccountEventView>>> {
    Ok(Json(app.accounts().history(&username).await?))
}

/// `GET /api/v1/admin/api-tokens`: every API token, never its secret.
async fn list_api_tokens<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<ApiTokenView>>> {
    Ok(Json(app.accounts().api_tokens().await?))
}

/// `POST /api/v1/admin/api-tokens`: `{"name", "role", "unit"}` → 201 with the token and its secret,
/// shown this once (so no cache may keep the answer).
async fn create_api_token<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<ApiTokenInput>,
) -> ApiResult<(StatusCode, [(HeaderName, &'static str); 1], Json<CreatedApiToken>)> {
    let created = app.accounts().create_api_token(&caller, input).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(created)))
}

/// `POST /api/v1/admin/api-tokens/{id}/revoke` → 204; the token is refused from the next request on.
async fn revoke_api_token<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    app.accounts().revoke_api_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/admin/api-tokens/{id}/history`: the token's history, oldest first.
async fn api_token_history<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<AccountEventView>>> {
    Ok(Json(app.accounts().api_token_history(id).await?))
}

/// `PUT /api/v1/admin/users/{username}/role`: `{"role", "unit"?}`.
async fn change_role<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<RoleInput>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(app.accounts().change_role(&caller, &username, input).await?))
}

/// `PUT /api/v1/admin/users/{username}/disabled`: `{"disabled": true}` → 204.
async fn set_disabled<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<DisabledInput>,
) -> ApiResult<StatusCode> {
    app.accounts().set_disabled(&caller, &username, input.disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/admin/users/{username}/password`: `{"password"}` → 204.
async fn reset_password<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<PasswordInput>,
) -> ApiResult<StatusCode> {
    app.accounts().reset_password(&caller, &username, &input.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/admin/categories/{code}`: `{"name", "parent"?, "lead_unit"?, "keywords"?}`.
async fn put_category<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
    JsonBody(input): JsonBody<CategoryInput>,
) -> ApiResult<Json<CategoryView>> {
    Ok(Json(app.catalog().save_category(&code, input).await?))
}
