//! Open311 GeoReport v2 conformance: every endpoint in XML and JSON, the
//! shapes of the specification, intake by API key (form and multipart), the
//! filters of `GET requests`, the errors, and no personal data in GET answers.

use super::*;

use mashangban_domain::org::Role;

const V2: &str = "/open311/v2";
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
/// What the asker of [`complaint_form`] gave that must never be shown.
const PERSONAL: &[&str] = &["陈嘉欣", "嘉欣", "13800138000", "chen.jiaxin@example.cn", ENTERPRISE_CODE];

/// An API key: an API token of `role` in `unit`.
async fn api_key(app: &App, role: Role, unit: &str) -> String {
    let unit = app.store.list_units().await.unwrap().into_iter().find(|u| u.code == unit).unwrap();
    let secret = auth::new_api_token();
    app.store
        .create_api_token(
            NewApiToken {
                name: "Open311 客户端".into(),
                token_hash: auth::hash_secret(&secret),
                role,
                unit_id: Some(unit.id),
            },
            crate::tester(),
        )
        .await
        .unwrap();
    secret
}

async fn operator_key(app: &App) -> String {
    api_key(app, Role::Operator, "zwfw-12345").await
}

/// GET: status, body, content type.
async fn raw_get(app: &App, path: &str) -> (StatusCode, String, String) {
    let res = app.http.get(app.url(&format!("{V2}/{path}"))).send().await.unwrap();
    let status = res.status();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, res.text().await.unwrap(), content_type)
}

async fn get_json(app: &App, path: &str) -> (StatusCode, Value) {
    let (status, body, content_type) = raw_get(app, path).await;
    assert_eq!(content_type, "application/json; charset=utf-8", "{path}");
    assert_no_personal_data(&body);
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")))
}

async fn get_xml(app: &App, path: &str) -> (StatusCode, String) {
    let (status, body, content_type) = raw_get(app, path).await;
    assert_eq!(content_type, "text/xml; charset=utf-8", "{path}");
    assert_no_personal_data(&body);
    (status, body)
}

fn assert_no_personal_data(body: &str) {
    for personal in PERSONAL {
        assert!(!body.contains(personal), "「{personal}」 appears in {body}");
    }
}

/// Parses XML with a real parser, checking the declaration and the root.
fn xml<'a>(text: &'a str, root: &str) -> roxmltree::Document<'a> {
    assert!(text.starts_with(XML_DECLARATION), "declaration: {text}");
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(doc.root_element().tag_name().name(), root, "{text}");
    doc
}

fn kids<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|c| c.is_element() && c.tag_name().name() == name).collect()
}

fn kid<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    kids(node, name).into_iter().next().unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
}

fn text_of(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    kid(node, name).text().unwrap_or_default().to_owned()
}

/// Checks an Open311 error in JSON: `[{"code", "description"}]`.
fn assert_json_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    let errors = body.as_array().unwrap_or_else(|| panic!("errors are a list: {body}"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], expected.as_u16());
    assert!(!errors[0]["description"].as_str().unwrap().is_empty());
}

fn assert_xml_error(status: StatusCode, body: &str, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    let doc = xml(body, "errors");
    let error = kid(doc.root_element(), "error");
    assert_eq!(text_of(error, "code"), expected.as_u16().to_string());
    assert!(!text_of(error, "description").is_empty());
}

type Form = Vec<(String, String)>;

/// An enterprise complaint with the asker's name, phone, e-mail and credit code inside the text too.
fn complaint_form(key: &str) -> Form {
    [
        ("api_key", key),
        ("jurisdiction_id", "zhongshan"),
        ("service_code", "biz.change"),
        ("attribute[request_kind]", "complaint"),
        ("attribute[enterprise_credit_code]", ENTERPRISE_CODE),
        ("attribute[enterprise_name]", "中山市华凯灯饰有限公司"),
        ("lat", "22.5176"),
        ("long", "113.3926"),
        ("address_string", "石岐街道孙文中路1号"),
        ("first_name", "嘉欣"),
        ("last_name", "陈"),
        ("phone", "13800138000"),
        ("email", "chen.jiaxin@example.cn"),
        ("device_id", "ios-42"),
        ("account_id", "u-1001"),
        (
            "description",
            "营业执照变更登记迟迟未办结。我是陈嘉欣，电话13800138000，统一社会信用代码91350100M000100Y43，请尽快处理。",
        ),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn consultation_form(key: &str) -> Form {
    [
        ("api_key", key),
        ("service_code", "social.pension"),
        ("attribute[request_kind]", "咨询"),
        ("address_id", "xiaolan"),
        ("phone", "0760-88123456"),
        ("description", "从外省调入中山工作，养老保险关系如何转移？"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn with(mut form: Form, key: &str, value: &str) -> Form {
    form.retain(|(k, _)| k != key);
    form.push((key.to_owned(), value.to_owned()));
    form
}

fn without(mut form: Form, key: &str) -> Form {
    form.retain(|(k, _)| k != key);
    form
}

async fn post_form(app: &App, file: &str, form: &Form) -> (StatusCode, String) {
    let res = app.http.post(app.url(&format!("{V2}/{file}"))).form(form).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Posts in JSON and returns the new service request id.
async fn create(app: &App, form: &Form) -> String {
    let (status, body) = post_form(app, "requests.json", form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer[0]["service_request_id"].as_str().unwrap().to_owned()
}

/// The service request ids of a JSON list.
fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_owned()).collect()
}

async fn list_ids(app: &App, query: &str) -> Vec<String> {
    let (status, list) = get_json(app, &format!("requests.json?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    ids(&list)
}

#[tokio::test]
async fn discovery_services_and_definitions_in_both_formats() {
    let app = spawn().await;

    let (status, discovery) = get_json(&app, "discovery.json").await;
    assert_eq!(status, StatusCode::OK);
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(endpoint["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert!(endpoint["url"].as_str().unwrap().ends_with("/open311/v2"));
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    assert!(discovery["changeset"].as_str().unwrap().ends_with("+08:00"));
    let (status, body) = get_xml(&app, "discovery.xml").await;
    assert_eq!(status, StatusCode::OK);
    let doc = xml(&body, "discovery");
    let endpoint = kid(kid(doc.root_element(), "endpoints"), "endpoint");
    let formats: Vec<_> =
        kids(kid(endpoint, "formats"), "format").iter().map(|f| f.text().unwrap().to_owned()).collect();
    assert_eq!(formats, ["text/xml", "application/json"]);

    // Services are the leaf categories.
    let (_, categories) = app.get("/api/v1/categories", None).await;
    let categories = categories.as_array().unwrap();
    let parents: Vec<&str> = categories.iter().filter_map(|c| c["parent"].as_str()).collect();
    let leaves: Vec<&str> =
        categories.iter().map(|c| c["code"].as_str().unwrap()).filter(|c| !parents.contains(c)).collect();
    let (status, services) = get_json(&app, "services.json").await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().unwrap();
    let codes: Vec<&str> = services.iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    assert_eq!(codes, leaves);
    let change = services.iter().find(|s| s["service_code"] == "biz.change").unwrap();
    assert_eq!(change["service_name"], "企业变更与备案");
    assert_eq!(change["group"], "企业开办与经营");
    assert_eq!(change["metadata"], true);
    assert_eq!(change["type"], "realtime");
    assert!(change["keywords"].as_str().unwrap().contains("经营范围"));
    assert!(change["description"].as_str().unwrap().contains("中山市市场监督管理局"));
    let (_, body) = get_xml(&app, "services.xml").await;
    let doc = xml(&body, "services");
    let xml_services = kids(doc.root_element(), "service");
    assert_eq!(xml_services.len(), services.len());
    let first = xml_services[0];
    for field in ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"] {
        assert_eq!(kids(first, field).len(), 1, "<{field}> in {body}");
    }

    // A definition: every service asks the request type; env services also when it happens.
    let (status, definition) = get_json(&app, "services/biz.change.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(definition["service_code"], "biz.change");
    let attributes = definition["attributes"].as_array().unwrap();
    let kind = &attributes[0];
    assert_eq!((kind["code"].as_str(), kind["datatype"].as_str()), (Some("request_kind"), Some("singlevaluelist")));
    assert_eq!(
        (kind["required"].as_bool(), kind["variable"].as_bool(), kind["order"].as_i64()),
        (Some(true), Some(true), Some(1))
    );
    assert_eq!(kind["values"].as_array().unwrap().len(), 6);
    assert!(kind["values"].as_array().unwrap().contains(&json!({ "key": "complaint", "name": "投诉" })));
    let credit = attributes.iter().find(|a| a["code"] == "enterprise_credit_code").unwrap();
    assert_eq!((credit["datatype"].as_str(), credit["required"].as_bool()), (Some("string"), Some(false)));
    assert!(attributes.iter().any(|a| a["code"] == "enterprise_name"));
    assert!(!attributes.iter().any(|a| a["code"] == "occurrence_periods"));
    let (_, noise) = get_json(&app, "service/env.noise.json").await;
    let periods = noise["attributes"].as_array().unwrap().iter().find(|a| a["code"] == "occurrence_periods").unwrap();
    assert_eq!(periods["datatype"], "multivaluelist");

    for path in ["services/env.noise.xml", "service/env.noise.xml"] {
        let (status, body) = get_xml(&app, path).await;
        assert_eq!(status, StatusCode::OK);
        let doc = xml(&body, "service_definition");
        assert_eq!(text_of(doc.root_element(), "service_code"), "env.noise");
        let attributes = kids(kid(doc.root_element(), "attributes"), "attribute");
        assert_eq!(attributes.len(), 4);
        for field in ["variable", "code", "datatype", "required", "datatype_description", "order", "description"] {
            assert_eq!(kids(attributes[0], field).len(), 1, "<{field}>");
        }
        let values = kids(kid(attributes[0], "values"), "value");
        assert_eq!(values.len(), 6);
        assert_eq!((text_of(values[2], "key"), text_of(values[2], "name")), ("complaint".into(), "投诉".into()));
    }

    // Unknown services, resources and formats; the jurisdiction.
    let (status, body) = get_json(&app, "services/nope.json").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "service/biz.xml").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "nothing.xml").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "a/b/c.xml").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    for path in ["services.html", "services", "services/biz.change.yaml"] {
        let (status, body) = get_json(&app, path).await;
        assert_json_error(status, &body, StatusCode::NOT_FOUND);
    }
    assert_eq!(get_json(&app, "services.json?jurisdiction_id=zhongshan").await.0, StatusCode::OK);
    assert_eq!(get_json(&app, "services.json?jurisdiction_id=").await.0, StatusCode::OK);
    let (status, body) = get_json(&app, "services.json?jurisdiction_id=beijing").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "discovery.xml?jurisdiction_id=beijing").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    let res = app.http.delete(app.url(&format!("{V2}/services.xml"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_xml_error(StatusCode::METHOD_NOT_ALLOWED, &res.text().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn intake_by_form_joins_the_queue_and_reads_back_masked() {
    let app = spawn().await;
    let key = operator_key(&app).await;
    let dispatcher = app.login("dispatcher").await;

    let (status, body) = post_form(&app, "requests.json", &complaint_form(&key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer.as_array().unwrap().len(), 1);
    let no = answer[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(no.starts_with("ZS"), "{no}");
    assert_eq!(answer[0]["service_notice"], "本诉求将在15个工作日内答复");
    assert_eq!(answer[0]["account_id"], Value::Null);

    // The same queue as every other channel: channel `api`, the deadline from the rules, the asker kept for staff.
    let detail = app.detail(&no, &dispatcher).await;
    let r = &detail["request"];
    assert_eq!(
        (r["channel"].as_str(), r["kind"].as_str(), r["state"].as_str()),
        (Some("api"), Some("complaint"), Some("received"))
    );
    assert_eq!(r["category"]["code"], "biz.change");
    assert_eq!(r["asker"]["contact_name"], "陈嘉欣");
    assert_eq!(r["asker"]["contact_phone"], "13800138000");
    assert_eq!(r["asker"]["credit_code"], ENTERPRISE_CODE);
    let description = complaint_form(&key).into_iter().find(|(k, _)| k == "description").unwrap().1;
    assert_eq!(r["title"], description.chars().take(30).collect::<String>());
    assert_eq!(r["location"]["lat"], 22.5176);
    assert!(r["due_at"].as_str().unwrap().ends_with("17:30:00.000+08:00"));
    assert_eq!(detail["history"][0]["actor_name"], "接口:Open311 客户端");
    let (_, queue) = app.get("/api/v1/requests?channel=api", Some(&dispatcher)).await;
    assert_eq!(queue["items"][0]["tracking_no"], no.as_str());

    // Read back in JSON: the spec's fields, the asker's personal data nowhere.
    let (status, list) = get_json(&app, &format!("requests/{no}.json")).await;
    assert_eq!(status, StatusCode::OK);
    let one = &list.as_array().unwrap()[0];
    assert_eq!(one["service_request_id"], no.as_str());
    assert_eq!((one["status"].as_str(), one["service_code"].as_str()), (Some("open"), Some("biz.change")));
    assert_eq!(one["service_name"], "企业变更与备案");
    assert_eq!(one["status_notes"], "已受理");
    assert_eq!(one["service_notice"], "本诉求将在15个工作日内答复");
    assert!(one["description"].as_str().unwrap().contains("我是陈**，电话138****8000"), "{one}");
    assert!(one["requested_datetime"].as_str().unwrap().ends_with("+08:00"));
    assert!(one["updated_datetime"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(one["expected_datetime"], r["due_at"]);
    // Rounded to three decimals (about 100 m) for the public.
    assert_eq!((one["lat"].as_f64(), one["long"].as_f64()), (Some(22.518), Some(113.393)));
    assert_eq!(one["address"], "石岐街道孙文中路1号");
    assert!(one.get("media_url").is_none() && one.get("agency_responsible").is_none());

    // The same in XML, with the key in the query string.
    let mut form = without(consultation_form(&key), "api_key");
    form.push(("jurisdiction_id".into(), String::new()));
    let res = app.http.post(app.url(&format!("{V2}/requests.xml?api_key={key}"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/xml; charset=utf-8");
    let body = res.text().await.unwrap();
    let doc = xml(&body, "service_requests");
    let request = kid(doc.root_element(), "request");
    let second = text_of(request, "service_request_id");
    assert!(second.starts_with("ZS") && second != no);
    assert_eq!(text_of(request, "service_notice"), "本诉求将在2个工作日内答复");
    assert!(kid(request, "account_id").text().is_none());
    let (status, body) = get_xml(&app, &format!("requests/{second}.xml")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = xml(&body, "service_requests");
    let request = kid(doc.root_element(), "request");
    assert_eq!(text_of(request, "service_request_id"), second);
    assert_eq!(text_of(request, "address"), "小榄镇");
    assert_eq!(text_of(request, "address_id"), "xiaolan");
    assert_eq!(text_of(request, "service_code"), "social.pension");
    assert!(kids(request, "lat").is_empty());
    let detail = app.detail(&second, &dispatcher).await;
    assert_eq!(
        (detail["request"]["kind"].as_str(), detail["request"]["asker"]["type"].as_str()),
        (Some("consultation"), Some("resident"))
    );
    assert_eq!(detail["request"]["asker"]["contact_name"], "未留姓名");
    assert_eq!(detail["request"]["town"]["code"], "xiaolan");
}

#[tokio::test]
async fn intake_errors_and_empty_parameters() {
    let app = spawn().await;
    let key = operator_key(&app).await;
    let handler_key = api_key(&app, Role::Handler, "scjgj").await;
    let form = complaint_form(&key);

    // 403: no key, a wrong key, a key of a role that does not take in requests.
    let (status, body) = post_form(&app, "requests.json", &without(form.clone(), "api_key")).await;
    assert_json_error(status, &serde_json::from_str(&body).unwrap(), StatusCode::FORBIDDEN);
    let (status, body) = post_form(&app, "requests.xml", &with(form.clone(), "api_key", "msb_wrong")).await;
    assert_xml_error(status, &body, StatusCode::FORBIDDEN);
    let (status, body) = post_form(&app, "requests.json", &with(form.clone(), "api_key", &handler_key)).await;
    assert_json_error(status, &serde_json::from_str(&body).unwrap(), StatusCode::FORBIDDEN);
    // An `Authorization` header is not an API key.
    let res = app
        .http
        .post(app.url(&format!("{V2}/requests.json")))
        .bearer_auth(&key)
        .form(&without(form.clone(), "api_key"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // 404: another jurisdiction, an unknown service, an unknown format.
    let cases_404 =
        [with(form.clone(), "jurisdiction_id", "guangzhou"), with(form.clone(), "service_code", "biz.nope")];
    for case in &cases_404 {
        let (status, body) = post_form(&app, "requests.xml", case).await;
        assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    }
    let (status, body) = post_form(&app, "requests.csv", &form).await;
    assert_json_error(status, &serde_json::from_str(&body).unwrap(), StatusCode::NOT_FOUND);

    // 400: everything else wrong.
    let no_location = without(without(without(form.clone(), "lat"), "long"), "address_string");
    let cases_400 = [
        no_location.clone(),
        without(form.clone(), "long"),
        with(form.clone(), "lat", "north"),
        with(form.clone(), "lat", "95"),
        with(form.clone(), "address_id", "scjgj"),
        with(form.clone(), "description", &"长".repeat(4001)),
        without(form.clone(), "phone"),
        with(form.clone(), "phone", ""),
        with(form.clone(), "phone", "12345"),
        with(form.clone(), "email", "chen@"),
        with(form.clone(), "attribute[enterprise_credit_code]", "91350100M000100Y44"),
        without(form.clone(), "attribute[enterprise_name]"),
        without(form.clone(), "attribute[request_kind]"),
        with(form.clone(), "attribute[request_kind]", "抱怨"),
        with(form.clone(), "attribute[favourite_colour]", "红"),
        with(form.clone(), "description", "营业执照\u{0}变更"),
        with(form.clone(), "first_name", "陈\u{1b}[2J"),
        with(form.clone(), "attribute[]", "x"),
        without(form.clone(), "service_code"),
    ];
    for case in &cases_400 {
        let (status, body) = post_form(&app, "requests.json", case).await;
        assert_json_error(status, &serde_json::from_str(&body).unwrap(), StatusCode::BAD_REQUEST);
    }
    let (status, body) = post_form(&app, "requests.xml", &no_location).await;
    assert_xml_error(status, &body, StatusCode::BAD_REQUEST);
    assert!(body.contains("address_string"), "a clear description: {body}");
    let (status, body) = post_form(&app, "requests.json", &without(form.clone(), "phone")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("phone"), "{body}");
    let res =
        app.http.post(app.url(&format!("{V2}/requests.json"))).json(&json!({ "api_key": key })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/requests", Some(&app.login("dispatcher").await)).await.1["items"], json!([]));

    // Exactly 4,000 characters is fine; empty parameters count as absent.
    create(&app, &with(form.clone(), "description", &"长".repeat(4000))).await;
    let mut empties = with(with(no_location, "address_id", "xiaolan"), "jurisdiction_id", "");
    for key in
        ["lat", "long", "address_string", "device_id", "attribute[favourite_colour]", "attribute[occurrence_periods][]"]
    {
        empties.push((key.to_owned(), String::new()));
    }
    let no = create(&app, &empties).await;
    let (_, list) = get_json(&app, &format!("requests/{no}.json?jurisdiction_id=&extensions=")).await;
    assert_eq!(list[0]["address_id"], "xiaolan");
    assert!(list[0].get("extended_attributes").is_none());
}

#[tokio::test]
async fn multipart_media_and_list_attributes() {
    let app = spawn().await;
    let key = operator_key(&app).await;
    let dispatcher = app.login("dispatcher").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let multipart = |media: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("api_key", key.clone())
            .text("service_code", "env.noise")
            .text("attribute[request_kind]", "投诉")
            .text("attribute[occurrence_periods][]", "night")
            .text("attribute[occurrence_periods][]", "节假日")
            .text("attribute[occurrence_periods][]", "night")
            .text("address_string", "小榄镇工业大道88号")
            .text("phone", "13912345678")
            .text("description", "工厂夜间冲床噪声扰民")
            .part("media", reqwest::multipart::Part::bytes(media).file_name("../../photo.png"))
    };
    let res =
        app.http.post(app.url(&format!("{V2}/requests.xml"))).multipart(multipart(png.clone())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    let doc = xml(&body, "service_requests");
    let no = text_of(kid(doc.root_element(), "request"), "service_request_id");

    let detail = app.detail(&no, &dispatcher).await;
    let attachments = detail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["content_type"], "image/png");
    assert_eq!(attachments[0]["file_name"], "open311-media-1.png");
    assert_eq!(detail["request"]["content"], "工厂夜间冲床噪声扰民\n【发生时段】夜间（22时至次日6时）、节假日");
    assert_eq!(detail["request"]["kind"], "complaint");
    let (status, bytes) = {
        let res = app
            .http
            .get(app.url(&format!("/api/v1/requests/{no}/attachments/{}", attachments[0]["id"])))
            .header("cookie", &dispatcher.0)
            .send()
            .await
            .unwrap();
        (res.status(), res.bytes().await.unwrap())
    };
    assert_eq!((status, bytes.to_vec()), (StatusCode::OK, png.clone()));

    // Attachments are not public: no media_url.
    let (_, list) = get_json(&app, &format!("requests/{no}.json")).await;
    assert!(list[0].get("media_url").is_none());

    // A file we do not accept is refused before anything is taken in.
    let res = app
        .http
        .post(app.url(&format!("{V2}/requests.json")))
        .multipart(multipart(b"<html><script>alert(1)</script></html>".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (_, queue) = app.get("/api/v1/requests", Some(&dispatcher)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    // A single value list takes one value only; a value outside the list is refused.
    let form = reqwest::multipart::Form::new()
        .text("api_key", key.clone())
        .text("service_code", "env.noise")
        .text("attribute[request_kind]", "complaint")
        .text("attribute[request_kind][]", "report")
        .text("address_string", "小榄镇")
        .text("phone", "13912345678");
    let res = app.http.post(app.url(&format!("{V2}/requests.json"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let form = reqwest::multipart::Form::new()
        .text("api_key", key.clone())
        .text("service_code", "env.noise")
        .text("attribute[request_kind]", "complaint")
        .text("attribute[occurrence_periods][]", "midnight")
        .text("address_string", "小榄镇")
        .text("phone", "13912345678");
    let res = app.http.post(app.url(&format!("{V2}/requests.json"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // POST has its own body limit (the largest attachment + 64 KB), above axum's 2 MB default.
    let mut big = png.clone();
    big.resize(3 * 1024 * 1024, 0);
    let res = app.http.post(app.url(&format!("{V2}/requests.json"))).multipart(multipart(big)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut too_big = png;
    too_big.resize(app.state.settings().max_attachment_bytes + 1, 0);
    let res =
        app.http.post(app.url(&format!("{V2}/requests.json"))).multipart(multipart(too_big)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["code"], 413);
}

#[tokio::test]
async fn get_requests_filters_pages_extensions_and_tokens() {
    let app = spawn().await;
    let key = operator_key(&app).await;
    let dispatcher = app.login("dispatcher").await;

    app.set_time("2026-07-01T10:00:00+08:00");
    let old = create(&app, &consultation_form(&key)).await;
    app.set_time("2026-11-02T10:00:00+08:00");
    let a = create(&app, &complaint_form(&key)).await;
    app.set_time("2026-11-10T10:00:00+08:00");
    let b = create(&app, &consultation_form(&key)).await;
    app.set_time("2026-11-20T10:00:00+08:00");
    let noise = with(with(complaint_form(&key), "service_code", "env.noise"), "attribute[request_kind]", "help");
    let c = create(&app, &noise).await;
    app.set_time("2026-11-25T10:00:00+08:00");
    app.act(
        &b,
        "direct-close",
        &dispatcher,
        json!({ "answer": "请携带身份证到小榄镇社保窗口办理转移，咨询电话0760-22123456。" }),
    )
    .await;
    app.set_time("2026-11-26T10:00:00+08:00");
    app.act(&a, "dispatch", &dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&c, "merge", &dispatcher, json!({ "into": a })).await;
    app.set_time("2026-11-29T10:00:00+08:00");

    // The last 90 days by default, newest first; empty parameters are absent.
    let recent = vec![c.clone(), b.clone(), a.clone()];
    assert_eq!(list_ids(&app, "").await, recent);
    assert_eq!(
        list_ids(&app, "status=&service_code=&start_date=&end_date=&page=&page_size=&jurisdiction_id=").await,
        recent
    );
    assert_eq!(list_ids(&app, "jurisdiction_id=zhongshan").await, recent);
    // Status: closed is closed, followed up, archived, withdrawn and merged.
    assert_eq!(list_ids(&app, "status=open").await, [a.as_str()]);
    assert_eq!(list_ids(&app, "status=closed").await, [c.clone(), b.clone()]);
    assert_eq!(list_ids(&app, "status=open,closed").await, recent);
    // Services.
    assert_eq!(list_ids(&app, "service_code=biz.change").await, [a.as_str()]);
    assert_eq!(list_ids(&app, "service_code=biz.change,env.noise").await, [c.clone(), a.clone()]);
    // Dates: inclusive, with offset or as days; at most 90 days.
    assert_eq!(list_ids(&app, "start_date=2026-11-05&end_date=2026-11-15").await, [b.as_str()]);
    assert_eq!(list_ids(&app, "end_date=2026-11-15").await, [b.clone(), a.clone()]);
    assert_eq!(
        list_ids(&app, "start_date=2026-11-10T10:00:00%2B08:00&end_date=2026-11-10T02:00:00Z").await,
        [b.as_str()]
    );
    assert_eq!(list_ids(&app, "start_date=2026-06-15&end_date=2026-08-01").await, [old.as_str()]);
    assert_eq!(list_ids(&app, "start_date=2026-11-03").await, [c.clone(), b.clone()]);
    // Updated.
    assert_eq!(list_ids(&app, "updated_after=2026-11-25T12:00:00%2B08:00").await, [c.clone(), a.clone()]);
    assert_eq!(
        list_ids(&app, "updated_after=2026-11-24&updated_before=2026-11-25T12:00:00%2B08:00").await,
        [b.as_str()]
    );
    // Pages (1-based).
    assert_eq!(list_ids(&app, "page_size=1").await, [c.as_str()]);
    assert_eq!(list_ids(&app, "page_size=1&page=2").await, [b.as_str()]);
    assert_eq!(list_ids(&app, "page_size=2&page=2").await, [a.as_str()]);
    assert!(list_ids(&app, "page_size=1&page=4").await.is_empty());
    assert_eq!(list_ids(&app, "page_size=200").await, recent);
    // service_request_id overrides every other filter, keeps its order, leaves out unknown ids.
    let query = format!("service_request_id={b},{old},ZS20200101999999&status=open&service_code=env.noise");
    assert_eq!(list_ids(&app, &query).await, [b.clone(), old.clone()]);

    // The fields of each state.
    let (_, list) = get_json(&app, "requests.json").await;
    let by_id = |id: &str| list.as_array().unwrap().iter().find(|r| r["service_request_id"] == id).unwrap().clone();
    let (ra, rb, rc) = (by_id(&a), by_id(&b), by_id(&c));
    assert_eq!(ra["agency_responsible"], "中山市市场监督管理局");
    assert!(ra["status_notes"].as_str().unwrap().starts_with("已派单；最新进展：合并重复诉求"), "{ra}");
    assert_eq!(rb["status"], "closed");
    assert!(rb["status_notes"].as_str().unwrap().starts_with("已办结；最新进展：直接办结"), "{rb}");
    assert!(rb["status_notes"].as_str().unwrap().contains("0760-****3456"), "numbers masked: {rb}");
    assert_eq!(rc["status"], "closed");
    assert_eq!(rc["service_notice"], "本诉求将在10个工作日内答复");
    assert!(rb["updated_datetime"].as_str().unwrap().starts_with("2026-11-25T10:00:00"));
    assert!(rb["requested_datetime"].as_str().unwrap().starts_with("2026-11-10T10:00:00"));

    // Extensions: the public history as notes and our own attributes.
    let (_, list) = get_json(&app, "requests.json?extensions=true").await;
    let rows = list.as_array().unwrap();
    let rb = rows.iter().find(|r| r["service_request_id"] == b.as_str()).unwrap();
    let notes: Vec<&str> = rb["notes"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(notes, ["received", "directly_closed"]);
    assert!(rb["notes"][1]["description"].as_str().unwrap().contains("社保窗口"));
    assert_eq!(rb["notes"][1]["summary"], "直接办结");
    let ext = &rb["extended_attributes"];
    assert_eq!((ext["channel"].as_str(), ext["state"].as_str()), (Some("api"), Some("closed")));
    assert_eq!(ext["request_kind"], "consultation");
    assert!(ext["deadline"].as_str().unwrap().ends_with("+08:00"));
    let rc = rows.iter().find(|r| r["service_request_id"] == c.as_str()).unwrap();
    assert_eq!(rc["extended_attributes"]["merged_into"], a.as_str());
    assert_eq!(rc["extended_attributes"]["state"], "merged");
    let (status, body) = get_xml(&app, "requests.xml?extensions=true&status=closed").await;
    assert_eq!(status, StatusCode::OK);
    let doc = xml(&body, "service_requests");
    let requests = kids(doc.root_element(), "request");
    assert_eq!(requests.len(), 2);
    assert_eq!(text_of(requests[0], "service_request_id"), c);
    assert_eq!(text_of(kid(requests[0], "extended_attributes"), "merged_into"), a);
    let notes = kids(kid(requests[1], "notes"), "note");
    assert_eq!(text_of(notes[1], "type"), "directly_closed");
    for field in [
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "requested_datetime",
        "updated_datetime",
    ] {
        assert_eq!(kids(requests[1], field).len(), 1, "<{field}>");
    }

    // Errors: 400 for bad values, 404 for unknown codes and ids, in the format asked for.
    for query in [
        "start_date=2026-06-01&end_date=2026-11-29",
        "start_date=last-week",
        "start_date=2026-11-20&end_date=2026-11-10",
        "end_date=2026-13-01",
        "updated_after=yesterday",
        "status=pending",
        "page=0",
        "page_size=201",
        "page_size=ten",
        "extensions=yes",
    ] {
        let (status, body) = get_json(&app, &format!("requests.json?{query}")).await;
        assert_json_error(status, &body, StatusCode::BAD_REQUEST);
    }
    let (status, body) = get_xml(&app, "requests.xml?start_date=2026-06-01&end_date=2026-11-29").await;
    assert_xml_error(status, &body, StatusCode::BAD_REQUEST);
    let (status, body) = get_json(&app, "requests.json?service_code=biz.nope").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_json(&app, "requests/ZS20200101999999.json").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "requests/ZS20200101999999.xml").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, &format!("requests/{a}.xml?jurisdiction_id=foshan")).await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);

    // One request with extensions, in XML.
    let (status, body) = get_xml(&app, &format!("requests/{b}.xml?extensions=true")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = xml(&body, "service_requests");
    let request = kid(doc.root_element(), "request");
    assert_eq!(text_of(kid(request, "extended_attributes"), "channel"), "api");

    // Tokens: a tracking number is its own token.
    let (status, list) = get_json(&app, &format!("tokens/{a}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, json!([{ "service_request_id": a, "token": a }]));
    let (status, body) = get_xml(&app, &format!("tokens/{a}.xml")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = xml(&body, "service_requests");
    assert_eq!(text_of(kid(doc.root_element(), "request"), "token"), a);
    let (status, body) = get_json(&app, "tokens/nope.json").await;
    assert_json_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = get_xml(&app, "tokens/nope.xml").await;
    assert_xml_error(status, &body, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reports_stay_confidential() {
    let app = spawn().await;
    let mut report = enterprise_complaint();
    report["kind"] = json!("report");
    let (reported, _) = app.submit(report).await;
    let (listed, _) = app.submit(enterprise_complaint()).await;
    let (status, all) = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&listed.as_str()) && !ids.contains(&reported.as_str()), "{ids:?}");
    let (status, _) = app.get(&format!("/open311/v2/requests/{reported}.json"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, some) = app.get(&format!("/open311/v2/requests.json?service_request_id={reported},{listed}"), None).await;
    assert_eq!(some.as_array().unwrap().len(), 1);
}
