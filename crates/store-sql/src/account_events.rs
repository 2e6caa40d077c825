//! Accounts' histories (账号变更记录): each change of a user writes an entry naming who made it,
//! what and when, SM3-sealed ([`crate::audit::ACCOUNTS`]) in the change's transaction. Details
//! mask phones and e-mail and never hold a password, its hash or a code.

use mashangban_domain::org::{AccountAction, Role, UnitId, UserId};
use mashangban_domain::validation::{mask_email, mask_phone};
use mashangban_store::{AccountBy, AccountEvent, StoreResult};

use crate::args;
use crate::sql::{Conn, Row};

/// The detail of a change that ends the account's sessions.
pub(crate) const SESSIONS_ENDED: &str = "已退出全部登录";

/// Writes and seals an entry of user `user_id`'s history; the user's row is locked first (or new
/// in the transaction), so its chain of seals has one writer at a time.
pub(crate) async fn record(
    c: &dyn Conn,
    user_id: UserId,
    action: AccountAction,
    detail: Option<String>,
    by: &AccountBy,
) -> StoreResult<()> {
    let history = &crate::audit::ACCOUNTS;
    history.lock(c, user_id).await?;
    let id: i64 = c
        .scalar(
            "INSERT INTO account_events (user_id, at, by_name, by_user, action, detail)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &args![user_id, &by.at, by.name.as_str(), by.user_id, action.as_str(), detail],
        )
        .await?;
    history.seal(c, user_id, id).await
}

/// The history of the user named `username`, oldest first; `None` when there is no such user.
pub(crate) async fn events(c: &dyn Conn, username: &str) -> StoreResult<Option<Vec<AccountEvent>>> {
    let Some(user_id) = c.scalar_opt::<i64>("SELECT id FROM users WHERE username = $1", &args![username]).await? else {
        return Ok(None);
    };
    let sql = "SELECT id, at, by_name, by_user, action, detail FROM account_events WHERE user_id = $1 ORDER BY id";
    c.map(sql, &args![user_id], event).await.map(Some)
}

fn event(row: Row) -> StoreResult<AccountEvent> {
    let mut c = row.cols();
    Ok(AccountEvent {
        id: c.get()?,
        at: c.get()?,
        by_name: c.get()?,
        by_user: c.get()?,
        action: c.code(AccountAction::parse)?,
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
