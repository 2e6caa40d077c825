//! The supervisor's page (`/supervise`, 督查督办): overdue (超期) and due-soon
//! (临期) work across all units by nearest deadline, each row with a
//! one-click 催办 where the person may urge, and the scoring table (考核) of a
//! chosen period from `app.scoring()`, as `GET /api/v1/scores`.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;

use crate::extract::PageQuery as Query;
use axum::http::StatusCode;

use mashangban_app::input::ActionName;
use mashangban_app::scheduler::SchedulerConfig;
use mashangban_app::scoring::{RATIO_NAMES, RowView, ScoreQuery, ratios};
use mashangban_app::{App, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::scoring::day_of;
use mashangban_store::{ListFilter, ListOrder, Store};

use super::dashboard::{chosen_period, percent};
use super::staff::Row;
use super::{Layout, PageResult, render};
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![Route::get("/supervise", page::<S>).permission(Permission::Oversee).nav(MenuKind::Main, 40, "督查督办")]
}

/// Rows per list.
const LIST_LIMIT: u32 = 100;

/// A row of a deadline list, and whether the person may urge (催办) it here.
pub struct DeadlineRow {
    pub row: Row,
    pub urge: bool,
}

/// One line of the scoring table, ready to print.
pub struct ScoreLine {
    pub rank: String,
    pub name: String,
    pub score: String,
    pub rates: Vec<String>,
    pub hours: String,
    /// Automatic dispatches (自动派单) and how many of them the unit returned, e.g. "12（退单 1）".
    pub automatic: String,
    /// 按时完成任务率 of the unit's command-centre tasks, e.g. "50.0%（2 件）".
    pub tasks_on_time: String,
    /// Tasks due in the period and overdue now (超期任务).
    pub overdue_tasks: i64,
}

/// One of the two deadline lists.
pub struct DeadlineList {
    pub id: &'static str,
    pub heading: &'static str,
    pub hint: String,
    pub rows: Vec<DeadlineRow>,
}

#[derive(Template)]
#[template(path = "supervise.html")]
struct SupervisePage {
    layout: Layout,
    lists: Vec<DeadlineList>,
    from: String,
    to: String,
    indicator_names: [&'static str; 8],
    scores: Vec<ScoreLine>,
    /// The weight of 按时完成任务率 in the composite score (0: not scored).
    task_weight: u32,
    xlsx_url: String,
}

/// `GET /supervise[?from=YYYY-MM-DD&to=YYYY-MM-DD]`: the scores of this month unless a period is chosen.
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult {
    let period = chosen_period(&query, day_of(&app.now()))?;
    let hours = SchedulerConfig::default().due_soon_working_hours;
    let (overdue, due_soon) = deadline_lists(&app, &caller, hours).await?;
    let lists = vec![
        DeadlineList {
            id: "overdue",
            heading: "超期诉求",
            hint: "答复期限已过、仍未办结的诉求。".into(),
            rows: overdue,
        },
        DeadlineList {
            id: "due-soon",
            heading: "临期诉求",
            hint: format!("{hours} 个工作小时内到期的诉求（与系统临期提醒相同）。"),
            rows: due_soon,
        },
    ];
    let options = app.settings().score_options();
    let view = app.scoring().report(&caller, ScoreQuery { period, unit: None, options }).await?;
    let scores = std::iter::once(&view.city).chain(view.units.iter()).map(score_line).collect();
    let page = SupervisePage {
        layout: Layout::staff("督查督办", &caller.actor, &menu),
        lists,
        from: period.from.to_string(),
        to: period.to.to_string(),
        indicator_names: RATIO_NAMES,
        scores,
        task_weight: options.task_on_time_weight,
        xlsx_url: format!("/api/v1/scores?from={}&to={}&format=xlsx", period.from, period.to),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Overdue work (reply deadline passed, still open) and work whose reply
/// deadline falls within the scheduler's due-soon working hours, nearest first.
async fn deadline_lists<S: Store>(
    app: &App<S>,
    caller: &Caller,
    hours: u32,
) -> PageResult<(Vec<DeadlineRow>, Vec<DeadlineRow>)> {
    let now = app.now();
    let horizon = app.requests().working_hours_ahead(hours);
    let base = ListFilter { order: ListOrder::Deadline, limit: LIST_LIMIT, ..ListFilter::default() };
    let overdue = ListFilter { overdue_at: Some(now), ..base.clone() };
    let due_soon = ListFilter { overdue_at: Some(horizon), due_from: Some(now), ..base };
    let mut lists = Vec::new();
    for filter in [overdue, due_soon] {
        let listing = app.requests().list(caller, &filter).await?;
        let list = listing
            .items
            .into_iter()
            .map(|(request, view)| DeadlineRow {
                urge: app.requests().may(&caller.actor, &request, ActionName::Urge),
                row: Row { countdown: super::staff::countdown(&view), view, screening: None },
            })
            .collect();
        lists.push(list);
    }
    let due_soon = lists.pop().unwrap_or_default();
    let overdue = lists.pop().unwrap_or_default();
    Ok((overdue, due_soon))
}

fn score_line(r: &RowView) -> ScoreLine {
    ScoreLine {
        rank: r.rank.map_or_else(|| "—".to_owned(), |n| n.to_string()),
        name: r.name().to_owned(),
        score: r.score.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}")),
        rates: ratios(&r.indicators).iter().map(percent).collect(),
        hours: r.indicators.handling_time.average_hours.map_or_else(|| "—".to_owned(), |h| format!("{h:.1}")),
        automatic: match r.indicators.auto_dispatch_returns {
            a if a.denominator == 0 => "—".to_owned(),
            a => format!("{}（退单 {}）", a.denominator, a.numerator),
        },
        tasks_on_time: match r.indicators.tasks_on_time {
            t if t.denominator == 0 => "—".to_owned(),
            t => format!("{}（{} 件）", percent(&t), t.denominator),
        },
        overdue_tasks: r.indicators.overdue_tasks,
    }
}
