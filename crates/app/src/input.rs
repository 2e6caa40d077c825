//! What clients send about requests, as typed input: the intake form, the
//! action bodies (one tagged enum: the action list exists here once), the
//! asker's own steps and the list filters. Codes (unit, category, town) are
//! resolved against the caches here. Every type that is a JSON body derives
//! its JSON schema, which the OpenAPI document and the pages' forms read.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{OrgTree, UnitId, UnitKind, UserId};
use mashangban_domain::request::{
    self, Asker, AttachmentId, Channel, Contact, Location, NewRequest, Rating, RequestKind, State as RequestState,
    Urgency,
};
use mashangban_domain::time::{Instant, parse_instant, shanghai};
use mashangban_domain::validation::{CreditCode, Datum, GeoPoint, Phone, optional_text, required_text};
use mashangban_store::{Category, ListFilter, ListOrder};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::json::{from_value, parse_json};

// ---- intake ------------------------------------------------------------------------------

/// An intake (受理) as clients send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeInput {
    pub kind: RequestKind,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// The portal may only use `web` or `mobile`; staff must give one; API tokens are always `api`.
    #[serde(default)]
    pub channel: Option<Channel>,
    pub asker: AskerInput,
    pub contact: ContactInput,
    #[schemars(length(max = 100))]
    pub title: String,
    #[schemars(length(max = 4000))]
    pub content: String,
    /// Category code, e.g. `biz.register` (see `GET /api/v1/categories`).
    pub category: String,
    /// Town code, e.g. `xiaolan` (see `GET /api/v1/units`).
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<PointInput>,
    /// The ledger item (台账条目) of a campaign this request belongs to, as `type:key` (its page shows
    /// it, e.g. `outlet:HE000001442000GY0001`); one that does not exist is `422 unknown_ledger_item`.
    #[serde(default)]
    pub ledger_ref: Option<String>,
}

/// Who asks: an enterprise (with its credit code) or a resident.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AskerInput {
    Enterprise {
        /// Unified social credit code (统一社会信用代码, 18 characters).
        credit_code: String,
        name: String,
    },
    Resident,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    /// A mobile or fixed-line number.
    pub phone: String,
    /// Optional e-mail for notices.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PointInput {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default), `gcj02` (AMap, Tencent) or `bd09` (Baidu).
    #[serde(default)]
    pub datum: Option<Datum>,
}

/// What the use case decided beyond the form itself.
pub struct IntakeContext<'a> {
    pub org: &'a OrgTree,
    pub categories: &'a [Category],
    pub channel: Channel,
    pub check_code: String,
    pub submitted_by: Option<UserId>,
    /// The liaison's contact card the request came through, checked by the caller.
    pub card: Option<mashangban_domain::event::CardSource>,
}

impl IntakeInput {
    /// The validated request, its codes resolved.
    pub fn into_new_request(self, ctx: IntakeContext<'_>) -> AppResult<NewRequest> {
        let asker = match self.asker {
            AskerInput::Enterprise { credit_code, name } => Asker::Enterprise {
                credit_code: CreditCode::parse(&credit_code)?,
                name: request::enterprise_name(&name)?,
            },
            AskerInput::Resident => Asker::Resident,
        };
        let urgency = self.urgency.unwrap_or(Urgency::Normal);
        request::check_act_now(urgency, &asker)?;
        let contact = Contact {
            name: required_text("联系人姓名", &self.contact.name, request::NAME_MAX)?,
            phone: Phone::parse(&self.contact.phone)?,
            email: match self.contact.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                Some(email) => Some(mashangban_domain::notify::parse_email(email)?),
                None => None,
            },
        };
        let category = ctx
            .categories
            .iter()
            .find(|c| c.code == self.category && c.active)
            .ok_or_else(|| AppError::invalid("unknown_category", format!("诉求分类「{}」不存在", self.category)))?;
        let town_id = match self.town.as_deref().filter(|t| !t.is_empty()) {
            Some(code) => Some(town_by_code(ctx.org, code)?),
            None => None,
        };
        let point = match self.location {
            Some(p) => Some(GeoPoint::new(p.lat, p.lon, p.datum.unwrap_or(Datum::Wgs84))?),
            None => None,
        };
        Ok(NewRequest {
            kind: self.kind,
            urgency,
            channel: ctx.channel,
            asker,
            contact,
            title: required_text("标题", &self.title, request::TITLE_MAX)?,
            content: required_text("诉求内容", &self.content, request::CONTENT_MAX)?,
            category_id: category.id,
            location: Location {
                town_id,
                address: optional_text("地址", self.address.as_deref(), request::ADDRESS_MAX)?,
                point,
            },
            ledger_ref: optional_text("台账编号", self.ledger_ref.as_deref(), 100)?,
            check_code: ctx.check_code,
            submitted_by: ctx.submitted_by,
            due_at: None,
            deadlines: Default::default(),
            time_limits: None,
            card: ctx.card,
            visit: None,
            screening: None,
        })
    }
}

fn town_by_code(org: &OrgTree, code: &str) -> AppResult<UnitId> {
    org.by_code(code)
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| u.id)
        .ok_or_else(|| AppError::invalid("unknown_town", format!("镇街「{code}」不存在")))
}

/// A handling unit by code.
pub fn unit_by_code(org: &OrgTree, code: &str) -> AppResult<UnitId> {
    org.by_code(code)
        .filter(|u| u.active && u.kind != UnitKind::City)
        .map(|u| u.id)
        .ok_or_else(|| AppError::invalid("unknown_unit", format!("承办单位「{code}」不存在")))
}

/// A unit by code for an assignment within a unit (二次派单): whether it lies below the handling unit
/// is the lifecycle's check (`not_a_sub_unit`).
fn sub_unit_by_code(org: &OrgTree, code: &str) -> AppResult<UnitId> {
    org.by_code(code.trim())
        .map(|u| u.id)
        .ok_or_else(|| AppError::invalid("not_a_sub_unit", format!("下级单位「{code}」不存在")))
}

// ---- actions -----------------------------------------------------------------------------

/// An action on a request (办理操作): its name is the last segment of
/// `POST /api/v1/requests/{no}/{action}`, its body the JSON sent there. This
/// enum is the one list of actions: the API parses with it, the pages read
/// their form fields from its schema ([`ActionName::fields`]), the OpenAPI
/// document shows its bodies, and [`ActionName`] names and iterates it.
#[derive(Debug, Clone, Deserialize, JsonSchema, strum::EnumDiscriminants)]
#[serde(tag = "action", content = "body", rename_all = "kebab-case", deny_unknown_fields)]
#[strum_discriminants(
    name(ActionName),
    derive(Hash, PartialOrd, Ord, strum::EnumIter, strum::EnumString, strum::IntoStaticStr),
    strum(serialize_all = "kebab-case")
)]
pub enum ActionInput {
    /// Dispatch (派单) to a lead unit and co-handling units.
    Dispatch(DispatchBody),
    /// Sign for (签收) by the lead unit.
    Sign(CommentBody),
    /// Return as misrouted (退单).
    Return(ReasonBody),
    /// Send a returned request on (改派).
    Redispatch(DispatchBody),
    /// Refuse a return (驳回退单).
    RefuseReturn(ReasonBody),
    /// Stage reply (阶段性答复).
    StageReply(ContentBody),
    /// Ask for more time (申请延期).
    RequestExtension(ExtensionBody),
    /// Approve the pending extension (同意延期).
    ApproveExtension(CommentBody),
    /// Refuse the pending extension (驳回延期).
    RefuseExtension(ReasonBody),
    /// Reply (答复).
    Reply(ContentBody),
    /// Send the reply back (驳回答复).
    RejectReply(ReasonBody),
    /// Close (办结).
    Close(CommentBody),
    /// Answer a consultation at once (直接办结).
    DirectClose(AnswerBody),
    /// Follow-up and rating (回访).
    FollowUp(FollowUpBody),
    /// Reopen (重办).
    Reopen(ReasonBody),
    /// The asker asks for the request to be handled again (申请重办).
    RequestReopen(ReasonBody),
    /// Merge a duplicate into another request (合并).
    Merge(MergeBody),
    /// Withdraw (撤回).
    Withdraw(OptionalReasonBody),
    /// Archive (归档).
    Archive(EmptyBody),
    /// Suspend (挂起): the deadlines pause.
    Suspend(ReasonBody),
    /// Resume (恢复办理).
    Resume(CommentBody),
    /// Put under supervision (督办) with instructions and a due time.
    Supervise(SuperviseBody),
    /// Urge the lead unit (催办).
    Urge(UrgeBody),
    /// A remark (批注) by someone following the request (a liaison cadre, a
    /// supervisor, a city leader); the state does not change.
    Comment(RemarkBody),
    /// An internal note (内部备注) by any member of staff: kept in the history,
    /// never shown to the asker, on the public progress page or in Open311.
    Note(RemarkBody),
    /// Correct the kind, urgency (马上办), category or town (改类改急); the
    /// deadlines are counted again from receipt under the time-limit rules
    /// in force at receipt. Dispatchers and administrators; operators until dispatch.
    Reclassify(ReclassifyBody),
    /// A co-handling unit's part of the answer (会签意见), for the lead unit; the lead's reply waits for
    /// every co-unit's part until the co-units' deadline. Staff of a co-handling unit.
    CoAnswer(ContentBody),
    /// Approve the reply waiting for review (审核通过): it goes to the asker. The lead unit's leader.
    ApproveReply(CommentBody),
    /// Send the reply waiting for review back to the handler (审核退回). The lead unit's leader.
    SendBackReply(ReasonBody),
    /// Assign the request within the unit (二次派单) to a section, village or community directly below
    /// it, with a deadline inside the unit's. Staff of the lead or a co-handling unit.
    SubDispatch(SubDispatchBody),
    /// The sub-unit signs for its assignment (下级签收).
    SubSign(CommentBody),
    /// The sub-unit replies to its unit (下级回复); the asker never sees it.
    SubReply(ContentBody),
    /// Release a submission held by spam screening (甄别放行) to the dispatcher's queue.
    /// Operators and dispatchers.
    Release(CommentBody),
    /// Mark a received submission spam (标记为垃圾信息): archived, never dispatched; the classifier
    /// learns from it. Operators and dispatchers.
    MarkSpam(OptionalReasonBody),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubDispatchBody {
    /// The sub-unit's code (a unit of kind `subunit` directly below the handling unit).
    pub sub_unit: String,
    /// The sub-unit's deadline, not after the unit's own.
    #[schemars(extend("format" = "date-time"))]
    pub due: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// The lead unit's code.
    pub lead_unit: String,
    /// Co-handling units' codes (协办单位).
    #[serde(default)]
    pub co_units: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionalReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentBody {
    pub content: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionBody {
    /// The new reply deadline asked for.
    #[schemars(extend("format" = "date-time"))]
    pub new_due: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub answer: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub rating: Rating,
    pub resolved: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The tracking number of the request this one duplicates.
    pub into: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuperviseBody {
    pub instructions: String,
    #[schemars(extend("format" = "date-time"))]
    pub due: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgeBody {
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemarkBody {
    pub text: String,
}

/// A correction (改类改急): the fields to change, at least one; absent or
/// blank fields stay as they are.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclassifyBody {
    /// The corrected type (诉求类型).
    #[serde(default)]
    pub kind: Option<RequestKind>,
    /// The corrected urgency; `act_now` (马上办) only for enterprises.
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// The corrected category's code (see `GET /api/v1/categories`).
    #[serde(default)]
    pub category: Option<String>,
    /// The corrected town's code (see `GET /api/v1/units`).
    #[serde(default)]
    pub town: Option<String>,
    /// Why (更正原因), kept in the history.
    pub reason: String,
}

impl ReclassifyBody {
    /// The category and town codes resolved (blank: unchanged).
    pub fn resolve(&self, org: &OrgTree, categories: &[Category]) -> AppResult<(Option<i64>, Option<UnitId>)> {
        resolve_category_and_town(org, categories, self.category.as_deref(), self.town.as_deref())
    }
}

/// An active category's and a town's codes resolved (blank or none: none); unknown codes are
/// `unknown_category` / `unknown_town` (422).
pub(crate) fn resolve_category_and_town<'a>(
    org: &OrgTree,
    categories: &[Category],
    category: Option<&'a str>,
    town: Option<&'a str>,
) -> AppResult<(Option<i64>, Option<UnitId>)> {
    let given = |v: Option<&'a str>| v.map(str::trim).filter(|v| !v.is_empty());
    let category = match given(category) {
        Some(code) => Some(
            categories
                .iter()
                .find(|c| c.code == code && c.active)
                .map(|c| c.id)
                .ok_or_else(|| AppError::invalid("unknown_category", format!("诉求分类「{code}」不存在")))?,
        ),
        None => None,
    };
    let town = match given(town) {
        Some(code) => Some(town_by_code(org, code)?),
        None => None,
    };
    Ok((category, town))
}

/// An action with the attachments (already uploaded) its event cites; any action may carry them.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub action: ActionInput,
    pub attachment_ids: Vec<AttachmentId>,
    /// The request's version the person saw (`version` in the body): a request changed since is
    /// refused with `409 version_changed`, so an action is never taken on a state nobody saw.
    pub expected_version: Option<i64>,
}

/// An action after parsing, before the codes that need the store are resolved.
pub enum Step {
    Ready(Action),
    /// Merge into the request with this tracking number.
    MergeInto(String),
    /// A correction: its deadlines need the request's rules and history.
    Reclassify(ReclassifyBody),
}

impl ActionRequest {
    /// Parses the action `name` with its JSON `body`: `unknown_action` (404)
    /// for a name that is no action, the JSON codes for a bad body.
    pub fn parse(name: &str, body: &[u8]) -> AppResult<Self> {
        let name = ActionName::parse(name)?;
        let mut value: Value = parse_json(body)?;
        let attachment_ids = match value.as_object_mut().and_then(|o| o.remove("attachment_ids")) {
            Some(ids) => serde_json::from_value(ids)
                .map_err(|_| AppError::invalid("invalid_field", "「attachment_ids」应为附件编号数组"))?,
            None => Vec::new(),
        };
        let expected_version = match value.as_object_mut().and_then(|o| o.remove("version")) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| AppError::invalid("invalid_field", "「version」应为整数"))?),
        };
        let tagged = serde_json::json!({ "action": name.as_str(), "body": value });
        Ok(Self { action: from_value(tagged)?, attachment_ids, expected_version })
    }
}

impl ActionName {
    /// The action of a name, or `unknown_action` (404).
    pub fn parse(name: &str) -> AppResult<Self> {
        Self::from_str(name)
            .map_err(|_| AppError::new(ErrorKind::NotFound, "unknown_action", format!("没有名为「{name}」的操作")))
    }

    /// The name in paths and forms, e.g. `request-extension`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every action.
    pub fn all() -> impl Iterator<Item = ActionName> {
        <ActionName as strum::IntoEnumIterator>::iter()
    }

    /// The domain action with placeholder values, to ask the lifecycle
    /// whether an actor may take this action on a request in its state.
    pub fn probe(self, now: Instant) -> Action {
        let none = String::new;
        match self {
            Self::Dispatch => Action::Dispatch { lead: 0, co: Vec::new(), comment: None },
            Self::Sign => Action::SignFor { comment: None },
            Self::Return => Action::Return { reason: none() },
            Self::Redispatch => Action::Redispatch { lead: 0, co: Vec::new(), comment: None, due: None },
            Self::RefuseReturn => Action::RefuseReturn { reason: none(), due: None },
            Self::StageReply => Action::StageReply { content: none() },
            Self::RequestExtension => Action::RequestExtension { requested_due: now, reason: none() },
            Self::ApproveExtension => Action::ApproveExtension { comment: None },
            Self::RefuseExtension => Action::RefuseExtension { reason: none() },
            Self::Reply => Action::Reply { content: none() },
            Self::RejectReply => Action::RejectReply { reason: none() },
            Self::Close => Action::Close { comment: None },
            Self::DirectClose => Action::DirectClose { answer: none() },
            Self::FollowUp => Action::FollowUp { rating: Rating::Satisfied, resolved: true, comment: None },
            Self::Reopen => Action::Reopen { reason: none() },
            Self::RequestReopen => Action::RequestReopen { reason: none() },
            Self::Merge => Action::Merge { parent_id: 0 },
            Self::Withdraw => Action::Withdraw { reason: None },
            Self::Archive => Action::Archive,
            Self::Suspend => Action::Suspend { reason: none() },
            Self::Resume => Action::Resume { comment: None },
            Self::Supervise => Action::Supervise { instructions: none(), due: now },
            Self::Urge => Action::Urge { message: none() },
            Self::Comment => Action::Comment { text: none() },
            Self::Note => Action::Note { text: none() },
            Self::Reclassify => Action::Reclassify(mashangban_domain::lifecycle::Reclassify {
                kind: None,
                urgency: None,
                category_id: None,
                town_id: None,
                reason: none(),
                rules: None,
                anchors: mashangban_domain::time_limit::RecountAnchors {
                    sign_for_from: None,
                    paused: chrono::Duration::zero(),
                },
            }),
            Self::CoAnswer => Action::CoAnswer { content: none() },
            Self::ApproveReply => Action::ApproveReply { comment: None },
            Self::SendBackReply => Action::SendBackReply { reason: none() },
            Self::SubDispatch => Action::SubDispatch { sub_unit: 0, due: now, comment: None },
            Self::SubSign => Action::SubSignFor { comment: None },
            Self::SubReply => Action::SubReply { content: none() },
            Self::Release => Action::Release { comment: None },
            Self::MarkSpam => Action::MarkSpam { reason: None },
        }
    }

    /// The fields of this action's body, read from its JSON schema.
    pub fn fields(self) -> &'static [FormField] {
        ACTION_FIELDS.get(self.as_str()).map_or(&[], Vec::as_slice)
    }
}

impl ActionInput {
    /// The domain action; unit codes resolved against the org tree.
    pub fn into_step(self, org: &OrgTree) -> AppResult<Step> {
        let ready = |a: Action| Ok(Step::Ready(a));
        let units = |b: &DispatchBody| -> AppResult<(UnitId, Vec<UnitId>)> {
            let lead = unit_by_code(org, &b.lead_unit)?;
            let co = b.co_units.iter().map(|c| unit_by_code(org, c)).collect::<AppResult<Vec<_>>>()?;
            Ok((lead, co))
        };
        match self {
            Self::Dispatch(b) => {
                let (lead, co) = units(&b)?;
                ready(Action::Dispatch { lead, co, comment: b.comment })
            }
            Self::Redispatch(b) => {
                let (lead, co) = units(&b)?;
                ready(Action::Redispatch { lead, co, comment: b.comment, due: None })
            }
            Self::Sign(b) => ready(Action::SignFor { comment: b.comment }),
            Self::Return(b) => ready(Action::Return { reason: b.reason }),
            Self::RefuseReturn(b) => ready(Action::RefuseReturn { reason: b.reason, due: None }),
            Self::StageReply(b) => ready(Action::StageReply { content: b.content }),
            Self::RequestExtension(b) => {
                ready(Action::RequestExtension { requested_due: parse_due("new_due", &b.new_due)?, reason: b.reason })
            }
            Self::ApproveExtension(b) => ready(Action::ApproveExtension { comment: b.comment }),
            Self::RefuseExtension(b) => ready(Action::RefuseExtension { reason: b.reason }),
            Self::Reply(b) => ready(Action::Reply { content: b.content }),
            Self::RejectReply(b) => ready(Action::RejectReply { reason: b.reason }),
            Self::Close(b) => ready(Action::Close { comment: b.comment }),
            Self::DirectClose(b) => ready(Action::DirectClose { answer: b.answer }),
            Self::FollowUp(b) => ready(Action::FollowUp { rating: b.rating, resolved: b.resolved, comment: b.comment }),
            Self::Reopen(b) => ready(Action::Reopen { reason: b.reason }),
            Self::RequestReopen(b) => ready(Action::RequestReopen { reason: b.reason }),
            Self::Merge(b) => Ok(Step::MergeInto(b.into)),
            Self::Withdraw(b) => ready(Action::Withdraw { reason: b.reason }),
            Self::Archive(EmptyBody {}) => ready(Action::Archive),
            Self::Suspend(b) => ready(Action::Suspend { reason: b.reason }),
            Self::Resume(b) => ready(Action::Resume { comment: b.comment }),
            Self::Supervise(b) => {
                ready(Action::Supervise { instructions: b.instructions, due: parse_due("due", &b.due)? })
            }
            Self::Urge(b) => ready(Action::Urge { message: b.message }),
            Self::Comment(b) => ready(Action::Comment { text: b.text }),
            Self::Note(b) => ready(Action::Note { text: b.text }),
            Self::Reclassify(b) => Ok(Step::Reclassify(b)),
            Self::CoAnswer(b) => ready(Action::CoAnswer { content: b.content }),
            Self::ApproveReply(b) => ready(Action::ApproveReply { comment: b.comment }),
            Self::SendBackReply(b) => ready(Action::SendBackReply { reason: b.reason }),
            Self::SubDispatch(b) => ready(Action::SubDispatch {
                sub_unit: sub_unit_by_code(org, &b.sub_unit)?,
                due: parse_due("due", &b.due)?,
                comment: b.comment,
            }),
            Self::SubSign(b) => ready(Action::SubSignFor { comment: b.comment }),
            Self::SubReply(b) => ready(Action::SubReply { content: b.content }),
            Self::Release(b) => ready(Action::Release { comment: b.comment }),
            Self::MarkSpam(b) => ready(Action::MarkSpam { reason: b.reason }),
        }
    }
}

fn parse_due(field: &str, value: &str) -> AppResult<Instant> {
    parse_instant(value).ok_or_else(|| {
        AppError::invalid("invalid_datetime", format!("「{field}」应为带时区的时间，如 2026-12-01T17:30:00+08:00"))
    })
}

/// One field of an action's body, as a form sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub name: String,
    pub kind: FieldKind,
}

/// How a form field becomes a JSON value of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Required text (or a required choice such as the rating), sent even when empty.
    Text,
    /// Optional text, left out when empty.
    Optional,
    /// A repeated field (multi-select), sent as an array.
    List,
    /// A date and time, sent as RFC 3339.
    Time,
    /// A yes/no choice, sent as a boolean.
    YesNo,
}

/// The fields of every action, by name, read once from the schema of [`ActionInput`].
static ACTION_FIELDS: LazyLock<BTreeMap<String, Vec<FormField>>> = LazyLock::new(|| {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true);
    let schema = settings.for_deserialize().into_generator().into_root_schema_for::<ActionInput>();
    action_bodies(schema.as_value()).into_iter().map(|(name, body)| (name, body_fields(&body))).collect()
});

/// Each action's name and body schema from the schema of an adjacently tagged
/// enum (`{"action": name, "body": {...}}` per variant).
pub fn action_bodies(schema: &Value) -> Vec<(String, Value)> {
    let variants = schema.get("oneOf").and_then(Value::as_array).cloned().unwrap_or_default();
    variants
        .iter()
        .filter_map(|variant| {
            let properties = variant.get("properties")?;
            let tag = properties.get("action")?;
            let name = tag.get("const").or_else(|| tag.get("enum").and_then(|e| e.get(0)))?.as_str()?;
            Some((name.to_owned(), properties.get("body")?.clone()))
        })
        .collect()
}

fn body_fields(body: &Value) -> Vec<FormField> {
    let required: Vec<&str> = body
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = body.get("properties").and_then(Value::as_object) else { return Vec::new() };
    properties
        .iter()
        .map(|(name, schema)| {
            let types = type_names(schema);
            let kind = if types.contains(&"array") {
                FieldKind::List
            } else if types.contains(&"boolean") {
                FieldKind::YesNo
            } else if schema.get("format").and_then(Value::as_str) == Some("date-time") {
                FieldKind::Time
            } else if required.contains(&name.as_str()) {
                FieldKind::Text
            } else {
                FieldKind::Optional
            };
            FormField { name: name.clone(), kind }
        })
        .collect()
}

/// The JSON types a schema allows (`"type": "x"` or `"type": ["x", "null"]`).
fn type_names(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

// ---- the asker's own steps ------------------------------------------------------------------

/// The asker withdraws (撤回), proving who they are with the check code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// The check code (查询码).
    pub code: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The asker rates the answer (评价).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateInput {
    /// The check code (查询码).
    pub code: String,
    pub rating: Rating,
    pub resolved: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// After an unhappy follow-up the asker asks for the request to be handled again (申请重办).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequestInput {
    /// The check code (查询码).
    pub code: String,
    pub reason: String,
}

/// An account rates the answer to a request it submitted (评价); the session stands in for the check code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnRateInput {
    pub rating: Rating,
    pub resolved: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// An account asks for a request it submitted to be handled again (申请重办).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnReopenInput {
    pub reason: String,
}

/// Optional comment text (the asker's withdrawal reason).
pub fn optional_comment(text: Option<&str>) -> AppResult<Option<String>> {
    Ok(optional_text("意见", text, request::COMMENT_MAX)?)
}

// ---- list filters --------------------------------------------------------------------------

/// The query parameters of `GET /api/v1/requests` (name, description).
pub const LIST_PARAMETERS: &[(&str, &str)] = &[
    ("state", "状态，逗号分隔"),
    ("kind", "诉求类型"),
    ("channel", "受理渠道"),
    ("unit", "主办、协办单位或二次派单的科室、村居编码"),
    ("lead_unit", "主办单位编码；none 为未派单"),
    ("town", "镇街编码；none 为未填镇街"),
    ("category", "诉求分类编码"),
    ("category_group", "分类编码，含其下级分类"),
    ("from", "受理时间起（含），日期或带时区的时间"),
    ("to", "受理时间止（不含）"),
    ("closed_from", "办结时间起（含）"),
    ("closed_to", "办结时间止（不含）"),
    ("overdue", "true：只看超期"),
    ("supervised", "true：只看督办件"),
    ("unhappy", "true：只看回访不满意"),
    ("credit_code", "统一社会信用代码"),
    ("phone", "联系电话"),
    ("q", "全文检索：空格分隔的词都要出现，\"…\" 为短语，-词 为排除，最多 200 字；繁简体通用"),
    ("sort", "newest（默认）或 deadline；有 q 时为 relevance（默认，按相关度）或 newest"),
    ("limit", "1–500，默认 50"),
    ("cursor", "上一页的 next_cursor"),
];

/// The list's query parameters as a list filter and, when `q` is given, a full-text search (see
/// [`LIST_PARAMETERS`]): with `q`, `sort` is `relevance` (the default) or `newest`, and in relevance
/// order `cursor` is the offset of the next page.
pub fn list_query(
    query: &HashMap<String, String>,
    ctx: &FilterContext<'_>,
) -> AppResult<(ListFilter, Option<crate::search::SearchInput>)> {
    use mashangban_search::{SearchOrder, TextQuery};
    let mut rest = query.clone();
    let text = rest.remove("q");
    let Some(text) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((list_filter(&rest, ctx)?, None));
    };
    let text = TextQuery::parse(text).map_err(|e| AppError::bad_request(e.code, e.message))?;
    let order = match rest.get("sort").map(|s| s.trim()) {
        None | Some("" | "relevance") => SearchOrder::Relevance,
        Some("newest") => SearchOrder::Newest,
        Some(_) => return Err(AppError::bad_parameter("有 q 时「sort」应为 relevance（默认）或 newest")),
    };
    rest.remove("sort");
    let offset = match order {
        SearchOrder::Relevance => rest.remove("cursor"),
        SearchOrder::Newest => None,
    };
    let mut filter = list_filter(&rest, ctx)?;
    if let Some(offset) = offset.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        filter.offset = offset
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= crate::search::MAX_OFFSET)
            .ok_or_else(|| AppError::bad_parameter("「cursor」不正确"))?;
    }
    Ok((filter, Some(crate::search::SearchInput { text, order })))
}

/// What a list filter's codes are resolved against.
pub struct FilterContext<'a> {
    pub org: &'a OrgTree,
    pub categories: &'a [Category],
    pub now: Instant,
}

/// The list filter of query parameters (see [`LIST_PARAMETERS`]); blank
/// values count as absent, anything else unknown is refused.
pub fn list_filter(query: &HashMap<String, String>, ctx: &FilterContext<'_>) -> AppResult<ListFilter> {
    let mut f = ListFilter { limit: 50, ..ListFilter::default() };
    let org = ctx.org;
    for (key, value) in query.iter().filter(|(_, v)| !v.trim().is_empty()) {
        let value = value.trim();
        match key.as_str() {
            "state" => {
                f.states =
                    value.split(',').map(|s| parse_code(key, s, RequestState::parse)).collect::<Result<_, _>>()?
            }
            "kind" => f.kind = Some(parse_code(key, value, RequestKind::parse)?),
            "channel" => f.channel = Some(parse_code(key, value, Channel::parse)?),
            "unit" => f.unit_id = Some(unit_by_code(org, value)?),
            "lead_unit" if value == "none" => f.without_lead_unit = true,
            "lead_unit" => f.lead_unit_id = Some(unit_by_code(org, value)?),
            "town" if value == "none" => f.without_town = true,
            "town" => {
                f.town_id = Some(
                    org.by_code(value)
                        .filter(|u| u.kind == UnitKind::Town)
                        .map(|u| u.id)
                        .ok_or_else(|| AppError::invalid("unknown_town", format!("镇街「{value}」不存在")))?,
                )
            }
            "category" => f.category_id = Some(category_id(ctx.categories, value)?),
            "category_group" => f.category_ids = category_group(ctx.categories, value)?,
            "closed_from" => f.closed_from = Some(parse_time_param(key, value)?),
            "closed_to" => f.closed_to = Some(parse_time_param(key, value)?),
            "from" => f.received_from = Some(parse_time_param(key, value)?),
            "to" => f.received_to = Some(parse_time_param(key, value)?),
            "overdue" => {
                if parse_bool(key, value)? {
                    f.overdue_at = Some(ctx.now);
                }
            }
            "credit_code" => f.credit_code = Some(value.to_uppercase()),
            "phone" => f.contact_phone = Some(Phone::parse(value)?.as_str().to_owned()),
            "limit" => {
                f.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=500).contains(n))
                    .ok_or_else(|| AppError::bad_parameter("「limit」应为 1 到 500 的整数"))?
            }
            "sort" => {
                f.order = match value {
                    "newest" => ListOrder::Newest,
                    "deadline" => ListOrder::Deadline,
                    _ => return Err(AppError::bad_parameter("「sort」应为 newest 或 deadline")),
                }
            }
            "supervised" => f.supervised |= parse_bool(key, value)?,
            "unhappy" => f.unhappy_follow_up |= parse_bool(key, value)?,
            "cursor" => f.before_id = Some(value.parse().map_err(|_| AppError::bad_parameter("「cursor」不正确"))?),
            other => {
                return Err(AppError::bad_request("unknown_parameter", format!("不认识的查询参数「{other}」")));
            }
        }
    }
    Ok(f)
}

fn category_id(categories: &[Category], code: &str) -> AppResult<i64> {
    categories
        .iter()
        .find(|c| c.code == code)
        .map(|c| c.id)
        .ok_or_else(|| AppError::invalid("unknown_category", format!("诉求分类「{code}」不存在")))
}

/// A category and every category under it, by its code.
fn category_group(categories: &[Category], code: &str) -> AppResult<Vec<i64>> {
    let mut group = vec![category_id(categories, code)?];
    let mut i = 0;
    while let Some(&parent) = group.get(i) {
        group.extend(categories.iter().filter(|c| c.parent_id == Some(parent)).map(|c| c.id));
        i += 1;
    }
    Ok(group)
}

fn parse_code<T>(key: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> AppResult<T> {
    parse(value.trim()).ok_or_else(|| AppError::bad_parameter(format!("「{key}」的取值「{value}」不正确")))
}

/// `true`/`false` (also `1`/`0`).
pub fn parse_bool(key: &str, value: &str) -> AppResult<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(AppError::bad_parameter(format!("「{key}」应为 true 或 false"))),
    }
}

/// An RFC 3339 instant, or a date meaning its start in Asia/Shanghai.
pub fn parse_time_param(key: &str, value: &str) -> AppResult<Instant> {
    if let Some(t) = parse_instant(value) {
        return Ok(t);
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(shanghai()).single())
        .ok_or_else(|| AppError::bad_parameter(format!("「{key}」应为日期（2026-01-31）或带时区的时间")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_action_name_parses_and_has_its_fields() {
        let names: Vec<&str> = ActionName::all().map(ActionName::as_str).collect();
        assert_eq!(names.len(), 34);
        assert_eq!(ACTION_FIELDS.len(), names.len(), "one body schema per action");
        for name in &names {
            assert!(ACTION_FIELDS.contains_key(*name), "{name}");
            assert_eq!(ActionName::parse(name).unwrap().as_str(), *name);
        }
        let kinds = |name: &str| {
            ActionName::parse(name).unwrap().fields().iter().map(|f| (f.name.as_str(), f.kind)).collect::<Vec<_>>()
        };
        assert_eq!(
            kinds("dispatch"),
            [("co_units", FieldKind::List), ("comment", FieldKind::Optional), ("lead_unit", FieldKind::Text)]
        );
        assert_eq!(kinds("request-extension"), [("new_due", FieldKind::Time), ("reason", FieldKind::Text)]);
        assert_eq!(
            kinds("sub-dispatch"),
            [("comment", FieldKind::Optional), ("due", FieldKind::Time), ("sub_unit", FieldKind::Text)]
        );
        assert_eq!(
            kinds("follow-up"),
            [("comment", FieldKind::Optional), ("rating", FieldKind::Text), ("resolved", FieldKind::YesNo)]
        );
        assert!(kinds("archive").is_empty());
    }

    #[test]
    fn bodies_are_checked_like_every_json_body() {
        let code = |name: &str, body: &str| ActionRequest::parse(name, body.as_bytes()).unwrap_err().code;
        assert_eq!(code("teleport", "{}"), "unknown_action");
        assert_eq!(code("return", "{}"), "invalid_field");
        assert_eq!(code("sign", r#"{"urgent": true}"#), "unknown_field");
        assert_eq!(code("sign", "{"), "malformed_json");
        assert_eq!(code("sign", r#"{"attachment_ids": "x"}"#), "invalid_field");
        let parsed = ActionRequest::parse("archive", b"").unwrap();
        assert!(matches!(parsed.action, ActionInput::Archive(_)));
        let parsed = ActionRequest::parse("close", r#"{"comment": "好", "attachment_ids": [3]}"#.as_bytes()).unwrap();
        assert_eq!(parsed.attachment_ids, vec![3]);
    }

    proptest! {
        #[test]
        fn arbitrary_action_bodies_never_panic(
            name in prop::sample::select(vec!["dispatch", "sign", "merge", "follow-up", "supervise", "archive", "nope"]),
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            if let Err(e) = ActionRequest::parse(name, &body) {
                prop_assert!(!e.code.is_empty());
            }
        }

        #[test]
        fn arbitrary_list_parameters_never_panic(
            pairs in proptest::collection::vec(("[a-z_]{1,12}", "\\PC{0,20}"), 0..6),
        ) {
            let org = OrgTree::new(Vec::new());
            let ctx = FilterContext { org: &org, categories: &[], now: mashangban_domain::time::now() };
            let query: HashMap<String, String> = pairs.into_iter().collect();
            if let Err(e) = list_filter(&query, &ctx) {
                prop_assert!(!e.code.is_empty());
            }
        }
    }
}
