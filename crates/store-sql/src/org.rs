//! The org tree (units), users, sessions and API tokens.
//!
//! Usernames are unique by key: two nodes creating the same name at once
//! both pass the check, and `ON CONFLICT DO NOTHING` makes the later one
//! insert nothing, which is the same `username_taken` refusal.

use mashangban_domain::org::{AccountAction, Role, TokenAction, Unit, UnitId};
use mashangban_domain::time::Instant;
use mashangban_store::{
    AccountBy, AccountEvent, ApiToken, ChangeEntity, NewApiToken, NewSession, NewUnit, NewUser, OrgStore, StoreResult,
    TokenEvent, User, backend,
};

use crate::account_events::{self, SESSIONS_ENDED, change, email_text, phone_text, role_text};
use crate::personal_data;
use crate::rows::{self, UNIT_COLUMNS, USER_COLUMNS};
use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

impl<D: Database> OrgStore for SqlStore<D> {
    async fn upsert_unit(&self, unit: NewUnit) -> StoreResult<Unit> {
        self.db.write(job(move |c| Box::pin(upsert_unit(c, unit)))).await
    }

    async fn create_unit(&self, unit: NewUnit) -> StoreResult<Unit> {
        self.db.write(job(move |c| Box::pin(create_unit(c, unit)))).await
    }

    async fn list_units(&self) -> StoreResult<Vec<Unit>> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY id");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], rows::unit).await }))).await
    }

    async fn set_unit_active(&self, code: &str, active: bool) -> StoreResult<Unit> {
        let code = code.to_owned();
        self.db.write(job(move |c| Box::pin(async move { set_unit_active(c, &code, active).await }))).await
    }

    async fn create_user(&self, user: NewUser, by: AccountBy) -> StoreResult<User> {
        self.db.write(job(move |c| Box::pin(create_user(c, user, by)))).await
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        self.db
            .read(job(move |c| {
                Box::pin(
                    async move { c.map_opt(&sql, &args![username], |row| rows::user(row, c.personal_data())).await },
                )
            }))
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        self.db
            .read(job(move |c| {
                Box::pin(async move { c.map(&sql, &[], |row| rows::user(row, c.personal_data())).await })
            }))
            .await
    }

    async fn set_password(&self, username: &str, password_hash: String, by: AccountBy) -> StoreResult<()> {
        let username = username.to_owned();
        let update = job(move |c| {
            Box::pin(async move {
                let sql = "UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id";
                let id = c.scalar_opt(sql, &args![username.as_str(), password_hash]).await?;
                let id = id.ok_or_else(|| backend::user_not_found(&username))?;
                // A new password ends every existing session.
                end_sessions(c, id).await?;
                let action =
                    if by.user_id == Some(id) { AccountAction::PasswordChanged } else { AccountAction::PasswordReset };
                account_events::record(c, id, action, Some(SESSIONS_ENDED.into()), &by).await
            })
        });
        self.db.write(update).await
    }

    async fn set_user_contact(
        &self,
        username: &str,
        phone: Option<String>,
        email: Option<String>,
        by: AccountBy,
    ) -> StoreResult<()> {
        let username = username.to_owned();
        let update = job(move |c| {
            Box::pin(async move {
                let lock = c.dialect().lock_rows("u");
                let sql = format!("SELECT u.id, u.phone, u.email FROM users u WHERE u.username = $1{lock}");
                let old = c
                    .map_opt(&sql, &args![username.as_str()], |row| {
                        let mut cols = row.cols();
                        Ok((cols.get::<i64>()?, crate::rows::user_contacts(&mut cols, c.personal_data())?))
                    })
                    .await?;
                let (id, (old_phone, old_email)) = old.ok_or_else(|| backend::user_not_found(&username))?;
                let sql = "UPDATE users SET phone = $2, email = $3, phone_hash = $4 WHERE id = $1";
                let values = args![
                    id,
                    personal_data::seal_opt(c, personal_data::USER_PHONE, phone.as_deref()),
                    personal_data::seal_opt(c, personal_data::USER_EMAIL, email.as_deref()),
                    phone.as_deref().and_then(|p| personal_data::phone_hash(c, p))
                ];
                c.execute(sql, &values).await?;
                let changes: Vec<String> = [
                    change("手机", phone_text(old_phone.as_deref()), phone_text(phone.as_deref())),
                    change("邮箱", email_text(old_email.as_deref()), email_text(email.as_deref())),
                ]
                .into_iter()
                .flatten()
                .collect();
                let detail = if changes.is_empty() { "联系方式未变".to_owned() } else { changes.join("；") };
                account_events::record(c, id, AccountAction::ContactChanged, Some(detail), &by).await
            })
        });
        self.db.write(update).await
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool, by: AccountBy) -> StoreResult<()> {
        let username = username.to_owned();
        let update = job(move |c| {
            Box::pin(async move {
                let sql = "UPDATE users SET disabled = $2 WHERE username = $1 RETURNING id";
                let id = c.scalar_opt(sql, &args![username.as_str(), disabled]).await?;
                let id = id.ok_or_else(|| backend::user_not_found(&username))?;
                let (action, detail) = if disabled {
                    end_sessions(c, id).await?;
                    (AccountAction::Disabled, Some(SESSIONS_ENDED.to_owned()))
                } else {
                    (AccountAction::Enabled, None)
                };
                account_events::record(c, id, action, detail, &by).await
            })
        });
        self.db.write(update).await
    }

    async fn set_user_role(
        &self,
        username: &str,
        role: Role,
        unit_id: Option<UnitId>,
        by: AccountBy,
    ) -> StoreResult<User> {
        let username = username.to_owned();
        self.db
            .write(job(move |c| Box::pin(async move { set_user_role(c, &username, role, unit_id, &by).await })))
            .await
    }

    async fn account_events(&self, username: &str) -> StoreResult<Option<Vec<AccountEvent>>> {
        let username = username.to_owned();
        self.db.read(job(move |c| Box::pin(async move { account_events::events(c, &username).await }))).await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        let insert = job(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, client_ip)
                     VALUES ($1, $2, $3, $4, $5)",
                    &args![
                        session.token_hash.as_str(),
                        session.user_id,
                        &session.created_at,
                        &session.expires_at,
                        session.client_ip.as_deref()
                    ],
                )
                .await?;
                // Housekeeping: expired sessions go when new ones come.
                c.execute("DELETE FROM sessions WHERE expires_at < $1", &args![&session.created_at]).await.map(drop)
            })
        });
        self.db.write(insert).await
    }

    async fn session_user(&self, token_hash: &str, now: Instant) -> StoreResult<Option<User>> {
        let token_hash = token_hash.to_owned();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE NOT disabled
                AND id = (SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2)"
        );
        let find = job(move |c| {
            Box::pin(
                async move { c.map_opt(&sql, &args![token_hash, now], |row| rows::user(row, c.personal_data())).await },
            )
        });
        self.db.read(find).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        let delete = job(move |c| {
            Box::pin(async move {
                c.execute("DELETE FROM sessions WHERE token_hash = $1", &args![token_hash]).await.map(drop)
            })
        });
        self.db.write(delete).await
    }

    async fn create_api_token(&self, token: NewApiToken, by: AccountBy) -> StoreResult<ApiToken> {
        self.db.write(job(move |c| Box::pin(create_api_token(c, token, by)))).await
    }

    async fn api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let token_hash = token_hash.to_owned();
        let sql = format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
        self.db.read(job(move |c| Box::pin(async move { c.map_opt(&sql, &args![token_hash], api_token).await }))).await
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], api_token).await }))).await
    }

    async fn revoke_api_token(&self, id: i64, by: AccountBy) -> StoreResult<()> {
        let revoke = job(move |c| {
            Box::pin(async move {
                let sql = "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
                if c.execute(sql, &args![id, &by.at]).await? == 0 {
                    let exists = c.scalar_opt::<i64>("SELECT id FROM api_tokens WHERE id = $1", &args![id]).await?;
                    let refusal =
                        if exists.is_some() { backend::token_already_revoked } else { backend::token_not_found };
                    return Err(refusal(id));
                }
                let detail = Some("此后不能再用它调用接口".to_owned());
                account_events::record_token(c, id, TokenAction::Revoked, detail, &by).await
            })
        });
        self.db.write(revoke).await
    }

    async fn api_token_events(&self, id: i64) -> StoreResult<Option<Vec<TokenEvent>>> {
        self.db.read(job(move |c| Box::pin(async move { account_events::token_events(c, id).await }))).await
    }

    async fn all_api_token_events(&self) -> StoreResult<Vec<(i64, TokenEvent)>> {
        self.db.read(job(move |c| Box::pin(async move { account_events::all_token_events(c).await }))).await
    }
}

/// The id of the unit with `code`, if any.
pub async fn unit_id_by_code(c: &dyn Conn, code: &str) -> StoreResult<Option<UnitId>> {
    c.scalar_opt("SELECT id FROM units WHERE code = $1", &args![code]).await
}

async fn upsert_unit(c: &dyn Conn, unit: NewUnit) -> StoreResult<Unit> {
    let parent_id = match &unit.parent_code {
        Some(code) => Some(unit_id_by_code(c, code).await?.ok_or_else(|| backend::unknown_parent_unit(code))?),
        None => None,
    };
    let sql = format!(
        "INSERT INTO units (code, name, short_name, kind, parent_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, short_name = EXCLUDED.short_name,
            kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id
         RETURNING {UNIT_COLUMNS}"
    );
    let row = c.query_one(&sql, &args![unit.code, unit.name, unit.short_name, unit.kind.as_str(), parent_id]).await?;
    let unit = rows::unit(row)?;
    crate::changes::append_now(c, ChangeEntity::Catalog, &unit.code, "unit").await?;
    Ok(unit)
}

/// Creates a unit. The unique code decides between two nodes creating the
/// same code at once: the later one inserts nothing and is refused alike.
async fn create_unit(c: &dyn Conn, unit: NewUnit) -> StoreResult<Unit> {
    let code = unit.code.clone();
    if let Some(name) = c.scalar_opt::<String>("SELECT name FROM units WHERE code = $1", &args![code.as_str()]).await? {
        return Err(backend::unit_code_taken(&code, &name));
    }
    let parent_id = match &unit.parent_code {
        Some(parent) => Some(unit_id_by_code(c, parent).await?.ok_or_else(|| backend::unknown_parent_unit(parent))?),
        None => None,
    };
    let sql = format!(
        "INSERT INTO units (code, name, short_name, kind, parent_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO NOTHING
         RETURNING {UNIT_COLUMNS}"
    );
    let values = args![unit.code, unit.name, unit.short_name, unit.kind.as_str(), parent_id];
    let created = c.map_opt(&sql, &values, rows::unit).await?;
    let created = created.ok_or_else(|| backend::unit_code_taken(&code, "另一单位"))?;
    crate::changes::append_now(c, ChangeEntity::Catalog, &created.code, "unit").await?;
    Ok(created)
}

/// Deactivates (撤销) or reactivates a unit. On PostgreSQL the unit's row is
/// locked, and so is its parent's, always child before parent: a parent
/// being deactivated and a child being reactivated on two nodes at once
/// take turns, so neither can leave an active unit under an inactive one.
async fn set_unit_active(c: &dyn Conn, code: &str, active: bool) -> StoreResult<Unit> {
    let lock = c.dialect().lock_rows("u");
    let sql = format!("SELECT {UNIT_COLUMNS} FROM units u WHERE u.code = $1{lock}");
    let unit = c.map_opt(&sql, &args![code], rows::unit).await?.ok_or_else(|| backend::unit_not_found(code))?;
    let children = c.query_opt("SELECT 1 FROM units WHERE parent_id = $1 AND active LIMIT 1", &args![unit.id]).await?;
    let parent_active = match unit.parent_id {
        Some(parent) => {
            let sql = format!("SELECT u.active FROM units u WHERE u.id = $1{lock}");
            c.scalar(&sql, &args![parent]).await?
        }
        None => true,
    };
    unit.check_activation(active, children.is_some(), parent_active)?;
    c.execute("UPDATE units SET active = $2 WHERE id = $1", &args![unit.id, active]).await?;
    crate::changes::append_now(
        c,
        ChangeEntity::Catalog,
        &unit.code,
        if active { "unit_restored" } else { "unit_deactivated" },
    )
    .await?;
    Ok(Unit { active, ..unit })
}

async fn create_user(c: &dyn Conn, user: NewUser, by: AccountBy) -> StoreResult<User> {
    if c.query_opt("SELECT 1 FROM users WHERE username = $1", &args![user.username.as_str()]).await?.is_some() {
        return Err(backend::username_taken(&user.username));
    }
    if let Some(unit_id) = user.unit_id
        && c.query_opt("SELECT 1 FROM units WHERE id = $1", &args![unit_id]).await?.is_none()
    {
        return Err(backend::unknown_user_unit());
    }
    // The unique key decides between two nodes creating the same name at once.
    let sql = format!(
        "INSERT INTO users (username, display_name, role, unit_id, credit_code, phone, password_hash, phone_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (username) DO NOTHING
         RETURNING {USER_COLUMNS}"
    );
    let values = args![
        user.username.as_str(),
        user.display_name,
        user.role.as_str(),
        user.unit_id,
        user.credit_code,
        personal_data::seal_opt(c, personal_data::USER_PHONE, user.phone.as_deref()),
        user.password_hash,
        user.phone.as_deref().and_then(|p| personal_data::phone_hash(c, p))
    ];
    let created = c
        .map_opt(&sql, &values, |row| rows::user(row, c.personal_data()))
        .await?
        .ok_or_else(|| backend::username_taken(&user.username))?;
    let mut detail = vec![format!("角色：{}", role_text(c, created.role, created.unit_id).await?)];
    if created.phone.is_some() {
        detail.push(format!("手机：{}", phone_text(created.phone.as_deref())));
    }
    if let Some(code) = &created.credit_code {
        detail.push(format!("统一社会信用代码：{code}"));
    }
    account_events::record(c, created.id, AccountAction::Created, Some(detail.join("；")), &by).await?;
    Ok(created)
}

/// Changes a user's role and unit, checked against the unit as stored, and
/// ends their sessions so the new role applies at the next sign-in.
async fn set_user_role(
    c: &dyn Conn,
    username: &str,
    role: Role,
    unit_id: Option<UnitId>,
    by: &AccountBy,
) -> StoreResult<User> {
    let lock = c.dialect().lock_rows("u");
    let sql = format!("SELECT u.role, u.unit_id FROM users u WHERE u.username = $1{lock}");
    let old = c
        .map_opt(&sql, &args![username], |row| {
            let mut cols = row.cols();
            Ok((cols.code(Role::parse)?, cols.get::<Option<UnitId>>()?))
        })
        .await?;
    let (old_role, old_unit) = old.ok_or_else(|| backend::user_not_found(username))?;
    let unit_active = match unit_id {
        Some(id) => c.scalar_opt("SELECT active FROM units WHERE id = $1", &args![id]).await?,
        None => None,
    };
    role.check_unit_as_stored(unit_id, unit_active)?;
    let sql = format!("UPDATE users SET role = $2, unit_id = $3 WHERE username = $1 RETURNING {USER_COLUMNS}");
    let user = c
        .map_opt(&sql, &args![username, role.as_str(), unit_id], |row| rows::user(row, c.personal_data()))
        .await?
        .ok_or_else(|| backend::user_not_found(username))?;
    end_sessions(c, user.id).await?;
    let old = role_text(c, old_role, old_unit).await?;
    let new = role_text(c, role, unit_id).await?;
    let detail =
        change("角色", old, new).map_or_else(|| "角色与单位未变".to_owned(), |d| format!("{d}；{SESSIONS_ENDED}"));
    account_events::record(c, user.id, AccountAction::RoleChanged, Some(detail), by).await?;
    Ok(user)
}

async fn end_sessions(c: &dyn Conn, user_id: i64) -> StoreResult<()> {
    c.execute("DELETE FROM sessions WHERE user_id = $1", &args![user_id]).await.map(drop)
}

async fn create_api_token(c: &dyn Conn, token: NewApiToken, by: AccountBy) -> StoreResult<ApiToken> {
    let id = c
        .scalar(
            "INSERT INTO api_tokens (name, token_hash, role, unit_id, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
            &args![token.name.as_str(), token.token_hash, token.role.as_str(), token.unit_id, &by.at],
        )
        .await?;
    let detail = format!("名称：{}；角色：{}", token.name, role_text(c, token.role, token.unit_id).await?);
    account_events::record_token(c, id, TokenAction::Created, Some(detail), &by).await?;
    Ok(ApiToken { id, name: token.name, role: token.role, unit_id: token.unit_id, created_at: by.at, revoked_at: None })
}

const API_TOKEN_COLUMNS: &str = "id, name, role, unit_id, created_at, revoked_at";

fn api_token(row: Row) -> StoreResult<ApiToken> {
    let mut c = row.cols();
    Ok(ApiToken {
        id: c.get()?,
        name: c.get()?,
        role: c.code(Role::parse)?,
        unit_id: c.get()?,
        created_at: c.get()?,
        revoked_at: c.get()?,
    })
}
