//! Saved views (保存的视图): a member of staff saves a list's filters under a
//! name — the work page's filters and search, or a ledger's list filters (per
//! ledger type) — and finds them as links on that list's page; renames and
//! deletes them. Each person sees only their own. The filters are checked as
//! the list checks them when saved, so a saved view always opens.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::org::UserId;
use mashangban_domain::saved_view::{self, MAX_PER_USER, ViewList};
use mashangban_domain::time::format_instant;
use mashangban_store::{SavedView, Store};

use crate::error::{AppError, AppResult};
use crate::notify::url_encode;
use crate::{App, Caller};

/// The saved views service: `app.saved_views()`.
pub struct SavedViews<'a, S> {
    app: &'a App<S>,
}

/// A view to save: a name and the list's query parameters.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedViewInput {
    /// At most 30 characters, unique among one's views of the list.
    pub name: String,
    /// The list: `work` (the work page, the default) or `ledger:{type}` (a ledger's list, whose
    /// filters are those of `GET /api/v1/ledgers/{type}/items` without paging).
    #[serde(default)]
    pub list: Option<String>,
    /// The work page's parameters: the list filters of `GET /api/v1/requests` (e.g. `kind`,
    /// `town`, `overdue`), `q` (the search words) and `queue` (one of one's queues, e.g.
    /// `received`). Paging (`page`, `cursor`, `limit`) is not kept. At most 20.
    pub filters: BTreeMap<String, String>,
}

/// A new name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameViewInput {
    pub name: String,
}

/// A saved view as its owner sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SavedViewView {
    pub id: i64,
    /// `work` or `ledger:{type}`.
    pub list: String,
    pub name: String,
    pub filters: BTreeMap<String, String>,
    /// The list's page with these filters, e.g. `/work?kind=complaint&overdue=true` or
    /// `/ledgers/outlet?stage=survey`.
    pub link: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One's views, by name, and how many more may be saved.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SavedViewList {
    pub items: Vec<SavedViewView>,
    pub max: usize,
}

impl From<SavedView> for SavedViewView {
    fn from(v: SavedView) -> Self {
        let query: Vec<String> = v.filters.iter().map(|(k, value)| format!("{k}={}", url_encode(value))).collect();
        let page = ViewList::parse(&v.list).map_or_else(|_| "/work".to_owned(), |l| l.page());
        Self {
            id: v.id,
            link: format!("{page}?{}", query.join("&")),
            list: v.list,
            name: v.name,
            filters: v.filters,
            created_at: format_instant(&v.created_at),
            updated_at: format_instant(&v.updated_at),
        }
    }
}

/// A view's id from a path; not a number is not found.
fn view_id(id: &str) -> AppResult<i64> {
    id.trim().parse().map_err(|_| saved_view::not_found().into())
}

/// A queue's id: lower-case letters and underscores (the page checks it is one of the person's).
fn check_queue(queue: &str) -> AppResult<()> {
    if !queue.is_empty() && queue.len() <= 20 && queue.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        Ok(())
    } else {
        Err(AppError::invalid("invalid_parameter", format!("「queue」不正确：{queue}")))
    }
}

impl<'a, S: Store> SavedViews<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The signed-in person's account (`404 views_need_person` for an API token).
    fn owner(caller: &Caller) -> AppResult<UserId> {
        caller
            .actor
            .user_id()
            .filter(|_| caller.actor.role().is_some_and(|r| r.is_staff()))
            .ok_or_else(|| AppError::not_found("views_need_person", "视图属于工作人员个人账号，接口令牌不能保存视图"))
    }

    /// One's views of `list` (`work` or `ledger:{type}`), by name.
    pub async fn list(&self, caller: &Caller, list: &str) -> AppResult<SavedViewList> {
        let user = Self::owner(caller)?;
        let list = ViewList::parse(list)?;
        let items =
            self.app.store().saved_views(user, &list.key()).await?.into_iter().map(SavedViewView::from).collect();
        Ok(SavedViewList { items, max: MAX_PER_USER })
    }

    /// Saves a view: the name checked, the filters checked as the list checks them.
    pub async fn create(&self, caller: &Caller, input: SavedViewInput) -> AppResult<SavedViewView> {
        let user = Self::owner(caller)?;
        let list = ViewList::parse(input.list.as_deref().unwrap_or(saved_view::WORK_LIST))?;
        let name = saved_view::check_name(&input.name)?;
        let filters = saved_view::check_filters(&input.filters)?;
        if let ViewList::Ledger(code) = &list {
            if !caller.may(Permission::ReadLedgers) {
                return Err(AppError::forbidden("您没有查看台账的权限"));
            }
            // Checked as the ledger's list checks them (the type, its stages, towns and choices).
            if filters.contains_key("by") {
                return Err(AppError::invalid("invalid_parameter", "视图不保存统计维度（「by」）"));
            }
            self.app.ledgers().list_filters(code, &filters).await?;
            let saved = self
                .app
                .store()
                .create_saved_view(user, list.key(), name, filters, MAX_PER_USER, self.app.now())
                .await?;
            return Ok(saved.into());
        }
        let mut query: HashMap<String, String> = filters.clone().into_iter().collect();
        if let Some(queue) = query.remove("queue") {
            check_queue(&queue)?;
        }
        if query.contains_key("sort") {
            return Err(AppError::invalid(
                "invalid_parameter",
                "视图不保存排序（「sort」）：待办按期限排列，查询结果按受理时间",
            ));
        }
        // Parsed as the list parses it (unknown parameters, codes, dates, search words).
        self.app.requests().query(&query)?;
        let saved =
            self.app.store().create_saved_view(user, list.key(), name, filters, MAX_PER_USER, self.app.now()).await?;
        Ok(saved.into())
    }

    /// Renames one of one's views.
    pub async fn rename(&self, caller: &Caller, id: &str, input: RenameViewInput) -> AppResult<SavedViewView> {
        let user = Self::owner(caller)?;
        let id = view_id(id)?;
        let name = saved_view::check_name(&input.name)?;
        Ok(self.app.store().rename_saved_view(user, id, name, self.app.now()).await?.into())
    }

    /// Deletes one of one's views.
    pub async fn delete(&self, caller: &Caller, id: &str) -> AppResult<()> {
        let user = Self::owner(caller)?;
        let id = view_id(id)?;
        Ok(self.app.store().delete_saved_view(user, id).await?)
    }
}
