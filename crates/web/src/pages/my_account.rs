//! 我的账号: the signed-in person's own account — their phone and e-mail on
//! file (where inbox copies and password reset codes go) and their password,
//! each changed with the current password. Through `app.accounts()`, as the
//! API's `/api/v1/auth/me/…` routes.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use mashangban_app::accounts::{OwnAccountView, OwnContactInput, OwnPasswordInput};
use mashangban_app::{App, Caller};
use mashangban_store::Store;

use super::{Layout, PageResult, render};
use crate::auth::{Auth, expired_cookie_header};
use crate::error::ApiError;
use crate::extract::Form;
use crate::routes::{Menu, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/account", page::<S>),
        Route::post("/account/contact", save_contact::<S>).form(),
        Route::post("/account/password", change_password::<S>).form(),
    ]
}

#[derive(Template)]
#[template(path = "my_account.html")]
struct AccountPage {
    layout: Layout,
    account: OwnAccountView,
    /// What the last form did, or why it was refused, and which form.
    notice: Option<String>,
    contact_error: Option<String>,
    password_error: Option<String>,
    /// What was typed into the contact form when it was refused.
    typed_phone: String,
    typed_email: String,
}

impl AccountPage {
    async fn of<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu) -> Result<Self, ApiError> {
        Ok(Self {
            layout: Layout::staff("我的账号", &caller.actor, menu),
            account: app.accounts().own_account(caller).await?,
            notice: None,
            contact_error: None,
            password_error: None,
            typed_phone: String::new(),
            typed_email: String::new(),
        })
    }
}

/// `GET /account`.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    Ok(render(StatusCode::OK, &AccountPage::of(&app, &caller, &menu).await?))
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    /// Checked: clear the phone on file.
    #[serde(default)]
    clear_phone: Option<String>,
    /// Checked: clear the e-mail on file.
    #[serde(default)]
    clear_email: Option<String>,
}

/// A field of the contact form: blank keeps what is on file, the box clears it.
fn change(typed: &str, clear: bool) -> Option<String> {
    if clear { Some(String::new()) } else { Some(typed.trim().to_owned()).filter(|t| !t.is_empty()) }
}

/// `POST /account/contact`.
pub async fn save_contact<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<ContactForm>,
) -> PageResult {
    let input = OwnContactInput {
        current_password: form.current_password,
        phone: change(&form.phone, form.clear_phone.is_some()),
        email: change(&form.email, form.clear_email.is_some()),
    };
    let saved = app.accounts().set_own_contact(&caller, input).await;
    let mut page = AccountPage::of(&app, &caller, &menu).await?;
    let status = match saved {
        Ok(_) => {
            page.notice = Some("联系方式已保存".into());
            StatusCode::OK
        }
        Err(e) => {
            let e = ApiError::from(e);
            page.contact_error = Some(e.message);
            page.typed_phone = form.phone;
            page.typed_email = form.email;
            e.status
        }
    };
    Ok(render(status, &page))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
}

/// `POST /account/password`: on success every session ends and the sign-in page follows.
pub async fn change_password<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let refused = if form.new_password != form.new_password_again {
        (StatusCode::UNPROCESSABLE_ENTITY, "两次输入的新密码不一致".to_owned())
    } else {
        let input = OwnPasswordInput { current_password: form.current_password, new_password: form.new_password };
        match app.accounts().change_own_password(&caller, input).await {
            Ok(()) => {
                let mut response = axum::response::Redirect::to("/login?changed=1").into_response();
                if let Ok(value) = HeaderValue::from_str(&expired_cookie_header()) {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                return Ok(response);
            }
            Err(e) => {
                let e = ApiError::from(e);
                (e.status, e.message)
            }
        }
    };
    let mut page = AccountPage::of(&app, &caller, &menu).await?;
    page.password_error = Some(refused.1);
    Ok(render(refused.0, &page))
}
