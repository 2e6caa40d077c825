//! The outbox (通知发件箱): notices written in the transaction of the event
//! that causes them. `mashangban_store::backend::deliveries` addresses and
//! renders them; this reads what they depend on and inserts one row per
//! delivery. Delivery workers on any node claim and send them later.

use std::collections::{BTreeSet, HashMap};

use mashangban_domain::lifecycle::EventDraft;
use mashangban_domain::notify::{self, EventFacts, NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::UnitId;
use mashangban_domain::request::Request;
use mashangban_domain::time::Instant;
use mashangban_domain::validation::Phone;
use mashangban_store::backend::deliveries::{Delivery, NoticeData, deliveries, units_needed};
use mashangban_store::{Meta, StoreResult};

use crate::sql::Conn;
use crate::{args, personal_data};

/// Called in the same transaction as every event written, after it is
/// inserted, with the request as the event leaves it.
pub async fn on_event(
    c: &dyn Conn,
    event_id: i64,
    request: &Request,
    draft: &EventDraft,
    meta: &Meta,
) -> StoreResult<()> {
    let Some(link_base) = link_base(c).await? else {
        return Ok(());
    };
    let facts = EventFacts {
        kind: draft.kind,
        comment: draft.comment.as_deref(),
        details: &draft.details,
        due_at: draft.due_at,
    };
    let plans = notify::plan(request, &facts);
    let needed = units_needed(request, &plans);
    let data = NoticeData {
        unit_names: unit_names(c, &needed.named).await?,
        unit_emails: unit_emails(c, &needed.emailed).await?,
        templates: templates(c).await?,
        webhooks: webhooks(c).await?,
        liaison_emails: match request.asker.credit_code() {
            Some(code) if plans.iter().any(|p| p.audience == notify::Audience::Liaisons) => {
                liaison_emails(c, code).await?
            }
            _ => Vec::new(),
        },
        keys: c.personal_data().cloned(),
    };
    for delivery in deliveries(request, event_id, &facts, &meta.now, &link_base, &plans, &data) {
        insert(c, event_id, request, &delivery, meta).await?;
    }
    Ok(())
}

/// A notice no request event causes (a password-reset code, an on-site decision told to the enterprise,
/// a direct-line answer told to the asker): one outbox row under its own idempotency key.
pub(crate) struct Direct<'a> {
    pub key: &'a str,
    pub channel: NoticeChannel,
    pub recipient: &'a str,
    pub template_key: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub at: &'a Instant,
}

/// Queues `notice` in the caller's transaction; a second row of the same key is dropped.
pub(crate) async fn queue_direct(c: &dyn Conn, notice: &Direct<'_>) -> StoreResult<()> {
    insert_row(c, notice, None).await
}

/// Writes one outbox row in the caller's transaction (a second row of the same key is dropped), with
/// `(event id, request id)` of the request event that caused it, if one did. The recipient, subject and
/// body are sealed: the text tells the asker their tracking number and check code, or a password
/// reset code.
pub(crate) async fn insert_row(c: &dyn Conn, notice: &Direct<'_>, cause: Option<(i64, i64)>) -> StoreResult<()> {
    c.execute(
        "INSERT INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status, attempts,
            next_attempt_at, created_at, event_id, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $8, $9)
         ON CONFLICT (idempotency_key) DO NOTHING",
        &args![
            notice.key,
            notice.channel.as_str(),
            personal_data::seal(c, personal_data::OUTBOX_RECIPIENT, notice.recipient),
            notice.template_key,
            personal_data::seal_opt(c, personal_data::OUTBOX_SUBJECT, notice.subject),
            personal_data::seal(c, personal_data::OUTBOX_BODY, notice.body),
            notice.at,
            cause.map(|(event, _)| event),
            cause.map(|(_, request)| request)
        ],
    )
    .await
    .map(drop)
}

/// A notice to a person outside the staff (an enterprise, an asker): SMS to `phone` when it is a mobile
/// number, e-mail to `email` when there is one.
pub(crate) struct ToPerson<'a> {
    /// Each copy's key is `{key}-{channel}-{hash of the recipient}`.
    pub key: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub template_key: &'a str,
    /// The SMS text.
    pub sms: &'a str,
    /// The e-mail's subject and body.
    pub mail: (&'a str, &'a str),
    pub at: &'a Instant,
}

/// Queues the copies of `notice`. Nothing is queued before the delivery worker has started on this
/// database (as for events: generated history tells no one).
pub(crate) async fn queue_to_person(c: &dyn Conn, notice: &ToPerson<'_>) -> StoreResult<()> {
    if link_base(c).await?.is_none() {
        return Ok(());
    }
    let phone = notice.phone.and_then(|p| Phone::parse(p).ok()).filter(Phone::is_mobile);
    let email = notice.email.map(str::trim).filter(|e| !e.is_empty());
    let (subject, mail) = notice.mail;
    let copies = [
        phone.as_ref().map(|p| (NoticeChannel::Sms, p.as_str(), None, notice.sms)),
        email.map(|e| (NoticeChannel::Email, e, Some(subject), mail)),
    ];
    for (channel, recipient, subject, body) in copies.into_iter().flatten() {
        let key =
            format!("{}-{}-{}", notice.key, channel.as_str(), notify::recipient_hash(c.personal_data(), recipient));
        let row = Direct {
            key: &key,
            channel,
            recipient,
            template_key: Some(notice.template_key),
            subject,
            body,
            at: notice.at,
        };
        queue_direct(c, &row).await?;
    }
    Ok(())
}

/// The public address progress links start with, once the delivery worker has started on this
/// database; `None` before (no notice is written then).
pub(crate) async fn link_base(c: &dyn Conn) -> StoreResult<Option<String>> {
    c.scalar_opt("SELECT link_base FROM notification_settings WHERE id = 1", &[]).await
}

async fn unit_names(c: &dyn Conn, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, String>> {
    let mut names = HashMap::new();
    for &unit in units {
        let name = c.scalar_opt("SELECT COALESCE(short_name, name) FROM units WHERE id = $1", &args![unit]).await?;
        if let Some(name) = name {
            names.insert(unit, name);
        }
    }
    Ok(names)
}

async fn unit_emails(c: &dyn Conn, units: &BTreeSet<UnitId>) -> StoreResult<HashMap<UnitId, Vec<String>>> {
    let mut emails = HashMap::new();
    for &unit in units {
        let found = c
            .map(
                "SELECT email FROM users WHERE unit_id = $1 AND NOT disabled AND email IS NOT NULL",
                &args![unit],
                |mut r| r.take(0),
            )
            .await?;
        emails.insert(unit, addresses(c, found)?);
    }
    Ok(emails)
}

/// Stored e-mail addresses decrypted, the empty ones dropped, sorted and each once (the
/// ciphertexts differ for one address, so SQL cannot do it).
fn addresses(c: &dyn Conn, stored: Vec<String>) -> StoreResult<Vec<String>> {
    let mut found = BTreeSet::new();
    for value in stored {
        let address = personal_data::open(c.personal_data(), personal_data::USER_EMAIL, value)?;
        if !address.trim().is_empty() {
            found.insert(address);
        }
    }
    Ok(found.into_iter().collect())
}

/// The e-mail addresses of the enabled cadres assigned to the enterprise now.
async fn liaison_emails(c: &dyn Conn, credit_code: &str) -> StoreResult<Vec<String>> {
    let found = c
        .map(
            "SELECT u.email FROM liaison_assignments la JOIN users u ON u.id = la.user_id
             WHERE la.credit_code = $1 AND la.ended_at IS NULL AND NOT u.disabled AND u.email IS NOT NULL",
            &args![credit_code],
            |mut r| r.take(0),
        )
        .await?;
    addresses(c, found)
}

/// The template in force for a key and channel (the one administrators stored, else the built-in one)
/// rendered with `vars`; `None` where the key does not use the channel.
pub(crate) async fn render_in_force(
    c: &dyn Conn,
    key: TemplateKey,
    channel: NoticeChannel,
    vars: &notify::Vars,
) -> StoreResult<Option<Template>> {
    let stored = c
        .map_opt(
            "SELECT subject, body FROM notification_templates WHERE key = $1 AND channel = $2",
            &args![key.as_str(), channel.as_str()],
            |row| {
                let mut c = row.cols();
                Ok(Template { subject: c.get()?, body: c.get()? })
            },
        )
        .await?;
    Ok(stored.or_else(|| notify::default_template(key, channel)).map(|t| Template {
        subject: t.subject.map(|s| notify::render(&s, vars)),
        body: notify::render(&t.body, vars),
    }))
}

/// The stored templates of keys and channels this version knows.
async fn templates(c: &dyn Conn) -> StoreResult<HashMap<(TemplateKey, NoticeChannel), Template>> {
    let rows = c
        .map("SELECT key, channel, subject, body FROM notification_templates", &[], |row| {
            let mut c = row.cols();
            Ok((c.get::<String>()?, c.get::<String>()?, Template { subject: c.get()?, body: c.get()? }))
        })
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, channel, t)| Some(((TemplateKey::parse(&key)?, NoticeChannel::parse(&channel)?), t)))
        .collect())
}

/// The active webhooks with their event filters, by id.
async fn webhooks(c: &dyn Conn) -> StoreResult<Vec<(i64, Vec<String>)>> {
    c.map("SELECT id, events FROM webhooks WHERE active ORDER BY id", &[], |row| {
        let mut c = row.cols();
        let id = c.get()?;
        let events: String = c.get()?;
        Ok((id, serde_json::from_str(&events).unwrap_or_default()))
    })
    .await
}

async fn insert(c: &dyn Conn, event_id: i64, request: &Request, d: &Delivery, meta: &Meta) -> StoreResult<()> {
    let row = Direct {
        key: &d.idempotency_key,
        channel: d.channel,
        recipient: &d.recipient,
        template_key: d.template_key,
        subject: d.subject.as_deref(),
        body: &d.body,
        at: &meta.now,
    };
    insert_row(c, &row, Some((event_id, request.id))).await
}
