//! Signing in and out (people; machine clients use API tokens).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use mashangban_app::App;
use mashangban_app::accounts::{LoginInput, Me, OwnAccountView, OwnContactInput, OwnPasswordInput};
use mashangban_store::Store;

use crate::auth::{Auth, expired_cookie_header, session_cookie_header};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::post("/api/v1/auth/login", login::<S>)
            .public()
            .doc("auth", "登录（设置会话 Cookie）")
            .body::<LoginInput>()
            .answer::<Me>()
            .errors(&["invalid_credentials", "rate_limited", "csrf_rejected"]),
        Route::post("/api/v1/auth/logout", logout::<S>).public().doc("auth", "退出登录").no_content(),
        Route::get("/api/v1/auth/me", me::<S>).doc("auth", "当前用户").answer::<Me>(),
        Route::get("/api/v1/auth/me/account", own_account::<S>)
            .doc("auth", "我的账号：用户名、角色、登记的手机号（脱敏）和邮箱")
            .answer::<OwnAccountView>()
            .errors(&["account_needs_person"]),
        Route::put("/api/v1/auth/me/contact", set_own_contact::<S>)
            .doc("auth", "修改本人登记的手机号、邮箱（须输入当前密码）")
            .body::<OwnContactInput>()
            .answer::<OwnAccountView>()
            .errors(&[
                "current_password_wrong",
                "invalid_phone",
                "invalid_email",
                "rate_limited",
                "account_needs_person",
            ]),
        Route::post("/api/v1/auth/me/password", change_own_password::<S>)
            .doc("auth", "修改本人密码（须输入当前密码；该账号的全部会话随即失效，需重新登录）")
            .body::<OwnPasswordInput>()
            .no_content()
            .errors(&[
                "current_password_wrong",
                "weak_password",
                "invalid_password",
                "rate_limited",
                "account_needs_person",
            ]),
    ]
}

/// `GET /api/v1/auth/me/account`.
async fn own_account<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<OwnAccountView>> {
    Ok(Json(app.accounts().own_account(&caller).await?))
}

/// `PUT /api/v1/auth/me/contact`.
async fn set_own_contact<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<OwnContactInput>,
) -> ApiResult<Json<OwnAccountView>> {
    Ok(Json(app.accounts().set_own_contact(&caller, input).await?))
}

/// `POST /api/v1/auth/me/password`: the session cookie is cleared with the account's sessions.
async fn change_own_password<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<OwnPasswordInput>,
) -> ApiResult<Response> {
    app.accounts().change_own_password(&caller, input).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired_cookie_header()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /api/v1/auth/login`: sets an HttpOnly, SameSite session cookie.
async fn login<S: Store>(
    State(app): State<App<S>>,
    method: axum::http::Method,
    headers: axum::http::HeaderMap,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<LoginInput>,
) -> ApiResult<Response> {
    crate::auth::check_same_origin(&method, &headers)?;
    let signed_in = app.accounts().login(&caller, input).await?;
    let cookie = session_cookie_header(&signed_in.secret, signed_in.max_age_seconds, app.settings().secure_cookies);
    let mut response = Json(signed_in.me).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// `POST /api/v1/auth/logout`: ends the session.
async fn logout<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Response> {
    app.accounts().logout(&caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired_cookie_header()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /api/v1/auth/me`: who the caller is.
async fn me<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> Json<Me> {
    Json(app.accounts().me(&caller))
}
