//! Files of ledger items (台账条目的附件): an item owns documents (the
//! documents facility, owner kind `ledger_item`), and a file field's value is
//! the id of one of them — never another item's, never a withdrawn one
//! (`422 ledger_file_not_found`, checked by the store with the item's row
//! locked). Uploading for a field stores the document and sets the field in
//! one transaction, with the cell's before and after in the item's history;
//! a document a field names cannot be withdrawn (`409 ledger_file_in_use`).
//! Pages, lists and exports show the file's name; an import may name one of
//! the item's documents by name or id but cannot create files.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;

use mashangban_domain::document::{self, DocumentFile, MAX_PER_OWNER, OwnerKind};
use mashangban_domain::ledger::{FieldKind, FieldValue, LedgerType, OrgLookup, Values, file_not_found};
use mashangban_store::{
    DocumentOwner, DocumentRecord, LedgerAction, LedgerFill, LedgerItem, LedgerWrite, PurposedFile, Store,
    ledger_item_changed, ledger_item_name, ledger_item_not_found, ledger_placement,
};

use super::{EventView, ItemUpdate, ItemView, Ledgers, Loaded, author, field_errors, field_problem, out_of_scope};
use crate::Caller;
use crate::documents::{DocumentView, actor, view};
use crate::enforcement::forbidden;
use crate::error::{AppError, AppResult};
use crate::requests::NewFile;

/// A file field of an item and the document it names.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileFieldView {
    pub field: String,
    pub label: String,
    /// The stages that require it before entry, by name.
    pub required_by: Vec<String>,
    /// The document the field names.
    pub document: Option<DocumentView>,
    /// A value that names none of the item's documents (written before files were kept here).
    pub other: Option<String>,
}

/// A file chosen in an item's edit form for one of its file fields (`field`: its code or label).
pub struct FieldFile {
    pub field: String,
    pub file: NewFile,
}

/// What a chosen file's field holds while its values are checked, before the store gives the
/// document's id (a valid file reference, never written).
const PENDING_FILE: &str = "pending";

/// `403 not_ledger_editor`: reads the item but may not change it.
pub(crate) fn not_ledger_editor() -> AppError {
    forbidden("not_ledger_editor", "您对该台账条目只有查看权限，不能上传或撤回附件")
}

/// The file fields of a type.
fn file_fields(ty: &LedgerType) -> impl Iterator<Item = &mashangban_domain::ledger::Field> {
    ty.fields().iter().filter(|f| matches!(f.kind, FieldKind::File))
}

/// `422 ledger_file_not_found` when a new item (which has no documents yet) holds a file value.
pub(crate) fn refuse_files_of_new(ty: &LedgerType, values: &Values) -> AppResult<()> {
    match file_fields(ty).find_map(|f| values.get(&f.code).map(|v| (f, v))) {
        Some((f, v)) => Err(file_not_found(&f.label, &v.as_text()).into()),
        None => Ok(()),
    }
}

/// The file field `field` (code or label) of the type: `422 ledger_file_field_unknown` otherwise.
fn file_field<'t>(ty: &'t LedgerType, field: &str) -> AppResult<&'t mashangban_domain::ledger::Field> {
    let field = field.trim();
    ty.resolve_field(field).filter(|f| matches!(f.kind, FieldKind::File)).ok_or_else(|| {
        let shown: String = field.chars().take(50).collect();
        AppError::invalid("ledger_file_field_unknown", format!("台账「{}」没有文件字段「{shown}」", ty.name()))
    })
}

/// `422 ledger_file_one`: a file field holds one file.
fn one_file_per_field(label: &str) -> AppError {
    AppError::invalid("ledger_file_one", format!("「{label}」只能选择一个文件"))
}

/// The names of the documents that items' file fields name: `(item id, value)` → file name.
#[derive(Debug, Default)]
pub struct FileNames(HashMap<(i64, String), String>);

impl FileNames {
    fn from_records(records: &[DocumentRecord]) -> Self {
        Self(records.iter().map(|d| ((d.owner.id, d.id.to_string()), d.file_name.clone())).collect())
    }

    fn name(&self, item_id: i64, reference: &str) -> Option<&str> {
        self.0.get(&(item_id, reference.to_owned())).map(String::as_str)
    }

    /// The item's values with each file value replaced by its document's name (for exports).
    pub fn shown_values(&self, ty: &LedgerType, item: &LedgerItem) -> Values {
        let mut values = item.values.clone();
        for f in file_fields(ty) {
            if let Some(FieldValue::File(r)) = values.get(&f.code)
                && let Some(name) = self.name(item.id, r)
            {
                let name = name.to_owned();
                values.insert(f.code.clone(), FieldValue::File(name));
            }
        }
        values
    }

    /// The item's file cells as the documents' names.
    pub fn name_cells(&self, ty: &LedgerType, item_id: i64, item: &mut ItemView) {
        for cell in &mut item.cells {
            if file_fields(ty).any(|f| f.code == cell.field)
                && let Some(name) = self.name(item_id, &cell.text)
            {
                cell.text = name.to_owned();
            }
        }
    }

    /// The history's file cells (before and after) as the documents' names.
    fn name_history(&self, ty: &LedgerType, item_id: i64, history: &mut [EventView]) {
        for change in history.iter_mut().flat_map(|e| e.changes.iter_mut()) {
            if file_fields(ty).any(|f| f.code == change.field) {
                for side in [&mut change.before, &mut change.after] {
                    if let Some(text) = side.as_mut()
                        && let Some(name) = self.name(item_id, text)
                    {
                        *text = format!("《{name}》");
                    }
                }
            }
        }
    }
}

/// One of the item's documents a spreadsheet cell names: by id, or by name (the export's form);
/// the current value as written stays. `Err` with the reason otherwise.
fn resolve_cell(text: &str, current: Option<&FieldValue>, docs: &[&DocumentRecord]) -> Result<String, String> {
    let current = match current {
        Some(FieldValue::File(r)) => Some(r.as_str()),
        _ => None,
    };
    if current == Some(text) {
        return Ok(text.to_owned());
    }
    let kept: Vec<&&DocumentRecord> = docs.iter().filter(|d| d.withdrawn_at.is_none()).collect();
    if kept.iter().any(|d| d.id.to_string() == text) {
        return Ok(text.to_owned());
    }
    let named: Vec<String> = kept.iter().filter(|d| d.file_name == text).map(|d| d.id.to_string()).collect();
    if let Some(r) = current.filter(|r| named.iter().any(|n| n == r)) {
        return Ok(r.to_owned());
    }
    match named.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("不是本条目已上传且未撤回的附件；导入不能新增文件，请在条目页上传".into()),
        _ => Err("本条目有多个同名附件，请填写附件编号".into()),
    }
}

impl<S: Store> Ledgers<'_, S> {
    /// The item with document owner id `id` in the caller's scope (`404 ledger_item_not_found`
    /// otherwise), with its type and whether the caller may edit it.
    pub(crate) async fn item_by_id(&self, caller: &Caller, id: i64) -> AppResult<(LedgerType, LedgerItem, bool)> {
        let found =
            self.app.store().ledger_item_by_id(id).await?.ok_or_else(|| ledger_item_not_found(&id.to_string()))?;
        let loaded = self.load(&found.type_code).await?;
        let access = self.access(caller, &loaded.record);
        if !access.scope.permits(found.town_id, found.unit_id) {
            return Err(ledger_item_not_found(&found.key).into());
        }
        Ok((loaded.ty, found, access.may_edit()))
    }

    /// The item `code`/`key` as the owner of its documents, when the caller sees it.
    pub async fn documents_owner(&self, caller: &Caller, code: &str, key: &str) -> AppResult<DocumentOwner> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        Ok(DocumentOwner { kind: OwnerKind::LedgerItem, id: found.id })
    }

    /// Uploads files for an item the caller may edit. With `field` (a file field, by code or
    /// label), one file whose document the field then names, in the same transaction, with the
    /// cell's before and after in the item's history; its purpose defaults to the field's label.
    pub async fn add_files(
        &self,
        caller: &Caller,
        code: &str,
        key: &str,
        field: Option<&str>,
        purpose: Option<&str>,
        files: Vec<NewFile>,
    ) -> AppResult<Vec<DocumentView>> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        let Loaded { record, ty } = loaded;
        let owner = DocumentOwner { kind: OwnerKind::LedgerItem, id: found.id };
        let Some(field) = field.map(str::trim).filter(|f| !f.is_empty()) else {
            return self.app.documents().add(caller, owner, purpose, files).await;
        };
        if !access.may_edit() {
            return Err(not_ledger_editor());
        }
        let f = file_field(&ty, field)?;
        let (field_code, label) = (f.code.clone(), f.label.clone());
        let mut files = files.into_iter();
        let file = match (files.next(), files.next()) {
            (None, _) => return Err(AppError::invalid("no_file", "请选择要上传的文件")),
            (Some(_), Some(_)) => return Err(one_file_per_field(&label)),
            (Some(file), None) => DocumentFile::new(file.name.as_deref(), file.bytes)?,
        };
        let purpose = document::purpose(purpose)?.or_else(|| Some(label.clone()));
        let org = self.app.caches().org();
        let type_version = record.version;
        let fill: LedgerFill = Box::new(move |item: &LedgerItem, docs: &[DocumentRecord]| {
            let mut values = item.values.clone();
            if let Some(doc) = docs.first() {
                values.insert(field_code, FieldValue::File(doc.id.to_string()));
            }
            let values = ty.revalidate(&values, org.as_ref() as &dyn OrgLookup).map_err(|e| field_problem(&e))?;
            Ok(LedgerWrite::document_added(&ty, type_version, item, values))
        });
        let at = self.app.now();
        let (added, _) = self
            .app
            .store()
            .add_ledger_documents(
                owner,
                vec![PurposedFile { purpose, file }],
                MAX_PER_OWNER,
                actor(caller),
                fill,
                author(caller, &access, at),
            )
            .await?;
        self.app.feed().wake();
        Ok(added.iter().map(view).collect())
    }

    /// Changes an item's values (those given, as [`Self::update`]) and stores `files`, each as
    /// the document its file field then names, in one transaction with one entry in the item's
    /// history (the cells' before and after, a note naming each file). Everything is checked
    /// before anything is written — the version, each file's field (`422
    /// ledger_file_field_unknown`, one per field `422 ledger_file_one`), type and size, the
    /// values, the stage's required fields, the scope — and a write the store refuses (a
    /// concurrent change `409 ledger_item_changed`, too many documents) stores no file.
    pub async fn update_with_files(
        &self,
        caller: &Caller,
        code: &str,
        key: &str,
        body: ItemUpdate,
        files: Vec<FieldFile>,
    ) -> AppResult<ItemView> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let found = self.item(&loaded, &access, key).await?;
        if !access.may_edit() {
            return Err(AppError::forbidden("您对该台账只有查看权限"));
        }
        if found.version != body.version {
            return Err(ledger_item_changed(found.version).into());
        }
        let Loaded { record, ty } = loaded;
        let mut chosen: Vec<(String, PurposedFile)> = Vec::with_capacity(files.len());
        for FieldFile { field, file } in files {
            let f = file_field(&ty, &field)?;
            if chosen.iter().any(|(code, _)| *code == f.code) {
                return Err(one_file_per_field(&f.label));
            }
            let file = DocumentFile::new(file.name.as_deref(), file.bytes)?;
            chosen.push((f.code.clone(), PurposedFile { purpose: Some(f.label.clone()), file }));
        }
        let org = self.app.caches().org();
        let mut input: std::collections::BTreeMap<String, Json> =
            found.values.iter().map(|(k, v)| (k.clone(), v.to_input())).collect();
        for (k, v) in body.values {
            let code = ty.resolve_field(k.trim()).map_or(k.clone(), |f| f.code.clone());
            input.insert(code, v);
        }
        for (code, _) in &chosen {
            input.insert(code.clone(), Json::String(PENDING_FILE.into()));
        }
        let values = ty.validate_item(&input, org.as_ref() as &dyn OrgLookup).map_err(|e| field_errors(&e))?;
        if ty.key_of(&values).as_deref() != Some(found.key.as_str()) {
            return Err(AppError::invalid("ledger_key_immutable", "编号不能修改；如登记有误，请另行登记"));
        }
        let stage = ty.known_stage(&found.stage)?;
        ty.check_entry(&values, stage)?;
        let (town_id, unit_id) = ledger_placement(&ty, &values, &org);
        if !access.scope.permits(town_id, unit_id) {
            return Err(out_of_scope());
        }
        let changes = super::diff(&ty, &found.values, &values);
        let write = LedgerWrite {
            id: Some(found.id),
            expected_version: found.version,
            type_code: ty.code().to_owned(),
            type_version: record.version,
            key: found.key.clone(),
            name: ledger_item_name(&ty, &values),
            stage: found.stage.clone(),
            values,
            town_id,
            unit_id,
            action: LedgerAction::Updated,
            from_stage: None,
            changes,
            note: None,
        };
        if chosen.is_empty() {
            if write.changes.is_empty() {
                return self.named_view(&ty, &found).await;
            }
            let item =
                self.write(caller, &access, vec![write]).await?.into_iter().next().ok_or_else(AppError::internal)?;
            return self.named_view(&ty, &item).await;
        }
        let (fields, files): (Vec<String>, Vec<PurposedFile>) = chosen.into_iter().unzip();
        let shown = ty.clone();
        let fill: LedgerFill = Box::new(move |item: &LedgerItem, docs: &[DocumentRecord]| {
            let mut write = write;
            for (field, doc) in fields.into_iter().zip(docs) {
                write.values.insert(field, FieldValue::File(doc.id.to_string()));
            }
            write.values =
                ty.revalidate(&write.values, org.as_ref() as &dyn OrgLookup).map_err(|e| field_problem(&e))?;
            write.name = ledger_item_name(&ty, &write.values);
            write.changes = super::diff(&ty, &item.values, &write.values);
            Ok(write)
        });
        let owner = DocumentOwner { kind: OwnerKind::LedgerItem, id: found.id };
        let at = self.app.now();
        let (_, item) = self
            .app
            .store()
            .add_ledger_documents(owner, files, MAX_PER_OWNER, actor(caller), fill, author(caller, &access, at))
            .await?;
        self.app.feed().wake();
        self.named_view(&shown, &item).await
    }

    /// The item's view with its file cells as the documents' names (the answer of a change).
    pub(crate) async fn named_view(&self, ty: &LedgerType, item: &LedgerItem) -> AppResult<ItemView> {
        let mut shown = super::item_view(ty, item, &self.app.caches().org());
        self.file_names(ty, std::slice::from_ref(item)).await?.name_cells(ty, item.id, &mut shown);
        Ok(shown)
    }

    /// The names of the documents the items' file fields name (one look-up; none for a type
    /// without file fields).
    pub(crate) async fn file_names(&self, ty: &LedgerType, items: &[LedgerItem]) -> AppResult<FileNames> {
        let ids: Vec<i64> = items
            .iter()
            .filter(|i| file_fields(ty).any(|f| matches!(i.values.get(&f.code), Some(FieldValue::File(_)))))
            .map(|i| i.id)
            .collect();
        if ids.is_empty() {
            return Ok(FileNames::default());
        }
        let records = self.app.store().documents_of_owners(OwnerKind::LedgerItem, ids).await?;
        Ok(FileNames::from_records(&records))
    }

    /// An item's file fields with their documents, its documents not withdrawn, and its file cells
    /// and history named (for its page).
    pub(crate) async fn item_files(
        &self,
        ty: &LedgerType,
        item: &LedgerItem,
        shown: &mut ItemView,
        history: &mut [EventView],
    ) -> AppResult<(Vec<FileFieldView>, Vec<DocumentView>)> {
        let records = self.app.store().documents(DocumentOwner { kind: OwnerKind::LedgerItem, id: item.id }).await?;
        let names = FileNames::from_records(&records);
        names.name_cells(ty, item.id, shown);
        names.name_history(ty, item.id, history);
        let fields = file_fields(ty)
            .map(|f| {
                let value = match item.values.get(&f.code) {
                    Some(FieldValue::File(r)) => Some(r.as_str()),
                    _ => None,
                };
                let document = value.and_then(|r| records.iter().find(|d| d.id.to_string() == r)).map(view);
                FileFieldView {
                    field: f.code.clone(),
                    label: f.label.clone(),
                    required_by: ty
                        .stages()
                        .iter()
                        .filter(|s| s.requires.contains(&f.code))
                        .map(|s| s.name.clone())
                        .collect(),
                    other: value.filter(|_| document.is_none()).map(str::to_owned),
                    document,
                }
            })
            .collect();
        let kept = records.iter().filter(|d| d.withdrawn_at.is_none()).map(view).collect();
        Ok((fields, kept))
    }

    /// Rewrites an import's file cells to the ids of the item's documents they name; a cell naming
    /// none (or any file cell of a new item) is a row problem `(row, column, value, reason)`.
    pub(super) async fn resolve_import_files(
        &self,
        ty: &LedgerType,
        rows: &mut [super::SheetRow],
        existing: &HashMap<String, LedgerItem>,
    ) -> AppResult<Vec<super::RowProblem>> {
        let fields: Vec<_> = file_fields(ty).map(|f| (f.code.clone(), f.label.clone())).collect();
        let cell = |row: &super::SheetRow, code: &str| -> Option<String> {
            let text = match row.input.get(code)? {
                Json::String(s) => s.trim().to_owned(),
                Json::Number(n) => n.to_string(),
                _ => return None,
            };
            (!text.is_empty()).then_some(text)
        };
        let mut ids = Vec::new();
        for row in rows.iter() {
            if fields.iter().any(|(code, _)| cell(row, code).is_some())
                && let Some(item) = row.key.as_deref().and_then(|k| existing.get(k))
            {
                ids.push(item.id);
            }
        }
        let records = if ids.is_empty() {
            Vec::new()
        } else {
            self.app.store().documents_of_owners(OwnerKind::LedgerItem, ids).await?
        };
        let mut problems = Vec::new();
        for row in rows.iter_mut() {
            let item = row.key.as_deref().and_then(|k| existing.get(k));
            for (code, label) in &fields {
                let Some(text) = cell(row, code) else { continue };
                let resolved = match item {
                    None => Err(format!("新登记的条目还没有附件；请登记后在条目页上传「{label}」")),
                    Some(item) => {
                        let docs: Vec<&DocumentRecord> = records.iter().filter(|d| d.owner.id == item.id).collect();
                        resolve_cell(&text, item.values.get(code), &docs)
                    }
                };
                match resolved {
                    Ok(reference) => {
                        row.input.insert(code.clone(), Json::String(reference));
                    }
                    Err(reason) => {
                        row.input.remove(code);
                        problems.push(super::RowProblem {
                            row: row.row,
                            column: label.clone(),
                            value: text.clone(),
                            reason,
                        });
                    }
                }
            }
        }
        Ok(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mashangban_domain::document::DocumentType;
    use mashangban_domain::time::now;

    fn doc(id: i64, name: &str, withdrawn: bool) -> DocumentRecord {
        DocumentRecord {
            id,
            owner: DocumentOwner { kind: OwnerKind::LedgerItem, id: 1 },
            purpose: None,
            file_name: name.into(),
            content_type: DocumentType::Pdf,
            byte_size: 10,
            sha256: String::new(),
            uploaded_at: now(),
            uploaded_by: "甲".into(),
            uploaded_by_user: None,
            withdrawn_at: withdrawn.then(now),
            withdrawn_by: None,
            withdrawn_reason: None,
        }
    }

    #[test]
    fn an_import_cell_names_a_kept_document_by_id_or_name() {
        let (a, b, c, d) =
            (doc(7, "验收.pdf", false), doc(8, "验收.pdf", false), doc(9, "旧.pdf", true), doc(10, "新.pdf", false));
        let docs = [&a, &b, &c, &d];
        let current = FieldValue::File("8".into());
        // The export's form (the name) keeps the current document even when another shares its name.
        assert_eq!(resolve_cell("验收.pdf", Some(&current), &docs), Ok("8".into()));
        assert_eq!(resolve_cell("新.pdf", Some(&current), &docs), Ok("10".into()));
        assert_eq!(resolve_cell("7", Some(&current), &docs), Ok("7".into()));
        assert!(resolve_cell("验收.pdf", None, &docs).unwrap_err().contains("同名"));
        assert!(resolve_cell("旧.pdf", None, &docs).is_err(), "withdrawn");
        assert!(resolve_cell("9", None, &docs).is_err(), "withdrawn, by id");
        assert!(resolve_cell("别的.pdf", None, &docs).is_err());
        // A value from before files were kept stays as written.
        let legacy = FieldValue::File("demo-acceptance-0001.pdf".into());
        assert_eq!(
            resolve_cell("demo-acceptance-0001.pdf", Some(&legacy), &docs),
            Ok("demo-acceptance-0001.pdf".into())
        );
    }
}
