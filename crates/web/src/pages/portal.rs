//! The portal's home page and the answer page after a submission.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;

use crate::extract::{PagePath as Path, PageQuery as Query};
use axum::http::StatusCode;
use axum::response::Response;
use qrcode::QrCode;
use qrcode::render::svg;

use mashangban_app::App;
use mashangban_store::Store;

use super::{Layout, PageResult, render};
use crate::auth::Auth;
use crate::routes::Menu;

#[derive(Template)]
#[template(path = "portal.html")]
struct Home {
    layout: Layout,
}

/// `GET /`: what 马上办 is, and the two ways in.
pub async fn home(Auth(caller): Auth, Extension(menu): Extension<Arc<Menu>>) -> Response {
    render(StatusCode::OK, &Home { layout: Layout::portal("企业群众诉求服务", &caller.actor, &menu) })
}

#[derive(serde::Deserialize)]
pub struct SubmittedQuery {
    #[serde(default)]
    code: Option<String>,
    /// `failed` when an attachment could not be saved.
    #[serde(default)]
    files: Option<String>,
}

#[derive(Template)]
#[template(path = "submitted.html")]
struct Submitted {
    layout: Layout,
    tracking_no: String,
    check_code: String,
    /// The progress page on this server (a relative link).
    track_path: String,
    /// The same page at the platform's public address (for the QR code).
    progress_url: String,
    qr_svg: String,
    state_label: &'static str,
    due_at: Option<String>,
    /// The limits that apply, in Chinese, and whether as 马上办.
    limits: Option<String>,
    act_now: bool,
    files_failed: bool,
}

/// `GET /submitted/{no}?code=`: the tracking number, the check code and a QR
/// code of the progress link.
pub async fn submitted<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(no): Path<String>,
    Query(query): Query<SubmittedQuery>,
) -> PageResult {
    let request = app.requests().verified(&caller, &no, query.code.as_deref()).await?;
    let track_path = format!("/track/{}?code={}", request.tracking_no, request.check_code);
    let progress_url = format!("{}{track_path}", app.settings().public_url.trim_end_matches('/'));
    let page = Submitted {
        layout: Layout::portal("提交成功", &caller.actor, &menu),
        qr_svg: qr_svg(&progress_url),
        tracking_no: request.tracking_no.clone(),
        check_code: request.check_code.clone(),
        track_path,
        progress_url,
        state_label: request.state.label(),
        limits: request.time_limits.map(|l| l.describe()).filter(|s| !s.is_empty()),
        act_now: mashangban_app::views::is_act_now(&request),
        files_failed: query.files.as_deref() == Some("failed"),
        due_at: request.due_at.as_ref().map(|t| {
            let provisional = mashangban_app::views::is_provisional(&request, *t, &app.calendar().in_force());
            let due = super::short_time(&mashangban_domain::time::format_instant(t));
            if provisional { format!("{due}（暂定，待导入节假日安排后重算）") } else { due }
        }),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The QR code of a link as inline SVG (without the XML declaration); empty
/// if the link is too long to encode.
pub fn qr_svg(link: &str) -> String {
    let Ok(code) = QrCode::new(link.as_bytes()) else { return String::new() };
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = image.find("<svg").unwrap_or(0);
    image[start..].replacen("<svg ", "<svg role=\"img\" aria-label=\"进度查询链接的二维码\" class=\"qr\" ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_inline_svg_without_scripts_or_styles() {
        let svg = qr_svg("http://127.0.0.1:8080/track/ZS20261129000001?code=48210937");
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("style="));
    }
}
