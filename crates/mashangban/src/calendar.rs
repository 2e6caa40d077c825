//! `mashangban calendar ...`: the work calendar (工作日历) from the command line.
//! Loading, seeding and file formats are shared with the web layer
//! (`mashangban_app::calendar`).

use std::path::PathBuf;

use clap::{ArgGroup, Subcommand};

use mashangban_app::calendar::{self, Amount, DayInfo};
use mashangban_backend::Backend;
use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::time::{format_instant, parse_instant};
use mashangban_store::{CalendarChange, CalendarStore, StoreError};

#[derive(Subcommand)]
pub enum CalendarCommand {
    /// Replace the years in FILE: TOML in the bundled format, or an .xlsx workbook
    /// (columns 日期 | 类型 (放假/调休上班) | 名称). All years or none.
    Import { file: PathBuf },
    /// Print the deadline a number of working days or working hours after --from.
    #[command(group(ArgGroup::new("amount").required(true).args(["workdays", "workhours"])))]
    Add {
        /// The instant of receipt, RFC 3339 (e.g. 2026-02-13T10:00:00+08:00).
        #[arg(long)]
        from: String,
        #[arg(long)]
        workdays: Option<u32>,
        #[arg(long)]
        workhours: Option<u32>,
    },
    /// Print every date from --from to --to (YYYY-MM-DD, inclusive) with its kind.
    Days {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// List the covered years with their notice references.
    Years,
}

pub async fn run(store: &Backend, command: CalendarCommand) -> Result<(), String> {
    match command {
        CalendarCommand::Import { file } => import(store, &file).await,
        CalendarCommand::Add { from, workdays, workhours } => {
            let amount = match (workdays, workhours) {
                (Some(days), _) => Amount::WorkingDays(days),
                (None, Some(hours)) => Amount::WorkingHours(hours),
                (None, None) => return Err("请给出 --workdays 或 --workhours".into()),
            };
            add(store, &from, amount).await
        }
        CalendarCommand::Days { from, to } => days(store, &from, &to).await,
        CalendarCommand::Years => years(store).await,
    }
}

async fn load(store: &Backend) -> Result<WorkCalendar, String> {
    calendar::load(store).await.map_err(message)
}

/// The largest import file read (holiday data is a few kilobytes).
const IMPORT_FILE_LIMIT: u64 = 4 * 1024 * 1024;

async fn import(store: &Backend, file: &std::path::Path) -> Result<(), String> {
    let size = std::fs::metadata(file).map_err(|e| format!("无法读取 {}: {e}", file.display()))?.len();
    if size > IMPORT_FILE_LIMIT {
        return Err(format!("{} 过大（{size} 字节）：导入文件不能超过 4 MB", file.display()));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("无法读取 {}: {e}", file.display()))?;
    let (years, source) = calendar::parse_import(&bytes).map_err(|e| format!("{}（{}）", e.message, e.code))?;
    // Store the bundled years first on a fresh database, so the import adds to them.
    load(store).await?;
    let changes = store.replace_calendar_years(years, calendar::cli_author(source)).await.map_err(message)?;
    for change in &changes {
        println!("{}", describe(change));
    }
    println!("已导入 {} 个年份；正在运行的服务重启后生效（通过接口修改则立即生效）。", changes.len());
    Ok(())
}

fn describe(change: &CalendarChange) -> String {
    let year = change.year.map_or_else(String::new, |y| y.to_string());
    let what = if change.previous.is_some() { "已替换" } else { "已新增" };
    format!(
        "{what} {year} 年：放假 {} 天，调休上班 {} 天",
        change.holidays.unwrap_or_default(),
        change.makeup_workdays.unwrap_or_default()
    )
}

async fn add(store: &Backend, from: &str, amount: Amount) -> Result<(), String> {
    let from = parse_instant(from)
        .ok_or_else(|| format!("--from「{from}」应为带时区的时间，例如 2026-02-13T10:00:00+08:00"))?;
    let calendar = load(store).await?;
    let due = calendar::due(&calendar, from, amount).map_err(|e| e.message)?;
    println!("{}", format_instant(&due));
    Ok(())
}

async fn days(store: &Backend, from: &str, to: &str) -> Result<(), String> {
    let date = |s: &str, flag: &str| {
        calendar::parse_date(s).ok_or_else(|| format!("{flag}「{s}」应为真实存在的日期，写成 YYYY-MM-DD"))
    };
    let (from, to) = (date(from, "--from")?, date(to, "--to")?);
    let calendar = load(store).await?;
    let days = calendar::days(&calendar, from, to).map_err(|e| e.message)?;
    println!("{}{}{}名称", pad("日期", 14), pad("星期", 8), pad("类型", 12));
    for day in &days {
        println!("{}", day_line(day));
    }
    Ok(())
}

fn day_line(day: &DayInfo) -> String {
    const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    use chrono::Datelike;
    let weekday = WEEKDAYS.get(day.date.weekday().num_days_from_monday() as usize).copied().unwrap_or("");
    format!(
        "{}{}{}{}",
        pad(&day.date.format("%Y-%m-%d").to_string(), 14),
        pad(&format!("周{weekday}"), 8),
        pad(day.kind.label(), 12),
        day.name.as_deref().unwrap_or("")
    )
}

/// Pads to a display width, counting CJK characters as two columns.
fn pad(s: &str, width: usize) -> String {
    let used: usize = s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(used)))
}

async fn years(store: &Backend) -> Result<(), String> {
    let calendar = load(store).await?;
    let infos = store.calendar_year_infos().await.map_err(message)?;
    for info in &infos {
        println!(
            "{}  放假 {:>2} 天  调休上班 {} 天  {}",
            info.year,
            info.holidays,
            info.makeup_workdays,
            info.notice.as_deref().unwrap_or("（无文号）")
        );
    }
    let hours: Vec<String> = calendar
        .working_hours()
        .periods()
        .iter()
        .map(|(s, e)| format!("{}–{}", s.format("%H:%M"), e.format("%H:%M")))
        .collect();
    println!("作息时间：{}", hours.join("，"));
    Ok(())
}

fn message(e: StoreError) -> String {
    match e {
        StoreError::Domain(e) => e.message,
        other => other.to_string(),
    }
}
