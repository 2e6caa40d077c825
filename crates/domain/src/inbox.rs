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
        /// Placed under supervision (督办).
        Supervised = "supervised" / "督办",
        /// The unit's extension request was approved or refused.
        ExtensionAnswered = "extension_answered" / "延期审核结果",
        /// A deadline is near (临期).
        DueSoon = "due_soon" / "临期提醒",
        /// A deadline has passed (超期), or it was escalated (提级).
        Overdue = "overdue" / "超期提醒",
        /// A reply waits for the unit leader's review (答复送审), or the leader sent it back (审核退回).
        Review = "review" / "答复审核",
    }
);

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
/// number and the title, never the asker's name or phone.
pub fn message(kind: InboxKind, event: EventKind, tracking_no: &str, title: &str) -> String {
    let title = crate::notify::excerpt(title, 40);
    format!("【马上办】{}（{}）：{tracking_no}「{title}」。请登录马上办查看处理。", kind.label(), event.label())
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
        let text = message(InboxKind::Urged, EventKind::Urged, "ZS20261204000001", "路灯不亮");
        assert!(text.contains("ZS20261204000001") && text.contains("路灯不亮") && text.contains("催办"));
    }
}
