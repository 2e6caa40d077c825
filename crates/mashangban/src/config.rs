//! Configuration: flags win over `MASHANGBAN_*` environment variables (both
//! handled by clap), which win over the TOML file, which wins over defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The TOML configuration file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub tracking_prefix: Option<String>,
    pub secure_cookies: Option<bool>,
    pub demo_password: Option<String>,
    /// Notification delivery: `[notify]`, `[notify.sms]`, `[notify.smtp]` (see docs/notifications.md).
    pub notify: Option<mashangban_web::notify::NotifyConfig>,
}

impl FileConfig {
    /// Reads `path`; a missing file is an error only when it was named explicitly.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let (path, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("mashangban.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("配置文件 {} 有误: {e}", path.display())),
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("无法读取配置文件 {}: {e}", path.display())),
        }
    }
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
}

/// Parses `sqlite://PATH` (or `sqlite:PATH`); PostgreSQL comes with its own backend crate.
pub fn parse_database_url(url: &str) -> Result<Database, String> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() {
            return Err("数据库地址缺少文件路径，例如 sqlite://./data/mashangban.db".into());
        }
        return Ok(Database::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err("此版本尚未包含 PostgreSQL 存储后端；请使用 sqlite://".into());
    }
    Err(format!("不支持的数据库地址「{url}」；应为 sqlite://文件路径"))
}

/// The database of a data directory when no URL is given.
pub fn default_database(data_dir: &Path) -> Database {
    Database::Sqlite(data_dir.join("mashangban.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(parse_database_url("sqlite://./d/x.db"), Ok(Database::Sqlite("./d/x.db".into())));
        assert_eq!(parse_database_url("sqlite:/tmp/x.db"), Ok(Database::Sqlite("/tmp/x.db".into())));
        assert!(parse_database_url("postgres://localhost/x").is_err());
        assert!(parse_database_url("mysql://x").is_err());
        assert!(parse_database_url("sqlite://").is_err());
    }
}
