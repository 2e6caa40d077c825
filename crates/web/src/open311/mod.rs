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

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use mashangban_app::{App, Settings};
use mashangban_store::Store;

use crate::routes::Route;
use format::{Document, Failure, Format, reply, split_file};

/// The one jurisdiction we serve; `jurisdiction_id` may be this or empty.
pub const JURISDICTION: &str = "zhongshan";

/// The most requests one `GET requests` page returns (`page_size`), and its default.
pub const PAGE_CAP: u32 = 200;

/// Open311's routes: all public (intake checks its `api_key` itself); other
/// methods and unknown resources answer in Open311's own format.
pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    let post_limit = settings.max_attachment_bytes + 64 * 1024;
    let mut routes = vec![
        Route::get("/open311/v2/{file}", top::<S>).public(),
        Route::post("/open311/v2/{file}", intake::post::<S>).public().form().body_limit(post_limit),
        Route::other_methods("/open311/v2/{file}", not_allowed),
    ];
    for path in ["/open311/v2/services/{file}", "/open311/v2/service/{file}"] {
        routes.push(Route::get(path, service::<S>).public());
        routes.push(Route::other_methods(path, not_allowed));
    }
    routes.push(Route::get("/open311/v2/requests/{file}", request::<S>).public());
    routes.push(Route::other_methods("/open311/v2/requests/{file}", not_allowed));
    routes.push(Route::get("/open311/v2/tokens/{file}", token::<S>).public());
    routes.push(Route::other_methods("/open311/v2/tokens/{file}", not_allowed));
    routes
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

    /// Refuses a name or value holding a control character (other than line
    /// breaks and tabs), as the JSON API and the pages' forms do.
    pub fn check_controls(&self) -> Result<(), Failure> {
        let refused = |text: &str| text.chars().any(mashangban_app::json::is_refused_control);
        match self.0.iter().find(|(k, v)| refused(k) || refused(v)) {
            Some((key, _)) => {
                Err(Failure::bad_request(format!("参数 {} 中含有不允许的控制字符（如 NUL）", key.escape_debug())))
            }
            None => Ok(()),
        }
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
async fn top<S: Store>(State(app): State<App<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((name, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => match name {
            "discovery" => services::discovery(&app, &params),
            "services" => services::list(&app, &params),
            "requests" => requests::list(&app, &params).await,
            _ => Err(no_such_resource()),
        },
        Err(failure) => Err(failure),
    };
    reply(format, result)
}

/// `GET services/{code}` and its alias `GET service/{code}`: a service definition.
async fn service<S: Store>(State(app): State<App<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    with_params(&file, &uri, |code, params| services::definition(&app, code, params))
}

/// `GET requests/{id}`: one request, as a list of one.
async fn request<S: Store>(State(app): State<App<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((id, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => requests::one(&app, id, &params).await,
        Err(failure) => Err(failure),
    };
    reply(format, result)
}

/// `GET tokens/{token}`.
async fn token<S: Store>(State(app): State<App<S>>, Path(file): Path<String>, uri: Uri) -> Response {
    let Some((token, format)) = split_file(&file) else { return unknown_format() };
    let result = match Params::from_uri(&uri) {
        Ok(params) => requests::token(&app, token, &params).await,
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

/// An unknown resource under `/open311/`, in the format its path asks for.
pub async fn unknown(uri: Uri) -> Response {
    no_such_resource().render(format_of(&uri))
}

async fn not_allowed(uri: Uri) -> Response {
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, "不支持的请求方法").render(format_of(&uri))
}
