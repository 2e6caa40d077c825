//! The staff inbox (消息提醒): which events of a request put an entry in whose
//! inbox, and the short text an SMS or e-mail copy of an entry carries. Pure:
//! the store writes the entries in the event's own transaction, so each event
//! gives its entries exactly once.

use serde::{Deserialize, Serialize};

use crate::event::EventDetails;
use crate::lifecycle::NoticeLevel;
use crate::org::{Role, UnitId};
use crate::request::{EventKind, Request};

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What an inbox entry is about.
    InboxKind {
        /// A request dispatched or re-dispatched to one's unit, or back to it (驳回退单, 重办), or
        /// assigned to it within its unit (二次派单).
        Assigned = "assigned" / "新派工单",
        /// A unit returned a request (退单): for dispatchers to decide.
        Returned = "returned" / "退单待审",
        /// The handling unit asked for more time: for dispatchers to decide.
        ExtensionRequested = "extension_requested" / "延期待审",
        /// Urged (催办).
        Urged = "urged" / "催办",
        /// Placed under supervision (督办): a request, or an overdue obligation of a compensation matter.
        Supervised = "supervised" / "督办",
        /// The unit's extension request was approved or refused.
        ExtensionAnswered = "extension_answered" / "延期审核结果",
        /// A deadline is near (临期).
        DueSoon = "due_soon" / "临期提醒",
        /// A deadline has passed (超期), or it was escalated (提级).
        Overdue = "overdue" / "超期提醒",
        /// A reply waits for the unit leader's review (答复送审), or the leader sent it back (审核退回).
        Review = "review" / "答复审核",
        /// A command centre's task given to one's unit or town, urged or supervised (指挥部任务).
        CommandTask = "command_task" / "指挥部任务",
        /// A periodic report of one's unit chased as overdue (催报).
        ReportChased = "report_chased" / "催报",
        /// A monitoring point of one's unit exceeds its limits, or has sent no valid data for too long
        /// (在线监测报警: 超标报警, 数据缺失).
        MonitoringAlert = "monitoring_alert" / "在线监测报警",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Something outside a request's life that puts an entry in the inbox (a notice): a command
    /// centre's task or periodic report. Its codes never clash with a request's event kinds.
    NoticeEvent {
        /// A task given to the unit (任务下达).
        TaskAssigned = "task_assigned" / "任务下达",
        /// A task urged by the office (任务催办).
        TaskUrged = "task_urged" / "任务催办",
        /// A task placed under supervision (任务督办).
        TaskSupervised = "task_supervised" / "任务督办",
        /// An overdue periodic report chased, by the office or the scheduler (催报).
        ReportChased = "report_chased" / "催报",
        /// A reading over its limit opened an alert at a point with no open alert on that parameter (超标报警).
        ExceedanceAlarm = "exceedance_alarm" / "超标报警",
        /// A point sent no valid data for longer than its set time (数据缺失).
        DataMissing = "data_missing" / "数据缺失",
        /// An obligation of a compensation agreement or ruling is overdue (赔偿履行督办).
        CompensationSupervised = "compensation_supervised" / "赔偿履行督办",
    }
);

impl NoticeEvent {
    /// The inbox kind an entry of this notice has (what a person's SMS and e-mail choice is about).
    pub fn inbox_kind(self) -> InboxKind {
        match self {
            Self::TaskAssigned | Self::TaskUrged | Self::TaskSupervised => InboxKind::CommandTask,
            Self::ReportChased => InboxKind::ReportChased,
            Self::ExceedanceAlarm | Self::DataMissing => InboxKind::MonitoringAlert,
            Self::CompensationSupervised => InboxKind::Supervised,
        }
    }
}

/// What caused an entry: an event of a request, or a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InboxEvent {
    Request(EventKind),
    Notice(NoticeEvent),
}

impl InboxEvent {
    /// The stable code (stored with the entry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request(kind) => kind.as_str(),
            Self::Notice(event) => event.as_str(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Request(kind) => kind.label(),
            Self::Notice(event) => event.label(),
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        EventKind::parse(code).map(Self::Request).or_else(|| NoticeEvent::parse(code).map(Self::Notice))
    }
}

/// As its code, like the event kinds.
impl Serialize for InboxEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A notice to the staff of some units: one entry per person, written once per `key` (the
/// caller's idempotency key, e.g. `command-event-42`), with its own title and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub event: NoticeEvent,
    pub key: String,
    pub title: String,
    /// The page the entry opens.
    pub link: String,
    /// The units (or towns) whose handlers and leaders get it.
    pub units: Vec<UnitId>,
}

impl Notice {
    /// Who gets an entry.
    pub fn recipients(&self) -> Recipients {
        Recipients::UnitStaff { units: self.units.clone(), roles: UNIT_STAFF }
    }
}

/// Who of the staff gets an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    /// The people of these units holding one of these roles.
    UnitStaff { units: Vec<UnitId>, roles: &'static [Role] },
    /// Everyone holding one of these roles, whatever their unit.
    Role(&'static [Role]),
}

/// One entry to write for an event, before it is addressed to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: InboxKind,
    pub recipients: Recipients,
}

/// The people of a handling unit who work its requests.
pub const UNIT_STAFF: &[Role] = &[Role::Handler, Role::UnitLeader];

/// The entries an event causes. `request` is the request after the event.
pub fn plan(request: &Request, kind: EventKind, details: &EventDetails) -> Vec<Planned> {
    let lead: Vec<UnitId> = request.lead_unit_id.into_iter().collect();
    let handling: Vec<UnitId> = lead.iter().chain(request.co_unit_ids.iter()).copied().collect();
    let units = |kind: InboxKind, units: Vec<UnitId>| Planned {
        kind,
        recipients: Recipients::UnitStaff { units, roles: UNIT_STAFF },
    };
    let role = |kind: InboxKind, roles: &'static [Role]| Planned { kind, recipients: Recipients::Role(roles) };
    let planned = match kind {
        EventKind::Dispatched | EventKind::Redispatched => vec![units(InboxKind::Assigned, handling)],
        EventKind::ReturnRefused | EventKind::Reopened => vec![units(InboxKind::Assigned, lead)],
        EventKind::Returned => vec![role(InboxKind::Returned, &[Role::Dispatcher])],
        // Inside a unit (docs/inside-a-unit.md): the section or village gets the assignment, the
        // lead unit's leaders the reply to review, its handlers a reply sent back.
        EventKind::SubDispatched => match details {
            EventDetails::InsideUnit(d) => vec![units(InboxKind::Assigned, d.sub_unit_id.into_iter().collect())],
            _ => Vec::new(),
        },
        EventKind::ReplySubmitted => vec![Planned {
            kind: InboxKind::Review,
            recipients: Recipients::UnitStaff { units: lead, roles: &[Role::UnitLeader] },
        }],
        EventKind::ReplySentBack => vec![Planned {
            kind: InboxKind::Review,
            recipients: Recipients::UnitStaff { units: lead, roles: &[Role::Handler] },
        }],
        EventKind::ExtensionRequested => vec![role(InboxKind::ExtensionRequested, &[Role::Dispatcher])],
        EventKind::Urged => vec![units(InboxKind::Urged, handling)],
        EventKind::Supervised => vec![units(InboxKind::Supervised, handling)],
        EventKind::ExtensionApproved | EventKind::ExtensionRefused => vec![units(InboxKind::ExtensionAnswered, lead)],
        EventKind::DueSoon => vec![units(InboxKind::DueSoon, noticed_unit(details).map_or(lead, |u| vec![u]))],
        EventKind::Overdue => vec![units(InboxKind::Overdue, noticed_unit(details).map_or(lead, |u| vec![u]))],
        EventKind::Escalated => match details {
            EventDetails::Noticed(n) if n.level == NoticeLevel::Supervisor => {
                vec![role(InboxKind::Overdue, &[Role::Supervisor])]
            }
            _ => vec![Planned {
                kind: InboxKind::Overdue,
                recipients: Recipients::UnitStaff {
                    units: noticed_unit(details).map_or(lead, |u| vec![u]),
                    roles: &[Role::UnitLeader],
                },
            }],
        },
        _ => Vec::new(),
    };
    planned
        .into_iter()
        .filter(|p| !matches!(&p.recipients, Recipients::UnitStaff { units, .. } if units.is_empty()))
        .collect()
}

fn noticed_unit(details: &EventDetails) -> Option<UnitId> {
    match details {
        EventDetails::Noticed(n) => n.unit_id,
        _ => None,
    }
}

/// The text of an entry's SMS or e-mail copy: what happened, the tracking
/// number (for a request's entry) and the title, never the asker's name or phone.
pub fn message(kind: InboxKind, event: InboxEvent, tracking_no: Option<&str>, title: &str) -> String {
    let title = crate::notify::excerpt(title, 40);
    let reference = tracking_no.unwrap_or_default();
    let what = match (kind.label(), event.label()) {
        (kind, event) if kind == event => kind.to_owned(),
        (kind, event) => format!("{kind}（{event}）"),
    };
    format!("【马上办】{what}：{reference}「{title}」。请登录马上办查看处理。")
}

/// How many entries a page of the inbox shows at most.
pub const PAGE_MAX: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back() {
        for kind in InboxKind::ALL {
            assert_eq!(InboxKind::parse(kind.as_str()), Some(*kind));
        }
    }

    #[test]
    fn the_message_names_the_request_and_not_the_asker() {
        let text =
            message(InboxKind::Urged, InboxEvent::Request(EventKind::Urged), Some("ZS20261204000001"), "路灯不亮");
        assert!(text.contains("ZS20261204000001") && text.contains("路灯不亮") && text.contains("催办"));
    }

    #[test]
    fn notice_codes_read_back_and_never_clash_with_request_events() {
        for event in NoticeEvent::ALL {
            assert_eq!(EventKind::parse(event.as_str()), None, "{} is a request event's code", event.as_str());
            assert_eq!(InboxEvent::parse(event.as_str()), Some(InboxEvent::Notice(*event)));
        }
        assert_eq!(InboxEvent::parse("urged"), Some(InboxEvent::Request(EventKind::Urged)));
        assert_eq!(NoticeEvent::ReportChased.inbox_kind(), InboxKind::ReportChased);
        assert_eq!(NoticeEvent::TaskUrged.inbox_kind(), InboxKind::CommandTask);
        assert_eq!(NoticeEvent::DataMissing.inbox_kind(), InboxKind::MonitoringAlert);
        assert_eq!(NoticeEvent::CompensationSupervised.inbox_kind(), InboxKind::Supervised);
        let chased = InboxEvent::Notice(NoticeEvent::ReportChased);
        assert_eq!(
            message(InboxKind::ReportChased, chased, None, "污水管网建设周报（2026-W47）"),
            "【马上办】催报：「污水管网建设周报（2026-W47）」。请登录马上办查看处理。"
        );
    }
}
