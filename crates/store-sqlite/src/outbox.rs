//! The outbox (通知发件箱): notices written in the transaction of the event
//! that causes them. `mashangban_store::backend::deliveries` addresses and
//! renders them; this reads what they depend on and inserts one row per delivery.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::notify::{self, EventFacts, NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{Request, RequestId};
use mashangban_store::backend::deliveries::{Delivery, NoticeData, deliveries, units_needed};
use mashangban_store::{Meta, StoreResult};

use crate::rows::{self, db_err, ts};

/// Called in the same transaction as every event written, after it is inserted.
pub fn on_event(
    conn: &Connection,
    event_id: i64,
    request_id: RequestId,
    draft: &EventDraft,
    meta: &Meta,
) -> StoreResult<()> {
    let Some(link_base) = link_base(conn)? else {
        return Ok(());
    };
    let Some(request) = load_request(conn, request_id)? else {
        return Ok(());
    };
    let facts = EventFacts {
        kind: draft.kind,
        comment: draft.comment.as_deref(),
        details: &draft.details,
        due_at: draft.due_at,
    };
    let plans = notify::plan(&request, &facts);
    let needed = units_needed(&request, &plans);
    let data = NoticeData {
        unit_names: unit_names(conn, &needed.named)?,
        unit_emails: unit_emails(conn, &needed.emailed)?,
        templates: templates(conn)?,
        webhooks: webhooks(conn)?,
    };
    for delivery in deliveries(&request, event_id, &facts, &meta.now, &link_base, &plans, &data) {
        insert(conn, event_id, request_id, &delivery, meta)?;
    }
    Ok(())
}

/// The public address for links, once notifications are enabled on this database.
fn link_base(conn: &Connection) -> StoreResult<Option<String>> {
    conn.prepare_cached("SELECT link_base FROM notification_settings WHERE id = 1")
        .map_err(db_err)?
        .query_row([], |r| r.get(0))
        .optional()
        .map_err(db_err)
}

fn load_request(conn: &Connection, id: RequestId) -> StoreResult<Option<Request>> {
    let sql = format!("SELECT {} FROM requests r WHERE r.id = ?1", rows::REQUEST_COLUMNS);
    conn.prepare_cached(&sql).map_err(db_err)?.query_row([id], rows::request).optional().map_err(db_err)
}

fn unit_names(conn: &Connection, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, String>> {
    let mut stmt = conn.prepare_cached("SELECT COALESCE(short_name, name) FROM units WHERE id = ?1").map_err(db_err)?;
    let mut names = HashMap::new();
    for &unit in units {
        if let Some(name) = stmt.query_row([unit], |r| r.get(0)).optional().map_err(db_err)? {
            names.insert(unit, name);
        }
    }
    Ok(names)
}

fn unit_emails(conn: &Connection, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, Vec<String>>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT email FROM users WHERE unit_id = ?1 AND disabled = 0 AND email IS NOT NULL AND email <> ''
             ORDER BY email",
        )
        .map_err(db_err)?;
    let mut emails = HashMap::new();
    for &unit in units {
        let found = stmt.query_map([unit], |r| r.get(0)).map_err(db_err)?.collect::<Result<Vec<String>, _>>();
        emails.insert(unit, found.map_err(db_err)?);
    }
    Ok(emails)
}

/// The stored templates of keys and channels this version knows.
fn templates(conn: &Connection) -> StoreResult<HashMap<(TemplateKey, NoticeChannel), Template>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, channel, subject, body FROM notification_templates").map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, Template { subject: r.get(2)?, body: r.get(3)? }))
        })
        .map_err(db_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, channel, t)| Some(((TemplateKey::parse(&key)?, NoticeChannel::parse(&channel)?), t)))
        .collect())
}

/// The active webhooks with their event filters, by id.
fn webhooks(conn: &Connection) -> StoreResult<Vec<(i64, Vec<String>)>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, events FROM webhooks WHERE active = 1 ORDER BY id").map_err(db_err)?;
    let hooks: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(hooks.into_iter().map(|(id, events)| (id, serde_json::from_str(&events).unwrap_or_default())).collect())
}

fn insert(conn: &Connection, event_id: i64, request_id: RequestId, d: &Delivery, meta: &Meta) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status,
            attempts, next_attempt_at, created_at, event_id, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?8, ?9)",
    )
    .map_err(db_err)?
    .execute(params![
        d.idempotency_key,
        d.channel.as_str(),
        d.recipient,
        d.template_key,
        d.subject,
        d.body,
        ts(&meta.now),
        event_id,
        request_id
    ])
    .map_err(db_err)?;
    Ok(())
}
