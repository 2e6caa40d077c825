//! Crash trials (断电试验): `kill -9` of the server under intake and
//! lifecycle load, a restart on the same database, and then every
//! acknowledged intake and action is there and the SM3-sealed history
//! verifies. CI runs a few trials per database; `MASHANGBAN_CRASH_TRIALS=200`
//! runs as many as asked for.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use mashangban_store_postgres::testing::TempDatabase;

use crate::nodes::{Client, Node, complaint};

/// Trials per database: `MASHANGBAN_CRASH_TRIALS`, default 2.
fn trials() -> usize {
    std::env::var("MASHANGBAN_CRASH_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(2)
}

/// What the server acknowledged before it died.
#[derive(Default)]
struct Acknowledged {
    intakes: Vec<String>,
    dispatched: Vec<String>,
}

/// A milliseconds delay that varies between trials without a random-number crate.
fn jitter(trial: usize, from: u64, to: u64) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    Duration::from_millis(from + (nanos / 1000 + trial as u64 * 7919) % (to - from))
}

/// Intakes by the operator and dispatches by the dispatcher, concurrently, until the server dies.
async fn load(operator: Client, dispatcher: Client, acknowledged: Arc<Mutex<Acknowledged>>, trial: usize) {
    let (operator, dispatcher) = (Arc::new(operator), Arc::new(dispatcher));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let (operator, dispatcher, acknowledged) = (operator.clone(), dispatcher.clone(), acknowledged.clone());
        tasks.spawn(async move {
            for n in 0.. {
                let intake = operator
                    .http
                    .post(format!("{}/api/v1/requests", operator.base))
                    .header("cookie", &operator.cookie)
                    .json(&complaint(trial * 100_000 + worker * 10_000 + n))
                    .send()
                    .await;
                let Ok(intake) = intake else { return };
                if intake.status() != 201 {
                    return;
                }
                let Ok(answer) = intake.json::<Value>().await else { return };
                let no = answer["tracking_no"].as_str().unwrap().to_owned();
                acknowledged.lock().unwrap().intakes.push(no.clone());
                let dispatch = dispatcher
                    .http
                    .post(format!("{}/api/v1/requests/{no}/dispatch", dispatcher.base))
                    .header("cookie", &dispatcher.cookie)
                    .json(&json!({ "lead_unit": "scjgj" }))
                    .send()
                    .await;
                match dispatch {
                    Ok(res) if res.status() == 200 => acknowledged.lock().unwrap().dispatched.push(no),
                    _ => return,
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn crash_and_recover(database_url: &str, config: &std::path::Path, trial: usize) -> (usize, usize) {
    let mut node = Node::start(database_url, config);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let (operator, dispatcher) = (Client::login(&node, "operator").await, Client::login(&node, "dispatcher").await);
    let loading = tokio::spawn(load(operator, dispatcher, acknowledged.clone(), trial));
    tokio::time::sleep(jitter(trial, 400, 1500)).await;
    node.kill();
    loading.await.unwrap();

    let node = Node::start(database_url, config);
    let dispatcher = Client::login(&node, "dispatcher").await;
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    for no in &acknowledged.intakes {
        let (status, request) = dispatcher.get(&format!("/api/v1/requests/{no}")).await;
        assert_eq!(status, 200, "trial {trial}: acknowledged intake {no} lost");
        if acknowledged.dispatched.contains(no) {
            assert_ne!(request["state"], "received", "trial {trial}: acknowledged dispatch of {no} lost");
        }
    }
    (acknowledged.intakes.len(), acknowledged.dispatched.len())
}

/// Runs the trials on one database, then verifies its sealed history with `mashangban audit verify`.
async fn trials_on(backend: &str, database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mashangban.toml");
    // Every restart has a data directory of its own, as every node of a cluster: the key is configured.
    std::fs::write(&config, crate::SHARED_KEY_CONFIG).unwrap();
    let demo = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(["demo", "--demo-requests", "0", "--demo-outlets", "300", "--database-url", database_url, "--config"])
        .arg(&config)
        .env("MASHANGBAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let (mut intakes, mut dispatched) = (0, 0);
    for trial in 0..trials() {
        let (i, d) = crash_and_recover(database_url, &config, trial).await;
        intakes += i;
        dispatched += d;
    }
    assert!(intakes > 0 && dispatched > 0, "the load ran: {intakes} intakes, {dispatched} dispatches");
    let verify = Command::new(env!("CARGO_BIN_EXE_mashangban"))
        .args(["audit", "verify", "--database-url", database_url, "--config"])
        .arg(&config)
        .env("MASHANGBAN_LOG", "warn")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && out.contains("留痕完整"), "{out}{}", String::from_utf8_lossy(&verify.stderr));
    println!(
        "{backend}: {} crash trials, {intakes} acknowledged intakes and {dispatched} dispatches, none lost",
        trials()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_to_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    trials_on("SQLite", &format!("sqlite://{}", dir.path().join("crash.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_to_kill_9_on_postgresql() {
    let db = TempDatabase::create().await.unwrap();
    trials_on("PostgreSQL", db.url()).await;
}
