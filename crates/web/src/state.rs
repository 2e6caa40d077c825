//! Shared state of the web layer: the store, caches of the org tree and
//! catalogue, rate limiters, the clock and settings.

use std::sync::{Arc, RwLock};

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::org::OrgTree;
use mashangban_domain::time::Instant;
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::{Category, Signal, Store, StoreResult};

use crate::ratelimit::RateLimiter;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address people use to reach the platform, for links (progress pages).
    pub public_url: String,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    pub session_hours: i64,
    /// Failed logins allowed per user and client address in 15 minutes.
    pub login_failures_per_15min: u32,
    /// Anonymous submissions per client address per hour.
    pub public_intakes_per_hour: u32,
    /// Failed public progress look-ups (wrong check code) per client address per hour.
    pub lookup_failures_per_hour: u32,
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Whether 基本满意 (fairly satisfied) counts as satisfied in the satisfaction rate (满意率).
    pub fairly_satisfied_counts: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            session_hours: 12,
            login_failures_per_15min: 5,
            public_intakes_per_hour: 30,
            lookup_failures_per_hour: 30,
            max_attachment_bytes: 10 * 1024 * 1024,
            fairly_satisfied_counts: true,
        }
    }
}

pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState<S> {
    pub store: S,
    pub config: Arc<WebConfig>,
    pub clock: Clock,
    /// The work calendar (工作日历) for deadlines; see [`AppState::calendar`].
    calendar: Arc<RwLock<Arc<WorkCalendar>>>,
    /// Held while the calendar reloads, so a slower reload cannot put back
    /// an older calendar over a newer one.
    calendar_reload: Arc<tokio::sync::Mutex<()>>,
    org: Arc<RwLock<Arc<OrgTree>>>,
    categories: Arc<RwLock<Arc<Vec<Category>>>>,
    /// The time-limit rules in force, read once and replaced on publication.
    rules: Arc<RwLock<Arc<RuleSet>>>,
    pub login_limiter: Arc<RateLimiter>,
    pub intake_limiter: Arc<RateLimiter>,
    pub lookup_limiter: Arc<RateLimiter>,
    /// Changes of requests, for live progress pages.
    pub live: crate::live::Live,
}

impl<S: Store> AppState<S> {
    /// Builds the state and loads the caches from the store.
    pub async fn new(store: S, config: WebConfig) -> StoreResult<Self> {
        let minute = chrono::Duration::minutes(1);
        let calendar = crate::calendar::load(&store).await?;
        let incoming = store.subscribe_signals();
        let (live, outgoing) = match incoming {
            Some(_) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                (crate::live::Live::relaying(tx), Some(rx))
            }
            None => (crate::live::Live::default(), None),
        };
        let state = Self {
            login_limiter: Arc::new(RateLimiter::new(config.login_failures_per_15min, minute * 15)),
            intake_limiter: Arc::new(RateLimiter::new(config.public_intakes_per_hour, minute * 60)),
            lookup_limiter: Arc::new(RateLimiter::new(config.lookup_failures_per_hour, minute * 60)),
            store,
            config: Arc::new(config),
            clock: Arc::new(mashangban_domain::time::now),
            calendar: Arc::new(RwLock::new(Arc::new(calendar))),
            calendar_reload: Arc::default(),
            org: Arc::default(),
            categories: Arc::default(),
            rules: Arc::new(RwLock::new(Arc::new(RuleSet::guangdong_defaults()))),
            live,
        };
        state.reload_catalog().await?;
        state.set_rules(state.store.current_rules().await?);
        if let (Some(incoming), Some(outgoing)) = (incoming, outgoing) {
            crate::cluster::spawn(state.clone(), outgoing, incoming);
        }
        Ok(state)
    }

    /// Replaces the clock (tests and simulations).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    /// Reloads the org tree, categories and work calendar after an administrator changed them.
    pub async fn reload(&self) -> StoreResult<()> {
        self.reload_catalog().await?;
        self.set_rules(self.store.current_rules().await?);
        self.reload_calendar().await
    }

    /// Brings this node's caches up to date after an administrator changed
    /// what `signal` names, and tells the other nodes to do the same.
    pub async fn changed(&self, signal: Signal) -> StoreResult<()> {
        crate::cluster::apply(self, signal.clone()).await?;
        self.store.announce(signal).await
    }

    /// The time-limit rules in force (no database read on the intake path).
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().map(|r| Arc::clone(&r)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Puts newly published rules in force.
    pub fn set_rules(&self, rules: RuleSet) {
        if let Ok(mut r) = self.rules.write() {
            *r = Arc::new(rules);
        }
    }

    /// Reloads the work calendar from the store (storing the bundled years
    /// first if it has none); every admin change of the calendar calls this.
    pub async fn reload_calendar(&self) -> StoreResult<()> {
        let _one_at_a_time = self.calendar_reload.lock().await;
        let calendar = crate::calendar::load(&self.store).await?;
        self.set_calendar(calendar);
        Ok(())
    }

    pub(crate) async fn reload_catalog(&self) -> StoreResult<()> {
        let units = self.store.list_units().await?;
        let categories = self.store.list_categories().await?;
        if let Ok(mut org) = self.org.write() {
            *org = Arc::new(OrgTree::new(units));
        }
        if let Ok(mut cats) = self.categories.write() {
            *cats = Arc::new(categories);
        }
        Ok(())
    }

    /// The work calendar in force.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        match self.calendar.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts a new work calendar in force (after an administrator changed it).
    pub fn set_calendar(&self, calendar: WorkCalendar) {
        match self.calendar.write() {
            Ok(mut c) => *c = Arc::new(calendar),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(calendar),
        }
    }

    pub fn org(&self) -> Arc<OrgTree> {
        self.org.read().map(|o| Arc::clone(&o)).unwrap_or_default()
    }

    pub fn categories(&self) -> Arc<Vec<Category>> {
        self.categories.read().map(|c| Arc::clone(&c)).unwrap_or_default()
    }
}
