//! Notifications in SQLite: the outbox for the delivery worker and the
//! administrators, templates, webhooks and users' e-mail addresses.
//! Rows are written with events by `crate::outbox`.

use rusqlite::{Connection, OptionalExtension, Row, params};

use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::time::Instant;
use mashangban_store::backend;
use mashangban_store::{
    NewWebhook, NotificationStore, OutboxItem, OutboxStatus, StoreError, StoreResult, StoredTemplate, Webhook,
};

use crate::SqliteStore;
use crate::rows::{bad, db_err, instant, opt_instant, ts};

const OUTBOX_COLUMNS: &str = "id, idempotency_key, channel, recipient, template_key, subject, body, status, attempts, \
    next_attempt_at, last_error, created_at, sent_at, event_id, request_id";

impl NotificationStore for SqliteStore {
    async fn enable_notifications(&self, link_base: &str) -> StoreResult<()> {
        let base = link_base.trim_end_matches('/').to_owned();
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO notification_settings (id, link_base) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET link_base = excluded.link_base",
                    [base],
                )
                .map_err(db_err)?;
                Ok(())
            })
            .await
    }

    async fn claim_notifications(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> StoreResult<Vec<OutboxItem>> {
        self.db.write(move |conn| claim(conn, now, lease_until, limit)).await
    }

    async fn notification_sent(&self, id: i64, attempt: u32, now: Instant) -> StoreResult<()> {
        let sql = "UPDATE outbox SET status = 'sent', sent_at = ?3, last_error = NULL
                   WHERE id = ?1 AND attempts = ?2 AND status = 'sending'";
        self.db.write(move |conn| conn.execute(sql, params![id, attempt, ts(&now)]).map(drop).map_err(db_err)).await
    }

    async fn notification_retry(
        &self,
        id: i64,
        attempt: u32,
        next_attempt_at: Instant,
        error: &str,
    ) -> StoreResult<()> {
        let error = error.to_owned();
        let sql = "UPDATE outbox SET status = 'pending', next_attempt_at = ?3, last_error = ?4
                   WHERE id = ?1 AND attempts = ?2 AND status = 'sending'";
        self.db
            .write(move |conn| {
                conn.execute(sql, params![id, attempt, ts(&next_attempt_at), error]).map(drop).map_err(db_err)
            })
            .await
    }

    async fn notification_failed(&self, id: i64, attempt: u32, error: &str) -> StoreResult<()> {
        let error = error.to_owned();
        let sql = "UPDATE outbox SET status = 'failed', last_error = ?3
                   WHERE id = ?1 AND attempts = ?2 AND status = 'sending'";
        self.db.write(move |conn| conn.execute(sql, params![id, attempt, error]).map(drop).map_err(db_err)).await
    }

    async fn list_outbox(&self, status: Option<OutboxStatus>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        self.db
            .read(move |conn| {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
                );
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let items = stmt
                    .query_map(params![status.map(OutboxStatus::as_str), limit.clamp(1, 1000)], outbox_item)
                    .map_err(db_err)?
                    .collect::<Result<_, _>>();
                items.map_err(db_err)
            })
            .await
    }

    async fn retry_notification(&self, id: i64, now: Instant) -> StoreResult<OutboxItem> {
        self.db.write(move |conn| retry(conn, id, now)).await
    }

    async fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        self.db
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT key, channel, subject, body, updated_at, updated_by FROM notification_templates
                         ORDER BY key, channel",
                    )
                    .map_err(db_err)?;
                let all: Vec<Option<StoredTemplate>> =
                    stmt.query_map([], stored_template).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
                // Rows of keys this version no longer knows are left out.
                Ok(all.into_iter().flatten().collect())
            })
            .await
    }

    async fn put_notification_template(&self, t: StoredTemplate) -> StoreResult<StoredTemplate> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO notification_templates (key, channel, subject, body, updated_at, updated_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (key, channel) DO UPDATE SET subject = excluded.subject, body = excluded.body,
                        updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    params![
                        t.key.as_str(),
                        t.channel.as_str(),
                        t.template.subject,
                        t.template.body,
                        ts(&t.updated_at),
                        t.updated_by
                    ],
                )
                .map_err(db_err)?;
                Ok(t)
            })
            .await
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.db
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, name, url, secret, active, events, created_at FROM webhooks ORDER BY id",
                    )
                    .map_err(db_err)?;
                let all = stmt.query_map([], webhook).map_err(db_err)?.collect::<Result<_, _>>();
                all.map_err(db_err)
            })
            .await
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        self.db.read(move |conn| find_webhook(conn, id)).await
    }

    async fn create_webhook(&self, new: NewWebhook, now: Instant) -> StoreResult<Webhook> {
        self.db
            .write(move |conn| {
                let events = serde_json::to_string(&new.events).map_err(StoreError::backend)?;
                conn.execute(
                    "INSERT INTO webhooks (name, url, secret, active, events, created_at) VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                    params![new.name, new.url, new.secret, events, ts(&now)],
                )
                .map_err(db_err)?;
                find_webhook(conn, conn.last_insert_rowid())?.ok_or_else(|| StoreError::backend("inserted webhook vanished"))
            })
            .await
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<()> {
        self.db
            .write(move |conn| {
                let n = conn.execute("DELETE FROM webhooks WHERE id = ?1", [id]).map_err(db_err)?;
                if n == 0 {
                    return Err(backend::webhook_not_found(id));
                }
                Ok(())
            })
            .await
    }

    async fn set_user_email(&self, username: &str, email: Option<String>) -> StoreResult<()> {
        let username = username.to_owned();
        self.db
            .write(move |conn| {
                let n = conn
                    .execute("UPDATE users SET email = ?2 WHERE username = ?1", params![username, email])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(backend::user_not_found(&username));
                }
                Ok(())
            })
            .await
    }
}

fn claim(conn: &Connection, now: Instant, lease_until: Instant, limit: u32) -> StoreResult<Vec<OutboxItem>> {
    let sql = format!(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?2
         WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?1
                      ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING {OUTBOX_COLUMNS}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut items: Vec<OutboxItem> = stmt
        .query_map(params![ts(&now), ts(&lease_until), limit], outbox_item)
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

fn retry(conn: &Connection, id: i64, now: Instant) -> StoreResult<OutboxItem> {
    let sql = format!(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2 WHERE id = ?1 AND status = 'failed'
         RETURNING {OUTBOX_COLUMNS}"
    );
    let item = conn.query_row(&sql, params![id, ts(&now)], outbox_item).optional().map_err(db_err)?;
    if let Some(item) = item {
        return Ok(item);
    }
    let exists: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM outbox WHERE id = ?1)", [id], |r| r.get(0)).map_err(db_err)?;
    if exists { Err(backend::notification_not_failed()) } else { Err(backend::notification_not_found(id)) }
}

fn find_webhook(conn: &Connection, id: i64) -> StoreResult<Option<Webhook>> {
    conn.prepare_cached("SELECT id, name, url, secret, active, events, created_at FROM webhooks WHERE id = ?1")
        .map_err(db_err)?
        .query_row([id], webhook)
        .optional()
        .map_err(db_err)
}

fn outbox_item(row: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    let channel: String = row.get("channel")?;
    let status: String = row.get("status")?;
    Ok(OutboxItem {
        id: row.get("id")?,
        idempotency_key: row.get("idempotency_key")?,
        channel: NoticeChannel::parse(&channel).ok_or_else(|| bad("channel", &channel))?,
        recipient: row.get("recipient")?,
        template_key: row.get("template_key")?,
        subject: row.get("subject")?,
        body: row.get("body")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        attempts: row.get("attempts")?,
        next_attempt_at: instant(row, "next_attempt_at")?,
        last_error: row.get("last_error")?,
        created_at: instant(row, "created_at")?,
        sent_at: opt_instant(row, "sent_at")?,
        event_id: row.get("event_id")?,
        request_id: row.get("request_id")?,
    })
}

fn stored_template(row: &Row<'_>) -> rusqlite::Result<Option<StoredTemplate>> {
    let key: String = row.get("key")?;
    let channel: String = row.get("channel")?;
    let (Some(key), Some(channel)) = (TemplateKey::parse(&key), NoticeChannel::parse(&channel)) else {
        return Ok(None);
    };
    Ok(Some(StoredTemplate {
        key,
        channel,
        template: Template { subject: row.get("subject")?, body: row.get("body")? },
        updated_at: instant(row, "updated_at")?,
        updated_by: row.get("updated_by")?,
    }))
}

fn webhook(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = row.get("events")?;
    Ok(Webhook {
        id: row.get("id")?,
        name: row.get("name")?,
        url: row.get("url")?,
        secret: row.get("secret")?,
        active: row.get("active")?,
        events: serde_json::from_str(&events).map_err(|_| bad("events", &events))?,
        created_at: instant(row, "created_at")?,
    })
}
