//! `mashangban` — 马上办, the city request platform in one binary.

mod audit;
mod calendar;
mod config;
mod keys;
mod migrate;
mod restore;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use mashangban_app::accounts as auth;
use mashangban_app::{App, Settings, notify, scheduler};
use mashangban_backend::{Backend, BackendOptions};
use mashangban_domain::duplicates::Thresholds;
use mashangban_domain::org::Role;
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::time;
use mashangban_search::SearchIndex;
use mashangban_store::{NewUser, OrgStore};

use config::FileConfig;

#[derive(Parser)]
#[command(name = "mashangban", version, about = "马上办 — 企业和群众诉求马上办平台 (city request platform)")]
struct Cli {
    /// Configuration file (TOML); default ./mashangban.toml if present.
    #[arg(long, global = true, env = "MASHANGBAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Data directory (default ./data).
    #[arg(long, global = true, env = "MASHANGBAN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL, e.g. sqlite://./data/mashangban.db (default: in the data directory).
    #[arg(long, global = true, env = "MASHANGBAN_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "MASHANGBAN_LISTEN")]
        listen: Option<String>,
        /// The public address for links in answers (default http://LISTEN).
        #[arg(long, env = "MASHANGBAN_PUBLIC_URL")]
        public_url: Option<String>,
        /// Load the demo city first (idempotent).
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        demo_args: DemoArgs,
    },
    /// Load the demo city: organisation, categories, users and a seeded history (idempotent).
    Demo {
        #[command(subcommand)]
        devices: Option<DemoCommand>,
        #[command(flatten)]
        demo_args: DemoArgs,
    },
    /// Manage people's accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens of machine clients.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The work calendar: holidays, make-up days and deadline arithmetic.
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// Write a consistent online copy of the database to FILE (complete and checked, or none).
    Backup { file: PathBuf },
    /// Check a backup (integrity, schema version, platform data) and put it in place as the
    /// database of --data-dir (or --database-url); the server must be stopped.
    Restore { backup: PathBuf },
    /// The full-text search index of this node (under DATA_DIR/search).
    #[command(subcommand)]
    Search(SearchCommand),
    /// The tamper-evident history: verify the SM3 chains of every request's events and the anchors.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Dispatch suggestions (派单建议): measure the model on the city's own history.
    #[command(subcommand)]
    Dispatch(DispatchCommand),
    /// The keys of personal data at rest (SM4): generate, rotate, status.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Copy all data between databases (SQLite ⇄ PostgreSQL), verify it, resume if interrupted.
    MigrateData {
        /// The database to read, e.g. sqlite://./data/mashangban.db
        #[arg(long)]
        from: String,
        /// The database to fill (empty, or a copy this command left unfinished), e.g. postgres://user@host/db
        #[arg(long)]
        to: String,
        /// Rows per committed batch.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the index from every request into a new generation while the old one keeps serving;
    /// a running server switches to it within a second.
    Reindex,
}

#[derive(Subcommand)]
enum DispatchCommand {
    /// Train on the closed requests received before DATE and report top-1 and top-3 accuracy on those
    /// received from DATE on (per unit, and the most confused pairs), beside the catalogue alone; and
    /// the recall and precision of duplicate suggestions on the requests merged since, under the
    /// thresholds and likeness weights in force or the ones given here (tried, not saved).
    Evaluate {
        /// The split: a date (2026-06-30, its start in Asia/Shanghai) or an RFC 3339 time.
        #[arg(long)]
        before: String,
        #[command(flatten)]
        duplicates: DuplicateOverrides,
    },
}

/// Duplicate-detection settings to try in `dispatch evaluate` instead of those in force (not saved).
#[derive(Args, Clone, Default)]
struct DuplicateOverrides {
    /// 疑似重复相似度 (0.1–0.95).
    #[arg(long)]
    similarity: Option<f64>,
    /// 比对时间窗 in days (1–90).
    #[arg(long)]
    window_days: Option<u32>,
    /// 相同诉求人加分 (0–0.5).
    #[arg(long)]
    same_asker: Option<f64>,
    /// 相同地址加分 (0–0.5).
    #[arg(long)]
    same_place: Option<f64>,
    /// 同类别同镇街加分 (0–0.5).
    #[arg(long)]
    same_category_and_town: Option<f64>,
}

impl DuplicateOverrides {
    /// The thresholds in force with these in their place, checked as the admin page checks them.
    fn over(&self, mut t: Thresholds) -> Result<Thresholds, String> {
        t.similarity = self.similarity.unwrap_or(t.similarity);
        t.window_days = self.window_days.unwrap_or(t.window_days);
        t.weights.same_asker = self.same_asker.unwrap_or(t.weights.same_asker);
        t.weights.same_place = self.same_place.unwrap_or(t.weights.same_place);
        t.weights.same_category_and_town = self.same_category_and_town.unwrap_or(t.weights.same_category_and_town);
        t.checked().map_err(|e| e.message)
    }

    fn any(&self) -> bool {
        self.similarity.is_some()
            || self.window_days.is_some()
            || self.same_asker.is_some()
            || self.same_place.is_some()
            || self.same_category_and_town.is_some()
    }
}

#[derive(Args, Clone)]
struct DemoArgs {
    /// Password of every demo user.
    #[arg(long, env = "MASHANGBAN_DEMO_PASSWORD")]
    demo_password: Option<String>,
    /// Number of historical requests to generate (0: a city without requests, so without the
    /// direct-line items either, which become requests).
    #[arg(long, default_value_t = 5000)]
    demo_requests: usize,
    /// Seed of the history generator.
    #[arg(long, default_value_t = 12345)]
    demo_seed: u64,
    /// Number of outlets into rivers (入河排污口) in the water command centre's ledger: the report's
    /// "over 40,000" by default.
    #[arg(long, default_value_t = mashangban_demo::DEMO_OUTLETS)]
    demo_outlets: u32,
    /// A directory with org.toml, categories.toml and requests.toml replacing the bundled demo city.
    #[arg(long)]
    demo_data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Simulate the demo park's monitoring devices: each connects to the HJ 212 receiver and sends minute data.
    Devices {
        /// How many devices (the demo park has 60).
        #[arg(long, default_value_t = 60)]
        count: usize,
        /// The HJ 212 receiver (`hj212_listen` of the server).
        #[arg(long, default_value = "127.0.0.1:9212")]
        addr: String,
        /// Seconds between two packets of one device.
        #[arg(long, default_value_t = 60)]
        interval: u64,
        /// Packets per device (runs until stopped when absent).
        #[arg(long)]
        rounds: Option<u64>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from --password, MASHANGBAN_PASSWORD or standard input.
    Add {
        username: String,
        /// operator, dispatcher, handler, unit_leader, supervisor, city_leader, admin, enterprise, resident
        #[arg(long)]
        role: String,
        /// Unit code (staff only), e.g. scjgj.
        #[arg(long)]
        unit: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Unified Social Credit Code (enterprise accounts).
        #[arg(long)]
        credit_code: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, env = "MASHANGBAN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password (ends the user's sessions).
    Passwd {
        username: String,
        #[arg(long, env = "MASHANGBAN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Disable an account (ends its sessions).
    Disable { username: String },
    /// Re-enable a disabled account.
    Enable { username: String },
    /// List accounts.
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token bound to a role and unit; prints the secret once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
    /// List tokens (never their secrets).
    List,
    /// A token's history (接口令牌变更记录): who created or revoked it and when.
    History { id: i64 },
}

const DEFAULT_DEMO_PASSWORD: &str = "mashangban-demo";

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误: 无法启动运行时: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("错误: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error, filtered by `MASHANGBAN_LOG` (default `info,tower_http=warn`), as text or, with
/// `MASHANGBAN_LOG_FORMAT=json`, one JSON object per line for a log collector.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MASHANGBAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match std::env::var("MASHANGBAN_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            logs.init();
            tracing::warn!("MASHANGBAN_LOG_FORMAT={other:?} is neither text nor json; logging as text");
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let file = FileConfig::load(cli.config.as_deref())?;
    if let Command::MigrateData { from, to, batch } = &cli.command {
        return migrate::run(from, to, *batch).await;
    }
    if let Command::Demo { devices: Some(DemoCommand::Devices { count, addr, interval, rounds }), .. } = &cli.command {
        return simulate_devices(addr, *count, *interval, *rounds).await;
    }
    if let Command::Restore { backup } = &cli.command {
        return restore::run(backup, &database_url(&cli.db, &file)?);
    }
    if let Command::Keys(keys::KeysCommand::Generate { id }) = &cli.command {
        return keys::run_generate(id);
    }
    let personal_data = config::personal_data_keys(&data_dir(&cli.db, &file), &file)?;
    let current_key = personal_data.current().id().to_owned();
    let search_keys = personal_data.clone();
    let store = open_store(&cli.db, &file, personal_data).await?;
    match cli.command {
        Command::Serve { listen, public_url, demo, demo_args } => {
            if demo {
                load_demo(&store, &demo_args, &file).await?;
            }
            let listen = listen.or(file.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
            let public_url = public_url.or(file.public_url.clone()).unwrap_or_else(|| format!("http://{listen}"));
            let data_dir = data_dir(&cli.db, &file);
            let card_secret = config::card_secret(&data_dir, &file)?;
            let sealed = keys::reencrypt(&store, 500, false).await?;
            if sealed > 0 {
                println!("已将 {sealed} 条记录的个人信息以密钥 {current_key} 加密。");
            }
            let search = open_search(&data_dir, search_keys)?;
            serve(store, &listen, public_url, &file, &data_dir, search, card_secret).await
        }
        Command::Search(SearchCommand::Reindex) => {
            reindex(store, open_search(&data_dir(&cli.db, &file), search_keys)?).await
        }
        Command::Demo { demo_args, .. } => load_demo(&store, &demo_args, &file).await,
        Command::User(command) => user_command(&store, command).await,
        Command::Token(command) => token_command(store, command).await,
        Command::Calendar(command) => calendar::run(&store, command).await,
        Command::Audit(command) => audit::run(store, command).await,
        Command::Dispatch(DispatchCommand::Evaluate { before, duplicates }) => {
            evaluate_dispatch(store, &before, &duplicates).await
        }
        Command::MigrateData { .. } | Command::Restore { .. } => Ok(()),
        Command::Backup { file } => backup(&store, &file).await,
        Command::Keys(command) => keys::run(&store, command, &current_key).await,
    }
}

/// `mashangban demo devices`: runs the simulated devices and prints what they sent and heard back.
async fn simulate_devices(addr: &str, count: usize, interval: u64, rounds: Option<u64>) -> Result<(), String> {
    println!("模拟 {count} 台监测设备，连接 {addr}，每 {interval} 秒发送一次分钟数据（HJ 212 CN 2051）。");
    let run = mashangban_demo::DeviceRun {
        addr: addr.to_owned(),
        count,
        interval: std::time::Duration::from_secs(interval),
        rounds,
        exceedance_chance: 0.01,
        fault_chance: 0.005,
    };
    let tally = mashangban_demo::run_devices(run).await.map_err(|e| e.to_string())?;
    println!(
        "已发送 {} 包，收到应答 {} 包；其中超标 {} 包，设备故障标记 {} 包。",
        tally.sent, tally.answered, tally.exceedances, tally.faults
    );
    Ok(())
}

async fn backup(store: &Backend, file: &std::path::Path) -> Result<(), String> {
    let sqlite = mashangban_backend::as_sqlite(store)
        .ok_or("PostgreSQL 数据库请用 pg_dump 或持续归档备份（见 docs/deployment.md）")?;
    let outcome = sqlite.backup(file).await.map_err(|e| e.to_string())?;
    if let Some(leftover) = &outcome.removed_leftover {
        println!("已删除上次中断的备份留下的临时文件 {}", leftover.display());
    }
    println!(
        "已备份到 {}（{} 字节，已通过完整性检查）。恢复：停止服务后运行 `mashangban restore {} --data-dir 数据目录`",
        file.display(),
        outcome.bytes,
        file.display()
    );
    Ok(())
}

/// The data directory the flags, environment or configuration file name (default ./data).
fn data_dir(db: &DbArgs, file: &FileConfig) -> PathBuf {
    db.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("data"))
}

/// This node's search index: under the data directory, one per node (PostgreSQL nodes each keep their
/// own), names and phones hashed under the keys of personal data.
fn open_search(data_dir: &std::path::Path, keys: Keyring) -> Result<SearchIndex, String> {
    let root = data_dir.join("search");
    SearchIndex::open(&root, keys).map_err(|e| format!("无法打开全文索引 {}: {e}", root.display()))
}

/// `mashangban search reindex`: rebuilds the index beside the one in service, with a progress bar.
async fn reindex(store: Backend, index: SearchIndex) -> Result<(), String> {
    let app = App::new(store, Settings::default()).await.map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("重建全文索引 {bar:40} {pos}/{len}（约） {per_sec} {elapsed}")
    {
        bar.set_style(style);
    }
    let started = std::time::Instant::now();
    let done = mashangban_app::search::rebuild(&app, &index, &|done, about| {
        bar.set_length(about);
        bar.set_position(done);
    })
    .await
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "已重建全文索引：{done} 件诉求，用时 {:.1} 秒。运行中的服务一秒内切换到新索引并删除旧索引；未运行时下次启动切换。",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `mashangban dispatch evaluate --before DATE [--similarity X --same-asker X ...]`.
async fn evaluate_dispatch(store: Backend, before: &str, overrides: &DuplicateOverrides) -> Result<(), String> {
    let app = App::new(store, Settings::default()).await.map_err(|e| e.to_string())?;
    let before = mashangban_app::input::parse_time_param("before", before).map_err(|e| e.message)?;
    let duplicates = overrides.over(app.duplicates().thresholds())?;
    let started = std::time::Instant::now();
    let e = app.dispatch().evaluate_with(before, &duplicates).await.map_err(|e| e.message)?;
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    println!(
        "派单建议评估：{} 之前的 {} 件训练，此后的 {} 件检验（用时 {:.1} 秒）",
        e.before,
        e.trained_on,
        e.tested_on,
        started.elapsed().as_secs_f64()
    );
    // Figures first, names last: Chinese names are two columns wide per character.
    println!("首选命中  前三命中  方式");
    for (name, a) in [
        ("模型+派单目录（平台所用，目录权重 {w}）", e.combined),
        ("模型", e.model),
        ("派单目录", e.catalogue),
        ("最常见的单位", e.most_frequent),
        ("分类建议：模型+分类关键词", e.categories),
        ("分类建议：仅分类关键词", e.categories_by_keywords),
    ] {
        let name = name.replace("{w}", &format!("{:.1}", e.rule_weight));
        println!("{:>8}  {:>8}  {name}", pct(a.top1), pct(a.top3));
    }
    println!("\n检验件数  首选命中  单位");
    for u in &e.per_unit {
        println!("{:>8}  {:>8}  {} {}", u.requests, pct(u.top1), u.unit, u.unit_name);
    }
    let d = &e.duplicates;
    println!(
        "\n疑似重复（{}：相似度 {:.2}、{} 天内；加分 相同诉求人 {:.2}、相同地址 {:.2}、同类别同镇街 {:.2}）：",
        if overrides.any() { "试用设置，未保存" } else { "现行设置" },
        d.similarity,
        d.window_days,
        d.weights.same_asker,
        d.weights.same_place,
        d.weights.same_category_and_town
    );
    println!(
        "  此后并单的 {} 件中，{} 件的主诉求在疑似重复之列（召回 {}），其中 {} 件列在第一；共列出 {} 件，精确率 {}",
        d.merged,
        d.found,
        pct(d.recall),
        d.found_first,
        d.listed,
        pct(d.precision)
    );
    println!(
        "  此后未并单的 {} 件中，{} 件列出了疑似重复（共 {} 件，至多即误报）；全部列出的精确率 {}",
        d.unmerged,
        d.unmerged_flagged,
        d.unmerged_listed,
        pct(d.precision_overall)
    );
    if let Some(s) = &e.screening {
        println!(
            "\n垃圾信息甄别（阈值 {:.2}；分类器用此前 {} 件垃圾信息、{} 件正常诉求训练）：",
            s.threshold, s.trained_on_spam, s.trained_on_genuine
        );
        println!(
            "  正常诉求 {} 件，误判 {} 件（误判率 {}；仅规则 {}）",
            s.genuine,
            s.false_positives,
            pct(s.false_positive_rate),
            pct(s.rules_false_positive_rate)
        );
        println!(
            "  标记为垃圾信息 {} 件，检出 {} 件（检出率 {}；仅规则 {}）",
            s.spam,
            s.caught,
            pct(s.recall),
            pct(s.rules_recall)
        );
        for title in &s.false_positive_titles {
            println!("  误判示例：{title}");
        }
    }
    if !e.confused.is_empty() {
        println!("\n最常混淆（实际主办 → 首选建议：件数）：");
        for c in &e.confused {
            println!("  {} → {}：{}", c.actual, c.suggested, c.requests);
        }
    }
    Ok(())
}

/// The database the flags, environment or configuration file name.
fn database_url(db: &DbArgs, file: &FileConfig) -> Result<config::DatabaseUrl, String> {
    let data_dir = data_dir(db, file);
    match db.database_url.as_deref().or(file.database_url.as_deref()) {
        Some(url) => config::DatabaseUrl::parse(url),
        None => Ok(config::default_database(&data_dir)),
    }
}

async fn open_store(
    db: &DbArgs,
    file: &FileConfig,
    personal_data: mashangban_domain::personal_data::Keyring,
) -> Result<Backend, String> {
    let url = database_url(db, file)?;
    let defaults = BackendOptions::default();
    let options = BackendOptions {
        tracking_prefix: file.tracking_prefix.clone().unwrap_or(defaults.tracking_prefix),
        connections: file.database_connections.unwrap_or(defaults.connections),
        personal_data: Some(personal_data),
    };
    mashangban_backend::open(&url, options).await.map_err(|e| format!("无法打开数据库 {}: {e}", url.redacted()))
}

/// Starts the HJ 212 receiver of online monitoring devices when `hj212_listen` is set.
async fn start_hj212(
    app: &App<Backend>,
    listen: Option<&str>,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(listen) = listen else { return Ok(None) };
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("HJ 212 接收端无法监听 {listen}: {e}"))?;
    println!("  HJ 212 接收端: {}", listener.local_addr().map_err(|e| e.to_string())?);
    let receiver = mashangban_app::monitoring::receiver::run(
        app.clone(),
        listener,
        mashangban_app::monitoring::receiver::ReceiverConfig::default(),
        app.receiver_stats().clone(),
        stopped,
    );
    Ok(Some(tokio::spawn(receiver)))
}

async fn serve(
    store: Backend,
    listen: &str,
    public_url: String,
    file: &FileConfig,
    data_dir: &std::path::Path,
    search: SearchIndex,
    card_secret: mashangban_app::CardSecret,
) -> Result<(), String> {
    let stage_days = file.enforcement_stage_days.unwrap_or_default();
    stage_days.validate().map_err(|e| format!("配置文件中的 enforcement_stage_days 有误: {}", e.message))?;
    let compression_level = file.compression_level.unwrap_or(mashangban_app::DEFAULT_COMPRESSION_LEVEL);
    if compression_level > mashangban_app::MAX_COMPRESSION_LEVEL {
        return Err(format!(
            "配置文件中的 compression_level 应为 0 到 {}（0 为不压缩），现为 {compression_level}",
            mashangban_app::MAX_COMPRESSION_LEVEL
        ));
    }
    let settings = Settings {
        enforcement_stage_days: stage_days,
        public_url: public_url.clone(),
        card_secret,
        hotline: file.hotline.clone().unwrap_or_else(|| Settings::default().hotline),
        secure_cookies: file.secure_cookies.unwrap_or(false),
        change_retention_days: file.change_retention_days.unwrap_or(Settings::default().change_retention_days),
        inbox_retention_days: file.inbox_retention_days.unwrap_or(Settings::default().inbox_retention_days),
        task_on_time_weight: file.task_on_time_weight.unwrap_or_default(),
        direct_line_return_refusals: file
            .direct_line_return_refusals
            .unwrap_or(mashangban_domain::direct_line::RETURN_REFUSALS_DEFAULT),
        lookup_cache_entries: file.lookup_cache_entries.unwrap_or(mashangban_app::lookup_cache::DEFAULT_ENTRIES),
        compression_level,
        trusted_proxies: file.trusted_proxies.clone().unwrap_or_default(),
        data_dir: Some(data_dir.to_path_buf()),
        min_free_disk_bytes: file
            .min_free_disk_mb
            .map_or(Settings::default().min_free_disk_bytes, |mb| mb.saturating_mul(1024 * 1024)),
        metrics_allow: file.metrics_allow.clone().unwrap_or_default(),
        sms_gateway: file.notify.as_ref().is_some_and(|n| n.sms.is_some()),
        ..Settings::default()
    };
    let app = App::new(store, settings).await.map_err(|e| e.to_string())?.with_search(search);
    mashangban_app::audit::seal_legacy_events(&app).await.map_err(|e| format!("无法为旧留痕加 SM3 封印: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("无法监听 {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = scheduler::spawn(app.clone(), scheduler::SchedulerConfig::default(), stopped.clone());
    let receiver = start_hj212(&app, file.hj212_listen.as_deref(), stopped.clone()).await?;
    let notifier = notify::start(app.clone(), file.notify.clone().unwrap_or_default(), stopped).await?;
    println!("马上办已启动: http://{local}  (对外地址 {public_url})");
    println!("  接口: http://{local}/api/v1/  登录: POST /api/v1/auth/login");
    let served = mashangban_web::serve(listener, app, shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = scheduler.await;
    let _ = notifier.await;
    if let Some(receiver) = receiver {
        let _ = receiver.await;
    }
    served.map_err(|e| e.to_string())?;
    println!("马上办已停止。");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn load_demo(store: &Backend, args: &DemoArgs, file: &FileConfig) -> Result<(), String> {
    let data = match &args.demo_data {
        Some(dir) => mashangban_demo::DemoData::from_dir(dir),
        None => mashangban_demo::DemoData::bundled(),
    }
    .map_err(|e| e.to_string())?;
    let password =
        args.demo_password.clone().or(file.demo_password.clone()).unwrap_or_else(|| DEFAULT_DEMO_PASSWORD.into());
    let hash = auth::hash_password(&password).map_err(|e| e.message)?;
    let bar = ProgressBar::new(args.demo_requests as u64);
    if let Ok(style) = ProgressStyle::with_template("生成历史诉求 {bar:40} {pos}/{len} {elapsed}") {
        bar.set_style(style);
    }
    let options = mashangban_demo::HistoryOptions { seed: args.demo_seed, count: args.demo_requests, end: time::now() };
    let progress = |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let mut say = |line: String| bar.suspend(|| println!("{line}"));
    let users = mashangban_demo::load_city(store, &data, &hash, &options, args.demo_outlets, progress, &mut say)
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!("演示账号（密码均为「{password}」）：");
    for (username, created) in &users {
        println!("  {username:<16}{}", if *created { "新建" } else { "已存在" });
    }
    println!("警告：以上账号和密码仅供演示，切勿用于正式环境。");
    Ok(())
}

fn read_password(given: Option<String>) -> Result<String, String> {
    let password = match given {
        Some(p) => p,
        None => {
            eprintln!("请输入密码（一行）：");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < 8 {
        return Err("密码至少 8 位".into());
    }
    Ok(password)
}

async fn unit_id(store: &Backend, code: Option<&str>) -> Result<Option<i64>, String> {
    let Some(code) = code else { return Ok(None) };
    let units = store.list_units().await.map_err(|e| e.to_string())?;
    units.iter().find(|u| u.code == code).map(|u| Some(u.id)).ok_or_else(|| format!("单位「{code}」不存在"))
}

fn parse_role(role: &str) -> Result<Role, String> {
    Role::parse(&role.replace('-', "_")).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("角色「{role}」不存在；可选：{}", all.join(", "))
    })
}

async fn user_command(store: &Backend, command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add { username, role, unit, name, credit_code, phone, password } => {
            let role = parse_role(&role)?;
            if role.is_staff() && unit.is_none() {
                return Err("工作人员账号必须指定所属单位（--unit）".into());
            }
            let credit_code = match credit_code {
                Some(c) => Some(
                    mashangban_domain::validation::CreditCode::parse(&c).map_err(|e| e.message)?.as_str().to_owned(),
                ),
                None if role == Role::Enterprise => {
                    return Err("企业账号必须指定统一社会信用代码（--credit-code）".into());
                }
                None => None,
            };
            let phone = match phone {
                Some(p) => {
                    Some(mashangban_domain::validation::Phone::parse(&p).map_err(|e| e.message)?.as_str().to_owned())
                }
                None => None,
            };
            let unit_id = unit_id(store, unit.as_deref()).await?;
            let password_hash = auth::hash_password(&read_password(password)?).map_err(|e| e.message)?;
            let user = store
                .create_user(
                    NewUser {
                        display_name: name.unwrap_or_else(|| username.clone()),
                        username,
                        role,
                        unit_id,
                        credit_code,
                        phone,
                        password_hash,
                    },
                    mashangban_store::AccountBy::named("命令行"),
                )
                .await
                .map_err(|e| e.to_string())?;
            println!("已创建用户 {}（{}，编号 {}）", user.username, user.role.label(), user.id);
        }
        UserCommand::Passwd { username, password } => {
            let hash = auth::hash_password(&read_password(password)?).map_err(|e| e.message)?;
            store
                .set_password(&username, hash, mashangban_store::AccountBy::named("命令行"))
                .await
                .map_err(|e| e.to_string())?;
            println!("已更新 {username} 的密码，原有登录会话已失效。");
        }
        UserCommand::Disable { username } => {
            store
                .set_user_disabled(&username, true, mashangban_store::AccountBy::named("命令行"))
                .await
                .map_err(|e| e.to_string())?;
            println!("已停用 {username}。");
        }
        UserCommand::Enable { username } => {
            store
                .set_user_disabled(&username, false, mashangban_store::AccountBy::named("命令行"))
                .await
                .map_err(|e| e.to_string())?;
            println!("已启用 {username}。");
        }
        UserCommand::List => {
            for u in store.list_users().await.map_err(|e| e.to_string())? {
                let state = if u.disabled { "停用" } else { "正常" };
                println!("{:>5}  {:<16} {:<10} {:<6} {}", u.id, u.username, u.role.label(), state, u.display_name);
            }
        }
    }
    Ok(())
}

/// `mashangban token …`: creating and revoking go through the same checks as the admin API's
/// (`app.accounts()`), recorded as by `命令行`.
async fn token_command(store: Backend, command: TokenCommand) -> Result<(), String> {
    let app = App::new(store, Settings::default()).await.map_err(|e| e.to_string())?;
    let store = app.store();
    let cli = || mashangban_store::AccountBy::named("命令行");
    match command {
        TokenCommand::Create { name, role, unit } => {
            let input = auth::ApiTokenInput { name, role, unit };
            let created = app.accounts().create_api_token_by(input, cli()).await.map_err(|e| e.message)?;
            let token = created.token;
            println!(
                "令牌编号 {}（{}，{}）已创建。请妥善保存，它只显示这一次：",
                token.id, token.name, token.role_label
            );
            println!("{}", created.secret);
        }
        TokenCommand::Revoke { id } => {
            app.accounts().revoke_api_token_by(id, cli()).await.map_err(|e| e.message)?;
            println!("已吊销令牌 {id}。");
        }
        TokenCommand::History { id } => {
            let events = store.api_token_events(id).await.map_err(|e| e.to_string())?;
            for e in events.ok_or_else(|| format!("没有编号为 {id} 的令牌"))? {
                let detail = e.detail.unwrap_or_default();
                println!("{}  {:<10} {:<12} {detail}", time::format_instant(&e.at), e.by_name, e.action.label());
            }
        }
        TokenCommand::List => {
            for t in store.list_api_tokens().await.map_err(|e| e.to_string())? {
                let state = if t.revoked_at.is_some() { "已吊销" } else { "有效" };
                println!("{:>5}  {:<20} {:<10} {}", t.id, t.name, t.role.label(), state);
            }
        }
    }
    Ok(())
}
