//! Backups that are either whole and checked or absent, and the start-up
//! check that refuses what an interrupted copy leaves behind.
//!
//! `VACUUM INTO` writes its target with a rollback journal and writes page 1
//! (the header) last, so a copy killed half way is a file whose header is
//! zeros beside a `-journal`. Opened as a database, SQLite rolls it back to
//! zero bytes, which then looks like a new, empty platform. So a backup is
//! written to `<name>.partial`, checked (`PRAGMA integrity_check`, schema
//! version), synced, and only then renamed; and a database file is refused at
//! open when it has a hot rollback journal beside it (this store only ever
//! runs in WAL mode), is not an SQLite file, is shorter than its header says,
//! has tables but no schema version, or lacks tables its schema version made.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use mashangban_domain::DomainError;
use mashangban_store::{StoreError, StoreResult};

use crate::migrations::MIGRATIONS;

/// Codes of the refusals here.
pub mod codes {
    /// The file is what an interrupted write or copy left (hot journal, truncated, no header).
    pub const DATABASE_INCOMPLETE: &str = "database_incomplete";
    /// An SQLite file, but not a mashangban database.
    pub const NOT_A_PLATFORM_DATABASE: &str = "not_a_platform_database";
    /// A mashangban database whose structure or pages are damaged.
    pub const DATABASE_DAMAGED: &str = "database_damaged";
    /// Another backup is writing the same file.
    pub const BACKUP_IN_PROGRESS: &str = "backup_in_progress";
    /// The backup's destination already exists.
    pub const BACKUP_EXISTS: &str = "backup_exists";
}

fn refuse(code: &'static str, message: String) -> StoreError {
    StoreError::Domain(DomainError::invalid(code, message))
}

/// `path` with `suffix` appended to its file name (`x.db` → `x.db-journal`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// The checks that need no SQLite: run before SQLite opens (and could roll back) the file.
pub fn check_file(path: &Path) -> StoreResult<()> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    let shown = path.display();
    let journal = with_suffix(path, "-journal");
    if non_empty(&journal) {
        return Err(refuse(
            codes::DATABASE_INCOMPLETE,
            format!(
                "数据库文件 {shown} 旁有未完成写入留下的回滚日志 {}：这通常是被中断的备份或复制，文件不完整。\
                 为免把它当作空库启动，已拒绝。请用完整的备份恢复（mashangban restore 备份文件）",
                journal.display()
            ),
        ));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut header = [0u8; 100];
    let read = File::open(path).and_then(|mut f| f.read(&mut header)).map_err(StoreError::backend)?;
    if read < header.len() || !header.starts_with(b"SQLite format 3\0") {
        return Err(refuse(
            codes::DATABASE_INCOMPLETE,
            format!("{shown} 不是完整的 SQLite 数据库（文件头缺失，可能是被中断的备份或复制）；请用完整的备份恢复"),
        ));
    }
    let expected = header_size(&header);
    if expected.is_some_and(|bytes| meta.len() < bytes) && !non_empty(&with_suffix(path, "-wal")) {
        return Err(refuse(
            codes::DATABASE_INCOMPLETE,
            format!(
                "数据库文件 {shown} 被截断：文件头记录的大小为 {} 字节，实际只有 {} 字节；请用完整的备份恢复",
                expected.unwrap_or_default(),
                meta.len()
            ),
        ));
    }
    Ok(())
}

/// The size the header records (page size × page count), when it is valid
/// (its "version-valid-for" equals the change counter).
fn header_size(header: &[u8; 100]) -> Option<u64> {
    let be32 = |at: usize| header.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let (changes, pages, valid_for) = (be32(24)?, be32(28)?, be32(92)?);
    (pages > 0 && valid_for == changes).then(|| page_size * u64::from(pages))
}

/// The tables of a database.
fn tables(conn: &Connection) -> StoreResult<BTreeSet<String>> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(StoreError::backend)?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(StoreError::backend)?;
    names.collect::<Result<_, _>>().map_err(StoreError::backend)
}

fn schema_version(conn: &Connection) -> StoreResult<usize> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(StoreError::backend)?;
    usize::try_from(v).map_err(StoreError::backend)
}

/// The tables the migrations up to `version` create.
fn expected_tables(version: usize) -> StoreResult<BTreeSet<String>> {
    let conn = Connection::open_in_memory().map_err(StoreError::backend)?;
    for sql in MIGRATIONS.iter().take(version) {
        conn.execute_batch(sql).map_err(StoreError::backend)?;
    }
    tables(&conn)
}

/// The checks on an open database before it is migrated: tables without a
/// schema version are another program's; a schema version without its
/// tables is damage.
pub(crate) fn check_schema(conn: &Connection, path: &Path) -> StoreResult<()> {
    let version = schema_version(conn)?;
    let present = tables(conn)?;
    if version == 0 {
        if present.is_empty() {
            return Ok(());
        }
        return Err(refuse(
            codes::NOT_A_PLATFORM_DATABASE,
            format!("{} 是其他程序的 SQLite 数据库（有数据表但没有马上办的结构版本），已拒绝使用", path.display()),
        ));
    }
    if version > MIGRATIONS.len() {
        return Ok(()); // `migrate` names the newer program this needs.
    }
    let missing: Vec<String> = expected_tables(version)?.difference(&present).cloned().collect();
    if !missing.is_empty() {
        return Err(refuse(
            codes::DATABASE_DAMAGED,
            format!(
                "数据库 {} 已损坏：结构版本 {version} 应有的数据表缺失（{}）；请用完整的备份恢复",
                path.display(),
                missing.join("、")
            ),
        ));
    }
    Ok(())
}

/// What a checked copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    pub schema_version: usize,
    pub units: i64,
    pub users: i64,
    pub requests: i64,
    /// Recorded changes of the work calendar: every started platform has at
    /// least one (the bundled years, stored on its first start).
    pub calendar_changes: i64,
}

impl CopySummary {
    /// Whether the copy holds anything a platform made.
    pub fn has_platform_data(&self) -> bool {
        self.units + self.users + self.requests + self.calendar_changes > 0
    }
}

/// Checks a copy of the database (a backup) without changing it: complete
/// file, `PRAGMA integrity_check`, a schema version this program knows with
/// its tables; answers what it holds.
pub fn check_copy(path: &Path) -> StoreResult<CopySummary> {
    if !path.is_file() {
        return Err(refuse(codes::DATABASE_INCOMPLETE, format!("{} 不存在或不是文件", path.display())));
    }
    check_file(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| damaged(path, &e.to_string()))?;
    integrity(&conn, path)?;
    let version = schema_version(&conn)?;
    if version == 0 || version > MIGRATIONS.len() {
        return Err(refuse(
            codes::NOT_A_PLATFORM_DATABASE,
            format!(
                "{} 的结构版本为 {version}，本程序只认识 1–{}：不是马上办的数据库，或需要更新的程序",
                path.display(),
                MIGRATIONS.len()
            ),
        ));
    }
    check_schema(&conn, path)?;
    let count = |table: &str| -> StoreResult<i64> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(StoreError::backend)
    };
    Ok(CopySummary {
        schema_version: version,
        units: count("units")?,
        users: count("users")?,
        requests: count("requests")?,
        calendar_changes: count("calendar_changes")?,
    })
}

fn integrity(conn: &Connection, path: &Path) -> StoreResult<()> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)").map_err(|e| damaged(path, &e.to_string()))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| damaged(path, &e.to_string()))?;
    let found: Vec<String> = rows.collect::<Result<_, _>>().map_err(|e| damaged(path, &e.to_string()))?;
    if found.len() == 1 && found.first().is_some_and(|r| r == "ok") {
        return Ok(());
    }
    Err(damaged(path, &found.join("; ")))
}

fn damaged(path: &Path, detail: &str) -> StoreError {
    refuse(codes::DATABASE_DAMAGED, format!("{} 未通过完整性检查（{detail}）", path.display()))
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    pub bytes: u64,
    /// A temporary file an interrupted earlier backup left, now removed.
    pub removed_leftover: Option<PathBuf>,
}

/// Copies the database at `source` to `dest` (see the module comment): `dest`
/// appears only complete and checked, or not at all.
pub(crate) fn backup(source: &Path, dest: &Path) -> StoreResult<BackupOutcome> {
    if dest.exists() {
        return Err(refuse(codes::BACKUP_EXISTS, format!("{} 已存在：请换一个文件名", dest.display())));
    }
    let partial = with_suffix(dest, ".partial");
    let journal = with_suffix(&partial, "-journal");
    let leftover = (partial.exists() || journal.exists()).then(|| partial.clone());
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&partial)
        .map_err(|e| StoreError::backend(format!("无法在 {} 写入备份：{e}", partial.display())))?;
    if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
        return Err(refuse(
            codes::BACKUP_IN_PROGRESS,
            format!("另一个备份正在写入 {}：请等它结束，或换一个文件名", partial.display()),
        ));
    }
    if leftover.is_some() {
        // Ours to clear: whoever wrote it is gone (its lock was released).
        lock.set_len(0).map_err(StoreError::backend)?;
        remove_if_present(&journal)?;
    }
    let result = write_checked(source, &partial).and_then(|bytes| {
        if dest.exists() {
            return Err(refuse(codes::BACKUP_EXISTS, format!("{} 已存在：请换一个文件名", dest.display())));
        }
        std::fs::rename(&partial, dest).map_err(StoreError::backend)?;
        sync_directory(dest)?;
        Ok(bytes)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(&journal);
    }
    drop(lock);
    Ok(BackupOutcome { bytes: result?, removed_leftover: leftover })
}

/// `VACUUM INTO` the (empty) `partial`, check it, and sync it to disk.
fn write_checked(source: &Path, partial: &Path) -> StoreResult<u64> {
    let conn = Connection::open(source).map_err(StoreError::backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(StoreError::backend)?;
    let version = schema_version(&conn)?;
    conn.execute("VACUUM INTO ?1", [partial.to_string_lossy().as_ref()]).map_err(StoreError::backend)?;
    drop(conn);
    let copy = check_copy(partial)?;
    if copy.schema_version != version {
        return Err(damaged(partial, &format!("结构版本 {} 与原库 {version} 不同", copy.schema_version)));
    }
    let file = File::open(partial).map_err(StoreError::backend)?;
    file.sync_all().map_err(StoreError::backend)?;
    file.metadata().map(|m| m.len()).map_err(StoreError::backend)
}

fn remove_if_present(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::backend(e)),
        _ => Ok(()),
    }
}

/// Makes a rename in `path`'s directory durable (a no-op where directories cannot be opened).
pub fn sync_directory(path: &Path) -> StoreResult<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| if cfg!(unix) { Err(e) } else { Ok(()) }).map_err(StoreError::backend),
        Err(_) if !cfg!(unix) => Ok(()),
        Err(e) => Err(StoreError::backend(e)),
    }
}
