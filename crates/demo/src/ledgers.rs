//! Demo ledger items (台账) for the five bundled ledger types, spread over
//! the demo towns and stages, written through the store's ledger API with a
//! history entry each (validated by the ledger engine, every stage's required
//! fields present). A file field names a real document of its item (a one-page
//! PDF), uploaded after the item is written, as on the item's page.
//! Deterministic; loading again writes nothing.
//!
//! Outlets at the report's scale: over 40,000 surveyed in 22 of the 23 towns
//! (the survey is to reach the last by year end), each at a point in its own
//! town. The rest is modest: 40 creeks, one sewer area per town, 30 park
//! projects and 30 investment projects. Tests load fewer outlets.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};

use mashangban_domain::document::{DocumentFile, MAX_PER_OWNER, OwnerKind};
use mashangban_domain::ledger::{FieldKind, FieldValue, LedgerType, Values, diff};
use mashangban_domain::org::{OrgTree, UnitKind};
use mashangban_store::{
    DocumentActor, DocumentOwner, DocumentRecord, LedgerAction, LedgerAuthor, LedgerFill, LedgerFilter, LedgerItem,
    LedgerScope, LedgerWrite, PurposedFile, Store, bundled_ledger_types, ledger_item_name, ledger_placement,
};

use crate::{DemoError, pdf, places};

/// Outlets the demo city has (`mashangban demo --demo-outlets`): the report's "over 40,000 surveyed
/// on site in 22 towns".
pub const DEMO_OUTLETS: u32 = 40_500;
/// Items written per transaction.
const ROUND: usize = 2_000;
/// The town whose outlets are not surveyed yet ("survey to cover all towns by year end"): it has none.
const UNSURVEYED_TOWN: &str = "shenwan";
const CREEKS: u32 = 40;
const PARKS: u32 = 30;
const PROJECTS: u32 = 30;
const SEED: u64 = 20_211_111;

/// One item to write: its target stage and its input by field code.
struct Draft {
    stage: &'static str,
    input: BTreeMap<String, Json>,
}

fn input(value: Json) -> BTreeMap<String, Json> {
    match value {
        Json::Object(map) => map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => BTreeMap::new(),
    }
}

fn date(day_of_year: u32) -> String {
    let d = chrono::NaiveDate::from_yo_opt(2026, day_of_year.clamp(1, 330)).unwrap_or_default();
    d.format("%Y-%m-%d").to_string()
}

/// A stage by weighted lot: `weights[i]` for the `i`th stage.
fn stage_of(rng: &mut StdRng, stages: &[&'static str], weights: &[u32]) -> (usize, &'static str) {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return (i, stages[i]);
        }
        roll -= w;
    }
    (0, stages[0])
}

/// The demo's `count` outlets, drawn as they are taken, over the towns surveyed.
fn outlet_drafts<'a>(rng: &'a mut StdRng, towns: &[String], count: u32) -> impl Iterator<Item = Draft> + Send + 'a {
    let surveyed: Vec<String> = towns.iter().filter(|t| *t != UNSURVEYED_TOWN).cloned().collect();
    let surveyed = if surveyed.is_empty() { towns.to_vec() } else { surveyed };
    (1..=count).map(move |n| {
        let (stage, input) = outlet_draft(rng, n, &surveyed);
        Draft { stage, input }
    })
}

/// The `n`th generated outlet (from 1; `towns` not empty): its stage and its input by field code, with
/// every field its stage requires. Keys are unique for every `n` below 100 million: the receiving water's
/// code is the town's, plus 100 per block of 9,999 outlets (the key's sequence number has four digits).
/// Its point lies within about 2 km of the town's centre (on a grid where the centre is not known).
/// The demo draws the first 40,500, the benchmark (`mashangban-bench ledgers`) a million.
pub fn outlet_draft(rng: &mut StdRng, n: u32, towns: &[String]) -> (&'static str, BTreeMap<String, Json>) {
    let stages = ["survey", "monitor", "trace", "remediate", "closed"];
    let types = ["GY", "WS", "NY", "QT"];
    let parties = ["某五金制品厂", "某污水处理厂", "某养殖场", "某村委会", "某印染厂", "某电镀厂"];
    let units = ["sthjj", "swuj", "zjj"];
    let t = (n as usize - 1) % towns.len();
    let town = &towns[t];
    let (block, seq) = ((n - 1) / 9999, (n - 1) % 9999 + 1);
    let water = format!("QJ{:06}", t as u32 + 1 + 100 * block);
    let kind = types[rng.gen_range(0..types.len())];
    let (s, stage) = stage_of(rng, &stages, &[30, 25, 20, 15, 10]);
    let day = rng.gen_range(10..120);
    let at = |i: usize, days: u32| (s >= i).then(|| date(day + days));
    let cod = rng.gen_range(15..90);
    let v = json!({
        "outlet_code": format!("{water}442000{kind}{seq:04}"),
        "name": format!("{town}{n}号排口"),
        "outlet_type": kind,
        "receiving_water_code": water,
        "receiving_water_name": format!("{town}主涌"),
        "town": town,
        "location": format!("{}路{}号旁", ["工业", "沿江", "兴业", "新城"][n as usize % 4], n % 97 + 1),
        "point": outlet_point(rng, n, t, town),
        "responsible_party": parties[n as usize % parties.len()],
        "discharge_mode": (["continuous", "intermittent", "seasonal"][n as usize % 3]),
        "surveyed_on": date(day),
        "monitored_on": at(1, 10),
        "cod_mg_l": (s >= 1).then(|| cod.to_string()),
        "nh3n_mg_l": (s >= 1).then(|| format!("{}.{}", rng.gen_range(0..4), rng.gen_range(0..10))),
        "source": (s >= 2).then_some("周边企业生产废水及生活污水混排"),
        "traced_on": at(2, 30),
        "remediation": (s >= 3).then(|| ["ban", "merge", "regulate"][n as usize % 3]),
        "responsible_unit": (s >= 3).then(|| units[n as usize % units.len()]),
        "remediation_deadline": (s >= 3).then(|| date(300)),
        "remediated_on": at(4, 80),
        "acceptance_file": (s >= 4).then(|| format!("demo-acceptance-{n:04}.pdf")),
        "closed_on": at(4, 90),
    });
    (stage, input(v))
}

/// Near the town's centre, spread as a sum of two uniform draws (denser towards the centre), rounded
/// to six places (about 0.1 m); the `n`th of the `t`th town on a grid where the centre is not known.
fn outlet_point(rng: &mut StdRng, n: u32, t: usize, town: &str) -> Json {
    let Some((lat, lon)) = places::town_centre(town) else {
        return json!({ "lat": 22.5 + f64::from(t as u32) * 0.01 + f64::from(n % 10) * 0.001, "lon": 113.2 + f64::from(n % 17) * 0.01 });
    };
    let mut spread = || rng.gen_range(-0.01..0.01) + rng.gen_range(-0.01..0.01);
    let round = |x: f64| (x * 1e6).round() / 1e6;
    json!({ "lat": round(lat + spread()), "lon": round(lon + spread()) })
}

fn creeks(rng: &mut StdRng, towns: &[String]) -> Vec<Draft> {
    let stages = ["plan", "construct", "done", "accepted"];
    (1..=CREEKS)
        .map(|n| {
            let town = &towns[(n as usize * 3) % towns.len()];
            let (s, stage) = stage_of(rng, &stages, &[15, 55, 20, 10]);
            let v = json!({
                "creek_code": format!("HY442000{n:03}"),
                "name": format!("{}涌{n}号", ["横", "石", "沙", "白", "东", "西", "南", "北"][n as usize % 8]),
                "town": town,
                "cluster": if n <= 28 { "central" } else { "other" },
                "category": if n <= 28 { "substandard" } else { "priority" },
                "length_km": format!("{}.{}", rng.gen_range(1..9), rng.gen_range(0..10)),
                "river_chief": format!("{}河长", ["陈", "李", "黄", "梁", "何"][n as usize % 5]),
                "target_date": "2026-12-31",
                "target_class": if n % 3 == 0 { "4" } else { "5" },
                "measures": (s >= 1).then_some("截污纳管、清淤疏浚、生态补水"),
                "budget": (s >= 1).then(|| format!("{}", rng.gen_range(300..3000))),
                "responsible_unit": (s >= 1).then_some("swuj"),
                "plan_approved_on": (s >= 1).then(|| date(20 + n)),
                "start_on": (s >= 1).then(|| date(40 + n)),
                "completed_on": (s >= 2).then(|| date(200 + n)),
                "acceptance_file": (s >= 3).then(|| format!("demo-creek-{n:03}.pdf")),
                "sampled_on": (s >= 2).then(|| date(220 + n)),
                "do_mg_l": (s >= 2).then(|| format!("{}.{}", rng.gen_range(2..7), rng.gen_range(0..10))),
                "nh3n_mg_l": (s >= 2).then(|| format!("{}.{}", rng.gen_range(0..2), rng.gen_range(0..10))),
            });
            Draft { stage, input: input(v) }
        })
        .collect()
}

fn sewers(rng: &mut StdRng, towns: &[String]) -> Vec<Draft> {
    let stages = ["intercept", "separate", "done"];
    towns
        .iter()
        .enumerate()
        .map(|(i, town)| {
            let (s, stage) = stage_of(rng, &stages, &[30, 50, 20]);
            let planned = rng.gen_range(8..20);
            let built = if s == 2 { planned } else { rng.gen_range(1..planned) };
            let v = json!({
                "area_code": format!("PS-{:02}", i + 1),
                "town": town,
                "area_name": format!("{town}污水片区"),
                "planned_km": planned.to_string(),
                "built_km": built.to_string(),
                "built_up_km2": format!("{}", rng.gen_range(5..30)),
                "covered_km2": (s >= 2 || i % 2 == 0).then(|| format!("{}", rng.gen_range(4..5))),
                "responsible_unit": "swuj",
                "intercept_done_on": (s >= 1).then(|| date(60 + i as u32)),
                "separation_done_on": (s >= 2).then(|| date(250 + i as u32)),
            });
            Draft { stage, input: input(v) }
        })
        .collect()
}

fn parks(rng: &mut StdRng, towns: &[String], ty: &LedgerType) -> Vec<Draft> {
    let stages = ["plan", "reserve", "approve", "start", "complete", "produce"];
    (1..=PARKS)
        .map(|n| {
            let town = &towns[(n as usize * 5) % towns.len()];
            let (s, stage) = stage_of(rng, &stages, &[15, 20, 20, 20, 15, 10]);
            let body = format!("GY2026{n:04}");
            let code = ty.key_rule().and_then(|r| r.complete(&body)).unwrap_or(body);
            let area = rng.gen_range(30..300);
            let v = json!({
                "project_code": code,
                "project_name": format!("{town}村级工业园{n}号改造项目"),
                "park_name": format!("{town}第{}工业园", n % 4 + 1),
                "town": town,
                "mode": (["ggg", "ggz", "ggmo"][n as usize % 3]),
                "area_mu": area.to_string(),
                "plot_ratio_before": (s >= 1).then_some("1.0"),
                "plot_ratio_after": (s >= 1).then(|| format!("{}.{}", rng.gen_range(2..4), rng.gen_range(0..10))),
                "investment": (s >= 1).then(|| format!("{}", area * 40)),
                "project_lead": (s >= 1).then(|| format!("{}项目长", ["陈", "李", "黄"][n as usize % 3])),
                "plan_year": 2026,
                "responsible_unit": "zrzyj",
                "reserved_on": (s >= 2).then(|| date(40 + n)),
                "approved_on": (s >= 3).then(|| date(90 + n)),
                "started_on": (s >= 3).then(|| date(120 + n)),
                "completed_on": (s >= 4).then(|| date(240 + n)),
                "production_on": (s >= 5).then(|| date(290 + n)),
                "annual_output": (s >= 5).then(|| format!("{}", area * 3300 / 100)),
                "annual_tax": (s >= 5).then(|| format!("{}", area)),
                "jobs": (s >= 5).then(|| rng.gen_range(100..1200)),
            });
            Draft { stage, input: input(v) }
        })
        .collect()
}

fn projects(rng: &mut StdRng, towns: &[String]) -> Vec<Draft> {
    let stages = ["lead", "talk", "sign", "land", "start", "produce"];
    let industries = ["equipment", "ict", "health", "new_energy", "materials", "appliance", "lighting"];
    (1..=PROJECTS)
        .map(|n| {
            let (s, stage) = stage_of(rng, &stages, &[15, 25, 25, 15, 12, 8]);
            let v = json!({
                "project_code": format!("ZS2026{n:04}"),
                "project_name": format!("{}产业项目{n}号", ["智能装备", "电子信息", "生物医药", "新能源"][n as usize % 4]),
                "investor": format!("某{}集团有限公司", ["科技", "实业", "控股", "投资"][n as usize % 4]),
                "industry": industries[n as usize % industries.len()],
                "amount": format!("{}", rng.gen_range(5000..200_000)),
                "source_region": (["gba", "yrd", "bth", "hmt"][n as usize % 4]),
                "group": (["d1", "d2", "d3", "os"][n as usize % 4]),
                "responsible_leader": (["市委书记", "市长"][n as usize % 2]),
                "project_lead": (s >= 1).then(|| format!("{}项目长", ["周", "吴", "郑"][n as usize % 3])),
                "town": (s >= 2).then(|| towns[(n as usize * 7) % towns.len()].clone()),
                "signed_on": (s >= 2).then(|| date(100 + n)),
                "contract_file": (s >= 2).then(|| format!("demo-contract-{n:04}.pdf")),
                "event_batch": (s >= 2 && n % 3 == 0).then_some("11·11 集中签约"),
                "land_won_on": (s >= 3).then(|| date(180 + n)),
                "land_area_mu": (s >= 3).then(|| format!("{}", rng.gen_range(20..200))),
                "started_on": (s >= 4).then(|| date(230 + n)),
                "production_on": (s >= 5).then(|| date(300 + n % 20)),
            });
            Draft { stage, input: input(v) }
        })
        .collect()
}

/// A file an item's field names: the field's code and label, the file's name.
struct DemoFile {
    field: String,
    label: String,
    name: String,
}

/// Takes the file fields out of `values`.
fn take_files(ty: &LedgerType, values: &mut Values) -> Vec<DemoFile> {
    ty.fields()
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::File))
        .filter_map(|f| {
            values.remove(&f.code).map(|v| DemoFile {
                field: f.code.clone(),
                label: f.label.clone(),
                name: v.as_text(),
            })
        })
        .collect()
}

/// Uploads a one-page PDF for the item's field, which then names it, with the change in the item's history.
async fn upload<S: Store>(
    store: &S,
    ty: &LedgerType,
    type_version: i64,
    item_id: i64,
    file: DemoFile,
    author: LedgerAuthor,
) -> Result<(), DemoError> {
    let pdf = pdf::one_page(
        &format!("{}（演示）", file.label),
        &[format!("台账：{}", ty.name()), format!("文件：{}", file.name)],
    );
    let document = DocumentFile::new(Some(&file.name), pdf).map_err(|e| DemoError(e.message))?;
    let ty = ty.clone();
    let field = file.field;
    let fill: LedgerFill = Box::new(move |item: &LedgerItem, docs: &[DocumentRecord]| {
        let mut values = item.values.clone();
        let doc = docs.first().ok_or_else(|| mashangban_domain::DomainError::invalid("no_file", "没有上传的文件"))?;
        values.insert(field, FieldValue::File(doc.id.to_string()));
        Ok(LedgerWrite::document_added(&ty, type_version, item, values))
    });
    let owner = DocumentOwner { kind: OwnerKind::LedgerItem, id: item_id };
    let by = DocumentActor { user_id: None, name: author.name.clone() };
    store
        .add_ledger_documents(
            owner,
            vec![PurposedFile { purpose: Some(file.label), file: document }],
            MAX_PER_OWNER,
            by,
            fill,
            author,
        )
        .await
        .map_err(|e| DemoError(format!("上传演示台账文件失败：{e}")))?;
    Ok(())
}

/// Installs the bundled ledger types if absent and writes the demo items of each type that has
/// none yet, `outlets` of them outlets ([`DEMO_OUTLETS`] in the demo city); answers how many items
/// were written. Outlets are written in rounds of 2,000, each its own transaction: a load cut short
/// leaves the rounds before it, and the ledger is then left as it is (load into a new data directory).
pub async fn load_ledgers<S: Store>(store: &S, outlets: u32) -> Result<u64, DemoError> {
    let types = bundled_ledger_types().map_err(|e| DemoError(e.message))?;
    store.install_ledger_types(types).await.map_err(|e| DemoError(format!("安装台账类型失败：{e}")))?;
    let units = store.list_units().await.map_err(|e| DemoError(format!("读取组织架构失败：{e}")))?;
    let org = OrgTree::new(units);
    let mut towns: Vec<String> =
        org.units().filter(|u| u.kind == UnitKind::Town && u.active).map(|u| u.code.clone()).collect();
    towns.sort();
    if towns.is_empty() {
        return Err(DemoError("组织架构中没有镇街，请先加载组织架构".into()));
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut written = 0;
    for record in store.ledger_types().await.map_err(|e| DemoError(e.to_string()))? {
        let ty = LedgerType::from_toml(&record.definition).map_err(|e| DemoError(e.message))?;
        let any = LedgerFilter { limit: 1, ..LedgerFilter::default() };
        let existing =
            store.list_ledger_items(ty.code(), &any, &LedgerScope::All).await.map_err(|e| DemoError(e.to_string()))?;
        if existing.total > 0 {
            continue;
        }
        // Outlets are drawn and written a round at a time: 40,000 writes with their history in one
        // transaction held 470 MB. The other types are small and go in one round each.
        let mut drafts: Box<dyn Iterator<Item = Draft> + Send + '_> = match ty.code() {
            "outlet" => Box::new(outlet_drafts(&mut rng, &towns, outlets)),
            "creek" => Box::new(creeks(&mut rng, &towns).into_iter()),
            "sewer" => Box::new(sewers(&mut rng, &towns).into_iter()),
            "park" => Box::new(parks(&mut rng, &towns, &ty).into_iter()),
            "investment" => Box::new(projects(&mut rng, &towns).into_iter()),
            _ => Box::new(std::iter::empty()),
        };
        loop {
            let round: Vec<Draft> = drafts.by_ref().take(ROUND).collect();
            if round.is_empty() {
                break;
            }
            written += write_round(store, &ty, record.version, &org, round).await?;
        }
    }
    Ok(written)
}

/// Validates `drafts` as the ledger engine does a person's entry, writes them in one transaction with
/// their history by the import's bulk path (multi-row INSERTs: item by item, 40,000 outlets took two
/// minutes on PostgreSQL), then uploads each item's files; answers how many items were written.
async fn write_round<S: Store>(
    store: &S,
    ty: &LedgerType,
    type_version: i64,
    org: &OrgTree,
    drafts: Vec<Draft>,
) -> Result<u64, DemoError> {
    let mut writes = Vec::with_capacity(drafts.len());
    let mut files = Vec::with_capacity(drafts.len());
    for d in drafts {
        let mut values = ty.validate_item(&d.input, org).map_err(|errors| {
            let e: Vec<String> = errors.iter().map(|e| format!("{} {}：{}", e.label, e.value, e.message)).collect();
            DemoError(format!("演示台账「{}」的条目无效：{}", ty.name(), e.join("；")))
        })?;
        let stage = ty.known_stage(d.stage).map_err(|e| DemoError(e.message))?;
        ty.check_entry(&values, stage).map_err(|e| DemoError(format!("演示台账「{}」：{}", ty.name(), e.message)))?;
        let key = ty.key_of(&values).ok_or_else(|| DemoError("演示台账条目没有编号".into()))?;
        // A file field names a document of its item, so the item is written without its files,
        // which are then uploaded for their fields (as a person does on the item's page).
        let item_files = take_files(ty, &mut values);
        if !item_files.is_empty() {
            files.push((key.clone(), item_files));
        }
        let (town_id, unit_id) = ledger_placement(ty, &values, org);
        writes.push(LedgerWrite {
            id: None,
            expected_version: 0,
            type_code: ty.code().to_owned(),
            type_version,
            key,
            name: ledger_item_name(ty, &values),
            stage: stage.code.clone(),
            changes: diff(ty, &Values::new(), &values),
            values,
            town_id,
            unit_id,
            action: LedgerAction::Imported,
            from_stage: None,
            note: Some("演示数据".into()),
        });
    }
    let author = LedgerAuthor {
        user_id: None,
        name: "系统（system）".into(),
        role: "system".into(),
        ledger_roles: String::new(),
        at: mashangban_domain::time::now(),
    };
    let failed = |e: mashangban_store::StoreError| DemoError(format!("写入演示台账「{}」失败：{e}", ty.name()));
    let written = store.import_ledger_items(writes, author.clone()).await.map_err(failed)?;
    if files.is_empty() {
        return Ok(written);
    }
    let keys = files.iter().map(|(key, _)| key.clone()).collect();
    let ids: HashMap<String, i64> =
        store.ledger_items_by_keys(ty.code(), keys).await.map_err(failed)?.into_iter().map(|i| (i.key, i.id)).collect();
    for (key, item_files) in files {
        let id = *ids.get(&key).ok_or_else(|| DemoError(format!("演示台账条目 {key} 写入后未找到")))?;
        for file in item_files {
            upload(store, ty, type_version, id, file, author.clone()).await?;
        }
    }
    Ok(written)
}
