//! Accounts: signing in and out (argon2 passwords, server-side sessions),
//! recognising callers by session or API token, API tokens themselves, and
//! the administration of users (roles, units, disabling, passwords, e-mail).

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use rand::RngCore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::org::{AccountAction, AccountActor, Actor, OrgTree, Role, StaffActor, TokenAction, UnitId};
use mashangban_domain::time::format_instant;
use mashangban_domain::validation::{CreditCode, Phone, mask_phone, required_text};
use mashangban_store::{AccountBy, AccountEvent, ApiToken, NewApiToken, NewSession, NewUser, Store, TokenEvent, User};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller, Via};

/// API tokens start with this, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "msb_";

/// The shortest password accepted (the CLI's rule).
pub const PASSWORD_MIN: usize = 8;

/// A hash to verify against when the user does not exist, so both cases take as long.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0i7Ej5Vy4TnrmVXBFfdJmzzWgXmM7XR0WjuFUMbv7/4";

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| AppError::internal())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A fresh random secret, hex-encoded (256 bits).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new API token secret: `msb_` + 64 hex digits.
pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// Secrets are stored only as their SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The actor of a signed-in user.
pub fn actor_for_user(user: &User, org: &OrgTree) -> Actor {
    if user.role.is_staff() {
        let unit_id = user.unit_id.unwrap_or_default();
        Actor::Staff(StaffActor {
            user_id: Some(user.id),
            name: user.display_name.clone(),
            role: user.role,
            unit_id,
            units: org.subtree(unit_id),
            town_id: org.town_of(unit_id),
        })
    } else {
        Actor::Account(AccountActor {
            user_id: user.id,
            name: user.display_name.clone(),
            role: user.role,
            credit_code: user.credit_code.clone(),
        })
    }
}

/// The actor of a machine client's token: its role and unit, no person.
pub fn actor_for_token(token: &ApiToken, org: &OrgTree) -> Actor {
    let unit_id = token.unit_id.unwrap_or_default();
    Actor::Staff(StaffActor {
        user_id: None,
        name: format!("接口:{}", token.name),
        role: token.role,
        unit_id,
        units: org.subtree(unit_id),
        town_id: org.town_of(unit_id),
    })
}

/// The accounts service: `app.accounts()`.
pub struct Accounts<'a, S> {
    app: &'a App<S>,
}

/// Who the caller is.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Me {
    /// Given on sign-in only.
    pub username: Option<String>,
    pub name: String,
    pub role: &'static str,
    pub role_label: Option<&'static str>,
    pub unit: Option<UnitRef>,
}

/// A sign-in as people send it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

/// A new session: its secret (for the cookie), how long it lasts and who signed in.
pub struct SignedIn {
    pub secret: String,
    pub max_age_seconds: i64,
    pub me: Me,
}

/// What a request carries to prove who sends it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// A `Bearer` API token.
    pub token: Option<&'a str>,
    /// The session cookie's secret.
    pub session: Option<&'a str>,
}

/// A user as administrators see them: the phone masked, never the password hash.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
}

/// The asker's details of a signed-in enterprise or resident account, for the portal's form.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AskerProfile {
    /// The account's enterprise (enterprise accounts).
    pub enterprise: Option<EnterpriseProfile>,
    pub contact_name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseProfile {
    pub name: String,
    pub credit_code: String,
}

/// A new account as administrators send it.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    /// Letters, digits, `-`, `_`, `.`; at most 32.
    pub username: String,
    pub display_name: String,
    /// A role code, e.g. `operator`.
    pub role: String,
    /// The unit's code (staff must have one; accounts none).
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The enterprise's credit code, for enterprise accounts only.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The initial password (at least 8 characters).
    pub password: String,
}

/// A role change as administrators send it.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: String,
    /// The unit's code (staff must have one).
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledInput {
    /// `true` disables (ending the user's sessions), `false` re-enables.
    pub disabled: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub password: String,
}

/// One entry of an account's history (账号变更记录) as administrators see it: phones and e-mail
/// masked, never a password, its hash or a code.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountEventView {
    /// RFC 3339, +08:00.
    pub at: String,
    /// Who made the change: a person's name, `接口:…` for an API token, `命令行`, `系统`.
    pub by: String,
    /// The action's code, e.g. `role_changed`.
    pub action: String,
    pub action_label: &'static str,
    /// What changed.
    pub detail: Option<String>,
}

impl AccountEventView {
    fn new<A: Copy>(e: AccountEvent<A>, code: fn(A) -> &'static str, label: fn(A) -> &'static str) -> Self {
        Self {
            at: format_instant(&e.at),
            by: e.by_name,
            action: code(e.action).to_owned(),
            action_label: label(e.action),
            detail: e.detail,
        }
    }
}

impl From<AccountEvent> for AccountEventView {
    fn from(e: AccountEvent) -> Self {
        Self::new(e, AccountAction::as_str, AccountAction::label)
    }
}

impl From<TokenEvent> for AccountEventView {
    fn from(e: TokenEvent) -> Self {
        Self::new(e, TokenAction::as_str, TokenAction::label)
    }
}

/// An API token (接口令牌) as administrators see it: never its secret or the secret's hash.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    /// RFC 3339, +08:00.
    pub created_at: String,
    /// RFC 3339, +08:00; `null` while it still signs in.
    pub revoked_at: Option<String>,
}

/// A new API token (接口令牌) as administrators send it (the command line's `token create` too).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenInput {
    /// What the token is for, e.g. the client system's name; one line, at most 50 characters.
    pub name: String,
    /// A staff role code, e.g. `operator`.
    pub role: String,
    /// The code of the unit it acts for (every staff role needs one).
    #[serde(default)]
    pub unit: Option<String>,
}

/// A token just created, with its secret: shown this once, only its hash is stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatedApiToken {
    pub token: ApiTokenView,
    /// `msb_` and 64 hex digits, sent as `Authorization: Bearer …`; it cannot be shown again.
    pub secret: String,
}

/// One's own account (我的账号) as one sees it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OwnAccountView {
    pub username: String,
    pub display_name: String,
    pub role_label: &'static str,
    /// The phone on file, masked (SMS copies of inbox entries and password reset codes go to it).
    pub phone: Option<String>,
    /// The e-mail address on file (e-mail copies of inbox entries go to it).
    pub email: Option<String>,
}

/// A change of one's own phone and e-mail (我的联系方式), confirmed with the current password.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnContactInput {
    pub current_password: String,
    /// A mobile number; left out keeps the one on file, empty clears it.
    #[serde(default)]
    pub phone: Option<String>,
    /// An e-mail address; left out keeps the one on file, empty clears it.
    #[serde(default)]
    pub email: Option<String>,
}

/// A change of one's own password (修改密码); every session of the account ends, this one too.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPasswordInput {
    pub current_password: String,
    /// At least 8 characters.
    pub new_password: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    /// The address, or null (or empty) to clear it.
    pub email: Option<String>,
}

impl<'a, S: Store> Accounts<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    // ---- signing in and out ---------------------------------------------------------------

    /// Signs a person in: failures limited per account (from every address)
    /// and per client address (over every account), each attempt reserved
    /// before the password is checked; the same time whether the user exists
    /// or not; a new session.
    pub async fn login(&self, caller: &Caller, input: LoginInput) -> AppResult<SignedIn> {
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let wanted = [(&limiters.login_account, input.username.as_str()), (&limiters.login_address, address)];
        let Some(attempt) = self.app.reserve(&wanted).await? else {
            return Err(AppError::rate_limited("登录失败次数过多，请15分钟后再试"));
        };
        let user = self.app.store().find_user(&input.username).await;
        let user = match user {
            Ok(user) => user,
            Err(e) => {
                self.app.give_back(attempt);
                return Err(e.into());
            }
        };
        let hash = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str()).to_owned();
        let password = input.password;
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|_| AppError::internal())?;
        let user = match user {
            Some(user) if verified && !user.disabled => user,
            _ => {
                // The reserved attempt stays counted: it was a failure.
                drop(attempt);
                return Err(AppError::new(
                    ErrorKind::Unauthenticated,
                    "invalid_credentials",
                    "用户名或密码错误，或账号已停用",
                ));
            }
        };
        // A success is not a failure of the address, and ends the account's run of failures.
        self.app.give_back(attempt);
        self.app.forget(&limiters.login_account, &input.username).await;
        let now = self.app.now();
        let secret = random_secret();
        let hours = self.app.settings().session_hours;
        let session = NewSession {
            token_hash: hash_secret(&secret),
            user_id: user.id,
            created_at: now,
            expires_at: now + chrono::Duration::hours(hours),
            client_ip: caller.client_ip.clone(),
        };
        self.app.store().create_session(session).await?;
        let actor = actor_for_user(&user, &self.app.caches().org());
        Ok(SignedIn { secret, max_age_seconds: hours * 3600, me: self.me_of(&actor, Some(user.username)) })
    }

    /// Ends the caller's session, if they have one.
    pub async fn logout(&self, caller: &Caller) -> AppResult<()> {
        if let Some(hash) = &caller.session_hash {
            self.app.store().delete_session(hash).await?;
        }
        Ok(())
    }

    /// Who the caller is.
    pub fn me(&self, caller: &Caller) -> Me {
        self.me_of(&caller.actor, None)
    }

    fn me_of(&self, actor: &Actor, username: Option<String>) -> Me {
        Me {
            username,
            name: actor.name().to_owned(),
            role: actor.role_str(),
            role_label: actor.role().map(|r| r.label()),
            unit: unit_ref(&self.app.caches().org(), actor.unit_id()),
        }
    }

    /// The caller a request's credentials prove: an API token (refused with
    /// `invalid_token` when unknown or revoked), else a live session, else
    /// nobody. Same-origin checks of cookie sessions are the web layer's.
    pub async fn authenticate(&self, credentials: Credentials<'_>, client_ip: Option<String>) -> AppResult<Caller> {
        if let Some(token) = credentials.token {
            return self
                .token_caller(token, client_ip)
                .await?
                .ok_or_else(|| AppError::new(ErrorKind::Unauthenticated, "invalid_token", "接口令牌无效或已吊销"));
        }
        if let Some(secret) = credentials.session {
            let hash = hash_secret(secret);
            if let Some(user) = self.app.store().session_user(&hash, self.app.now()).await? {
                let actor = actor_for_user(&user, &self.app.caches().org());
                return Ok(Caller { actor, via: Via::Session, client_ip, session_hash: Some(hash) });
            }
        }
        Ok(Caller::anonymous(client_ip))
    }

    /// The caller of an API token's secret, if the token is live.
    pub async fn token_caller(&self, secret: &str, client_ip: Option<String>) -> AppResult<Option<Caller>> {
        let Some(token) = self.app.store().api_token(&hash_secret(secret)).await? else { return Ok(None) };
        let actor = actor_for_token(&token, &self.app.caches().org());
        Ok(Some(Caller { actor, via: Via::Token, client_ip, session_hash: None }))
    }

    /// What the portal's form is prefilled with for a signed-in enterprise or
    /// resident account: its enterprise from the registry (一企一档; the
    /// account's own name where the registry has none), the contact and the
    /// phone on file. None for anyone else.
    pub async fn asker_profile(&self, caller: &Caller) -> AppResult<Option<AskerProfile>> {
        let Actor::Account(account) = &caller.actor else { return Ok(None) };
        let user = self.app.store().user_by_id(account.user_id).await?;
        let record = match &account.credit_code {
            Some(code) => self.app.store().enterprise(code, EnterpriseScope::All).await?,
            None => None,
        };
        let phone = user.and_then(|u| u.phone).or_else(|| record.as_ref().and_then(|r| r.contact_phone.clone()));
        let enterprise = account.credit_code.clone().map(|credit_code| EnterpriseProfile {
            name: record.as_ref().map_or_else(|| account.name.clone(), |r| r.name.clone()),
            credit_code,
        });
        let contact_name = match record.and_then(|r| r.contact_name) {
            Some(contact) => contact,
            None if enterprise.is_some() => String::new(),
            None => account.name.clone(),
        };
        Ok(Some(AskerProfile { enterprise, contact_name, phone: phone.unwrap_or_default() }))
    }

    // ---- users -------------------------------------------------------------------------

    /// Every account, phones masked.
    pub async fn users(&self) -> AppResult<Vec<UserView>> {
        Ok(self.app.store().list_users().await?.iter().map(|u| self.user_view(u)).collect())
    }

    pub fn user_view(&self, u: &User) -> UserView {
        let (unit, unit_name) = self.unit_code_and_name(u.unit_id);
        UserView {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            role_label: u.role.label(),
            unit,
            unit_name,
            phone: u.phone.as_deref().map(mask_phone),
            disabled: u.disabled,
        }
    }

    /// The code and name of a user's or a token's unit, as their views show them.
    fn unit_code_and_name(&self, unit_id: Option<UnitId>) -> (Option<String>, Option<String>) {
        let org = self.app.caches().org();
        let unit = unit_id.and_then(|id| org.get(id));
        (unit.map(|x| x.code.clone()), unit.map(|x| x.name.clone()))
    }

    /// Every API token, oldest first.
    pub async fn api_tokens(&self) -> AppResult<Vec<ApiTokenView>> {
        let tokens = self.app.store().list_api_tokens().await?;
        Ok(tokens.into_iter().map(|t| self.api_token_view(t)).collect())
    }

    fn api_token_view(&self, t: ApiToken) -> ApiTokenView {
        let (unit, unit_name) = self.unit_code_and_name(t.unit_id);
        ApiTokenView {
            id: t.id,
            name: t.name,
            role: t.role,
            role_label: t.role.label(),
            unit,
            unit_name,
            created_at: format_instant(&t.created_at),
            revoked_at: t.revoked_at.as_ref().map(format_instant),
        }
    }

    /// The history of an API token (接口令牌变更记录), oldest first; `404 token_not_found` when
    /// there is none.
    pub async fn api_token_history(&self, id: i64) -> AppResult<Vec<AccountEventView>> {
        let events = self.app.store().api_token_events(id).await?;
        let missing =
            || mashangban_domain::error::DomainError::not_found("token_not_found", format!("令牌 {id} 不存在"));
        let events = events.ok_or_else(missing)?;
        Ok(events.into_iter().map(AccountEventView::from).collect())
    }

    /// Every API token with its history (oldest first), from two reads however many tokens there are.
    pub async fn api_tokens_with_history(&self) -> AppResult<Vec<(ApiTokenView, Vec<AccountEventView>)>> {
        let tokens = self.api_tokens().await?;
        let mut histories: HashMap<i64, Vec<AccountEventView>> = HashMap::new();
        for (token_id, event) in self.app.store().all_api_token_events().await? {
            histories.entry(token_id).or_default().push(event.into());
        }
        Ok(tokens
            .into_iter()
            .map(|t| {
                let history = histories.remove(&t.id).unwrap_or_default();
                (t, history)
            })
            .collect())
    }

    /// Creates an API token for `caller`, an administrator; its history names them.
    pub async fn create_api_token(&self, caller: &Caller, input: ApiTokenInput) -> AppResult<CreatedApiToken> {
        self.create_api_token_by(input, self.by(caller)).await
    }

    /// Creates an API token bound to a staff role and an active unit, made by `by` (an
    /// administrator, or the command line); the secret is returned this once, only its hash stored.
    pub async fn create_api_token_by(&self, input: ApiTokenInput, by: AccountBy) -> AppResult<CreatedApiToken> {
        let name = token_name_field(&input.name)?;
        let role = token_role_field(&input.role)?;
        let unit_id = self.unit_field(input.unit.as_deref())?;
        role.check_unit(unit_id)?;
        let secret = new_api_token();
        let token = NewApiToken { name, token_hash: hash_secret(&secret), role, unit_id };
        let token = self.app.store().create_api_token(token, by).await?;
        Ok(CreatedApiToken { token: self.api_token_view(token), secret })
    }

    /// Revokes an API token for `caller`, an administrator; its history names them.
    pub async fn revoke_api_token(&self, caller: &Caller, id: i64) -> AppResult<()> {
        self.revoke_api_token_by(id, self.by(caller)).await
    }

    /// Revokes an API token at once: every node looks tokens up in the store on each request, so
    /// no cache keeps it working. `404 token_not_found`, `409 token_already_revoked`.
    pub async fn revoke_api_token_by(&self, id: i64, by: AccountBy) -> AppResult<()> {
        Ok(self.app.store().revoke_api_token(id, by).await?)
    }

    /// The history of an account (账号变更记录), oldest first; `404 user_not_found` when there is none.
    pub async fn history(&self, username: &str) -> AppResult<Vec<AccountEventView>> {
        let events = self.app.store().account_events(username).await?;
        let events = events.ok_or_else(|| mashangban_store::backend::user_not_found(username))?;
        Ok(events.into_iter().map(AccountEventView::from).collect())
    }

    /// Who makes a change of an account, now.
    fn by(&self, caller: &Caller) -> AccountBy {
        AccountBy::actor(&caller.actor, self.app.now())
    }

    /// Creates an account with its initial password.
    pub async fn create_user(&self, caller: &Caller, input: NewUserInput) -> AppResult<UserView> {
        let username = code_field("用户名", &input.username)?;
        let display_name = required_text("姓名", &input.display_name, 50)?;
        let role = role_field(&input.role)?;
        let unit_id = self.unit_field(input.unit.as_deref())?;
        role.check_unit(unit_id)?;
        let phone = blank_to_none(input.phone).map(|p| Phone::parse(&p).map(|p| p.as_str().to_owned())).transpose()?;
        let credit_code = credit_code_field(role, input.credit_code)?;
        let password_hash = password_field(&input.password)?;
        let user = NewUser { username, display_name, role, unit_id, credit_code, phone, password_hash };
        let user = self.app.store().create_user(user, self.by(caller)).await?;
        Ok(self.user_view(&user))
    }

    /// Changes a user's role and unit (their sessions end). An administrator
    /// cannot take the admin role from themselves.
    pub async fn change_role(&self, caller: &Caller, username: &str, input: RoleInput) -> AppResult<UserView> {
        let role = role_field(&input.role)?;
        let unit_id = self.unit_field(input.unit.as_deref())?;
        role.check_unit(unit_id)?;
        if self.is_own(caller, username).await? && role != Role::Admin {
            return Err(AppError::invalid("own_admin_role", "不能取消自己的管理员角色"));
        }
        let user = self.app.store().set_user_role(username, role, unit_id, self.by(caller)).await?;
        Ok(self.user_view(&user))
    }

    /// Disables (ending their sessions) or re-enables an account; never one's own.
    pub async fn set_disabled(&self, caller: &Caller, username: &str, disabled: bool) -> AppResult<()> {
        if disabled && self.is_own(caller, username).await? {
            return Err(AppError::invalid("own_account", "不能停用自己的账号"));
        }
        Ok(self.app.store().set_user_disabled(username, disabled, self.by(caller)).await?)
    }

    /// Sets a new password (the user's sessions end).
    pub async fn reset_password(&self, caller: &Caller, username: &str, password: &str) -> AppResult<()> {
        let hash = password_field(password)?;
        Ok(self.app.store().set_password(username, hash, self.by(caller)).await?)
    }

    /// Sets or clears a user's e-mail address for notices.
    pub async fn set_email(&self, caller: &Caller, username: &str, input: EmailInput) -> AppResult<()> {
        let email = input
            .email
            .filter(|e| !e.trim().is_empty())
            .map(|e| mashangban_domain::notify::parse_email(&e))
            .transpose()?;
        Ok(self.app.store().set_user_email(username, email, self.by(caller)).await?)
    }

    // ---- one's own account (我的账号) -----------------------------------------------

    /// The signed-in person's own account: name, role, phone (masked) and e-mail.
    pub async fn own_account(&self, caller: &Caller) -> AppResult<OwnAccountView> {
        let user = self.own_user(caller).await?;
        let (phone, email) = self.app.store().inbox_contacts(user.id).await?;
        Ok(OwnAccountView {
            username: user.username,
            display_name: user.display_name,
            role_label: user.role.label(),
            phone: phone.filter(|p| !p.trim().is_empty()).as_deref().map(mask_phone),
            email: email.filter(|e| !e.trim().is_empty()),
        })
    }

    /// Sets one's own phone and e-mail after checking the current password.
    pub async fn set_own_contact(&self, caller: &Caller, input: OwnContactInput) -> AppResult<OwnAccountView> {
        let phone = input
            .phone
            .map(|p| blank_to_none(Some(p)).map(|p| Phone::parse(&p).map(|p| p.as_str().to_owned())).transpose())
            .transpose()?;
        let email = input
            .email
            .map(|e| blank_to_none(Some(e)).map(|e| mashangban_domain::notify::parse_email(&e)).transpose())
            .transpose()?;
        let user = self.check_own_password(caller, input.current_password).await?;
        let (old_phone, old_email) = self.app.store().inbox_contacts(user.id).await?;
        let phone = phone.unwrap_or(old_phone);
        let email = email.unwrap_or(old_email);
        self.app.store().set_user_contact(&user.username, phone, email, self.by(caller)).await?;
        self.own_account(caller).await
    }

    /// Sets one's own new password after checking the current one; every session of the account ends.
    pub async fn change_own_password(&self, caller: &Caller, input: OwnPasswordInput) -> AppResult<()> {
        let hash = password_field(&input.new_password)?;
        let user = self.check_own_password(caller, input.current_password).await?;
        Ok(self.app.store().set_password(&user.username, hash, self.by(caller)).await?)
    }

    /// The signed-in person's user (an API token acting as a machine has none: `404 account_needs_person`).
    async fn own_user(&self, caller: &Caller) -> AppResult<User> {
        let Some(id) = caller.actor.user_id() else {
            // Admitted as signed in, but a machine has no account of its own (as `inbox_needs_person`).
            return Err(AppError::not_found("account_needs_person", "接口令牌没有个人账号，请以本人账号登录"));
        };
        let user = self.app.store().user_by_id(id).await?;
        user.filter(|u| !u.disabled).ok_or_else(AppError::unauthenticated)
    }

    /// The caller's user when `password` is their current one. A wrong password counts as a failed
    /// sign-in of the account and the address, so the form cannot be used to guess it.
    async fn check_own_password(&self, caller: &Caller, password: String) -> AppResult<User> {
        let user = self.own_user(caller).await?;
        let limiters = self.app.limiters();
        let address = caller.client_ip.as_deref().unwrap_or("-");
        let wanted = [(&limiters.login_account, user.username.as_str()), (&limiters.login_address, address)];
        let Some(attempt) = self.app.reserve(&wanted).await? else {
            return Err(AppError::rate_limited("密码错误次数过多，请15分钟后再试"));
        };
        let hash = user.password_hash.clone();
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|_| AppError::internal())?;
        if !verified {
            drop(attempt);
            return Err(AppError::invalid("current_password_wrong", "当前密码不正确"));
        }
        self.app.give_back(attempt);
        Ok(user)
    }

    async fn is_own(&self, caller: &Caller, username: &str) -> AppResult<bool> {
        let user = self.app.store().find_user(username).await?;
        Ok(user.is_some_and(|u| Some(u.id) == caller.actor.user_id()))
    }

    /// The unit id of a code (blank: none); unknown or deactivated is refused.
    fn unit_field(&self, code: Option<&str>) -> AppResult<Option<UnitId>> {
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(None) };
        let org = self.app.caches().org();
        let unit = org.units().find(|u| u.code == code && u.active);
        unit.map(|u| Some(u.id))
            .ok_or_else(|| AppError::invalid("unknown_unit", format!("单位「{code}」不存在或已撤销")))
    }
}

/// A stable ASCII code (units, categories, usernames): letters, digits, `-`, `_`, `.`; at most 32.
pub fn code_field(label: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 32
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(AppError::invalid("invalid_code", format!("「{label}」只能由字母、数字、-、_、. 组成，不超过32位")))
    }
}

/// A trimmed value, or none when blank.
pub fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The longest name of an API token, in characters.
pub const TOKEN_NAME_MAX: usize = 50;

/// A token's name: one line of text (no line breaks or tabs either), at most [`TOKEN_NAME_MAX`].
fn token_name_field(value: &str) -> AppResult<String> {
    const LABEL: &str = "令牌名称";
    let name = required_text(LABEL, value, TOKEN_NAME_MAX)?;
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid("invalid_text", format!("「{LABEL}」含有不允许的控制字符")));
    }
    Ok(name)
}

/// A token's role: a staff role (`-` may stand for `_`, as on the command line). `invalid_role`
/// names the choices; `token_role_not_staff` for an enterprise or resident role.
fn token_role_field(value: &str) -> AppResult<Role> {
    let value = value.trim();
    let Some(role) = Role::parse(&value.replace('-', "_")) else {
        let staff: Vec<&str> = Role::ALL.iter().filter(|r| r.is_staff()).map(|r| r.as_str()).collect();
        return Err(AppError::invalid("invalid_role", format!("角色「{value}」不存在；可选：{}", staff.join("、"))));
    };
    if !role.is_staff() {
        return Err(AppError::invalid("token_role_not_staff", "接口令牌只能绑定工作人员角色"));
    }
    Ok(role)
}

fn role_field(value: &str) -> AppResult<Role> {
    Role::parse(value.trim()).ok_or_else(|| AppError::invalid("invalid_role", "请选择角色"))
}

/// Enterprise accounts carry their enterprise's credit code (it decides what
/// they see); no other account has one.
fn credit_code_field(role: Role, value: Option<String>) -> AppResult<Option<String>> {
    match (role, blank_to_none(value)) {
        (Role::Enterprise, Some(code)) => Ok(Some(CreditCode::parse(&code)?.as_str().to_owned())),
        (Role::Enterprise, None) => Err(AppError::invalid("credit_code_required", "企业账号须填写统一社会信用代码")),
        (_, Some(_)) => Err(AppError::invalid("credit_code_not_allowed", "只有企业账号填写统一社会信用代码")),
        (_, None) => Ok(None),
    }
}

pub(crate) fn password_field(password: &str) -> AppResult<String> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(AppError::invalid("weak_password", format!("密码至少{PASSWORD_MIN}位")));
    }
    if password.chars().count() > 128 {
        return Err(AppError::invalid("invalid_password", "密码不能超过128位"));
    }
    hash_password(password)
}
