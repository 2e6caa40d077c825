//! The secretary-mayor direct line (书记市长直通车), written once for both
//! databases. Each step is one job: the item's row, its event and, where the
//! step reaches a request, the request's own intake and lifecycle actions
//! (`requests::write`: its events, rollups and outbox) commit together.

use std::sync::Arc;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::direct_line::{
    self, Addressee, Correction, ItemScope, ItemState, NewItem, PREFIX, Queue, Review, Source, item_not_found,
    wrong_state,
};
use mashangban_domain::lifecycle::Action;
use mashangban_domain::notify::{NoticeChannel, TemplateKey};
use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{NewRequest, Rating, Request, RequestId, State};
use mashangban_domain::time::Instant;
use mashangban_store::backend;
use mashangban_store::{
    ChangeEntity, Command, DirectLineStore, ITEMS_MAX, Instructed, Item, ItemEvent, ItemFilter, ItemRequest, Meta,
    ReturnRefusal, Screening, StoreError, StoreResult,
};

use crate::personal_data;
use crate::requests::query;
use crate::requests::write::{self, Number};
use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Dialect, Row, job};
use crate::{SqlStore, args};

impl<D: Database> DirectLineStore for SqlStore<D> {
    async fn take_in_item(&self, item: NewItem, at: Instant, by: String) -> StoreResult<Item> {
        let take = job(move |c| {
            Box::pin(async move {
                // The number carries the id, unique by construction; a placeholder until the id is known.
                let placeholder = format!("-{}", item.check_code);
                let id: i64 = c
                    .scalar(
                        "INSERT INTO direct_line_items (tracking_no, check_code, source, addressee, name, phone,
                            credit_code, title, content, publish_consent, state, created_at, created_by, updated_at,
                            screening)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $11, $12, $11, $13) RETURNING id",
                        &args![
                            placeholder.as_str(),
                            item.check_code.as_str(),
                            item.source.as_str(),
                            item.addressee.as_str(),
                            personal_data::seal(c, personal_data::DIRECT_LINE_NAME, &item.name),
                            personal_data::seal(c, personal_data::DIRECT_LINE_PHONE, item.phone.as_str()),
                            item.credit_code.as_ref().map(|c| c.as_str()),
                            item.title.as_str(),
                            item.content.as_str(),
                            item.publish_consent,
                            &at,
                            by.as_str(),
                            item.screening.as_ref().map(json_text).transpose()?
                        ],
                    )
                    .await?;
                let no = format!("{PREFIX}{}{id:06}", backend::tracking_day(&at));
                c.execute("UPDATE direct_line_items SET tracking_no = $2 WHERE id = $1", &args![id, no.as_str()])
                    .await?;
                let comment = format!("{}，致{}：{}", item.source.label(), item.addressee.label(), item.title);
                event(c, id, &at, &by, "received", Some(&comment)).await?;
                reload(c, id).await
            })
        });
        self.db.write(take).await
    }

    async fn item(&self, id: i64, scope: ItemScope) -> StoreResult<Option<Item>> {
        self.db.read(job(move |c| Box::pin(async move { load(c, Key::Id(id), &scope, false).await }))).await
    }

    async fn item_by_tracking_no(&self, no: &str) -> StoreResult<Option<Item>> {
        let no = no.to_owned();
        self.db.read(job(move |c| Box::pin(async move { load(c, Key::No(no), &ItemScope::All, false).await }))).await
    }

    async fn item_of_request(&self, request_id: RequestId) -> StoreResult<Option<Item>> {
        let key = Key::Request(request_id);
        self.db.read(job(move |c| Box::pin(async move { load(c, key, &ItemScope::All, false).await }))).await
    }

    async fn items(&self, filter: &ItemFilter) -> StoreResult<Vec<Item>> {
        let filter = filter.clone();
        self.db.read(job(move |c| Box::pin(async move { list(c, &filter).await }))).await
    }

    async fn screen_item(
        &self,
        id: i64,
        screening: Screening,
        actor: &Actor,
        meta: &Meta,
    ) -> StoreResult<(Item, Option<Request>)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let number = match &screening {
            Screening::Convert { request, .. } => self.preallocate(request, &meta).await?,
            _ => None,
        };
        let prefix = self.options.tracking_prefix.clone();
        let screen = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                let by = author(&actor);
                let now = meta.now;
                match screening {
                    Screening::Submit { leader_user_id, category_id, comment } => {
                        if current.state != ItemState::New {
                            return Err(wrong_state(current.state, "呈报").into());
                        }
                        c.execute(
                            "UPDATE direct_line_items SET state = 'submitted', leader_user_id = $2, category_id = $3,
                                updated_at = $4 WHERE id = $1",
                            &args![id, leader_user_id, category_id, &now],
                        )
                        .await?;
                        let leader: String =
                            c.scalar("SELECT display_name FROM users WHERE id = $1", &args![leader_user_id]).await?;
                        let text = match comment {
                            Some(c) => format!("呈报{leader}：{c}"),
                            None => format!("呈报{leader}"),
                        };
                        event(c, id, &now, &by, "submitted", Some(&text)).await?;
                        Ok((reload(c, id).await?, None))
                    }
                    Screening::Merge { into, comment } => {
                        if !matches!(current.state, ItemState::New | ItemState::Submitted) {
                            return Err(wrong_state(current.state, "合并").into());
                        }
                        let target = load(c, Key::No(into.clone()), &ItemScope::All, false).await?;
                        let target = match target {
                            Some(t) if t.id != id && t.state != ItemState::Merged => t,
                            _ => {
                                return Err(StoreError::Domain(mashangban_domain::error::DomainError::invalid(
                                    "merge_target_invalid",
                                    format!("「{into}」不是可以合并到的直通车来信（须存在、未被合并、且不是本件）"),
                                )));
                            }
                        };
                        c.execute(
                            "UPDATE direct_line_items SET state = 'merged', merged_into_id = $2, updated_at = $3
                             WHERE id = $1",
                            &args![id, target.id, &now],
                        )
                        .await?;
                        let text = match comment {
                            Some(c) => format!("合并到 {}：{c}", target.tracking_no),
                            None => format!("合并到 {}", target.tracking_no),
                        };
                        event(c, id, &now, &by, "merged", Some(&text)).await?;
                        let back = format!("{} 合并到本件", current.tracking_no);
                        event(c, target.id, &now, &by, "merged_in", Some(&back)).await?;
                        Ok((reload(c, id).await?, None))
                    }
                    Screening::Convert { request, comment } => {
                        if !matches!(current.state, ItemState::New | ItemState::Submitted) {
                            return Err(wrong_state(current.state, "转为普通诉求").into());
                        }
                        let number = match number {
                            Some(n) => n,
                            None => write::allocate(c, &prefix, &request, &meta).await?,
                        };
                        let taken = write::intake(c, number, *request, &actor, &meta).await?;
                        c.execute(
                            "UPDATE direct_line_items SET state = 'converted', request_id = $2, updated_at = $3
                             WHERE id = $1",
                            &args![id, taken.id, &now],
                        )
                        .await?;
                        let text = match comment {
                            Some(c) => format!("转为普通诉求 {}：{c}", taken.tracking_no),
                            None => format!("转为普通诉求 {}", taken.tracking_no),
                        };
                        event(c, id, &now, &by, "converted", Some(&text)).await?;
                        Ok((reload(c, id).await?, Some(taken)))
                    }
                }
            })
        });
        self.db.write(screen).await
    }

    async fn correct_item(&self, id: i64, correction: Correction, actor: &Actor, at: Instant) -> StoreResult<Item> {
        let by = author(actor);
        let correct = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                if current.state != ItemState::New {
                    return Err(wrong_state(current.state, "更正").into());
                }
                let mut steps: Vec<String> = Vec::new();
                if let Some(category) = correction.category_id.filter(|c| current.category_id != Some(*c)) {
                    let from = match current.category_id {
                        Some(old) => category_name(c, old).await?,
                        None => None,
                    };
                    let from = from.unwrap_or_else(|| "（未定）".into());
                    let to =
                        category_name(c, category).await?.ok_or_else(|| StoreError::backend("unknown category"))?;
                    c.execute("UPDATE direct_line_items SET category_id = $2 WHERE id = $1", &args![id, category])
                        .await?;
                    steps.push(format!("分类：{from} → {to}"));
                }
                if let Some(code) = correction.credit_code {
                    let code = code.map(|c| c.as_str().to_owned());
                    if code != current.credit_code {
                        c.execute(
                            "UPDATE direct_line_items SET credit_code = $2 WHERE id = $1",
                            &args![id, code.as_deref()],
                        )
                        .await?;
                        let shown = |c: &Option<String>| c.clone().unwrap_or_else(|| "（个人来信）".into());
                        steps.push(format!("企业：{} → {}", shown(&current.credit_code), shown(&code)));
                    }
                }
                if let Some(title) = correction.title.filter(|t| *t != current.title) {
                    c.execute("UPDATE direct_line_items SET title = $2 WHERE id = $1", &args![id, title.as_str()])
                        .await?;
                    steps.push(format!("标题：{} → {title}", current.title));
                }
                if steps.is_empty() {
                    return Err(StoreError::Domain(direct_line::nothing_to_correct()));
                }
                c.execute("UPDATE direct_line_items SET updated_at = $2 WHERE id = $1", &args![id, &at]).await?;
                for step in &steps {
                    event(c, id, &at, &by, "corrected", Some(step)).await?;
                }
                reload(c, id).await
            })
        });
        self.db.write(correct).await
    }

    async fn instruct_item(
        &self,
        id: i64,
        instructed: Instructed,
        actor: &Actor,
        meta: &Meta,
        calendar: Option<Arc<WorkCalendar>>,
    ) -> StoreResult<(Item, Request)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let number = match &instructed.request {
            Some(request) => self.preallocate(request, &meta).await?,
            None => None,
        };
        let prefix = self.options.tracking_prefix.clone();
        let instruct = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                if current.state != ItemState::Submitted {
                    return Err(wrong_state(current.state, "批示").into());
                }
                if current.leader_user_id != actor.user_id() {
                    return Err(StoreError::Domain(mashangban_domain::error::DomainError::forbidden(
                        "这件直通车来信没有呈报给您，不能批示",
                    )));
                }
                let Instructed { instruction, due_at, request } = instructed;
                let leader = actor.name().to_owned();
                let note = format!("{leader}批示：{}", instruction.text);
                // A new instruction on an item its lead unit sent back (重新批示): the same request,
                // re-dispatched by the leader with the new time limit; otherwise a request taken in.
                let (tracking_no, again) = match (request, &current.request) {
                    (None, Some(r)) if r.state == State::Returned => (r.tracking_no.clone(), true),
                    (Some(request), None) => {
                        let number = match number {
                            Some(n) => n,
                            None => write::allocate(c, &prefix, &request, &meta).await?,
                        };
                        (write::intake(c, number, *request, &actor, &meta).await?.tracking_no, false)
                    }
                    _ => return Err(wrong_state(current.state, "批示").into()),
                };
                let step = |action: Action, actor: Actor| Command {
                    tracking_no: tracking_no.clone(),
                    scope: Scope::All,
                    actor,
                    action,
                    attachment_ids: Vec::new(),
                    meta: meta.clone(),
                    calendar: calendar.clone(),
                    expected_version: None,
                };
                let dispatch = if again {
                    Action::Redispatch {
                        lead: instruction.lead,
                        co: instruction.co.clone(),
                        comment: Some(note.clone()),
                        due: Some(due_at),
                    }
                } else {
                    Action::Dispatch { lead: instruction.lead, co: instruction.co.clone(), comment: Some(note.clone()) }
                };
                write::act(c, step(dispatch, actor.clone())).await?;
                let supervise =
                    Action::Supervise { instructions: format!("书记市长直通车 {note}"), due: due_at };
                let taken = write::act(c, step(supervise, Actor::System)).await?;
                c.execute(
                    "UPDATE direct_line_items SET state = 'handling', instruction = $2, lead_unit_id = $3,
                        co_unit_ids = $4, days = $5, instructed_at = $6, due_at = $7, request_id = $8, updated_at = $6
                     WHERE id = $1",
                    &args![
                        id,
                        instruction.text.as_str(),
                        instruction.lead,
                        json_text(&instruction.co)?,
                        instruction.days,
                        &meta.now,
                        &due_at,
                        taken.id
                    ],
                )
                .await?;
                let text = format!("{note}（{} 个工作日内办结，交办诉求 {}）", instruction.days, taken.tracking_no);
                let action = if again { "reinstructed" } else { "instructed" };
                event(c, id, &meta.now, &author(&actor), action, Some(&text)).await?;
                Ok((reload(c, id).await?, taken))
            })
        });
        self.db.write(instruct).await
    }

    async fn return_item(
        &self,
        id: i64,
        reason: String,
        refusals_max: u32,
        actor: &Actor,
        meta: &Meta,
    ) -> StoreResult<(Item, Request)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let back = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                let request = match (current.state, &current.request) {
                    (ItemState::Handling, Some(r)) => r,
                    _ => return Err(wrong_state(current.state, "退回").into()),
                };
                if !matches!(request.state, State::Dispatched | State::SignedFor) {
                    return Err(direct_line::cannot_return(request.state).into());
                }
                let lead = current.lead_unit_id;
                let is_lead = matches!(&actor, Actor::Staff(s) if s.role.is_unit_bound()
                    && lead.is_some_and(|u| s.units.contains(&u)));
                if !is_lead {
                    return Err(direct_line::not_lead_unit().into());
                }
                let refused = direct_line::refused_returns(current.events.iter().map(|e| e.action.as_str()));
                direct_line::may_return_again(refused, refusals_max)?;
                let command = Command {
                    tracking_no: request.tracking_no.clone(),
                    scope: Scope::All,
                    actor: actor.clone(),
                    action: Action::Return { reason },
                    attachment_ids: Vec::new(),
                    meta: meta.clone(),
                    calendar: None,
                    expected_version: None,
                };
                // The item's own `returned` event is written by `write::act` (see `request_returned`).
                let returned = write::act(c, command).await?;
                Ok((reload(c, id).await?, returned))
            })
        });
        self.db.write(back).await
    }

    async fn resubmit_item(&self, id: i64, comment: Option<String>, actor: &Actor, at: Instant) -> StoreResult<Item> {
        let by = author(actor);
        let again = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                if current.state.queue(current.request.as_ref().map(|r| r.state)) != Queue::Returned {
                    return Err(not_returned(current.state).into());
                }
                c.execute(
                    "UPDATE direct_line_items SET state = 'submitted', updated_at = $2 WHERE id = $1",
                    &args![id, &at],
                )
                .await?;
                let leader = current.leader_name.clone().unwrap_or_default();
                let text = match comment {
                    Some(c) => format!("重新呈报{leader}：{c}"),
                    None => format!("重新呈报{leader}"),
                };
                event(c, id, &at, &by, "resubmitted", Some(&text)).await?;
                reload(c, id).await
            })
        });
        self.db.write(again).await
    }

    async fn redispatch_item(
        &self,
        id: i64,
        lead: UnitId,
        co: Vec<UnitId>,
        comment: Option<String>,
        actor: &Actor,
        meta: &Meta,
    ) -> StoreResult<(Item, Request)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let redispatch = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                let request = match &current.request {
                    Some(r) if current.state.queue(Some(r.state)) == Queue::Returned => r,
                    _ => return Err(not_returned(current.state).into()),
                };
                let instruction = current.instruction.clone().unwrap_or_default();
                let note = match &comment {
                    Some(c) => format!("按原批示改派（{instruction}）：{c}"),
                    None => format!("按原批示改派（{instruction}）"),
                };
                let command = Command {
                    tracking_no: request.tracking_no.clone(),
                    scope: Scope::All,
                    actor: actor.clone(),
                    action: Action::Redispatch { lead, co: co.clone(), comment: Some(note), due: None },
                    attachment_ids: Vec::new(),
                    meta: meta.clone(),
                    calendar: None,
                    expected_version: None,
                };
                let redispatched = write::act(c, command).await?;
                c.execute(
                    "UPDATE direct_line_items SET lead_unit_id = $2, co_unit_ids = $3, updated_at = $4 WHERE id = $1",
                    &args![id, lead, json_text(&redispatched.co_unit_ids)?, &meta.now],
                )
                .await?;
                let names =
                    unit_names(c, std::iter::once(lead).chain(redispatched.co_unit_ids.iter().copied())).await?;
                let text = match comment {
                    Some(c) => format!("按原批示改派至{names}：{c}"),
                    None => format!("按原批示改派至{names}"),
                };
                event(c, id, &meta.now, &author(&actor), "redispatched", Some(&text)).await?;
                Ok((reload(c, id).await?, redispatched))
            })
        });
        self.db.write(redispatch).await
    }

    async fn refuse_return_item(
        &self,
        id: i64,
        refusal: ReturnRefusal,
        actor: &Actor,
        meta: &Meta,
    ) -> StoreResult<(Item, Request)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let refuse = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                let request = match &current.request {
                    Some(r) if current.state.queue(Some(r.state)) == Queue::Returned => r,
                    _ => return Err(not_returned(current.state).into()),
                };
                let ReturnRefusal { reason, due, expected_version } = refusal;
                let step = |action: Action, actor: Actor, expected_version: Option<i64>| Command {
                    tracking_no: request.tracking_no.clone(),
                    scope: Scope::All,
                    actor,
                    action,
                    attachment_ids: Vec::new(),
                    meta: meta.clone(),
                    calendar: None,
                    expected_version,
                };
                // The item's `return_refused` event (and its new due date) is written by `write::act`
                // (see `return_refused`), as for a refusal on the request's own page.
                let mut refused =
                    write::act(c, step(Action::RefuseReturn { reason, due }, actor.clone(), expected_version)).await?;
                if let (Some(due), true) = (due, request.supervised) {
                    let instructions = format!(
                        "书记市长直通车 驳回退回，办理时限改为{}",
                        mashangban_domain::time::format_minute(&due)
                    );
                    let supervise = Action::Supervise { instructions, due };
                    refused = write::act(c, step(supervise, Actor::System, None)).await?;
                }
                Ok((reload(c, id).await?, refused))
            })
        });
        self.db.write(refuse).await
    }

    async fn review_item(&self, id: i64, review: Review, actor: &Actor, meta: &Meta) -> StoreResult<(Item, Request)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let decide = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                // A reply to review: the request replied, or (approval only) already closed on its own page.
                let approving = matches!(review, Review::Approve { .. });
                let request = current
                    .request
                    .as_ref()
                    .filter(|r| r.state == State::Replied || (approving && r.state == State::Closed));
                let (ItemState::Handling, Some(request)) = (current.state, request) else {
                    return Err(StoreError::Domain(mashangban_domain::error::DomainError::conflict(
                        "no_reply_to_review",
                        format!("这件直通车来信当前为「{}」，没有待审核的答复", current.state.label()),
                    )));
                };
                let by = author(&actor);
                let command = |action: Action| Command {
                    tracking_no: request.tracking_no.clone(),
                    scope: Scope::All,
                    actor: actor.clone(),
                    action,
                    attachment_ids: Vec::new(),
                    meta: meta.clone(),
                    calendar: None,
                    expected_version: None,
                };
                match review {
                    Review::Approve { comment } => {
                        let reply = request.last_reply.clone().unwrap_or_default();
                        let closing =
                            Some(comment.clone().unwrap_or_else(|| "直通车答复经市领导办公室审核同意".into()));
                        let closed = if request.state == State::Closed {
                            let key = query::Key::Id(request.id);
                            query::load(c, &key, &Scope::All, false)
                                .await?
                                .ok_or_else(|| StoreError::backend("the request vanished"))?
                        } else {
                            write::act(c, command(Action::Close { comment: closing })).await?
                        };
                        c.execute(
                            "UPDATE direct_line_items SET state = 'answered', reply = $2, answered_at = $3,
                                updated_at = $3 WHERE id = $1",
                            &args![id, reply.as_str(), &meta.now],
                        )
                        .await?;
                        event(c, id, &meta.now, &by, "approved", comment.as_deref()).await?;
                        tell_asker(c, &current, &meta.now).await?;
                        Ok((reload(c, id).await?, closed))
                    }
                    Review::SendBack { reason } => {
                        let back = write::act(c, command(Action::RejectReply { reason: reason.clone() })).await?;
                        c.execute("UPDATE direct_line_items SET updated_at = $2 WHERE id = $1", &args![id, &meta.now])
                            .await?;
                        event(c, id, &meta.now, &by, "sent_back", Some(&reason)).await?;
                        Ok((reload(c, id).await?, back))
                    }
                }
            })
        });
        self.db.write(decide).await
    }

    async fn rate_item(&self, id: i64, rating: Rating, comment: Option<String>, at: Instant) -> StoreResult<Item> {
        let rate = job(move |c| {
            Box::pin(async move {
                let current = load(c, Key::Id(id), &ItemScope::All, true).await?.ok_or_else(item_not_found)?;
                if current.state != ItemState::Answered {
                    return Err(wrong_state(current.state, "评价").into());
                }
                if current.rating.is_some() {
                    return Err(StoreError::Domain(mashangban_domain::error::DomainError::conflict(
                        "already_rated",
                        "这件直通车来信已经评价过了",
                    )));
                }
                c.execute(
                    "UPDATE direct_line_items SET rating = $2, rating_comment = $3, rated_at = $4, updated_at = $4
                     WHERE id = $1",
                    &args![id, rating.as_str(), comment.as_deref(), &at],
                )
                .await?;
                let text = match &comment {
                    Some(c) => format!("{}：{c}", rating.label()),
                    None => rating.label().to_owned(),
                };
                event(c, id, &at, "来信人", "rated", Some(&text)).await?;
                reload(c, id).await
            })
        });
        self.db.write(rate).await
    }
}

impl<D: Database> SqlStore<D> {
    /// PostgreSQL takes a request's tracking number in a short transaction of
    /// its own, as every intake does; SQLite's single writer takes it inside the step's job.
    async fn preallocate(&self, request: &NewRequest, meta: &Meta) -> StoreResult<Option<Number>> {
        if self.db.dialect() != Dialect::Postgres {
            return Ok(None);
        }
        let (new, m, p) = (request.clone(), meta.clone(), self.options.tracking_prefix.clone());
        let number =
            self.db.write(job(move |c| Box::pin(async move { write::allocate(c, &p, &new, &m).await }))).await?;
        Ok(Some(number))
    }
}

/// `409 direct_line_wrong_state`: the step is for an item its lead unit sent back.
fn not_returned(state: ItemState) -> mashangban_domain::error::DomainError {
    mashangban_domain::error::DomainError::conflict(
        "direct_line_wrong_state",
        format!("这件直通车来信当前为「{}」，不在「单位退回」中", state.label()),
    )
}

/// The units' names, 主办 first, joined with 、.
async fn unit_names(c: &dyn Conn, units: impl Iterator<Item = UnitId>) -> StoreResult<String> {
    let mut names = Vec::new();
    for unit in units {
        let name: Option<String> = c.scalar_opt("SELECT name FROM units WHERE id = $1", &args![unit]).await?;
        names.push(name.unwrap_or_else(|| format!("#{unit}")));
    }
    Ok(names.join("、"))
}

/// A direct-line request's lead unit returned it (退单, from the item's 退回 or the request's own
/// page): the item's history records who, which unit and why, in the return's transaction, and
/// the item moves to the office's 单位退回 queue (a view of the request's state).
pub(crate) async fn request_returned(
    c: &dyn Conn,
    request: &Request,
    actor: &Actor,
    at: &Instant,
    reason: &str,
) -> StoreResult<()> {
    let item: Option<i64> =
        c.scalar_opt("SELECT id FROM direct_line_items WHERE request_id = $1", &args![request.id]).await?;
    let Some(item) = item else { return Ok(()) };
    let unit = unit_names(c, request.lead_unit_id.into_iter()).await?;
    c.execute("UPDATE direct_line_items SET updated_at = $2 WHERE id = $1", &args![item, at]).await?;
    event(c, item, at, &author(actor), "returned", Some(&format!("{unit}退回：{reason}"))).await
}

/// The leaders' office refused a direct-line request's return (驳回退回, from the item's page or
/// the request's own): the item's history records who, which unit and why, in the refusal's
/// transaction; a new due date becomes the item's too.
pub(crate) async fn return_refused(
    c: &dyn Conn,
    before: &Request,
    after: &Request,
    actor: &Actor,
    at: &Instant,
    reason: &str,
) -> StoreResult<()> {
    let item: Option<i64> =
        c.scalar_opt("SELECT id FROM direct_line_items WHERE request_id = $1", &args![after.id]).await?;
    let Some(item) = item else { return Ok(()) };
    let unit = unit_names(c, after.lead_unit_id.into_iter()).await?;
    let mut text = format!("驳回{unit}的退回，仍由{unit}办理：{reason}");
    match after.due_at.filter(|due| before.due_at != Some(*due)) {
        Some(due) => {
            c.execute(
                "UPDATE direct_line_items SET due_at = $2, updated_at = $3 WHERE id = $1",
                &args![item, &due, at],
            )
            .await?;
            text.push_str(&format!("（办理时限改为{}）", mashangban_domain::time::format_minute(&due)));
        }
        None => {
            c.execute("UPDATE direct_line_items SET updated_at = $2 WHERE id = $1", &args![item, at]).await?;
        }
    }
    event(c, item, at, &author(actor), "return_refused", Some(&text)).await
}

async fn category_name(c: &dyn Conn, id: i64) -> StoreResult<Option<String>> {
    c.scalar_opt("SELECT name FROM categories WHERE id = $1", &args![id]).await
}

fn author(actor: &Actor) -> String {
    format!("{}（{}）", actor.name(), actor.role().map_or("系统", |r| r.label()))
}

/// The asker's SMS that the answer is approved, in the approval's transaction (once per item), by the
/// notification template in force (`direct_line.answered`).
async fn tell_asker(c: &dyn Conn, item: &Item, at: &Instant) -> StoreResult<()> {
    let Some(base) = crate::outbox::link_base(c).await? else { return Ok(()) };
    let vars = direct_line::answered_vars(item.addressee, &item.tracking_no, &item.check_code, &base);
    let template = TemplateKey::DirectLineAnswered;
    let Some(sms) = crate::outbox::render_in_force(c, template, NoticeChannel::Sms, &vars).await? else {
        return Ok(());
    };
    let key = format!("direct-line-{}-answered", item.id);
    let notice = crate::outbox::ToPerson {
        key: &key,
        phone: Some(&item.phone),
        email: None,
        template_key: template.as_str(),
        sms: &sms.body,
        mail: ("", ""),
        at,
    };
    crate::outbox::queue_to_person(c, &notice).await
}

/// A change of the request a direct-line item became (the unit signs for or replies to it, the scheduler
/// urges it; any event of the request) is a change of the item: the change feed records it under the item
/// in the event's transaction, so every live list of items re-reads the item through its own filters —
/// also a list that did not show it before (a reply moves it into the office's 待审核答复 queue). The item's
/// own history is not written: the step is the request's, in the request's history.
pub(crate) async fn request_changed(
    c: &dyn Conn,
    request_id: RequestId,
    kind: mashangban_domain::request::EventKind,
    at: &Instant,
) -> StoreResult<()> {
    let item: Option<i64> =
        c.scalar_opt("SELECT id FROM direct_line_items WHERE request_id = $1", &args![request_id]).await?;
    let Some(item) = item else { return Ok(()) };
    let kind = format!("request.{}", kind.as_str());
    crate::changes::append(c, ChangeEntity::DirectLine, &item.to_string(), &kind, at).await
}

/// One step in an item's history, and the change feed's record of it (the live lists reload the item).
pub(crate) async fn event(
    c: &dyn Conn,
    item_id: i64,
    at: &Instant,
    by: &str,
    action: &str,
    comment: Option<&str>,
) -> StoreResult<()> {
    crate::audit::DIRECT_LINE.lock(c, item_id).await?;
    let id: i64 = c
        .scalar(
            "INSERT INTO direct_line_events (item_id, at, by_name, action, comment) VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
            &args![item_id, at, by, action, comment],
        )
        .await?;
    crate::audit::DIRECT_LINE.seal(c, item_id, id).await?;
    crate::changes::append(c, ChangeEntity::DirectLine, &item_id.to_string(), action, at).await
}

enum Key {
    Id(i64),
    No(String),
    /// The item a request was dispatched from.
    Request(RequestId),
}

/// The scope rule (`ItemScope::permits`) as SQL on alias `d`.
fn scope_sql(scope: &ItemScope, args: &mut Args) -> String {
    match scope {
        ItemScope::All => "TRUE".into(),
        ItemScope::Nothing => "FALSE".into(),
        ItemScope::Leader(user) => format!("d.leader_user_id = {}", args.push(*user)),
        ItemScope::Units(units) => {
            let units = args.list(units.iter().copied());
            format!(
                "(d.state IN ('handling', 'answered') AND EXISTS (SELECT 1 FROM request_units ru \
                 WHERE ru.request_id = d.request_id AND ru.unit_id IN ({units})))"
            )
        }
    }
}

const ITEM_SELECT: &str = "SELECT d.id, d.tracking_no, d.check_code, d.source, d.addressee, d.name, d.phone,
        d.credit_code, d.title, d.content, d.publish_consent, d.screening, d.state, d.category_id, d.leader_user_id,
        u.display_name, m.tracking_no, d.instruction, d.lead_unit_id, d.co_unit_ids, d.days, d.instructed_at,
        d.due_at, d.reply, d.answered_at, d.rating, d.rating_comment, d.created_at, d.created_by, d.updated_at,
        r.id, r.tracking_no, r.state, r.due_at, r.supervision, r.version,
        (SELECT e.comment FROM events e WHERE e.request_id = d.request_id AND e.kind = 'replied'
          ORDER BY e.seq DESC LIMIT 1)
     FROM direct_line_items d
     LEFT JOIN users u ON u.id = d.leader_user_id
     LEFT JOIN direct_line_items m ON m.id = d.merged_into_id
     LEFT JOIN requests r ON r.id = d.request_id";

/// An item read with [`ITEM_SELECT`]; the asker's name and phone decrypted with `keys` (the connection's).
fn item(row: Row, keys: Option<&Keyring>) -> StoreResult<Item> {
    let mut c = row.cols();
    let mut item = Item {
        id: c.get()?,
        tracking_no: c.get()?,
        check_code: c.get()?,
        source: c.code(Source::parse)?,
        addressee: c.code(Addressee::parse)?,
        name: personal_data::open(keys, personal_data::DIRECT_LINE_NAME, c.get()?)?,
        phone: personal_data::open(keys, personal_data::DIRECT_LINE_PHONE, c.get()?)?,
        credit_code: c.get()?,
        title: c.get()?,
        content: c.get()?,
        publish_consent: c.get()?,
        screening: c.opt_json()?,
        state: c.code(ItemState::parse)?,
        category_id: c.get()?,
        leader_user_id: c.get()?,
        leader_name: c.get()?,
        merged_into: c.get()?,
        instruction: c.get()?,
        lead_unit_id: c.get()?,
        co_unit_ids: c.json()?,
        days: c.get()?,
        instructed_at: c.get()?,
        due_at: c.get()?,
        request: None,
        reply: c.get()?,
        answered_at: c.get()?,
        rating: c.opt_code(Rating::parse)?,
        rating_comment: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        updated_at: c.get()?,
        events: Vec::new(),
    };
    let request_id: Option<i64> = c.get()?;
    let tracking_no: Option<String> = c.get()?;
    let state = c.opt_code(State::parse)?;
    let due_at: Option<Instant> = c.get()?;
    let supervision: Option<String> = c.get()?;
    let version: Option<i64> = c.get()?;
    let last_reply: Option<String> = c.get()?;
    if let (Some(id), Some(tracking_no), Some(state)) = (request_id, tracking_no, state) {
        let supervised = supervision.is_some();
        let version = version.unwrap_or_default();
        item.request = Some(ItemRequest { id, tracking_no, state, due_at, supervised, version, last_reply });
    }
    Ok(item)
}

async fn reload(c: &dyn Conn, id: i64) -> StoreResult<Item> {
    load(c, Key::Id(id), &ItemScope::All, false).await?.ok_or_else(|| StoreError::backend("the item vanished"))
}

async fn load(c: &dyn Conn, key: Key, scope: &ItemScope, lock: bool) -> StoreResult<Option<Item>> {
    let mut args = Args::default();
    let key = match key {
        Key::Id(id) => format!("d.id = {}", args.push(id)),
        Key::No(no) => format!("d.tracking_no = {}", args.push(no.trim())),
        Key::Request(id) => format!("d.request_id = {}", args.push(id)),
    };
    let scoped = scope_sql(scope, &mut args);
    let lock_sql = if lock { c.dialect().lock_rows("d") } else { String::new() };
    let found = if lock {
        // Row locks cannot reach the outer joins on PostgreSQL: lock the item's row alone first.
        let sql = format!("SELECT d.id FROM direct_line_items d WHERE {key} AND {scoped}{lock_sql}");
        c.scalar_opt::<i64>(&sql, args.values()).await?
    } else {
        let sql = format!("SELECT d.id FROM direct_line_items d WHERE {key} AND {scoped}");
        c.scalar_opt::<i64>(&sql, args.values()).await?
    };
    let Some(id) = found else { return Ok(None) };
    let sql = format!("{ITEM_SELECT} WHERE d.id = $1");
    let Some(mut found) = c.map_opt(&sql, &args![id], |row| item(row, c.personal_data())).await? else {
        return Ok(None);
    };
    found.events = c
        .map(
            "SELECT at, by_name, action, comment FROM direct_line_events WHERE item_id = $1 ORDER BY id",
            &args![id],
            |row| {
                let mut c = row.cols();
                Ok(ItemEvent { at: c.get()?, by: c.get()?, action: c.get()?, comment: c.get()? })
            },
        )
        .await?;
    Ok(Some(found))
}

async fn list(c: &dyn Conn, f: &ItemFilter) -> StoreResult<Vec<Item>> {
    let mut args = Args::default();
    let mut conditions = vec![scope_sql(&f.scope, &mut args)];
    if let Some(id) = f.id {
        conditions.push(format!("d.id = {}", args.push(id)));
    }
    if let Some(state) = f.state {
        conditions.push(format!("d.state = {}", args.push(state.as_str())));
    }
    if let Some(from) = &f.from {
        conditions.push(format!("d.created_at >= {}", args.push(from)));
    }
    if let Some(until) = &f.until {
        conditions.push(format!("d.created_at < {}", args.push(until)));
    }
    if f.published {
        conditions.push(format!("d.state = 'answered' AND d.publish_consent = {}", args.push(true)));
    }
    let limit = args.push(f.limit.clamp(1, ITEMS_MAX));
    let sql =
        format!("{ITEM_SELECT} WHERE {} ORDER BY d.created_at DESC, d.id DESC LIMIT {limit}", conditions.join(" AND "));
    c.map(&sql, args.values(), |row| item(row, c.personal_data())).await
}
