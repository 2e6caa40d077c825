//! Storage of creek water samples (河涌水质采样) and plans (一河一策).
//!
//! Grab samples live in their own table rather than among the monitoring
//! readings: a reading belongs to a monitoring point's device (its MN and
//! password, an HJ 212 command in a checked set) and is checked for
//! exceedance against the point's grade, while a grab sample is taken by a
//! person at a creek that may have no point at all. Samples are append-only.
//! A plan is one JSON document per creek with a version; every save writes
//! the version before and after with who and when in the same job.

use std::collections::BTreeMap;
use std::future::Future;

use mashangban_domain::creek::Plan;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// Who writes, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreekAuthor {
    pub user_id: Option<i64>,
    pub name: String,
    pub at: Instant,
}

/// Where a sample came from.
pub const SAMPLE_SOURCES: [&str; 2] = ["manual", "import"];

/// A grab sample to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCreekSample {
    pub sampled_at: Instant,
    pub section: Option<String>,
    /// By GB 3838 item key, mg/L.
    pub values: BTreeMap<String, f64>,
    /// `manual` or `import`.
    pub source: String,
}

/// A grab sample as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CreekSample {
    pub id: i64,
    pub item_id: i64,
    pub sampled_at: Instant,
    pub section: Option<String>,
    pub values: BTreeMap<String, f64>,
    pub source: String,
    pub by_user: Option<i64>,
    pub by_name: String,
    pub created_at: Instant,
}

/// A creek's plan, current version.
#[derive(Debug, Clone, PartialEq)]
pub struct CreekPlan {
    pub item_id: i64,
    pub plan: Plan,
    /// 1 when first saved, one more with every save.
    pub version: i64,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// One save of a plan: the version it made, and the plan before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct CreekPlanChange {
    pub version: i64,
    pub at: Instant,
    pub by_user: Option<i64>,
    pub by_name: String,
    pub before: Option<Plan>,
    pub after: Plan,
}

/// `409 creek_plan_changed`: the plan was saved by someone else since `current`.
pub fn creek_plan_changed(current: i64) -> mashangban_domain::DomainError {
    mashangban_domain::DomainError::conflict(
        "creek_plan_changed",
        format!("一河一策已被他人修改（当前版本{current}），请刷新后再改"),
    )
}

pub trait CreekStore {
    /// Stores samples of one creek item, all or none.
    fn add_creek_samples(
        &self,
        item_id: i64,
        samples: Vec<NewCreekSample>,
        author: CreekAuthor,
    ) -> impl Future<Output = StoreResult<Vec<CreekSample>>> + Send;

    /// A creek's samples taken at or after `since`, newest first, at most `limit`.
    fn creek_samples(
        &self,
        item_id: i64,
        since: Instant,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<CreekSample>>> + Send;

    /// The newest sample of each of these items that has one.
    fn latest_creek_samples(&self, item_ids: Vec<i64>) -> impl Future<Output = StoreResult<Vec<CreekSample>>> + Send;

    /// A creek's plan, if one was saved.
    fn creek_plan(&self, item_id: i64) -> impl Future<Output = StoreResult<Option<CreekPlan>>> + Send;

    /// Every saved plan, by item id.
    fn creek_plans(&self) -> impl Future<Output = StoreResult<Vec<CreekPlan>>> + Send;

    /// Saves a plan made on `version` (0: no plan yet) and records the change:
    /// `409 creek_plan_changed` when the stored version differs.
    fn save_creek_plan(
        &self,
        item_id: i64,
        plan: Plan,
        version: i64,
        author: CreekAuthor,
    ) -> impl Future<Output = StoreResult<CreekPlan>> + Send;

    /// A plan's changes, newest first.
    fn creek_plan_changes(&self, item_id: i64) -> impl Future<Output = StoreResult<Vec<CreekPlanChange>>> + Send;
}
