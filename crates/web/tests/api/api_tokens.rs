//! API tokens (接口令牌) managed by administrators: created through the API or the users page
//! (Post/Redirect/Get, the secret shown once to the session that made it), working at once, refused from the request after their revocation,
//! each change in the token's history under the administrator's name.

use super::browser::{page, post_form};
use super::*;

/// The display name of a signed-in person (the name histories show).
async fn name_of(app: &App, who: &Session) -> String {
    app.get("/api/v1/auth/me", Some(who)).await.1["name"].as_str().unwrap().to_owned()
}

/// The status of `GET path` called with the token's secret.
async fn with_token(app: &App, path: &str, secret: &str) -> (StatusCode, Value) {
    let res = app.http.get(app.url(path)).bearer_auth(secret).send().await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

async fn revoke(app: &App, who: &Session, id: i64) -> (StatusCode, Value) {
    app.call(reqwest::Method::POST, &format!("/api/v1/admin/api-tokens/{id}/revoke"), Some(who), None).await
}

#[tokio::test]
async fn a_token_created_through_the_api_works_until_revoked_and_its_history_names_the_administrator() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let body = json!({ "name": "粤商通", "role": "operator", "unit": "zwfw-12345" });
    let res = app.http.post(app.url("/api/v1/admin/api-tokens")).header("cookie", &admin.0).json(&body).send();
    let res = res.await.unwrap();
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert_eq!((res.status(), cache.as_str()), (StatusCode::CREATED, "no-store"), "kept by no cache");
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("msb_") && secret.len() == 4 + 64, "{secret}");
    let token = &created["token"];
    let id = token["id"].as_i64().unwrap();
    assert_eq!((token["name"].as_str(), token["role"].as_str()), (Some("粤商通"), Some("operator")));
    assert_eq!((token["unit"].as_str(), token["revoked_at"].as_str()), (Some("zwfw-12345"), None));

    // The secret signs in as the token's role and unit, and is never listed again.
    let (status, requests) = with_token(&app, "/api/v1/requests", &secret).await;
    assert_eq!(status, StatusCode::OK, "{requests}");
    assert_eq!(with_token(&app, "/api/v1/auth/me", &secret).await.1["name"], "接口:粤商通");
    let (_, tokens) = app.get("/api/v1/admin/api-tokens", Some(&admin)).await;
    assert!(tokens.as_array().unwrap().iter().any(|t| t["id"] == id), "{tokens}");
    assert!(!tokens.to_string().contains(&secret), "never the secret");

    // Revoked, it is refused on the very next request.
    assert_eq!(revoke(&app, &admin, id).await.0, StatusCode::NO_CONTENT);
    let (status, err) = with_token(&app, "/api/v1/requests", &secret).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let (status, err) = revoke(&app, &admin, id).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("token_already_revoked")));
    assert!(err["message"].as_str().unwrap().contains("已吊销"), "{err}");
    let (status, err) = revoke(&app, &admin, 99_999).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("token_not_found")));

    // Its history names the administrator, not the command line.
    let admin_name = name_of(&app, &admin).await;
    let (status, history) = app.get(&format!("/api/v1/admin/api-tokens/{id}/history"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history_entries(&history), [("created", admin_name.as_str()), ("revoked", admin_name.as_str())]);
    assert_eq!(history[0]["detail"], "名称：粤商通；角色：话务员（12345政务服务便民热线中心）");
    assert!(!history.to_string().contains(&secret));
}

#[tokio::test]
async fn a_token_is_refused_with_a_code_for_each_wrong_field_and_only_administrators_manage_tokens() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    // A deactivated unit is refused as an unknown one.
    let unit = json!({ "name": "临时科", "kind": "subunit", "parent": "scjgj" });
    assert_eq!(
        app.call(reqwest::Method::PUT, "/api/v1/admin/units/tmp", Some(&admin), Some(unit)).await.0,
        StatusCode::OK
    );
    let (status, off) = app.post("/api/v1/admin/units/tmp/active", Some(&admin), json!({ "active": false })).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    let token = |name: &str, role: &str, unit: Option<&str>| json!({ "name": name, "role": role, "unit": unit });
    let long = "长".repeat(51);
    let refused = [
        (token("  ", "operator", Some("city")), "text_required"),
        (token(&long, "operator", Some("city")), "text_too_long"),
        (token("对接\n系统", "operator", Some("city")), "invalid_text"),
        (token("对接\t系统", "operator", Some("city")), "invalid_text"),
        (token("对接系统", "boss", Some("city")), "invalid_role"),
        (token("对接系统", "enterprise", None), "token_role_not_staff"),
        (token("对接系统", "resident", Some("city")), "token_role_not_staff"),
        (token("对接系统", "dispatcher", None), "unit_required"),
        (token("对接系统", "dispatcher", Some("")), "unit_required"),
        (token("对接系统", "dispatcher", Some("nowhere")), "unknown_unit"),
        (token("对接系统", "dispatcher", Some("tmp")), "unknown_unit"),
    ];
    for (body, code) in refused {
        let (status, err) = app.post("/api/v1/admin/api-tokens", Some(&admin), body.clone()).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body} {err}");
        assert!(err["message"].as_str().unwrap().chars().any(|c| c > '\u{2e80}'), "a Chinese message: {err}");
    }
    // Other control characters are refused by every JSON body already.
    let (status, err) =
        app.post("/api/v1/admin/api-tokens", Some(&admin), token("对接\u{7}系统", "operator", None)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("control_character")));
    let (status, err) = app.post("/api/v1/admin/api-tokens", Some(&admin), token("对接系统", "boss", None)).await;
    assert!(err["message"].as_str().unwrap().contains("dispatcher"), "the staff roles are named: {err}");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/admin/api-tokens", Some(&admin)).await.1, json!([]), "no refusal made a token");

    // Only administrators (users.manage) create or revoke.
    let (status, created) =
        app.post("/api/v1/admin/api-tokens", Some(&admin), token("对接系统", "dispatcher", Some("zwfw-12345"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["token"]["id"].as_i64().unwrap();
    for who in ["supervisor", "dispatcher", "operator"] {
        let session = app.login(who).await;
        let body = token("越权", "admin", Some("city"));
        assert_eq!(app.post("/api/v1/admin/api-tokens", Some(&session), body).await.0, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(revoke(&app, &session, id).await.0, StatusCode::FORBIDDEN, "{who}");
    }
    // Nor does the dispatcher token itself.
    let secret = created["secret"].as_str().unwrap();
    let res = app.http.post(app.url(&format!("/api/v1/admin/api-tokens/{id}/revoke"))).bearer_auth(secret).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::FORBIDDEN);
    let (_, tokens) = app.get("/api/v1/admin/api-tokens", Some(&admin)).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");
    assert!(tokens[0]["revoked_at"].is_null(), "{tokens}");
}

/// The secret the users page shows after creating a token.
fn shown_secret(html: &str) -> &str {
    let after = html.split("id=\"token-secret\">").nth(1).expect("the secret is shown");
    after.split('<').next().unwrap()
}

/// `GET path` as `who`: (status, `Cache-Control`, body).
async fn get_page(app: &App, path: &str, who: &Session) -> (StatusCode, String, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(app.url(path)).header("cookie", &who.0).send().await.unwrap();
    let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status(), cache, res.text().await.unwrap())
}

/// How many tokens there are.
async fn token_count(app: &App, admin: &Session) -> usize {
    app.get("/api/v1/admin/api-tokens", Some(admin)).await.1.as_array().unwrap().len()
}

#[tokio::test]
async fn a_token_created_on_the_users_page_shows_its_secret_once_and_is_revoked_there() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    // Refusals show the page again with the message and the values typed.
    let form = [("name", "对接系统"), ("role", "dispatcher"), ("unit", "")];
    let (status, _, html) = post_form(&app, "/admin/users/api-tokens", &admin, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"admin-error\"") && html.contains("工作人员必须属于一个单位"), "{html}");
    assert!(html.contains("value=\"对接系统\"") && html.contains("value=\"dispatcher\" selected"), "typed values kept");
    let form = [("name", ""), ("role", "dispatcher"), ("unit", "zwfw-12345")];
    let (status, _, html) = post_form(&app, "/admin/users/api-tokens", &admin, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("「令牌名称」不能为空") && html.contains("value=\"zwfw-12345\" selected"), "{html}");
    assert!(!html.contains("id=\"token-secret\""));

    assert_eq!(token_count(&app, &admin).await, 0, "no refusal made a token");

    // Created: 303 to the page with a ticket, never the secret (Post/Redirect/Get).
    let form = [("name", "对接系统"), ("role", "dispatcher"), ("unit", "zwfw-12345")];
    let (status, location, _) = post_form(&app, "/admin/users/api-tokens", &admin, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let ticket = location.strip_prefix("/admin/users?token=").unwrap().strip_suffix("#tokens-heading").unwrap();
    assert!(ticket.len() == 32 && ticket.bytes().all(|b| b.is_ascii_hexdigit()), "{location}");
    assert_eq!(token_count(&app, &admin).await, 1);
    // Another session of the same administrator gets no secret, and leaves it for the one that made it.
    let other = app.login("admin").await;
    let (status, _, html) = get_page(&app, &location, &other).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("id=\"token-secret\"") && html.contains("令牌已显示过，如未保存请吊销后重新创建"), "{html}");
    // The page that follows the redirect shows it once, kept by no cache.
    let (status, cache, html) = get_page(&app, &location, &admin).await;
    assert_eq!((status, cache.as_str()), (StatusCode::OK, "no-store"), "kept by no cache");
    assert!(html.contains("令牌只显示这一次，请立即复制保存") && !html.contains("id=\"token-gone\""), "{html}");
    let secret = shown_secret(&html).to_owned();
    assert!(secret.starts_with("msb_") && secret.len() == 4 + 64, "{secret}");
    assert!(!location.contains(&secret[4..12]), "the URL names a ticket, not the secret");
    let (status, me) = with_token(&app, "/api/v1/auth/me", &secret).await;
    assert_eq!((status, me["role"].as_str()), (StatusCode::OK, Some("dispatcher")), "{me}");
    // Refreshed, the page neither shows it again nor makes another token.
    for _ in 0..2 {
        let (status, _, html) = get_page(&app, &location, &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains(&secret) && !html.contains("id=\"token-secret\""), "shown once only");
        assert!(html.contains("id=\"token-gone\"") && html.contains("令牌已显示过，如未保存请吊销后重新创建"));
    }
    assert_eq!(token_count(&app, &admin).await, 1, "a refresh makes no token");

    // The table lists it, active, with a 吊销 button; the secret is never shown again.
    let (_, tokens) = app.get("/api/v1/admin/api-tokens", Some(&admin)).await;
    let id = tokens[0]["id"].as_i64().unwrap();
    let (status, html) = page(&app, "/admin/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let table = html.split("id=\"api-tokens\"").nth(1).unwrap().split("</table>").next().unwrap();
    let row = table.split("<tr").find(|r| r.contains("对接系统")).expect("the token's row");
    assert!(row.contains("有效") && row.contains(&format!("/admin/users/api-tokens/{id}/revoke")), "{row}");
    assert!(!html.contains(&secret) && !html.contains("令牌只显示这一次"), "shown once only");

    // Revoked from the page: refused at once, marked revoked, its history under the admin's name.
    let path = format!("/admin/users/api-tokens/{id}/revoke");
    let (status, location, _) = post_form(&app, &path, &admin, &[]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/admin/users?ok=token-revoked"));
    assert_eq!(with_token(&app, "/api/v1/auth/me", &secret).await.0, StatusCode::UNAUTHORIZED);
    let (_, html) = page(&app, "/admin/users?ok=token-revoked", &admin).await;
    assert!(html.contains("接口令牌已吊销"), "the notice");
    let table = html.split("id=\"api-tokens\"").nth(1).unwrap().split("</table>").next().unwrap();
    let row = table.split("<tr").find(|r| r.contains("对接系统")).unwrap();
    let admin_name = name_of(&app, &admin).await;
    assert!(row.contains("已吊销") && !row.contains("/revoke"), "{row}");
    assert!(
        row.contains(&format!("{admin_name} 创建令牌")) && row.contains(&format!("{admin_name} 吊销令牌")),
        "{row}"
    );
    let (status, _, html) = post_form(&app, &path, &admin, &[]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains(&format!("令牌 {id} 已吊销")), "{html}");
    let (status, _) = page(&app, "/admin/users", &app.login("supervisor").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
