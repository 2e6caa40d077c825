//! Backups are whole or absent, and a database file an interrupted copy left
//! is refused at open instead of being rolled back to an empty platform.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::path::Path;

use mashangban_domain::org::UnitKind;
use mashangban_store::{NewUnit, OrgStore, StoreError};
use mashangban_store_sqlite::backup::{check_copy, codes};
use mashangban_store_sqlite::{SqliteOptions, SqliteStore};

fn open(path: &Path) -> Result<SqliteStore, StoreError> {
    mashangban_store_sqlite::open(path, SqliteOptions::default())
}

fn code(result: Result<impl Sized, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Domain(e)) => e.code,
        Err(other) => panic!("not a refusal: {other}"),
        Ok(_) => panic!("accepted"),
    }
}

async fn platform(dir: &Path) -> SqliteStore {
    let store = open(&dir.join("live.db")).unwrap();
    let unit = |i: usize| NewUnit {
        code: format!("u{i}"),
        name: format!("单位{i}"),
        short_name: None,
        kind: UnitKind::Department,
        parent_code: None,
    };
    for i in 0..200 {
        store.upsert_unit(unit(i)).await.unwrap();
    }
    store
}

#[tokio::test]
async fn a_backup_is_checked_and_a_crashed_ones_leftovers_are_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let store = platform(dir.path()).await;
    let dest = dir.path().join("b.db");
    let partial = dir.path().join("b.db.partial");
    // What a backup killed half way leaves: a headerless file and its journal.
    std::fs::write(&partial, vec![0u8; 8192]).unwrap();
    std::fs::write(dir.path().join("b.db.partial-journal"), b"journal").unwrap();
    let outcome = store.database().backup(&dest).await.unwrap();
    assert_eq!(outcome.removed_leftover.as_deref(), Some(partial.as_path()));
    assert!(!partial.exists() && !dir.path().join("b.db.partial-journal").exists());
    let summary = check_copy(&dest).unwrap();
    assert_eq!(summary.units, 200);
    assert!(summary.has_platform_data());
    assert_eq!(code(store.database().backup(&dest).await), codes::BACKUP_EXISTS);

    // A backup still writing holds its lock: a second one to the same name waits its turn.
    let other = dir.path().join("c.db");
    let held = File::create(dir.path().join("c.db.partial")).unwrap();
    held.lock().unwrap();
    assert_eq!(code(store.database().backup(&other).await), codes::BACKUP_IN_PROGRESS);
    assert!(!other.exists());
    drop(held);
    assert_eq!(
        store.database().backup(&other).await.unwrap().removed_leftover.as_deref(),
        Some(dir.path().join("c.db.partial").as_path())
    );
}

#[tokio::test]
async fn files_an_interrupted_copy_leaves_are_refused_at_open_and_left_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let store = platform(dir.path()).await;
    let good = dir.path().join("good.db");
    store.database().backup(&good).await.unwrap();
    let bytes = std::fs::read(&good).unwrap();

    // VACUUM INTO writes page 1 last: a half copy has a zero header, and a journal beside it.
    let half = dir.path().join("half.db");
    let mut content = bytes[..bytes.len() / 2].to_vec();
    content[..4096].fill(0);
    std::fs::write(&half, &content).unwrap();
    std::fs::write(dir.path().join("half.db-journal"), vec![1u8; 512]).unwrap();
    assert_eq!(code(open(&half)), codes::DATABASE_INCOMPLETE);
    assert_eq!(std::fs::metadata(&half).unwrap().len(), content.len() as u64, "not rolled back to nothing");
    assert_eq!(code(check_copy(&half)), codes::DATABASE_INCOMPLETE);
    std::fs::remove_file(dir.path().join("half.db-journal")).unwrap();
    assert_eq!(code(open(&half)), codes::DATABASE_INCOMPLETE, "no header, no journal: still refused");

    // A whole header but the file cut short (a copy that stopped).
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(code(open(&cut)), codes::DATABASE_INCOMPLETE);

    // Another program's database, and ours with a table gone.
    let foreign = dir.path().join("foreign.db");
    rusqlite_batch(&foreign, "CREATE TABLE t (x)");
    assert_eq!(code(open(&foreign)), codes::NOT_A_PLATFORM_DATABASE);
    let damaged = dir.path().join("damaged.db");
    std::fs::copy(&good, &damaged).unwrap();
    rusqlite_batch(&damaged, "PRAGMA foreign_keys = OFF; DROP TABLE knowledge_revisions;");
    assert_eq!(code(open(&damaged)), codes::DATABASE_DAMAGED);

    // The good copy and a brand new file open; an empty platform has no platform data.
    drop(open(&good).unwrap());
    let fresh = dir.path().join("fresh.db");
    drop(open(&fresh).unwrap());
    drop(open(&fresh).unwrap());
    assert!(!check_copy(&fresh).unwrap().has_platform_data());
}

fn rusqlite_batch(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}
