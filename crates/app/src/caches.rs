//! What every request reads and administrators rarely change, kept in
//! memory: the org tree, the categories, the time-limit rules, the work
//! calendar and the versioned settings (duplicate thresholds, screening,
//! automatic dispatch). Each is an `ArcSwap`: readers take the current `Arc` without a
//! lock, a writer swaps in a whole new value (swap on write), so nothing is
//! ever half-updated and no reader can see a poisoned lock.

use std::sync::Arc;

use arc_swap::ArcSwap;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::org::OrgTree;
use mashangban_domain::time_limit::RuleSet;
use mashangban_store::{
    AutoDispatchVersion, Category, ScreeningSettingsVersion, Signal, Store, StoreResult, ThresholdsVersion,
};

use crate::dispatch::KeywordRules;

pub struct Caches {
    org: ArcSwap<OrgTree>,
    categories: ArcSwap<Vec<Category>>,
    /// The categories' keywords, ready to match: swapped with the categories.
    keyword_rules: ArcSwap<KeywordRules>,
    rules: ArcSwap<RuleSet>,
    calendar: ArcSwap<WorkCalendar>,
    settings: ArcSwap<SettingsInForce>,
    /// Held while the calendar reloads, so a slower reload cannot put back
    /// an older calendar over a newer one.
    calendar_reload: tokio::sync::Mutex<()>,
    /// The same for the org tree and categories (a change's own reload and the
    /// one another node's announcement starts can overlap)…
    catalog_reload: tokio::sync::Mutex<()>,
    /// …and for the rules…
    rules_reload: tokio::sync::Mutex<()>,
    /// …and for the settings.
    settings_reload: tokio::sync::Mutex<()>,
}

/// The newest saved version of each settings table, `None` where none was ever saved (the
/// defaults apply). Every intake reads them, so they are kept here rather than read per request;
/// a save on any node reaches every node through the change feed (`ChangeEntity::Settings`).
pub struct SettingsInForce {
    pub duplicate_thresholds: Option<ThresholdsVersion>,
    pub screening: Option<ScreeningSettingsVersion>,
    pub auto_dispatch: Option<AutoDispatchVersion>,
}

impl SettingsInForce {
    async fn load<S: Store>(store: &S) -> StoreResult<Self> {
        Ok(Self {
            duplicate_thresholds: store.duplicate_thresholds().await?,
            screening: store.screening_settings().await?,
            auto_dispatch: store.auto_dispatch().await?,
        })
    }
}

impl Caches {
    /// Reads everything from the store (storing the bundled calendar on first start).
    pub async fn load<S: Store>(store: &S) -> StoreResult<Self> {
        let calendar = crate::calendar::load(store).await?;
        let categories = store.list_categories().await?;
        Ok(Self {
            org: ArcSwap::from_pointee(OrgTree::new(store.list_units().await?)),
            keyword_rules: ArcSwap::from_pointee(KeywordRules::new(&categories)),
            categories: ArcSwap::from_pointee(categories),
            rules: ArcSwap::from_pointee(store.current_rules().await?),
            calendar: ArcSwap::from_pointee(calendar),
            settings: ArcSwap::from_pointee(SettingsInForce::load(store).await?),
            calendar_reload: tokio::sync::Mutex::new(()),
            catalog_reload: tokio::sync::Mutex::new(()),
            rules_reload: tokio::sync::Mutex::new(()),
            settings_reload: tokio::sync::Mutex::new(()),
        })
    }

    pub fn org(&self) -> Arc<OrgTree> {
        self.org.load_full()
    }

    pub fn categories(&self) -> Arc<Vec<Category>> {
        self.categories.load_full()
    }

    /// The dispatch catalogue's keyword rules of the active categories.
    pub fn keyword_rules(&self) -> Arc<KeywordRules> {
        self.keyword_rules.load_full()
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.load_full()
    }

    pub fn calendar(&self) -> Arc<WorkCalendar> {
        self.calendar.load_full()
    }

    pub fn settings(&self) -> Arc<SettingsInForce> {
        self.settings.load_full()
    }

    /// Reloads what `signal` names. A request change touches no cache.
    pub async fn apply<S: Store>(&self, store: &S, signal: &Signal) -> StoreResult<()> {
        match signal {
            Signal::RequestChanged(_)
            | Signal::ApprovalChanged(_)
            | Signal::MonitoringChanged(_)
            | Signal::DirectLineChanged(_) => Ok(()),
            Signal::CatalogChanged => self.reload_catalog(store).await,
            Signal::RulesChanged => {
                let _one_at_a_time = self.rules_reload.lock().await;
                self.rules.store(Arc::new(store.current_rules().await?));
                Ok(())
            }
            Signal::CalendarChanged => self.reload_calendar(store).await,
            Signal::SettingsChanged => {
                let _one_at_a_time = self.settings_reload.lock().await;
                self.settings.store(Arc::new(SettingsInForce::load(store).await?));
                Ok(())
            }
        }
    }

    async fn reload_catalog<S: Store>(&self, store: &S) -> StoreResult<()> {
        let _one_at_a_time = self.catalog_reload.lock().await;
        let units = store.list_units().await?;
        let categories = store.list_categories().await?;
        self.org.store(Arc::new(OrgTree::new(units)));
        self.keyword_rules.store(Arc::new(KeywordRules::new(&categories)));
        self.categories.store(Arc::new(categories));
        Ok(())
    }

    async fn reload_calendar<S: Store>(&self, store: &S) -> StoreResult<()> {
        let _one_at_a_time = self.calendar_reload.lock().await;
        let calendar = crate::calendar::load(store).await?;
        self.calendar.store(Arc::new(calendar));
        Ok(())
    }
}
