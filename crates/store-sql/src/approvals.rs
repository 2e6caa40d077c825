//! 拿地即开工 approvals, written once for both databases: templates stored as
//! versioned TOML text, projects, and each project's append-only log of
//! actions. Recording an action locks the project's row (PostgreSQL; SQLite's
//! single writer already excludes every other), rebuilds the plan from the
//! log through the domain, checks the action against it and appends it with
//! the project's next version and a change-feed row, in one transaction: of
//! two concurrent issues of one step exactly one passes.

use std::sync::Arc;

use mashangban_domain::approvals::{
    ApprovalAction, ApprovalPlan, PlanTemplate, ProjectInput, parse_template_toml, project_changed, project_not_found,
    template_changed, template_not_found,
};
use mashangban_domain::time::Instant;
use mashangban_store::{
    ApprovalProject, ApprovalRecord, ApprovalRecorder, ApprovalStore, ChangeEntity, StoreError, StoreResult,
    StoredApprovalTemplate,
};

use crate::sql::{Args, Conn, Database, Row, bad, job};
use crate::{SqlStore, args};

impl<D: Database> ApprovalStore for SqlStore<D> {
    async fn save_approval_template(
        &self,
        body: String,
        base: Option<i64>,
        at: Instant,
        by: ApprovalRecorder,
    ) -> StoreResult<StoredApprovalTemplate> {
        let template = parse_template_toml(&body)?;
        let (code, name) = (template.code().to_owned(), template.name().to_owned());
        let save = job(move |c| {
            Box::pin(async move {
                let current = load_current(c).await?;
                if base.is_some() && current.as_ref().map(|t| t.id) != base {
                    return Err(template_changed().into());
                }
                if let Some(current) = current.as_ref().filter(|t| says_the_same(t, &body, &template)) {
                    return Ok(current.clone());
                }
                let version: i64 = c
                    .scalar(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM approval_templates WHERE code = $1",
                        &args![code.as_str()],
                    )
                    .await?;
                // `supersedes` is unique: of two saves on one version in force
                // (two nodes) the second inserts nothing.
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO approval_templates
                            (code, version, name, body, created_at, created_by, created_by_user, supersedes)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
                        &args![
                            code.as_str(),
                            version,
                            name.as_str(),
                            body.as_str(),
                            &at,
                            by.name.as_str(),
                            by.user_id,
                            current.as_ref().map(|t| t.id)
                        ],
                    )
                    .await?;
                match id {
                    Some(id) => {
                        crate::changes::append(c, ChangeEntity::ApprovalTemplate, &id.to_string(), "saved", &at)
                            .await?;
                        load_template(c, id).await?.ok_or_else(|| StoreError::backend("the template vanished"))
                    }
                    None => match load_current(c).await? {
                        Some(winner) if says_the_same(&winner, &body, &template) => Ok(winner),
                        _ => Err(template_changed().into()),
                    },
                }
            })
        });
        self.db.write(save).await
    }

    async fn approval_template(&self, id: i64) -> StoreResult<Option<StoredApprovalTemplate>> {
        self.db.read(job(move |c| Box::pin(async move { load_template(c, id).await }))).await
    }

    async fn current_approval_template(&self) -> StoreResult<Option<StoredApprovalTemplate>> {
        self.db.read(job(move |c| Box::pin(async move { load_current(c).await }))).await
    }

    async fn approval_templates(&self, limit: u32) -> StoreResult<Vec<StoredApprovalTemplate>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM approval_templates ORDER BY id DESC LIMIT $1");
                c.map(&sql, &args![limit.clamp(1, 500)], stored_template).await
            })
        });
        self.db.read(list).await
    }

    async fn create_approval_project(
        &self,
        input: ProjectInput,
        template_id: i64,
        at: Instant,
        by: ApprovalRecorder,
    ) -> StoreResult<ApprovalProject> {
        let create = job(move |c| {
            Box::pin(async move {
                if load_template(c, template_id).await?.is_none() {
                    return Err(template_not_found().into());
                }
                let id: i64 = c
                    .scalar(
                        "INSERT INTO approval_projects (name, credit_code, ledger_key, unit_id, template_id, version,
                            created_at, created_by)
                         VALUES ($1, $2, $3, $4, $5, 0, $6, $7) RETURNING id",
                        &args![
                            input.name.as_str(),
                            input.credit_code.as_deref(),
                            input.ledger_key.as_deref(),
                            input.unit_id,
                            template_id,
                            &at,
                            by.name.as_str()
                        ],
                    )
                    .await?;
                crate::changes::append(c, ChangeEntity::Approval, &id.to_string(), "created", &at).await?;
                load_project(c, id, false).await?.ok_or_else(|| StoreError::backend("the project vanished"))
            })
        });
        self.db.write(create).await
    }

    async fn approval_project(&self, id: i64) -> StoreResult<Option<ApprovalProject>> {
        self.db.read(job(move |c| Box::pin(async move { load_project(c, id, false).await }))).await
    }

    async fn approval_projects(&self, limit: u32) -> StoreResult<Vec<ApprovalProject>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {PROJECT_COLUMNS} FROM approval_projects p ORDER BY p.id DESC LIMIT $1");
                c.map(&sql, &args![limit.clamp(1, 5000)], project).await
            })
        });
        self.db.read(list).await
    }

    async fn approval_records(&self, project_ids: &[i64]) -> StoreResult<Vec<ApprovalRecord>> {
        if project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = project_ids.to_vec();
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let list = args.list(ids.iter().copied());
                let sql = format!(
                    "SELECT {RECORD_COLUMNS} FROM approval_actions WHERE project_id IN ({list}) ORDER BY project_id, seq"
                );
                c.map(&sql, args.values(), record).await
            })
        });
        self.db.read(read).await
    }

    async fn record_approval_action(
        &self,
        project_id: i64,
        action: ApprovalAction,
        expected_version: Option<i64>,
        now: Instant,
        by: ApprovalRecorder,
    ) -> StoreResult<(ApprovalProject, ApprovalRecord)> {
        let record =
            job(move |c| Box::pin(async move { append(c, project_id, action, expected_version, now, by).await }));
        self.db.write(record).await
    }
}

async fn append(
    c: &dyn Conn,
    project_id: i64,
    action: ApprovalAction,
    expected_version: Option<i64>,
    now: Instant,
    by: ApprovalRecorder,
) -> StoreResult<(ApprovalProject, ApprovalRecord)> {
    let project = load_project(c, project_id, true).await?.ok_or_else(project_not_found)?;
    if expected_version.is_some_and(|v| v != project.version) {
        return Err(project_changed().into());
    }
    let template = load_template(c, project.template_id).await?.ok_or_else(template_not_found)?;
    let mut plan = ApprovalPlan::new(Arc::new(parse_template_toml(&template.body)?));
    let sql = format!("SELECT {RECORD_COLUMNS} FROM approval_actions WHERE project_id = $1 ORDER BY seq");
    for earlier in c.map(&sql, &args![project_id], record).await? {
        plan.apply(&earlier.action, earlier.recorded_at)
            .map_err(|e| StoreError::backend(format!("approval project {project_id}: stored action refused: {e}")))?;
    }
    plan.apply(&action, now)?;
    // The action as the plan kept it: to the second, in +08:00, the document number trimmed.
    let kept = kept_action(&plan, action)?;
    let seq = project.version + 1;
    let (kind, step, unit, at, document_no) = columns(&kept);
    c.execute(
        "INSERT INTO approval_actions (project_id, seq, kind, step, unit, at, document_no, recorded_at, recorded_by,
            recorded_by_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &args![project_id, seq, kind, step, unit, &at, document_no, &now, by.name.as_str(), by.user_id],
    )
    .await?;
    crate::audit::APPROVALS.seal(c, project_id, seq).await?;
    c.execute(
        "UPDATE approval_projects SET version = $2, transaction_at = $3, permit_at = $4 WHERE id = $1",
        &args![project_id, seq, plan.transaction_at(), plan.permit_issued_at()],
    )
    .await?;
    crate::changes::append(c, ChangeEntity::Approval, &project_id.to_string(), kind, &now).await?;
    let project = load_project(c, project_id, false).await?.ok_or_else(project_not_found)?;
    let record = ApprovalRecord {
        project_id,
        seq,
        action: kept,
        recorded_at: now,
        recorded_by: by.name,
        recorded_by_user: by.user_id,
    };
    Ok((project, record))
}

/// The action with the time and document number the plan recorded.
fn kept_action(plan: &ApprovalPlan, action: ApprovalAction) -> StoreResult<ApprovalAction> {
    let missing = || StoreError::backend("an applied action left no trace in the plan");
    Ok(match action {
        ApprovalAction::RecordTransaction { .. } => {
            ApprovalAction::RecordTransaction { at: plan.transaction_at().ok_or_else(missing)? }
        }
        ApprovalAction::RecordPreReview { step, unit, .. } => {
            let at = plan.step_progress(&step).and_then(|p| p.pre_reviewed_at).ok_or_else(missing)?;
            ApprovalAction::RecordPreReview { step, unit, at }
        }
        ApprovalAction::StartStep { step, unit, .. } => {
            let at = plan.step_progress(&step).and_then(|p| p.started_at).ok_or_else(missing)?;
            ApprovalAction::StartStep { step, unit, at }
        }
        ApprovalAction::IssueStep { step, unit, .. } => {
            let issued = plan.step_progress(&step).and_then(|p| p.issued.clone()).ok_or_else(missing)?;
            ApprovalAction::IssueStep { step, unit, at: issued.at, document_no: issued.document_no }
        }
    })
}

/// (kind, step, unit, at, document number) of an action's row.
fn columns(action: &ApprovalAction) -> (&'static str, Option<&str>, Option<&str>, Instant, Option<&str>) {
    match action {
        ApprovalAction::RecordTransaction { at } => ("record_transaction", None, None, *at, None),
        ApprovalAction::RecordPreReview { step, unit, at } => ("record_pre_review", Some(step), Some(unit), *at, None),
        ApprovalAction::StartStep { step, unit, at } => ("start_step", Some(step), Some(unit), *at, None),
        ApprovalAction::IssueStep { step, unit, at, document_no } => {
            ("issue_step", Some(step), Some(unit), *at, Some(document_no))
        }
    }
}

/// Whether a stored version says what `body` (parsed: `template`) says: the
/// same text, or the same steps written otherwise (a table saved unchanged).
fn says_the_same(stored: &StoredApprovalTemplate, body: &str, template: &PlanTemplate) -> bool {
    stored.body == body || parse_template_toml(&stored.body).is_ok_and(|t| t.same_as(template))
}

const TEMPLATE_COLUMNS: &str = "id, code, version, name, body, created_at, created_by, supersedes";

fn stored_template(row: Row) -> StoreResult<StoredApprovalTemplate> {
    let mut c = row.cols();
    Ok(StoredApprovalTemplate {
        id: c.get()?,
        code: c.get()?,
        version: c.get()?,
        name: c.get()?,
        body: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        supersedes: c.get()?,
    })
}

/// The version in force: the last one stored (each replaces the one before).
async fn load_current(c: &dyn Conn) -> StoreResult<Option<StoredApprovalTemplate>> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM approval_templates ORDER BY id DESC LIMIT 1");
    c.map_opt(&sql, &args![], stored_template).await
}

async fn load_template(c: &dyn Conn, id: i64) -> StoreResult<Option<StoredApprovalTemplate>> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM approval_templates WHERE id = $1");
    c.map_opt(&sql, &args![id], stored_template).await
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.credit_code, p.ledger_key, p.unit_id, p.template_id, p.version,
    p.transaction_at, p.permit_at, p.created_at, p.created_by";

fn project(row: Row) -> StoreResult<ApprovalProject> {
    let mut c = row.cols();
    Ok(ApprovalProject {
        id: c.get()?,
        name: c.get()?,
        credit_code: c.get()?,
        ledger_key: c.get()?,
        unit_id: c.get()?,
        template_id: c.get()?,
        version: c.get()?,
        transaction_at: c.get()?,
        permit_at: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
    })
}

/// A project; with `lock`, its row is locked until the transaction ends.
async fn load_project(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<ApprovalProject>> {
    let lock = if lock { c.dialect().lock_rows("p") } else { String::new() };
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM approval_projects p WHERE p.id = $1{lock}");
    c.map_opt(&sql, &args![id], project).await
}

const RECORD_COLUMNS: &str =
    "project_id, seq, kind, step, unit, at, document_no, recorded_at, recorded_by, recorded_by_user";

fn record(row: Row) -> StoreResult<ApprovalRecord> {
    let mut c = row.cols();
    let project_id = c.get()?;
    let seq = c.get()?;
    let kind: String = c.get()?;
    let step: Option<String> = c.get()?;
    let unit: Option<String> = c.get()?;
    let at: Instant = c.get()?;
    let document_no: Option<String> = c.get()?;
    let step_and_unit = || match (step.clone(), unit.clone()) {
        (Some(step), Some(unit)) => Ok((step, unit)),
        _ => Err(bad("approval action without a step", &kind)),
    };
    let action = match kind.as_str() {
        "record_transaction" => ApprovalAction::RecordTransaction { at },
        "record_pre_review" => {
            let (step, unit) = step_and_unit()?;
            ApprovalAction::RecordPreReview { step, unit, at }
        }
        "start_step" => {
            let (step, unit) = step_and_unit()?;
            ApprovalAction::StartStep { step, unit, at }
        }
        "issue_step" => {
            let (step, unit) = step_and_unit()?;
            let document_no = document_no.clone().ok_or_else(|| bad("issue without a document number", &kind))?;
            ApprovalAction::IssueStep { step, unit, at, document_no }
        }
        other => return Err(bad("approval action kind", other)),
    };
    Ok(ApprovalRecord {
        project_id,
        seq,
        action,
        recorded_at: c.get()?,
        recorded_by: c.get()?,
        recorded_by_user: c.get()?,
    })
}
