//! The OpenAPI document covers every `/api/v1` route, and Swagger UI is served from the binary.

use super::*;

/// (method, path) of every route registered in the API's source files.
fn registered_routes() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // Join lines so a registration split over several lines still reads as one.
        let joined = source.replace('\n', " ");
        for part in joined.split(".route(\"").skip(1) {
            let Some((path, rest)) = part.split_once('"') else { continue };
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let call = until_call_closes(rest);
            for method in ["get", "post", "put", "delete", "patch"] {
                if call.contains(&format!("{method}(")) || call.contains(&format!(".{method}(")) {
                    routes.push((method.to_owned(), path.to_owned()));
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// The text up to the parenthesis that closes the `.route(` call.
fn until_call_closes(rest: &str) -> &str {
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    rest
}

#[tokio::test]
async fn every_route_is_documented_with_its_roles_and_errors() {
    let app = spawn().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = registered_routes();
    assert!(routes.len() > 35, "found {} routes in the sources", routes.len());
    for (method, path) in &routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the OpenAPI document");
        assert!(op["x-roles"].is_array() && op["x-error-codes"].is_array(), "{method} {path}");
        assert!(op["description"].as_str().unwrap().contains("错误代码"), "{method} {path}");
    }
    // And nothing is documented that is not served.
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len(), "the document lists routes that are not registered");
    for (method, path) in &routes {
        let concrete = path
            .replace("{no}", "ZS00000000000000")
            .replace("{action}", "sign")
            .replace("{id}", "1")
            .replace("{year}", "2026")
            .replace("{key}", "asker.accepted")
            .replace("{channel}", "sms")
            .replace("{username}", "nobody");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = app.call(method.clone(), &concrete, None, Some(json!({}))).await;
        let fallback = body["message"] == "请求的地址不存在" || body["code"] == "method_not_allowed";
        assert!(!fallback, "{method} {concrete} is documented but not served ({status} {body})");
    }
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
