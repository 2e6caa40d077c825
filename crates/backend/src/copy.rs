//! Moving a whole platform between backends (`mashangban migrate-data`):
//! SQLite to PostgreSQL when a city outgrows one machine, and back.
//!
//! Both schemas have the same tables and columns (each backend's migrations
//! keep them so), so the copy is table by table in foreign-key order, rows in
//! primary-key order, in batches that each commit on their own. A rerun
//! resumes after the last row the target holds. Columns that point into
//! their own table (a unit's parent, a request merged into another) are
//! written empty first and filled in once the whole table is there, so row
//! order never breaks a foreign key. At the end every table's row count and a
//! SHA-256 over its rows in key order are compared on both sides.
//!
//! The copy uses blocking connections; call it from a blocking thread.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::DatabaseUrl;

/// Tables that belong to one database and are never copied: its migrations,
/// the copy marker, its change feed (consumers on the new database start
/// from its own feed), its throttle counts (windows of an hour at most) and
/// where its after-the-fact sealing of old events ends (seals are copied).
const OWN_TABLES: &[&str] =
    &["schema_migrations", COPY_MARKER, "changes", "change_cursors", "rate_limits", "audit_state"];
/// The table recording a copy in progress on the target.
const COPY_MARKER: &str = "mashangban_data_copy";

/// How a copy went, per table in copy order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<TableCheck>,
    /// Rows written by this run (less than the total when it resumed).
    pub rows_copied: u64,
}

/// A table's row count and checksum, equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// Progress of a running copy.
#[derive(Debug, Clone)]
pub enum CopyProgress<'a> {
    /// The number of rows the source holds in all.
    Total(u64),
    /// More rows are in place (copied now or before this run).
    Rows(u64),
    /// A table is being copied or verified.
    Table(&'a str),
}

/// Copy settings.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Rows per committed batch.
    pub batch: usize,
    /// Stop after this many rows (to test resumption); None copies everything.
    pub stop_after: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self { batch: 2_000, stop_after: None }
    }
}

/// Copies every table from `from` to `to` (both already migrated to the
/// same schema version) and verifies the result.
pub fn copy_data(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    options: &CopyOptions,
    progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<CopyReport, String> {
    if from == to {
        return Err("源数据库与目标数据库相同".into());
    }
    let mut source = Side::connect(from)?;
    let mut target = Side::connect(to)?;
    source.prepare_export()?;
    let source_tables = source.tables()?;
    let target_tables = target.tables()?;
    for table in source_tables.keys() {
        // A backend's own working table (e.g. PostgreSQL's folded dashboard changes) is empty after the export's preparation.
        if !target_tables.contains_key(table) && source.count(table)? > 0 {
            return Err(format!("目标数据库没有表 {table}：两边的程序版本是否一致？"));
        }
    }
    let mut target_tables = target_tables;
    target_tables.retain(|name, _| source_tables.contains_key(name));
    for (name, spec) in &mut target_tables {
        spec.text_keys.extend(source_tables[name].text_keys.iter().cloned());
    }
    let order = copy_order(&target_tables)?;
    let source_id = from.redacted();
    target.begin_copy(&source_id, &order)?;
    let mut counts = BTreeMap::new();
    for table in &order {
        counts.insert(table.clone(), source.count(table)?);
    }
    progress(CopyProgress::Total(counts.values().sum()));
    let mut copied = 0u64;
    for table in &order {
        progress(CopyProgress::Table(table));
        let spec = &target_tables[table];
        check_columns(table, &source_tables[table], spec)?;
        let before = target.count(table)?;
        progress(CopyProgress::Rows(before));
        let budget = options.stop_after.map(|limit| limit.saturating_sub(copied));
        let written = copy_table(&mut source, &mut target, spec, options.batch, budget, progress)?;
        copied += written;
        if before + written < counts[table] {
            return Err(format!("已按要求在复制 {copied} 行后停止；再次运行同一命令即可继续"));
        }
        fill_self_references(&mut source, &mut target, spec, options.batch)?;
    }
    target.after_copy(&target_tables)?;
    let mut checks = Vec::new();
    for table in &order {
        progress(CopyProgress::Table(table));
        let spec = &target_tables[table];
        let (a, b) = (source.checksum(spec)?, target.checksum(spec)?);
        if a != b {
            return Err(format!(
                "校验失败：表 {table} 源库 {} 行 ({})，目标库 {} 行 ({})",
                a.rows, a.sha256, b.rows, b.sha256
            ));
        }
        checks.push(a);
    }
    target.finish_copy(&source_id)?;
    Ok(CopyReport { tables: checks, rows_copied: copied })
}

/// A table's columns and keys, read from a database's catalogue.
#[derive(Debug, Clone)]
struct TableSpec {
    name: String,
    columns: Vec<String>,
    primary_key: Vec<String>,
    /// Tables this one references (other than itself).
    references: BTreeSet<String>,
    /// Columns referencing this same table.
    self_references: Vec<String>,
    /// Key columns holding text, compared bytewise on both sides.
    text_keys: BTreeSet<String>,
}

impl TableSpec {
    fn key_list(&self) -> String {
        self.primary_key.join(", ")
    }

    /// The key as PostgreSQL must compare it to agree with SQLite: text in byte order.
    fn key_order(&self, postgres: bool) -> String {
        let keys: Vec<String> = self
            .primary_key
            .iter()
            .map(|k| if postgres && self.text_keys.contains(k) { format!("{k} COLLATE \"C\"") } else { k.clone() })
            .collect();
        keys.join(", ")
    }

    fn column_list(&self) -> String {
        self.columns.join(", ")
    }
}

fn check_columns(table: &str, source: &TableSpec, target: &TableSpec) -> Result<(), String> {
    let a: BTreeSet<_> = source.columns.iter().collect();
    let b: BTreeSet<_> = target.columns.iter().collect();
    if a != b {
        let only_source: Vec<_> = a.difference(&b).collect();
        let only_target: Vec<_> = b.difference(&a).collect();
        return Err(format!("表 {table} 两边的列不同：仅源库有 {only_source:?}，仅目标库有 {only_target:?}"));
    }
    if target.primary_key.is_empty() {
        return Err(format!("表 {table} 没有主键，无法分批复制"));
    }
    Ok(())
}

/// Tables ordered so that every table comes after those it references.
fn copy_order(tables: &BTreeMap<String, TableSpec>) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    while placed.len() < tables.len() {
        let ready: Vec<&String> = tables
            .iter()
            .filter(|(name, spec)| {
                !placed.contains(*name) && spec.references.iter().all(|r| placed.contains(r) || !tables.contains_key(r))
            })
            .map(|(name, _)| name)
            .collect();
        if ready.is_empty() {
            let rest: Vec<_> = tables.keys().filter(|t| !placed.contains(*t)).collect();
            return Err(format!("表之间的外键成环，无法确定复制顺序：{rest:?}"));
        }
        for name in ready {
            placed.insert(name.clone());
            order.push(name.clone());
        }
    }
    Ok(order)
}

/// Copies the rows after the last key the target holds; answers how many.
fn copy_table(
    source: &mut Side,
    target: &mut Side,
    spec: &TableSpec,
    batch: usize,
    budget: Option<u64>,
    progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<u64, String> {
    let mut after = target.last_key(spec)?;
    let mut written = 0u64;
    loop {
        let room = budget.map_or(batch, |b| batch.min(usize::try_from(b - written).unwrap_or(batch)));
        if room == 0 {
            return Ok(written);
        }
        let rows = source.rows_after(spec, after.as_deref(), room)?;
        let Some(last) = rows.last() else { return Ok(written) };
        after = Some(key_of(spec, last));
        target.insert(spec, &rows)?;
        written += rows.len() as u64;
        progress(CopyProgress::Rows(rows.len() as u64));
    }
}

/// Sets the columns that reference their own table, now that every row is there.
fn fill_self_references(source: &mut Side, target: &mut Side, spec: &TableSpec, batch: usize) -> Result<(), String> {
    for column in &spec.self_references {
        let mut after: Option<Vec<Val>> = None;
        loop {
            let pairs = source.references_after(spec, column, after.as_deref(), batch)?;
            let Some((last, _)) = pairs.last() else { break };
            after = Some(last.clone());
            target.set_column(spec, column, &pairs)?;
        }
    }
    Ok(())
}

fn key_of(spec: &TableSpec, row: &[Val]) -> Vec<Val> {
    spec.primary_key.iter().filter_map(|k| spec.columns.iter().position(|c| c == k)).map(|i| row[i].clone()).collect()
}

/// A column value in a form both databases can give and take.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Val {
    /// The value in the checksum: the same text on both sides for equal data.
    fn digest_into(&self, out: &mut String) {
        match self {
            Self::Null => out.push('\u{2205}'),
            Self::Int(i) => {
                let _ = write!(out, "i{i}");
            }
            Self::Real(f) => {
                let _ = write!(out, "r{f:?}");
            }
            Self::Text(s) => {
                let _ = write!(out, "t{}:{s}", s.len());
            }
            Self::Blob(b) => {
                let _ = write!(out, "b{}", hex::encode(Sha256::digest(b)));
            }
        }
        out.push('\u{1f}');
    }

    fn to_sqlite(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value;
        match self {
            Self::Null => Value::Null,
            Self::Int(i) => Value::Integer(*i),
            Self::Real(f) => Value::Real(*f),
            Self::Text(s) => Value::Text(s.clone()),
            Self::Blob(b) => Value::Blob(b.clone()),
        }
    }

    fn from_sqlite(value: ValueRef<'_>) -> Result<Self, String> {
        Ok(match value {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(i) => Self::Int(i),
            ValueRef::Real(f) => Self::Real(f),
            ValueRef::Text(t) => Self::Text(String::from_utf8(t.to_vec()).map_err(|e| format!("非 UTF-8 文本: {e}"))?),
            ValueRef::Blob(b) => Self::Blob(b.to_vec()),
        })
    }

    /// The value as a parameter of PostgreSQL type `ty`.
    fn to_pg(&self, ty: &Type) -> Result<Box<dyn ToSql + Sync>, String> {
        let null = matches!(self, Self::Null);
        let int = |v: &Self| match v {
            Self::Int(i) => Ok(*i),
            other => Err(format!("{other:?} 不是整数")),
        };
        Ok(match *ty {
            Type::BOOL => Box::new(if null { None } else { Some(int(self)? != 0) }),
            Type::INT8 => Box::new(if null { None } else { Some(int(self)?) }),
            Type::INT4 => {
                Box::new(if null { None } else { Some(i32::try_from(int(self)?).map_err(|e| e.to_string())?) })
            }
            Type::INT2 => {
                Box::new(if null { None } else { Some(i16::try_from(int(self)?).map_err(|e| e.to_string())?) })
            }
            Type::FLOAT8 => Box::new(match self {
                Self::Null => None,
                Self::Real(f) => Some(*f),
                Self::Int(i) => Some(*i as f64),
                other => return Err(format!("{other:?} 不是数值")),
            }),
            Type::BYTEA => Box::new(match self {
                Self::Null => None,
                Self::Blob(b) => Some(b.clone()),
                Self::Text(s) => Some(s.clone().into_bytes()),
                other => return Err(format!("{other:?} 不是二进制")),
            }),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR => Box::new(match self {
                Self::Null => None,
                Self::Text(s) => Some(s.clone()),
                Self::Int(i) => Some(i.to_string()),
                Self::Real(f) => Some(f.to_string()),
                Self::Blob(_) => return Err("二进制值不能写入文本列".into()),
            }),
            ref other => return Err(format!("不支持的列类型 {other}")),
        })
    }

    fn from_pg(row: &postgres::Row, i: usize) -> Result<Self, String> {
        let ty = row.columns()[i].type_().clone();
        let e = |e: postgres::Error| pg_error(e);
        Ok(match ty {
            Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(e)?.map_or(Self::Null, |b| Self::Int(i64::from(b))),
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(e)?.map_or(Self::Null, Self::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(e)?.map_or(Self::Null, |v| Self::Int(v.into())),
            Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(e)?.map_or(Self::Null, |v| Self::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(e)?.map_or(Self::Null, Self::Real),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(e)?.map_or(Self::Null, Self::Blob),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR => {
                row.try_get::<_, Option<String>>(i).map_err(e)?.map_or(Self::Null, Self::Text)
            }
            other => return Err(format!("不支持的列类型 {other}")),
        })
    }
}

/// A blocking connection to one side of the copy.
enum Side {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Side {
    fn connect(url: &DatabaseUrl) -> Result<Self, String> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if !path.exists() {
                    return Err(format!("数据库文件 {} 不存在", path.display()));
                }
                let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
                // Self-references are filled in after their table; checks run at the end.
                conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL;")
                    .map_err(|e| e.to_string())?;
                Ok(Self::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let client = postgres::Client::connect(url, postgres::NoTls)
                    .map_err(|e| format!("无法连接 {}: {e}", url_for_log(url)))?;
                Ok(Self::Postgres(client))
            }
        }
    }

    /// Every copyable table with its columns and keys.
    fn tables(&mut self) -> Result<BTreeMap<String, TableSpec>, String> {
        let specs = match self {
            Self::Sqlite(conn) => sqlite_tables(conn).map_err(|e| e.to_string())?,
            Self::Postgres(client) => pg_tables(client).map_err(pg_error)?,
        };
        Ok(specs.into_iter().filter(|s| !OWN_TABLES.contains(&s.name.as_str())).map(|s| (s.name.clone(), s)).collect())
    }

    /// Puts what a backend keeps pending into its tables: PostgreSQL folds the
    /// dashboard changes written since the last dashboard into the rollups.
    fn prepare_export(&mut self) -> Result<(), String> {
        let Self::Postgres(client) = self else { return Ok(()) };
        let exists: bool = client
            .query_one("SELECT to_regproc('mashangban_fold_dashboard') IS NOT NULL", &[])
            .map_err(pg_error)?
            .get(0);
        if exists {
            client.batch_execute("SELECT mashangban_fold_dashboard()").map_err(pg_error)?;
        }
        Ok(())
    }

    fn count(&mut self, table: &str) -> Result<u64, String> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = match self {
            Self::Sqlite(conn) => conn.query_row(&sql, [], |r| r.get(0)).map_err(|e| e.to_string())?,
            Self::Postgres(client) => client.query_one(&sql, &[]).map_err(pg_error)?.get(0),
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Records that a copy from `source` is under way, refusing a target that holds other data.
    fn begin_copy(&mut self, source: &str, tables: &[String]) -> Result<(), String> {
        self.batch(&format!(
            "CREATE TABLE IF NOT EXISTS {COPY_MARKER} (source TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT)"
        ))?;
        let marked = self
            .query(&format!("SELECT finished_at FROM {COPY_MARKER} WHERE source = $1"), &[Val::Text(source.into())])?;
        if marked.is_empty() {
            for table in tables {
                if self.count(table)? > 0 {
                    return Err(format!(
                        "目标数据库的表 {table} 已有数据，且不是从同一源库复制的；请使用空的目标数据库"
                    ));
                }
            }
            let now = mashangban_domain::time::format_instant(&mashangban_domain::time::now());
            self.execute(
                &format!("INSERT INTO {COPY_MARKER} (source, started_at) VALUES ($1, $2)"),
                &[Val::Text(source.into()), Val::Text(now)],
            )?;
        }
        Ok(())
    }

    fn finish_copy(&mut self, source: &str) -> Result<(), String> {
        let now = mashangban_domain::time::format_instant(&mashangban_domain::time::now());
        self.execute(
            &format!("UPDATE {COPY_MARKER} SET finished_at = $2 WHERE source = $1"),
            &[Val::Text(source.into()), Val::Text(now)],
        )
    }

    /// Moves PostgreSQL's id sequences past the copied ids.
    fn after_copy(&mut self, tables: &BTreeMap<String, TableSpec>) -> Result<(), String> {
        let Self::Postgres(client) = self else { return Ok(()) };
        for spec in tables.values() {
            let [key] = spec.primary_key.as_slice() else { continue };
            if spec.text_keys.contains(key) {
                continue;
            }
            let sql = format!(
                "SELECT setval(seq, GREATEST((SELECT COALESCE(MAX({key}), 0) FROM {t}), 1), (SELECT COUNT(*) > 0 FROM {t}))
                 FROM (SELECT pg_get_serial_sequence('{t}', '{key}') AS seq) s WHERE seq IS NOT NULL",
                t = spec.name
            );
            client.execute(&sql, &[]).map_err(pg_error)?;
        }
        Ok(())
    }

    fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    fn last_key(&mut self, spec: &TableSpec) -> Result<Option<Vec<Val>>, String> {
        let order = spec.key_order(self.is_postgres()).replace(", ", " DESC, ");
        let sql = format!("SELECT {} FROM {} ORDER BY {order} DESC LIMIT 1", spec.key_list(), spec.name);
        Ok(self.query(&sql, &[])?.pop())
    }

    /// Up to `limit` rows after `after` in key order, columns in `spec` order.
    fn rows_after(&mut self, spec: &TableSpec, after: Option<&[Val]>, limit: usize) -> Result<Vec<Vec<Val>>, String> {
        let order = spec.key_order(self.is_postgres());
        let (filter, params) = after_filter(&order, after);
        let sql = format!("SELECT {} FROM {}{filter} ORDER BY {order} LIMIT {limit}", spec.column_list(), spec.name);
        self.query(&sql, &params)
    }

    /// (key, value) of the rows whose `column` is set, after `after`.
    fn references_after(
        &mut self,
        spec: &TableSpec,
        column: &str,
        after: Option<&[Val]>,
        limit: usize,
    ) -> Result<Vec<(Vec<Val>, Val)>, String> {
        let order = spec.key_order(self.is_postgres());
        let (filter, params) = after_filter(&order, after);
        let joiner = if filter.is_empty() { " WHERE" } else { " AND" };
        let sql = format!(
            "SELECT {}, {column} FROM {}{filter}{joiner} {column} IS NOT NULL ORDER BY {order} LIMIT {limit}",
            spec.key_list(),
            spec.name
        );
        let rows = self.query(&sql, &params)?;
        Ok(rows
            .into_iter()
            .filter_map(|mut row| {
                let value = row.pop()?;
                Some((row, value))
            })
            .collect())
    }

    fn set_column(&mut self, spec: &TableSpec, column: &str, pairs: &[(Vec<Val>, Val)]) -> Result<(), String> {
        let keys: Vec<String> = spec.primary_key.iter().enumerate().map(|(i, k)| format!("{k} = ${}", i + 2)).collect();
        let sql = format!("UPDATE {} SET {column} = $1 WHERE {}", spec.name, keys.join(" AND "));
        self.in_transaction(|side| {
            for (key, value) in pairs {
                let mut params = vec![value.clone()];
                params.extend(key.iter().cloned());
                side.execute(&sql, &params)?;
            }
            Ok(())
        })
    }

    /// Writes rows in one transaction, self-references left empty for now.
    fn insert(&mut self, spec: &TableSpec, rows: &[Vec<Val>]) -> Result<(), String> {
        let blank: Vec<usize> =
            spec.self_references.iter().filter_map(|c| spec.columns.iter().position(|x| x == c)).collect();
        let prepared = rows.iter().map(|row| {
            let mut row = row.clone();
            for &i in &blank {
                row[i] = Val::Null;
            }
            row
        });
        match self {
            Self::Sqlite(conn) => {
                let tx = conn.transaction().map_err(|e| e.to_string())?;
                {
                    let marks: Vec<String> = (1..=spec.columns.len()).map(|i| format!("?{i}")).collect();
                    let sql =
                        format!("INSERT INTO {} ({}) VALUES ({})", spec.name, spec.column_list(), marks.join(", "));
                    let mut stmt = tx.prepare(&sql).map_err(|e| e.to_string())?;
                    for row in prepared {
                        let values: Vec<_> = row.iter().map(Val::to_sqlite).collect();
                        stmt.execute(rusqlite::params_from_iter(values)).map_err(|e| format!("{}: {e}", spec.name))?;
                    }
                }
                tx.commit().map_err(|e| e.to_string())
            }
            Self::Postgres(client) => {
                let mut tx = client.transaction().map_err(pg_error)?;
                let types: Vec<Type> = tx
                    .prepare(&format!("SELECT {} FROM {} LIMIT 0", spec.column_list(), spec.name))
                    .map_err(pg_error)?
                    .columns()
                    .iter()
                    .map(|c| c.type_().clone())
                    .collect();
                let sink = tx
                    .copy_in(&format!("COPY {} ({}) FROM STDIN (FORMAT binary)", spec.name, spec.column_list()))
                    .map_err(pg_error)?;
                let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
                for row in prepared {
                    let values = row.iter().zip(&types).map(|(v, t)| v.to_pg(t)).collect::<Result<Vec<_>, _>>()?;
                    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref()).collect();
                    writer.write(&refs).map_err(|e| format!("{}: {}", spec.name, pg_error(e)))?;
                }
                writer.finish().map_err(|e| format!("{}: {}", spec.name, pg_error(e)))?;
                tx.commit().map_err(pg_error)
            }
        }
    }

    /// Row count and SHA-256 over every row in key order.
    fn checksum(&mut self, spec: &TableSpec) -> Result<TableCheck, String> {
        let mut columns = spec.columns.clone();
        columns.sort();
        let ordered = TableSpec { columns, ..spec.clone() };
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        let mut after: Option<Vec<Val>> = None;
        let mut line = String::new();
        loop {
            let batch = self.rows_after(&ordered, after.as_deref(), 5_000)?;
            let Some(last) = batch.last() else { break };
            after = Some(key_of(&ordered, last));
            for row in &batch {
                line.clear();
                row.iter().for_each(|v| v.digest_into(&mut line));
                hasher.update(line.as_bytes());
                hasher.update(b"\n");
            }
            rows += batch.len() as u64;
        }
        Ok(TableCheck { table: spec.name.clone(), rows, sha256: hex::encode(hasher.finalize()) })
    }

    fn in_transaction(&mut self, f: impl FnOnce(&mut Self) -> Result<(), String>) -> Result<(), String> {
        self.batch("BEGIN")?;
        match f(self) {
            Ok(()) => self.batch("COMMIT"),
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Self::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| e.to_string()),
            Self::Postgres(client) => client.batch_execute(sql).map_err(pg_error),
        }
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<(), String> {
        match self {
            Self::Sqlite(conn) => {
                let sql = sqlite_placeholders(sql);
                let values: Vec<_> = params.iter().map(Val::to_sqlite).collect();
                conn.execute(&sql, rusqlite::params_from_iter(values)).map(|_| ()).map_err(|e| e.to_string())
            }
            Self::Postgres(client) => {
                let stmt = client.prepare(sql).map_err(pg_error)?;
                let values =
                    params.iter().zip(stmt.params()).map(|(v, t)| v.to_pg(t)).collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref()).collect();
                client.execute(&stmt, &refs).map(|_| ()).map_err(|e| format!("{sql}: {}", pg_error(e)))
            }
        }
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, String> {
        match self {
            Self::Sqlite(conn) => {
                let sql = sqlite_placeholders(sql);
                let mut stmt = conn.prepare(&sql).map_err(|e| e.to_string())?;
                let width = stmt.column_count();
                let values: Vec<_> = params.iter().map(Val::to_sqlite).collect();
                let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(|e| e.to_string())? {
                    let mut vals = Vec::with_capacity(width);
                    for i in 0..width {
                        vals.push(Val::from_sqlite(row.get_ref(i).map_err(|e| e.to_string())?)?);
                    }
                    out.push(vals);
                }
                Ok(out)
            }
            Self::Postgres(client) => {
                let stmt = client.prepare(sql).map_err(pg_error)?;
                let values =
                    params.iter().zip(stmt.params()).map(|(v, t)| v.to_pg(t)).collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| b.as_ref()).collect();
                let rows = client.query(&stmt, &refs).map_err(|e| format!("{sql}: {}", pg_error(e)))?;
                rows.iter().map(|row| (0..row.len()).map(|i| Val::from_pg(row, i)).collect()).collect()
            }
        }
    }
}

/// ` WHERE (k1, k2) > ($1, $2)` for keyset paging by the key expressions `order`, with its parameters.
fn after_filter(order: &str, after: Option<&[Val]>) -> (String, Vec<Val>) {
    match after {
        None => (String::new(), Vec::new()),
        Some(key) => {
            let marks: Vec<String> = (1..=key.len()).map(|i| format!("${i}")).collect();
            (format!(" WHERE ({order}) > ({})", marks.join(", ")), key.to_vec())
        }
    }
}

/// PostgreSQL's `$n` placeholders as SQLite's `?n`.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// A PostgreSQL error with the server's own message, not just "db error".
fn pg_error(e: postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn url_for_log(url: &str) -> String {
    DatabaseUrl::Postgres(url.to_owned()).redacted()
}

fn sqlite_tables(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<TableSpec>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'",
    )?;
    let mut names: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    // Full-text indexes keep shadow tables named after their virtual table; they are rebuilt, not copied.
    let mut virtuals =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")?;
    let virtuals: Vec<String> = virtuals.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    names.retain(|n| !virtuals.iter().any(|v| n.starts_with(&format!("{v}_"))));
    let mut specs = Vec::new();
    for name in names {
        let mut columns = Vec::new();
        let mut keyed = Vec::new();
        let mut text_keys = BTreeSet::new();
        let mut info = conn.prepare(&format!("PRAGMA table_info({name})"))?;
        let mut rows = info.query([])?;
        while let Some(row) = rows.next()? {
            let column: String = row.get("name")?;
            let pk: i64 = row.get("pk")?;
            let declared: String = row.get("type")?;
            if pk > 0 {
                keyed.push((pk, column.clone()));
                if declared.to_ascii_uppercase().contains("TEXT") {
                    text_keys.insert(column.clone());
                }
            }
            columns.push(column);
        }
        keyed.sort();
        let mut references = BTreeSet::new();
        let mut self_references = Vec::new();
        let mut fks = conn.prepare(&format!("PRAGMA foreign_key_list({name})"))?;
        let mut rows = fks.query([])?;
        while let Some(row) = rows.next()? {
            let table: String = row.get("table")?;
            let from: String = row.get("from")?;
            if table == name {
                self_references.push(from);
            } else {
                references.insert(table);
            }
        }
        let primary_key = keyed.into_iter().map(|(_, c)| c).collect();
        specs.push(TableSpec { name, columns, primary_key, references, self_references, text_keys });
    }
    Ok(specs)
}

fn pg_tables(client: &mut postgres::Client) -> Result<Vec<TableSpec>, postgres::Error> {
    let tables = client.query(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1",
        &[],
    )?;
    let mut specs = Vec::new();
    for row in tables {
        let name: String = row.get(0);
        let columns = client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&name],
            )?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        let keys = client.query(
            "SELECT a.attname::text, a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype) FROM pg_index i
             JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY k.pos",
            &[&name],
        )?;
        let primary_key = keys.iter().map(|r| r.get::<_, String>(0)).collect();
        let text_keys = keys.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get::<_, String>(0)).collect();
        let mut references = BTreeSet::new();
        let mut self_references = Vec::new();
        let fks = client.query(
            "SELECT c.confrelid::regclass::text, a.attname::text FROM pg_constraint c
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             WHERE c.conrelid = $1::text::regclass AND c.contype = 'f'",
            &[&name],
        )?;
        for fk in fks {
            let table: String = fk.get(0);
            if table == name {
                self_references.push(fk.get(1));
            } else {
                references.insert(table);
            }
        }
        specs.push(TableSpec { name, columns, primary_key, references, self_references, text_keys });
    }
    Ok(specs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(name: &str, refs: &[&str]) -> TableSpec {
        TableSpec {
            name: name.into(),
            columns: vec!["id".into()],
            primary_key: vec!["id".into()],
            references: refs.iter().map(|r| r.to_string()).collect(),
            self_references: vec![],
            text_keys: BTreeSet::new(),
        }
    }

    #[test]
    fn tables_are_copied_after_those_they_reference() {
        let tables: BTreeMap<_, _> = [
            spec("events", &["requests"]),
            spec("requests", &["units", "categories"]),
            spec("units", &[]),
            spec("categories", &["units"]),
        ]
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
        assert_eq!(copy_order(&tables).unwrap(), ["units", "categories", "requests", "events"]);
        let cycle: BTreeMap<_, _> =
            [spec("a", &["b"]), spec("b", &["a"])].into_iter().map(|s| (s.name.clone(), s)).collect();
        assert!(copy_order(&cycle).is_err());
    }

    #[test]
    fn placeholders_and_checksums_are_the_same_on_both_sides() {
        assert_eq!(
            sqlite_placeholders("SELECT a FROM t WHERE (k) > ($1) AND x = $12"),
            "SELECT a FROM t WHERE (k) > (?1) AND x = ?12"
        );
        let (mut a, mut b) = (String::new(), String::new());
        Val::Int(1).digest_into(&mut a);
        Val::Text("1".into()).digest_into(&mut b);
        assert_ne!(a, b, "an integer and its text differ");
    }
}
