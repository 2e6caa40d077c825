//! Units, users, sessions and API tokens.

use mashangban_domain::enterprise::EnterpriseInput;
use mashangban_domain::org::{AccountAction, Role, TokenAction, UnitId, UnitKind};
use mashangban_domain::validation::CreditCode;
use mashangban_store::{
    AccountBy, AuditStore, CatalogStore, EnterpriseStore, NewApiToken, NewCategory, NewPasswordReset, NewSession,
    NewUnit, NewUser, NotificationStore, OrgStore, PasswordResetStore,
};

use crate::support::{TestDb, at, minutes, refusal};

on_both!(
    units_are_upserted_by_code_under_known_parents,
    creating_a_unit_never_changes_one_with_its_code,
    units_deactivate_leaves_first_and_roles_change_with_their_unit,
    a_parent_and_its_child_changing_at_once_leave_no_active_unit_under_an_inactive_one,
    users_are_unique_by_name_and_belong_to_known_units,
    a_username_taken_on_another_node_is_a_refusal,
    sessions_end_at_expiry_logout_password_change_disabling_and_role_change,
    api_tokens_are_found_by_hash_until_revoked,
    every_change_of_an_account_is_recorded_sealed_and_masked,
);

pub fn unit(code: &str, kind: UnitKind, parent: Option<&str>) -> NewUnit {
    NewUnit {
        code: code.into(),
        name: format!("单位{code}"),
        short_name: None,
        kind,
        parent_code: parent.map(str::to_owned),
    }
}

/// What the enterprise-desk tests start from: a town under a city, one category, a staff user at the
/// town per `(username, role)` (ids in that order) and two registered enterprises of the town whose
/// credit codes are `body` + `1` and `body` + `2` with their check characters (`ours`, `theirs`).
pub struct TownDesk {
    pub town: i64,
    pub category: i64,
    pub users: Vec<i64>,
    pub ours: String,
    pub theirs: String,
}

pub async fn town_desk<S: OrgStore + CatalogStore + EnterpriseStore>(
    s: &S,
    body: &str,
    users: &[(&str, Role)],
) -> TownDesk {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let town = s.upsert_unit(unit("t", UnitKind::Town, Some("city"))).await.unwrap().id;
    let category = NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: None,
        keywords: vec![],
    };
    let category = s.upsert_category(category).await.unwrap().id;
    let mut ids = Vec::new();
    for (username, role) in users {
        let new = NewUser { display_name: format!("干部{username}"), ..user(username, *role, Some(town)) };
        ids.push(s.create_user(new, crate::support::tester()).await.unwrap().id);
    }
    let mut codes = Vec::new();
    for n in ["1", "2"] {
        let code = CreditCode::with_check_char(&format!("{body}{n}")).unwrap();
        let input = EnterpriseInput {
            credit_code: code.clone(),
            name: format!("企业{}", &code.as_str()[14..]),
            town_id: town,
            address: None,
            industry_code: None,
            industry_name: None,
            size: None,
            registered_on: None,
            contact_name: None,
            contact_phone: None,
            tags: vec![],
        };
        s.create_enterprise(input, at(0), "测试".into()).await.unwrap();
        codes.push(code.as_str().to_owned());
    }
    let theirs = codes.pop().unwrap();
    let ours = codes.pop().unwrap();
    TownDesk { town, category, users: ids, ours, theirs }
}

pub fn user(username: &str, role: Role, unit_id: Option<UnitId>) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: "张三".into(),
        role,
        unit_id,
        credit_code: None,
        phone: None,
        password_hash: "hash".into(),
    }
}

/// A city with departments a, b, c and town t; the departments' ids.
pub async fn org(s: &impl OrgStore) -> Vec<UnitId> {
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let mut units = Vec::new();
    for code in ["a", "b", "c"] {
        units.push(s.upsert_unit(unit(code, UnitKind::Department, Some("city"))).await.unwrap().id);
    }
    s.upsert_unit(unit("t", UnitKind::Town, Some("city"))).await.unwrap();
    units
}

async fn units_are_upserted_by_code_under_known_parents<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let city = s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    assert_eq!((city.parent_id, city.active, city.kind), (None, true, UnitKind::City));
    let a = s.upsert_unit(unit("a", UnitKind::Department, Some("city"))).await.unwrap();
    assert_eq!(a.parent_id, Some(city.id));
    let renamed = NewUnit { name: "新名".into(), short_name: Some("新".into()), ..unit("a", UnitKind::Town, None) };
    let a2 = s.upsert_unit(renamed).await.unwrap();
    assert_eq!((a2.id, a2.name.as_str(), a2.short_name.as_deref()), (a.id, "新名", Some("新")));
    assert_eq!((a2.kind, a2.parent_id), (UnitKind::Town, None));
    assert_eq!(refusal(s.upsert_unit(unit("b", UnitKind::Department, Some("nowhere"))).await), "unknown_unit");
    assert_eq!(s.list_units().await.unwrap(), vec![city.clone(), a2.clone()]);
    // The backend's own store reads the same rows.
    assert_eq!(db.store().list_units().await.unwrap(), vec![city, a2]);
}

async fn creating_a_unit_never_changes_one_with_its_code<T: TestDb>() {
    let db = T::create().await;
    let (s, other) = (db.store(), db.other_node().await);
    let city = s.create_unit(unit("city", UnitKind::City, None)).await.unwrap();
    let a = s.create_unit(unit("a", UnitKind::Department, Some("city"))).await.unwrap();
    assert_eq!((a.parent_id, a.name.as_str()), (Some(city.id), "单位a"));
    let renamed = NewUnit { name: "新名".into(), ..unit("a", UnitKind::Town, Some("city")) };
    assert_eq!(refusal(s.create_unit(renamed).await), "unit_code_taken");
    assert_eq!(refusal(s.create_unit(unit("b", UnitKind::Department, Some("nowhere"))).await), "unknown_unit");
    assert_eq!(s.list_units().await.unwrap(), vec![city, a], "the unit as it was, nothing else created");
    // Two nodes creating one code at once: one unit, the other refused alike.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { s.clone() } else { other.clone() };
        tasks.spawn(async move { store.create_unit(unit("c", UnitKind::Town, Some("city"))).await });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => created += 1,
            refused => assert_eq!(refusal(refused), "unit_code_taken"),
        }
    }
    assert_eq!((created, s.list_units().await.unwrap().len()), (1, 3));
}

async fn units_deactivate_leaves_first_and_roles_change_with_their_unit<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    assert_eq!(refusal(s.set_unit_active("city", false).await), "unit_has_children");
    assert_eq!(refusal(s.set_unit_active("nowhere", false).await), "unit_not_found");
    assert!(!s.set_unit_active("b", false).await.unwrap().active);
    let created = s.create_user(user("u1", Role::Handler, Some(units[0])), crate::support::tester()).await.unwrap();
    let moved = s.set_user_role("u1", Role::Dispatcher, Some(units[2]), crate::support::tester()).await.unwrap();
    assert_eq!((moved.id, moved.role, moved.unit_id), (created.id, Role::Dispatcher, Some(units[2])));
    assert_eq!(
        refusal(s.set_user_role("u1", Role::Handler, Some(units[1]), crate::support::tester()).await),
        "unit_inactive"
    );
    assert_eq!(
        refusal(s.set_user_role("u1", Role::Handler, Some(9999), crate::support::tester()).await),
        "unknown_unit"
    );
    assert_eq!(refusal(s.set_user_role("u1", Role::Handler, None, crate::support::tester()).await), "unit_required");
    assert_eq!(
        refusal(s.set_user_role("u1", Role::Resident, Some(units[0]), crate::support::tester()).await),
        "unit_not_allowed"
    );
    assert_eq!(
        refusal(s.set_user_role("nobody", Role::Resident, None, crate::support::tester()).await),
        "user_not_found"
    );
    assert_eq!(s.find_user("u1").await.unwrap().unwrap().role, Role::Dispatcher);
    let resident = s.set_user_role("u1", Role::Resident, None, crate::support::tester()).await.unwrap();
    assert_eq!((resident.role, resident.unit_id), (Role::Resident, None));

    // Every department and the town off, then the city; back on top down only.
    for code in ["a", "c", "t"] {
        s.set_unit_active(code, false).await.unwrap();
    }
    assert!(!s.set_unit_active("city", false).await.unwrap().active);
    assert_eq!(refusal(s.set_unit_active("a", true).await), "parent_unit_inactive");
    assert!(s.set_unit_active("city", true).await.unwrap().active);
    assert!(s.set_unit_active("a", true).await.unwrap().active);
    let active: Vec<(String, bool)> = s.list_units().await.unwrap().into_iter().map(|u| (u.code, u.active)).collect();
    let expected = [("city", true), ("a", true), ("b", false), ("c", false), ("t", false)];
    assert_eq!(active, expected.map(|(c, a)| (c.to_owned(), a)));
}

/// Deactivating a parent and reactivating its child on two nodes at once:
/// whichever wins, the other sees it, so no active unit sits under an
/// inactive one.
async fn a_parent_and_its_child_changing_at_once_leave_no_active_unit_under_an_inactive_one<T: TestDb>() {
    let db = T::create().await;
    let (s, other) = (db.store(), db.other_node().await);
    s.upsert_unit(unit("city", UnitKind::City, None)).await.unwrap();
    for round in 0..20 {
        let (parent, child) = (format!("p{round}"), format!("c{round}"));
        s.upsert_unit(unit(&parent, UnitKind::Department, Some("city"))).await.unwrap();
        s.upsert_unit(unit(&child, UnitKind::Subunit, Some(&parent))).await.unwrap();
        s.set_unit_active(&child, false).await.unwrap();
        let (off, on) = tokio::join!(s.set_unit_active(&parent, false), other.set_unit_active(&child, true));
        let units = s.list_units().await.unwrap();
        let active = |code: &str| units.iter().find(|u| u.code == code).unwrap().active;
        assert!(active(&parent) || !active(&child), "round {round}: {off:?} {on:?}");
        assert_eq!((off.is_ok(), on.is_ok()), (!active(&parent), active(&child)), "round {round}");
        assert!(off.is_ok() != on.is_ok(), "exactly one wins in round {round}: {off:?} {on:?}");
    }
}

async fn users_are_unique_by_name_and_belong_to_known_units<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    let zhang = s.create_user(user("zhang", Role::Handler, Some(units[0])), crate::support::tester()).await.unwrap();
    assert_eq!((zhang.username.as_str(), zhang.role, zhang.unit_id), ("zhang", Role::Handler, Some(units[0])));
    assert!(!zhang.disabled);
    let li = NewUser {
        credit_code: Some("91350100M000100Y43".into()),
        phone: Some("13800138000".into()),
        ..user("li", Role::Enterprise, None)
    };
    let li = s.create_user(li, crate::support::tester()).await.unwrap();
    assert_eq!((li.credit_code.as_deref(), li.phone.as_deref()), (Some("91350100M000100Y43"), Some("13800138000")));
    assert_eq!(
        refusal(s.create_user(user("zhang", Role::Handler, Some(units[1])), crate::support::tester()).await),
        "username_taken"
    );
    // A taken name is refused before the unit is looked at, as both backends did.
    assert_eq!(
        refusal(s.create_user(user("zhang", Role::Handler, Some(9999)), crate::support::tester()).await),
        "username_taken"
    );
    assert_eq!(
        refusal(s.create_user(user("wang", Role::Handler, Some(9999)), crate::support::tester()).await),
        "unknown_unit"
    );
    let found = s.find_user("zhang").await.unwrap().unwrap();
    assert_eq!(format!("{found:?}"), format!("{zhang:?}"));
    assert!(s.find_user("wang").await.unwrap().is_none());
    let names: Vec<String> = s.list_users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["zhang", "li"]);
    let old: Vec<String> = db.store().list_users().await.unwrap().iter().map(|u| format!("{u:?}")).collect();
    assert_eq!(old, [format!("{zhang:?}"), format!("{li:?}")]);
}

/// Ported from the PostgreSQL store's tests: the unique key decides.
async fn a_username_taken_on_another_node_is_a_refusal<T: TestDb>() {
    let db = T::create().await;
    let (s, other) = (db.store(), db.other_node().await);
    let units = org(&s).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { s.clone() } else { other.clone() };
        let new = user("zhang", Role::Handler, Some(units[0]));
        tasks.spawn(async move { store.create_user(new, crate::support::tester()).await });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => created += 1,
            refused => assert_eq!(refusal(refused), "username_taken"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(s.list_users().await.unwrap().len(), 1);
}

fn session(token: &str, user_id: i64, at: i64, minutes_valid: i64) -> NewSession {
    NewSession {
        token_hash: token.into(),
        user_id,
        created_at: minutes(at),
        expires_at: minutes(at + minutes_valid),
        client_ip: Some("127.0.0.1".into()),
    }
}

async fn sessions_end_at_expiry_logout_password_change_disabling_and_role_change<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    let u = s.create_user(user("zhang", Role::Handler, Some(units[0])), crate::support::tester()).await.unwrap();
    let signed_in = |token: &'static str, at: i64| {
        let s = s.clone();
        async move { s.session_user(token, minutes(at)).await.unwrap().map(|u| u.username) }
    };
    s.create_session(session("s1", u.id, 0, 60)).await.unwrap();
    assert_eq!(signed_in("s1", 59).await.as_deref(), Some("zhang"));
    assert_eq!(signed_in("s1", 60).await, None, "expired at its expiry");
    assert_eq!(signed_in("nope", 0).await, None);
    // A new session clears expired ones away.
    s.create_session(session("s2", u.id, 120, 60)).await.unwrap();
    assert_eq!(signed_in("s1", 0).await, None, "expired sessions are deleted");
    s.delete_session("s2").await.unwrap();
    assert_eq!(signed_in("s2", 121).await, None);
    s.delete_session("s2").await.unwrap();

    s.create_session(session("s3", u.id, 200, 600)).await.unwrap();
    s.set_password("zhang", "new hash".into(), crate::support::tester()).await.unwrap();
    assert_eq!(s.find_user("zhang").await.unwrap().unwrap().password_hash, "new hash");
    assert_eq!(signed_in("s3", 201).await, None, "a new password ends sessions");
    assert_eq!(refusal(s.set_password("nobody", "x".into(), crate::support::tester()).await), "user_not_found");

    s.create_session(session("s4", u.id, 300, 600)).await.unwrap();
    s.set_user_disabled("zhang", false, crate::support::tester()).await.unwrap();
    assert_eq!(signed_in("s4", 301).await.as_deref(), Some("zhang"), "enabling keeps sessions");
    s.set_user_disabled("zhang", true, crate::support::tester()).await.unwrap();
    assert!(s.find_user("zhang").await.unwrap().unwrap().disabled);
    assert_eq!(signed_in("s4", 301).await, None);
    s.create_session(session("s5", u.id, 400, 600)).await.unwrap();
    assert_eq!(signed_in("s5", 401).await, None, "a disabled user has no session");
    s.set_user_disabled("zhang", false, crate::support::tester()).await.unwrap();
    assert_eq!(signed_in("s5", 401).await.as_deref(), Some("zhang"));
    assert_eq!(refusal(s.set_user_disabled("nobody", true, crate::support::tester()).await), "user_not_found");

    s.set_user_role("zhang", Role::Dispatcher, Some(units[1]), crate::support::tester()).await.unwrap();
    assert_eq!(signed_in("s5", 402).await, None, "a new role applies at the next sign-in");
    assert!(s.create_session(session("s6", 9999, 500, 60)).await.is_err(), "no session for an unknown user");
    // Sessions written by the new store are the backend's sessions.
    s.create_session(session("s7", u.id, 500, 60)).await.unwrap();
    let old = db.store().session_user("s7", minutes(501)).await.unwrap().map(|u| u.username);
    assert_eq!(old.as_deref(), Some("zhang"));
}

fn token(name: &str, hash: &str, role: Role, unit_id: Option<UnitId>) -> NewApiToken {
    NewApiToken { name: name.into(), token_hash: hash.into(), role, unit_id }
}

/// The command line, at minute `at`.
fn cli(at: i64) -> AccountBy {
    AccountBy { at: minutes(at), user_id: None, name: "命令行".into() }
}

async fn api_tokens_are_found_by_hash_until_revoked<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    let a = s.create_api_token(token("对接系统", "h1", Role::Dispatcher, Some(units[0])), cli(0)).await.unwrap();
    let b = s.create_api_token(token("开放平台", "h2", Role::Resident, None), cli(1)).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(
        (a.name.as_str(), a.role, a.unit_id, a.created_at, a.revoked_at),
        ("对接系统", Role::Dispatcher, Some(units[0]), minutes(0), None)
    );
    let found = s.api_token("h1").await.unwrap().unwrap();
    assert_eq!(format!("{found:?}"), format!("{a:?}"));
    assert!(s.api_token("h3").await.unwrap().is_none());
    assert!(
        s.create_api_token(token("重复", "h1", Role::Admin, Some(units[0])), cli(2)).await.is_err(),
        "hashes are unique"
    );
    s.revoke_api_token(a.id, cli(5)).await.unwrap();
    assert!(s.api_token("h1").await.unwrap().is_none());
    assert_eq!(refusal(s.revoke_api_token(a.id, cli(6)).await), "token_already_revoked");
    assert_eq!(refusal(s.revoke_api_token(9999, cli(6)).await), "token_not_found");
    let listed = s.list_api_tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| (t.id, t.revoked_at)).collect::<Vec<_>>(),
        [(a.id, Some(minutes(5))), (b.id, None)]
    );
    let old = db.store().list_api_tokens().await.unwrap();
    assert_eq!(format!("{old:?}"), format!("{listed:?}"));

    // Creations and revocations are its history, sealed; the refused ones wrote nothing.
    let history = |id: i64| {
        let s = &s;
        async move {
            let events = s.api_token_events(id).await.unwrap().unwrap();
            events
                .into_iter()
                .map(|e| (e.action, e.by_name, (e.at - minutes(0)).num_minutes(), e.detail))
                .collect::<Vec<_>>()
        }
    };
    let cli_named = || "命令行".to_owned();
    assert_eq!(
        history(a.id).await,
        [
            (TokenAction::Created, cli_named(), 0, Some("名称：对接系统；角色：派单员（单位a）".to_owned())),
            (TokenAction::Revoked, cli_named(), 5, Some("此后不能再用它调用接口".to_owned())),
        ]
    );
    assert_eq!(
        history(b.id).await,
        [(TokenAction::Created, cli_named(), 1, Some("名称：开放平台；角色：群众用户".to_owned()))]
    );
    assert_eq!(s.api_token_events(9999).await.unwrap(), None);
    // Every token's history in one read: the same entries, each with its token, in the order written.
    let all = s.all_api_token_events().await.unwrap();
    assert_eq!(
        all.iter().map(|(id, e)| (*id, e.action)).collect::<Vec<_>>(),
        [(a.id, TokenAction::Created), (b.id, TokenAction::Created), (a.id, TokenAction::Revoked)]
    );
    let a_alone = all.iter().filter(|(id, _)| *id == a.id).map(|(_, e)| e.clone()).collect::<Vec<_>>();
    assert_eq!(a_alone, s.api_token_events(a.id).await.unwrap().unwrap());
    let stored =
        crate::support::texts(&s, "SELECT COALESCE(detail, '') || by_name FROM api_token_events", vec![]).await;
    assert!(stored.iter().all(|t| !t.as_deref().unwrap_or_default().contains("h1")), "{stored:?}");
    assert_eq!(s.verify_history(vec![]).await.unwrap().problems, vec![]);
    let sealed =
        crate::support::texts(&s, "SELECT seal FROM history_seals WHERE history = 'api_token_events'", vec![]).await;
    assert_eq!(sealed.len(), 3);
}

/// Each change of an account writes one entry of its history in the change's transaction, naming
/// who made it and when, phones and e-mail masked, never a password, its hash or a code; a refused
/// change writes none; the entries are sealed and verify.
async fn every_change_of_an_account_is_recorded_sealed_and_masked<T: TestDb>() {
    let db = T::create().await;
    let s = db.store();
    let units = org(&s).await;
    let boss = s.create_user(user("boss", Role::Admin, Some(units[0])), crate::support::tester()).await.unwrap();
    let admin = |minute: i64| AccountBy { at: at(minute), user_id: Some(boss.id), name: "管理员王".into() };
    let new = NewUser { phone: Some("13800138000".into()), ..user("li", Role::Handler, Some(units[0])) };
    let li = s.create_user(new, admin(1)).await.unwrap();
    let own = |minute: i64| AccountBy { at: at(minute), user_id: Some(li.id), name: "张三".into() };

    // Refused changes write nothing.
    let taken = NewUser { phone: Some("13800138000".into()), ..user("li", Role::Handler, Some(units[0])) };
    assert_eq!(refusal(s.create_user(taken, admin(2)).await), "username_taken");
    assert_eq!(refusal(s.set_user_role("li", Role::Handler, Some(9999), admin(2)).await), "unknown_unit");
    assert_eq!(refusal(s.set_user_role("li", Role::Handler, None, admin(2)).await), "unit_required");
    assert_eq!(refusal(s.set_user_disabled("nobody", true, admin(2)).await), "user_not_found");
    assert_eq!(refusal(s.set_password("nobody", "x".into(), admin(2)).await), "user_not_found");
    assert_eq!(refusal(s.set_user_email("nobody", None, admin(2)).await), "user_not_found");
    assert_eq!(refusal(s.set_user_contact("nobody", None, None, admin(2)).await), "user_not_found");
    assert_eq!(s.account_events("li").await.unwrap().unwrap().len(), 1);
    assert_eq!(s.account_events("nobody").await.unwrap(), None);

    s.set_user_role("li", Role::Dispatcher, Some(units[1]), admin(3)).await.unwrap();
    s.set_user_disabled("li", true, admin(4)).await.unwrap();
    s.set_user_disabled("li", false, admin(5)).await.unwrap();
    s.set_password("li", "hash-by-admin".into(), admin(6)).await.unwrap();
    s.set_password("li", "hash-by-li".into(), own(7)).await.unwrap();
    s.set_user_email("li", Some("li.ming@example.gov.cn".into()), admin(8)).await.unwrap();
    s.set_user_contact("li", Some("13912345678".into()), Some("li.ming@example.gov.cn".into()), own(9)).await.unwrap();
    let code = NewPasswordReset {
        user_id: li.id,
        code_hash: "code-hash".into(),
        salt: "salt".into(),
        created_at: at(10),
        expires_at: at(20),
        client_ip: None,
        phone: "13912345678".into(),
        code: "864209".into(),
    };
    let code = s.create_password_reset(code).await.unwrap();
    assert!(s.complete_password_reset(code.id, "hash-by-sms".into(), at(11)).await.unwrap());

    let events = s.account_events("li").await.unwrap().unwrap();
    let seen: Vec<(AccountAction, &str, i64, Option<&str>)> = events
        .iter()
        .map(|e| (e.action, e.by_name.as_str(), (e.at - at(0)).num_minutes(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (AccountAction::Created, "管理员王", 1, Some("角色：承办人（单位a）；手机：138****8000")),
            (
                AccountAction::RoleChanged,
                "管理员王",
                3,
                Some("角色：承办人（单位a） → 派单员（单位b）；已退出全部登录")
            ),
            (AccountAction::Disabled, "管理员王", 4, Some("已退出全部登录")),
            (AccountAction::Enabled, "管理员王", 5, None),
            (AccountAction::PasswordReset, "管理员王", 6, Some("已退出全部登录")),
            (AccountAction::PasswordChanged, "张三", 7, Some("已退出全部登录")),
            (AccountAction::EmailSet, "管理员王", 8, Some("通知邮箱：l***@example.gov.cn")),
            (AccountAction::ContactChanged, "张三", 9, Some("手机：138****8000 → 139****5678")),
            (AccountAction::PasswordResetBySms, "张三", 11, Some("已退出全部登录")),
        ]
    );
    let by: Vec<Option<i64>> = events.iter().map(|e| e.by_user).collect();
    let (b, l) = (Some(boss.id), Some(li.id));
    assert_eq!(by, [b, b, b, b, b, l, b, l, l]);
    let stored =
        crate::support::texts(&s, "SELECT COALESCE(detail, '') || by_name || action FROM account_events", vec![]).await;
    for secret in ["13800138000", "13912345678", "li.ming@", "hash-by", "864209", "code-hash"] {
        assert!(stored.iter().all(|t| !t.as_deref().unwrap_or_default().contains(secret)), "{secret} in {stored:?}");
    }
    assert_eq!(s.verify_history(vec![]).await.unwrap().problems, vec![]);
    let sealed =
        crate::support::texts(&s, "SELECT seal FROM history_seals WHERE history = 'account_events'", vec![]).await;
    assert_eq!(sealed.len(), events.len() + 1, "li's entries and the admin's creation are sealed");
}
