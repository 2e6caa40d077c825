//! A command centre's periodic reports (定期报送) and pledges (军令状),
//! written once for both databases. Filings and chases are append-only rows
//! written in one job each; a filing's revision is the next of its form,
//! period and unit, and the unique key refuses a concurrent duplicate.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use mashangban_domain::command::{CommandAction, centre_not_found};
use mashangban_domain::command_reports::{
    Cadence, FormShape, FormUsage, PledgeChange, PledgeDef, ReportFormDef, check_form_change, form_changed,
    form_not_found, form_withdrawn, pledge_changed, pledge_not_found, pledge_withdrawn,
};
use mashangban_domain::inbox::{Notice, NoticeEvent};
use mashangban_domain::org::UnitId;
use mashangban_store::{
    ChaseRecord, CommandAuthor, CommandEvent, CommandReportStore, FilingRecord, NewFiling, PledgeRecord,
    ReportFormRecord, StoreError, StoreResult, Withdrawal,
};

use crate::command::{EVENT_SELECT, Subject, command_event, event};
use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Row, bad, job};
use crate::{SqlStore, args};

async fn centre_exists(c: &dyn Conn, code: &str) -> StoreResult<()> {
    match c.scalar_opt::<String>("SELECT code FROM command_centres WHERE code = $1", &args![code]).await? {
        Some(_) => Ok(()),
        None => Err(centre_not_found(code).into()),
    }
}

/// The names of units (short name if any), by id.
async fn unit_names(c: &dyn Conn, ids: &[i64]) -> StoreResult<BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut args = Args::default();
    let list = args.list(ids.iter().copied());
    let rows = c
        .map(&format!("SELECT id, COALESCE(short_name, name) FROM units WHERE id IN ({list})"), args.values(), |row| {
            let mut c = row.cols();
            Ok((c.get::<i64>()?, c.get::<String>()?))
        })
        .await?;
    Ok(rows.into_iter().collect())
}

/// A form locked for a change: found, not withdrawn, at the version read.
async fn form_for_change(c: &dyn Conn, id: i64, expected_version: i64) -> StoreResult<ReportFormRecord> {
    let lock = c.dialect().lock_rows("command_report_forms");
    let current =
        c.map_opt(&format!("{FORM_SELECT} WHERE id = $1{lock}"), &args![id], form).await?.ok_or_else(form_not_found)?;
    if current.withdrawn.is_some() {
        return Err(form_withdrawn().into());
    }
    if current.version != expected_version {
        return Err(form_changed(current.version).into());
    }
    Ok(current)
}

/// A pledge locked for a change: found, not withdrawn, at the version read.
async fn pledge_for_change(c: &dyn Conn, id: i64, expected_version: i64) -> StoreResult<PledgeRecord> {
    let lock = c.dialect().lock_rows("command_pledges");
    let current = c
        .map_opt(&format!("{PLEDGE_SELECT} WHERE id = $1{lock}"), &args![id], pledge_row)
        .await?
        .ok_or_else(pledge_not_found)?;
    if current.withdrawn.is_some() {
        return Err(pledge_withdrawn().into());
    }
    if current.version != expected_version {
        return Err(pledge_changed(current.version).into());
    }
    Ok(current)
}

async fn load_form(c: &dyn Conn, id: i64) -> StoreResult<ReportFormRecord> {
    c.map_opt(&format!("{FORM_SELECT} WHERE id = $1"), &args![id], form)
        .await?
        .ok_or_else(|| StoreError::backend("the report form vanished"))
}

async fn load_pledge(c: &dyn Conn, id: i64) -> StoreResult<PledgeRecord> {
    c.map_opt(&format!("{PLEDGE_SELECT} WHERE id = $1"), &args![id], pledge_row)
        .await?
        .ok_or_else(|| StoreError::backend("the pledge vanished"))
}

impl<D: Database> CommandReportStore for SqlStore<D> {
    async fn create_report_form(
        &self,
        centre_code: &str,
        def: ReportFormDef,
        author: CommandAuthor,
    ) -> StoreResult<ReportFormRecord> {
        let code = centre_code.to_owned();
        let create = job(move |c| {
            Box::pin(async move {
                centre_exists(c, &code).await?;
                let id: i64 = c
                    .scalar(
                        "INSERT INTO command_report_forms (centre_code, name, cadence, fields, filers,
                            due_working_days, created_at, created_by)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                        &args![
                            code.as_str(),
                            def.name.as_str(),
                            def.cadence.as_str(),
                            json_text(&def.fields)?,
                            json_text(&def.filers)?,
                            i64::from(def.due_working_days),
                            &author.at,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                let note = format!(
                    "「{}」：{}报送，栏目 {} 个，报送单位 {} 个，周期结束后 {} 个工作日内报送",
                    def.name,
                    def.cadence.label(),
                    def.fields.len(),
                    def.filers.len(),
                    def.due_working_days
                );
                event(c, &code, Subject::Form(id), &author, CommandAction::ReportFormDefined, Some(&note)).await?;
                load_form(c, id).await
            })
        });
        self.db.write(create).await
    }

    async fn report_forms(&self, centre_code: &str) -> StoreResult<Vec<ReportFormRecord>> {
        let code = centre_code.to_owned();
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(&format!("{FORM_SELECT} WHERE centre_code = $1 ORDER BY id"), &args![code], form).await
                })
            }))
            .await
    }

    async fn report_form(&self, id: i64) -> StoreResult<Option<ReportFormRecord>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move { c.map_opt(&format!("{FORM_SELECT} WHERE id = $1"), &args![id], form).await })
            }))
            .await
    }

    async fn update_report_form(
        &self,
        id: i64,
        expected_version: i64,
        def: ReportFormDef,
        note: String,
        author: CommandAuthor,
    ) -> StoreResult<ReportFormRecord> {
        let update = job(move |c| {
            Box::pin(async move {
                let current = form_for_change(c, id, expected_version).await?;
                // What the filed reports use, read under the form's lock: a filing waits for it.
                let filed = c
                    .map(
                        "SELECT unit_id, report_values FROM command_report_filings WHERE form_id = $1",
                        &args![id],
                        |row| {
                            let mut c = row.cols();
                            Ok((c.get::<i64>()?, c.json::<BTreeMap<String, String>>()?))
                        },
                    )
                    .await?;
                let mut usage = FormUsage::default();
                for (unit, values) in &filed {
                    usage.add(*unit, values);
                }
                let dropped: Vec<i64> = current
                    .filers
                    .iter()
                    .copied()
                    .filter(|u| usage.units.contains(u) && !def.filers.contains(u))
                    .collect();
                let names = unit_names(c, &dropped).await?;
                let shape = FormShape {
                    name: &current.name,
                    cadence: current.cadence,
                    fields: &current.fields,
                    filers: &current.filers,
                    due_working_days: current.due_working_days,
                };
                let name_of = |u: i64| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
                check_form_change(&shape, &def, &usage, &name_of)?;
                c.execute(
                    "UPDATE command_report_forms SET name = $2, cadence = $3, fields = $4, filers = $5,
                        due_working_days = $6, version = version + 1
                     WHERE id = $1",
                    &args![
                        id,
                        def.name.as_str(),
                        def.cadence.as_str(),
                        json_text(&def.fields)?,
                        json_text(&def.filers)?,
                        i64::from(def.due_working_days)
                    ],
                )
                .await?;
                let note = format!("「{}」第{}版：{note}", def.name, current.version + 1);
                event(
                    c,
                    &current.centre_code,
                    Subject::Form(id),
                    &author,
                    CommandAction::ReportFormChanged,
                    Some(&note),
                )
                .await?;
                load_form(c, id).await
            })
        });
        self.db.write(update).await
    }

    async fn withdraw_report_form(
        &self,
        id: i64,
        expected_version: i64,
        reason: String,
        author: CommandAuthor,
    ) -> StoreResult<ReportFormRecord> {
        let withdraw = job(move |c| {
            Box::pin(async move {
                let current = form_for_change(c, id, expected_version).await?;
                c.execute(
                    "UPDATE command_report_forms SET withdrawn_at = $2, withdrawn_by = $3, withdrawn_reason = $4,
                        version = version + 1
                     WHERE id = $1",
                    &args![id, &author.at, author.name.as_str(), reason.as_str()],
                )
                .await?;
                let note = format!("「{}」撤回，理由：{reason}", current.name);
                let action = CommandAction::ReportFormWithdrawn;
                event(c, &current.centre_code, Subject::Form(id), &author, action, Some(&note)).await?;
                load_form(c, id).await
            })
        });
        self.db.write(withdraw).await
    }

    async fn file_report(&self, filing: NewFiling, author: CommandAuthor) -> StoreResult<FilingRecord> {
        let file = job(move |c| {
            Box::pin(async move {
                let lock = c.dialect().lock_rows("command_report_forms");
                let found = c
                    .map_opt(&format!("{FORM_SELECT} WHERE id = $1{lock}"), &args![filing.form_id], form)
                    .await?
                    .ok_or_else(form_not_found)?;
                if found.withdrawn.is_some() {
                    return Err(form_withdrawn().into());
                }
                if found.version != filing.form_version {
                    return Err(form_changed(found.version).into());
                }
                let revision: i64 = c
                    .scalar(
                        "SELECT COALESCE(MAX(revision), 0) + 1 FROM command_report_filings
                         WHERE form_id = $1 AND period = $2 AND unit_id = $3",
                        &args![filing.form_id, filing.period.as_str(), filing.unit_id],
                    )
                    .await?;
                let id: i64 = c
                    .scalar(
                        "INSERT INTO command_report_filings (form_id, period, unit_id, revision, report_values, note,
                            late, filed_at, by_user_id, by_name)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &args![
                            filing.form_id,
                            filing.period.as_str(),
                            filing.unit_id,
                            revision,
                            json_text(&filing.values)?,
                            filing.note.as_deref(),
                            filing.late,
                            &author.at,
                            author.user_id,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                c.map_opt(&format!("{FILING_SELECT} WHERE id = $1"), &args![id], filing_row)
                    .await?
                    .ok_or_else(|| StoreError::backend("the filing vanished"))
            })
        });
        self.db.write(file).await
    }

    async fn report_filings(
        &self,
        form_id: i64,
        period: Option<&str>,
        units: Option<&[UnitId]>,
    ) -> StoreResult<Vec<FilingRecord>> {
        self.form_rows(FILING_SELECT, "period, unit_id, revision", filing_row, form_id, period, units).await
    }

    async fn chase_report(
        &self,
        form_id: i64,
        period: &str,
        unit_id: UnitId,
        note: &str,
        automatic: bool,
        author: CommandAuthor,
    ) -> StoreResult<Option<ChaseRecord>> {
        let (period, note) = (period.to_owned(), note.to_owned());
        let chase = job(move |c| {
            Box::pin(async move {
                let found = c
                    .map_opt(&format!("{FORM_SELECT} WHERE id = $1"), &args![form_id], form)
                    .await?
                    .ok_or_else(form_not_found)?;
                if found.withdrawn.is_some() {
                    return Err(form_withdrawn().into());
                }
                let form_name = found.name;
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO command_report_chases (form_id, period, unit_id, note, automatic, at, by_user_id,
                            by_name)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
                        &args![
                            form_id,
                            period.as_str(),
                            unit_id,
                            note.as_str(),
                            automatic,
                            &author.at,
                            author.user_id,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                let Some(id) = id else { return Ok(None) };
                // The chased unit's handlers and leaders hear of it (催报), in this transaction.
                let notice = Notice {
                    event: NoticeEvent::ReportChased,
                    key: format!("report-chase-{id}"),
                    title: format!("{form_name}（{period}）"),
                    link: format!("/command/reports/{form_id}/{period}"),
                    units: vec![unit_id],
                };
                crate::inbox::notify(c, &notice, author.user_id, &author.at).await?;
                c.map_opt(&format!("{CHASE_SELECT} WHERE id = $1"), &args![id], chase_row).await
            })
        });
        self.db.write(chase).await
    }

    async fn report_chases(
        &self,
        form_id: i64,
        period: Option<&str>,
        units: Option<&[UnitId]>,
    ) -> StoreResult<Vec<ChaseRecord>> {
        self.form_rows(CHASE_SELECT, "id", chase_row, form_id, period, units).await
    }

    async fn create_pledge(
        &self,
        centre_code: &str,
        def: PledgeDef,
        author: CommandAuthor,
    ) -> StoreResult<PledgeRecord> {
        let code = centre_code.to_owned();
        let create = job(move |c| {
            Box::pin(async move {
                centre_exists(c, &code).await?;
                let size = i64::try_from(def.document.len()).unwrap_or(i64::MAX);
                let id: i64 = c
                    .scalar(
                        "INSERT INTO command_pledges (centre_code, unit_id, target_ids, signed_on, signatory,
                            document_name, document_type, document_size, document_sha256, document, created_at,
                            created_by)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                        &args![
                            code.as_str(),
                            def.unit_id,
                            json_text(&def.target_ids)?,
                            def.signed_on.format("%Y-%m-%d").to_string(),
                            def.signatory.as_str(),
                            def.document_name.as_str(),
                            def.document_type.as_str(),
                            size,
                            def.document_sha256.as_str(),
                            def.document,
                            &author.at,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                let names = unit_names(c, &[def.unit_id]).await?;
                let note = format!(
                    "{}的军令状：签署人 {}，签署日期 {}，所签目标 {} 项，签署件「{}」",
                    names.get(&def.unit_id).cloned().unwrap_or_else(|| def.unit_id.to_string()),
                    def.signatory,
                    def.signed_on.format("%Y-%m-%d"),
                    def.target_ids.len(),
                    def.document_name
                );
                event(c, &code, Subject::Pledge(id), &author, CommandAction::PledgeRecorded, Some(&note)).await?;
                load_pledge(c, id).await
            })
        });
        self.db.write(create).await
    }

    async fn pledges(&self, centre_code: &str) -> StoreResult<Vec<PledgeRecord>> {
        let code = centre_code.to_owned();
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(&format!("{PLEDGE_SELECT} WHERE centre_code = $1 ORDER BY id"), &args![code], pledge_row)
                        .await
                })
            }))
            .await
    }

    async fn pledge(&self, id: i64) -> StoreResult<Option<PledgeRecord>> {
        self.db
            .read(job(move |c| {
                Box::pin(
                    async move { c.map_opt(&format!("{PLEDGE_SELECT} WHERE id = $1"), &args![id], pledge_row).await },
                )
            }))
            .await
    }

    async fn update_pledge(
        &self,
        id: i64,
        expected_version: i64,
        change: PledgeChange,
        note: String,
        author: CommandAuthor,
    ) -> StoreResult<PledgeRecord> {
        let update = job(move |c| {
            Box::pin(async move {
                let current = pledge_for_change(c, id, expected_version).await?;
                c.execute(
                    "UPDATE command_pledges SET target_ids = $2, signed_on = $3, signatory = $4, version = version + 1
                     WHERE id = $1",
                    &args![
                        id,
                        json_text(&change.target_ids)?,
                        change.signed_on.format("%Y-%m-%d").to_string(),
                        change.signatory.as_str()
                    ],
                )
                .await?;
                let note = format!("第{}版：{note}", current.version + 1);
                event(c, &current.centre_code, Subject::Pledge(id), &author, CommandAction::PledgeChanged, Some(&note))
                    .await?;
                load_pledge(c, id).await
            })
        });
        self.db.write(update).await
    }

    async fn withdraw_pledge(
        &self,
        id: i64,
        expected_version: i64,
        reason: String,
        author: CommandAuthor,
    ) -> StoreResult<PledgeRecord> {
        let withdraw = job(move |c| {
            Box::pin(async move {
                let current = pledge_for_change(c, id, expected_version).await?;
                c.execute(
                    "UPDATE command_pledges SET withdrawn_at = $2, withdrawn_by = $3, withdrawn_reason = $4,
                        version = version + 1
                     WHERE id = $1",
                    &args![id, &author.at, author.name.as_str(), reason.as_str()],
                )
                .await?;
                let names = unit_names(c, &[current.unit_id]).await?;
                let unit = names.get(&current.unit_id).cloned().unwrap_or_else(|| current.unit_id.to_string());
                let note =
                    format!("{unit}的军令状（{} 签署）作废，理由：{reason}", current.signed_on.format("%Y-%m-%d"));
                let action = CommandAction::PledgeWithdrawn;
                event(c, &current.centre_code, Subject::Pledge(id), &author, action, Some(&note)).await?;
                load_pledge(c, id).await
            })
        });
        self.db.write(withdraw).await
    }

    async fn report_events(&self, centre_code: &str) -> StoreResult<Vec<CommandEvent>> {
        let code = centre_code.to_owned();
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(
                        &format!(
                            "{EVENT_SELECT} WHERE centre_code = $1 AND (form_id IS NOT NULL OR pledge_id IS NOT NULL)
                             ORDER BY id"
                        ),
                        &args![code],
                        command_event,
                    )
                    .await
                })
            }))
            .await
    }

    async fn pledge_document(&self, id: i64) -> StoreResult<Option<Vec<u8>>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.scalar_opt::<Vec<u8>>("SELECT document FROM command_pledges WHERE id = $1", &args![id]).await
                })
            }))
            .await
    }
}

const FORM_SELECT: &str = "SELECT id, centre_code, name, cadence, fields, filers, due_working_days, created_at,
        created_by, version, withdrawn_at, withdrawn_by, withdrawn_reason
     FROM command_report_forms";

/// The withdrawal of the row (its three last columns).
fn withdrawal(c: &mut crate::sql::Cols) -> StoreResult<Option<Withdrawal>> {
    let at: Option<mashangban_domain::time::Instant> = c.get()?;
    let by: Option<String> = c.get()?;
    let reason: Option<String> = c.get()?;
    Ok(at.map(|at| Withdrawal { at, by: by.unwrap_or_default(), reason: reason.unwrap_or_default() }))
}

fn form(row: Row) -> StoreResult<ReportFormRecord> {
    let mut c = row.cols();
    Ok(ReportFormRecord {
        id: c.get()?,
        centre_code: c.get()?,
        name: c.get()?,
        cadence: c.code(Cadence::parse)?,
        fields: c.json()?,
        filers: c.json()?,
        due_working_days: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        version: c.get()?,
        withdrawn: withdrawal(&mut c)?,
    })
}

const FILING_SELECT: &str = "SELECT id, form_id, period, unit_id, revision, report_values, note, late, filed_at,
        by_user_id, by_name
     FROM command_report_filings";

fn filing_row(row: Row) -> StoreResult<FilingRecord> {
    let mut c = row.cols();
    Ok(FilingRecord {
        id: c.get()?,
        form_id: c.get()?,
        period: c.get()?,
        unit_id: c.get()?,
        revision: c.get()?,
        values: c.json::<BTreeMap<String, String>>()?,
        note: c.get()?,
        late: c.get()?,
        filed_at: c.get()?,
        by_user_id: c.get()?,
        by_name: c.get()?,
    })
}

const CHASE_SELECT: &str =
    "SELECT id, form_id, period, unit_id, note, automatic, at, by_user_id, by_name FROM command_report_chases";

fn chase_row(row: Row) -> StoreResult<ChaseRecord> {
    let mut c = row.cols();
    Ok(ChaseRecord {
        id: c.get()?,
        form_id: c.get()?,
        period: c.get()?,
        unit_id: c.get()?,
        note: c.get()?,
        automatic: c.get()?,
        at: c.get()?,
        by_user_id: c.get()?,
        by_name: c.get()?,
    })
}

const PLEDGE_SELECT: &str = "SELECT id, centre_code, unit_id, target_ids, signed_on, signatory, document_name,
        document_type, document_size, document_sha256, created_at, created_by, version, withdrawn_at, withdrawn_by,
        withdrawn_reason
     FROM command_pledges";

fn pledge_row(row: Row) -> StoreResult<PledgeRecord> {
    let mut c = row.cols();
    let (id, centre_code, unit_id) = (c.get()?, c.get()?, c.get()?);
    let target_ids = c.json()?;
    let signed: String = c.get()?;
    let signed_on = NaiveDate::parse_from_str(&signed, "%Y-%m-%d").map_err(|_| bad("signed date", &signed))?;
    Ok(PledgeRecord {
        id,
        centre_code,
        unit_id,
        target_ids,
        signed_on,
        signatory: c.get()?,
        document_name: c.get()?,
        document_type: c.get()?,
        document_size: c.get()?,
        document_sha256: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        version: c.get()?,
        withdrawn: withdrawal(&mut c)?,
    })
}

impl<D: Database> SqlStore<D> {
    /// A form's filings or chases (`select`, in `order`, read with `row`) of one period and some units.
    async fn form_rows<T: Send + 'static>(
        &self,
        select: &'static str,
        order: &'static str,
        row: fn(Row) -> StoreResult<T>,
        form_id: i64,
        period: Option<&str>,
        units: Option<&[UnitId]>,
    ) -> StoreResult<Vec<T>> {
        let period = period.map(str::to_owned);
        let units = units.map(<[UnitId]>::to_vec);
        let read = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let Some(cond) = form_period_units(&mut args, form_id, period.as_deref(), units.as_deref()) else {
                    return Ok(Vec::new());
                };
                c.map(&format!("{select} WHERE {cond} ORDER BY {order}"), args.values(), row).await
            })
        });
        self.db.read(read).await
    }
}

/// The condition on a form's filings or chases, of one period and some units when given; `None`
/// when no unit is wanted (nothing matches).
fn form_period_units(args: &mut Args, form_id: i64, period: Option<&str>, units: Option<&[UnitId]>) -> Option<String> {
    let mut cond = vec![format!("form_id = {}", args.push(form_id))];
    if let Some(p) = period {
        cond.push(format!("period = {}", args.push(p)));
    }
    if let Some(units) = units {
        if units.is_empty() {
            return None;
        }
        cond.push(format!("unit_id IN ({})", args.list(units.iter().copied())));
    }
    Some(cond.join(" AND "))
}
