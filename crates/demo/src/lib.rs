//! The demo city of mashangban (马上办): an organisation, a catalogue of
//! categories, demo accounts and a seeded two-year history of requests,
//! loaded through the ordinary store API so every step of the history is
//! checked by the request lifecycle and recorded as an event.
//!
//! The data lives in `data/*.toml` (bundled); a city can replace the three
//! files with its own ([`DemoData::from_dir`]).

mod approvals;
mod command;
mod command_reports;
mod compensation;
mod creeks;
mod data;
mod devices;
mod direct_line;
mod enforcement;
mod enterprises;
mod exec;
mod fund;
mod hot_issues;
mod ledgers;
mod liaisons;
mod monitoring;
mod onsite;
mod plan;
mod spam;
mod statistics;
mod text;
mod visits;

use std::collections::HashMap;
use std::fmt;

use mashangban_domain::org::{Actor, Role, UnitKind};
use mashangban_domain::time::Instant;
use mashangban_domain::validation::CreditCode;
use mashangban_store::{ArticleAuthor, ArticleInput, NewCategory, NewUnit, NewUser, Store};

pub use approvals::load_approvals;
pub use command::{DEMO_TASKS, load_command};
pub use command_reports::load_command_reports;
pub use compensation::load_compensation;
pub use creeks::{DEMO_CREEK_PLANS, load_creeks};
pub use data::DemoData;
pub use devices::{DeviceRun, DeviceTally, answered, minute_packet, run_devices};
pub use direct_line::load_direct_line;
pub use enforcement::load_enforcement;
pub use enterprises::{DEMO_ENTERPRISES, DemoEnterprise, demo_enterprises, load_enterprises};
pub use fund::{DEMO_FUND_POLICY, load_fund};
pub use hot_issues::load_hot_issues;
pub use ledgers::{DEMO_OUTLETS, load_ledgers, outlet_draft};
pub use liaisons::load_liaisons;
pub use monitoring::{DEMO_DEVICE_PASSWORD, DEMO_PARK, DEMO_POINTS, demo_mn, load_monitoring};
pub use onsite::load_onsite;
pub use spam::{load_spam, spam_count};
pub use statistics::load_statistics;
pub use visits::load_visits;

/// A failure loading the demo city; the message says what and where.
#[derive(Debug)]
pub struct DemoError(pub String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

/// A demo account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    pub username: &'static str,
    pub role: Role,
    /// The code of the account's unit; `None` for the enterprise account.
    pub unit_code: Option<String>,
    pub display_name: String,
}

/// The first 17 characters of the demo enterprise's credit code: `9` `1`
/// (an enterprise registered by market regulation), `442000` (Zhongshan),
/// then its organisation code.
const DEMO_ENTERPRISE_BODY: &str = "91442000MA4W7K3X5";
const DEMO_ENTERPRISE_NAME: &str = "中山市华凯灯饰有限公司";
/// The demo enterprise account's mobile number (fictional).
const DEMO_ENTERPRISE_PHONE: &str = "13926000001";

/// The demo enterprise's credit code and name (used by the `enterprise`
/// account and by some of its requests). Fictional.
pub fn demo_enterprise() -> Result<(CreditCode, String), DemoError> {
    // The body is a constant over the credit-code alphabet with a digit
    // division code; `tests::demo_enterprise_code_is_valid` proves it.
    CreditCode::with_check_char(DEMO_ENTERPRISE_BODY)
        .map(|code| (code, DEMO_ENTERPRISE_NAME.to_owned()))
        .ok_or_else(|| DemoError("the demo enterprise's credit code body is invalid".into()))
}

/// The demo accounts. Staff belong to the units of the bundled city; a
/// replaced org without one of them falls back to a unit of the same kind.
pub fn demo_users(data: &DemoData) -> Vec<DemoUser> {
    let unit = |preferred: &str, kind: UnitKind| -> Option<String> {
        data.unit(preferred)
            .or_else(|| data.units_of_kind(kind).next())
            .or_else(|| data.units_of_kind(UnitKind::City).next())
            .map(|u| u.code.clone())
    };
    let hotline = unit("zwfw-12345", UnitKind::Subunit);
    let staff = |username: &'static str, role: Role, unit_code: Option<String>, name: &str| DemoUser {
        username,
        role,
        unit_code,
        display_name: format!("{} {name}", role.label()),
    };
    vec![
        staff("operator", Role::Operator, hotline.clone(), "陈嘉欣"),
        staff("dispatcher", Role::Dispatcher, hotline, "梁志强"),
        staff("handler", Role::Handler, unit("scjgj", UnitKind::Department), "黄丽萍"),
        staff("unit-leader", Role::UnitLeader, unit("scjgj", UnitKind::Department), "何国华"),
        staff("supervisor", Role::Supervisor, unit("zwfw", UnitKind::Department), "林晓峰"),
        staff("leader", Role::CityLeader, unit("city", UnitKind::City), "郑振华"),
        staff("admin", Role::Admin, unit("city", UnitKind::City), "吴文杰"),
        staff("liaison", Role::Liaison, unit("guzhen", UnitKind::Town), "冯海涛"),
        staff("leaders-office", Role::LeadersOffice, unit("city", UnitKind::City), "邓慧敏"),
        // Staff of the city's government service centre (政务服务中心), run by 市政数局: on-site service.
        staff("service-centre", Role::ServiceCentre, unit("zwfw", UnitKind::Department), "麦淑仪"),
        // The statistics office (市统计局): keeps and publishes the statistics panel (数说).
        staff("statistics", Role::Statistician, unit("tjj", UnitKind::Department), "杨素琴"),
        // The water command centre's office (水污染治理指挥部办公室), in 市水务局: targets, tasks, ledgers.
        staff("water-office", Role::Handler, unit("swuj", UnitKind::Department), "何水清"),
        // Inside a unit (二次派单): a section (科室) of 市市场监管局, and 古镇镇 with one of its villages.
        staff("section", Role::Handler, unit("scjgj-djk", UnitKind::Subunit), "罗家明"),
        staff("town-handler", Role::Handler, unit("guzhen", UnitKind::Town), "区美玲"),
        staff("town-leader", Role::UnitLeader, unit("guzhen", UnitKind::Town), "梁永坚"),
        staff("village", Role::Handler, unit("guzhen-haizhou", UnitKind::Subunit), "苏志成"),
        DemoUser {
            username: "enterprise",
            role: Role::Enterprise,
            unit_code: None,
            display_name: DEMO_ENTERPRISE_NAME.to_owned(),
        },
    ]
}

/// Upserts units (parents before children; the order is sorted
/// topologically when the data is read) and categories (parents before
/// children). Idempotent.
pub async fn load_org_and_catalog<S: Store>(store: &S, data: &DemoData) -> Result<(), DemoError> {
    for u in &data.units {
        store
            .upsert_unit(NewUnit {
                code: u.code.clone(),
                name: u.name.clone(),
                short_name: u.short_name.clone(),
                kind: u.kind,
                parent_code: u.parent.clone(),
            })
            .await
            .map_err(|e| DemoError(format!("写入单位「{}」（{}）失败：{e}", u.name, u.code)))?;
    }
    for c in &data.categories {
        store
            .upsert_category(NewCategory {
                code: c.code.clone(),
                name: c.name.clone(),
                parent_code: c.parent.clone(),
                lead_unit_code: c.lead.clone(),
                keywords: c.keywords.clone(),
            })
            .await
            .map_err(|e| DemoError(format!("写入事项分类「{}」（{}）失败：{e}", c.name, c.code)))?;
    }
    load_knowledge(store, data).await
}

/// Stores the standard answers (知识库) of the demo data if the store has
/// none yet (idempotent), as the platform itself.
pub async fn load_knowledge<S: Store>(store: &S, data: &DemoData) -> Result<(), DemoError> {
    let existing = store.list_articles().await.map_err(|e| DemoError(format!("读取知识库失败：{e}")))?;
    if !existing.is_empty() {
        return Ok(());
    }
    let categories = store.list_categories().await.map_err(|e| DemoError(format!("读取事项分类失败：{e}")))?;
    let author = ArticleAuthor::new(&Actor::System, mashangban_domain::time::now());
    for a in &data.articles {
        let category_id =
            a.category.as_deref().and_then(|code| categories.iter().find(|c| c.code == code)).map(|c| c.id);
        let input =
            ArticleInput { title: a.title.clone(), body: a.body.clone(), category_id, keywords: a.keywords.clone() };
        store
            .create_article(input, author.clone())
            .await
            .map_err(|e| DemoError(format!("写入标准答复「{}」失败：{e}", a.title)))?;
    }
    Ok(())
}

/// Creates the demo users that do not exist yet (idempotent); returns
/// (username, created?) pairs. The caller passes a ready password hash
/// (the same password for all).
pub async fn load_users<S: Store>(
    store: &S,
    data: &DemoData,
    password_hash: &str,
) -> Result<Vec<(String, bool)>, DemoError> {
    let units: HashMap<String, i64> = store
        .list_units()
        .await
        .map_err(|e| DemoError(format!("读取组织架构失败：{e}")))?
        .into_iter()
        .map(|u| (u.code, u.id))
        .collect();
    let mut out = Vec::new();
    for user in demo_users(data) {
        let exists = store
            .find_user(user.username)
            .await
            .map_err(|e| DemoError(format!("查找演示账号「{}」失败：{e}", user.username)))?
            .is_some();
        if exists {
            out.push((user.username.to_owned(), false));
            continue;
        }
        let unit_id = match &user.unit_code {
            Some(code) => Some(*units.get(code).ok_or_else(|| {
                DemoError(format!("演示账号「{}」的单位「{code}」不存在，请先加载组织架构", user.username))
            })?),
            None => None,
        };
        let credit_code = match user.role {
            Role::Enterprise => Some(demo_enterprise()?.0.as_str().to_owned()),
            _ => None,
        };
        store
            .create_user(NewUser {
                username: user.username.to_owned(),
                display_name: user.display_name.clone(),
                role: user.role,
                unit_id,
                credit_code,
                // The enterprise account's phone on file: it prefills the portal's form and receives
                // password-reset codes (忘记密码) where an SMS gateway is configured.
                phone: (user.role == Role::Enterprise).then(|| DEMO_ENTERPRISE_PHONE.to_owned()),
                password_hash: password_hash.to_owned(),
            })
            .await
            .map_err(|e| DemoError(format!("创建演示账号「{}」失败：{e}", user.username)))?;
        out.push((user.username.to_owned(), true));
    }
    Ok(out)
}

/// Settings of the generated history.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    pub seed: u64,
    /// How many requests.
    pub count: usize,
    /// The history covers the two years before this instant; nothing happens after it.
    pub end: Instant,
}

/// Generates a deterministic history unless the store already holds
/// requests (then returns `Ok(0)`). Calls `progress(done, total)` as
/// requests finish. Needs the org, the catalogue and (for named actors) the
/// demo users loaded first, and a Tokio runtime.
pub async fn generate_history<S: Store>(
    store: &S,
    data: &DemoData,
    options: &HistoryOptions,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<usize, DemoError> {
    exec::generate_history(store, data, options, &progress).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn demo_enterprise_code_is_valid() {
        let body_ok = CreditCode::with_check_char(DEMO_ENTERPRISE_BODY);
        assert!(body_ok.is_some());
        let (code, name) = demo_enterprise().unwrap();
        assert_eq!(CreditCode::parse(code.as_str()).unwrap(), code);
        assert_eq!(code.division_code(), "442000");
        assert_eq!(name, "中山市华凯灯饰有限公司");
    }

    #[test]
    fn demo_users_have_their_units() {
        let data = DemoData::bundled().unwrap();
        let users = demo_users(&data);
        let by_name = |n: &str| users.iter().find(|u| u.username == n).unwrap();
        assert_eq!(by_name("operator").unit_code.as_deref(), Some("zwfw-12345"));
        assert_eq!(by_name("dispatcher").role, Role::Dispatcher);
        assert_eq!(by_name("handler").unit_code.as_deref(), Some("scjgj"));
        assert_eq!(by_name("unit-leader").role, Role::UnitLeader);
        assert_eq!(by_name("supervisor").unit_code.as_deref(), Some("zwfw"));
        assert_eq!(by_name("leader").unit_code.as_deref(), Some("city"));
        assert_eq!(by_name("admin").role, Role::Admin);
        let enterprise = by_name("enterprise");
        assert_eq!(enterprise.role, Role::Enterprise);
        assert_eq!(enterprise.unit_code, None);
        assert_eq!(enterprise.display_name, demo_enterprise().unwrap().1);
        assert_eq!(by_name("liaison").role, Role::Liaison);
        assert_eq!(by_name("leaders-office").role, Role::LeadersOffice);
        assert_eq!(by_name("service-centre").unit_code.as_deref(), Some("zwfw"));
        assert_eq!(by_name("section").unit_code.as_deref(), Some("scjgj-djk"));
        assert_eq!(by_name("village").unit_code.as_deref(), Some("guzhen-haizhou"));
        assert_eq!(by_name("town-leader").role, Role::UnitLeader);
        assert_eq!(
            (by_name("statistics").role, by_name("statistics").unit_code.as_deref()),
            (Role::Statistician, Some("tjj"))
        );
        assert_eq!(
            (by_name("water-office").role, by_name("water-office").unit_code.as_deref()),
            (Role::Handler, Some("swuj"))
        );
        assert_eq!(users.len(), 17);
        for u in &users {
            if u.role.is_staff() {
                assert!(data.unit(u.unit_code.as_deref().unwrap()).is_some(), "{}", u.username);
            }
        }
    }
}
