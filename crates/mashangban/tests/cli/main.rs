//! The binary as an operator uses it: demo, user, token, backup, and serve.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The personal data key of nodes that share a database (each has a data directory of its own).
const SHARED_KEY_CONFIG: &str = "[personal_data]\nkey = \"nodes:00112233445566778899aabbccddeeff\"\n";

fn mashangban(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MASHANGBAN_DATABASE_URL")
        .env("MASHANGBAN_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_users_tokens_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = mashangban(
        &data,
        &["demo", "--demo-requests", "60", "--demo-outlets", "300", "--demo-password", "demo-secret-1"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("dispatcher") && out.contains("enterprise") && out.contains("仅供演示"), "{out}");
    assert!(out.contains("已生成 60 件历史诉求"), "{out}");
    // Idempotent: a second run creates nothing new.
    let (ok, out, _) = mashangban(&data, &["demo", "--demo-requests", "60", "--demo-outlets", "300"]);
    assert!(ok);
    assert!(out.contains("未重复生成") && out.contains("已存在"), "{out}");

    let (ok, out, err) = mashangban(
        &data,
        &["user", "add", "wangfang", "--role", "dispatcher", "--unit", "zwfw-12345", "--password", "a-long-password"],
    );
    assert!(ok, "{out}{err}");
    let (ok, _, err) = mashangban(
        &data,
        &["user", "add", "wangfang", "--role", "dispatcher", "--unit", "zwfw-12345", "--password", "a-long-password"],
    );
    assert!(!ok && err.contains("已被使用"), "{err}");
    let (ok, _, err) =
        mashangban(&data, &["user", "add", "x", "--role", "wizard", "--unit", "city", "--password", "a-long-password"]);
    assert!(!ok && err.contains("角色"), "{err}");
    let (ok, _, _) = mashangban(&data, &["user", "disable", "wangfang"]);
    assert!(ok);
    let (ok, out, _) = mashangban(&data, &["user", "list"]);
    assert!(ok && out.contains("wangfang") && out.contains("停用"), "{out}");

    let (ok, out, err) =
        mashangban(&data, &["token", "create", "--name", "粤商通", "--role", "operator", "--unit", "zwfw-12345"]);
    assert!(ok, "{err}");
    let secret = out.lines().find(|l| l.starts_with("msb_")).unwrap().to_owned();
    assert_eq!(secret.len(), 4 + 64);
    let (ok, _, _) = mashangban(&data, &["token", "revoke", "1"]);
    assert!(ok);
    // The admin API's checks: a revoked token, a staff role without a unit, an account's role.
    let (ok, _, err) = mashangban(&data, &["token", "revoke", "1"]);
    assert!(!ok && err.contains("令牌 1 已吊销"), "{err}");
    let (ok, _, err) = mashangban(&data, &["token", "create", "--name", "无单位", "--role", "dispatcher"]);
    assert!(!ok && err.contains("工作人员必须属于一个单位"), "{err}");
    let (ok, _, err) = mashangban(&data, &["token", "create", "--name", "群众", "--role", "resident"]);
    assert!(!ok && err.contains("接口令牌只能绑定工作人员角色"), "{err}");
    let (ok, out, _) = mashangban(&data, &["token", "list"]);
    assert!(ok && out.contains("已吊销"), "{out}");
    let (ok, out, _) = mashangban(&data, &["token", "history", "1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(ok && lines.len() == 2, "{out}");
    assert!(lines[0].contains("命令行") && lines[0].contains("创建令牌") && lines[0].contains("名称：粤商通"), "{out}");
    assert!(lines[1].contains("吊销令牌") && !out.contains(&secret), "{out}");
    let (ok, _, err) = mashangban(&data, &["token", "history", "99"]);
    assert!(!ok && err.contains("没有编号为 99 的令牌"), "{err}");

    let backup = dir.path().join("backup.db");
    let (ok, out, err) = mashangban(&data, &["backup", backup.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(backup.metadata().unwrap().len() > 100_000);
    // The copy is a working platform: list its users.
    let url = format!("sqlite://{}", backup.display());
    let (ok, out, _) = mashangban(&data, &["user", "list", "--database-url", &url]);
    assert!(ok && out.contains("wangfang"), "{out}");

    // A PostgreSQL database that does not exist: a clear message, not a panic.
    let missing = "postgres://postgres@127.0.0.1:5432/mashangban_no_such_database";
    let (ok, _, err) = mashangban(&data, &["user", "list", "--database-url", missing]);
    assert!(!ok && err.contains("无法打开数据库") && err.contains("does not exist"), "{err}");
    let (ok, _, err) = mashangban(&data, &["user", "list", "--database-url", "mysql://localhost/x"]);
    assert!(!ok && err.contains("不支持的数据库地址"), "{err}");
}

#[test]
fn serve_answers_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--demo-requests",
            "20",
            "--demo-outlets",
            "300",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("MASHANGBAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("马上办已启动: http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let units: serde_json::Value =
            reqwest::get(format!("http://{address}/api/v1/units")).await.unwrap().json().await.unwrap();
        assert!(units.as_array().unwrap().len() > 50);
        let res = reqwest::Client::new()
            .post(format!("http://{address}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": "leader", "password": "mashangban-demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    });
    // An asker watching the live progress page keeps its stream open; stopping must not wait for it.
    let stream = rt.block_on(async {
        let intake = serde_json::json!({
            "kind": "consultation",
            "asker": { "type": "resident" },
            "contact": { "name": "陈嘉欣", "phone": "13800138000" },
            "title": "咨询营业执照变更",
            "content": "请问变更经营范围需要哪些材料？",
            "category": "biz.change",
            "town": "guzhen",
        });
        let url = format!("http://{address}/api/v1/public/requests");
        let answer: serde_json::Value =
            reqwest::Client::new().post(url).json(&intake).send().await.unwrap().json().await.unwrap();
        let (no, code) = (answer["tracking_no"].as_str().unwrap(), answer["check_code"].as_str().unwrap());
        let events = reqwest::get(format!("http://{address}/track/{no}/events?code={code}")).await.unwrap();
        assert_eq!(events.status(), 200);
        events
    });
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped_by = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > stopped_by {
            child.kill().unwrap();
            panic!("the server did not stop with a live stream open");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    drop(stream);
}

#[test]
fn calendar_import_and_the_calculator() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("2027.toml");
    std::fs::write(
        &file,
        "[[year]]\nyear = 2027\nnotice = \"测试文号\"\n\
         holidays = [ { date = \"2027-01-01\", name = \"元旦\" } ]\n\
         makeup_workdays = [ { date = \"2027-01-09\", name = \"元旦调休上班\" } ]\n",
    )
    .unwrap();
    let (ok, out, err) = mashangban(&data, &["calendar", "import", file.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("2027") && out.contains("已新增"), "{out}");

    // The worked example: received Fri 2026-02-13 10:00, 5 working days.
    let (ok, out, err) =
        mashangban(&data, &["calendar", "add", "--from", "2026-02-13T10:00:00+08:00", "--workdays", "5"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "2026-02-27T17:30:00.000+08:00");
    // The imported year is counted in.
    let (ok, out, err) =
        mashangban(&data, &["calendar", "add", "--from", "2026-12-31T10:00:00+08:00", "--workdays", "1"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "2027-01-04T17:30:00.000+08:00");
    let (ok, out, _) =
        mashangban(&data, &["calendar", "add", "--from", "2026-02-13T16:30:00+08:00", "--workhours", "9"]);
    assert!(ok);
    assert_eq!(out.trim(), "2026-02-24T09:30:00.000+08:00");

    let (ok, out, err) = mashangban(&data, &["calendar", "days", "--from", "2026-02-13", "--to", "2026-02-15"]);
    assert!(ok, "{err}");
    assert!(out.contains("2026-02-14") && out.contains("调休上班日") && out.contains("春节"), "{out}");
    let (ok, out, _) = mashangban(&data, &["calendar", "years"]);
    assert!(
        ok && out.contains("国办发明电〔2025〕7号") && out.contains("测试文号") && out.contains("08:30–12:00"),
        "{out}"
    );

    // Refused input changes nothing and says why.
    std::fs::write(&file, "[[year]]\nyear = 2027\nholidays = [ { date = \"2027-01-09\", name = \"元旦\" } ]\nmakeup_workdays = [ { date = \"2027-01-09\", name = \"调休\" } ]\n").unwrap();
    let (ok, _, err) = mashangban(&data, &["calendar", "import", file.to_str().unwrap()]);
    assert!(!ok && err.contains("既被列为节假日"), "{err}");
    let (ok, _, err) = mashangban(&data, &["calendar", "add", "--from", "2026-02-13T10:00:00+08:00"]);
    assert!(!ok && err.contains("--workdays"), "{err}");
    let (ok, _, err) =
        mashangban(&data, &["calendar", "add", "--from", "2031-02-13T10:00:00+08:00", "--workdays", "1"]);
    assert!(!ok && err.contains("2031"), "{err}");
    let (ok, out, _) =
        mashangban(&data, &["calendar", "add", "--from", "2027-01-08T10:00:00+08:00", "--workdays", "1"]);
    assert!(ok);
    assert_eq!(out.trim(), "2027-01-09T17:30:00.000+08:00", "the make-up Saturday is still there");
}

#[test]
fn calendar_import_refuses_a_far_cell_workbook_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A header and one cell at XFD1048576: once a 512 GiB allocation and an abort.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, title) in ["日期", "类型", "名称"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, title).unwrap();
    }
    sheet.write_string(1_048_575, 16_383, "远").unwrap();
    let file = dir.path().join("far.xlsx");
    std::fs::write(&file, book.save_to_buffer().unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(["calendar", "import"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .env("MASHANGBAN_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "refused with an error, not killed: {err}");
    assert!(err.contains("A1:XFD1048576") && err.contains("too_many_rows"), "{err}");
    let (ok, out, err) = mashangban(&data, &["calendar", "years"]);
    assert!(ok && !out.contains("2027"), "{out}{err}");
}

mod audit;
mod backup;
mod crash;
mod dispatch;
mod keys;
mod nodes;

#[test]
fn serve_refuses_a_compression_level_above_9_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mashangban.toml");
    std::fs::write(&config, "compression_level = 10\n").unwrap();
    let args = ["serve", "--listen", "127.0.0.1:0", "--config", config.to_str().unwrap()];
    let (ok, out, err) = mashangban(&dir.path().join("data"), &args);
    assert!(!ok, "{out}{err}");
    assert!(err.contains("compression_level 应为 0 到 9（0 为不压缩），现为 10"), "{err}");
}
