//! The org tree, users, sessions and API tokens in PostgreSQL.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use mashangban_domain::org::{Role, Unit, UnitId};
use mashangban_domain::time::Instant;
use mashangban_store::{ApiToken, NewApiToken, NewSession, NewUnit, NewUser, OrgStore, StoreResult, User, backend};

use crate::PgStore;
use crate::db::{commit, db_err, execute, is_unique_violation, query, query_one, query_opt};
use crate::rows::{self, code, get, instant, opt_instant, ts};

/// The id of the unit with `code`, if any.
pub async fn unit_id_by_code(c: &impl GenericClient, code: &str) -> StoreResult<Option<i64>> {
    let row = query_opt(c, "SELECT id FROM units WHERE code = $1", &[&code]).await?;
    row.map(|r| get(&r, "id")).transpose()
}

const API_TOKEN_COLUMNS: &str = "id, name, role, unit_id, created_at, revoked_at";

impl OrgStore for PgStore {
    async fn upsert_unit(&self, unit: NewUnit) -> StoreResult<Unit> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let parent_id = match &unit.parent_code {
            Some(code) => Some(unit_id_by_code(&tx, code).await?.ok_or_else(|| backend::unknown_parent_unit(code))?),
            None => None,
        };
        let sql = format!(
            "INSERT INTO units (code, name, short_name, kind, parent_id) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, short_name = EXCLUDED.short_name,
                kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id
             RETURNING {}",
            rows::UNIT_COLUMNS
        );
        let row =
            query_one(&tx, &sql, &[&unit.code, &unit.name, &unit.short_name, &unit.kind.as_str(), &parent_id]).await?;
        let saved = rows::unit(&row)?;
        commit(tx).await?;
        Ok(saved)
    }

    async fn list_units(&self) -> StoreResult<Vec<Unit>> {
        let client = self.client().await?;
        let sql = format!("SELECT {} FROM units ORDER BY id", rows::UNIT_COLUMNS);
        rows::all(&query(&client, &sql, &[]).await?, rows::unit)
    }

    async fn set_unit_active(&self, code: &str, active: bool) -> StoreResult<Unit> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let sql = format!("SELECT {} FROM units WHERE code = $1 FOR UPDATE", rows::UNIT_COLUMNS);
        let row = query_opt(&tx, &sql, &[&code]).await?.ok_or_else(|| backend::unit_not_found(code))?;
        let unit = rows::unit(&row)?;
        let children =
            query_opt(&tx, "SELECT 1 FROM units WHERE parent_id = $1 AND active LIMIT 1", &[&unit.id]).await?;
        let parent_active = match unit.parent_id {
            Some(parent) => {
                get::<bool>(&query_one(&tx, "SELECT active FROM units WHERE id = $1", &[&parent]).await?, "active")?
            }
            None => true,
        };
        backend::check_unit_activation(&unit, active, children.is_some(), parent_active)?;
        execute(&tx, "UPDATE units SET active = $2 WHERE id = $1", &[&unit.id, &active]).await?;
        commit(tx).await?;
        Ok(Unit { active, ..unit })
    }

    async fn set_user_role(&self, username: &str, role: Role, unit_id: Option<UnitId>) -> StoreResult<User> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let unit_active = match unit_id {
            Some(id) => query_opt(&tx, "SELECT active FROM units WHERE id = $1", &[&id])
                .await?
                .map(|r| get::<bool>(&r, "active"))
                .transpose()?,
            None => None,
        };
        backend::check_role_unit(role, unit_id, unit_active)?;
        let sql =
            format!("UPDATE users SET role = $2, unit_id = $3 WHERE username = $1 RETURNING {}", rows::USER_COLUMNS);
        let row = query_opt(&tx, &sql, &[&username, &role.as_str(), &unit_id])
            .await?
            .ok_or_else(|| backend::user_not_found(username))?;
        let user = rows::user(&row)?;
        execute(&tx, "DELETE FROM sessions WHERE user_id = $1", &[&user.id]).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let client = self.client().await?;
        let taken = query_opt(&client, "SELECT 1 FROM users WHERE username = $1", &[&user.username]).await?;
        if taken.is_some() {
            return Err(backend::username_taken(&user.username));
        }
        if let Some(unit_id) = user.unit_id {
            let exists = query_opt(&client, "SELECT 1 FROM units WHERE id = $1", &[&unit_id]).await?.is_some();
            if !exists {
                return Err(backend::unknown_user_unit());
            }
        }
        // The unique key decides between two nodes creating the same name at once.
        let sql = format!(
            "INSERT INTO users (username, display_name, role, unit_id, credit_code, phone, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
            rows::USER_COLUMNS
        );
        let inserted = client
            .query_one(
                &sql,
                &[
                    &user.username,
                    &user.display_name,
                    &user.role.as_str(),
                    &user.unit_id,
                    &user.credit_code,
                    &user.phone,
                    &user.password_hash,
                ],
            )
            .await;
        match inserted {
            Ok(row) => rows::user(&row),
            Err(e) if is_unique_violation(&e, "users_username_key") => Err(backend::username_taken(&user.username)),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) => {
                Err(backend::unknown_user_unit())
            }
            Err(e) => Err(db_err(e)),
        }
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
        let client = self.client().await?;
        let sql = format!("SELECT {} FROM users WHERE username = $1", rows::USER_COLUMNS);
        query_opt(&client, &sql, &[&username]).await?.map(|r| rows::user(&r)).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let client = self.client().await?;
        let sql = format!("SELECT {} FROM users ORDER BY id", rows::USER_COLUMNS);
        rows::all(&query(&client, &sql, &[]).await?, rows::user)
    }

    async fn set_password(&self, username: &str, password_hash: String) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let updated = query_opt(
            &tx,
            "UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id",
            &[&username, &password_hash],
        )
        .await?;
        let Some(row) = updated else {
            return Err(backend::user_not_found(username));
        };
        // A new password ends every existing session.
        let user_id: i64 = get(&row, "id")?;
        execute(&tx, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
        commit(tx).await
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let updated =
            query_opt(&tx, "UPDATE users SET disabled = $2 WHERE username = $1 RETURNING id", &[&username, &disabled])
                .await?;
        let Some(row) = updated else {
            return Err(backend::user_not_found(username));
        };
        if disabled {
            let user_id: i64 = get(&row, "id")?;
            execute(&tx, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
        }
        commit(tx).await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let created_at = ts(&session.created_at);
        execute(
            &tx,
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, client_ip) VALUES ($1, $2, $3, $4, $5)",
            &[&session.token_hash, &session.user_id, &created_at, &ts(&session.expires_at), &session.client_ip],
        )
        .await?;
        // Housekeeping: expired sessions go when new ones come.
        execute(&tx, "DELETE FROM sessions WHERE expires_at < $1", &[&created_at]).await?;
        commit(tx).await
    }

    async fn session_user(&self, token_hash: &str, now: Instant) -> StoreResult<Option<User>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {} FROM users WHERE NOT disabled
                AND id = (SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2)",
            rows::USER_COLUMNS
        );
        query_opt(&client, &sql, &[&token_hash, &ts(&now)]).await?.map(|r| rows::user(&r)).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let client = self.client().await?;
        execute(&client, "DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await.map(drop)
    }

    async fn create_api_token(&self, token: NewApiToken) -> StoreResult<ApiToken> {
        let client = self.client().await?;
        let row = query_one(
            &client,
            "INSERT INTO api_tokens (name, token_hash, role, unit_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&token.name, &token.token_hash, &token.role.as_str(), &token.unit_id, &ts(&token.created_at)],
        )
        .await?;
        Ok(ApiToken {
            id: get(&row, "id")?,
            name: token.name,
            role: token.role,
            unit_id: token.unit_id,
            created_at: token.created_at,
            revoked_at: None,
        })
    }

    async fn api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let client = self.client().await?;
        let sql = format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
        query_opt(&client, &sql, &[&token_hash]).await?.map(|r| api_token(&r)).transpose()
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let client = self.client().await?;
        let sql = format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        rows::all(&query(&client, &sql, &[]).await?, api_token)
    }

    async fn revoke_api_token(&self, id: i64, now: Instant) -> StoreResult<()> {
        let client = self.client().await?;
        let n = execute(
            &client,
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &ts(&now)],
        )
        .await?;
        if n == 0 {
            return Err(backend::token_not_found(id));
        }
        Ok(())
    }
}

fn api_token(row: &Row) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: code(row, "role", Role::parse)?,
        unit_id: get(row, "unit_id")?,
        created_at: instant(row, "created_at")?,
        revoked_at: opt_instant(row, "revoked_at")?,
    })
}
