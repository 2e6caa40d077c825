//! Ledgers (台账): the command centres' registers (outlets, creeks, sewers,
//! industrial parks, investment projects), each a ledger type defined as data
//! (`mashangban_domain::ledger`). People hold ledger role keys per type —
//! administrators `admin`, city leaders `leader`, staff of the type's office
//! unit `command_office`, handlers and unit leaders of a town `town`, of
//! another unit `unit` — and see items in their scope: a town its own items,
//! a unit the items assigned to it, the office, administrators, leaders (and
//! supervisors, read-only) all. Out of scope is not found.
//!
//! Use cases: types (list, get, save a new version, name the office), items
//! (create, update under an optimistic version, move stage through the type's
//! state machine, get with history and linked requests, list with filters and
//! a real total, rollups by town or choice field × stage), and Excel/CSV
//! (import preview and all-or-nothing commit, export, blank template).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use mashangban_domain::DomainError;
use mashangban_domain::ledger::{
    CellChange, FieldError, FieldKind, FieldValue, LedgerType, OrgLookup, Values, codes, diff, roles,
};
use mashangban_domain::org::{Actor, OrgTree, Role, UnitKind};
use mashangban_domain::time::format_instant;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_sheet::{Cell, Limits};
use mashangban_store::{
    LedgerAction, LedgerAuthor, LedgerEvent, LedgerFilter, LedgerItem, LedgerScope, LedgerTypeRecord, LedgerWrite,
    RollupBy, Store, ledger_item_name, ledger_item_not_found, ledger_placement, ledger_type_not_found,
};

use crate::error::{AppError, AppResult};
use crate::views::{RequestView, UnitRef, unit_ref};
use crate::{App, Caller};

mod bulk;
mod files;
pub mod map;

pub(crate) use files::not_ledger_editor;
pub use files::{FieldFile, FileFieldView, FileNames};

pub use bulk::{
    BULK_MAX, BULK_REFUSED, BULK_TOO_MANY, BulkItem, BulkMoveBody, BulkMoved, BulkOutcome, BulkRefusal, BulkRefused,
};

/// Items on a page at most.
pub const PAGE_MAX: u32 = 500;
/// Data rows an import reads at most.
pub const IMPORT_ROWS_MAX: u32 = 50_000;
/// Items an export writes at most; a filter matching more is refused (`export_too_large`).
pub const EXPORT_MAX: u32 = 200_000;
/// Items an export reads from the store at a time.
pub const EXPORT_BATCH: u32 = 500;
/// Linked requests shown on an item.
pub const REQUESTS_SHOWN: u32 = 100;
/// Problems an import report lists at most (all are counted).
pub const PROBLEMS_SHOWN: usize = 1000;
/// The column of an import or export that holds the stage.
pub const STAGE_COLUMN: &str = "阶段";
/// Longest note on a stage move.
const NOTE_MAX: usize = 500;

/// Stores the bundled ledger types that are not stored yet (version 1). Called at start-up.
pub async fn install_bundled<S: Store>(store: &S) -> AppResult<()> {
    Ok(store.install_ledger_types(mashangban_store::bundled_ledger_types()?).await?)
}

/// The ledger service: `app.ledgers()`.
pub struct Ledgers<'a, S> {
    app: &'a App<S>,
}

// ---- views ------------------------------------------------------------------------------

/// A ledger type in a list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TypeSummary {
    pub code: String,
    pub name: String,
    pub version: i64,
    pub description: Option<String>,
    /// The command-centre office unit.
    pub office: Option<UnitRef>,
    /// The caller's ledger role keys for this type (`admin`, `leader`, `command_office`, `town`, `unit`).
    pub my_roles: Vec<String>,
}

/// A code of a code list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChoiceView {
    pub code: String,
    pub name: String,
}

/// A field of a type.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FieldView {
    pub code: String,
    /// Also the Excel column header.
    pub label: String,
    /// `text`, `integer`, `decimal`, `date`, `datetime`, `choice`, `unit`, `town`, `enterprise`, `point`, `file`, `computed`.
    pub kind: String,
    pub kind_label: String,
    pub required: bool,
    pub unit: Option<String>,
    pub help: Option<String>,
    /// The code list of a choice field.
    pub choices: Vec<ChoiceView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StageView {
    pub code: String,
    pub name: String,
    /// Labels of the fields an item must hold before it enters the stage.
    pub requires: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MoveView {
    pub from: String,
    pub to: String,
    pub name: String,
    /// Role keys that may make the move.
    pub roles: Vec<String>,
}

/// A ledger type with its fields, stages and moves.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TypeView {
    #[serde(flatten)]
    pub summary: TypeSummary,
    pub key_field: String,
    /// The key's code rule, described.
    pub key_rule: Option<String>,
    pub fields: Vec<FieldView>,
    pub stages: Vec<StageView>,
    pub moves: Vec<MoveView>,
    /// The type's TOML file at this version.
    pub definition: String,
}

/// One version of a type.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TypeVersionView {
    pub version: i64,
    pub at: String,
    pub by: String,
    pub migrated_items: i64,
    /// The change findings, in Chinese.
    pub findings: Vec<String>,
}

/// A field's value on an item.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CellView {
    pub field: String,
    pub label: String,
    /// As people read it (choice names, units appended); empty when the item has no value.
    pub text: String,
}

/// An item.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemView {
    pub key: String,
    pub name: Option<String>,
    pub stage: String,
    pub stage_name: String,
    pub town: Option<UnitRef>,
    pub unit: Option<UnitRef>,
    /// Every field of the type, in order.
    pub cells: Vec<CellView>,
    /// The values in their input form, by field code (what an update sends back).
    pub values: BTreeMap<String, Json>,
    pub version: i64,
    pub type_version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    /// The `ledger_ref` requests use to point at this item (`type:key`).
    pub ledger_ref: String,
}

/// A stage move the caller may make now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MoveOption {
    pub to: String,
    pub name: String,
}

/// One changed cell in the history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeView {
    pub field: String,
    pub label: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub computed: bool,
}

/// One entry of an item's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    pub at: String,
    pub by: String,
    pub role: String,
    /// The ledger role keys the person acted with.
    pub ledger_roles: String,
    /// `created`, `updated`, `moved`, `imported`, `migrated`.
    pub action: String,
    pub action_label: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub changes: Vec<ChangeView>,
    pub note: Option<String>,
    /// The item's version after the change.
    pub item_version: i64,
}

/// An item with its history, the moves the caller may make and its linked requests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemDetail {
    pub item: ItemView,
    pub may_edit: bool,
    pub moves: Vec<MoveOption>,
    /// Oldest first.
    pub history: Vec<EventView>,
    /// Requests whose `ledger_ref` names this item, in the caller's request scope, newest first.
    pub requests: Vec<RequestView>,
    /// Each file field and the document it names.
    pub files: Vec<FileFieldView>,
    /// The item's documents not withdrawn, in upload order.
    pub documents: Vec<crate::documents::DocumentView>,
}

/// One page of items.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemList {
    pub items: Vec<ItemView>,
    /// Items in scope matching the filter, in all.
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
    /// When the list was read: a bulk move over the same filters refuses items changed after it.
    pub read_at: String,
}

/// A rollup row.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RollupRow {
    /// The town's code or the choice's code; empty for items without one.
    pub code: String,
    pub name: String,
    /// Counts by stage, in the order of `stages`.
    pub counts: Vec<u64>,
    pub total: u64,
}

/// Counts of the items in scope by `by` × stage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Rollup {
    /// `town` or a choice field's code.
    pub by: String,
    pub by_label: String,
    pub stages: Vec<StageView>,
    pub rows: Vec<RollupRow>,
    /// Column totals, by stage.
    pub totals: Vec<u64>,
    pub total: u64,
}

// ---- inputs -----------------------------------------------------------------------------

/// A new item: values by field code or Chinese label; `stage` defaults to the type's first stage.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub values: BTreeMap<String, Json>,
    #[serde(default)]
    pub stage: Option<String>,
}

/// A change of an item's values, made on `version`: each given field replaces its value (null or
/// empty clears it); fields not given keep theirs. The key cannot change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemUpdate {
    pub version: i64,
    pub values: BTreeMap<String, Json>,
}

/// A stage move, made on `version`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    pub version: i64,
    /// The target stage's code.
    pub to: String,
    #[serde(default)]
    #[schemars(length(max = 500))]
    pub note: Option<String>,
}

/// A new version of a type: its TOML file (with a `version` one above the current).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeSave {
    /// The version the change was made on (optimistic check).
    pub version: i64,
    pub definition: String,
}

/// The type's office unit (an org code), or none.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeBody {
    pub office: Option<String>,
}

/// The filters of a list or rollup (query parameters): `stage`, `town`, `unit`, `q`, `offset`,
/// `limit`, `by` (rollups), and any choice field by its code (`outlet_type=IN`).
pub type ListQuery = BTreeMap<String, String>;

/// One refused cell of an import.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RowProblem {
    /// The row number as Excel shows it.
    pub row: u32,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// What an import found and did (or, previewed, would do).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportReport {
    pub applied: bool,
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    pub problem_count: u64,
    /// At most 1,000.
    pub problems: Vec<RowProblem>,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

// ---- access -----------------------------------------------------------------------------

/// What a person may do with one ledger type.
#[derive(Debug, Clone)]
struct Access {
    roles: Vec<&'static str>,
    scope: LedgerScope,
}

impl Access {
    fn may_edit(&self) -> bool {
        self.roles.iter().any(|r| [roles::ADMIN, roles::COMMAND_OFFICE, roles::TOWN, roles::UNIT].contains(r))
    }
}

/// The ledger role keys and scope of `actor` for a type whose office is `office_code`.
fn access_of(actor: &Actor, office_code: Option<&str>, org: &OrgTree) -> Access {
    let Actor::Staff(s) = actor else { return Access { roles: Vec::new(), scope: LedgerScope::Nothing } };
    let in_office = office_code
        .and_then(|code| org.by_code(code))
        .is_some_and(|office| org.subtree(office.id).contains(&s.unit_id));
    match s.role {
        Role::Admin => Access { roles: vec![roles::ADMIN], scope: LedgerScope::All },
        Role::CityLeader => Access { roles: vec![roles::LEADER], scope: LedgerScope::All },
        Role::Handler | Role::UnitLeader if in_office => {
            Access { roles: vec![roles::COMMAND_OFFICE], scope: LedgerScope::All }
        }
        Role::Handler | Role::UnitLeader => match s.town_id {
            Some(town) => Access { roles: vec![roles::TOWN], scope: LedgerScope::Town(town) },
            None => Access { roles: vec![roles::UNIT], scope: LedgerScope::Units(s.units.clone()) },
        },
        Role::Supervisor => Access { roles: Vec::new(), scope: LedgerScope::All },
        _ => Access { roles: Vec::new(), scope: LedgerScope::Nothing },
    }
}

fn author(caller: &Caller, access: &Access, at: mashangban_domain::time::Instant) -> LedgerAuthor {
    LedgerAuthor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
        role: caller.actor.role_str().to_owned(),
        ledger_roles: access.roles.join(","),
        at,
    }
}

/// A type as stored, parsed.
struct Loaded {
    record: LedgerTypeRecord,
    ty: LedgerType,
}

fn field_errors(errors: &[FieldError]) -> AppError {
    field_problem(errors).into()
}

/// The first problem's code, every problem in the message.
fn field_problem(errors: &[FieldError]) -> DomainError {
    let code = errors.first().map_or(codes::FIELD_INVALID, |e| e.code);
    let message: Vec<String> = errors
        .iter()
        .map(|e| if e.label.is_empty() { e.message.clone() } else { format!("「{}」{}", e.label, e.message) })
        .collect();
    DomainError::invalid(code, message.join("；"))
}

fn out_of_scope() -> AppError {
    AppError::new(
        crate::error::ErrorKind::Forbidden,
        "ledger_out_of_scope",
        "该条目不在您的管辖范围（本镇街或本单位负责的条目）",
    )
}

impl<'a, S: Store> Ledgers<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    async fn load(&self, code: &str) -> AppResult<Loaded> {
        let record = self.app.store().ledger_type(code).await?.ok_or_else(|| ledger_type_not_found(code))?;
        let ty = LedgerType::from_toml(&record.definition)?;
        Ok(Loaded { record, ty })
    }

    fn access(&self, caller: &Caller, record: &LedgerTypeRecord) -> Access {
        access_of(&caller.actor, record.office_unit_code.as_deref(), &self.app.caches().org())
    }

    fn summary(&self, loaded: &Loaded, access: &Access) -> TypeSummary {
        let org = self.app.caches().org();
        let office = loaded
            .record
            .office_unit_code
            .as_deref()
            .and_then(|c| org.by_code(c))
            .map(|u| UnitRef { code: u.code.clone(), name: u.display_name().to_owned() });
        TypeSummary {
            code: loaded.record.code.clone(),
            name: loaded.record.name.clone(),
            version: loaded.record.version,
            description: loaded.ty.def().description.clone(),
            office,
            my_roles: access.roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    // ---- types ---------------------------------------------------------------------------

    /// Every ledger type, with the caller's role keys for each.
    pub async fn types(&self, caller: &Caller) -> AppResult<Vec<TypeSummary>> {
        let mut out = Vec::new();
        for record in self.app.store().ledger_types().await? {
            let ty = LedgerType::from_toml(&record.definition)?;
            let loaded = Loaded { record, ty };
            let access = self.access(caller, &loaded.record);
            out.push(self.summary(&loaded, &access));
        }
        Ok(out)
    }

    /// A type with its fields, stages and moves.
    pub async fn get_type(&self, caller: &Caller, code: &str) -> AppResult<TypeView> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        Ok(self.type_view(&loaded, &access))
    }

    fn type_view(&self, loaded: &Loaded, access: &Access) -> TypeView {
        let ty = &loaded.ty;
        let fields = ty
            .fields()
            .iter()
            .map(|f| FieldView {
                code: f.code.clone(),
                label: f.label.clone(),
                kind: serde_json::to_value(f.kind.name())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                kind_label: f.kind.name().label().to_owned(),
                required: f.required,
                unit: f.kind.unit().map(str::to_owned),
                help: f.help.clone(),
                choices: match &f.kind {
                    FieldKind::Choice { list } => ty
                        .list(list)
                        .map(|l| {
                            l.items.iter().map(|i| ChoiceView { code: i.code.clone(), name: i.name.clone() }).collect()
                        })
                        .unwrap_or_default(),
                    _ => Vec::new(),
                },
            })
            .collect();
        TypeView {
            summary: self.summary(loaded, access),
            key_field: ty.key_field().code.clone(),
            key_rule: ty.def().key.rule.as_ref().map(|r| match &r.description {
                Some(d) => format!("{}：{d}", r.name),
                None => r.name.clone(),
            }),
            fields,
            stages: stage_views(ty),
            moves: ty
                .moves()
                .iter()
                .map(|m| MoveView {
                    from: m.from.clone(),
                    to: m.to.clone(),
                    name: move_name(ty, m),
                    roles: m.roles.clone(),
                })
                .collect(),
            definition: loaded.record.definition.clone(),
        }
    }

    /// Every version of a type, newest first.
    pub async fn type_versions(&self, code: &str) -> AppResult<Vec<TypeVersionView>> {
        self.load(code).await?;
        let versions = self.app.store().ledger_type_versions(code).await?;
        Ok(versions
            .into_iter()
            .map(|v| {
                let findings = v
                    .report
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<mashangban_domain::ledger::ChangeReport>(r).ok())
                    .map(|r| r.findings.into_iter().map(|f| f.message).collect())
                    .unwrap_or_default();
                TypeVersionView {
                    version: v.version,
                    at: format_instant(&v.at),
                    by: v.by,
                    migrated_items: v.migrated_items,
                    findings,
                }
            })
            .collect())
    }

    /// Saves a new version of a type (administrators): refused when it would invalidate stored
    /// items, or migrating them with a recorded event.
    pub async fn save_type(&self, caller: &Caller, code: &str, body: TypeSave) -> AppResult<TypeView> {
        let loaded = self.load(code).await?;
        let new = LedgerType::from_toml(&body.definition)?;
        if new.code() != loaded.ty.code() {
            return Err(AppError::invalid(
                codes::TYPE_CHANGE_REFUSED,
                format!("台账类型编码不能修改（{} → {}）", loaded.ty.code(), new.code()),
            ));
        }
        let access = self.access(caller, &loaded.record);
        let org = self.app.caches().org();
        let saved = self
            .app
            .store()
            .save_ledger_type(new, body.version, Arc::clone(&org), author(caller, &access, self.app.now()))
            .await?;
        let ty = LedgerType::from_toml(&saved.record.definition)?;
        Ok(self.type_view(&Loaded { record: saved.record, ty }, &access))
    }

    /// Names the type's office unit (administrators).
    pub async fn set_office(&self, caller: &Caller, code: &str, body: OfficeBody) -> AppResult<TypeView> {
        let loaded = self.load(code).await?;
        let office = match body.office.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(c) => {
                let org = self.app.caches().org();
                let unit = org
                    .by_code(c)
                    .filter(|u| u.active && u.kind != UnitKind::City)
                    .ok_or_else(|| AppError::invalid("unknown_unit", format!("单位「{c}」不存在或已撤销")))?;
                Some(unit.code.clone())
            }
            None => None,
        };
        let access = self.access(caller, &loaded.record);
        let record = self.app.store().set_ledger_office(code, office, author(caller, &access, self.app.now())).await?;
        let ty = LedgerType::from_toml(&record.definition)?;
        let loaded = Loaded { record, ty };
        let access = self.access(caller, &loaded.record);
        Ok(self.type_view(&loaded, &access))
    }

    // ---- items ---------------------------------------------------------------------------

    /// Registers an item in the caller's scope.
    pub async fn create(&self, caller: &Caller, code: &str, body: ItemBody) -> AppResult<ItemView> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        if !access.may_edit() {
            return Err(AppError::forbidden("您对该台账只有查看权限"));
        }
        let org = self.app.caches().org();
        let ty = &loaded.ty;
        let values = ty.validate_item(&body.values, org.as_ref() as &dyn OrgLookup).map_err(|e| field_errors(&e))?;
        files::refuse_files_of_new(ty, &values)?;
        let stage = match body.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => ty.known_stage(s)?.clone(),
            None => {
                ty.initial_stage().cloned().ok_or_else(|| AppError::invalid(codes::STAGE_UNKNOWN, "该台账没有阶段"))?
            }
        };
        if Some(stage.code.as_str()) != ty.initial_stage().map(|s| s.code.as_str())
            && !access.roles.iter().any(|r| [roles::ADMIN, roles::COMMAND_OFFICE].contains(r))
        {
            return Err(AppError::new(
                crate::error::ErrorKind::Forbidden,
                codes::STAGE_ROLE_FORBIDDEN,
                "新登记的条目只能从第一个阶段开始；直接登记到后续阶段须由指挥部办公室或管理员操作",
            ));
        }
        ty.check_entry(&values, &stage)?;
        let key = ty.key_of(&values).ok_or_else(|| AppError::invalid(codes::FIELD_REQUIRED, "编号必填"))?;
        let (town_id, unit_id) = ledger_placement(ty, &values, &org);
        if !access.scope.permits(town_id, unit_id) {
            return Err(out_of_scope());
        }
        let changes = diff(ty, &Values::new(), &values);
        let write = LedgerWrite {
            id: None,
            expected_version: 0,
            type_code: ty.code().to_owned(),
            type_version: loaded.record.version,
            key,
            name: ledger_item_name(ty, &values),
            stage: stage.code.clone(),
            values,
            town_id,
            unit_id,
            action: LedgerAction::Created,
            from_stage: None,
            changes,
            note: None,
        };
        let written = self.write(caller, &access, vec![write]).await?;
        let item = written.into_iter().next().ok_or_else(AppError::internal)?;
        Ok(item_view(ty, &item, &org))
    }

    async fn write(&self, caller: &Caller, access: &Access, writes: Vec<LedgerWrite>) -> AppResult<Vec<LedgerItem>> {
        let written = self.app.store().write_ledger_items(writes, author(caller, access, self.app.now())).await?;
        self.app.feed().wake();
        Ok(written)
    }

    /// The item in the caller's scope, or not found.
    /// An item of type `code` in the caller's scope (`ledger_item_not_found`
    /// otherwise), with its type and whether the caller may edit the type's
    /// items: for the modules that hang off ledger items (creek samples and plans).
    pub(crate) async fn item_in_scope(
        &self,
        caller: &Caller,
        code: &str,
        key: &str,
    ) -> AppResult<(LedgerType, LedgerItem, bool)> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        Ok((loaded.ty, found, access.may_edit()))
    }

    /// The item a request or a task names by its 台账编号 `type:key`, as the item's page gives it
    /// (`ledger_ref`): `422 unknown_ledger_item` when no such item exists. Any item of any ledger: the
    /// 12345 operator naming it at intake sees no ledger, and the link shows the request to those who
    /// see the item.
    pub(crate) async fn reference(&self, text: &str) -> AppResult<LedgerItem> {
        let text = text.trim();
        let shown: String = text.chars().take(60).collect();
        let Some((code, key)) = text.split_once(':') else {
            return Err(AppError::invalid(
                "unknown_ledger_item",
                format!("台账条目「{shown}」应写成「类型:编号」，如 outlet:HE000001442000GY0001"),
            ));
        };
        let found = self.app.store().ledger_item(code.trim(), key.trim(), &LedgerScope::All).await?;
        found.ok_or_else(|| AppError::invalid("unknown_ledger_item", format!("没有台账条目「{shown}」")))
    }

    /// The type `code` and the caller's scope over its items.
    pub(crate) async fn scope_of(&self, caller: &Caller, code: &str) -> AppResult<(LedgerType, LedgerScope)> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        Ok((loaded.ty, access.scope))
    }

    async fn item(&self, loaded: &Loaded, access: &Access, key: &str) -> AppResult<LedgerItem> {
        let key = key.trim();
        let found = self.app.store().ledger_item(loaded.ty.code(), key, &access.scope).await?;
        Ok(found.ok_or_else(|| ledger_item_not_found(key))?)
    }

    /// Changes an item's values (those given), still at `version`.
    pub async fn update(&self, caller: &Caller, code: &str, key: &str, body: ItemUpdate) -> AppResult<ItemView> {
        self.update_with_files(caller, code, key, body, Vec::new()).await
    }

    /// Moves an item to another stage, as the type's state machine and the caller's role keys allow.
    pub async fn move_stage(&self, caller: &Caller, code: &str, key: &str, body: MoveBody) -> AppResult<ItemView> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        if found.version != body.version {
            return Err(mashangban_store::ledger_item_changed(found.version).into());
        }
        let note = bulk::check_note(body.note.as_deref())?;
        let ty = &loaded.ty;
        let org = self.app.caches().org();
        // Values are recomputed under the current type (a computed field may read the stage's inputs).
        let values = ty.revalidate(&found.values, org.as_ref() as &dyn OrgLookup).map_err(|e| field_errors(&e))?;
        ty.check_move(&values, &found.stage, body.to.trim(), &access.roles)?;
        let changes = diff(ty, &found.values, &values);
        let write = LedgerWrite {
            id: Some(found.id),
            expected_version: found.version,
            type_code: ty.code().to_owned(),
            type_version: loaded.record.version,
            key: found.key.clone(),
            name: ledger_item_name(ty, &values),
            stage: body.to.trim().to_owned(),
            values,
            town_id: found.town_id,
            unit_id: found.unit_id,
            action: LedgerAction::Moved,
            from_stage: Some(found.stage.clone()),
            changes,
            note,
        };
        let item = self.write(caller, &access, vec![write]).await?.into_iter().next().ok_or_else(AppError::internal)?;
        self.named_view(ty, &item).await
    }

    /// An item with its history, the moves the caller may make and its linked requests.
    pub async fn get(&self, caller: &Caller, code: &str, key: &str) -> AppResult<ItemDetail> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        let ty = &loaded.ty;
        let org = self.app.caches().org();
        let events = self.app.store().ledger_item_events(found.id).await?;
        let mut history: Vec<EventView> = events.iter().map(|e| event_view(ty, e)).collect();
        let mut item = item_view(ty, &found, &org);
        let (files, documents) = self.item_files(ty, &found, &mut item, &mut history).await?;
        let moves = ty
            .moves_for(&found.stage, &access.roles)
            .map(|m| MoveOption { to: m.to.clone(), name: move_name(ty, m) })
            .collect();
        let ledger_ref = found.reference();
        let linked =
            self.app.store().ledger_linked_requests(&ledger_ref, &caller.actor.scope(), REQUESTS_SHOWN).await?;
        let caches = self.app.caches();
        let (categories, calendar) = (caches.categories(), caches.calendar());
        let lookup =
            crate::views::Lookup { org: &org, categories: &categories, calendar: &calendar, now: self.app.now() };
        let requests = linked.iter().map(|r| crate::views::request_view(r, &caller.actor, &lookup, None)).collect();
        Ok(ItemDetail { item, may_edit: access.may_edit(), moves, history, requests, files, documents })
    }

    fn filter(&self, ty: &LedgerType, q: &ListQuery, paged: bool) -> AppResult<LedgerFilter> {
        let org = self.app.caches().org();
        let mut f = LedgerFilter { limit: 50, ..LedgerFilter::default() };
        for (name, value) in q {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "stage" => {
                    f.stage = Some(ty.known_stage(value).map_err(|e| AppError::bad_parameter(e.message))?.code.clone())
                }
                "town" => {
                    let town = org
                        .find_unit(value)
                        .filter(|(_, kind)| *kind == UnitKind::Town)
                        .and_then(|(code, _)| org.by_code(&code).map(|u| u.id))
                        .ok_or_else(|| AppError::bad_parameter(format!("「town」镇街「{value}」不存在")))?;
                    f.town_id = Some(town);
                }
                "unit" => {
                    let unit = org
                        .find_unit(value)
                        .and_then(|(code, _)| org.by_code(&code).map(|u| u.id))
                        .ok_or_else(|| AppError::bad_parameter(format!("「unit」单位「{value}」不存在")))?;
                    f.unit_id = Some(unit);
                }
                "q" => {
                    if value.chars().count() > 100 {
                        return Err(AppError::bad_parameter("「q」不能超过100个字"));
                    }
                    f.text = Some(value.to_owned());
                }
                "offset" | "limit" if !paged => {}
                "offset" => f.offset = number(name, value, 10_000_000)?,
                "limit" => f.limit = number(name, value, PAGE_MAX)?.max(1),
                "by" if !paged => {}
                other => {
                    let Some(field) = ty.field(other) else {
                        return Err(AppError::bad_request(
                            "unknown_parameter",
                            format!(
                                "查询参数「{other}」不是 stage、town、unit、q、offset、limit，也不是该台账的选项字段"
                            ),
                        ));
                    };
                    let FieldKind::Choice { list } = &field.kind else {
                        return Err(AppError::bad_parameter(format!("「{other}」不是选项字段，不能按它筛选")));
                    };
                    let choice = ty
                        .list(list)
                        .and_then(|l| l.find(value))
                        .ok_or_else(|| AppError::bad_parameter(format!("「{}」没有选项「{value}」", field.label)))?;
                    f.choices.push((field.code.clone(), choice.code.clone()));
                }
            }
        }
        Ok(f)
    }

    /// Checks a list's filters as [`Self::list`] reads them (paging aside), e.g. for a saved view.
    pub async fn list_filters(&self, code: &str, q: &ListQuery) -> AppResult<()> {
        let loaded = self.load(code).await?;
        self.filter(&loaded.ty, q, false).map(|_| ())
    }

    /// A page of the items in scope matching the filters, by key, with the total.
    pub async fn list(&self, caller: &Caller, code: &str, q: &ListQuery) -> AppResult<ItemList> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let filter = self.filter(&loaded.ty, q, true)?;
        let read_at = format_instant(&self.app.now());
        let page = self.app.store().list_ledger_items(code, &filter, &access.scope).await?;
        let org = self.app.caches().org();
        let names = self.file_names(&loaded.ty, &page.items).await?;
        let items = page
            .items
            .iter()
            .map(|i| {
                let mut shown = item_view(&loaded.ty, i, &org);
                names.name_cells(&loaded.ty, i.id, &mut shown);
                shown
            })
            .collect();
        Ok(ItemList { items, total: page.total, offset: filter.offset, limit: filter.limit, read_at })
    }

    /// Counts of the items in scope matching the filters, by town (or the choice field `by`) × stage.
    pub async fn rollup(&self, caller: &Caller, code: &str, q: &ListQuery) -> AppResult<Rollup> {
        let loaded = self.load(code).await?;
        let ty = &loaded.ty;
        let access = self.access(caller, &loaded.record);
        let filter = self.filter(ty, q, false)?;
        let by_name = q.get("by").map(|s| s.trim()).filter(|s| !s.is_empty()).unwrap_or("town");
        let (by, by_label, list) = if by_name == "town" {
            (RollupBy::Town, "镇街".to_owned(), None)
        } else {
            match ty.field(by_name).map(|f| (f, &f.kind)) {
                Some((f, FieldKind::Choice { list })) => {
                    (RollupBy::Choice(f.code.clone()), f.label.clone(), ty.list(list))
                }
                _ => {
                    return Err(AppError::bad_parameter(format!(
                        "「by」应为 town 或该台账的选项字段编码，不是「{by_name}」"
                    )));
                }
            }
        };
        let cells = self.app.store().ledger_rollup(code, &filter, &access.scope, by.clone()).await?;
        let stages = stage_views(ty);
        let org = self.app.caches().org();
        let mut rows: Vec<RollupRow> = Vec::new();
        let mut index: HashMap<Option<String>, usize> = HashMap::new();
        for cell in &cells {
            let i = *index.entry(cell.row.clone()).or_insert_with(|| {
                let (code, name) = match (&by, cell.row.as_deref()) {
                    (_, None) => (String::new(), "（未填）".to_owned()),
                    (RollupBy::Town, Some(id)) => match id.parse::<i64>().ok().and_then(|id| org.get(id)) {
                        Some(u) => (u.code.clone(), u.display_name().to_owned()),
                        None => (id.to_owned(), id.to_owned()),
                    },
                    (RollupBy::Choice(_), Some(c)) => {
                        (c.to_owned(), list.and_then(|l| l.name_of(c)).unwrap_or(c).to_owned())
                    }
                };
                rows.push(RollupRow { code, name, counts: vec![0; stages.len()], total: 0 });
                rows.len() - 1
            });
            if let (Some(row), Some(s)) = (rows.get_mut(i), stages.iter().position(|s| s.code == cell.stage)) {
                row.counts[s] += cell.count;
                row.total += cell.count;
            }
        }
        rows.sort_by(|a, b| (a.code.is_empty(), &a.code).cmp(&(b.code.is_empty(), &b.code)));
        let totals: Vec<u64> = (0..stages.len()).map(|s| rows.iter().map(|r| r.counts[s]).sum()).collect();
        let total = totals.iter().sum();
        Ok(Rollup { by: by_name.to_owned(), by_label, stages, rows, totals, total })
    }

    // ---- spreadsheets --------------------------------------------------------------------

    /// A blank import template: a column per input field (required ones marked), the stage column,
    /// drop-down lists for choice, town and stage columns.
    pub async fn template(&self, code: &str) -> AppResult<(String, Vec<u8>)> {
        let loaded = self.load(code).await?;
        let ty = &loaded.ty;
        let org = self.app.caches().org();
        let mut columns = Vec::new();
        for f in ty.fields().iter().filter(|f| !f.is_computed()) {
            let mut col = write_column(ty, f);
            if f.required {
                col = col.required();
            }
            match &f.kind {
                FieldKind::Choice { list } => {
                    col = col.choices(
                        ty.list(list)
                            .map(|l| l.items.iter().map(|i| i.name.clone()).collect::<Vec<_>>())
                            .unwrap_or_default(),
                    );
                }
                FieldKind::Town => {
                    let mut towns: Vec<&mashangban_domain::org::Unit> =
                        org.units().filter(|u| u.kind == UnitKind::Town && u.active).collect();
                    towns.sort_by(|a, b| a.code.cmp(&b.code));
                    col = col.choices(towns.iter().map(|u| u.name.clone()));
                }
                _ => {}
            }
            columns.push(col);
        }
        columns.push(WriteColumn::text(STAGE_COLUMN).choices(ty.stages().iter().map(|s| s.name.clone())));
        let bytes = mashangban_sheet::write::template(ty.name(), &columns).map_err(sheet_error)?;
        Ok((format!("{}导入模板.xlsx", ty.name()), bytes))
    }

    /// The items in scope matching the filters as a workbook: every field's Chinese label as its
    /// header, then the stage; codes as text cells. It imports back unchanged. The items are read
    /// [`EXPORT_BATCH`] at a time by key and each batch goes to the sheet's temporary file
    /// (rust_xlsxwriter's constant-memory mode), so an export holds one batch, not every item.
    pub async fn export(&self, caller: &Caller, code: &str, q: &ListQuery) -> AppResult<(String, Vec<u8>)> {
        let loaded = self.load(code).await?;
        let ty = &loaded.ty;
        let access = self.access(caller, &loaded.record);
        let filter = self.filter(ty, q, false)?;
        let counted = LedgerFilter { limit: 1, offset: 0, ..filter.clone() };
        let matched = self.app.store().list_ledger_items(code, &counted, &access.scope).await?.total;
        AppError::check_export_size(matched, EXPORT_MAX.into())?;
        let org = self.app.caches().org();
        let mut export = Export::new(ty.name(), export_columns(ty)).map_err(sheet_error)?;
        let (mut after, mut written) = (None, 0u32);
        while written < EXPORT_MAX {
            let limit = EXPORT_BATCH.min(EXPORT_MAX - written);
            let batch = self.app.store().ledger_items_after(code, &filter, &access.scope, after, limit).await?;
            let names = self.file_names(ty, &batch).await?;
            for item in &batch {
                let values = names.shown_values(ty, item);
                export.push(&export_row(ty, &values, &item.stage, &org)).map_err(sheet_error)?;
            }
            written += batch.len() as u32;
            if batch.len() < limit as usize {
                break;
            }
            after = batch.last().map(|i| i.key.clone());
        }
        Ok((format!("{}台账.xlsx", ty.name()), export.finish().map_err(sheet_error)?))
    }

    /// Reads a workbook (or CSV) of items by key and checks every row: new keys are registered
    /// (in the stage of the `阶段` column, else the first), known keys changed in the columns the
    /// file has. With `apply`, writes all of them with one history entry each in one transaction,
    /// only if no row has a problem (`422 invalid_rows`, nothing written).
    pub async fn import(&self, caller: &Caller, code: &str, bytes: &[u8], apply: bool) -> AppResult<ImportReport> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        if !access.may_edit() {
            return Err(AppError::forbidden("您对该台账只有查看权限"));
        }
        let org = self.app.caches().org();
        let mut sheet = read_sheet(&loaded.ty, bytes)?;
        let keys: Vec<String> = sheet.rows.iter().filter_map(|r| r.key.clone()).collect();
        let existing: HashMap<String, LedgerItem> =
            self.app.store().ledger_items_by_keys(code, keys).await?.into_iter().map(|i| (i.key.clone(), i)).collect();
        let file_problems = self.resolve_import_files(&loaded.ty, &mut sheet.rows, &existing).await?;
        let mut plan = Plan { problems: sheet.problems, ..Plan::default() };
        plan.problems.extend(file_problems);
        for row in &sheet.rows {
            plan_row(&loaded, &access, &org, row, existing.get(row.key.as_deref().unwrap_or_default()), &mut plan);
        }
        let problem_count = plan.problems.len() as u64;
        if apply && problem_count > 0 {
            let first: Vec<String> =
                plan.problems.iter().take(3).map(|p| format!("第{}行「{}」：{}", p.row, p.column, p.reason)).collect();
            return Err(AppError::invalid(
                "invalid_rows",
                format!("有{problem_count}处错误，全部未导入：{}", first.join("；")),
            ));
        }
        if apply && !plan.writes.is_empty() {
            let writes = std::mem::take(&mut plan.writes);
            self.app.store().import_ledger_items(writes, author(caller, &access, self.app.now())).await?;
            self.app.feed().wake();
        }
        plan.problems.truncate(PROBLEMS_SHOWN);
        Ok(ImportReport {
            applied: apply,
            rows: sheet.data_rows,
            problem_count,
            problems: plan.problems,
            new: plan.new,
            updated: plan.updated,
            unchanged: plan.unchanged,
        })
    }
}

fn number(name: &str, value: &str, max: u32) -> AppResult<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| AppError::bad_parameter(format!("「{name}」应为 0 到 {max} 的整数")))
}

fn stage_views(ty: &LedgerType) -> Vec<StageView> {
    ty.stages()
        .iter()
        .map(|s| StageView {
            code: s.code.clone(),
            name: s.name.clone(),
            requires: s.requires.iter().map(|f| ty.label_of(f).to_owned()).collect(),
        })
        .collect()
}

fn move_name(ty: &LedgerType, m: &mashangban_domain::ledger::def::MoveDef) -> String {
    m.name.clone().unwrap_or_else(|| ty.stage(&m.to).map_or_else(|| m.to.clone(), |s| format!("转入{}", s.name)))
}

fn org_name(org: &OrgTree, code: &str) -> String {
    org.by_code(code).map_or_else(|| code.to_owned(), |u| u.name.clone())
}

/// A value as people read it: [`LedgerType::display_value`] with org names instead of codes.
fn shown(ty: &LedgerType, field: &str, value: &FieldValue, org: &OrgTree) -> String {
    match value {
        FieldValue::Org(code) => org_name(org, code),
        other => ty.display_value(field, other),
    }
}

pub fn item_view(ty: &LedgerType, item: &LedgerItem, org: &OrgTree) -> ItemView {
    let cells = ty
        .fields()
        .iter()
        .map(|f| CellView {
            field: f.code.clone(),
            label: f.label.clone(),
            text: item.values.get(&f.code).map(|v| shown(ty, &f.code, v, org)).unwrap_or_default(),
        })
        .collect();
    ItemView {
        key: item.key.clone(),
        name: item.name.clone(),
        stage: item.stage.clone(),
        stage_name: ty.stage(&item.stage).map_or_else(|| item.stage.clone(), |s| s.name.clone()),
        town: unit_ref(org, item.town_id),
        unit: unit_ref(org, item.unit_id),
        cells,
        values: item.values.iter().map(|(k, v)| (k.clone(), v.to_input())).collect(),
        version: item.version,
        type_version: item.type_version,
        created_at: format_instant(&item.created_at),
        updated_at: format_instant(&item.updated_at),
        updated_by: item.updated_by.clone(),
        ledger_ref: item.reference(),
    }
}

fn change_view(ty: &LedgerType, c: &CellChange) -> ChangeView {
    let show = |v: &Option<FieldValue>| v.as_ref().map(|v| ty.display_value(&c.field, v));
    ChangeView {
        field: c.field.clone(),
        label: c.label.clone(),
        before: show(&c.before),
        after: show(&c.after),
        computed: c.computed,
    }
}

fn event_view(ty: &LedgerType, e: &LedgerEvent) -> EventView {
    let stage_name =
        |s: &Option<String>| s.as_ref().map(|code| ty.stage(code).map_or_else(|| code.clone(), |s| s.name.clone()));
    EventView {
        at: format_instant(&e.at),
        by: e.by_name.clone(),
        role: e.by_role.clone(),
        ledger_roles: e
            .ledger_roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(roles::label)
            .collect::<Vec<_>>()
            .join("、"),
        action: e.action.as_str().to_owned(),
        action_label: e.action.label().to_owned(),
        from_stage: stage_name(&e.from_stage),
        to_stage: stage_name(&e.to_stage),
        changes: e.changes.iter().map(|c| change_view(ty, c)).collect(),
        note: e.note.clone(),
        item_version: e.item_version,
    }
}

// ---- spreadsheet helpers ----------------------------------------------------------------

fn sheet_error(e: mashangban_sheet::SheetError) -> AppError {
    AppError::from(DomainError::from(e))
}

fn write_column(ty: &LedgerType, f: &mashangban_domain::ledger::Field) -> WriteColumn {
    let _ = ty;
    let kind = match &f.kind {
        FieldKind::Integer { .. } => Kind::Integer,
        FieldKind::Decimal { .. } => Kind::Number,
        FieldKind::Date => Kind::Date,
        _ => Kind::Text,
    };
    WriteColumn::new(f.label.clone(), kind)
}

/// The columns of an export (and of a workbook that imports): every field by its Chinese label, then the stage.
pub fn export_columns(ty: &LedgerType) -> Vec<WriteColumn> {
    let mut columns: Vec<WriteColumn> = ty.fields().iter().map(|f| write_column(ty, f)).collect();
    columns.push(WriteColumn::text(STAGE_COLUMN));
    columns
}

/// An item's row under [`export_columns`]: choices and orgs by name, codes as text, then the stage's name.
pub fn export_row(ty: &LedgerType, values: &Values, stage: &str, org: &OrgTree) -> Vec<Cell> {
    let mut cells: Vec<Cell> = ty.fields().iter().map(|f| export_cell(ty, f, values.get(&f.code), org)).collect();
    cells.push(Cell::Text(ty.stage(stage).map_or_else(|| stage.to_owned(), |s| s.name.clone())));
    cells
}

fn export_cell(
    ty: &LedgerType,
    f: &mashangban_domain::ledger::Field,
    value: Option<&FieldValue>,
    org: &OrgTree,
) -> Cell {
    let Some(value) = value else { return Cell::Empty };
    match (&f.kind, value) {
        (FieldKind::Integer { .. }, FieldValue::Integer(i)) => Cell::Number(*i as f64),
        (FieldKind::Date, FieldValue::Date(d)) => Cell::Date(*d),
        (FieldKind::Choice { list }, FieldValue::Choice(code)) => {
            Cell::Text(ty.list(list).and_then(|l| l.name_of(code)).unwrap_or(code).to_owned())
        }
        (_, FieldValue::Org(code)) => Cell::Text(org_name(org, code)),
        // Decimals as text keep every digit; the column is still a number column for people.
        (_, other) => Cell::Text(other.as_text()),
    }
}

/// One data row of an import.
struct SheetRow {
    row: u32,
    /// Input by field code.
    input: BTreeMap<String, Json>,
    /// The key as written (normalised by validation later), if the key column has one.
    key: Option<String>,
    stage: Option<String>,
}

struct Sheet {
    data_rows: u64,
    rows: Vec<SheetRow>,
    problems: Vec<RowProblem>,
}

fn limits() -> Limits {
    Limits::default().file_bytes(32 * 1024 * 1024).part_bytes(512 * 1024 * 1024).rows(IMPORT_ROWS_MAX + 10).columns(250)
}

/// Reads the rows: the first non-blank row is the header (labels, or codes; a leading `*` of the
/// template ignored), every column must name a field or the stage.
fn read_sheet(ty: &LedgerType, bytes: &[u8]) -> AppResult<Sheet> {
    let mut rows = mashangban_sheet::open(bytes, &limits()).map_err(sheet_error)?;
    // The header is the first row naming the key column (a title row may come before it).
    let key_field = ty.key_field();
    let names_key = |text: &str| {
        let name = text.trim_start_matches(['*', '＊']).trim();
        name == key_field.label || name == key_field.code
    };
    let mut looked = 0;
    let header = loop {
        let Some(row) = rows.next() else {
            return Err(AppError::invalid(
                mashangban_sheet::codes::HEADER_MISSING,
                format!("没有找到表头（含「{}」列的一行）", key_field.label),
            ));
        };
        let row = row.map_err(sheet_error)?;
        if row.is_blank() {
            continue;
        }
        if row.cells().any(|(_, c)| c.as_text().is_some_and(|t| names_key(&t))) {
            break row;
        }
        looked += 1;
        if looked >= 10 {
            return Err(AppError::invalid(
                mashangban_sheet::codes::HEADER_MISSING,
                format!("前10行中没有表头（含「{}」列的一行）", key_field.label),
            ));
        }
    };
    let mut columns: Vec<(u32, Option<String>, String)> = Vec::new(); // (column, field code or None = stage, header)
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (col, cell) in header.cells() {
        let Some(text) = cell.as_text() else { continue };
        let name = text.trim_start_matches(['*', '＊']).trim().to_owned();
        let target =
            if name == STAGE_COLUMN { Some(None) } else { ty.resolve_field(&name).map(|f| Some(f.code.clone())) };
        match target {
            Some(t) => {
                if !seen.insert(t.clone()) {
                    problems.push(RowProblem {
                        row: header.number(),
                        column: name.clone(),
                        value: name.clone(),
                        reason: "这一列重复出现".into(),
                    });
                }
                columns.push((col, t, name));
            }
            None => problems.push(RowProblem {
                row: header.number(),
                column: name.clone(),
                value: name.clone(),
                reason: format!("台账「{}」没有这个字段", ty.name()),
            }),
        }
    }
    let key_code = key_field.code.clone();
    let mut out = Vec::new();
    let mut data_rows = 0u64;
    for row in rows {
        let row = row.map_err(sheet_error)?;
        if row.is_blank() {
            continue;
        }
        data_rows += 1;
        if data_rows > u64::from(IMPORT_ROWS_MAX) {
            return Err(AppError::invalid(
                mashangban_sheet::codes::TOO_MANY_ROWS,
                format!("一次最多导入{IMPORT_ROWS_MAX}行，请分批导入"),
            ));
        }
        let mut input = BTreeMap::new();
        let mut stage = None;
        for (col, target, _) in &columns {
            let text = row.get(*col).as_text();
            match target {
                Some(code) => {
                    input.insert(code.clone(), text.map_or(Json::Null, Json::String));
                }
                None => stage = text,
            }
        }
        let key = input.get(&key_code).and_then(|v| v.as_str()).map(mashangban_domain::ledger::CodeRule::normalise);
        out.push(SheetRow { row: row.number(), input, key, stage });
    }
    if data_rows == 0 {
        return Err(AppError::invalid("no_rows", "文件只有表头，没有任何条目"));
    }
    Ok(Sheet { data_rows, rows: out, problems })
}

#[derive(Default)]
struct Plan {
    problems: Vec<RowProblem>,
    writes: Vec<LedgerWrite>,
    keys: HashMap<String, u32>,
    new: u64,
    updated: u64,
    unchanged: u64,
}

/// Checks one row against its stored item (if any) and plans its write.
fn plan_row(
    loaded: &Loaded,
    access: &Access,
    org: &Arc<OrgTree>,
    row: &SheetRow,
    existing: Option<&LedgerItem>,
    plan: &mut Plan,
) {
    let ty = &loaded.ty;
    let key_label = ty.key_field().label.clone();
    let problem = |column: &str, value: &str, reason: String| RowProblem {
        row: row.row,
        column: column.to_owned(),
        value: value.to_owned(),
        reason,
    };
    // The stored values under the row's columns: a file with fewer columns changes only those.
    let mut input: BTreeMap<String, Json> =
        existing.map(|e| e.values.iter().map(|(k, v)| (k.clone(), v.to_input())).collect()).unwrap_or_default();
    for (k, v) in &row.input {
        input.insert(k.clone(), v.clone());
    }
    let values = match ty.validate_item(&input, org.as_ref() as &dyn OrgLookup) {
        Ok(v) => v,
        Err(errors) => {
            for e in errors {
                plan.problems.push(problem(&e.label, &e.value, e.message));
            }
            return;
        }
    };
    let Some(key) = ty.key_of(&values) else {
        plan.problems.push(problem(&key_label, "", "编号必填".into()));
        return;
    };
    if let Some(first) = plan.keys.insert(key.clone(), row.row) {
        plan.problems.push(problem(&key_label, &key, format!("与第{first}行的编号重复")));
        return;
    }
    let stage = match (row.stage.as_deref(), existing) {
        (Some(s), _) => match ty.stage(s).or_else(|| ty.stages().iter().find(|st| st.name == s)) {
            Some(st) => st.clone(),
            None => {
                plan.problems.push(problem(STAGE_COLUMN, s, format!("台账「{}」没有这个阶段", ty.name())));
                return;
            }
        },
        (None, Some(e)) => match ty.stage(&e.stage) {
            Some(st) => st.clone(),
            None => return,
        },
        (None, None) => match ty.initial_stage() {
            Some(st) => st.clone(),
            None => return,
        },
    };
    if let Some(e) = existing
        && e.stage != stage.code
    {
        plan.problems.push(problem(
            STAGE_COLUMN,
            &stage.name,
            format!(
                "已登记条目的阶段是「{}」，阶段变化请在条目页面按流转办理",
                ty.stage(&e.stage).map_or(e.stage.as_str(), |s| s.name.as_str())
            ),
        ));
        return;
    }
    let first_stage = ty.initial_stage().map(|s| s.code.as_str());
    if existing.is_none()
        && Some(stage.code.as_str()) != first_stage
        && !access.roles.iter().any(|r| [roles::ADMIN, roles::COMMAND_OFFICE].contains(r))
    {
        plan.problems.push(problem(STAGE_COLUMN, &stage.name, "新条目只能从第一个阶段开始登记".into()));
        return;
    }
    if let Err(e) = ty.check_entry(&values, &stage) {
        plan.problems.push(problem(STAGE_COLUMN, &stage.name, e.message));
        return;
    }
    let (town_id, unit_id) = ledger_placement(ty, &values, org);
    let was_in_scope = existing.is_none_or(|e| access.scope.permits(e.town_id, e.unit_id));
    if !was_in_scope || !access.scope.permits(town_id, unit_id) {
        plan.problems.push(problem(&key_label, &key, "该条目不在您的管辖范围（本镇街或本单位负责的条目）".into()));
        return;
    }
    let changes = diff(ty, existing.map_or(&Values::new(), |e| &e.values), &values);
    if existing.is_some() && changes.is_empty() {
        plan.unchanged += 1;
        return;
    }
    match existing {
        Some(_) => plan.updated += 1,
        None => plan.new += 1,
    }
    plan.writes.push(LedgerWrite {
        id: existing.map(|e| e.id),
        expected_version: existing.map_or(0, |e| e.version),
        type_code: ty.code().to_owned(),
        type_version: loaded.record.version,
        key,
        name: ledger_item_name(ty, &values),
        stage: stage.code.clone(),
        values,
        town_id,
        unit_id,
        action: LedgerAction::Imported,
        from_stage: None,
        changes,
        note: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use mashangban_domain::org::{StaffActor, Unit};

    fn org() -> OrgTree {
        let unit = |id, code: &str, kind, parent| Unit {
            id,
            code: code.into(),
            name: code.into(),
            short_name: None,
            kind,
            parent_id: parent,
            active: true,
        };
        OrgTree::new(vec![
            unit(1, "city", UnitKind::City, None),
            unit(2, "sthjj", UnitKind::Department, Some(1)),
            unit(3, "sthjj-k", UnitKind::Subunit, Some(2)),
            unit(4, "guzhen", UnitKind::Town, Some(1)),
            unit(5, "swuj", UnitKind::Department, Some(1)),
        ])
    }

    fn staff(role: Role, unit: i64, town: Option<i64>) -> Actor {
        Actor::Staff(StaffActor {
            user_id: Some(1),
            name: "x".into(),
            role,
            unit_id: unit,
            units: vec![unit],
            town_id: town,
        })
    }

    #[test]
    fn role_keys_follow_role_unit_and_office() {
        let org = org();
        let keys = |a: &Actor| {
            let access = access_of(a, Some("sthjj"), &org);
            (access.roles, access.scope)
        };
        assert_eq!(keys(&staff(Role::Admin, 1, None)), (vec!["admin"], LedgerScope::All));
        assert_eq!(keys(&staff(Role::CityLeader, 1, None)), (vec!["leader"], LedgerScope::All));
        assert_eq!(
            keys(&staff(Role::Handler, 3, None)),
            (vec!["command_office"], LedgerScope::All),
            "a section of the office"
        );
        assert_eq!(keys(&staff(Role::Handler, 4, Some(4))), (vec!["town"], LedgerScope::Town(4)));
        assert_eq!(keys(&staff(Role::UnitLeader, 5, None)), (vec!["unit"], LedgerScope::Units(vec![5])));
        assert_eq!(keys(&staff(Role::Supervisor, 1, None)), (vec![], LedgerScope::All));
        assert_eq!(keys(&staff(Role::Operator, 1, None)), (vec![], LedgerScope::Nothing));
        assert!(!access_of(&staff(Role::Handler, 5, None), Some("sthjj"), &org).roles.contains(&"command_office"));
        assert_eq!(access_of(&staff(Role::Handler, 3, None), None, &org).roles, vec!["unit"], "no office named");
    }
}
