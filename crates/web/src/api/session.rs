//! Signing in and out (people; machine clients use API tokens).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use mashangban_app::App;
use mashangban_app::accounts::{LoginInput, Me};
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
    ]
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
