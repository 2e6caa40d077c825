//! The demo city's enterprise registry (企业名录): a few thousand fictional
//! enterprises across the towns, generated from a fixed seed so every run
//! (and the demo requests, which are made under their credit codes) agree.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use mashangban_domain::enterprise::{EnterpriseInput, EnterpriseSize};
use mashangban_domain::org::UnitKind;
use mashangban_domain::validation::CreditCode;
use mashangban_store::Store;

use crate::{DemoData, DemoError};

/// How many enterprises the demo city registers (the demo enterprise included).
pub const DEMO_ENTERPRISES: usize = 3000;
const SEED: u64 = 20211101;
const CREDIT_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB/T 4754-2017 classes by a word of the enterprise's name; the last is the default.
const INDUSTRIES: &[(&str, &str, &str)] = &[
    ("灯饰", "C3872", "照明灯具制造"),
    ("照明", "C3872", "照明灯具制造"),
    ("燃气具", "C3855", "家用厨房电器具制造"),
    ("电器", "C3859", "其他家用电力器具制造"),
    ("五金", "C3389", "其他金属制日用品制造"),
    ("金属", "C3399", "其他未列明金属制品制造"),
    ("服装", "C1810", "机织服装制造"),
    ("制衣", "C1810", "机织服装制造"),
    ("纺织", "C1713", "棉印染精加工"),
    ("机械", "C3489", "其他通用零部件制造"),
    ("模具", "C3525", "模具制造"),
    ("智能装备", "C3499", "其他未列明通用设备制造业"),
    ("食品", "C1499", "其他未列明食品制造"),
    ("红木", "C2110", "木质家具制造"),
    ("家具", "C2110", "木质家具制造"),
    ("光电", "C3976", "光电子器件制造"),
    ("电子", "C3989", "其他电子元件制造"),
    ("塑料", "C2929", "塑料零件及其他塑料制品制造"),
    ("包装", "C2231", "纸和纸板容器制造"),
    ("印刷", "C2319", "包装装潢及其他印刷"),
    ("化工", "C2669", "其他专用化学产品制造"),
    ("生物", "M7340", "医学研究和试验发展"),
    ("医疗器械", "C3589", "其他医疗设备及器械制造"),
    ("物流", "G5431", "普通货物道路运输"),
    ("建筑", "E4890", "其他土木工程建筑"),
    ("贸易", "F5199", "其他未列明批发业"),
    ("新材料", "C2929", "塑料零件及其他塑料制品制造"),
    ("餐饮", "H6110", "正餐服务"),
    ("卫浴", "C3075", "陶瓷卫生器具制造"),
    ("科技", "I6513", "应用软件开发"),
    ("", "C4190", "其他未列明制造业"),
];
const TAGS: &[&str] = &["专精特新", "高新技术企业", "外资企业", "重点税源", "上市后备", "个转企"];

/// One enterprise of the demo registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEnterprise {
    pub credit_code: CreditCode,
    pub name: String,
    pub town_code: String,
    pub industry: (&'static str, &'static str),
    pub size: EnterpriseSize,
    pub registered_on: NaiveDate,
    pub contact_name: String,
    pub contact_phone: String,
    pub tags: Vec<String>,
}

/// The demo registry: the demo enterprise first (in 古镇, where lighting is
/// made), then [`DEMO_ENTERPRISES`] − 1 others with unique codes and names
/// spread across the towns. The same list on every call.
pub fn demo_enterprises(data: &DemoData) -> Result<Vec<DemoEnterprise>, DemoError> {
    let towns: Vec<_> = data.units_of_kind(UnitKind::Town).collect();
    let Some(first_town) = towns.first() else { return Ok(Vec::new()) };
    let city = data.units_of_kind(UnitKind::City).next().map_or("", |u| u.name.as_str());
    let text = &data.text;
    let mut rng = StdRng::seed_from_u64(SEED);
    let (code, name) = crate::demo_enterprise()?;
    let home = data.unit("guzhen").map_or(first_town.code.clone(), |u| u.code.clone());
    let mut out = vec![enterprise(&mut rng, code, name, home, text)?];
    let mut names = std::collections::HashSet::new();
    let mut codes = std::collections::HashSet::new();
    names.insert(out[0].name.clone());
    codes.insert(out[0].credit_code.clone());
    while out.len() < DEMO_ENTERPRISES {
        let town = *towns.choose(&mut rng).unwrap_or(first_town);
        let (name, code) = name_and_code(&mut rng, city, town, text)?;
        if !names.insert(name.clone()) || !codes.insert(code.clone()) {
            continue;
        }
        out.push(enterprise(&mut rng, code, name, town.code.clone(), text)?);
    }
    Ok(out)
}

/// A name of the town's place from the text material, then a random credit code.
fn name_and_code(
    rng: &mut StdRng,
    city: &str,
    town: &crate::data::UnitDef,
    text: &crate::data::TextMaterial,
) -> Result<(String, CreditCode), DemoError> {
    let place = town.name.strip_suffix("街道").or_else(|| town.name.strip_suffix('镇')).unwrap_or(&town.name);
    let name =
        format!("{city}{place}{}{}", pick(rng, &text.enterprise_prefixes)?, pick(rng, &text.enterprise_suffixes)?);
    Ok((name, credit_code(rng)?))
}

/// Enterprises made as the demo registry's are (a valid credit code with its check character, a
/// name of the town's place, the GB/T 4754-2017 class its name suggests, size, registration date,
/// contact, tags), from a seed, as many as asked: the benchmarks' registries. Credit codes are
/// unique within one generator (and never the demo registry's seed); names may repeat.
pub struct EnterpriseGenerator<'d> {
    data: &'d DemoData,
    city: String,
    rng: StdRng,
    codes: std::collections::HashSet<CreditCode>,
}

impl<'d> EnterpriseGenerator<'d> {
    pub fn new(data: &'d DemoData, seed: u64) -> Self {
        let city = data.units_of_kind(UnitKind::City).next().map_or(String::new(), |u| u.name.clone());
        Self { data, city, rng: StdRng::seed_from_u64(seed ^ SEED.rotate_left(17)), codes: Default::default() }
    }

    /// The next enterprise, in the town of code `town` or, with `None`, in one of the towns drawn
    /// at random.
    pub fn generate(&mut self, town: Option<&str>) -> Result<DemoEnterprise, DemoError> {
        let data = self.data;
        let town = match town {
            Some(code) => data.unit(code).filter(|u| u.kind == UnitKind::Town),
            None => {
                let towns: Vec<_> = data.units_of_kind(UnitKind::Town).collect();
                towns.choose(&mut self.rng).copied()
            }
        }
        .ok_or_else(|| DemoError(format!("演示组织架构中没有镇街「{}」", town.unwrap_or_default())))?;
        loop {
            let (name, code) = name_and_code(&mut self.rng, &self.city, town, &data.text)?;
            if self.codes.insert(code.clone()) {
                return enterprise(&mut self.rng, code, name, town.code.clone(), &data.text);
            }
        }
    }
}

impl DemoEnterprise {
    /// The store's input for this enterprise registered in the town of id `town_id`.
    pub fn input(&self, town_id: mashangban_domain::org::UnitId) -> EnterpriseInput {
        EnterpriseInput {
            credit_code: self.credit_code.clone(),
            name: self.name.clone(),
            town_id,
            address: None,
            industry_code: Some(self.industry.0.to_owned()),
            industry_name: Some(self.industry.1.to_owned()),
            size: Some(self.size),
            registered_on: Some(self.registered_on),
            contact_name: Some(self.contact_name.clone()),
            contact_phone: Some(self.contact_phone.clone()),
            tags: self.tags.clone(),
        }
    }
}

fn enterprise(
    rng: &mut StdRng,
    credit_code: CreditCode,
    name: String,
    town_code: String,
    text: &crate::data::TextMaterial,
) -> Result<DemoEnterprise, DemoError> {
    let (_, code, industry) = INDUSTRIES.iter().find(|(word, _, _)| name.contains(word)).copied().unwrap_or((
        "",
        "C4190",
        "其他未列明制造业",
    ));
    let registered_on =
        NaiveDate::from_ymd_opt(rng.gen_range(1995..=2025), rng.gen_range(1..=12), rng.gen_range(1..=28))
            .ok_or_else(|| DemoError("invalid demo registration date".into()))?;
    let contact_name = format!("{}{}", pick(rng, &text.surnames)?, pick(rng, &text.given_names)?);
    let contact_phone = format!("1{}{:09}", rng.gen_range(3..=9), rng.gen_range(0..1_000_000_000u32));
    let tags = if rng.gen_bool(0.15) { vec![(*pick(rng, TAGS)?).to_owned()] } else { Vec::new() };
    Ok(DemoEnterprise {
        credit_code,
        name,
        town_code,
        industry: (code, industry),
        size: if rng.gen_bool(0.2) { EnterpriseSize::Above } else { EnterpriseSize::Below },
        registered_on,
        contact_name,
        contact_phone,
        tags,
    })
}

/// A valid credit code registered in Zhongshan (division 442000).
fn credit_code(rng: &mut StdRng) -> Result<CreditCode, DemoError> {
    let mut body = String::from("91442000");
    for _ in 0..9 {
        body.push(char::from(CREDIT_ALPHABET[rng.gen_range(0..CREDIT_ALPHABET.len())]));
    }
    CreditCode::with_check_char(&body).ok_or_else(|| DemoError(format!("生成的信用代码前缀 {body} 无效")))
}

fn pick<'t, T>(rng: &mut StdRng, list: &'t [T]) -> Result<&'t T, DemoError> {
    list.choose(rng).ok_or_else(|| DemoError("演示文本列表为空".into()))
}

/// Registers the demo enterprises (upserted by credit code in one
/// transaction, so loading twice changes nothing); answers how many are new.
pub async fn load_enterprises<S: Store>(store: &S, data: &DemoData) -> Result<u64, DemoError> {
    let units = store.list_units().await.map_err(|e| DemoError(format!("读取组织架构失败：{e}")))?;
    let mut inputs = Vec::new();
    for e in demo_enterprises(data)? {
        let town = units
            .iter()
            .find(|u| u.code == e.town_code)
            .ok_or_else(|| DemoError(format!("企业「{}」的镇街「{}」不存在，请先加载组织架构", e.name, e.town_code)))?;
        inputs.push(e.input(town.id));
    }
    let counts = store
        .upsert_enterprises(inputs, true, mashangban_domain::time::now(), "系统（system）".into())
        .await
        .map_err(|e| DemoError(format!("写入企业名录失败：{e}")))?;
    Ok(counts.new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_deterministic_valid_and_spread_over_the_towns() {
        let data = DemoData::bundled().unwrap();
        let list = demo_enterprises(&data).unwrap();
        assert_eq!(list.len(), DEMO_ENTERPRISES);
        assert_eq!(list, demo_enterprises(&data).unwrap());
        assert_eq!(list[0].credit_code, crate::demo_enterprise().unwrap().0);
        for e in &list {
            assert_eq!(CreditCode::parse(e.credit_code.as_str()).unwrap(), e.credit_code);
            assert!(mashangban_domain::enterprise::parse_industry_code(e.industry.0).is_ok());
        }
        let towns: std::collections::HashSet<&str> = list.iter().map(|e| e.town_code.as_str()).collect();
        assert_eq!(towns.len(), data.units_of_kind(UnitKind::Town).count());
    }
}
