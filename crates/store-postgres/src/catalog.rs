//! Categories and the dispatch catalogue in PostgreSQL.

use tokio_postgres::Row;

use mashangban_store::{CatalogStore, Category, NewCategory, StoreError, StoreResult};

use crate::PgStore;
use crate::db::{commit, db_err, query, query_one, query_opt};
use crate::org::unit_id_by_code;
use crate::rows::{self, get};

const CATEGORY_COLUMNS: &str = "id, code, name, parent_id, default_lead_unit_id, keywords, active";

fn category(row: &Row) -> StoreResult<Category> {
    let keywords: String = get(row, "keywords")?;
    Ok(Category {
        id: get(row, "id")?,
        code: get(row, "code")?,
        name: get(row, "name")?,
        parent_id: get(row, "parent_id")?,
        default_lead_unit_id: get(row, "default_lead_unit_id")?,
        keywords: serde_json::from_str(&keywords).unwrap_or_default(),
        active: get(row, "active")?,
    })
}

impl CatalogStore for PgStore {
    async fn upsert_category(&self, c: NewCategory) -> StoreResult<Category> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let parent_id: Option<i64> = match &c.parent_code {
            Some(code) => {
                let row = query_opt(&tx, "SELECT id FROM categories WHERE code = $1", &[code]).await?;
                let row = row.ok_or_else(|| mashangban_store::backend::unknown_parent_category(code))?;
                Some(get(&row, "id")?)
            }
            None => None,
        };
        let lead: Option<i64> = match &c.lead_unit_code {
            Some(code) => Some(
                unit_id_by_code(&tx, code).await?.ok_or_else(|| mashangban_store::backend::unknown_lead_unit(code))?,
            ),
            None => None,
        };
        let keywords = serde_json::to_string(&c.keywords).map_err(StoreError::backend)?;
        let sql = format!(
            "INSERT INTO categories (code, name, parent_id, default_lead_unit_id, keywords) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
                default_lead_unit_id = EXCLUDED.default_lead_unit_id, keywords = EXCLUDED.keywords
             RETURNING {CATEGORY_COLUMNS}"
        );
        let row = query_one(&tx, &sql, &[&c.code, &c.name, &parent_id, &lead, &keywords]).await?;
        let saved = category(&row)?;
        commit(tx).await?;
        Ok(saved)
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        let client = self.client().await?;
        let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY id");
        rows::all(&query(&client, &sql, &[]).await?, category)
    }
}
