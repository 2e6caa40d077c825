//! Storage of saved views (保存的视图): each person's named filters of a list
//! (the work page, or a ledger's list). Every method answers for one person
//! only; another person's view is not found.

use std::collections::BTreeMap;
use std::future::Future;

use mashangban_domain::org::UserId;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A saved view as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: i64,
    pub user_id: UserId,
    /// The list it belongs to: `work` (the work page) or `ledger:{type}`.
    pub list: String,
    pub name: String,
    /// The list's query parameters (checked when saved).
    pub filters: BTreeMap<String, String>,
    pub created_at: Instant,
    pub updated_at: Instant,
}

/// Storage of saved views.
pub trait SavedViewStore {
    /// A person's views of one list, by name.
    fn saved_views(&self, user_id: UserId, list: &str) -> impl Future<Output = StoreResult<Vec<SavedView>>> + Send;

    /// Saves a new view of `list`: `too_many_views` when the person has `max` of that list
    /// already, `view_name_taken` when the name is taken in that list.
    fn create_saved_view(
        &self,
        user_id: UserId,
        list: String,
        name: String,
        filters: BTreeMap<String, String>,
        max: usize,
        now: Instant,
    ) -> impl Future<Output = StoreResult<SavedView>> + Send;

    /// Renames one of the person's views: `view_not_found`, `view_name_taken` (in its list).
    fn rename_saved_view(
        &self,
        user_id: UserId,
        id: i64,
        name: String,
        now: Instant,
    ) -> impl Future<Output = StoreResult<SavedView>> + Send;

    /// Deletes one of the person's views: `view_not_found`.
    fn delete_saved_view(&self, user_id: UserId, id: i64) -> impl Future<Output = StoreResult<()>> + Send;
}
