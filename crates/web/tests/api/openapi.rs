//! The OpenAPI document is generated from the declared routes (roles from the
//! permission table, schemas from the types, error codes), every declared
//! route is enforced as the permission table says for every kind of caller,
//! and Swagger UI is served from the binary.

use std::collections::BTreeSet;

use mashangban_domain::access::{Access, Permission};
use mashangban_domain::org::Role;
use mashangban_web::routes::{Body, Route, Surface};

use super::*;

fn declared() -> Vec<Route<Backend>> {
    mashangban_web::routes::all::<Backend>(&WebConfig::default())
}

/// A path with its placeholders filled. API tokens get one no caller has: revoking the callers'
/// own token (id 1) would sign it out for the routes after.
fn concrete(path: &str) -> String {
    path.replace("api-tokens/{id}", "api-tokens/99999")
        .replace("{no}", "ZS00000000000000")
        .replace("{action}", "sign")
        .replace("{id}", "1")
        .replace("{year}", "2026")
        .replace("{key}", "asker.accepted")
        .replace("{channel}", "sms")
        .replace("{username}", "nobody")
        .replace("{code}", "nosuch")
        .replace("{*path}", "css/app.css")
        .replace("{file}", "discovery.json")
}

/// Every `$ref` in a value.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) => out.push(target.to_owned()),
                    _ => refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_generated_from_every_declared_route() {
    let app = spawn().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes: Vec<_> = declared().into_iter().filter(|r| r.documented()).collect();
    assert!(routes.len() > 55, "{} documented routes", routes.len());
    for route in &routes {
        let method = route.method().unwrap().as_str().to_ascii_lowercase();
        let op = &doc["paths"][route.path][&method];
        let what = format!("{method} {}", route.path);
        assert!(op.is_object(), "{what} is not in the document");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{what} has no summary");
        // The roles come from the permission table.
        let roles: BTreeSet<&str> = op["x-roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        let expected: BTreeSet<&str> = route.access.roles().iter().map(|r| r.as_str()).collect();
        assert_eq!(roles, expected, "{what}");
        if let Access::Permission(p) = route.access {
            assert_eq!(op["x-permission"], p.code(), "{what}");
            assert_eq!(expected, p.roles().iter().map(|r| r.as_str()).collect(), "{what}");
        }
        // Error codes: those of its access and body, and its own.
        let codes: Vec<&str> = op["x-error-codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert!(op["description"].as_str().unwrap().contains("错误代码"), "{what}");
        if route.access != Access::Public {
            assert!(codes.contains(&"unauthenticated") && codes.contains(&"permission_denied"), "{what}: {codes:?}");
            assert!(op["security"].is_array(), "{what}");
        }
        for own in route.doc.errors {
            assert!(codes.contains(own), "{what} lacks {own}");
        }
        // Bodies and answers carry generated schemas.
        match route.doc.body {
            Body::Json(_) => {
                assert!(codes.contains(&"malformed_json"), "{what}");
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                assert!(schema.get("$ref").is_some() || schema.get("oneOf").is_some(), "{what}: {schema}");
            }
            Body::Multipart => assert!(op["requestBody"]["content"]["multipart/form-data"].is_object(), "{what}"),
            Body::None | Body::Form => assert!(op.get("requestBody").is_none(), "{what}"),
        }
        let success = &op["responses"][route.doc.status.to_string()];
        assert!(success.is_object(), "{what}: no {} answer", route.doc.status);
        assert_eq!(route.doc.answer.is_some(), success["content"]["application/json"]["schema"].is_object(), "{what}");
    }
    // Nothing is documented that is not declared.
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len());
    // Every reference resolves to a generated schema.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50);
    for target in all {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{target}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{target} does not resolve");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["IntakeInput"]["required"], json!(["kind", "asker", "contact", "title", "content", "category"]));
    assert!(schemas["RequestView"]["properties"]["deadlines"].is_object());
    // The action bodies: one per action, named, from the one action list.
    let action = &doc["paths"]["/api/v1/requests/{no}/{action}"]["post"]["requestBody"]["content"]["application/json"];
    let titles: BTreeSet<&str> =
        action["schema"]["oneOf"].as_array().unwrap().iter().map(|b| b["title"].as_str().unwrap()).collect();
    let names: BTreeSet<&str> = mashangban_app::input::ActionName::all().map(|a| a.as_str()).collect();
    assert_eq!(titles, names);
    // And every documented route is served.
    for route in &routes {
        let method = reqwest::Method::from_bytes(route.method().unwrap().as_str().as_bytes()).unwrap();
        let (status, body) = app.call(method.clone(), &concrete(route.path), None, Some(json!({}))).await;
        let fallback = body["message"] == "请求的地址不存在" || body["code"] == "method_not_allowed";
        assert!(!fallback, "{method} {} is documented but not served ({status} {body})", route.path);
    }
}

/// Who calls: nobody, a role's session, or an API token.
struct Caller {
    label: String,
    role: Option<Role>,
    cookie: Option<String>,
    token: Option<String>,
}

async fn callers(app: &App) -> Vec<Caller> {
    let hash = auth::hash_password(PASSWORD).unwrap();
    let resident = NewUser {
        username: "resident".into(),
        display_name: "李伟明".into(),
        role: Role::Resident,
        unit_id: None,
        credit_code: None,
        phone: None,
        password_hash: hash,
    };
    app.store.create_user(resident, crate::tester()).await.unwrap();
    let mut callers = vec![Caller { label: "anonymous".into(), role: None, cookie: None, token: None }];
    let users = [
        ("operator", Role::Operator),
        ("dispatcher", Role::Dispatcher),
        ("handler", Role::Handler),
        ("unit-leader", Role::UnitLeader),
        ("supervisor", Role::Supervisor),
        ("leader", Role::CityLeader),
        ("admin", Role::Admin),
        ("statistics", Role::Statistician),
        ("enterprise", Role::Enterprise),
        ("resident", Role::Resident),
    ];
    for (username, role) in users {
        let Session(cookie) = app.login(username).await;
        callers.push(Caller { label: username.into(), role: Some(role), cookie: Some(cookie), token: None });
    }
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == "zwfw-12345").unwrap();
    let secret = auth::new_api_token();
    let token = NewApiToken {
        name: "派单接口".into(),
        token_hash: auth::hash_secret(&secret),
        role: Role::Dispatcher,
        unit_id: Some(unit.id),
    };
    app.store.create_api_token(token, crate::tester()).await.unwrap();
    callers.push(Caller { label: "token".into(), role: Some(Role::Dispatcher), cookie: None, token: Some(secret) });
    callers
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_the_permission_table_names() {
    let app = spawn().await;
    let callers = callers(&app).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut checked = 0;
    for route in declared() {
        let (Some(method), access) = (route.method(), route.access) else { continue };
        if access == Access::Public || route.surface() == Surface::Open311 {
            continue;
        }
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
        let url = app.url(&concrete(route.path));
        for caller in &callers {
            let mut request = http.request(method.clone(), &url);
            if let Some(cookie) = &caller.cookie {
                request = request.header("cookie", cookie);
            }
            if let Some(token) = &caller.token {
                request = request.bearer_auth(token);
            }
            if method != reqwest::Method::GET {
                request = match route.surface() {
                    Surface::Api => request.json(&json!({})),
                    _ => request.form(&[("x", "")]),
                };
            }
            let res = request.send().await.unwrap();
            let status = res.status();
            let to_login = res.headers().get("location").is_some_and(|l| l == "/login");
            let what = format!("{} {} as {}: {status}", method, route.path, caller.label);
            let admitted = match (access, caller.role) {
                (_, None) => false,
                (Access::Permission(p), Some(role)) => p.roles().contains(&role),
                (_, Some(_)) => true,
            };
            match (caller.role, admitted) {
                (None, _) if route.surface() == Surface::Page => assert!(to_login, "{what}: not sent to sign in"),
                (None, _) => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
                (Some(_), false) => assert_eq!(status, StatusCode::FORBIDDEN, "{what}"),
                (Some(_), true) => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && !to_login,
                    "{what}: admitted by the table, refused by the server"
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 800, "{checked} checks");
    // Every permission is needed by some route, but the one the views apply to history entries.
    let mut needed: BTreeSet<Permission> = declared()
        .iter()
        .filter_map(|r| match r.access {
            Access::Permission(p) => Some(p),
            _ => None,
        })
        .collect();
    needed.insert(Permission::SeeClientAddresses);
    assert_eq!(needed, Permission::ALL.iter().copied().collect());
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn().await;
    let res = app.http.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("/api/docs/swagger-ui-bundle.js") && !page.contains("http"), "no CDN: {page}");
    for (path, kind) in [
        ("/api/docs/swagger-ui-bundle.js", "javascript"),
        ("/api/docs/swagger-ui.css", "css"),
        ("/api/docs/init.js", "javascript"),
    ] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().contains(kind), "{path}");
        assert!(!res.bytes().await.unwrap().is_empty());
    }
}
