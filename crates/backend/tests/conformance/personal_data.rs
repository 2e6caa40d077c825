//! Personal data at rest on both databases: the raw columns hold SM4-GCM
//! ciphertexts and a keyed hash, a filter by phone still finds the request,
//! a tampered value is an error rather than wrong data, and rotation (with
//! plain rows from before encryption among them) keeps every request
//! readable and findable, resuming after an interruption. The same for the
//! other tables with personal data: direct-line askers, on-site contacts,
//! enterprise contacts, cadres' work phones, visits' attendees and notes,
//! the outbox's recipients and texts and accounts' phone and e-mail.

use mashangban_domain::direct_line::ItemScope;
use mashangban_domain::enterprise::{EnterpriseInput, EnterpriseScope};
use mashangban_domain::liaison::{CadreInput, CadreLevel};
use mashangban_domain::onsite::{KnownItem, OnsiteDraft};
use mashangban_domain::org::{Actor, Role, Scope};
use mashangban_domain::personal_data::{Keyring, PersonalDataKey};
use mashangban_domain::validation::Phone;
use mashangban_domain::visit::{Lead, NewVisit, VisitKind};
use mashangban_store::{
    DirectLineStore, EnterpriseStore, InboxStore, LiaisonStore, ListFilter, NewPasswordReset, NewUser,
    NotificationStore, OnsiteStore, OrgStore, PasswordResetStore, RequestStore, ServiceCentreInput, ServiceItemInput,
    VisitFilter, VisitRecord, VisitStore,
};
use mashangban_store_sql::personal_data::SEALED_TABLES;
use mashangban_store_sql::{SqlStore, StoreOptions};

use crate::requests::Fixture;
use crate::support::{TestDb, at, execute, meta, staff, texts};

on_both!(
    personal_data_is_stored_encrypted_and_found_by_phone,
    a_tampered_ciphertext_is_an_error,
    rotation_keeps_every_request_readable_and_resumes,
    the_other_tables_are_stored_encrypted_found_and_rotated,
);

const PHONE: &str = "13800138000";

fn ring(current: (&str, u8), previous: &[(&str, u8)]) -> Keyring {
    let key = |(id, byte): (&str, u8)| PersonalDataKey::new(id, [byte; 16]).unwrap();
    Keyring::new(key(current), previous.iter().map(|k| key(*k)).collect()).unwrap()
}

/// The same database under another key ring.
fn with_keys<D: TestDb>(store: &SqlStore<D>, keys: Keyring) -> SqlStore<D> {
    SqlStore::new(store.database().clone(), StoreOptions { personal_data: Some(keys), ..StoreOptions::default() })
}

/// Rows of `table` not yet all under the store's current key.
async fn pending<D: TestDb>(store: &SqlStore<D>, table: &str) -> i64 {
    let all = store.personal_data_pending().await.unwrap();
    all.into_iter().find(|p| p.table.table == table).unwrap().rows
}

/// Re-encrypts `table` to the end in batches of `batch`; the rows rewritten.
async fn sweep<D: TestDb>(store: &SqlStore<D>, table: &str, batch: u32) -> u64 {
    let table = SEALED_TABLES.iter().find(|t| t.table == table).unwrap();
    let (mut after, mut rewritten) = (None, 0);
    loop {
        let report = store.reencrypt_personal_data(table, after, batch).await.unwrap();
        rewritten += report.rows_rewritten;
        after = report.last_key;
        if report.done {
            return rewritten;
        }
    }
}

fn by_phone(phone: &str) -> ListFilter {
    ListFilter { contact_phone: Some(phone.into()), limit: 500, ..ListFilter::default() }
}

async fn raw_columns<D: TestDb>(store: &SqlStore<D>) -> Vec<String> {
    let mut all = Vec::new();
    for sql in [
        "SELECT contact_name FROM requests ORDER BY id",
        "SELECT contact_phone FROM requests ORDER BY id",
        "SELECT contact_email FROM requests WHERE contact_email IS NOT NULL ORDER BY id",
    ] {
        all.extend(texts(store, sql, vec![]).await.into_iter().flatten());
    }
    all
}

async fn personal_data_is_stored_encrypted_and_found_by_phone<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let mut new = f.request(false);
    new.contact.email = Some("chen@example.com".into());
    let a = s.intake(new, &Actor::PublicAsker, &meta(0)).await.unwrap();
    let mut other = f.request(false);
    other.contact.phone = Phone::parse("13900139000").unwrap();
    let b = s.intake(other, &Actor::PublicAsker, &meta(1)).await.unwrap();
    // The answer and every read decrypt.
    assert_eq!((a.contact.name.as_str(), a.contact.phone.as_str()), ("陈嘉欣", PHONE));
    let found = s.find(&a.tracking_no, &Scope::All).await.unwrap().unwrap();
    assert_eq!(found.contact, a.contact);
    assert_eq!(found.contact.email.as_deref(), Some("chen@example.com"));
    // The raw columns hold no plain personal data.
    let raw = raw_columns(s).await;
    assert_eq!(raw.len(), 5);
    for value in &raw {
        assert!(value.starts_with("v1:ephemeral:"), "{value}");
        for plain in [PHONE, "13900139000", "陈嘉欣", "chen@example.com"] {
            assert!(!value.contains(plain), "{value} holds {plain}");
        }
    }
    let like = texts(s, "SELECT tracking_no FROM requests WHERE contact_phone LIKE '%138001%'", vec![]).await;
    assert!(like.is_empty());
    let hashes = texts(s, "SELECT contact_phone_hash FROM requests ORDER BY id", vec![]).await;
    assert!(hashes.iter().all(|h| h.as_ref().is_some_and(|h| h.len() == 64 && !h.contains(PHONE))), "{hashes:?}");
    assert_ne!(hashes[0], hashes[1]);
    // The filter by phone goes through the hash: an exact match.
    let page = s.list(&by_phone(PHONE), &Scope::All).await.unwrap();
    assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), [a.id]);
    assert_eq!(s.count(&by_phone("13900139000"), &Scope::All).await.unwrap(), 1);
    assert_eq!(s.list(&by_phone("13700137000"), &Scope::All).await.unwrap().items.len(), 0);
    assert_eq!(b.contact.phone.as_str(), "13900139000");
}

async fn a_tampered_ciphertext_is_an_error<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let s = f.store();
    let a = s.intake(f.request(false), &Actor::PublicAsker, &meta(0)).await.unwrap();
    let b = s.intake(f.request(false), &Actor::PublicAsker, &meta(1)).await.unwrap();
    // b's name ciphertext (authentic, same key) moved into a's phone column: the field is bound.
    execute(
        s,
        "UPDATE requests SET contact_phone = (SELECT contact_name FROM requests WHERE id = $1) WHERE id = $2",
        vec![b.id.into(), a.id.into()],
    )
    .await
    .unwrap();
    let err = s.find(&a.tracking_no, &Scope::All).await.unwrap_err();
    assert!(err.to_string().contains("requests.contact_phone"), "{err}");
    // One altered character of the ciphertext.
    let phone =
        texts(s, "SELECT contact_phone FROM requests WHERE id = $1", vec![b.id.into()]).await.remove(0).unwrap();
    let last = phone.chars().last().unwrap();
    let altered = format!("{}{}", &phone[..phone.len() - 1], if last == 'A' { 'B' } else { 'A' });
    execute(s, "UPDATE requests SET contact_phone = $1 WHERE id = $2", vec![altered.into(), b.id.into()])
        .await
        .unwrap();
    assert!(s.find(&b.tracking_no, &Scope::All).await.is_err());
}

async fn rotation_keeps_every_request_readable_and_resumes<D: TestDb>() {
    let f = Fixture::<D>::new().await;
    let old = with_keys(f.store(), ring(("k1", 1), &[]));
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut new = f.request(i % 2 == 0);
        if i < 2 {
            new.contact.email = Some(format!("asker{i}@example.com"));
        }
        ids.push(old.intake(new, &Actor::PublicAsker, &meta(i)).await.unwrap().id);
    }
    // A row from before encryption: plain text and no hash.
    let plain = old.intake(f.request(false), &Actor::PublicAsker, &meta(9)).await.unwrap();
    execute(
        &old,
        "UPDATE requests SET contact_name = '林晓', contact_phone = '13900139000', contact_email = 'lin@example.com',
            contact_phone_hash = NULL WHERE id = $1",
        vec![plain.id.into()],
    )
    .await
    .unwrap();

    // The new key configured, the old one kept: everything reads, the filter finds the old hashes.
    let both = with_keys(f.store(), ring(("k2", 2), &[("k1", 1)]));
    assert_eq!(both.count(&by_phone(PHONE), &Scope::All).await.unwrap(), 5);
    assert_eq!(pending(&both, "requests").await, 6);
    // Interrupted after one batch of two, then resumed from the start: idempotent.
    let requests = SEALED_TABLES.iter().find(|t| t.table == "requests").unwrap();
    let first = both.reencrypt_personal_data(requests, None, 2).await.unwrap();
    assert_eq!((first.rows_rewritten, first.done), (2, false));
    assert_eq!(pending(&both, "requests").await, 4);
    assert_eq!(sweep(&both, "requests", 2).await, 4);
    assert_eq!(pending(&both, "requests").await, 0);
    assert!(raw_columns(&both).await.iter().all(|v| v.starts_with("v1:k2:")));
    // A rerun has nothing to do.
    assert_eq!(sweep(&both, "requests", 100).await, 0);

    // The old key removed: every request still reads and is found by phone.
    let new = with_keys(f.store(), ring(("k2", 2), &[]));
    for id in &ids {
        let r = new.find_by_id(*id, &Scope::All).await.unwrap().unwrap();
        assert_eq!((r.contact.name.as_str(), r.contact.phone.as_str()), ("陈嘉欣", PHONE));
    }
    let r = new.find_by_id(ids[1], &Scope::All).await.unwrap().unwrap();
    assert_eq!(r.contact.email.as_deref(), Some("asker1@example.com"));
    let was_plain = new.find_by_id(plain.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        (was_plain.contact.name.as_str(), was_plain.contact.phone.as_str(), was_plain.contact.email.as_deref()),
        ("林晓", "13900139000", Some("lin@example.com"))
    );
    assert_eq!(new.count(&by_phone(PHONE), &Scope::All).await.unwrap(), 5);
    assert_eq!(new.list(&by_phone("13900139000"), &Scope::All).await.unwrap().items[0].id, plain.id);
    // The old key alone reads nothing any more: the error names the key it lacks.
    let err = old.find_by_id(ids[0], &Scope::All).await.unwrap_err();
    assert!(err.to_string().contains("k2"), "{err}");
}

/// Every encrypted column outside `requests`, raw.
const OTHER_COLUMNS: [&str; 13] = [
    "SELECT name FROM direct_line_items",
    "SELECT phone FROM direct_line_items",
    "SELECT contact_name FROM onsite_requests",
    "SELECT contact_phone FROM onsite_requests",
    "SELECT contact_name FROM enterprises WHERE contact_name IS NOT NULL",
    "SELECT contact_phone FROM enterprises WHERE contact_phone IS NOT NULL",
    "SELECT work_phone FROM liaison_cadres",
    "SELECT phone FROM users WHERE phone IS NOT NULL",
    "SELECT email FROM users WHERE email IS NOT NULL",
    "SELECT attendees FROM visits",
    "SELECT notes FROM visits",
    "SELECT recipient FROM outbox",
    "SELECT body FROM outbox",
];

const PLAIN: [&str; 11] = [
    "张建国",
    "13800138011",
    "陈嘉欣",
    "13800138000",
    "王经理",
    "0760-22338899",
    "13912340001",
    "li@example.gov.cn",
    ATTENDEE,
    NOTES,
    RESET_CODE,
];

/// The password reset code the outbox's SMS tells.
const RESET_CODE: &str = "123456";

/// The person met on the visit, and the visit's notes that name them.
const ATTENDEE: &str = "黄志强";
const NOTES: &str = "黄志强反映用电报装慢，电话13800138022";

/// The raw values of [`OTHER_COLUMNS`], each checked to start with `prefix` and hold no plain value.
async fn assert_other_columns_sealed<D: TestDb>(store: &SqlStore<D>, prefix: &str) {
    for sql in OTHER_COLUMNS {
        let values = texts(store, sql, vec![]).await;
        assert!(!values.is_empty(), "{sql}");
        for value in values.into_iter().flatten() {
            assert!(value.starts_with(prefix), "{sql}: {value}");
            assert!(PLAIN.iter().all(|plain| !value.contains(plain)), "{sql}: {value}");
        }
    }
}

/// The rows of the other tables written by the test.
struct Rows {
    item: i64,
    onsite: i64,
    enterprise: String,
    cadre: i64,
    user: i64,
    visit: i64,
}

/// Every row reads back plain, and the account is found by its phone (exactly).
async fn check_reads<D: TestDb>(store: &SqlStore<D>, rows: &Rows) {
    let item = store.item(rows.item, ItemScope::All).await.unwrap().unwrap();
    assert_eq!((item.name.as_str(), item.phone.as_str()), ("张建国", "13800138011"));
    let onsite = store.onsite(rows.onsite).await.unwrap().unwrap();
    assert_eq!((onsite.contact_name.as_str(), onsite.contact_phone.as_str()), ("陈嘉欣", "13800138000"));
    let e = store.enterprise(&rows.enterprise, EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((e.contact_name.as_deref(), e.contact_phone.as_deref()), (Some("王经理"), Some("13800138000")));
    assert_eq!(store.cadre(rows.cadre).await.unwrap().unwrap().work_phone, "0760-22338899");
    assert_eq!(store.find_user("li").await.unwrap().unwrap().phone.as_deref(), Some("13912340001"));
    let contacts = store.inbox_contacts(rows.user).await.unwrap();
    assert_eq!(contacts, (Some("13912340001".into()), Some("li@example.gov.cn".into())));
    assert_eq!(usernames(store.users_with_phone("13912340001").await.unwrap()), ["li"]);
    assert!(store.users_with_phone("1391234000").await.unwrap().is_empty(), "exact match only");
    let visit = store.visit(rows.visit, EnterpriseScope::All).await.unwrap().unwrap();
    assert_eq!((visit.attendees, visit.notes.as_deref()), (vec![ATTENDEE.to_owned()], Some(NOTES)));
    let outbox = store.list_outbox(None, 10).await.unwrap();
    assert_eq!(outbox.iter().map(|o| o.recipient.as_str()).collect::<Vec<_>>(), ["13912340001"]);
    assert!(outbox[0].body.contains(RESET_CODE), "{}", outbox[0].body);
    let listed = store.visits(&VisitFilter::in_scope(EnterpriseScope::All)).await.unwrap();
    assert_eq!(
        listed.iter().map(|v| (v.attendees.clone(), v.notes.clone())).collect::<Vec<_>>(),
        [(vec![ATTENDEE.to_owned()], Some(NOTES.to_owned()))]
    );
}

/// A visit by the cadre `lead` to the enterprise `credit_code`, recorded with its attendee and notes.
async fn recorded_visit<D: TestDb>(store: &SqlStore<D>, credit_code: &str, lead: i64, town: i64) -> i64 {
    let lead_as = Lead { role: Role::Liaison, level: Some(CadreLevel::Town) };
    let plan =
        NewVisit::new(VisitKind::Visit, credit_code.into(), at(60), lead, lead_as, Some("了解需求"), vec![]).unwrap();
    let planned = store.plan_visit(plan, EnterpriseScope::All, at(0), "测试".into()).await.unwrap();
    let record =
        VisitRecord { visited_at: at(90), attendees: vec![ATTENDEE.into()], notes: NOTES.into(), problems: vec![] };
    let actor = staff(Role::Liaison, town);
    store.record_visit(planned.id, EnterpriseScope::All, record, &actor, &meta(100)).await.unwrap();
    planned.id
}

fn user(username: &str, role: Role, phone: Option<&str>) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: username.into(),
        role,
        unit_id: None,
        credit_code: None,
        phone: phone.map(str::to_owned),
        password_hash: "hash".into(),
    }
}

fn usernames(users: Vec<mashangban_store::User>) -> Vec<String> {
    users.into_iter().map(|u| u.username).collect()
}

async fn the_other_tables_are_stored_encrypted_found_and_rotated<D: TestDb>() {
    let env = &D::create().await;
    let old = &with_keys(&env.store, ring(("k1", 1), &[]));
    // One row of each table, through the store.
    let li = old.create_user(user("li", Role::Resident, Some("13912340001")), crate::support::tester()).await.unwrap();
    old.set_user_contact("li", Some("13912340001".into()), Some("li@example.gov.cn".into()), crate::support::tester())
        .await
        .unwrap();
    let wang =
        old.create_user(user("wang", Role::Resident, Some("13912340002")), crate::support::tester()).await.unwrap();
    let zhou = old.create_user(user("zhou", Role::Liaison, None), crate::support::tester()).await.unwrap();
    let cadre = CadreInput::new(zhou.id, Role::Liaison, CadreLevel::Town, "副镇长", "0760-22338899").unwrap();
    old.save_cadre(cadre, at(0), "测试".into()).await.unwrap();
    let item = old.take_in_item(crate::direct_line::new_item("噪音扰民", false), at(0), "测试".into()).await.unwrap();
    let (town, _) = crate::enterprises::towns(old).await;
    let enterprise = EnterpriseInput {
        contact_name: Some("王经理".into()),
        ..crate::enterprises::input(1, "华艺灯饰", town)
    };
    let code = enterprise.credit_code.as_str().to_owned();
    old.create_enterprise(enterprise, at(0), crate::enterprises::by()).await.unwrap();
    let (_, dept) = crate::onsite::units(old).await;
    let permit =
        ServiceItemInput { code: "permit".into(), name: "居住证办理".into(), unit_id: dept, active: true };
    let permit = old.create_service_item(permit).await.unwrap();
    let centre =
        ServiceCentreInput { unit_id: dept, name: "市政务服务中心".into(), daily_capacity: 1, active: true };
    let centre = old.create_centre(centre).await.unwrap();
    let draft = OnsiteDraft { people: 3, dates: vec!["2026-03-10".into()], items: vec![(permit.id, 3)] };
    let onsite =
        draft.check(&[KnownItem { id: permit.id, active: true }], crate::onsite::day("2026-03-02"), &|_| None).unwrap();
    let onsite = crate::onsite::new_request(centre.id, "A", onsite);
    let onsite = old.submit_onsite(onsite, at(0), crate::onsite::staff()).await.unwrap();
    let visit = recorded_visit(old, &code, zhou.id, town).await;
    // An SMS in the outbox, to the account's phone.
    let reset = NewPasswordReset {
        user_id: li.id,
        code_hash: "hash".into(),
        salt: "salt".into(),
        created_at: at(0),
        expires_at: at(10),
        client_ip: None,
        phone: "13912340001".into(),
        code: RESET_CODE.into(),
    };
    old.create_password_reset(reset).await.unwrap();

    // Stored as ciphertexts; the accounts' phones with their keyed hash.
    assert_other_columns_sealed(old, "v1:k1:").await;
    let hashes = texts(old, "SELECT phone_hash FROM users ORDER BY id", vec![]).await;
    assert!(hashes[..2].iter().all(|h| h.as_ref().is_some_and(|h| h.len() == 64)), "{hashes:?}");
    assert_eq!(hashes[2], None, "no phone, no hash");

    // Read back plain, and found by phone.
    let rows = Rows { item: item.id, onsite: onsite.id, enterprise: code, cadre: zhou.id, user: li.id, visit };
    check_reads(old, &rows).await;

    // A row from before encryption: plain text and no hash.
    execute(old, "UPDATE users SET phone = '13912340003', phone_hash = NULL WHERE id = $1", vec![wang.id.into()])
        .await
        .unwrap();
    execute(old, "UPDATE direct_line_items SET name = '张建国'", vec![]).await.unwrap();
    let plain_attendees = format!("[\"{ATTENDEE}\"]");
    execute(old, "UPDATE visits SET attendees = $1, notes = $2", vec![plain_attendees.into(), NOTES.into()])
        .await
        .unwrap();
    let plain_sms = format!("验证码{RESET_CODE}");
    execute(old, "UPDATE outbox SET recipient = '13912340001', body = $1", vec![plain_sms.into()]).await.unwrap();
    assert_eq!(old.user_by_id(wang.id).await.unwrap().unwrap().phone.as_deref(), Some("13912340003"));

    // Rotation: the new key configured, the old one kept; resumed batch by batch.
    let both = &with_keys(&env.store, ring(("k2", 2), &[("k1", 1)]));
    assert_eq!(usernames(both.users_with_phone("13912340001").await.unwrap()), ["li"], "under the old hash");
    let expected =
        [("direct_line_items", 1), ("onsite_requests", 1), ("enterprises", 1), ("liaison_cadres", 1), ("visits", 1)];
    let expected = expected.into_iter().chain([("outbox", 1)]);
    for (table, n) in expected.chain([("users", 2)]) {
        assert_eq!(pending(both, table).await, n, "{table}");
        assert_eq!(sweep(both, table, 1).await, u64::try_from(n).unwrap(), "{table}");
        assert_eq!(pending(both, table).await, 0, "{table}");
    }
    assert_other_columns_sealed(both, "v1:k2:").await;

    // The old key removed: everything reads and is found, the row that was plain too.
    let new = with_keys(&env.store, ring(("k2", 2), &[]));
    check_reads(&new, &rows).await;
    assert_eq!(usernames(new.users_with_phone("13912340003").await.unwrap()), ["wang"]);
    let err = old.item(rows.item, ItemScope::All).await.unwrap_err();
    assert!(err.to_string().contains("k2"), "{err}");
}
