//! The industry support fund (产业扶持资金), written once for both databases.
//!
//! Every write to an application first locks its row (PostgreSQL; SQLite's
//! single writer already excludes every other), checks the change through the
//! domain, and writes the new state with its history entry in the same
//! transaction. Money is reserved with the conditional budget update of
//! [`apply_effect`]: of any number of concurrent reservations, on one node or
//! several, only those that fit the year's allocation change the row.

use mashangban_domain::enterprise::enterprise_not_found;
use mashangban_domain::fund::{
    ApplicationState, ApplicationStatus, BudgetEffect, FundAction, Measure, Policy, application_changed,
    application_not_found, budget_exceeded, check_answer, check_objection, duplicate_measure, measure_not_found,
    no_allocation_for_year, objection_not_found, policy_not_found,
};
use mashangban_domain::time::Instant;
use mashangban_store::{
    FundActor, FundApplication, FundBudgetYear, FundEvent, FundFilter, FundGroup, FundMeasure, FundObjection,
    FundPolicy, FundReport, FundScope, FundStore, FundTally, NewFundApplication, StoreError, StoreResult,
};

use crate::sql::{Args, Conn, Database, Row, job};
use crate::{SqlStore, args};

/// The most applications one page lists.
const PAGE_MAX: u32 = 5000;

impl<D: Database> FundStore for SqlStore<D> {
    async fn create_fund_policy(
        &self,
        policy: Policy,
        measures: Vec<Measure>,
        at: Instant,
        by: FundActor,
    ) -> StoreResult<FundPolicy> {
        let create = job(move |c| {
            Box::pin(async move {
                let id: i64 = c
                    .scalar(
                        "INSERT INTO fund_policies (name, issuer, total_fen, notice_working_days, created_at, created_by)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        &args![
                            policy.name.as_str(),
                            policy.issuer.as_str(),
                            policy.total_fen,
                            policy.notice_working_days,
                            &at,
                            by.name.as_str()
                        ],
                    )
                    .await?;
                for year in &policy.allocations {
                    c.execute(
                        "INSERT INTO fund_budgets (policy_id, year, allocation_fen) VALUES ($1, $2, $3)",
                        &args![id, year.year, year.amount_fen],
                    )
                    .await?;
                }
                for measure in &measures {
                    insert_measure(c, id, measure).await?;
                }
                load_policy(c, id).await?.ok_or_else(policy_not_found).map_err(Into::into)
            })
        });
        self.db.write(create).await
    }

    async fn add_fund_measure(&self, policy_id: i64, measure: Measure) -> StoreResult<FundMeasure> {
        let add = job(move |c| {
            Box::pin(async move {
                load_policy(c, policy_id).await?.ok_or_else(policy_not_found)?;
                let id = insert_measure(c, policy_id, &measure).await?;
                load_measure(c, id).await?.ok_or_else(measure_not_found).map_err(Into::into)
            })
        });
        self.db.write(add).await
    }

    async fn fund_policies(&self) -> StoreResult<Vec<FundPolicy>> {
        let list = job(move |c| {
            Box::pin(async move {
                let ids: Vec<i64> =
                    c.map("SELECT id FROM fund_policies ORDER BY id DESC", &args![], |mut r| r.take(0)).await?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.extend(load_policy(c, id).await?);
                }
                Ok(out)
            })
        });
        self.db.read(list).await
    }

    async fn fund_policy(&self, id: i64) -> StoreResult<Option<FundPolicy>> {
        self.db.read(job(move |c| Box::pin(async move { load_policy(c, id).await }))).await
    }

    async fn fund_measures(&self, policy_id: i64) -> StoreResult<Vec<FundMeasure>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {MEASURE_COLUMNS} FROM fund_measures WHERE policy_id = $1 ORDER BY code");
                c.map(&sql, &args![policy_id], measure_row).await
            })
        });
        self.db.read(list).await
    }

    async fn fund_measure(&self, id: i64) -> StoreResult<Option<FundMeasure>> {
        self.db.read(job(move |c| Box::pin(async move { load_measure(c, id).await }))).await
    }

    async fn submit_fund_application(
        &self,
        new: NewFundApplication,
        at: Instant,
        by: FundActor,
    ) -> StoreResult<FundApplication> {
        let submit = job(move |c| Box::pin(async move { submit(c, new, at, by).await }));
        self.db.write(submit).await
    }

    async fn fund_application(&self, id: i64, scope: FundScope) -> StoreResult<Option<FundApplication>> {
        self.db.read(job(move |c| Box::pin(async move { load_application(c, id, &scope).await }))).await
    }

    async fn fund_applications(
        &self,
        filter: &FundFilter,
        scope: FundScope,
    ) -> StoreResult<(Vec<FundApplication>, u64)> {
        let filter = filter.clone();
        let list = job(move |c| Box::pin(async move { list_applications(c, &filter, &scope).await }));
        self.db.read(list).await
    }

    async fn fund_events(&self, application_id: i64) -> StoreResult<Vec<FundEvent>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM fund_events WHERE application_id = $1 ORDER BY seq");
                c.map(&sql, &args![application_id], event_row).await
            })
        });
        self.db.read(list).await
    }

    async fn act_on_fund_application(
        &self,
        id: i64,
        action: FundAction,
        expected_version: Option<i64>,
        now: Instant,
        by: FundActor,
    ) -> StoreResult<FundApplication> {
        let act = job(move |c| Box::pin(async move { act(c, id, action, expected_version, now, by).await }));
        self.db.write(act).await
    }

    async fn raise_fund_objection(
        &self,
        application_id: i64,
        text: String,
        now: Instant,
        by: FundActor,
    ) -> StoreResult<FundObjection> {
        let raise = job(move |c| Box::pin(async move { raise_objection(c, application_id, text, now, by).await }));
        self.db.write(raise).await
    }

    async fn answer_fund_objection(
        &self,
        objection_id: i64,
        answer: String,
        now: Instant,
        by: FundActor,
    ) -> StoreResult<FundObjection> {
        let answer = job(move |c| Box::pin(async move { answer_objection(c, objection_id, answer, now, by).await }));
        self.db.write(answer).await
    }

    async fn fund_objections(&self, application_id: i64) -> StoreResult<Vec<FundObjection>> {
        let list = job(move |c| {
            Box::pin(async move {
                let sql =
                    format!("SELECT {OBJECTION_COLUMNS} FROM fund_objections WHERE application_id = $1 ORDER BY id");
                c.map(&sql, &args![application_id], objection_row).await
            })
        });
        self.db.read(list).await
    }

    async fn fund_report(&self, policy_id: i64, year: i32, scope: FundScope) -> StoreResult<FundReport> {
        let report = job(move |c| Box::pin(async move { report(c, policy_id, year, &scope).await }));
        self.db.read(report).await
    }
}

// ---- writes ----------------------------------------------------------------------------

async fn insert_measure(c: &dyn Conn, policy_id: i64, measure: &Measure) -> StoreResult<i64> {
    let fields = serde_json::to_string(&measure.fields).map_err(StoreError::backend)?;
    let id: Option<i64> = c
        .scalar_opt(
            "INSERT INTO fund_measures (policy_id, code, name, fields, eligibility, award, cap_fen)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (policy_id, code) DO NOTHING RETURNING id",
            &args![
                policy_id,
                measure.code.as_str(),
                measure.name.as_str(),
                fields,
                measure.eligibility.source(),
                measure.award.source(),
                measure.cap_fen
            ],
        )
        .await?;
    id.ok_or_else(|| duplicate_measure(&measure.code).into())
}

async fn submit(c: &dyn Conn, new: NewFundApplication, at: Instant, by: FundActor) -> StoreResult<FundApplication> {
    let measure = load_measure(c, new.measure_id).await?.ok_or_else(measure_not_found)?;
    let registered: Option<i64> =
        c.scalar_opt("SELECT 1 FROM enterprises WHERE credit_code = $1", &args![new.credit_code.as_str()]).await?;
    if registered.is_none() {
        return Err(enterprise_not_found(&new.credit_code).into());
    }
    let budgeted: Option<i64> = c
        .scalar_opt(
            "SELECT 1 FROM fund_budgets WHERE policy_id = $1 AND year = $2",
            &args![measure.policy_id, new.year],
        )
        .await?;
    if budgeted.is_none() {
        return Err(no_allocation_for_year(new.year).into());
    }
    let data = serde_json::to_string(&new.data).map_err(StoreError::backend)?;
    let materials = serde_json::to_string(&new.materials).map_err(StoreError::backend)?;
    let id: i64 = c
        .scalar(
            "INSERT INTO fund_applications (policy_id, measure_id, year, credit_code, data, materials, state,
                computed_fen, award_fen, version, submitted_at, submitted_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $10) RETURNING id",
            &args![
                measure.policy_id,
                measure.id,
                new.year,
                new.credit_code.as_str(),
                data,
                materials,
                ApplicationState::Submitted.as_str(),
                new.computed_fen,
                new.award_fen,
                &at,
                by.name.as_str()
            ],
        )
        .await?;
    let entry = EventEntry { kind: "submit", from: None, to: ApplicationState::Submitted, award_fen: new.award_fen };
    append_event(c, id, &entry, None, &at, &by).await?;
    load_application(c, id, &FundScope::All).await?.ok_or_else(|| application_not_found().into())
}

async fn act(
    c: &dyn Conn,
    id: i64,
    action: FundAction,
    expected_version: Option<i64>,
    now: Instant,
    by: FundActor,
) -> StoreResult<FundApplication> {
    let found = lock_application(c, id).await?;
    if expected_version.is_some_and(|v| v != found.version) {
        return Err(application_changed().into());
    }
    let transition = status_of(&found).apply(&action, now)?;
    apply_effect(c, &found, transition.effect).await?;
    c.execute(
        "UPDATE fund_applications SET state = $2, award_fen = $3, notice_ends_at = $4, version = version + 1,
            updated_at = $5
         WHERE id = $1",
        &args![id, transition.to.as_str(), transition.award_fen, transition.notice_ends_at, &now],
    )
    .await?;
    let entry =
        EventEntry { kind: action.kind(), from: Some(found.state), to: transition.to, award_fen: transition.award_fen };
    append_event(c, id, &entry, action.note(), &now, &by).await?;
    load_application(c, id, &FundScope::All).await?.ok_or_else(|| application_not_found().into())
}

/// Writes a transition's budget effect. A reservation changes the year's row
/// only if it still fits the allocation; when no row changed, the whole
/// transaction is refused with what is left.
async fn apply_effect(c: &dyn Conn, app: &FundApplication, effect: BudgetEffect) -> StoreResult<()> {
    let (sql, fen) = match effect {
        BudgetEffect::None => return Ok(()),
        BudgetEffect::Reserve(fen) => (
            "UPDATE fund_budgets SET reserved_fen = reserved_fen + $3
             WHERE policy_id = $1 AND year = $2 AND reserved_fen + $3 <= allocation_fen",
            fen,
        ),
        BudgetEffect::Release(fen) => (
            "UPDATE fund_budgets SET reserved_fen = reserved_fen - $3
             WHERE policy_id = $1 AND year = $2 AND reserved_fen - $3 >= paid_fen",
            fen,
        ),
        BudgetEffect::Pay(fen) => (
            "UPDATE fund_budgets SET paid_fen = paid_fen + $3
             WHERE policy_id = $1 AND year = $2 AND paid_fen + $3 <= reserved_fen",
            fen,
        ),
    };
    let changed = c.execute(sql, &args![app.policy_id, app.year, fen]).await?;
    if changed == 1 {
        return Ok(());
    }
    match effect {
        BudgetEffect::Reserve(fen) => {
            let remaining: i64 = c
                .scalar(
                    "SELECT allocation_fen - reserved_fen FROM fund_budgets WHERE policy_id = $1 AND year = $2",
                    &args![app.policy_id, app.year],
                )
                .await?;
            Err(budget_exceeded(app.year, fen, remaining).into())
        }
        _ => Err(StoreError::backend(format!(
            "fund application {}: the budget row of {} disagrees with its reservations",
            app.id, app.year
        ))),
    }
}

async fn raise_objection(
    c: &dyn Conn,
    application_id: i64,
    text: String,
    now: Instant,
    by: FundActor,
) -> StoreResult<FundObjection> {
    let found = lock_application(c, application_id).await?;
    let text = check_objection(&status_of(&found), &text, now)?;
    let id: i64 = c
        .scalar(
            "INSERT INTO fund_objections (application_id, text, raised_at, raised_by, raised_by_user)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &args![application_id, text.as_str(), &now, by.name.as_str(), by.user_id],
        )
        .await?;
    let entry = EventEntry { kind: "objection", from: Some(found.state), to: found.state, award_fen: found.award_fen };
    append_event(c, application_id, &entry, Some(&text), &now, &by).await?;
    load_objection(c, id).await?.ok_or_else(|| objection_not_found().into())
}

async fn answer_objection(
    c: &dyn Conn,
    objection_id: i64,
    answer: String,
    now: Instant,
    by: FundActor,
) -> StoreResult<FundObjection> {
    let objection = load_objection(c, objection_id).await?.ok_or_else(objection_not_found)?;
    let found = lock_application(c, objection.application_id).await?;
    // Read again under the application's lock: a concurrent answer is seen.
    let objection = load_objection(c, objection_id).await?.ok_or_else(objection_not_found)?;
    let answer = check_answer(objection.answer.is_some(), &answer)?;
    c.execute(
        "UPDATE fund_objections SET answer = $2, answered_at = $3, answered_by = $4 WHERE id = $1",
        &args![objection_id, answer.as_str(), &now, by.name.as_str()],
    )
    .await?;
    let entry = EventEntry { kind: "answer", from: Some(found.state), to: found.state, award_fen: found.award_fen };
    append_event(c, found.id, &entry, Some(&answer), &now, &by).await?;
    load_objection(c, objection_id).await?.ok_or_else(|| objection_not_found().into())
}

/// What a history entry records besides its note and author.
pub(crate) struct EventEntry {
    pub(crate) kind: &'static str,
    pub(crate) from: Option<ApplicationState>,
    pub(crate) to: ApplicationState,
    pub(crate) award_fen: i64,
}

/// Appends to an application's history; the caller holds the application's lock.
pub(crate) async fn append_event(
    c: &dyn Conn,
    application_id: i64,
    entry: &EventEntry,
    note: Option<&str>,
    at: &Instant,
    by: &FundActor,
) -> StoreResult<()> {
    let seq: i64 = c.scalar(
        "INSERT INTO fund_events (application_id, seq, kind, from_state, to_state, award_fen, note, at, by_name, by_user)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM fund_events WHERE application_id = $1),
            $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
        &args![
            application_id,
            entry.kind,
            entry.from.map(ApplicationState::as_str),
            entry.to.as_str(),
            entry.award_fen,
            note,
            at,
            by.name.as_str(),
            by.user_id
        ],
    )
    .await?;
    crate::audit::FUND.seal(c, application_id, seq).await
}

fn status_of(app: &FundApplication) -> ApplicationStatus {
    ApplicationStatus {
        state: app.state,
        award_fen: app.award_fen,
        cap_fen: app.cap_fen,
        notice_ends_at: app.notice_ends_at,
        open_objections: app.open_objections,
    }
}

// ---- reads -----------------------------------------------------------------------------

async fn load_policy(c: &dyn Conn, id: i64) -> StoreResult<Option<FundPolicy>> {
    let row = c
        .query_opt(
            "SELECT id, name, issuer, total_fen, notice_working_days, created_at, created_by
             FROM fund_policies WHERE id = $1",
            &args![id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let budgets = c
        .map(
            "SELECT year, allocation_fen, reserved_fen, paid_fen FROM fund_budgets WHERE policy_id = $1 ORDER BY year",
            &args![id],
            |row| {
                let mut c = row.cols();
                Ok(FundBudgetYear {
                    year: c.get()?,
                    allocation_fen: c.get()?,
                    reserved_fen: c.get()?,
                    paid_fen: c.get()?,
                })
            },
        )
        .await?;
    let mut r = row.cols();
    Ok(Some(FundPolicy {
        id: r.get()?,
        name: r.get()?,
        issuer: r.get()?,
        total_fen: r.get()?,
        notice_working_days: r.get()?,
        created_at: r.get()?,
        created_by: r.get()?,
        budgets,
    }))
}

const MEASURE_COLUMNS: &str = "id, policy_id, code, name, fields, eligibility, award, cap_fen";

fn measure_row(row: Row) -> StoreResult<FundMeasure> {
    let mut c = row.cols();
    Ok(FundMeasure {
        id: c.get()?,
        policy_id: c.get()?,
        code: c.get()?,
        name: c.get()?,
        fields: c.json()?,
        eligibility: c.get()?,
        award: c.get()?,
        cap_fen: c.get()?,
    })
}

async fn load_measure(c: &dyn Conn, id: i64) -> StoreResult<Option<FundMeasure>> {
    let sql = format!("SELECT {MEASURE_COLUMNS} FROM fund_measures WHERE id = $1");
    c.map_opt(&sql, &args![id], measure_row).await
}

const APPLICATION_FROM: &str = "FROM fund_applications a
    JOIN fund_measures m ON m.id = a.measure_id
    JOIN enterprises e ON e.credit_code = a.credit_code";

const APPLICATION_COLUMNS: &str = "a.id, a.policy_id, a.measure_id, m.code, m.name, m.cap_fen, a.year,
    a.credit_code, e.name, e.town_id, e.industry_code, a.data, a.materials, a.state, a.computed_fen, a.award_fen,
    a.notice_ends_at,
    (SELECT COUNT(*) FROM fund_objections o WHERE o.application_id = a.id AND o.answer IS NULL),
    a.version, a.submitted_at, a.submitted_by, a.updated_at";

fn application_row(row: Row) -> StoreResult<FundApplication> {
    let mut c = row.cols();
    Ok(FundApplication {
        id: c.get()?,
        policy_id: c.get()?,
        measure_id: c.get()?,
        measure_code: c.get()?,
        measure_name: c.get()?,
        cap_fen: c.get()?,
        year: c.get()?,
        credit_code: c.get()?,
        enterprise_name: c.get()?,
        town_id: c.get()?,
        industry_code: c.get()?,
        data: c.json()?,
        materials: c.json()?,
        state: c.code(ApplicationState::parse)?,
        computed_fen: c.get()?,
        award_fen: c.get()?,
        notice_ends_at: c.get()?,
        open_objections: c.get()?,
        version: c.get()?,
        submitted_at: c.get()?,
        submitted_by: c.get()?,
        updated_at: c.get()?,
    })
}

/// The condition of `scope` on the application `a` and its enterprise `e`.
fn scope_sql(scope: &FundScope, args: &mut Args) -> String {
    match scope {
        FundScope::All => "TRUE".to_owned(),
        FundScope::Town(town) => format!("e.town_id = {}", args.push(*town)),
        FundScope::Liaison(user) => format!(
            "EXISTS (SELECT 1 FROM liaison_assignments la WHERE la.credit_code = a.credit_code \
             AND la.user_id = {} AND la.ended_at IS NULL)",
            args.push(*user)
        ),
        FundScope::Enterprise(code) => format!("a.credit_code = {}", args.push(code.as_str())),
        FundScope::Nothing => "FALSE".to_owned(),
    }
}

async fn load_application(c: &dyn Conn, id: i64, scope: &FundScope) -> StoreResult<Option<FundApplication>> {
    let mut args = Args::default();
    let id_mark = args.push(id);
    let scope = scope_sql(scope, &mut args);
    let sql = format!("SELECT {APPLICATION_COLUMNS} {APPLICATION_FROM} WHERE a.id = {id_mark} AND {scope}");
    c.map_opt(&sql, args.values(), application_row).await
}

/// Locks the application's row until the transaction ends, then reads it.
pub(crate) async fn lock_application(c: &dyn Conn, id: i64) -> StoreResult<FundApplication> {
    let lock = c.dialect().lock_rows("a");
    let sql = format!("SELECT a.id FROM fund_applications a WHERE a.id = $1{lock}");
    c.scalar_opt::<i64>(&sql, &args![id]).await?.ok_or_else(application_not_found)?;
    load_application(c, id, &FundScope::All).await?.ok_or_else(|| application_not_found().into())
}

async fn list_applications(
    c: &dyn Conn,
    filter: &FundFilter,
    scope: &FundScope,
) -> StoreResult<(Vec<FundApplication>, u64)> {
    let mut args = Args::default();
    let mut conditions = vec![scope_sql(scope, &mut args)];
    if let Some(policy) = filter.policy_id {
        conditions.push(format!("a.policy_id = {}", args.push(policy)));
    }
    if let Some(measure) = filter.measure_id {
        conditions.push(format!("a.measure_id = {}", args.push(measure)));
    }
    if let Some(state) = filter.state {
        conditions.push(format!("a.state = {}", args.push(state.as_str())));
    }
    if let Some(year) = filter.year {
        conditions.push(format!("a.year = {}", args.push(year)));
    }
    if let Some(town) = filter.town_id {
        conditions.push(format!("e.town_id = {}", args.push(town)));
    }
    if let Some(code) = &filter.credit_code {
        conditions.push(format!("a.credit_code = {}", args.push(code.as_str())));
    }
    let condition = conditions.join(" AND ");
    let total: i64 = c.scalar(&format!("SELECT COUNT(*) {APPLICATION_FROM} WHERE {condition}"), args.values()).await?;
    let limit = args.push(filter.limit.clamp(1, PAGE_MAX));
    let offset = args.push(filter.offset);
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} {APPLICATION_FROM} WHERE {condition} ORDER BY a.id DESC LIMIT {limit} OFFSET {offset}"
    );
    let page = c.map(&sql, args.values(), application_row).await?;
    Ok((page, u64::try_from(total).unwrap_or(0)))
}

const EVENT_COLUMNS: &str = "application_id, seq, kind, from_state, to_state, award_fen, note, at, by_name, by_user";

fn event_row(row: Row) -> StoreResult<FundEvent> {
    let mut c = row.cols();
    Ok(FundEvent {
        application_id: c.get()?,
        seq: c.get()?,
        kind: c.get()?,
        from_state: c.opt_code(ApplicationState::parse)?,
        to_state: c.code(ApplicationState::parse)?,
        award_fen: c.get()?,
        note: c.get()?,
        at: c.get()?,
        by: c.get()?,
        by_user: c.get()?,
    })
}

const OBJECTION_COLUMNS: &str =
    "id, application_id, text, raised_at, raised_by, raised_by_user, answer, answered_at, answered_by";

fn objection_row(row: Row) -> StoreResult<FundObjection> {
    let mut c = row.cols();
    Ok(FundObjection {
        id: c.get()?,
        application_id: c.get()?,
        text: c.get()?,
        raised_at: c.get()?,
        raised_by: c.get()?,
        raised_by_user: c.get()?,
        answer: c.get()?,
        answered_at: c.get()?,
        answered_by: c.get()?,
    })
}

async fn load_objection(c: &dyn Conn, id: i64) -> StoreResult<Option<FundObjection>> {
    let sql = format!("SELECT {OBJECTION_COLUMNS} FROM fund_objections WHERE id = $1");
    c.map_opt(&sql, &args![id], objection_row).await
}

// ---- the report --------------------------------------------------------------------------

/// The counts of a tally, after its group's columns.
fn tally_columns() -> String {
    use ApplicationState as S;
    let states = |states: &[S]| states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let (review, approved) =
        (states(&[S::Submitted, S::TownReviewed]), states(&[S::DepartmentReviewed, S::Publicised, S::Paid]));
    let (paid, rejected) = (states(&[S::Paid]), states(&[S::Rejected]));
    format!(
        "COUNT(*),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({review}) THEN 1 ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({approved}) THEN 1 ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({approved}) THEN a.award_fen ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({paid}) THEN 1 ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({paid}) THEN a.award_fen ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN a.state IN ({rejected}) THEN 1 ELSE 0 END), 0) AS BIGINT)"
    )
}

/// Reads a tally's counts from the columns after its group's.
fn tally(group: FundGroup, c: &mut crate::sql::Cols) -> StoreResult<FundTally> {
    Ok(FundTally {
        group,
        applications: c.get()?,
        in_review: c.get()?,
        approved: c.get()?,
        approved_fen: c.get()?,
        paid: c.get()?,
        paid_fen: c.get()?,
        rejected: c.get()?,
    })
}

async fn report(c: &dyn Conn, policy_id: i64, year: i32, scope: &FundScope) -> StoreResult<FundReport> {
    let mut args = Args::default();
    let scope = scope_sql(scope, &mut args);
    let policy = args.push(policy_id);
    let year = args.push(year);
    let condition = format!("{scope} AND a.policy_id = {policy} AND a.year = {year}");
    let counts = tally_columns();
    let grouped = |keys: &str, order: &str| {
        format!("SELECT {keys}, {counts} {APPLICATION_FROM} WHERE {condition} GROUP BY {keys} ORDER BY {order}")
    };
    let total = c
        .map_opt(&format!("SELECT {counts} {APPLICATION_FROM} WHERE {condition}"), args.values(), |row| {
            tally(FundGroup::Total, &mut row.cols())
        })
        .await?
        .ok_or_else(|| StoreError::backend("a report's total has no row"))?;
    let by_measure = c
        .map(&grouped("a.measure_id, m.code, m.name", "m.code"), args.values(), |row| {
            let mut c = row.cols();
            let group = FundGroup::Measure { id: c.get()?, code: c.get()?, name: c.get()? };
            tally(group, &mut c)
        })
        .await?;
    let by_town = c
        .map(&grouped("e.town_id", "e.town_id"), args.values(), |row| {
            let mut c = row.cols();
            let group = FundGroup::Town(c.get()?);
            tally(group, &mut c)
        })
        .await?;
    let by_industry = c
        .map(&grouped("e.industry_code", "e.industry_code IS NULL, e.industry_code"), args.values(), |row| {
            let mut c = row.cols();
            let group = FundGroup::Industry(c.get()?);
            tally(group, &mut c)
        })
        .await?;
    Ok(FundReport { total, by_measure, by_town, by_industry })
}
