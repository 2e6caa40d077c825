//! The demo city's data files: the org tree (`org.toml`), the categories
//! (`categories.toml`) and the text material of the history generator
//! (`requests.toml`). Parsed and checked once, so the loaders and the
//! generator can rely on them (known parents, leaves with a lead unit,
//! non-empty word lists, only known placeholders).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use mashangban_domain::org::UnitKind;
use mashangban_domain::request::RequestKind;

use crate::DemoError;

pub(crate) const ORG_FILE: &str = "org.toml";
pub(crate) const CATEGORIES_FILE: &str = "categories.toml";
pub(crate) const REQUESTS_FILE: &str = "requests.toml";
/// Optional: a city without it has no standard answers to seed.
pub(crate) const KNOWLEDGE_FILE: &str = "knowledge.toml";

/// The placeholders the generator fills in request texts.
pub(crate) const PLACEHOLDERS: [&str; 6] = ["企业", "镇街", "地址", "姓名", "日期", "金额"];

/// A unit of `org.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnitDef {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    pub kind: UnitKind,
    #[serde(default)]
    pub parent: Option<String>,
}

impl UnitDef {
    /// The name shown in tight spaces, as [`mashangban_domain::org::Unit::display_name`].
    pub fn display_name(&self) -> &str {
        self.short_name.as_deref().unwrap_or(&self.name)
    }
}

/// A category of `categories.toml`; leaves carry their lead unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategoryDef {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub lead: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A standard answer of `knowledge.toml` (知识库).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleDef {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    #[serde(rename = "article", default)]
    articles: Vec<ArticleDef>,
}

/// The request texts of one leaf category. `titles[i]` goes with `contents[i]`,
/// and `replies[i]` (when present) answers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Template {
    pub category: String,
    pub kinds: Vec<RequestKind>,
    pub enterprise_share: f64,
    pub titles: Vec<String>,
    pub contents: Vec<String>,
    pub replies: Vec<String>,
}

/// `requests.toml`: word lists and templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextMaterial {
    pub surnames: Vec<String>,
    pub given_names: Vec<String>,
    pub enterprise_prefixes: Vec<String>,
    pub enterprise_suffixes: Vec<String>,
    pub streets: Vec<String>,
    pub stage_replies: Vec<String>,
    pub return_reasons: Vec<String>,
    pub extension_reasons: Vec<String>,
    pub dissatisfied_comments: Vec<String>,
    #[serde(rename = "template")]
    pub templates: Vec<Template>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgFile {
    #[serde(rename = "unit", default)]
    units: Vec<UnitDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    #[serde(rename = "category", default)]
    categories: Vec<CategoryDef>,
}

/// The parsed demo city: org tree, categories and text material.
#[derive(Debug, Clone)]
pub struct DemoData {
    /// Parents before children.
    pub(crate) units: Vec<UnitDef>,
    /// Parents before children.
    pub(crate) categories: Vec<CategoryDef>,
    pub(crate) text: TextMaterial,
    pub(crate) articles: Vec<ArticleDef>,
}

impl DemoData {
    /// The bundled demo city (Zhongshan).
    pub fn bundled() -> Result<Self, DemoError> {
        Self::parse(
            include_str!("../data/org.toml"),
            include_str!("../data/categories.toml"),
            include_str!("../data/requests.toml"),
        )?
        .with_knowledge(include_str!("../data/knowledge.toml"))
    }

    /// Reads `org.toml`, `categories.toml` and `requests.toml` from a
    /// directory, so a city can replace the bundled files.
    pub fn from_dir(dir: &Path) -> Result<Self, DemoError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| DemoError(format!("读取演示数据文件 {} 失败：{e}", path.display())))
        };
        let data = Self::parse(&read(ORG_FILE)?, &read(CATEGORIES_FILE)?, &read(REQUESTS_FILE)?)?;
        if dir.join(KNOWLEDGE_FILE).exists() { data.with_knowledge(&read(KNOWLEDGE_FILE)?) } else { Ok(data) }
    }

    /// Adds the standard answers of `knowledge.toml`; each category must exist.
    pub(crate) fn with_knowledge(mut self, knowledge: &str) -> Result<Self, DemoError> {
        let file: KnowledgeFile = toml::from_str(knowledge).map_err(|e| toml_error(KNOWLEDGE_FILE, &e))?;
        for a in &file.articles {
            if let Some(code) = a.category.as_deref().filter(|c| self.category(c).is_none()) {
                return Err(data_error(KNOWLEDGE_FILE, format!("标准答复「{}」的分类「{code}」不存在", a.title)));
            }
        }
        self.articles = file.articles;
        Ok(self)
    }

    /// Parses and checks the three files' contents.
    pub(crate) fn parse(org: &str, categories: &str, requests: &str) -> Result<Self, DemoError> {
        let org: OrgFile = toml::from_str(org).map_err(|e| toml_error(ORG_FILE, &e))?;
        let categories: CategoriesFile = toml::from_str(categories).map_err(|e| toml_error(CATEGORIES_FILE, &e))?;
        let text: TextMaterial = toml::from_str(requests).map_err(|e| toml_error(REQUESTS_FILE, &e))?;

        let units = topo_sort(org.units, |u| &u.code, |u| u.parent.as_deref(), ORG_FILE, "单位")?;
        check_units(&units)?;
        let categories =
            topo_sort(categories.categories, |c| &c.code, |c| c.parent.as_deref(), CATEGORIES_FILE, "分类")?;
        check_categories(&categories, &units)?;
        check_text(&text, &categories)?;
        Ok(Self { units, categories, text, articles: Vec::new() })
    }

    pub(crate) fn unit(&self, code: &str) -> Option<&UnitDef> {
        self.units.iter().find(|u| u.code == code)
    }

    pub(crate) fn category(&self, code: &str) -> Option<&CategoryDef> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Units of one kind, in file order.
    pub(crate) fn units_of_kind(&self, kind: UnitKind) -> impl Iterator<Item = &UnitDef> {
        self.units.iter().filter(move |u| u.kind == kind)
    }
}

fn toml_error(file: &str, e: &toml::de::Error) -> DemoError {
    DemoError(format!("演示数据文件 {file} 格式错误：{e}"))
}

fn data_error(file: &str, message: impl std::fmt::Display) -> DemoError {
    DemoError(format!("演示数据文件 {file} 有误：{message}"))
}

/// Orders items so every parent comes before its children, keeping the file
/// order otherwise. Rejects duplicate codes, unknown parents and cycles.
fn topo_sort<T>(
    items: Vec<T>,
    code: impl Fn(&T) -> &str,
    parent: impl Fn(&T) -> Option<&str>,
    file: &str,
    what: &str,
) -> Result<Vec<T>, DemoError> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let c = code(item);
        if c.trim().is_empty() {
            return Err(data_error(file, format!("第{}个{what}的编码为空", i + 1)));
        }
        if index.insert(c, i).is_some() {
            return Err(data_error(file, format!("{what}编码「{c}」重复")));
        }
    }
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(items.len());
    for item in &items {
        parents.push(match parent(item) {
            None => None,
            Some(p) => Some(
                *index
                    .get(p)
                    .ok_or_else(|| data_error(file, format!("{what}「{}」的上级「{p}」不存在", code(item))))?,
            ),
        });
    }
    // 0 = not visited, 1 = on the current chain, 2 = placed.
    let mut mark = vec![0u8; items.len()];
    let mut order = Vec::with_capacity(items.len());
    for start in 0..items.len() {
        let mut chain = Vec::new();
        let mut current = Some(start);
        while let Some(i) = current {
            match mark[i] {
                2 => break,
                1 => {
                    return Err(data_error(file, format!("{what}「{}」的上级关系形成了循环", code(&items[i]))));
                }
                _ => {
                    mark[i] = 1;
                    chain.push(i);
                    current = parents[i];
                }
            }
        }
        for &i in chain.iter().rev() {
            mark[i] = 2;
            order.push(i);
        }
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

fn check_units(units: &[UnitDef]) -> Result<(), DemoError> {
    if !units.iter().any(|u| u.kind == UnitKind::City) {
        return Err(data_error(ORG_FILE, "缺少 kind = \"city\" 的市级根单位"));
    }
    for u in units {
        if u.name.trim().is_empty() {
            return Err(data_error(ORG_FILE, format!("单位「{}」的名称为空", u.code)));
        }
        if !u.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
            return Err(data_error(ORG_FILE, format!("单位编码「{}」只能使用字母、数字和 - _ .", u.code)));
        }
        // Kinds nest as the administration pages allow (departments and towns under the city…).
        let parent = u.parent.as_ref().and_then(|p| units.iter().find(|other| &other.code == p));
        if let Some(parent) = parent
            && let Err(e) = u.kind.check_parent(parent.kind)
        {
            return Err(data_error(ORG_FILE, format!("单位「{}」：{}", u.code, e.message)));
        }
    }
    Ok(())
}

fn check_categories(categories: &[CategoryDef], units: &[UnitDef]) -> Result<(), DemoError> {
    let handling: HashSet<&str> = units.iter().filter(|u| u.kind != UnitKind::City).map(|u| u.code.as_str()).collect();
    for c in categories {
        if c.name.trim().is_empty() {
            return Err(data_error(CATEGORIES_FILE, format!("分类「{}」的名称为空", c.code)));
        }
        if let Some(lead) = &c.lead
            && !handling.contains(lead.as_str())
        {
            return Err(data_error(
                CATEGORIES_FILE,
                format!("分类「{}」的承办单位「{lead}」不在 {ORG_FILE} 中，或是市级根单位", c.code),
            ));
        }
    }
    Ok(())
}

fn check_text(text: &TextMaterial, categories: &[CategoryDef]) -> Result<(), DemoError> {
    let lists: [(&str, &[String]); 9] = [
        ("surnames", &text.surnames),
        ("given_names", &text.given_names),
        ("enterprise_prefixes", &text.enterprise_prefixes),
        ("enterprise_suffixes", &text.enterprise_suffixes),
        ("streets", &text.streets),
        ("stage_replies", &text.stage_replies),
        ("return_reasons", &text.return_reasons),
        ("extension_reasons", &text.extension_reasons),
        ("dissatisfied_comments", &text.dissatisfied_comments),
    ];
    for (name, list) in lists {
        if list.iter().all(|s| s.trim().is_empty()) {
            return Err(data_error(REQUESTS_FILE, format!("{name} 不能为空")));
        }
        if list.iter().any(|s| s.trim().is_empty()) {
            return Err(data_error(REQUESTS_FILE, format!("{name} 含有空字符串")));
        }
        for s in list {
            check_placeholders(s)?;
        }
    }
    if text.templates.is_empty() {
        return Err(data_error(REQUESTS_FILE, "至少需要一个 [[template]]"));
    }
    for t in &text.templates {
        let at = format!("分类「{}」的模板", t.category);
        match categories.iter().find(|c| c.code == t.category) {
            None => return Err(data_error(REQUESTS_FILE, format!("{at}：该分类不在 {CATEGORIES_FILE} 中"))),
            Some(c) if c.lead.is_none() => {
                return Err(data_error(REQUESTS_FILE, format!("{at}：该分类没有承办单位（lead），不能派单")));
            }
            Some(_) => {}
        }
        if t.kinds.is_empty() {
            return Err(data_error(REQUESTS_FILE, format!("{at}：kinds 不能为空")));
        }
        if !(0.0..=1.0).contains(&t.enterprise_share) {
            return Err(data_error(REQUESTS_FILE, format!("{at}：enterprise_share 应在 0 到 1 之间")));
        }
        if t.titles.is_empty() || t.titles.len() != t.contents.len() {
            return Err(data_error(REQUESTS_FILE, format!("{at}：titles 与 contents 应一一对应且不能为空")));
        }
        if t.replies.is_empty() {
            return Err(data_error(REQUESTS_FILE, format!("{at}：replies 不能为空")));
        }
        for s in t.titles.iter().chain(&t.contents).chain(&t.replies) {
            if s.trim().is_empty() {
                return Err(data_error(REQUESTS_FILE, format!("{at}：含有空字符串")));
            }
            check_placeholders(s)?;
        }
    }
    Ok(())
}

/// Rejects `{...}` placeholders the generator does not know and unbalanced braces.
fn check_placeholders(s: &str) -> Result<(), DemoError> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(data_error(REQUESTS_FILE, format!("文本中的「{{」没有配对的「}}」：{s}")));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(data_error(
                REQUESTS_FILE,
                format!(
                    "未知占位符「{{{name}}}」（可用：{}）：{s}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                ),
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(data_error(REQUESTS_FILE, format!("文本中有多余的「}}」：{s}")));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_parses_and_is_sorted() {
        let data = DemoData::bundled().unwrap();
        assert!(data.units.len() > 100);
        assert_eq!(data.text.templates.len(), data.categories.iter().filter(|c| c.lead.is_some()).count());
        let mut seen = HashSet::new();
        for u in &data.units {
            if let Some(p) = &u.parent {
                assert!(seen.contains(p.as_str()), "{} before its parent {p}", u.code);
            }
            seen.insert(u.code.as_str());
        }
        let mut seen = HashSet::new();
        for c in &data.categories {
            if let Some(p) = &c.parent {
                assert!(seen.contains(p.as_str()));
            }
            seen.insert(c.code.as_str());
        }
    }

    #[test]
    fn from_dir_reads_the_same_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let read = DemoData::from_dir(&dir).unwrap();
        let bundled = DemoData::bundled().unwrap();
        assert_eq!(read.units.len(), bundled.units.len());
        assert_eq!(read.categories.len(), bundled.categories.len());
        assert_eq!(read.text.templates.len(), bundled.text.templates.len());
        let err = DemoData::from_dir(&dir.join("missing")).unwrap_err();
        assert!(err.0.contains(ORG_FILE), "{err}");
    }

    const CATS: &str = "[[category]]\ncode = \"a\"\nname = \"A\"\n[[category]]\ncode = \"a.b\"\nname = \"B\"\nparent = \"a\"\nlead = \"d\"\n";

    fn requests_toml() -> String {
        let list = "[\"x\"]";
        format!(
            "surnames = {list}\ngiven_names = {list}\nenterprise_prefixes = {list}\nenterprise_suffixes = {list}\nstreets = {list}\n\
             stage_replies = {list}\nreturn_reasons = {list}\nextension_reasons = {list}\ndissatisfied_comments = {list}\n\
             [[template]]\ncategory = \"a.b\"\nkinds = [\"help\"]\nenterprise_share = 0.5\ntitles = [\"在{{镇街}}\"]\ncontents = [\"c\"]\nreplies = [\"r\"]\n"
        )
    }

    #[test]
    fn sorts_children_after_parents_whatever_the_file_order() {
        let org = "[[unit]]\ncode = \"d\"\nname = \"D\"\nkind = \"department\"\nparent = \"c\"\n\
                   [[unit]]\ncode = \"s\"\nname = \"S\"\nkind = \"subunit\"\nparent = \"d\"\n\
                   [[unit]]\ncode = \"c\"\nname = \"C\"\nkind = \"city\"\n";
        let data = DemoData::parse(org, CATS, &requests_toml()).unwrap();
        let codes: Vec<&str> = data.units.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(codes, ["c", "d", "s"]);
    }

    #[test]
    fn rejects_cycles_unknown_parents_and_placeholders() {
        let cycle = "[[unit]]\ncode = \"c\"\nname = \"C\"\nkind = \"city\"\n\
                     [[unit]]\ncode = \"d\"\nname = \"D\"\nkind = \"department\"\nparent = \"e\"\n\
                     [[unit]]\ncode = \"e\"\nname = \"E\"\nkind = \"department\"\nparent = \"d\"\n";
        let err = DemoData::parse(cycle, CATS, &requests_toml()).unwrap_err();
        assert!(err.0.contains("循环"), "{err}");

        let org = "[[unit]]\ncode = \"c\"\nname = \"C\"\nkind = \"city\"\n[[unit]]\ncode = \"d\"\nname = \"D\"\nkind = \"department\"\nparent = \"x\"\n";
        let err = DemoData::parse(org, CATS, &requests_toml()).unwrap_err();
        assert!(err.0.contains("「x」不存在"), "{err}");

        let org = "[[unit]]\ncode = \"c\"\nname = \"C\"\nkind = \"city\"\n[[unit]]\ncode = \"d\"\nname = \"D\"\nkind = \"department\"\nparent = \"c\"\n";
        assert!(DemoData::parse(org, CATS, &requests_toml()).is_ok());
        let bad = requests_toml().replace("{镇街}", "{街道}");
        let err = DemoData::parse(org, CATS, &bad).unwrap_err();
        assert!(err.0.contains("未知占位符"), "{err}");
        let err = DemoData::parse(org, &CATS.replace("lead = \"d\"", "lead = \"c\""), &requests_toml()).unwrap_err();
        assert!(err.0.contains("市级根单位"), "{err}");
    }

    #[test]
    fn toml_errors_name_the_file() {
        let err = DemoData::parse("[[unit]]\ncode = 1", CATS, &requests_toml()).unwrap_err();
        assert!(err.0.contains(ORG_FILE), "{err}");
    }
}
