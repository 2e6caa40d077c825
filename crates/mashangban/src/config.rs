//! Configuration: flags win over `MASHANGBAN_*` environment variables (both
//! handled by clap), which win over the TOML file, which wins over defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use mashangban_backend::DatabaseUrl;

/// The TOML configuration file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub tracking_prefix: Option<String>,
    /// Database connections: SQLite readers or the PostgreSQL pool size.
    pub database_connections: Option<usize>,
    pub secure_cookies: Option<bool>,
    pub demo_password: Option<String>,
    /// Days the change feed keeps its rows (default 30).
    pub change_retention_days: Option<u32>,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
    /// Notification delivery: `[notify]`, `[notify.sms]`, `[notify.smtp]` (see docs/notifications.md).
    pub notify: Option<mashangban_app::notify::NotifyConfig>,
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

/// The database of a data directory when no URL is given.
pub fn default_database(data_dir: &Path) -> DatabaseUrl {
    DatabaseUrl::Sqlite(data_dir.join("mashangban.db"))
}
