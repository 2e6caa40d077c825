//! Hot issues in the demo history (热点问题): a few matters many people called about in the last days —
//! one road's flooding after a storm, one estate's property dispute, one site's night-time
//! construction noise — each several requests from different askers in one town, worded each their
//! own way, taken in by the operator and left open, so the dashboard's hot issues show something
//! true; and one matter reported from three towns (a waterway's pollution, 跨镇街热点). Ordinary
//! requests are spread over the whole history and do not cluster like these.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use mashangban_domain::org::Actor;
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::time::Instant;
use mashangban_domain::validation::{Datum, GeoPoint};
use mashangban_store::{Meta, Store};

use crate::plan::{Who, mobile, pick, plus_secs};
use crate::{DemoData, DemoError, HistoryOptions};

/// One planted matter: its towns (report n from the n-th, round), category, address, where it is
/// (WGS-84 lat, lon; each report `spread` degrees east of the one before, as callers place it) and the
/// askers' words (title, content).
struct Matter {
    towns: &'static [&'static str],
    category: &'static str,
    address: &'static str,
    point: (f64, f64),
    spread: f64,
    reports: &'static [(&'static str, &'static str)],
}

const MATTERS: &[Matter] = &[
    Matter {
        towns: &["shiqi"],
        category: "water.flood",
        address: "岐江路与民生路交界",
        point: (22.5236, 113.3790),
        spread: 0.0002,
        reports: &[
            ("岐江路水浸严重", "昨晚暴雨后岐江路与民生路交界水浸严重，积水没过车轮，车辆无法通行。"),
            ("岐江路积水无法通行", "岐江路一下雨就积水，今天早上积水还没退，行人和车辆都无法通行。"),
            ("岐江路下水道堵塞导致积水", "岐江路下水道堵塞，暴雨后积水严重，希望尽快疏通排水。"),
            ("岐江路路段内涝", "岐江路民生路口内涝，积水深，电动车被淹，请排水部门处理。"),
            ("反映岐江路积水问题", "岐江路积水问题每次下雨都出现，今天积水严重，车辆绕行困难。"),
            ("岐江路暴雨积水未排", "暴雨过后岐江路积水仍未排走，路口水浸，出行困难。"),
            ("岐江路积水影响上班", "岐江路交界处积水严重，公交车无法通行，影响市民上班。"),
        ],
    },
    Matter {
        towns: &["dongqu"],
        category: "housing.property",
        address: "东区翠景花园",
        point: (22.5160, 113.3980),
        spread: 0.0002,
        reports: &[
            ("翠景花园物业乱收费", "翠景花园物业擅自上涨停车收费，业主不满，物业不公示收费标准。"),
            ("翠景花园物业停车费上涨", "翠景花园物业停车费从每月三百涨到五百，未经业主大会同意。"),
            ("投诉翠景花园物业公司", "翠景花园物业收费上涨，服务却越来越差，业主投诉无人处理。"),
            ("翠景花园业主与物业纠纷", "翠景花园物业和业主因停车收费纠纷，物业锁了车库，请协调。"),
            ("翠景花园物业收费不合理", "翠景花园物业收费不合理，停车费上涨，业主多次反映未果。"),
            ("翠景花园物业不公示账目", "翠景花园物业收费上涨，不公示公共收益账目，业主要求公开。"),
        ],
    },
    Matter {
        towns: &["xiqu"],
        category: "env.construction-noise",
        address: "西区彩虹大道工地",
        point: (22.5255, 113.3510),
        spread: 0.0002,
        reports: &[
            ("彩虹大道工地夜间施工噪音", "彩虹大道工地每晚施工到凌晨，噪音扰民，无法入睡。"),
            ("彩虹大道工地半夜施工", "彩虹大道工地半夜还在打桩施工，噪音很大，影响休息。"),
            ("投诉彩虹大道工地噪音", "彩虹大道工地夜间施工噪音严重扰民，请查处。"),
            ("彩虹大道夜间施工扰民", "彩虹大道工地夜间施工，机器噪音扰民，老人小孩睡不着。"),
            ("彩虹大道工地噪音扰民", "彩虹大道工地凌晨施工噪音扰民，是否办理夜间施工许可？"),
        ],
    },
    // One waterway through three towns: no town has enough of it alone, the city has one hot issue.
    Matter {
        towns: &["huangpu", "dongfeng", "sanjiao"],
        category: "water.river",
        address: "鸡鸦水道",
        point: (22.6400, 113.3500),
        spread: 0.02,
        reports: &[
            ("鸡鸦水道河水发黑发臭", "鸡鸦水道河水发黑发臭，河面漂着死鱼，怀疑上游工厂偷排污水，请尽快查处。"),
            ("鸡鸦水道河水发黑有死鱼", "鸡鸦水道河水发黑发臭，河面漂着很多死鱼，怀疑有工厂偷排污水，请查处。"),
            ("鸡鸦水道河水发臭", "鸡鸦水道河水发黑发臭，岸边都是死鱼，怀疑上游工厂偷排污水，请环保部门查处。"),
            ("反映鸡鸦水道河水发黑发臭", "鸡鸦水道这段河水发黑发臭，河面漂着死鱼，怀疑工厂偷排污水，请尽快处理。"),
            ("鸡鸦水道偷排污水", "鸡鸦水道河水发黑发臭，河面漂着死鱼，怀疑上游工厂夜间偷排污水，请查处。"),
            ("鸡鸦水道河水污染", "鸡鸦水道河水发黑发臭，河面死鱼很多，怀疑上游工厂偷排污水，请尽快查处。"),
        ],
    },
];

/// Takes in the planted hot issues in the last four days before `options.end`, each report from its
/// own asker through the hotline; answers how many requests. Needs the org, the catalogue and the
/// demo users.
pub async fn load_hot_issues<S: Store>(
    store: &S,
    data: &DemoData,
    options: &HistoryOptions,
) -> Result<usize, DemoError> {
    let resolved = crate::exec::resolve(store, data).await?;
    let operator: Actor = resolved.actor(&Who::Operator)?;
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x4075);
    let mut planned: Vec<(Instant, &Matter, usize, &str, &str)> = Vec::new();
    for matter in MATTERS {
        for (n, (title, content)) in matter.reports.iter().enumerate() {
            let back = rng.gen_range(600..4 * 86_400);
            planned.push((plus_secs(options.end, -back), matter, n, title, content));
        }
    }
    planned.sort_by_key(|p| p.0);
    for (received_at, matter, n, title, content) in &planned {
        // About 20 m apart along the road (2 km along the waterway), so the hot issue's mean is the
        // matter's place.
        let offset = (*n as f64 - (matter.reports.len() - 1) as f64 / 2.0) * matter.spread;
        let point = GeoPoint::new(matter.point.0, matter.point.1 + offset, Datum::Wgs84)
            .map_err(|e| DemoError(format!("演示热点的位置无效：{e}")))?;
        let name = format!("{}{}", pick(&mut rng, &data.text.surnames)?, pick(&mut rng, &data.text.given_names)?);
        let new = NewRequest {
            kind: RequestKind::Complaint,
            urgency: Urgency::Normal,
            channel: Channel::Phone,
            asker: Asker::Resident,
            contact: Contact { name, phone: mobile(&mut rng)?, email: None },
            title: (*title).to_owned(),
            content: (*content).to_owned(),
            category_id: resolved.category(matter.category)?,
            location: Location {
                town_id: Some(resolved.unit(matter.towns[n % matter.towns.len()])?),
                address: Some(matter.address.to_owned()),
                point: Some(point),
            },
            ledger_ref: None,
            check_code: format!("{:08}", rng.gen_range(0..100_000_000u32)),
            submitted_by: None,
            due_at: None,
            deadlines: Default::default(),
            time_limits: None,
            card: None,
            visit: None,
            screening: None,
        };
        let meta = Meta { now: *received_at, client_ip: None };
        store.intake(new, &operator, &meta).await.map_err(|e| DemoError(format!("受理演示热点诉求失败：{e}")))?;
    }
    Ok(planned.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::duplicates::{Facts, hot_clusters};

    /// Each planted matter is one hot issue under the default thresholds, and the matters do not join;
    /// the waterway's spans its three towns, none of which has enough of it alone.
    #[test]
    fn each_matter_is_one_hot_issue_under_the_default_thresholds() {
        let data = DemoData::bundled().unwrap();
        let defaults = mashangban_domain::duplicates::Thresholds::default();
        let mut items = Vec::new();
        let mut owner = Vec::new();
        let mut towns: Vec<&str> = Vec::new();
        for (m, matter) in MATTERS.iter().enumerate() {
            assert!(data.category(matter.category).is_some(), "{}", matter.category);
            assert!(matter.reports.len() >= defaults.hot_min_size as usize);
            for (n, (title, content)) in matter.reports.iter().enumerate() {
                let town = matter.towns[n % matter.towns.len()];
                if !towns.contains(&town) {
                    towns.push(town);
                }
                items.push(Facts {
                    terms: mashangban_domain::duplicates::term_ids(mashangban_text::terms(&format!(
                        "{title}\n{content}"
                    ))),
                    phone: None,
                    credit_code: None,
                    address: Some(matter.address.to_owned()),
                    town: towns.iter().position(|t| *t == town).map(|i| i as i64 + 1),
                    category: m as i64 + 1,
                });
                owner.push(m);
            }
        }
        let clusters = hot_clusters(&items, &defaults);
        assert_eq!(clusters.len(), MATTERS.len(), "{clusters:?}");
        for c in &clusters {
            assert!(c.iter().all(|&i| owner[i] == owner[c[0]]));
            assert_eq!(c.len(), MATTERS[owner[c[0]]].reports.len());
            let spanned: std::collections::BTreeSet<_> = c.iter().map(|&i| items[i].town).collect();
            assert_eq!(spanned.len(), MATTERS[owner[c[0]]].towns.len());
        }
        let river = MATTERS.iter().find(|m| m.towns.len() > 1).unwrap();
        assert!(river.reports.len() / river.towns.len() < defaults.hot_min_size as usize, "no town alone is hot");
    }
}
