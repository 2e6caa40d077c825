//! Accounts' histories (账号变更记录) and API tokens' (接口令牌变更记录): each change of a user or
//! a token writes an entry naming who made it, what and when, SM3-sealed
//! ([`crate::audit::ACCOUNTS`], [`crate::audit::API_TOKENS`]) in the change's transaction. Details
//! mask phones and e-mail and never hold a password, a token's secret, their hashes or a code.

use mashangban_domain::org::{AccountAction, Role, TokenAction, UnitId, UserId};
use mashangban_domain::validation::{mask_email, mask_phone};
use mashangban_store::{AccountBy, AccountEvent, StoreResult, TokenEvent};

use crate::args;
use crate::audit::SealedHistory;
use crate::sql::{Cols, Conn, Row};

/// The detail of a change that ends the account's sessions.
pub(crate) const SESSIONS_ENDED: &str = "已退出全部登录";

/// A history of changes to one kind of record: its events table, the column naming the record
/// and its seals.
struct ChangeLog {
    table: &'static str,
    owner: &'static str,
    seals: &'static SealedHistory,
}

const ACCOUNTS: ChangeLog = ChangeLog { table: "account_events", owner: "user_id", seals: &crate::audit::ACCOUNTS };
const API_TOKENS: ChangeLog =
    ChangeLog { table: "api_token_events", owner: "token_id", seals: &crate::audit::API_TOKENS };

impl ChangeLog {
    /// Writes and seals an entry of record `owner_id`'s history; the record's row is locked first
    /// (or new in the transaction), so its chain of seals has one writer at a time.
    async fn record(
        &self,
        c: &dyn Conn,
        owner_id: i64,
        action: &str,
        detail: Option<String>,
        by: &AccountBy,
    ) -> StoreResult<()> {
        self.seals.lock(c, owner_id).await?;
        let sql = format!(
            "INSERT INTO {} ({}, at, by_name, by_user, action, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            self.table, self.owner
        );
        let id: i64 = c.scalar(&sql, &args![owner_id, &by.at, by.name.as_str(), by.user_id, action, detail]).await?;
        self.seals.seal(c, owner_id, id).await
    }

    /// Record `owner_id`'s history, oldest first.
    async fn events<A>(
        &self,
        c: &dyn Conn,
        owner_id: i64,
        parse: fn(&str) -> Option<A>,
    ) -> StoreResult<Vec<AccountEvent<A>>> {
        let sql = format!(
            "SELECT id, at, by_name, by_user, action, detail FROM {} WHERE {} = $1 ORDER BY id",
            self.table, self.owner
        );
        c.map(&sql, &args![owner_id], |row| event(row, parse)).await
    }

    /// Every record's history in one query, each entry with its record's id, oldest first.
    async fn all_events<A>(
        &self,
        c: &dyn Conn,
        parse: fn(&str) -> Option<A>,
    ) -> StoreResult<Vec<(i64, AccountEvent<A>)>> {
        let sql =
            format!("SELECT {}, id, at, by_name, by_user, action, detail FROM {} ORDER BY id", self.owner, self.table);
        c.map(&sql, &[], |row| {
            let mut cols = row.cols();
            let owner_id = cols.get()?;
            Ok((owner_id, event_of(&mut cols, parse)?))
        })
        .await
    }
}

/// Writes and seals an entry of user `user_id`'s history.
pub(crate) async fn record(
    c: &dyn Conn,
    user_id: UserId,
    action: AccountAction,
    detail: Option<String>,
    by: &AccountBy,
) -> StoreResult<()> {
    ACCOUNTS.record(c, user_id, action.as_str(), detail, by).await
}

/// Writes and seals an entry of API token `token_id`'s history.
pub(crate) async fn record_token(
    c: &dyn Conn,
    token_id: i64,
    action: TokenAction,
    detail: Option<String>,
    by: &AccountBy,
) -> StoreResult<()> {
    API_TOKENS.record(c, token_id, action.as_str(), detail, by).await
}

/// The history of the user named `username`, oldest first; `None` when there is no such user.
pub(crate) async fn events(c: &dyn Conn, username: &str) -> StoreResult<Option<Vec<AccountEvent>>> {
    let Some(user_id) = c.scalar_opt::<i64>("SELECT id FROM users WHERE username = $1", &args![username]).await? else {
        return Ok(None);
    };
    ACCOUNTS.events(c, user_id, AccountAction::parse).await.map(Some)
}

/// The history of API token `id`, oldest first; `None` when there is no such token.
pub(crate) async fn token_events(c: &dyn Conn, id: i64) -> StoreResult<Option<Vec<TokenEvent>>> {
    if c.scalar_opt::<i64>("SELECT id FROM api_tokens WHERE id = $1", &args![id]).await?.is_none() {
        return Ok(None);
    }
    API_TOKENS.events(c, id, TokenAction::parse).await.map(Some)
}

/// Every API token's history, each entry with its token's id, oldest first.
pub(crate) async fn all_token_events(c: &dyn Conn) -> StoreResult<Vec<(i64, TokenEvent)>> {
    API_TOKENS.all_events(c, TokenAction::parse).await
}

fn event<A>(row: Row, parse: fn(&str) -> Option<A>) -> StoreResult<AccountEvent<A>> {
    event_of(&mut row.cols(), parse)
}

fn event_of<A>(c: &mut Cols, parse: fn(&str) -> Option<A>) -> StoreResult<AccountEvent<A>> {
    Ok(AccountEvent {
        id: c.get()?,
        at: c.get()?,
        by_name: c.get()?,
        by_user: c.get()?,
        action: c.code(parse)?,
        detail: c.get()?,
    })
}

/// A role and its unit as a detail shows them: `经办人（某某局）`.
pub(crate) async fn role_text(c: &dyn Conn, role: Role, unit_id: Option<UnitId>) -> StoreResult<String> {
    let unit = match unit_id {
        Some(id) => c.scalar_opt::<String>("SELECT name FROM units WHERE id = $1", &args![id]).await?,
        None => None,
    };
    Ok(match unit {
        Some(unit) => format!("{}（{unit}）", role.label()),
        None => role.label().to_owned(),
    })
}

/// A phone as a detail shows it: masked, or `无`.
pub(crate) fn phone_text(phone: Option<&str>) -> String {
    phone.filter(|p| !p.trim().is_empty()).map_or_else(|| "无".to_owned(), mask_phone)
}

/// An e-mail address as a detail shows it: masked, or `无`.
pub(crate) fn email_text(email: Option<&str>) -> String {
    email.filter(|e| !e.trim().is_empty()).map_or_else(|| "无".to_owned(), mask_email)
}

/// `label：old → new` when a value changed, for a detail listing the changes.
pub(crate) fn change(label: &str, old: String, new: String) -> Option<String> {
    (old != new).then(|| format!("{label}：{old} → {new}"))
}
