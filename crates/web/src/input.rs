//! Parsing and validating what clients send: intake forms and action bodies.
//! Codes (unit, category, town) are resolved against the caches here.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{OrgTree, UnitId, UnitKind, UserId};
use mashangban_domain::request::{
    self, Asker, AttachmentId, Channel, Contact, Location, NewRequest, Rating, RequestKind, Urgency,
};
use mashangban_domain::time::parse_instant;
use mashangban_domain::validation::{CreditCode, Datum, GeoPoint, Phone, optional_text, required_text};
use mashangban_store::Category;

use crate::error::ApiError;
use crate::json::parse_json;

/// An intake (受理) as clients send it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeInput {
    pub kind: RequestKind,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default)]
    pub channel: Option<Channel>,
    pub asker: AskerInput,
    pub contact: ContactInput,
    pub title: String,
    pub content: String,
    /// Category code, e.g. `biz.register`.
    pub category: String,
    /// Town code, e.g. `xiaolan`.
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<PointInput>,
    #[serde(default)]
    pub ledger_ref: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AskerInput {
    Enterprise { credit_code: String, name: String },
    Resident,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    pub phone: String,
    /// Optional e-mail for notices.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointInput {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default), `gcj02` (AMap, Tencent) or `bd09` (Baidu).
    #[serde(default)]
    pub datum: Option<Datum>,
}

/// What the caller decided beyond the form itself.
pub struct IntakeContext<'a> {
    pub org: &'a OrgTree,
    pub categories: &'a [Category],
    pub channel: Channel,
    pub check_code: String,
    pub submitted_by: Option<UserId>,
}

pub fn new_request(input: IntakeInput, ctx: IntakeContext<'_>) -> Result<NewRequest, ApiError> {
    let asker = match input.asker {
        AskerInput::Enterprise { credit_code, name } => {
            Asker::Enterprise { credit_code: CreditCode::parse(&credit_code)?, name: request::enterprise_name(&name)? }
        }
        AskerInput::Resident => Asker::Resident,
    };
    let contact = Contact {
        name: required_text("联系人姓名", &input.contact.name, request::NAME_MAX)?,
        phone: Phone::parse(&input.contact.phone)?,
        email: match input.contact.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) => Some(mashangban_domain::notify::parse_email(email)?),
            None => None,
        },
    };
    let category = ctx
        .categories
        .iter()
        .find(|c| c.code == input.category && c.active)
        .ok_or_else(|| ApiError::invalid("unknown_category", format!("诉求分类「{}」不存在", input.category)))?;
    let town_id = match input.town.as_deref().filter(|t| !t.is_empty()) {
        Some(code) => Some(town_by_code(ctx.org, code)?),
        None => None,
    };
    let point = match input.location {
        Some(p) => Some(GeoPoint::new(p.lat, p.lon, p.datum.unwrap_or(Datum::Wgs84))?),
        None => None,
    };
    Ok(NewRequest {
        kind: input.kind,
        urgency: input.urgency.unwrap_or(Urgency::Normal),
        channel: ctx.channel,
        asker,
        contact,
        title: required_text("标题", &input.title, request::TITLE_MAX)?,
        content: required_text("诉求内容", &input.content, request::CONTENT_MAX)?,
        category_id: category.id,
        location: Location {
            town_id,
            address: optional_text("地址", input.address.as_deref(), request::ADDRESS_MAX)?,
            point,
        },
        ledger_ref: optional_text("台账编号", input.ledger_ref.as_deref(), 100)?,
        check_code: ctx.check_code,
        submitted_by: ctx.submitted_by,
        due_at: None,
        deadlines: Default::default(),
        time_limits: None,
    })
}

fn town_by_code(org: &OrgTree, code: &str) -> Result<UnitId, ApiError> {
    org.by_code(code)
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| u.id)
        .ok_or_else(|| ApiError::invalid("unknown_town", format!("镇街「{code}」不存在")))
}

/// A handling unit by code.
pub fn unit_by_code(org: &OrgTree, code: &str) -> Result<UnitId, ApiError> {
    org.by_code(code)
        .filter(|u| u.active && u.kind != UnitKind::City)
        .map(|u| u.id)
        .ok_or_else(|| ApiError::invalid("unknown_unit", format!("承办单位「{code}」不存在")))
}

/// An action body before codes that need the store are resolved.
pub enum ActionInput {
    Ready(Action),
    /// Merge into the request with this tracking number.
    MergeInto(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DispatchBody {
    lead_unit: String,
    #[serde(default)]
    co_units: Vec<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionalReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentBody {
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionBody {
    new_due: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    answer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub rating: Rating,
    pub resolved: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuperviseBody {
    instructions: String,
    due: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrgeBody {
    message: String,
}

/// Every action name the API accepts at `POST /api/v1/requests/{no}/{action}`.
pub const ACTION_NAMES: &[&str] = &[
    "request-reopen",
    "dispatch",
    "sign",
    "return",
    "redispatch",
    "refuse-return",
    "stage-reply",
    "request-extension",
    "approve-extension",
    "refuse-extension",
    "reply",
    "reject-reply",
    "close",
    "direct-close",
    "follow-up",
    "reopen",
    "merge",
    "withdraw",
    "archive",
    "suspend",
    "resume",
    "supervise",
    "urge",
];

/// Parses an action body; `attachment_ids` may accompany any action.
pub fn parse_action(name: &str, body: &[u8], org: &OrgTree) -> Result<(ActionInput, Vec<AttachmentId>), ApiError> {
    let mut value: serde_json::Value = parse_json(body)?;
    let attachment_ids = match value.as_object_mut().and_then(|o| o.remove("attachment_ids")) {
        Some(ids) => serde_json::from_value(ids)
            .map_err(|_| ApiError::invalid("invalid_field", "「attachment_ids」应为附件编号数组"))?,
        None => Vec::new(),
    };
    let body = serde_json::to_vec(&value).map_err(|_| ApiError::internal())?;
    let ready = |a: Action| Ok(ActionInput::Ready(a));
    let input = match name {
        "dispatch" | "redispatch" => {
            let b: DispatchBody = parse(&body)?;
            let lead = unit_by_code(org, &b.lead_unit)?;
            let co = b.co_units.iter().map(|c| unit_by_code(org, c)).collect::<Result<Vec<_>, _>>()?;
            if name == "dispatch" {
                ready(Action::Dispatch { lead, co, comment: b.comment })
            } else {
                ready(Action::Redispatch { lead, co, comment: b.comment })
            }
        }
        "sign" => ready(Action::SignFor { comment: parse::<CommentBody>(&body)?.comment }),
        "return" => ready(Action::Return { reason: parse::<ReasonBody>(&body)?.reason }),
        "refuse-return" => ready(Action::RefuseReturn { reason: parse::<ReasonBody>(&body)?.reason }),
        "stage-reply" => ready(Action::StageReply { content: parse::<ContentBody>(&body)?.content }),
        "request-extension" => {
            let b: ExtensionBody = parse(&body)?;
            ready(Action::RequestExtension { requested_due: parse_due("new_due", &b.new_due)?, reason: b.reason })
        }
        "approve-extension" => ready(Action::ApproveExtension { comment: parse::<CommentBody>(&body)?.comment }),
        "refuse-extension" => ready(Action::RefuseExtension { reason: parse::<ReasonBody>(&body)?.reason }),
        "reply" => ready(Action::Reply { content: parse::<ContentBody>(&body)?.content }),
        "reject-reply" => ready(Action::RejectReply { reason: parse::<ReasonBody>(&body)?.reason }),
        "close" => ready(Action::Close { comment: parse::<CommentBody>(&body)?.comment }),
        "direct-close" => ready(Action::DirectClose { answer: parse::<AnswerBody>(&body)?.answer }),
        "follow-up" => {
            let b: FollowUpBody = parse(&body)?;
            ready(Action::FollowUp { rating: b.rating, resolved: b.resolved, comment: b.comment })
        }
        "reopen" => ready(Action::Reopen { reason: parse::<ReasonBody>(&body)?.reason }),
        "request-reopen" => ready(Action::RequestReopen { reason: parse::<ReasonBody>(&body)?.reason }),
        "merge" => Ok(ActionInput::MergeInto(parse::<MergeBody>(&body)?.into)),
        "withdraw" => ready(Action::Withdraw { reason: parse::<OptionalReasonBody>(&body)?.reason }),
        "archive" => {
            parse::<EmptyBody>(&body)?;
            ready(Action::Archive)
        }
        "suspend" => ready(Action::Suspend { reason: parse::<ReasonBody>(&body)?.reason }),
        "resume" => ready(Action::Resume { comment: parse::<CommentBody>(&body)?.comment }),
        "supervise" => {
            let b: SuperviseBody = parse(&body)?;
            ready(Action::Supervise { instructions: b.instructions, due: parse_due("due", &b.due)? })
        }
        "urge" => ready(Action::Urge { message: parse::<UrgeBody>(&body)?.message }),
        _ => {
            Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "unknown_action", format!("没有名为「{name}」的操作")))
        }
    }?;
    Ok((input, attachment_ids))
}

fn parse_due(field: &str, value: &str) -> Result<mashangban_domain::time::Instant, ApiError> {
    parse_instant(value).ok_or_else(|| {
        ApiError::invalid("invalid_datetime", format!("「{field}」应为带时区的时间，如 2026-12-01T17:30:00+08:00"))
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    parse_json(body)
}

/// Optional comment text (used by public endpoints).
pub fn optional_comment(text: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(optional_text("意见", text, request::COMMENT_MAX)?)
}
