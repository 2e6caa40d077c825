//! The data scope over every declared route × every demo role (issue 18): the access each route
//! declares is the one reviewed in `scope_access.txt` (so a dropped permission fails here), no
//! session answers 401 and a role without the permission 403 with a JSON code and nothing changed,
//! no role gets a 5xx from any route, and the roles bound to a unit (or to nothing of requests)
//! reading another unit's request by its number through every request-scoped GET route get 404 or
//! 403, never its data.

use futures_util::future::join_all;

use mashangban_domain::access::Access;
use mashangban_domain::org::{Role, Scope};
use mashangban_store::{ChangeCursor, ChangeEntity, ChangeStore, ListFilter, RequestStore};
use mashangban_web::routes::{Methods, Route, Surface};

use super::*;

/// The reviewed access of every route: `METHOD PATH ACCESS`, sorted. Changing a route's access
/// means changing this file in the same commit.
const REVIEWED_ACCESS: &str = include_str!("scope_access.txt");

/// Every demo account (and a resident, which the demo has none of), with its role.
const ACCOUNTS: [(&str, Role); 17] = [
    ("operator", Role::Operator),
    ("dispatcher", Role::Dispatcher),
    ("handler", Role::Handler),
    ("unit-leader", Role::UnitLeader),
    ("supervisor", Role::Supervisor),
    ("leader", Role::CityLeader),
    ("admin", Role::Admin),
    ("liaison", Role::Liaison),
    ("leaders-office", Role::LeadersOffice),
    ("service-centre", Role::ServiceCentre),
    ("statistics", Role::Statistician),
    ("section", Role::Handler),
    ("town-handler", Role::Handler),
    ("town-leader", Role::UnitLeader),
    ("village", Role::Handler),
    ("enterprise", Role::Enterprise),
    ("scope-resident", Role::Resident),
];

/// The accounts whose scope does not reach a request of 人社局 in 小榄镇 submitted on the portal:
/// those bound to a unit or a town elsewhere, the liaison cadre, the service centre, the statistics
/// office and the askers' accounts.
const OUT_OF_SCOPE: [&str; 11] = [
    "handler",
    "unit-leader",
    "section",
    "town-handler",
    "town-leader",
    "village",
    "liaison",
    "service-centre",
    "statistics",
    "enterprise",
    "scope-resident",
];

/// A signed-in demo account.
struct Caller {
    username: &'static str,
    role: Role,
    session: Session,
}

/// Whether the access table lets `role` through `access`.
fn admits(access: Access, role: Role) -> bool {
    access.roles().contains(&role)
}

fn declared() -> Vec<Route<Backend>> {
    mashangban_web::routes::all::<Backend>(&WebConfig::default())
}

fn access_code(access: Access) -> &'static str {
    match access {
        Access::Public => "public",
        Access::SignedIn => "signed_in",
        Access::Permission(p) => p.code(),
    }
}

/// The declared routes' access in the form of [`REVIEWED_ACCESS`].
fn declared_access() -> String {
    let mut lines: Vec<String> = declared()
        .iter()
        .filter_map(|r| r.method().map(|m| format!("{m} {} {}", r.path, access_code(r.access))))
        .collect();
    lines.sort();
    lines.dedup();
    lines.join("\n") + "\n"
}

/// What the test fills a path's placeholders with.
struct Ids {
    /// The request in the callers' scope (or the one the test reads out of scope).
    no: String,
    /// An account created to be acted on (disabled, its password set) without losing a caller.
    username: &'static str,
    liaison_id: i64,
}

/// `path` with its placeholders filled: existing records where the test has one of the kind,
/// else a plausible value.
fn fill(path: &str, ids: &Ids) -> String {
    let mut out = String::new();
    let mut previous = "";
    for segment in path.split('/').skip(1) {
        let value = match segment {
            "{no}" => ids.no.clone(),
            "{username}" => ids.username.to_owned(),
            "{user_id}" => ids.liaison_id.to_string(),
            "{action}" => "sign".to_owned(),
            "{act}" => "accept".to_owned(),
            "{step}" => "1".to_owned(),
            "{deed}" => "start".to_owned(),
            "{year}" => "2026".to_owned(),
            "{period}" => "2026-01".to_owned(),
            "{indicator}" => "gdp".to_owned(),
            "{town}" => "guzhen".to_owned(),
            "{channel}" => "sms".to_owned(),
            "{type}" => "enterprise-needs".to_owned(),
            "{*path}" => "css/app.css".to_owned(),
            "{file}" => "discovery.json".to_owned(),
            "{key}" if previous == "templates" => "asker.accepted".to_owned(),
            "{key}" => "1".to_owned(),
            "{code}" => match previous {
                "units" | "org" | "centres" | "command" => "scjgj",
                "categories" => "biz.change",
                "enterprises" => ENTERPRISE_CODE,
                _ => "nosuch",
            }
            .to_owned(),
            "{id}" => "1".to_owned(),
            other => other.to_owned(),
        };
        out.push('/');
        out.push_str(&value);
        previous = segment;
    }
    if path.ends_with('/') { out + "/" } else { out }
}

/// An answer: status, whether it sends to the sign-in page, the body as text.
struct Answer {
    status: StatusCode,
    to_login: bool,
    body: String,
}

/// Calls `method url` as `who` with an empty body of the route's kind.
async fn call(
    http: &reqwest::Client,
    method: &reqwest::Method,
    url: &str,
    surface: Surface,
    who: Option<&Session>,
) -> Answer {
    let mut request = http.request(method.clone(), url);
    if let Some(Session(cookie)) = who {
        request = request.header("cookie", cookie);
    }
    if *method != reqwest::Method::GET {
        request = match surface {
            Surface::Page => request.form(&[("x", "")]),
            _ => request.json(&json!({})),
        };
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    let to_login = res.headers().get("location").is_some_and(|l| l == "/login");
    // A live stream (server-sent events) never ends: its status is the answer.
    let streaming = res.headers().get("content-type").is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    let body = if streaming { String::new() } else { res.text().await.unwrap_or_default() };
    Answer { status, to_login, body }
}

/// What a refused call must not change: the requests' versions and histories, the number of
/// requests and accounts, and the change feed's head.
async fn fingerprint(app: &App, request_ids: &[i64]) -> String {
    let mut parts = Vec::new();
    for id in request_ids {
        let r = app.store.find_by_id(*id, &Scope::All).await.unwrap().unwrap();
        let history = app.store.history(*id).await.unwrap().len();
        parts.push(format!("{}:v{}:h{history}", r.tracking_no, r.version));
    }
    parts.push(format!("requests {}", app.store.count(&ListFilter::default(), &Scope::All).await.unwrap()));
    parts.push(format!("users {}", app.store.list_users().await.unwrap().len()));
    parts.push(format!("feed {:?}", app.store.feed_head().await.unwrap()));
    parts.join(", ")
}

/// Waits until the change feed holds the setup's last change (the dispatch of the request `last`) and its
/// head stands still: on PostgreSQL the feed holds back changes while an older transaction of the
/// database is still open, so a head read too early moves later with no one writing, and a refused call
/// would be blamed for it.
async fn feed_settled(app: &App, last: &str) {
    let started = std::time::Instant::now();
    let mut previous = None;
    loop {
        let changes = app.store.changes_after(ChangeCursor::default(), 10_000).await.unwrap();
        let head = app.store.feed_head().await.unwrap();
        let holds_last =
            changes.iter().any(|c| c.entity == ChangeEntity::Request && c.key == last && c.kind == "dispatched");
        if holds_last && previous == Some(head) {
            return;
        }
        previous = Some(head);
        assert!(started.elapsed().as_secs() < 60, "the change feed never settled: head {head:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn method_of(route: &Route<Backend>) -> Option<reqwest::Method> {
    match &route.methods {
        Methods::One(m) => Some(reqwest::Method::from_bytes(m.as_str().as_bytes()).unwrap()),
        Methods::Others => None,
    }
}

/// Two requests: ours (an enterprise's complaint in 古镇镇, dispatched to 市市场监管局 and signed
/// for) and theirs (a resident's question in 小榄镇, dispatched to 人社局).
async fn two_requests(app: &App, dispatcher: &Session, handler: &Session) -> [(String, i64); 2] {
    let (ours, _) = app.submit(enterprise_complaint()).await;
    app.act(&ours, "dispatch", dispatcher, json!({ "lead_unit": "scjgj" })).await;
    app.act(&ours, "sign", handler, json!({})).await;
    let (theirs, _) = app.submit(resident_consultation()).await;
    app.act(&theirs, "dispatch", dispatcher, json!({ "lead_unit": "rsj" })).await;
    let mut out = Vec::new();
    for no in [ours, theirs] {
        let id = app.store.find(&no, &Scope::All).await.unwrap().unwrap().id;
        out.push((no, id));
    }
    [out[0].clone(), out[1].clone()]
}

async fn create_account(app: &App, username: &str, role: Role) {
    let user = NewUser {
        username: username.into(),
        display_name: "赵一鸣".into(),
        role,
        unit_id: None,
        credit_code: None,
        phone: None,
        password_hash: auth::hash_password(PASSWORD).unwrap(),
    };
    app.store.create_user(user, crate::tester()).await.unwrap();
}

#[tokio::test]
async fn scope_every_route_and_role_is_refused_admitted_and_scoped_as_declared() {
    // The declared access is the reviewed one.
    let declared_now = declared_access();
    assert!(
        declared_now == REVIEWED_ACCESS,
        "a route's access differs from crates/web/tests/api/scope_access.txt; review the change and update \
         the file. Declared now:\n{declared_now}"
    );

    let app = spawn().await;
    create_account(&app, "scope-resident", Role::Resident).await;
    create_account(&app, "scope-target", Role::Resident).await;
    let mut callers = Vec::new();
    for (username, role) in ACCOUNTS {
        callers.push(Caller { username, role, session: app.login(username).await });
    }
    let session = |name: &str| &callers.iter().find(|c| c.username == name).unwrap().session;
    let [(ours, ours_id), (theirs, theirs_id)] = two_requests(&app, session("dispatcher"), session("handler")).await;
    let liaison_id = app.store.list_users().await.unwrap().into_iter().find(|u| u.username == "liaison").unwrap().id;
    let ids = Ids { no: ours.clone(), username: "scope-target", liaison_id };
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let routes: Vec<(reqwest::Method, Route<Backend>)> =
        declared().into_iter().filter_map(|r| method_of(&r).map(|m| (m, r))).collect();
    let requests = [ours_id, theirs_id];
    feed_settled(&app, &theirs).await;

    // 1. Refused: no session → 401 (pages: to sign in); a role without the permission → 403 with
    //    its JSON code; nothing changed; never a 5xx.
    let mut refusals = 0;
    for (method, route) in &routes {
        if route.access == Access::Public {
            continue;
        }
        let before = fingerprint(&app, &requests).await;
        let url = app.url(&fill(route.path, &ids));
        let refused: Vec<&Caller> = callers.iter().filter(|c| !admits(route.access, c.role)).collect();
        let anonymous = call(&http, method, &url, route.surface(), None).await;
        let what = format!("{method} {}", route.path);
        match route.surface() {
            Surface::Page => assert!(anonymous.to_login, "{what} without a session: {}", anonymous.status),
            _ => {
                assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{what} without a session");
                assert!(anonymous.body.contains("\"unauthenticated\""), "{what}: {}", anonymous.body);
            }
        }
        let answers =
            join_all(refused.iter().map(|c| call(&http, method, &url, route.surface(), Some(&c.session)))).await;
        for (caller, answer) in refused.iter().zip(answers) {
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what} as {}: {}", caller.username, answer.body);
            if route.surface() == Surface::Api {
                let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
                assert_eq!(body["code"], "permission_denied", "{what} as {}", caller.username);
            }
            refusals += 1;
        }
        assert_eq!(fingerprint(&app, &requests).await, before, "{what}: a refused call changed the store");
    }
    assert!(refusals > 2000, "{refusals} refusals checked");

    // 3. Out of scope: theirs, read by number through every request-scoped GET route, answers 404
    //    or 403 and none of its data to every account whose scope does not reach it.
    let theirs_ids = Ids { no: theirs.clone(), username: ids.username, liaison_id };
    let request_reads: Vec<&(reqwest::Method, Route<Backend>)> = routes
        .iter()
        .filter(|(m, r)| *m == reqwest::Method::GET && r.path.contains("{no}") && r.access != Access::Public)
        .collect();
    assert!(request_reads.len() >= 6, "{} request-scoped reads", request_reads.len());
    let mut scoped = 0;
    for (method, route) in request_reads {
        let url = app.url(&fill(route.path, &theirs_ids));
        for caller in callers.iter().filter(|c| OUT_OF_SCOPE.contains(&c.username)) {
            let answer = call(&http, method, &url, route.surface(), Some(&caller.session)).await;
            let what = format!("{method} {} as {}: {}", route.path, caller.username, answer.status);
            assert!(matches!(answer.status.as_u16(), 403 | 404), "{what}: {}", answer.body);
            for data in ["咨询养老保险转移", "养老保险关系", "李伟明", "13912345678", "139****5678"] {
                assert!(!answer.body.contains(data), "{what} shows {data}");
            }
            scoped += 1;
        }
    }
    // The list and its search do not hold it either.
    for caller in callers.iter().filter(|c| OUT_OF_SCOPE.contains(&c.username)) {
        for query in ["q=养老保险", "phone=13912345678", "town=xiaolan"] {
            let answer = call(
                &http,
                &reqwest::Method::GET,
                &app.url(&format!("/api/v1/requests?{query}")),
                Surface::Api,
                Some(&caller.session),
            )
            .await;
            assert!(!answer.body.contains(theirs.as_str()), "the list ?{query} as {} holds {theirs}", caller.username);
            scoped += 1;
        }
    }

    // 2. Admitted (last: these may change things): no route answers a 5xx to any caller.
    let mut admitted = 0;
    for (method, route) in &routes {
        let url = app.url(&fill(route.path, &ids));
        let what = format!("{method} {}", route.path);
        let anonymous = call(&http, method, &url, route.surface(), None).await;
        assert!(
            !anonymous.status.is_server_error(),
            "{what} without a session: {} {}",
            anonymous.status,
            anonymous.body
        );
        if route.path.ends_with("logout") {
            continue;
        }
        let allowed: Vec<&Caller> = callers.iter().filter(|c| admits(route.access, c.role)).collect();
        let answers =
            join_all(allowed.iter().map(|c| call(&http, method, &url, route.surface(), Some(&c.session)))).await;
        for (caller, answer) in allowed.iter().zip(answers) {
            let status = answer.status;
            assert!(!status.is_server_error(), "{what} as {}: {status} {}", caller.username, answer.body);
            admitted += 1;
        }
    }
    eprintln!(
        "scope: {} routes, {refusals} refusals, {scoped} out-of-scope reads, {admitted} admitted calls",
        routes.len()
    );
}
