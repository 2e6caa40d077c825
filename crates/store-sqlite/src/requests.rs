//! Requests, their events and attachments in SQLite.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use mashangban_domain::lifecycle::{self, Action, Context, EventDraft};
use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::request::{Asker, AttachmentId, Event, NewRequest, Rating, Request, RequestId, State};
use mashangban_domain::time::Instant;
use mashangban_store::{
    Attachment, Command, ListFilter, ListOrder, Meta, Page, RequestStore, StoreError, StoreResult, Upload,
};

use crate::SqliteStore;
use crate::rows::{self, db_err, opt_ts, ts};

use mashangban_store::backend::{self, MAX_ATTACHMENTS};

impl RequestStore for SqliteStore {
    async fn intake(&self, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request> {
        let actor = actor.clone();
        let meta = meta.clone();
        let prefix = self.options.tracking_prefix.clone();
        self.db.write(move |conn| intake(conn, &prefix, new, &actor, &meta)).await
    }

    async fn find(&self, tracking_no: &str, scope: &Scope) -> StoreResult<Option<Request>> {
        let key = Key::Tracking(tracking_no.to_owned());
        let scope = scope.clone();
        self.db.read(move |conn| load(conn, &key, &scope)).await
    }

    async fn find_by_id(&self, id: RequestId, scope: &Scope) -> StoreResult<Option<Request>> {
        let scope = scope.clone();
        self.db.read(move |conn| load(conn, &Key::Id(id), &scope)).await
    }

    async fn history(&self, request_id: RequestId) -> StoreResult<Vec<Event>> {
        self.db.read(move |conn| history(conn, request_id)).await
    }

    async fn act(&self, command: Command) -> StoreResult<Request> {
        self.db.write(move |conn| act(conn, command)).await
    }

    async fn list(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
        let filter = filter.clone();
        let scope = scope.clone();
        self.db.read(move |conn| list(conn, &filter, &scope)).await
    }

    async fn add_attachment(&self, upload: Upload) -> StoreResult<Attachment> {
        self.db.write(move |conn| add_attachment(conn, upload)).await
    }

    async fn attachments(&self, request_id: RequestId) -> StoreResult<Vec<Attachment>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE request_id = ?1 ORDER BY id"
                    ))
                    .map_err(db_err)?;
                let all = stmt.query_map([request_id], attachment).map_err(db_err)?.collect::<Result<_, _>>();
                all.map_err(db_err)
            })
            .await
    }

    async fn deadline_candidates(&self, until: Instant, limit: u32) -> StoreResult<Vec<Request>> {
        self.db.read(move |conn| deadline_candidates(conn, until, limit)).await
    }

    async fn attachment_content(
        &self,
        request_id: RequestId,
        id: AttachmentId,
    ) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
        self.db
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {ATTACHMENT_COLUMNS}, content FROM attachments WHERE request_id = ?1 AND id = ?2"),
                    [request_id, id],
                    |row| Ok((attachment(row)?, row.get::<_, Vec<u8>>("content")?)),
                )
                .optional()
                .map_err(db_err)
            })
            .await
    }
}

enum Key {
    Id(RequestId),
    Tracking(String),
}

/// Appends the scope rule (see `Scope::permits`) as SQL on alias `r`.
fn scope_sql(scope: &Scope, params: &mut Vec<Value>) -> String {
    match scope {
        Scope::All => "1 = 1".into(),
        Scope::Nothing => "0 = 1".into(),
        Scope::Units { units, town } => {
            let marks = vec!["?"; units.len()].join(", ");
            params.extend(units.iter().map(|&u| Value::Integer(u)));
            let mut sql = format!(
                "(EXISTS (SELECT 1 FROM request_units ru WHERE ru.request_id = r.id AND ru.unit_id IN ({marks}))"
            );
            if let Some(town) = town {
                params.push(Value::Integer(*town));
                sql.push_str(" OR r.town_id = ?");
            }
            sql.push(')');
            sql
        }
        Scope::Asker { user_id, credit_code } => {
            params.push(Value::Integer(*user_id));
            match credit_code {
                Some(code) => {
                    params.push(Value::Text(code.clone()));
                    "(r.submitted_by = ? OR r.credit_code = ?)".into()
                }
                None => "r.submitted_by = ?".into(),
            }
        }
    }
}

fn load(conn: &Connection, key: &Key, scope: &Scope) -> StoreResult<Option<Request>> {
    let mut params = Vec::new();
    let key_sql = match key {
        Key::Id(id) => {
            params.push(Value::Integer(*id));
            "r.id = ?"
        }
        Key::Tracking(no) => {
            params.push(Value::Text(no.clone()));
            "r.tracking_no = ?"
        }
    };
    let scope = scope_sql(scope, &mut params);
    let sql = format!("SELECT {} FROM requests r WHERE {key_sql} AND {scope}", rows::REQUEST_COLUMNS);
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    stmt.query_row(params_from_iter(params), rows::request).optional().map_err(db_err)
}

fn history(conn: &Connection, request_id: RequestId) -> StoreResult<Vec<Event>> {
    let sql = format!("SELECT {} FROM events WHERE request_id = ?1 ORDER BY seq", rows::EVENT_COLUMNS);
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let events = stmt.query_map([request_id], rows::event).map_err(db_err)?.collect::<Result<_, _>>();
    events.map_err(db_err)
}

fn intake(conn: &Connection, prefix: &str, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request> {
    check_category(conn, new.category_id)?;
    if let Some(town) = new.location.town_id {
        check_town(conn, town)?;
    }
    let tracking_no = next_tracking_no(conn, prefix, meta)?;
    let (credit_code, enterprise_name) = match &new.asker {
        Asker::Enterprise { credit_code, name } => (Some(credit_code.as_str().to_owned()), Some(name.clone())),
        Asker::Resident => (None, None),
    };
    let asker_type = if new.asker.is_enterprise() { "enterprise" } else { "resident" };
    let point = new.location.point;
    conn.execute(
        "INSERT INTO requests (tracking_no, check_code, kind, urgency, channel, asker_type, credit_code, enterprise_name,
            contact_name, contact_phone, title, content, category_id, town_id, address, lat, lon, state, due_at,
            ledger_ref, submitted_by, received_at, updated_at, version, contact_due_at, stage_due_at, time_limits,
            contact_email)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?22, 1,
            ?23, ?24, ?25, ?26)",
        params![
            tracking_no,
            new.check_code,
            new.kind.as_str(),
            new.urgency.as_str(),
            new.channel.as_str(),
            asker_type,
            credit_code,
            enterprise_name,
            new.contact.name,
            new.contact.phone.as_str(),
            new.title,
            new.content,
            new.category_id,
            new.location.town_id,
            new.location.address,
            point.map(|p| p.lat),
            point.map(|p| p.lon),
            State::Received.as_str(),
            opt_ts(new.due_at.as_ref()),
            new.ledger_ref,
            new.submitted_by,
            ts(&meta.now),
            opt_ts(new.deadlines.contact.as_ref()),
            opt_ts(new.deadlines.stage_reply.as_ref()),
            rows::to_json(new.time_limits.as_ref()),
            new.contact.email,
        ],
    )
    .map_err(db_err)?;
    let id = conn.last_insert_rowid();
    let draft = backend::received_event(&new);
    insert_event(conn, id, &draft, actor, meta, &[])?;
    let request =
        load(conn, &Key::Id(id), &Scope::All)?.ok_or_else(|| StoreError::backend("inserted request vanished"))?;
    crate::dashboard::on_change(conn, None, &request)?;
    Ok(request)
}

/// `ZS` + the receiving day (Asia/Shanghai) + a daily sequence of at least six digits.
fn next_tracking_no(conn: &Connection, prefix: &str, meta: &Meta) -> StoreResult<String> {
    let day = backend::tracking_day(&meta.now);
    let seq: i64 = conn
        .query_row(
            "INSERT INTO tracking_counters (day, last) VALUES (?1, 1)
             ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
            [&day],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    Ok(backend::tracking_no(prefix, &day, seq))
}

fn check_category(conn: &Connection, id: i64) -> StoreResult<()> {
    let ok: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM categories WHERE id = ?1 AND active = 1)", [id], |r| r.get(0))
        .map_err(db_err)?;
    if ok { Ok(()) } else { Err(backend::unknown_category(id)) }
}

fn check_town(conn: &Connection, id: UnitId) -> StoreResult<()> {
    let ok: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM units WHERE id = ?1 AND kind = 'town' AND active = 1)", [id], |r| {
            r.get(0)
        })
        .map_err(db_err)?;
    if ok { Ok(()) } else { Err(backend::unknown_town(id)) }
}

fn check_handling_units(conn: &Connection, units: impl IntoIterator<Item = UnitId>) -> StoreResult<()> {
    for id in units {
        let ok: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM units WHERE id = ?1 AND kind <> 'city' AND active = 1)",
                [id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if !ok {
            return Err(backend::unknown_handling_unit(id));
        }
    }
    Ok(())
}

fn act(conn: &Connection, command: Command) -> StoreResult<Request> {
    let current = load(conn, &Key::Tracking(command.tracking_no.clone()), &command.scope)?
        .ok_or_else(StoreError::request_not_found)?;
    if let Action::Dispatch { lead, co, .. } | Action::Redispatch { lead, co, .. } = &command.action {
        check_handling_units(conn, std::iter::once(*lead).chain(co.iter().copied()))?;
    }
    let parent = match &command.action {
        Action::Merge { parent_id } => load(conn, &Key::Id(*parent_id), &command.scope)?,
        _ => None,
    };
    check_attachments(conn, current.id, &command.attachment_ids)?;
    if let Action::Notice { notice } = &command.action {
        record_notice(conn, current.id, notice, &command.meta)?;
    }
    let ctx = Context { now: command.meta.now, merge_parent: parent.as_ref(), calendar: command.calendar.as_deref() };
    let outcome = lifecycle::apply(&current, &command.actor, &command.action, &ctx)?;
    save(conn, &current, &outcome.request)?;
    insert_event(conn, current.id, &outcome.event, &command.actor, &command.meta, &command.attachment_ids)?;
    if let (Some(parent), Some(draft)) = (parent, outcome.parent_event) {
        touch(conn, parent.id, &command.meta)?;
        insert_event(conn, parent.id, &draft, &command.actor, &command.meta, &[])?;
    }
    Ok(outcome.request)
}

/// Writes the changed request if nobody changed it meanwhile (optimistic lock).
fn save(conn: &Connection, before: &Request, after: &Request) -> StoreResult<()> {
    let ext = after.pending_extension.as_ref();
    let co = serde_json::to_string(&after.co_unit_ids).map_err(StoreError::backend)?;
    let n = conn
        .execute(
            "UPDATE requests SET state = ?3, lead_unit_id = ?4, co_unit_ids = ?5, ext_requested_due = ?6, ext_reason = ?7,
                ext_requested_at = ?8, merged_into = ?9, rating = ?10, resolved = ?11, reopen_count = ?12,
                return_count = ?13, extension_count = ?14, due_at = ?15, updated_at = ?16, closed_at = ?17, version = ?18,
                sign_due_at = ?19, contact_due_at = ?20, stage_due_at = ?21, suspended_at = ?22, supervision = ?23
             WHERE id = ?1 AND version = ?2",
            params![
                after.id,
                before.version,
                after.state.as_str(),
                after.lead_unit_id,
                co,
                opt_ts(ext.map(|e| &e.requested_due)),
                ext.map(|e| e.reason.clone()),
                opt_ts(ext.map(|e| &e.requested_at)),
                after.merged_into,
                after.rating.map(|r| r.as_str()),
                after.resolved,
                after.reopen_count,
                after.return_count,
                after.extension_count,
                opt_ts(after.due_at.as_ref()),
                ts(&after.updated_at),
                opt_ts(after.closed_at.as_ref()),
                after.version,
                opt_ts(after.deadlines.sign_for.as_ref()),
                opt_ts(after.deadlines.contact.as_ref()),
                opt_ts(after.deadlines.stage_reply.as_ref()),
                opt_ts(after.suspended_at.as_ref()),
                rows::to_json(after.supervision.as_ref()),
            ],
        )
        .map_err(db_err)?;
    if n != 1 {
        return Err(backend::concurrent_update());
    }
    crate::dashboard::on_change(conn, Some(before), after)?;
    if before.lead_unit_id != after.lead_unit_id || before.co_unit_ids != after.co_unit_ids {
        conn.execute("DELETE FROM request_units WHERE request_id = ?1", [after.id]).map_err(db_err)?;
        let mut insert = conn
            .prepare_cached("INSERT OR IGNORE INTO request_units (request_id, unit_id, role) VALUES (?1, ?2, ?3)")
            .map_err(db_err)?;
        if let Some(lead) = after.lead_unit_id {
            insert.execute(params![after.id, lead, "lead"]).map_err(db_err)?;
        }
        for co in &after.co_unit_ids {
            insert.execute(params![after.id, co, "co"]).map_err(db_err)?;
        }
    }
    Ok(())
}

/// Bumps a request's version when an event is recorded on it without a state change.
fn touch(conn: &Connection, id: RequestId, meta: &Meta) -> StoreResult<()> {
    conn.execute(
        "UPDATE requests SET version = version + 1, updated_at = ?2 WHERE id = ?1",
        params![id, ts(&meta.now)],
    )
    .map_err(db_err)?;
    Ok(())
}

fn insert_event(
    conn: &Connection,
    request_id: RequestId,
    draft: &EventDraft,
    actor: &Actor,
    meta: &Meta,
    attachment_ids: &[AttachmentId],
) -> StoreResult<i64> {
    let attachments = serde_json::to_string(attachment_ids).map_err(StoreError::backend)?;
    conn.prepare_cached(
        "INSERT INTO events (request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id, client_ip,
            from_state, to_state, comment, details, attachment_ids, due_at)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE request_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8,
            ?9, ?10, ?11, ?12, ?13, ?14)",
    )
    .map_err(db_err)?
    .execute(params![
        request_id,
        ts(&meta.now),
        draft.kind.as_str(),
        actor.user_id(),
        actor.name(),
        actor.role_str(),
        actor.unit_id(),
        meta.client_ip,
        draft.from_state.map(|s| s.as_str()),
        draft.to_state.as_str(),
        draft.comment,
        draft.details.to_json(),
        attachments,
        opt_ts(draft.due_at.as_ref()),
    ])
    .map_err(db_err)?;
    let id = conn.last_insert_rowid();
    crate::scoring::on_event(conn, request_id, draft, meta)?;
    crate::outbox::on_event(conn, id, request_id, draft, meta)?;
    Ok(id)
}

fn check_attachments(conn: &Connection, request_id: RequestId, ids: &[AttachmentId]) -> StoreResult<()> {
    for id in ids {
        let ok: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM attachments WHERE id = ?1 AND request_id = ?2)",
                [*id, request_id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if !ok {
            return Err(backend::unknown_attachment(*id));
        }
    }
    Ok(())
}

fn list(conn: &Connection, f: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
    let mut params: Vec<Value> = Vec::new();
    let mut clauses = vec![scope_sql(scope, &mut params)];
    // A work queue is the open work unless states are asked for.
    let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
    let states = if f.states.is_empty() && f.order == ListOrder::Deadline { &open } else { &f.states };
    if !states.is_empty() {
        clauses.push(format!("r.state IN ({})", vec!["?"; states.len()].join(", ")));
        params.extend(states.iter().map(|s| Value::Text(s.as_str().into())));
    }
    let mut eq = |column: &str, value: Option<Value>| {
        if let Some(value) = value {
            clauses.push(format!("{column} = ?"));
            params.push(value);
        }
    };
    eq("r.kind", f.kind.map(|k| Value::Text(k.as_str().into())));
    eq("r.channel", f.channel.map(|c| Value::Text(c.as_str().into())));
    eq("r.town_id", f.town_id.map(Value::Integer));
    eq("r.category_id", f.category_id.map(Value::Integer));
    eq("r.credit_code", f.credit_code.clone().map(Value::Text));
    eq("r.contact_phone", f.contact_phone.clone().map(Value::Text));
    if !f.exclude_kinds.is_empty() {
        clauses.push(format!("r.kind NOT IN ({})", vec!["?"; f.exclude_kinds.len()].join(", ")));
        params.extend(f.exclude_kinds.iter().map(|k| Value::Text(k.as_str().into())));
    }
    if let Some(unit) = f.unit_id {
        clauses.push("EXISTS (SELECT 1 FROM request_units fu WHERE fu.request_id = r.id AND fu.unit_id = ?)".into());
        params.push(Value::Integer(unit));
    }
    if let Some(unit) = f.lead_unit_id {
        clauses.push("r.lead_unit_id = ?".into());
        params.push(Value::Integer(unit));
    }
    if f.without_lead_unit {
        clauses.push("r.lead_unit_id IS NULL".into());
    }
    if f.without_town {
        clauses.push("r.town_id IS NULL".into());
    }
    if let Some(from) = &f.due_from {
        clauses.push("r.due_at >= ?".into());
        params.push(Value::Text(ts(from)));
    }
    if let Some(from) = &f.closed_from {
        clauses.push("r.closed_at >= ?".into());
        params.push(Value::Text(ts(from)));
    }
    if let Some(to) = &f.closed_to {
        clauses.push("r.closed_at < ?".into());
        params.push(Value::Text(ts(to)));
    }
    if let Some(from) = &f.received_from {
        clauses.push("r.received_at >= ?".into());
        params.push(Value::Text(ts(from)));
    }
    if let Some(to) = &f.received_to {
        clauses.push("r.received_at < ?".into());
        params.push(Value::Text(ts(to)));
    }
    if let Some(at) = &f.overdue_at {
        let open: Vec<String> =
            State::ALL.iter().filter(|s| s.is_open()).map(|s| format!("'{}'", s.as_str())).collect();
        clauses.push(format!("r.due_at < ? AND r.state IN ({})", open.join(", ")));
        params.push(Value::Text(ts(at)));
    }
    if f.supervised {
        clauses.push("r.supervision IS NOT NULL".into());
    }
    if f.pending_extension {
        clauses.push("r.ext_requested_due IS NOT NULL".into());
    }
    if f.unhappy_follow_up {
        let unhappy: Vec<String> =
            Rating::ALL.iter().filter(|r| r.is_dissatisfied()).map(|r| format!("'{}'", r.as_str())).collect();
        clauses.push(format!("r.state = 'followed_up' AND (r.rating IN ({}) OR r.resolved = 0)", unhappy.join(", ")));
    }
    if !f.category_ids.is_empty() {
        clauses.push(format!("r.category_id IN ({})", vec!["?"; f.category_ids.len()].join(", ")));
        params.extend(f.category_ids.iter().map(|&c| Value::Integer(c)));
    }
    if let Some(after) = &f.updated_after {
        clauses.push("r.updated_at > ?".into());
        params.push(Value::Text(ts(after)));
    }
    if let Some(before) = &f.updated_before {
        clauses.push("r.updated_at < ?".into());
        params.push(Value::Text(ts(before)));
    }
    if let Some(before) = f.before_id {
        clauses.push("r.id < ?".into());
        params.push(Value::Integer(before));
    }
    let limit = f.limit.clamp(1, 500);
    params.push(Value::Integer(i64::from(limit) + 1));
    params.push(Value::Integer(i64::from(f.offset)));
    let order = match f.order {
        ListOrder::Newest => "r.id DESC",
        // The running deadline: sign-for while dispatched, else the reply deadline.
        // Running deadlines first (supervised ones on top), then suspended work, then the rest.
        ListOrder::Deadline => {
            "(r.supervision IS NULL OR r.state NOT IN ('received', 'dispatched', 'returned', 'signed_for', \
                'in_progress', 'suspended', 'replied')), \
             CASE WHEN r.state = 'dispatched' \
                    THEN COALESCE(MIN(COALESCE(r.sign_due_at, r.due_at), COALESCE(r.due_at, r.sign_due_at)), '9997') \
                  WHEN r.state IN ('received', 'returned', 'signed_for', 'in_progress') THEN COALESCE(r.due_at, '9997') \
                  WHEN r.state IN ('suspended', 'replied') THEN '9998' \
                  ELSE '9999' END ASC, r.id ASC"
        }
    };
    let sql = format!(
        "SELECT {} FROM requests r WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
        rows::REQUEST_COLUMNS,
        clauses.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut items: Vec<Request> = stmt
        .query_map(params_from_iter(params), rows::request)
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let next_cursor = if items.len() > limit as usize && f.order == ListOrder::Deadline {
        items.truncate(limit as usize);
        None
    } else if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

const ATTACHMENT_COLUMNS: &str = "id, request_id, file_name, content_type, size, sha256, uploaded_at, uploaded_by";

fn attachment(row: &rusqlite::Row<'_>) -> rusqlite::Result<Attachment> {
    let at: String = row.get("uploaded_at")?;
    Ok(Attachment {
        id: row.get("id")?,
        request_id: row.get("request_id")?,
        file_name: row.get("file_name")?,
        content_type: row.get("content_type")?,
        size: row.get("size")?,
        sha256: row.get("sha256")?,
        uploaded_at: mashangban_domain::time::parse_instant(&at)
            .ok_or(rusqlite::Error::InvalidColumnName("uploaded_at".into()))?,
        uploaded_by: row.get("uploaded_by")?,
    })
}

fn add_attachment(conn: &Connection, upload: Upload) -> StoreResult<Attachment> {
    let request = load(conn, &Key::Tracking(upload.tracking_no.clone()), &upload.scope)?
        .ok_or_else(StoreError::request_not_found)?;
    lifecycle::check_attachment(&request, &upload.actor)?;
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM attachments WHERE request_id = ?1", [request.id], |r| r.get(0))
        .map_err(db_err)?;
    if count >= MAX_ATTACHMENTS {
        return Err(backend::too_many_attachments());
    }
    let file = &upload.file;
    conn.execute(
        "INSERT INTO attachments (request_id, file_name, content_type, size, sha256, content, uploaded_at, uploaded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            request.id,
            file.file_name,
            file.content_type,
            file.bytes.len() as i64,
            file.sha256,
            file.bytes,
            ts(&upload.meta.now),
            upload.actor.user_id()
        ],
    )
    .map_err(db_err)?;
    let id = conn.last_insert_rowid();
    touch(conn, request.id, &upload.meta)?;
    let draft = backend::attachment_added_event(&request, file);
    insert_event(conn, request.id, &draft, &upload.actor, &upload.meta, &[id])?;
    conn.query_row(&format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = ?1"), [id], attachment)
        .map_err(db_err)
}

/// Records a scheduler notice once: a second identical notice is refused,
/// so a rescan after a restart sends nothing twice.
fn record_notice(
    conn: &Connection,
    request_id: RequestId,
    notice: &mashangban_domain::lifecycle::DeadlineNotice,
    meta: &Meta,
) -> StoreResult<()> {
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO deadline_notices (request_id, deadline, level, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![request_id, notice.deadline.as_str(), notice.level.as_str(), ts(&notice.due), ts(&meta.now)],
        )
        .map_err(db_err)?;
    if inserted == 0 {
        return Err(backend::notice_already_sent());
    }
    Ok(())
}

fn deadline_candidates(conn: &Connection, until: Instant, limit: u32) -> StoreResult<Vec<Request>> {
    let sql = format!(
        "SELECT {} FROM requests r WHERE (r.state = 'dispatched' AND r.sign_due_at <= ?1)
            OR (r.state IN ('received', 'dispatched', 'returned', 'signed_for', 'in_progress') AND r.due_at <= ?1)
         ORDER BY MIN(COALESCE(r.sign_due_at, r.due_at), COALESCE(r.due_at, r.sign_due_at)), r.id LIMIT ?2",
        rows::REQUEST_COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let found = stmt.query_map(params![ts(&until), limit], rows::request).map_err(db_err)?.collect::<Result<_, _>>();
    found.map_err(db_err)
}
