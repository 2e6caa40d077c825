//! The OpenAPI document (generated from the route declarations) and Swagger
//! UI (vendored, embedded; nothing from a CDN).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use mashangban_app::App;
use mashangban_store::Store;

use crate::routes::Route;

const BUNDLE: &[u8] = include_bytes!("../../../../assets/vendor/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../../../assets/vendor/swagger-ui/swagger-ui.css");

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>马上办 接口文档</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"#;

const INIT: &str =
    r##"window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true });"##;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/api/openapi.json", openapi::<S>).public(),
        Route::get("/api/docs", || async { Html(PAGE) }).public(),
        Route::get("/api/docs/init.js", || async {
            ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], INIT)
        })
        .public(),
        Route::get("/api/docs/swagger-ui-bundle.js", || async { asset("text/javascript; charset=utf-8", BUNDLE) })
            .public(),
        Route::get("/api/docs/swagger-ui.css", || async { asset("text/css; charset=utf-8", CSS) }).public(),
    ]
}

/// `GET /api/openapi.json`: the document of the routes this server declares.
async fn openapi<S: Store>(State(app): State<App<S>>) -> Json<serde_json::Value> {
    Json(crate::openapi::document(&crate::routes::all::<S>(app.settings())))
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], bytes)
}
