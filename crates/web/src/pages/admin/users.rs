//! 用户与角色: the accounts (phones masked), creating one with an initial
//! password, changing role and unit, disabling and re-enabling, resetting
//! the password; a managed account's history (账号变更记录); the API tokens with theirs
//! (接口令牌变更记录), creating one (Post/Redirect/Get: the post answers 303 to the page naming a ticket,
//! which shows the secret once) and revoking one.

use std::sync::Arc;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::accounts::{
    AccountEventView, ApiTokenInput, ApiTokenView, CreatedApiToken, NewUserInput, RoleInput, UserView,
};
use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_store::Store;

use super::{Done, Frame, done};
use crate::auth::Auth;
use crate::pages::{Choice, Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageUsers;
    vec![
        Route::get("/admin/users", page::<S>).permission(manage).nav(MenuKind::Admin, 20, "用户与角色"),
        Route::post("/admin/users", create::<S>).permission(manage).form(),
        Route::post("/admin/users/{username}/role", role::<S>).permission(manage).form(),
        Route::post("/admin/users/{username}/disabled", disabled::<S>).permission(manage).form(),
        Route::post("/admin/users/{username}/password", password::<S>).permission(manage).form(),
        Route::post("/admin/users/api-tokens", create_token::<S>).permission(manage).form(),
        Route::post("/admin/users/api-tokens/{id}/revoke", revoke_token::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    frame: Frame,
    users: Vec<UserView>,
    form: NewUserForm,
    roles: Vec<Choice>,
    units: Vec<Choice>,
    /// The user being managed (`?edit=`), with their role and unit choices.
    edited: Option<Edited>,
    /// API tokens (接口令牌), each with its history.
    tokens: Vec<(ApiTokenView, Vec<AccountEventView>)>,
    token_form: TokenForm,
    token_roles: Vec<Choice>,
    token_units: Vec<Choice>,
    /// The token just created, with its secret: shown here once, never in a URL.
    created: Option<CreatedApiToken>,
    /// A ticket that no longer holds a secret (shown already, expired, another session or node).
    token_gone: bool,
}

/// What one rendering of the page shows besides the stored data: a notice or a refusal, the
/// values typed in the forms, the user being managed and a token just created.
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: NewUserForm,
    edit: String,
    token_form: TokenForm,
    created: Option<CreatedApiToken>,
    token_gone: bool,
}

impl Shown {
    /// The page with empty forms, the operator role preselected.
    fn fresh() -> Self {
        let operator = || Role::Operator.as_str().to_owned();
        Self {
            form: NewUserForm { role: operator(), ..NewUserForm::default() },
            token_form: TokenForm { role: operator(), ..TokenForm::default() },
            ..Self::default()
        }
    }

    /// The page after a refusal, with the user being managed (if any).
    fn refused(error: (StatusCode, String), edit: &str) -> Self {
        Self { error: Some(error), edit: edit.to_owned(), ..Self::fresh() }
    }
}

struct Edited {
    user: UserView,
    roles: Vec<Choice>,
    units: Vec<Choice>,
    /// The account's history (账号变更记录), newest first.
    history: Vec<AccountEventView>,
}

/// The create form's values (kept when refused; the password never is).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    unit: String,
    phone: String,
    credit_code: String,
    password: String,
}

/// The new token form's values (kept when refused).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    role: String,
    unit: String,
}

fn role_choices(selected: &str) -> Vec<Choice> {
    Role::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), r.as_str() == selected)).collect()
}

/// The roles a token may have: staff roles only.
fn token_role_choices(selected: &str) -> Vec<Choice> {
    role_choices(selected).into_iter().filter(|c| Role::parse(&c.value).is_some_and(Role::is_staff)).collect()
}

/// Active units, departments and towns first, each with its kind.
fn unit_choices<S: Store>(app: &App<S>, selected: &str) -> Vec<Choice> {
    let org = app.caches().org();
    let mut units: Vec<_> = org
        .units()
        .filter(|u| u.active)
        .map(|u| {
            let order = match u.kind {
                UnitKind::City => 0,
                UnitKind::Department => 1,
                UnitKind::Town => 2,
                UnitKind::Subunit => 3,
            };
            (order, Choice::new(u.code.clone(), u.name.clone(), u.code == selected))
        })
        .collect();
    units.sort_by(|a, b| (a.0, &a.1.value).cmp(&(b.0, &b.1.value)));
    units.into_iter().map(|(_, c)| c).collect()
}

async fn render_page<S: Store>(app: &App<S>, actor: &Actor, menu: &Menu, shown: Shown) -> PageResult {
    let users: Vec<UserView> = app.accounts().users().await?;
    let edited = match users.iter().find(|u| u.username == shown.edit) {
        Some(u) => {
            let mut history = app.accounts().history(&u.username).await?;
            history.reverse();
            for h in &mut history {
                h.at = short_time(&h.at);
            }
            Some(Edited {
                roles: role_choices(u.role.as_str()),
                units: unit_choices(app, u.unit.as_deref().unwrap_or_default()),
                user: u.clone(),
                history,
            })
        }
        None => None,
    };
    let mut tokens = app.accounts().api_tokens_with_history().await?;
    for (token, history) in &mut tokens {
        token.created_at = short_time(&token.created_at);
        for h in history {
            h.at = short_time(&h.at);
        }
    }
    let error = shown.error;
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(
        app.calendar().missing_notice_warning(),
        actor,
        menu,
        "/admin/users",
        shown.notice,
        error.map(|(_, m)| m),
    );
    let form = shown.form;
    let token_form = shown.token_form;
    let page = UsersPage {
        layout,
        frame,
        roles: role_choices(&form.role),
        units: unit_choices(app, &form.unit),
        users,
        form,
        edited,
        tokens,
        token_roles: token_role_choices(&token_form.role),
        token_units: unit_choices(app, &token_form.unit),
        token_form,
        created: shown.created,
        token_gone: shown.token_gone,
    };
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UsersQuery {
    ok: String,
    /// The user to manage.
    edit: String,
    /// The ticket of a token just created on this page (its secret is shown once).
    token: String,
}

/// `GET /admin/users` (`?edit=username` opens that user's forms; `?token=ticket` shows a token just
/// created, once, to the session that created it).
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<UsersQuery>,
) -> PageResult {
    let created = (!q.token.is_empty()).then(|| app.created_tokens().take(&caller, &q.token)).flatten();
    let token_gone = !q.token.is_empty() && created.is_none();
    let shown = Shown { notice: Done { ok: q.ok }.notice(), edit: q.edit, created, token_gone, ..Shown::fresh() };
    render_page(&app, &caller.actor, &menu, shown).await
}

/// `POST /admin/users`: as `POST /api/v1/admin/users`.
pub async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    let actor = &caller.actor;
    let input = NewUserInput {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        role: form.role.clone(),
        unit: Some(form.unit.clone()),
        phone: Some(form.phone.clone()),
        credit_code: Some(form.credit_code.clone()),
        password: form.password.clone(),
    };
    match app.accounts().create_user(&caller, input).await {
        Ok(_) => Ok(done("/admin/users", "user")),
        Err(e) => {
            let form = NewUserForm { password: String::new(), ..form };
            render_page(&app, actor, &menu, Shown { form, ..Shown::refused(shown(e)?, "") }).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    role: String,
    unit: String,
}

/// `POST /admin/users/{username}/role`: as `PUT /api/v1/admin/users/{username}/role`.
pub async fn role<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(username): Path<String>,
    Form(form): Form<RoleForm>,
) -> PageResult {
    let actor = &caller.actor;
    let input = RoleInput { role: form.role, unit: Some(form.unit) };
    match app.accounts().change_role(&caller, &username, input).await {
        Ok(_) => Ok(done("/admin/users", "role")),
        Err(e) => render_page(&app, actor, &menu, Shown::refused(shown(e)?, &username)).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DisabledForm {
    /// `1` disables, anything else re-enables.
    disabled: String,
}

/// `POST /admin/users/{username}/disabled`: as `PUT /api/v1/admin/users/{username}/disabled`.
pub async fn disabled<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(username): Path<String>,
    Form(form): Form<DisabledForm>,
) -> PageResult {
    let actor = &caller.actor;
    let off = form.disabled == "1";
    match app.accounts().set_disabled(&caller, &username, off).await {
        Ok(()) => Ok(done("/admin/users", if off { "disabled" } else { "enabled" })),
        Err(e) => render_page(&app, actor, &menu, Shown::refused(shown(e)?, &username)).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
}

/// `POST /admin/users/{username}/password`: as `PUT /api/v1/admin/users/{username}/password`.
pub async fn password<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(username): Path<String>,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let actor = &caller.actor;
    match app.accounts().reset_password(&caller, &username, &form.password).await {
        Ok(()) => Ok(done("/admin/users", "password")),
        Err(e) => render_page(&app, actor, &menu, Shown::refused(shown(e)?, &username)).await,
    }
}

/// `POST /admin/users/api-tokens`: as `POST /api/v1/admin/api-tokens`, then 303 to the page with a
/// ticket (never the secret), so reloading that page does not post again. The secret waits in this
/// node's memory ([`mashangban_app::one_time`]); should the `GET` reach another node, the page says
/// it cannot be shown.
pub async fn create_token<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<TokenForm>,
) -> PageResult {
    let input = ApiTokenInput { name: form.name.clone(), role: form.role.clone(), unit: Some(form.unit.clone()) };
    match app.accounts().create_api_token(&caller, input).await {
        Ok(created) => {
            let ticket = app.created_tokens().hold(&caller, created);
            Ok(Redirect::to(&format!("/admin/users?token={ticket}#tokens-heading")).into_response())
        }
        Err(e) => {
            let shown = Shown { token_form: form, ..Shown::refused(shown(e)?, "") };
            render_page(&app, &caller.actor, &menu, shown).await
        }
    }
}

/// `POST /admin/users/api-tokens/{id}/revoke`: as `POST /api/v1/admin/api-tokens/{id}/revoke`.
pub async fn revoke_token<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<i64>,
) -> PageResult {
    match app.accounts().revoke_api_token(&caller, id).await {
        Ok(()) => Ok(done("/admin/users", "token-revoked")),
        Err(e) => render_page(&app, &caller.actor, &menu, Shown::refused(shown(e)?, "")).await,
    }
}
