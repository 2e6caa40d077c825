//! The work calendar: the public calculator and its administration.
//!
//! Anyone may count (`/add`, `/days`) and see the covered years; only
//! administrators change holiday years and working hours, and every change
//! is recorded and put in force at once.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use mashangban_domain::calendar::{HolidayYear, MAX_WORKING_DAYS, MAX_WORKING_HOURS, WorkingHours, codes};
use mashangban_domain::org::Role;
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_store::{
    CalendarAuthor, CalendarChange, CalendarSource, Meta, Signal, Store, working_hours_json, year_json,
};

use crate::auth::Auth;
use crate::calendar::{self, Amount, DayInfo};
use crate::error::{ApiError, ApiResult};
use crate::json::{JsonBody, payload_too_large};
use crate::state::AppState;

/// The largest import file accepted (TOML or .xlsx).
pub const IMPORT_LIMIT: usize = 2 * 1024 * 1024;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    let upload = Router::new()
        .route("/api/v1/calendar/import", post(import::<S>))
        .layer(DefaultBodyLimit::max(IMPORT_LIMIT + 64 * 1024));
    Router::new()
        .route("/api/v1/calendar/add", get(add::<S>))
        .route("/api/v1/calendar/days", get(days::<S>))
        .route("/api/v1/calendar/years", get(years::<S>))
        .route("/api/v1/calendar/years/{year}", get(year::<S>).put(put_year::<S>))
        .route("/api/v1/calendar/changes", get(changes::<S>))
        .route("/api/v1/calendar/working-hours", get(working_hours::<S>).put(put_working_hours::<S>))
        .merge(upload)
}

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

// ---- the calculator (public) -------------------------------------------------

#[derive(Serialize)]
pub struct DueAnswer {
    due: String,
}

/// `GET /api/v1/calendar/add?from=<instant>&workdays=<n>` (or `workhours=<n>`).
async fn add<S: Store>(State(state): State<AppState<S>>, query: QueryPairs) -> ApiResult<Json<DueAnswer>> {
    let q = params(query, &["from", "workdays", "workhours"])?;
    let from = instant_param(&q, "from")?;
    let amount = amount_param(&q)?;
    let due = calendar::due(&state.calendar(), from, amount)?;
    Ok(Json(DueAnswer { due: format_instant(&due) }))
}

/// `GET /api/v1/calendar/days?from=YYYY-MM-DD&to=YYYY-MM-DD`: every date, inclusive.
async fn days<S: Store>(State(state): State<AppState<S>>, query: QueryPairs) -> ApiResult<Json<Vec<DayInfo>>> {
    let q = params(query, &["from", "to"])?;
    let from = date_param(&q, "from")?;
    let to = date_param(&q, "to")?;
    Ok(Json(calendar::days(&state.calendar(), from, to)?))
}

/// The query's parameters by name: only `allowed` ones, each at most once,
/// blank values left out.
fn params(query: QueryPairs, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let Query(pairs) = query.map_err(|_| ApiError::bad_request("invalid_parameter", "查询参数格式错误"))?;
    let mut map = HashMap::new();
    for (key, value) in pairs {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::bad_request("unknown_parameter", format!("不认识的查询参数「{key}」")));
        }
        if value.trim().is_empty() {
            continue;
        }
        if map.insert(key.clone(), value.trim().to_owned()).is_some() {
            return Err(ApiError::bad_request("invalid_parameter", format!("查询参数「{key}」只能给一次")));
        }
    }
    Ok(map)
}

fn required<'a>(q: &'a HashMap<String, String>, key: &str) -> ApiResult<&'a str> {
    q.get(key)
        .map(String::as_str)
        .ok_or_else(|| ApiError::bad_request("invalid_parameter", format!("缺少查询参数「{key}」")))
}

/// An RFC 3339 instant with its offset. A `+` sent unencoded arrives as a
/// space; that is taken back.
fn instant_param(q: &HashMap<String, String>, key: &str) -> ApiResult<Instant> {
    let value = required(q, key)?;
    parse_instant(value).or_else(|| parse_instant(&value.replace(' ', "+"))).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("「{key}」应为带时区的时间，例如 2026-02-13T10:00:00+08:00（“+”请写成 %2B）"),
        )
    })
}

fn date_param(q: &HashMap<String, String>, key: &str) -> ApiResult<chrono::NaiveDate> {
    let value = required(q, key)?;
    calendar::parse_date(value).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_parameter",
            format!("「{key}」应为真实存在的日期，写成 YYYY-MM-DD，例如 2026-02-14"),
        )
    })
}

/// Exactly one of `workdays` and `workhours`, a whole number within the limit.
fn amount_param(q: &HashMap<String, String>) -> ApiResult<Amount> {
    match (q.get("workdays"), q.get("workhours")) {
        (Some(days), None) => Ok(Amount::WorkingDays(count_param("workdays", days, MAX_WORKING_DAYS)?)),
        (None, Some(hours)) => Ok(Amount::WorkingHours(count_param("workhours", hours, MAX_WORKING_HOURS)?)),
        (Some(_), Some(_)) => {
            Err(ApiError::bad_request("invalid_parameter", "「workdays」和「workhours」只能给其中一个"))
        }
        (None, None) => Err(ApiError::bad_request(
            "invalid_parameter",
            "请给出「workdays」（工作日数）或「workhours」（工作小时数）其中一个",
        )),
    }
}

fn count_param(key: &str, value: &str, max: u32) -> ApiResult<u32> {
    let bad = |what: String| ApiError::bad_request("invalid_parameter", format!("「{key}」{what}"));
    if value.starts_with('-') {
        return Err(bad("不能为负数".into()));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("应为 0 到 {max} 的整数")));
    }
    value.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| bad(format!("不能超过 {max}")))
}

// ---- years ---------------------------------------------------------------------

#[derive(Serialize)]
pub struct YearItem {
    year: i32,
    notice: Option<String>,
    holidays: usize,
    makeup_workdays: usize,
    updated_at: String,
}

/// `GET /api/v1/calendar/years`: the covered years with their counts and notice references.
async fn years<S: Store>(State(state): State<AppState<S>>) -> ApiResult<Json<Vec<YearItem>>> {
    let infos = state.store.calendar_year_infos().await?;
    let items = infos
        .into_iter()
        .map(|i| YearItem {
            year: i.year,
            notice: i.notice,
            holidays: i.holidays,
            makeup_workdays: i.makeup_workdays,
            updated_at: format_instant(&i.updated_at),
        })
        .collect();
    Ok(Json(items))
}

/// `GET /api/v1/calendar/years/{year}`: the year's holidays and make-up days,
/// in the shape `PUT` takes.
async fn year<S: Store>(
    State(state): State<AppState<S>>,
    Path(year): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let year = year_param(&year)?;
    let stored = state.store.calendar_years().await?.into_iter().find(|y| y.year == year);
    let stored = stored.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "calendar_year_not_found", format!("工作日历没有{year}年的节假日安排"))
    })?;
    Ok(Json(year_json(&stored)))
}

fn year_param(year: &str) -> ApiResult<i32> {
    year.parse::<i32>().ok().filter(|y| (1000..=9999).contains(y)).ok_or_else(|| {
        ApiError::bad_request("invalid_parameter", format!("年份「{year}」不正确，应为四位数字，例如 2027"))
    })
}

/// A year as administrators send it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearInput {
    /// Optional; when given it must be the year of the path.
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub notice: Option<String>,
    pub holidays: Vec<DayInput>,
    #[serde(default)]
    pub makeup_workdays: Vec<DayInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayInput {
    pub date: String,
    pub name: String,
}

impl YearInput {
    fn into_year(self, year: i32) -> ApiResult<HolidayYear> {
        if self.year.is_some_and(|y| y != year) {
            return Err(ApiError::invalid("invalid_field", format!("请求体中的年份与地址中的年份（{year}）不一致")));
        }
        let days = |days: Vec<DayInput>, what: &str| -> ApiResult<Vec<(chrono::NaiveDate, String)>> {
            days.into_iter().map(|d| Ok((calendar::parse_data_date(&d.date, what)?, d.name))).collect()
        };
        let notice = self.notice.filter(|n| !n.trim().is_empty());
        Ok(HolidayYear {
            year,
            notice,
            holidays: days(self.holidays, "节假日的")?,
            makeup_workdays: days(self.makeup_workdays, "调休上班日的")?,
        })
    }
}

/// `PUT /api/v1/calendar/years/{year}` (administrators): replaces the year.
async fn put_year<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    Path(year): Path<String>,
    JsonBody(input): JsonBody<YearInput>,
) -> ApiResult<Json<ChangeView>> {
    Ok(Json(replace_year(&state, &auth, &year, input, CalendarSource::Json).await?))
}

/// Replaces one year (administrators); the API and the admin page both call this.
pub async fn replace_year<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    year: &str,
    input: YearInput,
    source: CalendarSource,
) -> ApiResult<ChangeView> {
    let author = admin(state, auth, source)?;
    let year = input.into_year(year_param(year)?)?;
    if year.holidays.is_empty() {
        return Err(ApiError::invalid(
            codes::INVALID_CALENDAR,
            format!("{}年没有任何节假日；请列出通知中的全部放假日期", year.year),
        ));
    }
    let changes = state.store.replace_calendar_years(vec![year], author).await?;
    state.changed(Signal::CalendarChanged).await?;
    let change = changes.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok(change_view(change))
}

#[derive(Serialize)]
pub struct ImportAnswer {
    pub years: Vec<i32>,
    changes: Vec<ChangeView>,
}

/// `POST /api/v1/calendar/import` (administrators): multipart field `file`,
/// an .xlsx workbook or a TOML file; every year in it is replaced, all or none.
async fn import<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportAnswer>> {
    Ok(Json(import_upload(&state, &auth, multipart).await?))
}

/// Imports the uploaded file (administrators); the API and the admin page both call this.
pub async fn import_upload<S: Store>(
    state: &AppState<S>,
    auth: &Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<ImportAnswer> {
    auth.require_role(&[Role::Admin])?;
    let multipart = multipart.map_err(|_| malformed_multipart())?;
    let bytes = read_file(multipart).await?;
    let (years, source) = calendar::parse_import(&bytes)?;
    let author = admin(state, auth, source)?;
    let changes = state.store.replace_calendar_years(years, author).await?;
    state.changed(Signal::CalendarChanged).await?;
    let years = changes.iter().filter_map(|c| c.year).collect();
    Ok(ImportAnswer { years, changes: changes.into_iter().map(change_view).collect() })
}

/// The one `file` field of a multipart body.
async fn read_file(mut multipart: Multipart) -> ApiResult<Vec<u8>> {
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(malformed_multipart()),
        };
        if field.name() != Some("file") {
            return Err(ApiError::bad_request("unknown_field", "上传的文件字段名应为「file」"));
        }
        if file.is_some() {
            return Err(ApiError::bad_request("invalid_parameter", "一次只能导入一个文件"));
        }
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(malformed_multipart()),
        };
        if bytes.len() > IMPORT_LIMIT {
            return Err(too_large());
        }
        file = Some(bytes.to_vec());
    }
    file.ok_or_else(|| ApiError::bad_request("no_file", "没有收到文件（字段名「file」）"))
}

fn malformed_multipart() -> ApiError {
    ApiError::bad_request("malformed_multipart", "上传内容格式错误（应为 multipart/form-data，文件字段名「file」）")
}

fn too_large() -> ApiError {
    payload_too_large().with_message(format!("导入文件不能超过 {} MB", IMPORT_LIMIT / 1024 / 1024))
}

// ---- changes -------------------------------------------------------------------

#[derive(Serialize)]
pub struct ActorView {
    user_id: Option<i64>,
    name: String,
    role: String,
}

#[derive(Serialize)]
pub struct ChangeView {
    id: i64,
    at: String,
    kind: mashangban_store::CalendarChangeKind,
    year: Option<i32>,
    actor: ActorView,
    client_ip: Option<String>,
    source: CalendarSource,
    holidays: Option<usize>,
    makeup_workdays: Option<usize>,
    previous: Option<serde_json::Value>,
    current: serde_json::Value,
}

fn change_view(c: CalendarChange) -> ChangeView {
    ChangeView {
        id: c.id,
        at: format_instant(&c.at),
        kind: c.kind,
        year: c.year,
        actor: ActorView { user_id: c.actor_user_id, name: c.actor_name, role: c.actor_role },
        client_ip: c.client_ip,
        source: c.source,
        holidays: c.holidays,
        makeup_workdays: c.makeup_workdays,
        previous: c.previous,
        current: c.current,
    }
}

/// `GET /api/v1/calendar/changes?limit=N` (administrators): newest first.
async fn changes<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    query: QueryPairs,
) -> ApiResult<Json<Vec<ChangeView>>> {
    admin(&state, &auth, CalendarSource::Json)?;
    let q = params(query, &["limit"])?;
    let limit = match q.get("limit") {
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::bad_request("invalid_parameter", "「limit」应为 1 到 500 的整数"))?,
        None => 100,
    };
    let changes = state.store.calendar_changes(limit).await?;
    Ok(Json(changes.into_iter().map(change_view).collect()))
}

// ---- working hours -------------------------------------------------------------

/// Working hours as administrators send them: `{"periods": [{"start": "08:30", "end": "12:00"}, ...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    pub periods: Vec<PeriodInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    pub start: String,
    pub end: String,
}

#[derive(Serialize)]
pub struct HoursView {
    periods: serde_json::Value,
    /// Working minutes in one working day.
    daily_minutes: i64,
}

fn hours_view(hours: &WorkingHours) -> HoursView {
    let periods = working_hours_json(hours).get("periods").cloned().unwrap_or_default();
    HoursView { periods, daily_minutes: hours.daily_duration().num_minutes() }
}

/// `GET /api/v1/calendar/working-hours` (administrators): the hours in force.
async fn working_hours<S: Store>(State(state): State<AppState<S>>, auth: Auth) -> ApiResult<Json<HoursView>> {
    admin(&state, &auth, CalendarSource::Json)?;
    Ok(Json(hours_view(state.calendar().working_hours())))
}

/// `PUT /api/v1/calendar/working-hours` (administrators): replaces the daily working periods.
async fn put_working_hours<S: Store>(
    State(state): State<AppState<S>>,
    auth: Auth,
    JsonBody(input): JsonBody<HoursInput>,
) -> ApiResult<Json<HoursView>> {
    Ok(Json(set_working_hours(&state, &auth, input).await?))
}

/// Replaces the working hours (administrators); the API and the admin page both call this.
pub async fn set_working_hours<S: Store>(state: &AppState<S>, auth: &Auth, input: HoursInput) -> ApiResult<HoursView> {
    let author = admin(state, auth, CalendarSource::Json)?;
    let periods = input
        .periods
        .iter()
        .map(|p| Ok((time_of_day(&p.start)?, time_of_day(&p.end)?)))
        .collect::<ApiResult<Vec<_>>>()?;
    let hours = WorkingHours::new(periods)?;
    state.store.set_calendar_working_hours(hours.clone(), author).await?;
    state.changed(Signal::CalendarChanged).await?;
    Ok(hours_view(&hours))
}

/// `HH:MM` (or `HH:MM:SS`) in +08:00.
fn time_of_day(s: &str) -> ApiResult<NaiveTime> {
    let s = s.trim();
    let parsed = match s.len() {
        5 => NaiveTime::parse_from_str(s, "%H:%M").ok(),
        8 => NaiveTime::parse_from_str(s, "%H:%M:%S").ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::invalid(codes::INVALID_WORKING_HOURS, format!("时间“{s}”不正确，应写成 HH:MM，例如 08:30"))
    })
}

// ---- access --------------------------------------------------------------------

/// Administrators only (401/403); the author of their change.
fn admin<S: Store>(state: &AppState<S>, auth: &Auth, source: CalendarSource) -> ApiResult<CalendarAuthor> {
    let actor = auth.require_role(&[Role::Admin])?;
    let meta = Meta { now: state.now(), client_ip: auth.client_ip.clone() };
    Ok(CalendarAuthor::new(actor, &meta, source))
}
