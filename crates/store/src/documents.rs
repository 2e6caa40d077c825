//! Documents (附件) of cases, inspections, compensation matters and fund
//! applications: append-only rows with their content; a withdrawal sets who,
//! when and why instead of deleting. Adding or withdrawing a document writes
//! the owner's history entry (when the owner has a history) in the same job.

use std::future::Future;

use mashangban_domain::document::{DocumentFile, DocumentType, OwnerKind};
use mashangban_domain::org::UserId;
use mashangban_domain::time::Instant;

use crate::StoreResult;
use crate::ledgers::{LedgerAuthor, LedgerItem, LedgerWrite};

/// How an upload fills a ledger item's file fields in its transaction: given the item as locked and
/// the documents just stored (in the order given), the write that sets the fields and whatever
/// else the edit changes (refused: nothing is written, the documents neither).
pub type LedgerFill =
    Box<dyn FnOnce(&LedgerItem, &[DocumentRecord]) -> Result<LedgerWrite, mashangban_domain::DomainError> + Send>;

/// A file for a ledger item with what it is for (用途).
#[derive(Debug, Clone)]
pub struct PurposedFile {
    pub purpose: Option<String>,
    pub file: DocumentFile,
}

/// What a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocumentOwner {
    pub kind: OwnerKind,
    pub id: i64,
}

/// Who uploads or withdraws, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentActor {
    pub user_id: Option<UserId>,
    /// `name（role）`.
    pub name: String,
}

/// A document as stored, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: i64,
    pub owner: DocumentOwner,
    /// What it is for (用途), e.g. 鉴定评估报告 or a material's name.
    pub purpose: Option<String>,
    pub file_name: String,
    pub content_type: DocumentType,
    pub byte_size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_at: Instant,
    pub uploaded_by: String,
    pub uploaded_by_user: Option<UserId>,
    pub withdrawn_at: Option<Instant>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_reason: Option<String>,
}

pub trait DocumentStore {
    /// Adds `files` to `owner` in one job, each with `purpose`, with an entry per file in the
    /// owner's history. More than `max_per_owner` documents not withdrawn afterwards is
    /// `422 too_many_documents` and nothing is written; an owner that is not there is
    /// `404 unknown_document`.
    fn add_documents(
        &self,
        owner: DocumentOwner,
        purpose: Option<String>,
        files: Vec<DocumentFile>,
        max_per_owner: u32,
        by: DocumentActor,
        at: Instant,
    ) -> impl Future<Output = StoreResult<Vec<DocumentRecord>>> + Send;
    /// Adds files to a ledger item (`owner`) and, in the same job, writes the item as `fill`
    /// makes it from the item and the stored documents (the fields set to the documents, and any
    /// other change of the edit), with one entry in the item's history carrying the cells' before
    /// and after and a note naming each file. Bounds as [`Self::add_documents`]; a refused write
    /// (`409 ledger_item_changed`, a bad value) stores none of the files.
    fn add_ledger_documents(
        &self,
        owner: DocumentOwner,
        files: Vec<PurposedFile>,
        max_per_owner: u32,
        by: DocumentActor,
        fill: LedgerFill,
        author: LedgerAuthor,
    ) -> impl Future<Output = StoreResult<(Vec<DocumentRecord>, LedgerItem)>> + Send;
    /// The documents of `owner` in upload order, the withdrawn ones too.
    fn documents(&self, owner: DocumentOwner) -> impl Future<Output = StoreResult<Vec<DocumentRecord>>> + Send;
    /// The documents of these owners of one kind (withdrawn ones too), by owner then upload order.
    fn documents_of_owners(
        &self,
        kind: OwnerKind,
        owner_ids: Vec<i64>,
    ) -> impl Future<Output = StoreResult<Vec<DocumentRecord>>> + Send;
    fn document(&self, id: i64) -> impl Future<Output = StoreResult<Option<DocumentRecord>>> + Send;
    fn document_content(&self, id: i64) -> impl Future<Output = StoreResult<Option<Vec<u8>>>> + Send;
    /// Withdraws a document, with an entry in its owner's history: `409 document_withdrawn` when
    /// it was already, `404 unknown_document` when it is not there, `409 ledger_file_in_use` when
    /// a ledger item's file field names it.
    fn withdraw_document(
        &self,
        id: i64,
        reason: String,
        by: DocumentActor,
        at: Instant,
    ) -> impl Future<Output = StoreResult<DocumentRecord>> + Send;
}
