//! The staff inbox (消息提醒), written once for both databases. Entries are
//! inserted in the transaction of the event that causes them
//! ([`on_event`], called where every event is inserted), one per (event,
//! person) with `ON CONFLICT DO NOTHING`: an event gives its entries once,
//! and writing them again adds nothing. Each new entry appends an `inbox`
//! change (key: the person's id) so every node's live unread counts reload,
//! and queues the SMS and e-mail copies the person chose in the outbox.

use std::collections::BTreeMap;

use mashangban_domain::event::EventDetails;
use mashangban_domain::inbox::{self, InboxEvent, InboxKind, Notice, Recipients};
use mashangban_domain::notify::{NoticeChannel, recipient_hash};
use mashangban_domain::org::{Scope, UserId};
use mashangban_domain::request::{EventKind, Request};
use mashangban_domain::time::Instant;
use mashangban_store::{
    ChangeEntity, InboxEntry, InboxFilter, InboxPreference, InboxRequest, InboxStore, StoreError, StoreResult,
};

use crate::outbox::{Direct, insert_row};
use crate::requests::query::{Key, load};
use crate::rows;
use crate::sql::{Args, Conn, Database, Row, bad, job};
use crate::{SqlStore, args};

/// What an event's entries are made from.
pub struct Source<'a> {
    pub event_id: i64,
    pub kind: EventKind,
    pub details: &'a EventDetails,
    /// The request as the event leaves it.
    pub request: &'a Request,
    /// Whoever acted gets no entry for their own act.
    pub actor_user_id: Option<UserId>,
    pub at: Instant,
}

/// Writes the entries of one event; how many were new.
pub async fn on_event(c: &dyn Conn, source: &Source<'_>) -> StoreResult<u64> {
    let plans = inbox::plan(source.request, source.kind, source.details);
    if plans.is_empty() {
        return Ok(0);
    }
    // One entry per person: the first plan that names them decides its kind.
    let mut people: BTreeMap<UserId, InboxKind> = BTreeMap::new();
    for plan in &plans {
        for user in recipients(c, &plan.recipients).await? {
            people.entry(user).or_insert(plan.kind);
        }
    }
    let request = source.request;
    let entry = Entry {
        event: InboxEvent::Request(source.kind),
        cause: Cause::Request { event_id: source.event_id, request_id: request.id, tracking_no: &request.tracking_no },
        title: &request.title,
        at: &source.at,
    };
    deliver(c, people, source.actor_user_id, &entry).await
}

/// Writes the entries of a notice (a command centre's task or report chase) in the caller's
/// transaction, once per (key, person); how many were new. Whoever acted gets none.
pub async fn notify(c: &dyn Conn, notice: &Notice, actor: Option<UserId>, at: &Instant) -> StoreResult<u64> {
    let kind = notice.event.inbox_kind();
    let people = recipients(c, &notice.recipients()).await?.into_iter().map(|user| (user, kind)).collect();
    let entry = Entry {
        event: InboxEvent::Notice(notice.event),
        cause: Cause::Notice { key: &notice.key, link: &notice.link },
        title: &notice.title,
        at,
    };
    deliver(c, people, actor, &entry).await
}

/// What one entry is about, for every person it goes to.
struct Entry<'a> {
    event: InboxEvent,
    cause: Cause<'a>,
    title: &'a str,
    at: &'a Instant,
}

enum Cause<'a> {
    Request { event_id: i64, request_id: i64, tracking_no: &'a str },
    Notice { key: &'a str, link: &'a str },
}

impl Cause<'_> {
    /// The part of every copy's idempotency key that names the cause.
    fn key(&self) -> String {
        match self {
            Cause::Request { event_id, .. } => event_id.to_string(),
            Cause::Notice { key, .. } => format!("notice-{key}"),
        }
    }
}

/// Inserts one entry per person (but the actor), each once: a change per new entry so live
/// unread counts reload, and the SMS and e-mail copies the person chose.
async fn deliver(
    c: &dyn Conn,
    mut people: BTreeMap<UserId, InboxKind>,
    actor: Option<UserId>,
    entry: &Entry<'_>,
) -> StoreResult<u64> {
    if let Some(me) = actor {
        people.remove(&me);
    }
    if people.is_empty() {
        return Ok(0);
    }
    let copies_on = c.scalar_opt::<String>("SELECT link_base FROM notification_settings WHERE id = 1", &[]).await?;
    let mut new = 0;
    for (user, kind) in people {
        let event = entry.event.as_str();
        let inserted = match &entry.cause {
            Cause::Request { event_id, request_id, .. } => {
                c.execute(
                    "INSERT INTO inbox_entries (user_id, kind, event_id, event_kind, request_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, user_id) DO NOTHING",
                    &args![user, kind.as_str(), *event_id, event, *request_id, entry.at],
                )
                .await?
            }
            Cause::Notice { key, link } => {
                c.execute(
                    "INSERT INTO inbox_entries (user_id, kind, event_kind, notice_key, notice_title, notice_link,
                        created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notice_key, user_id) DO NOTHING",
                    &args![user, kind.as_str(), event, *key, entry.title, *link, entry.at],
                )
                .await?
            }
        };
        if inserted == 0 {
            continue;
        }
        new += 1;
        crate::changes::append(c, ChangeEntity::Inbox, &user.to_string(), kind.as_str(), entry.at).await?;
        if copies_on.is_some() {
            queue_copies(c, user, kind, entry).await?;
        }
    }
    Ok(new)
}

/// The enabled people a plan names.
async fn recipients(c: &dyn Conn, recipients: &Recipients) -> StoreResult<Vec<UserId>> {
    let mut args = Args::default();
    let sql = match recipients {
        Recipients::UnitStaff { units, roles } => {
            let units = args.list(units.iter().copied());
            let roles = args.list(roles.iter().map(|r| r.as_str()));
            format!(
                "SELECT id FROM users WHERE unit_id IN ({units}) AND role IN ({roles}) AND NOT disabled ORDER BY id"
            )
        }
        Recipients::Role(roles) => {
            let roles = args.list(roles.iter().map(|r| r.as_str()));
            format!("SELECT id FROM users WHERE role IN ({roles}) AND NOT disabled ORDER BY id")
        }
    };
    c.map(&sql, args.values(), |mut r| r.take(0)).await
}

/// The SMS and e-mail copies a person chose for this kind, to their phone and
/// address on file, keyed so that the same entry never queues a copy twice.
async fn queue_copies(c: &dyn Conn, user: UserId, kind: InboxKind, entry: &Entry<'_>) -> StoreResult<()> {
    let wanted = c
        .map_opt(
            "SELECT p.sms, p.email, u.phone, u.email FROM inbox_preferences p JOIN users u ON u.id = p.user_id
             WHERE p.user_id = $1 AND p.kind = $2",
            &args![user, kind.as_str()],
            |row| {
                let mut cols = row.cols();
                let (sms, email) = (cols.get::<bool>()?, cols.get::<bool>()?);
                let (phone, address) = rows::user_contacts(&mut cols, c.personal_data())?;
                Ok((sms, email, phone, address))
            },
        )
        .await?;
    let Some((sms, email, phone, address)) = wanted else { return Ok(()) };
    let (tracking_no, event_id, request_id) = match entry.cause {
        Cause::Request { event_id, request_id, tracking_no } => (Some(tracking_no), Some(event_id), Some(request_id)),
        Cause::Notice { .. } => (None, None, None),
    };
    let body = inbox::message(kind, entry.event, tracking_no, entry.title);
    let mut copies = Vec::new();
    if let Some(phone) = phone.filter(|p| sms && !p.trim().is_empty()) {
        copies.push((NoticeChannel::Sms, phone, None));
    }
    if let Some(address) = address.filter(|a| email && !a.trim().is_empty()) {
        let subject = format!("【马上办】{} {}", kind.label(), tracking_no.unwrap_or(entry.event.label()));
        copies.push((NoticeChannel::Email, address, Some(subject)));
    }
    for (channel, recipient, subject) in copies {
        let key = format!(
            "inbox-{}-{user}-{}-{}",
            entry.cause.key(),
            channel.as_str(),
            recipient_hash(c.personal_data(), &recipient)
        );
        let row = Direct {
            key: &key,
            channel,
            recipient: &recipient,
            template_key: Some(&format!("inbox.{}", kind.as_str())),
            subject: subject.as_deref(),
            body: &body,
            at: entry.at,
        };
        insert_row(c, &row, event_id.zip(request_id)).await?;
    }
    Ok(())
}

const ENTRY_COLUMNS: &str = "e.id, e.user_id, e.kind, e.event_kind, e.event_id, e.request_id, r.tracking_no,
    COALESCE(r.title, e.notice_title), e.notice_link, e.created_at, e.read_at";

/// Entries with their request, if any (a notice has none).
const ENTRY_FROM: &str = "inbox_entries e LEFT JOIN requests r ON r.id = e.request_id";

fn entry(row: Row) -> StoreResult<InboxEntry> {
    let mut c = row.cols();
    let id = c.get()?;
    let user_id = c.get()?;
    let kind: String = c.get()?;
    let event: String = c.get()?;
    let event_id: Option<i64> = c.get()?;
    let request_id: Option<i64> = c.get()?;
    let tracking_no: Option<String> = c.get()?;
    let request = match (event_id, request_id, tracking_no) {
        (Some(event_id), Some(request_id), Some(tracking_no)) => {
            Some(InboxRequest { event_id, request_id, tracking_no })
        }
        _ => None,
    };
    Ok(InboxEntry {
        id,
        user_id,
        kind: InboxKind::parse(&kind).ok_or_else(|| bad("inbox kind", &kind))?,
        event: InboxEvent::parse(&event).ok_or_else(|| bad("inbox event", &event))?,
        request,
        title: c.get()?,
        link: c.get()?,
        created_at: c.get()?,
        read_at: c.get()?,
    })
}

/// The WHERE clause of a person's entries under a filter (without its page).
fn conditions(user: UserId, filter: &InboxFilter, args: &mut Args) -> String {
    let mut sql = format!("e.user_id = {}", args.push(user));
    if let Some(kind) = filter.kind {
        sql.push_str(&format!(" AND e.kind = {}", args.push(kind.as_str())));
    }
    if filter.unread_only {
        sql.push_str(" AND e.read_at IS NULL");
    }
    sql
}

impl<D: Database> InboxStore for SqlStore<D> {
    async fn inbox_entries(&self, user_id: UserId, filter: &InboxFilter) -> StoreResult<Vec<InboxEntry>> {
        let filter = filter.clone();
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let mut sql = conditions(user_id, &filter, &mut args);
                if let Some(before) = filter.before {
                    sql.push_str(&format!(" AND e.id < {}", args.push(before)));
                }
                let limit = args.push(i64::from(filter.limit.clamp(1, inbox::PAGE_MAX)));
                let sql =
                    format!("SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE {sql} ORDER BY e.id DESC LIMIT {limit}");
                c.map(&sql, args.values(), entry).await
            })
        });
        self.db.read(read).await
    }

    async fn inbox_count(&self, user_id: UserId, filter: &InboxFilter) -> StoreResult<u64> {
        let filter = filter.clone();
        let count = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let sql =
                    format!("SELECT COUNT(*) FROM inbox_entries e WHERE {}", conditions(user_id, &filter, &mut args));
                c.scalar::<u64>(&sql, args.values()).await
            })
        });
        self.db.read(count).await
    }

    async fn mark_inbox_read(&self, user_id: UserId, ids: Option<Vec<i64>>, now: Instant) -> StoreResult<u64> {
        let mark = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let at = args.push(now);
                let user = args.push(user_id);
                let mut sql =
                    format!("UPDATE inbox_entries SET read_at = {at} WHERE user_id = {user} AND read_at IS NULL");
                if let Some(ids) = &ids {
                    sql.push_str(&format!(" AND id IN ({})", args.list(ids.iter().copied())));
                }
                let changed = c.execute(&sql, args.values()).await?;
                if changed > 0 {
                    crate::changes::append(c, ChangeEntity::Inbox, &user_id.to_string(), "read", &now).await?;
                }
                Ok(changed)
            })
        });
        self.db.write(mark).await
    }

    async fn inbox_preferences(&self, user_id: UserId) -> StoreResult<Vec<InboxPreference>> {
        self.db.read(job(move |c| Box::pin(async move { preferences(c, user_id).await }))).await
    }

    async fn set_inbox_preferences(
        &self,
        user_id: UserId,
        chosen: Vec<InboxPreference>,
        now: Instant,
    ) -> StoreResult<Vec<InboxPreference>> {
        let save = job(move |c| {
            Box::pin(async move {
                for p in &chosen {
                    c.execute(
                        "INSERT INTO inbox_preferences (user_id, kind, sms, email, updated_at) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (user_id, kind) DO UPDATE SET sms = EXCLUDED.sms, email = EXCLUDED.email,
                            updated_at = EXCLUDED.updated_at",
                        &args![user_id, p.kind.as_str(), p.sms, p.email, &now],
                    )
                    .await?;
                }
                preferences(c, user_id).await
            })
        });
        self.db.write(save).await
    }

    async fn inbox_contacts(&self, user_id: UserId) -> StoreResult<(Option<String>, Option<String>)> {
        let read = job(move |c| {
            Box::pin(async move {
                let found = c
                    .map_opt("SELECT phone, email FROM users WHERE id = $1", &args![user_id], |row| {
                        rows::user_contacts(&mut row.cols(), c.personal_data())
                    })
                    .await?;
                Ok(found.unwrap_or((None, None)))
            })
        });
        self.db.read(read).await
    }

    async fn prune_inbox(&self, read_before: Instant) -> StoreResult<u64> {
        let prune = job(move |c| {
            Box::pin(async move {
                c.execute(
                    "DELETE FROM inbox_entries WHERE read_at < $1
                        OR (created_at < $1 AND user_id IN (SELECT id FROM users WHERE disabled))",
                    &args![&read_before],
                )
                .await
            })
        });
        self.db.write(prune).await
    }

    async fn redeliver_inbox(&self, event_id: i64) -> StoreResult<u64> {
        let redeliver = job(move |c| {
            Box::pin(async move {
                let found = c
                    .map_opt(
                        "SELECT request_id, kind, details, actor_user_id, at FROM events WHERE id = $1",
                        &args![event_id],
                        |row| {
                            let mut c = row.cols();
                            Ok((
                                c.get::<i64>()?,
                                c.get::<String>()?,
                                c.get::<String>()?,
                                c.get::<Option<i64>>()?,
                                c.get::<Instant>()?,
                            ))
                        },
                    )
                    .await?;
                let Some((request_id, kind, details, actor_user_id, at)) = found else {
                    return Err(StoreError::backend(format!("no event {event_id}")));
                };
                let kind = EventKind::parse(&kind).ok_or_else(|| bad("event kind", &kind))?;
                let details = EventDetails::read(kind, serde_json::from_str(&details).unwrap_or_default());
                let request = load(c, &Key::Id(request_id), &Scope::All, true)
                    .await?
                    .ok_or_else(StoreError::request_not_found)?;
                let source = Source { event_id, kind, details: &details, request: &request, actor_user_id, at };
                on_event(c, &source).await
            })
        });
        self.db.write(redeliver).await
    }
}

async fn preferences(c: &dyn Conn, user_id: UserId) -> StoreResult<Vec<InboxPreference>> {
    let stored = c
        .map("SELECT kind, sms, email FROM inbox_preferences WHERE user_id = $1", &args![user_id], |row| {
            let mut c = row.cols();
            Ok((c.get::<String>()?, c.get::<bool>()?, c.get::<bool>()?))
        })
        .await?;
    Ok(InboxKind::ALL
        .iter()
        .map(|&kind| {
            let found = stored.iter().find(|(k, _, _)| k == kind.as_str());
            InboxPreference { kind, sms: found.is_some_and(|f| f.1), email: found.is_some_and(|f| f.2) }
        })
        .collect())
}
