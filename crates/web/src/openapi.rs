//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`,
//! generated from the route declarations ([`crate::routes`]): each route's
//! method, path, summary and query parameters, the roles its access admits
//! (from the permission table of `mashangban_domain::access`), the JSON
//! schemas of its body and answer (derived with schemars from the types the
//! handlers read and write), and its error codes. Nothing here is restated
//! by hand.

use std::collections::BTreeSet;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use mashangban_domain::access::Access;

use crate::error::ErrorBody;
use crate::routes::{Body, Route};

/// Errors of every JSON body.
const BAD_BODY: &[&str] = &[
    "malformed_json",
    "unknown_field",
    "invalid_field",
    "unsupported_media_type",
    "payload_too_large",
    "body_incomplete",
];

/// Errors of every route that needs a signed-in caller.
const SIGNED_IN: &[&str] = &["unauthenticated", "invalid_token", "csrf_rejected", "permission_denied"];

const COMPONENTS: &str = "/components/schemas";

/// The whole document for these routes.
pub fn document<S>(routes: &[Route<S>]) -> Value {
    let mut schemas = Schemas::new();
    let error = schemas.answer(|g| g.subschema_for::<ErrorBody<'static>>());
    let mut paths = Map::new();
    for route in routes.iter().filter(|r| r.documented()) {
        let Some(method) = route.method() else { continue };
        let operation = operation(route, &mut schemas, &error);
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(map) = entry.as_object_mut() {
            map.insert(method.as_str().to_ascii_lowercase(), operation);
        }
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "马上办 mashangban API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "城市诉求办理平台的开放接口。时间为 RFC 3339（Asia/Shanghai，+08:00）；错误为 4xx 与 {\"code\", \"message\"}。x-roles 列出可调用的角色，x-permission 为所需权限，x-error-codes 为可能的错误代码。Open311 GeoReport v2 见 /open311/v2/discovery.json。"
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components(),
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "token": { "type": "http", "scheme": "bearer", "description": "mashangban token create 生成的接口令牌" }
            }
        }
    });
    schemas.rename_answer_refs(&mut document);
    document
}

fn operation<S>(route: &Route<S>, schemas: &mut Schemas, error: &Value) -> Value {
    let doc = &route.doc;
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters.extend(doc.query.iter().map(|(name, description)| {
        json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
    }));
    let errors = error_codes(route);
    let success = match doc.answer {
        Some(answer) => {
            json!({ "description": "成功", "content": { "application/json": { "schema": schemas.answer(answer) } } })
        }
        None => json!({ "description": "成功" }),
    };
    let mut value = json!({
        "tags": [doc.tag],
        "summary": doc.summary,
        "description": format!("{}。错误代码：{}", access_text(route.access), errors.join("、")),
        "parameters": parameters,
        "x-roles": route.access.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "x-error-codes": errors,
        "responses": {
            doc.status.to_string(): success,
            "4XX": { "description": "错误：{\"code\", \"message\"}", "content": { "application/json": { "schema": error } } }
        }
    });
    let Some(map) = value.as_object_mut() else { return value };
    if let Access::Permission(p) = route.access {
        map.insert("x-permission".into(), json!(p.code()));
    }
    let body = match doc.body {
        Body::None | Body::Form => None,
        Body::Json(schema) => {
            Some(json!({ "required": true, "content": { "application/json": { "schema": schemas.body(schema) } } }))
        }
        Body::Multipart => Some(json!({ "required": true, "content": { "multipart/form-data": { "schema": {
            "type": "object", "properties": { "file": { "type": "string", "format": "binary" } } } } } })),
    };
    if let Some(body) = body {
        map.insert("requestBody".into(), body);
    }
    if route.access != Access::Public {
        map.insert("security".into(), json!([{ "session": [] }, { "token": [] }]));
    }
    value
}

/// The common codes of its access and body, then its own, each once.
fn error_codes<S>(route: &Route<S>) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = Vec::new();
    if route.access != Access::Public {
        codes.extend(SIGNED_IN);
    }
    if matches!(route.doc.body, Body::Json(_)) {
        codes.extend(BAD_BODY);
    }
    codes.extend(route.doc.errors);
    let mut seen = BTreeSet::new();
    codes.retain(|c| seen.insert(*c));
    codes
}

fn access_text(access: Access) -> String {
    match access {
        Access::Public => "公开，无需登录".into(),
        Access::SignedIn => "需登录（会话 Cookie 或 Bearer 接口令牌）；数据权限内".into(),
        Access::Permission(p) => {
            let roles: Vec<&str> = p.roles().iter().map(|r| r.label()).collect();
            format!("需权限「{}」（{}），角色：{}", p.label(), p.code(), roles.join("、"))
        }
    }
}

/// The schemas of bodies (as they are read) and answers (as they are
/// written), kept in two generators because a type may differ between the
/// two (a field with a default is optional to send but always answered).
struct Schemas {
    bodies: SchemaGenerator,
    answers: SchemaGenerator,
    /// Answer schemas whose name a different body schema holds: renamed `…Answer`.
    renamed: BTreeSet<String>,
}

impl Schemas {
    fn new() -> Self {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = COMPONENTS.into();
            s.meta_schema = None;
        });
        Self {
            bodies: settings.clone().for_deserialize().into_generator(),
            answers: settings.for_serialize().into_generator(),
            renamed: BTreeSet::new(),
        }
    }

    fn body(&mut self, schema: crate::routes::SchemaFn) -> Value {
        schema(&mut self.bodies).to_value()
    }

    fn answer(&mut self, schema: impl FnOnce(&mut SchemaGenerator) -> schemars::Schema) -> Value {
        schema(&mut self.answers).to_value()
    }

    /// Both generators' definitions in one map. An answer schema that
    /// differs from the body schema of the same name (itself, or once its own
    /// references are renamed) is kept as `…Answer`.
    fn components(&mut self) -> Map<String, Value> {
        let mut all = self.bodies.take_definitions(true);
        let answers = self.answers.take_definitions(true);
        loop {
            let before = self.renamed.len();
            for (name, schema) in &answers {
                let mut schema = schema.clone();
                rename_refs(&mut schema, &self.renamed);
                if all.get(name).is_some_and(|body| *body != schema) {
                    self.renamed.insert(name.clone());
                }
            }
            if self.renamed.len() == before {
                break;
            }
        }
        for (name, mut schema) in answers {
            rename_refs(&mut schema, &self.renamed);
            let name = if self.renamed.contains(&name) { format!("{name}Answer") } else { name };
            all.entry(name).or_insert(schema);
        }
        all
    }

    /// Points the references of every answer at the renamed schemas.
    fn rename_answer_refs(&self, document: &mut Value) {
        let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|p| p.values_mut()) {
            if let Some(responses) = operation.get_mut("responses") {
                rename_refs(responses, &self.renamed);
            }
        }
    }
}

/// Rewrites `$ref`s to the `renamed` schemas to their `…Answer` names.
fn rename_refs(value: &mut Value, renamed: &BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let target = child.as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
                match target {
                    Some(target) if key == "$ref" && renamed.contains(target) => {
                        *child = json!(format!("#/components/schemas/{target}Answer"));
                    }
                    _ => rename_refs(child, renamed),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}
