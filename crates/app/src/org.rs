//! The org tree (组织架构): every active unit for the portal and the API,
//! and its administration (add, rename, move, deactivate). A change reloads
//! the caches of every node.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::org::{Unit, UnitKind};
use mashangban_domain::validation::required_text;
use mashangban_store::{NewUnit, Signal, Store};

use crate::App;
use crate::accounts::{blank_to_none, code_field};
use crate::error::{AppError, AppResult};

/// The org service: `app.org()`.
pub struct Org<'a, S> {
    app: &'a App<S>,
}

/// A unit as the catalogue lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnitItem {
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: &'static str,
    /// The parent unit's code.
    pub parent: Option<String>,
}

/// A unit as administrators send it (create, or rename/move by code).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitInput {
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    /// `department`, `town` or `subunit` (the city is the root).
    pub kind: String,
    /// The parent unit's code.
    pub parent: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveInput {
    /// `false` deactivates (撤销), `true` reactivates.
    pub active: bool,
}

impl<'a, S: Store> Org<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Every active unit with its parent's code, by code.
    pub fn units(&self) -> Vec<UnitItem> {
        let org = self.app.caches().org();
        let mut items: Vec<UnitItem> = org
            .units()
            .filter(|u| u.active)
            .map(|u| UnitItem {
                code: u.code.clone(),
                name: u.name.clone(),
                short_name: u.short_name.clone(),
                kind: u.kind.as_str(),
                parent: u.parent_id.and_then(|p| org.get(p)).map(|p| p.code.clone()),
            })
            .collect();
        items.sort_by(|a, b| a.code.cmp(&b.code));
        items
    }

    /// Creates or changes a unit by code (`PUT /api/v1/admin/units/{code}`).
    pub async fn save_unit(&self, code: &str, input: UnitInput) -> AppResult<Unit> {
        let new = self.checked_unit(code, input)?;
        self.stored(self.app.store().upsert_unit(new).await?).await
    }

    /// Creates a unit; a code in use is `409 unit_code_taken` and leaves that unit as it is.
    pub async fn create_unit(&self, code: &str, input: UnitInput) -> AppResult<Unit> {
        let new = self.checked_unit(code, input)?;
        self.stored(self.app.store().create_unit(new).await?).await
    }

    /// Changes an existing unit; an unknown code is `404 unit_not_found` (nothing is created).
    pub async fn update_unit(&self, code: &str, input: UnitInput) -> AppResult<Unit> {
        let new = self.checked_unit(code, input)?;
        if !self.app.caches().org().units().any(|u| u.code == new.code) {
            return Err(AppError::not_found("unit_not_found", format!("单位「{}」不存在", new.code)));
        }
        self.stored(self.app.store().upsert_unit(new).await?).await
    }

    async fn stored(&self, unit: Unit) -> AppResult<Unit> {
        self.app.changed(Signal::CatalogChanged).await?;
        Ok(unit)
    }

    /// A unit under an active parent whose kind it may sit under (see
    /// [`UnitKind::parents`]), never below itself; when it exists, its
    /// sub-units must still fit under its (new) kind.
    fn checked_unit(&self, code: &str, input: UnitInput) -> AppResult<NewUnit> {
        let code = code_field("单位编码", code)?;
        let name = required_text("单位名称", &input.name, 50)?;
        let short_name = blank_to_none(input.short_name).map(|s| required_text("简称", &s, 20)).transpose()?;
        let kind = UnitKind::parse(input.kind.trim())
            .filter(|k| *k != UnitKind::City)
            .ok_or_else(|| AppError::invalid("invalid_unit_kind", "单位类型应为市直部门、镇街或下属科室"))?;
        let org = self.app.caches().org();
        let parent = org
            .units()
            .find(|u| u.code == input.parent.trim() && u.active)
            .ok_or_else(|| AppError::invalid("unknown_unit", "上级单位不存在或已撤销"))?;
        let existing = org.units().find(|u| u.code == code);
        if existing.is_some_and(|u| org.subtree(u.id).contains(&parent.id)) {
            return Err(AppError::invalid("unit_cycle", "上级单位不能是本单位或其下级"));
        }
        kind.check_parent(parent.kind)?;
        if let Some(unit) = existing {
            let mut children = org.units().filter(|u| u.parent_id == Some(unit.id));
            if let Some(child) = children.find(|c| c.kind.check_parent(kind).is_err()) {
                return Err(AppError::invalid(
                    "unit_nesting_refused",
                    format!(
                        "下级单位「{}」（{}）不能设在「{}」类单位之下，不能改为该类型",
                        child.name,
                        child.kind.label(),
                        kind.label()
                    ),
                ));
            }
        }
        Ok(NewUnit { code, name, short_name, kind, parent_code: Some(parent.code.clone()) })
    }

    /// Deactivates (撤销) or reactivates a unit.
    pub async fn set_unit_active(&self, code: &str, active: bool) -> AppResult<Unit> {
        let unit = self.app.store().set_unit_active(code.trim(), active).await?;
        self.app.changed(Signal::CatalogChanged).await?;
        Ok(unit)
    }
}
