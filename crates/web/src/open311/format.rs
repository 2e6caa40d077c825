//! The two formats of Open311, XML and JSON, written from one tree of values,
//! and the Open311 error answer (`errors/error`, `[{"code", "description"}]`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use mashangban_domain::DomainError;
use mashangban_store::StoreError;

use crate::error::ApiError;

/// The format a client asks for with the suffix of the resource (`.xml`, `.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "xml" => Some(Self::Xml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "text/xml; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// Splits `services.json` or `biz.change.xml` into the name and the format.
pub fn split_file(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    Some((name, Format::from_extension(ext)?))
}

/// A value of an Open311 document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    /// No value: JSON `null`, an empty XML element.
    Null,
    /// Fields in order: a JSON object; child elements in XML.
    Object(Vec<(&'static str, Node)>),
    /// A JSON array; in XML one child element per item, named by the first field.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }
}

/// Builds an object field by field, leaving out absent values.
#[derive(Debug, Default)]
pub struct Fields(Vec<(&'static str, Node)>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &'static str, value: Node) -> Self {
        self.0.push((name, value));
        self
    }

    pub fn text(self, name: &'static str, value: impl Into<String>) -> Self {
        self.with(name, Node::text(value))
    }

    /// Adds the field only when there is a value.
    pub fn opt(self, name: &'static str, value: Option<Node>) -> Self {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    pub fn opt_text(self, name: &'static str, value: Option<String>) -> Self {
        self.opt(name, value.map(Node::Text))
    }

    pub fn build(self) -> Node {
        Node::Object(self.0)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(s) => serializer.serialize_str(s),
            Self::Integer(n) => serializer.serialize_i64(*n),
            Self::Number(n) if n.is_finite() => serializer.serialize_f64(*n),
            Self::Number(_) | Self::Null => serializer.serialize_none(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
            Self::List(_, items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// A whole answer: its XML root element and its content. A list answer is a
/// JSON array at the top; an object answer is a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: &'static str,
    pub body: Node,
}

impl Document {
    /// A list answer, e.g. `services` of `service`.
    pub fn list(root: &'static str, item: &'static str, items: Vec<Node>) -> Self {
        Self { root, body: Node::List(item, items) }
    }

    pub fn object(root: &'static str, body: Node) -> Self {
        Self { root, body }
    }

    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_element(&mut out, self.root, &self.body);
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_else(|_| "[]".into())
    }

    pub fn render(&self, format: Format, status: StatusCode) -> Response {
        let body = match format {
            Format::Xml => self.to_xml(),
            Format::Json => self.to_json(),
        };
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        response
    }
}

fn write_element(out: &mut String, name: &str, node: &Node) {
    if *node == Node::Null {
        out.push_str(&format!("<{name}/>"));
        return;
    }
    out.push_str(&format!("<{name}>"));
    match node {
        Node::Text(s) => escape_into(out, s),
        Node::Integer(n) => out.push_str(&n.to_string()),
        Node::Number(n) if n.is_finite() => out.push_str(&n.to_string()),
        Node::Number(_) | Node::Null => {}
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Object(fields) => fields.iter().for_each(|(child, value)| write_element(out, child, value)),
        Node::List(item, items) => items.iter().for_each(|value| write_element(out, item, value)),
    }
    out.push_str(&format!("</{name}>"));
}

/// Escapes text for XML and drops the characters XML 1.0 cannot carry.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// An Open311 error: an HTTP status and a description in plain Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub description: String,
}

impl Failure {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self { status, description: description.into() }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    /// `errors/error` with `code` (the HTTP status) and `description`.
    pub fn document(&self) -> Document {
        let error = Fields::new()
            .with("code", Node::Integer(i64::from(self.status.as_u16())))
            .text("description", self.description.clone())
            .build();
        Document::list("errors", "error", vec![error])
    }

    pub fn render(&self, format: Format) -> Response {
        self.document().render(format, self.status)
    }
}

/// Our own API errors in Open311 terms: 401 becomes 403, every input
/// problem (422, 409, 415) is a 400.
impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let status = match e.status.as_u16() {
            401 | 403 => StatusCode::FORBIDDEN,
            404 => StatusCode::NOT_FOUND,
            413 => StatusCode::PAYLOAD_TOO_LARGE,
            429 => StatusCode::TOO_MANY_REQUESTS,
            500..=599 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.message)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<mashangban_app::AppError> for Failure {
    fn from(e: mashangban_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        ApiError::from(e).into()
    }
}

/// The answer in the format asked for.
pub fn reply(format: Format, result: Result<Document, Failure>) -> Response {
    match result {
        Ok(document) => document.render(format, StatusCode::OK),
        Err(failure) => failure.render(format),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_text_and_drops_what_xml_cannot_carry() {
        let mut out = String::new();
        escape_into(&mut out, "a<b>&\"c'\u{1}\t中");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos;\t中");
    }

    #[test]
    fn one_tree_two_formats() {
        let item = Fields::new()
            .text("service_code", "biz.change")
            .with("metadata", Node::Bool(true))
            .with("lat", Node::Number(22.5))
            .with("account_id", Node::Null)
            .with("formats", Node::List("format", vec![Node::text("text/xml")]))
            .build();
        let doc = Document::list("services", "service", vec![item]);
        assert_eq!(
            doc.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<services><service><service_code>biz.change</service_code>\
             <metadata>true</metadata><lat>22.5</lat><account_id/><formats><format>text/xml</format></formats>\
             </service></services>\n"
        );
        assert_eq!(
            doc.to_json(),
            r#"[{"service_code":"biz.change","metadata":true,"lat":22.5,"account_id":null,"formats":["text/xml"]}]"#
        );
    }

    #[test]
    fn file_names_carry_the_format() {
        assert_eq!(split_file("biz.change.json"), Some(("biz.change", Format::Json)));
        assert_eq!(split_file("services.xml"), Some(("services", Format::Xml)));
        assert_eq!(split_file("services.html"), None);
        assert_eq!(split_file("services"), None);
    }
}
