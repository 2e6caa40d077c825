//! Saved views (保存的视图), written once for both databases. The limit per
//! person and list and the unique name in a list are checked in the write's
//! own transaction; the table's unique (user, list, name) backs the name check.

use std::collections::BTreeMap;

use mashangban_domain::org::UserId;
use mashangban_domain::saved_view;
use mashangban_domain::time::Instant;
use mashangban_store::{SavedView, SavedViewStore, StoreResult};

use crate::rows::json_text;
use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

const COLUMNS: &str = "id, user_id, list, name, filters, created_at, updated_at";

fn view(row: Row) -> StoreResult<SavedView> {
    let mut c = row.cols();
    Ok(SavedView {
        id: c.get()?,
        user_id: c.get()?,
        list: c.get()?,
        name: c.get()?,
        filters: c.json()?,
        created_at: c.get()?,
        updated_at: c.get()?,
    })
}

async fn one(c: &dyn Conn, user_id: UserId, id: i64) -> StoreResult<SavedView> {
    c.map_opt(&format!("SELECT {COLUMNS} FROM saved_views WHERE id = $1 AND user_id = $2"), &args![id, user_id], view)
        .await?
        .ok_or_else(|| saved_view::not_found().into())
}

/// Refuses a name another view of the person's in the same list has (`except` that view itself).
async fn check_free(c: &dyn Conn, user_id: UserId, list: &str, name: &str, except: Option<i64>) -> StoreResult<()> {
    let taken = c
        .scalar::<i64>(
            "SELECT COUNT(*) FROM saved_views WHERE user_id = $1 AND list = $2 AND name = $3 AND id <> $4",
            &args![user_id, list, name, except.unwrap_or(0)],
        )
        .await?;
    if taken > 0 { Err(saved_view::name_taken(name).into()) } else { Ok(()) }
}

impl<D: Database> SavedViewStore for SqlStore<D> {
    async fn saved_views(&self, user_id: UserId, list: &str) -> StoreResult<Vec<SavedView>> {
        let list = list.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    &format!("SELECT {COLUMNS} FROM saved_views WHERE user_id = $1 AND list = $2 ORDER BY name, id"),
                    &args![user_id, list.as_str()],
                    view,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn create_saved_view(
        &self,
        user_id: UserId,
        list: String,
        name: String,
        filters: BTreeMap<String, String>,
        max: usize,
        now: Instant,
    ) -> StoreResult<SavedView> {
        let create = job(move |c| {
            Box::pin(async move {
                let count = c
                    .scalar::<i64>(
                        "SELECT COUNT(*) FROM saved_views WHERE user_id = $1 AND list = $2",
                        &args![user_id, list.as_str()],
                    )
                    .await?;
                if usize::try_from(count).unwrap_or(usize::MAX) >= max {
                    return Err(saved_view::too_many().into());
                }
                check_free(c, user_id, &list, &name, None).await?;
                let id: i64 = c
                    .scalar(
                        "INSERT INTO saved_views (user_id, list, name, filters, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                        &args![user_id, list.as_str(), name.as_str(), json_text(&filters)?, &now],
                    )
                    .await?;
                one(c, user_id, id).await
            })
        });
        self.db.write(create).await
    }

    async fn rename_saved_view(&self, user_id: UserId, id: i64, name: String, now: Instant) -> StoreResult<SavedView> {
        let rename = job(move |c| {
            Box::pin(async move {
                let view = one(c, user_id, id).await?;
                check_free(c, user_id, &view.list, &name, Some(id)).await?;
                c.execute(
                    "UPDATE saved_views SET name = $3, updated_at = $4 WHERE id = $1 AND user_id = $2",
                    &args![id, user_id, name.as_str(), &now],
                )
                .await?;
                one(c, user_id, id).await
            })
        });
        self.db.write(rename).await
    }

    async fn delete_saved_view(&self, user_id: UserId, id: i64) -> StoreResult<()> {
        let delete = job(move |c| {
            Box::pin(async move {
                let gone =
                    c.execute("DELETE FROM saved_views WHERE id = $1 AND user_id = $2", &args![id, user_id]).await?;
                if gone == 0 { Err(saved_view::not_found().into()) } else { Ok(()) }
            })
        });
        self.db.write(delete).await
    }
}
