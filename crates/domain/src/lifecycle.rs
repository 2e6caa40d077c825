//! The life of a request (工单流转): every action, who may take it, in which
//! states, and what it changes. One pure function, [`apply`], decides; the
//! store persists its outcome and the event in one transaction.

use crate::calendar::WorkCalendar;
use crate::error::DomainError;
use crate::event::{self, EventDetails};
use crate::org::{Actor, Role, UnitId};
use crate::request::{
    COMMENT_MAX, CategoryId, EventKind, PendingExtension, Rating, Request, RequestId, RequestKind, State, Urgency,
};
use crate::time::Instant;
use crate::unit_work::{CoAnswer, PendingReview, SubAssignment, SubState, co_unit_of, handling_unit_of};
use crate::validation::{optional_text, required_text};

/// The most co-handling units (协办单位) one request may have.
pub const MAX_CO_UNITS: usize = 10;

/// Something someone does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Dispatch (派单) to one lead unit (主办) and optional co-handling units (协办).
    Dispatch {
        lead: UnitId,
        co: Vec<UnitId>,
        comment: Option<String>,
    },
    /// Sign-for (签收) by the lead unit.
    SignFor {
        comment: Option<String>,
    },
    /// Return as misrouted (退单), with a reason.
    Return {
        reason: String,
    },
    /// Re-dispatch (改派) a returned request to another unit. `due`, only on a direct-line
    /// request: a city leader's new instruction (重新批示) sets the request's new time limit.
    Redispatch {
        lead: UnitId,
        co: Vec<UnitId>,
        comment: Option<String>,
        due: Option<Instant>,
    },
    /// Refuse a return: the request goes back to the same unit. `due`, only on a direct-line
    /// request: the leaders' office's new time limit (驳回退回 with a new due date).
    RefuseReturn {
        reason: String,
        due: Option<Instant>,
    },
    /// Stage reply (阶段性答复).
    StageReply {
        content: String,
    },
    /// Ask for an extension (申请延期) to a new deadline.
    RequestExtension {
        requested_due: Instant,
        reason: String,
    },
    ApproveExtension {
        comment: Option<String>,
    },
    RefuseExtension {
        reason: String,
    },
    /// Reply (答复) to the asker.
    Reply {
        content: String,
    },
    /// The platform sends a reply back for more work.
    RejectReply {
        reason: String,
    },
    /// Close (办结) after a reply.
    Close {
        comment: Option<String>,
    },
    /// Answer at intake and close at once (直接办结); consultations only.
    DirectClose {
        answer: String,
    },
    /// Follow-up (回访) with the asker's rating.
    FollowUp {
        rating: Rating,
        resolved: bool,
        comment: Option<String>,
    },
    /// The asker asks for the request to be handled again (申请重办) after an
    /// unhappy follow-up; the dispatcher decides (reopens or not).
    RequestReopen {
        reason: String,
    },
    /// Reopen (重办) after a dissatisfied follow-up.
    Reopen {
        reason: String,
    },
    /// Merge this duplicate (并单) into another request.
    Merge {
        parent_id: RequestId,
    },
    /// Withdrawn (撤回) by the asker.
    Withdraw {
        reason: Option<String>,
    },
    Archive,
    /// Suspend (挂起) while waiting for the asker; the clock pauses.
    Suspend {
        reason: String,
    },
    /// Resume (恢复办理); deadlines move by the working time paused.
    Resume {
        comment: Option<String>,
    },
    /// Place under supervision (督办) with instructions and a deadline.
    Supervise {
        instructions: String,
        due: Instant,
    },
    /// Urge (催办) the handling unit.
    Urge {
        message: String,
    },
    /// A remark (批注) on the record by someone following the request (a
    /// liaison cadre, a supervisor, a city leader); the state does not change.
    Comment {
        text: String,
    },
    /// An internal note (内部备注) by any member of staff who sees the
    /// request: recorded in the history, never shown to the asker or the public.
    Note {
        text: String,
    },
    /// The scheduler's notice that a deadline is near (临期) or past (超期),
    /// or an escalation (提级) to the unit leader or the supervisor.
    Notice {
        notice: DeadlineNotice,
    },
    /// Count the deadlines again under the calendar in force (期限重算), when
    /// the holiday notice of a year a provisional (暂定) deadline lies in is loaded.
    RecountDeadlines {
        anchors: crate::time_limit::RecountAnchors,
    },
    /// Correct the kind, urgency (马上办), category or town after intake
    /// (改类改急); the deadlines are counted again from receipt.
    Reclassify(Reclassify),
    /// A co-handling unit's part of the answer (会签/协办意见), given to the
    /// lead unit; the lead's reply waits for every part until the co-units'
    /// deadline.
    CoAnswer {
        content: String,
    },
    /// The unit leader approves the reply waiting for review (审核通过): it
    /// becomes the reply to the asker.
    ApproveReply {
        comment: Option<String>,
    },
    /// The unit leader sends the reply waiting for review back to the handler (审核退回).
    SendBackReply {
        reason: String,
    },
    /// Assign the request within the unit (二次派单) to a section, village or
    /// community directly below it, with a deadline inside the unit's.
    SubDispatch {
        sub_unit: UnitId,
        due: Instant,
        comment: Option<String>,
    },
    /// The sub-unit signs for its assignment (下级签收).
    SubSignFor {
        comment: Option<String>,
    },
    /// The sub-unit replies to its unit (下级回复), never to the asker.
    SubReply {
        content: String,
    },
    /// Release a submission held by spam screening (放行) to the dispatcher's queue.
    Release {
        comment: Option<String>,
    },
    /// Mark a submission spam (垃圾信息): it is archived and never dispatched.
    MarkSpam {
        reason: Option<String>,
    },
}

/// A correction (改类改急): the fields to change (absent: unchanged), the
/// reason, and what counting the deadlines again needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Reclassify {
    pub kind: Option<RequestKind>,
    pub urgency: Option<Urgency>,
    pub category_id: Option<CategoryId>,
    pub town_id: Option<UnitId>,
    pub reason: String,
    /// The rule-table version the request's limits came from (in force at
    /// receipt); the limits of the corrected kind and urgency are resolved
    /// from it. `None` for a request taken in without limits: its deadlines stay.
    pub rules: Option<crate::time_limit::RuleSet>,
    /// Where the request's clocks started (its history).
    pub anchors: crate::time_limit::RecountAnchors,
}

/// Which deadline a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    SignFor,
    Reply,
    /// A sub-unit's deadline for an assignment within its unit (二次派单).
    SubUnit,
    /// A co-handling unit's deadline for its part of the answer (协办期限).
    CoUnit,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignFor => "sign_for",
            Self::Reply => "reply",
            Self::SubUnit => "sub_unit",
            Self::CoUnit => "co_unit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::SignFor => "签收",
            Self::Reply => "答复",
            Self::SubUnit => "下级办理",
            Self::CoUnit => "协办",
        }
    }

    /// Whether the deadline is one unit's own inside the request's work (a sub-unit's or a
    /// co-handling unit's), noticed to that unit alone and never escalated: the request's own
    /// deadlines escalate to the lead unit's leader and the supervisor.
    pub fn is_a_units_own(self) -> bool {
        matches!(self, Self::SubUnit | Self::CoUnit)
    }
}

/// How far a deadline problem has gone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// Due soon (临期).
    DueSoon,
    /// Overdue (超期): the unit is urged.
    Overdue,
    /// Escalated (提级) to the unit's leader.
    UnitLeader,
    /// Escalated to the supervisor (督办).
    Supervisor,
}

impl NoticeLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueSoon => "due_soon",
            Self::Overdue => "overdue",
            Self::UnitLeader => "unit_leader",
            Self::Supervisor => "supervisor",
        }
    }
}

/// A scheduler notice about one deadline of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineNotice {
    pub deadline: DeadlineKind,
    pub level: NoticeLevel,
    pub due: Instant,
    /// The unit whose own deadline it is (`SubUnit`, `CoUnit`); none for the request's own, the
    /// lead unit's.
    pub unit_id: Option<UnitId>,
}

impl DeadlineNotice {
    /// A notice of the request's own deadline (签收 or 答复), to its lead unit.
    pub fn of_request(deadline: DeadlineKind, level: NoticeLevel, due: Instant) -> Self {
        Self { deadline, level, due, unit_id: None }
    }

    /// What the notice is recorded once under (with the request, level and due time): the
    /// deadline, and for a unit's own which unit — two units may share a due time.
    pub fn record_key(&self) -> String {
        match self.unit_id {
            Some(unit) => format!("{}:{unit}", self.deadline.as_str()),
            None => self.deadline.as_str().to_owned(),
        }
    }
}

impl Action {
    /// The stable name used in API paths and error details.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dispatch { .. } => "dispatch",
            Self::SignFor { .. } => "sign",
            Self::Return { .. } => "return",
            Self::Redispatch { .. } => "redispatch",
            Self::RefuseReturn { .. } => "refuse-return",
            Self::StageReply { .. } => "stage-reply",
            Self::RequestExtension { .. } => "request-extension",
            Self::ApproveExtension { .. } => "approve-extension",
            Self::RefuseExtension { .. } => "refuse-extension",
            Self::Reply { .. } => "reply",
            Self::RejectReply { .. } => "reject-reply",
            Self::Close { .. } => "close",
            Self::DirectClose { .. } => "direct-close",
            Self::FollowUp { .. } => "follow-up",
            Self::RequestReopen { .. } => "request-reopen",
            Self::Reopen { .. } => "reopen",
            Self::Merge { .. } => "merge",
            Self::Withdraw { .. } => "withdraw",
            Self::Archive => "archive",
            Self::Suspend { .. } => "suspend",
            Self::Resume { .. } => "resume",
            Self::Supervise { .. } => "supervise",
            Self::Urge { .. } => "urge",
            Self::Comment { .. } => "comment",
            Self::Note { .. } => "note",
            Self::Notice { .. } => "notice",
            Self::RecountDeadlines { .. } => "recount-deadlines",
            Self::Reclassify(_) => "reclassify",
            Self::CoAnswer { .. } => "co-answer",
            Self::ApproveReply { .. } => "approve-reply",
            Self::SendBackReply { .. } => "send-back-reply",
            Self::SubDispatch { .. } => "sub-dispatch",
            Self::SubSignFor { .. } => "sub-sign",
            Self::SubReply { .. } => "sub-reply",
            Self::Release { .. } => "release",
            Self::MarkSpam { .. } => "mark-spam",
        }
    }

    /// The Chinese name of the action, for messages.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Dispatch { .. } => "派单",
            Self::SignFor { .. } => "签收",
            Self::Return { .. } => "退单",
            Self::Redispatch { .. } => "改派",
            Self::RefuseReturn { .. } => "驳回退单",
            Self::StageReply { .. } => "阶段性答复",
            Self::RequestExtension { .. } => "申请延期",
            Self::ApproveExtension { .. } => "同意延期",
            Self::RefuseExtension { .. } => "不同意延期",
            Self::Reply { .. } => "答复",
            Self::RejectReply { .. } => "退回答复",
            Self::Close { .. } => "办结",
            Self::DirectClose { .. } => "直接办结",
            Self::FollowUp { .. } => "回访评价",
            Self::RequestReopen { .. } => "申请重办",
            Self::Reopen { .. } => "重办",
            Self::Merge { .. } => "并单",
            Self::Withdraw { .. } => "撤回",
            Self::Archive => "归档",
            Self::Suspend { .. } => "挂起",
            Self::Resume { .. } => "恢复办理",
            Self::Supervise { .. } => "督办",
            Self::Urge { .. } => "催办",
            Self::Comment { .. } => "批注",
            Self::Note { .. } => "内部备注",
            Self::Notice { .. } => "时限提醒",
            Self::RecountDeadlines { .. } => "期限重算",
            Self::Reclassify(_) => "改类改急",
            Self::CoAnswer { .. } => "会签意见",
            Self::ApproveReply { .. } => "审核通过",
            Self::SendBackReply { .. } => "审核退回",
            Self::SubDispatch { .. } => "二次派单",
            Self::SubSignFor { .. } => "下级签收",
            Self::SubReply { .. } => "下级回复",
            Self::Release { .. } => "甄别放行",
            Self::MarkSpam { .. } => "标记为垃圾信息",
        }
    }

    /// The states in which the action is allowed.
    pub fn allowed_from(&self) -> &'static [State] {
        use State::*;
        match self {
            Self::Dispatch { .. } => &[Received],
            Self::SignFor { .. } => &[Dispatched],
            Self::Return { .. } => &[Dispatched, SignedFor],
            Self::Redispatch { .. } | Self::RefuseReturn { .. } => &[Returned],
            Self::StageReply { .. } | Self::RequestExtension { .. } | Self::Reply { .. } => &[SignedFor, InProgress],
            Self::ApproveExtension { .. } | Self::RefuseExtension { .. } => &[SignedFor, InProgress],
            Self::RejectReply { .. } | Self::Close { .. } => &[Replied],
            Self::DirectClose { .. } => &[Received],
            Self::FollowUp { .. } => &[Closed],
            Self::Reopen { .. } | Self::RequestReopen { .. } => &[FollowedUp],
            Self::Merge { .. } => &[Received, Dispatched, Returned, SignedFor, InProgress, Suspended],
            Self::Withdraw { .. } => &[Received, Dispatched, Returned, SignedFor, InProgress, Suspended],
            Self::Archive => &[Closed, FollowedUp],
            Self::Suspend { .. } => &[SignedFor, InProgress],
            Self::Resume { .. } => &[Suspended],
            Self::Supervise { .. } | Self::Urge { .. } => {
                &[Received, Dispatched, Returned, SignedFor, InProgress, Suspended, Replied]
            }
            Self::Comment { .. } | Self::Note { .. } => {
                &[Received, Dispatched, Returned, SignedFor, InProgress, Suspended, Replied, Closed, FollowedUp]
            }
            Self::Notice { .. } => &[Received, Dispatched, Returned, SignedFor, InProgress, Replied],
            Self::RecountDeadlines { .. } | Self::Reclassify(_) => {
                &[Received, Dispatched, Returned, SignedFor, InProgress, Suspended, Replied]
            }
            Self::CoAnswer { .. } => &[Dispatched, SignedFor, InProgress, Suspended],
            Self::ApproveReply { .. } | Self::SendBackReply { .. } => &[SignedFor, InProgress],
            Self::SubDispatch { .. } | Self::SubSignFor { .. } | Self::SubReply { .. } => {
                &[SignedFor, InProgress, Suspended]
            }
            Self::Release { .. } | Self::MarkSpam { .. } => &[Received],
        }
    }
}

/// What the lifecycle needs besides the request itself.
pub struct Context<'a> {
    pub now: Instant,
    /// The request to merge into, loaded by the store for [`Action::Merge`].
    pub merge_parent: Option<&'a Request>,
    /// The work calendar, for deadlines; without it deadlines are left as they are.
    pub calendar: Option<&'a WorkCalendar>,
    /// The unit named by [`Action::SubDispatch`], loaded by the store (`None`: no such unit).
    pub sub_unit: Option<&'a crate::org::Unit>,
}

/// The part of an event the lifecycle decides; the store adds who, when and where.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub kind: EventKind,
    pub from_state: Option<State>,
    pub to_state: State,
    pub comment: Option<String>,
    pub details: EventDetails,
    pub due_at: Option<Instant>,
}

/// The decided change: the request after the action, its event, and for a
/// merge the event recorded on the parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub request: Request,
    pub event: EventDraft,
    pub parent_event: Option<EventDraft>,
}

/// Decides an action. On refusal nothing is changed: the caller keeps the
/// original request and writes nothing.
pub fn apply(current: &Request, actor: &Actor, action: &Action, ctx: &Context<'_>) -> Result<Outcome, DomainError> {
    check_state(current, action)?;
    check_permission(current, actor, action)?;
    check_screening(current, action)?;
    let mut next = current.clone();
    let mut details = EventDetails::None;
    let mut parent_event = None;
    let (kind, comment) = match action {
        Action::Dispatch { lead, co, comment } => {
            let co = check_units(*lead, co)?;
            next.lead_unit_id = Some(*lead);
            next.co_unit_ids = co.clone();
            next.state = State::Dispatched;
            let sign_due = start_sign_for_clock(&mut next, ctx);
            start_co_clock(&mut next, ctx);
            details = EventDetails::Dispatched(event::Dispatched {
                lead_unit_id: *lead,
                co_unit_ids: co,
                sign_due_at: sign_due,
            });
            (EventKind::Dispatched, optional_comment(comment.as_deref())?)
        }
        Action::SignFor { comment } => {
            next.state = State::SignedFor;
            next.deadlines.sign_for = None;
            (EventKind::SignedFor, optional_comment(comment.as_deref())?)
        }
        Action::Return { reason } => {
            let reason = required_text("退单理由", reason, COMMENT_MAX)?;
            details = EventDetails::Returned(event::Returned { returned_by_unit_id: current.lead_unit_id });
            next.state = State::Returned;
            next.return_count += 1;
            next.pending_extension = None;
            (EventKind::Returned, Some(reason))
        }
        Action::Redispatch { lead, co, comment, due } => {
            if Some(*lead) == current.lead_unit_id {
                return Err(DomainError::invalid(
                    "same_unit",
                    "改派单位与退单单位相同；如维持原派单，请选择「驳回退单」",
                ));
            }
            let co = check_units(*lead, co)?;
            if let Some(due) = due {
                set_direct_line_due(&mut next, current, *due, ctx)?;
            }
            next.lead_unit_id = Some(*lead);
            next.co_unit_ids = co.clone();
            next.state = State::Dispatched;
            let sign_due = start_sign_for_clock(&mut next, ctx);
            next.unit_work.co_answers.clear();
            start_co_clock(&mut next, ctx);
            details = EventDetails::Redispatched(event::Redispatched {
                lead_unit_id: *lead,
                co_unit_ids: co,
                previous_lead_unit_id: current.lead_unit_id,
                sign_due_at: sign_due,
            });
            (EventKind::Redispatched, optional_comment(comment.as_deref())?)
        }
        Action::RefuseReturn { reason, due } => {
            if let Some(due) = due {
                set_direct_line_due(&mut next, current, *due, ctx)?;
            }
            next.state = State::Dispatched;
            let sign_due = start_sign_for_clock(&mut next, ctx);
            details = EventDetails::Reassigned(event::Reassigned {
                lead_unit_id: current.lead_unit_id,
                sign_due_at: sign_due,
            });
            (EventKind::ReturnRefused, Some(required_text("驳回理由", reason, COMMENT_MAX)?))
        }
        Action::StageReply { content } => {
            next.state = State::InProgress;
            (EventKind::StageReply, Some(required_text("阶段性答复", content, COMMENT_MAX)?))
        }
        Action::RequestExtension { requested_due, reason } => {
            request_extension(&mut next, *requested_due, ctx.now)?;
            details = EventDetails::ExtensionRequested(event::ExtensionRequested { requested_due: *requested_due });
            let reason = required_text("延期理由", reason, COMMENT_MAX)?;
            next.pending_extension =
                Some(PendingExtension { requested_due: *requested_due, reason: reason.clone(), requested_at: ctx.now });
            (EventKind::ExtensionRequested, Some(reason))
        }
        Action::ApproveExtension { comment } => {
            let pending = take_pending_extension(&mut next)?;
            details = EventDetails::ExtensionApproved(event::ExtensionApproved {
                previous_due: current.due_at,
                new_due: pending.requested_due,
            });
            next.due_at = Some(pending.requested_due);
            next.extension_count += 1;
            (EventKind::ExtensionApproved, optional_comment(comment.as_deref())?)
        }
        Action::RefuseExtension { reason } => {
            take_pending_extension(&mut next)?;
            (EventKind::ExtensionRefused, Some(required_text("不同意理由", reason, COMMENT_MAX)?))
        }
        Action::Reply { content } => {
            let content = required_text("答复内容", content, COMMENT_MAX)?;
            if current.unit_work.review.is_some() {
                return Err(review_pending());
            }
            let unanswered = check_co_answers(current, ctx.now)?;
            if needs_review(current, actor) {
                next.unit_work.review =
                    Some(PendingReview { content: content.clone(), by: actor.name().to_owned(), at: ctx.now });
                details =
                    EventDetails::InsideUnit(event::InsideUnit { unit_id: current.lead_unit_id, ..Default::default() });
                (EventKind::ReplySubmitted, Some(content))
            } else {
                next.state = State::Replied;
                next.pending_extension = None;
                if !unanswered.is_empty() {
                    details = EventDetails::InsideUnit(event::InsideUnit {
                        co_units_unanswered: unanswered,
                        ..Default::default()
                    });
                }
                (EventKind::Replied, Some(content))
            }
        }
        Action::ApproveReply { comment } => {
            let comment = optional_comment(comment.as_deref())?;
            let review = next.unit_work.review.take().ok_or_else(no_review_pending)?;
            let unanswered = check_co_answers(current, ctx.now)?;
            next.state = State::Replied;
            next.pending_extension = None;
            details = EventDetails::InsideUnit(event::InsideUnit {
                unit_id: current.lead_unit_id,
                co_units_unanswered: unanswered,
                reviewed: Some(event::Reviewed { written_by: review.by, comment }),
                ..Default::default()
            });
            (EventKind::Replied, Some(review.content))
        }
        Action::SendBackReply { reason } => {
            let reason = required_text("退回理由", reason, COMMENT_MAX)?;
            next.unit_work.review.take().ok_or_else(no_review_pending)?;
            details =
                EventDetails::InsideUnit(event::InsideUnit { unit_id: current.lead_unit_id, ..Default::default() });
            (EventKind::ReplySentBack, Some(reason))
        }
        Action::CoAnswer { content } => {
            let content = required_text("会签意见", content, COMMENT_MAX)?;
            let unit = co_unit_of(current, actor).ok_or_else(|| forbidden(action))?;
            next.unit_work.co_answers.retain(|a| a.unit_id != unit);
            next.unit_work.co_answers.push(CoAnswer {
                unit_id: unit,
                content: content.clone(),
                by: actor.name().to_owned(),
                at: ctx.now,
            });
            details = EventDetails::InsideUnit(event::InsideUnit { unit_id: Some(unit), ..Default::default() });
            (EventKind::CoAnswered, Some(content))
        }
        Action::SubDispatch { sub_unit, due, comment } => {
            let comment = optional_comment(comment.as_deref())?;
            let unit = handling_unit_of(current, actor).ok_or_else(|| forbidden(action))?;
            let assignment = sub_assignment(current, unit, *sub_unit, *due, ctx)?;
            details = EventDetails::InsideUnit(event::InsideUnit {
                unit_id: Some(unit),
                sub_unit_id: Some(*sub_unit),
                due: Some(*due),
                ..Default::default()
            });
            next.unit_work.subs.push(assignment);
            (EventKind::SubDispatched, comment)
        }
        Action::SubSignFor { comment } => {
            let comment = optional_comment(comment.as_deref())?;
            let sub = open_sub_of(&mut next, actor)?;
            if sub.state != SubState::Assigned {
                return Err(DomainError::conflict("sub_already_signed", "本单位已签收该派单"));
            }
            sub.state = SubState::SignedFor;
            details = EventDetails::InsideUnit(event::InsideUnit {
                unit_id: Some(sub.unit_id),
                sub_unit_id: Some(sub.sub_unit_id),
                due: Some(sub.due),
                ..Default::default()
            });
            (EventKind::SubSignedFor, comment)
        }
        Action::SubReply { content } => {
            let content = required_text("回复内容", content, COMMENT_MAX)?;
            let sub = open_sub_of(&mut next, actor)?;
            if sub.state == SubState::Assigned {
                return Err(DomainError::conflict("sub_not_signed", "请先签收，再回复派单单位"));
            }
            sub.state = SubState::Replied;
            sub.reply = Some(content.clone());
            details = EventDetails::InsideUnit(event::InsideUnit {
                unit_id: Some(sub.unit_id),
                sub_unit_id: Some(sub.sub_unit_id),
                due: Some(sub.due),
                ..Default::default()
            });
            (EventKind::SubReplied, Some(content))
        }
        Action::RejectReply { reason } => {
            next.state = State::InProgress;
            (EventKind::ReplyRejected, Some(required_text("退回理由", reason, COMMENT_MAX)?))
        }
        Action::Close { comment } => {
            next.state = State::Closed;
            next.closed_at = Some(ctx.now);
            (EventKind::Closed, optional_comment(comment.as_deref())?)
        }
        Action::DirectClose { answer } => {
            if current.kind != RequestKind::Consultation {
                return Err(DomainError::invalid(
                    "direct_close_not_allowed",
                    format!("只有咨询类诉求可以直接办结，本诉求为「{}」", current.kind.label()),
                ));
            }
            next.state = State::Closed;
            next.closed_at = Some(ctx.now);
            (EventKind::DirectlyClosed, Some(required_text("答复内容", answer, COMMENT_MAX)?))
        }
        Action::FollowUp { rating, resolved, comment } => {
            details = EventDetails::FollowedUp(event::FollowedUp {
                rating: *rating,
                resolved: *resolved,
                source: Some(event::RatingSource::of(actor)),
            });
            next.rating = Some(*rating);
            next.resolved = Some(*resolved);
            next.reopen_requested_at = None;
            next.state = State::FollowedUp;
            (EventKind::FollowedUp, optional_comment(comment.as_deref())?)
        }
        Action::RequestReopen { reason } => {
            if !current.follow_up_unhappy() {
                return Err(DomainError::conflict(
                    "reopen_request_not_allowed",
                    "只有评价不满意或问题未解决时才能申请重办",
                ));
            }
            if current.reopen_requested_at.is_some() {
                return Err(DomainError::conflict(
                    "reopen_already_requested",
                    "已申请重办，正在等待处理，请勿重复申请",
                ));
            }
            next.reopen_requested_at = Some(ctx.now);
            (EventKind::ReopenRequested, Some(required_text("申请重办的理由", reason, COMMENT_MAX)?))
        }
        Action::Reopen { reason } => {
            if !current.follow_up_unhappy() {
                return Err(DomainError::conflict("reopen_not_allowed", "只有回访不满意或未解决的诉求可以重办"));
            }
            next.state = if current.lead_unit_id.is_some() { State::Dispatched } else { State::Received };
            next.reopen_count += 1;
            next.reopen_requested_at = None;
            next.rating = None;
            next.resolved = None;
            next.closed_at = None;
            let sign_due = if next.state == State::Dispatched { start_sign_for_clock(&mut next, ctx) } else { None };
            // Handled again: the co-handling units give their parts again, on a new clock.
            next.unit_work.co_answers.clear();
            start_co_clock(&mut next, ctx);
            details = EventDetails::Reassigned(event::Reassigned {
                lead_unit_id: current.lead_unit_id,
                sign_due_at: sign_due,
            });
            (EventKind::Reopened, Some(required_text("重办理由", reason, COMMENT_MAX)?))
        }
        Action::Merge { parent_id } => {
            let parent = check_merge_parent(current, *parent_id, ctx.merge_parent)?;
            details = EventDetails::MergedInto(event::MergedInto {
                parent_id: parent.id,
                parent_tracking_no: parent.tracking_no.clone(),
            });
            next.state = State::Merged;
            next.merged_into = Some(parent.id);
            next.pending_extension = None;
            parent_event = Some(EventDraft {
                kind: EventKind::MergedChild,
                from_state: Some(parent.state),
                to_state: parent.state,
                comment: None,
                details: EventDetails::MergedChild(event::MergedChild {
                    child_id: current.id,
                    child_tracking_no: current.tracking_no.clone(),
                }),
                due_at: parent.due_at,
            });
            (EventKind::MergedInto, None)
        }
        Action::Withdraw { reason } => {
            next.state = State::Withdrawn;
            next.pending_extension = None;
            (EventKind::Withdrawn, optional_comment(reason.as_deref())?)
        }
        Action::Archive => {
            next.state = State::Archived;
            (EventKind::Archived, None)
        }
        Action::Suspend { reason } => {
            next.state = State::Suspended;
            next.suspended_at = Some(ctx.now);
            (EventKind::Suspended, Some(required_text("挂起原因", reason, COMMENT_MAX)?))
        }
        Action::Resume { comment } => {
            let paused = resume(&mut next, ctx);
            details = EventDetails::Resumed(event::Resumed { paused_working_minutes: paused.num_minutes() });
            (EventKind::Resumed, optional_comment(comment.as_deref())?)
        }
        Action::Supervise { instructions, due } => {
            if *due <= ctx.now {
                return Err(DomainError::invalid("invalid_supervision_due", "督办期限必须晚于当前时间"));
            }
            let instructions = required_text("督办意见", instructions, COMMENT_MAX)?;
            details = EventDetails::Supervised(event::Supervised { due: *due });
            next.supervision = Some(crate::request::Supervision {
                instructions: instructions.clone(),
                due: *due,
                by: actor.name().to_owned(),
                at: ctx.now,
            });
            (EventKind::Supervised, Some(instructions))
        }
        Action::Urge { message } => {
            let message = required_text("催办意见", message, COMMENT_MAX)?;
            next.urge_count += 1;
            (EventKind::Urged, Some(message))
        }
        Action::Comment { text } => (EventKind::Commented, Some(required_text("批注", text, COMMENT_MAX)?)),
        Action::Note { text } => (EventKind::InternalNote, Some(required_text("内部备注", text, COMMENT_MAX)?)),
        Action::Notice { notice } => {
            details = EventDetails::Noticed(event::Noticed {
                deadline: notice.deadline,
                level: notice.level,
                due: notice.due,
                unit_id: notice.unit_id.or(current.lead_unit_id),
            });
            let kind = match notice.level {
                NoticeLevel::DueSoon => EventKind::DueSoon,
                NoticeLevel::Overdue => EventKind::Overdue,
                NoticeLevel::UnitLeader | NoticeLevel::Supervisor => EventKind::Escalated,
            };
            (kind, Some(notice_text(notice)))
        }
        Action::RecountDeadlines { anchors } => {
            let calendar =
                ctx.calendar.ok_or_else(|| DomainError::invalid("calendar_missing", "没有工作日历，无法重算期限"))?;
            let (due_at, deadlines) = crate::time_limit::recount_deadlines(current, calendar, anchors);
            next.due_at = due_at;
            next.deadlines = deadlines;
            details = EventDetails::DeadlinesRecounted(event::DeadlinesRecounted {
                before: event::DeadlineSet::of(current),
                after: event::DeadlineSet::of(&next),
            });
            (EventKind::DeadlinesRecounted, Some(recount_text(current, &next)))
        }
        Action::Reclassify(change) => {
            let reason = required_text("更正原因", &change.reason, COMMENT_MAX)?;
            details = EventDetails::Reclassified(reclassify(current, &mut next, change, ctx)?);
            (EventKind::Reclassified, Some(reason))
        }
        Action::Release { comment } => {
            next.screening_held = false;
            (EventKind::ScreeningReleased, optional_comment(comment.as_deref())?)
        }
        Action::MarkSpam { reason } => {
            next.screening_held = false;
            next.state = State::Archived;
            (EventKind::MarkedSpam, optional_text("理由", reason.as_deref(), COMMENT_MAX)?)
        }
    };
    // A reply waits for review only while the unit still handles the request: a return, withdrawal
    // or merge drops it (an approval has taken it already).
    if !matches!(next.state, State::SignedFor | State::InProgress | State::Suspended) {
        next.unit_work.review = None;
    }
    next.updated_at = ctx.now;
    next.version += 1;
    let event = EventDraft {
        kind,
        from_state: Some(current.state),
        to_state: next.state,
        comment,
        details,
        due_at: next.due_at,
    };
    Ok(Outcome { request: next, event, parent_event })
}

/// The error for an action the current state does not allow; it names the state.
pub fn illegal_transition(action: &Action, state: State) -> DomainError {
    DomainError::conflict("illegal_transition", format!("当前状态为「{}」，不能「{}」", state.label(), action.label()))
}

/// A submission held by spam screening (待甄别) is released or marked spam before anyone
/// dispatches, answers or merges it; only a held one can be released. Notes, corrections, the
/// asker's withdrawal and the scheduler's notices go on as for any request.
fn check_screening(current: &Request, action: &Action) -> Result<(), DomainError> {
    match action {
        Action::Release { .. } if !current.screening_held => {
            Err(DomainError::conflict("not_held", "该诉求不在待甄别队列中，无需放行"))
        }
        Action::Dispatch { .. } | Action::DirectClose { .. } | Action::Merge { .. } if current.screening_held => {
            Err(DomainError::conflict(
                "screening_pending",
                format!("该诉求待甄别，请先「放行」或「标记为垃圾信息」，再「{}」", action.label()),
            ))
        }
        _ => Ok(()),
    }
}

fn check_state(current: &Request, action: &Action) -> Result<(), DomainError> {
    if action.allowed_from().contains(&current.state) { Ok(()) } else { Err(illegal_transition(action, current.state)) }
}

/// Who may take each action. Scope (whether the actor sees the request at
/// all) is the store's job; this checks the role and, for units, that the
/// actor's unit is the one handling the request.
pub fn check_permission(current: &Request, actor: &Actor, action: &Action) -> Result<(), DomainError> {
    use Role::*;
    // The secretary-mayor direct line (书记市长直通车): a city leader's instruction dispatches its
    // request, and the leaders' office reviews the reply (sends it back or closes it); the
    // dispatcher keeps every other request. See docs/direct-line.md.
    let direct_line = current.channel == crate::request::Channel::DirectLine;
    let allowed = match action {
        Action::Dispatch { .. } if direct_line && actor.has_role(&[CityLeader, LeadersOffice]) => true,
        // Automatic dispatch (自动派单): the platform, for a category an administrator set it for.
        Action::Dispatch { .. } if matches!(actor, Actor::System) => true,
        Action::RejectReply { .. } | Action::Close { .. } if direct_line && actor.has_role(&[LeadersOffice]) => true,
        // A unit's return (退回) of a direct-line request goes to the leaders' office, not the
        // dispatcher: the leader re-instructs (a city leader re-dispatches with a new time limit)
        // or the office re-dispatches under the same instruction.
        Action::Redispatch { .. } if direct_line => actor.has_role(&[CityLeader, LeadersOffice]),
        // The leaders' office may refuse the return (驳回退回): the unit is the right one after all.
        Action::RefuseReturn { .. } if direct_line => actor.has_role(&[LeadersOffice]),
        Action::Dispatch { .. }
        | Action::Redispatch { .. }
        | Action::RefuseReturn { .. }
        | Action::ApproveExtension { .. }
        | Action::RefuseExtension { .. }
        | Action::RejectReply { .. }
        | Action::Close { .. }
        | Action::Reopen { .. }
        | Action::Merge { .. }
        | Action::Archive => actor.has_role(&[Dispatcher]),
        Action::SignFor { .. } | Action::Return { .. } | Action::RequestExtension { .. } | Action::Reply { .. } => {
            is_lead_unit_staff(current, actor)
        }
        Action::StageReply { .. } => {
            is_lead_unit_staff(current, actor)
                || matches!(actor, Actor::Staff(s) if s.role.is_unit_bound() && current.co_unit_ids.iter().any(|u| s.units.contains(u)))
        }
        Action::DirectClose { .. } => actor.has_role(&[Operator, Dispatcher]),
        Action::FollowUp { .. } => {
            actor.has_role(&[Operator, Dispatcher]) || matches!(actor, Actor::PublicAsker | Actor::Account(_))
        }
        Action::RequestReopen { .. } => matches!(actor, Actor::PublicAsker | Actor::Account(_)),
        Action::Withdraw { .. } => {
            actor.has_role(&[Operator]) || matches!(actor, Actor::PublicAsker | Actor::Account(_))
        }
        Action::Suspend { .. } | Action::Resume { .. } => is_lead_unit_staff(current, actor),
        // The platform places a walking-office session's problems under
        // supervision by rule (行走的办公室 problems are supervised by default).
        Action::Supervise { .. } => actor.has_role(&[Supervisor]) || matches!(actor, Actor::System),
        // A liaison cadre urges and remarks on the requests of the enterprises
        // they follow; the store's scope (Scope::Liaison) limits which.
        Action::Urge { .. } => actor.has_role(&[Supervisor, Dispatcher, Liaison]),
        Action::Comment { .. } => actor.has_role(&[Supervisor, CityLeader, Liaison]),
        // Any member of staff; the store's scope limits which requests.
        Action::Note { .. } => matches!(actor, Actor::Staff(s) if s.role.is_staff()),
        Action::Notice { .. } => matches!(actor, Actor::System),
        Action::RecountDeadlines { .. } => matches!(actor, Actor::System) || actor.has_role(&[Admin]),
        // Dispatchers and administrators correct open requests; an operator
        // corrects their intake until it is dispatched.
        Action::Reclassify(_) => {
            actor.has_role(&[Dispatcher, Admin]) || (actor.has_role(&[Operator]) && current.state == State::Received)
        }
        // Inside a unit (docs/inside-a-unit.md): a co-handling unit's staff give its part; the lead
        // unit's leader reviews; any handling unit's staff assign within it; the sub-unit's staff
        // sign for and reply to their unit.
        Action::CoAnswer { .. } => co_unit_of(current, actor).is_some(),
        Action::ApproveReply { .. } | Action::SendBackReply { .. } => {
            actor.has_role(&[UnitLeader]) && is_lead_unit_staff(current, actor)
        }
        Action::SubDispatch { .. } => handling_unit_of(current, actor).is_some(),
        Action::SubSignFor { .. } | Action::SubReply { .. } => current.unit_work.sub_of(actor).is_some(),
        // Those who take requests in and dispatch them screen them.
        Action::Release { .. } | Action::MarkSpam { .. } => actor.has_role(&[Operator, Dispatcher]),
    };
    if allowed { Ok(()) } else { Err(forbidden(action)) }
}

fn forbidden(action: &Action) -> DomainError {
    DomainError::forbidden(format!("您的角色无权对此诉求执行「{}」", action.label()))
}

fn review_pending() -> DomainError {
    DomainError::conflict("review_pending", "已有答复等待单位领导审核，审核前不能再次答复")
}

fn no_review_pending() -> DomainError {
    DomainError::conflict("no_review_pending", "该诉求没有等待审核的答复")
}

/// Whether a reply by `actor` waits for the unit leader's review: the rule
/// table says so for the request (`review`), and the actor is not the leader.
fn needs_review(current: &Request, actor: &Actor) -> bool {
    current.time_limits.is_some_and(|l| l.review) && !actor.has_role(&[Role::UnitLeader])
}

/// The co-handling units whose part is missing, which may be left out only
/// once the co-units' deadline (else the reply deadline) has passed: they are
/// recorded with the reply. Before that, `co_answers_pending`.
fn check_co_answers(current: &Request, now: Instant) -> Result<Vec<UnitId>, DomainError> {
    let missing = current.unit_work.unanswered(current);
    if missing.is_empty() {
        return Ok(missing);
    }
    match current.unit_work.co_deadline(current) {
        Some(due) if now >= due => Ok(missing),
        due => Err(DomainError::conflict(
            "co_answers_pending",
            format!(
                "还有 {} 个协办单位未提交会签意见{}，收齐或协办期限届满后才能答复",
                missing.len(),
                due.map(|d| format!("（协办期限 {}）", d.format("%Y-%m-%d %H:%M"))).unwrap_or_default()
            ),
        )),
    }
}

/// Starts the co-handling units' clock at (re-)dispatch: the rule table's
/// `co_answer` limit, never past the reply deadline; without one the reply
/// deadline is theirs too (`co_due` stays empty).
fn start_co_clock(next: &mut Request, ctx: &Context<'_>) {
    let limit = next.time_limits.and_then(|l| l.co_answer).filter(|_| !next.co_unit_ids.is_empty());
    let counted = ctx.calendar.and_then(|c| crate::time_limit::deadline(c, ctx.now, limit)).map(|d| d.at);
    next.unit_work.co_due = match (counted, next.due_at) {
        (Some(co), Some(reply)) => Some(co.min(reply)),
        (co, _) => co,
    };
}

/// A new assignment within `unit` to `sub_unit` (loaded by the store into the context).
fn sub_assignment(
    current: &Request,
    unit: UnitId,
    sub_unit: UnitId,
    due: Instant,
    ctx: &Context<'_>,
) -> Result<SubAssignment, DomainError> {
    let found = ctx.sub_unit.filter(|u| u.id == sub_unit);
    match found {
        Some(u) if u.active && u.kind == crate::org::UnitKind::Subunit && u.parent_id == Some(unit) => {}
        _ => {
            return Err(DomainError::invalid("not_a_sub_unit", "只能派给本单位下属的科室、村（社区）等在用的下级单位"));
        }
    }
    if due <= ctx.now {
        return Err(DomainError::invalid("invalid_sub_due", "下级办理期限必须晚于当前时间"));
    }
    let unit_due =
        if Some(unit) == current.lead_unit_id { current.due_at } else { current.unit_work.co_deadline(current) };
    if let Some(unit_due) = unit_due.filter(|d| due > *d) {
        return Err(DomainError::invalid(
            "sub_due_after_unit_due",
            format!("下级办理期限不能晚于本单位的期限 {}", unit_due.format("%Y-%m-%d %H:%M")),
        ));
    }
    let work = &current.unit_work;
    if work.subs.iter().any(|s| s.sub_unit_id == sub_unit && s.is_open()) {
        return Err(DomainError::conflict("sub_assignment_open", "该下级单位已有未回复的派单"));
    }
    if work.subs.len() >= crate::unit_work::MAX_SUB_ASSIGNMENTS {
        return Err(DomainError::invalid(
            "too_many_sub_assignments",
            format!("一件诉求最多二次派单 {} 次", crate::unit_work::MAX_SUB_ASSIGNMENTS),
        ));
    }
    Ok(SubAssignment {
        unit_id: unit,
        sub_unit_id: sub_unit,
        due,
        state: SubState::Assigned,
        assigned_at: ctx.now,
        reply: None,
    })
}

/// The open assignment the actor's sub-unit answers for.
fn open_sub_of<'r>(next: &'r mut Request, actor: &Actor) -> Result<&'r mut SubAssignment, DomainError> {
    let Actor::Staff(s) = actor else { return Err(no_sub_assignment()) };
    next.unit_work
        .subs
        .iter_mut()
        .rev()
        .find(|a| a.is_open() && s.units.contains(&a.sub_unit_id) && !s.units.contains(&a.unit_id))
        .ok_or_else(no_sub_assignment)
}

fn no_sub_assignment() -> DomainError {
    DomainError::conflict("no_sub_assignment", "本单位没有待办的二次派单")
}

fn is_lead_unit_staff(current: &Request, actor: &Actor) -> bool {
    match actor {
        Actor::Staff(s) => s.role.is_unit_bound() && current.lead_unit_id.is_some_and(|u| s.units.contains(&u)),
        _ => false,
    }
}

/// Co-handling units: no duplicates, not the lead, at most [`MAX_CO_UNITS`].
fn check_units(lead: UnitId, co: &[UnitId]) -> Result<Vec<UnitId>, DomainError> {
    let mut out: Vec<UnitId> = Vec::with_capacity(co.len());
    for &unit in co {
        if unit == lead {
            return Err(DomainError::invalid("lead_in_co_units", "主办单位不能同时作为协办单位"));
        }
        if !out.contains(&unit) {
            out.push(unit);
        }
    }
    if out.len() > MAX_CO_UNITS {
        return Err(DomainError::invalid("too_many_co_units", format!("协办单位最多{MAX_CO_UNITS}个")));
    }
    Ok(out)
}

fn optional_comment(comment: Option<&str>) -> Result<Option<String>, DomainError> {
    optional_text("意见", comment, COMMENT_MAX)
}

fn request_extension(next: &mut Request, requested_due: Instant, now: Instant) -> Result<(), DomainError> {
    if next.pending_extension.is_some() {
        return Err(DomainError::conflict("extension_pending", "已有延期申请等待审核，不能重复申请"));
    }
    if requested_due <= now || next.due_at.is_some_and(|due| requested_due <= due) {
        return Err(DomainError::invalid("invalid_extension_due", "申请的新期限必须晚于当前时间和现有期限"));
    }
    Ok(())
}

fn take_pending_extension(next: &mut Request) -> Result<PendingExtension, DomainError> {
    next.pending_extension
        .take()
        .ok_or_else(|| DomainError::conflict("no_extension_pending", "该诉求没有待审核的延期申请"))
}

fn check_merge_parent<'a>(
    child: &Request,
    parent_id: RequestId,
    parent: Option<&'a Request>,
) -> Result<&'a Request, DomainError> {
    if parent_id == child.id {
        return Err(DomainError::invalid("merge_into_self", "不能将诉求合并到其自身"));
    }
    let parent = parent
        .filter(|p| p.id == parent_id)
        .ok_or_else(|| DomainError::invalid("merge_target_not_found", "要合并到的主诉求不存在"))?;
    if !parent.state.is_open() || parent.merged_into.is_some() {
        return Err(DomainError::conflict(
            "merge_target_invalid",
            format!("主诉求 {} 当前状态为「{}」，不能作为并单的主单", parent.tracking_no, parent.state.label()),
        ));
    }
    Ok(parent)
}

/// Whether the actor may attach a file (补充材料) to the request now.
/// Who sees the request is the store's scope check; here: not after the end,
/// and supervisors, leaders and administrators only read.
pub fn check_attachment(current: &Request, actor: &Actor) -> Result<(), DomainError> {
    if current.state.is_terminal() {
        return Err(DomainError::conflict(
            "illegal_transition",
            format!("当前状态为「{}」，不能上传附件", current.state.label()),
        ));
    }
    let allowed = match actor {
        Actor::Staff(s) => matches!(s.role, Role::Operator | Role::Dispatcher | Role::Handler | Role::UnitLeader),
        Actor::Account(_) | Actor::PublicAsker => true,
        Actor::Anonymous | Actor::System => false,
    };
    if allowed { Ok(()) } else { Err(DomainError::forbidden("您的角色无权为此诉求上传附件")) }
}

/// Starts the sign-for clock at dispatch; returns the deadline for the event.
/// A new time limit set when a returned direct-line request goes back to a unit (a leader's new
/// instruction, or the leaders' office refusing the return): direct-line requests only, in the future.
fn set_direct_line_due(
    next: &mut Request,
    current: &Request,
    due: Instant,
    ctx: &Context<'_>,
) -> Result<(), DomainError> {
    if current.channel != crate::request::Channel::DirectLine {
        return Err(DomainError::invalid("redispatch_due_direct_line_only", "只有直通车批示件可以改定办理时限"));
    }
    if due <= ctx.now {
        return Err(DomainError::invalid("invalid_time_limit", "办理时限必须晚于当前时间"));
    }
    next.due_at = Some(due);
    Ok(())
}

fn start_sign_for_clock(next: &mut Request, ctx: &Context<'_>) -> Option<Instant> {
    let limit = next.time_limits.and_then(|l| l.sign_for);
    let counted = ctx.calendar.and_then(|c| crate::time_limit::deadline(c, ctx.now, limit));
    next.deadlines.provisional |= counted.is_some_and(|d| d.provisional);
    next.deadlines.sign_for = counted.map(|d| d.at);
    next.deadlines.sign_for
}

/// Applies a correction (改类改急) to `next`: the fields, the limits of the
/// corrected kind and urgency from the rule version in force at receipt, and
/// the deadlines counted again from receipt under them.
fn reclassify(
    current: &Request,
    next: &mut Request,
    change: &Reclassify,
    ctx: &Context<'_>,
) -> Result<event::Reclassified, DomainError> {
    next.kind = change.kind.unwrap_or(current.kind);
    next.urgency = change.urgency.unwrap_or(current.urgency);
    next.category_id = change.category_id.unwrap_or(current.category_id);
    next.location.town_id = change.town_id.or(current.location.town_id);
    crate::request::check_act_now(next.urgency, &next.asker)?;
    let changed = event::Reclassified {
        kind: event::Changed::of(current.kind, next.kind),
        urgency: event::Changed::of(current.urgency, next.urgency),
        category_id: event::Changed::of(current.category_id, next.category_id),
        town_id: event::Changed::of(current.location.town_id, next.location.town_id),
        time_limits: None,
        before: event::DeadlineSet::of(current),
        after: event::DeadlineSet::of(current),
    };
    if changed.kind.is_none() && changed.urgency.is_none() && changed.category_id.is_none() && changed.town_id.is_none()
    {
        return Err(DomainError::invalid(
            "nothing_changed",
            "类型、紧急程度、分类和镇街都与原来相同，没有需要更正的内容",
        ));
    }
    if let (Some(rules), Some(kept)) = (&change.rules, current.time_limits) {
        if rules.version != kept.version {
            return Err(DomainError::invalid(
                "time_limit_version_mismatch",
                format!("时限规则版本不符：诉求受理时适用第 {} 版", kept.version),
            ));
        }
        next.time_limits = Some(rules.resolve(next.kind, next.urgency, current.channel, current.asker.is_enterprise()));
        if let Some(calendar) = ctx.calendar {
            let (due_at, deadlines) = crate::time_limit::reclassified_deadlines(next, calendar, &change.anchors);
            next.due_at = due_at;
            next.deadlines = deadlines;
        }
    }
    Ok(event::Reclassified { time_limits: next.time_limits, after: event::DeadlineSet::of(next), ..changed })
}

/// The comment of a recount: the reply deadline before and after.
fn recount_text(before: &Request, after: &Request) -> String {
    let show = |r: &Request| match r.due_at {
        Some(due) if r.deadlines.provisional => format!("{}（暂定）", due.format("%Y-%m-%d %H:%M")),
        Some(due) => due.format("%Y-%m-%d %H:%M").to_string(),
        None => "无".to_owned(),
    };
    format!("按现行工作日历重算期限：办理期限 {} → {}", show(before), show(after))
}

/// Ends a suspension: every deadline still ahead moves by the working time
/// paused (natural time for natural-clock limits is not distinguished here:
/// the pause is counted in working time, as 12345 rules suspend working days).
fn resume(next: &mut Request, ctx: &Context<'_>) -> chrono::Duration {
    next.state = State::InProgress;
    let Some(since) = next.suspended_at.take() else { return chrono::Duration::zero() };
    let paused = match ctx.calendar {
        Some(c) => c.working_time_between_or_provisional(since, ctx.now).unwrap_or_else(|_| ctx.now - since),
        None => ctx.now - since,
    };
    let mut provisional = false;
    let mut shift = |due: Option<Instant>| {
        due.map(|d| match ctx.calendar.map(|c| c.add_work_duration_or_provisional(d, paused)) {
            Some(Ok(moved)) => {
                provisional |= moved.provisional;
                moved.at
            }
            _ => d + paused,
        })
    };
    next.due_at = shift(next.due_at);
    next.deadlines.contact = shift(next.deadlines.contact);
    next.deadlines.stage_reply = shift(next.deadlines.stage_reply);
    next.deadlines.provisional |= provisional;
    paused
}

fn notice_text(notice: &DeadlineNotice) -> String {
    let due = notice.due.format("%Y-%m-%d %H:%M");
    let what = notice.deadline.label();
    match notice.level {
        NoticeLevel::DueSoon => format!("{what}期限 {due} 即将到期，请抓紧办理"),
        NoticeLevel::Overdue => format!("{what}已超过期限 {due}，请立即办理（催办）"),
        NoticeLevel::UnitLeader => format!("{what}超期未办（期限 {due}），已提级至单位领导"),
        NoticeLevel::Supervisor => format!("{what}超期未办（期限 {due}），已提级至督办"),
    }
}
