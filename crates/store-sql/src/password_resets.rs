//! Password-reset codes (短信验证码找回密码), written once for both databases.
//! The code's SMS is an outbox row of the same transaction, so the delivery
//! worker sends it (and retries it) like every other notice.

use mashangban_domain::notify::{self, NoticeChannel, TemplateKey};
use mashangban_domain::org::{AccountAction, UserId};
use mashangban_domain::password_reset::{self, PasswordReset};
use mashangban_domain::time::Instant;
use mashangban_store::{AccountBy, NewPasswordReset, PasswordResetStore, StoreResult, User};

use crate::personal_data;
use crate::rows::{self, USER_COLUMNS};
use crate::sql::{Args, Conn, Database, Row, job};
use crate::{SqlStore, args};

const COLUMNS: &str = "id, user_id, code_hash, salt, created_at, expires_at, attempts, used_at";

fn reset(row: Row) -> StoreResult<PasswordReset> {
    let mut c = row.cols();
    Ok(PasswordReset {
        id: c.get()?,
        user_id: c.get()?,
        code_hash: c.get()?,
        salt: c.get()?,
        created_at: c.get()?,
        expires_at: c.get()?,
        attempts: c.get()?,
        used_at: c.get()?,
    })
}

async fn one(c: &dyn Conn, id: i64) -> StoreResult<PasswordReset> {
    c.map_opt(&format!("SELECT {COLUMNS} FROM password_resets WHERE id = $1"), &args![id], reset)
        .await?
        .ok_or_else(|| mashangban_store::StoreError::backend("a password reset just written is gone"))
}

async fn create(c: &dyn Conn, new: NewPasswordReset) -> StoreResult<PasswordReset> {
    // One live code per account: a new one ends the earlier ones.
    c.execute(
        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        &args![new.user_id, &new.created_at],
    )
    .await?;
    let id: i64 = c
        .scalar(
            "INSERT INTO password_resets (user_id, code_hash, salt, created_at, expires_at, attempts, client_ip)
             VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
            &args![
                new.user_id,
                new.code_hash.as_str(),
                new.salt.as_str(),
                &new.created_at,
                &new.expires_at,
                new.client_ip.as_deref()
            ],
        )
        .await?;
    // The code's SMS in the words of the template in force; the code is in no other row than the SMS's.
    let template = TemplateKey::PasswordResetCode;
    let vars = password_reset::sms_vars(&new.code);
    let text = crate::outbox::render_in_force(c, template, NoticeChannel::Sms, &vars).await?.unwrap_or_default();
    let sms = Sms { key: &format!("password-reset-{id}"), template_key: template.as_str(), phone: &new.phone };
    queue_sms(c, &sms, &text.body, &new.created_at).await?;
    one(c, id).await
}

/// Where an SMS of password reset goes, under which idempotency and template keys.
struct Sms<'a> {
    key: &'a str,
    template_key: &'a str,
    phone: &'a str,
}

/// An SMS of password reset as an outbox row (the delivery worker sends and retries it; the outbox
/// view hides its body). A second row of the same key is dropped.
async fn queue_sms(c: &dyn Conn, sms: &Sms<'_>, text: &str, at: &Instant) -> StoreResult<()> {
    let notice = crate::outbox::Direct {
        key: sms.key,
        channel: NoticeChannel::Sms,
        recipient: sms.phone,
        template_key: Some(sms.template_key),
        subject: None,
        body: text,
        at,
    };
    crate::outbox::queue_direct(c, &notice).await
}

/// The SMS to a shared phone in the words of the template in force (`password_reset.shared_phone`).
async fn queue_shared_phone_sms(c: &dyn Conn, phone: String, usernames: Vec<String>, at: Instant) -> StoreResult<()> {
    let template = TemplateKey::PasswordResetSharedPhone;
    let vars = password_reset::shared_phone_sms_vars(&usernames);
    let text = crate::outbox::render_in_force(c, template, NoticeChannel::Sms, &vars).await?.unwrap_or_default();
    // The key names the phone by its keyed hash, as every outbox key does: the number is sealed in the row.
    let phone_key = notify::recipient_hash(c.personal_data(), &phone);
    let key = format!("password-reset-shared-{phone_key}-{}", at.format("%Y%m%d%H%M"));
    queue_sms(c, &Sms { key: &key, template_key: template.as_str(), phone: &phone }, &text.body, &at).await
}

async fn complete(c: &dyn Conn, id: i64, password_hash: String, now: Instant) -> StoreResult<bool> {
    let user: Option<i64> = c
        .scalar_opt(
            "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING user_id",
            &args![id, &now],
        )
        .await?;
    let Some(user) = user else { return Ok(false) };
    let name: String = c
        .scalar("UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING display_name", &args![user, password_hash])
        .await?;
    // A new password ends every existing session.
    c.execute("DELETE FROM sessions WHERE user_id = $1", &args![user]).await?;
    // Made by the person holding the code sent to the account's phone.
    let by = AccountBy { at: now, user_id: Some(user), name };
    let detail = Some(crate::account_events::SESSIONS_ENDED.to_owned());
    crate::account_events::record(c, user, AccountAction::PasswordResetBySms, detail, &by).await?;
    Ok(true)
}

impl<D: Database> PasswordResetStore for SqlStore<D> {
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        self.db
            .read(job(move |c| {
                Box::pin(async move { c.map_opt(&sql, &args![id], |row| rows::user(row, c.personal_data())).await })
            }))
            .await
    }

    async fn users_with_phone(&self, phone: &str) -> StoreResult<Vec<User>> {
        let phone = phone.to_owned();
        let find = job(move |c| {
            Box::pin(async move {
                // The phone is stored encrypted: an exact match on its keyed hash.
                let mut args = Args::default();
                let matches = personal_data::lookup_sql(c.personal_data(), "phone_hash", "phone", &phone, &mut args);
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {matches} AND NOT disabled ORDER BY id");
                c.map(&sql, args.values(), |row| rows::user(row, c.personal_data())).await
            })
        });
        self.db.read(find).await
    }

    async fn latest_password_reset(&self, user_id: UserId) -> StoreResult<Option<PasswordReset>> {
        let sql = format!("SELECT {COLUMNS} FROM password_resets WHERE user_id = $1 ORDER BY id DESC LIMIT 1");
        self.db.read(job(move |c| Box::pin(async move { c.map_opt(&sql, &args![user_id], reset).await }))).await
    }

    async fn create_password_reset(&self, new: NewPasswordReset) -> StoreResult<PasswordReset> {
        self.db.write(job(move |c| Box::pin(create(c, new)))).await
    }

    async fn queue_shared_phone_sms(&self, phone: &str, usernames: Vec<String>, at: Instant) -> StoreResult<()> {
        let phone = phone.to_owned();
        self.db.write(job(move |c| Box::pin(queue_shared_phone_sms(c, phone, usernames, at)))).await
    }

    async fn password_reset_failed(&self, id: i64) -> StoreResult<()> {
        let count = job(move |c| {
            Box::pin(async move {
                c.execute("UPDATE password_resets SET attempts = attempts + 1 WHERE id = $1", &args![id])
                    .await
                    .map(drop)
            })
        });
        self.db.write(count).await
    }

    async fn complete_password_reset(&self, id: i64, password_hash: String, now: Instant) -> StoreResult<bool> {
        self.db.write(job(move |c| Box::pin(complete(c, id, password_hash, now)))).await
    }
}
