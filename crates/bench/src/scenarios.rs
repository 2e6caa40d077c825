//! The load generator: a client with keep-alive connections on its own
//! runtime, each scenario bounded by time and by request count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as Clock};

use serde::Serialize;

use crate::{BenchResult, Ctx};

/// Builds the n-th request of a scenario.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

pub struct Scenario {
    pub name: String,
    pub clients: usize,
    pub expect: u16,
    pub make: MakeRequest,
}

/// Throughput and latency of one scenario (or baseline).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    pub name: String,
    pub clients: usize,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU time of the server process per successful request (user + system).
    pub server_cpu_ms: f64,
    /// CPU time of the load generator per successful request.
    pub client_cpu_ms: f64,
    /// CPU time of the database server's processes per successful request
    /// (PostgreSQL; SQLite runs inside the server process).
    #[serde(default)]
    pub database_cpu_ms: f64,
}

impl Measured {
    /// From latencies in microseconds.
    pub fn from_latencies(name: &str, clients: usize, mut micros: Vec<u64>, errors: u64, seconds: f64) -> Self {
        micros.sort_unstable();
        let pct = |p: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((p * micros.len() as f64).ceil() as usize).clamp(1, micros.len()) - 1;
            micros[i] as f64 / 1000.0
        };
        Self {
            name: name.to_owned(),
            clients,
            requests: micros.len() as u64,
            errors,
            seconds,
            per_second: micros.len() as f64 / seconds.max(1e-9),
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
            max_ms: micros.last().map_or(0.0, |&m| m as f64 / 1000.0),
            server_cpu_ms: 0.0,
            client_cpu_ms: 0.0,
            database_cpu_ms: 0.0,
        }
    }
}

pub fn client(max_clients: usize) -> BenchResult<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_clients * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()
        .ctx("HTTP client")
}

/// Runs a scenario: `clients` loops sending until `seconds` pass or `max` requests are sent.
pub async fn run(client: &reqwest::Client, s: &Scenario, seconds: f64, max: u64) -> Measured {
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Clock::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..s.clients {
        let (client, make, sent, errors) =
            (client.clone(), Arc::clone(&s.make), Arc::clone(&sent), Arc::clone(&errors));
        let expect = s.expect;
        tasks.spawn(async move {
            let mut micros = Vec::new();
            loop {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                if n >= max || Clock::now() >= deadline {
                    break;
                }
                let t0 = Clock::now();
                let ok = match make(&client, n).send().await {
                    Ok(resp) => resp.status().as_u16() == expect && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    micros.push(t0.elapsed().as_micros() as u64);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            micros
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    Measured::from_latencies(&s.name, s.clients, all, errors.load(Ordering::Relaxed), seconds)
}

/// Runs each scenario after a warm-up of one request per client, with the CPU per request of the
/// server process `pid`, of the load generator and of the database (`database_cpu`, 0 for SQLite);
/// `bound` is (seconds, requests) per scenario.
pub async fn measure_each(
    client: &reqwest::Client,
    list: &[Scenario],
    bound: (f64, u64),
    pid: &str,
    database_cpu: crate::DatabaseCpu<'_>,
) -> BenchResult<Vec<Measured>> {
    let (seconds, max) = bound;
    let mut out = Vec::new();
    for s in list {
        let warm = run(client, s, seconds, (s.clients as u64).min(max)).await;
        if warm.requests == 0 {
            return Err(format!("scenario {}: no successful request ({} errors)", s.name, warm.errors));
        }
        let (server0, client0, database0) = (cpu_seconds(pid), cpu_seconds("self"), database_cpu());
        let mut m = run(client, s, seconds, max).await;
        let n = m.requests.max(1) as f64;
        m.server_cpu_ms = (cpu_seconds(pid) - server0) * 1000.0 / n;
        m.client_cpu_ms = (cpu_seconds("self") - client0) * 1000.0 / n;
        m.database_cpu_ms = (database_cpu() - database0) * 1000.0 / n;
        out.push(m);
    }
    Ok(out)
}

/// Signs in and returns the `Cookie` header value.
pub async fn login(client: &reqwest::Client, addr: SocketAddr, username: &str, password: &str) -> BenchResult<String> {
    let resp = client
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .ctx("login")?;
    if !resp.status().is_success() {
        return Err(format!("login as {username}: HTTP {}", resp.status()));
    }
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("msb_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("login as {username}: no session cookie"))
}

/// CPU seconds (user + system) of a process from `/proc/<pid>/stat`, at 100 ticks per second.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}
