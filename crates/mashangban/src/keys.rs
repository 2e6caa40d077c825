//! `mashangban keys ...`: the keys of personal data at rest (SM4-GCM, see
//! docs/personal-data.md): print a new key, re-encrypt under the current key
//! (rotation), and how many rows per table are not yet under it.

use clap::Subcommand;

use mashangban_backend::Backend;
use mashangban_domain::personal_data::PersonalDataKey;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print a new random key, `<id>:<32 hex digits>`, for `[personal_data] key` or
    /// MASHANGBAN_PERSONAL_DATA_KEY (nothing is stored).
    Generate {
        /// The key's id (1–16 letters, digits or -), stored with every value it encrypts.
        #[arg(long)]
        id: String,
    },
    /// Re-encrypt every table's personal data under the current key (configure the new key as
    /// `key` and the old one in `previous_keys` first). Commits batch by batch; rerun after an
    /// interruption to resume. The server may keep running.
    Rotate {
        /// Rows per committed batch.
        #[arg(long, default_value_t = 500)]
        batch: u32,
    },
    /// The current key's id and how many rows, per table, still hold plain text or an older key's values.
    Status,
}

/// `keys generate`: needs no database nor configured key.
pub fn run_generate(id: &str) -> Result<(), String> {
    let key = PersonalDataKey::generate(id).map_err(|e| e.to_string())?;
    println!("{}", key.to_config_text());
    Ok(())
}

pub async fn run(store: &Backend, command: KeysCommand, current_id: &str) -> Result<(), String> {
    match command {
        KeysCommand::Generate { id } => run_generate(&id),
        KeysCommand::Rotate { batch } => {
            let rewritten = reencrypt(store, batch.max(1), true).await?;
            println!("完成：{rewritten} 条记录的个人信息已改用密钥 {current_id} 加密。");
            Ok(())
        }
        KeysCommand::Status => {
            let pending = store.personal_data_pending().await.map_err(|e| e.to_string())?;
            let total: i64 = pending.iter().map(|p| p.rows).sum();
            println!("当前密钥 {current_id}；尚未以其加密的记录 {total} 件。");
            for p in pending {
                println!("  {}: {}", p.table.table, p.rows);
            }
            Ok(())
        }
    }
}

/// Runs the re-encryption sweep to the end, table by table and batch by batch; the rows rewritten.
/// `serve` runs it at start (plain rows from before encryption, or rows of a rotation left unfinished).
pub async fn reencrypt(store: &Backend, batch: u32, progress: bool) -> Result<u64, String> {
    let pending = store.personal_data_pending().await.map_err(|e| format!("无法统计待加密的记录: {e}"))?;
    let total: i64 = pending.iter().map(|p| p.rows).sum();
    if total == 0 {
        return Ok(0);
    }
    let bar = progress.then(|| {
        let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} 件")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut rewritten = 0u64;
    for table in pending.into_iter().filter(|p| p.rows > 0).map(|p| p.table) {
        let mut after = None;
        loop {
            let report = store
                .reencrypt_personal_data(table, after, batch)
                .await
                .map_err(|e| format!("重新加密 {} 失败: {e}", table.table))?;
            rewritten += report.rows_rewritten;
            after = report.last_key;
            if let Some(bar) = &bar {
                bar.inc(report.rows_rewritten);
            }
            if report.done {
                break;
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(rewritten)
}
