//! Storage traits of mashangban, one per aggregate, and their errors.
//!
//! The web layer and the CLI are generic over [`Store`]; each backend
//! (`store-sqlite`, later `store-postgres`) implements these traits in its
//! own crate with its own migrations. Every write that changes a request
//! writes the request's event in the same transaction.

mod approvals;
mod audit;
mod auto_dispatch;
pub mod backend;
mod calendar;
mod changes;
mod cluster;
mod command;
mod command_reports;
mod compensation;
mod creeks;
mod dashboard;
mod direct_line;
mod documents;
mod duplicates;
mod enforcement;
mod enterprises;
mod error;
mod fund;
mod health;
mod inbox;
mod knowledge;
mod ledgers;
mod liaisons;
mod monitoring;
mod notifications;
mod onsite;
mod password_resets;
mod ratelimits;
mod saved_views;
mod scoring;
mod screening;
mod statistics;
mod types;
mod visits;

pub use approvals::*;
pub use audit::*;
pub use auto_dispatch::*;
pub use calendar::*;
pub use changes::*;
pub use cluster::*;
pub use command::*;
pub use command_reports::*;
pub use compensation::*;
pub use creeks::*;
pub use dashboard::*;
pub use direct_line::*;
pub use documents::*;
pub use duplicates::*;
pub use enforcement::*;
pub use enterprises::*;
pub use error::StoreError;
pub use fund::*;
pub use health::*;
pub use inbox::*;
pub use knowledge::*;
pub use ledgers::*;
pub use liaisons::*;
pub use monitoring::*;
pub use notifications::*;
pub use onsite::*;
pub use password_resets::*;
pub use ratelimits::*;
pub use saved_views::*;
pub use scoring::*;
pub use screening::*;
pub use statistics::*;
pub use types::*;
pub use visits::*;

use std::collections::BTreeMap;
use std::future::Future;

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Role, Scope, Unit, UnitId};
use mashangban_domain::request::{AttachmentId, Event, NewRequest, Request, RequestId};
use mashangban_domain::time::Instant;
use mashangban_domain::time_limit::{Rule, RuleSet};

pub type StoreResult<T> = Result<T, StoreError>;

/// The org tree, people, sessions and API tokens.
pub trait OrgStore {
    /// Creates or updates a unit by its code.
    fn upsert_unit(&self, unit: NewUnit) -> impl Future<Output = StoreResult<Unit>> + Send;
    /// Creates a unit; a unit with its code already there is `409 unit_code_taken`
    /// (left as it is).
    fn create_unit(&self, unit: NewUnit) -> impl Future<Output = StoreResult<Unit>> + Send;
    fn list_units(&self) -> impl Future<Output = StoreResult<Vec<Unit>>> + Send;
    /// Deactivates (撤销) or reactivates a unit by its code. A unit with
    /// active units below it cannot be deactivated (`409 unit_has_children`).
    /// Inactive units are offered nowhere; their history stays.
    fn set_unit_active(&self, code: &str, active: bool) -> impl Future<Output = StoreResult<Unit>> + Send;

    // Every change of a user below writes an entry of its history (`account_events`, SM3-sealed)
    // in the change's transaction, naming `by`; a refused change writes none.

    fn create_user(&self, user: NewUser, by: AccountBy) -> impl Future<Output = StoreResult<User>> + Send;
    fn find_user(&self, username: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn list_users(&self) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Sets a new password and ends the user's sessions: the user's own change when `by` is the
    /// user, a reset otherwise.
    fn set_password(
        &self,
        username: &str,
        password_hash: String,
        by: AccountBy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets a user's phone and e-mail on file (each `None` clears it).
    fn set_user_contact(
        &self,
        username: &str,
        phone: Option<String>,
        email: Option<String>,
        by: AccountBy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Disables or re-enables a user; disabling ends their sessions.
    fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        by: AccountBy,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Changes a user's role and unit (staff roles need a unit, accounts have
    /// none: `422 unit_required` / `unit_not_allowed`); ends their sessions so
    /// the new role applies at the next sign-in.
    fn set_user_role(
        &self,
        username: &str,
        role: Role,
        unit_id: Option<UnitId>,
        by: AccountBy,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// A user's history (账号变更记录), oldest first; `None` when there is no such user.
    fn account_events(&self, username: &str) -> impl Future<Output = StoreResult<Option<Vec<AccountEvent>>>> + Send;

    fn create_session(&self, session: NewSession) -> impl Future<Output = StoreResult<()>> + Send;
    /// The enabled user of an unexpired session.
    fn session_user(&self, token_hash: &str, now: Instant) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn delete_session(&self, token_hash: &str) -> impl Future<Output = StoreResult<()>> + Send;

    // Creating and revoking a token write an entry of its history (`api_token_events`,
    // SM3-sealed) in the change's transaction, naming `by`.

    /// A new token, created at `by.at`.
    fn create_api_token(&self, token: NewApiToken, by: AccountBy)
    -> impl Future<Output = StoreResult<ApiToken>> + Send;
    /// An unrevoked token by the hash of its secret.
    fn api_token(&self, token_hash: &str) -> impl Future<Output = StoreResult<Option<ApiToken>>> + Send;
    fn list_api_tokens(&self) -> impl Future<Output = StoreResult<Vec<ApiToken>>> + Send;
    /// Revokes a token at `by.at`; `404 token_not_found` when there is no such token,
    /// `409 token_already_revoked` when it is revoked already.
    fn revoke_api_token(&self, id: i64, by: AccountBy) -> impl Future<Output = StoreResult<()>> + Send;
    /// A token's history (接口令牌变更记录), oldest first; `None` when there is no such token.
    fn api_token_events(&self, id: i64) -> impl Future<Output = StoreResult<Option<Vec<TokenEvent>>>> + Send;
    /// Every token's history in one read: each entry with its token's id, oldest first.
    fn all_api_token_events(&self) -> impl Future<Output = StoreResult<Vec<(i64, TokenEvent)>>> + Send;
}

/// Categories (事项分类) and the dispatch catalogue (派单目录).
pub trait CatalogStore {
    /// Creates or updates a category by its code.
    fn upsert_category(&self, category: NewCategory) -> impl Future<Output = StoreResult<Category>> + Send;
    fn list_categories(&self) -> impl Future<Output = StoreResult<Vec<Category>>> + Send;
}

/// Requests, their events and attachments.
pub trait RequestStore {
    /// Takes in a request (受理): assigns its id and tracking number and writes
    /// it with its first event, durably, before returning.
    fn intake(&self, new: NewRequest, actor: &Actor, meta: &Meta) -> impl Future<Output = StoreResult<Request>> + Send;

    /// A request by tracking number, if it exists and is in scope.
    fn find(&self, tracking_no: &str, scope: &Scope) -> impl Future<Output = StoreResult<Option<Request>>> + Send;
    fn find_by_id(&self, id: RequestId, scope: &Scope) -> impl Future<Output = StoreResult<Option<Request>>> + Send;

    /// The request's events, oldest first.
    fn history(&self, request_id: RequestId) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;

    /// A request by tracking number, if it exists and is in scope, with its
    /// events oldest first: `find` and `history` in one read (one reader
    /// hand-off on SQLite, one pooled connection on PostgreSQL), for the
    /// public progress look-up (进度查询), the busiest read.
    fn find_with_history(
        &self,
        tracking_no: &str,
        scope: &Scope,
    ) -> impl Future<Output = StoreResult<Option<(Request, Vec<Event>)>>> + Send;

    /// The comments of the reply events (stage replies, replies, closings) of each of the requests,
    /// oldest first: what the search index holds of a request's history, read for a page of requests
    /// at once instead of one history per request. Requests without any are absent.
    fn reply_texts(
        &self,
        request_ids: &[RequestId],
    ) -> impl Future<Output = StoreResult<BTreeMap<RequestId, Vec<String>>>> + Send;

    /// Applies an action (see `mashangban_domain::lifecycle::apply`) to an
    /// in-scope request atomically with its event. Out of scope is not found.
    fn act(&self, command: Command) -> impl Future<Output = StoreResult<Request>> + Send;

    /// Requests in scope matching the filter, newest first, one page.
    fn list(&self, filter: &ListFilter, scope: &Scope) -> impl Future<Output = StoreResult<Page<Request>>> + Send;

    /// The id and version (it grows with every change) of each request in scope matching the
    /// filter, in the filter's order, one page (no cursor): for a caller that keeps what it derived
    /// from a request under its version and reads the whole request only when that changed.
    fn list_versions(
        &self,
        filter: &ListFilter,
        scope: &Scope,
    ) -> impl Future<Output = StoreResult<Vec<(RequestId, i64)>>> + Send;

    /// The requests with these ids that are in scope, in id order; the others are absent.
    fn requests_by_ids(
        &self,
        ids: &[RequestId],
        scope: &Scope,
    ) -> impl Future<Output = StoreResult<Vec<Request>>> + Send;

    /// How many requests in scope match the filter, all pages together (the
    /// filter's cursor, offset and limit are not counted).
    fn count(&self, filter: &ListFilter, scope: &Scope) -> impl Future<Output = StoreResult<u64>> + Send;

    fn add_attachment(&self, upload: Upload) -> impl Future<Output = StoreResult<Attachment>> + Send;
    fn attachments(&self, request_id: RequestId) -> impl Future<Output = StoreResult<Vec<Attachment>>> + Send;
    fn attachment_content(
        &self,
        request_id: RequestId,
        id: AttachmentId,
    ) -> impl Future<Output = StoreResult<Option<(Attachment, Vec<u8>)>>> + Send;

    /// Open requests with a running deadline at or before `until` whose
    /// notices are not all sent yet, by id after `after` (pages of a scan):
    /// dispatched ones by their sign-for deadline, the others until replied by
    /// their reply deadline, and those with a unit's own deadline (二次派单,
    /// 协办期限). Suspended requests are left out.
    fn deadline_candidates(
        &self,
        until: Instant,
        after: RequestId,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Request>>> + Send;

    /// Open requests whose deadlines need counting again under the calendar in
    /// force: provisional (暂定) ones, and those with time limits but no reply
    /// deadline (taken in before provisional counting existed); by id, after `after`.
    fn recount_candidates(
        &self,
        after: RequestId,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Request>>> + Send;

    /// Requests in scope led by one of `units` whose reply waits for the unit
    /// leader's review (待审核), in queue order (see docs/inside-a-unit.md), at most `limit`.
    fn awaiting_review(
        &self,
        scope: &Scope,
        units: &[UnitId],
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Request>>> + Send;

    /// Each of `sub_units` with its load: how many open requests it has an open
    /// assignment (二次派单) of, and how many of those it has not signed for.
    fn sub_unit_load(
        &self,
        sub_units: &[UnitId],
        now: Instant,
    ) -> impl Future<Output = StoreResult<Vec<SubUnitLoad>>> + Send;
}

/// A sub-unit's load (下级单位工作量) for its unit leader's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubUnitLoad {
    pub unit_id: UnitId,
    /// Requests with an open assignment to it.
    pub open: u64,
    /// Of those, the assignments whose deadline had passed at `now`.
    pub overdue: u64,
}

/// The versioned time-limit rule table (时限规则).
pub trait TimeLimitStore {
    /// The version in force; the Guangdong defaults are stored as version 1 on first use.
    fn current_rules(&self) -> impl Future<Output = StoreResult<RuleSet>> + Send;
    /// Publishes a new version (validated); earlier versions stay as they were.
    fn publish_rules(
        &self,
        rules: Vec<Rule>,
        by: &Actor,
        now: Instant,
    ) -> impl Future<Output = StoreResult<RuleSet>> + Send;
    /// Every version, newest first, with who published it and when.
    fn rule_versions(&self) -> impl Future<Output = StoreResult<Vec<RuleVersion>>> + Send;
}

/// Everything a backend provides.
pub trait Store:
    OrgStore
    + CatalogStore
    + RequestStore
    + TimeLimitStore
    + KnowledgeStore
    + EnterpriseStore
    + LiaisonStore
    + VisitStore
    + DirectLineStore
    + ApprovalStore
    + AuditStore
    + FundStore
    + LedgerStore
    + CommandStore
    + CommandReportStore
    + DocumentStore
    + StatisticsStore
    + MonitoringStore
    + EnforcementStore
    + CompensationStore
    + CreekStore
    + OnsiteStore
    + CalendarStore
    + ScoringStore
    + ScreeningStore
    + DuplicateStore
    + AutoDispatchStore
    + DashboardStore
    + NotificationStore
    + InboxStore
    + SavedViewStore
    + PasswordResetStore
    + ChangeStore
    + RateLimitStore
    + ClusterStore
    + HealthStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: OrgStore
        + CatalogStore
        + RequestStore
        + TimeLimitStore
        + KnowledgeStore
        + EnterpriseStore
        + LiaisonStore
        + VisitStore
        + DirectLineStore
        + ApprovalStore
        + AuditStore
        + FundStore
        + LedgerStore
        + CommandStore
        + CommandReportStore
        + DocumentStore
        + StatisticsStore
        + MonitoringStore
        + EnforcementStore
        + CompensationStore
        + CreekStore
        + OnsiteStore
        + CalendarStore
        + ScoringStore
        + ScreeningStore
        + DuplicateStore
        + AutoDispatchStore
        + DashboardStore
        + NotificationStore
        + InboxStore
        + SavedViewStore
        + PasswordResetStore
        + ChangeStore
        + RateLimitStore
        + ClusterStore
        + HealthStore
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// An action on a request, with who takes it and from where.
#[derive(Debug, Clone)]
pub struct Command {
    pub tracking_no: String,
    /// The scope the request must be in; out of scope answers not found.
    pub scope: Scope,
    pub actor: Actor,
    pub action: Action,
    /// Attachments already uploaded to this request that the event cites.
    pub attachment_ids: Vec<AttachmentId>,
    pub meta: Meta,
    /// The work calendar for deadlines the action starts or moves.
    pub calendar: Option<std::sync::Arc<mashangban_domain::calendar::WorkCalendar>>,
    /// The version the person saw: a request changed since is refused (`409 version_changed`),
    /// checked in the action's own transaction.
    pub expected_version: Option<i64>,
}

/// A file to attach to a request.
#[derive(Debug, Clone)]
pub struct Upload {
    pub tracking_no: String,
    pub scope: Scope,
    pub actor: Actor,
    pub file: NewAttachment,
    pub meta: Meta,
}
