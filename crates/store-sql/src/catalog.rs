//! Categories (事项分类) and the dispatch catalogue (派单目录): each leaf
//! category names the unit a request of its kind goes to by default.

use mashangban_store::{CatalogStore, Category, ChangeEntity, NewCategory, StoreResult, backend};

use crate::org::unit_id_by_code;
use crate::rows::json_text;
use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

impl<D: Database> CatalogStore for SqlStore<D> {
    async fn upsert_category(&self, category: NewCategory) -> StoreResult<Category> {
        self.db.write(job(move |c| Box::pin(upsert_category(c, category)))).await
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        let sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY id");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], category).await }))).await
    }
}

async fn upsert_category(c: &dyn Conn, new: NewCategory) -> StoreResult<Category> {
    let parent_id: Option<i64> = match &new.parent_code {
        Some(code) => Some(
            c.scalar_opt("SELECT id FROM categories WHERE code = $1", &args![code])
                .await?
                .ok_or_else(|| backend::unknown_parent_category(code))?,
        ),
        None => None,
    };
    let lead = match &new.lead_unit_code {
        Some(code) => Some(unit_id_by_code(c, code).await?.ok_or_else(|| backend::unknown_lead_unit(code))?),
        None => None,
    };
    let sql = format!(
        "INSERT INTO categories (code, name, parent_id, default_lead_unit_id, keywords) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
            default_lead_unit_id = EXCLUDED.default_lead_unit_id, keywords = EXCLUDED.keywords
         RETURNING {CATEGORY_COLUMNS}"
    );
    let keywords = json_text(&new.keywords)?;
    let category = category(c.query_one(&sql, &args![new.code, new.name, parent_id, lead, keywords]).await?)?;
    crate::changes::append_now(c, ChangeEntity::Catalog, &category.code, "category").await?;
    Ok(category)
}

const CATEGORY_COLUMNS: &str = "id, code, name, parent_id, default_lead_unit_id, keywords, active";

fn category(row: Row) -> StoreResult<Category> {
    let mut c = row.cols();
    Ok(Category {
        id: c.get()?,
        code: c.get()?,
        name: c.get()?,
        parent_id: c.get()?,
        default_lead_unit_id: c.get()?,
        // Unreadable keywords are no keywords, as they always were.
        keywords: serde_json::from_str(&c.get::<String>()?).unwrap_or_default(),
        active: c.get()?,
    })
}
