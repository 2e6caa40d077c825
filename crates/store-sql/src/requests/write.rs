//! Writing requests: intake, actions, attachments. Each runs inside one
//! write job, so the row, its event, the rollups and the outbox rows commit
//! together or not at all.

use mashangban_domain::lifecycle::{self, Action, Context, DeadlineNotice, EventDraft};
use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::request::{Asker, AttachmentId, NewRequest, Request, RequestId, State};
use mashangban_domain::screening::Decision;
use mashangban_domain::time::Instant;
use mashangban_store::backend::{self, MAX_ATTACHMENTS};
use mashangban_store::{Attachment, ChangeEntity, Command, Meta, StoreError, StoreResult, Upload};

use super::query::{Key, load};
use crate::rows::{self, ATTACHMENT_COLUMNS, json_text, to_json};
use crate::sql::{Conn, Dialect};
use crate::{args, personal_data};

/// A new request's id (where allocated ahead) and tracking number.
pub struct Number {
    pub id: Option<RequestId>,
    pub tracking_no: String,
}

/// Checks the intake's references, then takes the day's next tracking number.
///
/// On PostgreSQL this runs in a short transaction of its own before the
/// intake and also takes the request id, so the day's counter row is locked
/// for microseconds rather than for a whole intake (which would make intakes
/// on every node run one at a time); `synchronous_commit = off` is safe since
/// the intake's own durable commit flushes the WAL past it, and a number
/// whose intake never commits is only a gap. SQLite's single writer takes
/// the number inside the intake's transaction.
pub async fn allocate(c: &dyn Conn, prefix: &str, new: &NewRequest, meta: &Meta) -> StoreResult<Number> {
    check_category(c, new.category_id).await?;
    if let Some(town) = new.location.town_id {
        check_town(c, town).await?;
    }
    let day = backend::tracking_day(&meta.now);
    let upsert = "INSERT INTO tracking_counters (day, last) VALUES ($1, 1)
         ON CONFLICT (day) DO UPDATE SET last = tracking_counters.last + 1 RETURNING last";
    match c.dialect() {
        Dialect::Sqlite => {
            let seq: i64 = c.scalar(upsert, &args![day.as_str()]).await?;
            Ok(Number { id: None, tracking_no: backend::tracking_no(prefix, &day, seq) })
        }
        Dialect::Postgres => {
            c.execute("SET LOCAL synchronous_commit = off", &[]).await?;
            let sql = format!("{upsert}, nextval(pg_get_serial_sequence('requests', 'id'))");
            let mut row = c.query_one(&sql, &args![day.as_str()]).await?;
            let seq: i64 = row.take(0)?;
            Ok(Number { id: Some(row.take(1)?), tracking_no: backend::tracking_no(prefix, &day, seq) })
        }
    }
}

/// Writes a new request with its first event (受理).
pub async fn intake(c: &dyn Conn, number: Number, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request> {
    let (credit_code, enterprise_name) = match &new.asker {
        Asker::Enterprise { credit_code, name } => (Some(credit_code.as_str().to_owned()), Some(name.clone())),
        Asker::Resident => (None, None),
    };
    let asker_type = if new.asker.is_enterprise() { "enterprise" } else { "resident" };
    let point = new.location.point;
    let id: RequestId = c
        .scalar(
            "INSERT INTO requests (id, tracking_no, check_code, kind, urgency, channel, asker_type, credit_code,
                enterprise_name, contact_name, contact_phone, title, content, category_id, town_id, address, lat, lon,
                state, due_at, ledger_ref, submitted_by, received_at, updated_at, version, contact_due_at, stage_due_at,
                time_limits, contact_email, deadlines_provisional, screening_held, contact_phone_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23, 1, $24, $25, $26, $27, $28,
                $29, $30)
             RETURNING id",
            &args![
                number.id,
                number.tracking_no.as_str(),
                new.check_code.as_str(),
                new.kind.as_str(),
                new.urgency.as_str(),
                new.channel.as_str(),
                asker_type,
                credit_code,
                enterprise_name,
                personal_data::seal(c, personal_data::CONTACT_NAME, &new.contact.name),
                personal_data::seal(c, personal_data::CONTACT_PHONE, new.contact.phone.as_str()),
                new.title.as_str(),
                new.content.as_str(),
                new.category_id,
                new.location.town_id,
                new.location.address.as_deref(),
                point.map(|p| p.lat),
                point.map(|p| p.lon),
                State::Received.as_str(),
                new.due_at.as_ref(),
                new.ledger_ref.as_deref(),
                new.submitted_by,
                &meta.now,
                new.deadlines.contact.as_ref(),
                new.deadlines.stage_reply.as_ref(),
                to_json(new.time_limits.as_ref()),
                new.contact.email.as_deref().map(|e| personal_data::seal(c, personal_data::CONTACT_EMAIL, e)),
                new.deadlines.provisional,
                new.screening.as_ref().is_some_and(|s| s.verdict.held),
                personal_data::phone_hash(c, new.contact.phone.as_str()),
            ],
        )
        .await?;
    if let Some(screening) = &new.screening {
        crate::screening::record_intake(c, id, screening, &meta.now).await?;
    }
    let request = load(c, &Key::Id(id), &Scope::All, false)
        .await?
        .ok_or_else(|| StoreError::backend("inserted request vanished"))?;
    let draft = backend::received_event(&new);
    insert_event(c, &request, &draft, actor, meta, &[]).await?;
    crate::dashboard::on_change(c, None, &request).await?;
    Ok(request)
}

async fn exists(c: &dyn Conn, sql: &str, id: i64) -> StoreResult<bool> {
    Ok(c.query_opt(sql, &args![id]).await?.is_some())
}

async fn check_category(c: &dyn Conn, id: i64) -> StoreResult<()> {
    let ok = exists(c, "SELECT 1 FROM categories WHERE id = $1 AND active", id).await?;
    if ok { Ok(()) } else { Err(backend::unknown_category(id)) }
}

async fn check_town(c: &dyn Conn, id: UnitId) -> StoreResult<()> {
    let ok = exists(c, "SELECT 1 FROM units WHERE id = $1 AND kind = 'town' AND active", id).await?;
    if ok { Ok(()) } else { Err(backend::unknown_town(id)) }
}

async fn check_handling_units(c: &dyn Conn, units: impl IntoIterator<Item = UnitId>) -> StoreResult<()> {
    for id in units {
        if !exists(c, "SELECT 1 FROM units WHERE id = $1 AND kind <> 'city' AND active", id).await? {
            return Err(backend::unknown_handling_unit(id));
        }
    }
    Ok(())
}

async fn check_attachments(c: &dyn Conn, request_id: RequestId, ids: &[AttachmentId]) -> StoreResult<()> {
    for &id in ids {
        let sql = "SELECT 1 FROM attachments WHERE id = $1 AND request_id = $2";
        if c.query_opt(sql, &args![id, request_id]).await?.is_none() {
            return Err(backend::unknown_attachment(id));
        }
    }
    Ok(())
}

/// Applies an action to an in-scope request: `lifecycle::apply` decides, then
/// the row (optimistic lock on `version`), its event and, for a merge, the
/// parent's event are written.
pub async fn act(c: &dyn Conn, command: Command) -> StoreResult<Request> {
    let current = load(c, &Key::Tracking(command.tracking_no.clone()), &command.scope, false)
        .await?
        .ok_or_else(StoreError::request_not_found)?;
    if command.expected_version.is_some_and(|v| v != current.version) {
        return Err(version_changed(&current).into());
    }
    if let Action::Dispatch { lead, co, .. } | Action::Redispatch { lead, co, .. } = &command.action {
        check_handling_units(c, std::iter::once(*lead).chain(co.iter().copied())).await?;
    }
    if let Action::Reclassify(change) = &command.action {
        if let Some(category) = change.category_id.filter(|id| *id != current.category_id) {
            check_category(c, category).await?;
        }
        if let Some(town) = change.town_id.filter(|id| Some(*id) != current.location.town_id) {
            check_town(c, town).await?;
        }
    }
    let parent = match &command.action {
        Action::Merge { parent_id } => load(c, &Key::Id(*parent_id), &command.scope, false).await?,
        _ => None,
    };
    check_attachments(c, current.id, &command.attachment_ids).await?;
    if let Action::Notice { notice } = &command.action {
        record_notice(c, current.id, notice, &command.meta).await?;
    }
    let sub_unit = match &command.action {
        Action::SubDispatch { sub_unit, .. } => {
            let sql = format!("SELECT {} FROM units WHERE id = $1", rows::UNIT_COLUMNS);
            c.map_opt(&sql, &args![*sub_unit], rows::unit).await?
        }
        _ => None,
    };
    let ctx = Context {
        now: command.meta.now,
        merge_parent: parent.as_ref(),
        calendar: command.calendar.as_deref(),
        sub_unit: sub_unit.as_ref(),
    };
    let outcome = lifecycle::apply(&current, &command.actor, &command.action, &ctx)?;
    save(c, &current, &outcome.request).await?;
    let decision = match &command.action {
        Action::Release { .. } => Some(Decision::Released),
        Action::MarkSpam { .. } => Some(Decision::Spam),
        _ => None,
    };
    if let Some(decision) = decision {
        crate::screening::record_decision(c, current.id, decision, command.actor.name(), &command.meta.now).await?;
    }
    insert_event(c, &outcome.request, &outcome.event, &command.actor, &command.meta, &command.attachment_ids).await?;
    if matches!(command.action, Action::Return { .. })
        && outcome.request.channel == mashangban_domain::request::Channel::DirectLine
    {
        let reason = outcome.event.comment.as_deref().unwrap_or_default();
        crate::direct_line::request_returned(c, &outcome.request, &command.actor, &command.meta.now, reason).await?;
    }
    if matches!(command.action, Action::RefuseReturn { .. })
        && outcome.request.channel == mashangban_domain::request::Channel::DirectLine
    {
        let reason = outcome.event.comment.as_deref().unwrap_or_default();
        let (before, after, actor, at) = (&current, &outcome.request, &command.actor, &command.meta.now);
        crate::direct_line::return_refused(c, before, after, actor, at, reason).await?;
    }
    if let (Some(parent), Some(draft)) = (parent, outcome.parent_event) {
        let parent = touch(c, parent, &command.meta).await?;
        insert_event(c, &parent, &draft, &command.actor, &command.meta, &[]).await?;
    }
    Ok(outcome.request)
}

/// The refusal of an action on a request that changed since the person saw it.
fn version_changed(current: &Request) -> mashangban_domain::DomainError {
    mashangban_domain::DomainError::conflict(
        "version_changed",
        format!("诉求已有新的办理（当前状态：{}），未执行；请刷新后再操作", current.state.label()),
    )
}

/// Writes the changed request if nobody changed it meanwhile (optimistic
/// lock). On PostgreSQL a concurrent writer's uncommitted change makes this
/// wait for it, then find the version moved.
async fn save(c: &dyn Conn, before: &Request, after: &Request) -> StoreResult<()> {
    let ext = after.pending_extension.as_ref();
    let changed = c
        .execute(
            "UPDATE requests SET state = $3, lead_unit_id = $4, co_unit_ids = $5, ext_requested_due = $6,
                ext_reason = $7, ext_requested_at = $8, merged_into = $9, rating = $10, resolved = $11,
                reopen_count = $12, return_count = $13, extension_count = $14, due_at = $15, updated_at = $16,
                closed_at = $17, version = $18, sign_due_at = $19, contact_due_at = $20, stage_due_at = $21,
                suspended_at = $22, supervision = $23, deadlines_provisional = $24, kind = $25, urgency = $26,
                category_id = $27, town_id = $28, time_limits = $29, urge_count = $30,
                reopen_requested_at = $31, unit_work = $32, review_pending = $33, screening_held = $34
             WHERE id = $1 AND version = $2",
            &args![
                after.id,
                before.version,
                after.state.as_str(),
                after.lead_unit_id,
                json_text(&after.co_unit_ids)?,
                ext.map(|e| &e.requested_due),
                ext.map(|e| e.reason.as_str()),
                ext.map(|e| &e.requested_at),
                after.merged_into,
                after.rating.map(|r| r.as_str()),
                after.resolved,
                after.reopen_count,
                after.return_count,
                after.extension_count,
                after.due_at.as_ref(),
                &after.updated_at,
                after.closed_at.as_ref(),
                after.version,
                after.deadlines.sign_for.as_ref(),
                after.deadlines.contact.as_ref(),
                after.deadlines.stage_reply.as_ref(),
                after.suspended_at.as_ref(),
                to_json(after.supervision.as_ref()),
                after.deadlines.provisional,
                after.kind.as_str(),
                after.urgency.as_str(),
                after.category_id,
                after.location.town_id,
                to_json(after.time_limits.as_ref()),
                after.urge_count,
                after.reopen_requested_at.as_ref(),
                to_json((!after.unit_work.is_empty()).then_some(&after.unit_work)),
                after.unit_work.review.is_some(),
                after.screening_held,
            ],
        )
        .await?;
    if changed != 1 {
        return Err(backend::concurrent_update());
    }
    crate::dashboard::on_change(c, Some(before), after).await?;
    if before.lead_unit_id != after.lead_unit_id
        || before.co_unit_ids != after.co_unit_ids
        || before.unit_work.subs != after.unit_work.subs
        || before.unit_work.co_deadline(before) != after.unit_work.co_deadline(after)
        || before.unit_work.co_answers != after.unit_work.co_answers
    {
        save_units(c, after).await?;
    }
    Ok(())
}

/// The lead (主办) and co-handling (协办) units and the sub-units of
/// assignments within a unit (二次派单: `sub` while open, `sub_done` once
/// replied), for scope checks in SQL and the sub-units' load. A co-handling
/// unit whose part is missing and an open assignment carry their deadline
/// for the scheduler's notices.
async fn save_units(c: &dyn Conn, after: &Request) -> StoreResult<()> {
    c.execute("DELETE FROM request_units WHERE request_id = $1", &args![after.id]).await?;
    let insert = "INSERT INTO request_units (request_id, unit_id, role, due_at) VALUES ($1, $2, $3, $4)
                  ON CONFLICT DO NOTHING";
    let none: Option<&Instant> = None;
    if let Some(lead) = after.lead_unit_id {
        c.execute(insert, &args![after.id, lead, "lead", none]).await?;
    }
    let unanswered = after.unit_work.unanswered(after);
    let co_deadline = after.unit_work.co_deadline(after);
    for &co in &after.co_unit_ids {
        let due = co_deadline.as_ref().filter(|_| unanswered.contains(&co));
        c.execute(insert, &args![after.id, co, "co", due]).await?;
    }
    // Open assignments first, so a sub-unit with an open and a replied one counts as open.
    let mut subs: Vec<_> = after.unit_work.subs.iter().collect();
    subs.sort_by_key(|s| !s.is_open());
    for sub in subs {
        let (role, due) = if sub.is_open() { ("sub", Some(&sub.due)) } else { ("sub_done", None) };
        c.execute(insert, &args![after.id, sub.sub_unit_id, role, due]).await?;
    }
    Ok(())
}

/// Bumps a request's version when an event is recorded on it without a
/// state change; the request as it now is.
async fn touch(c: &dyn Conn, mut request: Request, meta: &Meta) -> StoreResult<Request> {
    c.execute(
        "UPDATE requests SET version = version + 1, updated_at = $2 WHERE id = $1",
        &args![request.id, &meta.now],
    )
    .await?;
    request.version += 1;
    request.updated_at = meta.now;
    Ok(request)
}

/// Appends an event, then its scoring rollups and outbox rows. The request
/// row is written or locked by then, so `seq` cannot be taken twice.
async fn insert_event(
    c: &dyn Conn,
    request: &Request,
    draft: &EventDraft,
    actor: &Actor,
    meta: &Meta,
    attachment_ids: &[AttachmentId],
) -> StoreResult<i64> {
    let id: i64 = c
        .scalar(
            "INSERT INTO events (request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id,
                client_ip, from_state, to_state, comment, details, attachment_ids, due_at)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE request_id = $1), $2, $3, $4, $5, $6,
                $7, $8, $9, $10, $11, $12, $13, $14)
             RETURNING id",
            &args![
                request.id,
                &meta.now,
                draft.kind.as_str(),
                actor.user_id(),
                actor.name(),
                actor.role_str(),
                actor.unit_id(),
                meta.client_ip.as_deref(),
                draft.from_state.map(|s| s.as_str()),
                draft.to_state.as_str(),
                draft.comment.as_deref(),
                draft.details.to_json(),
                json_text(attachment_ids)?,
                draft.due_at.as_ref(),
            ],
        )
        .await?;
    crate::audit::seal_request(c, request.id, Some(id)).await?;
    crate::scoring::on_event(c, request.id, draft).await?;
    crate::outbox::on_event(c, id, request, draft, meta).await?;
    let source = crate::inbox::Source {
        event_id: id,
        kind: draft.kind,
        details: &draft.details,
        request,
        actor_user_id: actor.user_id(),
        at: meta.now,
    };
    crate::inbox::on_event(c, &source).await?;
    crate::changes::append(c, ChangeEntity::Request, &request.tracking_no, draft.kind.as_str(), &meta.now).await?;
    if request.channel == mashangban_domain::request::Channel::DirectLine {
        crate::direct_line::request_changed(c, request.id, draft.kind, &meta.now).await?;
    }
    Ok(id)
}

/// Records a scheduler notice once: a second identical notice, from a rescan
/// or another node's scheduler, is refused and so sends nothing twice.
async fn record_notice(c: &dyn Conn, request_id: RequestId, notice: &DeadlineNotice, meta: &Meta) -> StoreResult<()> {
    let inserted = c
        .execute(
            "INSERT INTO deadline_notices (request_id, deadline, level, due_at, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &args![request_id, notice.record_key(), notice.level.as_str(), &notice.due, &meta.now],
        )
        .await?;
    if inserted == 0 { Err(backend::notice_already_sent()) } else { Ok(()) }
}

/// Stores an uploaded file with its event. The request row is locked first
/// so two nodes cannot overrun the attachment count together.
pub async fn add_attachment(c: &dyn Conn, mut upload: Upload) -> StoreResult<Attachment> {
    let request = load(c, &Key::Tracking(upload.tracking_no.clone()), &upload.scope, true)
        .await?
        .ok_or_else(StoreError::request_not_found)?;
    lifecycle::check_attachment(&request, &upload.actor)?;
    let count: i64 = c.scalar("SELECT COUNT(*) FROM attachments WHERE request_id = $1", &args![request.id]).await?;
    if count >= MAX_ATTACHMENTS {
        return Err(backend::too_many_attachments());
    }
    let draft = backend::attachment_added_event(&request, &upload.file);
    let bytes = std::mem::take(&mut upload.file.bytes);
    let file = &upload.file;
    let sql = format!(
        "INSERT INTO attachments (request_id, file_name, content_type, size, sha256, content, uploaded_at, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ATTACHMENT_COLUMNS}"
    );
    let row = c
        .query_one(
            &sql,
            &args![
                request.id,
                file.file_name.as_str(),
                file.content_type.as_str(),
                bytes.len(),
                file.sha256.as_str(),
                bytes,
                &upload.meta.now,
                upload.actor.user_id(),
            ],
        )
        .await?;
    let saved = rows::attachment(row)?;
    let request = touch(c, request, &upload.meta).await?;
    insert_event(c, &request, &draft, &upload.actor, &upload.meta, &[saved.id]).await?;
    Ok(saved)
}
