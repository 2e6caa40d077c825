//! `mashangban restore BACKUP`: puts a checked backup in place as the
//! SQLite database, never over an existing one. The backup is copied to
//! `<database>.restoring` beside the target, that copy is checked (it is what
//! will be used), synced, and renamed; a copy an interrupted restore left
//! is removed first.

use std::fs::File;
use std::path::Path;

use mashangban_store::StoreError;
use mashangban_store_sqlite::backup::{check_copy, sync_directory, with_suffix};

use crate::config::DatabaseUrl;

pub fn run(backup: &Path, target: &DatabaseUrl) -> Result<(), String> {
    let DatabaseUrl::Sqlite(target) = target else {
        return Err("PostgreSQL 数据库请用 pg_restore 恢复（见 docs/deployment.md）".into());
    };
    let summary = check_copy(backup).map_err(message)?;
    if !summary.has_platform_data() {
        return Err(format!(
            "{} 里没有任何平台数据（没有单位、账号、诉求，也没有工作日历的记录）：这不是一个用过的平台的备份，已拒绝恢复",
            backup.display()
        ));
    }
    refuse_existing(target)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("无法创建目录 {}: {e}", dir.display()))?;
    }
    let temp = with_suffix(target, ".restoring");
    for leftover in [temp.clone(), with_suffix(&temp, "-journal")] {
        if leftover.exists() {
            std::fs::remove_file(&leftover).map_err(|e| format!("无法删除 {}: {e}", leftover.display()))?;
            println!("已删除上次中断的恢复留下的临时文件 {}", leftover.display());
        }
    }
    let installed = install(backup, &temp, target);
    if installed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    installed?;
    println!(
        "已恢复到 {}：{} 个单位、{} 个账号、{} 件诉求（结构版本 {}，已通过完整性检查）。现在可以启动服务。",
        target.display(),
        summary.units,
        summary.users,
        summary.requests,
        summary.schema_version
    );
    println!(
        "个人信息（联系人、电话、邮箱）以密钥加密，密钥不在备份里：启动前请把原数据目录的 personal-data.key \
         （或原配置的 [personal_data] key）放到本机，否则这些信息无法读取（见 docs/personal-data.md）。"
    );
    Ok(())
}

/// A database (or what SQLite keeps beside one) already at the target is never replaced.
fn refuse_existing(target: &Path) -> Result<(), String> {
    let beside = ["", "-wal", "-shm", "-journal"].map(|s| with_suffix(target, s));
    if beside.iter().any(|p| p.exists()) {
        return Err(format!(
            "{0} 已有数据库：请先停止服务，把 {0}（连同同名的 -wal、-shm 文件）移到别处，再恢复",
            target.display()
        ));
    }
    Ok(())
}

/// Copies to `temp`, checks and syncs that copy, then renames it to `target`.
fn install(backup: &Path, temp: &Path, target: &Path) -> Result<(), String> {
    std::fs::copy(backup, temp).map_err(|e| format!("无法复制到 {}: {e}", temp.display()))?;
    File::open(temp).and_then(|f| f.sync_all()).map_err(|e| format!("无法写入 {}: {e}", temp.display()))?;
    check_copy(temp).map_err(message)?;
    refuse_existing(target)?;
    std::fs::rename(temp, target).map_err(|e| format!("无法放到 {}: {e}", target.display()))?;
    sync_directory(target).map_err(message)
}

fn message(e: StoreError) -> String {
    match e {
        StoreError::Domain(e) => format!("{}（{}）", e.message, e.code),
        other => other.to_string(),
    }
}
