//! Storage of the staff inbox (消息提醒). Entries are written by the backend
//! in the transaction of the request event that causes them (see
//! `mashangban_domain::inbox::plan`), one per (event, person): recording an
//! event once gives its entries once, and writing them again changes nothing.
//! Notices (a command centre's tasks and report chases) are written the same
//! way in their own module's transaction, once per (notice key, person).

use std::future::Future;

use serde::Serialize;

use mashangban_domain::inbox::{InboxEvent, InboxKind};
use mashangban_domain::org::UserId;
use mashangban_domain::request::RequestId;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// One entry of a person's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxEntry {
    pub id: i64,
    pub user_id: UserId,
    pub kind: InboxKind,
    /// The request event or notice that caused it.
    pub event: InboxEvent,
    /// The request, for an entry of a request event (none for a notice).
    pub request: Option<InboxRequest>,
    /// The request's title, or the notice's.
    pub title: String,
    /// The page a notice opens (a request's entry opens the request's staff page).
    pub link: Option<String>,
    pub created_at: Instant,
    pub read_at: Option<Instant>,
}

/// The request event an entry comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxRequest {
    pub event_id: i64,
    pub request_id: RequestId,
    pub tracking_no: String,
}

/// Which entries of one person to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    pub kind: Option<InboxKind>,
    pub unread_only: bool,
    /// Entries with a smaller id than this (the next page of newest-first).
    pub before: Option<i64>,
    pub limit: u32,
}

/// Whether a person wants SMS and e-mail copies of one kind of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InboxPreference {
    pub kind: InboxKind,
    pub sms: bool,
    pub email: bool,
}

/// Storage of the inbox.
pub trait InboxStore {
    /// A person's entries, newest first, one page.
    fn inbox_entries(
        &self,
        user_id: UserId,
        filter: &InboxFilter,
    ) -> impl Future<Output = StoreResult<Vec<InboxEntry>>> + Send;

    /// How many of a person's entries match the filter (unread only when it says so), all pages.
    fn inbox_count(&self, user_id: UserId, filter: &InboxFilter) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Marks a person's entries read: those listed, or all when `ids` is None.
    /// Entries of others and entries already read are left alone; how many changed.
    fn mark_inbox_read(
        &self,
        user_id: UserId,
        ids: Option<Vec<i64>>,
        now: Instant,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The person's choices, one per kind (kinds never chosen: neither SMS nor e-mail).
    fn inbox_preferences(&self, user_id: UserId) -> impl Future<Output = StoreResult<Vec<InboxPreference>>> + Send;

    /// Replaces the person's choices for the kinds given.
    fn set_inbox_preferences(
        &self,
        user_id: UserId,
        preferences: Vec<InboxPreference>,
        now: Instant,
    ) -> impl Future<Output = StoreResult<Vec<InboxPreference>>> + Send;

    /// The phone and e-mail address on file for a person (where copies go).
    fn inbox_contacts(
        &self,
        user_id: UserId,
    ) -> impl Future<Output = StoreResult<(Option<String>, Option<String>)>> + Send;

    /// Deletes entries read before `read_before`, and entries of disabled accounts made before it
    /// (unread entries of people at work are kept until read); how many.
    fn prune_inbox(&self, read_before: Instant) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Writes the entries of a recorded event again, as its transaction did
    /// (for repair after a failure between systems, and to prove it is idempotent):
    /// entries that exist are kept as they are. How many were new.
    fn redeliver_inbox(&self, event_id: i64) -> impl Future<Output = StoreResult<u64>> + Send;
}
