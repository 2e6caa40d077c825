//! The storage of mashangban, written once for both databases.
//!
//! [`SqlStore`] implements every store trait of `mashangban-store` over a
//! [`Database`]: a backend crate (`store-sqlite`, `store-postgres`) provides
//! only connections, transactions, migrations and the coordination between
//! nodes. Orchestration (load in scope, `lifecycle::apply`, write the row,
//! its event, rollups and outbox rows) and the SQL it runs live here.

mod account_events;
mod approvals;
mod audit;
mod auto_dispatch;
mod calendar;
mod catalog;
pub mod changes;
mod cluster;
mod command;
mod command_reports;
mod compensation;
mod creeks;
mod dashboard;
mod direct_line;
mod documents;
mod duplicates;
mod enforcement;
mod enterprises;
mod fund;
mod health;
mod inbox;
mod knowledge;
mod ledgers;
mod liaisons;
mod locks;
mod monitoring;
mod notifications;
mod onsite;
mod org;
mod outbox;
mod password_resets;
pub mod personal_data;
mod ratelimits;
pub mod requests;
pub mod rows;
mod saved_views;
mod scoring;
mod screening;
mod settings_versions;
pub mod sql;
mod statistics;
mod time_limits;
mod visits;

pub use sql::{Args, Conn, Database, Dialect, Job, Row, Value, job};

/// Every store trait, implemented once over a backend's [`Database`].
#[derive(Clone)]
pub struct SqlStore<D> {
    db: personal_data::Keyed<D>,
    options: std::sync::Arc<StoreOptions>,
}

/// Settings of the store that do not depend on the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Prefix of tracking numbers, e.g. `ZS` for Zhongshan.
    pub tracking_prefix: String,
    /// The keys of personal data at rest (from the configuration, never the database). `None` writes
    /// personal data in plain text, as before encryption: only the bench's baseline uses it.
    pub personal_data: Option<mashangban_domain::personal_data::Keyring>,
    /// Whether every request event is sealed with SM3 in its transaction (防篡改留痕, see
    /// `crate::audit`). Always on: only the bench's measurement of what the seals cost turns it off,
    /// and neither the configuration file nor the command line can.
    pub seal_events: bool,
}

impl Default for StoreOptions {
    /// With the process's ephemeral key: for tests and tools.
    fn default() -> Self {
        Self {
            tracking_prefix: "ZS".into(),
            personal_data: Some(mashangban_domain::personal_data::Keyring::ephemeral()),
            seal_events: true,
        }
    }
}

impl<D: Database> SqlStore<D> {
    pub fn new(db: D, options: StoreOptions) -> Self {
        let db = personal_data::Keyed::new(db, options.personal_data.clone(), options.seal_events);
        Self { db, options: std::sync::Arc::new(options) }
    }

    /// The backend's database.
    pub fn database(&self) -> &D {
        &self.db.db
    }
}
