//! `mashangban audit`: anchors kept and exported, then a history rewritten
//! in the database file is found by `audit verify`.

use crate::mashangban;

#[test]
fn verify_names_an_event_rewritten_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = mashangban(&data, &["demo", "--demo-requests", "30", "--demo-outlets", "300"]);
    assert!(ok, "{out}{err}");
    // The anchor is also logged: here as JSON lines (MASHANGBAN_LOG_FORMAT=json) for a log collector.
    let anchored = std::process::Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(["audit", "anchor", "--data-dir"])
        .arg(&data)
        .env_remove("MASHANGBAN_DATABASE_URL")
        .env("MASHANGBAN_LOG", "info")
        .env("MASHANGBAN_LOG_FORMAT", "json")
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&anchored.stdout), String::from_utf8_lossy(&anchored.stderr));
    assert!(anchored.status.success() && out.contains(" sm3="), "{out}{err}");
    let logged = err.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).find(|line| {
        line["fields"]["message"].as_str().is_some_and(|m| m.starts_with("audit anchor") && m.contains(" sm3="))
    });
    assert!(logged.is_some_and(|line| line["level"] == "INFO"), "{err}");
    let (ok, exported, _) = mashangban(&data, &["audit", "anchors"]);
    assert!(ok && exported.lines().count() == 1 && exported.contains(" history_sm3="), "{exported}");
    let kept = dir.path().join("anchors.txt");
    std::fs::write(&kept, &exported).unwrap();
    let kept = kept.to_str().unwrap();
    let (ok, out, err) = mashangban(&data, &["audit", "verify", "--anchors", kept]);
    // 30 from the history and the demo's instructed direct-line items.
    let verified: u32 = out.split("已核验 ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(ok && out.contains("留痕完整") && verified > 30, "{out}{err}");

    // Someone with the file turns off the guard and rewrites who acted.
    let db = rusqlite::Connection::open(data.join("mashangban.db")).unwrap();
    db.execute_batch("DROP TRIGGER events_no_update; UPDATE events SET actor_name = '他人' WHERE id = 3;").unwrap();
    drop(db);
    let (ok, out, err) = mashangban(&data, &["audit", "verify", "--anchors", kept]);
    assert!(
        !ok && out.contains("(row 3) was altered") && out.contains("anchor") && err.contains("留痕被篡改"),
        "{out}{err}"
    );
    // A file without anchors is refused with a reason.
    let (ok, _, err) =
        mashangban(&data, &["audit", "verify", "--anchors", data.join("mashangban.db").to_str().unwrap()]);
    assert!(!ok && err.contains("没有锚点"), "{err}");
}
