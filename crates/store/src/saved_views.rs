//! Storage of saved views (保存的视图): each person's named work-page filters.
//! Every method answers for one person only; another person's view is not found.

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
    pub name: String,
    /// The work page's query parameters (checked when saved).
    pub filters: BTreeMap<String, String>,
    pub created_at: Instant,
    pub updated_at: Instant,
}

/// Storage of saved views.
pub trait SavedViewStore {
    /// A person's views, by name.
    fn saved_views(&self, user_id: UserId) -> impl Future<Output = StoreResult<Vec<SavedView>>> + Send;

    /// Saves a new view: `too_many_views` when the person has `max` already,
    /// `view_name_taken` when the name is.
    fn create_saved_view(
        &self,
        user_id: UserId,
        name: String,
        filters: BTreeMap<String, String>,
        max: usize,
        now: Instant,
    ) -> impl Future<Output = StoreResult<SavedView>> + Send;

    /// Renames one of the person's views: `view_not_found`, `view_name_taken`.
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
