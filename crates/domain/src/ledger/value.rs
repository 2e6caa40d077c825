//! Typed field values, and reading them from what people and files give:
//! JSON values from the API, or the text and numbers of a spreadsheet cell.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::codes;
use super::types::{CodeList, FieldKind};
use crate::expr;
use crate::org::UnitKind;
use crate::time::shanghai;
use crate::validation::{CreditCode, Datum, GeoPoint};

/// The values of one item, by field code.
pub type Values = BTreeMap<String, FieldValue>;

/// Longest input accepted for any one field, in characters, before it is looked at.
pub const MAX_INPUT_CHARS: usize = 10_000;
/// Longest file reference.
const MAX_FILE_REF_CHARS: usize = 200;

/// A typed value of a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum FieldValue {
    Text(String),
    Integer(i64),
    Decimal(Decimal),
    Date(NaiveDate),
    /// Always in +08:00.
    DateTime(DateTime<FixedOffset>),
    /// A code of the field's code list.
    Choice(String),
    /// An org code (unit or town).
    Org(String),
    Enterprise(CreditCode),
    Point(GeoPoint),
    /// A file reference (attachment id or hash).
    File(String),
    /// Only computed fields produce this.
    Bool(bool),
}

impl FieldValue {
    /// The value as the expression language sees it. Date-times and points are not visible to expressions.
    pub fn to_expr(&self) -> expr::Value {
        match self {
            Self::Text(s) | Self::Choice(s) | Self::Org(s) | Self::File(s) => expr::Value::Text(s.clone()),
            Self::Enterprise(c) => expr::Value::Text(c.as_str().to_owned()),
            Self::Integer(i) => expr::Value::Number(Decimal::from(*i)),
            Self::Decimal(d) => expr::Value::Number(*d),
            Self::Date(d) => expr::Value::Date(*d),
            Self::Bool(b) => expr::Value::Bool(*b),
            Self::DateTime(_) | Self::Point(_) => expr::Value::Null,
        }
    }

    /// The canonical input form: validating it again gives the same value.
    pub fn to_input(&self) -> Json {
        match self {
            Self::Integer(i) => Json::from(*i),
            Self::Bool(b) => Json::Bool(*b),
            Self::Point(p) => serde_json::json!({ "lat": p.lat, "lon": p.lon }),
            other => Json::String(other.as_text()),
        }
    }

    /// Plain text: codes for choices and orgs, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, `纬度,经度`.
    pub fn as_text(&self) -> String {
        match self {
            Self::Text(s) | Self::Choice(s) | Self::Org(s) | Self::File(s) => s.clone(),
            Self::Integer(i) => i.to_string(),
            Self::Decimal(d) => d.to_string(),
            Self::Date(d) => d.format("%Y-%m-%d").to_string(),
            Self::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Self::Enterprise(c) => c.as_str().to_owned(),
            Self::Point(p) => format!("{},{}", p.lat, p.lon),
            Self::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        }
    }
}

/// Finds org units for unit and town fields. [`crate::org::OrgTree`] implements it.
pub trait OrgLookup {
    /// An active unit by its org code or its (short) name: its code and kind.
    fn find_unit(&self, code_or_name: &str) -> Option<(String, UnitKind)>;
}

impl OrgLookup for crate::org::OrgTree {
    fn find_unit(&self, code_or_name: &str) -> Option<(String, UnitKind)> {
        let found = self.by_code(code_or_name).filter(|u| u.active).or_else(|| {
            self.units().find(|u| u.active && (u.name == code_or_name || u.short_name.as_deref() == Some(code_or_name)))
        });
        found.map(|u| (u.code.clone(), u.kind))
    }
}

/// A refused input value: a stable code and a Chinese reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: &'static str,
    pub reason: String,
}

fn issue(code: &'static str, reason: impl Into<String>) -> Issue {
    Issue { code, reason: reason.into() }
}

/// What parsing needs besides the field itself.
pub struct InputContext<'a> {
    pub lists: &'a BTreeMap<String, CodeList>,
    pub orgs: &'a dyn OrgLookup,
}

/// Reads one input value for a non-computed field. `Ok(None)` means empty.
pub fn parse_input(kind: &FieldKind, input: &Json, ctx: &InputContext<'_>) -> Result<Option<FieldValue>, Issue> {
    if let (FieldKind::Point, Json::Object(map)) = (kind, input) {
        return parse_point_object(map).map(Some);
    }
    let Some(text) = input_text(input)? else { return Ok(None) };
    let value = match kind {
        FieldKind::Text { max_len } => parse_text(&text, *max_len)?,
        FieldKind::Integer { min, max, .. } => FieldValue::Integer(parse_integer(&text, *min, *max)?),
        FieldKind::Decimal { min, max, precision, unit } => {
            FieldValue::Decimal(parse_decimal(&text, *min, *max, *precision, unit.as_deref())?)
        }
        FieldKind::Date => FieldValue::Date(parse_date(&text)?),
        FieldKind::DateTime => FieldValue::DateTime(parse_datetime(&text)?),
        FieldKind::Choice { list } => FieldValue::Choice(parse_choice(&text, list, ctx)?),
        FieldKind::Unit => FieldValue::Org(parse_org(&text, false, ctx)?),
        FieldKind::Town => FieldValue::Org(parse_org(&text, true, ctx)?),
        FieldKind::Enterprise => {
            FieldValue::Enterprise(CreditCode::parse(&text).map_err(|e| issue(e.code, e.message))?)
        }
        FieldKind::Point => FieldValue::Point(parse_point_text(&text)?),
        FieldKind::File => FieldValue::File(parse_file_ref(&text)?),
        FieldKind::Computed { .. } => return Ok(None),
    };
    Ok(Some(value))
}

/// The text of a scalar input, trimmed; `None` for null or blank.
fn input_text(input: &Json) -> Result<Option<String>, Issue> {
    let text = match input {
        Json::Null => return Ok(None),
        Json::String(s) => {
            if s.len() > MAX_INPUT_CHARS * 4 || s.chars().count() > MAX_INPUT_CHARS {
                return Err(issue(codes::FIELD_TOO_LONG, format!("内容过长（最多{MAX_INPUT_CHARS}个字符）")));
            }
            s.trim().to_owned()
        }
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Array(_) | Json::Object(_) => return Err(issue(codes::FIELD_INVALID, "应为单个值，不能是列表或对象")),
    };
    Ok(if text.is_empty() { None } else { Some(text) })
}

fn parse_text(text: &str, max_len: u32) -> Result<FieldValue, Issue> {
    let count = text.chars().count();
    if count > usize::try_from(max_len).unwrap_or(usize::MAX) {
        return Err(issue(codes::FIELD_TOO_LONG, format!("最多{max_len}个字符，这里有{count}个")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(issue(codes::FIELD_INVALID, "含有不可见的控制字符"));
    }
    Ok(FieldValue::Text(text.to_owned()))
}

/// Digits with optional `,` thousands separators and sign; spreadsheets may add `.0`.
fn parse_number_text(text: &str) -> Result<Decimal, Issue> {
    let bad = || issue(codes::FIELD_NOT_NUMBER, format!("「{}」不是有效的数字", shorten(text)));
    if text.len() > 40 {
        return Err(bad());
    }
    let plain = strip_thousands(text).ok_or_else(bad)?;
    let digits = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let shape_ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() != digits.contains('.'));
    if !shape_ok {
        return Err(bad());
    }
    Decimal::from_str_exact(&plain).map_err(|_| bad())
}

fn strip_thousands(text: &str) -> Option<String> {
    if !text.contains(',') {
        return Some(text.to_owned());
    }
    let (int, frac) = text.split_once('.').map_or((text, None), |(i, f)| (i, Some(f)));
    let unsigned = int.strip_prefix(['-', '+']).unwrap_or(int);
    let groups: Vec<&str> = unsigned.split(',').collect();
    let first_ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()));
    if !first_ok || groups.iter().skip(1).any(|g| g.len() != 3) {
        return None;
    }
    let mut out = int.replace(',', "");
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

fn check_range(value: Decimal, min: Option<Decimal>, max: Option<Decimal>) -> Result<(), Issue> {
    if let Some(min) = min
        && value < min
    {
        return Err(issue(codes::FIELD_OUT_OF_RANGE, format!("不能小于{min}，这里是{value}")));
    }
    if let Some(max) = max
        && value > max
    {
        return Err(issue(codes::FIELD_OUT_OF_RANGE, format!("不能大于{max}，这里是{value}")));
    }
    Ok(())
}

fn parse_integer(text: &str, min: Option<Decimal>, max: Option<Decimal>) -> Result<i64, Issue> {
    let value = parse_number_text(text)?;
    if !value.fract().is_zero() {
        return Err(issue(codes::FIELD_NOT_NUMBER, format!("应为整数，这里是{value}")));
    }
    check_range(value, min, max)?;
    i64::try_from(value).map_err(|_| issue(codes::FIELD_OUT_OF_RANGE, "整数超出范围"))
}

fn parse_decimal(
    text: &str,
    min: Option<Decimal>,
    max: Option<Decimal>,
    precision: u32,
    unit: Option<&str>,
) -> Result<Decimal, Issue> {
    let text = match unit {
        Some(u) => text.strip_suffix(u).map_or(text, str::trim_end),
        None => text,
    };
    let mut value = parse_number_text(text)?;
    if value.normalize().scale() > precision {
        return Err(issue(codes::FIELD_TOO_PRECISE, format!("最多保留{precision}位小数，这里是{value}")));
    }
    check_range(value, min, max)?;
    value.rescale(precision);
    Ok(value)
}

/// `2021-12-31`, `2021/12/31`, `2021.12.31`, `2021年12月31日`; a midnight time after it is allowed.
fn parse_date(text: &str) -> Result<NaiveDate, Issue> {
    let bad = || issue(codes::FIELD_BAD_DATE, format!("「{}」不是有效日期，应写作 2021-12-31", shorten(text)));
    let (date_part, time_part) = split_date_time(text);
    if let Some(time) = time_part
        && parse_time(time).is_none_or(|t| t != NaiveTime::MIN)
    {
        return Err(bad());
    }
    date_from_parts(date_part).ok_or_else(bad)
}

fn split_date_time(text: &str) -> (&str, Option<&str>) {
    match text.find([' ', 'T']) {
        Some(i) => (text.get(..i).unwrap_or(text), text.get(i + 1..).map(str::trim)),
        None => (text, None),
    }
}

fn date_from_parts(text: &str) -> Option<NaiveDate> {
    let text = text.strip_suffix('日').unwrap_or(text);
    let parts: Vec<&str> = text.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    let ok = |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(y, &[4]) || !ok(m, &[1, 2]) || !ok(d, &[1, 2]) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(text, "%H:%M")).ok()
}

/// RFC 3339 with an offset (converted to +08:00), or `YYYY-MM-DD HH:MM[:SS]` read as +08:00.
fn parse_datetime(text: &str) -> Result<DateTime<FixedOffset>, Issue> {
    let bad =
        || issue(codes::FIELD_BAD_DATE, format!("「{}」不是有效的日期时间，应写作 2021-12-31 08:30", shorten(text)));
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&shanghai()));
    }
    let (date_part, time_part) = split_date_time(text);
    let date = date_from_parts(date_part).ok_or_else(bad)?;
    let time = parse_time(time_part.ok_or_else(bad)?).ok_or_else(bad)?;
    shanghai().from_local_datetime(&NaiveDateTime::new(date, time)).single().ok_or_else(bad)
}

fn parse_choice(text: &str, list: &str, ctx: &InputContext<'_>) -> Result<String, Issue> {
    let Some(list) = ctx.lists.get(list) else {
        return Err(issue(codes::FIELD_BAD_CHOICE, "代码表不存在"));
    };
    list.find(text).map(|item| item.code.clone()).ok_or_else(|| {
        let shown: Vec<String> = list.items.iter().take(12).map(|i| format!("{} {}", i.code, i.name)).collect();
        let more = if list.items.len() > 12 { "等" } else { "" };
        issue(
            codes::FIELD_BAD_CHOICE,
            format!("「{}」不在「{}」中，可选：{}{more}", shorten(text), list.name, shown.join("、")),
        )
    })
}

fn parse_org(text: &str, town_only: bool, ctx: &InputContext<'_>) -> Result<String, Issue> {
    match ctx.orgs.find_unit(text) {
        Some((code, UnitKind::Town)) => Ok(code),
        Some((_, UnitKind::City)) => Err(issue(codes::FIELD_UNKNOWN_ORG, "应为具体的单位或镇街，不能是全市")),
        Some((code, _)) if !town_only => Ok(code),
        Some(_) => Err(issue(codes::FIELD_UNKNOWN_ORG, format!("「{}」不是镇街", shorten(text)))),
        None => Err(issue(codes::FIELD_UNKNOWN_ORG, format!("找不到单位「{}」（按编码或名称查找）", shorten(text)))),
    }
}

fn parse_point_object(map: &serde_json::Map<String, Json>) -> Result<FieldValue, Issue> {
    let bad = || {
        issue(
            codes::FIELD_BAD_POINT,
            "坐标应为 {\"lat\": 纬度, \"lon\": 经度}，可加 \"datum\": \"wgs84\"/\"gcj02\"/\"bd09\"",
        )
    };
    let lat = map.get("lat").and_then(Json::as_f64).ok_or_else(bad)?;
    let lon = map.get("lon").and_then(Json::as_f64).ok_or_else(bad)?;
    let datum = match map.get("datum").and_then(Json::as_str) {
        None | Some("wgs84") => Datum::Wgs84,
        Some("gcj02") => Datum::Gcj02,
        Some("bd09") => Datum::Bd09,
        Some(_) => return Err(bad()),
    };
    if map.keys().any(|k| !matches!(k.as_str(), "lat" | "lon" | "datum")) {
        return Err(bad());
    }
    make_point(lat, lon, datum).map(FieldValue::Point)
}

/// `纬度,经度` (WGS-84), comma, full-width comma or space separated.
fn parse_point_text(text: &str) -> Result<GeoPoint, Issue> {
    let bad = || {
        issue(
            codes::FIELD_BAD_POINT,
            format!("「{}」不是有效坐标，应写作「纬度,经度」，如 22.5176,113.3926", shorten(text)),
        )
    };
    let parts: Vec<&str> = text.split([',', '，', ' ']).filter(|p| !p.is_empty()).collect();
    let [lat, lon] = parts.as_slice() else { return Err(bad()) };
    let lat: f64 = lat.parse().map_err(|_| bad())?;
    let lon: f64 = lon.parse().map_err(|_| bad())?;
    make_point(lat, lon, Datum::Wgs84)
}

fn make_point(lat: f64, lon: f64, datum: Datum) -> Result<GeoPoint, Issue> {
    GeoPoint::new(lat, lon, datum).map_err(|e| {
        let hint = if lat.abs() > 90.0 && lon.abs() <= 90.0 { "；是否把纬度和经度写反了？" } else { "" };
        issue(codes::FIELD_BAD_POINT, format!("{}{hint}", e.message))
    })
}

fn parse_file_ref(text: &str) -> Result<String, Issue> {
    // An opaque id, never a path: no separators, no "..".
    let ok = text.chars().count() <= MAX_FILE_REF_CHARS
        && !text.contains("..")
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(issue(codes::FIELD_INVALID, "文件引用格式不正确（应为上传后得到的文件编号）"))
    }
}

/// At most 50 characters of an input, for messages.
pub fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(50).collect();
    if text.chars().nth(50).is_some() {
        out.push('…');
    }
    out
}
