//! Storage of spam screening (垃圾信息甄别): each screened submission's verdict and staff's decision
//! (written with the request: at intake, and by the release and mark-spam actions in their event's
//! transaction), the look-up of repeats, the versioned settings, and the examples the classifier
//! learns from.

use std::future::Future;

use mashangban_domain::request::RequestId;
use mashangban_domain::screening::{Decision, Settings};
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A screened request's verdict and what staff decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningRecord {
    pub request_id: RequestId,
    pub score: f64,
    pub reasons: Vec<String>,
    /// Held at intake (待甄别).
    pub held: bool,
    pub screened_at: Instant,
    pub decision: Option<Decision>,
    /// Who decided (their name).
    pub decided_by: Option<String>,
    pub decided_at: Option<Instant>,
}

/// One version of the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningSettingsVersion {
    pub version: i64,
    pub settings: Settings,
    pub changed_by: String,
    pub changed_at: Instant,
}

/// A request's text as the classifier learns from it, and whether staff called it spam.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningExample {
    pub title: String,
    pub content: String,
    pub spam: bool,
}

/// Storage of spam screening.
pub trait ScreeningStore {
    /// How many public submissions with this text digest were screened at or after `since`
    /// (an indexed look-up).
    fn screening_repeats(&self, fingerprint: &str, since: Instant) -> impl Future<Output = StoreResult<u32>> + Send;

    /// The screenings of these requests (those never screened are left out).
    fn screenings(&self, request_ids: Vec<RequestId>)
    -> impl Future<Output = StoreResult<Vec<ScreeningRecord>>> + Send;

    /// The settings in force (the newest version); None before an administrator saved any.
    fn screening_settings(&self) -> impl Future<Output = StoreResult<Option<ScreeningSettingsVersion>>> + Send;

    /// The newest `limit` versions, newest first.
    fn screening_settings_history(
        &self,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ScreeningSettingsVersion>>> + Send;

    /// Saves a new version and answers it.
    fn save_screening_settings(
        &self,
        settings: Settings,
        changed_by: String,
        at: Instant,
    ) -> impl Future<Output = StoreResult<ScreeningSettingsVersion>> + Send;

    /// What the classifier learns from, received in `[from, to)`, newest first, at most `limit` of
    /// each class: requests staff marked spam, and genuine requests (released, or never held).
    fn screening_examples(
        &self,
        received_from: Option<Instant>,
        received_to: Option<Instant>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<ScreeningExample>>> + Send;
}
