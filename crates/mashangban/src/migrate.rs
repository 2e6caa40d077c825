//! `mashangban migrate-data`: copies a whole platform between databases with
//! a progress bar; see `mashangban_backend::copy`.

use indicatif::{ProgressBar, ProgressStyle};

use mashangban_backend::copy::{CopyOptions, CopyProgress, copy_data};
use mashangban_backend::{BackendOptions, DatabaseUrl};

pub async fn run(from: &str, to: &str, batch: usize) -> Result<(), String> {
    let (from, to) = (DatabaseUrl::parse(from)?, DatabaseUrl::parse(to)?);
    if batch == 0 {
        return Err("--batch 须大于 0".into());
    }
    if let DatabaseUrl::Sqlite(path) = &from
        && !path.exists()
    {
        return Err(format!("源数据库 {} 不存在", path.display()));
    }
    // Opening applies each side's migrations, so both are at this program's schema.
    for url in [&from, &to] {
        mashangban_backend::open(url, BackendOptions::default())
            .await
            .map_err(|e| format!("无法打开 {}: {e}", url.redacted()))?;
    }
    println!("从 {} 复制到 {} …", from.redacted(), to.redacted());
    let options = CopyOptions { batch, ..CopyOptions::default() };
    let report = tokio::task::spawn_blocking(move || {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} 行 {msg} (剩余 {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let result = copy_data(&from, &to, &options, &mut |p| match p {
            CopyProgress::Total(n) => bar.set_length(n),
            CopyProgress::Rows(n) => bar.inc(n),
            CopyProgress::Table(t) => bar.set_message(t.to_owned()),
        });
        bar.finish_and_clear();
        result
    })
    .await
    .map_err(|e| e.to_string())??;
    for t in &report.tables {
        println!("  {:<28} {:>10} 行  sha256 {}", t.table, t.rows, &t.sha256[..16]);
    }
    let total: u64 = report.tables.iter().map(|t| t.rows).sum();
    println!(
        "完成：本次写入 {} 行，共 {} 张表 {} 行，两边行数与校验和一致。",
        report.rows_copied,
        report.tables.len(),
        total
    );
    Ok(())
}
