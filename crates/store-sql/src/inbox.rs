//! The staff inbox (消息提醒), written once for both databases. Entries are
//! inserted in the transaction of the event that causes them
//! ([`on_event`], called where every event is inserted), one per (event,
//! person) with `ON CONFLICT DO NOTHING`: an event gives its entries once,
//! and writing them again adds nothing. Each new entry appends an `inbox`
//! change (key: the person's id) so every node's live unread counts reload,
//! and queues the SMS and e-mail copies the person chose in the outbox.

use std::collections::BTreeMap;

use mashangban_domain::event::EventDetails;
use mashangban_domain::inbox::{self, InboxKind, Recipients};
use mashangban_domain::notify::{NoticeChannel, recipient_hash};
use mashangban_domain::org::{Scope, UserId};
use mashangban_domain::request::{EventKind, Request};
use mashangban_domain::time::Instant;
use mashangban_store::{ChangeEntity, InboxEntry, InboxFilter, InboxPreference, InboxStore, StoreError, StoreResult};

use crate::requests::query::{Key, load};
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
    if let Some(me) = source.actor_user_id {
        people.remove(&me);
    }
    let copies_on = c.scalar_opt::<String>("SELECT link_base FROM notification_settings WHERE id = 1", &[]).await?;
    let mut new = 0;
    for (user, kind) in people {
        let inserted = c
            .execute(
                "INSERT INTO inbox_entries (user_id, kind, event_id, event_kind, request_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, user_id) DO NOTHING",
                &args![user, kind.as_str(), source.event_id, source.kind.as_str(), source.request.id, &source.at],
            )
            .await?;
        if inserted == 0 {
            continue;
        }
        new += 1;
        crate::changes::append(c, ChangeEntity::Inbox, &user.to_string(), kind.as_str(), &source.at).await?;
        if copies_on.is_some() {
            queue_copies(c, user, kind, source).await?;
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
async fn queue_copies(c: &dyn Conn, user: UserId, kind: InboxKind, source: &Source<'_>) -> StoreResult<()> {
    let wanted = c
        .map_opt(
            "SELECT p.sms, p.email, u.phone, u.email FROM inbox_preferences p JOIN users u ON u.id = p.user_id
             WHERE p.user_id = $1 AND p.kind = $2",
            &args![user, kind.as_str()],
            |row| {
                let mut c = row.cols();
                Ok((c.get::<bool>()?, c.get::<bool>()?, c.get::<Option<String>>()?, c.get::<Option<String>>()?))
            },
        )
        .await?;
    let Some((sms, email, phone, address)) = wanted else { return Ok(()) };
    let request = source.request;
    let body = inbox::message(kind, source.kind, &request.tracking_no, &request.title);
    let mut copies = Vec::new();
    if let Some(phone) = phone.filter(|p| sms && !p.trim().is_empty()) {
        copies.push((NoticeChannel::Sms, phone, None));
    }
    if let Some(address) = address.filter(|a| email && !a.trim().is_empty()) {
        let subject = format!("【马上办】{} {}", kind.label(), request.tracking_no);
        copies.push((NoticeChannel::Email, address, Some(subject)));
    }
    for (channel, recipient, subject) in copies {
        let key = format!("inbox-{}-{user}-{}-{}", source.event_id, channel.as_str(), recipient_hash(&recipient));
        c.execute(
            "INSERT INTO outbox (idempotency_key, channel, recipient, template_key, subject, body, status, attempts,
                next_attempt_at, created_at, event_id, request_id)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $8, $9)
             ON CONFLICT (idempotency_key) DO NOTHING",
            &args![
                key.as_str(),
                channel.as_str(),
                recipient.as_str(),
                format!("inbox.{}", kind.as_str()),
                subject.as_deref(),
                body.as_str(),
                &source.at,
                source.event_id,
                request.id
            ],
        )
        .await?;
    }
    Ok(())
}

const ENTRY_COLUMNS: &str = "e.id, e.user_id, e.kind, e.event_id, e.event_kind, e.request_id, r.tracking_no, r.title,
    e.created_at, e.read_at";

fn entry(row: Row) -> StoreResult<InboxEntry> {
    let mut c = row.cols();
    let id = c.get()?;
    let user_id = c.get()?;
    let kind: String = c.get()?;
    let event_id = c.get()?;
    let event_kind: String = c.get()?;
    Ok(InboxEntry {
        id,
        user_id,
        kind: InboxKind::parse(&kind).ok_or_else(|| bad("inbox kind", &kind))?,
        event_id,
        event_kind: EventKind::parse(&event_kind).ok_or_else(|| bad("event kind", &event_kind))?,
        request_id: c.get()?,
        tracking_no: c.get()?,
        title: c.get()?,
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
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM inbox_entries e JOIN requests r ON r.id = e.request_id
                     WHERE {sql} ORDER BY e.id DESC LIMIT {limit}"
                );
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
                        let mut c = row.cols();
                        Ok((c.get()?, c.get()?))
                    })
                    .await?;
                Ok(found.unwrap_or((None, None)))
            })
        });
        self.db.read(read).await
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
