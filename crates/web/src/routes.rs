//! Every HTTP route, declared once as data: method, path, handler, access,
//! documentation (tag, summary, query parameters, body and answer types,
//! error codes), the menu entry of a staff page, and its body limit.
//!
//! From the one list come the router ([`router`]), the enforcement (each
//! route with an access other than public gets [`crate::auth::guard`], so a
//! caller without the permission never reaches its handler), the OpenAPI
//! document ([`crate::openapi`]) and the staff menu ([`Menu`]). Each module
//! declares its routes next to its handlers (`fn routes() -> Vec<Route<S>>`)
//! and [`all`] gathers them.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};

use mashangban_app::{App, Settings};
use mashangban_domain::access::{Access, Permission};
use mashangban_domain::org::Actor;
use mashangban_store::Store;

use crate::auth::Guard;

/// A JSON schema of a type, generated on demand (bodies and answers).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Which part of the platform a route belongs to: it decides how a refusal
/// looks (JSON error or error page) and which headers responses get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/...`: JSON in, JSON out.
    Api,
    /// `/open311/...`: Open311 answers its own errors (XML or JSON).
    Open311,
    /// `/assets/...`: embedded files.
    Asset,
    /// Every other path: HTML pages.
    Page,
}

impl Surface {
    pub fn of(path: &str) -> Self {
        if path.starts_with("/api/") {
            Self::Api
        } else if path.starts_with("/open311/") {
            Self::Open311
        } else if path.starts_with("/assets/") {
            Self::Asset
        } else {
            Self::Page
        }
    }
}

/// The request body a route reads.
#[derive(Clone, Copy)]
pub enum Body {
    None,
    Json(SchemaFn),
    /// `multipart/form-data` with `file` fields.
    Multipart,
    /// An HTML form.
    Form,
}

/// What the OpenAPI document says of a route.
#[derive(Clone, Copy)]
pub struct Doc {
    pub tag: &'static str,
    pub summary: &'static str,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    pub body: Body,
    /// The answer's schema; none for downloads and empty answers.
    pub answer: Option<SchemaFn>,
    /// The status of success.
    pub status: u16,
    /// Error codes besides the common ones of its access and body.
    pub errors: &'static [&'static str],
}

/// Which menu a staff page appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MenuKind {
    /// The bar at the top of every staff page.
    Main,
    /// The tabs of 系统管理.
    Admin,
}

/// A menu entry, declared with its page route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavEntry {
    pub menu: MenuKind,
    pub order: u16,
    pub label: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// The methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Methods {
    One(Method),
    /// Every method the path's other routes do not take (Open311's 405 in its own format).
    Others,
}

/// One route.
pub struct Route<S> {
    pub methods: Methods,
    pub path: &'static str,
    pub access: Access,
    pub doc: Doc,
    pub nav: Option<NavEntry>,
    body_limit: Option<usize>,
    handler: MethodRouter<App<S>>,
}

impl<S: Store> Route<S> {
    fn new(method: Method, path: &'static str, handler: MethodRouter<App<S>>) -> Self {
        Self {
            methods: Methods::One(method),
            path,
            access: Access::SignedIn,
            doc: Doc { tag: "", summary: "", query: &[], body: Body::None, answer: None, status: 200, errors: &[] },
            nav: None,
            body_limit: None,
            handler,
        }
    }

    pub fn get<H: Handler<T, App<S>>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::GET, path, axum::routing::get(handler))
    }

    pub fn post<H: Handler<T, App<S>>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::POST, path, axum::routing::post(handler))
    }

    pub fn put<H: Handler<T, App<S>>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::PUT, path, axum::routing::put(handler))
    }

    pub fn delete<H: Handler<T, App<S>>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::DELETE, path, axum::routing::delete(handler))
    }

    /// Every method the path's other routes do not take.
    pub fn other_methods<H: Handler<T, App<S>>, T: 'static>(path: &'static str, handler: H) -> Self {
        let mut route = Self::new(Method::GET, path, MethodRouter::new().fallback(handler)).public();
        route.methods = Methods::Others;
        route
    }

    /// Anyone may call it (the default is signed in).
    pub fn public(mut self) -> Self {
        self.access = Access::Public;
        self
    }

    /// Only callers whose role grants `permission`.
    pub fn permission(mut self, permission: Permission) -> Self {
        self.access = Access::Permission(permission);
        self
    }

    /// Documents it under `tag` with a one-line summary.
    pub fn doc(mut self, tag: &'static str, summary: &'static str) -> Self {
        self.doc.tag = tag;
        self.doc.summary = summary;
        self
    }

    pub fn query(mut self, parameters: &'static [(&'static str, &'static str)]) -> Self {
        self.doc.query = parameters;
        self
    }

    /// It reads a JSON body of type `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.doc.body = Body::Json(schema_of::<T>);
        self
    }

    /// It reads a JSON body described by `schema` (for bodies whose wire
    /// form is not a type's own, such as the actions).
    pub fn body_schema(mut self, schema: SchemaFn) -> Self {
        self.doc.body = Body::Json(schema);
        self
    }

    /// It reads files (`multipart/form-data`).
    pub fn multipart(mut self) -> Self {
        self.doc.body = Body::Multipart;
        self
    }

    /// It reads an HTML form.
    pub fn form(mut self) -> Self {
        self.doc.body = Body::Form;
        self
    }

    /// It answers JSON of type `T`.
    pub fn answer<T: JsonSchema>(mut self) -> Self {
        self.doc.answer = Some(schema_of::<T>);
        self
    }

    /// It answers 201 Created.
    pub fn created(mut self) -> Self {
        self.doc.status = 201;
        self
    }

    /// It answers 204 No Content.
    pub fn no_content(mut self) -> Self {
        self.doc.status = 204;
        self
    }

    /// Error codes of its own.
    pub fn errors(mut self, codes: &'static [&'static str]) -> Self {
        self.doc.errors = codes;
        self
    }

    /// An entry of a staff menu, shown to those who pass the route's access.
    pub fn nav(mut self, menu: MenuKind, order: u16, label: &'static str) -> Self {
        self.nav = Some(NavEntry { menu, order, label, path: self.path, access: self.access });
        self
    }

    /// The largest body accepted (the default is [`crate::extract::FORM_LIMIT`]
    /// for a form, [`mashangban_app::json::JSON_LIMIT`] otherwise).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// The handler with its body limit, unless public the guard in front,
    /// and the page headers around both (so refusals carry them too).
    fn into_method_router(self, app: &App<S>) -> MethodRouter<App<S>> {
        let surface = self.surface();
        let limit = self.body_limit.unwrap_or(match self.doc.body {
            Body::Form => crate::extract::FORM_LIMIT,
            _ => mashangban_app::json::JSON_LIMIT,
        });
        let mut handler = self.handler.layer(DefaultBodyLimit::max(limit));
        if self.access != Access::Public {
            let guard = Guard::new(app.clone(), self.access, surface);
            handler = handler.route_layer(axum::middleware::from_fn_with_state(guard, crate::auth::guard::<S>));
        }
        if surface == Surface::Page { crate::pages::headers(handler) } else { handler }
    }
}

impl<S> Route<S> {
    pub fn surface(&self) -> Surface {
        Surface::of(self.path)
    }

    /// The method, unless it answers every other method.
    pub fn method(&self) -> Option<&Method> {
        match &self.methods {
            Methods::One(m) => Some(m),
            Methods::Others => None,
        }
    }

    /// Whether the OpenAPI document lists it: the JSON API under `/api/v1`.
    pub fn documented(&self) -> bool {
        self.path.starts_with("/api/v1/") && self.method().is_some()
    }
}

/// Every route of the platform.
pub fn all<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    let mut routes = crate::api::routes::<S>(settings);
    routes.extend(crate::pages::routes::<S>(settings));
    routes.extend(crate::open311::routes::<S>(settings));
    routes
}

/// The router of the declared routes, with the menu for the pages.
pub fn router<S: Store>(app: &App<S>, routes: Vec<Route<S>>) -> Router<App<S>> {
    let menu = Arc::new(Menu::of(&routes));
    let mut router = Router::new();
    for route in routes {
        let path = route.path;
        router = router.route(path, route.into_method_router(app));
    }
    router.layer(axum::Extension(menu))
}

/// The staff menus, from the routes' entries.
#[derive(Debug, Clone, Default)]
pub struct Menu {
    entries: Vec<NavEntry>,
}

impl Menu {
    pub fn of<S>(routes: &[Route<S>]) -> Self {
        let mut entries: Vec<NavEntry> = routes.iter().filter_map(|r| r.nav).collect();
        entries.sort_by_key(|e| (e.menu, e.order));
        Self { entries }
    }

    /// The entries of `menu` that `actor` may open.
    pub fn for_actor(&self, menu: MenuKind, actor: &Actor) -> Vec<NavEntry> {
        self.entries.iter().filter(|e| e.menu == menu && e.access.check(actor).is_ok()).copied().collect()
    }
}
