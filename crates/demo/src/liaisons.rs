//! The demo city's liaison cadres (领导干部联系企业): the demo `liaison`
//! (a 古镇 cadre, lead liaison of the demo enterprise and other 古镇
//! enterprises), a cadre of every other town (`liaison-<town>`), the city
//! leader and the market regulator's head following the larger enterprises:
//! a few hundred assignments, the same on every run.

use std::collections::HashMap;

use mashangban_domain::enterprise::EnterpriseSize;
use mashangban_domain::liaison::{CadreInput, CadreLevel, LiaisonKind};
use mashangban_domain::org::{Role, UnitKind};
use mashangban_store::{AssignmentFilter, NewUser, Store};

use crate::{DemoData, DemoError, demo_enterprises};

/// Enterprises each town's cadre leads.
const PER_TOWN: usize = 12;
/// Larger enterprises the city leader and the department head each follow.
const PER_LEADER: usize = 40;
const NAMES: &[&str] = &[
    "冯海涛",
    "苏伟强",
    "黎志明",
    "杨家辉",
    "梁锦荣",
    "林少文",
    "何德胜",
    "陈永基",
    "黄国梁",
    "吴建新",
    "罗振宇",
    "郭文彬",
    "刘汉光",
    "张宏达",
    "李卓然",
    "周启航",
    "谭伟雄",
    "邓家豪",
    "叶志坚",
    "区国华",
    "钟永年",
    "孙伟杰",
    "高俊峰",
    "马建明",
    "朱立群",
    "胡少华",
    "卢锦辉",
    "简志雄",
    "萧国安",
    "韦成业",
];

/// Creates the town cadres' accounts (with `password_hash`), every cadre's
/// profile and the assignments, unless the demo cadre already has some
/// (idempotent). Answers how many assignments were made.
pub async fn load_liaisons<S: Store>(store: &S, data: &DemoData, password_hash: &str) -> Result<u64, DemoError> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: mashangban_store::StoreError| DemoError(format!("{what}失败：{e}"))
    };
    let Some(demo) = store.find_user("liaison").await.map_err(fail("查找演示联系干部"))? else { return Ok(0) };
    let existing = AssignmentFilter { user_id: Some(demo.id), limit: 1, ..AssignmentFilter::default() };
    if !store.assignments(&existing).await.map_err(fail("读取联系干部安排"))?.is_empty() {
        return Ok(0);
    }
    let now = mashangban_domain::time::now();
    let by = || "系统（system）".to_owned();
    let units: HashMap<String, i64> =
        store.list_units().await.map_err(fail("读取组织架构"))?.into_iter().map(|u| (u.code, u.id)).collect();
    let enterprises = demo_enterprises(data)?;
    let mut towns: Vec<_> = data.units_of_kind(UnitKind::Town).collect();
    towns.sort_by(|a, b| a.code.cmp(&b.code));
    let mut made = 0u64;
    for (i, town) in towns.iter().enumerate() {
        let cadre = if demo.unit_id == units.get(&town.code).copied() {
            demo.clone()
        } else {
            let username = format!("liaison-{}", town.code);
            match store.find_user(&username).await.map_err(fail("查找联系干部"))? {
                Some(user) => user,
                None => store
                    .create_user(
                        NewUser {
                            username,
                            display_name: format!("{} {}", Role::Liaison.label(), NAMES[(i + 1) % NAMES.len()]),
                            role: Role::Liaison,
                            unit_id: units.get(&town.code).copied(),
                            credit_code: None,
                            phone: None,
                            password_hash: password_hash.to_owned(),
                        },
                        mashangban_store::AccountBy::named("演示数据"),
                    )
                    .await
                    .map_err(fail("创建联系干部账号"))?,
            }
        };
        let post = format!("{}党委副书记", town.name);
        let input =
            CadreInput::new(cadre.id, Role::Liaison, CadreLevel::Town, &post, &format!("0760-2233{:04}", 1000 + i))
                .map_err(|e| DemoError(e.message))?;
        store.save_cadre(input, now, by()).await.map_err(fail("写入联系干部"))?;
        for e in enterprises.iter().filter(|e| e.town_code == town.code).take(PER_TOWN) {
            store
                .assign(e.credit_code.as_str(), cadre.id, LiaisonKind::Lead, now, by())
                .await
                .map_err(fail("安排联系干部"))?;
            made += 1;
        }
    }
    // The city leader and the market regulator's head each follow larger enterprises
    // (规上) not led by a town cadre above, as other liaisons.
    let led: std::collections::HashSet<&str> = towns
        .iter()
        .flat_map(|t| enterprises.iter().filter(|e| e.town_code == t.code).take(PER_TOWN))
        .map(|e| e.credit_code.as_str())
        .collect();
    let larger: Vec<_> = enterprises
        .iter()
        .filter(|e| e.size == EnterpriseSize::Above && !led.contains(e.credit_code.as_str()))
        .collect();
    for (k, (username, level, post, phone)) in [
        ("leader", CadreLevel::City, "副市长", "0760-88880001"),
        ("unit-leader", CadreLevel::Department, "市市场监管局局长", "0760-88990001"),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(user) = store.find_user(username).await.map_err(fail("查找演示账号"))? else { continue };
        let input = CadreInput::new(user.id, user.role, level, post, phone).map_err(|e| DemoError(e.message))?;
        store.save_cadre(input, now, by()).await.map_err(fail("写入联系干部"))?;
        for e in larger.iter().skip(k * PER_LEADER).take(PER_LEADER) {
            store
                .assign(e.credit_code.as_str(), user.id, LiaisonKind::Lead, now, by())
                .await
                .map_err(fail("安排联系干部"))?;
            made += 1;
        }
    }
    Ok(made)
}
