//! The asker's progress pages: look-up, the live progress page and rating.

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use mashangban_app::error::ErrorKind;
use mashangban_app::input::{RateInput, ReopenRequestInput};
use mashangban_app::requests::Progress;
use mashangban_app::views::{PublicStep, PublicView};
use mashangban_app::{App, Settings};
use mashangban_domain::request::Rating;
use mashangban_store::Store;

use super::{Choice, Layout, PageResult, plain_code, render, short_time};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::Menu;
use crate::routes::Route;
use crate::upload::{attachment_too_large, read_files};

pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    vec![
        Route::get("/track", lookup).public(),
        Route::get("/track/{no}", progress::<S>).public(),
        Route::post("/track/{no}/rate", rate::<S>).public().form(),
        Route::post("/track/{no}/reopen", reopen::<S>).public().form(),
        Route::post("/track/{no}/materials", materials::<S>)
            .public()
            .multipart()
            .body_limit(super::submit::limit(settings)),
        Route::get("/track/{no}/events", crate::live::events::<S>).public(),
    ]
}

#[derive(Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    no: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "track_lookup.html")]
struct LookupPage {
    layout: Layout,
    no: String,
    code: String,
    error: Option<String>,
}

/// `?code=CHECKCODE` on the asker's progress page. Other parameters are ignored, not refused: links to this page
/// are shared in chat apps, which append their own (WeChat adds `from=singlemessage&isappinstalled=0`).
#[derive(serde::Deserialize)]
pub struct TrackQuery {
    #[serde(default)]
    pub code: Option<String>,
}

/// `GET /track`: the look-up form; with `no` and `code` it goes to the progress page.
pub async fn lookup(
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(query): Query<LookupQuery>,
) -> Response {
    let no = query.no.unwrap_or_default();
    let code = query.code.unwrap_or_default();
    if no.is_empty() && code.is_empty() {
        let page = LookupPage { layout: Layout::portal("查询进度", &caller.actor, &menu), no, code, error: None };
        return render(StatusCode::OK, &page);
    }
    match (plain_code(&no), plain_code(&code)) {
        (Some(n), Some(c)) => Redirect::to(&format!("/track/{}?code={c}", n.to_uppercase())).into_response(),
        _ => {
            let error = Some("请填写受理编号和查询码（字母和数字）".to_owned());
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &LookupPage { layout: Layout::public("查询进度"), no, code, error },
            )
        }
    }
}

/// One step of the timeline as the page shows it.
pub struct Step {
    pub kind: &'static str,
    pub label: &'static str,
    pub at: String,
    pub unit: Option<String>,
    pub comment: Option<String>,
    /// The deadline the step set, with its caption (答复期限, 新的答复期限).
    pub deadline: Option<(String, &'static str)>,
}

fn step(s: &PublicStep) -> Step {
    let caption = match s.kind {
        "received" => Some("答复期限"),
        "extension_approved" => Some("新的答复期限"),
        _ => None,
    };
    Step {
        kind: s.kind,
        label: s.label,
        at: short_time(&s.at),
        unit: s.unit.clone(),
        comment: s.comment.clone(),
        deadline: caption.and_then(|c| s.due_at.as_deref().map(|d| (short_time(d), c))),
    }
}

#[derive(Template)]
#[template(path = "track.html")]
struct ProgressPage {
    layout: Layout,
    view: PublicView,
    steps: Vec<Step>,
    /// Steps of the request this one was merged into.
    parent_steps: Vec<Step>,
    code: String,
    version: i64,
    ratings: Vec<Choice>,
    rate_error: Option<String>,
    reopen_error: Option<String>,
    reopen_sent: bool,
    upload_error: Option<String>,
    uploaded: usize,
}

/// What the asker's last form did, shown on the progress page.
#[derive(Default)]
struct Feedback {
    rate_error: Option<String>,
    reopen_error: Option<String>,
    reopen_sent: bool,
    upload_error: Option<String>,
    uploaded: usize,
}

impl Feedback {
    fn is_error(&self) -> bool {
        self.rate_error.is_some() || self.reopen_error.is_some() || self.upload_error.is_some()
    }
}

impl ProgressPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn due(&self) -> String {
        let provisional = if self.view.due_provisional { "（暂定）" } else { "" };
        self.view.due_at.as_deref().map(|d| format!("{}{provisional}", short_time(d))).unwrap_or_default()
    }

    fn received(&self) -> String {
        short_time(&self.view.received_at)
    }
}

/// `GET /track/{no}?code=`: the timeline, kept up to date by `track.js`
/// over `/track/{no}/events`.
pub async fn progress<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(query): Query<TrackQuery>,
) -> PageResult {
    match app.requests().progress(&caller, &no, query.code.as_deref()).await {
        Ok(progress) => Ok(progress_page(progress, Feedback::default())),
        // A mistyped number or code, or too many tries: the look-up form again with what was typed.
        Err(e) => {
            let (status, error) = match e.kind {
                ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "查询失败次数过多，请一小时后再试"),
                ErrorKind::NotFound => (StatusCode::NOT_FOUND, "受理编号或查询码不正确，请核对后重新输入"),
                _ => return Err(e.into()),
            };
            let (code, error) = (query.code.unwrap_or_default(), Some(error.to_owned()));
            Ok(render(status, &LookupPage { layout: Layout::public("查询进度"), no, code, error }))
        }
    }
}

fn progress_page(progress: Progress, feedback: Feedback) -> Response {
    let Progress { request, view, version } = progress;
    let status = if feedback.is_error() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ProgressPage {
        layout: Layout::public(format!("办理进度 {}", view.tracking_no)),
        steps: view.timeline.iter().map(step).collect(),
        parent_steps: view.merged_into.as_ref().map(|p| p.timeline.iter().map(step).collect()).unwrap_or_default(),
        view,
        code: request.check_code.clone(),
        version,
        ratings: Rating::ALL.iter().map(|r| Choice::new(r.as_str(), r.label(), false)).collect(),
        rate_error: feedback.rate_error,
        reopen_error: feedback.reopen_error,
        reopen_sent: feedback.reopen_sent,
        upload_error: feedback.upload_error,
        uploaded: feedback.uploaded,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct RateForm {
    code: String,
    #[serde(default)]
    rating: Option<String>,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /track/{no}/rate`: the asker rates the answer (评价), as the public
/// API's rate does, and goes back to the progress page.
pub async fn rate<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Form(form): Form<RateForm>,
) -> PageResult {
    let requests = app.requests();
    let progress = requests.progress(&caller, &no, Some(&form.code)).await?;
    let rating = form.rating.as_deref().and_then(Rating::parse);
    let resolved = match form.resolved.as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    let (Some(rating), Some(resolved)) = (rating, resolved) else {
        let rate_error = Some("请选择满意程度，并说明问题是否已解决".to_owned());
        return Ok(progress_page(progress, Feedback { rate_error, ..Feedback::default() }));
    };
    let comment = form.comment.filter(|c| !c.trim().is_empty());
    let input = RateInput { code: form.code, rating, resolved, comment };
    match requests.rate(&caller, &progress.request.tracking_no, input).await {
        Ok(rated) => {
            Ok(Redirect::to(&format!("/track/{}?code={}", rated.request.tracking_no, rated.request.check_code))
                .into_response())
        }
        Err(e) => {
            let rate_error = Some(e.message);
            Ok(progress_page(progress, Feedback { rate_error, ..Feedback::default() }))
        }
    }
}

#[derive(Deserialize)]
pub struct ReopenForm {
    code: String,
    #[serde(default)]
    reason: String,
}

/// `POST /track/{no}/reopen`: after an unhappy follow-up the asker asks for
/// the request to be handled again (申请重办), as the public API does.
pub async fn reopen<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Form(form): Form<ReopenForm>,
) -> PageResult {
    let requests = app.requests();
    let progress = requests.progress(&caller, &no, Some(&form.code)).await?;
    let input = ReopenRequestInput { code: form.code, reason: form.reason };
    Ok(match requests.request_reopen(&caller, &progress.request.tracking_no, input).await {
        Ok(changed) => progress_page(changed, Feedback { reopen_sent: true, ..Feedback::default() }),
        Err(e) => progress_page(progress, Feedback { reopen_error: Some(e.message), ..Feedback::default() }),
    })
}

/// `POST /track/{no}/materials?code=` (multipart `file`, several allowed):
/// the asker adds materials (补充材料) through the same checks as the API.
pub async fn materials<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    Query(query): Query<TrackQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let requests = app.requests();
    let progress = requests.progress(&caller, &no, query.code.as_deref()).await?;
    let files = match multipart {
        Ok(multipart) => read_files(multipart, &attachment_too_large(app.settings().max_attachment_bytes)).await,
        Err(_) => Err(ApiError::bad_request("malformed_multipart", "上传的文件格式不正确，请重新选择文件")),
    };
    let saved = match files {
        Ok(files) => {
            let (no, code) = (&progress.request.tracking_no, &progress.request.check_code);
            requests.add_materials(&caller, no, Some(code), files).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    let feedback = match saved {
        Ok(files) => Feedback { uploaded: files.len(), ..Feedback::default() },
        Err(e) => Feedback { upload_error: Some(e.message), ..Feedback::default() },
    };
    // The page's live stream brings the timeline's new step at once.
    Ok(progress_page(progress, feedback))
}
