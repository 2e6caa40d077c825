//! Files of ledger items (issue 14): an outlet's 销号验收材料 uploaded for its file field sets the
//! field in the same transaction with the cell in the history, and only then may the office close
//! it (销号); a file field names only a document of that item that is not withdrawn (another item's,
//! a withdrawn one, an unknown id or a new item's value are `422 ledger_file_not_found`) and the
//! document a field names cannot be withdrawn; another town reads and changes nothing of it; bad
//! files are refused with their codes; the item page shows the file and uploads through a form;
//! the item's edit form saves values and files in one submit, or nothing;
//! exports show the file's name and import back unchanged, and an import cannot create files.

use super::documents::{PDF, PNG};
use super::*;

const ITEM: &str = "/api/v1/ledgers/outlet/items/HE000001442000GY0001";
const OTHER: &str = "/api/v1/ledgers/outlet/items/HE000001442000GY0002";

/// An outlet of 古镇镇 registered by the office straight into 整治, every field of it filled but the
/// acceptance file and the dates of 销号.
fn outlet(n: u32) -> Value {
    json!({ "stage": "remediate", "values": {
        "排污口编码": format!("HE000001442000GY{n:04}"),
        "排污口名称": format!("岐江河古镇{n}号排口"),
        "排污口类型": "工业排污口",
        "受纳水体代码": "HE000001",
        "受纳水体名称": "岐江河",
        "所在镇街": "古镇镇",
        "所在位置": "工业大道",
        "排查日期": "2026-03-01",
        "监测日期": "2026-03-05",
        "溯源结果": "周边企业生产废水",
        "溯源日期": "2026-03-10",
        "整治方式": "规范整治",
        "整治责任单位": "sthjj",
        "整治时限": "2026-10-31",
    }})
}

/// Uploads `files` (file name, bytes) as parts `file` to `path` with the text fields `texts` (e.g.
/// `field`, `purpose`).
async fn send(
    app: &App,
    path: &str,
    who: &Session,
    texts: &[(&str, &str)],
    files: Vec<(&str, Vec<u8>)>,
) -> reqwest::Response {
    send_parts(app, path, who, texts, files.into_iter().map(|(name, bytes)| ("file", name, bytes)).collect()).await
}

/// Posts a multipart form to `path`: the text fields `texts`, then `files` as (part name, file name, bytes).
async fn send_parts(
    app: &App,
    path: &str,
    who: &Session,
    texts: &[(&str, &str)],
    files: Vec<(&str, &str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in texts {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    for (part, name, bytes) in files {
        form = form.part(part.to_owned(), reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    }
    browser::no_redirects().post(app.url(path)).header("cookie", &who.0).multipart(form).send().await.unwrap()
}

async fn upload(
    app: &App,
    path: &str,
    who: &Session,
    texts: &[(&str, &str)],
    files: Vec<(&str, Vec<u8>)>,
) -> (StatusCode, Value) {
    let res = send(app, &format!("{path}/documents"), who, texts, files).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn cell(item: &Value, field: &str) -> Value {
    item["cells"].as_array().unwrap().iter().find(|c| c["field"] == field).unwrap()["text"].clone()
}

async fn put(app: &App, path: &str, who: &Session, body: Value) -> (StatusCode, Value) {
    app.call(reqwest::Method::PUT, path, Some(who), Some(body)).await
}

/// The office registers two outlets of 古镇镇 in 整治; answers the town's and the office's sessions.
async fn two_outlets(app: &App) -> (Session, Session) {
    let guzhen = unit_handler(app, "guzhen", "guzhen-handler").await;
    let office = unit_handler(app, "sthjj", "sthjj-handler").await;
    for n in 1..=2 {
        let (status, created) = app.post("/api/v1/ledgers/outlet/items", Some(&office), outlet(n)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    (guzhen, office)
}

#[tokio::test]
async fn an_acceptance_file_uploaded_for_its_field_is_in_the_history_and_lets_the_office_close_the_outlet() {
    let app = spawn().await;
    let (guzhen, office) = two_outlets(&app).await;
    let (status, item) = put(
        &app,
        ITEM,
        &guzhen,
        json!({ "version": 1, "values": { "整治完成日期": "2026-09-01", "销号日期": "2026-09-10" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let version = item["version"].as_i64().unwrap();

    // Without the file the office cannot close it.
    let (status, e) =
        app.post(&format!("{ITEM}/move"), Some(&office), json!({ "version": version, "to": "closed" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("stage_fields_missing")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("销号验收材料"), "{e}");

    // The town uploads it for the field: stored, the field set, the cell in the history.
    let (status, added) =
        upload(&app, ITEM, &guzhen, &[("field", "销号验收材料")], vec![("验收意见.pdf", PDF.to_vec())]).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let doc = added[0]["id"].as_i64().unwrap();
    assert_eq!(
        (added[0]["owner_kind"].as_str(), added[0]["purpose"].as_str(), added[0]["file_name"].as_str()),
        (Some("ledger_item"), Some("销号验收材料"), Some("验收意见.pdf"))
    );
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(detail["item"]["values"]["acceptance_file"], doc.to_string(), "{detail}");
    assert_eq!(detail["item"]["version"].as_i64(), Some(version + 1));
    assert_eq!(cell(&detail["item"], "acceptance_file"), "验收意见.pdf");
    let file = detail["files"].as_array().unwrap().iter().find(|f| f["field"] == "acceptance_file").unwrap();
    assert_eq!((file["document"]["id"].as_i64(), file["required_by"][0].as_str()), (Some(doc), Some("销号")));
    let last = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["action_label"].as_str()), (Some("document_added"), Some("上传附件")));
    assert!(last["note"].as_str().unwrap().contains("验收意见.pdf"), "{last}");
    assert_eq!(
        (
            last["changes"][0]["label"].as_str(),
            last["changes"][0]["before"].clone(),
            last["changes"][0]["after"].as_str()
        ),
        (Some("销号验收材料"), Value::Null, Some("《验收意见.pdf》")),
        "{last}"
    );
    let listed = app.get(&format!("{ITEM}/documents"), Some(&office)).await;
    assert_eq!((listed.0, listed.1.as_array().unwrap().len()), (StatusCode::OK, 1));

    // Now the office closes it.
    let (status, moved) =
        app.post(&format!("{ITEM}/move"), Some(&office), json!({ "version": version + 1, "to": "closed" })).await;
    assert_eq!((status, moved["stage"].as_str()), (StatusCode::OK, Some("closed")), "{moved}");
    // The answers of a move and of an update name the file, as the page does; the value stays the id.
    assert_eq!(cell(&moved, "acceptance_file"), "验收意见.pdf", "{moved}");
    let (status, updated) =
        put(&app, ITEM, &office, json!({ "version": version + 2, "values": { "销号日期": "2026-09-11" } })).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (cell(&updated, "acceptance_file"), &updated["values"]["acceptance_file"]),
        ("验收意见.pdf".into(), &json!(doc.to_string()))
    );

    // The file downloads through the item's path and the general one, with its bytes.
    for path in [format!("{ITEM}/documents/{doc}"), format!("/api/v1/documents/{doc}")] {
        let res = app.http.get(app.url(&path)).header("cookie", &office.0).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);
    }
    // A document of another item is not under this one's path.
    let (_, other) = upload(&app, OTHER, &guzhen, &[], vec![("别的.png", PNG.to_vec())]).await;
    let other_doc = other[0]["id"].as_i64().unwrap();
    let (status, e) = app.get(&format!("{ITEM}/documents/{other_doc}"), Some(&office)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_document")));

    // The document the field names cannot be withdrawn.
    let withdraw = format!("{ITEM}/documents/{doc}/withdraw");
    let (status, e) = app.post(&withdraw, Some(&guzhen), json!({ "reason": "传错了" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("ledger_file_in_use")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("销号验收材料"), "{e}");
    let (status, e) =
        app.post(&format!("/api/v1/documents/{doc}/withdraw"), Some(&guzhen), json!({ "reason": "x" })).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::CONFLICT, Some("ledger_file_in_use")), "{e}");
}

#[tokio::test]
async fn a_file_field_names_only_a_kept_document_of_its_own_item() {
    let app = spawn().await;
    let (guzhen, office) = two_outlets(&app).await;
    let (_, other) = upload(&app, OTHER, &guzhen, &[], vec![("别的排口.pdf", PDF.to_vec())]).await;
    let other_doc = other[0]["id"].as_i64().unwrap();
    let (status, mine) =
        upload(&app, ITEM, &guzhen, &[("purpose", "现场照片")], vec![("现场.png", PNG.to_vec())]).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let mine = mine[0]["id"].as_i64().unwrap();
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(detail["item"]["version"].as_i64(), Some(1), "a plain upload changes no cell");
    assert_eq!(detail["history"].as_array().unwrap().last().unwrap()["action"], "document_added");

    let refused = |answer: (StatusCode, Value)| {
        assert_eq!(
            (answer.0, answer.1["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("ledger_file_not_found")),
            "{}",
            answer.1
        );
        assert!(answer.1["message"].as_str().unwrap().contains("销号验收材料"), "{}", answer.1);
    };
    refused(
        put(&app, ITEM, &guzhen, json!({ "version": 1, "values": { "acceptance_file": other_doc.to_string() } })).await,
    );
    refused(put(&app, ITEM, &guzhen, json!({ "version": 1, "values": { "acceptance_file": "999999" } })).await);
    refused(
        put(&app, ITEM, &guzhen, json!({ "version": 1, "values": { "acceptance_file": "demo-acceptance.pdf" } })).await,
    );
    let mut new = outlet(3);
    new["values"]["销号验收材料"] = json!(mine.to_string());
    refused(app.post("/api/v1/ledgers/outlet/items", Some(&office), new).await);

    // Its own document is accepted (the answer names it; the value is its id), and cleared again.
    let (status, set) =
        put(&app, ITEM, &guzhen, json!({ "version": 1, "values": { "acceptance_file": mine.to_string() } })).await;
    assert_eq!(
        (status, cell(&set, "acceptance_file").as_str(), set["values"]["acceptance_file"].as_str()),
        (StatusCode::OK, Some("现场.png"), Some(mine.to_string().as_str())),
        "{set}"
    );
    let (status, cleared) =
        put(&app, ITEM, &guzhen, json!({ "version": 2, "values": { "acceptance_file": "" } })).await;
    assert_eq!((status, cleared["version"].as_i64()), (StatusCode::OK, Some(3)), "{cleared}");

    // Withdrawn, it may no longer be named.
    let (status, done) =
        app.post(&format!("{ITEM}/documents/{mine}/withdraw"), Some(&guzhen), json!({ "reason": "拍错了" })).await;
    assert_eq!((status, done["withdrawn"].as_bool()), (StatusCode::OK, Some(true)), "{done}");
    refused(put(&app, ITEM, &guzhen, json!({ "version": 3, "values": { "acceptance_file": mine.to_string() } })).await);
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(detail["history"].as_array().unwrap().last().unwrap()["action"], "document_withdrawn");
    assert!(detail["documents"].as_array().unwrap().is_empty(), "{detail}");
}

/// Files and form fields of an upload, and the status and code it is refused with.
type BadUpload<'a> = (Vec<(&'a str, Vec<u8>)>, &'a [(&'a str, &'a str)], StatusCode, &'a str);

#[tokio::test]
async fn another_town_and_readers_change_nothing_and_bad_files_are_refused_with_their_codes() {
    let app = spawn().await;
    let (guzhen, _office) = two_outlets(&app).await;
    let (_, added) = upload(&app, ITEM, &guzhen, &[], vec![("现场.png", PNG.to_vec())]).await;
    let doc = added[0]["id"].as_i64().unwrap();

    // Another town: the item is not there for it.
    let xiaolan = unit_handler(&app, "xiaolan", "xiaolan-handler").await;
    let code = |a: &(StatusCode, Value)| (a.0, a.1["code"].as_str().map(str::to_owned));
    let not_found = (StatusCode::NOT_FOUND, Some("ledger_item_not_found".to_owned()));
    assert_eq!(code(&app.get(&format!("{ITEM}/documents"), Some(&xiaolan)).await), not_found);
    assert_eq!(code(&upload(&app, ITEM, &xiaolan, &[], vec![("x.pdf", PDF.to_vec())]).await), not_found);
    assert_eq!(
        code(&upload(&app, ITEM, &xiaolan, &[("field", "acceptance_file")], vec![("x.pdf", PDF.to_vec())]).await),
        not_found
    );
    assert_eq!(code(&app.get(&format!("{ITEM}/documents/{doc}"), Some(&xiaolan)).await), not_found);
    let unknown = (StatusCode::NOT_FOUND, Some("unknown_document".to_owned()));
    assert_eq!(code(&app.get(&format!("/api/v1/documents/{doc}"), Some(&xiaolan)).await), unknown);
    let withdrawn =
        app.post(&format!("/api/v1/documents/{doc}/withdraw"), Some(&xiaolan), json!({ "reason": "x" })).await;
    assert_eq!(code(&withdrawn), unknown);
    // A supervisor reads it but may not change it; a city leader lacks the permission to edit.
    let supervisor = app.login("supervisor").await;
    assert_eq!(app.get(&format!("{ITEM}/documents"), Some(&supervisor)).await.0, StatusCode::OK);
    let withdrawn =
        app.post(&format!("/api/v1/documents/{doc}/withdraw"), Some(&supervisor), json!({ "reason": "x" })).await;
    assert_eq!(code(&withdrawn), (StatusCode::FORBIDDEN, Some("not_ledger_editor".to_owned())));
    let leader = app.login("leader").await;
    let refused = upload(&app, ITEM, &leader, &[("field", "acceptance_file")], vec![("x.pdf", PDF.to_vec())]).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);

    // Bad files and fields, each with its code, nothing stored.
    let mut big = PDF.to_vec();
    big.resize(mashangban_domain::document::MAX_BYTES + 1, b' ');
    let field = [("field", "acceptance_file")];
    let cases: Vec<BadUpload> = vec![
        (vec![("大.pdf", big)], &field, StatusCode::PAYLOAD_TOO_LARGE, "document_too_large"),
        (
            vec![("说明.pdf", "情况说明".as_bytes().to_vec())],
            &field,
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_type_refused",
        ),
        (vec![("空.pdf", Vec::new())], &field, StatusCode::UNPROCESSABLE_ENTITY, "empty_file"),
        (vec![], &field, StatusCode::UNPROCESSABLE_ENTITY, "no_file"),
        (
            vec![("a.pdf", PDF.to_vec()), ("b.pdf", PDF.to_vec())],
            &field,
            StatusCode::UNPROCESSABLE_ENTITY,
            "ledger_file_one",
        ),
        (
            vec![("a.pdf", PDF.to_vec())],
            &[("field", "排查日期")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "ledger_file_field_unknown",
        ),
    ];
    for (files, texts, status, expected) in cases {
        let answer = upload(&app, ITEM, &guzhen, texts, files).await;
        assert_eq!((answer.0, answer.1["code"].as_str()), (status, Some(expected)), "{}", answer.1);
        assert!(!answer.1["message"].as_str().unwrap_or_default().is_empty());
    }
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(detail["documents"].as_array().unwrap().len(), 1, "nothing stored: {detail}");
    assert_eq!(detail["item"]["version"].as_i64(), Some(1), "nothing changed");
}

#[tokio::test]
async fn the_item_page_shows_the_file_and_uploads_it_and_an_export_imports_back_while_imports_create_no_files() {
    let app = spawn().await;
    let (guzhen, _office) = two_outlets(&app).await;
    let page_path = "/ledgers/outlet/items/HE000001442000GY0001";

    let (_, html) = browser::page(&app, page_path, &guzhen).await;
    assert!(html.contains("name=\"file.acceptance_file\"") && html.contains("未上传"), "{html}");
    let form_path = format!("{page_path}/documents");
    let (app_ref, town, form) = (&app, &guzhen, form_path.as_str());
    let page_upload = move |name: &'static str, bytes: Vec<u8>| {
        send(app_ref, form, town, &[("field", "acceptance_file")], vec![(name, bytes)])
    };
    let res = page_upload("验收.pdf", PDF.to_vec()).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("{page_path}#files").as_str());
    let (_, html) = browser::page(&app, page_path, &guzhen).await;
    assert!(html.contains("验收.pdf") && html.contains("《验收.pdf》"), "the file and its history: {html}");
    // A refused file: the page again, the reason beside the forms.
    let res = page_upload("x.pdf", b"hello".to_vec()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"files-error\"") && html.contains("附件只能是"), "{html}");
    // A reader sees the file but no form.
    let supervisor = app.login("supervisor").await;
    let (_, html) = browser::page(&app, page_path, &supervisor).await;
    assert!(html.contains("验收.pdf") && !html.contains("name=\"file.acceptance_file\""), "{html}");

    // The export shows the name; importing it back changes nothing.
    let res = app.http.get(app.url("/api/v1/ledgers/outlet/export")).header("cookie", &guzhen.0).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let exported = res.bytes().await.unwrap().to_vec();
    let mut book = mashangban_sheet::open_xlsx(&exported, &mashangban_sheet::Limits::default()).unwrap();
    let rows: Vec<mashangban_sheet::Row> = book.rows(0).unwrap().map(Result::unwrap).collect();
    let shown = format!("{rows:?}");
    assert!(shown.contains("验收.pdf"), "the file's name, not its id: {shown}");
    let import = |path: &'static str, name: &'static str, bytes: Vec<u8>| {
        let guzhen = &guzhen;
        let app = &app;
        async move {
            let res = send(app, path, guzhen, &[], vec![(name, bytes)]).await;
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (status, report) = import("/api/v1/ledgers/outlet/import", "x.xlsx", exported).await;
    assert_eq!(
        (status, report["unchanged"].as_u64(), report["updated"].as_u64()),
        (StatusCode::OK, Some(2), Some(0)),
        "{report}"
    );

    // An import names one of the item's documents by name; anything else is a row problem.
    let (_, added) = upload(&app, ITEM, &guzhen, &[], vec![("复核.pdf", PDF.to_vec())]).await;
    let header = "排污口编码,销号验收材料";
    let csv =
        format!("{header}\nHE000001442000GY0001,复核.pdf\nHE000001442000GY0002,复核.pdf\nHE000001442000GY0009,x.pdf\n");
    let (status, report) = import("/api/v1/ledgers/outlet/import/preview", "x.csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let problems = report["problems"].as_array().unwrap();
    let files: Vec<u64> =
        problems.iter().filter(|p| p["column"] == "销号验收材料").map(|p| p["row"].as_u64().unwrap()).collect();
    assert_eq!(files, [3, 4], "another item's document, and a new item's file: {report}");
    let csv = format!("{header}\nHE000001442000GY0001,复核.pdf\n");
    let (status, report) = import("/api/v1/ledgers/outlet/import", "x.csv", csv.into_bytes()).await;
    assert_eq!((status, report["updated"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(detail["item"]["values"]["acceptance_file"], added[0]["id"].as_i64().unwrap().to_string());
}

/// Posts the item page's edit form as a browser does (multipart: `texts`, then `files` as
/// (file field, file name, bytes) in parts `file.{field}`); answers (status, location, body).
async fn edit_form(
    app: &App,
    who: &Session,
    texts: &[(&str, &str)],
    files: Vec<(&str, &str, Vec<u8>)>,
) -> (StatusCode, String, String) {
    let files =
        files.into_iter().map(|(field, name, bytes)| (format!("file.{field}"), name, bytes)).collect::<Vec<_>>();
    let files = files.iter().map(|(part, name, bytes)| (part.as_str(), *name, bytes.clone())).collect();
    let res = send_parts(app, "/ledgers/outlet/items/HE000001442000GY0001/edit", who, texts, files).await;
    let status = res.status();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

/// An edit form's fields and files (file field, file name, bytes), and the status and reason it is refused with.
type BadEdit<'a> = (&'a [(&'a str, &'a str)], Vec<(&'a str, &'a str, Vec<u8>)>, StatusCode, &'a str);

/// The item as registered: no document, no edit.
async fn nothing_stored(app: &App, who: &Session) {
    let (_, detail) = app.get(ITEM, Some(who)).await;
    assert_eq!(detail["item"]["version"].as_i64(), Some(1), "no half edit: {detail}");
    assert!(detail["documents"].as_array().unwrap().is_empty(), "no orphan file: {detail}");
    assert!(detail["item"]["values"].get("remediated_on").is_none(), "{detail}");
}

#[tokio::test]
async fn the_edit_form_saves_values_and_files_in_one_submit_and_a_refusal_stores_nothing_and_keeps_the_values() {
    let app = spawn().await;
    let (guzhen, office) = two_outlets(&app).await;
    let page_path = "/ledgers/outlet/items/HE000001442000GY0001";
    let (_, html) = browser::page(&app, page_path, &guzhen).await;
    let form = &html[html.find("id=\"edit-form\"").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    assert!(html.contains("enctype=\"multipart/form-data\" class=\"stack\" id=\"edit-form\""), "{html}");
    assert!(form.contains("type=\"file\" id=\"file-acceptance_file\" name=\"file.acceptance_file\""), "{form}");
    let typed = [("version", "1"), ("f.remediated_on", "2026-09-01"), ("f.location", "工业大道东")];
    let photo = || vec![("acceptance_file", "整治后.png", PNG.to_vec())];

    // A stale version with a file: neither is stored; the form again with the stored values and
    // what was typed beside them.
    let mut stale = typed;
    stale[0] = ("version", "0");
    let (status, _, html) = edit_form(&app, &guzhen, &stale, photo()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("name=\"f.location\" value=\"工业大道\"") && html.contains("您填写的：工业大道东"), "{html}");
    assert!(html.contains("所选文件未保存") && html.contains("class=\"notice error\""), "{html}");
    nothing_stored(&app, &guzhen).await;

    // A file too large, of a refused type, or for a field that is not a file field; a bad value with a
    // good file: nothing stored, the values kept, the reason in Chinese.
    let mut big = PDF.to_vec();
    big.resize(mashangban_domain::document::MAX_BYTES + 1, b' ');
    let mut bad_value = typed;
    bad_value[1] = ("f.remediated_on", "2026-13-45");
    let cases: Vec<BadEdit> = vec![
        (&typed, vec![("acceptance_file", "大.pdf", big)], StatusCode::PAYLOAD_TOO_LARGE, "所选文件过大"),
        (
            &typed,
            vec![("acceptance_file", "说明.pdf", "情况说明".as_bytes().to_vec())],
            StatusCode::UNPROCESSABLE_ENTITY,
            "附件只能是",
        ),
        (&typed, vec![("remediated_on", "整治后.png", PNG.to_vec())], StatusCode::UNPROCESSABLE_ENTITY, "没有文件字段"),
        (&bad_value, photo(), StatusCode::UNPROCESSABLE_ENTITY, "整治完成日期"),
        (&typed, [photo(), photo()].concat(), StatusCode::UNPROCESSABLE_ENTITY, "只能选择一个文件"),
    ];
    for (texts, files, status, reason) in cases {
        let (got, _, html) = edit_form(&app, &guzhen, texts, files).await;
        assert_eq!(got, status, "{reason}: {html}");
        assert!(html.contains(reason) && html.contains("所选文件未保存"), "{reason}: {html}");
        assert!(html.contains("name=\"f.location\" value=\"工业大道东\""), "the values as typed: {html}");
        nothing_stored(&app, &guzhen).await;
    }

    // One submit: the values and the photo saved together, one history entry holding both.
    let (status, location, html) = edit_form(&app, &guzhen, &typed, photo()).await;
    assert!(status.is_redirection() && location.ends_with(&format!("{page_path}#history")), "{status} {html}");
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    let docs = detail["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{detail}");
    assert_eq!(
        (docs[0]["file_name"].as_str(), docs[0]["purpose"].as_str()),
        (Some("整治后.png"), Some("销号验收材料"))
    );
    let values = &detail["item"]["values"];
    assert_eq!(
        (detail["item"]["version"].as_i64(), values["remediated_on"].as_str(), values["location"].as_str()),
        (Some(2), Some("2026-09-01"), Some("工业大道东")),
        "{detail}"
    );
    assert_eq!(values["acceptance_file"], docs[0]["id"].as_i64().unwrap().to_string());
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "created, then one entry for the edit: {detail}");
    let last = &history[1];
    assert_eq!(last["action"], "updated", "{last}");
    assert!(last["note"].as_str().unwrap().contains("上传附件《整治后.png》（销号验收材料）"), "{last}");
    let changes: Vec<(&str, Option<&str>)> = last["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["after"].as_str()))
        .collect();
    for expected in [
        ("location", Some("工业大道东")),
        ("remediated_on", Some("2026-09-01")),
        ("acceptance_file", Some("《整治后.png》")),
    ] {
        assert!(changes.contains(&expected), "{expected:?} in {changes:?}");
    }
    let (_, html) = browser::page(&app, page_path, &guzhen).await;
    assert!(html.contains("当前：整治后.png") && html.contains("上传附件《整治后.png》"), "{html}");

    // A file input left empty (an empty part without a name) changes values only; the urlencoded
    // post of API clients and older forms still works on the same route.
    let (status, _, html) = edit_form(
        &app,
        &guzhen,
        &[("version", "2"), ("f.closed_on", "2026-09-10")],
        vec![("acceptance_file", "", Vec::new())],
    )
    .await;
    assert!(status.is_redirection(), "{status} {html}");
    let edit = format!("{page_path}/edit");
    let (status, location, html) =
        browser::post_form(&app, &edit, &office, &[("version", "3"), ("f.location", "工业大道西")]).await;
    assert!(status.is_redirection() && location.ends_with("#history"), "{status} {html}");
    let (_, detail) = app.get(ITEM, Some(&guzhen)).await;
    assert_eq!(
        (
            detail["item"]["version"].as_i64(),
            detail["item"]["values"]["closed_on"].as_str(),
            detail["item"]["values"]["location"].as_str()
        ),
        (Some(4), Some("2026-09-10"), Some("工业大道西")),
        "{detail}"
    );
    assert_eq!(detail["documents"].as_array().unwrap().len(), 1, "the empty part stored nothing");
}

/// The version the item page's edit form carries.
fn form_version(html: &str) -> String {
    let form = &html[html.find("id=\"edit-form\"").expect("the edit form")..];
    let value = &form[form.find("name=\"version\" value=\"").expect("its version") + 22..];
    value[..value.find('"').unwrap()].to_owned()
}

/// The stored values of the outlet's location and remediation, and its version.
async fn stored(app: &App, who: &Session) -> (String, String, i64) {
    let (_, detail) = app.get(ITEM, Some(who)).await;
    let values = &detail["item"]["values"];
    let text = |field: &str| values[field].as_str().unwrap_or_default().to_owned();
    (text("location"), text("remediation"), detail["item"]["version"].as_i64().unwrap())
}

#[tokio::test]
async fn a_stale_edit_form_shows_the_other_persons_change_with_what_was_typed_beside_it_and_overwrites_nothing() {
    let app = spawn().await;
    let (guzhen, office) = two_outlets(&app).await;
    let page_path = "/ledgers/outlet/items/HE000001442000GY0001";
    let (_, html) = browser::page(&app, page_path, &guzhen).await;
    assert_eq!(form_version(&html), "1");

    // The office saves first; the town then saves the page it opened before.
    let (status, _, html) = edit_form(&app, &office, &[("version", "1"), ("f.location", "工业大道北")], vec![]).await;
    assert!(status.is_redirection(), "{status} {html}");
    let typed = [
        ("version", "1"),
        ("f.location", "工业大道<东>"),
        ("f.remediation", "ban"),
        ("f.remediated_on", "2026-09-01"),
        ("f.receiving_water_name", "岐江河"),
    ];
    let (status, _, html) = edit_form(&app, &guzhen, &typed, photo_of("整治后.png")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("该条目已被他人修改（现为第2版）") && html.contains("所选文件未保存"), "{html}");
    // The form holds what is stored, at the current version; what was typed is beside each field it differs in.
    assert_eq!(form_version(&html), "2");
    assert!(html.contains("name=\"f.location\" value=\"工业大道北\""), "{html}");
    assert!(html.contains("<option value=\"regulate\" selected>"), "{html}");
    assert!(html.contains("name=\"f.remediated_on\" value=\"\""), "{html}");
    let beside = |field: &str| {
        let at = html.find(&format!("id=\"typed-{field}\">"))?;
        let rest = &html[at..];
        Some(rest[rest.find('>').unwrap() + 1..rest.find("</small>").unwrap()].to_owned())
    };
    let escaped = beside("location").unwrap();
    assert!(
        ["您填写的：工业大道&lt;东&gt;", "您填写的：工业大道&#60;东&#62;"].contains(&escaped.as_str()),
        "escaped: {escaped}"
    );
    assert_eq!(beside("remediation").as_deref(), Some("您填写的：取缔"), "a choice by its name");
    assert_eq!(beside("remediated_on").as_deref(), Some("您填写的：2026-09-01"));
    assert_eq!(beside("receiving_water_name"), None, "typed as stored");
    assert_eq!(
        stored(&app, &guzhen).await,
        ("工业大道北".to_owned(), "regulate".to_owned(), 2),
        "the office's change kept"
    );

    // Pressing save on the page as shown saves on top of the office's change.
    let shown = [("version", "2"), ("f.location", "工业大道北"), ("f.remediated_on", "2026-09-01")];
    let (status, _, html) = edit_form(&app, &guzhen, &shown, vec![]).await;
    assert!(status.is_redirection(), "{status} {html}");
    assert_eq!(stored(&app, &guzhen).await, ("工业大道北".to_owned(), "regulate".to_owned(), 3));
}

#[tokio::test]
async fn a_refused_edit_form_keeps_the_version_it_was_typed_on_so_a_resubmit_after_another_save_is_a_conflict() {
    let app = spawn().await;
    let (guzhen, office) = two_outlets(&app).await;
    let page_path = "/ledgers/outlet/items/HE000001442000GY0001";
    let edit = format!("{page_path}/edit");

    // A bad date: the typed values again, at the version they were typed on.
    let typed = [("version", "1"), ("f.location", "工业大道东"), ("f.remediated_on", "2026-13-45")];
    let (status, _, html) = edit_form(&app, &guzhen, &typed, vec![]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("name=\"f.location\" value=\"工业大道东\"") && !html.contains("您填写的"), "{html}");
    let version = form_version(&html);
    assert_eq!(version, "1");

    // The office saves meanwhile; the town corrects the date and resubmits the form as shown.
    let (status, location, html) =
        browser::post_form(&app, &edit, &office, &[("version", "1"), ("f.location", "工业大道南")]).await;
    assert!(status.is_redirection() && location.ends_with("#history"), "{status} {html}");
    let resubmit = [("version", version.as_str()), ("f.location", "工业大道东"), ("f.remediated_on", "2026-09-01")];
    let (status, _, html) = edit_form(&app, &guzhen, &resubmit, vec![]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(
        html.contains("name=\"f.location\" value=\"工业大道南\"") && html.contains("您填写的：工业大道东"),
        "{html}"
    );
    assert_eq!(stored(&app, &guzhen).await, ("工业大道南".to_owned(), "regulate".to_owned(), 2), "not overwritten");

    // A refusal before the version is even looked at (a file too large) of a form already stale:
    // the typed values at their own version, so the resubmit is the conflict it always was.
    let (status, _, _) =
        browser::post_form(&app, &edit, &office, &[("version", "2"), ("f.location", "工业大道西")]).await;
    assert!(status.is_redirection());
    let mut big = PDF.to_vec();
    big.resize(mashangban_domain::document::MAX_BYTES + 1, b' ');
    let stale = [("version", "2"), ("f.location", "工业大道东")];
    let (status, _, html) = edit_form(&app, &guzhen, &stale, vec![("acceptance_file", "大.pdf", big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{html}");
    assert!(html.contains("name=\"f.location\" value=\"工业大道东\"") && !html.contains("您填写的"), "{html}");
    assert_eq!(form_version(&html), "2", "not the current 3");
    let resubmit = [("version", "2"), ("f.location", "工业大道东")];
    let (status, _, html) = browser::post_form(&app, &edit, &guzhen, &resubmit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert_eq!(stored(&app, &guzhen).await.0, "工业大道西");

    // Only a body over the form limit is too large; one cut short is a bad request.
    let huge = "水".repeat(60_000);
    let (status, _, html) = browser::post_form(&app, &edit, &guzhen, &[("version", "3"), ("f.location", &huge)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("提交的内容过长"), "{html}");
    let (status, html) = cut_short_post(&app, &edit, &guzhen).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("提交的内容没有完整收到") && !html.contains("过长"), "{html}");
    assert_eq!(stored(&app, &guzhen).await.2, 3, "nothing saved");
}

/// A photo for the acceptance file field.
fn photo_of(name: &str) -> Vec<(&'static str, &str, Vec<u8>)> {
    vec![("acceptance_file", name, PNG.to_vec())]
}

/// Posts a urlencoded form whose body stops short of its declared length (the client hangs up its
/// sending side); answers the status and body of the answer it still reads.
async fn cut_short_post(app: &App, path: &str, Session(cookie): &Session) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\ncookie: {cookie}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\nversion=3&f.location="
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}
