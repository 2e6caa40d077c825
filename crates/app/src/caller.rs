//! Who calls a use case, and from where: the first argument of every
//! service method. The web layer builds it from a session cookie or an API
//! token ([`crate::accounts::Accounts::authenticate`]); background jobs use
//! [`Caller::system`].

use mashangban_domain::access::{Access, Permission, Refusal};
use mashangban_domain::org::Actor;
use mashangban_store::Meta;

use crate::error::{AppError, AppResult};

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Anonymous,
    /// A person's session (cookie).
    Session,
    /// A machine client's API token (Bearer, or Open311's `api_key`).
    Token,
    /// The platform itself (scheduler, workers).
    System,
}

/// The caller of a use case.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub via: Via,
    /// The client's address, for the audit trail and rate limits.
    pub client_ip: Option<String>,
    /// The session's hash when signed in by cookie (sign-out ends it).
    pub session_hash: Option<String>,
}

impl Caller {
    /// Someone not signed in, from `client_ip`.
    pub fn anonymous(client_ip: Option<String>) -> Self {
        Self { actor: Actor::Anonymous, via: Via::Anonymous, client_ip, session_hash: None }
    }

    /// The platform's own jobs.
    pub fn system() -> Self {
        Self { actor: Actor::System, via: Via::System, client_ip: None, session_hash: None }
    }

    /// The same client as someone not signed in (the public portal is anonymous
    /// even for a person who is also signed in as staff).
    pub fn as_anonymous(&self) -> Self {
        Self::anonymous(self.client_ip.clone())
    }

    /// The store's record of when and from where (the audit trail).
    pub fn meta(&self, now: mashangban_domain::time::Instant) -> Meta {
        Meta { now, client_ip: self.client_ip.clone() }
    }

    /// Whether the caller's role grants `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.actor.may(permission)
    }

    /// The actor, if they pass `access`: `unauthenticated` (401) or
    /// `permission_denied` (403) naming the missing permission otherwise. The
    /// web layer's guard checks every route's declared access with it.
    pub fn require(&self, access: impl Into<Access>) -> AppResult<&Actor> {
        match access.into().check(&self.actor) {
            Ok(()) => Ok(&self.actor),
            Err(Refusal::Unauthenticated) => Err(AppError::unauthenticated()),
            Err(Refusal::Forbidden(p)) => Err(AppError::forbidden(p.refusal())),
        }
    }
}
