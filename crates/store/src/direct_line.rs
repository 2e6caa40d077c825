//! Storage of the secretary-mayor direct line (书记市长直通车): the items,
//! their screening, the leader's instruction (which takes in, dispatches and
//! supervises a request in the same transaction), the review of the unit's
//! reply, the asker's rating, and each item's own history.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::direct_line::{
    Addressee, Correction, Instruction, ItemScope, ItemState, NewItem, Review, Source,
};
use mashangban_domain::org::{Actor, UnitId, UserId};
use mashangban_domain::request::{CategoryId, NewRequest, Rating, Request, RequestId, State};
use mashangban_domain::time::Instant;

use crate::{Meta, StoreResult};

/// A direct-line item with, when loaded alone, its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: i64,
    pub tracking_no: String,
    pub check_code: String,
    pub source: Source,
    pub addressee: Addressee,
    pub name: String,
    pub phone: String,
    pub credit_code: Option<String>,
    pub title: String,
    pub content: String,
    pub publish_consent: bool,
    /// The spam screening of an item from the portal (see `NewItem::screening`).
    pub screening: Option<mashangban_domain::screening::Verdict>,
    pub state: ItemState,
    pub category_id: Option<CategoryId>,
    /// The leader it was put before (呈报) and who instructs it.
    pub leader_user_id: Option<UserId>,
    pub leader_name: Option<String>,
    /// The item it was merged into.
    pub merged_into: Option<String>,
    pub instruction: Option<String>,
    pub lead_unit_id: Option<UnitId>,
    pub co_unit_ids: Vec<UnitId>,
    pub days: Option<u32>,
    pub instructed_at: Option<Instant>,
    /// The instruction's time limit, counted in working days.
    pub due_at: Option<Instant>,
    /// The request it became (converted or instructed).
    pub request: Option<ItemRequest>,
    /// The reply the office approved: what the asker sees.
    pub reply: Option<String>,
    pub answered_at: Option<Instant>,
    pub rating: Option<Rating>,
    pub rating_comment: Option<String>,
    pub created_at: Instant,
    pub created_by: String,
    pub updated_at: Instant,
    /// Empty in listings.
    pub events: Vec<ItemEvent>,
}

/// Where an item's request stands now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRequest {
    pub id: RequestId,
    pub tracking_no: String,
    pub state: State,
    pub due_at: Option<Instant>,
    pub supervised: bool,
    /// The request's version (optimistic lock): a step on the item may name the one it saw.
    pub version: i64,
    /// The unit's latest reply (答复), not yet seen by the asker unless approved.
    pub last_reply: Option<String>,
}

/// One step of an item's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemEvent {
    pub at: Instant,
    /// `name（role）`.
    pub by: String,
    /// `received`, `corrected`, `submitted`, `converted`, `merged`, `instructed`, `returned`, `resubmitted`,
    /// `reinstructed`, `redispatched`, `return_refused`, `approved`, `sent_back`, `rated`.
    pub action: String,
    pub comment: Option<String>,
}

/// The most items one listing answers.
pub const ITEMS_MAX: u32 = 5000;

/// Which items a listing answers.
#[derive(Debug, Clone)]
pub struct ItemFilter {
    pub scope: ItemScope,
    /// This item only (a live list re-reads one changed item through the list's own filters).
    pub id: Option<i64>,
    pub state: Option<ItemState>,
    /// Received at or after.
    pub from: Option<Instant>,
    /// Received before.
    pub until: Option<Instant>,
    /// Answered with the asker's consent (the portal's published replies).
    pub published: bool,
    pub limit: u32,
}

impl ItemFilter {
    pub fn in_scope(scope: ItemScope) -> Self {
        Self { scope, id: None, state: None, from: None, until: None, published: false, limit: ITEMS_MAX }
    }
}

/// A screening step.
#[derive(Debug, Clone)]
pub enum Screening {
    /// Put before a leader (呈报), with the category its request will carry.
    Submit { leader_user_id: UserId, category_id: CategoryId, comment: Option<String> },
    /// Merged into another item (by tracking number).
    Merge { into: String, comment: Option<String> },
    /// Turned into an ordinary request (its deadlines resolved).
    Convert { request: Box<NewRequest>, comment: Option<String> },
}

/// A leader's instruction as the store writes it: the request to take in
/// (deadlines resolved), dispatch and supervise; `None` for an item the lead unit sent back and
/// the office put before the leader again (重新批示): its request is re-dispatched instead.
#[derive(Debug, Clone)]
pub struct Instructed {
    pub instruction: Instruction,
    pub due_at: Instant,
    pub request: Option<Box<NewRequest>>,
}

/// The office's refusal of a unit's return (驳回退回), checked.
#[derive(Debug, Clone)]
pub struct ReturnRefusal {
    pub reason: String,
    /// A new due date, in the future; `None` keeps the instruction's.
    pub due: Option<Instant>,
    /// The request's version the office saw; `None` skips the check.
    pub expected_version: Option<i64>,
}

pub trait DirectLineStore {
    /// Takes in an item; its tracking number is `ZTC` + the day + its id.
    fn take_in_item(&self, item: NewItem, at: Instant, by: String) -> impl Future<Output = StoreResult<Item>> + Send;

    /// One item in `scope`, with its history.
    fn item(&self, id: i64, scope: ItemScope) -> impl Future<Output = StoreResult<Option<Item>>> + Send;

    /// One item by its tracking number (every item: the caller checks the check code).
    fn item_by_tracking_no(&self, no: &str) -> impl Future<Output = StoreResult<Option<Item>>> + Send;

    /// The item a request was dispatched from, if any (any scope).
    fn item_of_request(&self, request_id: RequestId) -> impl Future<Output = StoreResult<Option<Item>>> + Send;

    /// Items matching the filter, newest first.
    fn items(&self, filter: &ItemFilter) -> impl Future<Output = StoreResult<Vec<Item>>> + Send;

    /// Screens a new (or submitted, for merge and convert) item. `404 direct_line_not_found`,
    /// `409 direct_line_wrong_state`, `422 merge_target_invalid`. Answers the item and the request taken in.
    fn screen_item(
        &self,
        id: i64,
        screening: Screening,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Item, Option<Request>)>> + Send;

    /// The office's correction of a new item's fields (更正): one `corrected` event per field that
    /// changes, its comment naming the field, the old value and the new. `404 direct_line_not_found`,
    /// `409 direct_line_wrong_state` (no longer new), `422 nothing_to_correct` (every field as it was).
    fn correct_item(
        &self,
        id: i64,
        correction: Correction,
        actor: &Actor,
        at: Instant,
    ) -> impl Future<Output = StoreResult<Item>> + Send;

    /// The leader's instruction on an item put before them: the request taken
    /// in, dispatched to the units by the leader and supervised by the
    /// platform with the instruction, in one transaction.
    fn instruct_item(
        &self,
        id: i64,
        instructed: Instructed,
        actor: &Actor,
        meta: &Meta,
        calendar: Option<std::sync::Arc<mashangban_domain::calendar::WorkCalendar>>,
    ) -> impl Future<Output = StoreResult<(Item, Request)>> + Send;

    /// The lead unit sends an instructed item back (退回) with its reason: the request is returned
    /// (the lifecycle's 退单) and the item shows in the office's 单位退回 queue; both histories record
    /// it in one transaction. `404 direct_line_not_found`, `409 direct_line_wrong_state` (not
    /// instructed, or the request not dispatched or signed for), `403 not_lead_unit`, `409
    /// direct_line_return_limit` (the office refused `refusals_max` of the unit's returns already).
    fn return_item(
        &self,
        id: i64,
        reason: String,
        refusals_max: u32,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Item, Request)>> + Send;

    /// The office puts a returned item before its leader again (重新呈报): the item waits for a new
    /// instruction. `409 direct_line_wrong_state` (not returned).
    fn resubmit_item(
        &self,
        id: i64,
        comment: Option<String>,
        actor: &Actor,
        at: Instant,
    ) -> impl Future<Output = StoreResult<Item>> + Send;

    /// The office re-dispatches a returned item's request to other units under the same instruction
    /// (按原批示改派: the leader named the wrong unit by mistake); its time limit stays.
    /// `409 direct_line_wrong_state` (not returned).
    fn redispatch_item(
        &self,
        id: i64,
        lead: UnitId,
        co: Vec<UnitId>,
        comment: Option<String>,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Item, Request)>> + Send;

    /// The office refuses the lead unit's return (驳回退回): the request goes back to the same unit,
    /// its due date kept or replaced by `due` (and its 督办 due with it); the reason is in both
    /// histories, in one transaction. `409 direct_line_wrong_state` (not returned), `409
    /// version_changed` (the request moved past `expected_version`), `422 invalid_time_limit`.
    fn refuse_return_item(
        &self,
        id: i64,
        refusal: ReturnRefusal,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Item, Request)>> + Send;

    /// The office's review of the unit's reply (the request replied): approve
    /// (the reply is the item's answer; the request is closed) or send back
    /// (the request's reply is rejected with the reason).
    fn review_item(
        &self,
        id: i64,
        review: Review,
        actor: &Actor,
        meta: &Meta,
    ) -> impl Future<Output = StoreResult<(Item, Request)>> + Send;

    /// The asker's rating of an answered item, once.
    fn rate_item(
        &self,
        id: i64,
        rating: Rating,
        comment: Option<String>,
        at: Instant,
    ) -> impl Future<Output = StoreResult<Item>> + Send;
}
