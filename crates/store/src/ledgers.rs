//! Storage of ledgers (台账): ledger types with their versions, items with
//! their values as JSON (town and responsible unit copied into indexed
//! columns for scope and rollups), and each item's history, written in the
//! same job as the change it records. The engine itself is
//! [`mashangban_domain::ledger`].

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use mashangban_domain::DomainError;
use mashangban_domain::ledger::{CellChange, FieldKind, FieldValue, LedgerType, Values};
use mashangban_domain::org::{OrgTree, Scope, UnitId};
use mashangban_domain::request::Request;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A ledger type as stored: its current definition and the office (指挥部办公室) unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTypeRecord {
    pub code: String,
    pub name: String,
    pub version: i64,
    /// The type's TOML file at this version.
    pub definition: String,
    /// The org code of the unit acting as the type's command-centre office, if named.
    pub office_unit_code: Option<String>,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One saved version of a ledger type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerTypeVersion {
    pub type_code: String,
    pub version: i64,
    pub definition: String,
    /// The change report (JSON of `ChangeReport`) that allowed it; none for the first version.
    pub report: Option<String>,
    /// Items migrated to this version.
    pub migrated_items: i64,
    pub at: Instant,
    pub by: String,
}

/// A bundled or new type to install when absent (version 1).
#[derive(Debug, Clone)]
pub struct NewLedgerType {
    pub code: String,
    pub name: String,
    pub definition: String,
    pub office_unit_code: Option<String>,
}

/// Who changes a ledger, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAuthor {
    pub user_id: Option<i64>,
    pub name: String,
    /// The person's role (`handler`, `admin`, …).
    pub role: String,
    /// The ledger role keys they acted with (`town`, `command_office`, …), comma-separated.
    pub ledger_roles: String,
    pub at: Instant,
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerItem {
    pub id: i64,
    pub type_code: String,
    pub key: String,
    /// The item's name (the type's `name` field), for lists and search.
    pub name: Option<String>,
    pub stage: String,
    pub values: Values,
    pub town_id: Option<UnitId>,
    pub unit_id: Option<UnitId>,
    /// The type version the values were last validated under.
    pub type_version: i64,
    /// 1 when created, one more with every change (optimistic concurrency).
    pub version: i64,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub updated_by: String,
}

impl LedgerItem {
    /// How requests and tasks name the item (台账编号, their `ledger_ref`): `type:key`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.type_code, self.key)
    }
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAction {
    Created,
    Updated,
    Moved,
    Imported,
    /// Values rewritten by a new version of the type.
    Migrated,
    /// A document uploaded for the item, and the file field it fills if any.
    DocumentAdded,
    /// A document of the item withdrawn.
    DocumentWithdrawn,
}

impl LedgerAction {
    pub const ALL: [Self; 7] = [
        Self::Created,
        Self::Updated,
        Self::Moved,
        Self::Imported,
        Self::Migrated,
        Self::DocumentAdded,
        Self::DocumentWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Moved => "moved",
            Self::Imported => "imported",
            Self::Migrated => "migrated",
            Self::DocumentAdded => "document_added",
            Self::DocumentWithdrawn => "document_withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "登记",
            Self::Updated => "修改",
            Self::Moved => "阶段流转",
            Self::Imported => "导入",
            Self::Migrated => "类型升级迁移",
            Self::DocumentAdded => "上传附件",
            Self::DocumentWithdrawn => "撤回附件",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One entry of an item's history.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    pub id: i64,
    pub item_id: i64,
    /// The item's version after the change.
    pub item_version: i64,
    pub at: Instant,
    pub by_user_id: Option<i64>,
    pub by_name: String,
    pub by_role: String,
    pub ledger_roles: String,
    pub action: LedgerAction,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub changes: Vec<CellChange>,
    pub note: Option<String>,
}

/// An item as it is to be written: created when `id` is `None`, else
/// replaced if still at `expected_version` (`409 ledger_item_changed`).
#[derive(Debug, Clone)]
pub struct LedgerWrite {
    pub id: Option<i64>,
    pub expected_version: i64,
    pub type_code: String,
    /// The type version the values were validated under (`409 ledger_type_changed` if no longer current).
    pub type_version: i64,
    pub key: String,
    pub name: Option<String>,
    pub stage: String,
    pub values: Values,
    pub town_id: Option<UnitId>,
    pub unit_id: Option<UnitId>,
    pub action: LedgerAction,
    pub from_stage: Option<String>,
    pub changes: Vec<CellChange>,
    pub note: Option<String>,
}

impl LedgerWrite {
    /// The write of an item whose file field now names the document just uploaded: `values` are
    /// the item's with that field set (and anything computed from it), under type version
    /// `type_version`; the stage and placement stay. The store adds the note naming the file.
    pub fn document_added(ty: &LedgerType, type_version: i64, item: &LedgerItem, values: Values) -> Self {
        Self {
            id: Some(item.id),
            expected_version: item.version,
            type_code: item.type_code.clone(),
            type_version,
            key: item.key.clone(),
            name: ledger_item_name(ty, &values),
            stage: item.stage.clone(),
            changes: mashangban_domain::ledger::diff(ty, &item.values, &values),
            values,
            town_id: item.town_id,
            unit_id: item.unit_id,
            action: LedgerAction::DocumentAdded,
            from_stage: None,
            note: None,
        }
    }
}

/// Which items a person may see of one ledger type (the app decides it per type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerScope {
    All,
    /// Items located in this town.
    Town(UnitId),
    /// Items whose responsible unit is one of these.
    Units(Vec<UnitId>),
    Nothing,
}

impl LedgerScope {
    /// Whether an item placed in `town`, assigned to `unit`, is in scope.
    pub fn permits(&self, town: Option<UnitId>, unit: Option<UnitId>) -> bool {
        match self {
            Self::All => true,
            Self::Town(t) => town == Some(*t),
            Self::Units(units) => unit.is_some_and(|u| units.contains(&u)),
            Self::Nothing => false,
        }
    }
}

/// Which items of one type a list or rollup counts.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub stage: Option<String>,
    pub town_id: Option<UnitId>,
    pub unit_id: Option<UnitId>,
    /// `(field code, choice code)`: items whose choice field holds the code.
    pub choices: Vec<(String, String)>,
    /// Part of the key or the name.
    pub text: Option<String>,
    pub offset: u32,
    pub limit: u32,
}

/// One page and how many items match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerPage {
    pub items: Vec<LedgerItem>,
    pub total: u64,
}

/// What a rollup groups by besides the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupBy {
    Town,
    /// A choice field, by code.
    Choice(String),
}

/// One cell of a rollup: the row's value (a town id as text, a choice code; `None` = empty), the stage, the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupCell {
    pub row: Option<String>,
    pub stage: String,
    pub count: u64,
}

/// What a type change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSaved {
    pub record: LedgerTypeRecord,
    pub migrated_items: i64,
}

pub trait LedgerStore {
    /// Installs each type that is not stored yet as version 1; stored types are left as they are.
    fn install_ledger_types(&self, types: Vec<NewLedgerType>) -> impl Future<Output = StoreResult<()>> + Send;

    /// Every type, by code.
    fn ledger_types(&self) -> impl Future<Output = StoreResult<Vec<LedgerTypeRecord>>> + Send;

    fn ledger_type(&self, code: &str) -> impl Future<Output = StoreResult<Option<LedgerTypeRecord>>> + Send;

    /// Every version of a type, newest first.
    fn ledger_type_versions(&self, code: &str) -> impl Future<Output = StoreResult<Vec<LedgerTypeVersion>>> + Send;

    /// Saves `new` as the type's next version if the type is still at `expected_version`: in one job
    /// the stored items are summarised, `check_type_change` judged (refused: `409
    /// ledger_type_change_refused`, nothing written), and for a migration every item is migrated
    /// with a `migrated` event (an item that no longer validates refuses the whole change).
    fn save_ledger_type(
        &self,
        new: LedgerType,
        expected_version: i64,
        org: Arc<OrgTree>,
        author: LedgerAuthor,
    ) -> impl Future<Output = StoreResult<TypeSaved>> + Send;

    /// Names the type's office unit (by org code), or none.
    fn set_ledger_office(
        &self,
        code: &str,
        office_unit_code: Option<String>,
        author: LedgerAuthor,
    ) -> impl Future<Output = StoreResult<LedgerTypeRecord>> + Send;

    /// Writes items (create or replace) with one event each, all in one transaction: every write
    /// succeeds or none does. Answers the items as written.
    fn write_ledger_items(
        &self,
        writes: Vec<LedgerWrite>,
        author: LedgerAuthor,
    ) -> impl Future<Output = StoreResult<Vec<LedgerItem>>> + Send;

    /// Writes an import's items (create or replace, one `imported` event each) in one transaction,
    /// all or nothing, as [`Self::write_ledger_items`] does, but in bulk and answering only how many
    /// were written: new items (`id` `None`, their keys found free by the import's own look-up) go
    /// in multi-row INSERTs of items, events and change-feed rows, a few thousand at a time, without
    /// reading them back (a key taken since the look-up refuses the whole import,
    /// `409 ledger_key_exists`); changed items are written one by one as by `write_ledger_items`.
    fn import_ledger_items(
        &self,
        writes: Vec<LedgerWrite>,
        author: LedgerAuthor,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Rebuilds the choice values (`ledger_item_choices`) and the counts (`ledger_rollups`) that
    /// item writes keep up to date, from `ledger_items`: after rows were loaded around the store
    /// (a bulk load). Answers the number of items counted.
    fn rebuild_ledger_rollups(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// An item by key if in scope.
    fn ledger_item(
        &self,
        type_code: &str,
        key: &str,
        scope: &LedgerScope,
    ) -> impl Future<Output = StoreResult<Option<LedgerItem>>> + Send;

    /// An item by id, whatever the scope (documents name their owner by id).
    fn ledger_item_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<LedgerItem>>> + Send;

    /// The items of these keys, whatever the scope (imports compare with them).
    fn ledger_items_by_keys(
        &self,
        type_code: &str,
        keys: Vec<String>,
    ) -> impl Future<Output = StoreResult<Vec<LedgerItem>>> + Send;

    /// The item's history, oldest first.
    fn ledger_item_events(&self, item_id: i64) -> impl Future<Output = StoreResult<Vec<LedgerEvent>>> + Send;

    /// Items of a type in scope matching the filter, by key, one page, with the total.
    fn list_ledger_items(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
    ) -> impl Future<Output = StoreResult<LedgerPage>> + Send;

    /// At most `limit` items of a type in scope matching the filter (its paging ignored) whose key sorts
    /// after `after` (from the first when none), by key, without counting the total: an export reads
    /// every match this way, one batch at a time (keyset paging), so it never holds them all.
    fn ledger_items_after(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        after: Option<String>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<LedgerItem>>> + Send;

    /// Counts of the items in scope matching the filter (paging ignored), by `by` × stage, sorted by
    /// row (none first) and stage. `RollupBy::Choice` and the filter's choices name choice fields of
    /// the type. Read from the counts kept per town and per choice value (汇总表) when the filter and
    /// scope allow it (scope all or a town; no text, no unit; by town at most one choice filter, by
    /// a choice field none), else counted over the items.
    fn ledger_rollup(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        by: RollupBy,
    ) -> impl Future<Output = StoreResult<Vec<RollupCell>>> + Send;

    /// Requests in the request scope whose `ledger_ref` is `ledger_ref`, newest first.
    fn ledger_linked_requests(
        &self,
        ledger_ref: &str,
        scope: &Scope,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<Request>>> + Send;
}

/// The office unit (指挥部办公室) each bundled type names when installed; administrators change it.
const BUNDLED_OFFICES: [(&str, &str); 5] =
    [("outlet", "sthjj"), ("creek", "swuj"), ("sewer", "swuj"), ("park", "zrzyj"), ("investment", "swj")];

/// The bundled ledger types (`mashangban_domain::ledger::bundled`) as installed at start-up.
///
/// # Errors
///
/// `ledger_type_invalid` should a bundled file be broken.
pub fn bundled_ledger_types() -> Result<Vec<NewLedgerType>, DomainError> {
    mashangban_domain::ledger::bundled::all()?
        .into_iter()
        .map(|ty| {
            let office = BUNDLED_OFFICES.iter().find(|(t, _)| *t == ty.code()).map(|(_, o)| (*o).to_owned());
            Ok(NewLedgerType {
                code: ty.code().to_owned(),
                name: ty.name().to_owned(),
                definition: ty.to_toml()?,
                office_unit_code: office,
            })
        })
        .collect()
}

/// The item's town and responsible unit: the values of the type's first town field and first unit
/// field, as org ids (codes the tree does not know count as none).
pub fn ledger_placement(ty: &LedgerType, values: &Values, org: &OrgTree) -> (Option<UnitId>, Option<UnitId>) {
    let find = |want_town: bool| {
        ty.fields()
            .iter()
            .find(|f| if want_town { matches!(f.kind, FieldKind::Town) } else { matches!(f.kind, FieldKind::Unit) })
            .and_then(|f| match values.get(&f.code) {
                Some(FieldValue::Org(code)) => org.by_code(code).map(|u| u.id),
                _ => None,
            })
    };
    (find(true), find(false))
}

/// The item's name for lists and search: the value of the type's `name` field, or else of its first
/// required text field other than the key (`area_name`, `project_name`).
pub fn ledger_item_name(ty: &LedgerType, values: &Values) -> Option<String> {
    let key = &ty.key_field().code;
    let field = ty.field("name").or_else(|| {
        ty.fields().iter().find(|f| f.required && &f.code != key && matches!(f.kind, FieldKind::Text { .. }))
    })?;
    match values.get(&field.code) {
        Some(FieldValue::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

pub fn ledger_type_not_found(code: &str) -> DomainError {
    DomainError::not_found("ledger_type_not_found", format!("台账类型「{code}」不存在"))
}

pub fn ledger_item_not_found(key: &str) -> DomainError {
    DomainError::not_found("ledger_item_not_found", format!("台账条目「{key}」不存在"))
}

pub fn ledger_item_changed(current: i64) -> DomainError {
    DomainError::conflict("ledger_item_changed", format!("该条目已被他人修改（当前第{current}版），请刷新后再改"))
}

pub fn ledger_type_changed(current: i64) -> DomainError {
    DomainError::conflict("ledger_type_changed", format!("台账类型已更新为第{current}版，请刷新后重试"))
}

pub fn ledger_key_exists(key: &str) -> DomainError {
    DomainError::conflict("ledger_key_exists", format!("编号「{key}」已登记"))
}
