//! Password reset by SMS code (忘记密码): someone types an account's username
//! or the phone on file; if that is one enabled account with a phone, a
//! six-digit code goes to the phone through the configured SMS gateway (an
//! outbox row, so the delivery worker sends and retries it). The code and a
//! new password then set the password and end every session of the account.
//! Staff accounts may reset this way too when their phone is on file.
//!
//! The answer to a request for a code is the same whether the account exists,
//! has a phone, or was sent a code less than a minute ago, and it takes at
//! least [`ANSWER_FLOOR`] either way, so neither its words nor its time tell
//! which accounts exist; requests are limited per name or phone typed and per
//! client address, wrong codes per code and (as failed sign-ins) per client
//! address. A phone several accounts share gets an SMS naming them instead of
//! a code (a code is for one account): the person then types a username.

use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::password_reset::{self, Check, VALID_MINUTES};
use mashangban_domain::validation::Phone;
use mashangban_store::{NewPasswordReset, Store, User};

use crate::accounts::{password_field, random_secret};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::{App, Caller};

/// The longest account name or phone accepted.
const ACCOUNT_MAX_CHARS: usize = 64;

/// The least time an answer to a request for a code takes: longer than
/// looking up an account and queueing its SMS, so both answers take the same.
pub const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(300);

/// What the answer to a request for a code says, whatever happened.
pub const CODE_SENT: &str = "如该账号存在且登记了手机号，验证码已通过短信发送，10分钟内有效。";

/// The password-reset service: `app.password_resets()`.
pub struct PasswordResets<'a, S> {
    app: &'a App<S>,
}

/// A request for a code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetCodeInput {
    /// The username, or the mobile number on file.
    pub account: String,
}

/// The answer to a request for a code: the same for every account name.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResetCodeAnswer {
    pub message: &'static str,
    /// Minutes a code stays valid.
    pub valid_minutes: i64,
}

/// A code with the new password.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmInput {
    /// The username or phone typed when the code was asked for.
    pub account: String,
    /// The six-digit code of the SMS.
    pub code: String,
    /// The new password (at least 8 characters).
    pub password: String,
}

impl<'a, S: Store> PasswordResets<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Whether codes can be sent: an SMS gateway is configured.
    pub fn available(&self) -> bool {
        self.app.settings().sms_gateway
    }

    /// Sends a code to the account's phone, if there is one account of that name or phone with a phone.
    pub async fn send_code(&self, caller: &Caller, input: ResetCodeInput) -> AppResult<ResetCodeAnswer> {
        self.require_gateway()?;
        let account = account_field(&input.account)?;
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let wanted = [(&limiters.reset_account, account.as_str()), (&limiters.reset_address, address)];
        // Every request counts, sent or not: the limit must not tell which accounts exist.
        let Some(_counted) = self.app.reserve(&wanted).await? else {
            return Err(AppError::rate_limited("获取验证码过于频繁，请一小时后再试"));
        };
        let answer_at = tokio::time::Instant::now() + ANSWER_FLOOR;
        match self.resolve(&account).await? {
            Resolved::One(user) => {
                if let Some((user, phone)) = with_phone(user) {
                    self.send_to(caller, &user, phone).await?;
                }
            }
            Resolved::SharedPhone(phone, users) => {
                // Worded by the notification template in force (`password_reset.shared_phone`).
                let names: Vec<String> = users.into_iter().map(|u| u.username).collect();
                self.app.store().queue_shared_phone_sms(&phone, names, self.app.now()).await?;
            }
            Resolved::Nobody => {}
        }
        tokio::time::sleep_until(answer_at).await;
        Ok(ResetCodeAnswer { message: CODE_SENT, valid_minutes: VALID_MINUTES })
    }

    /// Sets the new password when the code is the account's live one, ending every session of the account.
    pub async fn confirm(&self, caller: &Caller, input: ResetConfirmInput) -> AppResult<()> {
        self.require_gateway()?;
        let account = account_field(&input.account)?;
        let password_hash = password_field(&input.password)?;
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        // A wrong code is a failed sign-in of the address (the sign-in throttle's count).
        let Some(attempt) = self.app.reserve(&[(&limiters.login_address, address)]).await? else {
            return Err(AppError::rate_limited("尝试次数过多，请15分钟后再试"));
        };
        let reset = match self.resolve(&account).await? {
            Resolved::One(user) => self.app.store().latest_password_reset(user.id).await?,
            Resolved::SharedPhone(..) | Resolved::Nobody => None,
        };
        let now = self.app.now();
        let Some(reset) = reset else { return Err(password_reset::code_refused().into()) };
        match reset.check(&input.code, now) {
            Check::Accepted => {
                // False when a double post spent the code first.
                if self.app.store().complete_password_reset(reset.id, password_hash, now).await? {
                    self.app.give_back(attempt);
                    return Ok(());
                }
            }
            Check::Wrong => self.app.store().password_reset_failed(reset.id).await?,
            Check::Dead => {}
        }
        Err(password_reset::code_refused().into())
    }

    fn require_gateway(&self) -> AppResult<()> {
        if self.available() {
            return Ok(());
        }
        Err(AppError::new(
            ErrorKind::Conflict,
            "sms_reset_unavailable",
            "本平台未配置短信网关，暂不能通过短信验证码找回密码，请联系管理员重置密码",
        ))
    }

    /// The one enabled account of a username or of a phone on file, or the
    /// accounts sharing the phone typed.
    async fn resolve(&self, account: &str) -> AppResult<Resolved> {
        let store = self.app.store();
        if let Ok(phone) = Phone::parse(account) {
            let mut users = store.users_with_phone(phone.as_str()).await?;
            return Ok(match users.len() {
                0 => Resolved::Nobody,
                1 => users.pop().map_or(Resolved::Nobody, Resolved::One),
                _ => Resolved::SharedPhone(phone.as_str().to_owned(), users),
            });
        }
        Ok(store.find_user(account).await?.filter(|u| !u.disabled).map_or(Resolved::Nobody, Resolved::One))
    }

    /// A new code to the phone, unless one went less than a minute ago.
    async fn send_to(&self, caller: &Caller, user: &User, phone: String) -> AppResult<()> {
        let store = self.app.store();
        let now = self.app.now();
        if store.latest_password_reset(user.id).await?.is_some_and(|r| r.holds_resend(now)) {
            return Ok(());
        }
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let salt = random_secret();
        let new = NewPasswordReset {
            user_id: user.id,
            code_hash: password_reset::code_hash(&salt, &code),
            salt,
            created_at: now,
            expires_at: now + chrono::Duration::minutes(VALID_MINUTES),
            client_ip: caller.client_ip.clone(),
            phone,
            code,
        };
        store.create_password_reset(new).await?;
        Ok(())
    }
}

/// Whose password a name or phone typed resets.
enum Resolved {
    One(User),
    /// A phone that several enabled accounts have on file, with them.
    SharedPhone(String, Vec<User>),
    Nobody,
}

/// The account and its phone, when it has one.
fn with_phone(user: User) -> Option<(User, String)> {
    let phone = user.phone.clone().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty())?;
    Some((user, phone))
}

/// The name or phone typed, trimmed and bounded.
fn account_field(value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > ACCOUNT_MAX_CHARS {
        return Err(AppError::invalid("account_required", "请填写用户名或登记的手机号"));
    }
    Ok(value.to_owned())
}
