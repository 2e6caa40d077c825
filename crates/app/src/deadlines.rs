//! Deadlines at the turn of the year: provisional (暂定) deadlines are
//! counted again when the State Council holiday notice of their year is
//! loaded, and administrators are warned from 1 November while next year's
//! notice is missing.

use chrono::NaiveDate;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::event::EventDetails;
use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::request::{Event, EventKind, Request};
use mashangban_domain::time_limit::RecountAnchors;
use mashangban_store::{Command, Meta, Store, StoreError, StoreResult};

use crate::App;

/// How many candidates are read at a time.
const BATCH: u32 = 200;

/// Counts again the deadlines of every open request that has provisional
/// ones (or none at all) under the calendar in force, each as a
/// `deadlines_recounted` event with before and after, in the same transaction as
/// the change. Requests whose deadlines come out the same are left alone.
/// Returns how many requests changed.
pub async fn recount_provisional<S: Store>(app: &App<S>, actor: &Actor, meta: &Meta) -> StoreResult<usize> {
    let calendar = app.caches().calendar();
    let mut after = 0;
    let mut changed = 0;
    loop {
        let batch = app.store().recount_candidates(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for request in batch {
            let history = app.store().history(request.id).await?;
            let anchors = anchors(&history);
            if !would_change(&request, &calendar, &anchors) {
                continue;
            }
            let command = Command {
                tracking_no: request.tracking_no.clone(),
                scope: Scope::All,
                actor: actor.clone(),
                action: Action::RecountDeadlines { anchors },
                attachment_ids: Vec::new(),
                meta: meta.clone(),
                calendar: Some(calendar.clone()),
                expected_version: None,
            };
            match app.store().act(command).await {
                Ok(_) => {
                    changed += 1;
                    app.live().publish(&request.tracking_no);
                }
                // Moved on meanwhile (closed, or changed by someone): its own action counted afresh.
                Err(StoreError::Domain(e)) if matches!(e.code, "illegal_transition" | "concurrent_update") => {}
                Err(e) => return Err(e),
            }
        }
    }
    if changed > 0 {
        tracing::info!(changed, "provisional deadlines recounted under the calendar in force");
    }
    Ok(changed)
}

/// Where the clocks of a request started, from its history.
pub fn anchors(history: &[Event]) -> RecountAnchors {
    let sign_for_from = history
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::Dispatched | EventKind::Redispatched | EventKind::ReturnRefused | EventKind::Reopened
            )
        })
        .map(|e| e.at);
    let paused_minutes: i64 = history
        .iter()
        .filter_map(|e| match &e.details {
            EventDetails::Resumed(r) => Some(r.paused_working_minutes),
            _ => None,
        })
        .sum();
    RecountAnchors { sign_for_from, paused: chrono::Duration::minutes(paused_minutes.max(0)) }
}

fn would_change(request: &Request, calendar: &WorkCalendar, anchors: &RecountAnchors) -> bool {
    let (due_at, deadlines) = mashangban_domain::time_limit::recount_deadlines(request, calendar, anchors);
    due_at != request.due_at || deadlines != request.deadlines
}

/// The warning shown to administrators from 1 November while next year's
/// State Council holiday notice is not loaded, if it applies today.
pub fn missing_notice_warning(calendar: &WorkCalendar, today: NaiveDate) -> Option<String> {
    let year = calendar.missing_next_year(today)?;
    Some(format!(
        "工作日历尚未导入{year}年的节假日安排（国务院办公厅通知）。{}年起的期限暂按周末休息计算并标为“暂定”，导入后自动重算；请尽快在“系统管理 › 工作日历”导入。",
        year
    ))
}

/// Today's date in Asia/Shanghai.
pub fn today<S: Store>(app: &App<S>) -> NaiveDate {
    app.now().with_timezone(&mashangban_domain::time::shanghai()).date_naive()
}
