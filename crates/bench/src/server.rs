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
pub fn serve_child(url: &str, connections: usize) -> BenchResult<()> {
    let url = DatabaseUrl::parse(url)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("server runtime")?;
    rt.block_on(async {
        let options = BackendOptions { connections, ..BackendOptions::default() };
        let store = mashangban_backend::open(&url, options).await.ctx("open the store")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ctx("bind")?;
        let addr = listener.local_addr().ctx("address")?;
        let state = AppState::new(store, web_config(addr)).await.ctx("app state")?;
        let mut out = std::io::stdout();
        writeln!(out, "LISTENING {addr}").ctx("stdout")?;
        out.flush().ctx("stdout")?;
        let stop = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        };
        mashangban_web::serve(listener, state, stop).await.ctx("serve")
    })
}

/// The parent's handle on the child server.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `exe serve` on the database at `url` with `connections` connections.
    pub fn start(exe: &Path, url: &str, connections: usize) -> BenchResult<Self> {
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--database-url")
            .arg(url)
            .arg("--connections")
            .arg(connections.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ctx("start the server process")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).ctx("read the server address")?;
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the server did not start: {line:?}"))?;
        Ok(Self { child, stdin, addr })
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
