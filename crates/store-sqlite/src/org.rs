//! The org tree, users, sessions and API tokens in SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use mashangban_domain::org::{Role, Unit, UnitId};
use mashangban_domain::time::Instant;
use mashangban_store::{ApiToken, NewApiToken, NewSession, NewUnit, NewUser, OrgStore, StoreResult, User, backend};

use crate::SqliteStore;
use crate::rows::{self, db_err, ts};

impl OrgStore for SqliteStore {
    async fn upsert_unit(&self, unit: NewUnit) -> StoreResult<Unit> {
        self.db
            .write(move |conn| {
                let parent_id: Option<i64> = match &unit.parent_code {
                    Some(code) => Some(
                        conn.query_row("SELECT id FROM units WHERE code = ?1", [code], |r| r.get(0))
                            .optional()
                            .map_err(db_err)?
                            .ok_or_else(|| backend::unknown_parent_unit(code))?,
                    ),
                    None => None,
                };
                conn.execute(
                    "INSERT INTO units (code, name, short_name, kind, parent_id) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, short_name = excluded.short_name,
                        kind = excluded.kind, parent_id = excluded.parent_id",
                    params![unit.code, unit.name, unit.short_name, unit.kind.as_str(), parent_id],
                )
                .map_err(db_err)?;
                let sql = format!("SELECT {} FROM units WHERE code = ?1", rows::UNIT_COLUMNS);
                conn.query_row(&sql, [&unit.code], rows::unit).map_err(db_err)
            })
            .await
    }

    async fn list_units(&self) -> StoreResult<Vec<Unit>> {
        self.db
            .read(|conn| {
                let sql = format!("SELECT {} FROM units ORDER BY id", rows::UNIT_COLUMNS);
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let units = stmt.query_map([], rows::unit).map_err(db_err)?.collect::<Result<_, _>>();
                units.map_err(db_err)
            })
            .await
    }

    async fn set_unit_active(&self, code: &str, active: bool) -> StoreResult<Unit> {
        let code = code.to_owned();
        self.db
            .write(move |conn| {
                let sql = format!("SELECT {} FROM units WHERE code = ?1", rows::UNIT_COLUMNS);
                let unit = conn
                    .query_row(&sql, [&code], rows::unit)
                    .optional()
                    .map_err(db_err)?
                    .ok_or_else(|| backend::unit_not_found(&code))?;
                let children = has_active_children(conn, unit.id)?;
                backend::check_unit_activation(&unit, active, children, parent_active(conn, unit.parent_id)?)?;
                conn.execute("UPDATE units SET active = ?2 WHERE id = ?1", params![unit.id, active]).map_err(db_err)?;
                Ok(Unit { active, ..unit })
            })
            .await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        self.db
            .write(move |conn| {
                let taken: bool = conn
                    .query_row("SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)", [&user.username], |r| {
                        r.get(0)
                    })
                    .map_err(db_err)?;
                if taken {
                    return Err(mashangban_store::backend::username_taken(&user.username));
                }
                if let Some(unit_id) = user.unit_id {
                    let exists: bool = conn
                        .query_row("SELECT EXISTS (SELECT 1 FROM units WHERE id = ?1)", [unit_id], |r| r.get(0))
                        .map_err(db_err)?;
                    if !exists {
                        return Err(backend::unknown_user_unit());
                    }
                }
                conn.execute(
                    "INSERT INTO users (username, display_name, role, unit_id, credit_code, phone, password_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user.username,
                        user.display_name,
                        user.role.as_str(),
                        user.unit_id,
                        user.credit_code,
                        user.phone,
                        user.password_hash
                    ],
                )
                .map_err(db_err)?;
                let sql = format!("SELECT {} FROM users WHERE id = ?1", rows::USER_COLUMNS);
                conn.query_row(&sql, [conn.last_insert_rowid()], rows::user).map_err(db_err)
            })
            .await
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {} FROM users WHERE username = ?1", rows::USER_COLUMNS);
                conn.query_row(&sql, [&username], rows::user).optional().map_err(db_err)
            })
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.db
            .read(|conn| {
                let sql = format!("SELECT {} FROM users ORDER BY id", rows::USER_COLUMNS);
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let users = stmt.query_map([], rows::user).map_err(db_err)?.collect::<Result<_, _>>();
                users.map_err(db_err)
            })
            .await
    }

    async fn set_password(&self, username: &str, password_hash: String) -> StoreResult<()> {
        let username = username.to_owned();
        self.db
            .write(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                        params![username, password_hash],
                    )
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(backend::user_not_found(&username));
                }
                // A new password ends every existing session.
                conn.execute(
                    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
                    [&username],
                )
                .map_err(db_err)?;
                Ok(())
            })
            .await
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<()> {
        let username = username.to_owned();
        self.db
            .write(move |conn| {
                let n = conn
                    .execute("UPDATE users SET disabled = ?2 WHERE username = ?1", params![username, disabled])
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(backend::user_not_found(&username));
                }
                if disabled {
                    conn.execute(
                        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
                        [&username],
                    )
                    .map_err(db_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn set_user_role(&self, username: &str, role: Role, unit_id: Option<UnitId>) -> StoreResult<User> {
        let username = username.to_owned();
        self.db
            .write(move |conn| {
                check_role_unit(conn, role, unit_id)?;
                let n = conn
                    .execute(
                        "UPDATE users SET role = ?2, unit_id = ?3 WHERE username = ?1",
                        params![username, role.as_str(), unit_id],
                    )
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(backend::user_not_found(&username));
                }
                conn.execute(
                    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
                    [&username],
                )
                .map_err(db_err)?;
                let sql = format!("SELECT {} FROM users WHERE username = ?1", rows::USER_COLUMNS);
                conn.query_row(&sql, [&username], rows::user).map_err(db_err)
            })
            .await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, client_ip) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        session.token_hash,
                        session.user_id,
                        ts(&session.created_at),
                        ts(&session.expires_at),
                        session.client_ip
                    ],
                )
                .map_err(db_err)?;
                // Housekeeping: expired sessions go when new ones come.
                conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(&session.created_at)]).map_err(db_err)?;
                Ok(())
            })
            .await
    }

    async fn session_user(&self, token_hash: &str, now: Instant) -> StoreResult<Option<User>> {
        let token_hash = token_hash.to_owned();
        self.db
            .read(move |conn| {
                let sql = format!(
                    "SELECT {} FROM users WHERE disabled = 0 AND id = (SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2)",
                    rows::USER_COLUMNS
                );
                conn.query_row(&sql, params![token_hash, ts(&now)], rows::user).optional().map_err(db_err)
            })
            .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash]).map_err(db_err)?;
                Ok(())
            })
            .await
    }

    async fn create_api_token(&self, token: NewApiToken) -> StoreResult<ApiToken> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO api_tokens (name, token_hash, role, unit_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![token.name, token.token_hash, token.role.as_str(), token.unit_id, ts(&token.created_at)],
                )
                .map_err(db_err)?;
                Ok(ApiToken {
                    id: conn.last_insert_rowid(),
                    name: token.name,
                    role: token.role,
                    unit_id: token.unit_id,
                    created_at: token.created_at,
                    revoked_at: None,
                })
            })
            .await
    }

    async fn api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let token_hash = token_hash.to_owned();
        self.db
            .read(move |conn| {
                conn.query_row(
                    "SELECT id, name, role, unit_id, created_at, revoked_at FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
                    [token_hash],
                    api_token,
                )
                .optional()
                .map_err(db_err)
            })
            .await
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.db
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, name, role, unit_id, created_at, revoked_at FROM api_tokens ORDER BY id",
                    )
                    .map_err(db_err)?;
                let tokens = stmt.query_map([], api_token).map_err(db_err)?.collect::<Result<_, _>>();
                tokens.map_err(db_err)
            })
            .await
    }

    async fn revoke_api_token(&self, id: i64, now: Instant) -> StoreResult<()> {
        self.db
            .write(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                        params![id, ts(&now)],
                    )
                    .map_err(db_err)?;
                if n == 0 {
                    return Err(backend::token_not_found(id));
                }
                Ok(())
            })
            .await
    }
}

fn has_active_children(conn: &Connection, id: UnitId) -> StoreResult<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM units WHERE parent_id = ?1 AND active = 1)", [id], |r| r.get(0))
        .map_err(db_err)
}

fn parent_active(conn: &Connection, parent_id: Option<UnitId>) -> StoreResult<bool> {
    let Some(parent_id) = parent_id else { return Ok(true) };
    conn.query_row("SELECT active FROM units WHERE id = ?1", [parent_id], |r| r.get(0)).map_err(db_err)
}

/// Checks a user's role and unit against the unit as stored.
fn check_role_unit(conn: &Connection, role: Role, unit_id: Option<UnitId>) -> StoreResult<()> {
    let active = match unit_id {
        Some(id) => {
            conn.query_row("SELECT active FROM units WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(db_err)?
        }
        None => None,
    };
    backend::check_role_unit(role, unit_id, active)
}

fn api_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    let role: String = row.get("role")?;
    let created_at: String = row.get("created_at")?;
    let revoked_at: Option<String> = row.get("revoked_at")?;
    let parse = |s: &str| {
        mashangban_domain::time::parse_instant(s).ok_or(rusqlite::Error::InvalidColumnName("created_at".into()))
    };
    Ok(ApiToken {
        id: row.get("id")?,
        name: row.get("name")?,
        role: Role::parse(&role).ok_or(rusqlite::Error::InvalidColumnName("role".into()))?,
        unit_id: row.get("unit_id")?,
        created_at: parse(&created_at)?,
        revoked_at: revoked_at.as_deref().map(parse).transpose()?,
    })
}
