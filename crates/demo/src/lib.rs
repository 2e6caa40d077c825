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
mod pdf;
mod places;
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
pub use enterprises::{DEMO_ENTERPRISES, DemoEnterprise, EnterpriseGenerator, demo_enterprises, load_enterprises};
pub use fund::{DEMO_FUND_POLICY, load_fund};
pub use hot_issues::load_hot_issues;
pub use ledgers::{DEMO_OUTLETS, load_ledgers, outlet_draft};
pub use liaisons::load_liaisons;
pub use monitoring::{DEMO_DEVICE_PASSWORD, DEMO_PARK, DEMO_POINTS, demo_mn, load_monitoring};
pub use onsite::load_onsite;
pub use spam::{load_spam, spam_count};
pub use statistics::load_statistics;
pub use visits::{load_enterprise_visits, load_visits};

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
            .create_user(
                NewUser {
                    username: user.username.to_owned(),
                    display_name: user.display_name.clone(),
                    role: user.role,
                    unit_id,
                    credit_code,
                    // The enterprise account's phone on file: it prefills the portal's form and receives
                    // password-reset codes (忘记密码) where an SMS gateway is configured.
                    phone: (user.role == Role::Enterprise).then(|| DEMO_ENTERPRISE_PHONE.to_owned()),
                    password_hash: password_hash.to_owned(),
                },
                mashangban_store::AccountBy::named("演示数据"),
            )
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

/// Says `text` when something was loaded.
fn tell<N: PartialOrd + Default>(say: &mut (dyn FnMut(String) + Send), loaded: N, text: String) {
    if loaded > N::default() {
        say(text);
    }
}

/// The whole demo city, as `mashangban demo` loads it: the organisation and catalogue, the accounts
/// (with `password_hash`), then every module's records (`outlets` of them outlets into rivers) and a
/// history of `history.count` requests (the spam, the hot issues and the direct-line items with it).
/// `say` hears what was loaded, in Chinese;
/// `progress` the history's (done, total). Idempotent. Answers the accounts as (username, created?).
pub async fn load_city<S: Store>(
    store: &S,
    data: &DemoData,
    password_hash: &str,
    history: &HistoryOptions,
    outlets: u32,
    progress: impl Fn(u64, u64) + Send + Sync,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<Vec<(String, bool)>, DemoError> {
    let now = history.end;
    load_org_and_catalog(store, data).await?;
    let users = load_users(store, data, password_hash).await?;
    let enterprises = load_enterprises(store, data).await?;
    tell(say, enterprises, format!("已登记 {enterprises} 家演示企业。"));
    let ledger_items = load_ledgers(store, outlets).await?;
    tell(say, ledger_items, format!("已登记 {ledger_items} 条演示台账条目。"));
    let tasks = load_command(store, now).await?;
    tell(say, tasks, format!("已载入三个指挥部的演示目标和 {tasks} 项施工图任务。"));
    let reports = load_command_reports(store, now).await?;
    tell(say, reports, format!("已载入三个指挥部的定期报表、{reports} 份演示报送和军令状。"));
    let creeks = load_creeks(store, now).await?;
    tell(say, creeks, format!("已为 {creeks} 条演示河涌制定一河一策，并载入其中6条近一年的逐月水质采样。"));
    let liaisons = load_liaisons(store, data, password_hash).await?;
    tell(say, liaisons, format!("已安排 {liaisons} 项联系干部联系企业。"));
    let visits = load_visits(store, now).await?;
    tell(say, visits, format!("已载入 {visits} 次走访和行走的办公室（含已记录、已取消和计划中的）。"));
    let approvals = load_approvals(store, now).await?;
    tell(say, approvals, format!("已载入 {approvals} 个拿地即开工演示项目。"));
    let statistics = load_statistics(store, now).await?;
    tell(say, statistics, format!("已载入 {statistics} 个数说演示统计数值。"));
    let points = load_monitoring(store, data, now).await?;
    tell(
        say,
        points,
        format!("已载入化工园区 {points} 个在线监测点位及一周小时数据（设备密码 {DEMO_DEVICE_PASSWORD}）。"),
    );
    let cases = load_enforcement(store, now).await?;
    tell(say, cases, format!("已载入 {cases} 件环境执法演示案件（来自超标报警和现场检查）。"));
    let matters = load_compensation(store, now).await?;
    tell(say, matters, format!("已载入生态环境损害赔偿专家库（18 位专家）和 {matters} 件赔偿事项。"));
    let fund = load_fund(store, now).await?;
    tell(say, fund, format!("已载入产业扶持资金演示政策（10 项措施）和 {fund} 份申报。"));
    let onsite = load_onsite(store, data, now).await?;
    tell(say, onsite, format!("已载入上门服务（行走办）演示数据：6 项服务事项、2 个政务服务中心和 {onsite} 份申请。"));
    let made = generate_history(store, data, history, progress).await?;
    if made == 0 {
        say("演示城市已存在：历史诉求未重复生成。".into());
    } else {
        say(format!("已生成 {made} 件历史诉求。"));
        // Spam submissions in the styles of the report, most marked spam, the newest held (待甄别).
        let spam = load_spam(store, data, history).await?;
        if spam > 0 {
            say(format!("已载入 {spam} 件演示垃圾信息（广告、小说片段、成批网址和电话；最近几天的在待甄别队列）。"));
        }
        // A few matters many people called about in the last days: the dashboard's hot issues.
        let hot = load_hot_issues(store, data, history).await?;
        say(format!(
            "已载入 {hot} 件近期热点问题诉求（岐江路水浸、翠景花园物业收费、彩虹大道夜间施工，及跨黄圃、东凤、三角三镇的鸡鸦水道污染）。"
        ));
    }
    // After the history: the generator writes history only into a city without requests, and
    // instructed direct-line items are requests (none at all when none were asked for).
    let direct_line = match history.count {
        0 => 0,
        _ => load_direct_line(store, now).await?,
    };
    if direct_line > 0 {
        say(format!("已载入 {direct_line} 件书记市长直通车演示来信（含批示、交办和审核答复）。"));
    }
    Ok(users)
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
