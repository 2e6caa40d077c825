//! Storage of password-reset codes (短信验证码找回密码) and the lookups of
//! accounts they need. A new code and its SMS (an outbox row) are written in
//! one transaction; a confirmed code changes the password and ends every
//! session of the account in one transaction.

use std::future::Future;

use mashangban_domain::org::UserId;
use mashangban_domain::password_reset::PasswordReset;
use mashangban_domain::time::Instant;

use crate::{StoreResult, User};

/// A code to store, with the SMS that carries it (its `Debug` does not show the code).
#[derive(Clone)]
pub struct NewPasswordReset {
    pub user_id: UserId,
    pub code_hash: String,
    pub salt: String,
    pub created_at: Instant,
    pub expires_at: Instant,
    pub client_ip: Option<String>,
    /// The phone the SMS goes to.
    pub phone: String,
    /// The code the SMS carries (kept only as `code_hash`): the store renders the notification template
    /// in force (`password_reset.code`) with it in the code's transaction; the outbox view hides the text.
    pub code: String,
}

impl std::fmt::Debug for NewPasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPasswordReset")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("client_ip", &self.client_ip)
            .field("code", &"******")
            .finish_non_exhaustive()
    }
}

/// Storage of password-reset codes.
pub trait PasswordResetStore {
    /// A user by id.
    fn user_by_id(&self, id: UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;

    /// The enabled users whose phone on file is `phone`.
    fn users_with_phone(&self, phone: &str) -> impl Future<Output = StoreResult<Vec<User>>> + Send;

    /// The user's latest code, used or not.
    fn latest_password_reset(&self, user_id: UserId)
    -> impl Future<Output = StoreResult<Option<PasswordReset>>> + Send;

    /// Stores a code (ending the user's earlier unused ones) and queues its SMS, rendered by the
    /// notification template in force (`password_reset.code`).
    fn create_password_reset(&self, new: NewPasswordReset) -> impl Future<Output = StoreResult<PasswordReset>> + Send;

    /// Queues the SMS to a phone several accounts share (naming `usernames`, no code), rendered by the
    /// notification template in force (`password_reset.shared_phone`), at most one per phone and minute:
    /// a second within the minute is dropped.
    fn queue_shared_phone_sms(
        &self,
        phone: &str,
        usernames: Vec<String>,
        at: Instant,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Counts a wrong code against a reset.
    fn password_reset_failed(&self, id: i64) -> impl Future<Output = StoreResult<()>> + Send;

    /// Spends a live code: sets the password and ends every session of its
    /// user. False when the code was spent meanwhile (another node, a double post).
    fn complete_password_reset(
        &self,
        id: i64,
        password_hash: String,
        now: Instant,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
