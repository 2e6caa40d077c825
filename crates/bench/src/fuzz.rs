//! `mashangban-bench fuzz`: every operation of the server's own OpenAPI document, called with
//! generated requests — bodies that look valid by the operation's schema, then mutations of them
//! (wrong types, fields missing or extra, huge and empty strings, control characters, full-width
//! digits, invalid UTF-8 in the path and the query, huge numbers, duplicate query fields, wrong
//! content types, truncated JSON and multipart, a wrong method, a cross-site origin) — anonymously and
//! as several demo roles, with path parameters filled from real demo records where a list of the kind
//! names some. Besides the document's operations: Open311 and the HTML pages' form posts, from the
//! server's route list, their form fields read off the pages ([`form_operations`]).
//!
//! An answer is counted by its status class and, besides, as accepted ([`Outcome`]): a 2xx, or for a page's
//! form post a 303 See Other (how a page answers a post that went through) other than to the sign-in page.
//!
//! A failure is a 5xx, an answer on `/api/` whose body is not the JSON it must be (`{code, message}`
//! for an error), no answer (the connection failed or 30 s passed), the server gone, or more text
//! with control characters in the database after the run than before. Request `n`
//! is made from the seed and `n` alone, so a run is the same whatever the concurrency. Memory stays
//! bounded: counters, and the first few failures kept in full.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as Clock};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value, json};

use mashangban_backend::{BackendOptions, DatabaseUrl};
use mashangban_domain::org::Role;
use mashangban_store::{NewApiToken, NewUser, OrgStore};

use crate::server::Server;
use crate::{BenchResult, Ctx};

/// The demo accounts' password in the fuzzed database (as `mashangban demo` sets by default).
pub const PASSWORD: &str = "mashangban-demo";

/// The demo accounts the requests are sent as, besides anonymous: one of each kind of scope.
pub const CALLERS: [&str; 9] =
    ["dispatcher", "handler", "town-handler", "supervisor", "leader", "admin", "liaison", "statistics", "enterprise"];

/// The account the routes acting on an account by name act on (so no caller is disabled).
const TARGET_ACCOUNT: &str = "fuzz-target";
/// Outlets in the fuzzed city's ledger: enough for every stage, far fewer than the demo's 40,000, which
/// would only lengthen the load.
const FUZZ_OUTLETS: u32 = 300;

/// Failures kept in full (the rest are counted).
const KEPT_FAILURES: usize = 20;
/// The run stops after this many failures.
const MAX_FAILURES: u64 = 1_000;
/// The time an answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Requests to send.
    pub requests: u64,
    /// On PostgreSQL (a fresh database through `MASHANGBAN_TEST_POSTGRES` or 127.0.0.1:5432), else SQLite.
    pub postgres: bool,
    pub seed: u64,
    pub work_dir: PathBuf,
    /// The executable whose `serve` subcommand runs the server (this binary).
    pub server_exe: PathBuf,
    /// Concurrent requests.
    pub clients: usize,
    /// Demo requests generated before the run (their numbers fill `{no}`).
    pub demo_requests: usize,
}

/// How one request departs from a valid-looking one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    Valid,
    WrongType,
    MissingField,
    ExtraField,
    HugeString,
    EmptyStrings,
    ControlCharacters,
    FullWidthDigits,
    HugeNumber,
    BadPathParameter,
    InvalidUtf8Query,
    DuplicateQuery,
    WrongContentType,
    TruncatedJson,
    TruncatedMultipart,
    WrongMethod,
    /// A cross-site `Origin` and `Sec-Fetch-Site` (a forged form post, CSRF).
    CrossSite,
}

/// Each mutation with its weight (valid-looking requests the most).
const MUTATIONS: [(Mutation, u32); 17] = [
    (Mutation::Valid, 20),
    (Mutation::WrongType, 6),
    (Mutation::MissingField, 6),
    (Mutation::ExtraField, 5),
    (Mutation::HugeString, 3),
    (Mutation::EmptyStrings, 5),
    (Mutation::ControlCharacters, 7),
    (Mutation::FullWidthDigits, 5),
    (Mutation::HugeNumber, 5),
    (Mutation::BadPathParameter, 8),
    (Mutation::InvalidUtf8Query, 6),
    (Mutation::DuplicateQuery, 5),
    (Mutation::WrongContentType, 5),
    (Mutation::TruncatedJson, 5),
    (Mutation::TruncatedMultipart, 3),
    (Mutation::WrongMethod, 3),
    (Mutation::CrossSite, 3),
];

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: reqwest::Method,
    /// The path as declared, with `{placeholders}`.
    pub path: String,
    query: Vec<String>,
    body: BodyKind,
    /// Whether the success answer is declared as JSON.
    json_answer: bool,
}

#[derive(Debug, Clone)]
enum BodyKind {
    None,
    Json(Value),
    Multipart,
    /// `application/x-www-form-urlencoded` with these fields (an HTML form's, or Open311's).
    Form(Vec<String>),
}

/// A failed check, with what was sent.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub operation: String,
    pub caller: String,
    pub mutation: Mutation,
    pub request: String,
    pub problem: String,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    pub backend: String,
    pub seed: u64,
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub operations: usize,
    /// Operations by where they are: `api`, `open311`, `page`.
    pub operations_by_surface: BTreeMap<String, usize>,
    pub callers: Vec<String>,
    /// Answers by status class: 1xx … 5xx.
    pub by_class: [u64; 5],
    /// Answers by surface (`api`, `open311`, `page`) and status class.
    pub by_surface: BTreeMap<String, [u64; 5]>,
    /// Requests that went through, by surface: a 2xx, or for a page's form post a 303 See Other other than
    /// to the sign-in page (a page answers a post it accepted with a redirect, a refused one with the form
    /// again and a 4xx).
    pub accepted: BTreeMap<String, u64>,
    /// The page form posts (distinct operations) accepted at least once.
    pub page_forms_accepted: usize,
    /// Page form posts answered by a redirect to the sign-in page (no session, or it ended).
    pub to_sign_in: u64,
    /// Post forms read off the pages (their fields fill the form posts).
    pub forms_found: usize,
    pub by_mutation: BTreeMap<Mutation, u64>,
    /// Sessions found ended (a caller signed in again).
    pub sign_ins_again: u64,
    /// Requests sent again on a connection of their own after the kept-alive one broke off.
    pub resent: u64,
    pub failure_count: u64,
    pub failures: Vec<Failure>,
    /// Server RSS at the end and its peak (VmHWM), bytes.
    pub rss_end: u64,
    pub rss_peak: u64,
    /// The server's RSS sampled over the run.
    pub memory: Memory,
    /// Text values holding a control character after the run less before it (refused input stored).
    pub stored_control_characters: u64,
}

impl FuzzReport {
    pub fn server_errors(&self) -> u64 {
        self.by_class[4]
    }

    pub fn markdown(&self) -> String {
        let c = &self.by_class;
        let mut md = format!(
            "| backend | requests | operations | callers | 2xx | 3xx | 4xx | 5xx | failures | requests/s | server peak RSS |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} |\n\n",
            self.backend,
            crate::report::thousands(self.requests),
            self.operations,
            self.callers.len(),
            crate::report::thousands(c[1]),
            crate::report::thousands(c[2]),
            crate::report::thousands(c[3]),
            crate::report::thousands(c[4]),
            self.failure_count,
            self.per_second,
            crate::report::mib(self.rss_peak),
        );
        let surfaces: Vec<String> = self.operations_by_surface.iter().map(|(s, n)| format!("{s} {n}")).collect();
        md.push_str(&format!(
            "Operations by surface: {}; post forms read off the pages: {}.\n",
            surfaces.join(", "),
            self.forms_found
        ));
        for (surface, c) in &self.by_surface {
            md.push_str(&format!(
                "- {surface}: 2xx {}, 3xx {}, 4xx {}, 5xx {}; accepted {}\n",
                crate::report::thousands(c[1]),
                crate::report::thousands(c[2]),
                crate::report::thousands(c[3]),
                crate::report::thousands(c[4]),
                crate::report::thousands(self.accepted.get(surface).copied().unwrap_or(0)),
            ));
        }
        md.push_str(&format!(
            "Accepted: a 2xx, or for a page's form post a 303 other than to the sign-in page; {} page posts \
             accepted, {} distinct page forms at least once; {} page posts sent to sign in.\n",
            crate::report::thousands(self.accepted.get("page").copied().unwrap_or(0)),
            self.page_forms_accepted,
            crate::report::thousands(self.to_sign_in),
        ));
        let kinds: Vec<String> = self.by_mutation.iter().map(|(m, n)| format!("{m:?} {n}")).collect();
        md.push_str(&format!(
            "Requests by kind: {}. Sent again on a new connection after a kept-alive one broke off: {}; \
             callers signed in again after their session ended: {}.\n",
            kinds.join(", "),
            self.resent,
            self.sign_ins_again
        ));
        let m = &self.memory;
        md.push_str(&format!(
            "Server RSS: {} at the start, {} after warm-up ({} requests), {} at the end ({} requests), at most {} \
             after warm-up; growth after warm-up {:+.1} MiB per 100,000 requests (least squares over {} samples). \
             Control characters stored: {}.\n",
            crate::report::mib(m.start),
            crate::report::mib(m.warm.1),
            crate::report::thousands(m.warm.0),
            crate::report::mib(m.end.1),
            crate::report::thousands(m.end.0),
            crate::report::mib(m.max_after_warm_up),
            m.growth_per_100k as f64 / (1024.0 * 1024.0),
            m.samples.iter().filter(|(n, _)| *n >= m.warm.0).count(),
            self.stored_control_characters,
        ));
        for f in &self.failures {
            md.push_str(&format!(
                "\n- **{}** as {} ({:?}): {}\n  `{}`\n",
                f.operation, f.caller, f.mutation, f.problem, f.request
            ));
        }
        md
    }
}

/// Loads a fresh demo database, serves it from a child process, and fuzzes every operation.
pub fn run(opts: &FuzzOptions) -> BenchResult<FuzzReport> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let (url, backend, temp) = if opts.postgres {
        let temp = rt
            .block_on(mashangban_store_postgres::testing::TempDatabase::create())
            .ctx("create a PostgreSQL database")?;
        (temp.url().to_owned(), "PostgreSQL", Some(temp))
    } else {
        std::fs::create_dir_all(&opts.work_dir).ctx("work directory")?;
        let db = opts.work_dir.join("fuzz.db");
        crate::load::remove_db(&db)?;
        (format!("sqlite://{}", db.display()), "SQLite", None)
    };
    eprintln!("mashangban-bench fuzz: loading the demo into a fresh {backend} database");
    let api_key = rt.block_on(load_demo(&url, opts.demo_requests))?;
    let stored_before = stored_control_characters(&url)?;
    let server = Server::start(&opts.server_exe, &url, 4, None)?;
    let result = rt.block_on(fuzz(opts, &server, backend, api_key));
    let (rss_end, rss_peak) = server.memory();
    server.stop();
    let stored_after = stored_control_characters(&url);
    // The database goes after the server's connections.
    drop(temp);
    let mut report = result?;
    (report.rss_end, report.rss_peak) = (rss_end, rss_peak);
    report.stored_control_characters = stored_after?.saturating_sub(stored_before);
    if report.stored_control_characters > 0 {
        report.failure_count += 1;
        report.failures.push(Failure {
            operation: "the database after the run".into(),
            caller: String::new(),
            mutation: Mutation::ControlCharacters,
            request: String::new(),
            problem: format!("{} more text values hold a control character", report.stored_control_characters),
        });
    }
    Ok(report)
}

/// The demo city as `mashangban demo` loads it (its password [`PASSWORD`]), the account acted on by name,
/// and a dispatcher's API token for Open311 intake (returned).
async fn load_demo(url: &str, requests: usize) -> BenchResult<String> {
    let options = BackendOptions { connections: 2, personal_data: Some(crate::bench_keys()), ..Default::default() };
    let store = mashangban_backend::open(&DatabaseUrl::parse(url)?, options).await.ctx("open the store")?;
    let data = mashangban_demo::DemoData::bundled().ctx("demo data")?;
    let hash = mashangban_web::auth::hash_password(PASSWORD).map_err(|e| e.message.to_string())?;
    let history = mashangban_demo::HistoryOptions { seed: 1, count: requests, end: mashangban_domain::time::now() };
    mashangban_demo::load_city(&store, &data, &hash, &history, FUZZ_OUTLETS, |_, _| {}, &mut |_| {})
        .await
        .ctx("the demo")?;
    let target = NewUser {
        username: TARGET_ACCOUNT.into(),
        display_name: "赵一鸣".into(),
        role: Role::Resident,
        unit_id: None,
        credit_code: None,
        phone: None,
        password_hash: hash,
    };
    store.create_user(target, mashangban_store::AccountBy::named("压力测试")).await.ctx("the target account")?;
    let hotline = store.list_units().await.ctx("units")?.into_iter().find(|u| u.code == "zwfw-12345").map(|u| u.id);
    let secret = mashangban_web::auth::new_api_token();
    let token = NewApiToken {
        name: "模糊测试令牌".into(),
        token_hash: mashangban_web::auth::hash_secret(&secret),
        role: Role::Dispatcher,
        unit_id: hotline,
    };
    store.create_api_token(token, mashangban_store::AccountBy::named("测评")).await.ctx("the Open311 token")?;
    Ok(secret)
}

/// The characters no text input may hold (issue 18): C0 controls but tab, line feed and carriage return,
/// and DEL. NUL is looked for apart (PostgreSQL text cannot hold it).
fn control_class() -> String {
    format!("[{}-{}{}{}{}-{}{}]", '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{e}', '\u{1f}', '\u{7f}')
}

/// Text values in the whole database holding a control character: what the run stored of the fuzzer's
/// control characters is the count after it less the count before.
fn stored_control_characters(url: &str) -> BenchResult<u64> {
    let mut total = 0u64;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ctx("open the database")?;
        let tables: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .ctx("tables")?;
        let glob = format!("*{}*", control_class());
        for table in tables {
            let columns: Vec<(String, String)> = db
                .prepare(&format!("SELECT name, type FROM pragma_table_info('{table}')"))
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .ctx("columns")?;
            for (column, kind) in columns {
                if !(kind.is_empty() || kind.to_ascii_uppercase().contains("TEXT")) {
                    continue;
                }
                let sql = format!(
                    "SELECT count(*) FROM \"{table}\" WHERE typeof(\"{column}\") = 'text' \
                     AND (\"{column}\" GLOB ?1 OR instr(CAST(\"{column}\" AS BLOB), x'00') > 0)"
                );
                let n: i64 = db.query_row(&sql, [&glob], |r| r.get(0)).ctx("count control characters")?;
                total += n as u64;
            }
        }
    } else {
        let mut db = postgres::Client::connect(url, postgres::NoTls).ctx("connect")?;
        let columns = db
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying')",
                &[],
            )
            .ctx("columns")?;
        let class = control_class();
        for row in columns {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            let sql = format!("SELECT count(*) FROM \"{table}\" WHERE \"{column}\" ~ $1");
            let n: i64 = db.query_one(&sql, &[&class]).ctx("count control characters")?.get(0);
            total += n as u64;
        }
    }
    Ok(total)
}

/// The operations of an OpenAPI document, in its order.
pub fn operations(document: &Value) -> Vec<Operation> {
    let components = document.pointer("/components/schemas").cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else { return out };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item {
            let Ok(method) = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
            let query = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            let content = op.pointer("/requestBody/content");
            let body = match content {
                Some(c) if c.get("multipart/form-data").is_some() => BodyKind::Multipart,
                Some(c) => match c.pointer("/application~1json/schema") {
                    Some(schema) => BodyKind::Json(resolve_all(schema, &components, 0)),
                    None => BodyKind::None,
                },
                None => BodyKind::None,
            };
            let json_answer = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .any(|(status, r)| status.starts_with('2') && r.pointer("/content/application~1json").is_some());
            out.push(Operation { method, path: path.clone(), query, body, json_answer });
        }
    }
    out
}

/// The fields of an Open311 `POST requests` (GeoReport v2), besides `attribute[...]`.
const OPEN311_FIELDS: [&str; 13] = [
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

/// The query parameters of Open311's `GET`s.
const OPEN311_QUERY: [&str; 8] =
    ["jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size"];

/// What the OpenAPI document leaves out, from the server's own route list: Open311 (GeoReport v2, its
/// `GET`s and the form-encoded `POST requests`) and every form post of the HTML pages (their fields read
/// off the pages by [`discover`]).
pub fn form_operations() -> Vec<Operation> {
    use mashangban_web::routes::{Body, Surface};
    let settings = mashangban_web::WebConfig::default();
    let mut out = Vec::new();
    for route in mashangban_web::routes::all::<mashangban_backend::Backend>(&settings) {
        let Some(method) = route.method().and_then(|m| reqwest::Method::from_bytes(m.as_str().as_bytes()).ok()) else {
            continue;
        };
        let post = method == reqwest::Method::POST;
        let (body, query) = match (route.surface(), route.doc.body) {
            (Surface::Open311, _) if post => {
                (BodyKind::Form(OPEN311_FIELDS.iter().map(|f| (*f).to_owned()).collect()), Vec::new())
            }
            (Surface::Open311, _) => (BodyKind::None, OPEN311_QUERY.iter().map(|q| (*q).to_owned()).collect()),
            (Surface::Page, Body::Multipart) if post => (BodyKind::Multipart, Vec::new()),
            (Surface::Page, _) if post => (BodyKind::Form(Vec::new()), Vec::new()),
            _ => continue,
        };
        out.push(Operation { method, path: route.path.to_owned(), query, body, json_answer: false });
    }
    out
}

/// The pages whose forms are read before the run: every `GET` of an HTML page.
fn page_paths() -> Vec<String> {
    let settings = mashangban_web::WebConfig::default();
    mashangban_web::routes::all::<mashangban_backend::Backend>(&settings)
        .into_iter()
        .filter(|r| {
            r.surface() == mashangban_web::routes::Surface::Page && r.method().is_some_and(|m| m.as_str() == "GET")
        })
        .map(|r| r.path.to_owned())
        .collect()
}

/// The schema with its `$ref`s to the components replaced by what they name (to a depth).
fn resolve_all(schema: &Value, components: &Value, depth: usize) -> Value {
    if depth > 12 {
        return json!({});
    }
    match schema {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
                let target = components.get(name).cloned().unwrap_or(json!({}));
                return resolve_all(&target, components, depth + 1);
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve_all(v, components, depth + 1))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve_all(v, components, depth + 1)).collect()),
        other => other.clone(),
    }
}

/// Values seen in list answers, by the last literal segment of the list's path, then by field.
#[derive(Debug, Default)]
struct Pools {
    by_segment: HashMap<String, HashMap<&'static str, Vec<String>>>,
    /// The fields of the pages' post forms, by the form's action path.
    forms: BTreeMap<String, Vec<String>>,
    /// An Open311 `api_key` that may take in requests (a dispatcher's API token).
    api_key: String,
}

/// The fields whose values fill placeholders.
const HARVESTED: [&str; 7] = ["tracking_no", "no", "id", "code", "key", "type", "username"];

impl Pools {
    fn harvest(&mut self, segment: &str, answer: &Value, depth: usize) {
        if depth > 4 {
            return;
        }
        match answer {
            Value::Object(map) => {
                for field in HARVESTED {
                    let value = match map.get(field) {
                        Some(Value::String(s)) if !s.is_empty() && s.len() < 100 => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => continue,
                    };
                    let list = self.by_segment.entry(segment.to_owned()).or_default().entry(field).or_default();
                    if list.len() < 16 && !list.contains(&value) {
                        list.push(value);
                    }
                }
                for child in map.values() {
                    self.harvest(segment, child, depth + 1);
                }
            }
            Value::Array(items) => items.iter().take(50).for_each(|v| self.harvest(segment, v, depth + 1)),
            _ => {}
        }
    }

    /// Reads the post forms of a page at `page` (their action, else the page itself, and field names).
    fn harvest_forms(&mut self, page: &str, html: &str) {
        let mut rest = html;
        while let Some(start) = rest.find("<form") {
            rest = &rest[start..];
            let end = rest.find("</form>").unwrap_or(rest.len());
            let form = &rest[..end];
            let tag = &form[..form.find('>').unwrap_or(form.len())];
            if tag.to_ascii_lowercase().contains("method=\"post\"") {
                let action = tag
                    .split("action=\"")
                    .nth(1)
                    .and_then(|a| a.split('"').next())
                    .filter(|a| a.starts_with('/'))
                    .unwrap_or(page);
                let action = action.split('?').next().unwrap_or(action).to_owned();
                let mut fields: Vec<String> = Vec::new();
                for piece in form.split(" name=\"").skip(1) {
                    let name = piece.split('"').next().unwrap_or("").replace("&#x5b;", "[").replace("&#x5d;", "]");
                    if !name.is_empty() && name.len() < 60 && !fields.contains(&name) {
                        fields.push(name);
                    }
                }
                self.forms.entry(action).or_insert(fields);
            }
            rest = &rest[end.max(5)..];
        }
    }

    /// The fields of the form posted to the route `pattern` (placeholders match any segment).
    fn form_fields(&self, pattern: &str) -> Vec<String> {
        let fits = |action: &str| {
            let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), action.split('/').collect());
            p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| p == a || (p.starts_with('{') && !a.is_empty()))
        };
        self.forms.iter().find(|(action, _)| fits(action)).map(|(_, f)| f.clone()).unwrap_or_default()
    }

    /// Candidates for `placeholder` after the literal segment `previous`.
    fn candidates(&self, previous: &str, placeholder: &str) -> Vec<String> {
        let fields: &[&str] = match placeholder {
            "no" => &["tracking_no", "no"],
            "id" | "user_id" => &["id"],
            "code" | "indicator" => &["code"],
            "key" => &["key", "code", "id"],
            "type" => &["type", "code", "key"],
            _ => &[],
        };
        let mut out = Vec::new();
        if let Some(found) = self.by_segment.get(previous) {
            for field in fields {
                out.extend(found.get(field).into_iter().flatten().cloned());
            }
        }
        if placeholder == "no" && out.is_empty() {
            out.extend(
                self.by_segment.get("requests").and_then(|f| f.get("tracking_no")).into_iter().flatten().cloned(),
            );
        }
        out
    }
}

/// Plausible values of placeholders no list names (as the scope test fills them).
fn default_value(previous: &str, placeholder: &str) -> &'static str {
    match placeholder {
        "username" => TARGET_ACCOUNT,
        "action" => ["sign", "accept", "dispatch", "reply", "urge", "note", "close"][previous.len() % 7],
        "act" => "accept",
        "step" => "1",
        "deed" => "start",
        "year" => "2026",
        "period" => "2026-01",
        "indicator" => "gdp",
        "town" => "guzhen",
        "channel" => "sms",
        "type" => "enterprise-needs",
        "key" if previous == "templates" => "asker.accepted",
        "code" => match previous {
            "units" | "org" | "centres" | "command" => "scjgj",
            "categories" => "biz.change",
            _ => "nosuch",
        },
        _ => "1",
    }
}

/// Path segments that are not what a route expects.
const BAD_SEGMENTS: [&str; 14] = [
    "%00",
    "%FF%FE",
    "abc%00def",
    "%E4%B8",
    "-1",
    "0",
    "99999999999999999999999999",
    "9223372036854775808",
    "%EF%BC%91%EF%BC%92%EF%BC%93",
    "..%2F..%2Fetc%2Fpasswd",
    "%0A%0D",
    "%20",
    "%27%22%3C%3E",
    "%C0%AE",
];

/// Query values that look like what the parameters take.
const QUERY_VALUES: [&str; 12] =
    ["1", "2", "50", "2026-01-01", "2026-12-31", "scjgj", "guzhen", "true", "路灯", "complaint", "open", ""];

/// Strings put into JSON bodies.
const STRINGS: [&str; 10] =
    ["测试", "路灯不亮", "scjgj", "guzhen", "13800138000", "a@example.com", "2026-01-01", "1", "x", "岐江路水浸"];

/// A value that looks valid by `schema`.
fn generate(schema: &Value, rng: &mut StdRng, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    let Some(map) = schema.as_object() else { return json!("测试") };
    if let Some(c) = map.get("const") {
        return c.clone();
    }
    if let Some(values) = map.get("enum").and_then(Value::as_array).filter(|v| !v.is_empty()) {
        return values[rng.gen_range(0..values.len())].clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = map.get(key).and_then(Value::as_array).filter(|v| !v.is_empty()) {
            let non_null: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
            let pick = if non_null.is_empty() { &options[0] } else { non_null[rng.gen_range(0..non_null.len())] };
            return generate(pick, rng, depth + 1);
        }
    }
    if let Some(all) = map.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = generate(part, rng, depth + 1) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    let ty = match map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if map.contains_key("properties") => "object",
        _ => "string",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> =
                map.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    if required.contains(&name.as_str()) || rng.gen_bool(0.6) {
                        out.insert(name.clone(), generate(prop, rng, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let items = map.get("items").cloned().unwrap_or(json!({}));
            let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let n = rng.gen_range(min.min(3)..=3);
            Value::Array((0..n).map(|_| generate(&items, rng, depth + 1)).collect())
        }
        "integer" => {
            let min = map.get("minimum").and_then(Value::as_i64).unwrap_or(0);
            let max = map.get("maximum").and_then(Value::as_i64).unwrap_or(min.saturating_add(100)).max(min);
            json!(rng.gen_range(min..=max))
        }
        "number" => json!(rng.gen_range(0.0..100.0_f64)),
        "boolean" => json!(rng.gen_bool(0.5)),
        "null" => Value::Null,
        _ => {
            let format = map.get("format").and_then(Value::as_str).unwrap_or("");
            let s = match format {
                "date" => "2026-03-15".to_owned(),
                "date-time" => "2026-03-15T09:30:00+08:00".to_owned(),
                "email" => "a@example.com".to_owned(),
                _ => STRINGS[rng.gen_range(0..STRINGS.len())].to_owned(),
            };
            let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let s = if s.chars().count() < min { s.repeat(min / s.chars().count().max(1) + 1) } else { s };
            json!(s)
        }
    }
}

/// The places in a value (JSON pointers) of objects and of leaves.
fn places(value: &Value, at: String, objects: &mut Vec<String>, leaves: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            objects.push(at.clone());
            for (k, v) in map {
                places(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), objects, leaves);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                places(v, format!("{at}/{i}"), objects, leaves);
            }
        }
        _ => leaves.push(at),
    }
}

/// The text standing for a number no JSON value here holds (replaced after serialising).
const HUGE: &str = "\u{1}HUGE\u{1}";
const HUGE_NUMBERS: [&str; 5] =
    ["123456789012345678901234567890", "-9223372036854775809", "1e400", "18446744073709551616", "-1e-400"];

/// The body of a JSON operation under `mutation`, as bytes.
fn json_body(schema: &Value, mutation: Mutation, rng: &mut StdRng) -> Vec<u8> {
    let mut value = generate(schema, rng, 0);
    let (mut objects, mut leaves) = (Vec::new(), Vec::new());
    places(&value, String::new(), &mut objects, &mut leaves);
    let pick = |list: &[String], rng: &mut StdRng| list.choose(rng).cloned();
    match mutation {
        Mutation::WrongType => match pick(&leaves, rng) {
            Some(at) => {
                if let Some(v) = value.pointer_mut(&at) {
                    *v = match v {
                        Value::String(_) => [json!(1), json!(true), json!([]), json!({})][rng.gen_range(0..4)].clone(),
                        Value::Number(_) => json!("１２"),
                        Value::Bool(_) => json!("true"),
                        _ => json!({"a": 1}),
                    };
                }
            }
            None => value = [json!([]), json!("x"), json!(1), Value::Null][rng.gen_range(0..4)].clone(),
        },
        Mutation::MissingField => {
            if let Some(at) = pick(&leaves, rng)
                && let Some((parent, key)) = at.rsplit_once('/')
                && let Some(Value::Object(map)) = value.pointer_mut(parent)
            {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
        }
        Mutation::ExtraField => {
            let at = pick(&objects, rng).unwrap_or_default();
            if let Some(Value::Object(map)) = value.pointer_mut(&at) {
                map.insert("fuzz_extra_field".into(), json!("多余"));
            }
        }
        Mutation::HugeString => {
            let at = pick(&leaves, rng).unwrap_or_default();
            if let Some(v) = value.pointer_mut(&at) {
                *v = json!(["字", "a", "１", "😀"][rng.gen_range(0..4)].repeat(rng.gen_range(10_000..120_000)));
            }
        }
        Mutation::EmptyStrings => {
            for at in &leaves {
                if let Some(v) = value.pointer_mut(at).filter(|v| v.is_string() || rng.gen_bool(0.3)) {
                    *v = json!(if rng.gen_bool(0.5) { "" } else { "   " });
                }
            }
        }
        Mutation::ControlCharacters => {
            const CONTROLS: [&str; 7] = ["\u{0}", "\u{1b}[31m", "\u{7f}", "\r\n", "\u{8}", "\u{202e}", "\u{feff}"];
            let at = pick(&leaves, rng).unwrap_or_default();
            if let Some(v) = value.pointer_mut(&at) {
                let c = CONTROLS[rng.gen_range(0..CONTROLS.len())];
                *v = json!(format!("{}{c}{}", v.as_str().unwrap_or("测试"), "尾"));
            }
        }
        Mutation::FullWidthDigits => {
            for at in &leaves {
                if let Some(v) = value.pointer_mut(at) {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => continue,
                    };
                    let wide: String = text
                        .chars()
                        .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
                        .collect();
                    *v = json!(if wide == text { "１３８００１３８０００".to_owned() } else { wide });
                }
            }
        }
        Mutation::HugeNumber => {
            let at = pick(&leaves, rng).unwrap_or_default();
            if let Some(v) = value.pointer_mut(&at) {
                *v = json!(HUGE);
            }
        }
        _ => {}
    }
    let mut text = value.to_string();
    if text.contains("\\u0001HUGE\\u0001") {
        let n = HUGE_NUMBERS[rng.gen_range(0..HUGE_NUMBERS.len())];
        text = text.replace("\"\\u0001HUGE\\u0001\"", n);
    }
    let mut bytes = text.into_bytes();
    if mutation == Mutation::TruncatedJson && !bytes.is_empty() {
        bytes.truncate(rng.gen_range(0..bytes.len()));
        if rng.gen_bool(0.3) {
            bytes.extend_from_slice(b"\xff\xfe");
        }
    }
    bytes
}

/// A multipart body with one file (or cut short), and its content type.
fn multipart_body(mutation: Mutation, rng: &mut StdRng) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "fuzzBoundary7MA4YWxkTrZu0gW";
    let (name, content): (&str, Vec<u8>) = match rng.gen_range(0..4) {
        0 => ("data.csv", "名称,编号\n测试,1\n".as_bytes().to_vec()),
        1 => ("data.xlsx", b"PK\x03\x04\x14\x00\x00\x00broken".to_vec()),
        2 => ("note.pdf", b"%PDF-1.4\n%fuzz\n".to_vec()),
        _ => ("x.bin", (0..rng.gen_range(0..512)).map(|_| rng.r#gen::<u8>()).collect()),
    };
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    if mutation == Mutation::TruncatedMultipart {
        body.truncate(rng.gen_range(0..body.len()));
        let content_type = match rng.gen_range(0..3) {
            0 => "multipart/form-data".to_owned(),
            1 => "multipart/form-data; boundary=".to_owned(),
            _ => content_type,
        };
        return (content_type, body);
    }
    (content_type, body)
}

/// A plausible value of the form field `name`.
fn form_value(name: &str, pools: &Pools, rng: &mut StdRng) -> String {
    let n = name.to_ascii_lowercase();
    let pick = |list: &[&str], rng: &mut StdRng| list[rng.gen_range(0..list.len())].to_owned();
    if n == "api_key" {
        return pools.api_key.clone();
    }
    // A sign-in as a demo account with its password, or a new account's name; the password of a form
    // that sets one (an account's initial or reset password) is the demo password, so no caller is locked out.
    if n == "password" {
        return PASSWORD.to_owned();
    }
    if n == "username" {
        return match rng.gen_range(0..3) {
            0 => format!("fuzz-{}", rng.gen_range(0..1_000_000)),
            _ => pick(&CALLERS, rng),
        };
    }
    if n == "jurisdiction_id" {
        return pick(&["zhongshan", ""], rng);
    }
    if n == "service_code" || n.contains("category") {
        let codes = pools.candidates("categories", "code");
        return codes.choose(rng).cloned().unwrap_or_else(|| "biz.change".to_owned());
    }
    match () {
        _ if n == "lat" => "22.5176".to_owned(),
        _ if n == "long" || n == "lng" => "113.3926".to_owned(),
        _ if n.contains("date") || n.ends_with("_on") || n == "day" => "2026-03-15".to_owned(),
        _ if n.contains("time") || n.ends_with("_at") => "2026-03-15T09:30".to_owned(),
        _ if n.contains("phone") || n.contains("mobile") => "13800138000".to_owned(),
        _ if n.contains("email") => "a@example.com".to_owned(),
        _ if n.contains("year") => "2026".to_owned(),
        _ if n.contains("period") || n.contains("month") => "2026-01".to_owned(),
        _ if ["amount", "count", "hours", "score", "value", "number", "limit", "days", "rating"]
            .iter()
            .any(|k| n.contains(k)) =>
        {
            rng.gen_range(1..100).to_string()
        }
        _ if n.contains("unit") || n.contains("town") || n == "address_id" => pick(&["scjgj", "guzhen"], rng),
        _ if n.contains("role") => pick(&["handler", "dispatcher", "resident"], rng),
        _ if n == "url" || n.ends_with("_url") => "https://example.com/a.jpg".to_owned(),
        _ => STRINGS[rng.gen_range(0..STRINGS.len())].to_owned(),
    }
}

/// An `application/x-www-form-urlencoded` body of `fields` under `mutation`, and its content type.
fn form_body(fields: &[String], mutation: Mutation, pools: &Pools, rng: &mut StdRng) -> (String, Vec<u8>) {
    let mut pairs: Vec<(String, String)> = fields.iter().map(|f| (f.clone(), form_value(f, pools, rng))).collect();
    if pairs.is_empty() {
        pairs.push(("note".into(), STRINGS[rng.gen_range(0..STRINGS.len())].to_owned()));
    }
    let at = rng.gen_range(0..pairs.len());
    match mutation {
        Mutation::WrongType => {
            pairs[at].1 = ["[object Object]", "１２", "true", "-1", "NaN", "{}"][rng.gen_range(0..6)].to_owned()
        }
        Mutation::MissingField => {
            pairs.remove(at);
        }
        Mutation::ExtraField => pairs.push(("fuzz_extra_field".into(), "多余".into())),
        Mutation::HugeString => {
            pairs[at].1 = ["字", "a", "１", "😀"][rng.gen_range(0..4)].repeat(rng.gen_range(10_000..120_000))
        }
        Mutation::EmptyStrings => {
            for pair in &mut pairs {
                pair.1 = if rng.gen_bool(0.5) { String::new() } else { "   ".to_owned() };
            }
        }
        Mutation::ControlCharacters => {
            const CONTROLS: [&str; 6] = ["\u{0}", "\u{1b}[31m", "\u{7f}", "\u{8}", "\u{202e}", "\u{feff}"];
            pairs[at].1 = format!("{}{}尾", pairs[at].1, CONTROLS[rng.gen_range(0..CONTROLS.len())]);
        }
        Mutation::FullWidthDigits => {
            for pair in &mut pairs {
                pair.1 = pair
                    .1
                    .chars()
                    .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
                    .collect();
            }
        }
        Mutation::HugeNumber => pairs[at].1 = HUGE_NUMBERS[rng.gen_range(0..HUGE_NUMBERS.len())].to_owned(),
        Mutation::DuplicateQuery => {
            let again = (pairs[at].0.clone(), "重复".to_owned());
            pairs.push(again);
        }
        _ => {}
    }
    let mut text = pairs.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&");
    if mutation == Mutation::InvalidUtf8Query {
        let name = fields.choose(rng).map_or("note", String::as_str);
        text.push_str(&format!(
            "&{}={}",
            percent(name),
            ["%FF%FE", "%C3%28", "a%E4%B8", "%ED%A0%80"][rng.gen_range(0..4)]
        ));
    }
    let mut bytes = text.into_bytes();
    if mutation == Mutation::TruncatedJson && !bytes.is_empty() {
        bytes.truncate(rng.gen_range(0..bytes.len()));
    }
    let content_type = if mutation == Mutation::WrongContentType {
        [
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=gbk",
        ][rng.gen_range(0..4)]
    } else {
        "application/x-www-form-urlencoded"
    };
    (content_type.to_owned(), bytes)
}

/// The `{file}` of an Open311 path: a resource or record with its format.
fn open311_file(previous: &str, pools: &Pools, rng: &mut StdRng) -> String {
    let stem = match previous {
        "requests" => pools.candidates("requests", "no").choose(rng).cloned().unwrap_or_else(|| "12345".to_owned()),
        "tokens" => rng.gen_range(1..100_000).to_string(),
        "services" | "service" => {
            pools.candidates("categories", "code").choose(rng).cloned().unwrap_or_else(|| "biz.change".to_owned())
        }
        _ => ["services", "requests", "discovery"][rng.gen_range(0..3)].to_owned(),
    };
    format!("{}.{}", percent(&stem), ["json", "xml"][rng.gen_range(0..2)])
}

/// One request, made from the seed and its number.
#[derive(Debug)]
struct Planned {
    op: usize,
    caller: usize,
    mutation: Mutation,
    method: reqwest::Method,
    path_and_query: String,
    content_type: Option<String>,
    body: Vec<u8>,
    /// Headers besides the session cookie and the content type.
    headers: Vec<(&'static str, &'static str)>,
}

impl Planned {
    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
        let more = if self.body.len() > 300 { format!(" … ({} bytes)", self.body.len()) } else { String::new() };
        format!(
            "{} {} [{}] {}{more}",
            self.method,
            self.path_and_query,
            self.content_type.as_deref().unwrap_or("no body"),
            body.escape_debug()
        )
    }
}

fn plan(n: u64, seed: u64, ops: &[Operation], callers: usize, pools: &Pools) -> Planned {
    let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let op_index = (n % ops.len() as u64) as usize;
    let op = &ops[op_index];
    // Signing out is sent anonymously: a caller's session ended by it could not always be signed in
    // again (the sign-in throttle counts the fuzzed sign-ins from this address).
    let caller = if op.path.ends_with("/logout") { 0 } else { ((n / ops.len() as u64) % callers as u64) as usize };
    let total: u32 = MUTATIONS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    let mut mutation = Mutation::Valid;
    for (m, w) in MUTATIONS {
        if roll < w {
            mutation = m;
            break;
        }
        roll -= w;
    }
    // The path, placeholders filled; one bad with `BadPathParameter`.
    let segments: Vec<&str> = op.path.split('/').skip(1).collect();
    let placeholders = segments.iter().filter(|s| s.starts_with('{')).count();
    let bad = (mutation == Mutation::BadPathParameter && placeholders > 0).then(|| rng.gen_range(0..placeholders));
    let mut path = String::new();
    let (mut previous, mut index) = ("", 0);
    for segment in &segments {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                if bad == Some(index) {
                    path.push_str(BAD_SEGMENTS[rng.gen_range(0..BAD_SEGMENTS.len())]);
                } else if name == "*path" {
                    path.push_str("css/app.css");
                } else if name == "file" {
                    path.push_str(&open311_file(previous, pools, &mut rng));
                } else {
                    let found = if name == "username" { Vec::new() } else { pools.candidates(previous, name) };
                    match found.choose(&mut rng) {
                        Some(v) => path.push_str(&percent(v)),
                        None => path.push_str(default_value(previous, name)),
                    }
                }
                index += 1;
            }
            None => {
                path.push_str(segment);
                previous = segment;
            }
        }
    }
    let mutation =
        if mutation == Mutation::BadPathParameter && placeholders == 0 { Mutation::InvalidUtf8Query } else { mutation };
    // The query.
    let mut query: Vec<String> = Vec::new();
    for name in &op.query {
        if rng.gen_bool(0.4) {
            query.push(format!("{name}={}", percent(QUERY_VALUES[rng.gen_range(0..QUERY_VALUES.len())])));
        }
    }
    let name = op.query.choose(&mut rng).map_or("q", String::as_str);
    match mutation {
        Mutation::InvalidUtf8Query => {
            query.push(format!("{name}={}", ["%FF%FE", "%C3%28", "a%E4%B8", "%ED%A0%80"][rng.gen_range(0..4)]))
        }
        Mutation::DuplicateQuery => {
            query.push(format!("{name}=1"));
            query.push(format!("{name}=2"));
        }
        Mutation::ControlCharacters => query.push(format!("{name}=a%00b%1B%7F")),
        Mutation::FullWidthDigits => query.push(format!("{name}={}", percent("２０２６-０１-０１"))),
        Mutation::HugeString => query.push(format!("{name}={}", "a".repeat(rng.gen_range(2_000..30_000)))),
        Mutation::HugeNumber => query.push(format!("{name}=99999999999999999999999999")),
        Mutation::EmptyStrings => query.push(format!("{name}=")),
        _ => {}
    }
    let path_and_query = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    // The body.
    let (content_type, body) = match (&op.body, mutation) {
        (_, Mutation::TruncatedMultipart) => {
            let (t, b) = multipart_body(mutation, &mut rng);
            (Some(t), b)
        }
        (BodyKind::Multipart, _) => {
            let (t, b) = multipart_body(mutation, &mut rng);
            (Some(t), b)
        }
        (BodyKind::Form(fields), _) => {
            let fields = if fields.is_empty() { pools.form_fields(&op.path) } else { fields.clone() };
            let (t, b) = form_body(&fields, mutation, pools, &mut rng);
            (Some(t), b)
        }
        (BodyKind::Json(schema), _) => {
            let bytes = json_body(schema, mutation, &mut rng);
            let t = if mutation == Mutation::WrongContentType {
                ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; charset=gbk"]
                    [rng.gen_range(0..4)]
            } else {
                "application/json"
            };
            (Some(t.to_owned()), bytes)
        }
        (BodyKind::None, Mutation::WrongContentType | Mutation::TruncatedJson) if op.method != reqwest::Method::GET => {
            (Some("application/json".to_owned()), b"{\"a\":".to_vec())
        }
        (BodyKind::None, _) => (None, Vec::new()),
    };
    let method = if mutation == Mutation::WrongMethod {
        [reqwest::Method::PATCH, reqwest::Method::DELETE, reqwest::Method::PUT, reqwest::Method::POST]
            .into_iter()
            .find(|m| *m != op.method)
            .unwrap_or(reqwest::Method::PATCH)
    } else {
        op.method.clone()
    };
    let headers = if mutation == Mutation::CrossSite {
        vec![("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")]
    } else {
        Vec::new()
    };
    Planned { op: op_index, caller, mutation, method, path_and_query, content_type, body, headers }
}

/// Percent-encodes what a path segment or query value cannot hold as is.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What is wrong with an answer, if anything: a 5xx, or a body on `/api/` that is not the JSON it must be.
pub fn judge(path: &str, status: u16, content_type: &str, body: &[u8], json_answer: bool) -> Option<String> {
    let shown = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if status >= 500 {
        return Some(format!("{status}: {}", shown()));
    }
    if !path.starts_with("/api/") || status < 200 || (300..400).contains(&status) || status == 204 {
        return None;
    }
    let is_json = content_type.starts_with("application/json");
    if status >= 400 {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let ok = is_json
            && parsed
                .as_ref()
                .is_some_and(|v| v["code"].is_string() && v["message"].as_str().is_some_and(|m| !m.is_empty()));
        return (!ok).then(|| format!("{status} [{content_type}] is not {{code, message}}: {}", shown()));
    }
    if is_json && serde_json::from_slice::<Value>(body).is_err() {
        return Some(format!("{status} [{content_type}] is not JSON: {}", shown()));
    }
    if json_answer && !is_json {
        return Some(format!("{status} [{content_type}] where JSON is declared: {}", shown()));
    }
    None
}

/// How an answer counts besides its status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The request went through: a 2xx, or a page's form post answered 303 See Other other than to sign in.
    Accepted,
    /// A page's form post sent to the sign-in page (no session, or it ended).
    ToSignIn,
    /// Refused (4xx), a server error (5xx) or another answer.
    Other,
}

/// How an answer to a request on `surface` counts: a page answers a form post that went through with a
/// 303 to where the work goes on (a list, the record, `?ok=…`), the API and Open311 with a 2xx.
pub fn outcome(surface: &str, method: &reqwest::Method, status: u16, location: &str) -> Outcome {
    let to_sign_in = location.split('#').next() == Some("/login");
    match status {
        200..=299 => Outcome::Accepted,
        303 if surface == "page" && *method == reqwest::Method::POST && to_sign_in => Outcome::ToSignIn,
        303 if surface == "page" && *method == reqwest::Method::POST && !location.is_empty() => Outcome::Accepted,
        _ => Outcome::Other,
    }
}

/// The shared state of the senders.
struct Run {
    ops: Vec<Operation>,
    pools: Pools,
    /// Index 0 is anonymous.
    names: Vec<String>,
    cookies: Vec<Mutex<Option<String>>>,
    base: String,
    seed: u64,
    total: u64,
    next: AtomicU64,
    by_class: [AtomicU64; 5],
    by_mutation: Mutex<BTreeMap<Mutation, u64>>,
    by_surface: Mutex<BTreeMap<String, [u64; 5]>>,
    accepted: Mutex<BTreeMap<String, u64>>,
    /// Whether each operation was accepted at least once.
    ops_accepted: Vec<AtomicBool>,
    to_sign_in: AtomicU64,
    sign_ins: AtomicU64,
    resent: AtomicU64,
    failure_count: AtomicU64,
    failures: Mutex<Vec<Failure>>,
    server_pid: String,
    dead: AtomicBool,
    /// The server's RSS is read every this many requests.
    sample_every: u64,
    rss_samples: Mutex<Vec<(u64, u64)>>,
}

impl Run {
    fn fail(&self, planned: &Planned, problem: String) {
        let n = self.failure_count.fetch_add(1, Ordering::Relaxed);
        let op = &self.ops[planned.op];
        eprintln!(
            "FAIL {} {} as {}: {problem}\n  {}",
            op.method,
            op.path,
            self.names[planned.caller],
            planned.describe()
        );
        if let Ok(mut kept) = self.failures.lock()
            && kept.len() < KEPT_FAILURES
        {
            kept.push(Failure {
                operation: format!("{} {}", op.method, op.path),
                caller: self.names[planned.caller].clone(),
                mutation: planned.mutation,
                request: planned.describe(),
                problem,
            });
        }
        if n + 1 >= MAX_FAILURES {
            self.dead.store(true, Ordering::Relaxed);
        }
    }

    fn cookie(&self, caller: usize) -> Option<String> {
        self.cookies.get(caller).and_then(|c| c.lock().ok().and_then(|c| c.clone()))
    }
}

async fn fuzz(opts: &FuzzOptions, server: &Server, backend: &str, api_key: String) -> BenchResult<FuzzReport> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_TIMEOUT)
        .pool_max_idle_per_host(opts.clients * 2)
        .build()
        .ctx("HTTP client")?;
    let base = format!("http://{}", server.addr);
    let document: Value = client
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .ctx("the OpenAPI document")?
        .json()
        .await
        .ctx("the OpenAPI document")?;
    let mut ops = operations(&document);
    if ops.is_empty() {
        return Err("the OpenAPI document has no operations".into());
    }
    ops.extend(form_operations());
    let mut names = vec!["anonymous".to_owned()];
    let mut cookies = vec![Mutex::new(None)];
    for name in CALLERS {
        let cookie = crate::scenarios::login(&client, server.addr, name, PASSWORD).await?;
        names.push(name.to_owned());
        cookies.push(Mutex::new(Some(cookie)));
    }
    let admin = names.iter().position(|n| n == "admin").and_then(|i| cookies[i].lock().ok()?.clone());
    let mut pools = discover(&client, &base, &ops, admin).await;
    pools.api_key = api_key;
    let rss_start = rss_of(&server.pid());
    eprintln!(
        "mashangban-bench fuzz: {} operations × {} callers, {} requests, {} clients, seed {}",
        ops.len(),
        names.len(),
        crate::report::thousands(opts.requests),
        opts.clients,
        opts.seed
    );
    let ops_accepted = ops.iter().map(|_| AtomicBool::new(false)).collect();
    let run = Arc::new(Run {
        ops,
        pools,
        names,
        cookies,
        base,
        seed: opts.seed,
        total: opts.requests,
        next: AtomicU64::new(0),
        by_class: Default::default(),
        by_mutation: Mutex::new(BTreeMap::new()),
        by_surface: Mutex::new(BTreeMap::new()),
        accepted: Mutex::new(BTreeMap::new()),
        ops_accepted,
        to_sign_in: AtomicU64::new(0),
        sign_ins: AtomicU64::new(0),
        resent: AtomicU64::new(0),
        failure_count: AtomicU64::new(0),
        failures: Mutex::new(Vec::new()),
        server_pid: server.pid(),
        dead: AtomicBool::new(false),
        sample_every: (opts.requests / RSS_SAMPLES).max(1),
        rss_samples: Mutex::new(Vec::new()),
    });
    // Connections of their own for requests sent again (none kept alive).
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .ctx("HTTP client")?;
    let started = Clock::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..opts.clients.max(1) {
        let (run, client, fresh) = (Arc::clone(&run), client.clone(), fresh.clone());
        tasks.spawn(async move { sender(&run, &client, &fresh).await });
    }
    while tasks.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let sent = run.next.load(Ordering::Relaxed).min(run.total);
    let by_class = std::array::from_fn(|i| run.by_class[i].load(Ordering::Relaxed));
    let mut samples = run.rss_samples.lock().map(|s| s.clone()).unwrap_or_default();
    samples.push((sent, rss_of(&run.server_pid)));
    samples.sort_unstable();
    let memory = Memory::of(rss_start, samples);
    let answered: u64 = run.by_class.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    Ok(FuzzReport {
        backend: backend.to_owned(),
        seed: opts.seed,
        requests: sent,
        seconds,
        per_second: answered as f64 / seconds.max(1e-9),
        operations: run.ops.len(),
        operations_by_surface: run.ops.iter().fold(BTreeMap::new(), |mut by, op| {
            *by.entry(surface(&op.path).to_owned()).or_default() += 1;
            by
        }),
        by_surface: run.by_surface.lock().map(|m| m.clone()).unwrap_or_default(),
        accepted: run.accepted.lock().map(|m| m.clone()).unwrap_or_default(),
        page_forms_accepted: run
            .ops
            .iter()
            .zip(&run.ops_accepted)
            .filter(|(op, ok)| surface(&op.path) == "page" && ok.load(Ordering::Relaxed))
            .count(),
        to_sign_in: run.to_sign_in.load(Ordering::Relaxed),
        forms_found: run.pools.forms.len(),
        callers: run.names.clone(),
        by_class,
        by_mutation: run.by_mutation.lock().map(|m| m.clone()).unwrap_or_default(),
        sign_ins_again: run.sign_ins.load(Ordering::Relaxed),
        resent: run.resent.load(Ordering::Relaxed),
        failure_count: run.failure_count.load(Ordering::Relaxed),
        failures: run.failures.lock().map(|f| f.clone()).unwrap_or_default(),
        rss_end: 0,
        rss_peak: 0,
        memory,
        stored_control_characters: 0,
    })
}

/// Where a path is: `api`, `open311` or `page`.
fn surface(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/open311/") {
        "open311"
    } else {
        "page"
    }
}

/// The server's resident memory (VmRSS), bytes; 0 if it cannot be read.
fn rss_of(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples of the server's RSS over a run (about this many, at even request counts).
const RSS_SAMPLES: u64 = 50;
/// The share of a run counted as warm-up (caches filled, allocator arenas grown), percent.
const WARM_UP_PERCENT: u64 = 20;

/// The server's resident memory over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Memory {
    /// Before the first fuzzed request (after sign-ins and discovery), bytes.
    pub start: u64,
    /// At the end of warm-up ([`WARM_UP_PERCENT`] of the requests): (requests sent, bytes).
    pub warm: (u64, u64),
    /// At the end: (requests sent, bytes).
    pub end: (u64, u64),
    /// The most after warm-up, bytes.
    pub max_after_warm_up: u64,
    /// Growth after warm-up per 100,000 requests, bytes (least squares over the samples; negative: shrank).
    pub growth_per_100k: i64,
    /// (requests sent, VmRSS bytes).
    pub samples: Vec<(u64, u64)>,
}

impl Memory {
    fn of(start: u64, samples: Vec<(u64, u64)>) -> Self {
        let last = samples.last().copied().unwrap_or_default();
        let warm_from = last.0 * WARM_UP_PERCENT / 100;
        let after: Vec<(u64, u64)> = samples.iter().copied().filter(|(n, _)| *n >= warm_from).collect();
        let warm = after.first().copied().unwrap_or(last);
        let max_after_warm_up = after.iter().map(|(_, r)| *r).max().unwrap_or(0);
        let (count, xs, ys) =
            (after.len() as f64, after.iter().map(|(n, _)| *n as f64), after.iter().map(|(_, r)| *r as f64));
        let (mean_x, mean_y) = (xs.clone().sum::<f64>() / count.max(1.0), ys.clone().sum::<f64>() / count.max(1.0));
        let (mut covariance, mut variance) = (0.0, 0.0);
        for (x, y) in xs.zip(ys) {
            covariance += (x - mean_x) * (y - mean_y);
            variance += (x - mean_x) * (x - mean_x);
        }
        let slope = if variance > 0.0 { covariance / variance } else { 0.0 };
        Self { start, warm, end: last, max_after_warm_up, growth_per_100k: (slope * 100_000.0) as i64, samples }
    }
}

/// Reads every list it can (GET routes with no placeholders, then those the first round can fill) as
/// an administrator, keeping the ids, numbers and codes they name.
async fn discover(client: &reqwest::Client, base: &str, ops: &[Operation], admin: Option<String>) -> Pools {
    let mut pools = Pools::default();
    let gets: Vec<&Operation> = ops
        .iter()
        .filter(|o| o.method == reqwest::Method::GET && o.json_answer && !o.path.contains("export"))
        .collect();
    for round in 0..2 {
        for op in &gets {
            let placeholders = op.path.matches('{').count();
            if (round == 0) != (placeholders == 0) {
                continue;
            }
            let path = filled(&op.path, &pools);
            let last = op.path.split('/').rfind(|s| !s.starts_with('{')).unwrap_or("").to_owned();
            let mut request = client.get(format!("{base}{path}"));
            if let Some(cookie) = &admin {
                request = request.header("cookie", cookie.as_str());
            }
            let Ok(answer) = request.send().await else { continue };
            if answer.status().is_success()
                && let Ok(value) = answer.json::<Value>().await
            {
                pools.harvest(&last, &value, 0);
            }
        }
    }
    // The pages' post forms, as the administrator and as anyone (the public pages' forms).
    for page in page_paths() {
        let path = filled(&page, &pools);
        for cookie in [admin.as_deref(), None] {
            let mut request = client.get(format!("{base}{path}"));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let Ok(answer) = request.send().await else { continue };
            if answer.status().is_success()
                && let Ok(html) = answer.text().await
            {
                pools.harvest_forms(&path, &html);
            }
        }
    }
    pools
}

/// `pattern` with its placeholders filled from the first candidate, else a plausible value.
fn filled(pattern: &str, pools: &Pools) -> String {
    let mut path = String::new();
    let mut previous = "";
    for segment in pattern.split('/').skip(1) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match pools.candidates(previous, name).first() {
                Some(v) => path.push_str(&percent(v)),
                None => path.push_str(default_value(previous, name)),
            },
            None => {
                path.push_str(segment);
                previous = segment;
            }
        }
    }
    path
}

/// Whether the server process is there and not a zombie.
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| !r.trim_start().starts_with('Z')))
}

async fn sender(run: &Run, client: &reqwest::Client, fresh: &reqwest::Client) {
    let callers = run.names.len();
    loop {
        let n = run.next.fetch_add(1, Ordering::Relaxed);
        if n >= run.total || run.dead.load(Ordering::Relaxed) {
            return;
        }
        if n > 0 && n.is_multiple_of((run.total / 10).max(1)) {
            eprintln!("  {} sent, {} failures", crate::report::thousands(n), run.failure_count.load(Ordering::Relaxed));
        }
        if n.is_multiple_of(run.sample_every)
            && let Ok(mut samples) = run.rss_samples.lock()
        {
            samples.push((n, rss_of(&run.server_pid)));
        }
        let planned = plan(n, run.seed, &run.ops, callers, &run.pools);
        if let Ok(mut m) = run.by_mutation.lock() {
            *m.entry(planned.mutation).or_default() += 1;
        }
        let mut answer = send(run, client, &planned).await;
        if answer.is_err() && alive(&run.server_pid) {
            // The server may close a kept-alive connection after answering a request whose body it did
            // not read (a refusal before the body): the pool's next request on it breaks off. Sent again
            // on a connection of its own, it must be answered.
            run.resent.fetch_add(1, Ordering::Relaxed);
            answer = send(run, fresh, &planned).await;
        }
        let Answer { status, content_type, location, body } = match answer {
            Ok(a) => a,
            Err(problem) => {
                if !alive(&run.server_pid) {
                    run.fail(&planned, format!("the server died: {problem}"));
                    run.dead.store(true, Ordering::Relaxed);
                    return;
                }
                run.fail(&planned, problem);
                continue;
            }
        };
        let class = usize::from(status / 100).wrapping_sub(1);
        if let Some(count) = run.by_class.get(class) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let op = &run.ops[planned.op];
        let on = surface(&op.path);
        if let Ok(mut by) = run.by_surface.lock()
            && let Some(count) = by.entry(on.to_owned()).or_default().get_mut(class)
        {
            *count += 1;
        }
        match outcome(on, &planned.method, status, &location) {
            Outcome::Accepted => {
                if let Ok(mut by) = run.accepted.lock() {
                    *by.entry(on.to_owned()).or_default() += 1;
                }
                run.ops_accepted[planned.op].store(true, Ordering::Relaxed);
            }
            Outcome::ToSignIn => {
                run.to_sign_in.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Other => {}
        }
        let path = planned.path_and_query.split('?').next().unwrap_or("");
        if let Some(problem) = judge(path, status, &content_type, &body, op.json_answer) {
            run.fail(&planned, problem);
        }
        // A session some call ended (a password changed, a sign-out): sign in again.
        if status == 401 && planned.caller > 0 && body.windows(15).any(|w| w == b"unauthenticated") {
            let name = &run.names[planned.caller];
            let addr = run.base.trim_start_matches("http://").parse();
            if let Ok(addr) = addr
                && let Ok(cookie) = crate::scenarios::login(client, addr, name, PASSWORD).await
                && let Some(slot) = run.cookies.get(planned.caller)
                && let Ok(mut slot) = slot.lock()
            {
                *slot = Some(cookie);
                run.sign_ins.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An answer as the fuzzer reads it.
struct Answer {
    status: u16,
    /// Lower-cased.
    content_type: String,
    /// Where a redirect goes (empty if none).
    location: String,
    body: Vec<u8>,
}

/// Sends a planned request; the body is not read from a live stream.
async fn send(run: &Run, client: &reqwest::Client, planned: &Planned) -> Result<Answer, String> {
    let mut request = client.request(planned.method.clone(), format!("{}{}", run.base, planned.path_and_query));
    if let Some(cookie) = run.cookie(planned.caller) {
        request = request.header("cookie", cookie);
    }
    if let Some(t) = &planned.content_type {
        request = request.header("content-type", t.as_str()).body(planned.body.clone());
    }
    for (name, value) in &planned.headers {
        request = request.header(*name, *value);
    }
    let answer = request.send().await.map_err(|e| format!("no answer: {e:?}"))?;
    let status = answer.status().as_u16();
    let header = |name: &str| answer.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (content_type, location) = (header("content-type").to_ascii_lowercase(), header("location"));
    if content_type.starts_with("text/event-stream") {
        return Ok(Answer { status, content_type, location, body: Vec::new() });
    }
    let body = answer.bytes().await.map_err(|e| format!("the answer broke off: {e:?}"))?;
    Ok(Answer { status, content_type, location, body: body.to_vec() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn judge_refuses_5xx_and_non_json_errors_on_the_api() {
        let error = r#"{"code":"invalid_field","message":"字段无效"}"#.as_bytes();
        assert_eq!(judge("/api/v1/x", 422, "application/json", error, true), None);
        assert!(judge("/api/v1/x", 500, "application/json", error, true).is_some());
        assert!(judge("/login", 502, "text/html", b"", false).is_some());
        assert!(judge("/api/v1/x", 405, "", b"", true).is_some(), "an empty 405");
        assert!(judge("/api/v1/x", 400, "text/plain; charset=utf-8", b"Invalid URL", true).is_some());
        assert!(judge("/api/v1/x", 200, "application/json", b"{", true).is_some());
        assert!(judge("/api/v1/x", 200, "text/csv", b"a,b", true).is_some(), "JSON declared");
        assert_eq!(judge("/api/v1/x/export", 200, "text/csv", b"a,b", false), None);
        assert_eq!(judge("/requests", 400, "text/html", b"<p>", false), None, "pages answer HTML");
    }

    #[test]
    fn a_page_post_answered_303_is_accepted_unless_it_is_sent_to_sign_in() {
        let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);
        assert_eq!(outcome("page", &post, 303, "/admin/users?ok=user"), Outcome::Accepted);
        assert_eq!(outcome("page", &post, 303, "/login?changed=1"), Outcome::Accepted, "a password changed");
        assert_eq!(outcome("page", &post, 303, "/login"), Outcome::ToSignIn);
        assert_eq!(outcome("page", &post, 303, ""), Outcome::Other);
        assert_eq!(outcome("page", &post, 200, ""), Outcome::Accepted);
        for status in [400, 403, 409, 422, 500] {
            assert_eq!(outcome("page", &post, status, ""), Outcome::Other, "{status}");
            assert_eq!(outcome("api", &post, status, ""), Outcome::Other, "{status}");
        }
        assert_eq!(outcome("api", &post, 201, ""), Outcome::Accepted);
        assert_eq!(outcome("api", &post, 303, "/x"), Outcome::Other, "the API accepts with a 2xx");
        assert_eq!(outcome("page", &get, 303, "/x"), Outcome::Other, "only a post's 303");
        assert_eq!(outcome("open311", &post, 201, ""), Outcome::Accepted);
    }

    #[test]
    fn stored_control_characters_are_counted_in_every_text_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE a (x TEXT, y INTEGER); CREATE TABLE b (z TEXT);").unwrap();
        let url = format!("sqlite://{}", path.display());
        db.execute("INSERT INTO a VALUES ('路灯\t不亮\r\n', 1), ('x', 2)", []).unwrap();
        assert_eq!(stored_control_characters(&url).unwrap(), 0, "tab and line ends are text");
        db.execute("INSERT INTO a VALUES (?1, 3)", ["测试\u{1b}[31m尾"]).unwrap();
        db.execute("INSERT INTO b VALUES (?1)", ["a\u{0}b"]).unwrap();
        db.execute("INSERT INTO b VALUES (?1)", ["\u{7f}"]).unwrap();
        assert_eq!(stored_control_characters(&url).unwrap(), 3);
    }

    #[test]
    fn memory_growth_is_the_slope_after_warm_up() {
        let mib = 1024 * 1024;
        // Warm-up from 300 to 400 MiB, then 1 MiB more per 10,000 requests.
        let samples: Vec<(u64, u64)> =
            (0..=50).map(|i| (i * 10_000, if i < 10 { 300 + i * 10 } else { 400 + (i - 10) } * mib)).collect();
        let m = Memory::of(250 * mib, samples);
        assert_eq!(m.warm, (100_000, 400 * mib));
        assert_eq!(m.end, (500_000, 440 * mib));
        assert_eq!(m.max_after_warm_up, 440 * mib);
        assert!((m.growth_per_100k - 10 * mib as i64).abs() < 1024, "{}", m.growth_per_100k);
    }

    #[test]
    fn form_fields_are_read_off_the_pages_post_forms() {
        let mut pools = Pools::default();
        let html = r#"<form method="get" action="/work"><input name="q"></form>
            <form method="post" action="/approvals/7/transaction?x=1"><input name="kind"><textarea name="note"></textarea>
            <select name="unit"></select><input name="note"></form>
            <form class="x" method="post"><input type="hidden" name="deed"></form>"#;
        pools.harvest_forms("/visits", html);
        assert_eq!(pools.form_fields("/approvals/{id}/transaction"), ["kind", "note", "unit"]);
        assert_eq!(pools.form_fields("/visits"), ["deed"]);
        assert!(pools.form_fields("/work").is_empty(), "a GET form is not posted");
    }

    #[test]
    fn a_request_is_made_from_the_seed_and_its_number() {
        let document = json!({
            "paths": {"/api/v1/things/{id}": {"post": {
                "parameters": [{"name": "q", "in": "query"}],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}}},
                "responses": {"200": {"content": {"application/json": {}}}}
            }}},
            "components": {"schemas": {"T": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1}, "n": {"type": ["integer", "null"], "minimum": 1}
            }}}}
        });
        let ops = operations(&document);
        assert_eq!(ops.len(), 1);
        let pools = Pools::default();
        let a: Vec<String> = (0..200).map(|n| plan(n, 7, &ops, 3, &pools).describe()).collect();
        let b: Vec<String> = (0..200).map(|n| plan(n, 7, &ops, 3, &pools).describe()).collect();
        assert_eq!(a, b);
        let c: Vec<String> = (0..200).map(|n| plan(n, 8, &ops, 3, &pools).describe()).collect();
        assert_ne!(a, c, "another seed, other requests");
        let valid = (0..200).map(|n| plan(n, 7, &ops, 3, &pools)).find(|p| p.mutation == Mutation::Valid).unwrap();
        let body: Value = serde_json::from_slice(&valid.body).unwrap();
        assert!(body["name"].as_str().is_some_and(|s| !s.is_empty()), "{body}");
        let huge = (0..2000)
            .map(|n| plan(n, 7, &ops, 3, &pools))
            .find(|p| p.mutation == Mutation::HugeNumber && p.body.windows(5).any(|w| w == b"12345" || w == b"1e400"));
        assert!(huge.is_some(), "a number no JSON value holds");
    }
}
