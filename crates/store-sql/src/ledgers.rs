//! Ledgers (台账): types and their versions, items, and each item's history.
//! Every write is one job: the item row under its optimistic version, its
//! event with the per-cell changes, and a change-feed row. A type change is
//! judged against the stored items inside the job that saves it, so no item
//! can slip in between the check and the save.

use std::collections::HashMap;
use std::sync::Arc;

use mashangban_domain::DomainError;
use mashangban_domain::ledger::{LedgerType, StoredSummary, Values, Verdict, check_type_change, diff, migrate_item};
use mashangban_domain::org::{OrgTree, Scope};
use mashangban_domain::request::Request;
use mashangban_store::{
    ChangeEntity, LedgerAction, LedgerAuthor, LedgerEvent, LedgerFilter, LedgerItem, LedgerPage, LedgerScope,
    LedgerStore, LedgerTypeRecord, LedgerTypeVersion, LedgerWrite, NewLedgerType, RollupBy, RollupCell, StoreError,
    StoreResult, TypeSaved, ledger_item_changed, ledger_item_name, ledger_key_exists, ledger_placement,
    ledger_type_changed, ledger_type_not_found,
};

use crate::rows::{self, REQUEST_COLUMNS, json_text};
use crate::sql::{Args, Conn, Database, Dialect, Row, job};
use crate::{SqlStore, args};

/// Keys looked up per statement.
const LOOKUP_CHUNK: usize = 500;

impl<D: Database> LedgerStore for SqlStore<D> {
    async fn install_ledger_types(&self, types: Vec<NewLedgerType>) -> StoreResult<()> {
        let at = mashangban_domain::time::now();
        let install = job(move |c| {
            Box::pin(async move {
                for t in &types {
                    let inserted = c
                        .execute(
                            "INSERT INTO ledger_types (code, name, version, definition, office_unit_code, updated_at,
                                updated_by)
                             VALUES ($1, $2, 1, $3, $4, $5, '系统') ON CONFLICT (code) DO NOTHING",
                            &args![
                                t.code.as_str(),
                                t.name.as_str(),
                                t.definition.as_str(),
                                t.office_unit_code.clone(),
                                &at
                            ],
                        )
                        .await?;
                    if inserted > 0 {
                        c.execute(
                            "INSERT INTO ledger_type_versions (type_code, version, definition, at, by_name)
                             VALUES ($1, 1, $2, $3, '系统')",
                            &args![t.code.as_str(), t.definition.as_str(), &at],
                        )
                        .await?;
                        crate::changes::append(c, ChangeEntity::Ledger, &t.code, "type_installed", &at).await?;
                    }
                }
                Ok(())
            })
        });
        self.db.write(install).await
    }

    async fn ledger_types(&self) -> StoreResult<Vec<LedgerTypeRecord>> {
        let sql = format!("SELECT {TYPE_COLUMNS} FROM ledger_types ORDER BY code");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &[], type_record).await }))).await
    }

    async fn ledger_type(&self, code: &str) -> StoreResult<Option<LedgerTypeRecord>> {
        let code = code.to_owned();
        self.db.read(job(move |c| Box::pin(async move { load_type(c, &code, false).await }))).await
    }

    async fn ledger_type_versions(&self, code: &str) -> StoreResult<Vec<LedgerTypeVersion>> {
        let code = code.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT type_code, version, definition, report, migrated_items, at, by_name
                     FROM ledger_type_versions WHERE type_code = $1 ORDER BY version DESC",
                    &args![code.as_str()],
                    type_version,
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn save_ledger_type(
        &self,
        new: LedgerType,
        expected_version: i64,
        org: Arc<OrgTree>,
        author: LedgerAuthor,
    ) -> StoreResult<TypeSaved> {
        let save = job(move |c| Box::pin(async move { save_type(c, &new, expected_version, &org, &author).await }));
        self.db.write(save).await
    }

    async fn set_ledger_office(
        &self,
        code: &str,
        office_unit_code: Option<String>,
        author: LedgerAuthor,
    ) -> StoreResult<LedgerTypeRecord> {
        let code = code.to_owned();
        let set = job(move |c| {
            Box::pin(async move {
                load_type(c, &code, true).await?.ok_or_else(|| ledger_type_not_found(&code))?;
                c.execute(
                    "UPDATE ledger_types SET office_unit_code = $2, updated_at = $3, updated_by = $4 WHERE code = $1",
                    &args![code.as_str(), office_unit_code, &author.at, author.name.as_str()],
                )
                .await?;
                crate::changes::append(c, ChangeEntity::Ledger, &code, "office", &author.at).await?;
                Ok(load_type(c, &code, false).await?.ok_or_else(|| ledger_type_not_found(&code))?)
            })
        });
        self.db.write(set).await
    }

    async fn write_ledger_items(&self, writes: Vec<LedgerWrite>, author: LedgerAuthor) -> StoreResult<Vec<LedgerItem>> {
        let write = job(move |c| {
            Box::pin(async move {
                let mut versions: HashMap<String, i64> = HashMap::new();
                let mut out = Vec::with_capacity(writes.len());
                for w in &writes {
                    let current = match versions.get(&w.type_code) {
                        Some(v) => *v,
                        None => {
                            let found = load_type(c, &w.type_code, false)
                                .await?
                                .ok_or_else(|| ledger_type_not_found(&w.type_code))?;
                            versions.insert(w.type_code.clone(), found.version);
                            found.version
                        }
                    };
                    if current != w.type_version {
                        return Err(ledger_type_changed(current).into());
                    }
                    out.push(write_item(c, w, &author).await?);
                }
                Ok(out)
            })
        });
        self.db.write(write).await
    }

    async fn ledger_item(&self, type_code: &str, key: &str, scope: &LedgerScope) -> StoreResult<Option<LedgerItem>> {
        let (type_code, key, scope) = (type_code.to_owned(), key.to_owned(), scope.clone());
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let cond = format!(
                    "type_code = {} AND item_key = {} AND {}",
                    args.push(type_code.as_str()),
                    args.push(key.as_str()),
                    scope_sql(&scope, &mut args)
                );
                c.map_opt(&format!("SELECT {ITEM_COLUMNS} FROM ledger_items WHERE {cond}"), args.values(), item).await
            })
        });
        self.db.read(read).await
    }

    async fn ledger_items_by_keys(&self, type_code: &str, keys: Vec<String>) -> StoreResult<Vec<LedgerItem>> {
        let type_code = type_code.to_owned();
        let read = job(move |c| {
            Box::pin(async move {
                let mut found = Vec::new();
                for chunk in keys.chunks(LOOKUP_CHUNK) {
                    let mut args = Args::default();
                    let t = args.push(type_code.as_str());
                    let list = args.list(chunk.iter().map(String::as_str));
                    let sql = format!(
                        "SELECT {ITEM_COLUMNS} FROM ledger_items WHERE type_code = {t} AND item_key IN ({list})"
                    );
                    found.extend(c.map(&sql, args.values(), item).await?);
                }
                Ok(found)
            })
        });
        self.db.read(read).await
    }

    async fn ledger_item_events(&self, item_id: i64) -> StoreResult<Vec<LedgerEvent>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM ledger_item_events WHERE item_id = $1 ORDER BY id");
                c.map(&sql, &args![item_id], event).await
            })
        });
        self.db.read(read).await
    }

    async fn list_ledger_items(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
    ) -> StoreResult<LedgerPage> {
        let (type_code, filter, scope) = (type_code.to_owned(), filter.clone(), scope.clone());
        let list = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let cond = conditions(c.dialect(), &type_code, &filter, &scope, &mut args);
                let total: i64 =
                    c.scalar(&format!("SELECT COUNT(*) FROM ledger_items WHERE {cond}"), args.values()).await?;
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM ledger_items WHERE {cond} ORDER BY item_key LIMIT {} OFFSET {}",
                    args.push(filter.limit.clamp(1, 200_000)),
                    args.push(filter.offset),
                );
                let items = c.map(&sql, args.values(), item).await?;
                Ok(LedgerPage { items, total: u64::try_from(total).unwrap_or_default() })
            })
        });
        self.db.read(list).await
    }

    async fn ledger_items_after(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<LedgerItem>> {
        let (type_code, filter, scope) = (type_code.to_owned(), filter.clone(), scope.clone());
        let batch = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let mut cond = conditions(c.dialect(), &type_code, &filter, &scope, &mut args);
                if let Some(after) = &after {
                    cond = format!("{cond} AND item_key > {}", args.push(after.as_str()));
                }
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM ledger_items WHERE {cond} ORDER BY item_key LIMIT {}",
                    args.push(limit.clamp(1, 10_000))
                );
                c.map(&sql, args.values(), item).await
            })
        });
        self.db.read(batch).await
    }

    async fn ledger_rollup(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        by: RollupBy,
    ) -> StoreResult<Vec<RollupCell>> {
        let (type_code, filter, scope) = (type_code.to_owned(), filter.clone(), scope.clone());
        let rollup = job(move |c| {
            Box::pin(async move {
                let d = c.dialect();
                let mut args = Args::default();
                let cond = conditions(d, &type_code, &filter, &scope, &mut args);
                // By town the groups are the index's own columns (`ledger_items_town`), so the count reads
                // the index in order; grouping by the text of the id would sort every item in a temporary B-tree.
                let (row, group) = match &by {
                    RollupBy::Town => ("CAST(town_id AS TEXT)".to_owned(), "town_id".to_owned()),
                    RollupBy::Choice(field) => {
                        let value = choice_sql(d, field, &mut args);
                        (value.clone(), value)
                    }
                };
                let sql = format!(
                    "SELECT {row} AS row_value, stage, COUNT(*) FROM ledger_items WHERE {cond}
                     GROUP BY {group}, stage ORDER BY 1, 2"
                );
                c.map(&sql, args.values(), |row| {
                    let mut c = row.cols();
                    let value: Option<String> = c.get()?;
                    let stage: String = c.get()?;
                    let count: i64 = c.get()?;
                    Ok(RollupCell { row: value, stage, count: u64::try_from(count).unwrap_or_default() })
                })
                .await
            })
        });
        self.db.read(rollup).await
    }

    async fn ledger_linked_requests(&self, ledger_ref: &str, scope: &Scope, limit: u32) -> StoreResult<Vec<Request>> {
        let (ledger_ref, scope) = (ledger_ref.to_owned(), scope.clone());
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let r = args.push(ledger_ref.as_str());
                let scope = crate::requests::query::scope_sql(&scope, &mut args);
                let sql = format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests r WHERE r.ledger_ref = {r} AND {scope}
                     ORDER BY r.received_at DESC, r.id DESC LIMIT {}",
                    args.push(limit.clamp(1, 1000))
                );
                c.map(&sql, args.values(), rows::request).await
            })
        });
        self.db.read(read).await
    }
}

const TYPE_COLUMNS: &str = "code, name, version, definition, office_unit_code, updated_at, updated_by";

fn type_record(row: Row) -> StoreResult<LedgerTypeRecord> {
    let mut c = row.cols();
    Ok(LedgerTypeRecord {
        code: c.get()?,
        name: c.get()?,
        version: c.get()?,
        definition: c.get()?,
        office_unit_code: c.get()?,
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

fn type_version(row: Row) -> StoreResult<LedgerTypeVersion> {
    let mut c = row.cols();
    Ok(LedgerTypeVersion {
        type_code: c.get()?,
        version: c.get()?,
        definition: c.get()?,
        report: c.get()?,
        migrated_items: c.get()?,
        at: c.get()?,
        by: c.get()?,
    })
}

const ITEM_COLUMNS: &str = "id, type_code, item_key, item_name, stage, item_values, town_id, unit_id, type_version, \
     version, created_at, updated_at, updated_by";

fn item(row: Row) -> StoreResult<LedgerItem> {
    let mut c = row.cols();
    Ok(LedgerItem {
        id: c.get()?,
        type_code: c.get()?,
        key: c.get()?,
        name: c.get()?,
        stage: c.get()?,
        values: c.json()?,
        town_id: c.get()?,
        unit_id: c.get()?,
        type_version: c.get()?,
        version: c.get()?,
        created_at: c.get()?,
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

const EVENT_COLUMNS: &str = "id, item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action, \
     from_stage, to_stage, changes, note";

fn event(row: Row) -> StoreResult<LedgerEvent> {
    let mut c = row.cols();
    Ok(LedgerEvent {
        id: c.get()?,
        item_id: c.get()?,
        item_version: c.get()?,
        at: c.get()?,
        by_user_id: c.get()?,
        by_name: c.get()?,
        by_role: c.get()?,
        ledger_roles: c.get()?,
        action: c.code(LedgerAction::parse)?,
        from_stage: c.get()?,
        to_stage: c.get()?,
        changes: c.json()?,
        note: c.get()?,
    })
}

/// The scope as a condition on a `ledger_items` row.
fn scope_sql(scope: &LedgerScope, args: &mut Args) -> String {
    match scope {
        LedgerScope::All => "TRUE".into(),
        LedgerScope::Town(town) => format!("town_id = {}", args.push(*town)),
        LedgerScope::Units(units) if units.is_empty() => "FALSE".into(),
        LedgerScope::Units(units) => format!("unit_id IN ({})", args.list(units.iter().copied())),
        LedgerScope::Nothing => "FALSE".into(),
    }
}

/// The code held by a choice field of the item's values.
fn choice_sql(d: Dialect, field: &str, args: &mut Args) -> String {
    match d {
        Dialect::Sqlite => format!("json_extract(item_values, {})", args.push(format!("$.{field}.v"))),
        Dialect::Postgres => format!("(CAST(item_values AS jsonb) -> CAST({} AS TEXT) ->> 'v')", args.push(field)),
    }
}

/// The type, the scope and the filter as one condition.
fn conditions(d: Dialect, type_code: &str, f: &LedgerFilter, scope: &LedgerScope, args: &mut Args) -> String {
    let mut cond = vec![format!("type_code = {}", args.push(type_code)), scope_sql(scope, args)];
    if let Some(stage) = &f.stage {
        cond.push(format!("stage = {}", args.push(stage.as_str())));
    }
    if let Some(town) = f.town_id {
        cond.push(format!("town_id = {}", args.push(town)));
    }
    if let Some(unit) = f.unit_id {
        cond.push(format!("unit_id = {}", args.push(unit)));
    }
    for (field, code) in &f.choices {
        let value = choice_sql(d, field, args);
        cond.push(format!("{value} = {}", args.push(code.as_str())));
    }
    if let Some(text) = &f.text {
        let p = args.push(text.as_str());
        cond.push(format!(
            "({} = 1 OR {} = 1)",
            d.contains_as_int("item_key", &p),
            d.contains_as_int("COALESCE(item_name, '')", &p)
        ));
    }
    cond.join(" AND ")
}

async fn load_type(c: &dyn Conn, code: &str, lock: bool) -> StoreResult<Option<LedgerTypeRecord>> {
    let lock = if lock { c.dialect().lock_rows("ledger_types") } else { String::new() };
    let sql = format!("SELECT {TYPE_COLUMNS} FROM ledger_types WHERE code = $1{lock}");
    c.map_opt(&sql, &args![code], type_record).await
}

async fn load_item_by_id(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<LedgerItem>> {
    let lock = if lock { c.dialect().lock_rows("ledger_items") } else { String::new() };
    let sql = format!("SELECT {ITEM_COLUMNS} FROM ledger_items WHERE id = $1{lock}");
    c.map_opt(&sql, &args![id], item).await
}

/// Writes one item and its event; answers the item as written.
async fn write_item(c: &dyn Conn, w: &LedgerWrite, author: &LedgerAuthor) -> StoreResult<LedgerItem> {
    let values = json_text(&w.values)?;
    let id: i64 = match w.id {
        None => {
            let exists = c
                .query_opt(
                    "SELECT 1 FROM ledger_items WHERE type_code = $1 AND item_key = $2",
                    &args![w.type_code.as_str(), w.key.as_str()],
                )
                .await?;
            if exists.is_some() {
                return Err(ledger_key_exists(&w.key).into());
            }
            c.scalar(
                "INSERT INTO ledger_items (type_code, item_key, item_name, stage, item_values, town_id, unit_id,
                    type_version, created_at, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
                &args![
                    w.type_code.as_str(),
                    w.key.as_str(),
                    w.name.clone(),
                    w.stage.as_str(),
                    values,
                    w.town_id,
                    w.unit_id,
                    w.type_version,
                    &author.at,
                    author.name.as_str()
                ],
            )
            .await?
        }
        Some(id) => {
            let found = load_item_by_id(c, id, true)
                .await?
                .ok_or_else(|| StoreError::from(mashangban_store::ledger_item_not_found(&w.key)))?;
            if found.version != w.expected_version {
                return Err(ledger_item_changed(found.version).into());
            }
            c.execute(
                "UPDATE ledger_items SET item_name = $2, stage = $3, item_values = $4, town_id = $5, unit_id = $6,
                    type_version = $7, version = version + 1, updated_at = $8, updated_by = $9
                 WHERE id = $1",
                &args![
                    id,
                    w.name.clone(),
                    w.stage.as_str(),
                    values,
                    w.town_id,
                    w.unit_id,
                    w.type_version,
                    &author.at,
                    author.name.as_str()
                ],
            )
            .await?;
            id
        }
    };
    let written = load_item_by_id(c, id, false)
        .await?
        .ok_or_else(|| StoreError::backend("the ledger item vanished while being written"))?;
    let to_stage =
        (w.from_stage.as_deref() != Some(w.stage.as_str()) && w.from_stage.is_some()).then(|| w.stage.clone());
    record_event(c, &written, w.action, w.from_stage.clone(), to_stage, &w.changes, w.note.clone(), author).await?;
    Ok(written)
}

#[allow(clippy::too_many_arguments)]
async fn record_event(
    c: &dyn Conn,
    item: &LedgerItem,
    action: LedgerAction,
    from_stage: Option<String>,
    to_stage: Option<String>,
    changes: &[mashangban_domain::ledger::CellChange],
    note: Option<String>,
    author: &LedgerAuthor,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO ledger_item_events (item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action,
            from_stage, to_stage, changes, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &args![
            item.id,
            item.version,
            &author.at,
            author.user_id,
            author.name.as_str(),
            author.role.as_str(),
            author.ledger_roles.as_str(),
            action.as_str(),
            from_stage,
            to_stage,
            json_text(changes)?,
            note
        ],
    )
    .await?;
    let key = format!("{}:{}", item.type_code, item.key);
    crate::changes::append(c, ChangeEntity::Ledger, &key, action.as_str(), &author.at).await
}

/// Every item of a type, streamed.
async fn all_items(c: &dyn Conn, type_code: &str) -> StoreResult<Vec<LedgerItem>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM ledger_items WHERE type_code = $1 ORDER BY id");
    let mut items = Vec::new();
    let args = args![type_code];
    let mut each = |row: Row| -> StoreResult<()> {
        items.push(item(row)?);
        Ok(())
    };
    c.for_each(&sql, &args, &mut each).await?;
    Ok(items)
}

async fn save_type(
    c: &dyn Conn,
    new: &LedgerType,
    expected_version: i64,
    org: &OrgTree,
    author: &LedgerAuthor,
) -> StoreResult<TypeSaved> {
    let code = new.code().to_owned();
    let stored = load_type(c, &code, true).await?.ok_or_else(|| ledger_type_not_found(&code))?;
    if stored.version != expected_version {
        return Err(ledger_type_changed(stored.version).into());
    }
    let old = LedgerType::from_toml(&stored.definition).map_err(StoreError::from)?;
    let items = all_items(c, &code).await?;
    let summary = StoredSummary::from_items(items.iter().map(|i| (i.stage.as_str(), &i.values)));
    let report = check_type_change(&old, new, &summary).into_result()?;
    let version = i64::from(new.version());
    let mut migrated = 0i64;
    if report.verdict == Verdict::Migrate {
        for found in &items {
            let values: Values = migrate_item(new, &found.values, org).map_err(|errors| {
                let reasons: Vec<String> = errors.iter().map(|e| format!("{}：{}", e.label, e.message)).collect();
                DomainError::conflict(
                    mashangban_domain::ledger::codes::TYPE_CHANGE_REFUSED,
                    format!("条目「{}」在新版本下不再有效：{}", found.key, reasons.join("；")),
                )
            })?;
            let changes = diff(new, &found.values, &values);
            let (town_id, unit_id) = ledger_placement(new, &values, org);
            let write = LedgerWrite {
                id: Some(found.id),
                expected_version: found.version,
                type_code: code.clone(),
                type_version: version,
                key: found.key.clone(),
                name: ledger_item_name(new, &values),
                stage: found.stage.clone(),
                values,
                town_id,
                unit_id,
                action: LedgerAction::Migrated,
                from_stage: None,
                changes,
                note: Some(format!("台账类型升级到第{version}版")),
            };
            write_item(c, &write, author).await?;
            migrated += 1;
        }
    } else {
        // A safe change still records the version each item now stands under.
        c.execute("UPDATE ledger_items SET type_version = $2 WHERE type_code = $1", &args![code.as_str(), version])
            .await?;
    }
    let definition = new.to_toml().map_err(StoreError::from)?;
    c.execute(
        "UPDATE ledger_types SET name = $2, version = $3, definition = $4, updated_at = $5, updated_by = $6
         WHERE code = $1",
        &args![code.as_str(), new.name(), version, definition.as_str(), &author.at, author.name.as_str()],
    )
    .await?;
    c.execute(
        "INSERT INTO ledger_type_versions (type_code, version, definition, report, migrated_items, at, by_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &args![
            code.as_str(),
            version,
            definition.as_str(),
            json_text(&report)?,
            migrated,
            &author.at,
            author.name.as_str()
        ],
    )
    .await?;
    crate::changes::append(c, ChangeEntity::Ledger, &code, "type_saved", &author.at).await?;
    let record = load_type(c, &code, false).await?.ok_or_else(|| ledger_type_not_found(&code))?;
    Ok(TypeSaved { record, migrated_items: migrated })
}
