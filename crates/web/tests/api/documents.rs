//! Documents (附件) through the API and the pages: an enforcement case's
//! files round-trip with their SHA-256, the type comes from the bytes (a PNG
//! named .pdf stays a PNG, text is refused), a file over 10 MB and the 21st
//! are refused with nothing stored, another unit's handler gets 404 for the
//! case's documents, a withdrawal leaves the list and stays in the history;
//! a fund application's materials carry the enterprise's uploads; a
//! compensation matter's papers are labelled and recorded in its history.

use super::*;

pub(crate) const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<< /Title (record) >>\nendobj\n%%EOF\n";
/// `sha256sum` of [`PDF`], computed outside the program.
const PDF_SHA256: &str = "14d0e08512c7b52eacea2729d5d15ec07bfae59214d3d4496fda5dfbfb082b0f";
pub(crate) const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

/// Uploads files (name, bytes) with an optional purpose to `path` as `who`.
pub(crate) async fn upload(
    app: &App,
    path: &str,
    who: &Session,
    files: Vec<(&str, Vec<u8>)>,
    purpose: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    if let Some(p) = purpose {
        form = form.text("purpose", p.to_owned());
    }
    for (name, bytes) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/pdf").unwrap(),
        );
    }
    let res = app.http.post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A document's download, as the person fetches it.
pub(crate) async fn download(app: &App, id: i64, who: &Session) -> reqwest::Response {
    app.http.get(app.url(&format!("/api/v1/documents/{id}"))).header("cookie", &who.0).send().await.unwrap()
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

pub(crate) async fn listed(app: &App, path: &str, who: &Session) -> Vec<Value> {
    let (status, list) = app.get(path, Some(who)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

/// A case of the environment bureau opened from an alert by its handler; answers its id.
async fn case(app: &App, handler: &Session) -> i64 {
    let (_, alerts) = super::enforcement::park(app).await;
    let (status, case) =
        app.post("/api/v1/enforcement/cases", Some(handler), json!({ "alert": alerts[0], "note": "立案" })).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    case["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_cases_documents_round_trip_are_bounded_scoped_and_withdrawn_into_history() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let other = unit_handler(&app, "zrzyj", "h-zrzyj").await;
    let id = case(&app, &handler).await;
    let path = format!("/api/v1/enforcement/cases/{id}/documents");

    // Round trip: the bytes and the digest come back as uploaded.
    let added = upload(&app, &path, &handler, vec![("现场检查笔录.pdf", PDF.to_vec())], None).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    let doc = &added.1[0];
    assert_eq!(
        (doc["file_name"].as_str(), doc["content_type"].as_str(), doc["sha256"].as_str()),
        (Some("现场检查笔录.pdf"), Some("application/pdf"), Some(PDF_SHA256))
    );
    assert_eq!(doc["byte_size"].as_i64(), Some(PDF.len() as i64));
    assert!(!doc["uploaded_by"].as_str().unwrap().is_empty());
    let doc_id = doc["id"].as_i64().unwrap();
    let res = download(&app, doc_id, &handler).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''%E7%8E%B0%E5%9C%BA"), "the UTF-8 name: {disposition}");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), PDF);
    let digest = mashangban_domain::document::DocumentFile::new(None, bytes.to_vec()).unwrap().sha256;
    assert_eq!(digest, PDF_SHA256);

    // The type is the bytes': a PNG named .pdf is a PNG; text is refused.
    let png = upload(&app, &path, &handler, vec![("现场照片.pdf", PNG.to_vec())], None).await;
    assert_eq!(png.0, StatusCode::CREATED, "{}", png.1);
    assert_eq!(
        (png.1[0]["content_type"].as_str(), png.1[0]["file_name"].as_str()),
        (Some("image/png"), Some("现场照片.pdf"))
    );
    let text = upload(&app, &path, &handler, vec![("说明.pdf", "情况说明".as_bytes().to_vec())], None).await;
    assert_eq!(code(&text), (StatusCode::UNPROCESSABLE_ENTITY, Some("document_type_refused")));
    assert!(text.1["message"].as_str().unwrap().contains("PDF"));

    // Over 10 MB: refused, nothing stored (just over, and far over the body limit).
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let refused = upload(&app, &path, &handler, vec![("大文件.pdf", big)], None).await;
    assert_eq!(code(&refused), (StatusCode::PAYLOAD_TOO_LARGE, Some("document_too_large")), "{}", refused.1);
    let mut huge = PDF.to_vec();
    huge.resize(11 * 1024 * 1024, b' ');
    let refused = upload(&app, &path, &handler, vec![("大文件.pdf", huge)], None).await;
    assert_eq!(code(&refused), (StatusCode::PAYLOAD_TOO_LARGE, Some("document_too_large")), "{}", refused.1);
    assert_eq!(listed(&app, &path, &handler).await.len(), 2, "nothing stored");

    // Twenty at most: 18 more fit, the 21st is refused.
    let files: Vec<(&str, Vec<u8>)> = (0..18).map(|_| ("照片.png", PNG.to_vec())).collect();
    let more = upload(&app, &path, &handler, files, None).await;
    assert_eq!(more.0, StatusCode::CREATED, "{}", more.1);
    let one_more = upload(&app, &path, &handler, vec![("第21个.pdf", PDF.to_vec())], None).await;
    assert_eq!(code(&one_more), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many_documents")));
    assert_eq!(listed(&app, &path, &handler).await.len(), 20);

    // Another unit's handler: the case's documents are not there for them.
    let (status, body) = app.get(&path, Some(&other)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("case_not_found")));
    let (status, body) = app.get(&format!("/api/v1/documents/{doc_id}"), Some(&other)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_document")));
    let theirs = upload(&app, &path, &other, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!(theirs.0, StatusCode::NOT_FOUND);
    let (status, body) =
        app.post(&format!("/api/v1/documents/{doc_id}/withdraw"), Some(&other), json!({ "reason": "误传" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_document")));
    let operator = app.login("operator").await;
    let (status, _) = app.get(&format!("/api/v1/documents/{doc_id}"), Some(&operator)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no enforcement.read: not there");

    // Withdrawn with a reason: out of the list, in the case's history; a place frees up.
    let (status, body) =
        app.post(&format!("/api/v1/documents/{doc_id}/withdraw"), Some(&handler), json!({ "reason": " " })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required")));
    let (status, body) = app
        .post(&format!("/api/v1/documents/{doc_id}/withdraw"), Some(&handler), json!({ "reason": "上传错了版本" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["withdrawn"].as_bool(), body["withdrawn_reason"].as_str()), (Some(true), Some("上传错了版本")));
    let again = app
        .post(&format!("/api/v1/documents/{doc_id}/withdraw"), Some(&handler), json!({ "reason": "再撤一次" }))
        .await;
    assert_eq!(code(&again), (StatusCode::CONFLICT, Some("document_withdrawn")));
    let list = listed(&app, &path, &handler).await;
    assert_eq!(list.len(), 19);
    assert!(list.iter().all(|d| d["id"].as_i64() != Some(doc_id)));
    let (_, detail) = app.get(&format!("/api/v1/enforcement/cases/{id}"), Some(&handler)).await;
    let history = detail["history"].as_array().unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "document_added").count(), 20, "{kinds:?}");
    let withdrawn =
        history.iter().find(|e| e["kind"] == "document_withdrawn").expect("the withdrawal is in the history");
    let note = withdrawn["note"].as_str().unwrap();
    assert!(note.contains("现场检查笔录.pdf") && note.contains("上传错了版本"), "{note}");
    let res = download(&app, doc_id, &handler).await;
    assert_eq!(res.status(), StatusCode::OK, "the history's file can still be fetched");
    let last = upload(&app, &path, &handler, vec![("补充.pdf", PDF.to_vec())], None).await;
    assert_eq!(last.0, StatusCode::CREATED, "{}", last.1);
}

#[tokio::test]
async fn the_case_page_lists_documents_and_uploads_through_a_form() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let id = case(&app, &handler).await;

    let post = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        super::browser::no_redirects()
            .post(app.url(&format!("/enforcement/cases/{id}/documents")))
            .header("cookie", &handler.0)
            .multipart(form)
            .send()
    };
    let res = post("询问笔录.pdf", PDF.to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/enforcement/cases/{id}#documents").as_str());
    let (status, html) = super::browser::page(&app, &format!("/enforcement/cases/{id}"), &handler).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("询问笔录.pdf") && html.contains("id=\"document-form\""), "listed with the form");

    let res = post("a.txt", b"hello".to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("附件只能是") && html.contains(&format!("/enforcement/cases/{id}#documents")), "{html}");

    let leader = super::enforcement::unit_leader(&app, "sthjj", "l-sthjj").await;
    let supervisor = app.login("supervisor").await;
    let (_, html) = super::browser::page(&app, &format!("/enforcement/cases/{id}"), &supervisor).await;
    assert!(html.contains("询问笔录.pdf") && !html.contains("id=\"document-form\""), "a reader sees no form");
    let (_, html) = super::browser::page(&app, &format!("/enforcement/cases/{id}"), &leader).await;
    assert!(html.contains("id=\"document-form\""), "the unit's leader may add");
}

#[tokio::test]
async fn a_fund_applications_materials_carry_the_enterprises_uploads() {
    let app = spawn().await;
    app.set_time("2023-06-01T10:00:00+08:00");
    let admin = app.login("admin").await;
    let allocations = json!([{ "year": 2023, "amount": "20000000" }]);
    let created = super::fund::create_policy(&app, &admin, super::fund::policy("20000000", allocations)).await;
    super::fund::register_enterprise(&app, &admin).await;
    let enterprise = app.login("enterprise").await;
    let body = json!({
        "measure_id": super::fund::measure_id(&created, "M02"),
        "year": 2023,
        "data": { "首次认定高新技术企业": true },
        "materials": [{ "name": "高新技术企业证书" }, { "name": "营业执照" }]
    });
    let id = super::fund::apply(&app, &enterprise, body).await;
    let path = format!("/api/v1/fund/applications/{id}/documents");

    let added = upload(&app, &path, &enterprise, vec![("证书.pdf", PDF.to_vec())], Some("高新技术企业证书")).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    let unknown = upload(&app, &path, &enterprise, vec![("x.pdf", PDF.to_vec())], Some("不在清单里")).await;
    assert_eq!(code(&unknown), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_material")));

    let (_, view) = app.get(&format!("/api/v1/fund/applications/{id}"), Some(&enterprise)).await;
    let materials = view["materials"].as_array().unwrap();
    assert_eq!(materials[0]["documents"][0]["file_name"].as_str(), Some("证书.pdf"), "{view}");
    assert_eq!(materials[1]["documents"].as_array().unwrap().len(), 0);
    let kinds: Vec<&str> = view["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["submit", "document_added"]);

    // The town reads them but does not upload; another town sees nothing.
    let town = unit_handler(&app, "guzhen", "h-guzhen").await;
    assert_eq!(listed(&app, &path, &town).await.len(), 1);
    let refused = upload(&app, &path, &town, vec![("x.pdf", PDF.to_vec())], None).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    let elsewhere = unit_handler(&app, "xiaolan", "h-xiaolan").await;
    let (status, _) = app.get(&path, Some(&elsewhere)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let doc_id = added.1[0]["id"].as_i64().unwrap();
    let (status, _) = app.get(&format!("/api/v1/documents/{doc_id}"), Some(&elsewhere)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, html) = super::browser::page(&app, &format!("/fund/applications/{id}"), &enterprise).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("证书.pdf") && html.contains("（未上传）"), "each material shows its files");
}

#[tokio::test]
async fn a_compensation_matters_papers_are_labelled_and_in_its_history() {
    let app = spawn().await;
    app.set_time("2026-12-04T10:00:00+08:00");
    let handler = unit_handler(&app, "sthjj", "h-sthjj").await;
    let case_id = case(&app, &handler).await;
    let (status, matter) = app
        .post("/api/v1/compensation/matters", Some(&handler), json!({ "case": case_id, "procedure": "ordinary" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{matter}");
    let id = matter["id"].as_i64().unwrap();
    let path = format!("/api/v1/compensation/matters/{id}/documents");
    let added = upload(&app, &path, &handler, vec![("鉴定报告.pdf", PDF.to_vec())], Some("鉴定评估报告")).await;
    assert_eq!(added.0, StatusCode::CREATED, "{}", added.1);
    assert_eq!(added.1[0]["purpose"].as_str(), Some("鉴定评估报告"));
    let (_, detail) = app.get(&format!("/api/v1/compensation/matters/{id}"), Some(&handler)).await;
    let entry = detail["history"].as_array().unwrap().iter().find(|e| e["kind"] == "document_added").cloned();
    let entry = entry.expect("the upload is in the matter's history");
    assert_eq!(entry["label"].as_str(), Some("上传附件"));
    assert!(entry["note"].as_str().unwrap().contains("鉴定评估报告"));
    let (_, html) = super::browser::page(&app, &format!("/compensation/{id}"), &handler).await;
    assert!(html.contains("鉴定报告.pdf") && html.contains("修复效果评估报告"), "listed, with the papers offered");
}
