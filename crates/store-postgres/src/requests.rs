//! Requests, their events and attachments in PostgreSQL.
//!
//! Each write is one transaction. `act` reads without locking and writes
//! with an optimistic lock on `version`; a writer that loses the race changes
//! nothing and answers `concurrent_update`. Uploads lock the request row so
//! the attachment count cannot be overrun by two nodes at once.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use mashangban_domain::lifecycle::{self, Action, Context, DeadlineNotice, EventDraft};
use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::request::{Asker, AttachmentId, Event, NewRequest, Rating, Request, RequestId, State};
use mashangban_domain::time::Instant;
use mashangban_store::backend::{self, MAX_ATTACHMENTS};
use mashangban_store::{
    Attachment, Command, ListFilter, ListOrder, Meta, Page, RequestStore, StoreError, StoreResult, Upload,
};

use crate::PgStore;
use crate::db::{Params, commit, db_err, execute, query, query_one, query_opt};
use crate::rows::{self, get, instant, opt_ts, ts};

impl RequestStore for PgStore {
    async fn intake(&self, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request> {
        let mut client = self.client().await?;
        let number = allocate(&mut client, &self.options.tracking_prefix, &new, meta).await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let request = intake(&tx, number, new, actor, meta).await?;
        commit(tx).await?;
        Ok(request)
    }

    async fn find(&self, tracking_no: &str, scope: &Scope) -> StoreResult<Option<Request>> {
        let client = self.client().await?;
        load(&client, Key::Tracking(tracking_no.to_owned()), scope, Lock::None).await
    }

    async fn find_by_id(&self, id: RequestId, scope: &Scope) -> StoreResult<Option<Request>> {
        let client = self.client().await?;
        load(&client, Key::Id(id), scope, Lock::None).await
    }

    async fn history(&self, request_id: RequestId) -> StoreResult<Vec<Event>> {
        let client = self.client().await?;
        history(&client, request_id).await
    }

    async fn act(&self, command: Command) -> StoreResult<Request> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let request = act(&tx, command).await?;
        commit(tx).await?;
        Ok(request)
    }

    async fn list(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
        let client = self.client().await?;
        list(&client, filter, scope).await
    }

    async fn add_attachment(&self, upload: Upload) -> StoreResult<Attachment> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let attachment = add_attachment(&tx, upload).await?;
        commit(tx).await?;
        Ok(attachment)
    }

    async fn attachments(&self, request_id: RequestId) -> StoreResult<Vec<Attachment>> {
        let client = self.client().await?;
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE request_id = $1 ORDER BY id");
        rows::all(&query(&client, &sql, &[&request_id]).await?, attachment)
    }

    async fn attachment_content(
        &self,
        request_id: RequestId,
        id: AttachmentId,
    ) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
        let client = self.client().await?;
        let sql = format!("SELECT {ATTACHMENT_COLUMNS}, content FROM attachments WHERE request_id = $1 AND id = $2");
        let row = query_opt(&client, &sql, &[&request_id, &id]).await?;
        row.map(|row| Ok((attachment(&row)?, get::<Vec<u8>>(&row, "content")?))).transpose()
    }

    async fn deadline_candidates(&self, until: Instant, limit: u32) -> StoreResult<Vec<Request>> {
        let client = self.client().await?;
        deadline_candidates(&client, until, limit).await
    }
}

enum Key {
    Id(RequestId),
    Tracking(String),
}

/// Whether a load locks the request row until the transaction ends.
#[derive(PartialEq)]
enum Lock {
    None,
    ForUpdate,
}

/// The scope rule (see `Scope::permits`) as SQL on alias `r`.
fn scope_sql(scope: &Scope, params: &mut Params) -> String {
    match scope {
        Scope::All => "TRUE".into(),
        Scope::Nothing => "FALSE".into(),
        Scope::Units { units, town } => {
            let units = params.push(units.clone());
            let town = match town {
                Some(town) => format!(" OR r.town_id = {}", params.push(*town)),
                None => String::new(),
            };
            format!(
                "(EXISTS (SELECT 1 FROM request_units ru WHERE ru.request_id = r.id AND ru.unit_id = ANY({units})){town})"
            )
        }
        Scope::Asker { user_id, credit_code } => {
            let user = params.push(*user_id);
            match credit_code {
                Some(code) => format!("(r.submitted_by = {user} OR r.credit_code = {})", params.push(code.clone())),
                None => format!("r.submitted_by = {user}"),
            }
        }
    }
}

async fn load(c: &impl GenericClient, key: Key, scope: &Scope, lock: Lock) -> StoreResult<Option<Request>> {
    let mut params = Params::default();
    let key_sql = match key {
        Key::Id(id) => format!("r.id = {}", params.push(id)),
        Key::Tracking(no) => format!("r.tracking_no = {}", params.push(no)),
    };
    let scope = scope_sql(scope, &mut params);
    let lock = if lock == Lock::ForUpdate { " FOR UPDATE OF r" } else { "" };
    let sql = format!("SELECT {} FROM requests r WHERE {key_sql} AND {scope}{lock}", rows::REQUEST_COLUMNS);
    query_opt(c, &sql, &params.refs()).await?.map(|r| rows::request(&r)).transpose()
}

pub async fn history(c: &impl GenericClient, request_id: RequestId) -> StoreResult<Vec<Event>> {
    let sql = format!("SELECT {} FROM events WHERE request_id = $1 ORDER BY seq", rows::EVENT_COLUMNS);
    rows::all(&query(c, &sql, &[&request_id]).await?, rows::event)
}

/// A new request's id and tracking number, taken before its transaction.
struct Allocated {
    id: RequestId,
    tracking_no: String,
}

/// Checks the intake's references, then takes the day's next tracking number
/// and the next request id together in a short transaction of their own, so
/// the day's counter row is locked for microseconds rather than for a whole
/// intake (which would make intakes on every node run one at a time). The
/// numbers stay unique and in the order of the ids. `synchronous_commit = off`
/// is safe here: the intake's own durable commit flushes the WAL past this
/// one, and a number taken by an intake that never commits is only a gap.
async fn allocate(
    client: &mut deadpool_postgres::Client,
    prefix: &str,
    new: &NewRequest,
    meta: &Meta,
) -> StoreResult<Allocated> {
    check_category(&*client, new.category_id).await?;
    if let Some(town) = new.location.town_id {
        check_town(&*client, town).await?;
    }
    let tx = client.transaction().await.map_err(db_err)?;
    execute(&tx, "SET LOCAL synchronous_commit = off", &[]).await?;
    let day = backend::tracking_day(&meta.now);
    let row = query_one(
        &tx,
        "INSERT INTO tracking_counters (day, last) VALUES ($1, 1)
         ON CONFLICT (day) DO UPDATE SET last = tracking_counters.last + 1
         RETURNING last, nextval(pg_get_serial_sequence('requests', 'id')) AS id",
        &[&day],
    )
    .await?;
    let allocated =
        Allocated { id: get(&row, "id")?, tracking_no: backend::tracking_no(prefix, &day, get(&row, "last")?) };
    commit(tx).await?;
    Ok(allocated)
}

async fn intake(
    tx: &Transaction<'_>,
    number: Allocated,
    new: NewRequest,
    actor: &Actor,
    meta: &Meta,
) -> StoreResult<Request> {
    let Allocated { id, tracking_no } = number;
    let (credit_code, enterprise_name) = match &new.asker {
        Asker::Enterprise { credit_code, name } => (Some(credit_code.as_str().to_owned()), Some(name.clone())),
        Asker::Resident => (None, None),
    };
    let asker_type = if new.asker.is_enterprise() { "enterprise" } else { "resident" };
    let point = new.location.point;
    execute(
        tx,
        "INSERT INTO requests (tracking_no, check_code, kind, urgency, channel, asker_type, credit_code, enterprise_name,
            contact_name, contact_phone, title, content, category_id, town_id, address, lat, lon, state, due_at,
            ledger_ref, submitted_by, received_at, updated_at, version, contact_due_at, stage_due_at, time_limits,
            contact_email, id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22,
            1, $23, $24, $25, $26, $27)",
        &[
            &tracking_no,
            &new.check_code,
            &new.kind.as_str(),
            &new.urgency.as_str(),
            &new.channel.as_str(),
            &asker_type,
            &credit_code,
            &enterprise_name,
            &new.contact.name,
            &new.contact.phone.as_str(),
            &new.title,
            &new.content,
            &new.category_id,
            &new.location.town_id,
            &new.location.address,
            &point.map(|p| p.lat),
            &point.map(|p| p.lon),
            &State::Received.as_str(),
            &opt_ts(new.due_at.as_ref()),
            &new.ledger_ref,
            &new.submitted_by,
            &ts(&meta.now),
            &opt_ts(new.deadlines.contact.as_ref()),
            &opt_ts(new.deadlines.stage_reply.as_ref()),
            &rows::to_json(new.time_limits.as_ref()),
            &new.contact.email,
            &id,
        ],
    )
    .await?;
    insert_event(tx, id, &backend::received_event(&new), actor, meta, &[]).await?;
    let request = load(tx, Key::Id(id), &Scope::All, Lock::None)
        .await?
        .ok_or_else(|| StoreError::backend("inserted request vanished"))?;
    crate::dashboard::on_change(tx, None, &request).await?;
    Ok(request)
}

async fn exists(c: &impl GenericClient, sql: &str, id: i64) -> StoreResult<bool> {
    Ok(query_opt(c, sql, &[&id]).await?.is_some())
}

async fn check_category(c: &impl GenericClient, id: i64) -> StoreResult<()> {
    if exists(c, "SELECT 1 FROM categories WHERE id = $1 AND active", id).await? {
        Ok(())
    } else {
        Err(backend::unknown_category(id))
    }
}

async fn check_town(c: &impl GenericClient, id: UnitId) -> StoreResult<()> {
    if exists(c, "SELECT 1 FROM units WHERE id = $1 AND kind = 'town' AND active", id).await? {
        Ok(())
    } else {
        Err(backend::unknown_town(id))
    }
}

async fn check_handling_units(c: &impl GenericClient, units: impl IntoIterator<Item = UnitId>) -> StoreResult<()> {
    for id in units {
        if !exists(c, "SELECT 1 FROM units WHERE id = $1 AND kind <> 'city' AND active", id).await? {
            return Err(backend::unknown_handling_unit(id));
        }
    }
    Ok(())
}

async fn act(tx: &Transaction<'_>, command: Command) -> StoreResult<Request> {
    let current = load(tx, Key::Tracking(command.tracking_no.clone()), &command.scope, Lock::None)
        .await?
        .ok_or_else(StoreError::request_not_found)?;
    if let Action::Dispatch { lead, co, .. } | Action::Redispatch { lead, co, .. } = &command.action {
        check_handling_units(tx, std::iter::once(*lead).chain(co.iter().copied())).await?;
    }
    let parent = match &command.action {
        Action::Merge { parent_id } => load(tx, Key::Id(*parent_id), &command.scope, Lock::None).await?,
        _ => None,
    };
    check_attachments(tx, current.id, &command.attachment_ids).await?;
    if let Action::Notice { notice } = &command.action {
        record_notice(tx, current.id, notice, &command.meta).await?;
    }
    let ctx = Context { now: command.meta.now, merge_parent: parent.as_ref(), calendar: command.calendar.as_deref() };
    let outcome = lifecycle::apply(&current, &command.actor, &command.action, &ctx)?;
    save(tx, &current, &outcome.request).await?;
    insert_event(tx, current.id, &outcome.event, &command.actor, &command.meta, &command.attachment_ids).await?;
    if let (Some(parent), Some(draft)) = (parent, outcome.parent_event) {
        touch(tx, parent.id, &command.meta).await?;
        insert_event(tx, parent.id, &draft, &command.actor, &command.meta, &[]).await?;
    }
    Ok(outcome.request)
}

/// Writes the changed request if nobody changed it meanwhile (optimistic
/// lock). A concurrent writer's uncommitted change makes this wait for it,
/// then find the version moved.
async fn save(tx: &Transaction<'_>, before: &Request, after: &Request) -> StoreResult<()> {
    let ext = after.pending_extension.as_ref();
    let co = serde_json::to_string(&after.co_unit_ids).map_err(StoreError::backend)?;
    let n = execute(
        tx,
        "UPDATE requests SET state = $3, lead_unit_id = $4, co_unit_ids = $5, ext_requested_due = $6, ext_reason = $7,
            ext_requested_at = $8, merged_into = $9, rating = $10, resolved = $11, reopen_count = $12,
            return_count = $13, extension_count = $14, due_at = $15, updated_at = $16, closed_at = $17, version = $18,
            sign_due_at = $19, contact_due_at = $20, stage_due_at = $21, suspended_at = $22, supervision = $23
         WHERE id = $1 AND version = $2",
        &[
            &after.id,
            &before.version,
            &after.state.as_str(),
            &after.lead_unit_id,
            &co,
            &opt_ts(ext.map(|e| &e.requested_due)),
            &ext.map(|e| e.reason.clone()),
            &opt_ts(ext.map(|e| &e.requested_at)),
            &after.merged_into,
            &after.rating.map(|r| r.as_str()),
            &after.resolved,
            &i64::from(after.reopen_count),
            &i64::from(after.return_count),
            &i64::from(after.extension_count),
            &opt_ts(after.due_at.as_ref()),
            &ts(&after.updated_at),
            &opt_ts(after.closed_at.as_ref()),
            &after.version,
            &opt_ts(after.deadlines.sign_for.as_ref()),
            &opt_ts(after.deadlines.contact.as_ref()),
            &opt_ts(after.deadlines.stage_reply.as_ref()),
            &opt_ts(after.suspended_at.as_ref()),
            &rows::to_json(after.supervision.as_ref()),
        ],
    )
    .await?;
    if n != 1 {
        return Err(backend::concurrent_update());
    }
    crate::dashboard::on_change(tx, Some(before), after).await?;
    if before.lead_unit_id != after.lead_unit_id || before.co_unit_ids != after.co_unit_ids {
        save_units(tx, after).await?;
    }
    Ok(())
}

async fn save_units(tx: &Transaction<'_>, after: &Request) -> StoreResult<()> {
    execute(tx, "DELETE FROM request_units WHERE request_id = $1", &[&after.id]).await?;
    let insert = "INSERT INTO request_units (request_id, unit_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    if let Some(lead) = after.lead_unit_id {
        execute(tx, insert, &[&after.id, &lead, &"lead"]).await?;
    }
    for co in &after.co_unit_ids {
        execute(tx, insert, &[&after.id, co, &"co"]).await?;
    }
    Ok(())
}

/// Bumps a request's version when an event is recorded on it without a state change.
async fn touch(tx: &Transaction<'_>, id: RequestId, meta: &Meta) -> StoreResult<()> {
    execute(tx, "UPDATE requests SET version = version + 1, updated_at = $2 WHERE id = $1", &[&id, &ts(&meta.now)])
        .await
        .map(drop)
}

/// Appends an event, then its scoring rollups and outbox rows, in the caller's
/// transaction. The request row is locked by then (inserted, updated or
/// selected for update), so `seq` cannot be taken twice.
async fn insert_event(
    tx: &Transaction<'_>,
    request_id: RequestId,
    draft: &EventDraft,
    actor: &Actor,
    meta: &Meta,
    attachment_ids: &[AttachmentId],
) -> StoreResult<i64> {
    let attachments = serde_json::to_string(attachment_ids).map_err(StoreError::backend)?;
    let row = query_one(
        tx,
        "INSERT INTO events (request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id, client_ip,
            from_state, to_state, comment, details, attachment_ids, due_at)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE request_id = $1), $2, $3, $4, $5, $6, $7, $8,
            $9, $10, $11, $12, $13, $14)
         RETURNING id",
        &[
            &request_id,
            &ts(&meta.now),
            &draft.kind.as_str(),
            &actor.user_id(),
            &actor.name(),
            &actor.role_str(),
            &actor.unit_id(),
            &meta.client_ip,
            &draft.from_state.map(|s| s.as_str()),
            &draft.to_state.as_str(),
            &draft.comment,
            &draft.details.to_json(),
            &attachments,
            &opt_ts(draft.due_at.as_ref()),
        ],
    )
    .await?;
    let id: i64 = get(&row, "id")?;
    crate::scoring::on_event(tx, request_id, draft).await?;
    crate::outbox::on_event(tx, id, request_id, draft, meta).await?;
    Ok(id)
}

async fn check_attachments(c: &impl GenericClient, request_id: RequestId, ids: &[AttachmentId]) -> StoreResult<()> {
    for id in ids {
        let found =
            query_opt(c, "SELECT 1 FROM attachments WHERE id = $1 AND request_id = $2", &[id, &request_id]).await?;
        if found.is_none() {
            return Err(backend::unknown_attachment(*id));
        }
    }
    Ok(())
}

/// The running deadline: sign-for while dispatched, else the reply deadline.
/// Running deadlines first (supervised ones on top), then suspended work, then the rest.
const DEADLINE_ORDER: &str = "(r.supervision IS NULL OR r.state NOT IN ('received', 'dispatched', 'returned', \
        'signed_for', 'in_progress', 'suspended', 'replied')), \
     CASE WHEN r.state = 'dispatched' \
            THEN COALESCE(LEAST(COALESCE(r.sign_due_at, r.due_at), COALESCE(r.due_at, r.sign_due_at)), '9997') \
          WHEN r.state IN ('received', 'returned', 'signed_for', 'in_progress') THEN COALESCE(r.due_at, '9997') \
          WHEN r.state IN ('suspended', 'replied') THEN '9998' \
          ELSE '9999' END ASC, r.id ASC";

/// The filter's conditions as SQL on alias `r`.
fn filter_sql(f: &ListFilter, p: &mut Params) -> Vec<String> {
    let mut clauses = Vec::new();
    // A work queue is the open work unless states are asked for.
    let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
    let states = if f.states.is_empty() && f.order == ListOrder::Deadline { &open } else { &f.states };
    if !states.is_empty() {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_owned()).collect();
        clauses.push(format!("r.state = ANY({})", p.push(states)));
    }
    if let Some(kind) = f.kind {
        clauses.push(format!("r.kind = {}", p.push(kind.as_str())));
    }
    if let Some(channel) = f.channel {
        clauses.push(format!("r.channel = {}", p.push(channel.as_str())));
    }
    if let Some(town) = f.town_id {
        clauses.push(format!("r.town_id = {}", p.push(town)));
    }
    if let Some(category) = f.category_id {
        clauses.push(format!("r.category_id = {}", p.push(category)));
    }
    if let Some(code) = &f.credit_code {
        clauses.push(format!("r.credit_code = {}", p.push(code.clone())));
    }
    if let Some(phone) = &f.contact_phone {
        clauses.push(format!("r.contact_phone = {}", p.push(phone.clone())));
    }
    if !f.exclude_kinds.is_empty() {
        let kinds: Vec<String> = f.exclude_kinds.iter().map(|k| k.as_str().to_owned()).collect();
        clauses.push(format!("r.kind <> ALL({})", p.push(kinds)));
    }
    if let Some(unit) = f.unit_id {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM request_units fu WHERE fu.request_id = r.id AND fu.unit_id = {})",
            p.push(unit)
        ));
    }
    if let Some(unit) = f.lead_unit_id {
        clauses.push(format!("r.lead_unit_id = {}", p.push(unit)));
    }
    if f.without_lead_unit {
        clauses.push("r.lead_unit_id IS NULL".into());
    }
    if f.without_town {
        clauses.push("r.town_id IS NULL".into());
    }
    let mut compare = |clause: &str, at: &Option<Instant>| {
        if let Some(at) = at {
            clauses.push(format!("{clause} {}", p.push(ts(at))));
        }
    };
    compare("r.due_at >=", &f.due_from);
    compare("r.closed_at >=", &f.closed_from);
    compare("r.closed_at <", &f.closed_to);
    compare("r.received_at >=", &f.received_from);
    compare("r.received_at <", &f.received_to);
    compare("r.updated_at >", &f.updated_after);
    compare("r.updated_at <", &f.updated_before);
    if let Some(at) = &f.overdue_at {
        let open: Vec<String> = open.iter().map(|s| s.as_str().to_owned()).collect();
        clauses.push(format!("r.due_at < {} AND r.state = ANY({})", p.push(ts(at)), p.push(open)));
    }
    if f.supervised {
        clauses.push("r.supervision IS NOT NULL".into());
    }
    if f.pending_extension {
        clauses.push("r.ext_requested_due IS NOT NULL".into());
    }
    if f.unhappy_follow_up {
        let unhappy: Vec<String> =
            Rating::ALL.iter().filter(|r| r.is_dissatisfied()).map(|r| r.as_str().to_owned()).collect();
        clauses
            .push(format!("r.state = 'followed_up' AND (r.rating = ANY({}) OR r.resolved = false)", p.push(unhappy)));
    }
    if !f.category_ids.is_empty() {
        clauses.push(format!("r.category_id = ANY({})", p.push(f.category_ids.clone())));
    }
    if let Some(before) = f.before_id {
        clauses.push(format!("r.id < {}", p.push(before)));
    }
    clauses
}

async fn list(c: &impl GenericClient, f: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
    let mut p = Params::default();
    let mut clauses = vec![scope_sql(scope, &mut p)];
    clauses.extend(filter_sql(f, &mut p));
    let limit = f.limit.clamp(1, 500);
    let limit_mark = p.push(i64::from(limit) + 1);
    let offset_mark = p.push(i64::from(f.offset));
    let order = match f.order {
        ListOrder::Newest => "r.id DESC",
        ListOrder::Deadline => DEADLINE_ORDER,
    };
    let sql = format!(
        "SELECT {} FROM requests r WHERE {} ORDER BY {order} LIMIT {limit_mark} OFFSET {offset_mark}",
        rows::REQUEST_COLUMNS,
        clauses.join(" AND ")
    );
    let mut items = rows::all(&query(c, &sql, &p.refs()).await?, rows::request)?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more && f.order == ListOrder::Newest { items.last().map(|r| r.id) } else { None };
    Ok(Page { items, next_cursor })
}

const ATTACHMENT_COLUMNS: &str = "id, request_id, file_name, content_type, size, sha256, uploaded_at, uploaded_by";

fn attachment(row: &Row) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: get(row, "id")?,
        request_id: get(row, "request_id")?,
        file_name: get(row, "file_name")?,
        content_type: get(row, "content_type")?,
        size: get(row, "size")?,
        sha256: get(row, "sha256")?,
        uploaded_at: instant(row, "uploaded_at")?,
        uploaded_by: get(row, "uploaded_by")?,
    })
}

async fn add_attachment(tx: &Transaction<'_>, upload: Upload) -> StoreResult<Attachment> {
    let request = load(tx, Key::Tracking(upload.tracking_no.clone()), &upload.scope, Lock::ForUpdate)
        .await?
        .ok_or_else(StoreError::request_not_found)?;
    lifecycle::check_attachment(&request, &upload.actor)?;
    let row = query_one(tx, "SELECT COUNT(*) AS n FROM attachments WHERE request_id = $1", &[&request.id]).await?;
    if get::<i64>(&row, "n")? >= MAX_ATTACHMENTS {
        return Err(backend::too_many_attachments());
    }
    let file = &upload.file;
    let sql = format!(
        "INSERT INTO attachments (request_id, file_name, content_type, size, sha256, content, uploaded_at, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ATTACHMENT_COLUMNS}"
    );
    let row = query_one(
        tx,
        &sql,
        &[
            &request.id,
            &file.file_name,
            &file.content_type,
            &(file.bytes.len() as i64),
            &file.sha256,
            &file.bytes,
            &ts(&upload.meta.now),
            &upload.actor.user_id(),
        ],
    )
    .await?;
    let saved = attachment(&row)?;
    touch(tx, request.id, &upload.meta).await?;
    let draft = backend::attachment_added_event(&request, file);
    insert_event(tx, request.id, &draft, &upload.actor, &upload.meta, &[saved.id]).await?;
    Ok(saved)
}

/// Records a scheduler notice once: a second identical notice, from a rescan
/// or another node's scheduler, is refused and so sends nothing twice.
async fn record_notice(
    tx: &Transaction<'_>,
    request_id: RequestId,
    notice: &DeadlineNotice,
    meta: &Meta,
) -> StoreResult<()> {
    let inserted = execute(
        tx,
        "INSERT INTO deadline_notices (request_id, deadline, level, due_at, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        &[&request_id, &notice.deadline.as_str(), &notice.level.as_str(), &ts(&notice.due), &ts(&meta.now)],
    )
    .await?;
    if inserted == 0 {
        return Err(backend::notice_already_sent());
    }
    Ok(())
}

async fn deadline_candidates(c: &impl GenericClient, until: Instant, limit: u32) -> StoreResult<Vec<Request>> {
    let sql = format!(
        "SELECT {} FROM requests r WHERE (r.state = 'dispatched' AND r.sign_due_at <= $1)
            OR (r.state IN ('received', 'dispatched', 'returned', 'signed_for', 'in_progress') AND r.due_at <= $1)
         ORDER BY LEAST(COALESCE(r.sign_due_at, r.due_at), COALESCE(r.due_at, r.sign_due_at)), r.id LIMIT $2",
        rows::REQUEST_COLUMNS
    );
    rows::all(&query(c, &sql, &[&ts(&until), &i64::from(limit)]).await?, rows::request)
}
