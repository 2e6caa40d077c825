//! `mashangban audit ...`: the tamper-evident history (防篡改留痕) from the
//! command line: verify the SM3 chains, keep an anchor now, export anchors.

use std::path::PathBuf;

use clap::Subcommand;

use mashangban_app::{App, Settings, audit};
use mashangban_backend::Backend;
use mashangban_domain::audit::{Anchor, MAX_PROBLEMS};
use mashangban_domain::time::format_instant;
use mashangban_store::AuditStore;

/// Largest anchor file read (a log of years is far smaller once filtered; refuse a wrong file early).
const MAX_ANCHOR_FILE: u64 = 256 * 1024 * 1024;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every SM3 chain (requests, ledger items and the other histories) and check the anchors kept in the
    /// database and in --anchors FILE (a log or an export: every line holding `last_event=… requests=… events=… sm3=…`,
    /// with `histories_before=… history_chains=… history_events=… history_sm3=…` in newer ones).
    /// Exits with an error naming the first altered, deleted or inserted event of each record.
    Verify {
        #[arg(long)]
        anchors: Option<PathBuf>,
    },
    /// Keep an anchor over the settled history now (the server keeps one daily).
    Anchor,
    /// Print the anchors kept in the database, one line each, to keep outside it.
    Anchors,
}

pub async fn run(store: Backend, command: AuditCommand) -> Result<(), String> {
    let app = App::new(store, Settings::default()).await.map_err(|e| e.to_string())?;
    match command {
        AuditCommand::Verify { anchors } => verify(&app, anchors).await,
        AuditCommand::Anchor => match audit::record_anchor(&app).await.map_err(|e| e.to_string())? {
            Some(stored) => {
                println!("at={} {}", format_instant(&stored.at), stored.anchor.to_line());
                Ok(())
            }
            None => {
                println!("没有新的锚点：五分钟前没有新事件，或另一节点正在记录。");
                Ok(())
            }
        },
        AuditCommand::Anchors => {
            for stored in app.store().anchors().await.map_err(|e| e.to_string())? {
                println!("at={} {}", format_instant(&stored.at), stored.anchor.to_line());
            }
            Ok(())
        }
    }
}

async fn verify(app: &App<Backend>, file: Option<PathBuf>) -> Result<(), String> {
    let outside = match &file {
        Some(path) => read_anchors(path)?,
        None => Vec::new(),
    };
    let report = audit::verify(app, outside).await.map_err(|e| e.to_string())?;
    println!("已核验 {} 件诉求的 {} 条留痕，{} 个锚点。", report.requests, report.events, report.anchors_checked);
    let others: Vec<String> = report
        .histories
        .iter()
        .map(|count| format!("{} {} 件 {} 条", count.history.label, count.chains, count.events))
        .collect();
    if !others.is_empty() {
        println!("另核验：{}。", others.join("、"));
    }
    if report.problems.is_empty() {
        println!("留痕完整：没有被修改、删除或插入的记录。");
        return Ok(());
    }
    for problem in &report.problems {
        println!("  {problem}");
    }
    if report.problems.len() == MAX_PROBLEMS {
        println!("  （只列出前 {MAX_PROBLEMS} 处）");
    }
    Err(format!("留痕被篡改：发现 {} 处问题（见上）", report.problems.len()))
}

/// The anchors in a file: every line that holds one.
fn read_anchors(path: &std::path::Path) -> Result<Vec<Anchor>, String> {
    let size = std::fs::metadata(path).map_err(|e| format!("无法读取 {}: {e}", path.display()))?.len();
    if size > MAX_ANCHOR_FILE {
        return Err(format!("{} 太大（{size} 字节）：请先筛出含 sm3= 的行", path.display()));
    }
    let text = std::fs::read(path).map_err(|e| format!("无法读取 {}: {e}", path.display()))?;
    let anchors: Vec<Anchor> = String::from_utf8_lossy(&text).lines().filter_map(Anchor::parse_line).collect();
    if anchors.is_empty() {
        return Err(format!("{} 中没有锚点（形如 last_event=… requests=… events=… sm3=… 的行）", path.display()));
    }
    Ok(anchors)
}
