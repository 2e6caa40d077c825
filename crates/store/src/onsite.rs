//! Storage of on-site service (行走办): the service catalogue (服务事项目录),
//! the service centres with their daily capacity, and on-site requests with
//! their history. Every change of a request is written with its history row
//! in one transaction, under a version check; an accept or proposal counts
//! the day's sessions inside that transaction, after locking the centre's
//! row, so two staff cannot fill the last slot twice.

use std::future::Future;

use chrono::NaiveDate;
use serde::Serialize;

use mashangban_domain::onsite::{EnterpriseNotice, Onsite, OnsiteStage};
use mashangban_domain::time::Instant;

use crate::{EnforcementActor, StoreResult};

/// An item of the service catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceItem {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// The department whose service it is.
    pub unit_id: i64,
    pub active: bool,
}

/// A catalogue item as entered (its code unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceItemInput {
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    pub active: bool,
}

/// A service centre (政务服务中心): a unit of the org tree that sends teams out, with its capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceCentre {
    pub id: i64,
    pub unit_id: i64,
    pub name: String,
    /// Sessions it can hold per day (每日可上门场次).
    pub daily_capacity: u32,
    pub active: bool,
}

/// A centre as entered; one per unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCentreInput {
    pub unit_id: i64,
    pub name: String,
    pub daily_capacity: u32,
    pub active: bool,
}

/// A stored on-site request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnsiteRecord {
    pub id: i64,
    /// `XZB` + the day it was submitted + its id.
    pub number: String,
    pub centre_id: i64,
    pub credit_code: String,
    pub enterprise_name: String,
    pub submitted_by: Option<i64>,
    pub address: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub note: Option<String>,
    pub onsite: Onsite,
    pub submitted_at: Instant,
    pub updated_at: Instant,
    pub version: i64,
}

/// A request to store at 待受理.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOnsite {
    pub centre_id: i64,
    pub credit_code: String,
    pub enterprise_name: String,
    pub submitted_by: Option<i64>,
    pub address: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub note: Option<String>,
    pub onsite: Onsite,
}

/// One history row to write with a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnsiteEvent {
    /// `submitted`, `accepted`, `proposed`, `confirmed`, `refused`, `withdrawn`, `held`, `rated`.
    pub kind: String,
    pub note: Option<String>,
}

/// A change of a request as the domain decided it: written over version `expected`; when `booking`
/// names a day, the day's room is checked in the same transaction; `notice` is rendered in it by the
/// notification templates in force (with `link` the request's page) and queued for the asking
/// enterprise's account (SMS to its phone on file, else the request's contact phone; e-mail to its
/// address on file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnsiteChange {
    pub expected: i64,
    pub onsite: Onsite,
    pub booking: Option<NaiveDate>,
    pub event: OnsiteEvent,
    pub notice: Option<EnterpriseNotice>,
}

/// One entry of a request's history as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnsiteHistoryEntry {
    pub kind: String,
    pub note: Option<String>,
    /// The stage after the change.
    pub stage: OnsiteStage,
    pub at: Instant,
    pub by: String,
}

/// Which requests to list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnsiteFilter {
    pub stage: Option<OnsiteStage>,
    /// One enterprise's (enterprise accounts see only their own).
    pub credit_code: Option<String>,
    /// Only these centres' (centre staff); `None` for all.
    pub centres: Option<Vec<i64>>,
    /// Submitted on or after this instant.
    pub from: Option<Instant>,
    /// Submitted before this instant.
    pub until: Option<Instant>,
}

pub trait OnsiteStore {
    /// Adds a catalogue item (`409 duplicate_item_code`, `422 unknown_unit`).
    fn create_service_item(&self, item: ServiceItemInput) -> impl Future<Output = StoreResult<ServiceItem>> + Send;

    /// Changes a catalogue item (`404 item_not_found`, `409 duplicate_item_code`, `422 unknown_unit`).
    fn update_service_item(
        &self,
        id: i64,
        item: ServiceItemInput,
    ) -> impl Future<Output = StoreResult<ServiceItem>> + Send;

    /// The catalogue in code order.
    fn service_items(&self) -> impl Future<Output = StoreResult<Vec<ServiceItem>>> + Send;

    /// Adds a centre (`409 duplicate_centre`: one per unit; `422 unknown_unit`).
    fn create_centre(&self, centre: ServiceCentreInput) -> impl Future<Output = StoreResult<ServiceCentre>> + Send;

    /// Changes a centre's name, unit, capacity or activity (`404 centre_not_found`).
    fn update_centre(
        &self,
        id: i64,
        centre: ServiceCentreInput,
    ) -> impl Future<Output = StoreResult<ServiceCentre>> + Send;

    /// The centres in id order.
    fn centres(&self) -> impl Future<Output = StoreResult<Vec<ServiceCentre>>> + Send;

    /// Stores a new request with its `submitted` row.
    fn submit_onsite(
        &self,
        new: NewOnsite,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<OnsiteRecord>> + Send;

    /// Writes the change with its history row. When it books a day, the centre's row is locked and
    /// the sessions held that day by its other requests are counted in the same transaction;
    /// `409 over_capacity` at its capacity. `404 onsite_not_found`, `409 onsite_changed`.
    fn change_onsite(
        &self,
        id: i64,
        change: OnsiteChange,
        at: Instant,
        by: EnforcementActor,
    ) -> impl Future<Output = StoreResult<OnsiteRecord>> + Send;

    fn onsite(&self, id: i64) -> impl Future<Output = StoreResult<Option<OnsiteRecord>>> + Send;

    /// Requests, newest first, at most `limit` (1..=5000).
    fn onsite_requests(
        &self,
        filter: OnsiteFilter,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OnsiteRecord>>> + Send;

    /// Sessions a centre holds on each day of `from..=to` (dates with none left out).
    fn centre_sessions(
        &self,
        centre_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = StoreResult<Vec<(NaiveDate, u32)>>> + Send;

    /// A request's history, oldest first.
    fn onsite_history(&self, id: i64) -> impl Future<Output = StoreResult<Vec<OnsiteHistoryEntry>>> + Send;
}
