//! The request (诉求/工单) and its parts.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::org::{UnitId, UserId};
use crate::time::Instant;
use crate::time_limit::TimeLimits;
use crate::validation::{CreditCode, GeoPoint, Phone};

pub type RequestId = i64;
pub type CategoryId = i64;
pub type AttachmentId = i64;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Request type (诉求类型).
    RequestKind {
        Consultation = "consultation" / "咨询",
        Help = "help" / "求助",
        Complaint = "complaint" / "投诉",
        Report = "report" / "举报",
        Suggestion = "suggestion" / "建议",
        Praise = "praise" / "表扬",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Urgency (紧急程度).
    Urgency {
        Normal = "normal" / "一般",
        Urgent = "urgent" / "紧急",
        /// Act now (马上办).
        ActNow = "act_now" / "马上办",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The channel a request came by (受理渠道).
    Channel {
        Web = "web" / "网站",
        Mobile = "mobile" / "移动端",
        Api = "api" / "开放接口",
        Phone = "phone" / "12345热线",
        Counter = "counter" / "服务窗口",
        OnSite = "on_site" / "走访",
        DirectLine = "direct_line" / "书记市长直通车",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Satisfaction on the national 5-level scale (满意度).
    Rating {
        VerySatisfied = "very_satisfied" / "非常满意",
        Satisfied = "satisfied" / "满意",
        FairlySatisfied = "fairly_satisfied" / "基本满意",
        Dissatisfied = "dissatisfied" / "不满意",
        VeryDissatisfied = "very_dissatisfied" / "非常不满意",
    }
);

impl Rating {
    pub fn is_dissatisfied(self) -> bool {
        matches!(self, Self::Dissatisfied | Self::VeryDissatisfied)
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The state of a request (工单状态).
    State {
        /// Received (受理), waiting to be dispatched.
        Received = "received" / "已受理",
        /// Dispatched (派单) to a lead unit, waiting for sign-for.
        Dispatched = "dispatched" / "已派单",
        /// Returned as misrouted (退单), waiting for the dispatcher's review.
        Returned = "returned" / "退单待审",
        /// Signed for (签收) by the lead unit.
        SignedFor = "signed_for" / "已签收",
        /// In progress (办理中), after a stage reply.
        InProgress = "in_progress" / "办理中",
        /// Suspended (挂起) while waiting for the asker, e.g. for materials; the clock pauses.
        Suspended = "suspended" / "已挂起",
        /// Replied (答复), waiting for the platform to close it.
        Replied = "replied" / "已答复",
        /// Closed (办结).
        Closed = "closed" / "已办结",
        /// Followed up (回访) and rated.
        FollowedUp = "followed_up" / "已回访",
        /// Archived (归档); nothing more happens.
        Archived = "archived" / "已归档",
        /// Merged into another request (并单); follows its parent.
        Merged = "merged" / "已并单",
        /// Withdrawn by the asker (撤回).
        Withdrawn = "withdrawn" / "已撤回",
    }
);

impl State {
    /// Open requests still need work from someone.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Received
                | Self::Dispatched
                | Self::Returned
                | Self::SignedFor
                | Self::InProgress
                | Self::Suspended
                | Self::Replied
        )
    }

    /// Terminal states accept no further action.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Archived | Self::Merged | Self::Withdrawn)
    }

    /// Which deadline runs in this state: the queues and the scheduler order
    /// open work by it.
    pub fn running_deadline(self) -> RunningDeadline {
        match self {
            Self::Dispatched => RunningDeadline::SignForOrReply,
            Self::Received | Self::Returned | Self::SignedFor | Self::InProgress => RunningDeadline::Reply,
            Self::Suspended | Self::Replied => RunningDeadline::Paused,
            Self::Closed | Self::FollowedUp | Self::Archived | Self::Merged | Self::Withdrawn => RunningDeadline::None,
        }
    }

    /// The states whose running deadline is `deadline`.
    pub fn with_running_deadline(deadline: RunningDeadline) -> impl Iterator<Item = State> {
        Self::ALL.iter().copied().filter(move |s| s.running_deadline() == deadline)
    }
}

/// The deadline that runs while a request is in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunningDeadline {
    /// Waiting for sign-for (签收): the earlier of the sign-for and the reply deadline.
    SignForOrReply,
    /// Being handled: the reply deadline (答复期限).
    Reply,
    /// The clock is paused (suspended) or the work is with the platform (replied).
    Paused,
    /// Finished: no deadline runs.
    None,
}

/// Who is asking (诉求人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Asker {
    Enterprise { credit_code: CreditCode, name: String },
    Resident,
}

impl Asker {
    pub fn credit_code(&self) -> Option<&str> {
        match self {
            Self::Enterprise { credit_code, .. } => Some(credit_code.as_str()),
            Self::Resident => None,
        }
    }

    pub fn is_enterprise(&self) -> bool {
        matches!(self, Self::Enterprise { .. })
    }
}

/// The person to contact about a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: Phone,
    /// E-mail for notices, if the asker gave one (validated by `notify::parse_email`).
    #[serde(default)]
    pub email: Option<String>,
}

/// Where the matter is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Location {
    /// The town or street (镇街), a unit of the org tree.
    pub town_id: Option<UnitId>,
    pub address: Option<String>,
    /// WGS-84.
    pub point: Option<GeoPoint>,
}

/// Deadlines besides the reply deadline (`Request::due_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Deadlines {
    /// Sign-for (签收) by the lead unit, counted from dispatch.
    pub sign_for: Option<Instant>,
    /// First contact with the asker (首次联系), counted from receipt.
    pub contact: Option<Instant>,
    /// Stage reply (阶段性答复), counted from receipt.
    pub stage_reply: Option<Instant>,
    /// Provisional (暂定): the reply deadline or one of these was counted
    /// without the State Council holiday notice of its year (weekends only);
    /// recounted when that year's calendar is loaded.
    #[serde(default)]
    pub provisional: bool,
}

/// Supervision (督办) by a supervisor: written instructions and a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervision {
    pub instructions: String,
    pub due: Instant,
    pub by: String,
    pub at: Instant,
}

/// An extension (延期) asked for by the lead unit, awaiting the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingExtension {
    pub requested_due: Instant,
    pub reason: String,
    pub requested_at: Instant,
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    /// Public tracking number (受理编号), URL-safe ASCII, e.g. `ZS20261129000123`.
    pub tracking_no: String,
    /// Check code (查询码) that, with the tracking number, opens the public progress page.
    pub check_code: String,
    pub kind: RequestKind,
    pub urgency: Urgency,
    pub channel: Channel,
    pub asker: Asker,
    pub contact: Contact,
    pub title: String,
    pub content: String,
    pub category_id: CategoryId,
    pub location: Location,
    pub state: State,
    pub lead_unit_id: Option<UnitId>,
    pub co_unit_ids: Vec<UnitId>,
    pub pending_extension: Option<PendingExtension>,
    pub merged_into: Option<RequestId>,
    pub rating: Option<Rating>,
    pub resolved: Option<bool>,
    pub reopen_count: u32,
    pub return_count: u32,
    pub extension_count: u32,
    /// How many times the request was urged (催办).
    pub urge_count: u32,
    /// When the asker asked for the request to be handled again (申请重办),
    /// until the dispatcher answers (重办, or a new follow-up): a second
    /// request meanwhile is refused.
    #[serde(default)]
    pub reopen_requested_at: Option<Instant>,
    /// The reply/close deadline (答复期限); computed by the time-limit rules.
    pub due_at: Option<Instant>,
    /// The other deadlines: sign-for, first contact, stage reply.
    pub deadlines: Deadlines,
    /// The time limits in force when the request was received (kept when rules change).
    pub time_limits: Option<TimeLimits>,
    /// Since when the clock is paused (挂起).
    pub suspended_at: Option<Instant>,
    /// Supervision (督办) placed on the request.
    pub supervision: Option<Supervision>,
    /// A reference to a ledger item (台账) this request is about, e.g. `outfall:ZS-0123`.
    pub ledger_ref: Option<String>,
    pub submitted_by: Option<UserId>,
    pub received_at: Instant,
    pub updated_at: Instant,
    pub closed_at: Option<Instant>,
    /// Work inside the handling units: co-units' parts, a reply waiting for
    /// review, assignments within a unit (see `unit_work`).
    pub unit_work: crate::unit_work::UnitWork,
    /// Optimistic-concurrency version; bumped by every change.
    pub version: i64,
    /// Held by spam screening (待甄别): out of the dispatcher's queue until staff release it or
    /// mark it spam (`crate::screening`). The asker's view does not show it.
    #[serde(default)]
    pub screening_held: bool,
}

impl Request {
    pub fn scope_facts(&self) -> crate::org::ScopeFacts<'_> {
        crate::org::ScopeFacts {
            lead_unit_id: self.lead_unit_id,
            co_unit_ids: &self.co_unit_ids,
            sub_unit_ids: self.unit_work.sub_unit_ids(),
            town_id: self.location.town_id,
            submitted_by: self.submitted_by,
            credit_code: self.asker.credit_code(),
            liaison_user_ids: &[],
        }
    }

    /// Whether the follow-up (回访) found the asker dissatisfied or the problem unsolved:
    /// the asker may ask for, and the dispatcher may order, a reopen (重办).
    pub fn follow_up_unhappy(&self) -> bool {
        self.rating.is_some_and(Rating::is_dissatisfied) || self.resolved == Some(false)
    }

    /// Whether a unit (lead or co-handling) is working on this request.
    pub fn involves_unit(&self, units: &[UnitId]) -> bool {
        self.lead_unit_id.is_some_and(|u| units.contains(&u)) || self.co_unit_ids.iter().any(|u| units.contains(u))
    }
}

/// A validated intake: everything a new request needs except what the store assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub kind: RequestKind,
    pub urgency: Urgency,
    pub channel: Channel,
    pub asker: Asker,
    pub contact: Contact,
    pub title: String,
    pub content: String,
    pub category_id: CategoryId,
    pub location: Location,
    pub ledger_ref: Option<String>,
    pub check_code: String,
    pub submitted_by: Option<UserId>,
    pub due_at: Option<Instant>,
    pub deadlines: Deadlines,
    pub time_limits: Option<TimeLimits>,
    /// Submitted through a liaison's contact card (联系卡), recorded in the intake event.
    pub card: Option<crate::event::CardSource>,
    /// Raised on a visit (走访), recorded in the intake event.
    pub visit: Option<crate::event::VisitSource>,
    /// The spam screening of a public submission (`crate::screening`); held when its verdict says so.
    pub screening: Option<crate::screening::Screening>,
}

/// 马上办 (act-now) is the enterprise service: a resident's request may be
/// normal or urgent, never act-now (`act_now_for_enterprises`), at intake and
/// when corrected (改类改急).
pub fn check_act_now(urgency: Urgency, asker: &Asker) -> Result<(), DomainError> {
    if urgency == Urgency::ActNow && !asker.is_enterprise() {
        return Err(DomainError::invalid(
            "act_now_for_enterprises",
            "“马上办”只适用于企业诉求：请以企业身份提交并填写统一社会信用代码，或选择普通、紧急",
        ));
    }
    Ok(())
}

/// Limits on free text, in characters.
pub const TITLE_MAX: usize = 100;
pub const CONTENT_MAX: usize = 4000;
pub const NAME_MAX: usize = 50;
pub const ENTERPRISE_NAME_MAX: usize = 100;
pub const ADDRESS_MAX: usize = 200;
pub const COMMENT_MAX: usize = 4000;

/// Validates the asker's enterprise name.
pub fn enterprise_name(name: &str) -> Result<String, DomainError> {
    let name = crate::validation::required_text("企业名称", name, ENTERPRISE_NAME_MAX)?;
    if name.chars().count() < 2 {
        return Err(DomainError::invalid("invalid_text", "「企业名称」至少2个字"));
    }
    Ok(name)
}

/// An event in a request's history (办理记录). The history is exactly its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub request_id: RequestId,
    /// 1, 2, 3... within the request.
    pub seq: i64,
    pub at: Instant,
    pub kind: EventKind,
    pub actor_user_id: Option<UserId>,
    pub actor_name: String,
    pub actor_role: String,
    pub actor_unit_id: Option<UnitId>,
    pub client_ip: Option<String>,
    pub from_state: Option<State>,
    pub to_state: State,
    pub comment: Option<String>,
    /// Action-specific details (units dispatched to, rating, new deadline...).
    pub details: crate::event::EventDetails,
    pub attachment_ids: Vec<AttachmentId>,
    /// The deadline in force after this event.
    pub due_at: Option<Instant>,
}

impl Event {
    /// Whether only staff see this event: its kind's rule, and notices about work inside a unit.
    pub fn is_staff_only(&self) -> bool {
        self.kind.is_staff_only() || self.details.is_inside_unit()
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What an event records.
    EventKind {
        Received = "received" / "受理",
        Dispatched = "dispatched" / "派单",
        SignedFor = "signed_for" / "签收",
        Returned = "returned" / "退单",
        Redispatched = "redispatched" / "改派",
        ReturnRefused = "return_refused" / "退单不予同意",
        StageReply = "stage_reply" / "阶段性答复",
        ExtensionRequested = "extension_requested" / "申请延期",
        ExtensionApproved = "extension_approved" / "同意延期",
        ExtensionRefused = "extension_refused" / "不同意延期",
        Replied = "replied" / "答复",
        ReplyRejected = "reply_rejected" / "答复退回重办",
        Closed = "closed" / "办结",
        DirectlyClosed = "directly_closed" / "直接办结",
        FollowedUp = "followed_up" / "回访评价",
        ReopenRequested = "reopen_requested" / "申请重办",
        Reopened = "reopened" / "重办",
        MergedInto = "merged_into" / "并单",
        MergedChild = "merged_child" / "合并重复诉求",
        Withdrawn = "withdrawn" / "撤回",
        Archived = "archived" / "归档",
        AttachmentAdded = "attachment_added" / "上传附件",
        Suspended = "suspended" / "挂起",
        Resumed = "resumed" / "恢复办理",
        Supervised = "supervised" / "督办",
        Urged = "urged" / "催办",
        /// A remark (批注) by someone following the request.
        Commented = "commented" / "批注",
        DueSoon = "due_soon" / "临期提醒",
        Overdue = "overdue" / "超期",
        Escalated = "escalated" / "提级督办",
        DeadlinesRecounted = "deadlines_recounted" / "期限重算",
        /// Kind, urgency (马上办), category or town corrected after intake (改类改急).
        Reclassified = "reclassified" / "改类改急",
        /// An internal note (内部备注) by staff: never shown to the asker or the public.
        InternalNote = "internal_note" / "内部备注",
        /// A co-handling unit's part of the answer (会签意见), for the lead unit.
        CoAnswered = "co_answered" / "会签意见",
        /// A handler's reply, waiting for the unit leader's review (答复送审).
        ReplySubmitted = "reply_submitted" / "答复送审",
        /// The unit leader sent the reply back to the handler (审核退回).
        ReplySentBack = "reply_sent_back" / "审核退回",
        /// Assigned within the unit to a sub-unit (二次派单).
        SubDispatched = "sub_dispatched" / "二次派单",
        /// The sub-unit signed for its assignment (下级签收).
        SubSignedFor = "sub_signed_for" / "下级签收",
        /// The sub-unit replied to its unit (下级回复).
        SubReplied = "sub_replied" / "下级回复",
        /// A submission held by spam screening released to the dispatcher's queue (放行).
        ScreeningReleased = "screening_released" / "甄别放行",
        /// A submission marked spam (垃圾信息) and archived.
        MarkedSpam = "marked_spam" / "标记为垃圾信息",
    }
);

impl EventKind {
    /// The kinds whose comment is an answer to the asker (stage replies, replies, closings): the
    /// history the search index holds besides the request's own row.
    pub const REPLIES: [EventKind; 4] = [Self::StageReply, Self::Replied, Self::Closed, Self::DirectlyClosed];

    /// Whether the asker sees this event's comment on the public progress page.
    /// Internal reasoning (returns, refusals) stays inside the government.
    pub fn comment_is_public(self) -> bool {
        matches!(
            self,
            Self::Received
                | Self::StageReply
                | Self::ExtensionApproved
                | Self::Replied
                | Self::Closed
                | Self::DirectlyClosed
                | Self::FollowedUp
                | Self::ReopenRequested
                | Self::Withdrawn
                | Self::Suspended
                | Self::Resumed
        )
    }

    /// Whether only staff may see this event: it is left out of every view of
    /// an asker (their account's pages and API answers) besides the public ones.
    pub fn is_staff_only(self) -> bool {
        matches!(
            self,
            Self::InternalNote
                | Self::CoAnswered
                | Self::ReplySubmitted
                | Self::ReplySentBack
                | Self::SubDispatched
                | Self::SubSignedFor
                | Self::SubReplied
                | Self::ScreeningReleased
                | Self::MarkedSpam
        )
    }

    /// Whether the asker sees this event at all. Returns and their reviews are
    /// internal routing; the asker sees the resulting dispatch.
    pub fn is_public(self) -> bool {
        !matches!(
            self,
            Self::Returned
                | Self::ReturnRefused
                | Self::ExtensionRequested
                | Self::ExtensionRefused
                | Self::ReplyRejected
                | Self::Supervised
                | Self::Urged
                | Self::Commented
                | Self::DueSoon
                | Self::Overdue
                | Self::Escalated
        ) && !self.is_staff_only()
    }
}
