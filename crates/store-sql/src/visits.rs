//! Visits (走访) and walking-office sessions (行走的办公室), written once for
//! both databases. Recording a visit is one job: the visit row, its problems,
//! for each problem to dispatch a request taken in through the requests'
//! own intake (its first event, rollups and outbox) and, on a walking-office
//! session, its supervision (督办) by the platform; and the visit's event.

use std::collections::BTreeMap;

use chrono::Duration;

use mashangban_domain::enterprise::{EnterpriseScope, enterprise_not_found};
use mashangban_domain::lifecycle::Action;
use mashangban_domain::org::{Actor, Scope};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{Request, State};
use mashangban_domain::time::Instant;
use mashangban_domain::visit::{NewVisit, ProblemOutcome, VisitKind, VisitState, visit_not_found, visit_not_planned};
use mashangban_store::{
    Command, Meta, Problem, ProblemRequest, RecordedProblem, Resolution, StoreError, StoreResult, Visit, VisitEvent,
    VisitFilter, VisitRecord, VisitStore,
};

use crate::personal_data::{VISIT_ATTENDEES, VISIT_NOTES, open, open_opt, seal};
use crate::requests::write::{self, Number};
use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Dialect, Row, job};
use crate::{SqlStore, args};

impl<D: Database> VisitStore for SqlStore<D> {
    async fn plan_visit(&self, visit: NewVisit, scope: EnterpriseScope, at: Instant, by: String) -> StoreResult<Visit> {
        let plan = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let code = args.push(visit.credit_code.as_str());
                let scoped = enterprise_scope_sql(scope, "enterprises.credit_code", &mut args);
                let sql = format!("SELECT town_id FROM enterprises WHERE credit_code = {code} AND {scoped}");
                let Some(town_id) = c.scalar_opt::<i64>(&sql, args.values()).await? else {
                    return Err(enterprise_not_found(&visit.credit_code).into());
                };
                let id: i64 = c
                    .scalar(
                        "INSERT INTO visits (kind, credit_code, town_id, planned_at, lead_user_id, purpose, units, state,
                            attendees, created_at, created_by, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'planned', $10, $8, $9, $8) RETURNING id",
                        &args![
                            visit.kind.as_str(),
                            visit.credit_code.as_str(),
                            town_id,
                            &visit.planned_at,
                            visit.lead_user_id,
                            visit.purpose.as_deref(),
                            json_text(&visit.units)?,
                            &at,
                            by.as_str(),
                            seal(c, VISIT_ATTENDEES, "[]")
                        ],
                    )
                    .await?;
                event(c, id, &at, &by, "planned", visit.purpose.as_deref()).await?;
                load(c, id, EnterpriseScope::All).await?.ok_or_else(|| StoreError::backend("the visit vanished"))
            })
        });
        self.db.write(plan).await
    }

    async fn visit(&self, id: i64, scope: EnterpriseScope) -> StoreResult<Option<Visit>> {
        self.db.read(job(move |c| Box::pin(async move { load(c, id, scope).await }))).await
    }

    async fn visits(&self, filter: &VisitFilter) -> StoreResult<Vec<Visit>> {
        let filter = filter.clone();
        self.db.read(job(move |c| Box::pin(async move { list(c, &filter).await }))).await
    }

    async fn record_visit(
        &self,
        id: i64,
        scope: EnterpriseScope,
        record: VisitRecord,
        actor: &Actor,
        meta: &Meta,
    ) -> StoreResult<(Visit, Vec<Request>)> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let prefix = self.options.tracking_prefix.clone();
        // PostgreSQL takes each tracking number in a short transaction of its
        // own, as every intake does (a number whose record never commits is a
        // gap); SQLite's single writer takes them inside the record's job.
        let mut numbers: Vec<Option<Number>> = Vec::new();
        if self.db.dialect() == Dialect::Postgres {
            for problem in &record.problems {
                let Resolution::Dispatch { request, .. } = &problem.resolution else {
                    numbers.push(None);
                    continue;
                };
                let (new, m, p) = ((**request).clone(), meta.clone(), prefix.clone());
                let number = self
                    .db
                    .write(job(move |c| Box::pin(async move { write::allocate(c, &p, &new, &m).await })))
                    .await?;
                numbers.push(Some(number));
            }
        }
        let save = job(move |c| {
            Box::pin(async move {
                let current = load_locked(c, id, scope).await?.ok_or_else(visit_not_found)?;
                if current.state != VisitState::Planned {
                    return Err(visit_not_planned(current.state).into());
                }
                let mut taken_in = Vec::new();
                let mut numbers = numbers.into_iter();
                for (index, RecordedProblem { text, resolution }) in record.problems.into_iter().enumerate() {
                    let seq = i64::try_from(index + 1).unwrap_or(i64::MAX);
                    let preallocated = numbers.next().flatten();
                    match resolution {
                        Resolution::SolvedOnSite { solved_by, solution } => {
                            c.execute(
                                "INSERT INTO visit_problems (visit_id, seq, text, outcome, solved_by, solution, created_at)
                                 VALUES ($1, $2, $3, 'solved_on_site', $4, $5, $6)",
                                &args![id, seq, text.as_str(), solved_by.as_str(), solution.as_str(), &meta.now],
                            )
                            .await?;
                        }
                        Resolution::Dispatch { request, instruction, supervise } => {
                            let number = match preallocated {
                                Some(n) => n,
                                None => write::allocate(c, &prefix, &request, &meta).await?,
                            };
                            let mut taken = write::intake(c, number, *request, &actor, &meta).await?;
                            if let Some(instructions) = supervise {
                                let due = taken
                                    .due_at
                                    .filter(|d| *d > meta.now)
                                    .unwrap_or_else(|| meta.now + Duration::days(7));
                                let command = Command {
                                    tracking_no: taken.tracking_no.clone(),
                                    scope: Scope::All,
                                    actor: Actor::System,
                                    action: Action::Supervise { instructions, due },
                                    attachment_ids: Vec::new(),
                                    meta: meta.clone(),
                                    calendar: None,
                                    expected_version: None,
                                };
                                taken = write::act(c, command).await?;
                            }
                            c.execute(
                                "INSERT INTO visit_problems (visit_id, seq, text, outcome, request_id, instruction, created_at)
                                 VALUES ($1, $2, $3, 'dispatched', $4, $5, $6)",
                                &args![id, seq, text.as_str(), taken.id, instruction.as_deref(), &meta.now],
                            )
                            .await?;
                            taken_in.push(taken);
                        }
                    }
                }
                c.execute(
                    "UPDATE visits SET state = 'recorded', attendees = $2, notes = $3, visited_at = $4, updated_at = $5
                     WHERE id = $1",
                    &args![
                        id,
                        seal(c, VISIT_ATTENDEES, &json_text(&record.attendees)?),
                        seal(c, VISIT_NOTES, &record.notes),
                        &record.visited_at,
                        &meta.now
                    ],
                )
                .await?;
                let by = format!("{}（{}）", actor.name(), actor.role_str());
                let comment =
                    format!("记录走访：问题 {} 个，其中转为诉求 {} 个", count_problems(c, id).await?, taken_in.len());
                event(c, id, &meta.now, &by, "recorded", Some(&comment)).await?;
                let visit = load(c, id, EnterpriseScope::All)
                    .await?
                    .ok_or_else(|| StoreError::backend("the visit vanished"))?;
                Ok((visit, taken_in))
            })
        });
        self.db.write(save).await
    }

    async fn cancel_visit(
        &self,
        id: i64,
        scope: EnterpriseScope,
        reason: String,
        at: Instant,
        by: String,
    ) -> StoreResult<Visit> {
        let cancel = job(move |c| {
            Box::pin(async move {
                let current = load_locked(c, id, scope).await?.ok_or_else(visit_not_found)?;
                if current.state != VisitState::Planned {
                    return Err(visit_not_planned(current.state).into());
                }
                c.execute(
                    "UPDATE visits SET state = 'cancelled', cancel_reason = $2, updated_at = $3 WHERE id = $1",
                    &args![id, reason.as_str(), &at],
                )
                .await?;
                event(c, id, &at, &by, "cancelled", Some(&reason)).await?;
                load(c, id, EnterpriseScope::All).await?.ok_or_else(|| StoreError::backend("the visit vanished"))
            })
        });
        self.db.write(cancel).await
    }
}

async fn count_problems(c: &dyn Conn, id: i64) -> StoreResult<i64> {
    c.scalar("SELECT COUNT(*) FROM visit_problems WHERE visit_id = $1", &args![id]).await
}

/// One step in a visit's history (`visit_events`): planned, recorded, cancelled, and the documents
/// added and withdrawn.
pub(crate) async fn event(
    c: &dyn Conn,
    visit_id: i64,
    at: &Instant,
    by: &str,
    action: &str,
    comment: Option<&str>,
) -> StoreResult<()> {
    crate::audit::VISITS.lock(c, visit_id).await?;
    let id: i64 = c
        .scalar(
            "INSERT INTO visit_events (visit_id, at, by_name, action, comment) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &args![visit_id, at, by, action, comment],
        )
        .await?;
    crate::audit::VISITS.seal(c, visit_id, id).await
}

/// The condition that an enterprise (its credit code in `column`) is in `scope`.
fn enterprise_scope_sql(scope: EnterpriseScope, column: &str, args: &mut Args) -> String {
    match scope {
        EnterpriseScope::All => "TRUE".to_owned(),
        EnterpriseScope::Town(town) => {
            format!(
                "EXISTS (SELECT 1 FROM enterprises se WHERE se.credit_code = {column} AND se.town_id = {})",
                args.push(town)
            )
        }
        EnterpriseScope::Liaison(user) => format!(
            "EXISTS (SELECT 1 FROM liaison_assignments la WHERE la.credit_code = {column} \
             AND la.user_id = {} AND la.ended_at IS NULL)",
            args.push(user)
        ),
        EnterpriseScope::Nothing => "FALSE".to_owned(),
    }
}

/// Visits in scope: a liaison cadre also sees the visits they lead.
fn visit_scope_sql(scope: EnterpriseScope, args: &mut Args) -> String {
    let enterprise = enterprise_scope_sql(scope, "v.credit_code", args);
    match scope {
        EnterpriseScope::Liaison(user) => format!("({enterprise} OR v.lead_user_id = {})", args.push(user)),
        _ => enterprise,
    }
}

const VISIT_SELECT: &str = "SELECT v.id, v.kind, v.credit_code, e.name, v.town_id, v.planned_at, v.lead_user_id,
        u.display_name, v.purpose, v.units, v.state, v.attendees, v.notes, v.visited_at, v.cancel_reason,
        v.created_at, v.created_by, v.updated_at
     FROM visits v JOIN enterprises e ON e.credit_code = v.credit_code JOIN users u ON u.id = v.lead_user_id";

/// A visit read with [`VISIT_SELECT`]; the attendees and notes decrypted with `keys` (the connection's).
fn visit(row: Row, keys: Option<&Keyring>) -> StoreResult<Visit> {
    let mut c = row.cols();
    Ok(Visit {
        id: c.get()?,
        kind: c.code(VisitKind::parse)?,
        credit_code: c.get()?,
        enterprise_name: c.get()?,
        town_id: c.get()?,
        planned_at: c.get()?,
        lead_user_id: c.get()?,
        lead_name: c.get()?,
        purpose: c.get()?,
        units: c.json()?,
        state: c.code(VisitState::parse)?,
        attendees: attendees(keys, c.get()?)?,
        notes: open_opt(keys, VISIT_NOTES, c.get()?)?,
        visited_at: c.get()?,
        cancel_reason: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        updated_at: c.get()?,
        problems: Vec::new(),
        events: Vec::new(),
    })
}

/// The attendees' names from their stored (sealed) JSON array.
fn attendees(keys: Option<&Keyring>, stored: String) -> StoreResult<Vec<String>> {
    let json = open(keys, VISIT_ATTENDEES, stored)?;
    serde_json::from_str(&json)
        .map_err(|_| StoreError::backend(format!("{VISIT_ATTENDEES}: not a JSON array of names")))
}

const PROBLEM_SELECT: &str =
    "SELECT p.visit_id, p.id, p.seq, p.text, p.outcome, p.solved_by, p.solution, p.instruction,
        r.id, r.tracking_no, r.state, r.due_at, r.supervision
     FROM visit_problems p LEFT JOIN requests r ON r.id = p.request_id";

fn problem(row: Row) -> StoreResult<(i64, Problem)> {
    let mut c = row.cols();
    let visit_id: i64 = c.get()?;
    let mut problem = Problem {
        id: c.get()?,
        seq: c.get()?,
        text: c.get()?,
        outcome: c.code(ProblemOutcome::parse)?,
        solved_by: c.get()?,
        solution: c.get()?,
        instruction: c.get()?,
        request: None,
    };
    let request_id: Option<i64> = c.get()?;
    let tracking_no: Option<String> = c.get()?;
    let state = c.opt_code(State::parse)?;
    let due_at: Option<Instant> = c.get()?;
    let supervision: Option<String> = c.get()?;
    if let (Some(id), Some(tracking_no), Some(state)) = (request_id, tracking_no, state) {
        problem.request = Some(ProblemRequest { id, tracking_no, state, due_at, supervised: supervision.is_some() });
    }
    Ok((visit_id, problem))
}

async fn load(c: &dyn Conn, id: i64, scope: EnterpriseScope) -> StoreResult<Option<Visit>> {
    load_with(c, id, scope, false).await
}

async fn load_locked(c: &dyn Conn, id: i64, scope: EnterpriseScope) -> StoreResult<Option<Visit>> {
    load_with(c, id, scope, true).await
}

async fn load_with(c: &dyn Conn, id: i64, scope: EnterpriseScope, lock: bool) -> StoreResult<Option<Visit>> {
    let mut args = Args::default();
    let key = args.push(id);
    let scoped = visit_scope_sql(scope, &mut args);
    let lock = if lock { c.dialect().lock_rows("v") } else { String::new() };
    let sql = format!("{VISIT_SELECT} WHERE v.id = {key} AND {scoped}{lock}");
    let Some(mut found) = c.map_opt(&sql, args.values(), |row| visit(row, c.personal_data())).await? else {
        return Ok(None);
    };
    let problems = format!("{PROBLEM_SELECT} WHERE p.visit_id = $1 ORDER BY p.seq");
    found.problems = c.map(&problems, &args![id], problem).await?.into_iter().map(|(_, p)| p).collect();
    found.events = c
        .map(
            "SELECT at, by_name, action, comment FROM visit_events WHERE visit_id = $1 ORDER BY id",
            &args![id],
            |row| {
                let mut c = row.cols();
                Ok(VisitEvent { at: c.get()?, by: c.get()?, action: c.get()?, comment: c.get()? })
            },
        )
        .await?;
    Ok(Some(found))
}

async fn list(c: &dyn Conn, f: &VisitFilter) -> StoreResult<Vec<Visit>> {
    let mut args = Args::default();
    let mut conditions = vec![visit_scope_sql(f.scope, &mut args)];
    if let Some(code) = &f.credit_code {
        conditions.push(format!("v.credit_code = {}", args.push(code.as_str())));
    }
    if let Some(town) = f.town_id {
        conditions.push(format!("v.town_id = {}", args.push(town)));
    }
    if let Some(lead) = f.lead_user_id {
        conditions.push(format!("v.lead_user_id = {}", args.push(lead)));
    }
    if let Some(state) = f.state {
        conditions.push(format!("v.state = {}", args.push(state.as_str())));
    }
    if let Some(from) = &f.from {
        conditions.push(format!("v.planned_at >= {}", args.push(from)));
    }
    if let Some(until) = &f.until {
        conditions.push(format!("v.planned_at < {}", args.push(until)));
    }
    let limit = args.push(f.limit.clamp(1, 5000));
    let sql = format!(
        "{VISIT_SELECT} WHERE {} ORDER BY v.planned_at DESC, v.id DESC LIMIT {limit}",
        conditions.join(" AND ")
    );
    let mut visits = c.map(&sql, args.values(), |row| visit(row, c.personal_data())).await?;
    if visits.is_empty() {
        return Ok(visits);
    }
    let mut args = Args::default();
    let ids = args.list(visits.iter().map(|v| v.id));
    let sql = format!("{PROBLEM_SELECT} WHERE p.visit_id IN ({ids}) ORDER BY p.visit_id, p.seq");
    let mut by_visit: BTreeMap<i64, Vec<Problem>> = BTreeMap::new();
    for (visit_id, p) in c.map(&sql, args.values(), problem).await? {
        by_visit.entry(visit_id).or_default().push(p);
    }
    for v in &mut visits {
        v.problems = by_visit.remove(&v.id).unwrap_or_default();
    }
    Ok(visits)
}
