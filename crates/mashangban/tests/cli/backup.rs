//! The reproduction of issue 18's first finding: `kill -9` during a backup
//! left a partial file under the final name, and starting on it restored an
//! empty platform without a word. Now nothing appears under the final name,
//! a half file is refused at start and by `restore`, and a rerun clears up.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mashangban;

/// Runs a command that must end by itself within `limit` (a server that
/// starts instead of refusing would not); answers (exit code, stdout, stderr).
fn run_bounded(args: &[&str], limit: Duration) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(args)
        .env_remove("MASHANGBAN_DATABASE_URL")
        .env("MASHANGBAN_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("`mashangban {}` was still running after {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Starts a backup and kills it (-9) once it has written `bytes` of its copy.
fn backup_killed_midway(data: &Path, dest: &Path, partial: &Path, bytes: u64) -> bool {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(["backup", dest.to_str().unwrap(), "--data-dir", data.to_str().unwrap()])
        .env("MASHANGBAN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while size(partial) < bytes && started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return false; // finished before it could be interrupted
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

#[test]
fn kill_9_during_a_backup_leaves_no_file_under_its_name_and_a_half_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = mashangban(
        &data,
        &["demo", "--demo-requests", "20", "--demo-outlets", "300", "--demo-password", "demo-secret-1"],
    );
    assert!(ok, "{out}{err}");
    // Make the copy take long enough to interrupt: 60 MB the backup must copy.
    let conn = rusqlite::Connection::open(data.join("mashangban.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE ballast (b BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
         INSERT INTO ballast SELECT randomblob(1000000) FROM n;",
    )
    .unwrap();
    drop(conn);

    let dest = dir.path().join("b.db");
    let partial = dir.path().join("b.db.partial");
    assert!((0..3).any(|_| backup_killed_midway(&data, &dest, &partial, 4 << 20)), "the backup was interrupted");
    assert!(!dest.exists(), "nothing under the final name");
    assert!(size(&partial) >= 4 << 20, "the half copy is under the temporary name");

    // The reproduction: the half copy (and its journal) under a database name.
    let half = dir.path().join("half.db");
    std::fs::copy(&partial, &half).unwrap();
    let journal = dir.path().join("b.db.partial-journal");
    if journal.exists() {
        std::fs::copy(&journal, dir.path().join("half.db-journal")).unwrap();
    }
    let half_url = format!("sqlite://{}", half.display());
    let data_dir = dir.path().join("data").display().to_string();
    let before = size(&half);
    let (code, _, err) = run_bounded(
        &["serve", "--listen", "127.0.0.1:0", "--database-url", &half_url, "--data-dir", &data_dir],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "refused at start: {err}");
    assert!(err.contains("database_incomplete") && err.contains("mashangban restore"), "{err}");
    assert_eq!(size(&half), before, "the file is left as it was, not rolled back to an empty one");
    let _ = std::fs::remove_file(dir.path().join("half.db-journal"));
    let (code, _, err) = run_bounded(
        &["serve", "--listen", "127.0.0.1:0", "--database-url", &half_url, "--data-dir", &data_dir],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(1), "refused without its journal too: {err}");
    let restored = dir.path().join("restored");
    let (ok, _, err) = mashangban(&restored, &["restore", half.to_str().unwrap()]);
    assert!(!ok && err.contains("database_incomplete"), "{err}");
    assert!(!restored.join("mashangban.db").exists(), "nothing put in place");
    std::fs::remove_file(&half).unwrap();

    // A rerun says what it cleared and writes a checked copy.
    let (ok, out, err) = mashangban(&data, &["backup", dest.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("已删除上次中断的备份留下的临时文件") && out.contains("已通过完整性检查"), "{out}");
    assert!(dest.exists() && !partial.exists() && !journal.exists());

    // Restore puts it in place, once; the personal data reads back only with the key, never in a backup.
    let (ok, out, err) = mashangban(&restored, &["restore", dest.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("已恢复到") && out.contains("件诉求") && out.contains("personal-data.key"), "{out}");
    let (ok, _, err) = mashangban(&restored, &["user", "list"]);
    assert!(!ok && err.contains("个人信息"), "the accounts' phones are unreadable without the key: {err}");
    std::fs::copy(data.join("personal-data.key"), restored.join("personal-data.key")).unwrap();
    let (ok, out, err) = mashangban(&restored, &["user", "list"]);
    assert!(ok && out.contains("dispatcher"), "with the key, the platform is there: {out}{err}");
    let (ok, _, err) = mashangban(&restored, &["restore", dest.to_str().unwrap()]);
    assert!(!ok && err.contains("已有数据库"), "never over an existing database: {err}");

    // A copy cut short is refused wherever it is used.
    let cut = dir.path().join("cut.db");
    let bytes = std::fs::read(&dest).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, _, err) = mashangban(&data, &["user", "list", "--database-url", &format!("sqlite://{}", cut.display())]);
    assert!(!ok && err.contains("被截断"), "{err}");

    // A backup of a platform that never held anything is not restored.
    let empty = dir.path().join("empty");
    let (ok, _, err) = mashangban(&empty, &["user", "list"]);
    assert!(ok, "{err}");
    let (ok, _, err) = mashangban(&empty, &["backup", dir.path().join("empty.db").to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, _, err) =
        mashangban(&dir.path().join("elsewhere"), &["restore", dir.path().join("empty.db").to_str().unwrap()]);
    assert!(!ok && err.contains("没有任何平台数据"), "{err}");
}
