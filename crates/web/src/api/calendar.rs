//! The work calendar: the public calculator and its administration. The
//! query parameters are read here; the use cases are `app.calendar()`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;

use mashangban_app::calendar::{
    Amount, ChangeView, DayInfo, DueAnswer, HoursInput, HoursView, ImportAnswer, YearInput, YearItem, YearView,
    parse_date,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::calendar::{MAX_WORKING_DAYS, MAX_WORKING_HOURS};
use mashangban_domain::time::{Instant, parse_instant};
use mashangban_store::{CalendarSource, Store};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::json::{JsonBody, payload_too_large};
use crate::routes::Route;

/// The largest import file accepted (TOML or .xlsx).
pub const IMPORT_LIMIT: usize = 2 * 1024 * 1024;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let counting = &["invalid_parameter", "unknown_parameter", "calendar_year_not_covered"];
    let year_errors = &["invalid_calendar", "calendar_conflict", "invalid_date"];
    vec![
        Route::get("/api/v1/calendar/add", add::<S>)
            .public()
            .doc("calendar", "期限计算器：加工作日或工作小时")
            .query(&[("from", "RFC 3339 时刻"), ("workdays", "工作日数"), ("workhours", "工作小时数")])
            .answer::<DueAnswer>()
            .errors(counting),
        Route::get("/api/v1/calendar/days", days::<S>)
            .public()
            .doc("calendar", "逐日工作日历")
            .query(&[("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD")])
            .answer::<Vec<DayInfo>>()
            .errors(counting),
        Route::get("/api/v1/calendar/years", years::<S>)
            .public()
            .doc("calendar", "已载入的年份")
            .answer::<Vec<YearItem>>(),
        Route::get("/api/v1/calendar/years/{year}", year::<S>)
            .public()
            .doc("calendar", "某年的放假与调休安排")
            .answer::<YearView>()
            .errors(&["calendar_year_not_found"]),
        Route::put("/api/v1/calendar/years/{year}", put_year::<S>)
            .permission(Permission::ManageCalendar)
            .doc("calendar", "整年替换放假与调休安排")
            .body::<YearInput>()
            .answer::<ChangeView>()
            .errors(year_errors),
        Route::post("/api/v1/calendar/import", import::<S>)
            .permission(Permission::ManageCalendar)
            .doc("calendar", "导入国务院通知（Excel 或 TOML）")
            .multipart()
            .answer::<ImportAnswer>()
            .errors(&["invalid_calendar", "calendar_conflict", "invalid_date", "payload_too_large"])
            .body_limit(IMPORT_LIMIT + 64 * 1024),
        Route::get("/api/v1/calendar/changes", changes::<S>)
            .permission(Permission::ManageCalendar)
            .doc("calendar", "日历变更记录")
            .query(&[("limit", "条数")])
            .answer::<Vec<ChangeView>>()
            .errors(&["invalid_parameter"]),
        Route::get("/api/v1/calendar/working-hours", working_hours::<S>)
            .permission(Permission::ManageCalendar)
            .doc("calendar", "工作时段")
            .answer::<HoursView>(),
        Route::put("/api/v1/calendar/working-hours", put_working_hours::<S>)
            .permission(Permission::ManageCalendar)
            .doc("calendar", "修改工作时段")
            .body::<HoursInput>()
            .answer::<HoursView>()
            .errors(&["invalid_working_hours"]),
    ]
}

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /api/v1/calendar/add?from=<instant>&workdays=<n>` (or `workhours=<n>`).
async fn add<S: Store>(State(app): State<App<S>>, query: QueryPairs) -> ApiResult<Json<DueAnswer>> {
    let q = params(query, &["from", "workdays", "workhours"])?;
    Ok(Json(app.calendar().add(instant_param(&q, "from")?, amount_param(&q)?)?))
}

/// `GET /api/v1/calendar/days?from=YYYY-MM-DD&to=YYYY-MM-DD`: every date, inclusive.
async fn days<S: Store>(State(app): State<App<S>>, query: QueryPairs) -> ApiResult<Json<Vec<DayInfo>>> {
    let q = params(query, &["from", "to"])?;
    Ok(Json(app.calendar().days(date_param(&q, "from")?, date_param(&q, "to")?)?))
}

/// `GET /api/v1/calendar/years`.
async fn years<S: Store>(State(app): State<App<S>>) -> ApiResult<Json<Vec<YearItem>>> {
    Ok(Json(app.calendar().years().await?))
}

/// `GET /api/v1/calendar/years/{year}`: in the shape `PUT` takes.
async fn year<S: Store>(State(app): State<App<S>>, Path(year): Path<String>) -> ApiResult<Json<YearView>> {
    Ok(Json(app.calendar().year(year_param(&year)?).await?))
}

/// `PUT /api/v1/calendar/years/{year}`: replaces the year.
async fn put_year<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(year): Path<String>,
    JsonBody(input): JsonBody<YearInput>,
) -> ApiResult<Json<ChangeView>> {
    Ok(Json(app.calendar().replace_year(&caller, year_param(&year)?, input, CalendarSource::Json).await?))
}

/// `POST /api/v1/calendar/import`: multipart field `file`, an .xlsx workbook
/// or a TOML file; every year in it is replaced, all or none.
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<ImportAnswer>> {
    let bytes = read_import(multipart).await?;
    Ok(Json(app.calendar().import(&caller, &bytes).await?))
}

/// `GET /api/v1/calendar/changes?limit=N`: newest first.
async fn changes<S: Store>(State(app): State<App<S>>, query: QueryPairs) -> ApiResult<Json<Vec<ChangeView>>> {
    let q = params(query, &["limit"])?;
    let limit = match q.get("limit") {
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| AppError::bad_parameter("「limit」应为 1 到 500 的整数"))?,
        None => 100,
    };
    Ok(Json(app.calendar().changes(limit).await?))
}

/// `GET /api/v1/calendar/working-hours`: the hours in force.
async fn working_hours<S: Store>(State(app): State<App<S>>) -> Json<HoursView> {
    Json(app.calendar().working_hours())
}

/// `PUT /api/v1/calendar/working-hours`: replaces the daily working periods.
async fn put_working_hours<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<HoursInput>,
) -> ApiResult<Json<HoursView>> {
    Ok(Json(app.calendar().set_working_hours(&caller, input).await?))
}

// ---- reading the query -----------------------------------------------------------

/// The query's parameters by name: only `allowed` ones, each at most once,
/// blank values left out.
fn params(query: QueryPairs, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let Query(pairs) = query.map_err(|_| AppError::bad_parameter("查询参数格式错误"))?;
    let mut map = HashMap::new();
    for (key, value) in pairs {
        if !allowed.contains(&key.as_str()) {
            return Err(AppError::bad_request("unknown_parameter", format!("不认识的查询参数「{key}」")).into());
        }
        if value.trim().is_empty() {
            continue;
        }
        if map.insert(key.clone(), value.trim().to_owned()).is_some() {
            return Err(AppError::bad_parameter(format!("查询参数「{key}」只能给一次")).into());
        }
    }
    Ok(map)
}

fn required<'a>(q: &'a HashMap<String, String>, key: &str) -> ApiResult<&'a str> {
    q.get(key).map(String::as_str).ok_or_else(|| AppError::bad_parameter(format!("缺少查询参数「{key}」")).into())
}

/// An RFC 3339 instant with its offset. A `+` sent unencoded arrives as a
/// space; that is taken back.
fn instant_param(q: &HashMap<String, String>, key: &str) -> ApiResult<Instant> {
    let value = required(q, key)?;
    parse_instant(value).or_else(|| parse_instant(&value.replace(' ', "+"))).ok_or_else(|| {
        AppError::bad_parameter(format!("「{key}」应为带时区的时间，例如 2026-02-13T10:00:00+08:00（“+”请写成 %2B）"))
            .into()
    })
}

fn date_param(q: &HashMap<String, String>, key: &str) -> ApiResult<chrono::NaiveDate> {
    let value = required(q, key)?;
    parse_date(value).ok_or_else(|| {
        AppError::bad_parameter(format!("「{key}」应为真实存在的日期，写成 YYYY-MM-DD，例如 2026-02-14")).into()
    })
}

/// Exactly one of `workdays` and `workhours`, a whole number within the limit.
fn amount_param(q: &HashMap<String, String>) -> ApiResult<Amount> {
    match (q.get("workdays"), q.get("workhours")) {
        (Some(days), None) => Ok(Amount::WorkingDays(count_param("workdays", days, MAX_WORKING_DAYS)?)),
        (None, Some(hours)) => Ok(Amount::WorkingHours(count_param("workhours", hours, MAX_WORKING_HOURS)?)),
        (Some(_), Some(_)) => Err(AppError::bad_parameter("「workdays」和「workhours」只能给其中一个").into()),
        (None, None) => {
            Err(AppError::bad_parameter("请给出「workdays」（工作日数）或「workhours」（工作小时数）其中一个").into())
        }
    }
}

fn count_param(key: &str, value: &str, max: u32) -> ApiResult<u32> {
    let bad = |what: String| ApiError::from(AppError::bad_parameter(format!("「{key}」{what}")));
    if value.starts_with('-') {
        return Err(bad("不能为负数".into()));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("应为 0 到 {max} 的整数")));
    }
    value.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| bad(format!("不能超过 {max}")))
}

pub(crate) fn year_param(year: &str) -> ApiResult<i32> {
    year.parse::<i32>()
        .ok()
        .filter(|y| (1000..=9999).contains(y))
        .ok_or_else(|| AppError::bad_parameter(format!("年份「{year}」不正确，应为四位数字，例如 2027")).into())
}

/// The one `file` field of a calendar import.
pub async fn read_import(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<Vec<u8>> {
    read_upload(multipart, IMPORT_LIMIT).await
}

/// The one `file` field of an import of at most `limit` bytes.
pub async fn read_upload(multipart: Result<Multipart, MultipartRejection>, limit: usize) -> ApiResult<Vec<u8>> {
    let too_large = || payload_too_large().with_message(format!("导入文件不能超过 {} MB", limit / 1024 / 1024));
    let mut multipart = multipart.map_err(|_| malformed_multipart())?;
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
            return Err(AppError::bad_parameter("一次只能导入一个文件").into());
        }
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(malformed_multipart()),
        };
        if bytes.len() > limit {
            return Err(too_large());
        }
        file = Some(bytes.to_vec());
    }
    file.ok_or_else(|| ApiError::bad_request("no_file", "没有收到文件（字段名「file」）"))
}

fn malformed_multipart() -> ApiError {
    ApiError::bad_request("malformed_multipart", "上传内容格式错误（应为 multipart/form-data，文件字段名「file」）")
}
