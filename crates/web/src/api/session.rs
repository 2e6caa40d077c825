//! Signing in and out (people; machine clients use API tokens).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use mashangban_domain::org::Actor;
use mashangban_store::{NewSession, Store};

use crate::auth::{self, Auth, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonBody;
use crate::state::AppState;
use crate::views::{UnitRef, unit_ref};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct Me {
    username: Option<String>,
    name: String,
    role: &'static str,
    role_label: Option<&'static str>,
    unit: Option<UnitRef>,
}

/// A hash to verify against when the user does not exist, so both cases take as long.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0i7Ej5Vy4TnrmVXBFfdJmzzWgXmM7XR0WjuFUMbv7/4";

/// `POST /api/v1/auth/login`: sets an HttpOnly, SameSite session cookie.
pub async fn login<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(input): JsonBody<LoginInput>,
) -> ApiResult<Response> {
    let now = state.now();
    let key = format!("{}|{}", auth.client_ip.as_deref().unwrap_or("-"), input.username);
    if !state.login_limiter.allows(&key, now) {
        return Err(ApiError::rate_limited().with_message("登录失败次数过多，请15分钟后再试"));
    }
    let user = state.store.find_user(&input.username).await?;
    let hash = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str()).to_owned();
    let password = input.password;
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|_| ApiError::internal())?;
    let user = match user {
        Some(user) if verified && !user.disabled => user,
        _ => {
            state.login_limiter.record(&key, now);
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "用户名或密码错误，或账号已停用",
            ));
        }
    };
    state.login_limiter.clear(&key);
    let secret = auth::random_secret();
    let hours = state.config.session_hours;
    state
        .store
        .create_session(NewSession {
            token_hash: auth::hash_secret(&secret),
            user_id: user.id,
            created_at: now,
            expires_at: now + chrono::Duration::hours(hours),
            client_ip: auth.client_ip.clone(),
        })
        .await?;
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie =
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", hours * 3600);
    let actor = auth::actor_for_user(&user, &state.org());
    let mut response = Json(me_of(&actor, Some(user.username.clone()), &state)).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}

/// `POST /api/v1/auth/logout`: ends the session.
pub async fn logout<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Response> {
    if let Some(hash) = &auth.session_hash {
        state.store.delete_session(hash).await?;
    }
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /api/v1/auth/me`: who the caller is.
pub async fn me<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<Me>> {
    let actor = auth.require_login()?;
    Ok(Json(me_of(actor, None, &state)))
}

fn me_of<S: Store>(actor: &Actor, username: Option<String>, state: &AppState<S>) -> Me {
    Me {
        username,
        name: actor.name().to_owned(),
        role: actor.role_str(),
        role_label: actor.role().map(|r| r.label()),
        unit: unit_ref(&state.org(), actor.unit_id()),
    }
}

impl ApiError {
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}
