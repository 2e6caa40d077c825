//! Password reset by SMS code (短信验证码找回密码): the rules of a code — six
//! digits, kept only as a salted hash, valid for ten minutes, a few wrong
//! tries, one live code per account — and the one refusal every failed
//! confirmation answers, so the answer never tells whether an account exists.

use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::org::UserId;
use crate::time::Instant;

/// Digits of a code.
pub const CODE_DIGITS: usize = 6;
/// Minutes a code stays valid.
pub const VALID_MINUTES: i64 = 10;
/// Wrong codes tried before the code is spent.
pub const MAX_ATTEMPTS: u32 = 5;
/// Seconds before another code may be sent to the same account (a resend inside it sends nothing).
pub const RESEND_SECONDS: i64 = 60;
/// The outbox's template key of the password-reset SMS queued before they were notification templates
/// (the code's, and the one to a phone several accounts share); the outbox view hides these bodies.
pub const SMS_TEMPLATE_KEY: &str = "password_reset";

/// Whether an outbox row of this template key is a password-reset SMS, whose body (a code, or the
/// accounts of a phone) the outbox view does not show: [`SMS_TEMPLATE_KEY`] and the templates
/// `password_reset.code` and `password_reset.shared_phone`.
pub fn hides_body(template_key: &str) -> bool {
    use crate::notify::TemplateKey;
    template_key == SMS_TEMPLATE_KEY
        || template_key == TemplateKey::PasswordResetCode.as_str()
        || template_key == TemplateKey::PasswordResetSharedPhone.as_str()
}

/// A code sent to an account's phone, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub id: i64,
    pub user_id: UserId,
    /// SHA-256 of the salt and the code, hex.
    pub code_hash: String,
    pub salt: String,
    pub created_at: Instant,
    pub expires_at: Instant,
    /// Wrong codes tried so far.
    pub attempts: u32,
    pub used_at: Option<Instant>,
}

/// The hash a code is kept as.
pub fn code_hash(salt: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

/// The variables of the SMS that carries a code (the notification template `password_reset.code`):
/// the code and the minutes it stays valid.
pub fn sms_vars(code: &str) -> crate::notify::Vars {
    let mut vars = crate::notify::Vars::new();
    vars.insert("code", code.to_owned());
    vars.insert("minutes", VALID_MINUTES.to_string());
    vars
}

/// Accounts an SMS to a shared phone names at most.
const NAMED_ACCOUNTS_MAX: usize = 5;

/// The variables of the SMS to a phone that several accounts have on file (the notification template
/// `password_reset.shared_phone`, which says that a code goes to one of them by its username, a code being
/// for one account): `accounts`, the first usernames joined by 、 (with 等 when there are more), and
/// `count`, how many accounts.
pub fn shared_phone_sms_vars(usernames: &[String]) -> crate::notify::Vars {
    let named: Vec<&str> = usernames.iter().take(NAMED_ACCOUNTS_MAX).map(String::as_str).collect();
    let more = if usernames.len() > named.len() { "等" } else { "" };
    let mut vars = crate::notify::Vars::new();
    vars.insert("accounts", format!("{}{more}", named.join("、")));
    vars.insert("count", usernames.len().to_string());
    vars
}

/// The one refusal of a confirmation: wrong, expired, spent or no code at all (nor account).
pub fn code_refused() -> DomainError {
    DomainError::invalid("reset_code_invalid", "验证码不正确或已失效，请核对或重新获取验证码")
}

/// What a typed code does to a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The code matches a live reset.
    Accepted,
    /// A wrong code against a live reset: counts as an attempt.
    Wrong,
    /// Expired, used or out of attempts: refused without counting.
    Dead,
}

impl PasswordReset {
    /// Whether the code may still be tried at `now`.
    pub fn is_live(&self, now: Instant) -> bool {
        self.used_at.is_none() && now < self.expires_at && self.attempts < MAX_ATTEMPTS
    }

    /// Checks a typed code (compared in constant time).
    pub fn check(&self, code: &str, now: Instant) -> Check {
        if !self.is_live(now) {
            return Check::Dead;
        }
        let typed = code_hash(&self.salt, code.trim());
        let same = typed.len() == self.code_hash.len()
            && typed.bytes().zip(self.code_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same { Check::Accepted } else { Check::Wrong }
    }

    /// Whether a new code for the same account must wait (sent less than [`RESEND_SECONDS`] ago).
    pub fn holds_resend(&self, now: Instant) -> bool {
        self.used_at.is_none() && (now - self.created_at).num_seconds() < RESEND_SECONDS
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reset(at: &str) -> PasswordReset {
        let created_at = crate::time::parse_instant(at).unwrap();
        PasswordReset {
            id: 1,
            user_id: 7,
            code_hash: code_hash("salt", "123456"),
            salt: "salt".into(),
            created_at,
            expires_at: created_at + chrono::Duration::minutes(VALID_MINUTES),
            attempts: 0,
            used_at: None,
        }
    }

    #[test]
    fn a_code_is_accepted_once_live_and_refused_when_wrong_expired_or_spent() {
        let r = reset("2026-12-04T10:00:00+08:00");
        let at = |s: &str| crate::time::parse_instant(s).unwrap();
        assert_eq!(r.check(" 123456 ", at("2026-12-04T10:05:00+08:00")), Check::Accepted);
        assert_eq!(r.check("123457", at("2026-12-04T10:05:00+08:00")), Check::Wrong);
        assert_eq!(r.check("123456", at("2026-12-04T10:10:00+08:00")), Check::Dead, "expired");
        let spent = PasswordReset { attempts: MAX_ATTEMPTS, ..r.clone() };
        assert_eq!(spent.check("123456", at("2026-12-04T10:01:00+08:00")), Check::Dead);
        let used = PasswordReset { used_at: Some(at("2026-12-04T10:01:00+08:00")), ..r.clone() };
        assert_eq!(used.check("123456", at("2026-12-04T10:02:00+08:00")), Check::Dead);
        assert!(r.holds_resend(at("2026-12-04T10:00:59+08:00")));
        assert!(!r.holds_resend(at("2026-12-04T10:01:00+08:00")));
    }

    #[test]
    fn the_sms_carries_the_code_and_how_long_it_lasts() {
        use crate::notify::{NoticeChannel, TemplateKey, default_template, render};
        let template = default_template(TemplateKey::PasswordResetCode, NoticeChannel::Sms).unwrap();
        let text = render(&template.body, &sms_vars("042917"));
        assert_eq!(
            text,
            "【马上办】您的密码重置验证码为042917，10分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。"
        );
        assert!(hides_body("password_reset") && hides_body("password_reset.code"));
        assert!(hides_body("password_reset.shared_phone"));
        assert!(!hides_body("asker.accepted"));
    }

    #[test]
    fn the_shared_phone_sms_names_at_most_five_accounts_in_the_words_it_had_before_it_was_a_template() {
        use crate::notify::{NoticeChannel, TemplateKey, default_template, render};
        let template = default_template(TemplateKey::PasswordResetSharedPhone, NoticeChannel::Sms).unwrap();
        let names = |n: usize| (1..=n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        assert_eq!(
            render(&template.body, &shared_phone_sms_vars(&names(2))),
            "【马上办】本手机号登记了2个账号（u1、u2）。找回密码时请输入其中一个账号的用户名获取验证码。如非本人操作，请忽略本短信。"
        );
        let seven = render(&template.body, &shared_phone_sms_vars(&names(7)));
        assert!(seven.contains("登记了7个账号（u1、u2、u3、u4、u5等）"), "{seven}");
    }
}
