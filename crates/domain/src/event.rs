//! What an event records beyond its kind and states (办理记录的明细), typed
//! per kind. Stored and shown as the same JSON objects as before this type
//! existed, so rows written earlier read back unchanged.

use serde::{Deserialize, Serialize, Serializer};

use crate::lifecycle::{DeadlineKind, NoticeLevel};
use crate::org::UnitId;
use crate::request::{CategoryId, Channel, EventKind, Rating, RequestId, RequestKind, Urgency};
use crate::time::Instant;
use crate::time_limit::TimeLimits;

/// Instants written as `format_instant` text (milliseconds, +08:00).
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::time::{Instant, format_instant, parse_instant};

    pub fn serialize<S: Serializer>(t: &Instant, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_instant(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
        let text = String::deserialize(d)?;
        parse_instant(&text).ok_or_else(|| serde::de::Error::custom(format!("bad instant {text:?}")))
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&format_instant(t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) => parse_instant(&text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom(format!("bad instant {text:?}"))),
                None => Ok(None),
            }
        }
    }
}

/// Intake (受理): the channel and the limits resolved at receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Received {
    pub channel: Channel,
    pub time_limits: Option<TimeLimits>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub contact_due_at: Option<Instant>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub stage_due_at: Option<Instant>,
    /// Submitted from a liaison's contact card (联系卡): the cadre it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardSource>,
    /// Raised on a visit to the enterprise (走访) or a walking-office session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitSource>,
}

/// The visit a request was raised on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VisitSource {
    pub visit_id: i64,
    pub kind: crate::visit::VisitKind,
    /// Who led the visit.
    pub lead_name: String,
}

/// The liaison cadre a contact card (联系卡) names, recorded with a request
/// submitted through the card's signed link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CardSource {
    pub liaison_user_id: crate::org::UserId,
    pub liaison_name: String,
}

/// Dispatch (派单) to a lead unit and co-handling units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Dispatched {
    pub lead_unit_id: UnitId,
    #[serde(default)]
    pub co_unit_ids: Vec<UnitId>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub sign_due_at: Option<Instant>,
}

/// Re-dispatch (改派) of a returned request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Redispatched {
    pub lead_unit_id: UnitId,
    #[serde(default)]
    pub co_unit_ids: Vec<UnitId>,
    #[serde(default)]
    pub previous_lead_unit_id: Option<UnitId>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub sign_due_at: Option<Instant>,
}

/// Back to the same unit for a new sign-for: a refused return (驳回退单) or a reopen (重办).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reassigned {
    pub lead_unit_id: Option<UnitId>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub sign_due_at: Option<Instant>,
}

/// Return (退单) by a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Returned {
    pub returned_by_unit_id: Option<UnitId>,
}

/// An extension asked for (申请延期).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExtensionRequested {
    #[serde(with = "millis")]
    #[schemars(with = "String")]
    pub requested_due: Instant,
}

/// An extension granted (同意延期): the reply deadline before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExtensionApproved {
    #[serde(with = "millis::opt")]
    #[schemars(with = "Option<String>")]
    pub previous_due: Option<Instant>,
    #[serde(with = "millis")]
    #[schemars(with = "String")]
    pub new_due: Instant,
}

/// Follow-up (回访) with the asker's rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FollowedUp {
    pub rating: Rating,
    pub resolved: bool,
    /// How the rating reached the platform; absent on events recorded before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RatingSource>,
}

/// How a rating came in (评价渠道): from the asker on the public progress page or API with the check
/// code, from the asker's own account, or entered by staff from a follow-up call (电话回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingSource {
    Portal,
    Account,
    PhoneFollowUp,
}

impl RatingSource {
    /// The source of a rating made by `actor`.
    pub fn of(actor: &crate::org::Actor) -> Self {
        match actor {
            crate::org::Actor::PublicAsker | crate::org::Actor::Anonymous => Self::Portal,
            crate::org::Actor::Account(_) => Self::Account,
            crate::org::Actor::Staff(_) | crate::org::Actor::System => Self::PhoneFollowUp,
        }
    }
}

/// This duplicate merged into its parent (并单).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MergedInto {
    pub parent_id: RequestId,
    pub parent_tracking_no: String,
}

/// A duplicate merged into this request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MergedChild {
    pub child_id: RequestId,
    pub child_tracking_no: String,
}

/// Handling resumed (恢复办理) after a pause of this much working time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resumed {
    pub paused_working_minutes: i64,
}

/// Supervision (督办) until a deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Supervised {
    #[serde(with = "millis")]
    #[schemars(with = "String")]
    pub due: Instant,
}

/// A scheduler notice (临期, 超期, 提级) about one deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Noticed {
    pub deadline: DeadlineKind,
    pub level: NoticeLevel,
    #[serde(with = "millis")]
    #[schemars(with = "String")]
    pub due: Instant,
    pub unit_id: Option<UnitId>,
}

/// A request's deadlines at one moment, for a recount's before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadlineSet {
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub due_at: Option<Instant>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub sign_due_at: Option<Instant>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub contact_due_at: Option<Instant>,
    #[serde(with = "millis::opt", default)]
    #[schemars(with = "Option<String>")]
    pub stage_due_at: Option<Instant>,
    /// Counted without the holiday notice of its year (暂定).
    pub provisional: bool,
}

impl DeadlineSet {
    pub fn of(request: &crate::request::Request) -> Self {
        Self {
            due_at: request.due_at,
            sign_due_at: request.deadlines.sign_for,
            contact_due_at: request.deadlines.contact,
            stage_due_at: request.deadlines.stage_reply,
            provisional: request.deadlines.provisional,
        }
    }
}

/// Deadlines recounted (期限重算) under the calendar now in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadlinesRecounted {
    pub before: DeadlineSet,
    pub after: DeadlineSet,
}

/// One field's value before and after a correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Changed<T> {
    pub from: T,
    pub to: T,
}

impl<T: PartialEq + Copy> Changed<T> {
    /// The change from `from` to `to`, if they differ.
    pub fn of(from: T, to: T) -> Option<Self> {
        (from != to).then_some(Self { from, to })
    }
}

/// Kind, urgency (马上办), category or town corrected after intake (改类改急):
/// each changed field from and to, the limits now in force (from the rule
/// version in force at receipt) and every deadline before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reclassified {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Changed<RequestKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Changed<Urgency>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Changed<CategoryId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town_id: Option<Changed<Option<UnitId>>>,
    /// The limits after the correction (absent when the request has none).
    pub time_limits: Option<TimeLimits>,
    pub before: DeadlineSet,
    pub after: DeadlineSet,
}

/// A step inside the handling units (会签, 审核, 二次派单; docs/inside-a-unit.md),
/// or what a reply leaves behind of them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InsideUnit {
    /// The handling unit (lead or co-handling) the step is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<UnitId>,
    /// The sub-unit of an assignment within the unit (二次派单).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_unit_id: Option<UnitId>,
    /// The sub-unit's deadline.
    #[serde(with = "millis::opt", default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub due: Option<Instant>,
    /// With a reply: the co-handling units that had not given their part when
    /// their deadline passed (recorded, the reply went ahead without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_units_unanswered: Vec<UnitId>,
    /// With a reply approved by the unit leader (审核通过).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<Reviewed>,
}

/// A reply's review by the unit leader: who wrote it, and the leader's remark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reviewed {
    pub written_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A file added to the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttachmentAdded {
    pub file_name: String,
    pub size: u64,
}

/// The details of one event. Which variant an event carries follows from its
/// kind ([`EventDetails::read`]); kinds with nothing to add carry `None` (`{}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EventDetails {
    #[default]
    None,
    Received(Received),
    Dispatched(Dispatched),
    Redispatched(Redispatched),
    Reassigned(Reassigned),
    Returned(Returned),
    ExtensionRequested(ExtensionRequested),
    ExtensionApproved(ExtensionApproved),
    FollowedUp(FollowedUp),
    MergedInto(MergedInto),
    MergedChild(MergedChild),
    Resumed(Resumed),
    Supervised(Supervised),
    Noticed(Noticed),
    AttachmentAdded(AttachmentAdded),
    DeadlinesRecounted(DeadlinesRecounted),
    Reclassified(Reclassified),
    InsideUnit(InsideUnit),
    /// Stored details that do not match their kind's shape (kept as written,
    /// never produced by this version).
    Unrecognised(serde_json::Value),
}

impl EventDetails {
    /// The unit of a scheduler notice about a unit's own deadline (a sub-unit's 二次派单 or a
    /// co-handling unit's 协办期限); None for any other.
    pub fn noticed_own_unit(&self) -> Option<crate::org::UnitId> {
        match self {
            Self::Noticed(n) if n.deadline.is_a_units_own() => n.unit_id,
            _ => None,
        }
    }

    /// Whether these are a notice about a unit's own deadline: work inside the handling units,
    /// which only staff see, like the assignment or the co-handling unit's part itself.
    pub fn is_inside_unit(&self) -> bool {
        self.noticed_own_unit().is_some()
    }

    /// Reads stored details by the event's kind.
    pub fn read(kind: EventKind, value: serde_json::Value) -> Self {
        use EventKind as K;
        fn typed<T: serde::de::DeserializeOwned>(
            value: serde_json::Value,
            wrap: fn(T) -> EventDetails,
        ) -> EventDetails {
            match serde_json::from_value::<T>(value.clone()) {
                Ok(details) => wrap(details),
                Err(_) => EventDetails::Unrecognised(value),
            }
        }
        match kind {
            K::Received => typed(value, Self::Received),
            K::Dispatched => typed(value, Self::Dispatched),
            K::Redispatched => typed(value, Self::Redispatched),
            K::ReturnRefused | K::Reopened => typed(value, Self::Reassigned),
            K::Returned => typed(value, Self::Returned),
            K::ExtensionRequested => typed(value, Self::ExtensionRequested),
            K::ExtensionApproved => typed(value, Self::ExtensionApproved),
            K::FollowedUp => typed(value, Self::FollowedUp),
            K::MergedInto => typed(value, Self::MergedInto),
            K::MergedChild => typed(value, Self::MergedChild),
            K::Resumed => typed(value, Self::Resumed),
            K::Supervised => typed(value, Self::Supervised),
            K::DueSoon | K::Overdue | K::Escalated => typed(value, Self::Noticed),
            K::AttachmentAdded => typed(value, Self::AttachmentAdded),
            K::DeadlinesRecounted => typed(value, Self::DeadlinesRecounted),
            K::Reclassified => typed(value, Self::Reclassified),
            K::CoAnswered
            | K::ReplySubmitted
            | K::ReplySentBack
            | K::SubDispatched
            | K::SubSignedFor
            | K::SubReplied => typed(value, Self::InsideUnit),
            K::Replied if !value.as_object().is_some_and(serde_json::Map::is_empty) => typed(value, Self::InsideUnit),
            _ if value.as_object().is_some_and(serde_json::Map::is_empty) => Self::None,
            _ => Self::Unrecognised(value),
        }
    }

    /// The details as the JSON text stored with the event.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The unit that receives the request, for dispatches and re-dispatches.
    pub fn dispatched_to(&self) -> Option<UnitId> {
        match self {
            Self::Dispatched(d) => Some(d.lead_unit_id),
            Self::Redispatched(d) => Some(d.lead_unit_id),
            _ => None,
        }
    }

    /// The lead unit an assignment (dispatch, re-dispatch, refused return,
    /// reopen) puts the request in front of.
    pub fn assigned_to(&self) -> Option<UnitId> {
        match self {
            Self::Reassigned(d) => d.lead_unit_id,
            other => other.dispatched_to(),
        }
    }

    /// The sign-for deadline an assignment starts.
    pub fn sign_due_at(&self) -> Option<Instant> {
        match self {
            Self::Dispatched(d) => d.sign_due_at,
            Self::Redispatched(d) => d.sign_due_at,
            Self::Reassigned(d) => d.sign_due_at,
            _ => None,
        }
    }
}

/// Any one of the details' shapes; which one follows from the event's `kind`.
impl schemars::JsonSchema for EventDetails {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EventDetails".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let shapes = [
            generator.subschema_for::<Received>(),
            generator.subschema_for::<Dispatched>(),
            generator.subschema_for::<Redispatched>(),
            generator.subschema_for::<Reassigned>(),
            generator.subschema_for::<Returned>(),
            generator.subschema_for::<ExtensionRequested>(),
            generator.subschema_for::<ExtensionApproved>(),
            generator.subschema_for::<FollowedUp>(),
            generator.subschema_for::<MergedInto>(),
            generator.subschema_for::<MergedChild>(),
            generator.subschema_for::<Resumed>(),
            generator.subschema_for::<Supervised>(),
            generator.subschema_for::<Noticed>(),
            generator.subschema_for::<AttachmentAdded>(),
            generator.subschema_for::<DeadlinesRecounted>(),
            generator.subschema_for::<Reclassified>(),
            generator.subschema_for::<InsideUnit>(),
            schemars::json_schema!({ "type": "object", "maxProperties": 0 }),
        ];
        schemars::json_schema!({
            "description": "办理记录明细：结构随事件类型（kind）而定；无明细的事件为 {}",
            "anyOf": shapes,
        })
    }
}

impl Serialize for EventDetails {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::None => serde_json::Map::new().serialize(s),
            Self::Received(d) => d.serialize(s),
            Self::Dispatched(d) => d.serialize(s),
            Self::Redispatched(d) => d.serialize(s),
            Self::Reassigned(d) => d.serialize(s),
            Self::Returned(d) => d.serialize(s),
            Self::ExtensionRequested(d) => d.serialize(s),
            Self::ExtensionApproved(d) => d.serialize(s),
            Self::FollowedUp(d) => d.serialize(s),
            Self::MergedInto(d) => d.serialize(s),
            Self::MergedChild(d) => d.serialize(s),
            Self::Resumed(d) => d.serialize(s),
            Self::Supervised(d) => d.serialize(s),
            Self::Noticed(d) => d.serialize(s),
            Self::AttachmentAdded(d) => d.serialize(s),
            Self::DeadlinesRecounted(d) => d.serialize(s),
            Self::Reclassified(d) => d.serialize(s),
            Self::InsideUnit(d) => d.serialize(s),
            Self::Unrecognised(v) => v.serialize(s),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Details as the earlier versions wrote them with `json!` read back typed
    /// and serialise to the same JSON.
    #[test]
    fn stored_json_reads_typed_and_writes_back_the_same() {
        let cases = [
            (
                EventKind::Dispatched,
                json!({"co_unit_ids": [3], "lead_unit_id": 2, "sign_due_at": "2026-03-02T17:30:00.000+08:00"}),
            ),
            (
                EventKind::Redispatched,
                json!({"co_unit_ids": [], "lead_unit_id": 4, "previous_lead_unit_id": 2, "sign_due_at": null}),
            ),
            (EventKind::ReturnRefused, json!({"lead_unit_id": 2, "sign_due_at": "2026-03-02T17:30:00.000+08:00"})),
            (EventKind::Reopened, json!({"lead_unit_id": null, "sign_due_at": null})),
            (EventKind::Returned, json!({"returned_by_unit_id": 2})),
            (EventKind::ExtensionRequested, json!({"requested_due": "2026-03-09T17:30:00.000+08:00"})),
            (
                EventKind::ExtensionApproved,
                json!({"new_due": "2026-03-09T17:30:00.000+08:00", "previous_due": "2026-03-05T17:30:00.000+08:00"}),
            ),
            (EventKind::FollowedUp, json!({"rating": "satisfied", "resolved": true})),
            (EventKind::MergedInto, json!({"parent_id": 1, "parent_tracking_no": "ZS20260302000001"})),
            (EventKind::MergedChild, json!({"child_id": 2, "child_tracking_no": "ZS20260302000002"})),
            (EventKind::Resumed, json!({"paused_working_minutes": 90})),
            (EventKind::Supervised, json!({"due": "2026-03-09T17:30:00.000+08:00"})),
            (
                EventKind::Overdue,
                json!({"deadline": "reply", "due": "2026-03-09T17:30:00.000+08:00", "level": "overdue", "unit_id": 2}),
            ),
            (EventKind::AttachmentAdded, json!({"file_name": "a.pdf", "size": 1024})),
            (
                EventKind::Received,
                json!({"channel": "web", "contact_due_at": null, "stage_due_at": "2026-03-03T17:30:00.000+08:00", "time_limits": null}),
            ),
            (EventKind::SignedFor, json!({})),
        ];
        for (kind, stored) in cases {
            let details = EventDetails::read(kind, stored.clone());
            assert!(!matches!(details, EventDetails::Unrecognised(_)), "{kind:?}: {details:?}");
            assert_eq!(serde_json::to_value(&details).unwrap(), stored, "{kind:?}");
        }
    }

    #[test]
    fn details_that_do_not_fit_their_kind_are_kept_as_written() {
        let odd = json!({"lead_unit_id": "x"});
        assert_eq!(EventDetails::read(EventKind::Dispatched, odd.clone()), EventDetails::Unrecognised(odd.clone()));
        assert_eq!(serde_json::to_value(EventDetails::Unrecognised(odd.clone())).unwrap(), odd);
    }

    #[test]
    fn assignments_name_their_unit_and_sign_for_deadline() {
        let d = EventDetails::read(
            EventKind::Reopened,
            json!({"lead_unit_id": 5, "sign_due_at": "2026-03-02T17:30:00.000+08:00"}),
        );
        assert_eq!(d.assigned_to(), Some(5));
        assert_eq!(d.dispatched_to(), None);
        assert!(d.sign_due_at().is_some());
    }
}
