//! Work inside the handling units (单位内部流转): each co-handling unit's part
//! of the answer (会签/联办), a reply waiting for the unit leader's review
//! (审核), and assignments within a unit to its sections, villages or
//! communities (二次派单). Kept on the request (`Request::unit_work`) so that
//! [`crate::lifecycle::apply`] decides every step from the request alone; see
//! docs/inside-a-unit.md.

use serde::{Deserialize, Serialize};

use crate::org::{Actor, UnitId};
use crate::request::Request;
use crate::time::Instant;

/// The most assignments within units (二次派单) one request may carry.
pub const MAX_SUB_ASSIGNMENTS: usize = 20;

/// Everything in flight inside the units handling a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UnitWork {
    /// The co-handling units' deadline for their parts (协办期限): until then
    /// the lead unit's reply waits for every part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub co_due: Option<Instant>,
    /// Each co-handling unit's part of the answer, one per unit (the latest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_answers: Vec<CoAnswer>,
    /// The lead unit's reply, waiting for its leader's review (待审核).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<PendingReview>,
    /// Assignments within a handling unit (二次派单), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<SubAssignment>,
}

/// A co-handling unit's part of the answer (协办意见).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoAnswer {
    pub unit_id: UnitId,
    pub content: String,
    pub by: String,
    pub at: Instant,
}

/// A reply written by a handler, waiting for the unit leader (待审核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReview {
    pub content: String,
    pub by: String,
    pub at: Instant,
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where an assignment within a unit stands.
    SubState {
        /// Sent to the sub-unit, waiting for its sign-for.
        Assigned = "assigned" / "待签收",
        /// Signed for by the sub-unit, being handled.
        SignedFor = "signed_for" / "办理中",
        /// The sub-unit replied to its unit.
        Replied = "replied" / "已回复",
    }
);

/// One assignment within a unit (二次派单): from a handling unit to a unit
/// of kind `subunit` directly below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubAssignment {
    /// The handling unit (lead or co-handling) that assigned it.
    pub unit_id: UnitId,
    pub sub_unit_id: UnitId,
    /// The sub-unit's deadline, inside the unit's own.
    pub due: Instant,
    pub state: SubState,
    pub assigned_at: Instant,
    /// The sub-unit's reply to its unit (never to the asker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

impl SubAssignment {
    pub fn is_open(&self) -> bool {
        self.state != SubState::Replied
    }
}

impl UnitWork {
    /// Whether nothing is recorded (stored as NULL).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The co-handling units of `request` that have not given their part.
    pub fn unanswered(&self, request: &Request) -> Vec<UnitId> {
        request.co_unit_ids.iter().copied().filter(|u| !self.co_answers.iter().any(|a| a.unit_id == *u)).collect()
    }

    /// The co-handling units' deadline for their parts (协办期限): their own, else the reply deadline.
    pub fn co_deadline(&self, request: &Request) -> Option<Instant> {
        self.co_due.or(request.due_at)
    }

    /// The sub-units with an assignment, for the data scope (their staff see the request).
    pub fn sub_unit_ids(&self) -> Vec<UnitId> {
        let mut ids: Vec<UnitId> = self.subs.iter().map(|s| s.sub_unit_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The assignment the actor answers for as a member of its sub-unit
    /// (not of the unit that assigned it), the latest first.
    pub fn sub_of(&self, actor: &Actor) -> Option<usize> {
        let Actor::Staff(s) = actor else { return None };
        if !s.role.is_unit_bound() {
            return None;
        }
        self.subs.iter().rposition(|a| s.units.contains(&a.sub_unit_id) && !s.units.contains(&a.unit_id))
    }
}

/// The handling unit (the lead, else a co-handling unit) the actor works for
/// on `request`: a unit-bound member of staff whose unit is it or above it.
pub fn handling_unit_of(request: &Request, actor: &Actor) -> Option<UnitId> {
    let Actor::Staff(s) = actor else { return None };
    if !s.role.is_unit_bound() {
        return None;
    }
    request.lead_unit_id.iter().chain(&request.co_unit_ids).copied().find(|u| s.units.contains(u))
}

/// Whether the actor is on the staff of a co-handling unit (and not of the lead).
pub fn co_unit_of(request: &Request, actor: &Actor) -> Option<UnitId> {
    handling_unit_of(request, actor).filter(|u| Some(*u) != request.lead_unit_id)
}
