//! The map of points (地图) of a ledger whose type has a point field: the items in scope
//! matching the list's filters that hold a point, bounded at [`MAP_MAX`], and the plain
//! equirectangular projection the page draws them with as server-rendered SVG ([`Projection`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use mashangban_domain::ledger::{FieldKind, FieldValue};
use mashangban_store::Store;

use super::{Ledgers, ListQuery, StageView, stage_views};
use crate::error::{AppError, AppResult};
use crate::views::UnitRef;
use crate::{Caller, views::unit_ref};

/// Points a map answers at most.
pub const MAP_MAX: usize = 50_000;
/// Items read per round while collecting points.
const ROUND: u32 = 5_000;

/// One item on the map.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MapPoint {
    pub key: String,
    pub name: Option<String>,
    pub stage: String,
    pub stage_name: String,
    pub town: Option<UnitRef>,
    /// WGS-84 longitude, degrees east.
    pub lon: f64,
    /// WGS-84 latitude, degrees north.
    pub lat: f64,
}

/// The points of a ledger's items matching the filters.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MapPoints {
    pub type_code: String,
    pub type_name: String,
    /// The point field's code and label.
    pub field: String,
    pub field_label: String,
    pub stages: Vec<StageView>,
    /// By key; at most 50,000.
    pub points: Vec<MapPoint>,
    /// Items matching the filters (with or without a point).
    pub matching: u64,
    /// True when more items with a point match than `points` holds.
    pub truncated: bool,
    pub max: usize,
}

impl<S: Store> Ledgers<'_, S> {
    /// The points of the items in scope matching the list's filters (`ledger_no_point_field`
    /// for a type without a point field).
    pub async fn map(&self, caller: &Caller, code: &str, q: &ListQuery) -> AppResult<MapPoints> {
        let loaded = self.load(code).await?;
        let ty = &loaded.ty;
        let Some(field) = ty.fields().iter().find(|f| matches!(f.kind, FieldKind::Point)) else {
            return Err(AppError::invalid(
                "ledger_no_point_field",
                format!("台账「{}」没有坐标字段，不能在地图上显示", ty.name()),
            ));
        };
        let access = self.access(caller, &loaded.record);
        let mut filter = self.filter(ty, q, false)?;
        let org = self.app.caches().org();
        let mut points = Vec::new();
        let mut truncated = false;
        let mut matching = None;
        filter.offset = 0;
        filter.limit = ROUND;
        'rounds: loop {
            let page = self.app.store().list_ledger_items(code, &filter, &access.scope).await?;
            let total = *matching.get_or_insert(page.total);
            let read = page.items.len();
            for item in page.items {
                let Some(FieldValue::Point(p)) = item.values.get(&field.code) else { continue };
                if points.len() == MAP_MAX {
                    truncated = true;
                    break 'rounds;
                }
                points.push(MapPoint {
                    stage_name: ty.stage(&item.stage).map_or_else(|| item.stage.clone(), |s| s.name.clone()),
                    key: item.key,
                    name: item.name,
                    stage: item.stage,
                    town: unit_ref(&org, item.town_id),
                    lon: p.lon,
                    lat: p.lat,
                });
            }
            filter.offset = filter.offset.saturating_add(ROUND);
            if read < ROUND as usize || u64::from(filter.offset) >= total {
                break;
            }
        }
        Ok(MapPoints {
            type_code: ty.code().to_owned(),
            type_name: ty.name().to_owned(),
            field: field.code.clone(),
            field_label: field.label.clone(),
            stages: stage_views(ty),
            points,
            matching: matching.unwrap_or(0),
            truncated,
            max: MAP_MAX,
        })
    }
}

/// A plain equirectangular projection of lon/lat onto a `width` × `height` picture, fitted to the
/// points' extent with a margin: x grows east, y grows south, a degree of longitude is
/// `cos(mid latitude)` of a degree of latitude, and the aspect is kept (the extent is centred).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    min_lon: f64,
    max_lat: f64,
    /// Pixels per degree of latitude.
    scale: f64,
    /// cos of the middle latitude.
    squeeze: f64,
    offset_x: f64,
    offset_y: f64,
}

/// The smallest extent drawn, in degrees (a single point, or points on one line).
const MIN_SPAN: f64 = 0.01;

impl Projection {
    /// Fits `points` (lon, lat) into `width` × `height` less `margin` on every side; `None` when
    /// there are no points.
    pub fn fit(points: impl IntoIterator<Item = (f64, f64)>, width: f64, height: f64, margin: f64) -> Option<Self> {
        let mut extent: Option<(f64, f64, f64, f64)> = None;
        for (lon, lat) in points {
            if !lon.is_finite() || !lat.is_finite() {
                continue;
            }
            extent = Some(match extent {
                None => (lon, lon, lat, lat),
                Some((a, b, c, d)) => (a.min(lon), b.max(lon), c.min(lat), d.max(lat)),
            });
        }
        let (mut min_lon, mut max_lon, mut min_lat, mut max_lat) = extent?;
        if max_lon - min_lon < MIN_SPAN {
            let mid = f64::midpoint(min_lon, max_lon);
            (min_lon, max_lon) = (mid - MIN_SPAN / 2.0, mid + MIN_SPAN / 2.0);
        }
        if max_lat - min_lat < MIN_SPAN {
            let mid = f64::midpoint(min_lat, max_lat);
            (min_lat, max_lat) = (mid - MIN_SPAN / 2.0, mid + MIN_SPAN / 2.0);
        }
        let squeeze = f64::midpoint(min_lat, max_lat).to_radians().cos().max(0.01);
        let (inner_w, inner_h) = ((width - 2.0 * margin).max(1.0), (height - 2.0 * margin).max(1.0));
        let (span_x, span_y) = ((max_lon - min_lon) * squeeze, max_lat - min_lat);
        let scale = (inner_w / span_x).min(inner_h / span_y);
        Some(Self {
            min_lon,
            max_lat,
            scale,
            squeeze,
            offset_x: margin + (inner_w - span_x * scale) / 2.0,
            offset_y: margin + (inner_h - span_y * scale) / 2.0,
        })
    }

    /// The picture's (x, y) of (lon, lat).
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            self.offset_x + (lon - self.min_lon) * self.squeeze * self.scale,
            self.offset_y + (self.max_lat - lat) * self.scale,
        )
    }
}

/// Where a town's label goes: the centre of its points.
#[derive(Debug, Clone)]
pub struct TownCentre {
    pub town: UnitRef,
    /// Mean longitude and latitude of the town's points.
    pub lon: f64,
    pub lat: f64,
}

/// The centre (mean lon, mean lat) of each town's points, by town name; points without a town
/// are left out.
pub fn town_centres(points: &[MapPoint]) -> Vec<TownCentre> {
    let mut sums: BTreeMap<&str, (&UnitRef, f64, f64, f64)> = BTreeMap::new();
    for p in points {
        if let Some(t) = &p.town {
            let s = sums.entry(t.name.as_str()).or_insert((t, 0.0, 0.0, 0.0));
            (s.1, s.2, s.3) = (s.1 + p.lon, s.2 + p.lat, s.3 + 1.0);
        }
    }
    sums.into_values()
        .map(|(town, lon, lat, n)| TownCentre { town: town.clone(), lon: lon / n, lat: lat / n })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    fn near(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
    }

    #[test]
    fn the_extent_fills_the_picture_north_up_with_the_aspect_kept() {
        // Zhongshan-like extent: 0.5° of longitude by 0.4° of latitude around 22.5°N.
        let pts = [(113.2, 22.3), (113.7, 22.7), (113.45, 22.5)];
        let p = Projection::fit(pts, 800.0, 600.0, 20.0).unwrap();
        let squeeze = 22.5f64.to_radians().cos();
        let (w, h) = (0.5 * squeeze, 0.4);
        let scale = (760.0 / w).min(560.0 / h);
        assert_eq!(scale, 560.0 / h, "latitude binds here");
        let (x0, y0) = p.project(113.2, 22.7);
        assert!(near((x0, y0), (20.0 + (760.0 - w * scale) / 2.0, 20.0)), "north-west corner: {x0},{y0}");
        let (x1, y1) = p.project(113.7, 22.3);
        assert!(near((x1, y1), (20.0 + (760.0 + w * scale) / 2.0, 580.0)), "south-east corner: {x1},{y1}");
        // East is right, north is up, and equal distances in degrees of latitude are equal in pixels.
        let (xm, ym) = p.project(113.45, 22.5);
        assert!(xm > x0 && xm < x1 && ym > y0 && ym < y1);
        assert!((ym - y0 - (y1 - ym)).abs() < 1e-6);
        // A degree of longitude is cos(lat) of a degree of latitude.
        let (xa, _) = p.project(113.3, 22.5);
        let (_, yb) = p.project(113.45, 22.6);
        assert!(((xa - x0) / (ym - yb) - squeeze).abs() < 1e-9);
    }

    #[test]
    fn a_single_point_sits_in_the_middle_and_nothing_fits_nothing() {
        let p = Projection::fit([(113.4, 22.5)], 400.0, 300.0, 10.0).unwrap();
        assert!(near(p.project(113.4, 22.5), (200.0, 150.0)));
        assert!(Projection::fit([], 400.0, 300.0, 10.0).is_none());
        assert!(Projection::fit([(f64::NAN, 22.0)], 400.0, 300.0, 10.0).is_none());
    }

    #[test]
    fn towns_are_labelled_at_the_mean_of_their_points() {
        let point = |town: Option<&str>, lon, lat| MapPoint {
            key: "k".into(),
            name: None,
            stage: "s".into(),
            stage_name: "s".into(),
            town: town.map(|t| UnitRef { code: t.into(), name: t.into() }),
            lon,
            lat,
        };
        let c = town_centres(&[
            point(Some("古镇镇"), 113.1, 22.6),
            point(Some("古镇镇"), 113.3, 22.4),
            point(Some("小榄镇"), 113.2, 22.6),
            point(None, 0.0, 0.0),
        ]);
        let names: Vec<&str> = c.iter().map(|t| t.town.name.as_str()).collect();
        assert_eq!(names, ["古镇镇", "小榄镇"]);
        assert!(near((c[0].lon, c[0].lat), (113.2, 22.5)));
        assert!(near((c[1].lon, c[1].lat), (113.2, 22.6)));
    }
}
