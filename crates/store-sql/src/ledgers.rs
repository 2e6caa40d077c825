//! Ledgers (台账): types and their versions, items, and each item's history.
//! Every write is one job: the item row under its optimistic version, its
//! event with the per-cell changes, and a change-feed row. A type change is
//! judged against the stored items inside the job that saves it, so no item
//! can slip in between the check and the save.
//!
//! Each item write also keeps, in the same job, the item's choice values
//! (`ledger_item_choices`, read by choice filters instead of every item's JSON)
//! and the counts per town and per choice value × stage (`ledger_rollups`, read
//! by rollups instead of counting the items); `rebuild_ledger_rollups` rebuilds
//! both from the items after a bulk load.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mashangban_domain::DomainError;
use mashangban_domain::ledger::{
    FieldValue, LedgerType, StoredSummary, Values, Verdict, check_type_change, diff, migrate_item,
};
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
/// New items per multi-row statement of an import (at most about a dozen values each, well under
/// both databases' limits on a statement's parameters).
const BULK_ROWS: usize = 500;
/// New items an import writes per round inside its one transaction: a round's statements are
/// built, run and dropped before the next round's.
const IMPORT_ROUND: usize = 2_000;

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
        let write = job(move |c| Box::pin(async move { write_items(c, writes, &author).await }));
        self.db.write(write).await
    }

    async fn import_ledger_items(&self, writes: Vec<LedgerWrite>, author: LedgerAuthor) -> StoreResult<u64> {
        let write = job(move |c| {
            Box::pin(async move {
                check_type_versions(c, &writes).await?;
                let mut deltas = RollupDeltas::default();
                let mut written = 0u64;
                let (new, changed): (Vec<LedgerWrite>, Vec<LedgerWrite>) =
                    writes.into_iter().partition(|w| w.id.is_none());
                for w in &changed {
                    write_item(c, w, &author, &mut deltas).await?;
                    written += 1;
                }
                drop(changed);
                let mut new = new.into_iter();
                loop {
                    let round: Vec<LedgerWrite> = new.by_ref().take(IMPORT_ROUND).collect();
                    if round.is_empty() {
                        break;
                    }
                    for chunk in round.chunks(BULK_ROWS) {
                        insert_new_items(c, chunk, &author, &mut deltas).await?;
                    }
                    written += round.len() as u64;
                }
                deltas.flush(c).await?;
                Ok(written)
            })
        });
        self.db.write(write).await
    }

    async fn rebuild_ledger_rollups(&self) -> StoreResult<u64> {
        let rebuild = job(move |c| {
            Box::pin(async move {
                c.execute("DELETE FROM ledger_rollups", &[]).await?;
                c.execute("DELETE FROM ledger_item_choices", &[]).await?;
                let choices = match c.dialect() {
                    Dialect::Sqlite => {
                        "INSERT INTO ledger_item_choices (item_id, field, type_code, code, town_id, stage)
                         SELECT i.id, j.key, i.type_code, json_extract(j.value, '$.v'), i.town_id, i.stage
                         FROM ledger_items i, json_each(i.item_values) j
                         WHERE json_extract(j.value, '$.t') = 'choice'"
                    }
                    Dialect::Postgres => {
                        "INSERT INTO ledger_item_choices (item_id, field, type_code, code, town_id, stage)
                         SELECT i.id, j.key, i.type_code, j.value ->> 'v', i.town_id, i.stage
                         FROM ledger_items i, jsonb_each(CAST(i.item_values AS jsonb)) j
                         WHERE j.value ->> 't' = 'choice'"
                    }
                };
                c.execute(choices, &[]).await?;
                c.execute(
                    "INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
                     SELECT type_code, '', '', COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_items
                     GROUP BY type_code, COALESCE(town_id, 0), stage",
                    &[],
                )
                .await?;
                c.execute(
                    "INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
                     SELECT type_code, field, code, COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_item_choices
                     GROUP BY type_code, field, code, COALESCE(town_id, 0), stage",
                    &[],
                )
                .await?;
                let items: i64 = c
                    .scalar("SELECT CAST(COALESCE(SUM(items), 0) AS BIGINT) FROM ledger_rollups WHERE field = ''", &[])
                    .await?;
                Ok(u64::try_from(items).unwrap_or_default())
            })
        });
        self.db.write(rebuild).await
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

    async fn ledger_item_by_id(&self, id: i64) -> StoreResult<Option<LedgerItem>> {
        self.db.read(job(move |c| Box::pin(async move { load_item_by_id(c, id, false).await }))).await
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
                // One choice filter (and at most a town and a stage): the choice values count the total alone.
                let total: i64 = match (&filter.choices[..], &filter.text, filter.unit_id, &scope) {
                    ([(field, code)], None, None, LedgerScope::All | LedgerScope::Town(_)) => {
                        let mut args = Args::default();
                        let sub = choice_rows(&type_code, field, code, &filter, &scope, &mut args);
                        c.scalar(&format!("SELECT COUNT(*) FROM ledger_item_choices WHERE {sub}"), args.values())
                            .await?
                    }
                    _ => {
                        let mut args = Args::default();
                        let cond = conditions(c.dialect(), &type_code, &filter, &scope, &mut args);
                        c.scalar(&format!("SELECT COUNT(*) FROM ledger_items WHERE {cond}"), args.values()).await?
                    }
                };
                let mut args = Args::default();
                let cond = conditions(c.dialect(), &type_code, &filter, &scope, &mut args);
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
        self.rollup(type_code, filter, scope, by, true).await
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
                c.map(&sql, args.values(), |row| rows::request(row, c.personal_data())).await
            })
        });
        self.db.read(read).await
    }
}

impl<D: Database> SqlStore<D> {
    /// [`LedgerStore::ledger_rollup`] always counted over the items (a plain GROUP BY), never read
    /// from the kept counts: what the kept counts must equal.
    pub async fn ledger_rollup_counted(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        by: RollupBy,
    ) -> StoreResult<Vec<RollupCell>> {
        self.rollup(type_code, filter, scope, by, false).await
    }

    /// The rollup, from the kept counts when `kept` and they answer it, else counted over the items;
    /// sorted by row (none first) and stage.
    async fn rollup(
        &self,
        type_code: &str,
        filter: &LedgerFilter,
        scope: &LedgerScope,
        by: RollupBy,
        kept: bool,
    ) -> StoreResult<Vec<RollupCell>> {
        let (type_code, filter, scope) = (type_code.to_owned(), filter.clone(), scope.clone());
        let rollup = job(move |c| {
            Box::pin(async move {
                let from_counts = if kept { kept_rollup(c, &type_code, &filter, &scope, &by).await? } else { None };
                let mut cells = match from_counts {
                    Some(cells) => cells,
                    None => counted_rollup(c, &type_code, &filter, &scope, &by).await?,
                };
                cells.sort_by(|a, b| (&a.row, &a.stage).cmp(&(&b.row, &b.stage)));
                Ok(cells)
            })
        });
        self.db.read(rollup).await
    }
}

/// The rollup from `ledger_rollups`, or `None` when the filter or scope names what the counts do not
/// keep (text, a unit, a choice filter besides a town rollup's one).
async fn kept_rollup(
    c: &dyn Conn,
    type_code: &str,
    filter: &LedgerFilter,
    scope: &LedgerScope,
    by: &RollupBy,
) -> StoreResult<Option<Vec<RollupCell>>> {
    if filter.text.is_some() || filter.unit_id.is_some() {
        return Ok(None);
    }
    let scope_town = match scope {
        LedgerScope::All => None,
        LedgerScope::Town(town) => Some(*town),
        LedgerScope::Units(_) | LedgerScope::Nothing => return Ok(None),
    };
    let mut args = Args::default();
    let mut cond = vec![format!("type_code = {}", args.push(type_code))];
    match (by, &filter.choices[..]) {
        (RollupBy::Town, []) => cond.push("field = '' AND code = ''".into()),
        (RollupBy::Town, [(field, code)]) => {
            cond.push(format!("field = {} AND code = {}", args.push(field.as_str()), args.push(code.as_str())));
        }
        (RollupBy::Choice(field), []) => cond.push(format!("field IN ('', {})", args.push(field.as_str()))),
        _ => return Ok(None),
    }
    for town in scope_town.iter().chain(filter.town_id.iter()) {
        cond.push(format!("town_id = {}", args.push(*town)));
    }
    if let Some(stage) = &filter.stage {
        cond.push(format!("stage = {}", args.push(stage.as_str())));
    }
    let (row, group) = match by {
        RollupBy::Town => ("town_id, ''", "town_id"),
        RollupBy::Choice(_) => ("field, code", "field, code"),
    };
    let sql = format!(
        "SELECT {row}, stage, CAST(SUM(items) AS BIGINT) FROM ledger_rollups WHERE {} GROUP BY {group}, stage",
        cond.join(" AND ")
    );
    let kept = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            let town: Option<i64> = match by {
                RollupBy::Town => c.get()?,
                RollupBy::Choice(_) => None,
            };
            let (field, code): (String, String) = match by {
                RollupBy::Town => (String::new(), c.get()?),
                RollupBy::Choice(_) => (c.get()?, c.get()?),
            };
            let stage: String = c.get()?;
            let count: i64 = c.get()?;
            Ok((town, field, code, stage, count))
        })
        .await?;
    let mut cells = Vec::new();
    // By a choice field, items without a value are the stage's total less those with one.
    let mut empty: BTreeMap<String, i64> = BTreeMap::new();
    for (town, field, code, stage, count) in kept {
        let row = match by {
            RollupBy::Town => town.filter(|t| *t != 0).map(|t| t.to_string()),
            RollupBy::Choice(_) if field.is_empty() => {
                *empty.entry(stage).or_default() += count;
                continue;
            }
            RollupBy::Choice(_) => {
                *empty.entry(stage.clone()).or_default() -= count;
                Some(code)
            }
        };
        cells.push((row, stage, count));
    }
    cells.extend(empty.into_iter().map(|(stage, count)| (None, stage, count)));
    Ok(Some(
        cells
            .into_iter()
            .filter(|(_, _, count)| *count > 0)
            .map(|(row, stage, count)| RollupCell { row, stage, count: u64::try_from(count).unwrap_or_default() })
            .collect(),
    ))
}

/// The rollup as a GROUP BY over the matching items.
async fn counted_rollup(
    c: &dyn Conn,
    type_code: &str,
    filter: &LedgerFilter,
    scope: &LedgerScope,
    by: &RollupBy,
) -> StoreResult<Vec<RollupCell>> {
    let d = c.dialect();
    let mut args = Args::default();
    let cond = conditions(d, type_code, filter, scope, &mut args);
    // By town the groups are the index's own columns (`ledger_items_town`), so the count reads
    // the index in order; grouping by the text of the id would sort every item in a temporary B-tree.
    let (row, group) = match by {
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
        let rows = choice_rows(type_code, field, code, f, scope, args);
        cond.push(format!("id IN (SELECT item_id FROM ledger_item_choices WHERE {rows})"));
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

/// The `ledger_item_choices` rows of items of the type whose choice `field` holds `code`, narrowed by
/// the town and stage the filter or scope name.
fn choice_rows(
    type_code: &str,
    field: &str,
    code: &str,
    f: &LedgerFilter,
    scope: &LedgerScope,
    args: &mut Args,
) -> String {
    let mut cond = vec![
        format!("type_code = {}", args.push(type_code)),
        format!("field = {}", args.push(field)),
        format!("code = {}", args.push(code)),
    ];
    let scope_town = match scope {
        LedgerScope::Town(town) => Some(*town),
        _ => None,
    };
    for town in scope_town.iter().chain(f.town_id.iter()) {
        cond.push(format!("town_id = {}", args.push(*town)));
    }
    if let Some(stage) = &f.stage {
        cond.push(format!("stage = {}", args.push(stage.as_str())));
    }
    cond.join(" AND ")
}

/// The item's choice values as (field, code).
fn choice_values(values: &Values) -> impl Iterator<Item = (&str, &str)> {
    values.iter().filter_map(|(field, v)| match v {
        FieldValue::Choice(code) => Some((field.as_str(), code.as_str())),
        _ => None,
    })
}

/// Changes to `ledger_rollups` gathered over a job, by (type, field, code, town or 0, stage):
/// added once at its end, in key order (so concurrent jobs on PostgreSQL lock the rows in one order).
#[derive(Default)]
struct RollupDeltas(BTreeMap<(String, String, String, i64, String), i64>);

impl RollupDeltas {
    /// Counts an item (`by` 1) or takes it out (`by` -1): its town row and a row per choice value.
    fn add(&mut self, type_code: &str, town: Option<i64>, stage: &str, values: &Values, by: i64) {
        let town = town.unwrap_or(0);
        for (field, code) in std::iter::once(("", "")).chain(choice_values(values)) {
            let key = (type_code.to_owned(), field.to_owned(), code.to_owned(), town, stage.to_owned());
            *self.0.entry(key).or_default() += by;
        }
    }

    async fn flush(self, c: &dyn Conn) -> StoreResult<()> {
        let changed: Vec<_> = self.0.into_iter().filter(|(_, by)| *by != 0).collect();
        for chunk in changed.chunks(BULK_ROWS) {
            let mut args = Args::default();
            let rows: Vec<String> = chunk
                .iter()
                .map(|((type_code, field, code, town, stage), by)| {
                    format!(
                        "({}, {}, {}, {}, {}, {})",
                        args.push(type_code.as_str()),
                        args.push(field.as_str()),
                        args.push(code.as_str()),
                        args.push(*town),
                        args.push(stage.as_str()),
                        args.push(*by)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items) VALUES {}
                 ON CONFLICT (type_code, field, code, town_id, stage) DO UPDATE SET items = ledger_rollups.items + excluded.items",
                rows.join(", ")
            );
            c.execute(&sql, args.values()).await?;
        }
        Ok(())
    }
}

/// Writes the choice values of written items (their old ones deleted first by the caller when replaced).
async fn insert_choices(c: &dyn Conn, items: &[(i64, &LedgerWrite)]) -> StoreResult<()> {
    let rows: Vec<(i64, &LedgerWrite, &str, &str)> = items
        .iter()
        .flat_map(|(id, w)| choice_values(&w.values).map(move |(field, code)| (*id, *w, field, code)))
        .collect();
    for chunk in rows.chunks(BULK_ROWS) {
        let mut args = Args::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, w, field, code)| {
                format!(
                    "({}, {}, {}, {}, {}, {})",
                    args.push(*id),
                    args.push(*field),
                    args.push(w.type_code.as_str()),
                    args.push(*code),
                    args.push(w.town_id),
                    args.push(w.stage.as_str())
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO ledger_item_choices (item_id, field, type_code, code, town_id, stage) VALUES {}",
            values.join(", ")
        );
        c.execute(&sql, args.values()).await?;
    }
    Ok(())
}

/// Writes items (create or replace) with their events and keeps the counts, inside a job.
pub(crate) async fn write_items(
    c: &dyn Conn,
    writes: Vec<LedgerWrite>,
    author: &LedgerAuthor,
) -> StoreResult<Vec<LedgerItem>> {
    check_type_versions(c, &writes).await?;
    let mut deltas = RollupDeltas::default();
    let mut out = Vec::with_capacity(writes.len());
    for w in &writes {
        out.push(write_item(c, w, author, &mut deltas).await?);
    }
    deltas.flush(c).await?;
    Ok(out)
}

/// The type `code` as stored now, parsed.
pub(crate) async fn load_type_definition(c: &dyn Conn, code: &str) -> StoreResult<Option<LedgerType>> {
    match load_type(c, code, false).await? {
        Some(record) => Ok(Some(LedgerType::from_toml(&record.definition)?)),
        None => Ok(None),
    }
}

/// Refuses writes validated under a type version that is no longer current (`ledger_type_changed`).
async fn check_type_versions(c: &dyn Conn, writes: &[LedgerWrite]) -> StoreResult<()> {
    let mut versions: HashMap<&str, i64> = HashMap::new();
    for w in writes {
        let current = match versions.get(w.type_code.as_str()) {
            Some(v) => *v,
            None => {
                let found =
                    load_type(c, &w.type_code, false).await?.ok_or_else(|| ledger_type_not_found(&w.type_code))?;
                versions.insert(&w.type_code, found.version);
                found.version
            }
        };
        if current != w.type_version {
            return Err(ledger_type_changed(current).into());
        }
    }
    Ok(())
}

/// Inserts new items with their events, change-feed rows and choice values in multi-row statements,
/// without reading them back; a key already taken refuses the whole job (`ledger_key_exists`).
async fn insert_new_items(
    c: &dyn Conn,
    chunk: &[LedgerWrite],
    author: &LedgerAuthor,
    deltas: &mut RollupDeltas,
) -> StoreResult<()> {
    let mut args = Args::default();
    let at = args.push(author.at);
    let by = args.push(author.name.as_str());
    let mut rows = Vec::with_capacity(chunk.len());
    for w in chunk {
        rows.push(format!(
            "({}, {}, {}, {}, {}, {}, {}, {}, {at}, {at}, {by})",
            args.push(w.type_code.as_str()),
            args.push(w.key.as_str()),
            args.push(w.name.clone()),
            args.push(w.stage.as_str()),
            args.push(json_text(&w.values)?),
            args.push(w.town_id),
            args.push(w.unit_id),
            args.push(w.type_version),
        ));
    }
    let sql = format!(
        "INSERT INTO ledger_items (type_code, item_key, item_name, stage, item_values, town_id, unit_id,
            type_version, created_at, updated_at, updated_by)
         VALUES {} ON CONFLICT (type_code, item_key) DO NOTHING RETURNING id, type_code, item_key",
        rows.join(", ")
    );
    drop(rows);
    let ids: HashMap<(String, String), i64> = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            let id: i64 = c.get()?;
            Ok(((c.get()?, c.get()?), id))
        })
        .await?
        .into_iter()
        .collect();
    drop(args);
    let mut written = Vec::with_capacity(chunk.len());
    for w in chunk {
        match ids.get(&(w.type_code.clone(), w.key.clone())) {
            Some(id) => written.push((*id, w)),
            None => return Err(ledger_key_exists(&w.key).into()),
        }
    }

    let mut args = Args::default();
    let (at, user, name, role, roles) = (
        args.push(author.at),
        args.push(author.user_id),
        args.push(author.name.as_str()),
        args.push(author.role.as_str()),
        args.push(author.ledger_roles.as_str()),
    );
    let mut events = Vec::with_capacity(chunk.len());
    for (id, w) in &written {
        let to_stage =
            (w.from_stage.as_deref() != Some(w.stage.as_str()) && w.from_stage.is_some()).then(|| w.stage.clone());
        events.push(format!(
            "({}, 1, {at}, {user}, {name}, {role}, {roles}, {}, {}, {}, {}, {})",
            args.push(*id),
            args.push(w.action.as_str()),
            args.push(w.from_stage.clone()),
            args.push(to_stage),
            args.push(json_text(&w.changes)?),
            args.push(w.note.clone()),
        ));
    }
    let sql = format!(
        "INSERT INTO ledger_item_events (item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action,
            from_stage, to_stage, changes, note)
         VALUES {} RETURNING item_id, id",
        events.join(", ")
    );
    let events: Vec<(i64, i64)> = c.map(&sql, args.values(), |mut row| Ok((row.take(0)?, row.take(1)?))).await?;
    // The items are new in this transaction: their chains have no other writer.
    crate::audit::LEDGER.seal_written(c, &events).await?;

    let mut args = Args::default();
    let (at, entity) = (args.push(author.at), args.push(ChangeEntity::Ledger.as_str()));
    let feed: Vec<String> = written
        .iter()
        .map(|(_, w)| {
            format!(
                "({at}, {entity}, {}, {})",
                args.push(format!("{}:{}", w.type_code, w.key)),
                args.push(w.action.as_str())
            )
        })
        .collect();
    let sql = format!("INSERT INTO changes (at, entity, key, kind) VALUES {}", feed.join(", "));
    c.execute(&sql, args.values()).await?;

    insert_choices(c, &written).await?;
    for w in chunk {
        deltas.add(&w.type_code, w.town_id, &w.stage, &w.values, 1);
    }
    Ok(())
}

async fn load_type(c: &dyn Conn, code: &str, lock: bool) -> StoreResult<Option<LedgerTypeRecord>> {
    let lock = if lock { c.dialect().lock_rows("ledger_types") } else { String::new() };
    let sql = format!("SELECT {TYPE_COLUMNS} FROM ledger_types WHERE code = $1{lock}");
    c.map_opt(&sql, &args![code], type_record).await
}

pub(crate) async fn load_item_by_id(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<LedgerItem>> {
    let lock = if lock { c.dialect().lock_rows("ledger_items") } else { String::new() };
    let sql = format!("SELECT {ITEM_COLUMNS} FROM ledger_items WHERE id = $1{lock}");
    c.map_opt(&sql, &args![id], item).await
}

/// Writes one item, its event and its choice values, and gathers the change to the counts; answers
/// the item as written.
async fn write_item(
    c: &dyn Conn,
    w: &LedgerWrite,
    author: &LedgerAuthor,
    deltas: &mut RollupDeltas,
) -> StoreResult<LedgerItem> {
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
            check_file_refs(c, id, &w.changes).await?;
            deltas.add(&found.type_code, found.town_id, &found.stage, &found.values, -1);
            c.execute("DELETE FROM ledger_item_choices WHERE item_id = $1", &args![id]).await?;
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
    insert_choices(c, &[(id, w)]).await?;
    deltas.add(&w.type_code, w.town_id, &w.stage, &w.values, 1);
    let to_stage =
        (w.from_stage.as_deref() != Some(w.stage.as_str()) && w.from_stage.is_some()).then(|| w.stage.clone());
    record_event(c, &written, w.action, w.from_stage.clone(), to_stage, &w.changes, w.note.clone(), author).await?;
    Ok(written)
}

/// Refuses a file field set to anything but a document of the item that is not withdrawn
/// (`422 ledger_file_not_found`). Run with the item's row locked: a withdrawal locks it too and
/// refuses a document a file field names, so the two cannot pass each other.
async fn check_file_refs(
    c: &dyn Conn,
    item_id: i64,
    changes: &[mashangban_domain::ledger::CellChange],
) -> StoreResult<()> {
    for change in changes.iter().filter(|ch| !ch.computed) {
        let Some(FieldValue::File(reference)) = &change.after else { continue };
        let kept = match reference.parse::<i64>() {
            Ok(id) => c
                .query_opt(
                    "SELECT 1 FROM documents
                     WHERE id = $1 AND owner_kind = 'ledger_item' AND owner_id = $2 AND withdrawn_at IS NULL",
                    &args![id, item_id],
                )
                .await?
                .is_some(),
            Err(_) => false,
        };
        if !kept {
            return Err(mashangban_domain::ledger::file_not_found(&change.label, reference).into());
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_event(
    c: &dyn Conn,
    item: &LedgerItem,
    action: LedgerAction,
    from_stage: Option<String>,
    to_stage: Option<String>,
    changes: &[mashangban_domain::ledger::CellChange],
    note: Option<String>,
    author: &LedgerAuthor,
) -> StoreResult<()> {
    // The item's row is locked (it is new in this transaction, or every writer locks it), so its
    // chain of seals has one writer at a time.
    crate::audit::LEDGER.lock(c, item.id).await?;
    let event_id: i64 = c.scalar(
        "INSERT INTO ledger_item_events (item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action,
            from_stage, to_stage, changes, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
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
    crate::audit::LEDGER.seal(c, item.id, event_id).await?;
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
    let mut deltas = RollupDeltas::default();
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
            write_item(c, &write, author, &mut deltas).await?;
            migrated += 1;
        }
        deltas.flush(c).await?;
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
