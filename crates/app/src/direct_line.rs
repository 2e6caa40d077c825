//! The secretary-mayor direct line (书记市长直通车): intake on the portal (as
//! the anonymous portal's intake: its rate limit per address, the same size
//! bounds) and by the leaders' office for letters and calls; screening by the
//! office (put before a leader, merge, or turn into an ordinary request taken
//! in through the requests' own intake); the leader's instruction (批示) with
//! its time limit counted in working days on the calendar in force, which
//! takes in, dispatches and supervises a request in one transaction; the
//! office's review of the unit's reply, which alone lets the reply reach the
//! asker; the asker's progress page and rating; the published replies; the
//! monthly report and its Excel export.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::direct_line::{
    self, Addressee, Correction, Instruction, ItemScope, ItemState, NewItem, Queue, Review, Source, item_not_found,
};
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::org::{Actor, OrgTree, Role, UserId};
use mashangban_domain::request::{self, Asker, Channel, Contact, Location, NewRequest, Rating, RequestKind, Urgency};
use mashangban_domain::time::{Instant, format_instant, in_shanghai};
use mashangban_domain::validation::{CreditCode, Phone, mask_name, mask_phone, optional_text};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{Category, Instructed, Item, ItemFilter, ReturnRefusal, Screening, Store};

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The direct-line service: `app.direct_line()`.
pub struct DirectLine<'a, S> {
    app: &'a App<S>,
}

/// An item written on the portal (or the public API).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicItemBody {
    #[schemars(length(max = 50))]
    pub name: String,
    pub phone: String,
    /// The enterprise's 统一社会信用代码, when writing for an enterprise.
    #[serde(default)]
    pub credit_code: Option<String>,
    #[schemars(length(max = 100))]
    pub title: String,
    #[schemars(length(max = 4000))]
    pub content: String,
    /// `secretary` (书记) or `mayor` (市长).
    pub addressee: Addressee,
    /// Whether the reply may be published (masked) on the portal.
    #[serde(default)]
    pub publish_consent: bool,
}

/// A letter or a call entered by the leaders' office.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffItemBody {
    /// `letter` (来信) or `call` (来电).
    pub source: Source,
    #[serde(flatten)]
    pub item: PublicItemBody,
}

/// What the portal answers a new item.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Taken {
    pub tracking_no: String,
    pub check_code: String,
    pub progress_url: String,
}

/// The office's correction of a new item (更正): the fields given replace the item's.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectBody {
    /// Category code the request will carry.
    #[serde(default)]
    pub category: Option<String>,
    /// The enterprise's 统一社会信用代码; empty for a resident's letter.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The title that sums the item up (摘要); the asker's content is never changed.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub title: Option<String>,
}

/// Put before a leader (呈报).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The city leader (user id).
    pub leader_user_id: UserId,
    /// Category code the request will carry.
    pub category: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Merge into another item.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The other item's tracking number.
    pub into: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Turn into an ordinary request.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertBody {
    pub category: String,
    /// `help` (求助) by default.
    #[serde(default)]
    pub kind: Option<RequestKind>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A leader's instruction (批示).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructBody {
    pub text: String,
    /// Code of the lead unit (主办).
    #[serde(default)]
    pub lead_unit: Option<String>,
    /// Codes of the co-units (协办).
    #[serde(default)]
    pub co_units: Vec<String>,
    /// Time limit in working days (1 to 60).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The office's review of a reply.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `approve` (同意，答复来信人) or `send_back` (退回重新答复).
    pub decision: Decision,
    /// The reason (required to send back) or a comment.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    SendBack,
}

/// The lead unit sends an instruction back (退回) to the leaders' office.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Why the unit is not the one to handle it (required).
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub reason: String,
}

/// The office puts a returned item before its leader again (重新呈报).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResubmitBody {
    #[serde(default)]
    pub comment: Option<String>,
}

/// The office re-dispatches a returned item under the same instruction (按原批示改派).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedispatchBody {
    /// Code of the new lead unit (主办).
    #[serde(default)]
    pub lead_unit: Option<String>,
    /// Codes of the co-units (协办).
    #[serde(default)]
    pub co_units: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The office refuses a unit's return (驳回退回): the instruction goes back to the same unit.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseReturnBody {
    /// Why the unit is the one to handle it after all (required); the unit reads it.
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub reason: String,
    /// A new due date (RFC 3339, in the future); without it the instruction's due date stays.
    #[serde(default)]
    #[schemars(extend("format" = "date-time"))]
    pub due_at: Option<String>,
    /// The request's `version` as the office saw it (`request.version` of the item); a request
    /// changed since is refused with `409 version_changed`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The asker's rating of the answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// The check code (查询码).
    pub code: String,
    pub rating: Rating,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Which items a listing answers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ItemQuery {
    /// `new`, `screened`, `instructed`, `returned` or `review` (the office's queues).
    pub queue: Option<String>,
    /// `YYYY-MM`: items received in that month.
    pub month: Option<String>,
}

/// An item as staff see it.
/// The spam screening (垃圾信息甄别) of an item from the portal: advice for the office's 甄别,
/// which every new item waits for.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemScreeningView {
    /// 0–1.
    pub score: f64,
    /// At or above the screening threshold (疑似垃圾信息).
    pub suspected: bool,
    /// Why, in Chinese: the phrases found, links, phone numbers, mixed scripts, repeats, the classifier.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemView {
    pub id: i64,
    pub tracking_no: String,
    pub source: Source,
    pub source_label: &'static str,
    pub addressee: Addressee,
    pub addressee_label: &'static str,
    /// Masked except for the leaders' office.
    pub name: String,
    pub phone: String,
    pub credit_code: Option<String>,
    pub title: String,
    pub content: String,
    pub publish_consent: bool,
    /// The spam screening of an item from the portal; shown to the leaders' office only.
    pub screening: Option<ItemScreeningView>,
    /// The category its request will carry (chosen when corrected or put before a leader).
    pub category: Option<ItemCategoryView>,
    pub state: ItemState,
    pub state_label: &'static str,
    pub queue: Queue,
    pub queue_label: &'static str,
    pub leader_user_id: Option<UserId>,
    pub leader_name: Option<String>,
    pub merged_into: Option<String>,
    pub instruction: Option<String>,
    pub lead_unit: Option<UnitRef>,
    pub co_units: Vec<UnitRef>,
    pub days: Option<u32>,
    pub instructed_at: Option<String>,
    pub due_at: Option<String>,
    /// Instructed, not answered, and past the instruction's time limit.
    pub overdue: bool,
    /// The viewer is the lead unit's staff and may send the instruction back (退回): the request is
    /// dispatched or signed for, not yet answered, and the office has not refused its returns
    /// `return_refusals_max` times.
    pub may_return: bool,
    /// The office's refusals of the current unit's returns (驳回退回) since it was named.
    pub return_refusals: u32,
    /// Refusals after which the unit may no longer return the item (configured).
    pub return_refusals_max: u32,
    /// The limit is reached: the unit must handle the item or ask the office to escalate it.
    pub returns_closed: bool,
    pub request: Option<ItemRequestView>,
    /// The approved reply.
    pub reply: Option<String>,
    pub answered_at: Option<String>,
    pub rating: Option<Rating>,
    pub rating_label: Option<&'static str>,
    pub rating_comment: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub history: Vec<ItemEventView>,
}

/// An item's category.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemCategoryView {
    pub code: String,
    pub name: String,
}

/// The request an item became.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemRequestView {
    pub tracking_no: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub due_at: Option<String>,
    pub supervised: bool,
    /// The request's version: a step on the item may send it back to refuse a stale view.
    pub version: i64,
    /// The unit's latest reply, awaiting review or approved.
    pub last_reply: Option<String>,
}

/// One step of an item's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemEventView {
    pub at: String,
    pub by: String,
    pub action: String,
    pub label: &'static str,
    pub comment: Option<String>,
}

/// What the asker sees with the tracking number and check code.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublicProgress {
    pub tracking_no: String,
    pub title: String,
    pub addressee_label: &'static str,
    pub received_at: String,
    /// 已收到, 已转办, 办理中, 已答复, 已合并.
    pub status_label: &'static str,
    /// The request it was turned into (ordinary requests are followed on /track with the SMS's check code).
    pub request_tracking_no: Option<String>,
    pub merged_into: Option<String>,
    /// The reply, once the leaders' office approved it.
    pub reply: Option<String>,
    pub answered_at: Option<String>,
    pub rating_label: Option<&'static str>,
    pub may_rate: bool,
}

/// A published reply on the portal (masked).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PublishedView {
    pub tracking_no: String,
    pub addressee_label: &'static str,
    /// Masked (张*).
    pub name: String,
    pub title: String,
    pub content: String,
    pub reply: String,
    pub answered_at: String,
}

/// One row of the monthly report.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ReportRow {
    /// The unit's or the leader's name.
    pub name: String,
    pub received: u32,
    pub instructed: u32,
    /// Answered (approved) by the instruction's time limit.
    pub closed_on_time: u32,
    pub answered: u32,
    /// Not answered and past the time limit.
    pub overdue: u32,
    pub rated: u32,
    /// Rated 非常满意, 满意 or 基本满意.
    pub satisfied: u32,
    /// `satisfied / rated` in percent, one decimal; none unrated.
    pub satisfaction: Option<f64>,
}

/// The monthly report (直通车月报): items received in the month.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MonthlyReport {
    pub month: String,
    pub total: ReportRow,
    pub by_unit: Vec<ReportRow>,
    pub by_leader: Vec<ReportRow>,
}

impl<'a, S: Store> DirectLine<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    // ---- intake ----------------------------------------------------------------------

    /// An item from the portal: the anonymous intake's allowance per client
    /// address, reserved first and given back when refused.
    pub async fn submit(&self, caller: &Caller, body: PublicItemBody) -> AppResult<Taken> {
        let throttle = &self.app.limiters().intake_address;
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let Some(attempt) = self.app.reserve(&[(throttle, address)]).await? else {
            return Err(AppError::rate_limited("提交过于频繁，请稍后再试或拨打12345热线"));
        };
        let taken = self.take_in(Source::Portal, &body, "来信人（网上）".to_owned()).await;
        match &taken {
            Ok(_) => drop(attempt),
            Err(_) => self.app.give_back(attempt),
        }
        taken
    }

    /// A letter or a call entered by the leaders' office.
    pub async fn enter(&self, caller: &Caller, body: StaffItemBody) -> AppResult<ItemView> {
        if body.source == Source::Portal {
            return Err(AppError::invalid("invalid_source", "工作人员录入的来源只能是来信或来电"));
        }
        let taken = self.take_in(body.source, &body.item, author(&caller.actor)).await?;
        let item = self.app.store().item_by_tracking_no(&taken.tracking_no).await?.ok_or_else(item_not_found)?;
        Ok(self.view(item, &caller.actor))
    }

    async fn take_in(&self, source: Source, body: &PublicItemBody, by: String) -> AppResult<Taken> {
        let mut item = NewItem::new(
            source,
            body.addressee,
            &body.name,
            &body.phone,
            body.credit_code.as_deref(),
            &body.title,
            &body.content,
            body.publish_consent,
            crate::requests::new_check_code(),
        )?;
        if source == Source::Portal {
            item.screening = self.screened(&item.title, &item.content).await;
        }
        let saved = self.app.store().take_in_item(item, self.app.now(), by).await?;
        self.app.live().publish_direct_line(saved.id);
        let public_url = self.app.settings().public_url.trim_end_matches('/');
        Ok(Taken {
            progress_url: format!("{public_url}/direct-line/track?no={}&code={}", saved.tracking_no, saved.check_code),
            tracking_no: saved.tracking_no,
            check_code: saved.check_code,
        })
    }

    /// The spam screening of a public item, as requests from the portal are screened; a failure
    /// leaves it unscreened (the office reads every new item anyway).
    async fn screened(&self, title: &str, content: &str) -> Option<mashangban_domain::screening::Verdict> {
        match self.app.screening().assess(title, content).await {
            Ok(screening) => Some(screening.verdict),
            Err(error) => {
                tracing::error!(%error, "spam screening of a direct-line item failed; taken in unscreened");
                None
            }
        }
    }

    // ---- reading -----------------------------------------------------------------------

    /// One item in the caller's scope (`404 direct_line_not_found` otherwise).
    pub async fn get(&self, caller: &Caller, id: i64) -> AppResult<ItemView> {
        let item = self.load(caller, id).await?;
        Ok(self.view(item, &caller.actor))
    }

    async fn load(&self, caller: &Caller, id: i64) -> AppResult<Item> {
        Ok(self.app.store().item(id, ItemScope::of(&caller.actor)).await?.ok_or_else(item_not_found)?)
    }

    /// Items in the caller's scope (a city leader: those put before them), newest first.
    pub async fn list(&self, caller: &Caller, query: &ItemQuery) -> AppResult<Vec<ItemView>> {
        self.listing(caller, query, None).await
    }

    /// Item `id` as `list` would answer it with the same query: `None` when that list does not
    /// show it (out of scope, filtered out or gone). A live list re-reads one changed item so.
    pub async fn listed(&self, caller: &Caller, query: &ItemQuery, id: i64) -> AppResult<Option<ItemView>> {
        Ok(self.listing(caller, query, Some(id)).await?.pop())
    }

    async fn listing(&self, caller: &Caller, query: &ItemQuery, id: Option<i64>) -> AppResult<Vec<ItemView>> {
        let mut filter = ItemFilter { id, ..ItemFilter::in_scope(ItemScope::of(&caller.actor)) };
        if let Some(month) = blank(&query.month) {
            let (from, until) = crate::visits::month_range(&month)?;
            (filter.from, filter.until) = (Some(from), Some(until));
        }
        let queue = match blank(&query.queue) {
            Some(q) => Some(Queue::parse(&q).ok_or_else(|| {
                AppError::bad_parameter("「queue」应为 new、screened、instructed、returned 或 review")
            })?),
            None => None,
        };
        let items = self.app.store().items(&filter).await?;
        Ok(items
            .into_iter()
            .map(|i| self.view(i, &caller.actor))
            .filter(|v| queue.is_none_or(|q| v.queue == q))
            .collect())
    }

    /// The city leaders an item may be put before.
    pub async fn leaders(&self) -> AppResult<Vec<(UserId, String)>> {
        let users = self.app.store().list_users().await?;
        Ok(users
            .into_iter()
            .filter(|u| u.role == Role::CityLeader && !u.disabled)
            .map(|u| (u.id, u.display_name))
            .collect())
    }

    // ---- screening ---------------------------------------------------------------------

    /// Puts a new item before a city leader (呈报).
    pub async fn submit_to_leader(&self, caller: &Caller, id: i64, body: SubmitBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        if !self.leaders().await?.iter().any(|(u, _)| *u == body.leader_user_id) {
            return Err(AppError::invalid("invalid_leader", "请选择一位在岗的市领导"));
        }
        let category_id = self.category(&body.category)?;
        let comment = optional_text("呈报意见", body.comment.as_deref(), direct_line::REMARK_MAX)?;
        let screening = Screening::Submit { leader_user_id: body.leader_user_id, category_id, comment };
        self.screen(caller, id, screening).await
    }

    /// Merges an item into another (并件).
    pub async fn merge(&self, caller: &Caller, id: i64, body: MergeBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let comment = optional_text("合并说明", body.comment.as_deref(), direct_line::REMARK_MAX)?;
        self.screen(caller, id, Screening::Merge { into: body.into.trim().to_owned(), comment }).await
    }

    /// Turns an item into an ordinary request (转为普通诉求), taken in through the requests' intake.
    pub async fn convert(&self, caller: &Caller, id: i64, body: ConvertBody) -> AppResult<ItemView> {
        let item = self.load(caller, id).await?;
        let category_id = self.category(&body.category)?;
        let channel = match item.source {
            Source::Portal => Channel::Web,
            Source::Call => Channel::Phone,
            Source::Letter => Channel::Counter,
        };
        let new = self.new_request(&item, category_id, body.kind.unwrap_or(RequestKind::Help), channel, None).await?;
        let comment = optional_text("说明", body.comment.as_deref(), direct_line::REMARK_MAX)?;
        self.screen(caller, id, Screening::Convert { request: Box::new(new), comment }).await
    }

    async fn screen(&self, caller: &Caller, id: i64, screening: Screening) -> AppResult<ItemView> {
        let meta = caller.meta(self.app.now());
        let (item, request) = self.app.store().screen_item(id, screening, &caller.actor, &meta).await?;
        self.app.live().publish_direct_line(item.id);
        if let Some(r) = request {
            self.app.live().published(r);
        }
        Ok(self.view(item, &caller.actor))
    }

    /// Corrects a new item's category, enterprise or title (更正), each change in its history with
    /// what it was and what it is.
    pub async fn correct(&self, caller: &Caller, id: i64, body: CorrectBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let category_id = blank(&body.category).map(|c| self.category(&c)).transpose()?;
        let correction = Correction::new(category_id, body.credit_code.as_deref(), body.title.as_deref())?;
        let item = self.app.store().correct_item(id, correction, &caller.actor, self.app.now()).await?;
        self.app.live().publish_direct_line(item.id);
        Ok(self.view(item, &caller.actor))
    }

    // ---- instruction and review ------------------------------------------------------------

    /// A leader's instruction on an item put before them: the request taken in,
    /// dispatched to the units and supervised, due in the given working days.
    pub async fn instruct(&self, caller: &Caller, id: i64, body: InstructBody) -> AppResult<ItemView> {
        let item = self.load(caller, id).await?;
        if item.state != ItemState::Submitted {
            return Err(direct_line::wrong_state(item.state, "批示").into());
        }
        let org = self.app.caches().org();
        let lead = match blank(&body.lead_unit) {
            Some(code) => Some(crate::input::unit_by_code(&org, &code)?),
            None => None,
        };
        let mut co = Vec::new();
        for code in body.co_units.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).take(direct_line::CO_UNITS_MAX + 1)
        {
            co.push(crate::input::unit_by_code(&org, code)?);
        }
        let instruction = Instruction::new(&body.text, lead, &co, body.days)?;
        let now = self.app.now();
        let calendar = self.app.caches().calendar();
        let due_at = crate::calendar::due(&calendar, now, crate::calendar::Amount::WorkingDays(instruction.days))?;
        // Put before the leader again after its lead unit sent it back: its request is re-dispatched.
        let request = if item.request.is_some() {
            None
        } else {
            let category_id = item.category_id.ok_or_else(AppError::internal)?;
            let leader = caller.actor.name().to_owned();
            let note = format!("\n\n【{leader}批示】{}（{} 个工作日内办结）", instruction.text, instruction.days);
            let mut new =
                self.new_request(&item, category_id, RequestKind::Help, Channel::DirectLine, Some(&note)).await?;
            new.due_at = Some(due_at);
            Some(Box::new(new))
        };
        let instructed = Instructed { instruction, due_at, request };
        let meta = caller.meta(now);
        let (item, request) =
            self.app.store().instruct_item(id, instructed, &caller.actor, &meta, Some(calendar)).await?;
        self.app.live().publish_direct_line(item.id);
        self.app.live().published(request);
        Ok(self.view(item, &caller.actor))
    }

    /// The lead unit sends the instruction back (退回) with its reason: the request is returned and
    /// the item waits in the office's 单位退回 queue. Co-units: `403 not_lead_unit`; other units do
    /// not see the item (`404`).
    /// `409 direct_line_return_limit` once the office refused the configured number of its returns.
    pub async fn return_to_office(&self, caller: &Caller, id: i64, body: ReturnBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let reason = direct_line::return_reason(&body.reason)?;
        let meta = caller.meta(self.app.now());
        let max = self.app.settings().direct_line_return_refusals;
        let (item, request) = self.app.store().return_item(id, reason, max, &caller.actor, &meta).await?;
        self.app.live().publish_direct_line(item.id);
        self.app.live().published(request);
        Ok(self.view(item, &caller.actor))
    }

    /// A return (退单) of a direct-line request on the request's own page, checked as on the item's:
    /// `409 direct_line_return_limit` once the office refused the configured number of the unit's
    /// returns. Answers the request's version to act on, so that a refusal between this check and
    /// the return makes the return fail (`409 version_changed`) instead of slipping past the limit.
    pub(crate) async fn check_request_return(
        &self,
        request: &mashangban_domain::request::Request,
        expected_version: Option<i64>,
    ) -> AppResult<Option<i64>> {
        if request.channel != Channel::DirectLine {
            return Ok(expected_version);
        }
        let Some(item) = self.app.store().item_of_request(request.id).await? else { return Ok(expected_version) };
        let refused = direct_line::refused_returns(item.events.iter().map(|e| e.action.as_str()));
        direct_line::may_return_again(refused, self.app.settings().direct_line_return_refusals)?;
        Ok(Some(expected_version.unwrap_or(request.version)))
    }

    /// The office puts a returned item before its leader again (重新呈报) for a new instruction.
    pub async fn resubmit(&self, caller: &Caller, id: i64, body: ResubmitBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let comment = optional_text("呈报意见", body.comment.as_deref(), direct_line::REMARK_MAX)?;
        let item = self.app.store().resubmit_item(id, comment, &caller.actor, self.app.now()).await?;
        self.app.live().publish_direct_line(item.id);
        Ok(self.view(item, &caller.actor))
    }

    /// The office re-dispatches a returned item to other units under the same instruction and
    /// time limit (按原批示改派), when the instruction named the wrong unit by mistake.
    pub async fn redispatch(&self, caller: &Caller, id: i64, body: RedispatchBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let org = self.app.caches().org();
        let lead = match blank(&body.lead_unit) {
            Some(code) => crate::input::unit_by_code(&org, &code)?,
            None => return Err(AppError::invalid("instruction_units_required", "请选择改派的主办单位")),
        };
        let mut co = Vec::new();
        for code in body.co_units.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).take(direct_line::CO_UNITS_MAX + 1)
        {
            co.push(crate::input::unit_by_code(&org, code)?);
        }
        if co.len() > direct_line::CO_UNITS_MAX {
            return Err(AppError::invalid("too_many_co_units", format!("协办单位最多{}个", direct_line::CO_UNITS_MAX)));
        }
        let comment = optional_text("改派说明", body.comment.as_deref(), direct_line::REMARK_MAX)?;
        let meta = caller.meta(self.app.now());
        let (item, request) = self.app.store().redispatch_item(id, lead, co, comment, &caller.actor, &meta).await?;
        self.app.live().publish_direct_line(item.id);
        self.app.live().published(request);
        Ok(self.view(item, &caller.actor))
    }

    /// The office refuses the lead unit's return (驳回退回) with its reason: the instruction goes back
    /// to the same unit, due as before or by the new due date given.
    pub async fn refuse_return(&self, caller: &Caller, id: i64, body: RefuseReturnBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let reason = direct_line::refusal_reason(&body.reason)?;
        let due = match blank(&body.due_at) {
            Some(due) => Some(mashangban_domain::time::parse_instant(&due).ok_or_else(|| {
                AppError::invalid("invalid_datetime", "「due_at」应为带时区的时间，如 2026-12-01T17:30:00+08:00")
            })?),
            None => None,
        };
        let refusal = ReturnRefusal { reason, due, expected_version: body.version };
        let meta = caller.meta(self.app.now());
        let (item, request) = self.app.store().refuse_return_item(id, refusal, &caller.actor, &meta).await?;
        self.app.live().publish_direct_line(item.id);
        self.app.live().published(request);
        Ok(self.view(item, &caller.actor))
    }

    /// The office approves the unit's reply (it reaches the asker; the request
    /// closes) or sends it back with a reason (the unit replies again).
    pub async fn review(&self, caller: &Caller, id: i64, body: ReviewBody) -> AppResult<ItemView> {
        self.load(caller, id).await?;
        let review = Review::new(body.decision == Decision::Approve, body.comment.as_deref())?;
        let meta = caller.meta(self.app.now());
        let (item, request) = self.app.store().review_item(id, review, &caller.actor, &meta).await?;
        self.app.live().publish_direct_line(item.id);
        self.app.live().published(request);
        Ok(self.view(item, &caller.actor))
    }

    /// The request an item becomes: the asker and contact of the item, its
    /// text (and the instruction), deadlines from the time-limit rules.
    async fn new_request(
        &self,
        item: &Item,
        category_id: i64,
        kind: RequestKind,
        channel: Channel,
        note: Option<&str>,
    ) -> AppResult<NewRequest> {
        let asker = match &item.credit_code {
            Some(code) => {
                let found = self.app.store().enterprise(code, EnterpriseScope::All).await?;
                match found {
                    Some(e) => Asker::Enterprise { credit_code: CreditCode::parse(code)?, name: e.name },
                    None => Asker::Resident,
                }
            }
            None => Asker::Resident,
        };
        let head = format!("【书记市长直通车 {}，致{}】", item.tracking_no, item.addressee.label());
        let mut content = format!("{head}{}", item.content);
        if let Some(note) = note {
            content.push_str(note);
        }
        let mut new = NewRequest {
            kind,
            urgency: Urgency::Normal,
            channel,
            asker,
            contact: Contact { name: item.name.clone(), phone: Phone::parse(&item.phone)?, email: None },
            title: crate::visits::truncate(&item.title, request::TITLE_MAX),
            content: crate::visits::truncate(&content, request::CONTENT_MAX),
            category_id,
            location: Location { town_id: None, address: None, point: None },
            ledger_ref: None,
            check_code: crate::requests::new_check_code(),
            submitted_by: None,
            due_at: None,
            deadlines: Default::default(),
            time_limits: None,
            card: None,
            visit: None,
            screening: None,
        };
        self.app.requests().set_deadlines(&mut new);
        Ok(new)
    }

    fn category(&self, code: &str) -> AppResult<i64> {
        let code = code.trim();
        self.app
            .caches()
            .categories()
            .iter()
            .find(|c| c.code == code && c.active)
            .map(|c| c.id)
            .ok_or_else(|| AppError::invalid("unknown_category", format!("诉求分类「{code}」不存在")))
    }

    // ---- the asker -----------------------------------------------------------------------

    /// The asker's item by tracking number and check code, under the
    /// look-up throttles of /track (per number and per address).
    async fn verified(&self, caller: &Caller, no: &str, code: &str) -> AppResult<Item> {
        let no = no.trim();
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let wanted = [(&limiters.lookup_request, no), (&limiters.lookup_address, address)];
        let Some(attempt) = self.app.reserve(&wanted).await? else {
            return Err(AppError::rate_limited("查询失败次数过多，请一小时后再试"));
        };
        let found = if no.len() > 40 { None } else { self.app.store().item_by_tracking_no(no).await? };
        let code = code.trim();
        match found {
            Some(item)
                if !code.is_empty()
                    && crate::requests::constant_time_eq(item.check_code.as_bytes(), code.as_bytes()) =>
            {
                self.app.give_back(attempt);
                Ok(item)
            }
            _ => {
                drop(attempt);
                Err(AppError::not_found("direct_line_not_found", "编号或查询码不正确"))
            }
        }
    }

    /// The asker's progress.
    pub async fn progress(&self, caller: &Caller, no: &str, code: &str) -> AppResult<PublicProgress> {
        let item = self.verified(caller, no, code).await?;
        Ok(progress(&item))
    }

    /// The asker rates the approved answer, once.
    pub async fn rate(&self, caller: &Caller, no: &str, body: RateBody) -> AppResult<PublicProgress> {
        let item = self.verified(caller, no, &body.code).await?;
        let comment = direct_line::rating_comment(body.comment.as_deref())?;
        let item = self.app.store().rate_item(item.id, body.rating, comment, self.app.now()).await?;
        self.app.live().publish_direct_line(item.id);
        Ok(progress(&item))
    }

    /// Answered items whose askers consented, masked, newest first.
    pub async fn published(&self, limit: u32) -> AppResult<Vec<PublishedView>> {
        let filter = ItemFilter { published: true, limit: limit.clamp(1, 200), ..ItemFilter::in_scope(ItemScope::All) };
        let items = self.app.store().items(&filter).await?;
        Ok(items
            .into_iter()
            .filter_map(|i| {
                Some(PublishedView {
                    tracking_no: i.tracking_no,
                    addressee_label: i.addressee.label(),
                    name: mask_name(&i.name),
                    title: mask_text(&i.title, &i.name, &i.phone),
                    content: mask_text(&i.content, &i.name, &i.phone),
                    reply: mask_text(i.reply.as_deref()?, &i.name, &i.phone),
                    answered_at: format_instant(&i.answered_at?),
                })
            })
            .collect())
    }

    // ---- report ----------------------------------------------------------------------------

    /// Items received in a month (`YYYY-MM`; this month by default): received,
    /// instructed, answered on time, overdue, satisfaction; by lead unit and by leader.
    pub async fn report(&self, caller: &Caller, month: Option<&str>) -> AppResult<MonthlyReport> {
        let now = self.app.now();
        let month = match month.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => m.to_owned(),
            None => in_shanghai(&now).format("%Y-%m").to_string(),
        };
        let (from, until) = crate::visits::month_range(&month)?;
        let filter = ItemFilter { from: Some(from), until: Some(until), ..ItemFilter::in_scope(ItemScope::All) };
        let _ = caller;
        let items = self.app.store().items(&filter).await?;
        let org = self.app.caches().org();
        let mut total = named("合计");
        let mut by_unit: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut by_leader: BTreeMap<String, ReportRow> = BTreeMap::new();
        for item in &items {
            count(&mut total, item, now);
            if item.instruction.is_some() {
                let unit = unit_ref(&org, item.lead_unit_id).map_or_else(|| "—".to_owned(), |u| u.name);
                count(by_unit.entry(unit.clone()).or_insert_with(|| named(&unit)), item, now);
                let leader = item.leader_name.clone().unwrap_or_else(|| "—".into());
                count(by_leader.entry(leader.clone()).or_insert_with(|| named(&leader)), item, now);
            }
        }
        let finish = |mut r: ReportRow| {
            r.satisfaction =
                (r.rated > 0).then(|| (f64::from(r.satisfied) * 1000.0 / f64::from(r.rated)).round() / 10.0);
            r
        };
        Ok(MonthlyReport {
            month,
            total: finish(total),
            by_unit: by_unit.into_values().map(finish).collect(),
            by_leader: by_leader.into_values().map(finish).collect(),
        })
    }

    /// The monthly report as an Excel workbook.
    pub async fn report_xlsx(&self, caller: &Caller, month: Option<&str>) -> AppResult<Vec<u8>> {
        let report = self.report(caller, month).await?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let columns = vec![
            WriteColumn::text("分组"),
            WriteColumn::text("名称"),
            WriteColumn::new("收件", Kind::Integer),
            WriteColumn::new("批示", Kind::Integer),
            WriteColumn::new("按时办结", Kind::Integer),
            WriteColumn::new("已答复", Kind::Integer),
            WriteColumn::new("超期未办结", Kind::Integer),
            WriteColumn::new("已评价", Kind::Integer),
            WriteColumn::new("满意", Kind::Integer),
            WriteColumn::text("满意率"),
        ];
        let title = format!("书记市长直通车月报（{}）", report.month);
        let mut export = Export::with_preamble("直通车月报", &[title], columns).map_err(sheet_error)?;
        for r in &report.by_unit {
            export.push(&cells("按主办单位", r)).map_err(sheet_error)?;
        }
        for r in &report.by_leader {
            export.push(&cells("按批示领导", r)).map_err(sheet_error)?;
        }
        export.push(&cells("合计", &report.total)).map_err(sheet_error)?;
        export.finish().map_err(sheet_error)
    }

    // ---- views -----------------------------------------------------------------------------

    fn view(&self, item: Item, viewer: &Actor) -> ItemView {
        let context = ViewContext {
            org: &self.app.caches().org(),
            categories: &self.app.caches().categories(),
            now: self.app.now(),
            refusals_max: self.app.settings().direct_line_return_refusals,
        };
        view(item, viewer, &context)
    }
}

fn cells(group: &str, r: &ReportRow) -> Vec<Cell> {
    let n = |v: u32| Cell::Number(f64::from(v));
    vec![
        Cell::Text(group.to_owned()),
        Cell::Text(r.name.clone()),
        n(r.received),
        n(r.instructed),
        n(r.closed_on_time),
        n(r.answered),
        n(r.overdue),
        n(r.rated),
        n(r.satisfied),
        Cell::Text(r.satisfaction.map_or_else(|| "—".to_owned(), |s| format!("{s:.1}%"))),
    ]
}

fn named(name: &str) -> ReportRow {
    ReportRow { name: name.to_owned(), ..ReportRow::default() }
}

fn count(row: &mut ReportRow, item: &Item, now: Instant) {
    row.received += 1;
    if item.instruction.is_some() {
        row.instructed += 1;
    }
    if let Some(answered) = item.answered_at {
        row.answered += 1;
        if item.due_at.is_none_or(|due| answered <= due) {
            row.closed_on_time += 1;
        }
    }
    if overdue(item, now) {
        row.overdue += 1;
    }
    if let Some(rating) = item.rating {
        row.rated += 1;
        if direct_line::satisfied(rating) {
            row.satisfied += 1;
        }
    }
}

fn overdue(item: &Item, now: Instant) -> bool {
    item.state == ItemState::Handling && item.due_at.is_some_and(|due| due < now)
}

fn progress(item: &Item) -> PublicProgress {
    let status_label = match item.state {
        // Put before the leader again after a unit's return: internal, the asker sees it in hand.
        ItemState::Submitted if item.request.is_some() => "市领导已批示，正在办理",
        ItemState::New | ItemState::Submitted => "已收到，正在研究",
        ItemState::Converted => "已转有关部门办理",
        ItemState::Merged => "已与同类来信合并办理",
        ItemState::Handling => "市领导已批示，正在办理",
        ItemState::Answered => "已答复",
    };
    PublicProgress {
        tracking_no: item.tracking_no.clone(),
        title: item.title.clone(),
        addressee_label: item.addressee.label(),
        received_at: format_instant(&item.created_at),
        status_label,
        request_tracking_no: (item.state == ItemState::Converted)
            .then(|| item.request.as_ref().map(|r| r.tracking_no.clone()))
            .flatten(),
        merged_into: item.merged_into.clone(),
        reply: if item.state == ItemState::Answered { item.reply.clone() } else { None },
        answered_at: item.answered_at.as_ref().map(format_instant),
        rating_label: item.rating.map(|r| r.label()),
        may_rate: item.state == ItemState::Answered && item.rating.is_none(),
    }
}

/// What an item's view is drawn with besides the item.
struct ViewContext<'a> {
    org: &'a OrgTree,
    categories: &'a [Category],
    now: Instant,
    /// Refused returns after which the unit may no longer return the item.
    refusals_max: u32,
}

fn view(item: Item, viewer: &Actor, context: &ViewContext<'_>) -> ItemView {
    let ViewContext { org, categories, now, refusals_max } = *context;
    let unmasked = viewer.has_role(&[Role::LeadersOffice]);
    let overdue = overdue(&item, now);
    let queue = item.state.queue(item.request.as_ref().map(|r| r.state));
    let return_refusals = direct_line::refused_returns(item.events.iter().map(|e| e.action.as_str()));
    let returns_closed = direct_line::may_return_again(return_refusals, refusals_max).is_err();
    let may_return = !returns_closed
        && item.state == ItemState::Handling
        && item
            .request
            .as_ref()
            .is_some_and(|r| matches!(r.state, request::State::Dispatched | request::State::SignedFor))
        && matches!(viewer, Actor::Staff(s) if s.role.is_unit_bound()
            && item.lead_unit_id.is_some_and(|u| s.units.contains(&u)));
    ItemView {
        id: item.id,
        tracking_no: item.tracking_no,
        source: item.source,
        source_label: item.source.label(),
        addressee: item.addressee,
        addressee_label: item.addressee.label(),
        name: if unmasked { item.name } else { mask_name(&item.name) },
        phone: if unmasked { item.phone } else { mask_phone(&item.phone) },
        credit_code: item.credit_code,
        title: item.title,
        content: item.content,
        publish_consent: item.publish_consent,
        screening: item.screening.filter(|_| unmasked).map(|v| ItemScreeningView {
            score: v.score,
            suspected: v.held,
            reasons: v.reasons,
        }),
        category: item.category_id.and_then(|id| {
            let c = categories.iter().find(|c| c.id == id)?;
            Some(ItemCategoryView { code: c.code.clone(), name: c.name.clone() })
        }),
        state: item.state,
        state_label: item.state.label(),
        queue,
        queue_label: queue.label(),
        leader_user_id: item.leader_user_id,
        leader_name: item.leader_name,
        merged_into: item.merged_into,
        instruction: item.instruction,
        lead_unit: unit_ref(org, item.lead_unit_id),
        co_units: item.co_unit_ids.iter().filter_map(|u| unit_ref(org, Some(*u))).collect(),
        days: item.days,
        instructed_at: item.instructed_at.as_ref().map(format_instant),
        due_at: item.due_at.as_ref().map(format_instant),
        overdue,
        may_return,
        return_refusals,
        return_refusals_max: refusals_max,
        returns_closed,
        request: item.request.map(|r| ItemRequestView {
            tracking_no: r.tracking_no,
            state: r.state.as_str(),
            state_label: r.state.label(),
            due_at: r.due_at.as_ref().map(format_instant),
            supervised: r.supervised,
            version: r.version,
            last_reply: r.last_reply,
        }),
        reply: item.reply,
        answered_at: item.answered_at.as_ref().map(format_instant),
        rating: item.rating,
        rating_label: item.rating.map(|r| r.label()),
        rating_comment: item.rating_comment,
        created_at: format_instant(&item.created_at),
        created_by: item.created_by,
        history: item
            .events
            .into_iter()
            .map(|e| ItemEventView {
                at: format_instant(&e.at),
                label: action_label(&e.action),
                by: e.by,
                action: e.action,
                comment: e.comment,
            })
            .collect(),
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "received" => "收件",
        "corrected" => "更正",
        "submitted" => "呈报",
        "merged" => "合并",
        "merged_in" => "并入来信",
        "converted" => "转为普通诉求",
        "instructed" => "批示交办",
        "returned" => "单位退回",
        "resubmitted" => "重新呈报",
        "reinstructed" => "重新批示交办",
        "redispatched" => "按原批示改派",
        "return_refused" => "驳回退回",
        "approved" => "审核同意答复",
        "sent_back" => "退回重新答复",
        "rated" => "来信人评价",
        "document_added" => "上传附件",
        "document_withdrawn" => "撤回附件",
        _ => "其他",
    }
}

/// The asker's name and phone masked wherever they appear in a published text.
fn mask_text(text: &str, name: &str, phone: &str) -> String {
    let mut out = text.to_owned();
    if !phone.is_empty() {
        out = out.replace(phone, &mask_phone(phone));
    }
    if name.chars().count() >= 2 {
        out = out.replace(name, &mask_name(name));
    }
    out
}

fn author(actor: &Actor) -> String {
    format!("{}（{}）", actor.name(), actor.role().map_or("系统", |r| r.label()))
}

/// Whether the caller may act as the leaders' office (for pages choosing forms).
pub fn handles(caller: &Caller) -> bool {
    caller.may(Permission::HandleDirectLine)
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}
