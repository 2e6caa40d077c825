//! Categories and the dispatch catalogue (事项分类与派单目录): the tree the
//! portal offers, and its administration. A change reloads the caches of
//! every node.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::validation::required_text;
use mashangban_store::{Category, NewCategory, Signal, Store, clean_keywords};

use crate::App;
use crate::accounts::{blank_to_none, code_field};
use crate::error::{AppError, AppResult};

/// The catalogue service: `app.catalog()`.
pub struct Catalog<'a, S> {
    app: &'a App<S>,
}

/// A category as the catalogue lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryItem {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    /// The suggested lead unit (派单目录).
    pub default_lead_unit: Option<String>,
    pub keywords: Vec<String>,
}

/// A category as stored, as administrators get it back.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CategoryView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub default_lead_unit_id: Option<i64>,
    pub keywords: Vec<String>,
    pub active: bool,
}

impl From<Category> for CategoryView {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            code: c.code,
            name: c.name,
            parent_id: c.parent_id,
            default_lead_unit_id: c.default_lead_unit_id,
            keywords: c.keywords,
            active: c.active,
        }
    }
}

/// A category as administrators send it (create or change by code).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    /// The parent category's code; none for a top-level group.
    #[serde(default)]
    pub parent: Option<String>,
    /// The default lead unit's code (派单目录), for leaves.
    #[serde(default)]
    pub lead_unit: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

impl<'a, S: Store> Catalog<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The active categories with the dispatch catalogue.
    pub fn categories(&self) -> Vec<CategoryItem> {
        let org = self.app.caches().org();
        let categories = self.app.caches().categories();
        categories
            .iter()
            .filter(|c| c.active)
            .map(|c| CategoryItem {
                code: c.code.clone(),
                name: c.name.clone(),
                parent: c.parent_id.and_then(|p| categories.iter().find(|x| x.id == p)).map(|p| p.code.clone()),
                default_lead_unit: c.default_lead_unit_id.and_then(|u| org.get(u)).map(|u| u.code.clone()),
                keywords: c.keywords.clone(),
            })
            .collect()
    }

    /// Creates or changes a category, never below itself.
    pub async fn save_category(&self, code: &str, input: CategoryInput) -> AppResult<CategoryView> {
        let code = code_field("分类编码", code)?;
        let name = required_text("分类名称", &input.name, 50)?;
        let parent_code = blank_to_none(input.parent);
        if let Some(parent) = &parent_code {
            let categories = self.app.caches().categories();
            let below_itself = parent == &code || ancestors(&categories, parent).any(|c| c.code == code);
            if below_itself {
                return Err(AppError::invalid("category_cycle", "上级分类不能是本分类或其下级"));
            }
        }
        let lead_unit_code = blank_to_none(input.lead_unit);
        if let Some(lead) = &lead_unit_code {
            let org = self.app.caches().org();
            if !org.units().any(|u| u.code == *lead && u.active) {
                return Err(AppError::invalid("unknown_unit", format!("单位「{lead}」不存在或已撤销")));
            }
        }
        let keywords = clean_keywords(&input.keywords)?;
        let new = NewCategory { code, name, parent_code, lead_unit_code, keywords };
        let category = self.app.store().upsert_category(new).await?;
        self.app.changed(Signal::CatalogChanged).await?;
        Ok(category.into())
    }
}

/// A category and its ancestors, nearest first.
fn ancestors<'a>(categories: &'a [Category], code: &str) -> impl Iterator<Item = &'a Category> {
    let start = categories.iter().find(|c| c.code == code);
    std::iter::successors(start, |c| c.parent_id.and_then(|p| categories.iter().find(|x| x.id == p))).take(64)
}
