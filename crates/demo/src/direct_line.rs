//! The secretary-mayor direct line in the demo city (书记市长直通车): a few
//! dozen items over the last three months in every state — new, put before
//! the city leader, turned into ordinary requests, merged, instructed and in
//! hand (some past their limit), replies awaiting the office's review, and
//! answered ones (some rated, some published with consent). Each step goes
//! through the store as the pages and API do (the instruction takes in,
//! dispatches and supervises its request; the unit signs for and replies;
//! the office reviews). Idempotent: nothing is loaded when any item exists.

use std::collections::HashMap;

use chrono::Duration;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::direct_line::{Addressee, Instruction, ItemScope, NewItem, Review, Source};
use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Role, Scope, StaffActor};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, Rating, RequestKind, Urgency};
use mashangban_domain::time::Instant;
use mashangban_domain::validation::Phone;
use mashangban_store::{Command, Instructed, ItemFilter, Meta, Screening, Store};

use crate::DemoError;

/// (title, content, addressee, category code, lead unit code).
const LETTERS: &[(&str, &str, Addressee, &str, &str)] = &[
    (
        "扩建项目规划许可迟迟未批",
        "我司扩建厂房的规划许可申请已提交三个月，至今未获批复，影响订单交付。",
        Addressee::Mayor,
        "biz.change",
        "zrzyj",
    ),
    (
        "园区道路破损货车难行",
        "工业园区主干道多处破损，雨天积水，货车进出困难，请市长关注。",
        Addressee::Mayor,
        "biz.change",
        "jtysj",
    ),
    (
        "小区旁工地夜间施工扰民",
        "小区旁工地每晚施工到凌晨，噪音严重影响休息，多次反映未解决。",
        Addressee::Secretary,
        "biz.change",
        "sthjj",
    ),
    (
        "企业招工难请求对接院校",
        "我厂常年缺技术工人，希望政府协助对接本地职业院校定向培养。",
        Addressee::Mayor,
        "biz.change",
        "rsj",
    ),
    (
        "出口退税办理周期长",
        "我司出口退税从申报到到账需两个多月，资金压力大，希望缩短办理时间。",
        Addressee::Mayor,
        "tax.refund",
        "swj",
    ),
    (
        "灯饰产业园电力增容",
        "产业园新入驻企业用电负荷增加，变压器容量不足，经常跳闸。",
        Addressee::Secretary,
        "biz.change",
        "fgj",
    ),
    (
        "老旧小区加装电梯审批",
        "我们小区申请加装电梯，审批材料反复退回，请书记帮助协调。",
        Addressee::Secretary,
        "biz.change",
        "zjj",
    ),
    (
        "食品经营许可证续期",
        "门店食品经营许可证即将到期，网上续期系统多次提交失败。",
        Addressee::Mayor,
        "license.food",
        "scjgj",
    ),
    (
        "厂区周边排水管网改造",
        "厂区周边排水管网老化，暴雨时厂房进水，造成设备损失。",
        Addressee::Mayor,
        "biz.change",
        "swuj",
    ),
    ("中小企业融资难", "我司申请的贴息贷款审批进度慢，希望了解办理情况。", Addressee::Secretary, "biz.change", "czj"),
    ("学校周边交通拥堵", "上下学时段学校门口交通拥堵严重，存在安全隐患。", Addressee::Secretary, "biz.change", "sgaj"),
    ("养老保险关系转移", "从外省调入工作，养老保险关系转移手续办理不畅。", Addressee::Mayor, "social.pension", "rsj"),
];

const NAMES: &[&str] =
    &["张建国", "李秀英", "王志强", "陈美玲", "刘伟", "黄丽华", "周永明", "吴晓燕", "郑国栋", "梁慧敏"];

/// What happens to the n-th item.
#[derive(Clone, Copy)]
enum Fate {
    New,
    Submitted,
    Converted,
    Merged,
    Handling,
    Overdue,
    Review,
    Answered { rating: Option<Rating> },
}

fn fate(n: usize) -> Fate {
    match n % 12 {
        0 | 5 => Fate::Answered { rating: Some(Rating::Satisfied) },
        1 => Fate::Answered { rating: Some(Rating::VerySatisfied) },
        2 => Fate::Handling,
        3 => Fate::Review,
        4 => Fate::New,
        6 => Fate::Converted,
        7 => Fate::Overdue,
        8 => Fate::Submitted,
        9 => Fate::Merged,
        10 => Fate::Answered { rating: if n % 24 == 10 { Some(Rating::Dissatisfied) } else { None } },
        _ => Fate::Handling,
    }
}

/// Loads the demo items; how many.
pub async fn load_direct_line<S: Store>(store: &S, now: Instant) -> Result<u64, DemoError> {
    let failed = |e: mashangban_store::StoreError| DemoError(format!("载入直通车演示数据失败：{e}"));
    let domain = |e: mashangban_domain::DomainError| DemoError(e.message);
    if !store.items(&ItemFilter { limit: 1, ..ItemFilter::in_scope(ItemScope::All) }).await.map_err(failed)?.is_empty()
    {
        return Ok(0);
    }
    let calendar = WorkCalendar::bundled().map_err(domain)?;
    let units: HashMap<String, i64> =
        store.list_units().await.map_err(failed)?.into_iter().map(|u| (u.code, u.id)).collect();
    let categories: HashMap<String, i64> =
        store.list_categories().await.map_err(failed)?.into_iter().map(|c| (c.code, c.id)).collect();
    let (Some(leader), Some(office), Some(&city)) = (
        store.find_user("leader").await.map_err(failed)?,
        store.find_user("leaders-office").await.map_err(failed)?,
        units.get("city"),
    ) else {
        return Ok(0);
    };
    let staff = |user_id: Option<i64>, name: &str, role: Role, unit: i64| {
        Actor::Staff(StaffActor {
            user_id,
            name: name.to_owned(),
            role,
            unit_id: unit,
            units: vec![unit],
            town_id: None,
        })
    };
    let office_actor =
        staff(Some(office.id), &office.display_name, Role::LeadersOffice, office.unit_id.unwrap_or(city));
    let leader_actor = staff(Some(leader.id), &leader.display_name, Role::CityLeader, leader.unit_id.unwrap_or(city));
    let meta = |at: Instant| Meta { now: at, client_ip: None };
    let mut loaded = 0;
    let mut first_no: Option<String> = None;
    for n in 0..36usize {
        let (title, content, addressee, category_code, unit_code) = LETTERS[n % LETTERS.len()];
        let (Some(&category_id), Some(&lead)) = (categories.get(category_code), units.get(unit_code)) else { continue };
        let received = now - Duration::days(88 - (n as i64) * 5 / 2) - Duration::hours((n % 7) as i64);
        let name = NAMES[n % NAMES.len()];
        let phone = format!("139{:08}", 20_261_000 + n * 37);
        let source = [Source::Portal, Source::Portal, Source::Letter, Source::Call][n % 4];
        let item = NewItem::new(
            source,
            addressee,
            name,
            &phone,
            None,
            title,
            content,
            n % 3 != 2,
            format!("{:08}", 31_000_000 + n * 7919),
        )
        .map_err(domain)?;
        let by =
            if source == Source::Portal { "来信人（网上）".to_owned() } else { office.display_name.clone() };
        let item = store.take_in_item(item, received, by).await.map_err(failed)?;
        loaded += 1;
        let fate = fate(n);
        let step = |hours: i64| received + Duration::hours(hours);
        let submit =
            || Screening::Submit { leader_user_id: leader.id, category_id, comment: Some("请市领导批示".into()) };
        match fate {
            Fate::New => {}
            Fate::Submitted => {
                store.screen_item(item.id, submit(), &office_actor, &meta(step(3))).await.map_err(failed)?;
            }
            Fate::Converted => {
                let new = request(
                    &item.name,
                    Phone::parse(&item.phone).map_err(domain)?,
                    title,
                    content,
                    category_id,
                    Channel::Web,
                    None,
                );
                let screening = Screening::Convert { request: Box::new(new), comment: Some("属一般诉求".into()) };
                store.screen_item(item.id, screening, &office_actor, &meta(step(2))).await.map_err(failed)?;
            }
            Fate::Merged => {
                if let Some(into) = first_no.clone() {
                    let screening = Screening::Merge { into, comment: Some("同一事项".into()) };
                    store.screen_item(item.id, screening, &office_actor, &meta(step(2))).await.map_err(failed)?;
                }
            }
            Fate::Handling | Fate::Overdue | Fate::Review | Fate::Answered { .. } => {
                store.screen_item(item.id, submit(), &office_actor, &meta(step(3))).await.map_err(failed)?;
                let days = if matches!(fate, Fate::Overdue) { 3 } else { 10 };
                let text = format!("请{}牵头，{days}个工作日内办结并答复来信人。", unit_code_label(unit_code));
                let instruction = Instruction::new(&text, Some(lead), &[], Some(days)).map_err(domain)?;
                let at = step(26);
                let due = calendar.add_workdays(at, days).map_err(domain)?;
                let note = format!("\n\n【{}批示】{text}", leader.display_name);
                let mut new = request(
                    &item.name,
                    Phone::parse(&item.phone).map_err(domain)?,
                    title,
                    content,
                    category_id,
                    Channel::DirectLine,
                    Some(&note),
                );
                new.due_at = Some(due);
                let instructed = Instructed { instruction, due_at: due, request: Some(Box::new(new)) };
                let (_, taken) = store
                    .instruct_item(
                        item.id,
                        instructed,
                        &leader_actor,
                        &meta(at),
                        Some(std::sync::Arc::new(calendar.clone())),
                    )
                    .await
                    .map_err(failed)?;
                if matches!(fate, Fate::Handling | Fate::Overdue) {
                    continue;
                }
                let handler = staff(None, "演示数据（承办人）", Role::Handler, lead);
                let act = |action: Action, hours: i64| Command {
                    tracking_no: taken.tracking_no.clone(),
                    scope: Scope::All,
                    actor: handler.clone(),
                    action,
                    attachment_ids: Vec::new(),
                    meta: meta(step(hours)),
                    calendar: None,
                    expected_version: None,
                };
                store.act(act(Action::SignFor { comment: None }, 30)).await.map_err(failed)?;
                let reply = format!(
                    "关于「{title}」：经我单位核查，已会同有关单位研究处理，具体办理结果如下：已明确专人跟进，并于本周内落实。"
                );
                store.act(act(Action::Reply { content: reply }, 100)).await.map_err(failed)?;
                if let Fate::Answered { rating } = fate {
                    let review = Review::Approve { comment: Some("答复内容完整，同意".into()) };
                    store.review_item(item.id, review, &office_actor, &meta(step(120))).await.map_err(failed)?;
                    if let Some(rating) = rating {
                        store.rate_item(item.id, rating, None, step(150)).await.map_err(failed)?;
                    }
                }
            }
        }
        if first_no.is_none() {
            first_no = Some(item.tracking_no.clone());
        }
    }
    Ok(loaded)
}

fn unit_code_label(code: &str) -> &'static str {
    match code {
        "zrzyj" => "市自然资源局",
        "jtysj" => "市交通运输局",
        "sthjj" => "市生态环境局",
        "rsj" => "市人社局",
        "swj" => "市税务局",
        "fgj" => "市发展改革局",
        "zjj" => "市住建局",
        "scjgj" => "市市场监管局",
        "swuj" => "市水务局",
        "czj" => "市财政局",
        "sgaj" => "市公安局",
        _ => "有关单位",
    }
}

fn request(
    name: &str,
    phone: Phone,
    title: &str,
    content: &str,
    category_id: i64,
    channel: Channel,
    note: Option<&str>,
) -> NewRequest {
    let mut text = format!("【书记市长直通车】{content}");
    if let Some(note) = note {
        text.push_str(note);
    }
    NewRequest {
        kind: RequestKind::Help,
        urgency: Urgency::Normal,
        channel,
        asker: Asker::Resident,
        contact: Contact { name: name.to_owned(), phone, email: None },
        title: title.to_owned(),
        content: text,
        category_id,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: format!("{:08}", content.chars().count() * 104_729 % 100_000_000),
        submitted_by: None,
        due_at: None,
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    }
}
