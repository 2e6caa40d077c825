//! The demo city's chemical-cluster park (化工园区) under online monitoring:
//! 60 monitoring points — two outlets of each of 28 demo enterprises, the
//! park's two outlets and two creek sections — each with its device, and a
//! week of hourly data (HJ 212 CN 2061) with a few COD exceedances, stored
//! through the store, which raises their alerts. Device passwords are all
//! [`DEMO_DEVICE_PASSWORD`]. The park itself ([`DEMO_PARK`], 智慧园区) holds the
//! points and lists its shared facilities. Idempotent: no point is loaded when
//! any exists, the park only when it is missing.

use chrono::{Duration, DurationRound};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use mashangban_domain::environment::{GB_3838_2002, GB_8978_1996, LimitOverride};
use mashangban_domain::monitoring::{
    Facility, MeasuredParameter, NewReading, ParkDraft, ParkInput, PermitLimit, PointDraft, PointInput, ReadingKind,
    check_reading, device_password_hash, standard_named,
};
use mashangban_domain::time::Instant;
use mashangban_store::{MonitoringActor, MonitoringPoint, Store};

use crate::{DemoData, DemoError, demo_enterprises};

/// The password of every demo device (HJ 212 PW).
pub const DEMO_DEVICE_PASSWORD: &str = "123456";
/// Points the demo park has.
pub const DEMO_POINTS: usize = 60;
/// Enterprises of the park, two outlets each.
const PARK_ENTERPRISES: usize = 28;
/// Hours of history per point.
const HOURS: i64 = 7 * 24;
const SEED: u64 = 0x0212_2017;

/// (HJ 212 code, typical value, spread) measured at outlets: COD, ammonia nitrogen, pH.
const OUTLET_PARAMETERS: &[(&str, f64, f64)] = &[("w01018", 60.0, 20.0), ("w21003", 5.0, 2.0), ("w01001", 7.2, 0.4)];
/// Measured at creek sections: COD, ammonia nitrogen, dissolved oxygen.
const CREEK_PARAMETERS: &[(&str, f64, f64)] = &[("w01018", 16.0, 4.0), ("w21003", 0.8, 0.3), ("w01009", 6.0, 1.0)];

/// The demo device MN of point `n` (1-based).
pub fn demo_mn(n: usize) -> String {
    format!("ZS442000HG{n:04}")
}

/// Creates the park's points and a week of their hourly data ending at `now`'s hour; how many points.
pub async fn load_monitoring<S: Store>(store: &S, data: &DemoData, now: Instant) -> Result<u64, DemoError> {
    let failed = |e: mashangban_store::StoreError| DemoError(format!("载入在线监测演示数据失败：{e}"));
    if !store.monitoring_points().await.map_err(failed)?.is_empty() {
        load_park(store, now).await?;
        return Ok(0);
    }
    let units = store.list_units().await.map_err(failed)?;
    let bureau =
        units.iter().find(|u| u.code == "sthjj").ok_or_else(|| DemoError("组织架构中没有市生态环境局".into()))?;
    let by = MonitoringActor { user_id: None, name: "演示数据".into() };
    let mut points = Vec::new();
    for (n, draft) in drafts(data, bureau.id)?.into_iter().enumerate() {
        let input = PointInput::new(draft).map_err(|e| DemoError(e.message))?;
        let hash = device_password_hash(&input.mn, DEMO_DEVICE_PASSWORD);
        let at = now - Duration::days(8) + Duration::minutes(i64::try_from(n).unwrap_or(0));
        points.push(store.create_monitoring_point(input, hash, at, by.clone()).await.map_err(failed)?);
    }
    let end = now.duration_trunc(Duration::hours(1)).map_err(|e| DemoError(e.to_string()))?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut batch = Vec::new();
    for (n, point) in points.iter().enumerate() {
        for hour in 0..HOURS {
            let time = end - Duration::hours(HOURS - hour);
            // A few exceedances: every ninth enterprise outlet, on three afternoons.
            let spike = n % 9 == 0 && n < 2 * PARK_ENTERPRISES && matches!(hour, 38 | 87 | 134);
            batch.extend(hour_readings(point, time, spike, &mut rng)?);
            if batch.len() >= 4000 {
                store.insert_readings(std::mem::take(&mut batch), now).await.map_err(failed)?;
            }
        }
    }
    store.insert_readings(batch, now).await.map_err(failed)?;
    load_park(store, now).await?;
    Ok(points.len() as u64)
}

/// The demo park's code (`/parks/HG`).
pub const DEMO_PARK: &str = "HG";

/// The chemical-cluster park with its shared facilities (共性工厂) and the demo points, once.
async fn load_park<S: Store>(store: &S, now: Instant) -> Result<(), DemoError> {
    let failed = |e: mashangban_store::StoreError| DemoError(format!("载入智慧园区演示数据失败：{e}"));
    if store.monitoring_park(DEMO_PARK).await.map_err(failed)?.is_some() {
        return Ok(());
    }
    let units = store.list_units().await.map_err(failed)?;
    let bureau =
        units.iter().find(|u| u.code == "sthjj").ok_or_else(|| DemoError("组织架构中没有市生态环境局".into()))?;
    let points = store.monitoring_points().await.map_err(failed)?;
    let facility =
        |name: &str, kind: &str, note: &str| Facility { name: name.into(), kind: kind.into(), note: Some(note.into()) };
    let draft = ParkDraft {
        code: DEMO_PARK.into(),
        name: "化工园区（智慧园区试点）".into(),
        unit_id: bureau.id,
        description: Some(
            "精细化工企业集聚区，园区内企业废水经预处理后纳管，由园区污水处理厂集中处理后排入岐江河。".into(),
        ),
        facilities: vec![
            facility("化工园区污水处理厂", "集中污水处理厂", "设计规模 2 万吨/日，出水执行 GB 18918-2002 一级A"),
            facility("园区危险废物暂存中心", "危险废物集中收集贮存", "服务园区 28 家企业，年周转 3000 吨"),
            facility("园区集中供热站", "集中供热", "替代企业自备燃煤锅炉"),
        ],
        points: points.iter().filter(|p| p.code.starts_with("HG-")).map(|p| p.code.clone()).collect(),
    };
    let input = ParkInput::new(draft).map_err(|e| DemoError(e.message))?;
    store.put_monitoring_park(input, now).await.map_err(failed)?;
    Ok(())
}

/// The points: two outlets of each park enterprise, the park's two outlets, two creek sections.
fn drafts(data: &DemoData, unit_id: i64) -> Result<Vec<PointDraft>, DemoError> {
    let enterprises = demo_enterprises(data)?;
    let mut out = Vec::new();
    let outlet = |n: usize, name: String, kind: &str, credit_code: Option<String>| PointDraft {
        code: format!("HG-{n:03}"),
        name,
        kind: kind.into(),
        credit_code,
        ledger_item_id: None,
        mn: demo_mn(n),
        standard: GB_8978_1996.into(),
        grade: 2,
        permit_limits: Vec::new(),
        parameters: parameters(OUTLET_PARAMETERS),
        unit_id,
        offline_after_minutes: None,
    };
    for e in enterprises.iter().take(PARK_ENTERPRISES) {
        for place in ["废水总排口", "车间排放口"] {
            let n = out.len() + 1;
            let mut draft =
                outlet(n, format!("{}{place}", e.name), "enterprise_outlet", Some(e.credit_code.as_str().to_owned()));
            if place == "车间排放口" {
                let source = format!("排污许可证 {}-{n:03}", e.credit_code.as_str());
                draft.permit_limits =
                    vec![PermitLimit { parameter: "w21003".into(), max: Some(15.0), min: None, source }];
            }
            out.push(draft);
        }
    }
    for name in ["化工园区污水处理厂总排口", "化工园区雨水排放口"] {
        out.push(outlet(out.len() + 1, name.into(), "park_outlet", None));
    }
    for name in ["岐江河化工园区上游断面", "岐江河化工园区下游断面"] {
        let mut draft = outlet(out.len() + 1, name.into(), "creek_section", None);
        draft.standard = GB_3838_2002.into();
        draft.grade = 4;
        draft.parameters = parameters(CREEK_PARAMETERS);
        out.push(draft);
    }
    Ok(out)
}

fn parameters(list: &[(&str, f64, f64)]) -> Vec<MeasuredParameter> {
    list.iter().map(|(code, _, _)| MeasuredParameter { code: (*code).into(), unit: unit_of(code).into() }).collect()
}

fn unit_of(code: &str) -> &'static str {
    if code == "w01001" { "无量纲" } else { "mg/L" }
}

/// One hour's average, min and max of each parameter of the point, checked against its limits.
fn hour_readings(
    point: &MonitoringPoint,
    time: Instant,
    spike: bool,
    rng: &mut StdRng,
) -> Result<Vec<NewReading>, DemoError> {
    let standard = standard_named(&point.standard).map_err(|e| DemoError(e.message))?;
    let overrides: Vec<LimitOverride> = point.permit_limits.iter().filter_map(PermitLimit::to_override).collect();
    let typical = if point.standard == GB_3838_2002 { CREEK_PARAMETERS } else { OUTLET_PARAMETERS };
    let mut out = Vec::new();
    for (code, base, spread) in typical {
        let mut value = base + rng.gen_range(-spread..=*spread);
        if spike && *code == "w01018" {
            value = rng.gen_range(170.0..=260.0);
        }
        let value = (value * 100.0).round() / 100.0;
        let exceedance = check_reading(standard, point.grade, &overrides, code, value, Some("N"))
            .map_err(|e| DemoError(e.message))?;
        out.push(NewReading {
            point_id: point.id,
            mn: point.mn.clone(),
            kind: ReadingKind::Hour,
            data_time: time,
            parameter: (*code).into(),
            value,
            min: Some(((value - spread / 2.0) * 100.0).round() / 100.0),
            max: Some(((value + spread / 2.0) * 100.0).round() / 100.0),
            flag: Some("N".into()),
            exceedance,
        });
    }
    Ok(out)
}
