//! The outbox (通知发件箱): notices written in the transaction of the event
//! that causes them. `mashangban_domain::notify` decides what is sent to whom;
//! this addresses and renders each notice and inserts one row per delivery.

use deadpool_postgres::GenericClient;

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::notify::{self, Audience, EventFacts, NoticeChannel, Planned, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::{EventKind, Request, RequestId};
use mashangban_store::{Meta, StoreResult};

use crate::db::{execute, query, query_opt};
use crate::rows::{self, get, ts};

/// One delivery, addressed and rendered.
struct Delivery {
    channel: NoticeChannel,
    recipient: String,
    template_key: Option<&'static str>,
    subject: Option<String>,
    body: String,
}

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
    let facts =
        EventFacts { kind: draft.kind, comment: draft.comment.as_deref(), details: &draft.details, due_at: draft.due_at };
    let sql = format!("SELECT {} FROM requests r WHERE r.id = $1", rows::REQUEST_COLUMNS);
    let Some(request) = query_opt(c, &sql, &[&request_id]).await?.map(|r| rows::request(&r)).transpose()? else {
        return Ok(());
    };
    let link = notify::progress_link(&link_base, &request);
    let mut deliveries = Vec::new();
    for planned in notify::plan(&request, &facts) {
        address(c, &planned, &request, &facts, &link, &mut deliveries).await?;
    }
    for hook in webhooks_for(c, draft.kind).await? {
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
        insert(c, event_id, request_id, &delivery, meta).await?;
    }
    Ok(())
}

/// The public address for links, once notifications are enabled on this database.
async fn link_base(c: &impl GenericClient) -> StoreResult<Option<String>> {
    let row = query_opt(c, "SELECT link_base FROM notification_settings WHERE id = 1", &[]).await?;
    row.map(|r| get(&r, "link_base")).transpose()
}

/// Turns one planned notice into deliveries: the asker by SMS (mobile phones)
/// and e-mail; each unit's users with an e-mail address.
async fn address(
    c: &impl GenericClient,
    planned: &Planned,
    request: &Request,
    facts: &EventFacts<'_>,
    link: &str,
    out: &mut Vec<Delivery>,
) -> StoreResult<()> {
    match &planned.audience {
        Audience::Asker => {
            let lead = match request.lead_unit_id {
                Some(unit) => unit_name(c, unit).await?,
                None => None,
            };
            let vars = notify::variables(request, facts, lead.as_deref(), link);
            if request.contact.phone.is_mobile() {
                let to = request.contact.phone.as_str().to_owned();
                out.push(render(c, planned.template, NoticeChannel::Sms, to, &vars).await?);
            }
            if let Some(email) = &request.contact.email {
                out.push(render(c, planned.template, NoticeChannel::Email, email.clone(), &vars).await?);
            }
        }
        Audience::Units(units) => {
            for &unit in units {
                let name = unit_name(c, unit).await?;
                let vars = notify::variables(request, facts, name.as_deref(), link);
                for email in unit_emails(c, unit).await? {
                    out.push(render(c, planned.template, NoticeChannel::Email, email, &vars).await?);
                }
            }
        }
    }
    Ok(())
}

async fn render(
    c: &impl GenericClient,
    key: TemplateKey,
    channel: NoticeChannel,
    recipient: String,
    vars: &notify::Vars,
) -> StoreResult<Delivery> {
    let template = template(c, key, channel).await?;
    Ok(Delivery {
        channel,
        recipient,
        template_key: Some(key.as_str()),
        subject: template.subject.map(|s| notify::render(&s, vars)),
        body: notify::render(&template.body, vars),
    })
}

/// The stored template for a key and channel, else the built-in one.
async fn template(c: &impl GenericClient, key: TemplateKey, channel: NoticeChannel) -> StoreResult<Template> {
    let row = query_opt(
        c,
        "SELECT subject, body FROM notification_templates WHERE key = $1 AND channel = $2",
        &[&key.as_str(), &channel.as_str()],
    )
    .await?;
    let stored = row.map(|r| Ok::<_, mashangban_store::StoreError>(Template { subject: get(&r, "subject")?, body: get(&r, "body")? }));
    Ok(stored
        .transpose()?
        .or_else(|| notify::default_template(key, channel))
        .unwrap_or(Template { subject: None, body: String::new() }))
}

async fn unit_name(c: &impl GenericClient, unit: UnitId) -> StoreResult<Option<String>> {
    let row = query_opt(c, "SELECT COALESCE(short_name, name) AS name FROM units WHERE id = $1", &[&unit]).await?;
    row.map(|r| get(&r, "name")).transpose()
}

async fn unit_emails(c: &impl GenericClient, unit: UnitId) -> StoreResult<Vec<String>> {
    let rows = query(
        c,
        "SELECT DISTINCT email FROM users WHERE unit_id = $1 AND NOT disabled AND email IS NOT NULL AND email <> ''
         ORDER BY email",
        &[&unit],
    )
    .await?;
    rows::all(&rows, |r| get(r, "email"))
}

/// Ids of the active webhooks whose filter wants this event kind.
async fn webhooks_for(c: &impl GenericClient, kind: EventKind) -> StoreResult<Vec<i64>> {
    let rows = query(c, "SELECT id, events FROM webhooks WHERE active ORDER BY id", &[]).await?;
    let mut wanted = Vec::new();
    for row in rows {
        let events: String = get(&row, "events")?;
        let filter: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if notify::webhook_wants(&filter, kind) {
            wanted.push(get(&row, "id")?);
        }
    }
    Ok(wanted)
}

async fn insert(c: &impl GenericClient, event_id: i64, request_id: RequestId, d: &Delivery, meta: &Meta) -> StoreResult<()> {
    let key = notify::idempotency_key(event_id, d.channel, &d.recipient);
    execute(
        c,
        "INSERT INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status,
            attempts, next_attempt_at, created_at, event_id, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $8, $9)
         ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            &key,
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
