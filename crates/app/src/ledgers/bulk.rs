//! Bulk stage moves (批量变更阶段): the items chosen on a ledger's list (by key, each with the
//! version the list showed) or every item matching the list's filters (read at a known instant)
//! are moved to one stage with one note. Each item goes through the same rules as a single move
//! (the state machine, the caller's role keys, the target stage's required fields, the scope),
//! gets its own history entry, and all are written in one transaction: if any item is refused,
//! nothing is written and every refused item is answered with its key, code and Chinese reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::ledger::{OrgLookup, diff};
use mashangban_domain::time::{format_instant, parse_instant};
use mashangban_store::{LedgerAction, LedgerItem, LedgerWrite, Store, ledger_item_name};

use super::{Ledgers, ListQuery, NOTE_MAX, field_errors};
use crate::Caller;
use crate::error::{AppError, AppResult};

/// Items one bulk move takes at most.
pub const BULK_MAX: usize = 1000;

/// An item chosen on the list, with the version the list showed.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    pub key: String,
    pub version: i64,
}

/// A bulk stage move: the target stage and a note, and either `items` (chosen keys with their
/// versions) or `filters` (the list's filters, as `GET …/items` takes them, paging ignored) with
/// `read_at`, the instant the list was read (its `read_at`): an item changed after it is refused.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkMoveBody {
    /// The target stage's code.
    pub to: String,
    #[serde(default)]
    #[schemars(length(max = 500))]
    pub note: Option<String>,
    /// At most 1,000.
    #[serde(default)]
    pub items: Vec<BulkItem>,
    #[serde(default)]
    pub filters: Option<ListQuery>,
    /// RFC 3339; required with `filters`.
    #[serde(default)]
    pub read_at: Option<String>,
}

/// What a bulk move did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkMoved {
    /// Items moved (each with its own history entry).
    pub moved: u64,
    pub to: String,
    pub to_name: String,
    /// The moved items' keys, by key.
    pub keys: Vec<String>,
}

/// One refused item of a bulk move.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkRefusal {
    pub key: String,
    /// The single move's code: `ledger_item_not_found`, `ledger_item_changed`,
    /// `stage_move_not_allowed`, `stage_role_forbidden`, `stage_fields_missing`, `field_*`.
    pub code: String,
    pub reason: String,
}

/// The answer to a refused bulk move (`422 ledger_bulk_refused`): nothing was written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkRefused {
    /// `ledger_bulk_refused`.
    pub code: String,
    pub message: String,
    /// Every refused item, by key.
    pub refused: Vec<BulkRefusal>,
}

/// A bulk move either happened in full or was refused in full.
#[derive(Debug, Clone)]
pub enum BulkOutcome {
    Moved(BulkMoved),
    Refused(BulkRefused),
}

/// The code of a refused bulk move.
pub const BULK_REFUSED: &str = "ledger_bulk_refused";
/// The code of a bulk move over [`BULK_MAX`] items.
pub const BULK_TOO_MANY: &str = "ledger_bulk_too_many";

fn too_many(n: u64) -> AppError {
    AppError::invalid(BULK_TOO_MANY, format!("一次最多批量变更{BULK_MAX}条，当前选择了{n}条；请缩小筛选范围或分批办理"))
}

fn refusal(key: &str, code: &str, reason: impl Into<String>) -> BulkRefusal {
    BulkRefusal { key: key.to_owned(), code: code.to_owned(), reason: reason.into() }
}

/// The note of a move, trimmed; `text_too_long` past 500 characters.
pub(super) fn check_note(note: Option<&str>) -> AppResult<Option<String>> {
    match note.map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) if n.chars().count() > NOTE_MAX => {
            Err(AppError::invalid("text_too_long", format!("说明最多{NOTE_MAX}个字")))
        }
        Some(n) => Ok(Some(n.to_owned())),
        None => Ok(None),
    }
}

impl<S: Store> Ledgers<'_, S> {
    /// Moves many items to one stage in one transaction, all or nothing (see the module).
    pub async fn bulk_move(&self, caller: &Caller, code: &str, body: BulkMoveBody) -> AppResult<BulkOutcome> {
        let loaded = self.load(code).await?;
        let access = self.access(caller, &loaded.record);
        let ty = &loaded.ty;
        let to_stage = ty.known_stage(body.to.trim())?.clone();
        let note = check_note(body.note.as_deref())?;
        let mut refused: Vec<BulkRefusal> = Vec::new();
        // The items to move, each with the version it must still be at (or the instant after
        // which it must not have changed).
        let targets: Vec<LedgerItem> = match (body.items.is_empty(), body.filters) {
            (false, Some(_)) => {
                return Err(AppError::invalid(
                    "ledger_bulk_target",
                    "请只选一种方式：勾选的条目（items），或符合筛选条件的全部条目（filters）",
                ));
            }
            (true, None) => return Err(AppError::invalid("ledger_bulk_empty", "请先勾选要变更阶段的条目")),
            (false, None) => {
                if body.items.len() > BULK_MAX {
                    return Err(too_many(body.items.len() as u64));
                }
                let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
                for i in &body.items {
                    let key = i.key.trim().to_owned();
                    if key.is_empty() || key.chars().count() > 100 {
                        return Err(AppError::invalid("invalid_parameter", format!("条目编号不正确：{}", i.key)));
                    }
                    if wanted.insert(key.clone(), i.version).is_some() {
                        return Err(AppError::invalid("ledger_bulk_duplicate", format!("条目「{key}」重复选择")));
                    }
                }
                let mut found: HashMap<String, LedgerItem> = self
                    .app
                    .store()
                    .ledger_items_by_keys(code, wanted.keys().cloned().collect())
                    .await?
                    .into_iter()
                    .map(|i| (i.key.clone(), i))
                    .collect();
                let mut out = Vec::new();
                for (key, version) in wanted {
                    match found.remove(&key) {
                        Some(item) if access.scope.permits(item.town_id, item.unit_id) => {
                            if item.version == version {
                                out.push(item);
                            } else {
                                refused.push(refusal(
                                    &key,
                                    "ledger_item_changed",
                                    format!("该条目已被他人修改（当前第{}版），请刷新后再办理", item.version),
                                ));
                            }
                        }
                        _ => refused.push(refusal(&key, "ledger_item_not_found", "台账条目不存在或不在您的管辖范围")),
                    }
                }
                out
            }
            (true, Some(filters)) => {
                let read_at = body
                    .read_at
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| {
                        AppError::invalid("read_at_required", "按筛选条件批量办理须给出读取列表的时间（read_at）")
                    })
                    .and_then(|s| {
                        parse_instant(s).ok_or_else(|| {
                            AppError::invalid("invalid_read_at", format!("时间「{s}」不是 RFC 3339 格式"))
                        })
                    })?;
                let mut filter = self.filter(ty, &filters, false)?;
                filter.offset = 0;
                filter.limit = u32::try_from(BULK_MAX + 1).unwrap_or(u32::MAX);
                let page = self.app.store().list_ledger_items(code, &filter, &access.scope).await?;
                if page.total > BULK_MAX as u64 {
                    return Err(too_many(page.total));
                }
                if page.items.is_empty() {
                    return Err(AppError::invalid("ledger_bulk_empty", "没有符合筛选条件的条目"));
                }
                let mut out = Vec::new();
                for item in page.items {
                    if item.updated_at > read_at {
                        refused.push(refusal(
                            &item.key,
                            "ledger_item_changed",
                            format!("列表读取（{}）之后该条目已被修改，请刷新后再办理", format_instant(&read_at)),
                        ));
                    } else {
                        out.push(item);
                    }
                }
                out
            }
        };
        let org = self.app.caches().org();
        let mut writes = Vec::with_capacity(targets.len());
        let mut seen = HashSet::new();
        for found in targets {
            if !seen.insert(found.id) {
                continue;
            }
            let values = match ty.revalidate(&found.values, org.as_ref() as &dyn OrgLookup) {
                Ok(v) => v,
                Err(errors) => {
                    let e = field_errors(&errors);
                    refused.push(refusal(&found.key, e.code, e.message));
                    continue;
                }
            };
            if let Err(e) = ty.check_move(&values, &found.stage, &to_stage.code, &access.roles) {
                refused.push(refusal(&found.key, e.code, e.message));
                continue;
            }
            let changes = diff(ty, &found.values, &values);
            writes.push(LedgerWrite {
                id: Some(found.id),
                expected_version: found.version,
                type_code: ty.code().to_owned(),
                type_version: loaded.record.version,
                key: found.key.clone(),
                name: ledger_item_name(ty, &values),
                stage: to_stage.code.clone(),
                values,
                town_id: found.town_id,
                unit_id: found.unit_id,
                action: LedgerAction::Moved,
                from_stage: Some(found.stage.clone()),
                changes,
                note: note.clone(),
            });
        }
        if !refused.is_empty() {
            refused.sort_by(|a, b| a.key.cmp(&b.key));
            let first: Vec<String> = refused.iter().take(3).map(|r| format!("{}：{}", r.key, r.reason)).collect();
            let message = format!(
                "有{}条不能转入「{}」，全部未变更：{}{}",
                refused.len(),
                to_stage.name,
                first.join("；"),
                if refused.len() > 3 { "……" } else { "" }
            );
            return Ok(BulkOutcome::Refused(BulkRefused { code: BULK_REFUSED.to_owned(), message, refused }));
        }
        let written = self.write(caller, &access, writes).await?;
        let mut keys: Vec<String> = written.into_iter().map(|i| i.key).collect();
        keys.sort();
        Ok(BulkOutcome::Moved(BulkMoved {
            moved: keys.len() as u64,
            to: to_stage.code.clone(),
            to_name: to_stage.name.clone(),
            keys,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_and_bounded() {
        assert_eq!(check_note(Some("  批量销号 ")).ok().flatten().as_deref(), Some("批量销号"));
        assert_eq!(check_note(Some("  ")).ok().flatten(), None);
        assert_eq!(check_note(Some(&"说".repeat(501))).err().map(|e| e.code), Some("text_too_long"));
        assert!(check_note(Some(&"说".repeat(500))).is_ok());
    }
}
