//! System administration (系统管理) of the org tree, users and roles, and
//! the category catalogue. Administrators only. Each operation is a
//! function the admin pages call too, so a page never checks less than the API.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use mashangban_domain::org::{Actor, Role, Unit, UnitKind};
use mashangban_domain::validation::{CreditCode, Phone, mask_phone, required_text};
use mashangban_store::{Category, NewCategory, NewUnit, NewUser, Signal, Store, User, clean_keywords};

use crate::auth::{Auth, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::state::AppState;

/// The shortest password accepted (the CLI's rule).
pub const PASSWORD_MIN: usize = 8;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/api/v1/admin/units/{code}", put(put_unit::<S>))
        .route("/api/v1/admin/units/{code}/active", post(unit_active::<S>))
        .route("/api/v1/admin/users", get(users::<S>).post(create_user_handler::<S>))
        .route("/api/v1/admin/users/{username}/role", put(role_handler::<S>))
        .route("/api/v1/admin/users/{username}/disabled", put(disabled_handler::<S>))
        .route("/api/v1/admin/users/{username}/password", put(password_handler::<S>))
        .route("/api/v1/admin/categories/{code}", put(put_category::<S>))
}

fn admin(auth: &Auth) -> ApiResult<&Actor> {
    auth.require_role(&[Role::Admin])
}

/// A stable ASCII code (units, categories, usernames): letters, digits, `-`, `_`, `.`; at most 32.
fn code_field(label: &str, value: &str) -> ApiResult<String> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 32
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid("invalid_code", format!("「{label}」只能由字母、数字、-、_、. 组成，不超过32位")))
    }
}

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

// ---- units ---------------------------------------------------------------------------

/// A unit as administrators send it (create or rename/move by code).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UnitBody {
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    /// `department`, `town` or `subunit` (the city is the root).
    pub kind: String,
    /// The parent unit's code.
    pub parent: String,
}

/// Creates or changes a unit under an active parent, never below itself;
/// then the caches are reloaded.
pub async fn save_unit<S: Store>(state: &AppState<S>, code: &str, body: UnitBody) -> ApiResult<Unit> {
    let code = code_field("单位编码", code)?;
    let name = required_text("单位名称", &body.name, 50)?;
    let short_name = blank_to_none(body.short_name).map(|s| required_text("简称", &s, 20)).transpose()?;
    let kind = UnitKind::parse(body.kind.trim())
        .filter(|k| *k != UnitKind::City)
        .ok_or_else(|| ApiError::invalid("invalid_unit_kind", "单位类型应为市直部门、镇街或下属科室"))?;
    let org = state.org();
    let parent = org
        .units()
        .find(|u| u.code == body.parent.trim() && u.active)
        .ok_or_else(|| ApiError::invalid("unknown_unit", "上级单位不存在或已撤销"))?;
    let below_itself = org.units().find(|u| u.code == code).is_some_and(|u| org.subtree(u.id).contains(&parent.id));
    if below_itself {
        return Err(ApiError::invalid("unit_cycle", "上级单位不能是本单位或其下级"));
    }
    let new = NewUnit { code, name, short_name, kind, parent_code: Some(parent.code.clone()) };
    let unit = state.store.upsert_unit(new).await?;
    state.changed(Signal::CatalogChanged).await?;
    Ok(unit)
}

/// Deactivates (撤销) or reactivates a unit; then the caches are reloaded.
pub async fn set_unit_active<S: Store>(state: &AppState<S>, code: &str, active: bool) -> ApiResult<Unit> {
    let unit = state.store.set_unit_active(code.trim(), active).await?;
    state.changed(Signal::CatalogChanged).await?;
    Ok(unit)
}

/// `PUT /api/v1/admin/units/{code}`: `{"name", "short_name"?, "kind", "parent"}`.
async fn put_unit<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<UnitBody>,
) -> ApiResult<Json<Unit>> {
    admin(&auth)?;
    Ok(Json(save_unit(&state, &code, body).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveBody {
    active: bool,
}

/// `POST /api/v1/admin/units/{code}/active`: `{"active": false}` deactivates.
async fn unit_active<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<ActiveBody>,
) -> ApiResult<Json<Unit>> {
    admin(&auth)?;
    Ok(Json(set_unit_active(&state, &code, body.active).await?))
}

// ---- users ---------------------------------------------------------------------------

/// A user as administrators see them: the phone masked, never the password hash.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
}

pub fn user_view<S: Store>(state: &AppState<S>, u: &User) -> UserView {
    let org = state.org();
    let unit = u.unit_id.and_then(|id| org.get(id));
    UserView {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        role_label: u.role.label(),
        unit: unit.map(|x| x.code.clone()),
        unit_name: unit.map(|x| x.name.clone()),
        phone: u.phone.as_deref().map(mask_phone),
        disabled: u.disabled,
    }
}

/// `GET /api/v1/admin/users`: every account, phones masked.
async fn users<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<Vec<UserView>>> {
    admin(&auth)?;
    let all = state.store.list_users().await?;
    Ok(Json(all.iter().map(|u| user_view(&state, u)).collect()))
}

fn role_field(value: &str) -> ApiResult<Role> {
    Role::parse(value.trim()).ok_or_else(|| ApiError::invalid("invalid_role", "请选择角色"))
}

/// The unit id of a code (blank: none); unknown or deactivated is refused.
fn unit_field<S: Store>(state: &AppState<S>, code: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(None) };
    let org = state.org();
    let unit = org.units().find(|u| u.code == code && u.active);
    unit.map(|u| Some(u.id)).ok_or_else(|| ApiError::invalid("unknown_unit", format!("单位「{code}」不存在或已撤销")))
}

/// Staff need a unit; enterprise and resident accounts have none.
fn check_role_unit(role: Role, unit_id: Option<i64>) -> ApiResult<()> {
    match (role.is_staff(), unit_id) {
        (true, None) => Err(ApiError::invalid("unit_required", "工作人员必须属于一个单位")),
        (false, Some(_)) => Err(ApiError::invalid("unit_not_allowed", "企业和群众账号不属于任何单位")),
        _ => Ok(()),
    }
}

/// Enterprise accounts carry their enterprise's credit code (it decides what
/// they see); no other account has one.
fn credit_code_field(role: Role, value: Option<String>) -> ApiResult<Option<String>> {
    match (role, blank_to_none(value)) {
        (Role::Enterprise, Some(code)) => Ok(Some(CreditCode::parse(&code)?.as_str().to_owned())),
        (Role::Enterprise, None) => Err(ApiError::invalid("credit_code_required", "企业账号须填写统一社会信用代码")),
        (_, Some(_)) => Err(ApiError::invalid("credit_code_not_allowed", "只有企业账号填写统一社会信用代码")),
        (_, None) => Ok(None),
    }
}

fn password_field(password: &str) -> ApiResult<String> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(ApiError::invalid("weak_password", format!("密码至少{PASSWORD_MIN}位")));
    }
    if password.chars().count() > 128 {
        return Err(ApiError::invalid("invalid_password", "密码不能超过128位"));
    }
    hash_password(password)
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub username: String,
    pub display_name: String,
    pub role: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The enterprise's credit code, for enterprise accounts only.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The initial password (at least 8 characters).
    pub password: String,
}

/// Creates an account with its initial password.
pub async fn create_user<S: Store>(state: &AppState<S>, body: NewUserBody) -> ApiResult<User> {
    let username = code_field("用户名", &body.username)?;
    let display_name = required_text("姓名", &body.display_name, 50)?;
    let role = role_field(&body.role)?;
    let unit_id = unit_field(state, body.unit.as_deref())?;
    check_role_unit(role, unit_id)?;
    let phone = blank_to_none(body.phone).map(|p| Phone::parse(&p).map(|p| p.as_str().to_owned())).transpose()?;
    let credit_code = credit_code_field(role, body.credit_code)?;
    let password_hash = password_field(&body.password)?;
    let user = NewUser { username, display_name, role, unit_id, credit_code, phone, password_hash };
    Ok(state.store.create_user(user).await?)
}

/// `POST /api/v1/admin/users`: 201 with the account.
async fn create_user_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(body): JsonBody<NewUserBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    admin(&auth)?;
    let user = create_user(&state, body).await?;
    Ok((StatusCode::CREATED, Json(user_view(&state, &user))))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: String,
    #[serde(default)]
    pub unit: Option<String>,
}

/// Changes a user's role and unit (their sessions end). An administrator
/// cannot take the admin role from themselves.
pub async fn change_role<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    username: &str,
    body: RoleBody,
) -> ApiResult<User> {
    let role = role_field(&body.role)?;
    let unit_id = unit_field(state, body.unit.as_deref())?;
    check_role_unit(role, unit_id)?;
    let own = state.store.find_user(username).await?.is_some_and(|u| Some(u.id) == actor.user_id());
    if own && role != Role::Admin {
        return Err(ApiError::invalid("own_admin_role", "不能取消自己的管理员角色"));
    }
    Ok(state.store.set_user_role(username, role, unit_id).await?)
}

/// `PUT /api/v1/admin/users/{username}/role`: `{"role", "unit"?}`.
async fn role_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> ApiResult<Json<UserView>> {
    let actor = admin(&auth)?;
    let user = change_role(&state, actor, &username, body).await?;
    Ok(Json(user_view(&state, &user)))
}

/// Disables (ending their sessions) or re-enables an account; never one's own.
pub async fn set_disabled<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> ApiResult<()> {
    let own = state.store.find_user(username).await?.is_some_and(|u| Some(u.id) == actor.user_id());
    if own && disabled {
        return Err(ApiError::invalid("own_account", "不能停用自己的账号"));
    }
    Ok(state.store.set_user_disabled(username, disabled).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisabledBody {
    disabled: bool,
}

/// `PUT /api/v1/admin/users/{username}/disabled`: `{"disabled": true}` → 204.
async fn disabled_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<DisabledBody>,
) -> ApiResult<StatusCode> {
    let actor = admin(&auth)?;
    set_disabled(&state, actor, &username, body.disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password (the user's sessions end).
pub async fn reset_password<S: Store>(state: &AppState<S>, username: &str, password: &str) -> ApiResult<()> {
    let hash = password_field(password)?;
    Ok(state.store.set_password(username, hash).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: String,
}

/// `PUT /api/v1/admin/users/{username}/password`: `{"password"}` → 204.
async fn password_handler<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    admin(&auth)?;
    reset_password(&state, &username, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- categories ------------------------------------------------------------------------

/// A category as administrators send it (create or change by code).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    pub name: String,
    /// The parent category's code; none for a top-level group.
    #[serde(default)]
    pub parent: Option<String>,
    /// The default lead unit's code (派单目录), for leaves.
    #[serde(default)]
    pub lead_unit: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// Creates or changes a category; then the caches are reloaded.
pub async fn save_category<S: Store>(state: &AppState<S>, code: &str, body: CategoryBody) -> ApiResult<Category> {
    let code = code_field("分类编码", code)?;
    let name = required_text("分类名称", &body.name, 50)?;
    let parent_code = blank_to_none(body.parent);
    if let Some(parent) = &parent_code {
        let categories = state.categories();
        let below_itself = parent == &code || ancestors(&categories, parent).any(|c| c.code == code);
        if below_itself {
            return Err(ApiError::invalid("category_cycle", "上级分类不能是本分类或其下级"));
        }
    }
    let lead_unit_code = blank_to_none(body.lead_unit);
    unit_field(state, lead_unit_code.as_deref())?;
    let keywords = clean_keywords(&body.keywords)?;
    let category =
        state.store.upsert_category(NewCategory { code, name, parent_code, lead_unit_code, keywords }).await?;
    state.changed(Signal::CatalogChanged).await?;
    Ok(category)
}

/// A category and its ancestors, nearest first.
fn ancestors<'a>(categories: &'a [Category], code: &str) -> impl Iterator<Item = &'a Category> {
    let start = categories.iter().find(|c| c.code == code);
    std::iter::successors(start, |c| c.parent_id.and_then(|p| categories.iter().find(|x| x.id == p))).take(64)
}

/// `PUT /api/v1/admin/categories/{code}`: `{"name", "parent"?, "lead_unit"?, "keywords"?}`.
async fn put_category<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<CategoryBody>,
) -> ApiResult<Json<Category>> {
    admin(&auth)?;
    Ok(Json(save_category(&state, &code, body).await?))
}
