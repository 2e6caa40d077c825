//! The Open311 GeoReport v2 server (开放311接口) at `/open311/v2/`: our
//! categories as services, intake by API key, and the public state of
//! requests, in XML and JSON. See docs/open311.md.
//!
//! axum routes cannot match `{id}.json`, so each route takes the whole last
//! segment (`{file}`) and [`format::split_file`] splits off the format.

pub mod format;
mod intake;
mod requests;
mod services;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

use mashangban_store::Store;

use crate::state::AppState;
use format::{Document, Failure, Format, reply, split_file};

/// The one jurisdiction we serve; `jurisdiction_id` may be this or empty.
pub const JURISDICTION: &str = "zhongshan";

/// The most requests one `GET requests` page returns (`page_size`), and its default.
pub const PAGE_CAP: u32 = 200;

pub fn routes<S: Store>(state: &AppState<S>) -> Router<AppState<S>> {
    let post_limit = state.config.max_attachment_bytes + 64 * 1024;
    let v2 = Router::new()
        .route(
            "/{file}",
            get(top::<S>).post(intake::post::<S>).layer(DefaultBodyLimit::max(post_limit)).fallback(not_allowed),
        )
        .route("/services/{file}", get(service::<S>).fallback(not_allowed))
        .route("/service/{file}", get(service::<S>).fallback(not_allowed))
        .route("/requests/{file}", get(request::<S>).fallback(not_allowed))
        .route("/tokens/{file}", get(token::<S>).fallback(not_allowed))
        .fallback(unknown);
    Router::new().nest("/open311/v2", v2)
}

/// The query or form parameters of a call. Values are trimmed, and an empty
/// value counts as absent.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k, v.trim().to_owned())).filter(|(_, v)| !v.is_empty()).collect())
    }

    pub fn from_uri(uri: &Uri) -> Result<Self, Failure> {
        query_pairs(uri).map(Self::new)
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, each split at commas, empty items left out.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Accepts an empty or absent `jurisdiction_id` and ours; any other is 404.
    pub fn check_jurisdiction(&self) -> Result<(), Failure> {
        match self.get("jurisdiction_id") {
            None | Some(JURISDICTION) => Ok(()),
            Some(other) => {
                Err(Failure::not_found(format!("本平台只受理辖区「{JURISDICTION}」的诉求，不受理「{other}」")))
            }
        }
    }

    /// `true`/`false` (also `1`/`0`); absent is false.
    pub fn flag(&self, key: &str) -> Result<bool, Failure> {
        match self.get(key) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(Failure::bad_request(format!("参数 {key} 应为 true 或 false"))),
        }
    }
}

/// The query string as name–value pairs, in order.
pub fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, Failure> {
    let Query(pairs) =
        Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|_| Failure::bad_request("查询参数格式错误"))?;
    Ok(pairs)
}

fn unknown_format() -> Response {
    Failure::not_found("不支持的格式：请在资源名后加 .xml 或 .json").render(Format::Json)
}

/// `GET discovery`, `GET services`, `GET requests`.
async fn top<S: Store>(State(state): State<AppState<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((name, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => match name {
            "discovery" => services::discovery(&state, &params),
            "services" => services::list(&state, &params),
            "requests" => requests::list(&state, &params).await,
            _ => Err(no_such_resource()),
        },
        Err(failure) => Err(failure),
    };
    reply(format, result)
}

/// `GET services/{code}` and its alias `GET service/{code}`: a service definition.
async fn service<S: Store>(State(state): State<AppState<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    with_params(&file, &uri, |code, params| services::definition(&state, code, params))
}

/// `GET requests/{id}`: one request, as a list of one.
async fn request<S: Store>(State(state): State<AppState<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((id, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => requests::one(&state, id, &params).await,
        Err(failure) => Err(failure),
    };
    reply(format, result)
}

/// `GET tokens/{token}`.
async fn token<S: Store>(State(state): State<AppState<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((token, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => requests::token(&state, token, &params).await,
        Err(failure) => Err(failure),
    };
    reply(format, result)
}

fn with_params(file: &str, uri: &Uri, handle: impl FnOnce(&str, &Params) -> Result<Document, Failure>) -> Response {
    let Some((name, format)) = split_file(file) else { return unknown_format() };
    reply(format, Params::from_uri(uri).and_then(|params| handle(name, &params)))
}

fn no_such_resource() -> Failure {
    Failure::not_found("没有这个 Open311 资源")
}

/// The format a path asks for, JSON when it names none.
fn format_of(uri: &Uri) -> Format {
    uri.path().rsplit_once('.').and_then(|(_, ext)| Format::from_extension(ext)).unwrap_or(Format::Json)
}

async fn unknown(uri: Uri) -> Response {
    no_such_resource().render(format_of(&uri))
}

async fn not_allowed(uri: Uri) -> Response {
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, "不支持的请求方法").render(format_of(&uri))
}
