//! The outbox (通知发件箱): notices written in the transaction of the event
//! that causes them. `mashangban_store::backend::deliveries` addresses and
//! renders them; this reads what they depend on and inserts one row per delivery.

use std::collections::{BTreeSet, HashMap};

use deadpool_postgres::GenericClient;

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::notify::{self, EventFacts, NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::RequestId;
use mashangban_store::backend::deliveries::{Delivery, NoticeData, deliveries, units_needed};
use mashangban_store::{Meta, StoreResult};

use crate::db::{execute, query, query_opt};
use crate::rows::{self, get, ts};

/// Called in the same transaction as every event written, after it is inserted.
pub async fn on_event(
    c: &impl GenericClient,
    event_id: i64,
    request_id: RequestId,
    draft: &EventDraft,
    meta: &Meta,
) -> StoreResult<()> {
    let Some(link_base) = link_base(c).await? else {
        return Ok(());
    };
    let sql = format!("SELECT {} FROM requests r WHERE r.id = $1", rows::REQUEST_COLUMNS);
    let Some(request) = query_opt(c, &sql, &[&request_id]).await?.map(|r| rows::request(&r)).transpose()? else {
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
        unit_names: unit_names(c, &needed.named).await?,
        unit_emails: unit_emails(c, &needed.emailed).await?,
        templates: templates(c).await?,
        webhooks: webhooks(c).await?,
    };
    for delivery in deliveries(&request, event_id, &facts, &meta.now, &link_base, &plans, &data) {
        insert(c, event_id, request_id, &delivery, meta).await?;
    }
    Ok(())
}

/// The public address for links, once notifications are enabled on this database.
async fn link_base(c: &impl GenericClient) -> StoreResult<Option<String>> {
    let row = query_opt(c, "SELECT link_base FROM notification_settings WHERE id = 1", &[]).await?;
    row.map(|r| get(&r, "link_base")).transpose()
}

async fn unit_names(c: &impl GenericClient, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, String>> {
    let mut names = HashMap::new();
    for &unit in units {
        let row = query_opt(c, "SELECT COALESCE(short_name, name) AS name FROM units WHERE id = $1", &[&unit]).await?;
        if let Some(row) = row {
            names.insert(unit, get(&row, "name")?);
        }
    }
    Ok(names)
}

async fn unit_emails(c: &impl GenericClient, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, Vec<String>>> {
    let mut emails = HashMap::new();
    for &unit in units {
        let rows = query(
            c,
            "SELECT DISTINCT email FROM users WHERE unit_id = $1 AND NOT disabled AND email IS NOT NULL AND email <> ''
             ORDER BY email",
            &[&unit],
        )
        .await?;
        emails.insert(unit, rows::all(&rows, |r| get(r, "email"))?);
    }
    Ok(emails)
}

/// The stored templates of keys and channels this version knows.
async fn templates(c: &impl GenericClient) -> StoreResult<HashMap<(TemplateKey, NoticeChannel), Template>> {
    let mut templates = HashMap::new();
    for row in query(c, "SELECT key, channel, subject, body FROM notification_templates", &[]).await? {
        let (key, channel): (String, String) = (get(&row, "key")?, get(&row, "channel")?);
        if let (Some(key), Some(channel)) = (TemplateKey::parse(&key), NoticeChannel::parse(&channel)) {
            templates.insert((key, channel), Template { subject: get(&row, "subject")?, body: get(&row, "body")? });
        }
    }
    Ok(templates)
}

/// The active webhooks with their event filters, by id.
async fn webhooks(c: &impl GenericClient) -> StoreResult<Vec<(i64, Vec<String>)>> {
    let rows = query(c, "SELECT id, events FROM webhooks WHERE active ORDER BY id", &[]).await?;
    rows::all(&rows, |row| {
        let events: String = get(row, "events")?;
        Ok((get(row, "id")?, serde_json::from_str(&events).unwrap_or_default()))
    })
}

async fn insert(
    c: &impl GenericClient,
    event_id: i64,
    request_id: RequestId,
    d: &Delivery,
    meta: &Meta,
) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status,
            attempts, next_attempt_at, created_at, event_id, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $8, $9)
         ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            &d.idempotency_key,
            &d.channel.as_str(),
            &d.recipient,
            &d.template_key,
            &d.subject,
            &d.body,
            &ts(&meta.now),
            &event_id,
            &request_id,
        ],
    )
    .await
    .map(drop)
}
