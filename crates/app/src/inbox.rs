//! The staff inbox (消息提醒): each person's entries (assigned to their unit,
//! returned, urged, supervised, extension asked or answered, due soon,
//! overdue), the unread count, marking read, and the choice of SMS and
//! e-mail copies per kind. Entries are written by the store with the events
//! that cause them; this reads and marks them for the signed-in person only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::inbox::{InboxKind, PAGE_MAX};
use mashangban_domain::org::UserId;
use mashangban_domain::time::format_instant;
use mashangban_domain::validation::mask_phone;
use mashangban_store::{InboxEntry, InboxFilter, InboxPreference, Store};

use crate::error::{AppError, AppResult};
use crate::{App, Caller};

/// The default page size.
const PAGE: u32 = 20;
/// The most entries one mark-read call names.
const MARK_MAX: usize = 500;

/// The inbox service: `app.inbox()`.
pub struct Inbox<'a, S> {
    app: &'a App<S>,
}

/// Which entries to list (all optional; query parameters).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// One kind: assigned, returned, extension_requested, urged, supervised, extension_answered, due_soon, overdue,
    /// review, command_task, report_chased, monitoring_alert.
    #[serde(default)]
    pub kind: Option<String>,
    /// `true` for unread entries only.
    #[serde(default)]
    pub unread: Option<String>,
    /// The next page: entries older than the entry with this id (`next_before` of the previous page).
    #[serde(default)]
    pub before: Option<String>,
    /// Entries per page, 1–100 (20).
    #[serde(default)]
    pub limit: Option<String>,
}

/// One entry as its owner sees it: what happened to which request, or a
/// notice (a command centre's task, a chased report). The asker's name and
/// phone are never part of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InboxEntryView {
    pub id: i64,
    pub kind: InboxKind,
    pub kind_label: &'static str,
    /// The request event or notice that caused it (e.g. `dispatched`, `urged`, `report_chased`).
    pub event_kind: &'static str,
    pub event_label: &'static str,
    /// The request's tracking number; none for a notice.
    pub tracking_no: Option<String>,
    pub title: String,
    /// The request's page for staff, or the notice's page.
    pub link: String,
    pub created_at: String,
    pub read: bool,
    pub read_at: Option<String>,
}

impl From<InboxEntry> for InboxEntryView {
    fn from(e: InboxEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            kind_label: e.kind.label(),
            event_kind: e.event.as_str(),
            event_label: e.event.label(),
            link: match (&e.request, e.link) {
                (Some(r), _) => format!("/work/{}", r.tracking_no),
                (None, link) => link.unwrap_or_else(|| "/inbox".to_owned()),
            },
            tracking_no: e.request.map(|r| r.tracking_no),
            title: e.title,
            created_at: format_instant(&e.created_at),
            read: e.read_at.is_some(),
            read_at: e.read_at.as_ref().map(format_instant),
        }
    }
}

/// One page of the inbox, newest first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InboxPage {
    pub entries: Vec<InboxEntryView>,
    /// Entries matching the filter, all pages.
    pub total: u64,
    /// Unread entries of every kind.
    pub unread: u64,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The unread count (the header's badge).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InboxCount {
    pub unread: u64,
}

/// Entries to mark read: the ids given, or every entry with `all`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadInput {
    /// Entry ids (at most 500).
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Mark every entry read.
    #[serde(default)]
    pub all: bool,
}

/// What marking changed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MarkedRead {
    pub marked: u64,
    pub unread: u64,
}

/// One kind's copies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceItem {
    pub kind: InboxKind,
    /// An SMS to the account's phone.
    pub sms: bool,
    /// An e-mail to the account's address.
    pub email: bool,
}

/// The choices to save (kinds left out keep theirs).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    pub preferences: Vec<PreferenceItem>,
}

/// A person's choices, one per kind, and where copies go.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreferencesView {
    pub preferences: Vec<PreferenceView>,
    /// The account's phone, masked; SMS copies need one.
    pub phone: Option<String>,
    /// Whether the account has an e-mail address; e-mail copies need one.
    pub has_email: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreferenceView {
    pub kind: InboxKind,
    pub label: &'static str,
    pub sms: bool,
    pub email: bool,
}

impl From<InboxPreference> for PreferenceView {
    fn from(p: InboxPreference) -> Self {
        Self { kind: p.kind, label: p.kind.label(), sms: p.sms, email: p.email }
    }
}

impl<'a, S: Store> Inbox<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The person whose inbox it is: a signed-in member of staff. An API
    /// token acting as a machine is admitted by its role but has no inbox
    /// (`404 inbox_needs_person`).
    pub fn owner(caller: &Caller) -> AppResult<UserId> {
        caller.actor.user_id().filter(|_| caller.actor.role().is_some_and(|r| r.is_staff())).ok_or_else(|| {
            AppError::not_found("inbox_needs_person", "消息提醒属于工作人员个人账号，接口令牌没有消息提醒")
        })
    }

    /// Reads a query into a filter.
    pub fn filter(&self, query: &InboxQuery) -> AppResult<InboxFilter> {
        let kind = match query.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Some(InboxKind::parse(k).ok_or_else(|| {
                AppError::bad_parameter(format!(
                    "kind 应为 {} 之一",
                    InboxKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("、")
                ))
            })?),
            None => None,
        };
        let unread_only = match query.unread.as_deref().map(str::trim) {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1" | "on") => true,
            Some(_) => return Err(AppError::bad_parameter("unread 应为 true 或 false")),
        };
        let before = match query.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            Some(b) => Some(
                b.parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(|| AppError::bad_parameter("before 应为正整数"))?,
            ),
            None => None,
        };
        let limit = match query.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=PAGE_MAX).contains(l))
                .ok_or_else(|| AppError::bad_parameter(format!("limit 应为 1–{PAGE_MAX} 的整数")))?,
            None => PAGE,
        };
        Ok(InboxFilter { kind, unread_only, before, limit })
    }

    /// One page of the caller's entries, newest first.
    pub async fn list(&self, caller: &Caller, filter: &InboxFilter) -> AppResult<InboxPage> {
        let user = Self::owner(caller)?;
        let store = self.app.store();
        let entries = store.inbox_entries(user, filter).await?;
        let total = store.inbox_count(user, &InboxFilter { before: None, ..filter.clone() }).await?;
        let unread = self.unread_of(user).await?;
        let next_before =
            if entries.len() == filter.limit.clamp(1, PAGE_MAX) as usize { entries.last().map(|e| e.id) } else { None };
        Ok(InboxPage { entries: entries.into_iter().map(InboxEntryView::from).collect(), total, unread, next_before })
    }

    /// The caller's unread count.
    pub async fn count(&self, caller: &Caller) -> AppResult<InboxCount> {
        Ok(InboxCount { unread: self.unread_of(Self::owner(caller)?).await? })
    }

    /// The unread count of a person (for their live badge).
    pub async fn unread_of(&self, user: UserId) -> AppResult<u64> {
        let unread = InboxFilter { unread_only: true, ..InboxFilter::default() };
        Ok(self.app.store().inbox_count(user, &unread).await?)
    }

    /// Marks the caller's entries read: those named, or all.
    pub async fn mark_read(&self, caller: &Caller, input: MarkReadInput) -> AppResult<MarkedRead> {
        let user = Self::owner(caller)?;
        let ids = match (input.all, input.ids.len()) {
            (true, 0) => None,
            (true, _) => return Err(AppError::invalid("invalid_field", "ids 与 all 只能给出其一")),
            (false, 0) => return Err(AppError::invalid("invalid_field", "请给出要标记为已读的消息（ids）或 all")),
            (false, n) if n > MARK_MAX => {
                return Err(AppError::invalid("invalid_field", format!("一次最多标记 {MARK_MAX} 条消息")));
            }
            (false, _) => Some(input.ids),
        };
        let marked = self.app.store().mark_inbox_read(user, ids, self.app.now()).await?;
        if marked > 0 {
            self.app.feed().wake();
        }
        Ok(MarkedRead { marked, unread: self.unread_of(user).await? })
    }

    /// The caller's choices of copies and where they would go.
    pub async fn preferences(&self, caller: &Caller) -> AppResult<PreferencesView> {
        let user = Self::owner(caller)?;
        let preferences = self.app.store().inbox_preferences(user).await?;
        self.preferences_view(user, preferences).await
    }

    /// Saves the caller's choices of copies.
    pub async fn set_preferences(&self, caller: &Caller, input: PreferencesInput) -> AppResult<PreferencesView> {
        let user = Self::owner(caller)?;
        if input.preferences.len() > InboxKind::ALL.len() * 2 {
            return Err(AppError::invalid("invalid_field", "提醒设置的条目过多"));
        }
        let chosen = input
            .preferences
            .into_iter()
            .map(|p| InboxPreference { kind: p.kind, sms: p.sms, email: p.email })
            .collect();
        let saved = self.app.store().set_inbox_preferences(user, chosen, self.app.now()).await?;
        self.preferences_view(user, saved).await
    }

    async fn preferences_view(&self, user: UserId, preferences: Vec<InboxPreference>) -> AppResult<PreferencesView> {
        let (phone, email) = self.app.store().inbox_contacts(user).await?;
        let phone = phone.filter(|p| !p.trim().is_empty());
        let has_email = email.is_some_and(|e| !e.trim().is_empty());
        Ok(PreferencesView {
            preferences: preferences.into_iter().map(PreferenceView::from).collect(),
            phone: phone.as_deref().map(mask_phone),
            has_email,
        })
    }
}
