//! Notifications (通知): the outbox for the delivery workers of every node and
//! for the administrators, templates, webhooks and users' e-mail addresses.
//! Rows are written with events by `crate::outbox`.

use mashangban_domain::notify::{NoticeChannel, Template, TemplateKey};
use mashangban_domain::org::AccountAction;
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::time::Instant;
use mashangban_store::backend;
use mashangban_store::{
    AccountBy, NewWebhook, NotificationStore, OutboxItem, OutboxStatus, StoreResult, StoredTemplate, TemplateVersion,
    Webhook,
};

use crate::personal_data;
use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Dialect, Row, job};
use crate::{SqlStore, args};

impl<D: Database> NotificationStore for SqlStore<D> {
    async fn enable_notifications(&self, link_base: &str) -> StoreResult<()> {
        let base = link_base.trim_end_matches('/').to_owned();
        let sql = "INSERT INTO notification_settings (id, link_base) VALUES (1, $1)
                   ON CONFLICT (id) DO UPDATE SET link_base = EXCLUDED.link_base";
        self.db.write(job(move |c| Box::pin(async move { c.execute(sql, &args![base]).await.map(drop) }))).await
    }

    async fn claim_notifications(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: u32,
    ) -> StoreResult<Vec<OutboxItem>> {
        self.db.write(job(move |c| Box::pin(async move { claim(c, &now, &lease_until, limit).await }))).await
    }

    async fn notification_sent(&self, id: i64, attempt: u32, now: Instant) -> StoreResult<()> {
        let sql = "UPDATE outbox SET status = 'sent', sent_at = $3, last_error = NULL
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        self.db
            .write(job(move |c| Box::pin(async move { c.execute(sql, &args![id, attempt, &now]).await.map(drop) })))
            .await
    }

    async fn notification_retry(
        &self,
        id: i64,
        attempt: u32,
        next_attempt_at: Instant,
        error: &str,
    ) -> StoreResult<()> {
        let error = error.to_owned();
        let sql = "UPDATE outbox SET status = 'pending', next_attempt_at = $3, last_error = $4
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        let retry = job(move |c| {
            Box::pin(async move { c.execute(sql, &args![id, attempt, &next_attempt_at, error]).await.map(drop) })
        });
        self.db.write(retry).await
    }

    async fn notification_failed(&self, id: i64, attempt: u32, error: &str) -> StoreResult<()> {
        let error = error.to_owned();
        let sql = "UPDATE outbox SET status = 'failed', last_error = $3
                   WHERE id = $1 AND attempts = $2 AND status = 'sending'";
        self.db
            .write(job(move |c| Box::pin(async move { c.execute(sql, &args![id, attempt, error]).await.map(drop) })))
            .await
    }

    async fn list_outbox(&self, status: Option<OutboxStatus>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        let mut args = Args::default();
        let filter = match status {
            Some(status) => format!("WHERE status = {}", args.push(status.as_str())),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox {filter} ORDER BY id DESC LIMIT {}",
            args.push(limit.clamp(1, 1000))
        );
        self.db
            .read(job(move |c| {
                Box::pin(async move { c.map(&sql, args.values(), |row| outbox_item(row, c.personal_data())).await })
            }))
            .await
    }

    async fn retry_notification(&self, id: i64, now: Instant) -> StoreResult<OutboxItem> {
        self.db.write(job(move |c| Box::pin(async move { retry(c, id, &now).await }))).await
    }

    async fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM notification_templates ORDER BY key, channel");
        let all = self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], stored_template).await }))).await?;
        // Rows of keys this version no longer knows are left out.
        Ok(all.into_iter().flatten().collect())
    }

    /// One statement: two administrators saving at once leave the later one (both saves are versions).
    async fn put_notification_template(&self, t: StoredTemplate) -> StoreResult<StoredTemplate> {
        let put = job(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO notification_templates (key, channel, subject, body, updated_at, updated_by)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (key, channel) DO UPDATE SET subject = EXCLUDED.subject, body = EXCLUDED.body,
                        updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
                    &args![
                        t.key.as_str(),
                        t.channel.as_str(),
                        t.template.subject.as_deref(),
                        t.template.body.as_str(),
                        &t.updated_at,
                        t.updated_by.as_str(),
                    ],
                )
                .await?;
                let version = Version { key: t.key, channel: t.channel, template: Some(&t.template) };
                append_version(c, &version, &t.updated_at, &t.updated_by).await?;
                Ok(t)
            })
        });
        self.db.write(put).await
    }

    async fn reset_notification_template(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        at: Instant,
        by: &str,
    ) -> StoreResult<bool> {
        let by = by.to_owned();
        let reset = job(move |c| {
            Box::pin(async move {
                let sql = "DELETE FROM notification_templates WHERE key = $1 AND channel = $2";
                if c.execute(sql, &args![key.as_str(), channel.as_str()]).await? == 0 {
                    return Ok(false);
                }
                append_version(c, &Version { key, channel, template: None }, &at, &by).await?;
                Ok(true)
            })
        });
        self.db.write(reset).await
    }

    async fn notification_template_versions(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        limit: u32,
    ) -> StoreResult<Vec<TemplateVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM notification_template_versions WHERE key = $1 AND channel = $2
             ORDER BY id DESC LIMIT $3"
        );
        let limit = limit.clamp(1, 1000);
        let read = job(move |c| {
            Box::pin(async move {
                c.map(&sql, &args![key.as_str(), channel.as_str(), limit], |row| template_version(row, key, channel))
                    .await
            })
        });
        self.db.read(read).await
    }

    async fn notification_template_version(
        &self,
        key: TemplateKey,
        channel: NoticeChannel,
        id: i64,
    ) -> StoreResult<Option<TemplateVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM notification_template_versions WHERE key = $1 AND channel = $2 AND id = $3"
        );
        let read = job(move |c| {
            Box::pin(async move {
                c.map_opt(&sql, &args![key.as_str(), channel.as_str(), id], |row| template_version(row, key, channel))
                    .await
            })
        });
        self.db.read(read).await
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], webhook).await }))).await
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        self.db.read(job(move |c| Box::pin(async move { c.map_opt(&sql, &args![id], webhook).await }))).await
    }

    async fn create_webhook(&self, new: NewWebhook, now: Instant) -> StoreResult<Webhook> {
        let events = json_text(&new.events)?;
        let sql = format!(
            "INSERT INTO webhooks (name, url, secret, active, events, created_at) VALUES ($1, $2, $3, TRUE, $4, $5)
             RETURNING {WEBHOOK_COLUMNS}"
        );
        let create = job(move |c| {
            Box::pin(async move {
                let row = c.query_one(&sql, &args![new.name, new.url, new.secret, events, &now]).await?;
                webhook(row)
            })
        });
        self.db.write(create).await
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<()> {
        let delete = job(move |c| {
            Box::pin(async move {
                let n = c.execute("DELETE FROM webhooks WHERE id = $1", &args![id]).await?;
                if n == 0 { Err(backend::webhook_not_found(id)) } else { Ok(()) }
            })
        });
        self.db.write(delete).await
    }

    async fn set_user_email(&self, username: &str, email: Option<String>, by: AccountBy) -> StoreResult<()> {
        let username = username.to_owned();
        let set = job(move |c| {
            Box::pin(async move {
                let sql = "UPDATE users SET email = $2 WHERE username = $1 RETURNING id";
                let sealed = personal_data::seal_opt(c, personal_data::USER_EMAIL, email.as_deref());
                let id = c.scalar_opt::<i64>(sql, &args![username.as_str(), sealed]).await?;
                let id = id.ok_or_else(|| backend::user_not_found(&username))?;
                let detail = format!("通知邮箱：{}", crate::account_events::email_text(email.as_deref()));
                crate::account_events::record(c, id, AccountAction::EmailSet, Some(detail), &by).await
            })
        });
        self.db.write(set).await
    }
}

/// Claims due rows. On PostgreSQL rows another node is claiming at this
/// moment are skipped, not waited for, so a row is claimed by one node only;
/// SQLite's single writer claims one batch at a time.
async fn claim(c: &dyn Conn, now: &Instant, lease_until: &Instant, limit: u32) -> StoreResult<Vec<OutboxItem>> {
    let skip_locked = match c.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2
         WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
                      ORDER BY next_attempt_at, id LIMIT $3{skip_locked})
         RETURNING {OUTBOX_COLUMNS}"
    );
    let mut items = c.map(&sql, &args![now, lease_until, limit], |row| outbox_item(row, c.personal_data())).await?;
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// Makes a failed row pending again, or says why not.
async fn retry(c: &dyn Conn, id: i64, now: &Instant) -> StoreResult<OutboxItem> {
    let sql = format!(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2 WHERE id = $1 AND status = 'failed'
         RETURNING {OUTBOX_COLUMNS}"
    );
    if let Some(item) = c.map_opt(&sql, &args![id, now], |row| outbox_item(row, c.personal_data())).await? {
        return Ok(item);
    }
    if c.query_opt("SELECT 1 FROM outbox WHERE id = $1", &args![id]).await?.is_some() {
        Err(backend::notification_not_failed())
    } else {
        Err(backend::notification_not_found(id))
    }
}

const OUTBOX_COLUMNS: &str = "id, idempotency_key, channel, recipient, template_key, subject, body, status, attempts, \
    next_attempt_at, last_error, created_at, sent_at, event_id, request_id";

/// An outbox row read with [`OUTBOX_COLUMNS`]; the recipient and text decrypted with `keys` (the connection's).
fn outbox_item(row: Row, keys: Option<&Keyring>) -> StoreResult<OutboxItem> {
    let mut c = row.cols();
    Ok(OutboxItem {
        id: c.get()?,
        idempotency_key: c.get()?,
        channel: c.code(NoticeChannel::parse)?,
        recipient: personal_data::open(keys, personal_data::OUTBOX_RECIPIENT, c.get()?)?,
        template_key: c.get()?,
        subject: personal_data::open_opt(keys, personal_data::OUTBOX_SUBJECT, c.get()?)?,
        body: personal_data::open(keys, personal_data::OUTBOX_BODY, c.get()?)?,
        status: c.code(OutboxStatus::parse)?,
        attempts: c.get()?,
        next_attempt_at: c.get()?,
        last_error: c.get()?,
        created_at: c.get()?,
        sent_at: c.get()?,
        event_id: c.get()?,
        request_id: c.get()?,
    })
}

const TEMPLATE_COLUMNS: &str = "key, channel, subject, body, updated_at, updated_by";

/// A stored template; `None` for a key or channel this version does not know.
fn stored_template(row: Row) -> StoreResult<Option<StoredTemplate>> {
    let mut c = row.cols();
    let (key, channel): (String, String) = (c.get()?, c.get()?);
    let (Some(key), Some(channel)) = (TemplateKey::parse(&key), NoticeChannel::parse(&channel)) else {
        return Ok(None);
    };
    Ok(Some(StoredTemplate {
        key,
        channel,
        template: Template { subject: c.get()?, body: c.get()? },
        updated_at: c.get()?,
        updated_by: c.get()?,
    }))
}

/// A version to append: the words saved, or none when the stored words were removed.
struct Version<'a> {
    key: TemplateKey,
    channel: NoticeChannel,
    template: Option<&'a Template>,
}

/// Appends a version of a template in the transaction of its change.
async fn append_version(c: &dyn Conn, v: &Version<'_>, at: &Instant, by: &str) -> StoreResult<()> {
    let (subject, body) = v.template.map_or((None, ""), |t| (t.subject.as_deref(), t.body.as_str()));
    c.execute(
        "INSERT INTO notification_template_versions (key, channel, subject, body, deleted, saved_at, saved_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &args![v.key.as_str(), v.channel.as_str(), subject, body, v.template.is_none(), at, by],
    )
    .await
    .map(drop)
}

const VERSION_COLUMNS: &str = "id, subject, body, deleted, saved_at, saved_by";

fn template_version(row: Row, key: TemplateKey, channel: NoticeChannel) -> StoreResult<TemplateVersion> {
    let mut c = row.cols();
    Ok(TemplateVersion {
        id: c.get()?,
        key,
        channel,
        template: Template { subject: c.get()?, body: c.get()? },
        deleted: c.get()?,
        saved_at: c.get()?,
        saved_by: c.get()?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, name, url, secret, active, events, created_at";

fn webhook(row: Row) -> StoreResult<Webhook> {
    let mut c = row.cols();
    Ok(Webhook {
        id: c.get()?,
        name: c.get()?,
        url: c.get()?,
        secret: c.get()?,
        active: c.get()?,
        events: c.json()?,
        created_at: c.get()?,
    })
}
