//! Discovery, the service list (our leaf categories, 事项分类) and the
//! service definitions with the attributes a request of each service asks.

use mashangban_domain::org::OrgTree;
use mashangban_domain::request::RequestKind;
use mashangban_store::{Category, Store};

use super::Params;
use super::format::{Document, Failure, Fields, Node};
use mashangban_app::App;

/// When the Open311 interface (discovery, services, attributes) last changed.
pub const CHANGESET: &str = "2026-11-29T00:00:00+08:00";

const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// `GET discovery`.
pub fn discovery<S: Store>(app: &App<S>, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let formats = vec![Node::text("text/xml"), Node::text("application/json")];
    let endpoint = Fields::new()
        .text("specification", SPECIFICATION)
        .text("url", format!("{}/open311/v2", app.settings().public_url.trim_end_matches('/')))
        .text("changeset", CHANGESET)
        .text("type", "production")
        .with("formats", Node::List("format", formats))
        .build();
    let body = Fields::new()
        .text("changeset", CHANGESET)
        .text("contact", "12345政务服务便民热线：拨打12345，或通过本平台网站提交诉求")
        .text("key_service", "api_key 即本平台的接口令牌，由平台管理员签发（mashangban token create --role operator）")
        .with("endpoints", Node::List("endpoint", vec![endpoint]))
        .build();
    Ok(Document::object("discovery", body))
}

/// The categories requests can be filed under: active ones without active children.
pub fn leaves(categories: &[Category]) -> impl Iterator<Item = &Category> {
    categories.iter().filter(|c| c.active && !categories.iter().any(|x| x.active && x.parent_id == Some(c.id)))
}

/// A service by its code (a leaf category).
pub fn find<'a>(categories: &'a [Category], code: &str) -> Option<&'a Category> {
    leaves(categories).find(|c| c.code == code)
}

/// 404 for a service code we do not have.
pub fn unknown_service(code: &str) -> Failure {
    Failure::not_found(format!("没有编码为「{code}」的服务（诉求分类）"))
}

fn parent<'a>(categories: &'a [Category], category: &Category) -> Option<&'a Category> {
    let id = category.parent_id?;
    categories.iter().find(|c| c.id == id)
}

/// `GET services`.
pub fn list<S: Store>(app: &App<S>, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let categories = app.caches().categories();
    let org = app.caches().org();
    let items = leaves(&categories).map(|c| service_node(&categories, &org, c)).collect();
    Ok(Document::list("services", "service", items))
}

fn service_node(categories: &[Category], org: &OrgTree, category: &Category) -> Node {
    let group = parent(categories, category);
    Fields::new()
        .text("service_code", category.code.clone())
        .text("service_name", category.name.clone())
        .text("description", description(category, group, org))
        .with("metadata", Node::Bool(!attributes(group.map(|g| g.code.as_str())).is_empty()))
        .text("type", "realtime")
        .text("keywords", category.keywords.join(", "))
        .opt_text("group", group.map(|g| g.name.clone()))
        .build()
}

/// E.g. 企业开办与经营：企业变更与备案。默认承办单位：中山市市场监督管理局。
fn description(category: &Category, group: Option<&Category>, org: &OrgTree) -> String {
    let mut text = match group {
        Some(group) => format!("{}：{}。", group.name, category.name),
        None => format!("{}。", category.name),
    };
    if let Some(unit) = category.default_lead_unit_id.and_then(|u| org.get(u)) {
        text.push_str(&format!("默认承办单位：{}。", unit.name));
    }
    text
}

/// `GET services/{code}` (and `service/{code}`): the service definition.
pub fn definition<S: Store>(app: &App<S>, code: &str, params: &Params) -> Result<Document, Failure> {
    params.check_jurisdiction()?;
    let categories = app.caches().categories();
    let category = find(&categories, code).ok_or_else(|| unknown_service(code))?;
    let attributes = attributes_of(&categories, category).iter().zip(1..).map(|(a, order)| a.node(order)).collect();
    let body = Fields::new()
        .text("service_code", category.code.clone())
        .with("attributes", Node::List("attribute", attributes))
        .build();
    Ok(Document::object("service_definition", body))
}

/// The attributes a service asks, by its category group.
pub fn attributes_of(categories: &[Category], service: &Category) -> Vec<Attribute> {
    attributes(parent(categories, service).map(|g| g.code.as_str()))
}

/// The datatypes of Open311 attributes we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    String,
    SingleValueList,
    MultiValueList,
}

impl Datatype {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::SingleValueList => "singlevaluelist",
            Self::MultiValueList => "multivaluelist",
        }
    }
}

/// An attribute a service asks (`attribute[code]` when posting).
#[derive(Debug, Clone)]
pub struct Attribute {
    pub code: &'static str,
    pub datatype: Datatype,
    pub required: bool,
    pub description: &'static str,
    pub datatype_description: &'static str,
    /// `(key, name)` for list datatypes.
    pub values: Vec<(&'static str, &'static str)>,
}

impl Attribute {
    fn node(&self, order: i64) -> Node {
        let values = self.values.iter().map(|(key, name)| Fields::new().text("key", *key).text("name", *name).build());
        Fields::new()
            .with("variable", Node::Bool(true))
            .text("code", self.code)
            .text("datatype", self.datatype.as_str())
            .with("required", Node::Bool(self.required))
            .text("datatype_description", self.datatype_description)
            .with("order", Node::Integer(order))
            .text("description", self.description)
            .with("values", Node::List("value", values.collect()))
            .build()
    }

    /// The key of a list value given by its key or its Chinese name.
    pub fn key_of(&self, value: &str) -> Option<&'static str> {
        self.values.iter().find(|(key, name)| *key == value || *name == value).map(|(key, _)| *key)
    }

    /// The Chinese name of a list value's key.
    pub fn name_of(&self, key: &str) -> Option<&'static str> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, name)| *name)
    }
}

/// Category groups whose matters happen at a time of day (pollution,
/// noise, waterlogging), so inspectors need to know when to come.
const TIMED_GROUPS: &[&str] = &["env", "water", "city"];

/// The attributes of a service in a category group: every service asks the
/// request type and, for enterprises, the credit code and name; services of
/// [`TIMED_GROUPS`] also ask when the matter occurs.
pub fn attributes(group: Option<&str>) -> Vec<Attribute> {
    let mut all = vec![request_kind(), credit_code(), enterprise_name()];
    if group.is_some_and(|g| TIMED_GROUPS.contains(&g)) {
        all.push(occurrence_periods());
    }
    all
}

fn request_kind() -> Attribute {
    Attribute {
        code: "request_kind",
        datatype: Datatype::SingleValueList,
        required: true,
        description: "诉求类型",
        datatype_description: "咨询、求助、投诉、举报、建议或表扬（key 或中文名称均可）",
        values: RequestKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
    }
}

fn credit_code() -> Attribute {
    Attribute {
        code: "enterprise_credit_code",
        datatype: Datatype::String,
        required: false,
        description: "企业诉求：统一社会信用代码",
        datatype_description: "18位统一社会信用代码（GB 32100-2015），含校验位；企业诉求须同时填写企业名称",
        values: Vec::new(),
    }
}

fn enterprise_name() -> Attribute {
    Attribute {
        code: "enterprise_name",
        datatype: Datatype::String,
        required: false,
        description: "企业诉求：企业名称",
        datatype_description: "与营业执照一致的企业名称，2至100个字；须与统一社会信用代码一同填写",
        values: Vec::new(),
    }
}

/// Key of the occurrence-period attribute.
pub const OCCURRENCE_PERIODS: &str = "occurrence_periods";

fn occurrence_periods() -> Attribute {
    Attribute {
        code: OCCURRENCE_PERIODS,
        datatype: Datatype::MultiValueList,
        required: false,
        description: "问题发生时段（可多选）",
        datatype_description: "可多选；写入诉求内容，供承办单位安排现场核查",
        values: vec![
            ("morning", "上午"),
            ("afternoon", "下午"),
            ("evening", "傍晚"),
            ("night", "夜间（22时至次日6时）"),
            ("holidays", "节假日"),
            ("all_day", "全天持续"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_asks_the_request_type_and_timed_groups_ask_when() {
        let codes = |group| attributes(group).iter().map(|a| a.code).collect::<Vec<_>>();
        assert_eq!(codes(Some("biz")), ["request_kind", "enterprise_credit_code", "enterprise_name"]);
        assert_eq!(codes(Some("env")).last(), Some(&OCCURRENCE_PERIODS));
        let kind = request_kind();
        assert_eq!(kind.key_of("投诉"), Some("complaint"));
        assert_eq!(kind.key_of("complaint"), Some("complaint"));
        assert_eq!(kind.key_of("抱怨"), None);
    }
}
