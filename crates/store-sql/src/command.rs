//! Command centres (指挥部), their targets and tasks, written once for both
//! databases. Every write is one job: the row and its history entry.

use chrono::NaiveDate;

use mashangban_domain::command::{
    CentreDef, CommandAction, TargetDef, TaskDef, TaskState, centre_changed, centre_not_found, target_changed,
    target_not_found, task_done, task_not_found, task_not_reported,
};
use mashangban_domain::inbox::{Notice, NoticeEvent};
use mashangban_domain::scoring::TaskOutcome;
use mashangban_domain::time::Instant;
use mashangban_store::{
    CentreRecord, CommandAuthor, CommandEvent, CommandStore, LedgerArrival, StoreError, StoreResult, TargetRecord,
    TaskChange, TaskFilter, TaskRecord,
};

use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Row, Value, bad, job};
use crate::{SqlStore, args};

impl<D: Database> CommandStore for SqlStore<D> {
    async fn install_command_centres(&self, centres: Vec<CentreDef>, author: CommandAuthor) -> StoreResult<()> {
        let install = job(move |c| {
            Box::pin(async move {
                crate::locks::publishers(c, crate::locks::COMMAND_CENTRES).await?;
                for def in centres {
                    let added = c
                        .execute(
                            "INSERT INTO command_centres (code, name, description, commanders, office_unit_code,
                                member_units, towns, ledger_types, version, updated_at, updated_by, id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10,
                                (SELECT COALESCE(MAX(id), 0) + 1 FROM command_centres))
                             ON CONFLICT (code) DO NOTHING",
                            &centre_values(&def, &author)?,
                        )
                        .await?;
                    if added > 0 {
                        event(c, &def.code, Subject::Centre, &author, CommandAction::CentreInstalled, None).await?;
                    }
                }
                Ok(())
            })
        });
        self.db.write(install).await
    }

    async fn command_centres(&self) -> StoreResult<Vec<CentreRecord>> {
        let read =
            job(|c| Box::pin(async move { c.map(&format!("{CENTRE_SELECT} ORDER BY code"), &args![], centre).await }));
        self.db.read(read).await
    }

    async fn command_centre(&self, code: &str) -> StoreResult<Option<CentreRecord>> {
        let code = code.to_owned();
        self.db
            .read(job(move |c| {
                Box::pin(
                    async move { c.map_opt(&format!("{CENTRE_SELECT} WHERE code = $1"), &args![code], centre).await },
                )
            }))
            .await
    }

    async fn save_command_centre(
        &self,
        def: CentreDef,
        expected_version: i64,
        author: CommandAuthor,
    ) -> StoreResult<CentreRecord> {
        let save = job(move |c| {
            Box::pin(async move {
                let lock = c.dialect().lock_rows("command_centres");
                let sql = format!("{CENTRE_SELECT} WHERE code = $1{lock}");
                let current = c
                    .map_opt(&sql, &args![def.code.as_str()], centre)
                    .await?
                    .ok_or_else(|| centre_not_found(&def.code))?;
                if current.version != expected_version {
                    return Err(centre_changed(current.version).into());
                }
                c.execute(
                    "UPDATE command_centres SET name = $2, description = $3, commanders = $4, office_unit_code = $5,
                        member_units = $6, towns = $7, ledger_types = $8, version = version + 1, updated_at = $9,
                        updated_by = $10
                     WHERE code = $1",
                    &centre_values(&def, &author)?,
                )
                .await?;
                let note = format!("第{}版", current.version + 1);
                event(c, &def.code, Subject::Centre, &author, CommandAction::CentreSaved, Some(&note)).await?;
                c.map_opt(&format!("{CENTRE_SELECT} WHERE code = $1"), &args![def.code.as_str()], centre)
                    .await?
                    .ok_or_else(|| StoreError::backend("the centre vanished"))
            })
        });
        self.db.write(save).await
    }

    async fn command_targets(&self, centre_code: &str) -> StoreResult<Vec<TargetRecord>> {
        let code = centre_code.to_owned();
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(&format!("{TARGET_SELECT} WHERE centre_code = $1 ORDER BY id"), &args![code], target).await
                })
            }))
            .await
    }

    async fn command_target(&self, id: i64) -> StoreResult<Option<TargetRecord>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move { c.map_opt(&format!("{TARGET_SELECT} WHERE id = $1"), &args![id], target).await })
            }))
            .await
    }

    async fn create_command_target(
        &self,
        centre_code: &str,
        def: TargetDef,
        author: CommandAuthor,
    ) -> StoreResult<TargetRecord> {
        let code = centre_code.to_owned();
        let create = job(move |c| {
            Box::pin(async move {
                if c.scalar_opt::<String>("SELECT code FROM command_centres WHERE code = $1", &args![code.as_str()])
                    .await?
                    .is_none()
                {
                    return Err(centre_not_found(&code).into());
                }
                let (field, choice) = def.choice.clone().unzip();
                let id: i64 = c
                    .scalar(
                        "INSERT INTO command_targets (centre_code, name, ledger_type, stages, choice_field, choice_code,
                            town_id, goal, due_on, version, created_at, created_by, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $10) RETURNING id",
                        &args![
                            code.as_str(),
                            def.name.as_str(),
                            def.ledger_type.as_str(),
                            json_text(&def.stages)?,
                            field,
                            choice,
                            def.town_id,
                            i64::try_from(def.goal).unwrap_or(i64::MAX),
                            def.due_on.format("%Y-%m-%d").to_string(),
                            &author.at,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                let note = target_note(&def);
                event(c, &code, Subject::Target(id), &author, CommandAction::TargetSet, Some(&note)).await?;
                c.map_opt(&format!("{TARGET_SELECT} WHERE id = $1"), &args![id], target)
                    .await?
                    .ok_or_else(|| StoreError::backend("the target vanished"))
            })
        });
        self.db.write(create).await
    }

    async fn update_command_target(
        &self,
        id: i64,
        expected_version: i64,
        def: TargetDef,
        author: CommandAuthor,
    ) -> StoreResult<TargetRecord> {
        let update = job(move |c| {
            Box::pin(async move {
                let lock = c.dialect().lock_rows("command_targets");
                let sql = format!("{TARGET_SELECT} WHERE id = $1{lock}");
                let current = c.map_opt(&sql, &args![id], target).await?.ok_or_else(target_not_found)?;
                if current.version != expected_version {
                    return Err(target_changed(current.version).into());
                }
                let (field, choice) = def.choice.clone().unzip();
                c.execute(
                    "UPDATE command_targets SET name = $2, ledger_type = $3, stages = $4, choice_field = $5,
                        choice_code = $6, town_id = $7, goal = $8, due_on = $9, version = version + 1, updated_at = $10
                     WHERE id = $1",
                    &args![
                        id,
                        def.name.as_str(),
                        def.ledger_type.as_str(),
                        json_text(&def.stages)?,
                        field,
                        choice,
                        def.town_id,
                        i64::try_from(def.goal).unwrap_or(i64::MAX),
                        def.due_on.format("%Y-%m-%d").to_string(),
                        &author.at
                    ],
                )
                .await?;
                let note = format!(
                    "{}（原为：目标 {}，期限 {}）",
                    target_note(&def),
                    current.goal,
                    current.due_on.format("%Y-%m-%d")
                );
                event(c, &current.centre_code, Subject::Target(id), &author, CommandAction::TargetChanged, Some(&note))
                    .await?;
                c.map_opt(&format!("{TARGET_SELECT} WHERE id = $1"), &args![id], target)
                    .await?
                    .ok_or_else(|| StoreError::backend("the target vanished"))
            })
        });
        self.db.write(update).await
    }

    async fn create_command_task(
        &self,
        centre_code: &str,
        def: TaskDef,
        due_at: Instant,
        author: CommandAuthor,
    ) -> StoreResult<TaskRecord> {
        let code = centre_code.to_owned();
        let create = job(move |c| {
            Box::pin(async move {
                if c.scalar_opt::<String>("SELECT code FROM command_centres WHERE code = $1", &args![code.as_str()])
                    .await?
                    .is_none()
                {
                    return Err(centre_not_found(&code).into());
                }
                let id: i64 = c
                    .scalar(
                        "INSERT INTO command_tasks (centre_code, title, description, unit_id, working_days, due_at,
                            ledger_ref, state, created_at, created_by, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'assigned', $8, $9, $8) RETURNING id",
                        &args![
                            code.as_str(),
                            def.title.as_str(),
                            def.description.as_deref(),
                            def.unit_id,
                            i64::from(def.working_days),
                            &due_at,
                            def.ledger_ref.as_deref(),
                            &author.at,
                            author.name.as_str()
                        ],
                    )
                    .await?;
                let note = format!("{}个工作日，{}前完成", def.working_days, due_at.format("%Y-%m-%d %H:%M"));
                let event_id =
                    event(c, &code, Subject::Task(id), &author, CommandAction::TaskAssigned, Some(&note)).await?;
                let task = load_task(c, id, false).await?.ok_or_else(|| StoreError::backend("the task vanished"))?;
                notify_task(c, &task, event_id, NoticeEvent::TaskAssigned, &author).await?;
                Ok(task)
            })
        });
        self.db.write(create).await
    }

    async fn command_task(&self, id: i64) -> StoreResult<Option<TaskRecord>> {
        self.db.read(job(move |c| Box::pin(async move { load_task(c, id, false).await }))).await
    }

    async fn command_tasks(&self, filter: &TaskFilter) -> StoreResult<Vec<TaskRecord>> {
        let f = filter.clone();
        let list = job(move |c| {
            Box::pin(async move {
                let mut args = Args::default();
                let mut cond = vec!["TRUE".to_owned()];
                if let Some(code) = &f.centre_code {
                    cond.push(format!("centre_code = {}", args.push(code.as_str())));
                }
                if let Some(units) = &f.units {
                    if units.is_empty() {
                        return Ok(Vec::new());
                    }
                    cond.push(format!("unit_id IN ({})", args.list(units.iter().copied())));
                }
                if let Some(state) = f.state {
                    cond.push(format!("state = {}", args.push(state.as_str())));
                }
                if let Some(at) = &f.overdue_at {
                    cond.push(format!("state <> 'done' AND due_at < {}", args.push(at)));
                }
                let limit = args.push(f.limit.clamp(1, 10_000));
                let sql = format!("{TASK_SELECT} WHERE {} ORDER BY due_at, id LIMIT {limit}", cond.join(" AND "));
                c.map(&sql, args.values(), task).await
            })
        });
        self.db.read(list).await
    }

    async fn command_task_outcomes(&self, from: Instant, until: Instant) -> StoreResult<Vec<TaskOutcome>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = "SELECT unit_id, due_at, done_at FROM command_tasks
                     WHERE (due_at >= $1 AND due_at < $2) OR (done_at >= $1 AND done_at < $2)";
                c.map(sql, &args![from, until], |row| {
                    let mut c = row.cols();
                    Ok(TaskOutcome { unit: c.get()?, due_at: c.get()?, done_at: c.get()? })
                })
                .await
            })
        });
        self.db.read(read).await
    }

    async fn change_command_task(&self, id: i64, change: TaskChange, author: CommandAuthor) -> StoreResult<TaskRecord> {
        let save = job(move |c| {
            Box::pin(async move {
                let current = load_task(c, id, true).await?.ok_or_else(task_not_found)?;
                if current.state == TaskState::Done {
                    return Err(task_done().into());
                }
                let (action, note) = match &change {
                    TaskChange::Report(text) => {
                        c.execute(
                            "UPDATE command_tasks SET state = 'reported', report_count = report_count + 1,
                                updated_at = $2 WHERE id = $1",
                            &args![id, &author.at],
                        )
                        .await?;
                        (CommandAction::TaskReported, Some(text.clone()))
                    }
                    TaskChange::Done(note) => {
                        if current.state != TaskState::Reported {
                            return Err(task_not_reported().into());
                        }
                        c.execute(
                            "UPDATE command_tasks SET state = 'done', done_at = $2, updated_at = $2 WHERE id = $1",
                            &args![id, &author.at],
                        )
                        .await?;
                        (CommandAction::TaskDone, note.clone())
                    }
                    TaskChange::Urge(text) => {
                        c.execute(
                            "UPDATE command_tasks SET urge_count = urge_count + 1, updated_at = $2 WHERE id = $1",
                            &args![id, &author.at],
                        )
                        .await?;
                        (CommandAction::TaskUrged, Some(text.clone()))
                    }
                    TaskChange::Supervise(text) => {
                        c.execute(
                            "UPDATE command_tasks SET supervised_at = $2, supervision_note = $3, updated_at = $2
                             WHERE id = $1",
                            &args![id, &author.at, text.as_str()],
                        )
                        .await?;
                        (CommandAction::TaskSupervised, Some(text.clone()))
                    }
                };
                let event_id =
                    event(c, &current.centre_code, Subject::Task(id), &author, action, note.as_deref()).await?;
                let news = match action {
                    CommandAction::TaskUrged => Some(NoticeEvent::TaskUrged),
                    CommandAction::TaskSupervised => Some(NoticeEvent::TaskSupervised),
                    _ => None,
                };
                let task = load_task(c, id, false).await?.ok_or_else(|| StoreError::backend("the task vanished"))?;
                if let Some(news) = news {
                    notify_task(c, &task, event_id, news, &author).await?;
                }
                Ok(task)
            })
        });
        self.db.write(save).await
    }

    async fn command_task_events(&self, task_id: i64) -> StoreResult<Vec<CommandEvent>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(&format!("{EVENT_SELECT} WHERE task_id = $1 ORDER BY id"), &args![task_id], command_event)
                        .await
                })
            }))
            .await
    }

    async fn command_centre_events(&self, centre_code: &str, limit: u32) -> StoreResult<Vec<CommandEvent>> {
        let code = centre_code.to_owned();
        let limit = i64::from(limit.clamp(1, 1000));
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(
                        &format!("{EVENT_SELECT} WHERE centre_code = $1 AND task_id IS NULL ORDER BY id DESC LIMIT $2"),
                        &args![code, limit],
                        command_event,
                    )
                    .await
                })
            }))
            .await
    }

    async fn ledger_arrivals(&self, type_code: &str, since: Instant, limit: u32) -> StoreResult<Vec<LedgerArrival>> {
        let code = type_code.to_owned();
        let limit = i64::from(limit.clamp(1, 1_000_000));
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT e.at, e.from_stage, e.to_stage, i.town_id, i.item_values
                     FROM ledger_item_events e JOIN ledger_items i ON i.id = e.item_id
                     WHERE e.action = 'moved' AND e.at >= $2 AND i.type_code = $1 AND e.to_stage IS NOT NULL
                     ORDER BY e.at, e.id LIMIT $3",
                    &args![code, &since, limit],
                    |row| {
                        let mut c = row.cols();
                        Ok(LedgerArrival {
                            at: c.get()?,
                            from_stage: c.get()?,
                            to_stage: c.get()?,
                            town_id: c.get()?,
                            values: c.get()?,
                        })
                    },
                )
                .await
            })
        });
        self.db.read(read).await
    }
}

fn target_note(def: &TargetDef) -> String {
    format!("{}：目标 {}，期限 {}", def.name, def.goal, def.due_on.format("%Y-%m-%d"))
}

/// What a history entry of a centre is about, besides the centre.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    Centre,
    Target(i64),
    Task(i64),
    Form(i64),
    Pledge(i64),
}

/// Writes a history entry of a centre, a target, a task, a report form or a pledge.
pub(crate) async fn event(
    c: &dyn Conn,
    centre_code: &str,
    subject: Subject,
    author: &CommandAuthor,
    action: CommandAction,
    note: Option<&str>,
) -> StoreResult<i64> {
    let (mut target, mut task, mut form, mut pledge) = (None, None, None, None);
    // The subject's row is locked before its entry is inserted, so the subject's chain of seals
    // has one writer at a time and row ids follow the order of the seals.
    let (history, chain_id) = match subject {
        Subject::Centre => {
            let lock = c.dialect().lock_rows("command_centres");
            let id: i64 = c
                .scalar_opt(&format!("SELECT id FROM command_centres WHERE code = $1{lock}"), &args![centre_code])
                .await?
                .ok_or_else(|| centre_not_found(centre_code))?;
            (&crate::audit::COMMAND_CENTRES, id)
        }
        Subject::Target(id) => (&crate::audit::COMMAND_TARGETS, *target.insert(id)),
        Subject::Task(id) => (&crate::audit::COMMAND_TASKS, *task.insert(id)),
        Subject::Form(id) => (&crate::audit::COMMAND_FORMS, *form.insert(id)),
        Subject::Pledge(id) => (&crate::audit::COMMAND_PLEDGES, *pledge.insert(id)),
    };
    if !matches!(subject, Subject::Centre) {
        history.lock(c, chain_id).await?;
    }
    let id: i64 = c
        .scalar(
            "INSERT INTO command_events (centre_code, target_id, task_id, form_id, pledge_id, at, by_user_id, by_name,
            action, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &args![
                centre_code,
                target,
                task,
                form,
                pledge,
                &author.at,
                author.user_id,
                author.name.as_str(),
                action.as_str(),
                note
            ],
        )
        .await?;
    history.seal(c, chain_id, id).await?;
    Ok(id)
}

/// Puts a task's news in the inbox of its unit's handlers and leaders (指挥部任务), in the
/// transaction of its history entry and keyed by it, so it is written once.
async fn notify_task(
    c: &dyn Conn,
    task: &TaskRecord,
    event_id: i64,
    news: NoticeEvent,
    author: &CommandAuthor,
) -> StoreResult<()> {
    let notice = Notice {
        event: news,
        key: format!("command-event-{event_id}"),
        title: task.title.clone(),
        link: format!("/command/tasks/{}", task.id),
        units: vec![task.unit_id],
    };
    crate::inbox::notify(c, &notice, author.user_id, &author.at).await.map(drop)
}

const CENTRE_SELECT: &str = "SELECT code, name, description, commanders, office_unit_code, member_units, towns,
        ledger_types, version, updated_at, updated_by
     FROM command_centres";

fn centre(row: Row) -> StoreResult<CentreRecord> {
    let mut c = row.cols();
    Ok(CentreRecord {
        code: c.get()?,
        name: c.get()?,
        description: c.get()?,
        commanders: c.json()?,
        office_unit_code: c.get()?,
        member_units: c.json()?,
        towns: c.json()?,
        ledger_types: c.json()?,
        version: c.get()?,
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

const TARGET_SELECT: &str = "SELECT id, centre_code, name, ledger_type, stages, choice_field, choice_code, town_id,
        goal, due_on, version, created_at, created_by, updated_at
     FROM command_targets";

fn target(row: Row) -> StoreResult<TargetRecord> {
    let mut c = row.cols();
    let (id, centre_code, name, ledger_type) = (c.get()?, c.get()?, c.get()?, c.get()?);
    let stages = c.json()?;
    let field: Option<String> = c.get()?;
    let choice: Option<String> = c.get()?;
    let town_id = c.get()?;
    let goal = c.get()?;
    let due: String = c.get()?;
    let due_on = NaiveDate::parse_from_str(&due, "%Y-%m-%d").map_err(|_| bad("due date", &due))?;
    Ok(TargetRecord {
        id,
        centre_code,
        name,
        ledger_type,
        stages,
        choice: field.zip(choice),
        town_id,
        goal,
        due_on,
        version: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        updated_at: c.get()?,
    })
}

const TASK_SELECT: &str = "SELECT id, centre_code, title, description, unit_id, working_days, due_at, ledger_ref,
        state, report_count, urge_count, supervised_at, supervision_note, done_at, created_at, created_by, updated_at
     FROM command_tasks";

fn task(row: Row) -> StoreResult<TaskRecord> {
    let mut c = row.cols();
    Ok(TaskRecord {
        id: c.get()?,
        centre_code: c.get()?,
        title: c.get()?,
        description: c.get()?,
        unit_id: c.get()?,
        working_days: c.get()?,
        due_at: c.get()?,
        ledger_ref: c.get()?,
        state: c.code(TaskState::parse)?,
        report_count: c.get()?,
        urge_count: c.get()?,
        supervised_at: c.get()?,
        supervision_note: c.get()?,
        done_at: c.get()?,
        created_at: c.get()?,
        created_by: c.get()?,
        updated_at: c.get()?,
    })
}

async fn load_task(c: &dyn Conn, id: i64, lock: bool) -> StoreResult<Option<TaskRecord>> {
    let lock = if lock { c.dialect().lock_rows("command_tasks") } else { String::new() };
    c.map_opt(&format!("{TASK_SELECT} WHERE id = $1{lock}"), &args![id], task).await
}

pub(crate) const EVENT_SELECT: &str = "SELECT id, centre_code, target_id, task_id, form_id, pledge_id, at, by_user_id,
        by_name, action, note
     FROM command_events";

pub(crate) fn command_event(row: Row) -> StoreResult<CommandEvent> {
    let mut c = row.cols();
    Ok(CommandEvent {
        id: c.get()?,
        centre_code: c.get()?,
        target_id: c.get()?,
        task_id: c.get()?,
        form_id: c.get()?,
        pledge_id: c.get()?,
        at: c.get()?,
        by_user_id: c.get()?,
        by_name: c.get()?,
        action: c.code(CommandAction::parse)?,
        note: c.get()?,
    })
}

/// The ten values of a centre's row, in the order of the INSERT and the UPDATE ($1–$10).
fn centre_values(def: &CentreDef, author: &CommandAuthor) -> StoreResult<[Value; 10]> {
    Ok(args![
        def.code.as_str(),
        def.name.as_str(),
        def.description.as_deref(),
        json_text(&def.commanders)?,
        def.office_unit_code.as_str(),
        json_text(&def.member_units)?,
        json_text(&def.towns)?,
        json_text(&def.ledger_types)?,
        &author.at,
        author.name.as_str()
    ])
}
