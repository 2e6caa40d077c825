//! Ecological-damage compensation, written once for both databases: the
//! expert pool and matters with their append-only history. A change is
//! written only over the version it was decided on (`UPDATE … WHERE version
//! = $n`), so of two people acting on one matter at once one gets
//! `matter_changed`; `compensation_matters.case_id` is unique, so a case has
//! at most one matter.

use chrono::Datelike;

use chrono::NaiveDate;

use mashangban_domain::compensation::{
    ExpertInput, Matter, MatterStage, Obligation, Procedure, Specialty, expert_not_found, matter_changed,
    matter_not_found, obligation_met,
};
use mashangban_domain::enforcement::case_not_found;
use mashangban_domain::error::DomainError;
use mashangban_domain::inbox::{Notice, NoticeEvent};
use mashangban_domain::time::Instant;
use mashangban_store::{
    CompensationStore, EnforcementActor, Expert, MatterEvent, MatterFilter, MatterHistoryEntry, MatterRecord,
    MatterSupervision, NewMatter, StoreResult, SupervisionFilter,
};

use crate::rows::json_text;
use crate::sql::{Conn, Database, Filter, Row, job};
use crate::{SqlStore, args};

impl<D: Database> CompensationStore for SqlStore<D> {
    async fn create_expert(&self, expert: ExpertInput, at: Instant) -> StoreResult<Expert> {
        let create = job(move |c| {
            Box::pin(async move {
                let id: i64 = c
                    .scalar(
                        "INSERT INTO experts (name, specialty, employer, conflicts, active, created_at, version)
                         VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING id",
                        &args![
                            expert.name.as_str(),
                            expert.specialty.as_str(),
                            expert.employer.as_str(),
                            json_text(&expert.conflicts)?,
                            true,
                            &at
                        ],
                    )
                    .await?;
                load_expert(c, id).await?.ok_or_else(|| expert_not_found().into())
            })
        });
        self.db.write(create).await
    }

    async fn set_expert_active(&self, id: i64, active: bool) -> StoreResult<Expert> {
        let change = job(move |c| {
            Box::pin(async move {
                let changed = c
                    .execute("UPDATE experts SET active = $2, version = version + 1 WHERE id = $1", &args![id, active])
                    .await?;
                if changed == 0 {
                    return Err(expert_not_found().into());
                }
                load_expert(c, id).await?.ok_or_else(|| expert_not_found().into())
            })
        });
        self.db.write(change).await
    }

    async fn experts(&self) -> StoreResult<Vec<Expert>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {EXPERT_COLUMNS} FROM experts ORDER BY id");
                c.map(&sql, &[], expert_row).await
            })
        });
        self.db.read(read).await
    }

    async fn open_matter(&self, new: NewMatter, at: Instant, by: EnforcementActor) -> StoreResult<MatterRecord> {
        self.db.write(job(move |c| Box::pin(async move { open(c, new, at, by).await }))).await
    }

    async fn change_matter(
        &self,
        id: i64,
        expected: i64,
        matter: Matter,
        event: MatterEvent,
        at: Instant,
        by: EnforcementActor,
    ) -> StoreResult<MatterRecord> {
        let change = job(move |c| Box::pin(async move { change(c, id, expected, matter, event, at, by).await }));
        self.db.write(change).await
    }

    async fn matter(&self, id: i64) -> StoreResult<Option<MatterRecord>> {
        self.db.read(job(move |c| Box::pin(async move { load_matter(c, id).await }))).await
    }

    async fn matters(&self, filter: MatterFilter, limit: u32) -> StoreResult<Vec<MatterRecord>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = Filter::default();
                if let Some(stage) = filter.stage {
                    w.eq("m.stage", stage.as_str());
                }
                if let Some(code) = filter.credit_code {
                    w.eq("m.credit_code", code);
                }
                if let Some(case_id) = filter.case_id {
                    w.eq("m.case_id", case_id);
                }
                if let Some(units) = filter.units
                    && !w.any("m.unit_id", units)
                {
                    return Ok(Vec::new());
                }
                let limit = w.mark(i64::from(limit.clamp(1, 1000)));
                let sql = format!(
                    "SELECT {MATTER_COLUMNS} FROM compensation_matters m {} ORDER BY m.id DESC LIMIT {limit}",
                    w.where_sql()
                );
                c.map(&sql, &w.values, matter_row).await
            })
        });
        self.db.read(read).await
    }

    async fn matter_history(&self, id: i64) -> StoreResult<Vec<MatterHistoryEntry>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT kind, note, amount_fen, detail, stage, at, by_name FROM compensation_events
                     WHERE matter_id = $1 ORDER BY seq",
                    &args![id],
                    |row| {
                        let mut c = row.cols();
                        Ok(MatterHistoryEntry {
                            event: MatterEvent {
                                kind: c.get()?,
                                note: c.get()?,
                                amount_fen: c.get()?,
                                detail: c.get()?,
                            },
                            stage: c.code(MatterStage::parse)?,
                            at: c.get()?,
                            by: c.get()?,
                        })
                    },
                )
                .await
            })
        });
        self.db.read(read).await
    }

    async fn supervise_obligation(
        &self,
        matter_id: i64,
        obligation: Obligation,
        due: NaiveDate,
        at: Instant,
        by: EnforcementActor,
    ) -> StoreResult<Option<MatterSupervision>> {
        let raise = job(move |c| {
            Box::pin(async move {
                let matter = load_matter(c, matter_id).await?.ok_or_else(matter_not_found)?;
                // The unique key on (matter, obligation) makes it once across rescans and nodes.
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO compensation_supervisions (matter_id, obligation, due, raised_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                        &args![matter_id, obligation.code(), due.to_string(), &at],
                    )
                    .await?;
                let Some(id) = id else { return Ok(None) };
                let note = format!("{}应于{due}履行，已逾期未履行，督办承办单位跟进", obligation.label());
                let event = MatterEvent { kind: "supervised".into(), note: Some(note), amount_fen: None, detail: None };
                history(c, matter_id, &event, matter.matter.stage, &at, &by).await?;
                let notice = Notice {
                    event: NoticeEvent::CompensationSupervised,
                    key: format!("compensation-supervision-{id}"),
                    title: format!("{}：{}应于{due}履行，已逾期", matter.number, obligation.label()),
                    link: format!("/compensation/{matter_id}"),
                    units: vec![matter.unit_id],
                };
                crate::inbox::notify(c, &notice, by.user_id, &at).await?;
                let sql = format!("{SUPERVISION_SELECT} WHERE s.id = $1");
                c.map_opt(&sql, &args![id], supervision_row).await
            })
        });
        self.db.write(raise).await
    }

    async fn matter_supervisions(&self, filter: SupervisionFilter, limit: u32) -> StoreResult<Vec<MatterSupervision>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = Filter::default();
                if let Some(id) = filter.matter_id {
                    w.eq("s.matter_id", id);
                }
                if filter.open_only {
                    w.clause("s.resolved_at IS NULL".into());
                }
                if let Some(units) = filter.units
                    && !w.any("m.unit_id", units)
                {
                    return Ok(Vec::new());
                }
                let limit = w.mark(i64::from(limit.clamp(1, 1000)));
                let sql = format!("{SUPERVISION_SELECT} {} ORDER BY s.id DESC LIMIT {limit}", w.where_sql());
                c.map(&sql, &w.values, supervision_row).await
            })
        });
        self.db.read(read).await
    }
}

const SUPERVISION_SELECT: &str = "SELECT s.id, s.matter_id, m.number, m.credit_code, m.unit_id, s.obligation, s.due,
    s.raised_at, s.resolved_at, s.resolution
    FROM compensation_supervisions s JOIN compensation_matters m ON m.id = s.matter_id";

fn supervision_row(row: Row) -> StoreResult<MatterSupervision> {
    let mut c = row.cols();
    Ok(MatterSupervision {
        id: c.get()?,
        matter_id: c.get()?,
        matter_number: c.get()?,
        credit_code: c.get()?,
        unit_id: c.get()?,
        obligation: c.code(Obligation::parse)?,
        due: c.code(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())?,
        raised_at: c.get()?,
        resolved_at: c.get()?,
        resolution: c.get()?,
    })
}

/// Resolves the open 督办 of a matter whose obligation `matter` (as just written) meets, each
/// with a `supervision_resolved` history row.
async fn resolve_met(c: &dyn Conn, id: i64, matter: &Matter, at: &Instant, by: &EnforcementActor) -> StoreResult<()> {
    let sql = format!("{SUPERVISION_SELECT} WHERE s.matter_id = $1 AND s.resolved_at IS NULL ORDER BY s.id");
    for open in c.map(&sql, &args![id], supervision_row).await? {
        if !obligation_met(matter, open.obligation) {
            continue;
        }
        let resolution = match (matter.stage, open.obligation) {
            (MatterStage::Closed, _) => {
                format!("赔偿事项已{}，督办办结", matter.closed_reason.as_ref().map_or("结案", |_| "终止"))
            }
            (_, Obligation::Instalment(_)) => format!("{}已缴清，督办办结", open.obligation.label()),
            (_, Obligation::Remediation) => "已报告修复完成，转入修复效果评估，督办办结".to_owned(),
        };
        c.execute(
            "UPDATE compensation_supervisions SET resolved_at = $2, resolution = $3 WHERE id = $1 AND resolved_at IS NULL",
            &args![open.id, at, resolution.as_str()],
        )
        .await?;
        let event =
            MatterEvent { kind: "supervision_resolved".into(), note: Some(resolution), amount_fen: None, detail: None };
        history(c, id, &event, matter.stage, at, by).await?;
    }
    Ok(())
}

const EXPERT_COLUMNS: &str = "id, name, specialty, employer, conflicts, active, created_at, version";

fn expert_row(row: Row) -> StoreResult<Expert> {
    let mut c = row.cols();
    Ok(Expert {
        id: c.get()?,
        name: c.get()?,
        specialty: c.code(Specialty::parse)?,
        employer: c.get()?,
        conflicts: c.json()?,
        active: c.get()?,
        created_at: c.get()?,
        version: c.get()?,
    })
}

async fn load_expert(c: &dyn Conn, id: i64) -> StoreResult<Option<Expert>> {
    let sql = format!("SELECT {EXPERT_COLUMNS} FROM experts WHERE id = $1");
    c.map_opt(&sql, &args![id], expert_row).await
}

fn case_has_matter() -> mashangban_store::StoreError {
    DomainError::conflict("case_has_matter", "这起执法案件已有赔偿事项").into()
}

async fn open(c: &dyn Conn, new: NewMatter, at: Instant, by: EnforcementActor) -> StoreResult<MatterRecord> {
    if c.query_opt("SELECT 1 FROM enforcement_cases WHERE id = $1", &args![new.case_id]).await?.is_none() {
        return Err(case_not_found().into());
    }
    let matter = Matter::new(new.procedure);
    // The unique key on case_id decides between two writers at once.
    let id: Option<i64> = c
        .scalar_opt(
            "INSERT INTO compensation_matters (number, case_id, credit_code, unit_id, procedure, stage,
                stage_started_at, assessment_experts, review_experts, consultations, paid_fen, remediation_passed,
                opened_at, version)
             VALUES ('', $1, $2, $3, $4, $5, $6, '[]', '[]', 0, 0, $7, $6, 1)
             ON CONFLICT DO NOTHING RETURNING id",
            &args![
                new.case_id,
                new.credit_code.as_str(),
                new.unit_id,
                new.procedure.as_str(),
                matter.stage.as_str(),
                &at,
                false
            ],
        )
        .await?;
    let id = id.ok_or_else(case_has_matter)?;
    let number = format!("生赔〔{}〕{}号", at.year(), id);
    c.execute("UPDATE compensation_matters SET number = $2 WHERE id = $1", &args![id, number.as_str()]).await?;
    let event = MatterEvent { kind: "opened".into(), note: new.note, amount_fen: None, detail: None };
    history(c, id, &event, MatterStage::Assessing, &at, &by).await?;
    load_matter(c, id).await?.ok_or_else(|| matter_not_found().into())
}

async fn change(
    c: &dyn Conn,
    id: i64,
    expected: i64,
    matter: Matter,
    event: MatterEvent,
    at: Instant,
    by: EnforcementActor,
) -> StoreResult<MatterRecord> {
    let found = load_matter(c, id).await?.ok_or_else(matter_not_found)?;
    let stage_started_at = if found.matter.stage == matter.stage { found.stage_started_at } else { at };
    let closed_at = (matter.stage == MatterStage::Closed).then_some(at);
    let changed = c
        .execute(
            "UPDATE compensation_matters SET stage = $3, stage_started_at = $4,
                damage_fen = $5, assessment = $6, appraiser = $7, assessment_experts = $8, review_experts = $9,
                consultations = $10, agreement = $11, paid_fen = $12, remediation_passed = $13, closed_reason = $14,
                closed_at = $15, version = version + 1
             WHERE id = $1 AND version = $2",
            &args![
                id,
                expected,
                matter.stage.as_str(),
                &stage_started_at,
                matter.damage_fen,
                matter.assessment.as_deref(),
                matter.appraiser.as_deref(),
                json_text(&matter.assessment_experts)?,
                json_text(&matter.review_experts)?,
                i64::from(matter.consultations),
                matter.agreement.as_ref().map(json_text).transpose()?,
                matter.paid_fen,
                matter.remediation_passed,
                matter.closed_reason.as_deref(),
                closed_at.as_ref()
            ],
        )
        .await?;
    if changed == 0 {
        return Err(matter_changed().into());
    }
    history(c, id, &event, matter.stage, &at, &by).await?;
    resolve_met(c, id, &matter, &at, &by).await?;
    load_matter(c, id).await?.ok_or_else(|| matter_not_found().into())
}

pub(crate) async fn history(
    c: &dyn Conn,
    matter_id: i64,
    event: &MatterEvent,
    stage: MatterStage,
    at: &Instant,
    by: &EnforcementActor,
) -> StoreResult<()> {
    let seq: i64 = c
        .scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM compensation_events WHERE matter_id = $1", &args![matter_id])
        .await?;
    c.execute(
        "INSERT INTO compensation_events (matter_id, seq, kind, stage, note, amount_fen, detail, at, by_name, by_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &args![
            matter_id,
            seq,
            event.kind.as_str(),
            stage.as_str(),
            event.note.as_deref(),
            event.amount_fen,
            event.detail.as_deref(),
            at,
            by.name.as_str(),
            by.user_id
        ],
    )
    .await?;
    crate::audit::COMPENSATION.seal(c, matter_id, seq).await
}

const MATTER_COLUMNS: &str = "m.id, m.number, m.case_id, m.credit_code, m.unit_id, m.procedure, m.stage,
    m.damage_fen, m.assessment, m.appraiser, m.assessment_experts, m.review_experts, m.consultations, m.agreement,
    m.paid_fen, m.remediation_passed, m.closed_reason, m.stage_started_at, m.opened_at, m.closed_at, m.version";

fn matter_row(row: Row) -> StoreResult<MatterRecord> {
    let mut c = row.cols();
    let (id, number, case_id, credit_code, unit_id) = (c.get()?, c.get()?, c.get()?, c.get()?, c.get()?);
    let procedure = c.code(Procedure::parse)?;
    let stage = c.code(MatterStage::parse)?;
    let matter = Matter {
        stage,
        procedure,
        damage_fen: c.get()?,
        assessment: c.get()?,
        appraiser: c.get()?,
        assessment_experts: c.json()?,
        review_experts: c.json()?,
        consultations: u32::try_from(c.get::<i64>()?).unwrap_or(u32::MAX),
        agreement: c.opt_json()?,
        paid_fen: c.get()?,
        remediation_passed: c.get()?,
        closed_reason: c.get()?,
    };
    Ok(MatterRecord {
        id,
        number,
        case_id,
        credit_code,
        unit_id,
        matter,
        stage_started_at: c.get()?,
        opened_at: c.get()?,
        closed_at: c.get()?,
        version: c.get()?,
    })
}

pub(crate) async fn load_matter(c: &dyn Conn, id: i64) -> StoreResult<Option<MatterRecord>> {
    let sql = format!("SELECT {MATTER_COLUMNS} FROM compensation_matters m WHERE m.id = $1");
    c.map_opt(&sql, &args![id], matter_row).await
}
