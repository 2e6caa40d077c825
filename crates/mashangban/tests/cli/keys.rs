//! `mashangban keys`: the demo's personal data is encrypted under the key file made on first use, a
//! backup holds ciphertexts only, and a rotation (with a plain row from before encryption among the
//! rows) leaves everything under the new key and the old key unable to read it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::mashangban;

fn with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mashangban"));
    command.args(args).arg("--data-dir").arg(data_dir).env_remove("MASHANGBAN_DATABASE_URL");
    command.env("MASHANGBAN_LOG", "warn").stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn column(db: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn personal_data_is_encrypted_backed_up_encrypted_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = mashangban(&data, &["demo", "--demo-requests", "30", "--demo-outlets", "300"]);
    assert!(ok, "{out}{err}");
    let old_key = std::fs::read_to_string(data.join("personal-data.key")).unwrap().trim().to_owned();
    let old_id = old_key.split(':').next().unwrap().to_owned();
    let db = data.join("mashangban.db");
    let phones = column(&db, "SELECT contact_phone FROM requests");
    assert!(phones.len() > 30);
    assert!(phones.iter().all(|p| p.starts_with(&format!("v1:{old_id}:"))), "{phones:?}");
    let (ok, out, _) = mashangban(&data, &["keys", "status"]);
    assert!(ok && out.contains("0 件"), "{out}");

    // The backup holds ciphertexts only.
    let backup = dir.path().join("b.db");
    let (ok, out, err) = mashangban(&data, &["backup", backup.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let names = column(&backup, "SELECT contact_name FROM requests");
    assert!(names.iter().all(|n| n.starts_with("v1:")), "{names:?}");

    // A row from before encryption.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE requests SET contact_phone = '13900139000', contact_name = '林晓', contact_phone_hash = NULL
         WHERE id = (SELECT MIN(id) FROM requests)",
        [],
    )
    .unwrap();
    drop(conn);
    let (ok, out, _) = mashangban(&data, &["keys", "status"]);
    assert!(ok && out.contains("1 件") && out.contains("requests: 1") && out.contains("users: 0"), "{out}");

    // Rotation to a new key, the old one kept as previous.
    let (ok, new_key, err) = mashangban(&data, &["keys", "generate", "--id", "k2"]);
    assert!(ok && new_key.starts_with("k2:"), "{new_key}{err}");
    let both = [("MASHANGBAN_PERSONAL_DATA_KEY", new_key.trim()), ("MASHANGBAN_PERSONAL_DATA_PREVIOUS_KEYS", &old_key)];
    let (ok, out, err) = with_env(&data, &["keys", "rotate", "--batch", "7"], &both);
    assert!(ok && out.contains("k2"), "{out}{err}");
    for sql in ["SELECT contact_phone FROM requests", "SELECT contact_name FROM requests"] {
        assert!(column(&db, sql).iter().all(|v| v.starts_with("v1:k2:")), "{sql}");
    }
    let (ok, out, _) = with_env(&data, &["keys", "status"], &[("MASHANGBAN_PERSONAL_DATA_KEY", new_key.trim())]);
    assert!(ok && out.contains("当前密钥 k2") && out.contains("0 件"), "{out}");
    // Every table with personal data was rotated, the demo's accounts, enterprises and direct-line items too.
    let tables = [
        "requests",
        "direct_line_items",
        "onsite_requests",
        "enterprises",
        "liaison_cadres",
        "visits",
        "outbox",
        "users",
    ];
    for table in tables {
        assert!(out.contains(&format!("{table}: 0")), "{table}: {out}");
    }
    for sql in [
        "SELECT phone FROM users WHERE phone IS NOT NULL",
        "SELECT phone FROM direct_line_items",
        "SELECT attendees FROM visits",
        "SELECT notes FROM visits WHERE notes IS NOT NULL",
    ] {
        let values = column(&db, sql);
        assert!(!values.is_empty() && values.iter().all(|v| v.starts_with("v1:k2:")), "{sql}: {values:?}");
    }
    // The old key alone (the key file) cannot read the rotated rows: the sweep names the missing key.
    let (ok, out, err) = mashangban(&data, &["keys", "rotate"]);
    assert!(!ok && err.contains("k2"), "{out}{err}");
}
