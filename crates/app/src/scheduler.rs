//! The deadline scheduler: marks due-soon (临期) and overdue (超期) work,
//! urges the responsible unit (催办) and escalates (提级) to the unit leader
//! and then the supervisor after configurable working time. Every notice is
//! an event; the store records each (request, deadline, level, due) once, so
//! a scan after a restart sends nothing twice and misses nothing.

use std::time::Duration;

use chrono::Duration as Span;

use mashangban_domain::calendar::WorkCalendar;
use mashangban_domain::lifecycle::{Action, DeadlineKind, DeadlineNotice, NoticeLevel};
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::request::{Request, RunningDeadline};
use mashangban_domain::time::Instant;
use mashangban_store::{Command, Meta, Store, StoreError, StoreResult};

use crate::App;

/// When notices go out.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How often to scan.
    pub interval: Duration,
    /// A deadline this many working hours ahead is due soon.
    pub due_soon_working_hours: u32,
    /// Overdue by this many working hours: escalate to the unit leader.
    pub unit_leader_after_working_hours: u32,
    /// Overdue by this many working hours: escalate to the supervisor.
    pub supervisor_after_working_hours: u32,
    /// Candidates read per page of a scan.
    pub batch: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            due_soon_working_hours: 4,
            unit_leader_after_working_hours: 7,
            supervisor_after_working_hours: 21,
            batch: 2_000,
        }
    }
}

/// The notices one request is due, by the clock `now`: its sign-for and reply deadlines (临期,
/// 超期, then escalation to the unit's leader and the supervisor), and each open assignment's
/// within its unit (二次派单: 临期 and 超期 to the sub-unit) and each co-handling unit's whose
/// part is missing (协办期限: 临期 and 超期 to that unit); the request's own deadlines escalate.
pub fn notices_due(
    r: &Request,
    now: Instant,
    calendar: &WorkCalendar,
    config: &SchedulerConfig,
) -> Vec<DeadlineNotice> {
    // (deadline, due, sub-unit) of each running deadline.
    let mut running = Vec::new();
    let clock = r.state.running_deadline();
    if clock == RunningDeadline::SignForOrReply {
        running.extend(r.deadlines.sign_for.map(|due| (DeadlineKind::SignFor, due, None)));
    }
    if matches!(clock, RunningDeadline::SignForOrReply | RunningDeadline::Reply) {
        running.extend(r.due_at.map(|due| (DeadlineKind::Reply, due, None)));
        let open = r.unit_work.subs.iter().filter(|s| s.is_open());
        running.extend(open.map(|s| (DeadlineKind::SubUnit, s.due, Some(s.sub_unit_id))));
        if let Some(due) = r.unit_work.co_deadline(r) {
            running.extend(r.unit_work.unanswered(r).into_iter().map(|unit| (DeadlineKind::CoUnit, due, Some(unit))));
        }
    }
    let hours = |h: u32| Span::hours(i64::from(h));
    let mut notices = Vec::new();
    for (deadline, due, unit_id) in running {
        let levels: Vec<NoticeLevel> = if now < due {
            let left = calendar.working_time_between(now, due).unwrap_or(due - now);
            if left <= hours(config.due_soon_working_hours) { vec![NoticeLevel::DueSoon] } else { vec![] }
        } else {
            let late = calendar.working_time_between(due, now).unwrap_or(now - due);
            let mut levels = vec![NoticeLevel::Overdue];
            let escalates = !deadline.is_a_units_own();
            if escalates && late >= hours(config.unit_leader_after_working_hours) {
                levels.push(NoticeLevel::UnitLeader);
            }
            if escalates && late >= hours(config.supervisor_after_working_hours) {
                levels.push(NoticeLevel::Supervisor);
            }
            levels
        };
        notices.extend(levels.into_iter().map(|level| DeadlineNotice { deadline, level, due, unit_id }));
    }
    notices
}

/// One scan: sends every notice that is due and not yet sent. Returns how many were sent.
pub async fn scan<S: Store>(app: &App<S>, config: &SchedulerConfig) -> StoreResult<usize> {
    let now = app.now();
    let calendar = app.caches().calendar();
    let horizon = calendar
        .add_workhours(now, config.due_soon_working_hours)
        .unwrap_or(now + Span::hours(i64::from(config.due_soon_working_hours)));
    let mut sent = 0;
    let mut after = 0;
    loop {
        let page = app.store().deadline_candidates(horizon, after, config.batch).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let full = page.len() >= config.batch as usize;
        for request in page {
            sent += send_due_notices(app, &request, now, &calendar, config).await?;
        }
        if !full {
            break;
        }
    }
    Ok(sent)
}

/// Sends the notices one request is due now and not yet sent; how many.
async fn send_due_notices<S: Store>(
    app: &App<S>,
    request: &Request,
    now: Instant,
    calendar: &std::sync::Arc<WorkCalendar>,
    config: &SchedulerConfig,
) -> StoreResult<usize> {
    let mut sent = 0;
    for notice in notices_due(request, now, calendar, config) {
        let command = Command {
            tracking_no: request.tracking_no.clone(),
            scope: Scope::All,
            actor: Actor::System,
            action: Action::Notice { notice },
            attachment_ids: Vec::new(),
            meta: Meta { now, client_ip: None },
            calendar: Some(calendar.clone()),
            expected_version: None,
        };
        match app.store().act(command).await {
            Ok(_) => {
                sent += 1;
                app.live().publish(&request.tracking_no);
            }
            // Sent before (a rescan, another node), or the request moved on meanwhile.
            Err(StoreError::Domain(e)) if matches!(e.code, "notice_already_sent" | "illegal_transition") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Scans unless another app node is scanning now (one scanner at a time
/// across nodes; the notices are recorded once each either way).
pub async fn scan_if_leading<S: Store>(app: &App<S>, config: &SchedulerConfig) -> StoreResult<usize> {
    match app.store().try_lock_job("deadline-scan").await? {
        Some(_lock) => scan(app, config).await,
        None => Ok(0),
    }
}

/// Deletes change-feed rows older than the retention setting, unless another
/// node is doing it; how many.
pub async fn prune_feed<S: Store>(app: &App<S>) -> StoreResult<u64> {
    let Some(_lock) = app.store().try_lock_job("feed-prune").await? else { return Ok(0) };
    let keep = Span::days(i64::from(app.settings().change_retention_days));
    app.store().prune_changes(app.now() - keep).await
}

/// Deletes staff inbox entries read longer ago than the retention setting (and old entries of
/// disabled accounts), unless another node is doing it; how many.
pub async fn prune_inbox<S: Store>(app: &App<S>) -> StoreResult<u64> {
    let Some(_lock) = app.store().try_lock_job("inbox-prune").await? else { return Ok(0) };
    let keep = Span::days(i64::from(app.settings().inbox_retention_days));
    app.store().prune_inbox(app.now() - keep).await
}

/// Deletes the shared throttle counts of ended windows, unless another node
/// is doing it; how many.
pub async fn prune_throttles<S: Store>(app: &App<S>) -> StoreResult<u64> {
    let Some(_lock) = app.store().try_lock_job("rate-limit-prune").await? else { return Ok(0) };
    app.prune_throttles().await
}

/// Once a day (and at start-up): warns while next year's holiday notice is
/// missing, and recounts provisional deadlines (a calendar loaded by the CLI
/// while the server was stopped takes effect here). False when the recount failed.
pub async fn check_calendar<S: Store>(app: &App<S>) -> bool {
    if let Some(warning) =
        crate::deadlines::missing_notice_warning(&app.caches().calendar(), crate::deadlines::today(app))
    {
        tracing::warn!("{warning}");
    }
    let Ok(Some(_lock)) = app.store().try_lock_job("deadline-recount").await else { return true };
    let meta = Meta { now: app.now(), client_ip: None };
    match crate::deadlines::recount_provisional(app, &Actor::System, &meta).await {
        Ok(_) => true,
        Err(error) => {
            tracing::error!(%error, "recounting provisional deadlines failed");
            false
        }
    }
}

/// How often missing periodic reports of the command centres are looked for and chased (once each).
const REPORT_CHASE_EVERY: Duration = Duration::from_secs(5 * 60);

/// How often overdue compensation payments and remediation are looked for and pressed (督办, once each).
const COMPENSATION_SUPERVISION_EVERY: Duration = Duration::from_secs(5 * 60);

/// How often each node retrains its spam-screening classifier from staff decisions.
const SCREENING_TRAINING_EVERY: Duration = Duration::from_secs(15 * 60);

/// Runs scans and the missing-data check of monitoring points every `interval`, chases missing command-centre reports and presses overdue compensation
/// obligations every five minutes, keeps an audit anchor and retrains the dispatch model daily (and at
/// start-up), retrains the spam-screening classifier every quarter hour, and prunes the change feed
/// and ended throttle windows hourly, until `stop` fires.
pub fn spawn<S: Store>(
    app: App<S>,
    config: SchedulerConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_prune: Option<std::time::Instant> = None;
        let mut last_calendar_check: Option<chrono::NaiveDate> = None;
        let mut last_anchor: Option<chrono::NaiveDate> = None;
        let mut last_training: Option<chrono::NaiveDate> = None;
        let mut last_screening_training: Option<std::time::Instant> = None;
        let mut last_report_chase: Option<std::time::Instant> = None;
        let mut last_supervision: Option<std::time::Instant> = None;
        loop {
            let today = crate::deadlines::today(&app);
            if last_calendar_check != Some(today) {
                last_calendar_check = Some(today);
                let checked = check_calendar(&app).await;
                app.jobs().record("calendar_check", checked);
            }
            if last_anchor != Some(today) {
                last_anchor = Some(today);
                let anchored = crate::audit::record_anchor(&app).await;
                app.jobs().record("audit_anchor", anchored.is_ok());
                if let Err(error) = anchored {
                    tracing::error!(%error, "recording the audit anchor failed");
                }
            }
            if last_training != Some(today) {
                last_training = Some(today);
                // Every node keeps its own model; training reads the history, so it runs beside the loop.
                let app = app.clone();
                tokio::spawn(async move {
                    let trained = app.dispatch().train_now().await;
                    app.jobs().record("dispatch_training", trained.is_ok());
                    if let Err(error) = trained {
                        tracing::error!(%error, "training the dispatch model failed");
                    }
                });
            }
            if last_screening_training.is_none_or(|at| at.elapsed() >= SCREENING_TRAINING_EVERY) {
                last_screening_training = Some(std::time::Instant::now());
                // Decisions made on other nodes reach this one at this training (own ones at once).
                app.screening().train_soon();
            }
            if last_report_chase.is_none_or(|at| at.elapsed() >= REPORT_CHASE_EVERY) {
                last_report_chase = Some(std::time::Instant::now());
                let chased = crate::command::reports::chase_due_reports_if_leading(&app).await;
                app.jobs().record("report_chase", chased.is_ok());
                match chased {
                    Ok(0) => {}
                    Ok(chased) => tracing::info!(chased, "missing command-centre reports chased"),
                    Err(error) => tracing::error!(%error, "chasing missing reports failed"),
                }
            }
            if last_supervision.is_none_or(|at| at.elapsed() >= COMPENSATION_SUPERVISION_EVERY) {
                last_supervision = Some(std::time::Instant::now());
                let raised = crate::compensation::supervise_overdue_if_leading(&app).await;
                app.jobs().record("compensation_supervision", raised.is_ok());
                match raised {
                    Ok(0) => {}
                    Ok(raised) => tracing::info!(raised, "overdue compensation obligations supervised"),
                    Err(error) => tracing::error!(%error, "supervising overdue compensation obligations failed"),
                }
            }
            let raised = crate::monitoring::raise_missing_data_if_leading(&app).await;
            app.jobs().record("missing_data", raised.is_ok());
            match raised {
                Ok(0) => {}
                Ok(raised) => tracing::info!(raised, "missing-data alerts raised"),
                Err(error) => tracing::error!(%error, "checking for missing monitoring data failed"),
            }
            let scanned = scan_if_leading(&app, &config).await;
            app.jobs().record("deadline_scan", scanned.is_ok());
            match scanned {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "deadline notices sent"),
                Err(error) => tracing::error!(%error, "deadline scan failed"),
            }
            if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                last_prune = Some(std::time::Instant::now());
                let pruned = prune_feed(&app).await;
                app.jobs().record("feed_prune", pruned.is_ok());
                match pruned {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "old change-feed rows pruned"),
                    Err(error) => tracing::error!(%error, "change-feed pruning failed"),
                }
                let pruned = prune_inbox(&app).await;
                app.jobs().record("inbox_prune", pruned.is_ok());
                match pruned {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "read inbox entries pruned"),
                    Err(error) => tracing::error!(%error, "inbox pruning failed"),
                }
                let pruned = prune_throttles(&app).await;
                app.jobs().record("throttle_prune", pruned.is_ok());
                match pruned {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "ended throttle windows pruned"),
                    Err(error) => tracing::error!(%error, "throttle pruning failed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(config.interval) => {}
                _ = stop.changed() => return,
            }
        }
    })
}
