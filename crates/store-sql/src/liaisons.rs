//! Liaison cadres (联系干部) and their assignments to enterprises, written
//! once for both databases. An assignment is ended, never deleted; one
//! assignment per cadre and enterprise and one lead per enterprise are kept
//! by partial unique indexes and checked here first for a Chinese refusal.

use mashangban_domain::enterprise::enterprise_not_found;
use mashangban_domain::liaison::{
    CadreInput, CadreLevel, LiaisonKind, already_assigned, assignment_ended, assignment_not_found, cadre_not_found,
    lead_exists,
};
use mashangban_domain::org::UserId;
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::time::Instant;
use mashangban_store::{Assignment, AssignmentFilter, Cadre, LiaisonStore, StoreError, StoreResult};

use crate::personal_data;
use crate::sql::{Args, Conn, Database, Row, job};
use crate::{SqlStore, args};

impl<D: Database> LiaisonStore for SqlStore<D> {
    async fn save_cadre(&self, input: CadreInput, at: Instant, by: String) -> StoreResult<Cadre> {
        let save = job(move |c| {
            Box::pin(async move {
                if c.query_opt("SELECT 1 FROM users WHERE id = $1", &args![input.user_id]).await?.is_none() {
                    return Err(cadre_not_found().into());
                }
                c.execute(
                    "INSERT INTO liaison_cadres (user_id, level, post, work_phone, updated_at, updated_by)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (user_id) DO UPDATE SET level = excluded.level, post = excluded.post,
                        work_phone = excluded.work_phone, updated_at = excluded.updated_at,
                        updated_by = excluded.updated_by",
                    &args![
                        input.user_id,
                        input.level.as_str(),
                        input.post.as_str(),
                        personal_data::seal(c, personal_data::LIAISON_WORK_PHONE, &input.work_phone),
                        &at,
                        by.as_str()
                    ],
                )
                .await?;
                load_cadre(c, input.user_id).await?.ok_or_else(|| StoreError::backend("the cadre vanished"))
            })
        });
        self.db.write(save).await
    }

    async fn cadres(&self) -> StoreResult<Vec<Cadre>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    let sql = format!("{CADRE_SELECT} ORDER BY u.display_name, k.user_id");
                    c.map(&sql, &[], |row| cadre(row, c.personal_data())).await
                })
            }))
            .await
    }

    async fn cadre(&self, user_id: UserId) -> StoreResult<Option<Cadre>> {
        self.db.read(job(move |c| Box::pin(async move { load_cadre(c, user_id).await }))).await
    }

    async fn assign(
        &self,
        credit_code: &str,
        user_id: UserId,
        kind: LiaisonKind,
        at: Instant,
        by: String,
    ) -> StoreResult<Assignment> {
        let code = credit_code.to_owned();
        let assign = job(move |c| {
            Box::pin(async move {
                let lock = c.dialect().lock_rows("enterprises");
                let sql = format!("SELECT 1 FROM enterprises WHERE credit_code = $1{lock}");
                if c.query_opt(&sql, &args![code.as_str()]).await?.is_none() {
                    return Err(enterprise_not_found(&code).into());
                }
                let Some(cadre) = load_cadre(c, user_id).await? else { return Err(cadre_not_found().into()) };
                let current = list(c, &AssignmentFilter { credit_code: Some(code.clone()), ..in_force() }).await?;
                if current.iter().any(|a| a.user_id == user_id) {
                    return Err(already_assigned(&cadre.name).into());
                }
                if let Some(lead) = current.iter().find(|a| a.kind == LiaisonKind::Lead && kind == LiaisonKind::Lead) {
                    return Err(lead_exists(&lead.cadre_name).into());
                }
                let id: i64 = c
                    .scalar(
                        "INSERT INTO liaison_assignments (credit_code, user_id, kind, assigned_at, assigned_by)
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &args![code.as_str(), user_id, kind.as_str(), &at, by.as_str()],
                    )
                    .await?;
                load(c, id).await?.ok_or_else(|| StoreError::backend("the assignment vanished"))
            })
        });
        self.db.write(assign).await
    }

    async fn unassign(&self, id: i64, at: Instant, by: String) -> StoreResult<Assignment> {
        let end = job(move |c| {
            Box::pin(async move {
                let found = load(c, id).await?.ok_or_else(assignment_not_found)?;
                if found.ended_at.is_some() {
                    return Err(assignment_ended().into());
                }
                let ended = c
                    .execute(
                        "UPDATE liaison_assignments SET ended_at = $2, ended_by = $3 WHERE id = $1 AND ended_at IS NULL",
                        &args![id, &at, by.as_str()],
                    )
                    .await?;
                if ended == 0 {
                    return Err(assignment_ended().into());
                }
                load(c, id).await?.ok_or_else(|| StoreError::backend("the assignment vanished"))
            })
        });
        self.db.write(end).await
    }

    async fn assignment(&self, id: i64) -> StoreResult<Option<Assignment>> {
        self.db.read(job(move |c| Box::pin(async move { load(c, id).await }))).await
    }

    async fn assignments(&self, filter: &AssignmentFilter) -> StoreResult<Vec<Assignment>> {
        let filter = filter.clone();
        self.db.read(job(move |c| Box::pin(async move { list(c, &filter).await }))).await
    }
}

fn in_force() -> AssignmentFilter {
    AssignmentFilter { limit: 5000, ..AssignmentFilter::default() }
}

const CADRE_SELECT: &str = "SELECT k.user_id, u.display_name, u.unit_id, k.level, k.post, k.work_phone,
        (SELECT COUNT(*) FROM liaison_assignments a WHERE a.user_id = k.user_id AND a.ended_at IS NULL),
        k.updated_at, k.updated_by
     FROM liaison_cadres k JOIN users u ON u.id = k.user_id";

/// A cadre read with [`CADRE_SELECT`]; the work phone decrypted with `keys` (the connection's).
fn cadre(row: Row, keys: Option<&Keyring>) -> StoreResult<Cadre> {
    let mut c = row.cols();
    Ok(Cadre {
        user_id: c.get()?,
        name: c.get()?,
        unit_id: c.get()?,
        level: c.code(CadreLevel::parse)?,
        post: c.get()?,
        work_phone: personal_data::open(keys, personal_data::LIAISON_WORK_PHONE, c.get()?)?,
        enterprises: u64::try_from(c.get::<i64>()?).unwrap_or_default(),
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

async fn load_cadre(c: &dyn Conn, user_id: UserId) -> StoreResult<Option<Cadre>> {
    c.map_opt(&format!("{CADRE_SELECT} WHERE k.user_id = $1"), &args![user_id], |row| cadre(row, c.personal_data()))
        .await
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.credit_code, e.name, e.town_id, a.user_id, u.display_name, k.level,
        k.post, k.work_phone, a.kind, a.assigned_at, a.assigned_by, a.ended_at, a.ended_by
     FROM liaison_assignments a
     JOIN enterprises e ON e.credit_code = a.credit_code
     JOIN liaison_cadres k ON k.user_id = a.user_id
     JOIN users u ON u.id = a.user_id";

/// An assignment read with [`ASSIGNMENT_SELECT`]; the cadre's work phone decrypted with `keys`.
fn assignment(row: Row, keys: Option<&Keyring>) -> StoreResult<Assignment> {
    let mut c = row.cols();
    Ok(Assignment {
        id: c.get()?,
        credit_code: c.get()?,
        enterprise_name: c.get()?,
        town_id: c.get()?,
        user_id: c.get()?,
        cadre_name: c.get()?,
        level: c.code(CadreLevel::parse)?,
        post: c.get()?,
        work_phone: personal_data::open(keys, personal_data::LIAISON_WORK_PHONE, c.get()?)?,
        kind: c.code(LiaisonKind::parse)?,
        assigned_at: c.get()?,
        assigned_by: c.get()?,
        ended_at: c.get()?,
        ended_by: c.get()?,
    })
}

async fn load(c: &dyn Conn, id: i64) -> StoreResult<Option<Assignment>> {
    c.map_opt(&format!("{ASSIGNMENT_SELECT} WHERE a.id = $1"), &args![id], |row| assignment(row, c.personal_data()))
        .await
}

async fn list(c: &dyn Conn, f: &AssignmentFilter) -> StoreResult<Vec<Assignment>> {
    let mut args = Args::default();
    let mut conditions = Vec::new();
    if !f.with_ended {
        conditions.push("a.ended_at IS NULL".to_owned());
    }
    if let Some(code) = &f.credit_code {
        conditions.push(format!("a.credit_code = {}", args.push(code.as_str())));
    }
    if let Some(user) = f.user_id {
        conditions.push(format!("a.user_id = {}", args.push(user)));
    }
    if let Some(town) = f.town_id {
        conditions.push(format!("e.town_id = {}", args.push(town)));
    }
    let filter = if conditions.is_empty() { "TRUE".to_owned() } else { conditions.join(" AND ") };
    let order = if f.with_ended {
        "a.assigned_at DESC, a.id DESC"
    } else {
        "e.town_id, a.credit_code, CASE WHEN a.kind = 'lead' THEN 0 ELSE 1 END, a.id"
    };
    let limit = args.push(f.limit.clamp(1, 5000));
    let sql = format!("{ASSIGNMENT_SELECT} WHERE {filter} ORDER BY {order} LIMIT {limit}");
    c.map(&sql, args.values(), |row| assignment(row, c.personal_data())).await
}
