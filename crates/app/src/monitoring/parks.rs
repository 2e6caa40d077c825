//! The park's page (智慧园区): a park's enterprises (those of its points),
//! its points with their live status, today's alerts and open 数据缺失 alerts,
//! open enforcement cases and compensation matters of its enterprises (to
//! those who read enforcement, in their scope), its shared facilities
//! (共性工厂), two-week trends (hourly values stored and alerts per day) and
//! the packets the HJ 212 receivers of every node stored and refused per
//! device over the last week, from the durable counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::monitoring::{Facility, ParkDraft, ParkInput, park_not_found};
use mashangban_domain::org::UnitKind;
use mashangban_domain::time::{format_instant, shanghai};
use mashangban_store::{MonitoringPark, MonitoringPoint, Store};

use super::receiver::DeviceCounters;
use super::{AlertQuery, AlertView, Monitoring, OutageQuery, OutageView, PointView};
use crate::compensation::MatterView;
use crate::enforcement::{CaseQuery, CaseView};
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// Days the trends cover, today included.
pub const TREND_DAYS: i64 = 14;

/// A park as entered (`PUT /api/v1/monitoring/parks/{code}`): it replaces the park's fields and points.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParkBody {
    pub name: String,
    /// The responsible unit's code.
    pub unit: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Shared facilities (共性工厂), at most 50.
    #[serde(default)]
    pub facilities: Vec<Facility>,
    /// Codes of its monitoring points (at most 2000); a point of another park moves here.
    #[serde(default)]
    pub points: Vec<String>,
}

/// A park as listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ParkView {
    pub code: String,
    pub name: String,
    pub unit: Option<UnitRef>,
    pub description: Option<String>,
    pub facilities: Vec<Facility>,
    pub points: usize,
    pub enterprises: usize,
    pub normal: usize,
    pub exceeding: usize,
    pub offline: usize,
    pub updated_at: String,
    pub version: i64,
}

/// An enterprise of the park with its points, open alerts and open cases.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ParkEnterprise {
    pub credit_code: String,
    pub name: Option<String>,
    pub points: usize,
    pub open_alerts: usize,
    /// Open enforcement cases (counted for those who read enforcement only).
    pub open_cases: usize,
}

/// One day of the trends.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TrendDay {
    /// `2026-12-04` (Shanghai).
    pub day: String,
    /// Hourly values (HJ 212 2061) stored for the park's points and parameters.
    pub hourly_values: i64,
    /// Of what a complete day would hold (24 per point and parameter), in percent.
    pub completeness: f64,
    /// Exceedance alerts by data time.
    pub alerts: usize,
}

/// Days of the durable receiver counts the park's page sums by default.
pub const RECEIVER_COUNT_DAYS: u32 = 7;

/// What the HJ 212 receivers of every node stored and refused of one device
/// over the last [`RECEIVER_COUNT_DAYS`] days (from the database's counts).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeviceRefusals {
    pub point_code: String,
    pub mn: String,
    pub stored_packets: u64,
    /// All refusals: bad frames and packets, wrong password, data times out of range, store failures.
    pub refused: u64,
    pub bad_frames: u64,
    pub bad_packets: u64,
    pub wrong_password: u64,
    pub bad_time: u64,
}

/// The durable counts of one source: a device's MN (with its point) or a peer address (`peer:1.2.3.4`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SourceCounts {
    pub source: String,
    /// The point whose device has this MN, if any.
    pub point_code: Option<String>,
    #[serde(flatten)]
    pub counts: DeviceCounters,
    /// All refusals.
    pub refused: u64,
}

/// The receiver counts' query: `days` back, today included (1–400, 7 when absent).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct ReceiverCountQuery {
    #[serde(default)]
    pub days: Option<u32>,
}

/// The park's page.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ParkDashboard {
    #[serde(flatten)]
    pub park: ParkView,
    pub enterprise_list: Vec<ParkEnterprise>,
    pub point_list: Vec<PointView>,
    /// Alerts of its points with a data time today, newest first.
    pub alerts_today: Vec<AlertView>,
    /// Its open exceedance alerts, newest first.
    pub open_alerts: Vec<AlertView>,
    pub open_outages: Vec<OutageView>,
    /// Whether cases and matters are shown (the caller reads enforcement).
    pub shows_enforcement: bool,
    pub open_cases: Vec<CaseView>,
    /// Compensation matters not closed (agreements being performed among them).
    pub open_matters: Vec<MatterView>,
    pub trend: Vec<TrendDay>,
    pub devices: Vec<DeviceRefusals>,
}

impl<S: Store> Monitoring<'_, S> {
    /// Every park with its counts, by code.
    pub async fn parks(&self) -> AppResult<Vec<ParkView>> {
        let points = self.list_with_park().await?;
        let parks = self.app.store().monitoring_parks().await?;
        Ok(parks.iter().map(|p| park_view(self.app, p, &points)).collect())
    }

    /// Creates or replaces a park (`422` on a bad field, `unknown_unit`, `unknown_point`).
    pub async fn put_park(&self, code: &str, body: ParkBody) -> AppResult<ParkView> {
        let org = self.app.caches().org();
        let unit_id = match org.by_code(body.unit.trim()) {
            Some(u) if u.active && matches!(u.kind, UnitKind::Department | UnitKind::Town | UnitKind::Subunit) => u.id,
            _ => return Err(AppError::invalid("unknown_unit", "责任单位应为组织架构中的部门或镇街")),
        };
        let input = ParkInput::new(ParkDraft {
            code: code.to_owned(),
            name: body.name,
            unit_id,
            description: body.description,
            facilities: body.facilities,
            points: body.points,
        })?;
        let saved = self.app.store().put_monitoring_park(input, self.app.now()).await?;
        let points = self.list_with_park().await?;
        Ok(park_view(self.app, &saved, &points))
    }

    /// The park's page (`404 monitoring_park_not_found`).
    pub async fn park(&self, caller: &Caller, code: &str) -> AppResult<ParkDashboard> {
        let store = self.app.store();
        let park = store.monitoring_park(code).await?.ok_or_else(park_not_found)?;
        let all = self.list_with_park().await?;
        let view = park_view(self.app, &park, &all);
        let members: Vec<&(MonitoringPoint, PointView)> =
            all.iter().filter(|(p, _)| p.park_id == Some(park.id)).collect();
        let codes: BTreeSet<&str> = members.iter().map(|(p, _)| p.code.as_str()).collect();
        let enterprises: BTreeSet<String> = members.iter().filter_map(|(p, _)| p.credit_code.clone()).collect();

        let alerts = self.alerts(AlertQuery { state: Some("all".into()), point: None }).await?;
        let alerts: Vec<AlertView> = alerts.into_iter().filter(|a| codes.contains(a.point_code.as_str())).collect();
        let today = self.app.now().with_timezone(&shanghai()).date_naive().to_string();
        let alerts_today: Vec<AlertView> = alerts.iter().filter(|a| a.data_time.starts_with(&today)).cloned().collect();
        let open_alerts: Vec<AlertView> = alerts.iter().filter(|a| a.state == "open").cloned().collect();
        let open_outages = self
            .outages(OutageQuery::default())
            .await?
            .into_iter()
            .filter(|o| codes.contains(o.point_code.as_str()))
            .collect();

        let shows_enforcement = caller.may(Permission::ReadEnforcement);
        let (open_cases, open_matters) = if shows_enforcement {
            let cases = self.app.enforcement().cases(caller, CaseQuery::default()).await?;
            let cases: Vec<CaseView> =
                cases.into_iter().filter(|c| c.stage != "closed" && enterprises.contains(&c.credit_code)).collect();
            let matters = self.app.compensation().matters(caller, None, None).await?;
            let matters: Vec<MatterView> =
                matters.into_iter().filter(|m| m.stage != "closed" && enterprises.contains(&m.credit_code)).collect();
            (cases, matters)
        } else {
            (Vec::new(), Vec::new())
        };

        let mut enterprise_list = Vec::with_capacity(enterprises.len());
        for credit_code in &enterprises {
            let name = store.enterprise(credit_code, EnterpriseScope::All).await?.map(|e| e.name);
            let own = members.iter().filter(|(p, _)| p.credit_code.as_deref() == Some(credit_code.as_str()));
            let (points, open) = own.fold((0, 0), |(n, a), (_, v)| (n + 1, a + v.open_alerts));
            enterprise_list.push(ParkEnterprise {
                credit_code: credit_code.clone(),
                name,
                points,
                open_alerts: open,
                open_cases: open_cases.iter().filter(|c| &c.credit_code == credit_code).count(),
            });
        }

        let trend = self.trend(&members, &alerts).await?;
        let totals = self.receiver_totals(RECEIVER_COUNT_DAYS).await?;
        let devices = members
            .iter()
            .map(|(p, _)| {
                let c = totals.get(&p.mn).copied().unwrap_or_default();
                DeviceRefusals {
                    point_code: p.code.clone(),
                    mn: p.mn.clone(),
                    stored_packets: c.stored_packets,
                    refused: c.refused(),
                    bad_frames: c.bad_frames,
                    bad_packets: c.bad_packets,
                    wrong_password: c.wrong_password,
                    bad_time: c.bad_time,
                }
            })
            .collect();
        Ok(ParkDashboard {
            park: view,
            enterprise_list,
            point_list: members.iter().map(|(_, v)| v.clone()).collect(),
            alerts_today,
            open_alerts,
            open_outages,
            shows_enforcement,
            open_cases,
            open_matters,
            trend,
            devices,
        })
    }

    /// The receivers' counts of every source over the last `days` days (today
    /// included), summed over the nodes: devices by MN, unknown ones by peer address.
    /// `422 invalid_days` outside 1–400.
    pub async fn receiver_counts(&self, query: ReceiverCountQuery) -> AppResult<Vec<SourceCounts>> {
        let days = query.days.unwrap_or(RECEIVER_COUNT_DAYS);
        if !(1..=400).contains(&days) {
            return Err(AppError::invalid("invalid_days", "天数应为1~400"));
        }
        let points: BTreeMap<String, String> =
            self.app.store().monitoring_points().await?.into_iter().map(|p| (p.mn, p.code)).collect();
        Ok(self
            .receiver_totals(days)
            .await?
            .into_iter()
            .map(|(source, counts)| SourceCounts {
                point_code: points.get(&source).cloned(),
                refused: counts.refused(),
                source,
                counts,
            })
            .collect())
    }

    /// The durable counts by source over the last `days` days (Shanghai hours, today included).
    async fn receiver_totals(&self, days: u32) -> AppResult<BTreeMap<String, DeviceCounters>> {
        let today = self.app.now().with_timezone(&shanghai()).date_naive();
        let since = format!("{}T00", today - Duration::days(i64::from(days) - 1));
        let mut totals: BTreeMap<String, DeviceCounters> = BTreeMap::new();
        for (source, counter, n) in self.app.store().receiver_totals(since).await? {
            totals.entry(source).or_default().add(&counter, u64::try_from(n).unwrap_or(0));
        }
        Ok(totals)
    }

    /// Hourly values stored and alerts raised per day over the last [`TREND_DAYS`] days.
    async fn trend(&self, members: &[&(MonitoringPoint, PointView)], alerts: &[AlertView]) -> AppResult<Vec<TrendDay>> {
        let today = self.app.now().with_timezone(&shanghai()).date_naive();
        let first = today - Duration::days(TREND_DAYS - 1);
        let from = first.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(shanghai()).single());
        let to =
            (today + Duration::days(1)).and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(shanghai()).single());
        let (Some(from), Some(to)) = (from, to) else { return Ok(Vec::new()) };
        let series: Vec<(i64, String)> =
            members.iter().flat_map(|(p, _)| p.parameters.iter().map(|m| (p.id, m.code.clone()))).collect();
        let expected = (series.len() * 24) as f64;
        let counts: BTreeMap<String, i64> =
            self.app.store().hourly_counts_by_day(series, from, to).await?.into_iter().collect();
        let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
        for a in alerts {
            *per_day.entry(a.data_time.chars().take(10).collect()).or_insert(0) += 1;
        }
        Ok((0..TREND_DAYS)
            .map(|n| {
                let day = (first + Duration::days(n)).to_string();
                let hourly_values = counts.get(&day).copied().unwrap_or(0);
                let completeness =
                    if expected > 0.0 { (hourly_values as f64 / expected * 1000.0).round() / 10.0 } else { 0.0 };
                TrendDay { alerts: per_day.get(&day).copied().unwrap_or(0), day, hourly_values, completeness }
            })
            .collect())
    }

    /// Every point with its view.
    pub(super) async fn list_with_park(&self) -> AppResult<Vec<(MonitoringPoint, PointView)>> {
        let points = self.app.store().monitoring_points().await?;
        let open = self.open_alert_counts().await?;
        Ok(points
            .into_iter()
            .map(|p| {
                let view = self.view(&p, open.get(&p.id).copied().unwrap_or(0));
                (p, view)
            })
            .collect())
    }
}

fn park_view<S: Store>(app: &App<S>, p: &MonitoringPark, points: &[(MonitoringPoint, PointView)]) -> ParkView {
    let members: Vec<&PointView> = points.iter().filter(|(m, _)| m.park_id == Some(p.id)).map(|(_, v)| v).collect();
    let count = |status: &str| members.iter().filter(|v| v.status == status).count();
    let enterprises: BTreeSet<&str> = members.iter().filter_map(|v| v.credit_code.as_deref()).collect();
    ParkView {
        code: p.code.clone(),
        name: p.name.clone(),
        unit: unit_ref(&app.caches().org(), Some(p.unit_id)),
        description: p.description.clone(),
        facilities: p.facilities.clone(),
        points: members.len(),
        enterprises: enterprises.len(),
        normal: count("normal"),
        exceeding: count("exceeding"),
        offline: count("offline"),
        updated_at: format_instant(&p.updated_at),
        version: p.version,
    }
}
