//! Environmental enforcement, written once for both databases: inspections,
//! cases with their history, and the alert a case is opened from, marked
//! escalated in the same transaction. The alert's row is locked (PostgreSQL)
//! or the single writer runs alone (SQLite), and `enforcement_cases.alert_id`
//! is unique, so two people opening a case from one alert get one case.

use chrono::Datelike;

use mashangban_domain::enforcement::{CaseOrigin, CaseOriginKind, CaseStage, case_not_found, inspection_not_found};
use mashangban_domain::error::DomainError;
use mashangban_domain::monitoring::{AlertState, alert_not_found};
use mashangban_domain::time::Instant;
use mashangban_store::{
    CaseChange, CaseEvent, CaseFilter, ChangeEntity, EnforcementActor, EnforcementCase, EnforcementStore, Inspection,
    NewCase, NewInspection, StoreResult,
};

use crate::rows::json_text;
use crate::sql::{Conn, Database, Filter, Row, bad, job};
use crate::{SqlStore, args};

impl<D: Database> EnforcementStore for SqlStore<D> {
    async fn create_inspection(
        &self,
        inspection: NewInspection,
        at: Instant,
        by: EnforcementActor,
    ) -> StoreResult<Inspection> {
        let create = job(move |c| Box::pin(async move { insert_inspection(c, inspection, at, by).await }));
        self.db.write(create).await
    }

    async fn inspection(&self, id: i64) -> StoreResult<Option<Inspection>> {
        self.db.read(job(move |c| Box::pin(async move { load_inspection(c, id).await }))).await
    }

    async fn inspections(&self, credit_code: Option<String>, limit: u32) -> StoreResult<Vec<Inspection>> {
        let read = job(move |c| {
            Box::pin(async move {
                let limit = limit.clamp(1, 1000);
                let order = "ORDER BY i.inspected_at DESC, i.id DESC";
                match credit_code {
                    Some(code) => {
                        let sql = format!(
                            "SELECT {INSPECTION_COLUMNS} FROM inspections i WHERE i.credit_code = $1 {order} LIMIT $2"
                        );
                        c.map(&sql, &args![code.as_str(), limit], inspection).await
                    }
                    None => {
                        let sql = format!("SELECT {INSPECTION_COLUMNS} FROM inspections i {order} LIMIT $1");
                        c.map(&sql, &args![limit], inspection).await
                    }
                }
            })
        });
        self.db.read(read).await
    }

    async fn open_case(&self, case: NewCase, at: Instant, by: EnforcementActor) -> StoreResult<EnforcementCase> {
        self.db.write(job(move |c| Box::pin(async move { open(c, case, at, by).await }))).await
    }

    async fn change_case(
        &self,
        id: i64,
        change: CaseChange,
        at: Instant,
        by: EnforcementActor,
    ) -> StoreResult<EnforcementCase> {
        self.db.write(job(move |c| Box::pin(async move { change_stage(c, id, change, at, by).await }))).await
    }

    async fn enforcement_case(&self, id: i64) -> StoreResult<Option<EnforcementCase>> {
        self.db.read(job(move |c| Box::pin(async move { load_case(c, id, false).await }))).await
    }

    async fn enforcement_cases(&self, filter: CaseFilter, limit: u32) -> StoreResult<Vec<EnforcementCase>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = Filter::default();
                if let Some(stage) = filter.stage {
                    w.eq("k.stage", stage.as_str());
                }
                if let Some(code) = filter.credit_code {
                    w.eq("k.credit_code", code);
                }
                if let Some(now) = filter.overdue_at {
                    let now = w.mark(now);
                    w.clause(format!("k.stage <> 'closed' AND k.stage_due_at < {now}"));
                }
                if let Some(units) = filter.units
                    && !w.any("k.unit_id", units)
                {
                    return Ok(Vec::new());
                }
                let limit = w.mark(i64::from(limit.clamp(1, 1000)));
                let sql = format!(
                    "SELECT {CASE_COLUMNS} FROM enforcement_cases k {} ORDER BY k.id DESC LIMIT {limit}",
                    w.where_sql()
                );
                c.map(&sql, &w.values, case_row).await
            })
        });
        self.db.read(read).await
    }

    async fn case_events(&self, case_id: i64) -> StoreResult<Vec<CaseEvent>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT kind, from_stage, to_stage, due_at, at, by_name, note FROM enforcement_case_events
                     WHERE case_id = $1 ORDER BY seq",
                    &args![case_id],
                    |row| {
                        let mut c = row.cols();
                        Ok(CaseEvent {
                            kind: c.get()?,
                            from_stage: {
                                let s: Option<String> = c.get()?;
                                match s {
                                    Some(s) => Some(CaseStage::parse(&s).ok_or_else(|| bad("case stage", &s))?),
                                    None => None,
                                }
                            },
                            to_stage: c.code(CaseStage::parse)?,
                            due_at: c.get()?,
                            at: c.get()?,
                            by: c.get()?,
                            note: c.get()?,
                        })
                    },
                )
                .await
            })
        });
        self.db.read(read).await
    }
}

fn unknown_enterprise() -> mashangban_store::StoreError {
    DomainError::invalid("unknown_enterprise", "企业名录中没有这个统一社会信用代码").into()
}

async fn enterprise_exists(c: &dyn Conn, code: &str) -> StoreResult<bool> {
    Ok(c.query_opt("SELECT 1 FROM enterprises WHERE credit_code = $1", &args![code]).await?.is_some())
}

async fn insert_inspection(
    c: &dyn Conn,
    new: NewInspection,
    at: Instant,
    by: EnforcementActor,
) -> StoreResult<Inspection> {
    let input = &new.input;
    if !enterprise_exists(c, &input.credit_code).await? {
        return Err(unknown_enterprise());
    }
    if c.query_opt("SELECT 1 FROM units WHERE id = $1 AND active", &args![new.unit_id]).await?.is_none() {
        return Err(DomainError::invalid("unknown_unit", "检查单位不在组织架构中").into());
    }
    let id: i64 = c
        .scalar(
            "INSERT INTO inspections (unit_id, inspector, inspected_at, place, credit_code, point_id, findings, samples,
                created_at, created_by, created_by_user)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &args![
                new.unit_id,
                input.inspector.as_str(),
                &new.inspected_at,
                input.place.as_str(),
                input.credit_code.as_str(),
                new.point_id,
                input.findings.as_str(),
                json_text(&input.samples)?,
                &at,
                by.name.as_str(),
                by.user_id
            ],
        )
        .await?;
    load_inspection(c, id).await?.ok_or_else(|| inspection_not_found().into())
}

const INSPECTION_COLUMNS: &str = "i.id, i.unit_id, i.inspector, i.inspected_at, i.place, i.credit_code, i.point_id,
    i.findings, i.samples, i.created_at, i.created_by,
    (SELECT k.id FROM enforcement_cases k WHERE k.inspection_id = i.id)";

fn inspection(row: Row) -> StoreResult<Inspection> {
    let mut c = row.cols();
    Ok(Inspection {
        id: c.get()?,
        unit_id: c.get()?,
        inspector: c.get()?,
        inspected_at: c.get()?,
        place: c.get()?,
        credit_code: c.get()?,
        point_id: c.get()?,
        findings: c.get()?,
        samples: c.json()?,
        created_at: c.get()?,
        created_by: c.get()?,
        case_id: c.get()?,
    })
}

async fn load_inspection(c: &dyn Conn, id: i64) -> StoreResult<Option<Inspection>> {
    let sql = format!("SELECT {INSPECTION_COLUMNS} FROM inspections i WHERE i.id = $1");
    c.map_opt(&sql, &args![id], inspection).await
}

fn alert_not_open(state: AlertState) -> mashangban_store::StoreError {
    DomainError::conflict("alert_not_open", format!("报警当前为「{}」，不能再立案", state.label())).into()
}

fn inspection_has_case() -> mashangban_store::StoreError {
    DomainError::conflict("inspection_has_case", "这条检查记录已经立案").into()
}

async fn open(c: &dyn Conn, new: NewCase, at: Instant, by: EnforcementActor) -> StoreResult<EnforcementCase> {
    if !enterprise_exists(c, &new.credit_code).await? {
        return Err(unknown_enterprise());
    }
    let (alert_id, inspection_id) = match new.origin {
        CaseOrigin::Alert(id) => {
            let lock = c.dialect().lock_rows("a");
            let sql = format!("SELECT a.state FROM monitoring_alerts a WHERE a.id = $1{lock}");
            let state: String = c.scalar_opt(&sql, &args![id]).await?.ok_or_else(alert_not_found)?;
            let state = AlertState::parse(&state).ok_or_else(|| bad("alert state", &state))?;
            if state != AlertState::Open {
                return Err(alert_not_open(state));
            }
            (Some(id), None)
        }
        CaseOrigin::Inspection(id) => {
            load_inspection(c, id).await?.ok_or_else(inspection_not_found)?;
            if c.query_opt("SELECT 1 FROM enforcement_cases WHERE inspection_id = $1", &args![id]).await?.is_some() {
                return Err(inspection_has_case());
            }
            (None, Some(id))
        }
    };
    // The unique keys on alert_id and inspection_id decide between two writers at once.
    let id: Option<i64> = c
        .scalar_opt(
            "INSERT INTO enforcement_cases (number, credit_code, unit_id, origin, alert_id, inspection_id, summary, stage,
                stage_started_at, stage_due_at, opened_at, version)
             VALUES ('', $1, $2, $3, $4, $5, $6, 'filed', $7, $8, $7, 1)
             ON CONFLICT DO NOTHING RETURNING id",
            &args![
                new.credit_code.as_str(),
                new.unit_id,
                new.origin.kind().as_str(),
                alert_id,
                inspection_id,
                new.summary.as_str(),
                &at,
                &new.due_at
            ],
        )
        .await?;
    let Some(id) = id else {
        return Err(match new.origin {
            CaseOrigin::Alert(_) => alert_not_open(AlertState::Escalated),
            CaseOrigin::Inspection(_) => inspection_has_case(),
        });
    };
    let number = format!("环执〔{}〕{}号", at.year(), id);
    c.execute("UPDATE enforcement_cases SET number = $2 WHERE id = $1", &args![id, number.as_str()]).await?;
    case_event(c, id, "opened", None, CaseStage::Filed, Some(&new.due_at), &at, &by, new.note.as_deref()).await?;
    if let Some(alert_id) = alert_id {
        let point_id: i64 = c
            .scalar(
                "UPDATE monitoring_alerts SET state = 'escalated', closed_at = $2, reason = $3, version = version + 1
                 WHERE id = $1 RETURNING point_id",
                &args![alert_id, &at, format!("已立案：{number}")],
            )
            .await?;
        let note = format!("立案：{number}");
        let entry = crate::monitoring::Entry {
            kind: "escalated",
            at: &at,
            by_name: by.name.as_str(),
            by_user: by.user_id,
            note: Some(&note),
        };
        crate::monitoring::alert_entry(c, alert_id, entry).await?;
        crate::changes::append(c, ChangeEntity::Monitoring, &point_id.to_string(), "alert_escalated", &at).await?;
    }
    load_case(c, id, false).await?.ok_or_else(|| case_not_found().into())
}

async fn change_stage(
    c: &dyn Conn,
    id: i64,
    change: CaseChange,
    at: Instant,
    by: EnforcementActor,
) -> StoreResult<EnforcementCase> {
    let found = load_case(c, id, true).await?.ok_or_else(case_not_found)?;
    if found.stage != change.from {
        return Err(DomainError::conflict(
            "case_changed",
            format!("案件已由他人推进到「{}」阶段，请刷新后重试", found.stage.label()),
        )
        .into());
    }
    let closed_at = (change.to == CaseStage::Closed).then_some(at);
    c.execute(
        "UPDATE enforcement_cases SET stage = $2, stage_started_at = $3, stage_due_at = $4,
            penalty_fen = COALESCE($5, penalty_fen), decision = COALESCE($6, decision),
            closed_reason = COALESCE($7, closed_reason), closed_at = $8, version = version + 1
         WHERE id = $1",
        &args![
            id,
            change.to.as_str(),
            &at,
            change.due_at.as_ref(),
            change.decision.as_ref().map(|d| d.penalty_fen),
            change.decision.as_ref().map(|d| d.text.as_str()),
            change.closed_reason.as_deref(),
            closed_at.as_ref()
        ],
    )
    .await?;
    let kind = if change.to == CaseStage::Closed { "closed" } else { "advanced" };
    let mut notes: Vec<String> = Vec::new();
    if let Some(d) = &change.decision {
        notes.push(format!(
            "处罚决定：{}（罚款{}元）",
            d.text,
            mashangban_domain::enforcement::fen_text(d.penalty_fen)
        ));
    }
    if let Some(r) = &change.closed_reason {
        notes.push(format!("结案理由：{r}"));
    }
    if let Some(n) = &change.note {
        notes.push(n.clone());
    }
    let note = (!notes.is_empty()).then(|| notes.join("；"));
    case_event(c, id, kind, Some(found.stage), change.to, change.due_at.as_ref(), &at, &by, note.as_deref()).await?;
    load_case(c, id, false).await?.ok_or_else(|| case_not_found().into())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn case_event(
    c: &dyn Conn,
    case_id: i64,
    kind: &str,
    from: Option<CaseStage>,
    to: CaseStage,
    due_at: Option<&Instant>,
    at: &Instant,
    by: &EnforcementActor,
    note: Option<&str>,
) -> StoreResult<()> {
    let seq: i64 = c
        .scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM enforcement_case_events WHERE case_id = $1", &args![case_id])
        .await?;
    c.execute(
        "INSERT INTO enforcement_case_events (case_id, seq, kind, from_stage, to_stage, due_at, at, by_name, by_user, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &args![case_id, seq, kind, from.map(CaseStage::as_str), to.as_str(), due_at, at, by.name.as_str(), by.user_id, note],
    )
    .await?;
    crate::audit::ENFORCEMENT.seal(c, case_id, seq).await
}

const CASE_COLUMNS: &str = "k.id, k.number, k.credit_code, k.unit_id, k.origin, k.alert_id, k.inspection_id, k.summary,
    k.stage, k.stage_started_at, k.stage_due_at, k.penalty_fen, k.decision, k.closed_reason, k.opened_at, k.closed_at,
    k.version";

fn case_row(row: Row) -> StoreResult<EnforcementCase> {
    let mut c = row.cols();
    let id: i64 = c.get()?;
    let number: String = c.get()?;
    let credit_code: String = c.get()?;
    let unit_id: i64 = c.get()?;
    let origin_kind = c.code(CaseOriginKind::parse)?;
    let alert_id: Option<i64> = c.get()?;
    let inspection_id: Option<i64> = c.get()?;
    let origin = match (origin_kind, alert_id, inspection_id) {
        (CaseOriginKind::Alert, Some(a), _) => CaseOrigin::Alert(a),
        (CaseOriginKind::Inspection, _, Some(i)) => CaseOrigin::Inspection(i),
        _ => return Err(bad("case origin", &id.to_string())),
    };
    Ok(EnforcementCase {
        id,
        number,
        credit_code,
        unit_id,
        origin,
        summary: c.get()?,
        stage: c.code(CaseStage::parse)?,
        stage_started_at: c.get()?,
        stage_due_at: c.get()?,
        penalty_fen: c.get()?,
        decision: c.get()?,
        closed_reason: c.get()?,
        opened_at: c.get()?,
        closed_at: c.get()?,
        version: c.get()?,
    })
}

pub(crate) async fn load_case(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<EnforcementCase>> {
    let lock = if lock { c.dialect().lock_rows("k") } else { String::new() };
    let sql = format!("SELECT {CASE_COLUMNS} FROM enforcement_cases k WHERE k.id = $1{lock}");
    c.map_opt(&sql, &args![id], case_row).await
}
