//! Categories and the dispatch catalogue in SQLite.

use rusqlite::{OptionalExtension, params};

use mashangban_store::{CatalogStore, Category, NewCategory, StoreResult};

use crate::SqliteStore;
use crate::rows::db_err;

const CATEGORY_COLUMNS: &str = "id, code, name, parent_id, default_lead_unit_id, keywords, active";

fn category(row: &rusqlite::Row<'_>) -> rusqlite::Result<Category> {
    let keywords: String = row.get("keywords")?;
    Ok(Category {
        id: row.get("id")?,
        code: row.get("code")?,
        name: row.get("name")?,
        parent_id: row.get("parent_id")?,
        default_lead_unit_id: row.get("default_lead_unit_id")?,
        keywords: serde_json::from_str(&keywords).unwrap_or_default(),
        active: row.get("active")?,
    })
}

impl CatalogStore for SqliteStore {
    async fn upsert_category(&self, c: NewCategory) -> StoreResult<Category> {
        self.db
            .write(move |conn| {
                let parent_id: Option<i64> = match &c.parent_code {
                    Some(code) => Some(
                        conn.query_row("SELECT id FROM categories WHERE code = ?1", [code], |r| r.get(0))
                            .optional()
                            .map_err(db_err)?
                            .ok_or_else(|| mashangban_store::backend::unknown_parent_category(code))?,
                    ),
                    None => None,
                };
                let lead: Option<i64> = match &c.lead_unit_code {
                    Some(code) => Some(
                        conn.query_row("SELECT id FROM units WHERE code = ?1", [code], |r| r.get(0))
                            .optional()
                            .map_err(db_err)?
                            .ok_or_else(|| mashangban_store::backend::unknown_lead_unit(code))?,
                    ),
                    None => None,
                };
                let keywords = serde_json::to_string(&c.keywords).map_err(mashangban_store::StoreError::backend)?;
                conn.execute(
                    "INSERT INTO categories (code, name, parent_id, default_lead_unit_id, keywords) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
                        default_lead_unit_id = excluded.default_lead_unit_id, keywords = excluded.keywords",
                    params![c.code, c.name, parent_id, lead, keywords],
                )
                .map_err(db_err)?;
                let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories WHERE code = ?1");
                conn.query_row(&sql, [&c.code], category).map_err(db_err)
            })
            .await
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        self.db
            .read(|conn| {
                let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY id");
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let all = stmt.query_map([], category).map_err(db_err)?.collect::<Result<_, _>>();
                all.map_err(db_err)
            })
            .await
    }
}
