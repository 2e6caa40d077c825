//! `POST requests`: intake (受理) by an Open311 client holding an API key.
//! The request joins the same queue as every other channel (channel `api`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{Form, FromRequest, Multipart, Path, Request as HttpRequest, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

use mashangban_domain::access::Permission;
use mashangban_domain::org::{Actor, OrgTree, UnitId, UnitKind};
use mashangban_domain::request::{
    self, ADDRESS_MAX, Asker, CONTENT_MAX, Channel, Contact, Location, NAME_MAX, NewRequest, Request, RequestKind,
    TITLE_MAX, Urgency,
};
use mashangban_domain::validation::{CreditCode, Datum, GeoPoint, Phone, optional_text, required_text};
use mashangban_store::{Category, Store};

use super::format::{Document, Failure, Fields, Node, reply, split_file};
use super::requests::service_notice;
use super::services::{self, Attribute, Datatype, OCCURRENCE_PERIODS};
use super::{Params, no_such_resource, query_pairs, unknown_format};
use mashangban_app::requests::{NewFile, new_check_code, sniff};
use mashangban_app::{App, Caller};

/// The most `media` files one submission may carry.
pub const MAX_MEDIA: usize = 5;

/// How many characters of the description make the title.
const TITLE_CHARS: usize = 30;

/// The contact name recorded when the client sends neither first nor last name.
const NO_NAME: &str = "未留姓名";

pub async fn post<S: Store>(State(app): State<App<S>>, Path(file): Path<String>, req: HttpRequest) -> Response {
    let Some((name, format)) = split_file(&file) else { return unknown_format() };
    let result = match name {
        "requests" => create(&app, req).await,
        "discovery" | "services" => Err(Failure::new(StatusCode::METHOD_NOT_ALLOWED, "该资源只能用 GET 读取")),
        _ => Err(no_such_resource()),
    };
    reply(format, result)
}

async fn create<S: Store>(app: &App<S>, req: HttpRequest) -> Result<Document, Failure> {
    let client_ip = crate::auth::client_address(req.extensions(), req.headers(), &app.settings().trusted_proxies);
    let query = query_pairs(req.uri())?;
    let body = read_body(req, app).await?;
    let params = Params::new(query.into_iter().chain(body.fields));
    params.check_controls()?;
    params.check_jurisdiction()?;
    let caller = api_key_caller(app, &params, client_ip).await?;
    let categories = app.caches().categories();
    let code = params.get("service_code").ok_or_else(|| bad("缺少 service_code（服务编码，即诉求分类编码）"))?;
    let service = services::find(&categories, code).ok_or_else(|| services::unknown_service(code))?;
    let new = new_request(&params, &categories, service, &app.caches().org())?;
    let media = checked_media(body.media, app.settings().max_attachment_bytes)?;
    let (request, saved) = app.requests().take_in_with_media(&caller, new, media).await?;
    Ok(answer(&request, saved))
}

fn bad(description: impl Into<String>) -> Failure {
    Failure::bad_request(description)
}

/// `[{"service_request_id", "service_notice", "account_id": null}]`.
fn answer(request: &Request, media_saved: bool) -> Document {
    let mut notice = service_notice(request.time_limits.as_ref()).unwrap_or_default();
    if !media_saved {
        notice.push_str("；附件未能保存，请通过其他渠道补充");
    }
    let item = Fields::new()
        .text("service_request_id", request.tracking_no.clone())
        .text("service_notice", notice)
        .with("account_id", Node::Null)
        .build();
    Document::list("service_requests", "request", vec![item])
}

/// The API key is one of our API tokens, whose role may take in requests.
async fn api_key_caller<S: Store>(app: &App<S>, params: &Params, client_ip: Option<String>) -> Result<Caller, Failure> {
    let key = params.get("api_key").ok_or_else(|| Failure::forbidden("缺少 api_key"))?;
    let caller =
        app.accounts().token_caller(key, client_ip).await?.ok_or_else(|| Failure::forbidden("api_key 无效或已吊销"))?;
    if !matches!(caller.actor, Actor::Staff(_)) || !caller.may(Permission::Intake) {
        return Err(Failure::forbidden("该 api_key 不能受理诉求：须为话务员或派单员角色的接口令牌"));
    }
    Ok(caller)
}

/// The fields and files of a form-encoded or multipart body.
#[derive(Default)]
struct Body {
    fields: Vec<(String, String)>,
    media: Vec<Bytes>,
}

async fn read_body<S: Store>(req: HttpRequest, app: &App<S>) -> Result<Body, Failure> {
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, app).await.map_err(|_| malformed())?;
        return read_multipart(multipart).await;
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(req, app)
            .await
            .map_err(|e| if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { malformed() })?;
        return Ok(Body { fields, media: Vec::new() });
    }
    let bytes = Bytes::from_request(req, app).await.map_err(|_| too_large())?;
    if bytes.is_empty() { Ok(Body::default()) } else { Err(malformed()) }
}

async fn read_multipart(mut multipart: Multipart) -> Result<Body, Failure> {
    let mut body = Body::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "media" {
            body.media.push(field.bytes().await.map_err(multipart_error)?);
        } else {
            body.fields.push((name, field.text().await.map_err(multipart_error)?));
        }
    }
    Ok(body)
}

fn multipart_error(e: MultipartError) -> Failure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { malformed() }
}

fn malformed() -> Failure {
    bad("请求体应为 application/x-www-form-urlencoded 或 multipart/form-data")
}

fn too_large() -> Failure {
    Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "请求体过大")
}

/// Builds the intake from the parameters, as `POST /api/v1/requests` would.
fn new_request(
    params: &Params,
    categories: &[Category],
    service: &Category,
    org: &OrgTree,
) -> Result<NewRequest, Failure> {
    let definitions = services::attributes_of(categories, service);
    let answers = attributes(params, &definitions)?;
    let kind = answers.one("request_kind").and_then(RequestKind::parse).ok_or_else(|| bad("缺少诉求类型"))?;
    let (title, content) = texts(params, service, &answers, &definitions)?;
    Ok(NewRequest {
        kind,
        urgency: Urgency::Normal,
        channel: Channel::Api,
        asker: asker(&answers)?,
        contact: contact(params)?,
        title,
        content,
        category_id: service.id,
        location: location(params, org)?,
        ledger_ref: None,
        check_code: new_check_code(),
        submitted_by: None,
        due_at: None,
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    })
}

/// The answers to a service's attributes, list values as their keys.
struct Answers(HashMap<&'static str, Vec<String>>);

impl Answers {
    fn one(&self, code: &str) -> Option<&str> {
        self.0.get(code).and_then(|v| v.first()).map(String::as_str)
    }
}

/// `attribute[code]=v` and `attribute[code][]=v` (repeatable for multivaluelist).
fn attributes(params: &Params, definitions: &[Attribute]) -> Result<Answers, Failure> {
    let mut given: HashMap<&'static str, Vec<String>> = HashMap::new();
    for (key, value) in params.pairs() {
        let Some(code) = attribute_code(key)? else { continue };
        let definition = definitions
            .iter()
            .find(|d| d.code == code)
            .ok_or_else(|| bad(format!("该服务没有属性「{code}」，见服务定义 services/{{service_code}}")))?;
        let value = match definition.datatype {
            Datatype::String => value.to_owned(),
            Datatype::SingleValueList | Datatype::MultiValueList => definition
                .key_of(value)
                .ok_or_else(|| bad(format!("属性 {code} 的取值「{value}」不在可选值中")))?
                .to_owned(),
        };
        let values = given.entry(definition.code).or_default();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    check_counts(&given, definitions)?;
    Ok(Answers(given))
}

/// Required attributes are there; single-valued ones have one value.
fn check_counts(given: &HashMap<&'static str, Vec<String>>, definitions: &[Attribute]) -> Result<(), Failure> {
    for definition in definitions {
        match given.get(definition.code).map(Vec::len) {
            None if definition.required => {
                return Err(bad(format!("缺少必填属性 attribute[{}]（{}）", definition.code, definition.description)));
            }
            Some(n) if n > 1 && definition.datatype != Datatype::MultiValueList => {
                return Err(bad(format!("属性 {} 只能有一个取值", definition.code)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The code in `attribute[code]` or `attribute[code][]`; `None` for other parameters.
fn attribute_code(key: &str) -> Result<Option<&str>, Failure> {
    let Some(rest) = key.strip_prefix("attribute[") else { return Ok(None) };
    let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
    match code {
        Some(code) if !code.is_empty() && !code.contains(['[', ']']) => Ok(Some(code)),
        _ => Err(bad(format!("参数名「{key}」应为 attribute[代码] 或 attribute[代码][]"))),
    }
}

fn asker(answers: &Answers) -> Result<Asker, Failure> {
    match (answers.one("enterprise_credit_code"), answers.one("enterprise_name")) {
        (Some(code), Some(name)) => {
            Ok(Asker::Enterprise { credit_code: CreditCode::parse(code)?, name: request::enterprise_name(name)? })
        }
        (Some(_), None) => Err(bad("填写统一社会信用代码时须同时填写企业名称 attribute[enterprise_name]")),
        (None, Some(_)) => Err(bad("填写企业名称时须同时填写统一社会信用代码 attribute[enterprise_credit_code]")),
        (None, None) => Ok(Asker::Resident),
    }
}

/// Our requests need a phone to call the asker back; the name is optional.
fn contact(params: &Params) -> Result<Contact, Failure> {
    let phone = params
        .get("phone")
        .ok_or_else(|| bad("缺少联系电话 phone：本平台需要电话回访诉求人，请填写手机号或带区号的固定电话"))?;
    let phone = Phone::parse(phone).map_err(|e| bad(format!("联系电话 phone 不正确：{}", e.message)))?;
    let name = contact_name(params.get("first_name"), params.get("last_name"));
    let email = match params.get("email") {
        Some(email) => {
            Some(mashangban_domain::notify::parse_email(email).map_err(|_| bad("电子邮箱 email 格式不正确"))?)
        }
        None => None,
    };
    Ok(Contact { name: required_text("联系人姓名", &name, NAME_MAX)?, phone, email })
}

/// Chinese names put the family name (`last_name`) first.
fn contact_name(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(first), Some(last)) if first.is_ascii() && last.is_ascii() => format!("{first} {last}"),
        (Some(first), Some(last)) => format!("{last}{first}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => NO_NAME.to_owned(),
    }
}

/// The title (the first 30 characters of the description, or the service
/// name) and the content (the description and the answers to list attributes).
fn texts(
    params: &Params,
    service: &Category,
    answers: &Answers,
    definitions: &[Attribute],
) -> Result<(String, String), Failure> {
    let description = params.get("description");
    if description.is_some_and(|d| d.chars().count() > CONTENT_MAX) {
        return Err(bad(format!("描述 description 不能超过{CONTENT_MAX}个字")));
    }
    let text = description.unwrap_or(&service.name);
    let mut content = text.to_owned();
    if let Some(periods) = definitions.iter().find(|d| d.code == OCCURRENCE_PERIODS) {
        let names: Vec<&str> =
            answers.0.get(OCCURRENCE_PERIODS).into_iter().flatten().filter_map(|k| periods.name_of(k)).collect();
        if !names.is_empty() {
            content.push_str(&format!("\n【发生时段】{}", names.join("、")));
        }
    }
    let title: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(TITLE_CHARS).collect();
    Ok((required_text("标题", &title, TITLE_MAX)?, required_text("诉求内容", &content, CONTENT_MAX)?))
}

/// `lat`+`long` (WGS-84), `address_string`, `address_id` (a town code): at least one.
fn location(params: &Params, org: &OrgTree) -> Result<Location, Failure> {
    let point = match (params.get("lat"), params.get("long")) {
        (Some(lat), Some(long)) => {
            Some(GeoPoint::new(coordinate("lat", lat)?, coordinate("long", long)?, Datum::Wgs84)?)
        }
        (None, None) => None,
        _ => return Err(bad("lat 与 long 须同时提供")),
    };
    let address = optional_text("地址", params.get("address_string"), ADDRESS_MAX)?;
    let town_id = params.get("address_id").map(|code| town(org, code)).transpose()?;
    if point.is_none() && address.is_none() && town_id.is_none() {
        return Err(bad("缺少位置：请提供 lat 和 long（WGS-84），或 address_string，或 address_id（镇街编码）"));
    }
    Ok(Location { town_id, address, point })
}

fn coordinate(key: &str, value: &str) -> Result<f64, Failure> {
    value.parse::<f64>().map_err(|_| bad(format!("{key} 应为十进制度数，如 22.5176")))
}

fn town(org: &OrgTree, code: &str) -> Result<UnitId, Failure> {
    org.by_code(code)
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| u.id)
        .ok_or_else(|| bad(format!("address_id「{code}」不是镇街编码（见 GET /api/v1/units 中 kind 为 town 的单位）")))
}

/// The `media` files, checked before the request is taken in (count, size,
/// type); each named after its position and sniffed type.
fn checked_media(files: Vec<Bytes>, max_bytes: usize) -> Result<Vec<NewFile>, Failure> {
    let files: Vec<Bytes> = files.into_iter().filter(|b| !b.is_empty()).collect();
    if files.len() > MAX_MEDIA {
        return Err(bad(format!("一次最多上传{MAX_MEDIA}个 media 文件")));
    }
    files
        .into_iter()
        .enumerate()
        .map(|(n, bytes)| {
            if bytes.len() > max_bytes {
                return Err(Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("单个附件不能超过 {} MB", max_bytes / 1024 / 1024),
                ));
            }
            if sniff(&bytes).is_none() {
                return Err(bad("media 的文件类型不受支持：可上传图片、PDF、Office 文档、录音、视频或纯文本"));
            }
            let extension = infer::get(&bytes).map_or("txt", |kind| kind.extension());
            Ok(NewFile { name: Some(format!("open311-media-{}.{extension}", n + 1)), bytes: bytes.to_vec() })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_and_contact_names() {
        assert_eq!(attribute_code("attribute[request_kind]").unwrap(), Some("request_kind"));
        assert_eq!(attribute_code("attribute[occurrence_periods][]").unwrap(), Some("occurrence_periods"));
        assert_eq!(attribute_code("description").unwrap(), None);
        assert!(attribute_code("attribute[]").is_err());
        assert!(attribute_code("attribute[a][b]").is_err());
        assert_eq!(contact_name(Some("嘉欣"), Some("陈")), "陈嘉欣");
        assert_eq!(contact_name(Some("Ada"), Some("Lovelace")), "Ada Lovelace");
        assert_eq!(contact_name(None, None), NO_NAME);
    }
}
