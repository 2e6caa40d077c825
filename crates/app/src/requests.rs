//! Requests (诉求): intake from every channel with its deadlines, lists in
//! the caller's scope, detail, every action (the 409 carries the current
//! state), attachments, and the asker's own steps by tracking number and
//! check code (progress, withdraw, rate, ask for reopening, add materials).
//! Every change is published to the live hub.

use std::collections::{BTreeSet, HashMap};

use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use mashangban_domain::access::Permission;
use mashangban_domain::lifecycle::{Action, Reclassify, check_permission};
use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::request::{Channel, Event, NewRequest, Request, RequestId, RequestKind};
use mashangban_domain::time::Instant;
use mashangban_domain::time_limit::{RuleSet, intake_deadlines};
use mashangban_sheet::Cell;
pub use mashangban_sheet::write::csv_line;
use mashangban_sheet::write::{Export, WriteColumn};
use mashangban_store::{Attachment, Command, ListFilter, ListOrder, NewAttachment, Store, StoreResult, Upload};

use crate::error::{AppError, AppResult, CurrentState, ErrorKind};
use crate::input::{
    ActionName, ActionRequest, AskerInput, FilterContext, IntakeContext, IntakeInput, OwnRateInput, OwnReopenInput,
    RateInput, ReclassifyBody, ReopenRequestInput, Step, WithdrawInput, list_filter, optional_comment,
};
use crate::lookup_cache::Looked;
use crate::views::{self, AttachmentView, EventView, Lookup, PublicView, RequestView};
use crate::{App, Caller, Via};

/// The requests service: `app.requests()`.
pub struct Requests<'a, S> {
    app: &'a App<S>,
}

/// The answer to an intake.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Intake {
    pub tracking_no: String,
    pub check_code: String,
    /// The public progress page (tracking number + check code, no account needed).
    pub progress_url: String,
    pub request: RequestView,
    /// Open requests that look like the same matter (疑似重复), most alike first, for staff who take
    /// in and dispatch (so they can 并单 at once); always empty for accounts and the public portal.
    pub duplicates: Vec<crate::duplicates::SimilarRequest>,
}

/// One page of a list, as the API answers it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RequestList {
    pub items: Vec<RequestView>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
    /// With `q` only: how many requests in the caller's scope match the search and the filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// With `q` only: the matches counted by state, unit, town, category and month, under the same
    /// scope and filters (each value with the parameters that narrow the list to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<crate::search::FacetsView>,
}

impl From<crate::search::SearchListing> for RequestList {
    fn from(s: crate::search::SearchListing) -> Self {
        Self {
            items: s.listing.items.into_iter().map(|(_, v)| v).collect(),
            next_cursor: s.next_cursor,
            total: Some(s.total),
            facets: Some(s.facets),
        }
    }
}

/// A unit leader's desk: replies waiting for their review and their sub-units' load.
pub struct UnitDesk {
    pub review: Vec<(Request, RequestView)>,
    pub sub_units: Vec<SubUnitLoadView>,
}

/// One action to run through the store, with what it cites and the version it was chosen at.
struct Acting {
    action: Action,
    attachment_ids: Vec<i64>,
    expected_version: Option<i64>,
}

impl Acting {
    fn plain(action: Action) -> Self {
        Self { action, attachment_ids: Vec::new(), expected_version: None }
    }
}

/// A unit leader's desk as the API answers it (单位负责人工作台).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitDeskView {
    /// Replies of the leader's unit waiting for their review (待审核), oldest first.
    pub review: Vec<RequestView>,
    /// Each sub-unit directly below the leader's unit with its load.
    pub sub_units: Vec<SubUnitLoadView>,
}

impl From<UnitDesk> for UnitDeskView {
    fn from(desk: UnitDesk) -> Self {
        Self { review: desk.review.into_iter().map(|(_, v)| v).collect(), sub_units: desk.sub_units }
    }
}

/// A sub-unit (科室, 村/社区) and its open assignments within the unit (二次派单).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubUnitLoadView {
    pub code: String,
    pub name: String,
    /// Open requests with an open assignment to it.
    pub open: u64,
    /// Of those, past the sub-unit's deadline.
    pub overdue: u64,
}

/// One page of a list with the requests themselves (for pages that decide per row).
pub struct Listing {
    pub items: Vec<(Request, RequestView)>,
    pub next_cursor: Option<RequestId>,
}

impl From<Listing> for RequestList {
    fn from(l: Listing) -> Self {
        Self {
            items: l.items.into_iter().map(|(_, v)| v).collect(),
            next_cursor: l.next_cursor.map(|c| c.to_string()),
            total: None,
            facets: None,
        }
    }
}

/// A request with its whole history and attachments.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Detail {
    pub request: RequestView,
    pub history: Vec<EventView>,
    pub attachments: Vec<AttachmentView>,
}

/// A request opened by a person: its detail, and the actions they may take now.
pub struct Case {
    pub request: Request,
    pub detail: Detail,
    pub available: BTreeSet<ActionName>,
    /// The units whose returns (退单) of it stood, from the history already read for the page:
    /// dispatch suggestions leave them out.
    pub returned_by: Vec<UnitId>,
}

/// The asker's view of their request and the version it shows (the request's
/// version plus its parent's once merged, so it grows when either changes).
pub struct Progress {
    pub request: Request,
    pub view: PublicView,
    pub version: i64,
}

/// A file as received, before it is checked.
pub struct NewFile {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// An attachment's content, to send as a download.
pub struct Download {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl<'a, S: Store> Requests<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    fn with_lookup<T>(&self, with: impl FnOnce(&Lookup<'_>) -> T) -> T {
        let caches = self.app.caches();
        let (org, categories, calendar) = (caches.org(), caches.categories(), caches.calendar());
        with(&Lookup { org: &org, categories: &categories, calendar: &calendar, now: self.app.now() })
    }

    // ---- intake ------------------------------------------------------------------------

    /// Takes in a request from the API or a page: staff (operators and
    /// dispatchers, or their API tokens), accounts (for themselves) or the
    /// anonymous portal (rate-limited per client address). Answers once the
    /// request and its first event are stored.
    pub async fn intake(&self, caller: &Caller, input: IntakeInput) -> AppResult<Intake> {
        self.intake_with_card(caller, input, None).await
    }

    /// [`Requests::intake`], recording the contact card (联系卡) it came
    /// through in the intake event; the caller has checked the card.
    async fn intake_with_card(
        &self,
        caller: &Caller,
        input: IntakeInput,
        card: Option<mashangban_domain::event::CardSource>,
    ) -> AppResult<Intake> {
        if matches!(caller.actor, Actor::Staff(_) | Actor::Account(_)) {
            return self.intake_unthrottled(caller, input, card).await;
        }
        // The anonymous portal's allowance per address: reserved first, given
        // back when the intake is refused (invalid input) or not stored.
        let throttle = &self.app.limiters().intake_address;
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let Some(attempt) = self.app.reserve(&[(throttle, address)]).await? else {
            return Err(AppError::rate_limited("提交过于频繁，请稍后再试或拨打12345热线"));
        };
        let intake = self.intake_unthrottled(caller, input, card).await;
        match &intake {
            Ok(_) => drop(attempt),
            Err(_) => self.app.give_back(attempt),
        }
        intake
    }

    async fn intake_unthrottled(
        &self,
        caller: &Caller,
        input: IntakeInput,
        card: Option<mashangban_domain::event::CardSource>,
    ) -> AppResult<Intake> {
        let (channel, submitted_by) = self.intake_channel(caller, &input)?;
        if let Actor::Account(account) = &caller.actor {
            check_own_enterprise(account.credit_code.as_deref(), &input)?;
        }
        let (org, categories) = (self.app.caches().org(), self.app.caches().categories());
        let context = IntakeContext {
            org: &org,
            categories: &categories,
            channel,
            check_code: new_check_code(),
            submitted_by,
            card,
        };
        let request = self.take_in(caller, input.into_new_request(context)?).await?;
        let duplicates = self.app.duplicates().at_intake(caller, &request).await?;
        let public_url = self.app.settings().public_url.trim_end_matches('/');
        Ok(Intake {
            duplicates,
            progress_url: format!("{public_url}/track/{}?code={}", request.tracking_no, request.check_code),
            tracking_no: request.tracking_no.clone(),
            check_code: request.check_code.clone(),
            request: self.with_lookup(|l| views::request_view(&request, &Actor::System, l, None)),
        })
    }

    /// Takes in a validated request from any channel (the API, the portal,
    /// Open311): the deadlines come from the time-limit rules in force, then
    /// the store writes it.
    /// A 台账编号 (`ledger_ref`) must name an existing ledger item (`422 unknown_ledger_item`).
    pub async fn take_in(&self, caller: &Caller, mut new: NewRequest) -> AppResult<Request> {
        if let Some(text) = new.ledger_ref.take() {
            let item = self.app.ledgers().reference(&text).await?;
            new.ledger_ref = Some(item.reference());
        }
        let now = self.app.now();
        self.set_deadlines(&mut new);
        if new.screening.is_none() && crate::screening::is_public_submission(caller) {
            // Screening never stands between the public and an intake: if it fails, the request is
            // taken in unscreened, as it was before screening existed.
            match self.app.screening().assess(&new.title, &new.content).await {
                Ok(screening) => new.screening = Some(screening),
                Err(error) => tracing::error!(%error, "spam screening failed; taken in unscreened"),
            }
        }
        // The anonymous portal records the asker as the actor of the first event.
        let actor = match &caller.actor {
            Actor::Anonymous => Actor::PublicAsker,
            actor => actor.clone(),
        };
        let request = self.app.store().intake(new, &actor, &caller.meta(now)).await?;
        let request = self.app.live().published(request);
        Ok(self.app.dispatch().auto_dispatch(request).await)
    }

    /// Sets a new request's deadlines from the time-limit rules in force, counted from now.
    pub fn set_deadlines(&self, new: &mut NewRequest) {
        let limits = self.app.caches().rules().resolve(new.kind, new.urgency, new.channel, new.asker.is_enterprise());
        let (due_at, deadlines) = intake_deadlines(&self.app.caches().calendar(), self.app.now(), &limits);
        (new.due_at, new.deadlines, new.time_limits) = (due_at, deadlines, Some(limits));
    }

    /// The portal's submission: an intake as the signed-in enterprise or
    /// resident account (linked to it, so it is in 我的诉求) or else as the
    /// anonymous asker (even for someone also signed in as staff), then its
    /// files as the asker's materials. Answers the intake and whether every file was saved.
    pub async fn submit_on_portal(
        &self,
        caller: &Caller,
        input: IntakeInput,
        files: Vec<NewFile>,
    ) -> AppResult<(Intake, bool)> {
        self.submit_on_portal_with_card(caller, input, files, None).await
    }

    /// [`Requests::submit_on_portal`] through a contact card whose signed
    /// link the caller has verified (`app.liaisons().verify_card`).
    pub async fn submit_on_portal_with_card(
        &self,
        caller: &Caller,
        input: IntakeInput,
        files: Vec<NewFile>,
        card: Option<mashangban_domain::event::CardSource>,
    ) -> AppResult<(Intake, bool)> {
        let (asker, actor) = match &caller.actor {
            Actor::Account(_) if caller.via == Via::Session => (caller.clone(), caller.actor.clone()),
            _ => (caller.as_anonymous(), Actor::PublicAsker),
        };
        let intake = self.intake_with_card(&asker, input, card).await?;
        let mut all_saved = true;
        for file in files {
            let saved = self.save_file(&asker, &intake.tracking_no, Scope::All, actor.clone(), file).await;
            if let Err(error) = saved {
                tracing::error!(tracking_no = %intake.tracking_no, %error, "portal attachment not saved");
                all_saved = false;
            }
        }
        Ok((intake, all_saved))
    }

    /// Which channel an intake is on, and which account submitted it.
    fn intake_channel(&self, caller: &Caller, input: &IntakeInput) -> AppResult<(Channel, Option<i64>)> {
        let self_service = |channel: Option<Channel>| match channel {
            None | Some(Channel::Web) => Ok(Channel::Web),
            Some(Channel::Mobile) => Ok(Channel::Mobile),
            Some(other) => Err(AppError::invalid(
                "channel_not_allowed",
                format!("网上提交的诉求渠道只能是网站或移动端，不能是「{}」", other.label()),
            )),
        };
        match &caller.actor {
            Actor::Staff(_) if caller.may(Permission::Intake) => {
                if caller.via == Via::Token {
                    return Ok((Channel::Api, None));
                }
                let channel = input
                    .channel
                    .ok_or_else(|| AppError::invalid("channel_required", "请选择受理渠道（如 12345热线、服务窗口）"))?;
                Ok((channel, None))
            }
            Actor::Staff(_) => Err(AppError::forbidden(Permission::Intake.refusal())),
            Actor::Account(account) => Ok((self_service(input.channel)?, Some(account.user_id))),
            _ => Ok((self_service(input.channel)?, None)),
        }
    }

    // ---- lists and detail ------------------------------------------------------------------

    /// The list filter of query parameters, codes resolved against the caches.
    pub fn filter(&self, query: &HashMap<String, String>) -> AppResult<ListFilter> {
        let caches = self.app.caches();
        let (org, categories) = (caches.org(), caches.categories());
        list_filter(query, &FilterContext { org: &org, categories: &categories, now: self.app.now() })
    }

    /// The list's query parameters as a filter and, with `q`, a full-text search
    /// (`app.search().requests`).
    pub fn query(
        &self,
        query: &HashMap<String, String>,
    ) -> AppResult<(ListFilter, Option<crate::search::SearchInput>)> {
        let caches = self.app.caches();
        let (org, categories) = (caches.org(), caches.categories());
        crate::input::list_query(query, &FilterContext { org: &org, categories: &categories, now: self.app.now() })
    }

    /// Requests in the caller's scope that match `filter`, masked for them.
    pub async fn list(&self, caller: &Caller, filter: &ListFilter) -> AppResult<Listing> {
        let page = self.app.store().list(filter, &list_scope(caller, filter)?).await?;
        let with_view = |r: Request, l: &Lookup<'_>| {
            let view = views::request_view(&r, &caller.actor, l, None);
            (r, view)
        };
        let items = self.with_lookup(|l| page.items.into_iter().map(|r| with_view(r, l)).collect());
        Ok(Listing { items, next_cursor: page.next_cursor })
    }

    /// A unit leader's desk (docs/inside-a-unit.md): the replies of their unit waiting for review
    /// (待审核, at most `limit`) and each sub-unit directly below their unit with its load
    /// (二次派单 open and overdue). `None` for everyone else.
    pub async fn unit_desk(&self, caller: &Caller, limit: u32) -> AppResult<Option<UnitDesk>> {
        let Actor::Staff(staff) = &caller.actor else { return Ok(None) };
        if staff.role != mashangban_domain::org::Role::UnitLeader {
            return Ok(None);
        }
        let store = self.app.store();
        let review = store.awaiting_review(&caller.actor.scope(), &staff.units, limit).await?;
        let subs: Vec<mashangban_domain::org::Unit> = {
            let org = self.app.caches().org();
            let mut subs: Vec<_> = org
                .units()
                .filter(|u| {
                    u.parent_id == Some(staff.unit_id)
                        && u.active
                        && u.kind == mashangban_domain::org::UnitKind::Subunit
                })
                .cloned()
                .collect();
            subs.sort_by(|a, b| a.code.cmp(&b.code));
            subs
        };
        let ids: Vec<_> = subs.iter().map(|u| u.id).collect();
        let load = store.sub_unit_load(&ids, self.app.now()).await?;
        let sub_units = subs
            .iter()
            .map(|u| {
                let l = load.iter().find(|l| l.unit_id == u.id);
                SubUnitLoadView {
                    code: u.code.clone(),
                    name: u.display_name().to_owned(),
                    open: l.map_or(0, |l| l.open),
                    overdue: l.map_or(0, |l| l.overdue),
                }
            })
            .collect();
        let with_view = |r: Request, l: &Lookup<'_>| {
            let view = views::request_view(&r, &caller.actor, l, None);
            (r, view)
        };
        let review = self.with_lookup(|l| review.into_iter().map(|r| with_view(r, l)).collect());
        Ok(Some(UnitDesk { review, sub_units }))
    }

    /// How many requests in the caller's scope match `filter`, all pages together.
    pub async fn count(&self, caller: &Caller, filter: &ListFilter) -> AppResult<u64> {
        Ok(self.app.store().count(filter, &list_scope(caller, filter)?).await?)
    }

    // ---- exports --------------------------------------------------------------------

    /// Refuses an export of `filter` that matches more than [`EXPORT_MAX_ROWS`] requests in the
    /// caller's scope (`export_too_large`); called before the first row is sent.
    pub async fn check_export(&self, caller: &Caller, filter: &ListFilter) -> AppResult<()> {
        AppError::check_export_size(self.count(caller, filter).await?, EXPORT_MAX_ROWS)
    }

    /// The next page of an export of `filter` in the caller's scope, masked
    /// exactly as their list is; `None` once every row (or [`EXPORT_MAX_ROWS`])
    /// has been read. Pages of [`EXPORT_BATCH`] rows, so an export of any size
    /// holds one page of requests at a time.
    pub async fn export_page(&self, caller: &Caller, cursor: &mut ExportCursor) -> AppResult<Option<Vec<RequestView>>> {
        if cursor.done || cursor.written >= EXPORT_MAX_ROWS {
            return Ok(None);
        }
        let mut filter = cursor.filter.clone();
        filter.limit = EXPORT_BATCH;
        let page = self.app.store().list(&filter, &list_scope(caller, &filter)?).await?;
        match filter.order {
            ListOrder::Newest => {
                cursor.filter.before_id = page.next_cursor;
                cursor.done = page.next_cursor.is_none();
            }
            ListOrder::Deadline => {
                cursor.filter.offset += EXPORT_BATCH;
                cursor.done = page.items.len() < EXPORT_BATCH as usize;
            }
        }
        if page.items.is_empty() {
            cursor.done = true;
            return Ok(None);
        }
        cursor.written += page.items.len() as u64;
        Ok(Some(
            self.with_lookup(|l| page.items.iter().map(|r| views::request_view(r, &caller.actor, l, None)).collect()),
        ))
    }

    /// The requests of `filter` in the caller's scope as an Excel workbook:
    /// `preamble` (title, the filter in words, who and when) above the
    /// header, then one row per request, masked as the caller's list is.
    /// Rows go to the sheet's temporary file as each page is read
    /// (rust_xlsxwriter's constant-memory mode); codes, phones and numbers
    /// are text cells.
    pub async fn export_xlsx(&self, caller: &Caller, filter: ListFilter, preamble: &[String]) -> AppResult<Vec<u8>> {
        let sheet_error =
            |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::error::DomainError::from(e));
        let columns = EXPORT_COLUMNS.iter().map(|t| WriteColumn::text(*t)).collect();
        self.check_export(caller, &filter).await?;
        let mut export = Export::with_preamble("诉求清单", preamble, columns).map_err(sheet_error)?;
        let mut cursor = ExportCursor::new(filter);
        while let Some(views) = self.export_page(caller, &mut cursor).await? {
            for view in &views {
                let cells: Vec<Cell> = export_fields(view).into_iter().map(Cell::Text).collect();
                export.push(&cells).map_err(sheet_error)?;
            }
        }
        export.finish().map_err(sheet_error)
    }

    /// A request in the caller's scope with its history, attachments and the
    /// actions the caller may take now.
    pub async fn open(&self, caller: &Caller, no: &str) -> AppResult<Case> {
        let request = self.find(caller, no).await?;
        let history = self.app.store().history(request.id).await?;
        let detail = self.detail_of(&request, &caller.actor, &history).await?;
        let available = self.available(&caller.actor, &request);
        let returned_by = mashangban_domain::dispatch::returning_units(&history);
        Ok(Case { request, detail, available, returned_by })
    }

    /// A request in the caller's scope, or `request_not_found`.
    pub async fn find(&self, caller: &Caller, no: &str) -> AppResult<Request> {
        self.app.store().find(no.trim(), &caller.actor.scope()).await?.ok_or_else(AppError::request_not_found)
    }

    async fn detail_of(&self, request: &Request, actor: &Actor, history: &[Event]) -> AppResult<Detail> {
        let attachments = self.app.store().attachments(request.id).await?;
        let merged_into = self.merged_tracking_no(request).await?;
        let (org, categories) = (self.app.caches().org(), self.app.caches().categories());
        Ok(Detail {
            request: self.with_lookup(|l| views::request_view(request, actor, l, merged_into)),
            history: {
                let unmasked = actor.sees_personal_data_of(request.lead_unit_id, &request.co_unit_ids);
                // Internal notes (内部备注) are for staff only: an asker's own account never sees them.
                let staff = matches!(actor, Actor::Staff(_));
                let mut before: Option<String> = None;
                let mut rows = Vec::with_capacity(history.len());
                for (i, e) in history.iter().enumerate().filter(|(_, e)| staff || !e.is_staff_only()) {
                    let mut view = views::event_view(e, actor, unmasked, &org, &categories);
                    // Each row that moved the reply deadline says from what to what (the first sets it).
                    if i > 0 {
                        views::note_deadline_change(&mut view, before.as_deref());
                    }
                    before.clone_from(&view.due_at);
                    rows.push(view);
                }
                rows
            },
            attachments: attachments.iter().map(views::attachment_view).collect(),
        })
    }

    /// The tracking number of the request this one was merged into.
    pub async fn merged_tracking_no(&self, request: &Request) -> AppResult<Option<String>> {
        match request.merged_into {
            Some(id) => Ok(self.app.store().find_by_id(id, &Scope::All).await?.map(|p| p.tracking_no)),
            None => Ok(None),
        }
    }

    /// Whether `actor` may take `action` on `request` in its current state.
    pub fn may(&self, actor: &Actor, request: &Request, action: ActionName) -> bool {
        let probe = action.probe(self.app.now());
        probe.allowed_from().contains(&request.state) && check_permission(request, actor, &probe).is_ok()
    }

    /// The actions worth offering `actor` on `request` now: those the lifecycle
    /// allows, an extension request only when none is pending and its decision
    /// only when one is, a direct close only for consultations, a reopening
    /// only after an unhappy follow-up.
    pub fn available(&self, actor: &Actor, request: &Request) -> BTreeSet<ActionName> {
        let pending = request.pending_extension.is_some();
        let sensible = |action: ActionName| match action {
            ActionName::RequestExtension => !pending,
            ActionName::ApproveExtension | ActionName::RefuseExtension => pending,
            ActionName::DirectClose => request.kind == RequestKind::Consultation && !request.screening_held,
            ActionName::Reopen => request.follow_up_unhappy(),
            ActionName::Release => request.screening_held,
            ActionName::Dispatch | ActionName::Merge => !request.screening_held,
            _ => true,
        };
        if matches!(actor, Actor::Account(_)) && !own_submission(actor, request) {
            return BTreeSet::new();
        }
        ActionName::all().filter(|a| sensible(*a) && self.may(actor, request, *a)).collect()
    }

    // ---- actions ------------------------------------------------------------------------

    /// Takes an action on a request in the caller's scope; answers the
    /// request with its history. A refusal because of the request's state
    /// (409) carries its current state and version.
    pub async fn act(&self, caller: &Caller, no: &str, input: ActionRequest) -> AppResult<Detail> {
        let actor = &caller.actor;
        let scope = acting_scope(actor);
        let action = match input.action.into_step(&self.app.caches().org())? {
            Step::Ready(action) => action,
            Step::MergeInto(parent_no) => {
                let parent = self.app.store().find(parent_no.trim(), &scope).await?.ok_or_else(|| {
                    AppError::invalid("merge_target_not_found", format!("要合并到的主诉求「{parent_no}」不存在"))
                })?;
                Action::Merge { parent_id: parent.id }
            }
            Step::Reclassify(body) => self.reclassification(caller, no, body).await?,
        };
        let mut expected_version = input.expected_version;
        if matches!(action, Action::Return { .. })
            && let Some(request) = self.app.store().find(no.trim(), &scope).await?
        {
            expected_version = self.app.direct_line().check_request_return(&request, expected_version).await?;
        }
        let one = Acting { action, attachment_ids: input.attachment_ids, expected_version };
        let request = self.command(caller, no, scope.clone(), actor.clone(), one).await?;
        let history = self.app.store().history(request.id).await?;
        self.detail_of(&request, actor, &history).await
    }

    /// A correction (改类改急) ready for the lifecycle: codes resolved, and
    /// for counting the deadlines again the rule-table version in force at
    /// receipt (the request's limits name it) and where its clocks started
    /// (its history, as the year-end recount reads it).
    async fn reclassification(&self, caller: &Caller, no: &str, body: ReclassifyBody) -> AppResult<Action> {
        let (category_id, town_id) = {
            let caches = self.app.caches();
            body.resolve(&caches.org(), &caches.categories())?
        };
        let request = self.find(caller, no).await?;
        let rules = match request.time_limits {
            None => None,
            Some(kept) => {
                let current = self.app.caches().rules();
                if current.version == kept.version {
                    Some(RuleSet::clone(&current))
                } else {
                    let versions = self.app.store().rule_versions().await?;
                    let found = versions.into_iter().find(|v| v.version == kept.version).ok_or_else(|| {
                        AppError::invalid(
                            "time_limit_version_missing",
                            format!("找不到诉求受理时适用的第 {} 版时限规则，无法重算期限", kept.version),
                        )
                    })?;
                    Some(RuleSet { version: found.version, rules: found.rules })
                }
            }
        };
        let history = self.app.store().history(request.id).await?;
        Ok(Action::Reclassify(Reclassify {
            kind: body.kind,
            urgency: body.urgency,
            category_id,
            town_id,
            reason: body.reason,
            rules,
            anchors: crate::deadlines::anchors(&history),
        }))
    }

    /// Runs one action through the store and publishes the change.
    async fn command(&self, caller: &Caller, no: &str, scope: Scope, actor: Actor, one: Acting) -> AppResult<Request> {
        let command = Command {
            tracking_no: no.to_owned(),
            scope: scope.clone(),
            actor,
            action: one.action,
            attachment_ids: one.attachment_ids,
            meta: caller.meta(self.app.now()),
            calendar: Some(self.app.caches().calendar()),
            expected_version: one.expected_version,
        };
        let decides_screening = matches!(command.action, Action::Release { .. } | Action::MarkSpam { .. });
        match self.app.store().act(command).await {
            Ok(request) => {
                if decides_screening {
                    self.app.screening().train_soon();
                }
                Ok(self.app.live().published(request))
            }
            Err(e) => Err(self.with_current_state(no, &scope, e.into()).await),
        }
    }

    /// Dispatches a request just taken in to `lead` as the platform (自动派单, see
    /// `Dispatch::auto_dispatch`), only if nothing changed it since.
    pub(crate) async fn dispatch_as_system(
        &self,
        request: &Request,
        lead: UnitId,
        comment: String,
    ) -> AppResult<Request> {
        let action = Action::Dispatch { lead, co: Vec::new(), comment: Some(comment) };
        let one = Acting { action, attachment_ids: Vec::new(), expected_version: Some(request.version) };
        self.command(&Caller::system(), &request.tracking_no, Scope::All, Actor::System, one).await
    }

    /// A refused action (409: the state changed or does not allow it) carries
    /// the request's current state and version, so the client can show what
    /// happened meanwhile (e.g. another node's user acted first).
    async fn with_current_state(&self, no: &str, scope: &Scope, error: AppError) -> AppError {
        if error.kind != ErrorKind::Conflict {
            return error;
        }
        match self.app.store().find(no, scope).await {
            Ok(Some(r)) => error.with_current(CurrentState::of(&r)),
            _ => error,
        }
    }

    // ---- attachments ------------------------------------------------------------------

    /// Adds files to a request in the caller's scope; each becomes an event.
    pub async fn add_files(&self, caller: &Caller, no: &str, files: Vec<NewFile>) -> AppResult<Vec<AttachmentView>> {
        let actor = &caller.actor;
        self.save_files(caller, no, actor.scope(), actor.clone(), files).await
    }

    /// The attachments of a request in the caller's scope.
    pub async fn attachments(&self, caller: &Caller, no: &str) -> AppResult<Vec<AttachmentView>> {
        let request = self.find(caller, no).await?;
        Ok(self.app.store().attachments(request.id).await?.iter().map(views::attachment_view).collect())
    }

    /// One attachment's content, of a request in the caller's scope.
    pub async fn download(&self, caller: &Caller, no: &str, id: &str) -> AppResult<Download> {
        let not_found = || AppError::not_found("attachment_not_found", "附件不存在");
        let id: i64 = id.parse().map_err(|_| not_found().with_message("请求的地址不存在"))?;
        let request = self.find(caller, no).await?;
        let (meta, bytes) = self.app.store().attachment_content(request.id, id).await?.ok_or_else(not_found)?;
        Ok(Download { id, file_name: meta.file_name, content_type: meta.content_type, bytes })
    }

    async fn save_files(
        &self,
        caller: &Caller,
        no: &str,
        scope: Scope,
        actor: Actor,
        files: Vec<NewFile>,
    ) -> AppResult<Vec<AttachmentView>> {
        if files.is_empty() {
            return Err(AppError::bad_request("no_file", "没有收到文件（字段名「file」）"));
        }
        let mut saved = Vec::with_capacity(files.len());
        for file in files {
            saved.push(self.save_file(caller, no, scope.clone(), actor.clone(), file).await?);
        }
        Ok(saved)
    }

    /// Checks one file (not empty, not too large, an accepted type by its
    /// bytes) and stores it; the change is published.
    async fn save_file(
        &self,
        caller: &Caller,
        no: &str,
        scope: Scope,
        actor: Actor,
        file: NewFile,
    ) -> AppResult<AttachmentView> {
        let file_name = clean_file_name(file.name.as_deref());
        if file.bytes.is_empty() {
            return Err(AppError::invalid("empty_file", format!("文件「{file_name}」是空的")));
        }
        let max = self.app.settings().max_attachment_bytes;
        if file.bytes.len() > max {
            return Err(attachment_too_large(max));
        }
        let content_type = sniff(&file.bytes).ok_or_else(|| {
            AppError::invalid(
                "unsupported_file_type",
                format!("不支持的文件类型：「{file_name}」。可上传图片、PDF、Office 文档、录音、视频或纯文本"),
            )
        })?;
        let upload = Upload {
            tracking_no: no.to_owned(),
            scope,
            actor,
            file: NewAttachment {
                file_name,
                content_type: content_type.to_owned(),
                sha256: hex::encode(Sha256::digest(&file.bytes)),
                bytes: file.bytes,
            },
            meta: caller.meta(self.app.now()),
        };
        let attachment: Attachment = self.app.store().add_attachment(upload).await?;
        self.app.live().publish(no);
        Ok(views::attachment_view(&attachment))
    }

    /// Open311: takes in a request and then its media, as the client's token.
    /// The request stands even if a file is not saved; that is logged and
    /// answered as `false`.
    pub async fn take_in_with_media(
        &self,
        caller: &Caller,
        new: NewRequest,
        media: Vec<NewFile>,
    ) -> AppResult<(Request, bool)> {
        let request = self.take_in(caller, new).await?;
        for file in media {
            let saved =
                self.save_file(caller, &request.tracking_no, caller.actor.scope(), caller.actor.clone(), file).await;
            if let Err(e) = saved {
                tracing::error!(tracking_no = %request.tracking_no, error = ?e, "open311 media not saved");
                return Ok((request, false));
            }
        }
        Ok((request, true))
    }

    // ---- the asker's own steps --------------------------------------------------------

    /// The request of a tracking number and check code: a wrong code is the
    /// same 404 as no request. Failures are limited per tracking number (from
    /// every address: guessing one request's code) and per client address
    /// (over every number: spraying), each attempt reserved before the code is
    /// compared; a correct code gives its attempt back.
    pub async fn verified(&self, caller: &Caller, no: &str, code: Option<&str>) -> AppResult<Request> {
        let no = no.trim();
        self.code_checked(caller, no, code, self.app.store().find(no, &Scope::All), |request| request).await
    }

    /// What `load` (not yet started) finds under tracking number `no`, if
    /// `request_of` it carries the check code `code`; see [`Self::verified`].
    async fn code_checked<T>(
        &self,
        caller: &Caller,
        no: &str,
        code: Option<&str>,
        load: impl Future<Output = StoreResult<Option<T>>>,
        request_of: impl Fn(&T) -> &Request,
    ) -> AppResult<T> {
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let wanted = [(&limiters.lookup_request, no), (&limiters.lookup_address, address)];
        let Some(attempt) = self.app.reserve(&wanted).await? else {
            return Err(AppError::rate_limited("查询失败次数过多，请一小时后再试"));
        };
        let code = code.map(str::trim).unwrap_or_default();
        let found = match load.await {
            Ok(found) => found,
            Err(e) => {
                self.app.give_back(attempt);
                return Err(e.into());
            }
        };
        match found {
            Some(found)
                if !code.is_empty() && constant_time_eq(request_of(&found).check_code.as_bytes(), code.as_bytes()) =>
            {
                self.app.give_back(attempt);
                Ok(found)
            }
            _ => {
                // The reserved attempt stays counted: it was a failure.
                drop(attempt);
                Err(AppError::not_found("request_not_found", "受理编号或查询码不正确"))
            }
        }
    }

    /// The asker's masked progress of their request: the request and its
    /// history read together (the busiest public read).
    /// Served from this node's look-up cache when it holds the request (see [`crate::lookup_cache`]).
    pub async fn progress(&self, caller: &Caller, no: &str, code: Option<&str>) -> AppResult<Progress> {
        let no = no.trim();
        let lookups = self.app.live().lookups();
        let load = async {
            match lookups.get(no) {
                Ok(cached) => Ok(Some(cached)),
                Err(ticket) => {
                    Ok(self.app.store().find_with_history(no, &Scope::All).await?.map(|(request, events)| {
                        let stored_no = request.tracking_no.clone();
                        lookups.fill(ticket, &stored_no, Looked { request, events })
                    }))
                }
            }
        };
        let looked = self.code_checked(caller, no, code, load, |looked| &looked.request).await?;
        self.progress_from(looked.request.clone(), &looked.events).await
    }

    /// The request of an asker's live progress stream, already verified by its check code.
    pub async fn watched(&self, id: RequestId) -> AppResult<Request> {
        self.app.store().find_by_id(id, &Scope::All).await?.ok_or_else(AppError::request_not_found)
    }

    /// The asker's masked view with the request it was merged into, if any.
    pub async fn progress_of(&self, request: Request) -> AppResult<Progress> {
        let events = self.app.store().history(request.id).await?;
        self.progress_from(request, &events).await
    }

    /// The masked view of `request` with its `events`, and of the request it was merged into, if any.
    async fn progress_from(&self, request: Request, events: &[Event]) -> AppResult<Progress> {
        let org = self.app.caches().org();
        let calendar = self.app.caches().calendar();
        let mut view = views::public_view(&request, events, &org, &calendar);
        let mut version = request.version;
        let parent = match request.merged_into {
            Some(parent_id) => self.app.store().find_by_id(parent_id, &Scope::All).await?,
            None => None,
        };
        if let Some(parent) = parent {
            let parent_events = self.app.store().history(parent.id).await?;
            view.merged_into = Some(Box::new(views::public_view(&parent, &parent_events, &org, &calendar)));
            version += parent.version;
        }
        Ok(Progress { request, view, version })
    }

    /// The asker withdraws (撤回).
    pub async fn withdraw(&self, caller: &Caller, no: &str, input: WithdrawInput) -> AppResult<Progress> {
        let reason = optional_comment(input.reason.as_deref())?;
        self.asker_acts(caller, no, &input.code, Action::Withdraw { reason }).await
    }

    /// The asker rates the answer (评价).
    pub async fn rate(&self, caller: &Caller, no: &str, input: RateInput) -> AppResult<Progress> {
        let action = Action::FollowUp { rating: input.rating, resolved: input.resolved, comment: input.comment };
        self.asker_acts(caller, no, &input.code, action).await
    }

    /// After an unhappy follow-up the asker asks for the request to be handled
    /// again (申请重办); the dispatcher sees it in the review queue and decides.
    pub async fn request_reopen(&self, caller: &Caller, no: &str, input: ReopenRequestInput) -> AppResult<Progress> {
        self.asker_acts(caller, no, &input.code, Action::RequestReopen { reason: input.reason }).await
    }

    /// The asker adds materials (补充材料) to their request.
    pub async fn add_materials(
        &self,
        caller: &Caller,
        no: &str,
        code: Option<&str>,
        files: Vec<NewFile>,
    ) -> AppResult<Vec<AttachmentView>> {
        refuse_staff_as_asker(caller)?;
        let request = self.verified(caller, no, code).await?;
        self.save_files(caller, &request.tracking_no, Scope::All, Actor::PublicAsker, files).await
    }

    /// An enterprise's or resident's account rates the answer to a request it
    /// submitted itself (评价): the session proves what the check code proves.
    pub async fn rate_own(&self, caller: &Caller, no: &str, input: OwnRateInput) -> AppResult<Progress> {
        let action = Action::FollowUp { rating: input.rating, resolved: input.resolved, comment: input.comment };
        self.account_acts(caller, no, action).await
    }

    /// The account asks for a request it submitted itself to be handled again (申请重办).
    pub async fn request_reopen_own(&self, caller: &Caller, no: &str, input: OwnReopenInput) -> AppResult<Progress> {
        self.account_acts(caller, no, Action::RequestReopen { reason: input.reason }).await
    }

    /// An asker's step taken from their account, on the requests the account
    /// submitted (not every request of its enterprise, which its list also
    /// shows): any other is not found. The event's actor is the account.
    async fn account_acts(&self, caller: &Caller, no: &str, action: Action) -> AppResult<Progress> {
        refuse_staff_as_asker(caller)?;
        if !matches!(caller.actor, Actor::Account(_)) {
            return Err(AppError::unauthenticated());
        }
        let own = acting_scope(&caller.actor);
        let changed = self.command(caller, no.trim(), own, caller.actor.clone(), Acting::plain(action)).await?;
        self.progress_of(changed).await
    }

    async fn asker_acts(&self, caller: &Caller, no: &str, code: &str, action: Action) -> AppResult<Progress> {
        refuse_staff_as_asker(caller)?;
        let request = self.verified(caller, no, Some(code)).await?;
        let changed =
            self.command(caller, &request.tracking_no, Scope::All, Actor::PublicAsker, Acting::plain(action)).await?;
        self.progress_of(changed).await
    }

    // ---- what anyone may read (Open311) ----------------------------------------------

    /// A request as the public may read it; reports (举报) are confidential and never appear.
    pub async fn published(&self, no: &str) -> AppResult<Option<Request>> {
        let found = self.app.store().find(no.trim(), &Scope::All).await?;
        Ok(found.filter(|r| r.kind != RequestKind::Report))
    }

    /// The requests of a filter as the public may read them, reports left out.
    pub async fn published_list(&self, mut filter: ListFilter) -> AppResult<Vec<Request>> {
        if !filter.exclude_kinds.contains(&RequestKind::Report) {
            filter.exclude_kinds.push(RequestKind::Report);
        }
        Ok(self.app.store().list(&filter, &Scope::All).await?.items)
    }

    /// The public timeline (办理进度) of a request.
    pub async fn public_steps(&self, request: &Request) -> AppResult<Vec<views::PublicStep>> {
        let events = self.app.store().history(request.id).await?;
        Ok(views::public_timeline(&events, &self.app.caches().org()))
    }

    // ---- deadlines -------------------------------------------------------------------

    /// The instant `hours` working hours from now (natural hours where the
    /// calendar does not reach).
    pub fn working_hours_ahead(&self, hours: u32) -> Instant {
        let now = self.app.now();
        let calendar = self.app.caches().calendar();
        calendar.add_workhours(now, hours).unwrap_or(now + chrono::Duration::hours(i64::from(hours)))
    }
}

/// Rows read from the store at a time while exporting.
pub const EXPORT_BATCH: u32 = 500;
/// The most rows one export writes; a filter matching more is refused (`export_too_large`).
pub const EXPORT_MAX_ROWS: u64 = 500_000;

/// Where an export has got to.
pub struct ExportCursor {
    filter: ListFilter,
    written: u64,
    done: bool,
}

impl ExportCursor {
    /// From the start of `filter` (its paging is ignored).
    pub fn new(filter: ListFilter) -> Self {
        Self { filter: ListFilter { before_id: None, offset: 0, ..filter }, written: 0, done: false }
    }
}

/// The columns of a request export (Excel and CSV).
pub const EXPORT_COLUMNS: &[&str] = &[
    "受理编号",
    "状态",
    "类型",
    "紧急程度",
    "标记",
    "渠道",
    "标题",
    "分类",
    "镇街",
    "主办单位",
    "协办单位",
    "企业名称",
    "统一社会信用代码",
    "联系人",
    "联系电话",
    "受理时间",
    "答复期限",
    "剩余时间",
    "办结时间",
    "满意度",
];

/// A request's fields in the order of [`EXPORT_COLUMNS`], as text.
pub fn export_fields(v: &RequestView) -> Vec<String> {
    let time = |t: &str| t.get(..16).map_or_else(|| t.to_owned(), |s| s.replacen('T', " ", 1));
    let opt = |t: Option<&String>| t.map_or_else(String::new, |t| time(t));
    let running = v.deadlines.iter().filter(|d| d.remaining_minutes.is_some()).min_by_key(|d| d.remaining_minutes);
    vec![
        v.tracking_no.clone(),
        v.state_label.to_owned(),
        v.kind_label.to_owned(),
        v.urgency_label.to_owned(),
        v.badges.iter().map(|b| b.label.as_str()).collect::<Vec<_>>().join("、"),
        v.channel_label.to_owned(),
        v.title.clone(),
        v.category.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        v.town.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        v.lead_unit.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        v.co_units.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join("、"),
        v.asker.enterprise_name.clone().unwrap_or_default(),
        v.asker.credit_code.clone().unwrap_or_default(),
        v.asker.contact_name.clone(),
        v.asker.contact_phone.clone(),
        time(&v.received_at),
        match (&v.due_at, v.due_provisional) {
            (Some(d), true) => format!("{}（暂定）", time(d)),
            (d, _) => opt(d.as_ref()),
        },
        running.and_then(|d| d.remaining_text.clone()).unwrap_or_default(),
        opt(v.closed_at.as_ref()),
        v.rating_label.unwrap_or_default().to_owned(),
    ]
}

/// The asker's own steps (withdraw, rate, ask for reopening, add materials) are the asker's: a caller
/// holding a staff session or an API token may not take them with a check code, so a handler cannot
/// withdraw or rate its own unit's request as if it were the asker. Staff record a follow-up call's
/// rating with the staff action `follow-up`, which the history shows as theirs.
pub fn refuse_staff_as_asker(caller: &Caller) -> AppResult<()> {
    if matches!(caller.actor, Actor::Staff(_) | Actor::System) || caller.via == crate::Via::Token {
        return Err(AppError::forbidden("工作人员不能以诉求人身份操作；电话回访的评价请在工单中以「回访」录入")
            .with_code("staff_cannot_act_as_asker"));
    }
    Ok(())
}

/// The requests an actor may act on: its data scope, except that an
/// enterprise's or resident's account acts (评价, 申请重办, 撤回) only on what
/// it submitted itself, not on every request its enterprise's list shows.
fn acting_scope(actor: &Actor) -> Scope {
    match actor {
        Actor::Account(account) => Scope::Asker { user_id: account.user_id, credit_code: None },
        _ => actor.scope(),
    }
}

/// Whether the account submitted the request.
fn own_submission(actor: &Actor, request: &Request) -> bool {
    matches!(actor, Actor::Account(a) if request.submitted_by == Some(a.user_id))
}

/// An enterprise account submits for its own enterprise only, a resident's as a resident.
fn check_own_enterprise(own: Option<&str>, input: &IntakeInput) -> AppResult<()> {
    match (&input.asker, own) {
        (AskerInput::Enterprise { credit_code, .. }, Some(own)) if credit_code.trim().eq_ignore_ascii_case(own) => {
            Ok(())
        }
        (AskerInput::Resident, None) => Ok(()),
        (_, Some(_)) => Err(AppError::invalid("asker_mismatch", "企业账号只能以本企业的名义提交诉求")),
        (_, None) => Err(AppError::invalid("asker_mismatch", "个人账号只能以个人名义提交诉求")),
    }
}

/// A random 8-digit check code (查询码) for public progress look-ups.
pub fn new_check_code() -> String {
    format!("{:08}", rand::thread_rng().next_u32() % 100_000_000)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn attachment_too_large(max: usize) -> AppError {
    AppError::too_large(format!("单个附件不能超过 {} MB", max / 1024 / 1024))
}

/// Files we accept, by sniffed type: pictures, documents, recordings of calls, video.
const ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/heif",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/x-ole-storage",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
    "audio/mpeg",
    "audio/amr",
    "audio/x-wav",
    "audio/m4a",
    "audio/aac",
    "video/mp4",
    "video/quicktime",
];

/// The content type of a file from its bytes, if it is one we accept.
/// Plain UTF-8 text is accepted as `text/plain` unless it looks like markup.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if let Some(kind) = infer::get(bytes) {
        return ALLOWED_TYPES.iter().copied().find(|t| *t == kind.mime_type());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let head = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    let markup = head.starts_with('<') || head.contains("<script") || head.contains("<html") || head.contains("<svg");
    let control = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!markup && !control && !text.is_empty()).then_some("text/plain; charset=utf-8")
}

/// A file name safe to store and to send back: no paths, no control characters.
pub fn clean_file_name(name: Option<&str>) -> String {
    let base = name.unwrap_or("附件").rsplit(['/', '\\']).next().unwrap_or("附件");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(100).collect();
    if cleaned.trim().is_empty() { "附件".into() } else { cleaned.trim().to_owned() }
}

/// The scope a list query runs in: the caller's, narrowed to the requests whose asker they see
/// unmasked when the query filters by the asker's phone (`Actor::personal_lookup_scope`), refused when
/// they see no one's.
pub(crate) fn list_scope(caller: &Caller, filter: &ListFilter) -> AppResult<Scope> {
    if filter.contact_phone.is_none() {
        return Ok(caller.actor.scope());
    }
    caller.actor.personal_lookup_scope().ok_or_else(|| {
        AppError::new(ErrorKind::Forbidden, "phone_filter_forbidden", "您看到的诉求不显示来电号码，不能按号码查询")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_accepts_documents_and_refuses_markup_and_programs() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]), Some("image/png"));
        assert_eq!(sniff("情况说明：排污口位于小榄镇。".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"<html><script>alert(1)</script></html>"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00"), None);
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_file_name(Some("C:\\证明\\营业执照.pdf")), "营业执照.pdf");
        assert_eq!(clean_file_name(Some("a\u{0}b\"c.txt")), "abc.txt");
        assert_eq!(clean_file_name(None), "附件");
    }
}
