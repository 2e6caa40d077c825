//! Saved views (保存的视图): a person's named filters of a list, shown as links
//! on that list's page: the work page (the list filters of `GET
//! /api/v1/requests`, the search words and the queue) or a ledger's list (its
//! filters, per ledger type). Bounded: at most [`MAX_PER_USER`] per person and
//! list, names of at most [`NAME_MAX_CHARS`] characters, unique per person and
//! list.

use std::collections::BTreeMap;

use crate::DomainError;

/// The most views one person keeps.
pub const MAX_PER_USER: usize = 20;
/// The longest name, in characters.
pub const NAME_MAX_CHARS: usize = 30;
/// The most parameters a view keeps.
pub const MAX_PARAMETERS: usize = 20;
/// The longest value of one parameter, in characters.
pub const VALUE_MAX_CHARS: usize = 200;

/// The list of the work page (every view saved before ledger views existed).
pub const WORK_LIST: &str = "work";
/// The prefix of a ledger list: `ledger:{type code}`.
pub const LEDGER_PREFIX: &str = "ledger:";

/// Which list a view belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewList {
    /// The work page.
    Work,
    /// A ledger's list, by type code.
    Ledger(String),
}

impl ViewList {
    /// Reads `work` or `ledger:{type}` (a type code of lower-case letters, digits and `_`, at
    /// most 40); `unknown_list` otherwise.
    pub fn parse(list: &str) -> Result<Self, DomainError> {
        let list = list.trim();
        if list == WORK_LIST {
            return Ok(Self::Work);
        }
        match list.strip_prefix(LEDGER_PREFIX) {
            Some(code)
                if !code.is_empty()
                    && code.len() <= 40
                    && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                Ok(Self::Ledger(code.to_owned()))
            }
            _ => Err(DomainError::invalid(
                "unknown_list",
                format!("「{list}」不是可保存视图的列表（work 或 ledger:台账类型）"),
            )),
        }
    }

    /// As stored: `work` or `ledger:{type}`.
    pub fn key(&self) -> String {
        match self {
            Self::Work => WORK_LIST.to_owned(),
            Self::Ledger(code) => format!("{LEDGER_PREFIX}{code}"),
        }
    }

    /// The list's page, where a view's link leads.
    pub fn page(&self) -> String {
        match self {
            Self::Work => "/work".to_owned(),
            Self::Ledger(code) => format!("/ledgers/{code}"),
        }
    }
}

/// The query parameters a view never keeps: paging and the page size belong to the moment.
pub const TRANSIENT: &[&str] = &["page", "cursor", "limit", "offset"];

/// A view's name, trimmed: `text_required` when blank, `name_too_long` past [`NAME_MAX_CHARS`],
/// `invalid_name` with control characters.
pub fn check_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("text_required", "请填写视图名称"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(DomainError::invalid("name_too_long", format!("视图名称最多 {NAME_MAX_CHARS} 个字")));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid("invalid_name", "视图名称不能含换行等控制字符"));
    }
    Ok(name.to_owned())
}

/// The parameters a view keeps: trimmed, blanks and paging dropped, bounded in number and length;
/// `view_empty` when nothing is left (the work page without filters needs no view).
pub fn check_filters(filters: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, DomainError> {
    if filters.len() > MAX_PARAMETERS {
        return Err(DomainError::invalid("too_many_parameters", format!("一个视图最多保存 {MAX_PARAMETERS} 个条件")));
    }
    let mut kept = BTreeMap::new();
    for (key, value) in filters {
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() || TRANSIENT.contains(&key) {
            continue;
        }
        if value.chars().count() > VALUE_MAX_CHARS {
            return Err(DomainError::invalid("text_too_long", format!("条件「{key}」最多 {VALUE_MAX_CHARS} 个字")));
        }
        kept.insert(key.to_owned(), value.to_owned());
    }
    if kept.is_empty() {
        return Err(DomainError::invalid("view_empty", "没有可保存的筛选条件：请先筛选或搜索，再保存为视图"));
    }
    Ok(kept)
}

/// The refusal of a view past the limit.
pub fn too_many() -> DomainError {
    DomainError::conflict("too_many_views", format!("每人最多保存 {MAX_PER_USER} 个视图，请先删除不用的视图"))
}

/// The refusal of a second view with a name already taken.
pub fn name_taken(name: &str) -> DomainError {
    DomainError::conflict("view_name_taken", format!("已有名为「{name}」的视图，请换一个名称"))
}

/// The refusal of a view that is not the person's (or does not exist).
pub fn not_found() -> DomainError {
    DomainError::not_found("view_not_found", "视图不存在")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  超期投诉 ").unwrap(), "超期投诉");
        assert_eq!(check_name(" ").unwrap_err().code, "text_required");
        assert_eq!(check_name(&"视".repeat(30)).unwrap(), "视".repeat(30));
        assert_eq!(check_name(&"视".repeat(31)).unwrap_err().code, "name_too_long");
        assert_eq!(check_name("a\nb").unwrap_err().code, "invalid_name");
    }

    #[test]
    fn lists_are_the_work_page_or_a_ledger() {
        assert_eq!(ViewList::parse(" work ").unwrap(), ViewList::Work);
        let outlets = ViewList::parse("ledger:outlet").unwrap();
        assert_eq!((outlets.key(), outlets.page()), ("ledger:outlet".to_owned(), "/ledgers/outlet".to_owned()));
        for bad in ["", "ledger:", "ledger:Outlet", "ledger:a/b", "Work", "requests"] {
            assert_eq!(ViewList::parse(bad).unwrap_err().code, "unknown_list", "{bad}");
        }
        assert!(ViewList::parse(&format!("ledger:{}", "a".repeat(41))).is_err());
    }

    #[test]
    fn filters_keep_what_narrows_the_list() {
        let map = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>()
        };
        let kept = check_filters(&map(&[("kind", " complaint "), ("page", "3"), ("town", ""), ("q", "噪音")])).unwrap();
        assert_eq!(kept, map(&[("kind", "complaint"), ("q", "噪音")]));
        assert_eq!(check_filters(&map(&[("page", "2"), ("town", " ")])).unwrap_err().code, "view_empty");
        assert_eq!(check_filters(&map(&[("q", &"噪".repeat(201))])).unwrap_err().code, "text_too_long");
        let many: BTreeMap<String, String> = (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        assert_eq!(check_filters(&many).unwrap_err().code, "too_many_parameters");
    }
}
