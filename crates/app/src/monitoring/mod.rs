//! Online monitoring (在线监测): monitoring points (监测点位) and their devices,
//! readings from the HJ 212 receiver ([`receiver`]) and the HTTP batch upload
//! ([`upload`]), hourly and daily min/avg/max, and exceedance alerts (超标报警)
//! raised as readings are stored and dismissed with a reason.
//!
//! Access: all staff read (`ReadMonitoring`); administrators and dispatchers
//! create and change points and upload readings (`ManageMonitoring`);
//! handlers and unit leaders of a point's responsible unit, and
//! administrators, dismiss its alerts (`HandleMonitoringAlerts`). The device
//! password is stored as a salted hash and never shown.

pub mod parks;
pub mod receiver;
pub mod upload;

use std::collections::BTreeMap;

use chrono::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::DomainError;
use mashangban_domain::environment::LimitOverride;
use mashangban_domain::monitoring::{
    AlertState, Bucket, MeasuredParameter, NewReading, PermitLimit, PointDraft, PointInput, ReadingKind,
    alert_not_found, check_device_password, check_reading, device_password_hash, outage_due, point_not_found,
    standard_named,
};
use mashangban_domain::org::{Role, UnitKind};
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_store::{
    MonitoringActor, MonitoringAlert, MonitoringEvent, MonitoringOutage, MonitoringPoint, ReadingAggregate,
    ReadingQuery, Store, StoredBatch, StoredReading,
};

use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The longest span one series query covers.
const MAX_SPAN: Duration = Duration::days(400);
/// Raw readings one query answers at most.
const MAX_RAW_READINGS: u32 = 10_000;

/// The monitoring service: `app.monitoring()`.
pub struct Monitoring<'a, S> {
    app: &'a App<S>,
}

/// A point as entered. On update the code comes from the path and the
/// password may be left out (kept).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PointBody {
    #[serde(default)]
    pub code: String,
    pub name: String,
    /// `enterprise_outlet`, `park_outlet` or `creek_section`.
    pub kind: String,
    /// The enterprise's credit code, which must be in the registry.
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The outlet's or creek's ledger item.
    #[serde(default)]
    pub ledger_item_id: Option<i64>,
    /// The device's MN (设备唯一标识).
    pub mn: String,
    /// The device's password (PW); never shown again.
    #[serde(default)]
    pub password: Option<String>,
    /// A bundled standard's code, e.g. `GB 8978-1996`.
    pub standard: String,
    /// Its grade or class, from 1.
    pub grade: u8,
    #[serde(default)]
    pub permit_limits: Vec<PermitLimit>,
    pub parameters: Vec<MeasuredParameter>,
    /// The responsible unit's code: the environment bureau or a town.
    pub unit: String,
    /// Minutes without valid data before a 数据缺失 alert (5–10080; 120 when absent).
    #[serde(default)]
    pub offline_after_minutes: Option<u32>,
    /// The version the change was made on (optional optimistic check).
    #[serde(default)]
    pub version: Option<i64>,
}

/// Retiring a point (停用): why, and optionally the version it was decided on.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    #[schemars(length(max = 500))]
    pub reason: String,
    #[serde(default)]
    pub version: Option<i64>,
}

/// The points list's search: `park` (a park's code), `q` (part of the enterprise's credit
/// code or name, the point's code or name, or the device MN), `retired=true` for retired ones too.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct PointSearch {
    #[serde(default)]
    pub park: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub retired: Option<bool>,
}

/// A point as found by [`Monitoring::search`]: with its park and enterprise names.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PointRow {
    #[serde(flatten)]
    pub point: PointView,
    pub park_code: Option<String>,
    pub park_name: Option<String>,
    pub enterprise_name: Option<String>,
}

/// A point as shown: never its password.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PointView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub credit_code: Option<String>,
    pub ledger_item_id: Option<i64>,
    pub mn: String,
    pub standard: String,
    pub standard_name: String,
    pub grade: u8,
    pub grade_name: String,
    pub permit_limits: Vec<PermitLimit>,
    pub parameters: Vec<MeasuredParameter>,
    pub unit: Option<UnitRef>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub last_reading_at: Option<String>,
    /// The data time of the newest value flagged normal.
    pub last_valid_at: Option<String>,
    /// Minutes without valid data before the point is offline and a 数据缺失 alert is raised.
    pub offline_after_minutes: u32,
    /// `retired` (停用), else `normal`, `exceeding` (an open alert) or `offline` (no valid data yet,
    /// or none for `offline_after_minutes`).
    pub status: String,
    pub status_label: String,
    pub open_alerts: usize,
    /// When it was retired (停用).
    pub retired_at: Option<String>,
}

/// A 数据缺失 alert: a point without valid data for longer than its set time.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutageView {
    pub id: i64,
    pub point_code: String,
    pub point_name: String,
    pub unit: Option<UnitRef>,
    /// `silent` (nothing arrives) or `flagged` (only values flagged not normal).
    pub kind: String,
    pub kind_label: String,
    /// The newest valid data time before it (or the point's creation).
    pub since: String,
    pub opened_at: String,
    pub recovered_at: Option<String>,
    pub open: bool,
}

/// The missing-data list's filter: `state=all` for recovered ones too (open ones by default), `point`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct OutageQuery {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub point: Option<String>,
}

/// One stored value.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReadingView {
    pub parameter: String,
    pub kind: String,
    pub data_time: String,
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub flag: Option<String>,
    pub unit: Option<String>,
}

/// One entry of a history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    pub kind: String,
    pub at: String,
    pub by: String,
    pub note: Option<String>,
}

/// A point with its latest values, alerts and history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PointDetail {
    #[serde(flatten)]
    pub point: PointView,
    pub latest: Vec<ReadingView>,
    pub alerts: Vec<AlertView>,
    /// Its 数据缺失 alerts, newest first.
    pub outages: Vec<OutageView>,
    pub history: Vec<EventView>,
}

/// An exceedance alert.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertView {
    pub id: i64,
    pub point_code: String,
    pub point_name: String,
    pub unit: Option<UnitRef>,
    pub parameter: String,
    pub value: f64,
    pub limit: String,
    pub description: String,
    pub data_time: String,
    pub state: String,
    pub state_label: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub reason: Option<String>,
    pub version: i64,
}

/// An alert with its history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertView,
    pub history: Vec<EventView>,
}

/// A dismissal: why the alert is not an exceedance (e.g. a device fault confirmed on site).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    #[schemars(length(max = 500))]
    pub reason: String,
}

/// A series query: `parameter` (HJ 212 code), `kind` (`minute` by default),
/// `from` and `to` (RFC 3339; the last 24 hours by default), `bucket`
/// (`hour` or `day`; raw readings when absent).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct SeriesQuery {
    pub parameter: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
}

/// A series: raw readings or aggregates.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Series {
    pub point: String,
    pub parameter: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub bucket: Option<String>,
    pub readings: Vec<ReadingView>,
    pub aggregates: Vec<AggregateView>,
}

/// Min / avg / max over one hour (`2026-12-04T09`) or day (`2026-12-04`), +08:00.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AggregateView {
    pub bucket: String,
    pub count: i64,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// The alerts list's filter: `state` (`open` by default, `all` for every state) and `point`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct AlertQuery {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub point: Option<String>,
}

impl<'a, S: Store> Monitoring<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Creates a point (`422` on any invalid field, `409 monitoring_point_exists` / `monitoring_mn_taken`).
    pub async fn create(&self, caller: &Caller, body: PointBody) -> AppResult<PointView> {
        let password = body.password.clone().unwrap_or_default();
        let input = self.input(body)?;
        check_device_password(&password)?;
        let hash = device_password_hash(&input.mn, &password);
        let point = self.app.store().create_monitoring_point(input, hash, self.app.now(), actor(caller)).await?;
        self.app.live().publish_monitoring(point.id);
        self.view_one(point).await
    }

    /// Changes a point; the password only when given.
    pub async fn update(&self, caller: &Caller, code: &str, body: PointBody) -> AppResult<PointView> {
        let version = body.version;
        let password = body.password.clone();
        let input = self.input(PointBody { code: code.to_owned(), ..body })?;
        let hash = match password.as_deref() {
            Some(pw) => {
                check_device_password(pw)?;
                Some(device_password_hash(&input.mn, pw))
            }
            None => None,
        };
        let store = self.app.store();
        if hash.is_none() && store.monitoring_point(code).await?.is_some_and(|p| p.mn != input.mn) {
            // The hash is salted with the MN: a new MN needs the password again.
            return Err(AppError::invalid("device_password_required", "更换设备MN号时须同时填写设备访问密码"));
        }
        let point = store.update_monitoring_point(code, input, hash, version, self.app.now(), actor(caller)).await?;
        self.app.live().publish_monitoring(point.id);
        self.view_one(point).await
    }

    /// Retires a point with a reason (`409 monitoring_point_retired` when it is already,
    /// `monitoring_point_changed` at another version). Its device is refused from then on.
    pub async fn retire(&self, caller: &Caller, code: &str, body: RetireBody) -> AppResult<PointView> {
        let reason = mashangban_domain::validation::required_text("停用原因", &body.reason, 500)?;
        let point =
            self.app.store().retire_monitoring_point(code, reason, body.version, self.app.now(), actor(caller)).await?;
        self.app.live().publish_monitoring(point.id);
        self.view_one(point).await
    }

    /// Points matching a search, by code, with their park and enterprise names.
    pub async fn search(&self, query: &PointSearch) -> AppResult<Vec<PointRow>> {
        let store = self.app.store();
        let parks: BTreeMap<i64, (String, String)> =
            store.monitoring_parks().await?.into_iter().map(|p| (p.id, (p.code, p.name))).collect();
        let park = query.park.as_deref().map(str::trim).filter(|p| !p.is_empty());
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_uppercase);
        let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut rows = Vec::new();
        for (point, view) in self.list_with_park().await? {
            let park_of = point.park_id.and_then(|id| parks.get(&id));
            if park.is_some_and(|code| park_of.is_none_or(|(c, _)| c != code))
                || (point.retired_at.is_some() && query.retired != Some(true))
            {
                continue;
            }
            let enterprise_name = match &point.credit_code {
                Some(code) => match names.get(code) {
                    Some(name) => name.clone(),
                    None => {
                        let name = store
                            .enterprise(code, mashangban_domain::enterprise::EnterpriseScope::All)
                            .await?
                            .map(|e| e.name);
                        names.insert(code.clone(), name.clone());
                        name
                    }
                },
                None => None,
            };
            if let Some(q) = &q {
                let texts = [Some(&point.code), Some(&point.name), Some(&point.mn), point.credit_code.as_ref()];
                let hit =
                    texts.into_iter().flatten().chain(enterprise_name.as_ref()).any(|t| t.to_uppercase().contains(q));
                if !hit {
                    continue;
                }
            }
            rows.push(PointRow {
                point: view,
                park_code: park_of.map(|(c, _)| c.clone()),
                park_name: park_of.map(|(_, n)| n.clone()),
                enterprise_name,
            });
        }
        Ok(rows)
    }

    fn input(&self, body: PointBody) -> AppResult<PointInput> {
        let org = self.app.caches().org();
        let unit_id = match org.by_code(body.unit.trim()) {
            Some(u) if u.active && matches!(u.kind, UnitKind::Department | UnitKind::Town | UnitKind::Subunit) => u.id,
            _ => {
                return Err(AppError::invalid(
                    "unknown_unit",
                    format!("「{}」不是组织架构中的部门或镇街", body.unit.chars().take(24).collect::<String>()),
                ));
            }
        };
        Ok(PointInput::new(PointDraft {
            code: body.code,
            name: body.name,
            kind: body.kind,
            credit_code: body.credit_code,
            ledger_item_id: body.ledger_item_id,
            mn: body.mn,
            standard: body.standard,
            grade: body.grade,
            permit_limits: body.permit_limits,
            parameters: body.parameters,
            unit_id,
            offline_after_minutes: body.offline_after_minutes,
        })?)
    }

    /// Every point with its live status, by code.
    pub async fn list(&self) -> AppResult<Vec<PointView>> {
        let points = self.app.store().monitoring_points().await?;
        let open = self.open_alert_counts().await?;
        Ok(points.into_iter().map(|p| self.view(&p, open.get(&p.id).copied().unwrap_or(0))).collect())
    }

    /// A point with its latest values, its alerts (newest first) and its history.
    pub async fn get(&self, code: &str) -> AppResult<PointDetail> {
        let point = self.point(code).await?;
        let store = self.app.store();
        let alerts = store.monitoring_alerts(None, Some(point.id), 200).await?;
        let open = alerts.iter().filter(|a| a.state == AlertState::Open).count();
        let latest = store.latest_readings(point.id).await?.iter().map(|r| reading_view(&point, r)).collect();
        let history = store.monitoring_point_events(point.id).await?.into_iter().map(event_view).collect();
        let outages = store.monitoring_outages(false, Some(point.id), 200).await?;
        let outages = outages.iter().map(|o| self.outage_view(o, &point)).collect();
        let view = self.view(&point, open);
        let alerts = alerts.iter().map(|a| self.alert_view(a, &point)).collect();
        Ok(PointDetail { point: view, latest, alerts, outages, history })
    }

    /// A parameter's readings or their hourly / daily min/avg/max over a span.
    pub async fn series(&self, code: &str, query: SeriesQuery) -> AppResult<Series> {
        let point = self.point(code).await?;
        let kind = match query.kind.as_deref() {
            None | Some("") => ReadingKind::Minute,
            Some(k) => ReadingKind::parse(k)
                .ok_or_else(|| AppError::invalid("invalid_kind", "数据类型应为 real_time、minute、hour 或 day"))?,
        };
        let bucket = match query.bucket.as_deref() {
            None | Some("") => None,
            Some(b) => {
                Some(Bucket::parse(b).ok_or_else(|| AppError::invalid("invalid_bucket", "汇总粒度应为 hour 或 day"))?)
            }
        };
        let now = self.app.now();
        let to = optional_time(query.to.as_deref())?.unwrap_or(now);
        let from = optional_time(query.from.as_deref())?.unwrap_or(to - Duration::days(1));
        if from >= to || to - from > MAX_SPAN {
            return Err(AppError::invalid("invalid_span", "起止时间应先后有序，且跨度不超过400天"));
        }
        let parameter = query.parameter.trim().to_owned();
        let q = ReadingQuery { point_id: point.id, parameter: parameter.clone(), kind, from, to };
        let store = self.app.store();
        let (readings, aggregates) = match bucket {
            None => {
                (store.readings(q, MAX_RAW_READINGS).await?.iter().map(|r| reading_view(&point, r)).collect(), vec![])
            }
            Some(b) => (vec![], store.reading_aggregates(q, b).await?.into_iter().map(aggregate_view).collect()),
        };
        Ok(Series {
            point: point.code,
            parameter,
            kind: kind.code().into(),
            from: format_instant(&from),
            to: format_instant(&to),
            bucket: bucket.map(|b| if b == Bucket::Hour { "hour".into() } else { "day".into() }),
            readings,
            aggregates,
        })
    }

    /// Alerts, newest first.
    pub async fn alerts(&self, query: AlertQuery) -> AppResult<Vec<AlertView>> {
        let state =
            match query.state.as_deref() {
                None | Some("") | Some("open") => Some(AlertState::Open),
                Some("all") => None,
                Some(s) => Some(AlertState::parse(s).ok_or_else(|| {
                    AppError::invalid("invalid_state", "报警状态应为 open、dismissed、escalated 或 all")
                })?),
            };
        let point = match query.point.as_deref().filter(|p| !p.is_empty()) {
            Some(code) => Some(self.point(code).await?.id),
            None => None,
        };
        let alerts = self.app.store().monitoring_alerts(state, point, 1000).await?;
        self.alert_views(&alerts).await
    }

    /// 数据缺失 alerts, newest first: open ones, or all with `state=all`.
    pub async fn outages(&self, query: OutageQuery) -> AppResult<Vec<OutageView>> {
        let open_only = match query.state.as_deref() {
            None | Some("") | Some("open") => true,
            Some("all") => false,
            Some(_) => return Err(AppError::invalid("invalid_state", "数据缺失报警状态应为 open 或 all")),
        };
        let point = match query.point.as_deref().filter(|p| !p.is_empty()) {
            Some(code) => Some(self.point(code).await?.id),
            None => None,
        };
        let outages = self.app.store().monitoring_outages(open_only, point, 1000).await?;
        let points: BTreeMap<i64, MonitoringPoint> =
            self.app.store().monitoring_points().await?.into_iter().map(|p| (p.id, p)).collect();
        Ok(outages.iter().filter_map(|o| Some(self.outage_view(o, points.get(&o.point_id)?))).collect())
    }

    /// One alert with its history.
    pub async fn alert(&self, id: i64) -> AppResult<AlertDetail> {
        let store = self.app.store();
        let alert = store.monitoring_alert(id).await?.ok_or_else(alert_not_found)?;
        let point = store.monitoring_point_by_id(alert.point_id).await?.ok_or_else(point_not_found)?;
        let history = store.monitoring_alert_events(id).await?.into_iter().map(event_view).collect();
        Ok(AlertDetail { alert: self.alert_view(&alert, &point), history })
    }

    /// Dismisses an open alert with a reason. Staff other than administrators
    /// may dismiss only the alerts of points their unit is responsible for
    /// (`403 not_responsible_unit`).
    pub async fn dismiss(&self, caller: &Caller, id: i64, body: DismissBody) -> AppResult<AlertDetail> {
        let reason = mashangban_domain::validation::required_text("排除理由", &body.reason, 500)?;
        let store = self.app.store();
        let alert = store.monitoring_alert(id).await?.ok_or_else(alert_not_found)?;
        let point = store.monitoring_point_by_id(alert.point_id).await?.ok_or_else(point_not_found)?;
        if caller.actor.role() != Some(Role::Admin) && caller.actor.unit_id() != Some(point.unit_id) {
            return Err(AppError::from(DomainError {
                kind: mashangban_domain::error::ErrorKind::Forbidden,
                code: "not_responsible_unit",
                message: "只有点位的责任单位才能排除其报警".into(),
            }));
        }
        store.dismiss_monitoring_alert(id, reason, self.app.now(), actor(caller)).await?;
        self.app.live().publish_monitoring(point.id);
        self.alert(id).await
    }

    /// Checks each reading against its point and stores the batch; wakes the live pages of points with new alerts.
    pub async fn store_readings(&self, readings: Vec<NewReading>) -> AppResult<StoredBatch> {
        let batch = self.app.store().insert_readings(readings, self.app.now()).await?;
        let mut points: Vec<i64> =
            batch.alerts.iter().map(|a| a.point_id).chain(batch.recovered.iter().copied()).collect();
        points.sort_unstable();
        points.dedup();
        for point in points {
            self.app.live().publish_monitoring(point);
        }
        Ok(batch)
    }

    async fn point(&self, code: &str) -> AppResult<MonitoringPoint> {
        Ok(self.app.store().monitoring_point(code).await?.ok_or_else(point_not_found)?)
    }

    async fn open_alert_counts(&self) -> AppResult<BTreeMap<i64, usize>> {
        let mut counts = BTreeMap::new();
        for a in self.app.store().monitoring_alerts(Some(AlertState::Open), None, 5000).await? {
            *counts.entry(a.point_id).or_insert(0) += 1;
        }
        Ok(counts)
    }

    async fn view_one(&self, point: MonitoringPoint) -> AppResult<PointView> {
        let open = self.open_alert_counts().await?.get(&point.id).copied().unwrap_or(0);
        Ok(self.view(&point, open))
    }

    fn view(&self, p: &MonitoringPoint, open_alerts: usize) -> PointView {
        let org = self.app.caches().org();
        let standard = standard_named(&p.standard).ok();
        let grade = mashangban_domain::environment::Grade(p.grade);
        let offline = p.last_valid_at.is_none()
            || outage_due(p.last_valid_at, p.last_reading_at, p.created_at, p.offline_after_minutes, self.app.now())
                .is_some();
        let (status, status_label) = match (p.retired_at.is_some(), open_alerts > 0, offline) {
            (true, _, _) => ("retired", "已停用"),
            (false, true, _) => ("exceeding", "超标"),
            (false, false, true) => ("offline", "离线"),
            (false, false, false) => ("normal", "正常"),
        };
        PointView {
            id: p.id,
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind.code().into(),
            kind_label: p.kind.label().into(),
            credit_code: p.credit_code.clone(),
            ledger_item_id: p.ledger_item_id,
            mn: p.mn.clone(),
            standard: p.standard.clone(),
            standard_name: standard.map(|s| s.name.clone()).unwrap_or_default(),
            grade: p.grade,
            grade_name: standard.and_then(|s| s.grade_name(grade)).unwrap_or_default().to_owned(),
            permit_limits: p.permit_limits.clone(),
            parameters: p.parameters.clone(),
            unit: unit_ref(&org, Some(p.unit_id)),
            version: p.version,
            created_at: format_instant(&p.created_at),
            updated_at: format_instant(&p.updated_at),
            last_reading_at: p.last_reading_at.as_ref().map(format_instant),
            last_valid_at: p.last_valid_at.as_ref().map(format_instant),
            offline_after_minutes: p.offline_after_minutes,
            status: status.into(),
            status_label: status_label.into(),
            open_alerts,
            retired_at: p.retired_at.as_ref().map(format_instant),
        }
    }

    async fn alert_views(&self, alerts: &[MonitoringAlert]) -> AppResult<Vec<AlertView>> {
        let points: BTreeMap<i64, MonitoringPoint> =
            self.app.store().monitoring_points().await?.into_iter().map(|p| (p.id, p)).collect();
        Ok(alerts.iter().filter_map(|a| Some(self.alert_view(a, points.get(&a.point_id)?))).collect())
    }

    fn outage_view(&self, o: &MonitoringOutage, point: &MonitoringPoint) -> OutageView {
        OutageView {
            id: o.id,
            point_code: point.code.clone(),
            point_name: point.name.clone(),
            unit: unit_ref(&self.app.caches().org(), Some(point.unit_id)),
            kind: o.kind.as_str().into(),
            kind_label: o.kind.label().into(),
            since: format_instant(&o.since),
            opened_at: format_instant(&o.opened_at),
            recovered_at: o.recovered_at.as_ref().map(format_instant),
            open: o.recovered_at.is_none(),
        }
    }

    pub(crate) fn alert_view(&self, a: &MonitoringAlert, point: &MonitoringPoint) -> AlertView {
        let org = self.app.caches().org();
        AlertView {
            id: a.id,
            point_code: point.code.clone(),
            point_name: point.name.clone(),
            unit: unit_ref(&org, Some(point.unit_id)),
            parameter: a.parameter.clone(),
            value: a.value,
            limit: a.limit.clone(),
            description: a.description.clone(),
            data_time: format_instant(&a.data_time),
            state: a.state.code().into(),
            state_label: a.state.label().into(),
            opened_at: format_instant(&a.opened_at),
            closed_at: a.closed_at.as_ref().map(format_instant),
            reason: a.reason.clone(),
            version: a.version,
        }
    }
}

/// The scheduler's missing-data check: every point without valid data for
/// longer than its set time gets one open 数据缺失 alert (recorded; a rescan,
/// a restart or another node finds it open and raises nothing again; valid
/// data arriving ends it). Wakes the live pages of the points. How many were raised now.
pub async fn raise_missing_data<S: Store>(app: &App<S>) -> AppResult<usize> {
    let now = app.now();
    let mut raised = 0;
    for p in app.store().monitoring_points().await?.into_iter().filter(|p| p.retired_at.is_none()) {
        let Some(kind) = outage_due(p.last_valid_at, p.last_reading_at, p.created_at, p.offline_after_minutes, now)
        else {
            continue;
        };
        let since = p.last_valid_at.unwrap_or(p.created_at);
        if app.store().open_monitoring_outage(p.id, kind, since, now).await?.is_some() {
            raised += 1;
            app.live().publish_monitoring(p.id);
        }
    }
    Ok(raised)
}

/// [`raise_missing_data`] unless another node is doing it now.
pub async fn raise_missing_data_if_leading<S: Store>(app: &App<S>) -> AppResult<usize> {
    match app.store().try_lock_job("missing-data").await? {
        Some(_lock) => raise_missing_data(app).await,
        None => Ok(0),
    }
}

/// Turns one value of a point's upload into a reading to store, checked
/// against the point's standard, grade and permit limits.
pub fn new_reading(
    point: &MonitoringPoint,
    kind: ReadingKind,
    data_time: Instant,
    parameter: &str,
    values: (f64, Option<f64>, Option<f64>),
    flag: Option<String>,
) -> Result<NewReading, DomainError> {
    let standard = standard_named(&point.standard)?;
    let overrides: Vec<LimitOverride> = point.permit_limits.iter().filter_map(PermitLimit::to_override).collect();
    let (value, min, max) = values;
    let exceedance = check_reading(standard, point.grade, &overrides, parameter, value, flag.as_deref())?;
    Ok(NewReading {
        point_id: point.id,
        mn: point.mn.clone(),
        kind,
        data_time,
        parameter: parameter.to_owned(),
        value,
        min,
        max,
        flag,
        exceedance,
    })
}

fn actor(caller: &Caller) -> MonitoringActor {
    MonitoringActor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
    }
}

fn optional_time(text: Option<&str>) -> AppResult<Option<Instant>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_instant(t)
            .map(Some)
            .ok_or_else(|| AppError::invalid("invalid_time", "时间应为 RFC 3339 格式，如 2026-12-04T09:00:00+08:00")),
    }
}

fn reading_view(point: &MonitoringPoint, r: &StoredReading) -> ReadingView {
    ReadingView {
        parameter: r.parameter.clone(),
        kind: r.kind.code().into(),
        data_time: format_instant(&r.data_time),
        value: r.value,
        min: r.min,
        max: r.max,
        flag: r.flag.clone(),
        unit: point.parameters.iter().find(|p| p.code == r.parameter).map(|p| p.unit.clone()),
    }
}

fn aggregate_view(a: ReadingAggregate) -> AggregateView {
    AggregateView { bucket: a.bucket, count: a.count, min: a.min, avg: a.avg, max: a.max }
}

fn event_view(e: MonitoringEvent) -> EventView {
    EventView { kind: e.kind, at: format_instant(&e.at), by: e.by, note: e.note }
}
