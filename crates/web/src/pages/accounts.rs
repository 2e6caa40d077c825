//! 忘记密码: password reset by SMS code, in two steps on one page — the
//! username or phone, then the code from the SMS with the new password.
//! Through `app.password_resets()`, as the API's routes.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::password_resets::{ResetCodeInput, ResetConfirmInput};
use mashangban_store::Store;

use super::{Layout, render};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Form;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/password-reset", form::<S>).public(),
        Route::post("/password-reset", send_code::<S>).public().form(),
        Route::post("/password-reset/confirm", confirm::<S>).public().form(),
    ]
}

/// Which step the page shows: `unavailable` (no SMS gateway), `account` (the
/// username or phone), `code` (the code and the new password), `done`.
type Step = &'static str;

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: Layout,
    step: Step,
    account: String,
    notice: Option<String>,
    error: Option<String>,
}

fn page(step: Step, account: String, notice: Option<String>, error: Option<String>) -> ResetPage {
    ResetPage { layout: Layout::public("找回密码"), step, account, notice, error }
}

/// `GET /password-reset`.
pub async fn form<S: Store>(State(app): State<App<S>>) -> Response {
    let step = if app.password_resets().available() { "account" } else { "unavailable" };
    render(StatusCode::OK, &page(step, String::new(), None, None))
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    account: String,
}

/// `POST /password-reset`: asks for a code, then shows the code step (the same whatever the account).
pub async fn send_code<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(form): Form<AccountForm>,
) -> Response {
    let input = ResetCodeInput { account: form.account.clone() };
    match app.password_resets().send_code(&caller, input).await {
        Ok(answer) => render(StatusCode::OK, &page("code", form.account, Some(answer.message.to_owned()), None)),
        Err(e) => refused(e, "account", form.account),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

/// `POST /password-reset/confirm`: the code and the new password (typed twice).
pub async fn confirm<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if form.password != form.password_again {
        let error = Some("两次输入的新密码不一致".to_owned());
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page("code", form.account, None, error));
    }
    let input = ResetConfirmInput { account: form.account.clone(), code: form.code, password: form.password };
    match app.password_resets().confirm(&caller, input).await {
        Ok(()) => render(StatusCode::OK, &page("done", String::new(), None, None)),
        Err(e) => refused(e, "code", form.account),
    }
}

/// The step again with the refusal; without a gateway, the page that says so.
fn refused(e: mashangban_app::AppError, step: Step, account: String) -> Response {
    let step = if e.code == "sms_reset_unavailable" { "unavailable" } else { step };
    let e = ApiError::from(e);
    render(e.status, &page(step, account, None, Some(e.message)))
}
