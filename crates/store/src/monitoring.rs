//! Storage of online monitoring (在线监测): monitoring points with their
//! history, readings deduplicated by (device MN, data time, command, parameter)
//! and exceedance alerts with their history. A batch of readings is written
//! in one transaction together with the alerts its new readings raise, so an
//! alert never exists without its reading and a duplicate reading raises none.

use std::future::Future;

use serde::Serialize;

use mashangban_domain::monitoring::{
    AlertState, Bucket, Facility, MeasuredParameter, NewReading, OutageKind, ParkInput, PermitLimit, PointInput,
    PointKind, ReadingKind,
};
use mashangban_domain::org::UserId;
use mashangban_domain::time::Instant;

use crate::StoreResult;

/// A stored monitoring point. The device password is kept only as a hash
/// ([`MonitoringStore::monitoring_device`]) and never leaves the store otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitoringPoint {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub credit_code: Option<String>,
    pub ledger_item_id: Option<i64>,
    pub mn: String,
    pub standard: String,
    pub grade: u8,
    pub permit_limits: Vec<PermitLimit>,
    pub parameters: Vec<MeasuredParameter>,
    /// The responsible unit (责任单位).
    pub unit_id: i64,
    /// Bumped with every change.
    pub version: i64,
    pub created_at: Instant,
    pub updated_at: Instant,
    /// The data time of its newest reading, if any.
    pub last_reading_at: Option<Instant>,
    /// Minutes without valid data after which a 数据缺失 alert is raised.
    pub offline_after_minutes: u32,
    /// The data time of its newest reading flagged normal (`N` or none), if any.
    pub last_valid_at: Option<Instant>,
    /// The park (智慧园区) it belongs to, if any.
    pub park_id: Option<i64>,
    /// When it was retired (停用): its device is refused and it cannot be changed from then on.
    pub retired_at: Option<Instant>,
}

/// A park under online monitoring (智慧园区); its points name it by `park_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitoringPark {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// The responsible unit.
    pub unit_id: i64,
    pub description: Option<String>,
    /// Its shared facilities (共性工厂).
    pub facilities: Vec<Facility>,
    pub created_at: Instant,
    pub updated_at: Instant,
    pub version: i64,
}

/// A 数据缺失 alert: a point without valid data for longer than its set
/// time. At most one open per point; valid data arriving ends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitoringOutage {
    pub id: i64,
    pub point_id: i64,
    pub kind: OutageKind,
    /// The newest valid data time before it (or the point's creation).
    pub since: Instant,
    pub opened_at: Instant,
    pub recovered_at: Option<Instant>,
}

/// Who changes a point or an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringActor {
    /// `None` for an API token or the receiver.
    pub user_id: Option<UserId>,
    /// As shown in the history: `name（role）`.
    pub name: String,
}

/// One entry of a point's or an alert's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitoringEvent {
    /// `created`, `updated`, `password_changed`; `opened`, `dismissed`.
    pub kind: String,
    pub at: Instant,
    pub by: String,
    pub note: Option<String>,
}

/// One stored reading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReading {
    pub id: i64,
    pub point_id: i64,
    pub kind: ReadingKind,
    pub data_time: Instant,
    pub parameter: String,
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub flag: Option<String>,
    pub received_at: Instant,
}

/// Min / average / max of one parameter over one hour or day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadingAggregate {
    /// The bucket as the stored times begin: `2026-12-04T09` (hour) or `2026-12-04` (day), +08:00.
    pub bucket: String,
    pub count: i64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// What a query of readings asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingQuery {
    pub point_id: i64,
    pub parameter: String,
    pub kind: ReadingKind,
    /// Inclusive.
    pub from: Instant,
    /// Exclusive.
    pub to: Instant,
}

/// An exceedance alert (超标报警).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitoringAlert {
    pub id: i64,
    pub point_id: i64,
    pub reading_id: i64,
    pub parameter: String,
    pub value: f64,
    /// As people write it: `≤150`.
    pub limit: String,
    /// The whole exceedance in one line (value, limit and its source, times over).
    pub description: String,
    pub data_time: Instant,
    pub state: AlertState,
    pub opened_at: Instant,
    pub closed_at: Option<Instant>,
    pub reason: Option<String>,
    pub version: i64,
}

/// The outcome of storing a batch of readings.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct StoredBatch {
    pub inserted: u64,
    /// Already stored (same MN, data time, command and parameter): ignored.
    pub duplicates: u64,
    /// Alerts raised by new readings.
    pub alerts: Vec<MonitoringAlert>,
    /// Points whose 数据缺失 alert the batch's valid data ended.
    pub recovered: Vec<i64>,
}

/// Counts one node's HJ 212 receiver adds to the durable ones: of one source
/// (a device's MN, or `peer:<ip>`), in one hour (`2026-12-05T14`, Shanghai), of one counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverCount {
    pub source: String,
    pub bucket: String,
    /// `stored_packets`, `readings_received`, `bad_frames`, `bad_packets`, `unknown_device`,
    /// `wrong_password`, `bad_time` or `store_failures`.
    pub counter: String,
    pub count: i64,
}

/// A device as the receiver checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringDevice {
    pub point: MonitoringPoint,
    pub password_hash: String,
}

pub trait MonitoringStore {
    /// Creates a point with its `created` event. `409 monitoring_point_exists`
    /// (code taken), `409 monitoring_mn_taken`, `422 unknown_enterprise`, `422 unknown_ledger_item`.
    fn create_monitoring_point(
        &self,
        input: PointInput,
        password_hash: String,
        at: Instant,
        by: MonitoringActor,
    ) -> impl Future<Output = StoreResult<MonitoringPoint>> + Send;

    /// Replaces a point's fields (its code stays) with an `updated` event,
    /// and its password when one is given. With `expected_version`, a point
    /// changed meanwhile is refused (`409 monitoring_point_changed`).
    /// `404 monitoring_point_not_found`, and the refusals of creation.
    fn update_monitoring_point(
        &self,
        code: &str,
        input: PointInput,
        password_hash: Option<String>,
        expected_version: Option<i64>,
        at: Instant,
        by: MonitoringActor,
    ) -> impl Future<Output = StoreResult<MonitoringPoint>> + Send;

    fn monitoring_point(&self, code: &str) -> impl Future<Output = StoreResult<Option<MonitoringPoint>>> + Send;

    fn monitoring_point_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<MonitoringPoint>>> + Send;

    /// Every point, by code.
    fn monitoring_points(&self) -> impl Future<Output = StoreResult<Vec<MonitoringPoint>>> + Send;

    /// A point by its device's MN, with the device password's hash.
    fn monitoring_device(&self, mn: &str) -> impl Future<Output = StoreResult<Option<MonitoringDevice>>> + Send;

    /// A point's history, oldest first.
    fn monitoring_point_events(&self, point_id: i64) -> impl Future<Output = StoreResult<Vec<MonitoringEvent>>> + Send;

    /// Stores readings in one transaction: a reading already stored is
    /// ignored; a new one carrying an exceedance opens an alert with its
    /// `opened` event and a change-feed row. At most
    /// `MAX_READINGS_PER_BATCH` (`422 too_many_readings`).
    fn insert_readings(
        &self,
        readings: Vec<NewReading>,
        at: Instant,
    ) -> impl Future<Output = StoreResult<StoredBatch>> + Send;

    /// Readings of one parameter of one point, oldest first, at most `limit` (1..=10000).
    fn readings(&self, query: ReadingQuery, limit: u32)
    -> impl Future<Output = StoreResult<Vec<StoredReading>>> + Send;

    /// Min / avg / max per hour or day, oldest first.
    fn reading_aggregates(
        &self,
        query: ReadingQuery,
        bucket: Bucket,
    ) -> impl Future<Output = StoreResult<Vec<ReadingAggregate>>> + Send;

    /// The newest reading of each parameter of the point.
    fn latest_readings(&self, point_id: i64) -> impl Future<Output = StoreResult<Vec<StoredReading>>> + Send;

    /// Alerts, newest first, at most `limit` (1..=5000): of one state and/or one point when given.
    fn monitoring_alerts(
        &self,
        state: Option<AlertState>,
        point_id: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<MonitoringAlert>>> + Send;

    fn monitoring_alert(&self, id: i64) -> impl Future<Output = StoreResult<Option<MonitoringAlert>>> + Send;

    fn monitoring_alert_events(&self, alert_id: i64) -> impl Future<Output = StoreResult<Vec<MonitoringEvent>>> + Send;

    /// Opens a 数据缺失 alert of a point with an `offline` event and a
    /// change-feed row, unless one is open already (`None`: a rescan,
    /// another node). `404 monitoring_point_not_found`.
    fn open_monitoring_outage(
        &self,
        point_id: i64,
        kind: OutageKind,
        since: Instant,
        at: Instant,
    ) -> impl Future<Output = StoreResult<Option<MonitoringOutage>>> + Send;

    /// 数据缺失 alerts, newest first, at most `limit` (1..=5000): open ones only with
    /// `open_only`, of one point when given.
    fn monitoring_outages(
        &self,
        open_only: bool,
        point_id: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<MonitoringOutage>>> + Send;

    /// Creates the park of `input.code` or replaces its fields, and makes
    /// exactly `input.points` its points (others leave it; a point of another
    /// park moves). `422 unknown_point` naming the codes not found; nothing written then.
    fn put_monitoring_park(
        &self,
        input: ParkInput,
        at: Instant,
    ) -> impl Future<Output = StoreResult<MonitoringPark>> + Send;

    /// Every park, by code.
    fn monitoring_parks(&self) -> impl Future<Output = StoreResult<Vec<MonitoringPark>>> + Send;

    fn monitoring_park(&self, code: &str) -> impl Future<Output = StoreResult<Option<MonitoringPark>>> + Send;

    /// How many hourly values (HJ 212 2061) of each (point, parameter) of
    /// `series` have a data time in `[from, to)`, per Shanghai day (`2026-12-04`), oldest first.
    fn hourly_counts_by_day(
        &self,
        series: Vec<(i64, String)>,
        from: Instant,
        to: Instant,
    ) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;

    /// Dismisses an open alert with a reason, with its `dismissed` event and a
    /// change-feed row. `404 monitoring_alert_not_found`, `409 alert_not_open`.
    fn dismiss_monitoring_alert(
        &self,
        id: i64,
        reason: String,
        at: Instant,
        by: MonitoringActor,
    ) -> impl Future<Output = StoreResult<MonitoringAlert>> + Send;

    /// Retires a point (停用) with a `retired` event carrying the reason and a
    /// change-feed row. With `expected_version`, a point changed meanwhile is
    /// refused (`409 monitoring_point_changed`). `404 monitoring_point_not_found`,
    /// `409 monitoring_point_retired` (already).
    fn retire_monitoring_point(
        &self,
        code: &str,
        reason: String,
        expected_version: Option<i64>,
        at: Instant,
        by: MonitoringActor,
    ) -> impl Future<Output = StoreResult<MonitoringPoint>> + Send;

    /// Adds receiver counts to the durable ones in one transaction (a row per
    /// source, hour and counter, summed with what other nodes and earlier batches added).
    fn add_receiver_counts(&self, counts: Vec<ReceiverCount>) -> impl Future<Output = StoreResult<()>> + Send;

    /// The durable receiver counts of every source from the hour `since` (`2026-12-05T14`) on,
    /// summed over hours and nodes: (source, counter, total), by source and counter.
    fn receiver_totals(&self, since: String) -> impl Future<Output = StoreResult<Vec<(String, String, i64)>>> + Send;
}
