//! Spam in the demo history (垃圾信息): public submissions polluted as the report this product is
//! built from was — ads for meeting rooms, tutoring venues, one-to-one lessons, hourly venues and
//! dance studios, fiction fragments, in traditional characters inside simplified text — besides
//! floods of links and phone numbers and the same ad submitted again and again. Each is taken in
//! from the portal with the verdict the screening rules give it (the classifier did not exist
//! then); those older than three days were marked spam by the dispatcher (a lifecycle action, an
//! event in their history), so the classifier has decisions to learn from, and the newest held
//! ones wait in the 待甄别 queue.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::screening::{self, Screening, Settings, Signals};
use mashangban_domain::time::{Instant, in_shanghai};
use mashangban_store::{Command, Meta, Store};

use crate::plan::{Who, mobile, pick, plus_secs};
use crate::{DemoData, DemoError, HistoryOptions};

/// One spam submission per this many requests of the history, at most [`MAX_SPAM`].
pub const SPAM_EVERY: usize = 15;
pub const MAX_SPAM: usize = 400;

/// Spam received this close to the end of the history is not decided yet.
const UNDECIDED_DAYS: i64 = 3;

/// Ad fragments as they were inserted, mostly in traditional characters.
pub const ADS: &[&str] = &[
    "會議室出租，時租場地，環境優雅，交通便利，歡迎來電預約。",
    "家教場地出租，1對1教學，小班輔導，名師授課，歡迎諮詢。",
    "1對1教學場地，按小時出租，地鐵口旁，停車方便。",
    "舞蹈室出租，舞蹈工作室常年招生，少兒中國舞、拉丁舞、爵士舞。",
    "時租場地：會議、培訓、沙龍、生日派對均可，價格實惠。",
    "瑜伽室出租，木地板全鏡面，可做舞蹈排練和拍攝。",
    "培訓教室出租，可容納三十人，投影白板齊全，按小時計費。",
    "会议室出租，时租场地，家教场地，一对一教学，欢迎咨询。",
];

/// Fiction fragments (小说片段), in traditional characters.
pub const FICTION: &[&str] = &[
    "第一百二十章 夜色漸深，她推開窗，遠處的燈火像是另一個世界。最新章節免費閱讀。",
    "他握緊了手中的劍，低聲道：「這一戰，我等了十年。」話音未落，身後已傳來腳步聲。",
    "少年抬起頭，看見漫天星河倒映在湖面上，心中忽然一陣悸動，彷彿聽見了師父的聲音。",
    "第三十七章 風起 雲層壓得很低，山門前的石階上，落滿了昨夜的雨。全文閱讀請點擊。",
];

/// Titles of pure ads.
const AD_TITLES: &[&str] =
    &["會議室出租", "時租場地優惠", "舞蹈工作室招生", "家教場地1對1教學", "场地出租", "培訓教室出租"];

/// Floods of links and numbers; `{p}` is a phone number, `{w}` a made-up site.
const FLOODS: &[&str] = &[
    "代辦各類證照，加急出證，詳情 www.{w}.top，聯繫 {p} 或 {p}，急辦 {p}。",
    "兼職日結，在家可做，手機操作，詳情 http://{w}.xyz 咨詢 {p} {p} {p}",
    "贷款秒批，无抵押，当天放款，电话 {p} {p} {p}，网址 {w}.vip",
];

const SITES: &[&str] = &["zs-banzheng", "kuaiban88", "rj-job", "daikuan-sp", "xz365"];

/// How a spam submission looks.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// A genuine request with an ad inserted in the middle.
    Inserted,
    /// An ad alone.
    Ad,
    /// A fiction fragment, alone or inside a genuine request.
    Fiction,
    /// Links and phone numbers.
    Flood,
}

/// One planned spam submission.
#[derive(Clone)]
struct Planned {
    received_at: Instant,
    title: String,
    content: String,
    category: String,
    contact: Contact,
    check_code: String,
    channel: Channel,
}

/// How many spam submissions a history of `count` requests gets.
pub fn spam_count(count: usize) -> usize {
    (count / SPAM_EVERY).min(MAX_SPAM)
}

/// Takes in the demo's spam (see the module) into a history of `options.count` requests just
/// generated; how many. Needs the org, the catalogue and the demo users.
pub async fn load_spam<S: Store>(store: &S, data: &DemoData, options: &HistoryOptions) -> Result<usize, DemoError> {
    let planned = plan(data, options)?;
    let resolved = crate::exec::resolve(store, data).await?;
    let dispatcher = resolved.actor(&Who::Dispatcher)?;
    let end = in_shanghai(&options.end);
    let settings = Settings::default();
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5BA4);
    // Earlier submissions of each text (by fingerprint), for the repeat rule.
    let mut seen: Vec<(String, Instant)> = Vec::new();
    for p in &planned {
        let screening = verdict(p, &settings, &seen);
        seen.push((screening.fingerprint.clone(), p.received_at));
        let new = NewRequest {
            kind: RequestKind::Consultation,
            urgency: Urgency::Normal,
            channel: p.channel,
            asker: Asker::Resident,
            contact: p.contact.clone(),
            title: p.title.clone(),
            content: p.content.clone(),
            category_id: resolved.category(&p.category)?,
            location: Location::default(),
            ledger_ref: None,
            check_code: p.check_code.clone(),
            submitted_by: None,
            due_at: None,
            deadlines: Default::default(),
            time_limits: None,
            card: None,
            visit: None,
            screening: Some(screening),
        };
        let meta = Meta { now: p.received_at, client_ip: None };
        let taken = store
            .intake(new, &Actor::PublicAsker, &meta)
            .await
            .map_err(|e| DemoError(format!("受理演示垃圾信息失败：{e}")))?;
        let decided = plus_secs(p.received_at, rng.gen_range(20 * 60..=300 * 60));
        if end.signed_duration_since(p.received_at) < Duration::days(UNDECIDED_DAYS) && taken.screening_held {
            continue;
        }
        let command = Command {
            tracking_no: taken.tracking_no.clone(),
            scope: Scope::All,
            actor: dispatcher.clone(),
            action: Action::MarkSpam { reason: Some(reason(p)) },
            attachment_ids: Vec::new(),
            meta: Meta { now: decided.min(end), client_ip: None },
            calendar: None,
            expected_version: None,
        };
        store.act(command).await.map_err(|e| DemoError(format!("标记演示垃圾信息 {} 失败：{e}", taken.tracking_no)))?;
    }
    Ok(planned.len())
}

fn reason(p: &Planned) -> String {
    if p.content.contains("章") || p.content.contains('」') {
        "小说片段，非诉求".to_owned()
    } else {
        "广告信息".to_owned()
    }
}

/// The verdict the rules give a planned submission, repeats counted among those before it.
fn verdict(p: &Planned, settings: &Settings, seen: &[(String, Instant)]) -> Screening {
    let raw = format!("{}\n{}", p.title, p.content);
    let compact = screening::compact(&mashangban_text::normalize(&raw));
    let fingerprint = screening::fingerprint(&compact);
    let since = p.received_at - Duration::hours(screening::REPEAT_WINDOW_HOURS);
    let repeats = seen.iter().filter(|(f, at)| *f == fingerprint && *at >= since).count();
    let scripts = mashangban_text::script_counts(&raw);
    let signals = Signals {
        text: &compact,
        traditional_chars: scripts.traditional,
        simplified_chars: scripts.simplified,
        repeats: u32::try_from(repeats).unwrap_or(u32::MAX),
        classifier: None,
    };
    Screening { verdict: screening::screen(&signals, settings), fingerprint }
}

/// The spam of a history, in received-time order. Pure: the same data and options give the same plan.
fn plan(data: &DemoData, options: &HistoryOptions) -> Result<Vec<Planned>, DemoError> {
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5BA3);
    let end = in_shanghai(&options.end);
    let count = spam_count(options.count);
    let templates = &data.text.templates;
    let mut out: Vec<Planned> = Vec::with_capacity(count);
    while out.len() < count {
        // Spread over the history, a tenth of them in its last days.
        let back = if rng.gen_bool(0.1) { rng.gen_range(60..3 * 86_400) } else { rng.gen_range(60..730 * 86_400) };
        let received_at = plus_secs(end, -back);
        let template = pick(&mut rng, templates)?;
        let i = rng.gen_range(0..template.titles.len().max(1));
        let genuine_title = template.titles.get(i).cloned().unwrap_or_default();
        let genuine = template.contents.get(i).cloned().unwrap_or_default();
        let fill = |t: &str| t.replace(['{', '}'], "");
        let phone = |rng: &mut StdRng| mobile(rng).map(|p| p.as_str().to_owned());
        let style =
            *pick(&mut rng, &[Style::Inserted, Style::Inserted, Style::Ad, Style::Ad, Style::Fiction, Style::Flood])?;
        let (title, content) = match style {
            Style::Inserted => (fill(&genuine_title), insert(&fill(&genuine), pick(&mut rng, ADS)?)),
            Style::Ad => {
                let mut ads: Vec<&str> = ADS.choose_multiple(&mut rng, 2).copied().collect();
                ads.shuffle(&mut rng);
                (
                    pick(&mut rng, AD_TITLES)?.to_string(),
                    format!("{}{}聯繫電話：{}", ads[0], ads.get(1).unwrap_or(&""), phone(&mut rng)?),
                )
            }
            Style::Fiction if rng.gen_bool(0.5) => {
                (fill(&genuine_title), insert(&fill(&genuine), pick(&mut rng, FICTION)?))
            }
            Style::Fiction => {
                let first = pick(&mut rng, FICTION)?;
                (first.chars().take(12).collect(), format!("{first}{}", pick(&mut rng, FICTION)?))
            }
            Style::Flood => {
                let mut text = pick(&mut rng, FLOODS)?.replace("{w}", pick(&mut rng, SITES)?);
                while text.contains("{p}") {
                    text = text.replacen("{p}", &phone(&mut rng)?, 1);
                }
                (text.chars().take(10).collect(), text)
            }
        };
        let name = format!("{}{}", pick(&mut rng, &data.text.surnames)?, pick(&mut rng, &data.text.given_names)?);
        let planned = Planned {
            received_at,
            title,
            content,
            category: template.category.clone(),
            contact: Contact { name, phone: mobile(&mut rng)?, email: None },
            check_code: format!("{:08}", rng.gen_range(0..100_000_000u32)),
            channel: if rng.gen_bool(0.6) { Channel::Web } else { Channel::Mobile },
        };
        // A flood of the same ad: submitted again three times within the hour.
        let again = matches!(style, Style::Ad) && rng.gen_bool(0.2);
        if again {
            for n in 1..=3 {
                if out.len() + 1 >= count {
                    break;
                }
                out.push(Planned {
                    received_at: plus_secs(received_at, n * 900),
                    check_code: format!("{:08}", rng.gen_range(0..100_000_000u32)),
                    ..planned.clone()
                });
            }
        }
        out.push(planned);
    }
    out.truncate(count);
    out.sort_by_key(|p| p.received_at);
    Ok(out)
}

/// `genuine` with `ad` inserted after a sentence in its middle.
fn insert(genuine: &str, ad: &str) -> String {
    let sentences: Vec<(usize, char)> =
        genuine.char_indices().filter(|(_, c)| matches!(c, '。' | '，' | '；')).collect();
    match sentences.get(sentences.len() / 2) {
        Some((at, c)) => {
            let cut = at + c.len_utf8();
            format!("{}{ad}{}", &genuine[..cut], &genuine[cut..])
        }
        None => format!("{genuine}{ad}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn options(count: usize) -> HistoryOptions {
        let end = mashangban_domain::time::parse_instant("2026-06-30T18:00:00+08:00").unwrap();
        HistoryOptions { seed: 7, count, end }
    }

    #[test]
    fn the_plan_is_deterministic_and_mostly_held_by_the_rules() {
        let data = DemoData::bundled().unwrap();
        let a = plan(&data, &options(3000)).unwrap();
        let b = plan(&data, &options(3000)).unwrap();
        assert_eq!(a.len(), 200);
        assert!(a.iter().zip(&b).all(|(x, y)| x.content == y.content && x.received_at == y.received_at));
        let mut seen = Vec::new();
        let mut held = 0;
        for p in &a {
            let s = verdict(p, &Settings::default(), &seen);
            seen.push((s.fingerprint.clone(), p.received_at));
            held += usize::from(s.verdict.held);
        }
        // Fiction without a phrase is left to the classifier and to staff.
        assert!(held * 10 >= a.len() * 7, "{held} of {} held by the rules alone", a.len());
    }

    #[test]
    fn the_demos_genuine_texts_are_not_held_by_the_rules() {
        let data = DemoData::bundled().unwrap();
        let settings = Settings::default();
        for t in &data.text.templates {
            for (title, content) in t.titles.iter().zip(&t.contents) {
                let p = Planned {
                    received_at: in_shanghai(&options(1).end),
                    title: title.clone(),
                    content: content.clone(),
                    category: t.category.clone(),
                    contact: Contact {
                        name: "陈伟".into(),
                        phone: mashangban_domain::validation::Phone::parse("13800138000").unwrap(),
                        email: None,
                    },
                    check_code: String::new(),
                    channel: Channel::Web,
                };
                let v = verdict(&p, &settings, &[]).verdict;
                assert!(!v.held, "{title}: {v:?}");
            }
        }
    }

    #[test]
    fn an_ad_goes_in_the_middle() {
        assert_eq!(insert("甲。乙。丙。", "广告"), "甲。乙。广告丙。");
        assert_eq!(insert("没有句号", "广告"), "没有句号广告");
    }
}
