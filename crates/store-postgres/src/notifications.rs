//! Notifications in PostgreSQL: the outbox for the delivery workers of every
//! node and for the administrators, templates, webhooks and users' e-mail
//! addresses. Rows are written with events by `crate::outbox`.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::time::Instant;
use mashangban_store::backend;
use mashangban_store::{
    NewWebhook, NotificationStore, OutboxItem, OutboxStatus, StoreError, StoreResult, StoredTemplate, Webhook,
};

use crate::PgStore;
use crate::db::{execute, query, query_one, query_opt};
use crate::rows::{self, bad, code, count, get, instant, opt_instant, ts};

const OUTBOX_COLUMNS: &str = "id, idempotency_key, channel, recipient, template_key, subject, body, status, attempts, \
    next_attempt_at, last_error, created_at, sent_at, event_id, request_id";

const WEBHOOK_COLUMNS: &str = "id, name, url, secret, active, events, created_at";

impl NotificationStore for PgStore {
    async fn enable_notifications(&self, link_base: &str) -> StoreResult<()> {
        let base = link_base.trim_end_matches('/').to_owned();
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO notification_settings (id, link_base) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET link_base = EXCLUDED.link_base",
            &[&base],
        )
        .await
        .map(drop)
    }

    /// Rows another node is claiming at this moment are skipped, not waited
    /// for, and a row is claimed by one node only.
    async fn claim_notifications(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> StoreResult<Vec<OutboxItem>> {
        let client = self.client().await?;
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
                          ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING {OUTBOX_COLUMNS}"
        );
        let rows = query(&client, &sql, &[&ts(&now), &ts(&lease_until), &i64::from(limit)]).await?;
        let mut items = rows::all(&rows, outbox_item)?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn notification_sent(&self, id: i64, attempt: u32, now: Instant) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "UPDATE outbox SET status = 'sent', sent_at = $3, last_error = NULL
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        execute(&client, sql, &[&id, &i64::from(attempt), &ts(&now)]).await.map(drop)
    }

    async fn notification_retry(
        &self,
        id: i64,
        attempt: u32,
        next_attempt_at: Instant,
        error: &str,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "UPDATE outbox SET status = 'pending', next_attempt_at = $3, last_error = $4
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        execute(&client, sql, &[&id, &i64::from(attempt), &ts(&next_attempt_at), &error]).await.map(drop)
    }

    async fn notification_failed(&self, id: i64, attempt: u32, error: &str) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "UPDATE outbox SET status = 'failed', last_error = $3
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        execute(&client, sql, &[&id, &i64::from(attempt), &error]).await.map(drop)
    }

    async fn list_outbox(&self, status: Option<OutboxStatus>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        let client = self.client().await?;
        let limit = i64::from(limit.clamp(1, 1000));
        let rows = match status {
            Some(status) => {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = $1 ORDER BY id DESC LIMIT $2");
                query(&client, &sql, &[&status.as_str(), &limit]).await?
            }
            None => {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1");
                query(&client, &sql, &[&limit]).await?
            }
        };
        rows::all(&rows, outbox_item)
    }

    async fn retry_notification(&self, id: i64, now: Instant) -> StoreResult<OutboxItem> {
        let client = self.client().await?;
        retry(&client, id, now).await
    }

    async fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT key, channel, subject, body, updated_at, updated_by FROM notification_templates ORDER BY key, channel",
            &[],
        )
        .await?;
        // Rows of keys this version no longer knows are left out.
        Ok(rows::all(&rows, stored_template)?.into_iter().flatten().collect())
    }

    async fn put_notification_template(&self, t: StoredTemplate) -> StoreResult<StoredTemplate> {
        let client = self.client().await?;
        // One statement: two administrators saving at once leave the later one.
        execute(
            &client,
            "INSERT INTO notification_templates (key, channel, subject, body, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key, channel) DO UPDATE SET subject = EXCLUDED.subject, body = EXCLUDED.body,
                updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
            &[
                &t.key.as_str(),
                &t.channel.as_str(),
                &t.template.subject,
                &t.template.body,
                &ts(&t.updated_at),
                &t.updated_by,
            ],
        )
        .await?;
        Ok(t)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let client = self.client().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        rows::all(&query(&client, &sql, &[]).await?, webhook)
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let client = self.client().await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        query_opt(&client, &sql, &[&id]).await?.map(|r| webhook(&r)).transpose()
    }

    async fn create_webhook(&self, new: NewWebhook, now: Instant) -> StoreResult<Webhook> {
        let client = self.client().await?;
        let events = serde_json::to_string(&new.events).map_err(StoreError::backend)?;
        let sql = format!(
            "INSERT INTO webhooks (name, url, secret, active, events, created_at) VALUES ($1, $2, $3, TRUE, $4, $5)
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = query_one(&client, &sql, &[&new.name, &new.url, &new.secret, &events, &ts(&now)]).await?;
        webhook(&row)
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<()> {
        let client = self.client().await?;
        let n = execute(&client, "DELETE FROM webhooks WHERE id = $1", &[&id]).await?;
        if n == 0 {
            return Err(backend::webhook_not_found(id));
        }
        Ok(())
    }

    async fn set_user_email(&self, username: &str, email: Option<String>) -> StoreResult<()> {
        let client = self.client().await?;
        let n = execute(&client, "UPDATE users SET email = $2 WHERE username = $1", &[&username, &email]).await?;
        if n == 0 {
            return Err(backend::user_not_found(username));
        }
        Ok(())
    }
}

async fn retry(c: &impl GenericClient, id: i64, now: Instant) -> StoreResult<OutboxItem> {
    let sql = format!(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2 WHERE id = $1 AND status = 'failed'
         RETURNING {OUTBOX_COLUMNS}"
    );
    if let Some(row) = query_opt(c, &sql, &[&id, &ts(&now)]).await? {
        return outbox_item(&row);
    }
    if query_opt(c, "SELECT 1 FROM outbox WHERE id = $1", &[&id]).await?.is_some() {
        Err(backend::notification_not_failed())
    } else {
        Err(backend::notification_not_found(id))
    }
}

fn outbox_item(row: &Row) -> StoreResult<OutboxItem> {
    Ok(OutboxItem {
        id: get(row, "id")?,
        idempotency_key: get(row, "idempotency_key")?,
        channel: code(row, "channel", NoticeChannel::parse)?,
        recipient: get(row, "recipient")?,
        template_key: get(row, "template_key")?,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        status: code(row, "status", OutboxStatus::parse)?,
        attempts: count(row, "attempts")?,
        next_attempt_at: instant(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        created_at: instant(row, "created_at")?,
        sent_at: opt_instant(row, "sent_at")?,
        event_id: get(row, "event_id")?,
        request_id: get(row, "request_id")?,
    })
}

fn stored_template(row: &Row) -> StoreResult<Option<StoredTemplate>> {
    let key: String = get(row, "key")?;
    let channel: String = get(row, "channel")?;
    let (Some(key), Some(channel)) = (TemplateKey::parse(&key), NoticeChannel::parse(&channel)) else {
        return Ok(None);
    };
    Ok(Some(StoredTemplate {
        key,
        channel,
        template: Template { subject: get(row, "subject")?, body: get(row, "body")? },
        updated_at: instant(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    }))
}

fn webhook(row: &Row) -> StoreResult<Webhook> {
    let events: String = get(row, "events")?;
    Ok(Webhook {
        id: get(row, "id")?,
        name: get(row, "name")?,
        url: get(row, "url")?,
        secret: get(row, "secret")?,
        active: get(row, "active")?,
        events: serde_json::from_str(&events).map_err(|_| bad("events", &events))?,
        created_at: instant(row, "created_at")?,
    })
}
