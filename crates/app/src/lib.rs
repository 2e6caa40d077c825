//! The application layer of mashangban (马上办): every use case, once.
//!
//! [`App`] holds the store, the settings, the clock, the caches (org tree,
//! categories, time-limit rules, work calendar), the rate limiters and the
//! live hub, and hands out one service per module: `app.requests()`,
//! `app.accounts()`, `app.org()`, ... Each service method takes the
//! [`Caller`] (who, from where) and typed input, and answers typed results or
//! an [`AppError`]. The JSON API, the HTML pages and Open311 are adapters
//! over these services; none of them decides anything a service decides.
//! Access (which permission a use case needs) is declared on the routes and
//! enforced before a service is called; the services apply the data scope.

pub mod accounts;
pub mod approvals;
pub mod audit;
pub mod bulk;
pub mod caches;
pub mod calendar;
pub mod caller;
pub mod catalog;
mod cluster;
pub mod command;
pub mod compensation;
pub mod creeks;
pub mod dashboard;
pub mod deadlines;
pub mod direct_line;
pub mod dispatch;
pub mod documents;
pub mod duplicates;
pub mod enforcement;
pub mod enterprises;
pub mod error;
pub mod feed;
pub mod fund;
pub mod health;
pub mod inbox;
pub mod input;
pub mod json;
pub mod knowledge;
pub mod ledgers;
pub mod liaisons;
pub mod live;
pub mod lookup_cache;
pub mod monitoring;
pub mod notifications;
pub mod notify;
pub mod one_time;
pub mod onsite;
pub mod org;
pub mod password_resets;
pub mod ratelimit;
pub mod requests;
pub mod rules;
pub mod saved_views;
pub mod scheduler;
pub mod scoring;
pub mod screening;
pub mod search;
pub mod statistics;
pub mod views;
pub mod visits;

use std::sync::Arc;

use mashangban_domain::time::Instant;
use mashangban_store::{AttemptLease, AttemptSlot, Signal, Store, StoreError, StoreResult};

pub use caches::Caches;
pub use caller::{Caller, Via};
pub use error::{AppError, AppResult, CurrentState, ErrorKind};
pub use live::Live;

use ratelimit::{Attempt, Leases, MemoryCounts, Throttle};

/// The key of contact cards' links; never printed by `Debug`.
#[derive(Clone)]
pub struct CardSecret(pub Vec<u8>);

impl CardSecret {
    /// 256 random bits.
    pub fn random() -> Self {
        let mut key = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
        Self(key)
    }
}

impl std::fmt::Debug for CardSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardSecret(…)")
    }
}

/// The compression level of dynamic answers unless configured ([`Settings::compression_level`]).
pub const DEFAULT_COMPRESSION_LEVEL: u8 = 4;
/// The highest compression level accepted.
pub const MAX_COMPRESSION_LEVEL: u8 = 9;

/// Settings of the application.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address people use to reach the platform, for links (progress pages).
    pub public_url: String,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    pub session_hours: i64,
    /// Failed sign-ins per account (from every address together) in 15 minutes.
    pub login_failures_per_15min: u32,
    /// Failed sign-ins from every address together per client address per 15 minutes
    /// (password spraying over many accounts).
    pub login_failures_per_address_15min: u32,
    /// Anonymous submissions per client address per hour (refused ones not counted).
    pub public_intakes_per_hour: u32,
    /// Failed public progress look-ups (wrong check code) per tracking number per hour, from every address.
    pub lookup_failures_per_hour: u32,
    /// Failed public progress look-ups per client address per hour, over every tracking number.
    pub lookup_failures_per_address_hour: u32,
    /// The portal's category suggestions (as a submission is typed) per client address per hour.
    pub public_suggestions_per_hour: u32,
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Whether 基本满意 (fairly satisfied) counts as satisfied in the satisfaction rate (满意率).
    pub fairly_satisfied_counts: bool,
    /// The weight of 按时完成任务率 (command-centre tasks done on time) in the units' composite score,
    /// beside the request rates' 100 (`task_on_time_weight` in the configuration file); 0 leaves it out.
    pub task_on_time_weight: u32,
    /// Days the change feed keeps its rows (consumers further behind rebuild from the data).
    pub change_retention_days: u32,
    /// Days the staff inbox keeps an entry after it was read (unread entries stay until read).
    pub inbox_retention_days: u32,
    /// The key contact cards' links are signed with (HMAC-SHA256). Kept outside
    /// the database: the server reads it from `MASHANGBAN_CARD_SECRET` or a key
    /// file beside the data (see docs/deployment.md); every node must share it.
    pub card_secret: CardSecret,
    /// The hotline printed on contact cards.
    pub hotline: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (可信代理); from any
    /// other peer the header is ignored and the peer's address is the client's.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The data directory, whose free space the readiness probe checks (None: not checked).
    pub data_dir: Option<std::path::PathBuf>,
    /// Free bytes under the data directory below which the node is not ready.
    pub min_free_disk_bytes: u64,
    /// Client addresses (after `trusted_proxies`) allowed to read `/metrics`; loopback always is.
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// Working days allowed per stage of an enforcement case (环境执法).
    pub enforcement_stage_days: mashangban_domain::enforcement::StageLimits,
    /// Whether an SMS gateway is configured (`[notify.sms]`): password reset by SMS code needs one.
    pub sms_gateway: bool,
    /// Password-reset codes requested per account name or phone typed, per hour.
    pub reset_codes_per_account_hour: u32,
    /// Password-reset codes requested per client address, per hour.
    pub reset_codes_per_address_hour: u32,
    /// Refused returns (驳回退回) of one direct-line item after which its unit may no longer return it
    /// (`direct_line_return_refusals` in the configuration file).
    pub direct_line_return_refusals: u32,
    /// Requests the public progress look-ups keep in memory (`lookup_cache_entries` in the
    /// configuration file; 0: none), see [`lookup_cache`].
    pub lookup_cache_entries: usize,
    /// How hard dynamic answers of 1 KiB and more are compressed (`compression_level` in the
    /// configuration file): 1 (fastest) to 9; 0 sends them uncompressed, for a reverse proxy that
    /// compresses in front or a node whose CPU is better spent on answers. The assets come compressed
    /// ahead of time either way.
    pub compression_level: u8,
}

impl Settings {
    /// How scores are computed unless a report asks otherwise.
    pub fn score_options(&self) -> mashangban_domain::scoring::ScoreOptions {
        mashangban_domain::scoring::ScoreOptions {
            fairly_satisfied_counts: self.fairly_satisfied_counts,
            task_on_time_weight: self.task_on_time_weight,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            session_hours: 12,
            login_failures_per_15min: 5,
            login_failures_per_address_15min: 50,
            public_intakes_per_hour: 30,
            lookup_failures_per_hour: 30,
            lookup_failures_per_address_hour: 300,
            public_suggestions_per_hour: 600,
            max_attachment_bytes: 10 * 1024 * 1024,
            fairly_satisfied_counts: true,
            task_on_time_weight: 0,
            change_retention_days: 30,
            inbox_retention_days: 180,
            // A fresh key per process unless the server sets one: cards
            // printed under it die with the process.
            card_secret: CardSecret::random(),
            hotline: "12345".into(),
            trusted_proxies: Vec::new(),
            data_dir: None,
            min_free_disk_bytes: 512 * 1024 * 1024,
            metrics_allow: Vec::new(),
            enforcement_stage_days: mashangban_domain::enforcement::StageLimits::default(),
            sms_gateway: false,
            reset_codes_per_account_hour: 5,
            reset_codes_per_address_hour: 20,
            direct_line_return_refusals: mashangban_domain::direct_line::RETURN_REFUSALS_DEFAULT,
            lookup_cache_entries: lookup_cache::DEFAULT_ENTRIES,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }
}

/// The clock every use case reads its "now" from (tests move it).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The throttles of the public and sign-in paths, and where their counts are kept.
pub struct Limiters {
    /// Failed sign-ins per account (用户名), from every address.
    pub login_account: Throttle,
    /// Failed sign-ins per client address, over every account.
    pub login_address: Throttle,
    /// Anonymous intakes per client address.
    pub intake_address: Throttle,
    /// The portal's category suggestions per client address.
    pub suggest_address: Throttle,
    /// Wrong check codes per tracking number, from every address.
    pub lookup_request: Throttle,
    /// Wrong check codes per client address, over every tracking number.
    pub lookup_address: Throttle,
    /// Password-reset codes asked for per account name or phone typed (找回密码).
    pub reset_account: Throttle,
    /// Password-reset codes asked for per client address.
    pub reset_address: Throttle,
    /// Where the counts are kept: the database when several nodes share it
    /// (PostgreSQL), leased to this node in chunks; else this node's memory
    /// (SQLite serves one node).
    shared: bool,
    leases: Arc<Leases>,
    memory: MemoryCounts,
}

/// The application: cheap to clone (everything inside is shared).
#[derive(Clone)]
pub struct App<S> {
    store: S,
    settings: Arc<Settings>,
    clock: Clock,
    caches: Arc<Caches>,
    limiters: Arc<Limiters>,
    live: Live,
    /// This node's full-text index, when it has one.
    search: Option<mashangban_search::SearchIndex>,
    /// The scheduler's runs on this node, for `/metrics`.
    jobs: Arc<health::JobCounters>,
    /// This node's dispatch-suggestion model (派单模型).
    dispatch_models: Arc<dispatch::ModelSlot>,
    /// What duplicate detection read of requests lately (疑似重复).
    facts_cache: Arc<duplicates::FactsCache>,
    /// This node's spam-screening classifier and cached settings (垃圾信息甄别).
    screening_slot: Arc<screening::ScreeningSlot>,
    /// This node's HJ 212 receiver counters (refused packets per device), shown on the park pages.
    receiver_stats: monitoring::receiver::ReceiverStats,
    /// API tokens created on the users page, their secret waiting to be shown once (this node only).
    created_tokens: Arc<one_time::CreatedTokens>,
}

impl<S: Store> App<S> {
    /// Builds the application, loads the caches from the store and, when the
    /// store serves several nodes, starts the relays that keep them in step.
    pub async fn new(store: S, settings: Settings) -> StoreResult<Self> {
        let incoming = store.subscribe_signals();
        let (relay, outgoing) = match incoming {
            Some(_) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let live = Live::new(relay, settings.lookup_cache_entries);
        let (quarter, hour) = (15 * 60, 60 * 60);
        let limiters = Limiters {
            login_account: Throttle::new("login.account", settings.login_failures_per_15min, quarter),
            login_address: Throttle::new("login.address", settings.login_failures_per_address_15min, quarter),
            intake_address: Throttle::new("intake.address", settings.public_intakes_per_hour, hour),
            suggest_address: Throttle::new("suggest.address", settings.public_suggestions_per_hour, hour),
            lookup_request: Throttle::new("lookup.request", settings.lookup_failures_per_hour, hour),
            lookup_address: Throttle::new("lookup.address", settings.lookup_failures_per_address_hour, hour),
            reset_account: Throttle::new("reset.account", settings.reset_codes_per_account_hour, hour),
            reset_address: Throttle::new("reset.address", settings.reset_codes_per_address_hour, hour),
            shared: incoming.is_some(),
            leases: Arc::default(),
            memory: MemoryCounts::default(),
        };
        if limiters.shared {
            ratelimit::spawn_lease_returns(store.clone(), Arc::downgrade(&limiters.leases));
        }
        let caches = Caches::load(&store).await?;
        ledgers::install_bundled(&store).await.map_err(|e| StoreError::backend(format!("ledger types: {e}")))?;
        command::install_bundled(&store, mashangban_domain::time::now())
            .await
            .map_err(|e| StoreError::backend(format!("command centres: {e}")))?;
        let app = Self {
            store,
            settings: Arc::new(settings),
            clock: Arc::new(mashangban_domain::time::now),
            caches: Arc::new(caches),
            limiters: Arc::new(limiters),
            live,
            search: None,
            jobs: Arc::default(),
            dispatch_models: Arc::default(),
            facts_cache: Arc::default(),
            screening_slot: Arc::default(),
            receiver_stats: monitoring::receiver::ReceiverStats::default(),
            created_tokens: Arc::default(),
        };
        if let (Some(incoming), Some(outgoing)) = (incoming, outgoing) {
            cluster::spawn(app.clone(), outgoing, incoming);
        }
        feed::spawn_node_follower(app.clone())?;
        Ok(app)
    }

    /// Replaces the clock (tests and simulations).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Serves full-text search from `index` and starts this node's indexer, which keeps it up to date
    /// from the change feed (building it first if it was never built).
    pub fn with_search(mut self, index: mashangban_search::SearchIndex) -> Self {
        self.search = Some(index.clone());
        search::spawn_indexer(self.clone(), index);
        self
    }

    /// This node's full-text index, if it has one.
    pub fn search_index(&self) -> Option<&mashangban_search::SearchIndex> {
        self.search.as_ref()
    }

    /// The counters of this node's HJ 212 receiver (the one `serve` runs hands them to it).
    pub fn receiver_stats(&self) -> &monitoring::receiver::ReceiverStats {
        &self.receiver_stats
    }

    /// API tokens created on the users page whose secret waits for its one showing (this node only).
    pub fn created_tokens(&self) -> &one_time::CreatedTokens {
        &self.created_tokens
    }

    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The scheduler's runs on this node.
    pub fn jobs(&self) -> &health::JobCounters {
        &self.jobs
    }

    pub fn limiters(&self) -> &Limiters {
        &self.limiters
    }

    /// Reserves one attempt of each `(throttle, subject)` before it is
    /// evaluated, all or none: `None` when one of them is used up.
    pub(crate) async fn reserve(&self, wanted: &[(&Throttle, &str)]) -> AppResult<Option<Attempt>> {
        let now = self.now();
        let slots: Vec<AttemptSlot> = wanted
            .iter()
            .map(|(t, subject)| AttemptSlot { key: t.key(subject), window_start: t.window_start(&now), limit: t.limit })
            .collect();
        if !self.limiters.shared {
            let taken = self.limiters.memory.take(&slots);
            return Ok(taken.then_some(Attempt { slots, leases: None }));
        }
        let leases = &self.limiters.leases;
        let short = leases.take_spare(&slots);
        let mut taken = short.taken;
        if !short.wanted.is_empty() {
            let granted = match self.store.lease_attempts(short.wanted.clone()).await {
                Ok(granted) => granted,
                Err(error) => {
                    leases.release(&taken);
                    return Err(error.into());
                }
            };
            if granted.iter().any(|g| g.count == 0) {
                // Refused: what was taken goes back, the spare to this node, the new lease at once
                // (to the window the database counted it in).
                leases.release(&taken);
                let unused: Vec<AttemptLease> = short
                    .wanted
                    .into_iter()
                    .zip(granted)
                    .filter(|(_, g)| g.count > 0)
                    .map(|(lease, g)| AttemptLease {
                        slot: AttemptSlot { window_start: g.window_start, ..lease.slot },
                        count: g.count,
                    })
                    .collect();
                if !unused.is_empty()
                    && let Err(error) = self.store.return_attempts(unused).await
                {
                    tracing::warn!(%error, "refused throttle attempts were not returned");
                }
                return Ok(None);
            }
            taken.extend(leases.add_taking_one(&short.wanted, &granted));
        }
        Ok(Some(Attempt { slots: taken, leases: Some(leases.clone()) }))
    }

    /// Gives back an attempt that was not a failure: to this node's spare
    /// (shared counts) or to the memory counts.
    pub(crate) fn give_back(&self, mut attempt: Attempt) {
        match attempt.leases.take() {
            Some(leases) => leases.release(&attempt.slots),
            None => self.limiters.memory.give_back(&attempt.slots),
        }
    }

    /// Forgets the attempts of `subject` under `throttle` (after a success).
    pub(crate) async fn forget(&self, throttle: &Throttle, subject: &str) {
        let key = throttle.key(subject);
        match self.limiters.shared {
            true => {
                self.limiters.leases.clear(&key);
                if let Err(error) = self.store.clear_attempts(key).await {
                    tracing::warn!(%error, "a throttle's attempts were not cleared");
                }
            }
            false => self.limiters.memory.clear(&key),
        }
    }

    /// Deletes the shared counts of windows that have ended (the longest
    /// window is an hour); how many. Memory counts age out by themselves.
    pub async fn prune_throttles(&self) -> StoreResult<u64> {
        if !self.limiters.shared {
            return Ok(0);
        }
        let longest = [&self.limiters.login_account, &self.limiters.login_address, &self.limiters.intake_address]
            .into_iter()
            .chain([&self.limiters.lookup_request, &self.limiters.lookup_address])
            .map(|t| t.window_seconds)
            .max()
            .unwrap_or(0);
        self.store.prune_attempts(self.now().timestamp() - longest).await
    }

    /// The hub of request changes (live progress pages, other nodes).
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Wakes this node's change-feed followers (after a commit).
    pub fn feed(&self) -> &feed::FeedWaker {
        self.live.feed()
    }

    /// The org tree, categories, rules and calendar in force (swapped on write).
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// Brings this node's caches up to date after a service changed what
    /// `signal` names, and tells the other nodes to do the same. Every
    /// service that changes cached data calls this, once, after its write.
    pub async fn changed(&self, signal: Signal) -> StoreResult<()> {
        self.caches.apply(&self.store, &signal).await?;
        self.feed().wake();
        self.store.announce(signal).await
    }

    /// Requests (诉求): intake, lists, detail, actions, attachments, and the asker's own steps.
    pub fn requests(&self) -> requests::Requests<'_, S> {
        requests::Requests::new(self)
    }

    /// Accounts: sign-in, sessions, API tokens and users.
    pub fn accounts(&self) -> accounts::Accounts<'_, S> {
        accounts::Accounts::new(self)
    }

    /// The org tree (组织架构).
    pub fn org(&self) -> org::Org<'_, S> {
        org::Org::new(self)
    }

    /// Categories and the dispatch catalogue (事项分类与派单目录).
    pub fn catalog(&self) -> catalog::Catalog<'_, S> {
        catalog::Catalog::new(self)
    }

    /// The work calendar (工作日历): the calculator and its administration.
    pub fn calendar(&self) -> calendar::Calendar<'_, S> {
        calendar::Calendar::new(self)
    }

    /// The time-limit rules (时限规则).
    pub fn rules(&self) -> rules::Rules<'_, S> {
        rules::Rules::new(self)
    }

    /// Department scoring (考核).
    pub fn scoring(&self) -> scoring::Scoring<'_, S> {
        scoring::Scoring::new(self)
    }

    /// The leader dashboard (领导驾驶舱).
    pub fn dashboard(&self) -> dashboard::Dashboards<'_, S> {
        dashboard::Dashboards::new(self)
    }

    /// The enterprise registry (企业名录).
    pub fn enterprises(&self) -> enterprises::Enterprises<'_, S> {
        enterprises::Enterprises::new(self)
    }

    /// Liaison cadres and contact cards (联系干部与联系卡).
    pub fn liaisons(&self) -> liaisons::Liaisons<'_, S> {
        liaisons::Liaisons::new(self)
    }

    /// The staff inbox (消息提醒).
    pub fn inbox(&self) -> inbox::Inbox<'_, S> {
        inbox::Inbox::new(self)
    }

    /// Bulk actions on the queues (批量派单、批量催办).
    pub fn bulk(&self) -> bulk::Bulk<'_, S> {
        bulk::Bulk::new(self)
    }

    /// Each person's saved views of the work page (保存的视图).
    pub fn saved_views(&self) -> saved_views::SavedViews<'_, S> {
        saved_views::SavedViews::new(self)
    }

    pub fn password_resets(&self) -> password_resets::PasswordResets<'_, S> {
        password_resets::PasswordResets::new(self)
    }

    /// Visits to enterprises and the walking office (走访与行走的办公室).
    pub fn visits(&self) -> visits::Visits<'_, S> {
        visits::Visits::new(self)
    }

    /// The secretary-mayor direct line (书记市长直通车).
    pub fn direct_line(&self) -> direct_line::DirectLine<'_, S> {
        direct_line::DirectLine::new(self)
    }

    /// The statistics panel (数说): cards, values with history, imports and exports.
    pub fn statistics(&self) -> statistics::Statistics<'_, S> {
        statistics::Statistics::new(self)
    }

    /// 拿地即开工: approval projects, their steps and clocks, the record table and reports.
    pub fn approvals(&self) -> approvals::Approvals<'_, S> {
        approvals::Approvals::new(self)
    }

    /// 在线监测: monitoring points, readings, aggregates and exceedance alerts.
    pub fn monitoring(&self) -> monitoring::Monitoring<'_, S> {
        monitoring::Monitoring::new(self)
    }

    /// 行走办: on-site service requests of enterprises, the catalogue and the centres.
    pub fn onsite(&self) -> onsite::Onsite<'_, S> {
        onsite::Onsite::new(self)
    }

    /// 生态环境损害赔偿: the expert pool and compensation matters from enforcement cases.
    pub fn compensation(&self) -> compensation::Compensation<'_, S> {
        compensation::Compensation::new(self)
    }

    /// 附件: documents of fund applications, enforcement cases, inspections and compensation matters.
    pub fn documents(&self) -> documents::Documents<'_, S> {
        documents::Documents::new(self)
    }

    /// 环境执法: inspections and enforcement cases from alerts and inspections.
    pub fn enforcement(&self) -> enforcement::Enforcement<'_, S> {
        enforcement::Enforcement::new(self)
    }

    /// The industry support fund (产业扶持资金): policies, applications, review, notice, budget.
    pub fn fund(&self) -> fund::Fund<'_, S> {
        fund::Fund::new(self)
    }

    /// 河涌整治: creek water quality (GB 3838 classes, trend) and plans (一河一策).
    pub fn creeks(&self) -> creeks::Creeks<'_, S> {
        creeks::Creeks::new(self)
    }

    /// Ledgers (台账): types, items, stage moves, rollups, Excel in and out.
    pub fn ledgers(&self) -> ledgers::Ledgers<'_, S> {
        ledgers::Ledgers::new(self)
    }

    /// Command centres (指挥部): targets with forecasts, tasks, the town ranking.
    pub fn command(&self) -> command::CommandCentres<'_, S> {
        command::CommandCentres::new(self)
    }

    /// The knowledge base of standard answers (知识库).
    pub fn knowledge(&self) -> knowledge::Knowledge<'_, S> {
        knowledge::Knowledge::new(self)
    }

    /// Full-text search over requests (全文检索).
    pub fn search(&self) -> search::Searching<'_, S> {
        search::Searching::new(self)
    }

    /// Dispatch suggestions (派单建议) and their model.
    pub fn dispatch(&self) -> dispatch::Dispatch<'_, S> {
        dispatch::Dispatch::new(self)
    }

    /// Duplicate detection (疑似重复).
    pub fn duplicates(&self) -> duplicates::Duplicates<'_, S> {
        duplicates::Duplicates::new(self)
    }

    /// Spam screening of public submissions (垃圾信息甄别).
    pub fn screening(&self) -> screening::Screenings<'_, S> {
        screening::Screenings::new(self)
    }

    /// This node's spam-screening classifier and cached settings.
    pub fn screening_slot(&self) -> &screening::ScreeningSlot {
        &self.screening_slot
    }

    /// This node's dispatch model in service.
    pub fn dispatch_models(&self) -> &dispatch::ModelSlot {
        &self.dispatch_models
    }

    /// What duplicate detection read of requests lately, on this node.
    pub fn facts_cache(&self) -> &Arc<duplicates::FactsCache> {
        &self.facts_cache
    }

    /// Notification administration (通知管理).
    pub fn notifications(&self) -> notifications::Notifications<'_, S> {
        notifications::Notifications::new(self)
    }
}
