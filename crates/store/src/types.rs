//! Records the stores read and write besides the domain's own types.

use serde::Serialize;

use mashangban_domain::org::{AccountAction, Actor, Role, TokenAction, UnitId, UnitKind, UserId};
use mashangban_domain::request::{AttachmentId, CategoryId, Channel, RequestId, RequestKind, State};
use mashangban_domain::time::Instant;

/// When and from where a change is made; recorded on its event.
#[derive(Debug, Clone)]
pub struct Meta {
    pub now: Instant,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<UnitId>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
    #[serde(skip)]
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<UnitId>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    pub password_hash: String,
}

/// Who changes an account and when, for the account's history (账号变更记录).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBy {
    pub at: Instant,
    pub user_id: Option<UserId>,
    pub name: String,
}

impl AccountBy {
    /// A change by a signed-in person or an API token (named `接口:…`).
    pub fn actor(actor: &Actor, at: Instant) -> Self {
        Self { at, user_id: actor.user_id(), name: actor.name().to_owned() }
    }

    /// A change by no person (the command line, the demo), now.
    pub fn named(name: &str) -> Self {
        Self { at: mashangban_domain::time::now(), user_id: None, name: name.to_owned() }
    }
}

/// One entry of an account's history (账号变更记录), or with `A` = [`TokenAction`] of an API
/// token's (接口令牌变更记录), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountEvent<A = AccountAction> {
    pub id: i64,
    pub at: Instant,
    pub by_name: String,
    pub by_user: Option<UserId>,
    pub action: A,
    /// What changed (phones and e-mail masked; never a password, hash or code).
    pub detail: Option<String>,
}

/// One entry of an API token's history (接口令牌变更记录).
pub type TokenEvent = AccountEvent<TokenAction>;

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: Instant,
    pub expires_at: Instant,
    pub client_ip: Option<String>,
}

/// A machine client's token, bound to a role and unit. Only its hash is stored.
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub unit_id: Option<UnitId>,
    pub created_at: Instant,
    pub revoked_at: Option<Instant>,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub token_hash: String,
    pub role: Role,
    pub unit_id: Option<UnitId>,
}

/// A category (事项分类); leaves carry their default lead unit (派单目录).
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub code: String,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub default_lead_unit_id: Option<UnitId>,
    pub keywords: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub lead_unit_code: Option<String>,
    pub keywords: Vec<String>,
}

/// Filters of the request list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub states: Vec<State>,
    pub kind: Option<RequestKind>,
    /// Types left out (public listings never show 举报 reports).
    pub exclude_kinds: Vec<RequestKind>,
    pub channel: Option<Channel>,
    /// Channels left out (the dispatcher's queues leave out the direct line, whose returns and
    /// replies the leaders' office handles).
    pub exclude_channels: Vec<Channel>,
    /// Lead or co-handling unit.
    pub unit_id: Option<UnitId>,
    pub town_id: Option<UnitId>,
    pub category_id: Option<CategoryId>,
    pub received_from: Option<Instant>,
    pub received_to: Option<Instant>,
    /// Only open requests whose deadline passed before this instant (超期).
    pub overdue_at: Option<Instant>,
    pub credit_code: Option<String>,
    pub contact_phone: Option<String>,
    /// Only requests under supervision (督办).
    pub supervised: bool,
    /// Only requests with an extension request awaiting a decision (延期待审).
    pub pending_extension: bool,
    /// Only followed-up requests rated dissatisfied or unresolved (回访不满意),
    /// which the dispatcher may reopen (重办); the asker may have asked to.
    pub unhappy_follow_up: bool,
    /// Cursor: only requests with a smaller id (newest-first order only).
    pub before_id: Option<RequestId>,
    pub limit: u32,
    pub order: ListOrder,
    /// Any of these categories (besides `category_id`); empty does not filter.
    pub category_ids: Vec<CategoryId>,
    /// Only requests last changed after this instant (exclusive).
    pub updated_after: Option<Instant>,
    /// Only requests last changed before this instant (exclusive).
    pub updated_before: Option<Instant>,
    /// Rows to skip before the page (page-number paging, e.g. Open311).
    pub offset: u32,
    /// Only requests this unit leads (主办), not co-handles.
    pub lead_unit_id: Option<UnitId>,
    /// Only requests without a lead unit (not dispatched yet).
    pub without_lead_unit: bool,
    /// Only requests without a town.
    pub without_town: bool,
    /// Only requests closed now (`closed_at` set) at or after this instant.
    pub closed_from: Option<Instant>,
    /// Only requests closed now before this instant (exclusive).
    pub closed_to: Option<Instant>,
    /// Only requests whose reply deadline (`due_at`) is at or after this
    /// instant; with `overdue_at` later, the due-soon (临期) window.
    pub due_from: Option<Instant>,
    /// Only requests held by spam screening (待甄别), or only those not held.
    pub screening_held: Option<bool>,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest first, with cursor pagination.
    #[default]
    Newest,
    /// A work queue: supervised (督办) first, then the nearest running deadline; one page.
    Deadline,
}

/// One page of a list; `next_cursor` is set when more may follow.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<RequestId>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub request_id: RequestId,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: Instant,
    pub uploaded_by: Option<UserId>,
}

/// A published version of the time-limit rules.
#[derive(Debug, Clone, Serialize)]
pub struct RuleVersion {
    pub version: i64,
    pub rules: Vec<mashangban_domain::time_limit::Rule>,
    pub created_at: Instant,
    pub created_by: String,
}
