//! Configuration: flags win over `MASHANGBAN_*` environment variables (both
//! handled by clap), which win over the TOML file, which wins over defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use mashangban_domain::personal_data::{Keyring, PersonalDataKey};

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
    /// Days the staff inbox keeps an entry after it was read (default 180).
    pub inbox_retention_days: Option<u32>,
    /// The weight of 按时完成任务率 (command-centre tasks done on time) in the units' composite score,
    /// beside the request rates' 100 (default 0: not scored; see docs/scoring.md).
    pub task_on_time_weight: Option<u32>,
    /// Refused returns (驳回退回) of one direct-line item after which its unit may no longer return it
    /// (default 2; see docs/direct-line.md).
    pub direct_line_return_refusals: Option<u32>,
    /// Requests the public progress look-ups keep in memory (default 10,000; 0 keeps none; see
    /// docs/deployment.md).
    pub lookup_cache_entries: Option<usize>,
    /// How hard dynamic answers are compressed: 1 to 9 (default 4), 0 for not at all (see
    /// docs/deployment.md).
    pub compression_level: Option<u8>,
    /// The hotline printed on contact cards (default 12345).
    pub hotline: Option<String>,
    /// The file holding the key of contact cards' links (default `DATA_DIR/card-secret.key`).
    pub card_secret_file: Option<PathBuf>,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,
    /// Client addresses besides loopback that may read `/metrics` (Prometheus).
    pub metrics_allow: Option<Vec<std::net::IpAddr>>,
    /// Free MiB under the data directory below which `/readyz` answers 503 (default 512).
    pub min_free_disk_mb: Option<u64>,
    /// Where the HJ 212 receiver for online monitoring devices listens, e.g. `0.0.0.0:9212`;
    /// off when absent (see docs/monitoring.md).
    pub hj212_listen: Option<String>,
    /// Notification delivery: `[notify]`, `[notify.sms]`, `[notify.smtp]` (see docs/notifications.md).
    pub notify: Option<mashangban_app::notify::NotifyConfig>,
    /// Working days allowed per stage of an enforcement case: `[enforcement_stage_days]` with `filed`,
    /// `investigating`, `notified`, `decided`, `executing`, each 1–365 (see docs/monitoring.md).
    pub enforcement_stage_days: Option<mashangban_domain::enforcement::StageLimits>,
    /// The keys of personal data at rest: `[personal_data]` (see docs/personal-data.md).
    pub personal_data: Option<PersonalDataConfig>,
}

/// `[personal_data]`: the key that encrypts the askers' contact details (SM4-GCM), never stored in
/// the database.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataConfig {
    /// The current key, `<id>:<32 hex digits>` (`mashangban keys generate` prints one).
    pub key: Option<String>,
    /// The file holding the current key when `key` is absent (default `DATA_DIR/personal-data.key`,
    /// created on first start).
    pub key_file: Option<PathBuf>,
    /// Keys still read during a rotation (values written under them are re-encrypted by
    /// `mashangban keys rotate`).
    pub previous_keys: Option<Vec<String>>,
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

/// The key contact cards' links are signed with, kept outside the database:
/// `MASHANGBAN_CARD_SECRET` (at least 32 characters; every node of a cluster
/// sets the same), else the key file (`card_secret_file`, default
/// `DATA_DIR/card-secret.key`), created with 256 random bits, readable by its
/// owner only, on first start.
pub fn card_secret(data_dir: &Path, file: &FileConfig) -> Result<mashangban_app::CardSecret, String> {
    if let Ok(secret) = std::env::var("MASHANGBAN_CARD_SECRET") {
        if secret.trim().len() < 32 {
            return Err("MASHANGBAN_CARD_SECRET 太短：联系卡密钥至少 32 个字符".into());
        }
        return Ok(mashangban_app::CardSecret(secret.trim().as_bytes().to_vec()));
    }
    let path = file.card_secret_file.clone().unwrap_or_else(|| data_dir.join("card-secret.key"));
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => Ok(mashangban_app::CardSecret(text.trim().as_bytes().to_vec())),
        Ok(_) => Err(format!("联系卡密钥文件 {} 内容太短（至少 32 个字符）", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = mashangban_app::accounts::random_secret();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("无法创建目录 {}: {e}", parent.display()))?;
            }
            write_private(&path, &secret).map_err(|e| format!("无法写入联系卡密钥文件 {}: {e}", path.display()))?;
            Ok(mashangban_app::CardSecret(secret.into_bytes()))
        }
        Err(e) => Err(format!("无法读取联系卡密钥文件 {}: {e}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The key ring of personal data at rest, kept outside the database: the current key from
/// `MASHANGBAN_PERSONAL_DATA_KEY`, else `[personal_data] key`, else the key file (`key_file`, default
/// `DATA_DIR/personal-data.key`), created with a random 128-bit key and a random id, readable by its
/// owner only, on first start (every node of a cluster must set the same key: configure it); the
/// previous keys of a rotation from `MASHANGBAN_PERSONAL_DATA_PREVIOUS_KEYS` (comma-separated) or
/// `previous_keys`.
pub fn personal_data_keys(data_dir: &Path, file: &FileConfig) -> Result<Keyring, String> {
    let section = file.personal_data.clone().unwrap_or_default();
    let parse = |text: &str, origin: &str| PersonalDataKey::parse(text).map_err(|e| format!("{origin}: {e}"));
    let current = if let Ok(text) = std::env::var("MASHANGBAN_PERSONAL_DATA_KEY") {
        parse(&text, "MASHANGBAN_PERSONAL_DATA_KEY")?
    } else if let Some(text) = &section.key {
        parse(text, "配置文件 [personal_data] key")?
    } else {
        let path = section.key_file.clone().unwrap_or_else(|| data_dir.join("personal-data.key"));
        match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text, &format!("个人信息密钥文件 {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A random id: nodes that each made their own key are told apart, never confused.
                let id = format!("k{}", &mashangban_app::accounts::random_secret()[..8]);
                let key = PersonalDataKey::generate(&id).map_err(|e| e.to_string())?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| format!("无法创建目录 {}: {e}", parent.display()))?;
                }
                write_private(&path, &format!("{}\n", key.to_config_text()))
                    .map_err(|e| format!("无法写入个人信息密钥文件 {}: {e}", path.display()))?;
                key
            }
            Err(e) => return Err(format!("无法读取个人信息密钥文件 {}: {e}", path.display())),
        }
    };
    let previous = match std::env::var("MASHANGBAN_PERSONAL_DATA_PREVIOUS_KEYS") {
        Ok(list) => list
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(|t| parse(t, "MASHANGBAN_PERSONAL_DATA_PREVIOUS_KEYS"))
            .collect::<Result<Vec<_>, _>>()?,
        Err(_) => section
            .previous_keys
            .iter()
            .flatten()
            .map(|t| parse(t, "配置文件 [personal_data] previous_keys"))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Keyring::new(current, previous).map_err(|e| e.to_string())
}
