//! The pages' own CSS and scripts, embedded in the binary (government
//! intranets are offline: nothing comes from a CDN). URLs carry a digest of
//! the contents, so the files may be cached for a year.

use std::sync::LazyLock;

use crate::extract::PagePath as Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use mashangban_store::Store;

use crate::routes::Route;

/// (path under `/assets/`, content type, contents).
const FILES: &[(&str, &str, &str)] = &[
    ("css/app.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/app.css")),
    ("css/cards.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/cards.css")),
    ("css/card-a6.css", "text/css; charset=utf-8", include_str!("../../../../assets/css/card-a6.css")),
    ("js/dashboard.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/dashboard.js")),
    ("js/console.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/console.js")),
    ("js/submit.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/submit.js")),
    ("js/approvals-live.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/approvals-live.js")),
    (
        "js/monitoring-live.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/js/monitoring-live.js"),
    ),
    ("js/track.js", "text/javascript; charset=utf-8", include_str!("../../../../assets/js/track.js")),
    (
        "vendor/echarts/echarts.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../assets/vendor/echarts/echarts.min.js"),
    ),
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut digest = Sha256::new();
    for (_, _, contents) in FILES {
        digest.update(contents.as_bytes());
    }
    hex::encode(digest.finalize()).chars().take(12).collect()
});

/// The digest that asset URLs carry (`?v=`).
pub fn version() -> &'static str {
    VERSION.as_str()
}

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![Route::get("/assets/{*path}", asset).public()]
}

async fn asset(Path(path): Path<String>) -> Response {
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, contents)) => (
            [(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
            *contents,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
