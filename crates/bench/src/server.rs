//! The server under test runs as a child process (this binary's `serve`
//! subcommand), so the load generator does not share its runtime and its
//! memory is its own. It stops when its standard input closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use mashangban_backend::{BackendOptions, DatabaseUrl};
use mashangban_web::{AppState, WebConfig};

use crate::{BenchResult, Ctx};

/// Settings with rate limits out of the way: every client is on 127.0.0.1.
pub fn web_config(addr: SocketAddr) -> WebConfig {
    WebConfig {
        public_url: format!("http://{addr}"),
        login_failures_per_15min: 1_000,
        public_intakes_per_hour: u32::MAX,
        lookup_failures_per_hour: u32::MAX,
        ..WebConfig::default()
    }
}

/// The child's side: serve the database at `url` (`sqlite://PATH` or
/// `postgres://…`) on 127.0.0.1 (an ephemeral port), print `LISTENING <addr>`,
/// stop at end of standard input. `connections`: SQLite readers or the
/// PostgreSQL pool size.
///
/// With `search_dir` the server also keeps a full-text index there (removed first, so it is built from the
/// requests); it prints `INDEXED <requests> <seconds> <bytes>` once the build is done, before listening.
/// With `hj212` it also runs the HJ 212 receiver of monitoring devices on an ephemeral port and prints
/// `HJ212 <addr>` before listening.
pub fn serve_child(url: &str, connections: usize, search_dir: Option<&Path>, hj212: bool) -> BenchResult<()> {
    let url = DatabaseUrl::parse(url)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("server runtime")?;
    rt.block_on(async {
        let options =
            BackendOptions { connections, personal_data: Some(crate::bench_keys()), ..BackendOptions::default() };
        let store = mashangban_backend::open(&url, options).await.ctx("open the store")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ctx("bind")?;
        let addr = listener.local_addr().ctx("address")?;
        let mut state = AppState::new(store, web_config(addr)).await.ctx("app state")?;
        let mut out = std::io::stdout();
        if let Some(dir) = search_dir {
            let _ = std::fs::remove_dir_all(dir);
            let index = mashangban_search::SearchIndex::open(dir, crate::bench_keys()).ctx("open the search index")?;
            let started = std::time::Instant::now();
            state = state.with_search(index.clone());
            while index.cursor().ctx("search index cursor")?.is_none() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let seconds = started.elapsed().as_secs_f64();
            let bytes = index.disk_bytes().ctx("search index size")?;
            writeln!(out, "INDEXED {} {seconds} {bytes}", index.len()).ctx("stdout")?;
        }
        let (stop_receiver, receiver_stopped) = tokio::sync::watch::channel(false);
        let receiver = if hj212 {
            let devices = tokio::net::TcpListener::bind("127.0.0.1:0").await.ctx("bind the HJ 212 receiver")?;
            writeln!(out, "HJ212 {}", devices.local_addr().ctx("address")?).ctx("stdout")?;
            let config = mashangban_app::monitoring::receiver::ReceiverConfig::default();
            let stats = state.receiver_stats().clone();
            let run =
                mashangban_app::monitoring::receiver::run(state.clone(), devices, config, stats, receiver_stopped);
            Some(tokio::spawn(run))
        } else {
            None
        };
        writeln!(out, "LISTENING {addr}").ctx("stdout")?;
        out.flush().ctx("stdout")?;
        let stop = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        };
        let served = mashangban_web::serve(listener, state, stop).await.ctx("serve");
        let _ = stop_receiver.send(true);
        if let Some(receiver) = receiver {
            let _ = receiver.await;
        }
        served
    })
}

/// The parent's handle on the child server.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
    /// The search index built at start: (requests, seconds, bytes on disk).
    pub indexed: Option<(u64, f64, u64)>,
    /// The HJ 212 receiver's address, when the server runs one.
    pub hj212: Option<SocketAddr>,
}

impl Server {
    /// Starts `exe serve` on the database at `url` with `connections` connections.
    pub fn start(exe: &Path, url: &str, connections: usize, search_dir: Option<&Path>) -> BenchResult<Self> {
        let mut command = Command::new(exe);
        command.arg("serve").arg("--database-url").arg(url).arg("--connections").arg(connections.to_string());
        if let Some(dir) = search_dir {
            command.arg("--search-dir").arg(dir);
        }
        Self::spawn(command)
    }

    /// Starts `exe serve` with the HJ 212 receiver of monitoring devices beside the web server.
    pub fn start_with_receiver(exe: &Path, url: &str, connections: usize) -> BenchResult<Self> {
        let mut command = Command::new(exe);
        command.arg("serve").arg("--database-url").arg(url).arg("--connections").arg(connections.to_string());
        command.arg("--hj212");
        Self::spawn(command)
    }

    /// Runs the child and reads what it prints before `LISTENING <addr>`.
    fn spawn(mut command: Command) -> BenchResult<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ctx("start the server process")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let mut reader = BufReader::new(stdout);
        let (mut indexed, mut hj212) = (None, None);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ctx("read the server address")?;
            let line = line.trim();
            if let Some(figures) = line.strip_prefix("INDEXED ") {
                let f: Vec<&str> = figures.split(' ').collect();
                if let [n, s, b] = f.as_slice() {
                    indexed = Some((n.parse().unwrap_or(0), s.parse().unwrap_or(0.0), b.parse().unwrap_or(0)));
                }
            } else if let Some(addr) = line.strip_prefix("HJ212 ") {
                hj212 = Some(addr.parse().map_err(|_| format!("the receiver's address: {line:?}"))?);
            } else {
                let addr = line
                    .strip_prefix("LISTENING ")
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| format!("the server did not start: {line:?}"))?;
                return Ok(Self { child, stdin, addr, indexed, hj212 });
            }
        }
    }

    /// (VmRSS, VmHWM) of the server process in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        (status_kb(&status, "VmRSS:") * 1024, status_kb(&status, "VmHWM:") * 1024)
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Closes its input (a graceful stop), then kills it if it lingers.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
