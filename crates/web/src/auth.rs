//! Authentication: argon2 passwords, server-side sessions (cookie) for people,
//! hashed API tokens (Bearer) for machine clients, and the [`Auth`] extractor
//! that turns a request into an [`Actor`].

use std::net::SocketAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use rand::RngCore;
use sha2::{Digest, Sha256};

use mashangban_domain::org::{AccountActor, Actor, OrgTree, Role, StaffActor};
use mashangban_store::{ApiToken, Store, User};

use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "msb_session";
/// API tokens start with this, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "msb_";

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| ApiError::internal())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A fresh random secret, hex-encoded (256 bits).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new API token secret: `msb_` + 64 hex digits.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// Secrets are stored only as their SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random 8-digit check code (查询码) for public progress look-ups.
pub fn new_check_code() -> String {
    format!("{:08}", rand::thread_rng().next_u32() % 100_000_000)
}

/// Builds the actor of a signed-in user.
pub fn actor_for_user(user: &User, org: &OrgTree) -> Actor {
    if user.role.is_staff() {
        let unit_id = user.unit_id.unwrap_or_default();
        Actor::Staff(StaffActor {
            user_id: Some(user.id),
            name: user.display_name.clone(),
            role: user.role,
            unit_id,
            units: org.subtree(unit_id),
            town_id: org.town_of(unit_id),
        })
    } else {
        Actor::Account(AccountActor {
            user_id: user.id,
            name: user.display_name.clone(),
            role: user.role,
            credit_code: user.credit_code.clone(),
        })
    }
}

/// The actor of a machine client's token: its role and unit, no person.
pub fn actor_for_token(token: &ApiToken, org: &OrgTree) -> Actor {
    let unit_id = token.unit_id.unwrap_or_default();
    Actor::Staff(StaffActor {
        user_id: None,
        name: format!("接口:{}", token.name),
        role: token.role,
        unit_id,
        units: org.subtree(unit_id),
        town_id: org.town_of(unit_id),
    })
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Anonymous,
    Session,
    Token,
}

/// Who is calling, and from where. Never fails: unauthenticated callers are
/// [`Actor::Anonymous`]; handlers decide what that may do.
pub struct Auth {
    pub actor: Actor,
    pub via: Via,
    pub client_ip: Option<String>,
    pub session_hash: Option<String>,
}

impl Auth {
    /// Staff or account, else 401.
    pub fn require_login(&self) -> Result<&Actor, ApiError> {
        match self.via {
            Via::Anonymous => Err(ApiError::unauthenticated()),
            _ => Ok(&self.actor),
        }
    }

    /// One of the roles, else 401/403.
    pub fn require_role(&self, roles: &[Role]) -> Result<&Actor, ApiError> {
        let actor = self.require_login()?;
        if actor.has_role(roles) { Ok(actor) } else { Err(ApiError::forbidden("您的角色无权执行此操作")) }
    }
}

impl<S: Store> FromRequestParts<AppState<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Self::Rejection> {
        let client_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip().to_string());
        if let Some(token) = bearer_token(&parts.headers) {
            let found = state.store.api_token(&hash_secret(token)).await?;
            let token = found.ok_or_else(|| {
                ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_token", "接口令牌无效或已吊销")
            })?;
            let actor = actor_for_token(&token, &state.org());
            return Ok(Self { actor, via: Via::Token, client_ip, session_hash: None });
        }
        if let Some(secret) = session_cookie(&parts.headers) {
            let hash = hash_secret(secret);
            if let Some(user) = state.store.session_user(&hash, state.now()).await? {
                check_same_origin(&parts.method, &parts.headers)?;
                let actor = actor_for_user(&user, &state.org());
                return Ok(Self { actor, via: Via::Session, client_ip, session_hash: Some(hash) });
            }
        }
        Ok(Self { actor: Actor::Anonymous, via: Via::Anonymous, client_ip, session_hash: None })
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty())
}

pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// CSRF protection for cookie-authenticated changes: a browser tells us where
/// a request comes from (`Sec-Fetch-Site`, `Origin`); cross-site ones are refused.
fn check_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let rejected = || ApiError::forbidden("跨站请求被拒绝").with_code("csrf_rejected");
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return if matches!(site, "same-origin" | "none") { Ok(()) } else { Err(rejected()) };
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            if origin_host == host { Ok(()) } else { Err(rejected()) }
        }
        (Some(_), None) => Err(rejected()),
        // Not a browser, or an old one on a same-origin request.
        (None, _) => Ok(()),
    }
}

impl ApiError {
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}
