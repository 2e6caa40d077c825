//! Who is calling, from HTTP: the session cookie or `Bearer` API token
//! becomes a [`Caller`] (through `app.accounts().authenticate`), with the
//! same-origin check of cookie-authenticated changes (CSRF). The [`guard`]
//! runs before every non-public route and refuses callers its access does
//! not admit; handlers then take the already-built caller with [`Auth`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use mashangban_app::accounts::Credentials;
use mashangban_app::{App, AppError, Caller, Via};
use mashangban_domain::access::Access;
use mashangban_store::Store;

use crate::error::ApiError;
use crate::pages::PageError;
use crate::routes::Surface;

pub use mashangban_app::accounts::{hash_password, hash_secret, new_api_token, verify_password};

pub const SESSION_COOKIE: &str = "msb_session";

/// The caller of a handler: on guarded routes the one the guard admitted,
/// on public routes whoever the credentials prove (or nobody).
pub struct Auth(pub Caller);

impl<S: Store> FromRequestParts<App<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        match parts.extensions.remove::<Caller>() {
            Some(caller) => Ok(Self(caller)),
            None => authenticate(app, parts).await.map(Self),
        }
    }
}

/// The caller of a request's credentials; a cookie-authenticated change must be same-origin.
pub async fn authenticate<S: Store>(app: &App<S>, parts: &Parts) -> Result<Caller, ApiError> {
    let client_ip = client_address(&parts.extensions, &parts.headers, &app.settings().trusted_proxies);
    let credentials = Credentials { token: bearer_token(&parts.headers), session: session_cookie(&parts.headers) };
    let caller = app.accounts().authenticate(credentials, client_ip).await?;
    if caller.via == Via::Session {
        check_same_origin(&parts.method, &parts.headers)?;
    }
    Ok(caller)
}

/// The client's address: the connection's peer, or — when the peer is a
/// configured trusted proxy — the nearest address in `X-Forwarded-For` that is
/// not itself a trusted proxy (the header's right end is the one the proxy
/// added; anything to its left could be forged by the client).
pub fn client_address(extensions: &Extensions, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<String> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer.to_string());
    }
    // Headers are bounded in size by the server; walk from the right end.
    let hops: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Something not an address where a proxy should have written one: stop at the last good hop.
        let Ok(address) = hop.trim().parse::<IpAddr>() else { break };
        client = address;
        if !trusted.contains(&address) {
            break;
        }
    }
    Some(client.to_string())
}

/// What the guard of one route checks.
#[derive(Clone)]
pub struct Guard<S> {
    app: App<S>,
    access: Access,
    surface: Surface,
}

impl<S> Guard<S> {
    pub fn new(app: App<S>, access: Access, surface: Surface) -> Self {
        Self { app, access, surface }
    }
}

/// Authenticates and checks the route's access before its handler runs; a
/// refusal is a JSON error on the API and an error page (or the sign-in
/// page) elsewhere.
pub async fn guard<S: Store>(State(guard): State<Guard<S>>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let admitted = authenticate(&guard.app, &parts).await.and_then(|caller| {
        let checked: Result<(), AppError> = caller.require(guard.access).map(|_| ());
        checked.map(|()| caller).map_err(ApiError::from)
    });
    match admitted {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) if guard.surface == Surface::Page => PageError::from(e).into_response(),
        Err(e) => e.into_response(),
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

/// CSRF protection for cookie-authenticated changes and for signing in (a cross-site sign-in would put
/// the victim's browser in the attacker's session): a browser tells us where a request comes from
/// (`Sec-Fetch-Site`, `Origin`); cross-site ones are refused.
pub fn check_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
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

/// The session cookie of a new session.
pub fn session_cookie_header(secret: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}")
}

/// The cookie that ends a session in the browser.
pub fn expired_cookie_header() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}
