//! Documents (附件), written once for both databases (cases, inspections,
//! compensation matters, fund applications, direct-line items, on-site requests, visits). Adding or withdrawing
//! locks the owner's row (so the count per owner holds under concurrency),
//! writes the document and the owner's history entry in one job.

use mashangban_domain::document::{DocumentType, OwnerKind, already_withdrawn, too_many, unknown_document};
use mashangban_domain::ledger::FieldValue;
use mashangban_domain::time::Instant;
use mashangban_domain::visit::VisitState;
use mashangban_store::{
    DocumentActor, DocumentOwner, DocumentRecord, DocumentStore, EnforcementActor, FundActor, LedgerAction,
    LedgerAuthor, LedgerFill, LedgerItem, MatterEvent, OnsiteEvent, PurposedFile, StoreError, StoreResult,
};

use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

/// The history entry kinds written for documents.
const ADDED: &str = "document_added";
const WITHDRAWN: &str = "document_withdrawn";

impl<D: Database> DocumentStore for SqlStore<D> {
    async fn add_documents(
        &self,
        owner: DocumentOwner,
        purpose: Option<String>,
        files: Vec<mashangban_domain::document::DocumentFile>,
        max_per_owner: u32,
        by: DocumentActor,
        at: Instant,
    ) -> StoreResult<Vec<DocumentRecord>> {
        let add = job(move |c| {
            Box::pin(async move {
                insert_documents(c, owner, purpose.as_deref(), files, max_per_owner, &by, &at, true).await
            })
        });
        self.db.write(add).await
    }

    async fn add_ledger_documents(
        &self,
        owner: DocumentOwner,
        files: Vec<PurposedFile>,
        max_per_owner: u32,
        by: DocumentActor,
        fill: LedgerFill,
        author: LedgerAuthor,
    ) -> StoreResult<(Vec<DocumentRecord>, LedgerItem)> {
        let add = job(move |c| {
            Box::pin(async move {
                let at = author.at;
                let mut added = Vec::with_capacity(files.len());
                for PurposedFile { purpose, file } in files {
                    // One file per call: each has its own purpose; the count per owner includes
                    // the ones just inserted.
                    let doc =
                        insert_documents(c, owner, purpose.as_deref(), vec![file], max_per_owner, &by, &at, false)
                            .await?
                            .pop()
                            .ok_or_else(|| StoreError::backend("no document added"))?;
                    added.push(doc);
                }
                let item = crate::ledgers::load_item_by_id(c, owner.id, true).await?.ok_or_else(unknown_document)?;
                let mut write = fill(&item, &added)?;
                let notes: Vec<String> =
                    added.iter().map(|d| entry_note(&d.file_name, d.purpose.as_deref(), None)).collect();
                write.note = Some(notes.join("；"));
                let written = crate::ledgers::write_items(c, vec![write], &author).await?;
                let item = written.into_iter().next().ok_or_else(|| StoreError::backend("no item written"))?;
                Ok((added, item))
            })
        });
        self.db.write(add).await
    }

    async fn documents(&self, owner: DocumentOwner) -> StoreResult<Vec<DocumentRecord>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.map(
                        &format!("{SELECT} WHERE owner_kind = $1 AND owner_id = $2 ORDER BY id"),
                        &args![owner.kind.as_str(), owner.id],
                        row,
                    )
                    .await
                })
            }))
            .await
    }

    async fn documents_of_owners(&self, kind: OwnerKind, owner_ids: Vec<i64>) -> StoreResult<Vec<DocumentRecord>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    let mut found = Vec::new();
                    for chunk in owner_ids.chunks(500) {
                        let mut args = crate::sql::Args::default();
                        let k = args.push(kind.as_str());
                        let list = args.list(chunk.iter().copied());
                        let sql =
                            format!("{SELECT} WHERE owner_kind = {k} AND owner_id IN ({list}) ORDER BY owner_id, id");
                        found.extend(c.map(&sql, args.values(), row).await?);
                    }
                    Ok(found)
                })
            }))
            .await
    }

    async fn document(&self, id: i64) -> StoreResult<Option<DocumentRecord>> {
        self.db.read(job(move |c| Box::pin(async move { load(c, id).await }))).await
    }

    async fn document_content(&self, id: i64) -> StoreResult<Option<Vec<u8>>> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    c.scalar_opt::<Vec<u8>>("SELECT content FROM documents WHERE id = $1", &args![id]).await
                })
            }))
            .await
    }

    async fn withdraw_document(
        &self,
        id: i64,
        reason: String,
        by: DocumentActor,
        at: Instant,
    ) -> StoreResult<DocumentRecord> {
        let withdraw = job(move |c| {
            Box::pin(async move {
                let found = load(c, id).await?.ok_or_else(unknown_document)?;
                lock_owner(c, found.owner).await?;
                if found.owner.kind == OwnerKind::LedgerItem && found.withdrawn_at.is_none() {
                    refuse_file_in_use(c, found.owner.id, id).await?;
                }
                let changed = c
                    .execute(
                        "UPDATE documents SET withdrawn_at = $2, withdrawn_by = $3, withdrawn_by_user = $4,
                            withdrawn_reason = $5
                         WHERE id = $1 AND withdrawn_at IS NULL",
                        &args![id, &at, by.name.as_str(), by.user_id, reason.as_str()],
                    )
                    .await?;
                if changed == 0 {
                    return Err(already_withdrawn().into());
                }
                let note = entry_note(&found.file_name, found.purpose.as_deref(), Some(&reason));
                owner_history(c, found.owner, WITHDRAWN, &note, &by, &at).await?;
                load(c, id).await?.ok_or_else(|| StoreError::backend("the document vanished"))
            })
        });
        self.db.write(withdraw).await
    }
}

/// The owner's table.
fn owner_table(kind: OwnerKind) -> &'static str {
    match kind {
        OwnerKind::FundApplication => "fund_applications",
        OwnerKind::EnforcementCase => "enforcement_cases",
        OwnerKind::Inspection => "inspections",
        OwnerKind::CompensationMatter => "compensation_matters",
        OwnerKind::DirectLineItem => "direct_line_items",
        OwnerKind::OnsiteRequest => "onsite_requests",
        OwnerKind::Visit => "visits",
        OwnerKind::LedgerItem => "ledger_items",
    }
}

/// Inserts `files` for `owner` (its row locked, the count per owner checked), each with an entry in
/// the owner's history when `history`.
#[allow(clippy::too_many_arguments)]
async fn insert_documents(
    c: &dyn Conn,
    owner: DocumentOwner,
    purpose: Option<&str>,
    files: Vec<mashangban_domain::document::DocumentFile>,
    max_per_owner: u32,
    by: &DocumentActor,
    at: &Instant,
    history: bool,
) -> StoreResult<Vec<DocumentRecord>> {
    lock_owner(c, owner).await?;
    let kept: i64 = c
        .scalar(
            "SELECT COUNT(*) FROM documents
             WHERE owner_kind = $1 AND owner_id = $2 AND withdrawn_at IS NULL",
            &args![owner.kind.as_str(), owner.id],
        )
        .await?;
    let count = i64::try_from(files.len()).unwrap_or(i64::MAX);
    if kept.saturating_add(count) > i64::from(max_per_owner) {
        return Err(too_many().into());
    }
    let mut added = Vec::with_capacity(files.len());
    for file in files {
        let size = i64::try_from(file.content.len()).unwrap_or(i64::MAX);
        let id: i64 = c
            .scalar(
                "INSERT INTO documents (owner_kind, owner_id, purpose, file_name, content_type, byte_size,
                    sha256, content, uploaded_at, uploaded_by, uploaded_by_user)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                &args![
                    owner.kind.as_str(),
                    owner.id,
                    purpose,
                    file.file_name.as_str(),
                    file.content_type.as_str(),
                    size,
                    file.sha256.as_str(),
                    file.content,
                    at,
                    by.name.as_str(),
                    by.user_id
                ],
            )
            .await?;
        if history {
            let note = entry_note(&file.file_name, purpose, None);
            owner_history(c, owner, ADDED, &note, by, at).await?;
        }
        added.push(load(c, id).await?.ok_or_else(|| StoreError::backend("the document vanished"))?);
    }
    Ok(added)
}

/// `409 ledger_file_in_use` when a file field of the ledger item names the document.
async fn refuse_file_in_use(c: &dyn Conn, item_id: i64, document_id: i64) -> StoreResult<()> {
    let item = crate::ledgers::load_item_by_id(c, item_id, false).await?.ok_or_else(unknown_document)?;
    let reference = document_id.to_string();
    let Some(field) =
        item.values.iter().find(|(_, v)| matches!(v, FieldValue::File(r) if *r == reference)).map(|(f, _)| f.clone())
    else {
        return Ok(());
    };
    let label = match crate::ledgers::load_type_definition(c, &item.type_code).await? {
        Some(ty) => ty.field(&field).map_or(field.clone(), |f| f.label.clone()),
        None => field,
    };
    Err(mashangban_domain::ledger::file_in_use(&label).into())
}

/// Locks the owner's row until the job ends (PostgreSQL; SQLite has one writer);
/// `404 unknown_document` when there is no such owner. A cancelled visit's record is closed
/// (`409 visit_cancelled`): read under the lock, so a cancellation and an upload or withdrawal
/// cannot pass each other between the module's check and the write.
async fn lock_owner(c: &dyn Conn, owner: DocumentOwner) -> StoreResult<()> {
    let lock = c.dialect().lock_rows("o");
    let sql = format!("SELECT o.id FROM {} o WHERE o.id = $1{lock}", owner_table(owner.kind));
    c.scalar_opt::<i64>(&sql, &args![owner.id]).await?.ok_or_else(unknown_document)?;
    if owner.kind == OwnerKind::Visit {
        let state: String = c.scalar("SELECT state FROM visits WHERE id = $1", &args![owner.id]).await?;
        if state == VisitState::Cancelled.as_str() {
            return Err(mashangban_domain::visit::visit_cancelled().into());
        }
    }
    Ok(())
}

/// `上传附件《name》（purpose）`, or `撤回附件《name》（purpose）：reason`, for the owner's history.
fn entry_note(file_name: &str, purpose: Option<&str>, reason: Option<&str>) -> String {
    let verb = if reason.is_some() { "撤回附件" } else { "上传附件" };
    let mut note = format!("{verb}《{file_name}》");
    if let Some(p) = purpose {
        note.push_str(&format!("（{p}）"));
    }
    if let Some(r) = reason {
        note.push_str(&format!("：{r}"));
    }
    note
}

/// Appends `kind` to the owner's history, at the owner's current stage or state; inspections
/// have no history.
async fn owner_history(
    c: &dyn Conn,
    owner: DocumentOwner,
    kind: &'static str,
    note: &str,
    by: &DocumentActor,
    at: &Instant,
) -> StoreResult<()> {
    match owner.kind {
        OwnerKind::EnforcementCase => {
            let case = crate::enforcement::load_case(c, owner.id, false).await?.ok_or_else(unknown_document)?;
            let by = EnforcementActor { user_id: by.user_id, name: by.name.clone() };
            crate::enforcement::case_event(c, owner.id, kind, None, case.stage, None, at, &by, Some(note)).await
        }
        OwnerKind::CompensationMatter => {
            let record = crate::compensation::load_matter(c, owner.id).await?.ok_or_else(unknown_document)?;
            let by = EnforcementActor { user_id: by.user_id, name: by.name.clone() };
            let event = MatterEvent { kind: kind.into(), note: Some(note.into()), amount_fen: None, detail: None };
            crate::compensation::history(c, owner.id, &event, record.matter.stage, at, &by).await
        }
        OwnerKind::FundApplication => {
            let found = crate::fund::lock_application(c, owner.id).await?;
            let by = FundActor { user_id: by.user_id, name: by.name.clone() };
            let entry = crate::fund::EventEntry { kind, from: None, to: found.state, award_fen: found.award_fen };
            crate::fund::append_event(c, owner.id, &entry, Some(note), at, &by).await
        }
        OwnerKind::DirectLineItem => crate::direct_line::event(c, owner.id, at, &by.name, kind, Some(note)).await,
        OwnerKind::OnsiteRequest => {
            let found = crate::onsite::load_onsite(c, owner.id).await?.ok_or_else(unknown_document)?;
            let by = EnforcementActor { user_id: by.user_id, name: by.name.clone() };
            let event = OnsiteEvent { kind: kind.into(), note: Some(note.into()) };
            crate::onsite::history(c, owner.id, &event, found.onsite.stage, at, &by).await
        }
        OwnerKind::Visit => crate::visits::event(c, owner.id, at, &by.name, kind, Some(note)).await,
        OwnerKind::LedgerItem => {
            // At the item's version: adding or withdrawing a document changes no cell.
            let item = crate::ledgers::load_item_by_id(c, owner.id, false).await?.ok_or_else(unknown_document)?;
            let action = if kind == ADDED { LedgerAction::DocumentAdded } else { LedgerAction::DocumentWithdrawn };
            let author = LedgerAuthor {
                user_id: by.user_id,
                name: by.name.clone(),
                role: String::new(),
                ledger_roles: String::new(),
                at: *at,
            };
            crate::ledgers::record_event(c, &item, action, None, None, &[], Some(note.to_owned()), &author).await
        }
        OwnerKind::Inspection => Ok(()),
    }
}

const SELECT: &str = "SELECT id, owner_kind, owner_id, purpose, file_name, content_type, byte_size, sha256,
        uploaded_at, uploaded_by, uploaded_by_user, withdrawn_at, withdrawn_by, withdrawn_reason
     FROM documents";

async fn load(c: &dyn Conn, id: i64) -> StoreResult<Option<DocumentRecord>> {
    c.map_opt(&format!("{SELECT} WHERE id = $1"), &args![id], row).await
}

fn row(row: Row) -> StoreResult<DocumentRecord> {
    let mut c = row.cols();
    Ok(DocumentRecord {
        id: c.get()?,
        owner: DocumentOwner { kind: c.code(OwnerKind::parse)?, id: c.get()? },
        purpose: c.get()?,
        file_name: c.get()?,
        content_type: c.code(DocumentType::parse)?,
        byte_size: c.get()?,
        sha256: c.get()?,
        uploaded_at: c.get()?,
        uploaded_by: c.get()?,
        uploaded_by_user: c.get()?,
        withdrawn_at: c.get()?,
        withdrawn_by: c.get()?,
        withdrawn_reason: c.get()?,
    })
}
