//! The outbox (通知发件箱): notices written in the transaction of the event
//! that causes them. `mashangban_domain::notify` decides what is sent to whom;
//! this addresses and renders each notice and inserts one row per delivery.

use rusqlite::{Connection, OptionalExtension, params};

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::notify::{self, Audience, EventFacts, NoticeChannel, Planned, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{Request, RequestId};
use mashangban_store::{Meta, StoreResult};

use crate::rows::{self, db_err, ts};

/// One delivery, addressed and rendered.
struct Delivery {
    channel: NoticeChannel,
    recipient: String,
    template_key: Option<&'static str>,
    subject: Option<String>,
    body: String,
}

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
    let facts = EventFacts {
        kind: draft.kind,
        comment: draft.comment.as_deref(),
        details: &draft.details,
        due_at: draft.due_at,
    };
    let Some((request, contact_email)) = load_request(conn, request_id)? else {
        return Ok(());
    };
    let link = notify::progress_link(&link_base, &request);
    let mut deliveries = Vec::new();
    for planned in notify::plan(&request, &facts) {
        address(conn, &planned, &request, &facts, contact_email.as_deref(), &link, &mut deliveries)?;
    }
    for hook in webhooks_for(conn, draft.kind)? {
        let payload = notify::webhook_payload(&request, event_id, &facts, &meta.now);
        deliveries.push(Delivery {
            channel: NoticeChannel::Webhook,
            recipient: hook.to_string(),
            template_key: None,
            subject: None,
            body: payload.to_string(),
        });
    }
    for delivery in deliveries {
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

fn load_request(conn: &Connection, id: RequestId) -> StoreResult<Option<(Request, Option<String>)>> {
    let sql = format!("SELECT {} FROM requests r WHERE r.id = ?1", rows::REQUEST_COLUMNS);
    let request = conn.prepare_cached(&sql).map_err(db_err)?.query_row([id], rows::request).optional().map_err(db_err)?;
    Ok(request.map(|r| {
        let email = r.contact.email.clone();
        (r, email)
    }))
}

/// Turns one planned notice into deliveries: the asker by SMS (mobile phones)
/// and e-mail; each unit's users with an e-mail address.
fn address(
    conn: &Connection,
    planned: &Planned,
    request: &Request,
    facts: &EventFacts<'_>,
    contact_email: Option<&str>,
    link: &str,
    out: &mut Vec<Delivery>,
) -> StoreResult<()> {
    match &planned.audience {
        Audience::Asker => {
            let lead = request.lead_unit_id.map(|u| unit_name(conn, u)).transpose()?.flatten();
            let vars = notify::variables(request, facts, lead.as_deref(), link);
            if request.contact.phone.is_mobile() {
                let to = request.contact.phone.as_str().to_owned();
                out.push(render(conn, planned.template, NoticeChannel::Sms, to, &vars)?);
            }
            if let Some(email) = contact_email {
                out.push(render(conn, planned.template, NoticeChannel::Email, email.to_owned(), &vars)?);
            }
        }
        Audience::Units(units) => {
            for &unit in units {
                let name = unit_name(conn, unit)?;
                let vars = notify::variables(request, facts, name.as_deref(), link);
                for email in unit_emails(conn, unit)? {
                    out.push(render(conn, planned.template, NoticeChannel::Email, email, &vars)?);
                }
            }
        }
    }
    Ok(())
}

fn render(
    conn: &Connection,
    key: TemplateKey,
    channel: NoticeChannel,
    recipient: String,
    vars: &notify::Vars,
) -> StoreResult<Delivery> {
    let template = template(conn, key, channel)?;
    Ok(Delivery {
        channel,
        recipient,
        template_key: Some(key.as_str()),
        subject: template.subject.map(|s| notify::render(&s, vars)),
        body: notify::render(&template.body, vars),
    })
}

/// The stored template for a key and channel, else the built-in one.
fn template(conn: &Connection, key: TemplateKey, channel: NoticeChannel) -> StoreResult<Template> {
    let stored = conn
        .prepare_cached("SELECT subject, body FROM notification_templates WHERE key = ?1 AND channel = ?2")
        .map_err(db_err)?
        .query_row([key.as_str(), channel.as_str()], |r| Ok(Template { subject: r.get(0)?, body: r.get(1)? }))
        .optional()
        .map_err(db_err)?;
    Ok(stored.or_else(|| notify::default_template(key, channel)).unwrap_or(Template { subject: None, body: String::new() }))
}

fn unit_name(conn: &Connection, unit: UnitId) -> StoreResult<Option<String>> {
    conn.prepare_cached("SELECT COALESCE(short_name, name) FROM units WHERE id = ?1")
        .map_err(db_err)?
        .query_row([unit], |r| r.get(0))
        .optional()
        .map_err(db_err)
}

fn unit_emails(conn: &Connection, unit: UnitId) -> StoreResult<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT email FROM users WHERE unit_id = ?1 AND disabled = 0 AND email IS NOT NULL AND email <> ''
             ORDER BY email",
        )
        .map_err(db_err)?;
    let emails = stmt.query_map([unit], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>();
    emails.map_err(db_err)
}

/// Ids of the active webhooks whose filter wants this event kind.
fn webhooks_for(conn: &Connection, kind: mashangban_domain::request::EventKind) -> StoreResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT id, events FROM webhooks WHERE active = 1 ORDER BY id").map_err(db_err)?;
    let hooks: Vec<(i64, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
    let wanted = hooks.into_iter().filter(|(_, events)| {
        let filter: Vec<String> = serde_json::from_str(events).unwrap_or_default();
        notify::webhook_wants(&filter, kind)
    });
    Ok(wanted.map(|(id, _)| id).collect())
}

fn insert(conn: &Connection, event_id: i64, request_id: RequestId, d: &Delivery, meta: &Meta) -> StoreResult<()> {
    let key = notify::idempotency_key(event_id, d.channel, &d.recipient);
    conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status,
            attempts, next_attempt_at, created_at, event_id, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?8, ?9)",
    )
    .map_err(db_err)?
    .execute(params![
        key,
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
