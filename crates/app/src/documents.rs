//! Documents (附件) of fund applications, enforcement cases, inspections and
//! compensation matters: `app.documents()`. Who may read and who may add is
//! the owning module's: each owner kind delegates to that module's permission
//! and data scope (a town's handler reads only their unit's cases, an
//! enterprise only its own applications). A document the caller may not read
//! is `404 unknown_document`, as if it were not there.
//!
//! - fund application: read by whoever reads the application; added and
//!   withdrawn by the applicant side (`fund.apply`: the enterprise's account,
//!   its liaison cadre), each document labelled with one of the
//!   application's materials;
//! - enforcement case and inspection: read with `enforcement.read` in the
//!   caller's scope; added and withdrawn with `enforcement.handle` by the
//!   case's (inspection's) unit;
//! - compensation matter: as its case; the purpose names the paper
//!   (鉴定评估报告, 磋商纪要, 赔偿协议, 修复效果评估报告, …);
//! - direct-line item (scans of letters): read with `direct_line.read` in the
//!   item scope; added and withdrawn by the leaders' office
//!   (`direct_line.handle`);
//! - on-site service request (photos and documents of the session): read by
//!   whoever reads the request; added and withdrawn by the centre's staff
//!   (`onsite.handle`, their centres) and the asking enterprise
//!   (`onsite.request`, its own requests);
//! - visit (photos and papers of a visit or walking-office session): read by
//!   whoever reads the visit (`visits.read` in the enterprise scope); added and
//!   withdrawn by those who plan and record visits (`visits.record`) in that
//!   scope, while the visit is not cancelled: a cancelled visit's record is
//!   closed, neither added to nor withdrawn from (`409 visit_cancelled`);
//! - ledger item (the files its file fields name, e.g. 销号验收材料): read by
//!   whoever sees the item in their ledger scope; added and withdrawn by those
//!   who may edit it (`403 not_ledger_editor` for the others). Uploading for a
//!   file field is `app.ledgers().add_file()`, which sets the field too.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::document::{
    self as domain, DocumentFile, DocumentType, MAX_PER_OWNER, OwnerKind, size_text, unknown_document,
};
use mashangban_domain::time::format_instant;
use mashangban_domain::visit::VisitState;
use mashangban_store::{DocumentActor, DocumentOwner, DocumentRecord, Store};

use crate::enforcement::{acts_for, forbidden, in_scope};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::requests::NewFile;
use crate::{App, Caller};

/// The purposes offered for a compensation matter's documents.
pub const COMPENSATION_PURPOSES: &[&str] = &["鉴定评估报告", "磋商纪要", "赔偿协议扫描件", "修复效果评估报告", "其他"];

/// The purposes offered for a visit's documents (走访照片 and papers).
pub const VISIT_PURPOSES: &[&str] = &["现场照片", "签到表", "走访纪要", "其他"];

/// The documents service: `app.documents()`.
pub struct Documents<'a, S> {
    app: &'a App<S>,
}

/// A document as listed (without its content).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DocumentView {
    pub id: i64,
    /// `fund_application`, `enforcement_case`, `inspection`, `compensation_matter`, `direct_line_item`,
    /// `onsite_request`, `visit` or `ledger_item`.
    pub owner_kind: OwnerKind,
    pub owner_id: i64,
    /// What it is for (用途), e.g. a material's name or 鉴定评估报告.
    pub purpose: Option<String>,
    pub file_name: String,
    /// The type sniffed from the bytes.
    pub content_type: String,
    pub type_label: String,
    pub byte_size: i64,
    /// The size for people, e.g. `1.2 MB`.
    pub size_text: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub withdrawn: bool,
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_reason: Option<String>,
    /// Where to download it.
    pub href: String,
}

/// Withdraws a document (撤回): it leaves the lists, its owner's history keeps it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    pub reason: String,
}

/// A document's content, to send as a download.
pub struct DocumentContent {
    pub id: i64,
    pub file_name: String,
    pub content_type: DocumentType,
    pub bytes: Vec<u8>,
}

/// What the caller may do with an owner's documents (for pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentRights {
    pub add: bool,
}

/// An owner as the caller reads it, with whether they may add.
struct Checked {
    add: AppResult<()>,
    /// The fund application's material names, which purposes must be one of.
    materials: Option<Vec<String>>,
}

impl<'a, S: Store> Documents<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Adds the files to an owner the caller may add to, each labelled with `purpose`.
    pub async fn add(
        &self,
        caller: &Caller,
        owner: DocumentOwner,
        purpose: Option<&str>,
        files: Vec<NewFile>,
    ) -> AppResult<Vec<DocumentView>> {
        let checked = self.check(caller, owner).await?;
        checked.add?;
        if files.is_empty() {
            return Err(AppError::invalid("no_file", "请选择要上传的文件"));
        }
        if files.len() > MAX_PER_OWNER as usize {
            return Err(domain::too_many().into());
        }
        let purpose = domain::purpose(purpose)?;
        if let (Some(names), Some(p)) = (&checked.materials, &purpose)
            && !names.contains(p)
        {
            return Err(AppError::invalid("unknown_material", format!("申报材料清单中没有「{p}」")));
        }
        let files =
            files.into_iter().map(|f| DocumentFile::new(f.name.as_deref(), f.bytes)).collect::<Result<Vec<_>, _>>()?;
        let added =
            self.app.store().add_documents(owner, purpose, files, MAX_PER_OWNER, actor(caller), self.app.now()).await?;
        Ok(added.iter().map(view).collect())
    }

    /// The documents of an owner the caller reads, not withdrawn, in upload order.
    pub async fn list(&self, caller: &Caller, owner: DocumentOwner) -> AppResult<Vec<DocumentView>> {
        self.check(caller, owner).await?;
        self.of(owner).await
    }

    /// The documents of an owner the caller reads, with whether they may add (for pages).
    pub async fn for_page(
        &self,
        caller: &Caller,
        owner: DocumentOwner,
    ) -> AppResult<(Vec<DocumentView>, DocumentRights)> {
        let checked = self.check(caller, owner).await?;
        Ok((self.of(owner).await?, DocumentRights { add: checked.add.is_ok() }))
    }

    /// The documents of an owner not withdrawn, for a module that has checked the caller reads it.
    pub(crate) async fn of(&self, owner: DocumentOwner) -> AppResult<Vec<DocumentView>> {
        let all = self.app.store().documents(owner).await?;
        Ok(all.iter().filter(|d| d.withdrawn_at.is_none()).map(view).collect())
    }

    /// A document's content, when the caller reads its owner (withdrawn ones too: the history names them).
    pub async fn download(&self, caller: &Caller, id: i64) -> AppResult<DocumentContent> {
        let found = self.readable(caller, id).await?.0;
        let bytes = self.app.store().document_content(id).await?.ok_or_else(unknown_document)?;
        Ok(DocumentContent { id, file_name: found.file_name, content_type: found.content_type, bytes })
    }

    /// Withdraws a document: for those who may add to its owner, with a reason.
    pub async fn withdraw(&self, caller: &Caller, id: i64, body: WithdrawBody) -> AppResult<DocumentView> {
        self.readable(caller, id).await?.1.add?;
        let reason = domain::withdraw_reason(&body.reason)?;
        let done = self.app.store().withdraw_document(id, reason, actor(caller), self.app.now()).await?;
        Ok(view(&done))
    }

    /// The document's owner, where the caller reads it (and its record).
    async fn readable(&self, caller: &Caller, id: i64) -> AppResult<(DocumentRecord, Checked)> {
        let found = self.app.store().document(id).await?.ok_or_else(unknown_document)?;
        let checked = self
            .check(caller, found.owner)
            .await
            .map_err(|e| if e.kind == ErrorKind::NotFound { AppError::from(unknown_document()) } else { e })?;
        Ok((found, checked))
    }

    /// Whether the caller reads the owner (else the owning module's `404`), and whether they may add.
    async fn check(&self, caller: &Caller, owner: DocumentOwner) -> AppResult<Checked> {
        let case_unit = || forbidden("not_case_unit", "只有承办单位才能上传或撤回附件");
        let enforcement = |unit_id: i64| -> AppResult<()> {
            if caller.may(Permission::HandleEnforcement) && acts_for(&caller.actor, unit_id) {
                Ok(())
            } else {
                Err(case_unit())
            }
        };
        let reads_enforcement = caller.may(Permission::ReadEnforcement);
        match owner.kind {
            OwnerKind::FundApplication => {
                let found = self.app.fund().in_scope(caller, owner.id).await?;
                let add = if caller.may(Permission::ApplyFund) {
                    Ok(())
                } else {
                    Err(forbidden("not_applicant", "只有申报企业或其联络干部才能上传或撤回申报材料"))
                };
                Ok(Checked { add, materials: Some(found.materials.into_iter().map(|m| m.name).collect()) })
            }
            OwnerKind::EnforcementCase => {
                if !reads_enforcement {
                    return Err(mashangban_domain::enforcement::case_not_found().into());
                }
                let case = self.app.enforcement().scoped_case(caller, owner.id).await?;
                Ok(Checked { add: enforcement(case.unit_id), materials: None })
            }
            OwnerKind::Inspection => {
                let found = self.app.store().inspection(owner.id).await?;
                let found = found
                    .filter(|i| reads_enforcement && in_scope(&caller.actor, i.unit_id))
                    .ok_or_else(mashangban_domain::enforcement::inspection_not_found)?;
                Ok(Checked { add: enforcement(found.unit_id), materials: None })
            }
            OwnerKind::CompensationMatter => {
                if !reads_enforcement {
                    return Err(mashangban_domain::compensation::matter_not_found().into());
                }
                let matter = self.app.compensation().scoped(caller, owner.id).await?;
                Ok(Checked { add: enforcement(matter.unit_id), materials: None })
            }
            OwnerKind::DirectLineItem => {
                if !caller.may(Permission::ReadDirectLine) {
                    return Err(mashangban_domain::direct_line::item_not_found().into());
                }
                self.app.direct_line().get(caller, owner.id).await?;
                let add = if caller.may(Permission::HandleDirectLine) {
                    Ok(())
                } else {
                    Err(forbidden("not_leaders_office", "只有市领导办公室才能上传或撤回来信扫描件"))
                };
                Ok(Checked { add, materials: None })
            }
            OwnerKind::OnsiteRequest => {
                if !caller.may(Permission::ReadOnsite) {
                    return Err(mashangban_domain::onsite::onsite_not_found().into());
                }
                // In reach: the asking enterprise's account, the centre's staff, administrators, overseers.
                self.app.onsite().scoped(caller, owner.id).await?;
                let add = if caller.may(Permission::HandleOnsite) || caller.may(Permission::RequestOnsite) {
                    Ok(())
                } else {
                    Err(forbidden("not_onsite_party", "只有服务中心或申请企业才能上传或撤回上门服务的附件"))
                };
                Ok(Checked { add, materials: None })
            }
            OwnerKind::Visit => {
                if !caller.may(Permission::ReadVisits) {
                    return Err(mashangban_domain::visit::visit_not_found().into());
                }
                // In the enterprise scope: the town's staff, the liaison cadres and the visit's lead.
                let visit = self.app.visits().get(caller, owner.id).await?;
                let add = if visit.state == VisitState::Cancelled {
                    Err(mashangban_domain::visit::visit_cancelled().into())
                } else if caller.may(Permission::RecordVisits) {
                    Ok(())
                } else {
                    Err(forbidden("not_visit_recorder", "只有可以记录走访的人员才能上传或撤回走访照片和附件"))
                };
                Ok(Checked { add, materials: None })
            }
            OwnerKind::LedgerItem => {
                // In the item's ledger scope (its town, its responsible unit, the office: all).
                let (_, _, may_edit) = self.app.ledgers().item_by_id(caller, owner.id).await?;
                let add = if may_edit { Ok(()) } else { Err(crate::ledgers::not_ledger_editor()) };
                Ok(Checked { add, materials: None })
            }
        }
    }
}

pub(crate) fn actor(caller: &Caller) -> DocumentActor {
    DocumentActor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
    }
}

pub(crate) fn view(d: &DocumentRecord) -> DocumentView {
    DocumentView {
        id: d.id,
        owner_kind: d.owner.kind,
        owner_id: d.owner.id,
        purpose: d.purpose.clone(),
        file_name: d.file_name.clone(),
        content_type: d.content_type.as_str().into(),
        type_label: d.content_type.label().into(),
        byte_size: d.byte_size,
        size_text: size_text(d.byte_size),
        sha256: d.sha256.clone(),
        uploaded_at: format_instant(&d.uploaded_at),
        uploaded_by: d.uploaded_by.clone(),
        withdrawn: d.withdrawn_at.is_some(),
        withdrawn_at: d.withdrawn_at.as_ref().map(format_instant),
        withdrawn_by: d.withdrawn_by.clone(),
        withdrawn_reason: d.withdrawn_reason.clone(),
        href: format!("/api/v1/documents/{}", d.id),
    }
}
