//! Signals and job locks between the app nodes (节点) that share one database.
//!
//! The embedded SQLite store serves one node, so it announces nothing and
//! every job lock is granted. The PostgreSQL store relays signals with
//! `LISTEN`/`NOTIFY` and takes job locks as session advisory locks, which the
//! database releases by itself when a node dies.

use std::any::Any;
use std::future::Future;

use crate::StoreResult;

/// Something one node changed that the others must learn of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A request changed (by tracking number): live progress pages reload it.
    RequestChanged(String),
    /// Units, users' units or categories changed: reload the org tree and catalogue.
    CatalogChanged,
    /// A new version of the time-limit rules was published.
    RulesChanged,
    /// The work calendar changed.
    CalendarChanged,
    /// An approval project changed (by id): 拿地即开工 live pages reload it.
    ApprovalChanged(i64),
    /// A monitoring point or one of its alerts changed (by the point's id): monitoring pages reload it.
    MonitoringChanged(i64),
    /// A direct-line item changed (by id): the leaders' and the office's live lists reload.
    DirectLineChanged(i64),
    /// A new version of a settings table (duplicate thresholds, screening, automatic dispatch).
    SettingsChanged,
}

impl Signal {
    /// The signal as a short text (a `NOTIFY` payload).
    pub fn encode(&self) -> String {
        match self {
            Self::RequestChanged(no) => format!("request:{no}"),
            Self::CatalogChanged => "catalog".into(),
            Self::RulesChanged => "rules".into(),
            Self::CalendarChanged => "calendar".into(),
            Self::SettingsChanged => "settings".into(),
            Self::ApprovalChanged(id) => format!("approval:{id}"),
            Self::MonitoringChanged(id) => format!("monitoring:{id}"),
            Self::DirectLineChanged(id) => format!("direct_line:{id}"),
        }
    }

    /// Reads [`Signal::encode`]'s text; None for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        match text {
            "catalog" => Some(Self::CatalogChanged),
            "rules" => Some(Self::RulesChanged),
            "calendar" => Some(Self::CalendarChanged),
            "settings" => Some(Self::SettingsChanged),
            _ if text.starts_with("approval:") => {
                text.strip_prefix("approval:").and_then(|id| id.parse().ok()).map(Self::ApprovalChanged)
            }
            _ if text.starts_with("monitoring:") => {
                text.strip_prefix("monitoring:").and_then(|id| id.parse().ok()).map(Self::MonitoringChanged)
            }
            _ if text.starts_with("direct_line:") => {
                text.strip_prefix("direct_line:").and_then(|id| id.parse().ok()).map(Self::DirectLineChanged)
            }
            _ => text
                .strip_prefix("request:")
                .filter(|no| !no.is_empty() && no.len() <= 64)
                .map(|no| Self::RequestChanged(no.to_owned())),
        }
    }
}

/// A held job lock; dropping it releases the lock.
pub struct JobLock {
    _held: Option<Box<dyn Any + Send>>,
}

impl JobLock {
    /// A lock that holds nothing to release (single-node backends).
    pub fn granted() -> Self {
        Self { _held: None }
    }

    /// A lock released when `held` is dropped.
    pub fn holding(held: impl Any + Send) -> Self {
        Self { _held: Some(Box::new(held)) }
    }
}

/// Coordination between the app nodes sharing one database.
pub trait ClusterStore {
    /// Tells the other nodes about a change this node has committed.
    fn announce(&self, signal: Signal) -> impl Future<Output = StoreResult<()>> + Send;

    /// The signals the other nodes announce; None when the backend serves one node only.
    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>>;

    /// Takes the cluster-wide lock of a background job (e.g. `deadline-scan`)
    /// unless another node holds it. The lock lasts until it is dropped or its
    /// node dies, so a job is never run by two nodes at once nor left orphaned.
    fn try_lock_job(&self, job: &'static str) -> impl Future<Output = StoreResult<Option<JobLock>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_and_junk_is_refused() {
        for s in [
            Signal::RequestChanged("ZS20261129000001".into()),
            Signal::CatalogChanged,
            Signal::RulesChanged,
            Signal::CalendarChanged,
            Signal::SettingsChanged,
            Signal::ApprovalChanged(12),
            Signal::MonitoringChanged(7),
            Signal::DirectLineChanged(3),
        ] {
            assert_eq!(Signal::decode(&s.encode()), Some(s));
        }
        assert_eq!(Signal::decode("request:"), None);
        assert_eq!(Signal::decode("drop table"), None);
    }
}
